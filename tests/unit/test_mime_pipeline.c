/* test_mime_pipeline.c: the pieces mime_extract streams text through: charset
 * conversion (mime_conv), HTML reduction (mime_html), the preview (mime_preview) and
 * message ids (mime_msgid). Each streaming piece is fed whole, cut at every offset and
 * one byte at a time, and must give the same text; bounds (LIMIT_PREVIEW_CHARS,
 * LIMIT_HTML_NAME, LIMIT_MSGID, LIMIT_REFERENCES) are tested at -1/0/+1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "mime/mime_int.h"

#define SINK_MAX 8192

static struct arena A;

static int setup(void **state)
{
	arena_init(&A, 64u << 20);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&A);
	return 0;
}

struct sink {
	uint8_t b[SINK_MAX];
	size_t len;
	size_t stop_at; /* 0: never stop */
};

static bool sink_emit(void *arg, const uint8_t *p, size_t n)
{
	struct sink *s = arg;
	assert_true(s->len + n <= sizeof(s->b));
	memcpy(s->b + s->len, p, n);
	s->len += n;
	return !s->stop_at || s->len < s->stop_at;
}

static void assert_bytes(const struct sink *s, const char *want)
{
	if (s->len != strlen(want) || memcmp(s->b, want, s->len) != 0)
		fail_msg("got \"%.*s\" (%zu bytes), want \"%s\"", (int)s->len, (const char *)s->b,
		         s->len, want);
}

/* Every UTF-8 sequence the sink got is well formed. */
static void assert_utf8(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = str_utf8_seq(p + i, n - i, NULL);
		assert_true(l > 0);
		i += l;
	}
}

/* ---- charset conversion ---- */

/* Convert in with the input cut at `cut` (0: whole), or byte by byte (cut == SIZE_MAX). */
static void conv_run(const char *cs, const uint8_t *in, size_t len, size_t cut, struct sink *s)
{
	struct mime_conv c;
	s->len = 0;
	mime_conv_open(&c, cs, cs ? strlen(cs) : 0, sink_emit, s);
	if (cut == SIZE_MAX) {
		for (size_t i = 0; i < len; i++)
			mime_conv_put(&c, in + i, 1);
	} else {
		mime_conv_put(&c, in, cut);
		mime_conv_put(&c, in + cut, len - cut);
	}
	mime_conv_close(&c);
}

static void conv_case(const char *cs, const char *in, size_t len, const char *want)
{
	static struct sink whole, part;
	if (!len)
		len = strlen(in);
	conv_run(cs, (const uint8_t *)in, len, 0, &whole);
	assert_bytes(&whole, want);
	assert_utf8(whole.b, whole.len);
	for (size_t cut = 0; cut <= len; cut++) {
		conv_run(cs, (const uint8_t *)in, len, cut, &part);
		assert_bytes(&part, want);
	}
	conv_run(cs, (const uint8_t *)in, len, SIZE_MAX, &part);
	assert_bytes(&part, want);
}

