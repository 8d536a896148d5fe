/* spf_eval.c: check_host() of RFC 7208 4 over a lookup callback (the resolver in the
 * server, a table in the unit tests). Limits (4.6.4): LIMIT_SPF_DNS_TERMS terms that
 * query DNS per evaluation (include, a, mx, ptr, exists, redirect, counted over all
 * includes), LIMIT_SPF_VOID_LOOKUPS answers without records, LIMIT_SPF_MX_NAMES MX or
 * PTR names per mechanism; recursion is bounded by the term limit, since every include
 * and redirect is one. Decisions:
 *   - an implicit MX (dns.h gives the domain itself when it has no MX) is no MX here:
 *     5.4 looks only at MX records;
 *   - a target that expands to something that is not a DNS name matches nothing;
 *   - an answer dns.h calls malformed (past its limits) is a permerror, as 4.6.4 makes
 *     any record set too large to evaluate;
 *   - the address lookups of mx and ptr names do not count as void lookups (4.6.4
 *     counts the mechanisms' own queries). */
#include "outbound/spf.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/banned.h"

struct spf_eval {
	const struct spf_request *req;
	char local[LIMIT_ADDRESS + 1];
	char sender_domain[LIMIT_DNS_NAME + 1];
	unsigned dns_terms, voids;
	enum spf_result abort; /* TEMPERROR/PERMERROR once the evaluation must stop, else NONE */
	bool ptr_done;
	char ptr_name[LIMIT_DNS_NAME + 1]; /* %{p}; "" when none validated */
	char *reason;
	size_t reason_cap;
};

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[] = {"none",     "neutral",   "pass",     "fail",
	                                    "softfail", "temperror", "permerror"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}

/* Stop with a temperror/permerror and say why (the first reason is kept). */
static void spf_stop(struct spf_eval *e, enum spf_result r, const char *why, const char *name)
{
	if (e->abort != SPF_RESULT_NONE)
		return;
	e->abort = r;
	int n =
	    snprintf(e->reason, e->reason_cap, "%s%s%s", why, name ? " " : "", name ? name : "");
	(void)n; /* a cut reason is still a reason */
}

enum spf_lk { SPF_LK_RECORDS, SPF_LK_VOID, SPF_LK_TEMP, SPF_LK_PERM };

static enum spf_lk spf_lookup(struct spf_eval *e, enum dns_type t, const char *name,
                              struct dns_answer **a)
{
	*a = NULL;
	if (e->req->lookup(e->req->ctx, t, name, a) < 0 || !*a)
		return SPF_LK_TEMP;
	switch ((*a)->status) {
	case DNS_STATUS_OK:
		return (*a)->n > 0 && !(*a)->implicit_mx ? SPF_LK_RECORDS : SPF_LK_VOID;
	case DNS_STATUS_NODATA:
	case DNS_STATUS_NXDOMAIN:
		return SPF_LK_VOID;
	case DNS_STATUS_MALFORMED:
		return SPF_LK_PERM;
	default:
		return SPF_LK_TEMP;
	}
}

/* A lookup of a mechanism: errors stop the evaluation, void answers are counted. */
static enum spf_lk spf_mech_lookup(struct spf_eval *e, enum dns_type t, const char *name,
                                   struct dns_answer **a)
{
	enum spf_lk k = spf_lookup(e, t, name, a);
	if (k == SPF_LK_TEMP)
		spf_stop(e, SPF_RESULT_TEMPERROR, "DNS lookup failed for", name);
	else if (k == SPF_LK_PERM)
		spf_stop(e, SPF_RESULT_PERMERROR, "unusable DNS answer for", name);
	else if (k == SPF_LK_VOID && ++e->voids > LIMIT_SPF_VOID_LOOKUPS)
		spf_stop(e, SPF_RESULT_PERMERROR, "too many void lookups at", name);
	return k;
}

static bool spf_count_term(struct spf_eval *e)
{
	if (++e->dns_terms > LIMIT_SPF_DNS_TERMS) {
		spf_stop(e, SPF_RESULT_PERMERROR, "more than 10 DNS-querying terms", NULL);
		return false;
	}
	return true;
}

