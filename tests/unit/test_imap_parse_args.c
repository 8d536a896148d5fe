/* test_imap_parse_args.c: the small argument interpreters of src/imap/imap_parse_args.c:
 * astring/nstring/string/list-mailbox (RFC 9051 9), numbers, sequence sets (RFC 9051 9
 * sequence-set, RFC 5182 "$") with LIMIT_IMAP_SEQSET at -1/0/+1, flag lists (RFC 9051
 * 2.3.2), date and date-time (RFC 9051 9). Arguments come from the real tokenizer. */
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
#include "imap/imap_parse.h"
#include "imap/imap_parse_int.h"

static struct arena ca;
static struct imap_parser ps;

/* The command of one line (authenticated limits). */
static struct imap_cmd *parse(const char *line)
{
	arena_reset(&ca);
	imap_parser_init(&ps, &ca, 0);
	imap_parser_set_auth(&ps, true);
	size_t used;
	struct imap_cmd *cmd = NULL;
	int rc = imap_parse(&ps, (const uint8_t *)line, strlen(line), &used, &cmd);
	if (rc != IMAP_PARSE_DONE)
		fail_msg("'%s' does not parse: %d %s", line, rc, ps.err.text);
	return cmd;
}

static int setup(void **state)
{
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&ca);
	return 0;
}

/* The class table against RFC 9051 9: ATOM-CHAR = <any CHAR except atom-specials>,
 * atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials /
 * resp-specials; ASTRING-CHAR = ATOM-CHAR / resp-specials; list-char = ATOM-CHAR /
 * list-wildcards / resp-specials; tag = 1*<any ASTRING-CHAR except "+">. */
static void rfc9051_9_char_classes(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		bool ch = c >= 0x01 && c <= 0x7f, ctl = c < 0x20 || c == 0x7f;
		bool special = c == '(' || c == ')' || c == '{' || c == ' ' || ctl || c == '%' ||
			       c == '*' || c == '"' || c == '\\' || c == ']';
		bool atom = ch && !special;
		bool astring = atom || c == ']';
		bool list = atom || c == '%' || c == '*' || c == ']';
		bool tag = astring && c != '+';
		bool token = (atom || c == '%' || c == '*' || c == ']') && c != '[';
		unsigned want = (atom ? IMAP_CC_ATOM : 0) | (astring ? IMAP_CC_ASTRING : 0) |
				(list ? IMAP_CC_LIST : 0) | (tag ? IMAP_CC_TAG : 0) |
				(token ? IMAP_CC_TOKEN : 0);
		if (imap_char_class[c] != want)
			fail_msg("octet 0x%02x: class 0x%02x, want 0x%02x", c, imap_char_class[c], want);
	}
}

/* RFC 9051 9: astring = 1*ASTRING-CHAR / string; nstring = string / nil. */
static void rfc9051_9_strings(void **state)
{
	struct imap_cmd *c =
	    parse("a SEARCH INBOX \"a b\" {3+}\r\nx y NIL ]x a% ~{1+}\r\nz (l)\r\n");
	const struct imap_arg *a = c->args;
	size_t n;
	bool nil;
	assert_string_equal(imap_arg_astring(a, &n), "INBOX");
	assert_int_equal(n, 5);
	a = a->next;
	assert_string_equal(imap_arg_astring(a, &n), "a b");
	assert_string_equal(imap_arg_string(a, &n), "a b");
	a = a->next;
	assert_string_equal(imap_arg_astring(a, &n), "x y");
	assert_string_equal(imap_arg_nstring(a, &n, &nil), "x y");
	assert_false(nil);
	a = a->next; /* NIL: an astring "NIL", an nstring NIL, no string */
	assert_string_equal(imap_arg_astring(a, &n), "NIL");
	assert_string_equal(imap_arg_nstring(a, &n, &nil), "");
	assert_true(nil);
	assert_null(imap_arg_string(a, &n));
	a = a->next; /* "]" is an ASTRING-CHAR */
	assert_string_equal(imap_arg_astring(a, &n), "]x");
	assert_null(imap_arg_string(a, &n));
	assert_null(imap_arg_nstring(a, &n, &nil));
	a = a->next; /* '%' only in list-mailbox */
	assert_null(imap_arg_astring(a, &n));
	assert_string_equal(imap_arg_list_mailbox(a, &n), "a%");
	a = a->next; /* literal8 is no astring */
	assert_null(imap_arg_astring(a, &n));
	assert_null(imap_arg_string(a, &n));
	a = a->next;
	assert_null(imap_arg_astring(a, &n));
	assert_null(imap_arg_list_mailbox(a, &n));
	assert_null(imap_arg_astring(NULL, &n));
	c = parse("a SEARCH \\Seen BODY[A B] x*\r\n"); /* "BODY[]" would be one */
	assert_null(imap_arg_astring(c->args, &n));
	assert_null(imap_arg_astring(c->args->next, &n));
	assert_null(imap_arg_astring(c->args->next->next, &n));
	assert_string_equal(imap_arg_list_mailbox(c->args->next->next, &n), "x*");
	assert_true(imap_arg_is(c->args, "\\SEEN"));
	assert_false(imap_arg_is(c->args, "\\SEE"));
}

