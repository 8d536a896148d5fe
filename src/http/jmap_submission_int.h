/* jmap_submission_int.h: what the EmailSubmission files share (jmap_submission.h). */
#ifndef KASTEN_JMAP_SUBMISSION_INT_H
#define KASTEN_JMAP_SUBMISSION_INT_H

#include <stdint.h>

#include "http/jmap.h"
#include "http/jmap_submission.h"

struct store_submission_list;

/* The hooks of jmap_submission_set_sender (NULL until set). */
extern jmap_send_fn jmap_submission_send_fn;
extern jmap_queue_show_fn jmap_submission_show_fn;

/* The account's submissions and their state string ("0" before the first), in x->a.
 * ERR_* from the store. */
int jmap_submission_list(struct jmap_ctx *x, struct store_submission_list *out,
			 const char **state_out);
/* "S" + store id <-> the store's id; -1 for anything else. */
const char *jmap_submission_id(struct jmap_ctx *x, int64_t id);
int64_t jmap_submission_id_parse(const char *s);

/* One create (jmap_submission_send.c): check obj, send its Email, keep the submission.
 * 0 and *created_out (the server-set properties with "id"; a new reference) and
 * *email_id_out (in x->a, for onSuccess*), or < 0 and *seterr_out (a SetError). */
int jmap_submission_create(struct jmap_ctx *x, json_t *obj, json_t **created_out,
			   const char **email_id_out, json_t **seterr_out);

#endif
