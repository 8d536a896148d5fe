/* metrics.h: the server's counters and histograms, rendered in the Prometheus text
 * exposition format 0.0.4 (GET /metrics on the admin listener).
 *
 * The set is fixed at compile time: an enum names every counter and histogram, and
 * each has one label dimension of its own (protocol, delivery result, rejection
 * reason, ...) whose values are a second fixed enum. Counting is a relaxed atomic
 * add into a static array: no lock, no allocation, safe from any thread, cheap
 * enough for every command on a hot path. A render reads each value once; values
 * move while it runs, so one render is a near-instant snapshot, not an atomic one
 * (Prometheus expects nothing more).
 *
 * Values that other modules already count (store flushes, notify wake-ups, the
 * outbound queue) are not copied here: a collector registered at startup appends
 * them at render time (metrics_add_collector), so there is one source for each.
 * core depends on nothing: collectors are how store/, notify/ and outbound/ show up
 * without core including their headers. */
#ifndef KASTEN_METRICS_H
#define KASTEN_METRICS_H

#include <stdint.h>

struct buf;

/* The protocol label: one per kind of listener. Implicit-TLS listeners count with
 * their plain twin (imaps as imap, submissions as submission, pop3s as pop3, https as
 * http). The admin listener has its own value so that scraping /metrics does not
 * move the http counters it reports. */
enum metric_proto {
	METRIC_PROTO_SMTP,       /* port 25, MX */
	METRIC_PROTO_SUBMISSION, /* 587 and 465 */
	METRIC_PROTO_LMTP,
	METRIC_PROTO_IMAP,
	METRIC_PROTO_POP3,
	METRIC_PROTO_HTTP,       /* the public http and https listeners */
	METRIC_PROTO_ADMIN,      /* the admin listener (/metrics, /healthz) */
	METRIC_PROTO_COUNT
};

/* Results of a delivery to one recipient (kasten_deliveries_total{result}). */
enum metric_delivery {
	METRIC_DELIVERY_STORED, /* committed to a local mailbox */
	METRIC_DELIVERY_QUEUED, /* handed to the outbound queue */
	METRIC_DELIVERY_FAILED, /* refused or failed after the message was received */
	METRIC_DELIVERY_COUNT
};

/* Why an SMTP/LMTP/submission server refused something (kasten_smtp_rejections_total
 * {reason}); each refusal site passes one. Temporary refusals count too: the
 * reply code says temporary, the reason says why. */
enum metric_reject {
	METRIC_REJECT_UNKNOWN_USER,   /* RCPT: no such local address */
	METRIC_REJECT_QUOTA,          /* RCPT/DATA: mailbox full */
	METRIC_REJECT_SIZE,           /* MAIL SIZE= or the body past the limit */
	METRIC_REJECT_RELAY_DENIED,   /* RCPT: remote domain without authentication */
	METRIC_REJECT_RATE,           /* submission: messages per hour */
	METRIC_REJECT_RECIPIENTS,     /* too many recipients */
	METRIC_REJECT_DMARC,          /* DMARC policy reject ([checks] dmarc_reject) */
	METRIC_REJECT_SENDER,         /* submission: envelope/From: not owned by the login */
	METRIC_REJECT_SYNTAX,         /* bad command, parameter or sequence */
	METRIC_REJECT_AUTH_REQUIRED,  /* submission MAIL without AUTH */
	METRIC_REJECT_AUTH_FAILED,    /* AUTH with bad credentials */
	METRIC_REJECT_TLS_REQUIRED,   /* REQUIRETLS / AUTH without TLS */
	METRIC_REJECT_TEMPORARY,      /* our own failure (lookup, store, memory): 4xx */
	METRIC_REJECT_COUNT
};

/* HTTP responses by status class (kasten_http_responses_total{code="2xx"}). */
enum metric_http_class {
	METRIC_HTTP_1XX,
	METRIC_HTTP_2XX,
	METRIC_HTTP_3XX,
	METRIC_HTTP_4XX,
	METRIC_HTTP_5XX,
	METRIC_HTTP_COUNT
};

