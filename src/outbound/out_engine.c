/* out_engine.c: the engine's life (new, run, stop, free), the scheduler thread, the
 * destinations with their limits ([outbound] destination_connections, destination_rate)
 * and the deliver hook. Owns the worker array, the destination list and the leased
 * batches waiting for a worker (at most LIMIT_OUTBOUND_BACKLOG messages). Everything
 * shared is guarded by e->mu; queue calls run outside it (they may wait on SQLite). */
#include "outbound/out.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "deliver/deliver.h"
#include "outbound/out_int.h"
#include "core/banned.h"

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_ms(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return ERR_NOMEM;
	int r =
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(c, &ca) == 0
	        ? 0
	        : ERR_NOMEM;
	pthread_condattr_destroy(&ca);
	return r;
}

/* The first line of [outbound] relay_password_file, at most LIMIT_OUTBOUND_PASSWORD. */
static int read_password(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("[outbound] relay_password_file %s: %s", path, strerror(errno));
		return ERR_INVAL;
	}
	char *buf = malloc(LIMIT_OUTBOUND_PASSWORD + 1);
	ssize_t n = buf ? read(fd, buf, LIMIT_OUTBOUND_PASSWORD + 1) : -1;
	close(fd);
	if (n < 0 || n > LIMIT_OUTBOUND_PASSWORD) {
		log_err("[outbound] relay_password_file %s: unreadable or longer than %u bytes",
		        path, LIMIT_OUTBOUND_PASSWORD);
		if (buf)
			OPENSSL_cleanse(buf, LIMIT_OUTBOUND_PASSWORD + 1);
		free(buf);
		return ERR_INVAL;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	*out = buf;
	return 0;
}

