/* smtpc.h: the SMTP client protocol over one connection (RFC 5321), for the outbound
 * engine and `kasten smtp-send`.
 *
 * Two layers:
 *   - pure (smtpc_parse.c, smtpc_fmt.c; core only, fuzzed): the reply parser (multiline
 *     replies, RFC 3463 enhanced status codes), the EHLO keyword parser, the xtext
 *     encoder (RFC 3461 4) and the MAIL/RCPT command formatter;
 *   - the session driver (smtpc_io.c, smtpc_tls.c, smtpc_session.c, smtpc_send.c): one
 *     blocking socket, every wait bounded by poll() with the caller's timeouts, TLS by
 *     OpenSSL on the same fd (STARTTLS or TLS from the first byte).
 *
 * Replies (the parser's line decisions, STYLE 5):
 *   - A line ends at LF; CRLF is the standard end, a bare LF is accepted (servers that
 *     send one exist; nothing is lost by it). A CR elsewhere, NUL and other control bytes
 *     except HTAB are kept in the text as '?' (the text reaches logs and DSNs).
 *   - A line is 3 digits (first 2-5, second 0-5), then SP, '-' or the line end. "-"
 *     continues the reply; every line of one reply carries the same code, otherwise the
 *     reply is malformed (ERR_BAD_SYNTAX).
 *   - A line longer than LIMIT_SMTPC_REPLY_LINE (with its CRLF) is ERR_TOO_LONG; a reply
 *     of more than LIMIT_SMTPC_REPLY_LINES lines too. RFC 5321 4.5.3.1.5 allows 512.
 *   - The enhanced status (RFC 3463 2: class.subject.detail, class equal to the code's
 *     first digit, 1-3 digits each) is taken from the first line's text when present.
 *   - The one-line form kept for logs and DSNs is "code status text", the lines' texts
 *     joined by a space (a repeated status left out); text past LIMIT_SMTPC_REPLY_TEXT is
 *     cut and ends in "...", and `cut` says so. Code and status are never cut.
 *
 * Errors of the session functions (return values):
 *   0            the command got the reply it hoped for (2xx; 3xx where one is asked for)
 *   ERR_TEMP     the server answered 4xx (the reply is filled)
 *   ERR_PERM     the server answered 5xx, or a check before sending failed (the reply is
 *                filled with a synthesized one and `synthesized` set)
 *   ERR_IO       the connection is unusable: refused, reset, closed, a timeout, a
 *                malformed or too long reply (reply code 0); detail in smtpc_error().
 *                Always temporary for the message (RFC 5321 4.5.4.1).
 *   ERR_AUTH     STARTTLS: the certificate did not verify as asked (the connection is
 *                closed; RFC 7672 2.2: not a reason to send in clear text);
 *                smtpc_auth: the server refused the credentials (5xx, reply filled)
 *   ERR_INVAL    the caller asked for something impossible (an argument too long, AUTH
 *                on plain text without allow_plain, STARTTLS not offered, ...)
 *   ERR_NOMEM    out of memory.
 * After ERR_IO or ERR_AUTH from STARTTLS only smtpc_free() is left to call.
 *
 * Threads and signals: a session belongs to one thread at a time; sessions share
 * nothing but the SSL_CTX (OpenSSL makes that safe). OpenSSL writes with write(2): the
 * process must ignore SIGPIPE (kasten serve and `kasten smtp-send` do). */
#ifndef KASTEN_SMTPC_H
#define KASTEN_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/limits.h"

struct ssl_ctx_st;

/* ---- replies (pure) ---- */

#define SMTPC_STATUS_MAX 12 /* "5.123.123" and NUL */

struct smtpc_reply {
	int code;                          /* 200..599; 0: no reply (connection failure) */
	char status[SMTPC_STATUS_MAX];     /* RFC 3463 "5.1.1", or "" when the server sent none */
	char line[LIMIT_SMTPC_REPLY_TEXT]; /* "550 5.1.1 text text2", NUL-terminated */
	bool cut;                          /* the text was longer than `line` holds */
	bool synthesized;                  /* made by us (a check before sending, a lost
	                                    * connection), not sent by the server */
};

