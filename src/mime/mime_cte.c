/* mime_cte.c: the Content-Transfer-Encoding decoder (RFC 2045 6.7 quoted-printable,
 * 6.8 base64, identity for 7bit/8bit/binary). Resumable over input and output cut
 * anywhere; the whole state is struct mime_cte_dec, of fixed size. The decisions on bad
 * input are written in mime.h. Bound: LIMIT_QP_PENDING_WS whitespace held back.
 *
 * Output goes to the caller's buffer first; what one input byte produces beyond it waits
 * in d->pend, and no input byte is read while pend holds anything, so pend never needs
 * more than the most one byte can produce (held-back whitespace plus four). */
#include "mime_int.h"

#include <assert.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

enum b64_state { B64_DATA, B64_END };

enum qp_state {
	QP_TEXT,   /* d->ws holds SP/HTAB that may trail the line */
	QP_CR,     /* a CR after text (and d->ws): a line end if LF follows */
	QP_EQ,     /* "=" */
	QP_EQ_HEX, /* "=" and one hex digit (d->hex) */
	QP_EQ_WS,  /* "=" and SP/HTAB (in d->ws): a soft line break if a line end follows */
	QP_EQ_CR,  /* "=" [SP/HTAB] CR */
};

struct out {
	uint8_t *p;
	size_t cap, n;
};

static void put(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	if (o->n < o->cap) {
		o->p[o->n++] = c;
		return;
	}
	assert(d->pend_len < sizeof(d->pend));
	d->pend[d->pend_len++] = c;
}

static void drain(struct mime_cte_dec *d, struct out *o)
{
	size_t k = d->pend_len - d->pend_off;
	if (k > o->cap - o->n)
		k = o->cap - o->n;
	memcpy(o->p + o->n, d->pend + d->pend_off, k);
	o->n += k;
	d->pend_off += (unsigned)k;
	if (d->pend_off == d->pend_len)
		d->pend_off = d->pend_len = 0;
}

int mime_cte_init(struct mime_cte_dec *d, const char *encoding, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->kind = MIME_CTE_IDENTITY;
	if (!encoding || str_ieq(encoding, len, "7bit") || str_ieq(encoding, len, "8bit") ||
	    str_ieq(encoding, len, "binary"))
		return 0;
	if (str_ieq(encoding, len, "base64")) {
		d->kind = MIME_CTE_BASE64;
		return 0;
	}
	if (str_ieq(encoding, len, "quoted-printable")) {
		d->kind = MIME_CTE_QP;
		return 0;
	}
	return ERR_NOTFOUND;
}

/* ---- base64 ---- */

