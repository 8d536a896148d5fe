/* net_client.c: how many connections each client holds, for the per-client limits of
 * struct net_limits. A client is an IPv4 address or an IPv6 /64: one host commonly has a
 * whole /64 to pick source addresses from, so counting single IPv6 addresses would
 * count nothing. Entries exist only while their client has connections, so memory is
 * bounded by the number of open connections; one mutex guards the table (taken at
 * accept, login and close only). */
#include "net_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/banned.h"

#define CLIENT_BUCKETS 4096

struct net_client {
	struct net_client *next;
	unsigned conns, unauth;
	char key[48];
};

static struct net_client *buckets[CLIENT_BUCKETS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void net_client_key(const struct sockaddr *sa, char *out, size_t cap)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		struct in6_addr a = s6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			inet_ntop(AF_INET, &a.s6_addr[12], out, (socklen_t)cap);
			return;
		}
		memset(&a.s6_addr[8], 0, 8);
		char ip[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &a, ip, sizeof(ip));
		(void)snprintf(out, cap, "%s/64", ip); /* fits: 39 + 3 < 48 */
		return;
	}
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)cap);
		return;
	}
	(void)snprintf(out, cap, "local");
}

static unsigned bucket_of(const char *key)
{
	return str_hash(key, strlen(key)) % CLIENT_BUCKETS;
}

struct net_client *net_client_enter(const char *key, bool login)
{
	unsigned b = bucket_of(key);
	pthread_mutex_lock(&mu);
	struct net_client *cl = buckets[b];
	while (cl && strcmp(cl->key, key))
		cl = cl->next;
	if (cl && ((net_limits.max_conns_per_client &&
		    cl->conns >= net_limits.max_conns_per_client) ||
		   (login && net_limits.max_unauth_per_client &&
		    cl->unauth >= net_limits.max_unauth_per_client))) {
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	if (!cl && (cl = calloc(1, sizeof(*cl))) != NULL) {
		(void)snprintf(cl->key, sizeof(cl->key), "%s", key);
		cl->next = buckets[b];
		buckets[b] = cl;
	}
	if (cl) {
		cl->conns++;
		cl->unauth += login;
	}
	pthread_mutex_unlock(&mu);
	return cl;
}

void net_client_login(struct net_client *cl)
{
	pthread_mutex_lock(&mu);
	cl->unauth--;
	pthread_mutex_unlock(&mu);
}

void net_client_leave(struct net_client *cl, bool unauth)
{
	pthread_mutex_lock(&mu);
	cl->unauth -= unauth;
	if (--cl->conns == 0) {
		struct net_client **pp = &buckets[bucket_of(cl->key)];
		while (*pp != cl)
			pp = &(*pp)->next;
		*pp = cl->next;
		free(cl);
	}
	pthread_mutex_unlock(&mu);
}
