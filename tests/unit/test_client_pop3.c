/* test_client_pop3.c: the pure parser of POP3 server responses (client_pop3_parse.h).
 * Every response case runs three ways and all must give the same transcript: the
 * whole input at once, one byte at a time, and split in two at every offset (STYLE 5).
 * The transcript is what the engine sees: one entry per event, consecutive RETR data
 * chunks joined, and at the end either how many bytes were left after the response or
 * the error. Limits are checked at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/client_pop3_parse.h"
#include "core/err.h"
#include "core/limits.h"

struct tr {
	char log[1 << 16];
	size_t off;
	bool in_data;
};

static void tr_put(struct tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tr_put(struct tr *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->log + t->off, sizeof(t->log) - t->off, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->log) - t->off);
	t->off += (size_t)n;
}

static void tr_bytes(struct tr *t, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
			tr_put(t, "%c", s[i]);
		else
			tr_put(t, "\\x%02x", s[i]);
	}
}

static void tr_event(struct tr *t, const struct client_pop3_event *ev)
{
	if (ev->type != CLIENT_POP3_EV_DATA && t->in_data) {
		tr_put(t, "]");
		t->in_data = false;
	}
	switch (ev->type) {
	case CLIENT_POP3_EV_STATUS:
		tr_put(t, "%s%u(", ev->ok ? "OK" : ev->cont ? "CONT" : "ERR", ev->code);
		tr_bytes(t, ev->text, ev->text_len);
		assert_int_equal(ev->text[ev->text_len], '\0');
		tr_put(t, ")");
		break;
	case CLIENT_POP3_EV_LINE:
		tr_put(t, "L(");
		tr_bytes(t, ev->text, ev->text_len);
		tr_put(t, ")");
		break;
	case CLIENT_POP3_EV_DATA:
		if (!t->in_data)
			tr_put(t, "D[");
		t->in_data = true;
		tr_bytes(t, ev->data, ev->data_len);
		break;
	case CLIENT_POP3_EV_END:
		tr_put(t, "END");
		break;
	}
}

/* Feed input in pieces of the given sizes (the last piece takes the rest). */
static void feed(enum client_pop3_expect e, const char *in, size_t len, const size_t *cuts,
		 size_t ncuts, struct tr *t)
{
	static struct client_pop3_parser ps;
	memset(t, 0, sizeof(*t));
	client_pop3_parse_expect(&ps, e);
	size_t pos = 0, piece_end;
	for (size_t k = 0; k <= ncuts; k++) {
		piece_end = k < ncuts ? cuts[k] : len;
		/* a piece arrives: the engine keeps unconsumed bytes and appends the next */
		while (pos < piece_end) {
			size_t used;
			struct client_pop3_event ev;
			int rc = client_pop3_parse(&ps, (const uint8_t *)in + pos, piece_end - pos,
						   &used, &ev);
			assert_true(used <= piece_end - pos);
			pos += used;
			if (rc < 0) {
				if (t->in_data)
					tr_put(t, "]");
				tr_put(t, " E%d@%zu", rc, pos);
				return;
			}
			if (rc == 0) {
				assert_int_equal(pos, piece_end);
				break;
			}
			tr_event(t, &ev);
			if (client_pop3_parse_done(&ps)) {
				tr_put(t, " rest=%zu", len - pos);
				return;
			}
		}
	}
	if (t->in_data)
		tr_put(t, "]");
	tr_put(t, " MORE");
}

/* Whole, byte by byte, split at every offset: one transcript, which must be want. */
static void check(enum client_pop3_expect e, const char *in, size_t len, const char *want)
{
	static struct tr whole, other;
	feed(e, in, len, NULL, 0, &whole);
	if (strcmp(whole.log, want) != 0)
		fail_msg("input %.60s...\n got  %s\n want %s", in, whole.log, want);
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	feed(e, in, len, cuts, len, &other);
	assert_string_equal(other.log, whole.log);
	for (size_t k = 0; k <= len; k++) {
		cuts[0] = k;
		feed(e, in, len, cuts, 1, &other);
		assert_string_equal(other.log, whole.log);
	}
	free(cuts);
}

