/* test_jmap_hform.c: the header forms of RFC 8621 4.1.2 (Raw, Text, Addresses,
 * GroupedAddresses, MessageIds, Date, URLs), the header:{name}[:as{form}][:all]
 * property reader (4.1.3) with the fixed forms of known fields, the header block
 * walk (last instance, :all), and core/date.c's zone that sentAt keeps. Every parser is
 * also fed each value cut at every length (no crash, valid JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/date.h"
#include "core/err.h"
#include "http/jmap_hform.h"

static struct arena arena;

/* The form's value of v as compact JSON (sorted keys), into a static buffer. */
static const char *form(enum jmap_hform f, const char *v)
{
	static char out[4096];
	arena_reset(&arena);
	json_t *j = jmap_hform_value(f, (const uint8_t *)v, strlen(v), &arena);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	assert_non_null(s);
	snprintf(out, sizeof out, "%s", s);
	free(s);
	json_decref(j);
	return out;
}

static void test_raw_and_text(void **state)
{
	(void)state;
	/* 4.1.2.1: the octets after the colon, folds and leading space kept */
	assert_string_equal(form(JMAP_HF_RAW, " Hello\r\n World"), "\" Hello\\r\\n World\"");
	/* bytes that are not UTF-8 become U+FFFD (a JSON string must be Unicode) */
	assert_string_equal(form(JMAP_HF_RAW, " a\xff"), "\" a\xef\xbf\xbd\"");
	/* 4.1.2.2: unfolded, encoded words decoded (whitespace between them dropped),
	 * trimmed */
	assert_string_equal(form(JMAP_HF_TEXT, " =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?ISO-8859-1?Q?_aus?= Berlin "),
			    "\"Grüße aus Berlin\"");
	assert_string_equal(form(JMAP_HF_TEXT, ""), "\"\"");
}

static void test_addresses(void **state)
{
	(void)state;
	/* 4.1.2.3: groups flattened, names decoded, no name: null */
	assert_string_equal(
		form(JMAP_HF_ADDRESSES,
		     " \"James Smythe\" <james@example.com>, Friends:\r\n jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?= <john@example.com>;"),
		"[{\"email\":\"james@example.com\",\"name\":\"James Smythe\"},"
		"{\"email\":\"jane@example.com\",\"name\":null},"
		"{\"email\":\"john@example.com\",\"name\":\"John Smîth\"}]");
	/* 4.1.2.4: the RFC's example: ungrouped runs are a group with name null */
	assert_string_equal(
		form(JMAP_HF_GROUPED,
		     " \"James Smythe\" <james@example.com>, Friends:\r\n jane@example.com, =?UTF-8?Q?John_Sm=C3=AEth?= <john@example.com>;"),
		"[{\"addresses\":[{\"email\":\"james@example.com\",\"name\":\"James Smythe\"}],\"name\":null},"
		"{\"addresses\":[{\"email\":\"jane@example.com\",\"name\":null},"
		"{\"email\":\"john@example.com\",\"name\":\"John Smîth\"}],\"name\":\"Friends\"}]");
	/* an address after a group opens a new null group; an empty group stays */
	assert_string_equal(form(JMAP_HF_GROUPED, " a@x, G:;, b@y, c@z"),
			    "[{\"addresses\":[{\"email\":\"a@x\",\"name\":null}],\"name\":null},"
			    "{\"addresses\":[],\"name\":\"G\"},"
			    "{\"addresses\":[{\"email\":\"b@y\",\"name\":null},"
			    "{\"email\":\"c@z\",\"name\":null}],\"name\":null}]");
	assert_string_equal(form(JMAP_HF_ADDRESSES, " "), "[]");
	assert_string_equal(form(JMAP_HF_ADDRESSES, " undisclosed-recipients:;"), "[]");
	/* a comment names an addr-spec (ENVELOPE's reading) */
	assert_string_equal(form(JMAP_HF_ADDRESSES, " bob@x (Bob B)"),
			    "[{\"email\":\"bob@x\",\"name\":\"Bob B\"}]");
}