static bool spf_net_match(const uint8_t *ip, const uint8_t *net, unsigned bits)
{
	size_t full = bits / 8;
	if (memcmp(ip, net, full) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (ip[full] & mask) == (net[full] & mask);
}

static bool spf_answer_has_ip(const struct spf_eval *e, const struct dns_answer *a, unsigned c4,
                              unsigned c6)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->rr[i].u.addr.family != e->req->family)
			continue;
		if (spf_net_match(e->req->ip, a->rr[i].u.addr.addr,
		                  e->req->family == AF_INET ? c4 : c6))
			return true;
	}
	return false;
}

static enum dns_type spf_addr_type(const struct spf_eval *e)
{
	return e->req->family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA;
}

/* The reverse name of the client (in-addr.arpa / ip6.arpa) into out. */
static void spf_reverse_name(const struct spf_eval *e, char *out, size_t cap)
{
	const uint8_t *ip = e->req->ip;
	size_t o = 0;
	if (e->req->family == AF_INET) {
		int n = snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
		(void)n; /* fits: cap is a DNS name */
		return;
	}
	static const char hex[] = "0123456789abcdef";
	for (int k = 31; k >= 0; k--) {
		uint8_t b = ip[k / 2];
		out[o++] = hex[k % 2 ? b & 15 : b >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", 9);
}

/* The client's validated names (5.5): PTR names whose address records hold the client,
 * at most LIMIT_SPF_MX_NAMES looked at. Calls fn(e, name, arg) for each until it returns
 * true; returns that. A failing PTR lookup validates nothing. */
static bool spf_validated_names(struct spf_eval *e, bool count_void,
                                bool (*fn)(const char *name, void *arg), void *arg)
{
	char rev[LIMIT_DNS_NAME + 1];
	struct dns_answer *ptr = NULL;
	spf_reverse_name(e, rev, sizeof(rev));
	enum spf_lk k = spf_lookup(e, DNS_TYPE_PTR, rev, &ptr);
	if (k == SPF_LK_VOID && count_void && ++e->voids > LIMIT_SPF_VOID_LOOKUPS)
		spf_stop(e, SPF_RESULT_PERMERROR, "too many void lookups at", rev);
	bool found = false;
	for (size_t i = 0; k == SPF_LK_RECORDS && i < ptr->n && i < LIMIT_SPF_MX_NAMES && !found;
	     i++) {
		struct dns_answer *a = NULL;
		const char *name = ptr->rr[i].u.ptr.host;
		if (spf_lookup(e, spf_addr_type(e), name, &a) == SPF_LK_RECORDS &&
		    spf_answer_has_ip(e, a, 32, 128))
			found = fn(name, arg);
		dns_answer_free(&a);
	}
	dns_answer_free(&ptr);
	return found;
}

static bool spf_first_name(const char *name, void *arg)
{
	struct spf_eval *e = arg;
	int n = snprintf(e->ptr_name, sizeof(e->ptr_name), "%s", name);
	(void)n; /* fits: both are DNS names */
	return true;
}

/* Expand a domain-spec (or take the current domain) into a checked name in out.
 * 1: a name; 0: not a name (matches nothing); -1: the evaluation stopped. */
static int spf_target(struct spf_eval *e, const char *spec, size_t spec_len, const char *domain,
                      char *out)
{
	if (!spec)
		return dns_name_norm(domain, strlen(domain), out) == 0 ? 1 : 0;
	if (spf_macro_uses_p(spec, spec_len) && !e->ptr_done) {
		e->ptr_done = true;
		e->ptr_name[0] = '\0';
		(void)spf_validated_names(e, false, spf_first_name, e); /* none: "unknown" */
	}
	struct spf_macro_ctx m = {
	    .sender_local = e->local,
	    .sender_domain = e->sender_domain,
	    .domain = domain,
	    .family = e->req->family,
	    .ip = e->req->ip,
	    .helo = e->req->helo,
	    .ptr_name = e->ptr_name[0] ? e->ptr_name : NULL,
	};
	char tmp[LIMIT_SPF_MACRO_OUT + 1];
	if (spf_macro_expand(&m, spec, spec_len, tmp) < 0) {
		spf_stop(e, SPF_RESULT_PERMERROR, "bad macro in", domain);
		return -1;
	}
	return dns_name_norm(tmp, strlen(tmp), out) == 0 ? 1 : 0;
}

static enum spf_result spf_check_host(struct spf_eval *e, const char *domain);

static bool spf_mx_match(struct spf_eval *e, const char *target, const struct spf_term *t)
{
	struct dns_answer *mx = NULL;
	bool match = false;
	if (spf_mech_lookup(e, DNS_TYPE_MX, target, &mx) == SPF_LK_RECORDS) {
		if (mx->n > LIMIT_SPF_MX_NAMES)
			spf_stop(e, SPF_RESULT_PERMERROR, "more than 10 MX names at", target);
		for (size_t i = 0; i < mx->n && !match && e->abort == SPF_RESULT_NONE; i++) {
			struct dns_answer *a = NULL;
			enum spf_lk k = spf_lookup(e, spf_addr_type(e), mx->rr[i].u.mx.host, &a);
			if (k == SPF_LK_TEMP)
				spf_stop(e, SPF_RESULT_TEMPERROR, "DNS lookup failed for",
				         mx->rr[i].u.mx.host);
			else if (k == SPF_LK_RECORDS)
				match = spf_answer_has_ip(e, a, t->cidr4, t->cidr6);
			dns_answer_free(&a);
		}
	}
	dns_answer_free(&mx);
	return match;
}

static bool spf_ptr_is_in(const char *name, void *arg)
{
	const char *target = arg;
	size_t n = strlen(name), tn = strlen(target);
	return n == tn ? strcmp(name, target) == 0
	               : n > tn && name[n - tn - 1] == '.' && strcmp(name + n - tn, target) == 0;
}

/* Whether one mechanism matches; e->abort set when the evaluation must stop. */
static bool spf_mech_match(struct spf_eval *e, const struct spf_term *t, const char *domain)
{
	char target[LIMIT_DNS_NAME + 1];
	struct dns_answer *a = NULL;
	bool match = false;
	int fam = e->req->family;
	switch (t->mech) {
	case SPF_MECH_ALL:
		return true;
	case SPF_MECH_IP4:
		return fam == AF_INET && spf_net_match(e->req->ip, t->net, t->cidr4);
	case SPF_MECH_IP6:
		return fam == AF_INET6 && spf_net_match(e->req->ip, t->net, t->cidr6);
	default:
		break;
	}
	if (!spf_count_term(e) || spf_target(e, t->spec, t->spec_len, domain, target) <= 0)
		return false;
	switch (t->mech) {
	case SPF_MECH_INCLUDE: {
		enum spf_result r = spf_check_host(e, target);
		if (r == SPF_RESULT_TEMPERROR)
			spf_stop(e, SPF_RESULT_TEMPERROR, "include failed:", target);
		else if (r == SPF_RESULT_PERMERROR || r == SPF_RESULT_NONE)
			spf_stop(e, SPF_RESULT_PERMERROR,
			         "include without a usable record:", target);
		return r == SPF_RESULT_PASS;
	}
	case SPF_MECH_A:
		if (spf_mech_lookup(e, spf_addr_type(e), target, &a) == SPF_LK_RECORDS)
			match = spf_answer_has_ip(e, a, t->cidr4, t->cidr6);
		break;
	case SPF_MECH_MX:
		return spf_mx_match(e, target, t);
	case SPF_MECH_PTR:
		return spf_validated_names(e, true, spf_ptr_is_in, target);
	case SPF_MECH_EXISTS:
		/* 5.7: an A query whatever the client's family */
		match = spf_mech_lookup(e, DNS_TYPE_A, target, &a) == SPF_LK_RECORDS;
		break;
	default:
		break;
	}
	dns_answer_free(&a);
	return match;
}

/* The one SPF record of domain (4.5) parsed into rec, its text kept in *txt. */
static enum spf_result spf_fetch(struct spf_eval *e, const char *domain, struct dns_answer **txt,
                                 struct spf_record *rec)
{
	enum spf_lk k = spf_lookup(e, DNS_TYPE_TXT, domain, txt);
	if (k == SPF_LK_TEMP) {
		spf_stop(e, SPF_RESULT_TEMPERROR, "DNS lookup failed for", domain);
		return SPF_RESULT_TEMPERROR;
	}
	if (k == SPF_LK_PERM) {
		spf_stop(e, SPF_RESULT_PERMERROR, "unusable TXT answer for", domain);
		return SPF_RESULT_PERMERROR;
	}
	const struct dns_rr *found = NULL;
	for (size_t i = 0; k == SPF_LK_RECORDS && i < (*txt)->n; i++) {
		const struct dns_rr *rr = &(*txt)->rr[i];
		if (!spf_record_is_spf(rr->u.txt.text, rr->u.txt.len))
			continue;
		if (found) {
			spf_stop(e, SPF_RESULT_PERMERROR, "more than one SPF record at", domain);
			return SPF_RESULT_PERMERROR;
		}
		found = rr;
	}
	if (!found)
		return SPF_RESULT_NONE;
	const char *why = NULL;
	if (strlen(found->u.txt.text) != found->u.txt.len ||
	    spf_record_parse(found->u.txt.text, found->u.txt.len, rec, &why) < 0) {
		char at[LIMIT_DNS_NAME + 40];
		int n = snprintf(at, sizeof(at), "at %s: %s", domain, why ? why : "NUL byte");
		(void)n; /* a cut reason is still a reason */
		spf_stop(e, SPF_RESULT_PERMERROR, "bad record", at);
		return SPF_RESULT_PERMERROR;
	}
	return SPF_RESULT_PASS; /* a record to evaluate */
}

static enum spf_result spf_check_host(struct spf_eval *e, const char *domain)
{
	char name[LIMIT_DNS_NAME + 1];
	/* 4.3: a name that is not a multi-label domain name: none */
	if (dns_name_norm(domain, strlen(domain), name) < 0 || !strchr(name, '.'))
		return SPF_RESULT_NONE;
	struct dns_answer *txt = NULL;
	struct spf_record rec;
	enum spf_result r = spf_fetch(e, name, &txt, &rec);
	if (r != SPF_RESULT_PASS) {
		dns_answer_free(&txt);
		return r;
	}
	r = SPF_RESULT_NEUTRAL; /* 4.7: no match and no redirect */
	size_t i = 0;
	for (; i < rec.n && e->abort == SPF_RESULT_NONE; i++)
		if (spf_mech_match(e, &rec.terms[i], name))
			break;
	if (e->abort != SPF_RESULT_NONE) {
		r = e->abort;
	} else if (i < rec.n) {
		r = rec.terms[i].qual;
	} else if (rec.redirect && !rec.has_all) {
		char target[LIMIT_DNS_NAME + 1];
		int t = spf_count_term(e)
		            ? spf_target(e, rec.redirect, rec.redirect_len, name, target)
		            : -1;
		/* 6.1: a redirect to a domain without a record is a permerror */
		r = t > 0 ? spf_check_host(e, target) : SPF_RESULT_PERMERROR;
		if (e->abort != SPF_RESULT_NONE)
			r = e->abort;
		else if (r == SPF_RESULT_NONE)
			spf_stop(e, r = SPF_RESULT_PERMERROR, "redirect to no record:", target);
	}
	dns_answer_free(&txt);
	return r;
}

/* Split the identity into e->local and e->sender_domain; false when it has no domain. */
static bool spf_identity(struct spf_eval *e, struct spf_outcome *out)
{
	const struct spf_request *q = e->req;
	int n;
	if (q->sender[0])
		n = snprintf(out->identity, sizeof(out->identity), "%s", q->sender);
	else /* 2.4: the null sender is checked as postmaster@HELO */
		n = snprintf(out->identity, sizeof(out->identity), "postmaster@%s", q->helo);
	if (n < 0 || (size_t)n >= sizeof(out->identity))
		return false;
	const char *at = strrchr(out->identity, '@');
	if (!at)
		return false;
	size_t ln = (size_t)(at - out->identity);
	memcpy(e->local, ln ? out->identity : "postmaster", ln ? ln : 10);
	e->local[ln ? ln : 10] = '\0';
	return dns_name_norm(at + 1, strlen(at + 1), e->sender_domain) == 0;
}

void spf_check(const struct spf_request *req, struct spf_outcome *out)
{
	struct spf_eval e = {.req = req, .abort = SPF_RESULT_NONE};
	*out = (struct spf_outcome){.result = SPF_RESULT_NONE};
	e.reason = out->reason;
	e.reason_cap = sizeof(out->reason);
	if (!spf_identity(&e, out)) {
		(void)snprintf(out->reason, sizeof(out->reason), "no domain to check");
		return;
	}
	memcpy(out->domain, e.sender_domain, strlen(e.sender_domain) + 1);
	out->result = spf_check_host(&e, e.sender_domain);
	out->dns_terms = e.dns_terms;
	if (!out->reason[0]) {
		int n = snprintf(out->reason, sizeof(out->reason), "%s",
		                 out->result == SPF_RESULT_NONE      ? "no SPF record"
		                 : out->result == SPF_RESULT_NEUTRAL ? "no mechanism matched"
		                                                     : "a mechanism matched");
		(void)n; /* fixed texts fit */
	}
}
