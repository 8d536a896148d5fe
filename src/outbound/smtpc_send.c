/* smtpc_send.c: one SMTP transaction (RFC 5321 3.3): the checks before anything is sent
 * (SIZE, BODY, SMTPUTF8, REQUIRETLS), MAIL and the RCPTs (grouped per RFC 2920 when the
 * server offers PIPELINING: at most a write buffer of commands, LIMIT_SMTPC_IO_BUF, is
 * sent before their replies are read), then the message: DATA with dot-stuffing done on
 * the fly (RFC 5321 4.5.2) or BDAT chunks of LIMIT_SMTPC_BDAT_CHUNK (RFC 3030). The file
 * is read LIMIT_SMTPC_BODY_CHUNK bytes at a time; nothing holds the whole message. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "outbound/smtpc_int.h"

/* A synthesized permanent failure of the whole message when the server cannot take it
 * as it is; 0 when it can. */
static int smtpc_check(struct smtpc *s, const struct smtpc_msg *m, struct smtpc_reply *r)
{
	const struct smtpc_ext *x = &s->ext;
	uint64_t total = (uint64_t)m->prefix_len + m->size;

	if ((x->flags & SMTPC_EXT_SIZE) && x->size > 0 && total > x->size) {
		char t[128];
		snprintf(t, sizeof(t),
		         "message size %" PRIu64 " exceeds the server's limit %" PRIu64, total,
		         x->size);
		smtpc_reply_set(r, 552, "5.3.4", t);
		return ERR_PERM;
	}
	if (m->body == SMTPC_BODY_8BITMIME && !(x->flags & SMTPC_EXT_8BITMIME)) {
		smtpc_reply_set(r, 554, "5.6.3", "8-bit message and the server has no 8BITMIME");
		return ERR_PERM;
	}
	if (m->body == SMTPC_BODY_BINARYMIME &&
	    (x->flags & (SMTPC_EXT_BINARYMIME | SMTPC_EXT_CHUNKING)) !=
	        (SMTPC_EXT_BINARYMIME | SMTPC_EXT_CHUNKING)) {
		smtpc_reply_set(r, 554, "5.6.3",
		                "binary message and the server has no BINARYMIME with CHUNKING");
		return ERR_PERM;
	}
	if (m->smtputf8 && !(x->flags & SMTPC_EXT_SMTPUTF8)) {
		/* RFC 6531 3.4: no downgrade here; the message fails */
		smtpc_reply_set(r, 553, "5.6.7", "SMTPUTF8 message and the server has no SMTPUTF8");
		return ERR_PERM;
	}
	if (m->requiretls) {
		bool verified = s->tls == SMTPC_TLS_PKIX || s->tls == SMTPC_TLS_DANE_TA ||
		                s->tls == SMTPC_TLS_DANE_EE;
		if (!(x->flags & SMTPC_EXT_REQUIRETLS) || !verified) {
			smtpc_reply_set(
			    r, 550, "5.7.10",
			    !verified ? "REQUIRETLS message and TLS is not verified"
			              : "REQUIRETLS message and the server has no REQUIRETLS");
			return ERR_PERM;
		}
	}
	return 0;
}

static void smtpc_reply_copy(struct smtpc_reply *dst, const struct smtpc_reply *src)
{
	*dst = *src;
}

/* Every recipient still without an outcome (code 0, not yet decided) gets r. */
static void smtpc_settle(struct smtpc_rcpt *rcpts, size_t n, const bool *accepted,
                         const struct smtpc_reply *r)
{
	for (size_t i = 0; i < n; i++)
		if (accepted == NULL || accepted[i])
			smtpc_reply_copy(&rcpts[i].reply, r);
}

/* The connection broke: every recipient not yet refused gets the loss (code 0). */
static int smtpc_lost(struct smtpc *s, struct smtpc_rcpt *rcpts, size_t n, const bool *refused,
                      struct smtpc_reply *final_out, int rc)
{
	struct smtpc_reply r;

	memset(&r, 0, sizeof(r));
	r.synthesized = true;
	snprintf(r.line, sizeof(r.line), "%s", s->error);
	for (size_t i = 0; i < n; i++)
		if (!refused[i])
			smtpc_reply_copy(&rcpts[i].reply, &r);
	smtpc_reply_copy(final_out, &r);
	return rc;
}

