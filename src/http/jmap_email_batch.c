/* jmap_email_batch.c: the Email/set updates a webmail sends for a selection, applied
 * in batches: the same keyword change on many Emails ("mark read", "flag": one
 * keywords/<k> patch) is one store_flags per mailbox, and moving many Emails into one
 * mailbox ("delete to Trash", "move", "junk": mailboxIds = {target}, or
 * mailboxIds/<from>: null with mailboxIds/<target>: true) is one store_move per source
 * mailbox (and one store_expunge per mailbox for copies left behind). So
 * marking 500 Emails read costs a few commits, not 500 (each store call flushes).
 * The outcome per Email is what jmap_email_update_one would give it; patches of other
 * shapes, and ids named twice in one call, go through jmap_email_update_one. A store
 * error fails the Emails of that mailbox's call (serverFail, tooManyKeywords); an
 * Email that changed between the read and the write (another session) is skipped by
 * the store and still answered updated, as two concurrent writers would see it. */
#include "http/jmap_email.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/jmap.h"
#include "http/jmap_email_int.h"
#include "store/store.h"
#include "core/banned.h"

/* One batch: the Emails sharing a patch shape and its arguments. */
enum batch_kind {
	BATCH_KEYWORDS,            /* keywords/<k>: true|null */
	BATCH_MOVE,                /* mailboxIds: {target: true} */
	BATCH_MOVE_FROM,           /* mailboxIds/<from>: null, mailboxIds/<target>: true */
};
struct batch {
	enum batch_kind kind;
	const char *kw_add, *kw_remove;   /* BATCH_KEYWORDS */
	const char *target;               /* BATCH_MOVE*: the mailbox id as given */
	const char *from;                 /* BATCH_MOVE_FROM */
	const char **keys;                /* the update's keys (as the client gave them) */
	const char **ids;                 /* and the ids they name */
	json_t **patches;                 /* and their patches (borrowed) */
	size_t n, cap;
	struct batch *next;
};

/* A (mailbox, uid) of an Email of the batch, for grouping by mailbox. */
struct copy_ref {
	int64_t mailbox_id;
	uint32_t uid;
	size_t email;
};

static int copy_cmp(const void *a, const void *b)
{
	const struct copy_ref *p = a, *q = b;
	if (p->mailbox_id != q->mailbox_id)
		return p->mailbox_id < q->mailbox_id ? -1 : 1;
	return p->uid < q->uid ? -1 : p->uid > q->uid;
}

static json_t *store_seterr(int rc)
{
	if (rc == ERR_TOO_LONG || rc == ERR_FULL)
		return jmap_set_error("tooManyKeywords", "more keywords than the store keeps",
				      NULL);
	return jmap_set_error("serverFail", err_str(rc), NULL);
}

/* The batch a patch belongs in (made when new), NULL when it is of no batch shape. */
static struct batch *batch_for(struct jmap_ctx *x, struct batch **list,
			       const struct jmap_email_patch *p)
{
	bool kw = !p->kw_whole && !p->mb_whole && !p->n_mb_add && !p->n_mb_remove &&
		  (p->kw_add[0] || p->kw_remove[0]);
	bool no_kw = !p->kw_whole && !p->kw_add[0] && !p->kw_remove[0];
	bool move = no_kw && p->mb_whole && p->n_mb_set == 1;
	bool move_from = no_kw && !p->mb_whole && p->n_mb_add == 1 && p->n_mb_remove == 1 &&
			 strcmp(p->mb_add[0], p->mb_remove[0]) != 0;
	enum batch_kind kind = kw ? BATCH_KEYWORDS : move ? BATCH_MOVE : BATCH_MOVE_FROM;
	const char *target = move ? p->mb_set[0] : move_from ? p->mb_add[0] : NULL;
	const char *from = move_from ? p->mb_remove[0] : NULL;
	if (!kw && !move && !move_from)
		return NULL;
	for (struct batch *b = *list; b; b = b->next)
		if (b->kind == kind &&
		    (kw ? strcmp(b->kw_add, p->kw_add) == 0 && strcmp(b->kw_remove, p->kw_remove) == 0
			: strcmp(b->target, target) == 0 && (!from || strcmp(b->from, from) == 0)))
			return b;
	struct batch *b = arena_zalloc(x->a, sizeof *b);
	if (!b)
		return NULL;
	b->kind = kind;
	b->kw_add = p->kw_add;
	b->kw_remove = p->kw_remove;
	b->target = target;
	b->from = from;
	b->next = *list;
	*list = b;
	return b;
}

