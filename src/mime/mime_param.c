/* mime_param.c: RFC 2045 structured values: Content-Type, Content-Disposition and their
 * parameters (RFC 2231 continuations and charset'lang' values), Content-Language and
 * single-token values. Input is an unfolded value; output lives in the caller's arena.
 * Bounds: MIME_PARAMS_MAX raw parameters per value (the rest is ignored), strings cut at
 * MIME_VALUE_MAX. Lenient on purpose: junk between parameters is skipped up to the next
 * ';', and unquoted values may carry tspecials other than ';', '(' and '"'. */
#include "mime_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

struct plex {
	const uint8_t *p;
	size_t n, i;
};

static void skip_cfws(struct plex *l)
{
	unsigned depth = 0;
	while (l->i < l->n) {
		uint8_t c = l->p[l->i];
		if (depth) {
			if (c == '\\')
				l->i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			l->i++;
		} else if (c == '(') {
			depth = 1;
			l->i++;
		} else if (mime_wsp(c) || c == '\r' || c == '\n') {
			l->i++;
		} else {
			return;
		}
	}
}

static bool tspecial(uint8_t c)
{
	return c <= 0x20 || c == 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static size_t lex_token(struct plex *l)
{
	size_t s = l->i;
	while (l->i < l->n && !tspecial(l->p[l->i]))
		l->i++;
	return l->i - s;
}

static bool lex_is(struct plex *l, uint8_t c)
{
	return l->i < l->n && l->p[l->i] == c;
}

static char *lower_dup(struct arena *a, const uint8_t *p, size_t n)
{
	if (n > MIME_VALUE_MAX)
		n = MIME_VALUE_MAX;
	char *s = arena_strndup(a, p, n);
	if (s)
		for (size_t i = 0; i < n; i++)
			s[i] = (char)mime_lc((uint8_t)s[i]);
	return s;
}

/* A parameter value: quoted-string (unescaped) or a lenient token. */
static int lex_value(struct plex *l, struct arena *a, struct mime_str *out)
{
	struct mime_sb sb;
	mime_sb_init(&sb, a, MIME_VALUE_MAX);
	if (lex_is(l, '"')) {
		l->i++;
		while (l->i < l->n && l->p[l->i] != '"') {
			if (l->p[l->i] == '\\' && l->i + 1 < l->n)
				l->i++;
			mime_sb_putc(&sb, l->p[l->i++]);
		}
		if (l->i < l->n)
			l->i++;
	} else {
		size_t s = l->i;
		while (l->i < l->n) {
			uint8_t c = l->p[l->i];
			if (c == ';' || c == '(' || c == '"' || mime_wsp(c))
				break;
			l->i++;
		}
		mime_sb_put(&sb, l->p + s, l->i - s);
	}
	return mime_sb_finish(&sb, out);
}

struct raw_param {
	const uint8_t *name; /* base name, without the RFC 2231 suffix */
	size_t name_len;
	int section; /* -1: none */
	bool ext;    /* ends in '*': percent-encoded, maybe charset'lang' */
	bool used;
	struct mime_str value;
};

static void split_name(struct raw_param *r, const uint8_t *p, size_t n)
{
	r->name = p;
	r->name_len = n;
	r->section = -1;
	r->ext = false;
	const uint8_t *star = memchr(p, '*', n);
	if (!star)
		return;
	size_t b = (size_t)(star - p), i = b + 1;
	int sec = -1;
	if (i < n && p[i] >= '0' && p[i] <= '9') {
		/* No leading zeros (RFC 2231 3), and bounded like the raw list itself. */
		if (p[i] == '0' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9')
			return;
		sec = 0;
		while (i < n && p[i] >= '0' && p[i] <= '9') {
			sec = sec * 10 + (p[i] - '0');
			if (sec > (int)MIME_PARAMS_MAX)
				return;
			i++;
		}
		if (i < n && p[i] == '*') {
			r->ext = true;
			i++;
		}
	} else {
		r->ext = true;
	}
	if (i != n || b == 0) {
		r->ext = false;
		return;
	}
	r->name_len = b;
	r->section = sec;
}

static bool same_name(const struct raw_param *a, const struct raw_param *b)
{
	if (a->name_len != b->name_len)
		return false;
	for (size_t i = 0; i < a->name_len; i++)
		if (mime_lc(a->name[i]) != mime_lc(b->name[i]))
			return false;
	return true;
}

static bool attr_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && !tspecial(c) && c != '*' && c != '\'' && c != '%';
}

static void put_pct_decoded(struct mime_sb *sb, const char *s, size_t n)
{
	const uint8_t *u = (const uint8_t *)s;
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (u[i] == '%' && i + 2 < n && (h = str_hex_digit(u[i + 1])) >= 0 &&
		    (l = str_hex_digit(u[i + 2])) >= 0) {
			mime_sb_putc(sb, (uint8_t)(h << 4 | l));
			i += 2;
		} else {
			mime_sb_putc(sb, u[i]);
		}
	}
}

