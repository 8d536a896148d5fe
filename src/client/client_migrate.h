/* client_migrate.h: kasten migrate: a POP3 client's local store (a Maildir tree, or one
 * mbox file) up into an IMAP account, with folders, flags and dates, de-duplicated
 * against what is already there (the copies POP3 "keep" left), idempotent and
 * resumable.
 *
 * What a message is: its content hash (SHA-256 with LF line ends, client_digest.h), its
 * size as the server counts it (CRLF) and its Message-ID. A local message is on the
 * server when a message there has the same size and Message-ID (both without one:
 * the size alone makes it a candidate) and the same hash; the server's message is
 * downloaded to hash it only when size and Message-ID make it a candidate.
 *
 * Order of events per message (the journal is client_migrate_state.h): a row 'done'
 * in the state: skipped. Otherwise looked for on the server; found: row 'done'. Not
 * found: row 'pending' committed, APPENDed (MULTIAPPEND in batches of
 * LIMIT_CLIENT_IMAP_APPEND_BATCH messages or LIMIT_CLIENT_IMAP_APPEND_BYTES when the
 * server offers it), row 'done' with the APPENDUID after the tagged OK. A kill at any
 * point leaves 'pending' rows whose messages the next run finds on the server (or not)
 * by the same test: none is uploaded twice. Local duplicates of one message are
 * uploaded once.
 *
 * The source is only read: files opened O_RDONLY (O_NOATIME where allowed), nothing
 * renamed, no directory created in it. */
#ifndef KASTEN_CLIENT_MIGRATE_H
#define KASTEN_CLIENT_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "client/client_conn.h"

struct client_migrate_opts {
	struct client_endpoint ep;
	const char *user;
	const char *password;
	const char *maildir;   /* a Maildir tree (Maildir++ or a Maildir per directory) ... */
	const char *mbox;      /* ... or an mbox file */
	const char *mailbox;   /* the folder the mbox goes to ("/" between levels); NULL INBOX */
	const char *state_dir; /* NULL: $XDG_STATE_HOME/kasten (~/.local/state/kasten) */
	/* After each folder (names with "/" between levels, as the source has them). */
	void (*folder_done)(void *arg, const char *folder, size_t uploaded, size_t present);
	/* Now and then during a folder: done of total local messages (total 0: unknown). */
	void (*progress)(void *arg, const char *folder, size_t done, size_t total);
	void *arg;
};

struct client_migrate_stats {
	size_t folders;
	size_t uploaded;   /* APPENDed in this run */
	size_t present;    /* found on the server, or done by an earlier run */
	size_t downloaded; /* server messages fetched to compare their hash */
	uint64_t bytes_in, bytes_out;
};

/* Run the migration. 0, or a negative err with one line for the user in err_out (a
 * refused login ERR_AUTH, a certificate ERR_PERM, the server's NO text, a source that
 * cannot be read ERR_NOTFOUND/ERR_IO). */
int client_migrate_run(const struct client_migrate_opts *o, struct client_migrate_stats *st_out,
		       char *err_out, size_t err_cap);

#endif