static void numbers(void **state)
{
	struct imap_cmd *c =
	    parse("a SEARCH 0 007 4294967295 4294967296 9223372036854775807 9223372036854775808 "
	          "-1 1a \"5\"\r\n");
	const struct imap_arg *a = c->args;
	uint64_t v;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER_MAX, &v), 0);
	assert_int_equal(v, 0);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER_MAX, &v), 0);
	assert_int_equal(v, 7);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER_MAX, &v), ERR_BAD_SYNTAX);
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER64_MAX, &v), 0);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER64_MAX, &v), 0);
	assert_int_equal(v, INT64_MAX);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER64_MAX, &v), ERR_BAD_SYNTAX);
	assert_int_equal(imap_arg_number(a, UINT64_MAX, &v), 0);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER64_MAX, &v), ERR_BAD_SYNTAX);
	a = a->next;
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER64_MAX, &v), ERR_BAD_SYNTAX);
	a = a->next; /* a number is an atom */
	assert_int_equal(imap_arg_number(a, IMAP_NUMBER64_MAX, &v), ERR_BAD_SYNTAX);
}

/* A set in a readable form: "lo-hi,..." or "$". */
static const char *setstr(const struct imap_seqset *s)
{
	static char buf[4096];
	size_t k = 0;
	if (s->saved)
		return "$";
	buf[0] = '\0';
	for (size_t i = 0; i < s->n && k < sizeof(buf) - 32; i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%u-%u", i ? "," : "", s->r[i].lo,
		                      s->r[i].hi);
	return buf;
}

static void seq(const char *in, int want_rc, const char *want)
{
	struct imap_seqset s;
	int rc = imap_parse_seqset(in, strlen(in), &ca, &s);
	if (rc != want_rc)
		fail_msg("'%s': rc %d, want %d", in, rc, want_rc);
	if (rc == 0 && strcmp(setstr(&s), want) != 0)
		fail_msg("'%s': %s, want %s", in, setstr(&s), want);
}

