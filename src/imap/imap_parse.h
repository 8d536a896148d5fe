/* imap_parse.h: the pure IMAP command parser (RFC 9051 9, RFC 3501 9). No I/O: the
 * session feeds the bytes it received and gets whole commands out, resumable at every
 * byte offset; pipelined commands come out one call at a time.
 *
 * A command is tokenized generically into a tree of arguments (struct imap_arg); the
 * handlers' own parsers (imap_parse_seqset, imap_parse_fetch, imap_parse_search, ...)
 * interpret that tree. The verb decides only what the tokenizer must know itself: the
 * table of commands (imap_verbs[], the shape of core/verb.h) and where a literal is
 * message data to be streamed rather than held (APPEND).
 *
 * Tokens (RFC 9051 9: tag, atom, quoted, literal, literal8, list, NIL):
 *  - A line ends at CRLF; a bare LF is accepted as a line end (clients send it and it
 *    smuggles nothing here), a bare CR is BAD. NUL is BAD outside a literal.
 *  - tag: ASTRING-CHARs but '+'; must be followed by one SP. A line without a valid tag
 *    is answered "* BAD" (no tag to answer with).
 *  - Arguments are separated by exactly one SP (several are tolerated); a trailing SP is
 *    tolerated.
 *  - atom: ATOM-CHARs plus ']' (resp-specials) and the list-wildcards '%' '*' (LIST
 *    patterns, sequence sets), and a leading '\' (flags, LIST-EXTENDED return options).
 *    An atom may carry one bracketed part "[...]", in which SP, '(' and ')' and quoted
 *    strings are allowed (RFC 9051 fetch-att "BODY[HEADER.FIELDS (A B)]<0.100>",
 *    "BINARY.PEEK[1]"); the atom goes on after the ']' ("<0.100>"). "NIL" in any case
 *    is IMAP_ARG_NIL, except as the verb.
 *  - quoted: DQUOTE, with backslash escaping only '"' and '\'; CR, LF and NUL are BAD;
 *    8-bit bytes are allowed (UTF-8 mailbox names and SEARCH strings; the handler
 *    decides, e.g. UTF-8 must be valid).
 *  - literal "{n}" CRLF, "{n+}" CRLF (LITERAL+, RFC 7888), "~{n}" / "~{n+}" (literal8,
 *    RFC 3516): n is decimal without sign, leading zeros allowed, checked arithmetic.
 *    A synchronizing literal is accepted or refused before a single octet of it is
 *    read: the parser returns IMAP_PARSE_CONTINUE and the session sends
 *    "+ Ready for literal data" (or refuses the command, see errors).
 *  - list: "(" args ")" nested at most limits.depth deep.
 *
 * Message data of APPEND (RFC 9051 6.3.12, MULTIAPPEND RFC 3502, CATENATE is not
 * offered): every literal in the message position of an APPEND is streamed, never held:
 * the parser returns IMAP_PARSE_STREAM with stream_size/stream_sync/stream_binary set
 * and the partial command so far in *cmd_out (tag, verb, mailbox, flags, date); the
 * session sends "+" first if stream_sync, then takes exactly stream_size octets itself
 * (spooling them), calls imap_parse_stream_done(), and goes on calling imap_parse():
 * more messages (MULTIAPPEND) give more STREAM results, the final CRLF gives DONE with
 * the whole command (each message as an IMAP_ARG_STREAM argument holding its size).
 *
 * Limits (struct imap_limits, from core/limits.h; the pre-authentication values are
 * the smaller ones and apply until imap_parser_set_auth(ps, true)):
 *  - line: octets of the command outside literals, CRLF included;
 *  - literal: octets of one literal held in memory (not streamed);
 *  - total: octets of one command, held literals included;
 *  - literal_minus: a non-synchronizing literal may not exceed this without LITERAL+
 *    (we advertise LITERAL+, so it is used only before authentication);
 *  - stream: octets of one streamed message (APPENDLIMIT);
 *  - depth: parenthesis nesting; args: arguments in all lists of one command.
 * A limit is checked before the bytes are consumed: a synchronizing literal that is
 * too big is refused before the client sends it; a non-synchronizing one is read and
 * thrown away, so the stream stays in sync (RFC 7888 4), then the command is refused.
 *
 * Returns of imap_parse(): IMAP_PARSE_DONE, IMAP_PARSE_CONTINUE, IMAP_PARSE_STREAM, 0 (all
 * of p consumed, feed more), or a negative error for one command: ps->err says what to
 * answer (tag if known, the response "BAD ..." or "NO [TOOBIG] ..." text) and whether
 * the connection must close (the stream cannot be resynchronized, e.g. a line with no
 * end past the line limit while unauthenticated). Otherwise the parser resynchronizes by
 * itself: it skips to the end of the bad line (reading through any literals announced
 * on it) before it parses the next command. ERR_NOMEM: the command arena is full
 * (answer "NO [LIMIT]"/BYE and close). *used_out is always set.
 *
 * Memory: the session's command arena (reset by the session after each command) holds
 * the argument tree; the parser itself holds only the partly received line, in a buffer
 * made on first need from the session arena and kept (at most limits.line octets). */
