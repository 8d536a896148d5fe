/* jmap_mailbox.h: the JMAP Mailbox, Quota and Identity methods (RFC 8621 2 and 7,
 * RFC 9425), rows of jmap_methods[]. Each is a jmap_method_fn (jmap.h): it runs on an
 * I/O worker with the account's store, and reads or writes only through x->st/x->env. */
#ifndef KASTEN_JMAP_MAILBOX_H
#define KASTEN_JMAP_MAILBOX_H

#include "http/jmap.h"

/* Mailbox/get (RFC 8621 2.1; RFC 8620 5.1). */
int jmap_mailbox_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* Mailbox/changes (RFC 8621 2.2): updatedProperties the four counts when only those
 * changed (store_mailbox_changes' counts_only), else null. */
int jmap_mailbox_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* Quota/get (RFC 9425 4.1): "octets" and "count" Quota objects of the account's
 * limits (jmap_quota.c). */
int jmap_quota_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* Identity/get (RFC 8621 6.1): the address and its aliases (jmap_identity.c). */
int jmap_identity_get(struct jmap_ctx *x, json_t *args, json_t **result_out);

#endif
