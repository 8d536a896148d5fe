/* pop3_auth.c: the AUTHORIZATION state: USER/PASS (RFC 1939 7) and AUTH (RFC 5034)
 * with PLAIN and LOGIN. Cleartext credentials are refused on unencrypted non-loopback
 * connections unless configured. After a successful check the maildrop is locked and
 * snapshotted (pop3_maildrop_open); POP3 can be off globally or for one account, and
 * the client is told so plainly. */
#include "pop3_int.h"

#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
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
static bool refuse_if_disabled(struct pop3_session *s)
{
	if (conf_get()->pop3_enabled)
		return false;
	pop3_reply(s, "-ERR [SYS/PERM] POP3 is disabled on this server; use IMAP instead");
	return true;
}

static bool refuse_cleartext(struct pop3_session *s)
{
	if (pop3_plaintext_ok(s))
		return false;
	pop3_reply(s, "-ERR [SYS/PERM] Cleartext login not allowed without TLS; use STLS first");
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
	if (!account) {
		log_info("login failed");
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
		(void)pop3_maildrop_open(s, account, address); /* replies itself */
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
	if (refuse_if_disabled(s) || refuse_cleartext(s))
		return 0;
	s->user = arena_strdup(&s->sa, cmd->argv[0]);
	if (!s->user)
		return ERR_NOMEM;
	pop3_reply(s, "+OK Send your password");
	return 0;
}

int pop3_cmd_pass(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (refuse_if_disabled(s) || refuse_cleartext(s))
		return 0;
	if (!s->user) {
		pop3_reply(s, "-ERR Send USER first");
		return 0;
	}
	return login(s, s->user, cmd->argv[0]);
}

static int plain(struct pop3_session *s, const char *b64, size_t len)
{
	char *authz, *user, *pass;
	s->auth_mech = NULL;
	if (auth_sasl_plain(b64, len, &s->ca, &authz, &user, &pass) < 0) {
		pop3_reply(s, "-ERR [AUTH] Malformed PLAIN response");
		return 0;
	}
	int r = 0;
	if (authz[0] && strcmp(authz, user))
		pop3_reply(s, "-ERR [AUTH] Authorization identity not permitted");
	else
		r = login(s, user, pass);
	auth_wipe(pass);
	return r;
}

/* LOGIN: "Username:" then "Password:", each a base64 line. */
static int login_step(struct pop3_session *s, const char *b64, size_t len)
{
	char *v;
	size_t n;
	if (auth_b64_decode(b64, len, &s->ca, &v, &n) < 0 || n == 0 || n > 255 ||
	    memchr(v, '\0', n)) {
		s->auth_mech = NULL;
		pop3_reply(s, "-ERR [AUTH] Malformed LOGIN response");
		return 0;
	}
	if (!s->user) {
		s->user = arena_strdup(&s->sa, v);
		pop3_reply(s, "+ UGFzc3dvcmQ6");
		pop3_parse_expect_sasl(&s->parser);
		return 0;
	}
	s->auth_mech = NULL;
	int r = login(s, s->user, v);
	OPENSSL_cleanse(v, n);
	return r;
}

int pop3_cmd_auth(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (cmd->argc == 0) { /* the pre-RFC 5034 probe: list the mechanisms */
		pop3_reply(s, "+OK");
		if (pop3_plaintext_ok(s)) {
			pop3_reply(s, "PLAIN");
			pop3_reply(s, "LOGIN");
		}
		pop3_reply(s, ".");
		return 0;
	}
	if (refuse_if_disabled(s) || refuse_cleartext(s))
		return 0;
	const char *mech = cmd->argv[0];
	const char *init = cmd->argc > 1 ? cmd->argv[1] : NULL;
	size_t ilen = cmd->argc > 1 ? cmd->argl[1] : 0;
	if (init && !strcmp(init, "="))
		ilen = 0; /* RFC 5034 4: "=" is an empty initial response */
	s->user = NULL;
	if (!strcasecmp(mech, "PLAIN")) {
		if (init)
			return plain(s, init, ilen);
		s->auth_mech = "PLAIN";
		pop3_reply(s, "+ ");
		pop3_parse_expect_sasl(&s->parser);
		return 0;
	}
	if (!strcasecmp(mech, "LOGIN")) {
		s->auth_mech = "LOGIN";
		if (init && ilen)
			return login_step(s, init, ilen);
		pop3_reply(s, "+ VXNlcm5hbWU6");
		pop3_parse_expect_sasl(&s->parser);
		return 0;
	}
	pop3_reply(s, "-ERR [AUTH] Unsupported authentication mechanism");
	return 0;
}

int pop3_sasl_response(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (!s->auth_mech) {
		pop3_reply(s, "-ERR Unexpected authentication response");
		return 0;
	}
	if (cmd->verb == POP3_CMD_SASL_CANCEL) {
		s->auth_mech = NULL;
		s->user = NULL;
		pop3_reply(s, "-ERR [AUTH] Authentication cancelled");
		return 0;
	}
	if (!strcmp(s->auth_mech, "PLAIN"))
		return plain(s, cmd->argv[0], cmd->argl[0]);
	return login_step(s, cmd->argv[0], cmd->argl[0]);
}
