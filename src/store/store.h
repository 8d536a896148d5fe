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
 *   - store_append_multi: every file fsynced, then all rows in one commit;
 *   - flags, expunge, copy, move, recent claims, POP3 marks, mailbox and directory
 *     changes: committed with a flushed log (one log flush per call, however many
 *     messages it changes). The files of expunged messages and deleted mailboxes are
 *     unlinked later, in the background, and a deleted account's folder right after its
 *     row: a crash before that leaves files no row names, which recovery removes.
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
struct store_activity;
struct store_submission_list;

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
/* Everything IMAP STATUS (and LIST-STATUS) asks for; the counts are kept up to date by
 * every change, so reading them costs no scan of the messages. */
struct store_mailbox {
	int64_t id;              /* never reused in the account; stays across RENAME */
	const char *name;        /* "INBOX" or hierarchy with '/' as separator, UTF-8 */
	const char *mailboxid;   /* RFC 8474 MAILBOXID: random, stays across RENAME */
	uint32_t uidvalidity;
	uint32_t uidnext;
	/* The highest modseq of a change in this mailbox (the account-wide counter's value
	 * at its last append, flag change, expunge, copy or move into or out of it, or its
	 * creation); never decreases. */
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t unseen;         /* without \Seen */
	uint32_t deleted;        /* with \Deleted (STATUS DELETED) */
	uint32_t recent;         /* not yet claimed by store_recent_claim (rev1 RECENT) */
	uint64_t bytes;          /* sum of the messages' sizes (STATUS SIZE) */
	unsigned special_use;    /* enum store_special bits */
	bool subscribed;         /* its name is in the subscription list (a name, not the
				  * mailbox: see store_subscription_set) */
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
	/* RFC 8474 EMAILID: made at delivery or APPEND, never reused; a copy (store_copy,
	 * store_move) keeps the EMAILID of its original, so two messages of a mailbox can
	 * share it. POP3 derives its UIDL from it (pop3_maildrop.c). 32 lowercase hex. */
	const char *guid;
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
	 * then derives it from the file itself at insert. A header longer than
	 * LIMIT_CACHED_HEADER is not kept (store_msg_extra then says "read the file"). */
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
 * hook's modseq is the mailbox's HIGHESTMODSEQ after an append, flag change, expunge,
 * copy or move (a move publishes EXPUNGE for the source and APPEND for the target, with
 * the same modseq); for STORE_CH_MAILBOX it is the account's modseq after the change
 * (mailbox_id 0 for a subscription change, whose modseq is 0 when no mailbox has that
 * name), and for rows recovery dropped (kind EXPUNGE) it is 0: both only say that
 * something changed. */
enum store_change_kind {
	STORE_CH_APPEND,
	STORE_CH_FLAGS,
	STORE_CH_EXPUNGE,
	STORE_CH_MAILBOX, /* created, renamed, deleted, (un)subscribed */
};
typedef void (*store_change_fn)(void *arg, int64_t account_id, int64_t mailbox_id,
				enum store_change_kind kind, uint64_t modseq);

enum store_flag_op { STORE_FLAGS_SET, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* No UNCHANGEDSINCE condition (modseqs never come near it). */
#define STORE_UNCONDITIONAL UINT64_MAX

/* One STORE: flags and keywords (as in store_new_msg) set, added or removed; applied
 * only to messages whose modseq <= unchangedsince (RFC 7162 3.1.3; 0 refuses every
 * message, STORE_UNCONDITIONAL none). */
struct store_flags_change {
	enum store_flag_op op;
	unsigned flags;            /* enum store_flag bits */
	const char *keywords;
	uint64_t unchangedsince;
};

/* What a STORE did. Arrays come from the caller's arena (NULL when empty). */
struct store_flags_result {
	uint64_t modseq;           /* HIGHESTMODSEQ after; every changed message has it */
	uint32_t *changed;         /* UIDs whose flags or keywords changed, in uids[] order */
	size_t n_changed;
	uint32_t *failed;          /* UIDs refused by unchangedsince ([MODIFIED]), same order */
	size_t n_failed;
};

/* What a COPY or MOVE did (RFC 4315 COPYUID, RFC 6851). src_uids[i] became
 * dst_uids[i]; UIDs of uids[] that do not exist are left out; dst_uids ascend. */
struct store_copy_result {
	uint32_t uidvalidity;      /* the target's */
	uint32_t *src_uids;
	uint32_t *dst_uids;
	size_t n;
	uint64_t modseq;           /* the target's HIGHESTMODSEQ after (and the source's,
				    * for a move that moved something) */
};

/* What store_msg_extra reads besides the store_msg columns. */
enum store_extra_want {
	STORE_X_HEADER = 1 << 0,
	STORE_X_PREVIEW = 1 << 1,
	STORE_X_THREAD = 1 << 2,
};
struct store_msg_extra {
	uint32_t uid;
	/* RFC 8474 THREADID (STORE_X_THREAD): "T" + 32 hex, the same for every message of a
	 * thread (see store_append_multi), never changes. */
	const char *thread_id;
	/* RFC 8970 PREVIEW (STORE_X_PREVIEW): UTF-8, at most 256 characters; NULL when the
	 * message has no text a preview could be made from. */
	const char *preview;
	/* The top-level header section incl. its empty line (STORE_X_HEADER); NULL when it
	 * is not cached (longer than LIMIT_CACHED_HEADER): read it from the file. */
	const void *header;
	size_t header_len;
};

/* Fields store_search looks in. SUBJECT/FROM/TO/CC/BCC are those header fields decoded
 * (RFC 2047, charsets) to UTF-8, all occurrences; BODY is the message's text
 * (store_new_msg.text); TEXT is all six. Other header fields are not indexed. */
enum store_search_field {
	STORE_SEARCH_SUBJECT,
	STORE_SEARCH_FROM,
	STORE_SEARCH_TO,
	STORE_SEARCH_CC,
	STORE_SEARCH_BCC,
	STORE_SEARCH_BODY,
	STORE_SEARCH_TEXT,
};

/* ---- JMAP changes and emails (declared here for struct store_ops; see the section
 * "JMAP view" below) ---- */
struct store_changes;
struct store_email;
struct store_email_query;
struct store_email_list;

/* ---- the backend vtable ---- */
/* The layout of struct store_ops. store_env_open refuses a backend that was built for
 * another one (ERR_INVAL); raise it with every op added, removed or changed. */
#define STORE_OPS_VERSION 7
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
	int (*modseq)(struct store *st, uint64_t *modseq_out);
	int (*mailbox_list)(struct store *st, struct arena *a, struct store_mailbox **out,
			    size_t *n_out);
	int (*mailbox_get)(struct store *st, const char *name, struct arena *a,
			   struct store_mailbox *out);
	int (*mailbox_get_id)(struct store *st, int64_t mailbox_id, struct arena *a,
			      struct store_mailbox *out);
	int (*mailbox_create)(struct store *st, const char *name, unsigned special_use);
	int (*mailbox_rename)(struct store *st, const char *from, const char *to);
	int (*mailbox_delete)(struct store *st, const char *name);
	int (*subscription_set)(struct store *st, const char *name, bool on);
	int (*subscription_list)(struct store *st, struct arena *a, const char ***names_out,
				 size_t *n_out);
	int (*mailbox_keywords)(struct store *st, int64_t mailbox_id, struct arena *a,
				const char **keywords_out, bool *more_out);
	int (*recent_claim)(struct store *st, int64_t mailbox_id, uint32_t *first_out,
			    uint32_t *end_out);
	int (*msg_list)(struct store *st, int64_t mailbox_id, uint32_t uid_first,
			uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out);
	int (*msg_uids)(struct store *st, int64_t mailbox_id, uint32_t uid_first,
			uint32_t uid_last, struct arena *a, uint32_t **uids_out, size_t *n_out);
	int (*msg_changed)(struct store *st, int64_t mailbox_id, uint64_t modseq,
			   uint32_t uid_first, uint32_t uid_last, struct arena *a,
			   struct store_msg **out, size_t *n_out);
	int (*msg_extra)(struct store *st, int64_t mailbox_id, uint32_t uid_first,
			 uint32_t uid_last, unsigned want, struct arena *a,
			 struct store_msg_extra **out, size_t *n_out, uint32_t *next_out);
	int (*msg_open)(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
			uint64_t *size_out);
	int (*msg_mime)(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
			const void **blob_out, size_t *len_out);
	int (*flags)(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		     const struct store_flags_change *c, struct arena *a,
		     struct store_flags_result *out);
	int (*expunge)(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		       uint64_t *modseq_out);
	int (*expunge_deleted)(struct store *st, int64_t mailbox_id, const uint32_t *uids,
			       size_t n, struct arena *a, uint32_t **gone_out, size_t *n_gone_out,
			       uint64_t *modseq_out);
	int (*copy)(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
		    int64_t to_mailbox, bool move, struct arena *a,
		    struct store_copy_result *out);
	int (*search)(struct store *st, int64_t mailbox_id, enum store_search_field field,
		      const char *needle, struct arena *a, uint32_t **uids_out, size_t *n_out);
	int (*pop3_mark)(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
			 int64_t when);
	int (*append)(struct store *st, const char *mailbox,
		      const struct store_new_msg *const *msgs, size_t n,
		      uint32_t *uidvalidity_out, uint32_t *uids_out);
	int (*deliver_batch)(struct store_env *env, const int64_t *account_ids,
			     const struct store_new_msg *const *msgs, size_t n, int *results);
	int (*quota_warned)(struct store *st, int *get_out, int set);
	int (*expunged_since)(struct store *st, int64_t mailbox_id, uint64_t modseq,
			      uint32_t uid_first, uint32_t uid_last, struct arena *a,
			      uint32_t **uids_out, size_t *n_out, bool *complete_out);
	int (*expunged_prune)(struct store *st, int64_t mailbox_id, int64_t older_than,
			      size_t keep);
	int (*check)(struct store_env *env);
	bool (*domain_is_local)(struct store_env *env, const char *domain);
	int (*alias_list)(struct store_env *env, struct arena *a, struct store_alias **out,
			  size_t *n_out);
	/* uploads, tokens, activity, identities (JMAP support) */
	int (*blob_put)(struct store *st, int fd, const void *data, uint64_t size,
			const char *type, struct arena *a, const char **blob_id_out);
	int (*blob_open)(struct store *st, const char *blob_id, int *fd_out,
			 uint64_t *size_out, const char **type_out, struct arena *a);
	int (*token_add)(struct store_env *env, int64_t account_id, const uint8_t hash[32],
			 int64_t expires);
	int (*token_get)(struct store_env *env, const uint8_t hash[32], int64_t now,
			 int64_t *account_id_out);
	int (*token_del)(struct store_env *env, const uint8_t hash[32]);
	int (*activity_seen)(struct store_env *env, int64_t account_id, const char *protocol,
			     const char *client, const char *address, int64_t now);
	int (*activity_removed)(struct store_env *env, int64_t account_id,
				const char *protocol, const char *client, const char *address,
				uint32_t count, uint64_t bytes, int64_t now);
	int (*activity_list)(struct store_env *env, int64_t account_id, struct arena *a,
			     struct store_activity **out, size_t *n_out);
	int (*account_aliases)(struct store_env *env, int64_t account_id, struct arena *a,
			       const char ***names_out, size_t *n_out);
	int (*submission_add)(struct store_env *env, int64_t account_id, const char *object,
			      int64_t now, int64_t *id_out);
	int (*submission_destroy)(struct store_env *env, int64_t account_id, int64_t id);
	int (*submission_list)(struct store_env *env, int64_t account_id, struct arena *a,
			       struct store_submission_list *out);
	/* JMAP changes and emails */
	int (*email_changes)(struct store *st, uint64_t since, size_t max, struct arena *a,
			     struct store_changes *out);
	int (*mailbox_changes)(struct store *st, uint64_t since, size_t max, struct arena *a,
			       struct store_changes *out, bool *counts_only_out);
	int (*thread_changes)(struct store *st, uint64_t since, size_t max, struct arena *a,
			      struct store_changes *out);
	int (*email_get)(struct store *st, const char *const *ids, size_t n, struct arena *a,
			 struct store_email **out, size_t *n_out);
	int (*thread_get)(struct store *st, const char *thread_id, struct arena *a,
			  const char ***email_ids_out, size_t *n_out);
	int (*changes_prune)(struct store *st, int64_t older_than, size_t keep);
	int (*email_query)(struct store *st, const struct store_email_query *q,
			   struct arena *a, struct store_email_list *out);
	int (*email_scan)(struct store *st, struct arena *a, struct store_email **out,
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
 * that changes what a mailbox shows (append, flags, expunge, copy, move, mailbox
 * created, renamed, deleted or (un)subscribed; not POP3 marks, recent claims or
 * directory changes), once the change is durable, on the committing thread, with no
 * database lock held: it must not block. */
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
/* Quota usage (RFC 9208 STORAGE in bytes, MESSAGE): the sum of the sizes and the number
 * of all messages of the account; a copy counts in full (as in Dovecot), a move not
 * again. Limits are the account's quota_bytes / quota_messages. */
int store_usage(struct store *st, uint64_t *bytes_out, uint64_t *messages_out);
/* The account-wide modseq: every change of the account (append, flags, expunge, copy,
 * move, mailbox create/rename/delete) takes the next value of this one counter, so it
 * is also the JMAP state. Rises, never repeats. */
int store_modseq(struct store *st, uint64_t *modseq_out);

/* All mailboxes (LIST, LIST-STATUS), ordered by name, each with its STATUS counts read
 * in the same snapshot; store_mailbox_get(_id) one (STATUS, SELECT). Both cost one
 * indexed read per mailbox, whatever their sizes. */
int store_mailbox_list(struct store *st, struct arena *a, struct store_mailbox **out,
		       size_t *n_out);
int store_mailbox_get(struct store *st, const char *name, struct arena *a,
		      struct store_mailbox *out);
/* By id (what a change hook names; also after another session renamed it).
 * ERR_NOTFOUND if there is none (deleted). */
int store_mailbox_get_id(struct store *st, int64_t mailbox_id, struct arena *a,
			 struct store_mailbox *out);
/* Creates missing parent levels too (RFC 9051 6.3.4). ERR_EXISTS, ERR_INVAL for a bad
 * name or special_use bit. Each new mailbox gets a new UIDVALIDITY and MAILBOXID. */
int store_mailbox_create(struct store *st, const char *name, unsigned special_use);
/* Renames the levels below along and keeps UIDVALIDITY and MAILBOXID; the subscribed
 * names among from and the names below it are renamed in the same transaction (see
 * store_subscription_set). Renaming INBOX moves its messages to a new mailbox of the
 * new name (new UIDVALIDITY and MAILBOXID, EMAILIDs kept) and leaves INBOX empty (RFC
 * 9051 6.3.6), the moved UIDs logged as expunged from INBOX; no subscription changes
 * then. ERR_NOTFOUND, ERR_EXISTS (for any name of the renamed tree), ERR_INVAL for a
 * bad target name, ERR_TOO_LONG when a renamed mailbox or subscribed name would pass
 * LIMIT_MAILBOX_NAME (nothing renamed). */
int store_mailbox_rename(struct store *st, const char *from, const char *to);
/* Removes the mailbox and its messages (not the levels below, not its subscription).
 * ERR_PERM for INBOX. */
int store_mailbox_delete(struct store *st, const char *name);
/* Subscriptions (IMAP SUBSCRIBE/UNSUBSCRIBE, LIST (SUBSCRIBED), LSUB; JMAP
 * isSubscribed) are a set of names per account, apart from the mailboxes: a name may be
 * subscribed whether a mailbox of that name exists or not (RFC 9051 6.3.7), and stays
 * subscribed when its mailbox is deleted (RFC 3501 6.3.6: never removed unilaterally).
 * store_mailbox_rename takes the subscriptions of the renamed tree along, so a renamed
 * folder stays subscribed (Dovecot 2.3 leaves them under the old names; a client that
 * moves them itself still gets OK for UNSUBSCRIBE old and SUBSCRIBE new). A new account
 * starts with INBOX and its special-use mailboxes subscribed.
 * Add (on) or remove one name, checked and written like a mailbox name
 * (store_mailbox_name_ok; "inbox" in any case, also as the first level, is INBOX).
 * Adding a name that is there or removing one that is not changes nothing and is
 * success; a change is published (STORE_CH_MAILBOX, mailbox_id 0, modseq 0: no
 * modseq is taken). ERR_INVAL for a bad name, ERR_FULL when a new name would pass
 * LIMIT_SUBSCRIPTIONS. */
int store_subscription_set(struct store *st, const char *name, bool on);
/* Every subscribed name, in octet order; the array and the strings come from the arena
 * (NULL when none). At most LIMIT_SUBSCRIPTIONS names. */
int store_subscription_list(struct store *st, struct arena *a, const char ***names_out,
			    size_t *n_out);
/* Mailbox names are checked here: '/' between levels, well-formed UTF-8, no control
 * characters (C0, DEL, C1), no '*' or '%', no empty, "." or ".." levels, at most
 * LIMIT_MAILBOX_NAME bytes. "inbox" in any case, alone or as the first level, means
 * INBOX. A name the check refuses is ERR_NOTFOUND where a mailbox is looked up and
 * ERR_INVAL where one is made. */
bool store_mailbox_name_ok(const char *name);
/* The keywords defined in a mailbox (IMAP FLAGS / PERMANENTFLAGS, beside the system
 * flags): every keyword ever set on a message in it (append, STORE, copy, move), in
 * the spelling first used, space-separated ("" if none), from the arena. A keyword
 * stays defined after its last message lost it. *more_out: whether a STORE or APPEND
 * may still define new ones (fewer than LIMIT_MAILBOX_KEYWORDS: PERMANENTFLAGS \*).
 * ERR_NOTFOUND for an unknown mailbox. */
int store_mailbox_keywords(struct store *st, int64_t mailbox_id, struct arena *a,
			   const char **keywords_out, bool *more_out);
/* \Recent for IMAP4rev1 (RFC 3501 2.3.2): atomically take the messages no session has
 * claimed yet. Messages with *first_out <= uid < *end_out are recent for the caller and
 * for nobody else; the mailbox's marker moves to *end_out (its UIDNEXT now), so the
 * next claim (by any session) gets only messages that arrive later. Call at SELECT and
 * when new messages show up. ERR_NOTFOUND for an unknown mailbox. */
int store_recent_claim(struct store *st, int64_t mailbox_id, uint32_t *first_out,
		       uint32_t *end_out);

/* Messages with uid_first <= uid <= uid_last (UINT32_MAX for "*"), ascending by uid,
 * from one snapshot. ERR_NOTFOUND for an unknown mailbox. */
int store_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		   uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out);
/* Only the UIDs of the same range (SELECT's UID map, QRESYNC's check of a client's
 * known UIDs): 4 bytes per message. ERR_NOTFOUND for an unknown mailbox. */
int store_msg_uids(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		   uint32_t uid_last, struct arena *a, uint32_t **uids_out, size_t *n_out);
/* Messages of the UID range whose modseq > `modseq` (CONDSTORE FETCH CHANGEDSINCE,
 * QRESYNC, the updates a selected session sends after a change), ascending by uid, from
 * one snapshot: flag changes and new messages. Found through the (mailbox, modseq)
 * index, so the cost follows the number of changes, not the mailbox's size. What was
 * expunged is store_expunged_since's. ERR_NOTFOUND for an unknown mailbox. */
int store_msg_changed(struct store *st, int64_t mailbox_id, uint64_t modseq,
		      uint32_t uid_first, uint32_t uid_last, struct arena *a,
		      struct store_msg **out, size_t *n_out);
/* Thread id, preview and cached header (`want`: enum store_extra_want bits; what is not
 * asked for stays NULL) of the messages of a UID range, ascending, without opening
 * their files (FETCH BODY[HEADER], HEADER.FIELDS, ENVELOPE-less message lists,
 * PREVIEW, THREADID). Stops early when the arena would run out: *next_out is then the
 * first UID not returned (ask again from there with a fresh arena), 0 when the range is
 * complete; at least one message is returned when the range has one, else ERR_NOMEM.
 * ERR_NOTFOUND for an unknown mailbox. */
int store_msg_extra(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		    uint32_t uid_last, unsigned want, struct arena *a,
		    struct store_msg_extra **out, size_t *n_out, uint32_t *next_out);
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
/* IMAP STORE: apply c to the messages with these UIDs (unknown UIDs are skipped; a UID
 * listed twice counts once), in one transaction against the current flags, so
 * concurrent STOREs never undo each other. Every message that changes gets the same new
 * modseq; when nothing changes, HIGHESTMODSEQ stays and nothing is published. Messages
 * with modseq > c->unchangedsince are left as they are and listed in out->failed.
 * ERR_INVAL for a keyword with a control character, ERR_TOO_LONG past 4 KiB of keywords
 * on a message, ERR_FULL when a keyword new to the mailbox would pass
 * LIMIT_MAILBOX_KEYWORDS: nothing is changed then. ERR_NOTFOUND for an unknown mailbox.
 * a may be NULL when the caller needs no lists (out->changed/failed stay NULL, the
 * counts are still set); out may be NULL too. */
int store_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		const struct store_flags_change *c, struct arena *a,
		struct store_flags_result *out);
/* Remove messages for good, usage shrinks; unknown UIDs are skipped. The rows go and
 * the UIDs are logged for store_expunged_since in one transaction; the files are
 * unlinked after the commit by a background thread, once no copy names them any more.
 * *modseq_out: HIGHESTMODSEQ after. */
int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		  uint64_t *modseq_out);
/* IMAP EXPUNGE, CLOSE and UID EXPUNGE: expunge the messages that carry \Deleted when the
 * transaction runs (a flag set or cleared by another session a moment ago counts as it
 * is then): every such message of the mailbox when uids is NULL, else only those among
 * uids[0..n). The UIDs expunged, ascending, into a (*gone_out NULL when none); the rest
 * as store_expunge. */
