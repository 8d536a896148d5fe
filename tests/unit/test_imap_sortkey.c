/* test_imap_sortkey.c: the keys SORT and THREAD build on (imap_sortkey.h): the base
 * subject of RFC 5256 2.1 (every rule, the RFC's own examples), RFC 5322 3.3 dates with
 * the obsolete forms of 4.3, i;ascii-casemap, and msg-id normalization (RFC 5256 3).
 * Every input is handed over in a buffer of exactly its length (no NUL after it), so
 * ASan catches a read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_sortkey.h"
#include "mime/mime.h"

/* A copy of s without its NUL, for reads bounded by the length alone. */
static char *exact(const char *s, size_t *n)
{
	*n = strlen(s);
	char *p = malloc(*n ? *n : 1);
	assert_non_null(p);
	memcpy(p, s, *n);
	return p;
}

static void check_base(const char *in, const char *want, bool want_refwd)
{
	size_t n;
	char *p = exact(in, &n);
	char *out = malloc(n ? n : 1);
	bool rf = !want_refwd;
	size_t l = mime_base_subject(p, n, out, &rf);
	if (l != strlen(want) || memcmp(out, want, l) || rf != want_refwd)
		fail_msg("base subject of \"%s\": \"%.*s\" refwd=%d, want \"%s\" refwd=%d", in, (int)l,
		         out, rf, want, want_refwd);
	free(out);
	free(p);
}

static void base_subject(void **state)
{
	check_base("", "", false);
	check_base("hello", "hello", false);
	/* (1) whitespace of any kind and length is one SP; (2) trailing WSP goes */
	check_base("  hello \t  world \r\n ", "hello world", false);
	/* (3) subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
	check_base("Re: hello", "hello", true);
	check_base("RE:hello", "hello", true);
	check_base("re :hello", "hello", true);
	check_base("Fw: hello", "hello", true);
	check_base("FWD: hello", "hello", true);
	check_base("Re[2]: hello", "hello", true);
	check_base("Re [list]: hello", "hello", true);
	check_base("Re: Re: Fwd: Re: hello", "hello", true);
	check_base("Re:", "", true);
	check_base("Ref: hello", "Ref: hello", false);  /* not "re" *WSP ":" */
	check_base("Reply: hello", "Reply: hello", false);
	check_base("Aw: hello", "Aw: hello", false);    /* only the RFC's keywords */
	/* *subj-blob subj-refwd: blobs before a refwd go with it */
	check_base("[list] Re: hello", "hello", true);
	check_base("[a][b] Fwd: hello", "hello", true);
	/* (4) a blob alone goes when a subj-base remains; (5) repeated */
	check_base("[list] hello", "hello", false);
	check_base("[list] [other] hello", "hello", false);
	check_base("[list]", "[list]", false);
	check_base("[a][b]", "[b]", false);
	check_base("[a] [b] ", "[b]", false);
	check_base("Re: [list] Re: hello", "hello", true);
	check_base("[unclosed hello", "[unclosed hello", false);
	check_base("[a[b] hello", "[a[b] hello", false); /* BLOBCHAR excludes "[" */
	/* (2) "(fwd)" trailers, repeated, with WSP between */
	check_base("hello (fwd)", "hello", true);
	check_base("hello (FWD)  (fwd) ", "hello", true);
	check_base("hello(fwd)", "hello", true);
	check_base("(fwd)", "", true);
	/* (6) "[fwd:" subject "]" unwrapped, then everything again */
	check_base("[fwd: hello]", "hello", true);
	check_base("[Fwd: Re: hello (fwd)]", "hello", true);
	check_base("[fwd: [fwd: hello]]", "hello", true);
	check_base("[fwd: hello", "[fwd: hello", false);
	check_base("Re: [fwd: hello]", "hello", true);
	/* UTF-8 passes through untouched */
	check_base("Re: Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e", true);
	check_base("Re:\xe2\x80\x83x", "\xe2\x80\x83x", true); /* not WSP: an em space */
}

