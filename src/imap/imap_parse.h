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
 *    smuggles nothing here), a bare CR is BAD. NUL is BAD outside a literal, and so is
 *    every other control octet (TAB included) outside a literal.
 *  - An empty line is answered "* BAD Empty command line".
 *  - tag: ASTRING-CHARs but '+' (7-bit only); must be followed by SP. A line whose tag is
 *    missing or holds another octet is answered "* BAD" (no tag to answer with); a tag
 *    followed by the line end gets "<tag> BAD Missing command".
 *  - verb: an atom, case-insensitive; "UID" takes the next atom as the verb, which must
 *    be one of imap_verb_uid_ok(). An unknown verb is "<tag> BAD Unknown command".
 *  - Arguments are separated by one SP; several are tolerated, and so are SPs after
 *    "(", before ")" and at the end of the line. After an argument or ")" the next octet
 *    must be SP, ")" or the line end: "a(b" and "(a)(b)" are BAD.
 *  - atom: ATOM-CHARs plus ']' (resp-specials) and the list-wildcards '%' '*' (LIST
 *    patterns, sequence sets), and a leading '\' (flags, LIST-EXTENDED return options).
 *    An atom may carry one bracketed part "[...]", in which SP, '(' and ')' and quoted
 *    strings are allowed (RFC 9051 fetch-att "BODY[HEADER.FIELDS (A B)]<0.100>",
 *    "BINARY.PEEK[1]", mailbox names such as "[Gmail]/Sent"); the atom goes on after the
 *    ']' ("<0.100>"). No literal inside the brackets (header-fld-name may be a literal
 *    by the grammar; no client sends one). 8-bit octets in an atom are BAD (RFC 9051:
 *    UTF-8 travels in quoted strings and literals only). "NIL" in any case is
 *    IMAP_ARG_NIL (keeping the text as sent: an astring "NIL" is a mailbox name).
 *  - quoted: DQUOTE, with backslash escaping only '"' and '\'; CR, LF and NUL are BAD;
 *    8-bit octets are allowed and not checked (UTF-8 mailbox names and SEARCH strings;
 *    the handler decides, e.g. UTF-8 must be valid).
 *  - literal "{n}" CRLF, "{n+}" CRLF (LITERAL+, RFC 7888), "~{n}" / "~{n+}" (literal8,
 *    RFC 3516): n is decimal without sign, leading zeros allowed, at most 2^63-1
 *    (number64, RFC 9051 9), checked arithmetic. "{", "{}", "{x}", "{5} " and "{5}x"
 *    are BAD; the announcement must end the line. A synchronizing literal is accepted
 *    or refused before a single octet of it is read: the parser returns
 *    IMAP_PARSE_CONTINUE and the session sends "+ Ready for literal data" (or refuses
 *    the command, see imap_parse_refuse_literal()).
 *  - list: "(" args ")" nested at most limits.depth deep.
 *
 * Message data of APPEND (RFC 9051 6.3.12, MULTIAPPEND RFC 3502, UTF8 RFC 6855 4;
 * CATENATE is not offered): a literal of APPEND at the top level after the mailbox, or
 * the literal8 in "UTF8 (~{n}...)", is message data and is streamed, never held: the
 * parser returns IMAP_PARSE_STREAM with stream_size/stream_sync/stream_binary set and
 * the partial command so far in *cmd_out (tag, verb, mailbox, flags, date and the
 * message as its last IMAP_ARG_STREAM argument; imap_parse_append() reads it). The
 * session checks the command (verb_check: state, TLS) and the message (size, quota),
 * sends "+" first if stream_sync, then takes exactly stream_size octets itself (spooling
 * them), calls imap_parse_stream_done(), and goes on calling imap_parse(): more messages
 * (MULTIAPPEND) give more STREAM results, the final CRLF gives DONE with the whole
 * command. Or it refuses with imap_parse_refuse_literal().
 *
 * Limits (struct imap_limits, from core/limits.h; the pre-authentication values are
 * the smaller ones and apply until imap_parser_set_auth(ps, true)):
 *  - line: octets of the command outside literals, CRLF included (all its lines);
 *  - literal: octets of one literal held in memory (not streamed);
 *  - total: octets of one command, held literals included;
 *  - literal_minus: a non-synchronizing literal may not exceed this without LITERAL+
 *    (we advertise LITERAL+ after login, LITERAL- before: RFC 7888 4);
 *  - stream: octets of one streamed message (APPENDLIMIT, RFC 7889);
 *  - discard: the most octets of a refused non-synchronizing literal the parser reads
 *    and throws away to stay in sync; past it the connection must close;
 *  - depth: parenthesis nesting; args: arguments in all lists of one command.
 * A limit is checked before the bytes are consumed: a synchronizing literal that is
 * too big is refused before the client sends it; a non-synchronizing one is read and
 * thrown away (up to limits.discard), so the stream stays in sync (RFC 7888 4).
 *
 * What is answered (ps->err.text; RFC 9051 7.1 BAD/NO, RFC 5530 and RFC 4469 codes):
 *   syntax of the line                     BAD <what>
 *   line past limits.line                  BAD [TOOBIG] Command line too long
 *                                          (closes before authentication)
 *   LITERAL- literal past literal_minus    BAD [TOOBIG] ... (RFC 7888 4)
 *   literal past limits.literal            NO [TOOBIG] Literal too large
 *   command past limits.total              NO [TOOBIG] Command too large
 *                                          (closes before authentication when its
 *                                          lines, not a literal, pass the limit)
 *   message past limits.stream             NO [TOOBIG] Message too large (APPENDLIMIT)
 *   nesting past depth, more than args     NO [LIMIT] ...
 *   arena exhausted (ERR_NOMEM)            NO [LIMIT] ..., must_close
 *   non-synchronizing literal past discard, or a non-synchronizing literal whose size
 *   does not parse (the octets after it cannot be told from commands): must_close.
 *
 * Returns of imap_parse(): IMAP_PARSE_DONE, IMAP_PARSE_CONTINUE, IMAP_PARSE_STREAM, 0 (all
 * of p consumed, feed more), or a negative error for one command (ERR_BAD_SYNTAX,
 * ERR_TOO_LONG for the line, ERR_TOO_BIG for literals, totals and argument counts,
 * ERR_TOO_DEEP for nesting, ERR_NOMEM): ps->err says what to answer (tag if known, the
 * response "BAD ..." or "NO [TOOBIG] ..." text) and whether the connection must close
 * (the stream cannot be resynchronized). Otherwise the parser resynchronizes by itself:
 * it skips to the end of the bad line, reading through the octets of any
 * non-synchronizing literal announced at the end of it (and of the lines after such a
 * literal), before it parses the next command; a synchronizing literal announced on a
 * refused line is never sent by the client. *used_out is always set.
 *
 * Memory: the command arena (reset by the session after each command, or freed while
 * the session is idle) holds the argument tree, the held literals, and a line that
 * arrives in pieces (copied once, at most limits.line octets). A line that arrives
 * whole is tokenized in place. Between commands (after DONE or an error) the parser
 * holds nothing in the arena; a partly received command keeps its bytes there, so
 * the session must not reset the arena while imap_parse() has consumed octets of a
 * command it has not yet returned (0 after used > 0, CONTINUE, STREAM). */