int store_expunge_deleted(struct store *st, int64_t mailbox_id, const uint32_t *uids,
			  size_t n, struct arena *a, uint32_t **gone_out, size_t *n_gone_out,
			  uint64_t *modseq_out);
/* IMAP COPY: the messages uids[0..n) (ascending, no repeats, else ERR_INVAL) of
 * from_mailbox get new UIDs in to_mailbox (the same mailbox too), in that order; flags,
 * keywords, INTERNALDATE, EMAILID and THREADID come along, SAVEDATE is now. The copies
 * share the message file (no byte is written again; the file goes when its last message
 * does). A copy counts against the quota in full: ERR_QUOTA when the copies would not
 * fit, with nothing done. Durable before it returns. ERR_NOTFOUND for an unknown mailbox, ERR_FULL when the target's
 * UIDs would run out. Nothing of uids[] exists: success with out->n = 0. */
int store_copy(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
	       int64_t to_mailbox, struct arena *a, struct store_copy_result *out);
/* IMAP MOVE (RFC 6851): as store_copy, and in the same transaction the originals are
 * expunged from from_mailbox (logged for QRESYNC with the same modseq). Usage does not
 * change, so no quota check. */
int store_move(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
	       int64_t to_mailbox, struct arena *a, struct store_copy_result *out);
