/* client_sync_state.c: the SQLite journal of kasten sync (client_sync_state.h). Owns
 * the database handle and its prepared statements; strings it returns come from the
 * caller's arena. Every statement is prepared, none is built from strings. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "client/client_sync_state.h"
#include "core/err.h"
#include "core/limits.h"

#define SYNC_STATE_SCHEMA_VERSION 3

struct client_sync_state {
	sqlite3 *db;
	int lock_fd; /* flock(2) on the database file: one kasten sync per tree */
	char error[LIMIT_CLIENT_ERROR];
};

/* Migration 1: the first schema. */
static const char sync_state_schema_1[] =
	"CREATE TABLE sync_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE sync_folder(name TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL, highestmodseq INTEGER NOT NULL,"
	" last_full INTEGER NOT NULL);"
	"CREATE TABLE sync_msg(id INTEGER PRIMARY KEY, folder TEXT NOT NULL,"
	" uid INTEGER NOT NULL, base TEXT NOT NULL, flags INTEGER NOT NULL,"
	" keywords TEXT NOT NULL, msgid TEXT NOT NULL, sha256 TEXT NOT NULL,"
	" size INTEGER NOT NULL, deleting INTEGER NOT NULL, fetching INTEGER NOT NULL,"
	" moving_to TEXT NOT NULL);"
	"CREATE INDEX sync_msg_folder ON sync_msg(folder, uid);"
	"PRAGMA user_version=1;";

/* Migration 2: headers first (--headers-first): a row whose file holds the header only,
 * and the base name of the whole message while it is being put in its place. */
static const char sync_state_schema_2[] =
	"ALTER TABLE sync_msg ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_msg ADD COLUMN body_base TEXT NOT NULL DEFAULT '';"
	"PRAGMA user_version=2;";

/* Migration 3: what a pass over an unchanged tree needs to do next to nothing
 * (client_sync_state.h): MESSAGES beside UIDNEXT and HIGHESTMODSEQ (an expunge need not
 * move either without QRESYNC), the rows' generation kept by triggers, the local record. */
static const char sync_state_schema_3[] =
	"ALTER TABLE sync_folder ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN rows_gen INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN local_new_ns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN local_cur_ns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN local_new_ino INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN local_cur_ino INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN local_at_ns INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE sync_folder ADD COLUMN local_gen INTEGER NOT NULL DEFAULT 0;"
	"CREATE TRIGGER sync_msg_gen_insert AFTER INSERT ON sync_msg BEGIN"
	" UPDATE sync_folder SET rows_gen=rows_gen+1 WHERE name=NEW.folder; END;"
	"CREATE TRIGGER sync_msg_gen_delete AFTER DELETE ON sync_msg BEGIN"
	" UPDATE sync_folder SET rows_gen=rows_gen+1 WHERE name=OLD.folder; END;"
	"CREATE TRIGGER sync_msg_gen_update AFTER UPDATE ON sync_msg BEGIN"
	" UPDATE sync_folder SET rows_gen=rows_gen+1 WHERE name IN (OLD.folder, NEW.folder);"
	" END;"
	"PRAGMA user_version=3;";

static int sync_state_fail(struct client_sync_state *st, const char *what)
{
	int n = snprintf(st->error, sizeof(st->error), "sync state: %s: %s", what,
			 sqlite3_errmsg(st->db));
	if (n < 0)
		st->error[0] = '\0';
	return ERR_IO;
}

const char *client_sync_state_error(const struct client_sync_state *st)
{
	return st->error;
}

static int sync_state_exec(struct client_sync_state *st, const char *sql)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sync_state_fail(st, "exec");
	return 0;
}

/* Prepare sql and bind its ?s from a format: 'i' int64, 't' text. */
static sqlite3_stmt *sync_state_prep(struct client_sync_state *st, const char *sql,
				     const char *fmt, ...)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		(void)sync_state_fail(st, "prepare");
		return NULL;
	}
	va_list ap;
	va_start(ap, fmt);
	int rc = SQLITE_OK;
	for (int i = 0; fmt[i] && rc == SQLITE_OK; i++) {
		if (fmt[i] == 'i')
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
		else
			rc = sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1,
					       SQLITE_TRANSIENT);
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		(void)sync_state_fail(st, "bind");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/* Run a statement that returns no rows, then finalize it. */
static int sync_state_done(struct client_sync_state *st, sqlite3_stmt *s)
{
	if (!s)
		return ERR_IO;
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sync_state_fail(st, "write");
}

