/* jmap_email_update.c: one Email/set update (RFC 8621 4.6; contract C2:
 * jmap_email_update_one, also EmailSubmission's onSuccessUpdateEmail). An Email is the
 * store's copies sharing one EMAILID; a patch changes them as IMAP would:
 *   - keywords: a STORE on every copy (the store's flag bits for $seen, $answered,
 *     $flagged, $draft, $forwarded, $junk, $notjunk; IMAP keywords for the rest), so
 *     IDLE sessions get FETCH FLAGS. Replacing them all keeps IMAP's \Deleted, which
 *     JMAP does not show.
 *   - mailboxIds: a mailbox left for one added is a store_move (IMAP sees EXPUNGE there
 *     and a new UID here; usage unchanged), further added ones are store_copy from an
 *     existing copy (counted against the quota), further left ones store_expunge. The
 *     copies are made first, so overQuota leaves the Email as it was.
 * Each store call commits on its own (the store has no transaction across calls), so a
 * server failure half-way can leave part of a patch applied; every step is one the
 * Email may be in. Keywords go first, so the copies and moves carry them along. */
#include "http/jmap_email.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "http/jmap.h"
#include "http/jmap_email_int.h"
#include "store/store.h"
#include "core/banned.h"

static json_t *invalid(struct jmap_ctx *x, const char *prop, const char *why)
{
	(void)x;
	return jmap_set_error("invalidProperties", why, json_pack("[s]", prop));
}

/* A store error during an update as its SetError. */
static json_t *store_error(int rc)
{
	switch (rc) {
	case ERR_QUOTA:
		return jmap_set_error("overQuota", "the copies would pass the quota", NULL);
	case ERR_TOO_LONG:
	case ERR_FULL:
		return jmap_set_error("tooManyKeywords", "more keywords than the store keeps",
				      NULL);
	case ERR_NOTFOUND:
		return jmap_set_error("notFound", "the Email changed meanwhile", NULL);
	default:
		return jmap_set_error("serverFail", err_str(rc), NULL);
	}
}

/* ---- keywords ---- */

static int flags_one(struct jmap_ctx *x, int64_t mailbox_id, uint32_t uid,
		     enum store_flag_op op, const char *keywords)
{
	struct store_flags_change c = {.op = op, .unchangedsince = STORE_UNCONDITIONAL};
	int rc = jmap_keywords_split(x->a, keywords, &c.flags, &c.keywords);
	if (rc < 0)
		return rc;
	if (op == STORE_FLAGS_SET) {
		/* \Deleted has no JMAP keyword: replacing the keywords keeps it */
		struct store_msg *m;
		size_t n;
		if ((rc = store_msg_list(x->st, mailbox_id, uid, uid, x->a, &m, &n)) < 0)
			return rc;
		if (n == 0)
			return 0; /* expunged meanwhile: nothing left to change */
		c.flags |= m[0].flags & STORE_F_DELETED;
	} else if (!c.flags && !c.keywords[0]) {
		return 0;
	}
	return store_flags(x->st, mailbox_id, &uid, 1, &c, NULL, NULL);
}

static int apply_keywords(struct jmap_ctx *x, const struct store_email *e,
			  const struct jmap_email_patch *p)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < e->n; i++) {
		if (p->kw_whole)
			rc = flags_one(x, e->mailbox_ids[i], e->uids[i], STORE_FLAGS_SET, p->kw_set);
		if (rc == 0 && p->kw_add[0])
			rc = flags_one(x, e->mailbox_ids[i], e->uids[i], STORE_FLAGS_ADD, p->kw_add);
		if (rc == 0 && p->kw_remove[0])
			rc = flags_one(x, e->mailbox_ids[i], e->uids[i], STORE_FLAGS_REMOVE,
				       p->kw_remove);
	}
	return rc;
}

/* ---- mailboxIds ---- */

struct mb_plan {
	int64_t *target;            /* the store ids the Email should be in */
	size_t n_target;
	int64_t *cur;               /* those it is in, each once */
	size_t n_cur;
	int64_t *add, *rem;         /* target - cur, cur - target */
	size_t n_add, n_rem;
};

