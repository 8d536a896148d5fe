/* test_smtp_data.c: the DATA reader (RFC 5321 4.1.1.4, 4.5.2, 2.3.8) and the BDAT reader
 * (RFC 3030). Every case is fed whole, one byte at a time and split at every offset (for
 * inputs over 8 KiB: at a spread of offsets that includes every boundary), and must
 * give the same output, flags and end position every time. */
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
#include "smtp/smtp_data.h"

struct sink {
	uint8_t *buf;
	size_t n, cap;
	long fail_at_call; /* return ERR_IO on this call number, -1 never */
	long calls;
};

static int sink_fn(void *ctx, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;
	assert_true(n > 0);
	if (s->calls++ == s->fail_at_call)
		return ERR_IO;
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->n, p, n);
	s->n += n;
	return 0;
}

struct result {
	struct sink out;
	bool done;
	size_t end; /* offset just past the end marker */
	unsigned flags;
	uint64_t out_bytes, in_bytes;
};

static void result_free(struct result *r)
{
	free(r->out.buf);
	memset(r, 0, sizeof(*r));
}

static void run_data(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                     uint64_t max_size, long fail_at, struct result *res)
{
	struct smtp_data_reader r;
	memset(res, 0, sizeof(*res));
	res->out.fail_at_call = fail_at;
	assert_int_equal(smtp_data_init(&r, max_size, sink_fn, &res->out), 0);
	size_t start = 0;
	for (size_t k = 0; k <= ncuts && !res->done; k++) {
		size_t end = k < ncuts ? cuts[k] : len, used = 12345;
		int rc = smtp_data_read(&r, in + start, end - start, &used);
		assert_true(rc >= 0);
		if (rc > 0) {
			res->done = true;
			res->end = start + used;
			size_t again;
			assert_int_equal(smtp_data_read(&r, in, len, &again), ERR_INVAL);
		} else {
			assert_int_equal(used, end - start);
		}
		start = end;
	}
	res->flags = r.flags;
	res->out_bytes = r.out_bytes;
	res->in_bytes = r.in_bytes;
	assert_int_equal(res->out_bytes, res->out.n);
	if (res->done)
		assert_int_equal(res->in_bytes, res->end);
}

static void same(const struct result *a, const struct result *b, const char *how, size_t at)
{
	if (a->done != b->done || a->end != b->end || a->flags != b->flags ||
	    a->out.n != b->out.n || (a->out.n && memcmp(a->out.buf, b->out.buf, a->out.n) != 0))
		fail_msg("%s %zu: done %d/%d end %zu/%zu flags %x/%x out %zu/%zu", how, at, a->done,
		         b->done, a->end, b->end, a->flags, b->flags, a->out.n, b->out.n);
}

/* Run in every way and compare with the expectation. want_out NULL: not checked. */
static void check_data_full(const void *in_, size_t len, uint64_t max_size, const char *want_out,
                            size_t want_out_len, bool want_done, size_t want_end,
                            unsigned want_flags)
{
	const uint8_t *in = in_;
	struct result whole, other;
	run_data(in, len, NULL, 0, max_size, -1, &whole);
	if (whole.done != want_done || whole.flags != want_flags ||
	    (want_done && whole.end != want_end))
		fail_msg("done %d (want %d) end %zu (want %zu) flags %x (want %x)", whole.done,
		         want_done, whole.end, want_end, whole.flags, want_flags);
	if (want_out && (whole.out.n != want_out_len ||
	                 (want_out_len && memcmp(whole.out.buf, want_out, want_out_len) != 0)))
		fail_msg("output '%.*s' (%zu) want '%s' (%zu)",
		         (int)(whole.out.n > 200 ? 200 : whole.out.n), whole.out.buf, whole.out.n,
		         want_out, want_out_len);
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	run_data(in, len, cuts, len ? len - 1 : 0, max_size, -1, &other);
	same(&whole, &other, "bytewise", 0);
	result_free(&other);
	free(cuts);
	for (size_t i = 1; i < len; i++) {
		/* long inputs: near both ends, near 64 KiB (the old line limit) and spread */
		if (len > 8192 && i > 16 && i + 16 < len && i % 65521 != 0 &&
		    (i + 4 < 65536 || i > 65536 + 4))
			continue;
		run_data(in, len, &i, 1, max_size, -1, &other);
		same(&whole, &other, "split", i);
		result_free(&other);
	}
	result_free(&whole);
}

static void check_data(const char *in, const char *want_out, bool want_done, size_t want_end,
                       unsigned want_flags)
{
	check_data_full(in, strlen(in), UINT64_MAX, want_out, want_out ? strlen(want_out) : 0,
	                want_done, want_end, want_flags);
}

