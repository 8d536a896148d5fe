/* smtp_txn.c: the message body of a transaction: DATA (RFC 5321 4.1.1.4) or BDAT chunks
 * (RFC 3030) stream through the header filter (smtp_hdr.c: client Return-Path fields
 * removed, From: copied on submission) into a spool file behind our trace fields
 * (Return-Path, Received); then the checks that need the whole message, then the
 * delivery pipeline commits it and smtp_result.c answers, only after the commit is on
 * disk. Memory: one fixed write buffer per transaction and, on submission, the From:
 * copy (LIMIT_SMTP_FROM_HEADER); the body never sits in memory. */
#include "smtp_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

#define SPOOL_BUF (32u << 10)

static int spool_flush(struct smtp_session *s)
{
	size_t off = 0;
	while (off < s->out.len) {
		ssize_t w = write(s->spool_fd, s->out.data + off, s->out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_err("spool write %s: %s", s->spool_path, strerror(errno));
			return ERR_IO;
		}
		off += (size_t)w;
	}
	s->out.len = 0;
	return 0;
}

/* The sink both body readers write into. A failure is remembered by the reader, which
 * keeps reading to the end of the body so the session stays in sync. */
static int spool_write(void *arg, const uint8_t *p, size_t n)
{
	struct smtp_session *s = arg;
	while (n > 0) {
		if (s->spool_fd < 0)
			return ERR_IO;
		size_t room = buf_room(&s->out);
		if (room == 0) {
			int r = spool_flush(s);
			if (r < 0)
				return r;
			continue;
		}
		size_t k = n < room ? n : room;
		(void)buf_append(&s->out, p, k); /* fits: k <= room */
		p += k;
		n -= k;
	}
	return 0;
}

/* RFC 3848 with-protocol names. */
static const char *with_protocol(const struct smtp_session *s)
{
	bool tls = net_conn_is_tls(s->c), auth = s->auth_account != 0;
	if (s->fl == SMTP_LMTP)
		return tls ? (auth ? "LMTPSA" : "LMTPS") : (auth ? "LMTPA" : "LMTP");
	if (!s->esmtp)
		return "SMTP";
	return tls ? (auth ? "ESMTPSA" : "ESMTPS") : (auth ? "ESMTPA" : "ESMTP");
}

/* Set up the header filter in front of the spool. It is the readers' sink, so it is
 * set up even when something fails here: its writes then fail as sink errors. */
static int filter_open(struct smtp_session *s)
{
	int r = 0;
	s->from_hdr = (struct buf){0};
	/* submission: for the From: check and to find the DKIM signing domain */
	if (s->fl == SMTP_SUBMISSION)
		r = buf_alloc(&s->from_hdr, &s->ta, LIMIT_SMTP_FROM_HEADER);
	int ri = smtp_hdr_init(&s->hdr, s->from_hdr.cap ? &s->from_hdr : NULL, spool_write, s);
	return r < 0 ? r : ri;
}

/* Create the spool file and write Return-Path and Received (RFC 5321 4.4). */
static int spool_open(struct smtp_session *s)
{
	int r = filter_open(s);
	if (r < 0)
		return r;
	uint8_t *mem = malloc(SPOOL_BUF);
	if (!mem)
		return ERR_NOMEM;
	buf_init(&s->out, mem, SPOOL_BUF);
	char path[DELIVER_PATH_MAX];
	r = deliver_spool_create(path, sizeof(path), &s->spool_fd);
	if (r < 0) {
		s->spool_fd = -1;
		return r;
	}
	s->spool_path = arena_strdup(&s->ta, path); /* only while a transaction needs it */
	if (!s->spool_path) {
		(void)unlink(path); /* ours alone: nothing refers to it yet */
		return ERR_NOMEM;
	}
	if (str_random_hex(s->queue_id, 6) < 0)
		return ERR_IO;
	char date[64];
	str_rfc5322_date(date, time(NULL));
	const char *helo = s->helo ? s->helo : "unknown";
	r = buf_printf(&s->out, "Return-Path: <%s>\r\n", s->from);
	if (r == 0)
		/* RFC 5321 4.4: the HELO name, then the connection's address as TCP-info
		 * (we do no reverse DNS lookups) */
		r = buf_printf(&s->out,
			       "Received: from %s ([%s])\r\n\tby %s (kasten) with %s id %s\r\n",
			       helo, net_conn_peer_ip(s->c), conf_get()->hostname, with_protocol(s),
			       s->queue_id);
	if (r == 0 && s->n_rcpts == 1)
		r = buf_printf(&s->out, "\tfor <%s>; %s\r\n", s->rcpts[0].address, date);
	else if (r == 0)
		r = buf_printf(&s->out, "\t; %s\r\n", date);
	if (r < 0)
		return r;
	s->trace_bytes = s->out.len;
	return 0;
}

