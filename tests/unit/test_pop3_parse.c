/* test_pop3_parse.c: the POP3 command parser and the multi-line response encoder.
 * Every parser case runs three ways, and all must give the same transcript: the whole
 * input at once, one byte at a time, and split in two at every offset (STYLE 5).
 * The transcript is what a session would see: one entry per pop3_parse() result.
 * Encoder cases compare against expected wire bytes and a line-based reference, for
 * every input chunk size and every (tiny) output buffer size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "pop3/pop3_parse.h"

/* ---- parser harness ---- */

struct run {
	struct arena sa, ca;
	struct pop3_parser ps;
	char log[65536];
	size_t off;
};

static void run_init(struct run *r)
{
	arena_init(&r->sa, LIMIT_SESSION_ARENA);
	arena_init(&r->ca, LIMIT_COMMAND_ARENA);
	pop3_parse_init(&r->ps, &r->sa, &r->ca);
	r->log[0] = '\0';
	r->off = 0;
}

static void run_free(struct run *r)
{
	arena_free(&r->sa);
	arena_free(&r->ca);
}

static void logf_(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->log + r->off, sizeof(r->log) - r->off, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(r->log) - r->off);
	r->off += (size_t)n;
}

static const char *verb_tag(enum pop3_verb v)
{
	switch (v) {
	case POP3_CMD_NONE:
		return "NONE";
	case POP3_CMD_UNKNOWN:
		return "UNKNOWN";
	case POP3_CMD_SASL_RESPONSE:
		return "SASL";
	case POP3_CMD_SASL_CANCEL:
		return "CANCEL";
	default:
		return pop3_verb_name(v);
	}
}

/* Record one result the way a session would act on it, then reset the command
 * arena as the session does after its reply. After AUTH without an initial
 * response the session sends "+ " and expects a SASL line. */
static void record(struct run *r, int rc)
{
	const struct pop3_cmd *c = &r->ps.cmd;
	if (rc == 0)
		return;
	if (rc < 0) {
		const char *e = rc == ERR_TOO_LONG     ? "LONG"
		                : rc == ERR_BAD_SYNTAX ? "BAD"
		                                       : "NOMEM";
		logf_(r, "%s(%s);", e, rc == ERR_TOO_LONG ? "-" : verb_tag(c->verb));
		arena_reset(&r->ca);
		return;
	}
	logf_(r, "%s", verb_tag(c->verb));
	if (c->keyword)
		logf_(r, "[%s]", c->keyword);
	for (unsigned i = 0; i < c->argc; i++) {
		assert_int_equal(strlen(c->argv[i]), c->argl[i]);
		logf_(r, " <%s>", c->argv[i]);
	}
	if (c->has_msg)
		logf_(r, " #%u", (unsigned)c->msg);
	if (c->verb == POP3_CMD_TOP)
		logf_(r, ",%llu", (unsigned long long)c->lines);
	logf_(r, ";");
	if (c->verb == POP3_CMD_AUTH && c->argc == 1)
		pop3_parse_expect_sasl(&r->ps);
	pop3_cmd_wipe(&r->ps.cmd);
	arena_reset(&r->ca);
}

/* Feed one chunk completely, recording every result. */
static void feed(struct run *r, const uint8_t *p, size_t len)
{
	size_t off = 0;
	for (;;) {
		size_t used = 0;
		int rc = pop3_parse(&r->ps, p + off, len - off, &used);
		assert_true(used <= len - off);
		off += used;
		record(r, rc);
		if (rc == ERR_NOMEM)
			return;
		if (rc == 0) {
			assert_int_equal(off, len);
			return;
		}
		if (off == len)
			return;
	}
}

static char *transcript_split(const char *in, size_t len, size_t k)
{
	struct run *r = malloc(sizeof(*r));
	assert_non_null(r);
	run_init(r);
	feed(r, (const uint8_t *)in, k);
	feed(r, (const uint8_t *)in + k, len - k);
	char *s = strdup(r->log);
	run_free(r);
	free(r);
	return s;
}

static char *transcript_bytes(const char *in, size_t len)
{
	struct run *r = malloc(sizeof(*r));
	assert_non_null(r);
	run_init(r);
	for (size_t i = 0; i < len; i++)
		feed(r, (const uint8_t *)in + i, 1);
	char *s = strdup(r->log);
	run_free(r);
	free(r);
	return s;
}

