/* sqs_jmap_get.c: Emails and Threads as JMAP reads them (store_email_get,
 * store_thread_get): an Email is the message rows sharing a guid (index messages_guid),
 * a Thread the Emails of one thread id (index jmap_emails_thread). Ids that are not of
 * our form are not looked up at all. Everything comes from the caller's arena, read in
 * one snapshot; a content row from schema version 1 whose thread is not cached yet is
 * filled first (sqs_content_fill), outside that snapshot. Limits: the wrapper bounds
 * the ids per call (LIMIT_JMAP_OBJECTS_GET). */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

/* 32 lowercase hex digits, the form of a guid (EMAILID). */
static bool is_hex32(const char *s)
{
	size_t i = 0;
	for (; i < SQS_GUID_LEN && s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == SQS_GUID_LEN && s[i] == '\0';
}

/* The copies of one Email into e (e->n == 0 when there is none). */
static int read_copies(struct sqs_db *h, const char *guid, struct arena *a,
		       struct store_email *e)
{
	sqlite3_stmt *q = sqs_q(h, Q_JM_EMAIL_COPIES);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, guid, -1, SQLITE_STATIC);
	size_t cap = 0;
	int r = 0, rc;
	while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		if (e->n == cap) { /* a few copies at most: grown in the arena */
			size_t ncap = cap ? cap * 2 : 4;
			int64_t *mb = arena_alloc(a, ncap * sizeof(*mb));
			uint32_t *uids = arena_alloc(a, ncap * sizeof(*uids));
			if (!mb || !uids) {
				r = ERR_NOMEM;
				break;
			}
			if (e->n) {
				memcpy(mb, e->mailbox_ids, e->n * sizeof(*mb));
				memcpy(uids, e->uids, e->n * sizeof(*uids));
			}
			e->mailbox_ids = mb, e->uids = uids, cap = ncap;
		}
		int64_t date = sqlite3_column_int64(q, 5);
		if (e->n == 0) { /* the first copy's flags and keywords */
			e->flags = (unsigned)sqlite3_column_int(q, 2);
			e->keywords = arena_strndup(a, sqlite3_column_text(q, 3),
						    (size_t)sqlite3_column_bytes(q, 3));
			e->size = (uint64_t)sqlite3_column_int64(q, 4);
			e->received_at = date;
			if (!e->keywords) {
				r = ERR_NOMEM;
				break;
			}
		} else if (date < e->received_at) {
			e->received_at = date;
		}
		e->mailbox_ids[e->n] = sqlite3_column_int64(q, 0);
		e->uids[e->n] = (uint32_t)sqlite3_column_int64(q, 1);
		e->n++;
	}
	if (r == 0)
		r = sqs_done(rc);
	sqlite3_reset(q);
	return r;
}

/* The thread id of a content, NULL (and 0) while it is not cached. */
static int read_thread(struct sqs_db *h, const char *guid, struct arena *a, const char **out)
{
	sqlite3_stmt *q = sqs_q(h, Q_JM_EMAIL_THREAD);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, guid, -1, SQLITE_STATIC);
	int rc = sqs_step(h, q), r = 0;
	*out = NULL;
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
		*out = arena_strndup(a, sqlite3_column_text(q, 0),
				     (size_t)sqlite3_column_bytes(q, 0));
		if (!*out)
			r = ERR_NOMEM;
	} else if (rc != SQLITE_ROW) {
		r = sqs_done(rc);
	}
	sqlite3_reset(q);
	return r;
}

/* One pass over ids; *uncached_out: an Email found whose thread is not cached (its
 * thread_id left NULL). */
static int read_all(struct sqs_db *h, const char *const *ids, size_t n, struct arena *a,
		    struct store_email *v, size_t *n_out, bool *uncached_out)
{
	size_t k = 0;
	int r = sqs_begin(h, false);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!is_hex32(ids[i]))
			continue; /* not an id of ours: notFound */
		struct store_email *e = &v[k];
		memset(e, 0, sizeof(*e));
		r = read_copies(h, ids[i], a, e);
		if (r < 0 || e->n == 0)
			continue;
		e->id = ids[i];
		r = read_thread(h, ids[i], a, &e->thread_id);
		if (r == 0 && !e->thread_id)
			*uncached_out = true;
		if (r == 0 && !(e->id = arena_strdup(a, ids[i])))
			r = ERR_NOMEM;
		k++;
	}
	sqs_rollback(h);
	*n_out = k;
	return r;
}

int sqs_email_get(struct store *st, const char *const *ids, size_t n, struct arena *a,
		  struct store_email **out, size_t *n_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	*out = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	struct store_email *v = arena_alloc(a, n * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	size_t k = 0;
	bool uncached = false;
	int r = read_all(h, ids, n, a, v, &k, &uncached);
	if (r == 0 && uncached) { /* rows from schema version 1: cache, then read again */
		for (size_t i = 0; r == 0 && i < k; i++)
			if (!v[i].thread_id)
				r = sqs_content_fill((struct sqs_env *)st->env, h, SQS_FILL_CACHE,
						     v[i].mailbox_ids[0], v[i].uids[0],
						     v[i].uids[0]);
		uncached = false;
		if (r == 0)
			r = read_all(h, ids, n, a, v, &k, &uncached);
	}
	if (r < 0)
		return r;
	*out = k ? v : NULL;
	*n_out = k;
	return 0;
}

/* "T" + 32 lowercase hex (sqs_thread.c). */
static bool is_thread_id(const char *s)
{
	return s[0] == 'T' && is_hex32(s + 1);
}

int sqs_thread_get(struct store *st, const char *thread_id, struct arena *a,
		   const char ***email_ids_out, size_t *n_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	if (!is_thread_id(thread_id))
		return ERR_NOTFOUND;
	const char **v = NULL;
	size_t n = 0, cap = 0;
	int r = sqs_begin(h, false), rc = SQLITE_DONE;
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_JM_THREAD_EMAILS) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	if (q)
		sqlite3_bind_text(q, 1, thread_id, -1, SQLITE_STATIC);
	while (q && r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			const char **nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[n++] = arena_strndup(a, sqlite3_column_text(q, 0),
					     (size_t)sqlite3_column_bytes(q, 0))))
			r = ERR_NOMEM;
	}
	if (q && r == 0)
		r = sqs_done(rc);
	if (q)
		sqlite3_reset(q);
	sqs_rollback(h);
	const char **res = NULL;
	if (r == 0 && n == 0)
		r = ERR_NOTFOUND;
	if (r == 0 && !(res = arena_alloc(a, n * sizeof(*res))))
		r = ERR_NOMEM;
	if (r == 0)
		memcpy(res, v, n * sizeof(*res));
	free(v);
	if (r < 0)
		return r;
	*email_ids_out = res;
	*n_out = n;
	return 0;
}
