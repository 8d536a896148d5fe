/* fuzz_mime_cte.c: libFuzzer target for the Content-Transfer-Encoding decoder. The
 * first byte picks the encoding, the output buffer size (1..16) and the input piece
 * size; the rest is the encoded body. Invariants: decoding never crashes, the output
 * is never longer than the input (none of the encodings expands), the decode in pieces
 * through a small buffer equals the decode in one piece, and the counted size
 * (BINARY.SIZE) and NUL flag equal the decoded ones. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static const char *const encodings[] = {"base64", "quoted-printable", "7bit", "binary"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *enc = encodings[data[0] & 3];
	size_t ocap = 1 + ((data[0] >> 2) & 15), istep = 1 + (data[0] >> 6) * 5;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	uint8_t *whole = malloc(len + 1), *part = malloc(len + 1);
	CHECK(whole && part);

	struct mime_cte_dec d;
	size_t used, n;
	CHECK(mime_cte_init(&d, enc, strlen(enc)) == 0);
	CHECK(mime_cte_decode(&d, in, len, true, &used, whole, len + 1, &n) == 0);
	CHECK(used == len && n <= len && d.finished && d.total == n);
	bool nul = memchr(whole, 0, n) != NULL;
	CHECK(d.nul == nul);

	size_t m = 0;
	CHECK(mime_cte_init(&d, enc, strlen(enc)) == 0);
	for (size_t off = 0; off <= len;) {
		size_t k = len - off < istep ? len - off : istep;
		bool eof = off + k == len;
		const uint8_t *p = in + off;
		size_t left = k;
		int more;
		do {
			uint8_t buf[16];
			size_t w;
			more = mime_cte_decode(&d, p, left, eof, &used, buf, ocap, &w);
			CHECK(used <= left && w <= ocap && (more == 0 || w == ocap));
			CHECK(m + w <= n);
			memcpy(part + m, buf, w);
			m += w;
			p += used;
			left -= used;
		} while (more);
		CHECK(left == 0);
		off += k;
		if (eof)
			break;
	}
	CHECK(m == n && memcmp(part, whole, n) == 0);

	uint64_t total;
	bool size_nul;
	CHECK(mime_cte_decoded_size(enc, strlen(enc), in, len, &total, &size_nul) == 0);
	CHECK(total == n && size_nul == nul);
	free(whole);
	free(part);
	return 0;
}
