/* test_spf.c: SPF (RFC 7208): the record parser (4.5, 12), macro expansion with the
 * examples of 7.4 byte for byte, and check_host() (4, 5) over a DNS table: every
 * result, include/redirect, mx/ptr/exists/a with CIDRs, the limits of 4.6.4 at -1, 0
 * and +1 (DNS-querying terms, void lookups, MX names) and LIMIT_SPF_TERMS. Records sit
 * in exact-size heap copies so ASan sees a read past their end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/spf.h"
#include "test_spf_dns.h"

static int parse(const char *s, struct spf_record *rec)
{
	size_t len = strlen(s);
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	const char *why = NULL;
	int r = spf_record_parse(p, len, rec, &why);
	if (r < 0)
		assert_non_null(why);
	free(p); /* the terms point into p: callers look only at counts and kinds */
	return r;
}

static void test_is_spf(void **state)
{
	(void)state;
	assert_true(spf_record_is_spf("v=spf1", 6));
	assert_true(spf_record_is_spf("V=SPF1 -all", 11));
	assert_false(spf_record_is_spf("v=spf10 -all", 12));
	assert_false(spf_record_is_spf("v=spf", 5));
	assert_false(spf_record_is_spf("xv=spf1", 7));
	assert_false(spf_record_is_spf("v=spf1\t-all", 11)); /* 4.5: SP only */
}

static void test_record_valid(void **state)
{
	(void)state;
	struct spf_record rec;
	const char *good[] = {
		"v=spf1",
		"v=spf1 ",
		"v=spf1 -all",
		"v=spf1  +a  mx ~all ",
		"v=spf1 ip4:192.0.2.0/24 ip4:192.0.2.1 ip6:2001:db8::/32 ip6:::1 -all",
		"v=spf1 a:mail.example.com/24//64 mx//0 a/32 mx:%{d}/0",
		"v=spf1 include:_spf.example.com exists:%{ir}.%{v}._spf.%{d2} ?all",
		"v=spf1 ptr ptr:example.com redirect=_spf.example.com",
		"v=spf1 exp=explain._spf.%{d} -all",
		"v=spf1 foo=bar moo.cow-far_out=man:dog/cat -all", /* unknown modifiers */
		"v=spf1 a:example.com. -all",                      /* a final dot */
		"v=spf1 a:example.x-1 -all",                       /* toplabel with a hyphen */
		"v=spf1 ALL",
		"v=spf1 ip4:0.0.0.0/0 ip6:::/0",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse(good[i], &rec) != 0)
			fail_msg("refused: %s", good[i]);
	}
	assert_int_equal(parse("v=spf1 a:mail.example.com/24//64 -all", &rec), 0);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.terms[0].mech, SPF_MECH_A);
	assert_int_equal(rec.terms[0].cidr4, 24);
	assert_int_equal(rec.terms[0].cidr6, 64);
	assert_int_equal(rec.terms[0].spec_len, strlen("mail.example.com"));
	assert_int_equal(rec.terms[1].qual, SPF_RESULT_FAIL);
	assert_true(rec.has_all);
	assert_int_equal(parse("v=spf1 ~mx ?a +ip4:1.2.3.4", &rec), 0);
	assert_int_equal(rec.terms[0].qual, SPF_RESULT_SOFTFAIL);
	assert_int_equal(rec.terms[1].qual, SPF_RESULT_NEUTRAL);
	assert_int_equal(rec.terms[2].qual, SPF_RESULT_PASS);
	assert_int_equal(rec.terms[2].cidr4, 32);
}