/* EHLO keywords (RFC 5321 4.1.1.1; the extension RFCs named at each). */
enum smtpc_ext_flag {
	SMTPC_EXT_PIPELINING = 1u << 0,           /* RFC 2920 */
	SMTPC_EXT_SIZE = 1u << 1,                 /* RFC 1870 (limit in smtpc_ext.size; 0 = none) */
	SMTPC_EXT_8BITMIME = 1u << 2,             /* RFC 6152 */
	SMTPC_EXT_SMTPUTF8 = 1u << 3,             /* RFC 6531 */
	SMTPC_EXT_CHUNKING = 1u << 4,             /* RFC 3030 */
	SMTPC_EXT_BINARYMIME = 1u << 5,           /* RFC 3030 */
	SMTPC_EXT_DSN = 1u << 6,                  /* RFC 3461 */
	SMTPC_EXT_STARTTLS = 1u << 7,             /* RFC 3207 */
	SMTPC_EXT_AUTH = 1u << 8,                 /* RFC 4954 (mechanisms in smtpc_ext.auth) */
	SMTPC_EXT_REQUIRETLS = 1u << 9,           /* RFC 8689 */
	SMTPC_EXT_ENHANCEDSTATUSCODES = 1u << 10, /* RFC 2034 */
};

enum smtpc_auth_mech {
	SMTPC_AUTH_PLAIN = 1u << 0, /* RFC 4616 */
	SMTPC_AUTH_LOGIN = 1u << 1, /* draft-murchison-sasl-login */
};

struct smtpc_ext {
	unsigned flags; /* enum smtpc_ext_flag bits */
	uint64_t size;  /* SIZE's limit in octets; 0: none announced */
	unsigned auth;  /* enum smtpc_auth_mech bits */
};

/* The reply parser: resumable at every byte; all progress in the struct (about
 * LIMIT_SMTPC_REPLY_LINE bytes). */
struct smtpc_reply_parser {
	struct smtpc_reply *reply; /* where the reply goes (set by init) */
	struct smtpc_ext *ext;     /* NULL, or EHLO keywords are collected here from every
	                            * line after the first (set by init; cleared then) */
	size_t len;                /* bytes of the current line so far */
	unsigned lines;            /* lines of this reply so far */
	size_t text_len;           /* bytes of reply->line so far */
	char status[SMTPC_STATUS_MAX];
	/* NULL, or called with each whole line (without its line end) as it is read: the
	 * session's trace; kept by init */
	void (*on_line)(void *ctx, const uint8_t *line, size_t len);
	void *on_line_ctx;
	uint8_t buf[LIMIT_SMTPC_REPLY_LINE];
};

/* Start a reply: *reply (and *ext when not NULL) are cleared and filled as lines come.
 * on_line and on_line_ctx are left as they are (zero the struct before the first init). */
void smtpc_reply_parser_init(struct smtpc_reply_parser *rp, struct smtpc_reply *reply,
                             struct smtpc_ext *ext);

/* Feed p[0..len). Returns 1 when a whole reply has been read (*used_out: bytes used; the
 * rest belongs to the next reply; init again before it), 0 when all of p was used and
 * more is needed, ERR_TOO_LONG or ERR_BAD_SYNTAX for a reply that cannot be used (the
 * connection should be dropped: where the next reply starts is unknown). */
int smtpc_reply_parse(struct smtpc_reply_parser *rp, const uint8_t *p, size_t len,
                      size_t *used_out);

/* One EHLO line's text (without "250-", without its line end) into *ext. Unknown
 * keywords are ignored; SIZE's value is read with checked arithmetic (an overflowing or
 * malformed value: SIZE offered without a limit). */
