/* test_client_imap_parse.c: the IMAP client's response parser. Every case runs three
 * ways, which must give the same transcript: the whole input at once, one byte at a
 * time, and split in two at every offset (STYLE 5). The transcript is one line per
 * response (tokens, code, text) with the pieces of handed-out literals joined, or
 * "E<err>" where parsing stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/client_imap.h"
#include "client/client_imap_int.h"
#include "client/client_imap_parse.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"

struct limits {
	size_t line, items, hold;
	unsigned depth;
	uint64_t literal;
};

static const struct limits defaults = {1024, 1000, 16, 8, 1u << 20};

struct run {
	struct arena ia, ra;
	struct client_imap_parser ps;
	char log[16384];
	size_t off;
	char data[4096]; /* pieces of the current handed-out literals */
	size_t data_len;
	uint64_t next_off;
	bool dead;
};

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

static void log_bytes(struct run *r, const char *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			logf_(r, "\\x%02x", c);
		else
			logf_(r, "%c", c);
	}
}

static void log_toks(struct run *r, const struct client_imap_tok *t)
{
	for (bool first = true; t; t = t->next, first = false) {
		if (!first)
			logf_(r, " ");
		switch (t->type) {
		case CLIENT_IMAP_TOK_ATOM:
			log_bytes(r, t->s, t->len);
			break;
		case CLIENT_IMAP_TOK_NIL:
			logf_(r, "NIL");
			break;
		case CLIENT_IMAP_TOK_STRING:
			logf_(r, "\"");
			log_bytes(r, t->s, t->len);
			logf_(r, "\"");
			break;
		case CLIENT_IMAP_TOK_LIST:
			logf_(r, "(");
			log_toks(r, t->child);
			logf_(r, ")");
			break;
		case CLIENT_IMAP_TOK_STREAMED:
			logf_(r, "{S%llu}", (unsigned long long)t->len);
			break;
		}
	}
}

static void record(struct run *r, int rc)
{
	if (rc < 0) {
		logf_(r, "E%d\n", rc);
		r->dead = true;
		return;
	}
	if (rc == CLIENT_IMAP_PARSE_DATA) {
		const struct client_imap_parser *ps = &r->ps;
		assert_int_equal(ps->data_off, r->next_off);
		assert_true(ps->data_len > 0);
		assert_true(r->data_len + ps->data_len < sizeof(r->data));
		memcpy(r->data + r->data_len, ps->data, ps->data_len);
		r->data_len += ps->data_len;
		r->next_off = ps->data_off + ps->data_len;
		if (r->next_off == ps->data_total) {
			/* the item name in front of it */
			logf_(r, "<");
			if (ps->data_item)
				log_toks(r, &(struct client_imap_tok){.type = ps->data_item->type,
								       .s = ps->data_item->s,
								       .len = ps->data_item->len});
			logf_(r, ":");
			log_bytes(r, r->data, r->data_len);
			logf_(r, ">");
			r->data_len = 0;
			r->next_off = 0;
		}
		return;
	}
	if (rc != CLIENT_IMAP_PARSE_RESPONSE)
		return;
	const struct client_imap_resp *rp = r->ps.resp;
	static const char *const st[] = {"-", "OK", "NO", "BAD", "BYE", "PREAUTH"};
	logf_(r, "%s %s",
	      rp->kind == CLIENT_IMAP_RESP_TAGGED	? rp->tag
	      : rp->kind == CLIENT_IMAP_RESP_CONTINUE ? "+"
						       : "*",
	      st[rp->status]);
	if (rp->code) {
		logf_(r, " [%s", rp->code);
		if (rp->code_args) {
			logf_(r, " ");
			log_toks(r, rp->code_args);
		}
		logf_(r, "]");
	}
	if (rp->status != CLIENT_IMAP_ST_NONE || rp->kind == CLIENT_IMAP_RESP_CONTINUE) {
		logf_(r, " '");
		log_bytes(r, rp->text, strlen(rp->text));
		logf_(r, "'");
	}
	if (rp->toks) {
		logf_(r, " | ");
		log_toks(r, rp->toks);
	}
	if (rp->kind == CLIENT_IMAP_RESP_UNTAGGED && client_imap_tok_is(rp->toks, "STATUS")) {
		/* what the engine reads of it (client_imap_status_parse) */
		struct client_imap_mailbox_status ms;
		const struct client_imap_tok *nm;
		int e = client_imap_status_parse(rp->toks->next, &nm, &ms);
		if (e < 0)
			logf_(r, " => E%d", e);
		else
			logf_(r, " => %s has=%u m=%u n=%u v=%u h=%llu", nm->s, ms.has, ms.messages,
			      ms.uidnext, ms.uidvalidity, (unsigned long long)ms.highestmodseq);
	}
	logf_(r, "\n");
	arena_reset(&r->ra); /* as the engine does after each response */
}

