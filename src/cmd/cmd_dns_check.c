/* cmd_dns_check.c: `kasten dns check DOMAIN`: looks up every record `kasten dns DOMAIN`
 * says to publish (outbound/dns_records.h, one list for both) through kasten's resolver
 * and prints one line per record:
 *   VERDICT ROLE NAME: "WANTED"[, found "FOUND"] (SEC)[: WHY]
 * VERDICT: ok, missing (no such record: NXDOMAIN or no data), different (a record of
 * that kind is there with other contents), failed (no answer: a temporary failure,
 * bogus DNSSEC, a malformed answer). How records compare:
 *   MX: ok when the wanted host is one of the MX hosts (preferences are the admin's).
 *   SPF, DMARC: the TXT records starting "v=spf1" / "v=DMARC1" (RFC 7208 4.5, RFC 7489
 *     6.6.3); ok when exactly one is there and it equals the wanted text (SPF with runs
 *     of spaces as one, DMARC and DKIM tag-lists without their white space, RFC 6376
 *     3.2); two SPF records are "different" (RFC 7208 4.5: permerror).
 *   DKIM: any TXT at the selector's name.
 *   A, AAAA of the host: a wanted address must be there; "" wants any address, and then
 *     the host needs an address of one family only (a host without IPv6 is fine).
 *   SRV: ok when a record has the wanted target and port (priority and weight are the
 *     admin's, like MX preferences); a service that is off wants exactly the one record
 *     "0 0 0 ." (RFC 6186 4).
 *   CNAME: ok when the name is an alias of the wanted host (an A record there instead
 *     is "missing": clients are told to use the host's name, which its certificate
 *     carries).
 * Exit 0 when every record is ok, 1 otherwise, 2 on a usage error. */
#include "cmd.h"
#include "cmd_dns_int.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/err.h"
#include "outbound/dns.h"
#include "outbound/dns_records.h"
#include "core/banned.h"

const char cmd_dns_check_usage[] =
	"usage: kasten dns check DOMAIN [--config FILE | --data DIR]\n"
	"  Look up every record `kasten dns DOMAIN` says to publish (MX, SPF, DMARC, DKIM,\n"
	"  the client-setup SRV and CNAME records, the MX host's A/AAAA) through kasten's\n"
	"  resolver ([dns] in the config) and print per record: ok, missing, different\n"
	"  (with what was found) or failed, and its DNSSEC status. Exit 0 when all are ok,\n"
	"  1 otherwise.\n";

enum check_verdict { CHECK_OK, CHECK_MISSING, CHECK_DIFFERENT, CHECK_FAILED };

static const char *const check_verdicts[] = {"ok", "missing", "different", "failed"};
static const char *const check_roles[] = {"mx", "spf", "dmarc", "dkim", "a", "aaaa",
					  "srv", "cname"};

/* Normal form for comparing: tag-lists (DMARC, DKIM) lose all white space, SPF keeps
 * one space between terms; both compare case-sensitively after that except the
 * version tag, which the receiver matches case-insensitively anyway. */
static void check_norm(const char *in, size_t len, bool taglist, char *out, size_t cap)
{
	size_t o = 0;
	bool space = false;
	for (size_t i = 0; i < len && o + 2 < cap; i++) {
		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n') {
			space = o > 0;
			continue;
		}
		if (space && !taglist)
			out[o++] = ' ';
		space = false;
		out[o++] = in[i];
	}
	out[o] = '\0';
}

static bool check_prefix(const char *text, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);
	return len >= pl && !strncasecmp(text, prefix, pl) &&
	       (len == pl || text[pl] == ' ' || text[pl] == ';');
}

struct check_result {
	enum check_verdict verdict;
	const char *found;  /* text of a different record, or NULL */
	size_t found_len;
	char found_buf[LIMIT_DNS_NAME + 64];
};

static void check_txt(const struct dns_record *want, const struct dns_answer *a,
		      struct check_result *res)
{
	const char *prefix = want->role == DNS_RECORD_SPF     ? "v=spf1"
			     : want->role == DNS_RECORD_DMARC ? "v=DMARC1"
							      : NULL;
	bool taglist = want->role != DNS_RECORD_SPF;
	char wn[LIMIT_DNS_TXT + 1], fn[LIMIT_DNS_TXT + 1];
	check_norm(want->value, strlen(want->value), taglist, wn, sizeof(wn));
	size_t candidates = 0;
	bool equal = false;
	for (size_t i = 0; i < a->n; i++) {
		const char *t = a->rr[i].u.txt.text;
		size_t tl = a->rr[i].u.txt.len;
		if (prefix && !check_prefix(t, tl, prefix))
			continue;
		candidates++;
		check_norm(t, tl, taglist, fn, sizeof(fn));
		if (!strcmp(wn, fn))
			equal = true;
		else if (!res->found) {
			res->found = t;
			res->found_len = tl;
		}
	}
	if (candidates == 0)
		res->verdict = CHECK_MISSING;
	else if (equal && (candidates == 1 || want->role == DNS_RECORD_DKIM))
		res->verdict = CHECK_OK;
	else
		res->verdict = CHECK_DIFFERENT;
	/* RFC 7208 4.5 and RFC 7489 6.6.3: with two, a receiver uses neither */
	if (candidates > 1 && want->role != DNS_RECORD_DKIM) {
		snprintf(res->found_buf, sizeof(res->found_buf), "%zu %s records (RFC %s)",
			 candidates, check_roles[want->role],
			 want->role == DNS_RECORD_SPF ? "7208 4.5" : "7489 6.6.3");
		res->found = res->found_buf;
		res->found_len = strlen(res->found_buf);
	}
}

