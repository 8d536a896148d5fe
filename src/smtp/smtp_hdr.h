/* smtp_hdr.h: the header filter, a pure function over bytes that sits between a body
 * reader (smtp_data.h: DATA or BDAT) and the spool file.
 *
 * Why: RFC 5321 4.4 makes the delivering MTA add Return-Path. One the client put into the
 * header section is a forgery (or a leftover of an earlier hop that a reader would take
 * for ours), so every Return-Path field is removed, with its folded lines, before ours is
 * prepended. Every other byte, header and body, passes exactly as it came. On submission
 * the filter also copies the From: value (RFC 5322 3.6.2) for the sender check
 * (smtp_policy.c), so the message never has to be read back from the spool.
 *
 * Decisions (STYLE 5):
 *   - A line ends at LF; a CR before it belongs to the line end. A CR elsewhere, NUL and
 *     8-bit bytes are ordinary bytes (the body readers already refuse bare CR, bare LF
 *     and NUL, so here lines end in CRLF in practice).
 *   - The header section ends at the first empty line (CRLF, or a lone LF), or at the end
 *     of the input. Nothing after it is looked at: a "Return-Path:" line in the body or
 *     in an attached message stays.
 *   - A line that starts with SP or HTAB continues the field before it (RFC 5322 2.2.3)
 *     and shares its fate. On the first line of the message there is no field before it:
 *     it is kept.
 *   - A line is a Return-Path field when it starts with "Return-Path" in any case and the
 *     next byte is ':' or SP/HTAB (RFC 5322 4.5.3 obs-optional allows WSP before the
 *     colon; RFC 5322 1.2.2 makes names case-insensitive). "Return-Path x" without a
 *     colon is no valid field but is dropped as well: deciding it would mean holding an
 *     unbounded run of WSP, and a reader that skips the WSP would see our field name.
 *     "Return-Paths:" and "X-Return-Path:" are other fields and stay.
 *   - With drop_bcc (set after smtp_hdr_init by a sender that is not relaying an SMTP
 *     client's message as it came: JMAP EmailSubmission, smtp_submit_send.c), Bcc
 *     fields go the same way (RFC 5322 3.6.3: no recipient learns of the blind
 *     copies): "Bcc" in any case, then ':' or SP/HTAB, with its folded lines.
 *     "Bccx:" and "X-Bcc:" are other fields and stay.
 *   - A From field is "From" (any case), optional SP/HTAB, ':'. Its value (after the
 *     colon, up to the end of its last folded line) is copied unfolded, i.e. without CR
 *     and LF bytes, into the from buffer. Past its capacity from_over is set and the copy
 *     stops; the caller refuses such a message. from_fields counts From fields.
 *   - Memory: the filter buffers nothing but the SMTP_HDR_HOLD bytes of a field name it
 *     is still matching ("return-path" is the longest); the from copy is the caller's
 *     bounded buffer. A held name is passed on as soon as it stops matching, and at
 *     smtp_hdr_finish().
 *   Invariants (checked by fuzz/fuzz_smtp_data.c): the output is the input with exactly
 *   the Return-Path fields of the header section (as defined above) taken out; it does not
 *   depend on how the input is split into calls; out_bytes is what the sink accepted.
 */
#ifndef KASTEN_SMTP_HDR_H
#define KASTEN_SMTP_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "smtp/smtp_data.h"

/* strlen("return-path"): the most a filter holds back while matching a field name. */
#define SMTP_HDR_HOLD 11

enum smtp_hdr_state {
	SMTP_HDR_ST_BOL,      /* at the start of a header line */
	SMTP_HDR_ST_BOL_CR,   /* a CR at the start of a header line (an empty line?) */
	SMTP_HDR_ST_NAME,     /* matching the start of the line against a field name */
	SMTP_HDR_ST_FROM_WSP, /* "From" and SP/HTAB seen, the colon not yet */
	SMTP_HDR_ST_LINE,     /* the rest of a header line, up to its LF */
	SMTP_HDR_ST_BODY,     /* after the header section: everything passes */
};

/* What happens to the field the current line belongs to. */
enum smtp_hdr_fate {
	SMTP_HDR_PASS,    /* passed on */
	SMTP_HDR_DROP,    /* a Return-Path field: not passed on */
	SMTP_HDR_CAPTURE, /* a From field: passed on, value copied */
};

struct smtp_hdr_filter {
	smtp_sink_fn sink;
	void *ctx;
	enum smtp_hdr_state state;
	enum smtp_hdr_fate fate;
	const char *name;            /* the field name being matched (lower case) */
	uint8_t hold[SMTP_HDR_HOLD]; /* the line's first bytes while matching name */
	size_t hold_len;
	struct buf *from;  /* NULL: From values are not copied */
	unsigned from_fields;
	bool from_over;    /* a From value did not fit into from */
	bool drop_bcc;     /* Bcc fields are removed too */
	unsigned dropped;  /* Return-Path (and Bcc) fields removed */
	uint64_t out_bytes; /* bytes the sink accepted */
};

/* Prepare f for one message. from: a buffer for the unfolded From value (cleared here),
 * or NULL when the caller does not check the sender. sink must not be NULL.
 * Returns 0 or ERR_INVAL. */
int smtp_hdr_init(struct smtp_hdr_filter *f, struct buf *from, smtp_sink_fn sink, void *ctx);

/* The sink the body reader writes into (an smtp_sink_fn with ctx = the filter): filters
 * p[0..n) and passes what stays to f->sink. Returns 0, or the first error f->sink
 * returned (the reader then stops writing). */
int smtp_hdr_write(void *f, const uint8_t *p, size_t n);

/* The input is complete: pass on a held name that never finished matching. Returns 0 or
 * the sink's error. Call once, after the body reader finished cleanly. */
int smtp_hdr_finish(struct smtp_hdr_filter *f);

#endif
