/* mime_addr.c: RFC 5322 3.4 address lists into RFC 9051 ENVELOPE addresses.
 * Handles name-addr, addr-spec, groups (with start and end markers as IMAP wants them),
 * quoted strings, comments (one after an addr-spec's first token names it), phrases
 * without an address (a display name with an empty mailbox), domain literals and the
 * obsolete forms of RFC 5322 4.4 (routes, CFWS around dots, empty list elements).
 * Never fails on syntax: junk up to the next comma is skipped. Bounds: MIME_ADDRS_MAX
 * entries per list, strings cut at MIME_VALUE_MAX. */
#include "mime_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/banned.h"

enum tok_kind { T_END, T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_kind kind;
	uint8_t c;   /* the special character */
	size_t s, e; /* raw span, quotes and brackets included */
	bool ws;     /* whitespace or a comment came before it */
};

struct alex {
	const uint8_t *p;
	size_t n, i;
	size_t cm_s, cm_e; /* the last comment's content, cm_e == 0 if none */
};

static bool special(uint8_t c)
{
	return c == '<' || c == '>' || c == ':' || c == ';' || c == '@' || c == ',';
}

/* Skip to after the matching close of the quote/comment/literal that starts at i. */
static size_t skip_delim(const uint8_t *p, size_t n, size_t i, uint8_t open, uint8_t close)
{
	unsigned depth = 1;
	for (i++; i < n; i++) {
		if (p[i] == '\\') {
			i++;
		} else if (p[i] == close) {
			if (--depth == 0)
				return i + 1;
		} else if (p[i] == open && open != close) {
			depth++;
		}
	}
	return n;
}

static void lex_next(struct alex *l, struct tok *t)
{
	t->ws = false;
	for (;;) {
		if (l->i >= l->n) {
			t->kind = T_END;
			t->s = t->e = l->n;
			return;
		}
		uint8_t c = l->p[l->i];
		if (mime_wsp(c) || c == '\r' || c == '\n') {
			l->i++;
			t->ws = true;
		} else if (c == '(') {
			size_t e = skip_delim(l->p, l->n, l->i, '(', ')');
			l->cm_s = l->i + 1;
			l->cm_e = (e > l->cm_s && l->p[e - 1] == ')') ? e - 1 : e;
			l->i = e;
			t->ws = true;
		} else {
			break;
		}
	}
	uint8_t c = l->p[l->i];
	t->s = l->i;
	if (c == '"') {
		t->kind = T_QSTR;
		l->i = skip_delim(l->p, l->n, l->i, '"', '"');
	} else if (c == '[') {
		t->kind = T_DLIT;
		l->i = skip_delim(l->p, l->n, l->i, '[', ']');
	} else if (special(c)) {
		t->kind = T_SPECIAL;
		t->c = c;
		l->i++;
	} else {
		t->kind = T_ATOM;
		while (l->i < l->n) {
			c = l->p[l->i];
			if (mime_wsp(c) || c == '\r' || c == '\n' || c == '(' || c == '"' ||
			    c == '[' || special(c))
				break;
			l->i++;
		}
	}
	t->e = l->i;
}

static void peek(const struct alex *l, struct tok *t)
{
	struct alex c = *l;
	lex_next(&c, t);
}

static bool is_sp(const struct tok *t, uint8_t c)
{
	return t->kind == T_SPECIAL && t->c == c;
}

/* Append a word: atoms and literals raw, quoted strings unquoted and unescaped. */
static void put_word(struct mime_sb *sb, const uint8_t *p, const struct tok *t)
{
	if (t->kind != T_QSTR) {
		mime_sb_put(sb, p + t->s, t->e - t->s);
		return;
	}
	size_t e = t->e;
	if (e - t->s >= 2 && p[e - 1] == '"')
		e--;
	for (size_t i = t->s + 1; i < e; i++) {
		if (p[i] == '\\' && i + 1 < e)
			i++;
		mime_sb_putc(sb, p[i]);
	}
}

struct aparse {
	struct arena *a;
	struct alex l;
	struct mime_addr **tail;
	unsigned count;
	int err;
};

static struct mime_addr *emit(struct aparse *ap, enum mime_addr_kind kind)
{
	struct mime_addr *m = arena_zalloc(ap->a, sizeof(*m));
	if (!m) {
		ap->err = ERR_NOMEM;
		return NULL;
	}
	m->kind = kind;
	*ap->tail = m;
	ap->tail = &m->next;
	ap->count++;
	return m;
}

