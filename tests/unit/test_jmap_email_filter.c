/* test_jmap_email_filter.c: the Email filter reader (jmap_email_filter.c; RFC 8621
 * 4.4.1, RFC 8620 5.5) and its keyword helpers: every condition with a good and a bad
 * value, operators nested, the error types (invalidArguments vs unsupportedFilter), and
 * the bounds at -1/0/+1 (LIMIT_JMAP_FILTER_DEPTH, LIMIT_JMAP_FILTER_CONDITIONS,
 * LIMIT_SEARCH_NEEDLE). Pure: no store, no server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap_email_filter.h"
#include "store/store.h"

static struct arena arena;
static json_t *last; /* the tree borrows the JSON's strings: kept until the next parse */

/* Parse the JSON text; rc, and the tree or the error. */
static int parse(const char *text, struct jmap_filter **f, struct jmap_filter_error *e)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!j)
		fail_msg("%s: %s", text, je.text);
	json_decref(last);
	last = j;
	arena_reset(&arena);
	return jmap_email_filter_parse(j, &arena, f, e);
}

static struct jmap_filter *ok(const char *text)
{
	struct jmap_filter *f = NULL;
	struct jmap_filter_error e;
	int r = parse(text, &f, &e);
	if (r != 0)
		fail_msg("%s: %s %s", text, e.type, e.description);
	assert_non_null(f);
	return f;
}

static const char *bad(const char *text)
{
	struct jmap_filter *f = NULL;
	struct jmap_filter_error e;
	int r = parse(text, &f, &e);
	if (r != ERR_INVAL)
		fail_msg("%s: accepted", text);
	assert_non_null(e.type);
	assert_non_null(e.description);
	return e.type;
}

static void conditions(void **state)
{
	(void)state;
	struct jmap_filter *f = ok("{\"inMailbox\":\"m1\",\"minSize\":10,\"maxSize\":0,"
				   "\"hasKeyword\":\"$Seen\",\"before\":\"2026-01-02T03:04:05Z\","
				   "\"after\":\"2026-01-02t03:04:05.123z\",\"hasAttachment\":false,"
				   "\"header\":[\"X-A\"],\"inMailboxOtherThan\":[\"a\",\"#c1\"],"
				   "\"text\":\"\",\"subject\":\"Grüße\",\"notKeyword\":null}");
	assert_int_equal(f->kind, JMAP_FILTER_AND);
	assert_int_equal(f->n_kids, 11); /* notKeyword null: left out */
	for (size_t i = 0; i < f->n_kids; i++) {
		const struct jmap_filter *k = &f->kids[i];
		switch (k->kind) {
		case JMAP_FILTER_IN_MAILBOX: assert_string_equal(k->str, "m1"); break;
		case JMAP_FILTER_MIN_SIZE: assert_int_equal(k->num, 10); break;
		case JMAP_FILTER_MAX_SIZE: assert_int_equal(k->num, 0); break;
		case JMAP_FILTER_HAS_KEYWORD: assert_string_equal(k->str, "$seen"); break;
		case JMAP_FILTER_BEFORE: assert_int_equal(k->num, 1767323045); break;
		case JMAP_FILTER_AFTER: assert_int_equal(k->num, 1767323045); break;
		case JMAP_FILTER_HAS_ATTACHMENT: assert_false(k->flag); break;
		case JMAP_FILTER_HEADER:
			assert_string_equal(k->str, "X-A");
			assert_null(k->str2);
			break;
		case JMAP_FILTER_IN_MAILBOX_OTHER_THAN:
			assert_int_equal(k->n_strs, 2);
			assert_string_equal(k->strs[1], "#c1");
			break;
		case JMAP_FILTER_TEXT: assert_string_equal(k->str, ""); break;
		case JMAP_FILTER_SUBJECT: assert_string_equal(k->str, "Grüße"); break;
		default: fail_msg("kind %d", k->kind);
		}
	}
	f = ok("{\"header\":[\"Subject\",\"x\"]}");
	assert_string_equal(f->kids[0].str2, "x");
	f = ok("{}");
	assert_int_equal(f->kind, JMAP_FILTER_AND);
	assert_int_equal(f->n_kids, 0);
	/* every text condition and thread keyword condition */
	static const char *const names[] = {"text", "from", "to", "cc", "bcc", "subject", "body"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char b[64];
		snprintf(b, sizeof b, "{\"%s\":\"abc\"}", names[i]);
		assert_int_equal(ok(b)->kids[0].kind, JMAP_FILTER_TEXT + (int)i);
	}
	assert_int_equal(ok("{\"allInThreadHaveKeyword\":\"a\"}")->kids[0].kind,
			 JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD);
	assert_int_equal(ok("{\"someInThreadHaveKeyword\":\"a\"}")->kids[0].kind,
			 JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD);
	assert_int_equal(ok("{\"noneInThreadHaveKeyword\":\"a\"}")->kids[0].kind,
			 JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD);
	/* a size at the top of UnsignedInt */
	assert_int_equal(ok("{\"minSize\":9007199254740991}")->kids[0].num, 9007199254740991LL);
}

