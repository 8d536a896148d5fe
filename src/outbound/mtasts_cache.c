/* mtasts_cache.c: the MTA-STS policy cache (RFC 8461 5), one SQLite file
 * <data>/queue/mta-sts.db apart from queue.db (a policy is not part of any message's
 * envelope, and losing the file costs only a fetch). One connection per context, so per
 * thread; WAL and a busy timeout let the engine's workers and `kasten tls-policy` share
 * it. A row keeps the policy text as fetched and is parsed again when read: what the
 * cache hands out has passed the same parser as a fresh fetch. Bound: one row per
 * domain, a text of at most LIMIT_TLSPOL_POLICY bytes. */
#include "outbound/tlspol_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

struct mtasts_cache {
	sqlite3 *db;
	sqlite3_stmt *get, *put, *del;
};

/* Numbered migrations: user_version says how many have run. */
static const char *const cache_migrations[] = {
    "CREATE TABLE policy (domain TEXT PRIMARY KEY, id TEXT NOT NULL,"
    " text BLOB NOT NULL, fetched_at INTEGER NOT NULL, expires INTEGER NOT NULL)",
};

static int cache_migrate(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (v < 0)
		return ERR_IO;
	size_t n = sizeof(cache_migrations) / sizeof(cache_migrations[0]);
	for (size_t i = (size_t)v; i < n; i++) {
		char pragma[48];
		int k = snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu", i + 1);
		if (k < 0 || (size_t)k >= sizeof(pragma))
			return ERR_IO;
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return ERR_IO;
		/* another process may have run it while we waited for the lock */
		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return ERR_IO;
		}
		int now = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
		sqlite3_finalize(st);
		if (now > (int)i) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			continue;
		}
		if (sqlite3_exec(db, cache_migrations[i], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return ERR_IO;
		}
	}
	return 0;
}

/* Open and prepare: 0, or the SQLite error code (c->db kept for its message). */
static int cache_try_open(const char *path, struct mtasts_cache *c)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_busy_timeout(c->db, LIMIT_TLSPOL_CACHE_BUSY_MS);
	/* a lost write costs a fetch, never mail: NORMAL durability is enough */
	rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL,
	                  NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (cache_migrate(c->db) < 0)
		return sqlite3_errcode(c->db) != SQLITE_OK ? sqlite3_errcode(c->db) : SQLITE_ERROR;
	if (sqlite3_prepare_v2(c->db,
	                       "SELECT id, text, fetched_at, expires FROM policy WHERE domain = ?",
	                       -1, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db,
	                       "INSERT OR REPLACE INTO policy (domain, id, text, fetched_at, "
	                       "expires) VALUES (?, ?, ?, ?, ?)",
	                       -1, &c->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, "DELETE FROM policy WHERE domain = ?", -1, &c->del, NULL) !=
	        SQLITE_OK)
		return sqlite3_errcode(c->db);
	return 0;
}

static void cache_unlink(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[LIMIT_TLSPOL_PATH + 8];
	for (size_t i = 0; i < 3; i++) {
		int n = snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		if (n > 0 && (size_t)n < sizeof(p))
			(void)unlink(p); /* a missing -wal or -shm is fine */
	}
}

/* cache_try_open, again while another connection holds the file: the engine's workers
 * open it together at start, and two of them switching a new file to WAL at once get
 * SQLITE_BUSY at once, without the busy handler (each waits for the other's lock). */
static int cache_open_retry(const char *path, struct mtasts_cache **cp)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int waited_ms = 0;
	for (;;) {
		*cp = calloc(1, sizeof(**cp));
		if (!*cp)
			return SQLITE_NOMEM;
		int rc = cache_try_open(path, *cp);
		int primary = rc & 0xff;
		if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
		    waited_ms >= LIMIT_TLSPOL_CACHE_BUSY_MS)
			return rc;
		mtasts_cache_close(cp);
		(void)nanosleep(&pause, NULL); /* an early wake only retries sooner */
		waited_ms += 10;
	}
}

int mtasts_cache_open(const char *path, struct mtasts_cache **out)
{
	*out = NULL;
	struct mtasts_cache *c = NULL;
	int rc = cache_open_retry(path, &c);
	if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
		/* only a cache: a damaged file is replaced, at the price of fetching again */
		log_warn("mta-sts cache: damaged, starting afresh path=%s error=\"%s\"", path,
		         sqlite3_errmsg(c->db));
		mtasts_cache_close(&c);
		cache_unlink(path);
		rc = cache_open_retry(path, &c);
	}
	if (!c)
		return ERR_NOMEM;
	if (rc == 0) {
		*out = c;
		return 0;
	}
	log_err("mta-sts cache: cannot open path=%s error=\"%s\"", path,
	        c->db ? sqlite3_errmsg(c->db) : "out of memory");
	mtasts_cache_close(&c);
	return ERR_IO;
}

void mtasts_cache_close(struct mtasts_cache **cp)
{
	struct mtasts_cache *c = *cp;
	if (!c)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->del);
	sqlite3_close(c->db);
	free(c);
	*cp = NULL;
}

int mtasts_cache_get(struct mtasts_cache *c, const char *domain, struct tlspol_domain *out)
{
	sqlite3_stmt *st = c->get;
	int rc = 0;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		const void *text = sqlite3_column_blob(st, 1);
		int tl = sqlite3_column_bytes(st, 1);
		size_t idl = id ? strlen((const char *)id) : 0;
		if (id && idl <= LIMIT_TLSPOL_ID && tl >= 0 &&
		    tlspol_parse_policy(text ? text : "", (size_t)tl, &out->sts) == 0) {
			memcpy(out->id, id, idl + 1);
			out->fetched_at = sqlite3_column_int64(st, 2);
			out->expires = sqlite3_column_int64(st, 3);
			rc = 1;
		}
	} else if (s != SQLITE_DONE) {
		log_warn("mta-sts cache: read failed domain=%s error=\"%s\"", domain,
		         sqlite3_errmsg(c->db));
		rc = ERR_IO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int mtasts_cache_put(struct mtasts_cache *c, const char *domain, const uint8_t *text, size_t len,
                     const char *id, int64_t fetched_at, int64_t expires)
{
	sqlite3_stmt *st = c->put;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, len ? (const void *)text : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, fetched_at);
	sqlite3_bind_int64(st, 5, expires);
	int s = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (s != SQLITE_DONE) {
		log_warn("mta-sts cache: write failed domain=%s error=\"%s\"", domain,
		         sqlite3_errmsg(c->db));
		return ERR_IO;
	}
	return 0;
}

int mtasts_cache_delete(struct mtasts_cache *c, const char *domain)
{
	sqlite3_stmt *st = c->del;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return s == SQLITE_DONE ? 0 : ERR_IO;
}