/* The write buffer is not needed while the delivery runs. */
static void spool_buf_free(struct smtp_session *s)
{
	free(s->out.data);
	s->out.data = NULL;
	s->out.len = s->out.cap = 0;
}

int smtp_txn_data_begin(struct smtp_session *s)
{
	if (spool_open(s) < 0) {
		smtp_txn_reset(s);
		smtp_rejected(METRIC_REJECT_TEMPORARY);
		smtp_reply(s, "451 4.3.0 Cannot store the message now, try again later");
		return 0;
	}
	if (smtp_data_init(&s->data, conf_get()->max_message_size, smtp_hdr_write, &s->hdr) < 0)
		return ERR_INVAL;
	s->mode = SMTP_MODE_DATA;
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	return 0;
}

static void reply_each(struct smtp_session *s, unsigned code, const char *text)
{
	size_t n = s->fl == SMTP_LMTP ? s->n_rcpts : 1;
	for (size_t i = 0; i < n; i++)
		smtp_reply(s, "%u %s", code, text);
}

/* The body arrived but cannot be stored: answer and forget the transaction. */
static void body_failed(struct smtp_session *s, unsigned code, const char *text)
{
	smtp_rejected(code == 552 ? METRIC_REJECT_SIZE
		      : code >= 500 ? METRIC_REJECT_SYNTAX : METRIC_REJECT_TEMPORARY);
	reply_each(s, code, text);
	smtp_txn_reset(s); /* closes and unlinks the spool file, frees its buffer */
}

static void body_done(struct smtp_session *s, unsigned flags);

/* One BDAT chunk is complete (RFC 3030 2): acknowledge it, or finish the message. */
static void chunk_done(struct smtp_session *s)
{
	s->mode = SMTP_MODE_COMMAND;
	/* a BDAT command is complete with its chunk; BDAT LAST completes the message */
	smtp_command_start(s, s->bdat_last ? METRIC_HIST_SMTP_DATA : METRIC_HIST_COMMAND);
	if (s->bdat_last) {
		body_done(s, s->bdat.flags);
		return;
	}
	unsigned code;
	const char *text;
	if (smtp_data_verdict(s->bdat.flags, &code, &text) < 0) {
		body_failed(s, code, text); /* the transaction is over; later chunks get 503 */
		return;
	}
	smtp_reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->bdat.in_bytes);
}

int smtp_txn_bdat_begin(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	/* RFC 3030 2: a refused BDAT's chunk is still read, then the error is answered */
	const char *refuse = NULL;
	if (!s->greeted || !s->esmtp)
		refuse = "503 5.5.1 Say EHLO first";
	else if (!s->has_mail)
		refuse = "503 5.5.1 Need MAIL before BDAT";
	else if (s->n_rcpts == 0)
		refuse = "554 5.5.1 No valid recipients";
	s->mode = SMTP_MODE_BDAT;
	s->bdat_last = cmd->bdat_last;
	s->bdat_refuse = refuse;
	if (refuse) {
		smtp_rejected(METRIC_REJECT_SYNTAX); /* each is a command out of sequence */
		s->bdat_left = cmd->bdat_size;
		if (s->bdat_left == 0) {
			s->mode = SMTP_MODE_COMMAND;
			smtp_reply(s, "%s", refuse);
		}
		return 0;
	}
	if (!s->bdat_started) {
		s->bdat_started = true;
		/* a spool failure shows as a sink error when the chunk is complete */
		if (spool_open(s) < 0 && s->spool_fd >= 0) { /* smtp_txn_reset unlinks it */
			close(s->spool_fd);
			s->spool_fd = -1;
		}
		smtp_bdat_init(&s->bdat, conf_get()->max_message_size, false, smtp_hdr_write,
			       &s->hdr);
	}
	int r = smtp_bdat_chunk(&s->bdat, cmd->bdat_size, cmd->bdat_last);
	if (r < 0)
		return r; /* cannot happen: chunks are read whole before the next command */
	if (r > 0)
		chunk_done(s);
	return 0;
}

