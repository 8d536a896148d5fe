/* client_maildir_int.h: what the files of the Maildir layer share (client_maildir.c:
 * open, unique names, writing; client_maildir_index.c: the listing, find, flags, remove,
 * each). Not for callers: they use client_maildir.h. */
#ifndef KASTEN_CLIENT_MAILDIR_INT_H
#define KASTEN_CLIENT_MAILDIR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_maildir.h"

/* One file of new/ or cur/: its name there, the base name its first base_len bytes. */
struct client_maildir_ent {
	uint32_t hash; /* of the base name */
	uint16_t base_len;
	bool in_cur;
	unsigned char type; /* d_type of its directory entry (DT_REG for our own files) */
	char name[]; /* NUL-terminated file name, "<base>" or "<base>:2,<info>" */
};

/* The listing of new/ and cur/ that find consults: an open-addressing table of base
 * names, rebuilt from the directories on a miss (another program may have renamed a
 * file), kept current by this process's own commits, renames and removals. */
struct client_maildir_cache {
	struct client_maildir_ent **slots; /* NULL: empty */
	size_t cap;                        /* a power of two, or 0 before the first scan */
	size_t count;
	bool valid;         /* false: scan before trusting a miss */
	struct timespec new_mtime, cur_mtime; /* of the directories when scanned */
	struct timespec scanned_at; /* wall clock of the scan */
};

/* A message written to tmp/ and closed, waiting for client_maildir_commit_staged. */
struct client_maildir_staged {
	unsigned flags;
	bool cur;
	char base[CLIENT_MAILDIR_NAME_MAX];
};

struct client_maildir {
	char *path;
	int tmp_fd, new_fd, cur_fd; /* the directories, for *at() calls and fsync */
	struct client_maildir_cache cache;
	struct client_maildir_staged *staged; /* LIMIT_CLIENT_MAILDIR_BATCH, on first use */
	size_t nstaged;
	uint64_t staged_bytes;
};

/* The base name of a file name of new/ or cur/: its length (up to the first ':'). */
size_t client_maildir_base_len(const char *name);
/* Record that this process put file name into new/ or cur/ (a commit or a rename). */
void client_maildir_cache_put(struct client_maildir *md, const char *name, bool in_cur);
void client_maildir_cache_free(struct client_maildir_cache *c);
/* errno as an enum err: ENOENT NOTFOUND, EEXIST EXISTS, EACCES/EPERM/EROFS PERM,
 * ENOSPC/EDQUOT QUOTA, the rest IO. */
int client_maildir_errno(int e);

#endif
