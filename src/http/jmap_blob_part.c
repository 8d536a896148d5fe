/* jmap_blob_part.c: every blob id of an account through one opener (contract C1 in
 * jmap.h): uploads "U<hex>", whole messages "G<EMAILID>", and parts "G<EMAILID>.<part>"
 * (also "U<hex>.<part>": a part of an uploaded message, the blobIds Email/parse gives
 * the parts of an upload). A part's content is its body with the Content-Transfer-
 * Encoding removed (charset untouched), written to an unlinked temporary file that the
 * caller's fd holds; the decoded size is never larger than the encoded one, so the
 * file is bounded by the message (at most the store's message size limit).
 *
 * Isolation: ids are looked up only in the account's own store (store_email_get,
 * store_blob_open), never used as paths; an id of another account is simply unknown:
 * ERR_NOTFOUND, the same answer as for an id that never existed. */
#include "http/jmap_email_get_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/fdio.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

#define HEX_LEN 32

static bool hex32(const char *s)
{
	for (size_t i = 0; i < HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* An unlinked temporary file, read-write. */
static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = P_tmpdir;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/kasten-part-XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	fd = mkstemp(path);
	if (fd >= 0)
		(void)unlink(path); /* only the fd names it from now on */
	return fd;
}

/* Decode part p of m into a new temporary file: *fd_out at offset 0, *size_out. */
static int decode_to_file(struct jmap_msg *m, const struct mime_part *p, int *fd_out,
			  uint64_t *size_out)
{
	const uint8_t *in;
	size_t left;
	int rc = jmap_msg_part_body(m, p, &in, &left);
	if (rc < 0)
		return rc;
	struct mime_cte_dec d;
	(void)mime_cte_init(&d, p->encoding.s, p->encoding.s ? p->encoding.len : 0);
	/* an unknown encoding passes the bytes as they are (d is set up so) */
	int fd = temp_file();
	if (fd < 0) {
		log_err("jmap: a temporary file for a part: %s", strerror(errno));
		return ERR_IO;
	}
	uint8_t buf[65536];
	uint64_t total = 0;
	for (;;) {
		size_t used = 0, written = 0;
		int more = mime_cte_decode(&d, in, left, true, &used, buf, sizeof buf, &written);
		in += used;
		left -= used;
		total += written;
		if (written && (rc = fd_write_all(fd, buf, written)) < 0)
			break;
		if (more == 0)
			break;
	}
	if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
		rc = ERR_IO;
	if (rc < 0) {
		(void)close(fd);
		return rc;
	}
	*fd_out = fd;
	*size_out = total;
	return 0;
}

int jmap_blob_part_open(struct store *st, const char *blob_id, struct arena *a, int *fd_out,
			uint64_t *size_out, const char **type_out)
{
	if ((blob_id[0] != 'G' && blob_id[0] != 'U') || strlen(blob_id) < 1 + HEX_LEN + 2 ||
	    !hex32(blob_id + 1) || blob_id[1 + HEX_LEN] != '.')
		return ERR_NOTFOUND;
	const char *part_id = blob_id + 1 + HEX_LEN + 1;
	struct arena scratch;
	struct jmap_msg m;
	arena_init(&scratch, LIMIT_JMAP_EMAIL_ARENA);
	int rc = 0;
	if (blob_id[0] == 'G') {
		const char *id = arena_strndup(&scratch, blob_id + 1, HEX_LEN);
		struct store_email *e;
		size_t n = 0;
		rc = id ? store_email_get(st, &id, 1, &scratch, &e, &n) : ERR_NOMEM;
		if (rc == 0 && (n == 0 || e[0].n == 0))
			rc = ERR_NOTFOUND;
		if (rc == 0)
			jmap_msg_init_store(&m, &scratch, st, e[0].mailbox_ids[0], e[0].uids[0]);
	} else {
		const char *id = arena_strndup(&scratch, blob_id, 1 + HEX_LEN), *type;
		int fd = -1;
		uint64_t size;
		rc = id ? store_blob_open(st, id, &fd, &size, &type, &scratch) : ERR_NOMEM;
		if (rc == 0)
			jmap_msg_init_fd(&m, &scratch, fd, size);
	}
	if (rc < 0) {
		arena_free(&scratch);
		return rc;
	}
	struct mime_part *p = NULL;
	rc = jmap_msg_root(&m);
	if (rc == 0 && !(p = jmap_msg_find_part(m.root, part_id)))
		rc = ERR_NOTFOUND;
	if (rc == 0)
		rc = decode_to_file(&m, p, fd_out, size_out);
	if (rc == 0) {
		*type_out = arena_printf(a, "%s/%s", p->type ? p->type : "text",
					 p->subtype ? p->subtype : "plain");
		if (!*type_out) {
			(void)close(*fd_out);
			rc = ERR_NOMEM;
		}
	}
	jmap_msg_close(&m);
	arena_free(&scratch);
	return rc;
}

int jmap_blob_open_any(struct jmap_ctx *x, const char *blob_id, int *fd_out,
		       uint64_t *size_out, const char **type_out)
{
	size_t len = strlen(blob_id);
	if (len > 1 + HEX_LEN && blob_id[1 + HEX_LEN] == '.')
		return jmap_blob_part_open(x->st, blob_id, x->a, fd_out, size_out, type_out);
	if (blob_id[0] == 'U')
		return store_blob_open(x->st, blob_id, fd_out, size_out, type_out, x->a);
	if (blob_id[0] != 'G' || len != 1 + HEX_LEN || !hex32(blob_id + 1))
		return ERR_NOTFOUND;
	const char *id = blob_id + 1;
	struct store_email *e;
	size_t n = 0;
	int rc = store_email_get(x->st, &id, 1, x->a, &e, &n);
	if (rc < 0)
		return rc;
	if (n == 0 || e[0].n == 0)
		return ERR_NOTFOUND;
	*type_out = "message/rfc822";
	return store_msg_open(x->st, e[0].mailbox_ids[0], e[0].uids[0], fd_out, size_out);
}
