/* sqs_int.h: shared inside the sqlite backend (src/store/sqlite) only.
 *
 * Objects:
 *   struct sqs_env  the environment: data dir, directory.db (one handle behind dir_mu),
 *                   and a pool of index.db handles (struct sqs_db) keyed by account.
 *   struct sqs_db   one open index.db with its prepared statements. A handle is used by
 *                   one thread at a time: it is checked out of the pool (sqs_db_take),
 *                   used, and given back (sqs_db_give); the pool keeps at most
 *                   SQS_POOL_MAX idle handles, least recently used ones are closed.
 *   struct sqs_store  a struct store (one account, one session) holding one sqs_db.
 *
 * Every index.db runs in WAL mode with synchronous=FULL; deliver_batch switches its
 * handles to NORMAL for the batch and makes everything durable with one syncfs(2). */
#ifndef KASTEN_SQS_INT_H
#define KASTEN_SQS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store_backend.h"

#define SQS_POOL_MAX 256
#define SQS_BUSY_MS 30000  /* wait this long for another writer before ERR_TEMP */
#define SQS_KEYWORDS_MAX 4096
#define SQS_GUID_LEN 32

/* Prepared statements of an index.db, by number (SQL text in sqs_sql.c). */
enum sqs_stmt {
	Q_BEGIN,
	Q_BEGIN_READ,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_MB_BY_NAME,
	Q_MB_BY_ID,
	Q_MB_LIST,
	Q_MB_RECENT,
	Q_MB_INSERT,
	Q_MB_RENAME,
	Q_MB_DELETE,
	Q_MB_BUMP,
	Q_MB_SET_RECENT,
	Q_MB_SET_HORIZON,
	Q_MB_RECOUNT,
	Q_SUB_COUNT,
	Q_SUB_INSERT,
	Q_SUB_DELETE,
	Q_SUB_MB_TOUCH,
	Q_SUB_LIST,
	Q_SUB_TREE,
	Q_META_GET,
	Q_META_SET,
	Q_USAGE_GET,
	Q_USAGE_RECALC,
	Q_MSG_INSERT,
	Q_MSG_COUNT_RANGE,
	Q_MSG_LIST,
	Q_MSG_UIDS,
	Q_MSG_CHANGED_COUNT,
	Q_MSG_CHANGED,
	Q_MSG_GET,
	Q_MSG_SETFLAGS,
	Q_MSG_DELETE,
	Q_MSG_MOVE_ONE,
	Q_MSG_OF_MB,
	Q_MSG_MOVE_ALL,
	Q_MSG_DELETE_MB,
	Q_MSG_ALL,
	Q_MSG_DELETED,
	Q_MSG_GUID_USED,
	Q_POP3_MARK,
	Q_CT_INSERT,
	Q_CT_MIME,
	Q_CT_SET_MIME,
	Q_CT_ID,
	Q_CT_DELETE,
	Q_CT_UNCACHED,
	Q_CT_UNINDEXED,
	Q_CT_UNINDEXED_ALL,
	Q_CT_SOURCE,
	Q_CT_FILL,
	Q_CT_INDEXED,
	Q_CT_EXTRA,
	Q_CT_ORPHANS,
	Q_CT_GUIDS,
	Q_TH_GET,
	Q_TH_PUT,
	Q_FTS_INSERT,
	Q_FTS_DELETE,
	Q_FTS_MATCH,
	Q_FTS_SCAN,
	Q_KW_HAS,
	Q_KW_COUNT,
	Q_KW_INSERT,
	Q_KW_LIST,
	Q_KW_DELETE_MB,
	Q_KW_COPY_ALL,
	Q_EXP_INSERT,
	Q_EXP_COPY_ALL,
	Q_EXP_DELETE_MB,
	Q_EXP_SINCE,
	Q_EXP_NTH,
	Q_EXP_PRUNE_MAX,
	Q_EXP_PRUNE,
	/* the JMAP view (sqs_jmap.c, sqs_jmap_get.c) */
	Q_JM_EMAIL_CHANGES,
	Q_JM_MAILBOX_CHANGES,
	Q_JM_THREAD_CHANGES,
	Q_JM_EMAIL_NTH,
	Q_JM_EMAIL_PRUNE_MAX,
	Q_JM_EMAIL_PRUNE,
	Q_JM_MAILBOX_NTH,
	Q_JM_MAILBOX_PRUNE_MAX,
	Q_JM_MAILBOX_PRUNE,
	Q_JM_EMAIL_COPIES,
	Q_JM_EMAIL_THREAD,
	Q_JM_THREAD_EMAILS,
	Q_JM_QUERY_MAILBOX,
	Q_JM_QUERY_ALL,
	Q_JM_SCAN,
	Q_JM_QUERY_DATE_ASC,
	Q_JM_QUERY_DATE_DESC,
	Q_COUNT
};
extern const char *const sqs_index_sql[Q_COUNT];

