/* fuzz_dmarc_record.c: libFuzzer target for the DMARC record parser and the Public
 * Suffix List reader (src/outbound/dmarc_record.c, psl.c; RFC 7489 6.3, 3.2). Checks,
 * for every input: the record parser reads only [0, size), accepts only a record that
 * starts with v=DMARC1 and then has pct in 0..100 and known policy values; the input as
 * a suffix list parses (or hits its rule limit), and the organizational domain of a
 * few names under it is always a suffix of the name, made of whole labels.
 * Seeds: fuzz/corpus/dmarc_record/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/dmarc.h"
#include "outbound/psl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_org(const struct psl *list, const char *name)
{
	char out[LIMIT_DNS_NAME + 1];
	psl_org_domain(list, name, out);
	size_t n = strlen(name), o = strlen(out);
	assert(o > 0 && o <= n);
	assert(strcmp(name + n - o, out) == 0);
	assert(o == n || name[n - o - 1] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct dmarc_record r;
	int rc = dmarc_record_parse(p, size, &r);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX);
	if (rc == 0) {
		assert(dmarc_record_is_dmarc(p, size));
		assert(r.pct <= 100);
		assert(r.p <= DMARC_POLICY_REJECT && r.sp <= DMARC_POLICY_REJECT);
	}
	struct psl *list = NULL;
	rc = psl_parse(p, size, &list);
	assert(rc == 0 || rc == ERR_TOO_BIG || rc == ERR_NOMEM);
	if (rc == 0) {
		check_org(list, "a.b.c.example.co.uk");
		check_org(list, "com");
		check_org(list, "x.y");
		psl_free(&list);
	}
	free(p);
	return 0;
}
