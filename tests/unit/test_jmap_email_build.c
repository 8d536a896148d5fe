/* test_jmap_email_build.c: writing a message from a JMAP Email object (RFC 8621 4.6
 * create; src/http/jmap_email_build_*.c) without a store: the encoders round-trip
 * through the server's own decoders (RFC 2047 words through mime_decode_words, QP and
 * base64 through mime_cte_decode) with their line lengths (RFC 2045 6.7, 6.8: 76;
 * RFC 2047 2: words of 75; RFC 5322 2.1.1: 78 where possible, never past 998), dates
 * keep their offset (RFC 5322 3.3), and whole messages parse back with mime_parse in
 * the structure 4.6 asks for; refusals name the property (invalidProperties), every
 * missing blob (blobNotFound), and the bound (tooLarge, overQuota) at -1/0/+1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap_email_build_int.h"
#include "mime/mime.h"

static struct arena arena;

/* An output that keeps everything in its buffer (fd -1: never flushed to a file). */
static void out_mem(struct jeb_out *o)
{
	assert_int_equal(jeb_out_init(o, &arena, -1, UINT64_MAX, 1u << 20), 0);
}

/* Every line of [p, p+n) ends in CRLF (the last may lack it) and is at most max long. */
static void check_lines(const uint8_t *p, size_t n, size_t max)
{
	size_t line = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			assert_true(i > 0 && p[i - 1] == '\r');
			line = 0;
		} else if (p[i] != '\r' || (i + 1 < n && p[i + 1] != '\n')) {
			line++;
			if (line > max)
				fail_msg("line over %zu: %.*s", max, (int)n, (const char *)p);
		}
	}
}

/* ---- RFC 2047 ---- */

/* Subject written as text, read back: unfolded and decoded it is the input (trimmed). */
static void text_roundtrip(const char *s, bool encoded, size_t max_line)
{
	struct jeb_out o;
	struct mime_field f;
	struct mime_str dec;
	arena_reset(&arena);
	out_mem(&o);
	assert_int_equal(jeb_field_start(&o, "Subject"), 0);
	assert_int_equal(jeb_field_text(&o, s, strlen(s)), 0);
	assert_int_equal(jeb_field_end(&o), 0);
	assert_int_equal(jeb_put(&o, "\r\n", 2), 0);
	check_lines(o.buf, o.len, max_line);
	assert_int_equal(mime_header_find(o.buf, o.len, "Subject", &f), 1);
	assert_int_equal(mime_decode_words(f.value, f.value_len, &arena, &dec), 0);
	assert_string_equal(dec.s, s);
	assert_int_equal(memmem(o.buf, o.len, "=?UTF-8?", 8) != NULL, encoded);
	/* RFC 2047 2: no encoded word over 75 characters */
	for (const uint8_t *w = o.buf; (w = memmem(w, o.len - (size_t)(w - o.buf), "=?", 2));) {
		const uint8_t *end = memmem(w + 2, o.len - (size_t)(w + 2 - o.buf), "?=", 2);
		/* past "=?UTF-8?Q?" to the closing "?=" */
		end = memmem(w + 10, o.len - (size_t)(w + 10 - o.buf), "?=", 2);
		assert_non_null(end);
		assert_true(end + 2 - w <= JEB_WORD_MAX);
		w = end + 2;
	}
}

