/* test_deliver.c: the delivery pipeline against the real sqlite store.
 *   - group commit: 8 threads x 50 messages (2 recipients each), every copy byte-exact,
 *     at least one flush per batch and fewer flushes than messages (the ratio is
 *     printed), spool emptied;
 *   - a burst of asynchronous submissions queued behind a held committer forms batches
 *     as large as the pipeline allows, each flushed;
 *   - quota: a full recipient fails alone, others of the same job succeed; RCPT check;
 *   - the 90 % warning arrives once, and again only after usage dropped and re-crossed;
 *   - done on a libevent loop thread (net_call_on), keep_spool, submit errors;
 *   - the outbound hook: called once per batch with the jobs that carry remote
 *     recipients (also with no local one), after the local copies and before any job
 *     completes; its per-job results and a failed call reach the jobs;
 *   - the start-up sweep of spool files left by dead processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "core/core.h"
#include "deliver/deliver.h"
#include "deliver/deliver_int.h" /* DELIVER_BATCH_MSGS: the burst's expected batch count */
#include "store/store.h"
#include "unit_tmpdir.h"

#define HOST "mx.example.org"
#define THREADS 8
#define PER_THREAD 50
#define NACC 4

static char dir[256];
static struct store_env *env;
static int64_t acc[NACC];

static void start(void)
{
	struct deliver_config cfg = {.data_dir = dir, .hostname = HOST, .warn_percent = 90};
	assert_int_equal(deliver_start(env, &cfg), 0);
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	(void)snprintf(dir, sizeof(dir), "/tmp/kasten-deliver-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_env_open("sqlite", dir, true, &env), 0);
	for (int i = 0; i < NACC; i++) {
		char a[64];
		(void)snprintf(a, sizeof(a), "user%d@example.org", i);
		assert_int_equal(store_account_add(env, a, NULL, 0, &acc[i]), 0);
	}
	start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	deliver_stop();
	store_env_close(&env);
	unit_rmtree(dir);
	return 0;
}

/* ---- helpers ---- */

/* The test message number (t, i): headers, then a body of a size that varies. */
static size_t make_msg(char *out, size_t cap, int t, int i)
{
	int n = snprintf(out, cap,
			 "Received: from client.example.net by " HOST "; Sun, 22 Nov 2026 "
			 "08:05:39 +0000\r\n"
			 "From: Thread %d <t%d@example.net>\r\n"
			 "To: user@example.org\r\n"
			 "Subject: message %d/%d\r\n"
			 "Message-ID: <%d.%d@example.net>\r\n"
			 "X-Test: %d-%d\r\n\r\n",
			 t, t, t, i, t, i, t, i);
	assert_true(n > 0 && (size_t)n < cap);
	size_t len = (size_t)n;
	static const char fill[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij";
	int lines = (t * 31 + i * 17) % 60;
	for (int l = 0; l < lines; l++) {
		n = snprintf(out + len, cap - len, "line %d of %d.%d: %.*s\r\n", l, t, i,
			     (l * 7) % 70, fill);
		assert_true(n > 0 && (size_t)n < cap - len);
		len += (size_t)n;
	}
	return len;
}

static void write_spool(const void *p, size_t n, char path[DELIVER_PATH_MAX])
{
	int fd = -1;
	assert_int_equal(deliver_spool_create(path, DELIVER_PATH_MAX, &fd), 0);
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		assert_true(k > 0);
		c += k;
		n -= (size_t)k;
	}
	assert_int_equal(close(fd), 0);
}

static char *read_fd(int fd, uint64_t size)
{
	char *b = malloc(size + 1);
	assert_non_null(b);
	size_t got = 0;
	while (got < size) {
		ssize_t k = read(fd, b + got, size - got);
		assert_true(k > 0);
		got += (size_t)k;
	}
	b[size] = '\0';
	close(fd);
	return b;
}

/* Calls fn for every message in the account's INBOX; returns how many there were. */
static size_t each_msg(int64_t id, void (*fn)(const char *m, uint64_t n, void *arg), void *arg)
{
	struct arena a;
	arena_init(&a, 8u << 20);
	struct store *st = NULL;
	assert_int_equal(store_open(env, id, &st), 0);
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "INBOX", &a, &mb), 0);
	struct store_msg *msgs = NULL;
	size_t n = 0;
	assert_int_equal(store_msg_list(st, mb.id, 1, UINT32_MAX, &a, &msgs, &n), 0);
	for (size_t i = 0; i < n; i++) {
		int fd = -1;
		uint64_t size = 0;
		assert_int_equal(store_msg_open(st, mb.id, msgs[i].uid, &fd, &size), 0);
		assert_int_equal(size, msgs[i].size);
		char *m = read_fd(fd, size);
		if (fn)
			fn(m, size, arg);
		free(m);
	}
	store_close(&st);
	arena_free(&a);
	return n;
}

