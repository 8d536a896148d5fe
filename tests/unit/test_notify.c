/* test_notify.c: the change feed across threads. A watcher's loop runs on its own
 * thread, as a session's does; commits made on the test's thread (APPEND, flags,
 * expunge, mailbox create) must wake exactly the watches of that mailbox or of the
 * whole account, coalesce bursts, and never call a watch after it was removed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "notify/notify.h"
#include "store/store.h"
#include "unit_tmpdir.h"

static char dir[256];
static struct store_env *env;
static struct event_base *base;
static pthread_t loop_thread;
static int64_t acct_a, acct_b;

struct counter {
	atomic_int calls;
};

static void on_wake(void *arg)
{
	struct counter *c = arg;
	atomic_fetch_add(&c->calls, 1);
}

static void *loop_main(void *unused)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Run fn(arg) on the loop thread and wait for it (watch and unwatch belong there). */
struct call {
	void (*fn)(void *);
	void *arg;
	atomic_int done;
};

static void call_cb(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	c->fn(c->arg);
	atomic_store(&c->done, 1);
}

static void on_loop(void (*fn)(void *), void *arg)
{
	struct call c = {fn, arg, 0};
	struct timeval zero = {0, 0};
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, call_cb, &c, &zero), 0);
	while (!atomic_load(&c.done))
		usleep(1000);
}

/* Wait (bounded) until the counter reaches want; the wake-up crosses threads. */
static int wait_calls(struct counter *c, int want)
{
	for (int i = 0; i < 5000 && atomic_load(&c->calls) < want; i++)
		usleep(1000);
	return atomic_load(&c->calls);
}

struct watch_args {
	int64_t account, mailbox;
	struct counter *c;
	struct notify_watch *w;
};

static void do_watch(void *arg)
{
	struct watch_args *a = arg;
	assert_int_equal(notify_watch(base, a->account, a->mailbox, on_wake, a->c, &a->w), 0);
}

static void do_unwatch(void *arg)
{
	struct watch_args *a = arg;
	notify_unwatch(&a->w);
	assert_null(a->w);
}

static int64_t mailbox(struct store *st, const char *name)
{
	struct arena a;
	arena_init(&a, 1 << 16);
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, name, &a, &mb), 0);
	arena_free(&a);
	return mb.id;
}

static uint32_t append(struct store *st, const char *mbox)
{
	char path[300];
	(void)snprintf(path, sizeof(path), "%s/m%ld", dir, (long)random());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Subject: x\r\n\r\nbody\r\n", f);
	fclose(f);
	struct store_new_msg m = {.path = path, .size = 20};
	uint32_t uid;
	assert_int_equal(store_append(st, mbox, &m, &uid), 0);
	unlink(path);
	return uid;
}

static int setup(void **state)
{
	log_set_level(LOG_ERR);
	evthread_use_pthreads();
	(void)snprintf(dir, sizeof(dir), "/tmp/kasten-notify-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_env_open("sqlite", dir, true, &env), 0);
	assert_int_equal(store_account_add(env, "a@x.org", NULL, 0, &acct_a), 0);
	assert_int_equal(store_account_add(env, "b@x.org", NULL, 0, &acct_b), 0);
	assert_int_equal(notify_start(env), 0);
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	event_base_loopexit(base, NULL);
	pthread_join(loop_thread, NULL);
	notify_stop();
	event_base_free(base);
	store_env_close(&env);
	unit_rmtree(dir);
	return 0;
}

static void wakes_the_right_watches(void **state)
{
	struct store *st;
	assert_int_equal(store_open(env, acct_a, &st), 0);
	int64_t inbox = mailbox(st, "INBOX"), sent = mailbox(st, "Sent");
	struct counter c_inbox = {0}, c_sent = {0}, c_all = {0}, c_other = {0};
	struct watch_args w_inbox = {acct_a, inbox, &c_inbox, NULL},
			  w_sent = {acct_a, sent, &c_sent, NULL},
			  w_all = {acct_a, 0, &c_all, NULL}, w_other = {acct_b, 0, &c_other, NULL};
	on_loop(do_watch, &w_inbox);
	on_loop(do_watch, &w_sent);
	on_loop(do_watch, &w_all);
	on_loop(do_watch, &w_other);

	uint32_t uid = append(st, "INBOX");
	assert_int_equal(wait_calls(&c_inbox, 1), 1);
	assert_int_equal(wait_calls(&c_all, 1), 1);
	uint64_t modseq;
	const struct store_flags_change seen = {STORE_FLAGS_ADD, STORE_F_SEEN, NULL,
						STORE_UNCONDITIONAL};
	assert_int_equal(store_flags(st, inbox, &uid, 1, &seen, NULL, NULL), 0);
	assert_int_equal(wait_calls(&c_inbox, 2), 2);
	assert_int_equal(store_expunge(st, inbox, &uid, 1, &modseq), 0);
	assert_int_equal(wait_calls(&c_inbox, 3), 3);
	assert_int_equal(wait_calls(&c_all, 3), 3);
	/* a mailbox change concerns every watch of the account */
	assert_int_equal(store_mailbox_create(st, "Projects", 0), 0);
	assert_int_equal(wait_calls(&c_sent, 1), 1);
	assert_int_equal(wait_calls(&c_inbox, 4), 4);
	/* nothing reached the acct_b account's watch, nor Sent before the create */
	assert_int_equal(atomic_load(&c_other.calls), 0);

	/* a watch pointed at another mailbox follows it */
	notify_rewatch(w_sent.w, inbox);
	append(st, "INBOX");
	assert_int_equal(wait_calls(&c_sent, 2), 2);

	/* removed: never called again */
	on_loop(do_unwatch, &w_inbox);
	int before = atomic_load(&c_inbox.calls);
	append(st, "INBOX");
	assert_int_equal(wait_calls(&c_all, 6), 6);
	assert_int_equal(atomic_load(&c_inbox.calls), before);
	on_loop(do_unwatch, &w_sent);
	on_loop(do_unwatch, &w_all);
	on_loop(do_unwatch, &w_other);
	store_close(&st);
}

/* Changes committed while the watcher's loop is busy collapse into one call. */
static void block(void *arg)
{
	atomic_int *go = arg;
	while (!atomic_load(go))
		usleep(1000);
}

struct block_args {
	atomic_int go;
};

static void blocker(evutil_socket_t fd, short what, void *arg)
{
	block(&((struct block_args *)arg)->go);
}

static void bursts_coalesce(void **state)
{
	struct store *st;
	assert_int_equal(store_open(env, acct_a, &st), 0);
	struct counter c = {0};
	struct watch_args w = {acct_a, mailbox(st, "INBOX"), &c, NULL};
	on_loop(do_watch, &w);
	struct block_args b = {0};
	struct timeval zero = {0, 0};
	assert_int_equal(event_base_once(base, -1, EV_TIMEOUT, blocker, &b, &zero), 0);
	for (int i = 0; i < 10; i++)
		append(st, "INBOX");
	atomic_store(&b.go, 1);
	assert_int_equal(wait_calls(&c, 1), 1);
	usleep(50000); /* would a second call still come? none may: one burst, one call */
	assert_int_equal(atomic_load(&c.calls), 1);
	on_loop(do_unwatch, &w);
	store_close(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(wakes_the_right_watches, setup, teardown),
		cmocka_unit_test_setup_teardown(bursts_coalesce, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
