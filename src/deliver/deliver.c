/* deliver.c: the job queue and the committer thread (group commit).
 *
 * Submitting threads map the spool file, index its MIME into a per-job arena and push the
 * job onto one queue (mutex + condvar). The single committer thread takes every job queued
 * at that moment (bounded by DELIVER_BATCH_MSGS jobs and DELIVER_BATCH_RCPTS recipient
 * entries; the rest stays for the next round), makes ONE store_deliver_batch call for all
 * their recipients (the store links, inserts and flushes once), writes the per-recipient
 * results back and completes every job. While one flush runs, new jobs pile up and form
 * the next batch: the batch size follows the load with no timers.
 *
 * Owns: the queue, the committer's scratch arena (reset per batch), copies of the config
 * strings, and the counters for deliver_stats(). Each job's arena is freed, and its spool
 * file unlinked, right after its done callback returned, on the thread done ran on. */
#include "deliver/deliver_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/metrics.h"
#include "mime/mime.h"
#include "net/net.h"

struct deliver_waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct deliver_job *head, *tail;
	bool running, stopping;
	pthread_t thread;
	/* set before the thread starts, cleared after it is joined: read without the lock */
	struct store_env *env;
	char *data_dir, *hostname, *postmaster;
	unsigned warn_percent;
	int (*outbound_add)(void *ctx, struct deliver_job *const *jobs, size_t n);
	void *outbound_ctx;
	atomic_uint_fast64_t batches, messages;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static _Thread_local bool on_committer;

const char *deliver_hostname(void)
{
	return P.hostname ? P.hostname : "localhost";
}

const char *deliver_postmaster(void)
{
	return P.postmaster ? P.postmaster : "postmaster@localhost";
}

const char *deliver_data_dir(void)
{
	return P.data_dir;
}

unsigned deliver_warn_percent(void)
{
	return P.warn_percent;
}

struct store_env *deliver_env(void)
{
	return P.env;
}

bool deliver_on_committer(void)
{
	return on_committer;
}

bool deliver_outbound_enabled(void)
{
	return P.outbound_add != NULL;
}

void deliver_stats(uint64_t *batches_out, uint64_t *messages_out)
{
	if (batches_out)
		*batches_out = atomic_load(&P.batches);
	if (messages_out)
		*messages_out = atomic_load(&P.messages);
}

/* ---- completion ---- */

