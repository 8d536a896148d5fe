/* imap_fmt.h: writing IMAP data (RFC 9051 4, 7.5.2): strings in the form the data
 * needs (atom, quoted, literal), ENVELOPE and BODY/BODYSTRUCTURE from the message
 * structure cached at delivery (src/mime: never a re-parse per FETCH), and locating a
 * body section's bytes. Pure: output goes to a sink the caller provides (the session's
 * connection, or a buffer in tests); no I/O of its own, no allocation but from the arena
 * it is handed.
 *
 * The rules the output follows, exactly (compared byte for byte against Dovecot on the
 * corpus in tests/corpus/imap/):
 *  - A string is sent quoted when every byte is printable ASCII other than '"' and '\'
 *    (which are escaped), or, with utf8 (UTF8=ACCEPT enabled), valid UTF-8 without
 *    controls; otherwise as a literal {n}CRLF + bytes (8-bit header bytes on a rev1
 *    session, CR/LF, NUL: literal; NUL is never sent: see nstring below).
 *  - NIL versus "": an absent field is NIL; a present empty one is "" (RFC 9051 7.5.2),
 *    with the defaults of 7.5.2 for BODYSTRUCTURE (encoding "7BIT", charset us-ascii for
 *    text/plain without a Content-Type, ...).
 *  - ENVELOPE: date, subject, in-reply-to and message-id raw (encoded words left
 *    encoded); address lists as parsed (group syntax with NIL markers); sender and
 *    reply-to default to from when absent.
 *  - BODYSTRUCTURE: text/* and message/rfc822 carry their line counts; message/rfc822
 *    carries the encapsulated ENVELOPE and BODYSTRUCTURE; extension data (md5,
 *    disposition, language, location; for multipart the parameters, disposition,
 *    language, location) always in full for BODYSTRUCTURE, never for BODY.
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

/* Where output goes. write() takes any number of bytes; errors are the sink's own. */
struct imap_sink {
	void (*write)(void *ctx, const void *p, size_t n);
	void *ctx;
};

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

/* RFC 9051 7.5.2 ENVELOPE of a message (the root's, or a message/rfc822's). */
void imap_put_envelope(const struct imap_sink *o, const struct mime_envelope *env, bool utf8);
/* BODYSTRUCTURE (extensible true) or BODY (false) of the part and everything below. */
void imap_put_bodystructure(const struct imap_sink *o, const struct mime_part *part,
			    bool extensible, bool utf8);

/* The bytes of section sec in a message whose structure is root: [*start, *start +
 * *len) of the message file for IMAP_SECTION_ALL, HEADER, TEXT and MIME. For
 * HEADER.FIELDS(.NOT) the header block to filter is returned that way, and
 * imap_filter_header() makes the answer. ERR_NOTFOUND for a part that does not exist
 * (RFC 9051 6.4.5: the answer is then an empty string, not an error). */
int imap_section_locate(const struct mime_part *root, const struct imap_section *sec,
			uint64_t *start, uint64_t *len);
/* The fields of the header block [p, p+n) named (or, with not, not named) in sec,
 * whole and in their order, followed by the empty line (RFC 9051 6.4.5); into the arena
 * as *out / *out_len. */
int imap_filter_header(const uint8_t *p, size_t n, const struct imap_section *sec,
		       struct arena *a, uint8_t **out, size_t *out_len);

#endif