#ifndef KASTEN_IMAP_PARSE_H
#define KASTEN_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	IMAP_VERB_ID,       /* RFC 2971 */
	IMAP_VERB_COMPRESS, /* RFC 4978: authenticated and selected states */
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
	IMAP_VERB_IDLE,     /* RFC 2177 */
	IMAP_VERB_GETQUOTA, /* RFC 9208 */
	IMAP_VERB_GETQUOTAROOT,
	IMAP_VERB_SETQUOTA, /* refused: quotas are the administrator's */
	/* selected (6.4) */
	IMAP_VERB_CHECK, /* rev1 only */
	IMAP_VERB_CLOSE,
	IMAP_VERB_UNSELECT, /* RFC 3691 */
	IMAP_VERB_EXPUNGE,
	IMAP_VERB_SEARCH,
	IMAP_VERB_FETCH,
	IMAP_VERB_STORE,
	IMAP_VERB_COPY,
	IMAP_VERB_MOVE, /* RFC 6851 */
	IMAP_VERB_SORT, /* RFC 5256 */
	IMAP_VERB_THREAD,
	IMAP_VERB_COUNT
};

/* Session states as bits for verb_spec.states (RFC 9051 3). */
#define IMAP_ST_NOTAUTH 0x1u
#define IMAP_ST_AUTH 0x2u
#define IMAP_ST_SELECTED 0x4u

/* Indexed by enum imap_verb. min/max_args count the top-level arguments after the verb
 * (UID commands: after the verb that follows UID). EXPUNGE takes 0..1: the handler
 * wants exactly 1 for UID EXPUNGE (RFC 4315 2.1) and 0 otherwise. FETCH takes up to 4
 * ("FETCH 1 PREVIEW (LAZY) (CHANGEDSINCE 5)"). ENABLE is allowed in
 * the selected state too (RFC 9051 6.3.1 lets servers not check). cleartext_login:
 * LOGIN and AUTHENTICATE; secret: LOGIN (the password) and AUTHENTICATE (a SASL-IR
 * initial response, RFC 4959, is on the command line): their line is never kept for
 * the log and the session wipes their arguments (imap_cmd_wipe()). */
extern const struct verb_spec imap_verbs[IMAP_VERB_COUNT];
/* Verbs that may follow "UID": COPY MOVE FETCH SEARCH STORE EXPUNGE SORT THREAD. */
bool imap_verb_uid_ok(enum imap_verb v);

/* ---- the argument tree ---- */
enum imap_arg_type {
	IMAP_ARG_ATOM,    /* as sent, case kept; may include one "[...]" part (see above) */
	IMAP_ARG_STRING,  /* a quoted string, unescaped */
	IMAP_ARG_LITERAL, /* a literal held in memory (literal8 marked by binary) */
	IMAP_ARG_NIL,     /* s/len hold the atom as sent ("NIL", "nil", ...) */
	IMAP_ARG_LIST,
	IMAP_ARG_STREAM, /* APPEND message data the session streamed: size only */
};

