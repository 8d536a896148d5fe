/* jmap_auth.c: who a JMAP/webmail request is from, and the login that makes a session.
 *
 * Three ways in: HTTP Basic (the account's address and password, checked by auth_login:
 * the same hash, the same per-client and per-name penalty as IMAP, POP3 and SMTP AUTH),
 * a Bearer token and the kasten_session cookie (both a token from POST /jmap/login,
 * looked up by its SHA-256 with store_token_get; the store never sees the token). A
 * browser sends the cookie by itself, also on requests another site makes it send, so
 * a state-changing request authenticated by the cookie must show it comes from our own
 * page: X-CSRF-Token (an HMAC of the token under a server key, which only our page was
 * told) and, when the browser sends one, an Origin that is our own. A browser never adds
 * Authorization by itself, so Basic and Bearer requests need neither.
 *
 * Passwords travel only where the other protocols let them: over TLS, or in the clear
 * from loopback/anywhere as [auth] plaintext_loopback/plaintext_anywhere allow. */
#include "http/jmap_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/auth_activity.h"
#include "auth/auth_login.h"
#include "core/arena.h"
#include "core/banned.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/http.h"
#include "net/net.h"
#include "store/store.h"

#define JMAP_TOKEN_BYTES 32
#define JMAP_TOKEN_HEX (2 * JMAP_TOKEN_BYTES)

/* ---- the CSRF key: <data>/jmap/csrf.key, 32 random bytes made once, so CSRF tokens
 * stay valid across restarts as long as the sessions they belong to ---- */
static uint8_t csrf_key[32];
static int csrf_key_rc = ERR_IO;
static pthread_once_t csrf_once = PTHREAD_ONCE_INIT;

static int csrf_key_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_NOTFOUND;
	ssize_t n = read(fd, csrf_key, sizeof csrf_key);
	close(fd);
	return n == (ssize_t)sizeof csrf_key ? 0 : ERR_IO;
}

static void csrf_key_load(void)
{
	char dir[4096], path[4096];
	const char *data = conf_get()->data;
	int n1 = snprintf(dir, sizeof dir, "%s/jmap", data);
	int n2 = snprintf(path, sizeof path, "%s/jmap/csrf.key", data);
	if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof path)
		return;
	if (csrf_key_read(path) == 0) {
		csrf_key_rc = 0;
		return;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_err("jmap: cannot make %s: %s", dir, strerror(errno));
		return;
	}
	/* O_EXCL: of two servers racing (never: the data dir is locked) one key wins */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		bool ok = RAND_bytes(csrf_key, sizeof csrf_key) == 1 &&
			  write(fd, csrf_key, sizeof csrf_key) == (ssize_t)sizeof csrf_key &&
			  fsync(fd) == 0;
		close(fd);
		if (!ok) {
			(void)unlink(path); /* a short key file would be read back as bad */
			log_err("jmap: cannot write %s", path);
			return;
		}
	}
	csrf_key_rc = csrf_key_read(path);
	if (csrf_key_rc < 0)
		log_err("jmap: cannot read %s", path);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int jmap_csrf_token(const char *session_token, char out[65])
{
	uint8_t mac[32];
	unsigned len = sizeof mac;
	pthread_once(&csrf_once, csrf_key_load);
	if (csrf_key_rc < 0)
		return ERR_IO;
	if (!HMAC(EVP_sha256(), csrf_key, sizeof csrf_key, (const uint8_t *)session_token,
		  strlen(session_token), mac, &len))
		return ERR_IO;
	hex(mac, sizeof mac, out);
	return 0;
}

/* ---- helpers ---- */

void jmap_problem(struct http_req *r, int status, const char *type, const char *detail,
		  const char *limit)
{
	json_t *p = json_pack("{s:s,s:i,s:s}", "type", type, "status", status, "detail",
			      detail ? detail : "");
	if (p && limit)
		json_object_set_new(p, "limit", json_string(limit));
	char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!s) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	http_reply(r, status, "application/problem+json", s, strlen(s));
	free(s);
}

/* A browser answers a Basic challenge to a script's request (fetch, EventSource) with
 * its own password dialog, over the webmail's login form and before the script sees
 * the 401. Such requests say what they are (Sec-Fetch-Dest: empty, Fetch Metadata) and
 * get the Bearer challenge alone, which no browser prompts for; every other client
 * (curl, JMAP clients, the address bar) gets both. */
static void unauthorized(struct http_req *r, const char *detail)
{
	const char *dest = http_header(r, "Sec-Fetch-Dest");
	bool script = dest && strcasecmp(dest, "empty") == 0;
	http_add_header(r, "WWW-Authenticate", script ? "Bearer realm=\"kasten\"" : JMAP_CHALLENGE);
	http_problem(r, 401, NULL, detail);
}

