/* sqs_db.c: index.db handles: opening (schema, migrations, default mailboxes), the
 * per-handle prepared-statement cache, transactions, and the env's bounded LRU pool.
 * Owns struct sqs_db. The pool holds at most SQS_POOL_MAX idle handles; a handle is
 * in the pool only while no thread uses it, so no handle is ever shared between threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static const char *const index_schema[] = {
	/* 1 */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE TABLE mailboxes(\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n" /* never reused, like UIDVALIDITY */
	"  name TEXT NOT NULL UNIQUE,\n"
	"  uidvalidity INTEGER NOT NULL,\n"
	"  uidnext INTEGER NOT NULL DEFAULT 1,\n"
	"  highestmodseq INTEGER NOT NULL DEFAULT 1,\n"
	"  special_use INTEGER NOT NULL DEFAULT 0,\n"
	"  subscribed INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE TABLE messages(\n"
	"  mailbox_id INTEGER NOT NULL,\n"
	"  uid INTEGER NOT NULL,\n"
	"  modseq INTEGER NOT NULL,\n"
	"  flags INTEGER NOT NULL DEFAULT 0,\n"
	"  keywords TEXT NOT NULL DEFAULT '',\n"
	"  size INTEGER NOT NULL,\n"
	"  internal_date INTEGER NOT NULL,\n"
	"  saved_date INTEGER NOT NULL,\n"
	"  guid TEXT NOT NULL UNIQUE,\n"
	"  pop3_retrieved INTEGER NOT NULL DEFAULT 0,\n"
	"  mime BLOB,\n" /* last: scans of the other columns skip its overflow pages */
	"  PRIMARY KEY(mailbox_id, uid));\n"
	"CREATE TABLE expunged(\n"
	"  mailbox_id INTEGER NOT NULL,\n"
	"  uid INTEGER NOT NULL,\n"
	"  modseq INTEGER NOT NULL,\n"
	"  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;\n"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);\n"
	"CREATE TABLE usage(id INTEGER PRIMARY KEY CHECK(id = 1),\n"
	"  bytes INTEGER NOT NULL, messages INTEGER NOT NULL);\n"
	"INSERT INTO usage VALUES(1, 0, 0);\n"
	"PRAGMA user_version=1;",
};

#define MB_COLS "id, name, uidvalidity, uidnext, highestmodseq, special_use, subscribed"
#define MSG_COLS "uid, modseq, flags, keywords, size, internal_date, saved_date, guid, " \
		 "pop3_retrieved"
