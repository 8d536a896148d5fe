/* http_session.c: one HTTP/1.1 connection (RFC 9112): reads requests one at a time
 * (http_parse.c), routes them (http_routes.c), reads their bodies into memory or a
 * spool file, and hands them to the handler with input paused; the next request is
 * read once the answer is out (sequential pipelining, 9.3.2), or the connection closes
 * (Connection: close, HTTP/1.0, any framing error: 9.6). Owns the session, its request
 * arena (LIMIT_HTTP_REQ_ARENA) and the body (LIMIT_HTTP_BODY_MEMORY in memory, then an
 * unlinked file under <data>/spool up to the route's maximum). */
#include "http_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/fdio.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/net.h"
#include "core/banned.h"

const enum http_listener http_listener_public = HTTP_PUBLIC;
const enum http_listener http_listener_admin = HTTP_ADMIN;

static struct store_env *http_env;

void http_init(struct store_env *env)
{
	http_env = env;
}

struct store_env *http_store_env(void)
{
	return http_env;
}

static void start_request(struct http_session *s)
{
	/* between requests a connection holds no request memory: idle keep-alive
	 * connections (and event streams' neighbours) stay a few hundred bytes */
	arena_free(&s->ra);
	http_parse_init(&s->hp, &s->ra);
	s->state = HTTP_ST_HEAD;
	memset(&s->req, 0, sizeof(s->req));
	s->route = NULL;
	s->body_len = 0;
	s->body_size = 0;
	s->body_fd = -1;
	s->extra = NULL;
	s->status = 0;
	s->file_fd = -1;
	s->file_left = 0;
	s->linger = false;
}

static int on_open(struct net_conn *c)
{
	struct http_session *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->c = c;
	const enum http_listener *l = net_conn_proto_arg(c);
	s->listener = l ? *l : HTTP_PUBLIC;
	arena_init(&s->ra, LIMIT_HTTP_REQ_ARENA);
	start_request(s);
	net_conn_set_data(c, s);
	return 0;
}

static void release_body(struct http_session *s)
{
	if (s->body_fd >= 0)
		close(s->body_fd);
	s->body_fd = -1;
	free(s->body);
	s->body = NULL;
	s->body_cap = 0;
}

void http_session_free(struct http_session *s)
{
	release_body(s);
	if (s->file_fd >= 0)
		close(s->file_fd);
	arena_free(&s->ra);
	free(s);
}

static void on_close(struct net_conn *c)
{
	struct http_session *s = net_conn_data(c);
	if (!s)
		return;
	net_conn_set_data(c, NULL);
	switch (s->state) {
	case HTTP_ST_HANDLER:
		s->gone = true; /* the handler still owns the request: freed by its answer */
		return;
	case HTTP_ST_STREAM:
		http_stream_gone(s);
		break;
	default:
		break;
	}
	if (s->held)
		net_conn_release(c);
	http_session_free(s);
}

static void linger_done(struct net_conn *c, void *arg)
{
	if (!net_conn_closed(c))
		net_conn_close(c);
}

void http_session_finish(struct http_session *s)
{
	struct net_conn *c = s->c;
	metrics_observe_since(METRIC_HIST_COMMAND,
			      s->listener == HTTP_ADMIN ? METRIC_PROTO_ADMIN : METRIC_PROTO_HTTP,
			      s->started);
	/* the public listeners' answers only: scraping /metrics does not move what it reads */
	if (s->listener == HTTP_PUBLIC && s->status >= 100 && s->status < 600)
		metrics_count(METRIC_HTTP_RESPONSES, (unsigned)(s->status / 100 - 1), 1);
	bool held = s->held;
	s->held = false;
	if (s->gone) {
		http_session_free(s);
	} else {
		release_body(s);
		if (s->close_after && s->linger && s->state != HTTP_ST_DONE) {
			/* the client may still be sending what we refused: a close with
			 * unread input resets the connection, and the answer with it */
			s->state = HTTP_ST_DRAIN;
			net_conn_resume(c);
			if (net_conn_after(c, LIMIT_HTTP_LINGER_MS, linger_done, NULL) < 0)
				net_conn_close(c);
		} else if (s->close_after || s->state == HTTP_ST_DONE) {
			s->state = HTTP_ST_DONE;
			net_conn_close(c);
		} else {
			start_request(s);
			net_conn_progress(c);
			net_conn_resume(c);
		}
	}
	if (held)
		net_conn_release(c); /* last: it may free c once closed */
}

