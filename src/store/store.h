/* store.h: the one storage interface every protocol uses.
 *
 * Two halves:
 *   - the directory (accounts, aliases, passwords, quotas, per-account options), and
 *   - one account's mail (mailboxes, messages, flags, expunge, quota usage).
 * A backend implements struct store_ops; protocol code calls only the store_* wrappers
 * below, which check arguments and forward. Backends register by name (store_backends[]),
 * the config picks one ([store] backend = sqlite).
 *
 * Durability contract (DESIGN.md "Storage"): a message is acknowledged to a client only
 * after store_deliver()/store_append() returned 0, and by then its file and index row are
 * on disk. Many concurrent deliveries share one flush (group commit, see deliver/).
 *
 * Threads: a struct store_env is shared by all threads. A struct store (one account) is
 * used by one thread at a time; open one per session or per thread as needed.
 * All strings handed out come from the caller's arena. */
#ifndef KASTEN_STORE_H
#define KASTEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct arena;
struct store_env;
struct store;

/* ---- system flags (RFC 9051 2.3.2); keywords are separate strings ---- */
enum store_flag {
	STORE_F_SEEN = 1 << 0,
	STORE_F_ANSWERED = 1 << 1,
	STORE_F_FLAGGED = 1 << 2,
	STORE_F_DELETED = 1 << 3,
	STORE_F_DRAFT = 1 << 4,
	STORE_F_FORWARDED = 1 << 5, /* $Forwarded, kept as a bit for speed */
	STORE_F_JUNK = 1 << 6,      /* $Junk */
	STORE_F_NOTJUNK = 1 << 7,   /* $NotJunk */
};

/* ---- special-use mailboxes (RFC 6154) ---- */
enum store_special {
	STORE_SU_NONE = 0,
	STORE_SU_DRAFTS = 1 << 0,
	STORE_SU_SENT = 1 << 1,
	STORE_SU_TRASH = 1 << 2,
	STORE_SU_JUNK = 1 << 3,
	STORE_SU_ARCHIVE = 1 << 4,
};

/* ---- directory ---- */
struct store_account {
	int64_t id;
	const char *address;      /* canonical, lower-case domain */
	const char *pwhash;       /* crypt(3) string, NULL if none */
	uint64_t quota_bytes;     /* 0 = unlimited */
	uint64_t quota_messages;  /* 0 = unlimited */
	bool pop3_enabled;
	/* usage, filled by store_account_usage() / listings */
	uint64_t used_bytes;
	uint64_t messages;
};

/* An alias and the canonical address of the account it delivers to. */
struct store_alias {
	const char *alias;
	const char *address;
};

/* ---- mailboxes ---- */
struct store_mailbox {
	int64_t id;
	const char *name;        /* "INBOX" or hierarchy with '/' as separator, UTF-8 */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t unseen;
	uint64_t bytes;
	unsigned special_use;    /* enum store_special bits */
	bool subscribed;
};

/* ---- messages ---- */
struct store_msg {
	uint32_t uid;
	uint64_t modseq;
	unsigned flags;          /* enum store_flag bits */
	const char *keywords;    /* space-separated other keywords, "" if none */
	uint64_t size;           /* RFC 5322 octets, CRLF line ends */
	int64_t internal_date;   /* unix seconds (RFC 9051 INTERNALDATE) */
	int64_t saved_date;      /* when it entered this mailbox */
	const char *guid;        /* unique per account, never reused: also the POP3 UIDL */
	int64_t pop3_retrieved;  /* unix seconds of the first POP3 RETR, 0 if never */
};

/* A new message for store_append / store_deliver: the body is already a file on the
 * same filesystem as the data dir, fully written (not necessarily fsynced). The store
 * links it in place; the caller still owns (and later unlinks) its own path. */
struct store_new_msg {
	const char *path;
	uint64_t size;             /* must equal the file's size, else ERR_INVAL */
	int64_t internal_date;
	unsigned flags;
	const char *keywords;      /* NULL or space-separated */
	const void *mime;          /* serialized MIME structure (mime_serialize), may be NULL */
	size_t mime_len;
};

/* Kinds of change published after a commit (for IMAP IDLE, webmail, other nodes). */
enum store_change_kind {
	STORE_CH_APPEND,
	STORE_CH_FLAGS,
	STORE_CH_EXPUNGE,
	STORE_CH_MAILBOX, /* created, renamed, deleted */
};
typedef void (*store_change_fn)(void *arg, int64_t account_id, int64_t mailbox_id,
				enum store_change_kind kind, uint64_t modseq);

