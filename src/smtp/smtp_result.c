/* smtp_result.c: the answer after the commit, and the delivery log line.
 *
 * LMTP answers per recipient (RFC 2033 4.2). SMTP and submission have ONE reply for all
 * recipients, and nothing acknowledged may be lost, so (docs/compliance.md):
 *   - every recipient stored: 250;
 *   - any recipient failed temporarily (or a full postmaster mailbox, which is never
 *     refused): 451/452 for the whole transaction, though other copies are stored. The
 *     client retries and those recipients get a duplicate, the lesser evil;
 *   - port 25, only permanent failures (a mailbox that filled up between RCPT and the
 *     commit), some copies stored: also 451/452. A 5xx would bounce the message for the
 *     recipients that got it, and a DSN cannot reach a remote sender until kasten sends
 *     mail out. At the retry the RCPT check refuses just the full mailbox (552) and the
 *     sender's MTA bounces that one recipient with the right reason;
 *   - port 25, nothing stored: the first failure's own reply (552, 550, 451);
 *   - submission, only permanent failures: 250 and a DSN (RFC 3464) into the local
 *     sender's INBOX, before the reply, so the sender can rely on it.
 * Owns nothing; the job and its recipients live in the transaction arena. */
#include "smtp_int.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

/* Room for the recipient list of one log line. log.c cuts lines at 2 KiB; the context,
 * the escaped sender (at most 483 bytes) and the other fields take under 900, so the
 * list goes on in "continued" lines rather than lose a recipient. */
#define SMTP_RESULT_LOG_LIST 1000

/* A failure the client should retry rather than bounce. */
static bool result_temporary(const struct smtp_rcpt *rc, int r)
{
	return err_is_temp(r) || (r == ERR_QUOTA && rc->postmaster);
}

static const char *result_word(const struct smtp_rcpt *rc, int r)
{
	if (r == 0)
		return "ok";
	if (r == ERR_QUOTA)
		return rc->postmaster ? "quota-deferred" : "quota";
	if (r == ERR_NOTFOUND)
		return "unknown";
	return err_is_temp(r) ? "temp" : "error";
}

/* One recipient's reply. defer: answer a permanent failure as a temporary one. */
static unsigned reply_result(struct smtp_session *s, int r, const char *addr, bool defer)
{
	if (r == 0) {
		smtp_reply(s, "250 2.0.0 <%s> Ok: delivered", addr);
		return 250;
	}
	if (r == ERR_QUOTA && defer) {
		smtp_reply(s, "452 4.2.2 <%s>: Mailbox full, try again later", addr);
		return 452;
	}
	if (r == ERR_QUOTA) {
		smtp_reply(s, "552 5.2.2 <%s>: Mailbox full", addr);
		return 552;
	}
	if (r == ERR_NOTFOUND && !defer) {
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: no such user", addr);
		return 550;
	}
	smtp_reply(s, "451 4.3.0 <%s>: Temporary failure, try again later", addr);
	return 451;
}

/* The delivery log: one line per transaction with sender, size, the reply and every
 * recipient's result; a list too long for one line goes on in "continued" lines. */
static void log_delivery(const struct smtp_session *s, const struct deliver_job *job,
			 const char *reply)
{
	char list[SMTP_RESULT_LOG_LIST], from[512], to[512];
	size_t len = 0;
	list[0] = '\0';
	log_esc(from, s->from, strlen(s->from));
	for (size_t i = 0; i < job->n_rcpts; i++) {
		const struct deliver_rcpt *d = &job->rcpts[i];
		log_esc(to, d->address, strlen(d->address));
		const char *word = result_word(&s->rcpts[i], d->result);
		int n = snprintf(list + len, sizeof(list) - len, "%s<%s>=%s", len ? "," : "", to,
				 word);
		if (n < 0 || (size_t)n >= sizeof(list) - len) {
			log_info("delivery id=%s (continued) rcpts=%s", s->queue_id, list);
			len = 0;
			n = snprintf(list, sizeof(list), "<%s>=%s", to, word);
			if (n < 0 || (size_t)n >= sizeof(list))
				n = 0; /* cannot happen: one escaped address is under 500 bytes */
		}
		len += (size_t)n;
	}
	log_info("delivery id=%s from=<%s> size=%llu nrcpt=%zu reply=%s rcpts=%s", s->queue_id,
		 from, (unsigned long long)job->size, job->n_rcpts, reply, list);
}

