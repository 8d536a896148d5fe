/* client_maildir.h: the user's local mail store for kasten fetch, sync and migrate:
 * Maildir (tmp/, new/, cur/) as mutt, Dovecot and mbsync read it, folders as Maildir++
 * (".Sub.Folder" beside cur/ of the root, INBOX = the root) or as one Maildir per
 * directory ("Sub/Folder/cur"), and mbox files for reading.
 *
 * Durability: a message is written to tmp/ under a unique name, fsynced, renamed into
 * new/ (or cur/ with its flags) and the directory fsynced, before the call returns: what
 * the caller then records as downloaded is on disk. Messages are stored byte-exact with
 * LF line ends (a CRLF from the wire becomes LF; nothing is added to the header).
 *
 * A message is known by its base name (the unique part before ":2,"), which never
 * changes when another mail program moves it from new/ to cur/ or changes its flags;
 * client_maildir_find looks in both. Flags are the info letters of ":2," (RFC-less but
 * universal: D draft, F flagged, P passed, R replied, S seen, T trashed), kept sorted. */
#ifndef KASTEN_CLIENT_MAILDIR_H
#define KASTEN_CLIENT_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* IMAP system flags as Maildir info letters. */
enum client_flag {
	CLIENT_FLAG_DRAFT = 1 << 0,    /* D  \Draft */
	CLIENT_FLAG_FLAGGED = 1 << 1,  /* F  \Flagged */
	CLIENT_FLAG_PASSED = 1 << 2,   /* P  ($Forwarded; no IMAP system flag) */
	CLIENT_FLAG_REPLIED = 1 << 3,  /* R  \Answered */
	CLIENT_FLAG_SEEN = 1 << 4,     /* S  \Seen */
	CLIENT_FLAG_TRASHED = 1 << 5,  /* T  \Deleted */
};

/* flags as ":2,<letters>" letters into buf (at least 8 bytes), sorted. */
void client_maildir_flags_str(unsigned flags, char *buf);
/* The flags of a file name's ":2," info; unknown letters are ignored. */
unsigned client_maildir_flags_of(const char *name);

struct client_maildir; /* one Maildir (one folder) */

/* Open the Maildir at path, creating it (and its parents, 0700) when create is set. */
int client_maildir_open(const char *path, bool create, struct client_maildir **md_out);
void client_maildir_close(struct client_maildir **md);
const char *client_maildir_path(const struct client_maildir *md);

/* A message being written: client_maildir_begin, any number of _write calls (bytes as
 * they come from the wire, CRLF or LF; a CR before LF is dropped even when the two come
 * in different calls), then _commit (fsync, rename, fsync the directory) or _abort
 * (removes the tmp file). base_out (at least CLIENT_MAILDIR_NAME_MAX bytes) gets the
 * base name the message will have; the caller may record it before committing. */
#define CLIENT_MAILDIR_NAME_MAX 128
struct client_maildir_msg;
int client_maildir_begin(struct client_maildir *md, struct client_maildir_msg **m_out,
			 char *base_out);
int client_maildir_write(struct client_maildir_msg *m, const void *p, size_t n);
/* Into new/ when flags == 0 and !cur, else cur/ with ":2,<flags>". mtime, if not 0,
 * becomes the file's modification time (its INTERNALDATE for other programs). */
int client_maildir_commit(struct client_maildir_msg **m, unsigned flags, bool cur,
			  time_t mtime);
void client_maildir_abort(struct client_maildir_msg **m);

/* Batched commit, for many messages in a row (fetch, sync): _stage ends a message in
 * tmp/, starts its write-back (sync_file_range) and closes it without waiting (no
 * reader sees it yet); _commit_staged then makes every staged message durable at once:
 * their bytes on disk (one syncfs(2) when the system holds little unwritten data, else
 * an fsync of each file: a syncfs would wait for other programs' data too), then the
 * renames into new/ or cur/, then one fsync of each of those directories. A flush or
 * so per batch, or about one per message, instead of three per message; a crash before
 * the commit leaves the staged files in tmp/ only (client_maildir_clean_tmp removes
 * them later). _stage refuses (ERR_TOO_BIG) once _batch_full: commit first. The caller
 * records what it must know about a staged message (its base name) durably before
 * _commit_staged renames it. */
int client_maildir_stage(struct client_maildir_msg **m, unsigned flags, bool cur,
			 time_t mtime);
bool client_maildir_batch_full(const struct client_maildir *md);
size_t client_maildir_nstaged(const struct client_maildir *md);
/* On an error the messages not renamed yet are removed from tmp/; those renamed stay
 * (the caller finds them by base name, as after a crash). */
int client_maildir_commit_staged(struct client_maildir *md);
/* Drop every staged message (their files in tmp/ are removed). */
void client_maildir_abort_staged(struct client_maildir *md);
/* Remove files of tmp/ unchanged (ctime) for LIMIT_CLIENT_MAILDIR_TMP_AGE seconds: what a
 * writer killed before its commit left there (best effort). */
void client_maildir_clean_tmp(struct client_maildir *md);

/* Where the message with this base name is now (new/ or cur/, any flags): its path
 * into path_out and its flags; ERR_NOTFOUND if neither has it. */
