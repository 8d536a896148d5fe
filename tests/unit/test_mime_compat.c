/* test_mime_compat.c: the mime decisions where RFC text leaves room and kasten answers
 * as Dovecot does (tests/corpus/imap/README.md, "Decided as Dovecot does"): the line
 * count of a part, delimiter lines matched by their beginning with nested boundaries
 * that begin with each other, which comment names an address, a phrase without an
 * address, and a bare CR in a header value. Offsets are checked byte-exact against the
 * message; every prefix of the nested message parses into a sound tree; the nesting of
 * one boundary in itself is checked at LIMIT_MIME_DEPTH -1/0/+1. */
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

static uint64_t off_of(const char *msg, const char *needle)
{
	const char *q = strstr(msg, needle);
	if (!q)
		fail_msg("\"%s\" is not in the message", needle);
	return (uint64_t)(q - msg);
}

static void assert_mstr(const struct mime_str *s, const char *want)
{
	if (!want) {
		assert_null(s->s);
		return;
	}
	assert_non_null(s->s);
	if (s->len != strlen(want) || memcmp(s->s, want, s->len) != 0)
		fail_msg("got [%.*s], want [%s]", (int)s->len, s->s, want);
}

/* Children and encapsulated messages lie inside their parent, in order. */
static void check_tree(const struct mime_part *pt, uint64_t len)
{
	assert_true(pt->header_start <= pt->body_start && pt->body_start <= pt->end);
	assert_true(pt->end <= len && pt->depth <= LIMIT_MIME_DEPTH);
	if (pt->message) {
		assert_true(pt->message->header_start >= pt->body_start);
		assert_true(pt->message->end <= pt->end);
		check_tree(pt->message, len);
	}
	uint64_t prev = pt->body_start;
	for (const struct mime_part *c = pt->children; c; c = c->next) {
		assert_true(c->header_start >= prev && c->end <= pt->end);
		prev = c->end;
		check_tree(c, len);
	}
}

static struct mime_part *parse_n(const char *msg, size_t n)
{
	struct mime_part *root = NULL;
	assert_int_equal(mime_parse((const uint8_t *)msg, n, &A, &root), 0);
	check_tree(root, n);
	return root;
}

static struct mime_part *parse(const char *msg)
{
	return parse_n(msg, strlen(msg));
}

static const struct mime_part *child(const struct mime_part *pt, unsigned i)
{
	const struct mime_part *c = pt->children;
	while (c && i--)
		c = c->next;
	assert_non_null(c);
	return c;
}

/* The part [s, e) of msg: its body is exactly the bytes between them. */
static void assert_body(const char *msg, const struct mime_part *pt, const char *body)
{
	uint64_t s = off_of(msg, body);
	assert_int_equal(pt->body_start, s);
	assert_int_equal(pt->end, s + strlen(body));
}

/* ---- 1. body-fld-lines counts line ends (RFC 9051 7.5.2, RFC 2046 5.1.1) ---- */

static void lines_count_line_ends(void **state)
{
	assert_int_equal(parse("Subject: x\r\n\r\none\r\ntwo")->body_lines, 1);
	assert_int_equal(parse("Subject: x\r\n\r\none\r\ntwo\r\n")->body_lines, 2);
	assert_int_equal(parse("Subject: x\n\none\ntwo\n")->body_lines, 2);
	assert_int_equal(parse("Subject: x\r\n\r\na bare\rCR")->body_lines, 0);
	assert_int_equal(parse("Subject: x\r\n\r\n")->body_lines, 0);

	/* Before a delimiter the CRLF is the delimiter's: "two" has no line end. */
	const char *m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                "--b\r\n\r\none\r\ntwo\r\n"
	                "--b\r\n\r\nblank line follows\r\n\r\n"
	                "--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n"
	                "--b--\r\n";
	struct mime_part *root = parse(m);
	assert_int_equal(root->nchildren, 3);
	assert_body(m, child(root, 0), "one\r\ntwo");
	assert_int_equal(child(root, 0)->body_lines, 1);
	assert_body(m, child(root, 1), "blank line follows\r\n");
	assert_int_equal(child(root, 1)->body_lines, 1);
	const struct mime_part *msg = child(root, 2);
	assert_body(m, msg, "Subject: in\r\n\r\nbody");
	assert_int_equal(msg->body_lines, 2);
	assert_int_equal(msg->message->body_lines, 0);
	assert_int_equal(root->body_lines, 0); /* multipart: none */

	/* The synthetic part of a multipart without delimiters counts the same way. */
	root = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\nno\r\nparts");
	assert_int_equal(child(root, 0)->body_lines, 1);
}

