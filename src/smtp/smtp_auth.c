/* smtp_auth.c: AUTH on submission (RFC 4954), through the shared SASL exchange
 * (auth_exchange: PLAIN, LOGIN); this file frames it ("334 " challenges) and words the
 * replies. Allowed only over TLS, or where [auth] plaintext_* allows it (the command
 * table's cleartext_login). The password check is auth_login() (worker pool, penalty
 * delay). Secrets are wiped as soon as they have been handed over. */
#include "smtp_int.h"

#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_activity.h"
#include "auth/auth_login.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

bool smtp_auth_allowed(const struct smtp_session *s)
{
	const struct conf *cf = conf_get();
	return net_conn_is_tls(s->c) || cf->plaintext_anywhere ||
	       (cf->plaintext_loopback && net_conn_is_loopback(s->c));
}

static void login_done(struct net_conn *c, void *arg, int64_t account, const char *address)
{
	struct smtp_session *s = arg;
	if (s->closing) {
		smtp_session_free(s);
		return;
	}
	if (!account) {
		smtp_rejected(METRIC_REJECT_AUTH_FAILED);
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
	} else {
		s->auth_account = account;
		s->auth_address = arena_strdup(&s->sa, address);
		net_conn_set_user(c, address);
		log_info("auth ok mech=%s", s->auth_mech);
		auth_activity_seen(c, smtp_env, account, "submission", NULL);
		smtp_reply(s, "235 2.7.0 Authentication successful");
	}
	smtp_session_resume(s);
}

/* What the exchange decided: another challenge, a password check, or a failure. */
static int step(struct smtp_session *s, int r, struct auth_exchange_step *st)
{
	if (r < 0) {
		smtp_rejected(METRIC_REJECT_TEMPORARY);
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		return r;
	}
	switch (st->next) {
	case AUTH_EXCHANGE_CHALLENGE:
		s->mode = SMTP_MODE_AUTH;
		smtp_reply(s, "334 %s", st->challenge);
		return 0;
	case AUTH_EXCHANGE_CHECK:
		/* slow: the session waits, pipelined input stays buffered */
		s->mode = SMTP_MODE_BUSY;
		net_conn_pause(s->c);
		r = auth_login(s->c, smtp_env, st->user, st->pass, login_done, s);
		auth_wipe(st->pass);
		if (r < 0) {
			smtp_session_resume(s);
			smtp_rejected(METRIC_REJECT_TEMPORARY);
			smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		}
		return r;
	case AUTH_EXCHANGE_FAIL:
		break;
	}
	s->mode = SMTP_MODE_COMMAND;
	switch (st->fail) {
	case AUTH_EXCHANGE_UNKNOWN_MECH:
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		break;
	case AUTH_EXCHANGE_MALFORMED:
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "501 5.5.2 Malformed %s response", s->auth_mech);
		break;
	case AUTH_EXCHANGE_CANCELLED: /* RFC 4954 4 */
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		break;
	case AUTH_EXCHANGE_AUTHZID:
		smtp_rejected(METRIC_REJECT_AUTH_FAILED);
		smtp_reply(s, "535 5.7.8 Authorization identity not permitted");
		break;
	}
	return 0;
}

int smtp_auth_start(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->fl != SMTP_SUBMISSION) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "503 5.5.1 AUTH is offered on the submission ports only");
		return 0;
	}
	if (s->auth_account) {
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "503 5.5.1 Already authenticated");
		return 0;
	}
	const char *init = cmd->auth_initial;
	struct auth_exchange_step st;
	s->auth_mech = !strcmp(cmd->auth_mech, "LOGIN") ? "LOGIN" : "PLAIN";
	int r = auth_exchange_start(&s->sasl, cmd->auth_mech, init, init ? strlen(init) : 0,
				    &s->ca, &st);
	return step(s, r, &st);
}

int smtp_auth_line(struct smtp_session *s, const uint8_t *line, size_t len)
{
	struct auth_exchange_step st;
	arena_reset(&s->ca);
	int r = auth_exchange_next(&s->sasl, (const char *)line, len, &s->ca, &st);
	return step(s, r, &st);
}
