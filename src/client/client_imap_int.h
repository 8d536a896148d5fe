/* client_imap_int.h: what the files of the IMAP client engine share (client_imap.c: the
 * session, reading responses, login; client_imap_resp.c: untagged data and response
 * codes; client_imap_mbox.c: mailbox commands; client_imap_msg.c: message commands;
 * client_imap_append.c: APPEND). Not for other modules. */
#ifndef KASTEN_CLIENT_IMAP_INT_H
#define KASTEN_CLIENT_IMAP_INT_H

#include "client/client_imap.h"
#include "client/client_imap_parse.h"
#include "core/arena.h"
#include "core/limits.h"

struct client_imap {
	struct client_conn *conn;
	struct arena init_arena; /* the parser's buffers: the session's life */
	struct arena resp_arena; /* one response: reset after it was handled */
	struct arena cmd_arena;  /* one command's results: reset when the next starts */
	struct client_imap_parser ps;
	char *line;    /* one response line from the connection, LIMIT_CLIENT_IMAP_LINE */
	uint8_t *chunk; /* literal bytes, LIMIT_CLIENT_IMAP_CHUNK */
	unsigned caps;
	bool caps_seen;    /* a CAPABILITY response or code came during this command */
	bool caps_preauth; /* the greeting was PREAUTH: no login */
	unsigned enabled; /* CONDSTORE, QRESYNC, UTF8_ACCEPT as ENABLEd */
	unsigned tagn;
	char tag[16];
	char verb[24];    /* the current command's name, for error lines */
	const struct client_imap_events *ev;
	char err[LIMIT_CLIENT_ERROR];
	bool dead;        /* the connection cannot be used again */
	bool bye;         /* the server said BYE */
	bool tagged_done; /* the current command's tagged response has come */
	enum client_imap_status tagged_status;
	int tagged_err;   /* its status as an enum err (0 for OK) */
	int cb_rc;        /* the first nonzero callback result of this command */
	bool activity;    /* EXISTS, EXPUNGE, FETCH or VANISHED came (IDLE) */
	char delim;
	bool have_delim;
	/* client_imap_enable_ahead: the ENABLE written before the next command, until its
	 * tagged answer has come (ahead_tag[0] != 0); then its result */
	char ahead_tag[16];
	unsigned ahead_caps;
	int ahead_err;
	char ahead_text[LIMIT_CLIENT_ERROR];
	/* client_imap_login_overlap: called once the credentials are sent */
	int (*meanwhile)(void *arg);
	void *meanwhile_arg;
	int meanwhile_rc;
	/* results of response codes during the current command */
	struct client_imap_mailbox sel;
	uint32_t appenduid_validity;
	const char *appenduid_set; /* cmd_arena */
	const char *modified;      /* cmd_arena */
};

/* The next response: CLIENT_IMAP_PARSE_RESPONSE with s->ps.resp (body pieces of a FETCH
 * already given to events.body on the way), or <0 (s->dead, s->err set). */
int client_imap_read_response(struct client_imap *s);
/* Handle one response that is not the current command's tagged one. */
int client_imap_resp_untagged(struct client_imap *s, const struct client_imap_resp *r);
/* The response codes of any status response (capabilities, SELECT data, APPENDUID). */
int client_imap_resp_code(struct client_imap *s, const struct client_imap_resp *r);
/* A piece of a handed-out literal (the parser's DATA result). */
int client_imap_resp_data(struct client_imap *s);
/* The tagged answer of the ENABLE sent ahead (r->tag is s->ahead_tag): its result kept
 * for client_imap_enable_result. 0, or <0 if the response is broken. */
int client_imap_ahead_done(struct client_imap *s, const struct client_imap_resp *r);
/* Capabilities from a list of atoms. */
void client_imap_resp_caps(struct client_imap *s, const struct client_imap_tok *t);

/* Commands, piece by piece: begin writes the tag and verb; the pieces add arguments;
 * end sends CRLF and reads up to the tagged response: 0 or its error. A piece that
 * needs a continuation (a synchronizing literal) waits for it and returns the tagged
 * error if the server refused instead. */
int client_imap_cmd_begin(struct client_imap *s, const char *verb);
int client_imap_cmd_raw(struct client_imap *s, const char *text);
int client_imap_cmd_printf(struct client_imap *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int client_imap_cmd_astring(struct client_imap *s, const char *str, size_t len);
int client_imap_cmd_mailbox(struct client_imap *s, const char *name);
/* "{n}" or "{n+}" then, for a synchronizing one, the wait for "+". */
int client_imap_cmd_literal_start(struct client_imap *s, uint64_t n);
/* "(flags keywords)": ERR_INVAL for keywords that are not atoms. */
int client_imap_cmd_flags(struct client_imap *s, unsigned flags, const char *keywords);
int client_imap_cmd_end(struct client_imap *s);
/* Read responses until the tagged one (want_cont false: a "+" is an error) or, with
 * want_cont, until a "+" (1) or the tagged one (0). */
int client_imap_wait(struct client_imap *s, bool want_cont);
/* The tagged result as the command's return value (with cb_rc first). */
int client_imap_result(struct client_imap *s);
/* Mark the session unusable with a detail line. */
int client_imap_fail(struct client_imap *s, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A UID set into ranges: cb(arg, lo, hi) per range; ERR_BAD_SYNTAX if it is not one. */
int client_imap_uidset_each(const char *set, size_t len,
			    int (*cb)(void *arg, uint32_t lo, uint32_t hi), void *arg);

#endif
