/* test_smtp_data.c: the DATA reader (RFC 5321 4.1.1.4, 4.5.2, 2.3.8), the BDAT reader
 * (RFC 3030) and the header filter behind both (smtp_hdr.h: RFC 5321 4.4 Return-Path,
 * RFC 5322 3.6.2 From). Every case is fed whole, one byte at a time and split at every
 * offset (for inputs over 8 KiB: at a spread of offsets that includes every boundary),
 * and must give the same output, flags and end position every time. */
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
#include "core/buf.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_hdr.h"

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

/* ---- the header filter (smtp_hdr.h) ---- */

/* drop_bcc for every filter the running case makes (check_hdr_case sets it). */
static bool hdr_drop_bcc;

struct hdr_result {
	struct sink out;
	uint8_t from[64];
	size_t from_len;
	unsigned from_fields, dropped;
	bool from_over;
};

static void hdr_collect(struct hdr_result *res, const struct smtp_hdr_filter *f,
                        const struct buf *from)
{
	res->from_len = from ? from->len : 0;
	res->from_fields = f->from_fields;
	res->dropped = f->dropped;
	res->from_over = f->from_over;
	assert_int_equal(f->out_bytes, res->out.n);
}

/* The filter alone, fed in[0..len) cut at cuts; from_cap 0: no From copy. */
static void run_hdr(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                    size_t from_cap, struct hdr_result *res)
{
	struct smtp_hdr_filter f;
	struct buf from;
	memset(res, 0, sizeof(*res));
	res->out.fail_at_call = -1;
	assert_true(from_cap <= sizeof(res->from));
	buf_init(&from, res->from, from_cap);
	assert_int_equal(smtp_hdr_init(&f, from_cap ? &from : NULL, sink_fn, &res->out), 0);
	f.drop_bcc = hdr_drop_bcc;
	size_t start = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		assert_int_equal(smtp_hdr_write(&f, in + start, end - start), 0);
		start = end;
	}
	assert_int_equal(smtp_hdr_finish(&f), 0);
	hdr_collect(res, &f, from_cap ? &from : NULL);
}

