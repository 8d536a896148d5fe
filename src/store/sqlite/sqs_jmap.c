/* sqs_jmap.c: Email/, Mailbox/ and Thread/changes (RFC 8620 5.2, RFC 8621 2.2, 3.2, 4.3)
 * from what the triggers of schema version 4 record (sqs_schema.c), and the pruning of
 * their tombstones. Every read runs in one snapshot: the counter, the horizon and the
 * rows agree. Memory: at most max ids per call, their strings in the caller's arena.
 * Limits: tombstones are kept LIMIT_EXPUNGED_KEEP_DAYS, and the LIMIT_EXPUNGED_KEEP
 * newest of each kind longer. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

enum jm_kind { JM_EMAIL, JM_MAILBOX, JM_THREAD, JM_KINDS };

/* Per kind: the meta key of its horizon (the highest modseq of a pruned tombstone: a
 * changes call from below it cannot be answered) and its statements. Threads have no
 * tombstones of their own: their changes are read from the Emails', and so is their
 * horizon. */
static const struct {
	const char *horizon;
	enum sqs_stmt changes, nth, prune_max, prune;
} kinds[JM_KINDS] = {
	[JM_EMAIL] = {"horizon_email", Q_JM_EMAIL_CHANGES, Q_JM_EMAIL_NTH,
		      Q_JM_EMAIL_PRUNE_MAX, Q_JM_EMAIL_PRUNE},
	[JM_MAILBOX] = {"horizon_mailbox", Q_JM_MAILBOX_CHANGES, Q_JM_MAILBOX_NTH,
			Q_JM_MAILBOX_PRUNE_MAX, Q_JM_MAILBOX_PRUNE},
	[JM_THREAD] = {"horizon_email", Q_JM_THREAD_CHANGES, Q_COUNT, Q_COUNT, Q_COUNT},
};

enum { LIST_CREATED, LIST_UPDATED, LIST_DESTROYED, LISTS };

/* An id list grown with malloc while the rows are read; the strings are the arena's. */
struct idlist {
	const char **v;
	size_t n, cap;
};

static int idlist_add(struct idlist *l, const char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		const char **nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

/* Move the first n entries into the arena (NULL when none). */
static int idlist_give(struct idlist *l, size_t n, struct arena *a, const char ***out)
{
	*out = NULL;
	if (!n)
		return 0;
	const char **v = arena_alloc(a, n * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	memcpy(v, l->v, n * sizeof(*v));
	*out = v;
	return 0;
}

static int meta_get(struct sqs_db *h, const char *key, int64_t *out)
{
	sqlite3_stmt *q = sqs_q(h, Q_META_GET);
	if (q)
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	return sqs_int(h, q, 0, out);
}

/* What one walk over the rows gathered, and where the last complete modseq ended. */
struct walk {
	struct idlist l[LISTS];
	size_t total;
	bool props;                    /* an updated mailbox changed more than its counts */
	size_t cut[LISTS];             /* the lists' lengths at the end of the last whole
					* modseq */
	bool cut_props;
	int64_t cut_key;               /* that modseq; -1 while the first one is read */
	bool more;
};

/* Rows come ordered by key (the modseq that sorts an id); a key's rows are taken all
 * or none, so when max ids are reached the lists go back to the last whole key. */
static int walk_rows(struct sqs_db *h, sqlite3_stmt *q, enum jm_kind kind, size_t max,
		     struct arena *a, struct walk *w)
{
	int64_t key = -1;
	int r = 0, rc;
	w->cut_key = -1;
	while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(q, 1);
		if (k != key) {
			if (key >= 0) {
				for (int i = 0; i < LISTS; i++)
					w->cut[i] = w->l[i].n;
				w->cut_props = w->props;
				w->cut_key = key;
			}
			key = k;
		}
		if (w->total == max) {
			w->more = true;
			break;
		}
		int list = sqlite3_column_int(q, 2)   ? LIST_CREATED
			   : sqlite3_column_int(q, 3) ? LIST_DESTROYED
						      : LIST_UPDATED;
		const char *id = arena_strndup(a, sqlite3_column_text(q, 0),
					       (size_t)sqlite3_column_bytes(q, 0));
		r = id ? idlist_add(&w->l[list], id) : ERR_NOMEM;
		w->total++;
		if (kind == JM_MAILBOX && list == LIST_UPDATED && sqlite3_column_int(q, 4))
			w->props = true;
	}
	if (r == 0 && !w->more)
		r = sqs_done(rc);
	sqlite3_reset(q);
	return r;
}

static int changes(struct store *st, enum jm_kind kind, uint64_t since, size_t max,
		   struct arena *a, struct store_changes *out, bool *props_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	if (since > INT64_MAX)
		return ERR_INVAL;
	struct walk w = {0};
	int64_t cur = 0, horizon = 0;
	int r = sqs_begin(h, false); /* counter, horizon and rows from one snapshot */
	if (r == 0)
		r = meta_get(h, "modseq", &cur);
	if (r == 0)
		r = meta_get(h, kinds[kind].horizon, &horizon);
	if (r == 0 && (int64_t)since > cur)
		r = ERR_INVAL; /* a state this account never had */
	else if (r == 0 && (int64_t)since < horizon)
		r = ERR_GONE;
	sqlite3_stmt *q = r == 0 ? sqs_q(h, kinds[kind].changes) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	if (r == 0) {
		sqlite3_bind_int64(q, 1, (int64_t)since);
		r = walk_rows(h, q, kind, max, a, &w);
	}
	sqs_rollback(h);
	size_t n[LISTS];
	for (int i = 0; i < LISTS; i++)
		n[i] = w.more ? w.cut[i] : w.l[i].n;
	if (r == 0 && w.more && w.cut_key < 0)
		r = ERR_GONE; /* one modseq alone changed more than max ids */
	if (r == 0)
		r = idlist_give(&w.l[LIST_CREATED], n[LIST_CREATED], a, &out->created);
	if (r == 0)
		r = idlist_give(&w.l[LIST_UPDATED], n[LIST_UPDATED], a, &out->updated);
	if (r == 0)
		r = idlist_give(&w.l[LIST_DESTROYED], n[LIST_DESTROYED], a, &out->destroyed);
	for (int i = 0; i < LISTS; i++)
		free(w.l[i].v);
	if (r < 0)
		return r;
	out->n_created = n[LIST_CREATED];
	out->n_updated = n[LIST_UPDATED];
	out->n_destroyed = n[LIST_DESTROYED];
	out->old_modseq = since;
	out->new_modseq = w.more ? (uint64_t)w.cut_key : (uint64_t)cur;
	out->more = w.more;
	if (props_out)
		*props_out = w.more ? w.cut_props : w.props;
	return 0;
}

int sqs_email_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
		      struct store_changes *out)
{
	return changes(st, JM_EMAIL, since, max, a, out, NULL);
}

