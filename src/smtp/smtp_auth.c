/* smtp_auth.c: AUTH on submission (RFC 4954) with PLAIN (RFC 4616) and LOGIN.
 * Offered only over TLS, or on loopback when [auth] plaintext_loopback allows it.
 * The password check is auth_login() (worker pool, per-IP failure delay). Secrets are
 * wiped as soon as they have been handed over. */
#include "smtp_int.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/auth_login.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
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
		log_info("auth failed mech=%s", s->auth_mech);
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
	} else {
		s->auth_account = account;
		s->auth_address = arena_strdup(&s->sa, address);
		net_conn_set_user(c, address);
		log_info("auth ok mech=%s", s->auth_mech);
		smtp_reply(s, "235 2.7.0 Authentication successful");
	}
	smtp_session_resume(s);
}

/* The password check is slow: the session waits, pipelined input stays buffered. */
static int check_start(struct smtp_session *s, const char *user, const char *pass)
{
	s->mode = SMTP_MODE_BUSY;
	net_conn_pause(s->c);
	if (auth_login(s->c, smtp_env, user, pass, login_done, s) < 0) {
		smtp_session_resume(s);
		return ERR_NOMEM;
	}
	return 0;
}

/* A decoded PLAIN response: authzid must be empty or the same user (no proxy auth). */
static int plain(struct smtp_session *s, const char *b64, size_t len)
{
	char *authz, *user, *pass;
	if (auth_sasl_plain(b64, len, &s->ca, &authz, &user, &pass) < 0) {
		smtp_reply(s, "501 5.5.2 Malformed PLAIN response");
		return 0;
	}
	int r = 0;
	if (authz[0] && strcmp(authz, user))
		smtp_reply(s, "535 5.7.8 Authorization identity not permitted");
	else
		r = check_start(s, user, pass);
	auth_wipe(pass);
	return r;
}

static int login_step(struct smtp_session *s, const char *b64, size_t len)
{
	char *v;
	size_t n;
	if (auth_b64_decode(b64, len, &s->ca, &v, &n) < 0 || n == 0 || n > 255 ||
	    memchr(v, '\0', n)) {
		s->mode = SMTP_MODE_COMMAND;
		smtp_reply(s, "501 5.5.2 Malformed LOGIN response");
		return 0;
	}
	if (!s->auth_user) {
		s->auth_user = arena_strdup(&s->sa, v);
		smtp_reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
		return 0;
	}
	s->mode = SMTP_MODE_COMMAND;
	int r = check_start(s, s->auth_user, v);
	OPENSSL_cleanse(v, n);
	return r;
}

int smtp_auth_start(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->fl != SMTP_SUBMISSION) {
		smtp_reply(s, "503 5.5.1 AUTH is offered on the submission ports only");
		return 0;
	}
	if (s->auth_account) {
		smtp_reply(s, "503 5.5.1 Already authenticated");
		return 0;
	}
	if (!smtp_auth_allowed(s)) {
		smtp_reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return 0;
	}
	const char *init = cmd->auth_initial;
	size_t ilen = init ? strlen(init) : 0;
	if (init && !strcmp(init, "="))
		ilen = 0; /* RFC 4954 4: "=" is an empty initial response */
	s->auth_user = NULL;
	if (!strcmp(cmd->auth_mech, "PLAIN")) {
		s->auth_mech = "PLAIN";
		if (init)
			return plain(s, init, ilen);
		s->mode = SMTP_MODE_AUTH;
		smtp_reply(s, "334 ");
		return 0;
	}
	if (!strcmp(cmd->auth_mech, "LOGIN")) {
		s->auth_mech = "LOGIN";
		s->mode = SMTP_MODE_AUTH;
		if (init && ilen)
			return login_step(s, init, ilen);
		smtp_reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
		return 0;
	}
	smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
	return 0;
}

int smtp_auth_line(struct smtp_session *s, const uint8_t *line, size_t len)
{
	if (len == 1 && line[0] == '*') { /* RFC 4954 4: the client cancels */
		s->mode = SMTP_MODE_COMMAND;
		smtp_reply(s, "501 5.0.0 Authentication cancelled");
		return 0;
	}
	arena_reset(&s->ca);
	if (!strcmp(s->auth_mech, "PLAIN")) {
		s->mode = SMTP_MODE_COMMAND;
		return plain(s, (const char *)line, len);
	}
	return login_step(s, (const char *)line, len);
}