/* RFC 9051 9 sequence-set; RFC 5182 2.1 "$". */
static void rfc9051_9_sequence_set(void **state)
{
	seq("1", 0, "1-1");
	seq("1:3", 0, "1-3");
	seq("3:1", 0, "1-3"); /* 9: "the same as 1:3" */
	seq("2,4:7,9,12:*", 0, "2-2,4-7,9-9,12-4294967295");
	seq("*", 0, "4294967295-4294967295");
	seq("*:4", 0, "4-4294967295");
	seq("007", 0, "7-7");
	seq("4294967295", 0, "4294967295-4294967295"); /* read as "*" (see the header) */
	seq("$", 0, "$");
	seq("", ERR_BAD_SYNTAX, NULL);
	seq("0", ERR_BAD_SYNTAX, NULL); /* nz-number */
	seq("1:0", ERR_BAD_SYNTAX, NULL);
	seq("4294967296", ERR_BAD_SYNTAX, NULL);
	seq("1,", ERR_BAD_SYNTAX, NULL);
	seq(",1", ERR_BAD_SYNTAX, NULL);
	seq("1,,2", ERR_BAD_SYNTAX, NULL);
	seq("1:", ERR_BAD_SYNTAX, NULL);
	seq(":1", ERR_BAD_SYNTAX, NULL);
	seq("1:2:3", ERR_BAD_SYNTAX, NULL);
	seq("1 2", ERR_BAD_SYNTAX, NULL);
	seq("**", ERR_BAD_SYNTAX, NULL);
	seq("$,1", ERR_BAD_SYNTAX, NULL); /* RFC 5182: "$" stands alone */
	seq("1,$", ERR_BAD_SYNTAX, NULL);
	seq("$$", ERR_BAD_SYNTAX, NULL);
	seq("-1", ERR_BAD_SYNTAX, NULL);
	seq("+1", ERR_BAD_SYNTAX, NULL);
	seq("1.5", ERR_BAD_SYNTAX, NULL);
	/* from an argument: atoms only */
	struct imap_cmd *c = parse("a COPY 1:* \"1\"\r\n");
	struct imap_seqset s;
	assert_int_equal(imap_arg_seqset(c->args, &ca, &s), 0);
	assert_int_equal(imap_arg_seqset(c->args->next, &ca, &s), ERR_BAD_SYNTAX);
	assert_int_equal(imap_arg_seqset(NULL, &ca, &s), ERR_BAD_SYNTAX);
}

/* LIMIT_IMAP_SEQSET ranges at -1, 0, +1. */
static void limit_seqset(void **state)
{
	char *in = malloc(LIMIT_IMAP_SEQSET * 8);
	assert_non_null(in);
	for (size_t n = LIMIT_IMAP_SEQSET - 1; n <= LIMIT_IMAP_SEQSET + 1; n++) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			k += (size_t)snprintf(in + k, 16, "%s%zu", i ? "," : "", 2 * i + 1);
		struct imap_seqset s;
		int rc = imap_parse_seqset(in, k, &ca, &s);
		if (n <= LIMIT_IMAP_SEQSET) {
			assert_int_equal(rc, 0);
			assert_int_equal(s.n, n);
			assert_true(imap_seqset_has(&s, (uint32_t)(2 * n - 1), 100000));
			assert_false(imap_seqset_has(&s, (uint32_t)(2 * n), 100000));
		} else {
			assert_int_equal(rc, ERR_TOO_BIG);
		}
		arena_reset(&ca);
	}
	free(in);
}

static void seqset_has_and_resolve(void **state)
{
	struct imap_seqset s, r;
	assert_int_equal(imap_parse_seqset("5:*,2", 5, &ca, &s), 0);
	/* "*" is the highest number in use: 5:* with 3 messages is 3:5 (RFC 9051 9) */
	assert_true(imap_seqset_has(&s, 3, 3));
	assert_false(imap_seqset_has(&s, 1, 3));
	assert_true(imap_seqset_has(&s, 2, 3));
	assert_true(imap_seqset_has(&s, 100, 100));
	assert_false(imap_seqset_has(&s, 101, 100));
	assert_int_equal(imap_seqset_resolve(&s, 3, &ca, &r), 0);
	assert_string_equal(setstr(&r), "2-3");
	assert_int_equal(imap_seqset_resolve(&s, 10, &ca, &r), 0);
	assert_string_equal(setstr(&r), "2-2,5-10");
	assert_int_equal(imap_seqset_resolve(&s, 0, &ca, &r), 0);
	assert_int_equal(r.n, 0);
	/* merged: overlapping and adjacent ranges, any order, past the end dropped */
	assert_int_equal(imap_parse_seqset("9,1:3,4,20:30,7:8,2", 19, &ca, &s), 0);
	assert_int_equal(imap_seqset_resolve(&s, 15, &ca, &r), 0);
	assert_string_equal(setstr(&r), "1-4,7-9");
	assert_int_equal(imap_parse_seqset("$", 1, &ca, &s), 0);
	assert_int_equal(imap_seqset_resolve(&s, 15, &ca, &r), ERR_INVAL);
	assert_false(imap_seqset_has(&s, 1, 1));
	assert_int_equal(imap_parse_seqset("4294967294:4294967295", 21, &ca, &s), 0);
	assert_int_equal(imap_seqset_resolve(&s, UINT32_MAX - 1, &ca, &r), 0);
	assert_string_equal(setstr(&r), "4294967294-4294967294");
}

