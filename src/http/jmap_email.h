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
/* Email/parse (RFC 8621 4.9; jmap_email_parse.c) */
int jmap_email_parse(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_thread_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_thread_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);
/* SearchSnippet/get (RFC 8621 5.1; jmap_snippet.c) */
int jmap_snippet_get(struct jmap_ctx *x, json_t *args, json_t **result_out);

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
 * [limits] max_message_size) or overQuota (above what the account's quota has left);
 * writing stops at the bound. ERR_IO / ERR_NOMEM / ERR_* of the store with *seterr_out
 * NULL for the server's own failures (the caller answers serverFail). */
int jmap_email_build(struct jmap_ctx *x, json_t *email, int fd, uint64_t *size_out,
		     json_t **seterr_out);

/* ---- writing Emails (RFC 8621 4.6 Email/set, 4.8 Email/import) ----
 * jmap_email_set.c (the method), jmap_email_update.c (one update), jmap_email_store.c
 * (storing a new Email; also used by Email/set create and EmailSubmission). */
int jmap_email_set(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_import(struct jmap_ctx *x, json_t *args, json_t **result_out);

/* What storing a new Email made; strings in x->a. */
struct jmap_new_email {
	const char *id;            /* EMAILID */
	const char *blob_id;       /* "G" + id */
	const char *thread_id;     /* THREADID */
	uint64_t size;
};
/* Store the complete message file at path (CRLF line ends; consumed: linked or copied
 * into the account, then unlinked, whatever the outcome) as a new Email in the
 * mailboxes mailbox_ids[0..n_mailboxes) (MAILBOXIDs, n >= 1, no repeats): its MIME is
 * parsed once (mime_extract, as delivery does), it is appended to the first mailbox and
 * copied into the rest (one EMAILID), durable before this returns. keywords: NULL or
 * JMAP keywords, space-separated, already validated (jmap_keywords_parse); "$seen",
 * "$answered", "$flagged", "$draft" (any case) become the store's flags, the rest
 * IMAP keywords. received_at: unix seconds, 0 = now. 0 and *out, or ERR_QUOTA (SetError
 * overQuota), ERR_NOTFOUND (a mailbox id unknown), ERR_TOO_BIG (past the message size
 * limit), ERR_INVAL (not a message: empty), ERR_FULL (the mailbox's UIDs or keywords
 * ran out), ERR_TOO_LONG (more keywords than the store keeps on a message),
 * ERR_TEMP / ERR_IO / ERR_NOMEM. When a copy into a later mailbox fails, the copies
 * already made are expunged again: all or nothing. */
int jmap_email_store_new(struct jmap_ctx *x, const char *path,
			 const char *const *mailbox_ids, size_t n_mailboxes,
			 const char *keywords, int64_t received_at, struct jmap_new_email *out);

/* Email/set update of one Email (RFC 8621 4.6; RFC 8620 5.3 PatchObject: "keywords",
 * "keywords/<kw>", "mailboxIds", "mailboxIds/<id>"), as Email/set's update runs it and
 * EmailSubmission's onSuccessUpdateEmail reuses. id: an EMAILID (creation ids already
 * resolved). 0 when applied; otherwise < 0 and *seterr_out a new SetError object
 * (notFound, invalidPatch, invalidProperties with "properties", overQuota,
 * tooManyKeywords, tooManyMailboxes, serverFail). */
int jmap_email_update_one(struct jmap_ctx *x, const char *id, json_t *patch,
			  json_t **seterr_out);

/* A JMAP "keywords" value ({"kw": true, ...}; RFC 8621 4.1.1) checked (1-255 printable
 * ASCII characters each, none of ( ) { ] % * " \\ space; true the only value) and
 * turned into the space-separated string jmap_email_store_new takes (from x->a; "" for
 * none; case-insensitively equal keywords are one). 0, ERR_INVAL (not a valid keywords
 * object) or ERR_NOMEM; how many a message may carry is the store's to say when they
 * are stored (jmap_email_store_new: ERR_TOO_LONG). */
int jmap_keywords_parse(struct jmap_ctx *x, json_t *keywords, const char **out);

#endif
