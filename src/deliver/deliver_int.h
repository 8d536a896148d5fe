/* deliver_int.h: declarations shared inside src/deliver only. */
#ifndef KASTEN_DELIVER_INT_H
#define KASTEN_DELIVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "deliver/deliver.h"

/* Bounds of the pipeline (module-local, so they live here rather than core/limits.h). */
#define DELIVER_BATCH_MSGS 256           /* jobs per store_deliver_batch call */
#define DELIVER_BATCH_RCPTS 512          /* recipient entries per call (>= 1 job always) */
#define DELIVER_MIME_ARENA (16u << 20)   /* per job, for mime_extract of one message */
#define DELIVER_COMMIT_ARENA (4u << 20)  /* committer scratch per batch */
#define DELIVER_SPOOL_STALE (24 * 3600)  /* spool files older than this are crash leftovers */
#define DELIVER_PATH DELIVER_PATH_MAX

/* ---- deliver.c: process-wide pipeline state read by the other files ---- */
const char *deliver_hostname(void);
/* The From: address of generated mail ([server] postmaster; postmaster@hostname). */
const char *deliver_postmaster(void);
const char *deliver_data_dir(void);
unsigned deliver_warn_percent(void);
struct store_env *deliver_env(void);
/* True on the committer thread (where nothing may wait for the committer). */
bool deliver_on_committer(void);

/* ---- deliver_spool.c: checked, buffered writing of a generated message ---- */
struct deliver_spool_w {
	int fd;
	int err;                 /* first error; later writes are no-ops */
	uint64_t size;           /* bytes accepted so far */
	struct buf out;          /* pending bytes, flushed when full */
	uint8_t storage[8192];
	char path[DELIVER_PATH];
};

/* mkdir <data>/spool (0700) and sweep stale files. */
int deliver_spool_prepare(const char *data_dir);
/* Create a spool file and a writer on it. */
int deliver_spool_open(struct deliver_spool_w *w);
int deliver_spool_write(struct deliver_spool_w *w, const void *p, size_t n);
int deliver_spool_puts(struct deliver_spool_w *w, const char *s);
/* One formatted piece of at most 2 KiB (ERR_TOO_LONG beyond). */
int deliver_spool_printf(struct deliver_spool_w *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Flush and close; on any error (now or earlier) the file is removed and the error
 * returned. size_out gets the file size. */
int deliver_spool_close(struct deliver_spool_w *w, uint64_t *size_out);
/* Close and unlink after a failure elsewhere. */
void deliver_spool_discard(struct deliver_spool_w *w);

/* ---- deliver.c: a self-contained job on the heap for generated messages ---- */
struct deliver_gen {
	struct deliver_job job;
	struct deliver_rcpt rcpt;
	deliver_done_fn after; /* called from the gen's own done, before it is freed */
	char path[DELIVER_PATH];
	char address[LIMIT_ADDRESS + 1];
};
/* Queue a finished generated spool file (w closed) for one account without waiting;
 * the gen frees itself after `after` ran. On error the spool file is removed. */
int deliver_gen_submit(const char *path, uint64_t size, int64_t account_id,
		       const char *address, deliver_done_fn after);

/* ---- deliver_quota.c ---- */
/* After a committed batch: warnings for accounts (ids may repeat) that crossed the
 * threshold, re-arming for those below it. Runs on the committer thread. */
void deliver_quota_after_batch(const int64_t *account_ids, size_t n);

#endif
