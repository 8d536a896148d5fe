/* test_queue_commit.c: the commit rule of the outbound queue (queue.h): a batch's files
 * are on disk (syncfs, or an fdatasync of each file and an fsync of msg/) before any row
 * names them, and a crash anywhere between the links and the commit loses nothing that
 * was acknowledged and leaves nothing behind after the next server start.
 *
 * Watched through the linker (tests/unit/meson.build): this test is linked with
 * --wrap=syncfs --wrap=fsync --wrap=fdatasync --wrap=flush_prefer_syncfs, so each flush
 * of the library is recorded together with the number of rows another connection sees
 * committed at that moment, the test chooses which way a batch is flushed, and a
 * forked child can be made to _exit at a flush (before or after it). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "outbound/queue.h"
#include "unit_tmpdir.h"

static char data_dir[64];

/* ---- the recorder ---- */

enum ev_kind { EV_SYNCFS, EV_FSYNC, EV_FDATASYNC };
struct ev {
	enum ev_kind kind;
	ino_t ino;
	int64_t rows; /* msg rows committed when the flush ran */
};
static struct ev evs[64];
static size_t nev;
static bool recording;
static bool prefer_syncfs;
enum crash_at { CRASH_NONE, CRASH_BEFORE_FLUSH, CRASH_AFTER_FLUSH };
static enum crash_at crash;

int __real_syncfs(int fd);
int __wrap_syncfs(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
bool __wrap_flush_prefer_syncfs(uint64_t max_bytes);

bool __wrap_flush_prefer_syncfs(uint64_t max_bytes)
{
	(void)max_bytes;
	return prefer_syncfs;
}

static int64_t committed_rows(void)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/queue/queue.db", data_dir);
	sqlite3 *db;
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	sqlite3_stmt *s;
	int64_t n = -1;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM msg", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return n;
}

/* Record one flush; in a crash run, _exit before or after the real call. The last
 * flush of a batch is the syncfs or the fsync of msg/ (files get fdatasync). */
static int flushed(enum ev_kind kind, int fd, int (*real)(int))
{
	bool last = kind != EV_FDATASYNC;
	if (crash == CRASH_BEFORE_FLUSH)
		_exit(77);
	if (recording && nev < 64) {
		struct stat st;
		evs[nev++] = (struct ev){.kind = kind,
		                         .ino = fstat(fd, &st) == 0 ? st.st_ino : 0,
		                         .rows = committed_rows()};
	}
	int r = real(fd);
	if (crash == CRASH_AFTER_FLUSH && last)
		_exit(78);
	return r;
}

int __wrap_syncfs(int fd)
{
	return flushed(EV_SYNCFS, fd, __real_syncfs);
}

int __wrap_fsync(int fd)
{
	return flushed(EV_FSYNC, fd, __real_fsync);
}

int __wrap_fdatasync(int fd)
{
	return flushed(EV_FDATASYNC, fd, __real_fdatasync);
}

/* ---- helpers ---- */

static int setup(void **state)
{
	(void)state;
	snprintf(data_dir, sizeof(data_dir), "/tmp/kasten-qcommit-XXXXXX");
	assert_non_null(mkdtemp(data_dir));
	nev = 0;
	recording = false;
	crash = CRASH_NONE;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(data_dir);
	return 0;
}

static char *path_in(const char *sub, const char *name)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/%s%s", data_dir, sub, name);
	return p;
}

#define BATCH 8

/* Queue a batch of BATCH 4 KB messages; qids into qids. Returns the call's result. */
static int add_batch(struct queue *q, char (*qids)[QUEUE_ID_MAX], int *res)
{
	static int seq;
	char spools[BATCH][256];
	struct queue_rcpt_in rc = {.address = "r@remote.test"};
	struct queue_msg_in m[BATCH];
	const struct queue_msg_in *v[BATCH];
	for (int i = 0; i < BATCH; i++) {
		snprintf(spools[i], sizeof(spools[i]), "%s/spool-%d", data_dir, seq++);
		FILE *f = fopen(spools[i], "w");
		assert_non_null(f);
		for (int k = 0; k < 4096; k++)
			fputc('a' + k % 26, f);
		assert_int_equal(fclose(f), 0);
		m[i] = (struct queue_msg_in){.spool_path = spools[i],
		                             .size = 4096,
		                             .sender = "s@local.test",
		                             .rcpts = &rc,
		                             .n_rcpts = 1};
		v[i] = &m[i];
	}
	return queue_add_batch(q, v, BATCH, res, qids);
}

/* Every flush ran while no row of the batch was committed, and the batch's files were
 * all covered: one syncfs, or an fdatasync of each file and then an fsync of msg/. */
static void check_order(bool syncfs_way, char (*qids)[QUEUE_ID_MAX], int64_t rows_before)
{
	assert_true(nev > 0);
	for (size_t i = 0; i < nev; i++)
		assert_int_equal(evs[i].rows, rows_before);
	struct stat dir;
	assert_int_equal(stat(path_in("queue/msg", ""), &dir), 0);
	if (syncfs_way) {
		assert_int_equal(nev, 1);
		assert_int_equal(evs[0].kind, EV_SYNCFS);
		return;
	}
	assert_int_equal(nev, BATCH + 1);
	for (int i = 0; i < BATCH; i++) {
		struct stat st;
		assert_int_equal(stat(path_in("queue/msg/", qids[i]), &st), 0);
		assert_int_equal(evs[i].kind, EV_FDATASYNC);
		assert_int_equal(evs[i].ino, st.st_ino);
	}
	assert_int_equal(evs[BATCH].kind, EV_FSYNC);
	assert_int_equal(evs[BATCH].ino, dir.st_ino);
}

