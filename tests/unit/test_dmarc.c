/* test_dmarc.c: DMARC (RFC 7489): the record parser (6.3, 6.4), the organizational
 * domain of 3.2 over a small list (rules, wildcards, exceptions, the default "*") and
 * over Debian's list, and the evaluation (6.6) over a DNS table: alignment relaxed and
 * strict for SPF and DKIM, p and sp, the fallback to the organizational domain, pct,
 * no record, several records, a bad record, a failed lookup. Bounds: LIMIT_DMARC_TAGS
 * at -1, 0, +1; LIMIT_PSL_RULES at 0 and +1. */
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
#include "outbound/dmarc.h"
#include "outbound/psl.h"
#include "test_spf_dns.h"

static int parse(const char *s, struct dmarc_record *r)
{
	size_t len = strlen(s);
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int rc = dmarc_record_parse(p, len, r);
	free(p);
	return rc;
}

static void test_record(void **state)
{
	(void)state;
	struct dmarc_record r;
	assert_int_equal(parse("v=DMARC1; p=reject", &r), 0);
	assert_true(r.p_valid);
	assert_int_equal(r.p, DMARC_POLICY_REJECT);
	assert_int_equal(r.sp, DMARC_POLICY_REJECT); /* sp defaults to p */
	assert_int_equal(r.pct, 100);
	assert_false(r.adkim_strict);
	assert_false(r.aspf_strict);
	assert_int_equal(parse(" v = DMARC1 ;p=quarantine; sp=none; adkim=s; aspf=s; pct=20; "
			       "rua=mailto:d@example.com; ruf=mailto:f@example.com; fo=1;",
			       &r),
			 0);
	assert_int_equal(r.p, DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.sp, DMARC_POLICY_NONE);
	assert_true(r.adkim_strict);
	assert_true(r.aspf_strict);
	assert_int_equal(r.pct, 20);
	assert_true(r.has_rua);
	assert_int_equal(parse("v=dmarc1; p=NONE; x_future=1", &r), 0);
	assert_int_equal(r.p, DMARC_POLICY_NONE);
	assert_int_equal(parse("v=DMARC1; p=bogus", &r), 0);
	assert_false(r.p_valid);
	assert_int_equal(parse("v=DMARC1", &r), 0);
	assert_false(r.p_valid);
	assert_int_equal(parse("v=DMARC1; p=none; pct=101", &r), 0);
	assert_int_equal(r.pct, 100); /* a bad pct keeps the default */
	assert_int_equal(parse("v=DMARC1; p=none; sp=whatever", &r), 0);
	assert_false(r.sp_valid);
	const char *bad[] = {"p=reject; v=DMARC1", "v=DMARC2; p=reject", "v=DMARC1; p=none; p=reject",
			     "v=DMARC1; p", "v=DMARC1; 1p=none", "v=DMARC1; p=none\x01",
			     "v=DMARC1; p=r\xc3\xa9ject", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &r) == 0)
			fail_msg("accepted: %s", bad[i]);
	assert_true(dmarc_record_is_dmarc("v=DMARC1;p=none", 15));
	assert_false(dmarc_record_is_dmarc("v=spf1 -all", 11));
}

/* LIMIT_DMARC_TAGS tags at -1, 0 and +1. */
static void test_record_tag_limit(void **state)
{
	(void)state;
	struct dmarc_record r;
	for (int n = LIMIT_DMARC_TAGS - 1; n <= LIMIT_DMARC_TAGS + 1; n++) {
		char s[LIMIT_DMARC_TAGS * 16 + 32];
		size_t o = (size_t)snprintf(s, sizeof(s), "v=DMARC1; p=none");
		for (int i = 2; i < n; i++)
			o += (size_t)snprintf(s + o, sizeof(s) - o, "; x%d=1", i);
		assert_int_equal(parse(s, &r), n <= LIMIT_DMARC_TAGS ? 0 : ERR_BAD_SYNTAX);
	}
}

static struct psl *small_list(void)
{
	static const char list[] = "// comment\n"
				   "com\n"
				   "uk\n"
				   "co.uk\n"
				   "*.ck\n"
				   "!www.ck\n"
				   "  \n"
				   "JP  trailing words are ignored\n";
	struct psl *p = NULL;
	assert_int_equal(psl_parse(list, sizeof(list) - 1, &p), 0);
	return p;
}

