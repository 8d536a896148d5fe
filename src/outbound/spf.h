/* spf.h: the Sender Policy Framework check (RFC 7208) of inbound mail on port 25.
 *
 * Own code over dns.h rather than libspf2: libspf2 asks the system resolver itself
 * (res_query), so its lookups would bypass [dns] resolver and carry no DNSSEC status;
 * docs/operations.md says more. The pieces:
 *   spf_record.c  the record parser (pure: no I/O, fuzzed): terms, modifiers, CIDRs;
 *   spf_macro.c   macro expansion (RFC 7208 7, pure, fuzzed), bounded output;
 *   spf_eval.c    check_host() (RFC 7208 4) with the DNS limits of 4.6.4.
 * Explanations (exp=, RFC 7208 6.2) are checked for syntax but never fetched: the text
 * would only go into a 550 we do not send for SPF alone (DMARC decides rejection).
 * Thread-safe: no global state. */
#ifndef KASTEN_SPF_H
#define KASTEN_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/limits.h"
#include "outbound/dns.h"

/* RFC 7208 2.6, in the order of the RFC 8601 result names. */
enum spf_result {
	SPF_RESULT_NONE,
	SPF_RESULT_NEUTRAL,
	SPF_RESULT_PASS,
	SPF_RESULT_FAIL,
	SPF_RESULT_SOFTFAIL,
	SPF_RESULT_TEMPERROR,
	SPF_RESULT_PERMERROR,
};
const char *spf_result_name(enum spf_result r); /* "pass", "softfail", ... */

/* ---- the record (spf_record.c) ---- */
enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mech mech;
	enum spf_result qual; /* PASS, FAIL, SOFTFAIL or NEUTRAL (+ - ~ ?) */
	const char *spec;     /* the domain-spec (macro string) in the record, or NULL */
	size_t spec_len;
	uint8_t net[16];       /* ip4 (4 bytes) / ip6 network */
	unsigned cidr4, cidr6; /* prefix lengths: 32 and 128 when not given */
};

struct spf_record {
	struct spf_term terms[LIMIT_SPF_TERMS];
	size_t n;
	const char *redirect; /* the redirect= domain-spec, or NULL */
	size_t redirect_len;
	bool has_exp;
	bool has_all; /* RFC 7208 6.1: an "all" anywhere makes redirect= ignored */
};

/* Whether the TXT text [p, p+len) is an SPF record: "v=spf1" (any case) followed by a
 * space or its end (RFC 7208 4.5). */
bool spf_record_is_spf(const char *p, size_t len);

/* Parse an SPF record (RFC 7208 12). The terms point into p, which must outlive rec.
 * Returns 0, ERR_BAD_SYNTAX (permerror; *why_out a fixed text), ERR_TOO_BIG (more than
 * LIMIT_SPF_TERMS terms: permerror too). Unknown modifiers are skipped (6); redirect=
 * or exp= twice, an unknown mechanism, a bad CIDR or a bad macro are errors. */
int spf_record_parse(const char *p, size_t len, struct spf_record *rec, const char **why_out);

/* ---- macros (spf_macro.c) ---- */
struct spf_macro_ctx {
	const char *sender_local; /* local part of <sender>, "postmaster" when empty */
	const char *sender_domain;
	const char *domain; /* <domain> of the current check_host */
	int family;         /* AF_INET or AF_INET6 */
	const uint8_t *ip;  /* 4 or 16 bytes */
	const char *helo;
	const char *ptr_name; /* %{p}: a validated name, or NULL for "unknown" */
};

/* Whether a macro string uses %{p} (the caller then validates a name first). */
bool spf_macro_uses_p(const char *p, size_t len);

/* Check the syntax of a macro string (RFC 7208 7.1) as a domain-spec (explain = false:
 * the letters c, r and t are errors there) or as explain-string text. 0 or
 * ERR_BAD_SYNTAX. */
int spf_macro_check(const char *p, size_t len, bool explain);

/* Expand the domain-spec [p, p+len) into out (LIMIT_SPF_MACRO_OUT + 1 bytes, NUL
 * terminated). Longer results lose labels on the left (7.3). Returns 0 or
 * ERR_BAD_SYNTAX (permerror: a bad macro, a zero digit transformer, an empty result). */
int spf_macro_expand(const struct spf_macro_ctx *m, const char *p, size_t len, char *out);

/* ---- check_host (spf_eval.c) ---- */

/* The lookups: 0 with *answer_out (the evaluator frees it with dns_answer_free), or a
 * negative enum err (temperror). The check's overall time bound lives in the callback. */
typedef int (*spf_lookup_fn)(void *ctx, enum dns_type type, const char *name,
                             struct dns_answer **answer_out);

struct spf_request {
	int family; /* the client: AF_INET or AF_INET6 (a v4-mapped v6 is taken as
	             * IPv4, RFC 7208 5) */
	uint8_t ip[16];
	const char *sender; /* MAIL FROM address, "" for the null sender */
	const char *helo;   /* HELO/EHLO name ("" when none) */
	spf_lookup_fn lookup;
	void *ctx;
};

struct spf_outcome {
	enum spf_result result;
	/* the identity checked (RFC 7208 2.4): MAIL FROM, or postmaster@HELO for <> */
	char identity[LIMIT_ADDRESS + 1];
	char domain[LIMIT_DNS_NAME + 1]; /* its domain, lower case ("" if unusable) */
	char reason[128];                /* why, for the log and a comment in the header */
	unsigned dns_terms;              /* DNS-querying terms used (tests) */
};

/* Evaluate check_host(<ip>, <domain of the identity>, <identity>). Never fails: every
 * problem is a result (a lookup that runs out of memory is temperror). */
void spf_check(const struct spf_request *req, struct spf_outcome *out);

#endif
