/* imap_session.c: one IMAP connection: greeting, the input loop that switches between
 * commands, AUTHENTICATE lines, IDLE and streamed APPEND data, the dispatch of parsed
 * commands through the command table (imap_verbs[], core/verb.h), output helpers, the
 * work done on the worker pool, and the session's lifetime. Limits: the parser's
 * (imap_parse.h), LIMIT_IMAP_ERRORS bad commands, the arenas' caps; pipelined commands
 * are taken one at a time and input stops while output piles up (net/). */
#include "imap_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "notify/notify.h"
#include "store/store.h"
#include "core/banned.h"

struct store_env *imap_env;

void imap_init(struct store_env *env)
{
	imap_env = env;
}

/* ---- output ---- */

static void sink_write(void *ctx, const void *p, size_t n)
{
	struct imap_session *s = ctx;
	(void)net_conn_write(s->c, p, n); /* a closing connection drops it */
}

/* lead + " " + the formatted text + CRLF; lead is "*" or the command's tag (the
 * client's, at most a line long: written as is). */
__attribute__((format(printf, 3, 0))) static void vline(struct imap_session *s, const char *lead,
							  const char *fmt, va_list ap)
{
	if (log_debug_enabled(LOGC_PROTO)) {
		char line[512], esc[512];
		va_list cp;
		va_copy(cp, ap);
		(void)vsnprintf(line, sizeof(line), fmt, cp); /* a long one is cut in the log only */
		va_end(cp);
		log_debug(LOGC_PROTO, "S: %s %s", log_esc(esc, lead, strlen(lead)), line);
	}
	imap_puts(&s->out, lead);
	imap_puts(&s->out, " ");
	(void)net_conn_vline(s->c, fmt, ap);
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s, "*", fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 0))) static void tagged_v(struct imap_session *s, const char *fmt,
							     va_list ap)
{
	vline(s, s->tag ? s->tag : "*", fmt, ap);
	if (s->cmd_start) {
		int proto = net_conn_metric_proto(s->c);
		if (proto >= 0)
			metrics_observe_since(METRIC_HIST_COMMAND, (unsigned)proto, s->cmd_start);
		s->cmd_start = 0;
	}
}

void imap_tagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tagged_v(s, fmt, ap);
	va_end(ap);
}

/* Commands that refer to messages by sequence number must not see EXPUNGE before
 * their completion (RFC 9051 7.5.1); their UID forms may. */
static bool expunge_allowed(const struct imap_cmd *cmd)
{
	if (!cmd)
		return true;
	switch (cmd->verb) {
	case IMAP_VERB_FETCH:
	case IMAP_VERB_STORE:
	case IMAP_VERB_SEARCH:
	case IMAP_VERB_SORT:
	case IMAP_VERB_THREAD:
		return cmd->uid;
	default:
		return true;
	}
}

void imap_done(struct imap_session *s, const char *fmt, ...)
{
	if (s->sel)
		imap_sync_send(s, expunge_allowed(s->cmd));
	va_list ap;
	va_start(ap, fmt);
	tagged_v(s, fmt, ap);
	va_end(ap);
}

void imap_bad(struct imap_session *s, const char *text)
{
	imap_tagged(s, "BAD %s", text);
	if (++s->errors >= LIMIT_IMAP_ERRORS) {
		imap_untagged(s, "BYE Too many errors, closing");
		net_conn_close(s->c);
	}
}

/* ---- lifetime ---- */

void imap_session_free(struct imap_session *s)
{
	imap_job_free(s);
	imap_select_free(s);
	notify_unwatch(&s->watch);
	auth_exchange_end(&s->sasl);
	arena_free(&s->ca);
	arena_free(&s->sa);
	free(s);
}

static int on_open(struct net_conn *c)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->c = c;
	s->out = (struct imap_sink){sink_write, s};
	arena_init(&s->sa, LIMIT_SESSION_ARENA);
	arena_init(&s->ca, LIMIT_COMMAND_ARENA);
	imap_parser_init(&s->parser, &s->ca, conf_get()->max_message_size);
	net_conn_set_data(c, s);
	imap_untagged(s, "OK [CAPABILITY %s] %s kasten IMAP ready", imap_capabilities(s),
		      conf_get()->hostname);
	return 0;
}

static void on_close(struct net_conn *c)
{
	struct imap_session *s = net_conn_data(c);
	if (!s)
		return;
	if (s->mode == IMAP_MODE_BUSY && !s->drain_more) {
		s->closing = true; /* the work in flight frees it when it completes */
		return;
	}
	imap_session_free(s); /* idle, or waiting for output that nobody will read */
}

