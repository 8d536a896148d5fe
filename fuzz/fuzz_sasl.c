/* fuzz_sasl.c: libFuzzer target for the SASL decoders in src/auth.
 * Arbitrary bytes go through auth_b64_decode, auth_sasl_plain and
 * auth_sasl_login_decode; the invariants checked are
 *  - a string that decodes re-encodes to itself (the decoder is canonical);
 *  - any bytes encode and decode back to themselves;
 *  - PLAIN accepts the base64 of the input exactly when the input splits into
 *    authzid NUL authcid NUL passwd within the RFC 4616 limits, and then returns
 *    those three parts;
 *  - LOGIN accepts exactly non-empty, NUL-free inputs of at most 255 octets;
 *  - the exchange state machine (auth_exchange), fed the input's lines as a client's
 *    responses to PLAIN and LOGIN, always ends in a check or a failure within two lines
 *    and never holds a user name once it is over.
 * Seeds: fuzz/corpus/sasl/. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reference split of a PLAIN message, written the slow, obvious way. */
static bool plain_ok(const uint8_t *m, size_t n, size_t *zl, size_t *cl, size_t *pl)
{
	size_t nuls = 0, pos[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++)
		if (m[i] == 0) {
			if (nuls < 3)
				pos[nuls] = i;
			nuls++;
		}
	if (nuls != 2)
		return false;
	*zl = pos[0];
	*cl = pos[1] - pos[0] - 1;
	*pl = n - pos[1] - 1;
	return *zl <= AUTH_SASL_PART_MAX && *cl >= 1 && *cl <= AUTH_SASL_PART_MAX && *pl >= 1 &&
	       *pl <= AUTH_SASL_PART_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a, 1u << 22);
	const char *in = (const char *)data;
	char *out, *re;
	size_t n;

	/* The input as base64. */
	int rc = auth_b64_decode(in, size, &a, &out, &n);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX);
	if (rc == 0) {
		assert(n <= size / 4 * 3);
		assert(out[n] == '\0');
		assert(auth_b64_encode(out, n, &a, &re) == 0);
		assert(strlen(re) == size && memcmp(re, in, size) == 0);
	}

	/* The input as raw bytes: round trip. */
	assert(auth_b64_encode(data, size, &a, &re) == 0);
	assert(auth_b64_decode(re, strlen(re), &a, &out, &n) == 0);
	assert(n == size && memcmp(out, data, size) == 0);

	/* PLAIN over the input as base64 and over its encoding. */
	char *z, *c, *p;
	rc = auth_sasl_plain(in, size, &a, &z, &c, &p);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX);
	rc = auth_sasl_plain(re, strlen(re), &a, &z, &c, &p);
	size_t zl, cl, pl;
	bool want = plain_ok(data, size, &zl, &cl, &pl);
	assert((rc == 0) == want);
	if (rc == 0) {
		assert(strlen(z) == zl && memcmp(z, data, zl) == 0);
		assert(strlen(c) == cl && memcmp(c, data + zl + 1, cl) == 0);
		assert(strlen(p) == pl && memcmp(p, data + zl + cl + 2, pl) == 0);
		auth_wipe(p);
	}

	/* LOGIN over the encoding. */
	char *s;
	rc = auth_sasl_login_decode(re, strlen(re), &a, &s);
	want = size >= 1 && size <= AUTH_SASL_PART_MAX && !memchr(data, 0, size);
	assert((rc == 0) == want);
	if (rc == 0)
		assert(strlen(s) == size && memcmp(s, data, size) == 0);
	rc = auth_sasl_login_decode(in, size, &a, &s);
	assert(rc == 0 || rc == ERR_BAD_SYNTAX);

	/* The exchange: the input's lines (split at LF) as responses. */
	static const char *const mechs[] = {"PLAIN", "LOGIN"};
	for (size_t m = 0; m < 2; m++) {
		struct auth_exchange x = {0};
		struct auth_exchange_step st;
		const char *line = in, *end = in + size;
		size_t lines = 0;
		assert(auth_exchange_start(&x, mechs[m], NULL, 0, &a, &st) == 0);
		while (st.next == AUTH_EXCHANGE_CHALLENGE && line <= end) {
			const char *lf = memchr(line, '\n', (size_t)(end - line));
			size_t len = lf ? (size_t)(lf - line) : (size_t)(end - line);
			assert(++lines <= 2);
			assert(auth_exchange_next(&x, line, len, &a, &st) == 0);
			line += len + 1;
		}
		if (st.next != AUTH_EXCHANGE_CHALLENGE) {
			assert(!x.mech && !x.user);
			if (st.next == AUTH_EXCHANGE_CHECK)
				assert(st.user[0] && st.pass[0]);
		}
		auth_exchange_end(&x);
	}

	arena_free(&a);
	return 0;
}
