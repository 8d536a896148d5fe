/* fuzz_authres.c: libFuzzer target for the authserv-id reader that decides which
 * Authentication-Results fields of an incoming message claim to be ours
 * (src/outbound/authres_parse.c; RFC 8601 2.2 and 5). Checks, for every input (taken
 * as a field value): the reader stays inside [0, size), an id it returns is non-empty,
 * lower case, NUL-terminated within its buffer and has no final dot; a too small buffer
 * gives ERR_TOO_LONG, never a cut id; and an id of token characters, taken as our
 * host name, makes the field ours.
 * Seeds: fuzz/corpus/authres/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	char id[LIMIT_DNS_NAME + 2], small[8];
	int r = authres_parse_id(p, size, id, sizeof(id));
	assert(r == 0 || r == ERR_BAD_SYNTAX || r == ERR_TOO_LONG);
	if (r == 0) {
		size_t n = strlen(id);
		assert(n > 0 && n < sizeof(id) && id[n - 1] != '.');
		for (size_t i = 0; i < n; i++)
			assert(!(id[i] >= 'A' && id[i] <= 'Z'));
		int s = authres_parse_id(p, size, small, sizeof(small));
		/* never a cut id: the same one, or too long (final dots need room while
		 * they are read) */
		assert(s == 0 ? strcmp(small, id) == 0 : s == ERR_TOO_LONG);
		if (n >= sizeof(small))
			assert(s == ERR_TOO_LONG);
		bool token = true; /* an id of token characters reads back as itself */
		for (size_t i = 0; i < n; i++)
			token &= id[i] > 0x20 && id[i] < 0x7f && !strchr("()<>@,;:\\\"/[]?=", id[i]);
		if (token)
			assert(authres_is_ours(p, size, id));
	}
	free(p);
	return 0;
}
