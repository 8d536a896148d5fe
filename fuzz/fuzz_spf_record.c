/* fuzz_spf_record.c: libFuzzer target for the SPF record parser and the macro code
 * (src/outbound/spf_record.c, spf_macro.c; RFC 7208 12 and 7). Checks, for every
 * input: the parser reads only [0, size) (an exact-size copy: ASan sees a read past
 * it), returns 0 or an error with a reason, keeps at most LIMIT_SPF_TERMS terms whose
 * domain-specs lie inside the input and whose CIDR lengths are in range; every
 * domain-spec it accepted passes the macro check and expands (IPv4 and IPv6 contexts)
 * to a NUL-terminated name of at most LIMIT_SPF_MACRO_OUT bytes, or fails cleanly; the
 * input itself as a macro string does the same. Seeds: fuzz/corpus/spf_record/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void expand_both(const char *p, size_t n)
{
	static const uint8_t ip4[4] = {192, 0, 2, 3};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcb, 1};
	struct spf_macro_ctx m = {.sender_local = "strong-bad", .sender_domain = "email.example.com",
				  .domain = "email.example.com", .family = AF_INET, .ip = ip4,
				  .helo = "mx.example.org", .ptr_name = NULL};
	char out[LIMIT_SPF_MACRO_OUT + 1];
	for (int k = 0; k < 2; k++) {
		memset(out, 'x', sizeof(out));
		int r = spf_macro_expand(&m, p, n, out);
		assert(r == 0 || r == ERR_BAD_SYNTAX);
		if (r == 0)
			assert(strlen(out) <= LIMIT_SPF_MACRO_OUT && out[0] != '\0');
		m.family = AF_INET6;
		m.ip = ip6;
		m.ptr_name = "ptr.example.com";
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct spf_record rec;
	const char *why = NULL;
	int r = spf_record_parse(p, size, &rec, &why);
	assert(r == 0 || r == ERR_BAD_SYNTAX || r == ERR_TOO_BIG);
	assert(r == 0 || (why && why[0]));
	if (r == 0) {
		assert(spf_record_is_spf(p, size));
		assert(rec.n <= LIMIT_SPF_TERMS);
		for (size_t i = 0; i < rec.n; i++) {
			const struct spf_term *t = &rec.terms[i];
			assert(t->cidr4 <= 32 && t->cidr6 <= 128);
			if (!t->spec)
				continue;
			assert(t->spec >= p && t->spec + t->spec_len <= p + size && t->spec_len > 0);
			assert(spf_macro_check(t->spec, t->spec_len, false) == 0);
			expand_both(t->spec, t->spec_len);
		}
		if (rec.redirect)
			expand_both(rec.redirect, rec.redirect_len);
	}
	int c = spf_macro_check(p, size, false);
	assert(c == 0 || c == ERR_BAD_SYNTAX);
	if (c == 0)
		assert(spf_macro_check(p, size, true) == 0); /* explanations allow more */
	expand_both(p, size);
	(void)spf_macro_uses_p(p, size);
	free(p);
	return 0;
}
