/* imap_int.h: the IMAP session, shared by the files of src/imap only.
 *
 * Lifetimes (STYLE 3): the session struct and its arena live as long as the connection;
 * the command arena holds one command's arguments and scratch and is released when the
 * session goes idle; the selected mailbox's state (struct imap_selected) is malloc'ed at
 * SELECT and freed at CLOSE/UNSELECT/another SELECT. An idle session holds no store
 * handle: every command opens the account's store (pooled handles, cheap) and closes
 * it before it answers.
 *
 * Order of a command's output: its own untagged data, then the mailbox updates that may
 * be sent now (imap_sync_send: RFC 9051 7.5.1 forbids EXPUNGE while answering FETCH,
 * STORE and SEARCH), then the tagged completion. In IDLE, updates go out as they come
 * (notify/ wakes the session on its own loop thread). */
#ifndef KASTEN_IMAP_INT_H
#define KASTEN_IMAP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "imap/imap.h"
#include "imap/imap_fmt.h"
#include "imap/imap_parse.h"
#include "imap/imap_uidmap.h"

struct store;
struct store_env;
struct notify_watch;
struct imap_job;
extern struct store_env *imap_env;

enum imap_state {
	IMAP_STATE_NOTAUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
};

enum imap_mode {
	IMAP_MODE_COMMAND, /* reading commands */
	IMAP_MODE_SASL,    /* reading AUTHENTICATE continuation lines */
	IMAP_MODE_IDLE,    /* in IDLE: only "DONE" ends it */
	IMAP_MODE_STREAM,  /* taking an APPEND literal's octets (imap_append.c) */
	IMAP_MODE_BUSY,    /* waiting for work on the pool or a penalty delay */
};

/* The selected mailbox (RFC 9051 6.3.2). What the client has been told about it:
 * updates are computed against these. */
struct imap_selected {
	int64_t mailbox_id;
	char *name;               /* as stored (UTF-8, "/" hierarchy); malloc'ed */
	bool readonly;            /* EXAMINE */
	uint32_t uidvalidity;
	uint32_t uidnext;         /* the UIDNEXT the client knows */
	uint64_t modseq;          /* changes up to this modseq are reported */
	struct imap_uidmap map;   /* the messages the client knows (sequence numbers) */
	/* rev1 (RFC 3501 2.3.2): the messages this session holds \Recent for, the first to
	 * see them (claimed from the store: no other session has them); .total counts */
	struct imap_uidmap recent;
	size_t nkeywords;         /* keywords announced in the last FLAGS response */
	bool woken;               /* notify/ said something changed since the last look */
	/* SEARCHRES (RFC 5182): the UIDs saved by SEARCH ... RETURN (SAVE), malloc'ed */
	uint32_t *saved;
	size_t nsaved;
	/* UIDs expunged by others but not yet announced (EXPUNGE not allowed yet) */
	uint32_t *gone;
	size_t ngone, capgone;
	/* modseqs of this session's own changes since the last sync: not echoed back
	 * (malloc'ed, up to LIMIT_IMAP_OWN_CHANGES; past that a change is echoed) */
	uint64_t *own;
	size_t nown, capown;
};

struct imap_session {
	struct net_conn *c;
	struct arena sa, ca;        /* session, command */
	struct imap_parser parser;
	struct imap_sink out;       /* writes to the connection */
	enum imap_state state;
	enum imap_mode mode;
	unsigned errors;            /* BAD commands, for LIMIT_IMAP_ERRORS */
	bool closing;               /* on_close ran while busy: free when the work is done */
	bool receiving;             /* a command is partly received (its args in ca) */
	/* metrics: when the command being answered was complete in the input (or its last
	 * IDLE/AUTHENTICATE line arrived; metrics_now), 0 once its tagged reply is queued */
	uint64_t cmd_start;

	/* ENABLE (RFC 5161) and what follows from it */
	bool rev2;                  /* IMAP4rev2 enabled */
	bool utf8;                  /* UTF8=ACCEPT or IMAP4rev2: UTF-8 strings and names */
	bool condstore;             /* CONDSTORE enabled (or implied by a CONDSTORE command) */
	bool qresync;               /* QRESYNC enabled (implies CONDSTORE) */

