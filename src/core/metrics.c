/* metrics.c: the counter and histogram registry of metrics.h and its rendering in the
 * Prometheus text exposition format 0.0.4. Owns static arrays of atomics sized by
 * the enums (no allocation ever) and the collector table (LIMIT_METRICS_COLLECTORS);
 * a render is bounded by LIMIT_METRICS_RENDER. Counting uses relaxed atomics: the
 * values are statistics, nothing is ordered by them. */
#include "metrics.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "limits.h"
#include "banned.h"

/* The widest label enum: every counter row has this many slots. */
#define METRICS_LABELS_MAX METRIC_REJECT_COUNT

static const char *const proto_names[METRIC_PROTO_COUNT] = {
    "smtp", "submission", "lmtp", "imap", "pop3", "http", "admin"};
static const char *const delivery_names[METRIC_DELIVERY_COUNT] = {"stored", "queued",
								   "failed"};
static const char *const reject_names[METRIC_REJECT_COUNT] = {
    "unknown_user",  "quota",         "size",          "relay_denied", "rate",
    "recipients",    "dmarc_reject",  "sender_denied", "syntax",       "auth_required",
    "auth_failed",   "tls_required",  "temporary"};
static const char *const http_class_names[METRIC_HTTP_COUNT] = {"1xx", "2xx", "3xx", "4xx",
								  "5xx"};

struct metric_labels {
	const char *key; /* the label's name in the exposition */
	const char *const *values;
	unsigned n;
};

static const struct metric_labels labels_proto = {"protocol", proto_names, METRIC_PROTO_COUNT};
static const struct metric_labels labels_none = {NULL, NULL, 1};

/* How many label values each counter has (its row's used slots). */
static const unsigned counter_labels[METRIC_COUNT] = {
    [METRIC_CONNECTIONS] = METRIC_PROTO_COUNT,
    [METRIC_CONNECTIONS_CLOSED] = METRIC_PROTO_COUNT,
    [METRIC_LOGINS_OK] = METRIC_PROTO_COUNT,
    [METRIC_LOGINS_FAILED] = METRIC_PROTO_COUNT,
    [METRIC_LOGINS_REMEMBERED] = METRIC_PROTO_COUNT,
    [METRIC_BYTES_RECEIVED] = METRIC_PROTO_COUNT,
    [METRIC_BYTES_SENT] = METRIC_PROTO_COUNT,
    [METRIC_DELIVERIES] = METRIC_DELIVERY_COUNT,
    [METRIC_SMTP_REJECTIONS] = METRIC_REJECT_COUNT,
    [METRIC_HTTP_RESPONSES] = METRIC_HTTP_COUNT,
};

static _Atomic uint64_t counters[METRIC_COUNT][METRICS_LABELS_MAX];

/* Bucket bounds in seconds: command latencies from sub-millisecond (a cached FETCH)
 * to the 10 s of a slow delivery or search. */
static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				       0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define METRICS_BUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

struct metric_hist_desc {
	const char *name, *help;
	const struct metric_labels *labels;
};

static const struct metric_hist_desc hist_desc[METRIC_HIST_COUNT] = {
    [METRIC_HIST_COMMAND] = {"kasten_command_duration_seconds",
			     "Time from a complete command to its final reply being queued.",
			     &labels_proto},
    [METRIC_HIST_SMTP_DATA] = {"kasten_smtp_data_duration_seconds",
			       "Time from the end of a message body to the reply.", &labels_proto},
    [METRIC_HIST_JMAP_METHOD] = {"kasten_jmap_method_duration_seconds",
				 "Time to run one JMAP method call.", &labels_none},
};

/* Per histogram and label: observations per bucket (not cumulative; the last slot is
 * past the largest bound) and the sum in nanoseconds. The count is the buckets' sum,
 * so _count always equals the +Inf bucket in a render. */
