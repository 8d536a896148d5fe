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
	char delim;    /* the server's hierarchy delimiter, '/' when flat */
	bool qresync;  /* QRESYNC enabled (RFC 7162 3.2.3) */
	bool condstore;
	struct client_sync_stats stats;
	/* INBOX as the last pass's SELECT saw it: a later SELECT that differs means a
	 * change came between the pass and the IDLE */
	uint32_t inbox_exists, inbox_uidnext;
	uint64_t inbox_modseq;
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
};

/* Folder names: the state and the local tree write "A/B"; the server its delimiter. */
int sync_server_name(const struct sync_run *r, const char *name, char *out, size_t cap);

/* The local side of f: whether its Maildir exists, every file with flags and ctime.
 * Strings and arrays from a. */
int sync_local_list(struct sync_run *r, struct sync_folder *f, struct arena *a);

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
