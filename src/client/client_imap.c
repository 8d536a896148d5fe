/* client_imap.c: the IMAP client session: connecting (greeting, STARTTLS, CAPABILITY),
 * login, reading responses through the pure parser (literals read from the connection in
 * LIMIT_CLIENT_IMAP_CHUNK pieces, never a whole message), and sending commands piece by
 * piece with tags "k1", "k2", ... Owns the connection, the parser and three arenas:
 * the session's (parser buffers), one response's (reset per response) and one command's
 * results (reset per command). Bounds: LIMIT_CLIENT_IMAP_*. */
#include "client/client_imap_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "core/str.h"
#include "imap/imap_parse.h"
#include "core/banned.h"

int client_imap_fail(struct client_imap *s, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	if (n < 0)
		s->err[0] = '\0';
	s->dead = true;
	return e;
}

static int conn_lost(struct client_imap *s, int e)
{
	if (s->bye)
		return client_imap_fail(s, ERR_IO, "the server closed the connection: %s",
					s->err[0] ? s->err : "BYE");
	return client_imap_fail(s, e < 0 ? e : ERR_IO, "connection lost: %s",
				client_conn_error(s->conn));
}

int client_imap_read_response(struct client_imap *s)
{
	if (s->dead)
		return ERR_IO;
	arena_reset(&s->resp_arena);
	for (;;) {
		const uint8_t *p;
		size_t n;
		int r;
		uint64_t left = client_imap_parser_literal_left(&s->ps);
		if (left) {
			n = left < LIMIT_CLIENT_IMAP_CHUNK ? (size_t)left : LIMIT_CLIENT_IMAP_CHUNK;
			r = client_conn_read(s->conn, s->chunk, n);
			if (r < 0)
				return conn_lost(s, r);
			p = s->chunk;
		} else {
			/* the line and its CRLF within LIMIT_CLIENT_IMAP_LINE, as the parser
			 * counts it */
			r = client_conn_read_line(s->conn, s->line, LIMIT_CLIENT_IMAP_LINE - 1, &n);
			if (r == ERR_TOO_LONG)
				return client_imap_fail(s, r, "a response line longer than %u bytes",
							LIMIT_CLIENT_IMAP_LINE);
			if (r < 0)
				return conn_lost(s, r);
			s->line[n] = '\r';
			s->line[n + 1] = '\n';
			n += 2;
			p = (const uint8_t *)s->line;
		}
		while (n > 0) {
			size_t used;
			r = client_imap_parse(&s->ps, p, n, &used);
			if (r < 0)
				return client_imap_fail(s, r, "the server sent a response that does "
							      "not parse (%s)",
							err_str(r));
			p += used;
			n -= used;
			if (r == CLIENT_IMAP_PARSE_DATA) {
				client_imap_resp_data(s);
			} else if (r == CLIENT_IMAP_PARSE_RESPONSE) {
				if (n != 0) /* a response ends at its line's end */
					return client_imap_fail(s, ERR_BAD_SYNTAX, "bad response");
				return r;
			}
		}
	}
}