static size_t spool_files(void)
{
	char p[512];
	(void)snprintf(p, sizeof(p), "%s/spool", dir);
	long n = unit_count_dir(p);
	assert_true(n >= 0);
	return (size_t)n;
}

/* ---- group commit ---- */

static _Atomic int seen[THREADS][PER_THREAD][NACC];

static int rcpt_of(int t, int i, int k)
{
	return (t + i + k) % NACC;
}

static void *sender_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	static _Thread_local char m[16384];
	for (int i = 0; i < PER_THREAD; i++) {
		char path[DELIVER_PATH_MAX];
		size_t len = make_msg(m, sizeof(m), t, i);
		write_spool(m, len, path);
		struct deliver_rcpt r[2] = {
			{.account_id = acc[rcpt_of(t, i, 0)], .address = "a@example.org"},
			{.account_id = acc[rcpt_of(t, i, 1)], .address = "b@example.org"},
		};
		struct deliver_job job = {.spool_path = path, .rcpts = r, .n_rcpts = 2};
		if (deliver_submit_wait(&job) != 0 || r[0].result || r[1].result ||
		    job.size != len)
			return (void *)1;
		if (access(path, F_OK) == 0) /* unlinked before submit_wait returned */
			return (void *)2;
	}
	return NULL;
}

static void check_copy(const char *m, uint64_t n, void *arg)
{
	int a = (int)(intptr_t)arg;
	const char *x = strstr(m, "\r\nX-Test: ");
	assert_non_null(x);
	int t = -1, i = -1;
	assert_int_equal(sscanf(x + 10, "%d-%d", &t, &i), 2);
	assert_true(t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD);
	static char want[16384];
	size_t len = make_msg(want, sizeof(want), t, i);
	assert_int_equal(n, len);
	assert_memory_equal(m, want, len);
	assert_true(rcpt_of(t, i, 0) == a || rcpt_of(t, i, 1) == a);
	atomic_fetch_add(&seen[t][i][a], 1);
}

static void group_commit(void **state)
{
	(void)state;
	uint64_t f0 = store_flush_count(), b0, m0;
	deliver_stats(&b0, &m0);
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(
			pthread_create(&th[t], NULL, sender_thread, (void *)(intptr_t)t), 0);
	for (int t = 0; t < THREADS; t++) {
		void *ret = (void *)-1;
		pthread_join(th[t], &ret);
		assert_null(ret);
	}
	uint64_t f1 = store_flush_count(), b1, m1;
	deliver_stats(&b1, &m1);
	unsigned total = THREADS * PER_THREAD;
	assert_int_equal(m1 - m0, total);
	printf("group commit, %d waiting senders: %u messages (%u copies) in %llu batches, "
	       "%llu flushes: %.3f flushes/message\n",
	       THREADS, total, 2 * total, (unsigned long long)(b1 - b0),
	       (unsigned long long)(f1 - f0), (double)(f1 - f0) / total);
	/* every batch flushed (zero flushes must fail), and batches were shared */
	assert_true(b1 - b0 >= 1);
	assert_true(f1 - f0 >= b1 - b0);
	assert_true(f1 - f0 < total);
	assert_true(b1 - b0 < total);
	for (int a = 0; a < NACC; a++)
		assert_int_equal(each_msg(acc[a], check_copy, (void *)(intptr_t)a),
				 2 * total / NACC);
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			for (int a = 0; a < NACC; a++) {
				int want = rcpt_of(t, i, 0) == a || rcpt_of(t, i, 1) == a;
				assert_int_equal(atomic_load(&seen[t][i][a]), want);
			}
	assert_int_equal(spool_files(), 0);
}

