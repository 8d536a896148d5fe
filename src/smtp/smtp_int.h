/* smtp_int.h: the SMTP session, shared by the files of src/smtp only.
 *
 * Lifetimes: the session struct and its arena live as long as the connection; the
 * transaction arena (sender, recipients) is reset at RSET/MAIL/end of data; the command
 * arena is reset after every command. */
#ifndef KASTEN_SMTP_INT_H
#define KASTEN_SMTP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "deliver/deliver.h"
#include "outbound/queue.h"
#include "smtp.h"
#include "smtp_data.h"
#include "smtp_hdr.h"
#include "smtp_parse.h"

struct store_env;
extern struct store_env *smtp_env;


enum smtp_mode {
	SMTP_MODE_COMMAND, /* reading command lines */
	SMTP_MODE_DATA,    /* after 354: dot-stuffed content until CRLF.CRLF */
	SMTP_MODE_BDAT,    /* reading a chunk of exactly n octets */
	SMTP_MODE_AUTH,    /* reading a SASL response line */
	SMTP_MODE_BUSY,    /* waiting for a delivery or a password check */
};

struct smtp_rcpt {
	const char *address; /* canonical, as the client wrote it (for replies and DSNs) */
	int64_t account_id;
	/* RFC 5321 4.5.1: a postmaster address. A full mailbox defers it (4xx) instead of
	 * refusing it, since postmaster must stay reachable. */
	bool postmaster;
	/* Submission with the outbound queue configured: an address outside our domains,
	 * queued for sending out (account_id is 0). */
	bool remote;
	unsigned notify;    /* RFC 3461 NOTIFY bits (SMTP_NOTIFY_*), 0: not given */
	const char *orcpt;  /* RFC 3461 ORCPT "type;address", decoded, in ta; or NULL */
	/* Port 25 with a queue for DSNs: its mailbox was full at the end of data, so it is
	 * left out while the others get the message, and the sender gets a DSN for it. */
	bool excluded;
	/* After the commit: 0, or why this recipient did not get the message (the job's
	 * result; ERR_QUOTA when excluded; the queue's result for a remote one). */
	int result;
};

/* A RCPT being answered: what the command asked for (strings in ta). */
struct smtp_rcpt_req {
	const char *addr;
	bool postmaster;   /* the path is RFC 5321 4.5.1 postmaster */
	bool literal;      /* the domain is an address literal */
	unsigned notify;   /* RFC 3461 NOTIFY bits, 0: not given */
	const char *orcpt; /* "type;address" or NULL */
};

struct smtp_session {
	struct net_conn *c;
	enum smtp_flavour fl;
	enum smtp_mode mode;
	struct arena sa, ta, ca; /* session, transaction, command */
	struct smtp_cmd_reader reader;
	unsigned errors;
	bool greeted;   /* HELO/EHLO/LHLO seen */
	bool esmtp;     /* EHLO/LHLO rather than HELO */
	const char *helo; /* in sa */
	bool closing;   /* on_close ran while busy: free when the work is done */

	/* authentication (submission) */
	int64_t auth_account; /* 0 = not authenticated */
	const char *auth_address; /* in sa */
	const char *auth_mech;    /* "PLAIN" or "LOGIN": the last AUTH, for replies and logs */
	struct auth_exchange sasl; /* the exchange in progress (MODE_AUTH) */

	/* transaction */
	bool has_mail;
	const char *from;       /* canonical reverse-path, "" for <> */
	uint64_t declared_size;
	bool smtputf8;
	bool binarymime;
	enum smtp_body body;   /* MAIL BODY= (RFC 6152), NONE when not given */
	enum smtp_ret ret;     /* RFC 3461 RET, NONE when not given */
	const char *envid;     /* RFC 3461 ENVID, decoded, in ta; or NULL */
	bool requiretls;       /* RFC 8689 MAIL REQUIRETLS (accepted over TLS only) */
	struct smtp_rcpt *rcpts;
	size_t n_rcpts, cap_rcpts;
	size_t n_remote;       /* rcpts with remote set */
	uint64_t msg_size;     /* the spooled message (trace fields included) */

	/* message body */
	int spool_fd;
	char *spool_path;        /* in ta while a body is spooled or delivered, else NULL */
	struct buf out;          /* write buffer in front of spool_fd */
	uint64_t trace_bytes;    /* Return-Path + Received we prepended */
	struct smtp_data_reader data;
	struct smtp_bdat_reader bdat;
	struct smtp_hdr_filter hdr; /* between the reader and the spool */
	struct buf from_hdr;        /* the From: value for the submission check (in ta) */
	uint64_t bdat_left;      /* octets of a refused chunk still to skip */
	bool bdat_last;
	bool bdat_started;
	const char *bdat_refuse; /* reply for a refused BDAT whose chunk we are skipping */
	struct smtp_rcpt_req rcpt_delay; /* a RCPT answered after the client's penalty delay */

	struct deliver_job job;
	size_t *job_rcpt;        /* job.rcpts[k] is rcpts[job_rcpt[k]] (in ta) */
	struct queue_msg_in qin; /* job.outbound when the message has remote recipients */
	char *dkim_header;       /* the signature lines for qin (malloc'd), or NULL */
	/* while signing on the io pool: the domain (in ta), then the outcome */
	const char *sign_domain;
	int sign_err;
	void (*sign_next)(struct smtp_session *s);
	net_done_fn dsn_next; /* after the DSN of smtp_outbound_dsn */
	char queue_id[20];