static const char *flagstr(const struct imap_flags *f)
{
	static char buf[512];
	size_t k = (size_t)snprintf(buf, sizeof(buf), "%x", f->sys);
	for (size_t i = 0; i < f->nkw; i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, " %s", f->kw[i]);
	return buf;
}

/* RFC 9051 2.3.2 flags; 9 flag-list, flag-keyword = atom. */
static void rfc9051_2_3_2_flags(void **state)
{
	struct imap_flags f;
	const char *why = NULL;
	struct imap_cmd *c = parse("a STORE 1 FLAGS (\\Seen \\answered \\FLAGGED \\Deleted \\Draft "
	                           "$Forwarded Junk-Mail)\r\n");
	assert_int_equal(imap_parse_flags(c->args->next->next, true, &ca, &f, &why), 0);
	assert_string_equal(flagstr(&f), "1f $Forwarded Junk-Mail");
	c = parse("a STORE 1 FLAGS ()\r\n");
	assert_int_equal(imap_parse_flags(c->args->next->next, true, &ca, &f, &why), 0);
	assert_string_equal(flagstr(&f), "0");
	c = parse("a STORE 1 FLAGS \\Seen foo\r\n");
	assert_int_equal(imap_parse_flags(c->args->next->next, false, &ca, &f, &why), 0);
	assert_string_equal(flagstr(&f), "1 foo");
	assert_int_equal(imap_parse_flags(c->args->next->next, true, &ca, &f, &why),
	                 ERR_BAD_SYNTAX);
	assert_string_equal(why, "BAD Missing flag list");
	const char *bad[] = {
	    "a STORE 1 FLAGS (\\Recent)\r\n", /* the server's (RFC 3501 2.3.2) */
	    "a STORE 1 FLAGS (\\Foo)\r\n",    /* flag-extension: none defined */
	    "a STORE 1 FLAGS (\"x\")\r\n",    /* keywords are atoms */
	    "a STORE 1 FLAGS (a])\r\n",       /* not an ATOM-CHAR */
	    "a STORE 1 FLAGS (a%)\r\n",       "a STORE 1 FLAGS (a[1])\r\n",
	    "a STORE 1 FLAGS ((a))\r\n",      "a STORE 1 FLAGS (NIL)\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = parse(bad[i]);
		why = NULL;
		assert_int_equal(imap_parse_flags(c->args->next->next, true, &ca, &f, &why),
		                 ERR_BAD_SYNTAX);
		assert_non_null(why);
		assert_true(strncmp(why, "BAD ", 4) == 0);
	}
}

static void date(const char *in, int rc, int32_t want)
{
	int32_t d = 12345;
	int r = imap_parse_date(in, strlen(in), &d);
	if (r != rc || (rc == 0 && d != want))
		fail_msg("'%s': rc %d days %d, want %d %d", in, r, d, rc, want);
}

