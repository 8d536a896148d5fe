/* test_mime_extract.c: mime_extract on tricky messages: nested multiparts, alternatives
 * with HTML first, charsets (ISO-8859-1, windows-1252, UTF-8 with a BOM, unknown),
 * quoted-printable and base64 with defects, HTML with entities and tags across lines,
 * messages without text, attachments, encapsulated messages, encoded-word subjects,
 * References with comments and folding, a 20 MB message; LIMIT_SEARCH_TEXT at
 * -1/0/+1. Every result is also checked against the invariants of struct mime_extract. */
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
#include "mime/mime.h"

static struct arena A;

static int setup(void **state)
{
	arena_init(&A, 256u << 20);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&A);
	return 0;
}

static size_t utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n;) {
		size_t l = str_utf8_seq(s + i, n - i, NULL);
		if (l == 0)
			fail_msg("not UTF-8 at byte %zu", i);
		i += l;
		chars++;
	}
	return chars;
}

/* Extract and check what holds for every message. */
static void extract_len(const char *msg, size_t len, struct mime_extract *x)
{
	assert_int_equal(mime_extract((const uint8_t *)msg, len, &A, x), 0);
	assert_non_null(x->root);
	assert_non_null(x->blob);
	struct mime_part *back;
	assert_int_equal(mime_deserialize(x->blob, x->blob_len, &A, &back), 0);
	assert_int_equal(x->header_len, x->root->body_start);
	assert_true(x->header_len <= len);
	assert_non_null(x->text);
	assert_non_null(x->preview);
	assert_int_equal(x->text[x->text_len], '\0');
	assert_int_equal(x->preview[x->preview_len], '\0');
	assert_true(x->text_len <= LIMIT_SEARCH_TEXT);
	assert_null(memchr(x->text, '\r', x->text_len));
	assert_null(memchr(x->text, '\0', x->text_len));
	(void)utf8_chars(x->text, x->text_len);
	assert_true(utf8_chars(x->preview, x->preview_len) <= LIMIT_PREVIEW_CHARS);
	if (x->preview_len) {
		assert_true(x->preview[0] != ' ');
		assert_true(x->preview[x->preview_len - 1] != ' ');
	}
	if (x->message_id) {
		assert_int_equal(x->message_id[0], '<');
		assert_int_equal(x->message_id[strlen(x->message_id) - 1], '>');
	}
}

static void extract(const char *msg, struct mime_extract *x)
{
	extract_len(msg, strlen(msg), x);
}

static void assert_text(const struct mime_extract *x, const char *want)
{
	if (x->text_len != strlen(want) || memcmp(x->text, want, x->text_len) != 0)
		fail_msg("text \"%s\", want \"%s\"", x->text, want);
}

static void assert_preview(const struct mime_extract *x, const char *want)
{
	if (strcmp(x->preview, want) != 0)
		fail_msg("preview \"%s\", want \"%s\"", x->preview, want);
}

static void plain(void **state)
{
	static const char msg[] = "From: a@example.org\r\n"
	                          "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus K\xc3\xb6ln\r\n"
	                          "Message-ID: <1234@example.org>\r\n"
	                          "\r\n"
	                          "Hello,\r\n"
	                          "\r\n"
	                          "how   are you?\r\n";
	struct mime_extract x;
	extract(msg, &x);
	assert_int_equal(x.header_len, strstr(msg, "\r\n\r\n") + 4 - msg);
	assert_text(&x, "Hello,\n\nhow   are you?\n");
	assert_preview(&x, "Hello, how are you?");
	assert_string_equal(x.message_id, "<1234@example.org>");
	assert_null(x.references);
	/* the envelope keeps the encoded word as written; decoding it is the reader's */
	assert_int_equal(x.root->envelope->subject.len,
	                 strlen("=?ISO-8859-1?Q?Gr=FC=DFe?= aus K\xc3\xb6ln"));
	struct mime_str subj;
	assert_int_equal(mime_decode_words((const uint8_t *)x.root->envelope->subject.s,
	                                   x.root->envelope->subject.len, &A, &subj),
	                 0);
	assert_string_equal(subj.s, "Gr\xc3\xbc\xc3\x9f"
	                            "e aus K\xc3\xb6ln");
}