static bool plaintext_ok(const struct http_req *r)
{
	const struct conf *cf = conf_get();
	return r->tls || cf->plaintext_anywhere ||
	       (cf->plaintext_loopback && net_conn_is_loopback(r->conn));
}

static bool state_changing(const struct http_req *r)
{
	return strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0;
}

bool jmap_origin_ok(const struct http_req *r)
{
	const char *origin = http_header(r, "Origin");
	const char *host = http_header(r, "Host");
	if (!origin)
		return true;
	const char *scheme = r->tls ? "https://" : "http://";
	size_t sl = strlen(scheme);
	/* RFC 6454 7: scheme "://" host [":" port], compared as the browser serialized it;
	 * "null" (a sandboxed or privacy-sensitive context) is never our own page */
	return host && strncasecmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0;
}

int64_t jmap_account_parse(const char *s)
{
	if (!s || s[0] != 'A' || s[1] < '1' || s[1] > '9')
		return -1;
	int64_t v = 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

static bool token_ok(const char *t)
{
	size_t n = 0;
	for (; t[n]; n++)
		if (!((t[n] >= '0' && t[n] <= '9') || (t[n] >= 'a' && t[n] <= 'f')))
			return false;
	return n == JMAP_TOKEN_HEX;
}

static void token_hash(const char *token, uint8_t out[32])
{
	SHA256((const uint8_t *)token, strlen(token), out);
}

/* ---- authentication ---- */

struct auth_pending {
	struct http_req *r;
	jmap_authed_fn done;
};

static void finish(struct http_req *r, jmap_authed_fn done, int64_t id, const char *address,
		   bool by_cookie, const char *token)
{
	struct jmap_auth au = {
		.account_id = id,
		.address = arena_strdup(r->a, address),
		.account_str = arena_printf(r->a, "A%lld", (long long)id),
		.by_cookie = by_cookie,
		.token = token,
	};
	if (!au.address || !au.account_str) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	net_conn_set_user(r->conn, au.address);
	done(r, &au);
}

static void basic_done(struct net_conn *c, void *arg, int64_t account_id, const char *address)
{
	struct auth_pending *p = arg;
	(void)c;
	if (account_id == 0) {
		unauthorized(p->r, "wrong user name or password");
		return;
	}
	finish(p->r, p->done, account_id, address, false, NULL);
}

/* "Basic base64(user:pass)" (RFC 7617). */
static void auth_basic(struct http_req *r, const char *cred, jmap_authed_fn done)
{
	size_t n = strlen(cred);
	if (!plaintext_ok(r)) {
		http_problem(r, 403, NULL, "passwords are taken over TLS only");
		return;
	}
	if (n == 0 || n % 4 != 0 || n > 4 * LIMIT_JMAP_LOGIN_FIELD) {
		unauthorized(r, "malformed Basic credentials");
		return;
	}
	char *plain = arena_alloc(r->a, n / 4 * 3 + 1);
	struct auth_pending *p = arena_alloc(r->a, sizeof *p);
	if (!plain || !p) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	int len = EVP_DecodeBlock((uint8_t *)plain, (const uint8_t *)cred, (int)n);
	if (len >= 0 && n >= 1 && cred[n - 1] == '=')
		len--;
	if (len >= 0 && n >= 2 && cred[n - 2] == '=')
		len--;
	char *colon = len > 0 ? memchr(plain, ':', (size_t)len) : NULL;
	if (!colon || memchr(plain, '\0', (size_t)len)) {
		if (len > 0)
			OPENSSL_cleanse(plain, (size_t)len);
		unauthorized(r, "malformed Basic credentials");
		return;
	}
	plain[len] = '\0';
	*colon = '\0';
	p->r = r;
	p->done = done;
	int rc = auth_login(r->conn, http_store_env(), plain, colon + 1, basic_done, p);
	OPENSSL_cleanse(plain, (size_t)len);
	/* the request's own copy (the field's value, in its arena) goes too */
	OPENSSL_cleanse((char *)cred, n);
	if (rc < 0)
		http_problem(r, 500, NULL, NULL);
}

/* A session token from Bearer or the cookie, looked up on the I/O pool: the directory
 * is shared with deliveries and logins whose commits wait for the disk (and a lookup
 * may slide the token's expiry, a write), which the loop thread must never wait for. */
struct token_check {
	struct http_req *r;
	jmap_authed_fn done;
	bool by_cookie;
	const char *token;         /* in r->a */
	uint8_t hash[32];
	int rc;
	int64_t id;
	struct store_account acct; /* strings in r->a: the loop leaves r alone meanwhile */
};

static void token_work(void *arg)
{
	struct token_check *t = arg;
	t->rc = store_token_get(http_store_env(), t->hash, (int64_t)time(NULL), &t->id);
	if (t->rc == 0)
		t->rc = store_account_get_id(http_store_env(), t->id, t->r->a, &t->acct);
}

static void token_done(struct net_conn *c, void *arg)
{
	struct token_check *t = arg;
	struct http_req *r = t->r;
	(void)c;
	if (t->rc == ERR_NOTFOUND) {
		unauthorized(r, "unknown or expired session");
		return;
	}
	if (t->rc < 0) {
		http_problem(r, 503, NULL, "the account store did not answer");
		return;
	}
	if (t->by_cookie && state_changing(r)) {
		char want[65];
		const char *got = http_header(r, JMAP_CSRF_HEADER);
		if (jmap_csrf_token(t->token, want) < 0) {
			http_problem(r, 500, NULL, NULL);
			return;
		}
		if (!got || strlen(got) != 64 || CRYPTO_memcmp(got, want, 64) != 0) {
			http_problem(r, 403, NULL, "missing or wrong X-CSRF-Token");
			return;
		}
		if (!jmap_origin_ok(r)) {
			http_problem(r, 403, NULL, "cross-origin request refused");
			return;
		}
	}
	finish(r, t->done, t->id, t->acct.address, t->by_cookie, t->token);
}

static void auth_token(struct http_req *r, const char *token, bool by_cookie,
		       jmap_authed_fn done)
{
	if (!token_ok(token)) {
		unauthorized(r, "unknown or expired session");
		return;
	}
	struct token_check *t = arena_alloc(r->a, sizeof *t);
	if (!t || !(t->token = arena_strdup(r->a, token))) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	t->r = r;
	t->done = done;
	t->by_cookie = by_cookie;
	token_hash(token, t->hash);
	if (net_conn_work_io(r->conn, token_work, token_done, t) < 0)
		http_problem(r, 503, NULL, NULL);
}

void jmap_authenticate(struct http_req *r, jmap_authed_fn done)
{
	const char *authz = http_header(r, "Authorization");
	if (authz) {
		if (strncasecmp(authz, "Basic ", 6) == 0) {
			auth_basic(r, authz + 6 + strspn(authz + 6, " "), done);
			return;
		}
		if (strncasecmp(authz, "Bearer ", 7) == 0) {
			auth_token(r, authz + 7 + strspn(authz + 7, " "), false, done);
			return;
		}
		unauthorized(r, "unsupported authorization scheme");
		return;
	}
	const char *cookie = http_cookie(r, JMAP_COOKIE);
	if (cookie && *cookie) {
		auth_token(r, cookie, true, done);
		return;
	}
	unauthorized(r, "credentials required");
}

/* ---- POST /jmap/login, POST /jmap/logout ---- */

/* A login in progress: the password is checked (auth_login, CPU pool), then the new
 * session's token is stored (I/O pool: a durable directory write), then answered. */
struct login {
	struct http_req *r;
	int64_t account_id;
	const char *address;       /* in r->a */
	long days;
	char token[JMAP_TOKEN_HEX + 1];
	uint8_t hash[32];
	int rc;
};

static void set_cookie(struct http_req *r, const char *value, long max_age)
{
	char *c = arena_printf(r->a, "%s=%s; Max-Age=%ld; Path=/; HttpOnly; SameSite=Strict%s",
			       JMAP_COOKIE, value, max_age, r->tls ? "; Secure" : "");
	if (c)
		http_add_header(r, "Set-Cookie", c);
}

static void login_store_work(void *arg)
{
	struct login *l = arg;
	l->rc = store_token_add(http_store_env(), l->account_id, l->hash,
				(int64_t)time(NULL) + l->days * 86400);
}

static void login_stored(struct net_conn *c, void *arg)
{
	struct login *l = arg;
	struct http_req *r = l->r;
	char csrf[65];
	(void)c;
	int rc = l->rc;
	if (rc == 0)
		rc = jmap_csrf_token(l->token, csrf);
	if (rc < 0) {
		OPENSSL_cleanse(l->token, sizeof l->token);
		http_problem(r, 503, NULL, "the session could not be stored");
		return;
	}
	/* the devices page: a login is a client seen (written on the io pool) */
	auth_activity_seen(r->conn, http_store_env(), l->account_id, "http",
			   http_header(r, "User-Agent"));
	net_conn_set_user(r->conn, l->address);
	set_cookie(r, l->token, l->days * 86400);
	http_add_header(r, "Cache-Control", "no-store");
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s}", "accessToken", l->token, "tokenType",
				 "Bearer", "csrfToken", csrf, "accountId",
				 arena_printf(r->a, "A%lld", (long long)l->account_id),
				 "username", l->address);
	OPENSSL_cleanse(l->token, sizeof l->token);
	http_reply_json(r, 200, body);
}

