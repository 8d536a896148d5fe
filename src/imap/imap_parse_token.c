/* imap_parse_token.c: the tokenizer of one complete command line (imap_parse.h "Tokens"):
 * tag, verb, and the arguments into the tree, each copied once into the command arena
 * (node and bytes in one allocation). A line here never holds its line end; a literal
 * may only be announced at its end. Limits: limits.depth (open lists), limits.args
 * (arguments in all lists), LIMIT_IMAP_LOG_LINE (the line kept for the log). */
#include "imap/imap_parse_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

/* Generated from the definitions in imap_parse_int.h (IMAP_CC_*); 0x80-0xff are in no
 * class: 8-bit octets travel only in quoted strings and literals. */
const uint8_t imap_char_class[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 */
    0x00, 0x1f, 0x00, 0x1f, 0x1f, 0x14, 0x1f, 0x1f,
    0x00, 0x00, 0x14, 0x17, 0x1f, 0x1f, 0x1f, 0x1f, /* 0x20 */
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, /* 0x30 */
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, /* 0x40 */
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x0f, 0x00, 0x1e, 0x1f, 0x1f, /* 0x50 */
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, /* 0x60 */
    0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f,
    0x1f, 0x1f, 0x1f, 0x00, 0x1f, 0x1f, 0x1f, 0x00, /* 0x70 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x80 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x90 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xa0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xb0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xc0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xd0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xe0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xf0 */
};

int imap_tok_fail(struct imap_parser *ps, int rc, const char *text)
{
	ps->err.tag = ps->cmd ? ps->cmd->tag : NULL;
	ps->err.text = text;
	ps->err.must_close = rc == ERR_NOMEM;
	return rc;
}

int imap_num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return ERR_BAD_SYNTAX;
	for (size_t i = 0; i < n; i++) {
		if (!imap_is_digit((unsigned char)s[i]))
			return ERR_BAD_SYNTAX;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return ERR_BAD_SYNTAX;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

struct imap_arg *imap_tok_new(struct imap_parser *ps, enum imap_arg_type type, size_t len,
                              int *rc_out)
{
	if (ps->nargs >= ps->lim.args) {
		*rc_out = imap_tok_fail(ps, ERR_TOO_BIG, "NO [LIMIT] Too many arguments");
		return NULL;
	}
	if (len > SIZE_MAX - sizeof(struct imap_arg) - 1) {
		*rc_out = imap_tok_fail(ps, ERR_NOMEM, "NO [LIMIT] Out of memory for this command");
		return NULL;
	}
	struct imap_arg *a = arena_alloc(ps->arena, sizeof(*a) + len + 1);
	if (!a) {
		*rc_out = imap_tok_fail(ps, ERR_NOMEM, "NO [LIMIT] Out of memory for this command");
		return NULL;
	}
	char *bytes = (char *)(a + 1);
	bytes[len] = '\0';
	*a = (struct imap_arg){.type = type, .s = bytes, .len = len};
	ps->nargs++;
	return a;
}

void imap_tok_link(struct imap_parser *ps, struct imap_arg *a)
{
	size_t d = ps->depth;
	if (ps->tail[d])
		ps->tail[d]->next = a;
	else if (d == 0)
		ps->cmd->args = a;
	else
		ps->tail[d - 1]->list = a;
	ps->tail[d] = a;
	if (d == 0)
		ps->cmd->nargs++;
	else
		ps->tail[d - 1]->count++;
}

struct imap_arg *imap_tok_add(struct imap_parser *ps, enum imap_arg_type type, size_t len,
                              int *rc_out)
{
	struct imap_arg *a = imap_tok_new(ps, type, len, rc_out);
	if (a)
		imap_tok_link(ps, a);
	return a;
}

/* Copy [s, s+n) as an argument of type. */
static int add_copy(struct imap_parser *ps, enum imap_arg_type type, const uint8_t *s, size_t n)
{
	int rc;
	struct imap_arg *a = imap_tok_add(ps, type, n, &rc);
	if (!a)
		return rc;
	if (n)
		memcpy((char *)a->s, s, n);
	return 0;
}

/* The verb named [s, s+n), as verb_find() (core/verb.h) finds it, or -1; with the
 * first octet compared first (this runs for every command). */
static int verb_lookup(const uint8_t *s, size_t n)
{
	for (int v = IMAP_VERB_NONE + 1; v < IMAP_VERB_COUNT; v++)
		if (imap_ieq(s, n, imap_verbs[v].name))
			return v;
	return -1;
}

/* tag SP [UID SP] verb: the start of a command's first line. *i ends after the verb. */
static int head(struct imap_parser *ps, const uint8_t *s, size_t n, size_t *i)
{
	size_t k = 0;
	if (n == 0)
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Empty command line");
	while (k < n && imap_is_tag_char(s[k]))
		k++;
	if (k == 0 || (k < n && s[k] != ' '))
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Invalid tag");
	struct imap_cmd *cmd = arena_zalloc(ps->arena, sizeof(*cmd));
	char *tag = cmd ? arena_strndup(ps->arena, s, k) : NULL;
	if (!tag)
		return imap_tok_fail(ps, ERR_NOMEM, "NO [LIMIT] Out of memory for this command");
	cmd->tag = tag;
	ps->cmd = cmd;
	ps->tail[0] = NULL;
	for (;;) {
		while (k < n && s[k] == ' ')
			k++;
		if (k == n)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     cmd->uid ? "BAD Missing command after UID"
			                              : "BAD Missing command");
		size_t v = k;
		while (k < n && s[k] != ' ')
			k++;
		int idx = verb_lookup(s + v, k - v);
		if (!cmd->uid && idx < 0 && imap_ieq(s + v, k - v, "UID")) {
			cmd->uid = true;
			continue;
		}
		if (idx < 0)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Unknown command");
		cmd->verb = (enum imap_verb)idx;
		if (cmd->uid && !imap_verb_uid_ok(cmd->verb))
			return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Unknown UID command");
		break;
	}
	if (!imap_verbs[cmd->verb].secret) {
		size_t keep = n < LIMIT_IMAP_LOG_LINE ? n : LIMIT_IMAP_LOG_LINE;
		cmd->line = arena_strndup(ps->arena, s, keep);
		if (!cmd->line)
			return imap_tok_fail(ps, ERR_NOMEM,
			                     "NO [LIMIT] Out of memory for this command");
	}
	*i = k;
	return 0;
}

