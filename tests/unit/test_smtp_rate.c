/* test_smtp_rate.c: submission's per-account message rate (src/smtp/smtp_rate.c):
 *   - the limit within one minute, and exactly at -1/0/+1 of it;
 *   - a sliding hour: a minute's messages count until 60 minutes later, not longer;
 *   - accounts are counted apart; limit 0 and account 0 are never limited;
 *   - many more accounts than the table holds: every call still answers, and an
 *     account at its limit that keeps sending keeps being refused;
 *   - a clock that steps back does not free the account. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"
#include "smtp/smtp_int.h"

#define MIN 60

static void limit_within_a_minute(void **state)
{
	(void)state;
	const int64_t t = 1000 * MIN;
	for (unsigned limit = 1; limit <= 3; limit++) {
		int64_t acc = 100 + limit;
		for (unsigned i = 0; i < limit; i++)
			assert_int_equal(smtp_rate_take(acc, t + i, limit), 0);
		assert_int_equal(smtp_rate_take(acc, t + 30, limit), ERR_FULL);
		assert_int_equal(smtp_rate_take(acc, t + 59, limit), ERR_FULL);
		/* a refusal is not counted: a higher limit lets exactly one more through */
		assert_int_equal(smtp_rate_take(acc, t + 59, limit + 1), 0);
		assert_int_equal(smtp_rate_take(acc, t + 59, limit + 1), ERR_FULL);
	}
}

static void sliding_hour(void **state)
{
	(void)state;
	const int64_t acc = 7, t0 = 5000 * MIN;
	/* one message in minutes 0, 10 and 20 of the hour: full at 30 */
	assert_int_equal(smtp_rate_take(acc, t0, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 10 * MIN, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 20 * MIN + 59, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 30 * MIN, 3), ERR_FULL);
	assert_int_equal(smtp_rate_take(acc, t0 + 59 * MIN + 59, 3), ERR_FULL);
	/* minute 60: minute 0 has left the hour */
	assert_int_equal(smtp_rate_take(acc, t0 + 60 * MIN, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 61 * MIN, 3), ERR_FULL);
	/* minute 70: minute 10 has left */
	assert_int_equal(smtp_rate_take(acc, t0 + 70 * MIN, 3), 0);
	/* idle for more than an hour: all forgotten */
	assert_int_equal(smtp_rate_take(acc, t0 + 200 * MIN, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 200 * MIN, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 200 * MIN, 3), 0);
	assert_int_equal(smtp_rate_take(acc, t0 + 200 * MIN, 3), ERR_FULL);
	/* the clock steps back: still full */
	assert_int_equal(smtp_rate_take(acc, t0 + 150 * MIN, 3), ERR_FULL);
}

static void accounts_apart_and_off(void **state)
{
	(void)state;
	const int64_t t = 9000 * MIN;
	assert_int_equal(smtp_rate_take(11, t, 1), 0);
	assert_int_equal(smtp_rate_take(11, t, 1), ERR_FULL);
	assert_int_equal(smtp_rate_take(12, t, 1), 0);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(smtp_rate_take(11, t, 0), 0); /* limit 0: off */
		assert_int_equal(smtp_rate_take(0, t, 1), 0);  /* no account: nothing to count */
	}
}

static void more_accounts_than_slots(void **state)
{
	(void)state;
	const int64_t t = 20000 * MIN, flood = 424242;
	assert_int_equal(smtp_rate_take(flood, t, 2), 0);
	assert_int_equal(smtp_rate_take(flood, t, 2), 0);
	for (int64_t a = 1; a <= 3 * LIMIT_SUBMIT_RATE_ACCOUNTS; a++) {
		assert_int_equal(smtp_rate_take(1000000 + a, t, 2), 0);
		/* the flooding account keeps sending: it stays the newest in its slots */
		if (a % 64 == 0)
			assert_int_equal(smtp_rate_take(flood, t, 2), ERR_FULL);
	}
	assert_int_equal(smtp_rate_take(flood, t, 2), ERR_FULL);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_within_a_minute),
		cmocka_unit_test(sliding_hour),
		cmocka_unit_test(accounts_apart_and_off),
		cmocka_unit_test(more_accounts_than_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
