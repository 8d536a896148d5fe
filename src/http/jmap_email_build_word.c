/* jmap_email_build_word.c: the pieces of header fields we write (RFC 5322 2.2, 3.2;
 * RFC 2047; RFC 2231): tokens placed and folded so that lines stay within 78
 * characters where the content allows and never pass 998, unstructured text and
 * display names as they are when they can be, else as RFC 2047 encoded words in UTF-8,
 * and parameters as tokens, quoted strings or RFC 2231 continuations.
 *
 * Folding only ever puts CRLF before whitespace that was to be written anyway, so an
 * unfolded field (RFC 5322 2.2.3) reads exactly as written. Every token is bounded
 * (atoms to JEB_ATOM_MAX, encoded words to JEB_WORD_MAX, parameters split into
 * continuations), which is what keeps a line under 998. */
#include "http/jmap_email_build_int.h"

#include <string.h>

#include "core/err.h"

bool jeb_text_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

int jeb_field_start(struct jeb_out *o, const char *name)
{
	if (jeb_puts(o, name) < 0 || jeb_put(o, ":", 1) < 0)
		return o->err;
	o->field_min = o->col;
	return 0;
}

int jeb_field_token(struct jeb_out *o, const char *sep, const char *tok, size_t n)
{
	size_t sl = strlen(sep);
	bool wsp = sl > 0 && (sep[0] == ' ' || sep[0] == '\t');
	if (wsp && o->col > o->field_min && o->col + sl + n > JEB_LINE_FOLD &&
	    jeb_put(o, "\r\n", 2) < 0)
		return o->err;
	if (jeb_put(o, sep, sl) < 0 || jeb_put(o, tok, n) < 0)
		return o->err;
	return 0;
}

int jeb_field_end(struct jeb_out *o)
{
	return jeb_put(o, "\r\n", 2);
}

/* ---- RFC 2047 encoded words ---- */

#define WORD_PREFIX_Q "=?UTF-8?Q?"
#define WORD_PREFIX_B "=?UTF-8?B?"
/* characters of encoded text in one word: 75 less "=?UTF-8?Q?" and "?=" */
#define WORD_TEXT (JEB_WORD_MAX - 12)

/* RFC 2047 5(3): the only characters a Q-encoded word in a phrase may hold as they
 * are; we use this set everywhere, which is valid in every place a word may go. */
static bool q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t q_len(unsigned char c)
{
	return q_plain(c) || c == ' ' ? 1 : 3;
}

/* The length of the UTF-8 sequence starting with lead byte c (1 for a stray byte). */
static size_t utf8_len(unsigned char c)
{
	if (c >= 0xf0 && c < 0xf8)
		return 4;
	if (c >= 0xe0)
		return c < 0xf0 ? 3 : 1;
	if (c >= 0xc0)
		return 2;
	return 1;
}

static const char hexd[] = "0123456789ABCDEF";
static const char b64a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One word of [p, p+n) (whole characters that fit in max characters of encoded text,
 * at least one character) into w; returns the bytes used. */
static size_t word_q(const char *p, size_t n, size_t max, char *w, size_t *wl)
{
	size_t used = 0, k = strlen(WORD_PREFIX_Q), text = 0;
	memcpy(w, WORD_PREFIX_Q, k);
	while (used < n) {
		size_t cl = utf8_len((unsigned char)p[used]);
		if (cl > n - used)
			cl = n - used;
		size_t need = 0;
		for (size_t i = 0; i < cl; i++)
			need += q_len((unsigned char)p[used + i]);
		if (text + need > max && text > 0)
			break;
		for (size_t i = 0; i < cl; i++) {
			unsigned char c = (unsigned char)p[used + i];
			if (c == ' ') {
				w[k++] = '_';
			} else if (q_plain(c)) {
				w[k++] = (char)c;
			} else {
				w[k++] = '=';
				w[k++] = hexd[c >> 4];
				w[k++] = hexd[c & 15];
			}
		}
		text += need;
		used += cl;
	}
	w[k++] = '?';
	w[k++] = '=';
	*wl = k;
	return used;
}

