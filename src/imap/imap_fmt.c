/* imap_fmt.c: IMAP strings on the wire (RFC 9051 4.3, 9: atom, quoted, literal, NIL) and
 * the buffered writer in front of the caller's sink. Decides for each string the form
 * its bytes allow, and normalises the human-readable envelope text. Owns only a stack
 * buffer per call (IMAP_FMT_OUT_BUF); allocates nothing.
 *
 * Why NUL becomes U+FFFD: neither a quoted string nor a literal may carry NUL (RFC 9051
 * 9: CHAR8 is %x01-ff), and the cached strings may hold one (mime keeps header bytes as
 * they are); the replacement character is what Dovecot's header parser puts there, and
 * stays valid UTF-8. */
#include "imap/imap_fmt_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "mime/mime.h"
#include "core/banned.h"

/* ---- the sink and the writer ---- */

void imap_put(const struct imap_sink *o, const void *p, size_t n)
{
	if (n)
		o->write(o->ctx, p, n);
}

void imap_puts(const struct imap_sink *o, const char *s)
{
	imap_put(o, s, strlen(s));
}

void imap_putf(const struct imap_sink *o, const char *fmt, ...)
{
	char b[IMAP_PUTF_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	/* Callers format numbers and short fixed text only (see imap_fmt.h). */
	assert(n >= 0 && (size_t)n < sizeof(b));
	if (n > 0)
		imap_put(o, b, (size_t)n);
}

void imap_fmt_out_init(struct imap_fmt_out *w, const struct imap_sink *o)
{
	w->o = o;
	buf_init(&w->b, w->storage, sizeof(w->storage));
}

void imap_fmt_out_flush(struct imap_fmt_out *w)
{
	imap_put(w->o, w->b.data, w->b.len);
	buf_clear(&w->b);
}

void imap_fmt_put(struct imap_fmt_out *w, const void *p, size_t n)
{
	if (buf_append(&w->b, p, n) == 0)
		return;
	imap_fmt_out_flush(w);
	if (buf_append(&w->b, p, n) < 0)
		imap_put(w->o, p, n); /* bigger than the buffer: straight through */
}

void imap_fmt_puts(struct imap_fmt_out *w, const char *s)
{
	imap_fmt_put(w, s, strlen(s));
}

void imap_fmt_byte(struct imap_fmt_out *w, uint8_t c)
{
	imap_fmt_put(w, &c, 1);
}

void imap_fmt_sp_u64(struct imap_fmt_out *w, uint64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), " %" PRIu64, v);
	assert(n > 0 && (size_t)n < sizeof(b)); /* 20 digits at most */
	imap_fmt_put(w, b, (size_t)n);
}

static void put_literal_head(struct imap_fmt_out *w, size_t len)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "{%zu}\r\n", len);
	assert(n > 0 && (size_t)n < sizeof(b));
	imap_fmt_put(w, b, (size_t)n);
}

/* ---- strings ---- */

/* RFC 9051 9: ATOM-CHAR is any CHAR but atom-specials; ASTRING-CHAR adds ']'. */
static bool astring_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("(){%*\"\\", c);
}

static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD, for NUL */

/* Can [p, p+n) go inside a quoted string? Counts the escapes it needs into *escapes and
 * the NULs (each written as U+FFFD, 2 bytes longer) into *nuls. */
static bool quotable(const unsigned char *p, size_t n, bool utf8, unsigned *escapes, size_t *nuls)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			ok = ok && ++*escapes <= IMAP_FMT_QUOTED_ESCAPES_MAX;
		} else if (c == '\r' || c == '\n') {
			ok = false;
		} else if (c == 0) {
			ok = ok && utf8;
			++*nuls;
		} else if (c >= 0x80) {
			/* RFC 9051 9 quoted: UTF8-2/3/4 only where UTF-8 was enabled */
			size_t l = utf8 ? str_utf8_seq(p + i, n - i, NULL) : 0;
			if (l == 0)
				ok = false;
			else
				i += l - 1;
		}
	}
	return ok;
}

/* String content in runs: NUL as U+FFFD, and with escape a backslash before '"' and
 * '\' (quoted-string). */
static void put_body(struct imap_fmt_out *w, const unsigned char *p, size_t n, bool escape)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == 0) {
			imap_fmt_put(w, p + run, i - run);
			imap_fmt_put(w, replacement, sizeof(replacement));
			run = i + 1;
		} else if (escape && (c == '"' || c == '\\')) {
			imap_fmt_put(w, p + run, i - run);
			imap_fmt_byte(w, '\\');
			run = i;
		}
	}
	imap_fmt_put(w, p + run, n - run);
}

