/* net_authfail.c: failed logins per client IP, shared by SMTP AUTH, POP3 and IMAP.
 * Each failure doubles the delay before the next failure is answered (250 ms up to
 * 8 s), which makes password guessing slow without locking real users out; a success
 * or 15 quiet minutes forget the IP. A fixed table bounds memory: when it is full the
 * stalest entry is reused. */
#include "net.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

#define SLOTS 4096
#define FORGET_AFTER (15 * 60)

static struct {
	char ip[48];
	unsigned fails;
	time_t last;
} table[SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot for ip: its own, else a free or stale one nearby (8-way probe). */
static unsigned slot_for(const char *ip, time_t now)
{
	unsigned h = hash(ip), best = h % SLOTS;
	for (unsigned i = 0; i < 8; i++) {
		unsigned s = (h + i) % SLOTS;
		if (!strcmp(table[s].ip, ip))
			return s;
		if (table[s].last < table[best].last)
			best = s;
	}
	if (strcmp(table[best].ip, ip)) {
		size_t n = strlen(ip);
		if (n >= sizeof(table[best].ip))
			n = sizeof(table[best].ip) - 1;
		memcpy(table[best].ip, ip, n);
		table[best].ip[n] = '\0';
		table[best].fails = 0;
	}
	if (now - table[best].last > FORGET_AFTER)
		table[best].fails = 0;
	return best;
}

unsigned net_auth_fail(const char *ip)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&mu);
	unsigned s = slot_for(ip, now);
	if (now - table[s].last > FORGET_AFTER)
		table[s].fails = 0;
	unsigned f = ++table[s].fails;
	table[s].last = now;
	pthread_mutex_unlock(&mu);
	unsigned shift = f > 6 ? 5 : f - 1;
	return 250u << shift;
}

void net_auth_ok(const char *ip)
{
	pthread_mutex_lock(&mu);
	unsigned s = slot_for(ip, time(NULL));
	table[s].fails = 0;
	pthread_mutex_unlock(&mu);
}
