/* auth_activity.c: the activity log writes of logged-in sessions, off the loop thread
 * (net_conn_work_io), fire and forget. Owns one malloc'ed job per write, freed on the
 * loop after it ran. Bounds: the copied client string (LIMIT_ACTIVITY_STRING * 4 bytes,
 * enough for the store's cut at a character boundary). */
#include "auth/auth_activity.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "net/net.h"
#include "store/store.h"
#include "core/banned.h"

#define ACTIVITY_CLIENT_COPY (LIMIT_ACTIVITY_STRING * 4)

struct activity_job {
	struct store_env *env;
	int64_t account_id;
	int64_t now;
	const char *protocol;  /* a literal of the caller's */
	bool removal;
	uint32_t count;
	uint64_t bytes;
	bool has_client;
	char client[ACTIVITY_CLIENT_COPY + 1];
	char address[64];      /* an IP address in text (INET6_ADDRSTRLEN is 46) */
};

static void activity_work(void *arg)
{
	struct activity_job *j = arg;
	const char *client = j->has_client ? j->client : NULL;
	const char *address = j->address[0] ? j->address : NULL;
	int r = j->removal ? store_activity_removed(j->env, j->account_id, j->protocol, client,
						    address, j->count, j->bytes, j->now)
			   : store_activity_seen(j->env, j->account_id, j->protocol, client,
						 address, j->now);
	if (r < 0)
		log_warn("activity log not written account=%lld: %s", (long long)j->account_id,
			 err_str(r));
}

static void activity_done(struct net_conn *c, void *arg)
{
	(void)c;
	free(arg);
}

static struct activity_job *job_new(struct net_conn *c, struct store_env *env,
				    int64_t account_id, const char *protocol)
{
	struct activity_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->env = env;
	j->account_id = account_id;
	j->protocol = protocol;
	j->now = (int64_t)time(NULL);
	const char *ip = net_conn_peer_ip(c);
	if (ip) {
		size_t n = strnlen(ip, sizeof(j->address) - 1);
		memcpy(j->address, ip, n);
		j->address[n] = '\0';
	}
	return j;
}

static void submit(struct net_conn *c, struct activity_job *j)
{
	if (!j || net_conn_work_io(c, activity_work, activity_done, j) < 0) {
		log_warn("activity log not written: no memory");
		free(j);
	}
}

void auth_activity_seen(struct net_conn *c, struct store_env *env, int64_t account_id,
			const char *protocol, const char *client)
{
	struct activity_job *j = job_new(c, env, account_id, protocol);
	if (j && client) {
		size_t n = strnlen(client, ACTIVITY_CLIENT_COPY);
		memcpy(j->client, client, n);
		j->client[n] = '\0';
		j->has_client = true;
	}
	submit(c, j);
}

void auth_activity_removed(struct net_conn *c, struct store_env *env, int64_t account_id,
			   const char *protocol, uint32_t count, uint64_t bytes)
{
	struct activity_job *j = job_new(c, env, account_id, protocol);
	if (j) {
		j->removal = true;
		j->count = count;
		j->bytes = bytes;
	}
	submit(c, j);
}