/* existing: migrate nothing (ERR_NOTFOUND for a schema not current: nothing may be
 * written before the login, client_sync_state_open_existing). */
static int sync_state_migrate(struct client_sync_state *st, bool existing)
{
	sqlite3_stmt *s = sync_state_prep(st, "PRAGMA user_version", "");
	if (!s)
		return ERR_IO;
	int version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (version < 0)
		return sync_state_fail(st, "read version");
	if (version > SYNC_STATE_SCHEMA_VERSION) {
		(void)snprintf(st->error, sizeof(st->error), /* fits: a short line */
			       "sync state: written by a newer kasten (schema %d)", version);
		return ERR_PERM;
	}
	if (version == SYNC_STATE_SCHEMA_VERSION)
		return 0;
	if (existing)
		return ERR_NOTFOUND;
	int r = sync_state_exec(st, "BEGIN IMMEDIATE");
	if (!r && version < 1)
		r = sync_state_exec(st, sync_state_schema_1);
	if (!r && version < 2)
		r = sync_state_exec(st, sync_state_schema_2);
	if (!r && version < 3)
		r = sync_state_exec(st, sync_state_schema_3);
	if (!r)
		return sync_state_exec(st, "COMMIT");
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* r says why */
	return r;
}

/* The tree belongs to the account that first synced it (existing: one must be there). */
static int sync_state_owner(struct client_sync_state *st, const char *user, bool existing)
{
	int r = existing ? 0 : sync_state_done(st, sync_state_prep(st,
		"INSERT OR IGNORE INTO sync_meta(key, value) VALUES('user', ?)", "t", user));
	if (r)
		return r;
	sqlite3_stmt *s = sync_state_prep(st, "SELECT value FROM sync_meta WHERE key='user'", "");
	if (!s)
		return ERR_IO;
	r = 0;
	if (sqlite3_step(s) != SQLITE_ROW) {
		r = existing ? ERR_NOTFOUND : sync_state_fail(st, "read owner");
	} else if (strcmp((const char *)sqlite3_column_text(s, 0), user) != 0) {
		int n = snprintf(st->error, sizeof(st->error),
				 "this Maildir is synced with the account %.200s, not %.200s",
				 (const char *)sqlite3_column_text(s, 0), user);
		(void)n; /* truncation is fine for a message */
		r = ERR_PERM;
	}
	sqlite3_finalize(s);
	return r;
}

static int sync_state_open(const char *dir, const char *user, bool existing,
			   struct client_sync_state **st_out, char *err_out, size_t err_cap)
{
	struct client_sync_state *st = calloc(1, sizeof(*st));
	char path[PATH_MAX];
	if (!st)
		return ERR_NOMEM;
	st->lock_fd = -1;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, CLIENT_SYNC_STATE_FILE);
	int r = 0;
	if (n < 0 || (size_t)n >= sizeof(path)) {
		(void)snprintf(st->error, sizeof(st->error), "sync state: path too long"); /* fits */
		r = ERR_TOO_LONG;
	} else if ((st->lock_fd = open(path, O_RDWR | O_CLOEXEC | (existing ? 0 : O_CREAT),
				       0600)) < 0) {
		(void)snprintf(st->error, sizeof(st->error), "cannot open %.300s: %s", path,
			       strerror(errno)); /* cut short is fine: one line */
		r = existing && errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	} else if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		/* two runs on one tree would each take the other's changes for news:
		 * a --once from cron beside a staying-connected one must wait its turn */
		(void)snprintf(st->error, sizeof(st->error),
			       "another kasten sync is running on %.400s", dir); /* one line */
		r = ERR_LOCKED;
	} else if (sqlite3_open_v2(path, &st->db,
				   SQLITE_OPEN_READWRITE | (existing ? 0 : SQLITE_OPEN_CREATE),
				   NULL) != SQLITE_OK) {
		r = sync_state_fail(st, path);
	} else {
		sqlite3_busy_timeout(st->db, 5000);
		/* WAL + FULL: a row is on disk before the server is told anything. The flock
		 * above makes this run the database's only user: SQLite may keep its locks
		 * (no lock calls and no check for other writers per statement) and its WAL
		 * index in memory instead of a -shm file. */
		r = sync_state_exec(st, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
					" PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=256");
		/* The WAL stays at close, uncheckpointed: a pass that wrote little (say the
		 * local records, client_sync_state_put_local) then costs no flush at all,
		 * where a checkpoint and a new WAL cost four. What FULL wrote to it is
		 * durable there; the next open reads it back (at most 256 pages: the
		 * checkpoints of a pass that writes much keep it that short). */
		if (!r && sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) !=
				  SQLITE_OK)
			r = sync_state_fail(st, "config");
		if (!r)
			r = sync_state_migrate(st, existing);
		if (!r)
			r = sync_state_owner(st, user, existing);
	}
	if (r) {
		(void)snprintf(err_out, err_cap, "%s", st->error); /* cut short is fine: one line */
		client_sync_state_close(&st);
		return r;
	}
	*st_out = st;
	return 0;
}

