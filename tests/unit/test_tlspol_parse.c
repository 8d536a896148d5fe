/* test_tlspol_parse.c: the pure MTA-STS parsers (outbound/tlspol_parse.c): the policy
 * body (RFC 8461 3.2), the _mta-sts TXT record (3.1), the mx pattern match (4.1).
 * Inputs sit in exact-size heap copies (ASan sees a read past len); every policy that
 * parses is also cut at every offset (a prefix either parses or is refused, never read
 * past); limits at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/tlspol.h"

static int policy_n(const char *s, size_t len, struct tlspol_sts *out)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int r = tlspol_parse_policy(p, len, out);
	free(p);
	return r;
}

static int policy(const char *s, struct tlspol_sts *out)
{
	return policy_n(s, strlen(s), out);
}

/* Every prefix of a good policy parses or is refused with a parser error. */
static void every_prefix(const char *s)
{
	struct tlspol_sts sts;
	for (size_t cut = 0; cut <= strlen(s); cut++) {
		int r = policy_n(s, cut, &sts);
		assert_true(r == 0 || r == ERR_BAD_SYNTAX);
	}
}

static void test_policy_valid(void **state)
{
	struct tlspol_sts sts;
	/* RFC 8461 3.2's example, CRLF line ends */
	const char *crlf = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	                   "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";
	assert_int_equal(policy(crlf, &sts), 0);
	assert_int_equal(sts.mode, TLSPOL_STS_ENFORCE);
	assert_int_equal(sts.max_age, 604800);
	assert_int_equal(sts.n_mx, 3);
	assert_string_equal(sts.mx[0], "mail.example.com");
	assert_string_equal(sts.mx[1], "*.example.net");
	assert_string_equal(sts.mx[2], "backupmx.example.com");
	every_prefix(crlf);
	/* LF only, no final line end, fields in another order, extension ignored */
	const char *lf = "version: STSv1\nmax_age:86400\nx-ext: any \xc3\xa4 thing\n"
	                 "mode:\ttesting\nmx: MX.Example.COM  ";
	assert_int_equal(policy(lf, &sts), 0);
	assert_int_equal(sts.mode, TLSPOL_STS_TESTING);
	assert_int_equal(sts.max_age, 86400);
	assert_int_equal(sts.n_mx, 1);
	assert_string_equal(sts.mx[0], "mx.example.com");
	every_prefix(lf);
	/* mode none needs no mx; an empty line is skipped */
	assert_int_equal(policy("version: STSv1\n\nmode: none\nmax_age: 0\n", &sts), 0);
	assert_int_equal(sts.mode, TLSPOL_STS_NONE);
	assert_int_equal(sts.n_mx, 0);
	/* a repeated non-mx field: the first one counts (RFC 8461 3.2) */
	assert_int_equal(policy("version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\n"
	                        "max_age: 5\nmax_age: 7\nversion: STSv2\n",
	                        &sts),
	                 0);
	assert_int_equal(sts.mode, TLSPOL_STS_TESTING);
	assert_int_equal(sts.max_age, 5);
	/* max_age past a year is clamped (RFC 8461 3.2: at most 31557600) */
	assert_int_equal(
	    policy("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 9999999999\n", &sts), 0);
	assert_int_equal(sts.max_age, LIMIT_TLSPOL_MAX_AGE);
	assert_int_equal(
	    policy("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557600\n", &sts), 0);
	assert_int_equal(sts.max_age, 31557600);
	assert_int_equal(
	    policy("version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n", &sts), 0);
	assert_int_equal(sts.max_age, 31557600);
}