static void run_init(struct run *r, const struct limits *l)
{
	memset(r, 0, sizeof(*r));
	arena_init(&r->ia, 1u << 24);
	arena_init(&r->ra, 1u << 24);
	assert_int_equal(client_imap_parser_init(&r->ps, &r->ia, &r->ra, l->line, l->depth,
						 l->items, l->hold, l->literal),
			 0);
}

static void run_feed(struct run *r, const uint8_t *p, size_t n)
{
	while (!r->dead && n > 0) {
		size_t used;
		int rc = client_imap_parse(&r->ps, p, n, &used);
		assert_true(used <= n);
		record(r, rc);
		if (rc < 0)
			return;
		/* progress, or all of it consumed waiting for more */
		assert_true(used > 0 || rc > 0);
		p += used;
		n -= used;
		if (rc == 0)
			assert_int_equal(n, 0);
	}
}

static void run_free(struct run *r)
{
	arena_free(&r->ia);
	arena_free(&r->ra);
}

/* The transcript of in[0..n) cut at the offsets in cuts (sorted, 0 terminated). */
static void transcript(const struct limits *l, const char *in, size_t n, size_t step,
		       size_t cut, char *out, size_t cap)
{
	struct run *r = malloc(sizeof(*r));
	assert_non_null(r);
	run_init(r, l);
	const uint8_t *p = (const uint8_t *)in;
	if (step) {
		for (size_t i = 0; i < n; i += step)
			run_feed(r, p + i, n - i < step ? n - i : step);
	} else {
		run_feed(r, p, cut);
		run_feed(r, p + cut, n - cut);
	}
	if (!r->dead && (r->ps.lex != 0 || r->data_len))
		logf_(r, "MORE\n");
	assert_true(strlen(r->log) < cap);
	memcpy(out, r->log, strlen(r->log) + 1);
	run_free(r);
	free(r);
}

static void check_l(const struct limits *l, const char *in, size_t n, const char *want)
{
	static char whole[16384], other[16384];
	transcript(l, in, n, 0, n, whole, sizeof(whole));
	if (strcmp(whole, want) != 0)
		fail_msg("input %s\n got: %s\nwant: %s", in, whole, want);
	transcript(l, in, n, 1, 0, other, sizeof(other));
	if (strcmp(whole, other) != 0)
		fail_msg("byte at a time differs for %s:\n%s\nvs\n%s", in, other, whole);
	for (size_t cut = 0; cut <= n; cut++) {
		transcript(l, in, n, 0, cut, other, sizeof(other));
		if (strcmp(whole, other) != 0)
			fail_msg("split at %zu differs for %s:\n%s\nvs\n%s", cut, in, other, whole);
	}
}

static void check_s(const struct limits *l, const char *in, const char *want)
{
	check_l(l, in, strlen(in), want);
}

static void check(const char *in, const char *want)
{
	check_l(&defaults, in, strlen(in), want);
}