#ifndef KASTEN_IMAP_PARSE_H
#define KASTEN_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/verb.h"

struct arena;

/* ---- the command table ---- */
enum imap_verb {
	IMAP_VERB_NONE = 0, /* no valid command (errors) */
	/* any state (RFC 9051 6.1) */
	IMAP_VERB_CAPABILITY,
	IMAP_VERB_NOOP,
	IMAP_VERB_LOGOUT,
	IMAP_VERB_ID,        /* RFC 2971 */
	IMAP_VERB_COMPRESS,  /* RFC 4978: authenticated and selected states */
	/* not authenticated (6.2) */
	IMAP_VERB_STARTTLS,
	IMAP_VERB_AUTHENTICATE,
	IMAP_VERB_LOGIN,
	/* authenticated (6.3) */
	IMAP_VERB_ENABLE,
	IMAP_VERB_SELECT,
	IMAP_VERB_EXAMINE,
	IMAP_VERB_CREATE,
	IMAP_VERB_DELETE,
	IMAP_VERB_RENAME,
	IMAP_VERB_SUBSCRIBE,
	IMAP_VERB_UNSUBSCRIBE,
	IMAP_VERB_LIST,
	IMAP_VERB_LSUB,      /* rev1 only (RFC 3501 6.3.9) */
	IMAP_VERB_NAMESPACE, /* RFC 2342 */
	IMAP_VERB_STATUS,
	IMAP_VERB_APPEND,
	IMAP_VERB_IDLE,      /* RFC 2177 */
	IMAP_VERB_GETQUOTA,  /* RFC 9208 */
	IMAP_VERB_GETQUOTAROOT,
	IMAP_VERB_SETQUOTA,  /* refused: quotas are the administrator's */
	/* selected (6.4) */
	IMAP_VERB_CHECK,     /* rev1 only */
	IMAP_VERB_CLOSE,
	IMAP_VERB_UNSELECT,  /* RFC 3691 */
	IMAP_VERB_EXPUNGE,
	IMAP_VERB_SEARCH,
	IMAP_VERB_FETCH,
	IMAP_VERB_STORE,
	IMAP_VERB_COPY,
	IMAP_VERB_MOVE,      /* RFC 6851 */
	IMAP_VERB_SORT,      /* RFC 5256 */
	IMAP_VERB_THREAD,
	IMAP_VERB_COUNT
};

/* Session states as bits for verb_spec.states (RFC 9051 3). */
#define IMAP_ST_NOTAUTH 0x1u
#define IMAP_ST_AUTH 0x2u
#define IMAP_ST_SELECTED 0x4u

/* Indexed by enum imap_verb. min/max_args count the arguments after the verb (UID
 * commands: after the verb that follows UID); cleartext_login: LOGIN and AUTHENTICATE;
 * secret: LOGIN (the password; AUTHENTICATE's secrets come as continuation lines). */
