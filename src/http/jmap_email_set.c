/* jmap_email_set.c: Email/set (RFC 8621 4.6; RFC 8620 5.3): create, update, destroy,
 * in that order, with ifInState (stateMismatch) from jmap_set_parse.
 *   create: mailboxIds (required, at least one), keywords and receivedAt are read here;
 *     the message itself is written by jmap_email_build (contract C3) into a spool
 *     file, which jmap_email_store_new (C2) stores. created[cid] = {id, blobId,
 *     threadId, size} (the server-set properties, 4.6).
 *   update: the shapes a webmail sends for a selection in batches
 *     (jmap_email_batch.c), any other by jmap_email_update_one (jmap_email_update.c).
 *   destroy: every copy of every Email named goes, one store_expunge per mailbox for
 *     the whole request (emptying a Trash of maxObjectsInSet Emails is one expunge):
 *     usage shrinks at once, IMAP sessions get EXPUNGE, POP3 sees them gone at its next
 *     session, the file is unlinked once no copy names it.
 * Ids of another account are unknown here (notFound): the store answers one account. */
#include "http/jmap_email.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "http/jmap.h"
#include "http/jmap_email_int.h"
#include "store/store.h"
#include "core/banned.h"

static json_t *invalid(const char *prop, const char *why)
{
	return jmap_set_error("invalidProperties", why, json_pack("[s]", prop));
}

/* jmap_email_store_new's errors as SetErrors (RFC 8621 4.6, 4.8). */
json_t *jmap_email_store_error(int rc)
{
	switch (rc) {
	case ERR_QUOTA:
		return jmap_set_error("overQuota", "the Email would pass the quota", NULL);
	case ERR_NOTFOUND:
		return invalid("mailboxIds", "no such mailbox");
	case ERR_TOO_BIG:
		return jmap_set_error("tooLarge", "the message is larger than the server takes",
				      NULL);
	case ERR_INVAL:
		return jmap_set_error("invalidEmail", "not a message", NULL);
	case ERR_FULL:
	case ERR_TOO_LONG:
		return jmap_set_error("tooManyKeywords", "more keywords than the store keeps",
				      NULL);
	default:
		return jmap_set_error("serverFail", err_str(rc), NULL);
	}
}

int jmap_email_new_args(struct jmap_ctx *x, json_t *obj, struct jmap_email_new_args *out,
			json_t **err_out)
{
	memset(out, 0, sizeof *out);
	*err_out = NULL;
	json_t *mb = json_object_get(obj, "mailboxIds");
	json_t *kw = json_object_get(obj, "keywords");
	json_t *at = json_object_get(obj, "receivedAt");
	size_t n = json_object_size(mb);
	if (!json_is_object(mb) || n == 0) {
		*err_out = invalid("mailboxIds", "at least one mailbox is required");
		return ERR_INVAL;
	}
	out->mailbox_ids = arena_alloc(x->a, n * sizeof *out->mailbox_ids);
	if (!out->mailbox_ids)
		return ERR_NOMEM;
	const char *key;
	json_t *v;
	json_object_foreach(mb, key, v) {
		/* "#cid": a mailbox made earlier in this request (RFC 8620 5.3) */
		const char *id = jmap_resolve_id(x, key);
		if (!json_is_true(v) || !id) {
			*err_out = invalid("mailboxIds", "mailbox ids map to true");
			return ERR_INVAL;
		}
		for (size_t i = 0; i < out->n_mailboxes; i++)
			if (strcmp(out->mailbox_ids[i], id) == 0)
				id = NULL; /* "#cid" and the id it names: one mailbox */
		if (id)
			out->mailbox_ids[out->n_mailboxes++] = id;
	}
	out->keywords = "";
	if (kw && jmap_keywords_parse(x, kw, &out->keywords) < 0) {
		*err_out = invalid("keywords", "not a keywords object");
		return ERR_INVAL;
	}
	const char *s = json_string_value(at);
	if (at && (!s || jmap_utc_date_parse(s, strlen(s), &out->received_at) < 0)) {
		*err_out = invalid("receivedAt", "not a UTCDate");
		return ERR_INVAL;
	}
	return 0;
}

json_t *jmap_email_created(const struct jmap_new_email *e)
{
	return json_pack("{ss ss ss sI}", "id", e->id, "blobId", e->blob_id, "threadId",
			 e->thread_id, "size", (json_int_t)e->size);
}

/* ---- create ---- */