static int batch_add(struct jmap_ctx *x, struct batch *b, const char *key, const char *id,
		     json_t *patch)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		const char **k = arena_alloc(x->a, cap * sizeof *k);
		const char **v = arena_alloc(x->a, cap * sizeof *v);
		json_t **pa = arena_alloc(x->a, cap * sizeof *pa);
		if (!k || !v || !pa)
			return ERR_NOMEM;
		if (b->n) {
			memcpy(k, b->keys, b->n * sizeof *k);
			memcpy(v, b->ids, b->n * sizeof *v);
			memcpy(pa, b->patches, b->n * sizeof *pa);
		}
		b->keys = k;
		b->ids = v;
		b->patches = pa;
		b->cap = cap;
	}
	b->keys[b->n] = key;
	b->patches[b->n] = patch;
	b->ids[b->n++] = id;
	return 0;
}

/* The batch's Emails (found[i]: index into e, or -1) and their copies by mailbox. */
struct batch_read {
	struct store_email *e;
	size_t n_e;
	ssize_t *found;
	struct copy_ref *c;
	size_t n_c;
	json_t **err;               /* per found Email: its SetError, or NULL */
};

static int batch_read(struct jmap_ctx *x, const struct batch *b, struct batch_read *rd)
{
	int rc = store_email_get(x->st, b->ids, b->n, x->a, &rd->e, &rd->n_e);
	if (rc < 0)
		return rc;
	rd->found = arena_alloc(x->a, b->n * sizeof *rd->found);
	rd->err = arena_zalloc(x->a, (rd->n_e + 1) * sizeof *rd->err);
	size_t n_c = 0;
	for (size_t i = 0; i < rd->n_e; i++)
		n_c += rd->e[i].n;
	rd->c = arena_alloc(x->a, (n_c + 1) * sizeof *rd->c);
	if (!rd->found || !rd->err || !rd->c)
		return ERR_NOMEM;
	/* found ids come back in the order asked: walk both together */
	for (size_t i = 0, j = 0; i < b->n; i++) {
		bool hit = j < rd->n_e && strcmp(rd->e[j].id, b->ids[i]) == 0;
		rd->found[i] = hit ? (ssize_t)j : -1;
		j += hit;
	}
	rd->n_c = 0;
	for (size_t i = 0; i < rd->n_e; i++)
		for (size_t k = 0; k < rd->e[i].n; k++)
			rd->c[rd->n_c++] = (struct copy_ref){rd->e[i].mailbox_ids[k],
							     rd->e[i].uids[k], i};
	qsort(rd->c, rd->n_c, sizeof *rd->c, copy_cmp);
	return 0;
}

/* Run fn over each mailbox's run of refs [from, to) with its UIDs (ascending, once);
 * a failure sets the SetError of every Email of the run that has none yet. */
typedef int (*mailbox_fn)(struct jmap_ctx *x, const void *arg, int64_t mailbox_id,
			  const uint32_t *uids, size_t n);
static void per_mailbox(struct jmap_ctx *x, struct batch_read *rd, const struct copy_ref *c,
			size_t n_c, mailbox_fn fn, const void *arg)
{
	uint32_t *uids = arena_alloc(x->a, (n_c + 1) * sizeof *uids);
	for (size_t i = 0; i < n_c;) {
		size_t start = i, m = 0;
		for (; i < n_c && c[i].mailbox_id == c[start].mailbox_id; i++)
			if (uids && (!m || uids[m - 1] != c[i].uid))
				uids[m++] = c[i].uid;
		int rc = uids ? fn(x, arg, c[start].mailbox_id, uids, m) : ERR_NOMEM;
		for (size_t k = start; rc < 0 && k < i; k++)
			if (!rd->err[c[k].email])
				rd->err[c[k].email] = store_seterr(rc);
	}
}

struct kw_arg {
	struct store_flags_change add, remove;
};

static int flags_fn(struct jmap_ctx *x, const void *arg, int64_t mailbox_id,
		    const uint32_t *uids, size_t n)
{
	const struct kw_arg *k = arg;
	int rc = 0;
	if (k->add.flags || k->add.keywords[0])
		rc = store_flags(x->st, mailbox_id, uids, n, &k->add, NULL, NULL);
	if (rc == 0 && (k->remove.flags || k->remove.keywords[0]))
		rc = store_flags(x->st, mailbox_id, uids, n, &k->remove, NULL, NULL);
	return rc;
}