struct sqs_db {
	int64_t account_id;
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	uint64_t gen;                  /* env->del_gen when opened */
	bool other_fs;                 /* the account's folder is not on the data dir's file
					* system: a batch's syncfs misses it (own flush) */
	struct sqs_db *prev, *next;    /* pool LRU links, only while idle in the pool */
};

/* Directory statements (SQL text in sqs_dir.c). */
enum sqs_dstmt {
	D_ACC_INSERT,
	D_ACC_BY_ADDR,
	D_ACC_BY_ID,
	D_ACC_LIST,
	D_ACC_DELETE,
	D_ACC_SET_PW,
	D_ACC_SET_QUOTA,
	D_ACC_SET_QMSG,
	D_ACC_SET_POP3,
	D_ACC_QUOTA,
	D_ALIAS_INSERT,
	D_ALIAS_DELETE,
	D_ALIAS_LOOKUP,
	D_ACC_IDS,
	D_DOMAIN,
	D_ALIAS_LIST,
	/* uploads, tokens, activity, identities (sqs_token.c, sqs_activity.c) */
	D_ACC_ALIASES,
	D_BEGIN,
	D_COMMIT,
	D_ROLLBACK,
	D_SYNC_NORMAL,
	D_SYNC_FULL,
	D_TOK_INSERT,
	D_TOK_GET,
	D_TOK_SLIDE,
	D_TOK_DELETE,
	D_TOK_PRUNE,
	D_ACT_TOUCH,
	D_ACT_INSERT,
	D_ACT_PRUNE_OLD,
	D_ACT_PRUNE_MANY,
	D_RM_INSERT,
	D_RM_PRUNE_OLD,
	D_RM_PRUNE_MANY,
	D_ACT_LIST,
	D_COUNT
};

#define SQS_RM_SLOTS 1024

struct sqs_env {
	struct store_env base;         /* first */
	char *data_dir;
	int data_fd;                   /* for syncfs(2) */
	dev_t data_dev;                /* the file system data_fd's syncfs covers */
	bool primary;                  /* the data dir's owner: runs recovery, owns the marker */
	bool clean_start;              /* the clean-shutdown marker was present */
	pthread_mutex_t dir_mu;        /* guards dir_db and dq[] */
	sqlite3 *dir_db;
	sqlite3_stmt *dq[D_COUNT];
	pthread_mutex_t pool_mu;       /* guards the pool and del_gen */
	struct sqs_db *pool_head, *pool_tail; /* most recently used first */
	unsigned pool_n;
	uint64_t del_gen;              /* bumped by account_del: older handles are pooled
					* again only if their account still exists */
	/* the file reaper (sqs_reap.c) */
	pthread_t reaper;
	bool reaping, reap_stop;
	pthread_mutex_t reap_mu;
	pthread_cond_t reap_cv;
	struct sqs_reap *reap_head, *reap_tail;
	/* the indexer (sqs_index.c) */
	pthread_t indexer;
	bool indexing, index_stop;
	pthread_mutex_t index_mu;
	pthread_cond_t index_cv;
	struct sqs_index_job *index_head;
	/* Row-removal generations, one per account slot (sqs_list.c: the message cache) */
	_Atomic uint64_t rm_gen[SQS_RM_SLOTS];
};

/* The UID -> file map of one mailbox as a full listing saw it, so that opening a
 * message needs no SQL while no message row of the account was removed since. */
struct sqs_msgcache {
	int64_t mailbox;
	uint64_t gen;                  /* rm_gen of the account when the listing began */
	size_t n;
	uint32_t *uids;                /* ascending */
	uint64_t *sizes;
	char (*guids)[SQS_GUID_LEN + 1];
};

struct sqs_store {
	struct store base;             /* first */
	struct sqs_msgcache cache;
	struct sqs_db *h;
};

