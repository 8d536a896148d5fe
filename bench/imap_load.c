/*
 * bench/imap_load.c: the IMAP load generator of bench/imap.sh (loopback only).
 *
 *   imap_load -p PORT [-n CLIENTS] [-t SECONDS] [-a ACCOUNTS] [-l LABEL] [-i IDLE_MS]
 *             [-s SEED] [-u USER_PREFIX] [-d DOMAIN] [-P PASSWORD]
 *             [-f FROM] [-j SUBJECT] [-b BODY] [-W]
 *   built by build_imap_load in bench/lib.sh from imap_load.c (this driver),
 *   imap_load_session.c (the IMAP dialogue and the mix), imap_response.c, latency_hist.c
 *
 * CLIENTS connections to 127.0.0.1:PORT, client i logged in as account
 * <USER_PREFIX><(i % ACCOUNTS) + 1>@<DOMAIN>, each running the mix of
 * imap_load_session.c back to back (no think time). The timed window of SECONDS starts
 * when every client has logged in, selected and fetched its message list (at most
 * MAX_RAMP_SECONDS after the start): the burst of CLIENTS simultaneous logins is
 * password hashing, not the steady state, and is not counted (its errors are). At the
 * end every connection is closed, whatever it was doing, and commands still in flight
 * are not counted. -W runs one warm-up session per client instead, no ramp. Prints one RESULT line
 * per command (count, operations/s, latency p50/p90/p99/max: CONNECT is connect() to the greeting,
 * reported but not an IMAP command, so not in the total) and one for the total. The exit code is 1
 * when any command got NO/BAD, any connection failed, or no LOGIN succeeded; the first errors are
 * printed to stderr.
 *
 * One thread, epoll, one state machine per client: the generator shares the machine
 * with the server it measures, so it must cost little and the same against every
 * server. A client's work per response is a few hundred instructions, with no locks,
 * no stack per client and one clock for all; a thread per client would add scheduling
 * noise on 2 cores. The total line reports the generator's own CPU time (load_cpu_s):
 * it must stay far below SECONDS, or the bench measured the generator.
 *
 * Bounds: CLIENTS <= MAX_CLIENTS, SECONDS <= MAX_SECONDS, 127.0.0.1 only, ~14 KB per
 * client; responses are read by imap_response.c (literals skipped as they stream).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "imap_load.h"

#define MAX_CLIENTS 10000
#define MAX_SECONDS 3600
#define MAX_RAMP_SECONDS 300 /* 10,000 logins one after the other at ~18 ms + margin */
#define ERRORS_SHOWN 10

const char *const cmd_names[CMD_COUNT] = {
    "CONNECT", "LOGIN",         "SELECT",      "FETCH_HEADERS",  "FETCH_BODY",
    "STORE",   "SEARCH_UNSEEN", "SEARCH_FROM", "SEARCH_SUBJECT", "SEARCH_BODY",
    "APPEND",  "STORE_DELETED", "UID_EXPUNGE", "IDLE",           "LOGOUT",
};

/* defaults: what bench/lib.sh and bench/imap_fill.py set up */
struct load_options opt = {
    .clients = 50,
    .seconds = 30,
    .idle_ms = 100,
    .seed = 1,
    .label = "server",
    .user_prefix = "user",
    .domain = "example.test",
    .password = "Bench-pass-1",
    .search_from = "alice",
    .search_subject = "invoice",
    .search_body = "harbour",
};

struct load_stats stats;

static int epoll_fd;
static unsigned clients_running, clients_ready;
static uint64_t window_start_us, window_end_us; /* end 0: still in the ramp */
static double window_start_cpu;                 /* the generator's own CPU time then */
static struct client *idle_head, *idle_tail;    /* in idle_until_us order: one IDLE_MS for all */

uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* xorshift64*: per client and seeded, so the mix does not depend on timing */
uint32_t client_random(struct client *c, uint32_t below)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (uint32_t)((c->rng * 2685821657736338717ull) >> 32) % below;
}

