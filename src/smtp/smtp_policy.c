/* smtp_policy.c: which addresses are ours.
 *   - Local domains: the hostname and every domain an account or alias lives in.
 *   - Postmaster (RFC 5321 4.5.1): <postmaster> and postmaster@ every local domain reach
 *     [server] postmaster unless that exact address is an account or alias itself.
 * Owns nothing. */
#include "smtp_int.h"

#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

bool smtp_policy_local_domain(const char *domain)
{
	if (!strcasecmp(domain, conf_get()->hostname))
		return true;
	return store_domain_is_local(smtp_env, domain);
}

int smtp_policy_postmaster(const char *addr, int64_t *id_out)
{
	int r = strchr(addr, '@') ? store_resolve(smtp_env, addr, id_out) : ERR_NOTFOUND;
	if (r != ERR_NOTFOUND)
		return r;
	const char *pm = conf_get()->postmaster;
	r = store_resolve(smtp_env, pm, id_out);
	if (r == ERR_NOTFOUND)
		log_warn("postmaster address %s is no account or alias: mail to postmaster is "
			 "refused until it is one ([server] postmaster)", pm);
	return r;
}
