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
/* Mailbox/query (RFC 8621 2.3; jmap_mailbox_query.c). */
int jmap_mailbox_query(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* Mailbox/set (RFC 8621 2.5; jmap_mailbox_set.c). */
int jmap_mailbox_set(struct jmap_ctx *x, json_t *args, json_t **result_out);

/* Shared by the Mailbox methods: */
struct store_mailbox;
/* The role of a mailbox (RFC 8621 2: "inbox" for INBOX, else from its first
 * special-use bit), NULL for none. */
const char *jmap_mailbox_role(const struct store_mailbox *mb);
/* The index in mbs[0..n) of mb's parent (the name one level up), n when mb is top
 * level or that level is no mailbox. */
size_t jmap_mailbox_parent(const struct store_mailbox *mbs, size_t n,
			   const struct store_mailbox *mb);
/* The myRights object of a mailbox for its owner (a new reference, NULL on failure). */
json_t *jmap_mailbox_rights(const struct store_mailbox *mb);

/* Quota/get (RFC 9425 4.1): "octets" and "count" Quota objects of the account's
 * limits (jmap_quota.c). */
int jmap_quota_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* Identity/get (RFC 8621 6.1): the address and its aliases (jmap_identity.c). */
int jmap_identity_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* The address of the account's Identity id (as Identity/get lists them, so another
 * account's identity is never found): 0 and *address_out (in x->a), ERR_NOTFOUND, or
 * a store error. */
int jmap_identity_find(struct jmap_ctx *x, const char *id, const char **address_out);

#endif