struct imap_arg {
	enum imap_arg_type type;
	struct imap_arg *next; /* next sibling, NULL at the end of its list */
	/* ATOM, STRING, LITERAL, NIL: the bytes, NUL-terminated for convenience (a literal
	 * may hold NULs itself: use len); LIST and STREAM: "" */
	const char *s;
	size_t len;
	/* LIST: the first child (NULL for "()") and the number of children */
	struct imap_arg *list;
	size_t count;
	bool binary;   /* LITERAL or STREAM sent as literal8 (~{n}) */
	bool sync;     /* LITERAL or STREAM: synchronizing ({n}, not {n+}) */
	uint64_t size; /* STREAM: octets the session consumed */
};

/* One parsed command; lives in the command arena until the session resets it. */
struct imap_cmd {
	const char *tag;
	enum imap_verb verb;
	bool uid;              /* "UID" prefix */
	struct imap_arg *args; /* the first argument after the verb, NULL if none */
	size_t nargs;          /* top-level arguments */
	const char *line;      /* the line up to the first literal, cut at
	                        * LIMIT_IMAP_LOG_LINE octets, for the debug log;
	                        * NULL for secret verbs (imap_verbs[verb].secret) */
};

/* Wipe (OPENSSL_cleanse) every string of cmd's arguments: for secret verbs, before the
 * command arena is reset. */
void imap_cmd_wipe(struct imap_cmd *cmd);

/* Limits, in octets or counts; imap_limits_default() fills them from core/limits.h.
 * appendlimit 0 means LIMIT_MESSAGE_SIZE. */
struct imap_limits {
	size_t line, literal, total, literal_minus, depth, args;
	uint64_t stream, discard;
};
void imap_limits_default(struct imap_limits *lim, bool authenticated, uint64_t appendlimit);

/* What to answer for a refused command. */
struct imap_parse_err {
	const char *tag;  /* NULL: untagged ("* BAD ..."); in the command arena */
	const char *text; /* the response after the tag: "BAD Missing command",
	                   * "NO [TOOBIG] Literal too large" ...; static */
	bool must_close;  /* answer, then "* BYE ..." and close */
};

#define IMAP_PARSE_DONE 1
#define IMAP_PARSE_CONTINUE 2
#define IMAP_PARSE_STREAM 3

struct imap_parser {
	/* private: the implementation's state (imap_parse.c); the session reads only the
	 * public results below */
	struct arena *arena; /* the command arena */
	struct imap_limits lim;
	uint64_t appendlimit;
	bool authenticated;
	unsigned state;
	uint8_t *seg; /* a line received in pieces (in the arena) */
	size_t seg_len, seg_cap;
	struct imap_cmd *cmd;                        /* the command being built */
	struct imap_arg *tail[LIMIT_IMAP_DEPTH + 1]; /* last argument at each open level;
	                                              * tail[d - 1] is level d's list */
	size_t depth, nargs, line_used;
	uint64_t total;
	bool need_sep;        /* the next octet must be SP, ')' or the line end */
	bool utf8_list;       /* APPEND: the open list follows "UTF8" (RFC 6855 4) */
	struct imap_arg *lit; /* the literal being received */
	uint64_t lit_left;
	uint64_t skip_left; /* octets of a refused literal still to throw away */
	bool skip_literals; /* skipping a command line (not an AUTHENTICATE one) */
	uint8_t tail_st;    /* skipping: how the line's end looks so far */
	bool tail_plus, tail_ovf;
	uint64_t tail_n;
	/* public results */
	uint64_t stream_size;      /* IMAP_PARSE_STREAM: octets the session must take */
	bool stream_sync;          /* ... after sending a "+" continuation */
	bool stream_binary;        /* ... sent as literal8 */
	struct imap_parse_err err; /* after a negative return */
};

/* cmd_arena holds each command and may be reset (or freed) by the session after the
 * command is answered (see "Memory" above). Unauthenticated limits. appendlimit: the
 * APPENDLIMIT in octets (0: LIMIT_MESSAGE_SIZE). */
void imap_parser_init(struct imap_parser *ps, struct arena *cmd_arena, uint64_t appendlimit);
/* Switch to the authenticated limits (after LOGIN/AUTHENTICATE succeeded). */
void imap_parser_set_auth(struct imap_parser *ps, bool authenticated);
/* Lower the limits in force (configuration, tests): each value is clamped to at most the
 * default of the current state and at least a small floor that keeps IMAP usable. */
void imap_parser_set_limits(struct imap_parser *ps, const struct imap_limits *lim);
/* Forget a partly received command, e.g. after STARTTLS (everything before the
 * handshake is dropped) or when the session refused a synchronizing literal. */
void imap_parser_reset(struct imap_parser *ps);
/* See the top of this file. *cmd_out is set for DONE (the command), CONTINUE and STREAM
 * (the command so far: a literal being announced is not in it yet, a STREAM is), NULL
 * otherwise. */
int imap_parse(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *used_out,
               struct imap_cmd **cmd_out);
