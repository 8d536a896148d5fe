/*
 * bench/latency_hist.c: the log-linear latency histogram of latency_hist.h.
 * Bucket i < 1024 holds exactly i us; above, a value's top 10 bits (512..1023) and its
 * power of two pick the bucket.
 */
#include "latency_hist.h"

#include <stddef.h>

static size_t bucket_of(uint64_t us)
{
	if (us < LATENCY_HIST_EXACT)
		return (size_t)us;
	if (us >= (1ull << LATENCY_HIST_TOP_BIT))
		us = (1ull << LATENCY_HIST_TOP_BIT) - 1;
	unsigned msb = 63u - (unsigned)__builtin_clzll(us); /* 10..35 */
	unsigned shift = msb - 9;                           /* keeps 10 bits: 512..1023 */
	return LATENCY_HIST_EXACT + (msb - 10) * LATENCY_HIST_SUB +
	       (size_t)((us >> shift) - LATENCY_HIST_SUB);
}

static uint64_t bucket_middle(size_t i)
{
	if (i < LATENCY_HIST_EXACT)
		return i;
	size_t k = i - LATENCY_HIST_EXACT;
	unsigned shift = (unsigned)(k / LATENCY_HIST_SUB) + 1;
	uint64_t low = (uint64_t)(k % LATENCY_HIST_SUB + LATENCY_HIST_SUB) << shift;
	return low + ((1ull << shift) >> 1);
}

void latency_hist_add(struct latency_hist *h, uint64_t us)
{
	h->count++;
	h->buckets[bucket_of(us)]++;
	if (us > h->max_us)
		h->max_us = us;
}

uint64_t latency_hist_percentile(const struct latency_hist *h, double p)
{
	uint64_t want = (uint64_t)(p * (double)h->count + 0.999999), seen = 0;
	if (h->count == 0)
		return 0;
	for (size_t i = 0; i < LATENCY_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want && seen > 0) {
			uint64_t v = bucket_middle(i);
			return v < h->max_us ? v : h->max_us;
		}
	}
	return h->max_us;
}