static void conv_charsets(void **state)
{
	conv_case("utf-8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
	          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	conv_case(NULL, "plain", 0, "plain");
	/* bad UTF-8: one U+FFFD per byte that does not start a sequence */
	conv_case("utf-8", "a\xff\xc3(\xe2\x82", 0,
	          "a\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd");
	conv_case("us-ascii", "a\xe9z", 0, "a\xef\xbf\xbdz");
	/* a byte order mark is dropped at the start only */
	conv_case("utf-8", "\xef\xbb\xbfhi\xef\xbb\xbf", 0, "hi\xef\xbb\xbf");
	conv_case("UTF-16LE", "\xff\xfeh\0i\0", 6, "hi");
	conv_case("utf-16", "\xfe\xff\0h\0i", 6, "hi");
	/* ISO-8859-1 is read as windows-1252 (WHATWG) */
	conv_case("iso-8859-1", "caf\xe9 \x80 \x93q\x94", 0,
	          "caf\xc3\xa9 \xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d");
	conv_case("Latin1", "\xe4", 0, "\xc3\xa4");
	conv_case("windows-1252", "\x80\x81", 0, "\xe2\x82\xac\xef\xbf\xbd");
	conv_case("iso-8859-15", "\xa4", 0, "\xe2\x82\xac");
	/* stateful and multibyte charsets, cut anywhere */
	conv_case("iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B!", 0,
	          "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf!");
	conv_case("shift_jis", "\x82\xa0\x82\xa2x", 0, "\xe3\x81\x82\xe3\x81\x84x");
	conv_case("gb2312", "\xc4\xe3\xba\xc3", 0, "\xe4\xbd\xa0\xe5\xa5\xbd");
	conv_case("utf-7", "a+AOk-b", 0,
	          "a\xc3\xa9"
	          "b");
	/* an unknown charset, or a name iconv must never see, is read as UTF-8 */
	conv_case("x-unknown", "ok \xc3\xa9 \xe9", 0, "ok \xc3\xa9 \xef\xbf\xbd");
	conv_case("utf-8//TRANSLIT", "\xc3\xa9", 0, "\xc3\xa9");
	/* a cut character at the end is one U+FFFD */
	conv_case("shift_jis", "x\x82", 0, "x\xef\xbf\xbd");
	conv_case("utf-8", "x\xf0\x9f\x98", 0, "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

/* A consumer that wants no more stops the converter. */
static void conv_stop(void **state)
{
	static struct sink s;
	struct mime_conv c;
	s.len = 0;
	s.stop_at = 3;
	mime_conv_open(&c, "iso-8859-1", 10, sink_emit, &s);
	assert_false(mime_conv_put(&c, (const uint8_t *)"abcdef", 6));
	assert_false(mime_conv_put(&c, (const uint8_t *)"ghi", 3));
	mime_conv_close(&c);
	assert_int_equal(s.len, 6); /* one piece went out, nothing after */
	s.stop_at = 0;
}

/* ---- HTML ---- */

static void html_run(const char *in, size_t cut, struct sink *s)
{
	struct mime_html h;
	size_t len = strlen(in);
	s->len = 0;
	mime_html_init(&h, sink_emit, s);
	if (cut == SIZE_MAX) {
		for (size_t i = 0; i < len; i++)
			mime_html_put(&h, (const uint8_t *)in + i, 1);
	} else {
		mime_html_put(&h, (const uint8_t *)in, cut);
		mime_html_put(&h, (const uint8_t *)in + cut, len - cut);
	}
	mime_html_close(&h);
}

static void html_case(const char *in, const char *want)
{
	static struct sink whole, part;
	html_run(in, 0, &whole);
	assert_bytes(&whole, want);
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		html_run(in, cut, &part);
		assert_bytes(&part, want);
	}
	html_run(in, SIZE_MAX, &part);
	assert_bytes(&part, want);
}

static void html_text(void **state)
{
	html_case("<p>Hello&nbsp;<b>World</b></p><p>Next &amp; more</p>",
	          "Hello World\nNext & more");
	html_case("  a \r\n\t b  ", "a b");
	html_case("x<br><br/><BR >y", "x\ny");
	html_case("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc");
	html_case("in<span>line</span> words", "inline words");
	/* script, style, title and head-only markup leave nothing */
	html_case("<html><head><title>T</title><style>p{x:1}</style><meta charset=utf-8>"
	          "</head><body>A<script>if (a<b) x='</p>';</script>B</body></html>",
	          "AB");
	html_case("a<SCRIPT type=x>var s = \"</scr\" + \"ipt>\";</SCRIPT >b", "ab");
	html_case("a<style>x</styles></style>b", "ab");
	/* comments, declarations, processing instructions */
	html_case("<!DOCTYPE html><?xml version=\"1.0\"?>a<!-- <p>x</p> -- -->b<!---->c", "abc");
	html_case("<!--[if mso]><p>old</p><![endif]--><!--[if !mso]><!-->new<!--<![endif]-->",
	          "new");
	html_case("a<!>b<!x>c", "abc");
	/* tags spanning lines, quoted ">" in attributes */
	html_case("<a\r\nhref=\"x>y\"\r\ntitle='a>b'\r\n>link</a> after", "link after");
	html_case("<img alt=\"1 > 2\" src=x>text", "text");
	html_case("<p class=a'b>c</p>", "c");
	/* "<" that starts no tag is text */
	html_case("a < b, 1<2, <3 and </ x> end", "a < b, 1<2, <3 and end");
	html_case("</>x", "x");
	html_case("trailing <", "trailing <");
	html_case("unclosed <b", "unclosed");
}

static void html_references(void **state)
{
	html_case("&lt;&gt;&quot;&apos;&#39;&#x41;&#65;&euro;&eacute;",
	          "<>\"''AA\xe2\x82\xac\xc3\xa9");
	html_case("&amp &lt &copy;", "& < \xc2\xa9");
	html_case("&unknown; &eacute &#; &#x; &;&", "&unknown; &eacute &#; &#x; &;&");
	html_case("&#x80;&#150;", "\xe2\x82\xac\xe2\x80\x93");
	html_case("a&#0;b&#xD800;c&#99999999999;d", "a\xef\xbf\xbd"
	                                            "b\xef\xbf\xbd"
	                                            "c\xef\xbf\xbd"
	                                            "d");
	html_case("a&shy;b&#x200B;c&zwj;d", "abcd");
	html_case("a&nbsp;&nbsp;&ensp;b&#9;c", "a b c");
	html_case("&#65x", "Ax");
	html_case("AT&T and R&D", "AT&T and R&D");
}

/* LIMIT_HTML_NAME at -1/0/+1: a reference name that long is no known one, kept as
 * written; a tag name that long is no known tag and leaves nothing. */
static void html_name_limit(void **state)
{
	for (int k = -1; k <= 1; k++) {
		char in[LIMIT_HTML_NAME + 16], want[LIMIT_HTML_NAME + 16];
		size_t n = (size_t)(LIMIT_HTML_NAME + k);
		in[0] = '&';
		memset(in + 1, 'q', n);
		memcpy(in + 1 + n, ";x", 3);
		memcpy(want, in, sizeof(in));
		html_case(in, want);
		in[0] = '<';
		memset(in + 1, 'p', n);
		memcpy(in + 1 + n, ">x", 3);
		html_case(in, "x");
	}
}

/* ---- preview ---- */

static void preview_run(const char *in, size_t cut, struct mime_str *out)
{
	struct mime_preview pv;
	size_t len = strlen(in);
	mime_preview_init(&pv);
	if (cut == SIZE_MAX) {
		for (size_t i = 0; i < len; i++)
			mime_preview_put(&pv, (const uint8_t *)in + i, 1);
	} else {
		mime_preview_put(&pv, (const uint8_t *)in, cut);
		mime_preview_put(&pv, (const uint8_t *)in + cut, len - cut);
	}
	assert_int_equal(mime_preview_finish(&pv, &A, out), 0);
}

static void preview_case(const char *in, const char *want)
{
	struct mime_str whole, part;
	preview_run(in, 0, &whole);
	if (whole.len != strlen(want) || memcmp(whole.s, want, whole.len) != 0)
		fail_msg("preview of \"%s\": \"%s\", want \"%s\"", in, whole.s, want);
	for (size_t cut = 0; cut <= strlen(in); cut++) {
		preview_run(in, cut, &part);
		assert_string_equal(part.s, want);
	}
	preview_run(in, SIZE_MAX, &part);
	assert_string_equal(part.s, want);
}

static void preview_text(void **state)
{
	preview_case("", "");
	preview_case(" \r\n\t ", "");
	preview_case("  Hello,\r\n\r\n  world\x01!  \r\n", "Hello, world !");
	preview_case("a\xc2\xa0\xc2\xa0"
	             "b \xc2\xa9",
	             "a b \xc2\xa9");
	/* quotes go aside: used only when nothing else came */
	preview_case("Hi\r\n> quoted\r\n>> deeper\r\n  > indented quote\r\nThanks", "Hi Thanks");
	preview_case("> one\n>two\n> > three\n", "one two three");
	preview_case("not > a quote", "not > a quote");
}

/* LIMIT_PREVIEW_CHARS at -1/0/+1 code points, with two-byte characters and with a
 * space right at the bound (a space is never the last character). */
static void preview_limit(void **state)
{
	for (int k = -1; k <= 1; k++) {
		size_t n = (size_t)(LIMIT_PREVIEW_CHARS + k);
		char in[4 * LIMIT_PREVIEW_CHARS + 16], want[4 * LIMIT_PREVIEW_CHARS + 16];
		size_t l = 0;
		for (size_t i = 0; i < n; i++) {
			in[l++] = '\xc3';
			in[l++] = '\xa9';
		}
		in[l] = '\0';
		size_t keep = n < LIMIT_PREVIEW_CHARS ? n : LIMIT_PREVIEW_CHARS;
		memcpy(want, in, 2 * keep);
		want[2 * keep] = '\0';
		preview_case(in, want);
		/* 255 x "a", a space, then one more word */
		memset(in, 'a', n - 1);
		memcpy(in + n - 1, " b", 3);
		memcpy(want, in, n + 2);
		if (n + 1 > LIMIT_PREVIEW_CHARS)
			want[n - 1] = '\0'; /* "a"s then no trailing space */
		preview_case(in, want);
	}
}

/* ---- message ids ---- */

static void msgid_first(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"<a@b>", "<a@b>"},
	    {" (comment <no@x>) <id @ host (c)>  ", "<id@host>"},
	    {"<id@\r\n host>", "<id@host>"},
	    {"<\"a b\"@h>", "<\"ab\"@h>"},
	    {"<\"a>b\"@h>", "<\"a>b\"@h>"},
	    {"<x@[1.2.3.4]>", "<x@[1.2.3.4]>"},
	    {"<no-at-sign>", "<no-at-sign>"},
	    {"bare@host.example", "<bare@host.example>"},
	    {" (c) bare@host (c) ", "<bare@host>"},
	    {"<> <first@x> <second@x>", "<first@x>"},
	    {"<broken <good@x>", "<good@x>"},
	    {"\"<phrase@x>\" <real@x>", "<real@x>"},
	    {"", NULL},
	    {"<>", NULL},
	    {"<unterminated@x", NULL},
	    {"two words@x", NULL},
	    {"noat", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mime_str out;
		assert_int_equal(
		    mime_msgid_first(&A, (const uint8_t *)cases[i].in, strlen(cases[i].in), &out),
		    0);
		if (!cases[i].want) {
			if (out.s)
				fail_msg("\"%s\" gave \"%s\"", cases[i].in, out.s);
			continue;
		}
		assert_non_null(out.s);
		assert_string_equal(out.s, cases[i].want);
		assert_int_equal(out.len, strlen(cases[i].want));
	}
}

/* LIMIT_MSGID at -1/0/+1 bytes of id. */
static void msgid_limit(void **state)
{
	for (int k = -1; k <= 1; k++) {
		size_t n = (size_t)(LIMIT_MSGID + k);
		char *in = arena_alloc(&A, n + 3);
		in[0] = '<';
		memset(in + 1, 'i', n);
		in[n / 2] = '@';
		in[n + 1] = '>';
		in[n + 2] = '\0';
		struct mime_str out;
		assert_int_equal(mime_msgid_first(&A, (const uint8_t *)in, n + 2, &out), 0);
		if (n <= LIMIT_MSGID) {
			assert_non_null(out.s);
			assert_string_equal(out.s, in);
		} else {
			assert_null(out.s);
		}
	}
}

static void msgid_lists(void **state)
{
	struct mime_str vals[2] = {
	    {"<a@x> (a comment <c@x>)\r\n <b@x>\r\n\t<a@x> <self@x> junk <b@x>", 0},
	    {"\"John's message\" <c@x> <a@x>", 0},
	};
	vals[0].len = strlen(vals[0].s);
	vals[1].len = strlen(vals[1].s);
	struct mime_str self = {"<self@x>", 8}, out;
	assert_int_equal(mime_msgid_list(&A, vals, 2, &self, &out), 0);
	assert_string_equal(out.s, "<a@x> <b@x> <c@x>");
	assert_int_equal(out.len, strlen(out.s));
	struct mime_str none[2] = {{NULL, 0}, {"no ids here", 11}};
	assert_int_equal(mime_msgid_list(&A, none, 2, NULL, &out), 0);
	assert_null(out.s);
	struct mime_str only_self = {"<self@x>", 8};
	assert_int_equal(mime_msgid_list(&A, &only_self, 1, &self, &out), 0);
	assert_null(out.s);
}

/* LIMIT_REFERENCES at -1/0/+1 distinct ids (with duplicates between them): all kept
 * up to the bound; past it the first and the most recent ones. */
static void msgid_list_limit(void **state)
{
	for (int k = -1; k <= 1; k++) {
		size_t n = (size_t)(LIMIT_REFERENCES + k);
		struct mime_sb in, want;
		mime_sb_init(&in, &A, SIZE_MAX - 1);
		mime_sb_init(&want, &A, SIZE_MAX - 1);
		for (size_t i = 0; i < n; i++) {
			char id[32];
			int l = snprintf(id, sizeof(id), "<%zu@x> ", i);
			mime_sb_put(&in, id, (size_t)l);
			mime_sb_put(&in, "<0@x> ", 6); /* a duplicate of the first */
			if (i == 0 || n - i < LIMIT_REFERENCES)
				mime_sb_put(&want, id, (size_t)l);
		}
		struct mime_str v, w, out;
		assert_int_equal(mime_sb_finish(&in, &v), 0);
		assert_int_equal(mime_sb_finish(&want, &w), 0);
		w.s[--w.len] = '\0'; /* no trailing space */
		assert_int_equal(mime_msgid_list(&A, &v, 1, NULL, &out), 0);
		assert_string_equal(out.s, w.s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(conv_charsets, setup, teardown),
	    cmocka_unit_test_setup_teardown(conv_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(html_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(html_references, setup, teardown),
	    cmocka_unit_test_setup_teardown(html_name_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(preview_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(preview_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(msgid_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(msgid_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(msgid_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(msgid_list_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