void smtpc_ehlo_keyword(struct smtpc_ext *ext, const char *text, size_t len);

/* A synthesized reply: code, status and text into *r (synthesized = true). */
void smtpc_reply_set(struct smtpc_reply *r, int code, const char *status, const char *text);

/* ---- commands (pure) ---- */

/* RFC 3461 4.1 NOTIFY; the same values as the queue's enum queue_notify. */
enum smtpc_notify {
	SMTPC_NOTIFY_DEFAULT = 0, /* no NOTIFY parameter */
	SMTPC_NOTIFY_NEVER = 1,
	SMTPC_NOTIFY_SUCCESS = 2,
	SMTPC_NOTIFY_FAILURE = 4,
	SMTPC_NOTIFY_DELAY = 8,
};
enum smtpc_ret { SMTPC_RET_DEFAULT = 0, SMTPC_RET_HDRS, SMTPC_RET_FULL }; /* RFC 3461 4.3 */
enum smtpc_body { SMTPC_BODY_7BIT = 0, SMTPC_BODY_8BITMIME, SMTPC_BODY_BINARYMIME };

struct smtpc_msg {
	const char *sender; /* the reverse path without <>; "" = the null sender */
	const char *envid;  /* RFC 3461 ENVID (not yet xtext-encoded) or NULL */
	enum smtpc_ret ret;
	enum smtpc_body body;
	bool smtputf8;      /* RFC 6531: the envelope or header needs SMTPUTF8 */
	bool requiretls;    /* RFC 8689 */
	const void *prefix; /* bytes sent before the file (DKIM-Signature lines, CRLF
	                     * each) or NULL */
	size_t prefix_len;
	int fd;          /* the message, lines ending in CRLF; read with pread from
	                  * offset, the file position never moved */
	uint64_t offset; /* bytes at the file's start that are not sent */
	uint64_t size;   /* bytes of the file to send, from offset */
};

struct smtpc_rcpt {
	const char *address;      /* the forward path without <> */
	const char *orcpt;        /* "rfc822;x@y" as given (not xtext-encoded) or NULL */
	unsigned notify;          /* enum smtpc_notify bits */
	struct smtpc_reply reply; /* out: this recipient's outcome, see smtpc_send */
};

/* xtext (RFC 3461 4): bytes outside "!".."~", "+" and "=" become "+XX". Into
 * out[0..cap) NUL-terminated; ERR_TOO_LONG when it does not fit. */
int smtpc_xtext(const char *in, char *out, size_t cap);

/* "MAIL FROM:<sender> SIZE=n BODY=.. SMTPUTF8 RET=.. ENVID=.. REQUIRETLS\r\n" into
 * out[0..cap), NUL-terminated, *len_out its length. Parameters only for extensions in
 * ext (SIZE with the size of prefix + file; RET/ENVID only when DSN is offered).
 * ERR_TOO_LONG when it does not fit, ERR_INVAL for a CR, LF or NUL in a field. */
int smtpc_format_mail(const struct smtpc_ext *ext, const struct smtpc_msg *m, char *out, size_t cap,
                      size_t *len_out);

/* "RCPT TO:<address> NOTIFY=.. ORCPT=type;xtext\r\n" (NOTIFY and ORCPT only when DSN is
 * offered), as smtpc_format_mail. */
int smtpc_format_rcpt(const struct smtpc_ext *ext, const struct smtpc_rcpt *r, char *out,
                      size_t cap, size_t *len_out);

/* ---- the session ---- */

struct smtpc_timeouts {
	unsigned connect_ms; /* TCP connect and each TLS handshake */
	unsigned command_ms; /* each reply to the greeting, EHLO, MAIL, RCPT, DATA, ...
	                      * and each write of a command (RFC 5321 4.5.3.2: 5 min) */
	unsigned data_ms;    /* each write of message bytes and the reply after the end
	                      * of the data (RFC 5321 4.5.3.2.5/6: 3 and 10 min) */
};