static void test_record_invalid(void **state)
{
	(void)state;
	struct spf_record rec;
	const char *bad[] = {
		"v=spf1 -all:foo",            /* all takes nothing */
		"v=spf1 foo",                 /* unknown mechanism */
		"v=spf1 ip4:192.0.2.0/33",    /* past 32 */
		"v=spf1 ip4:192.0.2.0/024",   /* leading zero */
		"v=spf1 ip4:192.0.2",         /* not an address */
		"v=spf1 ip6:2001:db8::/129",
		"v=spf1 ip4:2001:db8::",      /* family mismatch */
		"v=spf1 a/33",
		"v=spf1 mx//129",
		"v=spf1 include",             /* domain-spec required */
		"v=spf1 include:",
		"v=spf1 exists:%{x}.example.com",  /* unknown macro letter */
		"v=spf1 exists:%{d0}.example.com", /* zero digit transformer (7.3) */
		"v=spf1 exists:%{c}.example.com",  /* c: explanations only */
		"v=spf1 a:%{d",                    /* unclosed macro */
		"v=spf1 a:foo%",                   /* lone percent */
		"v=spf1 a:foo.com.1",              /* toplabel all digits */
		"v=spf1 a:com",                    /* no dot before the toplabel */
		"v=spf1 redirect=a.example.com redirect=b.example.com",
		"v=spf1 exp=a.example.com exp=b.example.com",
		"v=spf1 foo=%{q}",                 /* unknown modifier, bad macro */
		"v=spf1 -all\t",                   /* a tab */
		"v=spf1 a:ex\xc3\xa4mple.com",     /* 8-bit */
		"v=spf1\x7f",
		"v=spf1 ptr/24",                   /* ptr takes no CIDR */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &rec) >= 0)
			fail_msg("accepted: %s", bad[i]);
	}
}

/* LIMIT_SPF_TERMS directives at -1, 0, +1 (modifiers do not count). */
static void test_record_term_limit(void **state)
{
	(void)state;
	struct spf_record rec;
	for (int n = LIMIT_SPF_TERMS - 1; n <= LIMIT_SPF_TERMS + 1; n++) {
		char s[LIMIT_SPF_TERMS * 24 + 64];
		size_t o = (size_t)snprintf(s, sizeof(s), "v=spf1 x=y");
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(s + o, sizeof(s) - o, " ip4:10.0.0.%d", i % 250);
		int r = parse(s, &rec);
		if (n <= LIMIT_SPF_TERMS) {
			assert_int_equal(r, 0);
			assert_int_equal(rec.n, (size_t)n);
		} else {
			assert_int_equal(r, ERR_TOO_BIG);
		}
	}
}

