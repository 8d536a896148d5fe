/* smtpc_int.h: the SMTP client session's state, shared by smtpc_io.c (socket, TLS
 * records, buffers, timeouts), smtpc_tls.c (handshake and verification),
 * smtpc_session.c (greeting, EHLO, STARTTLS, AUTH, RSET, QUIT) and smtpc_send.c (one
 * transaction). Not for use outside src/outbound/smtpc*.c. */
#ifndef KASTEN_SMTPC_INT_H
#define KASTEN_SMTPC_INT_H

#include <openssl/ssl.h>

#include "core/buf.h"
#include "outbound/smtpc.h"

struct smtpc {
	struct smtpc_config cfg;
	char helo[LIMIT_DNS_NAME + 1];
	int fd;               /* -1 when closed */
	SSL *ssl;             /* NULL on plain text */
	SSL_CTX *own_ctx;     /* made here when cfg.ssl_ctx was NULL */
	bool broken;          /* an I/O error: only smtpc_free is left */
	struct smtpc_ext ext; /* of the last EHLO */
	enum smtpc_tls_state tls;
	char tls_desc[96];
	char error[LIMIT_SMTPC_ERROR];
	/* the transcript ring: ring_n lines, the oldest at ring_next when full */
	char ring[LIMIT_SMTPC_TRANSCRIPT][LIMIT_SMTPC_TRANSCRIPT_LINE];
	unsigned ring_next, ring_n;
	struct smtpc_reply_parser rp;
	size_t rpos, rlen; /* unread input: rbuf[rpos..rlen) */
	uint8_t rbuf[LIMIT_SMTPC_IO_BUF];
	struct buf wbuf; /* output not yet written, over wstore */
	uint8_t wstore[LIMIT_SMTPC_IO_BUF];
	uint8_t body[LIMIT_SMTPC_BODY_CHUNK]; /* message file bytes read at a time */
};

/* The error detail (one line) for smtpc_error(); returns rc for `return smtpc_fail(...)`.
 * An ERR_IO also marks the session broken. */
int smtpc_fail(struct smtpc *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A line into the trace callback and the transcript ring (who: 'C' or 'S'). */
void smtpc_trace(struct smtpc *s, char who, const void *line, size_t len);

/* TCP connect to sa within connect_ms. */
int smtpc_io_connect(struct smtpc *s, const struct sockaddr *sa, socklen_t sa_len);

/* Queue bytes for writing (written when the buffer fills, with timeout_ms per wait). */
int smtpc_io_write(struct smtpc *s, const void *p, size_t n, unsigned timeout_ms);
/* Write everything queued, waiting at most timeout_ms for each bit of progress. */
int smtpc_io_flush(struct smtpc *s, unsigned timeout_ms);
/* A command line (with its CRLF) queued and traced (trace_as: what the trace shows
 * instead, for AUTH payloads; NULL: the line itself). */
int smtpc_io_command(struct smtpc *s, const char *line, size_t len, const char *trace_as);

/* Flush, then read one whole reply into *r within timeout_ms in all (ext: collect EHLO
 * keywords). 0 whatever the code; ERR_IO (r->code 0) on failure. */
int smtpc_io_reply(struct smtpc *s, struct smtpc_reply *r, struct smtpc_ext *ext,
                   unsigned timeout_ms);

/* Bytes already read and not yet parsed (STARTTLS throws them away). */
size_t smtpc_io_pending(const struct smtpc *s);
void smtpc_io_discard(struct smtpc *s);

/* TLS client handshake on the connected socket with o's verification (smtpc_tls.c). */
int smtpc_tls_handshake(struct smtpc *s, const struct smtpc_tls_opts *o);

/* Close the socket (and TLS without waiting for the peer). */
void smtpc_io_close(struct smtpc *s);

/* 0 for a 2xx reply (or `want` exactly when want != 0), ERR_TEMP for 4xx, ERR_PERM for
 * 5xx or anything else unexpected. */
int smtpc_reply_rc(const struct smtpc_reply *r, int want);

#endif
