/* pop3_auth.c: the AUTHORIZATION state: USER/PASS (RFC 1939 7) and AUTH (RFC 5034)
 * through the shared SASL exchange (auth_exchange: PLAIN, LOGIN). Cleartext credentials
 * on unencrypted non-loopback connections are refused by the dispatcher (the command
 * table's cleartext_login) unless configured. After a successful check the maildrop is
 * locked and snapshotted (pop3_maildrop_open); POP3 can be off globally or for one
 * account, and the client is told so plainly. */
#include "pop3_int.h"

#include <string.h>

#include "auth/auth.h"
#include "auth/auth_activity.h"
#include "auth/auth_login.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

bool pop3_plaintext_ok(const struct pop3_session *s)
{
	const struct conf *cf = conf_get();
	return net_conn_is_tls(s->c) || cf->plaintext_anywhere ||
	       (cf->plaintext_loopback && net_conn_is_loopback(s->c));
}

/* RFC 2449 8.1.2 / RFC 3206: [SYS/PERM] says retrying will not help. */
bool pop3_refuse_if_disabled(struct pop3_session *s)
{
	if (conf_get()->pop3_enabled)
		return false;
	pop3_reply(s, "-ERR [SYS/PERM] POP3 is disabled on this server; use IMAP instead");
	return true;
}

static void login_done(struct net_conn *c, void *arg, int64_t account, const char *address)
{
	struct pop3_session *s = arg;
	s->user = NULL;
	if (s->closing) {
		pop3_session_free(s);
		return;
	}
	if (!account) { /* auth_login logged it */
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
		pop3_session_resume(s);
		return;
	}
	net_conn_set_user(c, address);
	struct arena a;
	arena_init(&a, 8192);
	struct store_account acct;
	int r = store_account_get_id(pop3_env, account, &a, &acct);
	bool enabled = r == 0 && acct.pop3_enabled;
	arena_free(&a);
	if (r < 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot open the mailbox now, try again later");
	} else if (!enabled) {
		log_info("login refused: pop3 disabled for this account");
		pop3_reply(s, "-ERR [SYS/PERM] POP3 access is disabled for this account; use IMAP instead");
	} else {
		if (pop3_maildrop_open(s, account, address) == 0) /* replies itself */
			auth_activity_seen(c, pop3_env, account, "pop3", NULL); /* POP3 has no ID */
	}
	pop3_session_resume(s);
}

static int login(struct pop3_session *s, const char *user, const char *pass)
{
	s->busy = true;
	net_conn_pause(s->c);
	if (auth_login(s->c, pop3_env, user, pass, login_done, s) < 0) {
		pop3_session_resume(s);
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return ERR_NOMEM;
	}
	return 0;
}

int pop3_cmd_user(struct pop3_session *s, struct pop3_cmd *cmd)
{
	s->user = arena_strdup(&s->sa, cmd->argv[0]);
	if (!s->user)
		return ERR_NOMEM;
	pop3_reply(s, "+OK Send your password");
	return 0;
}

int pop3_cmd_pass(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (!s->user) {
		pop3_reply(s, "-ERR Send USER first");
		return 0;
	}
	return login(s, s->user, cmd->argv[0]);
}

/* What the SASL exchange decided: another challenge ("+ " line), a password check,
 * or a failure in POP3's words (RFC 5034 4, RFC 3206 [AUTH]). */
static int step(struct pop3_session *s, int r, struct auth_exchange_step *st)
{
	if (r < 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return r;
	}
	switch (st->next) {
	case AUTH_EXCHANGE_CHALLENGE:
		pop3_reply(s, "+ %s", st->challenge);
		pop3_parse_expect_sasl(&s->parser);
		return 0;
	case AUTH_EXCHANGE_CHECK:
		r = login(s, st->user, st->pass);
		auth_wipe(st->pass);
		return r;
	case AUTH_EXCHANGE_FAIL:
		break;
	}
	switch (st->fail) {
	case AUTH_EXCHANGE_UNKNOWN_MECH:
		pop3_reply(s, "-ERR [AUTH] Unsupported authentication mechanism");
		break;
	case AUTH_EXCHANGE_MALFORMED:
		pop3_reply(s, "-ERR [AUTH] Malformed authentication response");
		break;
	case AUTH_EXCHANGE_CANCELLED:
		pop3_reply(s, "-ERR [AUTH] Authentication cancelled");
		break;
	case AUTH_EXCHANGE_AUTHZID:
		pop3_reply(s, "-ERR [AUTH] Authorization identity not permitted");
		break;
	}
	return 0;
}

int pop3_cmd_auth(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (cmd->argc == 0) { /* the pre-RFC 5034 probe: list the mechanisms */
		pop3_reply(s, "+OK");
		pop3_reply(s, "PLAIN");
		pop3_reply(s, "LOGIN");
		pop3_reply(s, ".");
		return 0;
	}
	struct auth_exchange_step st;
	s->user = NULL;
	int r = auth_exchange_start(&s->sasl, cmd->argv[0], cmd->argc > 1 ? cmd->argv[1] : NULL,
				    cmd->argc > 1 ? cmd->argl[1] : 0, &s->ca, &st);
	return step(s, r, &st);
}

int pop3_sasl_response(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (!s->sasl.mech) {
		pop3_reply(s, "-ERR Unexpected authentication response");
		return 0;
	}
	struct auth_exchange_step st;
	int r = cmd->verb == POP3_CMD_SASL_CANCEL
			? auth_exchange_next(&s->sasl, "*", 1, &s->ca, &st)
			: auth_exchange_next(&s->sasl, cmd->argv[0], cmd->argl[0], &s->ca, &st);
	return step(s, r, &st);
}