/* Message bytes: prefix then file, in pieces; *piece_out/len_out the next one (len 0 at
 * the end). off is the offset into prefix + file. */
static int smtpc_piece(struct smtpc *s, const struct smtpc_msg *m, uint64_t off, size_t max,
                       const uint8_t **piece_out, size_t *len_out)
{
	uint64_t total = (uint64_t)m->prefix_len + m->size;

	*len_out = 0;
	if (off >= total)
		return 0;
	if (off < m->prefix_len) {
		size_t n = m->prefix_len - (size_t)off;
		*piece_out = (const uint8_t *)m->prefix + off;
		*len_out = n < max ? n : max;
		return 0;
	}
	uint64_t foff = off - m->prefix_len;
	size_t want = sizeof(s->body) < max ? sizeof(s->body) : max;
	if (total - off < want)
		want = (size_t)(total - off);
	ssize_t r;
	do
		r = pread(m->fd, s->body, want, (off_t)(m->offset + foff));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return smtpc_fail(s, ERR_IO, "reading the message: %s", strerror(errno));
	if (r == 0)
		return smtpc_fail(s, ERR_IO, "the message file is shorter than its size");
	*piece_out = s->body;
	*len_out = (size_t)r;
	return 0;
}

/* DATA's content: every line starting with "." gets one more (RFC 5321 4.5.2); a line
 * starts after LF (a bare LF included, so no receiver can see a lone "." line in it),
 * then CRLF "." CRLF. */
static int smtpc_data_body(struct smtpc *s, const struct smtpc_msg *m)
{
	unsigned tmo = s->cfg.timeouts.data_ms;
	uint64_t off = 0;
	bool bol = true;
	uint8_t last[2] = {'\r', '\n'}; /* an empty message ends "at a line end" */
	int rc;

	for (;;) {
		const uint8_t *p;
		size_t n, start = 0;
		rc = smtpc_piece(s, m, off, SIZE_MAX, &p, &n);
		if (rc < 0)
			return rc;
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (bol && p[i] == '.') {
				rc = smtpc_io_write(s, p + start, i - start, tmo);
				if (rc == 0)
					rc = smtpc_io_write(s, ".", 1, tmo);
				if (rc < 0)
					return rc;
				start = i;
			}
			bol = p[i] == '\n';
		}
		rc = smtpc_io_write(s, p + start, n - start, tmo);
		if (rc < 0)
			return rc;
		if (n >= 2) {
			last[0] = p[n - 2];
			last[1] = p[n - 1];
		} else {
			last[0] = last[1];
			last[1] = p[0];
		}
		off += n;
	}
	/* a message that does not end in CRLF gets one: the "." must start a line */
	if (last[0] != '\r' || last[1] != '\n') {
		rc = smtpc_io_write(s, "\r\n", 2, tmo);
		if (rc < 0)
			return rc;
	}
	smtpc_trace(s, 'C', "<message>", 9);
	smtpc_trace(s, 'C', ".", 1);
	rc = smtpc_io_write(s, ".\r\n", 3, tmo);
	if (rc == 0)
		rc = smtpc_io_flush(s, tmo);
	return rc;
}

/* BDAT chunks (RFC 3030 2): each chunk's reply is read before the next is sent; a
 * refused chunk ends the transaction (3: no further BDAT). *r: the last reply. */
static int smtpc_bdat_body(struct smtpc *s, const struct smtpc_msg *m, struct smtpc_reply *r)
{
	uint64_t total = (uint64_t)m->prefix_len + m->size, off = 0;
	unsigned tmo = s->cfg.timeouts.data_ms;
	int rc;

	do {
		uint64_t left = total - off;
		size_t chunk =
		    left < LIMIT_SMTPC_BDAT_CHUNK ? (size_t)left : LIMIT_SMTPC_BDAT_CHUNK;
		bool lastc = off + chunk == total;
		char cmd[64];
		int cn = snprintf(cmd, sizeof(cmd), "BDAT %zu%s\r\n", chunk, lastc ? " LAST" : "");
		if (cn < 0 || (size_t)cn >= sizeof(cmd))
			return smtpc_fail(s, ERR_IO, "BDAT command");
		rc = smtpc_io_command(s, cmd, (size_t)cn, NULL);
		for (size_t done = 0; rc == 0 && done < chunk;) {
			const uint8_t *p = NULL;
			size_t n = 0;
			rc = smtpc_piece(s, m, off + done, chunk - done, &p, &n);
			if (rc == 0)
				rc = smtpc_io_write(s, p, n, tmo);
			done += n;
		}
		if (rc == 0)
			rc = smtpc_io_flush(s, tmo);
		if (rc == 0)
			rc = smtpc_io_reply(s, r, NULL, lastc ? tmo : s->cfg.timeouts.command_ms);
		if (rc < 0)
			return rc;
		if (r->code / 100 != 2)
			return 0;
		off += chunk;
	} while (off < total);
	return 0;
}

