/* jmap_email_build_cte.c: Content-Transfer-Encoding for the parts of a message we
 * write (RFC 2045 6): a one-pass scan of a body decides between the identity (7bit, or
 * 8bit for message types), quoted-printable and base64, and streaming encoders write it
 * in bounded memory (a blob is never held whole).
 *
 * A body is written as it is only when that is safe: no NUL, CRLF line ends only, no
 * line over 998 octets (RFC 5322 2.1.1), 7-bit unless message types (RFC 2046 5.2.1 allows
 * only identity encodings there, 8bit included; RFC 6152 carries it), and no line that
 * begins with "--" and an enclosing multipart's boundary. Otherwise text that is
 * mostly ASCII (at most a quarter of its bytes 8-bit) becomes quoted-printable, which
 * keeps it readable, and everything else base64. Neither encoded form can hold a
 * boundary: our boundaries begin with "=_", and QP writes "=" only before two hex
 * digits or a line end, base64 has neither "=_" nor "_". */
#include "http/jmap_email_build_int.h"

#include <string.h>

#include "core/err.h"

void jeb_scan_init(struct jeb_scan *s, const char *const *boundaries, size_t n)
{
	memset(s, 0, sizeof *s);
	s->boundaries = boundaries;
	s->n_boundaries = n;
}

/* The current line's head, as far as it is kept, against "--" + each boundary. */
static void scan_head_check(struct jeb_scan *s)
{
	if (s->head_len < 3 || s->head[0] != '-' || s->head[1] != '-')
		return;
	for (size_t i = 0; i < s->n_boundaries; i++) {
		size_t bl = strlen(s->boundaries[i]);
		if (s->head_len == bl + 2 && memcmp(s->head + 2, s->boundaries[i], bl) == 0)
			s->boundary_hit = true;
	}
}

static void scan_line_end(struct jeb_scan *s)
{
	if (s->line > s->max_line)
		s->max_line = s->line;
	s->line = 0;
	s->head_len = 0;
}

void jeb_scan_feed(struct jeb_scan *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (s->prev_cr && c != '\n')
			s->bad_eol = true;
		if (c == '\n') {
			if (!s->prev_cr) {
				s->bad_eol = true;
				s->line++;
			}
			s->prev_cr = false;
			scan_line_end(s);
			continue;
		}
		if (s->prev_cr)
			s->line++;
		s->prev_cr = c == '\r';
		if (c == '\r')
			continue;
		s->high += c >= 0x80;
		s->ctl += c == 0;
		s->line++;
		if (s->head_len < sizeof s->head) {
			s->head[s->head_len++] = (char)c;
			scan_head_check(s);
		}
	}
	s->len += n;
}

void jeb_scan_end(struct jeb_scan *s)
{
	if (s->prev_cr) {
		s->bad_eol = true;
		s->line++;
	}
	if (s->line > s->max_line)
		s->max_line = s->line;
}

enum jeb_cte jeb_cte_choose(const struct jeb_scan *s, const char *type)
{
	bool lines_ok = s->ctl == 0 && !s->bad_eol && s->max_line <= JEB_LINE_MAX &&
			!s->boundary_hit;
	if (strncmp(type, "message/", 8) == 0)
		return lines_ok ? (s->high ? JEB_CTE_8BIT : JEB_CTE_7BIT) : JEB_CTE_BASE64;
	if (lines_ok && s->high == 0)
		return JEB_CTE_7BIT;
	if (strncmp(type, "text/", 5) == 0 && s->ctl == 0 && s->high <= s->len / 4)
		return JEB_CTE_QP;
	return JEB_CTE_BASE64;
}

const char *jeb_cte_name(enum jeb_cte c)
{
	switch (c) {
	case JEB_CTE_7BIT:
		return "7bit";
	case JEB_CTE_8BIT:
		return "8bit";
	case JEB_CTE_QP:
		return "quoted-printable";
	case JEB_CTE_BASE64:
		break;
	}
	return "base64";
}

/* ---- encoders ---- */

/* RFC 2045 6.7 rule 5: encoded lines at most 76 characters, the "=" of a soft line
 * break included, so a token goes on a line only when one more character fits. */
#define QP_LINE 76
#define B64_LINE 76

void jeb_enc_init(struct jeb_enc *e, enum jeb_cte cte, struct jeb_out *o)
{
	memset(e, 0, sizeof *e);
	e->cte = cte;
	e->o = o;
	e->pending_ws = -1;
}

static const char hex_digits[] = "0123456789ABCDEF";