static void finish(struct aparse *ap, struct mime_sb *sb, struct mime_str *out, bool nil_empty)
{
	if (nil_empty && sb->len == 0 && !sb->nomem)
		return; /* stays NIL */
	if (mime_sb_finish(sb, out) < 0)
		ap->err = ERR_NOMEM;
}

/* Words up to the first token that stops it; stop_at lists specials that stop.
 * spaces: keep one space where the source had whitespace (phrases) or not (addr-spec).
 * Other specials are kept (phrase) or dropped (addr-spec). */
static void collect(struct aparse *ap, struct mime_sb *sb, const char *stop_at, bool phrase)
{
	struct tok t;
	bool first = true;
	for (;;) {
		peek(&ap->l, &t);
		if (t.kind == T_END || (t.kind == T_SPECIAL && strchr(stop_at, t.c)))
			return;
		lex_next(&ap->l, &t);
		if (phrase && t.ws && !first && sb->len)
			mime_sb_putc(sb, ' ');
		first = false;
		if (t.kind == T_SPECIAL) {
			if (phrase)
				mime_sb_putc(sb, t.c);
		} else {
			put_word(sb, ap->l.p, &t);
		}
	}
}

/* Skip what is left of this address: up to (not over) ',' or, in a group, ';'. */
static void skip_rest(struct aparse *ap, bool in_group)
{
	struct tok t;
	for (;;) {
		peek(&ap->l, &t);
		if (t.kind == T_END || is_sp(&t, ',') || (in_group && is_sp(&t, ';')))
			return;
		lex_next(&ap->l, &t);
	}
}

/* local-part ["@" domain]; local_stop must hold '@' and domain_stop. */
static void addr_spec(struct aparse *ap, struct mime_addr *m, const char *local_stop,
                      const char *stop)
{
	struct mime_sb sb;
	struct tok t;
	mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
	collect(ap, &sb, local_stop, false);
	finish(ap, &sb, &m->mailbox, false);
	mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
	peek(&ap->l, &t);
	if (is_sp(&t, '@')) {
		lex_next(&ap->l, &t);
		collect(ap, &sb, stop, false);
	}
	finish(ap, &sb, &m->host, false);
}

static void name_addr(struct aparse *ap, bool in_group)
{
	struct mime_sb sb;
	struct tok t;
	struct mime_addr *m = emit(ap, MIME_ADDR_MAILBOX);
	if (!m)
		return;
	mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
	collect(ap, &sb, "<", true);
	finish(ap, &sb, &m->name, true);
	lex_next(&ap->l, &t); /* '<' */
	/* obs-route: "@a,@b:" before the addr-spec. */
	struct alex save = ap->l;
	peek(&ap->l, &t);
	if (is_sp(&t, '@')) {
		mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
		collect(ap, &sb, ":>", true);
		peek(&ap->l, &t);
		if (is_sp(&t, ':')) {
			lex_next(&ap->l, &t);
			finish(ap, &sb, &m->adl, true);
		} else {
			ap->l = save; /* "<@host>": no route after all */
		}
	}
	addr_spec(ap, m, "@>", ">");
	skip_rest(ap, in_group);
}

/* One address (or group); the lexer stands at its first token. */
static void parse_address(struct aparse *ap, bool in_group);

static void group(struct aparse *ap)
{
	struct mime_sb sb;
	struct tok t;
	struct mime_addr *m = emit(ap, MIME_ADDR_GROUP_START);
	if (!m)
		return;
	mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
	collect(ap, &sb, ":", true);
	finish(ap, &sb, &m->mailbox, false);
	lex_next(&ap->l, &t); /* ':' */
	while (!ap->err) {
		peek(&ap->l, &t);
		if (t.kind == T_END)
			break;
		if (is_sp(&t, ';')) {
			lex_next(&ap->l, &t);
			break;
		}
		if (is_sp(&t, ',') || ap->count >= MIME_ADDRS_MAX) {
			lex_next(&ap->l, &t);
			continue;
		}
		parse_address(ap, true);
	}
	/* The end marker is emitted even past MIME_ADDRS_MAX: the start needs it. */
	(void)emit(ap, MIME_ADDR_GROUP_END);
}

