/* client_maildir_index.c: finding a message of one Maildir by its base name, changing
 * its flags, removing it, walking all of them (from the directory entries, without a
 * stat per file), and the stamp of new/ and cur/ that tells a caller whether a listing
 * it keeps is still the directories' content. Owns the listing cache of struct
 * client_maildir (at most LIMIT_CLIENT_MAILDIR_MSGS files, about 40 bytes plus the name
 * each).
 *
 * Why a cache: kasten fetch asks for one base name per message it recorded, sync for
 * every message of a folder; a directory scan per question would make a run quadratic.
 * Why it stays right: another mail program may rename or delete files at any time. A
 * hit is checked with one fstatat before it is returned; a miss is believed only when
 * neither new/ nor cur/ changed since the scan (same mtime) and the scan came late
 * enough after that mtime that a later change could not carry the same one: Linux
 * stamps directories from a clock that lags by a tick (CLIENT_MAILDIR_TICK_NS), and a
 * file system whose stamps have no nanoseconds (ext3, FAT, some NFS) may round a change
 * into the same second or two (CLIENT_MAILDIR_SETTLE_S). Otherwise the directories are
 * scanned again. Every operation that failed with ENOENT rescans and
 * tries once more. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_maildir_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

#define CLIENT_MAILDIR_TICK_NS 50000000L /* see the top of the file */
#define CLIENT_MAILDIR_SETTLE_S 2

void client_maildir_cache_free(struct client_maildir_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->slots[i]);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

static size_t index_find_slot(const struct client_maildir_cache *c, const char *base,
			      size_t len, uint32_t h)
{
	size_t i = h & (c->cap - 1);
	while (c->slots[i]) {
		const struct client_maildir_ent *e = c->slots[i];
		if (e->hash == h && e->base_len == len && memcmp(e->name, base, len) == 0)
			return i;
		i = (i + 1) & (c->cap - 1);
	}
	return i;
}

static int index_grow(struct client_maildir_cache *c)
{
	size_t cap = c->cap ? c->cap * 2 : 256;
	struct client_maildir_ent **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return ERR_NOMEM;
	struct client_maildir_cache n = {.slots = slots, .cap = cap};
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i])
			n.slots[index_find_slot(&n, c->slots[i]->name, c->slots[i]->base_len,
						c->slots[i]->hash)] = c->slots[i];
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	return 0;
}

/* Put name (of new/ or cur/) in the table, replacing the entry of the same base name;
 * when both directories hold it (another program between link and unlink), cur/ wins. */
static int index_add(struct client_maildir_cache *c, const char *name, bool in_cur,
		     unsigned char type)
{
	size_t len = client_maildir_base_len(name), nlen = strlen(name);
	if (len == 0 || len > UINT16_MAX)
		return 0; /* not a Maildir message name */
	if (c->count + 1 > LIMIT_CLIENT_MAILDIR_MSGS)
		return ERR_TOO_BIG;
	if ((c->count + 1) * 2 > c->cap && index_grow(c) < 0)
		return ERR_NOMEM;
	uint32_t h = str_hash(name, len);
	size_t i = index_find_slot(c, name, len, h);
	if (c->slots[i] && c->slots[i]->in_cur && !in_cur)
		return 0;
	struct client_maildir_ent *e = malloc(sizeof(*e) + nlen + 1);
	if (!e)
		return ERR_NOMEM;
	e->hash = h;
	e->base_len = (uint16_t)len;
	e->in_cur = in_cur;
	e->type = type;
	memcpy(e->name, name, nlen + 1);
	if (c->slots[i])
		free(c->slots[i]);
	else
		c->count++;
	c->slots[i] = e;
	return 0;
}

/* Remove slot i, moving later entries of its probe run back (linear probing has no
 * tombstones this way). */
static void index_del(struct client_maildir_cache *c, size_t i)
{
	free(c->slots[i]);
	c->slots[i] = NULL;
	c->count--;
	size_t mask = c->cap - 1;
	for (size_t j = (i + 1) & mask; c->slots[j]; j = (j + 1) & mask) {
		size_t home = c->slots[j]->hash & mask;
		/* j's entry may move to i when i lies cyclically in [home, j) */
		bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			c->slots[i] = c->slots[j];
			c->slots[j] = NULL;
			i = j;
		}
	}
}

