/* http_parse.c: the HTTP/1.1 request parser (RFC 9112): head, Content-Length and
 * chunked bodies, request targets. Every decision is listed in http_parse.h. Limits:
 * LIMIT_HTTP_REQUEST_LINE, LIMIT_HTTP_HEADER_BYTES, LIMIT_HTTP_HEADER_FIELDS,
 * LIMIT_HTTP_CHUNK_LINE, LIMIT_HTTP_TRAILER_BYTES, the caller's body_max. */
#include "http_parse.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

#define CHUNK_SIZE_DIGITS 15 /* 2^60: far past any body_max, no overflow */

void http_parse_init(struct http_parser *hp, struct arena *a)
{
	memset(hp, 0, sizeof(*hp));
	hp->a = a;
}

static int fail(struct http_parser *hp, int status, const char *reason, int e)
{
	hp->status = status;
	hp->reason = reason;
	return e;
}

/* RFC 9110 5.6.2: tchar */
static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9110 5.5: field-vchar / SP / HTAB (obs-text included) */
static bool is_value_byte(uint8_t c)
{
	return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* The end of the line starting at p[i] (the index of its CR), or len if the CRLF is
 * not there yet, or -1 for a bare CR/LF. */
static long line_end(const uint8_t *p, size_t i, size_t len)
{
	for (; i < len; i++) {
		if (p[i] == '\n')
			return -1; /* LF without CR */
		if (p[i] == '\r') {
			if (i + 1 == len)
				return (long)len;
			return p[i + 1] == '\n' ? (long)i : -1;
		}
	}
	return (long)len;
}

/* Find the end of the head from hp->scanned on; >0: head length, 0: more, <0 error. */
static int find_end(struct http_parser *hp, const uint8_t *p, size_t len, size_t *end_out)
{
	/* empty lines before the request line (RFC 9112 2.2) */
	while (!hp->line_done && hp->skip + 2 <= len && p[hp->skip] == '\r' &&
	       p[hp->skip + 1] == '\n') {
		hp->skip += 2;
		if (hp->skip >= LIMIT_HTTP_REQUEST_LINE)
			return fail(hp, 414, "request line too long", ERR_TOO_LONG);
	}
	if (hp->scanned < hp->skip)
		hp->scanned = hp->skip;
	if (!hp->line_done) {
		size_t lim = hp->skip + LIMIT_HTTP_REQUEST_LINE - 2; /* content before CRLF */
		size_t stop = len < lim + 2 ? len : lim + 2;
		const uint8_t *lf = memchr(p + hp->scanned, '\n', stop - hp->scanned);
		if (!lf) {
			if (len >= lim + 2)
				return fail(hp, 414, "request line too long", ERR_TOO_LONG);
			hp->scanned = len;
			return 0;
		}
		size_t at = (size_t)(lf - p);
		if (at == hp->skip || p[at - 1] != '\r')
			return fail(hp, 400, "line not ended by CRLF", ERR_BAD_SYNTAX);
		if (at - 1 - hp->skip > lim - hp->skip)
			return fail(hp, 414, "request line too long", ERR_TOO_LONG);
		hp->line_done = true;
		hp->request_line_end = at + 1;
		hp->scanned = at + 1;
	}
	/* the header section ends at an empty line: scan line starts */
	size_t limit = hp->request_line_end + LIMIT_HTTP_HEADER_BYTES;
	size_t i = hp->scanned; /* always the start of a line */
	for (;;) {
		if (i + 2 <= len && p[i] == '\r' && p[i + 1] == '\n') {
			if (i + 2 > limit)
				return fail(hp, 431, "header section too large", ERR_TOO_BIG);
			*end_out = i + 2;
			return 1;
		}
		size_t stop = len < limit ? len : limit;
		const uint8_t *lf = i < stop ? memchr(p + i, '\n', stop - i) : NULL;
		if (!lf) {
			hp->scanned = i;
			if (len >= limit)
				return fail(hp, 431, "header section too large", ERR_TOO_BIG);
			return 0;
		}
		i = (size_t)(lf - p) + 1;
	}
}

static bool ieq(const char *a, const char *b)
{
	return str_ieq(a, strlen(a), b);
}

/* Request line [p, p+n) without CRLF. */
static int parse_request_line(struct http_parser *hp, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ')
		return fail(hp, 400, "bad method", ERR_BAD_SYNTAX);
	size_t m_end = i++;
	size_t t_start = i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == t_start || i == n || p[i] != ' ')
		return fail(hp, 400, "bad request target", ERR_BAD_SYNTAX);
	size_t t_end = i++;
	const uint8_t *v = p + i;
	if (n - i != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return fail(hp, 400, "bad HTTP version", ERR_BAD_SYNTAX);
	if (v[5] != '1')
		return fail(hp, 505, "only HTTP/1.x is served", ERR_BAD_SYNTAX);
	hp->head.version = v[7] == '0' ? 10 : 11;
	hp->head.method = arena_strndup(hp->a, p, m_end);
	hp->head.target = arena_strndup(hp->a, p + t_start, t_end - t_start);
	if (!hp->head.method || !hp->head.target)
		return fail(hp, 500, "out of memory", ERR_NOMEM);
	return 0;
}

/* One field line [p, p+n) without CRLF into name/value. */
static int parse_field(struct http_parser *hp, const uint8_t *p, size_t n, const char **name_out,
		       const char **value_out)
{
	if (n && is_ows(p[0]))
		return fail(hp, 400, "obsolete line folding", ERR_BAD_SYNTAX);
	size_t i = 0;
	while (i < n && is_tchar(p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ':')
		return fail(hp, 400, "bad header field name", ERR_BAD_SYNTAX);
	size_t name_len = i++;
	while (i < n && is_ows(p[i]))
		i++;
	size_t v_start = i, v_end = n;
	for (size_t j = i; j < n; j++)
		if (!is_value_byte(p[j]))
			return fail(hp, 400, "bad byte in a header field", ERR_BAD_SYNTAX);
	while (v_end > v_start && is_ows(p[v_end - 1]))
		v_end--;
	if (name_out) {
		*name_out = arena_strndup(hp->a, p, name_len);
		*value_out = arena_strndup(hp->a, p + v_start, v_end - v_start);
		if (!*name_out || !*value_out)
			return fail(hp, 500, "out of memory", ERR_NOMEM);
	}
	return 0;
}

/* Whether the comma-separated list [v, end) has the token tok (case-insensitive). */
static bool list_has_before(const char *v, const char *end, const char *tok)
{
	size_t tl = strlen(tok);
	while (v < end) {
		while (v < end && (*v == ',' || is_ows((uint8_t)*v)))
			v++;
		const char *s = v;
		while (v < end && *v != ',')
			v++;
		const char *e = v;
		while (e > s && is_ows((uint8_t)e[-1]))
			e--;
		if ((size_t)(e - s) == tl && str_ieq(s, tl, tok))
			return true;
	}
	return false;
}

static bool list_has(const char *v, const char *tok)
{
	return list_has_before(v, v + strlen(v), tok);
}

/* s with surrounding SP/HTAB equals lit (case-insensitive). */
static bool ieq_trimmed(const char *s, const char *lit)
{
	while (is_ows((uint8_t)*s))
		s++;
	size_t n = strlen(s);
	while (n && is_ows((uint8_t)s[n - 1]))
		n--;
	return str_ieq(s, n, lit);
}

/* The framing and connection fields (RFC 9112 3.2, 6, 9.3; RFC 9110 10.1.1). */
static int check_semantics(struct http_parser *hp)
{
	struct http_head *h = &hp->head;
	const char *cl = NULL, *te = NULL;
	unsigned hosts = 0;
	bool close = false, keep_alive = false;
	for (size_t k = 0; k < h->n_fields; k++) {
		const char *n = h->names[k], *v = h->values[k];
		if (ieq(n, "host")) {
			hosts++;
		} else if (ieq(n, "content-length")) {
			if (cl)
				return fail(hp, 400, "more than one Content-Length", ERR_BAD_SYNTAX);
			cl = v;
		} else if (ieq(n, "transfer-encoding")) {
			if (te)
				return fail(hp, 400, "more than one Transfer-Encoding", ERR_BAD_SYNTAX);
			te = v;
		} else if (ieq(n, "connection")) {
			close |= list_has(v, "close");
			keep_alive |= list_has(v, "keep-alive");
		} else if (ieq(n, "expect") && h->version == 11) {
			if (!ieq(v, "100-continue"))
				return fail(hp, 417, "only 100-continue is expected", ERR_BAD_SYNTAX);
			h->expect_continue = true;
		}
	}
	if (hosts > 1 || (h->version == 11 && hosts == 0))
		return fail(hp, 400, "HTTP/1.1 needs exactly one Host", ERR_BAD_SYNTAX);
	h->close = close || (h->version == 10 && !keep_alive);
	if (te) {
		if (cl)
			return fail(hp, 400, "Transfer-Encoding with Content-Length", ERR_BAD_SYNTAX);
		if (h->version == 10)
			return fail(hp, 400, "Transfer-Encoding in HTTP/1.0", ERR_BAD_SYNTAX);
		if (!ieq(te, "chunked")) {
			/* "gzip, chunked" is well framed but a coding we do not decode (501);
			 * anything not ending in one chunked has no known framing (400) */
			const char *last = strrchr(te, ',');
			if (last && ieq_trimmed(last + 1, "chunked") &&
			    !list_has_before(te, last, "chunked"))
				return fail(hp, 501, "transfer coding not implemented", ERR_BAD_SYNTAX);
			return fail(hp, 400, "chunked must be the only transfer coding",
				    ERR_BAD_SYNTAX);
		}
		h->body = HTTP_BODY_CHUNKED;
		hp->chunk_state = CH_SIZE;
		return 0;
	}
	if (cl) {
		uint64_t n;
		if (str_to_u64(cl, strlen(cl), HTTP_CONTENT_LENGTH_MAX, &n) < 0)
			return fail(hp, 400, "bad Content-Length", ERR_BAD_SYNTAX);
		if (n > 0) {
			h->body = HTTP_BODY_LENGTH;
			h->content_length = n;
			hp->remaining = n;
			return 0;
		}
	}
	h->body = HTTP_BODY_NONE;
	hp->body_done = true;
	return 0;
}

int http_parse_head(struct http_parser *hp, const uint8_t *p, size_t len, size_t *used_out)
{
	*used_out = 0;
	size_t end;
	int r = find_end(hp, p, len, &end);
	if (r <= 0)
		return r;
	/* the whole head is p[skip, end): validate it in one pass */
	size_t rl_start = hp->skip, rl_len = hp->request_line_end - 2 - rl_start;
	if (memchr(p + rl_start, '\r', rl_len))
		return fail(hp, 400, "bare CR", ERR_BAD_SYNTAX);
	r = parse_request_line(hp, p + rl_start, rl_len);
	if (r < 0)
		return r;
	/* count the fields first: each line in the section ends in CRLF or is refused */
	size_t nf = 0;
	for (size_t i = hp->request_line_end; i < end - 2;) {
		long e = line_end(p, i, end);
		if (e < 0 || (size_t)e >= end)
			return fail(hp, 400, "line not ended by CRLF", ERR_BAD_SYNTAX);
		if (++nf > LIMIT_HTTP_HEADER_FIELDS)
			return fail(hp, 431, "too many header fields", ERR_TOO_BIG);
		i = (size_t)e + 2;
	}
	struct http_head *h = &hp->head;
	h->names = arena_alloc(hp->a, (nf ? nf : 1) * sizeof(char *));
	h->values = arena_alloc(hp->a, (nf ? nf : 1) * sizeof(char *));
	if (!h->names || !h->values)
		return fail(hp, 500, "out of memory", ERR_NOMEM);
	for (size_t i = hp->request_line_end; i < end - 2;) {
		size_t e = (size_t)line_end(p, i, end);
		r = parse_field(hp, p + i, e - i, &h->names[h->n_fields], &h->values[h->n_fields]);
		if (r < 0)
			return r;
		h->n_fields++;
		i = e + 2;
	}
	r = check_semantics(hp);
	if (r < 0)
		return r;
	*used_out = end;
	return 1;
}

/* A chunk-size line [p, p+n) without CRLF: 1*HEXDIG [BWS ";" extensions]. */
static int parse_chunk_size(struct http_parser *hp, const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; i < n; i++) {
		int d = str_hex_digit((char)p[i]);
		if (d < 0)
			break;
		if (i == CHUNK_SIZE_DIGITS)
			return fail(hp, 400, "chunk size too long", ERR_BAD_SYNTAX);
		v = v * 16 + (uint64_t)d;
	}
	if (i == 0)
		return fail(hp, 400, "bad chunk size", ERR_BAD_SYNTAX);
	size_t j = i;
	while (j < n && is_ows(p[j]))
		j++;
	if (j < n && p[j] != ';')
		return fail(hp, 400, "bad chunk size", ERR_BAD_SYNTAX);
	if (j == n && j != i)
		return fail(hp, 400, "whitespace after the chunk size", ERR_BAD_SYNTAX);
	for (; j < n; j++)
		if (!is_value_byte(p[j]))
			return fail(hp, 400, "bad byte in a chunk extension", ERR_BAD_SYNTAX);
	*out = v;
	return 0;
}

/* One CRLF-ended line at p[0..len) of at most LIMIT_HTTP_CHUNK_LINE octets: its length
 * without CRLF in *n_out and >0; 0 if not complete yet; <0 if bad or too long. */
static int chunk_line(struct http_parser *hp, const uint8_t *p, size_t len, size_t *n_out)
{
	size_t stop = len < LIMIT_HTTP_CHUNK_LINE ? len : LIMIT_HTTP_CHUNK_LINE;
	long e = line_end(p, 0, stop);
	if (e < 0)
		return fail(hp, 400, "line not ended by CRLF", ERR_BAD_SYNTAX);
	if ((size_t)e >= stop || (size_t)e + 2 > stop) {
		if (len >= LIMIT_HTTP_CHUNK_LINE)
			return fail(hp, 400, "chunk line too long", ERR_TOO_LONG);
		return 0;
	}
	*n_out = (size_t)e;
	return 1;
}

static int body_chunked(struct http_parser *hp, const uint8_t *p, size_t len, size_t *used_out,
			const uint8_t **data_out, size_t *data_len_out)
{
	size_t n;
	int r;
	switch (hp->chunk_state) {
	case CH_SIZE: {
		if ((r = chunk_line(hp, p, len, &n)) <= 0)
			return r;
		uint64_t size;
		if ((r = parse_chunk_size(hp, p, n, &size)) < 0)
			return r;
		if (size > hp->body_max - hp->body_total)
			return fail(hp, 413, "request body too large", ERR_TOO_BIG);
		hp->remaining = size;
		hp->chunk_state = size ? CH_DATA : CH_TRAILER;
		*used_out = n + 2;
		return 1;
	}
	case CH_DATA:
		n = len < hp->remaining ? len : (size_t)hp->remaining;
		if (n == 0)
			return 0;
		hp->remaining -= n;
		hp->body_total += n;
		*data_out = p;
		*data_len_out = n;
		*used_out = n;
		if (hp->remaining == 0)
			hp->chunk_state = CH_DATA_END;
		return 1;
	case CH_DATA_END:
		if (len < 2)
			return 0;
		if (p[0] != '\r' || p[1] != '\n')
			return fail(hp, 400, "chunk data not ended by CRLF", ERR_BAD_SYNTAX);
		hp->chunk_state = CH_SIZE;
		*used_out = 2;
		return 1;
	default: /* CH_TRAILER: field lines until an empty one, discarded */
		if ((r = chunk_line(hp, p, len, &n)) <= 0)
			return r;
		if (n == 0) {
			hp->body_done = true;
			*used_out = 2;
			return 1;
		}
		hp->trailer_bytes += n + 2;
		if (hp->trailer_bytes > LIMIT_HTTP_TRAILER_BYTES)
			return fail(hp, 400, "trailer section too large", ERR_TOO_BIG);
		if ((r = parse_field(hp, p, n, NULL, NULL)) < 0)
			return r;
		*used_out = n + 2;
		return 1;
	}
}

int http_parse_body(struct http_parser *hp, const uint8_t *p, size_t len, size_t *used_out,
		    const uint8_t **data_out, size_t *data_len_out)
{
	*used_out = 0;
	*data_out = NULL;
	*data_len_out = 0;
	if (hp->body_done)
		return 1;
	if (hp->head.body == HTTP_BODY_CHUNKED)
		return body_chunked(hp, p, len, used_out, data_out, data_len_out);
	/* Content-Length: the caller compared it with its maximum before reading */
	if (hp->head.content_length > hp->body_max)
		return fail(hp, 413, "request body too large", ERR_TOO_BIG);
	size_t n = len < hp->remaining ? len : (size_t)hp->remaining;
	if (n == 0)
		return 0;
	hp->remaining -= n;
	hp->body_total += n;
	hp->body_done = hp->remaining == 0;
	*data_out = p;
	*data_len_out = n;
	*used_out = n;
	return 1;
}

char *http_pct_decode(struct arena *a, const char *p, size_t n, bool plus)
{
	char *out = arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '%') {
			int hi = i + 2 < n ? str_hex_digit(p[i + 1]) : -1;
			int lo = hi >= 0 ? str_hex_digit(p[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		} else if (c == '\0') {
			return NULL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

int http_target_split(struct arena *a, const char *method, const char *target,
		      const char **path_out, const char **query_out)
{
	const char *t = target;
	if (strcmp(t, "*") == 0) {
		if (strcmp(method, "OPTIONS"))
			return ERR_BAD_SYNTAX;
		*path_out = "*";
		*query_out = "";
		return 0;
	}
	size_t tl = strlen(t);
	if (str_iprefix(t, tl, "http://") || str_iprefix(t, tl, "https://")) {
		t = strstr(t, "://") + 3; /* absolute-form: the authority goes, Host stays */
		t += strcspn(t, "/?");
		if (*t == '?' || *t == '\0') {
			const char *q = *t == '?' ? t + 1 : "";
			if (strchr(q, '#'))
				return ERR_BAD_SYNTAX;
			*path_out = "/";
			*query_out = q;
			return 0;
		}
	} else if (t[0] != '/') {
		return ERR_BAD_SYNTAX;
	}
	if (strchr(t, '#'))
		return ERR_BAD_SYNTAX;
	size_t pl = strcspn(t, "?");
	char *path = http_pct_decode(a, t, pl, false);
	if (!path)
		return ERR_BAD_SYNTAX;
	*path_out = path;
	*query_out = t[pl] == '?' ? t + pl + 1 : "";
	return 0;
}
