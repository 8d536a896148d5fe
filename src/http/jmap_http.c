/* jmap_http.c: the JMAP session resource and API endpoints over HTTP (RFC 8620 2, 3.1),
 * and the per-account bound on concurrent requests.
 *
 * POST /jmap/api runs the whole request on the I/O worker pool (net_conn_work_io) with
 * the account's store opened once for it, so a slow method (a search) never stalls the
 * loop thread's other connections; the answer goes out on the loop thread. The body is
 * bounded twice: the route takes at most LIMIT_HTTP_BODY_API octets (413 past it), the
 * engine's maxSizeRequest (LIMIT_JMAP_REQUEST_SIZE) answers the JMAP limit problem
 * below that. A request's memory is one arena of LIMIT_JMAP_ARENA plus jansson's
 * values for a request of at most maxSizeRequest. */
#include "http/jmap_int.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/http.h"
#include "net/net.h"
#include "store/store.h"

/* ---- maxConcurrentRequests / maxConcurrentUpload ---- */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot {
	int64_t account_id; /* 0: free */
	unsigned busy[2];
} slots[LIMIT_JMAP_SLOT_ACCOUNTS];

bool jmap_slot_take(int64_t account_id, enum jmap_slot_kind kind)
{
	unsigned max = kind == JMAP_SLOT_API ? LIMIT_JMAP_CONCURRENT : LIMIT_JMAP_CONCURRENT_UPLOAD;
	struct slot *mine = NULL, *free_slot = NULL;
	bool ok = false;
	pthread_mutex_lock(&slot_lock);
	for (size_t i = 0; i < LIMIT_JMAP_SLOT_ACCOUNTS && !mine; i++) {
		if (slots[i].account_id == account_id)
			mine = &slots[i];
		else if (!free_slot && slots[i].account_id == 0)
			free_slot = &slots[i];
	}
	if (!mine && free_slot) {
		mine = free_slot;
		mine->account_id = account_id;
	}
	/* every slot held by other accounts' running requests: refuse, as when busy */
	if (mine && mine->busy[kind] < max) {
		mine->busy[kind]++;
		ok = true;
	}
	pthread_mutex_unlock(&slot_lock);
	return ok;
}

void jmap_slot_put(int64_t account_id, enum jmap_slot_kind kind)
{
	pthread_mutex_lock(&slot_lock);
	for (size_t i = 0; i < LIMIT_JMAP_SLOT_ACCOUNTS; i++) {
		struct slot *s = &slots[i];
		if (s->account_id != account_id)
			continue;
		assert(s->busy[kind] > 0);
		s->busy[kind]--;
		if (s->busy[0] == 0 && s->busy[1] == 0)
			s->account_id = 0;
		break;
	}
	pthread_mutex_unlock(&slot_lock);
}

/* ---- base URL ---- */

/* A Host field we may echo into URLs: a name or address literal and a port. */
static bool host_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

const char *jmap_base_url(struct http_req *r)
{
	const char *host = http_header(r, "Host");
	if (!host || !host_ok(host))
		host = conf_get()->hostname;
	return arena_printf(r->a, "%s://%s", r->tls ? "https" : "http", host);
}

/* ---- GET /.well-known/jmap, /jmap/session ---- */

static void session_authed(struct http_req *r, const struct jmap_auth *au)
{
	const char *base = jmap_base_url(r);
	json_t *s = base ? jmap_session_object(au->account_id, au->address, base) : NULL;
	if (!s) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	/* the webmail reads its CSRF token here after a reload (the cookie is HttpOnly) */
	char csrf[65];
	if (au->by_cookie && jmap_csrf_token(au->token, csrf) == 0)
		json_object_set_new(s, "csrfToken", json_string(csrf));
	http_add_header(r, "Cache-Control", "no-cache, no-store");
	http_reply_json(r, 200, s);
}

void jmap_http_session(struct http_req *r)
{
	jmap_authenticate(r, session_authed);
}

