/*
 * bench/latency_hist.h: latency histograms for the load generators in bench/.
 *
 * Log-linear: exact below 1024 us, then 512 buckets per power of two (a percentile is
 * off by less than 0.2 %), up to 2^36 us (19 hours; longer counts as that). The size is
 * fixed, so a long run costs no more memory than a short one and percentiles need no
 * sort. One histogram is 57 KB: keep them per command, not per client.
 */
#ifndef BENCH_LATENCY_HIST_H
#define BENCH_LATENCY_HIST_H

#include <stdint.h>

#define LATENCY_HIST_EXACT 1024
#define LATENCY_HIST_SUB 512
#define LATENCY_HIST_TOP_BIT 36
#define LATENCY_HIST_BUCKETS (LATENCY_HIST_EXACT + (LATENCY_HIST_TOP_BIT - 10) * LATENCY_HIST_SUB)

struct latency_hist {
	uint64_t count;
	uint64_t max_us; /* exact, not bucketed */
	uint32_t buckets[LATENCY_HIST_BUCKETS];
};

/* Counts one sample of us microseconds. */
void latency_hist_add(struct latency_hist *h, uint64_t us);

/* The latency in us below which the fraction p (0..1) of the samples lie: the middle of
 * the bucket that holds it, never more than the maximum; 0 for an empty histogram. */
uint64_t latency_hist_percentile(const struct latency_hist *h, double p);

#endif
