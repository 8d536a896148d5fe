/* imap_fmt.h: writing IMAP data (RFC 9051 4, 7.5.2): strings in the form the data
 * needs (atom, quoted, literal), ENVELOPE and BODY/BODYSTRUCTURE from the message
 * structure cached at delivery (src/mime: never a re-parse per FETCH), and locating a
 * body section's bytes. Pure: output goes to a sink the caller provides (the session's
 * connection, or a buffer in tests); no I/O of its own, no allocation but from the arena
 * it is handed.
 *
 * The rules the output follows, exactly (compared byte for byte against Dovecot 2.3 on
 * the corpus in tests/corpus/imap/, where each deliberate difference has a file saying
 * why):
 *  - A string is sent quoted when every byte is a CHAR other than CR, LF and NUL, or,
 *    with utf8 (UTF8=ACCEPT or IMAP4rev2 enabled), part of valid UTF-8, and it needs at
 *    most four escapes ('"' and '\'); otherwise as a literal {n}CRLF + bytes (8-bit
 *    header bytes on a rev1 session, CR/LF, many quotes). NUL is never sent: it goes
 *    as U+FFFD (a literal cannot carry NUL, RFC 9051 9 CHAR8), as Dovecot's parser
 *    stores it.
 *  - NIL versus "": an absent field is NIL; a present empty one is "" (RFC 9051 7.5.2).
 *  - ENVELOPE: date, in-reply-to and message-id are the unfolded raw values (encoded
 *    words left encoded). The subject and address display names are text for humans,
 *    as Dovecot sends them: TAB as SP, runs of SP as one, no leading or trailing SP;
 *    such text goes as a literal when that changed it or when it holds '"', '\' or
 *    8-bit bytes (with utf8: quoted when it can be). Address lists as parsed, group
 *    syntax with its NIL markers; sender and reply-to are from's when absent or empty.
 *  - BODYSTRUCTURE: text parts and message/rfc822 carry their line counts; message/rfc822
 *    carries the encapsulated ENVELOPE and BODYSTRUCTURE (all NIL and an empty text/plain
 *    when it was not descended into: an encoded body, or past a limit), and so does
 *    message/global with utf8 (RFC 9051 9 media-message; RFC 3501 has only RFC822). An
 *    absent transfer encoding is "7bit"; a text part without charset gets "charset"
 *    "us-ascii" appended (RFC 2045 5.2). Parameters as mime decoded them (RFC 2231
 *    continuations joined, charsets decoded to UTF-8, RFC 9051 7.5.2): with utf8 as
 *    UTF-8, else an 8-bit UTF-8 value as "name*" "utf-8''%XX..." (RFC 2231 4), and a
 *    value mime could not convert as "name*" in its original extended form. Extension
 *    data (md5, disposition, language, location; for multipart the parameters,
 *    disposition, language, location) always in full for BODYSTRUCTURE, never for BODY.
 *  - A message with no trailing newline, broken or missing boundaries, 8-bit headers:
 *    whatever src/mime made of it, written by the same rules. */
#ifndef KASTEN_IMAP_FMT_H
#define KASTEN_IMAP_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

struct arena;
struct mime_part;
struct mime_envelope;
struct mime_str;

/* Where output goes. write() takes any number of bytes (never 0); errors are the
 * sink's own (it remembers a failure and the caller checks it after the response).
 * The formatter calls it once per run of bytes, not per byte. */
struct imap_sink {
	void (*write)(void *ctx, const void *p, size_t n);
	void *ctx;
};

/* imap_putf() formats into a stack buffer of this size: for numbers and short fixed
 * text only (a longer result is a programming error, caught by assert). */
#define IMAP_PUTF_MAX 128

void imap_put(const struct imap_sink *o, const void *p, size_t n);
void imap_puts(const struct imap_sink *o, const char *s);
void imap_putf(const struct imap_sink *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* astring: an atom when the bytes are ATOM-CHARs (and not "NIL"), else as below. */
void imap_put_astring(const struct imap_sink *o, const void *p, size_t n, bool utf8);
/* string: quoted or literal (never an atom). */
void imap_put_string(const struct imap_sink *o, const void *p, size_t n, bool utf8);
/* nstring: NIL for s == NULL (a mime_str with s NULL), else a string. */
void imap_put_nstring(const struct imap_sink *o, const struct mime_str *s, bool utf8);

/* RFC 9051 7.5.2 ENVELOPE of a message (the root's, or a message/rfc822's), with its
 * parentheses; env NULL gives ten NILs. */
void imap_put_envelope(const struct imap_sink *o, const struct mime_envelope *env, bool utf8);
/* BODYSTRUCTURE (extensible true) or BODY (false) of the part and everything below,
 * with its parentheses. Neither allocates: the output goes straight to the sink. */
void imap_put_bodystructure(const struct imap_sink *o, const struct mime_part *part,
			    bool extensible, bool utf8);

/* The bytes of section sec in a message whose structure is root: [*start, *start +
 * *len) of the message file for IMAP_SECTION_ALL, HEADER, TEXT and MIME. For
 * HEADER.FIELDS(.NOT) the header block to filter is returned that way, and
 * imap_filter_header() makes the answer. Part numbers as RFC 9051 6.4.5 says: a
 * message whose body is not multipart has the one part 1 (its MIME header is the
 * message header); a message/rfc822 part's numbers go on inside it. ERR_NOTFOUND for a
 * part that does not exist, part number 0, and HEADER/TEXT/HEADER.FIELDS after a part
 * that is not message/rfc822 (the answer is then an empty string, not an error, as
 * Dovecot answers); ERR_INVAL for MIME without a part number. */
int imap_section_locate(const struct mime_part *root, const struct imap_section *sec,
			uint64_t *start, uint64_t *len);
/* The part sec's part numbers name (root itself for none), by the rules of
 * imap_section_locate; NULL for one that does not exist. BINARY decodes that part's
 * body with its own Content-Transfer-Encoding. */
const struct mime_part *imap_section_part(const struct mime_part *root,
					  const struct imap_section *sec);
/* The fields of the header block [p, p+n) named (IMAP_SECTION_HEADER_FIELDS) or not
 * named (IMAP_SECTION_HEADER_NOT) in sec, field names matched ASCII case-insensitively,
 * whole (folded lines included) and in their order, then the block's empty line if it
 * has one (RFC 9051 6.4.5: "included in all header fetches, except in the case of a
 * message that has no body and no blank line"); a last field without line end gets a
 * CRLF. A line without a colon matches no name. Every field counts, also past
 * LIMIT_HEADER_FIELDS (the block is already in memory). One arena allocation of n + 2
 * bytes: *out / *out_len. Returns 0, ERR_NOMEM, or ERR_INVAL for another kind. */
int imap_filter_header(const uint8_t *p, size_t n, const struct imap_section *sec,
		       struct arena *a, uint8_t **out, size_t *out_len);

#endif
