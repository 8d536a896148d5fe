/* mtasts_fetch.c: the MTA-STS policy fetch (RFC 8461 3.3): one blocking HTTPS GET of
 * https://mta-sts.<domain>/.well-known/mta-sts.txt. The host's addresses come from the
 * caller's resolver (the same DNS the delivery uses, [dns] resolver in tests); the
 * socket is non-blocking and every step waits in poll() for at most the per-step
 * timeout, and the whole fetch for at most LIMIT_TLSPOL_FETCH_TIME, so a slow server
 * costs one bounded wait. The request is HTTP/1.0: a server must then answer without
 * a transfer coding (RFC 9112 6.1), so no chunk parser is needed; a response that
 * still carries one is refused. Owns nothing past the call. Bounds: LIMIT_TLSPOL_POLICY
 * body bytes, LIMIT_TLSPOL_HTTP_HEAD head bytes. */
#include "outbound/tlspol_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
#include "outbound/dns.h"
#include "core/banned.h"

struct fetch {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	bool cut;       /* the peer closed without close_notify (a truncation can do it) */
	int step_ms;    /* per connect/read/write step */
	int64_t end_ms; /* the whole fetch */
	char *why;
	size_t why_cap;
	/* the head (and the body's first bytes that came with it) */
	uint8_t head[LIMIT_TLSPOL_HTTP_HEAD];
	size_t head_len;
};

static void fetch_why(struct fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fetch_why(struct fetch *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(f->why, f->why_cap, fmt, ap);
	va_end(ap);
	if (n < 0 && f->why_cap)
		f->why[0] = '\0';
}

static int64_t fetch_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on the socket: the step timeout, cut to what is left of the fetch. */
static int fetch_poll(struct fetch *f, short events, const char *doing)
{
	struct pollfd pfd = {.fd = f->fd, .events = events};
	for (;;) {
		int64_t left = f->end_ms - fetch_now_ms();
		int ms = left < f->step_ms ? (int)(left > 0 ? left : 0) : f->step_ms;
		int n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0) {
			fetch_why(f, "timed out %s", doing);
			return ERR_TEMP;
		}
		if (errno != EINTR) {
			fetch_why(f, "poll: %s", strerror(errno));
			return ERR_TEMP;
		}
	}
}

static int fetch_connect_addr(struct fetch *f, const struct dns_rr *rr, unsigned port)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	if (rr->u.addr.family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, rr->u.addr.addr, 16);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, rr->u.addr.addr, 4);
		sl = sizeof(*s4);
	}
	f->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		fetch_why(f, "socket: %s", strerror(errno));
		return ERR_TEMP;
	}
	if (connect(f->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		fetch_why(f, "connect: %s", strerror(errno));
		goto fail;
	}
	if (fetch_poll(f, POLLOUT, "connecting") < 0)
		goto fail;
	int soerr = 0;
	socklen_t el = sizeof(soerr);
	if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0)
		soerr = errno;
	if (soerr == 0)
		return 0;
	fetch_why(f, "connect: %s", strerror(soerr));
fail:
	close(f->fd);
	f->fd = -1;
	return ERR_TEMP;
}

/* The host's IPv4 then IPv6 addresses, each tried in turn until one connects. */
static int fetch_connect(struct fetch *f, struct dns_resolver *r, const char *host, unsigned port)
{
	static const enum dns_type types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
	bool any = false;
	for (size_t t = 0; t < 2; t++) {
		struct dns_answer *a = NULL;
		int rc = dns_query_wait(r, types[t], host, &a);
		if (rc < 0) {
			fetch_why(f, "lookup of %s failed", host);
			return rc == ERR_NOMEM ? ERR_NOMEM : ERR_TEMP;
		}
		for (size_t i = 0; a->status == DNS_STATUS_OK && i < a->n; i++) {
			any = true;
			if (fetch_connect_addr(f, &a->rr[i], port) == 0) {
				dns_answer_free(&a);
				return 0;
			}
		}
		dns_answer_free(&a);
	}
	if (!any)
		fetch_why(f, "%s has no address", host);
	return ERR_TEMP;
}

static const char *fetch_ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	(void)snprintf(buf, cap, "%s", r ? r : "connection closed");
	ERR_clear_error();
	return buf;
}

