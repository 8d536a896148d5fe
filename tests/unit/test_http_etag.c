/* test_http_etag.c: If-None-Match matching (src/http/http_etag.c; RFC 9110 13.1.2,
 * 8.8.3). Every case is also run on a heap copy of exactly its length (no NUL after it:
 * ASan catches a read past the end) and on every prefix (a cut field must never match
 * more than the whole one would: a prefix of a list is a shorter list or malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/http_etag.h"

#define TAG "\"0123abcd\""

static bool match_exact(const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	bool r = http_etag_none_match(copy, len, TAG);
	free(copy);
	return r;
}

static void expect(const char *field, bool want)
{
	size_t len = strlen(field);
	if (match_exact(field, len) != want)
		fail_msg("If-None-Match: [%s]: want %d", field, want);
	for (size_t k = 0; k < len; k++)
		(void)match_exact(field, k); /* any answer, but in bounds */
}

static void test_matches(void **state)
{
	(void)state;
	expect(TAG, true);
	expect("W/" TAG, true);                     /* weak comparison (8.8.3.2) */
	expect("\"x\", " TAG, true);
	expect(TAG ", \"x\"", true);
	expect("  " TAG "  ", true);
	expect(",," TAG, true);                     /* empty list members (5.6.1) */
	expect(" , \"x\" ,\t, W/" TAG " ,", true);
	expect("*", true);
	expect("  *  ", true);
}

static void test_no_match(void **state)
{
	(void)state;
	expect("", false);
	expect(" ", false);
	expect(",", false);
	expect("\"x\"", false);
	expect("\"0123abcd", false);                /* unterminated */
	expect("0123abcd", false);                  /* not quoted */
	expect("\"0123abcd\"x", false);
	expect(TAG " " TAG, false);                 /* no comma: malformed */
	expect(TAG ", junk", false);                /* one bad member spoils the field */
	expect("w/" TAG, false);                    /* W is case-sensitive */
	expect("W/ " TAG, false);
	expect("\"0123abcd\" ;", false);
	expect("\"0123ab cd\"", false);             /* no space inside an etag */
	expect("\"0123abcde\"", false);
	expect("\"0123abc\"", false);
	expect("* , " TAG, false);                  /* "*" stands alone */
	expect("\"\"", false);                      /* an empty opaque tag is well-formed */
	expect("\"a\"\"b\"", false);
}

static void test_8bit_and_controls(void **state)
{
	(void)state;
	expect("\"\x80\xff\", " TAG, true);         /* obs-text is etagc */
	expect("\"\x7f\", " TAG, false);            /* DEL is not */
	expect("\"\x01\"", false);
	const char nul[] = "\"x\"\0, \"0123abcd\"";
	assert_false(match_exact(nul, sizeof nul - 1)); /* a NUL is no separator */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_8bit_and_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