/* Join the RFC 2231 parameter named like raw[first] into *out. */
static int join_2231(struct arena *a, struct raw_param *raw, unsigned n, unsigned first,
                     struct mime_param *out)
{
	struct mime_sb bytes;
	mime_sb_init(&bytes, a, MIME_VALUE_MAX);
	const char *cs = NULL, *lang = NULL;
	size_t cs_len = 0, lang_len = 0;
	for (int sec = -1; sec <= (int)MIME_PARAMS_MAX; sec++) {
		struct raw_param *r = NULL;
		for (unsigned j = first; j < n && !r; j++)
			if (raw[j].section == sec && (sec >= 0 || raw[j].ext) &&
			    same_name(&raw[j], &raw[first]))
				r = &raw[j];
		if (!r) {
			if (sec < 0)
				continue; /* no "name*": look for sections */
			break;
		}
		const char *v = r->value.s;
		size_t vl = r->value.len;
		if (sec <= 0 && r->ext) {
			const char *q1 = memchr(v, '\'', vl);
			const char *q2 =
			    q1 ? memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v)) : NULL;
			if (q2) {
				cs = v;
				cs_len = (size_t)(q1 - v);
				lang = q1 + 1;
				lang_len = (size_t)(q2 - lang);
				vl -= (size_t)(q2 + 1 - v);
				v = q2 + 1;
			}
		}
		if (r->ext)
			put_pct_decoded(&bytes, v, vl);
		else
			mime_sb_put(&bytes, v, vl);
		if (sec < 0)
			break; /* a lone "name*" has no continuations */
	}
	struct mime_sb sb;
	mime_sb_init(&sb, a, MIME_VALUE_MAX);
	const uint8_t *bp = (const uint8_t *)bytes.p;
	if (!cs || cs_len == 0) {
		mime_sb_put_utf8(&sb, bp, bytes.len);
	} else if (mime_sb_put_charset(&sb, cs, cs_len, bp, bytes.len) < 0) {
		/* Unknown charset: keep the value in extended form, re-encoded. */
		static const char hex[] = "0123456789ABCDEF";
		mime_sb_put(&sb, cs, cs_len);
		mime_sb_putc(&sb, '\'');
		mime_sb_put(&sb, lang, lang_len);
		mime_sb_putc(&sb, '\'');
		for (size_t i = 0; i < bytes.len; i++) {
			uint8_t c = bp[i];
			if (attr_char(c)) {
				mime_sb_putc(&sb, c);
			} else {
				char e[3] = {'%', hex[c >> 4], hex[c & 15]};
				mime_sb_put(&sb, e, 3);
			}
		}
		out->extended = true;
	}
	if (bytes.nomem)
		return ERR_NOMEM;
	return mime_sb_finish(&sb, &out->value);
}

