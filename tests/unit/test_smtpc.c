/* test_smtpc.c: the SMTP client's pure layer (outbound/smtpc_parse.c, smtpc_fmt.c):
 * replies (RFC 5321 4.2: multiline, codes; RFC 3463 enhanced status; RFC 5321 4.5.3.1.5
 * line length), EHLO keywords (RFC 5321 4.1.1.1 and the extension RFCs), xtext (RFC
 * 3461 4) and the MAIL/RCPT formatter, byte-exact. Every reply is fed whole, one byte at
 * a time and split at every offset, from exact-size heap copies (ASan sees a read past
 * len); the line and line-count limits at -1, 0 and +1. */
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
#include "outbound/smtpc.h"

/* One parse of s[0..len) in pieces: whole (step 0), or step bytes at a time, or split
 * at split (two pieces). Returns the parser's result; *used_total the bytes it took. */
static int feed(const char *s, size_t len, size_t step, size_t split, struct smtpc_reply *r,
                struct smtpc_ext *ext, size_t *used_total)
{
	uint8_t *p = malloc(len ? len : 1);
	struct smtpc_reply_parser *rp = calloc(1, sizeof(*rp));
	size_t off = 0;
	int rc = 0;

	assert_non_null(p);
	assert_non_null(rp);
	memcpy(p, s, len);
	smtpc_reply_parser_init(rp, r, ext);
	while (off < len) {
		size_t n = len - off;
		if (step)
			n = step < n ? step : n;
		else if (split && off < split)
			n = split - off;
		/* each piece in its own exact-size copy */
		uint8_t *piece = malloc(n);
		assert_non_null(piece);
		memcpy(piece, p + off, n);
		size_t used = 0;
		rc = smtpc_reply_parse(rp, piece, n, &used);
		free(piece);
		assert_true(used <= n);
		off += used;
		if (rc != 0)
			break;
		assert_int_equal(used, n);
	}
	*used_total = off;
	free(rp);
	free(p);
	return rc;
}

/* The reply s must give rc (and, for 1, code and line) the same way in every split. */
static void check(const char *s, int want_rc, int code, const char *line)
{
	size_t len = strlen(s);
	struct smtpc_reply whole, r;
	size_t used_whole = 0, used = 0;

	int rc = feed(s, len, 0, 0, &whole, NULL, &used_whole);
	assert_int_equal(rc, want_rc);
	if (want_rc == 1) {
		assert_int_equal(whole.code, code);
		assert_string_equal(whole.line, line);
	}
	for (size_t step = 1; step <= 3; step++) {
		assert_int_equal(feed(s, len, step, 0, &r, NULL, &used), want_rc);
		assert_int_equal(used, used_whole);
		if (want_rc == 1)
			assert_memory_equal(&r, &whole, sizeof(r));
	}
	for (size_t split = 1; split < len; split++) {
		assert_int_equal(feed(s, len, 0, split, &r, NULL, &used), want_rc);
		assert_int_equal(used, used_whole);
		if (want_rc == 1)
			assert_memory_equal(&r, &whole, sizeof(r));
	}
}

static void test_reply_single(void **state)
{
	check("220 mx.example ESMTP ready\r\n", 1, 220, "220 mx.example ESMTP ready");
	check("250 OK\r\n", 1, 250, "250 OK");
	check("250\r\n", 1, 250, "250"); /* RFC 5321 4.2: the text may be absent */
	check("250 \r\n", 1, 250, "250");
	check("354 go ahead\n", 1, 354, "354 go ahead"); /* a bare LF ends a line too */
	check("550 5.1.1 <x@y>: no such user\r\n", 1, 550, "550 5.1.1 <x@y>: no such user");
	check("250 2.0.0\r\n", 1, 250, "250 2.0.0");
	/* the class must be the code's first digit: else it is text */
	check("550 2.1.1 odd\r\n", 1, 550, "550 2.1.1 odd");
	check("451 4.3.0\ttab\r\n", 1, 451, "451 4.3.0\ttab");
	/* control bytes become '?', 8-bit bytes stay */
	check("550 a\rb\x01 \xc3\xa4\r\n", 1, 550, "550 a?b? \xc3\xa4");
	/* nothing more than a line: need more */
	check("250 OK", 0, 0, "");
	check("", 0, 0, "");
}

