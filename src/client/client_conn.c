/* client_conn.c: the blocking TCP/TLS connection of kasten fetch, sync and migrate
 * (client_conn.h). The socket stays non-blocking after the connect; every read, write
 * and handshake step waits in poll() for at most the endpoint's timeout, so a server
 * that stops answering costs one timeout, never a hang. Owns one read buffer and one
 * write buffer of LIMIT_CLIENT_IO_BUF bytes each; lines and literals are bounded by the
 * caller's buffer. TLS: OpenSSL, at least TLS 1.2, the system trust store, SNI and the
 * host name check, unless --insecure. */
#include "client/client_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "core/limits.h"

struct client_conn {
	int fd;
	SSL_CTX *ctx; /* NULL until TLS starts */
	SSL *ssl;
	bool insecure;
	unsigned timeout_ms;
	char host[LIMIT_CLIENT_HOST + 1];
	char where[LIMIT_CLIENT_HOST + LIMIT_CLIENT_NAME + 4]; /* "[host]:port" for errors */
	size_t rpos, rlen;
	size_t wlen;
	uint64_t bytes_in, bytes_out;
	char err[LIMIT_CLIENT_ERROR];
	uint8_t rbuf[LIMIT_CLIENT_IO_BUF];
	uint8_t wbuf[LIMIT_CLIENT_IO_BUF];
};

static void conn_fail(struct client_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void conn_fail(struct client_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (n < 0)
		c->err[0] = '\0';
}

/* Wait until fd is ready for events, at most the I/O timeout: 0 ready, ERR_IO after
 * the timeout (c->err says so) or on a poll error. */
static int conn_poll(struct client_conn *c, short events, const char *doing)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	for (;;) {
		int n = poll(&pfd, 1, (int)c->timeout_ms);
		if (n > 0)
			return 0;
		if (n == 0) {
			conn_fail(c, "%s timed out %s", c->where, doing);
			return ERR_IO;
		}
		if (errno != EINTR) {
			conn_fail(c, "%s: poll: %s", c->where, strerror(errno));
			return ERR_IO;
		}
	}
}

/* One TCP connection to one address: non-blocking connect, poll for the timeout. */
static int conn_try_addr(struct client_conn *c, const struct addrinfo *ai, char *why,
			 size_t why_cap)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0) {
		(void)snprintf(why, why_cap, "%s", strerror(errno));
		return ERR_IO;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		(void)snprintf(why, why_cap, "%s", strerror(errno));
		close(fd);
		return ERR_IO;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int n;
	do
		n = poll(&pfd, 1, (int)c->timeout_ms);
	while (n < 0 && errno == EINTR);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (n == 0)
		soerr = ETIMEDOUT;
	else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		(void)snprintf(why, why_cap, "%s", strerror(soerr));
		close(fd);
		return ERR_IO;
	}
	c->fd = fd;
	return 0;
}

