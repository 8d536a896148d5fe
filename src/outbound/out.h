/* out.h: the outbound engine: sends what the queue (queue.h) holds to other servers.
 *
 * One scheduler thread and up to [outbound] max_connections worker threads:
 *   - the scheduler sleeps until the queue's next due moment, at most a second (so that
 *     `kasten queue retry|hold|release` from another process is seen within a second),
 *     or until out_wake() (new mail leaves at once, not at the next tick); it leases due
 *     work per destination (queue_lease) and hands it to an idle worker, keeping to
 *     [outbound] destination_connections and destination_rate;
 *   - a worker takes one destination: the relay ([outbound] relay) or the domain's MX
 *     hosts (RFC 5321 5.1), with the TLS each host requires (tlspol.h), opens one
 *     connection (smtpc.h), sends every message leased for that destination over it
 *     (RSET between, several recipients of the domain in one transaction), leases more
 *     for the destination before it closes, and records every recipient's outcome
 *     (queue_record) after the DSNs it causes (bounce.h) are made: a crash between the
 *     two sends a DSN twice, never none.
 * A destination is a recipient domain (lower case) or, with a relay, the relay itself.
 *
 * Outcomes per recipient: 2xx delivered; 5xx failed at once; 4xx, a lost connection, a
 * timeout or a temporary DNS failure deferred to the next wait of retry_schedule, and
 * failed (4.4.7) once give_up has passed since the message was queued; a delay DSN once
 * when delay_notice has passed. One log line per outcome: qid, rcpt, relay host[ip]:port,
 * delay, dsn, status (sent|deferred|bounced), the reply.
 *
 * Threads: out_new/out_run/out_stop/out_free from the serving thread; out_wake and out_deliver_add
 * from any thread. */
#ifndef KASTEN_OUT_H
#define KASTEN_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/limits.h"

struct queue;
struct store_env;
struct deliver_job;
struct out_engine;

/* One of our own listening addresses: an MX (or the relay) resolving to one of these is
 * this server, and sending there would loop (RFC 5321 5.1: 5.4.6). A wildcard address
 * (0.0.0.0, ::) stands for every address of this machine. */
struct out_own_addr {
	struct sockaddr_storage sa; /* family, address and port */
	socklen_t len;
};

struct out_config {
	struct queue *queue;            /* shared with deliver/ (adds) and bounces */
	struct store_env *env;          /* the directory: DSNs to local senders */
	const struct out_own_addr *own; /* our listeners (copied) */
	size_t n_own;                   /* at most LIMIT_OUTBOUND_OWN_ADDRS */
};

/* Make the engine (no thread yet), so that its hook can be handed to deliver_start.
 * The engine reads [outbound] and [dns] from conf_get(). Returns 0, ERR_INVAL (a bad
 * relay password file or TLS CA file: logged) or ERR_NOMEM. */
int out_new(const struct out_config *cfg, struct out_engine **out);

/* Start the scheduler (workers start as work arrives), after deliver_start: workers
 * deliver DSNs to local senders through deliver/. 0 or ERR_NOMEM. */
int out_run(struct out_engine *e);

/* New work is in the queue: the scheduler looks now. NULL is a no-op. */
void out_wake(struct out_engine *e);

/* Stop, before deliver_stop: no new connection; each worker ends after its current
 * transaction (QUIT) and is joined, waiting at most LIMIT_OUTBOUND_STOP_WAIT seconds in
 * all. Work leased and not recorded stays leased until the next server start clears it
 * (queue_open), so it is sent then. Returns 0, or ERR_TEMP when a worker was still busy
 * after the wait (logged; it is left running and out_free must not be called). */
int out_stop(struct out_engine *e);

/* Free a stopped engine after deliver_stop (the hook may run until then); *e = NULL. */
void out_free(struct out_engine **e);

/* deliver_config.outbound_add: queue every job's queue_msg_in (job->outbound) with one
 * queue_add_batch (one flush, one transaction), set each outbound_result, then wake
 * the engine. ctx is the struct out_engine. Returns 0 or the error of the batch. */
int out_deliver_add(void *ctx, struct deliver_job *const *jobs, size_t n);

/* Counters since out_run, for tests, benchmarks and metrics. */
struct out_stats {
	uint64_t connections;                 /* SMTP sessions that reached the greeting */
	uint64_t transactions;                /* smtpc_send calls */
	uint64_t delivered, deferred, failed; /* recipient outcomes */
};
void out_stats(struct out_engine *e, struct out_stats *out);

/* ---- the pure parts (out_policy.c), unit-tested ---- */

/* The next attempt after a temporary failure: now + retry[min(attempts, n-1)], never
 * later than queued_at + give_up (the last try happens when the time is up). */
int64_t out_retry_at(const unsigned *retry, unsigned n, unsigned attempts, int64_t now,
                     int64_t queued_at, unsigned give_up);

/* Is sa (an address with its port) one of own[0..n)? Wildcard entries match when
 * local[] (this machine's addresses, may be NULL/0) holds sa's address or it is a
 * loopback address. */
bool out_addr_is_own(const struct out_own_addr *own, size_t n, const struct sockaddr *sa,
                     const struct sockaddr_storage *local, size_t n_local);

/* "host:port" or "[v6]:port" into host (LIMIT_DNS_NAME + 1 bytes, brackets removed) and
 * port. 0 or ERR_BAD_SYNTAX. */
int out_parse_hostport(const char *s, char *host, unsigned *port);

/* The length of a leading Return-Path field (with its folded lines) in the first n bytes
 * of a queued file, else 0. The file is our spool file, which starts with the
 * Return-Path the final-delivery rule puts on local copies; a relaying client must not
 * send it on (RFC 5321 4.4: only the server that makes the final delivery adds it). A
 * field longer than n is left alone (0): no sender path is that long. */
size_t out_return_path_len(const uint8_t *p, size_t n);

#endif