/* ---- sqs_env.c ---- */
/* "<data>/accounts/<id>[/rest]" into out (cap bytes). */
int sqs_path(const struct sqs_env *e, char *out, size_t cap, int64_t id, const char *rest);
/* Map a sqlite result code to enum err: OK/ROW/DONE -> 0, BUSY/LOCKED -> ERR_TEMP,
 * NOMEM -> ERR_NOMEM, CONSTRAINT -> ERR_EXISTS, every other code -> ERR_IO. Logs
 * nothing: the call that failed logs SQLite's message (sqs_step, dstep in sqs_dir.c). */
int sqs_err(int rc);
/* Remove a directory tree (no symlinks followed). */
int sqs_rmtree(const char *path);
/* fsync a file or directory by path, counted in store_flush_count(). */
int sqs_fsync_path(const char *path, bool dir);

/* ---- sqs_dir.c: directory.db ---- */
int sqs_dir_open(struct sqs_env *e);
void sqs_dir_close(struct sqs_env *e);
/* The account's quotas; ERR_NOTFOUND if no such account. Takes dir_mu. */
int sqs_dir_quota(struct sqs_env *e, int64_t id, uint64_t *bytes_out, uint64_t *msgs_out);
/* All account ids, malloc'ed (caller frees). */
int sqs_dir_ids(struct sqs_env *e, int64_t **ids_out, size_t *n_out);
int sqs_account_add(struct store_env *env, const char *address, const char *pwhash,
		    uint64_t quota_bytes, int64_t *id_out);
int sqs_account_del(struct store_env *env, const char *address);
int sqs_account_get(struct store_env *env, const char *address, struct arena *a,
		    struct store_account *out);
int sqs_account_get_id(struct store_env *env, int64_t id, struct arena *a,
		       struct store_account *out);
int sqs_account_list(struct store_env *env, struct arena *a, struct store_account **out,
		     size_t *n_out);
int sqs_account_set(struct store_env *env, const char *address, const char *key,
		    const char *value);
int sqs_alias_add(struct store_env *env, const char *alias, const char *address);
int sqs_alias_del(struct store_env *env, const char *alias);
int sqs_alias_list(struct store_env *env, struct arena *a, struct store_alias **out,
		   size_t *n_out);
int sqs_resolve(struct store_env *env, const char *address, int64_t *id_out);
bool sqs_domain_is_local(struct store_env *env, const char *domain);
/* Step / reset a directory statement (dir_mu held by the caller): rc is SQLITE_ROW,
 * DONE or an error, logged with SQLite's message (constraint failures are not). */
int sqs_dstep(struct sqs_env *e, sqlite3_stmt *q);
void sqs_dreset(sqlite3_stmt *q);
int sqs_account_aliases(struct store_env *env, int64_t account_id, struct arena *a,
			const char ***names_out, size_t *n_out);

/* ---- sqs_blob.c: JMAP uploads under accounts/<id>/upload/ ---- */
int sqs_blob_put(struct store *st, int fd, const void *data, uint64_t size,
		 const char *type, struct arena *a, const char **blob_id_out);
int sqs_blob_open(struct store *st, const char *blob_id, int *fd_out, uint64_t *size_out,
		  const char **type_out, struct arena *a);
/* Remove the account's uploads (and half-written ones) older than
 * LIMIT_BLOB_KEEP_HOURS; without force at most once an hour per account (store_open). */
void sqs_blob_prune(struct sqs_env *e, int64_t account_id, int64_t now, bool force);

/* ---- sqs_token.c: session tokens; sqs_activity.c: the activity log ---- */
int sqs_token_add(struct store_env *env, int64_t account_id, const uint8_t hash[32],
		  int64_t expires);
int sqs_token_get(struct store_env *env, const uint8_t hash[32], int64_t now,
		  int64_t *account_id_out);
int sqs_token_del(struct store_env *env, const uint8_t hash[32]);
int sqs_activity_seen(struct store_env *env, int64_t account_id, const char *protocol,
		      const char *client, const char *address, int64_t now);
int sqs_activity_removed(struct store_env *env, int64_t account_id, const char *protocol,
			 const char *client, const char *address, uint32_t count,
			 uint64_t bytes, int64_t now);
int sqs_activity_list(struct store_env *env, int64_t account_id, struct arena *a,
		      struct store_activity **out, size_t *n_out);