static void test_status(void **st)
{
	(void)st;
	check("* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+] Dovecot ready.\r\n",
	      "* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+] 'Dovecot ready.'\n");
	check("k1 OK done\r\nk2 NO [NONEXISTENT] Unknown Mailbox: x\r\n",
	      "k1 OK 'done'\nk2 NO [NONEXISTENT] 'Unknown Mailbox: x'\n");
	check("k3 bad [ALERT]\r\n", "k3 BAD [ALERT] ''\n");
	check("k4 OK\r\n", "k4 OK ''\n");
	check("k4 OK \n", "k4 OK ''\n"); /* bare LF */
	check("* BYE shutting down\r\n", "* BYE 'shutting down'\n");
	check("* PREAUTH ready\r\n", "* PREAUTH 'ready'\n");
	check("+ idling\r\n+\r\n+ \r\n", "+ - 'idling'\n+ - ''\n+ - ''\n");
	check("+ [ALERT] hi\r\n", "+ - [ALERT] 'hi'\n");
	/* text may hold anything but line ends and NUL: brackets, parens, quotes, 8-bit */
	check("k5 NO a (b [c \"d \xc3\xa4\r\n", "k5 NO 'a (b [c \"d \\xc3\\xa4'\n");
	check("* OK [UIDVALIDITY 1700000000] UIDs valid\r\n",
	      "* OK [UIDVALIDITY 1700000000] 'UIDs valid'\n");
	check("* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Flags permitted.\r\n",
	      "* OK [PERMANENTFLAGS (\\x5cAnswered \\x5cSeen \\x5c*)] 'Flags permitted.'\n");
	check("k6 OK [APPENDUID 38505 3955:3957,3960] APPEND completed\r\n",
	      "k6 OK [APPENDUID 38505 3955:3957,3960] 'APPEND completed'\n");
	check("k7 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
	      "k7 OK [COPYUID 38505 304,319:320 3956:3958] 'Done'\n");
	check("* OK [HIGHESTMODSEQ 715194045007]\r\n* OK [NOMODSEQ] x\r\n* OK [CLOSED]\r\n",
	      "* OK [HIGHESTMODSEQ 715194045007] ''\n* OK [NOMODSEQ] 'x'\n* OK [CLOSED] ''\n");
	check("k8 OK [READ-WRITE]SELECT\r\n", "k8 OK [READ-WRITE] 'SELECT'\n");
	check("k9 NO [BADCHARSET (UTF-8 \"x y\")] no\r\n",
	      "k9 NO [BADCHARSET (UTF-8 \"x y\")] 'no'\n");
}

static void test_data(void **st)
{
	(void)st;
	check("* 23 EXISTS\r\n* 3 EXPUNGE\r\n", "* - | 23 EXISTS\n* - | 3 EXPUNGE\n");
	check("* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\n",
	      "* - | CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\n");
	check("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n",
	      "* - | LIST (\\x5cHasNoChildren \\x5cSent) \"/\" \"Sent Items\"\n");
	check("* LIST () NIL INBOX\r\n* LIST () nil {5}\r\na\"b c\r\n",
	      "* - | LIST () NIL INBOX\n* - | LIST () NIL \"a\"b c\"\n");
	check("* LIST () \".\" \"a\\\\b\\\"c\"\r\n", "* - | LIST () \".\" \"a\\x5cb\"c\"\n");
	check("* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) MODSEQ (12345) RFC822.SIZE 44)\r\n",
	      "* - | 12 FETCH (UID 7 FLAGS (\\x5cSeen $Forwarded) MODSEQ (12345) RFC822.SIZE "
	      "44)\n");
	check("* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] {9}\r\nID: <x>\r\n UID 4)\r\n",
	      "* - | 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] \"ID: <x>\\x0d\\x0a\" UID 4)\n");
	check("* 1 FETCH (INTERNALDATE \" 2-Dec-2026 10:00:00 +0100\" BODY[]<0> {0}\r\n)\r\n",
	      "* - | 1 FETCH (INTERNALDATE \" 2-Dec-2026 10:00:00 +0100\" BODY[]<0> \"\")\n");
	check("* VANISHED (EARLIER) 300:310,405,411\r\n",
	      "* - | VANISHED (EARLIER) 300:310,405,411\n");
	check("* ESEARCH (TAG \"k3\") UID ALL 4:18,21\r\n* SEARCH 2 84 882\r\n* SEARCH\r\n",
	      "* - | ESEARCH (TAG \"k3\") UID ALL 4:18,21\n* - | SEARCH 2 84 882\n* - | SEARCH\n");
	check("* ENABLED CONDSTORE QRESYNC\r\n", "* - | ENABLED CONDSTORE QRESYNC\n");
	check("* FLAGS (\\Answered ~weird)\r\n", "* - | FLAGS (\\x5cAnswered ~weird)\n");
	check("* 1 FETCH (FLAGS ())\r\n* 1 FETCH ((()))\r\n",
	      "* - | 1 FETCH (FLAGS ())\n* - | 1 FETCH ((()))\n");
	check("* STATUS \"a b\" (MESSAGES 3  UIDNEXT 9)\r\n",
	      "* - | STATUS \"a b\" (MESSAGES 3 UIDNEXT 9) => a b has=3 m=3 n=9 v=0 h=0\n");
}

static void test_literal8_nul(void **st)
{
	(void)st;
	static const char in[] = "* 2 FETCH (BINARY[1] ~{3}\r\n\x00\x01\x02)\r\n";
	check_l(&defaults, in, sizeof(in) - 1, "* - | 2 FETCH (BINARY[1] \"\\x00\\x01\\x02\")\n");
}

