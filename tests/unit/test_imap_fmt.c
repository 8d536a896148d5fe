/* test_imap_fmt.c: the IMAP formatter's rules one by one: the string forms (atom,
 * quoted, literal; the escape count at 4/5; CR, LF, NUL, 8-bit with and without UTF-8),
 * text for humans, ENVELOPE defaults, BODYSTRUCTURE cases the corpus cannot reach
 * (limits, message/global, RFC 2231 re-encoding), section location and HEADER.FIELDS
 * filtering, and the cost of a 200-part BODYSTRUCTURE (sink calls; time printed).
 * tests/unit/test_imap_fmt_corpus.c compares whole answers with Dovecot's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_fmt.h"
#include "mime/mime.h"

#define ARENA_CAP (64u << 20)
#define OUT_CAP (4u << 20)

static struct arena A;

/* The test sink: a buffer, and the number of calls (the formatter's cost counter). */
struct out {
	struct buf b;
	unsigned calls;
};

static void out_write(void *ctx, const void *p, size_t n)
{
	struct out *o = ctx;
	assert_true(n > 0); /* the contract: never called for nothing */
	assert_int_equal(buf_append(&o->b, p, n), 0);
	o->calls++;
}

static struct out OUT;
static struct imap_sink SINK = {out_write, &OUT};

static int setup(void **state)
{
	arena_init(&A, ARENA_CAP);
	assert_int_equal(buf_alloc(&OUT.b, &A, OUT_CAP), 0);
	OUT.calls = 0;
	return 0;
}

static int teardown(void **state)
{
	arena_free(&A);
	return 0;
}

static void reset_out(void)
{
	buf_clear(&OUT.b);
	OUT.calls = 0;
}

/* The output so far equals want (len bytes), then reset it. */
static void want_n(const char *want, size_t len)
{
	if (OUT.b.len != len || memcmp(OUT.b.data, want, len) != 0)
		fail_msg("got [%.*s] (%zu bytes), want [%.*s] (%zu bytes)", (int)OUT.b.len,
		         (const char *)OUT.b.data, OUT.b.len, (int)len, want, len);
	reset_out();
}

static void want(const char *s)
{
	want_n(s, strlen(s));
}

static struct mime_part *parse(const char *msg)
{
	struct mime_part *root = NULL, *back = NULL;
	void *blob;
	size_t blen;
	assert_int_equal(mime_parse((const uint8_t *)msg, strlen(msg), &A, &root), 0);
	/* as the store keeps it: serialized at delivery, read back at FETCH */
	assert_int_equal(mime_serialize(root, &A, &blob, &blen), 0);
	assert_int_equal(mime_deserialize(blob, blen, &A, &back), 0);
	return back;
}

/* ---- strings ---- */

struct str_case {
	const char *in;
	size_t len; /* 0: strlen */
	bool utf8;
	const char *out;
	size_t out_len; /* 0: strlen */
};

static void strings(void **state)
{
	/* clang-format off */
	static const struct str_case cases[] = {
	    {"", 0, false, "\"\"", 0},
	    {"hello world", 0, false, "\"hello world\"", 0},
	    {"NIL", 0, false, "\"NIL\"", 0},
	    {"a\"b", 0, false, "\"a\\\"b\"", 0},
	    /* four escapes still quoted, the fifth makes a literal */
	    {"\"\"\\\\", 0, false, "\"\\\"\\\"\\\\\\\\\"", 0},
	    {"\"\"\\\\\"", 0, false, "{5}\r\n\"\"\\\\\"", 0},
	    {"a\r\nb", 0, false, "{4}\r\na\r\nb", 0},
	    {"a\nb", 0, false, "{3}\r\na\nb", 0},
	    {"a\x01" "b\x7f", 0, false, "\"a\x01" "b\x7f\"", 0}, /* CTLs are TEXT-CHARs */
	    {"caf\xc3\xa9", 0, false, "{5}\r\ncaf\xc3\xa9", 0},
	    {"caf\xc3\xa9", 0, true, "\"caf\xc3\xa9\"", 0},
	    {"caf\xe9", 0, true, "{4}\r\ncaf\xe9", 0},          /* not UTF-8 */
	    {"\xc3", 0, true, "{1}\r\n\xc3", 0},                  /* cut sequence */
	    {"\xed\xa0\x80", 0, true, "{3}\r\n\xed\xa0\x80", 0},  /* surrogate */
	    /* NUL is never sent: U+FFFD stands for it */
	    {"a\0b", 3, false, "{5}\r\na\xef\xbf\xbd" "b", 0},
	    {"a\0b", 3, true, "\"a\xef\xbf\xbd" "b\"", 0},
	    {"\0\r", 2, true, "{4}\r\n\xef\xbf\xbd\r", 0},
	    {"\xe2\x82\xac\"", 0, true, "\"\xe2\x82\xac\\\"\"", 0},
	};
	/* clang-format on */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct str_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		imap_put_string(&SINK, c->in, len, c->utf8);
		want_n(c->out, c->out_len ? c->out_len : strlen(c->out));
	}
}

