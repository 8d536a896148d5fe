/* http_autodiscover_parse.c: the reader of Outlook's POX autodiscover request
 * (http_autoconfig.h has the contract). No XML library is a dependency of kasten, and
 * this request is two short text elements: a strict reader of well-formed XML that
 * keeps only those two, refuses what could make it big or ambiguous (DOCTYPE, so no
 * entity can be declared or expanded; more nesting than the request needs; a repeated
 * element) and is fuzzed (fuzz/fuzz_autodiscover.c) is smaller to trust than a general
 * parser linked in for one request.
 *
 * It reads the whole body at once, not resumably like the protocol parsers: the HTTP
 * layer hands the body complete (http_req.body), bounded by the route's max_body.
 * Decisions: the input must be UTF-8 (the request says encoding="utf-8"; XML 1.0 4.3.3
 * makes UTF-8 the default) and contain only XML 1.0 2.2 Chars, checked first over the
 * whole input; CR LF is not normalised (white space at the ends of the kept texts is
 * dropped anyway); attribute values are checked for well-formedness but not kept;
 * duplicate attribute names are not looked for (no attribute is read). */
#include "http/http_autoconfig.h"

#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

enum adp_keep { ADP_KEEP_NONE, ADP_KEEP_EMAIL, ADP_KEEP_SCHEMA };

struct adp {
	const uint8_t *p;
	size_t len, pos;
	struct {
		const uint8_t *name; /* the qualified name as in the start tag */
		size_t len;
	} stack[LIMIT_AUTODISCOVER_DEPTH];
	size_t depth;
	enum adp_keep keep; /* the element open now is one we keep the text of */
	char *kept;         /* its buffer, kept_len used of kept_cap - 1 */
	size_t kept_len, kept_cap;
	bool seen_email, seen_schema;
	struct autodiscover_request *out;
};

/* XML 1.0 2.2 Char */
static bool adp_xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static int adp_check_chars(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = str_utf8_seq(p + i, len - i, &c);
		if (n == 0 || !adp_xml_char(c))
			return ERR_BAD_SYNTAX;
		i += n;
	}
	return 0;
}

static bool adp_at(const struct adp *st, const char *lit)
{
	size_t n = strlen(lit);
	return st->len - st->pos >= n && !memcmp(st->p + st->pos, lit, n);
}

static bool adp_space_byte(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t adp_skip_space(struct adp *st)
{
	size_t start = st->pos;
	while (st->pos < st->len && adp_space_byte(st->p[st->pos]))
		st->pos++;
	return st->pos - start;
}

/* Move past the next occurrence of lit; ERR_BAD_SYNTAX if there is none. */
static int adp_skip_past(struct adp *st, const char *lit)
{
	size_t n = strlen(lit);
	for (size_t i = st->pos; i + n <= st->len; i++) {
		if (!memcmp(st->p + i, lit, n)) {
			st->pos = i + n;
			return 0;
		}
	}
	return ERR_BAD_SYNTAX;
}

/* Name chars as far as a request can use them: ASCII letters, digits, "_:-." and any
 * non-ASCII (already checked to be UTF-8); a name does not start with a digit, '-'
 * or '.'. */
static bool adp_name_byte(uint8_t c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80)
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '-' || c == '.');
}

static int adp_name(struct adp *st, const uint8_t **name_out, size_t *len_out)
{
	size_t start = st->pos;
	while (st->pos < st->len && adp_name_byte(st->p[st->pos], st->pos == start))
		st->pos++;
	if (st->pos == start)
		return ERR_BAD_SYNTAX;
	*name_out = st->p + start;
	*len_out = st->pos - start;
	return 0;
}

/* Whether the local part (after any prefix) of a qualified name is lit. */
static bool adp_is(const uint8_t *name, size_t len, const char *lit)
{
	size_t start = len;
	while (start > 0 && name[start - 1] != ':')
		start--;
	return len - start == strlen(lit) && !memcmp(name + start, lit, len - start);
}

static int adp_keep_bytes(struct adp *st, const void *p, size_t n)
{
	if (st->keep == ADP_KEEP_NONE)
		return 0;
	if (n > st->kept_cap - 1 - st->kept_len)
		return ERR_TOO_LONG;
	memcpy(st->kept + st->kept_len, p, n);
	st->kept_len += n;
	st->kept[st->kept_len] = '\0';
	return 0;
}

/* A reference after '&' (XML 1.0 4.1, 4.6): the five predefined entities or a
 * character reference to a Char; nothing else can be declared. */
