/* http_admin.c: the admin listener's endpoints: /metrics renders the registry of
 * core/metrics.h (LIMIT_METRICS_RENDER), /healthz asks the directory for an
 * address that cannot exist: an answer (found or not) proves the database opens and
 * reads; anything else is 503, so a load balancer takes the node out. */
#include "http_admin.h"

#include <stdlib.h>

#include "http.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "store/store.h"
#include "core/banned.h"

void http_admin_healthz(struct http_req *r)
{
	int64_t id;
	struct store_env *env = http_store_env();
	int e = env ? store_resolve(env, "healthz@healthz.invalid", &id) : ERR_TEMP;
	if (e == 0 || e == ERR_NOTFOUND) {
		http_reply(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
		return;
	}
	http_reply(r, 503, "text/plain; charset=utf-8", "store unavailable\n", 18);
}

/* Prometheus text format 0.0.4; a render that does not fit is a bug in the bound, not
 * something to serve cut short. */
void http_admin_metrics(struct http_req *r)
{
	struct buf b;
	void *storage = malloc(LIMIT_METRICS_RENDER);
	if (!storage) {
		http_problem(r, 503, NULL, "out of memory");
		return;
	}
	buf_init(&b, storage, LIMIT_METRICS_RENDER);
	if (metrics_render(&b) < 0)
		http_problem(r, 500, NULL, "metrics do not fit the answer");
	else
		http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	free(storage);
}
