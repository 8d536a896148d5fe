/* net_loop.c: the event-loop threads. The main thread binds every listener once per
 * loop thread (SO_REUSEPORT: the kernel spreads connections, no accept lock), so bind
 * errors surface before the server claims to be up; each thread then runs its own
 * event_base until net_stop(). */
#include "net_int.h"

#include <errno.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

SSL_CTX *net_tls_ctx;

struct accept_arg {
	struct net_loop *loop;
	const struct net_listen *ls;
	struct evconnlistener *lev;
	struct event *resume; /* re-enables the listener after a pause for descriptors */
};

/* Out of descriptors: stop accepting this long, then try again. The pending
 * connections wait in the kernel's backlog meanwhile instead of spinning the loop. */
#define ACCEPT_PAUSE_MS 100

static struct net_loop *loops;
static unsigned n_loops;
static struct accept_arg *accept_args;

/* "127.0.0.1:25", "[::1]:25", "*:25" (all IPv4), "localhost:25". */
static int resolve(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1])
		return ERR_BAD_SYNTAX;
	size_t hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return ERR_BAD_SYNTAX;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai;
	if (getaddrinfo(strcmp(host, "*") ? host : NULL, colon + 1, &hints, &ai) != 0)
		return ERR_BAD_SYNTAX;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* Is the address free of listeners of any other process? A bind without SO_REUSEPORT
 * fails when anyone listens there, whereas with it the kernel would let us join (and
 * share the connections of) a group of the same user's: a stale or second server.
 * Run before our own sockets exist; the probe is closed again at once. */
static int probe_free(const char *spec, const struct sockaddr_storage *ss, socklen_t len)
{
	evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("listen %s: socket: %s", spec, strerror(errno));
		return ERR_IO;
	}
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* TIME_WAIT only */
	int r = bind(fd, (const struct sockaddr *)ss, len);
	int saved = errno;
	close(fd);
	if (r == 0)
		return 0;
	if (saved == EADDRINUSE)
		log_err("listen %s: address already in use by another process", spec);
	else
		log_err("listen %s: %s", spec, strerror(saved));
	return ERR_IO;
}

static evutil_socket_t bind_one(const char *spec, bool first)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (resolve(spec, &ss, &len) < 0) {
		log_err("listen %s: cannot parse address (want ADDR:PORT)", spec);
		return -1;
	}
	if (first && probe_free(spec, &ss, len) < 0)
		return -1;
	evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("listen %s: socket: %s", spec, strerror(errno));
		return -1;
	}
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		log_err("listen %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct accept_arg *a = arg;
	net_conn_accept(a->loop, a->ls, fd, sa, salen);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct accept_arg *a = arg;
	evconnlistener_enable(a->lev);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct accept_arg *a = arg;
	int e = errno;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		log_warn("accept: %s", strerror(e)); /* e.g. ECONNABORTED: that one is gone */
		return;
	}
	/* The listener stays readable while descriptors are short: accepting again at
	 * once would spin. Pause (logged once per pause, not per attempt). */
	log_warn("accept: %s: pausing %d ms", strerror(e), ACCEPT_PAUSE_MS);
	evconnlistener_disable(lev);
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
	event_add(a->resume, &tv);
}

/* Take every descriptor the hard limit allows: each connection needs one or two
 * (a message being streamed from its file). */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open-file limit: %s", strerror(errno));
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("open-file limit %llu", (unsigned long long)rl.rlim_cur);
}

