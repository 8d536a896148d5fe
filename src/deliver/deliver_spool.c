/* deliver_spool.c: the spool directory <data>/spool/ and writing generated messages.
 *
 * Owns: spool file names (unique: time, pid, a counter and random bits, created with
 * O_EXCL so a clash is retried, never shared), the start-up sweep of files left by a
 * crashed process (never acknowledged), and the buffered writer the pipeline uses
 * for quota warnings and DSNs. Every write(2) is checked and retried on EINTR/short
 * writes; the first error sticks, and closing a writer with an error removes the file.
 * Limits: 8 KiB of buffered output per writer, 2 KiB per formatted piece. */
#include "deliver/deliver_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/fdio.h"

static atomic_uint_fast64_t spool_seq;

/* Names are TIME.PID.SEQ.RANDOM (deliver_spool_create): is that process gone? */
static bool owner_gone(const char *name)
{
	const char *dot = strchr(name, '.');
	if (!dot)
		return false;
	char *end = NULL;
	errno = 0;
	long long pid = strtoll(dot + 1, &end, 10);
	if (errno || end == dot + 1 || *end != '.' || pid <= 1 || pid > INT32_MAX)
		return false;
	if ((pid_t)pid == getpid())
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int deliver_spool_prepare(const char *data_dir)
{
	char dir[DELIVER_PATH];
	int n = snprintf(dir, sizeof(dir), "%s/spool", data_dir);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return ERR_TOO_LONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_err("deliver: cannot create spool dir=%s: %s", dir, strerror(errno));
		return ERR_IO;
	}
	DIR *d = opendir(dir);
	if (!d) {
		log_err("deliver: cannot open spool dir=%s: %s", dir, strerror(errno));
		return ERR_IO;
	}
	/* Other kasten processes (import, admin) may share the directory: remove only files
	 * whose creator is gone, or that are older than any live transfer can be. */
	time_t cutoff = time(NULL) - DELIVER_SPOOL_STALE;
	unsigned removed = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (st.st_mtime >= cutoff && !owner_gone(e->d_name))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		log_info("deliver: removed stale spool files count=%u", removed);
	return 0;
}

int deliver_spool_create(char *path_out, size_t cap, int *fd_out)
{
	const char *data = deliver_data_dir();
	if (!data || !path_out || !fd_out)
		return ERR_INVAL;
	for (int attempt = 0; attempt < 8; attempt++) {
		char rnd[17];
		int r = str_random_hex(rnd, 8);
		if (r < 0)
			return r;
		unsigned long long seq = (unsigned long long)atomic_fetch_add(&spool_seq, 1);
		int n = snprintf(path_out, cap, "%s/spool/%lld.%ld.%llu.%s", data,
				 (long long)time(NULL), (long)getpid(), seq, rnd);
		if (n < 0 || (size_t)n >= cap)
			return ERR_FULL;
		int fd = open(path_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*fd_out = fd;
			return 0;
		}
		if (errno != EEXIST && errno != EINTR) {
			log_err("deliver: cannot create spool file %s: %s", path_out,
				strerror(errno));
			return ERR_IO;
		}
	}
	return ERR_IO;
}

int deliver_spool_open(struct deliver_spool_w *w)
{
	w->fd = -1;
	w->err = 0;
	w->size = 0;
	buf_init(&w->out, w->storage, sizeof(w->storage));
	return deliver_spool_create(w->path, sizeof(w->path), &w->fd);
}

static int flush_out(struct deliver_spool_w *w)
{
	if (w->err == 0 && w->out.len > 0) {
		w->err = fd_write_all(w->fd, w->out.data, w->out.len);
		if (w->err < 0)
			log_err("deliver: write to spool file %s failed: %s", w->path,
				strerror(errno));
	}
	buf_clear(&w->out);
	return w->err;
}

int deliver_spool_write(struct deliver_spool_w *w, const void *p, size_t n)
{
	if (w->err < 0)
		return w->err;
	if (n > buf_room(&w->out) && flush_out(w) < 0)
		return w->err;
	if (n > buf_room(&w->out)) {
		/* larger than the whole buffer: straight through */
		w->err = fd_write_all(w->fd, p, n);
		if (w->err < 0)
			return w->err;
	} else {
		int r = buf_append(&w->out, p, n);
		assert(r == 0);
		(void)r;
	}
	w->size += n;
	return 0;
}

int deliver_spool_puts(struct deliver_spool_w *w, const char *s)
{
	return deliver_spool_write(w, s, strlen(s));
}

int deliver_spool_printf(struct deliver_spool_w *w, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (w->err == 0)
			w->err = n < 0 ? ERR_INVAL : ERR_TOO_LONG;
		return w->err;
	}
	return deliver_spool_write(w, tmp, (size_t)n);
}

int deliver_spool_close(struct deliver_spool_w *w, uint64_t *size_out)
{
	(void)flush_out(w);
	if (w->fd >= 0 && close(w->fd) < 0 && w->err == 0)
		w->err = ERR_IO;
	w->fd = -1;
	if (w->err < 0) {
		if (unlink(w->path) < 0 && errno != ENOENT)
			log_warn("deliver: cannot remove spool file %s: %s", w->path,
				 strerror(errno));
		return w->err;
	}
	if (size_out)
		*size_out = w->size;
	return 0;
}

void deliver_spool_discard(struct deliver_spool_w *w)
{
	if (w->fd >= 0)
		(void)close(w->fd); /* the file goes away next: its close status is moot */
	w->fd = -1;
	if (w->err == 0)
		w->err = ERR_IO;
	if (unlink(w->path) < 0 && errno != ENOENT)
		log_warn("deliver: cannot remove spool file %s: %s", w->path, strerror(errno));
}