/* RFC 9051 9: date = date-text / DQUOTE date-text DQUOTE, date-day = 1*2DIGIT. */
static void rfc9051_9_date(void **state)
{
	date("1-Jan-1970", 0, 0);
	date("01-jan-1970", 0, 0);
	date("2-JAN-1970", 0, 1);
	date("1-Feb-2024", 0, 19754);
	date("29-Feb-2024", 0, 19782); /* leap year */
	date("29-Feb-2023", ERR_BAD_SYNTAX, 0);
	date("29-Feb-2000", 0, 11016);
	date("29-Feb-1900", ERR_BAD_SYNTAX, 0);
	date("31-Dec-1969", 0, -1);
	date("31-Apr-2024", ERR_BAD_SYNTAX, 0);
	date("30-Apr-2024", 0, 19843);
	date("32-Jan-2024", ERR_BAD_SYNTAX, 0);
	date("0-Jan-2024", ERR_BAD_SYNTAX, 0);
	date("00-Jan-2024", ERR_BAD_SYNTAX, 0);
	date("001-Jan-2024", ERR_BAD_SYNTAX, 0);
	date("1-Jan-24", ERR_BAD_SYNTAX, 0);
	date("1-Jan-02024", ERR_BAD_SYNTAX, 0);
	date("1-Jen-2024", ERR_BAD_SYNTAX, 0);
	date("1-January-2024", ERR_BAD_SYNTAX, 0);
	date("1 Jan 2024", ERR_BAD_SYNTAX, 0);
	date(" 1-Jan-2024", ERR_BAD_SYNTAX, 0);
	date("1-Jan-2024 ", ERR_BAD_SYNTAX, 0);
	date("", ERR_BAD_SYNTAX, 0);
	date("1-Jan-", ERR_BAD_SYNTAX, 0);
	date("31-Dec-9999", 0, 2932896);
	date("1-Jan-0000", 0, -719528);
	struct imap_cmd *c = parse("a SEARCH 1-Feb-2024 \"1-Feb-2024\" {10+}\r\n1-Feb-2024\r\n");
	int32_t d;
	assert_int_equal(imap_arg_date(c->args, &d), 0);
	assert_int_equal(imap_arg_date(c->args->next, &d), 0);
	assert_int_equal(d, 19754);
	assert_int_equal(imap_arg_date(c->args->next->next, &d), ERR_BAD_SYNTAX);
}

static void datetime(const char *in, int rc, int64_t want, int zone)
{
	int64_t t = 1;
	int z = 1;
	int r = imap_parse_datetime(in, strlen(in), &t, &z);
	if (r != rc || (rc == 0 && (t != want || z != zone)))
		fail_msg("'%s': rc %d t %lld zone %d", in, r, (long long)t, z);
}

/* RFC 9051 9: date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP
 * zone DQUOTE. */
static void rfc9051_9_date_time(void **state)
{
	datetime("01-Jan-1970 00:00:00 +0000", 0, 0, 0);
	datetime(" 1-Jan-1970 00:00:00 +0000", 0, 0, 0);
	datetime("1-Jan-1970 00:00:00 +0000", 0, 0, 0); /* one digit tolerated */
	datetime("17-Jul-1996 02:44:25 -0700", 0, 837596665, -420);
	datetime("17-Jul-1996 09:44:25 +0000", 0, 837596665, 0);
	datetime("17-Jul-1996 11:14:25 +0130", 0, 837596665, 90);
	datetime("31-Dec-1999 23:59:60 +0000", 0, 946684799, 0); /* leap second */
	datetime("17-Jul-1996 24:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:60:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:00:61 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:00:00 +0060", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:00:00 +2400", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:00:00 0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:00:00 +000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 02:00:00 +00000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996 2:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996  02:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996T02:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("30-Feb-1996 02:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	datetime("17-Jul-1996", ERR_BAD_SYNTAX, 0, 0);
	datetime("", ERR_BAD_SYNTAX, 0, 0);
	datetime(" ", ERR_BAD_SYNTAX, 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc9051_9_char_classes),
	    cmocka_unit_test(rfc9051_9_strings),      cmocka_unit_test(numbers),
	    cmocka_unit_test(rfc9051_9_sequence_set), cmocka_unit_test(limit_seqset),
	    cmocka_unit_test(seqset_has_and_resolve), cmocka_unit_test(rfc9051_2_3_2_flags),
	    cmocka_unit_test(rfc9051_9_date),         cmocka_unit_test(rfc9051_9_date_time),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
