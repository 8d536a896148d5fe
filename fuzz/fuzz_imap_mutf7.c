/* fuzz_imap_mutf7.c: libFuzzer target for modified UTF-7 (src/imap/imap_mutf7.c,
 * RFC 3501 5.1.3). The input as UTF-8: when it is valid (and holds no NUL), encoding
 * must give printable ASCII only, and decoding that must give the input back. The input
 * as modified UTF-7: when it decodes, the result must be valid UTF-8 without NUL, and
 * encoding it again must give the input octet for octet (one canonical form). Seeds:
 * fuzz/corpus/imap_mutf7/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = str_utf8_seq(s + i, n - i, &c);
		if (k == 0 || c == 0)
			return false;
		i += k;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	const char *s = (const char *)data;
	char *enc, *dec;
	int rc = imap_mutf7_encode(s, size, &a, &enc);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX || rc == ERR_NOMEM);
	assert((rc == ERR_BAD_SYNTAX) == !valid_utf8(s, size));
	if (rc == 0) {
		for (const char *c = enc; *c; c++)
			assert(*c >= 0x20 && *c <= 0x7e);
		assert(imap_mutf7_decode(enc, strlen(enc), &a, &dec) == 0);
		assert(strlen(dec) == size && memcmp(dec, s, size) == 0);
	}
	if (imap_mutf7_decode(s, size, &a, &dec) == 0) {
		size_t n = strlen(dec);
		assert(valid_utf8(dec, n));
		assert(imap_mutf7_encode(dec, n, &a, &enc) == 0);
		assert(strlen(enc) == size && memcmp(enc, s, size) == 0);
	}
	arena_free(&a);
	return 0;
}
