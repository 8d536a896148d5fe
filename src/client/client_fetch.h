/* client_fetch.h: the part of kasten fetch that does not depend on the protocol: the
 * local Maildir, the journal in client_state (what was downloaded, when first seen),
 * the recovery of an interrupted run, and which messages the mode deletes on the
 * server. The POP3 and IMAP loops (client_fetch_pop3.c, client_fetch_imap.c) call it.
 *
 * The journal protocol, so that kill -9 at any point, a cut connection or a lost QUIT
 * loses nothing, stores nothing twice and never downloads again what is there.
 * Messages go in batches (client_maildir_stage: LIMIT_CLIENT_MAILDIR_BATCH messages or
 * _BYTES), so that a message costs about one flush, not three:
 *   1. each message of the batch is written to tmp/ and closed (no flush), and its row
 *      (uid, base name, 'pending', first_seen = now) is added to the open transaction;
 *   2. at the batch's end the transaction is committed: every 'pending' row is on disk
 *      before any of its files is renamed (flush 1);
 *   3. client_maildir_commit_staged: the files flushed (client_maildir.h), then the
 *      renames into new/ and one fsync of new/;
 *   4. the rows become 'done' in the next transaction (committed with the next batch's
 *      step 2, or by client_fetch_flush);
 *   5. only 'done' rows are ever deleted on the server, after client_fetch_flush.
 * On the next run a 'pending' row whose base name is in new/ or cur/ is 'done' (the
 * rename happened before the crash); otherwise its tmp/ file is removed and the row
 * dropped, so the message is downloaded again. A crash before step 2 leaves files in
 * tmp/ that no row names: no reader looks there, the message is downloaded again, and
 * client_maildir_clean_tmp removes them after 36 hours. */
#ifndef KASTEN_CLIENT_FETCH_H
#define KASTEN_CLIENT_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_maildir.h"
#include "client/client_opts.h"
#include "client/client_state.h"

/* One journal row as fetch keeps it in memory while it runs. */
struct client_fetch_mem {
	uint32_t uidvalidity;
	bool done;     /* 'done' (else pending: only between steps 1 and 3) */
	bool this_run; /* downloaded by this run */
	int64_t first_seen;
	uint64_t size;
	char *msgid; /* NULL if unknown */
	char uid[LIMIT_CLIENT_POP3_UID + 1];
	char base[CLIENT_MAILDIR_NAME_MAX];
};

struct client_fetch {
	const struct client_opts *o;
	struct client_maildir *md;
	struct client_state *st;
	struct client_fetch_key key; /* key.uidvalidity: the mailbox's now (IMAP) */
	time_t now;
	struct client_fetch_mem *rows; /* [0, nsorted) sorted by (uidvalidity, uid) */
	size_t nrows, nsorted, cap;
	struct client_maildir_msg *msg; /* the message being written */
	char msg_base[CLIENT_MAILDIR_NAME_MAX]; /* its base name */
	bool in_tx;        /* a state transaction is open (steps 1 and 4) */
	size_t batch_first; /* rows[batch_first..nrows): rows of this run not yet 'done' */
	uint64_t downloaded, deleted, kept;
	uint64_t bytes_in, bytes_out; /* on the connection, both ways */
	struct client_progress progress;
	char err[LIMIT_CLIENT_ERROR];
};

/* One whole run over POP3 / IMAP (INBOX): log in, then client_fetch_open, download,
 * delete as the mode says. 0, or <0 with f->err set; client_fetch_close afterwards in
 * both cases. f must be zeroed before. */
int client_fetch_pop3(struct client_fetch *f, const struct client_opts *o,
		      const char *password);
int client_fetch_imap(struct client_fetch *f, const struct client_opts *o,
		      const char *password);

/* After the login succeeded: create the Maildir (o->maildir) if needed, open the state,
 * load the rows of (o->user, proto) and recover those an earlier run left pending.
 * 0 or <0 with f->err set. */
int client_fetch_open(struct client_fetch *f, const struct client_opts *o, const char *proto);
void client_fetch_close(struct client_fetch *f);

/* Sort every row (after a run of downloads), so that finding them is fast again. */
void client_fetch_sort(struct client_fetch *f);
/* The row of (uidvalidity, uid), or NULL. Valid until the next client_fetch_commit or
 * client_fetch_sort (the array may move). */
struct client_fetch_mem *client_fetch_find(struct client_fetch *f, uint32_t uidvalidity,
					   const char *uid);

/* Download a message (step 1): client_fetch_begin, client_fetch_write with its bytes,
 * then client_fetch_commit with what identifies it (msgid and size as known, may be
 * "" / 0) or client_fetch_abort. A commit that fills the batch carries out steps 2-4. */
int client_fetch_begin(struct client_fetch *f);
int client_fetch_write(void *f, const void *p, size_t n);
int client_fetch_commit(struct client_fetch *f, const char *uid, const char *msgid,
			uint64_t size);
void client_fetch_abort(struct client_fetch *f);
/* Steps 2-4 for what is staged, and the 'done' rows committed: every message
 * downloaded so far is in new/ and 'done' on disk. Call before deleting. */
int client_fetch_flush(struct client_fetch *f);

/* Whether the mode deletes this message on the server now: row is its journal row
 * ('done' ones only are ever deleted). Default: yes; --keep: no; --keep-days N: when
 * first_seen + N days <= now and not downloaded by this run (N = 0: the next run). */
bool client_fetch_should_delete(const struct client_fetch *f,
				const struct client_fetch_mem *row);

/* The server no longer has the message: drop its row. */
int client_fetch_forget(struct client_fetch *f, struct client_fetch_mem *row);

/* A message found again under a new UIDVALIDITY (IMAP, matched by Message-ID and
 * size): record it as (f->key.uidvalidity, uid) with old's base name, state and
 * first_seen, inside the caller's transaction; the caller forgets old afterwards. */
int client_fetch_rekey(struct client_fetch *f, const struct client_fetch_mem *old,
		       const char *uid);

/* "kasten fetch: N messages downloaded, D deleted on the server, K kept" on stdout. */
void client_fetch_summary(const struct client_fetch *f);

#endif