/* The counters; the comment gives the label enum (or none: pass 0). */
enum metric {
	METRIC_CONNECTIONS,        /* enum metric_proto: accepted */
	METRIC_CONNECTIONS_CLOSED, /* enum metric_proto: kasten_connections_open is
	                            * accepted - closed, so no gauge goes up and down */
	METRIC_LOGINS_OK,          /* enum metric_proto */
	METRIC_LOGINS_FAILED,      /* enum metric_proto */
	METRIC_LOGINS_REMEMBERED,  /* enum metric_proto: of LOGINS_OK, those accepted by
	                            * the auth cache without a password hash */
	METRIC_BYTES_RECEIVED,     /* enum metric_proto: from the socket (after TLS) */
	METRIC_BYTES_SENT,         /* enum metric_proto */
	METRIC_DELIVERIES,         /* enum metric_delivery: per recipient */
	METRIC_SMTP_REJECTIONS,    /* enum metric_reject */
	METRIC_HTTP_RESPONSES,     /* enum metric_http_class */
	METRIC_COUNT
};

/* The histograms (seconds; fixed buckets from 0.5 ms to 10 s, then +Inf). */
enum metric_hist {
	METRIC_HIST_COMMAND,     /* enum metric_proto: one command, from the moment it is
	                          * complete in the input to the moment its final reply
	                          * is queued (an HTTP request: to its response) */
	METRIC_HIST_SMTP_DATA,   /* enum metric_proto: end of DATA/BDAT LAST to the reply
	                          * (checks, delivery, queueing) */
	METRIC_HIST_JMAP_METHOD, /* no label (0): one JMAP method call */
	METRIC_HIST_COUNT
};

/* Add n to counter m at label value label. A label out of range for m is a bug:
 * asserted in debug builds, ignored otherwise. Thread-safe, lock-free. */
void metrics_count(enum metric m, unsigned label, uint64_t n);
/* Record one observation of seconds (negative counts as 0). Thread-safe, lock-free. */
void metrics_observe(enum metric_hist h, unsigned label, double seconds);

/* A monotonic clock in nanoseconds, for measuring what metrics_observe_since records. */
uint64_t metrics_now(void);
/* metrics_observe with the time since start (a metrics_now() value). */
void metrics_observe_since(enum metric_hist h, unsigned label, uint64_t start);

/* Read a counter (tests and `kasten queue stats`-like tools). */
uint64_t metrics_value(enum metric m, unsigned label);
/* Read a histogram's count of observations. */
uint64_t metrics_hist_count(enum metric_hist h, unsigned label);

/* The label value of a listener's protocol name: "smtp", "submission", "lmtp",
 * "imap", "pop3", "http", "admin"; -1 for an unknown name. */
int metrics_proto_by_name(const char *name);
const char *metrics_proto_name(enum metric_proto p);

/* A collector appends whole metric families (HELP, TYPE, samples) to out at render
 * time; returns 0 or ERR_FULL. Register at startup, before any render (not
 * thread-safe against a render); at most LIMIT_METRICS_COLLECTORS. Returns 0, or
 * ERR_FULL when the table is full. */
typedef int (*metrics_collect_fn)(struct buf *out, void *arg);
int metrics_add_collector(metrics_collect_fn fn, void *arg);
/* Forget every collector (at shutdown, before what they read is freed). */
void metrics_clear_collectors(void);

/* Append every counter, histogram, kasten_up, kasten_process_start_time_seconds and
 * the collectors' families to out, in the Prometheus text format 0.0.4 (serve as
 * "text/plain; version=0.0.4; charset=utf-8"). Returns 0, or ERR_FULL when out is
 * too small (out then holds a prefix: do not serve it). LIMIT_METRICS_RENDER bytes are
 * always enough. The collectors run in the caller's thread and may touch disk (the
 * server's reads queue.db on a SQLite connection of its own, so it never waits for a
 * delivery batch's commit): a loop thread may call it for an occasional scrape. */
int metrics_render(struct buf *out);

/* The outbound queue's families (kasten_queue_messages, _recipients, _bytes,
 * _oldest_seconds): one formatting function for /metrics and `kasten queue stats`.
 * oldest_age: seconds since the oldest queued message was queued, 0 when empty. */
struct metrics_queue {
	uint64_t messages, recipients, bytes;
	int64_t oldest_age;
};
int metrics_format_queue(struct buf *out, const struct metrics_queue *q);

#endif
