/* dns_records.h: the DNS records a mail domain should publish, as one list with two
 * users: `kasten dns DOMAIN` prints it in zone-file syntax (the DKIM side implements
 * dns_records_expected() and the printing), `kasten dns check DOMAIN` looks every entry
 * up through the resolver (dns.h) and says ok / missing / different. Keeping one list
 * is what makes the check honest: it checks exactly what we told the admin to publish.
 *
 * Subcommand split: `kasten dns DOMAIN` (printing) belongs to cmd_dns.c, which hands
 * `kasten dns check ...` to cmd_dns_check() and `kasten dns lookup ...` to
 * cmd_dns_lookup() (src/cmd/cmd.h) with argv[0] = "check" / "lookup". */
#ifndef KASTEN_DNS_RECORDS_H
#define KASTEN_DNS_RECORDS_H

#include <stddef.h>

#include "core/limits.h"

/* What a record is for; each role fixes the type and how `dns check` compares. */
enum dns_record_role {
	DNS_RECORD_MX,        /* MX at DOMAIN; value "PREF HOST" ("10 mail.example.org"):
			       * ok when HOST is one of the MX hosts, whatever the preference */
	DNS_RECORD_SPF,       /* TXT at DOMAIN starting "v=spf1" (RFC 7208 4.5) */
	DNS_RECORD_DMARC,     /* TXT at _dmarc.DOMAIN starting "v=DMARC1" (RFC 7489 6.1) */
	DNS_RECORD_DKIM,      /* TXT at SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.2) */
	DNS_RECORD_HOST_A,    /* A of the MX host; value: an address, or "" = any address */
	DNS_RECORD_HOST_AAAA, /* AAAA of the MX host; likewise */
	DNS_RECORD_SRV,       /* SRV (RFC 2782) at _SERVICE._tcp.DOMAIN: client setup (RFC
			       * 6186) and Outlook's _autodiscover; value "PRIO WEIGHT PORT
			       * HOST" ("0 1 993 mail.example.org"), or "0 0 0 ." for a service
			       * that is off (RFC 6186 4: the target "." says it is not
			       * offered): ok when one record has that target and port */
	DNS_RECORD_CNAME,     /* CNAME at autoconfig.DOMAIN / autodiscover.DOMAIN; value the
			       * host (no final dot) */
};

struct dns_record {
	enum dns_record_role role;
	/* Owner name, no trailing dot: "example.org", "_dmarc.example.org",
	 * "k202612r._domainkey.example.org", "mail.example.org". */
	char name[LIMIT_DNS_NAME + 1];
	/* The record's data as published, TXT strings already joined into one text (no
	 * quotes, no 255-byte splitting: the printer splits, the check joins). */
	char value[LIMIT_DNS_TXT + 1];
};

/* Fill out[0..cap) with every record DOMAIN should publish, in the order `kasten dns`
 * prints them: MX, SPF, DMARC, one DKIM per key (selector), the client-setup records
 * (the SRV records of conf_services() in its order, _autodiscover._tcp, the CNAMEs
 * autoconfig. and autodiscover.), then the MX host's A and AAAA. Reads the
 * configuration (conf_get(): [server] hostname, data dir for the DKIM keys, the
 * [listen] ports, [pop3] enabled). Returns the number of records (>= 0), or a negative enum err: ERR_INVAL for a
 * domain that is not a host name, ERR_FULL when more than cap records would be needed,
 * ERR_IO when the DKIM keys cannot be read. */
int dns_records_expected(const char *domain, struct dns_record *out, size_t cap);

#endif
