/* test_imap_uidmap.c: sequence numbers kept as runs of UIDs (imap_uidmap), checked
 * against a plain sorted array under thousands of random appends and expunges
 * (RFC 9051 2.3.1.2: sequence numbers are the ranks of the UIDs present). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "imap/imap_uidmap.h"

static void basics(void **state)
{
	struct imap_uidmap m;
	imap_uidmap_init(&m);
	assert_int_equal(imap_uidmap_uid(&m, 1), 0);
	assert_int_equal(imap_uidmap_seq(&m, 1), 0);
	for (uint32_t u = 1; u <= 100000; u++)
		assert_int_equal(imap_uidmap_append(&m, u), 0);
	assert_int_equal(m.nruns, 1); /* delivered in order: one run for 100,000 */
	assert_int_equal(m.total, 100000);
	assert_int_equal(imap_uidmap_uid(&m, 100000), 100000);
	assert_int_equal(imap_uidmap_append(&m, 100000), ERR_INVAL); /* never below the last */
	assert_int_equal(imap_uidmap_remove(&m, 50000), 50000);
	assert_int_equal(m.nruns, 2);
	assert_int_equal(imap_uidmap_seq(&m, 50001), 50000);
	assert_int_equal(imap_uidmap_seq(&m, 50000), 0);
	assert_int_equal(imap_uidmap_rank(&m, 50000), 49999);
	assert_int_equal(imap_uidmap_remove(&m, 50000), 0); /* gone already */
	assert_int_equal(imap_uidmap_remove(&m, 1), 1);
	assert_int_equal(imap_uidmap_uid(&m, 1), 2);
	assert_int_equal(imap_uidmap_remove(&m, 100000), 99998); /* 2 of 100,000 gone */
	assert_int_equal(imap_uidmap_last(&m), 99999);
	assert_int_equal(imap_uidmap_append(&m, 200000), 0);
	assert_int_equal(imap_uidmap_seq(&m, 200000), m.total);
	assert_int_equal(imap_uidmap_rank(&m, 150000), m.total - 1);
	imap_uidmap_free(&m);
}

static void random_model(void **state)
{
	struct imap_uidmap m;
	imap_uidmap_init(&m);
	uint32_t *ref = malloc(20000 * sizeof(*ref));
	size_t n = 0;
	uint32_t next = 1;
	srand(12345);
	for (int step = 0; step < 20000; step++) {
		if (n == 0 || rand() % 3) {
			next += 1 + (rand() % 4 == 0 ? (uint32_t)(rand() % 5) : 0);
			assert_int_equal(imap_uidmap_append(&m, next), 0);
			ref[n++] = next;
		} else {
			size_t k = (size_t)rand() % n;
			assert_int_equal(imap_uidmap_remove(&m, ref[k]), (int64_t)k + 1);
			memmove(ref + k, ref + k + 1, (n - k - 1) * sizeof(*ref));
			n--;
		}
		if (step % 97 == 0) {
			assert_int_equal(m.total, n);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(imap_uidmap_uid(&m, (uint32_t)i + 1), ref[i]);
				assert_int_equal(imap_uidmap_seq(&m, ref[i]), i + 1);
				assert_int_equal(imap_uidmap_rank(&m, ref[i]), i + 1);
			}
			assert_int_equal(imap_uidmap_uid(&m, (uint32_t)n + 1), 0);
		}
	}
	imap_uidmap_free(&m);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basics),
		cmocka_unit_test(random_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