/* The session took the stream_size octets of a STREAM result. */
void imap_parse_stream_done(struct imap_parser *ps);
/* The session refuses the literal it was just asked about (CONTINUE or STREAM): the
 * command is dropped and the session answers it itself (e.g. "NO [OVERQUOTA]"). A
 * synchronizing literal is never sent, so the next octet starts a command; the octets
 * of a non-synchronizing STREAM are read and thrown away with the rest of the line. */
void imap_parse_refuse_literal(struct imap_parser *ps);

/* One line of an AUTHENTICATE exchange or the "DONE" of IDLE: not a command. Reads up
 * to the line end (at most limits.line octets): 1 with *line_out / *len_out (CR LF or
 * LF removed, NUL-terminated, in the command arena; the content is not checked), 0 for
 * more input, ERR_TOO_LONG (ps->err set, must_close before authentication; the rest of
 * the line is skipped by the next call), ERR_NOMEM. Call it only between commands. */
int imap_parse_line(struct imap_parser *ps, const uint8_t *p, size_t len, size_t *used_out,
                    const char **line_out, size_t *len_out);

/* ---- interpreting arguments (imap_parse_*.c) ----
 * Every interpreter reads a parsed argument tree and writes its result into the arena
 * it is given (the command arena). They return 0, or ERR_BAD_SYNTAX, ERR_TOO_BIG (a
 * LIMIT_IMAP_* bound), ERR_TOO_DEEP, ERR_NOMEM, ERR_INVAL (a refused value, e.g. an
 * unknown charset); where they take why_out (may be NULL) it receives the response for
 * the client after the tag: "BAD Invalid FETCH item", "NO [BADCHARSET (UTF-8 US-ASCII)]
 * ...", static. Numbers are decimal digits only, leading zeros allowed, checked against
 * their grammar's range (number: 32 bits, number64 and mod-sequence: 63 bits). */

/* A string argument: ATOM (ASTRING-CHARs only), NIL (the text "NIL" as sent), STRING or
 * LITERAL (not literal8); NULL otherwise. */
const char *imap_arg_astring(const struct imap_arg *a, size_t *len_out);
/* nstring: STRING or LITERAL, or NIL (*is_nil_out set, returns ""); NULL otherwise. */
const char *imap_arg_nstring(const struct imap_arg *a, size_t *len_out, bool *is_nil_out);
/* string: STRING or LITERAL only; NULL otherwise. */
const char *imap_arg_string(const struct imap_arg *a, size_t *len_out);
/* list-mailbox (LIST/LSUB patterns): an atom of ASTRING-CHARs and '%' '*', or a
 * STRING or LITERAL; NULL otherwise. */
const char *imap_arg_list_mailbox(const struct imap_arg *a, size_t *len_out);
/* Is a an ATOM equal to name, ASCII case-insensitive? */
bool imap_arg_is(const struct imap_arg *a, const char *name);
/* An ATOM of digits at most max: 0, ERR_BAD_SYNTAX (not digits, or past max). */
int imap_arg_number(const struct imap_arg *a, uint64_t max, uint64_t *out);
#define IMAP_NUMBER_MAX UINT32_MAX
#define IMAP_NUMBER64_MAX INT64_MAX

/* Sequence sets (RFC 9051 9 sequence-set, with "$" for SEARCHRES, RFC 5182). Ranges
 * are kept as given (n:m and m:n are the same range, "*" is UINT32_MAX); the handler
 * maps them with the mailbox's numbers. "0" is BAD (nz-number); so is "$" combined
 * with anything. The number 4294967295 is read like "*": no mailbox of ours gets that
 * far, and then it would be the largest number in use. At most LIMIT_IMAP_SEQSET
 * ranges (ERR_TOO_BIG, answer NO [LIMIT]). */
struct imap_range {
	uint32_t lo, hi; /* lo <= hi; "*" is UINT32_MAX */
};
struct imap_seqset {
	struct imap_range *r;
	size_t n;
	bool saved; /* "$": the result saved by SEARCH ... SAVE (r is NULL, n 0) */
};
int imap_parse_seqset(const char *s, size_t len, struct arena *a, struct imap_seqset *out);
/* The same from an argument, which must be an ATOM. */
int imap_arg_seqset(const struct imap_arg *arg, struct arena *a, struct imap_seqset *out);
/* Is n in the set, with star = the value "*" stands for (the highest number in use)? */
bool imap_seqset_has(const struct imap_seqset *set, uint32_t n, uint32_t star);
/* The set with "*" replaced by star, as ascending, disjoint, non-adjacent ranges within
 * 1..star (empty when star is 0): for walking a mailbox in order. Not for "$". */
int imap_seqset_resolve(const struct imap_seqset *set, uint32_t star, struct arena *a,
                        struct imap_seqset *out);

/* Message flags (RFC 9051 2.3.2). The system flags are bits, with the values of
 * store_flag (store.h) for the five of them; keywords (flag-keyword: atoms) as sent. */