static void nested_multiparts(void **state)
{
	static const char msg[] = "From: a@example.org\r\n"
	                          "Content-Type: multipart/mixed; boundary=outer\r\n"
	                          "\r\n"
	                          "preamble is not text\r\n"
	                          "--outer\r\n"
	                          "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
	                          "\r\n"
	                          "--alt\r\n"
	                          "Content-Type: text/html; charset=utf-8\r\n"
	                          "\r\n"
	                          "<html><body><p>The <b>HTML</b> version</p></body></html>\r\n"
	                          "--alt\r\n"
	                          "Content-Type: multipart/related; boundary=rel\r\n"
	                          "\r\n"
	                          "--rel\r\n"
	                          "Content-Type: text/plain; charset=us-ascii\r\n"
	                          "\r\n"
	                          "The plain version\r\n"
	                          "--rel\r\n"
	                          "Content-Type: image/png\r\n"
	                          "Content-Transfer-Encoding: base64\r\n"
	                          "\r\n"
	                          "iVBORw0KGgo=\r\n"
	                          "--rel--\r\n"
	                          "--alt--\r\n"
	                          "--outer\r\n"
	                          "Content-Type: text/plain; name=notes.txt\r\n"
	                          "Content-Disposition: attachment; filename=notes.txt\r\n"
	                          "\r\n"
	                          "attached text is searchable too\r\n"
	                          "--outer\r\n"
	                          "Content-Type: application/pdf\r\n"
	                          "Content-Transfer-Encoding: base64\r\n"
	                          "\r\n"
	                          "JVBERi0xLjQK\r\n"
	                          "--outer\r\n"
	                          "Content-Type: text/plain\r\n"
	                          "Content-Disposition: inline\r\n"
	                          "\r\n"
	                          "inline footer\r\n"
	                          "--outer--\r\n"
	                          "epilogue\r\n";
	struct mime_extract x;
	extract(msg, &x);
	/* alternative with HTML first: the preview still comes from text/plain */
	assert_preview(&x, "The plain version");
	assert_text(&x, "The HTML version\nThe plain version\nattached text is searchable too\n"
	               "inline footer");
}

static void html_only(void **state)
{
	static const char msg[] =
	    "Content-Type: text/html; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<!DOCTYPE html><html><head><title>Newsletter</title>\r\n"
	    "<style type=3D\"text/css\">p { color: red; }</style></head>\r\n"
	    "<body><!-- tracking --><div\r\n"
	    "  class=3D\"x\">Caf=E9 &amp; cr=E8me&nbsp;br=FBl=E9e,\r\n"
	    "price 5&euro; =96 50% off</div><script>var a =3D \"<p>\";</script>\r\n"
	    "<p>Second&#8203;paragraph &lt;tag&gt;</p></body></html>\r\n";
	struct mime_extract x;
	extract(msg, &x);
	assert_text(&x, "Caf\xc3\xa9 & cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
	                "e, price 5\xe2\x82\xac "
	                "\xe2\x80\x93 50% off\nSecondparagraph <tag>");
	assert_preview(&x, "Caf\xc3\xa9 & cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
	                   "e, price 5\xe2\x82\xac "
	                   "\xe2\x80\x93 50% off Secondparagraph <tag>");
}

