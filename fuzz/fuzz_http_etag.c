/* fuzz_http_etag.c: libFuzzer target for If-None-Match matching (src/http/http_etag.c).
 * Checks, for every input: reads only [0, size) (a heap copy of exactly that size), and
 * the answer agrees with the input's shape: a match needs the tag's bytes in the input
 * or a '*'. Seeds: fuzz/corpus/http_etag/. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_etag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tag[] = "\"abc\"";
	char *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	bool m = http_etag_none_match(p, size, tag);
	if (m)
		assert(memchr(p, '*', size) || memmem(p, size, tag, sizeof tag - 1));
	free(p);
	return 0;
}
