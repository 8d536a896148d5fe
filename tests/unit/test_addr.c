/* test_addr.c: the mailbox address validator (core/addr.h), RFC 5321 4.1.2 with
 * RFC 6531 3.3 and the limits of RFC 5321 4.5.3.1.
 * Every case runs on an exact-size heap copy (ASan sees a read past len) and, cut at
 * every offset, with other bytes after the cut: the verdict on s[0..k) must not depend
 * on what follows it (the validator reads only [s, s+len), STYLE 5). The limits are
 * tested at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/limits.h"

enum which { MAILBOX, ACCOUNT, DOMAIN };

static int check_copy(enum which w, const char *s, size_t len, const char **why)
{
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int r;
	if (w == MAILBOX)
		r = addr_mailbox_check(p, len, NULL, why);
	else if (w == ACCOUNT)
		r = addr_account_check(p, len, why);
	else
		r = addr_domain_check(p, len, NULL, why);
	free(p);
	return r;
}

/* The verdict on every prefix, with and without bytes after it, must agree. */
static void check_prefixes(enum which w, const char *s, size_t len)
{
	char *buf = malloc(len + 8);
	assert_non_null(buf);
	for (size_t k = 0; k <= len; k++) {
		int alone = check_copy(w, s, k, NULL);
		static const char tails[][8] = {"@x.test", "\0\0\0\0\0\0\0", "\xff\xfe...."};
		for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			memcpy(buf, s, k);
			memcpy(buf + k, tails[t], 8);
			int r = w == MAILBOX   ? addr_mailbox_check(buf, k, NULL, NULL)
			        : w == ACCOUNT ? addr_account_check(buf, k, NULL)
			                       : addr_domain_check(buf, k, NULL, NULL);
			assert_int_equal(r, alone);
		}
	}
	free(buf);
}

static void expect(enum which w, const char *s, size_t len, int want)
{
	const char *why = NULL;
	int r = check_copy(w, s, len, &why);
	if (r != want)
		print_error("%s '%.*s': got %d (%s), want %d\n",
		            w == MAILBOX   ? "mailbox"
		            : w == ACCOUNT ? "account"
		                           : "domain",
		            (int)len, s, r, why ? why : "-", want);
	assert_int_equal(r, want);
	if (r < 0) {
		assert_non_null(why);
		assert_true(strlen(why) > 5);
	}
	check_prefixes(w, s, len);
}

#define ALL(s, e)                                                                                  \
	do {                                                                                       \
		expect(MAILBOX, s, strlen(s), e);                                                  \
		expect(ACCOUNT, s, strlen(s), e);                                                  \
	} while (0)
#define OK(s) ALL(s, 0)

/* RFC 5321 4.1.2 Dot-string local parts and LDH domains. */
static void test_valid_ascii(void **state)
{
	(void)state;
	OK("a@b");
	OK("demo@localhost");
	OK("first.last@example.test");
	OK("user+detail@mail.example.test");
	OK("!#$%&'*+-/=?^_`{|}~@example.test");
	OK("UPPER@EXAMPLE.TEST");
	OK("x@xn--mnchen-3ya.example"); /* an A-label is plain LDH */
	OK("x@a-b.c-d.example");
	OK("x@123.example"); /* numeric labels below the top are fine */
	OK("x@example.t1");
}

/* RFC 6531 3.3: UTF-8 local parts and U-label domains. */
static void test_valid_utf8(void **state)
{
	(void)state;
	OK("j\xc3\xb6rg@m\xc3\xbc"
	   "nchen.example"); /* jörg@münchen.example */
	OK("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95");
	OK("\xd0\xb8\xd0\xbc\xd1\x8f@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
	   "\xd1\x80\xd1\x84");
	OK("a@\xf0\x9f\x98\x80.example"); /* 4-byte sequence */
	struct addr_info info;
	assert_int_equal(addr_mailbox_check("a@b.example", 11, &info, NULL), 0);
	assert_false(info.utf8);
	assert_false(info.quoted);
	assert_int_equal(info.local_len, 1);
	assert_int_equal(addr_mailbox_check("a@m\xc3\xbcnchen", 10, &info, NULL), 0);
	assert_true(info.utf8);
	assert_int_equal(addr_mailbox_check("\xc3\xa4@b", 4, &info, NULL), 0);
	assert_true(info.utf8);
	assert_int_equal(info.local_len, 2);
}

