/* dns_records.c: the records a domain publishes (dns_records.h). The policy texts are
 * fixed here and documented in docs/operations.md:
 * - SPF "v=spf1 mx -all": the MX hosts send the domain's mail, nothing else does (-all:
 *   RFC 7208 8.4 fail), so a receiver can reject forgeries.
 * - DMARC "v=DMARC1; p=quarantine; rua=mailto:postmaster@DOMAIN": unaligned mail goes to
 *   spam rather than being refused outright while a new setup settles (RFC 7489 6.3);
 *   aggregate reports go to the domain's own postmaster, which needs no authorization
 *   record (RFC 7489 7.1).
 * - SRV (RFC 6186) for every client service of conf_services(), with the listener's
 *   port and weight 1; priorities 0, 10, 20, 30 for imaps, imap, pop3s, pop3 and 0, 10
 *   for submissions, submission: implicit TLS before STARTTLS (RFC 8314 5.1) and IMAP
 *   before POP3 (RFC 6186 3.4: a client offered both goes by the priorities across
 *   them). A service that is off is published as "0 0 0 ." (RFC 6186 4), so a client
 *   does not guess at it. _autodiscover._tcp points Outlook at the https listener.
 * - CNAMEs autoconfig.DOMAIN and autodiscover.DOMAIN to the host: the names
 *   Thunderbird and Outlook try first.
 * Bound: the caller's array. */
#include "outbound/dns_records.h"

#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "core/conf_services.h"
#include "core/err.h"
#include "outbound/dkim.h"
#include "core/banned.h"

static struct dns_record *records_add(struct dns_record *out, size_t cap, size_t *n,
                                      enum dns_record_role role, const char *prefix,
                                      const char *domain)
{
	if (*n == cap)
		return NULL;
	struct dns_record *r = &out[*n];
	memset(r, 0, sizeof(*r));
	int len = snprintf(r->name, sizeof(r->name), "%s%s", prefix, domain);
	if (len < 0 || (size_t)len >= sizeof(r->name))
		return NULL;
	r->role = role;
	(*n)++;
	return r;
}

static int records_value(struct dns_record *r, const char *prefix, const char *arg)
{
	int n = snprintf(r->value, sizeof(r->value), "%s%s", prefix, arg);
	return n < 0 || (size_t)n >= sizeof(r->value) ? ERR_FULL : 0;
}

/* The fixed records: MX, SPF, DMARC. */
static int records_policy(const char *dom, const char *host, struct dns_record *out, size_t cap,
                          size_t *n)
{
	struct dns_record *r = records_add(out, cap, n, DNS_RECORD_MX, "", dom);
	if (!r || records_value(r, "10 ", host) < 0)
		return ERR_FULL;
	r = records_add(out, cap, n, DNS_RECORD_SPF, "", dom);
	if (!r || records_value(r, "v=spf1 mx -all", "") < 0)
		return ERR_FULL;
	r = records_add(out, cap, n, DNS_RECORD_DMARC, "_dmarc.", dom);
	if (!r || records_value(r, "v=DMARC1; p=quarantine; rua=mailto:postmaster@", dom) < 0)
		return ERR_FULL;
	return 0;
}

static int records_srv(struct dns_record *out, size_t cap, size_t *n, const char *dom,
		       const char *service, unsigned priority, unsigned port, const char *host)
{
	char prefix[64];
	int len = snprintf(prefix, sizeof(prefix), "_%s._tcp.", service);
	struct dns_record *r = len > 0 && (size_t)len < sizeof(prefix)
				       ? records_add(out, cap, n, DNS_RECORD_SRV, prefix, dom)
				       : NULL;
	if (!r)
		return ERR_FULL;
	len = port ? snprintf(r->value, sizeof(r->value), "%u 1 %u %s", priority, port, host)
		   : snprintf(r->value, sizeof(r->value), "0 0 0 .");
	return len < 0 || (size_t)len >= sizeof(r->value) ? ERR_FULL : 0;
}

/* The client-setup records (see the top of the file). */
static int records_clients(const char *dom, const char *host, struct dns_record *out,
			   size_t cap, size_t *n)
{
	const struct conf *c = conf_get();
	struct conf_service svc[CONF_SERVICES];
	conf_services(c, svc);
	static const unsigned priority[CONF_SERVICES] = {0, 10, 20, 30, 0, 10};
	int rc = 0;
	for (size_t i = 0; i < CONF_SERVICES && rc == 0; i++)
		rc = records_srv(out, cap, n, dom, svc[i].name, priority[i], svc[i].port, host);
	if (rc == 0)
		rc = records_srv(out, cap, n, dom, "autodiscover", 0, conf_listen_port(c->https),
				 host);
	const char *const names[] = {"autoconfig.", "autodiscover."};
	for (size_t i = 0; i < 2 && rc == 0; i++) {
		struct dns_record *r = records_add(out, cap, n, DNS_RECORD_CNAME, names[i], dom);
		rc = r ? records_value(r, host, "") : ERR_FULL;
	}
	return rc;
}

int dns_records_expected(const char *domain, struct dns_record *out, size_t cap)
{
	const struct conf *c = conf_get();
	char dom[LIMIT_ADDR_DOMAIN + 1], host[LIMIT_ADDR_DOMAIN + 1];
	if (dkim_domain_norm(domain, dom, sizeof(dom)) < 0 ||
	    dkim_domain_norm(c->hostname, host, sizeof(host)) < 0)
		return ERR_INVAL;
	struct dkim_key *keys = NULL;
	size_t nkeys = 0, n = 0;
	int rc = dkim_keys_load(c->data, dom, &keys, &nkeys, NULL, 0);
	if (rc < 0)
		return rc == ERR_INVAL ? ERR_INVAL : ERR_IO;
	rc = records_policy(dom, host, out, cap, &n);
	for (size_t i = 0; i < nkeys && rc == 0; i++) {
		char prefix[LIMIT_DKIM_SELECTOR + 16];
		int len = snprintf(prefix, sizeof(prefix), "%s._domainkey.", keys[i].selector);
		struct dns_record *r = len > 0 && (size_t)len < sizeof(prefix)
		                           ? records_add(out, cap, &n, DNS_RECORD_DKIM, prefix, dom)
		                           : NULL;
		rc = r ? dkim_key_record(&keys[i], r->value, sizeof(r->value)) : ERR_FULL;
	}
	dkim_keys_free(&keys, nkeys);
	if (rc == 0)
		rc = records_clients(dom, host, out, cap, &n);
	/* the MX host's addresses: kasten cannot know which ones the world reaches it on;
	 * "" asks the check for any address */
	if (rc == 0 && !records_add(out, cap, &n, DNS_RECORD_HOST_A, "", host))
		rc = ERR_FULL;
	if (rc == 0 && !records_add(out, cap, &n, DNS_RECORD_HOST_AAAA, "", host))
		rc = ERR_FULL;
	return rc < 0 ? rc : (int)n;
}
