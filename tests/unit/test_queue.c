/* test_queue.c: the outbound queue (src/outbound/queue*.c): the schema, adding, leasing
 * by domain, recording results (the message and its file leave when nothing is
 * pending), leases running out, hold/release, retry, delete (also of a message being
 * sent), stats, recovery at server start (leases, orphans, a missing file, finished
 * messages), and the engine's threads on one struct queue at once.
 * The commit order and the crash between link and commit are test_queue_commit.c's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "outbound/queue.h"
#include "unit_tmpdir.h"

static char data_dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(data_dir, sizeof(data_dir), "/tmp/kasten-queue-XXXXXX");
	assert_non_null(mkdtemp(data_dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(data_dir);
	return 0;
}

/* A spool file of n bytes under the data dir (the queue's file system), its path in out. */
static void make_spool(const char *name, size_t n, char out[256])
{
	snprintf(out, 256, "%s/%s", data_dir, name);
	FILE *f = fopen(out, "w");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc(i % 78 == 77 ? '\n' : 'a' + (int)(i % 26), f);
	assert_int_equal(fclose(f), 0);
}

static struct queue *open_queue(bool server)
{
	struct queue *q = NULL;
	assert_int_equal(queue_open(data_dir, server, &q), 0);
	assert_non_null(q);
	return q;
}

