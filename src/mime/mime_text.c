/* mime_text.c: text helpers of the mime module: the arena string builder, UTF-8 checks,
 * charset conversion through iconv(3), unfolding and RFC 2047 encoded-word decoding.
 * Owns nothing beyond the arena strings it returns. Every output string is cut at its
 * builder's max (MIME_VALUE_MAX for stored values). */
#include "mime_int.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

void mime_sb_init(struct mime_sb *sb, struct arena *a, size_t max)
{
	sb->a = a;
	sb->p = NULL;
	sb->len = sb->cap = 0;
	sb->max = max;
	sb->nomem = false;
}

static bool sb_grow(struct mime_sb *sb, size_t need)
{
	if (sb->cap - sb->len >= need)
		return true;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap - sb->len < need)
		cap *= 2;
	char *np = arena_alloc(sb->a, cap + 1);
	if (!np) {
		sb->nomem = true;
		return false;
	}
	if (sb->len)
		memcpy(np, sb->p, sb->len);
	sb->p = np;
	sb->cap = cap;
	return true;
}

void mime_sb_reserve(struct mime_sb *sb, size_t n)
{
	if (!sb->nomem && n > sb->max - sb->len)
		n = sb->max - sb->len;
	if (sb->nomem || sb->cap - sb->len >= n)
		return;
	char *np = arena_alloc(sb->a, sb->len + n + 1);
	if (!np) {
		sb->nomem = true;
		return;
	}
	if (sb->len)
		memcpy(np, sb->p, sb->len);
	sb->p = np;
	sb->cap = sb->len + n;
}

void mime_sb_put(struct mime_sb *sb, const void *p, size_t n)
{
	if (sb->nomem || sb->len >= sb->max)
		return;
	if (n > sb->max - sb->len)
		n = sb->max - sb->len;
	if (n == 0 || !sb_grow(sb, n))
		return;
	memcpy(sb->p + sb->len, p, n);
	sb->len += n;
}

void mime_sb_putc(struct mime_sb *sb, uint8_t c)
{
	mime_sb_put(sb, &c, 1);
}

int mime_sb_finish(struct mime_sb *sb, struct mime_str *out)
{
	if (sb->nomem || !sb_grow(sb, 1))
		return ERR_NOMEM;
	sb->p[sb->len] = '\0';
	out->s = sb->p;
	out->len = sb->len;
	return 0;
}

int mime_str_dup(struct arena *a, const void *p, size_t n, struct mime_str *out)
{
	if (n > MIME_VALUE_MAX)
		n = MIME_VALUE_MAX;
	char *s = arena_strndup(a, p, n);
	if (!s)
		return ERR_NOMEM;
	out->s = s;
	out->len = n;
	return 0;
}

static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd};

void mime_sb_put_utf8(struct mime_sb *sb, const uint8_t *p, size_t n)
{
	size_t i = 0, run = 0;
	if (n == 0)
		return; /* p may be NULL then */
	while (i < n) {
		size_t l = str_utf8_seq(p + i, n - i, NULL);
		if (l) {
			i += l;
			continue;
		}
		mime_sb_put(sb, p + run, i - run);
		mime_sb_put(sb, replacement, sizeof(replacement));
		run = ++i;
	}
	mime_sb_put(sb, p + run, i - run);
}

/* Labels iconv does not know, or knows by a narrower meaning than mail uses them:
 * ISO-8859-1 mail really holds windows-1252 (WHATWG Encoding: the label means
 * windows-1252), and the same goes for the GB2312 and KS C 5601 labels. */
static const struct {
	const char *label, *name;
} charset_aliases[] = {
    {"iso-8859-1", "WINDOWS-1252"}, {"iso8859-1", "WINDOWS-1252"},
    {"iso_8859-1", "WINDOWS-1252"}, {"latin1", "WINDOWS-1252"},
    {"latin-1", "WINDOWS-1252"},    {"l1", "WINDOWS-1252"},
    {"cp819", "WINDOWS-1252"},      {"gb2312", "GBK"},
    {"ks_c_5601-1987", "CP949"},    {"x-sjis", "SHIFT_JIS"},
    {"unicode-1-1-utf-7", "UTF-7"},
};

