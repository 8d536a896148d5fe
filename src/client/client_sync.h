/* client_sync.h: kasten sync, two-way IMAP <-> local Maildir tree. This header is the
 * model: what the state holds, the rules that decide every action, and the pure
 * planning functions that apply them (client_sync_plan.c: one folder's messages;
 * client_sync_folders.c: the folder tree and messages moved between local folders).
 * The executor (client_sync_run.c) reads the three sides, calls these, and carries out
 * the actions in an order that keeps the state crash-safe; docs/client.md says the same
 * for users.
 *
 * The three sides of one folder:
 * - the state (client_sync_state.h, DIR/kasten-sync.db): per folder its UIDVALIDITY,
 *   UIDNEXT and HIGHESTMODSEQ as last synced; per message the UID, the local base name,
 *   the flags both sides had after the last sync, the keywords (Maildir cannot hold
 *   them), the Message-ID, the SHA-256 of the content with LF line ends and the size as
 *   the server counts it (RFC822.SIZE, CRLF line ends);
 * - the local listing (client_maildir_each): base name, info-letter flags, and the
 *   ctime of a file whose flags are not its row's (R3); or, when the folder's
 *   directories are as a listing that matched its rows left them, the rows themselves;
 * - the remote listing (UID FETCH (UID FLAGS), or with QRESYNC the state's rows with
 *   the server's changes applied): UID, flags, keywords, and for UIDs the state does not
 *   know, the Message-ID and size.
 *
 * The rules (a message is a state row, a local file or a remote UID):
 * R1 new on one side (no row): copied to the other side. A local one is APPENDed with
 *    its flags and its file's mtime as INTERNALDATE; its row is written first with UID 0
 *    ("upload pending") and gets the UID from APPENDUID; a pending row is matched to a
 *    remote message with the same Message-ID and size (a server without UIDPLUS, or a
 *    crash between APPEND and the row) instead of uploading or downloading it twice.
 * R2 flags changed on one side only: applied to the other.
 * R3 flags changed on both sides since the last sync: every flag added on either side is
 *    added; a flag removed on one side is removed only if that side's change is the
 *    newer one (local: the file's ctime; remote: the moment kasten saw the change, which
 *    the caller passes as remote_time); equal times keep the flag.
 * R4 deleted on one side: deleted on the other (remote: UID STORE \Deleted and UID
 *    EXPUNGE, the row marked "deleting" first; local: unlink). Gone on both: the row goes.
 * R5 keywords come from the server and are kept in the row; local files cannot change
 *    them. A re-upload (R9) sends them again.
 * Safety rules, which win over R4:
 * S1 a local folder whose directory is missing, or that holds no message while its rows
 *    say it held some (not counting messages moved to another folder, R7), deletes
 *    nothing on the server: its messages are downloaded again. A local tree that was
 *    removed takes the state with it (the database lives in it): everything is new on
 *    the server side and is downloaded; nothing is deleted.
 * S2 a server folder that lists no message while the rows say it had some is trusted
 *    (someone expunged it all) only if its UIDVALIDITY is unchanged and its UIDNEXT did
 *    not go down; with the same UIDVALIDITY and a smaller UIDNEXT the server broke its
 *    own promise (RFC 9051 2.3.1.1) and the folder is skipped: nothing deleted anywhere.
 * S3 a local folder deletion is never sent to the server (it is indistinguishable from
 *    a lost directory: S1); folders are deleted on the server, and a folder deleted
 *    there is deleted locally, except local messages the server never had, for which
 *    the folder is created again and they are uploaded.
 * Folders and moves:
 * R6 a folder on one side only, unknown to the state: created on the other.
 * R7 a file found under another local folder than its row's (same base name: another
 *    mail program moved it) is moved on the server (UID MOVE, or UID COPY + delete),
 *    never downloaded again or uploaded as new.
 * R8 a folder renamed locally (the folder of the state is gone and its messages are all
 *    in one new folder) is RENAMEd on the server; a folder renamed on the server (gone
 *    from LIST, a new name with the same UIDVALIDITY) is renamed locally.
 * R9 UIDVALIDITY changed: the rows are matched again to the server's messages by
 *    Message-ID and size (by SHA-256 when there is no Message-ID), each at most once;
 *    matched rows take the new UID and then follow R2-R4 (local changes are kept);
 *    unmatched rows with a local file are uploaded again (nothing lost); unmatched
 *    server messages are downloaded (nothing duplicated: a match is never downloaded)
 * --headers-first (client_sync_body.c) changes how a DOWNLOAD is carried out, not the
 * plan: the header alone first (the row marked partial), the whole message after every
 * folder's pass, renamed over the header-only file. */
