/* cmd_tls_policy.c: `kasten tls-policy DOMAIN`: what the outbound engine would require
 * of TLS towards each MX host of DOMAIN and why, through the same code (tlspol.h), the
 * same resolver ([dns]) and the same MTA-STS cache (<data>/queue/mta-sts.db) as the
 * server; like Postfix's posttls-finger, without connecting to the MX. Output (stdout):
 *   domain DOMAIN
 *   mta-sts MODE[ id=ID source=SOURCE max_age=N expires_in=Ns]
 *     pattern PATTERN            (each mx of the policy)
 *     why TEXT
 *   mx PREF HOST (SEC): REQUIREMENT | skipped (not in the enforced MTA-STS policy)
 *     tlsa USAGE SELECTOR MTYPE HEX   (DANE: each usable record)
 *     names NAME...              (PKIX/DANE: the names the certificate may carry)
 *     why TEXT
 * Exit 0 when at least one MX may be used now, 1 when none (all skipped or deferred, a
 * null MX, the MX lookup failed), 2 on a usage error. */
#include "cmd.h"
#include "cmd_dns_int.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/str.h"
#include "outbound/dns.h"
#include "outbound/tlspol.h"
#include "core/banned.h"

const char cmd_tls_policy_usage[] =
    "usage: kasten tls-policy DOMAIN [--port N] [--config FILE | --data DIR]\n"
    "  Show the TLS policy the outbound engine applies to each MX host of DOMAIN:\n"
    "  the MTA-STS policy (RFC 8461: fetched, or from the cache the server shares),\n"
    "  DANE (RFC 7672: TLSA records behind DNSSEC) and the resulting requirement\n"
    "  (opportunistic, encrypt, pkix, dane, defer) with the reason. --port: the remote\n"
    "  SMTP port for the TLSA name (default [outbound] remote_port). Exit 0 when an MX\n"
    "  may be used now, 1 otherwise.\n";

static void print_domain(const struct tlspol_domain *d)
{
	printf("domain %s\n", d->domain);
	printf("mta-sts %s", tlspol_sts_mode_name(d->sts.mode));
	if (d->sts.mode != TLSPOL_STS_ABSENT)
		printf(" id=%s source=%s max_age=%u expires_in=%llds", d->id,
		       tlspol_sts_source_name(d->source), d->sts.max_age,
		       (long long)(d->expires - (int64_t)time(NULL)));
	putchar('\n');
	for (size_t i = 0; i < d->sts.n_mx; i++)
		printf("  pattern %s\n", d->sts.mx[i]);
	printf("  why %s\n", d->why);
}

static void print_host(const struct tlspol_host *h)
{
	for (size_t i = 0; i < h->n_tlsa; i++) {
		printf("  tlsa %u %u %u ", h->tlsa[i].usage, h->tlsa[i].selector, h->tlsa[i].mtype);
		for (size_t k = 0; k < h->tlsa[i].len; k++)
			printf("%02X", h->tlsa[i].data[k]);
		putchar('\n');
	}
	if (h->n_names) {
		printf("  names");
		for (size_t i = 0; i < h->n_names; i++)
			printf(" %s", h->names[i]);
		putchar('\n');
	}
	printf("  why %s\n", h->why);
}

/* One MX host: 1 usable now, 0 not, <0 error. */
static int one_mx(struct tlspol_ctx *ctx, const struct tlspol_domain *dom,
                  const struct dns_answer *mx, const char *host, unsigned pref, unsigned port)
{
	printf("mx %u %s (%s): ", pref, host, dns_sec_name(mx->sec));
	if (!tlspol_mx_allowed(dom, host)) {
		printf("skipped (not in the enforced MTA-STS policy)\n");
		return 0;
	}
	struct tlspol_host h;
	int rc = tlspol_host(ctx, dom, host, mx->sec == DNS_SEC_SECURE, port, &h);
	if (rc < 0) {
		printf("error: %s\n", err_str(rc));
		return rc;
	}
	printf("%s%s\n", tlspol_req_name(h.req), h.sts_testing ? " (MTA-STS testing)" : "");
	print_host(&h);
	bool usable = h.req != TLSPOL_DEFER;
	tlspol_host_clear(&h);
	return usable;
}

static int run(struct dns_resolver *r, const char *domain, unsigned port)
{
	char path[LIMIT_TLSPOL_PATH];
	struct tlspol_options o;
	tlspol_options_from_conf(&o, path);
	/* the cache lives beside queue.db; a data dir without a queue yet gets the dir */
	char qdir[LIMIT_TLSPOL_PATH];
	int n = snprintf(qdir, sizeof(qdir), "%s/queue", conf_get()->data);
	if (n < 0 || (size_t)n >= sizeof(qdir) || (mkdir(qdir, 0700) < 0 && errno != EEXIST)) {
		fprintf(stderr, "kasten tls-policy: cannot create %s: %s\n", qdir, strerror(errno));
		return 1;
	}
	struct tlspol_ctx *ctx;
	if (tlspol_ctx_new(r, &o, &ctx) < 0) {
		fprintf(stderr, "kasten tls-policy: cannot open the MTA-STS cache %s\n", path);
		return 1;
	}
	struct tlspol_domain dom;
	int rc = tlspol_domain(ctx, domain, &dom);
	if (rc == ERR_INVAL) {
		fprintf(stderr, "kasten tls-policy: '%s' is not a domain name\n", domain);
		tlspol_ctx_free(&ctx);
		return 2;
	}
	print_domain(&dom);
	struct dns_answer *mx = NULL;
	int usable = 0;
	if (dns_query_wait(r, DNS_TYPE_MX, dom.domain, &mx) < 0) {
		printf("mx lookup failed\n");
	} else if (mx->status != DNS_STATUS_OK) {
		printf("mx lookup: %s (%s)%s%s\n", dns_status_name(mx->status),
		       dns_sec_name(mx->sec), mx->why[0] ? ": " : "", mx->why);
	} else if (mx->null_mx) {
		printf("null MX: %s accepts no mail (RFC 7505)\n", dom.domain);
	} else {
		if (mx->implicit_mx)
			printf("no MX records: the domain itself (RFC 5321 5.1)\n");
		for (size_t i = 0; i < mx->n && rc >= 0; i++) {
			rc = one_mx(ctx, &dom, mx, mx->rr[i].u.mx.host, mx->rr[i].u.mx.pref, port);
			usable += rc > 0;
		}
	}
	dns_answer_free(&mx);
	tlspol_ctx_free(&ctx);
	return usable > 0 ? 0 : 1;
}

int cmd_tls_policy(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	unsigned port = conf_get()->outbound_remote_port;
	const char *domain = NULL;
	for (int i = 1; i < argc; i++) {
		uint64_t p;
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc &&
		    str_to_u64(argv[i + 1], strlen(argv[i + 1]), 65535, &p) == 0 && p > 0) {
			port = (unsigned)p;
			i++;
		} else if (argv[i][0] != '-' && !domain) {
			domain = argv[i];
		} else {
			fputs(cmd_tls_policy_usage, stderr);
			return 2;
		}
	}
	if (!domain) {
		fputs(cmd_tls_policy_usage, stderr);
		return 2;
	}
	/* a policy server that closes while we write must give an error, not kill us */
	(void)signal(SIGPIPE, SIG_IGN);
	if (cmd_drop_privileges(false) < 0)
		return 1;
	struct event_base *base;
	struct dns_resolver *r;
	if (cmd_dns_resolver(&base, &r) < 0)
		return 1;
	int rc = run(r, domain, port);
	dns_resolver_free(&r);
	event_base_free(base);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
