/* dns_parse.c: the pure parts of the resolver: the [dns] resolver address, host names,
 * and the record data libunbound hands on (A, AAAA, MX, TXT, TLSA) into struct
 * dns_answer. No I/O; everything that arrives from the network is checked here against
 * LIMIT_DNS_NAME, LIMIT_DNS_TXT, LIMIT_DNS_TLSA_DATA, LIMIT_DNS_ANSWER_RECORDS and
 * LIMIT_DNS_ANSWER before it is kept. */
#include "dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static bool dns_label_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static char dns_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int dns_parse_server(const char *s, size_t len, char *out, size_t cap)
{
	char host[64];
	const char *port;
	size_t hlen;
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close || close + 1 >= s + len || close[1] != ':')
			return ERR_BAD_SYNTAX;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return ERR_BAD_SYNTAX;
		memcpy(host, s + 1, hlen);
		port = close + 2;
	} else {
		const char *colon = NULL;
		for (size_t i = 0; i < len; i++)
			if (s[i] == ':')
				colon = s + i;
		if (!colon)
			return ERR_BAD_SYNTAX;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(host))
			return ERR_BAD_SYNTAX;
		memcpy(host, s, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	size_t plen = (size_t)(s + len - port);
	uint64_t pn;
	/* Digits only: str_to_u64 refuses signs, spaces and overflow; no leading zeros, so
	 * one port has one spelling. */
	if (plen == 0 || (plen > 1 && port[0] == '0') || str_to_u64(port, plen, 65535, &pn) < 0 ||
	    pn == 0)
		return ERR_BAD_SYNTAX;
	uint8_t bin[16];
	bool v6 = s[0] == '[';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1)
		return ERR_BAD_SYNTAX;
	int n = snprintf(out, cap, "%s@%u", host, (unsigned)pn);
	if (n < 0 || (size_t)n >= cap)
		return ERR_BAD_SYNTAX;
	return 0;
}

int dns_name_norm(const char *s, size_t len, char *out)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > LIMIT_DNS_NAME)
		return ERR_INVAL;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '.') {
			if (label == 0)
				return ERR_INVAL;
			label = 0;
		} else if (!dns_label_byte(c) || ++label > LIMIT_ADDR_LABEL) {
			return ERR_INVAL;
		}
		out[i] = dns_lower((char)c);
	}
	if (label == 0)
		return ERR_INVAL;
	out[len] = '\0';
	return 0;
}

int dns_parse_wire_name(const uint8_t *p, size_t len, char *out, size_t *used_out)
{
	size_t at = 0, o = 0;
	for (;;) {
		if (at >= len)
			return ERR_BAD_SYNTAX;
		uint8_t l = p[at++];
		if (l == 0)
			break;
		if (l > LIMIT_ADDR_LABEL || l > len - at) /* > 63 includes compression pointers */
			return ERR_BAD_SYNTAX;
		if (o + (o > 0) + l > LIMIT_DNS_NAME)
			return ERR_BAD_SYNTAX;
		if (o > 0)
			out[o++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			if (!dns_label_byte(p[at + i]))
				return ERR_BAD_SYNTAX;
			out[o++] = dns_lower((char)p[at + i]);
		}
		at += l;
	}
	out[o] = '\0';
	*used_out = at;
	return 0;
}

static int dns_malformed(struct dns_answer *a, const char *why, size_t i)
{
	a->status = DNS_STATUS_MALFORMED;
	a->n = 0;
	free(a->rr);
	a->rr = NULL;
	int w = snprintf(a->why, sizeof(a->why), "%s record %zu: %s", dns_type_name(a->type),
			 i + 1, why);
	(void)w; /* fits: a type name, a number and one of our fixed reasons */
	return 0;
}

/* Bytes a record keeps beyond its struct dns_rr (TXT text and TLSA data live behind
 * the array, in the same allocation), or -1 when the record breaks a limit. */
