/* sqs_jmap_query.c: store_email_query, Email/query without filters (RFC 8621 4.4,
 * RFC 8620 5.5). A mailbox by receivedAt (the mail list) walks the index messages_date
 * in the asked direction and stops once the window is full when no total is asked, so
 * its first page costs the page's rows, not the mailbox's; rows of one INTERNALDATE
 * are ordered by EMAILID before they are walked (ties by EMAILID ascending either way),
 * a copy of an Email already walked in the same mailbox is skipped (copies keep the
 * INTERNALDATE, so they fall in one run), and with collapseThreads a thread already
 * walked is. Every other query lets SQL sort the Emails of a mailbox (or of the
 * account) and keep the first of each thread; this file walks the sorted ids once and
 * keeps the window. Memory: the window's ids (in the caller's arena); for a window
 * placed from the end or by an anchor every id, malloc'ed while the walk lasts (33
 * bytes an Email), and with collapseThreads the threads seen (34 bytes each). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

typedef char guid_t[SQS_GUID_LEN + 1];

/* The ids walked: only the window when its start is known in advance, else all. */
struct walk {
	bool keep_all;
	size_t start, limit;           /* the window, when !keep_all */
	guid_t *all;
	size_t n_all, cap;
	const char **win;              /* arena, limit entries, when !keep_all */
	size_t n_win;
	size_t total;
};

static int walk_add(struct walk *w, const unsigned char *id, size_t len, struct arena *a)
{
	size_t i = w->total++;
	if (len != SQS_GUID_LEN)
		return ERR_IO; /* a guid of another form in the index: damage */
	if (!w->keep_all) {
		if (i < w->start || w->n_win == w->limit)
			return 0;
		char *s = arena_strndup(a, id, len);
		if (!s)
			return ERR_NOMEM;
		w->win[w->n_win++] = s;
		return 0;
	}
	if (w->n_all == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		guid_t *nv = realloc(w->all, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		w->all = nv;
		w->cap = cap;
	}
	memcpy(w->all[w->n_all], id, len);
	w->all[w->n_all++][len] = '\0';
	return 0;
}

static int run_query(struct sqs_db *h, const struct store_email_query *q, struct arena *a,
		     struct walk *w)
{
	struct sqs_mb mb;
	int r = q->mailbox_id ? sqs_mb_find_id(h, q->mailbox_id, &mb) : 0;
	sqlite3_stmt *s = NULL;
	if (r == 0 && !(s = sqs_q(h, q->mailbox_id ? Q_JM_QUERY_MAILBOX : Q_JM_QUERY_ALL)))
		r = ERR_IO;
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, q->mailbox_id);
	sqlite3_bind_int(s, 2, q->sort == STORE_SORT_SIZE);
	sqlite3_bind_int(s, 3, q->ascending ? 1 : -1);
	sqlite3_bind_int(s, 4, q->collapse_threads);
	int rc;
	while (r == 0 && (rc = sqs_step(h, s)) == SQLITE_ROW)
		r = walk_add(w, sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0), a);
	if (r == 0)
		r = sqs_done(rc);
	sqlite3_reset(s);
	return r;
}

/* ---- the mail list: a mailbox by INTERNALDATE ---- */

typedef char thread_t[SQS_THREAD_LEN + 1];

/* The threads walked (collapseThreads): an open-addressing set. */
struct tset {
	thread_t *v;
	size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* 1: t was new (now added), 0: seen before, ERR_NOMEM. */
static int tset_add(struct tset *t, const char *id)
{
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		thread_t *nv = calloc(cap, sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->v[i][0])
				continue;
			size_t k = str_hash(t->v[i]) & (cap - 1);
			while (nv[k][0])
				k = (k + 1) & (cap - 1);
			memcpy(nv[k], t->v[i], sizeof(nv[k]));
		}
		free(t->v);
		t->v = nv, t->cap = cap;
	}
	size_t k = str_hash(id) & (t->cap - 1);
	for (; t->v[k][0]; k = (k + 1) & (t->cap - 1))
		if (!strcmp(t->v[k], id))
			return 0;
	snprintf(t->v[k], sizeof(t->v[k]), "%s", id);
	t->n++;
	return 1;
}

struct run_row {
	guid_t guid;
	thread_t thread;           /* the thread, or the guid while it is not cached */
};

/* The rows of one INTERNALDATE. */
struct date_run {
	struct run_row *v;
	size_t n, cap;
	int64_t date;
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct run_row *)a)->guid, ((const struct run_row *)b)->guid);
}

