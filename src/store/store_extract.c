/* store_extract.c: what the store keeps of a new message's structure and text
 * (struct store_new_msg's extracted fields), found by one mime_extract pass before the
 * message is stored, so the work stays out of the store's write transaction. IMAP
 * APPEND and JMAP's new Emails call it; delivery fills its jobs the same way in
 * deliver.c (with the job's own arena). */
#include "store/store.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "core/arena.h"
#include "core/limits.h"
#include "core/log.h"
#include "mime/mime.h"
#include "core/banned.h"

/* What the store keeps of x, copied into a; m is left as it was when a is full. */
static void keep(struct store_new_msg *m, const struct mime_extract *x, const uint8_t *p,
		 struct arena *a)
{
	void *blob = arena_alloc(a, x->blob_len ? x->blob_len : 1);
	/* a longer header is not cached by the store anyway (store_new_msg) */
	bool hdr = x->header_len && x->header_len <= LIMIT_CACHED_HEADER;
	char *header = hdr ? arena_strndup(a, p, x->header_len) : NULL;
	char *preview = arena_strndup(a, x->preview, x->preview_len);
	char *text = arena_strndup(a, x->text, x->text_len);
	char *mid = x->message_id ? arena_strdup(a, x->message_id) : NULL;
	char *refs = x->references ? arena_strdup(a, x->references) : NULL;
	if (!blob || (hdr && !header) || !preview || !text || (x->message_id && !mid) ||
	    (x->references && !refs))
		return;
	memcpy(blob, x->blob, x->blob_len);
	m->mime = blob;
	m->mime_len = x->blob_len;
	m->header = header;
	m->header_len = header ? x->header_len : 0;
	m->preview = preview;
	m->text = text;
	m->text_len = x->text_len;
	m->message_id = mid;
	m->references = refs;
}

void store_new_msg_extract(struct store_new_msg *m, int fd, struct arena *a)
{
	if (m->size == 0)
		return;
	void *map = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		log_warn("store: cannot map new message %s: %s", m->path, strerror(errno));
		return;
	}
	(void)madvise(map, (size_t)m->size, MADV_SEQUENTIAL); /* a hint only */
	struct arena xa;
	arena_init(&xa, LIMIT_IMAP_APPEND_EXTRACT);
	struct mime_extract x;
	if (mime_extract(map, (size_t)m->size, &xa, &x) == 0)
		keep(m, &x, map, a);
	else
		log_warn("store: MIME extraction failed, %s stored without it size=%llu",
			 m->path, (unsigned long long)m->size);
	arena_free(&xa);
	(void)munmap(map, (size_t)m->size); /* nothing kept points into it */
}
