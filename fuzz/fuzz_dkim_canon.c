/* fuzz_dkim_canon.c: libFuzzer target for the DKIM canonicalizers and the message
 * splitter (src/outbound/dkim_canon.c, dkim_msg.c) and the zone-file TXT reader
 * (dkim_zone.c). The first input byte picks a split point; the rest is a message.
 * Checks: the body canonicalizers give the same bytes whole and split in two; relaxed
 * output has no whitespace run, no whitespace before CRLF, no trailing empty line, and
 * every line ends in CRLF; simple output is never empty and ends in CRLF; the header
 * splitter's fields tile the header and each holds one field; each field's relaxed
 * form has a lower-case name and no folding; the zone reader stays in bounds.
 * Seeds: fuzz/corpus/dkim_canon/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/dkim_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_buf {
	uint8_t *p;
	size_t n, cap;
};

static void fuzz_sink(void *ctx, const uint8_t *p, size_t len)
{
	struct fuzz_buf *b = ctx;
	if (b->n + len > b->cap) {
		size_t cap = (b->n + len) * 2 + 64;
		uint8_t *np = realloc(b->p, cap);
		assert(np);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, len);
	b->n += len;
}

static void body_canon(enum dkim_canon mode, const uint8_t *p, size_t len, size_t split,
                       struct fuzz_buf *out)
{
	struct dkim_body_canon c;
	out->n = 0;
	dkim_body_canon_init(&c, mode, fuzz_sink, out);
	dkim_body_canon_feed(&c, p, split);
	dkim_body_canon_feed(&c, p + split, len - split);
	dkim_body_canon_finish(&c);
}

static void check_relaxed(const struct fuzz_buf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->p[i] == '\t')
			assert(0);  /* every whitespace run became one SP */
		if (b->p[i] == ' ') /* not doubled, not at a line end (a bare CR is content) */
			assert(i + 1 < b->n && b->p[i + 1] != ' ' &&
			       !(b->p[i + 1] == '\r' && i + 2 < b->n && b->p[i + 2] == '\n'));
		if (b->p[i] == '\n')
			assert(i > 0 && b->p[i - 1] == '\r');
	}
	if (b->n) {
		assert(b->n >= 2 && b->p[b->n - 2] == '\r' && b->p[b->n - 1] == '\n');
		assert(b->n < 4 || memcmp(b->p + b->n - 4, "\r\n\r\n", 4) != 0);
	}
}

static void msg_body(void *ctx, const uint8_t *p, size_t len)
{
	fuzz_sink(ctx, p, len);
}

static void check_split(const uint8_t *p, size_t len, size_t split)
{
	struct dkim_msg *m = malloc(sizeof(*m));
	struct fuzz_buf body = {0}, out = {0};
	assert(m);
	dkim_msg_init(m, msg_body, &body);
	int rc = dkim_msg_feed(m, p, split);
	if (rc >= 0)
		rc = dkim_msg_feed(m, p + split, len - split);
	if (rc >= 0)
		rc = dkim_msg_finish(m);
	if (rc >= 0) {
		size_t off = 0;
		for (size_t i = 0; i < m->nfields; i++) {
			const struct dkim_field *f = &m->field[i];
			assert(f->off == off && f->len > 0 && f->name_len <= f->len);
			off += f->len;
			out.n = 0;
			dkim_header_canon(DKIM_CANON_RELAXED, m->hdr + f->off, f->len, true,
			                  fuzz_sink, &out);
			assert(out.n >= 2 && out.p[out.n - 1] == '\n' && out.p[out.n - 2] == '\r');
			for (size_t k = 0; k + 2 < out.n; k++)
				assert(out.p[k] != '\n');
		}
		assert(off == m->hdr_len);
		/* header, body and the empty line between them are the whole input */
		assert(m->hdr_len + body.n <= len);
	}
	free(body.p);
	free(out.p);
	dkim_msg_free(m);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t len = size - 1, split = len ? data[0] % (len + 1) : 0;
	struct fuzz_buf whole = {0}, parts = {0};
	for (int mode = 0; mode < 2; mode++) {
		body_canon((enum dkim_canon)mode, p, len, len, &whole);
		body_canon((enum dkim_canon)mode, p, len, split, &parts);
		assert(whole.n == parts.n && (whole.n == 0 || !memcmp(whole.p, parts.p, whole.n)));
		if (mode == DKIM_CANON_RELAXED)
			check_relaxed(&whole);
		else
			assert(whole.n >= 2 && whole.p[whole.n - 1] == '\n');
	}
	free(whole.p);
	free(parts.p);
	check_split(p, len, split);
	char txt[256];
	size_t tl = 0;
	int rc = dkim_zone_txt(p, len, "a.example", txt, sizeof(txt), &tl);
	assert(rc == 0 || rc == ERR_NOTFOUND || rc == ERR_BAD_SYNTAX || rc == ERR_TOO_BIG);
	assert(rc != 0 || (tl < sizeof(txt) && txt[tl] == '\0'));
	return 0;
}
