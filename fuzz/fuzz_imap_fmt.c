/* fuzz_imap_fmt.c: libFuzzer target for the IMAP formatter. Each input is a message: it
 * is parsed and cached as the store does (mime_parse, mime_serialize, mime_deserialize),
 * then ENVELOPE, BODY and BODYSTRUCTURE are written for rev1 and UTF-8 sessions and each
 * answer must be one well-formed IMAP value (balanced lists, quoted strings without CR,
 * LF, NUL or stray escapes, literals of the length they announce, no NUL anywhere).
 * The input's bytes also go through imap_put_string / imap_put_astring, whose output
 * must read back as the input (NUL as U+FFFD). Sections named by the input's first bytes
 * must lie inside the message, and HEADER.FIELDS(.NOT) answers within their bound. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_fmt.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

#define BAD SIZE_MAX

/* The output buffer; an answer too big for it (only for inputs built to blow up, e.g.
 * thousands of tiny addresses written three times as from, sender and reply-to) is
 * dropped and not checked. */
static bool overflow;

static void out_write(void *ctx, const void *p, size_t n)
{
	CHECK(n > 0);
	if (buf_append(ctx, p, n) < 0)
		overflow = true;
}

/* The end of the IMAP value at s[i], or BAD. */
static size_t skip_value(const uint8_t *s, size_t n, size_t i, unsigned depth)
{
	if (i >= n || depth > 2 * LIMIT_MIME_DEPTH + 4)
		return BAD;
	if (s[i] == '(') {
		i++;
		bool first = true;
		while (i < n && s[i] != ')') {
			/* one SP between values; none between the parts of a multipart */
			if (!first && s[i] == ' ')
				i++;
			first = false;
			if ((i = skip_value(s, n, i, depth + 1)) == BAD)
				return BAD;
		}
		return i < n ? i + 1 : BAD;
	}
	if (s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
				return BAD;
			if (s[i] == '\\' && (i + 1 >= n || (s[i + 1] != '"' && s[i + 1] != '\\')))
				return BAD;
			if (s[i] == '\\')
				i++;
		}
		return i < n ? i + 1 : BAD;
	}
	if (s[i] == '{') {
		uint64_t len = 0;
		size_t j = i + 1;
		for (; j < n && s[j] >= '0' && s[j] <= '9'; j++)
			len = len * 10 + (uint64_t)(s[j] - '0');
		if (j == i + 1 || j + 3 > n || memcmp(s + j, "}\r\n", 3) != 0 || len > n - j - 3)
			return BAD;
		j += 3;
		CHECK(!memchr(s + j, 0, (size_t)len));
		return j + (size_t)len;
	}
	size_t j = i;
	while (j < n && ((s[j] >= '0' && s[j] <= '9') || (s[j] >= 'A' && s[j] <= 'Z')))
		j++;
	return j > i ? j : BAD;
}

static void well_formed(const struct buf *b)
{
	if (!overflow)
		CHECK(skip_value(b->data, b->len, 0, 0) == b->len);
	overflow = false;
}

/* Read back a string value written by imap_put_string into out. */
static void read_string(const struct buf *b, struct buf *out)
{
	const uint8_t *s = b->data;
	buf_clear(out);
	if (s[0] == '"') {
		for (size_t i = 1; i + 1 < b->len; i++) {
			if (s[i] == '\\')
				i++;
			CHECK(buf_append(out, s + i, 1) == 0);
		}
		return;
	}
	size_t i = 1;
	while (s[i] != '}')
		i++;
	CHECK(buf_append(out, s + i + 3, b->len - i - 3) == 0);
}

static void strings(const uint8_t *data, size_t size, struct buf *o, struct buf *back,
                    struct buf *want)
{
	struct imap_sink sink = {out_write, o};
	buf_clear(want);
	for (size_t i = 0; i < size; i++)
		CHECK(buf_append(want, data[i] ? data + i : (const uint8_t *)"\xef\xbf\xbd",
		                 data[i] ? 1 : 3) == 0);
	for (int utf8 = 0; utf8 < 2; utf8++) {
		buf_clear(o);
		imap_put_string(&sink, data, size, utf8);
		CHECK(!overflow); /* a string is at most 3 times its bytes and a literal head */
		well_formed(o);
		read_string(o, back);
		CHECK(back->len == want->len && memcmp(back->data, want->data, want->len) == 0);
		buf_clear(o);
		imap_put_astring(&sink, data, size, utf8);
		if (o->len == size && size && memcmp(o->data, data, size) == 0)
			CHECK(!memchr(data, ' ', size) && !memchr(data, '"', size));
		else
			well_formed(o);
	}
}

static void structure(const struct mime_part *root, struct buf *o)
{
	struct imap_sink sink = {out_write, o};
	for (int utf8 = 0; utf8 < 2; utf8++) {
		buf_clear(o);
		imap_put_envelope(&sink, root->envelope, utf8);
		well_formed(o);
		for (int ext = 0; ext < 2; ext++) {
			buf_clear(o);
			imap_put_bodystructure(&sink, root, ext, utf8);
			well_formed(o);
		}
	}
}

/* A section from the input's first bytes: up to 4 part numbers 0..3, then a kind. */
static void sections(const struct mime_part *root, const uint8_t *data, size_t size,
                     struct arena *a)
{
	static const char *names[] = {"subject", "FROM", "content-type", "x-\xff"};
	for (size_t k = 0; k < 8; k++) {
		struct imap_section sec;
		memset(&sec, 0, sizeof(sec));
		uint8_t b = k < size ? data[k] : (uint8_t)k;
		sec.nparts = b & 3;
		for (size_t i = 0; i < sec.nparts; i++)
			sec.part[i] = (uint32_t)((b >> (2 + i)) & 3);
		sec.kind = (enum imap_section_kind)((b >> 5) % 6);
		sec.fields = names;
		sec.nfields = sizeof(names) / sizeof(names[0]);
		uint64_t start = 0, len = 0;
		int r = imap_section_locate(root, &sec, &start, &len);
		CHECK(r == 0 || r == ERR_NOTFOUND || r == ERR_INVAL);
		if (r < 0)
			continue;
		CHECK(start <= size && len <= size - start);
		if (sec.kind != IMAP_SECTION_HEADER_FIELDS && sec.kind != IMAP_SECTION_HEADER_NOT)
			continue;
		uint8_t *out;
		size_t out_len;
		r = imap_filter_header(data + start, (size_t)len, &sec, a, &out, &out_len);
		CHECK(r == 0 || r == ERR_NOMEM);
		if (r == 0)
			CHECK(out_len <= len + 2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a, 256u << 20);
	struct buf o, back, want;
	/* room for any answer but the blow-ups (see overflow) */
	size_t cap = size * 16 + (size_t)LIMIT_MIME_PARTS * 512 + 4096;
	CHECK(buf_alloc(&o, &a, cap) == 0 && buf_alloc(&back, &a, size * 3 + 16) == 0 &&
	      buf_alloc(&want, &a, size * 3 + 16) == 0);
	strings(data, size, &o, &back, &want);
	struct mime_part *root, *cached;
	void *blob;
	size_t blen;
	if (mime_parse(data, size, &a, &root) == 0 && mime_serialize(root, &a, &blob, &blen) == 0 &&
	    mime_deserialize(blob, blen, &a, &cached) == 0) {
		structure(cached, &o);
		sections(cached, data, size, &a);
	}
	arena_free(&a);
	return 0;
}
