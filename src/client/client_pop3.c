/* client_pop3.c: the POP3 client engine (client_pop3.h): one session, commands sent
 * one at a time, every response read through the pure parser (client_pop3_parse.c)
 * from a read buffer of LIMIT_CLIENT_IO_BUF bytes. Listings are bounded by
 * LIMIT_CLIENT_POP3_MESSAGES entries; a message streams to the caller in chunks. */
#include "client/client_pop3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client/client_pop3_parse.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

struct client_pop3 {
	struct client_conn *conn;
	struct client_pop3_parser ps;
	unsigned caps;
	bool capa_ok; /* the server answered CAPA: caps is its list */
	char where[LIMIT_CLIENT_HOST + LIMIT_CLIENT_NAME + 4]; /* "[host]:port" for errors */
	char err[LIMIT_CLIENT_ERROR];
	size_t ipos, ilen;
	uint8_t in[LIMIT_CLIENT_IO_BUF];
};

static void pop3_fail(struct client_pop3 *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pop3_fail(struct client_pop3 *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	if (n < 0)
		p->err[0] = '\0';
}

/* A server's text made safe for one line on a terminal: printable ASCII, the rest as
 * '?', cut at 200 octets. */
static const char *pop3_safe(const char *t, size_t n, char *buf, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < cap && i < 200; i++)
		buf[k++] = t[i] >= 0x20 && t[i] < 0x7f ? t[i] : '?';
	if (n > 200 && k + 4 < cap)
		buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
	buf[k] = '\0';
	return buf;
}

/* The next event of the response being read; reads from the connection as needed. */
static int pop3_event(struct client_pop3 *p, struct client_pop3_event *ev)
{
	for (;;) {
		size_t used;
		int rc = client_pop3_parse(&p->ps, p->in + p->ipos, p->ilen - p->ipos, &used, ev);
		p->ipos += used;
		if (rc > 0)
			return rc;
		if (rc < 0) {
			pop3_fail(p, "%s does not speak POP3 as expected (%s)", p->where,
				  rc == ERR_TOO_LONG  ? "a line too long"
				  : rc == ERR_TOO_BIG ? "a message too big"
						      : "a malformed response");
			return rc;
		}
		p->ipos = p->ilen = 0;
		rc = client_conn_read_some(p->conn, p->in, sizeof(p->in), &p->ilen);
		if (rc < 0) {
			pop3_fail(p, "%s", client_conn_error(p->conn));
			return rc;
		}
	}
}

/* Read the status line of the response expected; 0 for +OK, ERR_NOTFOUND for -ERR
 * (p->err says what the server said, after what), ERR_BAD_SYNTAX for a continuation
 * where none was asked for, or the error of the read. */
static int pop3_status(struct client_pop3 *p, enum client_pop3_expect e, const char *what,
		       struct client_pop3_event *ev)
{
	client_pop3_parse_expect(&p->ps, e);
	int rc = pop3_event(p, ev);
	if (rc < 0)
		return rc;
	if (ev->ok || ev->cont)
		return 0;
	char t[256];
	pop3_fail(p, "%s: %s refused: %s", p->where, what,
		  pop3_safe(ev->text, ev->text_len, t, sizeof(t)));
	return ERR_NOTFOUND;
}

/* Send a command line (never one with a password: see pop3_login) and read its status. */
static int pop3_cmd(struct client_pop3 *p, enum client_pop3_expect e,
		    struct client_pop3_event *ev, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int pop3_cmd(struct client_pop3 *p, enum client_pop3_expect e,
		    struct client_pop3_event *ev, const char *fmt, ...)
{
	char line[LIMIT_CLIENT_POP3_LINE + 3];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(line))
		return ERR_INVAL;
	int rc = client_conn_printf(p->conn, "%s\r\n", line);
	if (rc < 0) {
		pop3_fail(p, "%s", client_conn_error(p->conn));
		return rc;
	}
	return pop3_status(p, e, line, ev);
}