static const char *const index_sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_BEGIN_READ] = "BEGIN",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_MB_BY_NAME] = "SELECT " MB_COLS " FROM mailboxes WHERE name = ?1",
	[Q_MB_BY_ID] = "SELECT " MB_COLS " FROM mailboxes WHERE id = ?1",
	[Q_MB_LIST] = "SELECT " MB_COLS " FROM mailboxes ORDER BY name",
	[Q_MB_COUNTS] = "SELECT count(*), coalesce(sum(size), 0), "
			"coalesce(sum((flags & 1) = 0), 0) FROM messages WHERE mailbox_id = ?1",
	[Q_MB_INSERT] = "INSERT INTO mailboxes(name, uidvalidity, special_use, subscribed) "
			"VALUES(?1, ?2, ?3, ?4)",
	[Q_MB_RENAME] = "UPDATE mailboxes SET name = ?2 WHERE id = ?1",
	[Q_MB_DELETE] = "DELETE FROM mailboxes WHERE id = ?1",
	[Q_MB_SUBSCRIBE] = "UPDATE mailboxes SET subscribed = ?2 WHERE id = ?1",
	[Q_MB_BUMP] = "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1",
	[Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[Q_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2) "
		       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[Q_USAGE_GET] = "SELECT bytes, messages FROM usage WHERE id = 1",
	[Q_USAGE_ADD] = "UPDATE usage SET bytes = bytes + ?1, messages = messages + ?2 "
			"WHERE id = 1",
	[Q_USAGE_RECALC] = "UPDATE usage SET bytes = (SELECT coalesce(sum(size), 0) FROM "
			   "messages), messages = (SELECT count(*) FROM messages) WHERE id = 1",
	[Q_MSG_INSERT] = "INSERT INTO messages(mailbox_id, uid, modseq, flags, keywords, size, "
			 "internal_date, saved_date, guid, mime) "
			 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[Q_MSG_COUNT_RANGE] = "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND "
			      "uid BETWEEN ?2 AND ?3",
	[Q_MSG_LIST] = "SELECT " MSG_COLS " FROM messages WHERE mailbox_id = ?1 AND "
		       "uid BETWEEN ?2 AND ?3 ORDER BY uid",
	[Q_MSG_GET] = "SELECT guid, size, flags, keywords FROM messages "
		      "WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_MIME] = "SELECT guid, mime FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_SET_MIME] = "UPDATE messages SET mime = ?4 WHERE mailbox_id = ?1 AND uid = ?2 "
			   "AND guid = ?3 AND mime IS NULL",
	[Q_MSG_SETFLAGS] = "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5 "
			   "WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_DELETE] = "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_OF_MB] = "SELECT guid, size FROM messages WHERE mailbox_id = ?1",
	[Q_MSG_MOVE_ALL] = "UPDATE messages SET mailbox_id = ?2 WHERE mailbox_id = ?1",
	[Q_MSG_DELETE_MB] = "DELETE FROM messages WHERE mailbox_id = ?1",
	[Q_MSG_ALL] = "SELECT mailbox_id, uid, guid, size FROM messages",
	[Q_POP3_MARK] = "UPDATE messages SET pop3_retrieved = ?3 "
			"WHERE mailbox_id = ?1 AND uid = ?2 AND pop3_retrieved = 0",
	[Q_EXP_INSERT] = "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) "
			 "VALUES(?1, ?2, ?3)",
	[Q_EXP_COPY_ALL] = "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) "
			   "SELECT mailbox_id, uid, ?2 FROM messages WHERE mailbox_id = ?1",
	[Q_EXP_DELETE_MB] = "DELETE FROM expunged WHERE mailbox_id = ?1",
	[Q_EXP_COUNT_SINCE] = "SELECT count(*) FROM expunged WHERE mailbox_id = ?1 AND "
			      "modseq > ?2",
	[Q_EXP_SINCE] = "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 "
			"ORDER BY uid",
};

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
		if (sqlite3_prepare_v3(h->db, index_sql[s], -1, SQLITE_PREPARE_PERSISTENT, &h->q[s],
				       NULL) != SQLITE_OK) {
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

/* The mailboxes every new account starts with (RFC 6154 special use). */
static const struct {
	const char *name;
	unsigned special_use;
} default_mailboxes[] = {
	{"INBOX", STORE_SU_NONE},     {"Drafts", STORE_SU_DRAFTS}, {"Sent", STORE_SU_SENT},
	{"Trash", STORE_SU_TRASH},    {"Junk", STORE_SU_JUNK},     {"Archive", STORE_SU_ARCHIVE},
};

static int fill_index(void *arg, sqlite3 *db, int old_version)
{
	struct sqs_db *h = arg;
	if (old_version != 0)
		return 0;
	for (size_t i = 0; i < sizeof(default_mailboxes) / sizeof(default_mailboxes[0]); i++) {
		uint32_t uv;
		int r = sqs_new_uidvalidity(h, &uv);
		if (r < 0)
			return r;
		sqlite3_stmt *q = sqs_q(h, Q_MB_INSERT);
		if (!q)
			return ERR_IO;
		sqlite3_bind_text(q, 1, default_mailboxes[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, uv);
		sqlite3_bind_int(q, 3, (int)default_mailboxes[i].special_use);
		sqlite3_bind_int(q, 4, 1);
		r = sqs_exec(h, q);
		if (r < 0)
			return r;
	}
	return 0;
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
		r = sqs_migrate(h->db, index_schema,
				(int)(sizeof(index_schema) / sizeof(index_schema[0])), fill_index, h);
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