/* Walk a run; *stop_out when the window is full and nothing more is needed. */
static int run_flush(const struct store_email_query *q, struct date_run *run, struct tset *ts,
		     struct walk *w, struct arena *a, bool *stop_out)
{
	qsort(run->v, run->n, sizeof(*run->v), cmp_row);
	for (size_t i = 0; i < run->n && !*stop_out; i++) {
		if (i && !strcmp(run->v[i].guid, run->v[i - 1].guid))
			continue; /* another copy of the same Email */
		int r = q->collapse_threads ? tset_add(ts, run->v[i].thread) : 1;
		if (r < 0)
			return r;
		if (r == 0)
			continue; /* its thread is listed already */
		if ((r = walk_add(w, (const unsigned char *)run->v[i].guid, SQS_GUID_LEN, a)) < 0)
			return r;
		*stop_out = !w->keep_all && !q->total && w->n_win == w->limit;
	}
	run->n = 0;
	return 0;
}

static int run_row_add(struct date_run *run, sqlite3_stmt *s)
{
	if (run->n == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 64;
		struct run_row *nv = realloc(run->v, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		run->v = nv, run->cap = cap;
	}
	struct run_row *row = &run->v[run->n++];
	const char *g = (const char *)sqlite3_column_text(s, 0);
	const char *t = (const char *)sqlite3_column_text(s, 2);
	if (!g || strlen(g) != SQS_GUID_LEN)
		return ERR_IO; /* a guid of another form in the index: damage */
	memcpy(row->guid, g, SQS_GUID_LEN + 1);
	snprintf(row->thread, sizeof(row->thread), "%s", t && strlen(t) <= SQS_THREAD_LEN ? t : g);
	return 0;
}

static int run_by_date(struct sqs_db *h, const struct store_email_query *q, struct arena *a,
		       struct walk *w)
{
	struct sqs_mb mb;
	int r = sqs_mb_find_id(h, q->mailbox_id, &mb);
	sqlite3_stmt *s = NULL;
	if (r == 0 && !(s = sqs_q(h, q->ascending ? Q_JM_QUERY_DATE_ASC : Q_JM_QUERY_DATE_DESC)))
		r = ERR_IO;
	if (r < 0)
		return r;
	sqlite3_bind_int64(s, 1, q->mailbox_id);
	sqlite3_bind_int(s, 2, q->collapse_threads);
	struct date_run run = {0};
	struct tset ts = {0};
	bool stop = false;
	int rc = SQLITE_DONE;
	while (r == 0 && !stop && (rc = sqs_step(h, s)) == SQLITE_ROW) {
		int64_t date = sqlite3_column_int64(s, 1);
		if (run.n && date != run.date)
			r = run_flush(q, &run, &ts, w, a, &stop);
		run.date = date;
		if (r == 0 && !stop)
			r = run_row_add(&run, s);
	}
	if (r == 0 && !stop)
		r = sqs_done(rc);
	if (r == 0 && !stop && run.n)
		r = run_flush(q, &run, &ts, w, a, &stop);
	sqlite3_reset(s);
	free(run.v);
	free(ts.v);
	return r;
}

/* The window of a walk that kept every id: from the anchor or from the end. */
static int place_window(const struct store_email_query *q, struct walk *w, struct arena *a,
			struct store_email_list *out)
{
	int64_t start;
	if (q->anchor) {
		size_t i = 0;
		while (i < w->n_all && strcmp(w->all[i], q->anchor) != 0)
			i++;
		if (i == w->n_all)
			return ERR_NOTFOUND; /* anchorNotFound */
		start = q->anchor_offset < -(int64_t)i ? 0 : (int64_t)i + q->anchor_offset;
	} else {
		start = q->position < -(int64_t)w->total ? 0 : (int64_t)w->total + q->position;
	}
	size_t from = (uint64_t)start > w->total ? w->total : (size_t)start;
	size_t n = w->total - from < q->limit ? w->total - from : q->limit;
	const char **ids = n ? arena_alloc(a, n * sizeof(*ids)) : NULL;
	if (n && !ids)
		return ERR_NOMEM;
	for (size_t k = 0; k < n; k++)
		if (!(ids[k] = arena_strdup(a, w->all[from + k])))
			return ERR_NOMEM;
	out->ids = ids;
	out->n = n;
	out->position = from;
	return 0;
}

int sqs_email_query(struct store *st, const struct store_email_query *q, struct arena *a,
		    struct store_email_list *out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	struct walk w = {0};
	w.keep_all = q->anchor || q->position < 0;
	w.start = q->position < 0 ? 0 : (size_t)q->position;
	w.limit = q->limit;
	if (!w.keep_all && !(w.win = arena_alloc(a, q->limit * sizeof(*w.win))))
		return ERR_NOMEM;
	int r = sqs_begin(h, false);
	if (r == 0)
		r = q->mailbox_id && q->sort == STORE_SORT_RECEIVED ? run_by_date(h, q, a, &w)
								    : run_query(h, q, a, &w);
	sqs_rollback(h);
	memset(out, 0, sizeof(*out));
	if (r == 0 && w.keep_all) {
		r = place_window(q, &w, a, out);
	} else if (r == 0) {
		out->ids = w.n_win ? w.win : NULL;
		out->n = w.n_win;
		out->position = w.start > w.total ? w.total : w.start;
	}
	free(w.all);
	if (r < 0)
		return r;
	out->total = w.total;
	return 0;
}
