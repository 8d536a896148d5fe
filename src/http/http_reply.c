/* http_reply.c: writing answers: the status line and header fields with the security
 * headers every answer carries (http.h), whole bodies, JSON, RFC 7807 problems, files
 * streamed in bounded memory (LIMIT_HTTP_FILE_CHUNK per read, refilled on_drain), and
 * event streams (chunked; close-delimited for HTTP/1.0; LIMIT_HTTP_STREAM_PENDING). */
#include "http_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "net/net.h"
#include "core/banned.h"

#define HTTP_HEAD_MAX (16u << 10) /* one answer's status line and fields */

static const struct {
	const char *name, *value;
} default_headers[] = {
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"X-Frame-Options", "DENY"},
	{"Cross-Origin-Opener-Policy", "same-origin"},
	{"Cross-Origin-Resource-Policy", "same-origin"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	/* answers are per account: no shared cache may keep them unless a handler says */
	{"Cache-Control", "no-store"},
};

const char *http_status_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static bool has_extra(const struct http_session *s, const char *name)
{
	for (const struct http_extra_header *e = s->extra; e; e = e->next)
		if (strcasecmp(e->name, name) == 0)
			return true;
	return false;
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
	struct http_session *s = http_session_of(r);
	struct http_extra_header *e = arena_alloc(&s->ra, sizeof(*e));
	if (!e)
		return; /* the answer then goes without it; the arena cap is far above */
	e->name = arena_strdup(&s->ra, name);
	e->value = arena_strdup(&s->ra, value);
	if (!e->name || !e->value)
		return;
	/* in order of addition */
	struct http_extra_header **tail = &s->extra;
	while (*tail)
		tail = &(*tail)->next;
	e->next = NULL;
	*tail = e;
}

int http_write_head(struct http_session *s, int status, const char *content_type,
		    int64_t content_length, bool chunked)
{
	static __thread uint8_t storage[HTTP_HEAD_MAX];
	struct buf b;
	buf_init(&b, storage, sizeof(storage));
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	/* RFC 9110 5.6.7: IMF-fixdate */
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		date[0] = '\0';
	s->status = status;
	log_debug(LOGC_PROTO, "S: %d %s", status, http_status_phrase(status));
	int r = buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http_status_phrase(status),
			   date);
	if (content_type && r == 0)
		r = buf_printf(&b, "Content-Type: %s\r\n", content_type);
	if (content_length >= 0 && r == 0)
		r = buf_printf(&b, "Content-Length: %lld\r\n", (long long)content_length);
	if (chunked && r == 0)
		r = buf_printf(&b, "Transfer-Encoding: chunked\r\n");
	for (size_t i = 0; i < sizeof(default_headers) / sizeof(default_headers[0]) && r == 0; i++)
		if (!has_extra(s, default_headers[i].name))
			r = buf_printf(&b, "%s: %s\r\n", default_headers[i].name,
				       default_headers[i].value);
	/* RFC 6797 7.2: only over a secure transport */
	if (net_conn_is_tls(s->c) && !has_extra(s, "Strict-Transport-Security") && r == 0)
		r = buf_printf(&b, "Strict-Transport-Security: max-age=31536000\r\n");
	for (const struct http_extra_header *e = s->extra; e && r == 0; e = e->next)
		r = buf_printf(&b, "%s: %s\r\n", e->name, e->value);
	if (r == 0) {
		if (s->close_after)
			r = buf_printf(&b, "Connection: close\r\n\r\n");
		else if (s->hp.head.version == 10)
			r = buf_printf(&b, "Connection: keep-alive\r\n\r\n");
		else
			r = buf_printf(&b, "\r\n");
	}
	if (r < 0) {
		log_err("http: answer header section past %u bytes", HTTP_HEAD_MAX);
		s->close_after = true;
		return ERR_FULL;
	}
	return net_conn_write(s->c, b.data, b.len);
}

/* The answer is written: the request is done. */
static void answered(struct http_session *s)
{
	http_session_finish(s);
}

void http_reply(struct http_req *r, int status, const char *content_type, const void *body,
		size_t len)
{
	struct http_session *s = http_session_of(r);
	/* RFC 9110 15.3.5, 15.4.5: no content in 204 and 304 */
	bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
	if (!s->gone) {
		if (http_write_head(s, status, content_type, no_body ? -1 : (int64_t)len, false) == 0 &&
		    !r->head && !no_body && len)
			(void)net_conn_write(s->c, body, len); /* a closing connection drops it */
	}
	answered(s);
}

void http_reply_json(struct http_req *r, int status, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (!text) {
		http_problem(r, 500, NULL, "cannot format the answer");
		return;
	}
	http_reply(r, status, "application/json", text, strlen(text));
	free(text);
}