void client_error(struct client *c, const char *what, const char *detail, size_t len)
{
	stats.errors_total++;
	stats.errors[c->cmd]++;
	if (stats.errors_total <= ERRORS_SHOWN)
		fprintf(stderr, "imap_load: client %u (%s%u) %s %s: %.*s\n", c->id, opt.user_prefix,
		        c->account, cmd_names[c->cmd], what, (int)(len > 300 ? 300 : len), detail);
}

static void client_watch(struct client *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		perror("imap_load: epoll_ctl");
		exit(2);
	}
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
}

void client_finish(struct client *c)
{
	client_close(c);
	c->state = CLIENT_FINISHED;
	clients_running--;
}

void client_fail(struct client *c, const char *what, const char *detail)
{
	client_error(c, what, detail, strlen(detail));
	client_finish(c);
}

static void client_connect(struct client *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)opt.port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	c->cmd = CMD_CONNECT;
	c->cmd_start_us = now_us();
	c->idle_spent_us = 0;
	c->state = CLIENT_CONNECTING;
	c->out_len = c->out_off = 0;
	c->watching_out = true;
	imap_response_reset(&c->resp);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		client_fail(c, "socket", strerror(errno));
		return;
	}
	/* one command per write and no pipelining: Nagle would only add client-side delay */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
		client_fail(c, "connect", strerror(errno));
		return;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		perror("imap_load: epoll_ctl");
		exit(2);
	}
}

void client_reconnect(struct client *c)
{
	client_close(c);
	client_connect(c);
}

static void client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->watching_out)
				client_watch(c, EPOLLIN | EPOLLOUT);
			c->watching_out = true;
			return;
		}
		if (n < 0) {
			client_fail(c, "send", strerror(errno));
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	if (c->watching_out) {
		c->watching_out = false;
		client_watch(c, EPOLLIN);
	}
}

/* The protocol is one command at a time, so out holds at most one command line or the
 * APPEND message: more is a bug. */
