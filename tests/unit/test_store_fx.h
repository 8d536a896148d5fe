/* test_store_fx.h: the fixture the store's conformance suites share (one fresh data
 * dir under /tmp per case, removed afterwards, for each backend in store_backends[]),
 * and the helpers their cases use. Included by tests/unit/test_store_*.c only. */
#ifndef KASTEN_TEST_STORE_FX_H
#define KASTEN_TEST_STORE_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/store.h"
#include "unit_tmpdir.h"

struct fx {
	const struct store_ops *ops;
	char dir[64];
	struct store_env *env;
	struct arena a;
	unsigned nfile;
	unsigned hook_calls[4];
	uint64_t hook_last_modseq;
	int64_t hook_last_account;
};

static inline bool is_sqlite(const struct fx *f)
{
	return !strcmp(f->ops->name, "sqlite");
}

static inline void on_change(void *arg, int64_t account_id, int64_t mailbox_id,
                             enum store_change_kind kind, uint64_t modseq)
{
	struct fx *f = arg;
	f->hook_calls[kind]++;
	f->hook_last_modseq = modseq;
	f->hook_last_account = account_id;
}

static inline void env_reopen(struct fx *f)
{
	if (f->env)
		store_env_close(&f->env);
	assert_int_equal(store_env_open(f->ops->name, f->dir, true, &f->env), 0);
	store_set_change_hook(f->env, on_change, f);
}

static inline int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ops = *state;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kasten-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (store_env_open(f->ops->name, f->dir, true, &f->env) < 0)
		return -1;
	store_set_change_hook(f->env, on_change, f);
	arena_init(&f->a, 16u << 20);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;
	store_env_close(&f->env);
	arena_free(&f->a);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* A message file with the given content on the data dir's file system. */
static inline const char *msg_file(struct fx *f, const char *content)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/in", f->dir);
	(void)mkdir(dir, 0700);
	char *path = arena_printf(&f->a, "%s/m%u", dir, f->nfile++);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, strlen(content), fp), strlen(content));
	assert_int_equal(fclose(fp), 0);
	return path;
}

static inline struct store_new_msg new_msg(struct fx *f, const char *content)
{
	struct store_new_msg m = {0};
	m.path = msg_file(f, content);
	m.size = strlen(content);
	m.internal_date = 1700000000;
	return m;
}

static inline int64_t add_account(struct fx *f, const char *addr, uint64_t quota)
{
	int64_t id = 0;
	assert_int_equal(store_account_add(f->env, addr, "$y$hash", quota, &id), 0);
	assert_true(id > 0);
	return id;
}

static inline struct store *open_store(struct fx *f, int64_t id)
{
	struct store *st = NULL;
	assert_int_equal(store_open(f->env, id, &st), 0);
	return st;
}

static inline int64_t mailbox_id(struct fx *f, struct store *st, const char *name)
{
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, name, &f->a, &mb), 0);
	return mb.id;
}

static inline uint32_t append(struct fx *f, struct store *st, const char *mbox, const char *content)
{
	struct store_new_msg m = new_msg(f, content);
	uint32_t uid = 0;
	assert_int_equal(store_append(st, mbox, &m, &uid), 0);
	return uid;
}

/* STORE without UNCHANGEDSINCE, the way most cases need it. */
static inline int flags_do(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
                           enum store_flag_op op, unsigned flags, const char *keywords,
                           uint64_t *modseq_out)
{
	const struct store_flags_change c = {op, flags, keywords, STORE_UNCONDITIONAL};
	struct store_flags_result res;
	int r = store_flags(st, mailbox_id, uids, n, &c, NULL, &res);
	if (r == 0 && modseq_out)
		*modseq_out = res.modseq;
	return r;
}

/* Every UID expunged since modseq; the log must be complete. */
static inline int expunged_do(struct store *st, int64_t mailbox_id, uint64_t modseq,
                              struct arena *a, uint32_t **uids_out, size_t *n_out)
{
	bool complete = false;
	int r = store_expunged_since(st, mailbox_id, modseq, 1, UINT32_MAX, a, uids_out, n_out,
	                             &complete);
	if (r == 0)
		assert_true(complete);
	return r;
}

/* The file disappears within a few seconds (expunged files are unlinked in the
 * background once the commit is durable). */
static inline bool gone_soon(const char *path)
{
	for (int i = 0; i < 500; i++) {
		if (access(path, F_OK) < 0)
			return true;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static inline const char *file_of(struct fx *f, int64_t id, const char *guid)
{
	return arena_printf(&f->a, "%s/accounts/%lld/msg/%s", f->dir, (long long)id, guid);
}

static inline size_t count_files(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char sub[1024];
		int l = snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		assert_true(l > 0 && (size_t)l < sizeof(sub));
		struct stat sb;
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
			n += count_files(sub);
		else
			n++;
	}
	closedir(d);
	return n;
}

/* Run SQL on the account's index.db (directory.db for id 0) through a connection of its
 * own, as another program or a damaged file would present it to the store. */
static inline void sql_on(struct fx *f, int64_t id, const char *sql)
{
	char *path = id ? arena_printf(&f->a, "%s/accounts/%lld/index.db", f->dir, (long long)id)
	                : arena_printf(&f->a, "%s/directory.db", f->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 30000);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* SQL that takes an index.db of schema 4 (and 5) back to what schema 3 wrote (without setting
 * user_version), for the tests of the migrations from 2 and 3. */
#define SCHEMA_V4_UNDO                                                                   \
	"DROP INDEX messages_date;" /* schema 5 */                                        \
	"DROP TRIGGER jmap_msg_added; DROP TRIGGER jmap_msg_added_unread;"                \
	"DROP TRIGGER jmap_msg_changed; DROP TRIGGER jmap_msg_unread;"                    \
	"DROP TRIGGER jmap_msg_removed; DROP TRIGGER jmap_msg_removed_unread;"            \
	"DROP TRIGGER jmap_content_threaded; DROP TRIGGER jmap_mb_new;"                   \
	"DROP TRIGGER jmap_mb_changed; DROP TRIGGER jmap_mb_gone;"                        \
	"DROP TABLE jmap_emails; DROP TABLE jmap_mailboxes_gone;"                        \
	"ALTER TABLE mailboxes DROP COLUMN jmap_created;"                                 \
	"ALTER TABLE mailboxes DROP COLUMN jmap_modseq;"                                  \
	"ALTER TABLE mailboxes DROP COLUMN jmap_counts;"                                  \
	"DELETE FROM meta WHERE key LIKE 'horizon_%';"

/* Log lines go to stderr: send them to a file while the code under test runs. No
 * assertion may run in between (cmocka reports on stderr too). */
struct log_capture {
	int saved;
	char *path;
};

static inline void log_capture_start(struct fx *f, struct log_capture *c)
{
	c->path = arena_printf(&f->a, "%s/captured.log", f->dir);
	int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* Stop capturing; how many captured lines contain needle. */
static inline size_t log_capture_count(struct log_capture *c, const char *needle)
{
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	FILE *fp = fopen(c->path, "r");
	assert_non_null(fp);
	char line[4096];
	size_t n = 0;
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, needle) != NULL;
	fclose(fp);
	return n;
}

#endif
