/* client_state.c: the client's SQLite journal (client_state.h): opening it durable
 * (WAL, synchronous=FULL), its numbered schema migrations, and the rows of kasten fetch.
 * Owns one sqlite3 connection and its prepared statements; every string read back is
 * bounded by its field in struct client_fetch_row (a longer one is an error). */
#include "client/client_state.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/err.h"
#include "core/banned.h"

enum {
	ST_EACH,
	ST_PUT,
	ST_SET,
	ST_DELETE,
	ST_COUNT,
};

struct client_state {
	int lock_fd; /* flock(2) on the database file, held until after sqlite3_close */
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	char err[LIMIT_CLIENT_ERROR];
};

/* Schema migrations, in order; user_version is the number applied. */
static const char *const state_migrations[] = {
	"CREATE TABLE fetch_msg ("
	" user TEXT NOT NULL, proto TEXT NOT NULL, uidvalidity INTEGER NOT NULL,"
	" uid TEXT NOT NULL, base TEXT NOT NULL, state INTEGER NOT NULL,"
	" first_seen INTEGER NOT NULL, msgid TEXT NOT NULL DEFAULT '',"
	" size INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (user, proto, uidvalidity, uid)) WITHOUT ROWID",
};

static const char *const state_sql[ST_COUNT] = {
	[ST_EACH] = "SELECT uid, base, state, first_seen, uidvalidity, msgid, size"
		    " FROM fetch_msg WHERE user = ?1 AND proto = ?2",
	[ST_PUT] = "INSERT OR REPLACE INTO fetch_msg (user, proto, uidvalidity, uid, base,"
		   " state, first_seen, msgid, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_SET] = "UPDATE fetch_msg SET state = ?5"
		   " WHERE user = ?1 AND proto = ?2 AND uidvalidity = ?3 AND uid = ?4",
	[ST_DELETE] = "DELETE FROM fetch_msg"
		      " WHERE user = ?1 AND proto = ?2 AND uidvalidity = ?3 AND uid = ?4",
};

static int state_fail(struct client_state *st, const char *what)
{
	/* what may be a whole statement: its start says enough */
	(void)snprintf(st->err, sizeof(st->err), "state database: %.120s: %s", what,
		       st->db ? sqlite3_errmsg(st->db) : "cannot open");
	int code = st->db ? sqlite3_errcode(st->db) : SQLITE_CANTOPEN;
	return code == SQLITE_BUSY || code == SQLITE_LOCKED ? ERR_LOCKED : ERR_IO;
}

static int state_exec(struct client_state *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : state_fail(st, sql);
}

static int state_migrate(struct client_state *st)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return state_fail(st, "user_version");
	int have = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	int want = (int)(sizeof(state_migrations) / sizeof(state_migrations[0]));
	if (have < 0 || have > want) {
		(void)snprintf(st->err, sizeof(st->err),
			       "state database: schema %d is newer than this kasten (%d)", have,
			       want);
		return ERR_PERM;
	}
	if (have == want)
		return 0;
	int rc = state_exec(st, "BEGIN IMMEDIATE");
	for (int v = have; v < want && rc == 0; v++)
		rc = state_exec(st, state_migrations[v]);
	char pragma[48];
	(void)snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", want);
	if (rc == 0)
		rc = state_exec(st, pragma);
	if (rc == 0)
		rc = state_exec(st, "COMMIT");
	if (rc < 0)
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int state_setup(struct client_state *st, const char *path)
{
	/* one run per journal: two fetches into one Maildir would both see a message as
	 * new and store it twice. flock is apart from SQLite's fcntl locks, and this fd
	 * stays open as long as SQLite's (closing it early would drop theirs). */
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lock_fd < 0) {
		(void)snprintf(st->err, sizeof(st->err), "cannot open %.300s: %s", path,
			       strerror(errno));
		return ERR_IO;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		(void)snprintf(st->err, sizeof(st->err), "%.400s is in use by another kasten run",
			       path);
		return ERR_LOCKED;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		return state_fail(st, path);
	/* another kasten on the same Maildir holds the lock briefly per message */
	sqlite3_busy_timeout(st->db, LIMIT_CLIENT_TIMEOUT * 1000);
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK)
		return state_fail(st, "journal_mode");
	bool wal = sqlite3_step(s) == SQLITE_ROW &&
		   !strcmp((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	if (!wal)
		return state_fail(st, "journal_mode=WAL refused");
	/* FULL: a commit is on disk when it returns, which is what lets fetch tell the
	 * server to delete right after it */
	int rc = state_exec(st, "PRAGMA synchronous=FULL");
	if (rc == 0)
		rc = state_migrate(st);
	for (int k = 0; k < ST_COUNT && rc == 0; k++)
		if (sqlite3_prepare_v2(st->db, state_sql[k], -1, &st->stmt[k], NULL) != SQLITE_OK)
			rc = state_fail(st, "prepare");
	return rc;
}

int client_state_open(const char *dir, struct client_state **st_out, char *err_out,
		      size_t err_cap)
{
	*st_out = NULL;
	struct client_state *st = calloc(1, sizeof(*st));
	char path[LIMIT_CLIENT_PATH + 1];
	if (st)
		st->lock_fd = -1;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, CLIENT_STATE_FILE);
	if (!st || n < 0 || (size_t)n >= sizeof(path)) {
		(void)snprintf(err_out, err_cap, "state database: %s",
			       st ? "path too long" : "out of memory");
		free(st);
		return st ? ERR_TOO_LONG : ERR_NOMEM;
	}
	int rc = state_setup(st, path);
	if (rc < 0) {
		(void)snprintf(err_out, err_cap, "%s", st->err);
		client_state_close(&st);
		return rc;
	}
	*st_out = st;
	return 0;
}

