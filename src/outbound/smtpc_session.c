/* smtpc_session.c: the SMTP client session outside a transaction: the object, the
 * connection and greeting (RFC 5321 3.1), EHLO with the fall-back to HELO (3.2),
 * STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954, 4616), RSET, QUIT, and what the
 * caller may read of the session (extensions, TLS state, error, transcript). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "outbound/smtpc_int.h"

int smtpc_new(const struct smtpc_config *cfg, struct smtpc **out)
{
	struct smtpc *s;
	int n;

	*out = NULL;
	if (!cfg->helo || !cfg->helo[0])
		return ERR_INVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	s->cfg = *cfg;
	n = snprintf(s->helo, sizeof(s->helo), "%s", cfg->helo);
	if (n < 0 || (size_t)n >= sizeof(s->helo) || strpbrk(s->helo, " \r\n")) {
		free(s);
		return ERR_INVAL;
	}
	s->cfg.helo = s->helo;
	s->fd = -1;
	buf_init(&s->wbuf, s->wstore, sizeof(s->wstore));
	*out = s;
	return 0;
}

int smtpc_connect(struct smtpc *s, const struct sockaddr *sa, socklen_t sa_len,
                  const struct smtpc_tls_opts *tls, struct smtpc_reply *greeting_out)
{
	int rc;

	memset(greeting_out, 0, sizeof(*greeting_out));
	if (s->fd >= 0 || s->broken)
		return ERR_INVAL;
	rc = smtpc_io_connect(s, sa, sa_len);
	if (rc == 0 && tls)
		rc = smtpc_tls_handshake(s, tls);
	if (rc < 0) {
		s->broken = true;
		snprintf(greeting_out->line, sizeof(greeting_out->line), "%s", s->error);
		greeting_out->synthesized = true;
		return rc;
	}
	/* RFC 5321 4.5.3.2.1: the greeting is awaited as long as a command's reply */
	rc = smtpc_io_reply(s, greeting_out, NULL, s->cfg.timeouts.command_ms);
	if (rc < 0)
		return rc;
	return smtpc_reply_rc(greeting_out, 0);
}

static int smtpc_hello(struct smtpc *s, const char *verb, struct smtpc_reply *r)
{
	char line[LIMIT_SMTPC_COMMAND];
	int n = snprintf(line, sizeof(line), "%s %s\r\n", verb, s->helo);
	int rc;

	if (n < 0 || (size_t)n >= sizeof(line))
		return ERR_INVAL;
	rc = smtpc_io_command(s, line, (size_t)n, NULL);
	if (rc == 0)
		rc = smtpc_io_reply(s, r, &s->ext, s->cfg.timeouts.command_ms);
	return rc;
}

int smtpc_ehlo(struct smtpc *s, struct smtpc_reply *reply_out)
{
	int rc = smtpc_hello(s, "EHLO", reply_out);

	if (rc < 0)
		return rc;
	if (reply_out->code / 100 == 5) {
		/* RFC 5321 3.2: a server that does not know EHLO; HELO has no extensions */
		rc = smtpc_hello(s, "HELO", reply_out);
		memset(&s->ext, 0, sizeof(s->ext));
		if (rc < 0)
			return rc;
	}
	return smtpc_reply_rc(reply_out, 0);
}

int smtpc_starttls(struct smtpc *s, const struct smtpc_tls_opts *o, struct smtpc_reply *reply_out)
{
	static const char cmd[] = "STARTTLS\r\n";
	int rc;

	memset(reply_out, 0, sizeof(*reply_out));
	if (s->broken || s->ssl)
		return ERR_INVAL;
	if (!(s->ext.flags & SMTPC_EXT_STARTTLS))
		return smtpc_fail(s, ERR_INVAL, "STARTTLS is not offered");
	rc = smtpc_io_command(s, cmd, sizeof(cmd) - 1, NULL);
	if (rc == 0)
		rc = smtpc_io_reply(s, reply_out, NULL, s->cfg.timeouts.command_ms);
	if (rc < 0)
		return rc;
	rc = smtpc_reply_rc(reply_out, 220);
	if (rc < 0)
		return rc;
	/* RFC 3207 4.2 (and STARTTLS injection): nothing said before the handshake
	 * counts after it */
	if (smtpc_io_pending(s) > 0)
		smtpc_trace(s, 'S', "<bytes after 220 to STARTTLS discarded>", 39);
	smtpc_io_discard(s);
	rc = smtpc_tls_handshake(s, o);
	if (rc < 0)
		return rc;
	/* RFC 3207 4.2: forget what the server said before; ask again */
	memset(&s->ext, 0, sizeof(s->ext));
	return smtpc_ehlo(s, reply_out);
}

/* base64 (RFC 4648 4) of p[0..n) into out (cap >= 4 * ceil(n / 3) + 1). */
static int smtpc_b64(const void *p, size_t n, char *out, size_t cap)
{
	if (n > (cap - 1) / 4 * 3 || n > INT32_MAX)
		return ERR_INVAL;
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return 0;
}

/* One SASL step: send line (traced as trace_as), read the reply. */
static int smtpc_auth_step(struct smtpc *s, const char *line, size_t n, const char *trace_as,
                           struct smtpc_reply *r)
{
	int rc = smtpc_io_command(s, line, n, trace_as);
	if (rc == 0)
		rc = smtpc_io_flush(s, s->cfg.timeouts.command_ms);
	if (rc == 0)
		rc = smtpc_io_reply(s, r, NULL, s->cfg.timeouts.command_ms);
	return rc;
}

