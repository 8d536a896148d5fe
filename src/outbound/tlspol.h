/* tlspol.h: which TLS the outbound engine must use towards a destination: MTA-STS
 * (RFC 8461) per recipient domain, DANE (RFC 7672) per MX host.
 *
 * The engine asks twice:
 *   1. tlspol_domain(): the domain's MTA-STS policy (the _mta-sts TXT record, the policy
 *      from https://mta-sts.<domain>/.well-known/mta-sts.txt, cached per domain in
 *      <data>/queue/mta-sts.db); then tlspol_mx_allowed() for each MX host.
 *   2. tlspol_host() for each MX host it connects to: the requirement for that host.
 *      DANE wins over MTA-STS (RFC 8461 2): a host with usable secure TLSA records is
 *      verified by them alone.
 *
 * Pure parts (tlspol_parse.c: no I/O, fuzzed): the policy text, the TXT record, the mx
 * pattern match. Each tlspol_ctx belongs to one thread (a worker of the engine, or a
 * command); its resolver is that thread's (dns_query_wait). */
#ifndef KASTEN_TLSPOL_H
#define KASTEN_TLSPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct dns_resolver;

/* ---- MTA-STS (RFC 8461) ---- */

enum tlspol_sts_mode {
	TLSPOL_STS_ABSENT = 0, /* no policy: no _mta-sts TXT, or none fetched nor cached */
	TLSPOL_STS_NONE,       /* "mode: none": the domain withdrew its policy (RFC 8461 5) */
	TLSPOL_STS_TESTING,    /* verify and report, never refuse (RFC 8461 5) */
	TLSPOL_STS_ENFORCE,    /* only matching MX hosts, only with a verified certificate */
};

/* A parsed policy (RFC 8461 3.2). */
struct tlspol_sts {
	enum tlspol_sts_mode mode;
	unsigned max_age; /* seconds, at most LIMIT_TLSPOL_MAX_AGE (RFC 8461 3.2: 31557600) */
	size_t n_mx;
	char mx[LIMIT_TLSPOL_MX][LIMIT_DNS_NAME + 1]; /* lower case; "*.example.com" allowed */
};

/* Where tlspol_domain() took the policy from. */
enum tlspol_sts_source {
	TLSPOL_SRC_NONE,        /* no policy */
	TLSPOL_SRC_FETCHED,     /* fetched now (new domain, new id, or expired) */
	TLSPOL_SRC_CACHE,       /* the cached policy, id unchanged and not expired */
	TLSPOL_SRC_CACHE_STALE, /* the cached policy kept because a refresh failed
	                         * (RFC 8461 5.1: expired, or the TXT lookup failed) */
};

struct tlspol_domain {
	char domain[LIMIT_DNS_NAME + 1]; /* lower case, no final dot */
	struct tlspol_sts sts;           /* sts.mode TLSPOL_STS_ABSENT: no policy */
	enum tlspol_sts_source source;
	char id[LIMIT_TLSPOL_ID + 1]; /* the TXT id the policy belongs to, or "" */
	int64_t fetched_at, expires;  /* unix seconds; 0 without a policy */
	char why[LIMIT_TLSPOL_WHY];   /* one line for logs and `kasten tls-policy` */
};

/* ---- the requirement for one MX host ---- */

enum tlspol_req {
	TLSPOL_OPPORTUNISTIC, /* STARTTLS when offered, unverified; plain text otherwise */
	TLSPOL_ENCRYPT,       /* STARTTLS required, not authenticated (RFC 7672 2.2: a
	                       * secure TLSA RRset with no usable record) */
	TLSPOL_PKIX,          /* STARTTLS required, certificate verified against the CA
	                       * store for names[] (MTA-STS enforce, RFC 8461 4.2) */
	TLSPOL_DANE,          /* STARTTLS required, verified by tlsa[] (RFC 7672 3), names[]
	                       * for DANE-TA(2) records */
	TLSPOL_DEFER,         /* the TLSA lookup failed (temporary or bogus): do not connect
	                       * to this host now (RFC 7672 2.2: never plain text) */
};

/* One usable TLSA record (usage 2 DANE-TA or 3 DANE-EE; RFC 7672 3.1.3: 0 and 1 are
 * not used for SMTP), in the form of SSL_dane_tlsa_add(). */
struct tlspol_tlsa {
	uint8_t usage, selector, mtype;
	size_t len;
	uint8_t *data; /* owned by the struct tlspol_host */
};

struct tlspol_host {
	enum tlspol_req req;
	bool sts_testing; /* OPPORTUNISTIC because the policy is in testing mode: verify
	                   * if you like and log the outcome, never refuse for it */
	/* Names the certificate may carry: PKIX: the MX host; DANE: the TLSA base domain
	 * (also the SNI name, RFC 7672 8.1), the MX host name and the next-hop domain
	 * (RFC 7672 3.2.2), without repeats. */
	size_t n_names;
	char names[3][LIMIT_DNS_NAME + 1];
	char sni[LIMIT_DNS_NAME + 1]; /* the name to send as SNI ("" for OPPORTUNISTIC) */
	size_t n_tlsa;
	struct tlspol_tlsa *tlsa;   /* DANE: the usable records, malloc'd */
	char why[LIMIT_TLSPOL_WHY]; /* one line: which policy applied and why */
};