/* A recipient whose mailbox cannot take size bytes: a refused one first, a deferred
 * postmaster (RFC 5321 4.5.1) only when no other is full. NULL when all fit. */
static struct smtp_rcpt *quota_failure(struct smtp_session *s, uint64_t size)
{
	struct smtp_rcpt *pm = NULL;
	for (size_t i = 0; i < s->n_rcpts; i++) {
		if (deliver_quota_check(smtp_env, s->rcpts[i].account_id, size) != ERR_QUOTA)
			continue;
		if (!s->rcpts[i].postmaster)
			return &s->rcpts[i];
		pm = pm ? pm : &s->rcpts[i];
	}
	return pm;
}

/* Port 25 with a queue for DSNs: leave every full mailbox (postmaster aside, which is
 * deferred) out of the delivery; the sender gets a DSN for them after the commit.
 * Returns how many recipients are left. */
static size_t quota_exclude(struct smtp_session *s, uint64_t size)
{
	size_t left = 0;
	for (size_t i = 0; i < s->n_rcpts; i++) {
		struct smtp_rcpt *r = &s->rcpts[i];
		if (!r->postmaster &&
		    deliver_quota_check(smtp_env, r->account_id, size) == ERR_QUOTA) {
			char e_from[512], e_to[512];
			log_info("rcpt refused id=%s from=<%s> to=<%s> reason=quota (DSN to follow)",
				 s->queue_id, log_esc(e_from, s->from, strlen(s->from)),
				 log_esc(e_to, r->address, strlen(r->address)));
			r->excluded = true;
			r->result = ERR_QUOTA;
		} else {
			left++;
		}
	}
	return left;
}

/* SMTP can answer only once for all recipients. Without a way to send a DSN, refuse
 * the whole message when one mailbox cannot take it, so the sender learns why (LMTP
 * and submission report per recipient after the commit instead); with the queue (it
 * reaches remote senders), accept it for the others and report the full ones. A full
 * postmaster mailbox defers it. Returns true when the message was refused. */
static bool quota_refused(struct smtp_session *s, uint64_t size)
{
	if (s->fl != SMTP_MX)
		return false;
	const struct smtp_rcpt *full = quota_failure(s, size);
	if (!full)
		return false;
	if (!full->postmaster && smtp_outbound_can_bounce() && quota_exclude(s, size) > 0)
		return false;
	char e_from[512], e_to[512];
	log_info("message refused id=%s from=<%s> size=%llu to=<%s> reason=quota", s->queue_id,
		 log_esc(e_from, s->from, strlen(s->from)), (unsigned long long)size,
		 log_esc(e_to, full->address, strlen(full->address)));
	smtp_rejected(METRIC_REJECT_QUOTA);
	if (full->postmaster)
		smtp_reply(s, "452 4.2.2 <%s>: Mailbox full, try again later", full->address);
	else
		smtp_reply(s, "552 5.2.2 <%s>: Mailbox full", full->address);
	smtp_txn_reset(s);
	return true;
}

/* The job's recipients: the local ones not left out, and the map back to rcpts[]. */
static struct deliver_rcpt *job_rcpts(struct smtp_session *s, size_t *n_out)
{
	struct deliver_rcpt *dr = arena_alloc(&s->ta, s->n_rcpts * sizeof(*dr));
	s->job_rcpt = arena_alloc(&s->ta, s->n_rcpts * sizeof(*s->job_rcpt));
	size_t n = 0;
	if (!dr || !s->job_rcpt)
		return NULL;
	for (size_t i = 0; i < s->n_rcpts; i++) {
		const struct smtp_rcpt *r = &s->rcpts[i];
		if (r->remote || r->excluded)
			continue;
		s->job_rcpt[n] = i;
		dr[n++] = (struct deliver_rcpt){r->account_id, r->address, 0};
	}
	*n_out = n;
	return dr;
}

/* Hand the message to the delivery pipeline (local copies and the queue in one group
 * commit); smtp_result_delivered answers after it. Also the continuation of signing. */
