/* str.c: see str.h. */
#include "str.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"
#include "banned.h"

static inline unsigned char lc(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool str_ieq(const void *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return l == n && str_iprefix(p, n, lit);
}

bool str_iprefix(const void *p, size_t n, const char *lit)
{
	const unsigned char *s = p;
	size_t l = strlen(lit);
	if (n < l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (lc(s[i]) != lc((unsigned char)lit[i]))
			return false;
	return true;
}

int str_to_u64(const void *p, size_t n, uint64_t max, uint64_t *out)
{
	const unsigned char *s = p;
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return ERR_BAD_SYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_BAD_SYNTAX;
		unsigned d = s[i] - '0';
		if (v > (max - d) / 10)
			return ERR_TOO_BIG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int str_parse_size(const char *s, uint64_t *out)
{
	size_t n = strlen(s), digits = n;
	uint64_t mult = 1;
	if (n == 0)
		return ERR_BAD_SYNTAX;
	switch (lc((unsigned char)s[n - 1])) {
	case 'k': mult = 1ull << 10; digits--; break;
	case 'm': mult = 1ull << 20; digits--; break;
	case 'g': mult = 1ull << 30; digits--; break;
	case 't': mult = 1ull << 40; digits--; break;
	case 'b': digits--; break;
	default: break;
	}
	uint64_t v;
	int r = str_to_u64(s, digits, UINT64_MAX / mult, &v);
	if (r < 0)
		return r;
	*out = v * mult;
	return 0;
}

void str_fmt_size(char out[32], uint64_t b)
{
	static const char units[] = "KMGT";
	if (b < 1024) {
		(void)snprintf(out, 32, "%llu", (unsigned long long)b);
		return;
	}
	double v = (double)b;
	int u = -1;
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	(void)snprintf(out, 32, "%.1f%c", v, units[u]);
}

void str_rfc5322_date(char out[64], time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	if (strftime(out, 64, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		out[0] = '\0';
}

int str_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)lc((unsigned char)*s);
}

int str_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20; /* ASCII letters to lower case; no other byte becomes a-f */
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int str_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	if (nbytes > sizeof(raw))
		return ERR_INVAL;
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		return ERR_IO;
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

uint32_t str_hash(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 16777619u;
	return h;
}

size_t str_utf8_seq(const void *p, size_t n, uint32_t *cp_out)
{
	const uint8_t *s = p;
	if (n == 0)
		return 0;
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;
	if (c < 0x80)
		len = 1;
	else if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c == 0xE0)
		len = 3, lo = 0xA0; /* no overlong 3-byte forms */
	else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
		len = 3;
	else if (c == 0xED)
		len = 3, hi = 0x9F; /* no surrogates */
	else if (c == 0xF0)
		len = 4, lo = 0x90; /* no overlong 4-byte forms */
	else if (c >= 0xF1 && c <= 0xF3)
		len = 4;
	else if (c == 0xF4)
		len = 4, hi = 0x8F; /* nothing past U+10FFFF */
	else
		return 0;
	if (n < len || (len > 1 && (s[1] < lo || s[1] > hi)))
		return 0;
	uint32_t v = len == 1 ? c : c & (0x7Fu >> len);
	for (size_t k = 1; k < len; k++) {
		if (k > 1 && (s[k] < 0x80 || s[k] > 0xBF))
			return 0;
		v = v << 6 | (s[k] & 0x3Fu);
	}
	if (cp_out)
		*cp_out = v;
	return len;
}
