/* fuzz_mime_extract.c: libFuzzer target for mime_extract and the text pipeline under
 * it. The input is extracted as a message; the invariants of struct mime_extract must
 * hold (bounded, valid UTF-8 text and preview, no CR or NUL in the text, well-formed
 * and distinct ids, a blob that decodes and re-encodes to itself). Then the same bytes
 * go through the HTML reducer, a charset converter (chosen by the first byte) and the
 * preview builder, each whole and cut in two at a point the input picks: the outputs
 * must not depend on the cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "mime/mime_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static size_t utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; chars++) {
		size_t l = str_utf8_seq(s + i, n - i, NULL);
		CHECK(l > 0);
		i += l;
	}
	return chars;
}

static void check_refs(const char *refs)
{
	const char *ids[LIMIT_REFERENCES + 1];
	size_t lens[LIMIT_REFERENCES + 1], n = 0;
	for (const char *p = refs; *p;) {
		const char *sp = strchr(p, ' ');
		size_t l = sp ? (size_t)(sp - p) : strlen(p);
		CHECK(n < LIMIT_REFERENCES && l >= 3 && p[0] == '<' && p[l - 1] == '>');
		CHECK(l <= LIMIT_MSGID + 2);
		for (size_t i = 0; i < n; i++)
			CHECK(lens[i] != l || memcmp(ids[i], p, l) != 0);
		ids[n] = p;
		lens[n++] = l;
		p += l + (sp != NULL);
		CHECK(!sp || *p);
	}
}

static void check_extract(const uint8_t *data, size_t size, struct arena *a)
{
	struct mime_extract x;
	int r = mime_extract(data, size, a, &x);
	CHECK(r == 0 || r == ERR_NOMEM);
	if (r)
		return;
	CHECK(x.header_len == x.root->body_start && x.header_len <= size);
	CHECK(x.text && x.text_len <= LIMIT_SEARCH_TEXT && x.text[x.text_len] == '\0');
	CHECK(!memchr(x.text, '\r', x.text_len) && !memchr(x.text, '\0', x.text_len));
	utf8_chars(x.text, x.text_len);
	CHECK(x.preview && x.preview[x.preview_len] == '\0');
	CHECK(utf8_chars(x.preview, x.preview_len) <= LIMIT_PREVIEW_CHARS);
	CHECK(x.preview_len == 0 || (x.preview[0] != ' ' && x.preview[x.preview_len - 1] != ' '));
	if (x.message_id) {
		size_t l = strlen(x.message_id);
		CHECK(l >= 3 && l <= LIMIT_MSGID + 2 && !strchr(x.message_id, ' '));
		CHECK(x.message_id[0] == '<' && x.message_id[l - 1] == '>');
	}
	if (x.references)
		check_refs(x.references);
	struct mime_part *back;
	void *blob;
	size_t len;
	CHECK(mime_deserialize(x.blob, x.blob_len, a, &back) == 0);
	CHECK(mime_serialize(back, a, &blob, &len) == 0);
	CHECK(len == x.blob_len && memcmp(blob, x.blob, len) == 0);
}

struct sink {
	uint8_t *b;
	size_t len, cap;
};

static bool sink_emit(void *arg, const uint8_t *p, size_t n)
{
	struct sink *s = arg;
	CHECK(s->len + n <= s->cap);
	memcpy(s->b + s->len, p, n);
	s->len += n;
	return true;
}

static const char *const charsets[] = {"utf-8",  "iso-8859-1", "shift_jis", "iso-2022-jp",
                                       "utf-16", "utf-7",      "gb18030",   "x-unknown"};

/* Converter then HTML reducer then preview, with the input cut at `cut`. */
static void pipeline(const uint8_t *p, size_t n, size_t cut, const char *cs, struct sink *conv,
                     struct sink *html, struct mime_preview *pv)
{
	struct mime_conv c;
	struct mime_html h;
	conv->len = html->len = 0;
	mime_conv_open(&c, cs, strlen(cs), sink_emit, conv);
	mime_conv_put(&c, p, cut);
	mime_conv_put(&c, p + cut, n - cut);
	mime_conv_close(&c);
	utf8_chars((const char *)conv->b, conv->len);
	size_t hcut = conv->len ? cut % (conv->len + 1) : 0;
	mime_html_init(&h, sink_emit, html);
	mime_html_put(&h, conv->b, hcut);
	mime_html_put(&h, conv->b + hcut, conv->len - hcut);
	mime_html_close(&h);
	utf8_chars((const char *)html->b, html->len);
	mime_preview_init(pv);
	size_t pcut = html->len ? cut % (html->len + 1) : 0;
	mime_preview_put(pv, html->b, pcut);
	mime_preview_put(pv, html->b + pcut, html->len - pcut);
}

static void check_pipeline(const uint8_t *data, size_t size, struct arena *a)
{
	if (size < 2)
		return;
	const char *cs = charsets[data[0] % (sizeof(charsets) / sizeof(charsets[0]))];
	size_t cut = data[1] % size;
	/* U+FFFD is 3 bytes per input byte at most; reduction and entities never grow
	 * past 4 bytes per input byte. */
	size_t cap = 4 * size + 16;
	struct sink c1 = {malloc(cap), 0, cap}, c2 = {malloc(cap), 0, cap};
	struct sink h1 = {malloc(cap), 0, cap}, h2 = {malloc(cap), 0, cap};
	struct mime_preview *p1 = malloc(sizeof(*p1)), *p2 = malloc(sizeof(*p2));
	CHECK(c1.b && c2.b && h1.b && h2.b && p1 && p2);
	pipeline(data, size, 0, cs, &c1, &h1, p1);
	pipeline(data, size, cut, cs, &c2, &h2, p2);
	/* glibc's UTF-7 decoder cannot back up over a bad surrogate begun in an earlier
	 * call, so there only the bounds are checked (mime_int.h says so). */
	bool exact = strcmp(cs, "utf-7") != 0;
	CHECK(!exact || (c1.len == c2.len && memcmp(c1.b, c2.b, c1.len) == 0));
	CHECK(!exact || (h1.len == h2.len && memcmp(h1.b, h2.b, h1.len) == 0));
	struct mime_str s1, s2;
	CHECK(mime_preview_finish(p1, a, &s1) == 0 && mime_preview_finish(p2, a, &s2) == 0);
	CHECK(!exact || (s1.len == s2.len && memcmp(s1.s, s2.s, s1.len) == 0));
	CHECK(utf8_chars(s1.s, s1.len) <= LIMIT_PREVIEW_CHARS);
	free(c1.b);
	free(c2.b);
	free(h1.b);
	free(h2.b);
	free(p1);
	free(p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a, 256u << 20);
	check_extract(data, size, &a);
	arena_reset(&a);
	check_pipeline(data, size, &a);
	arena_free(&a);
	return 0;
}