/* Queue one message from sender to the given recipients; returns its qid in qid. */
static void add_msg(struct queue *q, const char *sender, const char *const *rcpts, size_t n,
                    char qid[QUEUE_ID_MAX])
{
	char spool[256];
	static int seq;
	char name[32];
	snprintf(name, sizeof(name), "spool-%d", seq++);
	make_spool(name, 4096, spool);
	struct queue_rcpt_in in[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		in[i] = (struct queue_rcpt_in){.address = rcpts[i], .notify = QUEUE_NOTIFY_DEFAULT};
	struct queue_msg_in m = {
	    .spool_path = spool, .size = 4096, .sender = sender, .rcpts = in, .n_rcpts = n};
	assert_int_equal(queue_add(q, &m, qid), 0);
	/* the caller still owns its spool file and removes it, as deliver/ does */
	assert_int_equal(unlink(spool), 0);
}

static char *msg_path(const char *qid)
{
	static char p[256];
	snprintf(p, sizeof(p), "%s/queue/msg/%s", data_dir, qid);
	return p;
}

static int64_t db_int(const char *sql)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/queue/queue.db", data_dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static int db_exec(const char *sql)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/queue/queue.db", data_dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static void test_schema(void **state)
{
	(void)state;
	struct queue *q = open_queue(false);
	queue_close(&q);
	assert_null(q);
	queue_close(&q); /* a no-op on NULL */
	assert_int_equal(db_int("PRAGMA user_version"), 2);
	assert_int_equal(db_int("SELECT value FROM meta WHERE key = 'durable'"), 0);
	assert_int_equal(db_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	                        "name IN ('rcpt_due', 'rcpt_next', 'rcpt_msg', 'msg_created')"),
	                 4);
	/* the journal mode is stored in the file: WAL */
	char p[256];
	snprintf(p, sizeof(p), "%s/queue/queue.db", data_dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	/* a version 1 file (no meta) is migrated when opened, its rows kept */
	assert_int_equal(sqlite3_exec(db,
	                              "DROP TABLE meta; PRAGMA user_version = 1; "
	                              "INSERT INTO msg(qid, sender, ret, body, smtputf8, "
	                              "requiretls, kind, account_id, size, created) "
	                              "VALUES('00000000000000aa', '', 0, 0, 0, 0, 0, 0, 1, 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	q = open_queue(false);
	queue_close(&q);
	assert_int_equal(db_int("PRAGMA user_version"), 2);
	assert_int_equal(db_int("SELECT count(*) FROM meta"), 1);
	assert_int_equal(db_int("SELECT count(*) FROM msg"), 1);
	/* a file from a newer program is refused, never rewritten */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	q = NULL;
	assert_int_equal(queue_open(data_dir, false, &q), ERR_PERM);
	assert_null(q);
	assert_int_equal(db_int("PRAGMA user_version"), 99);
}

static void test_add_show_stats(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	char qid[QUEUE_ID_MAX];
	char spool[256];
	make_spool("one", 5000, spool);
	struct queue_rcpt_in rc[2] = {
	    {.address = "Bob@Example.TEST",
	     .orcpt = "rfc822;Bob@Example.TEST",
	     .notify = QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY},
	    {.address = "carol@other.test"},
	};
	struct queue_msg_in m = {.spool_path = spool,
	                         .size = 5000,
	                         .sender = "alice@local.test",
	                         .envid = "env-1",
	                         .ret = QUEUE_RET_HDRS,
	                         .body = QUEUE_BODY_8BITMIME,
	                         .smtputf8 = true,
	                         .requiretls = true,
	                         .account_id = 7,
	                         .dkim_header = "DKIM-Signature: v=1\r\n",
	                         .rcpts = rc,
	                         .n_rcpts = 2};
	assert_int_equal(queue_add(q, &m, qid), 0);
	assert_int_equal(strlen(qid), 16);
	assert_int_equal(strspn(qid, "0123456789abcdef"), 16);
	/* a hard link of the spool file: the same inode, the bytes never copied */
	struct stat a, b;
	assert_int_equal(stat(spool, &a), 0);
	assert_int_equal(stat(msg_path(qid), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);

	struct arena ar;
	arena_init(&ar, 1 << 20);
	struct queue_show *sh = NULL;
	assert_int_equal(queue_show(q, qid, &ar, &sh), 0);
	assert_string_equal(sh->msg.qid, qid);
	assert_string_equal(sh->msg.sender, "alice@local.test");
	assert_string_equal(sh->msg.envid, "env-1");
	assert_string_equal(sh->msg.dkim_header, "DKIM-Signature: v=1\r\n");
	assert_string_equal(sh->msg.path, msg_path(qid));
	assert_int_equal(sh->msg.size, 5000);
	assert_int_equal(sh->msg.ret, QUEUE_RET_HDRS);
	assert_int_equal(sh->msg.body, QUEUE_BODY_8BITMIME);
	assert_true(sh->msg.smtputf8 && sh->msg.requiretls);
	assert_int_equal(sh->msg.account_id, 7);
	assert_false(sh->held);
	assert_int_equal(sh->n_rcpts, 2);
	assert_string_equal(sh->rcpts[0].address, "Bob@Example.TEST");
	assert_string_equal(sh->rcpts[0].domain, "example.test"); /* lower-cased */
	assert_string_equal(sh->rcpts[0].orcpt, "rfc822;Bob@Example.TEST");
	assert_int_equal(sh->rcpts[0].notify, QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY);
	assert_int_equal(sh->rcpts[0].state, QUEUE_RCPT_PENDING);
	assert_null(sh->rcpts[1].orcpt);
	assert_int_equal(queue_show(q, "0000000000000000", &ar, &sh), ERR_NOTFOUND);

	struct queue_stats st;
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.rcpts, 2);
	assert_int_equal(st.bytes, 5000);
	assert_true(st.oldest > 0 && st.oldest <= (int64_t)time(NULL));

	/* bad input: no recipient, no domain, a missing spool file */
	struct queue_rcpt_in bad = {.address = "nodomain"};
	struct queue_msg_in m2 = m;
	m2.n_rcpts = 0;
	assert_int_equal(queue_add(q, &m2, qid), ERR_INVAL);
	m2.rcpts = &bad;
	m2.n_rcpts = 1;
	assert_int_equal(queue_add(q, &m2, qid), ERR_INVAL);
	m2 = m;
	m2.spool_path = "/nonexistent/spool";
	assert_int_equal(queue_add(q, &m2, qid), ERR_INVAL);
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(unit_count_dir(msg_path("")), 1);
	arena_free(&ar);
	queue_close(&q);
}

/* One bad message of a batch fails alone; the others are queued by the same commit. */
static void test_batch_results(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	char s1[256], s2[256];
	make_spool("b1", 100, s1);
	make_spool("b2", 100, s2);
	struct queue_rcpt_in rc = {.address = "x@a.test"};
	struct queue_msg_in m1 = {.spool_path = s1,
	                          .size = 100,
	                          .sender = "",
	                          .rcpts = &rc,
	                          .n_rcpts = 1,
	                          .kind = QUEUE_KIND_DSN};
	struct queue_msg_in bad = {
	    .spool_path = "/nonexistent", .size = 1, .sender = "", .rcpts = &rc, .n_rcpts = 1};
	struct queue_msg_in m2 = m1;
	m2.spool_path = s2;
	const struct queue_msg_in *v[3] = {&m1, &bad, &m2};
	int res[3];
	char qids[3][QUEUE_ID_MAX];
	assert_int_equal(queue_add_batch(q, v, 3, res, qids), 0);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], ERR_INVAL);
	assert_string_equal(qids[1], "");
	assert_int_equal(res[2], 0);
	assert_string_not_equal(qids[0], qids[2]);
	assert_int_equal(unit_count_dir(msg_path("")), 2);
	assert_int_equal(queue_add_batch(q, v, 0, res, qids), ERR_INVAL);
	queue_close(&q);
}

static void test_lease_record(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r1[] = {"a@one.test", "b@TWO.test", "c@one.test"};
	const char *r2[] = {"d@two.test"};
	char q1[QUEUE_ID_MAX], q2[QUEUE_ID_MAX];
	add_msg(q, "s@local.test", r1, 3, q1);
	add_msg(q, "", r2, 1, q2);
	int64_t now = (int64_t)time(NULL);
	assert_true(queue_next_due(q) <= now);

	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	/* one domain at a time, every due recipient of it, grouped by message */
	assert_int_equal(queue_lease(q, "two.test", now, 60, 10, &a, &it, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(it[0].qid, q1);
	assert_int_equal(it[0].n_rcpts, 1);
	assert_string_equal(it[0].rcpts[0].address, "b@TWO.test");
	assert_string_equal(it[0].domain, "two.test");
	assert_string_equal(it[1].qid, q2);
	assert_string_equal(it[1].sender, "");
	assert_int_equal(it[1].rcpts[0].attempts, 0);
	/* leased: not again, and the scheduler's next time is the end of the lease */
	assert_int_equal(queue_lease(q, "two.test", now, 60, 10, &a, &it, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_lease(q, NULL, now, 60, 10, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].domain, "one.test");
	assert_int_equal(it[0].n_rcpts, 2);
	int64_t msg1 = it[0].msg_id;
	int64_t a_id = it[0].rcpts[0].id, c_id = it[0].rcpts[1].id;
	assert_int_equal(queue_lease(q, NULL, now, 60, 10, &a, &it, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_next_due(q), now + 60);

	/* a delivered, c deferred by an hour */
	struct queue_result res[2] = {
	    {.rcpt_id = a_id, .outcome = QUEUE_DELIVERED, .error = "250 2.0.0 ok"},
	    {.rcpt_id = c_id,
	     .outcome = QUEUE_DEFERRED,
	     .next_at = now + 3600,
	     .error = "451 4.3.0 try later",
	     .delay_notified = true},
	};
	assert_int_equal(queue_record(q, msg1, res, 2), 0);
	assert_int_equal(queue_lease(q, "one.test", now + 3599, 60, 10, &a, &it, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_lease(q, "one.test", now + 3600, 60, 10, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].n_rcpts, 1);
	assert_int_equal(it[0].rcpts[0].id, c_id);
	assert_int_equal(it[0].rcpts[0].attempts, 1);
	assert_true(it[0].rcpts[0].delay_notified);
	/* c fails: b (two.test, still leased) keeps message 1 and its file */
	res[0] = (struct queue_result){
	    .rcpt_id = c_id, .outcome = QUEUE_FAILED, .error = "550 5.1.1 no such user"};
	assert_int_equal(queue_record(q, msg1, res, 1), 0);
	assert_int_equal(access(msg_path(q1), F_OK), 0);
	/* b relayed: nothing of message 1 is pending: rows and file go */
	struct arena a2;
	arena_init(&a2, 1 << 20);
	struct queue_show *sh;
	assert_int_equal(queue_show(q, q1, &a2, &sh), 0);
	assert_string_equal(sh->rcpts[2].last_error, "550 5.1.1 no such user");
	assert_int_equal(sh->rcpts[2].state, QUEUE_RCPT_FAILED);
	assert_int_equal(sh->rcpts[0].state, QUEUE_RCPT_DELIVERED);
	arena_free(&a2);
	int64_t bid = db_int("SELECT id FROM rcpt WHERE address = 'b@TWO.test'");
	res[0] = (struct queue_result){.rcpt_id = bid, .outcome = QUEUE_RELAYED};
	assert_int_equal(queue_record(q, msg1, res, 1), 0);
	assert_int_equal(queue_record(q, msg1, res, 1), ERR_NOTFOUND);
	assert_int_equal(db_int("SELECT count(*) FROM rcpt"), 1);
	/* the rows are gone; the file stays until their removal is durable: the next add
	 * (a durable commit) unlinks it */
	assert_int_equal(access(msg_path(q1), F_OK), 0);
	char q3[QUEUE_ID_MAX];
	add_msg(q, "", r2, 1, q3);
	assert_int_equal(access(msg_path(q1), F_OK), -1);
	arena_free(&a);
	queue_close(&q);
}

/* A lease that is never recorded (a worker that hung) runs out: due again. */
static void test_lease_expiry(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"x@exp.test"};
	char qid[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 1, qid);
	int64_t now = (int64_t)time(NULL);
	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	assert_int_equal(queue_lease(q, NULL, now, 10, 5, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(queue_lease(q, NULL, now + 9, 10, 5, &a, &it, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_lease(q, NULL, now + 10, 10, 5, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(queue_lease(q, NULL, now, 0, 5, &a, &it, &n), ERR_INVAL);
	arena_free(&a);
	queue_close(&q);
}

/* A lease takes at most max messages, the longest waiting first, each once however many
 * of its recipients are due at the domain. */
static void test_lease_max(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"a@max.test", "b@max.test", "c@max.test"};
	char q1[QUEUE_ID_MAX], q2[QUEUE_ID_MAX], q3[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 3, q1);
	add_msg(q, "s@l.test", r, 2, q2);
	add_msg(q, "s@l.test", r, 1, q3);
	int64_t now = (int64_t)time(NULL);
	/* q1 waits longest, then q3, then q2 */
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "UPDATE rcpt SET next_at = next_at - 100 WHERE msg_id = "
	         "(SELECT id FROM msg WHERE qid = '%s')",
	         q1);
	assert_int_equal(db_exec(sql), 0);
	snprintf(sql, sizeof(sql),
	         "UPDATE rcpt SET next_at = next_at - 50 WHERE msg_id = "
	         "(SELECT id FROM msg WHERE qid = '%s')",
	         q3);
	assert_int_equal(db_exec(sql), 0);
	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	assert_int_equal(queue_lease(q, "max.test", now, 60, 2, &a, &it, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(it[0].qid, q1);
	assert_int_equal(it[0].n_rcpts, 3);
	assert_string_equal(it[1].qid, q3);
	assert_int_equal(it[1].n_rcpts, 1);
	assert_int_equal(queue_lease(q, "max.test", now, 60, 2, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].qid, q2);
	assert_int_equal(it[0].n_rcpts, 2);
	arena_free(&a);
	queue_close(&q);
}

static void test_hold_release_retry(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"x@hold.test", "y@hold.test"};
	char qid[QUEUE_ID_MAX], other[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 2, qid);
	add_msg(q, "s@l.test", r, 1, other);
	int64_t now = (int64_t)time(NULL);
	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	assert_int_equal(queue_hold(q, qid), 0);
	assert_int_equal(queue_hold(q, "ffffffffffffffff"), ERR_NOTFOUND);
	assert_int_equal(queue_lease(q, NULL, now, 60, 5, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].qid, other);
	/* a held message is no work: only other's lease end is */
	assert_int_equal(queue_next_due(q), now + 60);
	struct queue_result res = {.rcpt_id = it[0].rcpts[0].id,
	                           .outcome = QUEUE_DEFERRED,
	                           .next_at = now + 86400,
	                           .error = "421 busy"};
	assert_int_equal(queue_record(q, it[0].msg_id, &res, 1), 0);
	assert_int_equal(queue_next_due(q), now + 86400);
	assert_int_equal(queue_release(q, qid), 0);
	assert_int_equal(queue_next_due(q), db_int("SELECT created FROM msg ORDER BY id LIMIT 1"));

	/* retry of one message: due now; of all: every one, a leased one keeps its lease */
	size_t changed = 99;
	assert_int_equal(queue_retry(q, other, now + 5, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(queue_lease(q, NULL, now + 5, 60, 5, &a, &it, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(queue_retry(q, NULL, now + 6, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(queue_retry(q, "0123", now, NULL), ERR_NOTFOUND);
	arena_free(&a);
	queue_close(&q);
}

/* The engine's check before it sends a message it leased a while ago: a hold or a
 * delete since then keeps it from being sent; a released one is due at once. */
static void test_lease_check(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"x@chk.test"};
	char held[QUEUE_ID_MAX], gone[QUEUE_ID_MAX], kept[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 1, held);
	add_msg(q, "s@l.test", r, 1, gone);
	add_msg(q, "s@l.test", r, 1, kept);
	int64_t now = (int64_t)time(NULL);
	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	assert_int_equal(queue_lease(q, "chk.test", now, 3600, 5, &a, &it, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(queue_hold(q, held), 0);
	assert_int_equal(queue_delete(q, gone, now), 1); /* being sent: marked */
	for (size_t i = 0; i < n; i++) {
		int want = strcmp(it[i].qid, kept) == 0;
		assert_int_equal(queue_lease_check(q, it[i].msg_id), want);
	}
	/* the deleted message is gone; the held one keeps no lease */
	assert_int_equal(db_int("SELECT count(*) FROM msg"), 2);
	assert_int_equal(db_int("SELECT count(*) FROM rcpt WHERE lease_until > 0"), 1);
	assert_int_equal(queue_release(q, held), 0);
	arena_reset(&a);
	assert_int_equal(queue_lease(q, "chk.test", now + 1, 3600, 5, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].qid, held);
	arena_free(&a);
	queue_close(&q);
}

/* delete: at once when idle; when a recipient is being sent, marked and removed by
 * the worker's record, whose results for it are ignored. */
static void test_delete(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"x@del.test", "y@del2.test"};
	char idle[QUEUE_ID_MAX], busy[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 2, idle);
	assert_int_equal(queue_delete(q, idle, (int64_t)time(NULL)), 0);
	assert_int_equal(access(msg_path(idle), F_OK), -1);
	assert_int_equal(queue_delete(q, idle, (int64_t)time(NULL)), ERR_NOTFOUND);

	add_msg(q, "s@l.test", r, 2, busy);
	int64_t now = (int64_t)time(NULL);
	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	assert_int_equal(queue_lease(q, "del.test", now, 600, 5, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(queue_delete(q, busy, now), 1);
	/* the other recipient is not leased any more either: deleted */
	struct queue_item *it2;
	assert_int_equal(queue_lease(q, NULL, now, 600, 5, &a, &it2, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(access(msg_path(busy), F_OK), 0); /* the worker still reads it */
	struct queue_result res = {
	    .rcpt_id = it[0].rcpts[0].id, .outcome = QUEUE_DEFERRED, .next_at = now + 60};
	assert_int_equal(queue_record(q, it[0].msg_id, &res, 1), 0);
	queue_close(&q); /* makes the removal durable, then unlinks the file */
	assert_int_equal(access(msg_path(busy), F_OK), -1);
	q = open_queue(false);
	struct queue_stats st;
	assert_int_equal(queue_stats(q, &st), 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.rcpts, 0);
	assert_int_equal(st.oldest, -1);
	arena_free(&a);
	queue_close(&q);
}

struct list_acc {
	int n;
	char first_rcpts[256];
	bool held;
};

static int list_cb(void *ctx, const struct queue_entry *e)
{
	struct list_acc *acc = ctx;
	if (acc->n++ == 0) {
		snprintf(acc->first_rcpts, sizeof(acc->first_rcpts), "%s", e->rcpts);
		acc->held = e->held;
	}
	return 0;
}

static int list_stop(void *ctx, const struct queue_entry *e)
{
	(void)ctx;
	(void)e;
	return 42;
}

static void test_list(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"x@l1.test", "y@l2.test"};
	char a[QUEUE_ID_MAX], b[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 2, a);
	add_msg(q, "s@l.test", r, 1, b);
	assert_int_equal(queue_hold(q, a), 0);
	struct list_acc acc = {0};
	assert_int_equal(queue_list(q, (int64_t)time(NULL), list_cb, &acc), 0);
	assert_int_equal(acc.n, 2);
	assert_true(acc.held);
	assert_true(strstr(acc.first_rcpts, "x@l1.test") && strstr(acc.first_rcpts, "y@l2.test"));
	assert_int_equal(queue_list(q, 0, list_stop, NULL), 42);
	queue_close(&q);
}

/* Recovery at a server's start: leases end, files no row names go, a row whose file
 * is missing fails its recipients and stays visible, a finished message goes. */
static void test_recovery(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	const char *r[] = {"x@rec.test"};
	char leased[QUEUE_ID_MAX], lost[QUEUE_ID_MAX], done[QUEUE_ID_MAX];
	add_msg(q, "s@l.test", r, 1, leased);
	add_msg(q, "s@l.test", r, 1, lost);
	add_msg(q, "s@l.test", r, 1, done);
	int64_t now = (int64_t)time(NULL);
	struct arena a;
	arena_init(&a, 1 << 20);
	struct queue_item *it;
	size_t n;
	assert_int_equal(queue_lease(q, NULL, now, 3600, 5, &a, &it, &n), 0);
	assert_int_equal(n, 3);
	/* done: deleted by the admin while leased, then the server died before the record */
	assert_int_equal(queue_delete(q, done, now), 1);
	queue_close(&q);
	assert_int_equal(unlink(msg_path(lost)), 0);
	char orphan[256];
	snprintf(orphan, sizeof(orphan), "%s", msg_path("00000000deadbeef"));
	int fd = open(orphan, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(orphan, sizeof(orphan), "%s", msg_path(".tmp-1"));
	fd = open(orphan, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	/* an admin process (server = false) recovers nothing */
	q = open_queue(false);
	queue_close(&q);
	assert_int_equal(unit_count_dir(msg_path("")), 3); /* leased, done, deadbeef */

	q = open_queue(true);
	assert_int_equal(unit_count_dir(msg_path("")), 1);
	assert_int_equal(access(msg_path(leased), F_OK), 0);
	assert_int_equal(access(msg_path(".tmp-1"), F_OK), -1);
	assert_true(queue_next_due(q) <= (int64_t)time(NULL));
	assert_int_equal(queue_lease(q, NULL, (int64_t)time(NULL), 60, 5, &a, &it, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].qid, leased);
	struct queue_show *sh;
	assert_int_equal(queue_show(q, lost, &a, &sh), 0);
	assert_int_equal(sh->rcpts[0].state, QUEUE_RCPT_FAILED);
	assert_string_equal(sh->rcpts[0].last_error, "queue file missing");
	assert_int_equal(queue_show(q, done, &a, &sh), ERR_NOTFOUND);
	/* the lost message stays (visible) across another start, until deleted */
	queue_close(&q);
	q = open_queue(true);
	assert_int_equal(queue_show(q, lost, &a, &sh), 0);
	assert_int_equal(queue_delete(q, lost, (int64_t)time(NULL)), 0);
	arena_free(&a);
	queue_close(&q);
}

/* ---- the engine's threads on one struct queue ---- */

#define THREAD_MSGS 200
#define THREAD_WORKERS 4

struct thread_ctx {
	struct queue *q;
	int delivered;
	pthread_mutex_t lock;
	bool adding_done;
};

static void *adder(void *arg)
{
	struct thread_ctx *t = arg;
	char spool[256];
	make_spool("thread-spool", 512, spool);
	for (int i = 0; i < THREAD_MSGS; i += 4) {
		struct queue_rcpt_in rc[2] = {{.address = "a@t1.test"}, {.address = "b@t2.test"}};
		struct queue_msg_in m = {.spool_path = spool,
		                         .size = 512,
		                         .sender = "s@l.test",
		                         .rcpts = rc,
		                         .n_rcpts = 2};
		const struct queue_msg_in *v[4] = {&m, &m, &m, &m};
		int res[4];
		char qids[4][QUEUE_ID_MAX];
		assert_int_equal(queue_add_batch(t->q, v, 4, res, qids), 0);
		for (int k = 0; k < 4; k++)
			assert_int_equal(res[k], 0);
	}
	pthread_mutex_lock(&t->lock);
	t->adding_done = true;
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void *worker(void *arg)
{
	struct thread_ctx *t = arg;
	struct arena a;
	arena_init(&a, 1 << 20);
	for (;;) {
		pthread_mutex_lock(&t->lock);
		bool done = t->adding_done;
		pthread_mutex_unlock(&t->lock);
		struct queue_item *it;
		size_t n;
		arena_reset(&a);
		assert_int_equal(queue_lease(t->q, NULL, (int64_t)time(NULL), 600, 8, &a, &it, &n),
		                 0);
		for (size_t i = 0; i < n; i++) {
			struct queue_result res[2];
			for (size_t k = 0; k < it[i].n_rcpts; k++)
				res[k] = (struct queue_result){.rcpt_id = it[i].rcpts[k].id,
				                               .outcome = QUEUE_DELIVERED};
			assert_int_equal(queue_record(t->q, it[i].msg_id, res, it[i].n_rcpts), 0);
			pthread_mutex_lock(&t->lock);
			t->delivered += (int)it[i].n_rcpts;
			pthread_mutex_unlock(&t->lock);
		}
		if (n == 0 && done && queue_next_due(t->q) < 0)
			break;
	}
	arena_free(&a);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct thread_ctx t = {.q = open_queue(true)};
	pthread_mutex_init(&t.lock, NULL);
	pthread_t add, w[THREAD_WORKERS];
	assert_int_equal(pthread_create(&add, NULL, adder, &t), 0);
	for (int i = 0; i < THREAD_WORKERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, worker, &t), 0);
	pthread_join(add, NULL);
	for (int i = 0; i < THREAD_WORKERS; i++)
		pthread_join(w[i], NULL);
	/* every recipient exactly once, and the queue is empty */
	assert_int_equal(t.delivered, 2 * THREAD_MSGS);
	struct queue_stats st;
	assert_int_equal(queue_stats(t.q, &st), 0);
	assert_int_equal(st.messages, 0);
	pthread_mutex_destroy(&t.lock);
	queue_close(&t.q);
	assert_int_equal(unit_count_dir(msg_path("")), 0);
}

/* Without adds, finished messages' files wait for a durable commit at most until
 * LIMIT_QUEUE_DOOMED of them are waiting: that record is durable and unlinks them. */
static void test_doomed_bound(void **state)
{
	(void)state;
	struct queue *q = open_queue(true);
	char spool[256];
	make_spool("doomed", 64, spool);
	struct queue_rcpt_in rc = {.address = "x@doomed.test"};
	struct queue_msg_in m = {
	    .spool_path = spool, .size = 64, .sender = "", .rcpts = &rc, .n_rcpts = 1};
	const struct queue_msg_in *v[256];
	for (int i = 0; i < 256; i++)
		v[i] = &m;
	int res[256];
	static char qids[256][QUEUE_ID_MAX];
	for (int k = 0; k < LIMIT_QUEUE_DOOMED; k += 256)
		assert_int_equal(queue_add_batch(q, v, 256, res, qids), 0);
	struct arena a;
	arena_init(&a, 64u << 20);
	size_t done = 0;
	while (done < LIMIT_QUEUE_DOOMED) {
		struct queue_item *it;
		size_t n;
		arena_reset(&a);
		assert_int_equal(queue_lease(q, NULL, (int64_t)time(NULL), 600, 1000, &a, &it, &n),
		                 0);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++, done++) {
			struct queue_result r = {.rcpt_id = it[i].rcpts[0].id,
			                         .outcome = QUEUE_DELIVERED};
			if (done == LIMIT_QUEUE_DOOMED - 1) /* every file still there */
				assert_int_equal(unit_count_dir(msg_path("")), LIMIT_QUEUE_DOOMED);
			assert_int_equal(queue_record(q, it[i].msg_id, &r, 1), 0);
		}
	}
	assert_int_equal(unit_count_dir(msg_path("")), 0);
	arena_free(&a);
	queue_close(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_show_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_results, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_release_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_doomed_bound, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