/* ---- a burst of asynchronous submissions ---- */

/* The burst is queued while the committer is held inside a gate job's done callback
 * (base NULL: done runs on the committer thread), so the batch sizes do not depend on
 * how fast this thread submits compared with the committer: every job is queued before
 * the first of them can be taken. */
#define BURST 300
static pthread_mutex_t burst_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t burst_cv = PTHREAD_COND_INITIALIZER;
static int burst_done, burst_ok;
static bool gate_entered, gate_open;

static void gate_cb(struct deliver_job *job, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&burst_mu);
	burst_ok += job->rcpts[0].result == 0;
	gate_entered = true;
	pthread_cond_broadcast(&burst_cv);
	while (!gate_open)
		pthread_cond_wait(&burst_cv, &burst_mu);
	pthread_mutex_unlock(&burst_mu);
}

static void burst_cb(struct deliver_job *job, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&burst_mu);
	burst_done++;
	burst_ok += job->rcpts[0].result == 0;
	pthread_cond_broadcast(&burst_cv);
	pthread_mutex_unlock(&burst_mu);
}

static void burst_spool(const char *tag, int i, char path[DELIVER_PATH_MAX])
{
	char m[512];
	int n = snprintf(m, sizeof(m), "Subject: %s %d\r\n\r\nbody %d\r\n", tag, i, i);
	assert_true(n > 0 && (size_t)n < sizeof(m));
	write_spool(m, (size_t)n, path);
}

static void burst(void **state)
{
	(void)state;
	static struct deliver_job jobs[BURST], gate;
	static struct deliver_rcpt rcpts[BURST], gate_rcpt;
	static char paths[BURST][DELIVER_PATH_MAX], gate_path[DELIVER_PATH_MAX];
	size_t before = each_msg(acc[0], NULL, NULL);
	uint64_t f0 = store_flush_count(), b0, m0;
	deliver_stats(&b0, &m0);

	burst_spool("gate", 0, gate_path);
	gate_rcpt = (struct deliver_rcpt){.account_id = acc[0], .address = "u0"};
	gate = (struct deliver_job){.spool_path = gate_path, .rcpts = &gate_rcpt, .n_rcpts = 1,
				    .done = gate_cb};
	assert_int_equal(deliver_submit(&gate), 0);
	pthread_mutex_lock(&burst_mu);
	while (!gate_entered)
		pthread_cond_wait(&burst_cv, &burst_mu);
	pthread_mutex_unlock(&burst_mu);

	for (int i = 0; i < BURST; i++) {
		burst_spool("burst", i, paths[i]);
		rcpts[i] = (struct deliver_rcpt){.account_id = acc[0], .address = "u0"};
		jobs[i] = (struct deliver_job){.spool_path = paths[i], .rcpts = &rcpts[i],
					       .n_rcpts = 1, .done = burst_cb};
		assert_int_equal(deliver_submit(&jobs[i]), 0);
	}
	pthread_mutex_lock(&burst_mu);
	gate_open = true;
	pthread_cond_broadcast(&burst_cv);
	while (burst_done < BURST)
		pthread_cond_wait(&burst_cv, &burst_mu);
	pthread_mutex_unlock(&burst_mu);
	/* the counters are bumped before any done of their batch runs */
	uint64_t f1 = store_flush_count(), b1, m1;
	deliver_stats(&b1, &m1);
	/* The pipeline unlinks each spool file after its done returned, on the committer
	 * thread (base NULL); deliver_stop joins that thread, so every unlink has happened
	 * when it returns. (deliver_start zeroes the counters: read them before.) */
	deliver_stop();
	start();
	assert_int_equal(burst_ok, 1 + BURST);
	assert_int_equal(m1 - m0, 1 + BURST);
	uint64_t batches = b1 - b0, flushes = f1 - f0;
	printf("burst of %d async submissions: %llu batches, %llu flushes: %.3f flushes/message\n",
	       BURST, (unsigned long long)batches, (unsigned long long)flushes,
	       (double)flushes / (1 + BURST));
	/* the gate's own batch, then the queued burst in batches as full as allowed */
	assert_int_equal(batches, 1 + (BURST + DELIVER_BATCH_MSGS - 1) / DELIVER_BATCH_MSGS);
	assert_true(flushes >= batches); /* each batch flushed before its done callbacks */
	assert_true(flushes < BURST);
	assert_int_equal(each_msg(acc[0], NULL, NULL), before + 1 + BURST);
	assert_int_equal(spool_files(), 0);
}