/* The whole input must give want; byte-wise and every split must agree. Splits are
 * sampled on inputs longer than 2 KiB to keep the run short. */
static void check_n(const char *in, size_t len, const char *want)
{
	char *whole = transcript_split(in, len, len);
	if (strcmp(whole, want) != 0)
		fail_msg("input \"%.60s\"...\n got  %s\n want %s", in, whole, want);
	char *b = transcript_bytes(in, len);
	assert_string_equal(b, whole);
	free(b);
	size_t step = len > 2048 ? 97 : 1;
	for (size_t k = 0; k <= len; k += step) {
		char *s = transcript_split(in, len, k);
		if (strcmp(s, whole) != 0)
			fail_msg("split at %zu: %s != %s", k, s, whole);
		free(s);
	}
	free(whole);
}

static void check(const char *in, const char *want)
{
	check_n(in, strlen(in), want);
}

/* ---- commands ---- */

/* RFC 1939 3: "Commands in the POP3 consist of a case-insensitive keyword, possibly
 * followed by one or more arguments." */
static void verbs_authorization(void **state)
{
	check("USER mrose\r\n", "USER <mrose>;");
	check("user mrose\r\n", "USER <mrose>;");
	check("UsEr first.last@department.example.com\r\n",
	      "USER <first.last@department.example.com>;");
	check("USER\r\n", "BAD(USER);");
	check("USER \r\n", "BAD(USER);");
	check("USER a b\r\n", "BAD(USER);");
	/* RFC 1939 7: PASS takes the rest of the line; spaces are part of it. */
	check("PASS secret\r\n", "PASS <secret>;");
	check("pass my secret  pass \r\n", "PASS <my secret  pass >;");
	check("PASS  lead\r\n", "PASS < lead>;");
	check("PASS\r\n", "BAD(PASS);");
	check("PASS \r\n", "BAD(PASS);");
	check("PASS a\tb\r\n", "BAD(PASS);");
	/* RFC 1939 7 example: APOP mrose c4c9334bac560ecc979e58001b3e22fb */
	check("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
	      "APOP <mrose> <c4c9334bac560ecc979e58001b3e22fb>;");
	check("APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n",
	      "APOP <mrose> <C4C9334BAC560ECC979E58001B3E22FB>;");
	check("APOP mrose c4c9334bac560ecc979e58001b3e22f\r\n", "BAD(APOP);");
	check("APOP mrose c4c9334bac560ecc979e58001b3e22fbb\r\n", "BAD(APOP);");
	check("APOP mrose g4c9334bac560ecc979e58001b3e22fb\r\n", "BAD(APOP);");
	check("APOP mrose\r\n", "BAD(APOP);");
	/* RFC 2595 4, RFC 2449 5, RFC 6856 2 and 3: no arguments except LANG's one. */
	check("STLS\r\n", "STLS;");
	check("STLS x\r\n", "BAD(STLS);");
	check("CAPA\r\n", "CAPA;");
	check("capa\r\n", "CAPA;");
	check("CAPA x\r\n", "BAD(CAPA);");
	check("UTF8\r\n", "UTF8;");
	check("UTF8 x\r\n", "BAD(UTF8);");
	check("LANG\r\n", "LANG;");
	check("LANG es\r\n", "LANG <es>;");
	check("LANG *\r\n", "LANG <*>;");
	check("LANG es en\r\n", "BAD(LANG);");
	check("QUIT\r\n", "QUIT;");
	check("QUIT now\r\n", "BAD(QUIT);");
}

/* RFC 5034 4: AUTH mechanism [initial-response]; "=" is an empty initial response;
 * a client line of "*" cancels. RFC 4422 3.1: mechanism names are 1*20 characters
 * of A-Z, 0-9, "-" and "_". */
