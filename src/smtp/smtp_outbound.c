/* smtp_outbound.c: what a transaction hands to the outbound queue, and what comes back.
 *   - Submission accepts recipients outside our domains only when the queue is
 *     configured (deliver_outbound_enabled); their envelope (DSN parameters of RFC 3461,
 *     REQUIRETLS of RFC 8689, the body type) becomes one struct queue_msg_in that the
 *     deliver/ committer queues in the same group commit as the local copies.
 *   - DKIM (RFC 6376) signs mail with remote recipients once, here, after the body is
 *     spooled and the From: check passed, when the From: domain is ours and has keys.
 *     The signature lines go into the queue row, never into the file: local copies stay
 *     unsigned, as with Postfix + OpenDKIM signing only what leaves for other hosts.
 *     Signing reads the whole file, so it runs on the io pool.
 *   - A DSN (RFC 3464) about recipients that failed permanently after the message was
 *     accepted goes back through bounce_send (src/outbound/bounce.h): into a local
 *     sender's INBOX, or queued for a remote one; without a queue only the local path
 *     (deliver_dsn) exists, for submission.
 * Owns: the keyring and queue handles set at startup (not freed here), and per
 * transaction the queue_msg_in (in ta) and the signature lines (malloc'd, freed at the
 * end of the transaction). Limits: LIMIT_SMTP_SIGN_CHUNK bytes read at a time. */
#include "smtp_int.h"
#include "smtp_submit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "outbound/bounce.h"
#include "outbound/dkim.h"
#include "core/banned.h"

/* Set once at startup, before net_start(); read by every loop thread afterwards. */
static struct dkim_keyring *smtp_keyring;
static struct queue *smtp_queue;

_Static_assert(SMTP_NOTIFY_NEVER == QUEUE_NOTIFY_NEVER &&
		       SMTP_NOTIFY_SUCCESS == QUEUE_NOTIFY_SUCCESS &&
		       SMTP_NOTIFY_FAILURE == QUEUE_NOTIFY_FAILURE &&
		       SMTP_NOTIFY_DELAY == QUEUE_NOTIFY_DELAY,
	       "NOTIFY bits are passed to the queue as they are");

void smtp_set_dkim(struct dkim_keyring *kr)
{
	smtp_keyring = kr;
}

void smtp_set_queue(struct queue *q)
{
	smtp_queue = q;
}

bool smtp_outbound_can_bounce(void)
{
	return smtp_queue != NULL;
}

bool smtp_outbound_accepts(const struct smtp_session *s)
{
	return s->fl == SMTP_SUBMISSION && s->auth_account != 0 && deliver_outbound_enabled();
}

static enum queue_ret queue_ret_of(enum smtp_ret r)
{
	return r == SMTP_RET_FULL ? QUEUE_RET_FULL
	       : r == SMTP_RET_HDRS ? QUEUE_RET_HDRS
				     : QUEUE_RET_DEFAULT;
}

int smtp_outbound_prepare(struct smtp_session *s, uint64_t size)
{
	struct queue_rcpt_in *qr = arena_alloc(&s->ta, s->n_remote * sizeof(*qr));
	if (!qr)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < s->n_rcpts; i++)
		if (s->rcpts[i].remote)
			qr[n++] = (struct queue_rcpt_in){s->rcpts[i].address, s->rcpts[i].orcpt,
							 s->rcpts[i].notify};
	s->qin = (struct queue_msg_in){
	    .spool_path = s->spool_path,
	    .size = size,
	    .sender = s->from,
	    .envid = s->envid,
	    .ret = queue_ret_of(s->ret),
	    /* BINARYMIME is not offered, so 8BITMIME is the most a client can declare */
	    .body = s->body == SMTP_BODY_8BITMIME ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT,
	    .smtputf8 = s->smtputf8,
	    .requiretls = s->requiretls,
	    .kind = QUEUE_KIND_NORMAL,
	    .account_id = s->auth_account,
	    .dkim_header = s->dkim_header,
	    .rcpts = qr,
	    .n_rcpts = n,
	};
	return 0;
}