/* ---- quota ---- */

static int64_t add_account(const char *addr, uint64_t quota)
{
	int64_t id = 0;
	assert_int_equal(store_account_add(env, addr, NULL, quota, &id), 0);
	return id;
}

static int deliver_one(int64_t id, size_t size, const char *subject)
{
	char *m = malloc(size + 1);
	assert_non_null(m);
	int n = snprintf(m, size + 1, "Subject: %s\r\n\r\n", subject);
	assert_true(n > 0 && (size_t)n < size);
	for (size_t i = (size_t)n; i < size; i++)
		m[i] = (i % 64 == 63) ? '\n' : 'x';
	if (size >= 2) {
		m[size - 2] = '\r';
		m[size - 1] = '\n';
	}
	char path[DELIVER_PATH_MAX];
	write_spool(m, size, path);
	free(m);
	struct deliver_rcpt r = {.account_id = id, .address = "x@example.org"};
	struct deliver_job job = {.spool_path = path, .rcpts = &r, .n_rcpts = 1};
	int ret = deliver_submit_wait(&job);
	assert_int_equal(ret, r.result);
	return ret;
}

static void quota_per_rcpt(void **state)
{
	(void)state;
	int64_t full = add_account("full@example.org", 100000);
	int64_t ok1 = add_account("ok1@example.org", 0);
	int64_t ok2 = add_account("ok2@example.org", 1000000);
	assert_int_equal(deliver_one(full, 60000, "fill"), 0);
	assert_int_equal(deliver_quota_check(env, full, 0), 0);
	assert_int_equal(deliver_quota_check(env, full, 40000), 0);
	assert_int_equal(deliver_quota_check(env, full, 40001), ERR_QUOTA);
	assert_int_equal(deliver_quota_check(env, ok1, 1u << 30), 0);
	assert_int_equal(deliver_quota_check(env, 999999, 0), ERR_NOTFOUND);

	char m[50000];
	memset(m, 'y', sizeof(m));
	memcpy(m, "Subject: big\r\n\r\n", 16);
	char path[DELIVER_PATH_MAX];
	write_spool(m, sizeof(m), path);
	struct deliver_rcpt r[5] = {
		{.account_id = ok1, .address = "ok1@example.org"},
		{.account_id = full, .address = "full@example.org"},
		{.account_id = ok2, .address = "ok2@example.org"},
		{.account_id = ok1, .address = "OK1@example.org"}, /* twice: stored once */
		{.account_id = 0, .address = "nobody@example.org"},
	};
	struct deliver_job job = {.spool_path = path, .rcpts = r, .n_rcpts = 5};
	assert_int_equal(deliver_submit_wait(&job), ERR_QUOTA);
	assert_int_equal(r[0].result, 0);
	assert_int_equal(r[1].result, ERR_QUOTA);
	assert_int_equal(r[2].result, 0);
	assert_int_equal(r[3].result, 0);
	assert_int_equal(r[4].result, ERR_NOTFOUND);
	assert_int_equal(each_msg(ok1, NULL, NULL), 1);
	assert_int_equal(each_msg(ok2, NULL, NULL), 1);
	assert_int_equal(each_msg(full, NULL, NULL), 1);
	/* still under quota: a message that fits is taken */
	assert_int_equal(deliver_one(full, 29000, "fits"), 0); /* 89 %: no warning yet */
	assert_int_equal(deliver_quota_check(env, full, 0), 0);
	assert_int_equal(deliver_quota_check(env, full, 11001), ERR_QUOTA);
	assert_int_equal(spool_files(), 0);
}