	/* the account, once logged in */
	int64_t account;
	const char *address;        /* in sa */
	const char *client_id;      /* RFC 2971 ID "name version" for the activity log, in
				     * sa, at most LIMIT_ACTIVITY_STRING bytes; NULL until ID */
	struct auth_exchange sasl;  /* AUTHENTICATE in progress (MODE_SASL) */

	struct imap_selected *sel;  /* NULL unless state SELECTED */
	struct notify_watch *watch; /* while selected or idling */

	/* the command being answered, in ca; NULL between commands. IDLE and AUTHENTICATE
	 * stay in progress across their continuation lines. */
	struct imap_cmd *cmd;
	const char *tag;
	/* a command that changes messages (APPEND while its literals arrive, STORE, COPY,
	 * MOVE, EXPUNGE while the pool works): imap_write.h; NULL otherwise */
	struct imap_job *job;
	/* imap_wait_output: what runs once the client has read the output; NULL otherwise */
	void (*drain_more)(struct imap_session *s, void *arg);
	void *drain_arg;
};

/* Free a session whose connection is gone (on_close, or work that outlived it). */
void imap_session_free(struct imap_session *s);
/* Release s->job and what it holds (an APPEND's spool files); NULL ok (imap_job.c). */
void imap_job_free(struct imap_session *s);

/* ---- output (imap_session.c) ---- */
/* "* " + text + CRLF. */
void imap_untagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The command's tagged completion: tag + " " + text + CRLF (e.g. "OK [READ-WRITE] Done").
 * Sends the mailbox updates allowed after this command first (imap_sync_send). */