/* This machine's addresses, for the loop check of wildcard listeners. */
static void load_local_addrs(struct out_engine *e)
{
	struct ifaddrs *ifa, *i;
	if (getifaddrs(&ifa) < 0)
		return;
	size_t n = 0;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			n++;
	e->local = n ? calloc(n, sizeof(*e->local)) : NULL;
	for (i = ifa; i && e->local; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		int f = i->ifa_addr->sa_family;
		if (f == AF_INET || f == AF_INET6)
			memcpy(&e->local[e->n_local++], i->ifa_addr,
			       f == AF_INET ? sizeof(struct sockaddr_in)
			                    : sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifa);
}

int out_new(const struct out_config *cfg, struct out_engine **out)
{
	const struct conf *cf = conf_get();
	struct out_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return ERR_NOMEM;
	e->q = cfg->queue;
	e->env = cfg->env;
	e->n_own = cfg->n_own < LIMIT_OUTBOUND_OWN_ADDRS ? cfg->n_own : LIMIT_OUTBOUND_OWN_ADDRS;
	memcpy(e->own, cfg->own, e->n_own * sizeof(e->own[0]));
	load_local_addrs(e);
	int r = 0;
	if (cf->outbound_relay) {
		e->relay = true;
		r = out_parse_hostport(cf->outbound_relay, e->relay_host, &e->relay_port);
		if (r < 0)
			log_err("[outbound] relay = %s: want HOST:PORT", cf->outbound_relay);
		if (r == 0 && cf->outbound_relay_user)
			r = read_password(cf->outbound_relay_password_file, &e->relay_password);
	}
	char why[256] = "";
	if (r == 0 &&
	    smtpc_tls_ctx_new(cf->outbound_mta_sts_ca_file, &e->ssl, why, sizeof(why)) < 0) {
		log_err("outbound: no TLS client context: %s", why);
		r = ERR_INVAL;
	}
	e->n_workers = cf->outbound_max_connections;
	e->workers = r == 0 ? calloc(e->n_workers, sizeof(*e->workers)) : NULL;
	if (r == 0 && !e->workers)
		r = ERR_NOMEM;
	if (r == 0 && (pthread_mutex_init(&e->mu, NULL) != 0 || cond_init_mono(&e->wake) < 0))
		r = ERR_NOMEM;
	for (unsigned i = 0; r == 0 && i < e->n_workers; i++) {
		e->workers[i].e = e;
		r = cond_init_mono(&e->workers[i].cond);
	}
	if (r < 0) {
		/* startup only: what was made is released by the process ending */
		log_err("outbound: the engine cannot start: %s", err_str(r));
		return r;
	}
	*out = e;
	return 0;
}

/* ---- destinations (e->mu held) ---- */

static struct out_dest *dest_get(struct out_engine *e, const char *name)
{
	for (struct out_dest *d = e->dests; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	struct out_dest *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->backlog_tail = &d->backlog;
	d->tokens = conf_get()->outbound_destination_rate;
	d->refill_ms = mono_ms();
	d->next = e->dests;
	e->dests = d;
	return d;
}

/* destination_rate: top d's tokens up for the time gone by (at most a minute's). */
static void dest_refill(struct out_dest *d, unsigned rate)
{
	int64_t now = mono_ms();
	d->tokens += (double)(now - d->refill_ms) * rate / 60000.0;
	if (d->tokens > rate)
		d->tokens = rate;
	d->refill_ms = now;
}

/* Free d when nothing needs it: no worker, no waiting batch, and (with a rate) a full
 * bucket, so that a destination that went quiet for a moment cannot start again with
 * a fresh minute's worth. */
static void dest_maybe_free(struct out_engine *e, struct out_dest *d)
{
	unsigned rate = conf_get()->outbound_destination_rate;
	if (d->active || d->backlog)
		return;
	if (rate) {
		dest_refill(d, rate);
		if (d->tokens < rate)
			return; /* the scheduler's sweep frees it later */
	}
	for (struct out_dest **p = &e->dests; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			break;
		}
	}
	free(d);
}

void out_batch_free(struct out_batch **b)
{
	if (!*b)
		return;
	arena_free(&(*b)->arena);
	free(*b);
	*b = NULL;
}

/* Lease due work (mutex not held): of domain, or of the earliest-due one (NULL). */
static struct out_batch *lease(struct out_engine *e, const char *domain)
{
	struct out_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	arena_init(&b->arena, LIMIT_OUTBOUND_LEASE_ARENA);
	int r = queue_lease(e->q, domain, time(NULL), LIMIT_OUTBOUND_LEASE,
	                    LIMIT_OUTBOUND_LEASE_MSGS, &b->arena, &b->items, &b->n);
	if (r < 0)
		log_err("outbound: leasing work failed: %s", err_str(r));
	if (r < 0 || b->n == 0)
		out_batch_free(&b);
	return b;
}

/* An idle worker, starting a new thread when none is idle and the pool is not full;
 * NULL when all max_connections are busy. */
static struct out_worker *idle_worker(struct out_engine *e)
{
	struct out_worker *fresh = NULL;
	for (unsigned i = 0; i < e->n_workers; i++) {
		struct out_worker *w = &e->workers[i];
		if (w->started && !w->dest)
			return w;
		if (!w->started && !fresh)
			fresh = w;
	}
	if (!fresh)
		return NULL;
	if (pthread_create(&fresh->thread, NULL, out_worker_main, fresh) != 0) {
		log_err("outbound: cannot start a worker thread");
		return NULL;
	}
	fresh->started = true;
	return fresh;
}

/* The first waiting batch of d, taken off its backlog, or NULL. */
static struct out_batch *backlog_pop(struct out_engine *e, struct out_dest *d)
{
	struct out_batch *b = d->backlog;
	if (!b)
		return NULL;
	d->backlog = b->next;
	if (!d->backlog)
		d->backlog_tail = &d->backlog;
	b->next = NULL;
	d->backlog_msgs -= b->n;
	e->backlog_msgs -= b->n;
	return b;
}

/* Hand every waiting batch a worker, within its destination's connection limit. */
static void dispatch(struct out_engine *e)
{
	unsigned limit = conf_get()->outbound_destination_connections;
	for (struct out_dest *d = e->dests; d; d = d->next) {
		while (d->backlog && d->active < limit) {
			struct out_worker *w = idle_worker(e);
			if (!w)
				return;
			w->dest = d;
			w->batch = backlog_pop(e, d);
			d->active++;
			e->busy++;
			pthread_cond_signal(&w->cond);
		}
	}
}

/* Free the quiet destinations whose rate bucket has filled up again. */
static void dest_sweep(struct out_engine *e)
{
	struct out_dest *d = e->dests;
	while (d) {
		struct out_dest *next = d->next;
		dest_maybe_free(e, d);
		d = next;
	}
}

static void *sched_main(void *arg)
{
	struct out_engine *e = arg;
	log_ctx("outbound", 0, NULL, NULL);
	pthread_mutex_lock(&e->mu);
	while (!e->stopping) {
		e->woken = false;
		dest_sweep(e);
		dispatch(e);
		if (e->busy < e->n_workers && e->backlog_msgs < LIMIT_OUTBOUND_BACKLOG) {
			pthread_mutex_unlock(&e->mu);
			struct out_batch *b = lease(e, NULL);
			pthread_mutex_lock(&e->mu);
			struct out_dest *d =
			    b ? dest_get(e, e->relay ? OUT_RELAY_DEST : b->items[0].domain) : NULL;
			if (d) {
				*d->backlog_tail = b;
				d->backlog_tail = &b->next;
				d->backlog_msgs += b->n;
				e->backlog_msgs += b->n;
				continue;
			}
			/* out of memory for the destination: the lease runs out, sent later */
			out_batch_free(&b);
		}
		pthread_mutex_unlock(&e->mu);
		int64_t next = queue_next_due(e->q), now = time(NULL);
		pthread_mutex_lock(&e->mu);
		if (e->woken || e->stopping)
			continue;
		/* due work that was not leased belongs to busy destinations or waits for a
		 * worker: their ends wake us; otherwise sleep to the next due moment */
		int64_t wait_ms = LIMIT_OUTBOUND_TICK * 1000;
		if (next > now && (next - now) * 1000 < wait_ms)
			wait_ms = (next - now) * 1000;
		struct timespec ts = deadline_ms(wait_ms);
		while (!e->woken && !e->stopping &&
		       pthread_cond_timedwait(&e->wake, &e->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int out_run(struct out_engine *e)
{
	if (pthread_create(&e->sched, NULL, sched_main, e) != 0) {
		log_err("outbound: cannot start the scheduler thread");
		return ERR_NOMEM;
	}
	e->sched_started = true;
	log_info("outbound started mode=%s max_connections=%u destination_connections=%u",
	         e->relay ? "relay" : "mx", e->n_workers,
	         conf_get()->outbound_destination_connections);
	return 0;
}

void out_wake(struct out_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->woken = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->mu);
}

/* ---- for the workers ---- */

struct out_dest *out_worker_wait(struct out_worker *w)
{
	struct out_engine *e = w->e;
	pthread_mutex_lock(&e->mu);
	while (!w->dest && !e->stopping)
		pthread_cond_wait(&w->cond, &e->mu);
	struct out_dest *d = w->dest; /* even when stopping: its batch is then let go */
	pthread_mutex_unlock(&e->mu);
	return d;
}

void out_worker_done(struct out_worker *w)
{
	struct out_engine *e = w->e;
	pthread_mutex_lock(&e->mu);
	struct out_dest *d = w->dest;
	if (d) {
		d->active--;
		e->busy--;
		w->dest = NULL;
		dest_maybe_free(e, d);
	}
	e->woken = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->mu);
}

struct out_batch *out_next_batch(struct out_worker *w)
{
	struct out_engine *e = w->e;
	pthread_mutex_lock(&e->mu);
	struct out_dest *d = w->dest;
	struct out_batch *b = w->batch;
	w->batch = NULL;
	if (e->stopping)
		out_batch_free(&b); /* still leased: sent after the next start */
	else if (!b)
		b = backlog_pop(e, d);
	bool stopping = e->stopping;
	char name[LIMIT_DNS_NAME + 1];
	snprintf(name, sizeof(name), "%s", d->name);
	pthread_mutex_unlock(&e->mu);
	/* keep the connection busy: more of the destination's due work (any domain's
	 * through the relay) before it closes */
	if (!b && !stopping)
		b = lease(e, e->relay ? NULL : name);
	return b;
}

bool out_stopping(struct out_engine *e)
{
	pthread_mutex_lock(&e->mu);
	bool s = e->stopping;
	pthread_mutex_unlock(&e->mu);
	return s;
}

bool out_rate_take(struct out_worker *w)
{
	struct out_engine *e = w->e;
	unsigned rate = conf_get()->outbound_destination_rate;
	pthread_mutex_lock(&e->mu);
	struct out_dest *d = w->dest;
	while (rate && !e->stopping) {
		dest_refill(d, rate); /* at most a minute's worth at once */
		if (d->tokens >= 1)
			break;
		struct timespec ts = deadline_ms((int64_t)((1 - d->tokens) * 60000.0 / rate) + 1);
		(void)pthread_cond_timedwait(&w->cond, &e->mu, &ts); /* woken by stop, or time */
	}
	bool ok = !e->stopping;
	if (ok && rate)
		d->tokens -= 1;
	pthread_mutex_unlock(&e->mu);
	return ok;
}

void out_count(struct out_engine *e, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&e->mu);
	*field += n;
	pthread_mutex_unlock(&e->mu);
}

void out_stats(struct out_engine *e, struct out_stats *out)
{
	pthread_mutex_lock(&e->mu);
	*out = e->stats;
	pthread_mutex_unlock(&e->mu);
}

/* ---- the deliver hook ---- */

int out_deliver_add(void *ctx, struct deliver_job *const *jobs, size_t n)
{
	struct out_engine *e = ctx;
	const struct queue_msg_in *msgs[LIMIT_QUEUE_BATCH];
	int results[LIMIT_QUEUE_BATCH];
	char qids[LIMIT_QUEUE_BATCH][QUEUE_ID_MAX];
	int last = 0;
	size_t queued = 0;
	for (size_t at = 0; at < n; at += LIMIT_QUEUE_BATCH) {
		size_t k = n - at < LIMIT_QUEUE_BATCH ? n - at : LIMIT_QUEUE_BATCH;
		for (size_t i = 0; i < k; i++)
			msgs[i] = jobs[at + i]->outbound;
		int r = queue_add_batch(e->q, msgs, k, results, qids);
		for (size_t i = 0; i < k; i++) {
			jobs[at + i]->outbound_result = results[i];
			metrics_count(METRIC_DELIVERIES,
				      results[i] == 0 ? METRIC_DELIVERY_QUEUED : METRIC_DELIVERY_FAILED,
				      msgs[i]->n_rcpts);
			if (results[i] == 0) {
				_Static_assert(sizeof jobs[0]->outbound_qid >= QUEUE_ID_MAX,
					       "a qid fits the job's field");
				memcpy(jobs[at + i]->outbound_qid, qids[i], QUEUE_ID_MAX);
				queued++;
				log_info("queued qid=%s size=%llu nrcpt=%zu", qids[i],
				         (unsigned long long)msgs[i]->size, msgs[i]->n_rcpts);
			} else {
				log_err("outbound: queueing failed: %s", err_str(results[i]));
			}
		}
		if (r < 0)
			last = r;
	}
	if (queued)
		out_wake(e);
	return queued ? 0 : last;
}

/* ---- stop ---- */

int out_stop(struct out_engine *e)
{
	if (!e)
		return 0;
	pthread_mutex_lock(&e->mu);
	e->stopping = true;
	pthread_cond_broadcast(&e->wake);
	for (unsigned i = 0; i < e->n_workers; i++)
		pthread_cond_broadcast(&e->workers[i].cond);
	pthread_mutex_unlock(&e->mu);
	if (e->sched_started)
		pthread_join(e->sched, NULL);
	e->sched_started = false;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += LIMIT_OUTBOUND_STOP_WAIT;
	int r = 0;
	for (unsigned i = 0; i < e->n_workers; i++) {
		struct out_worker *w = &e->workers[i];
		if (!w->started)
			continue;
		if (pthread_timedjoin_np(w->thread, NULL, &until) != 0) {
			log_warn(
			    "outbound: a worker is still sending after %u s; its leased work is "
			    "sent again after the next start",
			    LIMIT_OUTBOUND_STOP_WAIT);
			r = ERR_TEMP;
			continue;
		}
		w->started = false;
	}
	return r;
}

void out_free(struct out_engine **ep)
{
	struct out_engine *e = *ep;
	if (!e)
		return;
	while (e->dests) {
		struct out_dest *d = e->dests;
		e->dests = d->next;
		while (d->backlog) {
			struct out_batch *b = d->backlog;
			d->backlog = b->next;
			out_batch_free(&b);
		}
		free(d);
	}
	for (unsigned i = 0; i < e->n_workers; i++)
		pthread_cond_destroy(&e->workers[i].cond);
	free(e->workers);
	pthread_cond_destroy(&e->wake);
	pthread_mutex_destroy(&e->mu);
	if (e->relay_password) {
		OPENSSL_cleanse(e->relay_password, strlen(e->relay_password));
		free(e->relay_password);
	}
	SSL_CTX_free(e->ssl);
	free(e->local);
	free(e);
	*ep = NULL;
}
