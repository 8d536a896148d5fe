/* net_conn.c: the connection object. Owns the bufferevent (plain or TLS), feeds input
 * to the protocol in bounded windows, applies backpressure when output piles up, and
 * runs the close and STARTTLS transitions from the loop so no callback ever frees the
 * object under the protocol's feet.
 *
 * One timer per connection holds its deadline: the idle timeout (moved on by protocol
 * progress, never by single bytes), the login timeout, and once closing, LIMIT_TIMEOUT_CLOSE
 * for the last output to leave. Whatever state a connection is in (TLS handshake
 * pending, STARTTLS under way, output stuck), the timer ends it. */
#include "net_int.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/banned.h"

static atomic_ullong next_id = 1;
atomic_uint net_inflight;
struct net_limits net_limits;

static void conn_setup_bev(struct net_conn *c);
static int listen_metric_proto(const struct net_listen *ls);

static time_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Fire the timer in secs seconds (at least one: a deadline is never in the past). */
static void timer_in(struct net_conn *c, time_t secs)
{
	struct timeval tv = {secs > 0 ? secs : 1, 0};
	event_add(c->timer, &tv);
}

/* The earlier of the idle and login deadlines, from now. */
static void timer_arm(struct net_conn *c)
{
	time_t at = c->idle_at;
	if (c->login_at && c->login_at < at)
		at = c->login_at;
	timer_in(c, at - mono_now());
}

/* The TLS session, under a DEFLATE filter if there is one. */
static SSL *conn_ssl(const struct net_conn *c)
{
	struct bufferevent *b = c->compressed ? bufferevent_get_underlying(c->bev) : c->bev;
	return c->tls && b ? bufferevent_openssl_get_ssl(b) : NULL;
}

static void set_log_ctx(const struct net_conn *c)
{
	log_ctx(c->l->proto->name, c->id, c->peer, c->user);
}

static void conn_free_if_unused(struct net_conn *c)
{
	if (c->refs > 0 || !c->closed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->loop->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	event_free(c->kick);
	event_free(c->timer);
	free(c->user);
	free(c);
}

/* The peer is gone or we are done: tell the protocol once, free the socket. */
static void conn_finish(struct net_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	event_del(c->timer);
	if (c->opened && c->metric_proto >= 0)
		metrics_count(METRIC_CONNECTIONS_CLOSED, (unsigned)c->metric_proto, 1);
	if (c->client)
		net_client_leave(c->client, c->login_at != 0);
	c->client = NULL;
	set_log_ctx(c);
	if (c->opened && c->l->proto->on_close)
		c->l->proto->on_close(c);
	if (c->tls && c->closing) {
		/* a graceful close: tell the peer the TLS stream ended here (close_notify);
		 * the socket is non-blocking and the alert tiny, so this does not wait */
		SSL *ssl = conn_ssl(c);
		if (ssl && SSL_is_init_finished(ssl))
			(void)SSL_shutdown(ssl); /* best effort: the reply itself is already out */
	}
	if (c->compressed)
		c->bev = net_compress_unwrap(c->bev);
	bufferevent_free(c->bev); /* a TLS bufferevent closes the socket itself */
	if (!c->tls)
		evutil_closesocket(c->fd);
	c->bev = NULL;
	log_ctx(NULL, 0, NULL, NULL);
	conn_free_if_unused(c);
}

static void kick(struct net_conn *c)
{
	event_active(c->kick, EV_TIMEOUT, 0);
}

/* Offer buffered input to the protocol until it wants more, pauses, or closes. */
static void process_input(struct net_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	set_log_ctx(c);
	while (!c->closing && !c->closed && !c->paused && !c->starttls && !c->compress) {
		if (evbuffer_get_length(out) > LIMIT_OUTPUT_PENDING) {
			/* the peer is not reading: stop reading from it too */
			c->out_blocked = true;
			bufferevent_disable(c->bev, EV_READ);
			break;
		}
		size_t n = evbuffer_get_length(in);
		if (n == 0)
			break;
		if (n > NET_INPUT_WINDOW)
			n = NET_INPUT_WINDOW;
		const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)n);
		int r = c->l->proto->on_input(c, p, n);
		if (r > 0 && c->metric_proto >= 0)
			metrics_count(METRIC_BYTES_RECEIVED, (unsigned)c->metric_proto, (uint64_t)r);
		if (r < 0) {
			conn_finish(c);
			return;
		}
		if (r == 0) {
			if (n == NET_INPUT_WINDOW) {
				/* a parser must reject a token this long itself */
				log_warn("input window full without progress, closing");
				conn_finish(c);
				return;
			}
			break;
		}
		if (!c->closed)
			evbuffer_drain(in, (size_t)r);
	}
	if (!c->closed)
		log_ctx(NULL, 0, NULL, NULL);
}