static void check_mx(const struct dns_record *want, const struct dns_answer *a,
		     struct check_result *res)
{
	const char *sp = strchr(want->value, ' ');
	char host[LIMIT_DNS_NAME + 1];
	const char *h = sp ? sp + 1 : want->value;
	if (dns_name_norm(h, strlen(h), host) < 0)
		host[0] = '\0';
	if (a->implicit_mx || a->n == 0) {
		res->verdict = a->null_mx ? CHECK_DIFFERENT : CHECK_MISSING;
		if (a->null_mx)
			res->found = "null MX \"0 .\"";
		res->found_len = res->found ? strlen(res->found) : 0;
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (!strcmp(a->rr[i].u.mx.host, host)) {
			res->verdict = CHECK_OK;
			return;
		}
	}
	res->verdict = CHECK_DIFFERENT;
	int n = snprintf(res->found_buf, sizeof(res->found_buf), "%u %s%s", a->rr[0].u.mx.pref,
			 a->rr[0].u.mx.host, a->n > 1 ? " ..." : "");
	res->found = res->found_buf;
	res->found_len = n < 0 ? 0 : strlen(res->found_buf);
}

static void check_addr(const struct dns_record *want, const struct dns_answer *a,
		       struct check_result *res)
{
	if (a->n == 0) {
		res->verdict = CHECK_MISSING;
		return;
	}
	if (!want->value[0]) {
		res->verdict = CHECK_OK;
		return;
	}
	uint8_t bin[16];
	int fam = want->role == DNS_RECORD_HOST_A ? AF_INET : AF_INET6;
	size_t blen = fam == AF_INET ? 4 : 16;
	if (inet_pton(fam, want->value, bin) == 1)
		for (size_t i = 0; i < a->n; i++)
			if (!memcmp(a->rr[i].u.addr.addr, bin, blen)) {
				res->verdict = CHECK_OK;
				return;
			}
	res->verdict = CHECK_DIFFERENT;
	if (!inet_ntop(fam, a->rr[0].u.addr.addr, res->found_buf, sizeof(res->found_buf)))
		res->found_buf[0] = '\0';
	res->found = res->found_buf;
	res->found_len = strlen(res->found_buf);
}

/* "PRIO WEIGHT PORT TARGET" of a record into found_buf, for a "different" verdict. */
static void check_srv_found(const struct dns_rr *rr, struct check_result *res)
{
	int n = snprintf(res->found_buf, sizeof(res->found_buf), "%u %u %u %s.",
			 rr->u.srv.priority, rr->u.srv.weight, rr->u.srv.port,
			 rr->u.srv.target);
	res->found = res->found_buf;
	res->found_len = n < 0 ? 0 : strlen(res->found_buf);
}

static void check_srv(const struct dns_record *want, const struct dns_answer *a,
		      struct check_result *res)
{
	unsigned prio, weight, port;
	char target[LIMIT_DNS_NAME + 2], host[LIMIT_DNS_NAME + 1];
	res->verdict = CHECK_DIFFERENT;
	if (a->n == 0) {
		res->verdict = CHECK_MISSING;
		return;
	}
	check_srv_found(&a->rr[0], res);
	if (sscanf(want->value, "%u %u %u %254s", &prio, &weight, &port, target) != 4)
		return;
	if (!strcmp(target, ".")) {
		if (a->n == 1 && a->rr[0].u.srv.target[0] == '\0')
			res->verdict = CHECK_OK;
		return;
	}
	if (dns_name_norm(target, strlen(target), host) < 0)
		return;
	for (size_t i = 0; i < a->n; i++) {
		if (a->rr[i].u.srv.port == port && !strcmp(a->rr[i].u.srv.target, host)) {
			res->verdict = CHECK_OK;
			res->found = NULL;
			return;
		}
	}
}

static void check_cname(const struct dns_record *want, const struct dns_answer *a,
			struct check_result *res)
{
	char host[LIMIT_DNS_NAME + 1];
	if (a->n == 0) {
		res->verdict = CHECK_MISSING;
		return;
	}
	if (dns_name_norm(want->value, strlen(want->value), host) == 0 &&
	    !strcmp(a->rr[0].u.ptr.host, host)) {
		res->verdict = CHECK_OK;
		return;
	}
	res->verdict = CHECK_DIFFERENT;
	int n = snprintf(res->found_buf, sizeof(res->found_buf), "%s", a->rr[0].u.ptr.host);
	res->found = res->found_buf;
	res->found_len = n < 0 ? 0 : strlen(res->found_buf);
}

