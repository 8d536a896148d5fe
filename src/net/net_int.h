/* net_int.h: shared inside src/net only. */
#ifndef KASTEN_NET_INT_H
#define KASTEN_NET_INT_H

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>
#include <stdatomic.h>

#include "net.h"

struct net_loop {
	struct event_base *base;
	struct net_conn *conns; /* every live connection of this loop, for shutdown */
	pthread_t thread;
	struct evconnlistener **listeners;
	size_t n_listeners;
	unsigned index;
};

struct net_client;

struct net_conn {
	struct bufferevent *bev;
	evutil_socket_t fd;
	struct net_loop *loop;
	const struct net_listen *l;
	struct net_client *client; /* per-client counts (net_client.c) */
	struct event *kick; /* deferred work: resume input, finish close, switch to TLS */
	struct event *timer; /* the one deadline: idle, login or close (net_conn.c) */
	time_t idle_at;      /* CLOCK_MONOTONIC seconds: idle timeout */
	time_t login_at;     /* login timeout, 0 once logged in or not a login listener */
	size_t bulk;         /* body octets since the last progress (net_conn_progress_bytes) */
	void *data;
	struct net_conn *prev, *next; /* in loop->conns */
	uint64_t id;
	int refs;
	int metric_proto;   /* enum metric_proto, -1: not counted */
	bool tls, loopback;
	bool opened;        /* on_open ran: on_close is owed */
	bool closing;       /* close once output is flushed */
	bool closed;        /* on_close has run; bev is gone */
	bool paused;        /* the protocol asked for no input */
	bool out_blocked;   /* input stopped until output drains */
	bool want_drain;
	bool starttls;      /* switch to TLS once output is flushed */
	bool compress;      /* switch to COMPRESS=DEFLATE once output is flushed */
	bool compressed;    /* bev is a DEFLATE filter over the socket's (TLS) one */
	char *user;         /* the account logged in (malloc), NULL before */
	char peer[64], peer_ip[48], client_key[48];
};

extern SSL_CTX *net_tls_ctx;
extern struct net_limits net_limits;
extern atomic_uint net_inflight;

/* Take ownership of an accepted socket on loop l. */
void net_conn_accept(struct net_loop *l, const struct net_listen *ls, evutil_socket_t fd,
		     const struct sockaddr *sa, int salen);
/* net_compress.c: a DEFLATE filter over under; unwrap flushes and frees the filter
 * and gives under back (with its pending compressed output). */
struct bufferevent *net_compress_wrap(struct bufferevent *under);
struct bufferevent *net_compress_unwrap(struct bufferevent *f);

/* Close a connection that is still open when the loops have stopped. */
void net_conn_shutdown(struct net_conn *c);
void net_work_start(unsigned threads);

/* ---- net_client.c: connections per client ---- */
/* The client a peer address belongs to: the IPv4 address, or the /64 of an IPv6 one
 * ("2001:db8:1:2::/64"); a v4-mapped IPv6 address counts as its IPv4 address. */
void net_client_key(const struct sockaddr *sa, char *out, size_t cap);
/* Count a new connection of the client (login: to a login listener, so it counts as
 * unauthenticated too). NULL when the client is at a limit of net_limits (or out of
 * memory): turn the connection away. */
struct net_client *net_client_enter(const char *key, bool login);
/* The connection logged in: it no longer counts as unauthenticated. */
void net_client_login(struct net_client *cl);
/* The connection is gone (unauth: it never logged in). */
void net_client_leave(struct net_client *cl, bool unauth);
void net_work_stop(void);

#endif
