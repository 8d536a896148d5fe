/* pop3_session.c: one POP3 connection (RFC 1939): greeting, the command loop with its
 * state checks, CAPA (RFC 2449), STLS (RFC 2595), UTF8 (RFC 6856), QUIT, and the
 * session's lifetime. Limits: LIMIT_POP3_LINE per command (LIMIT_SASL_LINE for SASL),
 * LIMIT_POP3_ERRORS bad commands, the session and command arena caps. */
#include "pop3_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/banned.h"

struct store_env *pop3_env;

void pop3_init(struct store_env *env)
{
	pop3_env = env;
	pop3_expire_start(conf_get()->pop3_expire_days);
}

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;
	if (log_debug_enabled(LOGC_PROTO)) {
		char line[512];
		va_start(ap, fmt);
		(void)vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		log_debug(LOGC_PROTO, "S: %s", line);
	}
	va_start(ap, fmt);
	(void)net_conn_vline(s->c, fmt, ap); /* a closing connection drops it */
	va_end(ap);
	if (s->cmd_start) {
		int proto = net_conn_metric_proto(s->c);
		if (proto >= 0)
			metrics_observe_since(METRIC_HIST_COMMAND, (unsigned)proto, s->cmd_start);
		s->cmd_start = 0;
	}
}

static int on_open(struct net_conn *c)
{
	struct pop3_session *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->c = c;
	s->fd = -1;
	arena_init(&s->sa, LIMIT_SESSION_ARENA);
	arena_init(&s->ca, LIMIT_COMMAND_ARENA);
	pop3_parse_init(&s->parser, &s->sa, &s->ca);
	net_conn_set_data(c, s);
	pop3_reply(s, "+OK %s POP3 server ready", conf_get()->hostname);
	return 0;
}

void pop3_session_free(struct pop3_session *s)
{
	auth_exchange_end(&s->sasl);
	pop3_maildrop_close(s);
	arena_free(&s->ca);
	arena_free(&s->sa);
	free(s);
}

static void on_close(struct net_conn *c)
{
	struct pop3_session *s = net_conn_data(c);
	if (!s)
		return;
	/* a dropped connection never enters UPDATE: nothing is deleted (RFC 1939 6) */
	if (s->busy && s->fd < 0) {
		s->closing = true; /* a password check holds it: freed when it completes */
		return;
	}
	pop3_session_free(s);
}

static int cmd_capa(struct pop3_session *s, struct pop3_cmd *cmd)
{
	const struct conf *cf = conf_get();
	bool plain = pop3_plaintext_ok(s);
	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	if (s->state == POP3_AUTHORIZATION && plain)
		pop3_reply(s, "USER");
	if (s->state == POP3_AUTHORIZATION && plain)
		pop3_reply(s, "SASL " AUTH_EXCHANGE_MECHS);
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	if (cf->pop3_expire_days)
		pop3_reply(s, "EXPIRE %u", cf->pop3_expire_days);
	else
		pop3_reply(s, "EXPIRE NEVER");
	pop3_reply(s, "LOGIN-DELAY 0");
	if (s->state == POP3_AUTHORIZATION && !net_conn_is_tls(s->c))
		pop3_reply(s, "STLS");
	pop3_reply(s, "UTF8");
	pop3_reply(s, "IMPLEMENTATION kasten");
	pop3_reply(s, ".");
	return 0;
}

