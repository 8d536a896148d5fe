/* dmarc.h: DMARC (RFC 7489) for inbound mail on port 25: the policy record, its
 * discovery (the From: domain, else its organizational domain, psl.h), identifier
 * alignment of the SPF and DKIM results, and the policy to apply.
 *
 * Own code over dns.h rather than libopendmarc, which looks up records itself (outside
 * [dns] resolver) and wants libspf2; RFC 7489's logic is small (docs/operations.md).
 * What is left out: rua/ruf are parsed past but no aggregate or failure reports are
 * sent; fo/rf/ri are ignored. pct (6.6.4) is honoured: a failing message outside the
 * sampled percentage gets the next milder policy (reject -> quarantine -> none).
 *   dmarc_record.c  the record parser (pure, fuzzed);
 *   dmarc_eval.c    discovery, alignment, the result. */
#ifndef KASTEN_DMARC_H
#define KASTEN_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/limits.h"
#include "outbound/dkim.h"
#include "outbound/psl.h"
#include "outbound/spf.h"

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};
const char *dmarc_policy_name(enum dmarc_policy p); /* "none", "quarantine", "reject" */

struct dmarc_record {
	bool p_valid;                   /* p= present with a known value */
	enum dmarc_policy p, sp;        /* sp = p when absent */
	bool sp_valid;                  /* false: sp= present with an unknown value */
	bool adkim_strict, aspf_strict; /* adkim=s / aspf=s; default relaxed */
	unsigned pct;                   /* 0..100, default 100 */
	bool has_rua;
};

/* Whether the TXT text starts with the tag "v=DMARC1" (6.6.3 step 3; blanks around the
 * '=' allowed, the value compared without case). */
bool dmarc_record_is_dmarc(const char *p, size_t len);

/* Parse a record's tag list (6.3, RFC 6376 3.2 syntax: tag=value pairs separated by
 * ';', FWS around them). Unknown tags are skipped; a bad value of adkim/aspf/pct keeps
 * the default; a missing or bad p= leaves p_valid false. 0, or ERR_BAD_SYNTAX (not a
 * tag list, not starting with v=DMARC1, a tag twice, more than LIMIT_DMARC_TAGS). */
int dmarc_record_parse(const char *p, size_t len, struct dmarc_record *out);

enum dmarc_result {
	DMARC_RESULT_NONE,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};
const char *dmarc_result_name(enum dmarc_result r);

/* TXT lookups, as spf_lookup_fn (the same callback serves both). */
struct dmarc_input {
	const char *from_domain; /* the RFC5322.From domain, lower case */
	enum spf_result spf;
	const char *spf_domain; /* the domain SPF checked (MAIL FROM or HELO) */
	const struct dkim_verify_result *dkim;
	size_t n_dkim;
	const struct psl *psl;
	spf_lookup_fn lookup;
	void *ctx;
	unsigned sample; /* 0..99, uniform: compared with pct (tests fix it) */
};

struct dmarc_outcome {
	enum dmarc_result result;
	bool has_policy;          /* a record was found: policy and p are meaningful */
	enum dmarc_policy p;      /* the record's policy for this domain (p or sp) */
	enum dmarc_policy policy; /* what to do with a failing message after pct */
	bool spf_aligned, dkim_aligned;
	char domain[LIMIT_DNS_NAME + 1];        /* the From: domain */
	char policy_domain[LIMIT_DNS_NAME + 1]; /* where the record was found */
	char reason[96];
};

/* Evaluate (6.6.2-6.6.4). Never fails: a failed lookup is temperror, a record without
 * a usable p= (and no rua=) permerror, no record none. */
void dmarc_check(const struct dmarc_input *in, struct dmarc_outcome *out);

#endif
