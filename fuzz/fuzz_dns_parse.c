/* fuzz_dns_parse.c: libFuzzer target for src/outbound/dns_parse.c: the [dns] resolver
 * address, host names, wire names and the record data of an answer. The first byte
 * picks the parser; for record data the second picks the type and the rest is records,
 * each a length byte and that many bytes (a length past the end takes what is left).
 * Checks: every verdict is one of the documented ones, what passes respects its limits
 * (names are LDH/underscore, lower case, at most LIMIT_DNS_NAME; MX in preference
 * order; TXT within LIMIT_DNS_TXT), and nothing is read past an input's end (ASan).
 * Seeds: fuzz/corpus/dns_parse/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *s)
{
	size_t len = strlen(s);
	assert(len <= LIMIT_DNS_NAME);
	for (size_t i = 0; i < len; i++)
		assert((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		       s[i] == '-' || s[i] == '_' || s[i] == '.');
}

static void fuzz_rdata(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = {DNS_TYPE_A,    DNS_TYPE_AAAA, DNS_TYPE_MX,
					      DNS_TYPE_TXT,  DNS_TYPE_TLSA, DNS_TYPE_SRV,
					      DNS_TYPE_CNAME};
	if (size < 1)
		return;
	struct dns_answer a = {.type = types[data[0] % (sizeof(types) / sizeof(types[0]))],
			       .status = DNS_STATUS_OK};
	char *recs[LIMIT_DNS_ANSWER_RECORDS + 2];
	int lens[LIMIT_DNS_ANSWER_RECORDS + 2];
	size_t n = 0, at = 1;
	while (at < size && n < LIMIT_DNS_ANSWER_RECORDS + 2) {
		size_t l = data[at++];
		if (l > size - at)
			l = size - at;
		recs[n] = malloc(l ? l : 1); /* exact size: ASan sees any read past it */
		memcpy(recs[n], data + at, l);
		lens[n++] = (int)l;
		at += l;
	}
	if (dns_parse_rdata(&a, recs, lens, n) == 0) {
		assert(a.status == DNS_STATUS_OK || a.status == DNS_STATUS_MALFORMED);
		assert(a.status == DNS_STATUS_OK || (a.n == 0 && a.why[0]));
		assert(a.n <= LIMIT_DNS_ANSWER_RECORDS);
		for (size_t i = 0; i < a.n; i++) {
			if (a.type == DNS_TYPE_MX) {
				check_name(a.rr[i].u.mx.host);
				assert(a.rr[i].u.mx.host[0]);
				assert(i == 0 || a.rr[i - 1].u.mx.pref <= a.rr[i].u.mx.pref);
			} else if (a.type == DNS_TYPE_TXT) {
				assert(a.rr[i].u.txt.len <= LIMIT_DNS_TXT);
				assert(a.rr[i].u.txt.text[a.rr[i].u.txt.len] == '\0');
			} else if (a.type == DNS_TYPE_TLSA) {
				assert(a.rr[i].u.tlsa.len <= LIMIT_DNS_TLSA_DATA);
			} else if (a.type == DNS_TYPE_SRV) {
				check_name(a.rr[i].u.srv.target);
			} else if (a.type == DNS_TYPE_CNAME) {
				check_name(a.rr[i].u.ptr.host);
			}
		}
		assert(!a.null_mx || a.n == 0);
		free(a.rr);
	}
	for (size_t i = 0; i < n; i++)
		free(recs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 4;
	data++;
	size--;
	char *p = malloc(size ? size : 1);
	memcpy(p, data, size);
	char out[LIMIT_DNS_NAME + 1];
	size_t used;
	int r;
	switch (which) {
	case 0: {
		char fwd[80];
		r = dns_parse_server(p, size, fwd, sizeof(fwd));
		assert(r == 0 || r == ERR_BAD_SYNTAX);
		assert(r < 0 || strchr(fwd, '@'));
		break;
	}
	case 1:
		r = dns_name_norm(p, size, out);
		assert(r == 0 || r == ERR_INVAL);
		if (r == 0)
			check_name(out);
		break;
	case 2:
		r = dns_parse_wire_name((const uint8_t *)p, size, out, &used);
		assert(r == 0 || r == ERR_BAD_SYNTAX);
		if (r == 0) {
			check_name(out);
			assert(used <= size);
		}
		break;
	default:
		fuzz_rdata((const uint8_t *)p, size);
	}
	free(p);
	return 0;
}
