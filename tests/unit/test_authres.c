/* test_authres.c: the Authentication-Results field (RFC 8601 2.2) we write, byte for
 * byte: one result per line, folds under 78 columns, quoted values, dkim=none for an
 * unsigned message, one dkim= per signature, header.b cut to 8 characters (RFC 6008);
 * and the authserv-id parser that decides which fields found in a message are ours
 * (RFC 8601 5): CFWS, comments nested to LIMIT_AUTHRES_COMMENT_DEPTH (-1, 0, +1),
 * quoted strings, case, a final dot. Inputs sit in exact-size heap copies and every
 * prefix of each is parsed too (none may read past its end). */
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
#include "outbound/authres.h"

static void format(const struct authres_results *r, char *out, size_t cap)
{
	size_t len = 0;
	assert_int_equal(authres_format(r, out, cap - 1, &len), 0);
	out[len] = '\0';
	/* every line under 78 columns (a tab is 8) unless one piece is longer */
	const char *line = out;
	while (*line) {
		const char *end = strstr(line, "\r\n");
		assert_non_null(end);
		size_t cols = (size_t)(end - line) + (line[0] == '\t' ? 7 : 0);
		if (cols > 78 && !strchr(line + 1, ' '))
			cols = 0; /* a single unbreakable piece */
		assert_true(cols <= 78);
		line = end + 2;
	}
}

static void test_format_pass(void **state)
{
	(void)state;
	struct authres_results r = {.authserv_id = "mx.example.org", .spf_on = true,
				    .dkim_on = true, .dmarc_on = true, .n_dkim = 1, .n_dmarc = 1};
	r.spf.result = SPF_RESULT_PASS;
	strcpy(r.spf.identity, "alice@example.test");
	r.dkim[0] = (struct dkim_verify_result){.result = DKIM_RESULT_PASS};
	strcpy(r.dkim[0].domain, "example.test");
	strcpy(r.dkim[0].selector, "sel1");
	strcpy(r.dkim[0].header_b, "AbCdEf12gh34");
	r.dmarc[0] = (struct dmarc_outcome){.result = DMARC_RESULT_PASS, .has_policy = true,
					    .p = DMARC_POLICY_REJECT};
	strcpy(r.dmarc[0].domain, "example.test");
	char out[LIMIT_AUTHRES_HEADER];
	format(&r, out, sizeof(out));
	assert_string_equal(out, "Authentication-Results: mx.example.org;\r\n"
				 "\tspf=pass smtp.mailfrom=alice@example.test;\r\n"
				 "\tdkim=pass header.d=example.test header.s=sel1 header.b=AbCdEf12;\r\n"
				 "\tdmarc=pass (p=reject) header.from=example.test\r\n");
}

static void test_format_fail(void **state)
{
	(void)state;
	struct authres_results r = {.authserv_id = "mx.example.org", .spf_on = true,
				    .dkim_on = true, .dmarc_on = true, .n_dkim = 2, .n_dmarc = 0,
				    .dmarc_problem = "no From: domain"};
	r.spf.result = SPF_RESULT_SOFTFAIL;
	strcpy(r.spf.identity, "\"odd local\"@example.test");
	r.dkim[0] = (struct dkim_verify_result){.result = DKIM_RESULT_FAIL};
	strcpy(r.dkim[0].domain, "a-very-long-signing-domain-name.subdomain.example.test");
	strcpy(r.dkim[0].selector, "selector-2026");
	strcpy(r.dkim[0].header_b, "ab/+cd=e");
	strcpy(r.dkim[0].reason, "body hash mismatch");
	r.dkim[1] = (struct dkim_verify_result){.result = DKIM_RESULT_NEUTRAL};
	char out[LIMIT_AUTHRES_HEADER];
	format(&r, out, sizeof(out));
	assert_string_equal(out,
			    "Authentication-Results: mx.example.org;\r\n"
			    "\tspf=softfail smtp.mailfrom=\"\\\"odd local\\\"@example.test\";\r\n"
			    "\tdkim=fail reason=\"body hash mismatch\"\r\n"
			    "\theader.d=a-very-long-signing-domain-name.subdomain.example.test\r\n"
			    "\theader.s=selector-2026 header.b=\"ab/+cd=e\";\r\n"
			    "\tdkim=neutral;\r\n"
			    "\tdmarc=none reason=\"no From: domain\"\r\n");
}