int client_maildir_find(struct client_maildir *md, const char *base, char *path_out,
			size_t cap, unsigned *flags_out);
/* Change the flags of a message (rename within cur/, from new/ into cur/). */
int client_maildir_set_flags(struct client_maildir *md, const char *base, unsigned flags);
/* Remove a message (ERR_NOTFOUND if it is gone already). */
int client_maildir_remove(struct client_maildir *md, const char *base);

/* One message file as client_maildir_each found it (strings valid during the call). */
struct client_maildir_file {
	const char *base; /* the base name */
	const char *name; /* the file name in new/ or cur/ ("<base>" or "<base>:2,<info>") */
	bool in_cur;
	unsigned flags;   /* of the name's ":2," info */
};

/* Every message of new/ and cur/ (once: a base name in both counts in cur/), in no
 * particular order, from the directory entries alone: names whose entry says regular
 * file, and those of a file system that does not say (DT_UNKNOWN) which a stat shows to
 * be one; no stat per file otherwise (the flags are in the name; a sync pass over
 * thousands of known messages needs nothing more). cb(arg, file); a nonzero return
 * stops the walk and is returned. The directories are read before the first call, so
 * cb may change the Maildir (set_flags, remove); a file reported may be gone by the
 * time cb looks at it. */
typedef int (*client_maildir_each_fn)(void *arg, const struct client_maildir_file *f);
int client_maildir_each(struct client_maildir *md, client_maildir_each_fn cb, void *arg);
/* What a stat says of a file each reported, for the callers that need it (an upload's
 * size and INTERNALDATE, R3's time of the last rename): one fstatat. ERR_NOTFOUND if it
 * was renamed or removed since, ERR_INVAL if it is no regular file. */
int client_maildir_file_stat(struct client_maildir *md, const struct client_maildir_file *f,
			     uint64_t *size_out, struct timespec *mtime_out,
			     struct timespec *ctime_out);
/* Its path ("<maildir>/cur/<name>"): ERR_FULL if longer than cap. */
int client_maildir_file_path(const struct client_maildir *md,
			     const struct client_maildir_file *f, char *path_out, size_t cap);

/* The stamp of a Maildir's message directories: new/ and cur/'s modification times (to
 * the nanosecond, as the file system keeps them) and inodes. Adding, removing or
 * renaming a message changes a directory's mtime (what Dovecot's maildir relies on too);
 * a directory put in another's place has another inode. A change in the same clock tick
 * as the last one may leave the mtime as it was: the caller decides how old an mtime
 * must be to be trusted. _stamp reads the open directories (the ones each lists),
 * _stamp_path the ones at path now. ERR_NOTFOUND if new/ or cur/ is missing. */
struct client_maildir_stamp {
	int64_t new_ns, cur_ns; /* mtime in ns since the epoch */
	uint64_t new_ino, cur_ino;
};
int client_maildir_stamp(const struct client_maildir *md, struct client_maildir_stamp *out);
int client_maildir_stamp_path(const char *path, struct client_maildir_stamp *out);

/* The folders of a Maildir tree rooted at root: cb(arg, name, path) with names as IMAP
 * shows them ("INBOX", "Sent", "Lists/kasten", "/" between levels), Maildir++ dot
 * folders and one-Maildir-per-directory layouts both recognized. */
typedef int (*client_maildir_folder_fn)(void *arg, const char *name, const char *path);
int client_maildir_folders(const char *root, client_maildir_folder_fn cb, void *arg);
/* The path of folder name (IMAP form) under root in Maildir++ layout. */
int client_maildir_folder_path(const char *root, const char *name, char *path_out,
			       size_t cap);

/* ---- mbox (read only: migrate) ----
 * mboxo and mboxrd: a message starts at a "From " line after an empty line (or at the
 * start of the file); ">From " lines are unescaped (mboxrd: any number of ">"). The date
 * of the From_ line is the message's INTERNALDATE; Status: and X-Status: give its flags
 * (R read -> \Seen, A answered, F flagged, T draft, D deleted) and are left out of the
 * message, as mutt does when it writes them. */
struct client_mbox;
/* ERR_NOTFOUND, ERR_PERM, ERR_INVAL (not a regular file), ERR_IO, or ERR_BAD_SYNTAX when
 * the file does not begin with "From " (an empty file is an empty mbox). */
int client_mbox_open(const char *path, struct client_mbox **mb_out);
/* The next message: 1 with its bytes streamed to cb (LF line ends) in pieces of at most
 * LIMIT_CLIENT_MBOX_BUF bytes, its flags and date (0 if the From_ line has none that
 * reads); 0 at the end; <0 on error. cb returns 0 to go on; anything else stops the
 * read and is returned (a positive value as ERR_INVAL); the reader is then done. */
typedef int (*client_mbox_data_fn)(void *arg, const void *p, size_t n);
int client_mbox_next(struct client_mbox *mb, client_mbox_data_fn cb, void *arg,
		     unsigned *flags_out, time_t *date_out);
void client_mbox_close(struct client_mbox **mb);
/* One line for the user about an error of client_mbox_open or _next, e.g. for
 * ERR_BAD_SYNTAX "not an mbox file: it does not begin with a "From " line". */
const char *client_mbox_strerror(int e);

#endif