#ifndef KASTEN_CLIENT_SYNC_H
#define KASTEN_CLIENT_SYNC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/arena.h"

#define CLIENT_SYNC_NONE SIZE_MAX /* no row / local / remote index */

/* One message as the state knows it. */
struct client_sync_row {
	int64_t id;           /* the state's row id (opaque here) */
	uint32_t uid;         /* 0: upload or move pending, UID not known yet (R1, R7) */
	const char *base;     /* local base name, "" while only on the server */
	unsigned flags;       /* client_flag bits both sides had after the last sync */
	const char *keywords; /* space-separated, "" none */
	const char *msgid;    /* "" none */
	const char *sha256;   /* 64 hex digits, "" not known */
	uint64_t size;        /* RFC822.SIZE */
	bool deleting;        /* R4: the server is being told to delete it */
	bool fetching;        /* a download whose file may not be committed yet: base is the
			       * name it will have (recorded first, so that a file that made it
			       * is never taken for a new local one) */
	bool partial;         /* --headers-first: the file holds the header only (the planner
			       * treats it as any other; the executor completes it) */
	const char *body_base; /* the whole message's file while it replaces the header-only
				* one, "" none (NULL is read as "") */
};

/* One file of the local folder. */
struct client_sync_local {
	const char *base;
	unsigned flags;
	time_t ctime; /* the last change of its name (flags); 0 where its row has its flags
		       * (no stat taken: R3 compares times only when they differ) */
};

/* One message on the server. */
struct client_sync_remote {
	uint32_t uid;
	unsigned flags;
	const char *keywords; /* "" none */
	const char *msgid;    /* "" none or not fetched (only needed for UIDs without row) */
	uint64_t size;
	const char *sha256;   /* "" unless fetched (R9 for messages without Message-ID) */
};

/* One folder, as the executor read its three sides. */
struct client_sync_folder {
	const char *name; /* IMAP form, "INBOX" for the root */
	/* state */
	bool state_known;
	uint32_t state_uidvalidity, state_uidnext;
	const struct client_sync_row *rows;
	size_t nrows;
	/* local */
	bool local_exists;
	const struct client_sync_local *local;
	size_t nlocal;
	/* remote: listed tells that rows of remote[] are the whole folder */
	bool remote_exists, remote_listed;
	uint32_t remote_uidvalidity, remote_uidnext;
	const struct client_sync_remote *remote;
	size_t nremote;
	time_t remote_time; /* R3: when the remote flags were seen */
	/* R7, filled by client_sync_find_moves (NULL: none): per row the folder index its
	 * file now lives in or CLIENT_SYNC_NONE; per local file whether it belongs to
	 * another folder's row (its move is that folder's action). */
	const size_t *moved_to;
	const bool *moved_in;
};

enum client_sync_act_kind {
	CLIENT_SYNC_DOWNLOAD,      /* remote -> new local file (row: reuse that row) */
	CLIENT_SYNC_UPLOAD,        /* local -> APPEND (row: reuse that row, R9) */
	CLIENT_SYNC_RELINK,        /* row takes remote's UID (R1 pending, R9) */
	CLIENT_SYNC_FLAGS_LOCAL,   /* rename the local file to flags (the row: UPDATE_ROW) */
	CLIENT_SYNC_FLAGS_REMOTE,  /* UID STORE +add / -del */
	CLIENT_SYNC_UPDATE_ROW,    /* the row takes flags and remote's keywords (R2, R3, R5) */
	CLIENT_SYNC_DELETE_LOCAL,  /* unlink the file, then drop the row */
	CLIENT_SYNC_DELETE_REMOTE, /* mark the row deleting, STORE \Deleted, UID EXPUNGE */
	CLIENT_SYNC_FORGET,        /* drop the row */
	CLIENT_SYNC_MOVE_REMOTE,   /* UID MOVE row's UID to folder `to`; the row moves along */
};

struct client_sync_action {
	enum client_sync_act_kind kind;
	size_t row, local, remote; /* indexes into the folder's arrays, or CLIENT_SYNC_NONE */
	unsigned flags;            /* the flags the row records once this is done */
	unsigned add, del;         /* FLAGS_REMOTE */
	size_t to;                 /* MOVE_REMOTE: the folder index */
};

