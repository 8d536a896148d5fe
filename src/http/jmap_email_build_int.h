/* jmap_email_build_int.h: what the files writing a message from a JMAP Email object
 * share (RFC 8621 4.6 create; the public entry is jmap_email_build in jmap_email.h):
 *   jmap_email_build_out.c     the bounded output (counts bytes against the limit)
 *   jmap_email_build_cte.c     transfer encodings: choosing one, QP and base64 writers
 *   jmap_email_build_word.c    RFC 2047 encoded words, RFC 2231 parameters, folding
 *   jmap_email_build_header.c  header:X:asForm properties and their writers
 *   jmap_email_build_body.c    body parts: the tree, validation, writing it
 *   jmap_email_build_msg.c     the whole message over a jeb_env (pure: no store)
 *   jmap_email_build.c         jmap_email_build: the env from a jmap_ctx (blobs, limits)
 * Everything here is pure over its arguments (a file descriptor to write and a blob
 * opener callback), so tests/unit/test_jmap_email_build.c and fuzz/fuzz_jmap_email_build.c
 * drive it without a store. */
#ifndef KASTEN_JMAP_EMAIL_BUILD_INT_H
#define KASTEN_JMAP_EMAIL_BUILD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/limits.h"

struct arena;

/* RFC 5322 2.1.1: the longest line a message may hold (without its CRLF), and the one
 * we fold to where we can. */
#define JEB_LINE_MAX 998
#define JEB_LINE_FOLD 78
/* RFC 2047 2: an encoded word is at most 75 characters. */
#define JEB_WORD_MAX 75
/* The longest atom we write unencoded in a header: longer ones become encoded words,
 * so a folded line always stays under JEB_LINE_MAX. */
#define JEB_ATOM_MAX LIMIT_JMAP_BUILD_ATOM

/* ---- the output (jmap_email_build_out.c) ---- */
struct jeb_out {
	int fd;                /* -1: count only */
	uint8_t *buf;
	size_t len, cap;
	uint64_t total;        /* bytes accepted so far */
	uint64_t max;          /* ... at most this many */
	int err;               /* the first failure: ERR_TOO_BIG (past max), ERR_IO */
	size_t col;            /* bytes since the last LF: the header writers fold on it */
	size_t field_min;      /* col right after the field name: no fold before it */
};
/* buf: cap bytes from the arena. 0 or ERR_NOMEM. */
int jeb_out_init(struct jeb_out *o, struct arena *a, int fd, uint64_t max, size_t cap);
/* Append; once an error is set every call returns it and writes nothing. */
int jeb_put(struct jeb_out *o, const void *p, size_t n);
int jeb_puts(struct jeb_out *o, const char *s);
int jeb_flush(struct jeb_out *o);

/* ---- transfer encodings (jmap_email_build_cte.c) ---- */
enum jeb_cte {
	JEB_CTE_7BIT,
	JEB_CTE_8BIT,
	JEB_CTE_QP,
	JEB_CTE_BASE64,
};
/* What a body holds, gathered in one pass (fed in pieces). */
struct jeb_scan {
	uint64_t len;
	uint64_t high;         /* bytes >= 0x80 */
	uint64_t ctl;          /* NUL, and other controls but HTAB, CR, LF */
	bool bad_eol;          /* a CR not before LF, or an LF not after CR */
	size_t line, max_line; /* the current line's length, the longest one's */
	bool prev_cr;
	/* Lines that start with "--" and then one of these (the enclosing multiparts'
	 * boundaries): such a part must not be written as it is. */
	const char *const *boundaries;
	size_t n_boundaries;
	char head[80];         /* the current line's first bytes, to compare */
	size_t head_len;
	bool boundary_hit;
};
void jeb_scan_init(struct jeb_scan *s, const char *const *boundaries, size_t n);
void jeb_scan_feed(struct jeb_scan *s, const uint8_t *p, size_t n);
void jeb_scan_end(struct jeb_scan *s);
/* The encoding for a body of media type type/subtype (lower-case) as scanned:
 * identity when it fits (7bit; 8bit only for message types, which RFC 2046 5.2.1 allows
 * no other way), quoted-printable for text that is mostly ASCII, base64 otherwise. */
enum jeb_cte jeb_cte_choose(const struct jeb_scan *s, const char *type);
const char *jeb_cte_name(enum jeb_cte c);

/* A streaming encoder onto an output: feed pieces, then finish. QP (RFC 2045 6.7):
 * lines of at most 76 characters, CRLF of the input as hard line breaks, bare CR and
 * LF encoded, SP/HTAB before a line end or at the end encoded. base64 (6.8): lines of
 * 76 characters. 7bit/8bit: the bytes as they are. */
