/* client_migrate_state.c: the SQLite journal of kasten migrate (client_migrate_state.h).
 * Owns the database handle; every statement is prepared, none is built from strings.
 * Bounds: LIMIT_CLIENT_ERROR for the error line, PATH_MAX for the file's path. */
#include "client/client_migrate_state.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

#define MIGRATE_STATE_SCHEMA_VERSION 1

struct client_migrate_state {
	sqlite3 *db;
	char error[LIMIT_CLIENT_ERROR];
};

/* Migration 1: the first schema. */
static const char migrate_state_schema_1[] =
	"CREATE TABLE migrate_msg(folder TEXT NOT NULL, key TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK(state IN ('pending', 'done')),"
	" sha256 TEXT NOT NULL, msgid TEXT NOT NULL, size INTEGER NOT NULL,"
	" uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, PRIMARY KEY(folder, key));"
	"PRAGMA user_version=1;";

/* mkdir -p with 0700 for each level it makes. */
static int mkdirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		int r = mkdir(path, 0700);
		*p = c;
		if (r < 0 && errno != EEXIST)
			return ERR_IO;
		if (!c)
			return 0;
	}
}

int client_migrate_state_path(const char *dir, const char *account, const char *source,
			      char *path_out, size_t cap)
{
	char base[PATH_MAX], abs[PATH_MAX];
	int n;
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (dir)
		n = snprintf(base, sizeof(base), "%s", dir);
	else if (xdg && xdg[0] == '/')
		n = snprintf(base, sizeof(base), "%s/kasten", xdg);
	else if (home && *home)
		n = snprintf(base, sizeof(base), "%s/.local/state/kasten", home);
	else
		return ERR_NOTFOUND;
	if (n < 0 || (size_t)n >= sizeof(base) || mkdirs(base) < 0)
		return ERR_IO;
	if (!realpath(source, abs))
		return ERR_NOTFOUND;
	/* the source's path as a short hash: the same tree under another path is another
	 * source, as it should be (its messages may differ) */
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	if (!EVP_Digest(abs, strlen(abs), h, &hl, EVP_sha256(), NULL))
		return ERR_NOMEM;
	char acct[128];
	size_t k = 0;
	for (const char *a = account; *a && k + 1 < sizeof(acct); a++)
		acct[k++] = (strchr("@.-_", *a) || (*a >= '0' && *a <= '9') ||
			     ((*a | 0x20) >= 'a' && (*a | 0x20) <= 'z'))
				    ? *a
				    : '_';
	acct[k] = '\0';
	n = snprintf(path_out, cap, "%s/migrate-%s-%02x%02x%02x%02x%02x%02x.db", base, acct, h[0],
		     h[1], h[2], h[3], h[4], h[5]);
	return n < 0 || (size_t)n >= cap ? ERR_TOO_LONG : 0;
}

static int state_fail(struct client_migrate_state *st, const char *what)
{
	int n = snprintf(st->error, sizeof(st->error), "migrate state: %s: %s", what,
			 sqlite3_errmsg(st->db));
	if (n < 0)
		st->error[0] = '\0';
	return ERR_IO;
}

const char *client_migrate_state_error(const struct client_migrate_state *st)
{
	return st->error;
}

static int state_exec(struct client_migrate_state *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return state_fail(st, "exec");
	return 0;
}

static int state_migrate(struct client_migrate_state *st)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return state_fail(st, "prepare");
	int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (version < 0)
		return state_fail(st, "read version");
	if (version > MIGRATE_STATE_SCHEMA_VERSION) {
		snprintf(st->error, sizeof(st->error),
			 "migrate state: written by a newer kasten (schema %d)", version);
		return ERR_PERM;
	}
	if (version == MIGRATE_STATE_SCHEMA_VERSION)
		return 0;
	int r = state_exec(st, "BEGIN IMMEDIATE");
	if (!r)
		r = state_exec(st, migrate_state_schema_1);
	if (!r)
		return state_exec(st, "COMMIT");
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* r says why */
	return r;
}

int client_migrate_state_open(const char *path, struct client_migrate_state **st_out,
			      char *err_out, size_t err_cap)
{
	struct client_migrate_state *st = calloc(1, sizeof(*st));
	*st_out = NULL;
	if (!st) {
		snprintf(err_out, err_cap, "out of memory");
		return ERR_NOMEM;
	}
	int r = 0;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		r = state_fail(st, path);
	} else {
		sqlite3_busy_timeout(st->db, 10000);
		/* a row is on disk before the server is told anything that depends on it */
		r = state_exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
		if (!r)
			r = state_migrate(st);
	}
	if (r < 0) {
		snprintf(err_out, err_cap, "%s", st->error);
		client_migrate_state_close(&st);
		return r;
	}
	*st_out = st;
	return 0;
}

void client_migrate_state_close(struct client_migrate_state **stp)
{
	struct client_migrate_state *st = *stp;
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
	*stp = NULL;
}

int client_migrate_state_begin(struct client_migrate_state *st)
{
	return state_exec(st, "BEGIN IMMEDIATE");
}

int client_migrate_state_commit(struct client_migrate_state *st)
{
	return state_exec(st, "COMMIT");
}

int client_migrate_state_lookup(struct client_migrate_state *st, const char *folder,
				const char *key)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT state = 'done' FROM migrate_msg WHERE folder = ? AND key = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return state_fail(st, "prepare");
	int r;
	if (sqlite3_bind_text(s, 1, folder, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		r = state_fail(st, "bind");
	} else {
		int rc = sqlite3_step(s);
		r = rc == SQLITE_DONE ? CLIENT_MIGRATE_ROW_NONE
		    : rc != SQLITE_ROW	 ? state_fail(st, "read")
		    : sqlite3_column_int(s, 0) ? CLIENT_MIGRATE_ROW_DONE
						 : CLIENT_MIGRATE_ROW_PENDING;
	}
	sqlite3_finalize(s);
	return r;
}

static int put(struct client_migrate_state *st, const char *state, const char *folder,
	       const char *key, const char *sha256, const char *msgid, uint64_t size,
	       uint32_t uidvalidity, uint32_t uid)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO migrate_msg(folder, key, state, sha256, "
			       "msgid, size, uidvalidity, uid) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
			       -1, &s, NULL) != SQLITE_OK)
		return state_fail(st, "prepare");
	int r = 0;
	if (sqlite3_bind_text(s, 1, folder, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, state, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 4, sha256, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 5, msgid, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, (sqlite3_int64)size) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 7, uidvalidity) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 8, uid) != SQLITE_OK)
		r = state_fail(st, "bind");
	else if (sqlite3_step(s) != SQLITE_DONE)
		r = state_fail(st, "write");
	sqlite3_finalize(s);
	return r;
}

int client_migrate_state_pending(struct client_migrate_state *st, const char *folder,
				 const char *key, const char *sha256, const char *msgid,
				 uint64_t size)
{
	return put(st, "pending", folder, key, sha256, msgid, size, 0, 0);
}

int client_migrate_state_done(struct client_migrate_state *st, const char *folder,
			      const char *key, const char *sha256, const char *msgid,
			      uint64_t size, uint32_t uidvalidity, uint32_t uid)
{
	return put(st, "done", folder, key, sha256, msgid, size, uidvalidity, uid);
}