enum store_flag_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* ---- the backend vtable ---- */
#define STORE_OPS_VERSION 1
struct store_ops {
	int version;
	const char *name;
	/* environment */
	int (*env_open)(const char *data_dir, bool primary, struct store_env **out);
	void (*env_close)(struct store_env *env);
	int (*recover)(struct store_env *env);
	/* directory */
	int (*account_add)(struct store_env *env, const char *address, const char *pwhash,
			   uint64_t quota_bytes, int64_t *id_out);
	int (*account_del)(struct store_env *env, const char *address);
	int (*account_get)(struct store_env *env, const char *address, struct arena *a,
			   struct store_account *out);
	int (*account_get_id)(struct store_env *env, int64_t id, struct arena *a,
			      struct store_account *out);
	int (*account_list)(struct store_env *env, struct arena *a, struct store_account **out,
			    size_t *n_out);
	int (*account_set)(struct store_env *env, const char *address, const char *key,
			   const char *value);
	int (*alias_add)(struct store_env *env, const char *alias, const char *address);
	int (*alias_del)(struct store_env *env, const char *alias);
	int (*resolve)(struct store_env *env, const char *address, int64_t *id_out);
	/* one account */
	int (*open)(struct store_env *env, int64_t account_id, struct store **out);
	void (*close)(struct store *st);
	int (*usage)(struct store *st, uint64_t *bytes_out, uint64_t *messages_out);
	int (*mailbox_list)(struct store *st, struct arena *a, struct store_mailbox **out,
			    size_t *n_out);
	int (*mailbox_get)(struct store *st, const char *name, struct arena *a,
			   struct store_mailbox *out);
	int (*mailbox_create)(struct store *st, const char *name, unsigned special_use);
	int (*mailbox_rename)(struct store *st, const char *from, const char *to);
	int (*mailbox_delete)(struct store *st, const char *name);
	int (*mailbox_subscribe)(struct store *st, const char *name, bool on);
	int (*msg_list)(struct store *st, int64_t mailbox_id, uint32_t uid_first,
			uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out);
	int (*msg_open)(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
			uint64_t *size_out);
	int (*msg_mime)(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
			const void **blob_out, size_t *len_out);
	int (*flags)(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		     enum store_flag_op op, unsigned flags, const char *keywords,
		     uint64_t *modseq_out);
	int (*expunge)(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		       uint64_t *modseq_out);
	int (*pop3_mark)(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
			 int64_t when);
	int (*append)(struct store *st, const char *mailbox, const struct store_new_msg *m,
		      uint32_t *uid_out);
	/* group commit of deliveries to many accounts: each entry goes to its account's
	 * INBOX; results[i] is 0 or a negative enum err (ERR_QUOTA, ERR_NOTFOUND...). */
	int (*deliver_batch)(struct store_env *env, const int64_t *account_ids,
			     const struct store_new_msg *const *msgs, size_t n, int *results);
	/* added after version 1 was first drafted; every backend must fill them */
	int (*quota_warned)(struct store *st, int *get_out, int set);
	int (*expunged_since)(struct store *st, int64_t mailbox_id, uint64_t modseq,
			      struct arena *a, uint32_t **uids_out, size_t *n_out);
	int (*check)(struct store_env *env);
	bool (*domain_is_local)(struct store_env *env, const char *domain);
	int (*alias_list)(struct store_env *env, struct arena *a, struct store_alias **out,
			  size_t *n_out);
};

/* The backends compiled in, NULL-terminated. */
extern const struct store_ops *const store_backends[];

/* ---- wrappers: the only calls protocol code makes ---- */

/* Open the store for a data dir with the named backend. primary: the caller holds the
 * data dir's lock (one process at a time, cmd/cmd_lock.c), so this env runs recovery
 * and sweeps files; a non-primary env (an admin command beside a running server) only
 * reads and writes rows. */
int store_env_open(const char *backend, const char *data_dir, bool primary,
		   struct store_env **out);
void store_env_close(struct store_env **env);
/* Called after every committed change, from the committing thread. One hook per env. */
void store_set_change_hook(struct store_env *env, store_change_fn fn, void *arg);

int store_account_add(struct store_env *env, const char *address, const char *pwhash,
		      uint64_t quota_bytes, int64_t *id_out);
int store_account_del(struct store_env *env, const char *address);
/* Look up by canonical address (not alias). ERR_NOTFOUND if none. Usage (used_bytes,
 * messages) is filled in too, as for store_account_get_id. store_account_add and
 * store_alias_add (for the alias) take only addresses that pass addr_account_check()
 * (core/addr.h: an RFC 5321 mailbox SMTP can deliver to) and refuse others with
 * ERR_INVAL, whoever calls them. */
