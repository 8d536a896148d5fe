/* smtp_session.c: one SMTP, submission or LMTP connection: greeting, the input loop
 * that switches between command lines, message bodies and SASL lines, and the session's
 * lifetime. Limits: LIMIT_SMTP_LINE per command, LIMIT_SMTP_ERRORS bad commands, the
 * session and command arenas' caps from limits.h. */
#include "smtp_int.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/banned.h"

struct store_env *smtp_env;

const enum smtp_flavour smtp_flavour_mx = SMTP_MX;
const enum smtp_flavour smtp_flavour_submission = SMTP_SUBMISSION;
const enum smtp_flavour smtp_flavour_lmtp = SMTP_LMTP;

void smtp_init(struct store_env *env)
{
	smtp_env = env;
}

void smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;
	if (log_debug_enabled(LOGC_PROTO)) {
		char line[512];
		va_start(ap, fmt);
		(void)vsnprintf(line, sizeof(line), fmt, ap); /* a long one is cut in the log only */
		va_end(ap);
		log_debug(LOGC_PROTO, "S: %s", line);
	}
	va_start(ap, fmt);
	(void)net_conn_vline(s->c, fmt, ap); /* a closing connection drops it */
	va_end(ap);
	if (s->cmd_start) {
		int proto = net_conn_metric_proto(s->c);
		if (proto >= 0)
			metrics_observe_since(s->cmd_hist, (unsigned)proto, s->cmd_start);
		s->cmd_start = 0;
	}
}

void smtp_command_start(struct smtp_session *s, enum metric_hist hist)
{
	s->cmd_start = metrics_now();
	s->cmd_hist = hist;
}

/* The client's command line for the debug log; a secret one only by its verb. */
static void log_command(const struct smtp_cmd *cmd)
{
	if (!log_debug_enabled(LOGC_PROTO) || !cmd->raw)
		return;
	char esc[512];
	if ((unsigned)cmd->verb < SMTP_VERB_COUNT && smtp_verbs[cmd->verb].secret)
		log_debug(LOGC_PROTO, "C: %s [secret]", smtp_verb_name(cmd->verb));
	else
		log_debug(LOGC_PROTO, "C: %s", log_esc(esc, cmd->raw, cmd->raw_len));
}

static int on_open(struct net_conn *c)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->c = c;
	s->fl = *(const enum smtp_flavour *)net_conn_proto_arg(c);
	s->spool_fd = -1;
	arena_init(&s->sa, LIMIT_SESSION_ARENA);
	arena_init(&s->ta, LIMIT_SESSION_ARENA);
	arena_init(&s->ca, LIMIT_COMMAND_ARENA);
	net_conn_set_data(c, s);
	if (smtp_cmd_reader_init(&s->reader, &s->sa, LIMIT_SMTP_LINE) < 0) {
		smtp_session_free(s);
		return ERR_NOMEM;
	}
	const struct conf *cf = conf_get();
	smtp_reply(s, "220 %s %s kasten", cf->hostname, s->fl == SMTP_LMTP ? "LMTP" : "ESMTP");
	return 0;
}

void smtp_session_free(struct smtp_session *s)
{
	auth_exchange_end(&s->sasl);
	smtp_txn_reset(s);
	arena_free(&s->ca);
	arena_free(&s->ta);
	arena_free(&s->sa);
	free(s);
}

static void on_close(struct net_conn *c)
{
	struct smtp_session *s = net_conn_data(c);
	if (!s)
		return;
	if (s->mode == SMTP_MODE_BUSY) {
		s->closing = true; /* the completion frees it */
		return;
	}
	smtp_session_free(s);
}

/* Between commands a session holds no command memory: an idle connection costs only
 * its session struct (tens of thousands of them sit idle). Never while asynchronous
 * work is under way: it was started from this arena's data. */
static void release_idle(struct smtp_session *s)
{
	if (s->mode != SMTP_MODE_BUSY)
		arena_free(&s->ca);
}