/* sqs_submission.c: JMAP EmailSubmissions (tables submissions, submission_state) */
int sqs_submission_add(struct store_env *env, int64_t account_id, const char *object,
		       int64_t now, int64_t *id_out);
int sqs_submission_destroy(struct store_env *env, int64_t account_id, int64_t id);
int sqs_submission_list(struct store_env *env, int64_t account_id, struct arena *a,
			struct store_submission_list *out);

/* ---- sqs_db.c: index.db handles and the pool ---- */
/* Open a database file with our pragmas (WAL, synchronous=FULL, busy timeout,
 * foreign keys). */
int sqs_open_db(const char *path, sqlite3 **out);
/* Bring a database to the newest schema: steps[i] moves user_version i to i+1 (each
 * step sets PRAGMA user_version itself). Runs in one write transaction; after the steps,
 * fill(arg, db, old_version) runs inside it when non-NULL. */
int sqs_migrate(sqlite3 *db, const char *const *steps, int n,
		int (*fill)(void *arg, sqlite3 *db, int old_version), void *arg);
/* Check out a handle for the account (from the pool or newly opened, creating
 * the account's folder and schema on first use). */
int sqs_db_take(struct sqs_env *e, int64_t account_id, struct sqs_db **out);
/* Return a handle to the pool, or close it when its account was deleted meanwhile; a
 * full pool closes its least recently used handle instead. */
void sqs_db_give(struct sqs_env *e, struct sqs_db *h);
void sqs_db_free(struct sqs_db *h);
/* Close every pooled handle of one account (all accounts if id < 0); with bump, also
 * bump del_gen so that handles checked out now are re-checked when given back. */
void sqs_pool_drop(struct sqs_env *e, int64_t account_id, bool bump);
/* The statement, reset and with cleared bindings; NULL on prepare failure (logged). */
sqlite3_stmt *sqs_q(struct sqs_db *h, enum sqs_stmt s);
/* sqlite3_step on a statement of h, logging SQLite's message for every result but
 * ROW, DONE and CONSTRAINT (ERR_EXISTS, an answer rather than a failure). Every step on
 * an index.db goes through here, so each failure is logged once, where it happened. */
int sqs_step(struct sqs_db *h, sqlite3_stmt *q);
/* Step a statement expected to finish (no row): returns 0 or enum err; resets it. */
int sqs_exec(struct sqs_db *h, sqlite3_stmt *q);
/* Step a statement that yields one integer (or none: *out = dflt); resets it. */
int sqs_int(struct sqs_db *h, sqlite3_stmt *q, int64_t dflt, int64_t *out);
/* The error a finished row loop ended with: 0 for DONE, else enum err (never 0). */
int sqs_done(int rc);
int sqs_begin(struct sqs_db *h, bool write);
int sqs_commit(struct sqs_db *h);
void sqs_rollback(struct sqs_db *h);
/* Allocate a UIDVALIDITY for a new mailbox: unique within the account (inside a
 * write transaction). */
int sqs_new_uidvalidity(struct sqs_db *h, uint32_t *out);
/* Switch a handle between synchronous=FULL (default) and NORMAL (deliver batches). */
int sqs_sync_mode(struct sqs_db *h, bool full);
/* Usage of the account (inside or outside a transaction). */
int sqs_usage_get(struct sqs_db *h, uint64_t *bytes_out, uint64_t *msgs_out);
/* A UID array built in malloc'ed memory, handed to an arena at the end. */
struct sqs_uidv {
	uint32_t *v;
	size_t n, cap;
};
int sqs_uidv_add(struct sqs_uidv *u, uint32_t uid);
/* Move the array into the arena (NULL when empty) and free it; ERR_NOMEM. */
int sqs_uidv_give(struct sqs_uidv *u, struct arena *a, uint32_t **out, size_t *n_out);

/* ---- sqs_schema.c ---- */
/* Bring a freshly opened index.db to the current schema (a new one gets the default
 * mailboxes). */
int sqs_index_migrate(struct sqs_db *h);

/* ---- sqs_mbox.c: mailboxes ---- */
struct sqs_mb {
	int64_t id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint32_t recent_uid;           /* first UID no session has claimed as \Recent */
	uint32_t n_deleted;
	uint64_t expunge_horizon;      /* expunge log entries up to this modseq are pruned */
};
/* Look up a mailbox by name ("inbox" in any case is INBOX). */
int sqs_mb_find(struct sqs_db *h, const char *name, struct sqs_mb *out);
int sqs_mb_find_id(struct sqs_db *h, int64_t id, struct sqs_mb *out);
/* Write back uidnext and highestmodseq. */
int sqs_mb_bump(struct sqs_db *h, const struct sqs_mb *mb);
/* Insert a mailbox row (inside a write transaction) with a new UIDVALIDITY and
 * MAILBOXID, starting at HIGHESTMODSEQ modseq. */
