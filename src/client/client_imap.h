/* client_imap.h: the IMAP client engine of kasten fetch, sync and migrate (RFC 9051 and
 * RFC 3501 servers: Dovecot, Cyrus, Gmail-like ones, kasten). One blocking session over
 * a client_conn: commands go out one at a time with tags "k1", "k2", ...; the server's
 * responses are read by the pure parser (client_imap_parse.h) until the tagged one.
 *
 * Untagged data reaches the caller through one struct of optional callbacks
 * (client_imap_set_events), whichever command it arrives during (an EXISTS during a
 * FETCH, a FETCH during IDLE). Results that belong to a command (SELECT's UIDVALIDITY,
 * APPENDUID, [MODIFIED]) come back through that command's out-parameters.
 *
 * Mailbox names are UTF-8 on both sides of this API and full server names (with the
 * server's hierarchy delimiter, client_imap_delimiter); on the wire they are modified
 * UTF-7 (RFC 3501 5.1.3) unless UTF8=ACCEPT was enabled (RFC 6855).
 *
 * Errors: a negative enum err. A tagged NO gives ERR_NOTFOUND for [NONEXISTENT] /
 * [TRYCREATE], ERR_EXISTS for [ALREADYEXISTS], ERR_QUOTA for [OVERQUOTA], ERR_TOO_BIG for
 * [TOOBIG], ERR_AUTH for a refused login ([AUTHENTICATIONFAILED] or any NO to LOGIN),
 * ERR_TEMP for [UNAVAILABLE]/[INUSE], ERR_PERM otherwise; a tagged BAD ERR_INVAL; a
 * response that does not parse or breaks a LIMIT_CLIENT_IMAP_* bound ERR_BAD_SYNTAX /
 * ERR_TOO_LONG / ERR_TOO_DEEP / ERR_TOO_BIG; a lost connection or BYE ERR_IO. After
 * ERR_IO, a parse error, or an argument refused after the command was begun (a name
 * that is not UTF-8, a keyword that is not an atom) the session is unusable (only
 * client_imap_close). The one-line detail for the user ("SELECT: NO [NONEXISTENT]
 * Unknown mailbox") is in client_imap_error(). A callback's nonzero return stops the command: the rest of the
 * response is read, the session stays usable, and that value is returned. */
#ifndef KASTEN_CLIENT_IMAP_H
#define KASTEN_CLIENT_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_conn.h"

/* Capabilities as bits (CAPABILITY response or [CAPABILITY ...] code, refreshed after
 * STARTTLS and after login). */
enum client_imap_cap {
	CLIENT_IMAP_CAP_IMAP4REV1 = 1u << 0,
	CLIENT_IMAP_CAP_IMAP4REV2 = 1u << 1,
	CLIENT_IMAP_CAP_STARTTLS = 1u << 2,
	CLIENT_IMAP_CAP_LOGINDISABLED = 1u << 3,
	CLIENT_IMAP_CAP_AUTH_PLAIN = 1u << 4,
	CLIENT_IMAP_CAP_SASL_IR = 1u << 5,
	CLIENT_IMAP_CAP_LITERALPLUS = 1u << 6,  /* LITERAL+ (RFC 7888) */
	CLIENT_IMAP_CAP_LITERALMINUS = 1u << 7, /* LITERAL- */
	CLIENT_IMAP_CAP_UIDPLUS = 1u << 8,      /* RFC 4315 */
	CLIENT_IMAP_CAP_MULTIAPPEND = 1u << 9,  /* RFC 3502 */
	CLIENT_IMAP_CAP_CONDSTORE = 1u << 10,   /* RFC 7162 */
	CLIENT_IMAP_CAP_QRESYNC = 1u << 11,
	CLIENT_IMAP_CAP_MOVE = 1u << 12,        /* RFC 6851 */
	CLIENT_IMAP_CAP_IDLE = 1u << 13,        /* RFC 2177 */
	CLIENT_IMAP_CAP_ENABLE = 1u << 14,      /* RFC 5161 */
	CLIENT_IMAP_CAP_SPECIAL_USE = 1u << 15, /* RFC 6154 */
	CLIENT_IMAP_CAP_LIST_EXTENDED = 1u << 16,
	CLIENT_IMAP_CAP_ESEARCH = 1u << 17,     /* RFC 4731 */
	CLIENT_IMAP_CAP_UTF8_ACCEPT = 1u << 18, /* RFC 6855 */
	CLIENT_IMAP_CAP_BINARY = 1u << 19,      /* RFC 3516 */
	CLIENT_IMAP_CAP_NAMESPACE = 1u << 20,
	CLIENT_IMAP_CAP_LIST_STATUS = 1u << 21, /* RFC 5819 */
};