/* Whether host is an IPv4 or IPv6 address literal. */
static bool host_is_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static int conn_connect(struct client_conn *c, const struct client_endpoint *ep)
{
	/* An address literal is taken as given: AI_ADDRCONFIG would ask the kernel for the
	 * host's configured addresses (a netlink round) only to filter a list of one. */
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = host_is_literal(ep->host) ? AI_NUMERICHOST
								       : AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(ep->host, ep->port, &hints, &res);
	if (rc != 0) {
		conn_fail(c, "cannot find %s: %s", c->where,
			  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return ERR_IO;
	}
	char why[128] = "no address";
	rc = ERR_IO;
	for (const struct addrinfo *ai = res; ai && rc != 0; ai = ai->ai_next)
		rc = conn_try_addr(c, ai, why, sizeof(why));
	freeaddrinfo(res);
	if (rc != 0)
		conn_fail(c, "cannot connect to %s: %s", c->where, why);
	return rc;
}

/* The reason of the last OpenSSL failure (or of errno), for one error line. */
static const char *conn_ssl_reason(int sslerr, char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	if (e) {
		ERR_error_string_n(e, buf, cap);
		const char *r = ERR_reason_error_string(e);
		if (r)
			(void)snprintf(buf, cap, "%s", r);
	} else if (sslerr == SSL_ERROR_SYSCALL && errno) {
		(void)snprintf(buf, cap, "%s", strerror(errno));
	} else {
		(void)snprintf(buf, cap, "connection closed by the server");
	}
	ERR_clear_error();
	return buf;
}

/* Wait as OpenSSL asks after a WANT_READ/WANT_WRITE; anything else is returned as is. */
static int conn_ssl_wait(struct client_conn *c, int sslerr, const char *doing)
{
	if (sslerr == SSL_ERROR_WANT_READ)
		return conn_poll(c, POLLIN, doing);
	if (sslerr == SSL_ERROR_WANT_WRITE)
		return conn_poll(c, POLLOUT, doing);
	return 1;
}

static bool conn_is_ip_literal(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static int conn_tls_setup(struct client_conn *c)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION))
		return ERR_NOMEM;
	if (!c->insecure) {
		if (!SSL_CTX_set_default_verify_paths(c->ctx))
			return ERR_IO;
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return ERR_NOMEM;
	bool ip = conn_is_ip_literal(c->host);
	/* RFC 6066 3: SNI carries host names only, never an address literal */
	if (!ip && !SSL_set_tlsext_host_name(c->ssl, c->host))
		return ERR_NOMEM;
	if (!c->insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->host)
			    : SSL_set1_host(c->ssl, c->host);
		if (!ok)
			return ERR_NOMEM;
	}
	return 0;
}

static int conn_handshake(struct client_conn *c)
{
	int rc = conn_tls_setup(c);
	if (rc < 0) {
		char r[160];
		conn_fail(c, "cannot set up TLS for %s: %s", c->where,
			  conn_ssl_reason(0, r, sizeof(r)));
		return rc;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int n = SSL_connect(c->ssl);
		if (n == 1)
			return 0;
		int sslerr = SSL_get_error(c->ssl, n);
		rc = conn_ssl_wait(c, sslerr, "during the TLS handshake");
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		long vr = SSL_get_verify_result(c->ssl);
		if (!c->insecure && vr != X509_V_OK) {
			ERR_clear_error();
			conn_fail(c, "certificate of %s does not verify: %s", c->host,
				  X509_verify_cert_error_string(vr));
			return ERR_PERM;
		}
		char r[160];
		conn_fail(c, "TLS handshake with %s failed: %s", c->where,
			  conn_ssl_reason(sslerr, r, sizeof(r)));
		return ERR_IO;
	}
}

int client_conn_open(const struct client_endpoint *ep, struct client_conn **c_out,
		     char *err_out, size_t err_cap)
{
	*c_out = NULL;
	if (err_cap)
		err_out[0] = '\0';
	/* A one-shot command: a server that closes while we write must give an error
	 * return, not kill the process (SSL_write has no MSG_NOSIGNAL). */
	(void)signal(SIGPIPE, SIG_IGN);
	struct client_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		(void)snprintf(err_out, err_cap, "out of memory");
		return ERR_NOMEM;
	}
	c->fd = -1;
	c->insecure = ep->insecure;
	c->timeout_ms = ep->timeout_ms ? ep->timeout_ms : LIMIT_CLIENT_TIMEOUT * 1000u;
	int rc = ERR_INVAL;
	if (strlen(ep->host) > LIMIT_CLIENT_HOST || strlen(ep->port) > LIMIT_CLIENT_NAME) {
		(void)snprintf(err_out, err_cap, "host name or port too long");
		goto fail;
	}
	(void)snprintf(c->host, sizeof(c->host), "%s", ep->host);
	int n = snprintf(c->where, sizeof(c->where), strchr(ep->host, ':') ? "[%s]:%s" : "%s:%s",
			 ep->host, ep->port);
	if (n < 0 || (size_t)n >= sizeof(c->where))
		goto fail;
	rc = conn_connect(c, ep);
	if (rc == 0 && ep->tls == CLIENT_TLS_IMPLICIT)
		rc = conn_handshake(c);
	if (rc == 0) {
		*c_out = c;
		return 0;
	}
	(void)snprintf(err_out, err_cap, "%s", c->err);
fail:
	client_conn_close(&c);
	return rc;
}

