/* client_maildir.c: one Maildir opened for kasten fetch, sync and migrate: creating it,
 * unique file names, and writing a message with the commit order of DESIGN.md (tmp/,
 * fsync, rename into new/ or cur/, fsync of that directory). Owns the open directory
 * descriptors and one write buffer of LIMIT_CLIENT_MAILDIR_WRITE bytes per message being
 * written; the listing used by find lives in client_maildir_index.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_maildir_int.h"
#include "core/err.h"
#include "core/flush.h"
#include "core/limits.h"
#include "core/banned.h"

/* The info letters in ASCII order, bit i of enum client_flag being letter i. */
static const char maildir_letters[] = "DFPRST";

struct client_maildir_msg {
	struct client_maildir *md;
	int fd;          /* the file in tmp/ */
	int err;         /* the first write error; later calls return it */
	bool cr_pending; /* the last byte given was a CR: dropped if an LF follows */
	size_t len;      /* bytes gathered in buf */
	uint64_t size;   /* bytes put so far */
	char base[CLIENT_MAILDIR_NAME_MAX];
	unsigned char buf[LIMIT_CLIENT_MAILDIR_WRITE];
};

void client_maildir_flags_str(unsigned flags, char *buf)
{
	size_t n = 0;
	for (unsigned i = 0; maildir_letters[i]; i++)
		if (flags & (1u << i))
			buf[n++] = maildir_letters[i];
	buf[n] = '\0';
}

unsigned client_maildir_flags_of(const char *name)
{
	const char *info = strchr(name, ':');
	if (!info || info[1] != '2' || info[2] != ',')
		return 0;
	unsigned flags = 0;
	for (const char *p = info + 3; *p; p++) {
		const char *l = strchr(maildir_letters, *p);
		if (l)
			flags |= 1u << (l - maildir_letters);
	}
	return flags;
}

size_t client_maildir_base_len(const char *name)
{
	return strcspn(name, ":");
}

int client_maildir_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return ERR_NOTFOUND;
	case EEXIST:
		return ERR_EXISTS;
	case EACCES:
	case EPERM:
	case EROFS:
		return ERR_PERM;
	case ENOSPC:
	case EDQUOT:
		return ERR_QUOTA;
	case ENOMEM:
		return ERR_NOMEM;
	default:
		return ERR_IO;
	}
}

/* mkdir -p of path, 0700: every missing level. */
static int maildir_mkdirs(const char *path)
{
	size_t n = strlen(path);
	char *p = malloc(n + 1);
	if (!p)
		return ERR_NOMEM;
	memcpy(p, path, n + 1);
	int rc = 0;
	for (size_t i = 1; i <= n && rc == 0; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = client_maildir_errno(errno);
		p[i] = c;
	}
	free(p);
	return rc;
}

