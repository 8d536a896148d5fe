/* sqs_activity.c: the per-account activity log in directory.db (tables
 * activity_clients and activity_removals, schema in sqs_dir.c): which clients used the
 * account, and what POP3 sessions removed.
 * Bounds: rows older than LIMIT_ACTIVITY_DAYS go, and at most LIMIT_ACTIVITY_ROWS per
 * account and table (the least recently seen go), pruned in the writing transaction.
 * Sessions write here on their loop thread, so a write is one short transaction that
 * is not flushed (synchronous=NORMAL: the next flushed directory commit carries it).
 * Client strings are sanitized here, whoever calls: printable, at most
 * LIMIT_ACTIVITY_STRING bytes. */
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define ACT_DAY_SECS 86400

/* in as kept: control characters and bytes that are not UTF-8 become '?', cut at a
 * character boundary to LIMIT_ACTIVITY_STRING bytes; NULL is "" (unknown). */
static void sanitize(const char *in, char out[LIMIT_ACTIVITY_STRING + 1])
{
	size_t o = 0;
	size_t n = in ? strnlen(in, LIMIT_ACTIVITY_STRING * 4) : 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = str_utf8_seq(in + i, n - i, &cp);
		bool ok = l > 0 && cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0);
		if (!ok)
			l = l ? l : 1;
		size_t w = ok ? l : 1;
		if (o + w > LIMIT_ACTIVITY_STRING)
			break;
		if (ok)
			memcpy(out + o, in + i, l);
		else
			out[o] = '?';
		o += w;
		i += l;
	}
	out[o] = '\0';
}

static bool protocol_ok(const char *p)
{
	size_t n = p ? strnlen(p, 33) : 0;
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
			return false;
	return true;
}

/* Step q (bound by the caller) to its end and reset it. */
static int run(struct sqs_env *e, sqlite3_stmt *q)
{
	int rc = sqs_dstep(e, q);
	int ext = sqlite3_extended_errcode(e->dir_db);
	sqs_dreset(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return ERR_NOTFOUND; /* no such account */
	return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
}

/* Drop the account's rows of one table older than the window, then all past the
 * newest LIMIT_ACTIVITY_ROWS. */
static int prune(struct sqs_env *e, enum sqs_dstmt old, enum sqs_dstmt many, int64_t id,
		 int64_t now, bool count)
{
	sqlite3_stmt *q = e->dq[old];
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, now - (int64_t)LIMIT_ACTIVITY_DAYS * ACT_DAY_SECS);
	int r = run(e, q);
	if (r == 0 && count) {
		q = e->dq[many];
		sqlite3_bind_int64(q, 1, id);
		sqlite3_bind_int64(q, 2, LIMIT_ACTIVITY_ROWS);
		r = run(e, q);
	}
	return r;
}

/* One write transaction at synchronous=NORMAL around body(); dir_mu held. */
struct act_write {
	int64_t id, now;
	const char *protocol, *client, *address;
	uint32_t count;
	uint64_t bytes;
	bool removal;
};

static int write_body(struct sqs_env *e, const struct act_write *w)
{
	sqlite3_stmt *q;
	bool added = true;
	if (!w->removal) {
		q = e->dq[D_ACT_TOUCH];
		sqlite3_bind_int64(q, 1, w->id);
		sqlite3_bind_text(q, 2, w->protocol, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, w->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, w->address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 5, w->now);
		int r = run(e, q);
		if (r < 0)
			return r;
		added = sqlite3_changes(e->dir_db) == 0;
		if (added) {
			q = e->dq[D_ACT_INSERT];
			sqlite3_bind_int64(q, 1, w->id);
			sqlite3_bind_text(q, 2, w->protocol, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, w->client, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 4, w->address, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 5, w->now);
			r = run(e, q);
			if (r < 0)
				return r;
		}
		/* only a new row can pass the count bound; the age bound moves with time */
		return prune(e, D_ACT_PRUNE_OLD, D_ACT_PRUNE_MANY, w->id, w->now, added);
	}
	q = e->dq[D_RM_INSERT];
	sqlite3_bind_int64(q, 1, w->id);
	sqlite3_bind_text(q, 2, w->protocol, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, w->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, w->address, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, w->count);
	sqlite3_bind_int64(q, 6, w->bytes > INT64_MAX ? INT64_MAX : (int64_t)w->bytes);
	sqlite3_bind_int64(q, 7, w->now);
	int r = run(e, q);
	return r < 0 ? r : prune(e, D_RM_PRUNE_OLD, D_RM_PRUNE_MANY, w->id, w->now, true);
}

