/* cmd_metrics.h: what `kasten serve` adds to /metrics besides the registry's own
 * counters: the values store/, deliver/, notify/ and outbound/ count themselves, read
 * at render time so that each has one source. */
#ifndef KASTEN_CMD_METRICS_H
#define KASTEN_CMD_METRICS_H

struct queue;
struct out_engine;

/* Register the collectors (core/metrics.h) for the server's queue and engine; both
 * must outlive every render: call cmd_metrics_stop() before freeing them. Returns 0
 * or ERR_FULL (the collector table is full). */
int cmd_metrics_start(struct queue *q, struct out_engine *e);
void cmd_metrics_stop(void);

#endif
