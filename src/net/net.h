/* net.h: event-loop threads, listeners and the connection object protocols run on.
 *
 * Every connection lives on one loop thread for its whole life. A protocol is a table
 * of callbacks (struct net_proto); it sees plain bytes, never sockets or libevent:
 *   on_open   the connection is accepted (send the greeting here)
 *   on_input  bytes arrived: consume what you can, return how many (0 = need more);
 *             called again while input remains and the connection is not paused.
 *             At most NET_INPUT_WINDOW bytes are offered at once: a parser that needs
 *             more for one token must fail with its own limit before that.
 *   on_drain  output fell below NET_OUTPUT_LOW (only after net_conn_want_drain()):
 *             used to stream large bodies from files in bounded memory.
 *   on_close  the connection is gone; free the session here. Called exactly once.
 * A negative return from on_open/on_input closes the connection at once.
 *
 * Asynchronous work (delivery, password hashing) pauses input with net_conn_pause()
 * and finishes on the same loop thread; net_conn_hold()/net_conn_release() keep the
 * connection object alive across that even if the peer disconnects meanwhile
 * (on_close has then been called; check net_conn_closed()). */
#ifndef KASTEN_NET_H
#define KASTEN_NET_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_conn;
struct event_base;

#define NET_INPUT_WINDOW (128u << 10)
#define NET_OUTPUT_LOW (64u << 10)

enum net_tls_mode { NET_TLS_NONE, NET_TLS_IMPLICIT };

struct net_proto {
	const char *name; /* "smtp", "lmtp", "pop3"...: for logs */
	int (*on_open)(struct net_conn *c);
	int (*on_input)(struct net_conn *c, const uint8_t *p, size_t len);
	void (*on_drain)(struct net_conn *c);
	void (*on_close)(struct net_conn *c);
	/* Sent before closing a connection that timed out, and to a client turned away
	 * for having too many connections (never on implicit TLS before the handshake) */
	const char *timeout_reply;
	const char *busy_reply;
	/* The metrics protocol label of a listener with this proto_arg ("submission",
	 * "admin": names of metrics_proto_by_name); NULL, or a NULL function: the name
	 * above. Connections, bytes, logins and command latency count under it. */
	const char *(*metric_name)(const void *proto_arg);
};

/* A listener: an address "127.0.0.1:2525" or "[::1]:2525", a protocol, TLS mode, and
 * an opaque protocol argument (e.g. which SMTP flavour) readable via net_conn_proto_arg.
 *
 * Timeouts (slowloris): a connection is closed when idle_timeout seconds pass without
 * the protocol reporting progress (net_conn_progress: a whole command, or a large part
 * of a message body), never re-armed by single bytes; and, when login is set, when
 * it has not logged in (net_conn_set_user) within the login timeout of net_limits,
 * however busy it is. Connections of login listeners count as unauthenticated per
 * client address until they log in. */
struct net_listen {
	const char *addr;
	const struct net_proto *proto;
	enum net_tls_mode tls;
	const void *proto_arg;
	bool login;            /* clients must log in (submission, POP3, IMAP) */
	unsigned idle_timeout; /* seconds */
};

/* Per-client bounds. A client is an IPv4 address or an IPv6 /64 (one customer's
 * network): what one host can hold however many addresses it has. 0 = no limit. */
struct net_limits {
	unsigned login_timeout;         /* seconds from connect to login */
	unsigned max_conns_per_client;  /* open connections */
	unsigned max_unauth_per_client; /* connections to login listeners not logged in */
};

struct ssl_ctx_st;

/* The server's TLS context: cert/key files if given, else a self-signed pair for
 * hostname generated once into <data_dir>/tls/ (kept across restarts so clients that
 * pinned it keep working). TLS 1.2 and newer only. NULL on failure (logged). */
struct ssl_ctx_st *net_tls_setup(const char *cert, const char *key, const char *data_dir,
				 const char *hostname);

/* Bind every entry once per loop thread (SO_REUSEPORT) and prepare the loops, with
 * the TLS context used for implicit TLS and STARTTLS. Nothing is accepted yet: the
 * caller can drop privileges and open the store in between. */
int net_start(const struct net_listen *ls, size_t n, unsigned threads,
	      const struct net_limits *limits, struct ssl_ctx_st *tls_ctx);
/* Start the loop threads (and the worker pool): connections are served from now on. */
int net_run(void);
/* Stop accepting, let in-flight work finish (bounded by grace seconds), join threads. */
void net_stop(unsigned grace);
/* Block until a SIGTERM/SIGINT arrives (the main thread's loop). */
void net_wait_signal(void);

/* ---- the connection, as a protocol sees it ---- */
void net_conn_set_data(struct net_conn *c, void *data);
void *net_conn_data(const struct net_conn *c);
const void *net_conn_proto_arg(const struct net_conn *c);
uint64_t net_conn_id(const struct net_conn *c);
const char *net_conn_peer(const struct net_conn *c);   /* "1.2.3.4:5678" */
const char *net_conn_peer_ip(const struct net_conn *c);/* "1.2.3.4" */
bool net_conn_is_tls(const struct net_conn *c);
bool net_conn_is_loopback(const struct net_conn *c);
/* Make this connection the thread's log context (role, cid, peer, user): for code
 * that runs outside the protocol callbacks, e.g. an asynchronous completion. */