static const enum dns_type check_types[] = {DNS_TYPE_MX,   DNS_TYPE_TXT,  DNS_TYPE_TXT,
					    DNS_TYPE_TXT,  DNS_TYPE_A,    DNS_TYPE_AAAA,
					    DNS_TYPE_SRV,  DNS_TYPE_CNAME};

static void check_one(const struct dns_record *want, const struct dns_answer *a,
		      struct check_result *res)
{
	if (a->status == DNS_STATUS_NXDOMAIN || a->status == DNS_STATUS_NODATA) {
		res->verdict = CHECK_MISSING;
		return;
	}
	if (a->status != DNS_STATUS_OK) {
		res->verdict = CHECK_FAILED;
		return;
	}
	switch (want->role) {
	case DNS_RECORD_MX: check_mx(want, a, res); break;
	case DNS_RECORD_SPF:
	case DNS_RECORD_DMARC:
	case DNS_RECORD_DKIM: check_txt(want, a, res); break;
	case DNS_RECORD_HOST_A:
	case DNS_RECORD_HOST_AAAA: check_addr(want, a, res); break;
	case DNS_RECORD_SRV: check_srv(want, a, res); break;
	case DNS_RECORD_CNAME: check_cname(want, a, res); break;
	}
}

static void check_print(const struct dns_record *want, const struct dns_answer *a,
			const struct check_result *res)
{
	fprintf(stdout, "%s %s %s: ", check_verdicts[res->verdict], check_roles[want->role],
		want->name);
	if (want->value[0])
		cmd_dns_print_text(stdout, want->value, strlen(want->value));
	else
		fputs("any address", stdout);
	if (res->found) {
		fputs(", found ", stdout);
		cmd_dns_print_text(stdout, res->found, res->found_len);
	}
	fprintf(stdout, " (%s)", dns_sec_name(a->sec));
	if (res->verdict == CHECK_FAILED && a->why[0])
		fprintf(stdout, ": %s", a->why);
	else if (res->verdict == CHECK_FAILED)
		fprintf(stdout, ": %s", dns_status_name(a->status));
	putc('\n', stdout);
}

/* Look up and print every record; returns how many are not ok, or -1. */
static int check_all(struct dns_resolver *r, const struct dns_record *recs, size_t n)
{
	int bad = 0;
	bool host_addr = false, host_addr_missing = false;
	for (size_t i = 0; i < n; i++) {
		struct dns_answer *a = NULL;
		int e = dns_query_wait(r, check_types[recs[i].role], recs[i].name, &a);
		if (e < 0) {
			fprintf(stderr, "kasten dns check: %s %s: %s\n", check_roles[recs[i].role],
				recs[i].name, err_str(e));
			return -1;
		}
		struct check_result res = {.verdict = CHECK_FAILED};
		check_one(&recs[i], a, &res);
		check_print(&recs[i], a, &res);
		bool any_addr = (recs[i].role == DNS_RECORD_HOST_A ||
				 recs[i].role == DNS_RECORD_HOST_AAAA) && !recs[i].value[0];
		if (any_addr && res.verdict == CHECK_OK)
			host_addr = true;
		else if (any_addr && res.verdict == CHECK_MISSING)
			host_addr_missing = true;
		else if (res.verdict != CHECK_OK)
			bad++;
		dns_answer_free(&a);
	}
	/* "any address": one family is enough */
	if (host_addr_missing && !host_addr)
		bad++;
	return bad;
}

int cmd_dns_check(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc != 2 || argv[1][0] == '-') {
		fputs(cmd_dns_check_usage, stderr);
		return 2;
	}
	struct dns_record *recs = calloc(LIMIT_DNS_RECORDS, sizeof(*recs));
	if (!recs) {
		fprintf(stderr, "kasten dns check: out of memory\n");
		return 1;
	}
	int n = dns_records_expected(argv[1], recs, LIMIT_DNS_RECORDS);
	if (n < 0) {
		fprintf(stderr, "kasten dns check: %s: %s\n", argv[1],
			n == ERR_INVAL ? "not a domain name" : err_str(n));
		free(recs);
		return n == ERR_INVAL ? 2 : 1;
	}
	struct event_base *base;
	struct dns_resolver *r;
	int bad = -1;
	if (cmd_dns_resolver(&base, &r) == 0) {
		bad = check_all(r, recs, (size_t)n);
		dns_resolver_free(&r);
		event_base_free(base);
	}
	free(recs);
	if (bad == 0)
		printf("all %d records ok\n", n);
	else if (bad > 0)
		printf("%d of %d records not ok\n", bad, n);
	if (fflush(stdout) != 0)
		return 1;
	return bad == 0 ? 0 : 1;
}