static void astrings(void **state)
{
	imap_put_astring(&SINK, "INBOX", 5, false);
	want("INBOX");
	imap_put_astring(&SINK, "a]b", 3, false); /* ']' is an ASTRING-CHAR */
	want("a]b");
	imap_put_astring(&SINK, "nil", 3, false);
	want("\"nil\"");
	imap_put_astring(&SINK, "", 0, false);
	want("\"\"");
	static const char *quoted[] = {"a b",
	                               "a(b",
	                               "a)b",
	                               "a{b",
	                               "a%b",
	                               "a*b",
	                               "a\"b",
	                               "a\\b",
	                               "a\x01"
	                               "b",
	                               "a\x7f"
	                               "b"};
	for (size_t i = 0; i < sizeof(quoted) / sizeof(quoted[0]); i++) {
		imap_put_astring(&SINK, quoted[i], strlen(quoted[i]), false);
		assert_int_equal(OUT.b.data[0], '"');
		reset_out();
	}
	imap_put_astring(&SINK, "\xc3\xa9t\xc3\xa9", 5, true);
	want("\"\xc3\xa9t\xc3\xa9\"");
	imap_put_astring(&SINK, "\xc3\xa9t\xc3\xa9", 5, false);
	want("{5}\r\n\xc3\xa9t\xc3\xa9");
}

static void nstrings(void **state)
{
	struct mime_str nil = {NULL, 0}, empty = {"", 0}, v = {"x y", 3};
	imap_put_nstring(&SINK, &nil, false);
	want("NIL");
	imap_put_nstring(&SINK, NULL, false);
	want("NIL");
	imap_put_nstring(&SINK, &empty, false);
	want("\"\"");
	imap_put_nstring(&SINK, &v, false);
	want("\"x y\"");
	imap_putf(&SINK, "%d %s", 42, "x");
	want("42 x");
	imap_puts(&SINK, "");
	want("");
	assert_int_equal(OUT.calls, 0); /* nothing written for nothing */
}

/* ---- text for humans: the subject ---- */

static void subject_is_n(const char *raw, size_t len, bool utf8, const char *out)
{
	struct mime_envelope env = {0};
	env.subject.s = (char *)raw;
	env.subject.len = len;
	imap_put_envelope(&SINK, &env, utf8);
	char w[512];
	int n = snprintf(w, sizeof(w), "(NIL %s NIL NIL NIL NIL NIL NIL NIL NIL)", out);
	assert_true(n > 0 && (size_t)n < sizeof(w));
	want(w);
}

static void subject_is(const char *raw, bool utf8, const char *out)
{
	subject_is_n(raw, strlen(raw), utf8, out);
}

