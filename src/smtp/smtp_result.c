/* smtp_result.c: the answer after the commit, and the delivery log line.
 *
 * LMTP answers per recipient (RFC 2033 4.2). SMTP and submission have ONE reply for all
 * recipients, and nothing acknowledged may be lost, so (docs/compliance.md):
 *   - the outbound queue could not take the remote recipients: 451 4.3.0 for the whole
 *     message, though local copies may be stored (nothing is half-acknowledged: the
 *     client retries, local recipients get a duplicate, the lesser evil);
 *   - every recipient stored or queued: 250;
 *   - any recipient failed temporarily (or a full postmaster mailbox, which is never
 *     refused): 451/452 for the whole transaction, though other copies are stored. The
 *     client retries and those recipients get a duplicate, the lesser evil;
 *   - submission, only permanent failures: 250 and a DSN (RFC 3464) to the sender, made
 *     before the reply, so the sender can rely on it;
 *   - port 25 with the queue (a DSN reaches a remote sender through it), only permanent
 *     failures and some recipient stored: 250 and a DSN for the failed ones; mailboxes
 *     found full at the end of data were left out of the delivery for this already;
 *   - port 25 without the queue, only permanent failures (a mailbox that filled up
 *     between RCPT and the commit), some copies stored: 451/452. A 5xx would bounce the
 *     message for the recipients that got it. At the retry the RCPT check refuses just
 *     the full mailbox (552) and the sender's MTA bounces that one recipient;
 *   - port 25, nothing stored: the first failure's own reply (552, 550, 451).
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
		return rc->remote ? "queued" : "ok";
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
	smtp_rejected(r == ERR_QUOTA      ? METRIC_REJECT_QUOTA
		      : r == ERR_NOTFOUND && !defer ? METRIC_REJECT_UNKNOWN_USER
						    : METRIC_REJECT_TEMPORARY);
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
static void log_delivery(const struct smtp_session *s, const char *reply)
{
	char list[SMTP_RESULT_LOG_LIST], from[512], to[512];
	size_t len = 0;
	list[0] = '\0';
	log_esc(from, s->from, strlen(s->from));
	for (size_t i = 0; i < s->n_rcpts; i++) {
		const struct smtp_rcpt *rc = &s->rcpts[i];
		log_esc(to, rc->address, strlen(rc->address));
		const char *word = result_word(rc, rc->result);
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
		 from, (unsigned long long)s->msg_size, s->n_rcpts, reply, list);
}

/* Back on the loop, the DSN stored or queued: the message was accepted for the
 * recipients that could take it, and the sender knows about the others. */
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

/* Every recipient's outcome into rcpts[].result: the job's for the local ones, the
 * queue's for the remote ones; left-out ones keep theirs. */
static void results_gather(struct smtp_session *s, const struct deliver_job *job)
{
	for (size_t i = 0; i < s->n_rcpts; i++)
		if (s->rcpts[i].remote)
			s->rcpts[i].result = job->outbound ? job->outbound_result : ERR_TEMP;
	for (size_t k = 0; k < job->n_rcpts; k++)
		s->rcpts[s->job_rcpt[k]].result = job->rcpts[k].result;
}

/* Only permanent failures, some of them after acceptance: 250 with a DSN to the sender
 * (submission always; port 25 when a DSN can reach any sender). Returns true when the
 * session waits for the DSN (dsn_done answers); *code_out gets the reply sent. */
static bool reply_dsn(struct smtp_session *s, size_t first_failed, size_t ok, unsigned *code_out)
{
	const struct smtp_rcpt *f = &s->rcpts[first_failed];
	if (s->fl == SMTP_MX && !(smtp_outbound_can_bounce() && ok > 0)) {
		*code_out = reply_result(s, f->result, f->address, ok > 0);
		return false;
	}
	int r = smtp_outbound_dsn(s, dsn_done);
	if (r > 0)
		return true; /* dsn_done answers 250 once the notice is stored or queued */
	if (r == 0) { /* nobody asked for one (NOTIFY) */
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
		*code_out = 250;
	} else {
		*code_out = reply_result(s, ERR_TEMP, f->address, true);
	}
	return false;
}

/* SMTP and submission: the one reply (see the top of this file). Returns true when a
 * DSN was queued and the session stays busy until dsn_done. */
static bool reply_once(struct smtp_session *s, const struct deliver_job *job)
{
	size_t ok = 0, first_temp = s->n_rcpts, first_failed = s->n_rcpts;
	for (size_t i = 0; i < s->n_rcpts; i++) {
		int r = s->rcpts[i].result;
		if (r == 0)
			ok++;
		else if (first_failed == s->n_rcpts)
			first_failed = i;
		if (r != 0 && first_temp == s->n_rcpts && result_temporary(&s->rcpts[i], r))
			first_temp = i;
	}
	char code[8];
	unsigned c = 250;
	bool dsn = false;
	if (job->outbound && job->outbound_result < 0) {
		log_err("queue id=%s: the outbound queue failed: %s", s->queue_id,
			err_str(job->outbound_result));
		smtp_rejected(METRIC_REJECT_TEMPORARY);
		smtp_reply(s, "451 4.3.0 Cannot queue the message now, try again later");
		c = 451;
	} else if (ok == s->n_rcpts) {
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
	} else if (first_temp < s->n_rcpts) {
		c = reply_result(s, s->rcpts[first_temp].result, s->rcpts[first_temp].address,
				 true);
	} else {
		dsn = reply_dsn(s, first_failed, ok, &c);
	}
	(void)snprintf(code, sizeof(code), "%u", dsn ? 250 : c); /* three digits: never cut */
	log_delivery(s, code);
	return dsn;
}

void smtp_result_delivered(struct deliver_job *job, void *arg)
{
	struct smtp_session *s = arg;
	struct net_conn *c = s->c;
	net_conn_log_ctx(c);
	results_gather(s, job);
	if (s->closing) {
		log_delivery(s, "none");
		if (!job->keep_spool)
			s->spool_path = NULL; /* the pipeline unlinks it after we return */
		smtp_session_free(s);
		net_conn_release(c);
		return;
	}
	if (s->fl == SMTP_LMTP) {
		for (size_t i = 0; i < s->n_rcpts; i++)
			reply_result(s, s->rcpts[i].result, s->rcpts[i].address,
				     s->rcpts[i].postmaster);
		log_delivery(s, "per-recipient");
	} else if (reply_once(s, job)) {
		return; /* dsn_done answers, resets and releases */
	}
	if (!job->keep_spool)
		s->spool_path = NULL; /* the pipeline unlinks it after we return */
	smtp_txn_reset(s);
	smtp_session_resume(s);
	net_conn_release(c);
}