/* A command is over: its memory goes; the next one starts from nothing. */
static void command_end(struct imap_session *s)
{
	imap_job_free(s); /* an APPEND whose command line failed after its literals */
	s->cmd = NULL;
	s->tag = NULL;
	arena_reset(&s->ca);
}

/* ---- dispatch ---- */

static int cmd_unselect(struct imap_session *s, struct imap_cmd *cmd)
{
	return imap_cmd_close(s, cmd);
}

static const imap_handler handlers[IMAP_VERB_COUNT] = {
	[IMAP_VERB_CAPABILITY] = imap_cmd_capability,
	[IMAP_VERB_NOOP] = imap_cmd_noop,
	[IMAP_VERB_LOGOUT] = imap_cmd_logout,
	[IMAP_VERB_ID] = imap_cmd_id,
	[IMAP_VERB_COMPRESS] = imap_cmd_compress,
	[IMAP_VERB_STARTTLS] = imap_cmd_starttls,
	[IMAP_VERB_AUTHENTICATE] = imap_cmd_authenticate,
	[IMAP_VERB_LOGIN] = imap_cmd_login,
	[IMAP_VERB_ENABLE] = imap_cmd_enable,
	[IMAP_VERB_SELECT] = imap_cmd_select,
	[IMAP_VERB_EXAMINE] = imap_cmd_select,
	[IMAP_VERB_CREATE] = imap_cmd_create,
	[IMAP_VERB_DELETE] = imap_cmd_delete,
	[IMAP_VERB_RENAME] = imap_cmd_rename,
	[IMAP_VERB_SUBSCRIBE] = imap_cmd_subscribe,
	[IMAP_VERB_UNSUBSCRIBE] = imap_cmd_subscribe,
	[IMAP_VERB_LIST] = imap_cmd_list,
	[IMAP_VERB_LSUB] = imap_cmd_list,
	[IMAP_VERB_NAMESPACE] = imap_cmd_namespace,
	[IMAP_VERB_STATUS] = imap_cmd_status,
	[IMAP_VERB_APPEND] = imap_cmd_append,
	[IMAP_VERB_IDLE] = imap_cmd_idle,
	[IMAP_VERB_GETQUOTA] = imap_cmd_quota,
	[IMAP_VERB_GETQUOTAROOT] = imap_cmd_quota,
	[IMAP_VERB_SETQUOTA] = imap_cmd_quota,
	[IMAP_VERB_CHECK] = imap_cmd_noop,
	[IMAP_VERB_CLOSE] = imap_cmd_close,
	[IMAP_VERB_UNSELECT] = cmd_unselect,
	[IMAP_VERB_EXPUNGE] = imap_cmd_expunge,
	[IMAP_VERB_SEARCH] = imap_cmd_search,
	[IMAP_VERB_FETCH] = imap_cmd_fetch,
	[IMAP_VERB_STORE] = imap_cmd_store,
	[IMAP_VERB_COPY] = imap_cmd_copy,
	[IMAP_VERB_MOVE] = imap_cmd_copy,
	[IMAP_VERB_SORT] = imap_cmd_sort,
	[IMAP_VERB_THREAD] = imap_cmd_thread,
};

static unsigned state_bit(const struct imap_session *s)
{
	switch (s->state) {
	case IMAP_STATE_NOTAUTH: return IMAP_ST_NOTAUTH;
	case IMAP_STATE_AUTH: return IMAP_ST_AUTH;
	case IMAP_STATE_SELECTED: return IMAP_ST_SELECTED;
	default: return 0;
	}
}

/* Commands IMAP4rev2 removed (RFC 9051 Appendix E) are unknown once it is enabled. */
static bool removed_in_rev2(enum imap_verb v)
{
	return v == IMAP_VERB_LSUB || v == IMAP_VERB_CHECK;
}

static void log_command(const struct imap_cmd *cmd)
{
	if (!log_debug_enabled(LOGC_PROTO))
		return;
	char esc[512];
	if (cmd->line)
		log_debug(LOGC_PROTO, "C: %s", log_esc(esc, cmd->line, strlen(cmd->line)));
	else
		log_debug(LOGC_PROTO, "C: %s %s [secret]", log_esc(esc, cmd->tag, strlen(cmd->tag)),
			  imap_verbs[cmd->verb].name);
}

