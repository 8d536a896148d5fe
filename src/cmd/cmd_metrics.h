/* cmd_metrics.h: what `kasten serve` adds to /metrics besides the registry's own
 * counters: the values store/, deliver/, notify/ and outbound/ count themselves, read
 * at render time so that each has one source. */
#ifndef KASTEN_CMD_METRICS_H
#define KASTEN_CMD_METRICS_H

struct out_engine;

/* Register the collectors (core/metrics.h). The queue's size is read through a
 * struct queue of the collectors' own, opened here on data_dir's queue (as `kasten
 * queue stats` opens it): a render never waits for the lock the server's queue holds
 * while a delivery batch commits. e (may be NULL) must outlive every render: call
 * cmd_metrics_stop() before freeing it. Returns 0, ERR_FULL (the collector table is
 * full) or the error of queue_open. */
int cmd_metrics_start(const char *data_dir, struct out_engine *e);
/* Forget the collectors and close their queue. */
void cmd_metrics_stop(void);

#endif
