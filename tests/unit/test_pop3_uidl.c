/* test_pop3_uidl.c: POP3 UIDLs stay unique in the maildrop (RFC 1939 7) although the
 * store lets copies share a guid (RFC 8474 EMAILID): pop3_uidl_unique, the one place
 * that rule lives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "pop3/pop3_int.h"

#define G1 "0123456789abcdef0123456789abcdef"
#define G2 "fedcba9876543210fedcba9876543210"

static void unique_guids_stay(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 16);
	struct pop3_msg m[] = {{1, false, false, 1, G1}, {2, false, false, 1, G2}};
	assert_int_equal(pop3_uidl_unique(m, 2, &a), 0);
	assert_string_equal(m[0].uidl, G1);
	assert_string_equal(m[1].uidl, G2);
	assert_int_equal(pop3_uidl_unique(m, 1, &a), 0);
	assert_int_equal(pop3_uidl_unique(NULL, 0, &a), 0);
	arena_free(&a);
}

/* Copies within INBOX: the first keeps the guid, each later one gets guid.UID; a copy
 * far from its original in UID order is found too. */
static void copies_get_a_suffix(void **state)
{
	struct arena a;
	arena_init(&a, 1u << 16);
	struct pop3_msg m[] = {
		{3, false, false, 1, G1}, {5, false, false, 1, G2}, {8, false, false, 1, G1},
		{9, false, false, 1, G1}, {12, false, false, 1, G2},
	};
	assert_int_equal(pop3_uidl_unique(m, 5, &a), 0);
	assert_string_equal(m[0].uidl, G1);
	assert_string_equal(m[1].uidl, G2);
	assert_string_equal(m[2].uidl, G1 ".8");
	assert_string_equal(m[3].uidl, G1 ".9");
	assert_string_equal(m[4].uidl, G2 ".12");
	for (size_t i = 0; i < 5; i++) {
		size_t l = strlen(m[i].uidl);
		assert_true(l >= 1 && l <= 70); /* RFC 1939 7: 1 to 70 characters 0x21..0x7E */
		for (size_t k = 0; k < l; k++)
			assert_true(m[i].uidl[k] >= 0x21 && m[i].uidl[k] <= 0x7e);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(m[i].uidl, m[j].uidl);
	}
	/* once the original is gone, the copy with the lowest UID has the guid */
	assert_int_equal(pop3_uidl_unique((struct pop3_msg[]){{8, false, false, 1, G1}}, 1, &a),
			 0);
	struct pop3_msg later[] = {{8, false, false, 1, G1}, {9, false, false, 1, G1}};
	assert_int_equal(pop3_uidl_unique(later, 2, &a), 0);
	assert_string_equal(later[0].uidl, G1);
	assert_string_equal(later[1].uidl, G1 ".9");
	arena_free(&a);
}

static void arena_full(void **state)
{
	struct arena a;
	arena_init(&a, 8);
	struct pop3_msg m[] = {{1, false, false, 1, G1}, {2, false, false, 1, G1}};
	assert_int_equal(pop3_uidl_unique(m, 2, &a), ERR_NOMEM);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unique_guids_stay),
		cmocka_unit_test(copies_get_a_suffix),
		cmocka_unit_test(arena_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
