/* sqs_dir.c: <data>/directory.db: accounts and aliases, and the schema and statements
 * of the tokens and activity tables (their calls are sqs_token.c's and sqs_activity.c's).
 * One sqlite handle for the whole process behind env->dir_mu; every query is a short
 * prepared statement. Addresses are stored lower-cased, at most LIMIT_ADDRESS bytes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static const char *const dir_schema[] = {
	/* 1 */
	"CREATE TABLE accounts(\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n" /* never reused: folders are named by id */
	"  address TEXT NOT NULL UNIQUE,\n"
	"  pwhash TEXT,\n"
	"  quota_bytes INTEGER NOT NULL DEFAULT 0,\n"
	"  quota_messages INTEGER NOT NULL DEFAULT 0,\n"
	"  pop3_enabled INTEGER NOT NULL DEFAULT 1,\n"
	"  created INTEGER NOT NULL);\n"
	"CREATE TABLE aliases(\n"
	"  alias TEXT PRIMARY KEY,\n"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE);\n"
	"CREATE INDEX aliases_account ON aliases(account_id);\n"
	"PRAGMA user_version=1;",
	/* 2: domain lookups (store_domain_is_local) without a scan; addresses have one '@' */
	"CREATE INDEX accounts_domain ON accounts(substr(address, instr(address, '@') + 1));\n"
	"CREATE INDEX aliases_domain ON aliases(substr(alias, instr(alias, '@') + 1));\n"
	"PRAGMA user_version=2;",
	/* 3: JMAP session tokens (only their SHA-256) and the activity log. The activity
	 * columns client and address are '' when unknown, so the UNIQUE key treats an
	 * unknown client as one value (NULLs would never conflict). */
	"CREATE TABLE tokens(\n"
	"  hash BLOB PRIMARY KEY,\n"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
	"  created INTEGER NOT NULL,\n"
	"  lifetime INTEGER NOT NULL,\n" /* idle seconds: each use moves expires to now + it */
	"  expires INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE INDEX tokens_account ON tokens(account_id);\n"
	"CREATE INDEX tokens_expires ON tokens(expires);\n"
	"CREATE TABLE activity_clients(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
	"  protocol TEXT NOT NULL,\n"
	"  client TEXT NOT NULL,\n"
	"  address TEXT NOT NULL,\n"
	"  first_seen INTEGER NOT NULL,\n"
	"  last_seen INTEGER NOT NULL,\n"
	"  UNIQUE(account_id, protocol, client, address));\n"
	"CREATE INDEX activity_clients_seen ON activity_clients(account_id, last_seen);\n"
	"CREATE TABLE activity_removals(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
	"  protocol TEXT NOT NULL,\n"
	"  client TEXT NOT NULL,\n"
	"  address TEXT NOT NULL,\n"
	"  count INTEGER NOT NULL,\n"
	"  bytes INTEGER NOT NULL,\n"
	"  at INTEGER NOT NULL);\n"
	"CREATE INDEX activity_removals_at ON activity_removals(account_id, at);\n"
	"PRAGMA user_version=3;",
	/* 4: JMAP EmailSubmissions (sqs_submission.c): the objects, and per account the
	 * change counter and how far pruning has eaten into the history */
	"CREATE TABLE submissions(\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
	"  seq INTEGER NOT NULL,\n"
	"  destroyed INTEGER NOT NULL DEFAULT 0,\n"
	"  created INTEGER NOT NULL,\n"
	"  object TEXT);\n"
	"CREATE INDEX submissions_account ON submissions(account_id, id);\n"
	"CREATE TABLE submission_state(\n"
	"  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,\n"
	"  seq INTEGER NOT NULL,\n"
	"  pruned INTEGER NOT NULL);\n"
	"PRAGMA user_version=4;",
};

