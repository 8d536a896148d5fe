/* sqs_list.c: reading messages of one account: listings (all rows of a UID range, only
 * their UIDs, or those changed since a modseq), one row, and opening a message file,
 * with the per-handle UID -> file map that lets a POP3 session open messages without
 * SQL. Owns struct sqs_msgcache. Limits: CACHE_MAX entries per map. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static struct sqs_db *H(struct store *st)
{
	return ((struct sqs_store *)st)->h;
}

static uint64_t rm_gen(const struct store *st);
static void cache_fill(struct store *st, int64_t mailbox_id, uint64_t gen,
		       const struct store_msg *v, size_t n);

/* Bind params[0..np) as ?1.. and step a statement yielding one count. */
static int count_of(struct sqs_db *h, enum sqs_stmt s, const int64_t *params, int np,
		    size_t *out)
{
	sqlite3_stmt *q = sqs_q(h, s);
	for (int i = 0; q && i < np; i++)
		sqlite3_bind_int64(q, i + 1, params[i]);
	int64_t v;
	int r = sqs_int(h, q, 0, &v);
	*out = (size_t)v;
	return r;
}

/* One MSG_COLS row (sqs_sql.c) into m, strings into a. */
static int read_msg(sqlite3_stmt *q, struct arena *a, struct store_msg *m)
{
	m->uid = (uint32_t)sqlite3_column_int64(q, 0);
	m->modseq = (uint64_t)sqlite3_column_int64(q, 1);
	m->flags = (unsigned)sqlite3_column_int(q, 2);
	m->keywords = arena_strdup(a, (const char *)sqlite3_column_text(q, 3));
	m->size = (uint64_t)sqlite3_column_int64(q, 4);
	m->internal_date = sqlite3_column_int64(q, 5);
	m->saved_date = sqlite3_column_int64(q, 6);
	m->guid = arena_strdup(a, (const char *)sqlite3_column_text(q, 7));
	m->pop3_retrieved = sqlite3_column_int64(q, 8);
	return m->keywords && m->guid ? 0 : ERR_NOMEM;
}

/* The rows statement `list` yields for params (counted first by `count`, in the same
 * read transaction, so the array is allocated once and exactly). */
static int list_rows(struct sqs_db *h, int64_t mailbox_id, enum sqs_stmt count,
		     enum sqs_stmt list, const int64_t *params, int np, struct arena *a,
		     struct store_msg **out, size_t *n_out)
{
	int r = sqs_begin(h, false);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	size_t n = 0, i = 0;
	r = sqs_mb_find_id(h, mailbox_id, &mb);
	if (r == 0)
		r = count_of(h, count, params, np, &n);
	struct store_msg *v = NULL;
	if (r == 0 && n && !(v = arena_zalloc(a, n * sizeof(*v))))
		r = ERR_NOMEM;
	sqlite3_stmt *q = r == 0 && n ? sqs_q(h, list) : NULL;
	if (r == 0 && n && !q)
		r = ERR_IO;
	if (q) {
		for (int k = 0; k < np; k++)
			sqlite3_bind_int64(q, k + 1, params[k]);
		int rc = SQLITE_DONE;
		while (r == 0 && i < n && (rc = sqs_step(h, q)) == SQLITE_ROW)
			r = read_msg(q, a, &v[i++]);
		if (r == 0 && i < n) /* never a silently short listing */
			r = sqs_done(rc) ? sqs_done(rc) : ERR_IO;
		sqlite3_reset(q);
	}
	sqs_rollback(h);
	if (r < 0)
		return r;
	*out = v;
	*n_out = i;
	return 0;
}

int sqs_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first, uint32_t uid_last,
		 struct arena *a, struct store_msg **out, size_t *n_out)
{
	uint64_t gen = rm_gen(st); /* before the snapshot: a removal after it shows */
	const int64_t p[] = {mailbox_id, uid_first, uid_last};
	int r = list_rows(H(st), mailbox_id, Q_MSG_COUNT_RANGE, Q_MSG_LIST, p, 3, a, out, n_out);
	if (r == 0 && uid_first <= 1 && uid_last == UINT32_MAX)
		cache_fill(st, mailbox_id, gen, *out, *n_out);
	return r;
}

int sqs_msg_changed(struct store *st, int64_t mailbox_id, uint64_t modseq,
		    uint32_t uid_first, uint32_t uid_last, struct arena *a,
		    struct store_msg **out, size_t *n_out)
{
	const int64_t p[] = {mailbox_id, modseq > INT64_MAX ? INT64_MAX : (int64_t)modseq,
			     uid_first, uid_last};
	return list_rows(H(st), mailbox_id, Q_MSG_CHANGED_COUNT, Q_MSG_CHANGED, p, 4, a, out,
			 n_out);
}

