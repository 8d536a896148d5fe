/* test_dkim_parse.c: the pure parts of DKIM (src/outbound/dkim_int.h) with exact bytes:
 * the canonicalizations (RFC 6376 3.4, with the examples of 3.4.5), the tag-list parser
 * (3.2) with its limit at -1/0/+1, the base64 of b=/bh=/p= (2.4), the message splitter
 * and the zone-file TXT reader. Every stream case is fed whole, one byte at a time and
 * split at every offset, and must give the same bytes each time (STYLE 5). */
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
#include "outbound/dkim_int.h"

struct sink {
	char s[8192];
	size_t n;
};

static void sink_put(void *ctx, const uint8_t *p, size_t len)
{
	struct sink *k = ctx;
	assert_true(k->n + len < sizeof(k->s));
	memcpy(k->s + k->n, p, len);
	k->n += len;
	k->s[k->n] = '\0';
}

/* ---- body canonicalization ---- */

/* The body through the canonicalizer in pieces of step bytes (0: whole). */
static void body_run(enum dkim_canon mode, const char *in, size_t len, size_t split, size_t step,
                     struct sink *out)
{
	struct dkim_body_canon c;
	memset(out, 0, sizeof(*out));
	dkim_body_canon_init(&c, mode, sink_put, out);
	if (step) {
		for (size_t i = 0; i < len; i += step)
			dkim_body_canon_feed(&c, (const uint8_t *)in + i,
			                     len - i < step ? len - i : step);
	} else {
		dkim_body_canon_feed(&c, (const uint8_t *)in, split);
		dkim_body_canon_feed(&c, (const uint8_t *)in + split, len - split);
	}
	dkim_body_canon_finish(&c);
}

static void body_case(enum dkim_canon mode, const char *in, const char *want)
{
	size_t len = strlen(in);
	struct sink out;
	for (size_t split = 0; split <= len; split++) {
		body_run(mode, in, len, split, 0, &out);
		if (out.n != strlen(want) || memcmp(out.s, want, out.n) != 0)
			fail_msg("%s body [%s] split %zu: got [%s] want [%s]",
			         mode == DKIM_CANON_SIMPLE ? "simple" : "relaxed", in, split, out.s,
			         want);
	}
	body_run(mode, in, len, 0, 1, &out);
	assert_string_equal(out.s, want);
}

static void test_body_rfc6376_example(void **state)
{
	(void)state;
	/* RFC 6376 3.4.5: the body of the example */
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	body_case(DKIM_CANON_RELAXED, body, " C\r\nD E\r\n");
	body_case(DKIM_CANON_SIMPLE, body, " C \r\nD \t E\r\n");
}

static void test_body_edges(void **state)
{
	(void)state;
	/* empty body: simple is one CRLF (3.4.3), relaxed empty (erratum 1384) */
	body_case(DKIM_CANON_SIMPLE, "", "\r\n");
	body_case(DKIM_CANON_RELAXED, "", "");
	/* only empty lines: the same */
	body_case(DKIM_CANON_SIMPLE, "\r\n\r\n\r\n", "\r\n");
	body_case(DKIM_CANON_RELAXED, "\r\n\r\n", "");
	/* a line of whitespace: empty in relaxed, content in simple */
	body_case(DKIM_CANON_RELAXED, "  \t \r\n", "");
	body_case(DKIM_CANON_SIMPLE, "  \t \r\n", "  \t \r\n");
	/* no final line end: one is added */
	body_case(DKIM_CANON_SIMPLE, "abc", "abc\r\n");
	body_case(DKIM_CANON_RELAXED, "abc  ", "abc\r\n");
	body_case(DKIM_CANON_RELAXED, "a\r\n\r\nb", "a\r\n\r\nb\r\n");
	/* empty lines inside are kept, only the trailing ones go */
	body_case(DKIM_CANON_SIMPLE, "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n");
	/* whitespace at a line start is reduced, not removed (3.4.4 a) */
	body_case(DKIM_CANON_RELAXED, "\t\t x\r\n", " x\r\n");
	/* bare LF ends a line like CRLF; a bare CR is content */
	body_case(DKIM_CANON_SIMPLE, "a\nb\n\n", "a\r\nb\r\n");
	body_case(DKIM_CANON_RELAXED, "a\rb \r\n", "a\rb\r\n");
	body_case(DKIM_CANON_SIMPLE, "a\r", "a\r\r\n");
	/* 8-bit bytes and NUL pass through */
	body_case(DKIM_CANON_RELAXED, "\xc3\xa4 \xff\r\n", "\xc3\xa4 \xff\r\n");
	/* a dot-stuffed line is the sender's business: bytes as given */
	body_case(DKIM_CANON_SIMPLE, "..x\r\n", "..x\r\n");
}

