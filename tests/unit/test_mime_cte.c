/* test_mime_cte.c: the Content-Transfer-Encoding decoder. Every case is decoded whole,
 * then again with the input cut at every offset, fed one byte at a time, and written
 * through output buffers of 1, 2, 3 and 7 bytes: all must give the same bytes, and the
 * counted size (BINARY.SIZE) must match. Bad base64 and bad quoted-printable follow the
 * decisions in mime.h; LIMIT_QP_PENDING_WS is tested at -1/0/+1. */
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
#include "mime/mime.h"

#define OUT_MAX 4096

struct cte_case {
	const char *enc;
	const char *in;
	size_t in_len; /* 0: strlen(in) */
	const char *want;
	size_t want_len; /* 0: strlen(want) */
};

/* Decode in pieces: input cut at the offsets in cuts[0..ncuts) (increasing), output
 * through a buffer of ocap bytes. Returns the decoded length in out. */
static size_t decode_cut(const char *enc, const uint8_t *in, size_t len, const size_t *cuts,
                         size_t ncuts, size_t ocap, uint8_t *out, struct mime_cte_dec *d)
{
	size_t n = 0, from = 0;
	assert_int_equal(mime_cte_init(d, enc, enc ? strlen(enc) : 0), 0);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t to = c < ncuts ? cuts[c] : len;
		const uint8_t *p = in + from;
		size_t left = to - from;
		bool eof = c == ncuts;
		int more;
		do {
			uint8_t buf[16];
			size_t used, w;
			assert_true(ocap <= sizeof(buf));
			more = mime_cte_decode(d, p, left, eof, &used, buf, ocap, &w);
			assert_true(used <= left);
			assert_true(w <= ocap);
			assert_true(more == 0 || w == ocap); /* "more" only with a full buffer */
			assert_true(n + w <= OUT_MAX);
			memcpy(out + n, buf, w);
			n += w;
			p += used;
			left -= used;
		} while (more);
		assert_int_equal(left, 0);
		from = to;
	}
	assert_true(d->finished);
	assert_int_equal(d->total, n);
	return n;
}

static size_t decode_whole(const char *enc, const uint8_t *in, size_t len, uint8_t *out,
                           struct mime_cte_dec *d)
{
	size_t used, w;
	assert_int_equal(mime_cte_init(d, enc, enc ? strlen(enc) : 0), 0);
	assert_int_equal(mime_cte_decode(d, in, len, true, &used, out, OUT_MAX, &w), 0);
	assert_int_equal(used, len);
	assert_true(d->finished);
	/* Later calls write nothing and take whatever they get. */
	size_t used2, w2;
	assert_int_equal(
	    mime_cte_decode(d, (const uint8_t *)"QUJD", 4, true, &used2, out + w, OUT_MAX - w, &w2),
	    0);
	assert_int_equal(w2, 0);
	assert_int_equal(used2, 4);
	return w;
}

/* Whole, every single cut, byte by byte, and small output buffers: all equal. */
static void check_case(const struct cte_case *c)
{
	size_t len = c->in_len ? c->in_len : strlen(c->in);
	size_t want_len = c->want_len ? c->want_len : strlen(c->want);
	const uint8_t *in = (const uint8_t *)c->in;
	static uint8_t whole[OUT_MAX], part[OUT_MAX];
	struct mime_cte_dec d;
	size_t n = decode_whole(c->enc, in, len, whole, &d);
	if (n != want_len || memcmp(whole, c->want, n) != 0)
		fail_msg("enc %s in \"%s\": got %zu bytes \"%.*s\", want \"%s\"",
		         c->enc ? c->enc : "(none)", c->in, n, (int)n, (const char *)whole,
		         c->want);
	bool nul = memchr(whole, 0, n) != NULL;
	assert_int_equal(d.nul, nul);
	uint64_t size;
	bool size_nul;
	assert_int_equal(
	    mime_cte_decoded_size(c->enc, c->enc ? strlen(c->enc) : 0, in, len, &size, &size_nul),
	    0);
	assert_int_equal(size, n);
	assert_int_equal(size_nul, nul);
	static const size_t ocaps[] = {1, 2, 3, 7, 16};
	for (size_t o = 0; o < sizeof(ocaps) / sizeof(ocaps[0]); o++) {
		for (size_t cut = 0; cut <= len; cut++) {
			size_t m = decode_cut(c->enc, in, len, &cut, 1, ocaps[o], part, &d);
			assert_int_equal(m, n);
			assert_memory_equal(part, whole, n);
		}
		size_t cuts[OUT_MAX];
		assert_true(len < OUT_MAX);
		for (size_t i = 0; i < len; i++)
			cuts[i] = i + 1;
		size_t m = decode_cut(c->enc, in, len, cuts, len, ocaps[o], part, &d);
		assert_int_equal(m, n);
		assert_memory_equal(part, whole, n);
		/* Counting in pieces gives the same size. */
		assert_int_equal(mime_cte_init(&d, c->enc, c->enc ? strlen(c->enc) : 0), 0);
		for (size_t i = 0; i < len; i++)
			mime_cte_count(&d, in + i, 1, false);
		mime_cte_count(&d, in + len, 0, true);
		assert_int_equal(d.total, n);
		assert_int_equal(d.nul, nul);
	}
}

