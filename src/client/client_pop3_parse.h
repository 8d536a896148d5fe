/* client_pop3_parse.h: the pure parser of a POP3 server's responses (the client side of
 * RFC 1939, RFC 2449, RFC 2595, RFC 5034). No I/O: the engine feeds the bytes it read
 * and gets events out. Resumable at every byte offset; the bytes after the end of one
 * response are not consumed (the engine sets what it expects next, then feeds them).
 *
 * A response is what the engine says it expects (client_pop3_parse_expect):
 *  - CLIENT_POP3_SINGLE: one status line.
 *  - CLIENT_POP3_LINES: a status line, and after +OK a multi-line body of short lines
 *    (UIDL, LIST, CAPA listings), each handed out as one event.
 *  - CLIENT_POP3_DATA: a status line, and after +OK a multi-line body of any length
 *    (RETR), handed out in chunks that point into the input, dot-unstuffed, line ends
 *    as sent (the Maildir writer turns CRLF into LF).
 * Decisions (RFC 1939 3):
 *  - A line ends at LF; a CR right before it belongs to the line end. CRLF and bare LF
 *    both end a line (servers that send bare LF exist and nothing is smuggled through
 *    a client's reading). A bare CR elsewhere, NUL and 8-bit octets are content.
 *  - A status line is "+OK", "-ERR" (upper case, RFC 1939 3) or "+" (a SASL
 *    continuation, RFC 5034 4), then the line end or one space and text. Anything else
 *    is ERR_BAD_SYNTAX. An extended response code (RFC 2449 8) "[CODE]" or
 *    "[CODE/SUB]" at the start of the text is recognized and left out of the text.
 *  - Status and listing lines are at most LIMIT_CLIENT_POP3_LINE octets without the
 *    line end (RFC 2449 4 says 512 with it); the octet that would pass it is not
 *    consumed and the result is ERR_TOO_LONG: the session is then unusable.
 *  - Multi-line bodies: a line starting with "." loses that dot; the line "." alone
 *    ends the body. RETR data is bounded by LIMIT_CLIENT_MESSAGE (ERR_TOO_BIG).
 * Errors are final for the response; the engine closes the connection. */
#ifndef KASTEN_CLIENT_POP3_PARSE_H
#define KASTEN_CLIENT_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

enum client_pop3_expect {
	CLIENT_POP3_SINGLE,
	CLIENT_POP3_LINES,
	CLIENT_POP3_DATA,
};

enum client_pop3_ev {
	CLIENT_POP3_EV_STATUS = 1, /* the status line: ok/cont, code, text */
	CLIENT_POP3_EV_LINE,       /* one line of a listing, unstuffed, in text */
	CLIENT_POP3_EV_DATA,       /* a chunk of a RETR body in data */
	CLIENT_POP3_EV_END,        /* the "." of a multi-line body */
};

/* RFC 2449 8 and its registry: the codes a client acts on. */
enum client_pop3_code {
	CLIENT_POP3_CODE_IN_USE = 1 << 0,      /* [IN-USE]: another session holds the drop */
	CLIENT_POP3_CODE_LOGIN_DELAY = 1 << 1, /* [LOGIN-DELAY] */
	CLIENT_POP3_CODE_SYS_TEMP = 1 << 2,    /* [SYS/TEMP] */
	CLIENT_POP3_CODE_SYS_PERM = 1 << 3,    /* [SYS/PERM] */
	CLIENT_POP3_CODE_AUTH = 1 << 4,        /* [AUTH] (RFC 3206): the credentials */
	CLIENT_POP3_CODE_OTHER = 1 << 5,       /* a code we do not know */
};

struct client_pop3_event {
	enum client_pop3_ev type;
	bool ok;          /* STATUS: +OK */
	bool cont;        /* STATUS: "+" (SASL continuation) */
	unsigned code;    /* STATUS: enum client_pop3_code bits */
	const char *text; /* STATUS: text after the indicator and code; LINE: the line.
			   * NUL-terminated, valid until the next parse call */
	size_t text_len;
	const uint8_t *data; /* DATA: points into the input */
	size_t data_len;
};

struct client_pop3_parser {
	enum client_pop3_expect expect;
	int phase;     /* status line, body lines, body data, done */
	int data_at;   /* DATA: where in a line we are */
	bool cr;       /* a CR held back: part of the line unless LF follows */
	size_t len;    /* bytes in line */
	uint64_t data_total;
	char line[LIMIT_CLIENT_POP3_LINE + 1];
};

/* Get ready for the next response. */
void client_pop3_parse_expect(struct client_pop3_parser *ps, enum client_pop3_expect e);

/* Feed p[0..len): >0 one event in *ev (CLIENT_POP3_EV_*), 0 all consumed and more
 * needed, <0 ERR_BAD_SYNTAX, ERR_TOO_LONG, ERR_TOO_BIG, or ERR_INVAL when called after
 * the response ended. *used_out: bytes consumed. After EV_END, or EV_STATUS of a
 * SINGLE response or of a multi-line one that is not +OK, the response is over. */
int client_pop3_parse(struct client_pop3_parser *ps, const uint8_t *p, size_t len,
		      size_t *used_out, struct client_pop3_event *ev);

/* Whether the response is over (the next one may be expected). */
bool client_pop3_parse_done(const struct client_pop3_parser *ps);

/* A UIDL listing line (RFC 1939 7): "msgno uid", msgno 1..UINT32_MAX (digits, leading
 * zeros allowed), one or more spaces, the unique-id of 1-70 octets 0x21-0x7E, nothing
 * after it. uid_out gets at least LIMIT_CLIENT_POP3_UID + 1 bytes. 0 or
 * ERR_BAD_SYNTAX. */
int client_pop3_parse_uidl(const char *line, size_t len, uint32_t *msgno_out, char *uid_out);
/* A LIST listing line (RFC 1939 5): "msgno octets". 0 or ERR_BAD_SYNTAX. */
int client_pop3_parse_list(const char *line, size_t len, uint32_t *msgno_out,
			   uint64_t *size_out);
/* The text of STAT's +OK (RFC 1939 5): "count octets" and anything after. */
int client_pop3_parse_stat(const char *text, size_t len, uint32_t *count_out,
			   uint64_t *size_out);

/* What a CAPA listing line (RFC 2449 5) tells the client. */
enum client_pop3_cap {
	CLIENT_POP3_CAP_STLS = 1 << 0,
	CLIENT_POP3_CAP_UIDL = 1 << 1,
	CLIENT_POP3_CAP_USER = 1 << 2,
	CLIENT_POP3_CAP_SASL_PLAIN = 1 << 3,
	CLIENT_POP3_CAP_PIPELINING = 1 << 4,
	CLIENT_POP3_CAP_RESP_CODES = 1 << 5,
	CLIENT_POP3_CAP_TOP = 1 << 6,
};
/* The capability bits of one CAPA line (0 for a capability we do not use);
 * case-insensitive, "SASL" with PLAIN among its mechanisms. */
unsigned client_pop3_parse_capa(const char *line, size_t len);

#endif