static void human_text(void **state)
{
	subject_is("plain subject", false, "\"plain subject\"");
	subject_is("", false, "\"\"");
	subject_is("   ", false, "\"\"");
	subject_is("two  spaces", false, "{10}\r\ntwo spaces");
	subject_is("tab\there", false, "{8}\r\ntab here");
	subject_is(" lead and trail ", false, "{14}\r\nlead and trail");
	subject_is("fold\r\n here", false, "{9}\r\nfold here");
	subject_is("say \"hi\"", false, "{8}\r\nsay \"hi\"");
	subject_is("say \"hi\"", true, "\"say \\\"hi\\\"\"");
	subject_is("Gr\xc3\xbc\xc3\x9f"
	           "e",
	           false,
	           "{7}\r\nGr\xc3\xbc\xc3\x9f"
	           "e");
	subject_is("Gr\xc3\xbc\xc3\x9f"
	           "e  x",
	           true,
	           "\"Gr\xc3\xbc\xc3\x9f"
	           "e x\"");
	subject_is("caf\xe9", true, "{4}\r\ncaf\xe9");
	subject_is("\"\"\"\"\"", true, "{5}\r\n\"\"\"\"\"");
	subject_is_n("a\0b", 3, false,
	             "{5}\r\na\xef\xbf\xbd"
	             "b");
	subject_is_n("a\0b", 3, true,
	             "\"a\xef\xbf\xbd"
	             "b\"");
	/* display names follow the same rules */
	struct mime_addr a = {0};
	a.kind = MIME_ADDR_MAILBOX;
	a.name = (struct mime_str){"A  \"B\"", 6};
	a.mailbox = (struct mime_str){"a", 1};
	a.host = (struct mime_str){"", 0};
	struct mime_envelope env = {0};
	env.from = &a;
	imap_put_envelope(&SINK, &env, false);
	want("(NIL NIL (({5}\r\nA \"B\" NIL \"a\" \"\")) (({5}\r\nA \"B\" NIL \"a\" \"\")) "
	     "(({5}\r\nA \"B\" NIL \"a\" \"\")) NIL NIL NIL NIL NIL)");
}

/* ---- ENVELOPE ---- */

static void envelope_defaults(void **state)
{
	imap_put_envelope(&SINK, NULL, false);
	want("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	struct mime_part *r = parse("From: a@b\r\nSender: s@b\r\nTo: g: x@y;\r\n"
	                            "In-Reply-To: <p@q>\r\n\r\n");
	imap_put_envelope(&SINK, r->envelope, false);
	want("(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"s\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	     "((NIL NIL \"g\" NIL)(NIL NIL \"x\" \"y\")(NIL NIL NIL NIL)) NIL NIL \"<p@q>\" NIL)");
	r = parse("Subject: s\r\nReply-To: r@b\r\n\r\n");
	imap_put_envelope(&SINK, r->envelope, false);
	want("(NIL \"s\" NIL NIL ((NIL NIL \"r\" \"b\")) NIL NIL NIL NIL NIL)");
}

/* ---- BODYSTRUCTURE cases the corpus does not reach ---- */

static void body_structure_of(const struct mime_part *pt, bool ext, bool utf8, const char *w)
{
	imap_put_bodystructure(&SINK, pt, ext, utf8);
	want(w);
}

static void body_limits(void **state)
{
	/* a multipart past the depth limit has no parts: an empty text/plain stands in */
	struct mime_part *r = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                            "--b\r\n\r\nx\r\n--b--\r\n");
	r->children = NULL;
	r->nchildren = 0;
	r->flags |= MIME_PART_TRUNCATED;
	body_structure_of(
	    r, true, false,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL "
	    "NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	body_structure_of(r, false, false,
	                  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) "
	                  "\"mixed\")");
	/* an encoded message/rfc822 is not descended into: ten NILs and an empty body */
	r = parse("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	          "RnJvbTogeEB5Cgpib2R5Cg==\r\n");
	assert_null(r->message);
	body_structure_of(
	    r, false, false,
	    "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 26 (NIL NIL NIL NIL NIL NIL "
	    "NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	    "\"7bit\" 0 0) 1)");
}

static void body_message_global(void **state)
{
	struct mime_part *r =
	    parse("Content-Type: message/global\r\n\r\nSubject: \xc3\xbc\r\n\r\nx");
	assert_non_null(r->message);
	/* rev1 (RFC 3501 media-message is RFC822 only): a basic part */
	body_structure_of(r, false, false, "(\"message\" \"global\" NIL NIL NIL \"7bit\" 16)");
	/* RFC 9051: like message/rfc822 */
	body_structure_of(
	    r, false, true,
	    "(\"message\" \"global\" NIL NIL NIL \"7bit\" 16 (NIL \"\xc3\xbc\" NIL NIL "
	    "NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") "
	    "NIL NIL \"7bit\" 1 0) 2)");
}

