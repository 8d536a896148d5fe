/* smtp_parse.h: the pure SMTP/LMTP/submission command parser (RFC 5321 4.1, RFC 2033,
 * RFC 1870, 6152, 3030, 6531, 3461, 4954). No I/O; allocation only from arenas passed in.
 *
 * Two layers:
 *   smtp_line_read()  splits the byte stream into command lines (resumable at every byte);
 *   smtp_cmd_parse()  turns one complete line into a struct smtp_cmd;
 *   smtp_cmd_read()   does both, which is what a session normally calls.
 *
 * Line decisions (STYLE 5):
 *   - A line ends at LF. CRLF is the standard end; a bare LF is accepted as a line end
 *     for commands (most servers do; DATA is stricter, see smtp_data.h).
 *   - A CR anywhere but directly before the LF (a bare CR) makes the line a syntax error.
 *   - NUL anywhere in a line is a syntax error.
 *   - The line limit counts the line with a two-byte CRLF, whatever ending was sent:
 *     at most max_line - 2 bytes of content. A longer line gives ERR_TOO_LONG once, at
 *     the first byte that proves it too long; the reader then discards everything up to
 *     and including the next LF by itself and resumes with the next line.
 *   - 8-bit bytes are accepted only as valid UTF-8 and only where RFC 6531 allows them
 *     (local part, domain, ESMTP values, free-text arguments); anything else is 501.
 *   - An empty line is a syntax error (500). Verbs are case-insensitive.
 *   - Exactly one SP separates the verb and its argument, and the ESMTP parameters.
 *     The one leniency: "MAIL FROM: <a@b>" / "RCPT TO: <a@b>" (one SP after the colon).
 *     Trailing spaces are not allowed.
 */
#ifndef KASTEN_SMTP_PARSE_H
#define KASTEN_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/verb.h"

struct arena;

/* RFC 5321 4.5.3.1.1-3: octets as written, the path including "<", ">" and a source route. */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_PATH_MAX 256
/* ESMTP parameters accepted on one MAIL or RCPT command. */
#define SMTP_PARAMS_MAX 16
/* Smallest line limit smtp_cmd_reader_init() accepts (for fuzzing tiny limits). */
#define SMTP_LINE_MIN 16
/* RFC 3461 4.4 (ENVID) and 4.2 (ORCPT): maximum length of the encoded value. */
#define SMTP_ENVID_MAX LIMIT_SMTP_ENVID
#define SMTP_ORCPT_MAX LIMIT_SMTP_ORCPT
/* RFC 4954 4: sasl-mech = 1*20mech-char. */
#define SMTP_MECH_MAX 20

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_LHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

/* Session states as bits for verb_spec.states (RFC 5321 4.1.4 ordering). */
#define SMTP_ST_START 0x1u /* before HELO/EHLO/LHLO (and again after STARTTLS) */
#define SMTP_ST_READY 0x2u /* greeted, no mail transaction */
#define SMTP_ST_MAIL 0x4u  /* inside a mail transaction (after MAIL) */

/* The command table (core/verb.h), indexed by enum smtp_verb. Arguments are parsed
 * by verb (min/max_args unused). BDAT is allowed in every state: a refused BDAT's
 * chunk must still be read (RFC 3030 2), so its handler refuses it. AUTH is the
 * cleartext login. */
extern const struct verb_spec smtp_verbs[SMTP_VERB_COUNT];

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

/* RFC 3461 4.1 NOTIFY bits; 0 means the parameter was not given. */
#define SMTP_NOTIFY_NEVER 1u
#define SMTP_NOTIFY_SUCCESS 2u
#define SMTP_NOTIFY_FAILURE 4u
#define SMTP_NOTIFY_DELAY 8u

/* Which ESMTP keyword a parameter is. A keyword that is known but does not belong to
 * the command it came with (NOTIFY on MAIL, SIZE on RCPT) is SMTP_PARAM_OTHER. The
 * session answers 555 for OTHER and for keywords of extensions it did not advertise. */
enum smtp_param_kind {
	SMTP_PARAM_OTHER = 0,
	SMTP_PARAM_SIZE,     /* MAIL, RFC 1870 */
	SMTP_PARAM_BODY,     /* MAIL, RFC 6152 / RFC 3030 */
	SMTP_PARAM_SMTPUTF8, /* MAIL, RFC 6531 */
	SMTP_PARAM_AUTH,     /* MAIL, RFC 4954 5 */
	SMTP_PARAM_RET,      /* MAIL, RFC 3461 4.3 */
	SMTP_PARAM_ENVID,    /* MAIL, RFC 3461 4.4 */
	SMTP_PARAM_NOTIFY,   /* RCPT, RFC 3461 4.1 */
	SMTP_PARAM_ORCPT,    /* RCPT, RFC 3461 4.2 */
	SMTP_PARAM_REQUIRETLS, /* MAIL, RFC 8689 3 (no value) */
};