int sqs_msg_uids(struct store *st, int64_t mailbox_id, uint32_t uid_first, uint32_t uid_last,
		 struct arena *a, uint32_t **uids_out, size_t *n_out)
{
	struct sqs_db *h = H(st);
	int r = sqs_begin(h, false);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	size_t n = 0, i = 0;
	const int64_t p[] = {mailbox_id, uid_first, uid_last};
	r = sqs_mb_find_id(h, mailbox_id, &mb);
	if (r == 0)
		r = count_of(h, Q_MSG_COUNT_RANGE, p, 3, &n);
	uint32_t *v = NULL;
	if (r == 0 && n && !(v = arena_alloc(a, n * sizeof(*v))))
		r = ERR_NOMEM;
	sqlite3_stmt *q = r == 0 && n ? sqs_q(h, Q_MSG_UIDS) : NULL;
	if (r == 0 && n && !q)
		r = ERR_IO;
	if (q) {
		for (int k = 0; k < 3; k++)
			sqlite3_bind_int64(q, k + 1, p[k]);
		int rc = SQLITE_DONE;
		while (i < n && (rc = sqs_step(h, q)) == SQLITE_ROW)
			v[i++] = (uint32_t)sqlite3_column_int64(q, 0);
		if (i < n)
			r = sqs_done(rc) ? sqs_done(rc) : ERR_IO;
		sqlite3_reset(q);
	}
	sqs_rollback(h);
	if (r < 0)
		return r;
	*uids_out = v;
	*n_out = i;
	return 0;
}

int sqs_msg_get(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, struct sqs_row *out,
		char *kw, size_t kwcap)
{
	sqlite3_stmt *q = sqs_q(h, Q_MSG_GET);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	int rc = sqs_step(h, q), r = 0;
	if (rc == SQLITE_ROW) {
		(void)snprintf(out->guid, sizeof(out->guid), "%s", sqlite3_column_text(q, 0));
		out->size = (uint64_t)sqlite3_column_int64(q, 1);
		out->flags = (unsigned)sqlite3_column_int(q, 2);
		if (kw && snprintf(kw, kwcap, "%s", sqlite3_column_text(q, 3)) >= (int)kwcap)
			r = ERR_TOO_LONG;
		out->modseq = (uint64_t)sqlite3_column_int64(q, 4);
		out->internal_date = sqlite3_column_int64(q, 5);
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	}
	sqlite3_reset(q);
	return r;
}

void sqs_rows_removing(struct sqs_env *e, int64_t account_id)
{
	atomic_fetch_add(&e->rm_gen[(uint64_t)account_id % SQS_RM_SLOTS], 1);
}

void sqs_msgcache_free(struct sqs_msgcache *c)
{
	free(c->uids);
	free(c->sizes);
	free(c->guids);
	memset(c, 0, sizeof(*c));
}

static uint64_t rm_gen(const struct store *st)
{
	struct sqs_env *e = (struct sqs_env *)st->env;
	return atomic_load(&e->rm_gen[(uint64_t)st->account_id % SQS_RM_SLOTS]);
}

/* Remember a full listing of a mailbox (gen read before its snapshot began). A copy
 * of at most this many entries is kept; bigger mailboxes always use SQL. */
#define CACHE_MAX 200000
static void cache_fill(struct store *st, int64_t mailbox_id, uint64_t gen,
		       const struct store_msg *v, size_t n)
{
	struct sqs_msgcache *c = &((struct sqs_store *)st)->cache;
	sqs_msgcache_free(c);
	if (n == 0 || n > CACHE_MAX)
		return;
	c->uids = malloc(n * sizeof(*c->uids));
	c->sizes = malloc(n * sizeof(*c->sizes));
	c->guids = malloc(n * sizeof(*c->guids));
	if (!c->uids || !c->sizes || !c->guids) {
		sqs_msgcache_free(c); /* only a missed shortcut */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		c->uids[i] = v[i].uid;
		c->sizes[i] = v[i].size;
		memcpy(c->guids[i], v[i].guid, SQS_GUID_LEN + 1);
	}
	c->mailbox = mailbox_id;
	c->gen = gen;
	c->n = n;
}

/* The cached row for uid, or -1 if the cache cannot vouch for it. */
static ssize_t cache_find(struct store *st, int64_t mailbox_id, uint32_t uid)
{
	const struct sqs_msgcache *c = &((struct sqs_store *)st)->cache;
	if (!c->n || c->mailbox != mailbox_id || rm_gen(st) != c->gen)
		return -1;
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->uids[lo] == uid ? (ssize_t)lo : -1;
}

int sqs_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
		 uint64_t *size_out)
{
	struct sqs_row row;
	char path[4096];
	/* No row of this account was removed since the listing: the row still exists and
	 * names this file, so the SQL read (and its WAL locks) can be skipped. A removal
	 * that starts after this check is ordered after this open. */
	ssize_t k = cache_find(st, mailbox_id, uid);
	bool cached = k >= 0;
	int r = 0;
	if (cached) {
		const struct sqs_msgcache *c = &((struct sqs_store *)st)->cache;
		memcpy(row.guid, c->guids[k], sizeof(row.guid));
		row.size = c->sizes[k];
	} else {
		r = sqs_msg_get(H(st), mailbox_id, uid, &row, NULL, 0);
	}
	if (r == 0)
		r = sqs_msg_path((struct sqs_env *)st->env, st->account_id, row.guid, path,
				 sizeof(path));
	if (r < 0)
		return r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), open_err = errno;
	/* expunged and reaped since the check or since the row was read (the reaper does not
	 * wait for readers): gone, not damaged, when the row is gone too */
	if (fd < 0 && open_err == ENOENT &&
	    (cached || sqs_msg_get(H(st), mailbox_id, uid, &row, NULL, 0) == ERR_NOTFOUND))
		return ERR_NOTFOUND;
	if (fd < 0) {
		/* rows exist only for files that were made durable: this is damage */
		log_err("store: message file path=%s: %s", path, strerror(open_err));
		return ERR_IO;
	}
	*fd_out = fd;
	if (size_out)
		*size_out = row.size;
	return 0;
}

