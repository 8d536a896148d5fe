/* out_worker.c: one worker thread: it owns an event base, a resolver and a TLS policy
 * context (made and used on this thread only), waits for a destination, and sends
 * every batch of it over one connection: reconnecting after a lost connection, one
 * transaction per message (LIMIT_SMTPC_RCPTS recipients each), RSET before a
 * connection is reused for the next batch, QUIT when nothing is left. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/dns.h"
#include "outbound/out_int.h"
#include "outbound/tlspol.h"
#include "core/banned.h"

static void worker_setup(struct out_worker *w)
{
	struct dns_options o;
	dns_options_from_conf(&o);
	w->base = event_base_new();
	if (!w->base || dns_resolver_new(w->base, &o, &w->dns) < 0) {
		log_err("outbound: a worker has no resolver: every attempt is deferred");
		return;
	}
	struct tlspol_options to;
	char path[LIMIT_TLSPOL_PATH];
	tlspol_options_from_conf(&to, path);
	if (tlspol_ctx_new(w->dns, &to, &w->tlspol) < 0)
		log_err("outbound: a worker has no MTA-STS/DANE context: every attempt is "
		        "deferred");
}

static void worker_teardown(struct out_worker *w)
{
	tlspol_ctx_free(&w->tlspol);
	dns_resolver_free(&w->dns);
	if (w->base)
		event_base_free(w->base);
	w->base = NULL;
}

static enum smtpc_ret map_ret(enum queue_ret r)
{
	return r == QUEUE_RET_FULL   ? SMTPC_RET_FULL
	       : r == QUEUE_RET_HDRS ? SMTPC_RET_HDRS
	                             : SMTPC_RET_DEFAULT;
}

static enum smtpc_body map_body(enum queue_body b)
{
	return b == QUEUE_BODY_BINARYMIME ? SMTPC_BODY_BINARYMIME
	       : b == QUEUE_BODY_8BITMIME ? SMTPC_BODY_8BITMIME
	                                  : SMTPC_BODY_7BIT;
}

static void conn_close(struct out_conn *c, bool quit)
{
	if (!c->s)
		return;
	if (quit)
		(void)smtpc_quit(c->s); /* the outcomes are recorded already */
	smtpc_free(&c->s);
	log_info("disconnected relay=%s[%s]:%u", c->host, c->ip, c->port);
}

/* Send one message over c (reconnected by the caller when c->s is NULL) and record its
 * recipients' outcomes. A lost connection leaves c->s NULL. */
static void send_item(struct out_worker *w, struct out_conn *c, const struct queue_item *it)
{
	size_t n = it->n_rcpts;
	struct smtpc_rcpt *rc = calloc(n, sizeof(*rc));
	struct out_rcpt_outcome *oc = calloc(n, sizeof(*oc));
	int fd = open(it->path, O_RDONLY | O_CLOEXEC);
	if (!rc || !oc || fd < 0) {
		struct out_fail f = {.permanent = false, .code = 451, .status = "4.3.0"};
		snprintf(f.text, sizeof(f.text), "451 4.3.0 cannot read the queued message: %s",
		         fd < 0 ? strerror(errno) : "out of memory");
		out_result_fail_all(w, it, &f);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rc[i].address = it->rcpts[i].address;
		rc[i].orcpt = it->rcpts[i].orcpt;
		rc[i].notify = it->rcpts[i].notify;
	}
	/* our Return-Path stays home (out_return_path_len) */
	uint8_t head[LIMIT_ADDRESS + 64];
	ssize_t got = pread(fd, head, sizeof(head), 0);
	size_t skip = got > 0 ? out_return_path_len(head, (size_t)got) : 0;
	if (skip > it->size)
		skip = 0;
	struct smtpc_msg m = {
	    .sender = it->sender,
	    .envid = it->envid,
	    .ret = map_ret(it->ret),
	    .body = map_body(it->body),
	    .smtputf8 = it->smtputf8,
	    .requiretls = it->requiretls,
	    .prefix = it->dkim_header,
	    .prefix_len = it->dkim_header ? strlen(it->dkim_header) : 0,
	    .fd = fd,
	    .offset = skip,
	    .size = it->size - skip,
	};
	bool dsn = smtpc_extensions(c->s)->flags & SMTPC_EXT_DSN;
	for (size_t at = 0; at < n && c->s; at += LIMIT_SMTPC_RCPTS) {
		size_t k = n - at < LIMIT_SMTPC_RCPTS ? n - at : LIMIT_SMTPC_RCPTS;
		struct smtpc_reply final;
		int r = smtpc_send(c->s, &m, rc + at, k, &final);
		out_count(w->e, &w->e->stats.transactions, 1);
		if (r == ERR_IO || r == ERR_INVAL) {
			log_warn("outbound: qid=%s relay=%s[%s]:%u: %s", it->qid, c->host, c->ip,
			         c->port, smtpc_error(c->s));
			conn_close(c, false);
		}
	}
	/* recipients the connection never reached keep reply code 0: temporary */
	for (size_t i = 0; i < n; i++) {
		oc[i].reply = rc[i].reply;
		if (!oc[i].reply.code && !oc[i].reply.line[0]) {
			snprintf(oc[i].reply.status, sizeof(oc[i].reply.status), "4.4.2");
			snprintf(oc[i].reply.line, sizeof(oc[i].reply.line),
			         "connection lost before the reply");
		}
	}
	out_result_record(w, it, oc, c, dsn);
out:
	if (fd >= 0)
		close(fd);
	free(rc);
	free(oc);
}

/* Every batch of destination d, over as few connections as possible. */
static void serve(struct out_worker *w)
{
	struct out_conn c = {0};
	struct out_fail fail;
	bool route_failed = false;
	struct out_batch *b;
	while ((b = out_next_batch(w))) {
		/* a connection kept from the last batch: RSET shows it is still alive */
		struct smtpc_reply rr;
		if (c.s && smtpc_rset(c.s, &rr) != 0)
			conn_close(&c, false);
		for (size_t i = 0; i < b->n; i++) {
			const struct queue_item *it = &b->items[i];
			if (out_stopping(w->e))
				break; /* the rest stays leased: sent after the next start */
			/* `kasten queue hold|delete` may have come while it waited in the
			 * backlog; an error here sends it (a hold is advice, a loss is not) */
			if (queue_lease_check(w->e->q, it->msg_id) == 0)
				continue;
			if (!c.s && !route_failed) {
				if (out_route_connect(w, w->e->relay ? NULL : it->domain, &c,
				                      &fail) < 0)
					route_failed = true;
				else
					out_count(w->e, &w->e->stats.connections, 1);
			}
			if (route_failed) {
				/* the same attempt's answer for everything of this destination */
				out_result_fail_all(w, it, &fail);
				continue;
			}
			if (!out_rate_take(w))
				break;
			send_item(w, &c, it);
		}
		out_batch_free(&b);
	}
	conn_close(&c, true);
}

void *out_worker_main(void *arg)
{
	struct out_worker *w = arg;
	log_ctx("outbound", 0, NULL, NULL);
	worker_setup(w);
	while (out_worker_wait(w)) {
		serve(w);
		out_worker_done(w);
	}
	worker_teardown(w);
	return NULL;
}