/* quoted at s[*i] == DQUOTE. */
static int quoted(struct imap_parser *ps, const uint8_t *s, size_t n, size_t *i)
{
	size_t j = *i + 1, len = 0;
	for (;; j++, len++) {
		if (j == n)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Unterminated quoted string");
		unsigned char c = s[j];
		if (c == '"')
			break;
		if (c == '\\') {
			if (j + 1 == n || (s[j + 1] != '"' && s[j + 1] != '\\'))
				return imap_tok_fail(ps, ERR_BAD_SYNTAX,
				                     "BAD Invalid escape in quoted string");
			j++;
		} else if (c == '\0' || c == '\r') {
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     c ? "BAD Bare CR in quoted string"
			                       : "BAD NUL in quoted string");
		}
	}
	int rc;
	struct imap_arg *a = imap_tok_add(ps, IMAP_ARG_STRING, len, &rc);
	if (!a)
		return rc;
	char *d = (char *)a->s;
	for (size_t k = *i + 1; k < j; k++) {
		if (s[k] == '\\')
			k++;
		*d++ = (char)s[k];
	}
	*i = j + 1;
	return 0;
}

/* The bracketed part of an atom at s[*j] == '[': up to and past the ']'. */
static int bracket(struct imap_parser *ps, const uint8_t *s, size_t n, size_t *j)
{
	size_t k = *j + 1;
	bool in_quote = false;
	for (; k < n; k++) {
		unsigned char c = s[k];
		if (c < 0x20 || c >= 0x7f)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     "BAD Invalid character in section");
		if (in_quote) {
			if (c == '\\' && k + 1 < n)
				k++;
			else if (c == '"')
				in_quote = false;
			continue;
		}
		if (c == '"')
			in_quote = true;
		else if (c == ']')
			break;
		else if (c == '[' || c == '{')
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     "BAD Invalid character in section");
	}
	if (k == n)
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Missing ']'");
	*j = k + 1;
	return 0;
}

