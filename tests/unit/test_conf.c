/* test_conf.c: durations (conf_duration, conf_duration_list) at their limits, and the
 * [outbound] keys through conf_load: defaults, values, and the values it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"

static void test_duration_units(void **state)
{
	(void)state;
	unsigned v = 99;
	assert_int_equal(conf_duration("30s", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(conf_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(conf_duration("4h", &v), 0);
	assert_int_equal(v, 14400);
	assert_int_equal(conf_duration("5d", &v), 0);
	assert_int_equal(v, 432000);
	assert_int_equal(conf_duration("17", &v), 0);
	assert_int_equal(v, 17);
	assert_int_equal(conf_duration("0", &v), 0);
	assert_int_equal(v, 0);
}

static void test_duration_bad(void **state)
{
	(void)state;
	unsigned v = 7;
	const char *bad[] = {
	    "", "s", "m", "5x", "5 m", " 5m", "5mm", "-1", "1.5h", "5M", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(conf_duration(bad[i], &v), ERR_BAD_SYNTAX);
		assert_int_equal(v, 7);
	}
}

/* LIMIT_CONF_DURATION in each unit: the limit itself passes, one more unit does not. */
static void test_duration_limit(void **state)
{
	(void)state;
	char s[32];
	unsigned v;
	snprintf(s, sizeof(s), "%u", LIMIT_CONF_DURATION);
	assert_int_equal(conf_duration(s, &v), 0);
	assert_int_equal(v, LIMIT_CONF_DURATION);
	snprintf(s, sizeof(s), "%us", LIMIT_CONF_DURATION + 1);
	assert_int_equal(conf_duration(s, &v), ERR_BAD_SYNTAX);
	snprintf(s, sizeof(s), "%ud", LIMIT_CONF_DURATION / 86400);
	assert_int_equal(conf_duration(s, &v), 0);
	assert_int_equal(v, LIMIT_CONF_DURATION);
	snprintf(s, sizeof(s), "%ud", LIMIT_CONF_DURATION / 86400 + 1);
	assert_int_equal(conf_duration(s, &v), ERR_BAD_SYNTAX);
	snprintf(s, sizeof(s), "%um", LIMIT_CONF_DURATION / 60 + 1);
	assert_int_equal(conf_duration(s, &v), ERR_BAD_SYNTAX);
}