void client_state_close(struct client_state **stp)
{
	struct client_state *st = *stp;
	if (!st)
		return;
	for (int k = 0; k < ST_COUNT; k++)
		sqlite3_finalize(st->stmt[k]);
	sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st);
	*stp = NULL;
}

struct sqlite3 *client_state_db(struct client_state *st)
{
	return st->db;
}

const char *client_state_error(const struct client_state *st)
{
	return st->err;
}

int client_state_begin(struct client_state *st)
{
	return state_exec(st, "BEGIN IMMEDIATE");
}

int client_state_commit(struct client_state *st)
{
	return state_exec(st, "COMMIT");
}

void client_state_rollback(struct client_state *st)
{
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* nothing to roll back is fine */
}

static void state_bind_key(sqlite3_stmt *s, const struct client_fetch_key *key, const char *uid)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	sqlite3_bind_text(s, 1, key->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, key->proto, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, key->uidvalidity);
	sqlite3_bind_text(s, 4, uid, -1, SQLITE_STATIC);
}

/* Run a statement that returns no rows. */
static int state_done(struct client_state *st, sqlite3_stmt *s, const char *what)
{
	int r = sqlite3_step(s);
	sqlite3_reset(s);
	return r == SQLITE_DONE ? 0 : state_fail(st, what);
}

/* Column col as text into dst[cap]; a longer value is a damaged row. */
static int state_text(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	if (n >= cap)
		return ERR_TOO_LONG;
	if (n)
		memcpy(dst, t, n);
	dst[n] = '\0';
	return 0;
}

int client_state_fetch_each(struct client_state *st, const char *user, const char *proto,
			    client_fetch_row_fn cb, void *arg)
{
	sqlite3_stmt *s = st->stmt[ST_EACH];
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, proto, -1, SQLITE_STATIC);
	int r, rc = 0;
	while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
		struct client_fetch_row row;
		if (state_text(s, 0, row.uid, sizeof(row.uid)) < 0 ||
		    state_text(s, 1, row.base, sizeof(row.base)) < 0 ||
		    state_text(s, 5, row.msgid, sizeof(row.msgid)) < 0) {
			(void)snprintf(st->err, sizeof(st->err),
				       "state database: a damaged row (a value too long)");
			rc = ERR_BAD_SYNTAX;
			break;
		}
		row.state = sqlite3_column_int(s, 2) == CLIENT_FETCH_DONE ? CLIENT_FETCH_DONE
									  : CLIENT_FETCH_PENDING;
		row.first_seen = sqlite3_column_int64(s, 3);
		row.uidvalidity = (uint32_t)sqlite3_column_int64(s, 4);
		row.size = (uint64_t)sqlite3_column_int64(s, 6);
		rc = cb(arg, &row);
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = state_fail(st, "reading the fetch rows");
	sqlite3_reset(s);
	return rc;
}

int client_state_fetch_put(struct client_state *st, const struct client_fetch_key *key,
			   const struct client_fetch_row *row)
{
	sqlite3_stmt *s = st->stmt[ST_PUT];
	state_bind_key(s, key, row->uid);
	sqlite3_bind_text(s, 5, row->base, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, (int)row->state);
	sqlite3_bind_int64(s, 7, row->first_seen);
	sqlite3_bind_text(s, 8, row->msgid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)row->size);
	return state_done(st, s, "writing a fetch row");
}

int client_state_fetch_set(struct client_state *st, const struct client_fetch_key *key,
			   const char *uid, enum client_fetch_state state)
{
	sqlite3_stmt *s = st->stmt[ST_SET];
	state_bind_key(s, key, uid);
	sqlite3_bind_int(s, 5, (int)state);
	int rc = state_done(st, s, "updating a fetch row");
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		return ERR_NOTFOUND;
	return rc;
}

int client_state_fetch_delete(struct client_state *st, const struct client_fetch_key *key,
			      const char *uid)
{
	sqlite3_stmt *s = st->stmt[ST_DELETE];
	state_bind_key(s, key, uid);
	return state_done(st, s, "removing a fetch row");
}