/* ---- POST /jmap/api ---- */

struct api_job {
	struct http_req *r;
	int64_t account_id;
	const char *address;
	char state[17];
	char *out;           /* the serialized response (malloc), or NULL: */
	struct jmap_request_error err; /* its strings in a: */
	struct arena a;      /* the request's, freed after the answer */
	int rc;
};

/* The body as bytes: in memory, or read from the spool file (malloc'd into *copy). */
static int api_body(struct http_req *r, const uint8_t **p, size_t *len, uint8_t **copy)
{
	*copy = NULL;
	if (r->body_fd < 0) {
		*p = r->body ? r->body : (const uint8_t *)"";
		*len = r->body_len;
		return 0;
	}
	uint8_t *b = malloc(r->body_size ? r->body_size : 1);
	if (!b)
		return ERR_NOMEM;
	size_t got = 0;
	while (got < r->body_size) {
		ssize_t n = pread(r->body_fd, b + got, r->body_size - got, (off_t)got);
		if (n <= 0) {
			free(b);
			return ERR_IO;
		}
		got += (size_t)n;
	}
	*p = *copy = b;
	*len = got;
	return 0;
}

static void api_work(void *arg)
{
	struct api_job *j = arg;
	struct jmap_ctx x;
	const uint8_t *p;
	size_t len;
	uint8_t *copy;
	json_t *resp = NULL;

	j->rc = api_body(j->r, &p, &len, &copy);
	if (j->rc < 0)
		return;
	memset(&x, 0, sizeof x);
	x.env = http_store_env();
	x.account_id = j->account_id;
	x.address = j->address;
	x.a = &j->a;
	j->rc = store_open(x.env, j->account_id, &x.st);
	if (j->rc == 0) {
		j->rc = jmap_request(&x, p, len, j->state, &resp, &j->err);
		store_close(&x.st);
	}
	if (j->rc == 0) {
		j->out = json_dumps(resp, JSON_COMPACT);
		if (!j->out)
			j->rc = ERR_NOMEM;
	}
	json_decref(resp);
	free(copy);
}

static void api_done(struct net_conn *c, void *arg)
{
	struct api_job *j = arg;
	(void)c;
	jmap_slot_put(j->account_id, JMAP_SLOT_API);
	if (j->rc == 0)
		http_reply(j->r, 200, "application/json", j->out, strlen(j->out));
	else if (j->err.type && j->err.status != 500)
		jmap_problem(j->r, j->err.status, j->err.type, j->err.detail, j->err.limit);
	else
		http_problem(j->r, err_is_temp(j->rc) ? 503 : 500, NULL, NULL);
	free(j->out);
	arena_free(&j->a);
	free(j);
}

static void api_authed(struct http_req *r, const struct jmap_auth *au)
{
	if (r->body_size > LIMIT_JMAP_REQUEST_SIZE) {
		jmap_problem(r, 400, JMAP_ERR_LIMIT, "the request is too large", "maxSizeRequest");
		return;
	}
	struct api_job *j = calloc(1, sizeof *j);
	if (!j || jmap_session_state(au->account_id, au->address, j->state) < 0) {
		free(j);
		http_problem(r, 500, NULL, NULL);
		return;
	}
	if (!jmap_slot_take(au->account_id, JMAP_SLOT_API)) {
		free(j);
		jmap_problem(r, 429, JMAP_ERR_LIMIT, "too many concurrent requests",
			     "maxConcurrentRequests");
		return;
	}
	j->r = r;
	j->account_id = au->account_id;
	j->address = au->address;
	arena_init(&j->a, LIMIT_JMAP_ARENA);
	if (net_conn_work_io(r->conn, api_work, api_done, j) < 0) {
		jmap_slot_put(au->account_id, JMAP_SLOT_API);
		arena_free(&j->a);
		free(j);
		http_problem(r, 503, NULL, NULL);
	}
}

void jmap_http_api(struct http_req *r)
{
	jmap_authenticate(r, api_authed);
}
