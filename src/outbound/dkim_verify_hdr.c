/* dkim_verify_hdr.c: the header hash of one DKIM signature and the check of its b= with
 * the public key (RFC 6376 3.7 and 5.4.2; RFC 8463 3). Bounds: LIMIT_HEADER_FIELDS
 * fields, LIMIT_DKIM_SIGNED_FIELDS names in h=. */
#include "outbound/dkim_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/banned.h"

static void hdr_md_sink(void *ctx, const uint8_t *p, size_t len)
{
	(void)EVP_DigestUpdate(ctx, p, len); /* a failure shows in EVP_DigestFinal_ex */
}

static bool hdr_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Hash the fields named in h=: for each name, the last instance not yet used, from the
 * bottom up (5.4.2); a name with no instance left contributes nothing. */
static int hdr_hash_fields(const struct dkim_msg *m, const struct dkim_tag *h,
                           enum dkim_canon hcanon, EVP_MD_CTX *md)
{
	bool *used = calloc(m->nfields ? m->nfields : 1, sizeof(*used));
	if (!used)
		return ERR_NOMEM;
	size_t names = 0, i = 0;
	int rc = 0;
	while (i <= h->value_len && rc == 0) {
		size_t j = i;
		while (j < h->value_len && h->value[j] != ':')
			j++;
		size_t a = i, b = j;
		while (a < b && hdr_ws(h->value[a]))
			a++;
		while (b > a && hdr_ws(h->value[b - 1]))
			b--;
		/* verify_parse refused these already; a header is never hashed past them */
		if (++names > LIMIT_DKIM_SIGNED_FIELDS || a == b) {
			rc = ERR_PERM;
			break;
		}
		for (size_t k = m->nfields; k-- > 0;) {
			const struct dkim_field *f = &m->field[k];
			if (used[k] || f->name_len != b - a ||
			    strncasecmp((const char *)m->hdr + f->off, (const char *)h->value + a,
			                b - a))
				continue;
			used[k] = true;
			dkim_header_canon(hcanon, m->hdr + f->off, f->len, true, hdr_md_sink, md);
			break;
		}
		i = j + 1;
	}
	free(used);
	return rc;
}

/* The signature's own field with the value of b= removed (3.7): from just after its
 * '=' to the end of the value; the whitespace after it stays, as dkimpy and OpenDKIM
 * treat it. */
static int hdr_hash_self(const struct dkim_msg *m, const struct dkim_tags *t, size_t field,
                         enum dkim_canon hcanon, EVP_MD_CTX *md)
{
	const struct dkim_field *f = &m->field[field];
	const struct dkim_tag *b = dkim_tags_find(t, "b");
	const uint8_t *start = m->hdr + f->off, *eq = b->value;
	while (eq > start && eq[-1] != '=')
		eq--;
	size_t head = (size_t)(eq - start);
	size_t tail_off = (size_t)(b->value + b->value_len - start);
	uint8_t *copy = malloc(f->len);
	if (!copy)
		return ERR_NOMEM;
	memcpy(copy, start, head);
	memcpy(copy + head, start + tail_off, f->len - tail_off);
	dkim_header_canon(hcanon, copy, head + f->len - tail_off, false, hdr_md_sink, md);
	free(copy);
	return 0;
}

static int hdr_check(EVP_PKEY *pkey, enum dkim_alg alg, const uint8_t *dg, size_t dglen,
                     const uint8_t *sig, size_t siglen)
{
	int ok = 0;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (!md)
			return ERR_NOMEM;
		ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		     EVP_DigestVerify(md, sig, siglen, dg, dglen) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pkey, NULL);
		if (!pc)
			return ERR_NOMEM;
		ok = EVP_PKEY_verify_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(pc, sig, siglen, dg, dglen) == 1;
		EVP_PKEY_CTX_free(pc);
	}
	return ok ? 0 : ERR_PERM;
}

int dkim_verify_header(const struct dkim_msg *m, const struct dkim_tags *t, size_t field,
                       enum dkim_canon hcanon, enum dkim_alg alg, struct evp_pkey_st *pkey)
{
	const struct dkim_tag *h = dkim_tags_find(t, "h"), *b = dkim_tags_find(t, "b");
	uint8_t sig[1024], dg[EVP_MAX_MD_SIZE];
	unsigned dglen = 0;
	int siglen = dkim_base64_decode(b->value, b->value_len, sig, sizeof(sig));
	if (siglen <= 0)
		return ERR_PERM;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return ERR_NOMEM;
	}
	int rc = hdr_hash_fields(m, h, hcanon, md);
	if (rc == 0)
		rc = hdr_hash_self(m, t, field, hcanon, md);
	if (rc == 0 && EVP_DigestFinal_ex(md, dg, &dglen) != 1)
		rc = ERR_NOMEM;
	EVP_MD_CTX_free(md);
	if (rc == 0)
		rc = hdr_check(pkey, alg, dg, dglen, sig, (size_t)siglen);
	return rc;
}
