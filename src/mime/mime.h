/* mime.h: RFC 5322 + MIME (RFC 2045-2047, 2231) message structure.
 *
 * A message is parsed once, at delivery or APPEND, into a tree of parts with byte offsets
 * into the message; the tree is serialized into a compact blob that the store keeps beside
 * the message, so FETCH ENVELOPE / BODYSTRUCTURE / BODY[1.2.HEADER] later need no
 * re-parse. Parsing is a pure function over bytes: no I/O, allocation only from the arena
 * it is handed, bounded by LIMIT_HEADER_FIELDS, LIMIT_MIME_DEPTH and LIMIT_MIME_PARTS
 * (past a bound the rest is treated as an opaque body, never an error that loses mail).
 *
 * Decisions on odd input (STYLE 5):
 * - A line ends at LF; a CR right before it belongs to the line end. A bare CR is an
 *   ordinary byte, but for a space in an unfolded header value (mime_unfold). NUL and
 *   8-bit bytes are ordinary bytes everywhere.
 * - A header line without a colon is returned as a field with bad=true (name = the line);
 *   it never ends the header. Only an empty line (or the end of the input) does.
 * - A multipart with no delimiter line, or no boundary parameter, gets one synthetic
 *   text/plain child spanning its whole body (flag MIME_PART_SYNTHETIC), so a multipart
 *   always has at least one child unless MIME_PART_TRUNCATED is set.
 * - A line that begins with "--" and the boundary of an open multipart is a delimiter
 *   line, whatever follows (RFC 2046 5.1.1: the beginning of the line is compared); "--"
 *   right after the boundary makes it the close delimiter. Every open boundary ends the
 *   parts inside its multipart, in a header too; where several begin a line the longest
 *   wins, of equal ones the innermost (mime_parse.c, as Dovecot). The line end before a
 *   delimiter line belongs to the delimiter.
 * - message/rfc822 and message/global are descended into only with an identity transfer
 *   encoding (7bit, 8bit, binary or none); otherwise they are opaque leaves.
 * - Where a header field occurs twice, the first occurrence counts.
 * - Stored strings (header values, parameters, address parts) are cut at MIME_VALUE_MAX
 *   bytes; address lists stop after MIME_ADDRS_MAX entries and parameter lists after
 *   MIME_PARAMS_MAX. The message itself is never changed, so nothing is lost. */
#ifndef KASTEN_MIME_H
#define KASTEN_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct arena;

/* Bounds of this module that only keep the cached structure small; they belong beside
 * the LIMIT_MIME_* values and are meant to move into core/limits.h. */
#define MIME_VALUE_MAX 65536u /* bytes of one stored string */
#define MIME_ADDRS_MAX 1000u  /* entries (addresses and group markers) per address list */
#define MIME_PARAMS_MAX 64u   /* parameters (RFC 2231 sections included) per header field */

/* Version 2: body_lines counts line ends, delimiters are matched as prefixes, addresses
 * and bare CRs are read as mime_parse.c and mime_addr.c say. A blob of another version
 * fails to deserialize, so its message is parsed again (imap_fetch_body.c). */
#define MIME_BLOB_VERSION 2

/* A byte string that may be absent: s == NULL is IMAP NIL. Otherwise s[len] == '\0'
 * (for convenience; s may hold NUL bytes, so use len). */
struct mime_str {
	char *s;
	size_t len;
};

/* One Content-Type or Content-Disposition parameter. RFC 2231 continuations are joined;
 * an RFC 2231 charset'lang' value is decoded to UTF-8 when its charset is known. */
struct mime_param {
	struct mime_param *next;
	char *name;            /* lower-cased, without the RFC 2231 "*" / "*N" suffixes */
	struct mime_str value; /* never NIL */
	/* The value could not be converted and is kept in RFC 2231 extended form
	 * (charset'lang'%XX...); a consumer sends it as name "NAME*". */
	bool extended;
};

enum mime_addr_kind {
	MIME_ADDR_MAILBOX,     /* name, adl, mailbox, host */
	MIME_ADDR_GROUP_START, /* mailbox = group display name; the others NIL */
	MIME_ADDR_GROUP_END,   /* all NIL */
};