extern const struct verb_spec imap_verbs[IMAP_VERB_COUNT];
/* Verbs that may follow "UID": COPY MOVE FETCH SEARCH STORE EXPUNGE SORT THREAD. */
bool imap_verb_uid_ok(enum imap_verb v);

/* ---- the argument tree ---- */
enum imap_arg_type {
	IMAP_ARG_ATOM,   /* as sent, case kept; may include one "[...]" part (see above) */
	IMAP_ARG_STRING, /* a quoted string, unescaped */
	IMAP_ARG_LITERAL,/* a literal held in memory (literal8 marked by binary) */
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
	IMAP_ARG_STREAM, /* APPEND message data the session streamed: size only */
};

struct imap_arg {
	enum imap_arg_type type;
	struct imap_arg *next;  /* next sibling, NULL at the end of its list */
	/* ATOM, STRING, LITERAL: the bytes, NUL-terminated for convenience (a literal may
	 * hold NULs itself: use len) */
	const char *s;
	size_t len;
	/* LIST: the first child (NULL for "()") and the number of children */
	struct imap_arg *list;
	size_t count;
	bool binary;            /* LITERAL or STREAM sent as literal8 (~{n}) */
	uint64_t size;          /* STREAM: octets the session consumed */
};

/* One parsed command; lives in the command arena until the session resets it. */
struct imap_cmd {
	const char *tag;
	enum imap_verb verb;
	bool uid;               /* "UID" prefix */
	struct imap_arg *args;  /* the first argument after the verb, NULL if none */
	size_t nargs;           /* top-level arguments */
	const char *line;       /* the line up to the first literal, for the debug log;
				 * NULL for secret verbs (imap_verbs[verb].secret) */
};

/* Limits, in octets or counts; imap_limits_default() fills them from core/limits.h. */
struct imap_limits {
	size_t line, literal, total, literal_minus, depth, args;
	uint64_t stream;
};
void imap_limits_default(struct imap_limits *lim, bool authenticated, uint64_t appendlimit);

/* What to answer for a refused command. */
struct imap_parse_err {
	const char *tag;   /* NULL: untagged ("* BAD ...") */
	const char *text;  /* the response after the tag: "BAD Missing space after tag",
			    * "NO [TOOBIG] Literal too large" ...; static or in the arena */
	bool must_close;   /* answer "* BYE ..." and close */
};

#define IMAP_PARSE_DONE 1
#define IMAP_PARSE_CONTINUE 2
#define IMAP_PARSE_STREAM 3

struct imap_parser {
	/* private: the implementation's state; the session reads only the fields below */
	struct arena *session_arena, *cmd_arena;
	struct imap_limits lim;
	struct buf line;            /* the partly received line (made on first need) */
	unsigned state;
	uint64_t literal_left;      /* octets of the current literal still to come */
	uint64_t skip_left;         /* octets to throw away while resynchronizing */
	size_t depth, nargs, total;
	bool skipping, authenticated;
	struct imap_cmd *cmd;       /* the command being built */
	struct imap_arg *stack[64]; /* open lists; depth never exceeds lim.depth <= 64 */
	struct imap_arg *last;      /* the argument appended last */
	/* public results */
	uint64_t stream_size;       /* IMAP_PARSE_STREAM: octets the session must take */
	bool stream_sync;           /* ... after sending a "+" continuation */
	bool stream_binary;         /* ... sent as literal8 */
	struct imap_parse_err err;  /* after a negative return */
};

/* session_arena lives as long as the parser; cmd_arena holds each command and may be
 * reset by the session after the command is answered (never while a command is being
 * received: imap_parse() returned 0, CONTINUE or STREAM). Unauthenticated limits. */
void imap_parser_init(struct imap_parser *ps, struct arena *session_arena,
		      struct arena *cmd_arena, uint64_t appendlimit);