static int smtpc_auth_result(const struct smtpc_reply *r)
{
	if (r->code == 235)
		return 0;
	return r->code / 100 == 4 ? ERR_TEMP : ERR_AUTH;
}

int smtpc_auth(struct smtpc *s, const char *user, const char *password, bool allow_plain,
               struct smtpc_reply *reply_out)
{
	/* each payload fits a SASL line (LIMIT_SASL_LINE) after base64 and the verb */
	char raw[LIMIT_SASL_LINE / 2];
	char line[LIMIT_SASL_LINE];
	size_t ul = strlen(user), pl = strlen(password);
	int rc = ERR_INVAL;

	memset(reply_out, 0, sizeof(*reply_out));
	if (s->broken)
		return ERR_IO;
	if (!s->ssl && !allow_plain)
		return smtpc_fail(s, ERR_INVAL, "AUTH over plain text refused");
	if (ul + pl + 2 > sizeof(raw) / 4 * 3 - 32)
		return smtpc_fail(s, ERR_INVAL, "user name or password too long");
	if (s->ext.auth & SMTPC_AUTH_PLAIN) {
		/* RFC 4616 2: [authzid] NUL authcid NUL passwd, as the initial response */
		raw[0] = '\0';
		snprintf(raw + 1, sizeof(raw) - 1, "%s", user);
		snprintf(raw + 2 + ul, sizeof(raw) - 2 - ul, "%s", password);
		static const char verb[] = "AUTH PLAIN ";
		snprintf(line, sizeof(line), "%s", verb);
		rc = smtpc_b64(raw, ul + pl + 2, line + sizeof(verb) - 1,
		               sizeof(line) - sizeof(verb) - 2);
		if (rc == 0) {
			size_t n = strlen(line);
			line[n++] = '\r';
			line[n++] = '\n';
			rc = smtpc_auth_step(s, line, n, "AUTH PLAIN <hidden>", reply_out);
		}
		if (rc == 0)
			rc = smtpc_auth_result(reply_out);
	} else if (s->ext.auth & SMTPC_AUTH_LOGIN) {
		static const char verb[] = "AUTH LOGIN\r\n";
		const char *parts[2] = {user, password};
		rc = smtpc_auth_step(s, verb, sizeof(verb) - 1, NULL, reply_out);
		for (int i = 0; i < 2 && rc == 0; i++) {
			if (reply_out->code != 334) {
				rc = smtpc_auth_result(reply_out);
				break;
			}
			rc = smtpc_b64(parts[i], strlen(parts[i]), line, sizeof(line) - 2);
			if (rc == 0) {
				size_t n = strlen(line);
				line[n++] = '\r';
				line[n++] = '\n';
				rc = smtpc_auth_step(s, line, n, "<hidden>", reply_out);
			}
		}
		if (rc == 0)
			rc = smtpc_auth_result(reply_out);
	} else {
		rc = smtpc_fail(s, ERR_INVAL, "no AUTH mechanism we know is offered");
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(line, sizeof(line));
	/* the sent line also sat in the write buffer */
	OPENSSL_cleanse(s->wstore, sizeof(s->wstore));
	return rc;
}

int smtpc_rset(struct smtpc *s, struct smtpc_reply *reply_out)
{
	static const char cmd[] = "RSET\r\n";
	int rc = smtpc_io_command(s, cmd, sizeof(cmd) - 1, NULL);

	if (rc == 0)
		rc = smtpc_io_reply(s, reply_out, NULL, s->cfg.timeouts.command_ms);
	else
		memset(reply_out, 0, sizeof(*reply_out));
	if (rc < 0)
		return rc;
	return smtpc_reply_rc(reply_out, 0);
}

int smtpc_quit(struct smtpc *s)
{
	static const char cmd[] = "QUIT\r\n";
	struct smtpc_reply r;
	int rc = ERR_IO;

	if (s->fd >= 0 && !s->broken) {
		rc = smtpc_io_command(s, cmd, sizeof(cmd) - 1, NULL);
		if (rc == 0)
			rc = smtpc_io_reply(s, &r, NULL, s->cfg.timeouts.command_ms);
	}
	smtpc_io_close(s);
	return rc;
}

void smtpc_free(struct smtpc **sp)
{
	struct smtpc *s = *sp;

	if (!s)
		return;
	smtpc_io_close(s);
	SSL_CTX_free(s->own_ctx);
	OPENSSL_cleanse(s->wstore, sizeof(s->wstore));
	free(s);
	*sp = NULL;
}

const struct smtpc_ext *smtpc_extensions(const struct smtpc *s)
{
	return &s->ext;
}

enum smtpc_tls_state smtpc_tls_state(const struct smtpc *s)
{
	return s->tls;
}

const char *smtpc_tls_desc(const struct smtpc *s)
{
	return s->tls == SMTPC_TLS_OFF ? "" : s->tls_desc;
}

const char *smtpc_error(const struct smtpc *s)
{
	return s->error;
}

void smtpc_transcript(const struct smtpc *s, char *out, size_t cap)
{
	size_t len = 0;
	unsigned first = s->ring_n < LIMIT_SMTPC_TRANSCRIPT ? 0 : s->ring_next;

	if (cap == 0)
		return;
	out[0] = '\0';
	for (unsigned i = 0; i < s->ring_n; i++) {
		const char *l = s->ring[(first + i) % LIMIT_SMTPC_TRANSCRIPT];
		int n = snprintf(out + len, cap - len, "%s%s", i ? " | " : "", l);
		if (n < 0 || (size_t)n >= cap - len)
			return; /* cut: the caller's buffer holds what fits */
		len += (size_t)n;
	}
}
