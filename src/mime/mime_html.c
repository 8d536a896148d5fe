/* mime_html.c: HTML -> plain text for previews and search (mime_extract). A resumable
 * byte state machine over UTF-8 input in pieces: it keeps the text between tags, drops
 * tags (quoted attribute values may hold ">"), comments, <!...> and <?...> declarations
 * and the content of script, style and title, decodes character references and
 * collapses whitespace (a newline where a block element breaks the line). It renders
 * nothing else: no tables, lists or alt text. Owns nothing; state in struct mime_html,
 * names bounded by LIMIT_HTML_NAME (a longer one is simply no known tag or reference). */
#include "mime_int.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "core/banned.h"

enum html_state {
	H_TEXT,
	H_LT,        /* "<" */
	H_TAG,       /* the tag name */
	H_ATTRS,     /* the rest of the tag */
	H_ATTR_Q,    /* a quoted attribute value */
	H_BANG,      /* "<!" */
	H_BANG_DASH, /* "<!-" */
	H_COMMENT,   /* "<!--" up to "-->" */
	H_DECL,      /* "<!x", "<?", "</ " up to ">" */
	H_RAW,       /* script/style/title content, looking for its end tag */
	H_RAW_END,   /* its end tag name matched: a delimiter must follow */
	H_REF,       /* "&" and the reference name so far */
};

enum html_sep { SEP_NONE, SEP_SPACE, SEP_LINE };

enum tag_kind { TAG_BLOCK, TAG_CELL, TAG_RAW };

/* A name of a lookup table; first member of its entries. */
struct html_name {
	const char *name;
	size_t len;
};

#define TAG(n, k)                                                                                  \
	{                                                                                          \
		{n, sizeof(n) - 1}, k                                                              \
	}

/* The elements that matter for text: blocks start a new line when rendered, cells and
 * images separate words, and script, style and title hide their content. Sorted by
 * length, then bytes: looked up by binary search, as this runs for every tag. */
static const struct html_tag {
	struct html_name n;
	enum tag_kind kind;
} tags[] = {
    TAG("p", TAG_BLOCK),          TAG("br", TAG_BLOCK),      TAG("dd", TAG_BLOCK),
    TAG("dl", TAG_BLOCK),         TAG("dt", TAG_BLOCK),      TAG("h1", TAG_BLOCK),
    TAG("h2", TAG_BLOCK),         TAG("h3", TAG_BLOCK),      TAG("h4", TAG_BLOCK),
    TAG("h5", TAG_BLOCK),         TAG("h6", TAG_BLOCK),      TAG("hr", TAG_BLOCK),
    TAG("li", TAG_BLOCK),         TAG("ol", TAG_BLOCK),      TAG("td", TAG_CELL),
    TAG("th", TAG_CELL),          TAG("tr", TAG_BLOCK),      TAG("ul", TAG_BLOCK),
    TAG("div", TAG_BLOCK),        TAG("img", TAG_CELL),      TAG("nav", TAG_BLOCK),
    TAG("pre", TAG_BLOCK),        TAG("form", TAG_BLOCK),    TAG("main", TAG_BLOCK),
    TAG("aside", TAG_BLOCK),      TAG("style", TAG_RAW),     TAG("table", TAG_BLOCK),
    TAG("tbody", TAG_BLOCK),      TAG("tfoot", TAG_BLOCK),   TAG("thead", TAG_BLOCK),
    TAG("title", TAG_RAW),        TAG("center", TAG_BLOCK),  TAG("figure", TAG_BLOCK),
    TAG("footer", TAG_BLOCK),     TAG("header", TAG_BLOCK),  TAG("option", TAG_CELL),
    TAG("script", TAG_RAW),       TAG("address", TAG_BLOCK), TAG("article", TAG_BLOCK),
    TAG("caption", TAG_BLOCK),    TAG("section", TAG_BLOCK), TAG("fieldset", TAG_BLOCK),
    TAG("blockquote", TAG_BLOCK),
};

/* The named references mail uses (HTML 5 has over two thousand; the rest stay as
 * written); the legacy ones also without ";", as browsers do. Sorted like tags[]. */
#define R(n, c, l)                                                                                 \
	{                                                                                          \
		{n, sizeof(n) - 1}, c, l                                                           \
	}

