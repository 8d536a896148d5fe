/* client_imap_parse.h: the pure parser of what an IMAP server sends (RFC 9051 7, RFC 3501
 * 7): tagged, untagged and continuation responses, as a tree of tokens per response,
 * with big literals handed out in pieces instead of held. No I/O; allocation only from
 * the arenas given. Resumable at every byte: all progress lives in the parser struct.
 *
 * Grammar as read (lenient where real servers are, strict where it matters):
 *   - A response is "*", "+" or a tag, then SP. After "*" or a tag, OK/NO/BAD/BYE/PREAUTH
 *     (any case) make a status response: [SP "[" code [SP args] "]"] [SP] text. "+" is
 *     followed by the same resp-text. Every other untagged response is a sequence of
 *     tokens up to the line end (its first is the number of "* 5 EXISTS").
 *   - Tokens: atoms (any byte > 0x20 but 0x7f and ( ) { " and, in a code's arguments,
 *     ]; a "[" inside an atom opens a section read verbatim up to its "]", so
 *     BODY[HEADER.FIELDS (MESSAGE-ID)]<0> is one atom), NIL (any case: a token of its
 *     own type), quoted strings (\ escapes the next byte; CR, LF, NUL refused), literals
 *     {n} and literal8 ~{n} (RFC 3516) followed by CRLF, and parenthesized lists.
 *     Tokens are separated by one or more SP. 8-bit bytes are taken as they are (UTF-8
 *     names with UTF8=ACCEPT, servers' text).
 *   - A line ends at CRLF or a bare LF (servers differ); a CR not before LF, or NUL
 *     outside a literal: ERR_BAD_SYNTAX. A line end inside an open list is an error
 *     (only a literal may continue a response on the next line).
 *   - Bounds (checked before the byte is taken): max_line bytes per line (literal data
 *     not counted) ERR_TOO_LONG; max_depth open lists ERR_TOO_DEEP; max_items tokens
 *     per response ERR_TOO_BIG; a literal over max_literal ERR_TOO_BIG. Literals up to
 *     hold_max bytes are held in the response arena; longer ones are handed out.
 *   - Numbers are atoms; client_imap_tok_u32/u64 parse them (digits only, checked).
 * After an error the parser is not usable again (the engine drops the connection: a
 * client cannot know where the server's next response starts).
 *
 * Return values of client_imap_parse(): CLIENT_IMAP_PARSE_RESPONSE: a whole response is
 * in ps->resp (in the response arena; the caller may arena_reset() it once done with
 * the response, before the next call); CLIENT_IMAP_PARSE_DATA: a piece of a handed-out
 * literal in ps->data[0..data_len) (pointing into the input), at data_off of data_total,
 * ps->data_tok its token and ps->data_item the token before it in its list (the FETCH
 * item name) or NULL, ps->resp the response so far; 0: all input consumed, more is
 * needed; <0 an error. *used_out is always set. */
#ifndef KASTEN_CLIENT_IMAP_PARSE_H
#define KASTEN_CLIENT_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

enum client_imap_tok_type {
	CLIENT_IMAP_TOK_ATOM,
	CLIENT_IMAP_TOK_NIL,
	CLIENT_IMAP_TOK_STRING,   /* quoted or held literal */
	CLIENT_IMAP_TOK_LIST,
	CLIENT_IMAP_TOK_STREAMED, /* a literal handed out in pieces; len is its size */
};

struct client_imap_tok {
	enum client_imap_tok_type type;
	const char *s; /* ATOM, STRING: the bytes with a NUL after them (a literal may hold
			* NULs: use len) */
	uint64_t len;
	struct client_imap_tok *child; /* LIST: its first element */
	struct client_imap_tok *next;
};

enum client_imap_resp_kind {
	CLIENT_IMAP_RESP_UNTAGGED,
	CLIENT_IMAP_RESP_TAGGED,
	CLIENT_IMAP_RESP_CONTINUE,
};

