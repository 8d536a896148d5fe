/* smtp_policy.c: who may send, and which addresses are ours.
 *   - Submission (RFC 6409 6.1): the envelope sender must be the authenticated account or
 *     one of its aliases, and so must every mailbox of the header From: (RFC 5322 3.6.2),
 *     unless [submission] check_from = no. A forged From: would otherwise ride on a real
 *     account's login, and receivers (DMARC) judge the domain by that header.
 *   - Port 25: a MAIL FROM in one of our own domains comes from a client that has not
 *     authenticated (port 25 offers no AUTH), so it is a forgery of our users unless
 *     [smtp] allow_local_sender = yes (e.g. a trusted relay in front). The null sender
 *     <> is always fine (RFC 5321 4.5.5). SPF/DMARC checks come with outbound mail.
 *   - Postmaster (RFC 5321 4.5.1): <postmaster> and postmaster@ every local domain reach
 *     [server] postmaster unless that exact address is an account or alias itself.
 * Owns nothing; reply lines are built in the command arena. Limits: the From: value is
 * at most LIMIT_SMTP_FROM_HEADER bytes (copied by the header filter, smtp_hdr.c). */
#include "smtp_int.h"
#include "smtp_submit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

bool smtp_policy_local_domain(const char *domain)
{
	if (!strcasecmp(domain, conf_get()->hostname))
		return true;
	return store_domain_is_local(smtp_env, domain);
}

/* A lookup failed for a reason that may pass: the client tries again later. */
#define SMTP_POLICY_TEMP_REPLY "451 4.3.0 Temporary lookup failure, try again later"

/* The reply line, in the command arena; a fixed text when even that fails. */
static const char *refusal(const char *reply)
{
	return reply ? reply : "451 4.3.0 Out of memory, try again later";
}

const char *smtp_policy_mail(struct smtp_session *s, const struct smtp_path *path)
{
	char esc[512];
	if (s->fl == SMTP_SUBMISSION) {
		int r = path->null ? ERR_PERM : smtp_submit_owns(s->auth_account, path->addr);
		if (r == 0)
			return NULL;
		if (r != ERR_PERM)
			return SMTP_POLICY_TEMP_REPLY;
		log_info("mail refused from=<%s> reason=policy (not owned by the account)",
			 log_esc(esc, path->addr, strlen(path->addr)));
		return refusal(arena_printf(&s->ca, "553 5.7.1 Sender address not owned by %s",
					       s->auth_address));
	}
	if (s->fl != SMTP_MX || path->null || conf_get()->smtp_allow_local_sender)
		return NULL;
	const char *at = strrchr(path->addr, '@');
	if (!at || !smtp_policy_local_domain(at + 1))
		return NULL;
	log_info("mail refused from=<%s> reason=policy (local domain without authentication)",
		 log_esc(esc, path->addr, strlen(path->addr)));
	return refusal(arena_printf(&s->ca,
				       "550 5.7.1 <%s>: Sender address in a local domain; "
				       "local users send through submission with AUTH",
				       path->addr));
}

/* The reply refusing a From: mailbox that is not the account's. */
static const char *from_refused(struct smtp_session *s, const char *shown)
{
	char esc[512];
	log_info("message refused from-header=<%s> reason=policy (not owned by the account)",
		 log_esc(esc, shown, strlen(shown)));
	return refusal(arena_printf(&s->ca,
				       "550 5.7.1 From: header address <%s> is not owned by %s",
				       log_esc(esc, shown, strlen(shown)), s->auth_address));
}

/* The From: value the header filter copied, as the mime parser reads it: the parser
 * that later shows the sender to IMAP clients (ENVELOPE), so what is checked here is
 * what readers will see. *list_out: the address list (in the command arena), or NULL. */
static int from_list(struct smtp_session *s, const struct mime_addr **list_out)
{
	static const char head[] = "From:", tail[] = "\r\n\r\n";
	const struct buf *v = s->hdr.from;
	*list_out = NULL;
	size_t n = sizeof(head) - 1 + v->len + sizeof(tail) - 1;
	uint8_t *hdr = arena_alloc(&s->ca, n);
	struct mime_part *root = NULL;
	if (!hdr)
		return ERR_NOMEM;
	memcpy(hdr, head, sizeof(head) - 1);
	memcpy(hdr + sizeof(head) - 1, v->data, v->len);
	memcpy(hdr + sizeof(head) - 1 + v->len, tail, sizeof(tail) - 1);
	int r = mime_parse(hdr, n, &s->ca, &root);
	if (r < 0)
		return r;
	*list_out = root->envelope ? root->envelope->from : NULL;
	return 0;
}

const char *smtp_policy_from_domain(struct smtp_session *s)
{
	const struct smtp_hdr_filter *f = &s->hdr;
	const struct mime_addr *list = NULL;
	if (!f->from || f->from_fields != 1 || f->from_over || from_list(s, &list) < 0)
		return NULL;
	for (const struct mime_addr *m = list; m; m = m->next)
		if (m->kind == MIME_ADDR_MAILBOX && m->host.s && m->host.len > 0 &&
		    !memchr(m->host.s, '\0', m->host.len))
			return m->host.s;
	return NULL;
}

const char *smtp_policy_from(struct smtp_session *s)
{
	if (s->fl != SMTP_SUBMISSION || !conf_get()->submission_check_from)
		return NULL;
	const struct smtp_hdr_filter *f = &s->hdr;
	if (!f->from) /* the copy could not be set up; the spool write failed as well */
		return "451 4.3.0 Cannot check the From: header now, try again later";
	if (f->from_fields != 1 || f->from_over) {
		log_info("message refused from-fields=%u reason=policy (From: header)",
			 f->from_fields);
		if (f->from_over)
			return "550 5.7.1 From: header too long to check";
		return f->from_fields == 0
			       ? "550 5.7.1 Message has no From: header (RFC 5322 3.6.2)"
			       : "550 5.7.1 Message has more than one From: header (RFC 5322 3.6)";
	}
	const struct mime_addr *list = NULL;
	if (from_list(s, &list) < 0)
		return refusal(NULL);
	const char *bad;
	int r = smtp_submit_from_check(s->auth_account, list, &s->ca, &bad);
	if (r == ERR_PERM)
		return from_refused(s, bad);
	if (r < 0 && r != ERR_NOTFOUND)
		return SMTP_POLICY_TEMP_REPLY;
	if (r == ERR_NOTFOUND) {
		log_info("message refused from-header=<> reason=policy (no mailbox)");
		return "550 5.7.1 From: header names no mailbox (RFC 5322 3.6.2)";
	}
	return NULL;
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
