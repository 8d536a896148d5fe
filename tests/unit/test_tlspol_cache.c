/* test_tlspol_cache.c: the MTA-STS policy cache (outbound/mtasts_cache.c, RFC 8461
 * 5.1): a row round-trips (the policy parsed again on reading), replaces the old one,
 * is forgotten on delete, survives closing and reopening (a second connection, as the
 * engine's workers have, sees it), and a row whose text no longer parses reads as no
 * policy, and a file that is not a database is replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "core/err.h"
#include "outbound/tlspol_int.h"
#include "unit_tmpdir.h"

static const char enforce[] = "version: STSv1\nmode: enforce\nmx: mx.example.test\n"
                              "max_age: 600\n";
static const char testing[] = "version: STSv1\nmode: testing\nmx: *.example.test\n"
                              "mx: b.example.test\nmax_age: 900\n";

struct fx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/kasten-tlspol-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/mta-sts.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static void put(struct mtasts_cache *c, const char *domain, const char *text, const char *id,
                int64_t at, int64_t exp)
{
	assert_int_equal(
	    mtasts_cache_put(c, domain, (const uint8_t *)text, strlen(text), id, at, exp), 0);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct mtasts_cache *c, *other;
	struct tlspol_domain d;
	assert_int_equal(mtasts_cache_open(f->path, &c), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(mtasts_cache_get(c, "example.test", &d), 0);
	put(c, "example.test", enforce, "id1", 1000, 1600);
	memset(&d, 0, sizeof(d));
	assert_int_equal(mtasts_cache_get(c, "example.test", &d), 1);
	assert_int_equal(d.sts.mode, TLSPOL_STS_ENFORCE);
	assert_int_equal(d.sts.n_mx, 1);
	assert_string_equal(d.sts.mx[0], "mx.example.test");
	assert_string_equal(d.id, "id1");
	assert_int_equal(d.fetched_at, 1000);
	assert_int_equal(d.expires, 1600);
	/* another connection sees it; a new id replaces the row */
	assert_int_equal(mtasts_cache_open(f->path, &other), 0);
	put(other, "example.test", testing, "id2", 2000, 2900);
	memset(&d, 0, sizeof(d));
	assert_int_equal(mtasts_cache_get(c, "example.test", &d), 1);
	assert_int_equal(d.sts.mode, TLSPOL_STS_TESTING);
	assert_int_equal(d.sts.n_mx, 2);
	assert_string_equal(d.id, "id2");
	assert_int_equal(d.expires, 2900);
	/* other domains are apart */
	assert_int_equal(mtasts_cache_get(c, "other.test", &d), 0);
	assert_int_equal(mtasts_cache_delete(other, "example.test"), 0);
	assert_int_equal(mtasts_cache_get(c, "example.test", &d), 0);
	mtasts_cache_close(&other);
	assert_null(other);
	/* closed and opened again: the rows stay */
	put(c, "keep.test", enforce, "k", 1, 2);
	mtasts_cache_close(&c);
	assert_int_equal(mtasts_cache_open(f->path, &c), 0);
	assert_int_equal(mtasts_cache_get(c, "keep.test", &d), 1);
	mtasts_cache_close(&c);
}

static void test_unparsable_row(void **state)
{
	struct fx *f = *state;
	struct mtasts_cache *c;
	struct tlspol_domain d;
	assert_int_equal(mtasts_cache_open(f->path, &c), 0);
	put(c, "broken.test", "version: STSv2\nmode: enforce\n", "x", 1, 2);
	assert_int_equal(mtasts_cache_get(c, "broken.test", &d), 0);
	mtasts_cache_close(&c);
	/* a row edited behind our back to an id past its limit: not used */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO policy VALUES ('long.test', "
	                              "'0123456789012345678901234567890123', 'version: STSv1\n"
	                              "mode: none\nmax_age: 5', 1, 2)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(mtasts_cache_open(f->path, &c), 0);
	assert_int_equal(mtasts_cache_get(c, "long.test", &d), 0);
	mtasts_cache_close(&c);
}

static void test_not_a_database(void **state)
{
	/* only a cache: a damaged file is replaced by an empty cache, not an error that
	 * would stop the outbound engine */
	struct fx *f = *state;
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	fputs("this is not SQLite, and long enough to fill the header of a database file "
	      "so that SQLite looks at it and says so\n",
	      fp);
	fclose(fp);
	struct mtasts_cache *c = NULL;
	struct tlspol_domain d;
	assert_int_equal(mtasts_cache_open(f->path, &c), 0);
	assert_int_equal(mtasts_cache_get(c, "example.test", &d), 0);
	put(c, "example.test", enforce, "id1", 1, 2);
	assert_int_equal(mtasts_cache_get(c, "example.test", &d), 1);
	mtasts_cache_close(&c);
}

/* The engine's workers all open the cache as the server starts, the first time on a
 * file none of them has made yet: every one of them must get it (a worker without its
 * context defers all its mail). */
#define OPENERS 16

struct opener {
	const char *path;
	pthread_barrier_t *go;
	int rc;
};

static void *open_one(void *arg)
{
	struct opener *o = arg;
	struct mtasts_cache *c = NULL;
	pthread_barrier_wait(o->go);
	o->rc = mtasts_cache_open(o->path, &c);
	if (o->rc == 0)
		o->rc = mtasts_cache_put(c, "example.test", (const uint8_t *)enforce,
		                         strlen(enforce), "id", 1, 2);
	mtasts_cache_close(&c);
	return NULL;
}

static void test_concurrent_first_open(void **state)
{
	struct fx *f = *state;
	for (int round = 0; round < 40; round++) {
		unlink(f->path);
		char aux[160];
		snprintf(aux, sizeof(aux), "%s-wal", f->path);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", f->path);
		unlink(aux);
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, OPENERS);
		pthread_t t[OPENERS];
		struct opener o[OPENERS];
		for (int i = 0; i < OPENERS; i++) {
			o[i] = (struct opener){f->path, &go, -99};
			assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
		}
		for (int i = 0; i < OPENERS; i++) {
			pthread_join(t[i], NULL);
			if (o[i].rc != 0)
				fail_msg("round %d opener %d: %d", round, i, o[i].rc);
		}
		pthread_barrier_destroy(&go);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unparsable_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
