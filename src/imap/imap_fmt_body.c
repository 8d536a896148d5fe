/* imap_fmt_body.c: BODY and BODYSTRUCTURE (RFC 9051 7.5.2; formal syntax "body",
 * body-type-1part, body-type-mpart, body-fields, body-ext-1part, body-ext-mpart in 9)
 * from the part tree src/mime cached at delivery. Owns nothing, allocates nothing; the
 * recursion is bounded by the tree's depth (LIMIT_MIME_DEPTH, enforced by mime).
 *
 * Choices where the RFC leaves room, made as Dovecot makes them so that clients see the
 * same answer from both: a text part without a charset parameter gets "charset"
 * "us-ascii" added at the end of its parameters (RFC 2045 5.2's default, made explicit);
 * an absent transfer encoding is "7bit"; a multipart without parts (only past the depth
 * or parts limit) and a message/rfc822 that was not descended into (encoded, or past a
 * limit) get an empty text/plain body, as the grammar needs one. */
#include "imap/imap_fmt_int.h"

#include <string.h>

#include "core/str.h"
#include "mime/mime.h"
#include "core/banned.h"

#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

static void put_part(struct imap_fmt_out *w, const struct mime_part *pt, bool ext, bool utf8);

/* RFC 2231 7 attribute-char: what may stand unencoded in an extended value. */
static bool attribute_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("*'%()<>@,;:\\\"/[]?=", c);
}

static bool has_8bit(const struct mime_str *s)
{
	for (size_t i = 0; i < s->len; i++)
		if ((unsigned char)s->s[i] >= 0x80)
			return true;
	return false;
}

static bool valid_utf8(const struct mime_str *s)
{
	for (size_t i = 0, l; i < s->len; i += l)
		if ((l = str_utf8_seq(s->s + i, s->len - i, NULL)) == 0)
			return false;
	return true;
}

/* "utf-8''" and the value percent-encoded (RFC 2231 4): 7-bit, never needs escapes. */
static void put_value_2231(struct imap_fmt_out *w, const struct mime_str *v)
{
	static const char hex[] = "0123456789ABCDEF";
	imap_fmt_puts(w, "\"utf-8''");
	for (size_t i = 0; i < v->len; i++) {
		uint8_t b = (uint8_t)v->s[i];
		if (attribute_char(b)) {
			imap_fmt_byte(w, b);
			continue;
		}
		uint8_t pct[3] = {'%', (uint8_t)hex[b >> 4], (uint8_t)hex[b & 15]};
		imap_fmt_put(w, pct, 3);
	}
	imap_fmt_byte(w, '"');
}

/* One name/value pair. mime decodes RFC 2231 values to UTF-8, as RFC 9051 7.5.2 asks
 * ("Servers SHOULD decode parameter value continuations and parameter value character
 * sets"). A UTF-8 session gets the decoded value; a rev1 session gets a UTF-8 value
 * (decoded, or raw as RFC 6532 allows) back in RFC 2231 form ("name*" "utf-8''..."), as
 * RFC 6857 3 downgrades it and as rev1 clients already decode, rather than 8-bit bytes
 * it has no charset for. 8-bit bytes that are not UTF-8 cannot be labelled and go as
 * they are (a literal). A value mime could not convert is already in extended form and
 * goes as "name*". */
static void put_param(struct imap_fmt_out *w, const struct mime_param *p, bool utf8)
{
	size_t nl = strlen(p->name);
	if (p->extended) {
		imap_fmt_string2(w, p->name, nl, "*", 1, utf8);
		imap_fmt_byte(w, ' ');
		imap_fmt_string(w, p->value.s, p->value.len, utf8);
	} else if (!utf8 && has_8bit(&p->value) && valid_utf8(&p->value)) {
		imap_fmt_string2(w, p->name, nl, "*", 1, utf8);
		imap_fmt_byte(w, ' ');
		put_value_2231(w, &p->value);
	} else {
		imap_fmt_string(w, p->name, nl, utf8);
		imap_fmt_byte(w, ' ');
		imap_fmt_string(w, p->value.s, p->value.len, utf8);
	}
}

