/*
 * bench/imap_load_session.c: the IMAP dialogue of one imap_load client, and the mix.
 *
 * A session: greeting, LOGIN, SELECT INBOX, FETCH_HEADERS; then actions drawn at
 * random, per 100:
 *   12 FETCH_HEADERS  FETCH n-49:n (UID FLAGS ENVELOPE BODY.PEEK[HEADER.FIELDS (From To
 *                     Subject Date)]): the message list, as a client shows it
 *   20 FETCH_BODY     UID FETCH of 3 UIDs from that list, BODY[] (sets \Seen: the user
 *                     reads them)
 *   20 STORE          UID STORE u +FLAGS (\Seen) or -FLAGS (\Seen), half and half
 *   16 SEARCH_*       UID SEARCH UNSEEN / FROM x / SUBJECT y / BODY z, 4 each
 *   12 APPEND         a ~1 KB message to INBOX, synchronizing literal (waits for the
 *                     "+"); its UID from UIDPLUS [APPENDUID] is remembered
 *   12 delete         UID STORE +FLAGS.SILENT (\Deleted), then UID EXPUNGE, of what this
 *                     client appended (drawn again while it appended nothing)
 *    7 IDLE           IDLE, then -i IDLE_MS of waiting, then DONE
 *    1 reconnect      LOGOUT; CONNECT, LOGIN, SELECT, FETCH_HEADERS again
 * So a mailbox keeps its size: what a client appends, it deletes. A reconnect costs a
 * yescrypt verification (~18 ms of CPU on the bench machine, as much as ~15 other
 * commands of Dovecot's): at 1 in 100 actions, logins already take about a fifth of a
 * server's time. Desktop clients keep a connection for hours, phones reconnect more
 * often; more logins would make the password hash, which both servers share by
 * design, the measurement.
 *
 * Latency: from queueing a command to its tagged reply; APPEND includes the wait for
 * "+"; IDLE counts IDLE -> "+" plus DONE -> OK, not the time spent idling.
 * Checked: every tagged reply is OK (NO [EXPUNGEISSUED] counts as correct: another
 * client of the same account expunged first), FETCH_HEADERS gets FETCH replies, APPEND
 * gets [APPENDUID]; anything else is an error.
 *
 * Warm-up (-W): one session per client: LOGIN, SELECT, FETCH_HEADERS of the whole
 * mailbox, SEARCH_BODY, LOGOUT, and the client ends.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_load.h"

enum action_id {
	ACTION_HEADERS,
	ACTION_READ,
	ACTION_FLAG,
	ACTION_SEARCH_UNSEEN,
	ACTION_SEARCH_FROM,
	ACTION_SEARCH_SUBJECT,
	ACTION_SEARCH_BODY,
	ACTION_APPEND,
	ACTION_DELETE,
	ACTION_IDLE,
	ACTION_RECONNECT,
	ACTION_COUNT
};

static const struct action {
	unsigned weight; /* per 100 */
	enum imap_cmd cmds[2];
	unsigned cmd_count;
} actions[ACTION_COUNT] = {
    [ACTION_HEADERS] = {12, {CMD_FETCH_HEADERS}, 1},
    [ACTION_READ] = {20, {CMD_FETCH_BODY}, 1},
    [ACTION_FLAG] = {20, {CMD_STORE}, 1},
    [ACTION_SEARCH_UNSEEN] = {4, {CMD_SEARCH_UNSEEN}, 1},
    [ACTION_SEARCH_FROM] = {4, {CMD_SEARCH_FROM}, 1},
    [ACTION_SEARCH_SUBJECT] = {4, {CMD_SEARCH_SUBJECT}, 1},
    [ACTION_SEARCH_BODY] = {4, {CMD_SEARCH_BODY}, 1},
    [ACTION_APPEND] = {12, {CMD_APPEND}, 1},
    [ACTION_DELETE] = {12, {CMD_STORE_DELETED, CMD_UID_EXPUNGE}, 2},
    [ACTION_IDLE] = {7, {CMD_IDLE}, 1},
    [ACTION_RECONNECT] = {1, {CMD_LOGOUT}, 1},
};

bool session_mix_ok(void)
{
	unsigned sum = 0;
	for (int i = 0; i < ACTION_COUNT; i++)
		sum += actions[i].weight;
	return sum == 100;
}

static bool starts_with(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n >= w && memcmp(p, word, w) == 0;
}

/* ---- sending ---- */

