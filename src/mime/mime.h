/* mime.h: RFC 5322 + MIME (RFC 2045-2047, 2231) message structure.
 *
 * A message is parsed once, at delivery or APPEND, into a tree of parts with byte offsets
 * into the message; the tree is serialized into a compact blob that the store keeps beside
 * the message, so FETCH ENVELOPE / BODYSTRUCTURE / BODY[1.2.HEADER] later need no
 * re-parse. Parsing is a pure function over bytes: no I/O, allocation only from the arena
 * it is handed, bounded by LIMIT_HEADER_FIELDS, LIMIT_MIME_DEPTH and LIMIT_MIME_PARTS
 * (past a bound the rest is treated as an opaque body, never an error that loses mail).
 * The full struct mime_part is defined in this header by the mime module. */
#ifndef KASTEN_MIME_H
#define KASTEN_MIME_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct mime_part;

/* Parse the message [p, p+len) (CRLF or LF line ends tolerated) into *root_out.
 * Returns 0, or ERR_NOMEM if the arena ran out. Malformed input never fails: it yields
 * the best structure RFC 2045 allows (text/plain defaults, unterminated parts end at EOF). */
int mime_parse(const uint8_t *p, size_t len, struct arena *a, struct mime_part **root_out);

/* Serialize a parsed tree (and the envelope fields it carries) to a self-describing blob;
 * mime_deserialize() rebuilds the identical tree. The blob format is versioned: an
 * unknown version fails with ERR_BAD_SYNTAX so callers re-parse from the message. */
int mime_serialize(const struct mime_part *root, struct arena *a, void **blob_out,
		   size_t *len_out);
int mime_deserialize(const void *blob, size_t len, struct arena *a, struct mime_part **root_out);

/* Convenience for the delivery path: parse and serialize in one step. */
int mime_index(const uint8_t *p, size_t len, struct arena *a, void **blob_out, size_t *len_out);

#endif
