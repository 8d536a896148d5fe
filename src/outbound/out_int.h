/* out_int.h: what the engine's files share (out_engine.c: scheduler and destinations;
 * out_worker.c: one worker's sessions; out_route.c: MX/relay and TLS to one connection;
 * out_result.c: outcomes, DSNs, queue records, log lines). */
#ifndef KASTEN_OUT_INT_H
#define KASTEN_OUT_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "outbound/out.h"
#include "outbound/queue.h"
#include "outbound/smtpc.h"

struct event_base;
struct dns_resolver;
struct tlspol_ctx;
struct ssl_ctx_st;

/* The messages one queue_lease returned: all of one domain. */
struct out_batch {
	struct arena arena; /* the items and their strings */
	struct queue_item *items;
	size_t n;
	struct out_batch *next;
};

/* A destination: a domain, or the relay (name OUT_RELAY_DEST). Lives while a worker
 * serves it or batches wait for it; guarded by the engine's mutex. */
struct out_dest {
	char name[LIMIT_DNS_NAME + 1];
	unsigned active; /* workers sending to it */
	struct out_batch *backlog, **backlog_tail;
	size_t backlog_msgs;
	double tokens;     /* destination_rate: messages it may start now */
	int64_t refill_ms; /* when tokens were last topped up */
	struct out_dest *next;
};

#define OUT_RELAY_DEST "[relay]" /* cannot be a domain: brackets */

struct out_worker {
	struct out_engine *e;
	pthread_t thread;
	bool started;
	pthread_cond_t cond;     /* the scheduler hands a destination */
	struct out_dest *dest;   /* NULL: idle */
	struct out_batch *batch; /* the first batch the scheduler handed with dest */
	/* the thread's own (made on it, used on it only) */
	struct event_base *base;
	struct dns_resolver *dns;
	struct tlspol_ctx *tlspol;
};

struct out_engine {
	struct queue *q;
	struct store_env *env;
	struct out_own_addr own[LIMIT_OUTBOUND_OWN_ADDRS];
	size_t n_own;
	struct sockaddr_storage *local; /* this machine's addresses (getifaddrs) */
	size_t n_local;
	bool relay;
	char relay_host[LIMIT_DNS_NAME + 1];
	unsigned relay_port;
	char *relay_password; /* wiped and freed at stop */
	struct ssl_ctx_st *ssl;
	pthread_mutex_t mu;
	pthread_cond_t wake; /* the scheduler's: work, a free worker, stop */
	bool woken, stopping;
	pthread_t sched;
	bool sched_started;
	struct out_worker *workers;
	unsigned n_workers; /* [outbound] max_connections */
	unsigned busy;      /* workers with a destination */
	struct out_dest *dests;
	size_t backlog_msgs;
	struct out_stats stats;
};

/* out_engine.c, for the workers (each takes the mutex itself): */
/* Wait until the scheduler hands w a destination; NULL: the engine is stopping. */
struct out_dest *out_worker_wait(struct out_worker *w);
/* w is done with its destination (freed when nothing else needs it). */
void out_worker_done(struct out_worker *w);
/* The next batch for w's destination: a waiting one, else a new lease of the
 * destination's due work. NULL: nothing left (or stopping). */
struct out_batch *out_next_batch(struct out_worker *w);
void out_batch_free(struct out_batch **b);
/* destination_rate: wait until d may start one more message. false: stopping. */
bool out_rate_take(struct out_worker *w);
bool out_stopping(struct out_engine *e);
void out_count(struct out_engine *e, uint64_t *field, uint64_t n);

/* out_worker.c: the worker thread's body. */
void *out_worker_main(void *arg);

/* out_idna.c: domain for the DNS into out: as it is when ASCII, else its A-labels
 * (IDNA2008). ERR_BAD_SYNTAX for a name IDNA refuses, ERR_TOO_LONG past cap. */
int out_domain_ascii(const char *domain, char *out, size_t cap);

/* out_route.c: one connection to the destination of domain (NULL with a relay). */
struct out_conn {
	struct smtpc *s;
	char host[LIMIT_DNS_NAME + 1]; /* the MX host (or relay) as named */
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	bool verified; /* PKIX or DANE verified TLS (RFC 8689 REQUIRETLS) */
};

/* Why no connection could be made, for every recipient of the attempt. */
struct out_fail {
	bool permanent;
	int code;                          /* the reply code a DSN reports (4xx/5xx) */
	char status[SMTPC_STATUS_MAX];     /* "4.4.1", "5.1.2", ... */
	char text[LIMIT_SMTPC_REPLY_TEXT]; /* "550 5.1.2 ..." as a DSN's diagnostic */
	char host[LIMIT_DNS_NAME + 1];     /* the host that answered, or "" */
};

/* 0 with c connected (greeting, EHLO, STARTTLS as required, AUTH on the relay), or
 * ERR_TEMP / ERR_PERM with f filled. */
int out_route_connect(struct out_worker *w, const char *domain, struct out_conn *c,
                      struct out_fail *f);

/* out_result.c: one recipient's reply of one attempt. */
struct out_rcpt_outcome {
	struct smtpc_reply reply; /* code 0: no answer (temporary) */
};
/* Record every recipient of it (replies r[i] for it->rcpts[i]) after the DSNs they
 * cause; log one line each. conn: the server (NULL: none reached). dsn_offered: the
 * server announced DSN (else NOTIFY=SUCCESS gets a "relayed" report). */
void out_result_record(struct out_worker *w, const struct queue_item *it,
                       const struct out_rcpt_outcome *r, const struct out_conn *conn,
                       bool dsn_offered);
/* Every recipient of it gets the failure f. */
void out_result_fail_all(struct out_worker *w, const struct queue_item *it,
                         const struct out_fail *f);

#endif