int client_sync_state_open(const char *dir, const char *user, struct client_sync_state **st_out,
			   char *err_out, size_t err_cap)
{
	return sync_state_open(dir, user, false, st_out, err_out, err_cap);
}

int client_sync_state_open_existing(const char *dir, const char *user,
				    struct client_sync_state **st_out, char *err_out,
				    size_t err_cap)
{
	return sync_state_open(dir, user, true, st_out, err_out, err_cap);
}

void client_sync_state_close(struct client_sync_state **st)
{
	if (!*st)
		return;
	sqlite3_close((*st)->db);
	if ((*st)->lock_fd >= 0)
		close((*st)->lock_fd); /* and with it the lock */
	free(*st);
	*st = NULL;
}

int client_sync_state_begin(struct client_sync_state *st)
{
	return sync_state_exec(st, "BEGIN IMMEDIATE");
}

int client_sync_state_commit(struct client_sync_state *st)
{
	return sync_state_exec(st, "COMMIT");
}

static const char *sync_state_col(sqlite3_stmt *s, int col, struct arena *a)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	/* most keywords, moving_to and body_base are empty: no copy for those */
	return t && *t ? arena_strdup(a, (const char *)t) : "";
}

int client_sync_state_folders(struct client_sync_state *st, struct arena *a,
			      struct client_sync_state_folder **f_out, size_t *n_out)
{
	sqlite3_stmt *s = sync_state_prep(st, "SELECT name, uidvalidity, uidnext, highestmodseq,"
					  " last_full, messages, rows_gen, local_new_ns,"
					  " local_cur_ns, local_new_ino, local_cur_ino,"
					  " local_at_ns, local_gen FROM sync_folder ORDER BY name", "");
	if (!s)
		return ERR_IO;
	size_t n = 0, cap = 16;
	struct client_sync_state_folder *f = arena_alloc(a, cap * sizeof(*f));
	int rc;
	while (f && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			struct client_sync_state_folder *g = arena_alloc(a, 2 * cap * sizeof(*g));
			if (g)
				memcpy(g, f, n * sizeof(*f));
			f = g;
			cap *= 2;
			if (!f)
				break;
		}
		f[n] = (struct client_sync_state_folder){
			.name = sync_state_col(s, 0, a),
			.uidvalidity = (uint32_t)sqlite3_column_int64(s, 1),
			.uidnext = (uint32_t)sqlite3_column_int64(s, 2),
			.highestmodseq = (uint64_t)sqlite3_column_int64(s, 3),
			.last_full = (time_t)sqlite3_column_int64(s, 4),
			.messages = (uint32_t)sqlite3_column_int64(s, 5),
			.rows_gen = (uint64_t)sqlite3_column_int64(s, 6),
			.local = {.stamp = {.new_ns = sqlite3_column_int64(s, 7),
					    .cur_ns = sqlite3_column_int64(s, 8),
					    .new_ino = (uint64_t)sqlite3_column_int64(s, 9),
					    .cur_ino = (uint64_t)sqlite3_column_int64(s, 10)},
				  .at_ns = sqlite3_column_int64(s, 11),
				  .rows_gen = (uint64_t)sqlite3_column_int64(s, 12)}};
		if (!f[n].name)
			f = NULL;
		else
			n++;
	}
	sqlite3_finalize(s);
	if (!f)
		return ERR_NOMEM;
	if (rc != SQLITE_DONE)
		return sync_state_fail(st, "read folders");
	*f_out = f;
	*n_out = n;
	return 0;
}

int client_sync_state_folder_put(struct client_sync_state *st,
				 const struct client_sync_state_folder *f)
{
	/* an upsert, not INSERT OR REPLACE: the row's rows_gen and local record stay */
	return sync_state_done(st, sync_state_prep(st,
		"INSERT INTO sync_folder(name, uidvalidity, uidnext, highestmodseq, last_full,"
		" messages) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
		" uidvalidity=excluded.uidvalidity, uidnext=excluded.uidnext,"
		" highestmodseq=excluded.highestmodseq, last_full=excluded.last_full,"
		" messages=excluded.messages", "tiiiii", f->name, (int64_t)f->uidvalidity,
		(int64_t)f->uidnext, (int64_t)f->highestmodseq, (int64_t)f->last_full,
		(int64_t)f->messages));
}