static int pop3_capa(struct client_pop3 *p)
{
	struct client_pop3_event ev;
	p->caps = 0;
	p->capa_ok = false;
	int rc = pop3_cmd(p, CLIENT_POP3_LINES, &ev, "CAPA");
	if (rc == ERR_NOTFOUND)
		return 0; /* an RFC 1939 server without CAPA: try what it must have */
	if (rc < 0)
		return rc;
	p->capa_ok = true;
	while ((rc = pop3_event(p, &ev)) > 0 && ev.type == CLIENT_POP3_EV_LINE)
		p->caps |= client_pop3_parse_capa(ev.text, ev.text_len);
	return rc < 0 ? rc : 0;
}

static int pop3_stls(struct client_pop3 *p)
{
	if (p->capa_ok && !(p->caps & CLIENT_POP3_CAP_STLS)) {
		pop3_fail(p, "%s does not offer STLS (RFC 2595); use --tls, or --plain to send "
			     "the password unencrypted",
			  p->where);
		return ERR_PERM;
	}
	struct client_pop3_event ev;
	int rc = pop3_cmd(p, CLIENT_POP3_SINGLE, &ev, "STLS");
	if (rc < 0)
		return rc == ERR_NOTFOUND ? ERR_PERM : rc;
	/* RFC 2595 3.1: nothing the server sent before the handshake may be used */
	if (p->ipos < p->ilen) {
		pop3_fail(p, "%s sent data before TLS started (STARTTLS injection?)", p->where);
		return ERR_BAD_SYNTAX;
	}
	rc = client_conn_starttls(p->conn);
	if (rc < 0) {
		pop3_fail(p, "%s", client_conn_error(p->conn));
		return rc;
	}
	/* RFC 2595 4: the capabilities may differ under TLS */
	return pop3_capa(p);
}

/* A refused login: why, for the user, and which error. */
static int pop3_login_refused(struct client_pop3 *p, const char *user,
			      const struct client_pop3_event *ev)
{
	char t[256], u[256];
	pop3_safe(ev->text, ev->text_len, t, sizeof(t));
	pop3_safe(user, strlen(user), u, sizeof(u));
	if (ev->code & CLIENT_POP3_CODE_IN_USE) {
		pop3_fail(p, "the mailbox of %s at %s is in use by another session: %s", u,
			  p->where, t);
		return ERR_LOCKED;
	}
	pop3_fail(p, "login as %s at %s failed: %s", u, p->where, t);
	return ev->code & (CLIENT_POP3_CODE_SYS_TEMP | CLIENT_POP3_CODE_LOGIN_DELAY) ? ERR_TEMP
										  : ERR_AUTH;
}

