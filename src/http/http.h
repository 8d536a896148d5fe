/* http.h: the HTTP/1.1 server every HTTP handler uses (autoconfig, JMAP, webmail,
 * /metrics, /healthz).
 *
 * HTTP/1.1 is a net_proto (src/net/net.h) like IMAP and POP3, not libevent's evhttp:
 * TLS, per-client connection limits, idle timeouts, the login penalty, the worker pools
 * and the loop-thread model all live on net_conn, and evhttp would bypass each.
 *
 * A connection reads one request at a time (RFC 9112; parser: http_parse.h), looks up
 * its route (http_routes.c) and calls the handler on the connection's loop thread with
 * input paused. The handler answers exactly once, now or later (after net_conn_work or
 * net_conn_work_io): the request and its arena stay valid until the answer is finished.
 * Pipelined requests are answered in order, one after the other.
 *
 * Every response carries Content-Type, Content-Length (or is close-delimited/chunked
 * for streams), Date, X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
 * X-Frame-Options: DENY, Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy:
 * same-origin, a Content-Security-Policy (default "default-src 'none'; frame-ancestors
 * 'none'"; a handler may replace it with http_add_header) and Strict-Transport-Security
 * on the https listener. Errors are application/problem+json (RFC 7807).
 *
 * Bounds (core/limits.h): request line LIMIT_HTTP_REQUEST_LINE (414), header section
 * LIMIT_HTTP_HEADER_BYTES and LIMIT_HTTP_HEADER_FIELDS (431), body in memory up to
 * LIMIT_HTTP_BODY_MEMORY, larger ones spooled to an unlinked file under <data>/spool
 * (body_fd) up to the route's maximum (413, and the connection closes). */
#ifndef KASTEN_HTTP_H
#define KASTEN_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;
struct net_conn;
struct net_proto;

/* Which listener a request came in on: the net_listen proto_arg of http_proto. */
enum http_listener { HTTP_PUBLIC = 1, HTTP_ADMIN = 2 };
extern const enum http_listener http_listener_public; /* &: proto_arg of http, https */
extern const enum http_listener http_listener_admin;  /* &: proto_arg of admin */

/* One parsed request; strings NUL-terminated, in the request's arena. */
struct http_req {
	const char *method;          /* "GET", "POST", ... (HEAD is handled as GET: the
				      * body of the answer is left out by http_reply) */
	const char *target;          /* as sent */
	const char *path;            /* percent-decoded path, no query; never contains NUL */
	const char *query;           /* raw query after '?', "" if none */
	const uint8_t *body;         /* whole body in memory (NUL after it), or NULL if */
	size_t body_len;             /* it is in body_fd */
	int body_fd;                 /* -1, or an unlinked spool file holding the body at
				      * offset 0 (large uploads); closed by the server after
				      * the answer: a handler that keeps it dup()s it */
	uint64_t body_size;          /* body_len or the spooled size */
	struct arena *a;             /* lives until the response is finished */
	struct net_conn *conn;
	bool tls, admin;             /* https listener; admin listener */
	bool head;                   /* the method was HEAD (method says "GET") */
	/* The header fields, in order; names as sent (compare case-insensitively),
	 * values with surrounding whitespace removed. */
	size_t n_headers;
	const char *const *header_names;
	const char *const *header_values;
	void *priv;                  /* the server's own state: never touched by handlers */
};

/* The value of the first field named name (case-insensitive), or NULL. Several
 * fields of one name are not joined: handlers ask only for single-valued ones. */
const char *http_header(const struct http_req *r, const char *name);
/* The percent-decoded ('+' is a space) value of the first query parameter name, ""
 * for "name" without '=', NULL if absent or if it decodes to a NUL byte. */
const char *http_query_param(const struct http_req *r, const char *name);
/* The value of cookie name from the Cookie fields (RFC 6265 5.4), NULL if absent. */
const char *http_cookie(const struct http_req *r, const char *name);
/* The client's address ("1.2.3.4"). */
const char *http_peer_ip(const struct http_req *r);

/* The store every handler works on: set once by `kasten serve` before the loops run. */
struct store_env;
void http_init(struct store_env *env);
struct store_env *http_store_env(void);

/* ---- answering: exactly one answer per request, on the loop thread owning r->conn;
 * may come later (after net_conn_work/_io): the request stays valid until then. After
 * the answer r must not be used (its arena is gone). ---- */

/* Add a response header field for the coming answer (copied). A field named like one
 * of the defaults (Content-Security-Policy, Cache-Control, ...) replaces it. Not
 * Content-Length, Content-Type, Date, Connection, Transfer-Encoding: the server's. */
void http_add_header(struct http_req *r, const char *name, const char *value);
/* A whole answer with body (copied); content_type NULL when len is 0 and no body is
 * meant (204, 304). HEAD: the headers only, with the Content-Length of the body. */
void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
		size_t len);
/* application/json from v (compact); steals v. v NULL or unserialisable: 500. */
void http_reply_json(struct http_req *r, int status, json_t *v);
/* application/problem+json (RFC 7807): {"type","title","status","detail"}. type NULL
 * = "about:blank" (title then the status phrase); detail may be NULL. */
void http_problem(struct http_req *r, int status, const char *type, const char *detail);
/* Stream size bytes of fd from its current offset, in bounded memory (on_drain);
 * takes the fd (closed when done or on error). */
void http_reply_file(struct http_req *r, int status, const char *content_type, int fd,
		     uint64_t size);

/* Streaming (EventSource): the headers now (chunked on HTTP/1.1, close-delimited on
 * HTTP/1.0), then chunks whenever, then end. on_gone(arg) runs once, on the loop
 * thread, when the client goes away before http_stream_end (r is then finished: do
 * not use it after on_gone returns). Writing counts as progress against the idle
 * timeout. The stream's output is bounded: http_stream_write returns ERR_FULL when the
 * client does not read (LIMIT_HTTP_STREAM_PENDING queued), the handler then ends it.
 * A HEAD request gets the head only: writes are dropped, the connection closes and
 * on_gone follows. Returns 0 or a negative enum err. */
int http_stream_start(struct http_req *r, int status, const char *content_type,
		      void (*on_gone)(void *arg), void *arg);
int http_stream_write(struct http_req *r, const void *p, size_t n);
/* End the stream; on_gone is not called afterwards. The connection closes after
 * (a stream is the last thing on its connection). */
void http_stream_end(struct http_req *r);

/* ---- routes (http_routes.c): a static table; other parts add rows ----
 * Matching: rows in order; path exact, or prefix when the row's path ends in '/' (but
 * "/", which is the root only).
 * Among the rows whose path and listener match, the first whose method matches (NULL
 * = any; "GET" also takes HEAD) is taken; if none: 405 with Allow listing theirs;
 * no path match: 404. max_body: the largest request body the route takes (0 = the
 * default LIMIT_HTTP_BODY_DEFAULT); larger: 413 before reading it, and the connection
 * closes; Expect: 100-continue is answered with 100 only when the size fits. */
typedef void (*http_handler_fn)(struct http_req *r);
#define HTTP_BODY_UPLOAD UINT64_MAX /* max_body: [http] max_upload_size */
struct http_route {
	const char *method;
	const char *path;
	enum http_listener listener;
	http_handler_fn handler;
	uint64_t max_body; /* 0: LIMIT_HTTP_BODY_DEFAULT; HTTP_BODY_UPLOAD; or bytes
			    * (LIMIT_HTTP_BODY_API for /jmap/api) */
};
extern const struct http_route http_routes[];
extern const size_t http_routes_n;

extern const struct net_proto http_proto;

#endif