/* RFC 7208 7.4's examples. */
static void test_macro_rfc_examples(void **state)
{
	(void)state;
	uint8_t ip4[4] = {192, 0, 2, 3};
	uint8_t ip6[16];
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::cb01", ip6), 1);
	struct spf_macro_ctx m = {.sender_local = "strong-bad",
				  .sender_domain = "email.example.com",
				  .domain = "email.example.com",
				  .family = AF_INET,
				  .ip = ip4,
				  .helo = "mx.example.org"};
	static const char *const cases[][2] = {
		{"%{s}", "strong-bad@email.example.com"},
		{"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}", "com"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},
		{"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},
		{"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		 "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		 "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{"%{S}", "strong-bad%40email.example.com"}, /* upper case: URL-escaped */
		{"%{h}.%%.%_.%-", "mx.example.org.%. .%20"},
		{"%{p}", "unknown"},
		{"%{d999}", "email.example.com"},
	};
	char out[LIMIT_SPF_MACRO_OUT + 1];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *in = cases[i][0];
		assert_int_equal(spf_macro_check(in, strlen(in), false), 0);
		if (spf_macro_expand(&m, in, strlen(in), out) != 0)
			fail_msg("expand failed: %s", in);
		assert_string_equal(out, cases[i][1]);
	}
	m.family = AF_INET6;
	m.ip = ip6;
	const char *v6 = "%{ir}.%{v}._spf.%{d2}";
	assert_int_equal(spf_macro_expand(&m, v6, strlen(v6), out), 0);
	assert_string_equal(out, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
				 ".ip6._spf.example.com");
	/* c, r, t only in explanations; digits past 3 and a zero digit are errors */
	assert_int_equal(spf_macro_check("%{c}", 4, true), 0);
	assert_int_equal(spf_macro_check("%{c}", 4, false), ERR_BAD_SYNTAX);
	assert_int_equal(spf_macro_check("%{d1000}", 8, false), ERR_BAD_SYNTAX);
	assert_int_equal(spf_macro_check("%{d0}", 5, false), ERR_BAD_SYNTAX);
	assert_int_equal(spf_macro_check("a b", 3, false), ERR_BAD_SYNTAX);
	assert_int_equal(spf_macro_check("a b", 3, true), 0);
	/* fuzz: a byte that is no macro-literal never reaches a name */
	assert_int_equal(spf_macro_expand(&m, "a\0b.com", 7, out), ERR_BAD_SYNTAX);
	assert_int_equal(spf_macro_expand(&m, "a b.com", 7, out), ERR_BAD_SYNTAX);
	assert_true(spf_macro_uses_p("x.%{p}", 6));
	assert_false(spf_macro_uses_p("x.%%{p}", 7));
}

/* 7.3: a result past 253 loses labels on the left; a value past its bound fails. */
static void test_macro_bounds(void **state)
{
	(void)state;
	char helo[LIMIT_SPF_MACRO_VALUE + 2];
	uint8_t ip4[4] = {10, 0, 0, 1};
	struct spf_macro_ctx m = {.sender_local = "a", .sender_domain = "b.example",
				  .domain = "b.example", .family = AF_INET, .ip = ip4,
				  .helo = helo};
	char out[LIMIT_SPF_MACRO_OUT + 1];
	for (size_t n = LIMIT_SPF_MACRO_VALUE - 1; n <= LIMIT_SPF_MACRO_VALUE + 1; n++) {
		for (size_t i = 0; i < n; i++)
			helo[i] = (i % 10 == 9) ? '.' : 'a';
		helo[n] = '\0';
		int r = spf_macro_expand(&m, "%{h}", 4, out);
		if (n <= LIMIT_SPF_MACRO_VALUE) {
			assert_int_equal(r, 0);
			assert_true(strlen(out) <= LIMIT_SPF_MACRO_OUT);
			/* the rightmost labels are kept whole */
			assert_int_equal(memcmp(out, helo + n - strlen(out), strlen(out)), 0);
			assert_true(out[0] != '.');
		} else {
			assert_int_equal(r, ERR_BAD_SYNTAX);
		}
	}
	/* exactly 253 stays, 254 loses its first label */
	char d[300];
	memset(d, 'a', 253);
	d[253] = '\0';
	for (size_t i = 63; i < 253; i += 64)
		d[i] = '.';
	m.domain = d;
	assert_int_equal(spf_macro_expand(&m, "%{d}", 4, out), 0);
	assert_int_equal(strlen(out), 253);
	assert_int_equal(spf_macro_expand(&m, "x%{d}", 5, out), 0);
	assert_int_equal(strlen(out), 253 - 64);
}

/* ---- check_host over a DNS table ---- */

static const struct mock_rr zone[] = {
	{DNS_TYPE_TXT, "pass.test", DNS_STATUS_OK, {"v=spf1 ip4:192.0.2.0/24 -all"}, false},
	{DNS_TYPE_TXT, "fail.test", DNS_STATUS_OK, {"v=spf1 -all"}, false},
	{DNS_TYPE_TXT, "soft.test", DNS_STATUS_OK, {"v=spf1 ~all"}, false},
	{DNS_TYPE_TXT, "neutral.test", DNS_STATUS_OK, {"v=spf1 ?all"}, false},
	{DNS_TYPE_TXT, "nomatch.test", DNS_STATUS_OK, {"v=spf1 ip4:10.0.0.1"}, false},
	{DNS_TYPE_TXT, "other.test", DNS_STATUS_OK, {"google-site-verification=x", "hello"}, false},
	{DNS_TYPE_TXT, "two.test", DNS_STATUS_OK, {"v=spf1 -all", "v=spf1 +all"}, false},
	{DNS_TYPE_TXT, "broken.test", DNS_STATUS_OK, {"v=spf1 ip4:300.0.0.1 -all"}, false},
	{DNS_TYPE_TXT, "temp.test", DNS_STATUS_TEMPFAIL, {NULL}, false},
	{DNS_TYPE_TXT, "huge.test", DNS_STATUS_MALFORMED, {NULL}, false},
	{DNS_TYPE_TXT, "inc.test", DNS_STATUS_OK, {"v=spf1 include:pass.test -all"}, false},
	{DNS_TYPE_TXT, "incfail.test", DNS_STATUS_OK, {"v=spf1 include:fail.test ~all"}, false},
	{DNS_TYPE_TXT, "incnone.test", DNS_STATUS_OK, {"v=spf1 include:nowhere.test -all"}, false},
	{DNS_TYPE_TXT, "inctemp.test", DNS_STATUS_OK, {"v=spf1 include:temp.test -all"}, false},
	{DNS_TYPE_TXT, "redir.test", DNS_STATUS_OK, {"v=spf1 redirect=pass.test"}, false},
	{DNS_TYPE_TXT, "redirnone.test", DNS_STATUS_OK, {"v=spf1 redirect=nowhere.test"}, false},
	{DNS_TYPE_TXT, "redirall.test", DNS_STATUS_OK, {"v=spf1 ?all redirect=fail.test"}, false},
	{DNS_TYPE_TXT, "a.test", DNS_STATUS_OK, {"v=spf1 a a:host.a.test/24 -all"}, false},
	{DNS_TYPE_A, "a.test", DNS_STATUS_OK, {"198.51.100.1"}, false},
	{DNS_TYPE_A, "host.a.test", DNS_STATUS_OK, {"203.0.113.77"}, false},
	{DNS_TYPE_TXT, "mx.test", DNS_STATUS_OK, {"v=spf1 mx -all"}, false},
	{DNS_TYPE_MX, "mx.test", DNS_STATUS_OK, {"10 in1.mx.test", "20 in2.mx.test"}, false},
	{DNS_TYPE_A, "in1.mx.test", DNS_STATUS_OK, {"198.51.100.10"}, false},
	{DNS_TYPE_A, "in2.mx.test", DNS_STATUS_OK, {"198.51.100.20"}, false},
	{DNS_TYPE_AAAA, "in2.mx.test", DNS_STATUS_OK, {"2001:db8::20"}, false},
	{DNS_TYPE_TXT, "implicit.test", DNS_STATUS_OK, {"v=spf1 mx -all"}, false},
	{DNS_TYPE_MX, "implicit.test", DNS_STATUS_OK, {"0 implicit.test"}, true},
	{DNS_TYPE_A, "implicit.test", DNS_STATUS_OK, {"198.51.100.30"}, false},
	{DNS_TYPE_TXT, "manymx.test", DNS_STATUS_OK, {"v=spf1 mx -all"}, false},
	{DNS_TYPE_MX, "manymx.test", DNS_STATUS_OK,
	 {"1 m1.test", "2 m2.test", "3 m3.test", "4 m4.test", "5 m5.test", "6 m6.test",
	  "7 m7.test", "8 m8.test", "9 m9.test", "10 m10.test", "11 in1.mx.test"}, false},
	{DNS_TYPE_TXT, "tenmx.test", DNS_STATUS_OK, {"v=spf1 mx -all"}, false},
	{DNS_TYPE_MX, "tenmx.test", DNS_STATUS_OK,
	 {"1 m1.test", "2 m2.test", "3 m3.test", "4 m4.test", "5 m5.test", "6 m6.test",
	  "7 m7.test", "8 m8.test", "9 m9.test", "10 in1.mx.test"}, false},
	{DNS_TYPE_TXT, "exists.test", DNS_STATUS_OK, {"v=spf1 exists:%{ir}.%{l}._spf.%{d} -all"}, false},
	{DNS_TYPE_A, "2.2.0.192.alice._spf.exists.test", DNS_STATUS_OK, {"127.0.0.2"}, false},
	{DNS_TYPE_TXT, "ptr.test", DNS_STATUS_OK, {"v=spf1 ptr -all"}, false},
	{DNS_TYPE_PTR, "5.2.0.192.in-addr.arpa", DNS_STATUS_OK, {"liar.other.test", "h.ptr.test"}, false},
	{DNS_TYPE_A, "h.ptr.test", DNS_STATUS_OK, {"192.0.2.5"}, false},
	{DNS_TYPE_A, "liar.other.test", DNS_STATUS_OK, {"10.9.9.9"}, false},
	{DNS_TYPE_TXT, "pmacro.test", DNS_STATUS_OK, {"v=spf1 exists:%{p}.allow.pmacro.test -all"}, false},
	{DNS_TYPE_A, "h.ptr.test.allow.pmacro.test", DNS_STATUS_OK, {"127.0.0.2"}, false},
	{DNS_TYPE_TXT, "v6.test", DNS_STATUS_OK, {"v=spf1 ip6:2001:db8:1::/48 ip4:0.0.0.0/0 -all"}, false},
	{DNS_TYPE_TXT, "void2.test", DNS_STATUS_OK, {"v=spf1 a:n1.test a:n2.test +all"}, false},
	{DNS_TYPE_TXT, "void3.test", DNS_STATUS_OK,
	 {"v=spf1 a:n1.test a:n2.test a:n3.test +all"}, false},
	{DNS_TYPE_TXT, "helo.test", DNS_STATUS_OK, {"v=spf1 ip4:192.0.2.9 -all"}, false},
	{DNS_TYPE_TXT, "macrobad.test", DNS_STATUS_OK, {"v=spf1 a:%{x}.test -all"}, false},
};

static struct mock_dns mock = {zone, sizeof(zone) / sizeof(zone[0]), 0};

static enum spf_result check4(const char *ip, const char *sender, const char *helo,
			      struct spf_outcome *out)
{
	struct spf_request q = {.family = AF_INET, .sender = sender, .helo = helo,
				.lookup = mock_lookup, .ctx = &mock};
	if (strchr(ip, ':')) {
		q.family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, q.ip), 1);
	} else {
		assert_int_equal(inet_pton(AF_INET, ip, q.ip), 1);
	}
	spf_check(&q, out);
	return out->result;
}