/* One ESMTP parameter as sent: key and value are NUL-terminated arena strings, the key
 * in the client's case, value NULL when there was no "=". */
struct smtp_param {
	enum smtp_param_kind kind;
	const char *key;
	const char *value;
};

/* A reverse-path or forward-path (RFC 5321 4.1.2). All strings are NUL-terminated and
 * live in the command arena. A source route ("@a,@b:") is checked and dropped. */
struct smtp_path {
	bool null;          /* MAIL FROM:<> : local, domain and addr are "" */
	bool postmaster;    /* RCPT TO:<Postmaster> without domain (domain is ""), or a
	                     * mailbox whose local part is "postmaster" in any case */
	bool literal;       /* domain is an address-literal "[...]" */
	bool utf8;          /* local part or domain contains non-ASCII (valid UTF-8) */
	const char *local;  /* as written, quotes and backslashes included */
	const char *domain; /* as written */
	const char *addr;   /* canonical form for lookups, see smtp_addr_canon() */
};

/* MAIL parameters that were given, parsed. xtext values (AUTH, ENVID) are decoded
 * (RFC 3461 4: "+" and two upper-case hex digits; the decoded octets must be printable
 * ASCII; UTF-8 passes through as RFC 6533 allows). */
struct smtp_mail_params {
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	const char *auth; /* decoded AUTH= mailbox, "<>" for the empty one; NULL if absent */
	enum smtp_ret ret;
	const char *envid; /* decoded; NULL if absent */
	bool requiretls;   /* RFC 8689: the session accepts it only over TLS */
};

/* RCPT parameters that were given, parsed. */
struct smtp_rcpt_params {
	unsigned notify;        /* SMTP_NOTIFY_* bits, 0 if absent */
	const char *orcpt_type; /* addr-type as sent ("rfc822", "utf-8"); NULL if absent */
	const char *orcpt_addr; /* decoded xtext; the encoded value was at most
	                         * SMTP_ORCPT_MAX octets (type, ';' and address) */
};

/* One parsed command. Every pointer points into the command arena passed to the parse
 * call (or to static strings for reason), so it is valid until that arena is reset.
 * Fields that do not belong to the verb are zero / NULL. */
struct smtp_cmd {
	enum smtp_verb verb;
	/* The line as received, without its CRLF (valid until the next read): for the debug
	 * log, which shows it unless the verb is secret (smtp_verbs[verb].secret). */
	const uint8_t *raw;
	size_t raw_len;
	/* On an error return: the reply the session should send, e.g. 501 and
	 * "5.5.4 Invalid SIZE value" (a static string, the text after the code). */
	unsigned reply_code;
	const char *reason;
	/* On an error return: true when the stream cannot be trusted to be in sync any more
	 * (a BDAT whose size could not be read: its chunk bytes would be taken for commands).
	 * The session must reply and close the connection. */
	bool must_close;

	const char *domain;  /* HELO/EHLO/LHLO argument as sent */
	bool domain_literal; /* ... and it is an address-literal */

	struct smtp_path path; /* MAIL (reverse-path) / RCPT (forward-path) */
	struct smtp_mail_params mail;
	struct smtp_rcpt_params rcpt;
	struct smtp_param params[SMTP_PARAMS_MAX]; /* every MAIL/RCPT parameter in order */
	size_t n_params;

	uint64_t bdat_size; /* BDAT chunk size; the caller applies its limits */
	bool bdat_last;

	const char *auth_mech;    /* AUTH mechanism, upper-cased */
	const char *auth_initial; /* AUTH initial response as sent ("=" = empty), NULL if
	                           * absent. A SASL secret: the session wipes it
	                           * (OPENSSL_cleanse) before the arena is reset. */

	const char *arg; /* VRFY/EXPN (required), HELP/NOOP (optional, NULL if absent) */
};

/* The line reader: all state of a partly received line. */
struct smtp_cmd_reader {
	struct buf line;    /* bytes of an unfinished line, CR kept, LF never stored;
			     * no storage until a line first arrives in pieces */
	struct arena *arena; /* where that storage comes from, once */
	size_t max_line;    /* limit incl. CRLF */
	bool discard;       /* skipping the rest of an over-long line */
	bool wipe;          /* line holds a finished line that must be wiped on the next call */
	bool bdat_overflow; /* the last over-long line began with "BDAT " */
	/* Set by the session while SMTPUTF8 is in force for the transaction (after a MAIL
	 * with SMTPUTF8, until RSET or the end of the transaction). Without it a non-ASCII
	 * address in RCPT is rejected with 553 5.6.7 (RFC 6531 3.5); MAIL looks at its own
	 * SMTPUTF8 parameter. */
	bool smtputf8;
};