static void test_body_long_line(void **state)
{
	(void)state;
	/* a line much longer than the output buffer, with whitespace runs across it */
	static char in[3000], want[3000];
	size_t n = 0, w = 0;
	for (int i = 0; i < 500; i++) {
		memcpy(in + n, "ab   ", 5);
		n += 5;
		memcpy(want + w, "ab ", 3);
		w += 3;
	}
	memcpy(in + n, "\r\n", 3);
	want[w - 1] = '\r'; /* trailing SP removed */
	memcpy(want + w, "\n", 2);
	struct sink out;
	body_run(DKIM_CANON_RELAXED, in, strlen(in), 1234, 0, &out);
	assert_string_equal(out.s, want);
}

/* ---- header canonicalization ---- */

static void header_case(enum dkim_canon mode, const char *in, bool crlf, const char *want)
{
	struct sink out = {0};
	dkim_header_canon(mode, (const uint8_t *)in, strlen(in), crlf, sink_put, &out);
	assert_string_equal(out.s, want);
}

static void test_header_rfc6376_example(void **state)
{
	(void)state;
	/* RFC 6376 3.4.5 */
	header_case(DKIM_CANON_RELAXED, "A: X\r\n", true, "a:X\r\n");
	header_case(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  \r\n", true, "b:Y Z\r\n");
	header_case(DKIM_CANON_SIMPLE, "A: X\r\n", true, "A: X\r\n");
	header_case(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n", true, "B : Y\t\r\n\tZ  \r\n");
}

static void test_header_edges(void **state)
{
	(void)state;
	/* the signature field itself: no final CRLF (3.7) */
	header_case(DKIM_CANON_RELAXED, "DKIM-Signature: v=1; b=\r\n", false,
	            "dkim-signature:v=1; b=");
	/* LF line ends as CRLF in simple; unfolded in relaxed */
	header_case(DKIM_CANON_SIMPLE, "Subject: a\n b\n", true, "Subject: a\r\n b\r\n");
	header_case(DKIM_CANON_RELAXED, "Subject: a\n b\n", true, "subject:a b\r\n");
	/* empty value, only whitespace */
	header_case(DKIM_CANON_RELAXED, "X-Empty:   \r\n", true, "x-empty:\r\n");
	header_case(DKIM_CANON_RELAXED, "X-Empty:\r\n", true, "x-empty:\r\n");
	/* a colon in the value stays; 8-bit stays */
	header_case(DKIM_CANON_RELAXED, "Subject: a:b \xc3\xa4\r\n", true,
	            "subject:a:b \xc3\xa4\r\n");
	/* a field without ':' (fuzz_dkim_canon found it folded): all name, unfolded */
	header_case(DKIM_CANON_RELAXED, "NoColon x\r\n\tz\r\n", true, "nocolon x\tz\r\n");
	/* no final line end at all */
	header_case(DKIM_CANON_RELAXED, "To: x", true, "to:x\r\n");
}

/* ---- tag lists ---- */

static void tags_ok(const char *in, const char *want)
{
	struct dkim_tags t;
	char got[1024] = "";
	size_t n = 0;
	assert_int_equal(dkim_tags_parse((const uint8_t *)in, strlen(in), &t), 0);
	for (size_t i = 0; i < t.n; i++) {
		int k = snprintf(got + n, sizeof(got) - n, "%.*s=[%.*s]", (int)t.tag[i].name_len,
		                 (const char *)t.tag[i].name, (int)t.tag[i].value_len,
		                 (const char *)t.tag[i].value);
		assert_true(k > 0 && (size_t)k < sizeof(got) - n);
		n += (size_t)k;
	}
	assert_string_equal(got, want);
}

static void tags_bad(const char *in, int want)
{
	struct dkim_tags t;
	assert_int_equal(dkim_tags_parse((const uint8_t *)in, strlen(in), &t), want);
}

static void test_tags(void **state)
{
	(void)state;
	tags_ok("v=1; a=rsa-sha256", "v=[1]a=[rsa-sha256]");
	tags_ok("v=1;", "v=[1]");
	tags_ok("v=1; \r\n ", "v=[1]");
	tags_ok(" v = 1 ;\r\n\ta=b", "v=[1]a=[b]");
	tags_ok("p=", "p=[]");
	tags_ok("p= ; k=rsa", "p=[]k=[rsa]");
	tags_ok("b=abc\r\n def ghi; x_1=2", "b=[abc\r\n def ghi]x_1=[2]");
	tags_ok("h=from : to", "h=[from : to]");
	tags_ok("n=\xc3\xa4", "n=[\xc3\xa4]");
	tags_bad("", ERR_BAD_SYNTAX);
	tags_bad(";", ERR_BAD_SYNTAX);
	tags_bad("v=1;;a=2", ERR_BAD_SYNTAX);
	tags_bad("v=1; v=2", ERR_BAD_SYNTAX); /* duplicate: permanent error (3.2) */
	tags_bad("1v=1", ERR_BAD_SYNTAX);     /* a name starts with ALPHA */
	tags_bad("v", ERR_BAD_SYNTAX);
	tags_bad("v 1=2", ERR_BAD_SYNTAX);
	tags_bad("v=1\r\na=2", ERR_BAD_SYNTAX); /* a line end that is not a fold */
	tags_bad("v=1\r\n", ERR_BAD_SYNTAX);
	tags_bad("v=a\x01"
	         "b",
	         ERR_BAD_SYNTAX);
	tags_bad("v=a b\x7f", ERR_BAD_SYNTAX);
}

static void test_tags_limit(void **state)
{
	(void)state;
	char in[LIMIT_DKIM_TAGS * 8 + 16];
	for (int count = LIMIT_DKIM_TAGS - 1; count <= LIMIT_DKIM_TAGS + 1; count++) {
		size_t n = 0;
		for (int i = 0; i < count; i++)
			n += (size_t)snprintf(in + n, sizeof(in) - n, "t%d=%d;", i, i);
		struct dkim_tags t;
		int rc = dkim_tags_parse((const uint8_t *)in, n, &t);
		assert_int_equal(rc, count <= LIMIT_DKIM_TAGS ? 0 : ERR_TOO_BIG);
		if (rc == 0)
			assert_int_equal(t.n, (size_t)count);
	}
}

/* ---- base64 ---- */

static void test_base64(void **state)
{
	(void)state;
	uint8_t out[16];
	assert_int_equal(dkim_base64_decode((const uint8_t *)"", 0, out, sizeof(out)), 0);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zm9v", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "foo", 3);
	const char *f = "Zm9v\r\n YmE=";
	assert_int_equal(dkim_base64_decode((const uint8_t *)f, strlen(f), out, sizeof(out)), 5);
	assert_memory_equal(out, "fooba", 5);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zg==", 4, out, sizeof(out)), 1);
	/* bad: a stray character, data after '=', a lone char, nonzero pad bits, cap */
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zm9!", 4, out, 16), ERR_BAD_SYNTAX);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zg==Zg==", 8, out, 16),
	                 ERR_BAD_SYNTAX);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zm9vY", 5, out, 16), ERR_BAD_SYNTAX);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zh==", 4, out, 16), ERR_BAD_SYNTAX);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zm9vYmFy", 8, out, 5), ERR_TOO_BIG);
	assert_int_equal(dkim_base64_decode((const uint8_t *)"Zm9vYmFy", 8, out, 6), 6);
}

