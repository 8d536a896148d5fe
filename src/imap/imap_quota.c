/* imap_quota.c: QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA and SETQUOTA. An account has
 * one quota root, named "", over all its mailboxes; its resources are the account's
 * limits (kasten user quota): STORAGE in units of 1024 octets and MESSAGE (RFC 9208
 * 5.1, 5.2), with the usage the store keeps (a copy counts in full). A resource
 * without a limit is not listed, so an account without limits shows an empty list
 * (RFC 9208 4.3.1 allows it). Octets are rounded up to whole units, as Dovecot does,
 * so a mailbox with anything in it never shows 0. Limits are the administrator's:
 * SETQUOTA is refused (we do not advertise QUOTASET). */
#include "imap_int.h"

#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

/* "* QUOTA "" (...)" for the account. */
static int put_quota(struct imap_session *s)
{
	struct store_account acct;
	int r = store_account_get_id(imap_env, s->account, &s->ca, &acct);
	if (r < 0)
		return r;
	imap_puts(&s->out, "* QUOTA \"\" (");
	const char *sep = "";
	if (acct.quota_bytes) {
		imap_putf(&s->out, "STORAGE %llu %llu",
			  (unsigned long long)((acct.used_bytes + 1023) / 1024),
			  (unsigned long long)((acct.quota_bytes + 1023) / 1024));
		sep = " ";
	}
	if (acct.quota_messages)
		imap_putf(&s->out, "%sMESSAGE %llu %llu", sep, (unsigned long long)acct.messages,
			  (unsigned long long)acct.quota_messages);
	imap_puts(&s->out, ")\r\n");
	return 0;
}

static void answer(struct imap_session *s, int r, const char *verb)
{
	if (r == 0) {
		imap_done(s, "OK %s completed", verb);
		return;
	}
	log_err("%s: %s", verb, err_str(r));
	imap_done(s, "NO [UNAVAILABLE] Cannot read the quota now, try again later");
}

/* RFC 9208 4.3.2: the roots of a mailbox, then each root's QUOTA. */
static int getquotaroot(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *name = imap_name_in(s, cmd->args);
	if (!name)
		return 0;
	struct store *st = imap_store_open(s);
	if (!st)
		return 0;
	struct store_mailbox mb;
	int r = store_mailbox_get(st, name, &s->ca, &mb);
	imap_store_close(&st);
	if (r == ERR_NOTFOUND) {
		imap_done(s, "NO [NONEXISTENT] No such mailbox");
		return 0;
	}
	if (r == 0) {
		imap_puts(&s->out, "* QUOTAROOT ");
		imap_name_out(s, mb.name);
		imap_puts(&s->out, " \"\"\r\n");
		r = put_quota(s);
	}
	answer(s, r, "GETQUOTAROOT");
	return 0;
}

/* RFC 9208 4.2: the one root is "". */
static int getquota(struct imap_session *s, struct imap_cmd *cmd)
{
	size_t len;
	const char *root = imap_arg_astring(cmd->args, &len);
	if (!root) {
		imap_bad(s, "GETQUOTA takes a quota root name");
		return 0;
	}
	if (len != 0) {
		imap_done(s, "NO [NONEXISTENT] No such quota root; the account's is \"\"");
		return 0;
	}
	answer(s, put_quota(s), "GETQUOTA");
	return 0;
}

/* RFC 9208 4.1: SETQUOTA quota-root "(" [setquota-resource *(SP setquota-resource)] ")" */
static int setquota(struct imap_session *s, struct imap_cmd *cmd)
{
	size_t len;
	const struct imap_arg *l = cmd->args->next;
	if (!imap_arg_astring(cmd->args, &len) || l->type != IMAP_ARG_LIST) {
		imap_bad(s, "SETQUOTA takes a quota root and a list of resource limits");
		return 0;
	}
	imap_done(s, "NO [CANNOT] Quotas are set by the administrator");
	return 0;
}

int imap_cmd_quota(struct imap_session *s, struct imap_cmd *cmd)
{
	switch (cmd->verb) {
	case IMAP_VERB_GETQUOTAROOT: return getquotaroot(s, cmd);
	case IMAP_VERB_GETQUOTA: return getquota(s, cmd);
	default: return setquota(s, cmd);
	}
}
