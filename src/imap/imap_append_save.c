/* imap_append_save.c: storing a complete APPEND, on the worker pool (imap_append.c
 * took the data). Each message is read once, as deliver/ reads mail that arrives
 * (deliver.c job_index): the spool file is mapped and mime_extract() gives the MIME
 * structure, the cached header, the preview, the search text and the ids for THREADID,
 * so FETCH and SEARCH treat appended and delivered mail alike. Then one
 * store_append_multi call stores them all or none (RFC 3502), durably (every file
 * fsynced, one commit) before the client hears OK; the spool files go afterwards,
 * either way (the store has linked what it keeps).
 * Memory: one extraction arena of LIMIT_IMAP_APPEND_EXTRACT at a time; what the store
 * needs of it is copied into the job's arena. When that is full, a message goes
 * without it and the store extracts the same from the file itself at insert: slower
 * under its lock, never different. */
#include "imap/imap_write.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

/* What the store keeps of x, copied into a; m is left as it was when a is full. */
static void keep(struct store_new_msg *m, const struct mime_extract *x, const uint8_t *p,
                 struct arena *a)
{
	void *blob = arena_alloc(a, x->blob_len ? x->blob_len : 1);
	/* a longer header is not cached by the store anyway (store.h) */
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

/* Map one spool file and extract from it. Failures leave m without the extracted
 * fields: a message is never refused over its structure. */
static void extract(struct store_new_msg *m, struct arena *a)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || (uint64_t)sb.st_size != m->size || !m->size) {
		log_warn("imap: APPEND: cannot read back spool file %s", m->path);
		if (fd >= 0)
			(void)close(fd); /* read-only */
		return;
	}
	void *map = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd); /* the mapping keeps the file */
	if (map == MAP_FAILED) {
		log_warn("imap: APPEND: cannot map spool file %s: %s", m->path, strerror(errno));
		return;
	}
	(void)madvise(map, (size_t)m->size, MADV_SEQUENTIAL); /* a hint only */
	struct arena x_arena;
	arena_init(&x_arena, LIMIT_IMAP_APPEND_EXTRACT);
	struct mime_extract x;
	if (mime_extract(map, (size_t)m->size, &x_arena, &x) == 0)
		keep(m, &x, map, a);
	else
		log_warn("imap: APPEND: MIME extraction failed, stored without it size=%llu",
		         (unsigned long long)m->size);
	arena_free(&x_arena);
	(void)munmap(map, (size_t)m->size); /* nothing kept points into it */
}

int imap_append_save(struct imap_job *j, struct store *st)
{
	struct imap_append_state *t = j->state;
	const struct store_new_msg **v = arena_alloc(&j->a, t->nfiles * sizeof(*v));
	int r = v ? 0 : ERR_NOMEM;
	for (size_t i = 0; r == 0 && i < t->nfiles; i++) {
		extract(&t->msgs[i], &j->a);
		v[i] = &t->msgs[i];
	}
	if (r == 0)
		r = store_append_multi(st, t->mailbox, v, t->nfiles, &t->uidvalidity, t->uids);
	imap_append_release(j); /* linked into the account, or refused: the spool is done */
	return r;
}