/* An RFC 9051 ENVELOPE address. Strings are raw: encoded words are not decoded, but
 * quotes are removed and quoted-pairs unescaped. A missing domain is "" (not NIL, which
 * IMAP reserves for group markers). */
struct mime_addr {
	struct mime_addr *next;
	enum mime_addr_kind kind;
	/* display name, or the comment of "a@b (Name)" / "user (Name)"; NIL if none. A
	 * phrase without an address ("Just A Name") is a name with mailbox "". */
	struct mime_str name;
	struct mime_str adl;     /* obsolete source route "@a,@b"; NIL if none */
	struct mime_str mailbox; /* local part (unquoted) or the group name */
	struct mime_str host;
};

/* RFC 9051 7.5.2 ENVELOPE of a message (the root, or a message/rfc822 encapsulation).
 * date/subject/in_reply_to/message_id are the unfolded raw values, NIL when absent.
 * Address lists are NULL when the field is absent or empty: IMAP then sends NIL, and for
 * sender and reply_to substitutes from (RFC 9051 7.5.2). */
struct mime_envelope {
	struct mime_str date, subject, in_reply_to, message_id;
	struct mime_addr *from, *sender, *reply_to, *to, *cc, *bcc;
};

enum mime_part_flag {
	MIME_PART_TRUNCATED = 1,    /* depth or parts limit: the body was not split further */
	MIME_PART_HEADER_LIMIT = 2, /* LIMIT_HEADER_FIELDS reached: the rest counts as body */
	MIME_PART_SYNTHETIC = 4,    /* made up: the one child of a multipart without parts */
	MIME_PART_UNTERMINATED = 8, /* multipart without a close delimiter */
};

/* One node of the tree. Offsets count bytes from the start of the message:
 *   [header_start, body_start)  the header incl. its empty line (BODY[x.HEADER] / .MIME)
 *   [body_start, end)           the body (BODY[x], BODY[TEXT]); size = end - body_start
 * A multipart lists its parts under children. A message/rfc822 (or message/global) part
 * holds the encapsulated message as the single part `message`, whose header is the
 * encapsulated header and whose envelope is set. The root also carries an envelope. */
struct mime_part {
	struct mime_part *parent;
	struct mime_part *next;         /* next sibling */
	struct mime_part *children;     /* first part of a multipart */
	struct mime_part *message;      /* the encapsulated message of message/rfc822 */
	struct mime_envelope *envelope; /* on the root and on every `message` part */
	unsigned nchildren;
	unsigned depth;   /* root 0; children and `message` one more than their parent */
	unsigned flags;   /* enum mime_part_flag */
	unsigned nfields; /* header fields seen (at most LIMIT_HEADER_FIELDS) */
	uint64_t header_start, body_start, end;
	/* Lines of the body: its LF count (RFC 9051 body-fld-lines; a last line without a
	 * line end is not counted); 0 for multipart (BODYSTRUCTURE has no line count there). */
	uint64_t body_lines;
	/* Lower-cased. Without a (valid) Content-Type: text/plain with the parameter
	 * charset=us-ascii (RFC 2045 5.2), or message/rfc822 inside multipart/digest. */
	char *type, *subtype;
	struct mime_param *params;
	/* Raw unfolded values, NIL when absent. encoding is lower-cased and stripped of
	 * comments ("base64"); IMAP sends "7BIT" for NIL. */
	struct mime_str id, description, encoding, md5, location;
	char *disposition; /* lower-cased disposition type, NULL when absent */
	struct mime_param *disp_params;
	struct mime_str *languages; /* Content-Language tags, nlanguages of them */
	unsigned nlanguages;
};

/* Parse the message [p, p+len) (CRLF or LF line ends tolerated) into *root_out.
 * Returns 0, or ERR_NOMEM if the arena ran out. Malformed input never fails: it yields
 * the best structure RFC 2045 allows (text/plain defaults, unterminated parts end at EOF). */
int mime_parse(const uint8_t *p, size_t len, struct arena *a, struct mime_part **root_out);

/* Serialize a parsed tree (and the envelope fields it carries) to a self-describing blob;
 * mime_deserialize() rebuilds the identical tree. The blob format is versioned: an
 * unknown version fails with ERR_BAD_SYNTAX so callers re-parse from the message.
 * mime_deserialize() checks every length, count and offset (it may be fed any bytes):
 * ERR_BAD_SYNTAX on anything malformed, ERR_NOMEM if the arena ran out. */
