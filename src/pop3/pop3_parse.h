/* pop3_parse.h: the pure POP3 command parser and the multi-line response encoder.
 * No I/O, no sockets: the session feeds bytes in and gets commands out, and feeds
 * message bytes in and gets wire bytes out. Both are resumable at every byte offset.
 *
 * Command lines (RFC 1939 3, RFC 2449 4)
 *  - One command per line. A line ends at LF; a CR right before the LF belongs to the
 *    terminator, so CRLF and bare LF both end a line (bare LF is accepted because
 *    common clients and scripts send it, and it cannot smuggle anything here: POP3
 *    commands carry no data). A CR anywhere else is a syntax error.
 *  - LIMIT_POP3_LINE (255) octets including the terminator as sent. The byte that
 *    would push a line past it is not consumed: the parser returns ERR_TOO_LONG and
 *    then discards up to and including the next LF by itself, so the session answers
 *    -ERR and keeps calling pop3_parse() as usual.
 *  - An AUTH command line and a SASL response line (after pop3_parse_expect_sasl())
 *    may be up to LIMIT_SASL_LINE: RFC 5034 4 lets the client send long responses,
 *    and clients do send AUTH with long initial responses (XOAUTH2 tokens).
 *  - The keyword is case-insensitive (RFC 1939 3) and must be followed by a single
 *    space or the line end; arguments are separated by one or more spaces and
 *    trailing spaces are ignored. A leading space or an empty line is ERR_BAD_SYNTAX.
 *  - Octets 0x00-0x1f (NUL, TAB, bare CR, ...) and 0x7f anywhere in a line are
 *    ERR_BAD_SYNTAX. Octets 0x80-0xff are passed through (UTF-8 user names and
 *    passwords after UTF8, RFC 6856); the session decides whether to accept them.
 *  - Argument lengths: RFC 1939 3 caps each argument at 40 characters. We keep that
 *    cap for message numbers, line counts, the LANG range and the mechanism name
 *    (at most 20 characters, RFC 4422 3.1), but not for user names: RFC 2449 4
 *    raised the command limit from 47 characters to 255 octets, and addresses such
 *    as first.last@department.example.com are longer than 40. PASS takes the rest of
 *    the line after "PASS " verbatim, spaces included (RFC 1939 7); the AUTH initial
 *    response is bounded only by the line. An argument past its cap: ERR_TOO_LONG.
 *  - Numbers: decimal digits only (no sign, no "+", no spaces), leading zeros
 *    allowed, checked arithmetic: message numbers up to UINT32_MAX, TOP line counts
 *    up to UINT64_MAX; anything else, overflow included, is ERR_BAD_SYNTAX. Message
 *    number 0 parses; the session answers it like any message that does not exist.
 *
 * Return values of pop3_parse(): >0 a complete line was parsed into ps->cmd; 0 all
 * input was consumed and more is needed; <0 an error for one line (ERR_BAD_SYNTAX,
 * ERR_TOO_LONG: answer -ERR and go on) or ERR_NOMEM (the command arena is full:
 * answer -ERR [SYS/TEMP] and close). *used_out is always set; exactly one line's
 * result is produced per call, so pipelined commands (RFC 2449 6.6) come out one
 * call at a time and the session replies to each before asking for the next.
 */
#ifndef KASTEN_POP3_PARSE_H
#define KASTEN_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/verb.h"

struct arena;

