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

struct net_conn {
	struct bufferevent *bev;
	evutil_socket_t fd;
	struct net_loop *loop;
	const struct net_listen *l;
	struct event *kick; /* deferred work: resume input, finish close, switch to TLS */
	void *data;
	struct net_conn *prev, *next; /* in loop->conns */
	uint64_t id;
	int refs;
	bool tls, loopback;
	bool closing;       /* close once output is flushed */
	bool closed;        /* on_close has run; bev is gone */
	bool paused;        /* the protocol asked for no input */
	bool out_blocked;   /* input stopped until output drains */
	bool want_drain;
	bool starttls;      /* switch to TLS once output is flushed */
	char peer[64], peer_ip[48], user[128];
};

extern SSL_CTX *net_tls_ctx;
extern atomic_uint net_inflight;

/* Take ownership of an accepted socket on loop l. */
void net_conn_accept(struct net_loop *l, const struct net_listen *ls, evutil_socket_t fd,
		     const struct sockaddr *sa, int salen);
/* Close a connection that is still open when the loops have stopped. */
void net_conn_shutdown(struct net_conn *c);
void net_work_start(unsigned threads);
void net_work_stop(void);

#endif