bool mime_charset_name(const char *cs, size_t n, char out[LIMIT_CHARSET_NAME])
{
	size_t k = 0;
	for (size_t i = 0; i < n && cs[i] != '*'; i++) {
		char c = cs[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
		if (!ok || k >= LIMIT_CHARSET_NAME - 1)
			return false;
		out[k++] = c;
	}
	out[k] = '\0';
	for (size_t i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++)
		if (str_ieq(out, k, charset_aliases[i].label)) {
			k = strlen(charset_aliases[i].name);
			memcpy(out, charset_aliases[i].name, k + 1);
			break;
		}
	return k > 0;
}

bool mime_charset_is_utf8(const char *name)
{
	size_t n = strlen(name);
	return str_ieq(name, n, "utf-8") || str_ieq(name, n, "utf8") ||
	       str_ieq(name, n, "us-ascii") || str_ieq(name, n, "ascii");
}

int mime_sb_put_charset(struct mime_sb *sb, const char *charset, size_t charset_len,
                        const uint8_t *p, size_t n)
{
	char name[LIMIT_CHARSET_NAME];
	if (!mime_charset_name(charset, charset_len, name))
		return ERR_NOTFOUND;
	if (mime_charset_is_utf8(name)) {
		mime_sb_put_utf8(sb, p, n);
		return 0;
	}
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return ERR_NOTFOUND;
	char *in = (char *)(uintptr_t)p;
	size_t inleft = n;
	char chunk[1024];
	for (;;) {
		char *o = chunk;
		size_t oleft = sizeof(chunk);
		size_t r = inleft ? iconv(cd, &in, &inleft, &o, &oleft)
		                  : iconv(cd, NULL, NULL, &o, &oleft);
		int e = errno;
		mime_sb_put(sb, chunk, sizeof(chunk) - oleft);
		if (sb->nomem || sb->len >= sb->max)
			break;
		if (r != (size_t)-1) {
			if (inleft == 0 && o == chunk)
				break; /* flushed the shift state too */
			continue;
		}
		if (e == E2BIG)
			continue;
		/* EILSEQ or EINVAL (cut sequence): one replacement, skip one byte. */
		mime_sb_put(sb, replacement, sizeof(replacement));
		if (inleft == 0)
			break;
		in++;
		inleft--;
	}
	iconv_close(cd);
	return 0;
}

int mime_charset_to_utf8(const char *charset, const uint8_t *p, size_t len, struct arena *a,
                         struct mime_str *out)
{
	struct mime_sb sb;
	mime_sb_init(&sb, a, SIZE_MAX - 1);
	int r = mime_sb_put_charset(&sb, charset, strlen(charset), p, len);
	if (r < 0)
		return r;
	return mime_sb_finish(&sb, out);
}

/* RFC 5322 2.2.3: unfolding removes the CRLF of each fold, and CR occurs only in CRLF.
 * A CR not followed by LF is no line end, so it is not removed like one: it becomes a
 * space, which keeps the words on either side apart (as Dovecot answers it). */
int mime_unfold(const uint8_t *v, size_t n, struct arena *a, struct mime_str *out)
{
	struct mime_sb sb;
	mime_sb_init(&sb, a, MIME_VALUE_MAX);
	size_t i = 0;
	while (i < n && (mime_wsp(v[i]) || v[i] == '\r' || v[i] == '\n'))
		i++;
	while (n > i && (mime_wsp(v[n - 1]) || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	size_t run = i;
	for (; i < n; i++) {
		if (v[i] != '\r' && v[i] != '\n')
			continue;
		mime_sb_put(&sb, v + run, i - run);
		if (v[i] == '\r' && v[i + 1] != '\n')
			mime_sb_putc(&sb, ' '); /* i + 1 < n: the value does not end in CR */
		run = i + 1;
	}
	mime_sb_put(&sb, v + run, n - run);
	return mime_sb_finish(&sb, out);
}

/* ---- RFC 2047 ---- */

/* Decode encoded-text into sb. false when it is not valid for its encoding. */
static bool decode_text(struct mime_sb *sb, uint8_t enc, const uint8_t *t, size_t n)
{
	if (enc == 'q') {
		for (size_t i = 0; i < n; i++) {
			int h, l;
			if (t[i] == '_')
				mime_sb_putc(sb, ' ');
			else if (t[i] == '=' && i + 2 < n && (h = str_hex_digit(t[i + 1])) >= 0 &&
			         (l = str_hex_digit(t[i + 2])) >= 0) {
				mime_sb_putc(sb, (uint8_t)(h << 4 | l));
				i += 2;
			} else
				mime_sb_putc(sb, t[i]);
		}
		return true;
	}
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i = 0;
	for (; i < n && t[i] != '='; i++) {
		int v = str_b64_value(t[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			mime_sb_putc(sb, (uint8_t)(acc >> bits));
		}
	}
	for (; i < n; i++)
		if (t[i] != '=')
			return false;
	return true;
}

struct eword {
	const uint8_t *cs;
	size_t cs_len;
	uint8_t enc; /* 'b' or 'q' */
	const uint8_t *text;
	size_t text_len;
	size_t end; /* offset after "?=" */
};

/* An encoded word "=?cs?e?text?=" at p[i]: no SP/HTAB inside, text without '?'. */
static bool parse_eword(const uint8_t *p, size_t n, size_t i, struct eword *w)
{
	if (n - i < 8 || p[i] != '=' || p[i + 1] != '?')
		return false;
	size_t j = i + 2, cs = j;
	while (j < n && p[j] != '?' && !mime_wsp(p[j]) && p[j] > 0x20 && p[j] < 0x7f)
		j++;
	if (j == cs || j + 3 >= n || p[j] != '?')
		return false;
	w->cs = p + cs;
	w->cs_len = j - cs;
	w->enc = mime_lc(p[j + 1]);
	if ((w->enc != 'b' && w->enc != 'q') || p[j + 2] != '?')
		return false;
	j += 3;
	size_t t = j;
	while (j < n && p[j] != '?' && !mime_wsp(p[j]))
		j++;
	if (j + 1 >= n || p[j] != '?' || p[j + 1] != '=')
		return false;
	w->text = p + t;
	w->text_len = j - t;
	w->end = j + 2;
	return true;
}

struct decoder {
	struct mime_sb *out;
	struct mime_sb raw; /* decoded bytes of adjacent words in one charset */
	const uint8_t *cs;  /* their charset, NULL when raw is empty */
	size_t cs_len;
	const uint8_t *bad_cs; /* last charset found unknown (a cache for iconv_open) */
	size_t bad_cs_len;
};

static void flush_words(struct decoder *d)
{
	if (!d->cs)
		return;
	/* The charset was checked when its first word came; conversion cannot fail. */
	(void)mime_sb_put_charset(d->out, (const char *)d->cs, d->cs_len, (const uint8_t *)d->raw.p,
	                          d->raw.len);
	d->raw.len = 0;
	d->cs = NULL;
}

static bool same_cs(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	if (!a || an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (mime_lc(a[i]) != mime_lc(b[i]))
			return false;
	return true;
}

/* Take the encoded word w into the pending run; false to treat it as plain text. */
static bool take_word(struct decoder *d, const struct eword *w)
{
	if (same_cs(d->bad_cs, d->bad_cs_len, w->cs, w->cs_len))
		return false;
	if (!same_cs(d->cs, d->cs_len, w->cs, w->cs_len)) {
		/* A new charset: check that iconv knows it before decoding into it. */
		struct mime_sb probe;
		mime_sb_init(&probe, d->out->a, 0);
		if (mime_sb_put_charset(&probe, (const char *)w->cs, w->cs_len, replacement, 0) <
		    0) {
			d->bad_cs = w->cs;
			d->bad_cs_len = w->cs_len;
			return false;
		}
		flush_words(d);
	}
	size_t mark = d->raw.len;
	if (!decode_text(&d->raw, w->enc, w->text, w->text_len)) {
		d->raw.len = mark;
		return false;
	}
	if (!d->cs) {
		d->cs = w->cs;
		d->cs_len = w->cs_len;
	}
	return true;
}

int mime_decode_words(const uint8_t *p, size_t len, struct arena *a, struct mime_str *out)
{
	struct mime_str u;
	int r = mime_unfold(p, len, a, &u);
	if (r < 0)
		return r;
	const uint8_t *s = (const uint8_t *)u.s;
	size_t n = u.len;
	struct mime_sb sb;
	mime_sb_init(&sb, a, MIME_VALUE_MAX);
	struct decoder d = {.out = &sb};
	mime_sb_init(&d.raw, a, MIME_VALUE_MAX);
	size_t i = 0, ws = 0, ws_len = 0;
	bool after_word = false;
	while (i < n) {
		struct eword w;
		if (mime_wsp(s[i])) {
			ws = i;
			while (i < n && mime_wsp(s[i]))
				i++;
			ws_len = i - ws;
			continue;
		}
		if (parse_eword(s, n, i, &w) && take_word(&d, &w)) {
			/* Whitespace between two encoded words is dropped (RFC 2047 6.2). */
			if (!after_word && ws_len) {
				/* Flush the earlier run first so the space lands in order. */
				mime_sb_put(&sb, s + ws, ws_len);
			}
			ws_len = 0;
			after_word = true;
			i = w.end;
			continue;
		}
		flush_words(&d);
		mime_sb_put(&sb, s + ws, ws_len);
		ws_len = 0;
		size_t t = i++;
		while (i < n && !mime_wsp(s[i]) && !(s[i] == '=' && i + 1 < n && s[i + 1] == '?'))
			i++;
		mime_sb_put_utf8(&sb, s + t, i - t);
		after_word = false;
	}
	flush_words(&d);
	mime_sb_put(&sb, s + ws, ws_len);
	if (d.raw.nomem)
		return ERR_NOMEM;
	return mime_sb_finish(&sb, out);
}