/* On a worker: the DSN for a local submission's failed recipients goes into the
 * sender's INBOX. It waits for its own commit, which must not stall the loop. */
static void dsn_work(void *arg)
{
	struct smtp_session *s = arg;
	const struct deliver_job *job = &s->job;
	struct deliver_rcpt *failed = arena_alloc(&s->ta, job->n_rcpts * sizeof(*failed));
	size_t n = 0;
	if (!failed) {
		log_err("dsn id=%s: out of memory", s->queue_id);
		return;
	}
	for (size_t i = 0; i < job->n_rcpts; i++)
		if (job->rcpts[i].result != 0)
			failed[n++] = job->rcpts[i];
	int r = deliver_dsn(smtp_env, s->auth_account, s->from, job->spool_path, failed, n);
	if (r < 0)
		log_err("dsn id=%s to=<%s>: %s", s->queue_id, s->from, err_str(r));
}

/* Back on the loop: the sender's message was accepted (RFC 6409), whatever failed. */
static void dsn_done(struct net_conn *c, void *arg)
{
	struct smtp_session *s = arg;
	if (s->closing) {
		smtp_session_free(s); /* unlinks the spool file it kept */
	} else {
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
		smtp_txn_reset(s);
		smtp_session_resume(s);
	}
	net_conn_release(c); /* the hold taken for the delivery */
}

/* SMTP and submission: the one reply (see the top of this file). Returns true when a
 * DSN was queued and the session stays busy until dsn_done. */
static bool reply_once(struct smtp_session *s, const struct deliver_job *job)
{
	size_t ok = 0, first_temp = job->n_rcpts, first_failed = job->n_rcpts;
	for (size_t i = 0; i < job->n_rcpts; i++) {
		int r = job->rcpts[i].result;
		if (r == 0)
			ok++;
		else if (first_failed == job->n_rcpts)
			first_failed = i;
		if (r != 0 && first_temp == job->n_rcpts && result_temporary(&s->rcpts[i], r))
			first_temp = i;
	}
	char code[8];
	unsigned c = 250;
	bool dsn = false;
	if (ok == job->n_rcpts) {
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
	} else if (first_temp < job->n_rcpts) {
		c = reply_result(s, job->rcpts[first_temp].result, job->rcpts[first_temp].address,
				 true);
	} else if (s->fl == SMTP_SUBMISSION) {
		/* accepted from a local sender: failures go back as a DSN into its INBOX;
		 * the session stays busy (and keeps its spool file) until that is stored */
		dsn = net_conn_work_io(s->c, dsn_work, dsn_done, s) == 0;
		if (!dsn) {
			log_err("dsn id=%s: cannot queue the notice", s->queue_id);
			c = reply_result(s, ERR_TEMP, job->rcpts[first_failed].address, true);
		}
	} else {
		const struct deliver_rcpt *f = &job->rcpts[first_failed];
		c = reply_result(s, f->result, f->address, ok > 0);
	}
	(void)snprintf(code, sizeof(code), "%u", c); /* three digits: never cut */
	log_delivery(s, job, code);
	return dsn;
}

void smtp_result_delivered(struct deliver_job *job, void *arg)
{
	struct smtp_session *s = arg;
	struct net_conn *c = s->c;
	net_conn_log_ctx(c);
	if (s->closing) {
		log_delivery(s, job, "none");
		if (!job->keep_spool)
			s->spool_path = NULL; /* the pipeline unlinks it after we return */
		smtp_session_free(s);
		net_conn_release(c);
		return;
	}
	if (s->fl == SMTP_LMTP) {
		for (size_t i = 0; i < job->n_rcpts; i++)
			reply_result(s, job->rcpts[i].result, job->rcpts[i].address,
				     s->rcpts[i].postmaster);
		log_delivery(s, job, "per-recipient");
	} else if (reply_once(s, job)) {
		return; /* dsn_done answers, resets and releases */
	}
	if (!job->keep_spool)
		s->spool_path = NULL; /* the pipeline unlinks it after we return */
	smtp_txn_reset(s);
	smtp_session_resume(s);
	net_conn_release(c);
}
