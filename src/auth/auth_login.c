/* auth_login.c: see auth_login.h. */
#include "auth_login.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/str.h"
#include "net/net.h"
#include "store/store.h"
#include "core/banned.h"

static char dummy_hash[128];

struct check {
	struct net_conn *c;
	auth_login_done_fn done;
	void *arg;
	char user[LIMIT_ADDRESS + 1]; /* canonical address once the account is known */
	char pass[1024];
	char *hash; /* NULL for an unknown user */
	int64_t account;
	bool ok;
	bool remembered; /* accepted by auth_cache, without the hash */
};

int auth_login_init(void)
{
	char pw[33];
	if (str_random_hex(pw, 16) < 0 || auth_cache_init() < 0)
		return ERR_IO;
	return auth_hash_password(pw, dummy_hash);
}

static void check_free(struct check *k)
{
	free(k->hash);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

static void check_work(void *arg)
{
	struct check *k = arg;
	if (k->hash && auth_cache_hit(k->account, k->hash, k->pass)) {
		k->ok = k->remembered = true;
	} else {
		bool ok = auth_verify_password(k->pass, k->hash ? k->hash : dummy_hash);
		k->ok = ok && k->hash;
		if (k->ok)
			auth_cache_put(k->account, k->hash, k->pass);
	}
	OPENSSL_cleanse(k->pass, sizeof(k->pass));
}

static void check_done(struct net_conn *c, void *arg)
{
	struct check *k = arg;
	int proto = net_conn_metric_proto(c);
	if (proto >= 0) {
		metrics_count(k->ok ? METRIC_LOGINS_OK : METRIC_LOGINS_FAILED, (unsigned)proto, 1);
		if (k->remembered)
			metrics_count(METRIC_LOGINS_REMEMBERED, (unsigned)proto, 1);
	}
	if (k->ok) {
		net_penalty_ok(c, NET_PENALTY_LOGIN, k->user);
		k->done(c, k->arg, k->account, k->user);
	} else {
		char esc[LIMIT_ADDRESS * 4 + 1];
		net_penalty_fail(c, NET_PENALTY_LOGIN, k->user);
		log_info("login failed user=%s reason=%s", log_esc(esc, k->user, strlen(k->user)),
			 k->hash ? "password" : "unknown user");
		k->done(c, k->arg, 0, NULL);
	}
	check_free(k);
}

static int check_start(struct check *k)
{
	return net_conn_work(k->c, check_work, check_done, k);
}

/* The penalty delay is over: check now (or tell the caller we could not). */
static void delayed_start(struct net_conn *c, void *arg)
{
	struct check *k = arg;
	if (check_start(k) < 0) {
		k->done(c, k->arg, 0, NULL);
		check_free(k);
	}
}

int auth_login(struct net_conn *c, struct store_env *env, const char *user, const char *pass,
	       auth_login_done_fn done, void *arg)
{
	struct check *k = calloc(1, sizeof(*k));
	if (!k)
		return ERR_NOMEM;
	k->c = c;
	k->done = done;
	k->arg = arg;
	size_t ul = strlen(user), pl = strlen(pass);
	if (ul < sizeof(k->user) && pl < sizeof(k->pass)) {
		memcpy(k->user, user, ul + 1);
		memcpy(k->pass, pass, pl + 1);
		struct arena a;
		arena_init(&a, 8192);
		struct store_account acct;
		if (store_account_get(env, user, &a, &acct) == 0 && acct.pwhash) {
			k->hash = strdup(acct.pwhash);
			k->account = acct.id;
			/* log and report the canonical address, not what the client typed */
			size_t al = strlen(acct.address);
			if (al < sizeof(k->user))
				memcpy(k->user, acct.address, al + 1);
		}
		arena_free(&a);
	} else {
		(void)snprintf(k->user, sizeof(k->user), "%.*s", (int)sizeof(k->user) - 1, user);
	}
	/* Every attempt from a client with recent failures, or at a name under attack, waits
	 * first, the right password too: an answer's timing tells a guesser nothing. */
	unsigned ms = net_penalty_delay(c, NET_PENALTY_LOGIN, k->user);
	if (ms > 0 && net_conn_after(c, ms, delayed_start, k) == 0)
		return 0;
	if (check_start(k) < 0) {
		check_free(k);
		return ERR_NOMEM;
	}
	return 0;
}
