/* deliver.h: the delivery pipeline: spool -> MIME parse -> quota -> store -> notify -> DSN.
 *
 * Sessions (SMTP, LMTP, submission) stream a message into a spool file, then hand one
 * struct deliver_job to the committer thread. The committer gathers every job waiting
 * at that moment into one batch, stores them all with one flush (group commit), and
 * completes each job on the loop thread that submitted it. Only then may the session
 * answer 250: that is the durability contract.
 *
 * Life of a job, as the session sees it:
 *   1. deliver_spool_create(): a fresh file in <data>/spool/, mode 0600, write-only.
 *   2. write trace headers then the message (CRLF), close the fd.
 *   3. fill a struct deliver_job (it and rcpts[] must stay valid until done runs),
 *      deliver_submit(). On error nothing was queued, done is never called and the
 *      spool file is still the caller's to unlink.
 *   4. done(job, arg) runs exactly once, on job->base's loop thread (net_call_on), or
 *      on the committer thread when base is NULL. rcpts[k].result is then 0 (the message
 *      is on disk in that account's INBOX) or a negative enum err for that recipient;
 *      with job->outbound, outbound_result says whether the remote recipients are on
 *      disk in the outbound queue (the hook ran in the same batch, before done).
 *      done may free the job and its rcpts.
 *   5. after done returns, the pipeline unlinks the spool file (the store has linked
 *      it into every account that got it) unless job->keep_spool is set. So done may
 *      still read spool_path, e.g. for deliver_dsn().
 *
 * Quota is checked at RCPT (deliver_quota_check, cheap, may be stale) and again at
 * commit (authoritative): a recipient whose mailbox is full gets result ERR_QUOTA.
 * Usage crossing warn_percent (90 %) of the quota for the first time puts a warning
 * into the owner's INBOX; it is re-armed when usage is seen below the threshold again.
 *
 * Threads: every function here may be called from any thread once deliver_start()
 * returned, except that deliver_submit_wait() must not be called from a done callback
 * that runs on the committer thread (it returns ERR_INVAL there instead of deadlocking;
 * deliver_dsn() handles that case by queueing without waiting). */
#ifndef KASTEN_DELIVER_H
#define KASTEN_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "store/store.h"

struct event_base;
struct arena;
struct deliver_waiter;

/* Room for any spool path deliver_spool_create() makes. */
#define DELIVER_PATH_MAX 4096

struct deliver_rcpt {
	int64_t account_id;
	const char *address; /* as given in RCPT, for logs and DSNs */
	int result;          /* filled on completion: 0 or negative enum err */
};

struct deliver_job;
typedef void (*deliver_done_fn)(struct deliver_job *job, void *arg);

struct deliver_job {
	/* in */
	const char *spool_path;  /* complete message (with trace headers), CRLF */
	uint64_t size;           /* set by deliver_submit from the file itself */
	int64_t internal_date;   /* unix seconds; 0 = now */
	struct deliver_rcpt *rcpts;
	size_t n_rcpts;          /* >= 1 (0 allowed with outbound); one account twice is
	                          * stored once */
	deliver_done_fn done;
	void *arg;
	struct event_base *base; /* done runs there; NULL: runs on the committer thread */
	bool keep_spool;         /* true: the submitter unlinks spool_path itself */
	/* Remote recipients: the struct queue_msg_in (src/outbound/queue.h) the session
	 * built, opaque here, or NULL. With it set the job may have n_rcpts == 0. The
	 * committer hands it to deliver_config.outbound_add before the job completes, and
	 * outbound_result holds the answer when done runs: 0 (on disk in the queue) or a
	 * negative enum err (nothing of it queued). */
	const void *outbound;
	int outbound_result;
	/* The queue's id of the message when outbound_result is 0 (the hook sets it; a
	 * QUEUE_ID_MAX string), so a submitter can find its recipients' states later. */
	char outbound_qid[24];
	/* private to the pipeline (set by deliver_submit, released before done returns
	 * to the pipeline; never touch) */
	void *mime;
	size_t mime_len;
	struct deliver_job *next;
	struct arena *arena;     /* per job: MIME blob and a copy of spool_path */
	char *spool_own;         /* the copy in arena: unlinked after done */
	struct deliver_waiter *waiter; /* deliver_submit_wait's, else NULL */
	struct store_new_msg msg;
};