/* ---- the message splitter ---- */

static void split_body(void *ctx, const uint8_t *p, size_t len)
{
	sink_put(ctx, p, len);
}

/* Split in pieces (split offset, or step bytes); describe fields and body. */
static void split_run(const char *in, size_t split, size_t step, char *desc, size_t cap)
{
	struct dkim_msg *m = malloc(sizeof(*m));
	struct sink body = {0};
	size_t len = strlen(in);
	assert_non_null(m);
	dkim_msg_init(m, split_body, &body);
	if (step) {
		for (size_t i = 0; i < len; i += step)
			assert_true(dkim_msg_feed(m, (const uint8_t *)in + i,
			                          len - i < step ? len - i : step) >= 0);
	} else {
		assert_true(dkim_msg_feed(m, (const uint8_t *)in, split) >= 0);
		assert_true(dkim_msg_feed(m, (const uint8_t *)in + split, len - split) >= 0);
	}
	assert_int_equal(dkim_msg_finish(m), 0);
	size_t n = 0;
	for (size_t i = 0; i < m->nfields; i++) {
		int k = snprintf(desc + n, cap - n, "<%.*s|%zu>", (int)m->field[i].len,
		                 (const char *)m->hdr + m->field[i].off, m->field[i].name_len);
		assert_true(k > 0 && (size_t)k < cap - n);
		n += (size_t)k;
	}
	int k = snprintf(desc + n, cap - n, "body<%s>", body.s);
	assert_true(k > 0 && (size_t)k < cap - n);
	dkim_msg_free(m);
	free(m);
}

