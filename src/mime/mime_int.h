/* mime_int.h: declarations shared inside the mime module only. */
#ifndef KASTEN_MIME_INT_H
#define KASTEN_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime.h"

struct arena;

/* A growing byte string in an arena, cut (not failed) at max bytes. nomem sticks. */
struct mime_sb {
	struct arena *a;
	char *p;
	size_t len, cap, max;
	bool nomem;
};

void mime_sb_init(struct mime_sb *sb, struct arena *a, size_t max);
void mime_sb_put(struct mime_sb *sb, const void *p, size_t n);
void mime_sb_putc(struct mime_sb *sb, uint8_t c);
/* NUL-terminate into *out (never NIL). Returns 0 or ERR_NOMEM. */
int mime_sb_finish(struct mime_sb *sb, struct mime_str *out);

/* Append [p, p+n) to sb with every invalid UTF-8 byte as U+FFFD. */
void mime_sb_put_utf8(struct mime_sb *sb, const uint8_t *p, size_t n);
/* Convert charset -> UTF-8 appending to sb. Returns 0 or ERR_NOTFOUND (unknown charset,
 * sb unchanged). */
int mime_sb_put_charset(struct mime_sb *sb, const char *charset, size_t charset_len,
                        const uint8_t *p, size_t n);

/* Make room for n more bytes at once (one allocation instead of doublings when the
 * size is known in advance); a failure sets nomem. */
void mime_sb_reserve(struct mime_sb *sb, size_t n);

/* The iconv name for a MIME charset label into out: the RFC 2231 "*lang" suffix
 * dropped, only name characters allowed (no "//" suffixes reach iconv), loose labels
 * mapped (ISO-8859-1 -> WINDOWS-1252...). false if it is not a usable name. */
bool mime_charset_name(const char *cs, size_t n, char out[LIMIT_CHARSET_NAME]);
/* UTF-8 and US-ASCII labels: validated as UTF-8 instead of converted. */
bool mime_charset_is_utf8(const char *name);

/* Copy [p, p+n) into an arena string (cut at MIME_VALUE_MAX). */
int mime_str_dup(struct arena *a, const void *p, size_t n, struct mime_str *out);

static inline bool mime_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static inline uint8_t mime_lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Structured header values (mime_param.c). v is an unfolded value.
 * mime_ct_parse: returns 0 and sets type/subtype (lower-cased) and params, 1 when the
 * value is not a valid type/subtype (outputs untouched), or ERR_NOMEM. */
int mime_ct_parse(struct arena *a, const uint8_t *v, size_t n, char **type_out, char **subtype_out,
                  struct mime_param **params_out);
/* Content-Disposition: 0 with the lower-cased type and params, 1 invalid, ERR_NOMEM. */
int mime_disp_parse(struct arena *a, const uint8_t *v, size_t n, char **type_out,
                    struct mime_param **params_out);
/* Content-Language: comma-separated tags, comments dropped. */
int mime_lang_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_str **langs_out,
                    unsigned *n_out);
/* A single token with comments removed and lower-cased (Content-Transfer-Encoding). */
int mime_token_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_str *out);

/* mime_addr_parse (mime_addr.c) is in mime.h: JMAP's header forms read with it too. */

/* ---- Streaming text pipeline of mime_extract: decoded bytes -> UTF-8 -> text ---- */

/* A consumer of UTF-8 text. Returns false when it wants no more (the producer then
 * stops early); it may still be called again and must ignore what it gets. */
typedef bool (*mime_emit_fn)(void *arg, const uint8_t *p, size_t n);

/* Charset -> UTF-8 over input cut anywhere (mime_conv.c): a character cut between two
 * pieces is carried (at most LIMIT_CHARSET_CARRY bytes) and converted with the next;
 * the output is the same however the input was cut (but for a bad UTF-16 surrogate in
 * UTF-7: glibc's decoder cannot back up over one begun in an earlier call, and reports
 * it one character later). Invalid sequences become U+FFFD,
 * a leading U+FEFF (byte order mark) is dropped, an unknown charset is read as UTF-8. */
struct mime_conv {
	void *cd; /* iconv_t; NULL: UTF-8 validation only */
	uint8_t carry[LIMIT_CHARSET_CARRY];
	size_t carry_len;
	bool started; /* some output went out (the BOM check is done) */
	bool stopped; /* the consumer wants no more */
	mime_emit_fn emit;
	void *arg;
};

