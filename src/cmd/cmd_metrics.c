/* cmd_metrics.c: the server's metrics collectors. The registry (core/metrics.c) holds
 * what the protocols count; the counters other modules already keep (store and queue
 * flushes, group-commit batches, notify wake-ups, the outbound engine's outcomes) and
 * the queue's size (a query of queue.db, on a connection of its own) are read here
 * when /metrics is rendered, so that no value is counted twice. The queue families
 * come from metrics_format_queue, the formatter `kasten queue stats` prints with. */
#include "cmd_metrics.h"

#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "deliver/deliver.h"
#include "notify/notify.h"
#include "outbound/out.h"
#include "outbound/queue.h"
#include "store/store.h"
#include "core/banned.h"

static struct queue *metrics_queue;
static struct out_engine *metrics_engine;

static int counter(struct buf *out, const char *name, const char *help, uint64_t v)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
			  name, (unsigned long long)v);
}

static int collect_flushes(struct buf *out, void *arg)
{
	(void)arg;
	uint64_t batches = 0, messages = 0;
	deliver_stats(&batches, &messages);
	int r = counter(out, "kasten_store_flushes_total",
			"Flushes (fsync, syncfs) the mail store issued.", store_flush_count());
	if (r == 0)
		r = counter(out, "kasten_queue_flushes_total",
			    "Flushes the outbound queue issued while adding messages.",
			    queue_flush_count());
	if (r == 0)
		r = counter(out, "kasten_deliver_batches_total",
			    "Group commits of the delivery pipeline (one flush each).", batches);
	if (r == 0)
		r = counter(out, "kasten_deliver_messages_total",
			    "Messages committed by the delivery pipeline.", messages);
	if (r == 0)
		r = counter(out, "kasten_notify_wakeups_total",
			    "Change notifications delivered to watching sessions.",
			    notify_wakeups());
	return r;
}

/* A failed query leaves the queue families out of this render (logged) rather than
 * failing the whole answer: the other values are still true. */
static int collect_queue(struct buf *out, void *arg)
{
	(void)arg;
	struct queue_stats st;
	int r = queue_stats(metrics_queue, &st);
	if (r < 0) {
		log_warn("metrics: queue stats: %s", err_str(r));
		return 0;
	}
	struct metrics_queue mq = {.messages = st.messages, .recipients = st.rcpts,
				   .bytes = st.bytes,
				   .oldest_age = st.oldest < 0 ? 0 : (int64_t)time(NULL) - st.oldest};
	return metrics_format_queue(out, &mq);
}

static int collect_outbound(struct buf *out, void *arg)
{
	(void)arg;
	struct out_stats st;
	out_stats(metrics_engine, &st);
	static const char rcpts[] = "kasten_outbound_recipients_total";
	int r = counter(out, "kasten_outbound_connections_total",
			"Outbound SMTP sessions that reached the greeting.", st.connections);
	if (r == 0)
		r = counter(out, "kasten_outbound_transactions_total",
			    "Outbound SMTP transactions attempted.", st.transactions);
	if (r == 0)
		r = buf_printf(out,
			       "# HELP %s Outbound recipient attempts by outcome.\n"
			       "# TYPE %s counter\n"
			       "%s{result=\"delivered\"} %llu\n"
			       "%s{result=\"deferred\"} %llu\n"
			       "%s{result=\"failed\"} %llu\n",
			       rcpts, rcpts, rcpts, (unsigned long long)st.delivered, rcpts,
			       (unsigned long long)st.deferred, rcpts,
			       (unsigned long long)st.failed);
	return r;
}

int cmd_metrics_start(const char *data_dir, struct out_engine *e)
{
	metrics_engine = e;
	int r = queue_open(data_dir, false, &metrics_queue);
	if (r < 0) {
		log_err("metrics: cannot open the queue in %s/queue: %s", data_dir, err_str(r));
		return r;
	}
	r = metrics_add_collector(collect_flushes, NULL);
	if (r == 0)
		r = metrics_add_collector(collect_queue, NULL);
	if (r == 0 && e)
		r = metrics_add_collector(collect_outbound, NULL);
	return r;
}

void cmd_metrics_stop(void)
{
	metrics_clear_collectors();
	queue_close(&metrics_queue);
	metrics_engine = NULL;
}
