/* dmarc_eval.c: DMARC evaluation (RFC 7489 6.6): policy discovery at _dmarc.<From
 * domain>, else at _dmarc.<organizational domain> (6.6.3); identifier alignment (3.1)
 * of an SPF pass (the MAIL FROM, or HELO, domain) and of each passing DKIM signature
 * (d=); the policy (p, or sp when the record came from the organizational domain of a
 * sub-domain) and pct (6.6.4). Decisions: several DMARC records at one name end the
 * discovery with none (6.6.3 step 5); a record without a valid p= is p=none when it
 * has rua= and a permerror otherwise (6.6.3 step 6; sp= likewise). Owns nothing. */
#include "outbound/dmarc.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/banned.h"

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror", "permerror"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}

/* 3.1.1/3.1.2: strict is the same name, relaxed the same organizational domain. */
static bool dmarc_aligned(const struct psl *psl, const char *a_in, const char *b, bool strict)
{
	/* a is a d= as the signer wrote it: DNS names compare without case */
	char a[LIMIT_DNS_NAME + 1];
	if (dns_name_norm(a_in, strlen(a_in), a) < 0)
		return false;
	if (strcmp(a, b) == 0)
		return true;
	if (strict)
		return false;
	char oa[LIMIT_DNS_NAME + 1], ob[LIMIT_DNS_NAME + 1];
	psl_org_domain(psl, a, oa);
	psl_org_domain(psl, b, ob);
	return strcmp(oa, ob) == 0;
}

enum dmarc_found { DMARC_FOUND, DMARC_FOUND_NONE, DMARC_FOUND_TEMP, DMARC_FOUND_MANY };

/* The DMARC record at _dmarc.<domain>, parsed into rec. */
static enum dmarc_found dmarc_fetch(const struct dmarc_input *in, const char *domain,
                                    struct dmarc_record *rec, bool *bad_out)
{
	char name[LIMIT_DNS_NAME + 8];
	struct dns_answer *a = NULL;
	int n = snprintf(name, sizeof(name), "_dmarc.%s", domain);
	if (n < 0 || (size_t)n > LIMIT_DNS_NAME)
		return DMARC_FOUND_NONE; /* no such name can exist */
	if (in->lookup(in->ctx, DNS_TYPE_TXT, name, &a) < 0 || !a ||
	    a->status == DNS_STATUS_TEMPFAIL) {
		dns_answer_free(&a);
		return DMARC_FOUND_TEMP;
	}
	enum dmarc_found f = DMARC_FOUND_NONE;
	for (size_t i = 0; a->status == DNS_STATUS_OK && i < a->n; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (!dmarc_record_is_dmarc(rr->u.txt.text, rr->u.txt.len))
			continue; /* 6.6.3 step 3: other TXT records are discarded */
		if (f == DMARC_FOUND) {
			f = DMARC_FOUND_MANY;
			break;
		}
		f = DMARC_FOUND;
		*bad_out = strlen(rr->u.txt.text) != rr->u.txt.len ||
		           dmarc_record_parse(rr->u.txt.text, rr->u.txt.len, rec) < 0;
	}
	dns_answer_free(&a);
	return f;
}

static void dmarc_reason(struct dmarc_outcome *out, const char *why)
{
	int n = snprintf(out->reason, sizeof(out->reason), "%s", why);
	(void)n; /* fixed texts fit */
}

/* Find the record (6.6.3); false with the result set when there is none to apply. */
static bool dmarc_discover(const struct dmarc_input *in, struct dmarc_outcome *out,
                           struct dmarc_record *rec)
{
	char org[LIMIT_DNS_NAME + 1];
	bool bad = false;
	const char *where = in->from_domain;
	enum dmarc_found f = dmarc_fetch(in, where, rec, &bad);
	psl_org_domain(in->psl, in->from_domain, org);
	if (f == DMARC_FOUND_NONE && strcmp(org, in->from_domain) != 0) {
		where = org;
		f = dmarc_fetch(in, where, rec, &bad);
	}
	memcpy(out->policy_domain, where, strlen(where) + 1);
	if (f == DMARC_FOUND_TEMP) {
		out->result = DMARC_RESULT_TEMPERROR;
		dmarc_reason(out, "DNS lookup failed");
		return false;
	}
	if (f != DMARC_FOUND) {
		out->policy_domain[0] = '\0';
		dmarc_reason(out, f == DMARC_FOUND_MANY ? "more than one record" : "no record");
		return false;
	}
	if (bad) {
		out->result = DMARC_RESULT_PERMERROR;
		dmarc_reason(out, "record does not parse");
		return false;
	}
	bool sub = where != in->from_domain;
	if (!rec->p_valid || (sub && !rec->sp_valid)) {
		if (!rec->has_rua) {
			out->result = DMARC_RESULT_PERMERROR;
			dmarc_reason(out, "record without a valid policy");
			return false;
		}
		rec->p = rec->sp = DMARC_POLICY_NONE;
	}
	out->has_policy = true;
	out->p = sub ? rec->sp : rec->p;
	return true;
}

void dmarc_check(const struct dmarc_input *in, struct dmarc_outcome *out)
{
	*out = (struct dmarc_outcome){.result = DMARC_RESULT_NONE};
	memcpy(out->domain, in->from_domain, strlen(in->from_domain) + 1);
	struct dmarc_record rec;
	if (!dmarc_discover(in, out, &rec))
		return;
	out->spf_aligned = in->spf == SPF_RESULT_PASS && in->spf_domain[0] &&
	                   dmarc_aligned(in->psl, in->spf_domain, in->from_domain, rec.aspf_strict);
	for (size_t i = 0; i < in->n_dkim && !out->dkim_aligned; i++)
		out->dkim_aligned =
		    in->dkim[i].result == DKIM_RESULT_PASS &&
		    dmarc_aligned(in->psl, in->dkim[i].domain, in->from_domain, rec.adkim_strict);
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RESULT_PASS;
		out->policy = DMARC_POLICY_NONE;
		dmarc_reason(out, out->dkim_aligned ? "aligned DKIM pass" : "aligned SPF pass");
		return;
	}
	out->result = DMARC_RESULT_FAIL;
	out->policy = out->p;
	/* 6.6.4: outside the sampled percentage the next milder policy applies */
	if (in->sample >= rec.pct && out->policy != DMARC_POLICY_NONE)
		out->policy = (enum dmarc_policy)(out->policy - 1);
	dmarc_reason(out, "no aligned SPF or DKIM pass");
}
