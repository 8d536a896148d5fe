/* imap_fmt_section.c: where a body section's bytes are in the message file (RFC 9051
 * 6.4.5 section-spec) and the HEADER.FIELDS(.NOT) subset of a header block. Locating
 * reads only the cached part tree; filtering reads the header block it is handed and
 * writes one arena allocation, at most the block's size plus the final CRLF.
 *
 * Part numbers (RFC 9051 6.4.5): the parts of a message are the parts of its multipart
 * body, or, for a body that is not multipart, the one part 1, which is the body itself
 * (its MIME header is then the message's header). A message/rfc822 part's numbers go on
 * in the encapsulated message by the same rule. */
#include "imap/imap_fmt_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "mime/mime.h"
#include "core/banned.h"

static bool multipart(const struct mime_part *pt)
{
	return strcmp(pt->type, "multipart") == 0;
}

/* Part n (from 1) of the message whose top node is msg. */
static const struct mime_part *message_part(const struct mime_part *msg, uint32_t n)
{
	if (!multipart(msg))
		return n == 1 ? msg : NULL;
	const struct mime_part *c = msg->children;
	while (c && --n)
		c = c->next;
	return c;
}

/* The part the numbers of sec name, or NULL. */
static const struct mime_part *walk(const struct mime_part *root, const struct imap_section *sec)
{
	const struct mime_part *cur = root;
	for (size_t i = 0; i < sec->nparts && cur; i++) {
		uint32_t n = sec->part[i];
		if (n == 0)
			return NULL;
		if (i == 0)
			cur = message_part(root, n);
		else if (multipart(cur))
			cur = message_part(cur, n);
		else if (cur->message)
			cur = message_part(cur->message, n);
		else
			cur = NULL;
	}
	return cur;
}

const struct mime_part *imap_section_part(const struct mime_part *root,
                                          const struct imap_section *sec)
{
	return sec->nparts > LIMIT_MIME_DEPTH ? NULL : walk(root, sec);
}

static void span(uint64_t s, uint64_t e, uint64_t *start, uint64_t *len)
{
	*start = s;
	*len = e - s;
}

int imap_section_locate(const struct mime_part *root, const struct imap_section *sec,
                        uint64_t *start, uint64_t *len)
{
	if (sec->nparts > LIMIT_MIME_DEPTH)
		return ERR_NOTFOUND; /* deeper than any part can be */
	if (sec->nparts == 0 && sec->kind == IMAP_SECTION_MIME)
		return ERR_INVAL; /* RFC 9051 9: MIME needs a part number */
	const struct mime_part *pt = walk(root, sec);
	if (!pt)
		return ERR_NOTFOUND;
	/* HEADER and TEXT name a message: the whole one, or a message/rfc822 part's. */
	const struct mime_part *msg = sec->nparts == 0 ? root : pt->message;
	switch (sec->kind) {
	case IMAP_SECTION_ALL:
		if (sec->nparts == 0)
			span(root->header_start, root->end, start, len);
		else
			span(pt->body_start, pt->end, start, len);
		return 0;
	case IMAP_SECTION_MIME:
		span(pt->header_start, pt->body_start, start, len);
		return 0;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_NOT:
		if (!msg)
			return ERR_NOTFOUND;
		span(msg->header_start, msg->body_start, start, len);
		return 0;
	case IMAP_SECTION_TEXT:
		if (!msg)
			return ERR_NOTFOUND;
		span(msg->body_start, msg->end, start, len);
		return 0;
	}
	return ERR_INVAL;
}

static bool field_listed(const struct mime_field *f, const struct imap_section *sec)
{
	if (f->bad)
		return false; /* a line without a colon has no field name to match */
	for (size_t i = 0; i < sec->nfields; i++)
		if (str_ieq(f->name, f->name_len, sec->fields[i]))
			return true;
	return false;
}

int imap_filter_header(const uint8_t *p, size_t n, const struct imap_section *sec, struct arena *a,
                       uint8_t **out, size_t *out_len)
{
	if (sec->kind != IMAP_SECTION_HEADER_FIELDS && sec->kind != IMAP_SECTION_HEADER_NOT)
		return ERR_INVAL;
	bool want = sec->kind == IMAP_SECTION_HEADER_FIELDS;
	/* Fields are copied whole; only a last field without line end (a header with no
	 * empty line after it) gains a CRLF: n + 2 bounds the answer. */
	struct buf b;
	if (buf_alloc(&b, a, n + 2) < 0)
		return ERR_NOMEM;
	struct mime_header_iter it;
	struct mime_field f;
	mime_header_init(&it, 0);
	for (;;) {
		int r = mime_header_next(&it, p, n, true, &f);
		if (r != MIME_HDR_FIELD) {
			/* The iterator stops after LIMIT_HEADER_FIELDS fields; that bound keeps
			 * the cached structure small, but this block is already in memory and
			 * the answer no bigger, so every field counts here. */
			if (!it.limited)
				break;
			size_t off = it.off;
			mime_header_init(&it, off);
			continue;
		}
		if (field_listed(&f, sec) != want)
			continue;
		/* cannot fail: the buffer holds the whole block and one line end more */
		(void)buf_append(&b, p + f.start, f.end - f.start);
		if (p[f.end - 1] != '\n')
			(void)buf_append(&b, "\r\n", 2);
	}
	/* RFC 9051 6.4.5: the blank line is included in all header fetches, except for a
	 * message that has none; it is the block's own (CRLF, or LF as stored). */
	(void)buf_append(&b, p + it.end_line, n - it.end_line);
	*out = b.data;
	*out_len = b.len;
	return 0;
}
