/* spf_macro.c: SPF macro strings (RFC 7208 7): the syntax check and the expansion of a
 * domain-spec. Pure: no I/O, no allocation. Decisions:
 *   - letters c, r and t belong to explanations only (7.2): in a domain-spec they are
 *     a syntax error (permerror);
 *   - a digit transformer of 0 is an error (7.3: "MUST be nonzero"); larger than the
 *     number of parts means all of them; digits past 3 are an error (no record needs
 *     more than 128 parts: an IPv6 has 32);
 *   - an upper-case letter URL-escapes its value (7.3, RFC 3986 unreserved kept);
 *   - a letter's value longer than LIMIT_SPF_MACRO_VALUE, or a whole expansion longer
 *     than LIMIT_SPF_MACRO_WORK, is an error rather than cut (it cannot be a name);
 *   - a result longer than LIMIT_SPF_MACRO_OUT loses labels on the left (7.3). */
#include "outbound/spf.h"

#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/banned.h"

static const char spf_hex[] = "0123456789abcdef";

static char spf_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool spf_delim(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

/* One "%{...}" at p[i] (p[i] == '%', p[i+1] == '{'): its parts; returns the index after
 * the '}', or 0 on a syntax error. */
struct spf_macro_item {
	char letter;     /* as written */
	unsigned digits; /* 0: none given */
	bool reverse;
	const char *delims;
	size_t n_delims;
};

static size_t spf_macro_item(const char *p, size_t len, size_t i, bool explain,
                             struct spf_macro_item *it)
{
	i += 2;
	if (i >= len)
		return 0;
	it->letter = p[i];
	const char *letters = explain ? "slodiphvcrt" : "slodiphv";
	char lc = spf_lower(p[i]);
	if (lc == '\0' || !strchr(letters, lc))
		return 0;
	i++;
	it->digits = 0;
	size_t nd = 0;
	while (i < len && p[i] >= '0' && p[i] <= '9') {
		if (++nd > 3)
			return 0;
		it->digits = it->digits * 10 + (unsigned)(p[i] - '0');
		i++;
	}
	if (nd > 0 && it->digits == 0)
		return 0;
	it->reverse = i < len && (p[i] == 'r' || p[i] == 'R');
	if (it->reverse)
		i++;
	it->delims = p + i;
	while (i < len && spf_delim(p[i]))
		i++;
	it->n_delims = (size_t)(p + i - it->delims);
	if (i >= len || p[i] != '}')
		return 0;
	return i + 1;
}

int spf_macro_check(const char *p, size_t len, bool explain)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)p[i];
		if (c == '%') {
			if (i + 1 >= len)
				return ERR_BAD_SYNTAX;
			char n = p[i + 1];
			if (n == '%' || n == '_' || n == '-') {
				i += 2;
				continue;
			}
			struct spf_macro_item it;
			size_t next = n == '{' ? spf_macro_item(p, len, i, explain, &it) : 0;
			if (next == 0)
				return ERR_BAD_SYNTAX;
			i = next;
			continue;
		}
		/* macro-literal %x21-24 / %x26-7E; explanations also hold spaces */
		if (c < 0x21 || c > 0x7e) {
			if (!(explain && c == ' '))
				return ERR_BAD_SYNTAX;
		}
		i++;
	}
	return 0;
}

bool spf_macro_uses_p(const char *p, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (p[i] == '%' && p[i + 1] == '%') {
			i++;
			continue;
		}
		if (p[i] == '%' && p[i + 1] == '{' && spf_lower(p[i + 2]) == 'p')
			return true;
	}
	return false;
}

/* A bounded writer. */
struct spf_out {
	char *p;
	size_t len, cap;
	bool over;
};