/* Keep in the order of pop3_verbs[] (pop3_parse.c). */
enum pop3_verb {
	POP3_CMD_NONE = 0,      /* no keyword: empty line, leading space, bad bytes */
	POP3_CMD_UNKNOWN,       /* a keyword we do not know: "-ERR unknown command" */
	POP3_CMD_USER,          /* USER name                       RFC 1939 7 */
	POP3_CMD_PASS,          /* PASS string (rest of line)      RFC 1939 7 */
	POP3_CMD_APOP,          /* APOP name digest                RFC 1939 7 */
	POP3_CMD_QUIT,          /* QUIT                            RFC 1939 4, 6 */
	POP3_CMD_STAT,          /* STAT                            RFC 1939 5 */
	POP3_CMD_LIST,          /* LIST [msg]                      RFC 1939 5 */
	POP3_CMD_RETR,          /* RETR msg                        RFC 1939 5 */
	POP3_CMD_DELE,          /* DELE msg                        RFC 1939 5 */
	POP3_CMD_NOOP,          /* NOOP                            RFC 1939 5 */
	POP3_CMD_RSET,          /* RSET                            RFC 1939 5 */
	POP3_CMD_TOP,           /* TOP msg n                       RFC 1939 7 */
	POP3_CMD_UIDL,          /* UIDL [msg]                      RFC 1939 7 */
	POP3_CMD_CAPA,          /* CAPA                            RFC 2449 5 */
	POP3_CMD_STLS,          /* STLS                            RFC 2595 4 */
	POP3_CMD_AUTH,          /* AUTH [mechanism [initial-resp]] RFC 5034 4 */
	POP3_CMD_UTF8,          /* UTF8                            RFC 6856 2 */
	POP3_CMD_LANG,          /* LANG [lang-range]               RFC 6856 3 */
	POP3_CMD_SASL_RESPONSE, /* a line read after pop3_parse_expect_sasl() */
	POP3_CMD_SASL_CANCEL,   /* that line was "*": fail the AUTH (RFC 5034 4) */
	POP3_CMD_COUNT
};

/* POP3 states (RFC 1939 3) as bits for verb_spec.states. UPDATE takes no
 * commands: the server enters it on QUIT and closes. */
#define POP3_ST_AUTHORIZATION 0x1u
#define POP3_ST_TRANSACTION 0x2u

/* The command table (core/verb.h), indexed by enum pop3_verb. Valid states, exactly:
 *   AUTHORIZATION only:          USER PASS APOP AUTH STLS UTF8
 *   TRANSACTION only:            STAT LIST RETR DELE NOOP RSET TOP UIDL
 *   both:                        QUIT CAPA LANG (LANG: RFC 6856 3)
 *   neither (handled apart):     NONE UNKNOWN SASL_RESPONSE SASL_CANCEL
 * min_args/max_args are already enforced by the parser (ERR_BAD_SYNTAX otherwise).
 * AUTH with no argument lists the mechanisms (the pre-RFC 5034 form some clients probe
 * with). cleartext_login: USER PASS AUTH. secret: PASS and AUTH; the session wipes
 * their arguments with pop3_cmd_wipe() and never logs them. */
extern const struct verb_spec pop3_verbs[POP3_CMD_COUNT];

#define POP3_ARGS_MAX 2
#define POP3_ARG_MAX 40     /* RFC 1939 3, for the arguments listed above */
#define POP3_MECH_MAX 20    /* RFC 4422 3.1 */
#define POP3_KEYWORD_LOG 40 /* unknown keywords are kept up to this length, for the log */

/* One parsed line. Strings are NUL-terminated copies in the command arena; they stay
 * valid until the session resets that arena. */
struct pop3_cmd {
	enum pop3_verb verb; /* set on errors too when the keyword was recognised */
	unsigned argc;
	char *argv[POP3_ARGS_MAX];
	size_t argl[POP3_ARGS_MAX];
	/* Parsed numbers: LIST/UIDL with an argument, RETR, DELE, TOP. */
	bool has_msg;
	uint32_t msg;
	uint64_t lines; /* TOP */
	char *keyword;  /* POP3_CMD_UNKNOWN: the keyword as sent (cut to 40), else NULL */
	size_t octets;  /* the whole line as received, terminator included */
};

struct pop3_parser {
	struct arena *cmd_arena;     /* argv copies (command lifetime) */
	struct arena *session_arena; /* the long-line buffer, allocated once on demand */
	size_t line_max;             /* LIMIT_POP3_LINE unless lowered */
	size_t sasl_max;             /* LIMIT_SASL_LINE unless lowered */
	struct buf line;             /* the current line without its LF */
	uint8_t small[LIMIT_POP3_LINE];
	uint8_t *big;        /* LIMIT_SASL_LINE bytes or NULL */
	bool discard;        /* skipping the rest of a too-long line */
	bool sasl;           /* the next line is a SASL response */
	struct pop3_cmd cmd; /* the result of the last call that returned != 0 */
};