/* A complete clean message: done right after the end marker. */
static void check_msg(const char *in, const char *want_out)
{
	check_data(in, want_out, true, strlen(in), 0);
}

/* RFC 5321 4.1.1.4: the content ends with CRLF "." CRLF; the first CRLF is content. */
static void rfc5321_4_1_1_4_end_of_data(void **state)
{
	check_msg("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n");
	check_msg(".\r\n", ""); /* empty message: the DATA command's CRLF is the first one */
	check_msg("\r\n.\r\n", "\r\n");
	check_msg("a\r\n\r\n.\r\n", "a\r\n\r\n");
	/* pipelined bytes after the end stay with the caller */
	check_data("x\r\n.\r\nQUIT\r\n", "x\r\n", true, 6, 0);
	check_data(".\r\nQUIT\r\n", "", true, 3, 0);
	/* not ended yet */
	check_data("x\r\n.", "x\r\n", false, 0, 0);
	check_data("x\r\n.\r", "x\r\n", false, 0, 0);
	check_data("x\r", "x", false, 0, 0);
	check_data("", "", false, 0, 0);
	check_data("x\r\n.x\r\n", "x\r\nx\r\n", false, 0, 0);
	check_data("x.\r\n", "x.\r\n", false, 0, 0);
	check_data("x\r\n .\r\n", "x\r\n .\r\n", false, 0, 0);
}

/* RFC 5321 4.5.2: a leading dot on any other line is removed. */
static void rfc5321_4_5_2_dot_stuffing(void **state)
{
	check_msg("..\r\n..x\r\n.x\r\na.\r\n...\r\n.\r\n", ".\r\n.x\r\nx\r\na.\r\n..\r\n");
	check_msg("..\r\n.\r\n", ".\r\n");
	check_msg("a\r\n..\r\n.\r\n", "a\r\n.\r\n");
	check_msg("a\r\n.. \r\n.\r\n", "a\r\n. \r\n");
	check_msg("a\r\n.\t\r\n.\r\n", "a\r\n\t\r\n");
}

/* SMTP smuggling (2023): only CRLF.CRLF ends DATA, never a mix with bare CR or LF. The
 * message is refused (flag) but the reader stays in sync up to the real end. */
static void rfc5321_2_3_8_smuggling(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* emitted before the first offending byte */
		unsigned flags;
	} c[] = {
	    {"x\n.\nMAIL FROM:<e@vil>\r\n\r\n.\r\n", "x", SMTP_DATA_F_BARE_LF},
	    {"x\r.\rMAIL FROM:<e@vil>\r\n.\r\n", "x", SMTP_DATA_F_BARE_CR},
	    {"x\n.\r\nMAIL FROM:<e@vil>\r\n.\r\n", "x", SMTP_DATA_F_BARE_LF},
	    {"x\r\n.\nMAIL FROM:<e@vil>\r\n.\r\n", "x\r\n", SMTP_DATA_F_BARE_LF},
	    {"x\r\n.\rMAIL FROM:<e@vil>\r\n.\r\n", "x\r\n", SMTP_DATA_F_BARE_CR},
	    {"x\r.\r\nMAIL FROM:<e@vil>\r\n.\r\n", "x", SMTP_DATA_F_BARE_CR},
	    {"x\n\n.\n\nMAIL FROM:<e@vil>\r\n.\r\n", "x", SMTP_DATA_F_BARE_LF},
	    {"x\r\r.\r\rMAIL FROM:<e@vil>\r\n.\r\n", "x", SMTP_DATA_F_BARE_CR},
	    {"\n.\r\nMAIL FROM:<e@vil>\r\n.\r\n", "", SMTP_DATA_F_BARE_LF},
	    {".\nMAIL FROM:<e@vil>\r\n.\r\n", "", SMTP_DATA_F_BARE_LF},
	    {".\rMAIL FROM:<e@vil>\r\n.\r\n", "", SMTP_DATA_F_BARE_CR},
	    {"x\r\n.\r\r\nMAIL FROM:<e@vil>\r\n.\r\n", "x\r\n", SMTP_DATA_F_BARE_CR},
	    {"x\r\n.\n\r\n.\r\n", "x\r\n", SMTP_DATA_F_BARE_LF},
	    {"x\n\r\n.\r\n", "x", SMTP_DATA_F_BARE_LF}, /* a real CRLF.CRLF after the bare LF */
	    {"x\r\r\n.\r\n", "x", SMTP_DATA_F_BARE_CR},
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		check_data(c[i].in, c[i].out, true, strlen(c[i].in), c[i].flags);
	/* and none of these end the message on their own */
	static const char *never[] = {"x\n.\n", "x\r.\r", "x\n.\r\n",        "x\r\n.\n",   "\n.\n",
	                              "\r.\r",  ".\n",    "x\r\n.\r\r\n.\n", "x\r\n..\r\n"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		struct result r;
		run_data((const uint8_t *)never[i], strlen(never[i]), NULL, 0, UINT64_MAX, -1, &r);
		assert_false(r.done);
		result_free(&r);
	}
}

