/* fuzz_smtp_data.c: libFuzzer target for src/smtp/smtp_data.c and the header filter
 * behind it, src/smtp/smtp_hdr.c.
 * The first two input bytes pick the options (size limit, split offsets, BDAT chunking,
 * BINARYMIME, the From copy's capacity); the rest is the stream after 354 (or the BDAT
 * bytes, or the message the header filter sees).
 * DATA invariants:
 *   - the reader ends exactly after the first CRLF "." CRLF (or a leading ".\r\n"),
 *     never elsewhere, and does not end when there is none (no smuggling);
 *   - the output never holds the end marker as a line that was not sent stuffed: with no
 *     flag set, walking the input with the leading dot of each line skipped must give
 *     the output byte for byte followed by ".\r\n" (so an output line "." came from "..");
 *   - out_bytes == bytes the sink got, and at most max_size; in_bytes == bytes consumed;
 *   - the output is CRLF-clean (every LF after a CR, every CR before an LF), except a
 *     last lone CR when TOO_BIG cut the output;
 *   - feeding the input split at an input-derived offset, in three pieces, or one byte
 *     at a time gives identical output, flags and end.
 * BDAT invariants: each chunk takes exactly its size; BINARYMIME output is the input;
 * otherwise flags are set exactly when the input has a bare CR, bare LF or NUL, and a
 * clean input comes out unchanged.
 * Header filter invariants: the output equals a plain line-by-line reference (the input
 * without the Return-Path fields of its header section, and its Bcc fields when the
 * first option byte's 0x20 bit sets drop_bcc, as smtp_hdr.h defines them), the
 * From copy is the reference's unfolded From values cut at the capacity, and neither
 * depends on how the input is split. Seeds: fuzz/corpus/smtp_data/. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/buf.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	uint8_t *b;
	size_t n, cap;
};

static int sink(void *ctx, const uint8_t *p, size_t n)
{
	struct out *o = ctx;
	assert(n > 0);
	if (o->n + n > o->cap) {
		size_t cap = (o->n + n) * 2 + 64;
		uint8_t *b = realloc(o->b, cap);
		assert(b);
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
	return 0;
}

struct res {
	struct out o;
	bool done;
	size_t end;
	unsigned flags;
};

/* Feed p[0..len) cut at cuts[0..ncuts) (ascending, inside (0, len)). */
static void run_data(const uint8_t *p, size_t len, const size_t *cuts, size_t ncuts,
                     uint64_t max_size, struct res *r)
{
	struct smtp_data_reader d;
	memset(r, 0, sizeof(*r));
	int rc = smtp_data_init(&d, max_size, sink, &r->o);
	assert(rc == 0);
	size_t start = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len, used = (size_t)-1;
		rc = smtp_data_read(&d, p + start, end - start, &used);
		assert(rc >= 0 && used <= end - start);
		if (rc > 0) {
			r->done = true;
			r->end = start + used;
			assert(smtp_data_read(&d, p, len, &used) == ERR_INVAL);
			break;
		}
		assert(used == end - start);
		start = end;
	}
	r->flags = d.flags;
	assert(d.out_bytes == r->o.n && d.out_bytes <= max_size);
	assert(d.in_bytes == (r->done ? r->end : len));
}

static void same(const struct res *a, const struct res *b)
{
	assert(a->done == b->done && a->end == b->end && a->flags == b->flags);
	assert(a->o.n == b->o.n && (a->o.n == 0 || memcmp(a->o.b, b->o.b, a->o.n) == 0));
}

