/* smtp_submit.c: the submission checks as functions over explicit arguments
 * (smtp_submit.h), called by the SMTP session (smtp_policy.c, smtp_cmds.c) and by
 * smtp_submit_send.c for JMAP, so both apply one policy. Owns nothing; the directory
 * answers every question (nothing cached: an alias added is usable at once). */
#include "smtp_submit.h"

#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "mime/mime.h"
#include "smtp_int.h"
#include "store/store.h"
#include "core/banned.h"

int smtp_submit_rate_take(int64_t account_id)
{
	return smtp_rate_take(account_id, (int64_t)time(NULL), conf_get()->submission_max_per_hour);
}

int smtp_submit_owns(int64_t account_id, const char *address)
{
	int64_t id = 0;
	int r =
	    strlen(address) <= LIMIT_ADDRESS ? store_resolve(smtp_env, address, &id) : ERR_NOTFOUND;
	if (r == 0)
		return id == account_id ? 0 : ERR_PERM;
	return r == ERR_NOTFOUND ? ERR_PERM : r;
}

int smtp_submit_from_check(int64_t account_id, const struct mime_addr *list, struct arena *a,
                           const char **bad_out)
{
	unsigned mailboxes = 0;
	*bad_out = NULL;
	for (const struct mime_addr *m = list; m; m = m->next) {
		if (m->kind != MIME_ADDR_MAILBOX)
			continue; /* group markers: their members are checked one by one */
		mailboxes++;
		const char *addr = NULL;
		if (m->mailbox.s && m->host.s && m->host.len > 0)
			addr = arena_printf(a, "%s@%s", m->mailbox.s, m->host.s);
		int r = addr ? smtp_submit_owns(account_id, addr) : ERR_PERM;
		if (r == ERR_PERM) {
			*bad_out = addr ? addr : (m->mailbox.s ? m->mailbox.s : "");
			return ERR_PERM;
		}
		if (r < 0)
			return r;
	}
	return mailboxes ? 0 : ERR_NOTFOUND;
}

int smtp_submit_route(const char *addr, bool postmaster, int64_t *id_out, bool *postmaster_out)
{
	const char *at = strrchr(addr, '@');
	/* no domain: <postmaster> (RFC 5321 4.5.1), which is always ours */
	bool local = !at || smtp_policy_local_domain(at + 1);
	*postmaster_out = postmaster && local;
	int r = *postmaster_out ? smtp_policy_postmaster(addr, id_out)
	                        : store_resolve(smtp_env, addr, id_out);
	if (r == ERR_NOTFOUND && !local)
		return SMTP_ROUTE_REMOTE;
	return r < 0 ? r : SMTP_ROUTE_LOCAL;
}