static size_t word_b(const char *p, size_t n, size_t max, char *w, size_t *wl)
{
	size_t used = 0, k = strlen(WORD_PREFIX_B);
	memcpy(w, WORD_PREFIX_B, k);
	/* max characters carry 3 * (max / 4) bytes */
	while (used < n) {
		size_t cl = utf8_len((unsigned char)p[used]);
		if (cl > n - used)
			cl = n - used;
		if (used + cl > 3 * (max / 4) && used > 0)
			break;
		used += cl;
	}
	for (size_t i = 0; i < used; i += 3) {
		size_t g = used - i < 3 ? used - i : 3;
		const unsigned char *s = (const unsigned char *)p + i;
		uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)(g > 1 ? s[1] : 0) << 8 |
			     (uint32_t)(g > 2 ? s[2] : 0);
		w[k++] = b64a[v >> 18 & 63];
		w[k++] = b64a[v >> 12 & 63];
		w[k++] = g > 1 ? b64a[v >> 6 & 63] : '=';
		w[k++] = g > 2 ? b64a[v & 63] : '=';
	}
	w[k++] = '?';
	w[k++] = '=';
	*wl = k;
	return used;
}

int jeb_field_words(struct jeb_out *o, const char *sep, const char *p, size_t n)
{
	size_t ql = 0;
	for (size_t i = 0; i < n; i++)
		ql += q_len((unsigned char)p[i]);
	bool q = ql <= 4 * ((n + 2) / 3);
	/* a word of WORD_TEXT characters, its prefix and "?=", with a character's worth of
	 * slack (a word is cut before the character that would pass WORD_TEXT) */
	char w[JEB_WORD_MAX + 16];
	size_t off = 0;
	/* the first word fills what is left of the current line when that is worth it;
	 * the others go on lines of their own */
	size_t at = o->col + strlen(sep) + 12, first = WORD_TEXT;
	if (at + 16 <= JEB_LINE_FOLD && JEB_LINE_FOLD - at < WORD_TEXT)
		first = JEB_LINE_FOLD - at;
	do {
		size_t wl, max = off == 0 ? first : WORD_TEXT;
		size_t used = q ? word_q(p + off, n - off, max, w, &wl)
				: word_b(p + off, n - off, max, w, &wl);
		if (jeb_field_token(o, off == 0 ? sep : " ", w, wl) < 0)
			return o->err;
		off += used;
	} while (off < n);
	return 0;
}

/* Would a decoder read an encoded word in [p, p+n)? */
static bool looks_encoded(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '=' && p[i + 1] == '?')
			return true;
	return false;
}

static bool printable_ascii(const char *p, size_t n, bool tab_ok)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!((c >= 0x20 && c < 0x7f) || (tab_ok && c == '\t')))
			return false;
	}
	return true;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Printable ASCII without a word or a whitespace run past JEB_ATOM_MAX, and without
 * an encoded-word look-alike. */
