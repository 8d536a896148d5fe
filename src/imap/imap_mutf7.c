/* imap_mutf7.c: modified UTF-7 (RFC 3501 5.1.3), the mailbox name encoding of IMAP4rev1,
 * to and from UTF-8. Printable US-ASCII stands for itself, "&" is "&-", everything else
 * is UTF-16BE in base64 with "," for "/" between "&" and "-". A name is accepted only in
 * its one canonical form (decoding, then encoding again, gives the same octets): that
 * refuses encoded printable ASCII, adjacent shifts, "&-" inside a shift, padding, and
 * non-zero bits after the last character, as RFC 3501 asks. Output goes to the arena
 * given; no other state. Limits: none of its own (names are bounded by the line). */
#include "imap/imap_parse.h"

#include <assert.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	if (c == ',')
		return 63;
	if (c == '/')
		return -1; /* the one difference to RFC 4648 */
	return str_b64_value(c);
}

static bool printable(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* UTF-8 of c at d[*k]. */
static void put_utf8(char *d, size_t *k, uint32_t c)
{
	if (c < 0x80) {
		d[(*k)++] = (char)c;
	} else if (c < 0x800) {
		d[(*k)++] = (char)(0xc0 | c >> 6);
		d[(*k)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		d[(*k)++] = (char)(0xe0 | c >> 12);
		d[(*k)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		d[(*k)++] = (char)(0x80 | (c & 0x3f));
	} else {
		d[(*k)++] = (char)(0xf0 | c >> 18);
		d[(*k)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		d[(*k)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		d[(*k)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* The base64 run s[*i] up to "-": UTF-16BE code units to UTF-8 at d[*k]. */
static int decode_run(const char *s, size_t len, size_t *i, char *d, size_t *k)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t start = *i;
	for (; *i < len && s[*i] != '-'; (*i)++) {
		int v = b64_value((unsigned char)s[*i]);
		if (v < 0)
			return ERR_BAD_SYNTAX;
		bits = (bits << 6 | (uint32_t)v) & 0xffffff;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		if (u >= 0xd800 && u < 0xdc00) {
			if (high)
				return ERR_BAD_SYNTAX;
			high = u;
			continue;
		}
		uint32_t c = u;
		if (u >= 0xdc00 && u < 0xe000) {
			if (!high)
				return ERR_BAD_SYNTAX;
			c = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (high) {
			return ERR_BAD_SYNTAX;
		}
		if (c == 0 || printable(c))
			return ERR_BAD_SYNTAX; /* NUL, or ASCII that stands for itself */
		put_utf8(d, k, c);
	}
	/* "&" must end with "-", hold something, and leave no character half done */
	if (*i == len || *i == start || high || nbits >= 6)
		return ERR_BAD_SYNTAX;
	(*i)++;
	return 0;
}

int imap_mutf7_decode(const char *s, size_t len, struct arena *a, char **out)
{
	/* 3 UTF-8 octets per 16 bits, 6 bits per input octet: at most 9/8 of the input */
	if (len > (SIZE_MAX - 1) / 2)
		return ERR_NOMEM;
	char *d = arena_alloc(a, 2 * len + 1);
	if (!d)
		return ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (!printable(c))
			return ERR_BAD_SYNTAX; /* 8-bit and controls must be encoded */
		if (c != '&') {
			d[k++] = (char)c;
			i++;
			continue;
		}
		i++;
		if (i < len && s[i] == '-') {
			d[k++] = '&';
			i++;
			continue;
		}
		int rc = decode_run(s, len, &i, d, &k);
		if (rc < 0)
			return rc;
	}
	d[k] = '\0';
	/* only the canonical form: what our encoder makes of it must be the input */
	char *again;
	int rc = imap_mutf7_encode(d, k, a, &again);
	if (rc < 0)
		return rc;
	if (strlen(again) != len || memcmp(again, s, len) != 0)
		return ERR_BAD_SYNTAX;
	*out = d;
	return 0;
}

/* One UTF-16 code unit into the base64 bit buffer. */
static void put_unit(char *d, size_t *k, uint32_t *bits, unsigned *nbits, uint32_t u)
{
	*bits = (*bits << 16 | u) & 0xffffffu;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		d[(*k)++] = b64[(*bits >> *nbits) & 0x3f];
	}
}

int imap_mutf7_encode(const char *utf8, size_t len, struct arena *a, char **out)
{
	/* worst case: a control octet alone is "&" + 3 + "-"; no input octet makes more
	 * than 5 (within a shift a 1-octet character adds at most 3, "&" is 2) */
	if (len > (SIZE_MAX - 1) / 5)
		return ERR_NOMEM;
	size_t cap = 5 * len;
	char *d = arena_alloc(a, cap + 1);
	if (!d)
		return ERR_NOMEM;
	size_t k = 0, i = 0;
	while (i < len) {
		uint32_t c;
		size_t n = str_utf8_seq(utf8 + i, len - i, &c);
		if (n == 0 || c == 0)
			return ERR_BAD_SYNTAX;
		if (printable(c)) {
			d[k++] = (char)c;
			if (c == '&')
				d[k++] = '-';
			i += n;
			continue;
		}
		/* a run of characters that need base64, in one shift */
		uint32_t bits = 0;
		unsigned nbits = 0;
		d[k++] = '&';
		while (i < len) {
			n = str_utf8_seq(utf8 + i, len - i, &c);
			if (n == 0 || c == 0)
				return ERR_BAD_SYNTAX;
			if (printable(c))
				break;
			if (c >= 0x10000) {
				put_unit(d, &k, &bits, &nbits, 0xd800 + ((c - 0x10000) >> 10));
				put_unit(d, &k, &bits, &nbits, 0xdc00 + ((c - 0x10000) & 0x3ff));
			} else {
				put_unit(d, &k, &bits, &nbits, c);
			}
			i += n;
		}
		if (nbits)
			d[k++] = b64[(bits << (6 - nbits)) & 0x3f];
		d[k++] = '-';
	}
	assert(k <= cap);
	d[k] = '\0';
	*out = d;
	return 0;
}