/* AUTH PLAIN with the initial response (RFC 5034 4, RFC 4616): "\0user\0password". */
static int pop3_auth_plain(struct client_pop3 *p, const char *user, const char *password,
			   struct client_pop3_event *ev)
{
	size_t ul = strlen(user), pl = strlen(password), n = ul + pl + 2;
	unsigned char raw[LIMIT_CLIENT_USER + LIMIT_CLIENT_PASSWORD + 2];
	unsigned char b64[(sizeof(raw) + 2) / 3 * 4 + 1];
	if (n > sizeof(raw))
		return ERR_INVAL;
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[ul + 1] = '\0';
	memcpy(raw + ul + 2, password, pl);
	int bn = EVP_EncodeBlock(b64, raw, (int)n);
	OPENSSL_cleanse(raw, sizeof(raw));
	int rc = client_conn_printf(p->conn, "AUTH PLAIN %.*s\r\n", bn, (const char *)b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	if (rc < 0) {
		pop3_fail(p, "%s", client_conn_error(p->conn));
		return rc;
	}
	rc = pop3_status(p, CLIENT_POP3_SINGLE, "AUTH PLAIN", ev);
	if (rc < 0 && rc != ERR_NOTFOUND)
		return rc;
	if (ev->cont) {
		/* a challenge after the initial response: cancel (RFC 5034 4) */
		rc = pop3_cmd(p, CLIENT_POP3_SINGLE, ev, "*");
		if (rc < 0 && rc != ERR_NOTFOUND)
			return rc;
		ev->ok = false;
	}
	return ev->ok ? 0 : ERR_AUTH;
}

static int pop3_login(struct client_pop3 *p, const char *user, const char *password)
{
	struct client_pop3_event ev;
	if (strpbrk(user, "\r\n") || strpbrk(password, "\r\n") || !*user) {
		pop3_fail(p, "the user name or password holds a line break");
		return ERR_INVAL;
	}
	int rc;
	if (p->caps & CLIENT_POP3_CAP_SASL_PLAIN) {
		rc = pop3_auth_plain(p, user, password, &ev);
	} else {
		rc = pop3_cmd(p, CLIENT_POP3_SINGLE, &ev, "USER %s", user);
		if (rc == 0 && !ev.cont) {
			rc = client_conn_printf(p->conn, "PASS %s\r\n", password);
			if (rc < 0)
				pop3_fail(p, "%s", client_conn_error(p->conn));
			else
				rc = pop3_status(p, CLIENT_POP3_SINGLE, "PASS", &ev);
		}
		if (rc == ERR_NOTFOUND || (rc == 0 && ev.cont))
			rc = ERR_AUTH;
	}
	if (rc == ERR_AUTH)
		return pop3_login_refused(p, user, &ev);
	return rc;
}

int client_pop3_open(const struct client_endpoint *ep, const char *user,
		     const char *password, struct client_pop3 **p_out, char *err_out,
		     size_t err_cap)
{
	*p_out = NULL;
	struct client_pop3 *p = calloc(1, sizeof(*p));
	if (!p) {
		(void)snprintf(err_out, err_cap, "out of memory");
		return ERR_NOMEM;
	}
	(void)snprintf(p->where, sizeof(p->where), strchr(ep->host, ':') ? "[%s]:%s" : "%s:%s",
		       ep->host, ep->port);
	int rc = client_conn_open(ep, &p->conn, err_out, err_cap);
	if (rc < 0) {
		free(p);
		return rc;
	}
	struct client_pop3_event ev;
	rc = pop3_status(p, CLIENT_POP3_SINGLE, "the connection", &ev);
	if (rc == 0 && ev.cont) {
		pop3_fail(p, "%s does not speak POP3 (greeting \"+\")", p->where);
		rc = ERR_BAD_SYNTAX;
	}
	if (rc == 0)
		rc = pop3_capa(p);
	if (rc == 0 && ep->tls == CLIENT_TLS_STARTTLS)
		rc = pop3_stls(p);
	if (rc == 0)
		rc = pop3_login(p, user, password);
	if (rc < 0) {
		(void)snprintf(err_out, err_cap, "%s", p->err);
		client_pop3_close(&p);
		return rc;
	}
	*p_out = p;
	return 0;
}

int client_pop3_stat(struct client_pop3 *p, uint32_t *count_out, uint64_t *size_out)
{
	struct client_pop3_event ev;
	int rc = pop3_cmd(p, CLIENT_POP3_SINGLE, &ev, "STAT");
	if (rc < 0)
		return rc;
	if (client_pop3_parse_stat(ev.text, ev.text_len, count_out, size_out) < 0) {
		pop3_fail(p, "%s sent a malformed STAT answer", p->where);
		return ERR_BAD_SYNTAX;
	}
	return 0;
}

/* The lines of a listing whose +OK was read: each through parse_line, at most
 * LIMIT_CLIENT_POP3_MESSAGES. */
static int pop3_listing(struct client_pop3 *p, const char *what,
			int (*each)(void *ctx, const char *line, size_t len), void *ctx)
{
	struct client_pop3_event ev;
	size_t count = 0;
	int rc, stop = 0;
	while ((rc = pop3_event(p, &ev)) > 0 && ev.type == CLIENT_POP3_EV_LINE) {
		if (stop)
			continue;
		if (++count > LIMIT_CLIENT_POP3_MESSAGES) {
			pop3_fail(p, "%s lists more than %u messages", p->where,
				  LIMIT_CLIENT_POP3_MESSAGES);
			stop = ERR_TOO_BIG;
			continue;
		}
		stop = each(ctx, ev.text, ev.text_len);
		if (stop == ERR_BAD_SYNTAX) {
			char t[256];
			pop3_fail(p, "%s sent a malformed %s line: %s", p->where, what,
				  pop3_safe(ev.text, ev.text_len, t, sizeof(t)));
		}
	}
	return rc < 0 ? rc : stop;
}

struct pop3_uidl_ctx {
	client_pop3_uidl_fn cb;
	void *arg;
};

static int pop3_uidl_line(void *ctx, const char *line, size_t len)
{
	struct pop3_uidl_ctx *u = ctx;
	uint32_t msgno;
	char uid[LIMIT_CLIENT_POP3_UID + 1];
	if (client_pop3_parse_uidl(line, len, &msgno, uid) < 0)
		return ERR_BAD_SYNTAX;
	return u->cb(u->arg, msgno, uid);
}

int client_pop3_uidl(struct client_pop3 *p, client_pop3_uidl_fn cb, void *arg)
{
	struct client_pop3_event ev;
	int rc = pop3_cmd(p, CLIENT_POP3_LINES, &ev, "UIDL");
	if (rc == ERR_NOTFOUND) {
		pop3_fail(p, "%s does not support UIDL (RFC 1939 7), which fetch needs to know "
			     "which messages it has already downloaded",
			  p->where);
		return ERR_PERM;
	}
	if (rc < 0)
		return rc;
	struct pop3_uidl_ctx u = {cb, arg};
	return pop3_listing(p, "UIDL", pop3_uidl_line, &u);
}

struct pop3_list_ctx {
	client_pop3_list_fn cb;
	void *arg;
};

static int pop3_list_line(void *ctx, const char *line, size_t len)
{
	struct pop3_list_ctx *l = ctx;
	uint32_t msgno;
	uint64_t size;
	if (client_pop3_parse_list(line, len, &msgno, &size) < 0)
		return ERR_BAD_SYNTAX;
	return l->cb(l->arg, msgno, size);
}

int client_pop3_list(struct client_pop3 *p, client_pop3_list_fn cb, void *arg)
{
	struct client_pop3_event ev;
	int rc = pop3_cmd(p, CLIENT_POP3_LINES, &ev, "LIST");
	if (rc < 0)
		return rc;
	struct pop3_list_ctx l = {cb, arg};
	return pop3_listing(p, "LIST", pop3_list_line, &l);
}

int client_pop3_retr(struct client_pop3 *p, uint32_t msgno, client_pop3_data_fn cb,
		     void *arg)
{
	struct client_pop3_event ev;
	int rc = pop3_cmd(p, CLIENT_POP3_DATA, &ev, "RETR %u", msgno);
	if (rc < 0)
		return rc;
	int stop = 0;
	while ((rc = pop3_event(p, &ev)) > 0 && ev.type == CLIENT_POP3_EV_DATA)
		if (!stop)
			stop = cb(arg, ev.data, ev.data_len);
	return rc < 0 ? rc : stop;
}

int client_pop3_dele(struct client_pop3 *p, uint32_t msgno)
{
	struct client_pop3_event ev;
	return pop3_cmd(p, CLIENT_POP3_SINGLE, &ev, "DELE %u", msgno);
}

int client_pop3_rset(struct client_pop3 *p)
{
	struct client_pop3_event ev;
	return pop3_cmd(p, CLIENT_POP3_SINGLE, &ev, "RSET");
}

int client_pop3_quit(struct client_pop3 *p)
{
	struct client_pop3_event ev;
	int rc = pop3_cmd(p, CLIENT_POP3_SINGLE, &ev, "QUIT");
	return rc == ERR_NOTFOUND ? ERR_TEMP : rc;
}

const char *client_pop3_error(const struct client_pop3 *p)
{
	return p->err;
}

uint64_t client_pop3_bytes_in(const struct client_pop3 *p)
{
	return client_conn_bytes_in(p->conn);
}

uint64_t client_pop3_bytes_out(const struct client_pop3 *p)
{
	return client_conn_bytes_out(p->conn);
}

void client_pop3_close(struct client_pop3 **pp)
{
	struct client_pop3 *p = *pp;
	if (!p)
		return;
	client_conn_close(&p->conn);
	free(p);
	*pp = NULL;
}
