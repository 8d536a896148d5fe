/* test_store_account.c: the store's JMAP support of one account (store.h "uploads,
 * session tokens, the activity log, identities"): upload ids, types, quota, size bound,
 * expiry and the prune, isolation between accounts; tokens (expiry, the sliding
 * window written at most once a minute, logout, account deletion); the activity log
 * (upsert, removals, 90-day and row bounds, sanitizing) and its write cost; aliases. */
#include "test_store_fx.h"

#include <sys/time.h>

#include "core/limits.h"
#include "core/log.h"

#define HOUR 3600
#define DAY 86400

static const char *upload_dir(struct fx *f, int64_t id)
{
	return arena_printf(&f->a, "%s/accounts/%lld/upload", f->dir, (long long)id);
}

static const char *put_mem(struct fx *f, struct store *st, const char *data, const char *type)
{
	const char *id = NULL;
	assert_int_equal(store_blob_put_mem(st, data, strlen(data), type, &f->a, &id), 0);
	assert_non_null(id);
	return id;
}

/* The whole upload's bytes, its size and type must be what was put. */
static void expect_blob(struct fx *f, struct store *st, const char *id, const char *data,
			const char *type)
{
	int fd = -1;
	uint64_t size = 0;
	const char *t = NULL;
	assert_int_equal(store_blob_open(st, id, &fd, &size, &t, &f->a), 0);
	assert_int_equal(size, strlen(data));
	assert_string_equal(t, type);
	char buf[256] = {0};
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t)strlen(data));
	assert_string_equal(buf, data);
	close(fd);
}

static int open_err(struct fx *f, struct store *st, const char *id)
{
	int fd = -1;
	uint64_t size;
	const char *t;
	int r = store_blob_open(st, id, &fd, &size, &t, &f->a);
	if (r == 0)
		close(fd);
	return r;
}

/* RFC 8620 6.1: the blob id is "U" + 32 lowercase hex; bytes and type come back. */
static void blob_roundtrip(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@example.org", 0);
	struct store *st = open_store(f, id);
	const char *b1 = put_mem(f, st, "hello world", "text/plain; charset=utf-8");
	assert_int_equal(strlen(b1), 33);
	assert_int_equal(b1[0], 'U');
	assert_int_equal(strspn(b1 + 1, "0123456789abcdef"), 32);
	expect_blob(f, st, b1, "hello world", "text/plain; charset=utf-8");
	/* no type: application/octet-stream; ids differ */
	const char *b2 = put_mem(f, st, "x", NULL);
	assert_string_not_equal(b1, b2);
	expect_blob(f, st, b2, "x", "application/octet-stream");
	/* from a file: read with pread, the caller's offset stays */
	const char *path = msg_file(f, "from a spool file");
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
	const char *b3 = NULL;
	assert_int_equal(store_blob_put(st, fd, 17, "image/png", &f->a, &b3), 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 5);
	expect_blob(f, st, b3, "from a spool file", "image/png");
	/* a file shorter than announced: ERR_INVAL, and nothing is left behind */
	const char *b4 = NULL;
	assert_int_equal(store_blob_put(st, fd, 18, "image/png", &f->a, &b4), ERR_INVAL);
	close(fd);
	assert_int_equal(count_files(upload_dir(f, id)), 3 * 2);
	/* an empty upload is one */
	const char *b5 = NULL;
	assert_int_equal(store_blob_put_mem(st, NULL, 0, "text/plain", &f->a, &b5), 0);
	expect_blob(f, st, b5, "", "text/plain");
	store_close(&st);
}

