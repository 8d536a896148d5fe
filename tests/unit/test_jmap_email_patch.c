/* test_jmap_email_patch.c: the pure readers behind Email/set and Email/import
 * (src/http/jmap_email_patch.c): JMAP keywords (RFC 8621 4.1.1) and their store bits,
 * Email PatchObjects (RFC 8620 5.3 with RFC 6901 escapes), UTCDates (RFC 8620 1.4).
 * Limits at -1/0/+1: keyword length 255/256, 0; fraction digits 9/10. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/jmap_email_int.h"
#include "store/store.h"

static struct arena arena;

static void test_keyword_ok(void **state)
{
	(void)state;
	char k[257];
	memset(k, 'a', sizeof k);
	assert_true(jmap_keyword_ok("$seen", 5));
	assert_true(jmap_keyword_ok("a/b~[x", 6));     /* '/', '~', '[' are allowed */
	assert_true(jmap_keyword_ok(k, 255));
	assert_false(jmap_keyword_ok(k, 256));
	assert_false(jmap_keyword_ok(k, 0));
	static const char *const bad[] = {"a b", "a(", "a)", "a{", "a]", "a%", "a*", "a\"",
					  "a\\", "a\x7f", "a\x01", "\xc3\xa4"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(jmap_keyword_ok(bad[i], strlen(bad[i])));
}

static void test_keyword_bits(void **state)
{
	(void)state;
	assert_int_equal(jmap_keyword_bit("$Seen", 5), STORE_F_SEEN);
	assert_int_equal(jmap_keyword_bit("$DRAFT", 6), STORE_F_DRAFT);
	assert_int_equal(jmap_keyword_bit("$notjunk", 8), STORE_F_NOTJUNK);
	assert_int_equal(jmap_keyword_bit("$seenx", 6), 0);
	assert_int_equal(jmap_keyword_bit("$see", 4), 0);
	unsigned flags;
	const char *rest;
	arena_reset(&arena);
	assert_int_equal(jmap_keywords_split(&arena, "$seen work $flagged $junk x", &flags,
					     &rest), 0);
	assert_int_equal(flags, STORE_F_SEEN | STORE_F_FLAGGED | STORE_F_JUNK);
	assert_string_equal(rest, "work x");
	assert_int_equal(jmap_keywords_split(&arena, NULL, &flags, &rest), 0);
	assert_int_equal(flags, 0);
	assert_string_equal(rest, "");
}

static int keywords(const char *json, const char **out)
{
	json_t *v = json_loads(json, 0, NULL);
	assert_non_null(v);
	int rc = jmap_keywords_from_json(&arena, v, out);
	json_decref(v);
	return rc;
}

static void test_keywords_from_json(void **state)
{
	(void)state;
	const char *s;
	arena_reset(&arena);
	assert_int_equal(keywords("{}", &s), 0);
	assert_string_equal(s, "");
	assert_int_equal(keywords("{\"$Seen\":true,\"Work\":true,\"work\":true}", &s), 0);
	assert_string_equal(s, "$seen work"); /* lower-cased, case-insensitively once */
	assert_int_equal(keywords("{\"$seen\":false}", &s), ERR_INVAL);
	assert_int_equal(keywords("{\"$seen\":1}", &s), ERR_INVAL);
	assert_int_equal(keywords("{\"a b\":true}", &s), ERR_INVAL);
	assert_int_equal(keywords("{\"\":true}", &s), ERR_INVAL);
	assert_int_equal(keywords("[\"$seen\"]", &s), ERR_INVAL);
}

static int patch(const char *json, struct jmap_email_patch *p, const char **bad)
{
	json_t *v = json_loads(json, 0, NULL);
	assert_non_null(v);
	arena_reset(&arena);
	int rc = jmap_email_patch_parse(&arena, v, p, bad);
	/* bad points into v's keys: copy it out before v goes */
	if (rc == ERR_INVAL)
		*bad = arena_strdup(&arena, *bad);
	json_decref(v);
	return rc;
}

static void test_patch_forms(void **state)
{
	(void)state;
	struct jmap_email_patch p;
	const char *bad;
	assert_int_equal(patch("{}", &p, &bad), 0);
	assert_false(p.kw_whole || p.mb_whole);
	assert_string_equal(p.kw_add, "");
	assert_int_equal(p.n_mb_add + p.n_mb_remove + p.n_mb_set, 0);

	assert_int_equal(patch("{\"keywords\":{\"$Seen\":true},\"mailboxIds\":{\"M1\":true,"
			       "\"#new\":true}}", &p, &bad), 0);
	assert_true(p.kw_whole && p.mb_whole);
	assert_string_equal(p.kw_set, "$seen");
	assert_int_equal(p.n_mb_set, 2);

	assert_int_equal(patch("{\"keywords/$seen\":true,\"keywords/a~1b~0c\":true,"
			       "\"keywords/Old\":null,\"mailboxIds/M1\":true,"
			       "\"mailboxIds/M2\":null}", &p, &bad), 0);
	assert_false(p.kw_whole || p.mb_whole);
	assert_string_equal(p.kw_add, "$seen a/b~c");
	assert_string_equal(p.kw_remove, "old");
	assert_int_equal(p.n_mb_add, 1);
	assert_string_equal(p.mb_add[0], "M1");
	assert_int_equal(p.n_mb_remove, 1);
	assert_string_equal(p.mb_remove[0], "M2");
}