void http_problem(struct http_req *r, int status, const char *type, const char *detail)
{
	json_t *o = json_object();
	const char *title = http_status_phrase(status);
	if (o) {
		json_object_set_new(o, "type", json_string(type ? type : "about:blank"));
		json_object_set_new(o, "title", json_string(title));
		json_object_set_new(o, "status", json_integer(status));
		if (detail)
			json_object_set_new(o, "detail", json_string(detail));
	}
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		static const char fallback[] = "{\"type\":\"about:blank\",\"status\":500}";
		http_reply(r, 500, "application/problem+json", fallback, sizeof(fallback) - 1);
		return;
	}
	http_reply(r, status, "application/problem+json", text, strlen(text));
	free(text);
}

void http_error(struct http_session *s, int status, const char *detail, bool close)
{
	if (close)
		s->close_after = s->linger = true; /* unread input may follow */
	if (s->req.priv == NULL) { /* before the head was complete */
		s->req.priv = s;
		s->req.a = &s->ra;
		s->req.conn = s->c;
	}
	http_problem(&s->req, status, NULL, detail);
}

void http_file_pump(struct http_session *s)
{
	static __thread uint8_t chunk[LIMIT_HTTP_FILE_CHUNK];
	while (s->file_left && net_conn_output_pending(s->c) < NET_OUTPUT_LOW) {
		size_t want = s->file_left < sizeof(chunk) ? (size_t)s->file_left : sizeof(chunk);
		ssize_t n = read(s->file_fd, chunk, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || net_conn_write(s->c, chunk, (size_t)n) < 0) {
			/* the length is promised: a short file can only end the connection */
			if (n <= 0)
				log_err("http: file answer ended early: %s",
					n < 0 ? strerror(errno) : "end of file");
			s->close_after = true;
			s->file_left = 0;
			break;
		}
		s->file_left -= (uint64_t)n;
	}
	if (s->file_left) {
		net_conn_want_drain(s->c);
		return;
	}
	close(s->file_fd);
	s->file_fd = -1;
	answered(s);
}

void http_reply_file(struct http_req *r, int status, const char *content_type, int fd,
		     uint64_t size)
{
	struct http_session *s = http_session_of(r);
	if (s->gone || http_write_head(s, status, content_type, (int64_t)size, false) < 0 ||
	    r->head || size == 0) {
		close(fd);
		answered(s);
		return;
	}
	s->file_fd = fd;
	s->file_left = size;
	s->state = HTTP_ST_FILE;
	http_file_pump(s);
}

int http_stream_start(struct http_req *r, int status, const char *content_type,
		      void (*on_gone)(void *arg), void *arg)
{
	struct http_session *s = http_session_of(r);
	if (s->gone)
		return ERR_IO;
	/* HTTP/1.0 has no chunked coding: the end of the connection ends the stream */
	s->stream_chunked = s->hp.head.version == 11;
	s->close_after = true; /* a stream is the last answer on its connection */
	http_add_header(r, "Cache-Control", "no-cache");
	int e = http_write_head(s, status, content_type, -1, s->stream_chunked);
	if (e < 0)
		return e;
	s->stream_head_only = r->head;
	s->on_gone = on_gone;
	s->gone_arg = arg;
	s->state = HTTP_ST_STREAM;
	net_conn_progress(s->c);
	if (r->head) /* RFC 9110 9.3.2: the head is all; on_gone comes with the close */
		net_conn_close(s->c);
	return 0;
}

int http_stream_write(struct http_req *r, const void *p, size_t n)
{
	struct http_session *s = http_session_of(r);
	if (s->state != HTTP_ST_STREAM || net_conn_closed(s->c))
		return ERR_IO;
	if (s->stream_head_only || n == 0) /* a 0-size chunk would end the stream */
		return 0;
	if (net_conn_output_pending(s->c) > LIMIT_HTTP_STREAM_PENDING)
		return ERR_FULL;
	char size[32];
	int sl = snprintf(size, sizeof(size), "%zx\r\n", n);
	int e = 0;
	if (s->stream_chunked)
		e = net_conn_write(s->c, size, (size_t)sl);
	if (e == 0)
		e = net_conn_write(s->c, p, n);
	if (e == 0 && s->stream_chunked)
		e = net_conn_write(s->c, "\r\n", 2);
	net_conn_progress(s->c); /* a stream being written is not idle */
	return e;
}

void http_stream_end(struct http_req *r)
{
	struct http_session *s = http_session_of(r);
	if (s->state != HTTP_ST_STREAM)
		return;
	if (s->stream_chunked && !s->stream_head_only)
		(void)net_conn_write(s->c, "0\r\n\r\n", 5); /* a closing connection drops it */
	s->on_gone = NULL;
	s->state = HTTP_ST_DONE;
	answered(s);
}

void http_stream_gone(struct http_session *s)
{
	void (*fn)(void *) = s->on_gone;
	s->on_gone = NULL;
	s->state = HTTP_ST_DONE;
	if (fn)
		fn(s->gone_arg);
}