static void test_duration_list(void **state)
{
	(void)state;
	unsigned v[LIMIT_OUTBOUND_RETRY_STEPS + 1];
	assert_int_equal(conf_duration_list("5m,10m, 1h ,2", v, LIMIT_OUTBOUND_RETRY_STEPS), 4);
	assert_int_equal(v[0], 300);
	assert_int_equal(v[1], 600);
	assert_int_equal(v[2], 3600);
	assert_int_equal(v[3], 2);
	assert_int_equal(conf_duration_list("1s", v, 1), 1);
	const char *bad[] = {"", ",", "5m,", ",5m", "5m,,5m", "0", "5m,0s", "5m;10m", " "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(conf_duration_list(bad[i], v, LIMIT_OUTBOUND_RETRY_STEPS),
		                 ERR_BAD_SYNTAX);
	/* max items at -1, 0, +1 */
	char s[LIMIT_OUTBOUND_RETRY_STEPS * 3 + 8] = "";
	for (unsigned i = 0; i < LIMIT_OUTBOUND_RETRY_STEPS + 1; i++) {
		size_t n = strlen(s);
		snprintf(s + n, sizeof(s) - n, "%s1s", i ? "," : "");
		int want = i + 1 <= LIMIT_OUTBOUND_RETRY_STEPS ? (int)i + 1 : ERR_BAD_SYNTAX;
		assert_int_equal(conf_duration_list(s, v, LIMIT_OUTBOUND_RETRY_STEPS), want);
	}
}

/* Config strings live as long as the process (conf.c); each load gets a slot here so
 * that they stay reachable instead of showing up as leaks. */
static struct conf loaded[32];
static size_t n_loaded;

static int load_text(const char *text, struct conf **out)
{
	assert_true(n_loaded < sizeof(loaded) / sizeof(loaded[0]));
	struct conf *c = *out = &loaded[n_loaded++];
	char path[] = "test_conf_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	conf_defaults(c);
	int r = conf_load(c, path);
	unlink(path);
	return r;
}

static void test_outbound_defaults(void **state)
{
	(void)state;
	struct conf *cp;
	assert_int_equal(load_text("[server]\nhostname = mx.example\n", &cp), 0);
	const struct conf c = *cp;
	assert_null(c.outbound_relay);
	assert_true(c.outbound_relay_tls);
	assert_int_equal(c.outbound_remote_port, 25);
	assert_string_equal(c.outbound_retry_schedule, "5m,10m,20m,40m,1h,2h,4h");
	assert_int_equal(c.outbound_retry_n, 7);
	assert_int_equal(c.outbound_retry[0], 300);
	assert_int_equal(c.outbound_retry[6], 14400);
	assert_int_equal(c.outbound_give_up, 5 * 86400);
	assert_int_equal(c.outbound_delay_notice, 4 * 3600);
	assert_int_equal(c.outbound_max_connections, 32);
	assert_int_equal(c.outbound_destination_connections, 4);
	assert_int_equal(c.outbound_destination_rate, 0);
	assert_int_equal(c.outbound_mta_sts_port, 443);
	assert_null(c.outbound_helo_name);
}

static void test_outbound_values(void **state)
{
	(void)state;
	struct conf *cp;
	assert_int_equal(load_text("[outbound]\nrelay = smart.example:587\n"
	                           "relay_user = u\nrelay_password_file = /p\nrelay_tls = no\n"
	                           "remote_port = 2525\nretry_schedule = 1s,2s\ngive_up = 30s\n"
	                           "delay_notice = 0\nconnect_timeout = 5s\n"
	                           "destination_rate = 60\nhelo_name = out.example\n",
	                           &cp),
	                 0);
	const struct conf c = *cp;
	assert_string_equal(c.outbound_relay, "smart.example:587");
	assert_false(c.outbound_relay_tls);
	assert_int_equal(c.outbound_remote_port, 2525);
	assert_int_equal(c.outbound_retry_n, 2);
	assert_int_equal(c.outbound_retry[1], 2);
	assert_int_equal(c.outbound_give_up, 30);
	assert_int_equal(c.outbound_delay_notice, 0);
	assert_int_equal(c.outbound_connect_timeout, 5);
	assert_int_equal(c.outbound_destination_rate, 60);
	assert_string_equal(c.outbound_helo_name, "out.example");
}

static void test_outbound_refused(void **state)
{
	(void)state;
	struct conf *c;
	const char *bad[] = {
	    "[outbound]\nretry_schedule = \n",    "[outbound]\nretry_schedule = 5m,,1h\n",
	    "[outbound]\ngive_up = 0\n",          "[outbound]\ngive_up = 5w\n",
	    "[outbound]\nrelay = nohost\n",       "[outbound]\nrelay = h:0\n",
	    "[outbound]\nrelay_user = u\n",       "[outbound]\nremote_port = 0\n",
	    "[outbound]\nremote_port = 65536\n",  "[outbound]\nmax_connections = 0\n",
	    "[outbound]\ncommand_timeout = 0s\n", "[outbound]\nno_such_key = 1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(load_text(bad[i], &c), ERR_BAD_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_units),    cmocka_unit_test(test_duration_bad),
	    cmocka_unit_test(test_duration_limit),    cmocka_unit_test(test_duration_list),
	    cmocka_unit_test(test_outbound_defaults), cmocka_unit_test(test_outbound_values),
	    cmocka_unit_test(test_outbound_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
