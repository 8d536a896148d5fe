/* store_fold.c: the case folding of SEARCH text (store_search_fold), the same for every
 * backend: what is indexed and every needle pass through it, so "case-insensitive"
 * (RFC 9051 6.4.4) means one thing everywhere, whatever the needle's length.
 *
 * Simple one-to-one lower-casing (Unicode's simple case mappings) of the scripts our
 * users write in: Latin (ASCII, Latin-1, Extended-A, Extended Additional, fullwidth),
 * Greek (final sigma folds to sigma), Cyrillic and Armenian. A mapping never makes the
 * UTF-8 longer, so the output fits in the input's room. Accents are kept ("é" is not
 * "e"), as IMAP's substring search asks; other characters and bytes that are not UTF-8
 * pass unchanged. No limits: the caller's buffer bounds the work. */
#include <string.h>

#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

/* Pairs where the upper case is even and the lower case the next code point. */
static bool even_pair(uint32_t c, uint32_t lo, uint32_t hi)
{
	return c >= lo && c <= hi && (c & 1) == 0;
}

static bool odd_pair(uint32_t c, uint32_t lo, uint32_t hi)
{
	return c >= lo && c <= hi && (c & 1) == 1;
}

static uint32_t fold_cp(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 0x20;
	if (c == 0x130) /* capital I with dot: i (shorter, never longer) */
		return 'i';
	if (even_pair(c, 0x100, 0x137) || odd_pair(c, 0x139, 0x148) || even_pair(c, 0x14A, 0x177) ||
	    odd_pair(c, 0x179, 0x17E))
		return c + 1;
	if (c == 0x178)
		return 0xFF;
	/* Greek */
	if (c == 0x386)
		return 0x3AC;
	if (c >= 0x388 && c <= 0x38A)
		return c + 0x25;
	if (c == 0x38C)
		return 0x3CC;
	if (c == 0x38E || c == 0x38F)
		return c + 0x3F;
	if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB))
		return c + 0x20;
	if (c == 0x3C2) /* final sigma */
		return 0x3C3;
	/* Cyrillic */
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	if (even_pair(c, 0x460, 0x481) || even_pair(c, 0x48A, 0x4BF) || odd_pair(c, 0x4C1, 0x4CE) ||
	    even_pair(c, 0x4D0, 0x52F))
		return c + 1;
	if (c == 0x4C0)
		return 0x4CF;
	/* Armenian */
	if (c >= 0x531 && c <= 0x556)
		return c + 0x30;
	/* Latin Extended Additional, signs, fullwidth */
	if (even_pair(c, 0x1E00, 0x1E95) || even_pair(c, 0x1EA0, 0x1EFF))
		return c + 1;
	if (c == 0x1E9E) /* capital sharp s */
		return 0xDF;
	if (c == 0x212A) /* Kelvin sign */
		return 'k';
	if (c == 0x212B) /* Angstrom sign */
		return 0xE5;
	if (c >= 0xFF21 && c <= 0xFF3A)
		return c + 0x20;
	return c;
}

/* c as UTF-8 into out; c < 0x10000 (no mapping above yields more). */
static size_t put_utf8(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | (c >> 12));
	out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[2] = (char)(0x80 | (c & 0x3F));
	return 3;
}

size_t store_search_fold(const char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = str_utf8_seq(in + i, n - i, &cp);
		if (l == 0) { /* not UTF-8: the byte as it is */
			out[o++] = in[i++];
			continue;
		}
		uint32_t f = fold_cp(cp);
		if (f == cp) {
			memmove(out + o, in + i, l); /* out may be in */
			o += l;
		} else {
			o += put_utf8(f, out + o);
		}
		i += l;
	}
	return o;
}
