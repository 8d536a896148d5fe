/* dkim_int.h: the pieces of DKIM (RFC 6376) shared inside src/outbound/dkim*.c and
 * driven alone by the unit tests and fuzzers: the tag-list parser, the canonicalizers,
 * the message splitter and the key-record parser. Pure functions over bytes: no I/O.
 *
 * Line ends: DKIM hashes CRLF lines. A message handed to kasten over SMTP has only CRLF
 * (smtp/ refuses bare CR and LF); a file given to `kasten dkim sign|verify` may have
 * Unix LF line ends. So everywhere here a bare LF ends a line as CRLF would, and is
 * hashed as CRLF (the message as it would travel over SMTP); a bare CR is an ordinary
 * byte of its line. */
#ifndef KASTEN_DKIM_INT_H
#define KASTEN_DKIM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "outbound/dkim.h"

/* ---- tag lists (RFC 6376 3.2) ----
 * The whole value of one header field or key record is in memory (bounded by
 * LIMIT_DKIM_HEADER and LIMIT_DKIM_RECORD), so this parser is not resumable.
 * Accepted: tag-name = ALPHA *(ALPHA / DIGIT / "_"); tag-value = VALCHAR runs
 * (%x21-3A / %x3C-7E, and 8-bit bytes, which RFC 6376 leaves to the tag's own syntax)
 * separated by whitespace; FWS (SP, HTAB, and CRLF or LF followed by SP/HTAB) around
 * names, '=' and values; an optional final ';'; empty tag-specs between ';' ("a=1;;b=2")
 * are refused. A duplicate tag name is an error (3.2: "MUST be interpreted as a
 * permanent error"). A value keeps its inner whitespace; leading and trailing
 * whitespace is not part of it. */
struct dkim_tag {
	const uint8_t *name;
	size_t name_len;
	const uint8_t *value;
	size_t value_len;
};

struct dkim_tags {
	struct dkim_tag tag[LIMIT_DKIM_TAGS];
	size_t n;
};

/* Parse p[0..len) into out (pointers into p). 0, ERR_BAD_SYNTAX, or ERR_TOO_BIG past
 * LIMIT_DKIM_TAGS tags. */
int dkim_tags_parse(const uint8_t *p, size_t len, struct dkim_tags *out);
/* The tag named name (case-sensitive, 3.2), or NULL. */
const struct dkim_tag *dkim_tags_find(const struct dkim_tags *t, const char *name);
/* Whether the tag's value is exactly s. */
bool dkim_tag_value_is(const struct dkim_tag *t, const char *s);

/* Decode base64 with whitespace (FWS) anywhere in it, as b=, bh= and p= carry it
 * (RFC 6376 2.4). Padding must be right; anything else but whitespace is an error.
 * Returns the decoded length (>= 0), or ERR_BAD_SYNTAX, or ERR_TOO_BIG above cap. */
int dkim_base64_decode(const uint8_t *p, size_t len, uint8_t *out, size_t cap);

/* ---- canonicalization (RFC 6376 3.4) ---- */
enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

typedef void (*dkim_sink_fn)(void *ctx, const uint8_t *p, size_t len);

/* The body canonicalizers (3.4.3, 3.4.4) over a stream: feed any split of the body,
 * the output (to sink) is the same. Trailing empty lines are held back as a count until
 * content follows, so memory stays fixed. Simple: an empty body is "\r\n"; relaxed: an
 * empty body stays empty (RFC 6376 erratum 1384, as dkimpy and OpenDKIM do). A body
 * without a final line end gets one. */
struct dkim_body_canon {
	enum dkim_canon mode;
	dkim_sink_fn sink;
	void *ctx;
	bool cr;              /* a CR seen, not yet known to be part of CRLF */
	bool wsp;             /* relaxed: whitespace held, emitted as one SP if content follows */
	bool line_content;    /* the current line has emitted content */
	bool any;             /* anything at all was emitted */
	uint64_t empty_lines; /* empty lines held back */
	uint8_t out[256];
	size_t out_len;
};

void dkim_body_canon_init(struct dkim_body_canon *c, enum dkim_canon mode, dkim_sink_fn sink,
                          void *ctx);
void dkim_body_canon_feed(struct dkim_body_canon *c, const uint8_t *p, size_t len);
/* End of the body: flushes everything to the sink. */
void dkim_body_canon_finish(struct dkim_body_canon *c);

