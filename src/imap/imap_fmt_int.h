/* imap_fmt_int.h: shared inside the IMAP formatter (imap_fmt*.c) only. */
#ifndef KASTEN_IMAP_FMT_INT_H
#define KASTEN_IMAP_FMT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap_fmt.h"

/* A quoted string may carry this many escaped '"' and '\' at most; past it the string
 * goes as a literal, which is then no longer than the quoted form for the usual lengths
 * (and is what Dovecot sends, so clients see the same bytes from both). */
#define IMAP_FMT_QUOTED_ESCAPES_MAX 4

/* Bytes gathered on the stack before one sink call: a 200-part BODYSTRUCTURE is then a
 * few dozen calls instead of tens of thousands of small ones. */
#define IMAP_FMT_OUT_BUF 2048

/* The writer every formatting function uses: the caller's sink behind a stack buffer.
 * Each public imap_put_* makes one and flushes it before returning. */
struct imap_fmt_out {
	const struct imap_sink *o;
	struct buf b;
	uint8_t storage[IMAP_FMT_OUT_BUF];
};

void imap_fmt_out_init(struct imap_fmt_out *w, const struct imap_sink *o);
void imap_fmt_out_flush(struct imap_fmt_out *w);
void imap_fmt_put(struct imap_fmt_out *w, const void *p, size_t n);
void imap_fmt_puts(struct imap_fmt_out *w, const char *s);
void imap_fmt_byte(struct imap_fmt_out *w, uint8_t c);
/* SP and the decimal number */
void imap_fmt_sp_u64(struct imap_fmt_out *w, uint64_t v);

/* The rules of imap_fmt.h's imap_put_string / imap_put_nstring. */
void imap_fmt_string(struct imap_fmt_out *w, const void *p, size_t n, bool utf8);
void imap_fmt_nstring(struct imap_fmt_out *w, const struct mime_str *s, bool utf8);
/* A string made of two pieces [a, a+an) and [b, b+bn) written as one, e.g. a parameter
 * name and the "*" of RFC 2231. */
void imap_fmt_string2(struct imap_fmt_out *w, const void *a, size_t an, const void *b, size_t bn,
                      bool utf8);

/* Human-readable text (the envelope subject and address display names), normalised as
 * Dovecot does: CR and LF dropped, TAB as SP, each run of SP collapsed into one, leading
 * and trailing SP dropped, NUL as U+FFFD. Sent quoted only when nothing had to change and
 * no '"', '\' or 8-bit byte is present; otherwise as a literal (with utf8: quoted when
 * the normalised text can be, see imap_put_string). */
void imap_fmt_text(struct imap_fmt_out *w, const void *p, size_t n, bool utf8);

void imap_fmt_envelope(struct imap_fmt_out *w, const struct mime_envelope *env, bool utf8);

#endif