struct metric_hist_slot {
	_Atomic uint64_t bucket[METRICS_BUCKETS + 1];
	_Atomic uint64_t sum_ns;
};
static struct metric_hist_slot hists[METRIC_HIST_COUNT][METRIC_PROTO_COUNT];

struct metrics_collector {
	metrics_collect_fn fn;
	void *arg;
};
static struct metrics_collector collectors[LIMIT_METRICS_COLLECTORS];
static size_t n_collectors;

static int64_t start_time;

/* The process start time for kasten_process_start_time_seconds: when the program was
 * loaded, before main. */
__attribute__((constructor)) static void metrics_note_start(void)
{
	start_time = (int64_t)time(NULL);
}

void metrics_count(enum metric m, unsigned label, uint64_t n)
{
	assert((unsigned)m < METRIC_COUNT && label < counter_labels[m]);
	if ((unsigned)m >= METRIC_COUNT || label >= counter_labels[m])
		return;
	atomic_fetch_add_explicit(&counters[m][label], n, memory_order_relaxed);
}

uint64_t metrics_value(enum metric m, unsigned label)
{
	if ((unsigned)m >= METRIC_COUNT || label >= counter_labels[m])
		return 0;
	return atomic_load_explicit(&counters[m][label], memory_order_relaxed);
}

static unsigned hist_labels(enum metric_hist h)
{
	return hist_desc[h].labels->n;
}

