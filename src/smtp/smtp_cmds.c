/* smtp_cmds.c: the verb table and the envelope commands (RFC 5321 4.1.1, RFC 2033 4.1,
 * RFC 1870, RFC 3207, RFC 6409). Recipients are local accounts and aliases only: a
 * domain no account lives in is refused, so kasten is never an open relay. */
#include "smtp_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

void smtp_txn_reset(struct smtp_session *s)
{
	if (s->spool_fd >= 0) {
		close(s->spool_fd);
		s->spool_fd = -1;
	}
	if (s->spool_path) {
		(void)unlink(s->spool_path); /* an unfinished body: nobody else references it */
		s->spool_path = NULL;
	}
	free(s->out.data); /* the spool write buffer of an unfinished body */
	s->out.data = NULL;
	s->out.len = s->out.cap = 0;
	s->has_mail = false;
	s->from = NULL;
	s->declared_size = 0;
	s->smtputf8 = false;
	s->binarymime = false;
	s->rcpts = NULL;
	s->n_rcpts = s->cap_rcpts = 0;
	s->trace_bytes = 0;
	s->from_hdr = (struct buf){0}; /* its storage was in the transaction arena */
	s->bdat_left = 0;
	s->bdat_refuse = NULL;
	s->bdat_last = s->bdat_started = false;
	arena_reset(&s->ta);
}

static const char *hostname(void)
{
	return conf_get()->hostname;
}

static int do_helo(struct smtp_session *s, struct smtp_cmd *cmd)
{
	bool lmtp = s->fl == SMTP_LMTP;
	if (lmtp != (cmd->verb == SMTP_VERB_LHLO)) {
		/* RFC 2033 4.1: LMTP greets with LHLO only; SMTP never with LHLO */
		smtp_reply(s, "500 5.5.1 %s", lmtp ? "This is LMTP: use LHLO" : "Use EHLO or HELO");
		return 0;
	}
	smtp_txn_reset(s); /* RFC 5321 4.1.4: EHLO implies RSET */
	s->helo = arena_strdup(&s->sa, cmd->domain);
	s->greeted = true;
	s->esmtp = cmd->verb != SMTP_VERB_HELO;
	if (!s->esmtp) {
		smtp_reply(s, "250 %s", hostname());
		return 0;
	}
	const struct conf *cf = conf_get();
	smtp_reply(s, "250-%s", hostname());
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %llu", (unsigned long long)cf->max_message_size);
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	if (!net_conn_is_tls(s->c))
		smtp_reply(s, "250-STARTTLS");
	if (s->fl == SMTP_SUBMISSION && smtp_auth_allowed(s) && !s->auth_account)
		smtp_reply(s, "250-AUTH " AUTH_EXCHANGE_MECHS);
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250 CHUNKING");
	return 0;
}

static int do_mail(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (s->has_mail) {
		smtp_reply(s, "503 5.5.1 Sender already given");
		return 0;
	}
	if (s->fl == SMTP_SUBMISSION && !s->auth_account) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		return 0;
	}
	for (size_t i = 0; i < cmd->n_params; i++) {
		enum smtp_param_kind k = cmd->params[i].kind;
		/* DSN (RFC 3461) and BINARYMIME are not advertised: their keywords are unknown */
		if (k == SMTP_PARAM_OTHER || k == SMTP_PARAM_RET || k == SMTP_PARAM_ENVID ||
		    (k == SMTP_PARAM_AUTH && s->fl != SMTP_SUBMISSION)) {
			smtp_reply(s, "555 5.5.4 Unsupported parameter %s", cmd->params[i].key);
			return 0;
		}
	}
	if (cmd->mail.body == SMTP_BODY_BINARYMIME) {
		smtp_reply(s, "555 5.5.4 BINARYMIME not supported");
		return 0;
	}
	const struct conf *cf = conf_get();
	if (cmd->mail.has_size && cmd->mail.size > cf->max_message_size) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit of %llu bytes",
			   (unsigned long long)cf->max_message_size);
		return 0;
	}
	const char *refused = smtp_policy_mail(s, &cmd->path);
	if (refused) {
		smtp_reply(s, "%s", refused);
		return 0;
	}
	s->from = arena_strdup(&s->ta, cmd->path.addr);
	if (!s->from)
		return ERR_NOMEM;
	s->has_mail = true;
	s->declared_size = cmd->mail.has_size ? cmd->mail.size : 0;
	s->smtputf8 = cmd->mail.smtputf8;
	smtp_reply(s, "250 2.1.0 Ok");
	return 0;
}