void net_conn_log_ctx(const struct net_conn *c);
/* The client logged in as user: log lines name it from now on, the login timeout and
 * the unauthenticated-connection count no longer apply. */
void net_conn_set_user(struct net_conn *c, const char *user);
/* The client made progress (a whole command, a chunk of a body): the idle timeout
 * starts again. Output drained to the client by on_drain counts by itself. */
void net_conn_progress(struct net_conn *c);
/* n octets of a bulk transfer (a message body) arrived: every LIMIT_BODY_PROGRESS of
 * them count as progress, so a body trickling in a byte at a time does not. */
void net_conn_progress_bytes(struct net_conn *c, size_t n);
struct event_base *net_conn_base(const struct net_conn *c);
/* The connection's metrics protocol label (enum metric_proto of core/metrics.h), or
 * -1 when its listener's name has none. */
int net_conn_metric_proto(const struct net_conn *c);

/* Queue output. Returns ERR_IO if the connection is closing. */
int net_conn_write(struct net_conn *c, const void *p, size_t n);
/* One protocol line: fmt plus CRLF, cut to 1000 octets before the CRLF (RFC 5321
 * 4.5.3.1.5 reply length; longer than any POP3 line we send). */
int net_conn_line(struct net_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int net_conn_vline(struct net_conn *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
size_t net_conn_output_pending(const struct net_conn *c);
/* Ask for one on_drain call when output drops below NET_OUTPUT_LOW. */
void net_conn_want_drain(struct net_conn *c);

/* Start TLS after the output queued so far is sent (the "220 Ready" reply);
 * input bytes already buffered are discarded (RFC 3207 4.2, RFC 2595 ... no injection). */
int net_conn_starttls(struct net_conn *c);
/* Compress both directions with DEFLATE (RFC 4978) once the output queued so far (the
 * OK) is sent; input is held until then. ERR_PERM if already compressed. */
int net_conn_compress(struct net_conn *c);
bool net_conn_is_compressed(const struct net_conn *c);
/* Whether the connection still takes input: false once it is closing, paused or
 * switching to TLS or compression. A protocol looping over pipelined commands in one on_input call
 * checks it after each command: after STARTTLS the rest of the read was sent in the
 * clear and must never be executed (RFC 3207 4.2, RFC 2595 4; CVE-2011-0411). */
bool net_conn_reading(const struct net_conn *c);
/* Close after flushing queued output. */
void net_conn_close(struct net_conn *c);
bool net_conn_closed(const struct net_conn *c);

void net_conn_pause(struct net_conn *c);
/* Resume input; buffered input is processed from the loop, not recursively. */
void net_conn_resume(struct net_conn *c);
void net_conn_hold(struct net_conn *c);
void net_conn_release(struct net_conn *c);

/* Run work(arg) on a worker pool, then done(c, arg) on c's loop thread. c is held
 * meanwhile; done is called even if the peer went away (check net_conn_closed).
 * net_conn_work: CPU-bound work (password hashing); net_conn_work_io: work that waits
 * for the disk (store commits, searches), on a larger pool of its own. */
typedef void (*net_work_fn)(void *arg);
typedef void (*net_done_fn)(struct net_conn *c, void *arg);
int net_conn_work(struct net_conn *c, net_work_fn work, net_done_fn done, void *arg);
int net_conn_work_io(struct net_conn *c, net_work_fn work, net_done_fn done, void *arg);

/* Run done(c, arg) on c's loop thread after ms milliseconds (a penalty delay); c is
 * held meanwhile and done runs even if the peer went away (check net_conn_closed). */
int net_conn_after(struct net_conn *c, unsigned ms, net_done_fn done, void *arg);

/* Run fn(arg) on the loop thread that owns base, from any thread. */
int net_call_on(struct event_base *base, void (*fn)(void *arg), void *arg);

/* ---- penalties for guessing (net_penalty.c) ----
 * Failed logins and unknown recipients (address harvesting) are counted per client
 * (see net_limits) and per target name over a window; every later attempt from that
 * client or at that name, successful or not, is answered only after a delay that grows
 * with the count. Delaying successes too leaves no timing oracle for a guesser that
 * gives up on slow answers; a success resets only what was counted against its own
 * name from that client, never the client's other failures. */
enum net_penalty_kind { NET_PENALTY_LOGIN, NET_PENALTY_RCPT };
/* Milliseconds to wait before answering an attempt at target (NULL: none) from c. */
unsigned net_penalty_delay(const struct net_conn *c, enum net_penalty_kind kind,
			   const char *target);
void net_penalty_fail(const struct net_conn *c, enum net_penalty_kind kind, const char *target);
void net_penalty_ok(const struct net_conn *c, enum net_penalty_kind kind, const char *target);

#endif
