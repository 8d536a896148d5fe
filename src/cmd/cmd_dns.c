/* cmd_dns.c: `kasten dns DOMAIN`: every DNS record the domain should publish, in zone-file
 * syntax (RFC 1035 5.1) to paste into the zone: the list of dns_records_expected()
 * (outbound/dns_records.h), which `kasten dns check DOMAIN` compares with what DNS
 * says. `kasten dns check ...` and `kasten dns lookup ...` are handed on to their own
 * files (cmd_dns_check.c, cmd_dns_lookup.c). */
#include "cmd.h"
#include "cmd_dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "outbound/dns_records.h"
#include "core/banned.h"

#define CMD_DNS_TTL 3600
#define CMD_DNS_TXT_STRING 255 /* RFC 1035 3.3: a character-string's length octet */

const char cmd_dns_usage[] =
    "usage: kasten dns DOMAIN [--config FILE | --data DIR]\n"
    "  Print every record DOMAIN should publish, in zone-file syntax: MX (the [server]\n"
    "  hostname), SPF, DMARC, one DKIM TXT per key (kasten dkim keygen), the SRV\n"
    "  records mail clients set themselves up from (RFC 6186; \"0 0 0 .\" for a\n"
    "  service that is off), _autodiscover._tcp, the autoconfig. and autodiscover.\n"
    "  CNAMEs, and the mail host's A/AAAA as comments to fill in.\n"
    "  docs/operations.md explains each.\n"
    "       kasten dns check DOMAIN   compare them with what DNS answers\n"
    "       kasten dns lookup TYPE NAME\n";

/* TXT RDATA as strings of at most 255 bytes (a DKIM key of RSA 2048 needs two). */
static void dns_print_txt(const char *v)
{
	size_t len = strlen(v), off = 0;
	do {
		size_t n = len - off < CMD_DNS_TXT_STRING ? len - off : CMD_DNS_TXT_STRING;
		putchar(' ');
		cmd_dns_print_text(stdout, v + off, n);
		off += n;
	} while (off < len);
}

static void dns_print(const struct dns_record *r)
{
	switch (r->role) {
	case DNS_RECORD_MX:
		printf("%s. %d IN MX %s.\n", r->name, CMD_DNS_TTL, r->value);
		return;
	case DNS_RECORD_SPF:
	case DNS_RECORD_DMARC:
	case DNS_RECORD_DKIM:
		printf("%s. %d IN TXT", r->name, CMD_DNS_TTL);
		dns_print_txt(r->value);
		putchar('\n');
		return;
	case DNS_RECORD_SRV: {
		size_t len = strlen(r->value);
		/* the target "." is already a name with its dot */
		printf("%s. %d IN SRV %s%s\n", r->name, CMD_DNS_TTL, r->value,
		       len && r->value[len - 1] == '.' ? "" : ".");
		return;
	}
	case DNS_RECORD_CNAME:
		printf("%s. %d IN CNAME %s.\n", r->name, CMD_DNS_TTL, r->value);
		return;
	case DNS_RECORD_HOST_A:
	case DNS_RECORD_HOST_AAAA: {
		const char *type = r->role == DNS_RECORD_HOST_A ? "A" : "AAAA";
		if (r->value[0])
			printf("%s. %d IN %s %s\n", r->name, CMD_DNS_TTL, type, r->value);
		else /* kasten cannot know the address the world reaches it on */
			printf("; %s. %d IN %s <the %s address of this host>\n", r->name,
			       CMD_DNS_TTL, type, r->role == DNS_RECORD_HOST_A ? "IPv4" : "IPv6");
		return;
	}
	}
}

int cmd_dns(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return cmd_dns_check(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "lookup"))
		return cmd_dns_lookup(argc - 1, argv + 1);
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc != 2 || argv[1][0] == '-') {
		fputs(cmd_dns_usage, stderr);
		return 2;
	}
	struct dns_record *recs = calloc(LIMIT_DNS_RECORDS, sizeof(*recs));
	if (!recs) {
		fprintf(stderr, "kasten dns: out of memory\n");
		return 1;
	}
	int n = dns_records_expected(argv[1], recs, LIMIT_DNS_RECORDS);
	if (n < 0) {
		fprintf(stderr, "kasten dns: %s: %s\n", argv[1],
		        n == ERR_INVAL ? "not a domain name (or [server] hostname is not a host "
		                         "name)"
		                       : err_str(n));
		free(recs);
		return n == ERR_INVAL ? 2 : 1;
	}
	printf("; the records %s publishes for mail through %s (kasten dns check %s)\n", argv[1],
	       conf_get()->hostname, argv[1]);
	for (int i = 0; i < n; i++)
		dns_print(&recs[i]);
	free(recs);
	return fflush(stdout) == 0 ? 0 : 1;
}
