/* auth_login.c: see auth_login.h. */
#include "auth_login.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "net/net.h"
#include "store/store.h"
#include "core/banned.h"

static char dummy_hash[128];

struct check {
	auth_login_done_fn done;
	void *arg;
	char user[LIMIT_ADDRESS + 1];
	char pass[1024];
	char *hash; /* NULL for an unknown user */
	int64_t account;
	bool ok;
};

int auth_login_init(void)
{
	char pw[33];
	if (str_random_hex(pw, 16) < 0)
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
	bool ok = auth_verify_password(k->pass, k->hash ? k->hash : dummy_hash);
	k->ok = ok && k->hash;
	OPENSSL_cleanse(k->pass, sizeof(k->pass));
}

struct late {
	struct net_conn *c;
	struct check *k;
};

static void fail_now(evutil_socket_t fd, short what, void *arg)
{
	struct late *l = arg;
	net_conn_log_ctx(l->c);
	l->k->done(l->c, l->k->arg, 0, NULL);
	check_free(l->k);
	net_conn_release(l->c);
	free(l);
}

static void check_done(struct net_conn *c, void *arg)
{
	struct check *k = arg;
	if (k->ok) {
		net_auth_ok(net_conn_peer_ip(c));
		k->done(c, k->arg, k->account, k->user);
		check_free(k);
		return;
	}
	unsigned ms = net_auth_fail(net_conn_peer_ip(c));
	struct late *l = malloc(sizeof(*l));
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	if (l) {
		*l = (struct late){c, k};
		net_conn_hold(c);
		if (event_base_once(net_conn_base(c), -1, EV_TIMEOUT, fail_now, l, &tv) == 0)
			return;
		net_conn_release(c);
		free(l);
	}
	k->done(c, k->arg, 0, NULL); /* no timer: answer at once rather than never */
	check_free(k);
}

int auth_login(struct net_conn *c, struct store_env *env, const char *user, const char *pass,
	       auth_login_done_fn done, void *arg)
{
	struct check *k = calloc(1, sizeof(*k));
	if (!k)
		return ERR_NOMEM;
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
	}
	if (net_conn_work(c, check_work, check_done, k) < 0) {
		check_free(k);
		return ERR_NOMEM;
	}
	return 0;
}