static void verbs_auth(void **state)
{
	check("AUTH\r\n", "AUTH;");
	check("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n", "AUTH <PLAIN> <dGVzdAB0ZXN0AHRlc3Q=>;");
	check("auth plain =\r\n", "AUTH <plain> <=>;");
	check("AUTH SCRAM-SHA-256 x\r\n", "AUTH <SCRAM-SHA-256> <x>;");
	check("AUTH X_TOKEN_TWENTY_CH x\r\n", "AUTH <X_TOKEN_TWENTY_CH> <x>;");
	check("AUTH ABCDEFGHIJKLMNOPQRST x\r\n", "AUTH <ABCDEFGHIJKLMNOPQRST> <x>;");
	check("AUTH ABCDEFGHIJKLMNOPQRSTU x\r\n", "LONG(-);");
	check("AUTH PL@IN\r\n", "BAD(AUTH);");
	check("AUTH PLAIN a b\r\n", "BAD(AUTH);");
	/* Without an initial response the next line is a SASL response. */
	check("AUTH PLAIN\r\ndGVzdAB0ZXN0AHRlc3Q=\r\nSTAT\r\n",
	      "AUTH <PLAIN>;SASL <dGVzdAB0ZXN0AHRlc3Q=>;STAT;");
	check("AUTH LOGIN\r\n*\r\nNOOP\r\n", "AUTH <LOGIN>;CANCEL;NOOP;");
	check("AUTH PLAIN\r\n\r\n", "AUTH <PLAIN>;SASL <>;");
	check("AUTH PLAIN\r\n**\r\n", "AUTH <PLAIN>;SASL <**>;");
	check_n("AUTH PLAIN\r\nab\0c\r\nNOOP\r\n", 24, "AUTH <PLAIN>;BAD(SASL);NOOP;");
	check("AUTH PLAIN\nQUIT\n", "AUTH <PLAIN>;SASL <QUIT>;");
}

/* RFC 1939 5 and 7: the TRANSACTION commands and their message-number arguments. */
static void verbs_transaction(void **state)
{
	check("STAT\r\n", "STAT;");
	check("STAT 1\r\n", "BAD(STAT);");
	check("LIST\r\n", "LIST;");
	check("LIST 2\r\n", "LIST <2> #2;");
	check("list 0002\r\n", "LIST <0002> #2;");
	check("LIST 0\r\n", "LIST <0> #0;");
	check("LIST 1 2\r\n", "BAD(LIST);");
	check("LIST +1\r\n", "BAD(LIST);");
	check("LIST -1\r\n", "BAD(LIST);");
	check("LIST 1a\r\n", "BAD(LIST);");
	check("LIST 0x1\r\n", "BAD(LIST);");
	check("LIST 4294967295\r\n", "LIST <4294967295> #4294967295;");
	check("LIST 4294967296\r\n", "BAD(LIST);");
	check("LIST 99999999999999999999999\r\n", "BAD(LIST);");
	/* 40 characters of leading zeros are fine, 41 break RFC 1939 3's cap. */
	check("LIST 0000000000000000000000000000000000000001\r\n",
	      "LIST <0000000000000000000000000000000000000001> #1;");
	check("LIST 00000000000000000000000000000000000000001\r\n", "LONG(-);");
	check("RETR 1\r\n", "RETR <1> #1;");
	check("RETR\r\n", "BAD(RETR);");
	check("RETR 1 2\r\n", "BAD(RETR);");
	check("DELE 17\r\n", "DELE <17> #17;");
	check("DELE x\r\n", "BAD(DELE);");
	check("NOOP\r\n", "NOOP;");
	check("NOOP x\r\n", "BAD(NOOP);");
	check("RSET\r\n", "RSET;");
	check("RSET x\r\n", "BAD(RSET);");
	check("TOP 1 0\r\n", "TOP <1> <0> #1,0;");
	check("top 10 25\r\n", "TOP <10> <25> #10,25;");
	check("TOP 1 18446744073709551615\r\n",
	      "TOP <1> <18446744073709551615> #1,18446744073709551615;");
	check("TOP 1 18446744073709551616\r\n", "BAD(TOP);");
	check("TOP 1\r\n", "BAD(TOP);");
	check("TOP 1 -1\r\n", "BAD(TOP);");
	check("TOP 1 2 3\r\n", "BAD(TOP);");
	check("TOP x 2\r\n", "BAD(TOP);");
	check("UIDL\r\n", "UIDL;");
	check("UIDL 3\r\n", "UIDL <3> #3;");
	check("UIDL 3 4\r\n", "BAD(UIDL);");
}

