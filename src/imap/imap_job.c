/* imap_job.c: the life of a command that changes messages (imap_write.h): its job
 * (one per session at most, s->job), the store call on the worker pool, and the NO
 * answers for store errors. Owns the job's memory (an arena of at most
 * LIMIT_IMAP_JOB_ARENA) and calls the command's release hook for anything else it
 * holds, whichever way the command ends: answered, refused, or the connection gone. */
#include "imap/imap_write.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

void imap_job_free(struct imap_session *s)
{
	struct imap_job *j = s->job;
	if (!j)
		return;
	s->job = NULL;
	if (j->release)
		j->release(j);
	arena_free(&j->a);
	free(j);
}

struct imap_job *imap_job_new(struct imap_session *s)
{
	imap_job_free(s);
	struct imap_job *j = calloc(1, sizeof(*j));
	if (!j) {
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory, try again later");
		return NULL;
	}
	arena_init(&j->a, LIMIT_IMAP_JOB_ARENA);
	j->account = s->account;
	j->mailbox = s->sel ? s->sel->mailbox_id : 0;
	s->job = j;
	return j;
}

/* On the pool: the account's store is the work's for the duration of the call. */
static void job_work(void *arg)
{
	struct imap_job *j = arg;
	struct store *st = NULL;
	j->result = store_open(imap_env, j->account, &st);
	if (j->result == 0) {
		j->result = j->work(j, st);
		store_close(&st);
	}
}

static void job_done(struct imap_session *s, void *arg)
{
	struct imap_job *j = arg;
	j->done(s, j);
	if (s->job == j)
		imap_job_free(s);
}

int imap_job_run(struct imap_session *s, imap_job_work_fn work, imap_job_done_fn done)
{
	struct imap_job *j = s->job;
	j->work = work;
	j->done = done;
	if (imap_async(s, job_work, job_done, j) < 0) {
		imap_job_free(s);
		imap_tagged(s, "NO [UNAVAILABLE] Cannot do that now, try again later");
	}
	return 0;
}

void imap_job_fail(struct imap_session *s, int r, const char *verb)
{
	switch (r) {
	case ERR_QUOTA: /* RFC 9208 7 */
		imap_done(s, "NO [OVERQUOTA] Quota exceeded (mailbox for user is full)");
		return;
	case ERR_FULL:
	case ERR_TOO_LONG: /* LIMIT_MAILBOX_KEYWORDS, keywords of a message, UIDs */
		imap_done(s, "NO [LIMIT] %s would pass a limit of the mailbox", verb);
		return;
	case ERR_NOTFOUND:
		imap_done(s, "NO [NONEXISTENT] The mailbox no longer exists");
		return;
	default:
		break;
	}
	if (err_is_temp(r)) {
		imap_done(s, "NO [UNAVAILABLE] %s failed, try again later", verb);
		return;
	}
	log_err("imap: %s: %s", verb, err_str(r));
	imap_done(s, "NO [SERVERBUG] %s failed", verb);
}

void imap_job_refuse(struct imap_session *s, const char *why, const char *fallback)
{
	if (!why)
		why = fallback;
	if (!strncmp(why, "BAD ", 4))
		imap_bad(s, why + 4); /* counted towards LIMIT_IMAP_ERRORS */
	else
		imap_tagged(s, "%s", why);
}
