/* pop3_int.h: the POP3 session, shared by the files of src/pop3 only.
 *
 * Lifetimes: the session struct and its arena live as long as the connection; the
 * maildrop snapshot has its own arena, sized by the mailbox (released at the end of the
 * session); the command arena is reset after every reply. */
#ifndef KASTEN_POP3_INT_H
#define KASTEN_POP3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/buf.h"
#include "pop3.h"
#include "pop3_parse.h"

struct store_env;
struct store;
struct store_msg;
extern struct store_env *pop3_env;

enum pop3_state { POP3_AUTHORIZATION, POP3_TRANSACTION, POP3_UPDATE };

/* One message of the maildrop as it was when the session entered TRANSACTION. */
struct pop3_msg {
	uint32_t uid;
	bool deleted;
	bool retrieved; /* RETR sent it in this session */
	uint64_t size;
	const char *uidl; /* see pop3_uidl_unique */
};

/* RFC 1939 7: UIDLs unique within the maildrop. A message's UIDL is its EMAILID (the
 * store's guid); copies share that (an IMAP COPY within INBOX), so of messages with the
 * same one, all but the first (lowest UID) get guid "." UID instead. msgs[0..n) hold
 * their guids in uidl on entry, in any order; new strings from a. ERR_NOMEM. */
int pop3_uidl_unique(struct pop3_msg *msgs, size_t n, struct arena *a);

struct pop3_session {
	struct net_conn *c;
	enum pop3_state state;
	struct arena sa, ca;
	struct pop3_parser parser;
	unsigned errors;
	bool busy;    /* waiting for a password check or streaming a message */
	bool closing; /* on_close ran while busy: free when the work is done */
	bool utf8;
	/* metrics: when the command being answered was complete in the input (metrics_now),
	 * 0 once its status line is queued (a RETR's body then streams at the client's
	 * pace: not the server's latency) */
	uint64_t cmd_start;

	/* authorization */
	const char *user; /* USER argument (in sa), for PASS */
	struct auth_exchange sasl; /* an AUTH exchange in progress */

	/* transaction */
	int64_t account;
	const char *address;
	struct store *st;
	int64_t inbox;
	struct arena ma; /* the snapshot */
	struct pop3_msg *msgs;
	size_t n_msgs;

	/* RETR/TOP streaming */
	int fd;
	struct pop3_dot dot;
	struct buf out;
	uint8_t *in;
	size_t in_len, in_off;
	bool eof;
};

void pop3_reply(struct pop3_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pop3_session_free(struct pop3_session *s);
/* Back to reading commands after asynchronous work. */
void pop3_session_resume(struct pop3_session *s);

/* Authorization (pop3_auth.c) */
bool pop3_plaintext_ok(const struct pop3_session *s);
/* [pop3] enabled = no: answer the login attempt so and return true. */
bool pop3_refuse_if_disabled(struct pop3_session *s);
int pop3_cmd_user(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_pass(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_auth(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_sasl_response(struct pop3_session *s, struct pop3_cmd *cmd);

/* The maildrop (pop3_maildrop.c) */
/* Lock and snapshot the account's INBOX; replies itself. */
int pop3_maildrop_open(struct pop3_session *s, int64_t account, const char *address);
void pop3_maildrop_close(struct pop3_session *s);
int pop3_cmd_stat(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_list(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_uidl(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_dele(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_rset(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_retr(struct pop3_session *s, struct pop3_cmd *cmd);
int pop3_cmd_quit_update(struct pop3_session *s);
/* Continue a RETR/TOP when the output has drained. */
void pop3_stream_more(struct pop3_session *s);

/* Maildrop locks (pop3_lock.c): one POP3 session per account (RFC 1939 8). */
bool pop3_lock(int64_t account);
void pop3_unlock(int64_t account);

/* [pop3] expire_days (pop3_expire.c) */
void pop3_expire_start(unsigned days);
/* Of this listing of a mailbox, expunge the messages first retrieved more than days
 * ago. Returns how many (0 when days is 0) or a negative enum err; logs either way. */
int pop3_expire(struct store *st, int64_t mailbox_id, const struct store_msg *msgs, size_t n,
		unsigned days);

#endif