/* Ids from clients never become a path: only ^U[0-9a-f]{32}$ is looked up. */
static void blob_id_check(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@example.org", 0);
	struct store *st = open_store(f, id);
	const char *b = put_mem(f, st, "secret", "text/plain");
	char upper[40], short_id[40], long_id[40], g_id[40], type_id[48], tmp_id[48];
	snprintf(upper, sizeof(upper), "U%s", b + 1);
	for (char *p = upper + 1; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	snprintf(short_id, sizeof(short_id), "%.32s", b);   /* "U" + 31 hex */
	snprintf(long_id, sizeof(long_id), "%s0", b);       /* "U" + 33 hex */
	snprintf(g_id, sizeof(g_id), "G%s", b + 1);
	snprintf(type_id, sizeof(type_id), "%s.type", b);   /* the type file's name */
	snprintf(tmp_id, sizeof(tmp_id), "U../../../%.23s", b + 1);
	bool has_upper = strcmp(upper, b) != 0;
	assert_true(has_upper); /* 32 random hex digits without a letter: 2^-26 */
	const char *bad[] = {"../x", "U../index.db", "", "U", short_id, long_id, upper, g_id,
			     type_id, tmp_id, "U0123456789abcdef0123456789abcdeg",
			     "U0123456789abcdef0123456789abcde/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(open_err(f, st, bad[i]), ERR_NOTFOUND);
	assert_int_equal(open_err(f, st, b), 0);
	store_close(&st);
}

/* Account B cannot open A's upload: ERR_NOTFOUND, as for an id that never existed. */
static void blob_isolation(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t b = add_account(f, "b@example.org", 0);
	struct store *sa = open_store(f, a), *sb = open_store(f, b);
	const char *ida = put_mem(f, sa, "for a only", "text/plain");
	assert_int_equal(open_err(f, sb, ida), ERR_NOTFOUND);
	/* also once B has uploads of its own */
	const char *idb = put_mem(f, sb, "for b", "text/plain");
	assert_int_equal(open_err(f, sb, ida), ERR_NOTFOUND);
	assert_int_equal(open_err(f, sa, idb), ERR_NOTFOUND);
	expect_blob(f, sa, ida, "for a only", "text/plain");
	/* deleting A removes its uploads */
	store_close(&sa);
	assert_int_equal(store_account_del(f->env, "a@example.org"), 0);
	struct stat sbuf;
	assert_int_equal(stat(upload_dir(f, a), &sbuf), -1);
	expect_blob(f, sb, idb, "for b", "text/plain");
	store_close(&sb);
}

/* usage + size > quota: ERR_QUOTA; exactly at the quota fits. Past LIMIT_BLOB_MAX:
 * ERR_TOO_BIG before a byte is read. */
static void blob_quota_and_size(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@example.org", 100);
	struct store *st = open_store(f, id);
	append(f, st, "INBOX", "Subject: x\r\n\r\n0123456789012345678901234567890123456789\r\n");
	uint64_t used, msgs;
	assert_int_equal(store_usage(st, &used, &msgs), 0);
	assert_int_equal(used, 56);
	char data[64];
	memset(data, 'x', sizeof(data));
	const char *b = NULL;
	assert_int_equal(store_blob_put_mem(st, data, 45, NULL, &f->a, &b), ERR_QUOTA);
	assert_int_equal(store_blob_put_mem(st, data, 44, NULL, &f->a, &b), 0);
	/* uploads are not counted in the usage themselves */
	assert_int_equal(store_usage(st, &used, &msgs), 0);
	assert_int_equal(used, 56);
	/* the size bound comes first: a sparse file past it is never read */
	const char *path = msg_file(f, "");
	assert_int_equal(truncate(path, (off_t)LIMIT_BLOB_MAX + 1), 0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	store_close(&st);
	id = add_account(f, "big@example.org", 0);
	st = open_store(f, id);
	assert_int_equal(store_blob_put(st, fd, LIMIT_BLOB_MAX + 1, NULL, &f->a, &b), ERR_TOO_BIG);
	close(fd);
	assert_int_equal(count_files(upload_dir(f, id)), 0);
	store_close(&st);
}

/* The type is a MIME type token pair, optionally with parameters, bounded. */
static void blob_type_check(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@example.org", 0);
	struct store *st = open_store(f, id);
	char longtype[LIMIT_BLOB_TYPE + 2];
	memset(longtype, 'a', sizeof(longtype));
	memcpy(longtype, "text/", 5);
	longtype[LIMIT_BLOB_TYPE + 1] = '\0';
	const char *bad[] = {"text", "text/", "/plain", "te xt/plain", "text/pl@in",
			     "text/plain\r\nX: y", "text/plain;\x01", "text/plain\xc3\xa9",
			     longtype};
	const char *b = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_blob_put_mem(st, "x", 1, bad[i], &f->a, &b), ERR_INVAL);
	longtype[LIMIT_BLOB_TYPE] = '\0'; /* exactly at the bound */
	b = put_mem(f, st, "x", longtype);
	expect_blob(f, st, b, "x", longtype);
	b = put_mem(f, st, "x", "application/vnd.ms-excel");
	expect_blob(f, st, b, "x", "application/vnd.ms-excel");
	store_close(&st);
}

static void age_file(const char *path, int64_t secs)
{
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= secs;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

/* Kept LIMIT_BLOB_KEEP_HOURS: older is not found, and the next put removes it, as it
 * removes half-written leftovers of a crash; younger ones stay. */
static void blob_expiry_and_prune(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@example.org", 0);
	struct store *st = open_store(f, id);
	const char *old = put_mem(f, st, "old", "text/plain");
	const char *young = put_mem(f, st, "young", "text/plain");
	const char *dir = upload_dir(f, id);
	int64_t past = (int64_t)LIMIT_BLOB_KEEP_HOURS * HOUR + 60;
	age_file(arena_printf(&f->a, "%s/%s", dir, old + 1), past);
	age_file(arena_printf(&f->a, "%s/%s.type", dir, old + 1), past);
	/* a crash's leftovers: an old tmp, a type without bytes; and a fresh tmp */
	const char *crash_tmp = arena_printf(&f->a, "%s/0123.tmp", dir);
	const char *crash_type = arena_printf(&f->a, "%s/4567.type", dir);
	const char *live_tmp = arena_printf(&f->a, "%s/89ab.tmp", dir);
	for (const char *const *p = (const char *const[]){crash_tmp, crash_type, live_tmp, NULL};
	     *p; p++)
		close(open(*p, O_WRONLY | O_CREAT, 0600));
	age_file(crash_tmp, past);
	age_file(crash_type, past);
	assert_int_equal(open_err(f, st, old), ERR_NOTFOUND);
	expect_blob(f, st, young, "young", "text/plain");
	assert_int_equal(count_files(dir), 2 * 2 + 3);
	/* just under the limit stays */
	age_file(arena_printf(&f->a, "%s/%s", dir, young + 1), past - 120);
	expect_blob(f, st, young, "young", "text/plain");
	const char *fresh = put_mem(f, st, "fresh", NULL);
	/* young (2) + fresh (2) + the live tmp */
	assert_int_equal(count_files(dir), 5);
	assert_int_equal(access(live_tmp, F_OK), 0);
	assert_int_equal(access(crash_tmp, F_OK), -1);
	expect_blob(f, st, fresh, "fresh", "application/octet-stream");
	store_close(&st);
}

static void hash_of(uint8_t h[32], unsigned char seed)
{
	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(seed * 31 + i);
}

static int64_t dir_int(struct fx *f, const char *sql)
{
	char *path = arena_printf(&f->a, "%s/directory.db", f->dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	int rc = sqlite3_step(q);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* Expiry and the sliding window: each use moves the expiry to now + the lifetime given
 * at add, written only when it moves by a minute or more. */
static void token_expiry_slides(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@example.org", 0);
	int64_t now = (int64_t)time(NULL), got = 0;
	uint8_t t1[32], t2[32], t3[32], t4[32];
	hash_of(t1, 1), hash_of(t2, 2), hash_of(t3, 3), hash_of(t4, 4);
	assert_int_equal(store_token_add(f->env, id, t1, now + 1000), 0);
	assert_int_equal(store_token_get(f->env, t1, now, &got), 0);
	assert_int_equal(got, id);
	assert_int_equal(store_token_get(f->env, t2, now, &got), ERR_NOTFOUND);
	/* unused for longer than its lifetime: gone */
	assert_int_equal(store_token_get(f->env, t1, now + 1000, &got), ERR_NOTFOUND);
	/* used at +30: no write (it would move by < 60 s), so +1001 is past it */
	assert_int_equal(store_token_add(f->env, id, t2, now + 1000), 0);
	assert_int_equal(store_token_get(f->env, t2, now + 30, &got), 0);
	assert_int_equal(dir_int(f, "SELECT expires - created FROM tokens WHERE "
				    "hex(hash) LIKE '3E3F%'"), 1000);
	assert_int_equal(store_token_get(f->env, t2, now + 1001, &got), ERR_NOTFOUND);
	/* used at +900: slides to +1900; at +1800 still valid, and slides again */
	assert_int_equal(store_token_add(f->env, id, t3, now + 1000), 0);
	assert_int_equal(store_token_get(f->env, t3, now + 900, &got), 0);
	assert_int_equal(store_token_get(f->env, t3, now + 1800, &got), 0);
	assert_int_equal(store_token_get(f->env, t3, now + 2799, &got), 0);
	assert_int_equal(store_token_get(f->env, t3, now + 2799 + 1000, &got), ERR_NOTFOUND);
	/* an expiry not in the future, an unknown account */
	assert_int_equal(store_token_add(f->env, id, t4, now - 1), ERR_INVAL);
	assert_int_equal(store_token_add(f->env, id + 100, t4, now + 1000), ERR_NOTFOUND);
}

/* Logout deletes; deleting the account deletes its tokens; adds prune expired ones;
 * nothing but the hash is kept. */
static void token_delete_and_prune(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t b = add_account(f, "b@example.org", 0);
	int64_t now = (int64_t)time(NULL), got = 0;
	uint8_t t1[32], t2[32], t3[32];
	hash_of(t1, 1), hash_of(t2, 2), hash_of(t3, 3);
	assert_int_equal(store_token_add(f->env, a, t1, now + 1000), 0);
	assert_int_equal(store_token_add(f->env, b, t2, now + 1000), 0);
	assert_int_equal(store_token_add(f->env, a, t1, now + 1000), ERR_EXISTS);
	assert_int_equal(store_token_del(f->env, t1), 0);
	assert_int_equal(store_token_del(f->env, t1), ERR_NOTFOUND);
	assert_int_equal(store_token_get(f->env, t1, now, &got), ERR_NOTFOUND);
	assert_int_equal(store_token_get(f->env, t2, now, &got), 0);
	assert_int_equal(got, b);
	assert_int_equal(store_account_del(f->env, "b@example.org"), 0);
	assert_int_equal(store_token_get(f->env, t2, now, &got), ERR_NOTFOUND);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM tokens"), 0);
	/* an expired row (as a past add would have left it) goes with the next add */
	assert_int_equal(store_token_add(f->env, a, t1, now + 1000), 0);
	assert_int_equal(store_token_add(f->env, a, t2, (int64_t)time(NULL) + 1), 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM tokens"), 2);
	sleep(2);
	assert_int_equal(store_token_add(f->env, a, t3, now + 1000), 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM tokens"), 2);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM pragma_table_info('tokens')"), 5);
	assert_int_equal(dir_int(f, "SELECT max(length(hash)) FROM tokens"), 32);
}

static struct store_activity *list_of(struct fx *f, int64_t id, size_t *n)
{
	struct store_activity *v = NULL;
	assert_int_equal(store_activity_list(f->env, id, &f->a, &v, n), 0);
	return v;
}

/* One row per (protocol, client, address); first_seen stays, last_seen moves; removals
 * are rows of their own; newest first; an unknown client is NULL. */
static void activity_upsert_and_list(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t b = add_account(f, "b@example.org", 0);
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(store_activity_seen(f->env, a, "imap", NULL, "127.0.0.1", now - 50), 0);
	assert_int_equal(store_activity_seen(f->env, a, "imap", NULL, "127.0.0.1", now - 40), 0);
	assert_int_equal(store_activity_seen(f->env, a, "imap", "Thunderbird/115.0",
					     "127.0.0.1", now - 30), 0);
	assert_int_equal(store_activity_removed(f->env, a, "pop3", NULL, "::1", 3, 4567, now - 20),
			 0);
	assert_int_equal(store_activity_seen(f->env, b, "pop3", NULL, "10.0.0.1", now), 0);
	/* an older time never moves last_seen back */
	assert_int_equal(store_activity_seen(f->env, a, "imap", NULL, "127.0.0.1", now - 45), 0);
	size_t n = 0;
	struct store_activity *v = list_of(f, a, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].kind, STORE_ACT_REMOVED);
	assert_string_equal(v[0].protocol, "pop3");
	assert_null(v[0].client);
	assert_string_equal(v[0].address, "::1");
	assert_int_equal(v[0].count, 3);
	assert_int_equal(v[0].bytes, 4567);
	assert_int_equal(v[0].last_seen, now - 20);
	assert_int_equal(v[1].kind, STORE_ACT_CLIENT);
	assert_string_equal(v[1].client, "Thunderbird/115.0");
	assert_int_equal(v[2].kind, STORE_ACT_CLIENT);
	assert_null(v[2].client);
	assert_int_equal(v[2].first_seen, now - 50);
	assert_int_equal(v[2].last_seen, now - 40);
	/* B sees only its own */
	v = list_of(f, b, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].address, "10.0.0.1");
	/* bad arguments, unknown accounts */
	assert_int_equal(store_activity_seen(f->env, a, "", NULL, NULL, now), ERR_INVAL);
	assert_int_equal(store_activity_seen(f->env, a, "IMAP'; --", NULL, NULL, now), ERR_INVAL);
	assert_int_equal(store_activity_seen(f->env, b + 100, "imap", NULL, NULL, now),
			 ERR_NOTFOUND);
	assert_int_equal(store_activity_removed(f->env, b + 100, "pop3", NULL, NULL, 1, 1, now),
			 ERR_NOTFOUND);
	assert_int_equal(store_activity_list(f->env, b + 100, &f->a, &v, &n), ERR_NOTFOUND);
	/* deleted with the account */
	assert_int_equal(store_account_del(f->env, "a@example.org"), 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients"), 1);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_removals"), 0);
}

/* Client strings are kept printable and bounded, whoever sends them. */
static void activity_sanitized(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t now = (int64_t)time(NULL);
	char longname[400];
	memset(longname, 'n', sizeof(longname));
	memcpy(longname + LIMIT_ACTIVITY_STRING - 1, "\xc3\xa9", 2); /* straddles the bound */
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_activity_seen(f->env, a, "imap", "bad\x01\r\nname\xff\xc3\xa9",
					     "1.2.3.4", now - 2), 0);
	assert_int_equal(store_activity_seen(f->env, a, "imap", longname, "", now - 1), 0);
	size_t n = 0;
	struct store_activity *v = list_of(f, a, &n);
	assert_int_equal(n, 2);
	assert_int_equal(strlen(v[0].client), LIMIT_ACTIVITY_STRING - 1);
	assert_int_equal(strspn(v[0].client, "n"), LIMIT_ACTIVITY_STRING - 1);
	assert_null(v[0].address); /* "" is unknown */
	assert_string_equal(v[1].client, "bad???name?\xc3\xa9");
}

/* Bounds: older than LIMIT_ACTIVITY_DAYS is dropped (and never listed), and at most
 * LIMIT_ACTIVITY_ROWS of each kind per account stay, the oldest going first. */
static void activity_bounds(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t b = add_account(f, "b@example.org", 0);
	int64_t now = (int64_t)time(NULL);
	int64_t window = (int64_t)LIMIT_ACTIVITY_DAYS * DAY;
	assert_int_equal(store_activity_seen(f->env, a, "imap", "old", NULL, now - window - 10), 0);
	assert_int_equal(store_activity_removed(f->env, a, "pop3", "old", NULL, 1, 1,
						now - window - 10), 0);
	assert_int_equal(store_activity_seen(f->env, b, "imap", "b's", NULL, now - window - 10),
			 0);
	/* not listed even before a write prunes it */
	size_t n = 0;
	list_of(f, a, &n);
	assert_int_equal(n, 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients"), 2);
	assert_int_equal(store_activity_seen(f->env, a, "imap", "new", NULL, now), 0);
	assert_int_equal(store_activity_removed(f->env, a, "pop3", "new", NULL, 1, 1, now), 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE client = 'old'"),
			 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_removals WHERE client = 'old'"),
			 0);
	/* another account's rows are its own writes' business */
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE client = 'b''s'"),
			 1);
	/* LIMIT_ACTIVITY_ROWS + 5 clients and removals: the 5 oldest of each go */
	for (int i = 0; i < LIMIT_ACTIVITY_ROWS + 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "client-%04d", i);
		int64_t t = now - window + 100 + i;
		assert_int_equal(store_activity_seen(f->env, a, "imap", name, "::1", t), 0);
		assert_int_equal(store_activity_removed(f->env, a, "pop3", name, "::1", 1, 10, t), 0);
	}
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE account_id = 1"),
			 LIMIT_ACTIVITY_ROWS);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_removals WHERE account_id = 1"),
			 LIMIT_ACTIVITY_ROWS);
	/* "new" (now) is the newest and stays; client-0000..0005 are the oldest: 0000..0005
	 * go (six: 1 + 1004 rows were there), client-0006 stays */
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE client = 'new'"),
			 1);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE account_id = 1 "
				    "AND client <= 'client-0005'"), 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE client = "
				    "'client-0006'"), 1);
	struct store_activity *v = list_of(f, a, &n);
	assert_int_equal(n, 2 * LIMIT_ACTIVITY_ROWS);
	assert_string_equal(v[0].client, "new");
	for (size_t i = 1; i < n; i++)
		assert_true(v[i - 1].last_seen >= v[i].last_seen);
	/* re-seeing a kept client adds no row and removes none */
	assert_int_equal(store_activity_seen(f->env, a, "imap", "client-0500", "::1", now), 0);
	assert_int_equal(dir_int(f, "SELECT count(*) FROM activity_clients WHERE client = "
				    "'client-0006'"), 1);
}