static const struct html_ref {
	struct html_name n;
	uint32_t cp;
	bool legacy;
} refs[] = {
    R("gt", '>', true),         R("lt", '<', true),         R("amp", '&', true),
    R("deg", 0xb0, false),      R("eth", 0xf0, false),      R("reg", 0xae, true),
    R("shy", 0xad, false),      R("yen", 0xa5, false),      R("zwj", 0x200d, false),
    R("Auml", 0xc4, false),     R("Euml", 0xcb, false),     R("Iuml", 0xcf, false),
    R("Ouml", 0xd6, false),     R("Uuml", 0xdc, false),     R("apos", '\'', false),
    R("auml", 0xe4, false),     R("bull", 0x2022, false),   R("cent", 0xa2, false),
    R("copy", 0xa9, true),      R("darr", 0x2193, false),   R("emsp", 0x2003, false),
    R("ensp", 0x2002, false),   R("euml", 0xeb, false),     R("euro", 0x20ac, false),
    R("iuml", 0xef, false),     R("larr", 0x2190, false),   R("nbsp", 0xa0, true),
    R("ouml", 0xf6, false),     R("para", 0xb6, false),     R("quot", '"', true),
    R("rarr", 0x2192, false),   R("sect", 0xa7, false),     R("uarr", 0x2191, false),
    R("uuml", 0xfc, false),     R("yuml", 0xff, false),     R("zwnj", 0x200c, false),
    R("AElig", 0xc6, false),    R("Acirc", 0xc2, false),    R("Aring", 0xc5, false),
    R("Ecirc", 0xca, false),    R("Icirc", 0xce, false),    R("OElig", 0x152, false),
    R("Ocirc", 0xd4, false),    R("Ucirc", 0xdb, false),    R("acirc", 0xe2, false),
    R("aelig", 0xe6, false),    R("aring", 0xe5, false),    R("bdquo", 0x201e, false),
    R("check", 0x2713, false),  R("ecirc", 0xea, false),    R("icirc", 0xee, false),
    R("iexcl", 0xa1, false),    R("laquo", 0xab, false),    R("ldquo", 0x201c, false),
    R("lsquo", 0x2018, false),  R("mdash", 0x2014, false),  R("ndash", 0x2013, false),
    R("ocirc", 0xf4, false),    R("oelig", 0x153, false),   R("pound", 0xa3, false),
    R("raquo", 0xbb, false),    R("rdquo", 0x201d, false),  R("rsquo", 0x2019, false),
    R("sbquo", 0x201a, false),  R("szlig", 0xdf, false),    R("thorn", 0xfe, false),
    R("times", 0xd7, false),    R("trade", 0x2122, false),  R("ucirc", 0xfb, false),
    R("Aacute", 0xc1, false),   R("Agrave", 0xc0, false),   R("Ccedil", 0xc7, false),
    R("Eacute", 0xc9, false),   R("Egrave", 0xc8, false),   R("Iacute", 0xcd, false),
    R("Igrave", 0xcc, false),   R("Ntilde", 0xd1, false),   R("Oacute", 0xd3, false),
    R("Ograve", 0xd2, false),   R("Oslash", 0xd8, false),   R("Otilde", 0xd5, false),
    R("Scaron", 0x160, false),  R("Uacute", 0xda, false),   R("Ugrave", 0xd9, false),
    R("Yacute", 0xdd, false),   R("Zcaron", 0x17d, false),  R("aacute", 0xe1, false),
    R("agrave", 0xe0, false),   R("ccedil", 0xe7, false),   R("dagger", 0x2020, false),
    R("divide", 0xf7, false),   R("eacute", 0xe9, false),   R("egrave", 0xe8, false),
    R("frac12", 0xbd, false),   R("frac14", 0xbc, false),   R("frac34", 0xbe, false),
    R("hearts", 0x2665, false), R("hellip", 0x2026, false), R("iacute", 0xed, false),
    R("igrave", 0xec, false),   R("iquest", 0xbf, false),   R("lsaquo", 0x2039, false),
    R("middot", 0xb7, false),   R("ntilde", 0xf1, false),   R("oacute", 0xf3, false),
    R("ograve", 0xf2, false),   R("oslash", 0xf8, false),   R("otilde", 0xf5, false),
    R("plusmn", 0xb1, false),   R("rsaquo", 0x203a, false), R("scaron", 0x161, false),
    R("thinsp", 0x2009, false), R("uacute", 0xfa, false),   R("ugrave", 0xf9, false),
    R("yacute", 0xfd, false),   R("zcaron", 0x17e, false),
};