enum client_imap_status {
	CLIENT_IMAP_ST_NONE, /* not a status response */
	CLIENT_IMAP_ST_OK,
	CLIENT_IMAP_ST_NO,
	CLIENT_IMAP_ST_BAD,
	CLIENT_IMAP_ST_BYE,
	CLIENT_IMAP_ST_PREAUTH,
};

struct client_imap_resp {
	enum client_imap_resp_kind kind;
	const char *tag; /* TAGGED */
	enum client_imap_status status;
	const char *code;                  /* the resp-text-code's name, NULL if none */
	struct client_imap_tok *code_args; /* its arguments, NULL if none */
	const char *text;                  /* resp-text after the code, "" if none */
	struct client_imap_tok *toks;      /* other responses: every token after "*" */
};

#define CLIENT_IMAP_PARSE_RESPONSE 1
#define CLIENT_IMAP_PARSE_DATA 2

struct client_imap_frame {
	struct client_imap_tok **tail; /* where the next token of this list goes */
	struct client_imap_tok *last;  /* the token appended last */
	char close;                    /* ')' or ']' (a code's arguments), 0 the top level */
};

struct client_imap_parser {
	/* configuration */
	struct arena *resp_arena;
	size_t max_line, hold_max, max_items;
	uint64_t max_literal;
	unsigned max_depth;
	/* the token being read, in a buffer of max_line bytes (from the init arena) */
	uint8_t *acc;
	size_t acc_len;
	struct client_imap_frame *stack; /* max_depth + 2 frames */
	unsigned depth;
	/* progress */
	int phase, lex;
	unsigned bracket;   /* "[" open inside an atom */
	size_t line_len, items;
	uint64_t lit_len, lit_left;
	bool lit_digits;
	struct client_imap_tok *lit_tok;
	struct client_imap_resp *resp;
	/* CLIENT_IMAP_PARSE_DATA */
	const uint8_t *data;
	size_t data_len;
	uint64_t data_off, data_total;
	struct client_imap_tok *data_tok, *data_item;
};

/* Set up: the token buffer and list stack come from init_arena (which must live as long
 * as the parser), responses from resp_arena. Bounds as described above (0 is not
 * allowed for any of them but hold_max). ERR_NOMEM, ERR_INVAL. */
int client_imap_parser_init(struct client_imap_parser *ps, struct arena *init_arena,
			    struct arena *resp_arena, size_t max_line, unsigned max_depth,
			    size_t max_items, size_t hold_max, uint64_t max_literal);
int client_imap_parse(struct client_imap_parser *ps, const uint8_t *p, size_t len,
		      size_t *used_out);
/* Octets of a literal still to come (the engine reads exactly these), 0 in line mode. */
uint64_t client_imap_parser_literal_left(const struct client_imap_parser *ps);

/* The data of an untagged STATUS response (RFC 9051 7.2.4), t the token after "STATUS":
 * the mailbox (an astring, into *name_out as sent: not decoded), then a list of
 * attribute-value pairs. MESSAGES, UIDNEXT, UIDVALIDITY (32-bit numbers) and
 * HIGHESTMODSEQ (RFC 7162 mod-sequence-valzer, 63 bits) fill out (out->name stays
 * NULL) and set their bit in out->has; a repeated one counts last; any other item
 * (UNSEEN, RECENT, SIZE, APPENDLIMIT NIL, MAILBOXID (...)) is passed over with its one
 * value token. ERR_BAD_SYNTAX for a missing name or list, a pair without its value, or
 * a known item whose value is not a number in range. Pure: reads the tokens only. */
struct client_imap_mailbox_status;
int client_imap_status_parse(const struct client_imap_tok *t,
			     const struct client_imap_tok **name_out,
			     struct client_imap_mailbox_status *out);

/* Checked decimal numbers of an atom: ERR_BAD_SYNTAX for anything else. */
int client_imap_tok_u32(const struct client_imap_tok *t, uint32_t *out);
int client_imap_tok_u64(const struct client_imap_tok *t, uint64_t *out);
/* An atom or string equal to lit, ASCII case-insensitively. */
bool client_imap_tok_is(const struct client_imap_tok *t, const char *lit);

#endif