/* The cost of a session's activity write on its loop thread (reported, and bounded so
 * that a regression to a flushed write per call shows: an fsync alone is ~1 ms+). */
static void activity_write_cost(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t now = (int64_t)time(NULL);
	struct timespec t0, t1;
	const int calls = 10000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < calls; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "10.0.%d.%d", (i / 250) % 250, i % 250);
		/* a mix: mostly logins of known clients, some new ones */
		const char *ad = i % 10 ? "10.0.0.1" : addr;
		assert_int_equal(store_activity_seen(f->env, a, "imap", NULL, ad, now + i), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("activity_seen: %d calls in %.3f s, %.1f us per call\n", calls, secs,
	       secs / calls * 1e6);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < calls; i++)
		assert_int_equal(store_activity_removed(f->env, a, "pop3", NULL, "10.0.0.1", 1, 100,
							now + i), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs2 = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("activity_removed: %d calls in %.3f s, %.1f us per call\n", calls, secs2,
	       secs2 / calls * 1e6);
	assert_true(secs / calls < 0.001);
	assert_true(secs2 / calls < 0.001);
	/* the handle is back to flushed commits for everything else */
	assert_int_equal(store_account_add(f->env, "c@example.org", NULL, 0, NULL), 0);
}

/* Identities: the account's aliases, not another account's. */
static void aliases_of_account(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t b = add_account(f, "b@example.org", 0);
	assert_int_equal(store_alias_add(f->env, "z-alias@example.org", "a@example.org"), 0);
	assert_int_equal(store_alias_add(f->env, "alias@Example.NET", "a@example.org"), 0);
	assert_int_equal(store_alias_add(f->env, "b-alias@example.org", "b@example.org"), 0);
	const char **names = NULL;
	size_t n = 0;
	assert_int_equal(store_account_aliases(f->env, a, &f->a, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "alias@example.net");
	assert_string_equal(names[1], "z-alias@example.org");
	assert_int_equal(store_account_aliases(f->env, b, &f->a, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "b-alias@example.org");
	int64_t c = add_account(f, "c@example.org", 0);
	assert_int_equal(store_account_aliases(f->env, c, &f->a, &names, &n), 0);
	assert_int_equal(n, 0);
	assert_null(names);
	assert_int_equal(store_account_aliases(f->env, c + 1, &f->a, &names, &n), ERR_NOTFOUND);
}

int main(void)
{
	log_set_level(LOG_ERR);
	int failed = 0;
	for (size_t i = 0; store_backends[i]; i++) {
		void *b = (void *)store_backends[i];
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, b)
		const struct CMUnitTest tests[] = {
			T(blob_roundtrip),         T(blob_id_check),
			T(blob_isolation),         T(blob_quota_and_size),
			T(blob_type_check),        T(blob_expiry_and_prune),
			T(token_expiry_slides),    T(token_delete_and_prune),
			T(activity_upsert_and_list), T(activity_sanitized),
			T(activity_bounds),        T(activity_write_cost),
			T(aliases_of_account),
		};
#undef T
		failed += _cmocka_run_group_tests(store_backends[i]->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