static long dns_rdata_extra(enum dns_type type, const uint8_t *d, size_t len)
{
	if (type == DNS_TYPE_TXT) {
		size_t at = 0, text = 0;
		while (at < len) {
			size_t l = d[at++];
			if (l > len - at)
				return -1;
			at += l;
			text += l;
		}
		return text > LIMIT_DNS_TXT ? -1 : (long)text + 1;
	}
	if (type == DNS_TYPE_TLSA)
		return (len < 3 || len - 3 > LIMIT_DNS_TLSA_DATA) ? -1 : (long)(len - 3);
	return 0;
}

static const char *dns_rdata_one(struct dns_answer *a, struct dns_rr *rr, const uint8_t *d,
				  size_t len, uint8_t **extra)
{
	size_t used;
	switch (a->type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA: {
		size_t want = a->type == DNS_TYPE_A ? 4 : 16;
		if (len != want)
			return "wrong address length";
		rr->u.addr.family = a->type == DNS_TYPE_A ? AF_INET : AF_INET6;
		memcpy(rr->u.addr.addr, d, want);
		return NULL;
	}
	case DNS_TYPE_MX:
		if (len < 3)
			return "too short";
		rr->u.mx.pref = (uint16_t)(d[0] << 8 | d[1]);
		if (dns_parse_wire_name(d + 2, len - 2, rr->u.mx.host, &used) < 0 ||
		    used != len - 2)
			return "bad exchange name";
		return NULL;
	case DNS_TYPE_PTR:
	case DNS_TYPE_CNAME:
		if (dns_parse_wire_name(d, len, rr->u.ptr.host, &used) < 0 || used != len)
			return "bad name";
		return NULL;
	case DNS_TYPE_SRV: /* RFC 2782: priority, weight, port, target (uncompressed) */
		if (len < 7)
			return "too short";
		rr->u.srv.priority = (uint16_t)(d[0] << 8 | d[1]);
		rr->u.srv.weight = (uint16_t)(d[2] << 8 | d[3]);
		rr->u.srv.port = (uint16_t)(d[4] << 8 | d[5]);
		if (dns_parse_wire_name(d + 6, len - 6, rr->u.srv.target, &used) < 0 ||
		    used != len - 6)
			return "bad target name";
		return NULL;
	case DNS_TYPE_TXT: {
		/* RFC 7208 3.3, RFC 6376 3.6.2.2: the strings of one record are joined with
		 * nothing between them. */
		char *t = (char *)*extra;
		size_t at = 0, o = 0;
		while (at < len) {
			size_t l = d[at++];
			memcpy(t + o, d + at, l);
			o += l;
			at += l;
		}
		t[o] = '\0';
		rr->u.txt.text = t;
		rr->u.txt.len = o;
		*extra += o + 1;
		return NULL;
	}
	case DNS_TYPE_TLSA:
		rr->u.tlsa.usage = d[0];
		rr->u.tlsa.selector = d[1];
		rr->u.tlsa.mtype = d[2];
		rr->u.tlsa.len = len - 3;
		rr->u.tlsa.data = *extra;
		memcpy(*extra, d + 3, len - 3);
		*extra += len - 3;
		return NULL;
	}
	return "type not supported";
}

static int dns_mx_cmp(const void *x, const void *y)
{
	const struct dns_rr *a = x, *b = y;
	return (int)a->u.mx.pref - (int)b->u.mx.pref;
}

/* RFC 5321 5.1: lowest preference first; among equal ones the order "MUST be
 * randomized to spread the load". Sort, then shuffle each run of equals
 * (Fisher-Yates; arc4random_uniform has no modulo bias). */
static void dns_mx_order(struct dns_rr *rr, size_t n)
{
	qsort(rr, n, sizeof(*rr), dns_mx_cmp);
	for (size_t start = 0; start < n;) {
		size_t end = start + 1;
		while (end < n && rr[end].u.mx.pref == rr[start].u.mx.pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + arc4random_uniform((uint32_t)(i - start + 1));
			struct dns_rr t = rr[i];
			rr[i] = rr[j];
			rr[j] = t;
		}
		start = end;
	}
}