#define ACC_COLS "id, address, pwhash, quota_bytes, quota_messages, pop3_enabled"
static const char *const dir_sql[D_COUNT] = {
	[D_ACC_INSERT] = "INSERT INTO accounts(address, pwhash, quota_bytes, created) "
			 "VALUES(?1, ?2, ?3, ?4)",
	[D_ACC_BY_ADDR] = "SELECT " ACC_COLS " FROM accounts WHERE address = ?1",
	[D_ACC_BY_ID] = "SELECT " ACC_COLS " FROM accounts WHERE id = ?1",
	[D_ACC_LIST] = "SELECT " ACC_COLS " FROM accounts ORDER BY address",
	[D_ACC_DELETE] = "DELETE FROM accounts WHERE id = ?1",
	[D_ACC_SET_PW] = "UPDATE accounts SET pwhash = ?2 WHERE address = ?1",
	[D_ACC_SET_QUOTA] = "UPDATE accounts SET quota_bytes = ?2 WHERE address = ?1",
	[D_ACC_SET_QMSG] = "UPDATE accounts SET quota_messages = ?2 WHERE address = ?1",
	[D_ACC_SET_POP3] = "UPDATE accounts SET pop3_enabled = ?2 WHERE address = ?1",
	[D_ACC_QUOTA] = "SELECT quota_bytes, quota_messages FROM accounts WHERE id = ?1",
	[D_ALIAS_INSERT] = "INSERT INTO aliases(alias, account_id) VALUES(?1, ?2)",
	[D_ALIAS_DELETE] = "DELETE FROM aliases WHERE alias = ?1",
	[D_ALIAS_LOOKUP] = "SELECT account_id FROM aliases WHERE alias = ?1",
	[D_ACC_IDS] = "SELECT id FROM accounts ORDER BY id",
	[D_DOMAIN] = "SELECT 1 WHERE EXISTS (SELECT 1 FROM accounts WHERE "
		     "substr(address, instr(address, '@') + 1) = ?1) OR EXISTS (SELECT 1 FROM "
		     "aliases WHERE substr(alias, instr(alias, '@') + 1) = ?1)",
	[D_ALIAS_LIST] = "SELECT aliases.alias, accounts.address FROM aliases JOIN accounts "
			 "ON accounts.id = aliases.account_id ORDER BY aliases.alias",
	[D_ACC_ALIASES] = "SELECT alias FROM aliases WHERE account_id = ?1 ORDER BY alias",
	[D_BEGIN] = "BEGIN IMMEDIATE",
	[D_COMMIT] = "COMMIT",
	[D_ROLLBACK] = "ROLLBACK",
	[D_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[D_SYNC_FULL] = "PRAGMA synchronous=FULL",
	[D_TOK_INSERT] = "INSERT INTO tokens(hash, account_id, created, lifetime, expires) "
			 "VALUES(?1, ?2, ?3, ?4, ?5)",
	[D_TOK_GET] = "SELECT account_id, lifetime, expires FROM tokens WHERE hash = ?1",
	[D_TOK_SLIDE] = "UPDATE tokens SET expires = ?2 WHERE hash = ?1",
	[D_TOK_DELETE] = "DELETE FROM tokens WHERE hash = ?1",
	[D_TOK_PRUNE] = "DELETE FROM tokens WHERE expires <= ?1",
	[D_ACT_TOUCH] = "UPDATE activity_clients SET last_seen = max(last_seen, ?5) WHERE "
			"account_id = ?1 AND protocol = ?2 AND client = ?3 AND address = ?4",
	[D_ACT_INSERT] = "INSERT INTO activity_clients(account_id, protocol, client, address, "
			 "first_seen, last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?5)",
	[D_ACT_PRUNE_OLD] = "DELETE FROM activity_clients WHERE account_id = ?1 AND "
			    "last_seen < ?2",
	[D_ACT_PRUNE_MANY] = "DELETE FROM activity_clients WHERE id IN (SELECT id FROM "
			     "activity_clients WHERE account_id = ?1 ORDER BY last_seen DESC, "
			     "id DESC LIMIT -1 OFFSET ?2)",
	[D_RM_INSERT] = "INSERT INTO activity_removals(account_id, protocol, client, address, "
			"count, bytes, at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[D_RM_PRUNE_OLD] = "DELETE FROM activity_removals WHERE account_id = ?1 AND at < ?2",
	[D_RM_PRUNE_MANY] = "DELETE FROM activity_removals WHERE id IN (SELECT id FROM "
			    "activity_removals WHERE account_id = ?1 ORDER BY at DESC, id DESC "
			    "LIMIT -1 OFFSET ?2)",
	[D_ACT_LIST] = "SELECT 0, protocol, client, address, first_seen, last_seen, 0, 0, id "
		       "FROM activity_clients WHERE account_id = ?1 AND last_seen >= ?2 "
		       "UNION ALL SELECT 1, protocol, client, address, at, at, count, bytes, id "
		       "FROM activity_removals WHERE account_id = ?1 AND at >= ?2 "
		       "ORDER BY 6 DESC, 1, 9 DESC",
};

int sqs_dir_open(struct sqs_env *e)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/directory.db", e->data_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_TOO_LONG;
	int r = sqs_open_db(path, &e->dir_db);
	if (r < 0)
		return r;
	r = sqs_migrate(e->dir_db, dir_schema, (int)(sizeof(dir_schema) / sizeof(dir_schema[0])),
			NULL, NULL);
	if (r < 0)
		return r;
	for (int i = 0; i < D_COUNT; i++) {
		int rc = sqlite3_prepare_v3(e->dir_db, dir_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &e->dq[i], NULL);
		if (rc != SQLITE_OK) {
			log_err("store: prepare directory stmt=%d: %s", i,
				sqlite3_errmsg(e->dir_db));
			return ERR_IO;
		}
	}
	return 0;
}