#define CHECK(e, lit, want) check(e, lit, sizeof(lit) - 1, want)

static void status_lines(void **unused)
{
	(void)unused;
	CHECK(CLIENT_POP3_SINGLE, "+OK\r\n", "OK0() rest=0");
	CHECK(CLIENT_POP3_SINGLE, "+OK ready <1.2@x>\r\nRETR", "OK0(ready <1.2@x>) rest=4");
	CHECK(CLIENT_POP3_SINGLE, "-ERR no such message\r\n", "ERR0(no such message) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR\n", "ERR0() rest=0");          /* bare LF */
	CHECK(CLIENT_POP3_SINGLE, "+OK a\rb\r\n", "OK0(a\\x0db) rest=0"); /* bare CR kept */
	CHECK(CLIENT_POP3_SINGLE, "+OK a\0b\xff\r\n", "OK0(a\\x00b\\xff) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "+ \r\n", "CONT0() rest=0");
	CHECK(CLIENT_POP3_SINGLE, "+\r\n", "CONT0() rest=0");
	CHECK(CLIENT_POP3_SINGLE, "+ZmFv\r\n", " E-11@7");
	CHECK(CLIENT_POP3_SINGLE, "+ok\r\n", " E-11@5");   /* RFC 1939 3: upper case */
	CHECK(CLIENT_POP3_SINGLE, "+OKAY\r\n", " E-11@7");
	CHECK(CLIENT_POP3_SINGLE, "-ERRx\r\n", " E-11@7");
	CHECK(CLIENT_POP3_SINGLE, "\r\n", " E-11@2");
	CHECK(CLIENT_POP3_SINGLE, "* OK imap\r\n", " E-11@11");
	CHECK(CLIENT_POP3_SINGLE, "+OK", " MORE");
	CHECK(CLIENT_POP3_SINGLE, "+OK\r", " MORE");
}

static void response_codes(void **unused)
{
	(void)unused;
	CHECK(CLIENT_POP3_SINGLE, "-ERR [IN-USE] locked\r\n", "ERR1(locked) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [in-use] locked\r\n", "ERR1(locked) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [LOGIN-DELAY] wait\r\n", "ERR2(wait) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [SYS/TEMP] later\r\n", "ERR4(later) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [SYS/PERM] never\r\n", "ERR8(never) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [AUTH] bad password\r\n", "ERR16(bad password) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [AUTH]\r\n", "ERR16() rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [XYZ/ABC] odd\r\n", "ERR32(odd) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "-ERR [IN-USE locked\r\n", "ERR0([IN-USE locked) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "+OK [IN-USE] x\r\n", "OK1(x) rest=0");
	CHECK(CLIENT_POP3_SINGLE, "+ [AUTH]\r\n", "CONT0([AUTH]) rest=0");
}

static void listings(void **unused)
{
	(void)unused;
	CHECK(CLIENT_POP3_LINES, "+OK 2 messages\r\n1 abc\r\n2 def\r\n.\r\n+OK",
	      "OK0(2 messages)L(1 abc)L(2 def)END rest=3");
	CHECK(CLIENT_POP3_LINES, "+OK\r\n.\r\n", "OK0()END rest=0");
	CHECK(CLIENT_POP3_LINES, "+OK\n..x\n.\n", "OK0()L(.x)END rest=0");
	CHECK(CLIENT_POP3_LINES, "+OK\r\n\r\n.\r\n", "OK0()L()END rest=0");
	CHECK(CLIENT_POP3_LINES, "+OK\r\n.x\r\n..\r\n.\r\n", "OK0()L(x)L(.)END rest=0");
	CHECK(CLIENT_POP3_LINES, "-ERR no\r\n1 a\r\n", "ERR0(no) rest=5");
	CHECK(CLIENT_POP3_LINES, "+OK\r\n1 a\r\n", "OK0()L(1 a) MORE");
	CHECK(CLIENT_POP3_LINES, "+ x\r\n", "CONT0(x) rest=0");
}

static void retr_data(void **unused)
{
	(void)unused;
	CHECK(CLIENT_POP3_DATA, "+OK 12 octets\r\nSubject: a\r\n\r\nbody\r\n.\r\nNEXT",
	      "OK0(12 octets)D[Subject: a\\x0d\\x0a\\x0d\\x0abody\\x0d\\x0a]END rest=4");
	/* dot-stuffing (RFC 1939 3): the first dot of a line goes */
	CHECK(CLIENT_POP3_DATA, "+OK\r\n..\r\n...x\r\n.y\r\n.\r\n",
	      "OK0()D[.\\x0d\\x0a..x\\x0d\\x0ay\\x0d\\x0a]END rest=0");
	/* ".\r" then not LF: stuffing, the CR is content */
	CHECK(CLIENT_POP3_DATA, "+OK\r\n.\rz\r\n.\r\n", "OK0()D[\\x0dz\\x0d\\x0a]END rest=0");
	/* bare LF lines and a bare-LF terminator */
	CHECK(CLIENT_POP3_DATA, "+OK\na\nb\n.\n", "OK0()D[a\\x0ab\\x0a]END rest=0");
	/* an empty message */
	CHECK(CLIENT_POP3_DATA, "+OK\r\n.\r\n", "OK0()END rest=0");
	/* a dot not at a line start is content; NUL and 8-bit too */
	CHECK(CLIENT_POP3_DATA, "+OK\r\na.b\0\xe9\r\n.\r\n",
	      "OK0()D[a.b\\x00\\xe9\\x0d\\x0a]END rest=0");
	CHECK(CLIENT_POP3_DATA, "-ERR no such message\r\nx", "ERR0(no such message) rest=1");
	CHECK(CLIENT_POP3_DATA, "+OK\r\nabc\r\n.", "OK0()D[abc\\x0d\\x0a] MORE");
	CHECK(CLIENT_POP3_DATA, "+OK\r\nabc\r\n.\r", "OK0()D[abc\\x0d\\x0a] MORE");
}

/* LIMIT_CLIENT_POP3_LINE: a status or listing line of limit-1, limit, limit+1 octets. */
static void line_limit(void **unused)
{
	(void)unused;
	static char in[LIMIT_CLIENT_POP3_LINE + 64];
	for (int d = -1; d <= 1; d++) {
		size_t n = (size_t)((int)LIMIT_CLIENT_POP3_LINE + d);
		memset(in, 'a', n);
		memcpy(in, "+OK ", 4);
		memcpy(in + n, "\r\n", 3);
		if (d <= 0) {
			char exp[LIMIT_CLIENT_POP3_LINE + 64];
			int k = snprintf(exp, sizeof(exp), "OK0(%.*s) rest=0", (int)(n - 4), in + 4);
			assert_true(k > 0);
			check(CLIENT_POP3_SINGLE, in, n + 2, exp);
		} else {
			char exp[64];
			(void)snprintf(exp, sizeof(exp), " E%d@%u", ERR_TOO_LONG,
				       LIMIT_CLIENT_POP3_LINE);
			check(CLIENT_POP3_SINGLE, in, n + 2, exp);
		}
	}
	/* a CR held at the limit: content limit octets, then CRLF, is fine */
	memset(in, 'b', LIMIT_CLIENT_POP3_LINE);
	memcpy(in, "+OK ", 4);
	memcpy(in + LIMIT_CLIENT_POP3_LINE, "\rx\r\n", 5);
	char exp[64];
	(void)snprintf(exp, sizeof(exp), " E%d@%u", ERR_TOO_LONG, LIMIT_CLIENT_POP3_LINE + 1);
	check(CLIENT_POP3_SINGLE, in, LIMIT_CLIENT_POP3_LINE + 4, exp);
	/* a listing line over the limit */
	memcpy(in, "+OK\r\n", 5);
	memset(in + 5, 'c', LIMIT_CLIENT_POP3_LINE + 1);
	memcpy(in + 5 + LIMIT_CLIENT_POP3_LINE + 1, "\r\n", 3);
	(void)snprintf(exp, sizeof(exp), "OK0() E%d@%u", ERR_TOO_LONG,
		       5 + LIMIT_CLIENT_POP3_LINE);
	check(CLIENT_POP3_LINES, in, 5 + LIMIT_CLIENT_POP3_LINE + 3, exp);
}

static void after_end(void **unused)
{
	(void)unused;
	struct client_pop3_parser ps;
	struct client_pop3_event ev;
	size_t used;
	client_pop3_parse_expect(&ps, CLIENT_POP3_SINGLE);
	assert_int_equal(client_pop3_parse(&ps, (const uint8_t *)"+OK\r\n", 5, &used, &ev),
			 CLIENT_POP3_EV_STATUS);
	assert_true(client_pop3_parse_done(&ps));
	assert_int_equal(client_pop3_parse(&ps, (const uint8_t *)"+OK\r\n", 5, &used, &ev),
			 ERR_INVAL);
	assert_int_equal(used, 0);
}

static void uidl_lines(void **unused)
{
	(void)unused;
	uint32_t n;
	char uid[LIMIT_CLIENT_POP3_UID + 1];
#define UIDL(s) client_pop3_parse_uidl(s, sizeof(s) - 1, &n, uid)
	assert_int_equal(UIDL("1 whqtswO00WBw418f9t5JxYwZ"), 0);
	assert_int_equal(n, 1);
	assert_string_equal(uid, "whqtswO00WBw418f9t5JxYwZ");
	assert_int_equal(UIDL("007  !~"), 0); /* leading zeros, two spaces, 0x21 and 0x7e */
	assert_int_equal(n, 7);
	assert_string_equal(uid, "!~");
	assert_int_equal(UIDL("4294967295 x"), 0);
	assert_int_equal(n, UINT32_MAX);
	assert_int_equal(UIDL("4294967296 x"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("0 x"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("1"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("1 "), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL(" 1 x"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("1 a b"), ERR_BAD_SYNTAX); /* space is not 0x21-0x7e */
	assert_int_equal(UIDL("1 a\x7f"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("1 a\xc3\xa9"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("1 a\t"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("-1 x"), ERR_BAD_SYNTAX);
	assert_int_equal(UIDL("1x y"), ERR_BAD_SYNTAX);
	/* RFC 1939 7: 1 to 70 octets: 69, 70 pass, 71 fails */
	char line[100];
	for (int len = 69; len <= 71; len++) {
		int k = snprintf(line, sizeof(line), "3 %.*s", len,
				 "0123456789012345678901234567890123456789012345678901234567890123456"
				 "789012345");
		assert_true(k > 0);
		assert_int_equal(client_pop3_parse_uidl(line, (size_t)k, &n, uid),
				 len <= LIMIT_CLIENT_POP3_UID ? 0 : ERR_BAD_SYNTAX);
	}
#undef UIDL
}

static void list_stat_lines(void **unused)
{
	(void)unused;
	uint32_t n;
	uint64_t size;
#define LIST(s) client_pop3_parse_list(s, sizeof(s) - 1, &n, &size)
	assert_int_equal(LIST("1 120"), 0);
	assert_int_equal(n, 1);
	assert_int_equal(size, 120);
	assert_int_equal(LIST("2 0 extra info"), 0);
	assert_int_equal(size, 0);
	assert_int_equal(LIST("2 9223372036854775807"), 0);
	assert_int_equal(LIST("2 9223372036854775808"), ERR_BAD_SYNTAX);
	assert_int_equal(LIST("2 12x"), ERR_BAD_SYNTAX);
	assert_int_equal(LIST("2"), ERR_BAD_SYNTAX);
#undef LIST
	assert_int_equal(client_pop3_parse_stat("2 320", 5, &n, &size), 0);
	assert_int_equal(n, 2);
	assert_int_equal(size, 320);
	assert_int_equal(client_pop3_parse_stat("0 0 more", 8, &n, &size), 0);
	assert_int_equal(client_pop3_parse_stat("2", 1, &n, &size), ERR_BAD_SYNTAX);
	assert_int_equal(client_pop3_parse_stat("", 0, &n, &size), ERR_BAD_SYNTAX);
	assert_int_equal(client_pop3_parse_stat("a 1", 3, &n, &size), ERR_BAD_SYNTAX);
}

static void capa_lines(void **unused)
{
	(void)unused;
#define CAPA(s) client_pop3_parse_capa(s, sizeof(s) - 1)
	assert_int_equal(CAPA("STLS"), CLIENT_POP3_CAP_STLS);
	assert_int_equal(CAPA("stls"), CLIENT_POP3_CAP_STLS);
	assert_int_equal(CAPA("UIDL"), CLIENT_POP3_CAP_UIDL);
	assert_int_equal(CAPA("USER"), CLIENT_POP3_CAP_USER);
	assert_int_equal(CAPA("TOP"), CLIENT_POP3_CAP_TOP);
	assert_int_equal(CAPA("PIPELINING"), CLIENT_POP3_CAP_PIPELINING);
	assert_int_equal(CAPA("RESP-CODES"), CLIENT_POP3_CAP_RESP_CODES);
	assert_int_equal(CAPA("SASL PLAIN LOGIN"), CLIENT_POP3_CAP_SASL_PLAIN);
	assert_int_equal(CAPA("SASL LOGIN  plain"), CLIENT_POP3_CAP_SASL_PLAIN);
	assert_int_equal(CAPA("SASL LOGIN CRAM-MD5"), 0);
	assert_int_equal(CAPA("SASL PLAINX"), 0);
	assert_int_equal(CAPA("SASL"), 0);
	assert_int_equal(CAPA("STLSX"), 0);
	assert_int_equal(CAPA("IMPLEMENTATION STLS"), 0);
	assert_int_equal(CAPA(""), 0);
#undef CAPA
}

/* A RETR body at the message limit: the octet past it is ERR_TOO_BIG. The data is
 * generated, not stored: one line repeated. */
static void message_limit(void **unused)
{
	(void)unused;
	struct client_pop3_parser ps;
	struct client_pop3_event ev;
	static uint8_t chunk[1 << 16];
	memset(chunk, 'x', sizeof(chunk));
	for (int d = -1; d <= 1; d++) {
		uint64_t total = (uint64_t)LIMIT_CLIENT_MESSAGE + (uint64_t)(int64_t)d, sent = 0;
		size_t used;
		client_pop3_parse_expect(&ps, CLIENT_POP3_DATA);
		assert_int_equal(client_pop3_parse(&ps, (const uint8_t *)"+OK\r\n", 5, &used, &ev),
				 CLIENT_POP3_EV_STATUS);
		int rc = 0;
		while (sent < total && rc >= 0) {
			size_t n = total - sent < sizeof(chunk) ? (size_t)(total - sent) : sizeof(chunk);
			rc = client_pop3_parse(&ps, chunk, n, &used, &ev);
			sent += used;
		}
		if (d <= 0) {
			assert_true(rc >= 0);
			rc = client_pop3_parse(&ps, (const uint8_t *)"\n.\r\n", 4, &used, &ev);
			/* the LF is the last content octet: at the limit only when d < 0 */
			assert_int_equal(rc, d < 0 ? CLIENT_POP3_EV_DATA : ERR_TOO_BIG);
		} else {
			assert_int_equal(rc, ERR_TOO_BIG);
			assert_int_equal(sent, LIMIT_CLIENT_MESSAGE);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_lines),   cmocka_unit_test(response_codes),
	    cmocka_unit_test(listings),       cmocka_unit_test(retr_data),
	    cmocka_unit_test(line_limit),     cmocka_unit_test(after_end),
	    cmocka_unit_test(uidl_lines),     cmocka_unit_test(list_stat_lines),
	    cmocka_unit_test(capa_lines),     cmocka_unit_test(message_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
