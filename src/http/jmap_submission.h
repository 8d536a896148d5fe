/* jmap_submission.h: EmailSubmission (RFC 8621 7): /get, /changes, /query, /set
 * (jmap_submission_get.c, jmap_submission_set.c, jmap_submission_send.c). A create
 * sends an existing Email through the same checks and pipeline as SMTP submission
 * (src/smtp/smtp_submit.h): the sender's identity, [submission] max_recipients and
 * max_messages_per_hour, check_from, DKIM, local delivery, the outbound queue, Bcc
 * removed from what is sent. Sent at once: undoStatus is always "final".
 *
 * The submissions are kept by the store (store.h "JMAP EmailSubmissions"; 90 days, at
 * most LIMIT_SUBMISSION_ROWS per account) as JSON written here; their ids are "S" +
 * the store's id; the EmailSubmission state is the store's change counter of the
 * account (its own, not the account's modseq: a send changes no mailbox until
 * onSuccessUpdateEmail does). deliveryStatus comes from what the send returned for a
 * local recipient ("yes", or "no" with the reason) and from the outbound queue's rows
 * for a remote one ("queued" while it waits, "yes", "no"; "unknown" once the message
 * has left the queue, which keeps no history).
 *
 * The engine library does not link src/smtp: `kasten serve` hands the two functions
 * over with jmap_submission_set_sender before it serves (until then, and in unit tests,
 * a create is refused with forbiddenToSend). */
#ifndef KASTEN_JMAP_SUBMISSION_H
#define KASTEN_JMAP_SUBMISSION_H

#include <jansson.h>

struct arena;
struct jmap_ctx;
struct queue_show;
struct smtp_submit;

int jmap_submission_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_submission_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_submission_query(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* EmailSubmission/queryChanges (RFC 8621 7.4): the arguments checked, then always
 * cannotCalculateChanges (RFC 8620 5.6 allows it; /query says canCalculateChanges false):
 * a client runs the query again, which reads at most LIMIT_SUBMISSION_ROWS. */
int jmap_submission_querychanges(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_submission_set(struct jmap_ctx *x, json_t *args, json_t **result_out);

/* smtp_submit_message and smtp_submit_queue_show (smtp_submit.h). Set once at start-up,
 * before the loops run; read by every worker afterwards. */
typedef int (*jmap_send_fn)(struct smtp_submit *m, struct arena *a);
typedef int (*jmap_queue_show_fn)(const char *qid, struct arena *a, struct queue_show **out);
void jmap_submission_set_sender(jmap_send_fn send, jmap_queue_show_fn show);

#endif