/* STARTTLS: the plain reply is out (the output is empty, so it is in the kernel); wrap
 * the same socket in a TLS bufferevent. Whatever the client sent after STARTTLS was sent
 * in the clear and is dropped with the plain bufferevent, never executed inside the TLS
 * session (RFC 3207 4.2, RFC 2595 4; CVE-2011-0411). */
static void switch_to_tls(struct net_conn *c)
{
	SSL *ssl = SSL_new(net_tls_ctx);
	struct bufferevent *tls = ssl ? bufferevent_openssl_socket_new(
		c->loop->base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE) : NULL;
	c->starttls = false;
	if (!tls) {
		if (ssl)
			SSL_free(ssl);
		log_err("starttls: cannot create TLS bufferevent");
		conn_finish(c);
		return;
	}
	bufferevent_free(c->bev); /* plain: leaves the socket open */
	c->bev = tls;
	c->tls = true;
	conn_setup_bev(c);
}

/* COMPRESS: the OK is out; every byte from now on, both ways, is DEFLATE. Bytes the
 * client sent after its COMPRESS command were sent compressed (RFC 4978 3: it waits for
 * the OK), so they stay buffered and go through the filter. */
static void switch_to_compress(struct net_conn *c)
{
	c->compress = false;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	struct bufferevent *f = net_compress_wrap(c->bev);
	if (!f) {
		log_err("compress: cannot create the DEFLATE filter");
		conn_finish(c);
		return;
	}
	c->bev = f;
	c->compressed = true;
	conn_setup_bev(c);
	kick(c); /* input that arrived meanwhile */
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	if (c->closed) {
		conn_free_if_unused(c);
		return;
	}
	size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (c->closing) {
		if (pending == 0)
			conn_finish(c);
		return;
	}
	if (c->starttls) {
		if (pending == 0)
			switch_to_tls(c);
		return;
	}
	if (c->compress) {
		if (pending == 0)
			switch_to_compress(c);
		return;
	}
	process_input(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	process_input(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
	if ((c->closing || c->starttls || c->compress) && pending == 0) {
		kick(c);
		return;
	}
	if (c->want_drain && pending < NET_OUTPUT_LOW) {
		c->want_drain = false;
		net_conn_progress(c); /* the client takes what we stream, a window at a time */
		set_log_ctx(c);
		if (c->l->proto->on_drain)
			c->l->proto->on_drain(c);
		log_ctx(NULL, 0, NULL, NULL);
		if (c->closed)
			return;
	}
	if (c->out_blocked && evbuffer_get_length(bufferevent_get_output(c->bev)) < NET_OUTPUT_LOW) {
		c->out_blocked = false;
		bufferevent_enable(c->bev, EV_READ);
		kick(c);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct net_conn *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (what & BEV_EVENT_ERROR) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			set_log_ctx(c);
			if (e) {
				char msg[256];
				ERR_error_string_n(e, msg, sizeof(msg));
				log_info("tls error: %s", msg);
			}
		}
		conn_finish(c);
	}
}

/* A TLS connection whose handshake has not completed (or is about to start) cannot
 * carry a reply. */
static bool can_reply(const struct net_conn *c)
{
	if (c->starttls)
		return false;
	if (!c->tls)
		return true;
	SSL *ssl = conn_ssl(c);
	return ssl && SSL_is_init_finished(ssl);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	if (c->closed)
		return;
	set_log_ctx(c);
	if (c->closing) {
		log_info("close: output not taken within %u s, dropped", LIMIT_TIMEOUT_CLOSE);
		conn_finish(c);
		return;
	}
	time_t now = mono_now();
	const char *expired = c->login_at && now >= c->login_at ? "login" :
			      now >= c->idle_at ? "idle" : NULL;
	if (!expired || c->refs > 0) {
		/* progress moved the deadline on meanwhile; or we are the slow party (a
		 * delivery, a password check holds the connection): the deadlines apply
		 * again once that is done */
		if (expired)
			timer_in(c, 1);
		else
			timer_arm(c);
		log_ctx(NULL, 0, NULL, NULL);
		return;
	}
	log_info("%s timeout", expired);
	const char *reply = c->l->proto->timeout_reply;
	/* output still queued: the client stopped reading mid-response, and a reply
	 * appended to it would only garble that response */
	if (reply && can_reply(c) && net_conn_output_pending(c) == 0) {
		net_conn_write(c, reply, strlen(reply));
		net_conn_close(c);
		log_ctx(NULL, 0, NULL, NULL);
		return;
	}
	conn_finish(c);
}

static void conn_setup_bev(struct net_conn *c)
{
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* bounded input: libevent stops reading at the high-water mark */
	bufferevent_setwatermark(c->bev, EV_READ, 0, NET_INPUT_WINDOW * 2);
	bufferevent_setwatermark(c->bev, EV_WRITE, NET_OUTPUT_LOW, 0);
	bufferevent_enable(c->bev, c->paused ? EV_WRITE : EV_READ | EV_WRITE);
}

static bool sa_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

static void sa_format(const struct sockaddr *sa, char *ip, size_t ipcap, char *full, size_t cap)
{
	unsigned port = 0;
	ip[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)ipcap);
		port = ntohs(s4->sin_port);
		(void)snprintf(full, cap, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)ipcap);
		port = ntohs(s6->sin6_port);
		(void)snprintf(full, cap, "[%s]:%u", ip, port);
	} else {
		(void)snprintf(full, cap, "unknown");
	}
}

