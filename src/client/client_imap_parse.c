/* client_imap_parse.c: the pure, resumable parser of IMAP server responses (contract and
 * every byte decision in client_imap_parse.h). Owns nothing: the token buffer and list
 * stack come from the init arena, each response's tree from the response arena. Bounds
 * are the ones given at init (the engine passes LIMIT_CLIENT_IMAP_*). Also the readers of
 * a parsed response's pieces that need no session: numbers, STATUS data. */
#include "client/client_imap_parse.h"
#include "client/client_imap.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

enum phase {
	PH_BEGIN,      /* no byte of the next response yet */
	PH_FIRST,      /* "*", "+" or the tag */
	PH_STATUS,     /* a status word or (untagged) the first data token */
	PH_TEXT_START, /* after the status word: SP or the line end */
	PH_TEXT_OPEN,  /* after that SP: "[" or text */
	PH_CODE,       /* the code's name */
	PH_CODE_ARGS,  /* its arguments, up to "]" */
	PH_AFTER_CODE, /* SP, then text */
	PH_TEXT,       /* text up to the line end */
	PH_DATA,       /* tokens up to the line end */
	PH_DEAD,       /* after an error */
};

enum lex {
	LX_NONE,
	LX_ATOM,
	LX_QUOTED,
	LX_QUOTED_ESC,
	LX_TILDE,
	LX_LITLEN,
	LX_LIT_CR,
	LX_LIT_LF,
	LX_LITERAL,
	LX_CR,
};

/* step() results besides errors */
#define STEP_AGAIN 0 /* the byte was not taken: look at it again in the new state */
#define STEP_TAKEN 1
#define STEP_DONE 2 /* the byte (LF) ended the response */

static const char *const status_words[] = {NULL, "OK", "NO", "BAD", "BYE", "PREAUTH"};

int client_imap_parser_init(struct client_imap_parser *ps, struct arena *init_arena,
			    struct arena *resp_arena, size_t max_line, unsigned max_depth,
			    size_t max_items, size_t hold_max, uint64_t max_literal)
{
	if (!max_line || !max_depth || !max_items || !max_literal)
		return ERR_INVAL;
	memset(ps, 0, sizeof(*ps));
	ps->resp_arena = resp_arena;
	ps->max_line = max_line;
	ps->max_depth = max_depth;
	ps->max_items = max_items;
	ps->hold_max = hold_max;
	ps->max_literal = max_literal;
	ps->acc = arena_alloc(init_arena, max_line);
	/* one frame per open list, one for a code's arguments, one for the top level */
	ps->stack = arena_zalloc(init_arena, sizeof(*ps->stack) * (max_depth + 2));
	if (!ps->acc || !ps->stack)
		return ERR_NOMEM;
	ps->phase = PH_BEGIN;
	return 0;
}

uint64_t client_imap_parser_literal_left(const struct client_imap_parser *ps)
{
	return ps->lex == LX_LITERAL ? ps->lit_left : 0;
}

static int fail(struct client_imap_parser *ps, int e)
{
	ps->phase = PH_DEAD;
	return e;
}

static int begin_response(struct client_imap_parser *ps)
{
	ps->resp = arena_zalloc(ps->resp_arena, sizeof(*ps->resp));
	if (!ps->resp)
		return ERR_NOMEM;
	ps->resp->text = "";
	ps->depth = 0;
	ps->stack[0] = (struct client_imap_frame){&ps->resp->toks, NULL, 0};
	ps->items = 0;
	ps->line_len = 0;
	ps->acc_len = 0;
	ps->lex = LX_NONE;
	ps->phase = PH_FIRST;
	return 0;
}

static char *acc_dup(struct client_imap_parser *ps)
{
	return arena_strndup(ps->resp_arena, ps->acc, ps->acc_len);
}

static bool acc_is(const struct client_imap_parser *ps, const char *lit)
{
	return str_ieq(ps->acc, ps->acc_len, lit);
}