/* One header field p[0..len) as it stands in the message (name, ':', value, folded
 * lines; its final line end optional) canonicalized (3.4.1, 3.4.2) to sink, with a final
 * CRLF when crlf is set (every signed field but the DKIM-Signature itself, 3.7).
 * Relaxed: name lower-cased, line ends removed where they fold, whitespace runs to one
 * SP, whitespace at the end of the value and around ':' removed. Simple: the bytes as
 * they are, LF line ends as CRLF. A field without ':' is canonicalized as all name. */
void dkim_header_canon(enum dkim_canon mode, const uint8_t *p, size_t len, bool crlf,
                       dkim_sink_fn sink, void *ctx);

/* ---- the message: header fields, then the body ---- */
struct dkim_field {
	size_t off, len; /* in the header buffer, with the field's final line end */
	size_t name_len; /* bytes before ':' less trailing whitespace (len if none) */
};

typedef void (*dkim_body_fn)(void *ctx, const uint8_t *p, size_t len);

/* Splits a message stream into its header block (kept, up to LIMIT_DKIM_HEADER) and
 * its body (handed to body_fn as it comes). The header ends at the first empty line;
 * a message without one is all header and has an empty body. */
struct dkim_msg {
	uint8_t *hdr; /* malloc'd, grows to LIMIT_DKIM_HEADER */
	size_t hdr_len, hdr_cap;
	struct dkim_field field[LIMIT_HEADER_FIELDS];
	size_t nfields;
	bool in_body;
	bool line_start;  /* the next header byte starts a line */
	bool cr_at_start; /* a CR at the start of a header line, held */
	dkim_body_fn body_fn;
	void *ctx;
};

void dkim_msg_init(struct dkim_msg *m, dkim_body_fn body_fn, void *ctx);
void dkim_msg_free(struct dkim_msg *m);
/* Feed the next bytes. Returns 1 when this call completed the header block (the fields
 * are then indexed, and the rest of p already went to body_fn), 0 otherwise, or
 * ERR_TOO_BIG / ERR_NOMEM (header too long or too many fields; m is then unusable). */
int dkim_msg_feed(struct dkim_msg *m, const uint8_t *p, size_t len);
/* End of input: a message without an empty line gets its fields indexed here.
 * Returns 0 or the error of dkim_msg_feed. */
int dkim_msg_finish(struct dkim_msg *m);
/* Whether field i is named name (case-insensitive). */
bool dkim_msg_field_is(const struct dkim_msg *m, size_t i, const char *name);

/* ---- key records (RFC 6376 3.6.1, RFC 8463 4) ---- */
/* Parse a key record and build its public key: v= (first, "DKIM1"), k= (rsa, default;
 * ed25519), h= (must allow sha256), s= (must allow email), t= (s: strict i=), p=
 * (empty: revoked). RSA p= is SubjectPublicKeyInfo (or a bare RSAPublicKey, which some
 * generators publish), at least LIMIT_DKIM_RSA_MIN_BITS; ed25519 p= is the raw 32-byte
 * key. Returns 0 with *pkey_out (caller frees), or ERR_BAD_SYNTAX / ERR_NOTFOUND
 * (revoked) / ERR_PERM (not usable for this algorithm) with a reason. */
struct evp_pkey_st;
int dkim_key_record_parse(const uint8_t *p, size_t len, enum dkim_alg alg,
                          struct evp_pkey_st **pkey_out, bool *strict_out, bool *testing_out,
                          const char **reason_out);

/* ---- key records from a zone file (dkim_zone.c) ---- */
/* The first TXT record whose owner is name (case-insensitive, final dot optional) in
 * the zone-file text p[0..len): its strings joined, unescaped, NUL-terminated into out
 * (cap bytes), length in *len_out. 0, ERR_NOTFOUND, ERR_BAD_SYNTAX (an unterminated
 * string or parenthesis, a bad \DDD), ERR_TOO_BIG (longer than cap - 1). */
int dkim_zone_txt(const uint8_t *p, size_t len, const char *name, char *out, size_t cap,
                  size_t *len_out);

/* The header half of verifying one signature (RFC 6376 3.7, 5.4.2): hash the fields
 * named in its h= (t, pointers into m's header; bottom-up, each instance once, missing
 * ones as nothing), then its own field at index field with the b= value removed, and
 * check its b= with pkey. 0 when it verifies; ERR_PERM when not; ERR_NOMEM. */
int dkim_verify_header(const struct dkim_msg *m, const struct dkim_tags *t, size_t field,
                       enum dkim_canon hcanon, enum dkim_alg alg, struct evp_pkey_st *pkey);

#endif