/* The directory sub of the Maildir at root_fd, created when create is set. */
static int maildir_subdir(int root_fd, const char *sub, bool create, int *fd_out)
{
	if (create && mkdirat(root_fd, sub, 0700) != 0 && errno != EEXIST)
		return client_maildir_errno(errno);
	int fd = openat(root_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return client_maildir_errno(errno);
	*fd_out = fd;
	return 0;
}

int client_maildir_open(const char *path, bool create, struct client_maildir **md_out)
{
	*md_out = NULL;
	if (!path || !*path)
		return ERR_INVAL;
	if (create) {
		int rc = maildir_mkdirs(path);
		if (rc < 0)
			return rc;
	}
	struct client_maildir *md = calloc(1, sizeof(*md));
	if (!md)
		return ERR_NOMEM;
	md->tmp_fd = md->new_fd = md->cur_fd = -1;
	md->path = strdup(path);
	int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = !md->path ? ERR_NOMEM : root < 0 ? client_maildir_errno(errno) : 0;
	if (rc == 0)
		rc = maildir_subdir(root, "new", create, &md->new_fd);
	if (rc == 0)
		rc = maildir_subdir(root, "cur", create, &md->cur_fd);
	/* tmp/ is only needed to write; a Maildir another program made without it is
	 * still read. client_maildir_begin creates it then. */
	if (rc == 0) {
		int t = maildir_subdir(root, "tmp", create, &md->tmp_fd);
		if (t < 0 && create)
			rc = t;
	}
	if (root >= 0)
		close(root);
	if (rc < 0) {
		client_maildir_close(&md);
		return rc;
	}
	*md_out = md;
	return 0;
}

static void maildir_drop_staged(struct client_maildir *md, size_t from);

void client_maildir_close(struct client_maildir **mdp)
{
	struct client_maildir *md = *mdp;
	if (!md)
		return;
	if (md->nstaged)
		maildir_drop_staged(md, 0);
	free(md->staged);
	if (md->tmp_fd >= 0)
		close(md->tmp_fd);
	if (md->new_fd >= 0)
		close(md->new_fd);
	if (md->cur_fd >= 0)
		close(md->cur_fd);
	client_maildir_cache_free(&md->cache);
	free(md->path);
	free(md);
	*mdp = NULL;
}

const char *client_maildir_path(const struct client_maildir *md)
{
	return md->path;
}

/* The host part of unique names, escaped as Dovecot and Courier do ('/' as \057, ':'
 * as \072: neither may appear in a base name) and cut to LIMIT_CLIENT_MAILDIR_HOST
 * bytes so that a base name always fits CLIENT_MAILDIR_NAME_MAX. */
static const char *maildir_host(void)
{
	static char host[LIMIT_CLIENT_MAILDIR_HOST + 1]; /* process-wide: it never changes */
	if (host[0])
		return host;
	char raw[256];
	if (gethostname(raw, sizeof(raw)) != 0 || !raw[0])
		snprintf(raw, sizeof(raw), "localhost");
	raw[sizeof(raw) - 1] = '\0';
	size_t n = 0;
	for (const char *p = raw; *p; p++) {
		const char *esc = *p == '/' ? "\\057" : *p == ':' ? "\\072" : NULL;
		size_t w = esc ? 4 : 1;
		if (n + w > LIMIT_CLIENT_MAILDIR_HOST)
			break;
		if (esc)
			memcpy(host + n, esc, 4);
		else
			host[n] = *p;
		n += w;
	}
	host[n] = '\0';
	return host;
}

/* "<sec>.M<usec>P<pid>Q<counter>.<host>": unique across processes by the pid, within
 * one by the counter, and across reboots (pids repeat) by the time. */
static void maildir_unique(char *out)
{
	static unsigned counter; /* process-wide: two Maildirs of one process share it */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(out, CLIENT_MAILDIR_NAME_MAX, "%lld.M%ldP%ldQ%u.%s",
			 (long long)ts.tv_sec, (long)(ts.tv_nsec / 1000), (long)getpid(),
			 ++counter, maildir_host());
	/* 20 + 8 + 21 + 11 + LIMIT_CLIENT_MAILDIR_HOST bytes at most */
	if (n < 0 || n >= CLIENT_MAILDIR_NAME_MAX)
		abort();
}

int client_maildir_begin(struct client_maildir *md, struct client_maildir_msg **m_out,
			 char *base_out)
{
	*m_out = NULL;
	if (md->tmp_fd < 0) {
		int root = open(md->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return client_maildir_errno(errno);
		int rc = maildir_subdir(root, "tmp", true, &md->tmp_fd);
		close(root);
		if (rc < 0)
			return rc;
	}
	struct client_maildir_msg *m = malloc(sizeof(*m));
	if (!m)
		return ERR_NOMEM;
	m->md = md;
	m->err = 0;
	m->cr_pending = false;
	m->len = 0;
	m->size = 0;
	/* A name taken in tmp/ (a clock set back, a pid reused) gets a new counter. */
	for (int tries = 0;; tries++) {
		maildir_unique(m->base);
		m->fd = openat(md->tmp_fd, m->base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (m->fd >= 0)
			break;
		if (errno != EEXIST || tries == 100) {
			int rc = client_maildir_errno(errno);
			free(m);
			return rc;
		}
	}
	memcpy(base_out, m->base, strlen(m->base) + 1);
	*m_out = m;
	return 0;
}

static int maildir_flush(struct client_maildir_msg *m)
{
	size_t off = 0;
	while (off < m->len && m->err == 0) {
		ssize_t w = write(m->fd, m->buf + off, m->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			m->err = client_maildir_errno(w < 0 ? errno : EIO);
		else
			off += (size_t)w;
	}
	m->len = 0;
	return m->err;
}

static int maildir_put(struct client_maildir_msg *m, const unsigned char *p, size_t n)
{
	while (n > 0) {
		if (m->len == sizeof(m->buf) && maildir_flush(m) < 0)
			return m->err;
		size_t k = sizeof(m->buf) - m->len;
		if (k > n)
			k = n;
		memcpy(m->buf + m->len, p, k);
		m->len += k;
		m->size += k;
		p += k;
		n -= k;
	}
	return 0;
}

int client_maildir_write(struct client_maildir_msg *m, const void *data, size_t n)
{
	const unsigned char *p = data, *end = p + n;
	if (m->err < 0)
		return m->err;
	if (n > 0 && m->cr_pending) {
		m->cr_pending = false;
		if (*p != '\n' && maildir_put(m, (const unsigned char *)"\r", 1) < 0)
			return m->err;
	}
	while (p < end) {
		const unsigned char *cr = memchr(p, '\r', (size_t)(end - p));
		const unsigned char *stop = cr ? cr : end;
		if (maildir_put(m, p, (size_t)(stop - p)) < 0)
			return m->err;
		if (!cr)
			break;
		if (cr + 1 == end) {
			m->cr_pending = true; /* decided by the next call's first byte */
			break;
		}
		/* A CR before LF is the wire's line end: the LF alone is written. */
		if (cr[1] != '\n' && maildir_put(m, cr, 1) < 0)
			return m->err;
		p = cr + 1;
	}
	return 0;
}

/* The last bytes of a message into its file, and its times. */
static int maildir_complete(struct client_maildir_msg *m, time_t mtime)
{
	if (m->cr_pending) /* a bare CR ended the message: it is data */
		(void)maildir_put(m, (const unsigned char *)"\r", 1);
	if (maildir_flush(m) < 0)
		return m->err;
	if (mtime != 0) {
		struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
		if (futimens(m->fd, ts) != 0)
			return client_maildir_errno(errno);
	}
	return 0;
}

/* The durable part of a commit: the file's bytes and times on disk, then its name in
 * new/ or cur/, then that directory on disk. */
static int maildir_finish(struct client_maildir_msg *m, const char *name, int dir_fd,
			  time_t mtime)
{
	struct client_maildir *md = m->md;
	int rc = maildir_complete(m, mtime);
	if (rc < 0)
		return rc;
	if (fsync(m->fd) != 0)
		return client_maildir_errno(errno);
	int fd = m->fd;
	m->fd = -1;
	if (close(fd) != 0)
		return client_maildir_errno(errno);
	if (renameat(md->tmp_fd, m->base, dir_fd, name) != 0)
		return client_maildir_errno(errno);
	if (fsync(dir_fd) != 0)
		return client_maildir_errno(errno);
	return 0;
}

/* The name a message gets in new/ ("<base>") or cur/ ("<base>:2,<letters>"). */
static void maildir_final_name(char *name, size_t cap, const char *base, unsigned flags,
			       bool cur)
{
	char letters[8];
	client_maildir_flags_str(flags, letters);
	int n = cur ? snprintf(name, cap, "%s:2,%s", base, letters)
		    : snprintf(name, cap, "%s", base);
	if (n < 0 || (size_t)n >= cap)
		abort(); /* the base fits CLIENT_MAILDIR_NAME_MAX, the info 9 bytes */
}

int client_maildir_commit(struct client_maildir_msg **mp, unsigned flags, bool cur,
			  time_t mtime)
{
	struct client_maildir_msg *m = *mp;
	*mp = NULL;
	cur = cur || flags != 0;
	char name[CLIENT_MAILDIR_NAME_MAX + 16];
	maildir_final_name(name, sizeof(name), m->base, flags, cur);
	struct client_maildir *md = m->md;
	int rc = maildir_finish(m, name, cur ? md->cur_fd : md->new_fd, mtime);
	if (rc == 0)
		client_maildir_cache_put(md, name, cur);
	else /* not renamed (or ENOENT: it was): a failed commit leaves no file in tmp/ */
		(void)unlinkat(md->tmp_fd, m->base, 0);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return rc;
}

void client_maildir_abort(struct client_maildir_msg **mp)
{
	struct client_maildir_msg *m = *mp;
	if (!m)
		return;
	*mp = NULL;
	close(m->fd);
	/* A failed unlink leaves a file in tmp/, which no Maildir reader looks at. */
	(void)unlinkat(m->md->tmp_fd, m->base, 0);
	free(m);
}

/* ---- batched commit ---- */

int client_maildir_stage(struct client_maildir_msg **mp, unsigned flags, bool cur,
			 time_t mtime)
{
	struct client_maildir_msg *m = *mp;
	struct client_maildir *md = m->md;
	if (client_maildir_batch_full(md)) {
		client_maildir_abort(mp);
		return ERR_TOO_BIG;
	}
	if (!md->staged) {
		md->staged = malloc(LIMIT_CLIENT_MAILDIR_BATCH * sizeof(*md->staged));
		if (!md->staged) {
			client_maildir_abort(mp);
			return ERR_NOMEM;
		}
	}
	int rc = maildir_complete(m, mtime);
	/* start the write-back now, while the next message comes: the batch's fsyncs then
	 * find their data on its way and share the journal commits (best effort: a file
	 * system without it just writes back at the fsync) */
	if (rc == 0)
		(void)sync_file_range(m->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	int fd = m->fd;
	m->fd = -1;
	/* close(2) may report a write error of an NFS-like file system: it counts */
	if (close(fd) != 0 && rc == 0)
		rc = client_maildir_errno(errno);
	if (rc < 0) {
		(void)unlinkat(md->tmp_fd, m->base, 0);
		free(m);
		*mp = NULL;
		return rc;
	}
	struct client_maildir_staged *st = &md->staged[md->nstaged++];
	st->flags = flags;
	st->cur = cur || flags != 0;
	memcpy(st->base, m->base, strlen(m->base) + 1);
	md->staged_bytes += m->size;
	free(m);
	*mp = NULL;
	return 0;
}

bool client_maildir_batch_full(const struct client_maildir *md)
{
	return md->nstaged >= LIMIT_CLIENT_MAILDIR_BATCH ||
	       md->staged_bytes >= LIMIT_CLIENT_MAILDIR_BATCH_BYTES;
}

size_t client_maildir_nstaged(const struct client_maildir *md)
{
	return md->nstaged;
}

/* Staged entries from..nstaged-1 out of tmp/ and the list. */
static void maildir_drop_staged(struct client_maildir *md, size_t from)
{
	for (size_t i = from; i < md->nstaged; i++)
		(void)unlinkat(md->tmp_fd, md->staged[i].base, 0);
	md->nstaged = 0;
	md->staged_bytes = 0;
}

/* Every staged file's bytes on disk, before any rename. One syncfs(2) when the system
 * holds little unwritten data: it then costs one journal commit for the whole batch.
 * Otherwise an fsync of each file: a syncfs would wait for every other program's dirty
 * data too (a large download being written made a batch of 256 take 0.3 s instead of
 * 0.02 s), while the batch's own fsyncs find their data on its way (_stage began its
 * write-back) and mostly share journal commits. Either is a complete flush of the
 * batch: syncfs reports the write-back errors of the file system (Linux 5.8 on). */
static int maildir_sync_staged(struct client_maildir *md)
{
	if (flush_prefer_syncfs(LIMIT_CLIENT_MAILDIR_SYNCFS_DIRTY))
		return syncfs(md->tmp_fd) == 0 ? 0 : client_maildir_errno(errno);
	for (size_t k = 0; k < md->nstaged; k++) {
		int fd = openat(md->tmp_fd, md->staged[k].base, O_RDONLY | O_CLOEXEC);
		int rc = fd < 0 ? client_maildir_errno(errno) : 0;
		if (rc == 0 && fsync(fd) != 0)
			rc = client_maildir_errno(errno);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int client_maildir_commit_staged(struct client_maildir *md)
{
	if (md->nstaged == 0)
		return 0;
	int rc = maildir_sync_staged(md);
	if (rc < 0) {
		maildir_drop_staged(md, 0);
		return rc;
	}
	bool to_new = false, to_cur = false;
	size_t i = 0;
	for (; i < md->nstaged; i++) {
		const struct client_maildir_staged *st = &md->staged[i];
		char name[CLIENT_MAILDIR_NAME_MAX + 16];
		maildir_final_name(name, sizeof(name), st->base, st->flags, st->cur);
		if (renameat(md->tmp_fd, st->base, st->cur ? md->cur_fd : md->new_fd, name) != 0) {
			rc = client_maildir_errno(errno);
			break;
		}
		client_maildir_cache_put(md, name, st->cur);
		to_cur |= st->cur;
		to_new |= !st->cur;
	}
	/* the renames done so far are made durable even when a later one failed: their
	 * callers find them by base name */
	if (to_new && fsync(md->new_fd) != 0 && rc == 0)
		rc = client_maildir_errno(errno);
	if (to_cur && fsync(md->cur_fd) != 0 && rc == 0)
		rc = client_maildir_errno(errno);
	maildir_drop_staged(md, i);
	return rc;
}

void client_maildir_abort_staged(struct client_maildir *md)
{
	maildir_drop_staged(md, 0);
}

void client_maildir_clean_tmp(struct client_maildir *md)
{
	if (md->tmp_fd < 0)
		return;
	int fd = openat(md->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	time_t cutoff = time(NULL) - LIMIT_CLIENT_MAILDIR_TMP_AGE;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' ||
		    fstatat(md->tmp_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		/* ctime, not mtime: a writer sets the mtime of its file to the message's
		 * date, which may be years back */
		if (S_ISREG(st.st_mode) && st.st_ctime < cutoff)
			(void)unlinkat(md->tmp_fd, e->d_name, 0);
	}
	closedir(d);
}