struct deliver_config {
	const char *data_dir;
	const char *hostname;  /* NULL: "localhost" */
	unsigned warn_percent; /* 90; 0 turns quota warnings off */
	/* The outbound queue's hook, or NULL (then no job may carry outbound). Called on the
	 * committer thread ONCE per batch with every job of the batch whose outbound is set
	 * (n >= 1), after the local copies are stored and before any job of the batch is
	 * completed, so a 250 waits for the queue's flush too. It sets each job's
	 * outbound_result and returns 0, or a negative enum err when none was queued (the
	 * pipeline then sets every outbound_result to it). Must not call deliver_submit_wait. */
	int (*outbound_add)(void *ctx, struct deliver_job *const *jobs, size_t n);
	void *outbound_ctx;
};

/* Start the committer thread. The strings in cfg are copied, the hook and its ctx kept. Creates <data>/spool and
 * removes spool files older than a day (left by a crash, never acknowledged).
 * ERR_EXISTS if already started. */
int deliver_start(struct store_env *env, const struct deliver_config *cfg);
/* Refuse new jobs, commit and complete every queued one, join the thread. Loop threads
 * that still have completions pending must keep running until this returns. */
void deliver_stop(void);

/* Create a spool file for writing in <data>/spool: O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC,
 * mode 0600, a unique name. path_out gets its path (cap: DELIVER_PATH_MAX is always enough).
 * ERR_INVAL if the pipeline is not started, ERR_FULL if cap is too small, ERR_IO. */
int deliver_spool_create(char *path_out, size_t cap, int *fd_out);

/* Map the spool file, parse its MIME (into job->mime, on the calling thread) and queue it.
 * done is called exactly once (see the life of a job above). Errors (nothing queued,
 * done not called): ERR_INVAL (bad job or not started), ERR_TEMP (stopping), ERR_IO,
 * ERR_NOMEM. A message the MIME arena cannot hold is stored without a blob (the store
 * parses it on demand), never refused. */
int deliver_submit(struct deliver_job *job);
/* Same, waiting until the job is on disk (admin commands, import, DSN generation).
 * job->base is ignored; done, if set, runs on the committer thread before this returns.
 * Returns 0 if every recipient got the message, else the result of the first recipient
 * that did not (rcpts[k].result has all of them), or an error from deliver_submit.
 * The spool file is unlinked before it returns unless keep_spool. */
int deliver_submit_wait(struct deliver_job *job);

/* Quick check at RCPT time: ERR_QUOTA if the account is already at or over quota
 * (bytes or messages), or a message of `size` (0 if unknown) would not fit.
 * ERR_NOTFOUND for an unknown account. Nothing is cached: it reads the directory and the
 * account's usage each time (advisory only, the commit re-checks). */
int deliver_quota_check(struct store_env *env, int64_t account_id, uint64_t size);

/* ---- delivery status notifications (deliver_dsn.c, deliver_dsn_write.c) ----
 * The tree's one DSN format (RFC 3464 in an RFC 6522 multipart/report). Local
 * submission failures use deliver_dsn(); the outbound queue's reports (src/outbound/
 * bounce.h) use deliver_dsn_write() and deliver_dsn_store() or the queue. */
enum deliver_dsn_action {
	DELIVER_DSN_FAILED,
	DELIVER_DSN_DELAYED,
	DELIVER_DSN_DELIVERED,
	DELIVER_DSN_RELAYED,
};

struct deliver_dsn_rcpt {
	const char *address;    /* Final-Recipient */
	const char *orcpt;      /* Original-Recipient "type;address" or NULL (left out when
				 * it is not an atom, ';' and printable text) */
	const char *status;     /* RFC 3463 "5.2.2"; NULL: 5.0.0/4.0.0/2.0.0 by action */
	const char *remote_mta; /* Remote-MTA host or NULL */
	const char *diagnostic; /* one line (an SMTP reply: type smtp) or NULL */
	const char *human;      /* words for the text part, or NULL */
	int64_t last_attempt;   /* Last-Attempt-Date; 0: left out */
};

