/*
 * bench/imap_response.h: a resumable reader of IMAP server responses, for imap_load.
 *
 * It cuts the byte stream into responses. A response is one line, or several when it
 * carries literals: a line ending in "{n}" is followed by n octets and then more of the
 * same response, up to a line that does not end in a literal. Literal octets are
 * skipped as they stream, never stored (a 50 MB BODY[] costs nothing); of the text
 * outside literals the first IMAP_RESPONSE_KEEP bytes are kept, the rest only counted:
 * imap_load looks at a response's head (tag, number, keyword, UID, response code).
 *
 * Line ends: CRLF, and a bare LF too (a load generator takes what a server sends; the
 * CR is removed either way). "{n}" counts only at the very end of a line, also "~{n}"
 * (literal8); sizes above 2^40 are not literals but text. Correct at every byte
 * offset: all progress lives in struct imap_response.
 */
#ifndef BENCH_IMAP_RESPONSE_H
#define BENCH_IMAP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_RESPONSE_KEEP 8192
#define IMAP_RESPONSE_TAIL 24 /* enough for the largest "{n}" */

struct imap_response {
	char text[IMAP_RESPONSE_KEEP]; /* text outside literals, without CRLFs */
	size_t len;                    /* bytes kept in text */
	size_t dropped;                /* bytes of text past IMAP_RESPONSE_KEEP */
	uint64_t literal_bytes;        /* literal octets skipped */

	/* where the reader stands */
	char tail[IMAP_RESPONSE_TAIL]; /* the last bytes of the current line */
	size_t tail_len;
	uint64_t literal_left;
};

/* Reads from p[0..n) and returns how many bytes it used. Sets *complete_out when a
 * whole response is in r: then the bytes after it are not used yet; look at r, call
 * imap_response_reset and feed the rest. Never fails. */
size_t imap_response_feed(struct imap_response *r, const char *p, size_t n, bool *complete_out);

/* Makes r ready for the next response (also the first: or zero it). */
void imap_response_reset(struct imap_response *r);

/* The checked decimal at p[0..n), at most 2^40: the value, or -1 when p does not start
 * with a digit or the number is bigger; *used_out gets the digits' length. */
int64_t imap_response_number(const char *p, size_t n, size_t *used_out);

#endif
