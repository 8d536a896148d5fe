/* sqs_db.c: index.db handles: opening (the schema is sqs_schema.c's), the per-handle
 * prepared-statement cache (the SQL is sqs_sql.c's), transactions, small statement
 * helpers, and the env's bounded LRU pool.
 * Owns struct sqs_db. The pool holds at most SQS_POOL_MAX idle handles; a handle is
 * in the pool only while no thread uses it, so no handle is ever shared between threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

int sqs_open_db(const char *path, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, SQS_BUSY_MS);
		rc = sqlite3_exec(db,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
				  "PRAGMA foreign_keys=ON;",
				  NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		log_err("store: open db=%s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
		sqlite3_close(db);
		return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
	}
	*out = db;
	return 0;
}

static int user_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *q;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	if (rc != SQLITE_ROW)
		log_err("store: db=%s: user_version: %s", sqlite3_db_filename(db, "main"),
			sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : (sqs_err(rc) ? sqs_err(rc) : ERR_IO);
}

/* A file written by a newer program: its rows may mean what this one cannot know. */
static int schema_newer(sqlite3 *db, int v, int n)
{
	log_err("store: db=%s schema version %d is newer than this program (%d)",
		sqlite3_db_filename(db, "main"), v, n);
	return ERR_PERM;
}

int sqs_migrate(sqlite3 *db, const char *const *steps, int n,
		int (*fill)(void *arg, sqlite3 *db, int old_version), void *arg)
{
	int v, r = user_version(db, &v);
	if (r < 0)
		return r;
	if (v > n)
		return schema_newer(db, v, n);
	if (v == n)
		return 0; /* the common case, without taking the write lock */
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_err("store: db=%s migrate: %s", sqlite3_db_filename(db, "main"),
			sqlite3_errmsg(db));
		return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
	}
	r = user_version(db, &v); /* again: another thread may have migrated meanwhile */
	int old = v;
	if (r == 0 && v > n)
		r = schema_newer(db, v, n);
	for (; r == 0 && v < n; v++) {
		rc = sqlite3_exec(db, steps[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			log_err("store: migration %d: %s", v + 1, sqlite3_errmsg(db));
			r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
		}
	}
	if (r == 0 && fill && old < n)
		r = fill(arg, db, old);
	rc = sqlite3_exec(db, r == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	if (r == 0 && rc != SQLITE_OK) {
		log_err("store: migrate commit: %s", sqlite3_errmsg(db));
		r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
	}
	return r;
}

sqlite3_stmt *sqs_q(struct sqs_db *h, enum sqs_stmt s)
{
	if (!h->q[s]) {
		if (sqlite3_prepare_v3(h->db, sqs_index_sql[s], -1, SQLITE_PREPARE_PERSISTENT,
				       &h->q[s], NULL) != SQLITE_OK) {
			log_err("store: prepare stmt=%d: %s", (int)s, sqlite3_errmsg(h->db));
			return NULL;
		}
		return h->q[s];
	}
	sqlite3_reset(h->q[s]);
	sqlite3_clear_bindings(h->q[s]);
	return h->q[s];
}

int sqs_step(struct sqs_db *h, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT)
		log_err("store: account=%lld sql=\"%s\": %s", (long long)h->account_id,
			sqlite3_sql(q), sqlite3_errmsg(h->db));
	return rc;
}

int sqs_exec(struct sqs_db *h, sqlite3_stmt *q)
{
	if (!q)
		return ERR_IO;
	int rc = sqs_step(h, q);
	sqlite3_reset(q);
	return sqs_err(rc);
}

int sqs_int(struct sqs_db *h, sqlite3_stmt *q, int64_t dflt, int64_t *out)
{
	if (!q)
		return ERR_IO;
	int rc = sqs_step(h, q);
	*out = rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL
		       ? sqlite3_column_int64(q, 0)
		       : dflt;
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : sqs_done(rc);
}

int sqs_done(int rc)
{
	if (rc == SQLITE_DONE)
		return 0;
	return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
}

int sqs_uidv_add(struct sqs_uidv *u, uint32_t uid)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		uint32_t *v = realloc(u->v, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		u->v = v;
		u->cap = cap;
	}
	u->v[u->n++] = uid;
	return 0;
}

int sqs_uidv_give(struct sqs_uidv *u, struct arena *a, uint32_t **out, size_t *n_out)
{
	int r = 0;
	*out = NULL;
	if (u->n) {
		*out = arena_alloc(a, u->n * sizeof(*u->v));
		if (*out)
			memcpy(*out, u->v, u->n * sizeof(*u->v));
		else
			r = ERR_NOMEM;
	}
	*n_out = r == 0 ? u->n : 0;
	free(u->v);
	memset(u, 0, sizeof(*u));
	return r;
}

int sqs_begin(struct sqs_db *h, bool write)
{
	return sqs_exec(h, sqs_q(h, write ? Q_BEGIN : Q_BEGIN_READ));
}

int sqs_commit(struct sqs_db *h)
{
	int r = sqs_exec(h, sqs_q(h, Q_COMMIT));
	if (r < 0)
		sqs_rollback(h);
	return r;
}

void sqs_rollback(struct sqs_db *h)
{
	if (!sqlite3_get_autocommit(h->db))
		(void)sqs_exec(h, sqs_q(h, Q_ROLLBACK)); /* a failure is logged; nothing else */
}

