/* http_admin.c: the admin listener's endpoints. /healthz asks the directory for an
 * address that cannot exist: an answer (found or not) proves the database opens and
 * reads; anything else is 503, so a load balancer takes the node out. */
#include "http_admin.h"

#include "http.h"
#include "core/err.h"
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