static int adp_reference(struct adp *st)
{
	static const struct {
		const char *name;
		char c;
	} predefined[] = {
	    {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	st->pos++; /* '&' */
	for (size_t i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		if (adp_at(st, predefined[i].name)) {
			st->pos += strlen(predefined[i].name);
			return adp_keep_bytes(st, &predefined[i].c, 1);
		}
	}
	if (!adp_at(st, "#"))
		return ERR_BAD_SYNTAX;
	st->pos++;
	bool hex = adp_at(st, "x");
	st->pos += hex;
	uint32_t c = 0;
	size_t digits = 0;
	for (; st->pos < st->len && st->p[st->pos] != ';'; st->pos++, digits++) {
		uint8_t d = st->p[st->pos];
		int v = d >= '0' && d <= '9'          ? d - '0'
		        : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
		        : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
		                                      : -1;
		if (v < 0 || c > 0x10FFFF)
			return ERR_BAD_SYNTAX;
		c = c * (hex ? 16 : 10) + (uint32_t)v;
	}
	if (st->pos == st->len || digits == 0 || c > 0x10FFFF || !adp_xml_char(c))
		return ERR_BAD_SYNTAX;
	st->pos++; /* ';' */
	uint8_t u[4];
	size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
	if (n == 1)
		u[0] = (uint8_t)c;
	else {
		for (size_t k = n - 1; k > 0; k--, c >>= 6)
			u[k] = (uint8_t)(0x80 | (c & 0x3F));
		u[0] = (uint8_t)((0xF00u >> n) | c);
	}
	return adp_keep_bytes(st, u, n);
}

/* "<!--" ... "-->", without "--" inside (XML 1.0 2.5). */
static int adp_comment(struct adp *st)
{
	st->pos += 4;
	if (adp_skip_past(st, "--") < 0 || !adp_at(st, ">"))
		return ERR_BAD_SYNTAX;
	st->pos++;
	return 0;
}

/* "<?" target ... "?>"; the target "xml" (any case) only as the declaration at the
 * very start (XML 1.0 2.6, 2.8). */
static int adp_pi(struct adp *st, bool at_start)
{
	st->pos += 2;
	const uint8_t *name;
	size_t len;
	if (adp_name(st, &name, &len) < 0)
		return ERR_BAD_SYNTAX;
	if (len == 3 && str_ieq(name, 3, "xml") && !at_start)
		return ERR_BAD_SYNTAX;
	if (!adp_at(st, "?>") && adp_skip_space(st) == 0)
		return ERR_BAD_SYNTAX;
	return adp_skip_past(st, "?>");
}

/* Comments, PIs and white space between the parts of the document. */
static int adp_misc(struct adp *st, bool prolog)
{
	for (;;) {
		bool at_start = st->pos == 0 || (st->pos == 3 && st->p[0] == 0xEF);
		adp_skip_space(st);
		int rc = 0;
		if (adp_at(st, "<!--"))
			rc = adp_comment(st);
		else if (adp_at(st, "<?"))
			rc = adp_pi(st, prolog && at_start);
		else
			return 0;
		if (rc < 0)
			return rc;
	}
}

static int adp_attr_value(struct adp *st)
{
	if (st->pos == st->len || (st->p[st->pos] != '"' && st->p[st->pos] != '\''))
		return ERR_BAD_SYNTAX;
	uint8_t q = st->p[st->pos++];
	enum adp_keep keep = st->keep;
	st->keep = ADP_KEEP_NONE; /* attribute values are not kept */
	int rc = ERR_BAD_SYNTAX;
	while (st->pos < st->len) {
		uint8_t c = st->p[st->pos];
		if (c == q) {
			st->pos++;
			rc = 0;
			break;
		}
		if (c == '<')
			break;
		if (c == '&') {
			if ((rc = adp_reference(st)) < 0)
				break;
			rc = ERR_BAD_SYNTAX;
		} else
			st->pos++;
	}
	st->keep = keep;
	return rc;
}

static void adp_keep_start(struct adp *st)
{
	const uint8_t *n = st->stack[st->depth - 1].name;
	size_t len = st->stack[st->depth - 1].len;
	st->keep = ADP_KEEP_NONE;
	if (st->depth != 3 || !adp_is(st->stack[0].name, st->stack[0].len, "Autodiscover") ||
	    !adp_is(st->stack[1].name, st->stack[1].len, "Request"))
		return;
	if (adp_is(n, len, "EMailAddress")) {
		st->keep = ADP_KEEP_EMAIL;
		st->kept = st->out->email;
		st->kept_cap = sizeof(st->out->email);
	} else if (adp_is(n, len, "AcceptableResponseSchema")) {
		st->keep = ADP_KEEP_SCHEMA;
		st->kept = st->out->schema;
		st->kept_cap = sizeof(st->out->schema);
	}
	st->kept_len = 0;
}

/* After '<': a start tag or an empty-element tag. */
static int adp_start_tag(struct adp *st)
{
	if (st->keep != ADP_KEEP_NONE)
		return ERR_BAD_SYNTAX; /* markup inside a text we keep */
	st->pos++;
	const uint8_t *name;
	size_t len;
	if (adp_name(st, &name, &len) < 0)
		return ERR_BAD_SYNTAX;
	for (;;) {
		size_t sp = adp_skip_space(st);
		if (adp_at(st, "/>") || adp_at(st, ">"))
			break;
		const uint8_t *an;
		size_t al;
		if (sp == 0 || adp_name(st, &an, &al) < 0)
			return ERR_BAD_SYNTAX;
		adp_skip_space(st);
		if (!adp_at(st, "="))
			return ERR_BAD_SYNTAX;
		st->pos++;
		adp_skip_space(st);
		if (adp_attr_value(st) < 0)
			return ERR_BAD_SYNTAX;
	}
	if (st->depth == LIMIT_AUTODISCOVER_DEPTH)
		return ERR_TOO_DEEP;
	bool empty = adp_at(st, "/>");
	st->pos += empty ? 2 : 1;
	st->stack[st->depth].name = name;
	st->stack[st->depth].len = len;
	st->depth++;
	adp_keep_start(st);
	bool *seen = st->keep == ADP_KEEP_EMAIL    ? &st->seen_email
	             : st->keep == ADP_KEEP_SCHEMA ? &st->seen_schema
	                                           : NULL;
	if (seen && *seen)
		return ERR_BAD_SYNTAX; /* which of two addresses would be meant? */
	if (seen)
		*seen = true;
	if (empty) {
		st->keep = ADP_KEEP_NONE;
		st->depth--;
	}
	return 0;
}

/* After "</": the name must close the element open now (XML 1.0 3 WFC: Element Type
 * Match: the qualified name of its start tag). */
static int adp_end_tag(struct adp *st)
{
	st->pos += 2;
	const uint8_t *name;
	size_t len;
	if (st->depth == 0 || adp_name(st, &name, &len) < 0)
		return ERR_BAD_SYNTAX;
	if (len != st->stack[st->depth - 1].len || memcmp(name, st->stack[st->depth - 1].name, len))
		return ERR_BAD_SYNTAX;
	adp_skip_space(st);
	if (!adp_at(st, ">"))
		return ERR_BAD_SYNTAX;
	st->pos++;
	st->depth--;
	st->keep = ADP_KEEP_NONE;
	return 0;
}

static void adp_trim(char *s)
{
	size_t len = strlen(s), start = 0;
	while (len > 0 && adp_space_byte((uint8_t)s[len - 1]))
		len--;
	while (start < len && adp_space_byte((uint8_t)s[start]))
		start++;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
}

static int adp_text(struct adp *st)
{
	size_t start = st->pos;
	while (st->pos < st->len && st->p[st->pos] != '<' && st->p[st->pos] != '&') {
		if (adp_at(st, "]]>")) /* XML 1.0 2.4: not in character data */
			return ERR_BAD_SYNTAX;
		st->pos++;
	}
	return adp_keep_bytes(st, st->p + start, st->pos - start);
}

static int adp_cdata(struct adp *st)
{
	st->pos += 9; /* "<![CDATA[" */
	size_t start = st->pos;
	if (adp_skip_past(st, "]]>") < 0)
		return ERR_BAD_SYNTAX;
	return adp_keep_bytes(st, st->p + start, st->pos - 3 - start);
}

/* The root element and everything in it. */
static int adp_root(struct adp *st)
{
	do {
		int rc;
		if (st->pos == st->len)
			return ERR_BAD_SYNTAX; /* unclosed element */
		if (adp_at(st, "</"))
			rc = adp_end_tag(st);
		else if (adp_at(st, "<!--"))
			rc = st->keep != ADP_KEEP_NONE ? ERR_BAD_SYNTAX : adp_comment(st);
		else if (adp_at(st, "<![CDATA["))
			rc = st->depth ? adp_cdata(st) : ERR_BAD_SYNTAX;
		else if (adp_at(st, "<?"))
			rc = st->keep != ADP_KEEP_NONE ? ERR_BAD_SYNTAX : adp_pi(st, false);
		else if (adp_at(st, "<"))
			rc = adp_start_tag(st);
		else if (adp_at(st, "&"))
			rc = adp_reference(st);
		else
			rc = adp_text(st);
		if (rc < 0)
			return rc;
	} while (st->depth > 0);
	return 0;
}

int autodiscover_parse(const uint8_t *p, size_t len, struct autodiscover_request *out)
{
	out->email[0] = out->schema[0] = '\0';
	if (len > LIMIT_AUTODISCOVER_REQUEST)
		return ERR_TOO_BIG;
	int rc = adp_check_chars(p, len);
	if (rc < 0)
		return rc;
	struct adp st = {.p = p, .len = len, .out = out};
	if (adp_at(&st, "\xEF\xBB\xBF"))
		st.pos = 3;
	if ((rc = adp_misc(&st, true)) < 0)
		return rc;
	if (!adp_at(&st, "<") || adp_at(&st, "<!"))
		return ERR_BAD_SYNTAX; /* no root, or a DOCTYPE */
	if ((rc = adp_root(&st)) < 0)
		return rc;
	if ((rc = adp_misc(&st, false)) < 0)
		return rc;
	if (st.pos != st.len)
		return ERR_BAD_SYNTAX; /* a second root, or text after the root */
	adp_trim(out->email);
	adp_trim(out->schema);
	return 0;
}
