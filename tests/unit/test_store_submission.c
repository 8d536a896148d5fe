/* test_store_submission.c: the store's JMAP EmailSubmissions (store.h "JMAP
 * EmailSubmissions"): ids and the change counter, tombstones, isolation between
 * accounts, the object size bound at -1/0/+1, and the two prune bounds
 * (LIMIT_SUBMISSION_DAYS, LIMIT_SUBMISSION_ROWS) with the pruned watermark that makes
 * older changes uncalculable. */
#include "test_store_fx.h"

#include "core/limits.h"
#include "core/log.h"

#define DAY 86400
#define NOW 1800000000

static struct store_submission_list list_of(struct fx *f, int64_t account)
{
	struct store_submission_list l;
	assert_int_equal(store_submission_list(f->env, account, &f->a, &l), 0);
	return l;
}

static int64_t add(struct fx *f, int64_t account, const char *obj, int64_t now)
{
	int64_t id = 0;
	assert_int_equal(store_submission_add(f->env, account, obj, now, &id), 0);
	assert_true(id > 0);
	return id;
}

static void add_list_destroy(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	struct store_submission_list l = list_of(f, a);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.state, 0);
	int64_t s1 = add(f, a, "{\"n\":1}", NOW), s2 = add(f, a, "{\"n\":2}", NOW);
	assert_true(s2 > s1);
	l = list_of(f, a);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.state, 2);
	assert_int_equal(l.pruned, 0);
	assert_int_equal(l.v[0].id, s1);
	assert_int_equal(l.v[0].seq, 1);
	assert_string_equal(l.v[1].object, "{\"n\":2}");
	assert_int_equal(l.v[1].created, NOW);
	/* a tombstone: no object, the change that destroyed it */
	assert_int_equal(store_submission_destroy(f->env, a, s1), 0);
	assert_int_equal(store_submission_destroy(f->env, a, s1), ERR_NOTFOUND);
	l = list_of(f, a);
	assert_int_equal(l.state, 3);
	assert_int_equal(l.v[0].destroyed, 3);
	assert_null(l.v[0].object);
	/* a failed destroy takes no change */
	assert_int_equal(store_submission_destroy(f->env, a, s2 + 100), ERR_NOTFOUND);
	assert_int_equal(list_of(f, a).state, 3);
}

static void isolation(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0), b = add_account(f, "b@example.org", 0);
	int64_t s = add(f, a, "{}", NOW);
	struct store_submission_list l = list_of(f, b);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.state, 0);
	assert_int_equal(store_submission_destroy(f->env, b, s), ERR_NOTFOUND);
	assert_int_equal(list_of(f, a).n, 1);
	assert_int_equal(list_of(f, a).v[0].destroyed, 0);
	int64_t id;
	struct store_submission_list x;
	assert_int_equal(store_submission_add(f->env, b + 1000, "{}", NOW, &id), ERR_NOTFOUND);
	assert_int_equal(store_submission_list(f->env, b + 1000, &f->a, &x), ERR_NOTFOUND);
}

static void object_bound(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0), id;
	char *big = malloc(LIMIT_SUBMISSION_OBJECT + 2);
	for (size_t len = LIMIT_SUBMISSION_OBJECT - 1; len <= LIMIT_SUBMISSION_OBJECT + 1; len++) {
		memset(big, 'x', len);
		big[len] = '\0';
		int r = store_submission_add(f->env, a, big, NOW, &id);
		assert_int_equal(r, len <= LIMIT_SUBMISSION_OBJECT ? 0 : ERR_TOO_BIG);
	}
	free(big);
	assert_int_equal(list_of(f, a).n, 2);
}

static void prune_by_age(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0);
	int64_t old = add(f, a, "{\"old\":1}", NOW);
	add(f, a, "{\"kept\":1}", NOW + 10 * DAY);
	/* the next add, LIMIT_SUBMISSION_DAYS after the first, prunes exactly the first */
	add(f, a, "{}", NOW + (int64_t)LIMIT_SUBMISSION_DAYS * DAY + 1);
	struct store_submission_list l = list_of(f, a);
	assert_int_equal(l.n, 2);
	assert_true(l.v[0].id != old);
	assert_int_equal(l.pruned, 1); /* changes from before it: cannot be calculated */
	assert_int_equal(l.state, 3);
}

static void prune_by_rows(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@example.org", 0), b = add_account(f, "b@example.org", 0);
	int64_t first = 0;
	for (int i = 0; i < LIMIT_SUBMISSION_ROWS; i++) {
		int64_t id = add(f, a, "{}", NOW);
		first = first ? first : id;
	}
	add(f, b, "{}", NOW); /* another account's rows do not count */
	struct store_submission_list l = list_of(f, a);
	assert_int_equal(l.n, LIMIT_SUBMISSION_ROWS);
	assert_int_equal(l.pruned, 0);
	add(f, a, "{}", NOW); /* one past: the oldest goes */
	l = list_of(f, a);
	assert_int_equal(l.n, LIMIT_SUBMISSION_ROWS);
	assert_true(l.v[0].id > first);
	assert_int_equal(l.pruned, 1);
	assert_int_equal(list_of(f, b).n, 1);
}

int main(void)
{
	log_set_level(LOG_ERR);
	int failed = 0;
	for (size_t i = 0; store_backends[i]; i++) {
		void *b = (void *)store_backends[i];
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, b)
		const struct CMUnitTest tests[] = {
			T(add_list_destroy), T(isolation), T(object_bound), T(prune_by_age),
			T(prune_by_rows),
		};
#undef T
		failed += _cmocka_run_group_tests(store_backends[i]->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