/* Server text for an error line: printable ASCII kept, the rest as "?". */
static void clean_text(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static int tagged_err(const struct client_imap *s, const struct client_imap_resp *r)
{
	if (r->status == CLIENT_IMAP_ST_OK)
		return 0;
	if (r->status == CLIENT_IMAP_ST_BAD)
		return ERR_INVAL;
	static const struct {
		const char *code;
		int e;
	} codes[] = {
		{"NONEXISTENT", ERR_NOTFOUND}, {"TRYCREATE", ERR_NOTFOUND},
		{"ALREADYEXISTS", ERR_EXISTS}, {"OVERQUOTA", ERR_QUOTA},
		{"TOOBIG", ERR_TOO_BIG},       {"AUTHENTICATIONFAILED", ERR_AUTH},
		{"AUTHORIZATIONFAILED", ERR_AUTH}, {"UNAVAILABLE", ERR_TEMP},
		{"INUSE", ERR_TEMP},           {"LIMIT", ERR_TEMP},
	};
	if (!strcmp(s->verb, "LOGIN") || !strcmp(s->verb, "AUTHENTICATE"))
		return ERR_AUTH;
	for (size_t i = 0; r->code && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (str_ieq(r->code, strlen(r->code), codes[i].code))
			return codes[i].e;
	return ERR_PERM;
}

static void tagged(struct client_imap *s, const struct client_imap_resp *r)
{
	s->tagged_done = true;
	s->tagged_status = r->status;
	s->tagged_err = tagged_err(s, r);
	if (!s->tagged_err)
		return;
	int n = snprintf(s->err, sizeof(s->err), "%s: %s%s%s%s %s", s->verb,
			 r->status == CLIENT_IMAP_ST_NO ? "NO" : "BAD", r->code ? " [" : "",
			 r->code ? r->code : "", r->code ? "]" : "", r->text);
	if (n < 0)
		s->err[0] = '\0';
	clean_text(s->err);
}

int client_imap_ahead_done(struct client_imap *s, const struct client_imap_resp *r)
{
	s->ahead_tag[0] = '\0';
	int e = client_imap_resp_code(s, r);
	if (e < 0)
		return e;
	s->ahead_err = r->status == CLIENT_IMAP_ST_OK	 ? 0
		       : r->status == CLIENT_IMAP_ST_BAD ? ERR_INVAL
							 : ERR_PERM;
	s->ahead_text[0] = '\0';
	if (s->ahead_err) {
		int n = snprintf(s->ahead_text, sizeof(s->ahead_text), "ENABLE: %s%s%s%s %s",
				 r->status == CLIENT_IMAP_ST_NO ? "NO" : "BAD",
				 r->code ? " [" : "", r->code ? r->code : "",
				 r->code ? "]" : "", r->text);
		if (n < 0)
			s->ahead_text[0] = '\0';
		clean_text(s->ahead_text);
	}
	return 0;
}

int client_imap_wait(struct client_imap *s, bool want_cont)
{
	for (;;) {
		int r = client_imap_read_response(s);
		if (r < 0)
			return r;
		const struct client_imap_resp *rp = s->ps.resp;
		if (rp->kind == CLIENT_IMAP_RESP_CONTINUE) {
			if (want_cont)
				return 1;
			return client_imap_fail(s, ERR_BAD_SYNTAX, "%s: unexpected continuation",
						s->verb);
		}
		if (rp->kind == CLIENT_IMAP_RESP_TAGGED && s->ahead_tag[0] &&
		    !strcmp(rp->tag, s->ahead_tag)) {
			r = client_imap_ahead_done(s, rp);
			if (r < 0)
				return r;
			continue;
		}
		if (rp->kind == CLIENT_IMAP_RESP_TAGGED) {
			if (strcmp(rp->tag, s->tag) != 0)
				return client_imap_fail(s, ERR_BAD_SYNTAX,
							"%s: the server answered a command we "
							"did not send",
							s->verb);
			r = client_imap_resp_code(s, rp);
			if (r < 0)
				return r;
			tagged(s, rp);
			return 0;
		}
		r = client_imap_resp_untagged(s, rp);
		if (r < 0)
			return r;
	}
}

int client_imap_result(struct client_imap *s)
{
	if (s->dead)
		return ERR_IO;
	if (s->tagged_err)
		return s->tagged_err;
	return s->cb_rc;
}

static int wr(struct client_imap *s, const void *p, size_t n)
{
	if (s->dead)
		return ERR_IO;
	int r = client_conn_write(s->conn, p, n);
	return r < 0 ? conn_lost(s, r) : 0;
}

int client_imap_cmd_begin(struct client_imap *s, const char *verb)
{
	if (s->dead)
		return ERR_IO;
	arena_reset(&s->cmd_arena);
	s->tagn++;
	int n = snprintf(s->tag, sizeof(s->tag), "k%u", s->tagn);
	if (n < 0 || (size_t)n >= sizeof(s->tag))
		return ERR_INVAL;
	n = snprintf(s->verb, sizeof(s->verb), "%s", verb);
	if (n < 0)
		return ERR_INVAL;
	s->tagged_done = false;
	s->tagged_err = 0;
	s->cb_rc = 0;
	s->appenduid_validity = 0;
	s->appenduid_set = NULL;
	s->modified = NULL;
	s->err[0] = '\0';
	int r = wr(s, s->tag, strlen(s->tag));
	if (r == 0)
		r = wr(s, " ", 1);
	return r < 0 ? r : wr(s, verb, strlen(verb));
}

int client_imap_cmd_raw(struct client_imap *s, const char *text)
{
	return wr(s, text, strlen(text));
}

int client_imap_cmd_printf(struct client_imap *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) /* half a command is in the buffer */
		return client_imap_fail(s, ERR_INVAL, "%s: argument too long", s->verb);
	return wr(s, buf, (size_t)n);
}

int client_imap_cmd_literal_start(struct client_imap *s, uint64_t n)
{
	bool plus = (s->caps & CLIENT_IMAP_CAP_LITERALPLUS) ||
		    ((s->caps & CLIENT_IMAP_CAP_LITERALMINUS) && n <= 4096);
	int r = client_imap_cmd_printf(s, "{%llu%s}\r\n", (unsigned long long)n,
				       plus ? "+" : "");
	if (r < 0 || plus)
		return r;
	if (client_conn_flush(s->conn) < 0)
		return conn_lost(s, ERR_IO);
	r = client_imap_wait(s, true);
	if (r < 0)
		return r;
	if (r == 0) /* the tagged answer instead of "+": refused */
		return s->tagged_err ? s->tagged_err : ERR_PERM;
	return 0;
}

int client_imap_cmd_astring(struct client_imap *s, const char *str, size_t len)
{
	bool quotable = len <= 1024;
	for (size_t i = 0; i < len && quotable; i++) {
		unsigned char c = (unsigned char)str[i];
		quotable = c != 0 && c != '\r' && c != '\n' &&
			   (c < 0x80 || (s->enabled & CLIENT_IMAP_CAP_UTF8_ACCEPT));
	}
	int r;
	if (!quotable) {
		r = client_imap_cmd_literal_start(s, len);
		return r < 0 ? r : wr(s, str, len);
	}
	r = wr(s, "\"", 1);
	for (size_t i = 0, run = 0; r == 0 && i <= len; i++) {
		if (i < len && str[i] != '"' && str[i] != '\\')
			continue;
		r = wr(s, str + run, i - run);
		if (r == 0 && i < len)
			r = wr(s, "\\", 1);
		run = i;
	}
	return r < 0 ? r : wr(s, "\"", 1);
}

int client_imap_cmd_mailbox(struct client_imap *s, const char *name)
{
	if (str_ieq(name, strlen(name), "INBOX"))
		return client_imap_cmd_raw(s, "INBOX");
	char *wire = NULL;
	if (!(s->enabled & CLIENT_IMAP_CAP_UTF8_ACCEPT)) {
		int r = imap_mutf7_encode(name, strlen(name), &s->cmd_arena, &wire);
		if (r < 0) /* half a command is in the buffer: the session cannot go on */
			return client_imap_fail(s, r, "%s: the mailbox name is not UTF-8",
						s->verb);
	}
	const char *n = wire ? wire : name;
	return client_imap_cmd_astring(s, n, strlen(n));
}

int client_imap_cmd_end(struct client_imap *s)
{
	int r = wr(s, "\r\n", 2);
	if (r < 0)
		return r;
	if (client_conn_flush(s->conn) < 0)
		return conn_lost(s, ERR_IO);
	if (s->meanwhile) {
		int (*fn)(void *) = s->meanwhile;
		s->meanwhile = NULL;
		s->meanwhile_rc = fn(s->meanwhile_arg);
	}
	r = client_imap_wait(s, false);
	return r < 0 ? r : client_imap_result(s);
}

/* A command without arguments. */
static int simple(struct client_imap *s, const char *verb)
{
	int r = client_imap_cmd_begin(s, verb);
	return r < 0 ? r : client_imap_cmd_end(s);
}

static int capability(struct client_imap *s)
{
	s->caps = 0;
	return simple(s, "CAPABILITY");
}

static int greeting(struct client_imap *s, bool *preauth_out)
{
	int r = client_imap_read_response(s);
	if (r < 0)
		return r;
	const struct client_imap_resp *rp = s->ps.resp;
	if (rp->kind != CLIENT_IMAP_RESP_UNTAGGED ||
	    (rp->status != CLIENT_IMAP_ST_OK && rp->status != CLIENT_IMAP_ST_PREAUTH)) {
		char text[256];
		snprintf(text, sizeof(text), "%s", rp->text);
		clean_text(text);
		return client_imap_fail(s, rp->status == CLIENT_IMAP_ST_BYE ? ERR_TEMP : ERR_IO,
					"the server refused the connection: %s", text);
	}
	*preauth_out = rp->status == CLIENT_IMAP_ST_PREAUTH;
	return client_imap_resp_code(s, rp);
}

static int session_new(struct client_imap **s_out)
{
	struct client_imap *s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	arena_init(&s->init_arena, LIMIT_CLIENT_IMAP_LINE + (64u << 10));
	arena_init(&s->resp_arena, LIMIT_CLIENT_IMAP_ARENA);
	arena_init(&s->cmd_arena, LIMIT_CLIENT_IMAP_ARENA);
	s->line = malloc(LIMIT_CLIENT_IMAP_LINE + 1);
	s->chunk = malloc(LIMIT_CLIENT_IMAP_CHUNK);
	*s_out = s;
	if (!s->line || !s->chunk)
		return ERR_NOMEM;
	return client_imap_parser_init(&s->ps, &s->init_arena, &s->resp_arena,
				       LIMIT_CLIENT_IMAP_LINE, LIMIT_CLIENT_IMAP_DEPTH,
				       LIMIT_CLIENT_IMAP_ITEMS, LIMIT_CLIENT_IMAP_HOLD,
				       LIMIT_CLIENT_IMAP_LITERAL);
}

static int starttls(struct client_imap *s)
{
	if (!(s->caps & CLIENT_IMAP_CAP_STARTTLS))
		return client_imap_fail(s, ERR_PERM,
					"the server does not offer STARTTLS (--tls or --plain)");
	int r = simple(s, "STARTTLS");
	if (r < 0)
		return r;
	r = client_conn_starttls(s->conn);
	if (r < 0)
		return client_imap_fail(s, r, "%s", client_conn_error(s->conn));
	return capability(s); /* RFC 9051 6.2.1: forget what was said before TLS */
}

int client_imap_open(const struct client_endpoint *ep, struct client_imap **s_out,
		     char *err_out, size_t err_cap)
{
	struct client_imap *s = NULL;
	*s_out = NULL;
	int r = session_new(&s);
	if (r < 0) {
		client_imap_close(&s);
		snprintf(err_out, err_cap, "out of memory");
		return r;
	}
	r = client_conn_open(ep, &s->conn, err_out, err_cap);
	if (r < 0) {
		client_imap_close(&s);
		return r;
	}
	bool preauth = false;
	r = greeting(s, &preauth);
	if (r == 0 && ep->tls == CLIENT_TLS_STARTTLS) {
		if (preauth)
			r = client_imap_fail(s, ERR_PERM, "the server logged us in before "
							  "STARTTLS (PREAUTH): use --tls or --plain");
		else if (!s->caps)
			r = capability(s);
		if (r == 0)
			r = starttls(s);
	}
	if (r == 0 && !s->caps)
		r = capability(s);
	if (r < 0) {
		snprintf(err_out, err_cap, "%s", s->err);
		client_imap_close(&s);
		return r;
	}
	s->caps_preauth = preauth;
	*s_out = s;
	return 0;
}

/* AUTHENTICATE PLAIN (RFC 4616): "\0user\0password" in base64, as the initial response
 * (SASL-IR, RFC 4959) or after the continuation. */
static int auth_plain(struct client_imap *s, const char *user, const char *password)
{
	size_t ul = strlen(user), pl = strlen(password);
	if (ul + pl + 2 > LIMIT_SASL_LINE / 2)
		return client_imap_fail(s, ERR_INVAL, "user name or password too long");
	size_t rawn = ul + pl + 2;
	unsigned char *raw = arena_alloc(&s->cmd_arena, rawn);
	unsigned char *b64 = arena_alloc(&s->cmd_arena, 4 * ((rawn + 2) / 3) + 1);
	if (!raw || !b64)
		return ERR_NOMEM;
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, password, pl);
	int bn = EVP_EncodeBlock(b64, raw, (int)rawn);
	OPENSSL_cleanse(raw, rawn);
	bool ir = s->caps & CLIENT_IMAP_CAP_SASL_IR;
	int r = client_imap_cmd_raw(s, ir ? " PLAIN " : " PLAIN");
	if (r == 0 && ir)
		r = wr(s, b64, (size_t)bn);
	if (r == 0 && !ir) {
		r = wr(s, "\r\n", 2);
		if (r == 0 && client_conn_flush(s->conn) < 0)
			r = conn_lost(s, ERR_IO);
		if (r == 0)
			r = client_imap_wait(s, true);
		if (r == 0) /* answered without asking */
			r = s->tagged_err ? s->tagged_err : ERR_AUTH;
		else if (r == 1)
			r = wr(s, b64, (size_t)bn);
	}
	OPENSSL_cleanse(b64, (size_t)bn);
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_login(struct client_imap *s, const char *user, const char *password)
{
	if (s->caps_preauth)
		return 0;
	int r;
	s->caps_seen = false;
	if (s->caps & CLIENT_IMAP_CAP_AUTH_PLAIN) {
		r = client_imap_cmd_begin(s, "AUTHENTICATE");
		if (r == 0)
			r = auth_plain(s, user, password);
	} else if (s->caps & CLIENT_IMAP_CAP_LOGINDISABLED) {
		return client_imap_fail(s, ERR_PERM, "the server allows no login on this "
						     "connection (LOGINDISABLED): use --tls or "
						     "--starttls");
	} else {
		r = client_imap_cmd_begin(s, "LOGIN");
		if (r == 0)
			r = client_imap_cmd_raw(s, " ");
		if (r == 0)
			r = client_imap_cmd_astring(s, user, strlen(user));
		if (r == 0)
			r = client_imap_cmd_raw(s, " ");
		if (r == 0)
			r = client_imap_cmd_astring(s, password, strlen(password));
		if (r == 0)
			r = client_imap_cmd_end(s);
	}
	if (r < 0)
		return r;
	/* capabilities change with login (RFC 9051 6.2.2); the OK may carry them */
	return s->caps_seen ? 0 : capability(s);
}

int client_imap_login_overlap(struct client_imap *s, const char *user, const char *password,
			      int (*meanwhile)(void *arg), void *arg)
{
	s->meanwhile = meanwhile;
	s->meanwhile_arg = arg;
	s->meanwhile_rc = 0;
	int r = client_imap_login(s, user, password);
	s->meanwhile = NULL;
	return r < 0 ? r : s->meanwhile_rc;
}

unsigned client_imap_caps(const struct client_imap *s)
{
	return s->caps;
}

bool client_imap_has(const struct client_imap *s, unsigned cap)
{
	return (s->caps & cap) == cap;
}

void client_imap_set_events(struct client_imap *s, const struct client_imap_events *ev)
{
	s->ev = ev;
}

const char *client_imap_error(const struct client_imap *s)
{
	return s->err;
}

struct client_conn *client_imap_conn(struct client_imap *s)
{
	return s->conn;
}

int client_imap_logout(struct client_imap *s)
{
	return client_imap_logout_overlap(s, NULL, NULL);
}

int client_imap_logout_overlap(struct client_imap *s, void (*meanwhile)(void *arg), void *arg)
{
	if (s->dead) {
		if (meanwhile)
			meanwhile(arg);
		return 0;
	}
	int r = client_imap_cmd_begin(s, "LOGOUT");
	if (r == 0)
		r = client_imap_cmd_raw(s, "\r\n");
	if (r == 0 && client_conn_flush(s->conn) < 0)
		r = ERR_IO;
	if (meanwhile)
		meanwhile(arg);
	/* the BYE and a closed connection are the answer: nothing to check */
	if (r == 0)
		(void)client_imap_wait(s, false);
	return 0;
}

void client_imap_close(struct client_imap **sp)
{
	struct client_imap *s = *sp;
	if (!s)
		return;
	client_conn_close(&s->conn);
	arena_free(&s->init_arena);
	arena_free(&s->resp_arena);
	arena_free(&s->cmd_arena);
	free(s->line);
	free(s->chunk);
	free(s);
	*sp = NULL;
}