int smtp_submit_queue_show(const char *qid, struct arena *a, struct queue_show **out)
{
	return smtp_queue ? queue_show(smtp_queue, qid, a, out) : ERR_NOTFOUND;
}

/* ---- DKIM signing ---- */

int smtp_submit_sign(const char *domain, const char *path, char **header_out)
{
	struct dkim_signer *sg = NULL;
	*header_out = NULL;
	if (!smtp_keyring)
		return 0;
	int r = dkim_keyring_signer(smtp_keyring, domain, time(NULL), &sg);
	if (r == ERR_NOTFOUND)
		return 0; /* the domain has no keys: sent unsigned */
	int fd = r < 0 ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *chunk = fd < 0 ? NULL : malloc(LIMIT_SMTP_SIGN_CHUNK);
	if (r == 0 && fd < 0)
		r = ERR_IO;
	if (r == 0 && !chunk)
		r = ERR_NOMEM;
	while (r == 0) {
		ssize_t got = read(fd, chunk, LIMIT_SMTP_SIGN_CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = ERR_IO;
		else if (got == 0)
			break;
		else
			r = dkim_signer_feed(sg, chunk, (size_t)got);
	}
	size_t len = 0;
	if (r == 0)
		r = dkim_signer_finish(sg, header_out, &len);
	free(chunk);
	if (fd >= 0)
		(void)close(fd); /* read only */
	dkim_signer_free(&sg);
	return r;
}

/* On the io pool: sign the spool file for s->sign_domain. Touches only what the loop
 * thread leaves alone while the session is busy. */
static void sign_work(void *arg)
{
	struct smtp_session *s = arg;
	s->sign_err = smtp_submit_sign(s->sign_domain, s->spool_path, &s->dkim_header);
}

/* Back on the loop thread: go on with the delivery, signed or not. */
static void sign_done(struct net_conn *c, void *arg)
{
	struct smtp_session *s = arg;
	char esc[512];
	const char *d = s->sign_domain;
	if (s->sign_err == ERR_TOO_BIG || s->sign_err == ERR_INVAL)
		/* a header past the signer's bounds, or no From: the receiver judges the
		 * message unsigned, as it would without keys */
		log_warn("dkim id=%s d=%s: not signed: %s", s->queue_id,
			 log_esc(esc, d, strlen(d)), err_str(s->sign_err));
	else if (s->sign_err < 0)
		log_err("dkim id=%s d=%s: signing failed: %s", s->queue_id,
			log_esc(esc, d, strlen(d)), err_str(s->sign_err));
	else if (s->dkim_header)
		log_debug(LOGC_PROTO, "dkim id=%s d=%s: signed", s->queue_id,
			  log_esc(esc, d, strlen(d)));
	if (s->sign_err == ERR_TOO_BIG || s->sign_err == ERR_INVAL)
		s->sign_err = 0;
	s->sign_next(s); /* frees a closing session itself; net_work releases c */
}

bool smtp_outbound_sign(struct smtp_session *s, void (*next)(struct smtp_session *s))
{
	if (!smtp_keyring || s->n_remote == 0)
		return false;
	const char *domain = smtp_policy_from_domain(s);
	if (!domain || !smtp_policy_local_domain(domain))
		return false; /* not our domain: no key of ours may sign it */
	s->sign_domain = arena_strdup(&s->ta, domain);
	if (!s->sign_domain)
		return false;
	s->sign_err = 0;
	s->sign_next = next;
	s->mode = SMTP_MODE_BUSY;
	net_conn_pause(s->c);
	if (net_conn_work_io(s->c, sign_work, sign_done, s) == 0)
		return true;
	s->mode = SMTP_MODE_COMMAND;
	net_conn_resume(s->c);
	s->sign_err = ERR_TEMP;
	log_err("dkim id=%s: cannot start signing", s->queue_id);
	return false;
}

/* ---- DSNs after the commit ---- */

/* What the io worker needs, in ta. */
struct smtp_dsn_job {
	struct smtp_session *s;
	struct bounce_rcpt *rcpts;
	struct deliver_rcpt *legacy; /* the deliver_dsn path (no queue) */
	size_t n;
};

static void dsn_work(void *arg)
{
	struct smtp_dsn_job *d = arg;
	struct smtp_session *s = d->s;
	int r;
	if (smtp_queue) {
		struct bounce_msg m = {
		    .env = smtp_env,
		    .qid = s->queue_id,
		    .sender = s->from,
		    .envid = s->envid,
		    .path = s->spool_path,
		    .ret = queue_ret_of(s->ret),
		    .kind = QUEUE_KIND_NORMAL,
		    .smtputf8 = s->smtputf8,
		    .queued_at = (int64_t)time(NULL),
		    .account_id = s->auth_account,
		};
		r = bounce_send(smtp_queue, &m, BOUNCE_FAILED, d->rcpts, d->n);
	} else {
		r = deliver_dsn(smtp_env, s->auth_account, s->from, s->spool_path, d->legacy,
				d->n);
	}
	if (r < 0) {
		char esc[512];
		log_err("dsn id=%s to=<%s>: %s", s->queue_id, log_esc(esc, s->from, strlen(s->from)),
			err_str(r));
	}
}

static void dsn_done(struct net_conn *c, void *arg)
{
	struct smtp_dsn_job *d = arg;
	d->s->dsn_next(c, d->s);
}

/* One failed recipient into both forms. */
static void dsn_add(struct smtp_session *s, struct smtp_dsn_job *d, size_t i, int err)
{
	const char *status, *diag, *human;
	deliver_dsn_status(err, &status, &diag, &human);
	d->rcpts[d->n] = (struct bounce_rcpt){
	    .address = s->rcpts[i].address,
	    .orcpt = s->rcpts[i].orcpt,
	    .notify = s->rcpts[i].notify,
	    .status = status,
	    .diagnostic = diag,
	    .human = human,
	    .last_attempt = (int64_t)time(NULL),
	};
	d->legacy[d->n] = (struct deliver_rcpt){s->rcpts[i].account_id, s->rcpts[i].address, err};
	d->n++;
}

int smtp_outbound_dsn(struct smtp_session *s, net_done_fn done)
{
	struct smtp_dsn_job *d = arena_alloc(&s->ta, sizeof(*d));
	size_t cap = s->n_rcpts;
	if (d) {
		*d = (struct smtp_dsn_job){.s = s};
		d->rcpts = arena_alloc(&s->ta, cap * sizeof(*d->rcpts));
		d->legacy = arena_alloc(&s->ta, cap * sizeof(*d->legacy));
	}
	if (!d || !d->rcpts || !d->legacy) {
		log_err("dsn id=%s: out of memory", s->queue_id);
		return ERR_NOMEM;
	}
	for (size_t i = 0; i < s->n_rcpts; i++) {
		int err = s->rcpts[i].result;
		/* bounce_send reads NOTIFY itself; deliver_dsn does not (RFC 3461 4.1: NEVER,
		 * or a list without FAILURE, asks for no failure report) */
		unsigned nt = s->rcpts[i].notify;
		if (err == 0 || s->rcpts[i].remote ||
		    (!smtp_queue && nt != 0 && !(nt & SMTP_NOTIFY_FAILURE)))
			continue;
		dsn_add(s, d, i, err);
	}
	if (d->n == 0)
		return 0;
	s->dsn_next = done;
	if (net_conn_work_io(s->c, dsn_work, dsn_done, d) != 0) {
		log_err("dsn id=%s: cannot queue the notice", s->queue_id);
		return ERR_TEMP;
	}
	return 1;
}