int client_conn_flush(struct client_conn *c)
{
	size_t off = 0;
	int rc = 0;
	while (off < c->wlen && rc == 0) {
		ssize_t n;
		if (c->ssl) {
			ERR_clear_error();
			int k = SSL_write(c->ssl, c->wbuf + off, (int)(c->wlen - off));
			if (k > 0) {
				off += (size_t)k;
				continue;
			}
			int sslerr = SSL_get_error(c->ssl, k);
			rc = conn_ssl_wait(c, sslerr, "sending");
			if (rc > 0) {
				char r[160];
				conn_fail(c, "cannot send to %s: %s", c->where,
					  conn_ssl_reason(sslerr, r, sizeof(r)));
				rc = ERR_IO;
			}
			continue;
		}
		n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			rc = conn_poll(c, POLLOUT, "sending");
		else if (n < 0 && errno != EINTR) {
			conn_fail(c, "cannot send to %s: %s", c->where, strerror(errno));
			rc = ERR_IO;
		}
	}
	c->bytes_out += off;
	/* what was sent may hold a password (LOGIN, AUTH PLAIN, PASS) */
	OPENSSL_cleanse(c->wbuf, c->wlen);
	c->wlen = 0;
	return rc;
}

int client_conn_write(struct client_conn *c, const void *p, size_t n)
{
	const uint8_t *s = p;
	while (n > 0) {
		if (c->wlen == sizeof(c->wbuf)) {
			int rc = client_conn_flush(c);
			if (rc < 0)
				return rc;
		}
		size_t k = sizeof(c->wbuf) - c->wlen;
		if (k > n)
			k = n;
		memcpy(c->wbuf + c->wlen, s, k);
		c->wlen += k;
		s += k;
		n -= k;
	}
	return 0;
}