int client_sync_state_put_local(struct client_sync_state *st, const char *const *names,
				const struct client_sync_state_local *locals, size_t n)
{
	if (!n)
		return 0;
	/* WAL with synchronous=NORMAL: the commit is atomic but waits for no flush */
	int r = sync_state_exec(st, "PRAGMA synchronous=NORMAL");
	if (!r)
		r = client_sync_state_begin(st);
	for (size_t i = 0; !r && i < n; i++) {
		const struct client_sync_state_local *l = &locals[i];
		r = sync_state_done(st, sync_state_prep(st,
			"UPDATE sync_folder SET local_new_ns=?, local_cur_ns=?, local_new_ino=?,"
			" local_cur_ino=?, local_at_ns=?, local_gen=? WHERE name=?", "iiiiiit",
			l->stamp.new_ns, l->stamp.cur_ns, (int64_t)l->stamp.new_ino,
			(int64_t)l->stamp.cur_ino, l->at_ns, (int64_t)l->rows_gen, names[i]));
	}
	if (!r)
		r = client_sync_state_commit(st);
	else
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* r says why */
	int e = sync_state_exec(st, "PRAGMA synchronous=FULL");
	return r ? r : e;
}

int client_sync_state_rows_gen(struct client_sync_state *st, const char *name,
			       uint64_t *gen_out)
{
	sqlite3_stmt *s = sync_state_prep(st, "SELECT rows_gen FROM sync_folder WHERE name=?",
					  "t", name);
	if (!s)
		return ERR_IO;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*gen_out = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return rc == SQLITE_ROW ? 0 : sync_state_fail(st, "read rows_gen");
}

int client_sync_state_folder_rename(struct client_sync_state *st, const char *from,
				    const char *to)
{
	int r = client_sync_state_begin(st);
	if (!r)
		r = sync_state_done(st, sync_state_prep(st,
			"UPDATE sync_folder SET name=? WHERE name=?", "tt", to, from));
	if (!r)
		r = sync_state_done(st, sync_state_prep(st,
			"UPDATE sync_msg SET folder=? WHERE folder=?", "tt", to, from));
	if (!r)
		return client_sync_state_commit(st);
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* r says why */
	return r;
}

int client_sync_state_folder_drop(struct client_sync_state *st, const char *name)
{
	int r = client_sync_state_begin(st);
	if (!r)
		r = sync_state_done(st, sync_state_prep(st,
			"DELETE FROM sync_folder WHERE name=?", "t", name));
	if (!r)
		r = sync_state_done(st, sync_state_prep(st,
			"DELETE FROM sync_msg WHERE folder=?", "t", name));
	if (!r)
		return client_sync_state_commit(st);
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL); /* r says why */
	return r;
}

static int sync_state_id_cmp(const void *x, const void *y)
{
	int64_t a = (*(const struct client_sync_row *const *)x)->id;
	int64_t b = (*(const struct client_sync_row *const *)y)->id;
	return a < b ? -1 : a > b;
}

/* rows[0..n) and their moving[] into id order (usually they are already: UIDs and ids
 * grow together). */
static int sync_state_by_id(struct arena *a, struct client_sync_row **rows,
			    const char ***moving, size_t n)
{
	size_t i = 1;
	while (i < n && (*rows)[i - 1].id < (*rows)[i].id)
		i++;
	if (i >= n)
		return 0;
	struct client_sync_row **p = arena_alloc(a, n * sizeof(*p));
	struct client_sync_row *r2 = arena_alloc(a, (n + 1) * sizeof(*r2));
	const char **m2 = arena_alloc(a, (n + 1) * sizeof(*m2));
	if (!p || !r2 || !m2)
		return ERR_NOMEM;
	for (i = 0; i < n; i++)
		p[i] = &(*rows)[i];
	qsort(p, n, sizeof(*p), sync_state_id_cmp);
	for (i = 0; i < n; i++) {
		r2[i] = *p[i];
		m2[i] = (*moving)[p[i] - *rows];
	}
	*rows = r2;
	*moving = m2;
	return 0;
}