static void test_reply_status(void **state)
{
	struct smtpc_reply r;
	size_t used;
	assert_int_equal(feed("550 5.7.1 no\r\n", 14, 0, 0, &r, NULL, &used), 1);
	assert_string_equal(r.status, "5.7.1");
	assert_int_equal(feed("550 5.123.456 x\r\n", 17, 0, 0, &r, NULL, &used), 1);
	assert_string_equal(r.status, "5.123.456");
	const char *none[] = {"550 5.1234.1 x\r\n", "550 5.1.1x\r\n", "550 5..1 x\r\n",
	                      "550 4.1.1 x\r\n",    "550 5.1. x\r\n", "550 x 5.1.1\r\n"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_int_equal(feed(none[i], strlen(none[i]), 0, 0, &r, NULL, &used), 1);
		assert_string_equal(r.status, "");
	}
	assert_false(r.synthesized);
}

static void test_reply_multi(void **state)
{
	check("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", 1, 250,
	      "250 mx.example PIPELINING SIZE 1000");
	/* a status repeated on every line is kept once; a different one stays */
	check("550-5.1.1 first\r\n550-5.1.1 second\r\n550 5.1.2 third\r\n", 1, 550,
	      "550 5.1.1 first second 5.1.2 third");
	check("250-\r\n250 done\r\n", 1, 250, "250 done");
	/* every line of a reply carries its code */
	check("250-a\r\n251 b\r\n", ERR_BAD_SYNTAX, 0, "");
	/* what follows the last line is the next reply's: used stops there */
	struct smtpc_reply r;
	size_t used;
	const char *two = "250 a\r\n354 b\r\n";
	assert_int_equal(feed(two, strlen(two), 0, 0, &r, NULL, &used), 1);
	assert_int_equal(used, 7);
}