/* One line of the conversation, as sent ('C') or received ('S'), without its line end;
 * AUTH payloads are shown as "<hidden>" and message bytes not at all. */
typedef void (*smtpc_trace_fn)(void *ctx, char who, const char *line, size_t len);

struct smtpc_config {
	struct smtpc_timeouts timeouts;
	const char *helo;           /* our name for EHLO/HELO */
	struct ssl_ctx_st *ssl_ctx; /* a shared context from smtpc_tls_ctx_new, or NULL:
	                             * the session makes its own when it needs one */
	smtpc_trace_fn trace;       /* NULL or called for every line */
	void *trace_ctx;
};

enum smtpc_verify {
	SMTPC_VERIFY_NONE, /* encrypt, accept any certificate (opportunistic TLS) */
	SMTPC_VERIFY_PKIX, /* the system trust store (or ca_file), one of names */
	SMTPC_VERIFY_DANE, /* RFC 7672: the TLSA records (DANE-TA(2), DANE-EE(3)) */
};

struct smtpc_tlsa {
	uint8_t usage, selector, mtype; /* RFC 6698 2.1 */
	const uint8_t *data;
	size_t len;
};

struct smtpc_tls_opts {
	const char *sni; /* the server name sent (SNI), or NULL */
	enum smtpc_verify verify;
	const char *const *names; /* PKIX: names the certificate may carry (MTA-STS: the
	                           * MX host; wildcards as RFC 6125); DANE-TA: the TLSA base
	                           * domain and MX host (RFC 7672 3.2.2); names[0] first */
	size_t n_names;
	const struct smtpc_tlsa *tlsa; /* DANE: the usable records */
	size_t n_tlsa;
};

/* How the peer was authenticated. */
enum smtpc_tls_state {
	SMTPC_TLS_OFF,        /* plain text */
	SMTPC_TLS_UNVERIFIED, /* encrypted, certificate not checked (SMTPC_VERIFY_NONE) */
	SMTPC_TLS_PKIX,       /* verified against the trust store and a name */
	SMTPC_TLS_DANE_TA,    /* verified by a DANE-TA(2) record */
	SMTPC_TLS_DANE_EE,    /* verified by a DANE-EE(3) record */
};

struct smtpc;

/* A TLS client context for many sessions (the engine makes one at start): TLS 1.2 and
 * up, DANE enabled on it, the system trust store or ca_file (NULL: the system's).
 * 0 or ERR_INVAL (detail in err_out). Free with SSL_CTX_free. */
int smtpc_tls_ctx_new(const char *ca_file, struct ssl_ctx_st **out, char *err_out, size_t err_cap);

/* A session object (no connection yet). *cfg is copied; helo is copied. */
int smtpc_new(const struct smtpc_config *cfg, struct smtpc **out);

/* Connect to sa (its port included) within connect_ms; with tls (not NULL) do a TLS
 * handshake at once (RFC 8314 implicit TLS, the relay's port 465); then read the
 * greeting. 0 on a 2xx greeting; ERR_PERM/ERR_TEMP on 5xx/4xx (RFC 5321 3.1: a 554
 * greeting, the engine tries the next MX; *greeting_out holds it; QUIT then); ERR_IO;
 * ERR_AUTH when tls verification failed. */
int smtpc_connect(struct smtpc *s, const struct sockaddr *sa, socklen_t sa_len,
                  const struct smtpc_tls_opts *tls, struct smtpc_reply *greeting_out);

/* EHLO; on a 5xx answer HELO (RFC 5321 3.2; no extensions then). The keywords are kept
 * (smtpc_extensions). 0 when either was accepted. */
int smtpc_ehlo(struct smtpc *s, struct smtpc_reply *reply_out);

