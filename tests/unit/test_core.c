/* test_core.c: arena, buf and str helpers, including every limit at -1, 0, +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/verb.h"

static void arena_caps(void **state)
{
	struct arena a;
	arena_init(&a, 4096);
	assert_non_null(arena_alloc(&a, 4000));
	assert_null(arena_alloc(&a, 200)); /* past the cap */
	arena_reset(&a);
	assert_int_equal(a.used, 0);
	char *s = arena_printf(&a, "%s-%d", "x", 42);
	assert_string_equal(s, "x-42");
	assert_string_equal(arena_strndup(&a, "abcdef", 3), "abc");
	for (int i = 0; i < 100; i++)
		(void)arena_alloc(&a, 30); /* many chunks, then reset frees all but one */
	arena_reset(&a);
	assert_non_null(a.head);
	assert_int_equal(a.used, 0);
	assert_non_null(arena_alloc(&a, 100));
	arena_free(&a);
}

static void buf_bounds(void **state)
{
	uint8_t store[8];
	struct buf b;
	buf_init(&b, store, sizeof(store));
	assert_int_equal(buf_append(&b, "1234567", 7), 0); /* cap - 1 */
	assert_int_equal(buf_append(&b, "8", 1), 0);       /* exactly cap */
	assert_int_equal(buf_append(&b, "9", 1), ERR_FULL); /* cap + 1 */
	buf_consume(&b, 3);
	assert_memory_equal(b.data, "45678", 5);
	buf_clear(&b);
	assert_int_equal(buf_printf(&b, "%s", "12345678"), ERR_FULL); /* needs the NUL */
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_printf(&b, "%d", 1234567), 0);
}

static void str_numbers(void **state)
{
	uint64_t v;
	assert_int_equal(str_to_u64("0", 1, 10, &v), 0);
	assert_int_equal(str_to_u64("10", 2, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(str_to_u64("11", 2, 10, &v), ERR_TOO_BIG);
	assert_int_equal(str_to_u64("", 0, 10, &v), ERR_BAD_SYNTAX);
	assert_int_equal(str_to_u64("1a", 2, 100, &v), ERR_BAD_SYNTAX);
	assert_int_equal(str_to_u64("18446744073709551615", 20, UINT64_MAX, &v), 0);
	assert_int_equal(str_to_u64("18446744073709551616", 20, UINT64_MAX, &v), ERR_TOO_BIG);
	assert_int_equal(str_parse_size("500K", &v), 0);
	assert_int_equal(v, 500 * 1024);
	assert_int_equal(str_parse_size("100M", &v), 0);
	assert_int_equal(v, 100ull << 20);
	assert_int_equal(str_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(str_parse_size("12345", &v), 0);
	assert_int_equal(v, 12345);
	assert_int_equal(str_parse_size("M", &v), ERR_BAD_SYNTAX);
	assert_int_equal(str_parse_size("-1K", &v), ERR_BAD_SYNTAX);
	assert_int_equal(str_parse_size("99999999999999999T", &v), ERR_TOO_BIG);
}

static void str_case(void **state)
{
	assert_true(str_ieq("EHLO", 4, "ehlo"));
	assert_false(str_ieq("EHL", 3, "ehlo"));
	assert_true(str_iprefix("MAIL FROM:<a>", 13, "mail from:"));
	char hex[33];
	assert_int_equal(str_random_hex(hex, 16), 0);
	assert_int_equal(strlen(hex), 32);
}

/* The command-table shape every protocol uses (core/verb.h). */
static void verb_table(void **state)
{
	static const struct verb_spec t[] = {
		{"?", 0, 0, 0, false, false},
		{"USER", 1, 1, 1, true, false},
		{"STAT", 2, 0, 0, false, false},
		{"LIST", 2, 0, 1, false, false},
	};
	assert_int_equal(verb_find(t, 4, "user", 4), 1);
	assert_int_equal(verb_find(t, 4, "LiSt", 4), 3);
	assert_int_equal(verb_find(t, 4, "?", 1), -1); /* pseudo-verbs are not commands */
	assert_int_equal(verb_find(t, 4, "USE", 3), -1);
	assert_int_equal(verb_find(t, 4, "USERS", 5), -1);
	assert_int_equal(verb_check(&t[0], 1, true, 0), VERB_UNKNOWN);
	assert_int_equal(verb_check(NULL, 1, true, 0), VERB_UNKNOWN);
	assert_int_equal(verb_check(&t[2], 1, true, 0), VERB_BAD_STATE);
	assert_int_equal(verb_check(&t[2], 2, false, 0), VERB_OK);
	/* state comes before TLS, TLS before the argument count */
	assert_int_equal(verb_check(&t[1], 2, false, 9), VERB_BAD_STATE);
	assert_int_equal(verb_check(&t[1], 1, false, 9), VERB_NEEDS_TLS);
	assert_int_equal(verb_check(&t[1], 1, true, 9), VERB_BAD_ARGS);
	assert_int_equal(verb_check(&t[1], 1, true, 0), VERB_BAD_ARGS);
	assert_int_equal(verb_check(&t[1], 1, true, 1), VERB_OK);
	assert_int_equal(verb_check(&t[3], 2, false, 1), VERB_OK);
	assert_int_equal(verb_check(&t[3], 2, false, 2), VERB_BAD_ARGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arena_caps),
		cmocka_unit_test(buf_bounds),
		cmocka_unit_test(str_numbers),
		cmocka_unit_test(str_case),
		cmocka_unit_test(verb_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
