/* cmd_dns_lookup.c: `kasten dns lookup TYPE NAME`: one query through kasten's resolver
 * (the [dns] settings the server uses), printed like `dig +short` after a status line
 * that carries what dig's short form hides: NXDOMAIN vs no data vs a temporary failure,
 * and the DNSSEC status. For admins checking what the server sees, and for the tests.
 * Output (stdout):
 *   TYPE NAME: STATUS[, implicit MX | , null MX][, canonical NAME] (SEC)[: WHY]
 *   one line per record: MX "PREF HOST.", A/AAAA the address, TXT the joined text in
 *   quotes (zone-file escapes for '"', '\' and bytes outside 0x20-0x7e), TLSA
 *   "USAGE SELECTOR MTYPE HEX".
 * Exit 0 when the status is ok, 1 otherwise, 2 on a usage error. */
#include "cmd.h"
#include "cmd_dns_int.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "outbound/dns.h"
#include "core/banned.h"

const char cmd_dns_lookup_usage[] =
	"usage: kasten dns lookup TYPE NAME [--config FILE]\n"
	"  Ask kasten's resolver ([dns] in the config) for TYPE (MX, A, AAAA, TXT, TLSA,\n"
	"  SRV, CNAME)\n"
	"  records of NAME. Prints a status line (ok, no data, NXDOMAIN, temporary failure;\n"
	"  the DNSSEC status secure, insecure or bogus), then the records. Exit 0 when\n"
	"  records (or an implicit or null MX) came back, 1 otherwise.\n";

void cmd_dns_print_text(FILE *out, const char *text, size_t len)
{
	putc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(out, "\\%03u", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

static void print_rr(FILE *out, enum dns_type type, const struct dns_rr *rr)
{
	char addr[INET6_ADDRSTRLEN];
	switch (type) {
	case DNS_TYPE_MX:
		fprintf(out, "%u %s.\n", rr->u.mx.pref, rr->u.mx.host);
		break;
	case DNS_TYPE_PTR:
	case DNS_TYPE_CNAME:
		fprintf(out, "%s.\n", rr->u.ptr.host);
		break;
	case DNS_TYPE_SRV:
		fprintf(out, "%u %u %u %s.\n", rr->u.srv.priority, rr->u.srv.weight,
			rr->u.srv.port, rr->u.srv.target);
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		if (inet_ntop(rr->u.addr.family, rr->u.addr.addr, addr, sizeof(addr)))
			fprintf(out, "%s\n", addr);
		break;
	case DNS_TYPE_TXT:
		cmd_dns_print_text(out, rr->u.txt.text, rr->u.txt.len);
		putc('\n', out);
		break;
	case DNS_TYPE_TLSA:
		fprintf(out, "%u %u %u ", rr->u.tlsa.usage, rr->u.tlsa.selector, rr->u.tlsa.mtype);
		for (size_t i = 0; i < rr->u.tlsa.len; i++)
			fprintf(out, "%02X", rr->u.tlsa.data[i]);
		putc('\n', out);
		break;
	}
}

void cmd_dns_print_answer(FILE *out, const struct dns_answer *a)
{
	fprintf(out, "%s %s: %s", dns_type_name(a->type), a->name, dns_status_name(a->status));
	if (a->implicit_mx)
		fputs(", implicit MX", out);
	if (a->null_mx)
		fputs(", null MX", out);
	if (a->canonical[0])
		fprintf(out, ", canonical %s", a->canonical);
	fprintf(out, " (%s)", dns_sec_name(a->sec));
	if (a->why[0])
		fprintf(out, ": %s", a->why);
	putc('\n', out);
	for (size_t i = 0; i < a->n; i++)
		print_rr(out, a->type, &a->rr[i]);
}

int cmd_dns_resolver(struct event_base **base_out, struct dns_resolver **r_out)
{
	struct dns_options o;
	dns_options_from_conf(&o);
	*base_out = event_base_new();
	if (!*base_out) {
		fprintf(stderr, "kasten dns: out of memory\n");
		return -1;
	}
	if (dns_resolver_new(*base_out, &o, r_out) < 0) {
		fprintf(stderr, "kasten dns: cannot start the resolver (see the log above)\n");
		event_base_free(*base_out);
		return -1;
	}
	return 0;
}

int cmd_dns_lookup(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	enum dns_type type;
	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
		fputs(cmd_dns_lookup_usage, stderr);
		return 2;
	}
	if (dns_type_parse(argv[1], &type) < 0) {
		fprintf(stderr, "kasten dns lookup: unknown type '%s' (MX, A, AAAA, TXT, TLSA, SRV, "
			"CNAME)\n",
			argv[1]);
		return 2;
	}
	struct event_base *base;
	struct dns_resolver *r;
	if (cmd_dns_resolver(&base, &r) < 0)
		return 1;
	struct dns_answer *a = NULL;
	int e = dns_query_wait(r, type, argv[2], &a);
	int rc = 1;
	if (e == ERR_INVAL) {
		fprintf(stderr, "kasten dns lookup: '%s' is not a host name\n", argv[2]);
		rc = 2;
	} else if (e < 0) {
		fprintf(stderr, "kasten dns lookup: %s\n", err_str(e));
	} else {
		cmd_dns_print_answer(stdout, a);
		rc = a->status == DNS_STATUS_OK ? 0 : 1;
		dns_answer_free(&a);
	}
	dns_resolver_free(&r);
	event_base_free(base);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
