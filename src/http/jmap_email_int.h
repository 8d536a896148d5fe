/* jmap_email_int.h: what the Email writing files share (jmap_email_patch.c: the pure
 * readers of keywords, PatchObjects and UTCDates; jmap_email_store.c, _update.c,
 * _set.c, _import.c: the writes). Strings handed out live in the arena given. */
#ifndef KASTEN_JMAP_EMAIL_INT_H
#define KASTEN_JMAP_EMAIL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;

/* Is [k, k+n) a JMAP keyword (RFC 8621 4.1.1: 1-255 octets of %x21-7E except
 * ( ) { ] % * " \)? */
bool jmap_keyword_ok(const char *k, size_t n);
/* The keywords the store keeps as flag bits, lower-cased, with their bits. */
struct jmap_keyword_bit {
	const char *name;
	unsigned bit;
};
extern const struct jmap_keyword_bit jmap_keyword_bits[];
extern const size_t jmap_keyword_bits_n;
/* The store's bit for a keyword the store keeps as a bit ($seen, $answered, $flagged,
 * $draft; $forwarded, $junk, $notjunk), any case; 0 for the others. */
unsigned jmap_keyword_bit(const char *k, size_t n);
/* Split space-separated keywords into the store's bits and the rest (space-separated,
 * from a; "" when none). 0 or ERR_NOMEM. */
int jmap_keywords_split(struct arena *a, const char *keywords, unsigned *flags_out,
			const char **rest_out);
/* The keywords object of `keywords` (RFC 8621 4.1.1) to a space-separated string of
 * lower-cased keywords, each once (from a; "" for {}): 0 or ERR_INVAL, ERR_NOMEM. */
int jmap_keywords_from_json(struct arena *a, json_t *keywords, const char **out);

/* An Email/set PatchObject (RFC 8620 5.3, RFC 8621 4.6) read into what it changes.
 * Only keywords and mailboxIds may be patched; each either whole or by members. */
struct jmap_email_patch {
	bool kw_whole;              /* "keywords": kw_set replaces them all */
	const char *kw_set;         /* lower-cased, space-separated, each once */
	const char *kw_add;         /* "keywords/<k>": true; "" when none */
	const char *kw_remove;      /* "keywords/<k>": null; "" when none */
	bool mb_whole;              /* "mailboxIds": mb_set replaces them all */
	const char **mb_set;        /* ids as given (an Id or "#creationId") */
	size_t n_mb_set;
	const char **mb_add;        /* "mailboxIds/<id>": true */
	size_t n_mb_add;
	const char **mb_remove;     /* "mailboxIds/<id>": null */
	size_t n_mb_remove;
};
/* Read patch (an object). 0 and *out; ERR_BAD_SYNTAX (SetError invalidPatch: a path
 * that is not a JSON Pointer we can apply, e.g. "keywords/a/b", a bad "~" escape, or
 * a path beside one that is its prefix) or ERR_INVAL (invalidProperties: *bad_out is
 * the offending key, e.g. "subject", "keywords" with a bad keyword, "mailboxIds/x":
 * false); ERR_NOMEM. A member path names a keyword or mailbox id after RFC 6901
 * unescaping (~1 is '/', ~0 is '~'). */
int jmap_email_patch_parse(struct arena *a, json_t *patch, struct jmap_email_patch *out,
			   const char **bad_out);

/* A UTCDate (RFC 8620 1.4: "YYYY-MM-DDTHH:MM:SS[.fraction]Z", upper-case T and Z, a
 * real date and time; the fraction is dropped) of [s, s+n) to unix seconds: 0 or
 * ERR_BAD_SYNTAX. */
int jmap_utc_date_parse(const char *s, size_t n, int64_t *out);

/* ---- shared by Email/set create and Email/import (jmap_email_set.c) ---- */
/* What a new Email's object says besides its message: mailboxIds (required, at least
 * one; "#cid" resolved, each once), keywords (optional), receivedAt (optional UTCDate;
 * 0 = now). Strings in x->a. */
struct jmap_email_new_args {
	const char **mailbox_ids;
	size_t n_mailboxes;
	const char *keywords;
	int64_t received_at;
};
struct jmap_ctx;
struct jmap_new_email;
/* 0, or < 0 with *err_out the SetError (invalidProperties) when one is wrong (NULL
 * with ERR_NOMEM). */
int jmap_email_new_args(struct jmap_ctx *x, json_t *obj, struct jmap_email_new_args *out,
			json_t **err_out);
/* jmap_email_store_new's errors as SetErrors (overQuota, invalidProperties mailboxIds,
 * tooLarge, invalidEmail, tooManyKeywords, serverFail): a new reference. */
json_t *jmap_email_store_error(int rc);
/* {id, blobId, threadId, size} of a stored Email (RFC 8621 4.6, 4.8): a new reference. */
json_t *jmap_email_created(const struct jmap_new_email *e);

/* Email/set's updates of the shapes a webmail sends for a selection (the same
 * keywords/<k> members; mailboxIds = one mailbox), applied in batches per mailbox
 * (jmap_email_batch.c) with their results in r; a new object of the updates it left
 * (key -> patch) for jmap_email_update_one, or NULL when out of memory (nothing
 * done). */
struct jmap_set_result;
json_t *jmap_email_update_batch(struct jmap_ctx *x, json_t *update, struct jmap_set_result *r);

#endif