/* Sends "a<tag> <command>\r\n" and starts the command's clock. */
__attribute__((format(printf, 3, 4))) static void send_command(struct client *c, enum imap_cmd cmd,
                                                               const char *fmt, ...)
{
	char line[OUT_CAP];
	int head = snprintf(line, sizeof line, "a%u ", ++c->tag);
	va_list ap;
	va_start(ap, fmt);
	int body = vsnprintf(line + head, sizeof line - (size_t)head - 2, fmt, ap);
	va_end(ap);
	if (head < 0 || body < 0 || (size_t)(head + body) + 2 >= sizeof line) {
		fprintf(stderr, "imap_load: command too long (bug)\n");
		exit(2);
	}
	memcpy(line + head + body, "\r\n", 2);
	c->cmd = cmd;
	c->cmd_start_us = now_us();
	c->idle_spent_us = 0;
	c->fetch_replies = 0;
	c->state = (cmd == CMD_APPEND || cmd == CMD_IDLE) ? CLIENT_WANT_CONT : CLIENT_COMMAND;
	client_send(c, line, (size_t)(head + body) + 2);
}

static void queue_commands(struct client *c, const enum imap_cmd *cmds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		c->queued[c->queued_count++] = cmds[i];
}

static void queue_next_action(struct client *c)
{
	const struct action *a;
	if (c->appended_count == MAX_APPENDED) {
		a = &actions[ACTION_DELETE];
	} else {
		do {
			unsigned r = client_random(c, 100);
			for (a = actions; r >= a->weight; a++)
				r -= a->weight;
		} while (a == &actions[ACTION_DELETE] && c->appended_count == 0);
	}
	if ((a == &actions[ACTION_READ] || a == &actions[ACTION_FLAG]) && c->known_count == 0)
		a = &actions[ACTION_HEADERS]; /* no UIDs known: show the message list first */
	queue_commands(c, a->cmds, a->cmd_count);
}

static uint32_t random_known_uid(struct client *c)
{
	return c->known_uids[client_random(c, c->known_count)];
}

/* "u1,u2,..." of the client's own appended messages */
static void appended_set(const struct client *c, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < c->appended_count; i++) {
		int n = snprintf(out + len, cap - len, "%s%u", i ? "," : "", c->appended_uids[i]);
		if (n < 0 || (size_t)n >= cap - len) {
			fprintf(stderr, "imap_load: UID set too long (bug)\n");
			exit(2);
		}
		len += (size_t)n;
	}
}

static void send_append(struct client *c)
{
	static const char line[] = "This is a small message appended by imap_load, standing in "
	                           "for a draft.\r\n";
	int n = snprintf(c->message, sizeof c->message,
	                 "From: Bench Client <client%u@bench.test>\r\n"
	                 "To: <%s%u@%s>\r\n"
	                 "Subject: bench append %u.%u\r\n"
	                 "Date: Tue, 01 Dec 2026 12:00:00 +0000\r\n"
	                 "Message-ID: <%u.%u.%lu@bench.test>\r\n"
	                 "MIME-Version: 1.0\r\n"
	                 "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
	                 c->id, opt.user_prefix, c->account, opt.domain, c->id, c->tag, c->id,
	                 c->tag, opt.seed);
	/* ~1 KB in all: a short mail, as most are */
	if (n < 0 || (size_t)n + 12 * (sizeof line - 1) > sizeof c->message) {
		fprintf(stderr, "imap_load: message too long (bug)\n");
		exit(2);
	}
	c->message_len = (size_t)n;
	for (int i = 0; i < 12; i++) {
		memcpy(c->message + c->message_len, line, sizeof line - 1);
		c->message_len += sizeof line - 1;
	}
	send_command(c, CMD_APPEND, "APPEND INBOX (\\Seen) {%zu}", c->message_len);
}

static void send_fetch_headers(struct client *c)
{
	static const char items[] =
	    "(UID FLAGS ENVELOPE BODY.PEEK[HEADER.FIELDS (From To Subject Date)])";
	uint32_t first = c->exists > HEADERS_WINDOW ? c->exists - HEADERS_WINDOW + 1 : 1;
	if (c->exists == 0) {
		client_fail(c, "mailbox", "INBOX is empty: load the bench data first");
		return;
	}
	c->known_count = 0;
	if (opt.warmup)
		send_command(c, CMD_FETCH_HEADERS, "FETCH 1:* %s", items);
	else
		send_command(c, CMD_FETCH_HEADERS, "FETCH %u:%u %s", first, c->exists, items);
}

