/* tlspol.c: the decisions of tlspol.h. The MTA-STS side (RFC 8461 3.3, 5.1): the TXT
 * record says which policy id is current; the cache answers while its id is current, it
 * has not expired and it is younger than a day (3.3: refresh proactively, about daily);
 * otherwise a fetch, whose failure falls back to the cached policy only while it has
 * not expired. The host side: DANE (dane.c) first, when the MX answer was secure; then
 * the domain's policy. Owns the context: the cache connection and one policy-sized
 * buffer. Bounds: LIMIT_TLSPOL_POLICY, LIMIT_TLSPOL_REFRESH. */
#include "outbound/tlspol_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/dns.h"
#include "core/banned.h"

struct tlspol_ctx {
	struct dns_resolver *r;
	struct tlspol_options opts;
	char *ca_file;              /* opts.ca_file's copy */
	struct mtasts_cache *cache; /* NULL: no cache */
	uint8_t *body;              /* LIMIT_TLSPOL_POLICY: the fetched policy */
};

void tlspol_options_from_conf(struct tlspol_options *out, char *path_buf)
{
	const struct conf *cf = conf_get();
	memset(out, 0, sizeof(*out));
	int n = snprintf(path_buf, LIMIT_TLSPOL_PATH, "%s/queue/mta-sts.db", cf->data);
	out->cache_path = n > 0 && n < LIMIT_TLSPOL_PATH ? path_buf : NULL;
	out->ca_file = cf->outbound_mta_sts_ca_file;
	out->https_port = cf->outbound_mta_sts_port ? cf->outbound_mta_sts_port : 443;
	out->timeout = LIMIT_TLSPOL_IO_TIME;
}

