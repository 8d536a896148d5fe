/* client_sync_int.h: what the executor files of kasten sync share (client_sync_run.c:
 * the passes and the staying-connected loop; client_sync_side.c: reading the local and
 * the remote side of a folder; client_sync_exec.c: carrying out a folder's actions). */
#ifndef KASTEN_CLIENT_SYNC_INT_H
#define KASTEN_CLIENT_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_imap.h"
#include "client/client_maildir.h"
#include "client/client_sync.h"
#include "client/client_sync_state.h"
#include "core/arena.h"
#include "core/limits.h"

/* One run of kasten sync: the connection, the state, the counters of the summary. */
struct sync_run {
	const struct client_sync_opts *opts;
	struct client_imap *imap;
	struct client_sync_state *st;
	char delim;    /* the server's hierarchy delimiter, '/' when flat; 0 before the
			* first LIST answer */
	bool qresync;  /* QRESYNC enabled (RFC 7162 3.2.3) */
	bool condstore;
	bool enable_ahead; /* ENABLE was sent ahead of the first LIST: its answer is due */
	struct client_sync_stats stats;
	/* INBOX as the last pass's SELECT saw it: a later SELECT that differs means a
	 * change came between the pass and the IDLE */
	uint32_t inbox_exists, inbox_uidnext;
	uint64_t inbox_modseq;
	bool inbox_from_status; /* ... those came from LIST-STATUS (INBOX was unchanged) */
	bool select_inbox;      /* this pass SELECTs INBOX even if its STATUS is unchanged */
	bool early;             /* reading before the login: nothing may be written */
	uint64_t local_sig; /* the local tree's signature before the last pass */
	char error[LIMIT_CLIENT_ERROR];
};

/* Everything known of one folder during a pass, beside the planner's view of it. */
struct sync_folder {
	struct client_sync_folder view;
	const char *local_path;  /* its Maildir, NULL if none yet */
	const char **local_paths; /* per view.local[]: the file's path */
	time_t *local_mtime;     /* per view.local[]: INTERNALDATE for an upload */
	const char **moving;     /* per view.rows[]: the row's moving_to */
	struct client_sync_state_folder state;
	uint64_t remote_modseq;  /* HIGHESTMODSEQ of the SELECT */
	uint32_t remote_count;   /* EXISTS of the SELECT */
	bool remote_selected;
	/* A pass that finds nothing (client_sync_side.c, docs/client.md "Passes that find
	 * nothing"): */
	struct client_imap_mailbox_status status; /* LIST-STATUS's; has 0: none came */
	bool local_trusted;   /* its directories are as its local record says: the local view
			       * is its rows (read when needed), nothing was listed */
	bool local_same;      /* listed, and the listing is exactly its rows */
	bool local_missing;   /* some row's file is not in the listing (R7 may apply) */
	bool unchanged;       /* this pass found it as the last one left it: no SELECT */
	uint64_t rows_gen;    /* the generation of the rows read (listed or trusted) */
	struct client_sync_state_local listed; /* the listing as a record (at_ns 0: not one
						* that may be trusted later) */
	int64_t adopted_from;    /* rows with this id or above were made by sync_adopt_local
				  * in this pass (never sent anywhere); 0: none */
};

/* Folder names: the state and the local tree write "A/B"; the server its delimiter. */
int sync_server_name(const struct sync_run *r, const char *name, char *out, size_t cap);

/* The local side of f, its rows read: whether its Maildir exists, every file with its
 * flags; a file whose row has the same flags costs no stat (its ctime is not needed, R3
 * compares times only when flags differ, and its path and mtime only an upload needs:
 * sync_local_detail), the others get their ctime, mtime and path. Sets local_same,
 * local_missing and listed. Strings and arrays from a. */
int sync_local_list(struct sync_run *r, struct sync_folder *f, struct arena *a);
/* Whether f's local record may stand in for a listing: its directories have the stamp it
 * recorded, the listing began LIMIT_CLIENT_SYNC_DIR_QUIET seconds or more after their
 * last change (a later change cannot carry the same mtime), and its rows are the ones
 * that listing found (same rows_gen). Two stats. */
bool sync_local_trust(const struct sync_folder *f);
/* A trusted folder's local view from its rows (read): each row's base and flags. */
int sync_local_from_rows(struct sync_run *r, struct sync_folder *f, struct arena *a);
/* The path and mtime of local file l (an upload) when the listing did not take them. */
int sync_local_detail(struct sync_run *r, struct sync_folder *f, size_t l, struct arena *a);
/* After f's pass: its local record as it may be kept, into *out (at_ns 0: none): the
 * listing's, if nothing changed since; else, if its directories have been still long
 * enough, a listing of the names made now and compared with the rows read anew. */