void sqs_dir_close(struct sqs_env *e)
{
	for (int i = 0; i < D_COUNT; i++) {
		sqlite3_finalize(e->dq[i]);
		e->dq[i] = NULL;
	}
	if (e->dir_db && sqlite3_close(e->dir_db) != SQLITE_OK)
		log_err("store: close directory.db: %s", sqlite3_errmsg(e->dir_db));
	e->dir_db = NULL;
}

/* Lower-case and check an address into out: "local@domain" with exactly one '@', both
 * parts non-empty, printable ASCII or UTF-8 without spaces, at most LIMIT_ADDRESS bytes. */
static int canon_addr(const char *in, char out[LIMIT_ADDRESS + 1])
{
	size_t n = strnlen(in, LIMIT_ADDRESS + 1);
	if (n == 0 || n > LIMIT_ADDRESS)
		return ERR_INVAL;
	const char *at = strrchr(in, '@');
	if (!at || at == in || at[1] == '\0' || memchr(in, '@', (size_t)(at - in)))
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c <= 0x20 || c == 0x7f)
			return ERR_INVAL;
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* Step q once under dir_mu (held by the caller); rc is SQLITE_ROW/DONE or an error. */
static int dstep(struct sqs_env *e, sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT)
		log_err("store: directory: %s", sqlite3_errmsg(e->dir_db));
	return rc;
}

static void dreset(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

int sqs_dir_quota(struct sqs_env *e, int64_t id, uint64_t *bytes_out, uint64_t *msgs_out)
{
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ACC_QUOTA];
	sqlite3_bind_int64(q, 1, id);
	int rc = dstep(e, q), r = 0;
	if (rc == SQLITE_ROW) {
		*bytes_out = (uint64_t)sqlite3_column_int64(q, 0);
		*msgs_out = (uint64_t)sqlite3_column_int64(q, 1);
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	}
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	return r;
}