/* Run one SSL call to completion: 1 done, 0 the peer closed cleanly (reads), <0. */
static int fetch_ssl_wait(struct fetch *f, int n, const char *doing)
{
	int e = SSL_get_error(f->ssl, n);
	if (e == SSL_ERROR_WANT_READ)
		return fetch_poll(f, POLLIN, doing) < 0 ? ERR_TEMP : 1;
	if (e == SSL_ERROR_WANT_WRITE)
		return fetch_poll(f, POLLOUT, doing) < 0 ? ERR_TEMP : 1;
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	char r[160];
	fetch_why(f, "TLS error %s: %s", doing, fetch_ssl_reason(r, sizeof(r)));
	return ERR_TEMP;
}

static int fetch_tls(struct fetch *f, const struct tlspol_options *opts, const char *host)
{
	f->ctx = SSL_CTX_new(TLS_client_method());
	if (!f->ctx || !SSL_CTX_set_min_proto_version(f->ctx, TLS1_2_VERSION))
		return ERR_NOMEM;
	int ok = opts->ca_file ? SSL_CTX_load_verify_locations(f->ctx, opts->ca_file, NULL)
	                       : SSL_CTX_set_default_verify_paths(f->ctx);
	if (!ok) {
		char r[160];
		fetch_why(f, "cannot load CAs from %s: %s",
		          opts->ca_file ? opts->ca_file : "the system store",
		          fetch_ssl_reason(r, sizeof(r)));
		return ERR_TEMP;
	}
	SSL_CTX_set_verify(f->ctx, SSL_VERIFY_PEER, NULL);
	f->ssl = SSL_new(f->ctx);
	/* RFC 8461 3.3: the certificate must be valid for mta-sts.<domain> */
	if (!f->ssl || !SSL_set_fd(f->ssl, f->fd) || !SSL_set_tlsext_host_name(f->ssl, host) ||
	    !SSL_set1_host(f->ssl, host))
		return ERR_NOMEM;
	SSL_set_hostflags(f->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	for (;;) {
		ERR_clear_error();
		int n = SSL_connect(f->ssl);
		if (n == 1)
			return 0;
		long vr = SSL_get_verify_result(f->ssl);
		if (vr != X509_V_OK) {
			fetch_why(f, "certificate of %s does not verify: %s", host,
			          X509_verify_cert_error_string(vr));
			ERR_clear_error();
			return ERR_PERM;
		}
		int rc = fetch_ssl_wait(f, n, "in the handshake");
		if (rc <= 0)
			return rc < 0 ? rc : ERR_TEMP;
	}
}

static int fetch_write(struct fetch *f, const char *p, size_t len)
{
	while (len > 0) {
		ERR_clear_error();
		int n = SSL_write(f->ssl, p, (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		int rc = fetch_ssl_wait(f, n, "sending the request");
		if (rc <= 0)
			return ERR_TEMP;
	}
	return 0;
}

/* Read up to cap bytes: >0 read, 0 end of stream, <0 error. A peer that closes
 * without close_notify ends the stream too, with f->cut set: with a Content-Length the
 * length check catches a cut body, without one the caller refuses it. */
static ssize_t fetch_read(struct fetch *f, uint8_t *p, size_t cap)
{
	for (;;) {
		ERR_clear_error();
		int n = SSL_read(f->ssl, p, (int)cap);
		if (n > 0)
			return n;
		int e = SSL_get_error(f->ssl, n);
		if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_SSL) {
			unsigned long le = ERR_peek_last_error();
			if (e == SSL_ERROR_SYSCALL ||
			    ERR_GET_REASON(le) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
				ERR_clear_error();
				f->cut = true;
				return 0;
			}
		}
		int rc = fetch_ssl_wait(f, n, "reading the response");
		if (rc <= 0)
			return rc;
	}
}

/* The head, then the body into body[0..LIMIT_TLSPOL_POLICY). */
static int fetch_response(struct fetch *f, uint8_t *body, size_t *len_out)
{
	struct mtasts_http_head h;
	int hl = 0;
	while (hl == 0) {
		if (f->head_len == sizeof(f->head)) {
			fetch_why(f, "response head longer than %u bytes", LIMIT_TLSPOL_HTTP_HEAD);
			return ERR_TOO_BIG;
		}
		ssize_t n = fetch_read(f, f->head + f->head_len, sizeof(f->head) - f->head_len);
		if (n < 0)
			return ERR_TEMP;
		if (n == 0) {
			fetch_why(f, "connection closed before the response head ended");
			return ERR_TEMP;
		}
		f->head_len += (size_t)n;
		hl = mtasts_http_head(f->head, f->head_len, &h);
	}
	if (hl == ERR_TOO_BIG) {
		fetch_why(f, "policy body over %u bytes (Content-Length)", LIMIT_TLSPOL_POLICY);
		return ERR_TOO_BIG;
	}
	if (hl < 0) {
		fetch_why(f, "bad HTTP response head");
		return ERR_BAD_SYNTAX;
	}
	/* RFC 8461 3.3: no redirects; only 200 carries a policy */
	if (h.status != 200) {
		fetch_why(f, "HTTP status %u", h.status);
		return ERR_TEMP;
	}
	if (!h.text_plain) {
		fetch_why(f, "media type is not text/plain");
		return ERR_BAD_SYNTAX;
	}
	if (h.transfer_coding) {
		fetch_why(f, "a transfer coding in answer to HTTP/1.0");
		return ERR_BAD_SYNTAX;
	}
	size_t len = f->head_len - (size_t)hl;
	if (len > LIMIT_TLSPOL_POLICY ||
	    (h.content_length >= 0 && len > (size_t)h.content_length)) {
		fetch_why(f, "more body than announced or allowed");
		return ERR_TOO_BIG;
	}
	memcpy(body, f->head + hl, len);
	size_t want = h.content_length >= 0 ? (size_t)h.content_length : LIMIT_TLSPOL_POLICY;
	while (len < want) {
		ssize_t n = fetch_read(f, body + len, want - len);
		if (n < 0)
			return ERR_TEMP;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (h.content_length >= 0 && len < want) {
		fetch_why(f, "body cut at %zu of %zu bytes", len, want);
		return ERR_TEMP;
	}
	if (h.content_length < 0 && len == want) {
		/* without a length the close ends the body: one byte more is too much */
		uint8_t extra;
		ssize_t n = fetch_read(f, &extra, 1);
		if (n != 0) {
			fetch_why(f, "policy body over %u bytes", LIMIT_TLSPOL_POLICY);
			return n < 0 ? ERR_TEMP : ERR_TOO_BIG;
		}
	}
	if (h.content_length < 0 && f->cut) {
		/* the close is this body's only end: one an attacker can fake is no end (a
		 * cut "max_age: 604800" reads as a shorter max_age) */
		fetch_why(f, "closed without TLS close_notify and without Content-Length");
		return ERR_TEMP;
	}
	*len_out = len;
	return 0;
}

int mtasts_fetch_policy(struct dns_resolver *r, const struct tlspol_options *opts,
                        const char *domain, uint8_t *body, size_t *len_out, char *why,
                        size_t why_cap)
{
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f)
		return ERR_NOMEM;
	f->fd = -1;
	f->why = why;
	f->why_cap = why_cap;
	unsigned step = opts->timeout ? opts->timeout : LIMIT_TLSPOL_IO_TIME;
	f->step_ms = (int)(step > LIMIT_TLSPOL_FETCH_TIME ? LIMIT_TLSPOL_FETCH_TIME : step) * 1000;
	f->end_ms = fetch_now_ms() + LIMIT_TLSPOL_FETCH_TIME * 1000;
	char host[LIMIT_DNS_NAME + 1];
	char req[LIMIT_DNS_NAME + 256];
	int rc = ERR_INVAL;
	int n = snprintf(host, sizeof(host), "mta-sts.%s", domain);
	if (n < 0 || (size_t)n >= sizeof(host)) {
		fetch_why(f, "mta-sts.%s is too long a name", domain);
		goto out;
	}
	/* Host carries the port when it is not the default (RFC 9110 7.2) */
	unsigned port = opts->https_port ? opts->https_port : 443;
	char port_s[8] = "";
	if (port != 443 && snprintf(port_s, sizeof(port_s), ":%u", port) < 0)
		goto out;
	n = snprintf(req, sizeof(req),
	             "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: %s%s\r\n"
	             "User-Agent: kasten/" KASTEN_VERSION "\r\nAccept: text/plain\r\n"
	             "Connection: close\r\n\r\n",
	             host, port_s);
	if (n < 0 || (size_t)n >= sizeof(req))
		goto out;
	rc = fetch_connect(f, r, host, port);
	if (rc == 0)
		rc = fetch_tls(f, opts, host);
	if (rc == 0)
		rc = fetch_write(f, req, (size_t)n);
	if (rc == 0)
		rc = fetch_response(f, body, len_out);
out:
	if (f->ssl) {
		(void)SSL_shutdown(f->ssl); /* one try, no wait: the answer is in already */
		SSL_free(f->ssl);
	}
	SSL_CTX_free(f->ctx);
	ERR_clear_error();
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	return rc;
}