static unsigned parens(const struct client_imap_parser *ps)
{
	unsigned n = 0;
	for (unsigned i = 1; i <= ps->depth; i++)
		n += ps->stack[i].close == ')';
	return n;
}

/* Decide what the first token after "*" or a tag is. 1: it was the status word (not
 * to be added), 0: it is data, <0 error. */
static int status_token(struct client_imap_parser *ps, enum client_imap_tok_type type)
{
	if (type == CLIENT_IMAP_TOK_ATOM) {
		for (int st = CLIENT_IMAP_ST_OK; st <= CLIENT_IMAP_ST_PREAUTH; st++) {
			if (!acc_is(ps, status_words[st]))
				continue;
			if (ps->resp->kind == CLIENT_IMAP_RESP_TAGGED && st > CLIENT_IMAP_ST_BAD)
				return ERR_BAD_SYNTAX;
			ps->resp->status = (enum client_imap_status)st;
			ps->phase = PH_TEXT_START;
			return 1;
		}
	}
	if (ps->resp->kind == CLIENT_IMAP_RESP_TAGGED)
		return ERR_BAD_SYNTAX; /* a tagged response is always a status */
	ps->phase = PH_DATA;
	return 0;
}

/* A new token at the end of the open list; its bytes (if any) from acc. */
static int add_token(struct client_imap_parser *ps, enum client_imap_tok_type type,
		     bool with_acc, struct client_imap_tok **t_out)
{
	*t_out = NULL;
	if (ps->phase == PH_STATUS) {
		int r = status_token(ps, type);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (ps->items >= ps->max_items)
		return ERR_TOO_BIG;
	struct client_imap_tok *t = arena_zalloc(ps->resp_arena, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	if (type == CLIENT_IMAP_TOK_ATOM && acc_is(ps, "NIL")) {
		type = CLIENT_IMAP_TOK_NIL;
	} else if (with_acc) {
		t->s = acc_dup(ps);
		if (!t->s)
			return ERR_NOMEM;
		t->len = ps->acc_len;
	}
	t->type = type;
	ps->items++;
	struct client_imap_frame *f = &ps->stack[ps->depth];
	*f->tail = t;
	f->tail = &t->next;
	f->last = t;
	*t_out = t;
	return 0;
}

static int push(struct client_imap_parser *ps, struct client_imap_tok **tail, char close)
{
	if (close == ')' && parens(ps) >= ps->max_depth)
		return ERR_TOO_DEEP;
	ps->depth++;
	ps->stack[ps->depth] = (struct client_imap_frame){tail, NULL, close};
	return 0;
}

static int acc_put(struct client_imap_parser *ps, uint8_t c)
{
	/* the line bound keeps every token shorter than the buffer */
	if (ps->acc_len >= ps->max_line)
		return ERR_TOO_LONG;
	ps->acc[ps->acc_len++] = c;
	return 0;
}

/* The line end after "{n}": the literal's token, held or handed out. */
static int literal_start(struct client_imap_parser *ps)
{
	bool held = ps->lit_len <= ps->hold_max;
	struct client_imap_tok *before = ps->stack[ps->depth].last;
	struct client_imap_tok *t;
	ps->acc_len = 0;
	int r = add_token(ps, held ? CLIENT_IMAP_TOK_STRING : CLIENT_IMAP_TOK_STREAMED, false,
			  &t);
	if (r < 0)
		return r;
	if (!t) /* a literal cannot be a status word: add_token always adds it */
		return ERR_BAD_SYNTAX;
	t->len = ps->lit_len;
	if (held) {
		char *s = arena_zalloc(ps->resp_arena, (size_t)ps->lit_len + 1);
		if (!s)
			return ERR_NOMEM;
		t->s = s;
	}
	ps->lit_tok = t;
	ps->data_item = held ? NULL : (before && before != t ? before : NULL);
	ps->lit_left = ps->lit_len;
	ps->lex = ps->lit_len ? LX_LITERAL : LX_NONE;
	ps->line_len = 0; /* the literal's line ended; the rest is a line of its own */
	return STEP_TAKEN;
}

/* The LF that ends a line outside literals. */
static int line_end(struct client_imap_parser *ps)
{
	struct client_imap_resp *rp = ps->resp;
	switch (ps->phase) {
	case PH_TEXT_START:
	case PH_TEXT_OPEN:
	case PH_AFTER_CODE:
		return STEP_DONE;
	case PH_TEXT:
		rp->text = acc_dup(ps);
		return rp->text ? STEP_DONE : ERR_NOMEM;
	case PH_DATA:
		return ps->depth == 0 ? STEP_DONE : ERR_BAD_SYNTAX;
	default:
		return ERR_BAD_SYNTAX;
	}
}

static bool is_ctl(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

static bool atom_end(const struct client_imap_parser *ps, uint8_t c)
{
	return c == ' ' || c == '(' || c == ')' || c == '"' || c == '{' || c == '\r' ||
	       c == '\n' || (c == ']' && ps->stack[ps->depth].close == ']');
}

static int lex_atom(struct client_imap_parser *ps, uint8_t c)
{
	if (ps->bracket) {
		if (c == '\r' || c == '\n' || c == 0)
			return ERR_BAD_SYNTAX;
		ps->bracket += c == '[';
		ps->bracket -= c == ']';
		return acc_put(ps, c) < 0 ? ERR_TOO_LONG : STEP_TAKEN;
	}
	if (atom_end(ps, c)) {
		struct client_imap_tok *t;
		ps->lex = LX_NONE;
		int r = add_token(ps, CLIENT_IMAP_TOK_ATOM, true, &t);
		return r < 0 ? r : STEP_AGAIN;
	}
	if (is_ctl(c))
		return ERR_BAD_SYNTAX;
	ps->bracket += c == '[';
	return acc_put(ps, c) < 0 ? ERR_TOO_LONG : STEP_TAKEN;
}

/* A byte between tokens. */
static int lex_none(struct client_imap_parser *ps, uint8_t c)
{
	struct client_imap_tok *t;
	int r;
	switch (c) {
	case ' ':
		return STEP_TAKEN;
	case '(':
		r = add_token(ps, CLIENT_IMAP_TOK_LIST, false, &t);
		if (r < 0)
			return r;
		r = push(ps, &t->child, ')');
		return r < 0 ? r : STEP_TAKEN;
	case ')':
	case ']':
		if (ps->depth == 0 || ps->stack[ps->depth].close != (char)c)
			return ERR_BAD_SYNTAX;
		ps->depth--;
		if (c == ']')
			ps->phase = PH_AFTER_CODE;
		return STEP_TAKEN;
	case '"':
		ps->lex = LX_QUOTED;
		ps->acc_len = 0;
		return STEP_TAKEN;
	case '~':
		ps->lex = LX_TILDE;
		return STEP_TAKEN;
	case '{':
		ps->lex = LX_LITLEN;
		ps->lit_len = 0;
		ps->lit_digits = false;
		return STEP_TAKEN;
	case '\r':
		ps->lex = LX_CR;
		return STEP_TAKEN;
	case '\n':
		return line_end(ps);
	default:
		if (is_ctl(c))
			return ERR_BAD_SYNTAX;
		ps->lex = LX_ATOM;
		ps->acc_len = 0;
		ps->bracket = 0;
		return STEP_AGAIN;
	}
}

static int lex_litlen(struct client_imap_parser *ps, uint8_t c)
{
	if (c >= '0' && c <= '9') {
		if (ps->lit_len > (UINT64_MAX - 9) / 10)
			return ERR_TOO_BIG;
		ps->lit_len = ps->lit_len * 10 + (uint64_t)(c - '0');
		ps->lit_digits = true;
		return STEP_TAKEN;
	}
	if (c != '}' || !ps->lit_digits)
		return ERR_BAD_SYNTAX;
	if (ps->lit_len > ps->max_literal)
		return ERR_TOO_BIG;
	ps->lex = LX_LIT_CR;
	return STEP_TAKEN;
}

/* Generic tokens: PH_STATUS, PH_DATA, PH_CODE_ARGS. */
static int step_tokens(struct client_imap_parser *ps, uint8_t c)
{
	struct client_imap_tok *t;
	int r;
	switch (ps->lex) {
	case LX_NONE:
		return lex_none(ps, c);
	case LX_ATOM:
		return lex_atom(ps, c);
	case LX_QUOTED:
		if (c == '"') {
			ps->lex = LX_NONE;
			r = add_token(ps, CLIENT_IMAP_TOK_STRING, true, &t);
			return r < 0 ? r : STEP_TAKEN;
		}
		if (c == '\\') {
			ps->lex = LX_QUOTED_ESC;
			return STEP_TAKEN;
		}
		/* fall through */
	case LX_QUOTED_ESC:
		if (c == '\r' || c == '\n' || c == 0)
			return ERR_BAD_SYNTAX;
		ps->lex = LX_QUOTED;
		return acc_put(ps, c) < 0 ? ERR_TOO_LONG : STEP_TAKEN;
	case LX_TILDE:
		if (c == '{')
			return lex_none(ps, c);
		/* an atom that starts with "~" */
		ps->lex = LX_ATOM;
		ps->acc_len = 0;
		ps->bracket = 0;
		return acc_put(ps, '~') < 0 ? ERR_TOO_LONG : STEP_AGAIN;
	case LX_LITLEN:
		return lex_litlen(ps, c);
	case LX_LIT_CR:
		if (c == '\r') {
			ps->lex = LX_LIT_LF;
			return STEP_TAKEN;
		}
		/* a bare LF ends the line too */
		return c == '\n' ? literal_start(ps) : ERR_BAD_SYNTAX;
	case LX_LIT_LF:
		return c == '\n' ? literal_start(ps) : ERR_BAD_SYNTAX;
	default:
		return ERR_BAD_SYNTAX;
	}
}

static int step_first(struct client_imap_parser *ps, uint8_t c)
{
	if (c == '\r' || c == '\n') {
		/* "+" alone on its line: a continuation without text */
		if (!acc_is(ps, "+"))
			return ERR_BAD_SYNTAX;
		ps->resp->kind = CLIENT_IMAP_RESP_CONTINUE;
		ps->phase = PH_TEXT_START;
		return STEP_AGAIN;
	}
	if (c != ' ')
		return c <= ' ' || c == 0x7f || acc_put(ps, c) < 0 ? ERR_BAD_SYNTAX : STEP_TAKEN;
	if (ps->acc_len == 0)
		return ERR_BAD_SYNTAX;
	if (acc_is(ps, "*")) {
		ps->resp->kind = CLIENT_IMAP_RESP_UNTAGGED;
		ps->phase = PH_STATUS;
	} else if (acc_is(ps, "+")) {
		ps->resp->kind = CLIENT_IMAP_RESP_CONTINUE;
		ps->phase = PH_TEXT_OPEN;
	} else {
		ps->resp->kind = CLIENT_IMAP_RESP_TAGGED;
		ps->resp->tag = acc_dup(ps);
		if (!ps->resp->tag)
			return ERR_NOMEM;
		ps->phase = PH_STATUS;
	}
	ps->acc_len = 0;
	return STEP_TAKEN;
}

/* resp-text: [ "[" code [SP args] "]" SP ] text */
static int step_text(struct client_imap_parser *ps, uint8_t c)
{
	bool eol = c == '\r' || c == '\n';
	switch (ps->phase) {
	case PH_TEXT_START:
		if (c == ' ') {
			ps->phase = PH_TEXT_OPEN;
			return STEP_TAKEN;
		}
		ps->phase = eol ? PH_TEXT_START : PH_TEXT_OPEN;
		if (eol)
			break;
		return STEP_AGAIN;
	case PH_TEXT_OPEN:
		ps->acc_len = 0;
		if (c == '[') {
			ps->phase = PH_CODE;
			return STEP_TAKEN;
		}
		ps->phase = PH_TEXT;
		return STEP_AGAIN;
	case PH_CODE:
		if (c == ']' || c == ' ') {
			if (ps->acc_len == 0)
				return ERR_BAD_SYNTAX;
			ps->resp->code = acc_dup(ps);
			if (!ps->resp->code)
				return ERR_NOMEM;
			ps->acc_len = 0;
			if (c == ']') {
				ps->phase = PH_AFTER_CODE;
				return STEP_TAKEN;
			}
			ps->phase = PH_CODE_ARGS;
			int r = push(ps, &ps->resp->code_args, ']');
			return r < 0 ? r : STEP_TAKEN;
		}
		if (is_ctl(c) || c == '[')
			return ERR_BAD_SYNTAX;
		return acc_put(ps, c) < 0 ? ERR_TOO_LONG : STEP_TAKEN;
	case PH_AFTER_CODE:
		ps->acc_len = 0;
		if (c == ' ') {
			ps->phase = PH_TEXT;
			return STEP_TAKEN;
		}
		if (eol)
			break;
		ps->phase = PH_TEXT;
		return STEP_AGAIN;
	default: /* PH_TEXT */
		if (eol)
			break;
		if (c == 0)
			return ERR_BAD_SYNTAX;
		return acc_put(ps, c) < 0 ? ERR_TOO_LONG : STEP_TAKEN;
	}
	/* the line end */
	if (c == '\r') {
		ps->lex = LX_CR;
		return STEP_TAKEN;
	}
	return line_end(ps);
}

static int step(struct client_imap_parser *ps, uint8_t c)
{
	if (ps->lex == LX_CR) {
		if (c != '\n')
			return ERR_BAD_SYNTAX; /* a bare CR */
		ps->lex = LX_NONE;
		return line_end(ps);
	}
	switch (ps->phase) {
	case PH_FIRST:
		return step_first(ps, c);
	case PH_STATUS:
	case PH_DATA:
	case PH_CODE_ARGS:
		return step_tokens(ps, c);
	default:
		return step_text(ps, c);
	}
}

/* Literal bytes: into the held token, or handed out. */
static int literal_bytes(struct client_imap_parser *ps, const uint8_t *p, size_t n,
			 size_t *taken_out)
{
	struct client_imap_tok *t = ps->lit_tok;
	size_t m = n < ps->lit_left ? n : (size_t)ps->lit_left;
	uint64_t off = t->len - ps->lit_left;
	ps->lit_left -= m;
	*taken_out = m;
	if (ps->lit_left == 0)
		ps->lex = LX_NONE;
	if (t->type == CLIENT_IMAP_TOK_STRING) {
		memcpy((char *)t->s + off, p, m); /* arena storage sized at literal_start */
		return 0;
	}
	ps->data = p;
	ps->data_len = m;
	ps->data_off = off;
	ps->data_total = t->len;
	ps->data_tok = t;
	return CLIENT_IMAP_PARSE_DATA;
}

int client_imap_parse(struct client_imap_parser *ps, const uint8_t *p, size_t len,
		      size_t *used_out)
{
	size_t i = 0;
	*used_out = 0;
	if (ps->phase == PH_DEAD)
		return ERR_INVAL;
	while (i < len) {
		if (ps->phase == PH_BEGIN) {
			int r = begin_response(ps);
			if (r < 0)
				return fail(ps, r);
		}
		if (ps->lex == LX_LITERAL) {
			size_t m;
			int r = literal_bytes(ps, p + i, len - i, &m);
			i += m;
			if (r) {
				*used_out = i;
				return r;
			}
			continue;
		}
		if (ps->line_len >= ps->max_line)
			return fail(ps, ERR_TOO_LONG);
		int r = step(ps, p[i]);
		if (r < 0)
			return fail(ps, r);
		if (r == STEP_AGAIN)
			continue;
		i++;
		ps->line_len++;
		if (r == STEP_DONE) {
			ps->phase = PH_BEGIN;
			*used_out = i;
			return CLIENT_IMAP_PARSE_RESPONSE;
		}
	}
	*used_out = i;
	return 0;
}

int client_imap_tok_u64(const struct client_imap_tok *t, uint64_t *out)
{
	if (!t || t->type != CLIENT_IMAP_TOK_ATOM)
		return ERR_BAD_SYNTAX;
	return str_to_u64(t->s, (size_t)t->len, UINT64_MAX, out) < 0 ? ERR_BAD_SYNTAX : 0;
}

int client_imap_tok_u32(const struct client_imap_tok *t, uint32_t *out)
{
	uint64_t v;
	if (!t || t->type != CLIENT_IMAP_TOK_ATOM ||
	    str_to_u64(t->s, (size_t)t->len, UINT32_MAX, &v) < 0)
		return ERR_BAD_SYNTAX;
	*out = (uint32_t)v;
	return 0;
}

int client_imap_status_parse(const struct client_imap_tok *t,
			     const struct client_imap_tok **name_out,
			     struct client_imap_mailbox_status *out)
{
	static const struct {
		const char *name;
		unsigned item;
	} items[] = {
		{"MESSAGES", CLIENT_IMAP_STATUS_MESSAGES},
		{"UIDNEXT", CLIENT_IMAP_STATUS_UIDNEXT},
		{"UIDVALIDITY", CLIENT_IMAP_STATUS_UIDVALIDITY},
		{"HIGHESTMODSEQ", CLIENT_IMAP_STATUS_HIGHESTMODSEQ},
	};
	*out = (struct client_imap_mailbox_status){0};
	if (!t || (t->type != CLIENT_IMAP_TOK_ATOM && t->type != CLIENT_IMAP_TOK_STRING) ||
	    !t->next || t->next->type != CLIENT_IMAP_TOK_LIST || t->next->next)
		return ERR_BAD_SYNTAX;
	*name_out = t;
	for (const struct client_imap_tok *a = t->next->child; a; a = a->next->next) {
		if (!a->next || a->type != CLIENT_IMAP_TOK_ATOM)
			return ERR_BAD_SYNTAX;
		for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
			if (!client_imap_tok_is(a, items[i].name))
				continue;
			uint64_t v;
			/* RFC 7162 7: a mod-sequence is a positive 63-bit number (0 here: none) */
			uint64_t max = items[i].item == CLIENT_IMAP_STATUS_HIGHESTMODSEQ
					       ? (uint64_t)INT64_MAX
					       : UINT32_MAX;
			if (a->next->type != CLIENT_IMAP_TOK_ATOM ||
			    str_to_u64(a->next->s, (size_t)a->next->len, max, &v) < 0)
				return ERR_BAD_SYNTAX;
			out->has |= items[i].item;
			if (items[i].item == CLIENT_IMAP_STATUS_MESSAGES)
				out->messages = (uint32_t)v;
			else if (items[i].item == CLIENT_IMAP_STATUS_UIDNEXT)
				out->uidnext = (uint32_t)v;
			else if (items[i].item == CLIENT_IMAP_STATUS_UIDVALIDITY)
				out->uidvalidity = (uint32_t)v;
			else
				out->highestmodseq = v;
		}
	}
	return 0;
}

bool client_imap_tok_is(const struct client_imap_tok *t, const char *lit)
{
	return t && (t->type == CLIENT_IMAP_TOK_ATOM || t->type == CLIENT_IMAP_TOK_STRING) &&
	       str_ieq(t->s, (size_t)t->len, lit);
}