static void test_msgids(void **state)
{
	(void)state;
	/* 4.1.2.5: brackets removed, CFWS between ids */
	assert_string_equal(form(JMAP_HF_MSGIDS, " <a@b>\r\n (c) <c@d>"), "[\"a@b\",\"c@d\"]");
	/* the obsolete phrases of In-Reply-To are skipped */
	assert_string_equal(form(JMAP_HF_MSGIDS, " Your message <a@b> of \"Monday\""), "[\"a@b\"]");
	/* none, or something that is not a msg-id list: null */
	assert_string_equal(form(JMAP_HF_MSGIDS, " "), "null");
	assert_string_equal(form(JMAP_HF_MSGIDS, " a@b"), "null");
	assert_string_equal(form(JMAP_HF_MSGIDS, " <a@b"), "null");
	assert_string_equal(form(JMAP_HF_MSGIDS, " <>"), "null");
	assert_string_equal(form(JMAP_HF_MSGIDS, " <a@b>, <c@d>"), "null");
}

static void test_dates(void **state)
{
	(void)state;
	/* 4.1.2.6: RFC 3339 with the zone as written */
	assert_string_equal(form(JMAP_HF_DATE, " Tue, 24 Feb 2026 18:55:12 +0100"),
			    "\"2026-02-24T18:55:12+01:00\"");
	assert_string_equal(form(JMAP_HF_DATE, " 1 Jan 2026 00:30 -0330 (NST)"),
			    "\"2026-01-01T00:30:00-03:30\"");
	assert_string_equal(form(JMAP_HF_DATE, " Fri, 21 Nov 1997 09:55:06 GMT"),
			    "\"1997-11-21T09:55:06Z\"");
	assert_string_equal(form(JMAP_HF_DATE, " Fri, 21 Nov 97 09:55:06 EST"),
			    "\"1997-11-21T09:55:06-05:00\"");
	assert_string_equal(form(JMAP_HF_DATE, " yesterday"), "null");
	assert_string_equal(form(JMAP_HF_DATE, " 31 Feb 2026 10:00 +0000"), "null");
	int64_t utc;
	int32_t zone, days;
	assert_int_equal(date_rfc5322_parse("1 Jan 2026 00:30 -0330", 22, &utc, &days, &zone), 0);
	assert_int_equal(zone, -210);
	assert_int_equal(days, date_days_from_civil(2026, 1, 1));
	assert_int_equal(utc, (int64_t)days * 86400 + 30 * 60 + 210 * 60);
	json_t *d = jmap_hform_date(0, 0);
	assert_string_equal(json_string_value(d), "1970-01-01T00:00:00Z");
	json_decref(d);
}

static void test_urls(void **state)
{
	(void)state;
	/* 4.1.2.7 / RFC 2369 2 */
	assert_string_equal(form(JMAP_HF_URLS, " <mailto:list@host.com?subject=help> (List Instructions),\r\n <ftp://ftp.host.com/list.txt>"),
			    "[\"mailto:list@host.com?subject=help\",\"ftp://ftp.host.com/list.txt\"]");
	assert_string_equal(form(JMAP_HF_URLS, " <http://www.host.com/list/\r\n foo.cgi>"),
			    "[\"http://www.host.com/list/foo.cgi\"]");
	assert_string_equal(form(JMAP_HF_URLS, " NO (posting not allowed)"), "null");
	assert_string_equal(form(JMAP_HF_URLS, " <a> <b>"), "null");
	assert_string_equal(form(JMAP_HF_URLS, ""), "[]");
}

static void expect_prop(const char *p, int rc, const char *name, enum jmap_hform f, bool all)
{
	struct jmap_hprop h;
	int r = jmap_hform_prop(p, &h);
	assert_int_equal(r, rc);
	if (rc != 0)
		return;
	assert_int_equal(h.name_len, strlen(name));
	assert_memory_equal(h.name, name, h.name_len);
	assert_int_equal(h.form, f);
	assert_int_equal(h.all, all);
}

