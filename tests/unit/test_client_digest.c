/* test_client_digest.c: what identifies a message for kasten sync (client_digest.h):
 * the same SHA-256 and RFC822.SIZE whether the bytes come with CRLF (the wire) or LF
 * (the Maildir), however they are cut into pieces (a CR LF split between two included),
 * a bare CR kept; the Message-ID found in the header wherever the pieces cut it, and
 * none past LIMIT_CLIENT_DIGEST_HEADER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/client_digest.h"
#include "core/limits.h"

struct digest_out {
	char sha[CLIENT_DIGEST_HEX];
	uint64_t size;
	char msgid[LIMIT_MSGID + 3];
};

/* The digest of p[0..n) given in pieces of step bytes (0: whole). */
static struct digest_out digest_of(const char *p, size_t n, size_t step)
{
	struct client_digest d;
	struct digest_out o;
	assert_int_equal(client_digest_init(&d), 0);
	for (size_t off = 0; off < n;) {
		size_t k = step && n - off > step ? step : n - off;
		client_digest_update(&d, p + off, k);
		off += k;
	}
	assert_int_equal(client_digest_final(&d, o.sha, &o.size, o.msgid, sizeof(o.msgid)), 0);
	return o;
}

static const char crlf_msg[] = "From: a@example.test\r\nMessage-ID: <x1@example.test>\r\n"
			       "Subject: t\r\n\r\nline one\r\nbare\rcr\r\n";
static const char lf_msg[] = "From: a@example.test\nMessage-ID: <x1@example.test>\n"
			     "Subject: t\n\nline one\nbare\rcr\n";

static void crlf_and_lf_agree_at_every_cut(void **state)
{
	struct digest_out want = digest_of(lf_msg, strlen(lf_msg), 0);
	assert_int_equal(strlen(want.sha), 64);
	/* RFC822.SIZE counts every line end as CRLF: the wire form's length */
	assert_int_equal(want.size, strlen(crlf_msg));
	assert_string_equal(want.msgid, "<x1@example.test>");
	for (size_t step = 0; step <= strlen(crlf_msg); step++) {
		struct digest_out a = digest_of(crlf_msg, strlen(crlf_msg), step);
		struct digest_out b = digest_of(lf_msg, strlen(lf_msg), step);
		assert_string_equal(a.sha, want.sha);
		assert_string_equal(b.sha, want.sha);
		assert_int_equal(a.size, want.size);
		assert_string_equal(a.msgid, want.msgid);
		assert_string_equal(b.msgid, want.msgid);
	}
}

static void other_content_other_hash(void **state)
{
	struct digest_out a = digest_of(lf_msg, strlen(lf_msg), 0);
	struct digest_out b = digest_of(lf_msg, strlen(lf_msg) - 1, 0);
	assert_string_not_equal(a.sha, b.sha);
	/* a trailing CR alone stays a CR (it is not a line end) */
	struct digest_out c = digest_of("x\r", 2, 1);
	struct digest_out d = digest_of("x", 1, 0);
	assert_string_not_equal(c.sha, d.sha);
	assert_int_equal(c.size, 2);
}

static void no_message_id(void **state)
{
	const char m[] = "Subject: none\r\n\r\nMessage-ID: <in@body>\r\n";
	assert_string_equal(digest_of(m, strlen(m), 0).msgid, "");
	/* a header block as long as the bound, then the field: not looked at */
	size_t n = LIMIT_CLIENT_DIGEST_HEADER + 100;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big, "X-Pad: ", 7);
	memcpy(big + LIMIT_CLIENT_DIGEST_HEADER - 2, "\nMessage-ID: <late@x>\n\n", 23);
	assert_string_equal(digest_of(big, n, 4096).msgid, "");
	/* just under the bound it is found */
	memset(big, 'a', n);
	memcpy(big, "X-Pad: ", 7);
	memcpy(big + LIMIT_CLIENT_DIGEST_HEADER - 40, "\nMessage-ID: <late@x>\n\n", 23);
	assert_string_equal(digest_of(big, n, 4096).msgid, "<late@x>");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crlf_and_lf_agree_at_every_cut),
		cmocka_unit_test(other_content_other_hash),
		cmocka_unit_test(no_message_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