/* charset NULL or unknown: UTF-8. Never fails. */
void mime_conv_open(struct mime_conv *c, const char *charset, size_t len, mime_emit_fn emit,
                    void *arg);
/* Convert the next piece. Returns false once the consumer stopped. */
bool mime_conv_put(struct mime_conv *c, const uint8_t *p, size_t n);
/* The end of the input: flush what is carried (as U+FFFD) and release iconv. */
void mime_conv_close(struct mime_conv *c);

/* HTML -> text over UTF-8 input cut anywhere (mime_html.c): tags, comments,
 * declarations and the content of script, style and title dropped; character
 * references decoded (numeric ones and the common named ones; an unknown one is kept as
 * written); whitespace runs collapsed to one space, or to a newline where a block
 * element (p, div, br, li, tr, h1...) breaks the line; none at the start or end. */
struct mime_html {
	unsigned state;
	bool closing;            /* the tag being read is an end tag */
	bool eq;                 /* in a tag, after "=": a quote starts a value */
	uint8_t quote;           /* the quote of the attribute value being skipped */
	unsigned dashes;         /* "-" seen in a row inside a comment */
	uint8_t name[LIMIT_HTML_NAME]; /* tag name, lower-cased; or the character reference */
	size_t name_len;
	bool name_long;          /* longer than name[]: no known tag or reference */
	const char *raw;         /* script/style/title: the end tag name looked for */
	size_t raw_len;
	size_t raw_match;        /* bytes of "</" raw matched so far */
	unsigned sep;            /* pending separator: 0 none, 1 space, 2 newline */
	bool any;                /* text went out already */
	bool stopped;
	uint8_t out[512];        /* text waiting to go to emit */
	size_t out_len;
	mime_emit_fn emit;
	void *arg;
};

void mime_html_init(struct mime_html *h, mime_emit_fn emit, void *arg);
/* A mime_emit_fn (arg: the struct mime_html), so a converter can feed it directly. */
bool mime_html_put(void *arg, const uint8_t *p, size_t n);
/* The end of the input: what is pending goes out. */
void mime_html_close(struct mime_html *h);

/* The RFC 8970 preview of a text (mime_preview.c): whitespace and control characters
 * collapse to one space, at most LIMIT_PREVIEW_CHARS code points; lines whose first
 * non-blank character is ">" (quotes) are kept apart and used only if nothing else
 * came. Input must be valid UTF-8 (U+00A0 counts as a space). */
struct mime_preview_side {
	uint8_t buf[LIMIT_PREVIEW_CHARS * 4];
	size_t len;
	unsigned chars;
	bool sep;  /* a space is due before the next character */
	bool full;
};

struct mime_preview {
	struct mime_preview_side main, quoted;
	bool line_start; /* nothing but blanks seen on this line yet */
	bool in_quote;   /* this line is a quote */
	bool quote_lead; /* still in the ">" and blanks that start a quoted line */
	bool held_c2;    /* a 0xC2 byte held back: U+00A0 if 0xA0 follows */
};

void mime_preview_init(struct mime_preview *pv);
/* A mime_emit_fn (arg: the struct mime_preview); false once the preview is full. */
bool mime_preview_put(void *arg, const uint8_t *p, size_t n);
/* The preview in the arena ("" if none). Returns 0 or ERR_NOMEM. */
int mime_preview_finish(struct mime_preview *pv, struct arena *a, struct mime_str *out);

/* Message ids (mime_msgid.c). Values are raw header field values (folded or not).
 * An id is what stands between "<" and ">" outside comments and quoted phrases, with
 * whitespace, control characters and comments removed; empty ones and ones longer
 * than LIMIT_MSGID are skipped. */
/* The first id of v as "<id>"; failing that, v as one bare token holding an "@".
 * out->s NULL if none. Returns 0 or ERR_NOMEM. */
int mime_msgid_first(struct arena *a, const uint8_t *v, size_t n, struct mime_str *out);
/* Every id of vals[0..nvals) in order, each once (first occurrence), without self
 * (may be NIL), as "<a> <b>": at most LIMIT_REFERENCES ids, the first and the last
 * ones when there are more. out->s NULL if none. Returns 0 or ERR_NOMEM. */
int mime_msgid_list(struct arena *a, const struct mime_str *vals, size_t nvals,
                    const struct mime_str *self, struct mime_str *out);

#endif
