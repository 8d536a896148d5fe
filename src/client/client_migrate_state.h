/* client_migrate_state.h: the journal of kasten migrate: one SQLite file per account and
 * source, $XDG_STATE_HOME/kasten/migrate-<user@host>-<hash of the source path>.db
 * (default ~/.local/state/kasten/), WAL, synchronous=FULL: each call that changes
 * something is on disk when it returns (or, inside begin/commit, when commit returns).
 *
 * Table (schema version 1, PRAGMA user_version):
 *   migrate_msg(folder, key, state, sha256, msgid, size, uidvalidity, uid)
 * key names the source message (a Maildir base name, or "mbox:<n>:<sha256>" for the
 * n-th message of an mbox); state is 'pending' (committed before its APPEND is sent)
 * or 'done' (after the tagged OK, or when the message was found on the server). A
 * 'pending' row on a later run means: the APPEND may or may not have arrived; the
 * caller looks on the server before it uploads again.
 *
 * Errors: ERR_IO with one line in client_migrate_state_error(). */
#ifndef KASTEN_CLIENT_MIGRATE_STATE_H
#define KASTEN_CLIENT_MIGRATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client_migrate_state;

/* The path of the state file for account ("user@host") and the source (made
 * absolute) into path_out: dir is the state directory, created 0700 if missing. */
int client_migrate_state_path(const char *dir, const char *account, const char *source,
			      char *path_out, size_t cap);
int client_migrate_state_open(const char *path, struct client_migrate_state **st_out,
			      char *err_out, size_t err_cap);
void client_migrate_state_close(struct client_migrate_state **st);
const char *client_migrate_state_error(const struct client_migrate_state *st);

/* One transaction around several changes (one fsync for a batch). */
int client_migrate_state_begin(struct client_migrate_state *st);
int client_migrate_state_commit(struct client_migrate_state *st);

enum client_migrate_row {
	CLIENT_MIGRATE_ROW_NONE,
	CLIENT_MIGRATE_ROW_PENDING,
	CLIENT_MIGRATE_ROW_DONE,
};
/* What the journal says of (folder, key): an enum client_migrate_row, or <0. */
int client_migrate_state_lookup(struct client_migrate_state *st, const char *folder,
				const char *key);
/* The row as 'pending' with what identifies the message. */
int client_migrate_state_pending(struct client_migrate_state *st, const char *folder,
				 const char *key, const char *sha256, const char *msgid,
				 uint64_t size);
/* The row as 'done' (uid 0: not known), with its identity as for pending. */
int client_migrate_state_done(struct client_migrate_state *st, const char *folder,
			      const char *key, const char *sha256, const char *msgid,
			      uint64_t size, uint32_t uidvalidity, uint32_t uid);

#endif
