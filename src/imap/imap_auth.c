/* imap_auth.c: the not-authenticated state: STARTTLS (RFC 9051 6.2.1), AUTHENTICATE
 * (6.2.2, with SASL-IR, RFC 4959) through the shared SASL exchange (auth_exchange: PLAIN,
 * LOGIN) and LOGIN (6.2.3). Cleartext logins are refused by the dispatcher (the command
 * table's cleartext_login) unless the connection is TLS or [auth] allows it, which the
 * capability list says as LOGINDISABLED. The password check is auth_login() (worker
 * pool, penalty delay); secrets are wiped as soon as they are handed over. */
#include "imap_int.h"

#include <string.h>

#include "auth/auth_activity.h"
#include "auth/auth_login.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

bool imap_cleartext_ok(const struct imap_session *s)
{
	const struct conf *cf = conf_get();
	return net_conn_is_tls(s->c) || cf->plaintext_anywhere ||
	       (cf->plaintext_loopback && net_conn_is_loopback(s->c));
}

int imap_cmd_starttls(struct imap_session *s, struct imap_cmd *cmd)
{
	if (net_conn_is_tls(s->c)) {
		imap_bad(s, "TLS already active");
		return 0;
	}
	imap_tagged(s, "OK Begin TLS negotiation now");
	if (net_conn_starttls(s->c) < 0)
		return ERR_IO;
	/* RFC 9051 6.2.1: forget what was sent before TLS; the client asks for the
	 * capabilities again */
	imap_parser_reset(&s->parser);
	return 0;
}

static void login_done(struct net_conn *c, void *arg, int64_t account, const char *address)
{
	struct imap_session *s = arg;
	if (s->closing) { /* the client left while we checked */
		imap_session_free(s);
		return;
	}
	s->mode = IMAP_MODE_COMMAND;
	if (!account) { /* auth_login logged it, with the user name */
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
	} else {
		s->account = account;
		s->address = arena_strdup(&s->sa, address);
		s->state = IMAP_STATE_AUTH;
		net_conn_set_user(c, address);
		imap_parser_set_auth(&s->parser, true);
		log_info("login ok");
		/* with the client's name when it said its ID before logging in */
		auth_activity_seen(c, imap_env, account, "imap", s->client_id);
		/* RFC 9051 6.2.3: the capabilities may change at login; say them here */
		imap_tagged(s, "OK [CAPABILITY %s] Logged in", imap_capabilities(s));
	}
	s->cmd = NULL;
	s->tag = NULL;
	arena_reset(&s->ca);
	net_conn_resume(c);
}

/* The check is slow: the session waits, pipelined commands stay buffered. */
static int check_start(struct imap_session *s, const char *user, const char *pass)
{
	s->mode = IMAP_MODE_BUSY;
	net_conn_pause(s->c);
	if (auth_login(s->c, imap_env, user, pass, login_done, s) < 0) {
		s->mode = IMAP_MODE_COMMAND;
		net_conn_resume(s->c);
		imap_tagged(s, "NO [UNAVAILABLE] Cannot check passwords now, try again later");
		return 0;
	}
	return 0;
}

int imap_cmd_login(struct imap_session *s, struct imap_cmd *cmd)
{
	size_t ul, pl;
	const char *user = imap_arg_astring(cmd->args, &ul);
	char *pass = (char *)imap_arg_astring(cmd->args->next, &pl);
	if (!user || !pass || memchr(user, 0, ul) || memchr(pass, 0, pl)) {
		imap_bad(s, "LOGIN takes a user name and a password");
		return 0;
	}
	if (pl > AUTH_SASL_PART_MAX || ul > AUTH_SASL_PART_MAX) {
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
		auth_wipe(pass);
		return 0;
	}
	int r = check_start(s, user, pass);
	auth_wipe(pass); /* auth_login took its own copy */
	return r;
}

/* What the exchange decided: another challenge ("+ " line), a check, or a failure in
 * IMAP's words (RFC 9051 6.2.2, RFC 5530 codes). */
static int sasl_step(struct imap_session *s, int r, struct auth_exchange_step *st)
{
	if (r < 0) {
		s->mode = IMAP_MODE_COMMAND;
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory");
		return r;
	}
	switch (st->next) {
	case AUTH_EXCHANGE_CHALLENGE:
		s->mode = IMAP_MODE_SASL;
		(void)net_conn_write(s->c, "+ ", 2);
		(void)net_conn_line(s->c, "%s", st->challenge);
		return 0;
	case AUTH_EXCHANGE_CHECK:
		r = check_start(s, st->user, st->pass);
		auth_wipe(st->pass);
		return r;
	case AUTH_EXCHANGE_FAIL:
		break;
	}
	s->mode = IMAP_MODE_COMMAND;
	switch (st->fail) {
	case AUTH_EXCHANGE_UNKNOWN_MECH:
		imap_tagged(s, "NO [CANNOT] Unsupported authentication mechanism");
		break;
	case AUTH_EXCHANGE_MALFORMED:
		imap_bad(s, "Malformed authentication response");
		break;
	case AUTH_EXCHANGE_CANCELLED: /* RFC 9051 6.2.2: the client sent "*" */
		imap_bad(s, "Authentication cancelled");
		break;
	case AUTH_EXCHANGE_AUTHZID:
		imap_tagged(s, "NO [AUTHORIZATIONFAILED] Authorization identity not permitted");
		break;
	}
	return 0;
}

int imap_cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_arg *mech = cmd->args, *ir = mech->next;
	if (mech->type != IMAP_ARG_ATOM || (ir && ir->type != IMAP_ARG_ATOM)) {
		imap_bad(s, "AUTHENTICATE takes a mechanism and an optional initial response");
		return 0;
	}
	/* the command stays in progress (tag and arena) while the exchange goes on */
	struct auth_exchange_step st;
	int r = auth_exchange_start(&s->sasl, mech->s, ir ? ir->s : NULL, ir ? ir->len : 0,
				    &s->ca, &st);
	return sasl_step(s, r, &st);
}

int imap_auth_line(struct imap_session *s, const char *line, size_t len)
{
	struct auth_exchange_step st;
	log_debug(LOGC_PROTO, "C: [SASL response]");
	int r = auth_exchange_next(&s->sasl, line, len, &s->ca, &st);
	return sasl_step(s, r, &st);
}