/* body-fld-param: NIL for none (a text part always has its charset). */
static void put_params(struct imap_fmt_out *w, const struct mime_param *list, bool default_charset,
                       bool utf8)
{
	bool seen_charset = false;
	if (!list && !default_charset) {
		imap_fmt_puts(w, "NIL");
		return;
	}
	imap_fmt_byte(w, '(');
	for (const struct mime_param *p = list; p; p = p->next) {
		if (p != list)
			imap_fmt_byte(w, ' ');
		put_param(w, p, utf8);
		seen_charset = seen_charset || strcmp(p->name, "charset") == 0;
	}
	if (default_charset && !seen_charset)
		imap_fmt_puts(w, list ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	imap_fmt_byte(w, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both kinds of extension. */
static void put_ext_common(struct imap_fmt_out *w, const struct mime_part *pt, bool utf8)
{
	imap_fmt_byte(w, ' ');
	if (pt->disposition) {
		imap_fmt_byte(w, '(');
		imap_fmt_string(w, pt->disposition, strlen(pt->disposition), utf8);
		imap_fmt_byte(w, ' ');
		put_params(w, pt->disp_params, false, utf8);
		imap_fmt_byte(w, ')');
	} else {
		imap_fmt_puts(w, "NIL");
	}
	imap_fmt_byte(w, ' ');
	if (pt->nlanguages) {
		imap_fmt_byte(w, '(');
		for (unsigned i = 0; i < pt->nlanguages; i++) {
			if (i)
				imap_fmt_byte(w, ' ');
			imap_fmt_string(w, pt->languages[i].s, pt->languages[i].len, utf8);
		}
		imap_fmt_byte(w, ')');
	} else {
		imap_fmt_puts(w, "NIL");
	}
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &pt->location, utf8);
}

/* message/rfc822 carries envelope, body and lines (body-type-msg); so does
 * message/global, but only in RFC 9051's grammar: a rev1 client (no utf8) gets it as a
 * basic part, as RFC 3501's media-message knows only RFC822. */
static bool encapsulates(const struct mime_part *pt, bool utf8)
{
	return strcmp(pt->type, "message") == 0 &&
	       (strcmp(pt->subtype, "rfc822") == 0 || (utf8 && strcmp(pt->subtype, "global") == 0));
}

static void put_single(struct imap_fmt_out *w, const struct mime_part *pt, bool ext, bool utf8)
{
	bool msg = encapsulates(pt, utf8);
	bool text = strcmp(pt->type, "text") == 0;
	imap_fmt_string(w, pt->type, strlen(pt->type), utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_string(w, pt->subtype, strlen(pt->subtype), utf8);
	imap_fmt_byte(w, ' ');
	put_params(w, pt->params, text, utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &pt->id, utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &pt->description, utf8);
	imap_fmt_byte(w, ' ');
	if (pt->encoding.s && pt->encoding.len)
		imap_fmt_string(w, pt->encoding.s, pt->encoding.len, utf8);
	else
		imap_fmt_puts(w, "\"7bit\"");
	imap_fmt_sp_u64(w, pt->end - pt->body_start);
	if (text) {
		imap_fmt_sp_u64(w, pt->body_lines);
	} else if (msg) {
		const struct mime_part *m = pt->message;
		imap_fmt_byte(w, ' ');
		imap_fmt_envelope(w, m ? m->envelope : NULL, utf8);
		imap_fmt_byte(w, ' ');
		if (m)
			put_part(w, m, ext, utf8);
		else
			imap_fmt_puts(w, ext ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
		imap_fmt_sp_u64(w, pt->body_lines);
	}
	if (!ext)
		return;
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &pt->md5, utf8);
	put_ext_common(w, pt, utf8);
}

static void put_multi(struct imap_fmt_out *w, const struct mime_part *pt, bool ext, bool utf8)
{
	for (const struct mime_part *c = pt->children; c; c = c->next)
		put_part(w, c, ext, utf8);
	if (!pt->children)
		imap_fmt_puts(w, ext ? EMPTY_BODY " NIL NIL NIL NIL)" : EMPTY_BODY ")");
	imap_fmt_byte(w, ' ');
	imap_fmt_string(w, pt->subtype, strlen(pt->subtype), utf8);
	if (!ext)
		return;
	imap_fmt_byte(w, ' ');
	put_params(w, pt->params, false, utf8);
	put_ext_common(w, pt, utf8);
}

static void put_part(struct imap_fmt_out *w, const struct mime_part *pt, bool ext, bool utf8)
{
	imap_fmt_byte(w, '(');
	if (strcmp(pt->type, "multipart") == 0)
		put_multi(w, pt, ext, utf8);
	else
		put_single(w, pt, ext, utf8);
	imap_fmt_byte(w, ')');
}

void imap_put_bodystructure(const struct imap_sink *o, const struct mime_part *part,
                            bool extensible, bool utf8)
{
	struct imap_fmt_out w;
	imap_fmt_out_init(&w, o);
	put_part(&w, part, extensible, utf8);
	imap_fmt_out_flush(&w);
}
