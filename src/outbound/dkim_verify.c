/* dkim_verify.c: the streaming DKIM verifier (RFC 6376 6; RFC 8463 for ed25519-sha256).
 * The header block is held (LIMIT_DKIM_HEADER); when it is complete, each DKIM-Signature
 * field (the first LIMIT_DKIM_SIGS; later ones are not looked at) is parsed and gets its
 * own body canonicalizer and SHA-256, so the body streams through once. At the end each
 * signature's key record comes from the caller's lookup and the result is one of RFC
 * 8601's (dkim.h). Owns its hash contexts and the header copy. */
#include "outbound/dkim_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "core/err.h"
#include "outbound/dns.h"
#include "core/banned.h"

struct verify_sig {
	size_t field;                  /* index of its DKIM-Signature field */
	bool hashing;                  /* parsed: its body hash is being computed */
	struct dkim_verify_result res; /* result, set early on a syntax error */
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	bool has_l;
	uint64_t l, hashed;    /* l= and the body bytes hashed so far */
	struct dkim_tags tags; /* pointers into the verifier's header block */
	uint8_t bh[32];
	EVP_MD_CTX *md;
	struct dkim_body_canon body;
};

struct dkim_verifier {
	time_t now;
	bool set_up;
	int error;
	struct verify_sig sig[LIMIT_DKIM_SIGS];
	size_t nsig;
	struct dkim_msg msg;
};

/* The body hash sink: stops at l= (3.5: the count is of canonicalized bytes). */
static void verify_body_sink(void *ctx, const uint8_t *p, size_t len)
{
	struct verify_sig *g = ctx;
	if (g->has_l && len > g->l - g->hashed)
		len = (size_t)(g->l - g->hashed);
	g->hashed += len;
	(void)EVP_DigestUpdate(g->md, p, len); /* a failure shows in EVP_DigestFinal_ex */
}

/* A tag value for the result, which is printed and logged: bytes outside printable
 * ASCII become '?', so a signature cannot put control sequences on a terminal. */
static void verify_copy(char *out, size_t cap, const uint8_t *p, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[n] = '\0';
}

static int verify_bad(struct verify_sig *g, enum dkim_result r, const char *reason)
{
	g->res.result = r;
	verify_copy(g->res.reason, sizeof(g->res.reason), (const uint8_t *)reason, strlen(reason));
	return -1;
}

/* A decimal tag value (t=, x=, l=): digits only, at most 76 of them (3.5), checked. */
static bool verify_number(const struct dkim_tag *t, uint64_t *out)
{
	uint64_t v = 0;
	if (!t->value_len || t->value_len > 76)
		return false;
	for (size_t i = 0; i < t->value_len; i++) {
		uint8_t c = t->value[i];
		if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(c - '0');
	}
	*out = v;
	return true;
}