static void test_policy_invalid(void **state)
{
	struct tlspol_sts sts;
	const char *bad[] = {
	    "",
	    "\n",
	    "mode: enforce\nmx: a.b\nmax_age: 5\n",                           /* no version */
	    "version: STSv1\nmx: a.b\nmax_age: 5\n",                          /* no mode */
	    "version: STSv1\nmode: enforce\nmx: a.b\n",                       /* no max_age */
	    "version: STSv1\nmode: enforce\nmax_age: 5\n",                    /* no mx */
	    "version: STSv1\nmode: testing\nmax_age: 5\n",                    /* no mx */
	    "version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 5\n",           /* version */
	    "version: stsv1\nmode: enforce\nmx: a.b\nmax_age: 5\n",           /* case-sensitive */
	    "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 5\n",           /* case-sensitive */
	    "version: STSv1\nmode: report\nmx: a.b\nmax_age: 5\n",            /* unknown mode */
	    "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -5\n",          /* sign */
	    "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5s\n",          /* unit */
	    "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 10000000000\n", /* 11 digits */
	    "version: STSv1\nmode: enforce\nmx: a.b\nmax_age:\n",             /* empty value */
	    "version: STSv1\nmode: enforce\nmx: *\nmax_age: 5\n",             /* bare wildcard */
	    "version: STSv1\nmode: enforce\nmx: *.\nmax_age: 5\n",
	    "version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 5\n", /* inner wildcard */
	    "version: STSv1\nmode: enforce\nmx: **.b\nmax_age: 5\n",
	    "version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 5\n",
	    "version: STSv1\nmode: enforce\nmx: a.b.\nmax_age: 5\n", /* final dot */
	    "version: STSv1\nmode: enforce\nmx: a b\nmax_age: 5\n",
	    "version: STSv1\nmode enforce\nmx: a.b\nmax_age: 5\n",         /* no colon */
	    "version: STSv1\n: enforce\nmx: a.b\nmax_age: 5\n",            /* no key */
	    "version: STSv1\n-x: y\nmode: enforce\nmx: a.b\nmax_age: 5\n", /* key start */
	    "version: STSv1\nmo de: x\nmode: enforce\nmx: a.b\nmax_age: 5\n",
	    "version: STSv1\r\r\nmode: enforce\nmx: a.b\nmax_age: 5\n", /* bare CR */
	    "version: STSv1\nmode: enf\rorce\nmx: a.b\nmax_age: 5\n",
	    " version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5\n",           /* leading WSP */
	    "version: STSv1\nx: a\x01z\nmode: enforce\nmx: a.b\nmax_age: 5\n", /* control */
	    "version: STSv1\nx: a\x7fz\nmode: enforce\nmx: a.b\nmax_age: 5\n", /* DEL */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sts.mode = TLSPOL_STS_ENFORCE;
		int r = policy(bad[i], &sts);
		if (r != ERR_BAD_SYNTAX)
			fail_msg("case %zu: %d", i, r);
		assert_int_equal(sts.mode, TLSPOL_STS_ABSENT); /* nothing half-filled */
	}
	/* a NUL inside a value */
	static const char nul[] = "version: STSv1\nx: a\0b\nmode: enforce\nmx: a.b\nmax_age: 5\n";
	assert_int_equal(policy_n(nul, sizeof(nul) - 1, &sts), ERR_BAD_SYNTAX);
	/* 8-bit bytes in a key */
	assert_int_equal(
	    policy("version: STSv1\n\xc3\xa4: x\nmode: enforce\nmx: a.b\nmax_age: 5\n", &sts),
	    ERR_BAD_SYNTAX);
}

/* a policy of exactly len bytes: the fields, then an extension line padded to fit */
static char *policy_of_len(size_t len)
{
	static const char head[] = "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 5\nx: ";
	size_t hl = sizeof(head) - 1;
	assert_true(len > hl + 1);
	char *p = malloc(len + 1);
	assert_non_null(p);
	memcpy(p, head, hl);
	memset(p + hl, 'y', len - hl - 1);
	p[len - 1] = '\n';
	p[len] = '\0';
	return p;
}

static void test_policy_limits(void **state)
{
	struct tlspol_sts sts;
	/* the body: 64 KiB - 1, exactly, + 1 (RFC 8461 3.3) */
	for (int d = -1; d <= 1; d++) {
		size_t len = (size_t)((long)LIMIT_TLSPOL_POLICY + d);
		char *p = policy_of_len(len);
		int r = policy_n(p, len, &sts);
		assert_int_equal(r, d <= 0 ? 0 : ERR_TOO_BIG);
		free(p);
	}
	/* mx lines: LIMIT - 1, exactly, + 1 */
	for (int d = -1; d <= 1; d++) {
		char buf[4096];
		size_t o = 0;
		int n = snprintf(buf, sizeof(buf), "version: STSv1\nmode: enforce\nmax_age: 9\n");
		assert_true(n > 0);
		o = (size_t)n;
		for (int i = 0; i < LIMIT_TLSPOL_MX + d; i++) {
			n = snprintf(buf + o, sizeof(buf) - o, "mx: mx%d.example.com\n", i);
			assert_true(n > 0 && (size_t)n < sizeof(buf) - o);
			o += (size_t)n;
		}
		int r = policy_n(buf, o, &sts);
		assert_int_equal(r, d <= 0 ? 0 : ERR_TOO_BIG);
		if (d <= 0)
			assert_int_equal(sts.n_mx, LIMIT_TLSPOL_MX + d);
	}
	/* an mx name: 253 bytes, 254; a wildcard over a 251-byte name */
	char name[300], text[400];
	for (int d = -1; d <= 1; d++) {
		size_t len = (size_t)(LIMIT_DNS_NAME + d);
		for (size_t i = 0; i < len; i++)
			name[i] = (i % 50 == 49) ? '.' : 'a';
		name[len] = '\0';
		int n = snprintf(text, sizeof(text),
		                 "version: STSv1\nmode: enforce\nmx: %s\nmax_age: 9\n", name);
		assert_true(n > 0 && (size_t)n < sizeof(text));
		assert_int_equal(policy(text, &sts), d <= 0 ? 0 : ERR_BAD_SYNTAX);
		n = snprintf(text, sizeof(text),
		             "version: STSv1\nmode: enforce\nmx: *.%s\nmax_age: 9\n", name + 2);
		assert_true(n > 0 && (size_t)n < sizeof(text));
		assert_int_equal(policy(text, &sts), d <= 0 ? 0 : ERR_BAD_SYNTAX);
		if (d <= 0)
			assert_int_equal(strlen(sts.mx[0]), len);
	}
}