static bool has(const int64_t *v, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* A mailbox id of the patch ("#cid" resolved) to its store id, 0 when unknown. */
static int64_t mailbox_of(struct jmap_ctx *x, const struct store_mailbox *mbs, size_t n,
			  const char *ref)
{
	const char *id = jmap_resolve_id(x, ref);
	for (size_t i = 0; id && i < n; i++)
		if (strcmp(mbs[i].mailboxid, id) == 0)
			return mbs[i].id;
	return 0;
}

/* The target mailboxes of the patch; *err_out set when it names an unknown one or
 * leaves none. */
static int plan_mailboxes(struct jmap_ctx *x, const struct store_email *e,
			  const struct jmap_email_patch *p, struct mb_plan *pl, json_t **err_out)
{
	struct store_mailbox *mbs;
	size_t n_mbs;
	int rc = store_mailbox_list(x->st, x->a, &mbs, &n_mbs);
	if (rc < 0)
		return rc;
	size_t cap = e->n + p->n_mb_set + p->n_mb_add;
	pl->target = arena_alloc(x->a, (cap ? cap : 1) * sizeof *pl->target);
	pl->cur = arena_alloc(x->a, (e->n ? e->n : 1) * sizeof *pl->cur);
	if (!pl->target || !pl->cur)
		return ERR_NOMEM;
	pl->n_target = pl->n_cur = 0;
	for (size_t i = 0; i < e->n; i++)
		if (!has(pl->cur, pl->n_cur, e->mailbox_ids[i]))
			pl->cur[pl->n_cur++] = e->mailbox_ids[i];
	if (!p->mb_whole) {
		memcpy(pl->target, pl->cur, pl->n_cur * sizeof *pl->cur);
		pl->n_target = pl->n_cur;
	}
	const char *const *add = p->mb_whole ? p->mb_set : p->mb_add;
	size_t n_add = p->mb_whole ? p->n_mb_set : p->n_mb_add;
	for (size_t i = 0; i < n_add; i++) {
		int64_t id = mailbox_of(x, mbs, n_mbs, add[i]);
		if (!id) {
			*err_out = invalid(x, p->mb_whole ? "mailboxIds"
						       : arena_printf(x->a, "mailboxIds/%s", add[i]),
					   "no such mailbox");
			return 0;
		}
		if (!has(pl->target, pl->n_target, id))
			pl->target[pl->n_target++] = id;
	}
	for (size_t i = 0; i < p->n_mb_remove; i++) {
		/* removing a mailbox the Email is not in (or that does not exist) is a no-op */
		int64_t id = mailbox_of(x, mbs, n_mbs, p->mb_remove[i]);
		for (size_t k = 0; id && k < pl->n_target; k++)
			if (pl->target[k] == id)
				pl->target[k] = pl->target[--pl->n_target];
	}
	if (pl->n_target == 0) {
		*err_out = invalid(x, "mailboxIds", "an Email is in at least one mailbox");
		return 0;
	}
	pl->add = arena_alloc(x->a, (pl->n_target + 1) * sizeof *pl->add);
	pl->rem = arena_alloc(x->a, (pl->n_cur + 1) * sizeof *pl->rem);
	if (!pl->add || !pl->rem)
		return ERR_NOMEM;
	for (size_t i = 0; i < pl->n_target; i++)
		if (!has(pl->cur, pl->n_cur, pl->target[i]))
			pl->add[pl->n_add++] = pl->target[i];
	for (size_t i = 0; i < pl->n_cur; i++)
		if (!has(pl->target, pl->n_target, pl->cur[i]))
			pl->rem[pl->n_rem++] = pl->cur[i];
	return 0;
}

/* The UIDs of e's copies in one mailbox (ascending, as the store lists them). */
static size_t uids_in(const struct store_email *e, int64_t mailbox_id, uint32_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n; i++)
		if (e->mailbox_ids[i] == mailbox_id)
			out[n++] = e->uids[i];
	return n;
}

/* Do the copies fit? The store checks again; this answers before anything moved. */
static int quota_check(struct jmap_ctx *x, uint64_t size, size_t n_copies)
{
	struct store_account acct;
	uint64_t used, msgs;
	int rc = store_account_get_id(x->env, x->account_id, x->a, &acct);
	if (rc == 0)
		rc = store_usage(x->st, &used, &msgs);
	if (rc < 0)
		return rc;
	if (acct.quota_bytes && used + size * n_copies > acct.quota_bytes)
		return ERR_QUOTA;
	if (acct.quota_messages && msgs + n_copies > acct.quota_messages)
		return ERR_QUOTA;
	return 0;
}

