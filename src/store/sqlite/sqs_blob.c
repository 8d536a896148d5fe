/* sqs_blob.c: JMAP uploads (RFC 8620 6.1) as files under <data>/accounts/<id>/upload/.
 * An upload with id "U" + HEX is two files: HEX (the bytes) and HEX.type (its media
 * type), written type first, the bytes to HEX.tmp then renamed, so HEX exists only
 * complete and with its type beside it. Nothing is fsynced (RFC 8620 promises no
 * durability for uploads); what a crash leaves is removed by age like the rest.
 * Ids from clients are checked against ^U[0-9a-f]{32}$ before they become a file name,
 * and the directory is the opening store's account's, so no id reaches another
 * account's uploads or any other file. Age: an upload older than LIMIT_BLOB_KEEP_HOURS
 * (by its file's mtime) is not found, and the prune removes it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/fdio.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define BLOB_HEX 32
#define BLOB_DEFAULT_TYPE "application/octet-stream"
#define BLOB_COPY_BUF (64u << 10)
#define BLOB_PRUNE_EVERY 3600 /* seconds between the lazy prunes of one account */

/* When each account (by slot) was last pruned lazily. A collision of two accounts on a
 * slot only delays one's prune: expired uploads are never found anyway. */
static _Atomic int64_t pruned_at[SQS_RM_SLOTS];

static int64_t keep_secs(void)
{
	return (int64_t)LIMIT_BLOB_KEEP_HOURS * 3600;
}

/* RFC 2045 5.1 token characters. */
static bool token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* "type/subtype" of tokens, then nothing or parameters (";" or " " and printable
 * ASCII), at most LIMIT_BLOB_TYPE bytes. */