static int run_keywords(struct jmap_ctx *x, const struct batch *b, struct batch_read *rd)
{
	struct kw_arg k = {
		.add = {.op = STORE_FLAGS_ADD, .unchangedsince = STORE_UNCONDITIONAL},
		.remove = {.op = STORE_FLAGS_REMOVE, .unchangedsince = STORE_UNCONDITIONAL},
	};
	int rc = jmap_keywords_split(x->a, b->kw_add, &k.add.flags, &k.add.keywords);
	if (rc == 0)
		rc = jmap_keywords_split(x->a, b->kw_remove, &k.remove.flags, &k.remove.keywords);
	if (rc < 0)
		return rc;
	per_mailbox(x, rd, rd->c, rd->n_c, flags_fn, &k);
	return 0;
}

static int move_fn(struct jmap_ctx *x, const void *arg, int64_t mailbox_id,
		   const uint32_t *uids, size_t n)
{
	struct store_copy_result cr;
	return store_move(x->st, mailbox_id, uids, n, *(const int64_t *)arg, x->a, &cr);
}

static int expunge_fn(struct jmap_ctx *x, const void *arg, int64_t mailbox_id,
		      const uint32_t *uids, size_t n)
{
	uint64_t ms;
	(void)arg;
	return store_expunge(x->st, mailbox_id, uids, n, &ms);
}

