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
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

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
	store_new_msg_extract(m, fd, a);
	(void)close(fd); /* read-only */
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
