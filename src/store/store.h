/* store.h: the one storage interface every protocol uses.
 *
 * Two halves:
 *   - the directory (accounts, aliases, passwords, quotas, per-account options), and
 *   - one account's mail (mailboxes, messages, flags, expunge, quota usage).
 * A backend implements struct store_ops; protocol code calls only the store_* wrappers
 * below, which check the arguments, the backend's STORE_OPS_VERSION and that the op is
 * there, and forward. Backends register by name (store_backends[]), the config picks one
 * ([store] backend = sqlite).
 *
 * Durability (DESIGN.md "Storage"): every call that changes something has made the
 * change durable when it returns success, so a client may be told "stored" right then:
 *   - store_append: the message file and its directory entry are fsynced, then the row
 *     is committed with a flushed log;
 *   - store_deliver_batch: an entry with results[i] == 0 is durable when the call
 *     returns; the whole batch shares one flush (group commit, driven by deliver/);
 *   - flags, expunge, POP3 marks, mailbox and directory changes: committed with a
 *     flushed log. The files of expunged messages and deleted mailboxes are unlinked
 *     later, in the background, and a deleted account's folder right after its row:
 *     a crash before that leaves files no row names, which recovery removes.
 * After a crash, what a call had not returned from is either complete or gone once
 * recovery has run (at the next primary store_env_open), never half there.
 *
 * Threads: a struct store_env is shared by all threads; every call may be made on it
 * from any thread at the same time, except store_set_change_hook (before other threads
 * use the env) and store_env_close (after they stopped). A struct store (one account)
 * is used by one thread at a time, and may move between threads between calls. Writers
 * wait for each other's transactions (ERR_TEMP after a bounded wait: the sqlite
 * backend's busy timeout is 30 s); readers do not wait for writers.
 *
 * Lifetimes: a struct store is open from store_open to store_close, and every store is
 * closed before its env. What a call hands out (strings, arrays, blobs) is allocated
 * from the caller's arena and lives until the caller resets it; the store keeps no
 * pointer into it, nor to any argument once the call returned (the change hook's arg
 * aside). A descriptor from store_msg_open is the caller's to close.
 *
 * Errors are negative enum err: ERR_TEMP contention, worth retrying as it is; ERR_IO a
 * failed or damaged file or database, or a database error with no other meaning (logged
 * with the database's own message where it happened); ERR_NOMEM; ERR_NOTFOUND,
 * ERR_EXISTS, ERR_PERM, ERR_QUOTA, ERR_INVAL (a bad argument) as noted per call. */
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
	/* usage, filled by store_account_get, store_account_get_id and store_account_list */
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

/* A new message for store_append / store_deliver_batch: the body is already a file,
 * fully written (not necessarily fsynced), best on the data dir's file system: the
 * store hard-links it into the account and copies it only where the file system refuses
 * the link. The caller still owns (and later unlinks) its own path. */
struct store_new_msg {
	const char *path;
	uint64_t size;             /* must equal the file's size, else ERR_INVAL */
	int64_t internal_date;     /* unix seconds; 0 for "now" */
	unsigned flags;            /* enum store_flag bits */
	/* NULL or space-separated; duplicates dropped (ASCII case-insensitive); a control
	 * character is ERR_INVAL, more than 4 KiB in all ERR_TOO_LONG */
	const char *keywords;
	/* serialized MIME structure (mime_index / mime_serialize), or NULL: the store then
	 * indexes the file when store_msg_mime first asks for it */
	const void *mime;
	size_t mime_len;
	/* What IMAP, JMAP and SEARCH need without opening the file, extracted once by the
	 * caller (mime_extract, at delivery and APPEND); each may be NULL/0, and the store
	 * then derives it from the file itself at insert. */
	const void *header;        /* the top-level header section as in the file, its
				    * empty line included (BODY[HEADER], HEADER.FIELDS) */
	size_t header_len;
	const char *preview;       /* RFC 8970 preview: UTF-8, at most 256 characters */
	const char *text;          /* searchable text (SEARCH BODY/TEXT): the decoded text
				    * parts in UTF-8, bounded by the caller */
	size_t text_len;
	const char *message_id;    /* the Message-ID "<...>", for THREADID; NULL if none */
	const char *references;    /* the ids of References and In-Reply-To, "<a> <b>..." */
};

/* Kinds of change published after a commit (for IMAP IDLE, webmail, other nodes). The
 * hook's modseq is the mailbox's HIGHESTMODSEQ after an append, flag change or expunge;
 * for STORE_CH_MAILBOX, and for rows recovery dropped (kind EXPUNGE, modseq 0), it only
 * says that something changed. */
