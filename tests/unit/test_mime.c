/* test_mime.c: the mime module. Header iterator (split at every offset), tree offsets
 * checked byte-exact against the message, every limit at -1/0/+1, malformed input,
 * RFC 2047 and RFC 2231 decoding, envelope addresses, and the blob round trip. */
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
#include "mime/mime.h"

#define ARENA_CAP (64u << 20)

static struct arena A;

static int setup(void **state)
{
	arena_init(&A, ARENA_CAP);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&A);
	return 0;
}

static const uint8_t *U(const char *s)
{
	return (const uint8_t *)s;
}

/* Offset of the first occurrence of needle in msg (must exist). */
static uint64_t off_of(const char *msg, const char *needle)
{
	const char *q = strstr(msg, needle);
	assert_non_null(q);
	return (uint64_t)(q - msg);
}

static void assert_mstr(const struct mime_str *s, const char *want)
{
	if (!want) {
		assert_null(s->s);
		return;
	}
	assert_non_null(s->s);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->s, want, s->len);
}

static const struct mime_param *param(const struct mime_param *p, const char *name)
{
	for (; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static const struct mime_part *child(const struct mime_part *pt, unsigned i)
{
	const struct mime_part *c = pt->children;
	while (c && i--)
		c = c->next;
	assert_non_null(c);
	return c;
}

/* Structural invariants every tree must hold. Returns the number of parts. */
static unsigned check_tree(const struct mime_part *pt, size_t len, unsigned depth)
{
	unsigned n = 1, k = 0;
	assert_true(pt->header_start <= pt->body_start);
	assert_true(pt->body_start <= pt->end);
	assert_true(pt->end <= len);
	assert_int_equal(pt->depth, depth);
	assert_true(depth <= LIMIT_MIME_DEPTH);
	assert_non_null(pt->type);
	assert_non_null(pt->subtype);
	assert_true(pt->nfields <= LIMIT_HEADER_FIELDS);
	if (pt->message) {
		assert_ptr_equal(pt->message->parent, pt);
		assert_non_null(pt->message->envelope);
		assert_true(pt->message->header_start >= pt->body_start);
		assert_true(pt->message->end <= pt->end);
		n += check_tree(pt->message, len, depth + 1);
	}
	uint64_t prev = pt->body_start;
	for (const struct mime_part *c = pt->children; c; c = c->next, k++) {
		assert_ptr_equal(c->parent, pt);
		assert_true(c->header_start >= prev);
		assert_true(c->end <= pt->end);
		prev = c->end;
		n += check_tree(c, len, depth + 1);
	}
	assert_int_equal(k, pt->nchildren);
	if (strcmp(pt->type, "multipart") == 0 && !(pt->flags & MIME_PART_TRUNCATED))
		assert_true(pt->nchildren >= 1);
	return n;
}

static struct mime_part *parse(const char *msg)
{
	struct mime_part *root = NULL;
	assert_int_equal(mime_parse(U(msg), strlen(msg), &A, &root), 0);
	assert_non_null(root);
	check_tree(root, strlen(msg), 0);
	return root;
}

/* Serialize, deserialize, serialize again: blobs equal; every cut blob is refused. */
static void round_trip(const struct mime_part *root)
{
	void *b1, *b2;
	size_t l1, l2;
	struct mime_part *back;
	assert_int_equal(mime_serialize(root, &A, &b1, &l1), 0);
	assert_int_equal(mime_deserialize(b1, l1, &A, &back), 0);
	assert_int_equal(mime_serialize(back, &A, &b2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	struct arena scratch;
	arena_init(&scratch, ARENA_CAP);
	/* Every cut of a small blob; of a big one (the limit tests) a spread of cuts. */
	size_t step = l1 > 4096 ? l1 / 512 : 1;
	for (size_t cut = 0; cut < l1; cut += (l1 - cut > 64 ? step : 1)) {
		assert_int_equal(mime_deserialize(b1, cut, &scratch, &back), ERR_BAD_SYNTAX);
		arena_reset(&scratch);
	}
	arena_free(&scratch);
}

/* ---- header iterator ---- */

struct got {
	char name[64], value[256];
	size_t start, end;
	bool bad;
};

/* Iterate blk fed in pieces of step bytes (0: all at once); returns fields seen. */
static unsigned iterate(const char *blk, size_t step, struct got *g, unsigned max, size_t *body)
{
	size_t n = strlen(blk), have = step ? 0 : n;
	struct mime_header_iter it;
	struct mime_field f;
	unsigned k = 0;
	mime_header_init(&it, 0);
	for (;;) {
		int r = mime_header_next(&it, U(blk), have, have == n, &f);
		if (r == 0) {
			assert_true(have < n);
			have = have + step > n ? n : have + step;
			continue;
		}
		if (r == MIME_HDR_END)
			break;
		assert_int_equal(r, MIME_HDR_FIELD);
		assert_true(k < max);
		snprintf(g[k].name, sizeof(g[k].name), "%.*s", (int)f.name_len, f.name);
		snprintf(g[k].value, sizeof(g[k].value), "%.*s", (int)f.value_len, f.value);
		g[k].start = f.start;
		g[k].end = f.end;
		g[k].bad = f.bad;
		k++;
	}
	*body = it.off;
	return k;
}

static void header_iter_splits(void **state)
{
	static const char *blocks[] = {
	    "Subject: hello\r\nTo: a@b,\r\n c@d\r\n\r\nbody\r\n",
	    "Subject: hello\nTo: a@b,\n\tc@d\n\nbody\n",
	    "X-No-Colon line\r\nA : b\r\n\r\n",
	    "Only: header\r\n",
	    "Only: header",
	    "\r\nbody",
	    "\nbody",
	    "A: 1\r\n\r",
	    "A: x\rstill\r\nB:\r\n\r\n",
	    "A: \x00\xff\x80\r\n\r\n",
	};
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		struct got whole[8], part[8];
		size_t body_whole, body_part;
		unsigned n = iterate(blocks[b], 0, whole, 8, &body_whole);
		size_t len = strlen(blocks[b]);
		for (size_t step = 1; step <= len; step++) {
			unsigned m = iterate(blocks[b], step, part, 8, &body_part);
			assert_int_equal(m, n);
			assert_int_equal(body_part, body_whole);
			for (unsigned i = 0; i < n; i++) {
				assert_string_equal(part[i].name, whole[i].name);
				assert_int_equal(part[i].start, whole[i].start);
				assert_int_equal(part[i].end, whole[i].end);
			}
		}
	}
	struct got g[8];
	size_t body;
	assert_int_equal(iterate(blocks[0], 0, g, 8, &body), 2);
	assert_string_equal(g[0].name, "Subject");
	assert_string_equal(g[0].value, " hello");
	assert_string_equal(g[1].value, " a@b,\r\n c@d");
	assert_int_equal(g[1].start, 16);
	assert_int_equal(g[1].end, 32);
	assert_int_equal(body, 34);
	assert_int_equal(iterate(blocks[1], 0, g, 8, &body), 2);
	assert_string_equal(g[1].value, " a@b,\n\tc@d");
	assert_int_equal(body, strlen("Subject: hello\nTo: a@b,\n\tc@d\n\n"));
	assert_int_equal(iterate(blocks[2], 0, g, 8, &body), 2);
	assert_true(g[0].bad);
	assert_string_equal(g[0].name, "X-No-Colon line");
	assert_false(g[1].bad);
	assert_string_equal(g[1].name, "A");
	assert_int_equal(iterate(blocks[4], 0, g, 8, &body), 1);
	assert_int_equal(body, strlen(blocks[4]));
	assert_int_equal(iterate(blocks[5], 0, g, 8, &body), 0);
	assert_int_equal(body, 2);
	assert_int_equal(iterate(blocks[8], 0, g, 8, &body), 2);
	assert_string_equal(g[0].value, " x\rstill");
}

static void header_find_unfold(void **state)
{
	const char *h =
	    "From: a@b\r\nSUBJECT: one\r\n two\r\nSubject: second\r\n\r\nSubject: body\r\n";
	struct mime_field f;
	struct mime_str s;
	assert_int_equal(mime_header_find(U(h), strlen(h), "subject", &f), 1);
	assert_int_equal(mime_unfold(f.value, f.value_len, &A, &s), 0);
	assert_mstr(&s, "one two");
	assert_int_equal(mime_header_find(U(h), strlen(h), "to", &f), 0);
	assert_int_equal(mime_header_find(U(h), 0, "from", &f), 0);
}

static char *many_fields(unsigned n, const char *body)
{
	size_t cap = (size_t)n * 16 + strlen(body) + 64;
	char *m = malloc(cap), *q = m;
	for (unsigned i = 0; i < n; i++)
		q += snprintf(q, cap - (size_t)(q - m), "X-F%u: v\r\n", i);
	snprintf(q, cap - (size_t)(q - m), "\r\n%s", body);
	return m;
}

static void header_field_limit(void **state)
{
	for (unsigned n = LIMIT_HEADER_FIELDS - 1; n <= LIMIT_HEADER_FIELDS + 1; n++) {
		char *m = many_fields(n, "body\r\n");
		struct mime_part *root = parse(m);
		if (n <= LIMIT_HEADER_FIELDS) {
			assert_int_equal(root->nfields, n);
			assert_false(root->flags & MIME_PART_HEADER_LIMIT);
			assert_int_equal(root->body_start, strlen(m) - 6);
		} else {
			/* The 1001st field and the rest become body: nothing is lost. */
			assert_int_equal(root->nfields, LIMIT_HEADER_FIELDS);
			assert_true(root->flags & MIME_PART_HEADER_LIMIT);
			assert_int_equal(root->body_start, off_of(m, "X-F1000:"));
			assert_int_equal(root->end, strlen(m));
		}
		round_trip(root);
		free(m);
	}
}

/* ---- tree ---- */

static const char mixed[] = "From: \"Doe, Jane\" <jane@example.com>\r\n"
                            "To: bob@example.org\r\n"
                            "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
                            "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
                            "Message-ID: <m1@example.com>\r\n"
                            "MIME-Version: 1.0\r\n"
                            "Content-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n"
                            "\r\n"
                            "This is the preamble.\r\n"
                            "--outer\r\n"
                            "Content-Type: multipart/alternative; boundary=inner\r\n"
                            "\r\n"
                            "--inner\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: QUOTED-PRINTABLE\r\n"
                            "\r\n"
                            "Hello\r\nworld\r\n"
                            "--inner\r\n"
                            "Content-Type: text/html\r\n"
                            "\r\n"
                            "<p>Hello</p>\r\n"
                            "--inner--\r\n"
                            "--outer  \r\n"
                            "Content-Type: application/pdf; name=\"a.pdf\"\r\n"
                            "Content-Disposition: attachment; filename=\"a.pdf\"\r\n"
                            "Content-Transfer-Encoding: base64\r\n"
                            "Content-ID: <c1@x>\r\n"
                            "Content-Description: the file\r\n"
                            "Content-Language: en, de (German)\r\n"
                            "Content-Location: http://x/a.pdf\r\n"
                            "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
                            "\r\n"
                            "JVBERi0=\r\n"
                            "--outer--\r\n"
                            "epilogue\r\n";

static void tree_mixed(void **state)
{
	struct mime_part *root = parse(mixed);
	assert_string_equal(root->type, "multipart");
	assert_string_equal(root->subtype, "mixed");
	assert_int_equal(root->header_start, 0);
	assert_int_equal(root->body_start, off_of(mixed, "This is the preamble"));
	assert_int_equal(root->end, strlen(mixed));
	assert_int_equal(root->nchildren, 2);
	assert_int_equal(root->flags, 0);

	const struct mime_part *alt = child(root, 0);
	assert_string_equal(alt->subtype, "alternative");
	assert_int_equal(alt->header_start, off_of(mixed, "Content-Type: multipart/alternative"));
	assert_int_equal(alt->body_start, off_of(mixed, "--inner\r\n"));
	/* The CRLF before "--outer  " belongs to the delimiter. */
	assert_int_equal(alt->end, off_of(mixed, "--outer  ") - 2);
	assert_int_equal(alt->nchildren, 2);

	const struct mime_part *txt = child(alt, 0);
	assert_string_equal(txt->type, "text");
	assert_string_equal(txt->subtype, "plain");
	assert_mstr(&param(txt->params, "charset")->value, "utf-8");
	assert_mstr(&txt->encoding, "quoted-printable");
	assert_int_equal(txt->header_start, off_of(mixed, "Content-Type: text/plain"));
	assert_int_equal(txt->body_start, off_of(mixed, "Hello\r\nworld"));
	assert_int_equal(txt->end, off_of(mixed, "Hello\r\nworld") + 12);
	assert_int_equal(txt->body_lines, 1); /* the CRLF after "world" is the delimiter's */
	assert_int_equal(txt->depth, 2);

	const struct mime_part *html = child(alt, 1);
	assert_string_equal(html->subtype, "html");
	assert_int_equal(html->body_start, off_of(mixed, "<p>"));
	assert_int_equal(html->end, off_of(mixed, "<p>") + 12);
	assert_int_equal(html->body_lines, 0);

	const struct mime_part *pdf = child(root, 1);
	assert_string_equal(pdf->type, "application");
	assert_mstr(&param(pdf->params, "name")->value, "a.pdf");
	assert_string_equal(pdf->disposition, "attachment");
	assert_mstr(&param(pdf->disp_params, "filename")->value, "a.pdf");
	assert_mstr(&pdf->encoding, "base64");
	assert_mstr(&pdf->id, "<c1@x>");
	assert_mstr(&pdf->description, "the file");
	assert_mstr(&pdf->location, "http://x/a.pdf");
	assert_mstr(&pdf->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	assert_int_equal(pdf->nlanguages, 2);
	assert_mstr(&pdf->languages[0], "en");
	assert_mstr(&pdf->languages[1], "de");
	assert_int_equal(pdf->body_start, off_of(mixed, "JVBERi0="));
	assert_int_equal(pdf->end, off_of(mixed, "JVBERi0=") + 8);

	const struct mime_envelope *e = root->envelope;
	assert_non_null(e);
	assert_mstr(&e->subject, "=?utf-8?q?Gr=C3=BC=C3=9Fe?=");
	assert_mstr(&e->date, "Mon, 1 Jan 2024 10:00:00 +0000");
	assert_mstr(&e->message_id, "<m1@example.com>");
	assert_mstr(&e->in_reply_to, NULL);
	assert_mstr(&e->from->name, "Doe, Jane");
	assert_mstr(&e->from->mailbox, "jane");
	assert_mstr(&e->from->host, "example.com");
	assert_mstr(&e->to->mailbox, "bob");
	assert_null(e->sender);
	assert_null(e->cc);
	assert_null(child(root, 0)->envelope);
	round_trip(root);
}

static void tree_defaults(void **state)
{
	const char *m = "Subject: x\r\n\r\nhi";
	struct mime_part *root = parse(m);
	assert_string_equal(root->type, "text");
	assert_string_equal(root->subtype, "plain");
	assert_mstr(&param(root->params, "charset")->value, "us-ascii");
	assert_int_equal(root->body_start, 14);
	assert_int_equal(root->body_lines, 0); /* "hi" has no line end */
	assert_int_equal(root->nchildren, 0);

	/* An invalid Content-Type falls back to the default too. */
	root = parse("Content-Type: text\r\n\r\nx");
	assert_string_equal(root->subtype, "plain");
	root = parse("Content-Type: ; charset=x\r\n\r\nx");
	assert_string_equal(root->type, "text");
	root =
	    parse("Content-Type: TEXT / HTML (c) ; CHARSET=\"a\\\"b\" (x); Format=flowed\r\n\r\n");
	assert_string_equal(root->subtype, "html");
	assert_mstr(&param(root->params, "charset")->value, "a\"b");
	assert_mstr(&param(root->params, "format")->value, "flowed");

	/* Empty message, header only, body only. */
	root = parse("");
	assert_int_equal(root->end, 0);
	assert_int_equal(root->body_lines, 0);
	root = parse("A: b");
	assert_int_equal(root->body_start, 4);
	root = parse("\r\nbody");
	assert_int_equal(root->body_start, 2);
	assert_int_equal(root->nfields, 0);
}

static void tree_rfc822_digest(void **state)
{
	const char *m = "Content-Type: multipart/digest; boundary=d\r\n"
	                "\r\n"
	                "--d\r\n"
	                "\r\n"
	                "From: x@y\r\nSubject: inner1\r\n\r\nbody1\r\n"
	                "--d\r\n"
	                "Content-Type: message/rfc822\r\n"
	                "\r\n"
	                "Subject: inner2\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n"
	                "--z\r\n\r\nzz\r\n--z--\r\n"
	                "--d--\r\n";
	struct mime_part *root = parse(m);
	assert_int_equal(root->nchildren, 2);
	const struct mime_part *d1 = child(root, 0);
	assert_string_equal(d1->type, "message");
	assert_string_equal(d1->subtype, "rfc822");
	assert_null(d1->params);
	assert_non_null(d1->message);
	assert_int_equal(d1->message->header_start, off_of(m, "From: x@y"));
	assert_int_equal(d1->message->body_start, off_of(m, "body1"));
	assert_int_equal(d1->message->end, off_of(m, "body1") + 5);
	assert_mstr(&d1->message->envelope->subject, "inner1");
	assert_int_equal(d1->body_lines, 3);
	const struct mime_part *d2 = child(root, 1);
	const struct mime_part *inner = d2->message;
	assert_non_null(inner);
	assert_mstr(&inner->envelope->subject, "inner2");
	assert_string_equal(inner->subtype, "mixed");
	assert_int_equal(inner->depth, 2);
	assert_int_equal(inner->nchildren, 1);
	assert_int_equal(child(inner, 0)->body_start, off_of(m, "zz"));
	assert_int_equal(child(inner, 0)->depth, 3);

	/* An encoded message/rfc822 is not descended into. */
	root = parse("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	             "U3ViamVjdDogeA0KDQo=\r\n");
	assert_null(root->message);
	round_trip(root);
	root = parse("Content-Type: message/global\r\n\r\nSubject: g\r\n\r\nx");
	assert_mstr(&root->message->envelope->subject, "g");
}

static void tree_boundaries(void **state)
{
	/* Bare LF throughout; delimiter right at the body start (no preamble). */
	const char *lf =
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nA: 1\n\none\n--b\n\ntwo\n--b--\n";
	struct mime_part *root = parse(lf);
	assert_int_equal(root->nchildren, 2);
	assert_int_equal(child(root, 0)->header_start, off_of(lf, "A: 1"));
	assert_int_equal(child(root, 0)->body_start, off_of(lf, "one"));
	assert_int_equal(child(root, 0)->end, off_of(lf, "one") + 3);
	assert_int_equal(child(root, 1)->body_start, off_of(lf, "two"));
	assert_int_equal(child(root, 1)->end, off_of(lf, "two") + 3);
	round_trip(root);

	/* Unterminated: the last part ends at the end of the message. */
	const char *un = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nrest\r\n";
	root = parse(un);
	assert_true(root->flags & MIME_PART_UNTERMINATED);
	assert_int_equal(child(root, 0)->end, strlen(un));

	/* A line that begins with "--b" is a delimiter ("--bb" too, RFC 2046 5.1.1), one
	 * that does not ("-- b") is not; a close delimiter ends the split. */
	const char *pre =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--bb\r\n-- b\r\n"
	    "--b--\r\n--b\r\nafter\r\n";
	root = parse(pre);
	assert_int_equal(root->nchildren, 2);
	assert_int_equal(child(root, 0)->end, off_of(pre, "x\r\n--bb") + 1);
	assert_int_equal(child(root, 1)->header_start, off_of(pre, "-- b"));
	assert_int_equal(child(root, 1)->end, off_of(pre, "\r\n--b--"));
	assert_false(root->flags & MIME_PART_UNTERMINATED);

	/* No delimiter, or no boundary: one synthetic part spanning the body. */
	const char *none = "Content-Type: multipart/mixed; boundary=b\r\n\r\njust text\r\n";
	root = parse(none);
	assert_int_equal(root->nchildren, 1);
	assert_true(child(root, 0)->flags & MIME_PART_SYNTHETIC);
	assert_int_equal(child(root, 0)->body_start, off_of(none, "just"));
	assert_int_equal(child(root, 0)->end, strlen(none));
	root = parse("Content-Type: multipart/mixed\r\n\r\n--\r\n");
	assert_true(child(root, 0)->flags & MIME_PART_SYNTHETIC);
	round_trip(root);

	/* Adjacent delimiters give an empty part; inner multipart ended by the outer. */
	const char *adj = "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n--o\r\n"
	                  "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nx\r\n"
	                  "--o--\r\n";
	root = parse(adj);
	assert_int_equal(root->nchildren, 2);
	assert_int_equal(child(root, 0)->header_start, child(root, 0)->end);
	const struct mime_part *in = child(root, 1);
	assert_true(in->flags & MIME_PART_UNTERMINATED);
	assert_int_equal(child(in, 0)->end, off_of(adj, "x\r\n--o--") + 1);

	/* NUL and 8-bit bytes in header and body. */
	static const char nul[] = "Subject: a\0b\xff\r\nContent-Type: text/plain\r\n\r\n\0\0\xfe";
	root = NULL;
	assert_int_equal(mime_parse(U(nul), sizeof(nul) - 1, &A, &root), 0);
	check_tree(root, sizeof(nul) - 1, 0);
	assert_int_equal(root->envelope->subject.len, 4);
	assert_memory_equal(root->envelope->subject.s, "a\0b\xff", 4);
	assert_int_equal(root->end - root->body_start, 3);
	round_trip(root);
}

/* k multiparts nested in each other, a text part innermost. */
static char *nested(unsigned k)
{
	size_t cap = (size_t)k * 120 + 64;
	char *m = malloc(cap), *q = m;
	for (unsigned i = 0; i < k; i++)
		q += snprintf(q, cap - (size_t)(q - m),
		              "Content-Type: multipart/mixed; boundary=b%u\r\n\r\n--b%u\r\n", i, i);
	q += snprintf(q, cap - (size_t)(q - m), "\r\ntext\r\n");
	for (unsigned i = k; i-- > 0;)
		q += snprintf(q, cap - (size_t)(q - m), "--b%u--\r\n", i);
	return m;
}

static void limit_depth(void **state)
{
	for (unsigned k = LIMIT_MIME_DEPTH - 1; k <= LIMIT_MIME_DEPTH + 1; k++) {
		char *m = nested(k);
		struct mime_part *root = parse(m);
		const struct mime_part *pt = root;
		unsigned d = 0;
		while (pt->children) {
			pt = pt->children;
			d++;
		}
		if (k <= LIMIT_MIME_DEPTH) {
			assert_int_equal(d, k);
			assert_string_equal(pt->type, "text");
			assert_int_equal(pt->body_start, off_of(m, "text"));
		} else {
			/* The multipart at the depth limit stays one opaque part. */
			assert_int_equal(d, LIMIT_MIME_DEPTH);
			assert_string_equal(pt->type, "multipart");
			assert_true(pt->flags & MIME_PART_TRUNCATED);
		}
		round_trip(root);
		free(m);
	}
	/* message/rfc822 nesting counts the same way. */
	for (unsigned k = LIMIT_MIME_DEPTH - 1; k <= LIMIT_MIME_DEPTH + 1; k++) {
		size_t cap = 40u * (k + 2);
		char *m = malloc(cap), *q = m;
		for (unsigned i = 0; i < k; i++)
			q += snprintf(q, cap - (size_t)(q - m),
			              "Content-Type: message/rfc822\r\n\r\n");
		snprintf(q, cap - (size_t)(q - m), "Subject: deep\r\n\r\nx");
		struct mime_part *root = parse(m);
		const struct mime_part *pt = root;
		unsigned d = 0;
		while (pt->message) {
			pt = pt->message;
			d++;
		}
		assert_int_equal(d, k <= LIMIT_MIME_DEPTH ? k : LIMIT_MIME_DEPTH);
		if (k <= LIMIT_MIME_DEPTH)
			assert_mstr(&pt->envelope->subject, "deep");
		else
			assert_true(pt->flags & MIME_PART_TRUNCATED);
		round_trip(root);
		free(m);
	}
}

/* One multipart with n text parts: n + 1 parts in all. */
static char *wide(unsigned n)
{
	size_t cap = (size_t)n * 16 + 128;
	char *m = malloc(cap), *q = m;
	q += snprintf(q, cap, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (unsigned i = 0; i < n; i++)
		q += snprintf(q, cap - (size_t)(q - m), "--b\r\n\r\n%u\r\n", i);
	snprintf(q, cap - (size_t)(q - m), "--b--\r\n");
	return m;
}

static void limit_parts(void **state)
{
	for (unsigned total = LIMIT_MIME_PARTS - 1; total <= LIMIT_MIME_PARTS + 1; total++) {
		char *m = wide(total - 1);
		struct mime_part *root = parse(m);
		if (total <= LIMIT_MIME_PARTS) {
			assert_int_equal(root->nchildren, total - 1);
			assert_false(root->flags & MIME_PART_TRUNCATED);
		} else {
			/* The part past the limit stays in the parent's body (epilogue). */
			assert_int_equal(root->nchildren, LIMIT_MIME_PARTS - 1);
			assert_true(root->flags & MIME_PART_TRUNCATED);
			assert_int_equal(root->end, strlen(m));
		}
		round_trip(root);
		free(m);
	}
}

/* Every prefix of a message parses into a sound tree. */
static void prefixes(void **state)
{
	size_t n = strlen(mixed);
	for (size_t cut = 0; cut <= n; cut++) {
		struct mime_part *root;
		assert_int_equal(mime_parse(U(mixed), cut, &A, &root), 0);
		check_tree(root, cut, 0);
		arena_reset(&A);
	}
}

static void arena_exhaustion(void **state)
{
	/* A tiny arena fails with ERR_NOMEM, never a crash or a half tree. */
	for (size_t cap = 0; cap < 8192; cap += 64) {
		struct arena small;
		struct mime_part *root = NULL;
		arena_init(&small, cap);
		int r = mime_parse(U(mixed), strlen(mixed), &small, &root);
		assert_true(r == 0 || r == ERR_NOMEM);
		arena_free(&small);
	}
}

/* ---- RFC 2047 ---- */

static void decode(const char *in, const char *want)
{
	struct mime_str out;
	assert_int_equal(mime_decode_words(U(in), strlen(in), &A, &out), 0);
	if (out.len != strlen(want) || memcmp(out.s, want, out.len) != 0)
		fail_msg("decode(%s) = [%.*s], want [%s]", in, (int)out.len, out.s, want);
}

static void rfc2047(void **state)
{
	decode("plain text", "plain text");
	decode("=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= Berlin", "Grüße aus Berlin");
	decode("=?iso-8859-1?q?Gr=FC=DFe?=", "Grüße");
	decode("=?ISO-8859-1?B?R3L832U=?=", "Grüße");
	decode("=?utf-8?b?w7w=?=", "ü");
	/* Whitespace between adjacent encoded words disappears, also across a fold. */
	decode("=?utf-8?q?a?= =?utf-8?q?b?=", "ab");
	decode("=?utf-8?q?a?=\r\n  =?utf-8?q?b?=", "ab");
	decode("=?utf-8?q?a?= =?iso-8859-1?q?=E9?=", "aé");
	/* ... but not between an encoded word and text. */
	decode("x =?utf-8?q?a?= y", "x a y");
	decode("=?utf-8?q?a_b?=  c", "a b  c");
	/* A UTF-8 character split over two B words is joined before conversion. */
	decode("=?utf-8?b?ww==?= =?utf-8?b?pA==?=", "\xc3\xa4");
	decode("=?UTF-8*en?Q?hi?=", "hi");
	/* Unknown charset, bad encoding, broken syntax: kept as they are. */
	decode("=?x-unknown-cs?q?abc?=", "=?x-unknown-cs?q?abc?=");
	decode("=?utf-8?b?***?=", "=?utf-8?b?***?=");
	decode("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	decode("=?utf-8?q?a b?=", "=?utf-8?q?a b?=");
	decode("=?utf-8?q?abc", "=?utf-8?q?abc");
	decode("=?../etc?q?a?=", "=?../etc?q?a?=");
	decode("=?utf-8//TRANSLIT?q?a?=", "=?utf-8//TRANSLIT?q?a?=");
	/* Q edge cases: a lone '=' stays, soft hex in either case. */
	decode("=?utf-8?q?a=?=", "a=");
	decode("=?utf-8?q?=c3=a4?=", "ä");
	/* Invalid UTF-8 in raw text and in decoded text becomes U+FFFD. */
	decode("a\xff"
	       "b",
	       "a\xef\xbf\xbd"
	       "b");
	decode("=?utf-8?q?=FF?=", "\xef\xbf\xbd");
	decode("", "");
	/* Regression (fuzz): an encoded word with empty text. */
	decode("=?utf-8?q?\?=", "");
	decode("a =?utf-8?q?\?= =?utf-8?b?\?= b", "a  b");

	struct mime_str out;
	assert_int_equal(mime_charset_to_utf8("windows-1252", U("\x80"), 1, &A, &out), 0);
	assert_mstr(&out, "\xe2\x82\xac");
	assert_int_equal(mime_charset_to_utf8("no-such-charset", U("a"), 1, &A, &out),
	                 ERR_NOTFOUND);
	assert_int_equal(mime_charset_to_utf8("utf-8", U("\xc3"), 1, &A, &out), 0);
	assert_mstr(&out, "\xef\xbf\xbd");
}

/* ---- RFC 2231 ---- */

static void rfc2231(void **state)
{
	struct mime_part *root =
	    parse("Content-Type: application/x-stuff;\r\n"
	          " title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
	          " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
	          " title*2=\"isn't it!\"\r\n"
	          "Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC%20rates.txt;\r\n"
	          " size=10\r\n\r\n");
	assert_mstr(&param(root->params, "title")->value, "This is even more ***fun*** isn't it!");
	assert_false(param(root->params, "title")->extended);
	assert_mstr(&param(root->disp_params, "filename")->value, "€ rates.txt");
	assert_mstr(&param(root->disp_params, "size")->value, "10");

	/* Sections out of order, latin-1, a plain duplicate loses to the RFC 2231 form. */
	root = parse("Content-Type: text/plain; name=\"plain.txt\"; name*1=\"b.txt\";"
	             " name*0*=iso-8859-1''%E9-\r\n\r\n");
	assert_mstr(&param(root->params, "name")->value, "é-b.txt");
	/* A gap ends the value. */
	root = parse("Content-Type: text/plain; n*0=a; n*2=c\r\n\r\n");
	assert_mstr(&param(root->params, "n")->value, "a");
	/* Unknown charset: kept in extended form, re-encoded. */
	root = parse("Content-Type: text/plain; n*=x-nope'de'a%20b%2\r\n\r\n");
	assert_true(param(root->params, "n")->extended);
	assert_mstr(&param(root->params, "n")->value, "x-nope'de'a%20b%252");
	/* Leading zeros are not sections: a plain parameter named "n*01". */
	root = parse("Content-Type: text/plain; n*01=a\r\n\r\n");
	assert_mstr(&param(root->params, "n*01")->value, "a");
	/* No charset quotes: taken as is. */
	root = parse("Content-Type: text/plain; n*=abc%41\r\n\r\n");
	assert_mstr(&param(root->params, "n")->value, "abcA");
	/* Junk between parameters is skipped; the limit on raw parameters holds. */
	root = parse("Content-Type: text/plain; junk; ;=x; a=1 b; c=\"unterminated\r\n\r\n");
	assert_mstr(&param(root->params, "a")->value, "1");
	assert_mstr(&param(root->params, "c")->value, "unterminated");
	char *m = malloc(MIME_PARAMS_MAX * 12 + 64), *q = m;
	q += snprintf(q, 64, "Content-Type: text/plain");
	for (unsigned i = 0; i < MIME_PARAMS_MAX + 1; i++)
		q += snprintf(q, 12, "; p%u=v", i);
	snprintf(q, 8, "\r\n\r\n");
	root = parse(m);
	unsigned n = 0;
	for (const struct mime_param *p = root->params; p; p = p->next)
		n++;
	assert_int_equal(n, MIME_PARAMS_MAX);
	free(m);
}

/* ---- addresses ---- */

static const struct mime_addr *addrs(const char *to)
{
	char m[1024];
	snprintf(m, sizeof(m), "To: %s\r\n\r\n", to);
	struct mime_part *root = parse(m);
	round_trip(root);
	return root->envelope->to;
}

static void want_addr(const struct mime_addr *a, enum mime_addr_kind kind, const char *name,
                      const char *adl, const char *mailbox, const char *host)
{
	assert_non_null(a);
	assert_int_equal(a->kind, kind);
	assert_mstr(&a->name, name);
	assert_mstr(&a->adl, adl);
	assert_mstr(&a->mailbox, mailbox);
	assert_mstr(&a->host, host);
}

static void envelope_addresses(void **state)
{
	const struct mime_addr *a;
	a = addrs("a@b.c");
	want_addr(a, MIME_ADDR_MAILBOX, NULL, NULL, "a", "b.c");
	assert_null(a->next);
	a = addrs("\"Last, First\" <f.l@x.org>, Plain Name <p@y>");
	want_addr(a, MIME_ADDR_MAILBOX, "Last, First", NULL, "f.l", "x.org");
	want_addr(a->next, MIME_ADDR_MAILBOX, "Plain Name", NULL, "p", "y");
	a = addrs("=?utf-8?q?J=C3=B6rg?= <j@x>");
	want_addr(a, MIME_ADDR_MAILBOX, "=?utf-8?q?J=C3=B6rg?=", NULL, "j", "x");
	a = addrs("a@b (Comment Name), (only comment) c@d");
	want_addr(a, MIME_ADDR_MAILBOX, "Comment Name", NULL, "a", "b");
	want_addr(a->next, MIME_ADDR_MAILBOX, NULL, NULL, "c", "d"); /* a leading comment */
	a = addrs("Team: x@y, \"Q \\\"q\\\"\" <z@w>; , after@z");
	want_addr(a, MIME_ADDR_GROUP_START, NULL, NULL, "Team", NULL);
	want_addr(a->next, MIME_ADDR_MAILBOX, NULL, NULL, "x", "y");
	want_addr(a->next->next, MIME_ADDR_MAILBOX, "Q \"q\"", NULL, "z", "w");
	want_addr(a->next->next->next, MIME_ADDR_GROUP_END, NULL, NULL, NULL, NULL);
	want_addr(a->next->next->next->next, MIME_ADDR_MAILBOX, NULL, NULL, "after", "z");
	a = addrs("undisclosed-recipients:;");
	want_addr(a, MIME_ADDR_GROUP_START, NULL, NULL, "undisclosed-recipients", NULL);
	want_addr(a->next, MIME_ADDR_GROUP_END, NULL, NULL, NULL, NULL);
	assert_null(a->next->next);
	a = addrs("Open group: a@b");
	want_addr(a->next->next, MIME_ADDR_GROUP_END, NULL, NULL, NULL, NULL);
	/* Obsolete forms: a route, CFWS around dots, empty list elements. */
	a = addrs("<@r1.example,@r2.example:u@h>");
	want_addr(a, MIME_ADDR_MAILBOX, NULL, "@r1.example,@r2.example", "u", "h");
	a = addrs(",, john . doe @ example . com ,");
	want_addr(a, MIME_ADDR_MAILBOX, NULL, NULL, "john.doe", "example.com");
	assert_null(a->next);
	a = addrs("\"quoted local\"@x, <\"a b\"@[1.2.3.4]>");
	want_addr(a, MIME_ADDR_MAILBOX, NULL, NULL, "quoted local", "x");
	want_addr(a->next, MIME_ADDR_MAILBOX, NULL, NULL, "a b", "[1.2.3.4]");
	/* Broken ones still give something. */
	a = addrs("nodomain, <>, Name <bare>, a@b <c@d>, <x@y> junk");
	want_addr(a, MIME_ADDR_MAILBOX, NULL, NULL, "nodomain", "");
	want_addr(a->next, MIME_ADDR_MAILBOX, NULL, NULL, "", "");
	want_addr(a->next->next, MIME_ADDR_MAILBOX, "Name", NULL, "bare", "");
	want_addr(a->next->next->next, MIME_ADDR_MAILBOX, "a@b", NULL, "c", "d");
	want_addr(a->next->next->next->next, MIME_ADDR_MAILBOX, NULL, NULL, "x", "y");
	a = addrs("\"unterminated <a@b>");
	assert_non_null(a);
	a = addrs("(unterminated comment a@b");
	assert_null(a);
	a = addrs("   ");
	assert_null(a);
	a = addrs("x@y (a (nested) comment)");
	want_addr(a, MIME_ADDR_MAILBOX, "a (nested) comment", NULL, "x", "y");

	/* Every envelope field, first occurrence wins, folded values unfolded. */
	struct mime_part *root = parse("From: f@x\r\nFrom: second@x\r\nSender: s@x\r\n"
	                               "Reply-To: r@x\r\nCc: c@x\r\nBcc: b@x\r\n"
	                               "In-Reply-To: <i@x>\r\nSubject: a\r\n  b\r\n\r\n");
	const struct mime_envelope *e = root->envelope;
	assert_mstr(&e->from->mailbox, "f");
	assert_null(e->from->next);
	assert_mstr(&e->sender->mailbox, "s");
	assert_mstr(&e->reply_to->mailbox, "r");
	assert_mstr(&e->cc->mailbox, "c");
	assert_mstr(&e->bcc->mailbox, "b");
	assert_mstr(&e->in_reply_to, "<i@x>");
	assert_mstr(&e->subject, "a  b");
	assert_null(e->to);

	/* The address limit: MIME_ADDRS_MAX entries, -1/0/+1. */
	for (unsigned k = MIME_ADDRS_MAX - 1; k <= MIME_ADDRS_MAX + 1; k++) {
		size_t cap = (size_t)k * 8 + 16;
		char *m = malloc(cap), *q = m;
		q += snprintf(q, cap, "To: ");
		for (unsigned i = 0; i < k; i++)
			q += snprintf(q, cap - (size_t)(q - m), "a%u@b,", i % 10);
		snprintf(q, cap - (size_t)(q - m), "\r\n\r\n");
		root = parse(m);
		unsigned n = 0;
		for (a = root->envelope->to; a; a = a->next)
			n++;
		assert_int_equal(n, k < MIME_ADDRS_MAX ? k : MIME_ADDRS_MAX);
		free(m);
	}
}

/* ---- blob ---- */

static void blob_round_trip(void **state)
{
	struct mime_part *root = parse(mixed);
	void *blob;
	size_t len;
	assert_int_equal(mime_index(U(mixed), strlen(mixed), &A, &blob, &len), 0);
	struct mime_part *back;
	assert_int_equal(mime_deserialize(blob, len, &A, &back), 0);
	check_tree(back, strlen(mixed), 0);
	assert_int_equal(back->nchildren, root->nchildren);
	const struct mime_part *pdf = child(back, 1);
	assert_int_equal(pdf->body_start, child(root, 1)->body_start);
	assert_mstr(&pdf->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	assert_mstr(&pdf->languages[1], "de");
	assert_ptr_equal(pdf->parent, back);
	assert_mstr(&back->envelope->from->name, "Doe, Jane");
	assert_null(back->envelope->cc);
	round_trip(root);

	/* Another version (an older one is re-derived from the message), trailing bytes,
	 * non-minimal varints, bad booleans. */
	uint8_t *b = malloc(len + 1);
	memcpy(b, blob, len);
	b[3] = MIME_BLOB_VERSION + 1;
	assert_int_equal(mime_deserialize(b, len, &A, &back), ERR_BAD_SYNTAX);
	b[3] = MIME_BLOB_VERSION - 1;
	assert_int_equal(mime_deserialize(b, len, &A, &back), ERR_BAD_SYNTAX);
	b[3] = MIME_BLOB_VERSION;
	b[len] = 0;
	assert_int_equal(mime_deserialize(b, len + 1, &A, &back), ERR_BAD_SYNTAX);
	assert_int_equal(mime_deserialize(b, 0, &A, &back), ERR_BAD_SYNTAX);
	static const uint8_t nonmin[] = {'K', 'M', 'B', MIME_BLOB_VERSION, 0x80, 0x00};
	assert_int_equal(mime_deserialize(nonmin, sizeof(nonmin), &A, &back), ERR_BAD_SYNTAX);
	/* Every single-byte change either fails cleanly or re-encodes to itself. */
	struct arena scratch;
	arena_init(&scratch, ARENA_CAP);
	for (size_t i = 4; i < len; i++) {
		for (unsigned v = 0; v < 256; v += 51) {
			memcpy(b, blob, len);
			b[i] = (uint8_t)v;
			int r = mime_deserialize(b, len, &scratch, &back);
			if (r == 0) {
				void *again;
				size_t al;
				assert_int_equal(mime_serialize(back, &scratch, &again, &al), 0);
				assert_int_equal(al, len);
				assert_memory_equal(again, b, len);
			} else {
				assert_int_equal(r, ERR_BAD_SYNTAX);
			}
		}
		arena_reset(&scratch);
	}
	arena_free(&scratch);
	free(b);

	/* Regression (fuzz): overlapping siblings are refused, touching ones accepted. */
	const char *two = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
	                  "--b\r\n\r\ntwo\r\n--b--\r\n";
	root = parse(two);
	struct mime_part *second = root->children->next;
	second->header_start = root->children->end;
	assert_int_equal(mime_serialize(root, &A, &blob, &len), 0);
	assert_int_equal(mime_deserialize(blob, len, &A, &back), 0);
	second->header_start = root->children->end - 1;
	assert_int_equal(mime_serialize(root, &A, &blob, &len), 0);
	assert_int_equal(mime_deserialize(blob, len, &A, &back), ERR_BAD_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(header_iter_splits, setup, teardown),
	    cmocka_unit_test_setup_teardown(header_find_unfold, setup, teardown),
	    cmocka_unit_test_setup_teardown(header_field_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(tree_mixed, setup, teardown),
	    cmocka_unit_test_setup_teardown(tree_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(tree_rfc822_digest, setup, teardown),
	    cmocka_unit_test_setup_teardown(tree_boundaries, setup, teardown),
	    cmocka_unit_test_setup_teardown(limit_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(limit_parts, setup, teardown),
	    cmocka_unit_test_setup_teardown(prefixes, setup, teardown),
	    cmocka_unit_test_setup_teardown(arena_exhaustion, setup, teardown),
	    cmocka_unit_test_setup_teardown(rfc2047, setup, teardown),
	    cmocka_unit_test_setup_teardown(rfc2231, setup, teardown),
	    cmocka_unit_test_setup_teardown(envelope_addresses, setup, teardown),
	    cmocka_unit_test_setup_teardown(blob_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
