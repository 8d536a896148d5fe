/* auth_sasl.c: strict base64 (RFC 4648 section 4) and the SASL PLAIN (RFC 4616) and
 * LOGIN decoders. Everything a client sent is checked here before OpenSSL sees it:
 * EVP_DecodeBlock skips whitespace and hides padding, so the input is validated first
 * and the pad length subtracted by hand. Output comes from the caller's arena; decoded
 * SASL payloads are wiped whenever they are rejected. Limits: PLAIN and LOGIN parts
 * at most AUTH_SASL_PART_MAX (255) octets each (RFC 4616 section 2). */
#include "auth/auth.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

/* Validate in[0..len) as canonical padded base64; sets the pad count (0..2). */
static int b64_check(const unsigned char *in, size_t len, size_t *pad_out)
{
	size_t pad = 0;
	if (len % 4 != 0)
		return ERR_BAD_SYNTAX;
	if (len > 0 && in[len - 1] == '=') {
		pad = 1;
		if (in[len - 2] == '=')
			pad = 2;
	}
	for (size_t i = 0; i < len - pad; i++)
		if (str_b64_value(in[i]) < 0)
			return ERR_BAD_SYNTAX;
	/* RFC 4648 3.5: the bits that pad the last group must be zero. With one '='
	 * the third character carries 2 spare bits, with two the second carries 4. */
	if (pad == 1 && (str_b64_value(in[len - 2]) & 0x3) != 0)
		return ERR_BAD_SYNTAX;
	if (pad == 2 && (str_b64_value(in[len - 3]) & 0xf) != 0)
		return ERR_BAD_SYNTAX;
	*pad_out = pad;
	return 0;
}

int auth_b64_decode(const char *in, size_t len, struct arena *a, char **out, size_t *len_out)
{
	size_t pad;
	if (len > INT_MAX)
		return ERR_BAD_SYNTAX;
	int rc = b64_check((const unsigned char *)in, len, &pad);
	if (rc < 0)
		return rc;
	size_t max = len / 4 * 3;
	unsigned char *buf = arena_alloc(a, max + 1);
	if (!buf)
		return ERR_NOMEM;
	size_t n = 0;
	if (len > 0) {
		int r = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
		/* Cannot fail on validated input; a mismatch would be an OpenSSL change. */
		if (r < 0 || (size_t)r != max) {
			OPENSSL_cleanse(buf, max);
			return ERR_BAD_SYNTAX;
		}
		n = max - pad;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*len_out = n;
	return 0;
}

int auth_b64_encode(const void *in, size_t len, struct arena *a, char **out)
{
	if (len > INT_MAX / 2)
		return ERR_INVAL;
	size_t olen = (len + 2) / 3 * 4;
	unsigned char *buf = arena_alloc(a, olen + 1);
	if (!buf)
		return ERR_NOMEM;
	int r = len ? EVP_EncodeBlock(buf, in, (int)len) : 0;
	if (r < 0 || (size_t)r != olen)
		return ERR_NOMEM;
	buf[olen] = '\0';
	*out = (char *)buf;
	return 0;
}

int auth_sasl_plain(const char *b64, size_t len, struct arena *a, char **authzid_out,
                    char **authcid_out, char **passwd_out)
{
	/* Longest valid message: three 255-octet parts and two NULs, whose base64
	 * is 1024 characters. Refuse longer input before decoding anything. */
	const size_t max_msg = 3 * AUTH_SASL_PART_MAX + 2;
	if (len > (max_msg + 2) / 3 * 4)
		return ERR_BAD_SYNTAX;
	char *m;
	size_t n;
	int rc = auth_b64_decode(b64, len, a, &m, &n);
	if (rc < 0)
		return rc;
	/* message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 section 2):
	 * exactly two NULs, so a NUL inside the password is a third one. */
	char *nul1 = memchr(m, '\0', n);
	char *nul2 = nul1 ? memchr(nul1 + 1, '\0', n - (size_t)(nul1 + 1 - m)) : NULL;
	rc = ERR_BAD_SYNTAX;
	if (nul1 && nul2 && !memchr(nul2 + 1, '\0', n - (size_t)(nul2 + 1 - m))) {
		size_t zl = (size_t)(nul1 - m);
		size_t cl = (size_t)(nul2 - nul1 - 1);
		size_t pl = n - (size_t)(nul2 + 1 - m);
		if (zl <= AUTH_SASL_PART_MAX && cl >= 1 && cl <= AUTH_SASL_PART_MAX && pl >= 1 &&
		    pl <= AUTH_SASL_PART_MAX) {
			*authzid_out = m;
			*authcid_out = nul1 + 1;
			*passwd_out = nul2 + 1;
			return 0;
		}
	}
	OPENSSL_cleanse(m, n);
	return rc;
}

int auth_sasl_login_decode(const char *b64, size_t len, struct arena *a, char **out)
{
	if (len > (AUTH_SASL_PART_MAX + 2) / 3 * 4)
		return ERR_BAD_SYNTAX;
	char *s;
	size_t n;
	int rc = auth_b64_decode(b64, len, a, &s, &n);
	if (rc < 0)
		return rc;
	if (n == 0 || n > AUTH_SASL_PART_MAX || memchr(s, '\0', n)) {
		OPENSSL_cleanse(s, n);
		return ERR_BAD_SYNTAX;
	}
	*out = s;
	return 0;
}

void auth_wipe(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
}
