/* net_work.c: worker pools for blocking work, so loop threads never stall. A job runs on
 * a worker, then its completion runs on the connection's own loop thread; the
 * connection is held across. Two pools, because the work is of two kinds:
 *   cpu  password hashing: as many workers as loop threads (more would only take CPU
 *        from the loops);
 *   io   store calls that wait for the disk (commits with fsync, searches, copies):
 *        LIMIT_IO_WORKERS_PER_LOOP per loop thread, since they mostly sleep; in one FIFO
 *        behind as many workers as cores, a cheap read waited for every commit queued
 *        before it (IMAP SEARCH UNSEEN: 20 ms median at 50 clients instead of 1).
 * net_conn_after() is the same completion after a timer instead of a worker. */
#include "net_int.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/banned.h"

struct job {
	struct net_conn *c;
	net_work_fn work;
	net_done_fn done;
	void *arg;
	struct job *next;
};

struct pool {
	const char *name; /* the workers' thread name */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	bool stopping;
	pthread_t *workers;
	unsigned n;
};

static struct pool pools[] = {
	{"kasten-cpu", PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, false, NULL, 0},
	{"kasten-io", PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, false, NULL, 0},
};
enum { POOL_CPU, POOL_IO };

static void finish(void *arg)
{
	struct job *j = arg;
	net_conn_log_ctx(j->c);
	j->done(j->c, j->arg);
	net_conn_release(j->c);
	log_ctx(NULL, 0, NULL, NULL);
	free(j);
}

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	pthread_setname_np(pthread_self(), p->name);
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		struct job *j = p->head;
		if (j) {
			p->head = j->next;
			if (!p->head)
				p->tail = NULL;
		}
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL; /* stopping and the queue is empty */
		j->work(j->arg);
		if (net_call_on(net_conn_base(j->c), finish, j) < 0)
			log_err("worker: cannot hand a result back to its loop");
	}
}

static void pool_start(struct pool *p, unsigned n)
{
	p->n = n;
	p->workers = calloc(n, sizeof(*p->workers));
	if (!p->workers)
		die("out of memory");
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0)
			die("cannot start worker thread");
}

void net_work_start(unsigned threads)
{
	if (threads < 2)
		threads = 2;
	pool_start(&pools[POOL_CPU], threads);
	pool_start(&pools[POOL_IO], threads * LIMIT_IO_WORKERS_PER_LOOP);
}

void net_work_stop(void)
{
	for (size_t k = 0; k < sizeof(pools) / sizeof(pools[0]); k++) {
		struct pool *p = &pools[k];
		pthread_mutex_lock(&p->mu);
		p->stopping = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		for (unsigned i = 0; i < p->n; i++)
			pthread_join(p->workers[i], NULL);
		free(p->workers);
		p->workers = NULL;
		p->n = 0;
		p->stopping = false;
	}
}

static void after_fire(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	finish(j);
}

int net_conn_after(struct net_conn *c, unsigned ms, net_done_fn done, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	*j = (struct job){c, NULL, done, arg, NULL};
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
	net_conn_hold(c);
	if (event_base_once(net_conn_base(c), -1, EV_TIMEOUT, after_fire, j, &tv) < 0) {
		net_conn_release(c);
		free(j);
		return ERR_NOMEM;
	}
	return 0;
}

static int submit(struct pool *p, struct net_conn *c, net_work_fn work, net_done_fn done,
		  void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	*j = (struct job){c, work, done, arg, NULL};
	net_conn_hold(c);
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int net_conn_work(struct net_conn *c, net_work_fn work, net_done_fn done, void *arg)
{
	return submit(&pools[POOL_CPU], c, work, done, arg);
}

int net_conn_work_io(struct net_conn *c, net_work_fn work, net_done_fn done, void *arg)
{
	return submit(&pools[POOL_IO], c, work, done, arg);
}