struct jeb_enc {
	enum jeb_cte cte;
	struct jeb_out *o;
	size_t col;            /* characters on the current output line */
	int pending_ws;        /* QP: a held SP/HTAB, -1 when none */
	bool pending_cr;       /* QP: a held CR */
	uint8_t carry[3];      /* base64: input bytes of an incomplete group */
	size_t n_carry;
};
void jeb_enc_init(struct jeb_enc *e, enum jeb_cte cte, struct jeb_out *o);
int jeb_enc_feed(struct jeb_enc *e, const uint8_t *p, size_t n);
int jeb_enc_finish(struct jeb_enc *e);

/* ---- encoded words, parameters, folding (jmap_email_build_word.c) ---- */
/* Header writing keeps o->col; a token goes on the current line when it fits in
 * JEB_LINE_FOLD, else after a fold (CRLF SP) unless the line holds only the name. */
int jeb_field_start(struct jeb_out *o, const char *name);
/* sep (may be "") then the token, folding before the token when needed: a fold
 * replaces a separator's leading space, so nothing changes when unfolded. */
int jeb_field_token(struct jeb_out *o, const char *sep, const char *tok, size_t n);
int jeb_field_end(struct jeb_out *o);
/* [p, p+n) as RFC 2047 encoded words in UTF-8 (B or Q, whichever is shorter; Q with
 * only the characters RFC 2047 5(3) allows in a phrase), each at most JEB_WORD_MAX
 * characters and never splitting a UTF-8 sequence, folded between words; sep goes
 * before the first. */
int jeb_field_words(struct jeb_out *o, const char *sep, const char *p, size_t n);
/* Unstructured text (RFC 5322 3.2.5; Subject, Comments, asText): printable ASCII with
 * words of at most JEB_ATOM_MAX and nothing that reads as an encoded word is written
 * as it is, folded at its spaces; anything else as encoded words. */
int jeb_field_text(struct jeb_out *o, const char *p, size_t n);
/* A display name (RFC 5322 3.2.5 phrase): atoms, a quoted string, or encoded words. */
int jeb_field_phrase(struct jeb_out *o, const char *sep, const char *p, size_t n);
/* A parameter name=value (RFC 2045 5.1) after "; ": a token, a quoted string, or when
 * the value is not ASCII or too long for one line RFC 2231 name*0*=utf-8''%XX..
 * continuations. */
int jeb_field_param(struct jeb_out *o, const char *name, const char *value, size_t n);
/* Does [p, p+n) hold only characters a header may carry in a value we write (no
 * controls but HTAB, no NUL; UTF-8 already guaranteed by jansson)? */
bool jeb_text_ok(const char *p, size_t n);

/* ---- header:X:asForm (jmap_email_build_header.c; RFC 8621 4.1.2, 4.1.3) ---- */
enum jeb_form {
	JEB_FORM_RAW,
	JEB_FORM_TEXT,
	JEB_FORM_ADDRESSES,
	JEB_FORM_GROUPED,
	JEB_FORM_MESSAGEIDS,
	JEB_FORM_DATE,
	JEB_FORM_URLS,
};
/* A parsed "header:Name[:asForm][:all]" property. */
struct jeb_hprop {
	const char *name;      /* as given (case kept for writing) */
	enum jeb_form form;
	bool all;
};
/* Parse the property name key ("header:..."). 0, or ERR_BAD_SYNTAX (not a valid
 * header property: a bad name or an unknown form). Name in a. */
int jeb_hprop_parse(struct arena *a, const char *key, struct jeb_hprop *out);
/* May field name be written in this form (RFC 8621 4.1.2: the forms each known field
 * allows; any form for a field the RFC does not list)? */
bool jeb_form_allowed(const char *name, enum jeb_form form);
/* A header field property of the Email or of a body part, as collected. */
struct jeb_hentry {
	struct jeb_hprop h;
	json_t *value;             /* borrowed from the Email object */
	const char *key;           /* the property (path) that gave it, for errors */
	const char *lname;         /* the field name, lower-case */
};
/* Collect the header field properties of obj (an Email when part is false, else an
 * EmailBodyPart): "header:Name[:asForm][:all]", "headers" ([{name, value}], raw), and
 * for an Email the convenience properties (from, sender, replyTo, to, cc, bcc,
 * subject, sentAt, messageId, inReplyTo, references) as the fields they stand for.
 * RFC 8621 4.6: a field given twice (in any form or property) is refused, as is a form
 * the field does not allow, any Content-* field on the Email, and on a part
 * Content-Transfer-Encoding (the server chooses it) and Content-Type (the part's
 * "type" says it). Null values are left out. prefix: the path of obj ("" for the
 * Email, "bodyStructure/subParts/0/" for a part). seen (lower-case name -> true)
 * collects the names. 0 and the entries (array from a); ERR_INVAL with *bad_out the
 * property; ERR_NOMEM. */
