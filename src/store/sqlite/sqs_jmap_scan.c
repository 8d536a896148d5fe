/* sqs_jmap_scan.c: store_email_scan, every Email of the account for Email/query with
 * filters and SearchSnippet/get (RFC 8621 4.4, 5.1): one read of the message rows in
 * EMAILID order (index messages_guid), each run of rows of one guid made into one
 * store_email as sqs_jmap_get.c makes it. Memory: the Emails and their strings in the
 * caller's arena; the copies of the Email being read in a small malloc'ed vector
 * while the walk lasts (an Email has few copies). */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

struct scan {
	struct store_email *v;         /* malloc'ed while the walk lasts */
	size_t n, cap;
	int64_t *mb;                   /* the current Email's copies */
	uint32_t *uids;
	size_t nc, ccap;
};

/* The current Email's copies into the arena. */
static int scan_close(struct scan *s, struct arena *a)
{
	if (!s->n || !s->nc)
		return 0;
	struct store_email *e = &s->v[s->n - 1];
	e->mailbox_ids = arena_alloc(a, s->nc * sizeof(*e->mailbox_ids));
	e->uids = arena_alloc(a, s->nc * sizeof(*e->uids));
	if (!e->mailbox_ids || !e->uids)
		return ERR_NOMEM;
	memcpy(e->mailbox_ids, s->mb, s->nc * sizeof(*s->mb));
	memcpy(e->uids, s->uids, s->nc * sizeof(*s->uids));
	e->n = s->nc;
	s->nc = 0;
	return 0;
}

static int scan_open(struct scan *s, sqlite3_stmt *q, struct arena *a)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct store_email *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		s->v = nv, s->cap = cap;
	}
	struct store_email *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->id = arena_strndup(a, sqlite3_column_text(q, 0), (size_t)sqlite3_column_bytes(q, 0));
	if (sqlite3_column_type(q, 1) != SQLITE_NULL)
		e->thread_id = arena_strndup(a, sqlite3_column_text(q, 1),
					     (size_t)sqlite3_column_bytes(q, 1));
	e->flags = (unsigned)sqlite3_column_int(q, 4);
	e->keywords = arena_strndup(a, sqlite3_column_text(q, 5), (size_t)sqlite3_column_bytes(q, 5));
	e->size = (uint64_t)sqlite3_column_int64(q, 6);
	e->received_at = sqlite3_column_int64(q, 7);
	bool threadless = sqlite3_column_type(q, 1) == SQLITE_NULL;
	return e->id && e->keywords && (threadless || e->thread_id) ? 0 : ERR_NOMEM;
}

static int scan_row(struct scan *s, sqlite3_stmt *q, struct arena *a)
{
	const char *guid = (const char *)sqlite3_column_text(q, 0);
	int r = 0;
	if (!guid)
		return ERR_IO;
	if (!s->n || strcmp(s->v[s->n - 1].id, guid) != 0) {
		if ((r = scan_close(s, a)) < 0 || (r = scan_open(s, q, a)) < 0)
			return r;
	}
	struct store_email *e = &s->v[s->n - 1];
	int64_t date = sqlite3_column_int64(q, 7);
	if (date < e->received_at)
		e->received_at = date;
	if (s->nc == s->ccap) {
		size_t cap = s->ccap ? s->ccap * 2 : 8;
		int64_t *mb = realloc(s->mb, cap * sizeof(*mb));
		if (mb)
			s->mb = mb;
		uint32_t *uids = mb ? realloc(s->uids, cap * sizeof(*uids)) : NULL;
		if (!uids)
			return ERR_NOMEM;
		s->uids = uids, s->ccap = cap;
	}
	s->mb[s->nc] = sqlite3_column_int64(q, 2);
	s->uids[s->nc++] = (uint32_t)sqlite3_column_int64(q, 3);
	return 0;
}

int sqs_email_scan(struct store *st, struct arena *a, struct store_email **out, size_t *n_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	struct scan s = {0};
	*out = NULL;
	*n_out = 0;
	int r = sqs_begin(h, false), rc = SQLITE_DONE;
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_JM_SCAN) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	while (q && r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW)
		r = scan_row(&s, q, a);
	if (q && r == 0)
		r = sqs_done(rc);
	if (q)
		sqlite3_reset(q);
	sqs_rollback(h);
	if (r == 0)
		r = scan_close(&s, a);
	struct store_email *v = NULL;
	if (r == 0 && s.n && !(v = arena_alloc(a, s.n * sizeof(*v))))
		r = ERR_NOMEM;
	if (r == 0 && s.n)
		memcpy(v, s.v, s.n * sizeof(*v));
	free(s.v);
	free(s.mb);
	free(s.uids);
	if (r < 0)
		return r;
	*out = v;
	*n_out = s.n;
	return 0;
}