/* ---- 2. delimiter lines begin with "--" boundary (RFC 2046 5.1.1) ---- */

static void prefix_single(void **state)
{
	const char *m = "Content-Type: multipart/mixed; boundary=abc\r\n\r\n"
	                "--abc\r\n\r\none\r\n"
	                "--abcdef begins with the delimiter\r\n\r\ntwo\r\n"
	                "-- abc\r\n --abc\r\n-abc\r\n"
	                "--abc--and more\r\n"
	                "--abc\r\nepilogue\r\n";
	struct mime_part *root = parse(m);
	assert_int_equal(root->nchildren, 2);
	assert_body(m, child(root, 0), "one");
	assert_body(m, child(root, 1), "two\r\n-- abc\r\n --abc\r\n-abc");
	assert_false(root->flags & MIME_PART_UNTERMINATED);
	assert_int_equal(root->end, strlen(m));
}

/* Boundaries that begin with each other: the longest open one that begins the line wins,
 * of equal ones the innermost; every open one ends the parts inside its multipart. */
static const char nested[] =
    "Content-Type: multipart/mixed; boundary=abc\r\n\r\n"
    "--abc\r\nContent-Type: multipart/alternative; boundary=abcdef\r\n\r\n"
    "--abcdef\r\n\r\none\r\n"
    "--abcdefgh\r\n\r\ntwo\r\n"
    "--abc\r\nContent-Type: multipart/related; boundary=ab\r\n\r\n"
    "--ab\r\n\r\nthree\r\n"
    "--abx\r\n\r\nfour\r\n"
    "--abc\r\nContent-Type: multipart/mixed; boundary=abc\r\n\r\n"
    "--abc\r\n\r\nfive\r\n"
    "--abc--\r\ninner epilogue\r\n"
    "--abc\r\n\r\nsix\r\n"
    "--abc--\r\nepilogue\r\n";

static void prefix_nested(void **state)
{
	const char *m = nested;
	struct mime_part *root = parse(m);
	assert_int_equal(root->nchildren, 4);
	const struct mime_part *alt = child(root, 0);
	assert_int_equal(alt->nchildren, 2);
	assert_body(m, child(alt, 0), "one");
	assert_body(m, child(alt, 1), "two");
	assert_true(alt->flags & MIME_PART_UNTERMINATED); /* ended by "--abc" */
	assert_int_equal(alt->end, off_of(m, "two") + 3);
	const struct mime_part *rel = child(root, 1);
	assert_int_equal(rel->nchildren, 2);
	assert_body(m, child(rel, 0), "three");
	assert_body(m, child(rel, 1), "four");
	const struct mime_part *same = child(root, 2);
	assert_int_equal(same->nchildren, 1);
	assert_body(m, child(same, 0), "five");
	assert_false(same->flags & MIME_PART_UNTERMINATED);
	assert_int_equal(same->end, off_of(m, "inner epilogue") + 14);
	assert_body(m, child(root, 3), "six");
	assert_false(root->flags & MIME_PART_UNTERMINATED);

	/* Every prefix of it: a sound tree. */
	for (size_t cut = 0; cut <= sizeof(nested) - 1; cut++) {
		(void)parse_n(nested, cut);
		arena_reset(&A);
	}
}

