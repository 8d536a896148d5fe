/* dkim_sign.c: the streaming DKIM signer (RFC 6376 5; RFC 8463 for ed25519-sha256). The
 * header block is held (LIMIT_DKIM_HEADER), the body goes through the relaxed body
 * canonicalizer into SHA-256 as it arrives; at the end one DKIM-Signature field per
 * key is built, hashed and signed. Owns its key references and hash contexts. */
#include "outbound/dkim_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "core/banned.h"

/* RFC 6376 5.4.1's recommended set, as OpenDKIM and Postfix setups sign. */
const char *const dkim_sign_fields[] = {
    "from",       "to",           "cc",           "subject",
    "date",       "message-id",   "reply-to",     "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding",
    NULL,
};

struct dkim_signer {
	char domain[LIMIT_ADDR_DOMAIN + 1];
	struct dkim_key keys[LIMIT_DKIM_KEYS]; /* pkey: our own reference */
	size_t nkeys;
	time_t now;
	int error; /* the first error of feed */
	EVP_MD_CTX *body_md;
	struct dkim_body_canon body;
	struct dkim_msg msg;
};

static void sign_md_sink(void *ctx, const uint8_t *p, size_t len)
{
	/* EVP_DigestUpdate on SHA-256 fails only on a broken context; finish's
	 * EVP_DigestFinal_ex then fails too and reports it */
	(void)EVP_DigestUpdate(ctx, p, len);
}

static void sign_body(void *ctx, const uint8_t *p, size_t len)
{
	struct dkim_signer *s = ctx;
	dkim_body_canon_feed(&s->body, p, len);
}

int dkim_signer_new(const char *domain, const struct dkim_key *keys, size_t n, time_t now,
                    struct dkim_signer **out)
{
	*out = NULL;
	if (n == 0 || n > LIMIT_DKIM_KEYS)
		return ERR_INVAL;
	struct dkim_signer *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	if (dkim_domain_norm(domain, s->domain, sizeof(s->domain)) < 0) {
		free(s);
		return ERR_INVAL;
	}
	s->body_md = EVP_MD_CTX_new();
	if (!s->body_md || EVP_DigestInit_ex(s->body_md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->body_md);
		free(s);
		return ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		s->keys[i] = keys[i];
		if (EVP_PKEY_up_ref(s->keys[i].pkey) != 1) {
			s->nkeys = i;
			dkim_signer_free(&s);
			return ERR_NOMEM;
		}
		s->nkeys = i + 1;
	}
	s->now = now;
	dkim_body_canon_init(&s->body, DKIM_CANON_RELAXED, sign_md_sink, s->body_md);
	dkim_msg_init(&s->msg, sign_body, s);
	*out = s;
	return 0;
}

void dkim_signer_free(struct dkim_signer **sp)
{
	struct dkim_signer *s = *sp;
	if (!s)
		return;
	for (size_t i = 0; i < s->nkeys; i++)
		EVP_PKEY_free(s->keys[i].pkey);
	EVP_MD_CTX_free(s->body_md);
	dkim_msg_free(&s->msg);
	free(s);
	*sp = NULL;
}

int dkim_signer_feed(struct dkim_signer *s, const uint8_t *p, size_t len)
{
	if (s->error)
		return s->error;
	int rc = dkim_msg_feed(&s->msg, p, len);
	if (rc < 0)
		s->error = rc;
	return rc < 0 ? rc : 0;
}

/* A growing text: the signature fields being built. */
struct sign_text {
	char *p;
	size_t len, cap;
	size_t col; /* the current line's length, for folding */
	int error;
};

static void text_add(struct sign_text *t, const char *s, size_t n)
{
	if (t->error)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *np = realloc(t->p, cap);
		if (!np) {
			t->error = ERR_NOMEM;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
	const char *nl = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n')
			nl = s + i;
	t->col = nl ? (size_t)(s + n - nl - 1) : t->col + n;
}

static void text_str(struct sign_text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* An item (a tag or one h= name) on the current line if it fits in 78 columns, else on
 * a new folded line (RFC 5322 2.1.1, 2.2.3). */
static void text_item(struct sign_text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->col + n > 78)
		text_str(t, "\r\n\t");
	text_add(t, s, n);
}

/* The h= names: each dkim_sign_fields[] name the message has, as often as it has it;
 * From once more (oversigned). Returns how many From fields there are. */
static size_t sign_h_list(const struct dkim_signer *s, struct sign_text *t)
{
	size_t froms = 0, items = 0;
	for (size_t k = 0; dkim_sign_fields[k]; k++) {
		const char *name = dkim_sign_fields[k];
		size_t count = 0;
		for (size_t i = 0; i < s->msg.nfields; i++)
			count += dkim_msg_field_is(&s->msg, i, name);
		if (k == 0) {
			froms = count;
			count++;
		}
		for (size_t c = 0; c < count; c++) {
			char item[40];
			int n = snprintf(item, sizeof(item), "%s%s", items ? ":" : " h=", name);
			if (n < 0 || (size_t)n >= sizeof(item))
				continue; /* cannot happen: names are short constants */
			text_item(t, item);
			items++;
		}
	}
	text_str(t, ";");
	return froms;
}

/* Hash the signed fields (RFC 6376 5.4.2: for a name listed n times, the last n
 * instances, bottom up), relaxed, each with its CRLF. */
static void sign_hash_fields(const struct dkim_signer *s, EVP_MD_CTX *md)
{
	for (size_t k = 0; dkim_sign_fields[k]; k++)
		for (size_t i = s->msg.nfields; i-- > 0;)
			if (dkim_msg_field_is(&s->msg, i, dkim_sign_fields[k]))
				dkim_header_canon(DKIM_CANON_RELAXED,
				                  s->msg.hdr + s->msg.field[i].off,
				                  s->msg.field[i].len, true, sign_md_sink, md);
}

/* SHA-256 of the header data, then the signature: RSASSA-PKCS1-v1_5 over it (RFC 6376
 * 3.3.1) or PureEdDSA over the 32-byte hash (RFC 8463 3). */
static int sign_digest(EVP_PKEY *pkey, enum dkim_alg alg, const uint8_t *dg, size_t dglen,
                       uint8_t *sig, size_t *siglen)
{
	int ok = 0;
	if (alg == DKIM_ALG_ED25519_SHA256) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1 &&
		     EVP_DigestSign(md, sig, siglen, dg, dglen) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pkey, NULL);
		ok = pc && EVP_PKEY_sign_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(pc, sig, siglen, dg, dglen) == 1;
		EVP_PKEY_CTX_free(pc);
	}
	return ok ? 0 : ERR_TEMP;
}