static void test_prop_names(void **state)
{
	(void)state;
	expect_prop("header:Subject", 0, "Subject", JMAP_HF_RAW, false);
	expect_prop("header:subject:asText", 0, "subject", JMAP_HF_TEXT, false);
	expect_prop("header:From:asGroupedAddresses:all", 0, "From", JMAP_HF_GROUPED, true);
	expect_prop("header:X-Any:asDate", 0, "X-Any", JMAP_HF_DATE, false);
	expect_prop("header:X-Any:all", 0, "X-Any", JMAP_HF_RAW, true);
	expect_prop("header:List-Post:asURLs", 0, "List-Post", JMAP_HF_URLS, false);
	expect_prop("subject", 1, NULL, 0, false);
	expect_prop("headers", 1, NULL, 0, false);
	/* 4.1.2: a form the field does not allow; unknown forms; bad names and suffixes */
	expect_prop("header:From:asDate", ERR_INVAL, NULL, 0, false);
	expect_prop("header:Subject:asAddresses", ERR_INVAL, NULL, 0, false);
	expect_prop("header:Date:asText", ERR_INVAL, NULL, 0, false);
	expect_prop("header:Message-ID:asURLs", ERR_INVAL, NULL, 0, false);
	expect_prop("header:X:asRaw:all:all", ERR_INVAL, NULL, 0, false);
	expect_prop("header:X:asNothing", ERR_INVAL, NULL, 0, false);
	expect_prop("header:X:astext", ERR_INVAL, NULL, 0, false);
	expect_prop("header:X:", ERR_INVAL, NULL, 0, false);
	expect_prop("header:", ERR_INVAL, NULL, 0, false);
	expect_prop("header::asText", ERR_INVAL, NULL, 0, false);
	expect_prop("header:X Y", ERR_INVAL, NULL, 0, false);
	expect_prop("header:X\xc3\xa4", ERR_INVAL, NULL, 0, false);
	assert_true(jmap_hform_allowed("cc", 2, JMAP_HF_GROUPED));
	assert_false(jmap_hform_allowed("cc", 2, JMAP_HF_TEXT));
	assert_true(jmap_hform_allowed("Resent-Date", 11, JMAP_HF_RAW));
}

static const char block[] = "X-A: one\r\nSubject: first\r\nX-A:  two\r\n folded\r\n"
			    "no colon line\r\nSubject: =?UTF-8?B?bGFzdA==?=\r\n\r\nX-A: body\r\n";

static const char *get(const char *prop)
{
	static char out[4096];
	struct jmap_hprop h;
	arena_reset(&arena);
	assert_int_equal(jmap_hform_prop(prop, &h), 0);
	json_t *j = jmap_hform_get(&h, (const uint8_t *)block, strlen(block), &arena);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	snprintf(out, sizeof out, "%s", s);
	free(s);
	json_decref(j);
	return out;
}

static void test_header_block(void **state)
{
	(void)state;
	/* 4.1.3: the last instance; :all every one in order; absent: null / [] */
	assert_string_equal(get("header:subject:asText"), "\"last\"");
	assert_string_equal(get("header:X-A:all"), "[\" one\",\"  two\\r\\n folded\"]");
	assert_string_equal(get("header:x-a:asText:all"), "[\"one\",\"two folded\"]");
	assert_string_equal(get("header:X-None"), "null");
	assert_string_equal(get("header:X-None:all"), "[]");
	arena_reset(&arena);
	json_t *h = jmap_hform_headers((const uint8_t *)block, strlen(block), &arena);
	char *s = json_dumps(h, JSON_COMPACT);
	assert_string_equal(s, "[{\"name\":\"X-A\",\"value\":\" one\"},"
			       "{\"name\":\"Subject\",\"value\":\" first\"},"
			       "{\"name\":\"X-A\",\"value\":\"  two\\r\\n folded\"},"
			       "{\"name\":\"Subject\",\"value\":\" =?UTF-8?B?bGFzdA==?=\"}]");
	free(s);
	json_decref(h);
}

/* Each value cut at every length, in every form: a value, never a crash (the fuzz
 * target does the same over random bytes). */
static void test_every_cut(void **state)
{
	(void)state;
	static const char *values[] = {
		" \"a, b\" <x@y>, G: =?UTF-8?Q?=C3=A4?= <z@w>;, (c) q@r",
		" <a@b> (c) \"q\\\"\" <d@e>",
		" Tue, 24 Feb 2026 18:55:12 +0100 (CET)",
		" <mailto:a@b>, (x) <http://c/d>",
		" =?UTF-8?B?w6TDtsO8?= =?bogus?Q?x?=",
	};
	for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
		for (size_t n = 0; n <= strlen(values[v]); n++)
			for (int f = JMAP_HF_RAW; f <= JMAP_HF_URLS; f++) {
				arena_reset(&arena);
				json_t *j = jmap_hform_value((enum jmap_hform)f,
							     (const uint8_t *)values[v], n, &arena);
				assert_non_null(j);
				json_decref(j);
			}
}

int main(void)
{
	arena_init(&arena, 1u << 20);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_and_text), cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_msgids),       cmocka_unit_test(test_dates),
		cmocka_unit_test(test_urls),         cmocka_unit_test(test_prop_names),
		cmocka_unit_test(test_header_block), cmocka_unit_test(test_every_cut),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	arena_free(&arena);
	return rc;
}