/* The store id of a mailbox id ("#cid" resolved), 0 when unknown. */
static int64_t mailbox_of(struct jmap_ctx *x, const char *ref)
{
	struct store_mailbox *mbs;
	size_t n;
	const char *id = jmap_resolve_id(x, ref);
	if (!id || store_mailbox_list(x->st, x->a, &mbs, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(mbs[i].mailboxid, id) == 0)
			return mbs[i].id;
	return 0;
}

/* Each Email leaves every mailbox but the target: the copies of its lowest other
 * mailbox move there when it is not in the target yet, all other copies go. */
static int run_move(struct jmap_ctx *x, const struct batch *b, struct batch_read *rd,
		    int64_t target)
{
	struct copy_ref *mv = arena_alloc(x->a, (rd->n_c + 1) * sizeof *mv);
	struct copy_ref *gone = arena_alloc(x->a, (rd->n_c + 1) * sizeof *gone);
	size_t n_mv = 0, n_gone = 0;
	if (!mv || !gone)
		return ERR_NOMEM;
	(void)b;
	for (size_t i = 0; i < rd->n_e; i++) {
		const struct store_email *e = &rd->e[i];
		bool in_target = false;
		for (size_t k = 0; k < e->n; k++)
			in_target |= e->mailbox_ids[k] == target;
		/* mailbox_ids ascend: the first non-target mailbox is the one to move from */
		int64_t from = 0;
		for (size_t k = 0; k < e->n; k++) {
			if (e->mailbox_ids[k] == target)
				continue;
			if (!in_target && (!from || from == e->mailbox_ids[k])) {
				from = e->mailbox_ids[k];
				mv[n_mv++] = (struct copy_ref){from, e->uids[k], i};
			} else {
				gone[n_gone++] = (struct copy_ref){e->mailbox_ids[k], e->uids[k], i};
			}
		}
	}
	qsort(mv, n_mv, sizeof *mv, copy_cmp);
	qsort(gone, n_gone, sizeof *gone, copy_cmp);
	per_mailbox(x, rd, mv, n_mv, move_fn, &target);
	/* an Email whose move failed keeps its other copies: it stays where it was */
	size_t kept = 0;
	for (size_t i = 0; i < n_gone; i++)
		if (!rd->err[gone[i].email])
			gone[kept++] = gone[i];
	per_mailbox(x, rd, gone, kept, expunge_fn, NULL);
	return 0;
}

/* mailboxIds/<from>: null + mailboxIds/<target>: true: an Email in from moves (or,
 * when in target too, leaves from); one not in from is left in *single for
 * jmap_email_update_one (that patch then copies it, against the quota). */
static int run_move_from(struct jmap_ctx *x, struct batch_read *rd, int64_t from,
			 int64_t target, bool *single)
{
	struct copy_ref *mv = arena_alloc(x->a, (rd->n_c + 1) * sizeof *mv);
	struct copy_ref *gone = arena_alloc(x->a, (rd->n_c + 1) * sizeof *gone);
	size_t n_mv = 0, n_gone = 0;
	if (!mv || !gone)
		return ERR_NOMEM;
	for (size_t i = 0; i < rd->n_e; i++) {
		const struct store_email *e = &rd->e[i];
		bool in_from = false, in_target = false;
		for (size_t k = 0; k < e->n; k++) {
			in_from |= e->mailbox_ids[k] == from;
			in_target |= e->mailbox_ids[k] == target;
		}
		single[i] = !in_from;
		for (size_t k = 0; in_from && k < e->n; k++)
			if (e->mailbox_ids[k] == from) {
				struct copy_ref c = {from, e->uids[k], i};
				if (in_target)
					gone[n_gone++] = c;
				else
					mv[n_mv++] = c;
			}
	}
	qsort(mv, n_mv, sizeof *mv, copy_cmp);
	qsort(gone, n_gone, sizeof *gone, copy_cmp);
	per_mailbox(x, rd, mv, n_mv, move_fn, &target);
	per_mailbox(x, rd, gone, n_gone, expunge_fn, NULL);
	return 0;
}

static void run_batch(struct jmap_ctx *x, const struct batch *b, struct jmap_set_result *r)
{
	struct batch_read rd = {0};
	int64_t target = b->kind != BATCH_KEYWORDS ? mailbox_of(x, b->target) : 0;
	int64_t from = b->kind == BATCH_MOVE_FROM ? mailbox_of(x, b->from) : 0;
	/* an unknown mailbox in a member patch: each Email gets update_one's own answer */
	bool all_single = b->kind == BATCH_MOVE_FROM && (!target || !from);
	int rc = b->kind == BATCH_MOVE && !target ? ERR_NOTFOUND
		 : all_single ? 0 : batch_read(x, b, &rd);
	bool *single = rc == 0 ? arena_zalloc(x->a, (rd.n_e + 1) * sizeof *single) : NULL;
	if (rc == 0 && !single)
		rc = ERR_NOMEM;
	if (rc == 0 && !all_single)
		rc = b->kind == BATCH_KEYWORDS ? run_keywords(x, b, &rd)
		     : b->kind == BATCH_MOVE ? run_move(x, b, &rd, target)
					      : run_move_from(x, &rd, from, target, single);
	for (size_t i = 0; i < b->n; i++) {
		json_t *err = NULL;
		if (rc == ERR_NOTFOUND && b->kind == BATCH_MOVE)
			err = jmap_set_error("invalidProperties", "no such mailbox",
					     json_pack("[s]", "mailboxIds"));
		else if (rc < 0)
			err = jmap_set_error("serverFail", NULL, NULL);
		else if (all_single || (rd.found[i] >= 0 && single[rd.found[i]]))
			(void)jmap_email_update_one(x, b->ids[i], b->patches[i], &err);
		else if (rd.found[i] < 0)
			err = jmap_set_error("notFound", NULL, NULL);
		else if (rd.err[rd.found[i]])
			err = json_incref(rd.err[rd.found[i]]);
		if (err)
			jmap_set_not_updated(r, b->keys[i], err);
		else
			jmap_set_updated(r, b->ids[i], NULL);
	}
	for (size_t i = 0; rd.err && i < rd.n_e; i++)
		json_decref(rd.err[i]); /* the answers hold their own references */
}

json_t *jmap_email_update_batch(struct jmap_ctx *x, json_t *update, struct jmap_set_result *r)
{
	struct batch *list = NULL;
	json_t *rest = json_object(), *seen = json_object();
	const char *key;
	json_t *v;
	if (!rest || !seen) {
		json_decref(seen);
		json_decref(rest);
		return NULL;
	}
	json_object_foreach(update, key, v) {
		struct jmap_email_patch p;
		const char *bad, *id = jmap_resolve_id(x, key);
		struct batch *b = NULL;
		if (id && !json_object_get(seen, id) &&
		    jmap_email_patch_parse(x->a, v, &p, &bad) == 0)
			b = batch_for(x, &list, &p);
		if (id)
			json_object_set_new(seen, id, json_true());
		if (!b || batch_add(x, b, key, id, v) < 0)
			json_object_set(rest, key, v);
	}
	json_decref(seen);
	for (struct batch *b = list; b; b = b->next)
		run_batch(x, b, r);
	return rest;
}
