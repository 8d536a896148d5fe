/* test_jmap_http.c: the pieces of the JMAP HTTP glue that need no connection: the
 * per-account bound on concurrent requests and uploads (maxConcurrentRequests,
 * maxConcurrentUpload, RFC 8620 2), account ids in URLs, the session object and its
 * state. Requests over a real server: tests/proto/test_jmap_core.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/conf.h"
#include "core/limits.h"
#include "http/jmap_int.h"

static void test_slots(void **state)
{
	(void)state;
	for (unsigned i = 0; i < LIMIT_JMAP_CONCURRENT; i++)
		assert_true(jmap_slot_take(7, JMAP_SLOT_API));
	assert_false(jmap_slot_take(7, JMAP_SLOT_API));
	/* another account, and uploads, count apart */
	assert_true(jmap_slot_take(8, JMAP_SLOT_API));
	for (unsigned i = 0; i < LIMIT_JMAP_CONCURRENT_UPLOAD; i++)
		assert_true(jmap_slot_take(7, JMAP_SLOT_UPLOAD));
	assert_false(jmap_slot_take(7, JMAP_SLOT_UPLOAD));
	jmap_slot_put(7, JMAP_SLOT_API);
	assert_true(jmap_slot_take(7, JMAP_SLOT_API));
	assert_false(jmap_slot_take(7, JMAP_SLOT_API));
	for (unsigned i = 0; i < LIMIT_JMAP_CONCURRENT; i++)
		jmap_slot_put(7, JMAP_SLOT_API);
	for (unsigned i = 0; i < LIMIT_JMAP_CONCURRENT_UPLOAD; i++)
		jmap_slot_put(7, JMAP_SLOT_UPLOAD);
	jmap_slot_put(8, JMAP_SLOT_API);
	/* every slot of the table given back: all of them can be taken again, by as many
	 * accounts as the table holds, and one more account is refused */
	for (int64_t id = 1; id <= LIMIT_JMAP_SLOT_ACCOUNTS; id++)
		assert_true(jmap_slot_take(id, JMAP_SLOT_API));
	assert_false(jmap_slot_take(LIMIT_JMAP_SLOT_ACCOUNTS + 1, JMAP_SLOT_API));
	for (int64_t id = 1; id <= LIMIT_JMAP_SLOT_ACCOUNTS; id++)
		jmap_slot_put(id, JMAP_SLOT_API);
	assert_true(jmap_slot_take(LIMIT_JMAP_SLOT_ACCOUNTS + 1, JMAP_SLOT_API));
	jmap_slot_put(LIMIT_JMAP_SLOT_ACCOUNTS + 1, JMAP_SLOT_API);
}

static void test_account_parse(void **state)
{
	(void)state;
	assert_int_equal(jmap_account_parse("A1"), 1);
	assert_int_equal(jmap_account_parse("A42"), 42);
	assert_int_equal(jmap_account_parse("A9223372036854775807"), INT64_MAX);
	const char *bad[] = {"A0", "A01", "A", "", "B1", "a1", "A1x", "A-1", " A1",
			     "A9223372036854775808", "A99999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(jmap_account_parse(bad[i]), -1);
	assert_int_equal(jmap_account_parse(NULL), -1);
}

static void test_session(void **state)
{
	(void)state;
	char s1[17], s2[17], s3[17];
	assert_int_equal(jmap_session_state(1, "a@example.org", s1), 0);
	assert_int_equal(jmap_session_state(1, "a@example.org", s2), 0);
	assert_int_equal(jmap_session_state(2, "b@example.org", s3), 0);
	assert_string_equal(s1, s2);
	assert_string_not_equal(s1, s3);
	assert_int_equal(strspn(s1, "0123456789abcdef"), 16);

	json_t *s = jmap_session_object(1, "a@example.org", "https://mail.example.org");
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "state")), s1);
	assert_string_equal(json_string_value(json_object_get(s, "apiUrl")),
			    "https://mail.example.org/jmap/api");
	assert_string_equal(json_string_value(json_object_get(s, "username")), "a@example.org");
	json_t *acct = json_object_get(json_object_get(s, "accounts"), "A1");
	assert_non_null(acct);
	assert_true(json_is_true(json_object_get(acct, "isPersonal")));
	json_t *core = json_object_get(json_object_get(s, "capabilities"), JMAP_CAP_CORE);
	assert_int_equal(json_integer_value(json_object_get(core, "maxSizeUpload")),
			 (json_int_t)conf_get()->http_max_upload_size);
	assert_int_equal(json_integer_value(json_object_get(core, "maxCallsInRequest")),
			 LIMIT_JMAP_CALLS);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(s, "primaryAccounts"), JMAP_CAP_MAIL)),
			    "A1");
	/* the URLs do not enter the state */
	json_t *rel = jmap_session_object(1, "a@example.org", "");
	assert_string_equal(json_string_value(json_object_get(rel, "state")), s1);
	assert_string_equal(json_string_value(json_object_get(rel, "uploadUrl")),
			    "/jmap/upload/{accountId}/");
	json_decref(rel);
	json_decref(s);
}

int main(void)
{
	static struct conf cf;
	conf_defaults(&cf);
	conf_set(&cf);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_account_parse),
		cmocka_unit_test(test_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
