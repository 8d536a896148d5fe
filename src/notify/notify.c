/* notify.c: see notify.h. Watches hang off a fixed hash table by account (chained,
 * so memory follows the number of watches); one mutex covers the table, taken by the
 * committing thread for the length of a lookup and by sessions to (un)watch. */
#include "notify/notify.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

#define NOTIFY_BUCKETS 1024

struct notify_watch {
	struct notify_watch *prev, *next; /* in its bucket */
	struct event *wake;               /* on the watcher's base */
	notify_fn fn;
	void *arg;
	int64_t account, mailbox;
};

static struct notify_watch *buckets[NOTIFY_BUCKETS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t wakeups;

static unsigned bucket_of(int64_t account)
{
	return (unsigned)((uint64_t)account % NOTIFY_BUCKETS);
}

/* The store's change hook, on the committing thread. */
static void on_change(void *arg, int64_t account_id, int64_t mailbox_id,
		      enum store_change_kind kind, uint64_t modseq)
{
	pthread_mutex_lock(&mu);
	for (struct notify_watch *w = buckets[bucket_of(account_id)]; w; w = w->next) {
		if (w->account != account_id)
			continue;
		if (kind == STORE_CH_MAILBOX || w->mailbox == 0 || w->mailbox == mailbox_id)
			event_active(w->wake, EV_TIMEOUT, 0); /* coalesces while pending */
	}
	pthread_mutex_unlock(&mu);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct notify_watch *w = arg;
	atomic_fetch_add(&wakeups, 1);
	w->fn(w->arg);
}

int notify_start(struct store_env *env)
{
	store_set_change_hook(env, on_change, NULL);
	atomic_store(&wakeups, 0);
	return 0;
}

void notify_stop(void)
{
	pthread_mutex_lock(&mu);
	for (unsigned b = 0; b < NOTIFY_BUCKETS; b++) {
		if (buckets[b])
			log_warn("notify: watches left at stop account=%lld",
				 (long long)buckets[b]->account);
		buckets[b] = NULL; /* their sessions are gone with the loops */
	}
	pthread_mutex_unlock(&mu);
}

int notify_watch(struct event_base *base, int64_t account_id, int64_t mailbox_id,
		 notify_fn fn, void *arg, struct notify_watch **out)
{
	struct notify_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return ERR_NOMEM;
	w->wake = event_new(base, -1, 0, on_wake, w);
	if (!w->wake) {
		free(w);
		return ERR_NOMEM;
	}
	w->fn = fn;
	w->arg = arg;
	w->account = account_id;
	w->mailbox = mailbox_id;
	unsigned b = bucket_of(account_id);
	pthread_mutex_lock(&mu);
	w->next = buckets[b];
	if (w->next)
		w->next->prev = w;
	buckets[b] = w;
	pthread_mutex_unlock(&mu);
	*out = w;
	return 0;
}

void notify_rewatch(struct notify_watch *w, int64_t mailbox_id)
{
	pthread_mutex_lock(&mu);
	w->mailbox = mailbox_id;
	pthread_mutex_unlock(&mu);
}

void notify_unwatch(struct notify_watch **wp)
{
	struct notify_watch *w = *wp;
	if (!w)
		return;
	*wp = NULL;
	pthread_mutex_lock(&mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		buckets[bucket_of(w->account)] = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&mu);
	/* nobody else can reach it now; an activation still queued on our own base is
	 * dropped by event_free, which runs on that base's thread */
	event_free(w->wake);
	free(w);
}

uint64_t notify_wakeups(void)
{
	return atomic_load(&wakeups);
}