void imap_done(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same without the updates (errors before anything happened, LOGOUT). */
void imap_tagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Count a BAD for the error limit; answers and may close. */
void imap_bad(struct imap_session *s, const char *text);

/* ---- asynchronous work (imap_session.c) ----
 * The session pauses (pipelined commands wait) while work(arg) runs on the worker pool;
 * then done(s, arg) runs on the session's loop (the command's arena still valid), and the
 * session resumes. If the connection went away meanwhile, done is skipped and the
 * session freed. For slow store calls (fsync on commit, big copies, APPEND). */
typedef void (*imap_work_fn)(void *arg);
typedef void (*imap_done_fn)(struct imap_session *s, void *arg);
int imap_async(struct imap_session *s, imap_work_fn work, imap_done_fn done, void *arg);

/* ---- output the client must read first (imap_session.c) ----
 * A command whose answer is big (FETCH of bodies, or of a whole mailbox) writes until
 * net_conn_output_pending() reaches NET_OUTPUT_LOW and then calls imap_wait_output():
 * the session pauses (pipelined commands wait) and more(s, arg) runs on the session's
 * loop once the client has read the output below that mark. more writes on, waits
 * again, starts work with imap_async, or completes the command. If the connection goes
 * away meanwhile, more is skipped and the session freed: what the command holds beyond
 * its arena belongs in s->job (imap_write.h), which is released with it. */
int imap_wait_output(struct imap_session *s, imap_done_fn more, void *arg);

/* Open the account's store for this command (closed by imap_store_close); answers
 * "NO [UNAVAILABLE]" itself and returns NULL on failure. */
struct store *imap_store_open(struct imap_session *s);
void imap_store_close(struct store **st);

/* ---- capabilities, ENABLE, ID, NOOP, LOGOUT, COMPRESS (imap_caps.c) ---- */
/* The CAPABILITY list for the session's state, without "CAPABILITY" itself. */
const char *imap_capabilities(struct imap_session *s);

/* ---- login (imap_auth.c) ---- */
bool imap_cleartext_ok(const struct imap_session *s);
/* One AUTHENTICATE continuation line (MODE_SASL). */
int imap_auth_line(struct imap_session *s, const char *line, size_t len);

/* ---- mailbox names (imap_names.c) ----
 * A name from the client (astring argument) to the stored form: modified UTF-7 decoded
 * unless UTF-8 is enabled, "INBOX" in any case folded, checked with
 * store_mailbox_name_ok(); NULL after answering NO/BAD itself. */
const char *imap_name_in(struct imap_session *s, const struct imap_arg *arg);
/* A stored name as it goes to this client: an astring (modified UTF-7 unless UTF-8). */
void imap_name_out(struct imap_session *s, const char *name);

/* ---- the selected mailbox and its updates (imap_select.c, imap_sync.c) ---- */
void imap_select_free(struct imap_session *s);
/* Look at the store for changes since what the client was told; queue or send them.
 * allow_expunge: EXPUNGE/VANISHED may be sent now (not while answering FETCH, STORE,
 * SEARCH by sequence number; RFC 9051 7.5.1). Called before every tagged completion
 * (through imap_done) and in IDLE on every wake-up. */
void imap_sync_send(struct imap_session *s, bool allow_expunge);
/* Remember that this session made the change with this modseq (not to be echoed). */
void imap_sync_own(struct imap_session *s, uint64_t modseq);
/* notify/ callback: something changed in the selected mailbox. */
void imap_sync_wake(void *arg);
/* rev1 \Recent: does this session hold it for uid? Take the UIDs of [first, end) that
 * are in the map (a claim from store_recent_claim); drop uid (expunged: returns whether
 * it was recent). */
bool imap_recent_has(const struct imap_selected *sel, uint32_t uid);
int imap_recent_take(struct imap_selected *sel, uint32_t first, uint32_t end);
bool imap_recent_drop(struct imap_selected *sel, uint32_t uid);
/* A CONDSTORE-enabling command (RFC 7162 3.1: ENABLE CONDSTORE, FETCH MODSEQ, SEARCH
 * MODSEQ, STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ...): CONDSTORE on for the rest of
 * the session; the first time while a mailbox is selected, its HIGHESTMODSEQ is sent. */
void imap_condstore_on(struct imap_session *s);
/* FLAGS and PERMANENTFLAGS of the selected mailbox (SELECT, and when a keyword is new). */
void imap_select_flags(struct imap_session *s, struct store *st, struct arena *a);
/* An unsolicited FETCH (FLAGS UID [MODSEQ]) for a changed message. */
struct store_msg;
void imap_sync_put_fetch(struct imap_session *s, const struct store_msg *m);
/* ---- flags (imap_flags.c) ---- */
/* "FLAGS (...)" of a message (with \Recent for rev1 where it applies). */
void imap_put_msg_flags(struct imap_session *s, const struct store_msg *m);
/* The flags a mailbox knows (FLAGS, PERMANENTFLAGS): the system flags, the keywords the
 * store keeps as bits, then `keywords` (the mailbox's others, space-separated). */
void imap_put_flag_names(struct imap_session *s, const char *keywords);
/* The store's bit for a keyword it keeps as a bit ($Forwarded, $Junk, $NotJunk), any
 * case; 0 for other keywords. */
unsigned imap_keyword_bit(const char *name, size_t len);
/* VANISHED [(EARLIER)] for QRESYNC (imap_sync.c has the rules). */
void imap_sync_vanished(struct imap_session *s, const uint32_t *gone, size_t ngone,
			bool complete, const struct imap_seqset *known, uint32_t known_max,
			bool earlier);
/* Ascending UIDs as a compact uid-set. */
void imap_put_uidset(const struct imap_sink *o, const uint32_t *uids, size_t n);

/* ---- command handlers: one per verb (the table is in imap_session.c) ---- */
typedef int (*imap_handler)(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_capability(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_noop(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_logout(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_id(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_enable(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_compress(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_starttls(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_login(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_select(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_idle(struct imap_session *s, struct imap_cmd *cmd);
/* The IDLE "DONE" line (MODE_IDLE). */
int imap_idle_line(struct imap_session *s, const char *line, size_t len);
/* Mailbox commands (imap_mailbox.c, imap_list.c, imap_status.c) */
int imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_namespace(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_quota(struct imap_session *s, struct imap_cmd *cmd);
/* "* STATUS <name> (...)" for mb with the IMAP_STATUS_* items (STATUS, LIST-STATUS);
 * the selected mailbox as this session was told about it. The name is encoded in
 * scratch (imap_status.c). */
struct store_mailbox;
void imap_status_put(struct imap_session *s, const struct store_mailbox *mb, unsigned items,
		     struct arena *scratch);
/* Message commands */
int imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_expunge(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_search(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_fetch(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_copy(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_sort(struct imap_session *s, struct imap_cmd *cmd);
int imap_cmd_thread(struct imap_session *s, struct imap_cmd *cmd);

/* APPEND's message data (imap_append.c): the parser said IMAP_PARSE_STREAM. Sets
 * MODE_STREAM and takes the octets through imap_append_input(). */
int imap_append_stream(struct imap_session *s, struct imap_cmd *partial);
int imap_append_input(struct imap_session *s, const uint8_t *p, size_t len);

#endif