static int txt(const char *s, char *id)
{
	size_t len = strlen(s);
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int r = tlspol_parse_txt(p, len, id);
	free(p);
	return r;
}

static void test_txt(void **state)
{
	char id[LIMIT_TLSPOL_ID + 1];
	assert_int_equal(txt("v=STSv1; id=20160831085700Z;", id), 1);
	assert_string_equal(id, "20160831085700Z");
	assert_int_equal(txt("v=STSv1;id=abc", id), 1);
	assert_string_equal(id, "abc");
	assert_int_equal(txt("v=STSv1 ; ext=x ; id=A1 ; id=B2", id), 1);
	assert_string_equal(id, "A1");
	/* not an STS record: another TXT at the name, or another version */
	assert_int_equal(txt("v=spf1 -all", id), 0);
	assert_int_equal(txt("", id), 0);
	assert_int_equal(txt("v=STSv10; id=1", id), 0);
	assert_int_equal(txt("V=STSv1; id=1", id), 0);
	/* STSv1 but broken */
	const char *bad[] = {"v=STSv1",         "v=STSv1;",        "v=STSv1; ext=1",
	                     "v=STSv1; id=",    "v=STSv1; id=a-b", "v=STSv1; id=a b",
	                     "v=STSv1; id==a",  "v=STSv1 id=1",    "v=STSv1; =x; id=1",
	                     "v=STSv1; id=1;;", "v=STSv1; id=1; x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (txt(bad[i], id) != ERR_BAD_SYNTAX)
			fail_msg("case %s", bad[i]);
	/* the id: 32 characters, 33 */
	char rec[80];
	for (int d = -1; d <= 1; d++) {
		int n = snprintf(rec, sizeof(rec), "v=STSv1; id=%.*s", LIMIT_TLSPOL_ID + d,
		                 "0123456789abcdefghijABCDEFGHIJklmnopqrstuvwxyz");
		assert_true(n > 0 && (size_t)n < sizeof(rec));
		assert_int_equal(txt(rec, id), d <= 0 ? 1 : ERR_BAD_SYNTAX);
		if (d <= 0)
			assert_int_equal(strlen(id), (size_t)(LIMIT_TLSPOL_ID + d));
	}
}

static void test_mx_match(void **state)
{
	/* RFC 8461 4.1: the wildcard matches exactly one leftmost label */
	assert_true(tlspol_mx_match("mail.example.com", "mail.example.com"));
	assert_false(tlspol_mx_match("mail.example.com", "mail2.example.com"));
	assert_false(tlspol_mx_match("mail.example.com", "example.com"));
	assert_true(tlspol_mx_match("*.example.com", "mx1.example.com"));
	assert_false(tlspol_mx_match("*.example.com", "example.com"));
	assert_false(tlspol_mx_match("*.example.com", "a.mx1.example.com"));
	assert_false(tlspol_mx_match("*.example.com", "mx1.example.com.evil"));
	assert_false(tlspol_mx_match("*.example.com", "mx1example.com"));
	assert_false(tlspol_mx_match("*.example.com", ".example.com"));
	assert_false(tlspol_mx_match("*.com", "example.net"));
	/* a pattern is never a host: found by fuzz_mtasts_policy */
	assert_false(tlspol_mx_match("*.example.com", "*.example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_policy_valid),  cmocka_unit_test(test_policy_invalid),
	    cmocka_unit_test(test_policy_limits), cmocka_unit_test(test_txt),
	    cmocka_unit_test(test_mx_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