/* IMAP SEARCH SUBJECT/FROM/TO/CC/BCC/BODY/TEXT: the UIDs of the mailbox's messages whose
 * field contains the UTF-8 needle, ascending, into a. Case-insensitive substring match
 * (RFC 9051 6.4.4) after store_search_fold on both sides; accents are not folded.
 * Needles of 3 or more characters use the full-text index; shorter ones scan the
 * indexed text of the mailbox (never a message file). An empty needle matches every
 * message. ERR_NOTFOUND for an unknown mailbox, ERR_INVAL for a needle that is not
 * UTF-8, ERR_TOO_LONG past LIMIT_SEARCH_NEEDLE bytes. */
int store_search(struct store *st, int64_t mailbox_id, enum store_search_field field,
		 const char *needle, struct arena *a, uint32_t **uids_out, size_t *n_out);
/* The case folding store_search applies: [in, in+n) into out (room for n bytes; the
 * result is never longer), returns its length. Simple one-to-one lower-casing of Latin
 * (ASCII, Latin-1, Latin Extended-A and Additional), Greek, Cyrillic, Armenian and
 * fullwidth Latin; other characters, bytes that are not UTF-8 and accents stay as they
 * are. Sessions use it where they match text the store does not index. */
size_t store_search_fold(const char *in, size_t n, char *out);
/* Record the first POP3 retrieval time (for [pop3] expire_days); a message that has
 * one keeps it. */