static void body_params(void **state)
{
	struct mime_part *r =
	    parse("Content-Type: text/plain; name*=utf-8''%E2%82%AC%20a.txt; format=flowed\r\n"
	          "Content-Disposition: attachment; filename*=x-nonesuch''%FF\r\n"
	          "Content-Transfer-Encoding:\r\n\r\nx");
	/* rev1: the decoded UTF-8 value back in RFC 2231 form; charset appended last */
	body_structure_of(r, true, false,
	                  "(\"text\" \"plain\" (\"name*\" \"utf-8''%E2%82%AC%20a.txt\" \"format\" "
	                  "\"flowed\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 NIL "
	                  "(\"attachment\" (\"filename*\" \"x-nonesuch''%FF\")) NIL NIL)");
	/* UTF-8 session: the decoded value */
	body_structure_of(
	    r, false, true,
	    "(\"text\" \"plain\" (\"name\" \"\xe2\x82\xac a.txt\" \"format\" \"flowed\" "
	    "\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0)");
	/* a non-text part gets no charset; no parameters is NIL */
	r = parse("Content-Type: application/x-y\r\n\r\nx");
	body_structure_of(r, false, false, "(\"application\" \"x-y\" NIL NIL NIL \"7bit\" 1)");
}

/* ---- sections ---- */

static struct imap_section sec_of(const uint32_t *parts, size_t n, enum imap_section_kind k)
{
	struct imap_section s;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++)
		s.part[i] = parts[i];
	s.nparts = n;
	s.kind = k;
	return s;
}

/* The bytes [start, start+len) of msg equal want, or (want NULL) the result is r. */
static void section_is(const struct mime_part *root, const char *msg, const uint32_t *parts,
                       size_t n, enum imap_section_kind k, int r, const char *w)
{
	struct imap_section s = sec_of(parts, n, k);
	uint64_t start = 99, len = 99;
	int got = imap_section_locate(root, &s, &start, &len);
	assert_int_equal(got, r);
	if (r < 0)
		return;
	if (len != strlen(w) || memcmp(msg + start, w, len) != 0)
		fail_msg("section got [%.*s], want [%s]", (int)len, msg + start, w);
}