/* Quoted-string: a valid Mailbox, but not an address the server hosts (4.1.2 SHOULD). */
static void test_quoted(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "\"a b\"@example.test",    "\"a@b\"@example.test", "\"a\\\"b\"@example.test",
	    "\"\"@example.test",       "\"a.b\"@example.test", "\"\xc3\xa4 \xc3\xb6\"@example.test",
	    "\"a\\\\b\"@example.test",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		expect(MAILBOX, ok[i], strlen(ok[i]), 0);
		expect(ACCOUNT, ok[i], strlen(ok[i]), ERR_BAD_SYNTAX);
	}
	struct addr_info info;
	assert_int_equal(addr_mailbox_check("\"a@b\"@c", 7, &info, NULL), 0);
	assert_true(info.quoted);
	assert_int_equal(info.local_len, 5);
	static const char *const bad[] = {
	    "\"a@example.test",         /* no closing quote */
	    "\"a\"b@example.test",      /* text after the quoted string */
	    "\"a\tb\"@example.test",    /* HT is not qtextSMTP */
	    "\"a\\\x01\"@example.test", /* quoted-pairSMTP is %d92 %d32-126 */
	    "\"a\\",                    /* a backslash at the end */
	    "\"\xc3\"@example.test",    /* broken UTF-8 */
	    "\"a\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ALL(bad[i], ERR_BAD_SYNTAX);
}

static void test_invalid(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "no-at-sign",
	    "@b.example",
	    "a@",
	    "a@@b.example",
	    "a b@example.test",
	    "a@b c.example",
	    ".a@example.test",
	    "a.@example.test",
	    "a..b@example.test",
	    "a@.example",
	    "a@example.",
	    "a@example..test",
	    "a@-example.test",
	    "a@example-.test",
	    "a@exa_mple.test",
	    "a@[192.0.2.1]",
	    "a@[IPv6:::1]",
	    "evil@../../tmp",
	    "evil@..",
	    "a@b/c",
	    "a@b\\c",
	    "a(comment)@example.test",
	    "<a@example.test>",
	    "a@example.test>",
	    "a@1.2.3.4",
	    "a@example.123",
	    "a@b@c.example",
	    "a,b@example.test",
	    "a;b@example.test",
	    "a\x7f@example.test",
	    "a\x01@example.test",
	    "a@ex\x01mple.test",
	    "a\r\n@example.test",
	    "a@example.test ",
	    " a@example.test",
	    /* UTF-8 that RFC 3629 refuses */
	    "\xc3@example.test",
	    "\xc0\xaf@example.test",
	    "\xed\xa0\x80@example.test",
	    "\xf4\x90\x80\x80@example.test",
	    "\xff@example.test",
	    "a@\xe2\x82.example",
	    "a@b.\xe0\x80\xaf",
	    "\x80@example.test",
	    /* RFC 5891 4.2.3.1: a U-label with "--" in positions 3-4, hyphens at the ends */
	    "a@\xc3\xa4\xc3\xa4--x.example",
	    "a@-\xc3\xa4.example",
	    "a@\xc3\xa4-.example",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ALL(bad[i], ERR_BAD_SYNTAX);
	/* NUL inside the given length */
	expect(MAILBOX, "a\0b@example.test", 16, ERR_BAD_SYNTAX);
	expect(MAILBOX, "ab@exa\0mple.test", 16, ERR_BAD_SYNTAX);
	/* an all-ASCII label may hold "--" (A-labels and older host names do) */
	OK("a@ab--cd.example");
}

/* A string of n copies of c. */
static char *rep(char *out, char c, size_t n)
{
	memset(out, c, n);
	out[n] = '\0';
	return out;
}

/* RFC 5321 4.5.3.1.1: local part at most 64 octets. */
static void test_limit_local(void **state)
{
	(void)state;
	char buf[512], loc[128];
	for (size_t n = LIMIT_ADDR_LOCAL - 1; n <= LIMIT_ADDR_LOCAL + 1; n++) {
		int w = snprintf(buf, sizeof(buf), "%s@example.test", rep(loc, 'l', n));
		assert_true(w > 0 && (size_t)w < sizeof(buf));
		ALL(buf, n <= LIMIT_ADDR_LOCAL ? 0 : ERR_TOO_LONG);
	}
	/* a quoted local part counts as written, quotes included */
	for (size_t n = LIMIT_ADDR_LOCAL - 3; n <= LIMIT_ADDR_LOCAL - 1; n++) {
		int w = snprintf(buf, sizeof(buf), "\"%s\"@example.test", rep(loc, 'q', n));
		assert_true(w > 0 && (size_t)w < sizeof(buf));
		expect(MAILBOX, buf, strlen(buf), n + 2 <= LIMIT_ADDR_LOCAL ? 0 : ERR_TOO_LONG);
	}
}