struct deliver_dsn_report {
	enum deliver_dsn_action action;
	const char *sender;    /* To:, a bare address */
	const char *qid;       /* named in the text, or NULL */
	const char *envid;     /* Original-Envelope-Id, or NULL */
	const char *orig_path; /* the original message, CRLF */
	bool full;             /* RET=FULL: the whole original, up to LIMIT_BOUNCE_FULL */
	bool smtputf8;         /* RFC 6533 global types */
	bool return_path;      /* start with "Return-Path: <>" (final delivery into a mailbox) */
	int64_t arrival;       /* Arrival-Date; 0: the original file's mtime */
	int64_t retry_until;   /* Will-Retry-Until (delayed only); 0: left out */
	const struct deliver_dsn_rcpt *rcpts;
	size_t n_rcpts;        /* >= 1 */
};

/* The written report: a spool file the caller owns (pass it on or unlink it). */
struct deliver_dsn_file {
	char path[DELIVER_PATH_MAX];
	uint64_t size;
	bool eightbit; /* has 8-bit octets (needs 8BITMIME to be sent on) */
	bool utf8;     /* has UTF-8 addresses or header fields (needs SMTPUTF8) */
	char from_domain[LIMIT_ADDR_DOMAIN + 1]; /* its From: domain (the postmaster's), for DKIM */
};

/* Write the report into a new spool file. Returns 1 (out filled), 0 when the original
 * is itself a delivery report (no report about a report: nothing written), ERR_INVAL for
 * an address with control characters or no recipient, ERR_IO when the original cannot
 * be read, or another negative enum err (nothing left behind). Needs deliver_start. */
int deliver_dsn_write(const struct deliver_dsn_report *d, struct deliver_dsn_file *out);

/* Store a written report into account's INBOX (address: for logs and the job). The file
 * is consumed (unlinked) in every case. A full mailbox (checked first, and again at the
 * commit) drops the report: logged, ERR_QUOTA returned, never to be retried or reported.
 * Blocks until it is on disk, except on the committer thread, where it is queued and 0
 * returned. */
int deliver_dsn_store(const char *path, uint64_t size, int64_t account_id,
		      const char *address);

/* Status, SMTP-style diagnostic and words for people about a local delivery error:
 * ERR_QUOTA gives "5.2.2", "552 5.2.2 Mailbox full", "the mailbox is full (over quota)". */
void deliver_dsn_status(int err, const char **status, const char **diag, const char **human);

/* A failure notice (Action: failed) into the sender's INBOX: for mail accepted from an
 * authenticated local sender that could not be delivered. `orig_path` is the spool file;
 * its header section (at most 64 KiB, cut at a line end) is attached as
 * text/rfc822-headers. Entries of `failed` whose result is 0 are skipped.
 * No notice is made (returns 0) when the sender is empty ("" or "<>": the null reverse
 * path) or the original is itself a delivery status report, or no entry failed.
 * Returns the delivery result of the notice: ERR_QUOTA means the sender's mailbox is
 * full and the notice was dropped (logged); callers never retry or notify about it.
 * ERR_INVAL for addresses with control characters. Blocks until the notice is on disk,
 * except on the committer thread (done with base NULL), where it is queued and 0
 * returned. */
int deliver_dsn(struct store_env *env, int64_t sender_account, const char *sender_address,
		const char *orig_path, const struct deliver_rcpt *failed, size_t n_failed);

/* Since deliver_start: store_deliver_batch calls (one flush each) and messages (jobs)
 * committed in them, for metrics and the benchmark. Either pointer may be NULL. */
void deliver_stats(uint64_t *batches_out, uint64_t *messages_out);

/* True when deliver_start was given an outbound_add hook: sessions may then accept
 * remote recipients (job->outbound); otherwise they refuse them as a relay attempt. */
bool deliver_outbound_enabled(void);

#endif