static void run_order(bool syncfs_way)
{
	struct queue *q = NULL;
	assert_int_equal(queue_open(data_dir, true, &q), 0);
	prefer_syncfs = syncfs_way;
	char qids[BATCH][QUEUE_ID_MAX];
	int res[BATCH];
	for (int round = 0; round < 2; round++) {
		int64_t before = committed_rows();
		uint64_t flushes = queue_flush_count();
		nev = 0;
		recording = true;
		assert_int_equal(add_batch(q, qids, res), 0);
		recording = false;
		for (int i = 0; i < BATCH; i++)
			assert_int_equal(res[i], 0);
		check_order(syncfs_way, qids, before);
		/* the counter counts exactly these flushes */
		assert_int_equal(queue_flush_count() - flushes, nev);
		assert_int_equal(committed_rows(), before + BATCH);
	}
	queue_close(&q);
}

static void test_order_syncfs(void **state)
{
	(void)state;
	run_order(true);
}

static void test_order_fdatasync(void **state)
{
	(void)state;
	run_order(false);
}

/* A child acknowledges one batch, then dies at a flush of the next (before or after
 * it: both between the links and the commit). The next server start keeps every
 * acknowledged message with its file and removes every file of the dead batch. */
static void run_crash(enum crash_at at, bool syncfs_way, int want_status)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		prefer_syncfs = syncfs_way;
		struct queue *q = NULL;
		char qids[BATCH][QUEUE_ID_MAX];
		int res[BATCH];
		if (queue_open(data_dir, true, &q) < 0 || add_batch(q, qids, res) < 0)
			_exit(1);
		for (int i = 0; i < BATCH; i++) /* acknowledged: tell the parent */
			if (res[i] != 0 || write(p[1], qids[i], QUEUE_ID_MAX) != QUEUE_ID_MAX)
				_exit(1);
		crash = at;
		(void)add_batch(q, qids, res);
		_exit(2); /* the crash point was never reached */
	}
	close(p[1]);
	char acked[BATCH][QUEUE_ID_MAX];
	for (int i = 0; i < BATCH; i++)
		assert_int_equal(read(p[0], acked[i], QUEUE_ID_MAX), QUEUE_ID_MAX);
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), want_status);
	/* the dead batch's files were linked: they are there until recovery */
	assert_int_equal(unit_count_dir(path_in("queue/msg", "")), 2 * BATCH);
	assert_int_equal(committed_rows(), BATCH);

	struct queue *q = NULL;
	assert_int_equal(queue_open(data_dir, true, &q), 0);
	assert_int_equal(unit_count_dir(path_in("queue/msg", "")), BATCH);
	struct arena a;
	arena_init(&a, 1 << 20);
	for (int i = 0; i < BATCH; i++) {
		struct queue_show *sh;
		assert_int_equal(queue_show(q, acked[i], &a, &sh), 0);
		assert_int_equal(sh->rcpts[0].state, QUEUE_RCPT_PENDING);
		struct stat st;
		assert_int_equal(stat(sh->msg.path, &st), 0);
		assert_int_equal(st.st_size, 4096);
	}
	struct queue_stats stats;
	assert_int_equal(queue_stats(q, &stats), 0);
	assert_int_equal(stats.messages, BATCH);
	arena_free(&a);
	queue_close(&q);
}

static void test_crash_before_flush(void **state)
{
	(void)state;
	run_crash(CRASH_BEFORE_FLUSH, false, 77);
}

static void test_crash_after_fsync(void **state)
{
	(void)state;
	run_crash(CRASH_AFTER_FLUSH, false, 78);
}

static void test_crash_after_syncfs(void **state)
{
	(void)state;
	run_crash(CRASH_AFTER_FLUSH, true, 78);
}

/* The cost of a batch, for the report (queue.h, docs/operations.md): flushes and time
 * per batch of N 4 KB messages, both ways. Printed, and bounded: the fsync way costs
 * N + 1 flushes, the syncfs way one, whatever N is. */
static void test_cost(void **state)
{
	(void)state;
	struct queue *q = NULL;
	assert_int_equal(queue_open(data_dir, true, &q), 0);
	for (int way = 0; way < 2; way++) {
		prefer_syncfs = way == 1;
		char qids[BATCH][QUEUE_ID_MAX];
		int res[BATCH];
		uint64_t f0 = queue_flush_count();
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rounds = 4;
		for (int r = 0; r < rounds; r++)
			assert_int_equal(add_batch(q, qids, res), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		             (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) /
		            rounds;
		uint64_t per = (queue_flush_count() - f0) / (uint64_t)rounds;
		print_message("queue batch of %d x 4 KB, %s: %llu flushes, %.2f ms per batch\n",
		              BATCH, way ? "syncfs" : "fdatasync each", (unsigned long long)per,
		              ms);
		assert_int_equal(per, way ? 1 : BATCH + 1);
	}
	queue_close(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_syncfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_fdatasync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_before_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_after_fsync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_after_syncfs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cost, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
