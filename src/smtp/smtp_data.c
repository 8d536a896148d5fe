/* smtp_data.c: the DATA and BDAT content readers (RFC 5321 4.1.1.4, 4.5.2; RFC 3030).
 * Owns nothing: content goes straight to the caller's sink in runs of input bytes, so
 * nothing is buffered and memory does not grow with the message. Limits: only the
 * caller's total size; a line may be as long as the message (real mail has single-line
 * HTML and unwrapped base64, and the reader needs no line buffer). The policy for bare
 * CR, bare LF and NUL (flag, keep syncing, refuse after the end) is described in
 * smtp_data.h. */
#include "smtp/smtp_data.h"

#include <string.h>

#include "core/err.h"
#include "core/banned.h"

int smtp_data_init(struct smtp_data_reader *r, uint64_t max_size, smtp_sink_fn sink, void *ctx)
{
	memset(r, 0, sizeof(*r));
	if (!sink)
		return ERR_INVAL;
	r->sink = sink;
	r->ctx = ctx;
	r->max_size = max_size;
	r->state = SMTP_DATA_ST_BOL; /* the DATA command's CRLF starts the first line */
	return 0;
}

/* Pass p[0..n) to the sink unless a flag already stopped the output; cut at max_size.
 * Shared by both readers through the three fields it touches. */
static void emit(smtp_sink_fn sink, void *ctx, uint64_t max_size, unsigned *flags, int *sink_err,
                 uint64_t *out_bytes, const uint8_t *p, size_t n)
{
	if (n == 0 || *flags)
		return;
	bool too_big = n > max_size - *out_bytes; /* out_bytes <= max_size always */
	if (too_big)
		n = (size_t)(max_size - *out_bytes);
	if (n > 0) {
		int rc = sink(ctx, p, n);
		if (rc < 0) {
			*flags |= SMTP_DATA_F_SINK;
			*sink_err = rc;
			return;
		}
		*out_bytes += n;
	}
	if (too_big)
		*flags |= SMTP_DATA_F_TOO_BIG;
}

static void data_emit(struct smtp_data_reader *r, const uint8_t *p, size_t n)
{
	emit(r->sink, r->ctx, r->max_size, &r->flags, &r->sink_err, &r->out_bytes, p, n);
}

/* Flush the pending run, then raise a flag: everything before the offending byte is
 * emitted, nothing after it. This keeps the output independent of input splits. */
static void data_flag(struct smtp_data_reader *r, const uint8_t *p, size_t *run, size_t at,
                      unsigned flag)
{
	if (at > *run)
		data_emit(r, p + *run, at - *run);
	*run = at;
	r->flags |= flag;
}

/* Ordinary bytes of a line, as many as possible at once. */
static size_t text_span(const uint8_t *p, size_t i, size_t len)
{
	while (i < len && p[i] != '\r' && p[i] != '\n' && p[i] != '\0')
		i++;
	return i;
}

int smtp_data_read(struct smtp_data_reader *r, const uint8_t *p, size_t len, size_t *used_out)
{
	static const uint8_t cr = '\r';
	size_t i = 0, run = 0; /* p[run..i) is content not yet passed to the sink */
	*used_out = 0;
	if (r->state == SMTP_DATA_ST_DONE)
		return ERR_INVAL;
	while (i < len) {
		uint8_t ch = p[i];
		switch (r->state) {
		case SMTP_DATA_ST_BOL:
			if (ch == '.') {
				/* maybe the end marker, maybe stuffing: the dot is never content */
				data_flag(r, p, &run, i, 0);
				run = ++i;
				r->state = SMTP_DATA_ST_DOT;
			} else {
				r->state = SMTP_DATA_ST_TEXT;
			}
			break;
		case SMTP_DATA_ST_DOT:
			if (ch == '\r') {
				i++;
				r->state = SMTP_DATA_ST_DOT_CR;
			} else {
				r->state =
				    SMTP_DATA_ST_TEXT; /* RFC 5321 4.5.2: drop the first dot */
			}
			break;
		case SMTP_DATA_ST_DOT_CR:
			if (ch == '\n') {
				r->state = SMTP_DATA_ST_DONE;
				*used_out = i + 1;
				r->in_bytes += i + 1;
				return 1;
			}
			/* ".<CR>x": a bare CR, and the line was stuffed; x is read as text */
			data_flag(r, p, &run, i == 0 ? 0 : i - 1, SMTP_DATA_F_BARE_CR);
			run = i;
			r->state = SMTP_DATA_ST_TEXT;
			break;
		case SMTP_DATA_ST_TEXT:
			i = text_span(p, i, len);
			if (i == len)
				break;
			ch = p[i];
			if (ch == '\r') {
				i++; /* stays in the run; taken back if it turns out bare */
				r->state = SMTP_DATA_ST_CR;
			} else if (ch == '\n') {
				data_flag(r, p, &run, i, SMTP_DATA_F_BARE_LF);
				run = ++i;
			} else {
				data_flag(r, p, &run, i, SMTP_DATA_F_NUL);
				run = ++i;
			}
			break;
		case SMTP_DATA_ST_CR:
			if (ch == '\n') {
				if (i == 0)
					data_emit(r, &cr, 1); /* the CR ended the previous input */
				i++;
				r->state = SMTP_DATA_ST_BOL;
			} else {
				data_flag(r, p, &run, i == 0 ? 0 : i - 1, SMTP_DATA_F_BARE_CR);
				run = i;
				r->state = SMTP_DATA_ST_TEXT;
			}
			break;
		case SMTP_DATA_ST_DONE:
			break;
		}
	}
	/* A CR whose LF is still to come is not content yet. */
	size_t end = len;
	if (len > 0 && (r->state == SMTP_DATA_ST_CR || r->state == SMTP_DATA_ST_DOT_CR))
		end = len - 1;
	if (end > run)
		data_emit(r, p + run, end - run);
	*used_out = len;
	r->in_bytes += len;
	return 0;
}

