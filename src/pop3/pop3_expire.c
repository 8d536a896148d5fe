/* pop3_expire.c: [pop3] expire_days = N, the provider-side "leave on server for N days"
 * (RFC 2449 6.7 EXPIRE): a message first retrieved over POP3 more than N days ago is
 * expunged. It runs for an account at each POP3 login, and for every account once an
 * hour on a background thread, so IMAP and webmail users see the same result. */
#include "pop3_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

#define SWEEP_EVERY (60 * 60)

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool running, stopping;

int pop3_expire(struct store *st, int64_t mailbox_id, const struct store_msg *msgs, size_t n,
		unsigned days)
{
	if (!days || n == 0)
		return 0;
	uint32_t *uids = malloc(n * sizeof(*uids));
	if (!uids)
		return ERR_NOMEM;
	int64_t cutoff = (int64_t)time(NULL) - (int64_t)days * 86400;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (msgs[i].pop3_retrieved && msgs[i].pop3_retrieved <= cutoff)
			uids[k++] = msgs[i].uid;
	int r = 0;
	if (k) {
		r = store_expunge(st, mailbox_id, uids, k, NULL);
		if (r == 0)
			log_info("pop3 expire: removed %zu messages retrieved over %u days ago", k, days);
		else
			log_warn("pop3 expire: %s", err_str(r));
	}
	free(uids);
	return r < 0 ? r : (int)k;
}

static void sweep(unsigned days)
{
	struct arena a;
	arena_init(&a, 256u << 20);
	struct store_account *list;
	size_t n;
	if (store_account_list(pop3_env, &a, &list, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct store *st;
			struct store_mailbox mb;
			struct store_msg *msgs;
			size_t nm;
			if (store_open(pop3_env, list[i].id, &st) < 0)
				continue;
			if (store_mailbox_get(st, "INBOX", &a, &mb) == 0 &&
			    store_msg_list(st, mb.id, 1, UINT32_MAX, &a, &msgs, &nm) == 0)
				(void)pop3_expire(st, mb.id, msgs, nm, days); /* logs itself */
			store_close(&st);
		}
	}
	arena_free(&a);
}

static void *expire_main(void *arg)
{
	unsigned days = *(unsigned *)arg;
	free(arg);
	pthread_mutex_lock(&mu);
	while (!stopping) {
		pthread_mutex_unlock(&mu);
		sweep(days);
		pthread_mutex_lock(&mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SWEEP_EVERY;
		while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

void pop3_expire_start(unsigned days)
{
	if (!days)
		return;
	unsigned *arg = malloc(sizeof(*arg));
	if (!arg)
		die("out of memory");
	*arg = days;
	if (pthread_create(&thread, NULL, expire_main, arg) != 0)
		die("cannot start the pop3 expire thread");
	running = true;
}

void pop3_shutdown(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	running = false;
}