/* The route for path on this listener: NULL and the status (404, 405 with Allow). */
static const struct http_route *route_find(struct http_session *s, const char *method,
					   const char *path, int *status_out)
{
	char allow[256] = "";
	size_t al = 0;
	bool path_seen = false;
	for (size_t i = 0; i < http_routes_n; i++) {
		const struct http_route *rt = &http_routes[i];
		if (rt->listener != s->listener)
			continue;
		size_t pl = strlen(rt->path);
		bool prefix = pl > 1 && rt->path[pl - 1] == '/'; /* "/": the root only */
		if (prefix ? strncmp(path, rt->path, pl) != 0 : strcmp(path, rt->path) != 0)
			continue;
		path_seen = true;
		if (!rt->method || strcmp(rt->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0))
			return rt;
		const char *m = rt->method;
		bool get = strcmp(m, "GET") == 0;
		int n = snprintf(allow + al, sizeof(allow) - al, "%s%s%s", al ? ", " : "", m,
				 get ? ", HEAD" : "");
		if (n > 0 && (size_t)n < sizeof(allow) - al)
			al += (size_t)n;
	}
	*status_out = path_seen ? 405 : 404;
	if (path_seen)
		http_add_header(&s->req, "Allow", allow);
	return NULL;
}

static uint64_t route_max_body(const struct http_route *rt)
{
	if (rt->max_body == HTTP_BODY_UPLOAD)
		return conf_get()->http_max_upload_size;
	return rt->max_body ? rt->max_body : LIMIT_HTTP_BODY_DEFAULT;
}

/* An unlinked file under <data>/spool for a large body: nothing is left behind
 * whatever happens to the process. */
static int spool_open(struct http_session *s)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/spool/http-XXXXXX", conf_get()->data);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_INVAL;
	int fd = mkstemp(path);
	if (fd < 0) {
		log_err("http: cannot create a spool file in %s/spool: %s", conf_get()->data,
			strerror(errno));
		return ERR_IO;
	}
	(void)unlink(path); /* the fd keeps it; a failed unlink only leaves a file behind */
	s->body_fd = fd;
	return 0;
}

/* Keep n body octets: in memory while the body fits LIMIT_HTTP_BODY_MEMORY, then in
 * the spool file (with what memory held). */
static int body_store(struct http_session *s, const uint8_t *p, size_t n)
{
	s->body_size += n;
	if (s->body_fd < 0 && s->body_len + n > LIMIT_HTTP_BODY_MEMORY) {
		int r = spool_open(s);
		if (r < 0 || (r = fd_write_all(s->body_fd, s->body, s->body_len)) < 0)
			return r;
		s->body_len = 0;
	}
	if (s->body_fd >= 0)
		return fd_write_all(s->body_fd, p, n);
	if (s->body_len + n + 1 > s->body_cap) {
		size_t cap = s->body_cap ? s->body_cap : 4096;
		while (cap < s->body_len + n + 1)
			cap *= 2;
		uint8_t *nb = realloc(s->body, cap);
		if (!nb)
			return ERR_NOMEM;
		s->body = nb;
		s->body_cap = cap;
	}
	memcpy(s->body + s->body_len, p, n);
	s->body_len += n;
	return 0;
}

/* The whole request is in: give it to the handler, input paused until its answer. */
static void dispatch(struct http_session *s)
{
	struct http_req *r = &s->req;
	r->body_fd = s->body_fd;
	r->body_size = s->body_size;
	if (s->body_fd >= 0) {
		if (lseek(s->body_fd, 0, SEEK_SET) < 0) {
			http_error(s, 500, "cannot read the spooled body", true);
			return;
		}
		r->body = NULL;
		r->body_len = 0;
	} else if (s->body) {
		s->body[s->body_len] = '\0';
		r->body = s->body;
		r->body_len = s->body_len;
	} else {
		r->body = (const uint8_t *)"";
		r->body_len = 0;
	}
	s->state = HTTP_ST_HANDLER;
	net_conn_pause(s->c);
	net_conn_hold(s->c);
	s->held = true;
	s->route->handler(r);
}

/* RFC 9110 9.3: the methods a route may name; any other is 501 (9.1), never 405. */
static bool method_known(const char *m)
{
	static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
					    "PATCH"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return true;
	return false;
}