/* Separators, line ends, unknown verbs and bad octets. */
static void line_syntax(void **state)
{
	check("STAT\n", "STAT;");                /* bare LF ends a line too */
	check("STAT \r\n", "STAT;");             /* trailing space tolerated */
	check("LIST   3  \r\n", "LIST <3> #3;"); /* several spaces tolerated */
	check("\r\n", "BAD(NONE);");             /* empty line */
	check("\n", "BAD(NONE);");
	check(" STAT\r\n", "BAD(NONE);");  /* leading space */
	check("STAT\r\r\n", "BAD(NONE);"); /* CR not before LF */
	check("ST\rAT\r\n", "BAD(NONE);");
	check("STAT\t\r\n", "BAD(NONE);");
	check("USER a\x7f\r\n", "BAD(USER);");
	check_n("USER a\0b\r\n", 10, "BAD(USER);");
	check_n("\0\r\n", 3, "BAD(NONE);");
	check("USER j\xc3\xb6rg\r\n", "USER <j\xc3\xb6rg>;"); /* 8-bit passes (RFC 6856) */
	check("XYZZY foo bar\r\n", "UNKNOWN[XYZZY];");
	check("STATS\r\n", "UNKNOWN[STATS];");
	check("STA\r\n", "UNKNOWN[STA];");
	check("\xff\xfe\r\n", "UNKNOWN[\xff\xfe];");
	/* No line end yet: nothing comes out. */
	check("STAT", "");
	check("STAT\r", "");
}

/* RFC 2449 6.6 (PIPELINING): several commands in one read, answered in order. */
static void pipelining(void **state)
{
	check("USER a\r\nPASS b c\r\nSTAT\r\nLIST 1\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n",
	      "USER <a>;PASS <b c>;STAT;LIST <1> #1;RETR <1> #1;DELE <1> #1;QUIT;");
	check("NOOP\nBOGUS\r\n\r\nTOP 1 x\r\nRSET\n",
	      "NOOP;UNKNOWN[BOGUS];BAD(NONE);BAD(TOP);RSET;");
}

/* A line of total octets n (terminator included) carrying a USER argument. */
static char *user_line(size_t n, const char *term)
{
	size_t tl = strlen(term);
	char *s = malloc(n + 16);
	assert_non_null(s);
	memcpy(s, "USER ", 5);
	memset(s + 5, 'x', n - 5 - tl);
	memcpy(s + n - tl, term, tl);
	memcpy(s + n, "NOOP\r\n", 7);
	return s;
}

static char *expect_user(size_t arglen)
{
	char *w = malloc(arglen + 32);
	assert_non_null(w);
	memcpy(w, "USER <", 6);
	memset(w + 6, 'x', arglen);
	memcpy(w + 6 + arglen, ">;NOOP;", 8);
	return w;
}

/* RFC 2449 4: "The maximum length of a command is increased from 47 characters
 * (4 character command, single space, 40 character argument, CRLF) to 255 octets,
 * including the terminating CRLF." Limit -1, 0, +1; then the next line still parses. */
static void line_limits(void **state)
{
	for (size_t n = LIMIT_POP3_LINE - 1; n <= LIMIT_POP3_LINE; n++) {
		char *in = user_line(n, "\r\n");
		char *want = expect_user(n - 7);
		check_n(in, n + 6, want);
		free(in);
		free(want);
		in = user_line(n, "\n");
		want = expect_user(n - 6);
		check_n(in, n + 6, want);
		free(in);
		free(want);
	}
	char *in = user_line(LIMIT_POP3_LINE + 1, "\r\n");
	check_n(in, LIMIT_POP3_LINE + 1 + 6, "LONG(-);NOOP;");
	free(in);
	in = user_line(LIMIT_POP3_LINE + 1, "\n");
	check_n(in, LIMIT_POP3_LINE + 1 + 6, "LONG(-);NOOP;");
	free(in);
	/* A very long line: one error, everything discarded to its LF. */
	size_t big = 20000;
	in = malloc(big + 16);
	assert_non_null(in);
	memset(in, 'A', big);
	memcpy(in + big, "\r\nNOOP\r\n", 9);
	check_n(in, big + 8, "LONG(-);NOOP;");
	free(in);
}

