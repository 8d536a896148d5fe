/* authres_spool.c: the spool file the delivery gets after the checks: our trace fields,
 * the Authentication-Results field, the message's own header fields less the ones of
 * ours that were forged, then the rest of the message. The message never sits in
 * memory: the trace fields and everything after the header go file to file with
 * copy_file_range (read/write where the file system cannot). The new file is not
 * synced here: the delivery's commit makes it durable like every spool file. */
#include "outbound/authres_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fdio.h"
#include "core/log.h"
#include "core/banned.h"

#define AUTHRES_COPY_BUF (64u << 10)

/* Copy [off, off+n) of in (n = UINT64_MAX: to its end) to the end of out. */
static int spool_copy(int in, uint64_t off, uint64_t n, int out, uint64_t *copied)
{
	loff_t from = (loff_t)off;
	bool plain = false;
	uint8_t *buf = NULL;
	int r = 0;
	*copied = 0;
	while (n > 0 && r == 0) {
		size_t want = n > (1u << 30) ? (1u << 30) : (size_t)n;
		ssize_t k;
		if (!plain) {
			k = copy_file_range(in, &from, out, NULL, want, 0);
			if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			              errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			if (!buf && !(buf = malloc(AUTHRES_COPY_BUF))) {
				r = ERR_NOMEM;
				break;
			}
			k = pread(in, buf, want < AUTHRES_COPY_BUF ? want : AUTHRES_COPY_BUF, from);
			if (k > 0 && fd_write_all(out, buf, (size_t)k) < 0)
				k = -1;
			else if (k > 0)
				from += k;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			r = ERR_IO;
		else if (k == 0)
			break; /* the end of in */
		else {
			*copied += (uint64_t)k;
			if (n != UINT64_MAX)
				n -= (uint64_t)k;
		}
	}
	free(buf);
	return r;
}

int authres_spool_write(int in_fd, uint64_t trace, const struct authres_header *h, const char *ar,
                        size_t ar_len, char *path_out, uint64_t *size_out)
{
	int out;
	int r = deliver_spool_create(path_out, DELIVER_PATH_MAX, &out);
	if (r < 0)
		return r;
	uint64_t size = 0, copied = 0;
	r = spool_copy(in_fd, 0, trace, out, &copied);
	if (r == 0 && copied != trace)
		r = ERR_IO; /* the spool file is shorter than its own trace fields */
	size += copied;
	if (r == 0)
		r = fd_write_all(out, ar, ar_len);
	size += ar_len;
	size_t at = 0;
	for (size_t i = 0; r == 0 && i <= h->n_cut; i++) {
		size_t end = i < h->n_cut ? h->cut[i][0] : h->end_line;
		r = fd_write_all(out, h->buf + at, end - at);
		size += end - at;
		at = i < h->n_cut ? h->cut[i][1] : end;
	}
	if (r == 0)
		r = spool_copy(in_fd, trace + h->end_line, UINT64_MAX, out, &copied);
	size += copied;
	if (close(out) < 0 && r == 0)
		r = ERR_IO; /* a delayed write error shows here */
	if (r < 0) {
		log_err("checks: writing %s: %s", path_out, err_str(r));
		(void)unlink(path_out); /* ours alone: nothing refers to it yet */
		return r;
	}
	*size_out = size;
	return 0;
}
