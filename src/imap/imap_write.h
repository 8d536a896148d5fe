/* imap_write.h: shared by the commands that change messages: STORE (imap_store_cmd.c),
 * EXPUNGE (imap_expunge.c), COPY and MOVE (imap_copy.c), APPEND (imap_append.c,
 * imap_append_save.c), and their helpers (imap_job.c, imap_msgset.c).
 *
 * Every one of them changes the store with a flush to disk, so the store call runs on
 * the worker pool (imap_job_run) while the session pauses; the answer goes out on the
 * session's loop afterwards, and only then: no OK before the change is durable. What
 * such a command needs beyond its arguments (UID lists, the store's results, an
 * APPEND's spool files) lives in one struct imap_job hung on the session (s->job), so
 * a connection that goes away at any moment leaves nothing behind (imap_job_free).
 *
 * A command's own changes are reported by the command itself (FETCH, EXPUNGE,
 * VANISHED, EXISTS through imap_done); it tells imap_sync.c their modseq
 * (imap_sync_own) so that they are not echoed as changes made by someone else. */
#ifndef KASTEN_IMAP_WRITE_H
#define KASTEN_IMAP_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "imap/imap_int.h"
#include "store/store.h"

/* One command's work (imap_job.c). The job and its arena are the session's until
 * imap_job_free; the work on the pool may use both (the session does not touch them
 * while it is paused). */
typedef int (*imap_job_work_fn)(struct imap_job *j, struct store *st);
typedef void (*imap_job_done_fn)(struct imap_session *s, struct imap_job *j);

struct imap_job {
	struct arena a; /* lists, results, scratch: LIMIT_IMAP_JOB_ARENA */
	int64_t account;
	int64_t mailbox; /* the selected mailbox's id (0 when none) */
	int result;      /* what work returned (0 or a negative enum err) */
	imap_job_work_fn work;
	imap_job_done_fn done;
	void *state; /* the command's own, usually in a */
	/* what state holds besides memory (files): released by imap_job_free */
	void (*release)(struct imap_job *j);
};

/* A new job as s->job (replacing and releasing an older one). NULL after answering
 * "NO [UNAVAILABLE]" itself when memory is short. */
struct imap_job *imap_job_new(struct imap_session *s);
/* Run work(j, st) on the worker pool with the account's store open, then done(s, j) on
 * the session's loop; the job is freed after done. If the connection goes away
 * meanwhile, done is skipped and the job freed with the session. Returns 0, or answers
 * "NO [UNAVAILABLE]" itself, frees the job and returns 0 too (the command is over). */
int imap_job_run(struct imap_session *s, imap_job_work_fn work, imap_job_done_fn done);
/* The tagged NO, after the updates that may be sent (imap_done), for a store error of
 * a command that changes messages (RFC 5530 codes):
 * ERR_QUOTA OVERQUOTA, ERR_FULL and ERR_TOO_LONG LIMIT, ERR_NOTFOUND (the selected
 * mailbox was deleted) NONEXISTENT, temporary errors UNAVAILABLE, others SERVERBUG. */
void imap_job_fail(struct imap_session *s, int r, const char *verb);

/* The answer to arguments an interpreter of imap_parse.h refused: why (or fallback
 * when it is NULL) is the response text after the tag, "BAD ..." or "NO ...". */
void imap_job_refuse(struct imap_session *s, const char *why, const char *fallback);

/* ---- message sets (imap_msgset.c) ---- */
/* The UIDs of the selected mailbox's messages that set names, ascending, no repeats,
 * into a (*uids_out NULL when none). By UID (uid true): the UIDs of the set that the
 * client knows as messages of the mailbox (UIDs it was not told of, or that are gone,
 * are left out: no error, RFC 9051 6.4.9); "*" is the highest of them. By sequence
 * number: ERR_INVAL when a number is past the last message (or the mailbox is empty),
 * "*" is the last message. "$" (RFC 5182) is the saved search result, by either form.
 * ERR_NOMEM when the arena cannot hold the list. */