/* AUTH lines and SASL responses may reach LIMIT_SASL_LINE (RFC 5034 4). */
static void sasl_limits(void **state)
{
	static char in[LIMIT_SASL_LINE + 64], want[LIMIT_SASL_LINE + 64];
	for (size_t total = LIMIT_SASL_LINE - 1; total <= LIMIT_SASL_LINE + 1; total++) {
		/* AUTH PLAIN <ir>CRLF of total octets. */
		size_t ir = total - 11 - 2;
		memcpy(in, "AUTH PLAIN ", 11);
		memset(in + 11, 'A', ir);
		memcpy(in + 11 + ir, "\r\nNOOP\r\n", 9);
		if (total <= LIMIT_SASL_LINE) {
			memcpy(want, "AUTH <PLAIN> <", 14);
			memset(want + 14, 'A', ir);
			memcpy(want + 14 + ir, ">;NOOP;", 8);
		} else {
			memcpy(want, "LONG(-);NOOP;", 14);
		}
		check_n(in, total + 6, want);
		/* A SASL response line of total octets after AUTH PLAIN. */
		size_t body = total - 2;
		memcpy(in, "AUTH PLAIN\r\n", 12);
		memset(in + 12, 'B', body);
		memcpy(in + 12 + body, "\r\nNOOP\r\n", 9);
		if (total <= LIMIT_SASL_LINE) {
			memcpy(want, "AUTH <PLAIN>;SASL <", 19);
			memset(want + 19, 'B', body);
			memcpy(want + 19 + body, ">;NOOP;", 8);
		} else {
			memcpy(want, "AUTH <PLAIN>;LONG(-);NOOP;", 27);
		}
		check_n(in, 12 + total + 6, want);
	}
	/* Other verbs keep the short limit even though AUTH may be long. */
	char *u = user_line(LIMIT_POP3_LINE + 1, "\r\n");
	u[0] = 'A'; /* "ASER ..." is an unknown verb of the same length */
	check_n(u, LIMIT_POP3_LINE + 1 + 6, "LONG(-);NOOP;");
	free(u);
}

static void lowered_limits_reset_nomem(void **state)
{
	struct arena sa, ca;
	struct pop3_parser ps;
	size_t used;
	arena_init(&sa, LIMIT_SESSION_ARENA);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	pop3_parse_init(&ps, &sa, &ca);
	pop3_parse_set_limits(&ps, 1, 1); /* clamped to 16 */
	assert_int_equal(ps.line_max, 16);
	assert_int_equal(ps.sasl_max, 16);
	const char *ok = "USER 123456789\r\n"; /* 16 octets */
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)ok, 16, &used), 1);
	assert_int_equal(used, 16);
	assert_string_equal(ps.cmd.argv[0], "123456789");
	const char *bad = "USER 1234567890\r\n";
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)bad, 17, &used), ERR_TOO_LONG);
	assert_int_equal(used, 15);
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)bad + 15, 2, &used), 0);
	assert_int_equal(used, 2);
	pop3_parse_set_limits(&ps, 100000, 100000);
	assert_int_equal(ps.line_max, LIMIT_POP3_LINE);
	assert_int_equal(ps.sasl_max, LIMIT_SASL_LINE);
	/* PASS arguments are secrets: the session wipes them after use. */
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)"PASS se cret\r\n", 14, &used), 1);
	assert_true(pop3_verbs[ps.cmd.verb].secret);
	char *pw = ps.cmd.argv[0];
	assert_string_equal(pw, "se cret");
	pop3_cmd_wipe(&ps.cmd);
	assert_memory_equal(pw, "\0\0\0\0\0\0\0", 8);
	/* reset (STLS): a partial line sent before TLS is forgotten. */
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)"USER evil", 9, &used), 0);
	pop3_parse_reset(&ps);
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)"CAPA\r\n", 6, &used), 1);
	assert_int_equal(ps.cmd.verb, POP3_CMD_CAPA);
	assert_int_equal(ps.cmd.octets, 6);
	/* The command arena full: ERR_NOMEM, which the session treats as fatal. */
	arena_free(&ca);
	arena_init(&ca, 0);
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)"USER bob\r\n", 10, &used), ERR_NOMEM);
	/* The session arena full when a line outgrows the small buffer. */
	struct arena tiny;
	arena_init(&tiny, 64);
	arena_free(&ca);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	pop3_parse_init(&ps, &tiny, &ca);
	char line[400];
	memcpy(line, "AUTH PLAIN ", 11);
	memset(line + 11, 'Q', sizeof(line) - 11);
	assert_int_equal(pop3_parse(&ps, (const uint8_t *)line, sizeof(line), &used), ERR_NOMEM);
	arena_free(&tiny);
	arena_free(&ca);
	arena_free(&sa);
}