int client_sync_state_rows(struct client_sync_state *st, const char *folder, struct arena *a,
			   struct client_sync_row **rows_out, const char ***moving_out,
			   size_t *n_out)
{
	sqlite3_stmt *s = sync_state_prep(st, "SELECT count(*) FROM sync_msg WHERE folder=?",
					  "t", folder);
	if (!s)
		return ERR_IO;
	size_t cap = sqlite3_step(s) == SQLITE_ROW ? (size_t)sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	struct client_sync_row *rows = arena_alloc(a, (cap + 1) * sizeof(*rows));
	const char **moving = arena_alloc(a, (cap + 1) * sizeof(*moving));
	if (!rows || !moving)
		return ERR_NOMEM;
	/* in the order of the (folder, uid) index; put in id order below: SQLite's own
	 * sort of whole rows costs as much as reading them */
	s = sync_state_prep(st, "SELECT id, uid, base, flags, keywords, msgid, sha256, size,"
			    " deleting, fetching, moving_to, partial, body_base FROM sync_msg"
			    " WHERE folder=?", "t", folder);
	if (!s)
		return ERR_IO;
	size_t n = 0;
	int rc, r = 0;
	while (n < cap && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct client_sync_row *row = &rows[n];
		*row = (struct client_sync_row){
			.id = sqlite3_column_int64(s, 0),
			.uid = (uint32_t)sqlite3_column_int64(s, 1),
			.base = sync_state_col(s, 2, a),
			.flags = (unsigned)sqlite3_column_int64(s, 3),
			.keywords = sync_state_col(s, 4, a),
			.msgid = sync_state_col(s, 5, a),
			.sha256 = sync_state_col(s, 6, a),
			.size = (uint64_t)sqlite3_column_int64(s, 7),
			.deleting = sqlite3_column_int(s, 8) != 0,
			.fetching = sqlite3_column_int(s, 9) != 0,
			.partial = sqlite3_column_int(s, 11) != 0,
			.body_base = sync_state_col(s, 12, a)};
		moving[n] = sync_state_col(s, 10, a);
		if (!row->base || !row->keywords || !row->msgid || !row->sha256 || !moving[n] ||
		    !row->body_base) {
			r = ERR_NOMEM;
			break;
		}
		n++;
	}
	sqlite3_finalize(s);
	if (!r)
		r = sync_state_by_id(a, &rows, &moving, n);
	if (r)
		return r;
	*rows_out = rows;
	if (moving_out)
		*moving_out = moving;
	*n_out = n;
	return 0;
}

int client_sync_state_row_add(struct client_sync_state *st, const char *folder,
			      const struct client_sync_row *row, int64_t *id_out)
{
	int r = sync_state_done(st, sync_state_prep(st,
		"INSERT INTO sync_msg(folder, uid, base, flags, keywords, msgid, sha256, size,"
		" deleting, fetching, moving_to, partial, body_base)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
		"tititttiiiit", folder, (int64_t)row->uid, row->base, (int64_t)row->flags,
		row->keywords, row->msgid, row->sha256, (int64_t)row->size,
		(int64_t)row->deleting, (int64_t)row->fetching, (int64_t)row->partial,
		row->body_base ? row->body_base : ""));
	if (!r && id_out)
		*id_out = sqlite3_last_insert_rowid(st->db);
	return r;
}

int client_sync_state_row_put(struct client_sync_state *st, const struct client_sync_row *row)
{
	return sync_state_done(st, sync_state_prep(st,
		"UPDATE sync_msg SET uid=?, base=?, flags=?, keywords=?, msgid=?, sha256=?,"
		" size=?, deleting=?, fetching=?, partial=?, body_base=? WHERE id=?",
		"ititttiiiiti", (int64_t)row->uid, row->base, (int64_t)row->flags, row->keywords,
		row->msgid, row->sha256, (int64_t)row->size, (int64_t)row->deleting,
		(int64_t)row->fetching, (int64_t)row->partial,
		row->body_base ? row->body_base : "", row->id));
}

int client_sync_state_row_moving(struct client_sync_state *st, int64_t id, const char *to)
{
	return sync_state_done(st, sync_state_prep(st,
		"UPDATE sync_msg SET moving_to=? WHERE id=?", "ti", to, id));
}

int client_sync_state_row_refile(struct client_sync_state *st, int64_t id, const char *folder,
				 uint32_t uid)
{
	return sync_state_done(st, sync_state_prep(st,
		"UPDATE sync_msg SET folder=?, uid=?, moving_to='' WHERE id=?", "tii", folder,
		(int64_t)uid, id));
}

int client_sync_state_row_drop(struct client_sync_state *st, int64_t id)
{
	return sync_state_done(st, sync_state_prep(st, "DELETE FROM sync_msg WHERE id=?", "i",
						   id));
}