/* The head is complete: find the route, check the body's size against it. */
static void on_head(struct http_session *s)
{
	struct http_head *h = &s->hp.head;
	struct http_req *r = &s->req;
	s->started = metrics_now();
	s->close_after = h->close;
	r->a = &s->ra;
	r->conn = s->c;
	r->tls = net_conn_is_tls(s->c);
	r->admin = s->listener == HTTP_ADMIN;
	r->priv = s;
	r->head = strcmp(h->method, "HEAD") == 0;
	r->method = r->head ? "GET" : h->method;
	r->target = h->target;
	r->n_headers = h->n_fields;
	r->header_names = h->names;
	r->header_values = h->values;
	r->body_fd = -1;
	bool has_body = h->body != HTTP_BODY_NONE;
	if (http_target_split(&s->ra, h->method, h->target, &r->path, &r->query) < 0) {
		http_error(s, 400, "bad request target", true);
		return;
	}
	if (log_debug_enabled(LOGC_PROTO)) {
		char esc[512];
		log_debug(LOGC_PROTO, "C: %s %s HTTP/1.%u", h->method,
			  log_esc(esc, r->path, strlen(r->path)), h->version % 10);
	}
	if (!method_known(h->method)) {
		http_error(s, 501, "method not implemented", has_body);
		return;
	}
	int status = 0;
	s->route = route_find(s, h->method, r->path, &status);
	if (!s->route) {
		/* the body is not read: what follows it cannot be trusted as a request */
		http_error(s, status, NULL, has_body);
		return;
	}
	s->hp.body_max = route_max_body(s->route);
	if (h->body == HTTP_BODY_LENGTH && h->content_length > s->hp.body_max) {
		http_error(s, 413, "request body too large", true);
		return;
	}
	if (!has_body) {
		dispatch(s);
		return;
	}
	/* RFC 9110 10.1.1: the client waits for this before sending the body */
	if (h->expect_continue && net_conn_write(s->c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return;
	s->state = HTTP_ST_BODY;
}

static int on_input(struct net_conn *c, const uint8_t *p, size_t len)
{
	struct http_session *s = net_conn_data(c);
	size_t off = 0;
	while (off < len && net_conn_reading(c)) {
		size_t used = 0;
		int r;
		if (s->state == HTTP_ST_HEAD) {
			r = http_parse_head(&s->hp, p + off, len - off, &used);
			if (r == 0)
				break;
			if (r < 0) {
				s->started = metrics_now();
				http_error(s, s->hp.status, s->hp.reason, true);
				s->drained += len - off;
				return (int)len;
			}
			off += used;
			net_conn_progress(c);
			on_head(s);
		} else if (s->state == HTTP_ST_BODY) {
			const uint8_t *data;
			size_t dn;
			r = http_parse_body(&s->hp, p + off, len - off, &used, &data, &dn);
			if (r == 0)
				break;
			if (r < 0) {
				http_error(s, s->hp.status, s->hp.reason, true);
				s->drained += len - off;
				return (int)len;
			}
			off += used;
			net_conn_progress_bytes(c, used);
			if (dn && (r = body_store(s, data, dn)) < 0) {
				http_error(s, r == ERR_NOMEM ? 503 : 500, "cannot keep the body", true);
				return (int)len;
			}
			if (s->hp.body_done)
				dispatch(s);
		} else if (s->state == HTTP_ST_DRAIN) {
			s->drained += len - off;
			if (s->drained > LIMIT_HTTP_LINGER_BYTES)
				net_conn_close(c);
			return (int)len;
		} else {
			break;
		}
	}
	return (int)off;
}

static void on_drain(struct net_conn *c)
{
	struct http_session *s = net_conn_data(c);
	if (s && s->state == HTTP_ST_FILE)
		http_file_pump(s);
}

/* The listener's metrics label (net_proto.metric_name): scraping /metrics on the admin
 * listener does not count as http traffic. */
static const char *metric_name(const void *proto_arg)
{
	return *(const enum http_listener *)proto_arg == HTTP_ADMIN ? "admin" : "http";
}

const struct net_proto http_proto = {
	.name = "http",
	.metric_name = metric_name,
	.on_open = on_open,
	.on_input = on_input,
	.on_drain = on_drain,
	.on_close = on_close,
	/* a connection closed while idle gets nothing: a client cannot tell a late 408
	 * from the answer to a request it is just sending (RFC 9112 9.5) */
	.timeout_reply = NULL,
	.busy_reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		      "Content-Length: 41\r\nConnection: close\r\nRetry-After: 60\r\n\r\n"
		      "Too many connections from your address.\r\n",
};
