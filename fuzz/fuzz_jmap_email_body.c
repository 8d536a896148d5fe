/* fuzz_jmap_email_body.c: libFuzzer target for the body properties of RFC 8621 4.1.4
 * (src/http/jmap_email_body.c) and the part-id reader (jmap_email_msg.c) over any
 * message, as Email/parse reads an upload: the input is the message, held in a memory
 * file. Properties: no crash; the properties serialize; every leaf of bodyStructure
 * has a partId that jmap_msg_find_part finds (a non-multipart), and its blob id is
 * the prefix + "." + partId; textBody, htmlBody and attachments hold only leaves of
 * bodyStructure; a body value is never longer than maxBodyValueBytes. The input's
 * last 12 bytes are also tried as a part id. Seeds: fuzz/corpus/jmap_email_body/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "http/jmap_email_get_int.h"
#include "mime/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VALUE 64

static const char *const props[] = {"partId", "blobId", "size", "headers", "name", "type",
				    "charset", "disposition", "cid", "language", "location",
				    "header:Content-Type:asRaw", NULL};

static void leaves(struct jmap_msg *m, json_t *part, json_t *ids)
{
	json_t *sub = json_object_get(part, "subParts");
	if (json_is_array(sub)) {
		size_t i;
		json_t *c;
		json_array_foreach(sub, i, c) leaves(m, c, ids);
		return;
	}
	const char *id = json_string_value(json_object_get(part, "partId"));
	assert(id);
	struct mime_part *p = jmap_msg_find_part(m->root, id);
	assert(p && !jmap_part_is_multipart(p));
	const char *blob = json_string_value(json_object_get(part, "blobId"));
	assert(blob && strncmp(blob, m->blob_prefix, strlen(m->blob_prefix)) == 0 &&
	       strcmp(blob + strlen(m->blob_prefix) + 1, id) == 0);
	json_object_set_new(ids, id, json_true());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static bool init;
	if (!init) {
		arena_init(&a, 64u << 20);
		init = true;
	}
	if (size == 0 || size > (1u << 20))
		return 0;
	int fd = memfd_create("fuzz", 0);
	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	arena_reset(&a);
	struct jmap_msg m;
	jmap_msg_init_fd(&m, &a, fd, size);
	m.blob_prefix = "U0123456789abcdef0123456789abcdef";
	struct jmap_body_args b = {.props = (const char **)props, .fetch_all = true,
				   .fetch_text = true, .fetch_html = true,
				   .max_bytes = MAX_VALUE};
	struct jmap_body_want w = {true, true, true, true, true, true};
	json_t *o = json_object();
	int rc = jmap_body_props(&m, &b, &w, o);
	if (rc == 0) {
		char *s = json_dumps(o, JSON_COMPACT);
		assert(s);
		free(s);
		json_t *ids = json_object();
		leaves(&m, json_object_get(o, "bodyStructure"), ids);
		const char *lists[] = {"textBody", "htmlBody", "attachments"};
		for (size_t k = 0; k < 3; k++) {
			size_t i;
			json_t *p;
			json_array_foreach(json_object_get(o, lists[k]), i, p)
				assert(json_object_get(ids, json_string_value(json_object_get(p, "partId"))));
		}
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(o, "bodyValues"), key, v)
			assert(json_string_length(json_object_get(v, "value")) <= MAX_VALUE);
		json_decref(ids);
		char id[13];
		size_t n = size < 12 ? size : 12;
		memcpy(id, data + size - n, n);
		id[n] = '\0';
		struct mime_part *p = jmap_msg_find_part(m.root, id);
		assert(!p || !jmap_part_is_multipart(p));
	}
	json_decref(o);
	jmap_msg_close(&m);
	return 0;
}