static bool domain_is_local(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return !at || smtp_policy_local_domain(at + 1); /* no domain: <postmaster> */
}

static int add_rcpt(struct smtp_session *s, const char *addr, int64_t id, bool postmaster)
{
	if (s->n_rcpts == s->cap_rcpts) {
		size_t cap = s->cap_rcpts ? s->cap_rcpts * 2 : 8;
		struct smtp_rcpt *n = arena_alloc(&s->ta, cap * sizeof(*n));
		if (!n)
			return ERR_NOMEM;
		if (s->n_rcpts)
			memcpy(n, s->rcpts, s->n_rcpts * sizeof(*n));
		s->rcpts = n;
		s->cap_rcpts = cap;
	}
	s->rcpts[s->n_rcpts].address = arena_strdup(&s->ta, addr);
	s->rcpts[s->n_rcpts].account_id = id;
	s->rcpts[s->n_rcpts].postmaster = postmaster;
	if (!s->rcpts[s->n_rcpts].address)
		return ERR_NOMEM;
	s->n_rcpts++;
	return 0;
}

/* One line per refused recipient, for the admin: why (unknown, quota, relay, policy,
 * param, temp), who sent, what was answered. Client strings are escaped. */
static void rcpt_refused(struct smtp_session *s, const char *addr, const char *reason,
			 unsigned code)
{
	char e_from[512], e_to[512];
	log_info("rcpt refused from=<%s> to=<%s> reason=%s code=%u",
		 log_esc(e_from, s->from, strlen(s->from)), log_esc(e_to, addr, strlen(addr)),
		 reason, code);
}

/* The account of a recipient: ERR_NOTFOUND, a temporary error, or 0 with *id_out.
 * postmaster: the path is RFC 5321 4.5.1 postmaster (any case); without a domain or in
 * one of ours it reaches [server] postmaster even without an alias (*postmaster_out). */
static int rcpt_resolve(bool postmaster, const char *addr, int64_t *id_out,
			bool *postmaster_out)
{
	*postmaster_out = postmaster && domain_is_local(addr);
	if (*postmaster_out)
		return smtp_policy_postmaster(addr, id_out);
	return store_resolve(smtp_env, addr, id_out);
}

static int rcpt_lookup(struct smtp_session *s, const char *addr, bool postmaster);

/* A recipient waited out the client's harvesting penalty (rcpt_delay in s). */
static void rcpt_delayed(struct net_conn *c, void *arg)
{
	struct smtp_session *s = arg;
	if (s->closing) {
		smtp_session_free(s);
		return;
	}
	s->mode = SMTP_MODE_COMMAND; /* on_close frees the session from here on */
	if (rcpt_lookup(s, s->rcpt_delay.addr, s->rcpt_delay.postmaster) < 0)
		net_conn_close(c);
	else
		smtp_session_resume(s);
}

