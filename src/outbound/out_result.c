/* out_result.c: what one attempt at a message means for each recipient: delivered
 * (2xx), failed (5xx, or a temporary failure once give_up has passed: 4.4.7), or
 * deferred to the next wait of retry_schedule (with a delay DSN once delay_notice has
 * passed). The DSNs are made (bounce_send) before the outcomes are recorded
 * (queue_record), so a crash between the two repeats a DSN rather than losing it; a DSN
 * that cannot be made now keeps its recipient deferred, to be reported at a later try.
 * One log line per recipient. Bounds: a recipient list of one queued message
 * (LIMIT_QUEUE_RCPTS), its strings in a local arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/bounce.h"
#include "outbound/out_int.h"
#include "core/banned.h"

/* The per-recipient lists of one message, by what happened. */
struct out_sorted {
	struct queue_result *res;
	struct bounce_rcpt *failed, *delayed, *relayed;
	size_t *failed_i, *delayed_i; /* their index in res */
	size_t n_failed, n_delayed, n_relayed;
};

static void log_outcome(const struct queue_item *it, const char *rcpt, const struct out_conn *c,
                        int64_t now, const char *status, const char *dsn, const char *reply)
{
	char esc_reply[512], esc_rcpt[512];
	log_info("qid=%s rcpt=<%s> relay=%s[%s]:%u delay=%llds dsn=%s status=%s reply=%s", it->qid,
	         log_esc(esc_rcpt, rcpt, strlen(rcpt)), c && c->host[0] ? c->host : "none",
	         c ? c->ip : "", c ? c->port : 0u, (long long)(now - it->queued_at), dsn, status,
	         log_esc(esc_reply, reply, strlen(reply)));
}

static void send_reports(struct out_worker *w, const struct queue_item *it, struct out_sorted *s,
                         int64_t now)
{
	const struct conf *cf = conf_get();
	struct bounce_msg bm = {
	    .env = w->e->env,
	    .qid = it->qid,
	    .sender = it->sender,
	    .envid = it->envid,
	    .path = it->path,
	    .dkim_header = it->dkim_header,
	    .ret = it->ret,
	    .kind = it->kind,
	    .smtputf8 = it->smtputf8,
	    .queued_at = it->queued_at,
	    .give_up = cf->outbound_give_up,
	    .account_id = it->account_id,
	};
	if (s->n_failed) {
		int r = bounce_send(w->e->q, &bm, BOUNCE_FAILED, s->failed, s->n_failed);
		if (r < 0 && r != ERR_INVAL) {
			/* no report now: keep them to report at a later try, never lose it */
			log_warn("qid=%s the failure report could not be made (%s): deferred",
			         it->qid, err_str(r));
			for (size_t i = 0; i < s->n_failed; i++) {
				struct queue_result *q = &s->res[s->failed_i[i]];
				q->outcome = QUEUE_DEFERRED;
				q->next_at = now + cf->outbound_retry[0];
			}
		}
	}
	if (s->n_delayed) {
		int r = bounce_send(w->e->q, &bm, BOUNCE_DELAYED, s->delayed, s->n_delayed);
		if (r < 0 && r != ERR_INVAL)
			for (size_t i = 0; i < s->n_delayed; i++)
				s->res[s->delayed_i[i]].delay_notified = false; /* next time */
	}
	if (s->n_relayed) {
		int r = bounce_send(w->e->q, &bm, BOUNCE_RELAYED, s->relayed, s->n_relayed);
		if (r < 0)
			log_warn("qid=%s the relayed report could not be made: %s", it->qid,
			         err_str(r));
	}
}

/* One attempt at one message, as out_result_record sorts its recipients. */
struct out_attempt {
	const struct queue_item *it;
	const struct out_rcpt_outcome *r;
	const struct out_conn *conn;
	bool dsn_offered;
	int64_t now;
	struct arena *a; /* composed diagnostics */
	uint64_t delivered, deferred, failed;
};

