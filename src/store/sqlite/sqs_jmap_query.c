/* sqs_jmap_query.c: store_email_query, Email/query without filters (RFC 8621 4.4,
 * RFC 8620 5.5): SQL sorts the Emails of a mailbox (or of the account) and keeps the
 * first of each thread when asked; this file walks the sorted ids once and keeps the
 * window. Memory: the window's ids (in the caller's arena); for a window placed from the
 * end or by an anchor every id, malloc'ed while the walk lasts (33 bytes an Email). */
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
		r = run_query(h, q, a, &w);
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