/* RFC 5321 2.3.8 / our policy: bare LF, bare CR and NUL refuse the message. */
static void rfc5321_2_3_8_bare_cr_lf_nul(void **state)
{
	check_data("a\nb\r\n.\r\n", "a", true, 8, SMTP_DATA_F_BARE_LF);
	check_data("a\rb\r\n.\r\n", "a", true, 8, SMTP_DATA_F_BARE_CR);
	check_data_full("a\0b\r\n.\r\n", 8, UINT64_MAX, "a", 1, true, 8, SMTP_DATA_F_NUL);
	check_data_full("ok\r\n\0\n\r\r\n.\r\n", 12, UINT64_MAX, "ok\r\n", 4, true, 12,
	                SMTP_DATA_F_NUL | SMTP_DATA_F_BARE_LF | SMTP_DATA_F_BARE_CR);
	unsigned code = 0;
	const char *why = NULL;
	assert_int_equal(smtp_data_verdict(0, &code, &why), 0);
	assert_int_equal(smtp_data_verdict(SMTP_DATA_F_BARE_LF, &code, &why), ERR_BAD_SYNTAX);
	assert_int_equal(code, 550);
	assert_string_equal(why, "5.6.0 Bare LF not allowed (RFC 5321 2.3.8)");
	assert_int_equal(smtp_data_verdict(SMTP_DATA_F_BARE_CR, &code, &why), ERR_BAD_SYNTAX);
	assert_string_equal(why, "5.6.0 Bare CR not allowed (RFC 5321 2.3.8)");
	assert_int_equal(smtp_data_verdict(SMTP_DATA_F_NUL, &code, &why), ERR_BAD_SYNTAX);
	assert_int_equal(smtp_data_verdict(SMTP_DATA_F_TOO_BIG | SMTP_DATA_F_BARE_LF, &code, &why),
	                 ERR_TOO_BIG);
	assert_int_equal(code, 552);
	assert_int_equal(smtp_data_verdict(SMTP_DATA_F_SINK | SMTP_DATA_F_TOO_BIG, &code, &why),
	                 ERR_IO);
	assert_int_equal(code, 451);
}

/* RFC 1870 / LIMIT_MESSAGE_SIZE: content of L bytes against max L-1, L, L+1. */
static void rfc1870_size_limit(void **state)
{
	const char *in = "abcd\r\n..e\r\n.\r\n"; /* content "abcd\r\n.e\r\n" = 10 bytes */
	const char *content = "abcd\r\n.e\r\n";
	size_t L = strlen(content);
	check_data_full(in, strlen(in), L - 1, content, L - 1, true, strlen(in),
	                SMTP_DATA_F_TOO_BIG);
	check_data_full(in, strlen(in), L, content, L, true, strlen(in), 0);
	check_data_full(in, strlen(in), L + 1, content, L, true, strlen(in), 0);
	check_data_full(in, strlen(in), 0, "", 0, true, strlen(in), SMTP_DATA_F_TOO_BIG);
	check_data_full(".\r\n", 3, 0, "", 0, true, 3, 0);
}

/* DATA has no line limit (STYLE 5): lines around the old 64 KiB bound and a 1 MiB line
 * pass byte for byte, stuffed or not; only the size limit applies (at -1/0/+1 of the
 * line's length). */
static void no_line_limit(void **state)
{
	static const size_t lens[] = {998, 999, 65533, 65534, 65535, 65536, 1u << 20};
	size_t cap = (1u << 20) + 64;
	uint8_t *in = malloc(cap);
	assert_non_null(in);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t n = lens[k];
		for (int stuffed = 0; stuffed <= 1; stuffed++) {
			for (size_t i = 0; i < n; i++)
				in[i] = (uint8_t)('A' + i % 61);
			if (stuffed)
				in[0] = '.'; /* ".xxx": the dot is not content */
			memcpy(in + n, "\r\n.\r\n", 5);
			size_t len = n + 5, out_len = n + 2 - (size_t)stuffed;
			check_data_full(in, len, UINT64_MAX, (const char *)in + stuffed, out_len,
			                true, len, 0);
			if (n != lens[0] || stuffed)
				continue;
			check_data_full(in, len, out_len - 1, (const char *)in, out_len - 1, true, len,
			                SMTP_DATA_F_TOO_BIG);
			check_data_full(in, len, out_len, (const char *)in, out_len, true, len, 0);
			check_data_full(in, len, out_len + 1, (const char *)in, out_len, true, len, 0);
		}
	}
	free(in);
}