#define IMAP_FLAG_SEEN 0x1u
#define IMAP_FLAG_ANSWERED 0x2u
#define IMAP_FLAG_FLAGGED 0x4u
#define IMAP_FLAG_DELETED 0x8u
#define IMAP_FLAG_DRAFT 0x10u
#define IMAP_FLAG_RECENT 0x100u /* rev1 \Recent: only in SEARCH, never stored */
struct imap_flags {
	unsigned sys;    /* IMAP_FLAG_* */
	const char **kw; /* keywords, NUL-terminated, nkw of them (duplicates kept) */
	size_t nkw;
};
/* A flag-list "(" [flag *(SP flag)] ")" (list true) or the flags from a as far as it
 * goes (list false: STORE's unparenthesized form). "\Recent" and unknown "\Xyz"
 * (flag-extension) are BAD; keywords must be atoms (ATOM-CHARs only). */
int imap_parse_flags(const struct imap_arg *a, bool list, struct arena *arena,
                     struct imap_flags *out, const char **why_out);

/* Dates (RFC 9051 9): date "1-Feb-2024" (day 1 or 2 digits, month name in any case,
 * 4-digit year; the day must exist in that month) as days since 1970-01-01; an argument
 * may be an atom or quoted. date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (the day with a
 * leading SP or 0, one digit tolerated; 00-23, 00-59, 00-60 (a leap second counts as
 * 59); zone -2359..+2359) as seconds since the epoch (UTC) and the zone in minutes. */
int imap_parse_date(const char *s, size_t len, int32_t *days_out);
int imap_arg_date(const struct imap_arg *a, int32_t *days_out);
int imap_parse_datetime(const char *s, size_t len, int64_t *t_out, int *zone_out);

/* A body section (RFC 9051 6.4.5 section-spec), as FETCH BODY[...] / BINARY[...] and
 * the formatter that locates it in a message (imap_fmt.h) share it. */
enum imap_section_kind {
	IMAP_SECTION_ALL,           /* BODY[] or BODY[1.2]: the part's content */
	IMAP_SECTION_HEADER,        /* HEADER */
	IMAP_SECTION_HEADER_FIELDS, /* HEADER.FIELDS (a b) */
	IMAP_SECTION_HEADER_NOT,    /* HEADER.FIELDS.NOT (a b) */
	IMAP_SECTION_TEXT,          /* TEXT */
	IMAP_SECTION_MIME,          /* MIME: the part's own MIME header (needs a part) */
};

struct imap_section {
	uint32_t part[LIMIT_MIME_DEPTH]; /* the part numbers "1.2.3", nparts of them */
	size_t nparts;
	enum imap_section_kind kind;
	const char **fields; /* HEADER.FIELDS(.NOT): names as sent, nfields */
	size_t nfields;
};

/* FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3501 6.4.5 for RFC822*; RFC 3516 BINARY; RFC 7162
 * MODSEQ and modifiers; RFC 8474 EMAILID THREADID; RFC 8514 SAVEDATE; RFC 8970 PREVIEW).
 * The items come out in the order sent; ALL, FAST and FULL are expanded; a simple item
 * named twice comes out once (sections every time they are named). UID FETCH puts a UID
 * item first unless one was asked for (RFC 9051 6.4.9: it is always returned);
 * CHANGEDSINCE adds a MODSEQ item at the end unless one was asked for (RFC 7162
 * 3.1.4.1). */
enum imap_fetch_att {
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_BODY,         /* BODY without a section: the non-extensible structure */
	IMAP_FETCH_BODY_SECTION, /* BODY[...] and BODY.PEEK[...] (peek) */
	IMAP_FETCH_BINARY,       /* BINARY[...] and BINARY.PEEK[...] (peek) */
	IMAP_FETCH_BINARY_SIZE,  /* BINARY.SIZE[...] */
	/* RFC822, RFC822.HEADER, RFC822.TEXT: rev1 only (RFC 9051 Appendix E removed
	 * them); their bits in imap_fetch.have let the session refuse them in rev2 */
	IMAP_FETCH_RFC822,        /* rev1: BODY[] answered as "RFC822" */
	IMAP_FETCH_RFC822_HEADER, /* rev1: BODY.PEEK[HEADER] answered as "RFC822.HEADER" */
	IMAP_FETCH_RFC822_TEXT,   /* rev1: BODY[TEXT] answered as "RFC822.TEXT" */
	IMAP_FETCH_UID,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_EMAILID,
	IMAP_FETCH_THREADID,
	IMAP_FETCH_SAVEDATE,
	IMAP_FETCH_PREVIEW,
	IMAP_FETCH_ATT_COUNT
};

struct imap_fetch_item {
	enum imap_fetch_att att;
	struct imap_fetch_item *next;
	bool peek;                   /* BODY.PEEK, BINARY.PEEK, RFC822.HEADER: no \Seen */
	struct imap_section section; /* BODY_SECTION, BINARY, BINARY_SIZE (part only),
	                              * RFC822* (the equivalent section) */
	bool partial;                /* "<offset.count>" given (count > 0) */
	uint64_t offset, count;
	bool lazy; /* PREVIEW (LAZY) */
	/* BODY_SECTION, BINARY, BINARY_SIZE: the item's name for the response without
	 * the origin, e.g. "BODY[HEADER.FIELDS (FROM TO)]" (keywords upper case, field
	 * names as sent, quoted where needed); the session appends "<offset>" */
	const char *name;
};

