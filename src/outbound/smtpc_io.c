/* smtpc_io.c: the SMTP client's connection: a non-blocking socket driven as a blocking
 * one, every wait a poll() bounded by the caller's timeout (RFC 5321 4.5.3.2), plain or
 * through OpenSSL on the same fd; the read and write buffers (LIMIT_SMTPC_IO_BUF each),
 * reading whole replies through the pure parser, the trace and transcript ring. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "core/err.h"
#include "outbound/smtpc_int.h"

int smtpc_fail(struct smtpc *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(s->error, sizeof(s->error), fmt, ap) < 0)
		s->error[0] = '\0';
	va_end(ap);
	if (rc == ERR_IO)
		s->broken = true;
	return rc;
}

void smtpc_trace(struct smtpc *s, char who, const void *line, size_t len)
{
	char *slot = s->ring[s->ring_next];
	size_t keep = len < LIMIT_SMTPC_TRANSCRIPT_LINE - 4 ? len : LIMIT_SMTPC_TRANSCRIPT_LINE - 4;
	const unsigned char *b = line;

	slot[0] = who;
	slot[1] = ':';
	slot[2] = ' ';
	for (size_t i = 0; i < keep; i++)
		slot[3 + i] = (b[i] < 0x20 || b[i] == 0x7F) ? '?' : (char)b[i];
	slot[3 + keep] = '\0';
	s->ring_next = (s->ring_next + 1) % LIMIT_SMTPC_TRANSCRIPT;
	if (s->ring_n < LIMIT_SMTPC_TRANSCRIPT)
		s->ring_n++;
	if (s->cfg.trace)
		s->cfg.trace(s->cfg.trace_ctx, who, line, len);
}

static int64_t smtpc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events until deadline (monotonic ms): 1 ready, 0 timed out, <0 error. */
static int smtpc_wait(struct smtpc *s, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - smtpc_now_ms();
		struct pollfd pfd = {.fd = s->fd, .events = events};
		if (left <= 0)
			return 0;
		int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return ERR_IO;
	}
}

