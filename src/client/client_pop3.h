/* client_pop3.h: the POP3 client engine of kasten fetch (RFC 1939, CAPA and response
 * codes from RFC 2449, STLS from RFC 2595, AUTH PLAIN from RFC 5034 with the initial
 * response on the command line). One blocking session over client_conn; every response
 * goes through the pure parser of client_pop3_parse.h.
 *
 * Errors: a negative enum err with one line for the user in client_pop3_error():
 * ERR_AUTH a refused login, ERR_LOCKED the maildrop is in use ([IN-USE]), ERR_PERM a
 * certificate that does not verify or a server that cannot do what is needed (no
 * STLS, no UIDL), ERR_IO a connection that broke, ERR_BAD_SYNTAX / ERR_TOO_LONG a
 * server that does not speak POP3. After any error but ERR_NOTFOUND (a -ERR answer to
 * one command, e.g. RETR of a message another session deleted) the session is done:
 * call client_pop3_close. */
#ifndef KASTEN_CLIENT_POP3_H
#define KASTEN_CLIENT_POP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client_conn.h"

struct client_pop3;

/* Connect, read the greeting, CAPA, STLS when ep->tls is CLIENT_TLS_STARTTLS, then log
 * in: AUTH PLAIN when the server lists SASL PLAIN, else USER/PASS. 0 and *p_out, or <0
 * with the reason in err_out (the session is freed). The password is not kept. */
int client_pop3_open(const struct client_endpoint *ep, const char *user,
		     const char *password, struct client_pop3 **p_out, char *err_out,
		     size_t err_cap);

/* STAT: the number of messages and their octets. */
int client_pop3_stat(struct client_pop3 *p, uint32_t *count_out, uint64_t *size_out);

/* UIDL (RFC 1939 7): cb(arg, msgno, uid) for each message, uid NUL-terminated, 1-70
 * octets 0x21-0x7E. A nonzero cb return stops the listing (the rest is read and
 * dropped) and is returned. A server without UIDL: ERR_PERM with a message saying so.
 * At most LIMIT_CLIENT_POP3_MESSAGES entries. */
typedef int (*client_pop3_uidl_fn)(void *arg, uint32_t msgno, const char *uid);
int client_pop3_uidl(struct client_pop3 *p, client_pop3_uidl_fn cb, void *arg);

/* LIST: cb(arg, msgno, octets) for each message. */
typedef int (*client_pop3_list_fn)(void *arg, uint32_t msgno, uint64_t size);
int client_pop3_list(struct client_pop3 *p, client_pop3_list_fn cb, void *arg);

/* RETR msgno: the message's bytes, unstuffed, CRLF line ends as sent, to cb in chunks;
 * a nonzero cb return is kept, the rest of the message is read and dropped (so the
 * session stays usable), and that value is returned. ERR_NOTFOUND for a -ERR answer. */
typedef int (*client_pop3_data_fn)(void *arg, const void *data, size_t n);
int client_pop3_retr(struct client_pop3 *p, uint32_t msgno, client_pop3_data_fn cb,
		     void *arg);

/* DELE msgno (ERR_NOTFOUND for a -ERR), RSET. */
int client_pop3_dele(struct client_pop3 *p, uint32_t msgno);
int client_pop3_rset(struct client_pop3 *p);

/* QUIT and its answer: 0 means the server entered the UPDATE state and removed the
 * messages marked (RFC 1939 6); an error means nothing may be assumed. */
int client_pop3_quit(struct client_pop3 *p);

const char *client_pop3_error(const struct client_pop3 *p);
uint64_t client_pop3_bytes_in(const struct client_pop3 *p);
uint64_t client_pop3_bytes_out(const struct client_pop3 *p);

/* Close without QUIT if still open (the server then deletes nothing) and free. */
void client_pop3_close(struct client_pop3 **p);

#endif