int smtp_data_verdict(unsigned flags, unsigned *code_out, const char **reason_out)
{
	if (flags == 0)
		return 0;
	if (flags & SMTP_DATA_F_SINK) {
		*code_out = 451;
		*reason_out = "4.3.0 Error writing message, try again later";
		return ERR_IO;
	}
	if (flags & SMTP_DATA_F_TOO_BIG) {
		*code_out = 552;
		*reason_out = "5.3.4 Message too big";
		return ERR_TOO_BIG;
	}
	*code_out = 550;
	*reason_out = (flags & SMTP_DATA_F_BARE_LF)   ? "5.6.0 Bare LF not allowed (RFC 5321 2.3.8)"
	              : (flags & SMTP_DATA_F_BARE_CR) ? "5.6.0 Bare CR not allowed (RFC 5321 2.3.8)"
	                                              : "5.6.0 NUL not allowed in message";
	return ERR_BAD_SYNTAX;
}

/* ---- BDAT ---- */

void smtp_bdat_init(struct smtp_bdat_reader *r, uint64_t max_size, bool binary, smtp_sink_fn sink,
                    void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->sink = sink;
	r->ctx = ctx;
	r->max_size = max_size;
	r->binary = binary;
}

static void bdat_emit(struct smtp_bdat_reader *r, const uint8_t *p, size_t n)
{
	emit(r->sink, r->ctx, r->max_size, &r->flags, &r->sink_err, &r->out_bytes, p, n);
}

/* The chunk is read: after the LAST one a CR still waiting for its LF is bare. */
static int bdat_complete(struct smtp_bdat_reader *r)
{
	if (r->last) {
		r->done = true;
		if (r->cr && !r->binary)
			r->flags |= SMTP_DATA_F_BARE_CR;
	}
	return 1;
}

int smtp_bdat_chunk(struct smtp_bdat_reader *r, uint64_t size, bool last)
{
	if (r->remaining > 0 || r->done)
		return ERR_INVAL;
	r->remaining = size;
	r->last = last;
	/* Checked before any byte is read (RFC 3030 3: the chunk is still read and dropped). */
	if (size > r->max_size - r->out_bytes)
		r->flags |= SMTP_DATA_F_TOO_BIG;
	return size == 0 ? bdat_complete(r) : 0;
}

int smtp_bdat_read(struct smtp_bdat_reader *r, const uint8_t *p, size_t len, size_t *used_out)
{
	size_t n = len > r->remaining ? (size_t)r->remaining : len;
	size_t run = 0;
	*used_out = n;
	if (r->remaining == 0)
		return r->done ? ERR_INVAL : 1;
	if (!r->binary) {
		/* Everything before the first offending byte is emitted, as with DATA. */
		for (size_t i = 0; i < n; i++) {
			uint8_t ch = p[i];
			unsigned f = 0;
			if (r->cr && ch != '\n')
				f = SMTP_DATA_F_BARE_CR;
			else if (!r->cr && ch == '\n')
				f = SMTP_DATA_F_BARE_LF;
			else if (ch == '\0')
				f = SMTP_DATA_F_NUL;
			r->cr = ch == '\r';
			if (f && !r->flags) {
				bdat_emit(r, p + run, i - run);
				run = i;
			}
			r->flags |= f;
		}
	}
	bdat_emit(r, p + run, n - run);
	r->remaining -= n;
	r->in_bytes += n;
	return r->remaining == 0 ? bdat_complete(r) : 0;
}