static void bad_values(void **state)
{
	(void)state;
	static const char *const invalid[] = {
		"[]", "3", "\"x\"", "null",
		"{\"inMailbox\":3}", "{\"inMailbox\":\"\"}", "{\"inMailbox\":\"a b\"}",
		"{\"inMailboxOtherThan\":\"a\"}", "{\"inMailboxOtherThan\":[1]}",
		"{\"before\":\"2026-01-02\"}", "{\"before\":\"2026-02-30T00:00:00Z\"}",
		"{\"before\":\"2025-02-29T00:00:00Z\"}", "{\"after\":\"2026-01-02T03:04:05+01:00\"}",
		"{\"after\":\"2026-01-02T03:04:05.Z\"}", "{\"after\":\"2026-01-02T24:00:00Z\"}",
		"{\"minSize\":-1}", "{\"minSize\":1.5}", "{\"maxSize\":\"1\"}",
		"{\"minSize\":9007199254740992}",
		"{\"hasKeyword\":\"\"}", "{\"hasKeyword\":\"a b\"}", "{\"hasKeyword\":\"a(\"}",
		"{\"notKeyword\":\"\\u00e9\"}", "{\"hasKeyword\":1}",
		"{\"hasAttachment\":1}", "{\"text\":1}", "{\"text\":\"a\\u0000b\"}",
		"{\"header\":[]}", "{\"header\":\"X\"}", "{\"header\":[\"a\",\"b\",\"c\"]}",
		"{\"header\":[\"\"]}", "{\"header\":[\"a:b\"]}", "{\"header\":[\"a b\"]}",
		"{\"header\":[1]}", "{\"header\":[\"a\",2]}",
		"{\"operator\":\"AND\"}", "{\"operator\":\"AND\",\"conditions\":{}}",
		"{\"operator\":1,\"conditions\":[]}",
		"{\"operator\":\"AND\",\"conditions\":[],\"text\":\"x\"}",
		"{\"operator\":\"OR\",\"conditions\":[3]}",
	};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		if (strcmp(bad(invalid[i]), "invalidArguments") != 0)
			fail_msg("%s: not invalidArguments", invalid[i]);
	static const char *const unsupported[] = {
		"{\"nosuch\":1}", "{\"text\":\"a\",\"Text\":\"b\"}",
		"{\"operator\":\"XOR\",\"conditions\":[]}",
		"{\"operator\":\"AND\",\"conditions\":[{\"nosuch\":null}]}",
	};
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
		if (strcmp(bad(unsupported[i]), "unsupportedFilter") != 0)
			fail_msg("%s: not unsupportedFilter", unsupported[i]);
}

/* "{operator NOT [ ... {"text":"x"} ]}" nested n deep. */
static char *nested(unsigned n)
{
	size_t cap = 64 + n * 48;
	char *s = malloc(cap);
	assert_non_null(s);
	size_t o = 0;
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "{\"operator\":\"NOT\",\"conditions\":[");
	o += (size_t)snprintf(s + o, cap - o, "{\"text\":\"x\"}");
	for (unsigned i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "]}");
	return s;
}