struct imap_fetch {
	struct imap_seqset set;
	struct imap_fetch_item *items;
	unsigned have;                /* bit (1u << att) for each att present */
	bool seen;                    /* some item without peek sets \Seen (6.4.5) */
	bool changedsince;            /* CHANGEDSINCE given (RFC 7162 3.1.4.1) */
	uint64_t changedsince_modseq; /* 0 is accepted and means every message */
	bool vanished;                /* VANISHED (RFC 7162 3.2.6): UID FETCH with
	                               * CHANGEDSINCE only, else BAD */
};
int imap_parse_fetch(const struct imap_cmd *cmd, struct arena *a, struct imap_fetch *out,
                     const char **why_out);
/* A section-spec alone, the text between "[" and "]" (for BODY[...]; binary: the
 * section-binary of BINARY[...], part numbers only). */
int imap_parse_section(const char *s, size_t len, bool binary, struct arena *a,
                       struct imap_section *out);

/* STORE (RFC 9051 6.4.6, RFC 7162 3.1.3 UNCHANGEDSINCE): [+|-]FLAGS[.SILENT] with a
 * flag list or flags without parentheses. */
enum imap_store_op { IMAP_STORE_SET, IMAP_STORE_ADD, IMAP_STORE_REMOVE };
struct imap_store {
	struct imap_seqset set;
	enum imap_store_op op;
	bool silent;
	bool unchangedsince;
	uint64_t unchangedsince_modseq; /* 0 allowed (mod-sequence-valzer) */
	struct imap_flags flags;
};
int imap_parse_store(const struct imap_cmd *cmd, struct arena *a, struct imap_store *out,
                     const char **why_out);

/* SEARCH keys (RFC 9051 6.4.4, RFC 3501 6.4.4 for the rev1 keys; RFC 7162 3.1.5 MODSEQ;
 * RFC 8514 SAVEDATE*; RFC 8474 EMAILID THREADID; RFC 5032 OLDER YOUNGER) as a tree the
 * handler evaluates: an AND node's keys are its sub list, linked by next; OR's two keys
 * are sub and sub->next; NOT's one key is sub. Strings are astrings as sent (the
 * handler matches them case-insensitively, RFC 9051 6.4.4), NUL-terminated. Nesting of
 * NOT, OR and parentheses is at most LIMIT_IMAP_SEARCH_DEPTH deep (ERR_TOO_DEEP). */
enum imap_search_key {
	IMAP_SK_AND, /* all of sub (a parenthesized list, or the program) */
	IMAP_SK_OR,  /* sub or sub->next */
	IMAP_SK_NOT, /* not sub */
	IMAP_SK_ALL,
	IMAP_SK_SEQSET,    /* set: message numbers, or "$" (set.saved) */
	IMAP_SK_UID,       /* set: UIDs, or "$" */
	IMAP_SK_FLAG,      /* has flag: ANSWERED DELETED DRAFT FLAGGED SEEN RECENT */
	IMAP_SK_UNFLAG,    /* lacks flag: UNANSWERED ... UNSEEN, OLD (RECENT) */
	IMAP_SK_NEW,       /* rev1 NEW: \Recent and not \Seen */
	IMAP_SK_KEYWORD,   /* str */
	IMAP_SK_UNKEYWORD, /* str */
	IMAP_SK_BEFORE,    /* internal date, days: before / on / since that day */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE, /* Date: header, days */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_SAVEDATEBEFORE, /* save date, days (RFC 8514) */
	IMAP_SK_SAVEDATEON,
	IMAP_SK_SAVEDATESINCE,
	IMAP_SK_SAVEDATESUPPORTED,
	IMAP_SK_OLDER, /* num seconds: internal date older / younger (RFC 5032) */
	IMAP_SK_YOUNGER,
	IMAP_SK_LARGER, /* num octets */
	IMAP_SK_SMALLER,
	IMAP_SK_HEADER, /* field (name), str (substring; "" matches any such field) */
	IMAP_SK_FROM,   /* str */
	IMAP_SK_TO,
	IMAP_SK_CC,
	IMAP_SK_BCC,
	IMAP_SK_SUBJECT,
	IMAP_SK_BODY,    /* str in the body */
	IMAP_SK_TEXT,    /* str in header or body */
	IMAP_SK_MODSEQ,  /* num; field: the entry name ("/flags/\Seen") or NULL */
	IMAP_SK_EMAILID, /* str: objectid (RFC 8474 5) */
	IMAP_SK_THREADID,
};

enum imap_modseq_entry { IMAP_ENTRY_NONE, IMAP_ENTRY_PRIV, IMAP_ENTRY_SHARED, IMAP_ENTRY_ALL };