enum store_change_kind {
	STORE_CH_APPEND,
	STORE_CH_FLAGS,
	STORE_CH_EXPUNGE,
	STORE_CH_MAILBOX, /* created, renamed, deleted, (un)subscribed */
};
typedef void (*store_change_fn)(void *arg, int64_t account_id, int64_t mailbox_id,
				enum store_change_kind kind, uint64_t modseq);

enum store_flag_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* ---- the backend vtable ---- */
/* The layout of struct store_ops. store_env_open refuses a backend that was built for
 * another one (ERR_INVAL); raise it with every op added, removed or changed. */
#define STORE_OPS_VERSION 2
/* env_open, env_close, recover and close must be set; any other op a backend leaves NULL
 * makes its wrapper answer ERR_INVAL (store_domain_is_local: false). */
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
	int (*deliver_batch)(struct store_env *env, const int64_t *account_ids,
			     const struct store_new_msg *const *msgs, size_t n, int *results);
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

/* Open the store for a data dir with the named backend (NULL: the first compiled in),
 * creating the data dir and its accounts/ if missing. primary: the caller holds the
 * data dir's lock (one process at a time, cmd/cmd_lock.c), so this env runs recovery
 * and sweeps files; a non-primary env (an admin command beside a running server) only
 * reads and writes rows. <data>/spool is deliver/'s: the store never touches it.
 * ERR_NOTFOUND for an unknown backend, ERR_INVAL for one built for another
 * STORE_OPS_VERSION, ERR_PERM for files written by a newer schema. */
int store_env_open(const char *backend, const char *data_dir, bool primary,
		   struct store_env **out);
/* Close every handle; a primary env leaves the clean-shutdown marker, so the next start
 * skips the full sweep. Sets *env to NULL. */
void store_env_close(struct store_env **env);
/* One hook per env, set before other threads use it. It is called after each commit
 * that changes what a mailbox shows (append, flags, expunge, mailbox created, renamed,
 * deleted or (un)subscribed; not POP3 marks or directory changes), once the change is
 * durable, on the committing thread, with no database lock held: it must not block. */
void store_set_change_hook(struct store_env *env, store_change_fn fn, void *arg);

/* ERR_EXISTS if an account or an alias has the address. Account ids are never reused. */
int store_account_add(struct store_env *env, const char *address, const char *pwhash,
		      uint64_t quota_bytes, int64_t *id_out);
/* Removes the account, its aliases and its mail. ERR_NOTFOUND if none. */
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
/* key: "password" (value: a crypt hash), "quota" (bytes, or with a K/M/G/T suffix),
 * "quota_messages", "pop3" (on/off, yes/no, true/false, 1/0). ERR_INVAL for another key
 * or a bad value, ERR_NOTFOUND for an unknown account. */
int store_account_set(struct store_env *env, const char *address, const char *key,
		      const char *value);
/* ERR_EXISTS if the alias is taken or is an account's address, ERR_NOTFOUND if there is
 * no account `address`. */
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
/* Address or alias (case-insensitive) to an account id; when neither matches, again
 * without the "+detail" (from the first '+' of the local part to the '@'; a local part
 * that starts with '+' has none). ERR_NOTFOUND if nothing matches. */
int store_resolve(struct store_env *env, const char *address, int64_t *id_out);

/* ERR_NOTFOUND for an unknown account. Cheap: database handles are pooled per account
 * in the env, so sessions may open per command instead of holding a store while idle.
 * The handle is one thread's at a time (see Threads above) until store_close. */
int store_open(struct store_env *env, int64_t account_id, struct store **out);
void store_close(struct store **st);
int store_usage(struct store *st, uint64_t *bytes_out, uint64_t *messages_out);

int store_mailbox_list(struct store *st, struct arena *a, struct store_mailbox **out,
		       size_t *n_out);
int store_mailbox_get(struct store *st, const char *name, struct arena *a,
		      struct store_mailbox *out);
/* Creates missing parent levels too (RFC 9051 6.3.4). ERR_EXISTS, ERR_INVAL for a bad
 * name or special_use bit. */
int store_mailbox_create(struct store *st, const char *name, unsigned special_use);
/* Renames the levels below along and keeps UIDVALIDITY; renaming INBOX moves its
 * messages to the new name and leaves INBOX empty (RFC 9051 6.3.6). ERR_NOTFOUND,
 * ERR_EXISTS (for any name of the renamed tree), ERR_INVAL for a bad target name. */
