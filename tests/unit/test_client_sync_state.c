/* test_client_sync_state.c: the journal of kasten sync (client_sync_state.h): rows and
 * folders read back as written, a folder renamed or dropped with its rows, the tree
 * refused to another account or to a second run at the same time, a schema 1 database
 * migrated to the current schema with its rows kept, and what the no-change path
 * trusts: every change of a folder's rows moves its rows_gen, whoever makes it, and the
 * local record comes back as written and stays when the server's values are updated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_sync_state.h"
#include "core/err.h"
#include "unit_tmpdir.h"

static char *make_dir(void)
{
	char tmpl[] = "/tmp/kasten-sync-state-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rows_and_folders_round_trip(void **state)
{
	char *dir = make_dir(), err[256];
	struct client_sync_state *st;
	struct arena a;
	arena_init(&a, 1u << 20);
	assert_int_equal(client_sync_state_open(dir, "u@example.test", &st, err, sizeof(err)), 0);
	struct client_sync_state_folder f = {.name = "Lists/kasten", .uidvalidity = 7,
					     .uidnext = 42, .highestmodseq = 1ull << 40,
					     .last_full = 1700000000};
	assert_int_equal(client_sync_state_folder_put(st, &f), 0);
	/* one run per tree: a second open waits its turn */
	struct client_sync_state *st2 = NULL;
	assert_int_equal(client_sync_state_open(dir, "u@example.test", &st2, err, sizeof(err)),
			 ERR_LOCKED);
	assert_null(st2);
	assert_non_null(strstr(err, "another kasten sync is running"));
	struct client_sync_row row = {.uid = 9, .base = "b1", .flags = 0x11, .keywords = "$x y",
				      .msgid = "<m@x>", .sha256 = "ab", .size = 123,
				      .partial = true, .body_base = "b2"};
	int64_t id;
	assert_int_equal(client_sync_state_row_add(st, "Lists/kasten", &row, &id), 0);
	assert_int_equal(client_sync_state_row_moving(st, id, "Archive"), 0);

	struct client_sync_state_folder *fs;
	size_t n;
	assert_int_equal(client_sync_state_folders(st, &a, &fs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fs[0].name, "Lists/kasten");
	assert_int_equal(fs[0].uidnext, 42);
	assert_true(fs[0].highestmodseq == 1ull << 40);
	struct client_sync_row *rows;
	const char **moving;
	assert_int_equal(client_sync_state_rows(st, "Lists/kasten", &a, &rows, &moving, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, id);
	assert_int_equal(rows[0].uid, 9);
	assert_string_equal(rows[0].keywords, "$x y");
	assert_string_equal(rows[0].body_base, "b2");
	assert_true(rows[0].partial);
	assert_false(rows[0].fetching);
	assert_string_equal(moving[0], "Archive");

	/* refile: the row leaves for its target, pending */
	assert_int_equal(client_sync_state_row_refile(st, id, "Archive", 0), 0);
	assert_int_equal(client_sync_state_rows(st, "Archive", &a, &rows, &moving, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].uid, 0);
	assert_string_equal(moving[0], "");
	/* a folder renamed takes its rows; dropped, it leaves none */
	assert_int_equal(client_sync_state_folder_rename(st, "Archive", "Old"), 0);
	assert_int_equal(client_sync_state_rows(st, "Old", &a, &rows, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(client_sync_state_folder_drop(st, "Old"), 0);
	assert_int_equal(client_sync_state_rows(st, "Old", &a, &rows, NULL, &n), 0);
	assert_int_equal(n, 0);
	client_sync_state_close(&st);
	assert_null(st);

	/* another account: refused, one line saying which */
	assert_int_equal(client_sync_state_open(dir, "other@example.test", &st, err, sizeof(err)),
			 ERR_PERM);
	assert_non_null(strstr(err, "u@example.test"));
	arena_free(&a);
	unit_rmtree(dir);
	free(dir);
}

static void schema_1_is_migrated(void **state)
{
	char *dir = make_dir(), path[512], err[256];
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, CLIENT_SYNC_STATE_FILE) > 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TABLE sync_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
			     "INSERT INTO sync_meta VALUES('user', 'u');"
			     "CREATE TABLE sync_folder(name TEXT PRIMARY KEY, uidvalidity INTEGER"
			     " NOT NULL, uidnext INTEGER NOT NULL, highestmodseq INTEGER NOT NULL,"
			     " last_full INTEGER NOT NULL);"
			     "CREATE TABLE sync_msg(id INTEGER PRIMARY KEY, folder TEXT NOT NULL,"
			     " uid INTEGER NOT NULL, base TEXT NOT NULL, flags INTEGER NOT NULL,"
			     " keywords TEXT NOT NULL, msgid TEXT NOT NULL, sha256 TEXT NOT NULL,"
			     " size INTEGER NOT NULL, deleting INTEGER NOT NULL, fetching INTEGER"
			     " NOT NULL, moving_to TEXT NOT NULL);"
			     "INSERT INTO sync_msg VALUES(1, 'INBOX', 5, 'b', 16, '', '<i@x>', '',"
			     " 10, 0, 0, '');"
			     "PRAGMA user_version=1;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	struct client_sync_state *st;
	struct arena a;
	arena_init(&a, 1u << 20);
	assert_int_equal(client_sync_state_open(dir, "u", &st, err, sizeof(err)), 0);
	struct client_sync_row *rows;
	size_t n;
	assert_int_equal(client_sync_state_rows(st, "INBOX", &a, &rows, NULL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].uid, 5);
	assert_false(rows[0].partial);
	assert_string_equal(rows[0].body_base, "");
	client_sync_state_close(&st);
	arena_free(&a);
	unit_rmtree(dir);
	free(dir);
}

static uint64_t gen_of(struct client_sync_state *st, const char *name)
{
	uint64_t g = 0;
	assert_int_equal(client_sync_state_rows_gen(st, name, &g), 0);
	return g;
}

static void rows_gen_and_local_record(void **state)
{
	char *dir = make_dir(), err[256];
	struct client_sync_state *st;
	struct arena a;
	arena_init(&a, 1u << 20);
	assert_int_equal(client_sync_state_open(dir, "u", &st, err, sizeof(err)), 0);
	uint64_t g;
	assert_int_equal(client_sync_state_rows_gen(st, "A", &g), ERR_NOTFOUND);
	struct client_sync_state_folder fa = {.name = "A", .uidvalidity = 1, .uidnext = 5,
					      .highestmodseq = 9, .messages = 4};
	struct client_sync_state_folder fb = {.name = "B", .uidvalidity = 2, .uidnext = 1};
	assert_int_equal(client_sync_state_folder_put(st, &fa), 0);
	assert_int_equal(client_sync_state_folder_put(st, &fb), 0);
	uint64_t a0 = gen_of(st, "A"), b0 = gen_of(st, "B");
	struct client_sync_row row = {.uid = 3, .base = "m1", .flags = 0x10, .keywords = "",
				      .msgid = "", .sha256 = ""};
	int64_t id;
	/* each kind of change moves the generation of the folder(s) it touches */
	assert_int_equal(client_sync_state_row_add(st, "A", &row, &id), 0);
	uint64_t a1 = gen_of(st, "A");
	assert_true(a1 != a0);
	row.id = id;
	row.flags = 0x11;
	assert_int_equal(client_sync_state_row_put(st, &row), 0);
	uint64_t a2 = gen_of(st, "A");
	assert_true(a2 != a1);
	assert_int_equal(client_sync_state_row_moving(st, id, "B"), 0);
	uint64_t a3 = gen_of(st, "A");
	assert_true(a3 != a2);
	assert_int_equal(client_sync_state_row_refile(st, id, "B", 0), 0);
	uint64_t a4 = gen_of(st, "A"), b1 = gen_of(st, "B");
	assert_true(a4 != a3 && b1 != b0);
	assert_int_equal(client_sync_state_row_drop(st, id), 0);
	uint64_t b2 = gen_of(st, "B");
	assert_true(b2 != b1);
	assert_int_equal(gen_of(st, "A"), a4);
	/* the server's values do not; the local record comes back as written and stays
	 * when they are written again */
	struct client_sync_state_local loc = {
		.stamp = {.new_ns = 1700000000123456789LL, .cur_ns = 1700000001000000001LL,
			  .new_ino = 77, .cur_ino = 1ull << 40},
		.at_ns = 1700000009000000000LL, .rows_gen = a4};
	const char *names[] = {"A", "gone"};
	struct client_sync_state_local locs[] = {loc, loc};
	assert_int_equal(client_sync_state_put_local(st, names, locs, 2), 0);
	fa.uidnext = 6;
	fa.messages = 5;
	assert_int_equal(client_sync_state_folder_put(st, &fa), 0);
	assert_int_equal(gen_of(st, "A"), a4);
	struct client_sync_state_folder *fs;
	size_t n;
	assert_int_equal(client_sync_state_folders(st, &a, &fs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(fs[0].name, "A");
	assert_int_equal(fs[0].uidnext, 6);
	assert_int_equal(fs[0].messages, 5);
	assert_int_equal(fs[0].rows_gen, a4);
	assert_true(fs[0].local.stamp.new_ns == loc.stamp.new_ns &&
		    fs[0].local.stamp.cur_ns == loc.stamp.cur_ns &&
		    fs[0].local.stamp.new_ino == 77 && fs[0].local.stamp.cur_ino == 1ull << 40 &&
		    fs[0].local.at_ns == loc.at_ns && fs[0].local.rows_gen == a4);
	assert_int_equal(fs[1].local.at_ns, 0);
	/* rows come back in id order, whatever their UIDs (a relinked row, R9) */
	int64_t ids[3];
	for (int k = 0; k < 3; k++) {
		struct client_sync_row z = {.uid = 30 - 10 * (uint32_t)k, .base = "z",
					    .keywords = k == 1 ? "$k" : "", .msgid = "",
					    .sha256 = ""};
		assert_int_equal(client_sync_state_row_add(st, "Z", &z, &ids[k]), 0);
		assert_int_equal(client_sync_state_row_moving(st, ids[k], k == 2 ? "W" : ""), 0);
	}
	struct client_sync_row *zr;
	const char **zm;
	assert_int_equal(client_sync_state_rows(st, "Z", &a, &zr, &zm, &n), 0);
	assert_int_equal(n, 3);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(zr[k].id, ids[k]);
		assert_int_equal(zr[k].uid, 30 - 10 * k);
		assert_string_equal(zr[k].keywords, k == 1 ? "$k" : "");
		assert_string_equal(zm[k], k == 2 ? "W" : "");
	}
	/* a rename takes the rows along: a new generation under the new name */
	row.id = -1;
	assert_int_equal(client_sync_state_row_add(st, "A", &row, &id), 0);
	uint64_t a5 = gen_of(st, "A");
	assert_int_equal(client_sync_state_folder_rename(st, "A", "C"), 0);
	assert_true(gen_of(st, "C") != a5);
	client_sync_state_close(&st);
	arena_free(&a);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rows_and_folders_round_trip),
		cmocka_unit_test(schema_1_is_migrated),
		cmocka_unit_test(rows_gen_and_local_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