/* One QP token (a literal byte or "=XX"), after a soft line break if it does not fit. */
static int qp_token(struct jeb_enc *e, uint8_t c, bool literal)
{
	char t[3];
	size_t n = 1;
	if (literal) {
		t[0] = (char)c;
	} else {
		t[0] = '=';
		t[1] = hex_digits[c >> 4];
		t[2] = hex_digits[c & 15];
		n = 3;
	}
	if (e->col + n > QP_LINE - 1) {
		if (jeb_put(e->o, "=\r\n", 3) < 0)
			return e->o->err;
		e->col = 0;
	}
	e->col += n;
	return jeb_put(e->o, t, n);
}

static bool qp_literal(uint8_t c)
{
	return (c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t';
}

/* The held SP/HTAB, literal when more text follows on its line, encoded before a line
 * end or the end of the body (6.7 rule 3). */
static int qp_flush_ws(struct jeb_enc *e, bool at_eol)
{
	if (e->pending_ws < 0)
		return 0;
	uint8_t c = (uint8_t)e->pending_ws;
	e->pending_ws = -1;
	return qp_token(e, c, !at_eol);
}

static int qp_feed(struct jeb_enc *e, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (e->pending_cr) {
			e->pending_cr = false;
			if (c == '\n') {
				if (qp_flush_ws(e, true) < 0 || jeb_put(e->o, "\r\n", 2) < 0)
					return e->o->err;
				e->col = 0;
				continue;
			}
			if (qp_flush_ws(e, false) < 0 || qp_token(e, '\r', false) < 0)
				return e->o->err;
		}
		if (c == '\r') {
			e->pending_cr = true;
			continue;
		}
		if (qp_flush_ws(e, false) < 0)
			return e->o->err;
		if (c == ' ' || c == '\t') {
			e->pending_ws = c;
			continue;
		}
		if (qp_token(e, c, qp_literal(c)) < 0)
			return e->o->err;
	}
	return 0;
}

static int qp_finish(struct jeb_enc *e)
{
	if (e->pending_cr) {
		e->pending_cr = false;
		if (qp_flush_ws(e, false) < 0 || qp_token(e, '\r', false) < 0)
			return e->o->err;
	}
	return qp_flush_ws(e, true);
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One group of 1-3 bytes as four characters, after a line break when the line is full. */
static int b64_group(struct jeb_enc *e, const uint8_t *g, size_t n)
{
	char t[4];
	uint32_t v = (uint32_t)g[0] << 16 | (uint32_t)(n > 1 ? g[1] : 0) << 8 |
		     (uint32_t)(n > 2 ? g[2] : 0);
	t[0] = b64_alphabet[v >> 18 & 63];
	t[1] = b64_alphabet[v >> 12 & 63];
	t[2] = n > 1 ? b64_alphabet[v >> 6 & 63] : '=';
	t[3] = n > 2 ? b64_alphabet[v & 63] : '=';
	if (e->col + 4 > B64_LINE) {
		if (jeb_put(e->o, "\r\n", 2) < 0)
			return e->o->err;
		e->col = 0;
	}
	e->col += 4;
	return jeb_put(e->o, t, 4);
}

static int b64_feed(struct jeb_enc *e, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		e->carry[e->n_carry++] = p[i];
		if (e->n_carry == 3) {
			e->n_carry = 0;
			if (b64_group(e, e->carry, 3) < 0)
				return e->o->err;
		}
	}
	return 0;
}

static int b64_finish(struct jeb_enc *e)
{
	if (e->n_carry && b64_group(e, e->carry, e->n_carry) < 0)
		return e->o->err;
	e->n_carry = 0;
	if (e->col && jeb_put(e->o, "\r\n", 2) < 0)
		return e->o->err;
	e->col = 0;
	return 0;
}

int jeb_enc_feed(struct jeb_enc *e, const uint8_t *p, size_t n)
{
	switch (e->cte) {
	case JEB_CTE_QP:
		return qp_feed(e, p, n);
	case JEB_CTE_BASE64:
		return b64_feed(e, p, n);
	case JEB_CTE_7BIT:
	case JEB_CTE_8BIT:
		break;
	}
	return jeb_put(e->o, p, n);
}

int jeb_enc_finish(struct jeb_enc *e)
{
	switch (e->cte) {
	case JEB_CTE_QP:
		return qp_finish(e);
	case JEB_CTE_BASE64:
		return b64_finish(e);
	case JEB_CTE_7BIT:
	case JEB_CTE_8BIT:
		break;
	}
	return e->o->err;
}
