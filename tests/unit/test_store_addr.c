/* test_store_addr.c: the store's side of the address rules (store.h, core/addr.h):
 * store_account_add and store_alias_add refuse what SMTP could never deliver to,
 * whoever calls them, and store_alias_list lists every alias with its account.
 * Runs on the sqlite backend (the only one compiled in) with a fresh data dir each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "unit_tmpdir.h"

struct fx {
	char dir[64];
	struct store_env *env;
	const char *backend;
};

static int setup_backend(void **state, const char *backend)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	log_set_level(LOG_WARN);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/kasten-staddr-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->backend = backend;
	assert_int_equal(store_env_open(backend, f->dir, true, &f->env), 0);
	*state = f;
	return 0;
}

static int setup_sqlite(void **state)
{
	return setup_backend(state, "sqlite");
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_env_close(&f->env);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* RFC 5321 4.1.2 / 4.5.3.1: no account or alias SMTP could never deliver to. */
static void test_add_refuses_bad_addresses(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "evil@../../tmp",
	    "evil@..",
	    "a@example.",
	    "a@-x.example",
	    "a@[192.0.2.1]",
	    "a@1.2.3.4",
	    "\"a b\"@example.test",
	    "a..b@example.test",
	    "a@exa_mple.test",
	    "\xc3@example.test",
	    /* 65-octet local part (RFC 5321 4.5.3.1.1) */
	    "lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@example.test",
	};
	int64_t id;
	assert_int_equal(store_account_add(f->env, "owner@example.test", NULL, 0, &id), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store_account_add(f->env, bad[i], NULL, 0, NULL), ERR_INVAL);
		assert_int_equal(store_alias_add(f->env, bad[i], "owner@example.test"), ERR_INVAL);
	}
	/* none of them made its domain local */
	assert_false(store_domain_is_local(f->env, "../../tmp"));
	assert_false(store_domain_is_local(f->env, ".."));
	assert_true(store_domain_is_local(f->env, "example.test"));
	/* UTF-8 (RFC 6531) is fine, and 64 octets of local part */
	assert_int_equal(
	    store_account_add(f->env, "j\xc3\xb6rg@m\xc3\xbcnchen.example", NULL, 0, NULL), 0);
	assert_int_equal(
	    store_account_add(f->env,
	                      "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"
	                      "@example.test",
	                      NULL, 0, NULL),
	    0);
	assert_int_equal(
	    store_alias_add(f->env, "info@m\xc3\xbcnchen.example", "owner@example.test"), 0);
}

static void test_alias_list(void **state)
{
	struct fx *f = *state;
	struct arena a;
	arena_init(&a, 1u << 20);
	struct store_alias *v = (struct store_alias *)1;
	size_t n = 99;
	assert_int_equal(store_alias_list(f->env, &a, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_account_add(f->env, "Owner@Example.TEST", NULL, 0, NULL), 0);
	assert_int_equal(store_account_add(f->env, "two@example.test", NULL, 0, NULL), 0);
	/* more than the first growth step, to cover the copy */
	for (int i = 0; i < 70; i++) {
		char al[64];
		(void)snprintf(al, sizeof(al), "z%02d@example.test", i);
		assert_int_equal(store_alias_add(f->env, al, "owner@example.test"), 0);
	}
	assert_int_equal(store_alias_add(f->env, "Sales@Example.test", "TWO@example.test"), 0);
	assert_int_equal(store_alias_list(f->env, &a, &v, &n), 0);
	assert_int_equal(n, 71);
	assert_string_equal(v[0].alias, "sales@example.test");
	assert_string_equal(v[0].address, "two@example.test");
	assert_string_equal(v[1].alias, "z00@example.test");
	assert_string_equal(v[70].alias, "z69@example.test");
	assert_string_equal(v[70].address, "owner@example.test");
	/* deleted aliases and aliases of deleted accounts are gone */
	assert_int_equal(store_alias_del(f->env, "sales@example.test"), 0);
	assert_int_equal(store_alias_del(f->env, "sales@example.test"), ERR_NOTFOUND);
	assert_int_equal(store_account_del(f->env, "owner@example.test"), 0);
	assert_int_equal(store_alias_list(f->env, &a, &v, &n), 0);
	assert_int_equal(n, 0);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_add_refuses_bad_addresses, setup_sqlite, teardown),
	    cmocka_unit_test_setup_teardown(test_alias_list, setup_sqlite, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
