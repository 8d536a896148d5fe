/* test_http_parse.c: the HTTP/1.1 request parser (RFC 9112) and request-target split.
 * Every case runs three ways, which must give the same transcript: the whole input at
 * once, one byte at a time, and split in two at every offset (STYLE 5). The harness
 * feeds the parser like the session does: unconsumed input is offered again with more
 * after it. The transcript has one entry per request (its head, then its body), and
 * "ERR <status>" or "MORE" (input ended inside a request). Limits at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/http_parse.h"

#define BODY_MAX 1000 /* the route maximum the harness sets after each head */

struct run {
	struct arena a;
	struct http_parser hp;
	bool in_body, failed;
	uint8_t *pending; /* input offered but not consumed yet */
	size_t pending_len;
	char body[4096];
	size_t body_len;
	char *log;
	size_t off, cap;
};

static void logf_(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->log + r->off, r->cap - r->off, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < r->cap - r->off);
	r->off += (size_t)n;
}

static void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	arena_init(&r->a, LIMIT_HTTP_REQ_ARENA);
	http_parse_init(&r->hp, &r->a);
	r->cap = 1 << 16;
	r->log = calloc(1, r->cap);
	r->pending = malloc(1 << 20);
	assert_non_null(r->log);
	assert_non_null(r->pending);
}

static void run_free(struct run *r)
{
	arena_free(&r->a);
	free(r->log);
	free(r->pending);
}

static void log_head(struct run *r)
{
	const struct http_head *h = &r->hp.head;
	logf_(r, "HEAD %s %s v%u", h->method, h->target, h->version);
	for (size_t i = 0; i < h->n_fields; i++)
		logf_(r, " [%s=%s]", h->names[i], h->values[i]);
	logf_(r, " body=%s", h->body == HTTP_BODY_NONE ? "none" :
				     h->body == HTTP_BODY_LENGTH ? "length" : "chunked");
	if (h->body == HTTP_BODY_LENGTH)
		logf_(r, ":%llu", (unsigned long long)h->content_length);
	logf_(r, "%s%s\n", h->close ? " close" : "", h->expect_continue ? " continue" : "");
}

/* Offer the pending input until the parser wants more. */
static void pump(struct run *r)
{
	size_t off = 0;
	while (!r->failed) {
		size_t used = 0;
		int e;
		if (!r->in_body) {
			e = http_parse_head(&r->hp, r->pending + off, r->pending_len - off, &used);
			if (e > 0) {
				off += used;
				log_head(r);
				r->hp.body_max = BODY_MAX;
				if (r->hp.head.body == HTTP_BODY_LENGTH &&
				    r->hp.head.content_length > BODY_MAX) {
					logf_(r, "ERR 413\n");
					r->failed = true;
					break;
				}
				r->in_body = true;
				r->body_len = 0;
			}
		} else {
			const uint8_t *d;
			size_t dn;
			e = http_parse_body(&r->hp, r->pending + off, r->pending_len - off, &used, &d,
					    &dn);
			if (e > 0) {
				off += used;
				assert_true(r->body_len + dn <= sizeof(r->body));
				if (dn) /* d is NULL when no body byte came */
					memcpy(r->body + r->body_len, d, dn);
				r->body_len += dn;
				if (r->hp.body_done) {
					logf_(r, "BODY %zu:%.*s\n", r->body_len, (int)r->body_len,
					      r->body);
					arena_reset(&r->a);
					http_parse_init(&r->hp, &r->a);
					r->in_body = false;
				}
			}
		}
		if (e < 0) {
			logf_(r, "ERR %d\n", r->hp.status);
			r->failed = true;
		}
		if (e <= 0)
			break;
		assert_true(used > 0 || r->hp.body_done || !r->in_body);
	}
	memmove(r->pending, r->pending + off, r->pending_len - off);
	r->pending_len -= off;
}

static void feed(struct run *r, const void *p, size_t n)
{
	if (r->failed)
		return;
	assert_true(r->pending_len + n <= (1u << 20));
	memcpy(r->pending + r->pending_len, p, n);
	r->pending_len += n;
	pump(r);
}

static void finish(struct run *r)
{
	if (!r->failed && (r->pending_len || r->in_body))
		logf_(r, "MORE\n");
}