int store_account_get(struct store_env *env, const char *address, struct arena *a,
		      struct store_account *out);
int store_account_get_id(struct store_env *env, int64_t id, struct arena *a,
			 struct store_account *out);
/* Every account with its usage filled in. */
int store_account_list(struct store_env *env, struct arena *a, struct store_account **out,
		       size_t *n_out);
/* key: "password" (value: a crypt hash), "quota" (bytes), "quota_messages", "pop3" (on/off). */
int store_account_set(struct store_env *env, const char *address, const char *key,
		      const char *value);
int store_alias_add(struct store_env *env, const char *alias, const char *address);
int store_alias_del(struct store_env *env, const char *alias);
/* Every alias with its account's address, ordered by alias; the array and strings come
 * from the arena (NULL when n is 0). */
int store_alias_list(struct store_env *env, struct arena *a, struct store_alias **out,
		     size_t *n_out);
/* Does any account or alias have an address in this domain (case-insensitive)?
 * On a database error it logs and answers true, so the recipient is looked up
 * (store_resolve) and refused or deferred there rather than as "relaying denied". */
bool store_domain_is_local(struct store_env *env, const char *domain);
/* Address or alias (case-insensitive, "+detail" stripped) to an account id. */
int store_resolve(struct store_env *env, const char *address, int64_t *id_out);

/* ERR_NOTFOUND for an unknown account. Cheap: database handles are pooled per account
 * in the env, so sessions may open per command instead of holding a store while idle. */
int store_open(struct store_env *env, int64_t account_id, struct store **out);
void store_close(struct store **st);
int store_usage(struct store *st, uint64_t *bytes_out, uint64_t *messages_out);

int store_mailbox_list(struct store *st, struct arena *a, struct store_mailbox **out,
		       size_t *n_out);
int store_mailbox_get(struct store *st, const char *name, struct arena *a,
		      struct store_mailbox *out);
int store_mailbox_create(struct store *st, const char *name, unsigned special_use);
int store_mailbox_rename(struct store *st, const char *from, const char *to);
int store_mailbox_delete(struct store *st, const char *name);
int store_mailbox_subscribe(struct store *st, const char *name, bool on);
/* Mailbox names are checked here: UTF-8, no control chars, no empty levels, no "..",
 * at most LIMIT_MAILBOX_NAME bytes. "inbox" in any case means INBOX. */
bool store_mailbox_name_ok(const char *name);

/* Messages with uid_first <= uid <= uid_last (UINT32_MAX for "*"), ascending by uid. */
int store_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		   uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out);
/* A read-only fd on the message file (caller closes) and its size. */
int store_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
		   uint64_t *size_out);
int store_msg_mime(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
		   const void **blob_out, size_t *len_out);
int store_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		enum store_flag_op op, unsigned flags, const char *keywords,
		uint64_t *modseq_out);
/* Remove messages for good (files unlinked after the commit), usage shrinks. */
int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		  uint64_t *modseq_out);
/* Record the first POP3 retrieval time (for [pop3] expire_days). */
int store_pop3_mark(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		    int64_t when);
/* IMAP APPEND / import: durable before it returns. ERR_QUOTA if it would not fit. */
int store_append(struct store *st, const char *mailbox, const struct store_new_msg *m,
		 uint32_t *uid_out);
int store_deliver_batch(struct store_env *env, const int64_t *account_ids,
			const struct store_new_msg *const *msgs, size_t n, int *results);

/* The "quota warning already sent" flag of the account (deliver/ re-arms it when usage
 * drops below the threshold). If get_out is non-NULL it receives the flag (0/1) as it
 * was before this call; set is 0 or 1 to store a new value, -1 to leave it. */
int store_quota_warned(struct store *st, int *get_out, int set);
/* UIDs expunged from the mailbox with a modseq > `modseq` (QRESYNC VANISHED),
 * ascending; the array comes from the arena (NULL when n is 0). */
int store_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq,
			 struct arena *a, uint32_t **uids_out, size_t *n_out);
/* Full consistency sweep of every account, the same one store_env_open runs after an
 * unclean shutdown: drops rows whose file is missing or short, removes files no row
 * references, recomputes usage. Slow on big stores; for admin use. */
int store_check(struct store_env *env);

/* Flush counter (fsync/syncfs calls made), for metrics and the benchmark. */
uint64_t store_flush_count(void);

#endif
