/* net_work.c: a small worker pool for slow, blocking work (password hashing) so loop
 * threads never stall. A job runs on a worker, then its completion runs on the
 * connection's own loop thread; the connection is held across. net_conn_after() is the
 * same completion after a timer instead of a worker. */
#include "net_int.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

struct job {
	struct net_conn *c;
	net_work_fn work;
	net_done_fn done;
	void *arg;
	struct job *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static bool stopping;
static pthread_t *workers;
static unsigned n_workers;

static void finish(void *arg)
{
	struct job *j = arg;
	net_conn_log_ctx(j->c);
	j->done(j->c, j->arg);
	net_conn_release(j->c);
	log_ctx(NULL, 0, NULL, NULL);
	free(j);
}

static void *worker_main(void *unused)
{
	pthread_setname_np(pthread_self(), "kasten-work");
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!head && !stopping)
			pthread_cond_wait(&cv, &mu);
		struct job *j = head;
		if (j) {
			head = j->next;
			if (!head)
				tail = NULL;
		}
		pthread_mutex_unlock(&mu);
		if (!j)
			return NULL; /* stopping and the queue is empty */
		j->work(j->arg);
		if (net_call_on(net_conn_base(j->c), finish, j) < 0)
			log_err("worker: cannot hand a result back to its loop");
	}
}

void net_work_start(unsigned threads)
{
	n_workers = threads < 2 ? 2 : threads;
	workers = calloc(n_workers, sizeof(*workers));
	if (!workers)
		die("out of memory");
	for (unsigned i = 0; i < n_workers; i++)
		if (pthread_create(&workers[i], NULL, worker_main, NULL) != 0)
			die("cannot start worker thread");
}

void net_work_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (unsigned i = 0; i < n_workers; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	workers = NULL;
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

int net_conn_work(struct net_conn *c, net_work_fn work, net_done_fn done, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	*j = (struct job){c, work, done, arg, NULL};
	net_conn_hold(c);
	pthread_mutex_lock(&mu);
	if (tail)
		tail->next = j;
	else
		head = j;
	tail = j;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}