static bool type_ok(const char *t)
{
	size_t n = strnlen(t, LIMIT_BLOB_TYPE + 1), i = 0;
	if (n > LIMIT_BLOB_TYPE)
		return false;
	while (i < n && token_char((unsigned char)t[i]))
		i++;
	if (i == 0 || i == n || t[i] != '/')
		return false;
	size_t sub = ++i;
	while (i < n && token_char((unsigned char)t[i]))
		i++;
	if (i == sub)
		return false;
	if (i < n && t[i] != ';' && t[i] != ' ')
		return false;
	for (; i < n; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

/* ^U[0-9a-f]{32}$ */
static bool id_ok(const char *id)
{
	if (!id || id[0] != 'U' || strnlen(id, BLOB_HEX + 2) != BLOB_HEX + 1)
		return false;
	for (size_t i = 1; i <= BLOB_HEX; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

/* The account's upload dir as an open fd (O_DIRECTORY); with create, made if missing. */
static int upload_dir(struct sqs_env *e, int64_t id, bool create, int *fd_out)
{
	char path[4096];
	int r = sqs_path(e, path, sizeof(path), id, "upload");
	if (r < 0)
		return r;
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_err("store: mkdir path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return ERR_NOTFOUND;
		log_err("store: open path=%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	*fd_out = fd;
	return 0;
}

void sqs_blob_prune(struct sqs_env *e, int64_t account_id, int64_t now, bool force)
{
	_Atomic int64_t *slot = &pruned_at[(uint64_t)account_id % SQS_RM_SLOTS];
	int64_t last = atomic_load_explicit(slot, memory_order_relaxed);
	if (!force && now - last < BLOB_PRUNE_EVERY && now >= last)
		return;
	atomic_store_explicit(slot, now, memory_order_relaxed);
	int dfd;
	if (upload_dir(e, account_id, false, &dfd) < 0)
		return; /* none yet (the common case), or logged */
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat sb;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((int64_t)sb.st_mtime > now - keep_secs())
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			log_warn("store: cannot remove upload account=%lld name=%s: %s",
				 (long long)account_id, de->d_name, strerror(errno));
	}
	closedir(d);
}

/* size bytes from src (pread from 0) or data into dst. ERR_INVAL when src is short. */
static int copy_in(int dst, int src, const void *data, uint64_t size)
{
	if (src >= 0) {
		char *buf = malloc(BLOB_COPY_BUF);
		if (!buf)
			return ERR_NOMEM;
		int r = 0;
		for (uint64_t off = 0; r == 0 && off < size;) {
			size_t want = size - off < BLOB_COPY_BUF ? (size_t)(size - off) : BLOB_COPY_BUF;
			ssize_t got = pread(src, buf, want, (off_t)off);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				r = ERR_IO;
			else if (got == 0)
				r = ERR_INVAL; /* fewer bytes than announced */
			else
				r = fd_write_all(dst, buf, (size_t)got), off += (uint64_t)got;
		}
		free(buf);
		return r;
	}
	if (size && !data)
		return ERR_INVAL;
	return size ? fd_write_all(dst, data, (size_t)size) : 0;
}

static int put_files(int dfd, const char *hex, int fd, const void *data, uint64_t size,
		     const char *type)
{
	char name[BLOB_HEX + 8];
	int n = snprintf(name, sizeof(name), "%s.type", hex);
	if (n < 0 || (size_t)n >= sizeof(name))
		return ERR_INVAL;
	int tfd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (tfd < 0)
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	int r = fd_write_all(tfd, type, strlen(type));
	if (close(tfd) < 0 && r == 0)
		r = ERR_IO;
	char tmp[BLOB_HEX + 8];
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", hex);
	if (r == 0 && (n < 0 || (size_t)n >= sizeof(tmp)))
		r = ERR_INVAL;
	int bfd = -1;
	if (r == 0) {
		bfd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (bfd < 0)
			r = errno == EEXIST ? ERR_EXISTS : ERR_IO;
	}
	if (r == 0)
		r = copy_in(bfd, fd, data, size);
	if (bfd >= 0 && close(bfd) < 0 && r == 0)
		r = ERR_IO;
	if (r == 0 && renameat(dfd, tmp, dfd, hex) < 0)
		r = ERR_IO;
	if (r < 0) {
		(void)unlinkat(dfd, tmp, 0); /* what is not there needs no removing */
		(void)unlinkat(dfd, name, 0);
	}
	return r;
}

int sqs_blob_put(struct store *st, int fd, const void *data, uint64_t size,
		 const char *type, struct arena *a, const char **blob_id_out)
{
	struct sqs_env *e = (struct sqs_env *)st->env;
	struct sqs_store *s = (struct sqs_store *)st;
	if (!type || !*type)
		type = BLOB_DEFAULT_TYPE;
	if (!type_ok(type))
		return ERR_INVAL;
	if (size > LIMIT_BLOB_MAX)
		return ERR_TOO_BIG;
	uint64_t qb, qm, used, msgs;
	int r = sqs_dir_quota(e, st->account_id, &qb, &qm);
	if (r == 0)
		r = sqs_usage_get(s->h, &used, &msgs);
	if (r < 0)
		return r;
	if (qb && (used >= qb || size > qb - used))
		return ERR_QUOTA;
	int64_t now = (int64_t)time(NULL);
	sqs_blob_prune(e, st->account_id, now, true);
	char *id = arena_alloc(a, BLOB_HEX + 2);
	if (!id)
		return ERR_NOMEM;
	int dfd;
	r = upload_dir(e, st->account_id, true, &dfd);
	if (r < 0)
		return r;
	id[0] = 'U';
	r = str_random_hex(id + 1, BLOB_HEX / 2);
	if (r == 0)
		r = put_files(dfd, id + 1, fd, data, size, type);
	close(dfd);
	if (r < 0) {
		if (r != ERR_INVAL)
			log_err("store: upload account=%lld failed: %s", (long long)st->account_id,
				err_str(r));
		return r;
	}
	*blob_id_out = id;
	return 0;
}

/* The type file's text into the arena. */
static int read_type(int dfd, const char *hex, struct arena *a, const char **out)
{
	char name[BLOB_HEX + 8], buf[LIMIT_BLOB_TYPE + 1];
	int n = snprintf(name, sizeof(name), "%s.type", hex);
	if (n < 0 || (size_t)n >= sizeof(name))
		return ERR_INVAL;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	ssize_t got = read(fd, buf, sizeof(buf));
	close(fd);
	if (got <= 0 || (size_t)got > LIMIT_BLOB_TYPE)
		return ERR_NOTFOUND; /* a crash cut it short: the upload is incomplete */
	char *t = arena_alloc(a, (size_t)got + 1);
	if (!t)
		return ERR_NOMEM;
	memcpy(t, buf, (size_t)got);
	t[got] = '\0';
	*out = t;
	return 0;
}

int sqs_blob_open(struct store *st, const char *blob_id, int *fd_out, uint64_t *size_out,
		  const char **type_out, struct arena *a)
{
	struct sqs_env *e = (struct sqs_env *)st->env;
	if (!id_ok(blob_id))
		return ERR_NOTFOUND;
	const char *hex = blob_id + 1;
	int dfd;
	int r = upload_dir(e, st->account_id, false, &dfd);
	if (r < 0)
		return r;
	int fd = openat(dfd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
		close(dfd);
		return r;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		r = ERR_IO;
	else if (!S_ISREG(sb.st_mode) || (int64_t)sb.st_mtime <= (int64_t)time(NULL) - keep_secs())
		r = ERR_NOTFOUND;
	if (r == 0)
		r = read_type(dfd, hex, a, type_out);
	close(dfd);
	if (r < 0) {
		close(fd);
		return r;
	}
	*fd_out = fd;
	*size_out = (uint64_t)sb.st_size;
	return 0;
}
