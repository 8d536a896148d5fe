/* bounce.c: who gets a delivery status notification about queued mail, and how it gets
 * there (bounce.h). The report itself is deliver_dsn_write()'s, the one DSN format of
 * the tree; this file decides whether one is due (null sender, a DSN, NOTIFY), finds the
 * sender (a local account or alias: its INBOX; anyone else: the outbound queue with the
 * null sender) and logs one line per report.
 * Owns: the recipient list of one report (malloc'd, freed before returning) and the
 * report's spool file until the INBOX or the queue has it.
 * Limits: recipients per report as given (the queue leases at most LIMIT_QUEUE_RCPTS). */
#include "outbound/bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "deliver/deliver.h"
#include "outbound/dkim.h"
#include "store/store.h"

/* Set once at startup, before any thread sends a report; read-only afterwards. */
static struct dkim_keyring *bounce_keyring;

void bounce_set_dkim(struct dkim_keyring *kr)
{
	bounce_keyring = kr;
}

bool bounce_wanted(unsigned notify, enum bounce_action action)
{
	if (notify & QUEUE_NOTIFY_NEVER) /* RFC 3461 4.1: NEVER stands alone */
		return false;
	if (notify == QUEUE_NOTIFY_DEFAULT) /* RFC 3461 4.1: as if FAILURE,DELAY */
		return action == BOUNCE_FAILED || action == BOUNCE_DELAYED;
	switch (action) {
	case BOUNCE_FAILED:
		return notify & QUEUE_NOTIFY_FAILURE;
	case BOUNCE_DELAYED:
		return notify & QUEUE_NOTIFY_DELAY;
	case BOUNCE_DELIVERED:
	case BOUNCE_RELAYED: /* RFC 3461 6.2: a relayed report answers SUCCESS */
		return notify & QUEUE_NOTIFY_SUCCESS;
	}
	return false;
}

static const char *action_name(enum bounce_action a)
{
	static const char *const names[] = {"failed", "delayed", "delivered", "relayed"};
	return (unsigned)a <= BOUNCE_RELAYED ? names[a] : "?";
}

static void log_none(const struct bounce_msg *m, enum bounce_action action, const char *why)
{
	log_info("bounce: qid=%s action=%s no report: %s", m->qid ? m->qid : "-",
	         action_name(action), why);
}

/* The DKIM-Signature lines (malloc'd) for a report going out, signed for its From:
 * domain (the postmaster's) when that domain has keys, or NULL: sent unsigned. A report
 * from our domain that is not signed fails DMARC at the sender's provider. */
static char *sign_report(const struct deliver_dsn_file *f)
{
	struct dkim_signer *sg = NULL;
	if (!bounce_keyring || !f->from_domain[0])
		return NULL;
	int r = dkim_keyring_signer(bounce_keyring, f->from_domain, time(NULL), &sg);
	if (r < 0) {
		if (r != ERR_NOTFOUND) /* no keys: unsigned, as any mail of that domain */
			log_warn("bounce: no DKIM signer for %s: %s", f->from_domain, err_str(r));
		return NULL;
	}
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	uint8_t *b = fd >= 0 ? malloc(LIMIT_BOUNCE_CHUNK) : NULL;
	r = b ? 0 : fd < 0 ? ERR_IO : ERR_NOMEM;
	while (r == 0) {
		ssize_t k = read(fd, b, LIMIT_BOUNCE_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? ERR_IO : 1;
			break;
		}
		r = dkim_signer_feed(sg, b, (size_t)k);
	}
	free(b);
	if (fd >= 0)
		(void)close(fd); /* read-only */
	char *out = NULL;
	size_t len = 0;
	if (r == 1)
		r = dkim_signer_finish(sg, &out, &len);
	dkim_signer_free(&sg);
	if (r < 0) {
		log_warn("bounce: report not DKIM-signed for %s: %s", f->from_domain, err_str(r));
		return NULL;
	}
	return out;
}

/* The report's own queue entry: null sender (RFC 5321 4.5.5), kind DSN, the sender as
 * its one recipient with NOTIFY=NEVER; the spool file is the caller's to remove. */
static int send_queued(struct queue *q, const struct bounce_msg *m,
                       const struct deliver_dsn_file *f, char qid[QUEUE_ID_MAX])
{
	char *dkim = sign_report(f);
	struct queue_rcpt_in rcpt = {.address = m->sender, .notify = QUEUE_NOTIFY_NEVER};
	struct queue_msg_in in = {
	    .spool_path = f->path,
	    .size = f->size,
	    .sender = "",
	    .body = f->eightbit ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT,
	    .smtputf8 = f->utf8,
	    .kind = QUEUE_KIND_DSN,
	    .dkim_header = dkim,
	    .rcpts = &rcpt,
	    .n_rcpts = 1,
	};
	int r = queue_add(q, &in, qid);
	free(dkim);
	return r;
}

/* Where the report goes: 1 with *account_out for a local sender, 0 for a remote one,
 * ERR_NOTFOUND for an address in a local domain that nobody has (nobody to tell), or
 * another negative enum err from the directory. */
