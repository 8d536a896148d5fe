/* client_conn.h: one blocking connection from the user's machine to a mail server, for
 * kasten fetch, sync and migrate. TCP to every address of the host in turn (each with
 * the connect timeout), TLS through OpenSSL either at once (implicit TLS, RFC 8314) or
 * later (client_conn_starttls after STLS/STARTTLS), the certificate verified against the
 * system trust store and the host name unless insecure. Reads are buffered; a line or a
 * literal is bounded by its caller. Every read and write waits at most the I/O timeout.
 * Bytes are counted both ways (summaries, bench/).
 *
 * Errors: a negative enum err (ERR_IO: the peer went away or timed out; ERR_TOO_LONG: a
 * line over the caller's bound; ERR_PERM for a certificate that does not verify), with
 * one line of detail for the user in client_conn_error() (or in err_out of open). */
#ifndef KASTEN_CLIENT_CONN_H
#define KASTEN_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum client_tls {
	CLIENT_TLS_IMPLICIT, /* --tls: TLS from the first byte (default on 993, 995) */
	CLIENT_TLS_STARTTLS, /* --starttls: plain text, then STLS/STARTTLS (the default) */
	CLIENT_TLS_PLAIN,    /* --plain: never TLS (must be asked for) */
};

struct client_endpoint {
	const char *host; /* a name or an address literal; also the name to verify */
	const char *port; /* service name or number */
	enum client_tls tls;
	bool insecure;       /* --insecure: accept a certificate that does not verify */
	unsigned timeout_ms; /* connect, handshake, every read and write */
};

struct client_conn;

/* Connect (and for CLIENT_TLS_IMPLICIT, handshake). 0 and *c_out, or a negative err with
 * a one-line reason in err_out ("cannot connect to mail.example:995: Connection
 * refused", "certificate of mail.example does not verify: self-signed certificate"). */
int client_conn_open(const struct client_endpoint *ep, struct client_conn **c_out,
		     char *err_out, size_t err_cap);

/* Start TLS on a plain connection after the server said yes to STLS/STARTTLS. Input the
 * server sent before the handshake is an error (STARTTLS injection, RFC 2595 3.1). */
int client_conn_starttls(struct client_conn *c);

/* One line without its line end (CRLF or bare LF) into buf[0..cap), NUL-terminated;
 * *len_out its length. A NUL in the line is kept (len counts it). ERR_TOO_LONG when
 * the line does not fit: the rest of it is then read and dropped. */
int client_conn_read_line(struct client_conn *c, char *buf, size_t cap, size_t *len_out);

/* Exactly n bytes (an IMAP literal), into buf. */
int client_conn_read(struct client_conn *c, void *buf, size_t n);

/* What is there, at least 1 and at most cap bytes, into buf; *n_out how many (a POP3
 * multi-line answer streamed through a resumable parser). */
int client_conn_read_some(struct client_conn *c, void *buf, size_t cap, size_t *n_out);

/* Write everything, buffered until client_conn_flush or the next read. */
int client_conn_write(struct client_conn *c, const void *p, size_t n);
int client_conn_printf(struct client_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int client_conn_flush(struct client_conn *c);

/* Wait up to ms for input (buffered or on the socket): 1 readable, 0 timed out, <0
 * error. For IMAP IDLE. */
int client_conn_wait(struct client_conn *c, int ms);

bool client_conn_is_tls(const struct client_conn *c);
uint64_t client_conn_bytes_in(const struct client_conn *c);
uint64_t client_conn_bytes_out(const struct client_conn *c);

/* The detail of the last error, one line, "" if none. */
const char *client_conn_error(const struct client_conn *c);

/* Close (TLS close_notify if possible, no waiting for the peer) and free; *c = NULL. */
void client_conn_close(struct client_conn **c);

#endif
