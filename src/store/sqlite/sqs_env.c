/* sqs_env.c: the sqlite backend's environment (data dir, directory.db, handle pool),
 * its ops table, opening an account's store, and small file helpers.
 * Owns the struct sqs_env and the clean-shutdown marker <data>/.clean: present only
 * between a clean env_close and the next env_open, it lets recovery skip the per-account
 * sweep (see docs/storage.md).
 * Only one env per data dir is primary: the one opened by the process holding the data
 * dir's lock (cmd/cmd_lock.c). It runs recovery and owns the marker. Others (`kasten
 * user ...` while `kasten serve` runs) only read and write rows; they must not sweep
 * files a running server is delivering. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define CLEAN_MARKER ".clean"

/* Only contention is worth retrying as it is: BUSY/LOCKED (after SQS_BUSY_MS) are
 * ERR_TEMP. Anything SQLite reports that has no meaning here (SQLITE_ERROR from a
 * damaged or foreign schema, MISUSE, READONLY, ...) is damage or a bug; ERR_TEMP would
 * have SMTP clients retry it for days, so it is ERR_IO. */
int sqs_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_TEMP;
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_CONSTRAINT:
		return ERR_EXISTS;
	default:
		return ERR_IO;
	}
}

int sqs_path(const struct sqs_env *e, char *out, size_t cap, int64_t id, const char *rest)
{
	int n = snprintf(out, cap, "%s/accounts/%lld%s%s", e->data_dir, (long long)id,
			 rest ? "/" : "", rest ? rest : "");
	if (n < 0 || (size_t)n >= cap)
		return ERR_TOO_LONG;
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	int r = type == FTW_DP ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT)
		log_warn("store: cannot remove path=%s: %s", path, strerror(errno));
	return 0; /* keep going: remove as much as we can */
}

int sqs_rmtree(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return ERR_IO;
	return access(path, F_OK) == 0 ? ERR_IO : 0;
}