int store_pop3_mark(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		    int64_t when);
/* Fill m's extracted fields (mime, header, preview, text, message_id, references) from
 * the message fd holds (m->size bytes; m->path only names it in logs), copied into a,
 * so that store_append need not parse inside its transaction. A failure (no memory, a
 * file that cannot be mapped) leaves m as it was: the store then extracts at insert. */
void store_new_msg_extract(struct store_new_msg *m, int fd, struct arena *a);
/* IMAP APPEND / import: durable before it returns. ERR_QUOTA if it would not fit,
 * ERR_NOTFOUND for an unknown mailbox, ERR_INVAL if m->size is not the file's size,
 * ERR_FULL when the mailbox has used up its UIDs or a keyword new to the mailbox would
 * pass LIMIT_MAILBOX_KEYWORDS. */
int store_append(struct store *st, const char *mailbox, const struct store_new_msg *m,
		 uint32_t *uid_out);
/* MULTIAPPEND (RFC 3502): msgs[0..n) into one mailbox, all or none: on any error
 * (those of store_append, for any of them; ERR_QUOTA when all together do not fit)
 * nothing is stored. uids_out (n entries, may be NULL) receives their UIDs, in order,
 * and *uidvalidity_out (may be NULL) the mailbox's UIDVALIDITY (APPENDUID). Every file
 * is fsynced, then all rows are committed in one transaction.
 * At insert (here and in store_deliver_batch) each message joins a thread: the thread
 * of the first id in `references` that an earlier message of the account had as its
 * Message-ID or referenced, else the thread of an earlier message that referenced this
 * one's Message-ID, else a new thread (at most LIMIT_REFERENCES ids are looked at). */
