/* test_spf_dns.h: a DNS table for the SPF and DMARC unit tests. Each entry answers one
 * (type, name); answers are built by the real dns_parse_rdata from wire rdata, so the
 * evaluators see what the resolver would hand them. A name not in the table is
 * NXDOMAIN. Included by test_spf.c and test_dmarc.c only. */
#ifndef KASTEN_TEST_SPF_DNS_H
#define KASTEN_TEST_SPF_DNS_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "outbound/dns.h"

#define MOCK_MAX_RR 16

struct mock_rr {
	enum dns_type type;
	const char *name;
	enum dns_status status; /* OK (records below), NODATA, TEMPFAIL, MALFORMED */
	const char *rr[MOCK_MAX_RR]; /* A/AAAA "addr", MX "pref host", TXT text, PTR name */
	bool implicit_mx;       /* an MX answer without MX records (dns.h's implicit MX) */
};

struct mock_dns {
	const struct mock_rr *table;
	size_t n;
	unsigned queries;
};

/* A name in wire form into w; its length. */
static size_t mock_wire_name(const char *name, uint8_t *w)
{
	size_t o = 0;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		w[o++] = (uint8_t)l;
		memcpy(w + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	w[o++] = 0;
	return o;
}

static size_t mock_rdata(enum dns_type t, const char *s, uint8_t *w)
{
	switch (t) {
	case DNS_TYPE_A:
		return inet_pton(AF_INET, s, w) == 1 ? 4 : 0;
	case DNS_TYPE_AAAA:
		return inet_pton(AF_INET6, s, w) == 1 ? 16 : 0;
	case DNS_TYPE_MX: {
		unsigned pref = (unsigned)strtoul(s, NULL, 10);
		w[0] = (uint8_t)(pref >> 8);
		w[1] = (uint8_t)pref;
		return 2 + mock_wire_name(strchr(s, ' ') + 1, w + 2);
	}
	case DNS_TYPE_PTR:
		return mock_wire_name(s, w);
	case DNS_TYPE_TXT: {
		size_t n = strlen(s), o = 0;
		do { /* strings of at most 255 bytes, as a zone file splits them */
			size_t k = n > 255 ? 255 : n;
			w[o++] = (uint8_t)k;
			memcpy(w + o, s, k);
			o += k;
			s += k;
			n -= k;
		} while (n > 0);
		return o;
	}
	default:
		return 0;
	}
}

static int mock_lookup(void *ctx, enum dns_type type, const char *name,
		       struct dns_answer **answer_out)
{
	struct mock_dns *m = ctx;
	m->queries++;
	struct dns_answer *a = calloc(1, sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	a->type = type;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->status = DNS_STATUS_NXDOMAIN;
	const struct mock_rr *e = NULL;
	bool name_exists = false;
	for (size_t i = 0; i < m->n; i++) {
		if (strcasecmp(m->table[i].name, name) != 0)
			continue;
		name_exists = true;
		if (m->table[i].type == type)
			e = &m->table[i];
	}
	if (name_exists)
		a->status = DNS_STATUS_NODATA;
	if (e && e->status != DNS_STATUS_OK) {
		a->status = e->status;
	} else if (e) {
		static uint8_t wire[MOCK_MAX_RR][4200];
		char *data[MOCK_MAX_RR];
		int len[MOCK_MAX_RR];
		size_t n = 0;
		while (n < MOCK_MAX_RR && e->rr[n]) {
			len[n] = (int)mock_rdata(type, e->rr[n], wire[n]);
			data[n] = (char *)wire[n];
			n++;
		}
		a->status = DNS_STATUS_OK;
		a->implicit_mx = e->implicit_mx;
		if (dns_parse_rdata(a, data, len, n) < 0) {
			free(a);
			return ERR_NOMEM;
		}
	}
	*answer_out = a;
	return 0;
}

#endif