static void send_next(struct client *c)
{
	char set[MAX_APPENDED * 11 + 1];
	if (c->queued_count == 0)
		queue_next_action(c);
	enum imap_cmd cmd = c->queued[0];
	memmove(c->queued, c->queued + 1, --c->queued_count * sizeof c->queued[0]);
	switch (cmd) {
	case CMD_LOGIN:
		send_command(c, cmd, "LOGIN \"%s%u@%s\" \"%s\"", opt.user_prefix, c->account,
		             opt.domain, opt.password);
		break;
	case CMD_SELECT:
		send_command(c, cmd, "SELECT INBOX");
		break;
	case CMD_FETCH_HEADERS:
		send_fetch_headers(c);
		break;
	case CMD_FETCH_BODY:
		send_command(c, cmd, "UID FETCH %u,%u,%u BODY[]", random_known_uid(c),
		             random_known_uid(c), random_known_uid(c));
		break;
	case CMD_STORE:
		send_command(c, cmd, "UID STORE %u %cFLAGS (\\Seen)", random_known_uid(c),
		             client_random(c, 2) ? '+' : '-');
		break;
	case CMD_SEARCH_UNSEEN:
		send_command(c, cmd, "UID SEARCH UNSEEN");
		break;
	case CMD_SEARCH_FROM:
		send_command(c, cmd, "UID SEARCH FROM \"%s\"", opt.search_from);
		break;
	case CMD_SEARCH_SUBJECT:
		send_command(c, cmd, "UID SEARCH SUBJECT \"%s\"", opt.search_subject);
		break;
	case CMD_SEARCH_BODY:
		send_command(c, cmd, "UID SEARCH BODY \"%s\"", opt.search_body);
		break;
	case CMD_APPEND:
		send_append(c);
		break;
	case CMD_STORE_DELETED:
		appended_set(c, set, sizeof set);
		send_command(c, cmd, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set);
		break;
	case CMD_UID_EXPUNGE:
		appended_set(c, set, sizeof set);
		send_command(c, cmd, "UID EXPUNGE %s", set);
		break;
	case CMD_IDLE:
		send_command(c, cmd, "IDLE");
		break;
	default:
		send_command(c, CMD_LOGOUT, "LOGOUT");
		break;
	}
}

static void start_session(struct client *c)
{
	static const enum imap_cmd start[] = {CMD_LOGIN, CMD_SELECT, CMD_FETCH_HEADERS};
	static const enum imap_cmd warmup_end[] = {CMD_SEARCH_BODY, CMD_LOGOUT};
	c->queued_count = 0;
	queue_commands(c, start, 3);
	if (opt.warmup)
		queue_commands(c, warmup_end, 2);
	send_next(c);
}

void session_end_idle(struct client *c, uint64_t now)
{
	c->state = CLIENT_COMMAND;
	c->idle_spent_us = now - (c->idle_until_us - (uint64_t)opt.idle_ms * 1000u);
	client_send(c, "DONE\r\n", 6);
}

/* ---- receiving ---- */

static void record_latency(struct client *c)
{
	latency_hist_add(&stats.latency[c->cmd], now_us() - c->cmd_start_us - c->idle_spent_us);
}

static void forget_known_uid(struct client *c, uint32_t uid)
{
	for (unsigned i = 0; i < c->known_count; i++)
		if (c->known_uids[i] == uid)
			c->known_uids[i--] = c->known_uids[--c->known_count];
}

/* "* <n> FETCH (... UID <u> ...)": remember u for the message list */
static void note_fetch_uid(struct client *c, const char *r, size_t n)
{
	const char *end = r + n, *p = r;
	size_t used;
	while ((p = memmem(p, (size_t)(end - p), "UID ", 4)) != NULL) {
		if (p > r && (p[-1] == '(' || p[-1] == ' ')) {
			int64_t uid = imap_response_number(p + 4, (size_t)(end - p - 4), &used);
			if (uid > 0 && uid <= UINT32_MAX && c->known_count < HEADERS_WINDOW)
				c->known_uids[c->known_count++] = (uint32_t)uid;
			return;
		}
		p += 4;
	}
}