int jeb_headers_collect(struct arena *a, json_t *obj, const char *prefix, bool part,
			json_t *seen, struct jeb_hentry **out, size_t *n_out,
			const char **bad_out);
/* Write the header field(s) of a property value: one field, or one per array member
 * when all. 0; ERR_INVAL when the value does not fit the form (the caller names the
 * property); the output's error otherwise. */
int jeb_header_write(struct jeb_out *o, struct arena *a, const struct jeb_hprop *h,
		     json_t *value);
/* RFC 3339 date-time with offset (RFC 8621 Date: "2014-10-30T06:12:00+08:00") to an
 * RFC 5322 3.3 date-time written with that offset ("Thu, 30 Oct 2014 06:12:00 +0800").
 * 0 or ERR_BAD_SYNTAX. */
int jeb_date_format(const char *s, size_t n, char out[64]);

/* ---- the message (jmap_email_build_msg.c, jmap_email_build_body.c) ---- */
/* Open a blob for reading: 0 and *fd_out (the builder closes it), *size_out, *type_out
 * (may be NULL), or ERR_NOTFOUND, or another ERR_* (a server failure). */
typedef int (*jeb_blob_open_fn)(void *arg, const char *blob_id, int *fd_out,
				uint64_t *size_out, const char **type_out);

struct jeb_env {
	struct arena *a;
	const char *hostname;       /* Message-ID's right side */
	int64_t now;                /* Date when none is given (unix seconds, UTC) */
	uint64_t max_size;          /* the message's limit: tooLarge above */
	uint64_t max_quota;         /* what the quota has left (UINT64_MAX: none): overQuota */
	jeb_blob_open_fn blob_open;
	void *blob_arg;
};

/* A body part of the message being written (the tree of bodyStructure, or the one the
 * convenience properties make). */
struct jeb_part {
	const char *path;          /* property path, for invalidProperties */
	json_t *obj;               /* the EmailBodyPart; NULL for a multipart we made */
	const char *type;          /* lower-case type/subtype */
	bool is_multipart;
	struct jeb_part **kids;
	size_t n_kids;
	const char *disposition;   /* lower-case; NULL when none */
	const char *boundary;      /* multipart */
	/* a leaf's content: a body value (CRLF line ends) or a blob */
	const char *value;
	size_t value_len;
	const char *blob_id;
	int fd;                    /* -1 until opened */
	uint64_t size;
	const char *blob_type;
	enum jeb_cte cte;
	bool stream;               /* the blob's fd cannot seek: read once, base64 */
	struct jeb_hentry *hdrs;   /* the part's own header:X properties */
	size_t n_hdrs;
	const char *name, *charset, *cid, *location;
	json_t *language;          /* array of strings, or NULL */
};

/* Build the body tree of email (bodyStructure, or textBody/htmlBody/attachments with
 * bodyValues), checking every rule of RFC 8621 4.6 for parts; blobs opened (their fds
 * closed by jeb_body_close). 0 and *root_out; ERR_INVAL with *bad_out (a property path);
 * ERR_NOTFOUND with the missing blob ids appended to not_found; another ERR_* for a
 * server failure. top_names: lower-cased names of the header fields the top level
 * writes (the root part must not repeat them). */
int jeb_body_build(const struct jeb_env *env, json_t *email, json_t *top_names,
		   struct jeb_part **root_out, const char **bad_out, json_t *not_found);
/* Choose each leaf's encoding and each multipart's boundary (scanning blob contents
 * once). 0 or ERR_IO / ERR_NOMEM. */
int jeb_body_prepare(const struct jeb_env *env, struct jeb_part *root);
/* Write the part: its Content-* header fields (and the part's own header:X ones),
 * the empty line, its body. The top-level header fields come first from the caller. */
int jeb_body_write(const struct jeb_env *env, struct jeb_out *o, struct jeb_part *p);
void jeb_body_close(struct jeb_part *root);

/* The whole message into fd: 0 and *size_out, or < 0 with *seterr_out (a SetError:
 * invalidProperties, blobNotFound, tooLarge, overQuota) or NULL (server failure). */
int jeb_build(const struct jeb_env *env, json_t *email, int fd, uint64_t *size_out,
	      json_t **seterr_out);

#endif