static int route(const struct bounce_msg *m, int64_t *account_out)
{
	int r = store_resolve(m->env, m->sender, account_out);
	if (r == 0)
		return 1;
	if (r != ERR_NOTFOUND)
		return r;
	const char *at = strrchr(m->sender, '@');
	if (!at || store_domain_is_local(m->env, at + 1))
		return ERR_NOTFOUND;
	return 0;
}

/* The recipients this action is reported for, as the writer takes them. */
static size_t pick(const struct bounce_rcpt *r, size_t n, enum bounce_action action,
                   struct deliver_dsn_rcpt *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!bounce_wanted(r[i].notify, action))
			continue;
		out[k++] = (struct deliver_dsn_rcpt){
		    .address = r[i].address,
		    .orcpt = r[i].orcpt,
		    .status = r[i].status,
		    .remote_mta = r[i].remote_mta,
		    .diagnostic = r[i].diagnostic,
		    .human = r[i].human,
		    .last_attempt = r[i].last_attempt,
		};
	}
	return k;
}

static int write_and_send(struct queue *q, const struct bounce_msg *m, enum bounce_action action,
                          struct deliver_dsn_report *rep, int where, int64_t account)
{
	char esc[512], qid[QUEUE_ID_MAX] = "";
	struct deliver_dsn_file f;
	rep->return_path = where == 1; /* RFC 5321 4.4: added at final delivery only */
	int r = deliver_dsn_write(rep, &f);
	if (r == 0)
		log_none(m, action, "the original is a report itself");
	if (r <= 0)
		return r;
	if (where == 1) {
		r = deliver_dsn_store(f.path, f.size, account, m->sender); /* consumes f */
		if (r == ERR_QUOTA)
			return 0; /* dropped and logged: never retried, never reported */
	} else {
		r = send_queued(q, m, &f, qid);
		if (unlink(f.path) < 0 && errno != ENOENT) /* the queue has its own link */
			log_warn("bounce: cannot remove spool file %s: %s", f.path,
			         strerror(errno));
	}
	log_esc(esc, m->sender, strlen(m->sender));
	if (r < 0) {
		log_err("bounce: qid=%s action=%s to=<%s>: %s", m->qid ? m->qid : "-",
		        action_name(action), esc, err_str(r));
		return r;
	}
	log_info("bounce: qid=%s action=%s rcpts=%zu to=<%s> via=%s%s%s", m->qid ? m->qid : "-",
	         action_name(action), rep->n_rcpts, esc, where == 1 ? "inbox" : "queue",
	         qid[0] ? " dsn_qid=" : "", qid);
	return 1;
}

int bounce_send(struct queue *q, const struct bounce_msg *m, enum bounce_action action,
                const struct bounce_rcpt *r, size_t n)
{
	if (!m || !m->env || !m->path || !r || n == 0 || (unsigned)action > BOUNCE_RELAYED)
		return ERR_INVAL;
	if (!m->sender || m->sender[0] == '\0' || strcmp(m->sender, "<>") == 0) {
		log_none(m, action, "null sender"); /* RFC 5321 4.5.5, RFC 3461 5.2.1 */
		return 0;
	}
	if (m->kind == QUEUE_KIND_DSN) {
		log_none(m, action, "the message is a report itself");
		return 0;
	}
	struct deliver_dsn_rcpt *rc = calloc(n, sizeof(*rc));
	if (!rc)
		return ERR_NOMEM;
	int ret = 0;
	size_t k = pick(r, n, action, rc);
	int64_t account = 0;
	int where = k ? route(m, &account) : 0;
	if (k == 0) {
		log_none(m, action, "NOTIFY");
	} else if (where == ERR_NOTFOUND) {
		log_none(m, action, "the sender's local address does not exist");
	} else if (where < 0) {
		ret = where;
	} else if (where == 0 && !q) {
		log_err("bounce: qid=%s: no queue for a report to a remote sender",
		        m->qid ? m->qid : "-");
		ret = ERR_INVAL;
	} else {
		static const enum deliver_dsn_action map[] = {
		    DELIVER_DSN_FAILED, DELIVER_DSN_DELAYED, DELIVER_DSN_DELIVERED,
		    DELIVER_DSN_RELAYED};
		struct deliver_dsn_report rep = {
		    .action = map[action],
		    .sender = m->sender,
		    .qid = m->qid,
		    .envid = m->envid,
		    .orig_path = m->path,
		    /* RFC 3461 4.3: RET=FULL is about failure reports; a delay or
		     * success report returns the headers */
		    .full = m->ret == QUEUE_RET_FULL && action == BOUNCE_FAILED,
		    .smtputf8 = m->smtputf8,
		    .arrival = m->queued_at,
		    .retry_until = action == BOUNCE_DELAYED && m->give_up > 0 && m->queued_at > 0
		                       ? m->queued_at + m->give_up
		                       : 0,
		    .rcpts = rc,
		    .n_rcpts = k,
		};
		ret = write_and_send(q, m, action, &rep, where, account);
	}
	free(rc);
	return ret;
}
