/* fuzz_mtasts_policy.c: libFuzzer target for the MTA-STS parsers (RFC 8461 3.1, 3.2,
 * 4.1; src/outbound/tlspol_parse.c) and the policy fetch's HTTP response head parser
 * (mtasts_http.c). The input is taken whole as a policy body, as a TXT record and as a
 * response head; every mx pattern a policy yields is matched against host names cut from
 * the input. Checks: the parsers read only [0, size) (the copy ends at the allocation
 * under ASan), a refused policy leaves nothing filled, an accepted one has a mode, at
 * most LIMIT_TLSPOL_MX lower-case patterns that are host names (a "*." prefix at most),
 * max_age within a year, mx unless mode none; a TXT id is 1-32 alphanumerics; a head
 * is claimed only within the input and LIMIT_TLSPOL_HTTP_HEAD, with a status of
 * 100-599 and a Content-Length of at most LIMIT_TLSPOL_POLICY.
 * Seeds: fuzz/corpus/mtasts_policy/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/tlspol.h"
#include "outbound/tlspol_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void check_policy(const struct tlspol_sts *sts, const uint8_t *data, size_t size)
{
	assert(sts->mode != TLSPOL_STS_ABSENT);
	assert(sts->max_age <= LIMIT_TLSPOL_MAX_AGE);
	assert(sts->n_mx <= LIMIT_TLSPOL_MX);
	assert(sts->n_mx > 0 || sts->mode == TLSPOL_STS_NONE);
	for (size_t i = 0; i < sts->n_mx; i++) {
		const char *m = sts->mx[i];
		size_t n = strlen(m);
		assert(n > 0 && n <= LIMIT_DNS_NAME);
		assert(strchr(m + (m[0] == '*' ? 1 : 0), '*') == NULL);
		for (size_t k = 0; k < n; k++)
			assert(!(m[k] >= 'A' && m[k] <= 'Z'));
		/* a pattern matches itself unless it is a wildcard */
		assert(tlspol_mx_match(m, m) == (m[0] != '*'));
		/* hosts cut from the input: the match never reads past a NUL */
		char host[LIMIT_DNS_NAME + 1];
		size_t hn = size < LIMIT_DNS_NAME ? size : LIMIT_DNS_NAME;
		memcpy(host, data, hn);
		host[hn] = '\0';
		(void)tlspol_mx_match(m, host); /* any answer; only memory safety is checked */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	struct tlspol_sts sts;
	int r = tlspol_parse_policy(copy, size, &sts);
	assert(r == 0 || r == ERR_BAD_SYNTAX || r == ERR_TOO_BIG);
	if (r == 0) {
		check_policy(&sts, data, size);
	} else {
		assert(sts.mode == TLSPOL_STS_ABSENT && sts.n_mx == 0);
	}
	char id[LIMIT_TLSPOL_ID + 1];
	int t = tlspol_parse_txt((const char *)copy, size, id);
	assert(t == 1 || t == 0 || t == ERR_BAD_SYNTAX);
	if (t == 1) {
		size_t n = strlen(id);
		assert(n >= 1 && n <= LIMIT_TLSPOL_ID);
		for (size_t i = 0; i < n; i++)
			assert(fuzz_alnum(id[i]));
	}
	struct mtasts_http_head h;
	int hl = mtasts_http_head(copy, size, &h);
	assert(hl <= 0 || ((size_t)hl <= size && hl <= LIMIT_TLSPOL_HTTP_HEAD));
	assert(hl >= 0 || hl == ERR_BAD_SYNTAX || hl == ERR_TOO_BIG || hl == ERR_TOO_LONG);
	if (hl > 0) {
		assert(h.status >= 100 && h.status <= 599);
		assert(h.content_length >= -1 && h.content_length <= LIMIT_TLSPOL_POLICY);
	}
	free(copy);
	return 0;
}