/* Runs done, then releases what the pipeline holds. The job may be gone after done. */
static void job_finish(void *arg)
{
	struct deliver_job *job = arg;
	struct arena *a = job->arena;
	char *path = job->keep_spool ? NULL : job->spool_own;
	struct deliver_waiter *w = job->waiter;
	job->arena = NULL;
	job->spool_own = NULL;
	job->mime = NULL;
	job->mime_len = 0;
	job->waiter = NULL;
	/* the remote recipients are counted by the queue's hook, which knows them */
	for (size_t k = 0; k < job->n_rcpts; k++)
		metrics_count(METRIC_DELIVERIES,
			      job->rcpts[k].result == 0 ? METRIC_DELIVERY_STORED : METRIC_DELIVERY_FAILED,
			      1);
	if (job->done)
		job->done(job, job->arg);
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("deliver: cannot remove spool file %s: %s", path, strerror(errno));
	if (a) {
		arena_free(a);
		free(a);
	}
	if (w) {
		pthread_mutex_lock(&w->mu);
		w->finished = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

static void job_complete(struct deliver_job *job)
{
	if (!job->base) {
		job_finish(job);
		return;
	}
	if (net_call_on(job->base, job_finish, job) == 0)
		return;
	/* Running done here would race with the session on its own loop thread; losing
	 * the callback only leaks that one session (its client times out and retries,
	 * since it never got a 250). Release what the pipeline owns. */
	log_err("deliver: cannot hand a delivery result back to its loop; session dropped");
	job->done = NULL;
	job->base = NULL;
	job_finish(job);
}

/* ---- the committer ---- */

/* The same account earlier in this job's list: stored once, same result. */
static bool rcpt_dup(const struct deliver_job *job, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (job->rcpts[i].account_id == job->rcpts[k].account_id)
			return true;
	return false;
}

static bool rcpt_entry(const struct deliver_job *job, size_t k)
{
	return job->rcpts[k].account_id > 0 && !rcpt_dup(job, k);
}

static void log_results(const struct deliver_job *job)
{
	for (size_t k = 0; k < job->n_rcpts; k++) {
		const struct deliver_rcpt *r = &job->rcpts[k];
		char esc[512];
		const char *addr = r->address ? r->address : "";
		if (r->result == 0)
			log_debug(LOGC_STORE, "deliver: stored account=%lld size=%llu",
				  (long long)r->account_id, (unsigned long long)job->size);
		else
			log_info("deliver: not stored rcpt=%s account=%lld error=%s",
				 log_esc(esc, addr, strlen(addr)), (long long)r->account_id,
				 err_str(r->result));
	}
}

/* Fill results back into the jobs (the order entries were built in). */
static void spread_results(struct deliver_job *batch, const int *results)
{
	size_t e = 0;
	for (struct deliver_job *j = batch; j; j = j->next) {
		for (size_t k = 0; k < j->n_rcpts; k++) {
			if (j->rcpts[k].account_id <= 0)
				j->rcpts[k].result = ERR_NOTFOUND;
			else if (!rcpt_dup(j, k))
				j->rcpts[k].result = results[e++];
		}
		for (size_t k = 0; k < j->n_rcpts; k++) {
			if (j->rcpts[k].account_id <= 0 || !rcpt_dup(j, k))
				continue;
			for (size_t i = 0; i < k; i++)
				if (j->rcpts[i].account_id == j->rcpts[k].account_id) {
					j->rcpts[k].result = j->rcpts[i].result;
					break;
				}
		}
	}
}

/* The outbound queue's share of the batch: one hook call for every job with remote
 * recipients, before any job completes (their 250 waits for the queue's flush too). */
static void run_outbound(struct deliver_job *batch, size_t jobs, struct arena *scratch)
{
	struct deliver_job **out = NULL;
	size_t n = 0;
	for (struct deliver_job *j = batch; j; j = j->next)
		if (j->outbound) {
			if (!out)
				out = arena_alloc(scratch, jobs * sizeof(*out));
			if (out)
				out[n++] = j;
			j->outbound_result = ERR_TEMP; /* until the hook says otherwise */
		}
	if (!out)
		return; /* no outbound job, or no memory: every outbound job stays ERR_TEMP */
	int rc = P.outbound_add(P.outbound_ctx, (struct deliver_job *const *)out, n);
	if (rc < 0) {
		log_err("deliver: outbound queue refused a batch of %zu messages: %s", n,
			err_str(rc));
		for (size_t i = 0; i < n; i++)
			out[i]->outbound_result = err_is_temp(rc) ? rc : ERR_TEMP;
	}
}

static void run_batch(struct deliver_job *batch, struct arena *scratch)
{
	size_t n = 0, jobs = 0;
	for (struct deliver_job *j = batch; j; j = j->next) {
		jobs++;
		for (size_t k = 0; k < j->n_rcpts; k++)
			n += rcpt_entry(j, k);
	}
	int64_t *ids = arena_alloc(scratch, (n ? n : 1) * sizeof(*ids));
	const struct store_new_msg **msgs = arena_alloc(scratch, (n ? n : 1) * sizeof(*msgs));
	int *results = arena_alloc(scratch, (n ? n : 1) * sizeof(*results));
	int rc = 0;
	if (!ids || !msgs || !results) {
		rc = ERR_NOMEM;
		n = 0;
	}
	size_t e = 0;
	for (struct deliver_job *j = batch; j && e < n; j = j->next)
		for (size_t k = 0; k < j->n_rcpts; k++)
			if (rcpt_entry(j, k)) {
				ids[e] = j->rcpts[k].account_id;
				msgs[e] = &j->msg;
				results[e] = ERR_TEMP; /* until the store says otherwise */
				e++;
			}
	if (n > 0) {
		rc = store_deliver_batch(P.env, ids, (const struct store_new_msg *const *)msgs, n,
					 results);
		atomic_fetch_add(&P.batches, 1);
		if (rc < 0) {
			/* Whether anything became durable is unknown: a temporary failure
			 * makes the client retry (a duplicate at worst, never a loss). */
			log_err("deliver: batch of %zu entries failed: %s", n, err_str(rc));
			for (size_t i = 0; i < n; i++)
				if (results[i] == 0)
					results[i] = err_is_temp(rc) ? rc : ERR_TEMP;
		}
	}
	atomic_fetch_add(&P.messages, jobs);
	if (rc < 0 && n == 0) { /* no arrays at all: fail every recipient */
		for (struct deliver_job *j = batch; j; j = j->next)
			for (size_t k = 0; k < j->n_rcpts; k++)
				j->rcpts[k].result = rc;
	} else {
		spread_results(batch, results);
	}
	run_outbound(batch, jobs, scratch);
	log_debug(LOGC_STORE, "deliver: batch jobs=%zu entries=%zu", jobs, n);
	for (struct deliver_job *j = batch, *next; j; j = next) {
		next = j->next; /* done may free j */
		j->next = NULL;
		log_results(j);
		job_complete(j);
	}
	/* Warnings after the completions: they must not delay anyone's 250. */
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		if (results[i] == 0)
			ids[ok++] = ids[i];
	if (ok > 0 && P.warn_percent > 0)
		deliver_quota_after_batch(ids, ok);
}

/* Detach up to the batch bounds from the queue head; at least one job. Lock held. */
static struct deliver_job *take_batch(void)
{
	struct deliver_job *first = P.head, *last = NULL, *j = P.head;
	size_t msgs = 0, rcpts = 0;
	while (j && msgs < DELIVER_BATCH_MSGS &&
	       (msgs == 0 || rcpts + j->n_rcpts <= DELIVER_BATCH_RCPTS)) {
		rcpts += j->n_rcpts;
		msgs++;
		last = j;
		j = j->next;
	}
	P.head = j;
	if (!j)
		P.tail = NULL;
	last->next = NULL;
	return first;
}

static void *committer_main(void *unused)
{
	(void)unused;
	on_committer = true;
	log_ctx("deliver", 0, NULL, NULL);
	struct arena scratch;
	arena_init(&scratch, DELIVER_COMMIT_ARENA);
	for (;;) {
		pthread_mutex_lock(&P.mu);
		while (!P.head && !P.stopping)
			pthread_cond_wait(&P.cv, &P.mu);
		if (!P.head) {
			pthread_mutex_unlock(&P.mu);
			break;
		}
		struct deliver_job *batch = take_batch();
		pthread_mutex_unlock(&P.mu);
		run_batch(batch, &scratch);
		arena_reset(&scratch);
	}
	arena_free(&scratch);
	return NULL;
}

/* ---- start / stop ---- */

/* The From: of warnings and DSNs: [server] postmaster, the address smtp/ routes to the
 * postmaster account (RFC 5321 4.5.1), so a reply reaches a person. It is process
 * configuration shared with smtp/, hence read from conf rather than deliver_config;
 * without a loaded config (tests, tools) it is postmaster@ the hostname. */
static char *postmaster_copy(const char *host)
{
	const struct conf *cf = conf_get();
	if (cf && cf->postmaster)
		return strdup(cf->postmaster);
	char pm[LIMIT_ADDRESS + 1];
	int n = snprintf(pm, sizeof(pm), "postmaster@%s", host ? host : "localhost");
	return n > 0 && (size_t)n < sizeof(pm) ? strdup(pm) : NULL;
}

int deliver_start(struct store_env *env, const struct deliver_config *cfg)
{
	if (!env || !cfg || !cfg->data_dir || cfg->warn_percent > 100)
		return ERR_INVAL;
	pthread_mutex_lock(&P.mu);
	bool running = P.running;
	pthread_mutex_unlock(&P.mu);
	if (running)
		return ERR_EXISTS;
	char *data = strdup(cfg->data_dir);
	char *host = strdup(cfg->hostname ? cfg->hostname : "localhost");
	char *pm = postmaster_copy(host);
	if (!data || !host || !pm) {
		free(data);
		free(host);
		free(pm);
		return ERR_NOMEM;
	}
	int r = deliver_spool_prepare(data);
	if (r < 0) {
		free(data);
		free(host);
		free(pm);
		return r;
	}
	P.env = env;
	P.data_dir = data;
	P.hostname = host;
	P.postmaster = pm;
	P.warn_percent = cfg->warn_percent;
	P.outbound_add = cfg->outbound_add;
	P.outbound_ctx = cfg->outbound_ctx;
	atomic_store(&P.batches, 0);
	atomic_store(&P.messages, 0);
	pthread_mutex_lock(&P.mu);
	P.stopping = false;
	P.running = true;
	int pr = pthread_create(&P.thread, NULL, committer_main, NULL);
	if (pr != 0)
		P.running = false;
	pthread_mutex_unlock(&P.mu);
	if (pr != 0) {
		log_err("deliver: cannot start the committer thread: %s", strerror(pr));
		P.data_dir = P.hostname = P.postmaster = NULL;
		free(data);
		free(host);
		free(pm);
		return ERR_TEMP;
	}
	return 0;
}

void deliver_stop(void)
{
	pthread_mutex_lock(&P.mu);
	if (!P.running || P.stopping) {
		pthread_mutex_unlock(&P.mu);
		return;
	}
	P.stopping = true;
	pthread_cond_broadcast(&P.cv);
	pthread_mutex_unlock(&P.mu);
	pthread_join(P.thread, NULL);
	pthread_mutex_lock(&P.mu);
	P.running = false;
	P.stopping = false;
	pthread_mutex_unlock(&P.mu);
	free(P.data_dir);
	free(P.hostname);
	free(P.postmaster);
	P.data_dir = P.hostname = P.postmaster = NULL;
	P.env = NULL;
	P.outbound_add = NULL;
	P.outbound_ctx = NULL;
}

/* ---- submission ---- */

static void job_release(struct deliver_job *job)
{
	if (job->arena) {
		arena_free(job->arena);
		free(job->arena);
	}
	job->arena = NULL;
	job->spool_own = NULL;
	job->mime = NULL;
	job->mime_len = 0;
}

/* What mime_extract found, into the job's message; the header is copied, since the
 * mapping it points into goes away before the store reads it. */
static void job_fill(struct deliver_job *job, const struct mime_extract *x, const uint8_t *p)
{
	struct store_new_msg *m = &job->msg;
	job->mime = x->blob;
	job->mime_len = x->blob_len;
	m->header = x->header_len ? arena_strndup(job->arena, p, x->header_len) : NULL;
	m->header_len = m->header ? x->header_len : 0; /* no room: the store reads the file */
	m->preview = x->preview;
	m->text = x->text;
	m->text_len = x->text_len;
	m->message_id = x->message_id;
	m->references = x->references;
}

/* Map the spool file and extract what the store keeps of it (structure, header, ids,
 * preview, search text) into the job's own arena and job->msg. */
static int job_index(struct deliver_job *job)
{
	int fd = open(job->spool_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("deliver: cannot open spool file %s: %s", job->spool_path,
			strerror(errno));
		return ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void)close(fd); /* read-only: nothing to lose */
		return ERR_IO;
	}
	job->size = (uint64_t)st.st_size;
	static const uint8_t empty[1];
	const uint8_t *p = empty;
	void *map = NULL;
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			log_err("deliver: cannot map spool file %s: %s", job->spool_path,
				strerror(errno));
			(void)close(fd);
			return ERR_IO;
		}
		(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL); /* a hint only */
		p = map;
	}
	(void)close(fd); /* the mapping keeps the file */
	struct mime_extract x;
	int r = mime_extract(p, job->size, job->arena, &x);
	if (r == 0)
		job_fill(job, &x, p);
	if (map)
		(void)munmap(map, (size_t)st.st_size); /* nothing kept points into it */
	if (r < 0) {
		/* Never refuse mail over its structure: the store derives what it can. */
		log_warn("deliver: MIME extraction failed (%s), storing without it size=%llu",
			 err_str(r), (unsigned long long)job->size);
		job->mime = NULL;
		job->mime_len = 0;
	}
	return 0;
}

