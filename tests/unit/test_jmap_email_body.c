/* test_jmap_email_body.c: the part-id reader (IMAP section numbers into the MIME tree,
 * RFC 9051 6.4.5: a message/rfc822 part's parts continue the numbering) and the body
 * properties of RFC 8621 4.1.4 over messages held in memory files (the Email/parse
 * path: no store). Section ids at and past their bounds, and every prefix of a
 * message fed whole, must give an answer, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/jmap_email_get_int.h"
#include "mime/mime.h"

static struct arena arena;

static const char nested[] =
	"From: a@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=o\r\n\r\n"
	"--o\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
	"--o\r\nContent-Type: message/rfc822\r\n\r\n"
	"Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
	"--i\r\nContent-Type: text/plain\r\n\r\ninner plain\r\n"
	"--i\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	"PGI+aGk8L2I+\r\n--i--\r\n"
	"--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: single\r\n\r\nsingle body\r\n"
	"--o--\r\n";

/* A jmap_msg over bytes in a memory file. */
static void msg_of(struct jmap_msg *m, const char *bytes, size_t n)
{
	int fd = memfd_create("msg", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	arena_reset(&arena);
	jmap_msg_init_fd(m, &arena, fd, n);
	m->blob_prefix = "U00000000000000000000000000000000";
}

static const char *body_of(struct jmap_msg *m, const char *part_id)
{
	struct mime_part *p = jmap_msg_find_part(m->root, part_id);
	if (!p)
		return NULL;
	const uint8_t *out;
	size_t n;
	bool cut, bad;
	assert_int_equal(jmap_msg_part_decode(m, p, 1000, &out, &n, &cut, &bad), 0);
	return arena_strndup(m->a, out, n);
}

static void test_find_part(void **state)
{
	(void)state;
	struct jmap_msg m;
	msg_of(&m, nested, strlen(nested));
	assert_int_equal(jmap_msg_root(&m), 0);
	assert_string_equal(body_of(&m, "1"), "first");
	/* the message/rfc822 part itself, then its multipart's parts as 2.1, 2.2 */
	assert_true(strncmp(body_of(&m, "2"), "Subject: inner", 14) == 0);
	assert_string_equal(body_of(&m, "2.1"), "inner plain");
	assert_string_equal(body_of(&m, "2.2"), "<b>hi</b>");
	/* a single-part encapsulated message's body is 3.1 */
	assert_string_equal(body_of(&m, "3.1"), "single body");
	/* multiparts, missing parts and malformed ids: none */
	static const char *bad[] = {"", "0", "4", "2.3", "1.1", "3.2", "2.1.1", "01", "1.",
				    ".1", "1..2", "2.01", "-1", "1 ", "99999999999", "2.1x",
				    "3.1.1", NULL};
	for (const char **b = bad; *b; b++)
		assert_null(jmap_msg_find_part(m.root, *b));
	jmap_msg_close(&m);

	const char single[] = "Subject: s\r\n\r\nbody\r\n";
	msg_of(&m, single, strlen(single));
	assert_int_equal(jmap_msg_root(&m), 0);
	assert_string_equal(body_of(&m, "1"), "body\r\n");
	assert_null(jmap_msg_find_part(m.root, "2"));
	assert_null(jmap_msg_find_part(m.root, "1.1"));
	jmap_msg_close(&m);
}

static const char *const props[] = {"partId", "blobId", "size", "name", "type", "charset",
				    "disposition", "cid", "language", "location", NULL};

static json_t *bodies(const char *bytes, size_t n)
{
	struct jmap_msg m;
	msg_of(&m, bytes, n);
	struct jmap_body_args b = {.props = (const char **)props, .fetch_all = true,
				   .max_bytes = 5};
	struct jmap_body_want w = {true, true, true, true, true, true};
	json_t *o = json_object();
	assert_int_equal(jmap_body_props(&m, &b, &w, o), 0);
	jmap_msg_close(&m);
	return o;
}

static void test_body_props(void **state)
{
	(void)state;
	json_t *o = bodies(nested, strlen(nested));
	json_t *text = json_object_get(o, "textBody"), *att = json_object_get(o, "attachments");
	assert_int_equal(json_array_size(text), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(text, 0), "partId")), "1");
	/* message/rfc822 parts are attachments, leaves (RFC 8621 4.1.4) */
	assert_int_equal(json_array_size(att), 2);
	json_t *p2 = json_array_get(att, 0);
	assert_string_equal(json_string_value(json_object_get(p2, "type")), "message/rfc822");
	assert_string_equal(json_string_value(json_object_get(p2, "blobId")),
			    "U00000000000000000000000000000000.2");
	assert_null(json_object_get(p2, "subParts"));
	assert_true(json_is_true(json_object_get(o, "hasAttachment")));
	/* fetchAllBodyValues with maxBodyValueBytes 5: the text leaf, cut */
	json_t *v = json_object_get(json_object_get(o, "bodyValues"), "1");
	assert_string_equal(json_string_value(json_object_get(v, "value")), "first");
	assert_false(json_is_true(json_object_get(v, "isTruncated")));
	json_t *s = json_object_get(o, "bodyStructure");
	assert_true(json_is_null(json_object_get(s, "partId")));
	assert_int_equal(json_array_size(json_object_get(s, "subParts")), 3);
	json_decref(o);
}

/* An alternative inside a part of an alternative where an HTML leaf already chose the
 * HTML side: RFC 8621 4.1.4's code would push the inner text/plain onto the null
 * textBody (the server crashed on such a message, found by fuzz_jmap_email_body). The
 * inner plain part goes nowhere; the HTML parts stay in htmlBody. */
static void test_alternative_after_a_chosen_side(void **state)
{
	(void)state;
	static const char msg[] =
		"Content-Type: multipart/alternative; boundary=A\r\n\r\n"
		"--A\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
		"--A\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
		"--B\r\nContent-Type: text/html\r\n\r\n<p>one</p>\r\n"
		"--B\r\nContent-Type: multipart/alternative; boundary=C\r\n\r\n"
		"--C\r\nContent-Type: text/plain\r\n\r\ninner\r\n"
		"--C\r\nContent-Type: text/html\r\n\r\n<p>inner</p>\r\n"
		"--C--\r\n--B--\r\n--A--\r\n";
	json_t *o = bodies(msg, strlen(msg));
	json_t *text = json_object_get(o, "textBody"), *html = json_object_get(o, "htmlBody");
	assert_int_equal(json_array_size(text), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(text, 0), "partId")), "1");
	assert_int_equal(json_array_size(html), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(html, 0), "partId")), "2.1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(html, 1), "partId")), "2.2.2");
	json_decref(o);
}

/* Every prefix of the message: the properties answer (0) for all of them. */
static void test_every_prefix(void **state)
{
	(void)state;
	for (size_t n = 1; n <= strlen(nested); n++)
		json_decref(bodies(nested, n));
}

int main(void)
{
	arena_init(&arena, 8u << 20);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_part),
		cmocka_unit_test(test_body_props),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_alternative_after_a_chosen_side),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	arena_free(&arena);
	return rc;
}