int tlspol_ctx_new(struct dns_resolver *r, const struct tlspol_options *opts,
                   struct tlspol_ctx **out)
{
	*out = NULL;
	struct tlspol_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->r = r;
	c->opts = *opts;
	c->body = malloc(LIMIT_TLSPOL_POLICY);
	c->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
	c->opts.ca_file = c->ca_file;
	c->opts.cache_path = NULL; /* used only here: the caller's buffer may go */
	if (!c->body || (opts->ca_file && !c->ca_file)) {
		tlspol_ctx_free(&c);
		return ERR_NOMEM;
	}
	if (opts->cache_path) {
		int rc = mtasts_cache_open(opts->cache_path, &c->cache);
		if (rc < 0) {
			tlspol_ctx_free(&c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

void tlspol_ctx_free(struct tlspol_ctx **cp)
{
	struct tlspol_ctx *c = *cp;
	if (!c)
		return;
	mtasts_cache_close(&c->cache);
	free(c->body);
	free(c->ca_file);
	free(c);
	*cp = NULL;
}

static void pol_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pol_why(char *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(why, LIMIT_TLSPOL_WHY, fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
}

/* What the _mta-sts TXT lookup said. */
enum txt_state { TXT_FOUND, TXT_NONE, TXT_FAILED };

/* RFC 8461 3.1: exactly one record starting "v=STSv1" that parses, else no policy. */
static enum txt_state pol_txt(struct tlspol_ctx *c, const char *domain, char *id, char *detail)
{
	char name[LIMIT_DNS_NAME + 16];
	int n = snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if (n < 0 || (size_t)n > LIMIT_DNS_NAME) {
		pol_why(detail, "_mta-sts.%s is too long a name", domain);
		return TXT_NONE;
	}
	struct dns_answer *a = NULL;
	if (dns_query_wait(c->r, DNS_TYPE_TXT, name, &a) < 0) {
		pol_why(detail, "TXT lookup of %s failed", name);
		return TXT_FAILED;
	}
	enum txt_state st = TXT_NONE;
	if (a->status == DNS_STATUS_TEMPFAIL) {
		pol_why(detail, "TXT lookup of %s failed (%s)", name, a->why);
		st = TXT_FAILED;
	} else if (a->status != DNS_STATUS_OK) {
		pol_why(detail, "no TXT record at %s (%s)", name, dns_status_name(a->status));
	} else {
		size_t found = 0;
		bool bad = false;
		for (size_t i = 0; i < a->n; i++) {
			int rc = tlspol_parse_txt(a->rr[i].u.txt.text, a->rr[i].u.txt.len, id);
			found += rc != 0;
			bad |= rc < 0;
		}
		if (found == 1 && !bad)
			st = TXT_FOUND;
		else
			pol_why(detail, "%s: %zu STSv1 records%s", name, found,
			        bad ? ", not valid" : " (one is needed)");
	}
	dns_answer_free(&a);
	return st;
}

/* Fetch and parse; on success cache it and fill out. 0, or <0 with detail. */
static int pol_fetch(struct tlspol_ctx *c, const char *domain, const char *id, int64_t now,
                     struct tlspol_domain *out, char *detail)
{
	size_t len = 0;
	char why[LIMIT_TLSPOL_WHY] = "";
	int rc = mtasts_fetch_policy(c->r, &c->opts, domain, c->body, &len, why, sizeof(why));
	if (rc == 0 && (rc = tlspol_parse_policy(c->body, len, &out->sts)) < 0)
		(void)snprintf(why, sizeof(why), "the policy does not parse");
	if (rc < 0) {
		pol_why(detail, "policy fetch from mta-sts.%s failed: %s", domain, why);
		memset(&out->sts, 0, sizeof(out->sts));
		return rc;
	}
	(void)snprintf(out->id, sizeof(out->id), "%s", id);
	out->fetched_at = now;
	out->expires = now + out->sts.max_age;
	out->source = TLSPOL_SRC_FETCHED;
	if (c->cache)
		(void)mtasts_cache_put(c->cache, domain, c->body, len, id, now, out->expires);
	/* a cache write that failed is logged there; the policy applies regardless */
	return 0;
}

static void pol_describe(struct tlspol_domain *out, const char *detail)
{
	if (out->sts.mode == TLSPOL_STS_ABSENT) {
		pol_why(out->why, "no MTA-STS policy: %s", detail);
		return;
	}
	pol_why(out->why, "MTA-STS %s (id %s, %s, %zu mx, expires in %llds)%s%s",
	        tlspol_sts_mode_name(out->sts.mode), out->id, tlspol_sts_source_name(out->source),
	        out->sts.n_mx, (long long)(out->expires - (int64_t)time(NULL)),
	        detail[0] ? ": " : "", detail);
}

int tlspol_domain(struct tlspol_ctx *c, const char *domain, struct tlspol_domain *out)
{
	memset(out, 0, sizeof(*out));
	if (dns_name_norm(domain, strlen(domain), out->domain) < 0) {
		pol_why(out->why, "not a domain name");
		return ERR_INVAL;
	}
	int64_t now = (int64_t)time(NULL);
	struct tlspol_domain cached = {0};
	bool have = c->cache && mtasts_cache_get(c->cache, out->domain, &cached) == 1;
	bool valid = have && cached.expires > now; /* RFC 8461 3.3: "non-expired" */
	char id[LIMIT_TLSPOL_ID + 1] = "";
	char detail[LIMIT_TLSPOL_WHY] = "";
	enum txt_state st = pol_txt(c, out->domain, id, detail);
	if (st == TXT_FOUND) {
		if (valid && strcmp(cached.id, id) == 0 &&
		    now - cached.fetched_at < LIMIT_TLSPOL_REFRESH) {
			out->sts = cached.sts;
			(void)snprintf(out->id, sizeof(out->id), "%s", cached.id);
			out->fetched_at = cached.fetched_at;
			out->expires = cached.expires;
			out->source = TLSPOL_SRC_CACHE;
			pol_describe(out, "");
			return 0;
		}
		if (pol_fetch(c, out->domain, id, now, out, detail) == 0) {
			pol_describe(out, "");
			return 0;
		}
	}
	if (valid) {
		/* RFC 8461 3.3: no live policy, a non-expired cached one: it applies */
		out->sts = cached.sts;
		(void)snprintf(out->id, sizeof(out->id), "%s", cached.id);
		out->fetched_at = cached.fetched_at;
		out->expires = cached.expires;
		out->source = TLSPOL_SRC_CACHE_STALE;
	} else if (have && st != TXT_FAILED) {
		/* expired and no longer refreshable: forget it */
		(void)mtasts_cache_delete(c->cache, out->domain);
	}
	pol_describe(out, detail);
	return 0;
}

bool tlspol_mx_allowed(const struct tlspol_domain *pol, const char *mx_host)
{
	if (!pol || pol->sts.mode != TLSPOL_STS_ENFORCE)
		return true;
	for (size_t i = 0; i < pol->sts.n_mx; i++)
		if (tlspol_mx_match(pol->sts.mx[i], mx_host))
			return true;
	return false;
}

int tlspol_host(struct tlspol_ctx *c, const struct tlspol_domain *dom, const char *mx_host,
                bool mx_secure, unsigned port, struct tlspol_host *out)
{
	memset(out, 0, sizeof(*out));
	char host[LIMIT_DNS_NAME + 1];
	if (dns_name_norm(mx_host, strlen(mx_host), host) < 0 || port == 0 || port > 65535)
		return ERR_INVAL;
	const char *domain = dom && dom->domain[0] ? dom->domain : host;
	char dane[LIMIT_TLSPOL_WHY] = "no DANE: the MX answer is not DNSSEC-secure";
	if (mx_secure) {
		bool applies = false;
		int rc = dane_host(c->r, domain, host, port, out, &applies);
		if (rc < 0) {
			tlspol_host_clear(out);
			return rc;
		}
		if (applies)
			goto done; /* RFC 8461 2: DANE wins over MTA-STS */
		memcpy(dane, out->why, sizeof(dane));
		tlspol_host_clear(out);
	}
	enum tlspol_sts_mode mode = dom ? dom->sts.mode : TLSPOL_STS_ABSENT;
	if (mode == TLSPOL_STS_ENFORCE || mode == TLSPOL_STS_TESTING) {
		/* RFC 8461 4.2: the certificate must be valid for the MX host name */
		out->n_names = 1;
		memcpy(out->names[0], host, sizeof(host));
		memcpy(out->sni, host, sizeof(host));
	}
	if (mode == TLSPOL_STS_ENFORCE) {
		out->req = TLSPOL_PKIX;
		pol_why(out->why, "MTA-STS enforce (id %s): verified TLS for %s; %s", dom->id, host,
		        dane);
	} else if (mode == TLSPOL_STS_TESTING) {
		out->req = TLSPOL_OPPORTUNISTIC;
		out->sts_testing = true;
		pol_why(out->why,
		        "MTA-STS testing (id %s): opportunistic, failures only logged; %s", dom->id,
		        dane);
	} else {
		out->req = TLSPOL_OPPORTUNISTIC;
		pol_why(out->why, "opportunistic: %s; %s",
		        mode == TLSPOL_STS_NONE ? "MTA-STS mode none" : "no MTA-STS policy", dane);
	}
done:
	log_info("tls policy domain=%s mx=%s port=%u req=%s why=\"%s\"", domain, host, port,
	         tlspol_req_name(out->req), out->why);
	return 0;
}

void tlspol_host_clear(struct tlspol_host *h)
{
	for (size_t i = 0; i < h->n_tlsa; i++)
		free(h->tlsa[i].data);
	free(h->tlsa);
	h->tlsa = NULL;
	h->n_tlsa = 0;
}

const char *tlspol_req_name(enum tlspol_req r)
{
	switch (r) {
	case TLSPOL_OPPORTUNISTIC:
		return "opportunistic";
	case TLSPOL_ENCRYPT:
		return "encrypt";
	case TLSPOL_PKIX:
		return "pkix";
	case TLSPOL_DANE:
		return "dane";
	case TLSPOL_DEFER:
		return "defer";
	}
	return "?";
}

const char *tlspol_sts_mode_name(enum tlspol_sts_mode m)
{
	switch (m) {
	case TLSPOL_STS_ABSENT:
		return "absent";
	case TLSPOL_STS_NONE:
		return "none";
	case TLSPOL_STS_TESTING:
		return "testing";
	case TLSPOL_STS_ENFORCE:
		return "enforce";
	}
	return "?";
}

const char *tlspol_sts_source_name(enum tlspol_sts_source s)
{
	switch (s) {
	case TLSPOL_SRC_NONE:
		return "none";
	case TLSPOL_SRC_FETCHED:
		return "fetched";
	case TLSPOL_SRC_CACHE:
		return "cached";
	case TLSPOL_SRC_CACHE_STALE:
		return "cached, refresh failed";
	}
	return "?";
}