/* RFC 7505 3: a null MX is the one MX record "0 ." of a domain that accepts no mail.
 * Exchanges "." beside real ones lead nowhere and are dropped. */
static void dns_mx_null(struct dns_answer *a)
{
	size_t kept = 0;
	bool dot = false;
	for (size_t i = 0; i < a->n; i++) {
		if (a->rr[i].u.mx.host[0] == '\0')
			dot = true;
		else
			a->rr[kept++] = a->rr[i];
	}
	a->n = kept;
	a->null_mx = dot && kept == 0;
}

int dns_parse_rdata(struct dns_answer *a, char *const *data, const int *len, size_t n)
{
	a->n = 0;
	a->rr = NULL;
	if (n > LIMIT_DNS_ANSWER_RECORDS)
		return dns_malformed(a, "more records than the limit", LIMIT_DNS_ANSWER_RECORDS);
	size_t total = n * sizeof(struct dns_rr);
	for (size_t i = 0; i < n; i++) {
		long x = len[i] < 0 ? -1 : dns_rdata_extra(a->type, (const uint8_t *)data[i],
							   (size_t)len[i]);
		if (x < 0)
			return dns_malformed(a, "longer than the limit or truncated", i);
		total += (size_t)x;
	}
	if (total > LIMIT_DNS_ANSWER)
		return dns_malformed(a, "answer larger than the limit", n - 1);
	if (n == 0)
		return 0;
	a->rr = calloc(1, total);
	if (!a->rr)
		return ERR_NOMEM;
	uint8_t *extra = (uint8_t *)(a->rr + n);
	for (size_t i = 0; i < n; i++) {
		const char *why = dns_rdata_one(a, &a->rr[i], (const uint8_t *)data[i],
						(size_t)len[i], &extra);
		if (why)
			return dns_malformed(a, why, i);
	}
	a->n = n;
	if (a->type == DNS_TYPE_MX) {
		dns_mx_order(a->rr, a->n);
		dns_mx_null(a);
	}
	return 0;
}

void dns_answer_free(struct dns_answer **a)
{
	if (!*a)
		return;
	free((*a)->rr);
	free(*a);
	*a = NULL;
}

static const struct {
	enum dns_type type;
	const char *name;
} dns_types[] = {
	{DNS_TYPE_A, "A"},     {DNS_TYPE_PTR, "PTR"},   {DNS_TYPE_MX, "MX"},     {DNS_TYPE_TXT, "TXT"},
	{DNS_TYPE_AAAA, "AAAA"}, {DNS_TYPE_TLSA, "TLSA"},   {DNS_TYPE_SRV, "SRV"},
	{DNS_TYPE_CNAME, "CNAME"},
};

const char *dns_type_name(enum dns_type type)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == type)
			return dns_types[i].name;
	return NULL;
}

int dns_type_parse(const char *s, enum dns_type *out)
{
	for (size_t i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++) {
		if (!strcasecmp(s, dns_types[i].name)) {
			*out = dns_types[i].type;
			return 0;
		}
	}
	return ERR_INVAL;
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_STATUS_OK: return "ok";
	case DNS_STATUS_NODATA: return "no data";
	case DNS_STATUS_NXDOMAIN: return "NXDOMAIN";
	case DNS_STATUS_TEMPFAIL: return "temporary failure";
	case DNS_STATUS_MALFORMED: return "malformed";
	}
	return "?";
}

const char *dns_sec_name(enum dns_sec s)
{
	switch (s) {
	case DNS_SEC_INSECURE: return "insecure";
	case DNS_SEC_SECURE: return "secure";
	case DNS_SEC_BOGUS: return "bogus";
	}
	return "?";
}