/* Recipient i: its queue result, the report it is part of, its log line. */
static void sort_rcpt(struct out_attempt *at, struct out_sorted *s, size_t i)
{
	const struct conf *cf = conf_get();
	const struct queue_item *it = at->it;
	const struct queue_item_rcpt *rc = &it->rcpts[i];
	const struct smtpc_reply *rep = &at->r[i].reply;
	struct queue_result *q = &s->res[i];
	int64_t age = at->now - it->queued_at;
	struct bounce_rcpt b = {
	    .address = rc->address,
	    .orcpt = rc->orcpt,
	    .notify = rc->notify,
	    .status = rep->status[0] ? rep->status : NULL,
	    .remote_mta = at->conn && at->conn->host[0] ? at->conn->host : NULL,
	    .diagnostic = rep->line,
	    .last_attempt = at->now,
	};
	q->rcpt_id = rc->id;
	q->error = rep->line;
	q->delay_notified = rc->delay_notified;
	if (rep->code >= 200 && rep->code < 300) {
		/* RFC 3461 6.2: a server without DSN ends our duty to report: relayed */
		q->outcome = at->dsn_offered ? QUEUE_DELIVERED : QUEUE_RELAYED;
		if (!at->dsn_offered && (rc->notify & QUEUE_NOTIFY_SUCCESS))
			s->relayed[s->n_relayed++] = b;
		log_outcome(it, rc->address, at->conn, at->now, "sent",
		            b.status ? b.status : "2.0.0", rep->line);
		at->delivered++;
	} else if (rep->code >= 500 || age >= (int64_t)cf->outbound_give_up) {
		q->outcome = QUEUE_FAILED;
		if (rep->code < 500) {
			/* RFC 3463 4.4.7: given up after [outbound] give_up */
			b.status = "4.4.7";
			b.diagnostic =
			    arena_printf(at->a, "delivery time expired; last error: %s", rep->line);
			if (!b.diagnostic)
				b.diagnostic = "delivery time expired";
			q->error = b.diagnostic;
		}
		s->failed_i[s->n_failed] = i;
		s->failed[s->n_failed++] = b;
		log_outcome(it, rc->address, at->conn, at->now, "bounced",
		            b.status ? b.status : "5.0.0", q->error);
		at->failed++;
	} else {
		q->outcome = QUEUE_DEFERRED;
		q->next_at = out_retry_at(cf->outbound_retry, cf->outbound_retry_n, rc->attempts,
		                          at->now, it->queued_at, cf->outbound_give_up);
		if (cf->outbound_delay_notice && !rc->delay_notified &&
		    age >= (int64_t)cf->outbound_delay_notice) {
			q->delay_notified = true;
			s->delayed_i[s->n_delayed] = i;
			s->delayed[s->n_delayed++] = b;
		}
		log_outcome(it, rc->address, at->conn, at->now, "deferred",
		            b.status ? b.status : "4.0.0", rep->line);
		at->deferred++;
	}
}

static void sorted_free(struct out_sorted *s)
{
	free(s->res);
	free(s->failed);
	free(s->delayed);
	free(s->relayed);
	free(s->failed_i);
	free(s->delayed_i);
}

static int sorted_alloc(struct out_sorted *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->res = calloc(n, sizeof(*s->res));
	s->failed = calloc(n, sizeof(*s->failed));
	s->delayed = calloc(n, sizeof(*s->delayed));
	s->relayed = calloc(n, sizeof(*s->relayed));
	s->failed_i = calloc(n, sizeof(size_t));
	s->delayed_i = calloc(n, sizeof(size_t));
	if (s->res && s->failed && s->delayed && s->relayed && s->failed_i && s->delayed_i)
		return 0;
	sorted_free(s);
	return ERR_NOMEM;
}

void out_result_record(struct out_worker *w, const struct queue_item *it,
                       const struct out_rcpt_outcome *r, const struct out_conn *conn,
                       bool dsn_offered)
{
	size_t n = it->n_rcpts;
	struct out_sorted s;
	if (sorted_alloc(&s, n) < 0) {
		/* nothing recorded: the lease runs out and the message is sent again */
		log_err("qid=%s out of memory recording outcomes", it->qid);
		return;
	}
	struct arena a;
	arena_init(&a, n * (LIMIT_SMTPC_REPLY_TEXT + 64) + 4096);
	struct out_attempt at = {it, r, conn, dsn_offered, time(NULL), &a, 0, 0, 0};
	for (size_t i = 0; i < n; i++)
		sort_rcpt(&at, &s, i);
	send_reports(w, it, &s, at.now);
	int rr = queue_record(w->e->q, it->msg_id, s.res, n);
	if (rr < 0 && rr != ERR_NOTFOUND)
		log_err("qid=%s recording the outcomes failed (%s): sent again after the lease",
		        it->qid, err_str(rr));
	out_count(w->e, &w->e->stats.delivered, at.delivered);
	out_count(w->e, &w->e->stats.deferred, at.deferred);
	out_count(w->e, &w->e->stats.failed, at.failed);
	sorted_free(&s);
	arena_free(&a);
}

void out_result_fail_all(struct out_worker *w, const struct queue_item *it,
                         const struct out_fail *f)
{
	struct out_rcpt_outcome *oc = calloc(it->n_rcpts, sizeof(*oc));
	if (!oc) {
		log_err("qid=%s out of memory recording outcomes", it->qid);
		return;
	}
	/* a refusal the recipients are not to blame for (the relay's) stays temporary */
	int code = f->permanent ? f->code : f->code >= 500 ? 451 : f->code;
	for (size_t i = 0; i < it->n_rcpts; i++) {
		oc[i].reply.code = code;
		oc[i].reply.synthesized = true;
		snprintf(oc[i].reply.status, sizeof(oc[i].reply.status), "%s", f->status);
		snprintf(oc[i].reply.line, sizeof(oc[i].reply.line), "%s", f->text);
	}
	struct out_conn c = {0};
	snprintf(c.host, sizeof(c.host), "%s", f->host);
	out_result_record(w, it, oc, &c, false);
	free(oc);
}