static void check_all(const struct cte_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

static void init_encodings(void **state)
{
	struct mime_cte_dec d;
	static const char *const known[] = {"7bit",   "8BIT",   "Binary",
	                                    "BASE64", "base64", "Quoted-Printable"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_int_equal(mime_cte_init(&d, known[i], strlen(known[i])), 0);
	assert_int_equal(mime_cte_init(&d, NULL, 0), 0);
	assert_int_equal(d.kind, MIME_CTE_IDENTITY);
	assert_int_equal(mime_cte_init(&d, "base64", 6), 0);
	assert_int_equal(d.kind, MIME_CTE_BASE64);
	/* Unknown: refused (IMAP: NO [UNKNOWN-CTE]), d passes bytes unchanged. */
	static const char *const unknown[] = {"x-uuencode", "base6", "base64x", "uuencode", ""};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(mime_cte_init(&d, unknown[i], strlen(unknown[i])), ERR_NOTFOUND);
		assert_int_equal(d.kind, MIME_CTE_IDENTITY);
	}
	uint64_t size = 7;
	assert_int_equal(mime_cte_decoded_size("x-uue", 5, (const uint8_t *)"abc", 3, &size, NULL),
	                 ERR_NOTFOUND);
	assert_int_equal(size, 7);
}

static void identity(void **state)
{
	static const struct cte_case cases[] = {
	    {NULL, "plain text\r\nline two\r\n", 0, "plain text\r\nline two\r\n", 0},
	    {"8bit", "caf\xc3\xa9 =3D  \r\n", 0, "caf\xc3\xa9 =3D  \r\n", 0},
	    {"binary", "a\0b", 3, "a\0b", 3},
	    {"7bit", "", 0, "", 0},
	};
	check_all(cases, sizeof(cases) / sizeof(cases[0]));
}

static void base64(void **state)
{
	static const struct cte_case cases[] = {
	    {"base64", "aGVsbG8gd29ybGQ=", 0, "hello world", 0},
	    {"base64", "aGVsbG8gd29ybGQh", 0, "hello world!", 0},
	    /* line breaks and spaces anywhere */
	    {"base64", "aGVs\r\nbG8g\r\n d29y\tbGQ=\r\n", 0, "hello world", 0},
	    /* garbage outside the alphabet is ignored (RFC 2045 6.8) */
	    {"base64", "aG!!Vs*bG8g~d29ybGQ=", 0, "hello world", 0},
	    {"base64", "\x80\xffYQ\x00==", 7, "a", 0},
	    /* missing padding: the partial group is flushed */
	    {"base64", "aGVsbG8", 0, "hello", 0},
	    {"base64", "aGVsbA", 0, "hell", 0},
	    /* a single leftover character holds no byte */
	    {"base64", "aGVsb", 0, "hel", 0},
	    {"base64", "Y", 0, "", 0},
	    /* the first "=" ends the data, whatever follows */
	    {"base64", "YQ==Yg==", 0, "a", 0},
	    {"base64", "YQ=\r\nYg", 0, "a", 0},
	    {"base64", "Y=Q", 0, "", 0},
	    {"base64", "=YWJj", 0, "", 0},
	    {"base64", "YWJj=ZGVm", 0, "abc", 0},
	    {"base64", "", 0, "", 0},
	    {"base64", "\r\n\r\n", 0, "", 0},
	    /* NUL and 8-bit output */
	    {"base64", "AA==", 0, "\0", 1},
	    {"base64", "/+7dzA==", 0, "\xff\xee\xdd\xcc", 0},
	    {"BASE64", "AAECAwQFBgcICQ", 0, "\0\1\2\3\4\5\6\7\x08\x09", 10},
	};
	check_all(cases, sizeof(cases) / sizeof(cases[0]));
}

static void quoted_printable(void **state)
{
	static const struct cte_case cases[] = {
	    {"quoted-printable", "a=3Db", 0, "a=b", 0},
	    {"quoted-printable", "caf=C3=A9", 0, "caf\xc3\xa9", 0},
	    {"quoted-printable", "lower =3d =c3=a9", 0, "lower = \xc3\xa9", 0},
	    /* soft line breaks: CRLF, LF, with trailing whitespace, at the very end */
	    {"quoted-printable", "ab=\r\ncd", 0, "abcd", 0},
	    {"quoted-printable", "ab=\ncd", 0, "abcd", 0},
	    {"quoted-printable", "ab= \t \r\ncd", 0, "abcd", 0},
	    {"quoted-printable", "ab=  \ncd", 0, "abcd", 0},
	    {"quoted-printable", "ab=", 0, "ab", 0},
	    {"quoted-printable", "ab=  ", 0, "ab", 0},
	    /* hard line breaks are kept as they are; trailing whitespace is deleted */
	    {"quoted-printable", "ab  \r\ncd\t\nef", 0, "ab\r\ncd\nef", 0},
	    {"quoted-printable", "ab \t ", 0, "ab", 0},
	    {"quoted-printable", "a b\tc", 0, "a b\tc", 0},
	    {"quoted-printable", "=20\r\n", 0, " \r\n", 0},
	    /* broken escapes are kept literally (RFC 2045 6.7 note 1) */
	    {"quoted-printable", "a=ZZb", 0, "a=ZZb", 0},
	    {"quoted-printable", "a=4xb", 0, "a=4xb", 0},
	    {"quoted-printable", "a=4", 0, "a=4", 0},
	    {"quoted-printable", "==41", 0, "=A", 0},
	    {"quoted-printable", "= x", 0, "= x", 0},
	    {"quoted-printable", "=\t\tx=", 0, "=\t\tx", 0},
	    {"quoted-printable", "=\rx", 0, "=\rx", 0},
	    {"quoted-printable", "= \r", 0, "= \r", 0},
	    {"quoted-printable", "=4\r\n", 0, "=4\r\n", 0},
	    /* a bare CR is an ordinary byte, and so are whitespace before it */
	    {"quoted-printable", "a \rb", 0, "a \rb", 0},
	    {"quoted-printable", "a\r", 0, "a\r", 0},
	    {"quoted-printable", "a\r\r\n", 0, "a\r\r\n", 0},
	    /* NUL and 8-bit bytes pass */
	    {"quoted-printable", "a\0\xff=00", 6, "a\0\xff\0", 4},
	    {"quoted-printable", "", 0, "", 0},
	};
	check_all(cases, sizeof(cases) / sizeof(cases[0]));
}

/* LIMIT_QP_PENDING_WS at -1/0/+1: whitespace trailing a line is deleted as long as it
 * fits the hold-back; a longer run has its first LIMIT_QP_PENDING_WS written out. In the
 * middle of a line every blank is kept whatever the run's length. */
static void qp_pending_limit(void **state)
{
	static char in[3][LIMIT_QP_PENDING_WS + 8], want[3][LIMIT_QP_PENDING_WS + 8];
	static char mid_in[3][LIMIT_QP_PENDING_WS + 8];
	struct cte_case cases[9];
	size_t nc = 0;
	for (int k = 0; k < 3; k++) {
		size_t ws = LIMIT_QP_PENDING_WS - 1 + (size_t)k;
		memset(in[k], ' ', ws);
		memcpy(in[k] + ws, "\r\n", 3);
		size_t kept = ws > LIMIT_QP_PENDING_WS ? LIMIT_QP_PENDING_WS : 0;
		memset(want[k], ' ', kept);
		memcpy(want[k] + kept, "\r\n", 3);
		cases[nc++] = (struct cte_case){"quoted-printable", in[k], 0, want[k], 0};
		memset(mid_in[k], ' ', ws);
		memcpy(mid_in[k] + ws, "x", 2);
		cases[nc++] = (struct cte_case){"quoted-printable", mid_in[k], 0, mid_in[k], 0};
	}
	check_all(cases, nc);
}

/* A bigger body: base64 of every byte value, lines of 76, decoded through every small
 * output buffer and input step. */
static void base64_all_bytes(void **state)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t raw[256];
	char enc[512];
	size_t n = 0, col = 0;
	for (int i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	for (size_t i = 0; i < 256; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		size_t k = 256 - i < 3 ? 256 - i : 3;
		if (k > 1)
			v |= (uint32_t)raw[i + 1] << 8;
		if (k > 2)
			v |= raw[i + 2];
		enc[n++] = b64[v >> 18];
		enc[n++] = b64[(v >> 12) & 63];
		enc[n++] = k > 1 ? b64[(v >> 6) & 63] : '=';
		enc[n++] = k > 2 ? b64[v & 63] : '=';
		if ((col += 4) == 76) {
			enc[n++] = '\r';
			enc[n++] = '\n';
			col = 0;
		}
	}
	enc[n] = '\0';
	struct cte_case c = {"base64", enc, n, (const char *)raw, sizeof(raw)};
	check_case(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(init_encodings),   cmocka_unit_test(identity),
	    cmocka_unit_test(base64),           cmocka_unit_test(quoted_printable),
	    cmocka_unit_test(qp_pending_limit), cmocka_unit_test(base64_all_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