void metrics_observe(enum metric_hist h, unsigned label, double seconds)
{
	assert((unsigned)h < METRIC_HIST_COUNT && label < hist_labels(h));
	if ((unsigned)h >= METRIC_HIST_COUNT || label >= hist_labels(h))
		return;
	if (!(seconds > 0)) /* negative, zero or NaN */
		seconds = 0;
	if (seconds > 1e9) /* keeps the nanosecond conversion in range */
		seconds = 1e9;
	size_t b = 0;
	while (b < METRICS_BUCKETS && seconds > bucket_bounds[b])
		b++;
	struct metric_hist_slot *s = &hists[h][label];
	atomic_fetch_add_explicit(&s->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
}

uint64_t metrics_now(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for CLOCK_MONOTONIC */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void metrics_observe_since(enum metric_hist h, unsigned label, uint64_t start)
{
	uint64_t now = metrics_now();
	metrics_observe(h, label, now > start ? (double)(now - start) / 1e9 : 0);
}

uint64_t metrics_hist_count(enum metric_hist h, unsigned label)
{
	if ((unsigned)h >= METRIC_HIST_COUNT || label >= hist_labels(h))
		return 0;
	uint64_t n = 0;
	for (size_t b = 0; b <= METRICS_BUCKETS; b++)
		n += atomic_load_explicit(&hists[h][label].bucket[b], memory_order_relaxed);
	return n;
}

int metrics_proto_by_name(const char *name)
{
	for (unsigned i = 0; name && i < METRIC_PROTO_COUNT; i++)
		if (!strcmp(name, proto_names[i]))
			return (int)i;
	return -1;
}

const char *metrics_proto_name(enum metric_proto p)
{
	return (unsigned)p < METRIC_PROTO_COUNT ? proto_names[p] : "unknown";
}

int metrics_add_collector(metrics_collect_fn fn, void *arg)
{
	if (n_collectors >= LIMIT_METRICS_COLLECTORS)
		return ERR_FULL;
	collectors[n_collectors++] = (struct metrics_collector){fn, arg};
	return 0;
}

void metrics_clear_collectors(void)
{
	n_collectors = 0;
}

/* ---- rendering ---- */

static int family(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One counter family with one label: name{key="value"} n for every label value. */
static int render_counter(struct buf *out, const char *name, const char *help,
			  enum metric m, const struct metric_labels *l)
{
	int r = family(out, name, "counter", help);
	for (unsigned i = 0; r == 0 && i < l->n; i++)
		r = buf_printf(out, "%s{%s=\"%s\"} %llu\n", name, l->key, l->values[i],
			       (unsigned long long)metrics_value(m, i));
	return r;
}

static int render_logins(struct buf *out)
{
	static const char name[] = "kasten_logins_total";
	int r = family(out, name, "counter", "Logins by protocol and result.");
	for (unsigned i = 0; r == 0 && i < METRIC_PROTO_COUNT; i++) {
		r = buf_printf(out, "%s{protocol=\"%s\",result=\"ok\"} %llu\n", name,
			       proto_names[i],
			       (unsigned long long)metrics_value(METRIC_LOGINS_OK, i));
		if (r == 0)
			r = buf_printf(out, "%s{protocol=\"%s\",result=\"failed\"} %llu\n", name,
				       proto_names[i],
				       (unsigned long long)metrics_value(METRIC_LOGINS_FAILED, i));
	}
	return r;
}

/* Open connections as accepted - closed: closed is read first, and a connection is
 * counted as accepted before it can close, so the difference is never negative. */
static int render_open(struct buf *out)
{
	static const char name[] = "kasten_connections_open";
	int r = family(out, name, "gauge", "Connections open now, by protocol.");
	for (unsigned i = 0; r == 0 && i < METRIC_PROTO_COUNT; i++) {
		uint64_t closed = atomic_load_explicit(&counters[METRIC_CONNECTIONS_CLOSED][i],
						       memory_order_acquire);
		uint64_t acc = atomic_load_explicit(&counters[METRIC_CONNECTIONS][i],
						    memory_order_acquire);
		r = buf_printf(out, "%s{protocol=\"%s\"} %llu\n", name, proto_names[i],
			       (unsigned long long)(acc > closed ? acc - closed : 0));
	}
	return r;
}

/* A bucket bound as Prometheus writes it ("0.0005", "2.5", "10"). */
static int render_hist_label(struct buf *out, const struct metric_hist_desc *d, unsigned i,
			     const char *suffix, const char *le)
{
	bool labelled = d->labels->key != NULL;
	if (!labelled && !le)
		return buf_printf(out, "%s%s ", d->name, suffix);
	return buf_printf(out, "%s%s{%s%s%s%s%s%s%s} ", d->name, suffix,
			  labelled ? d->labels->key : "", labelled ? "=\"" : "",
			  labelled ? d->labels->values[i] : "", labelled ? "\"" : "",
			  labelled && le ? "," : "", le ? "le=" : "", le ? le : "");
}

static int render_hist(struct buf *out, enum metric_hist h)
{
	const struct metric_hist_desc *d = &hist_desc[h];
	int r = family(out, d->name, "histogram", d->help);
	for (unsigned i = 0; r == 0 && i < d->labels->n; i++) {
		const struct metric_hist_slot *s = &hists[h][i];
		uint64_t cum = 0;
		for (size_t b = 0; r == 0 && b <= METRICS_BUCKETS; b++) {
			char le[32];
			int k = b < METRICS_BUCKETS ? snprintf(le, sizeof(le), "\"%g\"", bucket_bounds[b])
						    : snprintf(le, sizeof(le), "\"+Inf\"");
			if (k < 0 || (size_t)k >= sizeof(le))
				return ERR_FULL;
			cum += atomic_load_explicit(&s->bucket[b], memory_order_relaxed);
			r = render_hist_label(out, d, i, "_bucket", le);
			if (r == 0)
				r = buf_printf(out, "%llu\n", (unsigned long long)cum);
		}
		uint64_t ns = atomic_load_explicit(&s->sum_ns, memory_order_relaxed);
		if (r == 0)
			r = render_hist_label(out, d, i, "_sum", NULL);
		if (r == 0)
			r = buf_printf(out, "%llu.%09llu\n", (unsigned long long)(ns / 1000000000u),
				       (unsigned long long)(ns % 1000000000u));
		if (r == 0)
			r = render_hist_label(out, d, i, "_count", NULL);
		if (r == 0)
			r = buf_printf(out, "%llu\n", (unsigned long long)cum);
	}
	return r;
}

int metrics_render(struct buf *out)
{
	static const struct metric_labels labels_delivery = {"result", delivery_names,
							     METRIC_DELIVERY_COUNT};
	static const struct metric_labels labels_reject = {"reason", reject_names,
							   METRIC_REJECT_COUNT};
	static const struct metric_labels labels_http = {"code", http_class_names,
							 METRIC_HTTP_COUNT};
	int r = family(out, "kasten_up", "gauge", "1 while the server runs.");
	if (r == 0)
		r = buf_printf(out, "kasten_up 1\n");
	if (r == 0)
		r = family(out, "kasten_process_start_time_seconds", "gauge",
			   "Start time of the process since the Unix epoch in seconds.");
	if (r == 0)
		r = buf_printf(out, "kasten_process_start_time_seconds %lld\n",
			       (long long)start_time);
	if (r == 0)
		r = render_counter(out, "kasten_connections_total", "Connections accepted.",
				   METRIC_CONNECTIONS, &labels_proto);
	if (r == 0)
		r = render_open(out);
	if (r == 0)
		r = render_logins(out);
	if (r == 0)
		r = render_counter(out, "kasten_logins_remembered_total",
				   "Successful logins the auth cache accepted without hashing.",
				   METRIC_LOGINS_REMEMBERED, &labels_proto);
	if (r == 0)
		r = render_counter(out, "kasten_bytes_received_total",
				   "Bytes read from clients (after TLS and decompression).",
				   METRIC_BYTES_RECEIVED, &labels_proto);
	if (r == 0)
		r = render_counter(out, "kasten_bytes_sent_total",
				   "Bytes written to clients (before TLS and compression).",
				   METRIC_BYTES_SENT, &labels_proto);
	if (r == 0)
		r = render_counter(out, "kasten_deliveries_total",
				   "Recipients of received messages by outcome.", METRIC_DELIVERIES,
				   &labels_delivery);
	if (r == 0)
		r = render_counter(out, "kasten_smtp_rejections_total",
				   "SMTP, submission and LMTP refusals by reason.",
				   METRIC_SMTP_REJECTIONS, &labels_reject);
	if (r == 0)
		r = render_counter(out, "kasten_http_responses_total",
				   "HTTP responses by status class.", METRIC_HTTP_RESPONSES,
				   &labels_http);
	for (unsigned h = 0; r == 0 && h < METRIC_HIST_COUNT; h++)
		r = render_hist(out, (enum metric_hist)h);
	for (size_t i = 0; r == 0 && i < n_collectors; i++)
		r = collectors[i].fn(out, collectors[i].arg);
	return r < 0 ? ERR_FULL : 0;
}

int metrics_format_queue(struct buf *out, const struct metrics_queue *q)
{
	int r = family(out, "kasten_queue_messages", "gauge", "Messages in the outbound queue.");
	if (r == 0)
		r = buf_printf(out, "kasten_queue_messages %llu\n", (unsigned long long)q->messages);
	if (r == 0)
		r = family(out, "kasten_queue_recipients", "gauge",
			   "Recipients in the outbound queue not yet final.");
	if (r == 0)
		r = buf_printf(out, "kasten_queue_recipients %llu\n",
			       (unsigned long long)q->recipients);
	if (r == 0)
		r = family(out, "kasten_queue_bytes", "gauge",
			   "Bytes of the messages in the outbound queue.");
	if (r == 0)
		r = buf_printf(out, "kasten_queue_bytes %llu\n", (unsigned long long)q->bytes);
	if (r == 0)
		r = family(out, "kasten_queue_oldest_seconds", "gauge",
			   "Age of the oldest queued message.");
	if (r == 0)
		r = buf_printf(out, "kasten_queue_oldest_seconds %lld\n",
			       (long long)(q->oldest_age < 0 ? 0 : q->oldest_age));
	return r;
}