/* Where the message must end: after the first CRLF "." CRLF, 0 if nowhere. */
static size_t marker_end(const uint8_t *p, size_t len)
{
	if (len >= 3 && memcmp(p, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

static void check_data(const uint8_t *p, size_t len, uint8_t o2)
{
	uint64_t max_size = (o2 & 1) ? (uint64_t)(o2 >> 1) * 3 : UINT64_MAX;
	struct res whole, other;
	run_data(p, len, NULL, 0, max_size, &whole);

	size_t m = marker_end(p, len);
	assert(whole.done == (m != 0));
	if (whole.done)
		assert(whole.end == m);

	const struct out *o = &whole.o;
	for (size_t i = 0; i < o->n; i++) {
		if (o->b[i] == '\n')
			assert(i > 0 && o->b[i - 1] == '\r');
		if (o->b[i] == '\r')
			assert((i + 1 < o->n && o->b[i + 1] == '\n') ||
			       (i + 1 == o->n &&
			        ((whole.flags & SMTP_DATA_F_TOO_BIG) || !whole.done)));
		if (whole.flags == 0)
			assert(o->b[i] != '\0');
	}
	if (whole.done && whole.flags == 0) {
		/* dot-stuff the output again: it must be the input up to the final ".\r\n" */
		size_t j = 0;
		bool bol = true;
		for (size_t i = 0; i < o->n; i++) {
			/* RFC 5321 4.5.2: a leading dot is always removed, so an output line
			 * that starts with "." must have been sent as "..". */
			if (bol && j < m && p[j] == '.')
				j++;
			else if (bol)
				assert(o->b[i] != '.');
			assert(j < m && p[j] == o->b[i]);
			j++;
			bol = o->b[i] == '\n';
		}
		assert(j + 3 == m && memcmp(p + j, ".\r\n", 3) == 0);
		assert(o->n == 0 ||
		       (o->n >= 2 && o->b[o->n - 2] == '\r' && o->b[o->n - 1] == '\n'));
	}

	size_t cut[2];
	cut[0] = len ? 1 + (size_t)(o2 * 2654435761u) % len : 0;
	if (cut[0] > 0 && cut[0] < len) {
		run_data(p, len, cut, 1, max_size, &other);
		same(&whole, &other);
		free(other.o.b);
		cut[1] = cut[0] + (len - cut[0]) / 2;
		if (cut[1] > cut[0] && cut[1] < len) {
			run_data(p, len, cut, 2, max_size, &other);
			same(&whole, &other);
			free(other.o.b);
		}
	}
	if (len <= 2048) {
		size_t *cuts = malloc(len * sizeof(*cuts) + 1);
		assert(cuts);
		for (size_t i = 1; i < len; i++)
			cuts[i - 1] = i;
		run_data(p, len, cuts, len ? len - 1 : 0, max_size, &other);
		same(&whole, &other);
		free(other.o.b);
		free(cuts);
	}
	free(whole.o.b);
}

/* BDAT: the input in chunks of (o1 % 37) + 1 bytes, fed in reads of (o2 % 13) + 1. */
static void check_bdat(const uint8_t *p, size_t len, uint8_t o1, uint8_t o2)
{
	bool binary = o2 & 0x80;
	size_t chunk = (size_t)(o1 % 37) + 1, rd = (size_t)(o2 % 13) + 1, pos = 0;
	uint64_t max_size = (o1 & 0x80) ? len / 2 : UINT64_MAX;
	struct out o = {0};
	struct smtp_bdat_reader r;
	smtp_bdat_init(&r, max_size, binary, sink, &o);
	do {
		size_t n = len - pos < chunk ? len - pos : chunk, left = n;
		int rc = smtp_bdat_chunk(&r, n, pos + n == len);
		assert(rc >= 0);
		while (rc == 0) {
			size_t want = left < rd ? left : rd, used;
			/* offer more than the chunk: the reader must stop at its end */
			size_t give = len - pos < want + 3 ? len - pos : want + 3;
			rc = smtp_bdat_read(&r, p + pos, give, &used);
			assert(rc >= 0 && used <= left && used <= give);
			if (rc == 0)
				assert(used == give);
			pos += used;
			left -= used;
			assert(rc == 0 || left == 0);
		}
	} while (pos < len);
	assert(r.done && r.in_bytes == len && r.out_bytes == o.n && o.n <= max_size);

	bool dirty = false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\0' || (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) ||
		    (p[i] == '\r' && (i + 1 == len || p[i + 1] != '\n')))
			dirty = true;
	}
	unsigned content = r.flags & ~(unsigned)SMTP_DATA_F_TOO_BIG;
	if (binary)
		assert(content == 0);
	else
		assert((content != 0) == dirty);
	if (r.flags == 0)
		assert(o.n == len && (len == 0 || memcmp(o.b, p, len) == 0));
	else
		assert(o.n <= len && (o.n == 0 || memcmp(o.b, p, o.n) == 0));
	free(o.b);
}

/* ---- the header filter ---- */

static uint8_t lc(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool ci_prefix(const uint8_t *p, size_t n, const char *name)
{
	size_t m = strlen(name);
	if (n < m)
		return false;
	for (size_t i = 0; i < m; i++)
		if (lc(p[i]) != (uint8_t)name[i])
			return false;
	return true;
}

/* What smtp_hdr.h promises, written line by line over the whole input. */
static void hdr_reference(const uint8_t *p, size_t len, bool bcc, struct out *o,
                          struct out *from, unsigned *fields)
{
	bool header = true, drop = false, capture = false;
	*fields = 0;
	for (size_t pos = 0; pos < len;) {
		const uint8_t *lf = memchr(p + pos, '\n', len - pos);
		size_t end = lf ? (size_t)(lf - p) + 1 : len, n = end - pos;
		const uint8_t *l = p + pos;
		bool keep = true;
		if (header && ((n == 1 && l[0] == '\n') || (n == 2 && l[0] == '\r' && l[1] == '\n'))) {
			header = false;
		} else if (header && (l[0] == ' ' || l[0] == '\t')) {
			keep = !drop; /* a folded line shares its field's fate */
		} else if (header) {
			drop = (n > 11 && ci_prefix(l, n, "return-path") &&
			        (l[11] == ':' || l[11] == ' ' || l[11] == '\t')) ||
			       (bcc && n > 3 && ci_prefix(l, n, "bcc") &&
			        (l[3] == ':' || l[3] == ' ' || l[3] == '\t'));
			keep = !drop;
			capture = false;
			if (ci_prefix(l, n, "from")) {
				size_t i = 4;
				while (i < n && (l[i] == ' ' || l[i] == '\t'))
					i++;
				if (i < n && l[i] == ':') {
					capture = true;
					++*fields;
					l += i + 1;
					n -= i + 1;
				}
			}
		}
		if (header && capture)
			for (size_t i = 0; i < n; i++)
				if (l[i] != '\r' && l[i] != '\n')
					sink(from, l + i, 1);
		if (keep && end > pos)
			sink(o, p + pos, end - pos);
		pos = end;
	}
}

struct hres {
	struct out o;
	uint8_t from[256];
	size_t from_len;
	unsigned fields;
	bool over;
};

static void run_hdr(const uint8_t *p, size_t len, const size_t *cuts, size_t ncuts,
                    size_t cap, bool bcc, struct hres *r)
{
	struct smtp_hdr_filter f;
	struct buf from;
	memset(r, 0, sizeof(*r));
	buf_init(&from, r->from, cap);
	int rc = smtp_hdr_init(&f, &from, sink, &r->o);
	assert(rc == 0);
	f.drop_bcc = bcc;
	size_t start = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		rc = smtp_hdr_write(&f, p + start, end - start);
		assert(rc == 0);
		start = end;
	}
	rc = smtp_hdr_finish(&f);
	assert(rc == 0 && f.out_bytes == r->o.n);
	r->from_len = from.len;
	r->fields = f.from_fields;
	r->over = f.from_over;
}

static void hsame(const struct hres *a, const struct hres *b)
{
	assert(a->o.n == b->o.n && (a->o.n == 0 || memcmp(a->o.b, b->o.b, a->o.n) == 0));
	assert(a->from_len == b->from_len && memcmp(a->from, b->from, a->from_len) == 0);
	assert(a->fields == b->fields && a->over == b->over);
}

static void check_hdr(const uint8_t *p, size_t len, uint8_t o1, uint8_t o2)
{
	size_t cap = (o1 & 0x40) ? 1 + (size_t)(o2 % 32) : sizeof(((struct hres *)0)->from);
	bool bcc = (o1 & 0x20) != 0;
	struct hres whole, other;
	run_hdr(p, len, NULL, 0, cap, bcc, &whole);
	struct out ro = {0}, rf = {0};
	unsigned rfields;
	hdr_reference(p, len, bcc, &ro, &rf, &rfields);
	assert(whole.o.n == ro.n && (ro.n == 0 || memcmp(whole.o.b, ro.b, ro.n) == 0));
	assert(whole.fields == rfields);
	assert(whole.over == (rf.n > cap));
	assert(whole.from_len == (rf.n > cap ? cap : rf.n));
	assert(whole.from_len == 0 || memcmp(whole.from, rf.b, whole.from_len) == 0);
	free(ro.b);
	free(rf.b);

	size_t cut[2];
	cut[0] = len ? 1 + (size_t)(o2 * 2654435761u) % len : 0;
	cut[1] = cut[0] + (len - cut[0]) / 3;
	if (cut[0] > 0 && cut[0] < len) {
		run_hdr(p, len, cut, cut[1] > cut[0] && cut[1] < len ? 2 : 1, cap, bcc, &other);
		hsame(&whole, &other);
		free(other.o.b);
	}
	if (len <= 2048) {
		size_t *cuts = malloc(len * sizeof(*cuts) + 1);
		assert(cuts);
		for (size_t i = 1; i < len; i++)
			cuts[i - 1] = i;
		run_hdr(p, len, cuts, len ? len - 1 : 0, cap, bcc, &other);
		hsame(&whole, &other);
		free(other.o.b);
		free(cuts);
	}
	free(whole.o.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	check_data(data + 2, size - 2, data[1]);
	check_bdat(data + 2, size - 2, data[0], data[1]);
	check_hdr(data + 2, size - 2, data[0], data[1]);
	return 0;
}