/* The value of each base64 character plus one; 0 for bytes outside the alphabet. */
static const uint8_t b64_table[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* The bytes of a partial group: 2 characters hold one, 3 hold two, 1 holds none. */
static void b64_flush(struct mime_cte_dec *d, struct out *o)
{
	if (d->nacc == 2)
		put(d, o, (uint8_t)(d->acc >> 4));
	else if (d->nacc == 3) {
		put(d, o, (uint8_t)(d->acc >> 10));
		put(d, o, (uint8_t)(d->acc >> 2));
	}
	d->acc = 0;
	d->nacc = 0;
}

static void b64_byte(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	if (d->state == B64_END)
		return;
	int v = b64_table[c] - 1;
	if (v < 0) {
		if (c == '=') {
			b64_flush(d, o);
			d->state = B64_END;
		}
		return; /* outside the alphabet: ignored (RFC 2045 6.8) */
	}
	d->acc = (d->acc << 6) | (uint32_t)v;
	if (++d->nacc < 4)
		return;
	put(d, o, (uint8_t)(d->acc >> 16));
	put(d, o, (uint8_t)(d->acc >> 8));
	put(d, o, (uint8_t)d->acc);
	d->acc = 0;
	d->nacc = 0;
}

/* Whole groups of four alphabet characters straight to the output, while a group
 * starts the state and has room: the common case, a line of a well-formed body. */
static size_t b64_run(struct mime_cte_dec *d, const uint8_t *in, size_t len, struct out *o)
{
	size_t i = 0;
	if (d->nacc || d->state == B64_END)
		return 0;
	while (len - i >= 4 && o->cap - o->n >= 3) {
		uint32_t a = b64_table[in[i]], b = b64_table[in[i + 1]], c = b64_table[in[i + 2]],
		         e = b64_table[in[i + 3]];
		if (!a || !b || !c || !e)
			break;
		uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (e - 1);
		o->p[o->n++] = (uint8_t)(v >> 16);
		o->p[o->n++] = (uint8_t)(v >> 8);
		o->p[o->n++] = (uint8_t)v;
		i += 4;
	}
	return i;
}

/* ---- quoted-printable ---- */

static void ws_flush(struct mime_cte_dec *d, struct out *o)
{
	for (unsigned i = 0; i < d->ws_len; i++)
		put(d, o, d->ws[i]);
	d->ws_len = 0;
}

static bool qp_text(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	if (c == ' ' || c == '\t') {
		if (d->ws_len == sizeof(d->ws))
			ws_flush(d, o); /* too long to be trailing whitespace of a real line */
		d->ws[d->ws_len++] = c;
	} else if (c == '\r') {
		d->state = QP_CR;
	} else if (c == '\n') {
		d->ws_len = 0;
		put(d, o, '\n');
	} else {
		ws_flush(d, o);
		if (c == '=')
			d->state = QP_EQ;
		else
			put(d, o, c);
	}
	return true;
}

/* The states after "=" and after a CR. Each returns false when the byte was not used
 * and must be fed again in the (changed) state, as after a broken escape. */
static bool qp_cr(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	d->state = QP_TEXT;
	if (c == '\n') {
		d->ws_len = 0; /* trailing whitespace of the line */
		put(d, o, '\r');
		put(d, o, '\n');
		return true;
	}
	ws_flush(d, o); /* a bare CR is an ordinary byte */
	put(d, o, '\r');
	return false;
}

static bool qp_eq(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	if (str_hex_digit(c) >= 0) {
		d->hex = c;
		d->state = QP_EQ_HEX;
	} else if (c == ' ' || c == '\t') {
		d->ws[d->ws_len++] = c; /* empty here: "=" flushed it */
		d->state = QP_EQ_WS;
	} else if (c == '\r') {
		d->state = QP_EQ_CR;
	} else if (c == '\n') {
		d->state = QP_TEXT; /* soft line break */
	} else {
		put(d, o, '=');
		d->state = QP_TEXT;
		return false;
	}
	return true;
}

static bool qp_eq_hex(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	d->state = QP_TEXT;
	if (str_hex_digit(c) >= 0) {
		put(d, o, (uint8_t)(str_hex_digit(d->hex) << 4 | str_hex_digit(c)));
		return true;
	}
	put(d, o, '=');
	put(d, o, d->hex);
	return false;
}

static bool qp_eq_ws(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	if (c == ' ' || c == '\t') {
		if (d->ws_len < sizeof(d->ws))
			d->ws[d->ws_len++] = c;
		return true;
	}
	if (c == '\r') {
		d->state = QP_EQ_CR;
		return true;
	}
	d->state = QP_TEXT;
	if (c == '\n') {
		d->ws_len = 0; /* soft line break with trailing whitespace */
		return true;
	}
	put(d, o, '=');
	ws_flush(d, o);
	return false;
}

static bool qp_eq_cr(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	d->state = QP_TEXT;
	if (c == '\n') {
		d->ws_len = 0;
		return true;
	}
	put(d, o, '=');
	ws_flush(d, o);
	put(d, o, '\r');
	return false;
}

static bool qp_byte(struct mime_cte_dec *d, struct out *o, uint8_t c)
{
	switch ((enum qp_state)d->state) {
	case QP_TEXT:
		return qp_text(d, o, c);
	case QP_CR:
		return qp_cr(d, o, c);
	case QP_EQ:
		return qp_eq(d, o, c);
	case QP_EQ_HEX:
		return qp_eq_hex(d, o, c);
	case QP_EQ_WS:
		return qp_eq_ws(d, o, c);
	case QP_EQ_CR:
		return qp_eq_cr(d, o, c);
	}
	return true;
}

/* The end of the input: it is also the end of the last line. */
static void qp_finish(struct mime_cte_dec *d, struct out *o)
{
	switch ((enum qp_state)d->state) {
	case QP_TEXT:
	case QP_EQ: /* "=" at the end: a soft line break before the boundary's CRLF */
	case QP_EQ_WS:
		break;
	case QP_CR:
		ws_flush(d, o);
		put(d, o, '\r');
		break;
	case QP_EQ_HEX:
		put(d, o, '=');
		put(d, o, d->hex);
		break;
	case QP_EQ_CR:
		put(d, o, '=');
		ws_flush(d, o);
		put(d, o, '\r');
		break;
	}
	d->ws_len = 0;
	d->state = QP_TEXT;
}

/* Text, single blanks before content and complete "=XX" escapes straight to the
 * output, up to the next byte the state machine must look at (a run of blanks, a blank
 * at the end of the input, a line end, any other "="). The input is
 * consumed only as far as the output has room. Returns the input bytes used. */
static size_t qp_run(const uint8_t *in, size_t len, struct out *o)
{
	size_t i = 0;
	while (i < len && o->n < o->cap) {
		uint8_t c = in[i];
		if (c == '\r' || c == '\n')
			break;
		if (c == ' ' || c == '\t') {
			/* a blank before content cannot be trailing: only runs wait */
			uint8_t next = i + 1 < len ? in[i + 1] : '\n';
			if (next == ' ' || next == '\t' || next == '\r' || next == '\n')
				break;
		}
		if (c == '=') {
			int h, l;
			if (len - i < 3 || (h = str_hex_digit(in[i + 1])) < 0 ||
			    (l = str_hex_digit(in[i + 2])) < 0)
				break;
			o->p[o->n++] = (uint8_t)(h << 4 | l);
			i += 3;
			continue;
		}
		o->p[o->n++] = c;
		i++;
	}
	return i;
}

/* ---- the loop ---- */

/* Consume input while the output has room; returns the input bytes used. */
static size_t step(struct mime_cte_dec *d, const uint8_t *in, size_t len, struct out *o)
{
	size_t i = 0;
	if (d->kind == MIME_CTE_IDENTITY) {
		size_t k = o->cap - o->n < len ? o->cap - o->n : len;
		memcpy(o->p + o->n, in, k);
		o->n += k;
		return k;
	}
	while (i < len && o->n < o->cap && d->pend_len == 0) {
		if (d->kind == MIME_CTE_BASE64) {
			i += b64_run(d, in + i, len - i, o);
			if (i < len && o->n < o->cap)
				b64_byte(d, o, in[i++]);
			continue;
		}
		if (d->state == QP_TEXT && d->ws_len == 0) {
			size_t k = qp_run(in + i, len - i, o);
			i += k;
			if (k || i == len || o->n == o->cap)
				continue;
		}
		if (qp_byte(d, o, in[i]))
			i++;
	}
	return i;
}

int mime_cte_decode(struct mime_cte_dec *d, const uint8_t *in, size_t len, bool eof,
                    size_t *used_out, uint8_t *out, size_t cap, size_t *written_out)
{
	struct out o = {out, cap, 0};
	size_t used = 0;
	assert(cap > 0);
	if (d->finished && d->pend_len == 0) {
		*used_out = len; /* nothing follows the end: ignored */
		*written_out = 0;
		return 0;
	}
	drain(d, &o);
	if (d->pend_len == 0)
		used = step(d, in, len, &o);
	if (used == len && eof && !d->finished && d->pend_len == 0) {
		if (d->kind == MIME_CTE_BASE64)
			b64_flush(d, &o);
		else if (d->kind == MIME_CTE_QP)
			qp_finish(d, &o);
		d->finished = true;
	}
	d->total += o.n;
	if (!d->nul && o.n && memchr(out, 0, o.n))
		d->nul = true;
	*used_out = used;
	*written_out = o.n;
	return d->pend_len > 0 || used < len ? 1 : 0;
}

void mime_cte_count(struct mime_cte_dec *d, const uint8_t *in, size_t len, bool eof)
{
	uint8_t scratch[4096];
	size_t used, written;
	int more;
	do {
		more = mime_cte_decode(d, in, len, eof, &used, scratch, sizeof(scratch), &written);
		in += used;
		len -= used;
	} while (more);
}

int mime_cte_decoded_size(const char *encoding, size_t enc_len, const uint8_t *p, size_t len,
                          uint64_t *size_out, bool *nul_out)
{
	struct mime_cte_dec d;
	int r = mime_cte_init(&d, encoding, enc_len);
	if (r < 0)
		return r;
	mime_cte_count(&d, p, len, true);
	*size_out = d.total;
	if (nul_out)
		*nul_out = d.nul;
	return 0;
}
