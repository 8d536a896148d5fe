/* sqs_mime.c: the MIME structure of a stored message (the mime_serialize blob that FETCH
 * ENVELOPE / BODYSTRUCTURE are answered from).
 *
 * Delivery and APPEND hand the blob in with the message (or the store extracts it at
 * insert) and it is kept in the message's content row, shared by its copies. A content
 * without one (a message too complex for the arena that extracted it, or a row that
 * predates indexing) is indexed here from the message file on first use, into the
 * caller's arena, and the blob is written back: the message file never changes, so the
 * blob stays right, and every later FETCH copies it instead of parsing the file again.
 * The write-back is a cache fill on a read path, so it never waits: if another
 * connection holds the write lock it is skipped (the next call tries again), and a
 * failure is logged and the answer still returned.
 * Limits: the caller's arena bounds the parse (tree and blob); a structure that does not
 * fit is ERR_TOO_BIG, an answer the caller can give the client, not a reason to close it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "mime/mime.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

/* The row's guid, and its blob copied into a (*blob_out NULL when the row has none). */
static int row_get(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, char *guid,
		   struct arena *a, const void **blob_out, size_t *len_out)
{
	sqlite3_stmt *q = sqs_q(h, Q_CT_MIME);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	int rc = sqs_step(h, q), r = 0;
	*blob_out = NULL;
	*len_out = 0;
	if (rc == SQLITE_ROW) {
		(void)snprintf(guid, SQS_GUID_LEN + 1, "%s", sqlite3_column_text(q, 0));
		const void *b = sqlite3_column_blob(q, 1);
		size_t n = (size_t)sqlite3_column_bytes(q, 1);
		void *copy = b && n ? arena_alloc(a, n) : NULL;
		if (b && n && !copy) {
			r = ERR_NOMEM;
		} else if (copy) {
			memcpy(copy, b, n);
			*blob_out = copy;
			*len_out = n;
		}
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : (sqs_err(rc) ? sqs_err(rc) : ERR_IO);
	}
	sqlite3_reset(q);
	return r;
}

/* mime_index over the file, mapped read-only (a message is never read into memory).
 * ERR_NOTFOUND (not logged) when there is no file; other failures are logged. */
static int index_file(const char *path, struct arena *a, void **blob_out, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return ERR_NOTFOUND;
		log_err("store: message file path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		log_err("store: message file path=%s is not a readable file", path);
		(void)close(fd); /* read-only: nothing to lose */
		return ERR_IO;
	}
	if ((uint64_t)sb.st_size > SIZE_MAX) {
		(void)close(fd);
		return ERR_TOO_BIG;
	}
	static const uint8_t empty[1];
	const uint8_t *p = empty;
	void *map = NULL;
	size_t size = (size_t)sb.st_size;
	if (size > 0) {
		map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			log_err("store: map path=%s: %s", path, strerror(errno));
			(void)close(fd);
			return ERR_IO;
		}
		p = map;
	}
	(void)close(fd); /* the mapping keeps the file */
	int r = mime_index(p, size, a, blob_out, len_out);
	if (map)
		(void)munmap(map, size); /* the blob holds no pointers into it */
	/* mime_index fails only when the arena is full: this message's structure needs more
	 * room than the caller has, which is an answer, not a reason to drop the client */
	return r == ERR_NOMEM ? ERR_TOO_BIG : r;
}

/* Keep the blob in the row for the next FETCH (see the top of this file). */
static void write_back(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, const char *guid,
		       const void *blob, size_t len)
{
	sqlite3_stmt *q = sqs_q(h, Q_CT_SET_MIME);
	if (!q)
		return; /* logged by sqs_q */
	sqlite3_bind_text(q, 1, guid, SQS_GUID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob64(q, 2, blob, len, SQLITE_STATIC);
	sqlite3_busy_timeout(h->db, 0);
	int rc = sqlite3_step(q); /* not sqs_step: BUSY is an expected answer here */
	sqlite3_busy_timeout(h->db, SQS_BUSY_MS);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		log_debug(LOGC_STORE, "store: account=%lld mailbox=%lld uid=%u: MIME blob not "
			  "kept, a writer is busy", (long long)h->account_id,
			  (long long)mailbox_id, uid);
	else if (rc != SQLITE_DONE)
		log_warn("store: account=%lld mailbox=%lld uid=%u: MIME blob not kept: %s",
			 (long long)h->account_id, (long long)mailbox_id, uid,
			 sqlite3_errmsg(h->db));
	sqlite3_reset(q);
}

int sqs_msg_mime(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
		 const void **blob_out, size_t *len_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	char guid[SQS_GUID_LEN + 1], path[4096];
	int r = row_get(h, mailbox_id, uid, guid, a, blob_out, len_out);
	if (r < 0 || *blob_out)
		return r;
	r = sqs_msg_path((struct sqs_env *)st->env, st->account_id, guid, path, sizeof(path));
	void *blob = NULL;
	size_t len = 0;
	if (r == 0)
		r = index_file(path, a, &blob, &len);
	if (r == ERR_NOTFOUND) {
		/* expunged and reaped since the row was read, or damage if the row is still
		 * there: rows exist only for files that were made durable */
		const void *b;
		size_t n;
		r = row_get(h, mailbox_id, uid, guid, a, &b, &n);
		if (r == 0) {
			log_err("store: message file path=%s is missing", path);
			r = ERR_IO;
		}
	} else if (r == ERR_TOO_BIG) {
		log_debug(LOGC_STORE, "store: account=%lld mailbox=%lld uid=%u: MIME structure "
			  "does not fit the arena", (long long)st->account_id,
			  (long long)mailbox_id, uid);
	}
	if (r < 0)
		return r;
	write_back(h, mailbox_id, uid, guid, blob, len);
	*blob_out = blob;
	*len_out = len;
	return 0;
}