static int dispatch(struct imap_session *s, struct imap_cmd *cmd)
{
	s->cmd = cmd;
	s->tag = cmd->tag;
	log_command(cmd);
	const struct verb_spec *v = &imap_verbs[cmd->verb];
	if (s->rev2 && removed_in_rev2(cmd->verb)) {
		imap_bad(s, "Command not part of IMAP4rev2");
		return 0;
	}
	switch (verb_check(v, state_bit(s), imap_cleartext_ok(s), cmd->nargs)) {
	case VERB_OK:
		return handlers[cmd->verb](s, cmd);
	case VERB_UNKNOWN:
		imap_bad(s, "Unknown command");
		return 0;
	case VERB_BAD_STATE:
		imap_bad(s, s->state == IMAP_STATE_NOTAUTH		 ? "Log in first"
			     : (v->states & IMAP_ST_SELECTED) && s->state == IMAP_STATE_AUTH
									 ? "Select a mailbox first"
									 : "Not allowed in this state");
		return 0;
	case VERB_NEEDS_TLS: /* RFC 9051 6.2.3, RFC 5530 */
		imap_tagged(s, "NO [PRIVACYREQUIRED] Cleartext login not allowed without TLS; "
			       "use STARTTLS first");
		return 0;
	case VERB_BAD_ARGS:
		imap_bad(s, "Wrong number of arguments");
		return 0;
	}
	return 0;
}

/* ---- asynchronous work ---- */

struct async_job {
	struct imap_session *s;
	imap_work_fn work;
	imap_done_fn done;
	void *arg;
};

static void async_work(void *arg)
{
	struct async_job *j = arg;
	j->work(j->arg);
}

static void async_done(struct net_conn *c, void *arg)
{
	struct async_job *j = arg;
	struct imap_session *s = j->s;
	if (s->closing) {
		imap_session_free(s);
		free(j);
		return;
	}
	s->mode = IMAP_MODE_COMMAND;
	j->done(s, j->arg);
	free(j);
	if (s->mode == IMAP_MODE_COMMAND)
		command_end(s);
	if (s->mode != IMAP_MODE_BUSY)
		net_conn_resume(c);
}

int imap_async(struct imap_session *s, imap_work_fn work, imap_done_fn done, void *arg)
{
	struct async_job *j = malloc(sizeof(*j));
	if (!j)
		return ERR_NOMEM;
	*j = (struct async_job){s, work, done, arg};
	s->mode = IMAP_MODE_BUSY;
	net_conn_pause(s->c);
	if (net_conn_work_io(s->c, async_work, async_done, j) < 0) {
		free(j);
		s->mode = IMAP_MODE_COMMAND;
		net_conn_resume(s->c);
		return ERR_NOMEM;
	}
	return 0;
}

/* ---- output the client must read first ---- */

static void on_drain(struct net_conn *c)
{
	struct imap_session *s = net_conn_data(c);
	if (!s || !s->drain_more)
		return;
	void (*more)(struct imap_session *, void *) = s->drain_more;
	void *arg = s->drain_arg;
	s->drain_more = NULL;
	s->drain_arg = NULL;
	s->mode = IMAP_MODE_COMMAND;
	more(s, arg);
	if (s->mode == IMAP_MODE_COMMAND)
		command_end(s);
	if (s->mode != IMAP_MODE_BUSY)
		net_conn_resume(c);
}

int imap_wait_output(struct imap_session *s, imap_done_fn more, void *arg)
{
	s->drain_more = more;
	s->drain_arg = arg;
	s->mode = IMAP_MODE_BUSY;
	net_conn_pause(s->c);
	net_conn_want_drain(s->c);
	return 0;
}

struct store *imap_store_open(struct imap_session *s)
{
	struct store *st = NULL;
	int r = store_open(imap_env, s->account, &st);
	if (r < 0) {
		log_err("store open: %s", err_str(r));
		imap_tagged(s, "NO [UNAVAILABLE] Mailbox store unavailable, try again later");
		return NULL;
	}
	return st;
}

void imap_store_close(struct store **st)
{
	store_close(st);
}

/* ---- input ---- */

/* What the parser refused: answer with its tag (or untagged), count it. */
static int parse_error(struct imap_session *s, int r)
{
	if (r == ERR_NOMEM) {
		imap_untagged(s, "BYE [LIMIT] Command too large for this server");
		net_conn_close(s->c);
		return 0;
	}
	const struct imap_parse_err *e = &s->parser.err;
	s->tag = e->tag;
	if (!strncmp(e->text, "BAD", 3))
		imap_bad(s, e->text + (e->text[3] == ' ' ? 4 : 3));
	else
		imap_tagged(s, "%s", e->text);
	s->tag = NULL;
	if (e->must_close) {
		imap_untagged(s, "BYE Cannot recover from this command, closing");
		net_conn_close(s->c);
	}
	return 0;
}

