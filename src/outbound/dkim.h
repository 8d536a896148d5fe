/* dkim.h: DKIM signing and verifying (RFC 6376; rsa-sha256 and ed25519-sha256, RFC 8463)
 * and the domain keys under <data>/dkim/<domain>/<selector>.key. Own code over OpenSSL 3
 * (EVP for the keys and signatures, SHA-256); docs/operations.md says why not
 * libopendkim. Thread-safe: no global state; a keyring has its own lock.
 *
 * Signing (what the outbound queue calls): the message streams through a signer in
 * pieces; at the end the signer returns the DKIM-Signature fields to send before it.
 *   c=relaxed/relaxed, t= set, no l= and no x=, one signature per key of the domain
 *   (RSA and ed25519 both when both exist: RFC 8463 3 recommends signing with both).
 *   h= names the fields of dkim_sign_fields[] that the message has (RFC 6376 5.4.1),
 *   each as often as it occurs, and From once more than it occurs ("oversigned": a
 *   From added on the way breaks the signature).
 * Verifying: the message streams through a verifier; the key records come from a
 * callback (the resolver in serve, a file or the resolver in `kasten dkim verify`). */
#ifndef KASTEN_DKIM_H
#define KASTEN_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/limits.h"

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
};

/* "rsa-sha256" / "ed25519-sha256" (the a= value) and "rsa" / "ed25519" (k=). */
const char *dkim_alg_name(enum dkim_alg alg);
const char *dkim_alg_key_type(enum dkim_alg alg);

/* The header fields a signature covers when the message has them (RFC 6376 5.4.1). */
extern const char *const dkim_sign_fields[];

/* ---- keys ---- */
struct dkim_key {
	char domain[LIMIT_ADDR_DOMAIN + 1]; /* lower case */
	char selector[LIMIT_DKIM_SELECTOR + 1];
	enum dkim_alg alg;
	time_t created;           /* the key file's mtime */
	struct evp_pkey_st *pkey; /* private key (owned) */
};

/* Check and lower-case a domain (LDH labels of 1-63 bytes, at most 253 bytes, no
 * leading/trailing dot) or a selector (one such label, also '_') into out (cap bytes).
 * These become path components: nothing else passes. 0 or ERR_INVAL. */
int dkim_domain_norm(const char *in, char *out, size_t cap);
int dkim_selector_norm(const char *in, char *out, size_t cap);

/* The default selector for a new key made at now: "k<yyyymm>r" for RSA, "k<yyyymm>e"
 * for ed25519 (UTC); out needs 16 bytes. */
void dkim_selector_default(enum dkim_alg alg, time_t now, char *out, size_t cap);

/* Make a key (RSA 2048 or ed25519) and store it as <data>/dkim/<domain>/<selector>.key,
 * PKCS#8 PEM, mode 0600: written to a temporary name, fsynced, linked into place only if
 * the name is free, directory fsynced. A running server sees it at its next signature.
 * Returns 0, ERR_INVAL (bad names), ERR_EXISTS (selector taken), ERR_FULL (the domain
 * has LIMIT_DKIM_KEYS keys), ERR_TEMP (key generation failed), ERR_IO. */
int dkim_key_generate(const char *data_dir, const char *domain, const char *selector,
                      enum dkim_alg alg);
/* Remove one key file (and the domain's directory when it is the last). 0,
 * ERR_INVAL, ERR_NOTFOUND or ERR_IO. */
int dkim_key_delete(const char *data_dir, const char *domain, const char *selector);
/* The keys of one domain (domain set) or all domains (NULL), loaded, sorted by domain
 * then selector, into a malloc'd array *keys_out of *n_out (free with dkim_keys_free).
 * A missing <data>/dkim or domain directory is no keys. A file that does not load is an
 * error (ERR_BAD_SYNTAX, with its path in *bad_path_out when given, cap PATH_MAX):
 * an administrator must see it, not a domain silently signed with fewer keys. */
int dkim_keys_load(const char *data_dir, const char *domain, struct dkim_key **keys_out,
                   size_t *n_out, char *bad_path_out, size_t bad_cap);
void dkim_keys_free(struct dkim_key **keys, size_t n);
/* The key's TXT record text "v=DKIM1; k=rsa; p=..." (RFC 6376 3.6.1, RFC 8463 4), NUL
 * terminated, into out. 0 or ERR_FULL / ERR_NOMEM. */
int dkim_key_record(const struct dkim_key *key, char *out, size_t cap);

/* ---- signing ---- */
struct dkim_signer;

/* A signer for domain (the d= value) with keys[0..n) (each must be that domain's; the
 * signer takes its own references), signing time now (t=). 0, ERR_INVAL, ERR_NOMEM. */
int dkim_signer_new(const char *domain, const struct dkim_key *keys, size_t n, time_t now,
                    struct dkim_signer **out);