	/* metrics: when the command (or message body) now being answered was complete in
	 * the input (metrics_now), 0 once its reply is queued; the histogram it counts in */
	uint64_t cmd_start;
	enum metric_hist cmd_hist;
};

/* Replies: one line, or several joined by the caller with '-' continuation. The first
 * line after smtp_command_start ends the command's latency measurement: the lines of
 * one reply (EHLO's, LMTP's per recipient) are queued together, microseconds apart. */
void smtp_reply(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A command line (hist METRIC_HIST_COMMAND) or a message body (METRIC_HIST_SMTP_DATA)
 * is complete in the input: its latency runs until the next reply. */
void smtp_command_start(struct smtp_session *s, enum metric_hist hist);
/* Count a refusal in kasten_smtp_rejections_total: every refusal site names its reason. */
static inline void smtp_rejected(enum metric_reject why)
{
	metrics_count(METRIC_SMTP_REJECTIONS, why, 1);
}

/* Command handlers (smtp_cmds.c); each returns 0, or <0 to close the connection. */
int smtp_cmd_dispatch(struct smtp_session *s, struct smtp_cmd *cmd);
void smtp_txn_reset(struct smtp_session *s);

/* AUTH (smtp_auth.c) */
int smtp_auth_start(struct smtp_session *s, const struct smtp_cmd *cmd);
int smtp_auth_line(struct smtp_session *s, const uint8_t *line, size_t len);
bool smtp_auth_allowed(const struct smtp_session *s);

/* The message body and its delivery (smtp_txn.c) */
int smtp_txn_data_begin(struct smtp_session *s);
int smtp_txn_bdat_begin(struct smtp_session *s, const struct smtp_cmd *cmd);
/* Consume body bytes in DATA or BDAT mode; returns bytes used (>=0) or <0 to close. */
int smtp_txn_body_input(struct smtp_session *s, const uint8_t *p, size_t len);
/* The job's done callback (smtp_result.c): the reply(s) after the commit, the delivery
 * log line, the DSN on submission; then the session goes on (or is freed if closing). */
void smtp_result_delivered(struct deliver_job *job, void *arg);

/* Sender policy and local addresses (smtp_policy.c). The refusal functions return NULL
 * when the sender may go on, else the whole reply line (code, enhanced code, text) in
 * the command arena, and log the refusal. */
bool smtp_policy_local_domain(const char *domain);
const char *smtp_policy_mail(struct smtp_session *s, const struct smtp_path *path);
/* After the body: the header From: on submission, when [submission] check_from. */
const char *smtp_policy_from(struct smtp_session *s);
/* The domain of the first mailbox of the header From: (the DKIM signing domain), in
 * the command arena; NULL when there is no single, readable From: field. */
const char *smtp_policy_from_domain(struct smtp_session *s);
/* The account a postmaster address (RFC 5321 4.5.1) reaches: addr itself when it is
 * an account or alias, else [server] postmaster. ERR_NOTFOUND when neither exists. */
int smtp_policy_postmaster(const char *addr, int64_t *id_out);

/* Submission's sliding-hour message count per account (smtp_rate.c): counts one
 * message for account_id at time now unless limit (0: none) were passed. 0, ERR_FULL
 * (over the limit: nothing counted), ERR_NOMEM. Any thread. */
int smtp_rate_take(int64_t account_id, int64_t now, unsigned limit);

/* Remote recipients and what goes with them (smtp_outbound.c). */
/* May this session accept recipients outside our domains? (submission, authenticated,
 * with the outbound queue configured) */
bool smtp_outbound_accepts(const struct smtp_session *s);
/* Can a DSN reach any sender (the queue is set, so remote senders too)? */
bool smtp_outbound_can_bounce(void);
/* Fill s->qin for the transaction's remote recipients (after the body is spooled; size
 * is the spool file's). 0 or ERR_NOMEM. */
int smtp_outbound_prepare(struct smtp_session *s, uint64_t size);
/* Sign the spooled message when its From: domain is ours and has keys (on the io pool),
 * then call next(s) on the loop thread. Returns false when there is nothing to sign
 * (next was not called: the caller goes on at once; s->sign_err < 0 when signing was
 * due but could not start). next finds the outcome in s->sign_err (0: signed into
 * s->dkim_header, or left unsigned for a reason logged; <0: a temporary failure). */
bool smtp_outbound_sign(struct smtp_session *s, void (*next)(struct smtp_session *s));
/* After the commit (rcpts[].result filled): a DSN (RFC 3464) to the sender about the
 * recipients that failed permanently whose NOTIFY asks for one, on the io pool; then
 * done(c, s) on the loop. 1: started; 0: no DSN due; <0: it could not be started
 * (done is called only for 1). */
int smtp_outbound_dsn(struct smtp_session *s, net_done_fn done);

/* Port 25's inbound checks (smtp_checks.c): SPF, DKIM and DMARC over the spooled
 * message on the io pool, then the message with its Authentication-Results field in
 * a new spool file (s->spool_path, s->msg_size) goes on with next(s). Returns false
 * when there is nothing to check (not port 25, [checks] all off): the caller goes on
 * at once. True: next runs later, or the message was answered here (refused by DMARC,
 * 451 when the checks could not run, 552 for a header too large to check). */
bool smtp_checks_start(struct smtp_session *s, void (*next)(struct smtp_session *s));

/* Resume after asynchronous work: back to command mode, process pipelined input. */
void smtp_session_resume(struct smtp_session *s);
void smtp_session_free(struct smtp_session *s);

#endif