static int do_rcpt(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (!s->has_mail) {
		smtp_reply(s, "503 5.5.1 Need MAIL before RCPT");
		return 0;
	}
	const char *addr = cmd->path.addr;
	if (cmd->path.postmaster && !cmd->path.domain[0])
		addr = "postmaster"; /* RFC 5321 4.5.1: <Postmaster> always works */
	for (size_t i = 0; i < cmd->n_params; i++) {
		rcpt_refused(s, addr, "param", 555);
		smtp_reply(s, "555 5.5.4 Unsupported parameter %s", cmd->params[i].key);
		return 0;
	}
	if (s->n_rcpts >= conf_get()->max_recipients) {
		rcpt_refused(s, addr, "policy", 452);
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return 0;
	}
	/* A client that tried unknown addresses (harvesting) waits before every answer, a
	 * valid address too: the delay tells it nothing about the address. */
	unsigned ms = net_penalty_delay(s->c, NET_PENALTY_RCPT, NULL);
	if (ms > 0) {
		s->rcpt_delay.addr = arena_strdup(&s->ta, addr);
		s->rcpt_delay.postmaster = cmd->path.postmaster;
		if (!s->rcpt_delay.addr)
			return ERR_NOMEM;
		s->mode = SMTP_MODE_BUSY;
		net_conn_pause(s->c);
		if (net_conn_after(s->c, ms, rcpt_delayed, s) == 0)
			return 0;
		s->mode = SMTP_MODE_COMMAND;
		net_conn_resume(s->c);
	}
	return rcpt_lookup(s, addr, cmd->path.postmaster);
}

/* The recipient's account, and the answer: accepted or why not. */
static int rcpt_lookup(struct smtp_session *s, const char *addr, bool path_postmaster)
{
	int64_t id = 0;
	bool postmaster = false;
	int r = rcpt_resolve(path_postmaster, addr, &id, &postmaster);
	if (r == ERR_NOTFOUND) {
		if (domain_is_local(addr)) {
			net_penalty_fail(s->c, NET_PENALTY_RCPT, NULL);
			rcpt_refused(s, addr, "unknown", 550);
			smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: no such user", addr);
		} else {
			rcpt_refused(s, addr, "relay", 550);
			if (s->fl == SMTP_SUBMISSION)
				smtp_reply(s, "550 5.7.1 <%s>: Relay not available: kasten delivers to local mailboxes only", addr);
			else
				smtp_reply(s, "550 5.7.1 <%s>: Relay access denied", addr);
		}
		return 0;
	}
	if (r < 0) {
		rcpt_refused(s, addr, "temp", 451);
		smtp_reply(s, "451 4.3.0 Temporary lookup failure");
		return 0;
	}
	/* Full mailbox: say so now (RFC 5321 552 at RCPT), except on submission, where the
	 * local sender gets a DSN instead so the mail is not lost for the other recipients.
	 * Postmaster is deferred, never refused: the sender's MTA retries while the admin
	 * makes room (RFC 5321 4.5.1 wants it reachable). */
	if (s->fl != SMTP_SUBMISSION &&
	    deliver_quota_check(smtp_env, id, s->declared_size) == ERR_QUOTA) {
		rcpt_refused(s, addr, "quota", postmaster ? 452 : 552);
		if (postmaster)
			smtp_reply(s, "452 4.2.2 <%s>: Mailbox full, try again later", addr);
		else
			smtp_reply(s, "552 5.2.2 <%s>: Mailbox full", addr);
		return 0;
	}
	if (add_rcpt(s, addr, id, postmaster) < 0)
		return ERR_NOMEM;
	smtp_reply(s, "250 2.1.5 Ok");
	return 0;
}