static void test_results(void **state)
{
	(void)state;
	struct spf_outcome o;
	static const struct {
		const char *ip, *sender;
		enum spf_result want;
	} cases[] = {
		{"192.0.2.1", "a@pass.test", SPF_RESULT_PASS},
		{"192.0.3.1", "a@pass.test", SPF_RESULT_FAIL},
		{"192.0.2.1", "a@fail.test", SPF_RESULT_FAIL},
		{"192.0.2.1", "a@soft.test", SPF_RESULT_SOFTFAIL},
		{"192.0.2.1", "a@neutral.test", SPF_RESULT_NEUTRAL},
		{"192.0.2.1", "a@nomatch.test", SPF_RESULT_NEUTRAL}, /* 4.7 */
		{"192.0.2.1", "a@other.test", SPF_RESULT_NONE},      /* no v=spf1 */
		{"192.0.2.1", "a@nowhere.test", SPF_RESULT_NONE},    /* NXDOMAIN */
		{"192.0.2.1", "a@two.test", SPF_RESULT_PERMERROR},   /* 4.5 */
		{"192.0.2.1", "a@broken.test", SPF_RESULT_PERMERROR},
		{"192.0.2.1", "a@temp.test", SPF_RESULT_TEMPERROR},
		{"192.0.2.1", "a@huge.test", SPF_RESULT_PERMERROR},
		{"192.0.2.1", "a@inc.test", SPF_RESULT_PASS},
		{"192.0.3.1", "a@inc.test", SPF_RESULT_FAIL},
		{"192.0.2.1", "a@incfail.test", SPF_RESULT_SOFTFAIL}, /* include fail: no match */
		{"192.0.2.1", "a@incnone.test", SPF_RESULT_PERMERROR}, /* 5.2 */
		{"192.0.2.1", "a@inctemp.test", SPF_RESULT_TEMPERROR},
		{"192.0.2.1", "a@redir.test", SPF_RESULT_PASS},
		{"192.0.3.1", "a@redir.test", SPF_RESULT_FAIL},
		{"192.0.2.1", "a@redirnone.test", SPF_RESULT_PERMERROR}, /* 6.1 */
		{"192.0.2.1", "a@redirall.test", SPF_RESULT_NEUTRAL},    /* all wins */
		{"198.51.100.1", "a@a.test", SPF_RESULT_PASS},
		{"203.0.113.1", "a@a.test", SPF_RESULT_PASS}, /* a:host/24 */
		{"203.0.114.1", "a@a.test", SPF_RESULT_FAIL},
		{"198.51.100.20", "a@mx.test", SPF_RESULT_PASS},
		{"2001:db8::20", "a@mx.test", SPF_RESULT_PASS}, /* AAAA of the MX */
		{"198.51.100.99", "a@mx.test", SPF_RESULT_FAIL},
		{"198.51.100.30", "a@implicit.test", SPF_RESULT_FAIL}, /* 5.4: no implicit MX */
		{"198.51.100.10", "a@manymx.test", SPF_RESULT_PERMERROR}, /* 11 MX names */
		{"198.51.100.10", "a@tenmx.test", SPF_RESULT_PASS},       /* 10 is fine */
		{"192.0.2.2", "alice@exists.test", SPF_RESULT_PASS},
		{"192.0.2.3", "alice@exists.test", SPF_RESULT_FAIL},
		{"192.0.2.5", "a@ptr.test", SPF_RESULT_PASS},  /* validated h.ptr.test */
		{"192.0.2.6", "a@ptr.test", SPF_RESULT_FAIL},  /* no PTR */
		{"192.0.2.5", "a@pmacro.test", SPF_RESULT_PASS},
		{"2001:db8:1::5", "a@v6.test", SPF_RESULT_PASS},
		{"2001:db8:2::5", "a@v6.test", SPF_RESULT_FAIL}, /* ip4:0/0 is no IPv6 */
		{"192.0.2.1", "a@void2.test", SPF_RESULT_PASS},  /* 2 void lookups */
		{"192.0.2.1", "a@void3.test", SPF_RESULT_PERMERROR}, /* 3 */
		{"192.0.2.1", "a@macrobad.test", SPF_RESULT_PERMERROR},
		{"192.0.2.1", "no-domain", SPF_RESULT_NONE},
		{"192.0.2.1", "a@localhost", SPF_RESULT_NONE}, /* 4.3: single label */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum spf_result r = check4(cases[i].ip, cases[i].sender, "helo.test", &o);
		if (r != cases[i].want)
			fail_msg("%s from %s: %s, want %s (%s)", cases[i].sender, cases[i].ip,
				 spf_result_name(r), spf_result_name(cases[i].want), o.reason);
	}
	assert_int_equal(check4("192.0.2.1", "a@pass.test", "x", &o), SPF_RESULT_PASS);
	assert_string_equal(o.identity, "a@pass.test");
	assert_string_equal(o.domain, "pass.test");
}

