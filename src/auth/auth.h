/* auth.h: password hashes (libxcrypt) and SASL mechanism decoding (RFC 4422).
 * Pure functions: no account lookup here; sessions fetch the hash from the store and
 * verify it on the worker pool (hashing is deliberately slow).
 * Every buffer that held a password or a SASL payload is wiped with OPENSSL_cleanse. */
#ifndef KASTEN_AUTH_H
#define KASTEN_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/* New hash for password: yescrypt ($y$). out must hold 128 bytes. */
int auth_hash_password(const char *password, char out[static 128]);
/* Constant-time check against $y$, $gy$, $7$, $6$, $5$, $2b$/$2y$ hashes. */
bool auth_verify_password(const char *password, const char *hash);

/* RFC 4648 base64. decode rejects bad characters and bad padding; whitespace too. */
int auth_b64_decode(const char *in, size_t len, struct arena *a, char **out, size_t *len_out);
int auth_b64_encode(const void *in, size_t len, struct arena *a, char **out);

/* SASL PLAIN (RFC 4616): base64 of authzid NUL authcid NUL passwd.
 * Strings come from the arena; authzid is "" when absent. Each part must be
 * non-empty (but authzid), at most 255 bytes, without NUL. ERR_BAD_SYNTAX otherwise. */
int auth_sasl_plain(const char *b64, size_t len, struct arena *a, char **authzid_out,
		    char **authcid_out, char **passwd_out);

/* Wipe a NUL-terminated secret in place. */
void auth_wipe(char *s);

#endif