/* Parameters after the type: ";" name "=" value, repeated. */
static int parse_params(struct plex *l, struct arena *a, struct mime_param **out)
{
	struct raw_param raw[MIME_PARAMS_MAX];
	unsigned n = 0;
	int r;
	*out = NULL;
	while (l->i < l->n && n < MIME_PARAMS_MAX) {
		skip_cfws(l);
		if (!lex_is(l, ';')) {
			/* Junk: skip to the next ';'. */
			while (l->i < l->n && l->p[l->i] != ';')
				l->i++;
			continue;
		}
		l->i++;
		skip_cfws(l);
		size_t ns = l->i, nl = lex_token(l);
		/* '*' is not a tspecial, so "name*0*" is one token. */
		skip_cfws(l);
		if (nl == 0 || !lex_is(l, '='))
			continue;
		l->i++;
		skip_cfws(l);
		split_name(&raw[n], l->p + ns, nl);
		raw[n].used = false;
		if ((r = lex_value(l, a, &raw[n].value)) < 0)
			return r;
		n++;
	}
	struct mime_param **tail = out;
	for (unsigned i = 0; i < n; i++) {
		if (raw[i].used)
			continue;
		bool is2231 = false;
		for (unsigned j = i; j < n; j++) {
			if (same_name(&raw[j], &raw[i])) {
				is2231 |= raw[j].section >= 0 || raw[j].ext;
				raw[j].used = true;
			}
		}
		struct mime_param *mp = arena_zalloc(a, sizeof(*mp));
		if (!mp || !(mp->name = lower_dup(a, raw[i].name, raw[i].name_len)))
			return ERR_NOMEM;
		if (is2231) {
			if ((r = join_2231(a, raw, n, i, mp)) < 0)
				return r;
		} else {
			mp->value = raw[i].value;
		}
		*tail = mp;
		tail = &mp->next;
	}
	return 0;
}

int mime_ct_parse(struct arena *a, const uint8_t *v, size_t n, char **type_out, char **subtype_out,
                  struct mime_param **params_out)
{
	struct plex l = {v, n, 0};
	skip_cfws(&l);
	size_t ts = l.i, tl = lex_token(&l);
	skip_cfws(&l);
	if (tl == 0 || !lex_is(&l, '/'))
		return 1;
	l.i++;
	skip_cfws(&l);
	size_t ss = l.i, sl = lex_token(&l);
	if (sl == 0)
		return 1;
	char *t = lower_dup(a, v + ts, tl), *s = lower_dup(a, v + ss, sl);
	if (!t || !s)
		return ERR_NOMEM;
	int r = parse_params(&l, a, params_out);
	if (r < 0)
		return r;
	*type_out = t;
	*subtype_out = s;
	return 0;
}

int mime_disp_parse(struct arena *a, const uint8_t *v, size_t n, char **type_out,
                    struct mime_param **params_out)
{
	struct plex l = {v, n, 0};
	skip_cfws(&l);
	size_t ts = l.i, tl = lex_token(&l);
	if (tl == 0)
		return 1;
	char *t = lower_dup(a, v + ts, tl);
	if (!t)
		return ERR_NOMEM;
	int r = parse_params(&l, a, params_out);
	if (r < 0)
		return r;
	*type_out = t;
	return 0;
}

int mime_lang_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_str **langs_out,
                    unsigned *n_out)
{
	struct plex l = {v, n, 0};
	struct mime_str tags[MIME_PARAMS_MAX];
	unsigned k = 0;
	while (l.i < l.n && k < MIME_PARAMS_MAX) {
		skip_cfws(&l);
		size_t s = l.i, tl = lex_token(&l);
		if (tl) {
			/* Tokens hold no NUL, so the copy's length is the token's. */
			size_t cl = tl > MIME_VALUE_MAX ? MIME_VALUE_MAX : tl;
			if (!(tags[k].s = arena_strndup(a, v + s, cl)))
				return ERR_NOMEM;
			tags[k++].len = cl;
		}
		skip_cfws(&l);
		/* Anything but a token ends this tag: skip to the next comma. */
		while (l.i < l.n && l.p[l.i] != ',')
			l.i++;
		if (l.i < l.n)
			l.i++;
	}
	*langs_out = NULL;
	*n_out = k;
	if (k == 0)
		return 0;
	*langs_out = arena_alloc(a, k * sizeof(**langs_out));
	if (!*langs_out)
		return ERR_NOMEM;
	memcpy(*langs_out, tags, k * sizeof(**langs_out));
	return 0;
}

int mime_token_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_str *out)
{
	struct plex l = {v, n, 0};
	skip_cfws(&l);
	size_t s = l.i, tl = lex_token(&l);
	out->s = NULL;
	out->len = 0;
	if (tl == 0)
		return 0;
	if (!(out->s = lower_dup(a, v + s, tl)))
		return ERR_NOMEM;
	out->len = tl > MIME_VALUE_MAX ? MIME_VALUE_MAX : tl;
	return 0;
}