static void check_date(const char *in, int want_rc, int64_t want_utc, int32_t want_days)
{
	size_t n;
	char *p = exact(in, &n);
	int64_t utc = -1;
	int32_t days = -1;
	int rc = imap_sortkey_date(p, n, &utc, &days);
	if (rc != want_rc || (rc == 0 && (utc != want_utc || days != want_days)))
		fail_msg("date \"%s\": rc %d utc %lld days %d; want rc %d utc %lld days %d", in, rc,
		         (long long)utc, days, want_rc, (long long)want_utc, want_days);
	free(p);
}

static void dates(void **state)
{
	int32_t jan1 = imap_sortkey_days(2024, 1, 1);
	int64_t d0 = (int64_t)jan1 * 86400;
	assert_int_equal(jan1, 19723);
	assert_int_equal(imap_sortkey_days(1970, 1, 1), 0);
	assert_int_equal(imap_sortkey_days(2000, 3, 1), 11017);
	assert_int_equal(imap_sortkey_days(1969, 12, 31), -1);
	check_date("Mon, 1 Jan 2024 10:00:00 +0100", 0, d0 + 9 * 3600, jan1);
	/* the date as written, not the UTC one (SENTON, RFC 9051 6.4.4) */
	check_date("Tue, 2 Jan 2024 23:30:00 -0500", 0, d0 + 86400 * 2 + 4 * 3600 + 1800, jan1 + 1);
	check_date("1 Jan 2024 10:00 GMT", 0, d0 + 10 * 3600, jan1);
	check_date("Mon 01 jan 2024 10:00:00 +0000", 0, d0 + 10 * 3600, jan1);
	check_date("Monday, 1 January 2024 10:00:00 UT", 0, d0 + 10 * 3600, jan1);
	check_date("Mon, 1 Jan 24 10:00:00 EST", 0, d0 + 15 * 3600, jan1);
	check_date("Fri, 1 Jan 99 10:00:00 PDT", 0, (int64_t)imap_sortkey_days(1999, 1, 1) * 86400 + 17 * 3600,
	           imap_sortkey_days(1999, 1, 1));
	check_date("1 Jan 124 10:00:00 +0000", 0, d0 + 10 * 3600, jan1); /* 3 digits: 1900+ */
	check_date("1 Jan 2024 10:00:00 Z", 0, d0 + 10 * 3600, jan1);
	check_date("1 Jan 2024 10:00:00 A", 0, d0 + 10 * 3600, jan1); /* military: -0000 */
	check_date("1 Jan 2024 10:00:00", 0, d0 + 10 * 3600, jan1);   /* no zone */
	check_date("1 Jan 2024 10:00:00 +0000 (UTC) trailing words", 0, d0 + 10 * 3600, jan1);
	check_date(" (c) Mon (x), 1 (y) Jan (z) 2024 10 : 00 : 30 (zone) +0000", 0,
	           d0 + 10 * 3600 + 30, jan1);
	check_date("1 Jan 2024 10:00:60 +0000", 0, d0 + 10 * 3600 + 59, jan1); /* leap second */
	check_date("29 Feb 2024 00:00:00 +0000", 0, (int64_t)(jan1 + 59) * 86400, jan1 + 59);
	check_date("1 Jan 2024 00:00:00 +2359", 0, d0 - 23 * 3600 - 59 * 60, jan1);
	check_date("1 Jan 2024 00:00:00 -2359", 0, d0 + 23 * 3600 + 59 * 60, jan1);
	/* refused: INTERNALDATE stands in (RFC 5256 2.2) */
	check_date("", ERR_BAD_SYNTAX, 0, 0);
	check_date("garbage", ERR_BAD_SYNTAX, 0, 0);
	check_date("2024-01-01T10:00:00Z", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Foo 2024 10:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("29 Feb 2023 10:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("31 Apr 2024 10:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("0 Jan 2024 10:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("100 Jan 2024 10:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 20245 10:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 24:00:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10:60:00 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10:00:61 +0000", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10:00:00 +0160", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10:00:00 +01:00", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10:00:00 CEST", ERR_BAD_SYNTAX, 0, 0);
	check_date("1 Jan 2024 10:00:00 (unterminated", 0, d0 + 10 * 3600, jan1);
	/* every prefix of a valid date is refused or read as far as it goes, never past */
	const char *full = "Tue, 2 Jan 2024 23:30:00 -0500";
	for (size_t k = 0; k < strlen(full); k++) {
		char *p = malloc(k ? k : 1);
		memcpy(p, full, k);
		int64_t utc;
		(void)imap_sortkey_date(p, k, &utc, NULL);
		free(p);
	}
}

static void casemap(void **state)
{
	assert_int_equal(imap_sortkey_casecmp("abc", 3, "ABC", 3), 0);
	assert_true(imap_sortkey_casecmp("abc", 3, "abd", 3) < 0);
	assert_true(imap_sortkey_casecmp("ab", 2, "abc", 3) < 0);
	assert_true(imap_sortkey_casecmp("b", 1, "A", 1) > 0);
	assert_true(imap_sortkey_casecmp("", 0, "a", 1) < 0);
	/* a-z compare as A-Z: "_" (0x5F) sorts after "a" (as 0x41) */
	assert_true(imap_sortkey_casecmp("_", 1, "a", 1) > 0);
	assert_true(imap_sortkey_casecmp("\xc3\xbc", 2, "\xc3\x9c", 2) > 0); /* not U+00FC/DC */
}

struct ids {
	char got[8][64];
	size_t n, stop_after;
};

static bool collect(void *arg, const char *id, size_t len)
{
	struct ids *v = arg;
	assert_true(len < sizeof(v->got[0]));
	memcpy(v->got[v->n], id, len);
	v->got[v->n][len] = '\0';
	v->n++;
	return v->n != v->stop_after;
}

static void check_ids(const char *in, size_t want_n, const char *const *want)
{
	size_t n;
	char *p = exact(in, &n);
	struct ids v = {.stop_after = 0};
	size_t c = imap_sortkey_msgids(p, n, collect, &v);
	assert_int_equal(c, want_n);
	assert_int_equal(v.n, want_n);
	for (size_t i = 0; i < want_n; i++)
		if (strcmp(v.got[i], want[i]))
			fail_msg("ids of \"%s\" [%zu]: %s, want %s", in, i, v.got[i], want[i]);
	free(p);
}

static void msgids(void **state)
{
	check_ids("", 0, NULL);
	check_ids("<a@b>", 1, (const char *[]){"<a@b>"});
	check_ids(" <a@b>\r\n <c@d.e>", 2, (const char *[]){"<a@b>", "<c@d.e>"});
	/* RFC 5256 3: quoting does not make another id */
	check_ids("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>", 1,
	          (const char *[]){"<01KF8JCEOCBS0045PS@xxx.yyy.com>"});
	check_ids("<\"a\\\"b\"@c>", 1, (const char *[]){"<a\"b@c>"});
	check_ids("< a (note) @ b >", 1, (const char *[]){"<a@b>"});
	/* phrases and comments of In-Reply-To, invalid ids */
	check_ids("Your message of \"Mon <x@y>\" <a@b> (was <c@d>)", 1, (const char *[]){"<a@b>"});
	check_ids("<nope> <@b> <a@> <> <a@b>", 1, (const char *[]){"<a@b>"});
	check_ids("a@b", 0, NULL);
	check_ids("<a@b", 0, NULL);
	check_ids("<a@b> <c@d", 1, (const char *[]){"<a@b>"});
	/* the callback stops the walk */
	size_t n;
	char *p = exact("<a@b> <c@d> <e@f>", &n);
	struct ids v = {.stop_after = 2};
	assert_int_equal(imap_sortkey_msgids(p, n, collect, &v), 2);
	free(p);
	/* an id longer than LIMIT_MSGID is skipped, the next one is not */
	size_t big = LIMIT_MSGID + 10;
	char *s = malloc(big + 16);
	s[0] = '<';
	memset(s + 1, 'x', big);
	memcpy(s + 1 + big, "@y> <c@d>", 9);
	struct ids w = {0};
	assert_int_equal(imap_sortkey_msgids(s, big + 10, collect, &w), 1);
	assert_string_equal(w.got[0], "<c@d>");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base_subject),
		cmocka_unit_test(dates),
		cmocka_unit_test(casemap),
		cmocka_unit_test(msgids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