static void test_streamed(void **st)
{
	(void)st;
	/* over hold (16): handed out in pieces, the item name beside it */
	check("* 3 FETCH (UID 9 BODY[] {20}\r\n0123456789\r\n01234567 FLAGS ())\r\nk1 OK x\r\n",
	      "<BODY[]:0123456789\\x0d\\x0a01234567>* - | 3 FETCH (UID 9 BODY[] {S20} FLAGS "
	      "())\nk1 OK 'x'\n");
	check("* 3 FETCH ({17}\r\nAAAAAAAAAAAAAAAAA)\r\n",
	      "<:AAAAAAAAAAAAAAAAA>* - | 3 FETCH ({S17})\n");
	/* exactly hold: held */
	check("* 3 FETCH (RFC822 {16}\r\nAAAAAAAAAAAAAAAA)\r\n",
	      "* - | 3 FETCH (RFC822 \"AAAAAAAAAAAAAAAA\")\n");
	/* two handed-out literals in one response */
	check("* 1 FETCH (A {17}\r\nBBBBBBBBBBBBBBBBB B {17}\r\nCCCCCCCCCCCCCCCCC)\r\n",
	      "<A:BBBBBBBBBBBBBBBBB><B:CCCCCCCCCCCCCCCCC>* - | 1 FETCH (A {S17} B {S17})\n");
}

static void test_invalid(void **st)
{
	(void)st;
	check("\r\n", "E-11\n");
	check(" * OK\r\n", "E-11\n");
	check("*\r\n", "E-11\n");
	check("* \r\n", "E-11\n");
	check("k1 FOO bar\r\n", "E-11\n");        /* tagged, not a status */
	check("k1 BYE bar\r\n", "E-11\n");        /* BYE is untagged only */
	check("k1 (OK)\r\n", "E-11\n");
	check("* OK a\rb\r\n", "E-11\n");         /* bare CR */
	check("* 1 FETCH (UID 1\r\n", "E-11\n");  /* line end in a list */
	check("* 1 FETCH (UID 1))\r\n", "E-11\n"); /* unbalanced */
	check("* 1 FETCH \"a\r\n", "E-11\n");
	check("* 1 FETCH {x}\r\n", "E-11\n");
	check("* 1 FETCH {}\r\n", "E-11\n");
	check("* 1 FETCH {3}x\r\n", "E-11\n");
	check("* 1 FETCH {99999999999999999999999}\r\n", "E-10\n");
	check("* OK [UIDVALIDITY 3\r\n", "E-11\n");
	check("* OK []\r\n", "E-11\n");
	check("* 1 FETCH a\x01\r\n", "E-11\n");
	check("* 1 FETCH (BODY[x\r\n", "E-11\n");
	check("* 1 FETCH )\r\n", "E-11\n");
	check("* 1 FETCH ]\r\n", "E-11\n");
	static const char nul[] = "* OK a\0b\r\n";
	check_l(&defaults, nul, sizeof(nul) - 1, "E-11\n");
	/* after an error nothing more is read */
	check("* OK a\rb\r\n* OK fine\r\n", "E-11\n");
}

/* A line of n bytes with its CRLF: "* OK " + x... */
static void line_of(char *buf, size_t n)
{
	memcpy(buf, "* OK ", 5);
	memset(buf + 5, 'x', n - 7);
	memcpy(buf + n - 2, "\r\n", 3);
}

