/* http_parse.h: the pure HTTP/1.1 request parser (RFC 9112). No I/O; allocation only
 * from the arena passed in. A session calls http_parse_head() with its buffered input
 * until a whole header section is there, then http_parse_body() until the body is.
 *
 * Decisions (STYLE 5), each one a way to keep two parsers from reading one byte stream
 * as different requests (request smuggling):
 *   - Lines end in CRLF only. A bare LF or a bare CR anywhere in the head or in chunk
 *     framing is 400 (RFC 9112 2.2 allows rejecting both).
 *   - Empty lines (CRLF) before the request line are skipped (2.2); they count against
 *     the request line bound.
 *   - Request line: method SP request-target SP HTTP-version, one SP each (3); the
 *     method a token, the target visible ASCII only. HTTP/1.0 and 1.1; 1.x past 1 is
 *     taken as 1.1 (2.5); any other major version is 505.
 *   - Request line past LIMIT_HTTP_REQUEST_LINE: 414. Header section past
 *     LIMIT_HTTP_HEADER_BYTES or LIMIT_HTTP_HEADER_FIELDS fields: 431.
 *   - Field lines: name a token, the colon right after it (whitespace before it is
 *     400, 5.1); values of VCHAR, obs-text, SP, HTAB only (NUL and other controls: 400);
 *     a line starting with SP or HTAB (obs-fold) is 400 (5.2).
 *   - HTTP/1.1 needs exactly one Host (3.2): none or several is 400; HTTP/1.0 at most one.
 *   - Content-Length: at most one field, digits only (no lists, no sign), at most
 *     2^53; else 400 (6.3 item 5).
 *   - Transfer-Encoding: one field whose value is exactly "chunked" (case-insensitive).
 *     With Content-Length, in HTTP/1.0, twice, or ending in anything but chunked: 400
 *     (6.1, 6.3 items 3 and 4); other codings before chunked ("gzip, chunked"): 501.
 *   - Chunked (7.1): chunk-size is 1*HEXDIG (no sign, no 0x, no spaces before it; at
 *     most 15 digits); extensions after BWS ";" are checked for bytes and skipped;
 *     chunk data must end in CRLF; the trailer section is checked like fields and
 *     discarded (LIMIT_HTTP_TRAILER_BYTES), a line past LIMIT_HTTP_CHUNK_LINE is 400.
 *   - Expect: "100-continue" only (case-insensitive); anything else is 417 (RFC 9110
 *     10.1.1); ignored in HTTP/1.0.
 *   - Connection: "close" ends the connection after the answer; HTTP/1.0 keeps it only
 *     with "keep-alive" (9.3).
 * Every error leaves status (400, 413, 414, 417, 431, 501, 505) and a reason in the
 * parser; the session answers it and closes the connection, since the framing of what
 * follows is unknown. */
#ifndef KASTEN_HTTP_PARSE_H
#define KASTEN_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define HTTP_CONTENT_LENGTH_MAX (1ull << 53)

enum http_body_kind { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };

/* One request's head; strings NUL-terminated in the parser's arena. */
struct http_head {
	const char *method, *target;
	unsigned version;             /* 10 or 11 */
	size_t n_fields;
	const char **names, **values; /* values without surrounding SP/HTAB */
	enum http_body_kind body;
	uint64_t content_length;      /* HTTP_BODY_LENGTH */
	bool close;                   /* close the connection after the answer */
	bool expect_continue;         /* HTTP/1.1 and Expect: 100-continue */
};

struct http_parser {
	struct arena *a;
	/* head: bytes skipped as empty lines, bytes examined without finding the end */
	size_t skip, scanned;
	bool line_done;  /* the request line's end was seen at request_line_end */
	size_t request_line_end;
	/* body */
	int chunk_state;
	uint64_t remaining;  /* Content-Length or chunk octets still to come */
	uint64_t body_total; /* body octets so far */
	uint64_t body_max;   /* ERR_TOO_BIG (413) when the body passes it; set by the caller */
	size_t trailer_bytes;
	bool body_done;
	/* the result */
	struct http_head head;
	int status;          /* after an error: the HTTP status to answer */
	const char *reason;  /* ... and why (static text) */
};

/* Ready for a request's head; allocations from a. */
void http_parse_init(struct http_parser *hp, struct arena *a);

/* Parse the head at p[0..len) (the input from the start of the request; bytes not
 * consumed are offered again with more after them). Returns >0 when the head is
 * complete (*used_out its length, hp->head filled, body state ready: body_done when
 * there is none), 0 when more input is needed (*used_out 0), <0 on error (status,
 * reason set; ERR_NOMEM when the arena is full, status 500). */
int http_parse_head(struct http_parser *hp, const uint8_t *p, size_t len, size_t *used_out);

/* Decode body bytes from p[0..len) (input after what was consumed before). Returns >0
 * progress: *used_out octets consumed, of which the body octets are *data_out,
 * *data_len_out (within p; maybe none: framing only); body_done when the body ended.
 * 0: need more (nothing consumed). <0: error (status, reason set; ERR_TOO_BIG: the
 * body passed body_max, 413). */
int http_parse_body(struct http_parser *hp, const uint8_t *p, size_t len, size_t *used_out,
		    const uint8_t **data_out, size_t *data_len_out);

/* Split a request target (RFC 9112 3.2: origin-form, absolute-form; asterisk-form "*"
 * for OPTIONS) into the percent-decoded path and the raw query ("" if none). 0, or
 * ERR_BAD_SYNTAX (400): another form, a fragment, a bad or NUL-making %XX. */
int http_target_split(struct arena *a, const char *method, const char *target,
		      const char **path_out, const char **query_out);

/* Percent-decode [p, p+n) into the arena ('+' as a space when plus is set): NULL on a
 * bad %XX, a decoded NUL, or a full arena. */
char *http_pct_decode(struct arena *a, const char *p, size_t n, bool plus);

#endif
