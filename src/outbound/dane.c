/* dane.c: DANE for SMTP (RFC 7672 2.2, 3): for an MX host reached through a secure MX
 * answer, the host's address answer must be secure too, then the TLSA RRset of
 * _PORT._tcp.HOST (after a secure CNAME chain: first at the expanded name, then at the
 * name itself, RFC 7672 2.2.2) decides. Usable records are DANE-TA(2) and DANE-EE(3)
 * with a known selector and matching type whose data length fits it (RFC 7672 3.1.3:
 * PKIX-TA(0) and PKIX-EE(1) are not used for SMTP). Owns the records it copies into
 * the struct tlspol_host (released by tlspol_host_clear). Bound: the resolver's
 * LIMIT_DNS_ANSWER_RECORDS per answer, LIMIT_DNS_TLSA_DATA per record. */
#include "outbound/tlspol_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "outbound/dns.h"
#include "core/banned.h"

static void dane_why(struct tlspol_host *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dane_why(struct tlspol_host *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	if (n < 0)
		out->why[0] = '\0';
}

/* RFC 6698 2.1.2-2.1.3, RFC 7672 3.1: a record OpenSSL's DANE can match. */
static bool dane_usable(const struct dns_rr *rr)
{
	uint8_t u = rr->u.tlsa.usage, s = rr->u.tlsa.selector, m = rr->u.tlsa.mtype;
	size_t len = rr->u.tlsa.len;
	if ((u != 2 && u != 3) || s > 1)
		return false;
	return (m == 0 && len > 0) || (m == 1 && len == 32) || (m == 2 && len == 64);
}

static void dane_add_name(struct tlspol_host *out, const char *name)
{
	for (size_t i = 0; i < out->n_names; i++)
		if (strcmp(out->names[i], name) == 0)
			return;
	if (out->n_names < sizeof(out->names) / sizeof(out->names[0]))
		(void)snprintf(out->names[out->n_names++], sizeof(out->names[0]), "%s", name);
}

/* Copy the usable records of a secure TLSA answer; none usable: ENCRYPT. */
static int dane_take(struct tlspol_host *out, const struct dns_answer *a, const char *base,
                     const char *domain, const char *mx_host)
{
	size_t usable = 0;
	for (size_t i = 0; i < a->n; i++)
		usable += dane_usable(&a->rr[i]);
	dane_add_name(out, base);
	dane_add_name(out, mx_host);
	dane_add_name(out, domain);
	(void)snprintf(out->sni, sizeof(out->sni), "%s", base); /* RFC 7672 8.1 */
	if (usable == 0) {
		/* RFC 7672 2.2: TLS is still required, unauthenticated */
		out->req = TLSPOL_ENCRYPT;
		dane_why(out,
		         "DANE: %zu secure TLSA record%s at %s, none usable (only DANE-TA "
		         "and DANE-EE are): TLS required, unauthenticated",
		         a->n, a->n == 1 ? "" : "s", a->name);
		return 0;
	}
	out->tlsa = calloc(usable, sizeof(*out->tlsa));
	if (!out->tlsa)
		return ERR_NOMEM;
	for (size_t i = 0; i < a->n; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (!dane_usable(rr))
			continue;
		struct tlspol_tlsa *t = &out->tlsa[out->n_tlsa];
		t->data = malloc(rr->u.tlsa.len);
		if (!t->data)
			return ERR_NOMEM;
		memcpy(t->data, rr->u.tlsa.data, rr->u.tlsa.len);
		t->len = rr->u.tlsa.len;
		t->usage = rr->u.tlsa.usage;
		t->selector = rr->u.tlsa.selector;
		t->mtype = rr->u.tlsa.mtype;
		out->n_tlsa++;
	}
	out->req = TLSPOL_DANE;
	dane_why(out, "DANE: %zu usable secure TLSA record%s at %s", usable, usable == 1 ? "" : "s",
	         a->name);
	return 0;
}

/* The host's address answer: A, or AAAA when A has no data. Its security decides whether
 * DANE may apply; its canonical name is the first TLSA base domain to try. */
static int dane_addr(struct dns_resolver *r, const char *host, struct dns_answer **out)
{
	int rc = dns_query_wait(r, DNS_TYPE_A, host, out);
	if (rc < 0 || (*out)->status != DNS_STATUS_NODATA)
		return rc;
	dns_answer_free(out);
	return dns_query_wait(r, DNS_TYPE_AAAA, host, out);
}

/* One TLSA query at _PORT._tcp.BASE. 0 with *a_out, or the error. */
static int dane_tlsa(struct dns_resolver *r, unsigned port, const char *base,
                     struct dns_answer **a_out)
{
	char name[LIMIT_DNS_NAME + 16];
	int n = snprintf(name, sizeof(name), "_%u._tcp.%s", port, base);
	if (n < 0 || (size_t)n >= sizeof(name) || (size_t)n > LIMIT_DNS_NAME)
		return ERR_INVAL;
	return dns_query_wait(r, DNS_TYPE_TLSA, name, a_out);
}

/* Decide from one TLSA answer: 1 decided (DANE, ENCRYPT or DEFER), 0 no records here. */
static int dane_judge(struct tlspol_host *out, const struct dns_answer *t, const char *base,
                      const char *domain, const char *mx_host)
{
	if (t->sec == DNS_SEC_BOGUS || t->status == DNS_STATUS_TEMPFAIL ||
	    t->status == DNS_STATUS_MALFORMED) {
		/* RFC 7672 2.2: a failed TLSA lookup defers; never plain text */
		out->req = TLSPOL_DEFER;
		dane_why(out, "DANE: TLSA lookup of %s failed (%s, %s%s%s): deferred", t->name,
		         dns_status_name(t->status), dns_sec_name(t->sec), t->why[0] ? ": " : "",
		         t->why);
		return 1;
	}
	if (t->status != DNS_STATUS_OK)
		return 0;
	if (t->sec != DNS_SEC_SECURE)
		return 0; /* insecure TLSA records are not used (RFC 7672 2.2) */
	int rc = dane_take(out, t, base, domain, mx_host);
	return rc < 0 ? rc : 1;
}

int dane_host(struct dns_resolver *r, const char *domain, const char *mx_host, unsigned port,
              struct tlspol_host *out, bool *applies_out)
{
	*applies_out = false;
	struct dns_answer *addr = NULL, *t = NULL;
	int rc = dane_addr(r, mx_host, &addr);
	if (rc == ERR_NOMEM)
		return rc;
	if (rc < 0) {
		/* the resolver would not even ask: nothing known, so nothing in clear */
		*applies_out = true;
		out->req = TLSPOL_DEFER;
		dane_why(out, "DANE: address lookup of %s could not be made: deferred", mx_host);
		return 0;
	}
	if (addr->sec == DNS_SEC_BOGUS || addr->status == DNS_STATUS_TEMPFAIL) {
		*applies_out = true;
		out->req = TLSPOL_DEFER;
		dane_why(out, "DANE: address lookup of %s failed (%s, %s): deferred", mx_host,
		         dns_status_name(addr->status), dns_sec_name(addr->sec));
		goto done;
	}
	if (addr->sec != DNS_SEC_SECURE) {
		dane_why(out, "no DANE: the address records of %s are %s", mx_host,
		         dns_sec_name(addr->sec));
		goto done;
	}
	/* a secure CNAME chain: the expanded name first (RFC 7672 2.2.2) */
	const char *bases[2] = {addr->canonical[0] ? addr->canonical : mx_host, mx_host};
	size_t nb = addr->canonical[0] && strcmp(addr->canonical, mx_host) != 0 ? 2 : 1;
	for (size_t i = 0; i < nb && !*applies_out; i++) {
		rc = dane_tlsa(r, port, bases[i], &t);
		if (rc == ERR_NOMEM)
			goto done;
		if (rc == ERR_INVAL) {
			/* _PORT._tcp.BASE is longer than a name may be: no TLSA can exist */
			dane_why(out, "no DANE: _%u._tcp.%s is too long a name", port, bases[i]);
			rc = 0;
			continue;
		}
		if (rc < 0) {
			*applies_out = true;
			out->req = TLSPOL_DEFER;
			dane_why(out, "DANE: TLSA lookup for %s could not be made: deferred",
			         bases[i]);
			rc = 0;
			goto done;
		}
		int j = dane_judge(out, t, bases[i], domain, mx_host);
		if (j < 0)
			rc = j;
		*applies_out = j != 0;
		if (!*applies_out)
			dane_why(out, "no DANE: TLSA at %s: %s (%s)", t->name,
			         dns_status_name(t->status), dns_sec_name(t->sec));
		dns_answer_free(&t);
		if (rc < 0)
			goto done;
	}
done:
	dns_answer_free(&addr);
	return rc;
}
