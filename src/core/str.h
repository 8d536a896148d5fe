/* str.h: small string and number helpers shared by every layer.
 * All parsing is bounded by an explicit length and uses checked arithmetic. */
#ifndef KASTEN_STR_H
#define KASTEN_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ASCII case-insensitive equality of [p, p+n) with the NUL-terminated lit. */
bool str_ieq(const void *p, size_t n, const char *lit);
/* ASCII case-insensitive prefix test. */
bool str_iprefix(const void *p, size_t n, const char *lit);
/* Parse a decimal number without sign; fails on empty, non-digits, overflow past max. */
int str_to_u64(const void *p, size_t n, uint64_t max, uint64_t *out);
/* "500K", "100M", "2G", "1T", plain bytes; 0 means unlimited. */
int str_parse_size(const char *s, uint64_t *out);
/* Format bytes as "12.3M" style for listings. */
void str_fmt_size(char out[32], uint64_t bytes);
/* RFC 5322 3.3 date-time, e.g. "Sun, 22 Nov 2026 08:05:39 +0000". */
void str_rfc5322_date(char out[64], time_t t);
/* Value of a base64 alphabet character (RFC 4648 table 1), or -1. */
int str_b64_value(unsigned char c);
/* The length (1..4) of the well-formed UTF-8 sequence at p (at most n bytes), ASCII
 * included, with its code point in *cp_out (may be NULL); 0 if p does not start one:
 * RFC 3629 3, so no overlong forms, no surrogates, nothing past U+10FFFF. */
size_t str_utf8_seq(const void *p, size_t n, uint32_t *cp_out);
/* Lower-case an ASCII string in place. */
void str_lower(char *s);
/* FNV-1a of [p, p+n): a fast hash for tables. Not collision-resistant: a table keyed
 * by what clients send must stay bounded whatever keys it gets. */
uint32_t str_hash(const void *p, size_t n);
/* The value (0..15) of the hex digit c, either case; -1 if c is not one. */
int str_hex_digit(unsigned char c);
/* n random bytes from the OS as lowercase hex (2n chars + NUL). */
int str_random_hex(char *out, size_t nbytes);

#endif