static void *loop_main(void *arg)
{
	struct net_loop *l = arg;
	char name[16];
	(void)snprintf(name, sizeof(name), "kasten-loop%u", l->index);
	pthread_setname_np(pthread_self(), name);
	event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int net_start(const struct net_listen *ls, size_t n, unsigned threads,
	      const struct net_limits *limits, SSL_CTX *tls)
{
	net_limits = *limits;
	raise_nofile();
	if (evthread_use_pthreads() < 0)
		die("libevent: no thread support");
	signal(SIGPIPE, SIG_IGN);
	/* only net_wait_signal() takes SIGTERM/SIGINT: every thread inherits this mask */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	net_tls_ctx = tls;
	if (threads == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c > 0 ? (unsigned)c : 1;
	}
	n_loops = threads;
	loops = calloc(threads, sizeof(*loops));
	struct accept_arg *args = calloc((size_t)threads * n, sizeof(*args));
	accept_args = args;
	if (!loops || !args)
		die("out of memory");
	for (unsigned t = 0; t < threads; t++) {
		struct net_loop *l = &loops[t];
		l->index = t;
		l->base = event_base_new();
		l->listeners = calloc(n, sizeof(*l->listeners));
		if (!l->base || !l->listeners)
			die("out of memory");
		for (size_t i = 0; i < n; i++) {
			evutil_socket_t fd = bind_one(ls[i].addr, t == 0);
			if (fd < 0)
				return ERR_IO;
			struct accept_arg *a = &args[t * n + i];
			a->loop = l;
			a->ls = &ls[i];
			l->listeners[i] = evconnlistener_new(l->base, on_accept, a,
							     LEV_OPT_CLOSE_ON_FREE, -1, fd);
			a->lev = l->listeners[i];
			a->resume = event_new(l->base, -1, 0, on_accept_resume, a);
			if (!l->listeners[i] || !a->resume)
				die("listener: out of memory");
			evconnlistener_set_error_cb(l->listeners[i], on_accept_error);
			l->n_listeners++;
		}
	}
	for (size_t i = 0; i < n; i++)
		log_info("listening proto=%s addr=%s tls=%s", ls[i].proto->name, ls[i].addr,
			 ls[i].tls == NET_TLS_IMPLICIT ? "implicit" : "starttls");
	return 0;
}

int net_run(void)
{
	net_work_start(n_loops);
	for (unsigned t = 0; t < n_loops; t++)
		if (pthread_create(&loops[t].thread, NULL, loop_main, &loops[t]) != 0)
			die("cannot start loop thread");
	return 0;
}

static void stop_listeners(void *arg)
{
	struct net_loop *l = arg;
	for (size_t i = 0; i < l->n_listeners; i++) {
		struct accept_arg *a = &accept_args[l->index * l->n_listeners + i];
		event_free(a->resume);
		a->resume = NULL;
		evconnlistener_free(l->listeners[i]);
	}
	l->n_listeners = 0;
}

void net_stop(unsigned grace)
{
	for (unsigned t = 0; t < n_loops; t++)
		(void)net_call_on(loops[t].base, stop_listeners, &loops[t]);
	/* in-flight work (a delivery being committed, a hash being checked) finishes; a
	 * client waiting for a 250 gets it before we go */
	struct timespec start, now, nap = {0, 10 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		if (atomic_load(&net_inflight) == 0)
			break;
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < (time_t)grace);
	for (unsigned t = 0; t < n_loops; t++)
		event_base_loopexit(loops[t].base, NULL);
	for (unsigned t = 0; t < n_loops; t++)
		pthread_join(loops[t].thread, NULL);
	net_work_stop();
	/* connections still open (idle clients, or work past the grace period) */
	for (unsigned t = 0; t < n_loops; t++) {
		while (loops[t].conns)
			net_conn_shutdown(loops[t].conns);
		free(loops[t].listeners);
		event_base_free(loops[t].base);
	}
	free(loops);
	free(accept_args);
	loops = NULL;
	accept_args = NULL;
	n_loops = 0;
}

void net_wait_signal(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	int sig = 0;
	if (sigwait(&set, &sig) == 0)
		log_info("signal %d: shutting down", sig);
}

struct call {
	void (*fn)(void *);
	void *arg;
};

static void call_trampoline(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	c->fn(c->arg);
	free(c);
}

int net_call_on(struct event_base *base, void (*fn)(void *arg), void *arg)
{
	struct call *c = malloc(sizeof(*c));
	if (!c)
		return ERR_NOMEM;
	c->fn = fn;
	c->arg = arg;
	struct timeval zero = {0, 0};
	if (event_base_once(base, -1, EV_TIMEOUT, call_trampoline, c, &zero) < 0) {
		free(c);
		return ERR_NOMEM;
	}
	return 0;
}
