/* http_int.h: the HTTP server's own state, shared by http_session.c (reading requests),
 * http_reply.c (writing answers) and http_req.c (request accessors). Handlers never
 * see it: they use http.h. */
#ifndef KASTEN_HTTP_INT_H
#define KASTEN_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "http.h"
#include "http_parse.h"

enum http_state {
	HTTP_ST_HEAD,    /* reading a request's head */
	HTTP_ST_BODY,    /* reading its body */
	HTTP_ST_HANDLER, /* the handler owns the request (input paused) */
	HTTP_ST_FILE,    /* streaming a file answer (on_drain) */
	HTTP_ST_STREAM,  /* an event stream is open */
	HTTP_ST_DONE,    /* the last answer is out; the connection is closing */
	HTTP_ST_DRAIN,   /* an error answer is out: input is read and dropped for a
			  * moment before closing (RFC 9112 9.6) */
};

struct http_extra_header {
	struct http_extra_header *next;
	const char *name, *value;
};

struct http_session {
	struct net_conn *c;
	enum http_listener listener;
	enum http_state state;
	bool gone;       /* on_close came while the handler owned the request */
	bool held;       /* net_conn_hold taken for the handler */
	bool close_after;/* close once this answer is out */
	bool linger;     /* ... after draining what the client still sends */
	size_t drained;  /* octets dropped while draining */
	struct arena ra; /* the request's: head, decoded path, answer headers */
	struct http_parser hp;
	struct http_req req;
	const struct http_route *route;
	uint64_t started; /* metrics_now() when the head was complete */
	/* the body: in memory (malloc, NUL after it) until LIMIT_HTTP_BODY_MEMORY, then an
	 * unlinked spool file */
	uint8_t *body;
	size_t body_len, body_cap;
	int body_fd;
	uint64_t body_size;
	/* the answer */
	struct http_extra_header *extra;
	int status;
	int file_fd;
	uint64_t file_left;
	bool stream_chunked, stream_head_only;
	void (*on_gone)(void *arg);
	void *gone_arg;
};

/* The session of a request. */
static inline struct http_session *http_session_of(const struct http_req *r)
{
	return r->priv;
}

/* The request is answered (or its answer is out): release what it held, then read the
 * next one or close (http_session.c). */
void http_session_finish(struct http_session *s);
/* Free the session (its request and answer state) after on_close. */
void http_session_free(struct http_session *s);

/* Write the status line and header fields of an answer. content_length < 0: none
 * (a stream). Returns 0 or ERR_IO/ERR_NOMEM (http_reply.c). */
int http_write_head(struct http_session *s, int status, const char *content_type,
		    int64_t content_length, bool chunked);
/* Answer an error found by the server itself (parse error, 404, 405, 413) as a
 * problem and close the connection when close is set. */
void http_error(struct http_session *s, int status, const char *detail, bool close);
/* The status phrase of RFC 9110 15 ("Not Found"), "Unknown" for others. */
const char *http_status_phrase(int status);
/* More of a file answer (on_drain). */
void http_file_pump(struct http_session *s);
/* The client went away during an event stream: tell the handler. */
void http_stream_gone(struct http_session *s);

#endif