int sqs_mb_insert(struct sqs_db *h, const char *name, unsigned special_use, uint64_t modseq,
		  int64_t *id_out);
/* Copy name into out with an "inbox" prefix folded to "INBOX". */
void sqs_mb_canon(const char *name, char *out, size_t cap);
int sqs_usage(struct store *st, uint64_t *bytes_out, uint64_t *messages_out);
int sqs_mailbox_list(struct store *st, struct arena *a, struct store_mailbox **out,
		     size_t *n_out);
int sqs_mailbox_get(struct store *st, const char *name, struct arena *a,
		    struct store_mailbox *out);
int sqs_mailbox_get_id(struct store *st, int64_t mailbox_id, struct arena *a,
		       struct store_mailbox *out);
int sqs_mailbox_create(struct store *st, const char *name, unsigned special_use);
int sqs_mailbox_rename(struct store *st, const char *from, const char *to);
int sqs_mailbox_delete(struct store *st, const char *name);
int sqs_quota_warned(struct store *st, int *get_out, int set);
int sqs_recent_claim(struct store *st, int64_t mailbox_id, uint32_t *first_out,
		     uint32_t *end_out);

/* ---- sqs_subs.c: subscriptions, a set of names ---- */
/* Add a canonical name (inside a write transaction; no limit check: the account's
 * starting set). */
int sqs_sub_add(struct sqs_db *h, const char *name);
/* Rename the subscribed names from and "from/..." to to and "to/..." (canonical names,
 * inside the write transaction of the mailbox rename). ERR_TOO_LONG when a new name
 * would pass LIMIT_MAILBOX_NAME. */
int sqs_sub_rename(struct sqs_db *h, const char *from, const char *to);
int sqs_subscription_set(struct store *st, const char *name, bool on);
int sqs_subscription_list(struct store *st, struct arena *a, const char ***names_out,
			  size_t *n_out);

/* ---- sqs_change.c: the modseq counter, expunge log and keyword sets ---- */
/* The next account-wide modseq (inside a write transaction; every change of one call
 * shares it). */
int sqs_modseq_next(struct sqs_db *h, uint64_t *out);
/* What sqs_modseq_next would give, without taking it (a change that may turn out to
 * change nothing compares against it first). */
int sqs_modseq_peek(struct sqs_db *h, uint64_t *out);
int sqs_modseq(struct store *st, uint64_t *modseq_out);
/* Log uid as expunged from the mailbox at modseq, now. */
int sqs_explog_add(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, uint64_t modseq,
		   int64_t now);
/* Prune the mailbox's log by LIMIT_EXPUNGED_KEEP(_DAYS) (inside a write transaction). */
int sqs_explog_prune(struct sqs_db *h, int64_t mailbox_id, int64_t now);
int sqs_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq,
		       uint32_t uid_first, uint32_t uid_last, struct arena *a,
		       uint32_t **uids_out, size_t *n_out, bool *complete_out);
int sqs_expunged_prune(struct store *st, int64_t mailbox_id, int64_t older_than, size_t keep);
/* Define every keyword of the space-separated list in the mailbox (inside a write
 * transaction). With enforce, ERR_FULL when that would pass LIMIT_MAILBOX_KEYWORDS
 * (client changes); without, they are defined anyway (copies carry theirs along). */
int sqs_kw_note(struct sqs_db *h, int64_t mailbox_id, const char *keywords, bool enforce);
int sqs_mailbox_keywords(struct store *st, int64_t mailbox_id, struct arena *a,
			 const char **keywords_out, bool *more_out);

/* ---- sqs_list.c: reading messages ---- */
/* guid and size of one message (guid must hold SQS_GUID_LEN + 1), and its flags,
 * keywords (kw, kwcap), modseq and internal date where the pointers are non-NULL.
 * ERR_NOTFOUND if there is no such row. */
struct sqs_row {
	char guid[SQS_GUID_LEN + 1];
	uint64_t size, modseq;
	unsigned flags;
	int64_t internal_date;
};
int sqs_msg_get(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, struct sqs_row *out,
		char *kw, size_t kwcap);
