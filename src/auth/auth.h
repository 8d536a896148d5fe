/* auth.h: password hashes (libxcrypt) and SASL mechanism decoding (RFC 4422).
 * Pure functions: no account lookup here; sessions fetch the hash from the store and
 * verify it on the worker pool (hashing is deliberately slow).
 * Every buffer that held a password or a SASL payload is wiped with OPENSSL_cleanse. */
#ifndef KASTEN_AUTH_H
#define KASTEN_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/* New hash for password: yescrypt ($y$) at libxcrypt's default cost, salt from the OS.
 * out must hold 128 bytes. Returns 0, ERR_NOMEM, ERR_INVAL (NULL password) or ERR_TEMP
 * (libxcrypt failed, e.g. no entropy). Slow on purpose: call it on the worker pool. */
int auth_hash_password(const char *password, char out[static 128]);
/* Constant-time check against $y$, $gy$, $7$, $6$, $5$, $2b$/$2y$ hashes.
 * Also $2a$ (the bcrypt prefix most imports carry). Any other or malformed hash
 * ("", "*", "!", "!$6$...", DES, $1$ md5crypt, garbage) never verifies.
 * password and hash are NUL-terminated; NULL never verifies. */
bool auth_verify_password(const char *password, const char *hash);
/* True when hash should be replaced by a fresh auth_hash_password() after the next
 * successful login: not yescrypt, or libxcrypt calls its method legacy or its
 * parameters too cheap. Meant for a hash that has just verified; it does not re-check
 * a yescrypt hash's structure (a malformed one never verifies anyway). */
bool auth_hash_needs_rehash(const char *hash);

/* RFC 4648 base64. decode rejects bad characters and bad padding; whitespace too.
 * Strict RFC 4648 section 4 alphabet (no URL-safe variant), length a multiple of 4,
 * '=' only as one or two final pad characters, pad bits zero (canonical, 3.5), so
 * encode(decode(x)) == x for every accepted x. Empty input decodes to "".
 * *out is an arena copy with a NUL appended (len_out excludes it; the data may hold
 * NULs). Returns 0, ERR_BAD_SYNTAX, or ERR_NOMEM. Input is at most INT_MAX bytes. */
int auth_b64_decode(const char *in, size_t len, struct arena *a, char **out, size_t *len_out);
/* *out: NUL-terminated base64 of [in, in+len) without line breaks. 0 or ERR_NOMEM
 * (ERR_INVAL past INT_MAX/2 input bytes). */
int auth_b64_encode(const void *in, size_t len, struct arena *a, char **out);

/* SASL PLAIN (RFC 4616): base64 of authzid NUL authcid NUL passwd.
 * Strings come from the arena; authzid is "" when absent. Each part must be
 * non-empty (but authzid), at most 255 bytes, without NUL. ERR_BAD_SYNTAX otherwise.
 * The three strings live in one decoded arena buffer; it is wiped on failure, and on
 * success the caller wipes *passwd_out (auth_wipe) once it has been verified.
 * Returns 0, ERR_BAD_SYNTAX or ERR_NOMEM; the out pointers are set only on success. */
int auth_sasl_plain(const char *b64, size_t len, struct arena *a, char **authzid_out,
                    char **authcid_out, char **passwd_out);
/* Limits of RFC 4616 section 2 (each of authzid, authcid, passwd). */
#define AUTH_SASL_PART_MAX 255

/* AUTH LOGIN (draft-murchison-sasl-login): each client line is the base64 of the
 * username or the password. Decodes one line into a NUL-terminated arena string that
 * is non-empty, at most AUTH_SASL_PART_MAX bytes and NUL-free; ERR_BAD_SYNTAX otherwise.
 * The decoded copy is wiped on failure; on success the caller wipes it (auth_wipe). */
int auth_sasl_login_decode(const char *b64, size_t len, struct arena *a, char **out);

/* Wipe a NUL-terminated secret in place (NULL is ignored). */
void auth_wipe(char *s);

#endif