/* Turn a connection away: a client over its limits. The busy reply goes out in the
 * clear where the protocol starts in the clear; implicit TLS is just closed. */
static void refuse_busy(struct net_conn *c)
{
	const char *reply = c->l->proto->busy_reply;
	log_info("refused: too many connections from client=%s", c->client_key);
	if (reply && !c->tls && net_conn_write(c, reply, strlen(reply)) == 0) {
		net_conn_close(c);
		return;
	}
	conn_finish(c);
}

void net_conn_accept(struct net_loop *l, const struct net_listen *ls, evutil_socket_t fd,
		     const struct sockaddr *sa, int salen)
{
	struct net_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->loop = l;
	c->l = ls;
	c->metric_proto = listen_metric_proto(ls);
	c->fd = fd;
	c->id = atomic_fetch_add(&next_id, 1);
	c->loopback = sa_loopback(sa);
	sa_format(sa, c->peer_ip, sizeof(c->peer_ip), c->peer, sizeof(c->peer));
	net_client_key(sa, c->client_key, sizeof(c->client_key));
	c->kick = event_new(l->base, -1, 0, on_kick, c);
	c->timer = event_new(l->base, -1, 0, on_timer, c);
	evutil_make_socket_nonblocking(fd);
	/* Replies leave in whole evbuffer flushes, never byte by byte, so Nagle only adds
	 * latency: the tail of a pipelined burst sat waiting for the peer's delayed ACK
	 * (~40 ms per POP3 RETR batch before this). */
	int one = 1;
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
	if (ls->tls == NET_TLS_IMPLICIT) {
		SSL *ssl = SSL_new(net_tls_ctx);
		c->bev = ssl ? bufferevent_openssl_socket_new(l->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							      BEV_OPT_CLOSE_ON_FREE) : NULL;
		if (!c->bev && ssl)
			SSL_free(ssl);
		c->tls = true;
	} else {
		/* not CLOSE_ON_FREE: STARTTLS hands the socket to a TLS bufferevent */
		c->bev = bufferevent_socket_new(l->base, fd, 0);
	}
	if (!c->bev || !c->kick || !c->timer) {
		log_err("accept: out of memory");
		if (c->kick)
			event_free(c->kick);
		if (c->timer)
			event_free(c->timer);
		if (c->bev)
			bufferevent_free(c->bev);
		if (!c->bev || !c->tls)
			evutil_closesocket(fd);
		free(c);
		return;
	}
	conn_setup_bev(c);
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	set_log_ctx(c);
	time_t now = mono_now();
	c->idle_at = now + (ls->idle_timeout ? ls->idle_timeout : LIMIT_TIMEOUT_LOGIN);
	c->client = net_client_enter(c->client_key, ls->login);
	if (!c->client) {
		refuse_busy(c);
		log_ctx(NULL, 0, NULL, NULL);
		return;
	}
	if (ls->login)
		c->login_at = now + (net_limits.login_timeout ? net_limits.login_timeout
							      : LIMIT_TIMEOUT_LOGIN);
	timer_arm(c);
	log_info("connect proto=%s tls=%s loop=%u", ls->proto->name, c->tls ? "yes" : "no",
		 c->loop->index);
	c->opened = true;
	if (c->metric_proto >= 0)
		metrics_count(METRIC_CONNECTIONS, (unsigned)c->metric_proto, 1);
	int r = ls->proto->on_open ? ls->proto->on_open(c) : 0;
	if (r < 0 && !c->closed)
		conn_finish(c);
	log_ctx(NULL, 0, NULL, NULL);
}

