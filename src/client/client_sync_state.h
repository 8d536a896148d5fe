/* client_sync_state.h: the journal of kasten sync, DIR/kasten-sync.db (SQLite, WAL,
 * synchronous=FULL: every call below that changes something is durable when it
 * returns). It lives in the local tree on purpose: a tree that is removed takes its
 * state along, so nothing can be mistaken for a deletion (client_sync.h S1).
 *
 * Tables (schema version 3, PRAGMA user_version; each version a migration):
 *   sync_meta(key, value)       the account the tree belongs to ("user")
 *   sync_folder(name, uidvalidity, uidnext, highestmodseq, last_full, messages,
 *               rows_gen, local_new_ns, local_cur_ns, local_new_ino, local_cur_ino,
 *               local_at_ns, local_gen)
 *   sync_msg(id, folder, uid, base, flags, keywords, msgid, sha256, size, deleting,
 *            fetching, moving_to, partial, body_base)
 * A row's fields mean what struct client_sync_row says; fetching marks a download whose
 * file may not be in place yet (its base name was recorded before the file was
 * committed, so a file that made it is never taken for a new local message); moving_to
 * marks a UID MOVE sent or about to be sent (client_sync_exec.c resumes it); partial
 * and body_base are --headers-first's (client_sync.h).
 * A folder's rows_gen changes with every insert, update or delete of its rows (triggers,
 * so that no writer can forget it); the local_* columns are the folder's local record
 * (struct client_sync_state_local): what lets a pass over an unchanged tree skip the
 * listing of a Maildir (client_sync_side.c, docs/client.md).
 *
 * Errors: ERR_IO with one line in client_sync_state_error(), ERR_NOTFOUND for a missing
 * folder, ERR_PERM when the tree belongs to another account. */
#ifndef KASTEN_CLIENT_SYNC_STATE_H
#define KASTEN_CLIENT_SYNC_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_maildir.h"
#include "client/client_sync.h"
#include "core/arena.h"

#define CLIENT_SYNC_STATE_FILE "kasten-sync.db"

struct client_sync_state;

/* A folder's local record: a listing of its Maildir began at at_ns (wall clock, before
 * it took the stamp of new/ and cur/) and found exactly the rows of generation rows_gen,
 * each file a clean row with the row's flags. at_ns 0: no record. */
struct client_sync_state_local {
	struct client_maildir_stamp stamp;
	int64_t at_ns;
	uint64_t rows_gen;
};

/* What the state keeps of a folder. uidvalidity .. messages are the server's as the
 * SELECT of the last pass that completed over the folder saw them. */
struct client_sync_state_folder {
	const char *name;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq; /* 0: none known (no CONDSTORE) */
	time_t last_full;       /* the last pass that read every UID */
	uint32_t messages;      /* EXISTS */
	uint64_t rows_gen;      /* (read only) changes whenever a row of the folder does */
	struct client_sync_state_local local; /* (read only: client_sync_state_put_local) */
};

/* Open (creating) DIR/kasten-sync.db for user; DIR must exist. The file is locked
 * (flock) until close: ERR_LOCKED while another run holds it. */
int client_sync_state_open(const char *dir, const char *user, struct client_sync_state **st_out,
			   char *err_out, size_t err_cap);
/* The same for a state that exists with the current schema and its owner, changing
 * nothing on disk (no file made, no migration): ERR_NOTFOUND where open would have to.
 * For reading the tree while the server checks the password, before a login that may
 * fail. */
int client_sync_state_open_existing(const char *dir, const char *user,
				    struct client_sync_state **st_out, char *err_out,
				    size_t err_cap);
void client_sync_state_close(struct client_sync_state **st);
const char *client_sync_state_error(const struct client_sync_state *st);

/* A transaction around several changes that may commit together (one fsync). */
int client_sync_state_begin(struct client_sync_state *st);
int client_sync_state_commit(struct client_sync_state *st);

/* Every folder, strings from a. */
int client_sync_state_folders(struct client_sync_state *st, struct arena *a,
			      struct client_sync_state_folder **f_out, size_t *n_out);
/* Insert or update the folder's server values (uidvalidity .. messages); its rows_gen
 * and local record stay. */
int client_sync_state_folder_put(struct client_sync_state *st,
				 const struct client_sync_state_folder *f);
/* The local records of folders names[0..n) (folders the state does not have are passed
 * over), in one transaction that is not flushed: a record is a cache, and a crash that
 * loses it costs the next pass a listing, nothing else (WAL keeps the database whole,
 * and the next durable commit makes it durable too). Outside a transaction only. */
int client_sync_state_put_local(struct client_sync_state *st, const char *const *names,
				const struct client_sync_state_local *locals, size_t n);
/* The folder's rows_gen now; ERR_NOTFOUND if the state has no such folder. */
int client_sync_state_rows_gen(struct client_sync_state *st, const char *name,
			       uint64_t *gen_out);
/* The folder and its rows under a new name. */
int client_sync_state_folder_rename(struct client_sync_state *st, const char *from,
				    const char *to);
/* The folder and its rows gone. */
int client_sync_state_folder_drop(struct client_sync_state *st, const char *name);

/* The rows of folder, strings from a. moving_out (may be NULL) gets per row its
 * moving_to ("" none). */
int client_sync_state_rows(struct client_sync_state *st, const char *folder, struct arena *a,
			   struct client_sync_row **rows_out, const char ***moving_out,
			   size_t *n_out);
/* Insert (row->id ignored; *id_out the new id) or update every field of row->id. */
int client_sync_state_row_add(struct client_sync_state *st, const char *folder,
			      const struct client_sync_row *row, int64_t *id_out);
int client_sync_state_row_put(struct client_sync_state *st, const struct client_sync_row *row);
/* Mark a row as being moved to folder to ("" clears), or put it in folder with uid. */
int client_sync_state_row_moving(struct client_sync_state *st, int64_t id, const char *to);
int client_sync_state_row_refile(struct client_sync_state *st, int64_t id, const char *folder,
				 uint32_t uid);
int client_sync_state_row_drop(struct client_sync_state *st, int64_t id);

#endif