static void spf_put(struct spf_out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* The raw value of a letter into v (LIMIT_SPF_MACRO_VALUE + 1). 0 or ERR_BAD_SYNTAX. */
static int spf_letter_value(const struct spf_macro_ctx *m, char letter, char *v)
{
	struct spf_out o = {v, 0, LIMIT_SPF_MACRO_VALUE, false};
	const char *s = NULL;
	switch (spf_lower(letter)) {
	case 's':
		spf_put(&o, m->sender_local, strlen(m->sender_local));
		spf_put(&o, "@", 1);
		s = m->sender_domain;
		break;
	case 'l':
		s = m->sender_local;
		break;
	case 'o':
		s = m->sender_domain;
		break;
	case 'd':
		s = m->domain;
		break;
	case 'h':
		s = m->helo;
		break;
	case 'p':
		s = m->ptr_name ? m->ptr_name : "unknown";
		break;
	case 'v':
		s = m->family == AF_INET ? "in-addr" : "ip6";
		break;
	case 'i':
		if (m->family == AF_INET) {
			for (int k = 0; k < 4; k++) {
				char d[4];
				size_t dn = 0;
				unsigned b = m->ip[k];
				if (b >= 100)
					d[dn++] = (char)('0' + b / 100);
				if (b >= 10)
					d[dn++] = (char)('0' + b / 10 % 10);
				d[dn++] = (char)('0' + b % 10);
				if (k)
					spf_put(&o, ".", 1);
				spf_put(&o, d, dn);
			}
		} else {
			/* 7.3: 32 nibbles separated by dots */
			for (int k = 0; k < 32; k++) {
				uint8_t b = m->ip[k / 2];
				char nib = spf_hex[k % 2 ? b & 15 : b >> 4];
				if (k)
					spf_put(&o, ".", 1);
				spf_put(&o, &nib, 1);
			}
		}
		break;
	default: /* c, r, t: explanations only, which we never expand */
		return ERR_BAD_SYNTAX;
	}
	if (s)
		spf_put(&o, s, strlen(s));
	if (o.over)
		return ERR_BAD_SYNTAX;
	v[o.len] = '\0';
	return 0;
}

static bool spf_unreserved(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* The transformed value of one macro appended to o (7.3). */
static int spf_macro_put(const struct spf_macro_ctx *m, const struct spf_macro_item *it,
                         struct spf_out *o)
{
	char v[LIMIT_SPF_MACRO_VALUE + 1];
	int r = spf_letter_value(m, it->letter, v);
	if (r < 0)
		return r;
	/* split at the delimiters into parts (start offsets and lengths) */
	size_t starts[LIMIT_SPF_MACRO_VALUE / 2 + 1], lens[LIMIT_SPF_MACRO_VALUE / 2 + 1];
	size_t np = 0, vl = strlen(v), at = 0;
	const char *dl = it->n_delims ? it->delims : ".";
	size_t ndl = it->n_delims ? it->n_delims : 1;
	for (size_t k = 0; k <= vl; k++) {
		if (k == vl || memchr(dl, v[k], ndl)) {
			starts[np] = at;
			lens[np++] = k - at;
			at = k + 1;
		}
	}
	size_t take = it->digits && it->digits < np ? it->digits : np;
	bool upper = it->letter >= 'A' && it->letter <= 'Z';
	for (size_t j = 0; j < take; j++) {
		/* the rightmost `take` parts, after the optional reversal */
		size_t idx = np - take + j;
		size_t src = it->reverse ? np - 1 - idx : idx;
		if (j)
			spf_put(o, ".", 1);
		for (size_t q = 0; q < lens[src]; q++) {
			char c = v[starts[src] + q];
			if (upper && !spf_unreserved(c)) {
				static const char hex_upper[] = "0123456789ABCDEF";
				char e[3] = {'%', hex_upper[(unsigned char)c >> 4],
				             hex_upper[(unsigned char)c & 15]};
				spf_put(o, e, 3);
			} else {
				spf_put(o, &c, 1);
			}
		}
	}
	return 0;
}

int spf_macro_expand(const struct spf_macro_ctx *m, const char *p, size_t len, char *out)
{
	char work[LIMIT_SPF_MACRO_WORK];
	struct spf_out o = {work, 0, sizeof(work), false};
	size_t i = 0;
	while (i < len) {
		if (p[i] != '%') {
			unsigned char c = (unsigned char)p[i];
			if (c < 0x21 || c > 0x7e)
				return ERR_BAD_SYNTAX; /* not a macro-literal (7.1) */
			spf_put(&o, p + i, 1);
			i++;
			continue;
		}
		if (i + 1 >= len)
			return ERR_BAD_SYNTAX;
		char n = p[i + 1];
		if (n == '%' || n == '_' || n == '-') {
			spf_put(&o, n == '%' ? "%" : n == '_' ? " " : "%20", n == '-' ? 3 : 1);
			i += 2;
			continue;
		}
		struct spf_macro_item it;
		size_t next = n == '{' ? spf_macro_item(p, len, i, false, &it) : 0;
		if (next == 0 || spf_macro_put(m, &it, &o) < 0)
			return ERR_BAD_SYNTAX;
		i = next;
	}
	if (o.over)
		return ERR_BAD_SYNTAX;
	/* 7.3: drop labels on the left until the name fits; a trailing dot does not count */
	size_t start = 0, end = o.len;
	if (end > 0 && work[end - 1] == '.')
		end--;
	while (end - start > LIMIT_SPF_MACRO_OUT) {
		const char *dot = memchr(work + start, '.', end - start);
		if (!dot)
			return ERR_BAD_SYNTAX;
		start = (size_t)(dot - work) + 1;
	}
	if (end == start)
		return ERR_BAD_SYNTAX;
	memcpy(out, work + start, end - start);
	out[end - start] = '\0';
	return 0;
}