/* What happens to a folder as a whole. */
enum client_sync_folder_mode {
	CLIENT_SYNC_MODE_NORMAL,
	CLIENT_SYNC_MODE_LOCAL_LOST,  /* S1: re-download, never delete on the server */
	CLIENT_SYNC_MODE_REMOTE_GONE, /* S3: deleted on the server */
	CLIENT_SYNC_MODE_SKIP,        /* S2: the server contradicts itself */
	CLIENT_SYNC_MODE_REMATCH,     /* R9: UIDVALIDITY changed */
};

struct client_sync_plan {
	enum client_sync_folder_mode mode;
	struct client_sync_action *acts; /* in the order they are to be carried out */
	size_t nacts;
};

/* Plan one folder's messages. The folder must exist on at least one side (folder
 * actions, client_sync_plan_folders, come first). The actions, allocated from a, are
 * ordered: RELINK first, then per message, then DOWNLOAD and UPLOAD of new ones.
 * 0, or ERR_NOMEM. */
int client_sync_plan_msgs(const struct client_sync_folder *f, struct arena *a,
			  struct client_sync_plan *out);

/* The mode client_sync_plan_msgs uses for f (exposed for the summary and the tests). */
enum client_sync_folder_mode client_sync_folder_mode(const struct client_sync_folder *f);

/* R7: for every row whose base is not in its own folder's listing but in exactly one
 * other folder's (and that other folder has no row with that base), set moved_to of
 * the row and moved_in of the file. The arrays come from a. 0 or ERR_NOMEM. */
int client_sync_find_moves(struct client_sync_folder *f, size_t nf, struct arena *a);

enum client_sync_folder_act_kind {
	CLIENT_SYNC_FOLDER_CREATE_REMOTE, /* R6, and S3 when local-only messages remain */
	CLIENT_SYNC_FOLDER_CREATE_LOCAL,  /* R6, and S1 for a lost directory */
	CLIENT_SYNC_FOLDER_RENAME_REMOTE, /* R8: from -> to */
	CLIENT_SYNC_FOLDER_RENAME_LOCAL,  /* R8 */
	CLIENT_SYNC_FOLDER_FORGET,        /* gone on both sides: drop its rows */
};

struct client_sync_folder_action {
	enum client_sync_folder_act_kind kind;
	size_t folder; /* index into the folders given */
	size_t to;     /* RENAME_*: the folder index of the new name */
};

/* Plan the folder tree (R6, R8, S3). f[] is every name seen on any side, each once;
 * rows and local listings are needed for R8 (remote listings are not). INBOX is never
 * created, renamed or forgotten. Actions from a into *acts_out, *n_out. 0 or ERR_NOMEM. */
int client_sync_plan_folders(const struct client_sync_folder *f, size_t nf, struct arena *a,
			     struct client_sync_folder_action **acts_out, size_t *n_out);

/* R3 for one message: the flags both sides end with, given the flags of the row, the
 * local file and the server, and when each side changed. */
unsigned client_sync_merge_flags(unsigned row, unsigned local, time_t local_time,
				 unsigned remote, time_t remote_time);

/* ---- the executor (client_sync_run.c) ---- */

struct client_endpoint;

struct client_sync_opts {
	const struct client_endpoint *ep;
	const char *user, *password;
	const char *maildir;   /* the local tree; created if missing */
	bool once;             /* one pass, then LOGOUT; else stay connected */
	bool headers_first;    /* new messages: every header first, then the bodies */
	unsigned full_check_s; /* staying connected: seconds between full checks */
	/* A line of progress on a terminal (may be NULL): the folder and how many of its
	 * actions are done. */
	void (*progress)(void *arg, const char *folder, size_t done, size_t total);
	void *progress_arg;
};

struct client_sync_stats {
	unsigned folders, passes;
	uint64_t downloaded, uploaded, flags_local, flags_remote;
	uint64_t deleted_local, deleted_remote, moved, folders_created, folders_renamed;
	uint64_t headers; /* --headers-first: header-only files written (then completed) */
	unsigned skipped; /* folders left alone by S2 */
	unsigned unchanged; /* folders found as the last pass left them, without a SELECT */
	uint64_t bytes_in, bytes_out;
};

/* Sync until done (--once) or until *stop becomes true (between two waits; NULL:
 * never). 0 and *stats_out, or a negative err with one line in err_out ("login
 * failed: ...", "cannot connect to ..."). */
int client_sync_run(const struct client_sync_opts *o, volatile const sig_atomic_t *stop,
		    struct client_sync_stats *stats_out, char *err_out, size_t err_cap);

#endif