static int do_starttls(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (net_conn_is_tls(s->c)) {
		smtp_reply(s, "503 5.5.1 TLS already active");
		return 0;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	if (net_conn_starttls(s->c) < 0)
		return ERR_IO;
	/* RFC 3207 4.2: forget everything learned before TLS */
	smtp_txn_reset(s);
	smtp_cmd_reader_reset(&s->reader);
	s->greeted = s->esmtp = false;
	s->helo = NULL;
	return 0;
}

static int do_simple(struct smtp_session *s, struct smtp_cmd *cmd)
{
	switch (cmd->verb) {
	case SMTP_VERB_RSET:
		smtp_txn_reset(s);
		smtp_reply(s, "250 2.0.0 Ok");
		return 0;
	case SMTP_VERB_NOOP: smtp_reply(s, "250 2.0.0 Ok"); return 0;
	case SMTP_VERB_QUIT:
		smtp_reply(s, "221 2.0.0 %s closing connection", hostname());
		net_conn_close(s->c);
		return 0;
	case SMTP_VERB_VRFY:
		/* RFC 5321 3.5.3: neither confirm nor deny (no address harvesting) */
		smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
		return 0;
	case SMTP_VERB_EXPN: smtp_reply(s, "502 5.5.1 EXPN not available"); return 0;
	case SMTP_VERB_HELP:
		smtp_reply(s, "214 2.0.0 See RFC 5321; kasten speaks %s",
			   s->fl == SMTP_LMTP ? "LMTP (RFC 2033)" : "ESMTP");
		return 0;
	default: smtp_reply(s, "502 5.5.1 Command not supported"); return 0;
	}
}

static int do_data(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (cmd->verb == SMTP_VERB_BDAT)
		return smtp_txn_bdat_begin(s, cmd); /* checks itself: it must read the chunk */
	if (!s->has_mail) {
		smtp_reply(s, "503 5.5.1 Need MAIL before %s", smtp_verb_name(cmd->verb));
		return 0;
	}
	if (s->n_rcpts == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return 0;
	}
	if (s->bdat_started) {
		smtp_reply(s, "503 5.5.1 DATA after BDAT is not allowed");
		return 0;
	}
	return smtp_txn_data_begin(s);
}

static int do_auth(struct smtp_session *s, struct smtp_cmd *cmd)
{
	return smtp_auth_start(s, cmd);
}

typedef int (*smtp_handler)(struct smtp_session *s, struct smtp_cmd *cmd);

/* Beside smtp_verbs[] (smtp_parse.c), which says where each verb is allowed. */
static const smtp_handler handlers[SMTP_VERB_COUNT] = {
	[SMTP_VERB_HELO] = do_helo,   [SMTP_VERB_EHLO] = do_helo,   [SMTP_VERB_LHLO] = do_helo,
	[SMTP_VERB_MAIL] = do_mail,   [SMTP_VERB_RCPT] = do_rcpt,   [SMTP_VERB_DATA] = do_data,
	[SMTP_VERB_BDAT] = do_data,   [SMTP_VERB_RSET] = do_simple, [SMTP_VERB_NOOP] = do_simple,
	[SMTP_VERB_QUIT] = do_simple, [SMTP_VERB_VRFY] = do_simple, [SMTP_VERB_EXPN] = do_simple,
	[SMTP_VERB_HELP] = do_simple, [SMTP_VERB_STARTTLS] = do_starttls,
	[SMTP_VERB_AUTH] = do_auth,
};

static unsigned session_state(const struct smtp_session *s)
{
	return !s->greeted ? SMTP_ST_START : s->has_mail ? SMTP_ST_MAIL : SMTP_ST_READY;
}

int smtp_cmd_dispatch(struct smtp_session *s, struct smtp_cmd *cmd)
{
	unsigned state = session_state(s);
	const struct verb_spec *v = (unsigned)cmd->verb < SMTP_VERB_COUNT ? &smtp_verbs[cmd->verb] : NULL;
	switch (verb_check(v, state, smtp_auth_allowed(s), 0)) {
	case VERB_OK:
	case VERB_BAD_ARGS: /* the parser checked the arguments by verb */
		return handlers[cmd->verb](s, cmd);
	case VERB_UNKNOWN:
		smtp_reply(s, "502 5.5.1 Command not supported");
		return 0;
	case VERB_BAD_STATE:
		if (state == SMTP_ST_START)
			smtp_reply(s, "503 5.5.1 Say %s first", s->fl == SMTP_LMTP ? "LHLO" : "EHLO");
		else
			smtp_reply(s, "503 5.5.1 Not inside a mail transaction");
		return 0;
	case VERB_NEEDS_TLS: /* RFC 4954 4 */
		smtp_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return 0;
	}
	return 0;
}