static bool text_plain(const char *p, size_t n)
{
	size_t word = 0, space = 0;
	if (!printable_ascii(p, n, true) || looks_encoded(p, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		bool ws = is_wsp(p[i]);
		word = ws ? 0 : word + 1;
		space = ws ? space + 1 : 0;
		if (word > JEB_ATOM_MAX || space > JEB_ATOM_MAX)
			return false;
	}
	return true;
}

int jeb_field_text(struct jeb_out *o, const char *p, size_t n)
{
	while (n > 0 && is_wsp(p[0])) {
		p++;
		n--;
	}
	while (n > 0 && is_wsp(p[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if (!text_plain(p, n))
		return jeb_field_words(o, " ", p, n);
	/* words with the whitespace runs before them as separators: a fold goes before a
	 * run, so the run survives unfolding as it was */
	size_t i = 0;
	bool first = true;
	while (i < n) {
		size_t ws = i;
		while (i < n && is_wsp(p[i]))
			i++;
		size_t w = i;
		while (i < n && !is_wsp(p[i]))
			i++;
		char sep[JEB_ATOM_MAX + 2];
		size_t sl = w - ws; /* at most JEB_ATOM_MAX: text_plain */
		if (first) {
			sep[0] = ' ';
			sl = 1;
		} else {
			memcpy(sep, p + ws, sl);
		}
		sep[sl] = '\0';
		if (jeb_field_token(o, sep, p + w, i - w) < 0)
			return o->err;
		first = false;
	}
	return 0;
}

/* RFC 5322 3.2.3 atext */
static bool atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

int jeb_field_phrase(struct jeb_out *o, const char *sep, const char *p, size_t n)
{
	bool atoms = n > 0 && p[0] != ' ' && p[n - 1] != ' ' && !looks_encoded(p, n);
	size_t word = 0;
	for (size_t i = 0; atoms && i < n; i++) {
		if (p[i] == ' ') {
			atoms = p[i - 1] != ' ';
			word = 0;
		} else {
			atoms = atext((unsigned char)p[i]) && ++word <= JEB_ATOM_MAX;
		}
	}
	if (atoms) {
		size_t i = 0;
		while (i < n) {
			size_t w = i;
			while (i < n && p[i] != ' ')
				i++;
			if (jeb_field_token(o, w == 0 ? sep : " ", p + w, i - w) < 0)
				return o->err;
			i += i < n;
		}
		return 0;
	}
	if (n <= JEB_ATOM_MAX && printable_ascii(p, n, false) && !looks_encoded(p, n)) {
		char q[2 * JEB_ATOM_MAX + 3];
		size_t k = 0;
		q[k++] = '"';
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '"' || p[i] == '\\')
				q[k++] = '\\';
			q[k++] = p[i];
		}
		q[k++] = '"';
		return jeb_field_token(o, sep, q, k);
	}
	return jeb_field_words(o, sep, p, n);
}

/* ---- parameters (RFC 2045 5.1, RFC 2231) ---- */

static bool tspecial(unsigned char c)
{
	return c && strchr("()<>@,;:\\\"/[]?=", c);
}

/* RFC 2231 7 attribute-char */
static bool attr_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !tspecial(c) && c != '*' && c != '\'' && c != '%';
}

/* a parameter value this long or shorter goes on one line as it is */
#define PARAM_PLAIN 60

int jeb_field_param(struct jeb_out *o, const char *name, const char *value, size_t n)
{
	char t[2 * PARAM_PLAIN + 80];
	size_t nl = strlen(name), k;
	if (jeb_field_token(o, "", ";", 1) < 0)
		return o->err;
	bool token = n > 0 && n <= PARAM_PLAIN;
	for (size_t i = 0; token && i < n; i++)
		token = attr_char((unsigned char)value[i]);
	if (nl > 40)
		return o->err = ERR_INVAL;
	if (token || (n <= PARAM_PLAIN && printable_ascii(value, n, false))) {
		k = 0;
		memcpy(t, name, nl);
		k += nl;
		t[k++] = '=';
		if (!token)
			t[k++] = '"';
		for (size_t i = 0; i < n; i++) {
			if (!token && (value[i] == '"' || value[i] == '\\'))
				t[k++] = '\\';
			t[k++] = value[i];
		}
		if (!token)
			t[k++] = '"';
		return jeb_field_token(o, " ", t, k);
	}
	/* RFC 2231 3, 4: name*0*=utf-8''%XX..; name*1*=..; sections cut between
	 * characters of the encoded form (a %XX triplet is never split) */
	size_t i = 0;
	for (unsigned sec = 0; i < n || sec == 0; sec++) {
		int m = snprintf(t, sizeof t, "%s*%u*=%s", name, sec, sec == 0 ? "utf-8''" : "");
		if (m < 0 || (size_t)m >= sizeof t)
			return o->err = ERR_INVAL;
		k = (size_t)m;
		while (i < n && k < PARAM_PLAIN + nl) {
			unsigned char c = (unsigned char)value[i++];
			if (attr_char(c)) {
				t[k++] = (char)c;
			} else {
				t[k++] = '%';
				t[k++] = hexd[c >> 4];
				t[k++] = hexd[c & 15];
			}
		}
		if (sec > 0 && jeb_field_token(o, "", ";", 1) < 0)
			return o->err;
		if (jeb_field_token(o, " ", t, k) < 0)
			return o->err;
	}
	return 0;
}