static bool verify_canon(const uint8_t *p, size_t n, enum dkim_canon *out)
{
	if (n == 6 && !memcmp(p, "simple", 6))
		*out = DKIM_CANON_SIMPLE;
	else if (n == 7 && !memcmp(p, "relaxed", 7))
		*out = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

/* Whether h= (colon list) names From (3.5: it MUST), has no empty name and at most
 * LIMIT_DKIM_SIGNED_FIELDS of them; why not in *why. */
static bool verify_h_ok(const struct dkim_tag *h, const char **why)
{
	size_t i = 0, names = 0;
	bool from = false;
	*why = "bad h=";
	while (i <= h->value_len) {
		size_t j = i;
		while (j < h->value_len && h->value[j] != ':')
			j++;
		size_t a = i, b = j;
		while (a < b && (h->value[a] <= ' '))
			a++;
		while (b > a && (h->value[b - 1] <= ' '))
			b--;
		if (a == b)
			return false; /* "from::to", or a trailing ':' */
		if (++names > LIMIT_DKIM_SIGNED_FIELDS) {
			*why = "too many fields in h=";
			return false;
		}
		from = from || (b - a == 4 && !strncasecmp((const char *)h->value + a, "from", 4));
		i = j + 1;
	}
	*why = "From not signed";
	return from;
}

/* 3.5: i= must be in d= or a subdomain of it. */
static bool verify_i_in_d(const struct dkim_tag *i, const char *d)
{
	const uint8_t *at = memchr(i->value, '@', i->value_len);
	if (!at)
		return false;
	size_t dl = strlen(d), il = i->value_len - (size_t)(at + 1 - i->value);
	const char *idom = (const char *)at + 1;
	if (il == dl)
		return !strncasecmp(idom, d, dl);
	return il > dl && idom[il - dl - 1] == '.' && !strncasecmp(idom + il - dl, d, dl);
}

/* A selector may have several labels (3.1): each must be one keygen could make. */
static bool verify_selector_ok(char *sel)
{
	char snorm[LIMIT_DKIM_SELECTOR + 1], *label = sel, *dot;
	if (!*sel)
		return false;
	for (;; label = dot + 1) {
		dot = strchr(label, '.');
		if (dot)
			*dot = '\0';
		int rc = dkim_selector_norm(label, snorm, sizeof(snorm));
		if (dot)
			*dot = '.';
		if (rc < 0)
			return false;
		if (!dot)
			return true;
	}
}

/* c= (3.5): "header[/body]", simple when missing. */
static bool verify_c_tag(const struct dkim_tag *c, struct verify_sig *g)
{
	g->hcanon = g->bcanon = DKIM_CANON_SIMPLE;
	if (!c)
		return true;
	const uint8_t *slash = memchr(c->value, '/', c->value_len);
	size_t hl = slash ? (size_t)(slash - c->value) : c->value_len;
	return verify_canon(c->value, hl, &g->hcanon) &&
	       (!slash || verify_canon(slash + 1, c->value_len - hl - 1, &g->bcanon));
}

/* The signature's field value, without the name, ':' and the final line end, parsed
 * into g->tags; and the values the result reports, whatever else is wrong. */
static int verify_tags(struct dkim_verifier *v, struct verify_sig *g)
{
	const struct dkim_field *f = &v->msg.field[g->field];
	const uint8_t *val = v->msg.hdr + f->off + f->name_len;
	size_t len = f->len - f->name_len;
	while (len && *val != ':') /* whitespace before the colon */
		val++, len--;
	val++, len--;
	if (len && val[len - 1] == '\n')
		len--;
	if (len && val[len - 1] == '\r')
		len--;
	if (dkim_tags_parse(val, len, &g->tags) < 0)
		return -1;
	const struct dkim_tag *d = dkim_tags_find(&g->tags, "d"),
	                      *s = dkim_tags_find(&g->tags, "s"),
	                      *a = dkim_tags_find(&g->tags, "a"),
	                      *b = dkim_tags_find(&g->tags, "b");
	if (d)
		verify_copy(g->res.domain, sizeof(g->res.domain), d->value, d->value_len);
	if (s)
		verify_copy(g->res.selector, sizeof(g->res.selector), s->value, s->value_len);
	if (a)
		verify_copy(g->res.alg, sizeof(g->res.alg), a->value, a->value_len);
	if (b) {
		size_t n = 0;
		for (size_t i = 0; i < b->value_len && n < 12; i++)
			if (b->value[i] > ' ' && b->value[i] < 0x7f)
				g->res.header_b[n++] = (char)b->value[i];
		g->res.header_b[n] = '\0';
	}
	return 0;
}

/* v=, a=, d=, s= (3.5); the normalized d= in dnorm. */
static int verify_ids(struct verify_sig *g, char *dnorm, size_t cap)
{
	const struct dkim_tags *t = &g->tags;
	const struct dkim_tag *tv = dkim_tags_find(t, "v"), *a = dkim_tags_find(t, "a"),
	                      *d = dkim_tags_find(t, "d"), *s = dkim_tags_find(t, "s");
	if (!tv || !a || !dkim_tags_find(t, "b") || !dkim_tags_find(t, "bh") || !d ||
	    !dkim_tags_find(t, "h") || !s)
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "signature tag missing");
	if (!dkim_tag_value_is(tv, "1"))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "signature version not 1");
	if (dkim_tag_value_is(a, "rsa-sha256"))
		g->alg = DKIM_ALG_RSA_SHA256;
	else if (dkim_tag_value_is(a, "ed25519-sha256"))
		g->alg = DKIM_ALG_ED25519_SHA256;
	else if (dkim_tag_value_is(a, "rsa-sha1"))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "rsa-sha1 not accepted (RFC 8301)");
	else
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "unknown algorithm");
	if (d->value_len >= sizeof(g->res.domain) ||
	    dkim_domain_norm(g->res.domain, dnorm, cap) < 0)
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "bad d=");
	if (s->value_len >= sizeof(g->res.selector) || !verify_selector_ok(g->res.selector))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "bad s=");
	return 0;
}

/* Parse the signature (3.5) and set up its body hash; -1 with res set when the
 * signature cannot be processed or has expired. */