/* Start a parser. session_arena must live as long as ps; cmd_arena may be reset by
 * the session after every reply (the parser keeps nothing in it between lines). */
void pop3_parse_init(struct pop3_parser *ps, struct arena *session_arena, struct arena *cmd_arena);
/* Lower the limits (from the configuration). Values are clamped to
 * [16, LIMIT_POP3_LINE] and [16, LIMIT_SASL_LINE]; the AUTH/SASL limit is never
 * below the command limit. */
void pop3_parse_set_limits(struct pop3_parser *ps, size_t line_max, size_t sasl_max);
/* Parse at most one line from p[0..len) (STYLE 5); see the top of this file. */
int pop3_parse(struct pop3_parser *ps, const uint8_t *p, size_t len, size_t *used_out);
/* The next line is a SASL client response (RFC 5034 4): it comes back as
 * POP3_CMD_SASL_RESPONSE with argv[0] the line (possibly empty, base64 unchecked)
 * or as POP3_CMD_SASL_CANCEL for "*". Applies to one line only: if that line is too
 * long (ERR_TOO_LONG) or holds control octets (ERR_BAD_SYNTAX, verb SASL_RESPONSE),
 * the exchange is over, the session answers -ERR, and the next line is a command.
 * Call it only right after a result (never while a line is half read). */
void pop3_parse_expect_sasl(struct pop3_parser *ps);
/* Forget any partial line and modes (after STLS: RFC 2595 4 / DESIGN, bytes sent
 * before the TLS handshake are discarded; the session drops its own input buffer
 * too). Wipes the line buffer. */
void pop3_parse_reset(struct pop3_parser *ps);
/* Wipe every argument of cmd (PASS, AUTH, SASL responses hold secrets). */
void pop3_cmd_wipe(struct pop3_cmd *cmd);
/* "USER", "RETR", ... or "?" for the pseudo-verbs. */
const char *pop3_verb_name(enum pop3_verb v);

/* Multi-line responses (RFC 1939 3): message bytes in, wire bytes out.
 * Every line starting with "." gets one more "." in front; a bare LF becomes CRLF;
 * CRLF and every other byte (bare CR included) pass unchanged, so for a message
 * stored with CRLF line ends the output is its stored size plus one octet per stuffed
 * dot, and the LIST/STAT octet counts stay the stored sizes. pop3_dot_finish() ends
 * an unterminated last line with CRLF and appends the ".CRLF" terminator, which is
 * therefore always on a line of its own. The output never holds CRLF "." CRLF before
 * that terminator. Input may arrive in chunks of any size and output goes into a
 * fixed-size buf: at most a few bytes are held back in the state when out fills, so
 * RETR streams a 50 MB message through a 64 KiB buffer. The session sends "+OK ..."
 * itself first. */
struct pop3_dot {
	uint8_t pend[8]; /* bytes produced but not yet fitting in out */
	uint8_t pend_len, pend_off;
	bool bol;             /* the next input byte starts a line */
	bool last_cr;         /* the last byte passed through was CR */
	unsigned char line_n; /* bytes in the current line so far, saturating at 2 */
	bool top;             /* TOP: stop after the header, blank line and n lines */
	bool in_body;
	bool done;     /* TOP has all it wants: further input is skipped */
	bool finished; /* the terminator has been queued */
	uint64_t lines_left;
};

/* For RETR: the whole message. */
void pop3_dot_init(struct pop3_dot *d);
/* For TOP msg n (RFC 1939 7): the header, the blank line after it, then n body lines.
 * A message without a blank line is all header and goes out whole. */
void pop3_dot_init_top(struct pop3_dot *d, uint64_t lines);
/* Encode from in[0..len) into out while it has room; *used_out tells how much input
 * was taken (call again with the rest once out has been drained). Returns 1 when TOP
 * needs no more input (all further input is then skipped: stop reading the message
 * and call pop3_dot_finish), 0 otherwise. */
int pop3_dot_encode(struct pop3_dot *d, const uint8_t *in, size_t len, size_t *used_out,
                    struct buf *out);
/* After the last input: append the line end if missing and ".\r\n". Returns 1 when
 * everything has been written to out, 0 when out filled first (drain it, call again). */
int pop3_dot_finish(struct pop3_dot *d, struct buf *out);

#endif