static int index_scan_dir(struct client_maildir_cache *c, int dir_fd, bool in_cur)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return client_maildir_errno(errno);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return ERR_NOMEM;
	}
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		/* dot files are not messages (Maildir: ".", "..", hidden tool files) */
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		rc = index_add(c, de->d_name, in_cur, de->d_type);
	}
	if (rc == 0 && errno != 0)
		rc = client_maildir_errno(errno);
	closedir(d);
	return rc;
}

/* A new listing of new/ and cur/ into c (freed first). */
static int index_scan(struct client_maildir *md, struct client_maildir_cache *c)
{
	client_maildir_cache_free(c);
	struct stat sn, sc;
	/* Times taken before reading: a change during the scan leaves a newer mtime. */
	if (fstat(md->new_fd, &sn) != 0 || fstat(md->cur_fd, &sc) != 0)
		return client_maildir_errno(errno);
	clock_gettime(CLOCK_REALTIME, &c->scanned_at);
	c->new_mtime = sn.st_mtim;
	c->cur_mtime = sc.st_mtim;
	int rc = index_scan_dir(c, md->new_fd, false);
	if (rc == 0)
		rc = index_scan_dir(c, md->cur_fd, true);
	if (rc < 0) {
		client_maildir_cache_free(c);
		return rc;
	}
	c->valid = true;
	return 0;
}

static bool index_same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Whether a change after the scan would show as a newer mtime than m. */
static bool index_settled_time(struct timespec m, struct timespec scan)
{
	if (m.tv_nsec == 0) /* a file system of whole seconds */
		return scan.tv_sec >= m.tv_sec + CLIENT_MAILDIR_SETTLE_S;
	long long ms = (long long)m.tv_sec * 1000000000LL + m.tv_nsec;
	long long ss = (long long)scan.tv_sec * 1000000000LL + scan.tv_nsec;
	return ss - ms >= CLIENT_MAILDIR_TICK_NS;
}

/* Whether a miss in the cache means the file is in neither directory. */
static bool index_settled(struct client_maildir *md)
{
	const struct client_maildir_cache *c = &md->cache;
	struct stat sn, sc;
	if (!c->valid || fstat(md->new_fd, &sn) != 0 || fstat(md->cur_fd, &sc) != 0)
		return false;
	return index_same_time(sn.st_mtim, c->new_mtime) &&
	       index_same_time(sc.st_mtim, c->cur_mtime) &&
	       index_settled_time(sn.st_mtim, c->scanned_at) &&
	       index_settled_time(sc.st_mtim, c->scanned_at);
}

void client_maildir_cache_put(struct client_maildir *md, const char *name, bool in_cur)
{
	if (!md->cache.valid)
		return; /* the first find scans anyway */
	/* Out of memory or past the bound: forget the listing, the next find rescans. */
	if (index_add(&md->cache, name, in_cur, DT_REG) < 0)
		client_maildir_cache_free(&md->cache);
}

/* A base name as callers give it: one path component, no info part. */
static bool index_base_ok(const char *base)
{
	size_t n = strlen(base);
	return n > 0 && n < CLIENT_MAILDIR_NAME_MAX * 2 && base[0] != '.' &&
	       !strchr(base, '/') && !strchr(base, ':');
}

/* Where base is now: its cache slot (whose entry names the file), checked to exist.
 * ERR_NOTFOUND after a fresh scan did not show it either. */
static int index_locate(struct client_maildir *md, const char *base, size_t *slot_out)
{
	struct client_maildir_cache *c = &md->cache;
	size_t len = strlen(base);
	uint32_t h = str_hash(base, len);
	bool fresh = !c->valid;
	for (;;) {
		if (fresh) {
			int rc = index_scan(md, c);
			if (rc < 0)
				return rc;
		}
		size_t i = c->cap ? index_find_slot(c, base, len, h) : 0;
		struct client_maildir_ent *e = c->cap ? c->slots[i] : NULL;
		struct stat st;
		if (e && fstatat(e->in_cur ? md->cur_fd : md->new_fd, e->name, &st,
				 AT_SYMLINK_NOFOLLOW) == 0) {
			*slot_out = i;
			return 0;
		}
		if (fresh || (!e && index_settled(md)))
			return ERR_NOTFOUND;
		fresh = true;
	}
}