int store_append_multi(struct store *st, const char *mailbox,
		       const struct store_new_msg *const *msgs, size_t n,
		       uint32_t *uidvalidity_out, uint32_t *uids_out);
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
/* UIDs in [uid_first, uid_last] expunged from the mailbox (also moved out) by a change
 * with modseq > `modseq` (QRESYNC VANISHED (EARLIER), the updates of a selected
 * session), ascending; the array comes from the arena (NULL when n is 0).
 * The log is pruned (see store_expunged_prune): *complete_out says whether it still
 * holds every expunge after `modseq`. When false, the list is only what is left, and
 * the caller must treat every UID of the range it knows of that no longer exists as
 * expunged (RFC 7162 3.2.5.2). complete_out may be NULL. */
int store_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq,
			 uint32_t uid_first, uint32_t uid_last, struct arena *a,
			 uint32_t **uids_out, size_t *n_out, bool *complete_out);
/* Prune the mailbox's expunge log: drop the entries older than `older_than` (unix
 * seconds) that are not among the `keep` newest (by modseq; entries of one change go or
 * stay together). Expunges prune by themselves with now - LIMIT_EXPUNGED_KEEP_DAYS
 * days and LIMIT_EXPUNGED_KEEP entries; this call is for maintenance and tests. Every
 * later store_expunged_since below the pruned entries' modseq reports incomplete. */