/* STARTTLS (RFC 3207), the handshake with o's verification, then EHLO again (the
 * extensions are those of the new EHLO). Bytes the server sent after its 220 and before
 * the handshake are discarded (RFC 3207 4.2 / STARTTLS injection). ERR_INVAL when
 * STARTTLS was not offered; ERR_AUTH when verification failed. */
int smtpc_starttls(struct smtpc *s, const struct smtpc_tls_opts *o, struct smtpc_reply *reply_out);

/* AUTH PLAIN, else LOGIN (the first the server offers) with user and password (RFC
 * 4954). Only over TLS unless allow_plain. 0 on 235; ERR_AUTH on 535 and other 5xx;
 * ERR_TEMP on 4xx; ERR_INVAL when no mechanism we have is offered. The payloads are
 * wiped after use and never traced. */
int smtpc_auth(struct smtpc *s, const char *user, const char *password, bool allow_plain,
               struct smtpc_reply *reply_out);

/* One transaction: MAIL, RCPT for each of rcpts[0..n) (n <= LIMIT_SMTPC_RCPTS), then
 * DATA (dot-stuffed on the fly) or BDAT (when CHUNKING is offered; BINARYMIME needs it).
 * With PIPELINING, MAIL, the RCPTs and DATA go in one write (RFC 2920 3.1).
 *
 * Checks first, each a synthesized permanent failure of the whole message: SIZE offered
 * and prefix + file larger: 552 5.3.4; 8BITMIME body and no 8BITMIME, or BINARYMIME
 * without BINARYMIME+CHUNKING: 554 5.6.3; SMTPUTF8 needed and not offered: 553 5.6.7
 * (RFC 6531 3.4); REQUIRETLS needed and not offered or TLS not verified: 550 5.7.10
 * (RFC 8689 4.1).
 *
 * Results: rcpts[i].reply is final for each recipient: its RCPT reply when refused,
 * else the final reply after the data (or the MAIL reply, or the synthesized one, or
 * code 0 when the connection broke before its outcome was known: temporary). When
 * every RCPT is refused, RSET is sent instead of the data. *final_out: the reply that
 * ended the transaction (MAIL's when refused, the data's, or the synthesized one).
 * Returns 0 when the session can take another transaction (whatever the outcomes),
 * ERR_PERM when a check failed (nothing was sent; the session can go on), ERR_IO when
 * the connection broke, ERR_INVAL for bad arguments. */
int smtpc_send(struct smtpc *s, const struct smtpc_msg *m, struct smtpc_rcpt *rcpts, size_t n,
               struct smtpc_reply *final_out);

/* RSET: 0 on 250. */
int smtpc_rset(struct smtpc *s, struct smtpc_reply *reply_out);

/* QUIT, waiting for the 221 at most command_ms; then the connection is closed. Errors
 * are of no consequence to the caller (the transaction results are already known). */
int smtpc_quit(struct smtpc *s);

/* Close (TLS close_notify when possible, no waiting) and free; *s = NULL. */
void smtpc_free(struct smtpc **s);

/* The extensions of the last EHLO (all 0 after HELO). */
const struct smtpc_ext *smtpc_extensions(const struct smtpc *s);

/* How the peer was authenticated, and the TLS version/cipher ("TLSv1.3
 * TLS_AES_256_GCM_SHA384") or "" on plain text. */
enum smtpc_tls_state smtpc_tls_state(const struct smtpc *s);
const char *smtpc_tls_desc(const struct smtpc *s);

/* The detail of the last error, one line, "" if none. */
const char *smtpc_error(const struct smtpc *s);

/* The last lines of the conversation (a ring of LIMIT_SMTPC_TRANSCRIPT lines, each
 * "C: ..." or "S: ...", cut at LIMIT_SMTPC_TRANSCRIPT_LINE), oldest first, joined with
 * " | " into out[0..cap) NUL-terminated (cut when it does not fit). For log lines. */
void smtpc_transcript(const struct smtpc *s, char *out, size_t cap);

#endif
