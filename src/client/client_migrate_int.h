/* client_migrate_int.h: what the files of kasten migrate share: the server side's index
 * of one folder (client_migrate_index.c) and the local messages with their reader
 * (client_migrate_src.c); client_migrate.c runs the folders. Not for other modules. */
#ifndef KASTEN_CLIENT_MIGRATE_INT_H
#define KASTEN_CLIENT_MIGRATE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_digest.h"
#include "client/client_imap.h"
#include "core/arena.h"
#include "core/limits.h"

/* A Message-ID as client_digest gives it: "<id>" or "". */
#define MIGRATE_MSGID_CAP (LIMIT_MSGID + 3)

/* One message of the server's folder. */
struct migrate_srv_msg {
	uint32_t uid; /* 0: appended without APPENDUID */
	uint64_t size;
	const char *msgid;
	bool hashed;
	char sha[CLIENT_DIGEST_HEX];
	struct migrate_srv_msg *next; /* in its size bucket */
};

/* The server's folder by size: loaded when a local message first needs it. */
struct migrate_index {
	struct arena arena; /* entries and Message-IDs; LIMIT_CLIENT_MIGRATE_ARENA */
	struct migrate_srv_msg **buckets;
	bool loaded;
	uint32_t uidvalidity;
	size_t *downloaded; /* counts server messages fetched for their hash */
};

void client_migrate_index_init(struct migrate_index *ix, size_t *downloaded);
void client_migrate_index_free(struct migrate_index *ix);
/* EXAMINE mailbox, then its UIDs, sizes and Message-IDs. */
int client_migrate_index_load(struct migrate_index *ix, struct client_imap *s,
			      const char *mailbox);
/* 1 and *uid_out when the server has a message with this identity, 0 when not. */
int client_migrate_index_find(struct migrate_index *ix, struct client_imap *s,
			      const char *sha, const char *msgid, uint64_t size,
			      uint32_t *uid_out);
int client_migrate_index_add(struct migrate_index *ix, uint32_t uid, const char *sha,
			     const char *msgid, uint64_t size);

/* One local message: an open descriptor on its bytes (the Maildir file, or an mbox
 * message spooled to an unlinked file), what identifies it, and how it goes up. */
struct migrate_local {
	int fd;
	char key[NAME_MAX + 1]; /* a Maildir base name or "mbox:<n>:<sha256>" */
	unsigned flags;
	time_t date;
	char sha[CLIENT_DIGEST_HEX];
	char msgid[MIGRATE_MSGID_CAP];
	uint64_t size; /* CRLF, as APPEND sends it */
};

/* Hash fd's bytes from its start (then back to its start). */
int client_migrate_src_digest(struct migrate_local *m);
/* Open a Maildir file read-only, without touching its access time where allowed. */
int client_migrate_src_open(const char *path, int *fd_out);
/* An unlinked spool file in dir for one mbox message. */
int client_migrate_src_spool(const char *dir, int *fd_out);

/* APPEND's reader over a migrate_local: its bytes with every LF that has no CR before
 * it sent as CRLF (the size client_digest counts). */
struct migrate_reader {
	int fd;
	bool prev_cr, lf_owed;
	size_t off, len;
	uint8_t buf[LIMIT_CLIENT_IMAP_CHUNK / 2];
};
void client_migrate_reader_init(struct migrate_reader *r, int fd);
int client_migrate_reader_read(void *arg, void *buf, size_t cap, size_t *n_out);

#endif