static int verify_parse(struct dkim_verifier *v, struct verify_sig *g)
{
	char dnorm[LIMIT_ADDR_DOMAIN + 1];
	if (verify_tags(v, g) < 0)
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "signature syntax");
	if (verify_ids(g, dnorm, sizeof(dnorm)) < 0)
		return -1;
	const struct dkim_tags *t = &g->tags;
	const struct dkim_tag *q = dkim_tags_find(t, "q"), *l = dkim_tags_find(t, "l"),
	                      *i = dkim_tags_find(t, "i"), *ts = dkim_tags_find(t, "t"),
	                      *x = dkim_tags_find(t, "x"), *b = dkim_tags_find(t, "b"),
	                      *bh = dkim_tags_find(t, "bh");
	if (!verify_c_tag(dkim_tags_find(t, "c"), g))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "unknown canonicalization");
	if (q && !dkim_tag_value_is(q, "dns/txt"))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "unknown query method");
	const char *why = NULL;
	if (!verify_h_ok(dkim_tags_find(t, "h"), &why))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, why);
	if (i && !verify_i_in_d(i, dnorm))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "i= not within d=");
	uint64_t tval = 0, xval = 0;
	if ((ts && !verify_number(ts, &tval)) || (x && !verify_number(x, &xval)))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "bad t= or x=");
	if (ts && x && xval < tval)
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "x= before t=");
	if (l && !verify_number(l, &g->l))
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "bad l=");
	g->has_l = l != NULL;
	uint8_t sig[1024];
	if (dkim_base64_decode(bh->value, bh->value_len, g->bh, sizeof(g->bh)) != 32)
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "bad bh=");
	if (dkim_base64_decode(b->value, b->value_len, sig, sizeof(sig)) <= 0)
		return verify_bad(g, DKIM_RESULT_NEUTRAL, "bad b=");
	if (x && xval < (uint64_t)v->now)
		return verify_bad(g, DKIM_RESULT_FAIL, "signature expired");
	g->md = EVP_MD_CTX_new();
	if (!g->md || EVP_DigestInit_ex(g->md, EVP_sha256(), NULL) != 1)
		return verify_bad(g, DKIM_RESULT_TEMPERROR, "out of memory");
	dkim_body_canon_init(&g->body, g->bcanon, verify_body_sink, g);
	g->hashing = true;
	return 0;
}

/* The header is complete: find the signatures and start their body hashes. */
static void verify_setup(struct dkim_verifier *v)
{
	v->set_up = true;
	for (size_t i = 0; i < v->msg.nfields && v->nsig < LIMIT_DKIM_SIGS; i++) {
		if (!dkim_msg_field_is(&v->msg, i, "dkim-signature"))
			continue;
		struct verify_sig *g = &v->sig[v->nsig++];
		g->field = i;
		(void)verify_parse(v, g); /* a failure is recorded in g->res */
	}
}

static void verify_body(void *ctx, const uint8_t *p, size_t len)
{
	struct dkim_verifier *v = ctx;
	if (!v->set_up)
		verify_setup(v);
	for (size_t i = 0; i < v->nsig; i++)
		if (v->sig[i].hashing)
			dkim_body_canon_feed(&v->sig[i].body, p, len);
}

int dkim_verifier_new(time_t now, struct dkim_verifier **out)
{
	struct dkim_verifier *v = calloc(1, sizeof(*v));
	*out = NULL;
	if (!v)
		return ERR_NOMEM;
	v->now = now;
	dkim_msg_init(&v->msg, verify_body, v);
	*out = v;
	return 0;
}

void dkim_verifier_free(struct dkim_verifier **vp)
{
	struct dkim_verifier *v = *vp;
	if (!v)
		return;
	for (size_t i = 0; i < v->nsig; i++)
		EVP_MD_CTX_free(v->sig[i].md);
	dkim_msg_free(&v->msg);
	free(v);
	*vp = NULL;
}

int dkim_verifier_feed(struct dkim_verifier *v, const uint8_t *p, size_t len)
{
	if (v->error)
		return v->error;
	int rc = dkim_msg_feed(&v->msg, p, len);
	if (rc < 0)
		v->error = rc;
	return rc < 0 ? rc : 0;
}