int client_conn_printf(struct client_conn *c, const char *fmt, ...)
{
	for (int pass = 0; pass < 2; pass++) {
		size_t room = sizeof(c->wbuf) - c->wlen;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf((char *)c->wbuf + c->wlen, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return ERR_INVAL;
		if ((size_t)n < room) {
			c->wlen += (size_t)n;
			return 0;
		}
		/* it did not fit: make room once; a command longer than the buffer is a bug */
		OPENSSL_cleanse(c->wbuf + c->wlen, room);
		int rc = client_conn_flush(c);
		if (rc < 0)
			return rc;
	}
	conn_fail(c, "command for %s too long", c->where);
	return ERR_TOO_LONG;
}

/* Read what the socket has into the read buffer (after sending what is pending):
 * >0 bytes added, ERR_IO on EOF, error or timeout. */
static int conn_fill(struct client_conn *c)
{
	int rc = client_conn_flush(c);
	if (rc < 0)
		return rc;
	if (c->rpos == c->rlen)
		c->rpos = c->rlen = 0;
	if (c->rlen == sizeof(c->rbuf)) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	uint8_t *dst = c->rbuf + c->rlen;
	size_t room = sizeof(c->rbuf) - c->rlen;
	for (;;) {
		if (c->ssl) {
			ERR_clear_error();
			errno = 0;
			int k = SSL_read(c->ssl, dst, (int)room);
			if (k > 0) {
				c->rlen += (size_t)k;
				c->bytes_in += (uint64_t)k;
				return k;
			}
			int sslerr = SSL_get_error(c->ssl, k);
			rc = conn_ssl_wait(c, sslerr, "waiting for an answer");
			if (rc < 0)
				return rc;
			if (rc == 0)
				continue;
			char r[160];
			if (sslerr == SSL_ERROR_ZERO_RETURN ||
			    (sslerr == SSL_ERROR_SYSCALL && !ERR_peek_last_error() && !errno))
				conn_fail(c, "%s closed the connection", c->where);
			else
				conn_fail(c, "cannot read from %s: %s", c->where,
					  conn_ssl_reason(sslerr, r, sizeof(r)));
			ERR_clear_error();
			return ERR_IO;
		}
		ssize_t n = recv(c->fd, dst, room, 0);
		if (n > 0) {
			c->rlen += (size_t)n;
			c->bytes_in += (uint64_t)n;
			return (int)n;
		}
		if (n == 0) {
			conn_fail(c, "%s closed the connection", c->where);
			return ERR_IO;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			rc = conn_poll(c, POLLIN, "waiting for an answer");
			if (rc < 0)
				return rc;
		} else if (errno != EINTR) {
			conn_fail(c, "cannot read from %s: %s", c->where, strerror(errno));
			return ERR_IO;
		}
	}
}

int client_conn_read_line(struct client_conn *c, char *buf, size_t cap, size_t *len_out)
{
	size_t len = 0;
	bool too_long = false, cr = false;
	*len_out = 0;
	if (cap == 0)
		return ERR_INVAL;
	buf[0] = '\0';
	for (;;) {
		while (c->rpos < c->rlen) {
			uint8_t b = c->rbuf[c->rpos++];
			if (b == '\n') {
				buf[len] = '\0';
				*len_out = len;
				if (too_long) {
					conn_fail(c, "%s sent a line longer than %zu bytes", c->where,
						  cap - 1);
					return ERR_TOO_LONG;
				}
				return 0;
			}
			/* a CR is part of the line unless an LF follows it, so hold it back */
			char out[2];
			size_t k = 0;
			if (cr)
				out[k++] = '\r';
			cr = b == '\r';
			if (!cr)
				out[k++] = (char)b;
			if (too_long || len + k > cap - 1) {
				too_long = true;
				continue;
			}
			for (size_t i = 0; i < k; i++)
				buf[len++] = out[i];
		}
		int rc = conn_fill(c);
		if (rc < 0)
			return rc;
	}
}

int client_conn_read_some(struct client_conn *c, void *buf, size_t cap, size_t *n_out)
{
	*n_out = 0;
	if (c->rpos == c->rlen) {
		int rc = conn_fill(c);
		if (rc < 0)
			return rc;
	}
	size_t k = c->rlen - c->rpos;
	if (k > cap)
		k = cap;
	memcpy(buf, c->rbuf + c->rpos, k);
	c->rpos += k;
	*n_out = k;
	return 0;
}

int client_conn_read(struct client_conn *c, void *buf, size_t n)
{
	uint8_t *dst = buf;
	while (n > 0) {
		size_t k;
		int rc = client_conn_read_some(c, dst, n, &k);
		if (rc < 0)
			return rc;
		dst += k;
		n -= k;
	}
	return 0;
}

int client_conn_starttls(struct client_conn *c)
{
	if (c->ssl)
		return ERR_INVAL;
	/* RFC 2595 3.1 / RFC 3207 4.2: what came before the handshake is not protected;
	 * a server (or someone in the path) that sent more than the one answer is not
	 * trusted with the session. */
	if (c->rpos < c->rlen) {
		conn_fail(c, "%s sent data before TLS started (STARTTLS injection?)", c->where);
		return ERR_BAD_SYNTAX;
	}
	int rc = client_conn_flush(c);
	if (rc < 0)
		return rc;
	return conn_handshake(c);
}

int client_conn_wait(struct client_conn *c, int ms)
{
	if (c->rpos < c->rlen || (c->ssl && SSL_pending(c->ssl) > 0))
		return 1;
	int rc = client_conn_flush(c);
	if (rc < 0)
		return rc;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int n;
	do
		n = poll(&pfd, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		conn_fail(c, "%s: poll: %s", c->where, strerror(errno));
		return ERR_IO;
	}
	return n > 0;
}

bool client_conn_is_tls(const struct client_conn *c)
{
	return c->ssl != NULL;
}

uint64_t client_conn_bytes_in(const struct client_conn *c)
{
	return c->bytes_in;
}

uint64_t client_conn_bytes_out(const struct client_conn *c)
{
	return c->bytes_out + c->wlen;
}

const char *client_conn_error(const struct client_conn *c)
{
	return c->err;
}

void client_conn_close(struct client_conn **cp)
{
	struct client_conn *c = *cp;
	if (!c)
		return;
	if (c->ssl) {
		/* one close_notify, sent if the socket takes it at once; no waiting */
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	ERR_clear_error();
	if (c->fd >= 0)
		close(c->fd);
	OPENSSL_cleanse(c->wbuf, sizeof(c->wbuf));
	free(c);
	*cp = NULL;
}