int mime_serialize(const struct mime_part *root, struct arena *a, void **blob_out, size_t *len_out);
int mime_deserialize(const void *blob, size_t len, struct arena *a, struct mime_part **root_out);

/* Convenience for the delivery path: parse and serialize in one step. */
int mime_index(const uint8_t *p, size_t len, struct arena *a, void **blob_out, size_t *len_out);

/* ---- Header fields (reused by SMTP for DSNs and by IMAP for HEADER.FIELDS) ---- */

/* One field of a header block. Pointers point into the caller's bytes. */
struct mime_field {
	const uint8_t *name; /* up to the colon, trailing SP/HTAB removed */
	size_t name_len;
	const uint8_t *value; /* after the colon up to (not incl.) the last line end; folds kept */
	size_t value_len;
	size_t start, end; /* the whole field in the block, end after its last line end */
	bool bad;          /* no colon, or the name has bytes outside RFC 5322 ftext */
};

/* Iterator state. It keeps only an offset, so the block may grow between calls (the
 * bytes already seen must not change): feed it what has arrived so far. */
struct mime_header_iter {
	size_t off;       /* next unread byte; after MIME_HDR_END: the body's first byte */
	size_t end_line;  /* after MIME_HDR_END: where the empty line (or the cut) starts */
	unsigned nfields; /* fields returned so far */
	bool done;
	bool limited; /* stopped after LIMIT_HEADER_FIELDS fields */
};

#define MIME_HDR_FIELD 1
#define MIME_HDR_END 2

/* Start iterating at offset start of the block (0 for a block of its own). */
void mime_header_init(struct mime_header_iter *it, size_t start);

/* Next field of the header block in [p, p+len). eof says that len is the whole input.
 * Returns MIME_HDR_FIELD with *f_out set, MIME_HDR_END at the empty line that ends the
 * header (it->off then is the body's first byte), at the end of the input when eof, or
 * after LIMIT_HEADER_FIELDS fields (it->limited; the rest of the block is left unread),
 * or 0 when more input is needed to decide (only when !eof; a field is returned only
 * once the first byte of the next line shows that it is not folded on). Never fails. */
int mime_header_next(struct mime_header_iter *it, const uint8_t *p, size_t len, bool eof,
                     struct mime_field *f_out);

/* First field called name (case-insensitive) in the header block [p, p+len).
 * Returns 1 and sets *f_out, or 0 when there is none. */
int mime_header_find(const uint8_t *p, size_t len, const char *name, struct mime_field *f_out);

/* Unfold a raw field value: drop every line end (LF, CRLF), make a bare CR a space,
 * trim SP/HTAB (and CR, LF) at both ends, cut at MIME_VALUE_MAX. Returns 0, or ERR_NOMEM. */
int mime_unfold(const uint8_t *v, size_t n, struct arena *a, struct mime_str *out);

/* An address list (mime_addr.c; ENVELOPE, JMAP header:X:asAddresses): v is an
 * unfolded value; *out the addresses and group markers in order (struct mime_addr:
 * raw names, unquoted local parts), NULL if it holds none. Never fails on bad input
 * (what cannot be read is skipped). Returns 0 or ERR_NOMEM. */
int mime_addr_parse(struct arena *a, const uint8_t *v, size_t n, struct mime_addr **out);

/* ---- Base subject (IMAP SORT/THREAD, JMAP sort; mime_subject.c) ---- */

/* RFC 5256 2.1 base subject of a decoded subject: whitespace (SP, TAB, CR, LF) runs
 * become one SP (step 1); then trailing WSP and "(fwd)" go (2), leading "Re:",
 * "Fwd:", "Fw:" with their blobs ("[list] Re[2]:") and WSP go (3), a leading "[blob]"
 * goes when something is left after it (4), until nothing more matches (5); a
 * "[fwd: ...]" wrapper is unwrapped and the whole begins again (6). All keywords are
 * ASCII case-insensitive. out has room for n bytes (the result is never longer);
 * returns its length. *refwd_out (may be NULL): a subj-refwd, a "(fwd)" trailer or a
 * "[fwd:" wrapper was removed, i.e. the message is a reply or forward (RFC 5256 3,
 * REFERENCES step 5). Bytes are compared as octets: UTF-8 passes through. */