static bool on_untagged(struct client *c, const char *r, size_t n)
{
	size_t used;
	if (c->state == CLIENT_GREETING) {
		if (!starts_with(r, n, "OK")) {
			client_fail(c, "greeting", "not * OK");
			return false;
		}
		record_latency(c); /* CONNECT */
		start_session(c);
		return c->state != CLIENT_FINISHED;
	}
	if (starts_with(r, n, "BYE")) {
		if (c->cmd == CMD_LOGOUT)
			return true;
		client_error(c, "unexpected BYE", r, n);
		client_finish(c);
		return false;
	}
	int64_t num = imap_response_number(r, n, &used);
	if (num < 0)
		return true; /* FLAGS, OK [UIDVALIDITY ..], SEARCH, CAPABILITY... */
	r += used, n -= used;
	if (starts_with(r, n, " EXISTS")) {
		c->exists = (uint32_t)num;
		stats.untagged_exists++;
	} else if (starts_with(r, n, " EXPUNGE")) {
		c->exists -= c->exists > 0;
		stats.untagged_expunge++;
	} else if (starts_with(r, n, " FETCH")) {
		c->fetch_replies++;
		if (c->cmd == CMD_FETCH_HEADERS)
			note_fetch_uid(c, r, n);
	}
	return true;
}

static bool on_continuation(struct client *c)
{
	if (c->state != CLIENT_WANT_CONT) {
		client_error(c, "unexpected continuation", c->resp.text, c->resp.len);
		return true;
	}
	if (c->cmd == CMD_APPEND) {
		c->state = CLIENT_COMMAND;
		client_send(c, c->message, c->message_len);
		if (c->state != CLIENT_FINISHED)
			client_send(c, "\r\n", 2); /* ends the APPEND command line */
		return c->state != CLIENT_FINISHED;
	}
	c->state = CLIENT_IDLING;
	c->idle_until_us = now_us() + (uint64_t)opt.idle_ms * 1000u;
	client_idle_later(c);
	return true;
}

static void note_appended(struct client *c, const char *r, size_t n)
{
	static const char code[] = "[APPENDUID ";
	const char *p = memmem(r, n, code, sizeof code - 1);
	size_t used, rest;
	if (p) {
		p += sizeof code - 1;
		rest = n - (size_t)(p - r);
		int64_t validity = imap_response_number(p, rest, &used);
		if (validity > 0 && used < rest && p[used] == ' ') {
			int64_t uid = imap_response_number(p + used + 1, rest - used - 1, &used);
			if (uid > 0 && uid <= UINT32_MAX) {
				c->appended_uids[c->appended_count++] = (uint32_t)uid;
				return;
			}
		}
	}
	client_error(c, "no [APPENDUID] (UIDPLUS)", r, n);
}

static bool on_tagged(struct client *c, const char *r, size_t n)
{
	bool ok = starts_with(r, n, "OK");
	if (!ok && starts_with(r, n, "NO") && memmem(r, n, "[EXPUNGEISSUED]", 15)) {
		stats.expunge_races++;
		ok = true;
	}
	if (!ok)
		client_error(c, "failed", r, n);
	else if (c->cmd == CMD_FETCH_HEADERS && c->fetch_replies == 0)
		client_error(c, "no FETCH replies", r, n);
	else
		record_latency(c);
	if (ok && c->cmd == CMD_APPEND)
		note_appended(c, r, n);
	if (c->cmd == CMD_UID_EXPUNGE) {
		for (unsigned i = 0; i < c->appended_count; i++)
			forget_known_uid(c, c->appended_uids[i]);
		c->appended_count = 0; /* failed or not: never retried forever */
	}
	if (ok && c->cmd == CMD_FETCH_HEADERS && !c->ready)
		client_ready(c);
	if (c->cmd == CMD_LOGOUT) {
		if (opt.warmup)
			client_finish(c);
		else
			client_reconnect(c);
		return false;
	}
	send_next(c);
	return c->state != CLIENT_FINISHED;
}

bool session_on_response(struct client *c)
{
	const char *r = c->resp.text;
	size_t n = c->resp.len;
	char tag[16];
	int tag_len = snprintf(tag, sizeof tag, "a%u ", c->tag);
	if (n >= 1 && r[0] == '+')
		return on_continuation(c);
	if (n >= 2 && r[0] == '*' && r[1] == ' ')
		return on_untagged(c, r + 2, n - 2);
	if (c->state != CLIENT_GREETING && tag_len > 0 && starts_with(r, n, tag))
		return on_tagged(c, r + tag_len, n - (size_t)tag_len);
	client_error(c, "unexpected response", r, n);
	return true;
}