int sqs_fsync_path(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		log_err("store: open for fsync path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	int r = fsync(fd);
	int saved = errno;
	store_flush_count_add(1);
	close(fd);
	if (r < 0) {
		log_err("store: fsync path=%s: %s", path, strerror(saved));
		return ERR_IO;
	}
	return 0;
}

static int mkdir_p1(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_err("store: mkdir path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	return 0;
}

static void env_free(struct sqs_env *e)
{
	sqs_index_stop(e); /* both no-ops when not started */
	sqs_reap_stop(e);
	sqs_pool_drop(e, -1, false);
	sqs_dir_close(e);
	if (e->data_fd >= 0)
		close(e->data_fd);
	pthread_mutex_destroy(&e->dir_mu);
	pthread_mutex_destroy(&e->pool_mu);
	free(e->data_dir);
	free(e);
}

/* Consume the clean-shutdown marker; its removal is durable before we write anything,
 * so a crash from now on always leads to a full sweep. */
static int take_clean_marker(struct sqs_env *e)
{
	if (unlinkat(e->data_fd, CLEAN_MARKER, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		log_err("store: remove marker dir=%s: %s", e->data_dir, strerror(errno));
		return ERR_IO;
	}
	e->clean_start = true;
	store_flush_count_add(1);
	if (fsync(e->data_fd) < 0) {
		log_err("store: fsync dir=%s: %s", e->data_dir, strerror(errno));
		return ERR_IO;
	}
	return 0;
}

static int env_open(const char *data_dir, bool primary, struct store_env **out)
{
	struct sqs_env *e = calloc(1, sizeof(*e));
	if (!e)
		return ERR_NOMEM;
	e->base.ops = &store_sqlite_ops;
	e->data_fd = -1;
	e->primary = primary;
	pthread_mutex_init(&e->dir_mu, NULL);
	pthread_mutex_init(&e->pool_mu, NULL);
	e->data_dir = strdup(data_dir);
	if (!e->data_dir) {
		env_free(e);
		return ERR_NOMEM;
	}
	char p[4096];
	int r = mkdir_p1(data_dir);
	if (r == 0 && snprintf(p, sizeof(p), "%s/accounts", data_dir) < (int)sizeof(p))
		r = mkdir_p1(p);
	if (r == 0) {
		e->data_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat sb;
		if (e->data_fd >= 0 && fstat(e->data_fd, &sb) == 0)
			e->data_dev = sb.st_dev;
		if (e->data_fd < 0) {
			log_err("store: open dir=%s: %s", data_dir, strerror(errno));
			r = ERR_IO;
		}
	}
	if (r == 0 && primary)
		r = take_clean_marker(e);
	if (r == 0)
		r = sqs_dir_open(e);
	if (r == 0)
		r = sqs_reap_start(e);
	if (r == 0)
		r = sqs_index_start(e);
	if (r < 0) {
		env_free(e);
		return r;
	}
	*out = &e->base;
	return 0;
}

static void env_close(struct store_env *env)
{
	struct sqs_env *e = (struct sqs_env *)env;
	sqs_index_stop(e); /* it holds handles: before the pool goes */
	sqs_reap_stop(e);
	sqs_pool_drop(e, -1, false);
	sqs_dir_close(e);
	if (!e->primary) {
		env_free(e);
		return;
	}
	/* every handle is closed (WAL checkpointed): leave the marker for a fast start */
	int fd = openat(e->data_fd, CLEAN_MARKER, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		store_flush_count_add(2);
		if (fsync(fd) < 0 || fsync(e->data_fd) < 0)
			log_warn("store: marker fsync dir=%s: %s", e->data_dir, strerror(errno));
		close(fd);
	} else {
		log_warn("store: marker dir=%s: %s", e->data_dir, strerror(errno));
	}
	env_free(e);
}

static int st_open(struct store_env *env, int64_t account_id, struct store **out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	uint64_t qb, qm;
	int r = sqs_dir_quota(e, account_id, &qb, &qm); /* the account exists */
	if (r < 0)
		return r;
	struct sqs_store *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	r = sqs_db_take(e, account_id, &s->h);
	if (r < 0) {
		free(s);
		return r;
	}
	s->base.ops = &store_sqlite_ops;
	s->base.env = env;
	s->base.account_id = account_id;
	sqs_blob_prune(e, account_id, (int64_t)time(NULL), false); /* hourly at most */
	*out = &s->base;
	return 0;
}

static void st_close(struct store *st)
{
	struct sqs_store *s = (struct sqs_store *)st;
	sqs_msgcache_free(&s->cache);
	sqs_db_give((struct sqs_env *)st->env, s->h);
	free(s);
}

const struct store_ops store_sqlite_ops = {
	.version = STORE_OPS_VERSION,
	.name = "sqlite",
	.env_open = env_open,
	.env_close = env_close,
	.recover = sqs_recover,
	.account_add = sqs_account_add,
	.account_del = sqs_account_del,
	.account_get = sqs_account_get,
	.account_get_id = sqs_account_get_id,
	.account_list = sqs_account_list,
	.account_set = sqs_account_set,
	.alias_add = sqs_alias_add,
	.alias_del = sqs_alias_del,
	.resolve = sqs_resolve,
	.open = st_open,
	.close = st_close,
	.usage = sqs_usage,
	.modseq = sqs_modseq,
	.mailbox_list = sqs_mailbox_list,
	.mailbox_get = sqs_mailbox_get,
	.mailbox_get_id = sqs_mailbox_get_id,
	.mailbox_create = sqs_mailbox_create,
	.mailbox_rename = sqs_mailbox_rename,
	.mailbox_delete = sqs_mailbox_delete,
	.subscription_set = sqs_subscription_set,
	.subscription_list = sqs_subscription_list,
	.mailbox_keywords = sqs_mailbox_keywords,
	.recent_claim = sqs_recent_claim,
	.msg_list = sqs_msg_list,
	.msg_uids = sqs_msg_uids,
	.msg_changed = sqs_msg_changed,
	.msg_extra = sqs_msg_extra,
	.msg_open = sqs_msg_open,
	.msg_mime = sqs_msg_mime,
	/* the JMAP view (at the struct's end; here, apart from the lines around it) */
	.email_changes = sqs_email_changes,
	.mailbox_changes = sqs_mailbox_changes,
	.thread_changes = sqs_thread_changes,
	.email_get = sqs_email_get,
	.thread_get = sqs_thread_get,
	.changes_prune = sqs_changes_prune,
	.email_query = sqs_email_query,
	.email_scan = sqs_email_scan,
	.flags = sqs_flags,
	.expunge = sqs_expunge,
	.expunge_deleted = sqs_expunge_deleted,
	.copy = sqs_copy,
	.search = sqs_search,
	.pop3_mark = sqs_pop3_mark,
	.append = sqs_append,
	.deliver_batch = sqs_deliver_batch,
	.quota_warned = sqs_quota_warned,
	.expunged_since = sqs_expunged_since,
	.expunged_prune = sqs_expunged_prune,
	.check = sqs_check,
	.domain_is_local = sqs_domain_is_local,
	.alias_list = sqs_alias_list,
	.blob_put = sqs_blob_put,
	.blob_open = sqs_blob_open,
	.token_add = sqs_token_add,
	.token_get = sqs_token_get,
	.token_del = sqs_token_del,
	.activity_seen = sqs_activity_seen,
	.activity_removed = sqs_activity_removed,
	.activity_list = sqs_activity_list,
	.account_aliases = sqs_account_aliases,
	.submission_add = sqs_submission_add,
	.submission_destroy = sqs_submission_destroy,
	.submission_list = sqs_submission_list,
};