static void test_format_unsigned_and_off(void **state)
{
	(void)state;
	struct authres_results r = {.authserv_id = "mx.example.org", .spf_on = true,
				    .dkim_on = true};
	r.spf.result = SPF_RESULT_NONE;
	strcpy(r.spf.identity, "postmaster@helo.example");
	char out[LIMIT_AUTHRES_HEADER];
	format(&r, out, sizeof(out));
	assert_string_equal(out, "Authentication-Results: mx.example.org;\r\n"
				 "\tspf=none smtp.mailfrom=postmaster@helo.example;\r\n"
				 "\tdkim=none\r\n");
	struct authres_results none = {.authserv_id = "mx.example.org"};
	format(&none, out, sizeof(out));
	assert_string_equal(out, "Authentication-Results: mx.example.org; none\r\n");
	size_t len;
	assert_int_equal(authres_format(&r, out, 40, &len), ERR_FULL);
}

static int parse_id(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s);
	/* every prefix first: none may read past its end */
	for (size_t k = 0; k < len; k++) {
		uint8_t *q = malloc(k ? k : 1);
		assert_non_null(q);
		memcpy(q, s, k);
		char tmp[300];
		(void)authres_parse_id(q, k, tmp, sizeof(tmp));
		free(q);
	}
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int r = authres_parse_id(p, len, out, cap);
	free(p);
	return r;
}

static void test_parse_id(void **state)
{
	(void)state;
	char out[LIMIT_DNS_NAME + 2];
	static const char *const ok[][2] = {
		{" mx.example.org; spf=pass", "mx.example.org"},
		{"MX.Example.ORG.; none", "mx.example.org"},
		{"\r\n\t(comment (nested)) mx.example.org 1; spf=pass", "mx.example.org"},
		{" \"mx.example.org\"; none", "mx.example.org"},
		{" \"mx.exa\\\"mple\"; none", "mx.exa\"mple"},
		{"(a \\) b) mx.example.org", "mx.example.org"},
		{"mx.example.org", "mx.example.org"},
		{"mx.example.org...; none", "mx.example.org"}, /* fuzz: final dots */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse_id(ok[i][0], out, sizeof(out)) != 0)
			fail_msg("refused: %s", ok[i][0]);
		assert_string_equal(out, ok[i][1]);
	}
	const char *bad[] = {"", "   ", "(unclosed mx.example.org", "; spf=pass",
			     "\"unclosed", "(x) ", "\"\"; none", "...; none",
			     "\"mx\x01.example.org\"; none" /* fuzz: a control in qtext */};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_id(bad[i], out, sizeof(out)) == 0)
			fail_msg("accepted: %s", bad[i]);
	/* an id longer than the buffer */
	assert_int_equal(parse_id("abcdef", out, 6), ERR_TOO_LONG);
	assert_int_equal(parse_id("abcde", out, 6), 0);
}

/* Comments nested LIMIT_AUTHRES_COMMENT_DEPTH - 1, at and + 1 deep. */
static void test_parse_id_depth(void **state)
{
	(void)state;
	char out[64], in[64];
	for (int d = LIMIT_AUTHRES_COMMENT_DEPTH - 1; d <= LIMIT_AUTHRES_COMMENT_DEPTH + 1; d++) {
		size_t o = 0;
		for (int i = 0; i < d; i++)
			in[o++] = '(';
		for (int i = 0; i < d; i++)
			in[o++] = ')';
		memcpy(in + o, " mx.example.org", 16);
		int r = parse_id(in, out, sizeof(out));
		assert_int_equal(r, d <= LIMIT_AUTHRES_COMMENT_DEPTH ? 0 : ERR_BAD_SYNTAX);
	}
}

static void test_is_ours(void **state)
{
	(void)state;
	const char *v = " Mx.Example.Org; spf=pass smtp.mailfrom=a@b";
	assert_true(authres_is_ours((const uint8_t *)v, strlen(v), "mx.example.org"));
	assert_true(authres_is_ours((const uint8_t *)v, strlen(v), "mx.example.org."));
	assert_false(authres_is_ours((const uint8_t *)v, strlen(v), "example.org"));
	const char *foreign = " mx.example.org.evil.test; spf=pass";
	assert_false(authres_is_ours((const uint8_t *)foreign, strlen(foreign), "mx.example.org"));
	const char *broken = " (unclosed mx.example.org; spf=pass";
	assert_false(authres_is_ours((const uint8_t *)broken, strlen(broken), "mx.example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_pass),
		cmocka_unit_test(test_format_fail),
		cmocka_unit_test(test_format_unsigned_and_off),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_parse_id_depth),
		cmocka_unit_test(test_is_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
