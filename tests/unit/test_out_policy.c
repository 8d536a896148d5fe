/* test_out_policy.c: the outbound engine's pure decisions (out.h): the retry time from
 * [outbound] retry_schedule and give_up, the loop check against our own listeners
 * (RFC 5321 5.1), and the relay's HOST:PORT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/out.h"

static void test_retry_schedule(void **state)
{
	(void)state;
	const unsigned r[] = {300, 600, 1200};
	/* attempts before this one pick the wait; the last repeats */
	assert_int_equal(out_retry_at(r, 3, 0, 1000, 1000, 86400), 1300);
	assert_int_equal(out_retry_at(r, 3, 1, 1000, 1000, 86400), 1600);
	assert_int_equal(out_retry_at(r, 3, 2, 1000, 1000, 86400), 2200);
	assert_int_equal(out_retry_at(r, 3, 3, 1000, 1000, 86400), 2200);
	assert_int_equal(out_retry_at(r, 3, 1000, 1000, 1000, 86400), 2200);
}

/* The last try is at give_up, not a whole wait after it; never in the past. */
static void test_retry_give_up(void **state)
{
	(void)state;
	const unsigned r[] = {3600};
	assert_int_equal(out_retry_at(r, 1, 0, 1000, 0, 2000), 2000);
	assert_int_equal(out_retry_at(r, 1, 0, 1000, 0, 4600), 4600); /* exactly at it */
	assert_int_equal(out_retry_at(r, 1, 0, 1000, 0, 4601), 4600); /* one before it */
	assert_int_equal(out_retry_at(r, 1, 0, 1000, 0, 500), 1000);  /* already past */
}

static struct out_own_addr own4(const char *ip, unsigned port)
{
	struct out_own_addr o;
	memset(&o, 0, sizeof(o));
	struct sockaddr_in *s = (struct sockaddr_in *)&o.sa;
	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	o.len = sizeof(*s);
	return o;
}

static struct out_own_addr own6(const char *ip, unsigned port)
{
	struct out_own_addr o;
	memset(&o, 0, sizeof(o));
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&o.sa;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	o.len = sizeof(*s);
	return o;
}

static bool is_own(const struct out_own_addr *own, size_t n, struct out_own_addr probe,
                   const struct sockaddr_storage *local, size_t n_local)
{
	return out_addr_is_own(own, n, (const struct sockaddr *)&probe.sa, local, n_local);
}

static void test_loop_exact(void **state)
{
	(void)state;
	struct out_own_addr own[] = {own4("127.0.0.1", 2525), own6("::1", 2526)};
	assert_true(is_own(own, 2, own4("127.0.0.1", 2525), NULL, 0));
	assert_true(is_own(own, 2, own6("::1", 2526), NULL, 0));
	/* a loopback MX elsewhere is someone else (tests run MXs on 127.0.0.x) */
	assert_false(is_own(own, 2, own4("127.0.0.2", 2525), NULL, 0));
	assert_false(is_own(own, 2, own4("127.0.0.1", 2526), NULL, 0));
	assert_false(is_own(own, 2, own6("::1", 2525), NULL, 0));
	assert_false(is_own(own, 2, own6("::2", 2526), NULL, 0));
	assert_false(is_own(own, 0, own4("127.0.0.1", 2525), NULL, 0));
}

static void test_loop_wildcard(void **state)
{
	(void)state;
	struct out_own_addr own[] = {own4("0.0.0.0", 25), own6("::", 587)};
	struct sockaddr_storage local[2];
	struct out_own_addr l0 = own4("192.0.2.7", 0), l1 = own6("2001:db8::7", 0);
	local[0] = l0.sa;
	local[1] = l1.sa;
	assert_true(is_own(own, 2, own4("127.0.0.5", 25), local, 2));
	assert_true(is_own(own, 2, own4("192.0.2.7", 25), local, 2));
	assert_false(is_own(own, 2, own4("192.0.2.8", 25), local, 2));
	assert_false(is_own(own, 2, own4("192.0.2.7", 26), local, 2));
	assert_true(is_own(own, 2, own6("2001:db8::7", 587), local, 2));
	assert_true(is_own(own, 2, own6("::1", 587), local, 2));
	assert_false(is_own(own, 2, own6("2001:db8::8", 587), local, 2));
	/* an IPv4 wildcard does not cover the IPv6 address of the same machine here */
	assert_false(is_own(own, 2, own6("2001:db8::7", 25), NULL, 0));
}

static void test_hostport(void **state)
{
	(void)state;
	char host[LIMIT_DNS_NAME + 1];
	unsigned port = 0;
	assert_int_equal(out_parse_hostport("smtp.example:587", host, &port), 0);
	assert_string_equal(host, "smtp.example");
	assert_int_equal(port, 587);
	assert_int_equal(out_parse_hostport("127.0.0.1:25", host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(out_parse_hostport("[::1]:2525", host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 2525);
	assert_int_equal(out_parse_hostport("h:65535", host, &port), 0);
	const char *bad[] = {"h", ":25", "h:", "h:0", "h:65536", "::1:25", "[]:25", "h:2x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(out_parse_hostport(bad[i], host, &port), ERR_BAD_SYNTAX);
	/* the name at LIMIT_DNS_NAME and one past it */
	char s[LIMIT_DNS_NAME + 8];
	memset(s, 'a', LIMIT_DNS_NAME);
	snprintf(s + LIMIT_DNS_NAME, 8, ":25");
	assert_int_equal(out_parse_hostport(s, host, &port), 0);
	assert_int_equal(strlen(host), LIMIT_DNS_NAME);
	memset(s, 'a', LIMIT_DNS_NAME + 1);
	snprintf(s + LIMIT_DNS_NAME + 1, 7, ":25");
	assert_int_equal(out_parse_hostport(s, host, &port), ERR_BAD_SYNTAX);
}

/* RFC 5321 4.4: the Return-Path our spool file starts with is not relayed */
static void test_return_path_len(void **state)
{
	(void)state;
#define RP(s) out_return_path_len((const uint8_t *)(s), sizeof(s) - 1)
	assert_int_equal(RP("Return-Path: <a@b.example>\r\nReceived: x\r\n"), 28);
	assert_int_equal(RP("return-path: <>\r\nSubject: x\r\n"), 17);
	/* folded: the continuation line belongs to the field */
	assert_int_equal(RP("Return-Path:\r\n <a@b.example>\r\nX: y\r\n"), 30);
	/* not first, another field, or no end in sight: nothing skipped */
	assert_int_equal(RP("Received: x\r\nReturn-Path: <a@b>\r\n"), 0);
	assert_int_equal(RP("Return-Pathx: <a@b>\r\nX: y\r\n"), 0);
	assert_int_equal(RP("Return-Path: <a@b.example>"), 0);
	assert_int_equal(RP("Return-Path: <a@b.example>\r\n"), 0);
	assert_int_equal(RP(""), 0);
#undef RP
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_schedule), cmocka_unit_test(test_retry_give_up),
	    cmocka_unit_test(test_loop_exact),     cmocka_unit_test(test_loop_wildcard),
	    cmocka_unit_test(test_hostport),       cmocka_unit_test(test_return_path_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