/* 2.4: the null sender is checked as postmaster@HELO. */
static void test_null_sender(void **state)
{
	(void)state;
	struct spf_outcome o;
	assert_int_equal(check4("192.0.2.9", "", "helo.test", &o), SPF_RESULT_PASS);
	assert_string_equal(o.identity, "postmaster@helo.test");
	assert_string_equal(o.domain, "helo.test");
	assert_int_equal(check4("192.0.2.8", "", "HELO.test", &o), SPF_RESULT_FAIL);
	assert_int_equal(check4("192.0.2.8", "", "[192.0.2.8]", &o), SPF_RESULT_NONE);
	assert_int_equal(check4("192.0.2.8", "", "", &o), SPF_RESULT_NONE);
}

/* 4.6.4: ten DNS-querying terms pass, the eleventh is a permerror; includes count. */
static void test_dns_term_limit(void **state)
{
	(void)state;
	static struct mock_rr chain[LIMIT_SPF_DNS_TERMS + 3];
	static char names[LIMIT_SPF_DNS_TERMS + 3][32], recs[LIMIT_SPF_DNS_TERMS + 3][96];
	for (int terms = LIMIT_SPF_DNS_TERMS - 1; terms <= LIMIT_SPF_DNS_TERMS + 1; terms++) {
		/* c0 includes c1 ... includes c<terms-1>, which passes: `terms` includes */
		for (int i = 0; i <= terms; i++) {
			snprintf(names[i], sizeof(names[i]), "c%d.chain.test", i);
			if (i < terms)
				snprintf(recs[i], sizeof(recs[i]), "v=spf1 include:c%d.chain.test -all",
					 i + 1);
			else
				snprintf(recs[i], sizeof(recs[i]), "v=spf1 ip4:192.0.2.1 -all");
			chain[i] = (struct mock_rr){DNS_TYPE_TXT, names[i], DNS_STATUS_OK, {recs[i]}, false};
		}
		struct mock_dns m = {chain, (size_t)terms + 1, 0};
		struct spf_request q = {.family = AF_INET, .ip = {192, 0, 2, 1},
					.sender = "a@c0.chain.test", .helo = "h.test",
					.lookup = mock_lookup, .ctx = &m};
		struct spf_outcome o;
		spf_check(&q, &o);
		if (terms <= LIMIT_SPF_DNS_TERMS) {
			assert_int_equal(o.result, SPF_RESULT_PASS);
			assert_int_equal(o.dns_terms, (unsigned)terms);
		} else {
			assert_int_equal(o.result, SPF_RESULT_PERMERROR);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_spf),
		cmocka_unit_test(test_record_valid),
		cmocka_unit_test(test_record_invalid),
		cmocka_unit_test(test_record_term_limit),
		cmocka_unit_test(test_macro_rfc_examples),
		cmocka_unit_test(test_macro_bounds),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_dns_term_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