/* Set up r with a line limit of max_line bytes including CRLF (SMTP_LINE_MIN ..
 * LIMIT_SMTP_LINE). max_line - 1 bytes of storage come from the (session) arena the
 * first time a line arrives split over reads (an idle session holds none). Returns 0
 * or ERR_INVAL for a limit out of range. The readers return ERR_NOMEM when that
 * storage cannot be had. */
int smtp_cmd_reader_init(struct smtp_cmd_reader *r, struct arena *a, size_t max_line);

/* Forget (and wipe) a partly received line and leave discard mode, e.g. after STARTTLS,
 * where everything buffered before the handshake is dropped. Keeps the storage. */
void smtp_cmd_reader_reset(struct smtp_cmd_reader *r);

/* Read the next line from p[0..len).
 *   >0: a line is complete. *line_out / *line_len_out give its content without the
 *       CRLF or LF (may contain a bare CR or NUL: the caller checks). The pointer is
 *       into p or into the reader's storage, valid until the next call on r.
 *    0: all of p was consumed (stored or discarded); feed more.
 *   ERR_TOO_LONG: the current line broke the limit; *line_out is NULL. The reader skips
 *       the rest of that line by itself. Reported once per over-long line.
 *   ERR_NOMEM: the line arrived in pieces and no storage could be had for them (the
 *       session closes).
 * *used_out is always set: bytes of p consumed. Never reads past the end of the line it
 * returns, so pipelined bytes after it (the next command, or DATA content) stay in p. */
/* A line that arrives whole in one read is returned in place and never copied; a line
 * that was buffered across reads is wiped (explicit_bzero) on the next call, because it
 * may have been an AUTH command. */
int smtp_line_read(struct smtp_cmd_reader *r, const uint8_t *p, size_t len, size_t *used_out,
                   const uint8_t **line_out, size_t *line_len_out);

/* Parse one complete command line (content without CRLF) into *cmd_out (zeroed first).
 * utf8_ok: SMTPUTF8 is in force for RCPT (see smtp_cmd_reader.smtputf8).
 *   1 (>0): a command. cmd_out->verb is never SMTP_VERB_UNKNOWN here.
 *   ERR_BAD_SYNTAX: unknown verb (verb UNKNOWN, 500 5.5.2), empty line, bare CR or NUL
 *       (500 5.5.2), bad arguments (501 5.5.4 / 5.1.3 / 5.1.7 with a reason), non-ASCII
 *       address without SMTPUTF8 (553 5.6.7). cmd_out->verb is set when the verb was
 *       recognised; reply_code and reason are always set.
 *   ERR_TOO_LONG: a local part, domain or path over its RFC 5321 4.5.3.1 limit (501
 *       "Path too long" and similar); the line itself was fine.
 *   ERR_NOMEM: the command arena is exhausted: reply_code 421 (4.3.0) and must_close,
 *       as STYLE 3 asks (temporary failure, then close).
 * Limits: at most SMTP_PARAMS_MAX parameters (501 above that). */
int smtp_cmd_parse(const uint8_t *line, size_t len, bool utf8_ok, struct arena *a,
                   struct smtp_cmd *cmd_out);

/* smtp_line_read() followed by smtp_cmd_parse() with r->smtputf8.
 *   >0: a command in *cmd_out; 0: need more (all of p consumed); <0: as smtp_line_read()
 *   and smtp_cmd_parse(), with cmd_out->reply_code/reason set (ERR_TOO_LONG for the line
 *   is 500 "5.5.2 Line too long"; if that line began with "BDAT " must_close is set).
 * *used_out is always set; call again with p + *used_out for pipelined commands. */
int smtp_cmd_read(struct smtp_cmd_reader *r, const uint8_t *p, size_t len, size_t *used_out,
                  struct arena *a, struct smtp_cmd *cmd_out);

/* Canonical form of an address for lookups: surrounding "<>" and a source route
 * stripped, domain lower-cased (ASCII letters only; U-labels keep their case), local
 * part kept byte-exact (RFC 5321 2.4: it may be case-sensitive), except that a quoted
 * local part that needs no quoting is unquoted ("a.b"@x -> a.b@x, RFC 5321 4.1.2) and a
 * "postmaster" local part (case-insensitive by RFC 5321 4.5.1) is lower-cased.
 * "<>" gives "", "<Postmaster>" gives "postmaster".
 * addr may be given with or without "<>"; non-ASCII is accepted when utf8_ok.
 * Returns 0 and *out_out (arena string), ERR_BAD_SYNTAX, ERR_TOO_LONG, ERR_NOMEM. */
int smtp_addr_canon(struct arena *a, const char *addr, size_t len, bool utf8_ok,
                    const char **out_out);

/* The verb's name in upper case ("MAIL"), "?" for SMTP_VERB_UNKNOWN. */
const char *smtp_verb_name(enum smtp_verb v);

#endif
