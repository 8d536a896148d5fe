/* dkim_keyrec.c: a DKIM key record (RFC 6376 3.6.1; RFC 8463 4 for k=ed25519) parsed and
 * turned into an OpenSSL public key. Bound: the record's length (LIMIT_DKIM_RECORD). */
#include "outbound/dkim_int.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/err.h"
#include "core/banned.h"

/* Whether the colon-separated list in t (whitespace around items allowed) has item or
 * "*" (when star is set). A missing tag means everything is allowed. */
static bool keyrec_list_has(const struct dkim_tag *t, const char *item, bool star)
{
	if (!t)
		return true;
	size_t n = strlen(item), i = 0;
	while (i <= t->value_len) {
		size_t j = i;
		while (j < t->value_len && t->value[j] != ':')
			j++;
		size_t a = i, b = j;
		while (a < b && (t->value[a] == ' ' || t->value[a] == '\t' || t->value[a] == '\r' ||
		                 t->value[a] == '\n'))
			a++;
		while (b > a && (t->value[b - 1] == ' ' || t->value[b - 1] == '\t' ||
		                 t->value[b - 1] == '\r' || t->value[b - 1] == '\n'))
			b--;
		if ((b - a == n && !memcmp(t->value + a, item, n)) ||
		    (star && b - a == 1 && t->value[a] == '*'))
			return true;
		i = j + 1;
	}
	return false;
}

static EVP_PKEY *keyrec_rsa(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pkey) {
		/* some generators publish the bare RSAPublicKey (PKCS#1) */
		p = der;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	}
	if (pkey && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}

int dkim_key_record_parse(const uint8_t *p, size_t len, enum dkim_alg alg,
                          struct evp_pkey_st **pkey_out, bool *strict_out, bool *testing_out,
                          const char **reason_out)
{
	struct dkim_tags tags;
	*pkey_out = NULL;
	*strict_out = *testing_out = false;
	*reason_out = "key record syntax";
	if (dkim_tags_parse(p, len, &tags) < 0)
		return ERR_BAD_SYNTAX;
	const struct dkim_tag *v = dkim_tags_find(&tags, "v");
	if (v && (v != &tags.tag[0] || !dkim_tag_value_is(v, "DKIM1"))) {
		*reason_out = "key record version";
		return ERR_BAD_SYNTAX;
	}
	const struct dkim_tag *k = dkim_tags_find(&tags, "k");
	bool ed = alg == DKIM_ALG_ED25519_SHA256;
	if ((k && !dkim_tag_value_is(k, ed ? "ed25519" : "rsa")) || (!k && ed)) {
		*reason_out = "key type does not match a=";
		return ERR_PERM;
	}
	if (!keyrec_list_has(dkim_tags_find(&tags, "h"), "sha256", false)) {
		*reason_out = "key does not allow sha256";
		return ERR_PERM;
	}
	if (!keyrec_list_has(dkim_tags_find(&tags, "s"), "email", true)) {
		*reason_out = "key not for email";
		return ERR_PERM;
	}
	const struct dkim_tag *t = dkim_tags_find(&tags, "t");
	*testing_out = t && keyrec_list_has(t, "y", false);
	*strict_out = t && keyrec_list_has(t, "s", false);
	const struct dkim_tag *pt = dkim_tags_find(&tags, "p");
	if (!pt) {
		*reason_out = "key record without p=";
		return ERR_BAD_SYNTAX;
	}
	uint8_t der[LIMIT_DKIM_RECORD];
	int n = dkim_base64_decode(pt->value, pt->value_len, der, sizeof(der));
	if (n < 0) {
		*reason_out = "key record p= not base64";
		return ERR_BAD_SYNTAX;
	}
	if (n == 0) {
		*reason_out = "key revoked";
		return ERR_NOTFOUND; /* 3.6.1: an empty p= is a revoked key */
	}
	EVP_PKEY *pkey = ed ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)n)
	                    : keyrec_rsa(der, (size_t)n);
	if (!pkey) {
		*reason_out = "key record p= not a public key";
		return ERR_PERM;
	}
	if (!ed && EVP_PKEY_get_bits(pkey) < LIMIT_DKIM_RSA_MIN_BITS) {
		EVP_PKEY_free(pkey);
		*reason_out = "RSA key too short";
		return ERR_PERM;
	}
	*pkey_out = pkey;
	*reason_out = NULL;
	return 0;
}
