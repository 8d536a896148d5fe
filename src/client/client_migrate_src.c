/* client_migrate_src.c: kasten migrate's side of the local messages: opening a Maildir
 * file without changing anything (O_RDONLY, O_NOATIME where the kernel allows it),
 * spooling an mbox message to an unlinked file, hashing a message, and the APPEND
 * reader that sends LF line ends as CRLF. Owns nothing beyond the descriptors it opens
 * for the caller. Reads in pieces of LIMIT_CLIENT_IMAP_CHUNK / 2 bytes. */
#include "client/client_migrate_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/banned.h"

int client_migrate_src_open(const char *path, int *fd_out)
{
	/* O_NOATIME: reading mail must not look like reading it to another mail program;
	 * the kernel refuses it (EPERM) on files we do not own */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	*fd_out = fd;
	return 0;
}

int client_migrate_src_spool(const char *dir, int *fd_out)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* a file system without O_TMPFILE: a named file, unlinked at once */
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), "%s/migrate-spool-XXXXXX", dir);
		if (n < 0 || (size_t)n >= sizeof(path))
			return ERR_TOO_LONG;
		fd = mkstemp(path);
		if (fd < 0)
			return ERR_IO;
		(void)unlink(path); /* the descriptor keeps it; a leftover is only space */
	}
	*fd_out = fd;
	return 0;
}

int client_migrate_src_digest(struct migrate_local *m)
{
	struct client_digest d;
	uint8_t buf[LIMIT_CLIENT_IMAP_CHUNK / 2];
	int r = client_digest_init(&d);
	if (r < 0)
		return r;
	if (lseek(m->fd, 0, SEEK_SET) < 0) {
		client_digest_free(&d);
		return ERR_IO;
	}
	for (;;) {
		ssize_t n = read(m->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			client_digest_free(&d);
			return ERR_IO;
		}
		if (n == 0)
			break;
		client_digest_update(&d, buf, (size_t)n);
	}
	r = client_digest_final(&d, m->sha, &m->size, m->msgid, sizeof(m->msgid));
	if (r == 0 && lseek(m->fd, 0, SEEK_SET) < 0)
		r = ERR_IO;
	return r;
}

void client_migrate_reader_init(struct migrate_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

int client_migrate_reader_read(void *arg, void *out, size_t cap, size_t *n_out)
{
	struct migrate_reader *r = arg;
	uint8_t *o = out;
	size_t k = 0;
	while (k < cap) {
		if (r->off == r->len) {
			ssize_t n = read(r->fd, r->buf, sizeof(r->buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return ERR_IO;
			if (n == 0)
				break;
			r->off = 0;
			r->len = (size_t)n;
		}
		uint8_t c = r->buf[r->off];
		if (r->lf_owed) {
			/* the LF after the CR put in front of it */
			o[k++] = '\n';
			r->lf_owed = false;
			r->prev_cr = false;
			r->off++;
		} else if (c == '\n' && !r->prev_cr) {
			o[k++] = '\r';
			r->lf_owed = true;
		} else {
			o[k++] = c;
			r->prev_cr = c == '\r';
			r->off++;
		}
	}
	*n_out = k;
	return 0;
}