static int index_path(const struct client_maildir *md, const struct client_maildir_ent *e,
		      char *path_out, size_t cap)
{
	int n = snprintf(path_out, cap, "%s/%s/%s", md->path, e->in_cur ? "cur" : "new",
			 e->name);
	return n < 0 || (size_t)n >= cap ? ERR_FULL : 0;
}

int client_maildir_find(struct client_maildir *md, const char *base, char *path_out,
			size_t cap, unsigned *flags_out)
{
	if (!index_base_ok(base))
		return ERR_INVAL;
	/* What fetch asks about most: a file it wrote itself, still in new/. */
	struct stat st;
	if (fstatat(md->new_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		int n = snprintf(path_out, cap, "%s/new/%s", md->path, base);
		if (flags_out)
			*flags_out = 0;
		return n < 0 || (size_t)n >= cap ? ERR_FULL : 0;
	}
	size_t i;
	int rc = index_locate(md, base, &i);
	if (rc < 0)
		return rc;
	if (flags_out)
		*flags_out = client_maildir_flags_of(md->cache.slots[i]->name);
	return index_path(md, md->cache.slots[i], path_out, cap);
}

static int index_letter_cmp(const void *a, const void *b)
{
	return *(const unsigned char *)a - *(const unsigned char *)b;
}

/* "<base>:2,<info>" with the system flags of flags and the other letters of the old
 * name (Dovecot's keyword letters a-z), sorted, each once. */
static int index_flag_name(const char *old, unsigned flags, char *out, size_t cap)
{
	size_t blen = client_maildir_base_len(old);
	char letters[8];
	client_maildir_flags_str(flags, letters);
	int n = snprintf(out, cap, "%.*s:2,%s", (int)blen, old, letters);
	if (n < 0 || (size_t)n >= cap)
		return ERR_FULL;
	size_t len = (size_t)n;
	const char *info = old + blen;
	if (info[0] == ':' && info[1] == '2' && info[2] == ',')
		for (const char *p = info + 3; *p; p++) {
			if (strchr("DFPRST", *p) || strchr(out + blen + 3, *p))
				continue;
			if (len + 1 >= cap)
				return ERR_FULL;
			out[len++] = *p;
			out[len] = '\0';
		}
	qsort(out + blen + 3, len - blen - 3, 1, index_letter_cmp);
	return 0;
}

int client_maildir_set_flags(struct client_maildir *md, const char *base, unsigned flags)
{
	if (!index_base_ok(base))
		return ERR_INVAL;
	for (int tries = 0;; tries++) {
		size_t i;
		int rc = index_locate(md, base, &i);
		if (rc < 0)
			return rc;
		struct client_maildir_ent *e = md->cache.slots[i];
		char name[NAME_MAX + 1];
		rc = index_flag_name(e->name, flags, name, sizeof(name));
		if (rc < 0)
			return rc;
		if (e->in_cur && strcmp(name, e->name) == 0)
			return 0;
		int from = e->in_cur ? md->cur_fd : md->new_fd;
		if (renameat(from, e->name, md->cur_fd, name) != 0) {
			if (errno == ENOENT && tries == 0) {
				md->cache.valid = false; /* moved meanwhile: look again */
				continue;
			}
			return client_maildir_errno(errno);
		}
		/* Both directories on disk: the new name, and the old one gone (else a crash
		 * could show the message twice). */
		if (fsync(md->cur_fd) != 0 || (from != md->cur_fd && fsync(from) != 0))
			return client_maildir_errno(errno);
		index_del(&md->cache, i);
		client_maildir_cache_put(md, name, true);
		return 0;
	}
}

int client_maildir_remove(struct client_maildir *md, const char *base)
{
	if (!index_base_ok(base))
		return ERR_INVAL;
	for (int tries = 0;; tries++) {
		size_t i;
		int rc = index_locate(md, base, &i);
		if (rc < 0)
			return rc;
		struct client_maildir_ent *e = md->cache.slots[i];
		int dir = e->in_cur ? md->cur_fd : md->new_fd;
		if (unlinkat(dir, e->name, 0) != 0) {
			if (errno == ENOENT && tries == 0) {
				md->cache.valid = false;
				continue;
			}
			return client_maildir_errno(errno);
		}
		index_del(&md->cache, i);
		return fsync(dir) != 0 ? client_maildir_errno(errno) : 0;
	}
}

/* each walks a listing of its own, so that cb may change flags or remove messages
 * (which changes the cache) while it runs. */
int client_maildir_each(struct client_maildir *md, client_maildir_each_fn cb, void *arg)
{
	struct client_maildir_cache snap = {0};
	int rc = index_scan(md, &snap);
	char base[NAME_MAX + 1];
	for (size_t i = 0; rc == 0 && i < snap.cap; i++) {
		const struct client_maildir_ent *e = snap.slots[i];
		if (!e)
			continue;
		struct stat st;
		/* the entry's type is enough; a file system that leaves it unknown costs a
		 * stat (and a file gone since the scan is then passed over) */
		if (e->type != DT_REG &&
		    (e->type != DT_UNKNOWN ||
		     fstatat(e->in_cur ? md->cur_fd : md->new_fd, e->name, &st,
			     AT_SYMLINK_NOFOLLOW) != 0 ||
		     !S_ISREG(st.st_mode)))
			continue;
		memcpy(base, e->name, e->base_len);
		base[e->base_len] = '\0';
		struct client_maildir_file f = {.base = base, .name = e->name, .in_cur = e->in_cur,
						.flags = client_maildir_flags_of(e->name)};
		rc = cb(arg, &f);
	}
	client_maildir_cache_free(&snap);
	return rc;
}

int client_maildir_file_stat(struct client_maildir *md, const struct client_maildir_file *f,
			     uint64_t *size_out, struct timespec *mtime_out,
			     struct timespec *ctime_out)
{
	struct stat st;
	if (fstatat(f->in_cur ? md->cur_fd : md->new_fd, f->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return client_maildir_errno(errno);
	if (!S_ISREG(st.st_mode))
		return ERR_INVAL;
	if (size_out)
		*size_out = (uint64_t)st.st_size;
	if (mtime_out)
		*mtime_out = st.st_mtim;
	if (ctime_out)
		*ctime_out = st.st_ctim;
	return 0;
}

int client_maildir_file_path(const struct client_maildir *md,
			     const struct client_maildir_file *f, char *path_out, size_t cap)
{
	int n = snprintf(path_out, cap, "%s/%s/%s", md->path, f->in_cur ? "cur" : "new",
			 f->name);
	return n < 0 || (size_t)n >= cap ? ERR_FULL : 0;
}

/* ---- the stamp of new/ and cur/ ---- */

static void index_stamp_of(const struct stat *sn, const struct stat *sc,
			   struct client_maildir_stamp *out)
{
	out->new_ns = (int64_t)sn->st_mtim.tv_sec * 1000000000 + sn->st_mtim.tv_nsec;
	out->cur_ns = (int64_t)sc->st_mtim.tv_sec * 1000000000 + sc->st_mtim.tv_nsec;
	out->new_ino = (uint64_t)sn->st_ino;
	out->cur_ino = (uint64_t)sc->st_ino;
}

int client_maildir_stamp(const struct client_maildir *md, struct client_maildir_stamp *out)
{
	struct stat sn, sc;
	if (fstat(md->new_fd, &sn) != 0 || fstat(md->cur_fd, &sc) != 0)
		return client_maildir_errno(errno);
	index_stamp_of(&sn, &sc, out);
	return 0;
}

int client_maildir_stamp_path(const char *path, struct client_maildir_stamp *out)
{
	char pn[PATH_MAX], pc[PATH_MAX];
	struct stat sn, sc;
	int n = snprintf(pn, sizeof(pn), "%s/new", path);
	int m = snprintf(pc, sizeof(pc), "%s/cur", path);
	if (n < 0 || (size_t)n >= sizeof(pn) || m < 0 || (size_t)m >= sizeof(pc))
		return ERR_TOO_LONG;
	if (stat(pn, &sn) != 0 || stat(pc, &sc) != 0)
		return client_maildir_errno(errno);
	if (!S_ISDIR(sn.st_mode) || !S_ISDIR(sc.st_mode))
		return ERR_NOTFOUND;
	index_stamp_of(&sn, &sc, out);
	return 0;
}