size_t mime_base_subject(const char *s, size_t n, char *out, bool *refwd_out);

/* ---- Text decoding (SEARCH, webmail) ---- */

/* Decode a raw header value to UTF-8: unfold, decode RFC 2047 encoded words (Q and B,
 * charset*lang accepted), drop whitespace between adjacent encoded words, convert
 * charsets with iconv(3). An encoded word with an unknown charset or bad encoding is
 * kept as it is; bytes that are not UTF-8 become U+FFFD. Returns 0, or ERR_NOMEM. */
int mime_decode_words(const uint8_t *p, size_t len, struct arena *a, struct mime_str *out);

/* Convert [p, p+len) from charset (a MIME charset name) to UTF-8; invalid sequences
 * become U+FFFD. Labels mail uses loosely are read as what such mail holds (WHATWG
 * Encoding): ISO-8859-1 and latin1 as windows-1252, GB2312 as GBK, ks_c_5601-1987 as
 * CP949; us-ascii is read as UTF-8. Returns 0, ERR_NOTFOUND for an unknown charset, or ERR_NOMEM. */
int mime_charset_to_utf8(const char *charset, const uint8_t *p, size_t len, struct arena *a,
                         struct mime_str *out);

/* ---- Content-Transfer-Encoding (RFC 2045 6.7, 6.8; IMAP BINARY, RFC 3516) ----
 *
 * A resumable decoder with a fixed-size state: it reads input and writes output in
 * pieces of any size (a byte at a time works), so BINARY[section] streams a decoded part
 * from the file through a small buffer, and the decoded size (BINARY.SIZE) is counted
 * without memory proportional to the part. The output of a decode does not depend on
 * how the input and output were cut.
 *
 * Decisions (lenient, as RFC 2045 asks of decoders and as Dovecot does; only an
 * encoding we do not know at all is refused, which IMAP answers NO [UNKNOWN-CTE]):
 * - 7bit, 8bit, binary and no Content-Transfer-Encoding: bytes pass unchanged.
 * - base64: characters outside the alphabet (line ends, spaces, garbage) are ignored
 *   (6.8). The first "=" ends the data: the bits of a partial group are flushed (two
 *   characters give one byte, three give two; a single leftover character is dropped)
 *   and everything after it is ignored. Missing padding at the end is flushed the same.
 * - quoted-printable: "=XX" (upper or lower case hex) is the byte; "=" then optional
 *   SP/HTAB then a line end is a soft line break (removed), and so is "=" (with optional
 *   SP/HTAB) at the very end of the input, where the part's last line end belongs to
 *   the boundary. SP/HTAB at the end of a line (or of the input) are deleted (6.7
 *   rule 3); at most LIMIT_QP_PENDING_WS of them are held back, a longer run is written
 *   out. A "=" not followed by two hex digits or a soft line break is kept literally
 *   with what follows (6.7 note 1). Line ends are kept as they are (CRLF or LF); a bare
 *   CR is an ordinary byte. */
enum mime_cte_kind {
	MIME_CTE_IDENTITY,
	MIME_CTE_BASE64,
	MIME_CTE_QP,
};

struct mime_cte_dec {
	enum mime_cte_kind kind;
	unsigned state;    /* per kind */
	uint32_t acc;      /* base64: the bits of the current group */
	unsigned nacc;     /* base64: characters in it (0..3) */
	uint8_t hex;       /* QP: the first digit after "=" */
	unsigned ws_len;   /* QP: SP/HTAB held back */
	uint8_t ws[LIMIT_QP_PENDING_WS];
	/* Output one input byte produced beyond the caller's buffer: the held-back
	 * whitespace plus at most four bytes. */
	uint8_t pend[LIMIT_QP_PENDING_WS + 4];
	unsigned pend_len, pend_off;
	bool finished; /* the last input was seen and flushed */
	uint64_t total; /* decoded bytes produced so far */
	bool nul;       /* a NUL byte among them (BINARY must then send literal8) */
};

