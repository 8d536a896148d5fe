/* dkim_tag.c: the DKIM tag-list parser (RFC 6376 3.2) and the whitespace-tolerant
 * base64 decoder for b=, bh= and p= (2.4). Works in place over one bounded value: the
 * tags point into the caller's bytes; nothing is allocated. Bound: LIMIT_DKIM_TAGS. */
#include "outbound/dkim_int.h"

#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static bool tag_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Skip FWS at p[*i]: WSP, and a line end only where WSP follows (a fold). A line end
 * that is not a fold cannot stand inside a field: false. */
static bool tag_skip_fws(const uint8_t *p, size_t len, size_t *i)
{
	while (*i < len) {
		size_t j = *i;
		if (tag_wsp(p[j])) {
			*i = j + 1;
			continue;
		}
		if (p[j] == '\r' && j + 1 < len && p[j + 1] == '\n')
			j++;
		if (p[j] != '\n' && p[j] != '\r')
			return true;
		if (j + 1 >= len || !tag_wsp(p[j + 1]))
			return false;
		*i = j + 2;
	}
	return true;
}

static bool tag_name_char(uint8_t c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '_');
}

/* VALCHAR (%x21-3A / %x3C-7E) and 8-bit bytes; not ';', not whitespace or controls. */
static bool tag_val_char(uint8_t c)
{
	return c > 0x20 && c != ';' && c != 0x7f;
}

/* One tag-spec at p[*i]: FWS name FWS '=' FWS value FWS, up to ';' or the end. */
static int tag_spec(const uint8_t *p, size_t len, size_t *i, struct dkim_tag *t)
{
	if (!tag_skip_fws(p, len, i) || *i >= len || !tag_name_char(p[*i], true))
		return ERR_BAD_SYNTAX;
	t->name = p + *i;
	while (*i < len && tag_name_char(p[*i], false))
		(*i)++;
	t->name_len = (size_t)(p + *i - t->name);
	if (!tag_skip_fws(p, len, i) || *i >= len || p[*i] != '=')
		return ERR_BAD_SYNTAX;
	(*i)++;
	if (!tag_skip_fws(p, len, i))
		return ERR_BAD_SYNTAX;
	t->value = p + *i;
	t->value_len = 0;
	while (*i < len && p[*i] != ';') {
		if (!tag_val_char(p[*i])) {
			/* whitespace: inside the value if a VALCHAR follows it, else trailing */
			if (!tag_skip_fws(p, len, i))
				return ERR_BAD_SYNTAX;
			if (*i < len && p[*i] != ';' && !tag_val_char(p[*i]))
				return ERR_BAD_SYNTAX; /* a control byte */
			continue;
		}
		(*i)++;
		t->value_len = (size_t)(p + *i - t->value);
	}
	return 0;
}

int dkim_tags_parse(const uint8_t *p, size_t len, struct dkim_tags *out)
{
	out->n = 0;
	size_t i = 0;
	for (;;) {
		if (out->n == LIMIT_DKIM_TAGS)
			return ERR_TOO_BIG;
		struct dkim_tag *t = &out->tag[out->n];
		int rc = tag_spec(p, len, &i, t);
		if (rc < 0)
			return rc;
		for (size_t k = 0; k < out->n; k++)
			if (out->tag[k].name_len == t->name_len &&
			    !memcmp(out->tag[k].name, t->name, t->name_len))
				return ERR_BAD_SYNTAX; /* duplicate tag */
		out->n++;
		if (i >= len)
			return 0;
		i++; /* ';' */
		/* an optional final ';', possibly followed by FWS */
		size_t j = i;
		if (!tag_skip_fws(p, len, &j))
			return ERR_BAD_SYNTAX;
		if (j >= len)
			return 0;
	}
}

const struct dkim_tag *dkim_tags_find(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == n && !memcmp(t->tag[i].name, name, n))
			return &t->tag[i];
	return NULL;
}

bool dkim_tag_value_is(const struct dkim_tag *t, const char *s)
{
	size_t n = strlen(s);
	return t->value_len == n && !memcmp(t->value, s, n);
}

int dkim_base64_decode(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t bits = 0, n = 0, pad = 0, chars = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			chars++;
			continue;
		}
		int v = str_b64_value(c);
		if (v < 0 || pad > 0)
			return ERR_BAD_SYNTAX; /* not base64, or data after padding */
		chars++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return ERR_TOO_BIG;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* whole quads only, at most two '=', and the padding bits zero (RFC 4648 3.5) */
	if (chars % 4 != 0 || pad > 2 || acc != 0)
		return ERR_BAD_SYNTAX;
	if ((pad == 1 && bits != 2) || (pad == 2 && bits != 4) || (pad == 0 && bits != 0))
		return ERR_BAD_SYNTAX;
	return n > (size_t)INT32_MAX ? ERR_TOO_BIG : (int)n;
}
