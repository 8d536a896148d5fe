/* queue.h: the durable outbound queue (issue 9) under <data>/queue/.
 *
 * What is on disk:
 *   queue.db   SQLite (WAL, busy_timeout, PRAGMA user_version = schema version):
 *              table msg (one row per queued message: envelope sender, DSN parameters,
 *              DKIM header lines, size, created, held) and table rcpt (one row per
 *              remote recipient: address, ORCPT, NOTIFY, domain, state, attempts,
 *              next_at, lease_until, last_error, last_attempt, delay_notified).
 *   msg/<qid>  the message bytes, a hard link of the session's spool file (a copy only
 *              when the file system refuses the link), never modified.
 *
 * The commit rule (the "250 only after the message and its envelope are on
 * disk"): queue_add_batch links every file, makes the files durable (one syncfs(2) of
 * the queue's file system when the system holds little unwritten data, else an fdatasync
 * per file), fsyncs msg/, and only then inserts every row in ONE transaction. A row
 * therefore never names a file that is not on disk; a file without a row was never
 * acknowledged and is removed at the next server start.
 *
 * Which commits are durable (synchronous=FULL: on disk when COMMIT returns): adding
 * (the 250 waits for it), the admin's changes and the recovery. Leases and recorded
 * results are not (synchronous=NORMAL: no fsync; a process crash keeps them, a power
 * failure may undo the last ones): an fsync per attempt would bound the sending rate,
 * and an undone result only means the recipient is sent again, the same window as a
 * crash between the remote 250 and our record of it. Every durable commit makes the
 * earlier ones durable too (the WAL is fsynced as a whole).
 *
 * A message leaves the queue when none of its recipients is pending (each one
 * delivered, relayed, failed or deleted by the admin): its rows go, and its file once
 * that removal is durable (at the next durable commit, within LIMIT_QUEUE_DOOMED
 * finished messages, or at queue_close), so a power failure never brings back a row
 * whose file is gone. A file a crash left behind is removed at the next server start.
 *
 * Recipient states: pending (waiting for next_at, or leased while lease_until is in the
 * future), delivered, relayed, failed, deleted. A held message's pending recipients are
 * never leased (hold/release act on the whole message).
 *
 * Times are Unix seconds. Domains are the part after the last '@', ASCII lower-cased
 * (an IDNA A-label stays as given; a UTF-8 domain of an SMTPUTF8 message is kept as is).
 *
 * Threads: one struct queue is shared by the deliver/ committer thread (adds), the
 * outbound workers (lease, record) and the scheduler (next_due); every call is
 * serialised on the queue's one SQLite connection by a mutex (writes serialise in
 * SQLite anyway; a mutex wakes the next caller at once where SQLite's busy handler would
 * sleep). The file flushes of queue_add_batch run outside the mutex. Another process
 * (`kasten queue ...` while the server runs) opens its own struct queue with
 * server=false; SQLite's locking and busy_timeout order the two; the engine re-reads the
 * rows on every lease, so retry/hold/release/delete take effect at its next pass.
 *
 * Errors: 0 or a negative enum err (core/err.h): ERR_NOTFOUND for an unknown qid,
 * ERR_IO for file or database failures, ERR_TEMP when the database stayed busy past the
 * busy timeout, ERR_NOMEM when the arena or malloc ran out, ERR_INVAL for bad arguments. */
#ifndef KASTEN_QUEUE_H
#define KASTEN_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

#define QUEUE_ID_MAX 24 /* bytes of a qid with its NUL; qids are 16 lower-case hex digits */

struct arena;
struct queue; /* one open queue.db + msg/ directory; safe to share between threads */

/* Open (creating <data>/queue/, queue.db and msg/ as needed, and migrating the schema)
 * the queue of data_dir. server=true is the recovery a starting server does (and only a
 * process holding the data dir's lock as a server may ask for it):
 *   - every lease is cleared (a recipient leased when the last server died is sent again:
 *     the documented duplicate window between a remote 250 and our commit of it);
 *   - files in msg/ that no row names are removed (never acknowledged: the crash came
 *     between their link and the commit of their rows), so are stray temp files;
 *   - a message whose file is missing (removed by hand, or a file system that lost it)
 *     cannot be sent: its pending recipients are marked failed with last_error
 *     "queue file missing" and logged (log_err, qid and recipient), never dropped
 *     silently; the engine bounces them like any failure;
 *   - a message with no pending recipient left (a crash after the last recipient's
 *     commit, or an admin delete during a send) is removed.
 * Returns 0 and *out, or a negative enum err (nothing opened). */
int queue_open(const char *data_dir, bool server, struct queue **out);
/* Close and free; *q = NULL. NULL or *q == NULL is a no-op. */
void queue_close(struct queue **q);

