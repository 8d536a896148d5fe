/* smtp_line.c: the SMTP command line reader: cuts the byte stream into command lines
 * (resumable at every byte), enforces the line limit and skips over-long lines by
 * itself. It owns max_line - 1 bytes from the session arena for a partly received line
 * and wipes it, since a buffered line may be an AUTH secret. Decisions about bare CR,
 * bare LF and NUL are written down in smtp_parse.h. */
#include "smtp/smtp_parse.h"

#include <assert.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

int smtp_cmd_reader_init(struct smtp_cmd_reader *r, struct arena *a, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	if (max_line < SMTP_LINE_MIN || max_line > LIMIT_SMTP_LINE)
		return ERR_INVAL;
	r->max_line = max_line;
	r->arena = a;
	return 0;
}

/* Store part of a line: the buffer is made on first use, then kept. */
static int line_store(struct smtp_cmd_reader *r, const uint8_t *s, size_t n)
{
	/* content (max_line - 2) plus a CR whose LF has not arrived yet */
	if (!r->line.data && buf_alloc(&r->line, r->arena, r->max_line - 1) < 0)
		return ERR_NOMEM;
	int rc = buf_append(&r->line, s, n);
	assert(rc == 0); /* the callers checked the length against the limit */
	return rc;
}

static void line_wipe(struct smtp_cmd_reader *r)
{
	/* The line may have been an AUTH command with a SASL secret. */
	if (r->line.data)
		explicit_bzero(r->line.data, r->line.len);
	buf_clear(&r->line);
	r->wipe = false;
}

void smtp_cmd_reader_reset(struct smtp_cmd_reader *r)
{
	line_wipe(r);
	r->discard = false;
	r->bdat_overflow = false;
}

/* An over-long line was found: note whether it was a BDAT (stream is then out of sync),
 * drop what was stored. s[0..n) are the line's bytes not yet stored. */
static int line_too_long(struct smtp_cmd_reader *r, const uint8_t *s, size_t n)
{
	uint8_t head[5];
	size_t h = 0;
	for (size_t i = 0; i < r->line.len && h < sizeof(head); i++)
		head[h++] = r->line.data[i];
	for (size_t i = 0; i < n && h < sizeof(head); i++)
		head[h++] = s[i];
	r->bdat_overflow = str_ieq(head, h, "BDAT ");
	line_wipe(r);
	return ERR_TOO_LONG;
}

int smtp_line_read(struct smtp_cmd_reader *r, const uint8_t *p, size_t len, size_t *used_out,
                   const uint8_t **line_out, size_t *line_len_out)
{
	*used_out = 0;
	*line_out = NULL;
	*line_len_out = 0;
	if (r->wipe)
		line_wipe(r);
	size_t i = 0;
	if (r->discard) {
		const uint8_t *lf = len ? memchr(p, '\n', len) : NULL;
		if (!lf) {
			*used_out = len;
			return 0;
		}
		i = (size_t)(lf - p) + 1;
		r->discard = false;
	}
	const uint8_t *s = p + i;
	size_t n = len - i;
	const uint8_t *lf = n ? memchr(s, '\n', n) : NULL;
	size_t seg = lf ? (size_t)(lf - s) : n, have = r->line.len, content_max = r->max_line - 2;
	if (lf) {
		bool cr = seg ? s[seg - 1] == '\r' : (have && r->line.data[have - 1] == '\r');
		size_t clen = have + seg - (cr ? 1 : 0);
		*used_out = i + seg + 1;
		if (clen > content_max)
			return line_too_long(r, s, seg);
		if (have == 0) {
			*line_out = s;
		} else {
			int rc = line_store(r, s, seg); /* have + seg <= content_max + 1 == cap */
			if (rc < 0)
				return rc;
			*line_out = r->line.data;
			r->wipe = true;
		}
		*line_len_out = clen;
		return 1;
	}
	/* No LF yet: store, unless the bytes already prove the line too long (more than the
	 * content limit, where one extra byte is allowed only if it is the CR of a CRLF). */
	*used_out = len;
	size_t total = have + seg;
	uint8_t last = seg ? s[seg - 1] : (have ? r->line.data[have - 1] : 0);
	if (total > content_max + 1 || (total == content_max + 1 && last != '\r')) {
		int rc = line_too_long(r, s, seg);
		r->discard = true;
		return rc;
	}
	return line_store(r, s, seg);
}

int smtp_cmd_read(struct smtp_cmd_reader *r, const uint8_t *p, size_t len, size_t *used_out,
                  struct arena *a, struct smtp_cmd *cmd_out)
{
	const uint8_t *line;
	size_t n;
	memset(cmd_out, 0, sizeof(*cmd_out));
	int rc = smtp_line_read(r, p, len, used_out, &line, &n);
	if (rc == ERR_TOO_LONG) {
		cmd_out->reply_code = 500;
		cmd_out->reason = "5.5.2 Line too long";
		if (r->bdat_overflow) {
			cmd_out->verb = SMTP_VERB_BDAT;
			cmd_out->must_close = true;
		}
		return rc;
	}
	if (rc <= 0)
		return rc;
	return smtp_cmd_parse(line, n, r->smtputf8, a, cmd_out);
}