static void sections(void **state)
{
	static const char msg[] =
	    "Subject: top\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\none\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner\r\n"
	    "--b\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
	    "--c\r\n\r\nalt1\r\n--c--\r\n"
	    "--b--\r\n";
	struct mime_part *r = parse(msg);
	static const uint32_t p1[] = {1}, p2[] = {2}, p21[] = {2, 1}, p3[] = {3}, p31[] = {3, 1},
	                      p4[] = {4}, p0[] = {0}, p11[] = {1, 1}, p211[] = {2, 1, 1};
	section_is(r, msg, NULL, 0, IMAP_SECTION_ALL, 0, msg);
	section_is(r, msg, NULL, 0, IMAP_SECTION_HEADER, 0,
	           "Subject: top\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
	section_is(r, msg, NULL, 0, IMAP_SECTION_MIME, ERR_INVAL, NULL);
	section_is(r, msg, p1, 1, IMAP_SECTION_ALL, 0, "one");
	section_is(r, msg, p1, 1, IMAP_SECTION_MIME, 0, "Content-Type: text/plain\r\n\r\n");
	section_is(r, msg, p1, 1, IMAP_SECTION_HEADER, ERR_NOTFOUND, NULL); /* not a message */
	section_is(r, msg, p1, 1, IMAP_SECTION_TEXT, ERR_NOTFOUND, NULL);
	section_is(r, msg, p11, 2, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);
	section_is(r, msg, p2, 1, IMAP_SECTION_ALL, 0, "Subject: in\r\n\r\ninner");
	section_is(r, msg, p2, 1, IMAP_SECTION_HEADER, 0, "Subject: in\r\n\r\n");
	section_is(r, msg, p2, 1, IMAP_SECTION_HEADER_NOT, 0, "Subject: in\r\n\r\n");
	section_is(r, msg, p2, 1, IMAP_SECTION_TEXT, 0, "inner");
	/* the encapsulated message is not multipart: its part 1 is its body */
	section_is(r, msg, p21, 2, IMAP_SECTION_ALL, 0, "inner");
	section_is(r, msg, p21, 2, IMAP_SECTION_MIME, 0, "Subject: in\r\n\r\n");
	section_is(r, msg, p211, 3, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);
	section_is(r, msg, p31, 2, IMAP_SECTION_ALL, 0, "alt1");
	section_is(r, msg, p31, 2, IMAP_SECTION_MIME, 0, "\r\n");
	section_is(r, msg, p3, 1, IMAP_SECTION_HEADER, ERR_NOTFOUND, NULL);
	section_is(r, msg, p4, 1, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);
	section_is(r, msg, p0, 1, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);

	/* a message that is not multipart has the one part 1: its body, its header */
	static const char plain[] = "Subject: p\r\n\r\nbody\r\n";
	r = parse(plain);
	section_is(r, plain, p1, 1, IMAP_SECTION_ALL, 0, "body\r\n");
	section_is(r, plain, p1, 1, IMAP_SECTION_MIME, 0, "Subject: p\r\n\r\n");
	section_is(r, plain, p1, 1, IMAP_SECTION_HEADER, ERR_NOTFOUND, NULL);
	section_is(r, plain, p2, 1, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);
	section_is(r, plain, p11, 2, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);
	section_is(r, plain, NULL, 0, IMAP_SECTION_TEXT, 0, "body\r\n");

	/* numbers as deep as the parser can send, none deeper than the tree */
	uint32_t deep[LIMIT_MIME_DEPTH];
	for (size_t i = 0; i < LIMIT_MIME_DEPTH; i++)
		deep[i] = 1;
	section_is(r, plain, deep, LIMIT_MIME_DEPTH, IMAP_SECTION_ALL, ERR_NOTFOUND, NULL);
}

/* ---- HEADER.FIELDS(.NOT) ---- */

static void filter_is(const char *blk, size_t n, enum imap_section_kind k, const char **names,
                      size_t nn, const char *w)
{
	struct imap_section s = sec_of(NULL, 0, k);
	s.fields = names;
	s.nfields = nn;
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(imap_filter_header((const uint8_t *)blk, n, &s, &A, &out, &len), 0);
	if (len != strlen(w) || memcmp(out, w, len) != 0)
		fail_msg("filter got [%.*s], want [%s]", (int)len, (const char *)out, w);
}

static void header_fields(void **state)
{
	static const char blk[] = "Subject: a\r\n b\r\nTO: x@y\r\nno colon here\r\n"
	                          "Subject: second\r\nX-A: 1\r\n\r\n";
	size_t n = strlen(blk);
	const char *subj_to[] = {"subject", "To"};
	filter_is(blk, n, IMAP_SECTION_HEADER_FIELDS, subj_to, 2,
	          "Subject: a\r\n b\r\nTO: x@y\r\nSubject: second\r\n\r\n");
	filter_is(blk, n, IMAP_SECTION_HEADER_NOT, subj_to, 2, "no colon here\r\nX-A: 1\r\n\r\n");
	const char *none[] = {"X-Missing", "no colon here"};
	filter_is(blk, n, IMAP_SECTION_HEADER_FIELDS, none, 2, "\r\n");
	filter_is(blk, n, IMAP_SECTION_HEADER_NOT, none, 0, blk);
	/* a prefix of a name is not the name */
	const char *pre[] = {"Subj", "X-A:"};
	filter_is(blk, n, IMAP_SECTION_HEADER_FIELDS, pre, 2, "\r\n");
	/* a header without its empty line gets none (RFC 9051 6.4.5); a last field without
	 * line end gets one */
	filter_is("A: 1\r\nB: 2", 10, IMAP_SECTION_HEADER_FIELDS, (const char *[]){"b"}, 1,
	          "B: 2\r\n");
	filter_is("A: 1\r\nB: 2\r\n", 12, IMAP_SECTION_HEADER_NOT, (const char *[]){"b"}, 1,
	          "A: 1\r\n");
	filter_is("", 0, IMAP_SECTION_HEADER_NOT, NULL, 0, "");
	/* the empty line is the block's own */
	filter_is("A: 1\nB: 2\n\n", 11, IMAP_SECTION_HEADER_NOT, (const char *[]){"b"}, 1,
	          "A: 1\n\n");
	struct imap_section s = sec_of(NULL, 0, IMAP_SECTION_HEADER);
	uint8_t *out;
	size_t len;
	assert_int_equal(imap_filter_header((const uint8_t *)blk, n, &s, &A, &out, &len),
	                 ERR_INVAL);
	/* an arena too small for the answer */
	struct arena tiny;
	arena_init(&tiny, 8);
	s.kind = IMAP_SECTION_HEADER_NOT;
	assert_int_equal(imap_filter_header((const uint8_t *)blk, n, &s, &tiny, &out, &len),
	                 ERR_NOMEM);
	arena_free(&tiny);
}

/* Fields past LIMIT_HEADER_FIELDS (-1, 0, +1) are filtered like the others. */
static void header_fields_limit(void **state)
{
	for (int d = -1; d <= 1; d++) {
		size_t nf = (size_t)((int)LIMIT_HEADER_FIELDS + d);
		struct buf b;
		assert_int_equal(buf_alloc(&b, &A, nf * 16 + 64), 0);
		for (size_t i = 0; i < nf; i++)
			assert_int_equal(buf_printf(&b, "X-%zu: v\r\n", i), 0);
		assert_int_equal(buf_printf(&b, "Last: yes\r\n\r\n"), 0);
		struct imap_section s = sec_of(NULL, 0, IMAP_SECTION_HEADER_FIELDS);
		const char *names[] = {"last", "X-0"};
		s.fields = names;
		s.nfields = 2;
		uint8_t *out;
		size_t len;
		assert_int_equal(imap_filter_header(b.data, b.len, &s, &A, &out, &len), 0);
		assert_int_equal(len, strlen("X-0: v\r\nLast: yes\r\n\r\n"));
		assert_memory_equal(out, "X-0: v\r\nLast: yes\r\n\r\n", len);
		s.kind = IMAP_SECTION_HEADER_NOT;
		assert_int_equal(imap_filter_header(b.data, b.len, &s, &A, &out, &len), 0);
		assert_int_equal(len, b.len - strlen("X-0: v\r\nLast: yes\r\n"));
	}
}

/* ---- cost: BODYSTRUCTURE of a 200-part message ---- */

static void bodystructure_200_parts(void **state)
{
	struct buf m;
	assert_int_equal(buf_alloc(&m, &A, 1u << 20), 0);
	assert_int_equal(buf_printf(&m, "From: a@b\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
	                                "Content-Type: multipart/mixed; boundary=sep\r\n\r\n"),
	                 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(
		    buf_printf(&m,
		               "--sep\r\nContent-Type: text/plain; charset=utf-8; "
		               "name=\"part%d.txt\"\r\nContent-Disposition: attachment; "
		               "filename=\"part%d.txt\"\r\nContent-ID: <p%d@x>\r\n\r\n"
		               "line one\r\nline two\r\n",
		               i, i, i),
		    0);
	assert_int_equal(buf_printf(&m, "--sep--\r\n"), 0);
	assert_int_equal(buf_append(&m, "", 1), 0);
	struct mime_part *r = parse((const char *)m.data);
	assert_int_equal(r->nchildren, 200);
	reset_out();
	size_t used = A.used;
	imap_put_bodystructure(&SINK, r, true, false);
	assert_int_equal(A.used, used); /* nothing allocated */
	size_t bytes = OUT.b.len;
	unsigned calls = OUT.calls;
	/* One sink call per IMAP_FMT_OUT_BUF (2 KiB) of output: a writer that calls the
	 * sink per string or per byte fails this. */
	assert_true(calls <= bytes / 2048 + 1);
	assert_true(bytes > 200 * 100);
	enum { ROUNDS = 2000 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < ROUNDS; i++) {
		reset_out();
		imap_put_bodystructure(&SINK, r, true, false);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us =
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
	    ROUNDS;
	print_message("BODYSTRUCTURE of 200 parts: %zu bytes, %u sink calls, 0 allocations, "
	              "%.1f us each\n",
	              bytes, calls, us);
	reset_out();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(strings, setup, teardown),
	    cmocka_unit_test_setup_teardown(astrings, setup, teardown),
	    cmocka_unit_test_setup_teardown(nstrings, setup, teardown),
	    cmocka_unit_test_setup_teardown(human_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(envelope_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(body_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(body_message_global, setup, teardown),
	    cmocka_unit_test_setup_teardown(body_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(header_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(header_fields_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(bodystructure_200_parts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