void net_conn_shutdown(struct net_conn *c)
{
	c->refs = 0; /* the loops are gone: nothing that held it will run again */
	if (c->closed)
		conn_free_if_unused(c);
	else
		conn_finish(c);
}

/* ---- the API protocols see ---- */

void net_conn_set_data(struct net_conn *c, void *data) { c->data = data; }
void *net_conn_data(const struct net_conn *c) { return c->data; }
const void *net_conn_proto_arg(const struct net_conn *c) { return c->l->proto_arg; }
int net_conn_metric_proto(const struct net_conn *c) { return c->metric_proto; }

/* The listener's metrics label: its proto's metric_name for its proto_arg, else the
 * proto's name. */
static int listen_metric_proto(const struct net_listen *ls)
{
	const char *name = ls->proto->metric_name ? ls->proto->metric_name(ls->proto_arg) : NULL;
	return metrics_proto_by_name(name ? name : ls->proto->name);
}

uint64_t net_conn_id(const struct net_conn *c) { return c->id; }
const char *net_conn_peer(const struct net_conn *c) { return c->peer; }
const char *net_conn_peer_ip(const struct net_conn *c) { return c->peer_ip; }
bool net_conn_is_tls(const struct net_conn *c) { return c->tls; }
bool net_conn_is_loopback(const struct net_conn *c) { return c->loopback; }
struct event_base *net_conn_base(const struct net_conn *c) { return c->loop->base; }
bool net_conn_closed(const struct net_conn *c) { return c->closed; }

bool net_conn_reading(const struct net_conn *c)
{
	return !c->closed && !c->closing && !c->paused && !c->starttls && !c->compress;
}

int net_conn_compress(struct net_conn *c)
{
	if (c->closed || c->compressed || c->compress)
		return ERR_PERM;
	c->compress = true;
	kick(c); /* if the OK is already out, switch at once */
	return 0;
}