static void split_case(const char *in, const char *want)
{
	char got[4096];
	for (size_t split = 0; split <= strlen(in); split++) {
		split_run(in, split, 0, got, sizeof(got));
		if (strcmp(got, want) != 0)
			fail_msg("[%s] split %zu: got %s want %s", in, split, got, want);
	}
	split_run(in, 0, 1, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_split(void **state)
{
	(void)state;
	split_case("A: 1\r\nB : 2\r\n x\r\n\r\nbody\r\n",
	           "<A: 1\r\n|1><B : 2\r\n x\r\n|1>body<body\r\n>");
	split_case("A: 1\n\nbody", "<A: 1\n|1>body<body>");
	split_case("\r\nbody", "body<body>");
	split_case("A: 1\r\n", "<A: 1\r\n|1>body<>"); /* no empty line: all header */
	split_case("A: 1\r\n\r\n", "<A: 1\r\n|1>body<>");
	split_case("A: \r1\r\n\r\n", "<A: \r1\r\n|1>body<>");   /* bare CR in a field */
	split_case("\rA: 1\r\n\r\nb", "<\rA: 1\r\n|2>body<b>"); /* a CR starting a line */
	split_case("NoColon\r\n\r\n", "<NoColon\r\n|9>body<>");
}

static void test_split_limits(void **state)
{
	(void)state;
	/* LIMIT_HEADER_FIELDS fields fit; one more does not */
	for (int extra = -1; extra <= 1; extra++) {
		struct dkim_msg *m = malloc(sizeof(*m));
		struct sink body = {0};
		assert_non_null(m);
		dkim_msg_init(m, split_body, &body);
		int count = LIMIT_HEADER_FIELDS + extra, rc = 0;
		for (int i = 0; i < count && rc >= 0; i++)
			rc = dkim_msg_feed(m, (const uint8_t *)"X: y\r\n", 6);
		if (rc >= 0)
			rc = dkim_msg_feed(m, (const uint8_t *)"\r\n", 2);
		assert_int_equal(rc, extra <= 0 ? 1 : ERR_TOO_BIG);
		dkim_msg_free(m);
		free(m);
	}
	/* LIMIT_DKIM_HEADER bytes of header fit (the empty line is not counted) */
	for (int extra = -1; extra <= 1; extra++) {
		struct dkim_msg *m = malloc(sizeof(*m));
		size_t len = LIMIT_DKIM_HEADER + (size_t)(long)extra;
		char *h = malloc(len + 2);
		assert_non_null(m);
		assert_non_null(h);
		memset(h, 'x', len);
		memcpy(h, "X: ", 3);
		memcpy(h + len - 2, "\r\n\r\n", 4);
		dkim_msg_init(m, split_body, NULL);
		int rc = dkim_msg_feed(m, (const uint8_t *)h, len + 2);
		assert_int_equal(rc, extra <= 0 ? 1 : ERR_TOO_BIG);
		dkim_msg_free(m);
		free(m);
		free(h);
	}
}

/* ---- zone-file TXT ---- */

static void test_zone(void **state)
{
	(void)state;
	const char *z =
	    "; comment\n"
	    "example.org. 3600 IN MX 10 mail.example.org.\n"
	    "\n"
	    "sel._domainkey.example.org. 3600 IN TXT \"v=DKIM1; k=rsa; \" \"p=AB\" ; c\n"
	    "b._domainkey.example.org IN 60 TXT ( \"a\\\"b\\\\c\"\n"
	    "   \"\\065\" unq )\n"
	    "  indented.example.org. TXT \"x\"\n";
	char out[128];
	size_t n;
	assert_int_equal(dkim_zone_txt((const uint8_t *)z, strlen(z), "sel._domainkey.example.org",
	                               out, sizeof(out), &n),
	                 0);
	assert_string_equal(out, "v=DKIM1; k=rsa; p=AB");
	assert_int_equal(n, 20);
	assert_int_equal(dkim_zone_txt((const uint8_t *)z, strlen(z), "B._DOMAINKEY.example.org",
	                               out, sizeof(out), &n),
	                 0);
	assert_string_equal(out, "a\"b\\cAunq");
	assert_int_equal(
	    dkim_zone_txt((const uint8_t *)z, strlen(z), "example.org", out, sizeof(out), &n),
	    ERR_NOTFOUND);
	assert_int_equal(dkim_zone_txt((const uint8_t *)z, strlen(z), "indented.example.org", out,
	                               sizeof(out), &n),
	                 ERR_NOTFOUND);
	assert_int_equal(
	    dkim_zone_txt((const uint8_t *)z, strlen(z), "sel._domainkey.example.org", out, 20, &n),
	    ERR_TOO_BIG);
	const char *bad = "x TXT \"open\n";
	assert_int_equal(
	    dkim_zone_txt((const uint8_t *)bad, strlen(bad), "x", out, sizeof(out), &n),
	    ERR_BAD_SYNTAX);
	const char *paren = "x TXT ( \"a\"\n";
	assert_int_equal(
	    dkim_zone_txt((const uint8_t *)paren, strlen(paren), "x", out, sizeof(out), &n),
	    ERR_BAD_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_rfc6376_example),
	    cmocka_unit_test(test_body_edges),
	    cmocka_unit_test(test_body_long_line),
	    cmocka_unit_test(test_header_rfc6376_example),
	    cmocka_unit_test(test_header_edges),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_tags_limit),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_split_limits),
	    cmocka_unit_test(test_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