static int apply_mailboxes(struct jmap_ctx *x, const struct store_email *e,
			   const struct mb_plan *pl)
{
	const int64_t *add = pl->add, *rem = pl->rem;
	size_t n_add = pl->n_add, n_rem = pl->n_rem;
	size_t n_move = n_add < n_rem ? n_add : n_rem;
	uint32_t *uids = arena_alloc(x->a, (e->n + 1) * sizeof *uids);
	if (!uids)
		return ERR_NOMEM;
	int rc = 0;
	struct store_copy_result cr;
	/* extra copies first: when the store refuses one, nothing else has changed */
	uint32_t *made = arena_alloc(x->a, (n_add + 1) * sizeof *made);
	if (!made)
		return ERR_NOMEM;
	for (size_t i = n_move; i < n_add; i++) {
		rc = store_copy(x->st, e->mailbox_ids[0], &e->uids[0], 1, add[i], x->a, &cr);
		if (rc == 0 && cr.n != 1)
			rc = ERR_NOTFOUND; /* the copy we copy from went meanwhile */
		if (rc < 0) {
			for (size_t k = n_move; k < i; k++) {
				uint64_t ms;
				if (store_expunge(x->st, add[k], &made[k], 1, &ms) < 0)
					log_warn("jmap: cannot take back a copy of a refused update");
			}
			return rc;
		}
		made[i] = cr.dst_uids[0];
	}
	for (size_t i = 0; i < n_move; i++) {
		size_t n = uids_in(e, rem[i], uids);
		if ((rc = store_move(x->st, rem[i], uids, n, add[i], x->a, &cr)) < 0)
			return rc;
	}
	for (size_t i = n_move; i < n_rem; i++) {
		uint64_t ms;
		size_t n = uids_in(e, rem[i], uids);
		if ((rc = store_expunge(x->st, rem[i], uids, n, &ms)) < 0)
			return rc;
	}
	return 0;
}

int jmap_email_update_one(struct jmap_ctx *x, const char *id, json_t *patch,
			  json_t **seterr_out)
{
	struct jmap_email_patch p;
	struct store_email *e;
	struct mb_plan pl = {0};
	const char *bad;
	size_t n = 0;
	*seterr_out = NULL;
	int rc = id ? store_email_get(x->st, &id, 1, x->a, &e, &n) : 0;
	if (rc < 0) {
		*seterr_out = store_error(rc);
		return rc;
	}
	if (n == 0) {
		*seterr_out = jmap_set_error("notFound", NULL, NULL);
		return ERR_NOTFOUND;
	}
	rc = jmap_email_patch_parse(x->a, patch, &p, &bad);
	if (rc == ERR_BAD_SYNTAX)
		*seterr_out = jmap_set_error("invalidPatch", NULL, NULL);
	else if (rc == ERR_INVAL)
		*seterr_out = invalid(x, bad, "only keywords and mailboxIds can change, "
					      "keywords are true, mailbox ids true or null");
	else if (rc < 0)
		*seterr_out = store_error(rc);
	bool mailboxes = p.mb_whole || p.n_mb_add || p.n_mb_remove;
	if (rc == 0 && mailboxes && (rc = plan_mailboxes(x, &e[0], &p, &pl, seterr_out)) < 0)
		*seterr_out = store_error(rc);
	if (rc == 0 && *seterr_out)
		rc = ERR_INVAL;
	/* checked before the keywords change, so overQuota leaves the Email as it was */
	if (rc == 0 && pl.n_add > pl.n_rem &&
	    (rc = quota_check(x, e[0].size, pl.n_add - pl.n_rem)) < 0)
		*seterr_out = store_error(rc);
	if (rc == 0 && (rc = apply_keywords(x, &e[0], &p)) < 0)
		*seterr_out = store_error(rc);
	if (rc == 0 && mailboxes && (rc = apply_mailboxes(x, &e[0], &pl)) < 0)
		*seterr_out = store_error(rc);
	if (!*seterr_out && rc < 0)
		*seterr_out = jmap_set_error("serverFail", NULL, NULL);
	return rc;
}