static void prefix_close_and_header(void **state)
{
	/* "--b--" closes the innermost "b" even with an outer "b-" that begins it longer. */
	const char *m = "Content-Type: multipart/mixed; boundary=b-\r\n\r\n"
	                "--b-\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
	                "--b\r\n\r\nin\r\n--b--\r\n--b-\r\n\r\nout\r\n--b---\r\n";
	struct mime_part *root = parse(m);
	assert_int_equal(root->nchildren, 2);
	assert_false(child(root, 0)->flags & MIME_PART_UNTERMINATED);
	assert_body(m, child(child(root, 0), 0), "in");
	assert_body(m, child(root, 1), "out");
	assert_false(root->flags & MIME_PART_UNTERMINATED);

	/* A delimiter in a header ends the part there: no body, and the line end before
	 * the delimiter line (the last field's, or the empty line's) is the delimiter's. */
	m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/html\r\n--b\r\nA: 1\r\n\r\n--b\r\n\r\nthird\r\n--b--\r\n";
	root = parse(m);
	assert_int_equal(root->nchildren, 3);
	const struct mime_part *cut = child(root, 0);
	assert_string_equal(cut->subtype, "html");
	assert_int_equal(cut->body_start, off_of(m, "text/html") + 9);
	assert_int_equal(cut->end, cut->body_start);
	const struct mime_part *empty = child(root, 1);
	assert_int_equal(empty->body_start, off_of(m, "A: 1") + 6);
	assert_int_equal(empty->end, empty->body_start);
	assert_body(m, child(root, 2), "third");

	/* Right after its empty line a multipart's own boundary is open: "--b10" is its
	 * first delimiter, not one of the outer "b1". */
	m = "Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
	    "--b1\r\nContent-Type: multipart/mixed; boundary=b10\r\n\r\n"
	    "--b10\r\n\r\ninner\r\n--b10--\r\n--b1--\r\n";
	root = parse(m);
	assert_int_equal(root->nchildren, 1);
	assert_int_equal(child(root, 0)->nchildren, 1);
	assert_body(m, child(child(root, 0), 0), "inner");
}

/* k multiparts, all with boundary "b", nested in each other: each "--b" line is the
 * innermost open one's, so the structure unwinds level by level. */
static char *same_nested(unsigned k)
{
	size_t cap = (size_t)k * 64 + 64;
	char *m = malloc(cap), *q = m;
	for (unsigned i = 0; i < k; i++)
		q += snprintf(q, cap - (size_t)(q - m),
		              "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n");
	q += snprintf(q, cap - (size_t)(q - m), "\r\ntext\r\n");
	for (unsigned i = 0; i < k; i++)
		q += snprintf(q, cap - (size_t)(q - m), "--b--\r\n");
	return m;
}

static void prefix_same_boundary_depth(void **state)
{
	for (unsigned k = LIMIT_MIME_DEPTH - 1; k <= LIMIT_MIME_DEPTH + 1; k++) {
		char *m = same_nested(k);
		struct mime_part *root = parse(m);
		const struct mime_part *pt = root;
		unsigned d = 0;
		while (pt->children) {
			pt = pt->children;
			d++;
		}
		if (k <= LIMIT_MIME_DEPTH) {
			assert_int_equal(d, k);
			assert_body(m, pt, "text");
			for (const struct mime_part *up = pt->parent; up; up = up->parent) {
				assert_int_equal(up->nchildren, 1);
				assert_false(up->flags & MIME_PART_UNTERMINATED);
			}
		} else {
			/* past the limit the multipart is opaque and its boundary not open:
			 * its first "--b" is its parent's, which ends its header there */
			assert_int_equal(d, LIMIT_MIME_DEPTH);
			assert_true(pt->flags & MIME_PART_TRUNCATED);
			assert_int_equal(pt->body_start, pt->end);
			assert_int_equal(pt->parent->nchildren, 2);
		}
		free(m);
		arena_reset(&A);
	}
}

/* ---- 3. and 4. addresses (RFC 5322 3.4, 3.4.1) ---- */

