/* auth_exchange.c: the SASL exchange state machine (see auth.h), shared by SMTP AUTH
 * (RFC 4954), POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 9051 6.2.2), so the
 * protocols differ only in framing and wording. Pure: no I/O, no accounts; decoding is
 * auth_sasl.c's. Every decoded secret is in the caller's arena and is wiped here on
 * every path that does not hand it over. Limits: AUTH_SASL_PART_MAX per part. */
#include "auth/auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/banned.h"

static const char LOGIN_USER_PROMPT[] = "VXNlcm5hbWU6"; /* "Username:" */
static const char LOGIN_PASS_PROMPT[] = "UGFzc3dvcmQ6"; /* "Password:" */

static void fail(struct auth_exchange *x, enum auth_exchange_fail why,
		 struct auth_exchange_step *step)
{
	auth_exchange_end(x);
	step->next = AUTH_EXCHANGE_FAIL;
	step->fail = why;
}

static void challenge(const char *c, struct auth_exchange_step *step)
{
	step->next = AUTH_EXCHANGE_CHALLENGE;
	step->challenge = c;
}

static int plain(struct auth_exchange *x, const char *b64, size_t len, struct arena *a,
		 struct auth_exchange_step *step)
{
	char *authz, *user, *pass;
	int r = auth_sasl_plain(b64, len, a, &authz, &user, &pass);
	if (r == ERR_NOMEM) {
		auth_exchange_end(x);
		return r;
	}
	if (r < 0) {
		fail(x, AUTH_EXCHANGE_MALFORMED, step);
		return 0;
	}
	if (authz[0] && strcmp(authz, user)) {
		auth_wipe(pass);
		fail(x, AUTH_EXCHANGE_AUTHZID, step);
		return 0;
	}
	auth_exchange_end(x);
	step->next = AUTH_EXCHANGE_CHECK;
	step->user = user;
	step->pass = pass;
	return 0;
}

/* One LOGIN line: the user name first, then the password. */
static int login(struct auth_exchange *x, const char *b64, size_t len, struct arena *a,
		 struct auth_exchange_step *step)
{
	char *v;
	int r = auth_sasl_login_decode(b64, len, a, &v);
	if (r == ERR_NOMEM) {
		auth_exchange_end(x);
		return r;
	}
	if (r < 0) {
		fail(x, AUTH_EXCHANGE_MALFORMED, step);
		return 0;
	}
	if (!x->user) {
		x->user = strdup(v);
		auth_wipe(v);
		if (!x->user) {
			auth_exchange_end(x);
			return ERR_NOMEM;
		}
		challenge(LOGIN_PASS_PROMPT, step);
		return 0;
	}
	char *user = arena_strdup(a, x->user);
	auth_exchange_end(x);
	if (!user) {
		auth_wipe(v);
		return ERR_NOMEM;
	}
	step->next = AUTH_EXCHANGE_CHECK;
	step->user = user;
	step->pass = v;
	return 0;
}

int auth_exchange_start(struct auth_exchange *x, const char *mech, const char *initial,
			size_t initial_len, struct arena *a, struct auth_exchange_step *step)
{
	memset(step, 0, sizeof(*step));
	auth_exchange_end(x);
	if (initial && initial_len == 1 && initial[0] == '=')
		initial_len = 0;
	if (!strcasecmp(mech, "PLAIN")) {
		x->mech = "PLAIN";
		if (initial)
			return plain(x, initial, initial_len, a, step);
		challenge("", step);
		return 0;
	}
	if (!strcasecmp(mech, "LOGIN")) {
		x->mech = "LOGIN";
		/* an empty initial response is no user name: ask for it as without one */
		if (initial && initial_len)
			return login(x, initial, initial_len, a, step);
		challenge(LOGIN_USER_PROMPT, step);
		return 0;
	}
	fail(x, AUTH_EXCHANGE_UNKNOWN_MECH, step);
	return 0;
}

int auth_exchange_next(struct auth_exchange *x, const char *line, size_t len,
		       struct arena *a, struct auth_exchange_step *step)
{
	memset(step, 0, sizeof(*step));
	if (!x->mech) {
		fail(x, AUTH_EXCHANGE_MALFORMED, step);
		return 0;
	}
	if (len == 1 && line[0] == '*') {
		fail(x, AUTH_EXCHANGE_CANCELLED, step);
		return 0;
	}
	if (!strcmp(x->mech, "PLAIN"))
		return plain(x, line, len, a, step);
	return login(x, line, len, a, step);
}

void auth_exchange_end(struct auth_exchange *x)
{
	if (x->user) {
		OPENSSL_cleanse(x->user, strlen(x->user));
		free(x->user);
	}
	x->user = NULL;
	x->mech = NULL;
}