/* Queue command i of the envelope (0: MAIL, 1..n: RCPT). */
static int smtpc_envelope_cmd(struct smtpc *s, const struct smtpc_msg *m,
                              const struct smtpc_rcpt *rcpts, size_t i)
{
	char line[LIMIT_SMTPC_COMMAND];
	size_t len = 0;
	int rc = i == 0 ? smtpc_format_mail(&s->ext, m, line, sizeof(line), &len)
	                : smtpc_format_rcpt(&s->ext, &rcpts[i - 1], line, sizeof(line), &len);
	if (rc < 0)
		return rc;
	return smtpc_io_command(s, line, len, NULL);
}

struct smtpc_txn {
	struct smtpc_reply mail;
	size_t accepted;
	bool refused[LIMIT_SMTPC_RCPTS]; /* settled by its RCPT reply (or MAIL's) */
	bool accepted_at[LIMIT_SMTPC_RCPTS];
};

/* Read the reply of envelope command i into its place. */
static int smtpc_envelope_reply(struct smtpc *s, struct smtpc_txn *t, struct smtpc_rcpt *rcpts,
                                size_t i)
{
	struct smtpc_reply *r = i == 0 ? &t->mail : &rcpts[i - 1].reply;
	int rc = smtpc_io_reply(s, r, NULL, s->cfg.timeouts.command_ms);

	if (rc < 0)
		return rc;
	if (i == 0)
		return 0;
	if (t->mail.code / 100 != 2) {
		/* the RCPT's own answer (503 bad sequence) says less than MAIL's */
		smtpc_reply_copy(r, &t->mail);
		t->refused[i - 1] = true;
	} else if (r->code / 100 == 2) {
		t->accepted_at[i - 1] = true;
		t->accepted++;
	} else {
		t->refused[i - 1] = true;
	}
	return 0;
}

/* MAIL and every RCPT; with PIPELINING as many as fit the write buffer at a time, then
 * their replies in order (RFC 2920 3.1), and DATA last in the final group when asked. */
static int smtpc_envelope(struct smtpc *s, const struct smtpc_msg *m, struct smtpc_rcpt *rcpts,
                          size_t n, struct smtpc_txn *t, bool data_too, struct smtpc_reply *data_r)
{
	bool pipe = s->ext.flags & SMTPC_EXT_PIPELINING;
	size_t sent = 0, read = 0; /* commands 0..n queued / answered */
	int rc;

	while (read < n + 1) {
		/* queue while the next command surely fits; always at least one */
		while (sent < n + 1 &&
		       (sent == read || (pipe && buf_room(&s->wbuf) >= LIMIT_SMTPC_COMMAND))) {
			rc = smtpc_envelope_cmd(s, m, rcpts, sent);
			if (rc < 0)
				return rc;
			sent++;
			if (!pipe)
				break;
		}
		bool data_now = data_too && pipe && sent == n + 1;
		if (data_now) {
			rc = smtpc_io_command(s, "DATA\r\n", 6, NULL);
			if (rc < 0)
				return rc;
		}
		while (read < sent) {
			rc = smtpc_envelope_reply(s, t, rcpts, read);
			if (rc < 0)
				return rc;
			read++;
			/* without PIPELINING a refused MAIL ends the transaction (RFC 5321 3.3) */
			if (!pipe && read == 1 && t->mail.code / 100 != 2) {
				for (size_t i = 0; i < n; i++) {
					smtpc_reply_copy(&rcpts[i].reply, &t->mail);
					t->refused[i] = true;
				}
				return 0;
			}
		}
		if (data_now)
			return smtpc_io_reply(s, data_r, NULL, s->cfg.timeouts.command_ms);
	}
	return 0;
}

