/* smtp_cmds.c: the verb table and the envelope commands (RFC 5321 4.1.1, RFC 2033 4.1,
 * RFC 1870, RFC 3207, RFC 6409, RFC 3461 DSN, RFC 8689 REQUIRETLS). Port 25 and LMTP
 * take local accounts and aliases only: a domain no account lives in is refused, so
 * kasten is never an open relay. Submission (authenticated) takes remote recipients
 * too when the outbound queue is configured (smtp_outbound.c), within the per-message
 * recipient limit and the account's hourly message rate ([submission]). */
#include "smtp_int.h"
#include "smtp_submit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	s->body = SMTP_BODY_NONE;
	s->ret = SMTP_RET_NONE;
	s->envid = NULL;
	s->requiretls = false;
	s->rcpts = NULL;
	s->n_rcpts = s->cap_rcpts = s->n_remote = 0;
	s->job_rcpt = NULL;
	s->qin = (struct queue_msg_in){0};
	free(s->dkim_header);
	s->dkim_header = NULL;
	s->sign_domain = NULL;
	s->sign_err = 0;
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
		smtp_rejected(METRIC_REJECT_SYNTAX);
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
	smtp_reply(s, "250-DSN");
	/* RFC 8689 2: only where the session itself is protected by TLS */
	if (net_conn_is_tls(s->c) && s->fl != SMTP_LMTP)
		smtp_reply(s, "250-REQUIRETLS");
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250 CHUNKING");
	return 0;
}

/* [submission] max_messages_per_hour: every accepted MAIL counts (as Postfix's
 * anvil counts message requests), so a flood is stopped before any body is read. */
static bool mail_rate_ok(struct smtp_session *s)
{
	unsigned limit = conf_get()->submission_max_per_hour;
	int r = smtp_submit_rate_take(s->auth_account);
	if (r == 0)
		return true;
	char esc[512];
	log_info("mail refused account=%s reason=rate (%u messages per hour) code=%u",
		 log_esc(esc, s->auth_address, strlen(s->auth_address)), limit,
		 r == ERR_FULL ? 450 : 451);
	smtp_rejected(r == ERR_FULL ? METRIC_REJECT_RATE : METRIC_REJECT_TEMPORARY);
	if (r == ERR_FULL)
		smtp_reply(s, "450 4.7.1 Too many messages from %s: at most %u per hour, "
			      "try again later", s->auth_address, limit);
	else
		smtp_reply(s, "451 4.3.0 Cannot count messages now, try again later");
	return false;
}

static int do_mail(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (s->has_mail) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "503 5.5.1 Sender already given");
		return 0;
	}
	if (s->fl == SMTP_SUBMISSION && !s->auth_account) {
		smtp_rejected(METRIC_REJECT_AUTH_REQUIRED);
		smtp_reply(s, "530 5.7.0 Authentication required");
		return 0;
	}
	for (size_t i = 0; i < cmd->n_params; i++) {
		enum smtp_param_kind k = cmd->params[i].kind;
		/* BINARYMIME is not advertised, nor REQUIRETLS on LMTP (a local hop) */
		if (k == SMTP_PARAM_OTHER || (k == SMTP_PARAM_AUTH && s->fl != SMTP_SUBMISSION) ||
		    (k == SMTP_PARAM_REQUIRETLS && s->fl == SMTP_LMTP)) {
			smtp_rejected(METRIC_REJECT_SYNTAX);
			smtp_reply(s, "555 5.5.4 Unsupported parameter %s", cmd->params[i].key);
			return 0;
		}
	}
	if (cmd->mail.body == SMTP_BODY_BINARYMIME) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "555 5.5.4 BINARYMIME not supported");
		return 0;
	}
	if (cmd->mail.requiretls && !net_conn_is_tls(s->c)) {
		/* RFC 8689 4.1: the option is only valid on a TLS-protected session */
		smtp_rejected(METRIC_REJECT_TLS_REQUIRED);
		smtp_reply(s, "530 5.7.10 REQUIRETLS needs a TLS session: use STARTTLS first");
		return 0;
	}
	const struct conf *cf = conf_get();
	if (cmd->mail.has_size && cmd->mail.size > cf->max_message_size) {
		smtp_rejected(METRIC_REJECT_SIZE);
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit of %llu bytes",
			   (unsigned long long)cf->max_message_size);
		return 0;
	}
	const char *refused = smtp_policy_mail(s, &cmd->path);
	if (refused) {
		smtp_rejected(refused[0] == '4' ? METRIC_REJECT_TEMPORARY : METRIC_REJECT_SENDER);
		smtp_reply(s, "%s", refused);
		return 0;
	}
	if (s->fl == SMTP_SUBMISSION && !mail_rate_ok(s))
		return 0;
	s->from = arena_strdup(&s->ta, cmd->path.addr);
	s->envid = cmd->mail.envid ? arena_strdup(&s->ta, cmd->mail.envid) : NULL;
	if (!s->from || (cmd->mail.envid && !s->envid))
		return ERR_NOMEM;
	s->has_mail = true;
	s->declared_size = cmd->mail.has_size ? cmd->mail.size : 0;
	s->smtputf8 = cmd->mail.smtputf8;
	s->body = cmd->mail.body;
	s->ret = cmd->mail.ret;
	s->requiretls = cmd->mail.requiretls;
	smtp_reply(s, "250 2.1.0 Ok");
	return 0;
}