/* An address without angle brackets and without "@": a word, or a phrase. */
static void bare_address(struct aparse *ap, struct mime_addr *m, const struct alex *la, bool phrase)
{
	struct mime_sb sb;
	struct tok t;
	if (la->cm_e > la->cm_s) {
		/* "user (Name)": the word is the local part, the comment right after it
		 * names it (the old "a@b (Name)" form without the domain); the rest is junk */
		mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
		lex_next(&ap->l, &t);
		if (t.kind != T_SPECIAL)
			put_word(&sb, ap->l.p, &t);
		finish(ap, &sb, &m->mailbox, false);
		mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
		mime_sb_put(&sb, la->p + la->cm_s, la->cm_e - la->cm_s);
		finish(ap, &sb, &m->name, true);
	} else {
		/* One atom is a local part without a domain. Several words, or one quoted
		 * string, are a display name without an address: a local part is one
		 * dot-atom or quoted-string (RFC 5322 3.4.1), and a quoted string alone
		 * reads as the "Name" of "Name" <>. Both as Dovecot answers them. */
		mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
		collect(ap, &sb, ",;", true);
		finish(ap, &sb, phrase ? &m->name : &m->mailbox, phrase);
		if (phrase) {
			mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
			finish(ap, &sb, &m->mailbox, false);
		}
	}
	mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
	finish(ap, &sb, &m->host, false); /* "": no domain */
}

static void parse_address(struct aparse *ap, bool in_group)
{
	/* Look ahead to the end of this address to choose its form. Comments before its
	 * first token are CFWS; after it, the last one names an addr-spec ("a@b (Name)"),
	 * and one right after the first word names a bare word ("user (Name)"). A leading
	 * comment never names anything: Dovecot does the same, and in "(Name) a@b" the
	 * comment is not next to the address it would name (RFC 5322 3.4: the display name
	 * is the phrase before an angle-addr; a comment is only the old form after it). */
	struct alex la = ap->l, gap = ap->l;
	struct tok t;
	gap.cm_e = 0;
	bool angle = false, at = false, colon = false, quoted = false;
	unsigned ntok = 0, words = 0;
	for (;;) {
		lex_next(&la, &t);
		if (ntok == 1)
			gap = la; /* its comment is the one between the first two tokens */
		if (ntok++ == 0) {
			la.cm_e = 0;
			quoted = t.kind == T_QSTR;
		}
		if (t.kind == T_END || is_sp(&t, ',') || is_sp(&t, ';'))
			break;
		words += t.kind != T_SPECIAL;
		if (is_sp(&t, '<'))
			angle = true;
		else if (is_sp(&t, '@') && !angle)
			at = true;
		else if (is_sp(&t, ':') && !angle && !at && !in_group) {
			colon = true;
			break;
		}
	}
	if (colon) {
		group(ap);
		return;
	}
	if (angle) {
		name_addr(ap, in_group);
		return;
	}
	struct mime_addr *m = emit(ap, MIME_ADDR_MAILBOX);
	if (!m)
		return;
	if (at) {
		addr_spec(ap, m, "@,;", ",;");
		if (la.cm_e > la.cm_s) {
			struct mime_sb sb;
			mime_sb_init(&sb, ap->a, MIME_VALUE_MAX);
			mime_sb_put(&sb, la.p + la.cm_s, la.cm_e - la.cm_s);
			finish(ap, &sb, &m->name, true);
		}
	} else {
		bare_address(ap, m, &gap, words > 1 || (words == 1 && quoted));
	}
	skip_rest(ap, in_group);
}

int mime_addr_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_addr **out)
{
	struct aparse ap = {.a = a, .l = {v, n, 0, 0, 0}, .tail = out};
	struct tok t;
	*out = NULL;
	while (!ap.err && ap.count < MIME_ADDRS_MAX) {
		peek(&ap.l, &t);
		if (t.kind == T_END)
			break;
		if (is_sp(&t, ',') || is_sp(&t, ';') || is_sp(&t, '>') || is_sp(&t, ':') ||
		    is_sp(&t, '@')) {
			lex_next(&ap.l, &t); /* empty element or stray special */
			continue;
		}
		parse_address(&ap, false);
	}
	return ap.err;
}
