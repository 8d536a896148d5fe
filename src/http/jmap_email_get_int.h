/* jmap_email_get_int.h: what Email/get, Email/parse and the part blobs share
 * (jmap_email_msg.c: one message's bytes and MIME tree, read only as far as asked;
 * jmap_email_body.c: the body properties of RFC 8621 4.1.4). */
#ifndef KASTEN_JMAP_EMAIL_GET_INT_H
#define KASTEN_JMAP_EMAIL_GET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "http/jmap.h"

struct arena;
struct mime_part;
struct store;

/* One message being read. Its source is a stored message (st, mailbox_id, uid) or an
 * fd (a blob: Email/parse). The tree comes from the store's cached structure, the
 * header from the cached header (store_msg_extra); the file is mapped only when bytes
 * beyond those are needed (part headers, bodies, decoded sizes), so a headers-only
 * Email/get opens no file. Everything lives in `a` (scratch for this message). */
struct jmap_msg {
	struct arena *a;
	struct store *st;
	int64_t mailbox_id;
	uint32_t uid;
	int fd;                   /* -1 until opened (store) or the blob's (owned) */
	const uint8_t *map;       /* the whole message, read-only; NULL until needed */
	size_t map_len;
	struct mime_part *root;   /* NULL until needed */
	/* The top-level header block and the preview: a stored message's caller sets them
	 * from store_msg_extra (the cache) where it has them; jmap_msg_header reads the
	 * header from the file otherwise. */
	const uint8_t *hdr;
	size_t hdr_len;
	const char *preview;      /* NULL if none */
	/* Part blob ids are blob_prefix + "." + part_prefix + partId ("G<EMAILID>",
	 * "U<hex>"); NULL: part blobIds are null. */
	const char *blob_prefix;
	const char *part_prefix;  /* "" or, for a message inside a part, "3." */
};

/* A stored message; nothing is read yet. */
void jmap_msg_init_store(struct jmap_msg *m, struct arena *a, struct store *st,
			 int64_t mailbox_id, uint32_t uid);
/* A message in fd (taken: jmap_msg_close closes it) of size bytes. */
void jmap_msg_init_fd(struct jmap_msg *m, struct arena *a, int fd, uint64_t size);
void jmap_msg_close(struct jmap_msg *m);

/* The whole message mapped. 0, or ERR_* (ERR_IO for a missing file, logged). */
int jmap_msg_map(struct jmap_msg *m);
/* Part p's encoded body bytes [*b, *b + *n) in the mapped message (mapped here). */
int jmap_msg_part_body(struct jmap_msg *m, const struct mime_part *p, const uint8_t **b,
		       size_t *n);
/* The MIME tree: cached, else parsed from the file. 0 or ERR_*. */
int jmap_msg_root(struct jmap_msg *m);
/* The top-level header block into m->hdr: cached, else read from the file. 0 or ERR_*. */
int jmap_msg_header(struct jmap_msg *m);

/* The part of the tree with IMAP section number part_id ("1", "2.1", "3.1.2": a
 * message/rfc822 part's encapsulated body parts continue the numbering, RFC 9051
 * 6.4.5), or NULL. */
struct mime_part *jmap_msg_find_part(struct mime_part *root, const char *part_id);
/* Is the part multipart/... ? */
bool jmap_part_is_multipart(const struct mime_part *p);

/* The decoded size of a leaf part (its bytes mapped as needed). 0 or ERR_*. */
int jmap_msg_part_size(struct jmap_msg *m, const struct mime_part *p, uint64_t *size_out);
/* The decoded content of a leaf part, at most max bytes of it (*cut_out: there was
 * more), in m->a. *unknown_cte_out: the transfer encoding is one we do not know (the
 * bytes are then as stored). 0 or ERR_*. */
int jmap_msg_part_decode(struct jmap_msg *m, const struct mime_part *p, size_t max,
			 const uint8_t **out, size_t *len_out, bool *cut_out,
			 bool *unknown_cte_out);

/* Body arguments of Email/get and Email/parse (RFC 8621 4.2, 4.9). */
struct jmap_body_args {
	const char **props;       /* bodyProperties, NULL-terminated */
	bool fetch_text, fetch_html, fetch_all;
	uint64_t max_bytes;       /* maxBodyValueBytes; 0: none */
};
/* Read bodyProperties, fetchTextBodyValues, fetchHTMLBodyValues, fetchAllBodyValues,
 * maxBodyValueBytes of args (invalidArguments on a problem: returns < 0). */
int jmap_body_args_parse(struct jmap_ctx *x, json_t *args, struct jmap_body_args *out);

/* Which of the body properties a /get wants. */
struct jmap_body_want {
	bool structure, text, html, attachments, values, has_attachment;
};
/* Add the wanted body properties (bodyStructure, textBody, htmlBody, attachments,
 * bodyValues, hasAttachment) of m to email. 0, or ERR_* (the message could not be
 * read; ERR_NOMEM: memory). */
int jmap_body_props(struct jmap_msg *m, const struct jmap_body_args *b,
		    const struct jmap_body_want *w, json_t *email);

/* The header properties of 4.1.3 (headers, messageId, inReplyTo, references, sender,
 * from, to, cc, bcc, replyTo, subject, sentAt and header:*) of the header block
 * hdr[0..len) that props[0..n) ask for, into email. 0 or ERR_NOMEM. */
int jmap_header_props(const char *const *props, size_t n, const uint8_t *hdr, size_t len,
		      struct arena *a, json_t *email);
/* Whether a property is one of those (so the header block is needed). */
bool jmap_is_header_prop(const char *prop);

/* Split a /get's properties into the ones the standard parser knows and header:*
 * ones (checked: invalidArguments for a bad one): *args_out is args with the header
 * properties removed (a new reference), *hdr_props_out those (in x->a). 0 or < 0. */
int jmap_split_header_props(struct jmap_ctx *x, json_t *args, const char *member,
			    json_t **args_out, const char ***hdr_props_out, size_t *n_out);

/* What of a message beyond the index a /get (or Email/parse) asks for. */
struct jmap_email_want {
	bool header, preview;
	struct jmap_body_want body;
	bool any_body;
};
void jmap_email_want(const struct jmap_get_args *g, struct jmap_email_want *w);
/* g's properties with the header:* ones (hp[0..n), from jmap_split_header_props)
 * added, in x->a. 0, or < 0 after a method error. */
int jmap_add_header_props(struct jmap_ctx *x, struct jmap_get_args *g, const char **hp,
			  size_t n);

#endif