/* Start decoding a body with Content-Transfer-Encoding encoding (len bytes, case
 * insensitive, as in mime_part.encoding; NULL means none: 7bit). Returns 0, or
 * ERR_NOTFOUND for an encoding this decoder does not know: d is then set up to pass
 * bytes unchanged, for callers that want the raw bytes anyway (search text). */
int mime_cte_init(struct mime_cte_dec *d, const char *encoding, size_t len);

/* Decode input [in, in+len) into out[0..cap), cap >= 1. eof says that this input is the
 * last (the end of the part). *used_out gets the input bytes consumed, *written_out the
 * output bytes written. Returns 1 when out filled up and more output is to come (call
 * again with the input not yet used, and the same eof), 0 when every input byte was
 * consumed and all their output written (with eof: the decoder is finished, and later
 * calls write nothing). Never fails. */
int mime_cte_decode(struct mime_cte_dec *d, const uint8_t *in, size_t len, bool eof,
                    size_t *used_out, uint8_t *out, size_t cap, size_t *written_out);

/* Count instead of writing: feed the encoded body in pieces (the last with eof); then
 * d->total is the decoded size and d->nul says whether it holds a NUL byte. Uses a
 * fixed buffer on the stack, nothing else. */
void mime_cte_count(struct mime_cte_dec *d, const uint8_t *in, size_t len, bool eof);

/* The decoded size of a body in memory (BINARY.SIZE over a mapped file).
 * Returns 0, or ERR_NOTFOUND for an unknown encoding (nothing counted). nul_out may be
 * NULL. */
int mime_cte_decoded_size(const char *encoding, size_t enc_len, const uint8_t *p, size_t len,
                          uint64_t *size_out, bool *nul_out);

/* ---- What IMAP, JMAP and SEARCH need of a message, extracted once ---- */

/* Everything in the caller's arena except what points into the message. */
struct mime_extract {
	struct mime_part *root; /* the parsed tree */
	void *blob;             /* mime_serialize(root): store_new_msg.mime */
	size_t blob_len;
	/* The top-level header section, its empty line included: message bytes
	 * [0, header_len) (BODY[HEADER]). At LIMIT_HEADER_FIELDS it ends where the
	 * parser stopped, as in the tree. */
	size_t header_len;
	/* RFC 8970 preview: UTF-8, at most LIMIT_PREVIEW_CHARS code points, whitespace
	 * runs collapsed to one space, no leading or trailing space; "" when the message
	 * has no text. Taken from the first text part in display order (text/plain
	 * preferred within multipart/alternative, text/html reduced to text). Lines quoted
	 * with ">" are left out unless there is nothing else. */
	char *preview;
	size_t preview_len;
	/* Searchable text: every text part (attachments too), transfer-decoded,
	 * converted to UTF-8, HTML reduced to text, CR and NUL dropped, parts separated by
	 * a newline; before the text of an encapsulated message (message/rfc822, global)
	 * its From, To, Cc, Subject and Date as "Name: value" lines, RFC 2047 decoded.
	 * Valid UTF-8 of at most LIMIT_SEARCH_TEXT bytes (cut at a character boundary).
	 * Never NULL; "" when there is none. */
	char *text;
	size_t text_len;
	/* The first Message-ID as "<id>", whitespace and comments removed; NULL if none.
	 * A Message-ID without angle brackets that is one token with an "@" is taken. */
	char *message_id;
	/* The ids of References and then In-Reply-To, normalized the same way, each once
	 * (first occurrence), not the message's own id, separated by one space; at most
	 * LIMIT_REFERENCES of them (the first and the most recent). NULL if none. */
	char *references;
};

/* Parse the message [p, p+len) once and fill *out (see struct mime_extract). The
 * character conversion follows mime_charset_to_utf8, with ISO-8859-1 read as
 * windows-1252 (WHATWG: what such mail really holds) and an unknown charset read as
 * UTF-8 (bytes that are not become U+FFFD); a UTF-8 byte order mark is dropped.
 * Returns 0, or ERR_NOMEM when the arena ran out (*out is then unusable). Malformed
 * input never fails. Time is linear in len; the text work stops once the text and the
 * preview are full. */
int mime_extract(const uint8_t *p, size_t len, struct arena *a, struct mime_extract *out);

#endif