/* The transcript of in fed whole, byte by byte and split everywhere must be want. */
static void check(const void *in, size_t n, const char *want)
{
	struct run r;
	run_init(&r);
	feed(&r, in, n);
	finish(&r);
	assert_string_equal(r.log, want);
	run_free(&r);

	run_init(&r);
	for (size_t i = 0; i < n; i++)
		feed(&r, (const uint8_t *)in + i, 1);
	finish(&r);
	assert_string_equal(r.log, want);
	run_free(&r);

	/* split at every offset (long inputs: a sample, the limits cases are long) */
	size_t step = n > 2000 ? n / 97 + 1 : 1;
	for (size_t cut = 1; cut < n; cut += step) {
		run_init(&r);
		feed(&r, in, cut);
		feed(&r, (const uint8_t *)in + cut, n - cut);
		finish(&r);
		assert_string_equal(r.log, want);
		run_free(&r);
	}
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want)
#define BAD(lit) {lit, sizeof(lit) - 1}

static void test_simple(void **state)
{
	CHECK("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD GET / v11 [Host=a] body=none\nBODY 0:\n");
	/* RFC 9112 2.2: empty lines before the request line are ignored */
	CHECK("\r\n\r\nGET /x?y=1 HTTP/1.1\r\nHost:  a b \t\r\n\r\n",
	      "HEAD GET /x?y=1 v11 [Host=a b] body=none\nBODY 0:\n");
	/* 9.3: HTTP/1.0 closes unless keep-alive; 1.1 keeps unless close */
	CHECK("GET / HTTP/1.0\r\n\r\n", "HEAD GET / v10 body=none close\nBODY 0:\n");
	CHECK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	      "HEAD GET / v10 [Connection=Keep-Alive] body=none\nBODY 0:\n");
	CHECK("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n",
	      "HEAD GET / v11 [Host=a] [Connection=foo, close] body=none close\nBODY 0:\n");
	/* 2.5: a later minor version is answered as 1.1 */
	CHECK("GET / HTTP/1.7\r\nHost: a\r\n\r\n", "HEAD GET / v11 [Host=a] body=none\nBODY 0:\n");
	CHECK("GET / HTTP/1.1\r\nHost: a\r\n", "MORE\n");
	CHECK("GET / HTTP/1.1\r", "MORE\n");
	/* empty field value */
	CHECK("GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n",
	      "HEAD GET / v11 [Host=a] [X=] body=none\nBODY 0:\n");
}

static void test_pipelined(void **state)
{
	CHECK("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\n"
	      "Content-Length: 5\r\n\r\nhelloGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
	      "HEAD GET /1 v11 [Host=a] body=none\nBODY 0:\n"
	      "HEAD POST /2 v11 [Host=a] [Content-Length=5] body=length:5\nBODY 5:hello\n"
	      "HEAD GET /3 v11 [Host=a] body=none\nBODY 0:\n");
	CHECK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel",
	      "HEAD POST / v11 [Host=a] [Content-Length=5] body=length:5\nMORE\n");
	CHECK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	      "HEAD POST / v11 [Host=a] [Content-Length=0] body=none\nBODY 0:\n");
}