struct imap_search {
	enum imap_search_key key;
	struct imap_search *next;
	struct imap_search *sub;
	unsigned flag;   /* FLAG, UNFLAG: one IMAP_FLAG_* bit */
	const char *str; /* the string argument */
	size_t len;
	const char *field; /* HEADER: the field name; MODSEQ: the entry name */
	size_t field_len;
	enum imap_modseq_entry entry; /* MODSEQ with an entry name: its type */
	uint64_t num;
	int32_t days;           /* dates */
	struct imap_seqset set; /* SEQSET, UID */
};

enum imap_charset { IMAP_CHARSET_UTF8, IMAP_CHARSET_ASCII };
/* SEARCH RETURN options (ESEARCH RFC 4731, SEARCHRES RFC 5182). */
#define IMAP_SEARCH_RET_MIN 0x1u
#define IMAP_SEARCH_RET_MAX 0x2u
#define IMAP_SEARCH_RET_ALL 0x4u
#define IMAP_SEARCH_RET_COUNT 0x8u
#define IMAP_SEARCH_RET_SAVE 0x10u

struct imap_search_prog {
	struct imap_search *root;  /* an AND node */
	enum imap_charset charset; /* UTF-8 unless CHARSET US-ASCII was given */
	bool esearch;              /* RETURN given: answer ESEARCH (rev2 always does) */
	unsigned ret;              /* IMAP_SEARCH_RET_*; "RETURN ()" is ALL */
	bool rev1_keys;            /* NEW, OLD or RECENT used (gone in rev2) */
	bool modseq;               /* a MODSEQ key: the answer carries (MODSEQ n) */
	bool saved;                /* a "$" refers to the saved result */
};
/* SEARCH [RETURN (...)] [CHARSET x] keys. A charset other than UTF-8 or US-ASCII:
 * ERR_INVAL with "NO [BADCHARSET (UTF-8 US-ASCII)] ..." (RFC 9051 6.4.4). */
int imap_parse_search(const struct imap_cmd *cmd, struct arena *a, struct imap_search_prog *out,
                      const char **why_out);

/* SORT (RFC 5256 3, RFC 5957 DISPLAYFROM/DISPLAYTO): criteria, charset, keys. */
enum imap_sort_key {
	IMAP_SORT_ARRIVAL,
	IMAP_SORT_CC,
	IMAP_SORT_DATE,
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
};
struct imap_sort_crit {
	enum imap_sort_key key;
	bool reverse;
};
struct imap_sort {
	struct imap_sort_crit *crit; /* in order of precedence */
	size_t ncrit;
	struct imap_search_prog prog;
};
int imap_parse_sort(const struct imap_cmd *cmd, struct arena *a, struct imap_sort *out,
                    const char **why_out);

/* THREAD (RFC 5256 3): algorithm, charset, keys. An unknown algorithm is BAD. */
enum imap_thread_alg { IMAP_THREAD_ORDEREDSUBJECT, IMAP_THREAD_REFERENCES };
struct imap_thread {
	enum imap_thread_alg alg;
	struct imap_search_prog prog;
};
int imap_parse_thread(const struct imap_cmd *cmd, struct arena *a, struct imap_thread *out,
                      const char **why_out);

/* STATUS items (RFC 9051 6.3.11; RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 7889
 * APPENDLIMIT, RFC 8474 MAILBOXID, rev1 RECENT), as bits. */
#define IMAP_STATUS_MESSAGES 0x1u
#define IMAP_STATUS_UIDNEXT 0x2u
#define IMAP_STATUS_UIDVALIDITY 0x4u
#define IMAP_STATUS_UNSEEN 0x8u
#define IMAP_STATUS_DELETED 0x10u
#define IMAP_STATUS_SIZE 0x20u
#define IMAP_STATUS_RECENT 0x40u
#define IMAP_STATUS_HIGHESTMODSEQ 0x80u
#define IMAP_STATUS_APPENDLIMIT 0x100u
#define IMAP_STATUS_MAILBOXID 0x200u
/* A non-empty list of status-att (ERR_BAD_SYNTAX for an unknown one). */
int imap_parse_status_items(const struct imap_arg *list, unsigned *items_out, const char **why_out);
struct imap_status {
	const struct imap_arg *mailbox; /* an astring (checked) */
	unsigned items;
};
int imap_parse_status(const struct imap_cmd *cmd, struct imap_status *out, const char **why_out);

/* LIST (RFC 9051 6.3.9, RFC 5258 3 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819
 * LIST-STATUS): [(selection)] reference (pattern | (patterns)) [RETURN (options)]. An
 * unknown option, or RECURSIVEMATCH without another selection option, is BAD
 * (RFC 5258 3). */
#define IMAP_LIST_SEL_SUBSCRIBED 0x1u
#define IMAP_LIST_SEL_REMOTE 0x2u
#define IMAP_LIST_SEL_RECURSIVEMATCH 0x4u
#define IMAP_LIST_SEL_SPECIAL_USE 0x8u
#define IMAP_LIST_RET_SUBSCRIBED 0x1u
#define IMAP_LIST_RET_CHILDREN 0x2u
#define IMAP_LIST_RET_SPECIAL_USE 0x4u
#define IMAP_LIST_RET_STATUS 0x8u
struct imap_list {
	const struct imap_arg *ref;  /* the reference: an astring (checked) */
	const struct imap_arg **pat; /* the patterns (list-mailbox, checked), npat >= 1 */
	size_t npat;
	unsigned sel;    /* IMAP_LIST_SEL_* */
	unsigned ret;    /* IMAP_LIST_RET_* */
	unsigned status; /* RETURN (STATUS (...)): IMAP_STATUS_* */
	bool extended;   /* selection options, a pattern list or RETURN
	                  * given: the extended form (RFC 5258 3) */
};
int imap_parse_list(const struct imap_cmd *cmd, struct arena *a, struct imap_list *out,
                    const char **why_out);