static const struct mime_addr *to(const char *list)
{
	char m[1024];
	int n = snprintf(m, sizeof(m), "To: %s\r\n\r\n", list);
	assert_true(n > 0 && (size_t)n < sizeof(m));
	return parse(m)->envelope->to;
}

static void want(const struct mime_addr *a, const char *name, const char *mailbox,
                 const char *host)
{
	assert_non_null(a);
	assert_int_equal(a->kind, MIME_ADDR_MAILBOX);
	assert_mstr(&a->name, name);
	assert_mstr(&a->mailbox, mailbox);
	assert_mstr(&a->host, host);
}

static void comment_names(void **state)
{
	want(to("(leading) a@b"), NULL, "a", "b");
	want(to("a@b (trailing)"), "trailing", "a", "b");
	want(to("(leading) a@b (trailing)"), "trailing", "a", "b");
	want(to("a (middle) @ b"), "middle", "a", "b");
	want(to("a@b (first) (last)"), "last", "a", "b");
	want(to("Name <a@b> (after)"), "Name", "a", "b");
	want(to("user (Name)"), "Name", "user", "");
	want(to("\"x y\" (Name)"), "Name", "x y", "");
	want(to("(leading) user"), NULL, "user", "");
	const struct mime_addr *a = to("(c1) a@b, c@d (c2), (c3) e@f");
	want(a, NULL, "a", "b");
	want(a->next, "c2", "c", "d");
	want(a->next->next, NULL, "e", "f");
}

static void phrase_without_address(void **state)
{
	want(to("Just A Name"), "Just A Name", "", "");
	want(to("\"Only Quoted\""), "Only Quoted", "", "");
	want(to("\"Quoted\" more words"), "Quoted more words", "", "");
	want(to("a.b c"), "a.b c", "", "");
	want(to("single"), NULL, "single", "");
	want(to("Just (comment) A Name"), "comment", "Just", "");
	want(to("Name Then Comment (c)"), "Name Then Comment", "", "");
	const struct mime_addr *a = to("Team: Member Name, x@y;");
	assert_int_equal(a->kind, MIME_ADDR_GROUP_START);
	want(a->next, "Member Name", "", "");
	want(a->next->next, NULL, "x", "y");
	assert_int_equal(a->next->next->next->kind, MIME_ADDR_GROUP_END);
}

/* ---- 5. a bare CR in a header value (RFC 5322 2.2.3) ---- */

static void unfold(const char *in, const char *out)
{
	struct mime_str s;
	assert_int_equal(mime_unfold((const uint8_t *)in, strlen(in), &A, &s), 0);
	assert_mstr(&s, out);
}

static void bare_cr_is_space(void **state)
{
	unfold("a\rb", "a b");
	unfold("a\r\rb", "a  b");
	unfold("a\r\n b", "a b");
	unfold("a\r\r\n b", "a  b");
	unfold("a\n\tb", "a\tb");
	unfold("\ra\r", "a");
	unfold(" \r\n a \r", "a");
	unfold("\r", "");

	struct mime_part *root = parse("Subject: one\rtwo\r\nFrom: \"A\rB\" <a@b>\r\n"
	                               "Content-Description: d\re\r\n\r\n");
	assert_mstr(&root->envelope->subject, "one two");
	want(root->envelope->from, "A B", "a", "b");
	assert_mstr(&root->description, "d e");
	struct mime_str s;
	assert_int_equal(mime_decode_words((const uint8_t *)"x\r=?utf-8?q?y?=", 15, &A, &s), 0);
	assert_mstr(&s, "x y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lines_count_line_ends, setup, teardown),
	    cmocka_unit_test_setup_teardown(prefix_single, setup, teardown),
	    cmocka_unit_test_setup_teardown(prefix_nested, setup, teardown),
	    cmocka_unit_test_setup_teardown(prefix_close_and_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(prefix_same_boundary_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(comment_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(phrase_without_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(bare_cr_is_space, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
