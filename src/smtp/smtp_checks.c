/* smtp_checks.c: port 25's inbound checks (SPF, DKIM, DMARC: src/outbound/authres.h)
 * between the spooled body and the delivery. They wait for DNS, so they run on the io
 * worker pool; the session stays busy meanwhile and goes on with next(s), which also
 * frees a session whose client left. A message refused by a DMARC policy of reject
 * gets the 550 here ([checks] dmarc_reject); a failure to check (I/O, memory) is 451.
 * Owns the job (in ta) only while the work runs. */
#include "smtp_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/authres.h"
#include "core/banned.h"

struct smtp_checks_job {
	struct smtp_session *s;
	void (*next)(struct smtp_session *s);
	struct authres_check_in in;
	struct authres_check_out out;
	int err;
};

static void checks_work(void *arg)
{
	struct smtp_checks_job *j = arg;
	j->err = authres_check_run(&j->in, &j->out);
}

static void checks_done(struct net_conn *c, void *arg)
{
	struct smtp_checks_job *j = arg;
	struct smtp_session *s = j->s;
	(void)c; /* net_work releases it */
	if (s->closing) {
		if (j->err == 0 && !j->out.reject)
			(void)unlink(j->out.path); /* the checked copy: nobody will deliver it */
		smtp_session_free(s);              /* unlinks the spool file it holds */
		return;
	}
	const char *refuse = NULL;
	char *path = NULL;
	if (j->err == ERR_TOO_BIG)
		refuse = "552 5.3.4 Message header too large to check";
	else if (j->err < 0)
		refuse = "451 4.3.0 Cannot check the message now, try again later";
	else if (j->out.reject)
		refuse = j->out.reply;
	else if (!(path = arena_strdup(&s->ta, j->out.path)))
		refuse = "451 4.3.0 Out of memory, try again later";
	if (path) {
		s->spool_path = path; /* the old file is gone: the new one is the message */
		s->msg_size = j->out.size;
	} else if (j->err == 0 && !j->out.reject) {
		(void)unlink(j->out.path); /* the new file nobody can name any more */
	}
	char from[512];
	log_info("checks id=%s from=<%s> %s%s%s", s->queue_id,
	         log_esc(from, s->from, strlen(s->from)), j->out.summary, refuse ? " refused=" : "",
	         refuse ? refuse : "");
	if (refuse) {
		smtp_rejected(j->err == ERR_TOO_BIG ? METRIC_REJECT_SIZE
			      : j->err == 0 && j->out.reject ? METRIC_REJECT_DMARC
							     : METRIC_REJECT_TEMPORARY);
		smtp_reply(s, "%s", refuse);
		smtp_txn_reset(s);
		smtp_session_resume(s); /* back to commands, pipelined input included */
		return;
	}
	j->next(s);
}

bool smtp_checks_start(struct smtp_session *s, void (*next)(struct smtp_session *s))
{
	const struct conf *cf = conf_get();
	if (s->fl != SMTP_MX || !(cf->checks_spf || cf->checks_dkim || cf->checks_dmarc))
		return false;
	struct smtp_checks_job *j = arena_zalloc(&s->ta, sizeof(*j));
	if (!j)
		goto fail;
	j->s = s;
	j->next = next;
	j->in = (struct authres_check_in){
	    .spool_path = s->spool_path,
	    .trace_bytes = s->trace_bytes,
	    .client_ip = net_conn_peer_ip(s->c),
	    .helo = s->helo ? s->helo : "",
	    .mail_from = s->from,
	    .spf = cf->checks_spf,
	    .dkim = cf->checks_dkim,
	    .dmarc = cf->checks_dmarc,
	    .dmarc_reject = cf->checks_dmarc_reject,
	};
	s->mode = SMTP_MODE_BUSY;
	net_conn_pause(s->c);
	if (net_conn_work_io(s->c, checks_work, checks_done, j) == 0)
		return true;
	s->mode = SMTP_MODE_COMMAND;
	net_conn_resume(s->c);
fail:
	/* never delivered unchecked: a forged Authentication-Results of ours would stay */
	log_err("checks id=%s: cannot start the checks", s->queue_id);
	smtp_rejected(METRIC_REJECT_TEMPORARY);
	smtp_reply(s, "451 4.3.0 Cannot check the message now, try again later");
	smtp_txn_reset(s);
	return true;
}