static int act_write(struct sqs_env *e, struct act_write *w, const char *client,
		     const char *address)
{
	if (!protocol_ok(w->protocol))
		return ERR_INVAL;
	char cl[LIMIT_ACTIVITY_STRING + 1], ad[LIMIT_ACTIVITY_STRING + 1];
	sanitize(client, cl);
	sanitize(address, ad);
	w->client = cl;
	w->address = ad;
	pthread_mutex_lock(&e->dir_mu);
	int r = run(e, e->dq[D_SYNC_NORMAL]);
	if (r == 0) {
		r = run(e, e->dq[D_BEGIN]);
		if (r == 0) {
			r = write_body(e, w);
			if (r == 0)
				r = run(e, e->dq[D_COMMIT]);
			if (r < 0)
				(void)run(e, e->dq[D_ROLLBACK]); /* failing, SQLite has rolled back */
		}
		if (run(e, e->dq[D_SYNC_FULL]) < 0)
			log_err("store: directory.db stays at synchronous=NORMAL");
	}
	pthread_mutex_unlock(&e->dir_mu);
	return r;
}

int sqs_activity_seen(struct store_env *env, int64_t account_id, const char *protocol,
		      const char *client, const char *address, int64_t now)
{
	struct act_write w = {.id = account_id, .now = now, .protocol = protocol};
	return act_write((struct sqs_env *)env, &w, client, address);
}

int sqs_activity_removed(struct store_env *env, int64_t account_id, const char *protocol,
			 const char *client, const char *address, uint32_t count,
			 uint64_t bytes, int64_t now)
{
	struct act_write w = {.id = account_id, .now = now, .protocol = protocol,
			      .count = count, .bytes = bytes, .removal = true};
	return act_write((struct sqs_env *)env, &w, client, address);
}

/* A column's text copied into the arena; '' (unknown) is NULL. *bad on no memory. */
static const char *col_str(sqlite3_stmt *q, int col, struct arena *a, bool *bad)
{
	const char *s = (const char *)sqlite3_column_text(q, col);
	if (!s || !*s)
		return NULL;
	const char *c = arena_strdup(a, s);
	if (!c)
		*bad = true;
	return c;
}

int sqs_activity_list(struct store_env *env, int64_t account_id, struct arena *a,
		      struct store_activity **out, size_t *n_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	uint64_t qb, qm;
	int r = sqs_dir_quota(e, account_id, &qb, &qm); /* the account exists */
	if (r < 0)
		return r;
	/* both tables are bounded, so one allocation holds every row */
	size_t cap = 2 * (size_t)LIMIT_ACTIVITY_ROWS, n = 0;
	struct store_activity *v = arena_zalloc(a, cap * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	int64_t now = (int64_t)time(NULL);
	int rc;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ACT_LIST];
	sqlite3_bind_int64(q, 1, account_id);
	sqlite3_bind_int64(q, 2, now - (int64_t)LIMIT_ACTIVITY_DAYS * ACT_DAY_SECS);
	while ((rc = sqs_dstep(e, q)) == SQLITE_ROW && n < cap) {
		struct store_activity *x = &v[n];
		bool bad = false;
		x->kind = sqlite3_column_int(q, 0) ? STORE_ACT_REMOVED : STORE_ACT_CLIENT;
		x->protocol = col_str(q, 1, a, &bad);
		x->client = col_str(q, 2, a, &bad);
		x->address = col_str(q, 3, a, &bad);
		x->first_seen = sqlite3_column_int64(q, 4);
		x->last_seen = sqlite3_column_int64(q, 5);
		x->count = (uint32_t)sqlite3_column_int64(q, 6);
		x->bytes = (uint64_t)sqlite3_column_int64(q, 7);
		if (bad || !x->protocol) {
			r = ERR_NOMEM;
			break;
		}
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sqs_err(rc);
	sqs_dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (r < 0)
		return r;
	*out = n ? v : NULL;
	*n_out = n;
	return 0;
}