int store_mailbox_rename(struct store *st, const char *from, const char *to);
/* Removes the mailbox and its messages (not the levels below). ERR_PERM for INBOX. */
int store_mailbox_delete(struct store *st, const char *name);
int store_mailbox_subscribe(struct store *st, const char *name, bool on);
/* Mailbox names are checked here: '/' between levels, well-formed UTF-8, no control
 * characters (C0, DEL, C1), no '*' or '%', no empty, "." or ".." levels, at most
 * LIMIT_MAILBOX_NAME bytes. "inbox" in any case, alone or as the first level, means
 * INBOX. A name the check refuses is ERR_NOTFOUND where a mailbox is looked up and
 * ERR_INVAL where one is made. */
bool store_mailbox_name_ok(const char *name);

/* Messages with uid_first <= uid <= uid_last (UINT32_MAX for "*"), ascending by uid,
 * from one snapshot. ERR_NOTFOUND for an unknown mailbox. */
int store_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		   uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out);
/* A read-only fd on the message file (caller closes) and its size. ERR_NOTFOUND if
 * there is no such message (also when it was expunged meanwhile), ERR_IO if its file is
 * missing or unreadable (logged). */
int store_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
		   uint64_t *size_out);
/* The message's MIME structure, a mime_serialize blob (mime_deserialize reads it), copied
 * into a. A message stored without one is parsed from its file into a on the first call
 * and the blob is kept, so later calls only copy it (keeping it is skipped, never waited
 * for, while another writer holds the account's index). The parse allocates from a, so
 * a's room bounds it: ERR_TOO_BIG when the structure does not fit (the client gets NO; a
 * bigger arena may succeed). ERR_NOTFOUND if there is no such message, ERR_IO if its
 * file is missing or unreadable (logged). A blob stored in an older MIME_BLOB_VERSION is
 * returned as it is (mime_deserialize answers ERR_BAD_SYNTAX). */
int store_msg_mime(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
		   const void **blob_out, size_t *len_out);
/* Set, add or remove flags and keywords (keywords as in store_new_msg) on the messages
 * with these UIDs; unknown UIDs are skipped. Every message changed gets the same new
 * modseq; when nothing changes, HIGHESTMODSEQ stays. *modseq_out: HIGHESTMODSEQ after. */
int store_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		enum store_flag_op op, unsigned flags, const char *keywords,
		uint64_t *modseq_out);
/* Remove messages for good, usage shrinks; unknown UIDs are skipped. The rows go and
 * the UIDs are logged for store_expunged_since in one transaction; the files are
 * unlinked after the commit by a background thread. *modseq_out: HIGHESTMODSEQ after. */
int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		  uint64_t *modseq_out);
/* Record the first POP3 retrieval time (for [pop3] expire_days); a message that has
 * one keeps it. */
int store_pop3_mark(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		    int64_t when);
/* IMAP APPEND / import: durable before it returns. ERR_QUOTA if it would not fit,
 * ERR_NOTFOUND for an unknown mailbox, ERR_INVAL if m->size is not the file's size,
 * ERR_FULL when the mailbox has used up its UIDs. */
int store_append(struct store *st, const char *mailbox, const struct store_new_msg *m,
		 uint32_t *uid_out);
/* Group commit: msgs[i] into the INBOX of account account_ids[i] (one message may be
 * listed for several accounts), in order within an account. results[i] = 0 means stored
 * and durable when the call returns; otherwise a negative enum err for that entry
 * (ERR_QUOTA, ERR_NOTFOUND for an unknown account, ...). Returns 0, or a negative enum
 * err for the batch as a whole: ERR_INVAL or ERR_NOMEM before anything was done
 * (results[] untouched), ERR_IO when the flush failed (every entry then failed; rows
 * already committed may still show, so a retry can duplicate but never lose a
 * message). */
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
/* Full consistency sweep of every account, the one store_env_open runs after an
 * unclean shutdown: drops rows whose file is missing or of another size (logged as
 * expunged), removes files no row references, recomputes usage. On a live store it
 * leaves unreferenced files younger than an hour alone (a delivery may have linked one
 * and not yet committed its row). Slow on big stores; for admin use. */
int store_check(struct store_env *env);

/* Flushes (fsync/syncfs) the store issued itself since the process started, for metrics
 * and the benchmark; the database's own log syncs at commit are not counted. */
uint64_t store_flush_count(void);

#endif