static int cmd_stls(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (net_conn_is_tls(s->c)) {
		pop3_reply(s, "-ERR TLS already active");
		return 0;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	if (net_conn_starttls(s->c) < 0)
		return ERR_IO;
	pop3_parse_reset(&s->parser); /* RFC 2595 4: nothing sent before TLS counts */
	s->user = NULL;
	auth_exchange_end(&s->sasl);
	return 0;
}

static int cmd_quit(struct pop3_session *s, struct pop3_cmd *cmd)
{
	if (s->state == POP3_TRANSACTION)
		return pop3_cmd_quit_update(s);
	pop3_reply(s, "+OK %s POP3 server signing off", conf_get()->hostname);
	net_conn_close(s->c);
	return 0;
}

static int cmd_noop(struct pop3_session *s, struct pop3_cmd *cmd)
{
	pop3_reply(s, "+OK");
	return 0;
}

static int cmd_utf8(struct pop3_session *s, struct pop3_cmd *cmd)
{
	s->utf8 = true; /* RFC 6856 2: user names and passwords may now be UTF-8 */
	pop3_reply(s, "+OK UTF8 enabled");
	return 0;
}

static int cmd_unsupported(struct pop3_session *s, struct pop3_cmd *cmd)
{
	pop3_reply(s, "-ERR %s not supported", pop3_verb_name(cmd->verb));
	return 0;
}

typedef int (*pop3_handler)(struct pop3_session *s, struct pop3_cmd *cmd);

static const pop3_handler handlers[POP3_CMD_COUNT] = {
	[POP3_CMD_USER] = pop3_cmd_user,
	[POP3_CMD_PASS] = pop3_cmd_pass,
	[POP3_CMD_APOP] = cmd_unsupported, /* APOP needs plaintext passwords on the server */
	[POP3_CMD_QUIT] = cmd_quit,
	[POP3_CMD_STAT] = pop3_cmd_stat,
	[POP3_CMD_LIST] = pop3_cmd_list,
	[POP3_CMD_RETR] = pop3_cmd_retr,
	[POP3_CMD_DELE] = pop3_cmd_dele,
	[POP3_CMD_NOOP] = cmd_noop,
	[POP3_CMD_RSET] = pop3_cmd_rset,
	[POP3_CMD_TOP] = pop3_cmd_retr,
	[POP3_CMD_UIDL] = pop3_cmd_uidl,
	[POP3_CMD_CAPA] = cmd_capa,
	[POP3_CMD_STLS] = cmd_stls,
	[POP3_CMD_AUTH] = pop3_cmd_auth,
	[POP3_CMD_UTF8] = cmd_utf8,
	[POP3_CMD_LANG] = cmd_unsupported,
	[POP3_CMD_SASL_RESPONSE] = pop3_sasl_response,
	[POP3_CMD_SASL_CANCEL] = pop3_sasl_response,
};

static int count_error(struct pop3_session *s)
{
	if (++s->errors >= LIMIT_POP3_ERRORS) {
		pop3_reply(s, "-ERR Too many errors, closing");
		net_conn_close(s->c);
	}
	return 0;
}

/* The client's command for the debug log: arguments of secret verbs (PASS, AUTH) and
 * SASL responses are never shown. */
static void log_command(const struct pop3_cmd *cmd)
{
	if (!log_debug_enabled(LOGC_PROTO))
		return;
	if (cmd->verb == POP3_CMD_SASL_RESPONSE || cmd->verb == POP3_CMD_SASL_CANCEL) {
		log_debug(LOGC_PROTO, "C: [SASL response]");
		return;
	}
	char a0[512], a1[512];
	const char *name = cmd->keyword ? cmd->keyword : pop3_verb_name(cmd->verb);
	if (cmd->verb == POP3_CMD_AUTH && cmd->argc) /* the mechanism is no secret */
		log_debug(LOGC_PROTO, "C: AUTH %s%s", log_esc(a0, cmd->argv[0], cmd->argl[0]),
			  cmd->argc > 1 ? " [secret]" : "");
	else if (pop3_verbs[cmd->verb].secret && cmd->argc)
		log_debug(LOGC_PROTO, "C: %s [secret]", name);
	else
		log_debug(LOGC_PROTO, "C: %s%s%s%s%s", name, cmd->argc ? " " : "",
			  cmd->argc ? log_esc(a0, cmd->argv[0], cmd->argl[0]) : "",
			  cmd->argc > 1 ? " " : "",
			  cmd->argc > 1 ? log_esc(a1, cmd->argv[1], cmd->argl[1]) : "");
}

/* Check the verb against the command table (one place for every verb) and run it. */
static int dispatch(struct pop3_session *s, struct pop3_cmd *cmd)
{
	log_command(cmd);
	if (cmd->verb == POP3_CMD_SASL_RESPONSE || cmd->verb == POP3_CMD_SASL_CANCEL)
		return pop3_sasl_response(s, cmd);
	const struct verb_spec *v = &pop3_verbs[cmd->verb];
	unsigned st = s->state == POP3_AUTHORIZATION ? POP3_ST_AUTHORIZATION : POP3_ST_TRANSACTION;
	if (v->cleartext_login && (v->states & st) && pop3_refuse_if_disabled(s))
		return 0;
	switch (verb_check(v, st, pop3_plaintext_ok(s), cmd->argc)) {
	case VERB_OK:
		return handlers[cmd->verb](s, cmd);
	case VERB_UNKNOWN:
		pop3_reply(s, "-ERR Unknown command");
		return count_error(s);
	case VERB_BAD_STATE:
		pop3_reply(s, "-ERR %s not valid in this state", pop3_verb_name(cmd->verb));
		return count_error(s);
	case VERB_NEEDS_TLS: /* RFC 2595 and DESIGN: no cleartext passwords in the clear */
		pop3_reply(s, "-ERR [SYS/PERM] Cleartext login not allowed without TLS; use STLS first");
		return 0;
	case VERB_BAD_ARGS: /* the parser already refuses these */
		pop3_reply(s, "-ERR Syntax error");
		return count_error(s);
	}
	return 0;
}

/* Between commands a session holds no command memory (see smtp_session.c). */
static void release_idle(struct pop3_session *s)
{
	if (!s->busy)
		arena_free(&s->ca);
}

static int on_input(struct net_conn *c, const uint8_t *p, size_t len)
{
	struct pop3_session *s = net_conn_data(c);
	size_t off = 0;
	/* RFC 2449 6.6 PIPELINING: answer each command in order; stop while busy */
	while (off < len && !s->busy && net_conn_reading(c) && s->state != POP3_UPDATE) {
		size_t used = 0;
		arena_reset(&s->ca);
		int r = pop3_parse(&s->parser, p + off, len - off, &used);
		off += used;
		if (r == 0) {
			if (used == 0)
				break;
			continue;
		}
		struct pop3_cmd *cmd = &s->parser.cmd;
		s->cmd_start = metrics_now();
		if (r == ERR_NOMEM) {
			pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
			return ERR_NOMEM;
		}
		if (r < 0) {
			pop3_cmd_wipe(cmd);
			if (s->sasl.mech) { /* a broken SASL line ends the exchange */
				auth_exchange_end(&s->sasl);
				pop3_reply(s, "-ERR [AUTH] Malformed authentication response");
			} else {
				pop3_reply(s, "-ERR %s", r == ERR_TOO_LONG ? "Line too long" : "Syntax error");
			}
			count_error(s);
			continue;
		}
		net_conn_progress(c);
		r = dispatch(s, cmd);
		if (pop3_verbs[cmd->verb].secret || cmd->verb == POP3_CMD_SASL_RESPONSE)
			pop3_cmd_wipe(cmd);
		if (r < 0)
			return r;
	}
	release_idle(s);
	return (int)off;
}

static void on_drain(struct net_conn *c)
{
	pop3_stream_more(net_conn_data(c));
}

void pop3_session_resume(struct pop3_session *s)
{
	s->busy = false;
	release_idle(s);
	net_conn_resume(s->c);
}

const struct net_proto pop3_proto = {
	.name = "pop3",
	.on_open = on_open,
	.on_input = on_input,
	.on_drain = on_drain,
	.on_close = on_close,
	.timeout_reply = "-ERR Timeout, closing connection\r\n",
	.busy_reply = "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n",
};