static void test_words_roundtrip(void **state)
{
	(void)state;
	char longascii[3000], longutf8[3000], longword[400];
	size_t k = 0;
	for (int i = 0; i < 100; i++)
		k += (size_t)snprintf(longascii + k, sizeof longascii - k, "word%d ", i);
	longascii[k - 1] = '\0';
	k = 0;
	for (int i = 0; i < 300; i++) {
		memcpy(longutf8 + k, i % 3 ? "\xc3\xa4" : "\xe2\x82\xac", i % 3 ? 2 : 3);
		k += i % 3 ? 2 : 3;
		if (i % 7 == 0)
			longutf8[k++] = ' ';
	}
	longutf8[k] = '\0';
	memset(longword, 'x', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	text_roundtrip("Hello world", false, 78);
	text_roundtrip(longascii, false, 78);
	text_roundtrip("Gr\xc3\xbc\xc3\x9f""e aus K\xc3\xb6ln", true, 78);
	text_roundtrip("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d", true, 78);
	text_roundtrip("emoji \xf0\x9f\x98\x80 and _ and ? and =", true, 78);
	text_roundtrip(longutf8, true, 78);
	/* text a decoder would read as an encoded word is encoded itself */
	text_roundtrip("not =?UTF-8?Q?a?= word", true, 78);
	/* a word too long for a line of its own is encoded, so it can be folded */
	text_roundtrip(longword, true, 78);
	text_roundtrip("tabs\tand  two spaces", false, 78);
	/* a whitespace run too long to keep on a line is kept inside encoded words */
	char spaces[300];
	memset(spaces, ' ', sizeof spaces);
	memcpy(spaces, "a", 1);
	memcpy(spaces + sizeof spaces - 2, "b", 2);
	text_roundtrip(spaces, true, 78);
}

/* A display name through an address: the envelope's name, decoded, is the input. */
static void phrase_roundtrip(const char *name)
{
	struct jeb_out o;
	struct jeb_hprop h = {.name = "From", .form = JEB_FORM_ADDRESSES};
	struct mime_part *root;
	struct mime_str dec;
	arena_reset(&arena);
	out_mem(&o);
	json_t *v = json_pack("[{s:s,s:s}]", "name", name, "email", "a.b@example.org");
	assert_int_equal(jeb_header_write(&o, &arena, &h, v), 0);
	json_decref(v);
	assert_int_equal(jeb_put(&o, "\r\nbody", 6), 0);
	check_lines(o.buf, o.len, 78);
	assert_int_equal(mime_parse(o.buf, o.len, &arena, &root), 0);
	struct mime_addr *ad = root->envelope->from;
	assert_non_null(ad);
	assert_string_equal(ad->mailbox.s, "a.b");
	assert_string_equal(ad->host.s, "example.org");
	assert_int_equal(mime_decode_words((const uint8_t *)ad->name.s, ad->name.len, &arena, &dec), 0);
	assert_string_equal(dec.s, name);
	assert_null(ad->next);
}

static void test_phrase_roundtrip(void **state)
{
	(void)state;
	phrase_roundtrip("Alice Example");
	phrase_roundtrip("Example, Alice (work)");
	phrase_roundtrip("Quote \" and \\ backslash");
	phrase_roundtrip("J\xc3\xbcrgen M\xc3\xbcller");
	phrase_roundtrip("A. Person <not@an.address>");
	phrase_roundtrip("\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e, with a much longer name "
			 "that needs more than one encoded word to be written down");
}

/* ---- transfer encodings ---- */

static void cte_roundtrip(enum jeb_cte cte, const uint8_t *in, size_t n, size_t max_line)
{
	struct jeb_out o;
	struct jeb_enc e;
	struct mime_cte_dec d;
	arena_reset(&arena);
	out_mem(&o);
	jeb_enc_init(&e, cte, &o);
	/* fed in pieces of 1, 2, 3, ... bytes: the encoder must not depend on the cuts */
	for (size_t off = 0, step = 1; off < n; off += step, step++)
		assert_int_equal(jeb_enc_feed(&e, in + off, off + step > n ? n - off : step), 0);
	assert_int_equal(jeb_enc_finish(&e), 0);
	check_lines(o.buf, o.len, max_line);
	for (size_t i = 0; i < o.len; i++)
		assert_true(o.buf[i] < 0x80 && (o.buf[i] >= 0x20 || o.buf[i] == '\r' ||
						o.buf[i] == '\n' || o.buf[i] == '\t'));
	uint8_t *dec = malloc(n + 16);
	size_t used, w;
	const char *name = jeb_cte_name(cte);
	assert_int_equal(mime_cte_init(&d, name, strlen(name)), 0);
	assert_int_equal(mime_cte_decode(&d, o.buf, o.len, true, &used, dec, n + 16, &w), 0);
	if (cte == JEB_CTE_BASE64 || n == 0 || in[n - 1] != ' ')
		assert_int_equal(w, n);
	assert_memory_equal(dec, in, n);
	free(dec);
}

static void test_qp_base64(void **state)
{
	(void)state;
	uint8_t bin[5000];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (uint8_t)(i * 7 + i / 13);
	cte_roundtrip(JEB_CTE_BASE64, bin, sizeof bin, 76);
	for (size_t n = 0; n < 8; n++)
		cte_roundtrip(JEB_CTE_BASE64, bin, n, 76);
	cte_roundtrip(JEB_CTE_QP, bin, sizeof bin, 76);
	const char *texts[] = {
		"plain text\r\nwith lines\r\n",
		"trailing space \r\ntrailing tab\t\r\nend space ",
		"bare\nLF and bare\rCR and CR at end\r",
		"=equals= and \xc3\xa4\xc3\xb6\xc3\xbc umlauts",
		"--=_boundary-like line\r\n",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		cte_roundtrip(JEB_CTE_QP, (const uint8_t *)texts[i], strlen(texts[i]), 76);
	/* a 2000-character line is cut by soft line breaks at 76 */
	char line[2001];
	memset(line, 'a', 2000);
	line[2000] = '\0';
	cte_roundtrip(JEB_CTE_QP, (const uint8_t *)line, 2000, 76);
	/* exactly at the QP line length: 75, 76 and 77 characters */
	for (size_t n = 75; n <= 77; n++)
		cte_roundtrip(JEB_CTE_QP, (const uint8_t *)line, n, 76);
}

static enum jeb_cte choose(const char *body, const char *type)
{
	struct jeb_scan s;
	const char *b[] = {"=_abc"};
	jeb_scan_init(&s, b, 1);
	jeb_scan_feed(&s, (const uint8_t *)body, strlen(body));
	jeb_scan_end(&s);
	return jeb_cte_choose(&s, type);
}

static void test_cte_choice(void **state)
{
	(void)state;
	char l998[1003], l999[1004];
	memset(l998, 'a', 998);
	memcpy(l998 + 998, "\r\n", 3);
	memset(l999, 'a', 999);
	memcpy(l999 + 999, "\r\n", 3);
	assert_int_equal(choose("hello\r\n", "text/plain"), JEB_CTE_7BIT);
	assert_int_equal(choose(l998, "text/plain"), JEB_CTE_7BIT);
	assert_int_equal(choose(l999, "text/plain"), JEB_CTE_QP);
	assert_int_equal(choose("bare\nlf", "text/plain"), JEB_CTE_QP);
	assert_int_equal(choose("mostly ascii \xc3\xa4", "text/plain"), JEB_CTE_QP);
	assert_int_equal(choose("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "text/plain"),
			 JEB_CTE_BASE64);
	assert_int_equal(choose("GIF89a\xff", "image/gif"), JEB_CTE_BASE64);
	assert_int_equal(choose("ascii\r\n", "application/json"), JEB_CTE_7BIT);
	assert_int_equal(choose("Subject: \xc3\xa4\r\n\r\nx\r\n", "message/rfc822"), JEB_CTE_8BIT);
	assert_int_equal(choose("Subject: a\r\n\r\nx\r\n", "message/rfc822"), JEB_CTE_7BIT);
	/* a line that is an enclosing boundary's delimiter must not go out as it is */
	assert_int_equal(choose("x\r\n--=_abc\r\ny\r\n", "text/plain"), JEB_CTE_QP);
	assert_int_equal(choose("x\r\n--=_abc--\r\n", "application/x-y"), JEB_CTE_BASE64);
	/* our parser reads any line that begins with "--" and the boundary as a
	 * delimiter (mime.h), so a longer one counts too; not so one inside a line */
	assert_int_equal(choose("x\r\n--=_abcd\r\n", "text/plain"), JEB_CTE_QP);
	assert_int_equal(choose("x --=_abc\r\n", "text/plain"), JEB_CTE_7BIT);
}

static void test_date_format(void **state)
{
	(void)state;
	char d[64];
	assert_int_equal(jeb_date_format("2014-10-30T14:12:00+08:00", 25, d), 0);
	assert_string_equal(d, "Thu, 30 Oct 2014 14:12:00 +0800");
	assert_int_equal(jeb_date_format("2024-02-29T23:59:60Z", 20, d), 0);
	assert_string_equal(d, "Thu, 29 Feb 2024 23:59:60 +0000");
	assert_int_equal(jeb_date_format("1999-12-31T01:02:03.456-05:30", 29, d), 0);
	assert_string_equal(d, "Fri, 31 Dec 1999 01:02:03 -0530");
	assert_int_equal(jeb_date_format("2023-02-29T00:00:00Z", 20, d), ERR_BAD_SYNTAX);
	assert_int_equal(jeb_date_format("2023-01-01 00:00:00Z", 20, d), ERR_BAD_SYNTAX);
	assert_int_equal(jeb_date_format("2023-01-01T00:00:00", 19, d), ERR_BAD_SYNTAX);
	assert_int_equal(jeb_date_format("2023-01-01T00:00:00+0100", 24, d), ERR_BAD_SYNTAX);
}

/* header:Name[:asForm][:all] (RFC 8621 4.1.3) and the forms each field allows (4.1.2) */
static void test_hprop_parse(void **state)
{
	(void)state;
	struct jeb_hprop h;
	char key[128];
	arena_reset(&arena);
	assert_int_equal(jeb_hprop_parse(&arena, "header:X-A", &h), 0);
	assert_string_equal(h.name, "X-A");
	assert_int_equal(h.form, JEB_FORM_RAW);
	assert_false(h.all);
	assert_int_equal(jeb_hprop_parse(&arena, "header:To:asGroupedAddresses:all", &h), 0);
	assert_int_equal(h.form, JEB_FORM_GROUPED);
	assert_true(h.all);
	assert_int_equal(jeb_hprop_parse(&arena, "header:X:all", &h), 0);
	assert_int_equal(h.form, JEB_FORM_RAW);
	assert_true(h.all);
	const char *bad[] = {"header:", "header::asText", "header:X:asText:", "header:X:astext",
			     "header:X:all:asText", "header:X:asText:all:all", "header:A B",
			     "header:X:asTextx", "headers", "header:\xc3\xa4"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(jeb_hprop_parse(&arena, bad[i], &h), ERR_BAD_SYNTAX);
	/* the field name at its limit -1/0/+1 */
	for (size_t n = LIMIT_JMAP_BUILD_FIELD_NAME - 1; n <= LIMIT_JMAP_BUILD_FIELD_NAME + 1; n++) {
		memcpy(key, "header:", 7);
		memset(key + 7, 'N', n);
		key[7 + n] = '\0';
		assert_int_equal(jeb_hprop_parse(&arena, key, &h),
				 n <= LIMIT_JMAP_BUILD_FIELD_NAME ? 0 : ERR_BAD_SYNTAX);
	}
	assert_true(jeb_form_allowed("subject", JEB_FORM_TEXT));
	assert_false(jeb_form_allowed("Subject", JEB_FORM_ADDRESSES));
	assert_true(jeb_form_allowed("FROM", JEB_FORM_GROUPED));
	assert_false(jeb_form_allowed("From", JEB_FORM_TEXT));
	assert_true(jeb_form_allowed("From", JEB_FORM_RAW));
	assert_true(jeb_form_allowed("References", JEB_FORM_MESSAGEIDS));
	assert_false(jeb_form_allowed("Date", JEB_FORM_URLS));
	assert_true(jeb_form_allowed("X-Unknown", JEB_FORM_URLS));
}

/* ---- whole messages ---- */

/* blobs of the fake account: "Ublob1" (a PNG-ish binary), "Utext" (a text) */
static int fake_open(void *arg, const char *id, int *fd, uint64_t *size, const char **type)
{
	(void)arg;
	const char *content;
	size_t n;
	if (strcmp(id, "Ublob1") == 0) {
		content = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR binary \xff\xfe";
		n = 24;
		*type = "image/png";
	} else if (strcmp(id, "Utext") == 0) {
		content = "attached text\r\n";
		n = strlen(content);
		*type = "text/plain";
	} else {
		return ERR_NOTFOUND;
	}
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, n, f), n);
	fflush(f);
	*fd = dup(fileno(f));
	fclose(f);
	*size = n;
	return 0;
}

struct built {
	int rc;
	json_t *err;
	uint8_t *msg;
	size_t len;
};

static struct built build(const char *json, uint64_t max_size, uint64_t max_quota)
{
	struct built b = {0};
	json_error_t je;
	json_t *email = json_loads(json, 0, &je);
	if (!email)
		fail_msg("bad test JSON: %s", je.text);
	struct jeb_env env = {.a = &arena, .hostname = "mx.example.org", .now = 1700000000,
			      .max_size = max_size, .max_quota = max_quota,
			      .blob_open = fake_open};
	FILE *f = tmpfile();
	uint64_t size = 0;
	arena_reset(&arena);
	b.rc = jeb_build(&env, email, fileno(f), &size, &b.err);
	json_decref(email);
	b.len = (size_t)ftell(f);
	assert_int_equal(b.rc == 0 ? size : b.len, b.len);
	b.msg = malloc(b.len + 1);
	rewind(f);
	assert_int_equal(fread(b.msg, 1, b.len, f), b.len);
	fclose(f);
	return b;
}

/* Does the built message hold the literal? */
#define HAS(b, lit) memmem((b).msg, (b).len, lit, sizeof(lit) - 1)

/* How often the literal occurs in the built message. */
static size_t count(struct built b, const char *lit)
{
	size_t n = 0, l = strlen(lit);
	for (const uint8_t *p = b.msg; (p = memmem(p, b.len - (size_t)(p - b.msg), lit, l)); p += l)
		n++;
	return n;
}

static void built_free(struct built *b)
{
	json_decref(b->err);
	free(b->msg);
}

/* The SetError's type, and its first property / notFound id when it has them. */
static void expect_err(const char *json, const char *type, const char *prop)
{
	struct built b = build(json, UINT64_MAX, UINT64_MAX);
	if (b.rc >= 0)
		fail_msg("accepted: %s", json);
	assert_non_null(b.err);
	assert_string_equal(json_string_value(json_object_get(b.err, "type")), type);
	if (prop) {
		json_t *l = json_object_get(b.err, "properties");
		if (!l)
			l = json_object_get(b.err, "notFound");
		assert_string_equal(json_string_value(json_array_get(l, 0)), prop);
	}
	built_free(&b);
}

static const char *find_part(struct mime_part *p, const char *type, const char *sub)
{
	if (strcmp(p->type, type) == 0 && strcmp(p->subtype, sub) == 0)
		return "";
	for (struct mime_part *k = p->children; k; k = k->next)
		if (find_part(k, type, sub))
			return "";
	return NULL;
}

static void test_build_convenience(void **state)
{
	(void)state;
	struct built b = build(
		"{\"from\":[{\"name\":\"J\u00fcrgen\",\"email\":\"j@example.org\"}],"
		"\"to\":[{\"name\":null,\"email\":\"b@example.net\"}],"
		"\"subject\":\"Gr\u00fc\u00dfe\",\"sentAt\":\"2020-01-02T03:04:05+01:00\","
		"\"keywords\":{\"$draft\":true},\"mailboxIds\":{\"x\":true},"
		"\"textBody\":[{\"partId\":\"t\"}],\"htmlBody\":[{\"partId\":\"h\"}],"
		"\"attachments\":[{\"blobId\":\"Ublob1\",\"name\":\"pic.png\",\"disposition\":"
		"\"inline\",\"cid\":\"pic1@x\"},{\"blobId\":\"Utext\",\"name\":\"n\u00f6tes.txt\"}],"
		"\"bodyValues\":{\"t\":{\"value\":\"Hallo\\nWelt\"},\"h\":{\"value\":"
		"\"<p>Hallo <img src=cid:pic1@x></p>\"}}}",
		UINT64_MAX, UINT64_MAX);
	struct mime_part *root;
	assert_int_equal(b.rc, 0);
	check_lines(b.msg, b.len, 998);
	assert_int_equal(mime_parse(b.msg, b.len, &arena, &root), 0);
	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "mixed");
	assert_int_equal(root->nchildren, 2);
	assert_string_equal(root->children->subtype, "alternative");
	assert_string_equal(root->children->children->subtype, "plain");
	assert_string_equal(root->children->children->next->subtype, "related");
	assert_non_null(find_part(root, "image", "png"));
	assert_string_equal(root->envelope->date.s, "Thu, 2 Jan 2020 03:04:05 +0100");
	assert_non_null(root->envelope->message_id.s);
	assert_non_null(strstr(root->envelope->message_id.s, "@mx.example.org>"));
	assert_non_null(HAS(b, "MIME-Version: 1.0\r\n"));
	assert_non_null(HAS(b, "Hallo\r\nWelt"));
	assert_non_null(HAS(b, "Content-ID: <pic1@x>"));
	assert_non_null(HAS(b, "filename*0*=utf-8''n%C3%B6tes.txt"));
	built_free(&b);
	/* nothing but a text body: one text/plain part, no multipart */
	b = build("{\"textBody\":[{\"partId\":\"1\"}],\"bodyValues\":{\"1\":{\"value\":\"hi\"}}}",
		  UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	assert_int_equal(mime_parse(b.msg, b.len, &arena, &root), 0);
	assert_string_equal(root->subtype, "plain");
	assert_non_null(HAS(b, "charset=utf-8"));
	built_free(&b);
}

static void test_build_structure(void **state)
{
	(void)state;
	struct mime_part *root;
	struct built b = build(
		"{\"bodyStructure\":{\"type\":\"multipart/mixed\",\"subParts\":["
		"{\"partId\":\"a\",\"type\":\"text/plain\",\"language\":[\"de\",\"en\"]},"
		"{\"blobId\":\"Ublob1\",\"type\":\"application/octet-stream\","
		"\"header:X-Part\":\" yes\"}]},\"header:X-Top:asText\":\"top\","
		"\"bodyValues\":{\"a\":{\"value\":\"body\",\"isTruncated\":false}}}",
		UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	assert_int_equal(mime_parse(b.msg, b.len, &arena, &root), 0);
	assert_int_equal(root->nchildren, 2);
	assert_int_equal(root->children->nlanguages, 2);
	assert_non_null(HAS(b, "X-Top: top\r\n"));
	assert_non_null(HAS(b, "X-Part: yes\r\n"));
	assert_non_null(HAS(b, "Content-Transfer-Encoding: base64"));
	built_free(&b);
	/* a multipart around an 8bit message/rfc822 says 8bit (RFC 2045 6.4) */
	b = build("{\"bodyStructure\":{\"type\":\"multipart/mixed\",\"subParts\":[{\"partId\":"
		  "\"m\",\"type\":\"message/rfc822\"}]},\"bodyValues\":{\"m\":{\"value\":"
		  "\"Subject: \u00e4\\n\\nbody\\n\"}}}", UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	assert_int_equal(count(b, "Content-Transfer-Encoding: 8bit\r\n"), 2);
	built_free(&b);
	/* an empty type is no type: a blob part takes the blob's */
	b = build("{\"attachments\":[{\"blobId\":\"Ublob1\",\"type\":\"\"}]}", UINT64_MAX,
		  UINT64_MAX);
	assert_int_equal(b.rc, 0);
	assert_non_null(HAS(b, "Content-Type: image/png\r\n"));
	built_free(&b);
	/* an empty Message-ID list is no Message-ID: one is made (RFC 5322 3.6.4) */
	b = build("{\"messageId\":[],\"header:Date\":null}", UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	assert_non_null(HAS(b, "@mx.example.org>\r\n"));
	assert_int_equal(count(b, "Message-ID:"), 1);
	assert_int_equal(count(b, "Date:"), 1);
	assert_non_null(HAS(b, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	built_free(&b);
	/* a local part that is no dot-atom is quoted, so it stays one address */
	b = build("{\"to\":[{\"name\":null,\"email\":\"a@b>, <c@d\"}]}", UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	assert_non_null(HAS(b, "To: \"a@b>, <c\"@d\r\n"));
	built_free(&b);
}

static void test_build_refusals(void **state)
{
	(void)state;
	/* 4.6: Content-* only on parts; never Content-Transfer-Encoding */
	expect_err("{\"header:Content-Type\":\" text/html\"}", "invalidProperties",
		   "header:Content-Type");
	expect_err("{\"headers\":[{\"name\":\"Content-Type\",\"value\":\" text/html\"}]}",
		   "invalidProperties", "headers/Content-Type");
	expect_err("{\"bodyStructure\":{\"partId\":\"1\",\"header:Content-Transfer-Encoding\":"
		   "\" 8bit\"},\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
		   "invalidProperties", "bodyStructure/header:Content-Transfer-Encoding");
	/* the same field twice */
	expect_err("{\"from\":[],\"header:From:asAddresses\":[]}", "invalidProperties", NULL);
	expect_err("{\"subject\":\"a\",\"header:subject\":\" b\"}", "invalidProperties", NULL);
	/* a form the field does not allow */
	expect_err("{\"header:Subject:asAddresses\":[]}", "invalidProperties",
		   "header:Subject:asAddresses");
	expect_err("{\"header:X:asNothing\":\"x\"}", "invalidProperties", "header:X:asNothing");
	/* no header can be smuggled in with a line break */
	expect_err("{\"header:X-A\":\" a\\r\\nBcc: evil@example.org\"}", "invalidProperties",
		   "header:X-A");
	expect_err("{\"subject\":\"a\\r\\nBcc: x@y\"}", "invalidProperties", "subject");
	expect_err("{\"to\":[{\"name\":\"n\",\"email\":\"c@d>, <e\"}]}", "invalidProperties",
		   "to");
	expect_err("{\"to\":[{\"name\":\"a\\nb\",\"email\":\"a@b\"}]}", "invalidProperties", "to");
	expect_err("{\"messageId\":[\"a> <b\"]}", "invalidProperties", "messageId");
	expect_err("{\"sentAt\":\"yesterday\"}", "invalidProperties", "sentAt");
	/* a raw value's line with its field name at 998 octets -1/0/+1 (RFC 5322 2.1.1) */
	for (size_t n = JEB_LINE_MAX - 1; n <= JEB_LINE_MAX + 1; n++) {
		char *json = malloc(n + 64), *w = json;
		w += sprintf(w, "{\"header:X-L\":\" ");
		memset(w, 'v', n - strlen("X-L: "));
		w += n - strlen("X-L: ");
		sprintf(w, "\"}");
		struct built r = build(json, UINT64_MAX, UINT64_MAX);
		assert_int_equal(r.rc, n <= JEB_LINE_MAX ? 0 : ERR_INVAL);
		if (r.rc == 0)
			check_lines(r.msg, r.len, JEB_LINE_MAX);
		built_free(&r);
		free(json);
	}
	/* server-set and unknown properties */
	expect_err("{\"id\":\"x\"}", "invalidProperties", "id");
	expect_err("{\"preview\":\"x\"}", "invalidProperties", "preview");
	/* body rules */
	expect_err("{\"bodyStructure\":{\"partId\":\"1\"},\"textBody\":[{\"partId\":\"1\"}],"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties", "textBody");
	expect_err("{\"textBody\":[{\"partId\":\"1\",\"type\":\"text/html\"}],"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties",
		   "textBody/0/type");
	expect_err("{\"textBody\":[{\"partId\":\"1\"},{\"partId\":\"1\"}],"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties", "textBody");
	expect_err("{\"textBody\":[{\"partId\":\"2\"}],\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
		   "invalidProperties", "textBody/0/partId");
	expect_err("{\"textBody\":[{\"partId\":\"1\",\"blobId\":\"Utext\"}],"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties", NULL);
	expect_err("{\"textBody\":[{\"partId\":\"1\",\"charset\":\"latin1\"}],"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties",
		   "textBody/0/charset");
	expect_err("{\"textBody\":[{\"partId\":\"1\"}],"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\",\"isTruncated\":true}}}",
		   "invalidProperties", "bodyValues/1/isTruncated");
	expect_err("{\"bodyStructure\":{\"type\":\"multipart/mixed\",\"partId\":\"1\"},"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties",
		   "bodyStructure/subParts");
	expect_err("{\"bodyStructure\":{\"type\":\"text/plain\",\"subParts\":[{\"partId\":\"1\"}]},"
		   "\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties",
		   "bodyStructure/type");
	/* a part's field whose value does not fit its form is named */
	expect_err("{\"bodyStructure\":{\"type\":\"multipart/mixed\",\"subParts\":[{\"partId\":"
		   "\"1\",\"header:X-D:asDate\":\"never\"}]},\"bodyValues\":{\"1\":{\"value\":\"x\"}}}",
		   "invalidProperties", "bodyStructure/subParts/0/header:X-D:asDate");
	/* the root part repeats a field the Email gives */
	expect_err("{\"subject\":\"a\",\"bodyStructure\":{\"partId\":\"1\",\"header:Subject\":"
		   "\" b\"},\"bodyValues\":{\"1\":{\"value\":\"x\"}}}", "invalidProperties",
		   "bodyStructure/header:Subject");
	/* every missing blob, once each */
	struct built b = build("{\"attachments\":[{\"blobId\":\"Unone\"},{\"blobId\":\"Ublob1\"},"
			       "{\"blobId\":\"Uother\"},{\"blobId\":\"Unone\"}]}",
			       UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, ERR_NOTFOUND);
	assert_string_equal(json_string_value(json_object_get(b.err, "type")), "blobNotFound");
	json_t *nf = json_object_get(b.err, "notFound");
	assert_int_equal(json_array_size(nf), 2);
	assert_string_equal(json_string_value(json_array_get(nf, 0)), "Unone");
	assert_string_equal(json_string_value(json_array_get(nf, 1)), "Uother");
	built_free(&b);
	/* blob parts at their limit -1/0/+1 (each holds an open file while writing) */
	for (size_t n = LIMIT_JMAP_BUILD_BLOBS - 1; n <= LIMIT_JMAP_BUILD_BLOBS + 1; n++) {
		char json[64 + 20 * (LIMIT_JMAP_BUILD_BLOBS + 1)], *w = json;
		w += sprintf(w, "{\"attachments\":[");
		for (size_t i = 0; i < n; i++)
			w += sprintf(w, "%s{\"blobId\":\"Utext\"}", i ? "," : "");
		sprintf(w, "]}");
		b = build(json, UINT64_MAX, UINT64_MAX);
		if (n <= LIMIT_JMAP_BUILD_BLOBS) {
			assert_int_equal(b.rc, 0);
		} else {
			char want[64];
			snprintf(want, sizeof want, "attachments/%d/blobId", LIMIT_JMAP_BUILD_BLOBS);
			assert_int_equal(b.rc, ERR_INVAL);
			assert_string_equal(json_string_value(json_array_get(
				json_object_get(b.err, "properties"), 0)), want);
		}
		built_free(&b);
	}
}

static void test_build_bounds(void **state)
{
	(void)state;
	const char *email = "{\"subject\":\"s\",\"textBody\":[{\"partId\":\"1\"}],"
			    "\"bodyValues\":{\"1\":{\"value\":\"hello\"}}}";
	struct built b = build(email, UINT64_MAX, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	uint64_t n = b.len;
	built_free(&b);
	/* at the size limit: written; one byte under: tooLarge (or overQuota when the
	 * quota is the smaller bound), and never more than the bound was written */
	b = build(email, n, UINT64_MAX);
	assert_int_equal(b.rc, 0);
	built_free(&b);
	b = build(email, n - 1, UINT64_MAX);
	assert_int_equal(b.rc, ERR_TOO_BIG);
	assert_string_equal(json_string_value(json_object_get(b.err, "type")), "tooLarge");
	assert_true(b.len <= n - 1);
	built_free(&b);
	b = build(email, n + 1, n - 1);
	assert_int_equal(b.rc, ERR_TOO_BIG);
	assert_string_equal(json_string_value(json_object_get(b.err, "type")), "overQuota");
	built_free(&b);
	b = build(email, n + 1, n);
	assert_int_equal(b.rc, 0);
	built_free(&b);
}

static int setup(void **state)
{
	(void)state;
	arena_init(&arena, 64u << 20);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	arena_free(&arena);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_roundtrip),
		cmocka_unit_test(test_phrase_roundtrip),
		cmocka_unit_test(test_qp_base64),
		cmocka_unit_test(test_cte_choice),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_hprop_parse),
		cmocka_unit_test(test_build_convenience),
		cmocka_unit_test(test_build_structure),
		cmocka_unit_test(test_build_refusals),
		cmocka_unit_test(test_build_bounds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
