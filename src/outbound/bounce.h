/* bounce.h: delivery status notifications (RFC 3464) about queued mail: failures, delays,
 * successes and relays, each one multipart/report; report-type=delivery-status (RFC 6522)
 * made by the tree's one DSN writer (deliver_dsn_write in src/deliver) and sent back to
 * the message's envelope sender.
 *
 * Who gets a report (RFC 3461 5, RFC 5321 4.5.5), decided per recipient and per call:
 *   - nobody when the envelope sender is null ("" or "<>") or the message is itself a
 *     DSN (kind QUEUE_KIND_DSN, or its header says multipart/report; delivery-status):
 *     a bounce is never bounced, so no loop can start;
 *   - a recipient is reported only when its NOTIFY asks for this action: NEVER asks for
 *     nothing; an explicit set (SUCCESS, FAILURE, DELAY) for what it names; the default
 *     (no NOTIFY given) for FAILURE and DELAY. BOUNCE_DELIVERED and BOUNCE_RELAYED are
 *     both asked for by SUCCESS (RFC 3461 6.2, 6.3);
 *   - a sender that is a local account or alias (store_resolve) gets the report in that
 *     account's INBOX through deliver/ (a full mailbox drops it: logged, never retried
 *     and never bounced);
 *   - any other sender gets it by mail: queue_add with the null sender, kind
 *     QUEUE_KIND_DSN, one recipient (the sender, NOTIFY=NEVER).
 *
 * The report: Subject by action ("Undelivered Mail Returned to Sender", "Delayed Mail
 * (still being retried)", "Successful Mail Delivery Report", "Relayed Mail Delivery
 * Report"); From: MAILER-DAEMON <the postmaster>; To: the sender; In-Reply-To and
 * References: the original's Message-ID; Auto-Submitted: auto-replied (RFC 3834).
 * Parts: the human text (with the qid), message/delivery-status (Reporting-MTA,
 * Original-Envelope-Id, Arrival-Date; per recipient Original-Recipient, Final-Recipient,
 * Action, Status, Remote-MTA, Diagnostic-Code, Last-Attempt-Date, Will-Retry-Until),
 * then the original: RET=HDRS (the default) its header section as text/rfc822-headers,
 * RET=FULL (failure reports only, RFC 3461 4.3) the whole message as message/rfc822
 * unless it is longer than LIMIT_BOUNCE_FULL or not CRLF text with lines of at most 998
 * octets (then its header section, and the text says why). An SMTPUTF8
 * original or a UTF-8 address switches to message/global-delivery-status and
 * message/global-headers / message/global (RFC 6533). The queue row's DKIM lines are not
 * part of the original and are not returned.
 *
 * Threads: bounce_send blocks (it reads the original, waits for the INBOX commit or the
 * queue's flush): call it from an outbound worker or the io worker pool, never from a
 * loop thread or a done callback on the deliver committer thread. */
#ifndef KASTEN_BOUNCE_H
#define KASTEN_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbound/queue.h"

struct store_env;

enum bounce_action {
	BOUNCE_FAILED,    /* Action: failed, permanent (5.x.x) or given up (4.x.x at give_up) */
	BOUNCE_DELAYED,   /* Action: delayed, still being retried */
	BOUNCE_DELIVERED, /* Action: delivered (the remote server took it and offers DSN) */
	BOUNCE_RELAYED,   /* Action: relayed (sent on to a server without DSN, RFC 3461 6.2) */
};

struct bounce_rcpt {
	const char *address;    /* the recipient as sent in RCPT TO (Final-Recipient) */
	const char *orcpt;      /* ORCPT, xtext-decoded "rfc822;x@y", or NULL: none given */
	unsigned notify;        /* enum queue_notify bits; QUEUE_NOTIFY_DEFAULT (0): none
				 * given, which means FAILURE and DELAY */
	const char *status;     /* RFC 3463 "5.1.1"; NULL: derived from the action */
	const char *remote_mta; /* host name of the server that answered, or NULL */
	const char *diagnostic; /* one line: the remote reply "550 5.1.1 text" or our own
				 * reason; NULL: none. Control characters are replaced,
				 * LIMIT_BOUNCE_DIAG bytes kept, folded for the header */
	const char *human;      /* words for people in the text part, or NULL (then "host
				 * H said" or the action); deliver_dsn_status() has them for
				 * local errors */
	int64_t last_attempt;   /* unix seconds of the last try; 0: not reported */
};

struct bounce_msg {
	struct store_env *env;   /* directory of local accounts (the sender lookup) */
	const char *qid;         /* the original's queue id, named in the human text */
	const char *sender;      /* envelope sender; "" or "<>": no report */
	const char *envid;       /* ENVID, xtext-decoded, or NULL */
	const char *path;        /* the original message file (queue/msg/<qid> or spool) */
	const char *dkim_header; /* the queue row's signature lines: never returned */
	enum queue_ret ret;      /* DEFAULT and HDRS: headers only; FULL: the message */
	enum queue_kind kind;    /* QUEUE_KIND_DSN: never reported on */
	bool smtputf8;           /* the original came with SMTPUTF8 (RFC 6533 forms) */
	int64_t queued_at;       /* Arrival-Date; 0: the file's mtime */
	int64_t give_up;         /* seconds after queued_at the queue retries for: a delay
				  * report's Will-Retry-Until; 0: not reported */
	int64_t account_id;      /* submitting account, 0 for none (logs only) */
};

/* Make the report about recipients r[0..n) (one action for all) and send it to m->sender
 * as described above. Recipients whose NOTIFY excludes the action are left out; when none
 * is left, nothing is made.
 * Returns 1 when a report was stored in the sender's INBOX or queued for it, 0 when none
 * was due (null sender, a DSN, NOTIFY, a full local mailbox: logged), or a negative
 * enum err when nothing was made and a later call may succeed (ERR_IO reading the
 * original, ERR_TEMP/ERR_IO from the queue or the store, ERR_NOMEM); ERR_INVAL for bad
 * arguments (no env, path or recipients; an address with control characters). */
int bounce_send(struct queue *q, const struct bounce_msg *m, enum bounce_action action,
		const struct bounce_rcpt *r, size_t n);

/* Reports queued for remote senders are DKIM-signed (RFC 6376) for their From: domain,
 * the postmaster's, with this keyring's keys when the domain has any; NULL (the
 * default): unsigned. Call once at startup, before any report is sent. */
struct dkim_keyring;
void bounce_set_dkim(struct dkim_keyring *kr);

/* Does notify (enum queue_notify bits) ask for a report of this action? Pure. */
bool bounce_wanted(unsigned notify, enum bounce_action action);

#endif