/* RFC 3461 NOTIFY bits (DEFAULT = no NOTIFY given: failure and delay are reported). */
enum queue_notify {
	QUEUE_NOTIFY_DEFAULT = 0,
	QUEUE_NOTIFY_NEVER = 1,
	QUEUE_NOTIFY_SUCCESS = 2,
	QUEUE_NOTIFY_FAILURE = 4,
	QUEUE_NOTIFY_DELAY = 8,
};
/* RFC 3461 4.3 RET. */
enum queue_ret { QUEUE_RET_DEFAULT = 0, QUEUE_RET_HDRS, QUEUE_RET_FULL };
/* The body the message was submitted with (RFC 6152 8BITMIME, RFC 3030 BINARYMIME). */
enum queue_body { QUEUE_BODY_7BIT = 0, QUEUE_BODY_8BITMIME, QUEUE_BODY_BINARYMIME };
/* DSN: a delivery status notification we generated; never bounced itself. */
enum queue_kind { QUEUE_KIND_NORMAL = 0, QUEUE_KIND_DSN };

struct queue_rcpt_in {
	const char *address; /* the remote recipient, local@domain */
	const char *orcpt;   /* RFC 3461 ORCPT "rfc822;x@y", xtext-decoded, or NULL */
	unsigned notify;     /* enum queue_notify bits */
};

struct queue_msg_in {
	const char *spool_path; /* the spooled message; linked (not moved): the caller still
	                         * owns and removes spool_path */
	uint64_t size;          /* bytes of the file */
	const char *sender;     /* envelope sender; "" is the null sender <> */
	const char *envid;      /* RFC 3461 ENVID, xtext-decoded, or NULL */
	enum queue_ret ret;
	enum queue_body body;
	bool smtputf8;
	bool requiretls; /* RFC 8689 */
	enum queue_kind kind;
	int64_t account_id;      /* the submitting account, 0 for none */
	const char *dkim_header; /* NULL or complete header lines (CRLF each), sent before
	                          * the file's bytes */
	const struct queue_rcpt_in *rcpts;
	size_t n_rcpts; /* 1..LIMIT_QUEUE_RCPTS */
};

/* Queue n messages (n <= LIMIT_QUEUE_BATCH) with one flush of their files, one fsync of
 * msg/ and one transaction for every row. results[i] is 0 (queued, qids[i] its id) or a
 * negative enum err for msgs[i] alone (a bad argument, a file that cannot be linked or
 * copied); when the flush or the commit fails, every message of the batch fails with it
 * and nothing of the batch is acknowledged. Returns 0 when at least the call ran (see
 * results), or a negative enum err when nothing was queued (every results[i] set too). */
int queue_add_batch(struct queue *q, const struct queue_msg_in *const *msgs, size_t n, int *results,
                    char (*qids)[QUEUE_ID_MAX]);
/* One message: queue_add_batch with n = 1; returns results[0]. */
int queue_add(struct queue *q, const struct queue_msg_in *m, char qid[QUEUE_ID_MAX]);

/* Flushes (fsync, fdatasync, syncfs) queue_add_batch issued since the process started,
 * for benchmarks, tests and metrics: a batch of N messages costs 2 (syncfs + msg/) or
 * N + 1, plus SQLite's own commit fsyncs. */
uint64_t queue_flush_count(void);

/* ---- work for the outbound engine ---- */

struct queue_item_rcpt {
	int64_t id; /* rcpt row id, for queue_result */
	const char *address, *orcpt;
	unsigned notify;
	unsigned attempts; /* finished attempts before this lease */
	bool delay_notified;
};

struct queue_item {
	int64_t msg_id;
	char qid[QUEUE_ID_MAX];
	const char *sender, *envid, *dkim_header; /* envid, dkim_header may be NULL */
	const char *path;                         /* <data>/queue/msg/<qid> */
	uint64_t size;
	enum queue_ret ret;
	enum queue_body body;
	bool smtputf8, requiretls;
	enum queue_kind kind;
	int64_t account_id;
	int64_t queued_at; /* created: give_up and delay_notice count from here */
	const char *domain;
	struct queue_item_rcpt *rcpts; /* the leased recipients (all of domain) */
	size_t n_rcpts;
};

/* Lease up to max messages: every due (next_at <= now), unleased, unheld pending
 * recipient of `domain` (lower-case), or of the domain whose recipient is due earliest
 * when domain is NULL, grouped by message, until now + lease_s (lease_s > 0). The
 * leased recipients are not leased again until recorded or the lease runs out. Items
 * and strings come from a. Returns 0 with *n_out items (0: nothing due), or a negative
 * enum err (nothing leased). */
int queue_lease(struct queue *q, const char *domain, int64_t now, int64_t lease_s, size_t max,
                struct arena *a, struct queue_item **out, size_t *n_out);