/* A job for the outbound queue alone: nothing is stored locally, so its MIME is not
 * indexed; only the size is needed. */
static int job_size(struct deliver_job *job)
{
	struct stat st;
	if (stat(job->spool_path, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("deliver: cannot stat spool file %s: %s", job->spool_path,
			strerror(errno));
		return ERR_IO;
	}
	job->size = (uint64_t)st.st_size;
	return 0;
}

static int job_prepare(struct deliver_job *job)
{
	if (job->outbound && !P.outbound_add)
		return ERR_INVAL;
	if (!job->spool_path || (job->n_rcpts > 0 && !job->rcpts) ||
	    (job->n_rcpts == 0 && !job->outbound))
		return ERR_INVAL;
	job->outbound_result = ERR_TEMP;
	job->arena = malloc(sizeof(*job->arena));
	if (!job->arena)
		return ERR_NOMEM;
	arena_init(job->arena, DELIVER_MIME_ARENA);
	job->msg = (struct store_new_msg){0};
	job->spool_own = arena_strdup(job->arena, job->spool_path);
	int r = !job->spool_own ? ERR_NOMEM : job->n_rcpts ? job_index(job) : job_size(job);
	if (r < 0) {
		job_release(job);
		return r;
	}
	if (job->internal_date == 0)
		job->internal_date = (int64_t)time(NULL);
	job->msg.path = job->spool_own;
	job->msg.size = job->size;
	job->msg.internal_date = job->internal_date;
	job->msg.mime = job->mime;
	job->msg.mime_len = job->mime_len;
	for (size_t k = 0; k < job->n_rcpts; k++)
		job->rcpts[k].result = ERR_TEMP;
	job->next = NULL;
	return 0;
}

static int submit(struct deliver_job *job, struct deliver_waiter *w)
{
	if (!job)
		return ERR_INVAL;
	job->arena = NULL;
	job->waiter = w;
	int r = job_prepare(job);
	if (r < 0)
		return r;
	pthread_mutex_lock(&P.mu);
	/* the committer drains after stop began, so what it queues itself still runs */
	if (!P.running || (P.stopping && !on_committer)) {
		pthread_mutex_unlock(&P.mu);
		job_release(job);
		return P.running ? ERR_TEMP : ERR_INVAL;
	}
	if (P.tail)
		P.tail->next = job;
	else
		P.head = job;
	P.tail = job;
	pthread_cond_signal(&P.cv);
	pthread_mutex_unlock(&P.mu);
	return 0;
}

int deliver_submit(struct deliver_job *job)
{
	if (!job || !job->done)
		return ERR_INVAL;
	return submit(job, NULL);
}

int deliver_submit_wait(struct deliver_job *job)
{
	if (!job)
		return ERR_INVAL;
	if (on_committer) {
		log_err("deliver: deliver_submit_wait on the committer thread would deadlock");
		return ERR_INVAL;
	}
	struct deliver_waiter w = {.finished = false};
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	struct event_base *base = job->base;
	job->base = NULL;
	int r = submit(job, &w);
	if (r == 0) {
		pthread_mutex_lock(&w.mu);
		while (!w.finished)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		for (size_t k = 0; k < job->n_rcpts; k++)
			if (job->rcpts[k].result != 0) {
				r = job->rcpts[k].result;
				break;
			}
	}
	job->base = base;
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return r;
}

/* ---- generated messages (warnings, DSNs queued from the committer) ---- */

static void gen_done(struct deliver_job *job, void *arg)
{
	struct deliver_gen *g = arg;
	if (g->after)
		g->after(job, NULL);
	free(g);
}

int deliver_gen_submit(const char *path, uint64_t size, int64_t account_id,
		       const char *address, deliver_done_fn after)
{
	struct deliver_gen *g = calloc(1, sizeof(*g));
	int r = g ? 0 : ERR_NOMEM;
	if (r == 0) {
		int n1 = snprintf(g->path, sizeof(g->path), "%s", path);
		int n2 = snprintf(g->address, sizeof(g->address), "%s", address);
		if (n1 < 0 || (size_t)n1 >= sizeof(g->path) || n2 < 0 ||
		    (size_t)n2 >= sizeof(g->address))
			r = ERR_TOO_LONG;
	}
	if (r == 0) {
		g->rcpt.account_id = account_id;
		g->rcpt.address = g->address;
		g->after = after;
		g->job.spool_path = g->path;
		g->job.size = size;
		g->job.rcpts = &g->rcpt;
		g->job.n_rcpts = 1;
		g->job.done = gen_done;
		g->job.arg = g;
		r = deliver_submit(&g->job);
	}
	if (r < 0) {
		log_err("deliver: cannot queue a generated message for account=%lld: %s",
			(long long)account_id, err_str(r));
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("deliver: cannot remove spool file %s: %s", path,
				 strerror(errno));
		free(g);
	}
	return r;
}