static void test_chunked(void **state)
{
	/* RFC 9112 7.1: sizes in hex, extensions skipped, trailer fields discarded */
	CHECK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	      "5\r\nhello\r\nA;name=\"v;x\" ; n2\r\n0123456789\r\n0\r\nT: 1\r\n\r\n"
	      "GET / HTTP/1.1\r\nHost: b\r\n\r\n",
	      "HEAD POST / v11 [Host=a] [Transfer-Encoding=chunked] body=chunked\n"
	      "BODY 15:hello0123456789\nHEAD GET / v11 [Host=b] body=none\nBODY 0:\n");
	CHECK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n000\r\n\r\n",
	      "HEAD POST / v11 [Host=a] [Transfer-Encoding=Chunked] body=chunked\nBODY 0:\n");
	const char *h = "HEAD POST / v11 [Host=a] [Transfer-Encoding=chunked] body=chunked\n";
	char want[512];
	static const char *const bad[] = {
		"0x5\r\nhello\r\n0\r\n\r\n", /* no 0x */
		" 5\r\nhello\r\n0\r\n\r\n",  /* no space before */
		"5 \r\nhello\r\n0\r\n\r\n",  /* nor after without an extension */
		"-5\r\nhello\r\n0\r\n\r\n",
		"+5\r\nhello\r\n0\r\n\r\n",
		"\r\nhello\r\n0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n",     /* bare LF */
		"5\r\nhelloX\r\n0\r\n\r\n",  /* data longer than its size */
		"5\r\nhello\n0\r\n\r\n",
		"1000000000000000\r\n",      /* 16 digits */
		"5;a\x01\r\nhello\r\n0\r\n\r\n",
		"0\r\nT: 1\n\r\n",
		"0\r\n folded\r\n\r\n",
		"0\r\nT : 1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char in[512];
		int n = snprintf(in, sizeof(in),
				 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n%s",
				 bad[i]);
		snprintf(want, sizeof(want), "%sERR 400\n", h);
		check(in, (size_t)n, want);
	}
	/* the route's maximum: 1000 octets at -1/0/+1 across chunks */
	char in[4096], body[1100];
	memset(body, 'x', sizeof(body));
	for (int d = -1; d <= 1; d++) {
		size_t total = (size_t)(BODY_MAX + d);
		int n = snprintf(in, sizeof(in),
				 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "1f4\r\n%.500s\r\n%zx\r\n%.*s\r\n0\r\n\r\n",
				 body, total - 500, (int)(total - 500), body);
		if (d <= 0)
			snprintf(want, sizeof(want), "%sBODY %zu:%.*s\n", h, total, (int)total, body);
		else
			snprintf(want, sizeof(want), "%sERR 413\n", h);
		if (d <= 0) {
			/* the transcript holds the body: compare its start and length only */
			struct run r;
			run_init(&r);
			feed(&r, in, (size_t)n);
			finish(&r);
			char prefix[128];
			snprintf(prefix, sizeof(prefix), "%sBODY %zu:", h, total);
			assert_memory_equal(r.log, prefix, strlen(prefix));
			assert_int_equal(r.body_len, total);
			run_free(&r);
		} else {
			check(in, (size_t)n, want);
		}
	}
	/* a chunk line at the limit: extensions fill it to LIMIT_HTTP_CHUNK_LINE */
	for (int d = -1; d <= 1; d++) {
		size_t line = (size_t)(LIMIT_HTTP_CHUNK_LINE + d); /* with CRLF */
		char ext[LIMIT_HTTP_CHUNK_LINE + 8];
		memset(ext, 'e', line - 4);
		ext[line - 4] = '\0';
		char big[LIMIT_HTTP_CHUNK_LINE + 200];
		int n = snprintf(big, sizeof(big),
				 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				 "1;%s\r\nz\r\n0\r\n\r\n", ext);
		if (d <= 0)
			snprintf(want, sizeof(want), "%sBODY 1:z\n", h);
		else
			snprintf(want, sizeof(want), "%sERR 400\n", h);
		check(big, (size_t)n, want);
	}
}