const char *dkim_result_name(enum dkim_result r)
{
	switch (r) {
	case DKIM_RESULT_PASS:
		return "pass";
	case DKIM_RESULT_FAIL:
		return "fail";
	case DKIM_RESULT_NEUTRAL:
		return "neutral";
	case DKIM_RESULT_TEMPERROR:
		return "temperror";
	case DKIM_RESULT_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

/* The key of g from lookup, and the header check with it. */
static void verify_key_and_header(struct dkim_verifier *v, struct verify_sig *g,
                                  dkim_key_lookup_fn lookup, void *ctx)
{
	char name[LIMIT_DKIM_SELECTOR + LIMIT_ADDR_DOMAIN + 16];
	char *rec = malloc(LIMIT_DKIM_RECORD);
	size_t rlen = 0;
	int n = snprintf(name, sizeof(name), "%s._domainkey.%s", g->res.selector, g->res.domain);
	if (!rec || n < 0 || (size_t)n >= sizeof(name)) {
		free(rec);
		verify_bad(g, DKIM_RESULT_TEMPERROR, "out of memory");
		return;
	}
	int rc = lookup(ctx, name, rec, LIMIT_DKIM_RECORD, &rlen);
	if (rc == ERR_TEMP || rc == ERR_IO || rc == ERR_NOMEM) {
		verify_bad(g, DKIM_RESULT_TEMPERROR, "key lookup failed");
	} else if (rc == ERR_NOTFOUND) {
		verify_bad(g, DKIM_RESULT_PERMERROR, "no key record");
	} else if (rc < 0) {
		verify_bad(g, DKIM_RESULT_PERMERROR, "key record unusable");
	} else {
		EVP_PKEY *pkey = NULL;
		bool strict = false;
		const char *why = NULL;
		rc = dkim_key_record_parse((const uint8_t *)rec, rlen, g->alg, &pkey, &strict,
		                           &g->res.testing, &why);
		const struct dkim_tag *i = dkim_tags_find(&g->tags, "i");
		if (rc < 0) {
			verify_bad(g, DKIM_RESULT_PERMERROR, why);
		} else if (strict && i && !verify_i_in_d(i, g->res.domain)) {
			verify_bad(g, DKIM_RESULT_FAIL, "i= not d= under t=s");
		} else {
			rc = dkim_verify_header(&v->msg, &g->tags, g->field, g->hcanon, g->alg,
			                        pkey);
			if (rc == 0) {
				g->res.result = DKIM_RESULT_PASS;
				g->res.reason[0] = '\0';
			} else if (rc == ERR_NOMEM || rc == ERR_TEMP) {
				verify_bad(g, DKIM_RESULT_TEMPERROR, "out of memory");
			} else {
				verify_bad(g, DKIM_RESULT_FAIL, "signature did not verify");
			}
		}
		EVP_PKEY_free(pkey);
	}
	free(rec);
}

int dkim_verifier_finish(struct dkim_verifier *v, dkim_key_lookup_fn lookup, void *ctx,
                         struct dkim_verify_result *res, size_t cap, size_t *n_out)
{
	*n_out = 0;
	if (v->error)
		return v->error;
	int rc = dkim_msg_finish(&v->msg);
	if (rc < 0)
		return v->error = rc;
	if (!v->set_up)
		verify_setup(v);
	for (size_t k = 0; k < v->nsig; k++) {
		struct verify_sig *g = &v->sig[k];
		if (g->hashing) {
			uint8_t dg[EVP_MAX_MD_SIZE];
			unsigned dglen = 0;
			dkim_body_canon_finish(&g->body);
			if (EVP_DigestFinal_ex(g->md, dg, &dglen) != 1)
				verify_bad(g, DKIM_RESULT_TEMPERROR, "out of memory");
			else if (g->has_l && g->hashed < g->l)
				verify_bad(g, DKIM_RESULT_FAIL, "body shorter than l=");
			else if (dglen != 32 || memcmp(dg, g->bh, 32) != 0)
				verify_bad(g, DKIM_RESULT_FAIL, "body hash did not verify");
			else
				verify_key_and_header(v, g, lookup, ctx);
		}
		if (*n_out < cap)
			res[(*n_out)++] = g->res;
	}
	return 0;
}

int dkim_key_from_dns(int query_rc, struct dns_answer **answer, char *out, size_t cap,
                      size_t *len_out)
{
	struct dns_answer *a = *answer;
	*answer = NULL;
	if (query_rc < 0 || !a) {
		dns_answer_free(&a);
		return query_rc == ERR_INVAL ? ERR_NOTFOUND : ERR_TEMP;
	}
	int rc;
	if (a->status == DNS_STATUS_OK && a->n > 0) {
		size_t n = a->rr[0].u.txt.len;
		rc = n < cap ? 0 : ERR_TOO_BIG;
		if (rc == 0) {
			memcpy(out, a->rr[0].u.txt.text, n);
			out[n] = '\0';
			*len_out = n;
		}
	} else if (a->status == DNS_STATUS_TEMPFAIL) {
		rc = ERR_TEMP;
	} else if (a->status == DNS_STATUS_MALFORMED) {
		rc = ERR_TOO_BIG; /* a TXT too long to hold: permerror */
	} else {
		rc = ERR_NOTFOUND;
	}
	dns_answer_free(&a);
	return rc;
}