/* Call before a transaction that removes message rows of the account (expunge,
 * mailbox delete, INBOX rename, move): open caches of that account stop trusting
 * themselves. */
void sqs_rows_removing(struct sqs_env *e, int64_t account_id);
void sqs_msgcache_free(struct sqs_msgcache *c);
int sqs_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		 uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out);
int sqs_msg_uids(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		 uint32_t uid_last, struct arena *a, uint32_t **uids_out, size_t *n_out);
int sqs_msg_changed(struct store *st, int64_t mailbox_id, uint64_t modseq,
		    uint32_t uid_first, uint32_t uid_last, struct arena *a,
		    struct store_msg **out, size_t *n_out);
int sqs_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
		 uint64_t *size_out);

/* ---- sqs_msg.c: changing messages ---- */
/* Merge space-separated keyword lists: SET gives `in`, ADD cur + in, REMOVE cur - in;
 * compared ASCII case-insensitively, duplicates dropped, one space between words.
 * ERR_TOO_LONG past cap, ERR_INVAL for control characters. */
int sqs_kw_merge(const char *cur, const char *in, enum store_flag_op op, char *out,
		 size_t cap);
/* "<data>/accounts/<id>/msg/<guid>" (msg/ is flat). */
int sqs_msg_path(const struct sqs_env *e, int64_t id, const char *guid, char *out,
		 size_t cap);
/* Unlink the files of the given guids now (after a commit); failures are logged. */
void sqs_unlink_guids(const struct sqs_env *e, int64_t id, char (*guids)[SQS_GUID_LEN + 1],
		      size_t n);
int sqs_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
	      const struct store_flags_change *c, struct arena *a,
	      struct store_flags_result *out);
int sqs_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		uint64_t *modseq_out);
int sqs_expunge_deleted(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
			struct arena *a, uint32_t **gone_out, size_t *n_gone_out,
			uint64_t *modseq_out);
int sqs_pop3_mark(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		  int64_t when);

/* ---- sqs_copy.c ---- */
int sqs_copy(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
	     int64_t to_mailbox, bool move, struct arena *a, struct store_copy_result *out);

/* ---- sqs_content.c: message contents (one per file, shared by copies) ---- */
/* The content row and thread of a message whose file msg/<guid> was just linked (inside
 * the write transaction): what m does not carry is extracted from the file. Its
 * full-text row comes later (sqs_content_fill, by the indexer); the body text waits in
 * the row. scratch is reset before use and bounds the extraction. */
int sqs_content_add(struct sqs_env *e, struct sqs_db *h, const struct store_new_msg *m,
		    const char *guid, struct arena *scratch);
/* After message rows naming guid were removed (inside the transaction): when no row
 * names it any more, its content and full-text rows go and *gone_out is set (the
 * caller then reaps the file after its commit). */
int sqs_content_release(struct sqs_db *h, const char *guid, bool *gone_out);
/* What a content can lack: its cached header, preview and thread (rows from schema
 * version 1), or its full-text row (every new message until the indexer ran). */
enum sqs_fill { SQS_FILL_CACHE, SQS_FILL_INDEX };
/* Make what `what` names for the contents of the messages in [first, last] of a mailbox
 * (mailbox_id 0: every content of the account, in the indexer's smaller batches),
 * reading files where needed; in short write transactions, none when there is nothing
 * to do. */
int sqs_content_fill(struct sqs_env *e, struct sqs_db *h, enum sqs_fill what,
		     int64_t mailbox_id, uint32_t first, uint32_t last);
int sqs_msg_extra(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		  uint32_t uid_last, unsigned want, struct arena *a,
		  struct store_msg_extra **out, size_t *n_out, uint32_t *next_out);

/* ---- sqs_index.c: the indexer thread ---- */
int sqs_index_start(struct sqs_env *e);
/* Stop the thread after its current batch; what is left is indexed later. */
void sqs_index_stop(struct sqs_env *e);
/* New contents of the account wait for their full-text rows (after the commit). */
void sqs_index_kick(struct sqs_env *e, int64_t account_id);

/* ---- sqs_extract.c: what a content row holds, from the caller or the file ---- */
enum sqs_field { SQS_F_SUBJECT, SQS_F_FROM, SQS_F_TO, SQS_F_CC, SQS_F_BCC, SQS_F_BODY,
		 SQS_F_COUNT };