/* ---- the context (one per thread) ---- */

struct tlspol_options {
	const char *cache_path; /* the MTA-STS cache file; NULL: no cache (every call fetches) */
	const char *ca_file;    /* PEM CAs for the policy's HTTPS server; NULL: system store */
	unsigned https_port;    /* port of mta-sts.<domain>: 443 (tests use another) */
	unsigned timeout;       /* seconds for the connect and each read/write of a fetch */
};

/* The options from conf_get(): cache in <data>/queue/mta-sts.db, [outbound]
 * mta_sts_ca_file and mta_sts_port. path_buf (LIMIT_TLSPOL_PATH bytes) holds the path. */
void tlspol_options_from_conf(struct tlspol_options *out, char *path_buf);

struct tlspol_ctx;

/* A context using resolver r (owned by the caller, same thread). Opens (creating) the
 * cache file when opts->cache_path is set; the directory must exist. Returns 0,
 * ERR_NOMEM or ERR_IO (the cache cannot be opened; logged). */
int tlspol_ctx_new(struct dns_resolver *r, const struct tlspol_options *opts,
                   struct tlspol_ctx **out);
void tlspol_ctx_free(struct tlspol_ctx **ctx);

/* The MTA-STS policy of domain (RFC 8461 3-5): the TXT record, the cache, a fetch when
 * the TXT id differs from the cached one or the cached policy expired. A failed fetch
 * or lookup keeps a cached policy (source CACHE_STALE); with nothing cached there is
 * no policy (TLSPOL_STS_ABSENT), and delivery goes ahead as without MTA-STS. Always
 * fills *out. Returns 0, ERR_INVAL (domain is not a host name) or ERR_NOMEM. */
int tlspol_domain(struct tlspol_ctx *ctx, const char *domain, struct tlspol_domain *out);

/* May the engine deliver to mx_host under pol? false only in enforce mode for a host
 * no mx pattern matches (RFC 8461 4.1); testing: true (log the mismatch). */
bool tlspol_mx_allowed(const struct tlspol_domain *pol, const char *mx_host);

/* The requirement for connecting to mx_host (as named by the MX record, or the domain
 * itself without MX) on port (the remote port: TLSA at _PORT._tcp.HOST). mx_secure:
 * the MX answer was DNSSEC-secure (without MX: the domain's address answer). DANE
 * applies when mx_secure and the host's address and TLSA answers are secure (RFC 7672
 * 2.2); otherwise MTA-STS enforce gives PKIX, testing/none/absent OPPORTUNISTIC.
 * Fills *out (release with tlspol_host_clear). Returns 0, ERR_INVAL or ERR_NOMEM. */
int tlspol_host(struct tlspol_ctx *ctx, const struct tlspol_domain *dom, const char *mx_host,
                bool mx_secure, unsigned port, struct tlspol_host *out);
void tlspol_host_clear(struct tlspol_host *h);

/* "opportunistic", "encrypt", "pkix", "dane", "defer"; "none", "testing", ... */
const char *tlspol_req_name(enum tlspol_req r);
const char *tlspol_sts_mode_name(enum tlspol_sts_mode m);
const char *tlspol_sts_source_name(enum tlspol_sts_source s);

/* ---- the pure parts (tlspol_parse.c) ---- */

/* The policy body (RFC 8461 3.2): "key: value" lines ending in CRLF or LF (the last
 * line may lack one); version must be STSv1 and come first, mode and max_age exactly
 * once, mx once or more (mode none may have none); unknown keys are ignored; a value
 * with bytes outside VCHAR/WSP, a number with more than 10 digits, more than
 * LIMIT_TLSPOL_MX mx lines or a body over LIMIT_TLSPOL_POLICY: ERR_BAD_SYNTAX /
 * ERR_TOO_BIG. Reads only p[0..len). 0 with *out filled, or the error. */
int tlspol_parse_policy(const uint8_t *p, size_t len, struct tlspol_sts *out);

/* The _mta-sts TXT record (RFC 8461 3.1): "v=STSv1; id=ID;" with id 1-32 alphanumerics,
 * other fields ignored. Returns 1 with id_out (LIMIT_TLSPOL_ID+1 bytes) set, 0 when the
 * text is not an STSv1 record (other TXT records at the name), ERR_BAD_SYNTAX when it
 * starts like one but does not parse. */
int tlspol_parse_txt(const char *p, size_t len, char *id_out);

/* RFC 8461 4.1: host (lower case, no final dot) against one pattern: equal, or a
 * "*.rest" pattern whose wildcard stands for exactly one leftmost label. */
bool tlspol_mx_match(const char *pattern, const char *host);

#endif