/* SELECT / EXAMINE parameters (RFC 7162 3.1.8 CONDSTORE, 3.2.5 QRESYNC). The known UIDs
 * and the sequence match data may not use "*" or "$". */
struct imap_select {
	const struct imap_arg *mailbox; /* an astring (checked) */
	bool condstore;
	bool qresync;
	uint32_t uidvalidity; /* QRESYNC (nz-number) */
	uint64_t modseq;      /* QRESYNC: the client's HIGHESTMODSEQ (0 tolerated) */
	bool has_known_uids;
	struct imap_seqset known_uids;
	bool has_seq_match; /* (known-sequence-set known-uid-set) */
	struct imap_seqset known_seqs, known_seq_uids;
};
int imap_parse_select(const struct imap_cmd *cmd, struct arena *a, struct imap_select *out,
                      const char **why_out);

/* APPEND (RFC 9051 6.3.12, RFC 3502 MULTIAPPEND, RFC 6855 4 UTF8): the mailbox and one
 * entry per message: [flag-list] [date-time] then the data. Works on the partial
 * command of a STREAM result too: its last message is the one being streamed. A
 * message sent as a held literal (never by our tokenizer) is BAD. */
struct imap_append_msg {
	struct imap_flags flags;
	bool has_date;
	int64_t date; /* seconds since the epoch (UTC) */
	int zone;     /* minutes east of UTC, as sent */
	uint64_t size;
	bool binary; /* literal8 (RFC 3516 4.4: the server must accept binary) */
	bool utf8;   /* "UTF8 (~{n})" (RFC 6855 4) */
};
struct imap_append {
	const struct imap_arg *mailbox; /* an astring (checked) */
	struct imap_append_msg *msgs;
	size_t nmsgs;
};
int imap_parse_append(const struct imap_cmd *cmd, struct arena *a, struct imap_append *out,
                      const char **why_out);

/* CREATE (RFC 9051 6.3.4, RFC 6154 5.1 CREATE-SPECIAL-USE): mailbox [(USE (attrs))].
 * An unknown use-attr is ERR_INVAL "NO [USEATTR] ..." (RFC 6154 5.1); another
 * create-param is BAD. */
#define IMAP_USE_ALL 0x1u
#define IMAP_USE_ARCHIVE 0x2u
#define IMAP_USE_DRAFTS 0x4u
#define IMAP_USE_FLAGGED 0x8u
#define IMAP_USE_JUNK 0x10u
#define IMAP_USE_SENT 0x20u
#define IMAP_USE_TRASH 0x40u
struct imap_create {
	const struct imap_arg *mailbox; /* an astring (checked) */
	unsigned use;                   /* IMAP_USE_* */
};
int imap_parse_create(const struct imap_cmd *cmd, struct imap_create *out, const char **why_out);

/* ENABLE (RFC 5161 3.1, RFC 9051 6.3.1): capability names (atoms; others BAD). Known
 * ones become bits; unknown ones are ignored, as the RFC asks. */
#define IMAP_ENABLE_CONDSTORE 0x1u
#define IMAP_ENABLE_QRESYNC 0x2u
#define IMAP_ENABLE_IMAP4REV2 0x4u
#define IMAP_ENABLE_UTF8_ACCEPT 0x8u
int imap_parse_enable(const struct imap_cmd *cmd, unsigned *caps_out, const char **why_out);

/* ID (RFC 2971 3.3): NIL or "(" *(string SP nstring) ")": at most LIMIT_IMAP_ID_PAIRS
 * pairs, field names at most LIMIT_IMAP_ID_FIELD octets, values at most
 * LIMIT_IMAP_ID_VALUE (ERR_BAD_SYNTAX past them: the RFC says MUST NOT). NIL gives no
 * pairs. value is NULL for NIL. */
struct imap_id_param {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};
int imap_parse_id(const struct imap_arg *arg, struct arena *a, struct imap_id_param **out,
                  size_t *n_out);

/* Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8, for rev1 mailbox names. Decoding refuses
 * what RFC 3501 forbids (unnecessary shifts, bad base64, printable ASCII encoded, bad
 * UTF-16, a name that is not valid UTF-8 afterwards): ERR_BAD_SYNTAX. Encoding refuses
 * input that is not valid UTF-8 (ERR_BAD_SYNTAX). Results are NUL-terminated, in a. */
int imap_mutf7_decode(const char *s, size_t len, struct arena *a, char **out);
int imap_mutf7_encode(const char *utf8, size_t len, struct arena *a, char **out);

#endif
