/* client_state.h: the client's journal in SQLite. The state belongs to the account and
 * the local store, not to a host name or port (the same server reached as 127.0.0.1 or
 * localhost is one account): it is the plain file DIR/kasten-client.db inside the
 * Maildir (a file, so Maildir++ readers never take it for a folder), and its rows are
 * keyed by the user name. Opened with journal_mode=WAL and synchronous=FULL: when a
 * write returns, the row is on disk, before the server is told to delete anything.
 *
 * The fetch table (one row per message the client has started to download):
 *   (user, proto, uidvalidity, uid) -> base name in the Maildir, state, first_seen,
 *   Message-ID and size (to recognise a message again after a UIDVALIDITY change).
 * proto is "pop3" (uid: the UIDL unique-id, uidvalidity 0) or "imap" (uid: the UID in
 * decimal, uidvalidity of INBOX). The journal protocol (docs/client.md):
 *   pending  written before RETR / UID FETCH: the message may be in tmp/ or, if the
 *            rename happened before a crash, already in new/;
 *   done     written after the Maildir commit: the message is on disk.
 * On the next run a pending row whose base name client_maildir_find finds is done;
 * otherwise its tmp file is removed and the message is downloaded again. */
#ifndef KASTEN_CLIENT_STATE_H
#define KASTEN_CLIENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_maildir.h"
#include "core/limits.h"

#define CLIENT_STATE_FILE "kasten-client.db"

struct client_state;
struct sqlite3;

/* Open (creating it and its tables) dir/kasten-client.db; dir must exist. Numbered
 * schema migrations run in one transaction. One process at a time: ERR_LOCKED while
 * another holds it (flock, released when it exits, kill -9 included). 0, or <0 with
 * one line in err_out. */
int client_state_open(const char *dir, struct client_state **st_out, char *err_out,
		      size_t err_cap);
void client_state_close(struct client_state **st);
/* The connection, for a command's own tables (prepared statements only). */
struct sqlite3 *client_state_db(struct client_state *st);
/* One line about the last SQLite error. */
const char *client_state_error(const struct client_state *st);

/* Group writes into one durable commit (one fsync of the WAL). */
int client_state_begin(struct client_state *st);
int client_state_commit(struct client_state *st);
void client_state_rollback(struct client_state *st);

enum client_fetch_state { CLIENT_FETCH_PENDING = 0, CLIENT_FETCH_DONE = 1 };

struct client_fetch_key {
	const char *user;
	const char *proto; /* "pop3" or "imap" */
	uint32_t uidvalidity;
};

struct client_fetch_row {
	char uid[LIMIT_CLIENT_POP3_UID + 1];
	char base[CLIENT_MAILDIR_NAME_MAX];
	enum client_fetch_state state;
	int64_t first_seen;
	uint32_t uidvalidity;
	char msgid[LIMIT_MSGID + 3]; /* "<id>", "" if unknown */
	uint64_t size;
};

/* Every row of user and proto (all UIDVALIDITY values): cb(arg, row); a nonzero cb
 * return stops and is returned. */
typedef int (*client_fetch_row_fn)(void *arg, const struct client_fetch_row *row);
int client_state_fetch_each(struct client_state *st, const char *user, const char *proto,
			    client_fetch_row_fn cb, void *arg);

/* Insert or replace the row of (key, row->uid) as it is in row. */
int client_state_fetch_put(struct client_state *st, const struct client_fetch_key *key,
			   const struct client_fetch_row *row);
/* Set the state of one row (ERR_NOTFOUND if there is none). */
int client_state_fetch_set(struct client_state *st, const struct client_fetch_key *key,
			   const char *uid, enum client_fetch_state state);
/* Remove one row (no error if there is none). */
int client_state_fetch_delete(struct client_state *st, const struct client_fetch_key *key,
			      const char *uid);

#endif