/* Switch to the authenticated limits (after LOGIN/AUTHENTICATE succeeded). */
void imap_parser_set_auth(struct imap_parser *ps, bool authenticated);
/* Forget a partly received command, e.g. after STARTTLS (everything before the
 * handshake is dropped) or when the session refused a synchronizing literal. */
void imap_parser_reset(struct imap_parser *ps);
/* See the top of this file. */
int imap_parse(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *used_out,
	       struct imap_cmd **cmd_out);
/* The session took the stream_size octets of a STREAM result. */
void imap_parse_stream_done(struct imap_parser *ps);
/* The session refuses the synchronizing literal it was just asked about (CONTINUE or a
 * synchronizing STREAM): the command is dropped and the parser skips to the end of the
 * line; the session answers the command itself (e.g. "NO [OVERQUOTA]"). */
void imap_parse_refuse_literal(struct imap_parser *ps);

/* One line of an AUTHENTICATE exchange or the "DONE" of IDLE: not a command. Reads up
 * to the line end (at most limits.line octets): 1 with *line_out / *len_out (CRLF
 * removed, in the command arena), 0 for more input, ERR_TOO_LONG (skipped to its end). */
int imap_parse_line(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *used_out,
		    const char **line_out, size_t *len_out);

/* ---- interpreting arguments (imap_parse_*.c) ---- */

/* A string argument: ATOM (astring chars only), STRING or LITERAL; NULL otherwise. */
const char *imap_arg_astring(const struct imap_arg *a, size_t *len_out);
/* ... or NIL (nstring): *is_nil_out set. */
const char *imap_arg_nstring(const struct imap_arg *a, size_t *len_out, bool *is_nil_out);

/* Sequence sets (RFC 9051 9 sequence-set, with "$" for SEARCHRES, RFC 5182). Ranges
 * are kept as given (n:m and m:n are the same range, "*" is UINT32_MAX); the handler
 * maps them with the mailbox's numbers. At most LIMIT_IMAP_SEQSET ranges. */
struct imap_seqset {
	struct {
		uint32_t lo, hi; /* lo <= hi; "*" is UINT32_MAX */
	} *r;
	size_t n;
	bool saved; /* "$": the result saved by SEARCH ... SAVE */
};
int imap_parse_seqset(const char *s, size_t len, struct arena *a, struct imap_seqset *out);
/* Is n in the set, with star = the value "*" stands for (the highest number in use)? */
bool imap_seqset_has(const struct imap_seqset *set, uint32_t n, uint32_t star);

/* A body section (RFC 9051 6.4.5 section-spec), as FETCH BODY[...] / BINARY[...] and
 * the formatter that locates it in a message (imap_fmt.h) share it. */
enum imap_section_kind {
	IMAP_SECTION_ALL,            /* BODY[] or BODY[1.2]: the part's content */
	IMAP_SECTION_HEADER,         /* HEADER */
	IMAP_SECTION_HEADER_FIELDS,  /* HEADER.FIELDS (a b) */
	IMAP_SECTION_HEADER_NOT,     /* HEADER.FIELDS.NOT (a b) */
	IMAP_SECTION_TEXT,           /* TEXT */
	IMAP_SECTION_MIME,           /* MIME: the part's own MIME header (needs a part) */
};

struct imap_section {
	uint32_t part[LIMIT_MIME_DEPTH]; /* the part numbers "1.2.3", nparts of them */
	size_t nparts;
	enum imap_section_kind kind;
	const char **fields;             /* HEADER.FIELDS(.NOT): names as sent, nfields */
	size_t nfields;
};

/* Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8, for rev1 mailbox names. Decoding refuses
 * what RFC 3501 forbids (unnecessary shifts, bad base64, printable ASCII encoded, bad
 * UTF-16, a name that is not valid UTF-8 afterwards): ERR_BAD_SYNTAX. */
int imap_mutf7_decode(const char *s, size_t len, struct arena *a, char **out);
int imap_mutf7_encode(const char *utf8, size_t len, struct arena *a, char **out);

#endif
