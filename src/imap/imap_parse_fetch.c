/* imap_parse_fetch.c: FETCH's arguments (RFC 9051 6.4.5 and 9 fetch-att; RFC 3501 for
 * RFC822*; RFC 3516 BINARY; RFC 7162 3.1.4 and 3.2.6 modifiers; RFC 8474, 8514, 8970)
 * into the list of items the FETCH handler walks, and the body section-spec that the
 * formatter shares. Output goes to the command arena. Limits: LIMIT_MIME_DEPTH part
 * numbers, LIMIT_IMAP_FETCH_FIELDS header field names per section. */
#include "imap/imap_parse_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static int fail(const char **why_out, int rc, const char *why)
{
	if (why_out)
		*why_out = why;
	return rc;
}

/* ---- the section-spec ---- */

/* A header-fld-name inside the brackets: an atom up to SP or ")", or a quoted string
 * (unescaped into the arena). */
static int field_name(const char *s, size_t len, size_t *i, struct arena *a, const char **out)
{
	size_t j = *i;
	if (j < len && s[j] == '"') {
		size_t k = ++j, n = 0;
		for (; k < len && s[k] != '"'; k++, n++)
			if (s[k] == '\\' && ++k == len)
				return ERR_BAD_SYNTAX;
		if (k == len)
			return ERR_BAD_SYNTAX;
		char *d = arena_alloc(a, n + 1);
		if (!d)
			return ERR_NOMEM;
		*out = d;
		for (; j < k; j++) {
			if (s[j] == '\\')
				j++;
			*d++ = s[j];
		}
		*d = '\0';
		*i = k + 1;
		return 0;
	}
	while (j < len && imap_is_astring_char((unsigned char)s[j]))
		j++;
	if (j == *i)
		return ERR_BAD_SYNTAX;
	*out = arena_strndup(a, s + *i, j - *i);
	if (!*out)
		return ERR_NOMEM;
	*i = j;
	return 0;
}

/* SP "(" header-fld-name *(SP header-fld-name) ")" at s[*i], to the end. */
static int header_list(const char *s, size_t len, size_t i, struct arena *a,
                       struct imap_section *out)
{
	if (i + 1 >= len || s[i] != ' ' || s[i + 1] != '(')
		return ERR_BAD_SYNTAX;
	i += 2;
	size_t max = 1;
	for (size_t k = i; k < len; k++)
		if (s[k] == ' ')
			max++;
	if (max > LIMIT_IMAP_FETCH_FIELDS)
		max = LIMIT_IMAP_FETCH_FIELDS + 1;
	out->fields = arena_alloc(a, max * sizeof(*out->fields));
	if (!out->fields)
		return ERR_NOMEM;
	for (;;) {
		if (out->nfields == LIMIT_IMAP_FETCH_FIELDS)
			return ERR_TOO_BIG;
		int rc = field_name(s, len, &i, a, &out->fields[out->nfields]);
		if (rc < 0)
			return rc;
		out->nfields++;
		if (i < len && s[i] == ' ') {
			i++;
			continue;
		}
		break;
	}
	if (i + 1 != len || s[i] != ')')
		return ERR_BAD_SYNTAX;
	return 0;
}

int imap_parse_section(const char *s, size_t len, bool binary, struct arena *a,
                       struct imap_section *out)
{
	size_t i = 0;
	memset(out, 0, sizeof(*out));
	out->kind = IMAP_SECTION_ALL;
	/* section-part = nz-number *("." nz-number) */
	while (i < len && imap_is_digit((unsigned char)s[i])) {
		size_t j = i;
		while (j < len && imap_is_digit((unsigned char)s[j]))
			j++;
		uint64_t v;
		if (imap_num(s + i, j - i, UINT32_MAX, &v) < 0 || v == 0)
			return ERR_BAD_SYNTAX;
		if (out->nparts == LIMIT_MIME_DEPTH)
			return ERR_TOO_BIG;
		out->part[out->nparts++] = (uint32_t)v;
		i = j;
		if (i == len)
			return 0;
		if (s[i] != '.')
			return ERR_BAD_SYNTAX;
		i++;
		if (i == len)
			return ERR_BAD_SYNTAX; /* "1." */
	}
	if (i == len)
		return out->nparts || binary || len == 0 ? 0 : ERR_BAD_SYNTAX;
	if (binary)
		return ERR_BAD_SYNTAX; /* section-binary holds part numbers only */
	const char *t = s + i;
	size_t n = len - i;
	if (imap_ieq(t, n, "HEADER")) {
		out->kind = IMAP_SECTION_HEADER;
	} else if (imap_ieq(t, n, "TEXT")) {
		out->kind = IMAP_SECTION_TEXT;
	} else if (imap_ieq(t, n, "MIME")) {
		if (out->nparts == 0)
			return ERR_BAD_SYNTAX; /* section-text: MIME only after a part */
		out->kind = IMAP_SECTION_MIME;
	} else if (str_iprefix(t, n, "HEADER.FIELDS.NOT")) {
		out->kind = IMAP_SECTION_HEADER_NOT;
		return header_list(t, n, 17, a, out);
	} else if (str_iprefix(t, n, "HEADER.FIELDS")) {
		out->kind = IMAP_SECTION_HEADER_FIELDS;
		return header_list(t, n, 13, a, out);
	} else {
		return ERR_BAD_SYNTAX;
	}
	return 0;
}