static void bounds(void **state)
{
	(void)state;
	/* depth: LIMIT_JMAP_FILTER_DEPTH operators nested are read, one more is not */
	for (unsigned n = LIMIT_JMAP_FILTER_DEPTH - 1; n <= LIMIT_JMAP_FILTER_DEPTH + 1; n++) {
		char *s = nested(n);
		struct jmap_filter *f = NULL;
		struct jmap_filter_error e;
		int r = parse(s, &f, &e);
		if (n <= LIMIT_JMAP_FILTER_DEPTH)
			assert_int_equal(r, 0);
		else
			assert_string_equal(e.type, "unsupportedFilter");
		free(s);
	}
	/* conditions: LIMIT_JMAP_FILTER_CONDITIONS in all levels, +1 refused */
	for (unsigned n = LIMIT_JMAP_FILTER_CONDITIONS - 1; n <= LIMIT_JMAP_FILTER_CONDITIONS + 1;
	     n++) {
		size_t cap = 64 + n * 40;
		char *s = malloc(cap);
		assert_non_null(s);
		size_t o = (size_t)snprintf(s, cap, "{\"operator\":\"OR\",\"conditions\":[");
		for (unsigned i = 0; i < n; i++)
			o += (size_t)snprintf(s + o, cap - o, "%s{\"text\":\"t%u\"}", i ? "," : "", i);
		snprintf(s + o, cap - o, "]}");
		struct jmap_filter *f = NULL;
		struct jmap_filter_error e;
		int r = parse(s, &f, &e);
		if (n <= LIMIT_JMAP_FILTER_CONDITIONS) {
			assert_int_equal(r, 0);
			assert_int_equal(f->n_kids, n);
		} else {
			assert_string_equal(e.type, "unsupportedFilter");
		}
		free(s);
	}
	/* a text of LIMIT_SEARCH_NEEDLE octets, and one more */
	for (size_t n = LIMIT_SEARCH_NEEDLE - 1; n <= LIMIT_SEARCH_NEEDLE + 1; n++) {
		char *s = malloc(n + 32);
		assert_non_null(s);
		memcpy(s, "{\"body\":\"", 9);
		memset(s + 9, 'a', n);
		memcpy(s + 9 + n, "\"}", 3);
		struct jmap_filter *f = NULL;
		struct jmap_filter_error e;
		int r = parse(s, &f, &e);
		if (n <= LIMIT_SEARCH_NEEDLE)
			assert_int_equal(r, 0);
		else
			assert_string_equal(e.type, "unsupportedFilter");
		free(s);
	}
}

static void keywords(void **state)
{
	(void)state;
	assert_true(jmap_email_keyword_ok("$seen"));
	assert_true(jmap_email_keyword_ok("a!#$&'+-./:;<=>?@[^_`|}~"));
	assert_false(jmap_email_keyword_ok(""));
	char k[257];
	memset(k, 'k', sizeof k);
	k[255] = '\0';
	assert_true(jmap_email_keyword_ok(k));
	k[255] = 'k';
	k[256] = '\0';
	assert_false(jmap_email_keyword_ok(k));
	for (const char *c = "(){]%*\"\\ \x7f"; *c; c++) {
		char s[3] = {'a', *c, '\0'};
		assert_false(jmap_email_keyword_ok(s));
	}
	assert_true(jmap_email_has_keyword(STORE_F_SEEN, "", "$seen"));
	assert_false(jmap_email_has_keyword(0, "$seen", "$seen")); /* a flag, not a word */
	assert_true(jmap_email_has_keyword(STORE_F_JUNK, "", "$junk"));
	assert_true(jmap_email_has_keyword(0, "Foo $Label1", "$label1"));
	assert_true(jmap_email_has_keyword(0, "Foo $Label1", "foo"));
	assert_false(jmap_email_has_keyword(0, "Foo $Label1", "fo"));
	assert_false(jmap_email_has_keyword(0, "Foo $Label1", "$label"));
	assert_false(jmap_email_has_keyword(0, NULL, "x"));
}

static void needs(void **state)
{
	(void)state;
	assert_int_equal(jmap_email_filter_needs(ok("{\"minSize\":1}")), 0);
	assert_int_equal(jmap_email_filter_needs(ok(
		"{\"operator\":\"NOT\",\"conditions\":[{\"header\":[\"a\"]},{\"body\":\"x\"},"
		"{\"hasAttachment\":true},{\"allInThreadHaveKeyword\":\"k\"}]}")),
		JMAP_FILTER_NEEDS_HEADER | JMAP_FILTER_NEEDS_INDEX | JMAP_FILTER_NEEDS_MIME |
		JMAP_FILTER_NEEDS_THREADS);
}

int main(void)
{
	arena_init(&arena, 1u << 20);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conditions), cmocka_unit_test(bad_values),
		cmocka_unit_test(bounds),     cmocka_unit_test(keywords),
		cmocka_unit_test(needs),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(last);
	arena_free(&arena);
	return r;
}