static int add_rcpt(struct smtp_session *s, const struct smtp_rcpt_req *q, int64_t id,
		    bool postmaster, bool remote)
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
	struct smtp_rcpt *r = &s->rcpts[s->n_rcpts];
	*r = (struct smtp_rcpt){
	    .address = arena_strdup(&s->ta, q->addr),
	    .account_id = id,
	    .postmaster = postmaster,
	    .remote = remote,
	    .notify = q->notify,
	    .orcpt = q->orcpt,
	};
	if (!r->address)
		return ERR_NOMEM;
	s->n_rcpts++;
	s->n_remote += remote;
	return 0;
}

/* One line per refused recipient, for the admin: why (unknown, quota, relay, policy,
 * param, temp), who sent, what was answered. Client strings are escaped. */
static void rcpt_refused(struct smtp_session *s, const char *addr, const char *reason,
			 unsigned code, enum metric_reject why)
{
	char e_from[512], e_to[512];
	smtp_rejected(why);
	log_info("rcpt refused from=<%s> to=<%s> reason=%s code=%u",
		 log_esc(e_from, s->from, strlen(s->from)), log_esc(e_to, addr, strlen(addr)),
		 reason, code);
}

static int rcpt_lookup(struct smtp_session *s, const struct smtp_rcpt_req *q);

/* A recipient waited out the client's harvesting penalty (rcpt_delay in s). */
static void rcpt_delayed(struct net_conn *c, void *arg)
{
	struct smtp_session *s = arg;
	if (s->closing) {
		smtp_session_free(s);
		return;
	}
	s->mode = SMTP_MODE_COMMAND; /* on_close frees the session from here on */
	if (rcpt_lookup(s, &s->rcpt_delay) < 0)
		net_conn_close(c);
	else
		smtp_session_resume(s);
}

/* The recipients one message may have: [limits] max_recipients, and on submission
 * [submission] max_recipients when that is lower (0 there: no own limit). */
static unsigned rcpt_limit(const struct smtp_session *s)
{
	return s->fl == SMTP_SUBMISSION ? smtp_submit_max_rcpts() : conf_get()->max_recipients;
}