static void charsets(void **state)
{
	static const struct {
		const char *cs, *cte, *body, *want;
	} cases[] = {
	    {"iso-8859-1", "quoted-printable", "caf=E9 =80", "caf\xc3\xa9 \xe2\x82\xac"},
	    {"windows-1252", "8bit", "\x93quoted\x94", "\xe2\x80\x9cquoted\xe2\x80\x9d"},
	    {"utf-8", "base64", "77u/aMOpbGxv", "h\xc3\xa9llo"}, /* with a BOM */
	    {"x-no-such-charset", "8bit", "ok \xc3\xa9 \xe9", "ok \xc3\xa9 \xef\xbf\xbd"},
	    {"\"UTF-8\"", "7bit", "quoted charset", "quoted charset"},
	    {"koi8-r", "8bit", "\xf0\xd2\xc9\xd7\xc5\xd4",
	     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2"
	     "\xd0\xb5\xd1\x82"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *msg = arena_printf(&A,
		                         "Content-Type: text/plain; charset=%s\r\n"
		                         "Content-Transfer-Encoding: %s\r\n\r\n%s",
		                         cases[i].cs, cases[i].cte, cases[i].body);
		struct mime_extract x;
		extract(msg, &x);
		assert_text(&x, cases[i].want);
		assert_preview(&x, cases[i].want);
	}
	/* no charset at all, 8-bit bytes: read as UTF-8, the rest U+FFFD */
	struct mime_extract x;
	extract("Subject: x\r\n\r\nna\xc3\xafve \xff", &x);
	assert_text(&x, "na\xc3\xafve \xef\xbf\xbd");
}

static void transfer_defects(void **state)
{
	static const char msg[] = "Content-Type: multipart/mixed; boundary=b\r\n"
	                          "\r\n"
	                          "--b\r\n"
	                          "Content-Type: text/plain; charset=utf-8\r\n"
	                          "Content-Transfer-Encoding: quoted-printable\r\n"
	                          "\r\n"
	                          "soft=\r\n"
	                          "break, bad =ZZ escape, =C3=A9, trailing   \r\n"
	                          "last line ends in a soft break=\r\n"
	                          "--b\r\n"
	                          "Content-Type: text/plain\r\n"
	                          "Content-Transfer-Encoding: base64\r\n"
	                          "\r\n"
	                          "d2l0aCB3aGl0\r\n"
	                          "ZX NwYWNl!!IGFu\r\n"
	                          "ZCBnYXJiYWdl\r\n"
	                          "IG5vIHBhZA\r\n"
	                          "--b\r\n"
	                          "Content-Type: text/plain\r\n"
	                          "Content-Transfer-Encoding: x-uuencode\r\n"
	                          "\r\n"
	                          "raw because unknown\r\n"
	                          "--b--\r\n";
	struct mime_extract x;
	extract(msg, &x);
	assert_text(&x, "softbreak, bad =ZZ escape, \xc3\xa9, trailing\nlast line ends in a soft "
	                "break\nwith whitespace and garbage no pad\nraw because unknown");
}

static void no_text(void **state)
{
	static const char *const msgs[] = {
	    "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "AAECAw==\r\n",
	    "Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff",
	    "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: image/gif\r\n"
	    "\r\nGIF89a\r\n--x--\r\n",
	    "Subject: header only, no body",
	    "",
	};
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct mime_extract x;
		extract(msgs[i], &x);
		assert_int_equal(x.text_len, 0);
		assert_int_equal(x.preview_len, 0);
	}
	struct mime_extract x;
	extract("Subject: header only, no body", &x);
	assert_int_equal(x.header_len, strlen("Subject: header only, no body"));
	/* a text attachment is text a reader can read, so it is searched; no preview */
	extract("Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nfile\r\n",
	        &x);
	assert_text(&x, "file\n");
	assert_int_equal(x.preview_len, 0);
}