/* LIST attributes (RFC 9051 7.3.1, RFC 6154 2). */
enum client_imap_list_attr {
	CLIENT_IMAP_LIST_NOSELECT = 1u << 0, /* \Noselect or \NonExistent */
	CLIENT_IMAP_LIST_NOINFERIORS = 1u << 1,
	CLIENT_IMAP_LIST_HASCHILDREN = 1u << 2,
	CLIENT_IMAP_LIST_HASNOCHILDREN = 1u << 3,
	CLIENT_IMAP_LIST_ALL = 1u << 4,
	CLIENT_IMAP_LIST_ARCHIVE = 1u << 5,
	CLIENT_IMAP_LIST_DRAFTS = 1u << 6,
	CLIENT_IMAP_LIST_FLAGGED = 1u << 7,
	CLIENT_IMAP_LIST_JUNK = 1u << 8,
	CLIENT_IMAP_LIST_SENT = 1u << 9,
	CLIENT_IMAP_LIST_TRASH = 1u << 10,
	CLIENT_IMAP_LIST_SUBSCRIBED = 1u << 11,
};

struct client_imap_list_entry {
	const char *name; /* UTF-8, NUL-terminated; INBOX always spelled "INBOX" */
	char delim;       /* 0 for NIL (a flat namespace) */
	unsigned attrs;   /* enum client_imap_list_attr */
};

/* One FETCH response, delivered after the whole response was read (so after its body
 * pieces, which come first through events.body). Strings point into the session's
 * response arena: valid during the callback only. */
struct client_imap_fetch {
	uint32_t seq;
	uint32_t uid;         /* 0: no UID item */
	bool has_flags;
	unsigned flags;       /* enum client_flag of client_maildir.h: \Seen S, \Answered R,
			       * \Flagged F, \Deleted T, \Draft D, $Forwarded P */
	const char *keywords; /* the other flags, space-separated ("" none); \Recent left out */
	uint64_t modseq;      /* 0: no MODSEQ item */
	bool has_size;
	uint64_t size;        /* RFC822.SIZE */
	time_t internaldate;  /* 0: no INTERNALDATE item */
	const char *header;   /* BODY[HEADER...] / RFC822.HEADER data, NULL if none (or longer
			       * than LIMIT_CLIENT_IMAP_HOLD: then header_len is its length) */
	size_t header_len;
	bool has_body;        /* a BODY[...] / BINARY[...] / RFC822 / RFC822.TEXT item came
			       * (its bytes went to events.body) */
};

/* STATUS data (RFC 9051 7.2.4), as STATUS or LIST ... RETURN (STATUS ...) (RFC 5819)
 * sends it: the items of enum client_imap_status_item that came, in has. */
enum client_imap_status_item {
	CLIENT_IMAP_STATUS_MESSAGES = 1u << 0,
	CLIENT_IMAP_STATUS_UIDNEXT = 1u << 1,
	CLIENT_IMAP_STATUS_UIDVALIDITY = 1u << 2,
	CLIENT_IMAP_STATUS_HIGHESTMODSEQ = 1u << 3, /* RFC 7162 3.1.2 (0: none kept) */
};

struct client_imap_mailbox_status {
	const char *name; /* UTF-8 as for LIST; INBOX always spelled "INBOX" */
	unsigned has;
	uint32_t messages, uidnext, uidvalidity;
	uint64_t highestmodseq;
};

/* Optional callbacks for untagged data; NULL members ignore theirs. Return 0 to go on. */
struct client_imap_events {
	void *arg;
	int (*exists)(void *arg, uint32_t n);
	int (*expunge)(void *arg, uint32_t seq);
	/* VANISHED (RFC 7162 3.2.10), one call per UID range lo..hi; earlier for (EARLIER). */
	int (*vanished)(void *arg, bool earlier, uint32_t lo, uint32_t hi);
	int (*fetch)(void *arg, const struct client_imap_fetch *f);
	/* The bytes of a FETCH's body item as they arrive, total bytes in all, off the
	 * offset of p; called at least once per body item (once with n = 0 for an empty
	 * one), all pieces before that response's fetch callback. CRLF as on the wire. */
	int (*body)(void *arg, uint32_t seq, uint64_t off, uint64_t total, const void *p,
		    size_t n);
	int (*list)(void *arg, const struct client_imap_list_entry *e);
	/* SEARCH / ESEARCH results, one call per UID range lo..hi (lo == hi for one). */
	int (*search)(void *arg, uint32_t lo, uint32_t hi);
	/* STATUS data of one mailbox (strings valid during the call only). */
	int (*status)(void *arg, const struct client_imap_mailbox_status *st);
};