/* ---- the items ---- */

/* Append [p, p+n) at d[*k]; the caller sized d for the worst case. */
static void put(char *d, size_t *k, size_t cap, const char *p, size_t n)
{
	assert(*k + n <= cap);
	memcpy(d + *k, p, n);
	*k += n;
}

/* The response name of a section item, "BODY[1.HEADER.FIELDS (A \"B C\")]": keywords in
 * upper case, field names as sent, quoted when they are not atoms. */
static int section_name(const char *prefix, const struct imap_section *sec, struct arena *a,
                        const char **out)
{
	static const char *const kinds[] = {"",     "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	                                    "TEXT", "MIME"};
	/* prefix "[" parts(10 digits + ".") "." kind(17) " (" fields ")" "]" */
	size_t cap = strlen(prefix) + 1 + sec->nparts * 11 + 18 + 2 + 1 + 1;
	for (size_t i = 0; i < sec->nfields; i++)
		cap += 3 + 2 * strlen(sec->fields[i]); /* SP, quotes, every octet escaped */
	char *d = arena_alloc(a, cap + 1);
	if (!d)
		return ERR_NOMEM;
	size_t k = 0;
	put(d, &k, cap, prefix, strlen(prefix));
	put(d, &k, cap, "[", 1);
	for (size_t i = 0; i < sec->nparts; i++) {
		char num[16];
		int n = snprintf(num, sizeof(num), "%s%u", i ? "." : "", sec->part[i]);
		assert(n > 0 && (size_t)n < sizeof(num));
		put(d, &k, cap, num, (size_t)n);
	}
	if (sec->kind != IMAP_SECTION_ALL) {
		if (sec->nparts)
			put(d, &k, cap, ".", 1);
		put(d, &k, cap, kinds[sec->kind], strlen(kinds[sec->kind]));
	}
	for (size_t i = 0; i < sec->nfields; i++) {
		const char *f = sec->fields[i];
		bool atom = *f != '\0';
		for (const char *c = f; *c; c++)
			atom = atom && imap_is_astring_char((unsigned char)*c) && *c != ']';
		put(d, &k, cap, i ? " " : " (", i ? 1 : 2);
		if (!atom)
			put(d, &k, cap, "\"", 1);
		for (const char *c = f; *c; c++) {
			if (!atom && (*c == '"' || *c == '\\'))
				put(d, &k, cap, "\\", 1);
			put(d, &k, cap, c, 1);
		}
		if (!atom)
			put(d, &k, cap, "\"", 1);
	}
	if (sec->nfields)
		put(d, &k, cap, ")", 1);
	put(d, &k, cap, "]", 1);
	d[k] = '\0';
	*out = d;
	return 0;
}

/* "<" number64 "." nz-number64 ">" at s[i, len), to the end. */
static int partial(const char *s, size_t len, struct imap_fetch_item *it)
{
	if (len < 5 || s[0] != '<' || s[len - 1] != '>')
		return ERR_BAD_SYNTAX;
	const char *dot = memchr(s, '.', len);
	if (!dot)
		return ERR_BAD_SYNTAX;
	size_t d = (size_t)(dot - s);
	if (imap_num(s + 1, d - 1, IMAP_NUMBER64_MAX, &it->offset) < 0 ||
	    imap_num(dot + 1, len - d - 2, IMAP_NUMBER64_MAX, &it->count) < 0 || it->count == 0)
		return ERR_BAD_SYNTAX;
	it->partial = true;
	return 0;
}

/* Where the bracketed part of an atom ends: the first ']' after '[' outside quotes. */
static size_t bracket_end(const char *s, size_t len, size_t open)
{
	bool q = false;
	for (size_t i = open + 1; i < len; i++) {
		if (q && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == ']')
			return i;
	}
	return len;
}

static const struct {
	const char *name;
	enum imap_fetch_att att;
} simple_atts[] = {
    {"FLAGS", IMAP_FETCH_FLAGS},
    {"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
    {"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
    {"ENVELOPE", IMAP_FETCH_ENVELOPE},
    {"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
    {"BODY", IMAP_FETCH_BODY},
    {"RFC822", IMAP_FETCH_RFC822},
    {"RFC822.HEADER", IMAP_FETCH_RFC822_HEADER},
    {"RFC822.TEXT", IMAP_FETCH_RFC822_TEXT},
    {"UID", IMAP_FETCH_UID},
    {"MODSEQ", IMAP_FETCH_MODSEQ},
    {"EMAILID", IMAP_FETCH_EMAILID},
    {"THREADID", IMAP_FETCH_THREADID},
    {"SAVEDATE", IMAP_FETCH_SAVEDATE},
    {"PREVIEW", IMAP_FETCH_PREVIEW},
};

struct fetch_ctx {
	struct arena *a;
	struct imap_fetch *out;
	struct imap_fetch_item *tail;
	const char **why;
};

static int add_item(struct fetch_ctx *c, const struct imap_fetch_item *it, bool front)
{
	struct imap_fetch_item *n = arena_alloc(c->a, sizeof(*n));
	if (!n)
		return ERR_NOMEM;
	*n = *it;
	n->next = NULL;
	if (front) {
		n->next = c->out->items;
		c->out->items = n;
		if (!c->tail)
			c->tail = n;
	} else {
		if (c->tail)
			c->tail->next = n;
		else
			c->out->items = n;
		c->tail = n;
	}
	c->out->have |= 1u << it->att;
	switch (it->att) {
	case IMAP_FETCH_BODY_SECTION:
	case IMAP_FETCH_BINARY:
		c->out->seen |= !it->peek;
		break;
	case IMAP_FETCH_RFC822:
	case IMAP_FETCH_RFC822_TEXT:
		c->out->seen = true; /* RFC 3501 6.4.5 */
		break;
	default:
		break;
	}
	return 0;
}

/* A simple item, once however often it is named. */
static int add_simple(struct fetch_ctx *c, enum imap_fetch_att att, bool lazy)
{
	if (c->out->have & (1u << att))
		return 0;
	struct imap_fetch_item it = {.att = att, .lazy = lazy};
	switch (att) {
	case IMAP_FETCH_RFC822:
		it.section.kind = IMAP_SECTION_ALL;
		break;
	case IMAP_FETCH_RFC822_HEADER:
		it.section.kind = IMAP_SECTION_HEADER;
		it.peek = true; /* RFC 3501 6.4.5: like BODY.PEEK[HEADER] */
		break;
	case IMAP_FETCH_RFC822_TEXT:
		it.section.kind = IMAP_SECTION_TEXT;
		break;
	default:
		break;
	}
	return add_item(c, &it, false);
}

/* BODY[...], BODY.PEEK[...], BINARY[...], BINARY.PEEK[...], BINARY.SIZE[...]. */
static int section_item(struct fetch_ctx *c, const char *s, size_t len, size_t open)
{
	struct imap_fetch_item it = {0};
	const char *name = s;
	size_t nlen = open;
	bool binary = false, size_only = false;
	if (imap_ieq(name, nlen, "BODY")) {
		it.att = IMAP_FETCH_BODY_SECTION;
	} else if (imap_ieq(name, nlen, "BODY.PEEK")) {
		it.att = IMAP_FETCH_BODY_SECTION;
		it.peek = true;
	} else if (imap_ieq(name, nlen, "BINARY")) {
		it.att = IMAP_FETCH_BINARY;
		binary = true;
	} else if (imap_ieq(name, nlen, "BINARY.PEEK")) {
		it.att = IMAP_FETCH_BINARY;
		binary = it.peek = true;
	} else if (imap_ieq(name, nlen, "BINARY.SIZE")) {
		it.att = IMAP_FETCH_BINARY_SIZE;
		binary = size_only = true;
	} else {
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid FETCH item");
	}
	size_t close = bracket_end(s, len, open);
	if (close == len)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid FETCH item");
	int rc = imap_parse_section(s + open + 1, close - open - 1, binary, c->a, &it.section);
	if (rc == ERR_TOO_BIG)
		return fail(c->why, rc, "NO [LIMIT] Section too deep or too many header fields");
	if (rc < 0)
		return fail(c->why, rc, "BAD Invalid section");
	if (close + 1 < len) {
		if (size_only || partial(s + close + 1, len - close - 1, &it) < 0)
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid partial range");
	}
	const char *prefix = it.att == IMAP_FETCH_BODY_SECTION ? "BODY"
	                     : it.att == IMAP_FETCH_BINARY     ? "BINARY"
	                                                       : "BINARY.SIZE";
	if ((rc = section_name(prefix, &it.section, c->a, &it.name)) < 0)
		return rc;
	return add_item(c, &it, false);
}

/* PREVIEW's modifiers "(" preview-mod *(SP preview-mod) ")" (RFC 8970 3): LAZY. */
static bool preview_mods(const struct imap_arg *l, bool *lazy)
{
	if (!l || l->type != IMAP_ARG_LIST || l->count == 0)
		return false;
	for (const struct imap_arg *m = l->list; m; m = m->next)
		if (!imap_arg_is(m, "LAZY"))
			return false;
	*lazy = true;
	return true;
}

/* One fetch-att at *ap; PREVIEW may take the list after it. */
static int one_item(struct fetch_ctx *c, const struct imap_arg **ap)
{
	const struct imap_arg *a = *ap;
	*ap = a->next;
	if (a->type != IMAP_ARG_ATOM)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid FETCH item");
	const char *open = memchr(a->s, '[', a->len);
	if (open)
		return section_item(c, a->s, a->len, (size_t)(open - a->s));
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]); i++) {
		if (!imap_ieq(a->s, a->len, simple_atts[i].name))
			continue;
		bool lazy = false;
		if (simple_atts[i].att == IMAP_FETCH_PREVIEW && preview_mods(a->next, &lazy))
			*ap = a->next->next;
		return add_simple(c, simple_atts[i].att, lazy);
	}
	return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid FETCH item");
}

/* ALL, FAST, FULL (RFC 9051 6.4.5). */
static int macro(struct fetch_ctx *c, const struct imap_arg *a, bool *done)
{
	static const enum imap_fetch_att fast[] = {IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE,
	                                           IMAP_FETCH_RFC822_SIZE, IMAP_FETCH_ENVELOPE,
	                                           IMAP_FETCH_BODY};
	size_t n = 0;
	if (imap_arg_is(a, "FAST"))
		n = 3;
	else if (imap_arg_is(a, "ALL"))
		n = 4;
	else if (imap_arg_is(a, "FULL"))
		n = 5;
	*done = n > 0;
	for (size_t i = 0; i < n; i++) {
		int rc = add_simple(c, fast[i], false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* fetch-modifiers (RFC 4466 2.4): CHANGEDSINCE (RFC 7162 3.1.4.1), VANISHED (3.2.6). */
static int modifiers(struct fetch_ctx *c, const struct imap_arg *l, bool uid)
{
	struct imap_fetch *out = c->out;
	if (l->type != IMAP_ARG_LIST || l->count == 0)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid FETCH modifiers");
	for (const struct imap_arg *m = l->list; m; m = m->next) {
		if (imap_arg_is(m, "CHANGEDSINCE")) {
			m = m->next;
			/* 0 is tolerated: every message has changed since */
			if (imap_arg_number(m, IMAP_NUMBER64_MAX, &out->changedsince_modseq) < 0)
				return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid CHANGEDSINCE");
			out->changedsince = true;
		} else if (imap_arg_is(m, "VANISHED")) {
			out->vanished = true;
		} else {
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Unknown FETCH modifier");
		}
	}
	if (out->vanished && (!uid || !out->changedsince))
		return fail(c->why, ERR_BAD_SYNTAX,
		            "BAD VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6)");
	return 0;
}

int imap_parse_fetch(const struct imap_cmd *cmd, struct arena *a, struct imap_fetch *out,
                     const char **why_out)
{
	memset(out, 0, sizeof(*out));
	struct fetch_ctx c = {a, out, NULL, why_out};
	const struct imap_arg *arg = cmd->args;
	int rc = imap_arg_seqset(arg, a, &out->set);
	if (rc == ERR_TOO_BIG)
		return fail(why_out, rc, "NO [LIMIT] Too many ranges in the sequence set");
	if (rc < 0)
		return fail(why_out, rc, "BAD Invalid sequence set");
	const struct imap_arg *items = arg->next;
	if (!items)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing FETCH items");
	const struct imap_arg *rest;
	bool done = false;
	if ((rc = macro(&c, items, &done)) < 0)
		return rc;
	if (done) {
		rest = items->next;
	} else if (items->type == IMAP_ARG_LIST) {
		if (items->count == 0)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing FETCH items");
		for (const struct imap_arg *i = items->list; i;)
			if ((rc = one_item(&c, &i)) < 0)
				return rc;
		rest = items->next;
	} else {
		rest = items;
		if ((rc = one_item(&c, &rest)) < 0)
			return rc;
	}
	if (rest && rest->next)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Too many arguments");
	if (rest && (rc = modifiers(&c, rest, cmd->uid)) < 0)
		return rc;
	/* RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ; RFC 9051 6.4.9: UID FETCH
	 * always returns UID */
	if (out->changedsince && (rc = add_simple(&c, IMAP_FETCH_MODSEQ, false)) < 0)
		return rc;
	if (cmd->uid && !(out->have & (1u << IMAP_FETCH_UID))) {
		struct imap_fetch_item uid = {.att = IMAP_FETCH_UID};
		if ((rc = add_item(&c, &uid, true)) < 0)
			return rc;
	}
	return 0;
}