int sqs_mailbox_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			struct store_changes *out, bool *counts_only_out)
{
	bool props = false;
	int r = changes(st, JM_MAILBOX, since, max, a, out, &props);
	if (r == 0)
		*counts_only_out = out->n_updated > 0 && !props;
	return r;
}

int sqs_thread_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
		       struct store_changes *out)
{
	return changes(st, JM_THREAD, since, max, a, out, NULL);
}

/* Drop the kind's tombstones older than older_than below the keep-th newest one's
 * modseq (those of one modseq share it, so they go or stay together), and raise its
 * horizon to the highest modseq dropped. */
static int prune_kind(struct sqs_db *h, enum jm_kind kind, int64_t older_than, size_t keep)
{
	int64_t nth = INT64_MAX, gone = 0, horizon = 0;
	sqlite3_stmt *q;
	int r = 0;
	if (keep > 0) {
		if ((q = sqs_q(h, kinds[kind].nth)) != NULL)
			sqlite3_bind_int64(q, 1, keep > INT64_MAX ? INT64_MAX : (int64_t)keep - 1);
		r = sqs_int(h, q, 0, &nth); /* 0: fewer than keep, nothing goes */
	}
	if (r < 0 || nth == 0)
		return r;
	if ((q = sqs_q(h, kinds[kind].prune_max)) != NULL) {
		sqlite3_bind_int64(q, 1, nth);
		sqlite3_bind_int64(q, 2, older_than);
	}
	r = sqs_int(h, q, 0, &gone);
	if (r < 0 || gone == 0)
		return r;
	if ((q = sqs_q(h, kinds[kind].prune)) == NULL)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, nth);
	sqlite3_bind_int64(q, 2, older_than);
	r = sqs_exec(h, q);
	if (r == 0)
		r = meta_get(h, kinds[kind].horizon, &horizon);
	if (r == 0 && gone > horizon) {
		if ((q = sqs_q(h, Q_META_SET)) == NULL)
			return ERR_IO;
		sqlite3_bind_text(q, 1, kinds[kind].horizon, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, gone);
		r = sqs_exec(h, q);
	}
	return r;
}

static int prune_all(struct sqs_db *h, int64_t older_than, size_t keep)
{
	int r = 0;
	for (int k = 0; r == 0 && k < JM_KINDS; k++)
		if (kinds[k].prune != Q_COUNT)
			r = prune_kind(h, (enum jm_kind)k, older_than, keep);
	return r;
}

int sqs_jmap_prune(struct sqs_db *h, int64_t now)
{
	return prune_all(h, now - (int64_t)LIMIT_EXPUNGED_KEEP_DAYS * 86400, LIMIT_EXPUNGED_KEEP);
}

int sqs_changes_prune(struct store *st, int64_t older_than, size_t keep)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	int r = sqs_begin(h, true);
	if (r == 0)
		r = prune_all(h, older_than, keep);
	if (r == 0)
		return sqs_commit(h);
	sqs_rollback(h);
	return r;
}
