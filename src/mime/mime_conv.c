/* mime_conv.c: charset -> UTF-8 conversion over input that arrives in pieces, for the
 * text of a message body (mime_extract). UTF-8 and US-ASCII labels are validated, every
 * other known charset goes through iconv(3), an unknown one is read as UTF-8. A
 * character cut between two pieces is carried to the next (LIMIT_CHARSET_CARRY bytes
 * at most), so the output does not depend on where the input was cut. Owns the iconv
 * descriptor between mime_conv_open and mime_conv_close; output goes to the consumer in
 * pieces of at most 4 KiB from a buffer on the stack. */
#include "mime_int.h"

#include <assert.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "core/str.h"
#include "core/banned.h"

static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd};
static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};

void mime_conv_open(struct mime_conv *c, const char *charset, size_t len, mime_emit_fn emit,
                    void *arg)
{
	memset(c, 0, sizeof(*c));
	c->emit = emit;
	c->arg = arg;
	char name[LIMIT_CHARSET_NAME];
	if (!charset || !mime_charset_name(charset, len, name) || mime_charset_is_utf8(name))
		return;
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd != (iconv_t)-1)
		c->cd = cd;
}

static void out(struct mime_conv *c, const uint8_t *p, size_t n)
{
	if (n == 0 || c->stopped)
		return;
	if (!c->started) {
		c->started = true;
		if (n >= sizeof(bom) && memcmp(p, bom, sizeof(bom)) == 0) {
			p += sizeof(bom);
			n -= sizeof(bom);
			if (n == 0)
				return;
		}
	}
	if (!c->emit(c->arg, p, n))
		c->stopped = true;
}

/* The UTF-8 sequence length a lead byte announces, 0 for a byte that cannot lead. */
static size_t utf8_need(uint8_t b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* Whether [p, p+n) may be the start of a sequence that more bytes would complete. */
static bool utf8_incomplete(const uint8_t *p, size_t n)
{
	size_t need = utf8_need(p[0]);
	if (need <= n)
		return false;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return false;
	return true;
}

/* Validate and pass on; returns the bytes used (all, unless the end is an incomplete
 * sequence and more input may come). */
static size_t utf8_step(struct mime_conv *c, const uint8_t *p, size_t n, bool last)
{
	size_t i = 0, run = 0;
	while (i < n && !c->stopped) {
		uint64_t w;
		if (n - i >= sizeof(w)) { /* eight ASCII bytes at once: most text */
			memcpy(&w, p + i, sizeof(w));
			if (!(w & 0x8080808080808080u)) {
				i += sizeof(w);
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t l = str_utf8_seq(p + i, n - i, NULL);
		if (l) {
			i += l;
			continue;
		}
		if (!last && utf8_incomplete(p + i, n - i))
			break;
		out(c, p + run, i - run);
		out(c, replacement, sizeof(replacement));
		run = ++i;
	}
	out(c, p + run, i - run);
	return i;
}

/* Convert through iconv; returns the bytes used, like utf8_step. */
static size_t iconv_step(struct mime_conv *c, const uint8_t *p, size_t n, bool last)
{
	char *in = (char *)(uintptr_t)p;
	size_t left = n;
	while (left && !c->stopped) {
		char buf[4096], *o = buf;
		size_t oleft = sizeof(buf);
		size_t r = iconv((iconv_t)c->cd, &in, &left, &o, &oleft);
		int e = errno;
		out(c, (const uint8_t *)buf, sizeof(buf) - oleft);
		if (r != (size_t)-1 || e == E2BIG)
			continue;
		/* EINVAL: the input ends inside a character. Carry it unless it cannot be
		 * one (the input ends, or it is longer than any character). */
		if (e == EINVAL && !last && left < sizeof(c->carry))
			break;
		out(c, replacement, sizeof(replacement)); /* EILSEQ: skip one byte */
		in++;
		left--;
	}
	return n - left;
}

static size_t conv_step(struct mime_conv *c, const uint8_t *p, size_t n, bool last)
{
	return c->cd ? iconv_step(c, p, n, last) : utf8_step(c, p, n, last);
}

/* Finish the carried character with the head of p; returns the bytes of p used. */
static size_t carry_step(struct mime_conv *c, const uint8_t *p, size_t n)
{
	uint8_t tmp[2 * LIMIT_CHARSET_CARRY];
	size_t had = c->carry_len, take = sizeof(tmp) - had;
	if (take > n)
		take = n;
	memcpy(tmp, c->carry, had);
	memcpy(tmp + had, p, take);
	size_t used = conv_step(c, tmp, had + take, false);
	if (used >= had) {
		c->carry_len = 0;
		return used - had;
	}
	/* Still cut (p was short): carry all of tmp that is left. The steps stop only
	 * before a tail shorter than the carry (a UTF-8 prefix, or what iconv calls
	 * incomplete only while it is shorter than the carry). */
	size_t rest = had + take - used;
	assert(rest <= sizeof(c->carry));
	memmove(c->carry, tmp + used, rest);
	c->carry_len = rest;
	return take;
}

bool mime_conv_put(struct mime_conv *c, const uint8_t *p, size_t n)
{
	if (c->stopped || n == 0)
		return !c->stopped;
	if (c->carry_len) {
		size_t k = carry_step(c, p, n);
		p += k;
		n -= k;
		if (c->carry_len || c->stopped)
			return !c->stopped;
	}
	size_t used = conv_step(c, p, n, false);
	if (!c->stopped && used < n) {
		memcpy(c->carry, p + used, n - used);
		c->carry_len = n - used;
	}
	return !c->stopped;
}

void mime_conv_close(struct mime_conv *c)
{
	if (c->carry_len && !c->stopped)
		(void)conv_step(c, c->carry, c->carry_len, true); /* all used when last */
	c->carry_len = 0;
	if (c->cd) {
		char buf[64], *o = buf;
		size_t oleft = sizeof(buf);
		/* The shift state's reset sequence (stateful charsets); nothing else. */
		if (iconv((iconv_t)c->cd, NULL, NULL, &o, &oleft) != (size_t)-1)
			out(c, (const uint8_t *)buf, sizeof(buf) - oleft);
		iconv_close((iconv_t)c->cd);
		c->cd = NULL;
	}
}