/* When the engine has work next: the earliest moment a pending, unheld recipient is due
 * (next_at, or the end of its lease while it is leased); -1 when there is none or on
 * error. A value <= now means work is due now. */
int64_t queue_next_due(struct queue *q);

/* Before sending a leased message: 1 when it still has pending recipients that are not
 * held, so it is to be sent. 0 when the admin held or deleted it since the lease: its
 * lease ends (a held message is due again the moment it is released) and a deleted
 * one's rows go as queue_record would remove them. A negative enum err on failure. */
int queue_lease_check(struct queue *q, int64_t msg_id);

enum queue_outcome { QUEUE_DELIVERED, QUEUE_FAILED, QUEUE_DEFERRED, QUEUE_RELAYED };

struct queue_result {
	int64_t rcpt_id;
	enum queue_outcome outcome;
	int64_t next_at;     /* DEFERRED: when to try again */
	const char *error;   /* the remote reply or our reason, one line, or NULL */
	bool delay_notified; /* a delay DSN went out for this recipient */
};

/* Record the results of one attempt at message msg_id in one transaction: lease ended,
 * attempts + 1, last_attempt = now, last_error. A recipient the admin deleted meanwhile
 * stays deleted (its result is ignored). When no recipient of the message is pending
 * any more, its rows go in the same transaction and its file after the next durable
 * commit (see above). Returns 0, ERR_NOTFOUND when msg_id is not queued (deleted meanwhile), or
 * another negative enum err (nothing recorded). */
int queue_record(struct queue *q, int64_t msg_id, const struct queue_result *r, size_t n);

/* ---- administration (`kasten queue`), also for metrics ---- */

enum queue_rcpt_state {
	QUEUE_RCPT_PENDING = 0,
	QUEUE_RCPT_DELIVERED = 1,
	QUEUE_RCPT_FAILED = 2,
	QUEUE_RCPT_RELAYED = 3,
	QUEUE_RCPT_DELETED = 4,
};

/* One message as `kasten queue list` shows it. Strings live during the callback only. */
struct queue_entry {
	char qid[QUEUE_ID_MAX];
	const char *sender;
	const char *rcpts; /* the pending recipients, comma-separated */
	size_t n_pending;
	uint64_t size;
	int64_t created;
	int64_t next_at;        /* the earliest pending recipient's next attempt, -1: none */
	bool held, leased;      /* leased: some recipient is being sent right now */
	const char *last_error; /* the latest error of a pending recipient, or NULL */
};
typedef int (*queue_list_fn)(void *ctx, const struct queue_entry *e);
/* Call fn for every queued message, oldest first; a non-zero return from fn stops the
 * walk and is returned. `now` decides what counts as leased. */
int queue_list(struct queue *q, int64_t now, queue_list_fn fn, void *ctx);

struct queue_show_rcpt {
	const char *address, *orcpt, *domain;
	enum queue_rcpt_state state;
	unsigned notify, attempts;
	int64_t next_at, lease_until, last_attempt;
	const char *last_error; /* NULL when none */
	bool delay_notified;
};
struct queue_show {
	struct queue_item msg; /* rcpts/n_rcpts/domain unused (NULL/0) */
	bool held;
	struct queue_show_rcpt *rcpts;
	size_t n_rcpts;
};
/* Everything about one message, from a. ERR_NOTFOUND for an unknown qid. */
int queue_show(struct queue *q, const char *qid, struct arena *a, struct queue_show **out);

/* Make pending recipients due now (next_at = now) without touching leased ones: of
 * message qid, or of every message when qid is NULL. ERR_NOTFOUND for an unknown qid.
 * *n_out (may be NULL): recipients made due. */
int queue_retry(struct queue *q, const char *qid, int64_t now, size_t *n_out);
/* Hold / release a whole message: a held message's recipients are never leased; a
 * recipient being sent right now finishes its attempt. ERR_NOTFOUND for an unknown qid. */
int queue_hold(struct queue *q, const char *qid);
int queue_release(struct queue *q, const char *qid);
/* Delete message qid without any DSN. When no recipient is leased at `now`, its rows
 * and file go at once: returns 0. When one is being sent right now, its pending
 * recipients are marked deleted and the message goes when that attempt is recorded
 * (queue_record ignores their results): returns 1. ERR_NOTFOUND for an unknown qid. */
int queue_delete(struct queue *q, const char *qid, int64_t now);

struct queue_stats {
	uint64_t messages; /* queued messages */
	uint64_t rcpts;    /* pending recipients */
	uint64_t bytes;    /* bytes of the queued messages' files */
	int64_t oldest;    /* created of the oldest message, -1 when empty */
};
int queue_stats(struct queue *q, struct queue_stats *out);

#endif
