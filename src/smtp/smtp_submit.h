/* smtp_submit.h: submission (RFC 6409) as functions over explicit arguments, for a
 * sender that is not an SMTP session: JMAP EmailSubmission (src/http/jmap_submission*.c).
 * The SMTP submission session calls the same checks (smtp_policy.c for MAIL FROM and
 * From:, smtp_cmds.c for the recipient limit, the rate and the routing, smtp_outbound.c
 * for DKIM), so a message meets one policy whichever way it is sent:
 *   - [submission] max_messages_per_hour (smtp_rate.c), [limits]/[submission]
 *     max_recipients;
 *   - the envelope sender and every From: mailbox must be the account's address or an
 *     alias ([submission] check_from for From:);
 *   - local recipients are delivered through deliver/ (group commit; a full mailbox
 *     gets the sender a failure notice in the INBOX, as on submission), remote ones
 *     queued for the outbound engine in the same commit, signed with DKIM when the
 *     From: domain is ours and has keys.
 * Threads: every function may run on any thread once `kasten serve` set up smtp
 * (smtp_init, smtp_set_dkim, smtp_set_queue); smtp_submit_message blocks until the
 * message is on disk, so it runs on a worker (the I/O pool), never on a loop thread. */
#ifndef KASTEN_SMTP_SUBMIT_H
#define KASTEN_SMTP_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"

struct arena;
struct mime_addr;

/* The recipients one message may have: [limits] max_recipients, lowered by [submission]
 * max_recipients when that is set. Inline over the config alone, so the JMAP engine,
 * which does not link src/smtp, derives envelopes and answers maxRecipients with it. */
static inline unsigned smtp_submit_max_rcpts(void)
{
	const struct conf *cf = conf_get();
	unsigned n = cf->max_recipients;
	if (cf->submission_max_rcpts && cf->submission_max_rcpts < n)
		n = cf->submission_max_rcpts;
	return n;
}
/* [submission] max_messages_per_hour: count one message of the account now. 0, ERR_FULL
 * (the hour is used up: nothing counted), ERR_NOMEM. */
int smtp_submit_rate_take(int64_t account_id);
/* Is address the account's (its own or an alias)? 0 yes, ERR_PERM no (unknown or
 * another account's), another negative enum err when the directory could not say. */
int smtp_submit_owns(int64_t account_id, const char *address);
/* The From: check (RFC 5322 3.6.2) over a parsed address list: 0 when it names at least
 * one mailbox and every mailbox is the account's; ERR_PERM with *bad_out (the first
 * foreign address, in a) when one is not; ERR_NOTFOUND when it names no mailbox;
 * another negative enum err when the directory could not say. */
int smtp_submit_from_check(int64_t account_id, const struct mime_addr *list,
			   struct arena *a, const char **bad_out);

/* Where a recipient goes: SMTP_ROUTE_LOCAL (*id_out its account; *postmaster_out when it
 * is RFC 5321 4.5.1 postmaster, reaching [server] postmaster), SMTP_ROUTE_REMOTE (not
 * one of our domains), or a negative enum err: ERR_NOTFOUND (our domain, no such
 * user), a temporary one. postmaster: the address is a postmaster path (any case). */
enum smtp_route { SMTP_ROUTE_LOCAL = 0, SMTP_ROUTE_REMOTE = 1 };
int smtp_submit_route(const char *addr, bool postmaster, int64_t *id_out,
		      bool *postmaster_out);

/* DKIM (RFC 6376): sign the message file at path for domain (ours). 0 and *header_out
 * (the DKIM-Signature lines, CRLF each, malloc'd; NULL when the domain has no keys or
 * no keyring is set), ERR_TOO_BIG / ERR_INVAL (a header past the signer's bounds, no
 * From:: sent unsigned, as a receiver would judge it without keys), or another
 * negative enum err. Reads the whole file. */
int smtp_submit_sign(const char *domain, const char *path, char **header_out);

/* The states of the recipients of a message still in the outbound queue (queue_show
 * of src/outbound/queue.h, from a). ERR_NOTFOUND when it has left the queue (every
 * recipient done) or there is no queue. */
struct queue_show;
int smtp_submit_queue_show(const char *qid, struct arena *a, struct queue_show **out);

/* ---- one whole message (smtp_submit_send.c) ---- */
enum smtp_submit_refusal {
	SMTP_SUBMIT_SENT = 0,      /* handed over: see each recipient's result */
	SMTP_SUBMIT_NO_RCPTS,      /* no recipient */
	SMTP_SUBMIT_TOO_MANY_RCPTS, /* more than smtp_submit_max_rcpts() */
	SMTP_SUBMIT_RATE,          /* max_messages_per_hour used up */
	SMTP_SUBMIT_MAIL_FROM,     /* the envelope sender is not the account's */
	SMTP_SUBMIT_FROM,          /* a From: mailbox is not the account's (or none) */
	SMTP_SUBMIT_RCPTS,         /* some recipient cannot be sent to (its result says
				    * why: ERR_NOTFOUND no such local user, ERR_PERM a
				    * remote one without an outbound queue or an address
				    * literal); nothing was sent */
	SMTP_SUBMIT_TOO_BIG,       /* past [limits] max_message_size, or its header section
				    * past LIMIT_SUBMIT_HEADER */
};
struct smtp_submit_rcpt {
	const char *address;
	/* out: 0 (stored in the account's INBOX, or, for a remote one, on disk in the
	 * outbound queue) or a negative enum err (ERR_QUOTA: that mailbox is full; the
	 * sender got a failure notice) */
	int result;
	bool remote;               /* out: queued for another host */
};
struct smtp_submit {
	int64_t account_id;
	const char *mail_from;     /* the envelope sender (RFC 5321 reverse-path), not "" */
	struct smtp_submit_rcpt *rcpts;
	size_t n_rcpts;
	int msg_fd;                /* the message as the client made it (CRLF, no trace
				    * fields of ours), read with pread from offset 0; the
				    * caller keeps and closes it */
	const char *with;          /* the Received field's "with" protocol, e.g. "JMAP" */
	/* out */
	enum smtp_submit_refusal refusal;
	const char *bad_from;      /* SMTP_SUBMIT_FROM: the foreign address (in a), or NULL */
	char queue_id[24];         /* the outbound queue's id when a remote recipient was
				    * queued, else "" */
	uint64_t size;             /* octets sent (our trace fields included) */
};
/* Check and send m as authenticated submission does: the limits and the sender checks
 * above, then a spool file of our Return-Path and Received fields and the message with
 * its Bcc fields removed (RFC 5322 3.6.3: no recipient learns of the blind copies),
 * signed when it leaves for another host, stored and queued in one commit, durable
 * when this returns. Returns 0 with m->refusal (SMTP_SUBMIT_SENT: each recipient's
 * result filled), or a negative enum err for the server's own failures (nothing sent:
 * ERR_TEMP, ERR_IO, ERR_NOMEM). Strings in a. */
int smtp_submit_message(struct smtp_submit *m, struct arena *a);

#endif
