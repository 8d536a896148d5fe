/* mime_preview.c: the RFC 8970 preview of a text: the first LIMIT_PREVIEW_CHARS code
 * points with whitespace collapsed. Lines quoted with ">" go aside and serve only when
 * nothing else came (a reply's preview shows the reply, not the quote; a message that
 * is all quote still gets one). Input arrives in pieces of valid UTF-8; the builder is
 * a fixed-size struct, its result is copied into the caller's arena at the end. */
#include "mime_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/banned.h"

static void side_init(struct mime_preview_side *s)
{
	s->len = 0; /* buf is written before it is read: not cleared */
	s->chars = 0;
	s->sep = s->full = false;
}

void mime_preview_init(struct mime_preview *pv)
{
	side_init(&pv->main);
	side_init(&pv->quoted);
	pv->line_start = true;
	pv->in_quote = pv->quote_lead = pv->held_c2 = false;
}

/* Blank for the preview: SP, HTAB and every other C0 control, DEL. */
static bool blank(uint8_t c)
{
	return c <= 0x20 || c == 0x7f;
}

static void blank_seen(struct mime_preview *pv)
{
	if (pv->line_start || pv->quote_lead)
		return; /* leading blanks of a line, or between its ">" marks */
	if (pv->in_quote)
		pv->quoted.sep = true;
	else
		pv->main.sep = true;
}

/* One byte of a character to side s: a lead byte counts as one code point. */
static void side_put(struct mime_preview_side *s, uint8_t c)
{
	if ((c & 0xc0) != 0x80) {
		/* A space due counts too, and is only written with a character after it. */
		unsigned need = 1 + (s->sep && s->len ? 1 : 0);
		if (s->full || s->chars + need > LIMIT_PREVIEW_CHARS ||
		    s->len + need > sizeof(s->buf)) {
			s->full = true;
			return;
		}
		if (s->sep && s->len) {
			s->buf[s->len++] = ' ';
			s->chars++;
		}
		s->sep = false;
		s->chars++;
	} else if (s->full || s->len == sizeof(s->buf)) {
		return; /* the rest of a character left out (or not UTF-8 at all) */
	}
	s->buf[s->len++] = c;
}

static void content(struct mime_preview *pv, uint8_t c)
{
	if (pv->line_start) {
		pv->line_start = false;
		pv->in_quote = c == '>';
		pv->quote_lead = pv->in_quote;
		/* A quote's lines join the quoted side like words of one text. */
		if (pv->in_quote && pv->quoted.len)
			pv->quoted.sep = true;
	}
	if (pv->quote_lead) {
		if (c == '>')
			return;
		pv->quote_lead = false;
	}
	side_put(pv->in_quote ? &pv->quoted : &pv->main, c);
}

static void byte(struct mime_preview *pv, uint8_t c)
{
	if (pv->held_c2) {
		pv->held_c2 = false;
		if (c == 0xa0) { /* U+00A0 NO-BREAK SPACE */
			blank_seen(pv);
			return;
		}
		content(pv, 0xc2);
	}
	if (c == 0xc2) {
		pv->held_c2 = true;
		return;
	}
	if (c == '\n') {
		blank_seen(pv);
		pv->line_start = true;
		pv->in_quote = pv->quote_lead = false;
	} else if (blank(c)) {
		blank_seen(pv);
	} else {
		content(pv, c);
	}
}

/* Visible ASCII inside a line, with no space due: straight into the side, the common
 * case; the byte-wise path does the same for these bytes. */
static size_t ascii_run(struct mime_preview *pv, const uint8_t *p, size_t n)
{
	if (pv->line_start || pv->quote_lead || pv->held_c2)
		return 0;
	struct mime_preview_side *s = pv->in_quote ? &pv->quoted : &pv->main;
	size_t k = 0;
	if (s->sep || s->full)
		return 0;
	while (k < n && p[k] > 0x20 && p[k] < 0x7f && s->chars < LIMIT_PREVIEW_CHARS &&
	       s->len < sizeof(s->buf)) {
		s->buf[s->len++] = p[k++];
		s->chars++;
	}
	return k;
}

bool mime_preview_put(void *arg, const uint8_t *p, size_t n)
{
	struct mime_preview *pv = arg;
	for (size_t i = 0; i < n && !pv->main.full;) {
		size_t k = ascii_run(pv, p + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		byte(pv, p[i++]);
	}
	return !pv->main.full;
}

int mime_preview_finish(struct mime_preview *pv, struct arena *a, struct mime_str *out)
{
	if (pv->held_c2) { /* cannot happen with valid UTF-8; kept as the byte it was */
		pv->held_c2 = false;
		content(pv, 0xc2);
	}
	const struct mime_preview_side *s = pv->main.len ? &pv->main : &pv->quoted;
	char *str = arena_strndup(a, s->buf, s->len);
	if (!str)
		return ERR_NOMEM;
	out->s = str;
	out->len = s->len;
	return 0;
}
