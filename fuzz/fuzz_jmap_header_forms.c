/* fuzz_jmap_header_forms.c: libFuzzer target for the RFC 8621 4.1.2 header forms and
 * the 4.1.3 header property reader (src/http/jmap_hform.c) and, through them, the
 * address, encoded-word and date readers they share with IMAP (mime_addr.c,
 * mime_text.c, core/date.c). The first byte picks a form; the rest is a field value,
 * a property name and a header block. Properties: no crash; every value is JSON that
 * serializes (valid UTF-8: jansson refuses anything else); Addresses has as many
 * addresses as GroupedAddresses holds in its groups; :all over a block has one entry
 * per instance and the last one equals the value without :all. Seeds:
 * fuzz/corpus/jmap_header_forms/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "http/jmap_hform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json(json_t *v)
{
	assert(v);
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert(s);
	free(s);
}

static size_t grouped_count(json_t *g)
{
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(g, i, e) n += json_array_size(json_object_get(e, "addresses"));
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static bool init;
	if (!init) {
		arena_init(&a, 64u << 20);
		init = true;
	}
	if (size < 1)
		return 0;
	enum jmap_hform form = (enum jmap_hform)(data[0] % (JMAP_HF_URLS + 1));
	const uint8_t *v = data + 1;
	size_t n = size - 1;

	arena_reset(&a);
	json_t *one = jmap_hform_value(form, v, n, &a);
	check_json(one);
	json_decref(one);

	arena_reset(&a);
	json_t *flat = jmap_hform_value(JMAP_HF_ADDRESSES, v, n, &a);
	json_t *grouped = jmap_hform_value(JMAP_HF_GROUPED, v, n, &a);
	check_json(flat);
	check_json(grouped);
	assert(json_array_size(flat) == grouped_count(grouped));
	json_decref(flat);
	json_decref(grouped);

	/* the value as a property name */
	char *name = malloc(n + 1);
	assert(name);
	memcpy(name, v, n);
	name[n] = '\0';
	struct jmap_hprop h;
	if (jmap_hform_prop(name, &h) == 0)
		assert(h.name_len > 0 && jmap_hform_allowed(h.name, h.name_len, h.form));
	free(name);

	/* the value as a header block: X-F fields in the chosen form */
	arena_reset(&a);
	struct jmap_hprop all = {.name = "X-F", .name_len = 3, .form = form, .all = true};
	struct jmap_hprop last = all;
	last.all = false;
	json_t *va = jmap_hform_get(&all, v, n, &a), *vl = jmap_hform_get(&last, v, n, &a);
	json_t *hdrs = jmap_hform_headers(v, n, &a);
	check_json(va);
	check_json(vl);
	check_json(hdrs);
	if (json_array_size(va))
		assert(json_equal(json_array_get(va, json_array_size(va) - 1), vl));
	else
		assert(json_is_null(vl));
	json_decref(va);
	json_decref(vl);
	json_decref(hdrs);
	return 0;
}
