/* test_mtasts_http.c: the response head parser of the MTA-STS policy fetch
 * (outbound/mtasts_http.c; RFC 9112 4-6, RFC 8461 3.3). Each head is fed whole and as
 * every prefix (a prefix must ask for more or fail, never claim a head), from an
 * exact-size heap copy; limits at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/tlspol_int.h"

static int head_n(const char *s, size_t len, struct mtasts_http_head *h)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int r = mtasts_http_head(p, len, h);
	free(p);
	return r;
}

/* The head parses to its length; no prefix shorter than the head claims one. */
static int head(const char *s, struct mtasts_http_head *h)
{
	size_t len = strlen(s);
	int whole = head_n(s, len, h);
	for (size_t cut = 0; whole > 0 && cut < (size_t)whole; cut++) {
		struct mtasts_http_head t;
		int r = head_n(s, cut, &t);
		assert_true(r <= 0);
	}
	return whole;
}

static void test_valid(void **state)
{
	struct mtasts_http_head h;
	const char *a = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n";
	assert_int_equal(head(a, &h), (int)strlen(a));
	assert_int_equal(h.status, 200);
	assert_true(h.text_plain);
	assert_int_equal(h.content_length, 12);
	assert_false(h.transfer_coding);
	/* LF only, parameters, other case, no length, an empty reason */
	const char *b = "HTTP/1.0 200\ncontent-type: Text/Plain ; charset=utf-8\nX-A: b\n\n";
	assert_int_equal(head(b, &h), (int)strlen(b));
	assert_true(h.text_plain);
	assert_int_equal(h.content_length, -1);
	/* body bytes after the head are not part of it */
	const char *c = "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\nversion: STSv1";
	assert_int_equal(head(c, &h), (int)(strlen(c) - strlen("version: STSv1")));
	assert_int_equal(h.status, 404);
	assert_false(h.text_plain);
	/* a transfer coding is reported (the fetch refuses it) */
	const char *d = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(head(d, &h), (int)strlen(d));
	assert_true(h.transfer_coding);
	/* the same length twice is one length */
	const char *e = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n";
	assert_int_equal(head(e, &h), (int)strlen(e));
	assert_int_equal(h.content_length, 5);
	/* text/plainx is not text/plain */
	assert_true(head("HTTP/1.1 200 OK\r\nContent-Type: text/plainx\r\n\r\n", &h) > 0);
	assert_false(h.text_plain);
}

static void test_invalid(void **state)
{
	struct mtasts_http_head h;
	const char *bad[] = {
	    "HTTP/2 200 OK\r\n\r\n",
	    "HTTP/1.2 200 OK\r\n\r\n",
	    "http/1.1 200 OK\r\n\r\n",
	    "HTTP/1.1 20 OK\r\n\r\n",
	    "HTTP/1.1 2000 OK\r\n\r\n",
	    "HTTP/1.1 099 OK\r\n\r\n",
	    "HTTP/1.1 600 OK\r\n\r\n",
	    "HTTP/1.1 200OK\r\n\r\n",
	    "\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\n: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = head_n(bad[i], strlen(bad[i]), &h);
		if (r != ERR_BAD_SYNTAX)
			fail_msg("case %zu: %d", i, r);
	}
	static const char nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
	assert_int_equal(head_n(nul, sizeof(nul) - 1, &h), ERR_BAD_SYNTAX);
}

static void test_limits(void **state)
{
	struct mtasts_http_head h;
	char buf[128];
	/* Content-Length: 64 KiB - 1, exactly, + 1 */
	for (int d = -1; d <= 1; d++) {
		int n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\n\r\n",
		                 (long)LIMIT_TLSPOL_POLICY + d);
		assert_true(n > 0 && (size_t)n < sizeof(buf));
		int r = head_n(buf, (size_t)n, &h);
		assert_int_equal(r, d <= 0 ? n : ERR_TOO_BIG);
	}
	/* the head: LIMIT - 1, exactly, + 1 bytes with its empty line */
	static const char start[] = "HTTP/1.1 200 OK\r\nX: ";
	size_t sl = sizeof(start) - 1;
	char *p = malloc(LIMIT_TLSPOL_HTTP_HEAD + 2);
	assert_non_null(p);
	for (int d = -1; d <= 1; d++) {
		size_t len = (size_t)(LIMIT_TLSPOL_HTTP_HEAD + d);
		memcpy(p, start, sl);
		memset(p + sl, 'y', len - sl - 4);
		memcpy(p + len - 4, "\r\n\r\n", 4);
		int r = head_n(p, len, &h);
		assert_int_equal(r, d <= 0 ? (int)len : ERR_TOO_LONG);
		/* without its end: more is needed below the limit, an error at it */
		memset(p + sl, 'y', len - sl);
		r = head_n(p, len, &h);
		assert_int_equal(r, d < 0 ? 0 : ERR_TOO_LONG);
	}
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