static void encapsulated(void **state)
{
	static const char inline_msg[] = "Content-Type: multipart/mixed; boundary=b\r\n"
	                                 "\r\n"
	                                 "--b\r\n"
	                                 "Content-Type: text/plain\r\n"
	                                 "\r\n"
	                                 "> old quote\r\n"
	                                 "See the forwarded message.\r\n"
	                                 "--b\r\n"
	                                 "Content-Type: message/rfc822\r\n"
	                                 "\r\n"
	                                 "Subject: inner\r\n"
	                                 "Content-Type: text/plain\r\n"
	                                 "\r\n"
	                                 "inner body\r\n"
	                                 "--b\r\n"
	                                 "Content-Type: message/rfc822\r\n"
	                                 "Content-Disposition: attachment\r\n"
	                                 "\r\n"
	                                 "Subject: attached\r\n"
	                                 "\r\n"
	                                 "attached body\r\n"
	                                 "--b--\r\n";
	struct mime_extract x;
	extract(inline_msg, &x);
	/* each encapsulated message, attached or not, as a reader sees it: the shown
	 * header fields (decoded, in their order) above its text */
	assert_text(&x, "> old quote\nSee the forwarded message.\nSubject: inner\ninner body\n"
	                "Subject: attached\nattached body");
	assert_preview(&x, "See the forwarded message.");
	/* a message that is only an encapsulated one: its text gives the preview */
	extract("Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\n> all quoted\r\n", &x);
	assert_preview(&x, "all quoted");
	/* the shown fields only, decoded; a folded value is unfolded */
	extract("Content-Type: message/rfc822\r\n\r\n"
	        "X-Mailer: not shown\r\nFrom: =?utf-8?q?J=C3=BCrgen?= <j@x.example>\r\n"
	        "Date: Mon, 1 Jan 2024\r\n 10:00:00 +0000\r\nReceived: by x\r\n"
	        "To: carol@y.example\r\n\r\nbody\r\n",
	        &x);
	assert_text(&x, "From: J\xc3\xbcrgen <j@x.example>\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n"
	                "To: carol@y.example\nbody\n");
}

static void ids(void **state)
{
	static const char msg[] = "Message-ID: (generated) <abc.123 @\r\n"
	                          " mail.example.org>\r\n"
	                          "References: <root@x> (the first one, not <fake@x>)\r\n"
	                          " <mid@x>\r\n"
	                          "\t<abc.123@mail.example.org> <root@x>\r\n"
	                          "In-Reply-To: \"Bob's message\" <last@x>\r\n"
	                          "References: <second-field-ignored@x>\r\n"
	                          "\r\n"
	                          "body\r\n";
	struct mime_extract x;
	extract(msg, &x);
	assert_string_equal(x.message_id, "<abc.123@mail.example.org>");
	assert_string_equal(x.references, "<root@x> <mid@x> <last@x>");
	extract("In-Reply-To: <only@x>\r\nMessage-ID: broken@id\r\n\r\n", &x);
	assert_string_equal(x.references, "<only@x>");
	assert_string_equal(x.message_id, "<broken@id>");
	extract("Message-ID: no id here\r\nReferences: junk\r\n\r\n", &x);
	assert_null(x.message_id);
	assert_null(x.references);
}

/* A message of n bytes of text in one part: "x" then two-byte characters, so that the
 * bound falls inside a character when n is LIMIT_SEARCH_TEXT + 1. */
static const char big_head[] = "Content-Type: text/plain; charset=utf-8\r\n\r\n";

static char *big_text(size_t n, size_t *len_out)
{
	char *m = malloc(sizeof(big_head) + n);
	assert_non_null(m);
	memcpy(m, big_head, sizeof(big_head) - 1);
	size_t l = sizeof(big_head) - 1, end = l + n;
	m[l++] = 'x';
	while (l < end) {
		if (end - l >= 2) {
			memcpy(m + l, "\xc3\xa9", 2);
			l += 2;
		} else {
			m[l++] = 'z';
		}
	}
	*len_out = l;
	return m;
}

/* LIMIT_SEARCH_TEXT at -1/0/+1 bytes of text: all kept up to the bound, then cut at the
 * character boundary below it. */
static void search_text_limit(void **state)
{
	for (int k = -1; k <= 1; k++) {
		size_t n = (size_t)((long)LIMIT_SEARCH_TEXT + k), len;
		char *m = big_text(n, &len);
		struct mime_extract x;
		extract_len(m, len, &x);
		size_t body = sizeof(big_head) - 1;
		if (n <= LIMIT_SEARCH_TEXT)
			assert_int_equal(x.text_len, n);
		else
			assert_int_equal(x.text_len, LIMIT_SEARCH_TEXT - 1); /* "é" cut in two */
		assert_memory_equal(x.text, m + body, x.text_len);
		assert_int_equal(utf8_chars(x.preview, x.preview_len), LIMIT_PREVIEW_CHARS);
		free(m);
		arena_reset(&A);
	}
}

