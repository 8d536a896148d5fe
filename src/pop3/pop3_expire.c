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

void pop3_expire_account(struct store *st, unsigned days)
{
	if (!days)
		return;
	struct arena a;
	arena_init(&a, 256u << 20);
	struct store_mailbox mb;
	struct store_msg *msgs;
	size_t n, k = 0;
	int64_t cutoff = (int64_t)time(NULL) - (int64_t)days * 86400;
	int r = store_mailbox_get(st, "INBOX", &a, &mb);
	if (r == 0)
		r = store_msg_list(st, mb.id, 1, UINT32_MAX, &a, &msgs, &n);
	uint32_t *uids = r == 0 && n ? arena_alloc(&a, n * sizeof(*uids)) : NULL;
	for (size_t i = 0; uids && i < n; i++)
		if (msgs[i].pop3_retrieved && msgs[i].pop3_retrieved <= cutoff)
			uids[k++] = msgs[i].uid;
	if (k) {
		uint64_t modseq;
		r = store_expunge(st, mb.id, uids, k, &modseq);
		if (r == 0)
			log_info("pop3 expire: removed %zu messages retrieved over %u days ago", k, days);
	}
	if (r < 0)
		log_warn("pop3 expire: %s", err_str(r));
	arena_free(&a);
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
			if (store_open(pop3_env, list[i].id, &st) < 0)
				continue;
			pop3_expire_account(st, days);
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
