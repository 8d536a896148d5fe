/* auth_hash.c: password hashing and verification through libxcrypt.
 * New hashes are yescrypt; verification accepts the modern crypt(3) families an
 * administrator imports from other servers (yescrypt, gost-yescrypt, scrypt,
 * sha512crypt, sha256crypt, bcrypt) and nothing else. The struct crypt_data work
 * area (about 32 KiB) comes from the heap, never the event-loop stack, and every
 * buffer that saw a password or a computed hash is wiped with OPENSSL_cleanse. */
#include "auth/auth.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "core/banned.h"

/* Prefixes we verify. Order does not matter; each ends with '$' so "$2b$" never
 * matches a longer, unknown "$2bx$". */
static const char *const accepted_prefixes[] = {
    "$y$", "$gy$", "$7$", "$6$", "$5$", "$2b$", "$2y$", "$2a$",
};

static bool hash_prefix_ok(const char *hash)
{
	for (size_t i = 0; i < sizeof(accepted_prefixes) / sizeof(accepted_prefixes[0]); i++) {
		size_t n = strlen(accepted_prefixes[i]);
		if (strncmp(hash, accepted_prefixes[i], n) == 0)
			return true;
	}
	return false;
}

/* A stored hash is only passed to crypt when it looks like one: a known prefix,
 * printable ASCII without spaces or ':' (a passwd-file separator that would hint at
 * a broken import), and short enough for crypt's own buffers. */
static bool hash_well_formed(const char *hash)
{
	size_t n = strnlen(hash, CRYPT_OUTPUT_SIZE);
	if (n < 4 || n >= CRYPT_OUTPUT_SIZE)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)hash[i];
		if (c <= 0x20 || c >= 0x7f || c == ':')
			return false;
	}
	return hash_prefix_ok(hash);
}

static struct crypt_data *crypt_data_new(void)
{
	/* libxcrypt wants the work area zeroed before its first use. */
	return calloc(1, sizeof(struct crypt_data));
}

static void crypt_data_free(struct crypt_data **cd)
{
	if (!*cd)
		return;
	OPENSSL_cleanse(*cd, sizeof(**cd));
	free(*cd);
	*cd = NULL;
}

int auth_hash_password(const char *password, char out[static 128])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	int rc = ERR_TEMP;

	out[0] = '\0';
	if (!password)
		return ERR_INVAL;
	/* NULL random bytes: libxcrypt reads the salt from the OS itself; count 0
	 * selects the method's default cost. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, (int)sizeof(salt)))
		return ERR_TEMP;
	struct crypt_data *cd = crypt_data_new();
	if (!cd) {
		OPENSSL_cleanse(salt, sizeof(salt));
		return ERR_NOMEM;
	}
	/* crypt_rn returns NULL on failure (never the "*0" failure token). */
	const char *h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
	if (h && strncmp(h, "$y$", 3) == 0) {
		size_t n = strlen(h);
		if (n < 128) {
			memcpy(out, h, n + 1);
			rc = 0;
		}
	}
	OPENSSL_cleanse(salt, sizeof(salt));
	crypt_data_free(&cd);
	return rc;
}

bool auth_verify_password(const char *password, const char *hash)
{
	if (!password || !hash || !hash_well_formed(hash))
		return false;
	struct crypt_data *cd = crypt_data_new();
	if (!cd)
		return false;
	bool ok = false;
	const char *h = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	/* The hash length is no secret (it follows from the method); the comparison
	 * of the bytes is constant-time. A result starting with '*' is libxcrypt's
	 * failure token and can never equal a well-formed stored hash, but say so. */
	if (h && h[0] == '$') {
		size_t hn = strlen(h), n = strlen(hash);
		ok = hn == n && CRYPTO_memcmp(h, hash, n) == 0;
	}
	crypt_data_free(&cd);
	return ok;
}

bool auth_hash_needs_rehash(const char *hash)
{
	if (!hash || !hash_well_formed(hash) || strncmp(hash, "$y$", 3) != 0)
		return true;
	return crypt_checksalt(hash) != CRYPT_SALT_OK;
}