/* The same message dot-stuffed through the DATA reader into the filter. */
static void run_data_hdr(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                         struct hdr_result *res)
{
	struct smtp_hdr_filter f;
	struct smtp_data_reader r;
	struct buf from;
	memset(res, 0, sizeof(*res));
	res->out.fail_at_call = -1;
	buf_init(&from, res->from, sizeof(res->from));
	assert_int_equal(smtp_hdr_init(&f, &from, sink_fn, &res->out), 0);
	f.drop_bcc = hdr_drop_bcc;
	assert_int_equal(smtp_data_init(&r, UINT64_MAX, smtp_hdr_write, &f), 0);
	size_t start = 0, used;
	int rc = 0;
	for (size_t k = 0; k <= ncuts && rc == 0; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		rc = smtp_data_read(&r, in + start, end - start, &used);
		start = end;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(r.flags, 0);
	assert_int_equal(smtp_hdr_finish(&f), 0);
	hdr_collect(res, &f, &from);
}

/* ... and through BDAT in chunks of `chunk` bytes. */
static void run_bdat_hdr(const uint8_t *in, size_t len, size_t chunk, struct hdr_result *res)
{
	struct smtp_hdr_filter f;
	struct smtp_bdat_reader r;
	struct buf from;
	memset(res, 0, sizeof(*res));
	res->out.fail_at_call = -1;
	buf_init(&from, res->from, sizeof(res->from));
	assert_int_equal(smtp_hdr_init(&f, &from, sink_fn, &res->out), 0);
	f.drop_bcc = hdr_drop_bcc;
	smtp_bdat_init(&r, UINT64_MAX, false, smtp_hdr_write, &f);
	size_t pos = 0, used;
	do {
		size_t n = len - pos < chunk ? len - pos : chunk;
		int rc = smtp_bdat_chunk(&r, n, pos + n == len);
		if (rc == 0)
			rc = smtp_bdat_read(&r, in + pos, n, &used);
		assert_int_equal(rc, 1);
		pos += n;
	} while (pos < len);
	assert_int_equal(r.flags, 0);
	assert_int_equal(smtp_hdr_finish(&f), 0);
	hdr_collect(res, &f, &from);
}

static void hdr_same(const struct hdr_result *a, const struct hdr_result *b, const char *how,
                     size_t at)
{
	if (a->out.n != b->out.n || (a->out.n && memcmp(a->out.buf, b->out.buf, a->out.n)) ||
	    a->from_len != b->from_len || memcmp(a->from, b->from, a->from_len) ||
	    a->from_fields != b->from_fields || a->dropped != b->dropped ||
	    a->from_over != b->from_over)
		fail_msg("%s %zu: out %zu/%zu from %zu/%zu fields %u/%u dropped %u/%u", how, at,
		         a->out.n, b->out.n, a->from_len, b->from_len, a->from_fields,
		         b->from_fields, a->dropped, b->dropped);
}

/* DATA transparency (RFC 5321 4.5.2) plus the end marker, for a CRLF-clean message. */
static uint8_t *dot_stuff(const uint8_t *msg, size_t n, size_t *len_out)
{
	size_t o = 0;
	uint8_t *out = malloc(2 * n + 8);
	assert_non_null(out);
	bool bol = true;
	for (size_t i = 0; i < n; i++) {
		if (bol && msg[i] == '.')
			out[o++] = '.';
		out[o++] = msg[i];
		bol = msg[i] == '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	*len_out = o + 3;
	return out;
}

static size_t *all_cuts(size_t len)
{
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	return cuts;
}

/* The message through DATA (whole, bytewise, split at every offset) and BDAT (every chunk
 * size) must give what the filter alone gave. */
static void check_hdr_readers(const uint8_t *p, size_t len, const struct hdr_result *whole)
{
	struct hdr_result other;
	size_t slen;
	uint8_t *st = dot_stuff(p, len, &slen);
	size_t *sc = all_cuts(slen);
	run_data_hdr(st, slen, NULL, 0, &other);
	hdr_same(whole, &other, "data", 0);
	free(other.out.buf);
	run_data_hdr(st, slen, sc, slen - 1, &other);
	hdr_same(whole, &other, "data bytewise", 0);
	free(other.out.buf);
	for (size_t i = 1; i < slen; i++) {
		run_data_hdr(st, slen, &i, 1, &other);
		hdr_same(whole, &other, "data split", i);
		free(other.out.buf);
	}
	for (size_t chunk = 1; chunk <= len; chunk++) {
		run_bdat_hdr(p, len, chunk, &other);
		hdr_same(whole, &other, "bdat chunk", chunk);
		free(other.out.buf);
	}
	free(sc);
	free(st);
}

struct hdr_case {
	const char *in, *out;
	size_t in_len, out_len; /* 0: strlen */
	const char *from;       /* the From copy, NULL: "" */
	unsigned fields, dropped;
	bool over;
	size_t from_cap;        /* 0: 64 */
	bool raw;               /* not CRLF-clean or not CRLF-ended: the filter alone */
	bool bcc;               /* drop_bcc set */
};

/* Run a case every way: whole, one byte at a time, split at every offset; and through
 * the DATA and BDAT readers unless raw. */
static void check_hdr_case(const struct hdr_case *c)
{
	size_t len = c->in_len ? c->in_len : strlen(c->in);
	size_t want_len = c->out_len ? c->out_len : strlen(c->out);
	size_t cap = c->from_cap ? c->from_cap : 64;
	const char *wf = c->from ? c->from : "";
	const uint8_t *p = (const uint8_t *)c->in;
	struct hdr_result whole, other;
	hdr_drop_bcc = c->bcc;
	run_hdr(p, len, NULL, 0, cap, &whole);
	if (whole.out.n != want_len || (want_len && memcmp(whole.out.buf, c->out, want_len)) ||
	    whole.from_len != strlen(wf) || memcmp(whole.from, wf, whole.from_len) ||
	    whole.from_fields != c->fields || whole.dropped != c->dropped ||
	    whole.from_over != c->over)
		fail_msg("in '%s': out '%.*s' from '%.*s' fields %u dropped %u over %d", c->in,
		         (int)whole.out.n, whole.out.buf ? (char *)whole.out.buf : "",
		         (int)whole.from_len, whole.from, whole.from_fields, whole.dropped,
		         whole.from_over);
	size_t *cuts = all_cuts(len);
	run_hdr(p, len, cuts, len ? len - 1 : 0, cap, &other);
	hdr_same(&whole, &other, "bytewise", 0);
	free(other.out.buf);
	for (size_t i = 1; i < len; i++) {
		run_hdr(p, len, &i, 1, cap, &other);
		hdr_same(&whole, &other, "split", i);
		free(other.out.buf);
	}
	free(cuts);
	/* without a From buffer the output is the same */
	run_hdr(p, len, NULL, 0, 0, &other);
	assert_int_equal(other.out.n, whole.out.n);
	assert_true(other.out.n == 0 || memcmp(other.out.buf, whole.out.buf, other.out.n) == 0);
	free(other.out.buf);
	if (!c->raw && cap == 64)
		check_hdr_readers(p, len, &whole);
	free(whole.out.buf);
}

#define HDR_CASES(arr)                                                                             \
	for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)                                  \
	check_hdr_case(&arr[i])

/* RFC 5321 4.4: the delivering MTA adds Return-Path; client ones are removed, folded
 * lines included (RFC 5322 2.2.3), in any case (RFC 5322 1.2.2), with WSP before the
 * colon (RFC 5322 4.5.3 obs-optional). */
static void rfc5321_4_4_return_path_removed(void **state)
{
	static const struct hdr_case c[] = {
	    {.in = "Return-Path: <x@y>\r\nSubject: a\r\n\r\nbody\r\n",
	     .out = "Subject: a\r\n\r\nbody\r\n", .dropped = 1},
	    {.in = "Subject: a\r\nReturn-Path: <x@y>\r\n\r\n", .out = "Subject: a\r\n\r\n",
	     .dropped = 1},
	    {.in = "Subject: a\r\nReturn-Path: <x@y>\r\n", .out = "Subject: a\r\n", .dropped = 1},
	    {.in = "Return-Path:\r\n <x@y>\r\n\t(c)\r\nSubject: a\r\n\r\nb\r\n",
	     .out = "Subject: a\r\n\r\nb\r\n", .dropped = 1},
	    {.in = "Subject: a\r\nreturn-path: <a>\r\nRETURN-PATH : <b>\r\n\t<c>\r\nTo: b\r\n\r\n",
	     .out = "Subject: a\r\nTo: b\r\n\r\n", .dropped = 2},
	    {.in = "Return-Path:<a>\r\nReturn-Path:\t<b>\r\n\r\n", .out = "\r\n", .dropped = 2},
	    {.in = "Return-Path:\r\n", .out = "", .dropped = 1},
	    /* decided: "Return-Path" and WSP without a colon goes too (smtp_hdr.h) */
	    {.in = "Return-Path x\r\nA: b\r\n\r\n", .out = "A: b\r\n\r\n", .dropped = 1},
	    {.in = "Return-Path \t \t:<x>\r\nA: b\r\n\r\n", .out = "A: b\r\n\r\n", .dropped = 1},
	    /* a line break inside the field name: lines of a field, not a new one */
	    {.in = "A: b\nReturn-Path: x\nB: c\n\n", .out = "A: b\nB: c\n\n", .dropped = 1,
	     .raw = true},
	    /* the input ends inside the field (BDAT without a final CRLF) */
	    {.in = "Subject: a\r\nReturn-Path: <x>", .out = "Subject: a\r\n", .dropped = 1,
	     .raw = true},
	    /* NUL and 8-bit bytes are ordinary bytes */
	    {.in = "S: \xc3\xa4\0\r\nReturn-Path: \0\r\n\r\n\0", .in_len = 27,
	     .out = "S: \xc3\xa4\0\r\n\r\n\0", .out_len = 11, .dropped = 1, .raw = true},
	};
	HDR_CASES(c);
}

/* RFC 5322 3.6.3: with drop_bcc (JMAP EmailSubmission) Bcc fields go like Return-Path
 * ones, folded lines included; without it, and for other names, they stay. */
static void rfc5322_3_6_3_bcc_removed_when_asked(void **state)
{
	static const struct hdr_case c[] = {
	    {.in = "From: a@b\r\nBcc: x@y,\r\n z@y\r\nTo: c@d\r\n\r\nBcc: body\r\n",
	     .out = "From: a@b\r\nTo: c@d\r\n\r\nBcc: body\r\n", .from = " a@b", .fields = 1,
	     .dropped = 1, .bcc = true},
	    {.in = "bcc:x\r\nBCC :y\r\nBcc\t:z\r\nReturn-Path: <r>\r\nS: s\r\n\r\n",
	     .out = "S: s\r\n\r\n", .dropped = 4, .bcc = true},
	    {.in = "Bcc:\r\n", .out = "", .dropped = 1, .bcc = true},
	    /* other names, a Bcc folded into another field, the input ending in the name */
	    {.in = "Bccx: a\r\nX-Bcc: b\r\nB: c\r\nBc: d\r\nS: e\r\n Bcc: f\r\n\r\n",
	     .out = "Bccx: a\r\nX-Bcc: b\r\nB: c\r\nBc: d\r\nS: e\r\n Bcc: f\r\n\r\n",
	     .bcc = true},
	    {.in = "S: a\r\nBcc", .out = "S: a\r\nBcc", .bcc = true, .raw = true},
	    /* not asked: Bcc stays (the SMTP session relays what the client sent) */
	    {.in = "Bcc: x@y\r\n\r\n", .out = "Bcc: x@y\r\n\r\n"},
	};
	HDR_CASES(c);
	hdr_drop_bcc = false;
}

/* Every byte that is not a Return-Path field of the header section stays as it was. */
static void rfc5321_4_4_other_bytes_kept(void **state)
{
	static const struct hdr_case c[] = {
	    {.in = "", .out = "", .raw = true},
	    {.in = "Subject: a\r\n\r\nReturn-Path: <x>\r\n",
	     .out = "Subject: a\r\n\r\nReturn-Path: <x>\r\n"},
	    {.in = "\r\nReturn-Path: <x>\r\n", .out = "\r\nReturn-Path: <x>\r\n"},
	    {.in = "Return-Paths: x\r\nX-Return-Path: y\r\nReturn-Pat: z\r\nReturn-Path\r\n"
	           "Return-Pathx: q\r\nR\r\nRe: r\r\nF\r\nFro: m\r\nFromage: f\r\n\r\n",
	     .out = "Return-Paths: x\r\nX-Return-Path: y\r\nReturn-Pat: z\r\nReturn-Path\r\n"
	            "Return-Pathx: q\r\nR\r\nRe: r\r\nF\r\nFro: m\r\nFromage: f\r\n\r\n"},
	    /* a folded line on the first line has no field before it: kept */
	    {.in = " folded first\r\nReturn-Path: <x>\r\n\r\n", .out = " folded first\r\n\r\n",
	     .dropped = 1},
	    /* "Return-Path:" folded into another field belongs to that field */
	    {.in = "Subject: a\r\n Return-Path: <x>\r\n\r\n",
	     .out = "Subject: a\r\n Return-Path: <x>\r\n\r\n"},
	    /* the input ends inside a name, or on a CR that could begin the empty line */
	    {.in = "Subject: a\r\nReturn-Pa", .out = "Subject: a\r\nReturn-Pa", .raw = true},
	    {.in = "Subject: a\r\nReturn-Path", .out = "Subject: a\r\nReturn-Path", .raw = true},
	    {.in = "Subject: a\r\nFrom", .out = "Subject: a\r\nFrom", .raw = true},
	    {.in = "Subject: a\r\n\r", .out = "Subject: a\r\n\r", .raw = true},
	    /* LF alone ends a line and, on its own, the header; a CR elsewhere is a byte */
	    {.in = "A: b\n\nReturn-Path: x\n", .out = "A: b\n\nReturn-Path: x\n", .raw = true},
	    {.in = "\rReturn-Path: x\r\n\r\n", .out = "\rReturn-Path: x\r\n\r\n", .raw = true},
	    {.in = "\r\rReturn-Path: x\r\n", .out = "\r\rReturn-Path: x\r\n", .raw = true},
	    {.in = "A: b\r\n\r\r\nReturn-Path: x\r\n", .out = "A: b\r\n\r\r\n", .dropped = 1,
	     .raw = true},
	};
	HDR_CASES(c);
}

/* RFC 5322 3.6.2: the From value is copied unfolded for the submission check; the copy
 * is bounded (from_cap at -1/0/+1 of the value's length). */
static void rfc5322_3_6_2_from_copied(void **state)
{
	static const struct hdr_case c[] = {
	    {.in = "From: Me <me@x>\r\nTo: y\r\n\r\n", .out = "From: Me <me@x>\r\nTo: y\r\n\r\n",
	     .from = " Me <me@x>", .fields = 1},
	    {.in = "from:a@x,\r\n b@x\r\n\r\nFrom: body@x\r\n",
	     .out = "from:a@x,\r\n b@x\r\n\r\nFrom: body@x\r\n", .from = "a@x, b@x", .fields = 1},
	    {.in = "FROM \t: a@x\r\n\r\n", .out = "FROM \t: a@x\r\n\r\n", .from = " a@x",
	     .fields = 1},
	    {.in = "From a@x Sun Nov 22\r\nS: x\r\n\r\n", .out = "From a@x Sun Nov 22\r\nS: x\r\n\r\n"},
	    {.in = "From: a@x\r\nReturn-Path: <r>\r\nFrom: b@y\r\n\r\n",
	     .out = "From: a@x\r\nFrom: b@y\r\n\r\n", .from = " a@x b@y", .fields = 2, .dropped = 1},
	    {.in = "S: x\r\n From: a@x\r\n\r\n", .out = "S: x\r\n From: a@x\r\n\r\n"},
	    {.in = "From: 12345678\r\n\r\n", .out = "From: 12345678\r\n\r\n", .from = " 1234567",
	     .fields = 1, .over = true, .from_cap = 8},
	    {.in = "From: 12345678\r\n\r\n", .out = "From: 12345678\r\n\r\n", .from = " 12345678",
	     .fields = 1, .from_cap = 9},
	    {.in = "From: 12345678\r\n\r\n", .out = "From: 12345678\r\n\r\n", .from = " 12345678",
	     .fields = 1, .from_cap = 10},
	};
	HDR_CASES(c);
}

/* A failing spool write is reported to the reader, which remembers it (451 later). */
static void hdr_sink_errors(void **state)
{
	const char *in = "Return-Path: <x>\r\nSubject: a\r\n\r\nbody\r\n.\r\n";
	for (long at = 0; at < 3; at++) {
		struct sink out = {.fail_at_call = at};
		struct smtp_hdr_filter f;
		struct smtp_data_reader r;
		size_t used;
		assert_int_equal(smtp_hdr_init(&f, NULL, sink_fn, &out), 0);
		assert_int_equal(smtp_data_init(&r, UINT64_MAX, smtp_hdr_write, &f), 0);
		for (size_t i = 0; i < strlen(in); i++)
			if (smtp_data_read(&r, (const uint8_t *)in + i, 1, &used) > 0)
				break;
		assert_true(r.state == SMTP_DATA_ST_DONE);
		assert_int_equal(r.flags, SMTP_DATA_F_SINK);
		assert_int_equal(r.sink_err, ERR_IO);
		free(out.buf);
	}
	struct smtp_hdr_filter f;
	assert_int_equal(smtp_hdr_init(&f, NULL, NULL, NULL), ERR_INVAL);
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
	    cmocka_unit_test(rfc5321_4_4_return_path_removed),
	    cmocka_unit_test(rfc5321_4_4_other_bytes_kept),
	    cmocka_unit_test(rfc5322_3_6_3_bcc_removed_when_asked),
	    cmocka_unit_test(rfc5322_3_6_2_from_copied),
	    cmocka_unit_test(hdr_sink_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
