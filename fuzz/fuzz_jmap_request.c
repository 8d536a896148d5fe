/* fuzz_jmap_request.c: libFuzzer target for the JMAP request engine
 * (src/http/jmap_request.c), its depth pre-scan (jmap_scan.c) and JSON Pointer with '*'
 * (jmap_pointer.c, reached through result references between Core/echo calls).
 * Properties: the engine never crashes and answers either a response or a request-level
 * error with a type; a response has one entry per call (Core/echo makes no implicit
 * ones) and serializes; whatever the scan lets through and jansson parses nests no
 * deeper than the scan's bound (the pre-scan is what stands between a request and
 * jansson's own 2048 levels); the engine is deterministic. Seeds: fuzz/corpus/jmap_request/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t depth_of(json_t *v)
{
	size_t d = 0, i;
	const char *k;
	json_t *m;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			size_t c = depth_of(m);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, m) {
			size_t c = depth_of(m);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

static char *run(struct arena *a, const uint8_t *data, size_t size, int *rc_out)
{
	struct jmap_ctx x;
	struct jmap_request_error e;
	json_t *resp = NULL;
	memset(&x, 0, sizeof x);
	memset(&e, 0, sizeof e);
	arena_reset(a);
	x.a = a;
	x.account_id = 1;
	x.address = "fuzz@example.org";
	int rc = jmap_request(&x, data, size, "1", &resp, &e);
	*rc_out = rc;
	if (rc < 0) {
		assert(!resp);
		assert(e.type && e.status >= 400);
		return strdup(e.type);
	}
	assert(resp);
	json_t *req = json_loadb((const char *)data, size, 0, NULL);
	assert(req);
	assert(json_array_size(json_object_get(resp, "methodResponses")) ==
	       json_array_size(json_object_get(req, "methodCalls")));
	json_decref(req);
	char *s = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);
	assert(s);
	json_decref(resp);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static bool init;
	if (!init) {
		arena_init(&a, LIMIT_JMAP_ARENA);
		init = true;
	}
	if (jmap_scan_depth(data, size, LIMIT_JMAP_DEPTH) == 0) {
		json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
		if (v)
			assert(depth_of(v) <= LIMIT_JMAP_DEPTH);
		json_decref(v);
	}
	int rc1, rc2;
	char *r1 = run(&a, data, size, &rc1);
	char *r2 = run(&a, data, size, &rc2);
	assert(rc1 == rc2 && strcmp(r1, r2) == 0);
	free(r1);
	free(r2);
	return 0;
}