static void login_done(struct net_conn *c, void *arg, int64_t account_id, const char *address)
{
	struct login *l = arg;
	struct http_req *r = l->r;
	uint8_t raw[JMAP_TOKEN_BYTES];
	if (account_id == 0) {
		http_add_header(r, "WWW-Authenticate", "Bearer realm=\"kasten\"");
		http_problem(r, 401, NULL, "wrong user name or password");
		return;
	}
	l->account_id = account_id;
	l->address = arena_strdup(r->a, address);
	l->days = (long)conf_get()->http_session_days;
	if (!l->address || RAND_bytes(raw, sizeof raw) != 1) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	hex(raw, sizeof raw, l->token);
	OPENSSL_cleanse(raw, sizeof raw);
	token_hash(l->token, l->hash);
	if (net_conn_work_io(c, login_store_work, login_stored, l) < 0) {
		OPENSSL_cleanse(l->token, sizeof l->token);
		http_problem(r, 503, NULL, NULL);
	}
}

/* A JSON body: application/json (a cross-site HTML form cannot send it). */
static bool json_content(const struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	return ct && strncasecmp(ct, "application/json", 16) == 0 &&
	       (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

void jmap_http_login(struct http_req *r)
{
	const char *user, *pass;
	if (!jmap_origin_ok(r)) {
		http_problem(r, 403, NULL, "cross-origin request refused");
		return;
	}
	if (!json_content(r) || !r->body) {
		http_problem(r, 415, NULL, "send {\"username\",\"password\"} as application/json");
		return;
	}
	if (!plaintext_ok(r)) {
		http_problem(r, 403, NULL, "passwords are taken over TLS only");
		return;
	}
	json_t *v = json_loadb((const char *)r->body, r->body_len, 0, NULL);
	/* the body held the password: nothing reads it after this */
	OPENSSL_cleanse((uint8_t *)r->body, r->body_len);
	struct login *l = arena_alloc(r->a, sizeof *l);
	if (!v || json_unpack(v, "{s:s,s:s}", "username", &user, "password", &pass) < 0 ||
	    strlen(user) > LIMIT_JMAP_LOGIN_FIELD || strlen(pass) > LIMIT_JMAP_LOGIN_FIELD ||
	    !l) {
		json_decref(v);
		http_problem(r, 400, NULL, "send {\"username\",\"password\"} as application/json");
		return;
	}
	l->r = r;
	int rc = auth_login(r->conn, http_store_env(), user, pass, login_done, l);
	/* jansson's copy of the password is wiped before it is freed */
	json_t *pv = json_object_get(v, "password");
	OPENSSL_cleanse((char *)json_string_value(pv), json_string_length(pv));
	json_decref(v);
	if (rc < 0)
		http_problem(r, 500, NULL, NULL);
}

/* Logout: the token's row goes on the I/O pool (a durable directory write). */
struct logout {
	struct http_req *r;
	uint8_t hash[32];
	int rc;
};

static void logout_work(void *arg)
{
	struct logout *o = arg;
	o->rc = store_token_del(http_store_env(), o->hash);
}

static void logout_done(struct net_conn *c, void *arg)
{
	struct logout *o = arg;
	(void)c;
	if (o->rc < 0 && o->rc != ERR_NOTFOUND) {
		http_problem(o->r, 503, NULL, "the session could not be removed");
		return;
	}
	set_cookie(o->r, "", 0);
	http_reply(o->r, 204, NULL, NULL, 0);
}

static void logout_authed(struct http_req *r, const struct jmap_auth *au)
{
	struct logout *o = arena_alloc(r->a, sizeof *o);
	if (!o) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	o->r = r;
	o->rc = 0;
	if (!au->token) { /* Basic: no session to end, only the cookie to clear */
		logout_done(r->conn, o);
		return;
	}
	token_hash(au->token, o->hash);
	if (net_conn_work_io(r->conn, logout_work, logout_done, o) < 0)
		http_problem(r, 503, NULL, NULL);
}

void jmap_http_logout(struct http_req *r)
{
	jmap_authenticate(r, logout_authed);
}