static void txn_submit(struct smtp_session *s)
{
	if (s->closing) { /* the client left while the message was being signed */
		smtp_session_free(s);
		return;
	}
	size_t n = 0;
	struct deliver_rcpt *dr = s->sign_err < 0 ? NULL : job_rcpts(s, &n);
	if (dr && s->n_remote > 0 && smtp_outbound_prepare(s, s->msg_size) < 0)
		dr = NULL;
	if (!dr) {
		s->mode = SMTP_MODE_COMMAND;
		net_conn_resume(s->c); /* paused while signing */
		body_failed(s, 451, "4.3.0 Cannot store the message now, try again later");
		return;
	}
	s->job = (struct deliver_job){
		.spool_path = s->spool_path,
		.size = s->msg_size,
		.internal_date = time(NULL),
		.rcpts = dr,
		.n_rcpts = n,
		.done = smtp_result_delivered,
		.arg = s,
		.base = net_conn_base(s->c),
		/* a DSN (SMTP, submission) may need the message after the commit: we
		 * unlink it ourselves */
		.keep_spool = s->fl != SMTP_LMTP,
		.outbound = s->n_remote > 0 ? &s->qin : NULL,
	};
	s->mode = SMTP_MODE_BUSY;
	net_conn_pause(s->c);
	net_conn_hold(s->c);
	if (deliver_submit(&s->job) < 0) {
		net_conn_release(s->c);
		s->mode = SMTP_MODE_COMMAND;
		net_conn_resume(s->c);
		body_failed(s, 451, "4.3.0 Cannot store the message now, try again later");
	}
}

/* The body is complete: check it, then hand it to the delivery pipeline and wait. */
static void body_done(struct smtp_session *s, unsigned flags)
{
	unsigned code;
	const char *text;
	if (smtp_data_verdict(flags, &code, &text) < 0) {
		body_failed(s, code, text);
		return;
	}
	/* the message is complete only with what the filter still held back */
	int werr = smtp_hdr_finish(&s->hdr);
	const char *refused = werr == 0 ? smtp_policy_from(s) : NULL;
	if (refused) {
		smtp_rejected(refused[0] == '4' ? METRIC_REJECT_TEMPORARY : METRIC_REJECT_SENDER);
		smtp_reply(s, "%s", refused);
		smtp_txn_reset(s);
		return;
	}
	if (werr == 0)
		werr = spool_flush(s);
	if (close(s->spool_fd) < 0) /* a delayed write error shows here */
		werr = ERR_IO;
	s->spool_fd = -1;
	if (werr < 0) {
		body_failed(s, 451, "4.3.0 Cannot store the message now, try again later");
		return;
	}
	spool_buf_free(s);
	if (s->hdr.dropped)
		log_info("message id=%s: removed %u client Return-Path field(s)", s->queue_id,
			 s->hdr.dropped);
	s->msg_size = s->trace_bytes + s->hdr.out_bytes;
	if (quota_refused(s, s->msg_size))
		return;
	s->sign_err = 0;
	if (s->fl == SMTP_SUBMISSION && smtp_outbound_sign(s, txn_submit))
		return; /* txn_submit goes on after the signature */
	if (smtp_checks_start(s, txn_submit))
		return; /* port 25: txn_submit goes on after SPF, DKIM and DMARC */
	txn_submit(s);
}

int smtp_txn_body_input(struct smtp_session *s, const uint8_t *p, size_t len)
{
	size_t used = 0;
	if (s->mode == SMTP_MODE_DATA) {
		if (smtp_data_read(&s->data, p, len, &used) > 0) {
			s->mode = SMTP_MODE_COMMAND;
			smtp_command_start(s, METRIC_HIST_SMTP_DATA);
			body_done(s, s->data.flags);
		}
		return (int)used;
	}
	if (s->bdat_refuse) {
		used = len < s->bdat_left ? len : (size_t)s->bdat_left;
		s->bdat_left -= used;
		if (s->bdat_left == 0) {
			s->mode = SMTP_MODE_COMMAND;
			smtp_command_start(s, METRIC_HIST_COMMAND);
			smtp_reply(s, "%s", s->bdat_refuse);
		}
		return (int)used;
	}
	if (smtp_bdat_read(&s->bdat, p, len, &used) > 0)
		chunk_done(s);
	return (int)used;
}