int store_expunged_prune(struct store *st, int64_t mailbox_id, int64_t older_than,
			 size_t keep);
/* Full consistency sweep of every account, the one store_env_open runs after an
 * unclean shutdown: drops rows whose file is missing or of another size (logged as
 * expunged), removes files no row references, recomputes usage. On a live store it
 * leaves unreferenced files younger than an hour alone (a delivery may have linked one
 * and not yet committed its row). Slow on big stores; for admin use. */
int store_check(struct store_env *env);

/* Flushes (fsync/syncfs) the store issued itself since the process started, for metrics
 * and the benchmark; the database's own log syncs at commit are not counted. */
uint64_t store_flush_count(void);

/* ---- JMAP support: uploads, session tokens, the activity log, identities ----
 * Uploads (RFC 8620 6.1) are files under <data>/accounts/<id>/upload/: inside the
 * account, so deleting the account removes them, and never found by a path from a
 * client: a blob id must match ^U[0-9a-f]{32}$ (anything else is ERR_NOTFOUND). They
 * are not made durable (RFC 8620 promises nothing) and are kept LIMIT_BLOB_KEEP_HOURS
 * (24 h; RFC 8620 asks for at least 1 h), then removed lazily: on store_blob_put, and
 * when a store of the account is opened (at most once an hour per pooled handle);
 * that also removes what a crash left half-written. */

/* Store size bytes read from fd (from offset 0, with pread: the caller's offset and
 * the fd stay as they are; the caller closes it) as a new upload of the account, with
 * its media type (NULL or "" for application/octet-stream; else a MIME type
 * "type/subtype" of RFC 2045 token characters, optionally followed by parameters,
 * printable ASCII, at most LIMIT_BLOB_TYPE bytes: ERR_INVAL otherwise). *blob_id_out:
 * "U" + 32 lowercase hex (random), from the arena. ERR_TOO_BIG when size passes
 * LIMIT_BLOB_MAX (the caller bounds it by its own, lower, configured limit first:
 * [http] max_upload_size); ERR_QUOTA when the account's usage + size would pass its
 * quota_bytes (uploads themselves are not counted in the usage); ERR_INVAL when fd
 * holds fewer than size bytes. */
int store_blob_put(struct store *st, int fd, uint64_t size, const char *type,
		   struct arena *a, const char **blob_id_out);
/* The same for a body held in memory (data[0..size)). */
int store_blob_put_mem(struct store *st, const void *data, uint64_t size, const char *type,
		       struct arena *a, const char **blob_id_out);
/* A read-only fd on an upload of this account (the caller closes it), positioned at 0,
 * its size and type (from the arena). Uploads only: "G..." ids are the JMAP layer's
 * (store_email_get + store_msg_open). ERR_NOTFOUND for an id of another form, one that
 * is not this account's (another account's upload included), or one past its 24 h. */
int store_blob_open(struct store *st, const char *blob_id, int *fd_out, uint64_t *size_out,
		    const char **type_out, struct arena *a);

/* Session tokens (JMAP/webmail login). The store sees only hash = SHA-256(token), never
 * the token. A token has an idle lifetime: expires - now at store_token_add; every
 * store_token_get that finds it moves its expiry to now + that lifetime (written at
 * most once a minute, so not every request writes). Deleted with the account; expired
 * ones are removed by later adds. ERR_INVAL for expires not after now, ERR_NOTFOUND
 * for an unknown account, ERR_EXISTS for a hash that is there already. */
int store_token_add(struct store_env *env, int64_t account_id, const uint8_t hash[32],
		    int64_t expires);
/* ERR_NOTFOUND when unknown or expired at `now` (unix seconds); slides the expiry. */
int store_token_get(struct store_env *env, const uint8_t hash[32], int64_t now,
		    int64_t *account_id_out);
/* Logout: the token is gone (ERR_NOTFOUND if it was not there). */
int store_token_del(struct store_env *env, const uint8_t hash[32]);

/* The activity log of an account (the webmail's "devices and activity" page): which
 * clients used it, and what POP3 sessions removed from it. Bounded: entries older than
 * LIMIT_ACTIVITY_DAYS go, and at most LIMIT_ACTIVITY_ROWS per account of each kind
 * (the oldest go), pruned on write. Writes are cheap and not flushed
 * (synchronous=NORMAL): a crash may lose the last ones, never a session's time. */
enum store_activity_kind {
	STORE_ACT_CLIENT,          /* a client seen: first_seen .. last_seen */
	STORE_ACT_REMOVED,         /* a POP3 UPDATE that removed count messages */
};
struct store_activity {
	enum store_activity_kind kind;
	const char *protocol;      /* "imap", "pop3", "submission", "http", ... */
	const char *client;        /* IMAP ID name/version, HTTP User-Agent; NULL unknown */
	const char *address;       /* the peer's IP address; NULL unknown */
	int64_t first_seen;        /* unix seconds; REMOVED: when (= last_seen) */
	int64_t last_seen;
	uint32_t count;            /* REMOVED: messages removed */
	uint64_t bytes;            /* REMOVED: their octets */
};
/* Upsert the (protocol, client, address) row of the account (client and address may
 * be NULL; NULLs compare equal): first_seen stays, last_seen = now. Strings are
 * sanitized by the store (control characters become '?', cut to
 * LIMIT_ACTIVITY_STRING bytes at a UTF-8 boundary); protocol must be non-empty.
 * ERR_NOTFOUND for an unknown account. */
