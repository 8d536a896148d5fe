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

/* RFC 3629 3: one checker for every layer (SMTP addresses, mailbox names, MIME). */
static void str_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t n, len;
		uint32_t cp;
	} v[] = {
		{"A", 1, 1, 0x41},
		{"\x7f", 1, 1, 0x7f},
		{"\xc3\xa9", 2, 2, 0xe9},
		{"\xe2\x82\xac", 3, 3, 0x20ac},
		{"\xf0\x9f\x98\x80", 4, 4, 0x1f600},
		{"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
		{"\xc0\x80", 2, 0, 0},         /* overlong NUL */
		{"\xc1\xbf", 2, 0, 0},         /* overlong */
		{"\xe0\x9f\xbf", 3, 0, 0},     /* overlong 3-byte */
		{"\xed\xa0\x80", 3, 0, 0},     /* surrogate U+D800 */
		{"\xf0\x8f\xbf\xbf", 4, 0, 0}, /* overlong 4-byte */
		{"\xf4\x90\x80\x80", 4, 0, 0}, /* past U+10FFFF */
		{"\xf5\x80\x80\x80", 4, 0, 0},
		{"\x80", 1, 0, 0},             /* continuation first */
		{"\xe2\x82", 2, 0, 0},         /* cut short */
		{"\xe2\x28\xac", 3, 0, 0},     /* bad continuation */
		{"\xf0\x9f\x98\x28", 4, 0, 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t cp = 0;
		assert_int_equal(str_utf8_seq(v[i].s, v[i].n, &cp), v[i].len);
		if (v[i].len)
			assert_int_equal(cp, v[i].cp);
		/* one byte short never passes */
		if (v[i].len > 1)
			assert_int_equal(str_utf8_seq(v[i].s, v[i].n - 1, NULL), 0);
	}
	assert_int_equal(str_utf8_seq("", 0, NULL), 0);
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
		cmocka_unit_test(str_utf8),
		cmocka_unit_test(verb_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
