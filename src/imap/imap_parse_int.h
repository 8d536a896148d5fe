/* imap_parse_int.h: what the files of the IMAP parser share and nobody else needs: the
 * character classes of RFC 9051 9, checked decimal numbers, the segment tokenizer that
 * imap_parse.c drives (imap_parse_token.c), and the SEARCH key parser that SEARCH, SORT
 * and THREAD share (imap_parse_search.c). */
#ifndef KASTEN_IMAP_PARSE_INT_H
#define KASTEN_IMAP_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "imap/imap_parse.h"

/* ---- character classes (RFC 9051 9) ---- */

/* The classes of every octet, as bits of imap_char_class[] (imap_parse_token.c): one
 * table lookup per octet in the loops that run for every command. test_imap_parse_args
 * checks the table against the grammar. */
#define IMAP_CC_ATOM 0x01    /* ATOM-CHAR: CHAR but "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]" */
#define IMAP_CC_ASTRING 0x02 /* ASTRING-CHAR: ATOM-CHAR or "]" */
#define IMAP_CC_LIST 0x04    /* list-char: ATOM-CHAR, "%", "*", "]" */
#define IMAP_CC_TAG 0x08     /* tag: ASTRING-CHAR but "+" */
#define IMAP_CC_TOKEN                                                                              \
	0x10 /* goes on an atom in the tokenizer: ATOM-CHAR, "%" "*" "]",                          \
	      * not "[" (it opens the bracketed part) */
extern const uint8_t imap_char_class[256];

static inline bool imap_is_atom_char(unsigned char c)
{
	return imap_char_class[c] & IMAP_CC_ATOM;
}

static inline bool imap_is_astring_char(unsigned char c)
{
	return imap_char_class[c] & IMAP_CC_ASTRING;
}

static inline bool imap_is_list_char(unsigned char c)
{
	return imap_char_class[c] & IMAP_CC_LIST;
}

static inline bool imap_is_tag_char(unsigned char c)
{
	return imap_char_class[c] & IMAP_CC_TAG;
}

static inline bool imap_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* [s, s+n) equals name, ASCII case-insensitively. Name tables are searched linearly
 * and most names differ in their first octet, so that is compared first: it keeps
 * str_ieq()'s strlen calls off the path of every command. */
static inline bool imap_ieq(const void *s, size_t n, const char *name)
{
	const unsigned char *p = s;
	if (n == 0 || (p[0] | 0x20) != ((unsigned char)name[0] | 0x20))
		return n == 0 && name[0] == '\0';
	return str_ieq(s, n, name);
}

/* Decimal digits [s, s+n) as a number at most max (leading zeros allowed, any count):
 * 0 or ERR_BAD_SYNTAX (empty, not a digit, past max). */
int imap_num(const char *s, size_t n, uint64_t max, uint64_t *out);

/* ---- the tokenizer (imap_parse_token.c), driven by imap_parse.c ---- */

/* A literal announced at the end of a segment. */
struct imap_tok_lit {
	uint64_t size;
	bool sync;   /* "{n}" rather than "{n+}" */
	bool binary; /* "~{n}" */
	bool stream; /* APPEND message data (see imap_parse.h) */
};

#define IMAP_TOK_END 1     /* the command's last line was tokenized */
#define IMAP_TOK_LITERAL 2 /* a literal is announced at the end of the segment */

/* Tokenize one line segment [s, s+n) (the CR LF or LF removed): the first segment of a
 * command starts with its tag and verb; a later one follows a literal. Appends the
 * arguments to ps->cmd. Returns IMAP_TOK_END, IMAP_TOK_LITERAL (*lit set) or a
 * negative error with ps->err set. */
int imap_tok_segment(struct imap_parser *ps, const uint8_t *s, size_t n, struct imap_tok_lit *lit);
/* A new argument of type with room for len octets (+ NUL), counted against
 * limits.args; NULL with ps->err set (*rc_out the error). */
struct imap_arg *imap_tok_new(struct imap_parser *ps, enum imap_arg_type type, size_t len,
                              int *rc_out);
/* Append it at the current level (a literal: once its octets are in). */
void imap_tok_link(struct imap_parser *ps, struct imap_arg *a);
/* Both. */
struct imap_arg *imap_tok_add(struct imap_parser *ps, enum imap_arg_type type, size_t len,
                              int *rc_out);
/* Set ps->err for the current command (tagged if its tag is known) and return rc. */
int imap_tok_fail(struct imap_parser *ps, int rc, const char *text);

/* ---- SEARCH keys (imap_parse_search.c), for SEARCH, SORT and THREAD ---- */

/* The charset argument: 0, or ERR_INVAL with the BADCHARSET answer in *why_out. */
int imap_search_charset(const struct imap_arg *a, enum imap_charset *out, const char **why_out);
/* The keys from a to the end of its list into prog (root, rev1_keys, modseq, saved). */
int imap_search_keys(const struct imap_arg *a, struct arena *arena, struct imap_search_prog *prog,
                     const char **why_out);

#endif
