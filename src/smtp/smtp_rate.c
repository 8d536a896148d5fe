/* smtp_rate.c: the per-account message rate of submission ([submission]
 * max_messages_per_hour), a sliding hour counted in one-minute buckets.
 *
 * One table for the whole process, shared by every loop thread under one mutex (a
 * lookup is a few dozen memory reads; submissions are far rarer than that costs).
 * Memory is fixed: LIMIT_SUBMIT_RATE_ACCOUNTS slots of 60 counters, allocated on first
 * use. An account is found by open addressing within LIMIT_SUBMIT_RATE_PROBE slots of
 * its hash; a new account takes a free slot there (one whose last message is more than
 * an hour old counts as free), or else the one with the fewest messages in the hour
 * gives way (of equals, the one idle longest). So the accounts that sent most, the
 * ones the limit is for, keep their counts however many others come and go.
 * Owns: the table. Counts are kept in memory only: a restart starts from zero. */
#include "smtp_int.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

#define SMTP_RATE_MINUTES 60

struct smtp_rate_slot {
	int64_t account_id;   /* 0: never used */
	int64_t last_minute;  /* minute (unix time / 60) of the newest count */
	uint32_t count[SMTP_RATE_MINUTES]; /* by minute % 60, valid for the last hour */
};

static struct {
	pthread_mutex_t mu;
	struct smtp_rate_slot *slots; /* LIMIT_SUBMIT_RATE_ACCOUNTS, or NULL until first use */
} smtp_rate = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Zero the buckets that fell out of the hour since the slot's last count. */
static void slot_advance(struct smtp_rate_slot *sl, int64_t minute)
{
	if (minute <= sl->last_minute)
		return;
	int64_t gap = minute - sl->last_minute;
	if (gap >= SMTP_RATE_MINUTES) {
		for (size_t i = 0; i < SMTP_RATE_MINUTES; i++)
			sl->count[i] = 0;
	} else {
		for (int64_t m = sl->last_minute + 1; m <= minute; m++)
			sl->count[m % SMTP_RATE_MINUTES] = 0;
	}
	sl->last_minute = minute;
}

static uint64_t slot_sum(const struct smtp_rate_slot *sl)
{
	uint64_t n = 0;
	for (size_t i = 0; i < SMTP_RATE_MINUTES; i++)
		n += sl->count[i];
	return n;
}

static size_t slot_hash(int64_t account_id)
{
	uint64_t h = (uint64_t)account_id * 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
	return (size_t)(h >> 32) % LIMIT_SUBMIT_RATE_ACCOUNTS;
}

/* The account's slot, claiming one when it has none. Lock held. */
static struct smtp_rate_slot *slot_find(int64_t account_id, int64_t minute)
{
	size_t h = slot_hash(account_id);
	struct smtp_rate_slot *free_sl = NULL, *least = NULL;
	uint64_t least_sum = 0;
	for (size_t k = 0; k < LIMIT_SUBMIT_RATE_PROBE; k++) {
		struct smtp_rate_slot *sl =
		    &smtp_rate.slots[(h + k) % LIMIT_SUBMIT_RATE_ACCOUNTS];
		if (sl->account_id == account_id)
			return sl;
		bool idle = sl->account_id == 0 || minute - sl->last_minute >= SMTP_RATE_MINUTES;
		if (idle && !free_sl)
			free_sl = sl;
		if (idle || free_sl)
			continue;
		slot_advance(sl, minute); /* its count for the hour ending now */
		uint64_t sum = slot_sum(sl);
		if (!least || sum < least_sum ||
		    (sum == least_sum && sl->last_minute < least->last_minute)) {
			least = sl;
			least_sum = sum;
		}
	}
	struct smtp_rate_slot *sl = free_sl ? free_sl : least;
	*sl = (struct smtp_rate_slot){.account_id = account_id, .last_minute = minute};
	return sl;
}

int smtp_rate_take(int64_t account_id, int64_t now, unsigned limit)
{
	if (limit == 0 || account_id <= 0)
		return 0;
	int64_t minute = now / 60;
	int r = 0;
	pthread_mutex_lock(&smtp_rate.mu);
	if (!smtp_rate.slots)
		smtp_rate.slots = calloc(LIMIT_SUBMIT_RATE_ACCOUNTS, sizeof(*smtp_rate.slots));
	if (!smtp_rate.slots) {
		r = ERR_NOMEM;
	} else {
		struct smtp_rate_slot *sl = slot_find(account_id, minute);
		slot_advance(sl, minute);
		if (slot_sum(sl) >= limit)
			r = ERR_FULL;
		else
			sl->count[minute % SMTP_RATE_MINUTES]++;
	}
	pthread_mutex_unlock(&smtp_rate.mu);
	return r;
}