static void test_limits(void **st)
{
	(void)st;
	struct limits l = defaults;
	char in[256], want[256];
	l.line = 40;
	line_of(in, 39);
	snprintf(want, sizeof(want), "* OK '%.*s'\n", 32, in + 5);
	check_l(&l, in, 39, want);
	line_of(in, 40);
	snprintf(want, sizeof(want), "* OK '%.*s'\n", 33, in + 5);
	check_l(&l, in, 40, want);
	line_of(in, 41);
	check_l(&l, in, 41, "E-8\n");
	/* a literal's bytes do not count, the line after it starts again */
	check_l(&l, "* 1 FETCH (A {30}\r\n012345678901234567890123456789 B 1234567890123456)\r\n",
		strlen("* 1 FETCH (A {30}\r\n012345678901234567890123456789 B 1234567890123456)\r\n"),
		"<A:012345678901234567890123456789>* - | 1 FETCH (A {S30} B 1234567890123456)\n");

	l = defaults;
	l.depth = 2;
	check_s(&l, "* X (())\r\n", "* - | X (())\n");
	check_s(&l, "* X ((()))\r\n", "E-9\n");
	l.depth = 1;
	check_s(&l, "* X ()\r\n", "* - | X ()\n");
	check_s(&l, "* X (())\r\n", "E-9\n");
	/* a code's brackets are not a level */
	check_s(&l, "* OK [P (a)] x\r\n", "* OK [P (a)] 'x'\n");

	l = defaults;
	l.items = 3; /* tokens: X, the list, a */
	check_s(&l, "* X (a)\r\n", "* - | X (a)\n");
	check_s(&l, "* X (a b)\r\n", "E-10\n");
	l.items = 2;
	check_s(&l, "* X (a)\r\n", "E-10\n");

	l = defaults;
	l.literal = 20;
	check_s(&l, "* 1 X {19}\r\n0123456789012345678\r\n",
		"<X:0123456789012345678>* - | 1 X {S19}\n");
	check_s(&l, "* 1 X {20}\r\n01234567890123456789\r\n",
		"<X:01234567890123456789>* - | 1 X {S20}\n");
	check_s(&l, "* 1 X {21}\r\n012345678901234567890\r\n", "E-10\n");
	l.hold = 0; /* everything but an empty literal is handed out */
	check_s(&l, "* 1 X {0}\r\n {1}\r\nz\r\n", "<\"\":z>* - | 1 X \"\" {S1}\n");
}

/* STATUS data (RFC 9051 7.2.4) as LIST-STATUS (RFC 5819) brings it: the items the
 * engine knows, others passed over, each bound at its limit and one past. */
static void test_status_data(void **st)
{
	(void)st;
	check("* LIST () \"/\" Folder01\r\n"
	      "* STATUS Folder01 (MESSAGES 500 UIDNEXT 501 UIDVALIDITY 1796161363 "
	      "HIGHESTMODSEQ 12)\r\n",
	      "* - | LIST () \"/\" Folder01\n"
	      "* - | STATUS Folder01 (MESSAGES 500 UIDNEXT 501 UIDVALIDITY 1796161363 "
	      "HIGHESTMODSEQ 12) => Folder01 has=15 m=500 n=501 v=1796161363 h=12\n");
	/* quoted and literal names; items in any order and case; unknown ones skipped
	 * whatever their value; a repeated one counts last */
	check("* STATUS \"a b\" (uidnext 7 UNSEEN 2 SIZE 99999999999 APPENDLIMIT NIL "
	      "MAILBOXID (F1) messages 3 MESSAGES 4)\r\n",
	      "* - | STATUS \"a b\" (uidnext 7 UNSEEN 2 SIZE 99999999999 APPENDLIMIT NIL "
	      "MAILBOXID (F1) messages 3 MESSAGES 4) => a b has=3 m=4 n=7 v=0 h=0\n");
	check("* STATUS {3}\r\nx y ()\r\n",
	      "* - | STATUS \"x y\" () => x y has=0 m=0 n=0 v=0 h=0\n");
	/* RFC 7162 7: mod-sequence-valzer, 63 bits; the 32-bit items at their bound */
	check("* STATUS A (HIGHESTMODSEQ 9223372036854775807 UIDVALIDITY 4294967295)\r\n",
	      "* - | STATUS A (HIGHESTMODSEQ 9223372036854775807 UIDVALIDITY 4294967295) => A "
	      "has=12 m=0 n=0 v=4294967295 h=9223372036854775807\n");
	check("* STATUS A (HIGHESTMODSEQ 0)\r\n",
	      "* - | STATUS A (HIGHESTMODSEQ 0) => A has=8 m=0 n=0 v=0 h=0\n");
	check("* STATUS A (HIGHESTMODSEQ 9223372036854775808)\r\n",
	      "* - | STATUS A (HIGHESTMODSEQ 9223372036854775808) => E-11\n");
	check("* STATUS A (UIDNEXT 4294967296)\r\n",
	      "* - | STATUS A (UIDNEXT 4294967296) => E-11\n");
	/* broken shapes */
	static const char *const bad[] = {
		"* STATUS\r\n", "* STATUS A\r\n", "* STATUS A B\r\n", "* STATUS (M 1)\r\n",
		"* STATUS A (MESSAGES)\r\n", "* STATUS A (MESSAGES x)\r\n",
		"* STATUS A (MESSAGES \"1\")\r\n", "* STATUS A (MESSAGES -1)\r\n",
		"* STATUS A (MESSAGES 1) X\r\n", "* STATUS A ((X) 1)\r\n", "* STATUS NIL ()\r\n",
		"* STATUS A (UIDNEXT 1 UNSEEN)\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char got[16384];
		transcript(&defaults, bad[i], strlen(bad[i]), 0, strlen(bad[i]), got, sizeof(got));
		if (!strstr(got, " => E-11\n"))
			fail_msg("%s read as %s", bad[i], got);
	}
}