/* One command line: parse, count errors, dispatch. Returns bytes used or <0. */
static int command_input(struct smtp_session *s, const uint8_t *p, size_t len)
{
	struct smtp_cmd cmd;
	size_t used = 0;
	arena_reset(&s->ca);
	s->reader.smtputf8 = s->smtputf8;
	int r = smtp_cmd_read(&s->reader, p, len, &used, &s->ca, &cmd);
	if (r == 0)
		return (int)used;
	net_conn_progress(s->c); /* a whole line, good or bad: not a byte */
	smtp_command_start(s, METRIC_HIST_COMMAND);
	log_command(&cmd);
	if (r == ERR_NOMEM) {
		smtp_rejected(METRIC_REJECT_TEMPORARY);
		smtp_reply(s, "451 4.3.0 Out of memory for this command");
		return ERR_NOMEM;
	}
	if (r < 0) {
		char esc[512];
		smtp_rejected(METRIC_REJECT_SYNTAX);
		log_info("bad command: %d %s", cmd.reply_code, log_esc(esc, cmd.reason, strlen(cmd.reason)));
		smtp_reply(s, "%u %s", cmd.reply_code, cmd.reason);
		if (cmd.must_close || ++s->errors >= LIMIT_SMTP_ERRORS) {
			smtp_reply(s, "421 4.7.0 Too many errors, closing");
			net_conn_close(s->c);
		}
		return (int)used;
	}
	r = smtp_cmd_dispatch(s, &cmd);
	if (cmd.auth_initial) /* a SASL secret: gone before the arena is reused */
		OPENSSL_cleanse((void *)cmd.auth_initial, strlen(cmd.auth_initial));
	return r < 0 ? r : (int)used;
}

static int auth_input(struct smtp_session *s, const uint8_t *p, size_t len)
{
	size_t used = 0;
	const uint8_t *line;
	size_t n;
	int r = smtp_line_read(&s->reader, p, len, &used, &line, &n);
	if (r == 0)
		return (int)used;
	if (r == ERR_NOMEM)
		return r;
	net_conn_progress(s->c);
	smtp_command_start(s, METRIC_HIST_COMMAND);
	log_debug(LOGC_PROTO, "C: [SASL response]");
	if (r < 0) {
		s->mode = SMTP_MODE_COMMAND;
		auth_exchange_end(&s->sasl);
		smtp_rejected(METRIC_REJECT_SYNTAX);
		smtp_reply(s, "500 5.5.6 Authentication exchange line is too long");
		return (int)used;
	}
	r = smtp_auth_line(s, line, n);
	return r < 0 ? r : (int)used;
}

static int on_input(struct net_conn *c, const uint8_t *p, size_t len)
{
	struct smtp_session *s = net_conn_data(c);
	size_t off = 0;
	/* several commands can arrive in one read (PIPELINING, RFC 2920): take them all
	 * until a command needs to wait for asynchronous work */
	while (off < len && s->mode != SMTP_MODE_BUSY && net_conn_reading(c)) {
		int r;
		switch (s->mode) {
		case SMTP_MODE_COMMAND: r = command_input(s, p + off, len - off); break;
		case SMTP_MODE_AUTH: r = auth_input(s, p + off, len - off); break;
		case SMTP_MODE_DATA:
		case SMTP_MODE_BDAT:
			r = smtp_txn_body_input(s, p + off, len - off);
			if (r > 0)
				net_conn_progress_bytes(c, (size_t)r);
			break;
		default: r = 0; break;
		}
		if (r < 0)
			return r;
		if (r == 0)
			break;
		off += (size_t)r;
	}
	release_idle(s);
	return (int)off;
}

void smtp_session_resume(struct smtp_session *s)
{
	if (s->mode == SMTP_MODE_BUSY)
		s->mode = SMTP_MODE_COMMAND;
	release_idle(s);
	net_conn_resume(s->c);
}

/* The metrics label of a listener: its flavour (the proto_arg), not "smtp" for all. */
static const char *metric_name(const void *proto_arg)
{
	switch (*(const enum smtp_flavour *)proto_arg) {
	case SMTP_SUBMISSION: return "submission";
	case SMTP_LMTP: return "lmtp";
	default: return "smtp";
	}
}

const struct net_proto smtp_proto = {
	.name = "smtp",
	.metric_name = metric_name,
	.on_open = on_open,
	.on_input = on_input,
	.on_close = on_close,
	.timeout_reply = "421 4.4.2 Timeout, closing connection\r\n",
	.busy_reply = "421 4.7.0 Too many connections from your address, try again later\r\n",
};