/* One step of command mode: returns octets used, or <0 to close. */
static int command_input(struct imap_session *s, const uint8_t *p, size_t len, bool *again)
{
	size_t used = 0;
	struct imap_cmd *cmd = NULL;
	int r = imap_parse(&s->parser, p, len, &used, &cmd);
	*again = used > 0 || r != 0;
	/* a command partly received keeps its arguments in the command arena */
	if (used > 0 || r == IMAP_PARSE_CONTINUE || r == IMAP_PARSE_STREAM)
		s->receiving = true;
	if (r == IMAP_PARSE_DONE || r < 0)
		s->receiving = false;
	switch (r) {
	case 0:
		break;
	case IMAP_PARSE_CONTINUE:
		(void)net_conn_write(s->c, "+ Ready for literal data\r\n", 26);
		break;
	case IMAP_PARSE_STREAM:
		net_conn_progress(s->c);
		if (imap_append_stream(s, cmd) < 0)
			return ERR_NOMEM;
		break;
	case IMAP_PARSE_DONE:
		net_conn_progress(s->c); /* a whole command, not a byte */
		s->cmd_start = metrics_now();
		r = dispatch(s, cmd);
		if (imap_verbs[cmd->verb].secret)
			imap_cmd_wipe(cmd); /* LOGIN's password, a SASL-IR response */
		if (r < 0)
			return r;
		if (s->mode == IMAP_MODE_COMMAND)
			command_end(s);
		break;
	default:
		net_conn_progress(s->c);
		s->cmd_start = metrics_now();
		parse_error(s, r);
		command_end(s);
		break;
	}
	return (int)used;
}

/* One line of AUTHENTICATE or IDLE. */
static int line_input(struct imap_session *s, const uint8_t *p, size_t len, bool *again)
{
	size_t used = 0;
	const char *line;
	size_t n;
	int r = imap_parse_line(&s->parser, p, len, &used, &line, &n);
	*again = used > 0;
	if (r == 0)
		return (int)used;
	net_conn_progress(s->c);
	/* IDLE's time is the client's: only the DONE line to the tagged OK counts */
	s->cmd_start = metrics_now();
	if (r < 0) { /* too long: neither a SASL response nor DONE */
		line = "";
		n = 0;
	}
	r = s->mode == IMAP_MODE_SASL ? imap_auth_line(s, line, n) : imap_idle_line(s, line, n);
	if (r < 0)
		return r;
	if (s->mode == IMAP_MODE_COMMAND)
		command_end(s); /* IDLE or AUTHENTICATE is over */
	return (int)used;
}

/* Between commands a session holds no command memory (see smtp_session.c). */
static void release_idle(struct imap_session *s)
{
	if (s->mode == IMAP_MODE_COMMAND && !s->cmd && !s->receiving)
		arena_free(&s->ca);
}

static int on_input(struct net_conn *c, const uint8_t *p, size_t len)
{
	struct imap_session *s = net_conn_data(c);
	size_t off = 0;
	while (off < len && s->mode != IMAP_MODE_BUSY && net_conn_reading(c)) {
		int r;
		bool again = false;
		switch (s->mode) {
		case IMAP_MODE_COMMAND: r = command_input(s, p + off, len - off, &again); break;
		case IMAP_MODE_SASL:
		case IMAP_MODE_IDLE: r = line_input(s, p + off, len - off, &again); break;
		case IMAP_MODE_STREAM:
			r = imap_append_input(s, p + off, len - off);
			if (r > 0)
				net_conn_progress_bytes(c, (size_t)r);
			again = r > 0;
			break;
		default: r = 0; break;
		}
		if (r < 0)
			return r;
		off += (size_t)r;
		if (!again)
			break;
	}
	release_idle(s);
	return (int)off;
}

const struct net_proto imap_proto = {
	.name = "imap",
	.on_open = on_open,
	.on_input = on_input,
	.on_drain = on_drain,
	.on_close = on_close,
	.timeout_reply = "* BYE Autologout; idle for too long\r\n",
	.busy_reply = "* BYE [UNAVAILABLE] Too many connections from your address\r\n",
};