static void test_org_domain(void **state)
{
	(void)state;
	struct psl *p = small_list();
	static const char *const cases[][2] = {
		{"example.com", "example.com"},
		{"a.b.example.com", "example.com"},
		{"com", "com"},                 /* a public suffix is its own */
		{"a.example.co.uk", "example.co.uk"},
		{"co.uk", "co.uk"},
		{"example.uk", "example.uk"},
		{"a.b.c.ck", "b.c.ck"},         /* *.ck: c.ck is a suffix */
		{"a.www.ck", "www.ck"},         /* !www.ck: ck is */
		{"www.ck", "www.ck"},
		{"sub.example.test", "example.test"}, /* the default rule "*" */
		{"example.test", "example.test"},
		{"test", "test"},
		{"x.y.jp", "y.jp"},
	};
	char out[LIMIT_DNS_NAME + 1];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		psl_org_domain(p, cases[i][0], out);
		if (strcmp(out, cases[i][1]) != 0)
			fail_msg("%s: %s, want %s", cases[i][0], out, cases[i][1]);
	}
	psl_org_domain(NULL, "a.b.example.com", out); /* no list: "*" alone */
	assert_string_equal(out, "example.com");
	psl_free(&p);
	assert_null(p);
	/* Debian's list (the publicsuffix package is a build dependency) */
	assert_int_equal(psl_load(PSL_PATH, &p), 0);
	psl_org_domain(p, "mail.example.co.uk", out);
	assert_string_equal(out, "example.co.uk");
	psl_org_domain(p, "a.b.example.github.io", out);
	assert_string_equal(out, "example.github.io");
	psl_free(&p);
	assert_int_equal(psl_load("/nonexistent/psl.dat", &p), ERR_NOTFOUND);
}

/* LIMIT_PSL_RULES at 0 and +1 over the limit. */
static void test_psl_limit(void **state)
{
	(void)state;
	size_t cap = (LIMIT_PSL_RULES + 1) * 12;
	char *list = malloc(cap);
	assert_non_null(list);
	for (int extra = 0; extra <= 1; extra++) {
		size_t o = 0;
		for (int i = 0; i < LIMIT_PSL_RULES + extra; i++)
			o += (size_t)snprintf(list + o, cap - o, "r%d.x\n", i);
		struct psl *p = NULL;
		assert_int_equal(psl_parse(list, o, &p), extra ? ERR_TOO_BIG : 0);
		psl_free(&p);
	}
	free(list);
}

static const struct mock_rr zone[] = {
	{DNS_TYPE_TXT, "_dmarc.example.com", DNS_STATUS_OK, {"v=DMARC1; p=reject"}, false},
	{DNS_TYPE_TXT, "_dmarc.strict.com", DNS_STATUS_OK,
	 {"v=DMARC1; p=reject; adkim=s; aspf=s"}, false},
	{DNS_TYPE_TXT, "_dmarc.sp.com", DNS_STATUS_OK, {"v=DMARC1; p=reject; sp=quarantine"}, false},
	{DNS_TYPE_TXT, "_dmarc.own.sp.com", DNS_STATUS_OK, {"v=DMARC1; p=none"}, false},
	{DNS_TYPE_TXT, "_dmarc.two.com", DNS_STATUS_OK, {"v=DMARC1; p=reject", "v=DMARC1; p=none"},
	 false},
	{DNS_TYPE_TXT, "_dmarc.other.com", DNS_STATUS_OK, {"some other text"}, false},
	{DNS_TYPE_TXT, "_dmarc.bad.com", DNS_STATUS_OK, {"v=DMARC1; p=reject; p=none"}, false},
	{DNS_TYPE_TXT, "_dmarc.nop.com", DNS_STATUS_OK, {"v=DMARC1; sp=reject"}, false},
	{DNS_TYPE_TXT, "_dmarc.noprua.com", DNS_STATUS_OK, {"v=DMARC1; rua=mailto:a@b.com"}, false},
	{DNS_TYPE_TXT, "_dmarc.temp.com", DNS_STATUS_TEMPFAIL, {NULL}, false},
	{DNS_TYPE_TXT, "_dmarc.pct.com", DNS_STATUS_OK, {"v=DMARC1; p=reject; pct=50"}, false},
};

