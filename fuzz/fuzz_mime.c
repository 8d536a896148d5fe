/* fuzz_mime.c: libFuzzer target for the mime module. Each input is parsed as a message
 * (tree invariants checked), serialized, deserialized and serialized again (the two
 * blobs must be equal); the header iterator and the RFC 2047 decoder run over it; and
 * the raw bytes go to mime_deserialize, which must refuse them cleanly or accept a
 * canonical blob that re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static unsigned walk(const struct mime_part *pt, uint64_t len, unsigned depth)
{
	unsigned n = 1;
	CHECK(pt->header_start <= pt->body_start && pt->body_start <= pt->end);
	CHECK(pt->end <= len && pt->depth == depth && depth <= LIMIT_MIME_DEPTH);
	CHECK(pt->type && pt->subtype);
	if (pt->message) {
		CHECK(pt->message->parent == pt && pt->message->envelope);
		CHECK(pt->message->header_start >= pt->body_start && pt->message->end <= pt->end);
		n += walk(pt->message, len, depth + 1);
	}
	unsigned k = 0;
	uint64_t prev = pt->body_start;
	for (const struct mime_part *c = pt->children; c; c = c->next, k++) {
		CHECK(c->parent == pt && c->header_start >= prev && c->end <= pt->end);
		prev = c->end;
		n += walk(c, len, depth + 1);
	}
	CHECK(k == pt->nchildren);
	return n;
}

static void blobs(const uint8_t *data, size_t size, struct arena *a)
{
	struct mime_part *root, *back;
	void *b1, *b2;
	size_t l1, l2;
	int r = mime_parse(data, size, a, &root);
	if (r == ERR_NOMEM)
		return;
	CHECK(r == 0);
	CHECK(walk(root, size, 0) <= LIMIT_MIME_PARTS);
	if (mime_serialize(root, a, &b1, &l1) < 0)
		return;
	r = mime_deserialize(b1, l1, a, &back);
	if (r == ERR_NOMEM)
		return;
	CHECK(r == 0);
	CHECK(walk(back, size, 0) <= LIMIT_MIME_PARTS);
	if (mime_serialize(back, a, &b2, &l2) < 0)
		return;
	CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
}

static void headers(const uint8_t *data, size_t size, struct arena *a)
{
	struct mime_header_iter it;
	struct mime_field f;
	mime_header_init(&it, 0);
	while (mime_header_next(&it, data, size, true, &f) == MIME_HDR_FIELD) {
		CHECK(f.start < f.end && f.end <= size);
		CHECK(f.name >= data && f.name + f.name_len <= data + size);
		CHECK(f.value >= data && f.value + f.value_len <= data + size);
		struct mime_str s;
		if (mime_decode_words(f.value, f.value_len, a, &s) == 0)
			CHECK(s.s && s.s[s.len] == '\0');
	}
	CHECK(it.off <= size && it.nfields <= LIMIT_HEADER_FIELDS);
}

static void raw_blob(const uint8_t *data, size_t size, struct arena *a)
{
	struct mime_part *root;
	void *b;
	size_t l;
	int r = mime_deserialize(data, size, a, &root);
	CHECK(r == 0 || r == ERR_BAD_SYNTAX || r == ERR_NOMEM);
	if (r != 0)
		return;
	walk(root, UINT64_MAX, 0);
	if (mime_serialize(root, a, &b, &l) == 0)
		CHECK(l == size && memcmp(b, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a, 256u << 20);
	blobs(data, size, &a);
	arena_reset(&a);
	headers(data, size, &a);
	arena_reset(&a);
	raw_blob(data, size, &a);
	arena_free(&a);
	return 0;
}