int store_activity_seen(struct store_env *env, int64_t account_id, const char *protocol,
			const char *client, const char *address, int64_t now);
/* Log that a session removed count messages of `bytes` octets at `now`. */
int store_activity_removed(struct store_env *env, int64_t account_id, const char *protocol,
			   const char *client, const char *address, uint32_t count,
			   uint64_t bytes, int64_t now);
/* Both kinds, newest first (by last_seen), at most 2 * LIMIT_ACTIVITY_ROWS; the array
 * and strings from the arena (NULL when none). */
int store_activity_list(struct store_env *env, int64_t account_id, struct arena *a,
			struct store_activity **out, size_t *n_out);

/* Identities (RFC 8621 7): the account's aliases, ordered, from the arena (NULL when
 * none); the account's own address is store_account_get_id's. ERR_NOTFOUND for an
 * unknown account. */
int store_account_aliases(struct store_env *env, int64_t account_id, struct arena *a,
			  const char ***names_out, size_t *n_out);

/* JMAP EmailSubmissions (RFC 8621 7) of an account, kept so that EmailSubmission/get,
 * /changes and /query can answer after the send. The store keeps each one's object as
 * JSON text it does not read (the JMAP layer's, at most LIMIT_SUBMISSION_OBJECT bytes)
 * under an id of its own, and a change counter per account: adding and destroying take
 * its next value, and a destroyed submission stays as a tombstone so /changes can
 * name it. Bounded: submissions older than LIMIT_SUBMISSION_DAYS and those past the
 * newest LIMIT_SUBMISSION_ROWS go (pruned when one is added); `pruned` then says up to
 * which change the history is incomplete (changes from before it: cannotCalculate). */
struct store_submission {
	int64_t id;                /* > 0, never reused */
	uint64_t seq;              /* the change that added it */
	uint64_t destroyed;        /* the change that destroyed it; 0 while it lives */
	int64_t created;           /* unix seconds */
	const char *object;        /* NULL for a tombstone */
};
struct store_submission_list {
	struct store_submission *v; /* ascending by id, tombstones included */
	size_t n;
	uint64_t state;            /* the account's newest change (0: none yet) */
	uint64_t pruned;           /* the newest change pruned away (0: none) */
};
/* Keep a new submission (durable when this returns): *id_out. ERR_TOO_BIG for an object
 * past LIMIT_SUBMISSION_OBJECT, ERR_NOTFOUND for an unknown account. */
int store_submission_add(struct store_env *env, int64_t account_id, const char *object,
			 int64_t now, int64_t *id_out);
/* Destroy one (it becomes a tombstone). ERR_NOTFOUND when it is not the account's live
 * submission. */
int store_submission_destroy(struct store_env *env, int64_t account_id, int64_t id);
/* Every kept submission of the account (at most LIMIT_SUBMISSION_ROWS and their
 * tombstones), strings and array from the arena. */
int store_submission_list(struct store_env *env, int64_t account_id, struct arena *a,
			  struct store_submission_list *out);

/* ---- JMAP view: changes and emails (RFC 8620 5.2, RFC 8621 2.2, 3.2, 4.3) ----
 * A JMAP Email is every message of the account sharing one EMAILID (store_msg.guid: the
 * copies of store_copy); its id is that guid. A Mailbox's id is its MAILBOXID, a
 * Thread's its THREADID ("T" + 32 hex). The JMAP state of every type is the account's
 * modseq (store_modseq): a change of anything takes its next value.
 * The changes are recorded by the backend inside the transaction of every write
 * (delivery, APPEND, MULTIAPPEND, flags, expunge, copy, move, mailbox create, rename and
 * delete, recovery and store_check dropping rows), so IMAP, POP3 and JMAP writes all
 * show. What was destroyed is remembered as a tombstone, pruned like the expunge log
 * (older than LIMIT_EXPUNGED_KEEP_DAYS and not among the LIMIT_EXPUNGED_KEEP newest;
 * the tombstones of one change go or stay together). */

/* The answer of a changes call. Ids and arrays come from the caller's arena (NULL when
 * empty). An id is in at most one of the three lists:
 *   created   made after `since` (also when changed again after);
 *   updated   existed at `since` and changed after it;
 *   destroyed existed at `since` and is gone now (made and gone after since: left out).
 * old_modseq is `since`; new_modseq the state the lists bring a client to: the current
 * modseq, or, when more is true, the last modseq included (an intermediate state: ask
 * again from there). The cut falls between two modseqs, never inside one change; an
 * id is sorted by the modseq it was created at when created, else by its last change. */
struct store_changes {
	const char **created, **updated, **destroyed;
	size_t n_created, n_updated, n_destroyed;
	uint64_t old_modseq, new_modseq;
	bool more;
};

/* Email/changes: the EMAILIDs changed since `since` (RFC 8621 4.3). An Email is updated
 * when a copy's flags or keywords change, or a copy is added to or removed from a
 * mailbox (copy, move, expunge of one of several copies); destroyed when its last copy
 * goes. At most max ids in all (max >= 1, else ERR_INVAL). ERR_GONE
 * (cannotCalculateChanges) when since is older than the kept tombstones, or when the
 * changes of a single modseq alone are more than max (the client then reloads);
 * ERR_INVAL when since is newer than the current modseq. */