/* ---- the 90 % warning ---- */

struct warn_count {
	int warnings, others;
};

static void count_warning(const char *m, uint64_t n, void *arg)
{
	struct warn_count *c = arg;
	(void)n;
	if (!strstr(m, "\r\nSubject: Your mailbox is 90% full\r\n")) {
		c->others++;
		return;
	}
	c->warnings++;
	assert_non_null(strstr(m, "From: Mail System <postmaster@" HOST ">\r\n"));
	assert_non_null(strstr(m, "To: <warn@example.org>\r\n"));
	assert_non_null(strstr(m, "\r\nDate: "));
	assert_non_null(strstr(m, "\r\nMessage-ID: <"));
	assert_non_null(strstr(m, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(m, "\r\nAuto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(m, "of its 195.3K limit are used\r\n"));
	const char *body = strstr(m, "\r\n\r\n");
	assert_non_null(body);
	for (const char *p = m; *p; p++) /* CRLF only */
		if (*p == '\n')
			assert_true(p > m && p[-1] == '\r');
}

static void warn_once(void **state)
{
	(void)state;
	int64_t w = add_account("warn@example.org", 200000);
	for (int i = 0; i < 17; i++)
		assert_int_equal(deliver_one(w, 10000, "filler"), 0);
	struct warn_count c = {0, 0};
	deliver_stop(); /* drains: any warning would be stored by now */
	start();
	each_msg(w, count_warning, &c);
	assert_int_equal(c.warnings, 0); /* 85 % */
	assert_int_equal(deliver_one(w, 10000, "crossing"), 0); /* 90 % */
	assert_int_equal(deliver_one(w, 10000, "above"), 0);    /* 95 %: no second */
	deliver_stop();
	start();
	c = (struct warn_count){0, 0};
	each_msg(w, count_warning, &c);
	assert_int_equal(c.warnings, 1);
	assert_int_equal(c.others, 19);

	/* expunge half: below the threshold, the next delivery re-arms */
	struct arena a;
	arena_init(&a, 1u << 20);
	struct store *st = NULL;
	assert_int_equal(store_open(env, w, &st), 0);
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "INBOX", &a, &mb), 0);
	struct store_msg *msgs = NULL;
	size_t n = 0;
	assert_int_equal(store_msg_list(st, mb.id, 1, UINT32_MAX, &a, &msgs, &n), 0);
	uint32_t uids[10];
	for (int i = 0; i < 10; i++)
		uids[i] = msgs[i].uid;
	uint64_t modseq = 0;
	assert_int_equal(store_expunge(st, mb.id, uids, 10, &modseq), 0);
	store_close(&st);
	arena_free(&a);
	assert_int_equal(deliver_one(w, 10000, "below"), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(deliver_one(w, 10000, "again"), 0);
	deliver_stop();
	start();
	c = (struct warn_count){0, 0};
	each_msg(w, count_warning, &c);
	assert_int_equal(c.warnings, 2);
	assert_int_equal(spool_files(), 0);
}

/* ---- done on a loop thread; keep_spool; errors ---- */

struct loop_ctx {
	struct event_base *base;
	pthread_t thread;
	pthread_t ran_on;
	_Atomic int done;
};

static void *loop_main(void *arg)
{
	struct loop_ctx *l = arg;
	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void on_loop_done(struct deliver_job *job, void *arg)
{
	struct loop_ctx *l = arg;
	l->ran_on = pthread_self();
	/* the spool file is still there while done runs (for a DSN) */
	assert_int_equal(access(job->spool_path, R_OK), 0);
	assert_int_equal(job->rcpts[0].result, 0);
	atomic_store(&l->done, 1);
	event_base_loopbreak(l->base);
}

static void done_on_loop(void **state)
{
	(void)state;
	assert_int_equal(evthread_use_pthreads(), 0);
	struct loop_ctx l = {.base = event_base_new()};
	assert_non_null(l.base);
	assert_int_equal(pthread_create(&l.thread, NULL, loop_main, &l), 0);
	char path[DELIVER_PATH_MAX];
	write_spool("Subject: loop\r\n\r\nx\r\n", 20, path);
	struct deliver_rcpt r = {.account_id = acc[1], .address = "u1"};
	struct deliver_job job = {.spool_path = path, .rcpts = &r, .n_rcpts = 1,
				  .done = on_loop_done, .arg = &l, .base = l.base};
	assert_int_equal(deliver_submit(&job), 0);
	pthread_join(l.thread, NULL);
	assert_int_equal(atomic_load(&l.done), 1);
	assert_true(pthread_equal(l.ran_on, l.thread));
	event_base_free(l.base);
	/* unlinked right after done returned */
	deliver_stop();
	start();
	assert_int_equal(access(path, F_OK), -1);
}

static void noop_done(struct deliver_job *job, void *arg)
{
	(void)job;
	(*(int *)arg)++;
}

static void keep_and_errors(void **state)
{
	(void)state;
	char path[DELIVER_PATH_MAX];
	write_spool("Subject: keep\r\n\r\nx\r\n", 20, path);
	struct deliver_rcpt r = {.account_id = acc[2], .address = "u2"};
	struct deliver_job job = {.spool_path = path, .rcpts = &r, .n_rcpts = 1,
				  .keep_spool = true};
	assert_int_equal(deliver_submit_wait(&job), 0);
	assert_int_equal(access(path, R_OK), 0); /* ours to remove */
	assert_int_equal(unlink(path), 0);

	int calls = 0;
	struct deliver_job bad = {.spool_path = path, .rcpts = &r, .n_rcpts = 1,
				  .done = noop_done, .arg = &calls};
	assert_int_equal(deliver_submit(&bad), ERR_IO); /* no such file */
	bad.n_rcpts = 0;
	assert_int_equal(deliver_submit(&bad), ERR_INVAL);
	bad.n_rcpts = 1;
	bad.done = NULL;
	assert_int_equal(deliver_submit(&bad), ERR_INVAL);
	assert_int_equal(calls, 0);

	/* an empty message is still a message */
	write_spool("", 0, path);
	struct deliver_job empty = {.spool_path = path, .rcpts = &r, .n_rcpts = 1};
	assert_int_equal(deliver_submit_wait(&empty), 0);
	assert_int_equal(empty.size, 0);

	/* stopped: nothing is queued, the file stays the caller's */
	deliver_stop();
	char tmp[DELIVER_PATH_MAX];
	assert_int_equal(deliver_spool_create(tmp, sizeof(tmp), &(int){0}), ERR_INVAL);
	start();
	write_spool("Subject: late\r\n\r\n", 17, path);
	deliver_stop();
	struct deliver_job late = {.spool_path = path, .rcpts = &r, .n_rcpts = 1,
				   .done = noop_done, .arg = &calls};
	assert_int_equal(deliver_submit(&late), ERR_INVAL);
	assert_int_equal(calls, 0);
	assert_int_equal(unlink(path), 0);
	start();
	struct deliver_config cfg = {.data_dir = dir, .hostname = HOST, .warn_percent = 90};
	assert_int_equal(deliver_start(env, &cfg), ERR_EXISTS);
}

/* ---- the outbound queue's hook (contract 2) ---- */

static struct {
	int calls;
	size_t n[4];
	int completed_at_call; /* done callbacks that had run when the hook ran */
	size_t stored_at_call; /* local copies in acc[3] when the hook ran */
	int fail_call;         /* the hook's return value */
	const void *refuse;    /* the outbound it sets ERR_IO for */
	int completed;
} hk;

static int hook(void *ctx, struct deliver_job *const *jobs, size_t n)
{
	assert_ptr_equal(ctx, &hk);
	assert_true(deliver_on_committer());
	pthread_mutex_lock(&burst_mu);
	hk.completed_at_call = hk.completed;
	pthread_mutex_unlock(&burst_mu);
	hk.stored_at_call = each_msg(acc[3], NULL, NULL);
	if (hk.calls < 4)
		hk.n[hk.calls] = n;
	hk.calls++;
	if (hk.fail_call)
		return hk.fail_call;
	for (size_t i = 0; i < n; i++) {
		assert_non_null(jobs[i]->outbound);
		jobs[i]->outbound_result = jobs[i]->outbound == hk.refuse ? ERR_IO : 0;
	}
	return 0;
}

static void hook_done(struct deliver_job *job, void *arg)
{
	(void)job;
	(void)arg;
	pthread_mutex_lock(&burst_mu);
	hk.completed++;
	pthread_cond_broadcast(&burst_cv);
	pthread_mutex_unlock(&burst_mu);
}

static void outbound_hook(void **state)
{
	(void)state;
	static struct deliver_job gate2, jobs[4];
	static struct deliver_rcpt grcpt, rl[2];
	char gpath[DELIVER_PATH_MAX], paths[4][DELIVER_PATH_MAX];
	static const int marker[4]; /* stand-ins for the sessions' queue_msg_in */
	deliver_stop();
	struct deliver_config cfg = {.data_dir = dir, .hostname = HOST, .warn_percent = 90,
				     .outbound_add = hook, .outbound_ctx = &hk};
	assert_int_equal(deliver_start(env, &cfg), 0);
	assert_true(deliver_outbound_enabled());
	size_t before = each_msg(acc[3], NULL, NULL);

	/* hold the committer in a first batch so that the next four form one batch */
	gate_entered = gate_open = false;
	burst_spool("gate2", 0, gpath);
	grcpt = (struct deliver_rcpt){.account_id = acc[0], .address = "u0"};
	gate2 = (struct deliver_job){.spool_path = gpath, .rcpts = &grcpt, .n_rcpts = 1,
				     .done = gate_cb};
	assert_int_equal(deliver_submit(&gate2), 0);
	pthread_mutex_lock(&burst_mu);
	while (!gate_entered)
		pthread_cond_wait(&burst_cv, &burst_mu);
	pthread_mutex_unlock(&burst_mu);
	assert_int_equal(hk.calls, 0); /* a batch without outbound jobs: no call */

	hk.refuse = &marker[3];
	for (int i = 0; i < 4; i++) {
		burst_spool("hook", i, paths[i]);
		jobs[i] = (struct deliver_job){.spool_path = paths[i], .done = hook_done};
	}
	rl[0] = (struct deliver_rcpt){.account_id = acc[3], .address = "u3"};
	rl[1] = rl[0];
	jobs[0].rcpts = &rl[0], jobs[0].n_rcpts = 1, jobs[0].outbound = &marker[0];
	jobs[1].outbound = &marker[1]; /* remote recipients only */
	jobs[2].rcpts = &rl[1], jobs[2].n_rcpts = 1; /* local only */
	jobs[3].outbound = &marker[3];
	for (int i = 0; i < 4; i++)
		assert_int_equal(deliver_submit(&jobs[i]), 0);
	pthread_mutex_lock(&burst_mu);
	gate_open = true;
	pthread_cond_broadcast(&burst_cv);
	while (hk.completed < 4)
		pthread_cond_wait(&burst_cv, &burst_mu);
	pthread_mutex_unlock(&burst_mu);
	assert_int_equal(hk.calls, 1);
	assert_int_equal(hk.n[0], 3);
	assert_int_equal(hk.completed_at_call, 0);       /* no 250 before the queue's flush */
	assert_int_equal(hk.stored_at_call, before + 2); /* the local copies came first */
	assert_int_equal(jobs[0].outbound_result, 0);
	assert_int_equal(jobs[0].rcpts[0].result, 0);
	assert_int_equal(jobs[1].outbound_result, 0);
	assert_int_equal(jobs[3].outbound_result, ERR_IO);

	/* a failed call fails every outbound job of its batch, temporarily */
	hk.fail_call = ERR_BAD_SYNTAX;
	burst_spool("hookfail", 0, paths[0]);
	struct deliver_job f = {.spool_path = paths[0], .outbound = &marker[0]};
	assert_int_equal(deliver_submit_wait(&f), 0); /* no local recipient to fail */
	assert_int_equal(hk.calls, 2);
	assert_int_equal(f.outbound_result, ERR_TEMP);
	hk.fail_call = 0;

	deliver_stop(); /* joins the committer: every spool file is unlinked */
	assert_int_equal(spool_files(), 0);
	start();
	assert_false(deliver_outbound_enabled());
	/* without a hook, a job for the queue is refused and stays the caller's */
	burst_spool("nohook", 0, paths[0]);
	struct deliver_job nh = {.spool_path = paths[0], .outbound = &marker[0],
				 .done = hook_done};
	assert_int_equal(deliver_submit(&nh), ERR_INVAL);
	assert_int_equal(unlink(paths[0]), 0);
}

/* Start-up sweep: files of a dead process or older than a day go, live ones stay. */
static void make_file(const char *name, char out[DELIVER_PATH_MAX])
{
	(void)snprintf(out, DELIVER_PATH_MAX, "%s/spool/%s", dir, name);
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(close(fd), 0);
}

static void spool_sweep(void **state)
{
	(void)state;
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	char dead[DELIVER_PATH_MAX], live[DELIVER_PATH_MAX], old[DELIVER_PATH_MAX],
		odd[DELIVER_PATH_MAX], name[128];
	(void)snprintf(name, sizeof(name), "1795335544.%ld.1.00", (long)child);
	make_file(name, dead);
	(void)snprintf(name, sizeof(name), "1795335544.%ld.2.00", (long)getppid());
	make_file(name, live);
	(void)snprintf(name, sizeof(name), "1795335544.%ld.3.00", (long)getppid());
	make_file(name, old);
	struct timeval tv[2] = {{time(NULL) - 2 * 86400, 0}, {time(NULL) - 2 * 86400, 0}};
	assert_int_equal(utimes(old, tv), 0);
	make_file("not-ours", odd);
	deliver_stop();
	start();
	assert_int_equal(access(dead, F_OK), -1);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(access(odd, F_OK), 0);
	assert_int_equal(unlink(live), 0);
	assert_int_equal(unlink(odd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(group_commit),  cmocka_unit_test(burst),
		cmocka_unit_test(quota_per_rcpt), cmocka_unit_test(warn_once),
		cmocka_unit_test(done_on_loop),  cmocka_unit_test(keep_and_errors),
		cmocka_unit_test(outbound_hook), cmocka_unit_test(spool_sweep),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