bool net_conn_is_compressed(const struct net_conn *c)
{
	return c->compressed;
}

void net_conn_log_ctx(const struct net_conn *c)
{
	set_log_ctx(c);
}

void net_conn_set_user(struct net_conn *c, const char *user)
{
	free(c->user);
	c->user = user ? strdup(user) : NULL; /* only for logs: NULL just logs less */
	log_ctx_user(user);
	if (c->login_at && c->client && user) {
		net_client_login(c->client);
		c->login_at = 0;
	}
}

void net_conn_progress(struct net_conn *c)
{
	/* only the deadline moves; the timer, when it fires early, re-arms itself */
	c->idle_at = mono_now() + (c->l->idle_timeout ? c->l->idle_timeout : LIMIT_TIMEOUT_LOGIN);
	c->bulk = 0;
}

void net_conn_progress_bytes(struct net_conn *c, size_t n)
{
	c->bulk += n;
	if (c->bulk >= LIMIT_BODY_PROGRESS)
		net_conn_progress(c);
}

int net_conn_write(struct net_conn *c, const void *p, size_t n)
{
	if (c->closed || c->closing)
		return ERR_IO;
	if (bufferevent_write(c->bev, p, n) < 0)
		return ERR_NOMEM;
	if (c->metric_proto >= 0)
		metrics_count(METRIC_BYTES_SENT, (unsigned)c->metric_proto, n);
	return 0;
}

int net_conn_vline(struct net_conn *c, const char *fmt, va_list ap)
{
	if (c->closed || c->closing)
		return ERR_IO;
	/* never cut: an IMAP response line can be as long as the data it carries */
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int n = evbuffer_add_vprintf(out, fmt, ap);
	if (n < 0 || evbuffer_add(out, "\r\n", 2) < 0)
		return ERR_NOMEM;
	if (c->metric_proto >= 0)
		metrics_count(METRIC_BYTES_SENT, (unsigned)c->metric_proto, (uint64_t)n + 2);
	return 0;
}

int net_conn_line(struct net_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = net_conn_vline(c, fmt, ap);
	va_end(ap);
	return r;
}

size_t net_conn_output_pending(const struct net_conn *c)
{
	return c->closed ? 0 : evbuffer_get_length(bufferevent_get_output(c->bev));
}

void net_conn_want_drain(struct net_conn *c)
{
	if (c->closed)
		return;
	c->want_drain = true;
	/* already below the mark: no write will happen to trigger on_write, so kick one */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) < NET_OUTPUT_LOW)
		bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

int net_conn_starttls(struct net_conn *c)
{
	if (c->closed || c->tls || !net_tls_ctx)
		return ERR_PERM;
	c->starttls = true;
	kick(c); /* if the reply is already out, switch at once */
	return 0;
}

void net_conn_close(struct net_conn *c)
{
	if (c->closed || c->closing)
		return;
	c->closing = true;
	if (c->compressed) {
		/* no more input: the last replies leave through the socket's bufferevent,
		 * whose drain on_write sees (the filter's own output is empty at once) */
		c->bev = net_compress_unwrap(c->bev);
		c->compressed = false;
		conn_setup_bev(c);
	}
	bufferevent_disable(c->bev, EV_READ);
	timer_in(c, LIMIT_TIMEOUT_CLOSE); /* a peer that never reads must not keep us */
	kick(c);
}

void net_conn_pause(struct net_conn *c)
{
	c->paused = true;
}

void net_conn_resume(struct net_conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	if (!c->closed)
		kick(c);
}

void net_conn_hold(struct net_conn *c)
{
	c->refs++;
	atomic_fetch_add(&net_inflight, 1);
}

void net_conn_release(struct net_conn *c)
{
	c->refs--;
	atomic_fetch_sub(&net_inflight, 1);
	if (c->refs == 0 && c->closed)
		kick(c); /* free from the loop, never inside the caller's frame */
}