/* The dispatch facts the session builds its table from (RFC 1939 4-7, 2449 5,
 * 2595 4, 5034 4, 6856 2-3). */
static void verb_table(void **state)
{
	const unsigned A = POP3_ST_AUTHORIZATION, T = POP3_ST_TRANSACTION;
	static const enum pop3_verb auth_only[] = {POP3_CMD_USER, POP3_CMD_PASS, POP3_CMD_APOP,
	                                           POP3_CMD_AUTH, POP3_CMD_STLS, POP3_CMD_UTF8};
	static const enum pop3_verb trans_only[] = {POP3_CMD_STAT, POP3_CMD_LIST, POP3_CMD_RETR,
	                                            POP3_CMD_DELE, POP3_CMD_NOOP, POP3_CMD_RSET,
	                                            POP3_CMD_TOP,  POP3_CMD_UIDL};
	for (size_t i = 0; i < sizeof(auth_only) / sizeof(auth_only[0]); i++)
		assert_int_equal(pop3_verbs[auth_only[i]].states, A);
	for (size_t i = 0; i < sizeof(trans_only) / sizeof(trans_only[0]); i++)
		assert_int_equal(pop3_verbs[trans_only[i]].states, T);
	assert_int_equal(pop3_verbs[POP3_CMD_QUIT].states, A | T);
	assert_int_equal(pop3_verbs[POP3_CMD_CAPA].states, A | T);
	assert_int_equal(pop3_verbs[POP3_CMD_LANG].states, A | T);
	assert_int_equal(pop3_verbs[POP3_CMD_UNKNOWN].states, 0);
	assert_true(pop3_verbs[POP3_CMD_PASS].secret);
	assert_true(pop3_verbs[POP3_CMD_AUTH].secret);
	assert_true(pop3_verbs[POP3_CMD_USER].cleartext_login);
	assert_false(pop3_verbs[POP3_CMD_APOP].cleartext_login);
	assert_string_equal(pop3_verb_name(POP3_CMD_TOP), "TOP");
	assert_string_equal(pop3_verb_name(POP3_CMD_COUNT), "?");
	for (unsigned v = POP3_CMD_USER; v <= POP3_CMD_LANG; v++)
		assert_true(strlen(pop3_verbs[v].name) >= 3 && strlen(pop3_verbs[v].name) <= 4);
}

/* ---- multi-line encoder ---- */

/* Encode with input chunks of `chunk` bytes into an output buf of `cap` bytes that
 * is drained into a growing result after every call. */
static char *encode(const char *in, size_t len, bool top, uint64_t lines, size_t chunk, size_t cap,
                    size_t *out_len)
{
	struct pop3_dot d;
	if (top)
		pop3_dot_init_top(&d, lines);
	else
		pop3_dot_init(&d);
	size_t rcap = len * 2 + 16, rlen = 0;
	char *res = malloc(rcap);
	uint8_t *store = malloc(cap);
	assert_non_null(res);
	assert_non_null(store);
	struct buf out;
	buf_init(&out, store, cap);
	size_t off = 0;
	bool stop = false;
	while (off < len && !stop) {
		size_t n = len - off < chunk ? len - off : chunk;
		size_t used;
		int rc = pop3_dot_encode(&d, (const uint8_t *)in + off, n, &used, &out);
		assert_true(used <= n);
		off += used;
		stop = rc == 1;
		assert_true(rlen + out.len <= rcap);
		memcpy(res + rlen, out.data, out.len);
		rlen += out.len;
		buf_clear(&out);
		if (rc == 1)
			assert_int_equal(used, n); /* TOP skips the rest of what it was given */
	}
	for (int guard = 0;; guard++) {
		assert_true(guard < 100);
		int rc = pop3_dot_finish(&d, &out);
		assert_true(rlen + out.len <= rcap);
		memcpy(res + rlen, out.data, out.len);
		rlen += out.len;
		buf_clear(&out);
		if (rc == 1)
			break;
	}
	free(store);
	*out_len = rlen;
	return res;
}