int sync_local_settle(struct sync_run *r, struct sync_folder *f, struct arena *a,
		      struct client_sync_state_local *out);

/* SELECT f (with QRESYNC when the state allows) and list its messages into f->view:
 * every UID with flags; Message-ID and size for UIDs without a row (all after a
 * UIDVALIDITY change). Called with the rows loaded. */
int sync_remote_list(struct sync_run *r, struct sync_folder *f, struct arena *a);

/* A folder the state meets for the first time on both sides (say, a tree mbsync
 * filled): every local file without a row gets a pending row (UID 0) with its
 * Message-ID, size and SHA-256, so that the plan pairs it with the server's copy (R1)
 * instead of uploading and downloading both. Files moved_in are another folder's. */
int sync_adopt_local(struct sync_run *r, struct sync_folder *f, const bool *moved_in);

/* Carry out the plan of f (selected) in order. */
int sync_exec(struct sync_run *r, struct sync_folder *f, struct sync_folder *all, size_t nall,
	      const struct client_sync_plan *p, struct arena *a);

/* Batched downloads (client_sync_fetch.c): the wanted UIDs in as few UID FETCH commands
 * as fit, each body staged in tmp/ as it streams, the rows written in one open
 * transaction that commits before the batch's files are renamed into place. */
struct sync_fetch_got {
	const char *base;   /* the file's base name */
	const char *sha256; /* of the bytes received, "" never */
	const char *msgid;  /* "<id>" of their header, "" none */
	uint64_t size;      /* bytes as the server sent them (CRLF) */
	time_t date;        /* INTERNALDATE, 0 if not sent */
};

enum sync_fetch_outcome {
	SYNC_FETCH_MISSING = 0, /* no body came (expunged meanwhile, or an error first) */
	SYNC_FETCH_DONE,        /* staged and recorded (in place unless the run failed) */
	SYNC_FETCH_TOO_LONG,    /* header_only: a header longer than LIMIT_CLIENT_IMAP_HOLD */
	SYNC_FETCH_SKIPPED,     /* place() said no */
};

struct sync_fetch {
	struct sync_run *r;
	struct client_maildir *md;
	const char *folder; /* for errors and the progress line */
	const char *items;  /* e.g. "(UID INTERNALDATE BODY.PEEK[])" */
	bool header_only;   /* items ask for BODY.PEEK[HEADER] (it comes with the response end) */
	size_t progress_base, progress_total;
	/* Message i (index into the caller's uids) came: how to stage it; date is its
	 * INTERNALDATE (0: none); *mtime_out preset to date. >0: not wanted after all. */
	int (*place)(void *arg, size_t i, time_t date, unsigned *flags_out, bool *cur_out,
		     time_t *mtime_out);
	/* Message i is staged: write what a crash must find (its base name) into the open
	 * transaction; it commits before the file is renamed into place. */
	int (*record)(void *arg, size_t i, const struct sync_fetch_got *g);
	/* Message i is in new/ or cur/ and durable: complete its row (open transaction). */
	int (*placed)(void *arg, size_t i, const struct sync_fetch_got *g);
	/* After a batch's placed() calls, before their transaction can commit (NULL: none). */
	int (*settle)(void *arg);
	void *arg;
	uint8_t *outcome; /* per uid, enum sync_fetch_outcome, set by sync_fetch_run */
};

/* Download uids[0..n) (any order, no duplicates) as sf says. Called and returning
 * outside a state transaction; every message that came whole is in place and recorded
 * on return, also after an error (the first one returned, r->error says it). */
int sync_fetch_run(struct sync_fetch *sf, const uint32_t *uids, size_t n);

/* The DOWNLOAD actions of plan p of f (selected) into md, batched as above: a new row
 * per message (or the action's row) "fetching" until its file is in place; a message
 * gone from the server meanwhile drops its row. With --headers-first the headers only
 * (the rows partial), a header too long to hold the whole message at once. */
int sync_download(struct sync_run *r, struct sync_folder *f, struct client_maildir *md,
		  const struct client_sync_plan *p, struct arena *a);

/* --headers-first (client_sync_body.c). Before f is listed: put in place (or remove)
 * the whole messages a crash left beside their header-only files; *changed_out when a
 * row changed (read the rows again). */
int sync_body_recover(struct sync_run *r, struct sync_folder *f, bool *changed_out);
/* After every folder's pass: replace f's header-only files by the whole messages. */
int sync_body_fill(struct sync_run *r, struct sync_folder *f, struct arena *a);

/* Record the error of the run, one line, for the user; returns e. */
int sync_fail(struct sync_run *r, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