int imap_msgset_uids(struct imap_session *s, const struct imap_seqset *set, bool uid,
                     struct arena *a, uint32_t **uids_out, size_t *n_out);
/* The tagged answer for an imap_msgset_uids failure. */
void imap_msgset_refuse(struct imap_session *s, int r);
/* Ascending numbers as a compact set "1:3,7,9:12" (COPYUID, APPENDUID, MODIFIED),
 * NUL-terminated in a; "" for none; NULL when a is full. */
const char *imap_msgset_str(const uint32_t *v, size_t n, struct arena *a);
/* The same for the sequence numbers of ascending UIDs of the selected mailbox (STORE's
 * [MODIFIED]); UIDs without a number are left out. */
const char *imap_msgset_seqs_str(struct imap_session *s, const uint32_t *uids, size_t n,
                                 struct arena *a);

/* ---- this session's own expunges (imap_expunge.c) ---- */
/* The client is told that the messages with these UIDs (ascending; those it does not
 * know are skipped) are gone, and they leave the sequence-number map: EXPUNGE from the
 * highest number down, or VANISHED under QRESYNC. Scratch from a. */
void imap_expunge_send(struct imap_session *s, const uint32_t *gone, size_t n, struct arena *a);
/* The tagged OK of a command that expunged with this modseq (0: nothing): under QRESYNC
 * the pending updates go first and the OK carries [HIGHESTMODSEQ] (RFC 7162 3.2.7). */
void imap_expunge_done(struct imap_session *s, uint64_t modseq, const char *text);

/* ---- APPEND (imap_append.c takes the data, imap_append_save.c stores it) ---- */
struct imap_append_file {
	char *path;    /* the spool file, in the job's arena; NULL once removed */
	uint64_t size; /* octets in it: the literal's, with each bare LF made CRLF */
};

struct imap_append_state {
	const struct imap_cmd *cmd; /* the command being received */
	const char *mailbox;        /* its mailbox, as stored */
	int64_t mailbox_id;         /* as looked up before the first "+" */
	struct imap_append_file files[LIMIT_IMAP_APPEND_MSGS];
	size_t nfiles;      /* messages spooled, the current one included */
	uint64_t announced; /* octets of all literals so far */
	/* the literal being taken */
	int fd;        /* -1 when none */
	uint64_t left; /* octets still to come */
	bool binary;   /* literal8 (RFC 3516 4.4): kept exactly as sent */
	bool last_cr;  /* the octet before was CR */
	int err;       /* writing failed: the command is answered NO */
	uint8_t buf[LIMIT_IMAP_SPOOL_BUF];
	size_t buflen;
	/* the command, once complete, and what the store made of it */
	struct store_new_msg *msgs; /* nfiles of them, in the job's arena */
	uint32_t uidvalidity;
	uint32_t *uids;
};

/* The work on the pool: extract what FETCH and SEARCH need from each message (as
 * deliver/ does for mail that arrives), store them all in one commit, remove the spool
 * files. */
int imap_append_save(struct imap_job *j, struct store *st);
/* Release hook: close the file being written and remove every spool file left. */
void imap_append_release(struct imap_job *j);

/* ---- flags (imap_store_cmd.c) ---- */
/* Flags as the client sent them to what the store keeps: system flags as enum
 * store_flag bits, and the keywords $Forwarded, $Junk and $NotJunk (any case) as their
 * bits too (the store keeps those as bits, imap_put_msg_flags shows them); the other
 * keywords space-separated into a (*kw_out "" when none). ERR_NOMEM. */
int imap_store_cmd_flags(const struct imap_flags *f, struct arena *a, unsigned *flags_out,
                         const char **kw_out);
/* When the selected mailbox has a keyword the client was not told of (a STORE or an
 * APPEND of this session brought it), FLAGS and PERMANENTFLAGS again (RFC 9051 7.3.5),
 * before the response that shows it. Scratch from a. */
void imap_store_cmd_keywords(struct imap_session *s, struct arena *a);

#endif