void client_send(struct client *c, const char *data, size_t len)
{
	if (c->out_len + len > OUT_CAP) {
		fprintf(stderr, "imap_load: output buffer overflow (bug)\n");
		exit(2);
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	client_flush(c);
}

void client_idle_later(struct client *c)
{
	c->idle_next = NULL;
	if (idle_tail)
		idle_tail->idle_next = c;
	else
		idle_head = c;
	idle_tail = c;
}

static double cpu_seconds_used(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -1;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

void client_ready(struct client *c)
{
	c->ready = true;
	clients_ready++;
}

/* The ramp is over when every client still running is ready: the counts start from
 * zero there, the errors do not. */
static void start_window_when_ready(uint64_t now)
{
	if (window_end_us || clients_ready < clients_running)
		return;
	memset(stats.latency, 0, sizeof stats.latency);
	stats.untagged_exists = stats.untagged_expunge = stats.expunge_races = 0;
	stats.bytes_in = 0;
	window_start_us = now;
	window_end_us = now + (uint64_t)opt.seconds * 1000000u;
	window_start_cpu = cpu_seconds_used();
	/* for bench/imap.sh, which reads the server's CPU time here and at the end */
	printf("# window: ramp over, %u clients ready, timing %u s\n", clients_ready, opt.seconds);
	fflush(stdout);
}

/* Ends every IDLE whose moment is over; returns ms until the next one, or -1. */
static int end_idles(uint64_t now)
{
	while (idle_head &&
	       (idle_head->state != CLIENT_IDLING || idle_head->idle_until_us <= now)) {
		struct client *c = idle_head;
		idle_head = c->idle_next;
		if (!idle_head)
			idle_tail = NULL;
		if (c->state == CLIENT_IDLING) /* not if it failed meanwhile */
			session_end_idle(c, now);
	}
	return idle_head ? (int)((idle_head->idle_until_us - now + 999) / 1000) : -1;
}

/* Cuts received bytes into responses and acts on each. */
static void client_input(struct client *c, const char *p, size_t n)
{
	stats.bytes_in += n;
	while (n > 0) {
		bool complete;
		size_t used = imap_response_feed(&c->resp, p, n, &complete);
		p += used, n -= used;
		if (!complete)
			continue;
		bool same_connection = session_on_response(c);
		imap_response_reset(&c->resp);
		if (!same_connection)
			return; /* the rest came on a connection that is closed now */
	}
}

static void client_event(struct client *c, uint32_t events)
{
	static char buf[65536];
	if (c->state == CLIENT_FINISHED)
		return;
	if (c->state == CLIENT_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			client_fail(c, "connect", strerror(err));
			return;
		}
		c->state = CLIENT_GREETING;
		c->watching_out = false;
		client_watch(c, EPOLLIN);
		return;
	}
	if (events & EPOLLOUT)
		client_flush(c);
	if (c->state == CLIENT_FINISHED || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0)
		client_fail(c, "connection", n == 0 ? "closed by the server" : strerror(errno));
	else
		client_input(c, buf, (size_t)n);
}

/* ---- options and report ---- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: imap_load -p PORT [-n CLIENTS] [-t SECONDS] [-a ACCOUNTS] [-l LABEL]\n"
	        "  [-i IDLE_MS] [-s SEED] [-u USER_PREFIX] [-d DOMAIN] [-P PASSWORD]\n"
	        "  [-f FROM] [-j SUBJECT] [-b BODY] [-W]\n");
	exit(2);
}

static unsigned option_number(const char *arg, unsigned lo, unsigned hi)
{
	size_t used;
	int64_t v = imap_response_number(arg, strlen(arg), &used);
	if (v < lo || v > hi || arg[used] != '\0')
		usage();
	return (unsigned)v;
}

static void parse_options(int argc, char **argv)
{
	const char **strings[128] = {
	    ['l'] = &opt.label,      ['u'] = &opt.user_prefix, ['d'] = &opt.domain,
	    ['P'] = &opt.password,   ['f'] = &opt.search_from, ['j'] = &opt.search_subject,
	    ['b'] = &opt.search_body};
	int ch;
	while ((ch = getopt(argc, argv, "p:n:t:a:i:s:l:u:d:P:f:j:b:W")) != -1) {
		if (ch == 'p')
			opt.port = option_number(optarg, 1, 65535);
		else if (ch == 'n')
			opt.clients = option_number(optarg, 1, MAX_CLIENTS);
		else if (ch == 't')
			opt.seconds = option_number(optarg, 1, MAX_SECONDS);
		else if (ch == 'a')
			opt.accounts = option_number(optarg, 1, 1000000);
		else if (ch == 'i')
			opt.idle_ms = option_number(optarg, 0, 60000);
		else if (ch == 's')
			opt.seed = option_number(optarg, 0, 1u << 30);
		else if (ch == 'W')
			opt.warmup = true;
		else if (ch > 0 && ch < 128 && strings[ch])
			*strings[ch] = optarg;
		else
			usage();
	}
	if (opt.port == 0 || optind != argc)
		usage();
	if (opt.accounts == 0)
		opt.accounts = opt.clients;
	/* the strings go into quoted IMAP strings, unescaped */
	for (int i = 0; i < 128; i++)
		if (strings[i] && (strpbrk(*strings[i], "\"\\\r\n") || strlen(*strings[i]) > 200))
			usage();
}

/* room for every client's socket, or a clear failure when the hard limit is too low */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* checked just below, by its effect */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < opt.clients + 16) {
		fprintf(stderr, "imap_load: %u clients need more file descriptors than %llu\n",
		        opt.clients, (unsigned long long)rl.rlim_cur);
		exit(2);
	}
}