/* The message (header, empty line, body), in any pieces. ERR_TOO_BIG when its header is
 * past LIMIT_DKIM_HEADER / LIMIT_HEADER_FIELDS (the message is then sent unsigned: the
 * caller decides), ERR_NOMEM. */
int dkim_signer_feed(struct dkim_signer *s, const uint8_t *p, size_t len);
/* After the last byte: the DKIM-Signature fields, folded at 78 columns, CRLF line ends,
 * malloc'd in *out (the caller frees) with its length. ERR_INVAL when the message has no
 * From field (RFC 6376 5.4: From is required), ERR_TOO_BIG, ERR_NOMEM, ERR_TEMP (the
 * crypto library failed). */
int dkim_signer_finish(struct dkim_signer *s, char **out, size_t *len_out);
void dkim_signer_free(struct dkim_signer **s);

/* The keys a running server signs with: loaded per domain on first use and loaded again
 * when <data>/dkim/<domain>/ changed (its mtime, which keygen and delete move by adding
 * or removing a name). One stat per signature; at most LIMIT_DKIM_DOMAINS domains kept. */
struct dkim_keyring;
int dkim_keyring_new(const char *data_dir, struct dkim_keyring **out);
void dkim_keyring_free(struct dkim_keyring **kr);
/* A signer with the domain's current keys (any thread). ERR_NOTFOUND when the domain has
 * no keys (send unsigned), ERR_BAD_SYNTAX/ERR_IO when its key files do not load (logged
 * once per change), ERR_NOMEM. */
int dkim_keyring_signer(struct dkim_keyring *kr, const char *domain, time_t now,
                        struct dkim_signer **out);

/* ---- verifying ---- */
/* RFC 8601 2.7.1 results, per signature:
 *   pass       the signature verified;
 *   fail       it did not: body hash or signature mismatch, expired (x= past);
 *   neutral    it cannot be processed: a syntax error in the signature, an unknown or
 *              withdrawn algorithm (rsa-sha1, RFC 8301), a required tag missing;
 *   temperror  the key could not be looked up now (try later);
 *   permerror  no key record, a bad or revoked key, a key that does not match a=. */
enum dkim_result {
	DKIM_RESULT_PASS,
	DKIM_RESULT_FAIL,
	DKIM_RESULT_NEUTRAL,
	DKIM_RESULT_TEMPERROR,
	DKIM_RESULT_PERMERROR,
};
const char *dkim_result_name(enum dkim_result r);

/* Looks up the key record at name ("<selector>._domainkey.<domain>", no final dot): its
 * TXT text with the strings concatenated (RFC 6376 3.6.2.2) into out (cap bytes, NUL
 * terminated), length in *len_out. Returns 0, ERR_NOTFOUND (no such record: permerror),
 * ERR_TEMP (temperror), ERR_TOO_BIG (permerror). */
typedef int (*dkim_key_lookup_fn)(void *ctx, const char *name, char *out, size_t cap,
                                  size_t *len_out);

/* A key lookup over dns.h, for lookup functions: query_rc and *answer are what
 * dns_query_wait returned for the TXT query; the result as dkim_key_lookup_fn returns it
 * (RFC 6376 3.6.2.2: the strings joined; NXDOMAIN and no TXT: ERR_NOTFOUND; a temporary
 * failure, bogus included: ERR_TEMP; of several records the first). Frees *answer. */
struct dns_answer;
int dkim_key_from_dns(int query_rc, struct dns_answer **answer, char *out, size_t cap,
                      size_t *len_out);

struct dkim_verify_result {
	enum dkim_result result;
	char domain[LIMIT_ADDR_DOMAIN + 1];     /* d= ("" when unparsable) */
	char selector[LIMIT_DKIM_SELECTOR + 1]; /* s= */
	char alg[16];                           /* a= */
	char header_b[16];                      /* b=, first 12 characters (RFC 6008) */
	char reason[96];                        /* why, for the reason= of RFC 8601 */
	bool testing;                           /* key record t=y */
};

struct dkim_verifier;
int dkim_verifier_new(time_t now, struct dkim_verifier **out);
int dkim_verifier_feed(struct dkim_verifier *v, const uint8_t *p, size_t len);
/* After the last byte: one result per DKIM-Signature field, in header order, at most
 * LIMIT_DKIM_SIGS (*n_out of them in res[0..cap)); the key of each comes from lookup.
 * 0, or ERR_TOO_BIG when the header was too long to hold (no result), ERR_NOMEM. */
int dkim_verifier_finish(struct dkim_verifier *v, dkim_key_lookup_fn lookup, void *ctx,
                         struct dkim_verify_result *res, size_t cap, size_t *n_out);
void dkim_verifier_free(struct dkim_verifier **v);

#endif
