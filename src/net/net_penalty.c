/* net_penalty.c: slowing down guessers (see net.h). Failures are counted per client
 * (net_client_key: IPv4 address or IPv6 /64) and per target name (the user name a
 * login tried, lower-cased), each forgotten after FORGET_AFTER quiet seconds.
 *
 * A client remembers which names its failures were against (the last TARGETS_PER_CLIENT
 * of them): a success for a name takes back only the failures against that name, so
 * a guesser cannot wipe its count by logging in to an account of its own in between.
 * The delay grows with the count: 250 ms doubling, to PENALTY_MAX_MS for a client and
 * to TARGET_MAX_MS for a name (a name is everyone's: a distributed guesser must not
 * lock its owner out, only slow every guess). Unknown recipients (harvesting) are free
 * up to RCPT_FREE per client, as real senders mistype addresses.
 *
 * Memory is fixed: two tables of SLOTS entries with 8-way probing; a full table reuses
 * its stalest entry, so at worst an old count is forgotten early. */
#include "net_int.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

#define SLOTS 4096
#define PROBE 8
#define FORGET_AFTER (15 * 60)
#define TARGETS_PER_CLIENT 4
#define PENALTY_BASE_MS 250u
#define PENALTY_MAX_MS 15000u
#define TARGET_MAX_MS 8000u
#define RCPT_FREE 3u
#define KINDS 2

struct client_entry {
	char key[48];
	time_t last;
	unsigned fails[KINDS];
	struct {
		uint32_t hash; /* 0: unused */
		unsigned fails;
	} targets[TARGETS_PER_CLIENT];
};

struct target_entry {
	uint32_t hash;
	time_t last;
	unsigned fails;
};

static struct client_entry clients[SLOTS];
static struct target_entry targets[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static time_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0: 0 marks an unused entry */
}

/* The name a target goes by: kind and lower-cased name, never 0. */
static uint32_t target_hash(enum net_penalty_kind kind, const char *name)
{
	char low[LIMIT_ADDRESS + 1];
	size_t n = strlen(name);
	if (n > LIMIT_ADDRESS)
		n = LIMIT_ADDRESS;
	for (size_t i = 0; i < n; i++)
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	low[n] = (char)('0' + kind);
	uint32_t h = str_hash(low, n + 1);
	return h ? h : 1;
}

/* The client's entry, made (or taken over from the stalest) when create. Lock held. */
static struct client_entry *client_slot(const char *key, time_t now, bool create)
{
	uint32_t h = str_hash(key, strlen(key));
	struct client_entry *stalest = &clients[h % SLOTS];
	for (unsigned i = 0; i < PROBE; i++) {
		struct client_entry *e = &clients[(h + i) % SLOTS];
		if (e->last && !strcmp(e->key, key)) {
			if (now - e->last > FORGET_AFTER)
				memset(e, 0, sizeof(*e));
			else
				return e;
		}
		if (e->last < stalest->last)
			stalest = e;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	(void)snprintf(stalest->key, sizeof(stalest->key), "%s", key);
	return stalest;
}

static struct target_entry *target_slot(uint32_t h, time_t now, bool create)
{
	struct target_entry *stalest = &targets[h % SLOTS];
	for (unsigned i = 0; i < PROBE; i++) {
		struct target_entry *e = &targets[(h + i) % SLOTS];
		if (e->last && e->hash == h) {
			if (now - e->last > FORGET_AFTER)
				memset(e, 0, sizeof(*e));
			else
				return e;
		}
		if (e->last < stalest->last)
			stalest = e;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	stalest->hash = h;
	return stalest;
}

static unsigned delay_for(unsigned fails, unsigned max_ms)
{
	if (fails == 0)
		return 0;
	unsigned shift = fails - 1 > 16 ? 16 : fails - 1;
	unsigned ms = PENALTY_BASE_MS << shift;
	return ms > max_ms ? max_ms : ms;
}

unsigned net_penalty_delay(const struct net_conn *c, enum net_penalty_kind kind,
			   const char *target)
{
	time_t now = now_mono();
	unsigned ms = 0;
	pthread_mutex_lock(&mu);
	struct client_entry *e = client_slot(c->client_key, now, false);
	if (e) {
		unsigned f = e->fails[kind];
		if (kind == NET_PENALTY_RCPT)
			f = f > RCPT_FREE ? f - RCPT_FREE : 0;
		ms = delay_for(f, PENALTY_MAX_MS);
	}
	struct target_entry *t = target ? target_slot(target_hash(kind, target), now, false) : NULL;
	if (t && delay_for(t->fails, TARGET_MAX_MS) > ms)
		ms = delay_for(t->fails, TARGET_MAX_MS);
	pthread_mutex_unlock(&mu);
	return ms;
}

void net_penalty_fail(const struct net_conn *c, enum net_penalty_kind kind, const char *target)
{
	time_t now = now_mono();
	uint32_t h = target ? target_hash(kind, target) : 0;
	pthread_mutex_lock(&mu);
	struct client_entry *e = client_slot(c->client_key, now, true);
	e->last = now;
	e->fails[kind]++;
	if (h) {
		/* remember it against this name: its own entry, a free one, or the weakest */
		unsigned k = 0;
		for (unsigned i = 0; i < TARGETS_PER_CLIENT; i++) {
			if (e->targets[i].hash == h) {
				k = i;
				break;
			}
			if (e->targets[i].fails < e->targets[k].fails)
				k = i;
		}
		if (e->targets[k].hash != h)
			e->targets[k].hash = h, e->targets[k].fails = 0;
		e->targets[k].fails++;
		struct target_entry *t = target_slot(h, now, true);
		t->last = now;
		t->fails++;
	}
	pthread_mutex_unlock(&mu);
}

void net_penalty_ok(const struct net_conn *c, enum net_penalty_kind kind, const char *target)
{
	if (!target)
		return;
	time_t now = now_mono();
	uint32_t h = target_hash(kind, target);
	pthread_mutex_lock(&mu);
	struct client_entry *e = client_slot(c->client_key, now, false);
	for (unsigned i = 0; e && i < TARGETS_PER_CLIENT; i++) {
		if (e->targets[i].hash != h)
			continue;
		unsigned f = e->targets[i].fails;
		e->fails[kind] = e->fails[kind] > f ? e->fails[kind] - f : 0;
		e->targets[i].hash = 0;
		e->targets[i].fails = 0;
	}
	struct target_entry *t = target_slot(h, now, false);
	if (t)
		memset(t, 0, sizeof(*t)); /* its owner got in */
	pthread_mutex_unlock(&mu);
}