static void report(double seconds, double ramp_seconds)
{
	uint64_t total = 0;
	for (int i = 0; i < CMD_COUNT; i++) {
		const struct latency_hist *h = &stats.latency[i];
		if (h->count == 0 && stats.errors[i] == 0)
			continue;
		if (i != CMD_CONNECT)
			total += h->count;
		printf("RESULT imap_load server=%s cmd=%s ops=%llu ops_per_s=%.1f p50_ms=%.3f "
		       "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%llu\n",
		       opt.label, cmd_names[i], (unsigned long long)h->count,
		       (double)h->count / seconds, latency_hist_percentile(h, 0.50) / 1e3,
		       latency_hist_percentile(h, 0.90) / 1e3,
		       latency_hist_percentile(h, 0.99) / 1e3, h->max_us / 1e3,
		       (unsigned long long)stats.errors[i]);
	}
	printf("RESULT imap_load server=%s total ops=%llu seconds=%.2f ops_per_s=%.1f errors=%llu "
	       "clients=%u accounts=%u warmup=%s ramp_s=%.2f rx_mb=%.1f untagged_exists=%llu "
	       "untagged_expunge=%llu expunge_races=%llu load_cpu_s=%.2f\n",
	       opt.label, (unsigned long long)total, seconds, (double)total / seconds,
	       (unsigned long long)stats.errors_total, opt.clients, opt.accounts,
	       opt.warmup ? "yes" : "no", ramp_seconds, stats.bytes_in / 1e6,
	       (unsigned long long)stats.untagged_exists,
	       (unsigned long long)stats.untagged_expunge, (unsigned long long)stats.expunge_races,
	       cpu_seconds_used());
}

int main(int argc, char **argv)
{
	if (!session_mix_ok()) {
		fprintf(stderr, "imap_load: the mix's weights do not add up to 100\n");
		return 2;
	}
	parse_options(argc, argv);
	raise_fd_limit();
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	struct client *clients = calloc(opt.clients, sizeof *clients);
	if (epoll_fd < 0 || !clients) {
		perror("imap_load");
		return 2;
	}
	uint64_t start = now_us(), ramp_end = start + MAX_RAMP_SECONDS * 1000000ull, now;
	if (opt.warmup) /* no ramp: SECONDS only bounds the warm-up */
		window_start_us = start, window_end_us = start + (uint64_t)opt.seconds * 1000000u;
	clients_running = opt.clients;
	for (unsigned i = 0; i < opt.clients; i++) {
		struct client *c = &clients[i];
		c->id = i;
		c->account = i % opt.accounts + 1;
		c->rng = (opt.seed + 1) * 0x9E3779B97F4A7C15ull ^ (i + 1) * 0xD1B54A32D192ED03ull;
		client_connect(c);
	}
	struct epoll_event events[256];
	while ((now = now_us()) < (window_end_us ? window_end_us : ramp_end) &&
	       clients_running > 0) {
		start_window_when_ready(now);
		uint64_t end = window_end_us ? window_end_us : ramp_end;
		int idle_ms = end_idles(now);
		int wait_ms = (int)((end - now + 999) / 1000);
		if (idle_ms >= 0 && idle_ms < wait_ms)
			wait_ms = idle_ms;
		int n = epoll_wait(epoll_fd, events, 256, wait_ms);
		if (n < 0 && errno != EINTR) {
			perror("imap_load: epoll_wait");
			return 2;
		}
		for (int i = 0; i < n; i++)
			client_event(events[i].data.ptr, events[i].events);
	}
	now = now_us();
	/* time is up: whatever is still in flight is dropped, not counted */
	for (unsigned i = 0; i < opt.clients; i++)
		client_close(&clients[i]);
	free(clients);
	if (!window_end_us) {
		fprintf(stderr, "imap_load: %u of %u clients ready after %d s of ramp\n",
		        clients_ready, opt.clients, MAX_RAMP_SECONDS);
		return 1;
	}
	report((double)(now - window_start_us) / 1e6, (double)(window_start_us - start) / 1e6);
	if (stats.latency[CMD_LOGIN].count == 0)
		fprintf(stderr, "imap_load: no LOGIN succeeded\n");
	return stats.errors_total > 0 || stats.latency[CMD_LOGIN].count == 0 ? 1 : 0;
}