struct sqs_extracted {
	const void *header;            /* NULL when longer than LIMIT_CACHED_HEADER */
	size_t header_len;
	const char *preview;           /* NULL if none */
	const char *message_id;        /* NULL if none */
	const char *references;        /* NULL if none */
	const void *mime;              /* NULL if none */
	size_t mime_len;
	const char *text;              /* the body text for the index, "" if none */
	size_t text_len;
	/* the header fields the index takes (the first LIMIT_CACHED_HEADER bytes of the
	 * header, also when it is not cached) */
	const void *fields;
	size_t fields_len;
};
/* From m (and, for what m leaves NULL, from the file at path, mapped read-only) into
 * the arena: never fails for lack of room (a message too complex keeps its header
 * only). ERR_IO if the file cannot be read. */
int sqs_extract(const struct store_new_msg *m, const char *path, struct arena *a,
		struct sqs_extracted *out);
/* The full-text columns: the decoded fields and the body text, folded
 * (store_search_fold), "" when empty or when the arena is full. */
struct sqs_fts {
	const char *col[SQS_F_COUNT];
	size_t len[SQS_F_COUNT];
};
void sqs_extract_fts(const void *fields, size_t fields_len, const char *text, size_t text_len,
		     struct arena *a, struct sqs_fts *out);

/* ---- sqs_thread.c ---- */
#define SQS_THREAD_LEN (1 + SQS_GUID_LEN)
/* The thread of a new content row guid (see store_append_multi), recorded for the ids
 * it has and references (inside a write transaction). */
int sqs_thread_assign(struct sqs_db *h, const char *guid, const char *message_id,
		      const char *references, char thread_out[SQS_THREAD_LEN + 1]);

/* ---- sqs_search.c ---- */
int sqs_search(struct store *st, int64_t mailbox_id, enum store_search_field field,
	       const char *needle, struct arena *a, uint32_t **uids_out, size_t *n_out);

/* ---- sqs_reap.c ---- */
int sqs_reap_start(struct sqs_env *e);
/* Unlink everything queued, then stop the thread. */
void sqs_reap_stop(struct sqs_env *e);
/* Unlink these message files soon, on the reaper thread (after their rows are gone). */
void sqs_reap_guids(struct sqs_env *e, int64_t id, char (*guids)[SQS_GUID_LEN + 1], size_t n);

/* ---- sqs_mime.c: MIME blobs, indexed from the file when the row has none ---- */
int sqs_msg_mime(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
		 const void **blob_out, size_t *len_out);

/* ---- sqs_deliver.c: append and the group-commit batch ---- */
int sqs_append(struct store *st, const char *mailbox, const struct store_new_msg *const *msgs,
	       size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out);
int sqs_deliver_batch(struct store_env *env, const int64_t *account_ids,
		      const struct store_new_msg *const *msgs, size_t n, int *results);

/* ---- sqs_recover.c ---- */
int sqs_recover(struct store_env *env);
int sqs_check(struct store_env *env);

/* ---- sqs_jmap.c, sqs_jmap_get.c: the JMAP view (store.h) ----
 * The triggers of schema version 4 record every change; they take a removal's modseq
 * from the counter, so every writer that removes a message or mailbox row calls
 * sqs_modseq_next before it removes the first one (an insert or update carries its
 * modseq in the row). */
int sqs_email_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
		      struct store_changes *out);
int sqs_mailbox_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			struct store_changes *out, bool *counts_only_out);
int sqs_thread_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
		       struct store_changes *out);
int sqs_changes_prune(struct store *st, int64_t older_than, size_t keep);
/* Prune the account's tombstones by LIMIT_EXPUNGED_KEEP(_DAYS) (inside a write
 * transaction; expunges and mailbox deletes call it). */
int sqs_jmap_prune(struct sqs_db *h, int64_t now);
int sqs_email_get(struct store *st, const char *const *ids, size_t n, struct arena *a,
		  struct store_email **out, size_t *n_out);
int sqs_thread_get(struct store *st, const char *thread_id, struct arena *a,
		   const char ***email_ids_out, size_t *n_out);
int sqs_email_query(struct store *st, const struct store_email_query *q, struct arena *a,
		    struct store_email_list *out);
int sqs_email_scan(struct store *st, struct arena *a, struct store_email **out,
		   size_t *n_out);

#endif
