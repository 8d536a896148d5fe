/* jmap_email.h: the Email and Thread methods of RFC 8621 (3, 4) that read the store's
 * JMAP view (store.h "JMAP view"): Email/get (the index's properties), Email/changes,
 * Email/query, Email/queryChanges, Thread/get, Thread/changes. Rows for them are in
 * jmap_methods.c; each method has the shape of jmap_method_fn (jmap.h) and runs on an
 * I/O worker (x->st and x->env only). */
#ifndef KASTEN_JMAP_EMAIL_H
#define KASTEN_JMAP_EMAIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;
struct jmap_ctx;
struct store;
struct store_changes;

int jmap_email_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_query(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_querychanges(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_thread_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_thread_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);

/* A /changes method over one of the store's changes calls (store_email_changes,
 * store_thread_changes): parses the arguments (jmap_changes_parse), bounds a page to
 * maxChanges and LIMIT_JMAP_OBJECTS_GET, and answers RFC 8620 5.2 (hasMoreChanges
 * with the intermediate newState; cannotCalculateChanges when the store no longer
 * knows, or never knew, sinceState). */
typedef int (*jmap_store_changes_fn)(struct store *st, uint64_t since, size_t max,
				     struct arena *a, struct store_changes *out);
int jmap_changes_run(struct jmap_ctx *x, json_t *args, jmap_store_changes_fn fn,
		     json_t **result_out);

/* ---- writing a message from an Email object (jmap_email_build*.c; RFC 8621 4.6) ----
 * The RFC 5322/MIME message for the create form of an Email object (email borrowed, as
 * Email/set create got it; mailboxIds, keywords, receivedAt are the caller's and ignored
 * here): header fields from the convenience properties and header:X:asForm / headers
 * (each form written back as it parses), Date and Message-ID ("<random@hostname>")
 * generated when absent, MIME-Version 1.0, the body from bodyStructure or from
 * textBody/htmlBody/attachments + bodyValues (blobId parts read through
 * jmap_blob_open_any), charset=utf-8 text, a transfer encoding chosen per part (7bit,
 * quoted-printable, base64), CRLF line ends and no line over 998 octets.
 * Writes to fd (from its current offset; the caller owns fd) and sets *size_out.
 * 0, or < 0 with *seterr_out a SetError (a new reference) when the object is refused:
 * invalidProperties with "properties", blobNotFound with "notFound", tooLarge (above
 * the account's free quota or max_message_size); ERR_IO / ERR_NOMEM with *seterr_out
 * NULL for the server's own failures (the caller answers serverFail). */
int jmap_email_build(struct jmap_ctx *x, json_t *email, int fd, uint64_t *size_out,
		     json_t **seterr_out);

#endif