int sqs_dir_ids(struct sqs_env *e, int64_t **ids_out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	int64_t *ids = NULL;
	int r = 0, rc;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ACC_IDS];
	while ((rc = dstep(e, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *nids = realloc(ids, cap * sizeof(*ids));
			if (!nids) {
				r = ERR_NOMEM;
				break;
			}
			ids = nids;
		}
		ids[n++] = sqlite3_column_int64(q, 0);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqs_err(rc);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (r < 0) {
		free(ids);
		return r;
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
}

int sqs_account_add(struct store_env *env, const char *address, const char *pwhash,
		    uint64_t quota_bytes, int64_t *id_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char addr[LIMIT_ADDRESS + 1];
	if (canon_addr(address, addr) < 0 || quota_bytes > INT64_MAX)
		return ERR_INVAL;
	int64_t id = 0;
	int r = 0;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ALIAS_LOOKUP];
	sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	int rc = dstep(e, q);
	dreset(q);
	if (rc == SQLITE_ROW) {
		r = ERR_EXISTS; /* an alias already claims the address */
	} else if (rc != SQLITE_DONE) {
		r = sqs_err(rc);
	} else {
		q = e->dq[D_ACC_INSERT];
		sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
		if (pwhash)
			sqlite3_bind_text(q, 2, pwhash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (int64_t)quota_bytes);
		sqlite3_bind_int64(q, 4, (int64_t)time(NULL));
		rc = dstep(e, q);
		dreset(q);
		if (rc == SQLITE_DONE)
			id = sqlite3_last_insert_rowid(e->dir_db);
		else
			r = sqs_err(rc);
	}
	pthread_mutex_unlock(&e->dir_mu);
	if (r < 0)
		return r;
	/* Create the folder and index.db now (first use would too, after a crash here). */
	char path[4096];
	r = sqs_path(e, path, sizeof(path), id, NULL);
	if (r == 0 && sqs_rmtree(path) < 0) /* ids are never reused: a leftover is garbage */
		r = ERR_IO;
	struct sqs_db *h;
	if (r == 0)
		r = sqs_db_take(e, id, &h);
	if (r < 0) {
		log_err("store: account folder for id=%lld: %s", (long long)id, err_str(r));
		(void)sqs_account_del(env, addr); /* undo; its own failure is logged */
		return r;
	}
	sqs_db_give(e, h);
	if (id_out)
		*id_out = id;
	return 0;
}

/* Fill out from a D_ACC_* row; strings copied into the arena. */
static int read_account(sqlite3_stmt *q, struct arena *a, struct store_account *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(q, 0);
	out->address = arena_strdup(a, (const char *)sqlite3_column_text(q, 1));
	const unsigned char *pw = sqlite3_column_text(q, 2);
	out->pwhash = pw ? arena_strdup(a, (const char *)pw) : NULL;
	out->quota_bytes = (uint64_t)sqlite3_column_int64(q, 3);
	out->quota_messages = (uint64_t)sqlite3_column_int64(q, 4);
	out->pop3_enabled = sqlite3_column_int(q, 5) != 0;
	if (!out->address || (pw && !out->pwhash))
		return ERR_NOMEM;
	return 0;
}

static int fill_usage(struct sqs_env *e, struct store_account *acc)
{
	struct sqs_db *h;
	int r = sqs_db_take(e, acc->id, &h);
	if (r < 0)
		return r;
	r = sqs_usage_get(h, &acc->used_bytes, &acc->messages);
	sqs_db_give(e, h);
	return r;
}

static int get_by(struct sqs_env *e, enum sqs_dstmt which, const char *addr, int64_t id,
		  struct arena *a, struct store_account *out)
{
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[which];
	if (addr)
		sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, id);
	int rc = dstep(e, q), r;
	if (rc == SQLITE_ROW)
		r = read_account(q, a, out);
	else
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	return r < 0 ? r : fill_usage(e, out);
}

int sqs_account_get(struct store_env *env, const char *address, struct arena *a,
		    struct store_account *out)
{
	char addr[LIMIT_ADDRESS + 1];
	if (canon_addr(address, addr) < 0)
		return ERR_NOTFOUND;
	return get_by((struct sqs_env *)env, D_ACC_BY_ADDR, addr, 0, a, out);
}

int sqs_account_get_id(struct store_env *env, int64_t id, struct arena *a,
		       struct store_account *out)
{
	return get_by((struct sqs_env *)env, D_ACC_BY_ID, NULL, id, a, out);
}

int sqs_account_list(struct store_env *env, struct arena *a, struct store_account **out,
		     size_t *n_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	int64_t *ids;
	size_t n;
	int r = sqs_dir_ids(e, &ids, &n);
	if (r < 0)
		return r;
	struct store_account *v = n ? arena_zalloc(a, n * sizeof(*v)) : NULL;
	size_t got = 0;
	if (n && !v)
		r = ERR_NOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = sqs_account_get_id(env, ids[i], a, &v[got]);
		if (r == ERR_NOTFOUND) /* deleted meanwhile */
			r = 0;
		else if (r == 0)
			got++;
	}
	free(ids);
	if (r < 0)
		return r;
	*out = v;
	*n_out = got;
	return 0;
}

int sqs_account_del(struct store_env *env, const char *address)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char addr[LIMIT_ADDRESS + 1];
	if (canon_addr(address, addr) < 0)
		return ERR_NOTFOUND;
	int64_t id = 0;
	int r = 0;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ACC_BY_ADDR];
	sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	int rc = dstep(e, q);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(q, 0);
	else
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	dreset(q);
	if (r == 0) {
		q = e->dq[D_ACC_DELETE];
		sqlite3_bind_int64(q, 1, id);
		rc = dstep(e, q);
		dreset(q);
		if (rc != SQLITE_DONE)
			r = sqs_err(rc);
	}
	pthread_mutex_unlock(&e->dir_mu);
	if (r < 0)
		return r;
	sqs_pool_drop(e, id, true);
	char path[4096];
	if (sqs_path(e, path, sizeof(path), id, NULL) == 0 && sqs_rmtree(path) < 0)
		log_warn("store: account id=%lld deleted, folder left for recovery", (long long)id);
	return 0;
}