static void test_reply_malformed(void **state)
{
	const char *bad[] = {"25\r\n",    "2500 x\r\n", "abc x\r\n",       "150 x\r\n",
	                     "650 x\r\n", "260 x\r\n",  "25x x\r\n",       "\r\n",
	                     "250_x\r\n", " 250 x\r\n", "250-x\r\n2 y\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(bad[i], ERR_BAD_SYNTAX, 0, "");
}

/* A line of total bytes with its CRLF (or LF only). */
static char *long_line(size_t total, bool crlf)
{
	char *s = malloc(total + 1);
	assert_non_null(s);
	memcpy(s, "250 ", 4);
	memset(s + 4, 'a', total - 4);
	if (crlf)
		s[total - 2] = '\r';
	s[total - 1] = '\n';
	s[total] = '\0';
	return s;
}

static void test_reply_line_limit(void **state)
{
	struct smtpc_reply r;
	size_t used;
	for (int d = -1; d <= 1; d++) {
		size_t total = LIMIT_SMTPC_REPLY_LINE + (size_t)(ssize_t)d;
		for (int crlf = 0; crlf <= 1; crlf++) {
			char *s = long_line(total - (crlf ? 0 : 1), crlf);
			size_t len = strlen(s);
			int want = d <= 0 ? 1 : ERR_TOO_LONG;
			assert_int_equal(feed(s, len, 0, 0, &r, NULL, &used), want);
			assert_int_equal(feed(s, len, 1, 0, &r, NULL, &used), want);
			if (want == 1) {
				/* the kept text is cut and marked, never overflowing */
				assert_true(r.cut);
				assert_true(strlen(r.line) < sizeof(r.line));
				assert_string_equal(r.line + strlen(r.line) - 3, "...");
			}
			free(s);
		}
	}
}

/* A reply of n lines "250-x" ... "250 x". */
static char *many_lines(size_t n)
{
	char *s = malloc(n * 7 + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * 7, i + 1 < n ? "250-x\r\n" : "250 x\r\n", 7);
	s[n * 7] = '\0';
	return s;
}

static void test_reply_lines_limit(void **state)
{
	struct smtpc_reply r;
	size_t used;
	for (int d = -1; d <= 1; d++) {
		char *s = many_lines(LIMIT_SMTPC_REPLY_LINES + (size_t)(ssize_t)d);
		int want = d <= 0 ? 1 : ERR_TOO_LONG;
		assert_int_equal(feed(s, strlen(s), 0, 0, &r, NULL, &used), want);
		assert_int_equal(feed(s, strlen(s), 1, 0, &r, NULL, &used), want);
		free(s);
	}
}

static void test_reply_text_cut_utf8(void **state)
{
	/* "ä" (2 bytes) repeated over the kept length: the cut never splits one */
	size_t n = LIMIT_SMTPC_REPLY_TEXT / 2 + 10; /* over the kept text, within a line */
	char *s = malloc(4 + 2 * n + 3);
	assert_non_null(s);
	memcpy(s, "550 ", 4);
	for (size_t i = 0; i < n; i++)
		memcpy(s + 4 + 2 * i, "\xc3\xa4", 2);
	memcpy(s + 4 + 2 * n, "\r\n", 3);
	for (int shift = 0; shift <= 1; shift++) {
		struct smtpc_reply r;
		size_t used;
		/* shift the text by one byte so the cut falls on both halves */
		char *t = shift ? malloc(strlen(s) + 2) : s;
		if (shift) {
			assert_non_null(t);
			memcpy(t, "550 x", 5);
			memcpy(t + 5, s + 4, strlen(s) - 4 + 1);
		}
		assert_int_equal(feed(t, strlen(t), 0, 0, &r, NULL, &used), 1);
		assert_true(r.cut);
		size_t l = strlen(r.line);
		assert_string_equal(r.line + l - 3, "...");
		/* before the mark: as many whole characters as fit, and no half one */
		size_t start = 4 + (size_t)shift, room = LIMIT_SMTPC_REPLY_TEXT - 4;
		assert_int_equal(l, start + (room - start) / 2 * 2 + 3);
		assert_int_equal((uint8_t)r.line[l - 4], 0xa4);
		if (shift)
			free(t);
	}
	free(s);
}

static void test_ehlo(void **state)
{
	const char *s = "250-mx.example greets you\r\n"
	                "250-PIPELINING\r\n"
	                "250-SIZE 52428800\r\n"
	                "250-8bitmime\r\n"
	                "250-SMTPUTF8\r\n"
	                "250-CHUNKING\r\n"
	                "250-BINARYMIME\r\n"
	                "250-DSN\r\n"
	                "250-STARTTLS\r\n"
	                "250-AUTH LOGIN PLAIN CRAM-MD5\r\n"
	                "250-REQUIRETLS\r\n"
	                "250-X-UNKNOWN 1 2\r\n"
	                "250 ENHANCEDSTATUSCODES\r\n";
	struct smtpc_reply r;
	struct smtpc_ext ext;
	size_t used;
	for (size_t step = 0; step <= 1; step++) {
		assert_int_equal(feed(s, strlen(s), step, 0, &r, &ext, &used), 1);
		assert_int_equal(
		    ext.flags, SMTPC_EXT_PIPELINING | SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME |
		                   SMTPC_EXT_SMTPUTF8 | SMTPC_EXT_CHUNKING | SMTPC_EXT_BINARYMIME |
		                   SMTPC_EXT_DSN | SMTPC_EXT_STARTTLS | SMTPC_EXT_AUTH |
		                   SMTPC_EXT_REQUIRETLS | SMTPC_EXT_ENHANCEDSTATUSCODES);
		assert_true(ext.size == 52428800);
		assert_int_equal(ext.auth, SMTPC_AUTH_PLAIN | SMTPC_AUTH_LOGIN);
	}
	/* the greeting line is not a keyword; SIZE without a usable value has no limit */
	const char *t = "250-STARTTLS\r\n250-SIZE\r\n250-AUTH=LOGIN\r\n250 PIPELININGX\r\n";
	assert_int_equal(feed(t, strlen(t), 0, 0, &r, &ext, &used), 1);
	assert_int_equal(ext.flags, SMTPC_EXT_SIZE | SMTPC_EXT_AUTH);
	assert_true(ext.size == 0);
	assert_int_equal(ext.auth, SMTPC_AUTH_LOGIN);
	struct smtpc_ext e2 = {0};
	smtpc_ehlo_keyword(&e2, "SIZE 99999999999999999999999", 28);
	assert_int_equal(e2.flags, SMTPC_EXT_SIZE);
	assert_true(e2.size == 0);
	smtpc_ehlo_keyword(&e2, "SIZE 18446744073709551615", 25);
	assert_true(e2.size == UINT64_MAX);
	smtpc_ehlo_keyword(&e2, "SIZE 12x", 8);
	assert_true(e2.size == 0);
}

static void test_reply_set(void **state)
{
	struct smtpc_reply r;
	smtpc_reply_set(&r, 552, "5.3.4", "too big");
	assert_string_equal(r.line, "552 5.3.4 too big");
	assert_string_equal(r.status, "5.3.4");
	assert_true(r.synthesized);
	smtpc_reply_set(&r, 451, NULL, "later");
	assert_string_equal(r.line, "451 later");
}

static void test_xtext(void **state)
{
	char out[32];
	assert_int_equal(smtpc_xtext("a+b=c d\xc3\xa4", out, sizeof(out)), 0);
	assert_string_equal(out, "a+2Bb+3Dc+20d+C3+A4");
	assert_int_equal(smtpc_xtext("!~", out, sizeof(out)), 0);
	assert_string_equal(out, "!~");
	assert_int_equal(smtpc_xtext("\r\n", out, sizeof(out)), 0);
	assert_string_equal(out, "+0D+0A");
	/* the output bound: 3 bytes and a NUL need 4 */
	assert_int_equal(smtpc_xtext("+", out, 4), 0);
	assert_int_equal(smtpc_xtext("+", out, 3), ERR_TOO_LONG);
	assert_int_equal(smtpc_xtext("abc", out, 4), 0);
	assert_int_equal(smtpc_xtext("abcd", out, 4), ERR_TOO_LONG);
}

static const struct smtpc_ext all_ext = {
    .flags = SMTPC_EXT_PIPELINING | SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME | SMTPC_EXT_SMTPUTF8 |
             SMTPC_EXT_CHUNKING | SMTPC_EXT_BINARYMIME | SMTPC_EXT_DSN | SMTPC_EXT_REQUIRETLS,
    .size = 1000,
};

static void test_format_mail(void **state)
{
	char out[LIMIT_SMTPC_COMMAND];
	size_t len;
	struct smtpc_msg m = {.sender = "a@b.example", .size = 100, .prefix_len = 20};
	struct smtpc_ext none = {0};

	assert_int_equal(smtpc_format_mail(&none, &m, out, sizeof(out), &len), 0);
	assert_string_equal(out, "MAIL FROM:<a@b.example>\r\n");
	assert_int_equal(len, strlen(out));
	m.body = SMTPC_BODY_8BITMIME;
	m.smtputf8 = true;
	m.ret = SMTPC_RET_HDRS;
	m.envid = "id+1=x";
	m.requiretls = true;
	assert_int_equal(smtpc_format_mail(&all_ext, &m, out, sizeof(out), &len), 0);
	assert_string_equal(out, "MAIL FROM:<a@b.example> SIZE=120 BODY=8BITMIME SMTPUTF8 "
	                         "RET=HDRS ENVID=id+2B1+3Dx REQUIRETLS\r\n");
	/* without DSN offered: no RET/ENVID */
	struct smtpc_ext nodsn = all_ext;
	nodsn.flags &= ~(unsigned)SMTPC_EXT_DSN;
	m.body = SMTPC_BODY_BINARYMIME;
	m.ret = SMTPC_RET_FULL;
	assert_int_equal(smtpc_format_mail(&nodsn, &m, out, sizeof(out), &len), 0);
	assert_string_equal(out, "MAIL FROM:<a@b.example> SIZE=120 BODY=BINARYMIME SMTPUTF8 "
	                         "REQUIRETLS\r\n");
	/* the null sender */
	struct smtpc_msg null = {.sender = ""};
	assert_int_equal(smtpc_format_mail(&none, &null, out, sizeof(out), &len), 0);
	assert_string_equal(out, "MAIL FROM:<>\r\n");
	/* a sender that would end the line or the path */
	const char *bad[] = {"a@b\r\nRCPT TO:<c@d>", "a>@b", "<a@b", "a\x7f", "a\tb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct smtpc_msg b = {.sender = bad[i]};
		assert_int_equal(smtpc_format_mail(&none, &b, out, sizeof(out), &len), ERR_INVAL);
	}
	/* the output bound at -1/0/+1 */
	assert_int_equal(smtpc_format_mail(&none, &null, out, 15, &len), 0);
	assert_int_equal(smtpc_format_mail(&none, &null, out, 14, &len), ERR_TOO_LONG);
	assert_int_equal(smtpc_format_mail(&none, &null, out, 16, &len), 0);
}

static void test_format_rcpt(void **state)
{
	char out[LIMIT_SMTPC_COMMAND];
	size_t len;
	struct smtpc_rcpt r = {.address = "x@y.example"};
	assert_int_equal(smtpc_format_rcpt(&all_ext, &r, out, sizeof(out), &len), 0);
	assert_string_equal(out, "RCPT TO:<x@y.example>\r\n");
	r.notify = SMTPC_NOTIFY_DELAY | SMTPC_NOTIFY_SUCCESS | SMTPC_NOTIFY_FAILURE;
	r.orcpt = "rfc822;X+1@Y.example";
	assert_int_equal(smtpc_format_rcpt(&all_ext, &r, out, sizeof(out), &len), 0);
	assert_string_equal(out, "RCPT TO:<x@y.example> NOTIFY=SUCCESS,FAILURE,DELAY "
	                         "ORCPT=rfc822;X+2B1@Y.example\r\n");
	r.notify = SMTPC_NOTIFY_NEVER;
	r.orcpt = "utf-8;\xc3\xa4@y";
	assert_int_equal(smtpc_format_rcpt(&all_ext, &r, out, sizeof(out), &len), 0);
	assert_string_equal(out, "RCPT TO:<x@y.example> NOTIFY=NEVER ORCPT=utf-8;+C3+A4@y\r\n");
	/* not offered: neither */
	struct smtpc_ext none = {0};
	assert_int_equal(smtpc_format_rcpt(&none, &r, out, sizeof(out), &len), 0);
	assert_string_equal(out, "RCPT TO:<x@y.example>\r\n");
	/* a malformed ORCPT type */
	const char *bad[] = {"x@y", ";x@y", "rfc 822;x@y", "rfc822\r;x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.orcpt = bad[i];
		assert_int_equal(smtpc_format_rcpt(&all_ext, &r, out, sizeof(out), &len),
		                 ERR_INVAL);
	}
	r.orcpt = NULL;
	r.address = "x@y\nDATA";
	assert_int_equal(smtpc_format_rcpt(&none, &r, out, sizeof(out), &len), ERR_INVAL);
	/* an ORCPT too long for the command line: refused, never cut */
	char big[LIMIT_SMTPC_COMMAND];
	memset(big, '+', sizeof(big) - 1);
	memcpy(big, "rfc822;", 7);
	big[sizeof(big) - 1] = '\0';
	r.address = "x@y";
	r.orcpt = big;
	assert_int_equal(smtpc_format_rcpt(&all_ext, &r, out, sizeof(out), &len), ERR_TOO_LONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reply_single),        cmocka_unit_test(test_reply_status),
	    cmocka_unit_test(test_reply_multi),         cmocka_unit_test(test_reply_malformed),
	    cmocka_unit_test(test_reply_line_limit),    cmocka_unit_test(test_reply_lines_limit),
	    cmocka_unit_test(test_reply_text_cut_utf8), cmocka_unit_test(test_ehlo),
	    cmocka_unit_test(test_reply_set),           cmocka_unit_test(test_xtext),
	    cmocka_unit_test(test_format_mail),         cmocka_unit_test(test_format_rcpt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