int smtpc_io_connect(struct smtpc *s, const struct sockaddr *sa, socklen_t sa_len)
{
	int64_t deadline = smtpc_now_ms() + s->cfg.timeouts.connect_ms;
	int err = 0;
	socklen_t elen = sizeof(err);

	s->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return smtpc_fail(s, ERR_IO, "socket: %s", strerror(errno));
	if (connect(s->fd, sa, sa_len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return smtpc_fail(s, ERR_IO, "connect: %s", strerror(errno));
	int w = smtpc_wait(s, POLLOUT, deadline);
	if (w == 0)
		return smtpc_fail(s, ERR_IO, "connect: timed out after %u ms",
		                  s->cfg.timeouts.connect_ms);
	if (w < 0 || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return smtpc_fail(s, ERR_IO, "connect: %s", strerror(errno));
	if (err != 0)
		return smtpc_fail(s, ERR_IO, "connect: %s", strerror(err));
	return 0;
}

/* The OpenSSL error queue's first entry as text (and the queue emptied). */
static const char *smtpc_ssl_err(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, cap, "connection closed");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

/* Write some of p: >0 bytes written, 0 would block (events to wait for in *ev), <0. */
static ssize_t smtpc_write_some(struct smtpc *s, const uint8_t *p, size_t n, short *ev)
{
	if (!s->ssl) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
		if (w >= 0)
			return w;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*ev = POLLOUT;
			return 0;
		}
		return smtpc_fail(s, ERR_IO, "write: %s", strerror(errno));
	}
	size_t done = 0;
	if (SSL_write_ex(s->ssl, p, n, &done) == 1)
		return (ssize_t)done;
	int e = SSL_get_error(s->ssl, 0);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		*ev = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	char eb[128];
	return smtpc_fail(s, ERR_IO, "TLS write: %s", smtpc_ssl_err(eb, sizeof(eb)));
}

int smtpc_io_flush(struct smtpc *s, unsigned timeout_ms)
{
	size_t off = 0;

	if (s->broken)
		return ERR_IO;
	while (off < s->wbuf.len) {
		short ev = 0;
		ssize_t w = smtpc_write_some(s, s->wbuf.data + off, s->wbuf.len - off, &ev);
		if (w < 0)
			return (int)w;
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		/* RFC 5321 4.5.3.2.5: the timeout is per wait for progress, not per message */
		int rc = smtpc_wait(s, ev, smtpc_now_ms() + timeout_ms);
		if (rc == 0)
			return smtpc_fail(s, ERR_IO, "write: timed out after %u ms", timeout_ms);
		if (rc < 0)
			return smtpc_fail(s, ERR_IO, "poll: %s", strerror(errno));
	}
	buf_clear(&s->wbuf);
	return 0;
}

int smtpc_io_write(struct smtpc *s, const void *p, size_t n, unsigned timeout_ms)
{
	const uint8_t *b = p;

	while (n > 0) {
		size_t room = buf_room(&s->wbuf);
		if (room == 0) {
			int rc = smtpc_io_flush(s, timeout_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		size_t take = n < room ? n : room;
		if (buf_append(&s->wbuf, b, take) < 0)
			return smtpc_fail(s, ERR_IO, "write buffer");
		b += take;
		n -= take;
	}
	return 0;
}

int smtpc_io_command(struct smtpc *s, const char *line, size_t len, const char *trace_as)
{
	if (s->broken)
		return ERR_IO;
	if (trace_as)
		smtpc_trace(s, 'C', trace_as, strlen(trace_as));
	else
		smtpc_trace(s, 'C', line, len >= 2 ? len - 2 : len);
	return smtpc_io_write(s, line, len, s->cfg.timeouts.command_ms);
}

/* Read what is there into rbuf (which the caller has emptied): >0, 0 timeout, <0. */
static int smtpc_read_some(struct smtpc *s, int64_t deadline)
{
	for (;;) {
		short ev = POLLIN;
		if (!s->ssl) {
			ssize_t r = recv(s->fd, s->rbuf, sizeof(s->rbuf), 0);
			if (r > 0) {
				s->rpos = 0;
				s->rlen = (size_t)r;
				return 1;
			}
			if (r == 0)
				return smtpc_fail(s, ERR_IO, "connection closed by the server");
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return smtpc_fail(s, ERR_IO, "read: %s", strerror(errno));
		} else {
			size_t got = 0;
			if (SSL_read_ex(s->ssl, s->rbuf, sizeof(s->rbuf), &got) == 1) {
				s->rpos = 0;
				s->rlen = got;
				return 1;
			}
			int e = SSL_get_error(s->ssl, 0);
			if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (e != SSL_ERROR_WANT_READ) {
				char eb[128];
				return smtpc_fail(s, ERR_IO, "TLS read: %s",
				                  e == SSL_ERROR_ZERO_RETURN
				                      ? "connection closed by the server"
				                      : smtpc_ssl_err(eb, sizeof(eb)));
			}
		}
		int w = smtpc_wait(s, ev, deadline);
		if (w == 0)
			return 0;
		if (w < 0)
			return smtpc_fail(s, ERR_IO, "poll: %s", strerror(errno));
	}
}

/* A reply that never came: code 0, the error detail as its text. */
static int smtpc_reply_lost(struct smtpc *s, struct smtpc_reply *r, int rc)
{
	memset(r, 0, sizeof(*r));
	r->synthesized = true;
	snprintf(r->line, sizeof(r->line), "%s", s->error);
	return rc;
}

static void smtpc_on_line(void *ctx, const uint8_t *line, size_t len)
{
	smtpc_trace(ctx, 'S', line, len);
}

int smtpc_io_reply(struct smtpc *s, struct smtpc_reply *r, struct smtpc_ext *ext,
                   unsigned timeout_ms)
{
	int64_t deadline = smtpc_now_ms() + timeout_ms;
	int rc = smtpc_io_flush(s, s->cfg.timeouts.command_ms);

	s->rp.on_line = smtpc_on_line;
	s->rp.on_line_ctx = s;
	smtpc_reply_parser_init(&s->rp, r, ext);
	if (rc < 0)
		return smtpc_reply_lost(s, r, rc);
	for (;;) {
		if (s->rpos < s->rlen) {
			size_t used = 0;
			rc = smtpc_reply_parse(&s->rp, s->rbuf + s->rpos, s->rlen - s->rpos, &used);
			s->rpos += used;
			if (rc > 0)
				return 0;
			if (rc < 0) {
				rc = smtpc_fail(s, ERR_IO, "%s reply from the server",
				                rc == ERR_TOO_LONG ? "too long a" : "a malformed");
				return smtpc_reply_lost(s, r, rc);
			}
			continue;
		}
		rc = smtpc_read_some(s, deadline);
		if (rc == 0)
			rc = smtpc_fail(s, ERR_IO, "no reply within %u ms", timeout_ms);
		if (rc < 0)
			return smtpc_reply_lost(s, r, rc);
	}
}

size_t smtpc_io_pending(const struct smtpc *s)
{
	return s->rlen - s->rpos;
}

void smtpc_io_discard(struct smtpc *s)
{
	s->rpos = s->rlen = 0;
}

void smtpc_io_close(struct smtpc *s)
{
	if (s->ssl) {
		/* close_notify if the socket takes it at once; never wait for the peer's */
		if (!s->broken)
			(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0) {
		(void)close(s->fd); /* nothing to learn from close of a socket we leave */
		s->fd = -1;
	}
	s->broken = true;
}

int smtpc_reply_rc(const struct smtpc_reply *r, int want)
{
	if (want != 0)
		return r->code == want ? 0 : r->code / 100 == 4 ? ERR_TEMP : ERR_PERM;
	switch (r->code / 100) {
	case 2:
		return 0;
	case 4:
		return ERR_TEMP;
	default:
		return ERR_PERM;
	}
}