int store_email_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			struct store_changes *out);
/* Mailbox/changes (RFC 8621 2.2): MAILBOXIDs of the mailboxes created, changed (renamed,
 * special use, or their counts: a message added, removed, or its $seen/$draft changed,
 * also of another mailbox's message of a thread it holds, for unreadThreads) and
 * deleted; rules and errors as store_email_changes. *counts_only_out: true when some
 * mailbox was updated and every updated one changed only in its counts (JMAP
 * updatedProperties totalEmails, unreadEmails, totalThreads, unreadThreads), false
 * otherwise (null). Subscriptions take no modseq (store_subscription_set), so
 * isSubscribed changes do not show here. */
int store_mailbox_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			  struct store_changes *out, bool *counts_only_out);
/* Thread/changes (RFC 8621 3.2): THREADIDs of the threads an Email joined or left
 * (created: the thread's first Email came after since; destroyed: its last Email
 * went); rules and errors as store_email_changes. */
int store_thread_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			 struct store_changes *out);

/* One Email as store_email_get reads it. flags/keywords are those of the first copy
 * (the lowest mailbox id, then the lowest uid): JMAP writes keep the copies equal. */
struct store_email {
	const char *id;            /* the EMAILID asked for */
	const char *thread_id;     /* THREADID */
	uint64_t size;
	int64_t received_at;       /* the earliest INTERNALDATE of the copies */
	unsigned flags;            /* enum store_flag bits */
	const char *keywords;      /* space-separated, "" if none */
	size_t n;                  /* copies: mailbox_ids[i] holds it as uids[i], */
	int64_t *mailbox_ids;      /* ascending by mailbox id, then uid */
	uint32_t *uids;
};
/* The Emails of ids[0..n) that exist, in the order asked, from one snapshot; unknown
 * ids (also another account's, or not 32 hex) are left out: JMAP notFound. An id asked
 * twice is returned twice. *out from the arena (NULL when *n_out is 0). At most
 * LIMIT_JMAP_OBJECTS_GET ids per call (ERR_INVAL past it). */
int store_email_get(struct store *st, const char *const *ids, size_t n, struct arena *a,
		    struct store_email **out, size_t *n_out);
/* Thread/get: the EMAILIDs of the thread, by receivedAt ascending (then id), from the
 * arena. ERR_NOTFOUND when the thread has no Email (unknown or destroyed). */
int store_thread_get(struct store *st, const char *thread_id, struct arena *a,
		     const char ***email_ids_out, size_t *n_out);
/* Prune the tombstones of Emails and Mailboxes (Thread changes are read from the
 * Emails', so they follow) older than older_than (unix seconds) that are not among the
 * keep newest of their kind (those of one modseq go or stay together). Writes prune by themselves with now - LIMIT_EXPUNGED_KEEP_DAYS and
 * LIMIT_EXPUNGED_KEEP; this call is for maintenance and tests. A changes call from
 * below the highest pruned modseq then answers ERR_GONE. */
int store_changes_prune(struct store *st, int64_t older_than, size_t keep);

/* Email/query (RFC 8621 4.4) without filters: the Emails of one mailbox, or of the
 * account, sorted, optionally one per thread, and a window of them (RFC 8620 5.5). */
enum store_email_sort {
	STORE_SORT_RECEIVED,       /* receivedAt: the earliest INTERNALDATE of the copies in
				    * the mailbox (of all copies for the account) */
	STORE_SORT_SIZE,
};
struct store_email_query {
	int64_t mailbox_id;        /* 0: every Email of the account */
	enum store_email_sort sort;
	bool ascending;            /* ties: by EMAILID ascending, either way */
	bool collapse_threads;     /* only the first Email of each thread, in this order */
	int64_t position;          /* the window's first index; negative: from the end */
	const char *anchor;        /* NULL, or an EMAILID: the window starts at its index
				    * + anchor_offset (position is not used) */
	int64_t anchor_offset;
	size_t limit;              /* at most this many ids: 1 to LIMIT_JMAP_QUERY_LIMIT */
	bool total;                /* count every match (out->total); without it a window
				    * placed from the start may end the walk early */
};
struct store_email_list {
	const char **ids;          /* from the arena, NULL when n is 0 */
	size_t n;
	size_t position;           /* the index of ids[0] (clamped to [0, total]) */
	size_t total;              /* Emails the query matches, the window aside (when
				    * q->total, or the window is placed from the end or an
				    * anchor; else at least position + n) */
};
/* One snapshot. A negative position counts from the end (total + position, at least
 * 0); an anchor_offset moving before the start clamps to 0. ERR_NOTFOUND for an unknown
 * mailbox, or an anchor that is not in the results (JMAP anchorNotFound); ERR_INVAL for
 * a limit out of its range. Cost: one pass over the mailbox's (or account's) messages, in
 * SQL; for a mailbox by receivedAt whose window starts at position >= 0 without total,
 * position + limit index entries (the mail list's first page reads 50 rows). */
int store_email_query(struct store *st, const struct store_email_query *q, struct arena *a,
		      struct store_email_list *out);
/* Email/query with filters (RFC 8621 4.4) and SearchSnippet/get: every Email of the
 * account as store_email_get reads one (the first copy's flags and keywords, the
 * earliest INTERNALDATE, the copies ascending; thread_id NULL while a content row of
 * schema version 1 is not cached), ordered by EMAILID ascending, from one snapshot,
 * into the arena (*out NULL when *n_out is 0). Cost: one pass over the account's
 * message rows (index messages_guid), about 100 bytes of arena an Email. */
int store_email_scan(struct store *st, struct arena *a, struct store_email **out,
		     size_t *n_out);

#endif