void imap_fmt_string2(struct imap_fmt_out *w, const void *a, size_t an, const void *b, size_t bn,
                      bool utf8)
{
	unsigned escapes = 0;
	size_t nuls = 0;
	bool qa = quotable(a, an, utf8, &escapes, &nuls);
	bool qb = quotable(b, bn, utf8, &escapes, &nuls);
	bool quoted = qa && qb;
	if (quoted)
		imap_fmt_byte(w, '"');
	else
		put_literal_head(w, an + bn + 2 * nuls);
	put_body(w, a, an, quoted);
	put_body(w, b, bn, quoted);
	if (quoted)
		imap_fmt_byte(w, '"');
}

void imap_fmt_string(struct imap_fmt_out *w, const void *p, size_t n, bool utf8)
{
	imap_fmt_string2(w, p, n, "", 0, utf8);
}

void imap_fmt_nstring(struct imap_fmt_out *w, const struct mime_str *s, bool utf8)
{
	if (!s || !s->s)
		imap_fmt_put(w, "NIL", 3);
	else
		imap_fmt_string(w, s->s, s->len, utf8);
}

void imap_put_string(const struct imap_sink *o, const void *p, size_t n, bool utf8)
{
	struct imap_fmt_out w;
	imap_fmt_out_init(&w, o);
	imap_fmt_string(&w, p, n, utf8);
	imap_fmt_out_flush(&w);
}

void imap_put_astring(const struct imap_sink *o, const void *p, size_t n, bool utf8)
{
	const unsigned char *s = p;
	bool atom = n > 0 && !str_ieq(s, n, "NIL"); /* an atom NIL would read as NIL */
	for (size_t i = 0; i < n && atom; i++)
		atom = astring_char(s[i]);
	if (atom)
		imap_put(o, s, n);
	else
		imap_put_string(o, s, n, utf8);
}

void imap_put_nstring(const struct imap_sink *o, const struct mime_str *s, bool utf8)
{
	struct imap_fmt_out w;
	imap_fmt_out_init(&w, o);
	imap_fmt_nstring(&w, s, utf8);
	imap_fmt_out_flush(&w);
}

/* ---- text for humans ---- */

/* Walk the text in its normalised form (see imap_fmt_int.h), writing it to w (with
 * quoted-string escapes if escape) when w is set. Returns the normalised length. */
static size_t text_walk(const unsigned char *p, size_t n, struct imap_fmt_out *w, bool escape)
{
	size_t len = 0;
	bool pending_sp = false, started = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if (b == '\r' || b == '\n')
			continue;
		if (b == ' ' || b == '\t') {
			pending_sp = started;
			continue;
		}
		if (pending_sp) {
			if (w)
				imap_fmt_byte(w, ' ');
			len++;
			pending_sp = false;
		}
		started = true;
		if (b == 0) {
			if (w)
				imap_fmt_put(w, replacement, sizeof(replacement));
			len += sizeof(replacement);
			continue;
		}
		if (w && escape && (b == '"' || b == '\\'))
			imap_fmt_byte(w, '\\');
		if (w)
			imap_fmt_byte(w, b);
		len++;
	}
	return len;
}

/* Whether the text needs no change at all and holds nothing Dovecot would not quote. */
static bool text_plain(const unsigned char *p, size_t n, size_t normalised_len)
{
	if (normalised_len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '\t' || p[i] == 0 || p[i] == '"' || p[i] == '\\' || p[i] >= 0x80)
			return false;
	return true;
}

/* With utf8: can the normalised text be quoted? (NUL becomes U+FFFD; CR and LF are
 * dropped by the normalisation.) */
static bool text_quotable_utf8(const unsigned char *p, size_t n)
{
	unsigned escapes = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if ((b == '"' || b == '\\') && ++escapes > IMAP_FMT_QUOTED_ESCAPES_MAX)
			return false;
		if (b >= 0x80) {
			size_t l = str_utf8_seq(p + i, n - i, NULL);
			if (l == 0)
				return false;
			i += l - 1;
		}
	}
	return true;
}

void imap_fmt_text(struct imap_fmt_out *w, const void *p, size_t n, bool utf8)
{
	const unsigned char *s = p;
	size_t len = text_walk(s, n, NULL, false);
	if (text_plain(s, n, len)) {
		imap_fmt_byte(w, '"');
		imap_fmt_put(w, s, n);
		imap_fmt_byte(w, '"');
	} else if (len == 0) {
		imap_fmt_put(w, "\"\"", 2);
	} else if (utf8 && text_quotable_utf8(s, n)) {
		imap_fmt_byte(w, '"');
		text_walk(s, n, w, true);
		imap_fmt_byte(w, '"');
	} else {
		put_literal_head(w, len);
		text_walk(s, n, w, false);
	}
}