/* RFC 1035 2.3.4: a label is at most 63 octets in DNS, where a U-label is an A-label. */
static void test_limit_label(void **state)
{
	(void)state;
	char buf[512], lab[128];
	for (size_t n = LIMIT_ADDR_LABEL - 1; n <= LIMIT_ADDR_LABEL + 1; n++) {
		int w = snprintf(buf, sizeof(buf), "a@%s.example", rep(lab, 'd', n));
		assert_true(w > 0 && (size_t)w < sizeof(buf));
		ALL(buf, n <= LIMIT_ADDR_LABEL ? 0 : ERR_TOO_LONG);
	}
	/* "a" * k + "ü" is an A-label of k + 8 octets ("xn--" k "-" 3 digits): 62, 63, 64 */
	for (size_t k = 54; k <= 56; k++) {
		int w = snprintf(buf, sizeof(buf), "a@%s\xc3\xbc.example", rep(lab, 'a', k));
		assert_true(w > 0 && (size_t)w < sizeof(buf));
		ALL(buf, k + 8 <= LIMIT_ADDR_LABEL ? 0 : ERR_TOO_LONG);
	}
	/* 51 octets of UTF-8 whose A-label is 64 octets (xn--2ca3c38lua9802hfda016ijyvb2g5y8
	 * aeea616qdg5aeu86bhzpczwol832d): the UTF-8 length alone would let it through. */
	ALL("a@\xf0\x95\x82\xb6\xd0\xb5\xd0\xba\xe5\x8c\x9d\xf0\x9e\xa3\x91\xf0\x93\x8e\x89"
	    "\xe7\x82\x86\xe8\xb2\xb0\xf0\x94\xb1\x94\xe6\x85\x88\xe7\xb5\xaa\xc3\xbb\xe7\xb5"
	    "\xb7\xe6\xb4\xae\xc3\xa2\xe5\x8c\xaf\xe9\xa0\xa9.example",
	    ERR_TOO_LONG);
	/* known A-labels: xn--mnchen-3ya (14), xn--bcher-kva (13), xn--r8jz45g (11) */
	OK("a@m\xc3\xbcnchen.b\xc3\xbc"
	   "cher.\xe4\xbe\x8b\xe3\x81\x88");
}

/* A domain of total octets n made of 63-octet labels and one shorter one. */
static void make_domain(char *out, size_t n)
{
	size_t i = 0;
	while (n - i > 64) {
		memset(out + i, 'x', 63);
		out[i + 63] = '.';
		i += 64;
	}
	memset(out + i, 'y', n - i);
	out[n] = '\0';
}

/* RFC 5321 4.5.3.1.2 (domain <= 255) and 4.5.3.1.3 (path <= 256, so mailbox <= 254). */
static void test_limit_domain_and_mailbox(void **state)
{
	(void)state;
	char dom[600], buf[700];
	for (size_t n = LIMIT_ADDR_DOMAIN - 1; n <= LIMIT_ADDR_DOMAIN + 1; n++) {
		make_domain(dom, n);
		expect(DOMAIN, dom, n, n <= LIMIT_ADDR_DOMAIN ? 0 : ERR_TOO_LONG);
	}
	for (size_t n = LIMIT_ADDR_MAILBOX - 1; n <= LIMIT_ADDR_MAILBOX + 1; n++) {
		make_domain(dom, n - 2);
		int w = snprintf(buf, sizeof(buf), "a@%s", dom);
		assert_true(w > 0 && (size_t)w == n);
		ALL(buf, n <= LIMIT_ADDR_MAILBOX ? 0 : ERR_TOO_LONG);
	}
	/* 149 octets as written, 269 as A-labels: 15 labels "\xc3\xb1\xe8\xba\x97\xd1\x8b\xd1\x85"
	 * (9 octets of UTF-8, 17 as an A-label) */
	size_t i = 0;
	for (int l = 0; l < 15; l++) {
		memcpy(dom + i, "\xc3\xb1\xe8\xba\x97\xd1\x8b\xd1\x85.", 10);
		i += 10;
	}
	dom[i - 1] = '\0';
	bool u = false;
	expect(DOMAIN, dom, i - 1, ERR_TOO_LONG);
	assert_int_equal(addr_domain_check(dom, 9 * 10 - 1, &u, NULL), 0); /* 9 labels: 161 */
	assert_true(u);
}

static void test_domain_only(void **state)
{
	(void)state;
	static const char *const ok[] = {"example.test", "localhost", "xn--bcher-kva.example",
	                                 "b\xc3\xbc"
	                                 "cher.example",
	                                 "a1.b2.c3"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		expect(DOMAIN, ok[i], strlen(ok[i]), 0);
	static const char *const bad[] = {"",     ".",           "..",        "../../tmp",
	                                  "a..b", "[127.0.0.1]", "127.0.0.1", "a b",
	                                  "a@b",  "-a.b",        "a.b-",      "a_b.c"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(DOMAIN, bad[i], strlen(bad[i]), ERR_BAD_SYNTAX);
	assert_true(addr_account_ok("a@b", 3));
	assert_false(addr_account_ok("a@b.", 4));
	assert_false(addr_account_ok("\"a\"@b", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_ascii),
	    cmocka_unit_test(test_valid_utf8),
	    cmocka_unit_test(test_quoted),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_limit_local),
	    cmocka_unit_test(test_limit_label),
	    cmocka_unit_test(test_limit_domain_and_mailbox),
	    cmocka_unit_test(test_domain_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