int sqs_sync_mode(struct sqs_db *h, bool full)
{
	/* synchronous is applied when the pragma is prepared, so it is run, not cached */
	int rc = sqlite3_exec(h->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
			      NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	log_err("store: account=%lld synchronous: %s", (long long)h->account_id,
		sqlite3_errmsg(h->db));
	return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
}

int sqs_usage_get(struct sqs_db *h, uint64_t *bytes_out, uint64_t *msgs_out)
{
	sqlite3_stmt *q = sqs_q(h, Q_USAGE_GET);
	if (!q)
		return ERR_IO;
	int rc = sqs_step(h, q);
	if (rc == SQLITE_ROW) {
		if (bytes_out)
			*bytes_out = (uint64_t)sqlite3_column_int64(q, 0);
		if (msgs_out)
			*msgs_out = (uint64_t)sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : (sqs_err(rc) ? sqs_err(rc) : ERR_IO);
}

/* The meta key that remembers the last UIDVALIDITY handed out in this account. */
static const char META_UIDVALIDITY[] = "uidvalidity_last";

int sqs_new_uidvalidity(struct sqs_db *h, uint32_t *out)
{
	sqlite3_stmt *q = sqs_q(h, Q_META_GET);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, META_UIDVALIDITY, -1, SQLITE_STATIC);
	int64_t last = 0;
	int rc = sqs_step(h, q);
	if (rc == SQLITE_ROW)
		last = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqs_err(rc);
	/* time-based so a recreated account does not repeat old values; strictly rising */
	int64_t v = (int64_t)(uint32_t)time(NULL);
	if (v <= last)
		v = last + 1;
	if (v > UINT32_MAX)
		return ERR_FULL;
	q = sqs_q(h, Q_META_SET);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, META_UIDVALIDITY, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, v);
	int r = sqs_exec(h, q);
	if (r == 0)
		*out = (uint32_t)v;
	return r;
}

void sqs_db_free(struct sqs_db *h)
{
	if (!h)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(h->q[i]);
	if (h->db && sqlite3_close(h->db) != SQLITE_OK)
		log_err("store: close index account=%lld: %s", (long long)h->account_id,
			sqlite3_errmsg(h->db));
	free(h);
}

static int db_open(struct sqs_env *e, int64_t id, struct sqs_db **out)
{
	char path[4096];
	int r = sqs_path(e, path, sizeof(path), id, NULL);
	if (r < 0)
		return r;
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_err("store: mkdir path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	r = sqs_path(e, path, sizeof(path), id, "msg");
	if (r == 0 && mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_err("store: mkdir path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	/* an account moved onto a file system of its own (a mount below accounts/) */
	struct stat sb;
	bool other_fs = r == 0 && stat(path, &sb) == 0 && sb.st_dev != e->data_dev;
	if (r == 0)
		r = sqs_path(e, path, sizeof(path), id, "index.db");
	if (r < 0)
		return r;
	struct sqs_db *h = calloc(1, sizeof(*h));
	if (!h)
		return ERR_NOMEM;
	h->account_id = id;
	h->other_fs = other_fs;
	r = sqs_open_db(path, &h->db);
	if (r == 0)
		r = sqs_index_migrate(h);
	if (r < 0) {
		sqs_db_free(h);
		return r;
	}
	*out = h;
	return 0;
}

static void pool_unlink(struct sqs_env *e, struct sqs_db *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		e->pool_head = h->next;
	if (h->next)
		h->next->prev = h->prev;
	else
		e->pool_tail = h->prev;
	h->prev = h->next = NULL;
	e->pool_n--;
}

int sqs_db_take(struct sqs_env *e, int64_t account_id, struct sqs_db **out)
{
	pthread_mutex_lock(&e->pool_mu);
	uint64_t gen = e->del_gen;
	struct sqs_db *h = e->pool_head;
	while (h && h->account_id != account_id)
		h = h->next;
	if (h)
		pool_unlink(e, h);
	pthread_mutex_unlock(&e->pool_mu);
	if (h) {
		*out = h;
		return 0;
	}
	int r = db_open(e, account_id, &h);
	if (r < 0)
		return r;
	h->gen = gen;
	*out = h;
	return 0;
}

void sqs_db_give(struct sqs_env *e, struct sqs_db *h)
{
	if (!h)
		return;
	sqs_rollback(h); /* never pool a handle inside a transaction */
	pthread_mutex_lock(&e->pool_mu);
	uint64_t gen = e->del_gen;
	pthread_mutex_unlock(&e->pool_mu);
	if (h->gen != gen) {
		/* some account was deleted since this handle was opened: keep it only if
		 * its own account still exists */
		uint64_t qb, qm;
		if (sqs_dir_quota(e, h->account_id, &qb, &qm) < 0) {
			sqs_db_free(h);
			return;
		}
		h->gen = gen;
	}
	struct sqs_db *evict = NULL;
	pthread_mutex_lock(&e->pool_mu);
	if (h->gen != e->del_gen) {
		evict = h;
	} else {
		h->prev = NULL;
		h->next = e->pool_head;
		if (e->pool_head)
			e->pool_head->prev = h;
		else
			e->pool_tail = h;
		e->pool_head = h;
		if (++e->pool_n > SQS_POOL_MAX) {
			evict = e->pool_tail;
			pool_unlink(e, evict);
		}
	}
	pthread_mutex_unlock(&e->pool_mu);
	sqs_db_free(evict);
}

void sqs_pool_drop(struct sqs_env *e, int64_t account_id, bool bump)
{
	struct sqs_db *gone = NULL;
	pthread_mutex_lock(&e->pool_mu);
	if (bump)
		e->del_gen++;
	for (struct sqs_db *h = e->pool_head, *next; h; h = next) {
		next = h->next;
		if (account_id < 0 || h->account_id == account_id) {
			pool_unlink(e, h);
			h->next = gone;
			gone = h;
		}
	}
	pthread_mutex_unlock(&e->pool_mu);
	while (gone) {
		struct sqs_db *next = gone->next;
		sqs_db_free(gone);
		gone = next;
	}
}
