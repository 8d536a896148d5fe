/* deliver.h: the delivery pipeline: spool -> MIME parse -> quota -> store -> notify -> DSN.
 *
 * Sessions (SMTP, LMTP, submission) stream a message into a spool file, then hand one
 * struct deliver_job to the committer thread. The committer gathers every job waiting
 * at that moment into one batch, stores them all with one flush (group commit), and
 * completes each job on the loop thread that submitted it. Only then may the session
 * answer 250: that is the durability contract.
 *
 * Quota is checked at RCPT (deliver_quota_check, cheap, may be stale) and again at
 * commit (authoritative): a recipient whose mailbox is full gets result ERR_QUOTA.
 * Usage crossing 90 % of the quota for the first time puts a warning into the owner's
 * INBOX; it is re-armed when usage drops below the threshold. */
#ifndef KASTEN_DELIVER_H
#define KASTEN_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct event_base;
struct arena;

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
	uint64_t size;
	int64_t internal_date;
	struct deliver_rcpt *rcpts;
	size_t n_rcpts;
	deliver_done_fn done;
	void *arg;
	struct event_base *base; /* done runs there; NULL: runs on the committer thread */
	/* private to the pipeline */
	void *mime;
	size_t mime_len;
	struct deliver_job *next;
};

struct deliver_config {
	const char *data_dir;
	const char *hostname;
	unsigned warn_percent; /* 90 */
};

/* Start the committer thread. */
int deliver_start(struct store_env *env, const struct deliver_config *cfg);
void deliver_stop(void);

/* Create a spool file for writing in <data>/spool; path_out gets its path (cap 4096). */
int deliver_spool_create(char *path_out, size_t cap, int *fd_out);

/* Parse the message's MIME (into job->mime) and queue it. done is called exactly once. */
int deliver_submit(struct deliver_job *job);
/* Same, waiting for the result (admin commands, import, DSN generation). */
int deliver_submit_wait(struct deliver_job *job);

/* Quick check at RCPT time: ERR_QUOTA if the account is already at or over quota,
 * or a message of `size` (0 if unknown) would not fit. */
int deliver_quota_check(struct store_env *env, int64_t account_id, uint64_t size);

/* A failure notice (RFC 3464 multipart/report, Action: failed) into the sender's INBOX:
 * for mail accepted from an authenticated local sender that could not be delivered.
 * `orig_path` is the spool file; its header section is attached. */
int deliver_dsn(struct store_env *env, int64_t sender_account, const char *sender_address,
		const char *orig_path, const struct deliver_rcpt *failed, size_t n_failed);

/* Flushes and batch counts since start, for metrics and the benchmark. */
void deliver_stats(uint64_t *batches_out, uint64_t *messages_out);

#endif