/* An atom (or NIL) at s[*i]. */
static int atom(struct imap_parser *ps, const uint8_t *s, size_t n, size_t *i)
{
	size_t j = *i;
	bool bracketed = false;
	if (s[j] == '\\')
		j++;
	for (;;) {
		while (j < n &&
		       ((imap_char_class[s[j]] & IMAP_CC_TOKEN) || (s[j] == '[' && bracketed)))
			j++;
		if (j < n && s[j] == '[' && !bracketed) {
			bracketed = true;
			int rc = bracket(ps, s, n, &j);
			if (rc < 0)
				return rc;
			continue;
		}
		break;
	}
	size_t len = j - *i;
	if (len == 0 || (len == 1 && s[*i] == '\\'))
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Invalid character");
	enum imap_arg_type type = IMAP_ARG_ATOM;
	if (len == 3 && imap_ieq(s + *i, 3, "NIL"))
		type = IMAP_ARG_NIL;
	*i = j;
	return add_copy(ps, type, s + *i - len, len);
}

/* "{n}", "{n+}", "~{n}", "~{n+}" at s[*i]: must end the line. */
static int literal(struct imap_parser *ps, const uint8_t *s, size_t n, size_t i,
                   struct imap_tok_lit *lit)
{
	lit->binary = s[i] == '~';
	size_t j = i + (lit->binary ? 2 : 1), d = j;
	while (j < n && imap_is_digit(s[j]))
		j++;
	size_t digits = j - d;
	bool plus = j < n && s[j] == '+';
	if (plus)
		j++;
	if (digits == 0 || j == n || s[j] != '}')
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Invalid literal");
	if (j + 1 != n)
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Literal must end the line");
	if (imap_num((const char *)s + d, digits, IMAP_NUMBER64_MAX, &lit->size) < 0)
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Invalid literal size");
	lit->sync = !plus;
	/* APPEND's message data: after the mailbox at the top level, or the literal8 of
	 * "UTF8 (~{n})" (RFC 6855 4) */
	const struct imap_cmd *cmd = ps->cmd;
	lit->stream = cmd->verb == IMAP_VERB_APPEND &&
	              ((ps->depth == 0 && cmd->nargs >= 1) ||
	               (ps->depth == 1 && ps->utf8_list && ps->tail[1] == NULL));
	return IMAP_TOK_LITERAL;
}

static int open_list(struct imap_parser *ps)
{
	if (ps->depth >= ps->lim.depth)
		return imap_tok_fail(ps, ERR_TOO_DEEP, "NO [LIMIT] Parentheses nested too deeply");
	const struct imap_arg *prev = ps->tail[0];
	bool utf8 = ps->cmd->verb == IMAP_VERB_APPEND && ps->depth == 0 && prev &&
	            prev->type == IMAP_ARG_ATOM && imap_ieq(prev->s, prev->len, "UTF8");
	int rc;
	if (!imap_tok_add(ps, IMAP_ARG_LIST, 0, &rc))
		return rc;
	ps->depth++;
	ps->tail[ps->depth] = NULL;
	if (ps->depth == 1)
		ps->utf8_list = utf8;
	return 0;
}

int imap_tok_segment(struct imap_parser *ps, const uint8_t *s, size_t n, struct imap_tok_lit *lit)
{
	size_t i = 0;
	int rc;
	if (!ps->cmd && (rc = head(ps, s, n, &i)) < 0)
		return rc;
	while (i < n) {
		unsigned char c = s[i];
		if (c == ' ') {
			ps->need_sep = false;
			i++;
			continue;
		}
		if (c == ')') {
			if (ps->depth == 0)
				return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Unexpected ')'");
			ps->depth--;
			ps->need_sep = true;
			i++;
			continue;
		}
		if (c == '\r')
			return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Bare CR");
		if (c == '\0')
			return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD NUL in command");
		if (c < 0x20 || c == 0x7f)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     "BAD Control character in command");
		if (c >= 0x80)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     "BAD 8-bit octet outside a quoted string or literal");
		if (ps->need_sep)
			return imap_tok_fail(ps, ERR_BAD_SYNTAX,
			                     "BAD Missing space between arguments");
		if (c == '(') {
			if ((rc = open_list(ps)) < 0)
				return rc;
			i++;
			continue;
		}
		if (c == '"')
			rc = quoted(ps, s, n, &i);
		else if (c == '{' || (c == '~' && i + 1 < n && s[i + 1] == '{'))
			return literal(ps, s, n, i, lit);
		else
			rc = atom(ps, s, n, &i);
		if (rc < 0)
			return rc;
		ps->need_sep = true;
	}
	if (ps->depth)
		return imap_tok_fail(ps, ERR_BAD_SYNTAX, "BAD Missing ')'");
	return IMAP_TOK_END;
}
