/* fuzz_http_request.c: libFuzzer target for src/http/http_parse.c.
 * The input (after its first byte, which picks a split offset) is a byte stream of
 * pipelined requests, fed the way the session feeds it: unconsumed input is offered
 * again with more after it. It is fed whole, split in two, and (when short) one byte at
 * a time; all must give the same transcript. Invariants: no call consumes more than it
 * was given; field names are tokens and values hold no CR, LF or NUL; a body never
 * passes its maximum; a decoded path holds no NUL. Seeds: fuzz/corpus/http_request/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 4096

struct run {
	struct arena a;
	struct http_parser hp;
	bool in_body, failed;
	uint8_t *pending;
	size_t pending_len, pending_cap;
	uint64_t hash; /* of the transcript: results, heads, body octets */
};

static void mix(struct run *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		r->hash = (r->hash ^ b[i]) * 1099511628211ull;
}

static void check_head(struct run *r)
{
	const struct http_head *h = &r->hp.head;
	mix(r, h->method, strlen(h->method) + 1);
	mix(r, h->target, strlen(h->target) + 1);
	for (size_t i = 0; i < h->n_fields; i++) {
		assert(strpbrk(h->values[i], "\r\n") == NULL);
		assert(h->names[i][0] && strpbrk(h->names[i], " \t:\r\n") == NULL);
		mix(r, h->names[i], strlen(h->names[i]) + 1);
		mix(r, h->values[i], strlen(h->values[i]) + 1);
	}
	assert(h->n_fields <= LIMIT_HTTP_HEADER_FIELDS);
	assert(h->body != HTTP_BODY_LENGTH || h->content_length > 0);
	const char *path, *query;
	if (http_target_split(&r->a, h->method, h->target, &path, &query) == 0)
		assert(strlen(path) <= strlen(h->target));
	uint8_t tag[4] = {(uint8_t)h->body, (uint8_t)h->close, (uint8_t)h->expect_continue,
			  (uint8_t)h->version};
	mix(r, tag, sizeof(tag));
}

static void pump(struct run *r)
{
	size_t off = 0;
	while (!r->failed) {
		size_t used = 0, avail = r->pending_len - off;
		int e;
		if (!r->in_body) {
			e = http_parse_head(&r->hp, r->pending + off, avail, &used);
			assert(used <= avail);
			if (e > 0) {
				off += used;
				check_head(r);
				r->hp.body_max = BODY_MAX;
				if (r->hp.head.body == HTTP_BODY_LENGTH &&
				    r->hp.head.content_length > BODY_MAX) {
					r->failed = true;
					mix(r, "413", 3);
					break;
				}
				r->in_body = true;
			}
		} else {
			const uint8_t *d;
			size_t dn;
			e = http_parse_body(&r->hp, r->pending + off, avail, &used, &d, &dn);
			assert(used <= avail);
			if (e > 0) {
				assert(dn == 0 || (d >= r->pending + off && d + dn <= r->pending + off + used));
				assert(r->hp.body_total <= BODY_MAX);
				off += used;
				mix(r, d ? d : (const uint8_t *)"", dn);
				if (r->hp.body_done) {
					mix(r, "END", 3);
					arena_reset(&r->a);
					http_parse_init(&r->hp, &r->a);
					r->in_body = false;
				}
			}
		}
		if (e < 0) {
			assert(r->hp.status >= 400 && r->hp.status < 600);
			mix(r, &r->hp.status, sizeof(r->hp.status));
			r->failed = true;
		}
		if (e <= 0)
			break;
	}
	memmove(r->pending, r->pending + off, r->pending_len - off);
	r->pending_len -= off;
}

static void feed(struct run *r, const uint8_t *p, size_t n)
{
	if (r->failed)
		return;
	if (r->pending_len + n > r->pending_cap) {
		r->pending_cap = (r->pending_len + n) * 2;
		r->pending = realloc(r->pending, r->pending_cap);
		assert(r->pending);
	}
	memcpy(r->pending + r->pending_len, p, n);
	r->pending_len += n;
	pump(r);
}

static uint64_t run(const uint8_t *p, size_t n, size_t cut, bool bytewise)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	r.hash = 1469598103934665603ull;
	arena_init(&r.a, LIMIT_HTTP_REQ_ARENA);
	http_parse_init(&r.hp, &r.a);
	if (bytewise) {
		for (size_t i = 0; i < n; i++)
			feed(&r, p + i, 1);
	} else {
		feed(&r, p, cut);
		feed(&r, p + cut, n - cut);
	}
	uint64_t h = r.hash;
	arena_free(&r.a);
	free(r.pending);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = data[0] % size;
	data++;
	size--;
	if (cut > size)
		cut = size;
	uint64_t whole = run(data, size, size, false);
	assert(run(data, size, cut, false) == whole);
	if (size <= 512)
		assert(run(data, size, 0, true) == whole);
	return 0;
}
