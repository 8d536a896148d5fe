/* dkim_msg.c: splits a message stream into its header block, held in memory and indexed
 * by field, and its body, passed on as it comes. Bounds: LIMIT_DKIM_HEADER bytes and
 * LIMIT_HEADER_FIELDS fields; the body is never held. */
#include "outbound/dkim_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/banned.h"

void dkim_msg_init(struct dkim_msg *m, dkim_body_fn body_fn, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->line_start = true;
	m->body_fn = body_fn;
	m->ctx = ctx;
}

void dkim_msg_free(struct dkim_msg *m)
{
	free(m->hdr);
	m->hdr = NULL;
	m->hdr_len = m->hdr_cap = 0;
}

static int msg_append(struct dkim_msg *m, const uint8_t *p, size_t n)
{
	if (n > LIMIT_DKIM_HEADER - m->hdr_len)
		return ERR_TOO_BIG;
	if (m->hdr_len + n > m->hdr_cap) {
		size_t cap = m->hdr_cap ? m->hdr_cap : 4096;
		while (cap < m->hdr_len + n)
			cap *= 2;
		if (cap > LIMIT_DKIM_HEADER)
			cap = LIMIT_DKIM_HEADER;
		uint8_t *nb = realloc(m->hdr, cap);
		if (!nb)
			return ERR_NOMEM;
		m->hdr = nb;
		m->hdr_cap = cap;
	}
	memcpy(m->hdr + m->hdr_len, p, n);
	m->hdr_len += n;
	return 0;
}

/* Index the fields of the complete header block: a field starts with a line that does
 * not start with whitespace; lines that do continue it (RFC 5322 2.2.3). */
static int msg_index(struct dkim_msg *m)
{
	const uint8_t *h = m->hdr;
	size_t i = 0;
	m->nfields = 0;
	while (i < m->hdr_len) {
		const uint8_t *nl = memchr(h + i, '\n', m->hdr_len - i);
		size_t end = nl ? (size_t)(nl - h) + 1 : m->hdr_len;
		bool cont = h[i] == ' ' || h[i] == '\t';
		if (cont && m->nfields > 0) {
			m->field[m->nfields - 1].len = end - m->field[m->nfields - 1].off;
		} else {
			if (m->nfields == LIMIT_HEADER_FIELDS)
				return ERR_TOO_BIG;
			struct dkim_field *f = &m->field[m->nfields++];
			f->off = i;
			f->len = end - i;
		}
		i = end;
	}
	for (size_t k = 0; k < m->nfields; k++) {
		struct dkim_field *f = &m->field[k];
		const uint8_t *colon = memchr(h + f->off, ':', f->len);
		size_t n = colon ? (size_t)(colon - (h + f->off)) : f->len;
		while (n && (h[f->off + n - 1] == ' ' || h[f->off + n - 1] == '\t'))
			n--;
		f->name_len = n;
	}
	return 0;
}

static int msg_header_done(struct dkim_msg *m)
{
	m->in_body = true;
	return msg_index(m);
}

int dkim_msg_feed(struct dkim_msg *m, const uint8_t *p, size_t len)
{
	if (m->in_body) {
		m->body_fn(m->ctx, p, len);
		return 0;
	}
	size_t i = 0;
	while (i < len) {
		if (m->cr_at_start) {
			/* a line that started with CR: CRLF is the empty line, else it was a byte
			 */
			m->cr_at_start = false;
			if (p[i] == '\n') {
				int rc = msg_header_done(m);
				if (rc < 0)
					return rc;
				if (len > i + 1)
					m->body_fn(m->ctx, p + i + 1, len - i - 1);
				return 1;
			}
			int rc = msg_append(m, (const uint8_t *)"\r", 1);
			if (rc < 0)
				return rc;
			m->line_start = false;
		}
		if (m->line_start) {
			if (p[i] == '\n') { /* a bare LF empty line also ends the header */
				int rc = msg_header_done(m);
				if (rc < 0)
					return rc;
				if (len > i + 1)
					m->body_fn(m->ctx, p + i + 1, len - i - 1);
				return 1;
			}
			if (p[i] == '\r') {
				m->cr_at_start = true;
				i++;
				continue;
			}
		}
		/* the rest of this line, or of this piece */
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) + 1 : len;
		int rc = msg_append(m, p + i, end - i);
		if (rc < 0)
			return rc;
		m->line_start = nl != NULL;
		i = end;
	}
	return 0;
}

int dkim_msg_finish(struct dkim_msg *m)
{
	if (m->in_body)
		return 0;
	if (m->cr_at_start) {
		int rc = msg_append(m, (const uint8_t *)"\r", 1);
		if (rc < 0)
			return rc;
		m->cr_at_start = false;
	}
	return msg_header_done(m);
}

bool dkim_msg_field_is(const struct dkim_msg *m, size_t i, const char *name)
{
	size_t n = strlen(name);
	return m->field[i].name_len == n &&
	       !strncasecmp((const char *)m->hdr + m->field[i].off, name, n);
}
