/*
 * bench/imap_load.h: what the two halves of imap_load share. imap_load.c is the driver
 * (options, sockets, the epoll loop, the IDLE timer queue, the report); the IMAP
 * dialogue and the mix of commands are in imap_load_session.c.
 */
#ifndef BENCH_IMAP_LOAD_H
#define BENCH_IMAP_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_response.h"
#include "latency_hist.h"

#define OUT_CAP 4096      /* one command line, or the APPEND message */
#define MESSAGE_CAP 2048  /* the APPEND message, kept until the "+" */
#define HEADERS_WINDOW 50 /* the message list a client shows */
#define MAX_APPENDED 64   /* own UIDs waiting for the delete action */
#define MAX_QUEUED 8      /* commands still to send: a session start, an action */

/* What is measured: the IMAP commands of the mix, and CONNECT (connect() to greeting). */
enum imap_cmd {
	CMD_CONNECT,
	CMD_LOGIN,
	CMD_SELECT,
	CMD_FETCH_HEADERS,
	CMD_FETCH_BODY,
	CMD_STORE,
	CMD_SEARCH_UNSEEN,
	CMD_SEARCH_FROM,
	CMD_SEARCH_SUBJECT,
	CMD_SEARCH_BODY,
	CMD_APPEND,
	CMD_STORE_DELETED,
	CMD_UID_EXPUNGE,
	CMD_IDLE,
	CMD_LOGOUT,
	CMD_COUNT
};

enum client_state {
	CLIENT_CONNECTING, /* non-blocking connect() in progress */
	CLIENT_GREETING,   /* connected, waiting for "* OK" */
	CLIENT_COMMAND,    /* a command sent, waiting for its tagged reply */
	CLIENT_WANT_CONT,  /* APPEND or IDLE sent, waiting for "+" */
	CLIENT_IDLING,     /* in IDLE until idle_until_us, then DONE */
	CLIENT_FINISHED,   /* failed, or warm-up session over: no more traffic */
};

struct client {
	int fd;
	unsigned id, account;
	enum client_state state;
	enum imap_cmd cmd; /* the command in flight */
	uint64_t cmd_start_us;
	uint64_t idle_until_us, idle_spent_us;
	unsigned tag;
	uint64_t rng;
	bool ready; /* its first session start is done: it counts for the ramp */

	struct imap_response resp; /* the response being read */
	unsigned fetch_replies;    /* untagged FETCH replies to the command in flight */

	/* what the client knows of its selected INBOX */
	uint32_t exists;
	uint32_t known_uids[HEADERS_WINDOW];
	unsigned known_count;
	uint32_t appended_uids[MAX_APPENDED];
	unsigned appended_count;

	enum imap_cmd queued[MAX_QUEUED]; /* the rest of the current action */
	unsigned queued_count;

	char out[OUT_CAP];
	size_t out_len, out_off;
	bool watching_out;         /* EPOLLOUT is on: the socket took only part of out */
	char message[MESSAGE_CAP]; /* the APPEND message, sent at the "+" */
	size_t message_len;

	struct client *idle_next; /* the IDLE queue, ordered by idle_until_us */
};

struct load_options {
	unsigned port, clients, accounts, seconds, idle_ms;
	unsigned long seed;
	bool warmup;
	const char *label, *user_prefix, *domain, *password;
	const char *search_from, *search_subject, *search_body;
};

struct load_stats {
	struct latency_hist latency[CMD_COUNT]; /* commands that got OK */
	uint64_t errors[CMD_COUNT];
	uint64_t errors_total;
	uint64_t expunge_races; /* NO [EXPUNGEISSUED]: only with clients sharing accounts */
	uint64_t untagged_exists, untagged_expunge;
	uint64_t bytes_in;
};

extern struct load_options opt;
extern struct load_stats stats;
extern const char *const cmd_names[CMD_COUNT];

/* ---- the driver, imap_load.c ---- */

uint64_t now_us(void);
/* A number below `below` from the client's own seeded sequence. */
uint32_t client_random(struct client *c, uint32_t below);
/* Counts an error against the command in flight; prints the first few. */
void client_error(struct client *c, const char *what, const char *detail, size_t len);
/* Counts an error and ends the client for the rest of the run. */
void client_fail(struct client *c, const char *what, const char *detail);
/* Ends the client without an error (a warm-up session is over). */
void client_finish(struct client *c);
/* Closes the connection and opens a new one; the session starts at its greeting. */
void client_reconnect(struct client *c);
/* Queues bytes and sends what the socket takes; the client may fail in it. */
void client_send(struct client *c, const char *data, size_t len);
/* Puts the client on the IDLE timer queue: session_end_idle at idle_until_us. */
void client_idle_later(struct client *c);
/* The client has logged in, selected and fetched its message list for the first time;
 * when all have, the timed window starts. */
void client_ready(struct client *c);

/* ---- the session, imap_load_session.c ---- */

/* Checks the mix (its weights must add up to 100); false if it is broken. */
bool session_mix_ok(void);
/* Acts on one whole response in c->resp (the greeting starts the session). Returns
 * false when the connection it came from is gone: the caller drops the rest of what
 * it read. */
bool session_on_response(struct client *c);
/* The IDLE moment is over: sends DONE. */
void session_end_idle(struct client *c, uint64_t now);

#endif