/* The end marker split across reads at every offset, with content before and after. */
static void rfc5321_4_1_1_4_marker_split(void **state)
{
	static const char *in[] = {"line one\r\nline two\r\n.\r\nRSET\r\n", "\r\n\r\n.\r\n",
	                           "..\r\n...\r\n.\r\n", "a\r\n.\r\n.\r\n"};
	static const size_t end[] = {23, 7, 12, 6};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		check_data(in[i], NULL, true, end[i], 0);
}

/* A failing sink does not stop the reader: it still finds the real end (451 after it). */
static void sink_errors_keep_sync(void **state)
{
	const char *in = "a\r\nb\r\nc\r\n.\r\nQUIT\r\n";
	size_t len = strlen(in), cuts[64];
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	for (long at = 0; at < 3; at++) {
		struct result r;
		run_data((const uint8_t *)in, len, cuts, len - 1, UINT64_MAX, at, &r);
		assert_true(r.done);
		assert_int_equal(r.end, 12);
		assert_true(r.flags & SMTP_DATA_F_SINK);
		result_free(&r);
	}
	struct smtp_data_reader r;
	assert_int_equal(smtp_data_init(&r, 1, NULL, NULL), ERR_INVAL);
	assert_int_equal(smtp_data_init(&r, 1, sink_fn, NULL), 0);
}

/* ---- BDAT (RFC 3030) ---- */

struct chunk {
	uint64_t size;
	bool last;
};

/* Feed the chunk bytes (back to back in in) cut at cuts; returns per-chunk completion. */
static void run_bdat(const uint8_t *in, size_t len, const struct chunk *ch, size_t nch,
                     const size_t *cuts, size_t ncuts, uint64_t max_size, bool binary,
                     struct result *res)
{
	struct smtp_bdat_reader r;
	memset(res, 0, sizeof(*res));
	res->out.fail_at_call = -1;
	smtp_bdat_init(&r, max_size, binary, sink_fn, &res->out);
	size_t k = 0, pos = 0, ci = 0;
	bool need_chunk = true;
	while (ci < nch) {
		if (need_chunk) {
			int rc = smtp_bdat_chunk(&r, ch[ci].size, ch[ci].last);
			assert_true(rc >= 0);
			need_chunk = false;
			if (rc > 0) {
				ci++;
				need_chunk = true;
				continue;
			}
		}
		while (k < ncuts && cuts[k] <= pos)
			k++;
		size_t end = k < ncuts ? cuts[k] : len, used;
		assert_true(pos < end);
		int rc = smtp_bdat_read(&r, in + pos, end - pos, &used);
		assert_true(rc >= 0);
		pos += used;
		if (rc > 0) {
			ci++;
			need_chunk = true;
		} else {
			assert_int_equal(pos, end);
		}
	}
	assert_int_equal(pos, len);
	res->done = r.done;
	res->end = pos;
	res->flags = r.flags;
	res->out_bytes = r.out_bytes;
	assert_int_equal(r.out_bytes, res->out.n);
	assert_int_equal(r.in_bytes, len);
}

static void check_bdat(const char *in, size_t len, const struct chunk *ch, size_t nch,
                       uint64_t max_size, bool binary, const char *want_out, size_t want_len,
                       unsigned want_flags)
{
	struct result whole, other;
	run_bdat((const uint8_t *)in, len, ch, nch, NULL, 0, max_size, binary, &whole);
	if (whole.flags != want_flags)
		fail_msg("bdat case of %zu bytes: flags %x want %x", len, whole.flags, want_flags);
	assert_int_equal(whole.out.n, want_len);
	if (want_len)
		assert_memory_equal(whole.out.buf, want_out, want_len);
	for (size_t i = 1; i < len; i++) {
		run_bdat((const uint8_t *)in, len, ch, nch, &i, 1, max_size, binary, &other);
		same(&whole, &other, "bdat split", i);
		result_free(&other);
	}
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	run_bdat((const uint8_t *)in, len, ch, nch, cuts, len ? len - 1 : 0, max_size, binary,
	         &other);
	same(&whole, &other, "bdat bytewise", 0);
	result_free(&other);
	free(cuts);
	result_free(&whole);
}