/* HTML 5 reads numeric references 0x80-0x9F as windows-1252 (0: no such character). */
static const uint16_t cp1252_c1[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

/* Order of the tables: by length, then bytes. */
static int name_cmp(const struct html_name *a, const uint8_t *b, size_t bn)
{
	if (a->len != bn)
		return a->len < bn ? -1 : 1;
	for (size_t i = 0; i < bn; i++) /* a few bytes: no call to memcmp */
		if ((uint8_t)a->name[i] != b[i])
			return (uint8_t)a->name[i] < b[i] ? -1 : 1;
	return 0;
}

/* Binary search in a table of n entries of `size` bytes that start with a html_name. */
static const void *find(const void *table, size_t n, size_t size, const uint8_t *key, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const void *e = (const char *)table + mid * size;
		int c = name_cmp(e, key, len);
		if (c == 0)
			return e;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether a table is in find()'s order: checked once, so an edit cannot break lookups
 * unnoticed (asserts stay on in our builds). */
static bool sorted(const void *table, size_t n, size_t size)
{
	for (size_t i = 1; i < n; i++) {
		const struct html_name *a = (const void *)((const char *)table + (i - 1) * size);
		const struct html_name *b = (const void *)((const char *)table + i * size);
		if (name_cmp(a, (const uint8_t *)b->name, b->len) >= 0)
			return false;
	}
	return true;
}

static atomic_bool tables_checked;

void mime_html_init(struct mime_html *h, mime_emit_fn emit, void *arg)
{
	if (!atomic_load_explicit(&tables_checked, memory_order_relaxed)) {
		bool ok = sorted(tags, sizeof(tags) / sizeof(tags[0]), sizeof(tags[0])) &&
		          sorted(refs, sizeof(refs) / sizeof(refs[0]), sizeof(refs[0]));
		assert(ok);
		(void)ok; /* without asserts the tables are trusted */
		atomic_store_explicit(&tables_checked, true, memory_order_relaxed);
	}
	memset(h, 0, sizeof(*h));
	h->state = H_TEXT;
	h->emit = emit;
	h->arg = arg;
}

static void flush(struct mime_html *h)
{
	if (h->out_len && !h->stopped && !h->emit(h->arg, h->out, h->out_len))
		h->stopped = true;
	h->out_len = 0;
}

static void out_byte(struct mime_html *h, uint8_t c)
{
	if (h->out_len == sizeof(h->out))
		flush(h);
	h->out[h->out_len++] = c;
}

static void text_byte(struct mime_html *h, uint8_t c)
{
	if (h->sep != SEP_NONE && h->any)
		out_byte(h, h->sep == SEP_LINE ? '\n' : ' ');
	h->sep = SEP_NONE;
	h->any = true;
	out_byte(h, c);
}

static void set_sep(struct mime_html *h, unsigned sep)
{
	if (sep > h->sep)
		h->sep = sep;
}

static bool html_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static void tag_end(struct mime_html *h)
{
	h->state = H_TEXT;
	const struct html_tag *t = h->name_long ? NULL
	                                        : find(tags, sizeof(tags) / sizeof(tags[0]),
	                                               sizeof(tags[0]), h->name, h->name_len);
	if (!t)
		return;
	if (t->kind == TAG_BLOCK)
		set_sep(h, SEP_LINE);
	else if (t->kind == TAG_CELL)
		set_sep(h, SEP_SPACE);
	else if (!h->closing) {
		h->raw = t->n.name;
		h->raw_len = t->n.len;
		h->raw_match = 0;
		h->state = H_RAW;
	}
}

static void put_cp(struct mime_html *h, uint32_t cp)
{
	if (cp >= 0x80 && cp <= 0x9f)
		cp = cp1252_c1[cp - 0x80] ? cp1252_c1[cp - 0x80] : 0xfffd;
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp == 0xa0 || cp < 0x20 || cp == 0x7f || (cp >= 0x2000 && cp <= 0x200a)) {
		set_sep(h, SEP_SPACE); /* spaces and controls separate words */
		return;
	}
	if (cp == 0xad || (cp >= 0x200b && cp <= 0x200d) || cp == 0xfeff)
		return; /* invisible */
	if (cp < 0x80) {
		text_byte(h, (uint8_t)cp);
	} else if (cp < 0x800) {
		text_byte(h, (uint8_t)(0xc0 | cp >> 6));
		text_byte(h, (uint8_t)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		text_byte(h, (uint8_t)(0xe0 | cp >> 12));
		text_byte(h, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
		text_byte(h, (uint8_t)(0x80 | (cp & 0x3f)));
	} else {
		text_byte(h, (uint8_t)(0xf0 | cp >> 18));
		text_byte(h, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)));
		text_byte(h, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
		text_byte(h, (uint8_t)(0x80 | (cp & 0x3f)));
	}
}

static int digit(uint8_t c, bool hex)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = mime_lc(c);
	return hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The code point of the reference in h->name, or -1 if it is none we know. */
static int32_t ref_value(const struct mime_html *h, bool semicolon)
{
	if (h->name_long || h->name_len == 0)
		return -1;
	if (h->name[0] == '#') {
		bool hex = h->name_len > 1 && mime_lc(h->name[1]) == 'x';
		size_t i = hex ? 2 : 1;
		uint32_t v = 0;
		if (i >= h->name_len)
			return -1;
		for (; i < h->name_len; i++) {
			v = v * (hex ? 16 : 10) + (uint32_t)digit(h->name[i], hex);
			if (v > 0x10ffff)
				v = 0x110000; /* stays out of range, no overflow */
		}
		return (int32_t)v;
	}
	const struct html_ref *r =
	    find(refs, sizeof(refs) / sizeof(refs[0]), sizeof(refs[0]), h->name, h->name_len);
	if (!r || (!semicolon && !r->legacy))
		return -1;
	return (int32_t)r->cp;
}

/* The reference ends (with ";" or not): its character, or the text as written. */
static void ref_end(struct mime_html *h, bool semicolon)
{
	int32_t cp = ref_value(h, semicolon);
	h->state = H_TEXT;
	if (cp >= 0) {
		put_cp(h, (uint32_t)cp);
		return;
	}
	text_byte(h, '&');
	for (size_t i = 0; i < h->name_len; i++)
		text_byte(h, h->name[i]);
	if (semicolon)
		text_byte(h, ';');
}

/* Whether c continues the reference name: "#", then "x", then digits; or alnum. */
static bool ref_char(const struct mime_html *h, uint8_t c)
{
	bool alnum = (c >= '0' && c <= '9') || (mime_lc(c) >= 'a' && mime_lc(c) <= 'z');
	if (h->name_len == 0)
		return c == '#' || alnum;
	if (h->name[0] != '#')
		return alnum;
	if (h->name_len == 1 && mime_lc(c) == 'x')
		return true;
	return digit(c, h->name_len > 1 && mime_lc(h->name[1]) == 'x') >= 0;
}

static bool tag_char(uint8_t c)
{
	uint8_t l = mime_lc(c);
	return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == ':' || c == '_';
}

static void name_add(struct mime_html *h, uint8_t c)
{
	if (h->name_len < sizeof(h->name))
		h->name[h->name_len++] = mime_lc(c);
	else
		h->name_long = true;
}

static bool in_ref(struct mime_html *h, uint8_t c)
{
	if (c == ';') {
		ref_end(h, true);
		return true;
	}
	if (!ref_char(h, c)) {
		ref_end(h, false);
		return false;
	}
	if (h->name_len == sizeof(h->name)) {
		ref_end(h, false); /* longer than any we know: text as written */
		return false;
	}
	h->name[h->name_len++] = c; /* case matters in references */
	return true;
}

static bool in_raw(struct mime_html *h, uint8_t c)
{
	size_t want = 2 + h->raw_len;
	uint8_t expect = h->raw_match == 0   ? '<'
	                 : h->raw_match == 1 ? '/'
	                                     : (uint8_t)h->raw[h->raw_match - 2];
	if (h->state == H_RAW_END) {
		h->state = H_RAW;
		if (html_space(c) || c == '/' || c == '>') {
			h->closing = true;
			h->name_len = h->raw_len;
			memcpy(h->name, h->raw, h->name_len);
			h->name_long = false;
			h->eq = false;
			h->state = H_ATTRS;
			return false;
		}
		h->raw_match = c == '<';
		return true;
	}
	if (mime_lc(c) == expect) {
		if (++h->raw_match == want)
			h->state = H_RAW_END;
	} else {
		h->raw_match = c == '<';
	}
	return true;
}

static void start_tag(struct mime_html *h, bool closing)
{
	h->closing = closing;
	h->name_len = 0;
	h->name_long = false;
	h->eq = false;
	h->state = H_TAG;
}

static void in_text(struct mime_html *h, uint8_t c)
{
	if (c == '<') {
		h->state = H_LT;
	} else if (c == '&') {
		h->state = H_REF;
		h->name_len = 0;
		h->name_long = false;
	} else if (html_space(c)) {
		set_sep(h, SEP_SPACE);
	} else {
		text_byte(h, c);
	}
}

/* After "<": a tag, an end tag, a comment or declaration, or just text. */
static bool in_lt(struct mime_html *h, uint8_t c)
{
	uint8_t l = mime_lc(c);
	if (c == '/') {
		start_tag(h, true);
	} else if (l >= 'a' && l <= 'z') {
		start_tag(h, false);
		name_add(h, c);
	} else if (c == '!') {
		h->state = H_BANG;
	} else if (c == '?') {
		h->state = H_DECL;
	} else {
		h->state = H_TEXT; /* "<" not starting a tag is text */
		text_byte(h, '<');
		return false;
	}
	return true;
}

static bool in_tag(struct mime_html *h, uint8_t c)
{
	if (tag_char(c)) {
		name_add(h, c);
		return true;
	}
	if (h->name_len == 0) { /* "</" and no name: skipped up to ">" */
		h->state = c == '>' ? H_TEXT : H_DECL;
		return true;
	}
	h->state = H_ATTRS;
	return false;
}

static void in_attrs(struct mime_html *h, uint8_t c)
{
	if (h->state == H_ATTR_Q) {
		if (c == h->quote) {
			h->state = H_ATTRS;
			h->eq = false;
		}
	} else if (c == '>') {
		tag_end(h);
	} else if ((c == '"' || c == '\'') && h->eq) {
		h->quote = c;
		h->state = H_ATTR_Q;
	} else if (c == '=') {
		h->eq = true;
	} else if (!html_space(c)) {
		h->eq = false;
	}
}

/* "<!", "<!-", comments and declarations. */
static void in_markup(struct mime_html *h, uint8_t c)
{
	switch ((enum html_state)h->state) {
	case H_BANG:
		h->state = c == '-' ? H_BANG_DASH : c == '>' ? H_TEXT : H_DECL;
		break;
	case H_BANG_DASH:
		h->state = c == '-' ? H_COMMENT : c == '>' ? H_TEXT : H_DECL;
		h->dashes = 0;
		break;
	case H_COMMENT:
		if (c == '>' && h->dashes >= 2)
			h->state = H_TEXT;
		h->dashes = c == '-' ? h->dashes + 1 : 0;
		break;
	default: /* H_DECL */
		if (c == '>')
			h->state = H_TEXT;
		break;
	}
}

/* One byte; false: not used, feed it again in the new state. */
static bool step(struct mime_html *h, uint8_t c)
{
	switch ((enum html_state)h->state) {
	case H_TEXT:
		in_text(h, c);
		return true;
	case H_LT:
		return in_lt(h, c);
	case H_TAG:
		return in_tag(h, c);
	case H_ATTRS:
	case H_ATTR_Q:
		in_attrs(h, c);
		return true;
	case H_BANG:
	case H_BANG_DASH:
	case H_COMMENT:
	case H_DECL:
		in_markup(h, c);
		return true;
	case H_RAW:
	case H_RAW_END:
		return in_raw(h, c);
	case H_REF:
		return in_ref(h, c);
	}
	return true;
}

/* Bytes that can only be skipped (a quoted attribute value, a declaration, the
 * content of script/style before the next "<"): how many, found with memchr. */
static size_t skippable(const struct mime_html *h, const uint8_t *p, size_t n)
{
	uint8_t stop;
	if (h->state == H_ATTR_Q)
		stop = h->quote;
	else if (h->state == H_DECL)
		stop = '>';
	else if (h->state == H_RAW && h->raw_match == 0)
		stop = '<';
	else
		return 0;
	const uint8_t *q = memchr(p, stop, n);
	return q ? (size_t)(q - p) : n;
}

bool mime_html_put(void *arg, const uint8_t *p, size_t n)
{
	struct mime_html *h = arg;
	for (size_t i = 0; i < n && !h->stopped;) {
		size_t skip = skippable(h, p + i, n - i);
		if (skip) {
			i += skip;
			continue;
		}
		/* The common case, text without markup, goes out in a run. */
		if (h->state == H_TEXT && h->sep == SEP_NONE) {
			size_t k = i;
			while (k < n && p[k] != '<' && p[k] != '&' && !html_space(p[k]) &&
			       h->out_len < sizeof(h->out))
				h->out[h->out_len++] = p[k++];
			if (k > i) {
				h->any = true;
				i = k;
				if (h->out_len == sizeof(h->out))
					flush(h);
				continue;
			}
		}
		if (step(h, p[i]))
			i++;
	}
	flush(h);
	return !h->stopped;
}

void mime_html_close(struct mime_html *h)
{
	if (h->state == H_REF)
		ref_end(h, false);
	else if (h->state == H_LT)
		text_byte(h, '<');
	h->state = H_TEXT;
	flush(h);
}