static void test_patch_errors(void **state)
{
	(void)state;
	struct jmap_email_patch p;
	const char *bad;
	static const struct {
		const char *json;
		int rc;
		const char *bad;
	} cases[] = {
		{"[]", ERR_BAD_SYNTAX, NULL},
		{"{\"subject\":\"x\"}", ERR_INVAL, "subject"},
		{"{\"keywordsx\":true}", ERR_INVAL, "keywordsx"},
		{"{\"keywords\":[]}", ERR_INVAL, "keywords"},
		{"{\"keywords/$seen\":false}", ERR_INVAL, "keywords/$seen"},
		{"{\"keywords/\":true}", ERR_INVAL, "keywords/"},
		{"{\"keywords/a b\":true}", ERR_INVAL, "keywords/a b"},
		{"{\"keywords/a/b\":true}", ERR_BAD_SYNTAX, NULL},
		{"{\"keywords/a~\":true}", ERR_BAD_SYNTAX, NULL},
		{"{\"keywords/a~2\":true}", ERR_BAD_SYNTAX, NULL},
		{"{\"keywords\":{},\"keywords/a\":true}", ERR_BAD_SYNTAX, NULL},
		{"{\"mailboxIds\":{\"M1\":true},\"mailboxIds/M2\":null}", ERR_BAD_SYNTAX, NULL},
		{"{\"mailboxIds\":{\"M1\":false}}", ERR_INVAL, "mailboxIds"},
		{"{\"mailboxIds\":{\"a.b\":true}}", ERR_INVAL, "mailboxIds"},
		{"{\"mailboxIds\":null}", ERR_INVAL, "mailboxIds"},
		{"{\"mailboxIds/M1\":1}", ERR_INVAL, "mailboxIds/M1"},
		{"{\"mailboxIds/#\":true}", ERR_INVAL, "mailboxIds/#"},
		{"{\"mailboxIds/M~11\":true}", ERR_INVAL, "mailboxIds/M~11"}, /* "M/1" no Id */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = patch(cases[i].json, &p, &bad);
		if (rc != cases[i].rc)
			fail_msg("%s: %d, not %d", cases[i].json, rc, cases[i].rc);
		if (cases[i].bad)
			assert_string_equal(bad, cases[i].bad);
	}
}

static void test_utc_date(void **state)
{
	(void)state;
	int64_t t;
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2026-12-02T06:50:00Z", 1796194200},
		{"2024-02-29T23:59:59Z", 1709251199},
		{"2000-03-01T00:00:00.5Z", 951868800},
		{"2000-03-01T00:00:00.123456789Z", 951868800},   /* 9 fraction digits */
		{"1969-12-31T23:59:59Z", -1},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(jmap_utc_date_parse(good[i].s, strlen(good[i].s), &t), 0);
		assert_int_equal(t, good[i].t);
	}
	static const char *const bad[] = {
		"", "2026-12-02T06:50:00", "2026-12-02t06:50:00Z", "2026-12-02T06:50:00z",
		"2026-12-02 06:50:00Z", "2026-12-02T06:50:00+00:00", "2026-13-02T06:50:00Z",
		"2026-00-02T06:50:00Z", "2026-02-29T06:50:00Z", "2026-04-31T06:50:00Z",
		"2026-12-02T24:00:00Z", "2026-12-02T06:60:00Z", "2026-12-02T06:50:60Z",
		"2026-12-02T06:50:00.Z", "2026-12-02T06:50:00.1234567890Z", /* 10 digits */
		"2026-12-02T06:50:00,5Z", "+026-12-02T06:50:00Z", "2026-1a-02T06:50:00Z",
		"2026-12-02T06:50:00.5xZ",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (jmap_utc_date_parse(bad[i], strlen(bad[i]), &t) != ERR_BAD_SYNTAX)
			fail_msg("accepted %s", bad[i]);
	/* every cut of a good date is refused (no read past n) */
	const char *s = "2026-12-02T06:50:00.25Z";
	for (size_t n = 0; n < strlen(s); n++)
		if (jmap_utc_date_parse(s, n, &t) == 0)
			fail_msg("accepted %zu bytes of %s", n, s);
}

int main(void)
{
	arena_init(&arena, 1u << 20);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyword_ok),
		cmocka_unit_test(test_keyword_bits),
		cmocka_unit_test(test_keywords_from_json),
		cmocka_unit_test(test_patch_forms),
		cmocka_unit_test(test_patch_errors),
		cmocka_unit_test(test_utc_date),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	arena_free(&arena);
	return rc;
}