static void rfc3030_2_bdat_chunks(void **state)
{
	/* binary-exact, no dot-stuffing, no end marker */
	const struct chunk c1[] = {{7, false}, {4, true}};
	check_bdat("a\r\n.\r\n.b\r\nc", 11, c1, 2, UINT64_MAX, false, "a\r\n.\r\n.b\r\nc", 11, 0);
	/* CR at the end of one chunk, LF at the start of the next: not bare */
	const struct chunk c2[] = {{2, false}, {1, true}};
	check_bdat("a\r\n", 3, c2, 2, UINT64_MAX, false, "a\r\n", 3, 0);
	/* a CR at the very end of the LAST chunk is bare */
	const struct chunk c3[] = {{2, true}};
	check_bdat("a\r", 2, c3, 1, UINT64_MAX, false, "a\r", 2, SMTP_DATA_F_BARE_CR);
	/* bare LF / CR / NUL flagged unless BINARYMIME */
	const struct chunk c4[] = {{6, true}};
	check_bdat("ab\ncd\n", 6, c4, 1, UINT64_MAX, false, "ab", 2, SMTP_DATA_F_BARE_LF);
	check_bdat("ab\rcd\n", 6, c4, 1, UINT64_MAX, false, "ab\r", 3,
	           SMTP_DATA_F_BARE_CR | SMTP_DATA_F_BARE_LF);
	check_bdat("ab\0cd\n", 6, c4, 1, UINT64_MAX, false, "ab", 2,
	           SMTP_DATA_F_NUL | SMTP_DATA_F_BARE_LF);
	check_bdat("ab\0c\r\n", 6, c4, 1, UINT64_MAX, true, "ab\0c\r\n", 6, 0);
	check_bdat("ab\nc\r\r", 6, c4, 1, UINT64_MAX, true, "ab\nc\r\r", 6, 0);
	/* zero-length chunks */
	const struct chunk c5[] = {{3, false}, {0, false}, {0, true}};
	check_bdat("x\r\n", 3, c5, 3, UINT64_MAX, false, "x\r\n", 3, 0);
}

/* The size limit across chunks at -1, 0, +1; a chunk that would pass it is flagged
 * before any of its bytes is read, and still consumed to stay in sync. */
static void rfc3030_bdat_size_limit(void **state)
{
	const struct chunk c[] = {{4, false}, {4, true}};
	check_bdat("ab\r\ncd\r\n", 8, c, 2, 7, false, "ab\r\n", 4, SMTP_DATA_F_TOO_BIG);
	check_bdat("ab\r\ncd\r\n", 8, c, 2, 8, false, "ab\r\ncd\r\n", 8, 0);
	check_bdat("ab\r\ncd\r\n", 8, c, 2, 9, false, "ab\r\ncd\r\n", 8, 0);
	struct smtp_bdat_reader r;
	struct sink s = {.fail_at_call = -1};
	size_t used;
	smtp_bdat_init(&r, 10, false, sink_fn, &s);
	assert_int_equal(smtp_bdat_chunk(&r, 11, true), 0);
	assert_int_equal(r.flags, SMTP_DATA_F_TOO_BIG);
	assert_int_equal(smtp_bdat_chunk(&r, 1, true), ERR_INVAL); /* chunk still open */
	assert_int_equal(smtp_bdat_read(&r, (const uint8_t *)"0123456789abcQUIT", 17, &used), 1);
	assert_int_equal(used, 11);
	assert_int_equal(s.n, 0);
	assert_true(r.done);
	assert_int_equal(smtp_bdat_chunk(&r, 1, false), ERR_INVAL); /* after LAST */
	assert_int_equal(smtp_bdat_read(&r, (const uint8_t *)"x", 1, &used), ERR_INVAL);
	free(s.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc5321_4_1_1_4_end_of_data),
	    cmocka_unit_test(rfc5321_4_5_2_dot_stuffing),
	    cmocka_unit_test(rfc5321_2_3_8_smuggling),
	    cmocka_unit_test(rfc5321_2_3_8_bare_cr_lf_nul),
	    cmocka_unit_test(rfc1870_size_limit),
	    cmocka_unit_test(no_line_limit),
	    cmocka_unit_test(rfc5321_4_1_1_4_marker_split),
	    cmocka_unit_test(sink_errors_keep_sync),
	    cmocka_unit_test(rfc3030_2_bdat_chunks),
	    cmocka_unit_test(rfc3030_bdat_size_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