/* The RCPT's DSN parameters (RFC 3461 4.1, 4.2) into q; the parser checked them. */
static int rcpt_params(struct smtp_session *s, const struct smtp_cmd *cmd,
		       struct smtp_rcpt_req *q)
{
	for (size_t i = 0; i < cmd->n_params; i++) {
		enum smtp_param_kind k = cmd->params[i].kind;
		if (k != SMTP_PARAM_NOTIFY && k != SMTP_PARAM_ORCPT) {
			rcpt_refused(s, q->addr, "param", 555, METRIC_REJECT_SYNTAX);
			smtp_reply(s, "555 5.5.4 Unsupported parameter %s", cmd->params[i].key);
			return 1;
		}
	}
	q->notify = cmd->rcpt.notify;
	if (cmd->rcpt.orcpt_type) {
		q->orcpt = arena_printf(&s->ta, "%s;%s", cmd->rcpt.orcpt_type,
					cmd->rcpt.orcpt_addr);
		if (!q->orcpt)
			return ERR_NOMEM;
	}
	return 0;
}

static int do_rcpt(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (!s->has_mail) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "503 5.5.1 Need MAIL before RCPT");
		return 0;
	}
	struct smtp_rcpt_req q = {.addr = cmd->path.addr,
				  .postmaster = cmd->path.postmaster,
				  .literal = cmd->path.literal};
	if (cmd->path.postmaster && !cmd->path.domain[0])
		q.addr = "postmaster"; /* RFC 5321 4.5.1: <Postmaster> always works */
	int r = rcpt_params(s, cmd, &q);
	if (r != 0)
		return r < 0 ? r : 0;
	if (s->n_rcpts >= rcpt_limit(s)) {
		/* RFC 5321 4.5.3.1.8: 452, and the client sends the rest in another message */
		rcpt_refused(s, q.addr, "policy", 452, METRIC_REJECT_RECIPIENTS);
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return 0;
	}
	/* A client that tried unknown addresses (harvesting) waits before every answer, a
	 * valid address too: the delay tells it nothing about the address. */
	unsigned ms = net_penalty_delay(s->c, NET_PENALTY_RCPT, NULL);
	if (ms > 0) {
		s->rcpt_delay = q;
		s->rcpt_delay.addr = arena_strdup(&s->ta, q.addr);
		if (!s->rcpt_delay.addr)
			return ERR_NOMEM;
		s->mode = SMTP_MODE_BUSY;
		net_conn_pause(s->c);
		if (net_conn_after(s->c, ms, rcpt_delayed, s) == 0)
			return 0;
		s->mode = SMTP_MODE_COMMAND;
		net_conn_resume(s->c);
	}
	return rcpt_lookup(s, &q);
}

/* An address outside our domains: queued for sending on authenticated submission with
 * the outbound queue, otherwise refused (never an open relay). */
static int rcpt_remote(struct smtp_session *s, const struct smtp_rcpt_req *q)
{
	const char *addr = q->addr;
	if (!smtp_outbound_accepts(s)) {
		rcpt_refused(s, addr, "relay", 550, METRIC_REJECT_RELAY_DENIED);
		if (s->fl == SMTP_SUBMISSION)
			smtp_reply(s, "550 5.7.1 <%s>: Relay not available: kasten delivers to "
				      "local mailboxes only", addr);
		else
			smtp_reply(s, "550 5.7.1 <%s>: Relay access denied", addr);
		return 0;
	}
	if (q->literal) {
		/* the queue routes by domain name (MX, RFC 5321 5.1) */
		rcpt_refused(s, addr, "literal", 550, METRIC_REJECT_RELAY_DENIED);
		smtp_reply(s, "550 5.1.2 <%s>: Address literals are not relayed", addr);
		return 0;
	}
	for (size_t i = 0; i < s->n_rcpts; i++)
		if (s->rcpts[i].remote && strcmp(s->rcpts[i].address, addr) == 0) {
			smtp_reply(s, "250 2.1.5 Ok"); /* the same address twice: sent once */
			return 0;
		}
	if (add_rcpt(s, q, 0, false, true) < 0)
		return ERR_NOMEM;
	smtp_reply(s, "250 2.1.5 Ok: queued for delivery");
	return 0;
}