/* 20 MB: a 10 MB text part, a 10 MB base64 attachment; the text stays bounded and the
 * preview comes from the start. */
static void twenty_megabytes(void **state)
{
	static const char head[] = "Content-Type: multipart/mixed; boundary=big\r\n\r\n"
	                           "--big\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	                           "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
	static const char mid[] = "\r\n--big\r\nContent-Type: application/zip\r\n"
	                          "Content-Transfer-Encoding: base64\r\n"
	                          "Content-Disposition: attachment; filename=a.zip\r\n\r\n";
	static const char tail[] = "\r\n--big--\r\n";
	size_t part = 10u << 20, cap = sizeof(head) + 2 * part + sizeof(mid) + sizeof(tail) + 256;
	char *m = malloc(cap);
	assert_non_null(m);
	size_t l = 0;
	memcpy(m + l, head, sizeof(head) - 1);
	l += sizeof(head) - 1;
	while (l < sizeof(head) - 1 + part) {
		static const char line[] = "Gr=FC=DFe aus K=F6ln, line of text =\r\nsoft\r\n";
		memcpy(m + l, line, sizeof(line) - 1);
		l += sizeof(line) - 1;
	}
	memcpy(m + l, mid, sizeof(mid) - 1);
	l += sizeof(mid) - 1;
	static const char b64_line[] = "QUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJDQUJD"
	                               "QUJDQUJDQUJDQUJDQUJDQUJD\r\n";
	for (size_t end = l + part; l < end; l += sizeof(b64_line) - 1)
		memcpy(m + l, b64_line, sizeof(b64_line) - 1);
	memcpy(m + l, tail, sizeof(tail) - 1);
	l += sizeof(tail) - 1;
	assert_true(l <= cap);
	struct mime_extract x;
	extract_len(m, l, &x);
	assert_true(x.text_len <= LIMIT_SEARCH_TEXT && x.text_len > LIMIT_SEARCH_TEXT - 4);
	assert_memory_equal(x.text,
	                    "Gr\xc3\xbc\xc3\x9f"
	                    "e aus K\xc3\xb6ln, line of text soft\n",
	                    strlen("Gr\xc3\xbc\xc3\x9f"
	                           "e aus K\xc3\xb6ln, line of text soft\n"));
	assert_null(strstr(x.text, "QUJD"));
	assert_memory_equal(x.preview,
	                    "Gr\xc3\xbc\xc3\x9f"
	                    "e aus K\xc3\xb6ln, line of text soft Gr",
	                    strlen("Gr\xc3\xbc\xc3\x9f"
	                           "e aus K\xc3\xb6ln, line of text soft Gr"));
	assert_int_equal(utf8_chars(x.preview, x.preview_len), LIMIT_PREVIEW_CHARS);
	free(m);
}

/* The arena running out is ERR_NOMEM, never a crash, at every size. */
static void arena_exhaustion(void **state)
{
	static const char msg[] = "Message-ID: <a@b>\r\nReferences: <r@x>\r\n"
	                          "Content-Type: multipart/alternative; boundary=q\r\n\r\n"
	                          "--q\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n"
	                          "--q\r\nContent-Type: text/plain\r\n\r\nhi\r\n--q--\r\n";
	bool ok = false;
	for (size_t cap = 0; !ok; cap += 64) {
		struct arena small;
		struct mime_extract x;
		arena_init(&small, cap);
		int r = mime_extract((const uint8_t *)msg, strlen(msg), &small, &x);
		assert_true(r == 0 || r == ERR_NOMEM);
		ok = r == 0;
		if (ok)
			assert_string_equal(x.preview, "hi");
		arena_free(&small);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(nested_multiparts, setup, teardown),
	    cmocka_unit_test_setup_teardown(html_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(charsets, setup, teardown),
	    cmocka_unit_test_setup_teardown(transfer_defects, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(encapsulated, setup, teardown),
	    cmocka_unit_test_setup_teardown(ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(search_text_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(twenty_megabytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(arena_exhaustion, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