static void test_numbers(void **st)
{
	(void)st;
	struct client_imap_tok t = {.type = CLIENT_IMAP_TOK_ATOM};
	uint32_t v;
	uint64_t w;
	t.s = "4294967295", t.len = 10;
	assert_int_equal(client_imap_tok_u32(&t, &v), 0);
	assert_int_equal(v, 4294967295u);
	t.s = "4294967296";
	assert_int_equal(client_imap_tok_u32(&t, &v), ERR_BAD_SYNTAX);
	assert_int_equal(client_imap_tok_u64(&t, &w), 0);
	assert_int_equal(w, 4294967296ull);
	t.s = "12a", t.len = 3;
	assert_int_equal(client_imap_tok_u32(&t, &v), ERR_BAD_SYNTAX);
	t.s = "", t.len = 0;
	assert_int_equal(client_imap_tok_u32(&t, &v), ERR_BAD_SYNTAX);
	t.type = CLIENT_IMAP_TOK_STRING, t.s = "5", t.len = 1;
	assert_int_equal(client_imap_tok_u32(&t, &v), ERR_BAD_SYNTAX);
	assert_true(client_imap_tok_is(&t, "5"));
	assert_false(client_imap_tok_is(NULL, "5"));
}

/* ---- the UID-set and quoting helpers of the engine (client_imap_msg.c) ---- */

static int collect_range(void *arg, uint32_t lo, uint32_t hi)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 256 - n, "[%u-%u]", lo, hi);
	return 0;
}

static void test_uidsets(void **st)
{
	(void)st;
	uint32_t uids[] = {1, 2, 3, 5, 7, 8, 4294967295u};
	char buf[64], got[256];
	size_t used;
	assert_int_equal(client_imap_uidset(uids, 7, buf, sizeof(buf), &used), 0);
	assert_string_equal(buf, "1:3,5,7:8,4294967295");
	assert_int_equal(used, 7);
	/* what fits: whole ranges only */
	assert_int_equal(client_imap_uidset(uids, 7, buf, 8, &used), 0);
	assert_string_equal(buf, "1:3,5");
	assert_int_equal(used, 4);
	assert_int_equal(client_imap_uidset(uids, 7, buf, 3, &used), ERR_FULL);
	assert_int_equal(client_imap_uidset(uids, 7, buf, 4, &used), 0);
	assert_string_equal(buf, "1:3");

	got[0] = '\0';
	assert_int_equal(client_imap_uidset_each("3:1,5,9:*", 9, collect_range, got), 0);
	assert_string_equal(got, "[1-3][5-5][9-4294967295]");
	static const char *const bad[] = {"", ",", "1,", "0", "1:", ":2", "a", "1:2:3",
					  "4294967296", "1 2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		got[0] = '\0';
		assert_int_equal(client_imap_uidset_each(bad[i], strlen(bad[i]), collect_range, got),
				 ERR_BAD_SYNTAX);
	}
}

static void test_quote(void **st)
{
	(void)st;
	char buf[16];
	assert_int_equal(client_imap_quote("<a\\\"b>", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "\"<a\\\\\\\"b>\"");
	assert_int_equal(client_imap_quote("", buf, 3), 0);
	assert_string_equal(buf, "\"\"");
	assert_int_equal(client_imap_quote("", buf, 2), ERR_FULL);
	assert_int_equal(client_imap_quote("abcdefghijklm", buf, sizeof(buf)), 0);
	assert_int_equal(client_imap_quote("abcdefghijklmn", buf, sizeof(buf)), ERR_FULL);
	assert_int_equal(client_imap_quote("a\r\nb", buf, sizeof(buf)), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),	 cmocka_unit_test(test_data),
		cmocka_unit_test(test_literal8_nul), cmocka_unit_test(test_streamed),
		cmocka_unit_test(test_invalid),	 cmocka_unit_test(test_limits),
		cmocka_unit_test(test_numbers),	 cmocka_unit_test(test_uidsets),
		cmocka_unit_test(test_status_data),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