/* A reference written differently: split into lines, fix each one up. */
static char *reference(const char *in, size_t len, size_t *out_len)
{
	char *res = malloc(len * 2 + 16);
	size_t r = 0, i = 0;
	assert_non_null(res);
	while (i < len) {
		const char *lf = memchr(in + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - in) : len; /* index of LF or len */
		if (in[i] == '.')
			res[r++] = '.';
		memcpy(res + r, in + i, end - i);
		r += end - i;
		bool cr = end > i && in[end - 1] == '\r';
		if (!cr)
			res[r++] = '\r';
		res[r++] = '\n';
		i = lf ? end + 1 : len;
	}
	memcpy(res + r, ".\r\n", 3);
	*out_len = r + 3;
	return res;
}

/* All chunkings agree with the whole run, which must equal want. */
static void enc_check_n(const char *in, size_t len, bool top, uint64_t lines, const char *want,
                        size_t want_len)
{
	size_t wl;
	char *whole = encode(in, len, top, lines, len ? len : 1, len * 2 + 16, &wl);
	if (wl != want_len || memcmp(whole, want, wl) != 0)
		fail_msg("encode \"%.40s\": got \"%.*s\"", in, (int)wl, whole);
	static const size_t caps[] = {1, 2, 3, 4, 5, 7, 64};
	for (size_t chunk = 1; chunk <= len + 1; chunk++)
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			size_t n;
			char *s = encode(in, len, top, lines, chunk, caps[c], &n);
			assert_int_equal(n, wl);
			assert_memory_equal(s, whole, wl);
			free(s);
		}
	free(whole);
}

static void enc_check(const char *in, bool top, uint64_t lines, const char *want)
{
	enc_check_n(in, strlen(in), top, lines, want, strlen(want));
}

/* RFC 1939 3: "If any line of the multi-line response begins with the termination
 * octet, the line is "byte-stuffed" by pre-pending the termination octet to that line
 * of the response." The terminator is "." CRLF. */
static void dot_stuffing(void **state)
{
	enc_check("", false, 0, ".\r\n");
	enc_check("a\r\n", false, 0, "a\r\n.\r\n");
	enc_check(".\r\n", false, 0, "..\r\n.\r\n");
	enc_check("..\r\n", false, 0, "...\r\n.\r\n");
	enc_check("a\r\n.b\r\n..c\r\n.\r\nd.\r\n", false, 0,
	          "a\r\n..b\r\n...c\r\n..\r\nd.\r\n.\r\n");
	/* CRLF.CRLF inside a message never ends the response early. */
	enc_check("x\r\n.\r\ny\r\n", false, 0, "x\r\n..\r\ny\r\n.\r\n");
	/* No final CRLF: the terminator still gets a line of its own. */
	enc_check("a\r\nb", false, 0, "a\r\nb\r\n.\r\n");
	enc_check(".", false, 0, "..\r\n.\r\n");
	enc_check("a\r", false, 0, "a\r\n.\r\n");
	/* LF-only input becomes CRLF. */
	enc_check("a\nb\n", false, 0, "a\r\nb\r\n.\r\n");
	enc_check(".x\n.\n", false, 0, "..x\r\n..\r\n.\r\n");
	enc_check("\n\n", false, 0, "\r\n\r\n.\r\n");
	/* A bare CR inside a line is content: unchanged, and not a line start. */
	enc_check("a\rb\r\n\r.c\r\n", false, 0, "a\rb\r\n\r.c\r\n.\r\n");
	enc_check_n("a\0b\r\n.\0\r\n", 9, false, 0, "a\0b\r\n..\0\r\n.\r\n", 13);
}

/* LIST/STAT octet counts are the stored (CRLF) sizes: the wire form differs from the
 * stored message only by the stuffed dots and the terminator. */
static void dot_octets(void **state)
{
	const char *m = "Subject: x\r\n\r\n.hidden\r\nbody\r\n..\r\n";
	size_t n;
	char *s = encode(m, strlen(m), false, 0, 5, 3, &n);
	assert_int_equal(n, strlen(m) + 2 + 3);
	free(s);
}

/* RFC 1939 7 (TOP): "the POP3 server sends the headers of the message, the blank
 * line separating the headers from the body, and then the number of lines of the
 * indicated message's body". */