int smtpc_send(struct smtpc *s, const struct smtpc_msg *m, struct smtpc_rcpt *rcpts, size_t n,
               struct smtpc_reply *final_out)
{
	struct smtpc_txn t;
	struct smtpc_reply data_r, r;
	bool bdat = (s->ext.flags & SMTPC_EXT_CHUNKING) != 0;
	bool pipe = (s->ext.flags & SMTPC_EXT_PIPELINING) != 0;
	int rc;

	memset(final_out, 0, sizeof(*final_out));
	if (n == 0 || n > LIMIT_SMTPC_RCPTS || !m->sender || (m->prefix_len && !m->prefix))
		return ERR_INVAL;
	if (s->broken || s->fd < 0)
		return ERR_IO;
	for (size_t i = 0; i < n; i++)
		memset(&rcpts[i].reply, 0, sizeof(rcpts[i].reply));
	rc = smtpc_check(s, m, final_out);
	if (rc < 0) {
		smtpc_settle(rcpts, n, NULL, final_out);
		return rc;
	}
	/* a bad argument found by a formatter must fail before anything is sent */
	{
		char line[LIMIT_SMTPC_COMMAND];
		size_t len;
		rc = smtpc_format_mail(&s->ext, m, line, sizeof(line), &len);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = smtpc_format_rcpt(&s->ext, &rcpts[i], line, sizeof(line), &len);
		if (rc < 0)
			return smtpc_fail(s, ERR_INVAL, "an address or parameter cannot be sent");
	}
	memset(&t, 0, sizeof(t));
	memset(&data_r, 0, sizeof(data_r));
	rc = smtpc_envelope(s, m, rcpts, n, &t, !bdat, &data_r);
	if (rc < 0)
		return smtpc_lost(s, rcpts, n, t.refused, final_out, rc);

	bool data_sent = !bdat && pipe && data_r.code != 0;
	if (t.accepted == 0 || t.mail.code / 100 != 2) {
		/* RFC 2920 3.1: a DATA the server took after all refusals gets an empty
		 * message, "."; then the transaction is reset */
		if (data_sent && data_r.code == 354) {
			smtpc_trace(s, 'C', ".", 1);
			rc = smtpc_io_write(s, ".\r\n", 3, s->cfg.timeouts.command_ms);
			if (rc == 0)
				rc = smtpc_io_reply(s, &r, NULL, s->cfg.timeouts.data_ms);
			if (rc < 0)
				return smtpc_lost(s, rcpts, n, t.refused, final_out, rc);
		}
		smtpc_reply_copy(final_out, t.mail.code / 100 != 2 ? &t.mail : &rcpts[n - 1].reply);
		rc = smtpc_rset(s, &r);
		return rc == ERR_IO ? ERR_IO : 0;
	}
	if (bdat) {
		rc = smtpc_bdat_body(s, m, &data_r);
		if (rc < 0)
			return smtpc_lost(s, rcpts, n, t.refused, final_out, rc);
		smtpc_settle(rcpts, n, t.accepted_at, &data_r);
		smtpc_reply_copy(final_out, &data_r);
		if (data_r.code / 100 != 2) {
			/* RFC 3030 2: after a refused chunk the transaction is reset */
			rc = smtpc_rset(s, &r);
			return rc == ERR_IO ? ERR_IO : 0;
		}
		return 0;
	}
	if (!pipe) {
		rc = smtpc_io_command(s, "DATA\r\n", 6, NULL);
		if (rc == 0)
			rc = smtpc_io_reply(s, &data_r, NULL, s->cfg.timeouts.command_ms);
		if (rc < 0)
			return smtpc_lost(s, rcpts, n, t.refused, final_out, rc);
	}
	if (data_r.code != 354) {
		smtpc_settle(rcpts, n, t.accepted_at, &data_r);
		smtpc_reply_copy(final_out, &data_r);
		return 0;
	}
	rc = smtpc_data_body(s, m);
	if (rc == 0)
		rc = smtpc_io_reply(s, &data_r, NULL, s->cfg.timeouts.data_ms);
	if (rc < 0)
		return smtpc_lost(s, rcpts, n, t.refused, final_out, rc);
	smtpc_settle(rcpts, n, t.accepted_at, &data_r);
	smtpc_reply_copy(final_out, &data_r);
	return 0;
}