/* What SELECT/EXAMINE reported (RFC 9051 7.3, RFC 7162 3.1.2). */
struct client_imap_mailbox {
	uint32_t exists;
	uint32_t uidvalidity;
	uint32_t uidnext;       /* 0 if the server did not say */
	uint64_t highestmodseq; /* 0 with [NOMODSEQ] or without CONDSTORE */
	bool nomodseq;
	bool readonly;          /* [READ-ONLY] */
	unsigned permanent_flags; /* enum client_flag bits the server keeps */
	bool permanent_keywords;  /* \* in PERMANENTFLAGS */
};

/* For SELECT ... (QRESYNC (uidvalidity modseq [known-uids])) (RFC 7162 3.2.5). */
struct client_imap_qresync {
	uint32_t uidvalidity;
	uint64_t modseq;
	const char *known_uids; /* a UID set or NULL */
};

/* One message for APPEND: exactly size octets (CRLF line ends, as they go on the wire)
 * come from read, which fills at most cap bytes per call (*n_out > 0 until the end). */
struct client_imap_append_msg {
	unsigned flags;       /* enum client_flag */
	const char *keywords; /* extra flags, space-separated, or NULL */
	time_t date;          /* INTERNALDATE, 0: let the server choose */
	uint64_t size;
	int (*read)(void *arg, void *buf, size_t cap, size_t *n_out);
	void *arg;
};

struct client_imap;

/* Connect, read the greeting (PREAUTH too), STARTTLS when ep->tls asks for it (refused
 * unless offered: ERR_PERM), CAPABILITY. Errors as client_conn_open, one line in err_out. */
int client_imap_open(const struct client_endpoint *ep, struct client_imap **s_out,
		     char *err_out, size_t err_cap);
/* AUTHENTICATE PLAIN (with SASL-IR when offered) if the server offers it, else LOGIN;
 * ERR_PERM when LOGINDISABLED and no PLAIN. The password is wiped from the buffers the
 * engine used. Capabilities are read again afterwards. */
int client_imap_login(struct client_imap *s, const char *user, const char *password);
/* The same, calling meanwhile(arg) once the credentials are on their way and before the
 * answer is read: the server's password check (tens of milliseconds of a hash) and the
 * caller's own work overlap. Not called if the login ends before that (PREAUTH, an
 * error). The login's error if any, else meanwhile's result. */
int client_imap_login_overlap(struct client_imap *s, const char *user, const char *password,
			      int (*meanwhile)(void *arg), void *arg);
unsigned client_imap_caps(const struct client_imap *s);
bool client_imap_has(const struct client_imap *s, unsigned cap);
/* ENABLE the caps given that the server offers (CONDSTORE, QRESYNC, UTF8=ACCEPT);
 * *enabled_out (may be NULL) gets what the server confirmed. */
int client_imap_enable(struct client_imap *s, unsigned caps, unsigned *enabled_out);
/* ENABLE (CONDSTORE, QRESYNC; never UTF8=ACCEPT, which changes how the names of the
 * command after it are read, RFC 6855 3) written ahead of the next command, in the
 * same write, so that both cost one round trip (RFC 9051 5.5: the next command must not
 * depend on the outcome: a LIST may follow, a SELECT with QRESYNC may not). Its answer is
 * read while the next command's is awaited. 0, or the session's error. */
int client_imap_enable_ahead(struct client_imap *s, unsigned caps);
/* The answer of the ENABLE sent ahead (read now if it has not come yet): 0 and
 * *enabled_out what the server confirmed, or its error (client_imap_error says it).
 * ERR_INVAL if none was sent. */
int client_imap_enable_result(struct client_imap *s, unsigned *enabled_out);
/* The hierarchy delimiter, asked once and kept: the one the first LIST entry with a
 * delimiter gave, else asked by LIST "" ""; 0 for a flat namespace. */
int client_imap_delimiter(struct client_imap *s, char *delim_out);

void client_imap_set_events(struct client_imap *s, const struct client_imap_events *ev);
const char *client_imap_error(const struct client_imap *s);
struct client_conn *client_imap_conn(struct client_imap *s);

/* LIST "" pattern (UTF-8; "*" for all), entries to events.list; special_use asks for
 * RETURN (SPECIAL-USE) when the server offers it. */