static void dot_top(void **state)
{
	const char *m = "From: a\r\nSubject: b\r\n\r\nline1\r\n.line2\r\nline3\r\n";
	enc_check(m, true, 0, "From: a\r\nSubject: b\r\n\r\n.\r\n");
	enc_check(m, true, 1, "From: a\r\nSubject: b\r\n\r\nline1\r\n.\r\n");
	enc_check(m, true, 2, "From: a\r\nSubject: b\r\n\r\nline1\r\n..line2\r\n.\r\n");
	enc_check(m, true, 3, "From: a\r\nSubject: b\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n");
	enc_check(m, true, 4, "From: a\r\nSubject: b\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n");
	enc_check(m, true, UINT64_MAX,
	          "From: a\r\nSubject: b\r\n\r\nline1\r\n..line2\r\nline3\r\n.\r\n");
	/* A folded header line (leading space) is not the blank line. */
	enc_check("A: 1\r\n \r\n\r\nb\r\n", true, 0, "A: 1\r\n \r\n\r\n.\r\n");
	/* LF-only and a body without a final line end. */
	enc_check("A: 1\n\nb1\nb2", true, 0, "A: 1\r\n\r\n.\r\n");
	enc_check("A: 1\n\nb1\nb2", true, 2, "A: 1\r\n\r\nb1\r\nb2\r\n.\r\n");
	/* No blank line at all: everything is header and goes out. */
	enc_check("A: 1\r\nB: 2", true, 0, "A: 1\r\nB: 2\r\n.\r\n");
	/* Empty body lines count as lines. */
	enc_check("A: 1\r\n\r\n\r\n\r\nx\r\n", true, 2, "A: 1\r\n\r\n\r\n\r\n.\r\n");
	/* The message starts with the blank line (no header). */
	enc_check("\r\nbody\r\n", true, 0, "\r\n.\r\n");
	enc_check("", true, 5, ".\r\n");
	/* encode says when TOP needs no more input. */
	struct pop3_dot d;
	uint8_t st[64];
	struct buf out;
	size_t used;
	buf_init(&out, st, sizeof(st));
	pop3_dot_init_top(&d, 0);
	assert_int_equal(pop3_dot_encode(&d, (const uint8_t *)"A: 1\r\n", 6, &used, &out), 0);
	assert_int_equal(pop3_dot_encode(&d, (const uint8_t *)"\r\nrest", 6, &used, &out), 1);
	assert_int_equal(used, 6);
	assert_int_equal(pop3_dot_encode(&d, (const uint8_t *)"more", 4, &used, &out), 1);
	assert_int_equal(used, 4);
	assert_int_equal(pop3_dot_finish(&d, &out), 1);
	assert_memory_equal(out.data, "A: 1\r\n\r\n.\r\n", out.len);
}

/* Pseudo-random messages over a small alphabet against the reference, with every
 * chunking; then a 2 MiB message streamed through a 64 KiB buffer. */
static void dot_random_and_stream(void **state)
{
	static const char alpha[] = ".\r\na";
	uint32_t x = 12345;
	char in[40];
	for (int t = 0; t < 300; t++) {
		size_t len = (size_t)(t % 24);
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			in[i] = alpha[(x >> 16) % 4];
		}
		size_t rl;
		char *ref = reference(in, len, &rl);
		enc_check_n(in, len, false, 0, ref, rl);
		free(ref);
	}
	size_t big = 2u << 20;
	char *m = malloc(big);
	assert_non_null(m);
	for (size_t i = 0; i < big; i++) {
		x = x * 1103515245u + 12345u;
		m[i] = (i % 61 == 60)       ? '\n'
		       : (i % 61 == 59)     ? '\r'
		       : (x >> 24) % 3 == 0 ? '.'
		                            : 'm';
	}
	size_t rl, n;
	char *ref = reference(m, big, &rl);
	char *s = encode(m, big, false, 0, 65536, 65536, &n);
	assert_int_equal(n, rl);
	assert_memory_equal(s, ref, rl);
	free(s);
	free(ref);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(verbs_authorization),
	    cmocka_unit_test(verbs_auth),
	    cmocka_unit_test(verbs_transaction),
	    cmocka_unit_test(line_syntax),
	    cmocka_unit_test(pipelining),
	    cmocka_unit_test(line_limits),
	    cmocka_unit_test(sasl_limits),
	    cmocka_unit_test(lowered_limits_reset_nomem),
	    cmocka_unit_test(verb_table),
	    cmocka_unit_test(dot_stuffing),
	    cmocka_unit_test(dot_octets),
	    cmocka_unit_test(dot_top),
	    cmocka_unit_test(dot_random_and_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