static int parse_bool(const char *v, int64_t *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") ||
		 !strcmp(v, "0"))
		*out = 0;
	else
		return ERR_INVAL;
	return 0;
}

int sqs_account_set(struct store_env *env, const char *address, const char *key,
		    const char *value)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char addr[LIMIT_ADDRESS + 1];
	if (canon_addr(address, addr) < 0)
		return ERR_NOTFOUND;
	enum sqs_dstmt which;
	int64_t num = 0;
	uint64_t u;
	bool text = false;
	if (!strcmp(key, "password")) {
		which = D_ACC_SET_PW, text = true;
	} else if (!strcmp(key, "quota")) {
		if (str_parse_size(value, &u) < 0 || u > INT64_MAX)
			return ERR_INVAL;
		which = D_ACC_SET_QUOTA, num = (int64_t)u;
	} else if (!strcmp(key, "quota_messages")) {
		if (str_to_u64(value, strlen(value), INT64_MAX, &u) < 0)
			return ERR_INVAL;
		which = D_ACC_SET_QMSG, num = (int64_t)u;
	} else if (!strcmp(key, "pop3")) {
		if (parse_bool(value, &num) < 0)
			return ERR_INVAL;
		which = D_ACC_SET_POP3;
	} else {
		return ERR_INVAL;
	}
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[which];
	sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 2, num);
	int rc = dstep(e, q);
	int changed = sqlite3_changes(e->dir_db);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (rc != SQLITE_DONE)
		return sqs_err(rc);
	return changed ? 0 : ERR_NOTFOUND;
}

int sqs_alias_add(struct store_env *env, const char *alias, const char *address)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char al[LIMIT_ADDRESS + 1], addr[LIMIT_ADDRESS + 1];
	if (canon_addr(alias, al) < 0)
		return ERR_INVAL;
	if (canon_addr(address, addr) < 0)
		return ERR_NOTFOUND;
	int r = 0;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ACC_BY_ADDR];
	sqlite3_bind_text(q, 1, al, -1, SQLITE_STATIC);
	int rc = dstep(e, q);
	dreset(q);
	if (rc == SQLITE_ROW)
		r = ERR_EXISTS; /* an alias may not shadow an account */
	else if (rc != SQLITE_DONE)
		r = sqs_err(rc);
	int64_t id = 0;
	if (r == 0) {
		q = e->dq[D_ACC_BY_ADDR];
		sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
		rc = dstep(e, q);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(q, 0);
		else
			r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
		dreset(q);
	}
	if (r == 0) {
		q = e->dq[D_ALIAS_INSERT];
		sqlite3_bind_text(q, 1, al, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, id);
		rc = dstep(e, q);
		dreset(q);
		if (rc != SQLITE_DONE)
			r = sqs_err(rc);
	}
	pthread_mutex_unlock(&e->dir_mu);
	return r;
}

int sqs_alias_del(struct store_env *env, const char *alias)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char al[LIMIT_ADDRESS + 1];
	if (canon_addr(alias, al) < 0)
		return ERR_NOTFOUND;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ALIAS_DELETE];
	sqlite3_bind_text(q, 1, al, -1, SQLITE_STATIC);
	int rc = dstep(e, q);
	int changed = sqlite3_changes(e->dir_db);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (rc != SQLITE_DONE)
		return sqs_err(rc);
	return changed ? 0 : ERR_NOTFOUND;
}