/* RFC 9112 6.1, 6.3: every framing that two parsers could read differently is 400 */
static void test_smuggling(void **state)
{
	static const struct {
		const char *in;
		size_t n;
	} bad400[] = {
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"),
		BAD("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tTransfer-Encoding: chunked\r\n\r\n"),
		BAD("GET / HTTP/1.1\nHost: a\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
		BAD("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"),
		BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
		BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
		BAD("GET / http/1.1\r\nHost: a\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\n\r\n"),                         /* no Host */
		BAD("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
		BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
		BAD("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"),
		BAD("GET /\xc3\xa4 HTTP/1.1\r\nHost: a\r\n\r\n"),
		BAD("GET / HTTP/1.1\r\n: empty name\r\n\r\n"),
		BAD("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	};
	for (size_t i = 0; i < sizeof(bad400) / sizeof(bad400[0]); i++)
		check(bad400[i].in, bad400[i].n, "ERR 400\n");

	/* a coding before chunked is well framed but not decoded: 501 (6.1) */
	CHECK("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "ERR 501\n");
	CHECK("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "ERR 505\n");
	/* RFC 9110 10.1.1 */
	CHECK("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
	      "HEAD GET / v11 [Host=a] [Expect=100-Continue] [Content-Length=1] body=length:1"
	      " continue\nBODY 1:x\n");
	CHECK("GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", "ERR 417\n");
	CHECK("GET / HTTP/1.0\r\nExpect: tea\r\n\r\n",
	      "HEAD GET / v10 [Expect=tea] body=none close\nBODY 0:\n");
	/* Content-Length past the route's maximum, and at it */
	CHECK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n",
	      "HEAD POST / v11 [Host=a] [Content-Length=1001] body=length:1001\nERR 413\n");
}

/* Request line LIMIT_HTTP_REQUEST_LINE (414), header section LIMIT_HTTP_HEADER_BYTES
 * and LIMIT_HTTP_HEADER_FIELDS (431), each at -1, 0, +1. */
static void test_limits(void **state)
{
	size_t cap = LIMIT_HTTP_HEADER_BYTES + LIMIT_HTTP_REQUEST_LINE + 256;
	char *in = malloc(cap), *want = malloc(cap + 256);
	assert_non_null(in);
	for (int d = -1; d <= 1; d++) {
		/* "GET /aaa HTTP/1.1\r\n" is 16 + path octets long */
		size_t path = (size_t)(LIMIT_HTTP_REQUEST_LINE + d) - 15;
		memset(in, 'a', cap);
		memcpy(in, "GET /", 5);
		int n = snprintf(in + 4 + path, cap, " HTTP/1.1\r\nHost: a\r\n\r\n");
		if (d <= 0)
			snprintf(want, cap + 256, "HEAD GET /%.*s v11 [Host=a] body=none\nBODY 0:\n",
				 (int)(path - 1), in + 5);
		else
			snprintf(want, cap + 256, "ERR 414\n");
		check(in, 4 + path + (size_t)n, want);
	}
	for (int d = -1; d <= 1; d++) {
		/* header section: "Host: a\r\n" (9) + "X: " pad "\r\n" + "\r\n" */
		size_t section = (size_t)(LIMIT_HTTP_HEADER_BYTES + d);
		size_t pad = section - 9 - 5 - 2;
		int n = snprintf(in, cap, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
		memset(in + n, 'v', pad);
		memcpy(in + n + pad, "\r\n\r\n", 4);
		size_t len = (size_t)n + pad + 4;
		if (d <= 0)
			snprintf(want, cap + 256, "HEAD GET / v11 [Host=a] [X=%.*s] body=none\nBODY 0:\n",
				 (int)pad, in + n);
		else
			snprintf(want, cap + 256, "ERR 431\n");
		check(in, len, want);
	}
	for (int d = -1; d <= 1; d++) {
		size_t fields = (size_t)(LIMIT_HTTP_HEADER_FIELDS + d);
		size_t len = (size_t)snprintf(in, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
		size_t wl = (size_t)snprintf(want, cap, "HEAD GET / v11 [Host=a]");
		for (size_t i = 1; i < fields; i++) {
			len += (size_t)snprintf(in + len, cap - len, "F%zu: %zu\r\n", i, i);
			wl += (size_t)snprintf(want + wl, cap - wl, " [F%zu=%zu]", i, i);
		}
		len += (size_t)snprintf(in + len, cap - len, "\r\n");
		if (d <= 0)
			snprintf(want + wl, cap - wl, " body=none\nBODY 0:\n");
		else
			snprintf(want, cap, "ERR 431\n");
		check(in, len, want);
	}
	/* empty lines before the request line count against its bound */
	memset(in, 0, cap);
	for (size_t i = 0; i < LIMIT_HTTP_REQUEST_LINE; i += 2)
		memcpy(in + i, "\r\n", 2);
	check(in, LIMIT_HTTP_REQUEST_LINE, "ERR 414\n");
	free(in);
	free(want);
}

static void test_target(void **state)
{
	struct arena a;
	arena_init(&a, 1 << 16);
	const char *path, *query;
	assert_int_equal(http_target_split(&a, "GET", "/a%20b/c%2Fd?x=%41&y", &path, &query), 0);
	assert_string_equal(path, "/a b/c/d");
	assert_string_equal(query, "x=%41&y");
	assert_int_equal(http_target_split(&a, "GET", "/", &path, &query), 0);
	assert_string_equal(query, "");
	/* RFC 9112 3.2.2: absolute-form */
	assert_int_equal(http_target_split(&a, "GET", "HTTP://host:80/p?q", &path, &query), 0);
	assert_string_equal(path, "/p");
	assert_string_equal(query, "q");
	assert_int_equal(http_target_split(&a, "GET", "https://host?q", &path, &query), 0);
	assert_string_equal(path, "/");
	assert_string_equal(query, "q");
	assert_int_equal(http_target_split(&a, "OPTIONS", "*", &path, &query), 0);
	assert_string_equal(path, "*");
	assert_int_equal(http_target_split(&a, "GET", "*", &path, &query), ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "CONNECT", "host:443", &path, &query),
			 ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "GET", "/a%00b", &path, &query), ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "GET", "/a%zzb", &path, &query), ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "GET", "/a%4", &path, &query), ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "GET", "/a%", &path, &query), ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "GET", "/a#f", &path, &query), ERR_BAD_SYNTAX);
	assert_int_equal(http_target_split(&a, "GET", "a", &path, &query), ERR_BAD_SYNTAX);
	assert_string_equal(http_pct_decode(&a, "a+b%2B%2b", 9, true), "a b++");
	assert_string_equal(http_pct_decode(&a, "a+b", 3, false), "a+b");
	assert_null(http_pct_decode(&a, "%00", 3, true));
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),    cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_chunked),   cmocka_unit_test(test_smuggling),
		cmocka_unit_test(test_limits),    cmocka_unit_test(test_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