static struct mock_dns mock = {zone, sizeof(zone) / sizeof(zone[0]), 0};

struct dcase {
	const char *from;
	enum spf_result spf;
	const char *spf_domain;
	enum dkim_result dkim;
	const char *d;
	unsigned sample;
	enum dmarc_result want;
	enum dmarc_policy policy; /* after pct, for a fail */
};

static void run(const struct dcase *c, struct dmarc_outcome *o)
{
	struct dkim_verify_result sig = {.result = c->dkim};
	if (c->d)
		snprintf(sig.domain, sizeof(sig.domain), "%s", c->d);
	struct dmarc_input in = {.from_domain = c->from, .spf = c->spf,
				 .spf_domain = c->spf_domain ? c->spf_domain : "",
				 .dkim = &sig, .n_dkim = c->d ? 1 : 0,
				 .psl = psl_default(), .lookup = mock_lookup, .ctx = &mock,
				 .sample = c->sample};
	dmarc_check(&in, o);
}

static void test_eval(void **state)
{
	(void)state;
	const enum spf_result P = SPF_RESULT_PASS, F = SPF_RESULT_FAIL;
	const enum dkim_result DP = DKIM_RESULT_PASS, DF = DKIM_RESULT_FAIL;
	const struct dcase cases[] = {
		/* relaxed SPF alignment: the MAIL FROM domain under the same org domain */
		{"example.com", P, "bounce.example.com", DF, NULL, 0, DMARC_RESULT_PASS, 0},
		{"example.com", P, "example.net", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_REJECT},
		{"example.com", F, "example.com", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_REJECT},
		/* DKIM alignment, d= in any case */
		{"example.com", F, "x.net", DP, "Mail.Example.COM", 0, DMARC_RESULT_PASS, 0},
		{"example.com", F, "x.net", DF, "example.com", 0, DMARC_RESULT_FAIL,
		 DMARC_POLICY_REJECT},
		{"example.com", F, "x.net", DP, "example.net", 0, DMARC_RESULT_FAIL,
		 DMARC_POLICY_REJECT},
		/* strict: only the same name */
		{"strict.com", P, "a.strict.com", DP, "a.strict.com", 0, DMARC_RESULT_FAIL,
		 DMARC_POLICY_REJECT},
		{"strict.com", P, "strict.com", DF, NULL, 0, DMARC_RESULT_PASS, 0},
		{"strict.com", F, "x.net", DP, "strict.com", 0, DMARC_RESULT_PASS, 0},
		/* 6.6.3: a sub-domain without a record uses the org domain's, with sp */
		{"a.sp.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_QUARANTINE},
		{"sp.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_REJECT},
		{"own.sp.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_NONE},
		{"a.b.example.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_REJECT},
		{"nowhere.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_NONE, 0},
		{"two.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_NONE, 0},
		{"other.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_NONE, 0},
		{"bad.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_PERMERROR, 0},
		{"nop.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_PERMERROR, 0},
		{"noprua.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_FAIL, DMARC_POLICY_NONE},
		{"temp.com", F, "x.net", DF, NULL, 0, DMARC_RESULT_TEMPERROR, 0},
		/* 6.6.4: pct=50, samples 49 and 50 */
		{"pct.com", F, "x.net", DF, NULL, 49, DMARC_RESULT_FAIL, DMARC_POLICY_REJECT},
		{"pct.com", F, "x.net", DF, NULL, 50, DMARC_RESULT_FAIL, DMARC_POLICY_QUARANTINE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dmarc_outcome o;
		run(&cases[i], &o);
		if (o.result != cases[i].want ||
		    (o.result == DMARC_RESULT_FAIL && o.policy != cases[i].policy))
			fail_msg("case %zu (%s): %s policy %s, want %s %s (%s)", i, cases[i].from,
				 dmarc_result_name(o.result), dmarc_policy_name(o.policy),
				 dmarc_result_name(cases[i].want), dmarc_policy_name(cases[i].policy),
				 o.reason);
	}
	struct dmarc_outcome o;
	run(&cases[9], &o);
	assert_string_equal(o.domain, "a.sp.com");
	assert_string_equal(o.policy_domain, "sp.com");
	assert_int_equal(o.p, DMARC_POLICY_QUARANTINE);
	assert_true(o.has_policy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_record_tag_limit),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_psl_limit),
		cmocka_unit_test(test_eval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