/* The recipient's account, and the answer: accepted or why not. */
static int rcpt_lookup(struct smtp_session *s, const struct smtp_rcpt_req *q)
{
	const char *addr = q->addr;
	int64_t id = 0;
	bool postmaster = false;
	/* a postmaster path without a domain or in one of ours reaches [server]
	 * postmaster even without an alias (RFC 5321 4.5.1) */
	int r = smtp_submit_route(addr, q->postmaster, &id, &postmaster);
	if (r == SMTP_ROUTE_REMOTE)
		return rcpt_remote(s, q);
	if (r == ERR_NOTFOUND) {
		net_penalty_fail(s->c, NET_PENALTY_RCPT, NULL);
		rcpt_refused(s, addr, "unknown", 550, METRIC_REJECT_UNKNOWN_USER);
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: no such user", addr);
		return 0;
	}
	if (r < 0) {
		rcpt_refused(s, addr, "temp", 451, METRIC_REJECT_TEMPORARY);
		smtp_reply(s, "451 4.3.0 Temporary lookup failure");
		return 0;
	}
	/* Full mailbox: say so now (RFC 5321 552 at RCPT), except on submission, where the
	 * local sender gets a DSN instead so the mail is not lost for the other recipients.
	 * Postmaster is deferred, never refused: the sender's MTA retries while the admin
	 * makes room (RFC 5321 4.5.1 wants it reachable). */
	if (s->fl != SMTP_SUBMISSION &&
	    deliver_quota_check(smtp_env, id, s->declared_size) == ERR_QUOTA) {
		rcpt_refused(s, addr, "quota", postmaster ? 452 : 552, METRIC_REJECT_QUOTA);
		if (postmaster)
			smtp_reply(s, "452 4.2.2 <%s>: Mailbox full, try again later", addr);
		else
			smtp_reply(s, "552 5.2.2 <%s>: Mailbox full", addr);
		return 0;
	}
	if (add_rcpt(s, q, id, postmaster, false) < 0)
		return ERR_NOMEM;
	smtp_reply(s, "250 2.1.5 Ok");
	return 0;
}

static int do_starttls(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (net_conn_is_tls(s->c)) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "503 5.5.1 TLS already active");
		return 0;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	if (net_conn_starttls(s->c) < 0)
		return ERR_IO;
	/* RFC 3207 4.2: forget everything learned before TLS, a login too (it was not
	 * obtained from the TLS negotiation) */
	smtp_txn_reset(s);
	s->auth_account = 0;
	s->auth_address = NULL;
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
	case SMTP_VERB_EXPN:
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "502 5.5.1 EXPN not available");
		return 0;
	case SMTP_VERB_HELP:
		smtp_reply(s, "214 2.0.0 See RFC 5321; kasten speaks %s",
			   s->fl == SMTP_LMTP ? "LMTP (RFC 2033)" : "ESMTP");
		return 0;
	default:
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "502 5.5.1 Command not supported");
		return 0;
	}
}

static int do_data(struct smtp_session *s, struct smtp_cmd *cmd)
{
	if (cmd->verb == SMTP_VERB_BDAT)
		return smtp_txn_bdat_begin(s, cmd); /* checks itself: it must read the chunk */
	if (!s->has_mail) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "503 5.5.1 Need MAIL before %s", smtp_verb_name(cmd->verb));
		return 0;
	}
	if (s->n_rcpts == 0) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "554 5.5.1 No valid recipients");
		return 0;
	}
	if (s->bdat_started) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
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
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "502 5.5.1 Command not supported");
		return 0;
	case VERB_BAD_STATE:
		smtp_rejected(METRIC_REJECT_SYNTAX);
		if (state == SMTP_ST_START)
			smtp_reply(s, "503 5.5.1 Say %s first", s->fl == SMTP_LMTP ? "LHLO" : "EHLO");
		else
			smtp_reply(s, "503 5.5.1 Not inside a mail transaction");
		return 0;
	case VERB_NEEDS_TLS: /* RFC 4954 4 */
		smtp_rejected(METRIC_REJECT_TLS_REQUIRED);
		smtp_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return 0;
	}
	return 0;
}
