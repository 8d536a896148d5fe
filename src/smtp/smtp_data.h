/* smtp_data.h: the message content readers, pure functions over bytes.
 *
 * smtp_data_*: the DATA stream after the 354 reply (RFC 5321 4.1.1.4, 4.5.2).
 *   - The ONLY end of data is CRLF "." CRLF, where the first CRLF may be the one that ended
 *     the previous line or (for an empty message) the CRLF of the DATA command itself:
 *     input ".\r\n" right after 354 is an empty message. "\n.\n", "\r.\r", "\n.\r\n",
 *     "\r\n.\n" and every other mix of bare CR / bare LF never end the message
 *     (SMTP smuggling defence): a line only starts after a real CRLF.
 *   - Dot-stuffing is removed: a line that starts with "." and is not the end marker loses
 *     that first ".". The output is the message exactly as sent, in CRLF form; every CRLF
 *     is passed on once, as is, and nothing else is ever turned into a line end.
 *   - Bare LF (LF not after CR), bare CR (CR not before LF) and NUL are refused, as
 *     Postfix and Exim do since the 2023 smuggling reports: the reader sets a flag and
 *     keeps reading to the real end marker so the session stays in sync, and the session
 *     rejects the whole message after the end marker (smtp_data_verdict: 550 5.6.0).
 *   - Lines have no length limit: the reader streams and holds no line, and real mail
 *     (single-line HTML, unwrapped base64) has lines far past RFC 5322's 998 octets,
 *     which Postfix and Dovecot accept too. Content beyond max_size bytes sets
 *     SMTP_DATA_F_TOO_BIG and keeps syncing likewise.
 *   - Once any flag is set, nothing more goes to the sink: the output is then exactly the
 *     content that came before the first offending byte (for TOO_BIG: the first max_size
 *     bytes). It is never a complete message and the session discards it.
 *   Output invariants (checked by fuzz/fuzz_smtp_data.c): with no flag set, the input up
 *   to the end marker with the leading dot of every line removed is exactly the output
 *   (so a line "." in the output was sent as ".."); out_bytes equals the bytes the sink
 *   accepted; the output does not depend on how the input is split into reads.
 *
 * smtp_bdat_*: BDAT chunks (RFC 3030): exactly N raw bytes per chunk, no dot-stuffing, no
 *   end marker, nothing normalised. Unless the body is BINARYMIME, bare LF, bare CR and
 *   NUL are flagged by the same policy as DATA (a CR at the very end of the LAST chunk is
 *   a bare CR); the total size limit is the same. A chunk that would pass max_size is
 *   flagged TOO_BIG before any of its bytes is read.
 */
#ifndef KASTEN_SMTP_DATA_H
#define KASTEN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Receives message content. Returns 0, or a negative enum err (ERR_IO) which the reader
 * remembers (sink_err, SMTP_DATA_F_SINK) while it keeps reading to stay in sync. The
 * bytes are only valid during the call. */
typedef int (*smtp_sink_fn)(void *ctx, const uint8_t *p, size_t n);

/* Why a message must be refused; several may be set. */
#define SMTP_DATA_F_BARE_LF 0x01u
#define SMTP_DATA_F_BARE_CR 0x02u
#define SMTP_DATA_F_NUL 0x04u
#define SMTP_DATA_F_TOO_BIG 0x10u
#define SMTP_DATA_F_SINK 0x20u

enum smtp_data_state {
	SMTP_DATA_ST_BOL,    /* at the start of a line (after a real CRLF, or at the start) */
	SMTP_DATA_ST_DOT,    /* "." at the start of a line */
	SMTP_DATA_ST_DOT_CR, /* "." CR at the start of a line */
	SMTP_DATA_ST_TEXT,   /* inside a line */
	SMTP_DATA_ST_CR,     /* CR inside a line, LF not seen yet */
	SMTP_DATA_ST_DONE,   /* the end marker was consumed */
};

struct smtp_data_reader {
	smtp_sink_fn sink;
	void *ctx;
	uint64_t max_size; /* content bytes allowed; UINT64_MAX for no limit */
	enum smtp_data_state state;
	unsigned flags;     /* SMTP_DATA_F_* */
	int sink_err;       /* first error the sink returned */
	uint64_t in_bytes;  /* bytes consumed from the wire, end marker included */
	uint64_t out_bytes; /* bytes the sink accepted */
};

/* Prepare r for one message. sink must not be NULL. Returns 0 or ERR_INVAL. */
int smtp_data_init(struct smtp_data_reader *r, uint64_t max_size, smtp_sink_fn sink, void *ctx);

/* Consume DATA bytes from p[0..len).
 *   >0: the end marker was consumed; *used_out points just past its LF. Bytes after it
 *       are the next command (pipelining) and stay with the caller. Look at r->flags
 *       (smtp_data_verdict) before accepting the message.
 *    0: all of p was consumed; feed more.
 *   ERR_INVAL: called again after the end.
 * *used_out is always set. Sink errors do not stop the reader (see smtp_sink_fn). */
int smtp_data_read(struct smtp_data_reader *r, const uint8_t *p, size_t len, size_t *used_out);

/* The reply for a finished DATA or BDAT transfer with these flags:
 *   0 when flags == 0 (the session goes on to store the message), otherwise
 *   ERR_IO (451 4.3.0), ERR_TOO_BIG (552 5.3.4) or ERR_BAD_SYNTAX (550 5.6.0 bare LF /
 *   bare CR / NUL), in that order of precedence. *code_out and *reason_out (static text after the code) are set for
 *   errors and left alone for 0. */
int smtp_data_verdict(unsigned flags, unsigned *code_out, const char **reason_out);

struct smtp_bdat_reader {
	smtp_sink_fn sink;
	void *ctx;
	uint64_t max_size;  /* total over all chunks; UINT64_MAX for no limit */
	bool binary;        /* BODY=BINARYMIME: no byte is refused */
	bool last;          /* the current chunk is the LAST one */
	bool done;          /* the LAST chunk was read completely */
	bool cr;            /* the previous byte (possibly in an earlier chunk) was CR */
	uint64_t remaining; /* bytes of the current chunk still to read */
	unsigned flags;     /* SMTP_DATA_F_* */
	int sink_err;
	uint64_t in_bytes, out_bytes;
};

/* Prepare r for one message (before its first BDAT). */
void smtp_bdat_init(struct smtp_bdat_reader *r, uint64_t max_size, bool binary, smtp_sink_fn sink,
                    void *ctx);

/* Start a chunk of size bytes (the parsed BDAT command). Returns 1 when the chunk is
 * already complete (size 0), 0 when smtp_bdat_read() must follow, ERR_INVAL when a
 * chunk is still unfinished or the LAST chunk was already read. */
int smtp_bdat_chunk(struct smtp_bdat_reader *r, uint64_t size, bool last);

/* Consume up to r->remaining bytes of p[0..len).
 *   >0: the chunk is complete (*used_out bytes were its end; the rest is commands);
 *    0: all of p consumed, more chunk bytes to come.
 * *used_out is always set. After the LAST chunk, check r->flags (smtp_data_verdict). */
int smtp_bdat_read(struct smtp_bdat_reader *r, const uint8_t *p, size_t len, size_t *used_out);

#endif