/* One DKIM-Signature field for key k into t. */
static int sign_one(const struct dkim_signer *s, const struct dkim_key *k, const char *bh,
                    const EVP_MD_CTX *fields_md, struct sign_text *t)
{
	struct sign_text f = {0};
	char item[LIMIT_ADDR_DOMAIN + 64];
	text_str(&f, "DKIM-Signature: v=1;");
	int n = snprintf(item, sizeof(item), " a=%s;", dkim_alg_name(k->alg));
	if (n > 0 && (size_t)n < sizeof(item))
		text_item(&f, item);
	text_item(&f, " c=relaxed/relaxed;");
	n = snprintf(item, sizeof(item), " d=%s;", s->domain);
	if (n > 0 && (size_t)n < sizeof(item))
		text_item(&f, item);
	n = snprintf(item, sizeof(item), " s=%s;", k->selector);
	if (n > 0 && (size_t)n < sizeof(item))
		text_item(&f, item);
	n = snprintf(item, sizeof(item), " t=%lld;", (long long)s->now);
	if (n > 0 && (size_t)n < sizeof(item))
		text_item(&f, item);
	(void)sign_h_list(s, &f); /* From's presence was checked by the caller */
	n = snprintf(item, sizeof(item), " bh=%s;", bh);
	if (n > 0 && (size_t)n < sizeof(item))
		text_item(&f, item);
	text_item(&f, " b=");
	int rc = f.error;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t dg[EVP_MAX_MD_SIZE], sig[1024];
	unsigned dglen = 0;
	size_t siglen = sizeof(sig);
	if (rc == 0 && (!md || EVP_MD_CTX_copy_ex(md, fields_md) != 1))
		rc = ERR_NOMEM;
	if (rc == 0) {
		/* 3.7: the field itself with an empty b=, relaxed, no final CRLF */
		dkim_header_canon(DKIM_CANON_RELAXED, (const uint8_t *)f.p, f.len, false,
		                  sign_md_sink, md);
		if (EVP_DigestFinal_ex(md, dg, &dglen) != 1)
			rc = ERR_TEMP;
	}
	if (rc == 0)
		rc = sign_digest(k->pkey, k->alg, dg, dglen, sig, &siglen);
	EVP_MD_CTX_free(md);
	if (rc == 0) {
		char b64[1400];
		int bl = EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
		/* b= folded into lines of at most 78 columns */
		for (int off = 0; off < bl;) {
			size_t room = f.col < 77 ? 78 - f.col : 0;
			if (room == 0) {
				text_str(&f, "\r\n\t");
				continue;
			}
			size_t take = (size_t)(bl - off) < room ? (size_t)(bl - off) : room;
			text_add(&f, b64 + off, take);
			off += (int)take;
		}
		text_str(&f, "\r\n");
		rc = f.error;
	}
	if (rc == 0)
		text_add(t, f.p, f.len);
	free(f.p);
	return rc ? rc : t->error;
}

int dkim_signer_finish(struct dkim_signer *s, char **out, size_t *len_out)
{
	*out = NULL;
	*len_out = 0;
	if (s->error)
		return s->error;
	int rc = dkim_msg_finish(&s->msg);
	if (rc < 0)
		return s->error = rc;
	dkim_body_canon_finish(&s->body);
	bool from = false;
	for (size_t i = 0; i < s->msg.nfields && !from; i++)
		from = dkim_msg_field_is(&s->msg, i, "from");
	if (!from)
		return ERR_INVAL; /* RFC 6376 5.4: From MUST be signed */
	uint8_t dg[EVP_MAX_MD_SIZE];
	unsigned dglen = 0;
	char bh[64];
	if (EVP_DigestFinal_ex(s->body_md, dg, &dglen) != 1)
		return ERR_TEMP;
	EVP_EncodeBlock((unsigned char *)bh, dg, (int)dglen);
	EVP_MD_CTX *fields_md = EVP_MD_CTX_new();
	if (!fields_md || EVP_DigestInit_ex(fields_md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(fields_md);
		return ERR_NOMEM;
	}
	sign_hash_fields(s, fields_md);
	struct sign_text t = {0};
	for (size_t i = 0; i < s->nkeys && rc == 0; i++)
		rc = sign_one(s, &s->keys[i], bh, fields_md, &t);
	EVP_MD_CTX_free(fields_md);
	if (rc < 0) {
		free(t.p);
		return rc;
	}
	*out = t.p;
	*len_out = t.len;
	return 0;
}