int client_imap_list(struct client_imap *s, const char *pattern, bool special_use);
/* LIST "" pattern RETURN (STATUS (items)) (RFC 5819; needs LIST-STATUS: ERR_INVAL
 * without): entries to events.list, each selectable one's STATUS data (items, enum
 * client_imap_status_item; HIGHESTMODSEQ only asked when the server has CONDSTORE)
 * to events.status, in one round trip instead of a STATUS or SELECT per mailbox. */
int client_imap_list_status(struct client_imap *s, const char *pattern, unsigned items);
int client_imap_create(struct client_imap *s, const char *name);
int client_imap_delete(struct client_imap *s, const char *name);
int client_imap_rename(struct client_imap *s, const char *from, const char *to);

/* SELECT (or EXAMINE when readonly) name, with QRESYNC when qr is not NULL (QRESYNC
 * must have been enabled); *mb_out filled. */
int client_imap_select(struct client_imap *s, const char *name, bool readonly,
		       const struct client_imap_qresync *qr, struct client_imap_mailbox *mb_out);

/* UID FETCH uidset items [(CHANGEDSINCE changedsince [VANISHED])]: items as IMAP writes
 * them, e.g. "(UID FLAGS MODSEQ)" or "(UID BODY.PEEK[])". changedsince 0: none.
 * Responses to events.fetch/body (and .vanished). */
int client_imap_uid_fetch(struct client_imap *s, const char *uidset, const char *items,
			  uint64_t changedsince, bool vanished);

/* UID STORE uidset op FLAGS.SILENT (flags keywords) with op '+', '-' or '=' and,
 * when unchangedsince is not 0, (UNCHANGEDSINCE n). *modified_out (may be NULL) gets
 * the [MODIFIED set] of UIDs that were not changed, "" if none, valid until the next
 * command. */
int client_imap_uid_store(struct client_imap *s, const char *uidset, char op, unsigned flags,
			  const char *keywords, uint64_t unchangedsince,
			  const char **modified_out);
/* UID EXPUNGE (needs UIDPLUS: ERR_INVAL without) and plain EXPUNGE. */
int client_imap_uid_expunge(struct client_imap *s, const char *uidset);
int client_imap_expunge(struct client_imap *s);
/* UID MOVE (needs MOVE: ERR_INVAL without), UID COPY. */
int client_imap_uid_move(struct client_imap *s, const char *uidset, const char *dest);
int client_imap_uid_copy(struct client_imap *s, const char *uidset, const char *dest);

/* APPEND n messages to mailbox: one MULTIAPPEND when n > 1 (needs MULTIAPPEND: ERR_INVAL
 * without), literals non-synchronizing where LITERAL+ (or LITERAL- up to 4096 octets)
 * allows. With APPENDUID (UIDPLUS) *uidvalidity_out and uids_out[0..n) are set, else 0
 * (both may be NULL). A reader that ends before size octets (or fails): ERR_IO or its
 * error, and the session is unusable (it cannot be left in the middle of a literal). */
int client_imap_append(struct client_imap *s, const char *mailbox,
		       const struct client_imap_append_msg *msgs, size_t n,
		       uint32_t *uidvalidity_out, uint32_t *uids_out);

/* UID SEARCH criteria (as IMAP writes them; use client_imap_quote for strings),
 * results to events.search. */
int client_imap_uid_search(struct client_imap *s, const char *criteria);
/* A quoted string for criteria into buf: ERR_FULL if it does not fit, ERR_INVAL for
 * CR, LF or NUL (which a quoted string cannot carry). */
int client_imap_quote(const char *s, char *buf, size_t cap);

int client_imap_noop(struct client_imap *s);
/* IDLE until untagged EXISTS/EXPUNGE/FETCH/VANISHED (to the events) or timeout_ms,
 * then DONE: 1 something came, 0 timed out. Needs IDLE (ERR_INVAL without). */
int client_imap_idle(struct client_imap *s, int timeout_ms);

/* Sorted UIDs as a compact set ("3:5,9") into buf, as many from uids[0..n) as fit in
 * cap: *used_out how many. ERR_FULL if not even one fits. */
int client_imap_uidset(const uint32_t *uids, size_t n, char *buf, size_t cap,
		       size_t *used_out);

/* LOGOUT (best effort: a server that does not answer is not an error here). */
int client_imap_logout(struct client_imap *s);
/* LOGOUT, with meanwhile(arg) called once it is sent (or the connection is found dead),
 * before its answer is read: the caller's own ending overlaps the server's. 0. */
int client_imap_logout_overlap(struct client_imap *s, void (*meanwhile)(void *arg), void *arg);
void client_imap_close(struct client_imap **s);

#endif