int sqs_alias_list(struct store_env *env, struct arena *a, struct store_alias **out,
		   size_t *n_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	struct store_alias *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0, rc;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ALIAS_LIST];
	while ((rc = dstep(e, q)) == SQLITE_ROW) {
		if (n == cap) {
			/* grow in the arena: the old array is left there, at most doubling */
			cap = cap ? cap * 2 : 64;
			struct store_alias *nv = arena_alloc(a, cap * sizeof(*nv));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			if (n)
				memcpy(nv, v, n * sizeof(*v));
			v = nv;
		}
		const char *al = (const char *)sqlite3_column_text(q, 0);
		const char *ad = (const char *)sqlite3_column_text(q, 1);
		v[n].alias = al ? arena_strdup(a, al) : NULL;
		v[n].address = ad ? arena_strdup(a, ad) : NULL;
		if (!v[n].alias || !v[n].address) {
			r = ERR_NOMEM;
			break;
		}
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqs_err(rc);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (r < 0)
		return r;
	*out = n ? v : NULL;
	*n_out = n;
	return 0;
}

/* Account first, then alias, for one canonical address. */
static int lookup(struct sqs_env *e, const char *addr, int64_t *id_out)
{
	int r = ERR_NOTFOUND;
	pthread_mutex_lock(&e->dir_mu);
	for (int pass = 0; pass < 2 && r == ERR_NOTFOUND; pass++) {
		sqlite3_stmt *q = e->dq[pass ? D_ALIAS_LOOKUP : D_ACC_BY_ADDR];
		sqlite3_bind_text(q, 1, addr, -1, SQLITE_STATIC);
		int rc = dstep(e, q);
		if (rc == SQLITE_ROW) {
			*id_out = sqlite3_column_int64(q, 0);
			r = 0;
		} else if (rc != SQLITE_DONE) {
			r = sqs_err(rc);
		}
		dreset(q);
	}
	pthread_mutex_unlock(&e->dir_mu);
	return r;
}

int sqs_resolve(struct store_env *env, const char *address, int64_t *id_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char addr[LIMIT_ADDRESS + 1];
	if (canon_addr(address, addr) < 0)
		return ERR_NOTFOUND;
	int r = lookup(e, addr, id_out);
	if (r != ERR_NOTFOUND)
		return r;
	/* "user+detail@dom" -> "user@dom" (a leading '+' is not a detail separator) */
	char *at = strrchr(addr, '@');
	char *plus = memchr(addr, '+', (size_t)(at - addr));
	if (!plus || plus == addr)
		return ERR_NOTFOUND;
	memmove(plus, at, strlen(at) + 1);
	return lookup(e, addr, id_out);
}

bool sqs_domain_is_local(struct store_env *env, const char *domain)
{
	struct sqs_env *e = (struct sqs_env *)env;
	char dom[LIMIT_ADDRESS + 1];
	size_t n = strnlen(domain, LIMIT_ADDRESS + 1);
	if (n == 0 || n > LIMIT_ADDRESS)
		return false;
	for (size_t i = 0; i <= n; i++)
		dom[i] = (domain[i] >= 'A' && domain[i] <= 'Z') ? (char)(domain[i] + 32) : domain[i];
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_DOMAIN];
	sqlite3_bind_text(q, 1, dom, (int)n, SQLITE_STATIC);
	int rc = dstep(e, q);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	return rc != SQLITE_DONE; /* a row, or an error (logged): look the recipient up */
}

int sqs_dstep(struct sqs_env *e, sqlite3_stmt *q)
{
	return dstep(e, q);
}

void sqs_dreset(sqlite3_stmt *q)
{
	dreset(q);
}

int sqs_account_aliases(struct store_env *env, int64_t account_id, struct arena *a,
			const char ***names_out, size_t *n_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	uint64_t qb, qm;
	int r = sqs_dir_quota(e, account_id, &qb, &qm); /* the account exists */
	if (r < 0)
		return r;
	const char **v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_ACC_ALIASES];
	sqlite3_bind_int64(q, 1, account_id);
	while ((rc = dstep(e, q)) == SQLITE_ROW) {
		if (n == cap) {
			/* grow in the arena, as sqs_alias_list */
			cap = cap ? cap * 2 : 16;
			const char **nv = arena_alloc(a, cap * sizeof(*nv));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			if (n)
				memcpy(nv, v, n * sizeof(*v));
			v = nv;
		}
		const char *al = (const char *)sqlite3_column_text(q, 0);
		v[n] = al ? arena_strdup(a, al) : NULL;
		if (!v[n]) {
			r = ERR_NOMEM;
			break;
		}
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqs_err(rc);
	dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (r < 0)
		return r;
	*names_out = n ? v : NULL;
	*n_out = n;
	return 0;
}