static json_t *create_one(struct jmap_ctx *x, json_t *obj, json_t **created_out)
{
	struct jmap_email_new_args na;
	struct jmap_new_email ne;
	json_t *err = NULL;
	char path[DELIVER_PATH_MAX];
	int fd;
	uint64_t size;
	if (!json_is_object(obj))
		return jmap_set_error("invalidProperties", "not an object", NULL);
	int rc = jmap_email_new_args(x, obj, &na, &err);
	if (rc < 0)
		return err ? err : jmap_set_error("serverFail", NULL, NULL);
	if ((rc = deliver_spool_create(path, sizeof path, &fd)) < 0)
		return jmap_set_error("serverFail", "no spool file", NULL);
	rc = jmap_email_build(x, obj, fd, &size, &err);
	if (close(fd) < 0 && rc == 0)
		rc = ERR_IO;
	if (rc < 0) {
		if (unlink(path) < 0)
			log_warn("jmap: cannot remove %s: %s", path, strerror(errno));
		return err ? err : jmap_set_error("serverFail", NULL, NULL);
	}
	json_decref(err);
	rc = jmap_email_store_new(x, path, na.mailbox_ids, na.n_mailboxes, na.keywords,
				  na.received_at, &ne);
	if (rc < 0)
		return jmap_email_store_error(rc);
	*created_out = jmap_email_created(&ne);
	return *created_out ? NULL : jmap_set_error("serverFail", NULL, NULL);
}

/* ---- destroy ---- */

struct copy_ref {
	int64_t mailbox_id;
	uint32_t uid;
	size_t email;               /* index into the found Emails */
};

static int copy_cmp(const void *a, const void *b)
{
	const struct copy_ref *p = a, *q = b;
	if (p->mailbox_id != q->mailbox_id)
		return p->mailbox_id < q->mailbox_id ? -1 : 1;
	return p->uid < q->uid ? -1 : p->uid > q->uid;
}

static void destroy_all(struct jmap_ctx *x, struct jmap_set_result *r, const char **ids,
			size_t n_ids)
{
	struct store_email *e = NULL;
	size_t n = 0, n_copies = 0;
	int rc = n_ids ? store_email_get(x->st, ids, n_ids, x->a, &e, &n) : 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		n_copies += e[i].n;
	struct copy_ref *c = arena_alloc(x->a, (n_copies + 1) * sizeof *c);
	uint32_t *uids = arena_alloc(x->a, (n_copies + 1) * sizeof *uids);
	int *failed = arena_zalloc(x->a, (n + 1) * sizeof *failed);
	if (rc == 0 && (!c || !uids || !failed))
		rc = ERR_NOMEM;
	if (rc < 0) {
		for (size_t i = 0; i < n_ids; i++)
			jmap_set_not_destroyed(r, ids[i], jmap_set_error("serverFail", NULL, NULL));
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < e[i].n; j++)
			c[k++] = (struct copy_ref){e[i].mailbox_ids[j], e[i].uids[j], i};
	qsort(c, n_copies, sizeof *c, copy_cmp);
	for (size_t i = 0; i < n_copies;) {
		size_t m = 0, start = i;
		for (; i < n_copies && c[i].mailbox_id == c[start].mailbox_id; i++)
			if (!m || uids[m - 1] != c[i].uid) /* an id asked twice: its copies once */
				uids[m++] = c[i].uid;
		uint64_t ms;
		if ((rc = store_expunge(x->st, c[start].mailbox_id, uids, m, &ms)) < 0) {
			log_warn("jmap: Email/set destroy: expunge failed: %s", err_str(rc));
			for (size_t j = start; j < i; j++)
				failed[c[j].email] = rc;
		}
	}
	/* the store answers the found ids in the order asked: walk both together */
	for (size_t i = 0, j = 0; i < n_ids; i++) {
		bool found = j < n && strcmp(e[j].id, ids[i]) == 0;
		bool seen = false;
		for (size_t p = 0; p < i && !seen; p++)
			seen = strcmp(ids[p], ids[i]) == 0;
		if (found && failed[j])
			jmap_set_not_destroyed(r, ids[i], jmap_set_error("serverFail", NULL, NULL));
		else if (found && !seen)
			jmap_set_destroyed(r, ids[i]);
		else if (!found)
			jmap_set_not_destroyed(r, ids[i], jmap_set_error("notFound", NULL, NULL));
		j += found;
	}
}

int jmap_email_set(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_set_args a;
	struct jmap_set_result r = {0};
	const char *old_state, *new_state;
	if (jmap_state(x, &old_state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (jmap_set_parse(x, args, old_state, &a) < 0)
		return ERR_INVAL;
	const char *key;
	json_t *v;
	json_object_foreach(a.create, key, v) {
		json_t *created = NULL, *err = create_one(x, v, &created);
		if (err)
			jmap_set_not_created(&r, key, err);
		else
			jmap_set_created(x, &r, key, created);
	}
	/* a selection's "mark read" or "move" in a few store calls; the rest one by one */
	json_t *rest = a.update ? jmap_email_update_batch(x, a.update, &r) : NULL;
	json_object_foreach(rest ? rest : a.update, key, v) {
		const char *id = jmap_resolve_id(x, key);
		json_t *err = NULL;
		if (!id)
			err = jmap_set_error("notFound", NULL, NULL);
		else
			(void)jmap_email_update_one(x, id, v, &err); /* err says how it failed */
		if (err)
			jmap_set_not_updated(&r, key, err);
		else
			jmap_set_updated(&r, id, NULL);
	}
	json_decref(rest);
	destroy_all(x, &r, a.destroy, a.n_destroy);
	if (jmap_state(x, &new_state) < 0) {
		json_decref(jmap_set_response(x, &r, old_state, old_state));
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = jmap_set_response(x, &r, old_state, new_state);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
