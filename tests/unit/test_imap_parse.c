/* test_imap_parse.c: the IMAP command reader (src/imap/imap_parse.c, imap_parse_token.c):
 * tokens (RFC 9051 4, 9), literals (RFC 9051 4.3, RFC 7888 LITERAL+/LITERAL-, RFC 3516
 * literal8), APPEND streaming (RFC 9051 6.3.12, RFC 3502, RFC 6855 4), the limits at
 * -1/0/+1 (line, literal, total, depth, arguments, stream, discard), resynchronization
 * after refused commands, and imap_parse_line() for AUTHENTICATE and IDLE.
 * Every case is fed whole, one byte at a time and split at every offset (a sample of
 * offsets for inputs over 3000 octets), acting like the session: "+" for CONTINUE, the
 * message octets taken for STREAM, the command arena reset after each result. The
 * transcript must be the same every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_parse.h"

/* ---- transcript ---- */

struct out {
	char *s;
	size_t n, cap;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int k = vsnprintf(o->s + o->n, o->cap - o->n, fmt, ap);
		va_end(ap);
		assert_true(k >= 0);
		if ((size_t)k < o->cap - o->n) {
			o->n += (size_t)k;
			return;
		}
		o->cap = (o->cap + (size_t)k + 64) * 2;
		o->s = realloc(o->s, o->cap);
		assert_non_null(o->s);
	}
}

/* Bytes for the transcript: printable as is, others \xHH, long ones cut. */
static void bytes(struct out *o, const char *p, size_t n)
{
	size_t show = n > 48 ? 40 : n;
	for (size_t i = 0; i < show; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			outf(o, "%c", c);
		else
			outf(o, "\\x%02x", c);
	}
	if (show < n)
		outf(o, "...[%zu]", n);
}

static void args(struct out *o, const struct imap_arg *a)
{
	for (; a; a = a->next) {
		switch (a->type) {
		case IMAP_ARG_ATOM:
			bytes(o, a->s, a->len);
			break;
		case IMAP_ARG_NIL:
			outf(o, "NIL<");
			bytes(o, a->s, a->len);
			outf(o, ">");
			break;
		case IMAP_ARG_STRING:
			outf(o, "\"");
			bytes(o, a->s, a->len);
			outf(o, "\"");
			break;
		case IMAP_ARG_LITERAL:
			outf(o, "%s{%zu%s}", a->binary ? "~" : "", a->len, a->sync ? "" : "+");
			bytes(o, a->s, a->len);
			break;
		case IMAP_ARG_LIST:
			outf(o, "(");
			args(o, a->list);
			outf(o, ")");
			break;
		case IMAP_ARG_STREAM:
			outf(o, "<stream %llu%s%s>", (unsigned long long)a->size,
			     a->binary ? " binary" : "", a->sync ? "" : " nonsync");
			break;
		}
		if (a->next)
			outf(o, " ");
	}
}

static void describe_cmd(struct out *o, const char *what, const struct imap_cmd *c)
{
	outf(o, "%s %s %s%s", what, c->tag, c->uid ? "UID " : "", imap_verbs[c->verb].name);
	if (c->args) {
		outf(o, " ");
		args(o, c->args);
	}
	/* the counts the session's verb_check uses */
	size_t n = 0;
	for (const struct imap_arg *a = c->args; a; a = a->next)
		n++;
	assert_int_equal(n, c->nargs);
	if (!c->line)
		outf(o, " [secret]");
	outf(o, "\n");
}

/* ---- the session, as far as the parser sees it ---- */

struct opts {
	bool auth;
	const struct imap_limits *lim; /* NULL: the defaults */
	bool refuse;                   /* refuse every CONTINUE and STREAM */
	size_t line_mode;              /* read this many imap_parse_line() lines first */
};

struct feeder {
	struct imap_parser ps;
	struct arena ca;
	struct out *o;
	const struct opts *op;
	uint64_t stream_left;
	struct out data; /* streamed octets of the current message */
	size_t lines_left;
	bool closed;
};

static void result(struct feeder *f, int rc, struct imap_cmd *cmd)
{
	struct out *o = f->o;
	if (rc < 0) {
		const struct imap_parse_err *e = &f->ps.err;
		assert_non_null(e->text);
		outf(o, "ERR%d %s %s%s\n", rc, e->tag ? e->tag : "*", e->text,
		     e->must_close ? " close" : "");
		if (e->must_close)
			f->closed = true;
		arena_reset(&f->ca);
		return;
	}
	assert_non_null(cmd);
	if (rc == IMAP_PARSE_DONE) {
		describe_cmd(o, "OK", cmd);
		arena_reset(&f->ca);
		return;
	}
	if (rc == IMAP_PARSE_CONTINUE) {
		describe_cmd(o, "+", cmd);
		if (f->op->refuse) {
			outf(o, "refused\n");
			imap_parse_refuse_literal(&f->ps);
			arena_reset(&f->ca);
		}
		return;
	}
	assert_int_equal(rc, IMAP_PARSE_STREAM);
	outf(o, "STREAM %llu%s%s ", (unsigned long long)f->ps.stream_size,
	     f->ps.stream_sync ? " sync" : "", f->ps.stream_binary ? " binary" : "");
	describe_cmd(o, "", cmd);
	if (f->op->refuse) {
		outf(o, "refused\n");
		imap_parse_refuse_literal(&f->ps);
		arena_reset(&f->ca);
		return;
	}
	f->stream_left = f->ps.stream_size;
	f->data.n = 0;
	if (f->stream_left == 0) {
		outf(o, "DATA \n");
		imap_parse_stream_done(&f->ps);
	}
}

static void feed(struct feeder *f, const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (!f->closed) {
		if (f->stream_left) {
			size_t take =
			    len - off < f->stream_left ? len - off : (size_t)f->stream_left;
			outf(&f->data, "%s", ""); /* room for take more */
			if (f->data.cap - f->data.n <= take) {
				f->data.cap = f->data.n + take + 64;
				f->data.s = realloc(f->data.s, f->data.cap);
				assert_non_null(f->data.s);
			}
			memcpy(f->data.s + f->data.n, p + off, take);
			f->data.n += take;
			off += take;
			f->stream_left -= take;
			if (f->stream_left == 0) {
				outf(f->o, "DATA ");
				bytes(f->o, f->data.s, f->data.n);
				outf(f->o, "\n");
				imap_parse_stream_done(&f->ps);
			}
			if (off == len)
				return;
			continue;
		}
		size_t used = 99999;
		int rc;
		if (f->lines_left) {
			const char *line = "x";
			size_t n = 99999;
			rc = imap_parse_line(&f->ps, p + off, len - off, &used, &line, &n);
			assert_true(used <= len - off);
			off += used;
			if (rc == 0) {
				assert_null(line);
				assert_int_equal(off, len);
				return;
			}
			f->lines_left--;
			if (rc > 0) {
				assert_int_equal(strlen(line), n);
				outf(f->o, "LINE ");
				bytes(f->o, line, n);
				outf(f->o, "\n");
			} else {
				outf(f->o, "LINE ERR%d %s%s\n", rc, f->ps.err.text,
				     f->ps.err.must_close ? " close" : "");
				f->closed = f->ps.err.must_close;
			}
			arena_reset(&f->ca);
			continue;
		}
		struct imap_cmd *cmd = (struct imap_cmd *)&used;
		rc = imap_parse(&f->ps, p + off, len - off, &used, &cmd);
		assert_true(used <= len - off);
		off += used;
		if (rc == 0) {
			assert_null(cmd);
			assert_int_equal(off, len);
			return;
		}
		result(f, rc, cmd);
	}
}

static void run(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                const struct opts *op, struct out *o)
{
	struct feeder f;
	memset(&f, 0, sizeof(f));
	arena_init(&f.ca, LIMIT_COMMAND_ARENA);
	imap_parser_init(&f.ps, &f.ca, 0);
	if (op->auth)
		imap_parser_set_auth(&f.ps, true);
	if (op->lim)
		imap_parser_set_limits(&f.ps, op->lim);
	f.o = o;
	f.op = op;
	f.lines_left = op->line_mode;
	o->n = 0;
	outf(o, "%s", "");
	size_t start = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		feed(&f, in + start, end - start);
		start = end;
	}
	if (f.stream_left)
		outf(o, "(stream unfinished)\n");
	free(f.data.s);
	arena_free(&f.ca);
}

static void check_opts(const void *in_, size_t len, const struct opts *op, const char *want)
{
	const uint8_t *in = in_;
	static struct out whole, other;
	run(in, len, NULL, 0, op, &whole);
	if (want && strcmp(whole.s, want) != 0)
		fail_msg("input '%.*s'\nwant:\n%s\ngot:\n%s", (int)(len > 200 ? 200 : len), in,
		         want, whole.s);
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	run(in, len, cuts, len ? len - 1 : 0, op, &other);
	if (strcmp(other.s, whole.s) != 0)
		fail_msg("byte by byte differs:\n%s\nvs whole:\n%s", other.s, whole.s);
	size_t step = len > 3000 ? len / 97 + 1 : 1;
	for (size_t i = 1; i < len; i += step) {
		run(in, len, &i, 1, op, &other);
		if (strcmp(other.s, whole.s) != 0)
			fail_msg("split at %zu differs:\n%s\nvs whole:\n%s", i, other.s, whole.s);
	}
	free(cuts);
}

static const struct opts preauth = {0};
static const struct opts authed = {.auth = true};
static const struct opts refusing = {.auth = true, .refuse = true};

static void check(const char *in, const char *want)
{
	check_opts(in, strlen(in), &preauth, want);
}

static void check_auth(const char *in, const char *want)
{
	check_opts(in, strlen(in), &authed, want);
}

static void check_o(const struct opts *op, const char *in, const char *want)
{
	check_opts(in, strlen(in), op, want);
}

/* What the transcript shows for n repeated octets c (see bytes()). */
static const char *shown(char c, size_t n)
{
	static char s[80];
	if (n <= 48) {
		memset(s, c, n);
		s[n] = '\0';
	} else {
		memset(s, c, 40);
		snprintf(s + 40, sizeof(s) - 40, "...[%zu]", n);
	}
	return s;
}

/* ---- RFC 9051 2.2.1, 9: tag, verb, lines ---- */

static void rfc9051_2_2_1_commands(void **state)
{
	check("a1 NOOP\r\n", "OK a1 NOOP\n");
	check("a1 noop\r\n", "OK a1 NOOP\n"); /* 9: verbs are case-insensitive */
	check("a NOOP\r\nb CAPABILITY\r\nc LOGOUT\r\n",
	      "OK a NOOP\nOK b CAPABILITY\nOK c LOGOUT\n"); /* pipelined: one at a time */
	check("a NOOP\n", "OK a NOOP\n");                   /* bare LF ends a line */
	check("a  NOOP  \r\n", "OK a NOOP\n");              /* extra SPs tolerated */
	check("A.b-c_d]e NOOP\r\n", "OK A.b-c_d]e NOOP\n"); /* tag: ASTRING-CHARs */
	check("a UID FETCH 1:* (FLAGS)\r\n", "OK a UID FETCH 1:* (FLAGS)\n");
	check("a uid expunge 1:3\r\n", "OK a UID EXPUNGE 1:3\n");
	check("a UID NOOP\r\n", "ERR-11 a BAD Unknown UID command\n");
	check("a UID\r\n", "ERR-11 a BAD Missing command after UID\n");
	check("a UID UID FETCH 1 UID\r\n", "ERR-11 a BAD Unknown command\n");
	check("a FOO\r\nb NOOP\r\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check("a NOOPX\r\n", "ERR-11 a BAD Unknown command\n");
	check("a NOOP(\r\n", "ERR-11 a BAD Unknown command\n");
	check("a\r\n", "ERR-11 a BAD Missing command\n");
	check("a \r\n", "ERR-11 a BAD Missing command\n");
	check("\r\n", "ERR-11 * BAD Empty command line\n");
	check("\n\n", "ERR-11 * BAD Empty command line\nERR-11 * BAD Empty command line\n");
	check(" a NOOP\r\n", "ERR-11 * BAD Invalid tag\n");
	check("+a NOOP\r\n", "ERR-11 * BAD Invalid tag\n"); /* '+' is not a tag char */
	check("a+ NOOP\r\n", "ERR-11 * BAD Invalid tag\n");
	check("a{ NOOP\r\n", "ERR-11 * BAD Invalid tag\n");
	check("a* NOOP\r\n", "ERR-11 * BAD Invalid tag\n");
	check("a\"b NOOP\r\n", "ERR-11 * BAD Invalid tag\n");
	check("t\xc3\xa4g NOOP\r\n", "ERR-11 * BAD Invalid tag\n"); /* 8-bit */
	check("a\tNOOP\r\n", "ERR-11 * BAD Invalid tag\n");
	/* the session answers state and argument counts; the parser only reads */
	check("a SELECT INBOX\r\n", "OK a SELECT INBOX\n");
	check("a LOGIN user pass\r\n", "OK a LOGIN user pass [secret]\n");
	check("a AUTHENTICATE PLAIN AGEAYg==\r\n", "OK a AUTHENTICATE PLAIN AGEAYg== [secret]\n");
}

/* The line kept for the log: the first line, cut at LIMIT_IMAP_LOG_LINE. */
static void line_for_log(void **state)
{
	struct arena ca;
	struct imap_parser ps;
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	imap_parser_init(&ps, &ca, 0);
	imap_parser_set_auth(&ps, true);
	char in[600];
	int n = snprintf(in, sizeof(in), "a SELECT {5+}\r\nINBOX\r\n");
	size_t used;
	struct imap_cmd *cmd;
	assert_int_equal(imap_parse(&ps, (uint8_t *)in, (size_t)n, &used, &cmd), IMAP_PARSE_DONE);
	assert_string_equal(cmd->line, "a SELECT {5+}");
	arena_reset(&ca);
	memset(in, 'x', sizeof(in));
	memcpy(in, "a SEARCH ", 9);
	memcpy(in + 500, "\r\n", 2);
	assert_int_equal(imap_parse(&ps, (uint8_t *)in, 502, &used, &cmd), IMAP_PARSE_DONE);
	assert_int_equal(strlen(cmd->line), LIMIT_IMAP_LOG_LINE);
	assert_memory_equal(cmd->line, in, LIMIT_IMAP_LOG_LINE);
	arena_free(&ca);
}

/* ---- RFC 9051 4: atoms, quoted strings, NIL, lists ---- */

static void rfc9051_4_data_formats(void **state)
{
	check_auth("a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
	           "OK a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\n");
	check_auth("a STORE 2:4 +FLAGS (\\Deleted $Junk)\r\n",
	           "OK a STORE 2:4 +FLAGS (\\x5cDeleted $Junk)\n");
	check_auth("a LIST \"\" %/*\r\n", "OK a LIST \"\" %/*\n"); /* list-wildcards in atoms */
	check_auth("a SELECT [Gmail]/Sent\r\n", "OK a SELECT [Gmail]/Sent\n");
	check_auth("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM \"X-A B\")]<0.2048> UID)\r\n",
	           "OK a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM \"X-A B\")]<0.2048> UID)\n");
	check_auth("a FETCH 1 BINARY.PEEK[1.2]\r\n", "OK a FETCH 1 BINARY.PEEK[1.2]\n");
	check_auth("a FETCH 1 BODY[\r\n", "ERR-11 a BAD Missing ']'\n");
	check_auth("a FETCH 1 BODY[\"]\"\r\n", "ERR-11 a BAD Missing ']'\n");
	check_auth("a FETCH 1 BODY[a[b]]\r\n", "ERR-11 a BAD Invalid character in section\n");
	check_auth("a FETCH 1 BODY[{3}]\r\n", "ERR-11 a BAD Invalid character in section\n");
	check_auth("a FETCH 1 BODY[\xc3\xa4]\r\n", "ERR-11 a BAD Invalid character in section\n");
	check_auth("a FETCH 1 BODY[]x[y]\r\n", "OK a FETCH 1 BODY[]x[y]\n"); /* one part only */
	/* NIL in any case, its text kept (an astring "NIL" is a mailbox name) */
	check_auth("a SEARCH NIL nil Nil NILS \"NIL\"\r\n",
	           "OK a SEARCH NIL<NIL> NIL<nil> NIL<Nil> NILS \"NIL\"\n");
	/* quoted: only \" and \\ escaped; 8-bit passes (UTF-8 names) */
	check_auth("a SELECT \"a\\\"b\\\\c\"\r\n", "OK a SELECT \"a\"b\\x5cc\"\n");
	check_auth("a SELECT \"\"\r\n", "OK a SELECT \"\"\n");
	check_auth("a SELECT \"M\xc3\xbcll\"\r\n", "OK a SELECT \"M\\xc3\\xbcll\"\n");
	check_auth("a SELECT \"tab\there\"\r\n", "OK a SELECT \"tab\\x09here\"\n");
	check_auth("a SELECT \"a\\b\"\r\n", "ERR-11 a BAD Invalid escape in quoted string\n");
	check_auth("a SELECT \"a\\\r\n", "ERR-11 a BAD Invalid escape in quoted string\n");
	check_auth("a SELECT \"abc\r\n", "ERR-11 a BAD Unterminated quoted string\n");
	check_auth("a SELECT \"a\rb\"\r\n", "ERR-11 a BAD Bare CR in quoted string\n");
	check_opts("a SELECT \"a\0b\"\r\n", 16, &authed, "ERR-11 a BAD NUL in quoted string\n");
	/* lists */
	check_auth("a X\r\n", "ERR-11 a BAD Unknown command\n");
	check_auth("a FETCH 1 (FLAGS (A (B C)) ())\r\n", "OK a FETCH 1 (FLAGS (A (B C)) ())\n");
	check_auth("a FETCH 1 ( FLAGS  UID )\r\n", "OK a FETCH 1 (FLAGS UID)\n");
	check_auth("a FETCH 1 (FLAGS\r\n", "ERR-11 a BAD Missing ')'\n");
	check_auth("a FETCH 1 FLAGS)\r\n", "ERR-11 a BAD Unexpected ')'\n");
	check_auth("a FETCH 1 (A)(B)\r\n", "ERR-11 a BAD Missing space between arguments\n");
	check_auth("a FETCH 1 A(B)\r\n", "ERR-11 a BAD Missing space between arguments\n");
	check_auth("a SELECT \"a\"\"b\"\r\n", "ERR-11 a BAD Missing space between arguments\n");
	check_auth("a SELECT \"a\"b\r\n", "ERR-11 a BAD Missing space between arguments\n");
	check_auth("a STORE 1 FLAGS \\\r\n", "ERR-11 a BAD Invalid character\n");
	check_auth("a STORE 1 FLAGS a\\b\r\n", "ERR-11 a BAD Missing space between arguments\n");
}

/* STYLE 5: bare CR, NUL, controls, 8-bit outside strings. */
static void hostile_octets(void **state)
{
	check_auth("a NOOP\rb NOOP\r\n", "ERR-11 a BAD Unknown command\n");
	check_auth("a SELECT x\ry\r\n", "ERR-11 a BAD Bare CR\n");
	check_auth("a SELECT x\r\r\nb NOOP\r\n", "ERR-11 a BAD Bare CR\nOK b NOOP\n");
	check_opts("a SELECT \0\r\nb NOOP\r\n", 20, &authed,
	           "ERR-11 a BAD NUL in command\nOK b NOOP\n");
	check_auth("a SELECT \x01\r\n", "ERR-11 a BAD Control character in command\n");
	check_auth("a SELECT \x7f\r\n", "ERR-11 a BAD Control character in command\n");
	check_auth("a SELECT x\ty\r\n", "ERR-11 a BAD Control character in command\n");
	check_auth("a SELECT M\xc3\xbcll\r\n",
	           "ERR-11 a BAD 8-bit octet outside a quoted string or literal\n");
	check_auth("a SELECT \xff\r\n",
	           "ERR-11 a BAD 8-bit octet outside a quoted string or literal\n");
}

/* ---- RFC 9051 4.3 literals, RFC 7888 non-synchronizing, RFC 3516 literal8 ---- */

static void rfc9051_4_3_literals(void **state)
{
	check("a LOGIN {4}\r\nuser {4}\r\npass\r\n",
	      "+ a LOGIN [secret]\n+ a LOGIN {4}user [secret]\nOK a LOGIN {4}user {4}pass "
	      "[secret]\n");
	check_auth("a SELECT {5+}\r\nINBOX\r\n", "OK a SELECT {5+}INBOX\n");
	check_auth("a SELECT {05+}\r\nINBOX\r\n", "OK a SELECT {5+}INBOX\n"); /* leading 0 */
	check_auth("a SELECT {0}\r\n\r\n", "+ a SELECT\nOK a SELECT {0}\n");
	check_auth("a SELECT {00}\r\n\r\n", "+ a SELECT\nOK a SELECT {0}\n");
	check_auth("a SELECT {0+}\r\n\r\n", "OK a SELECT {0+}\n");
	/* literal octets are data: CR, LF, NUL, "{1}" inside */
	check_opts("a SEARCH TEXT {7+}\r\na\r\n\0{1}\r\n", 29, &authed,
	           "OK a SEARCH TEXT {7+}a\\x0d\\x0a\\x00{1}\n");
	check_auth("a SEARCH ~{3+}\r\nabc\r\n", "OK a SEARCH ~{3+}abc\n");
	check_auth("a SEARCH (a {1+}\r\nb c)\r\n", "OK a SEARCH (a {1+}b c)\n");
	check_auth("a SEARCH {1+}\r\nx)\r\n", "ERR-11 a BAD Unexpected ')'\n");
	/* after a literal: SP, ')' or the line end */
	check_auth("a SEARCH {1+}\r\nxy\r\n", "ERR-11 a BAD Missing space between arguments\n");
	check_auth("a SEARCH {1+}\r\nx\"y\"\r\n", "ERR-11 a BAD Missing space between arguments\n");
	/* announcements that do not parse */
	check_auth("a SEARCH {\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH {}\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH {+}\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH {x}\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH {-1}\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH { 1}\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH {1 }\r\n", "ERR-11 a BAD Invalid literal\n");
	check_auth("a SEARCH ~\r\n", "OK a SEARCH ~\n"); /* '~' alone is an atom */
	check_auth("a SEARCH {3}abc\r\n", "ERR-11 a BAD Literal must end the line\n");
	check_auth("a SEARCH {3} \r\n", "ERR-11 a BAD Literal must end the line\n");
	check_auth("a SEARCH x{3}\r\n", "ERR-11 a BAD Missing space between arguments\n");
	/* number64 (RFC 9051 9): parsed, then refused by the limits */
	check_auth("a SEARCH {4294967296}\r\nb NOOP\r\n",
	           "ERR-10 a NO [TOOBIG] Literal too large\nOK b NOOP\n");
	check_auth("a SEARCH {9223372036854775807}\r\n",
	           "ERR-10 a NO [TOOBIG] Literal too large\n");
	check_auth("a SEARCH {9223372036854775808}\r\nb NOOP\r\n",
	           "ERR-11 a BAD Invalid literal size\nOK b NOOP\n");
	check_auth("a SEARCH {99999999999999999999}\r\n", "ERR-11 a BAD Invalid literal size\n");
	/* a non-synchronizing literal whose size does not parse: its octets cannot be
	 * told from commands */
	check_auth("a SEARCH {99999999999999999999+}\r\nb NOOP\r\n",
	           "ERR-11 a BAD Invalid literal size close\n");
	check_auth("a SEARCH {00000000000000000000000000001+}\r\nx\r\nb NOOP\r\n",
	           "OK a SEARCH {1+}x\nOK b NOOP\n");
}

/* Synchronizing literals refused by the session (e.g. LOGINDISABLED, over quota): the
 * client never sends them; the next octet starts a command. */
static void refused_literals(void **state)
{
	check_o(&refusing, "a SELECT {5}\r\nb NOOP\r\n", "+ a SELECT\nrefused\nOK b NOOP\n");
	check_o(&refusing, "a APPEND INBOX {3}\r\nb NOOP\r\n",
	        "STREAM 3 sync  a APPEND INBOX <stream 3>\nrefused\nOK b NOOP\n");
	/* a non-synchronizing message is sent anyway: read and thrown away */
	check_o(&refusing, "a APPEND INBOX {3+}\r\nabc {2+}\r\nde\r\nb NOOP\r\n",
	        "STREAM 3  a APPEND INBOX <stream 3 nonsync>\nrefused\nOK b NOOP\n");
}

/* After a refused line, everything up to its end goes, including the octets of the
 * non-synchronizing literals it announced (RFC 7888 4), and the lines after them. */
static void resynchronization(void **state)
{
	check_auth("a FOO {3+}\r\nabc more {2+}\r\nxy end\r\nb NOOP\r\n",
	           "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check_auth("a FOO {3+}\r\nb N\r\nc NOOP\r\n", "ERR-11 a BAD Unknown command\nOK c NOOP\n");
	/* synchronizing: the client saw the BAD and sends no literal */
	check_auth("a FOO {3}\r\nb NOOP\r\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check_auth("a SEARCH (((\x01 {4+}\r\n\r\n\r\n b NOOP\r\nc NOOP\r\n",
	           "ERR-11 a BAD Control character in command\nOK c NOOP\n");
	/* an error in a later line of the command */
	check_auth("a SEARCH {1+}\r\nx \x80 {2+}\r\nab\r\nb NOOP\r\n",
	           "ERR-11 a BAD 8-bit octet outside a quoted string or literal\nOK b NOOP\n");
	/* a malformed announcement is no literal */
	check_auth("a FOO {3x+}\r\nb NOOP\r\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check_auth("a FOO {3+} \r\nb NOOP\r\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check_auth("a FOO {3+}\r\r\nb NOOP\r\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check_auth("a FOO ~{3+}\r\nabc\r\nb NOOP\r\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
	check_auth("a FOO {3+}\nabc\nb NOOP\n", "ERR-11 a BAD Unknown command\nOK b NOOP\n");
}

/* ---- RFC 7888 4: LITERAL- before login; LITERAL+ after ---- */

static void rfc7888_4_literal_minus(void **state)
{
	char *in = malloc(6000);
	assert_non_null(in);
	/* 4096 octets are fine before login (also past LIMIT_IMAP_LITERAL_PREAUTH? no:
	 * 4096 <= 8192) */
	for (int n = 4095; n <= 4097; n++) {
		int k = snprintf(in, 100, "a LOGIN u {%d+}\r\n", n);
		memset(in + k, 'p', (size_t)n);
		memcpy(in + k + n, "\r\nb NOOP\r\n", 10);
		size_t len = (size_t)k + (size_t)n + 10;
		char want[300];
		if (n <= LIMIT_IMAP_LITERAL_MINUS)
			snprintf(want, sizeof(want), "OK a LOGIN u {%d+}%s [secret]\nOK b NOOP\n",
			         n, shown('p', (size_t)n));
		else /* read through (under LIMIT_IMAP_DISCARD_PREAUTH), refused */
			snprintf(want, sizeof(want),
			         "ERR-10 a BAD [TOOBIG] Non-synchronizing literal too large "
			         "(LITERAL-: at most 4096 octets before login)\nOK b NOOP\n");
		check_opts(in, len, &preauth, want);
	}
	/* past the discard limit the stream is lost */
	int k = snprintf(in, 100, "a LOGIN u {%u+}\r\n", LIMIT_IMAP_DISCARD_PREAUTH + 1);
	check_opts(in, (size_t)k, &preauth,
	           "ERR-10 a BAD [TOOBIG] Non-synchronizing literal too large (LITERAL-: at most "
	           "4096 octets before login) close\n");
	/* after login LITERAL+: the literal limit applies */
	k = snprintf(in, 100, "a SELECT {5000+}\r\n");
	memset(in + k, 'm', 5000);
	memcpy(in + k + 5000, "\r\n", 2);
	char want[300];
	snprintf(want, sizeof(want), "OK a SELECT {5000+}%s\n", shown('m', 5000));
	check_opts(in, (size_t)k + 5002, &authed, want);
	free(in);
}

/* ---- limits at -1, 0, +1 ---- */

/* "a NOOP" padded with SPs to exactly n octets with its CRLF, then "b NOOP". */
static size_t padded_noop(char *in, size_t n)
{
	memset(in, ' ', n);
	memcpy(in, "a NOOP", 6);
	memcpy(in + n - 2, "\r\nb NOOP\r\n", 10);
	return n + 8;
}

static void limit_line(void **state)
{
	size_t max = LIMIT_IMAP_LINE + 200;
	char *in = malloc(max + 20);
	assert_non_null(in);
	/* before login: 8192 octets with CRLF; past it the connection closes */
	check_opts(in, padded_noop(in, LIMIT_IMAP_LINE_PREAUTH - 1), &preauth,
	           "OK a NOOP\nOK b NOOP\n");
	check_opts(in, padded_noop(in, LIMIT_IMAP_LINE_PREAUTH), &preauth,
	           "OK a NOOP\nOK b NOOP\n");
	check_opts(in, padded_noop(in, LIMIT_IMAP_LINE_PREAUTH + 1), &preauth,
	           "ERR-8 a BAD [TOOBIG] Command line too long close\n");
	/* after: 65536; past it the line is skipped and the next command read */
	check_opts(in, padded_noop(in, LIMIT_IMAP_LINE - 1), &authed, "OK a NOOP\nOK b NOOP\n");
	check_opts(in, padded_noop(in, LIMIT_IMAP_LINE), &authed, "OK a NOOP\nOK b NOOP\n");
	check_opts(in, padded_noop(in, LIMIT_IMAP_LINE + 1), &authed,
	           "ERR-8 a BAD [TOOBIG] Command line too long\nOK b NOOP\n");
	/* a bare LF counts as the line end it is */
	size_t n = padded_noop(in, LIMIT_IMAP_LINE_PREAUTH + 1);
	memmove(in + LIMIT_IMAP_LINE_PREAUTH - 1, in + LIMIT_IMAP_LINE_PREAUTH,
	        n - LIMIT_IMAP_LINE_PREAUTH);
	check_opts(in, n - 1, &preauth, "OK a NOOP\nOK b NOOP\n");
	/* no tag to answer with */
	memset(in, 'x', LIMIT_IMAP_LINE + 1);
	check_opts(in, LIMIT_IMAP_LINE + 1, &authed,
	           "ERR-8 * BAD [TOOBIG] Command line too long\n");
	/* the line limit counts every line of a command, literals not included */
	struct imap_limits lim;
	imap_limits_default(&lim, true, 0);
	lim.line = 64;
	struct opts small = {.auth = true, .lim = &lim};
	/* "a SEARCH {3+}\r\n" is 15, "abc", " x" + pad + "\r\n" */
	for (size_t second = 48; second <= 50; second++) {
		char buf[200], want[200];
		int k = snprintf(buf, sizeof(buf), "a SEARCH {3+}\r\nabc ");
		memset(buf + k, 'y', second - 3);
		memcpy(buf + k + second - 3, "\r\nb NOOP\r\n", 10);
		if (15 + second <= 64)
			snprintf(want, sizeof(want), "OK a SEARCH {3+}abc %s\nOK b NOOP\n",
			         shown('y', second - 3));
		else
			snprintf(want, sizeof(want),
			         "ERR-8 a BAD [TOOBIG] Command line too long\nOK b NOOP\n");
		check_opts(buf, (size_t)k + second - 3 + 10, &small, want);
	}
	/* a too-long line that announces a non-synchronizing literal at its end */
	memset(in, ' ', LIMIT_IMAP_LINE + 100);
	memcpy(in, "a SEARCH", 8);
	memcpy(in + LIMIT_IMAP_LINE + 90, "{000003+}\r\n", 11);
	memcpy(in + LIMIT_IMAP_LINE + 101, "abc\r\nb NOOP\r\n", 13);
	check_opts(in, LIMIT_IMAP_LINE + 114, &authed,
	           "ERR-8 a BAD [TOOBIG] Command line too long\nOK b NOOP\n");
	free(in);
}

static void limit_literal(void **state)
{
	char in[200];
	char want[300];
	/* held literals: LIMIT_IMAP_LITERAL after login, LIMIT_IMAP_LITERAL_PREAUTH before;
	 * a synchronizing one is refused before the client sends it */
	for (int d = -1; d <= 1; d++) {
		snprintf(in, sizeof(in), "a SELECT {%d}\r\n", LIMIT_IMAP_LITERAL + d);
		check_auth(in,
		           d <= 0 ? "+ a SELECT\n" : "ERR-10 a NO [TOOBIG] Literal too large\n");
		snprintf(in, sizeof(in), "a LOGIN {%d}\r\n", LIMIT_IMAP_LITERAL_PREAUTH + d);
		check(in,
		      d <= 0 ? "+ a LOGIN [secret]\n" : "ERR-10 a NO [TOOBIG] Literal too large\n");
	}
	/* at the limit exactly: the literal is read whole */
	size_t n = LIMIT_IMAP_LITERAL;
	char *big = malloc(n + 100);
	assert_non_null(big);
	int k = snprintf(big, 100, "a SELECT {%zu+}\r\n", n);
	memset(big + k, 'q', n);
	memcpy(big + k + n, "\r\n", 2);
	snprintf(want, sizeof(want), "OK a SELECT {%zu+}%s\n", n, shown('q', n));
	check_opts(big, (size_t)k + n + 2, &authed, want);
	/* one more, non-synchronizing: read through (under the APPENDLIMIT), refused */
	k = snprintf(big, 100, "a SELECT {%zu+}\r\n", n + 1);
	memset(big + k, 'q', n + 1);
	memcpy(big + k + n + 1, "\r\nb NOOP\r\n", 10);
	check_opts(big, (size_t)k + n + 11, &authed,
	           "ERR-10 a NO [TOOBIG] Literal too large\nOK b NOOP\n");
	free(big);
}

static void limit_total(void **state)
{
	struct imap_limits lim;
	imap_limits_default(&lim, true, 0);
	lim.total = 100;
	struct opts o = {.auth = true, .lim = &lim};
	/* "a SEARCH {N+}\r\n" (16 octets), N octets, "\r\n": 100 in all at N = 82 */
	char in[300], want[300];
	for (int n = 81; n <= 83; n++) {
		int k = snprintf(in, sizeof(in), "a SEARCH {%d+}\r\n", n);
		memset(in + k, 'z', (size_t)n);
		memcpy(in + k + n, "\r\nb NOOP\r\n", 10);
		if (n <= 82)
			snprintf(want, sizeof(want), "OK a SEARCH {%d+}%s\nOK b NOOP\n", n,
			         shown('z', (size_t)n));
		else /* the literal fits what is left (84), its line end does not */
			snprintf(want, sizeof(want),
			         "ERR-10 a NO [TOOBIG] Command too large\nOK b NOOP\n");
		check_opts(in, (size_t)k + (size_t)n + 10, &o, want);
	}
	/* "a SEARCH {N}\r\n" is 15 octets: a literal of 85 fills the command */
	check_o(&o, "a SEARCH {85}\r\n", "+ a SEARCH\n");
	check_o(&o, "a SEARCH {86}\r\nb NOOP\r\n",
	        "ERR-10 a NO [TOOBIG] Command too large\nOK b NOOP\n");
}

static void nest(char *in, size_t depth, const char *verb)
{
	size_t k = (size_t)snprintf(in, 20, "a %s ", verb);
	for (size_t i = 0; i < depth; i++)
		in[k++] = '(';
	in[k++] = 'x';
	for (size_t i = 0; i < depth; i++)
		in[k++] = ')';
	memcpy(in + k, "\r\nb NOOP\r\n", 11);
}

static void limit_depth(void **state)
{
	char in[200];
	nest(in, LIMIT_IMAP_DEPTH_PREAUTH, "ID");
	check(in, "OK a ID (x)\nOK b NOOP\n");
	nest(in, LIMIT_IMAP_DEPTH_PREAUTH + 1, "ID");
	check(in, "ERR-9 a NO [LIMIT] Parentheses nested too deeply\nOK b NOOP\n");
	for (size_t d = LIMIT_IMAP_DEPTH - 1; d <= LIMIT_IMAP_DEPTH; d++) {
		nest(in, d, "SEARCH");
		struct out o = {0};
		run((uint8_t *)in, strlen(in), NULL, 0, &authed, &o);
		assert_true(strncmp(o.s, "OK a SEARCH ((", 14) == 0);
		assert_non_null(strstr(o.s, "(x))"));
		assert_non_null(strstr(o.s, "))\nOK b NOOP\n"));
		free(o.s);
		check_auth(in, NULL);
	}
	nest(in, LIMIT_IMAP_DEPTH + 1, "SEARCH");
	check_auth(in, "ERR-9 a NO [LIMIT] Parentheses nested too deeply\nOK b NOOP\n");
}

static void limit_args(void **state)
{
	char *in = malloc(LIMIT_ARGS * 4 + 100);
	assert_non_null(in);
	/* every argument counts, in lists too: a list is one, its members more */
	for (size_t n = LIMIT_ARGS - 1; n <= LIMIT_ARGS + 1; n++) {
		size_t k = (size_t)snprintf(in, 20, "a SEARCH (");
		for (size_t i = 1; i < n; i++)
			k += (size_t)snprintf(in + k, 3, "x ");
		k += (size_t)snprintf(in + k, 20, ")\r\nb NOOP\r\n");
		struct out o = {0};
		run((uint8_t *)in, k, NULL, 0, &authed, &o);
		if (n <= LIMIT_ARGS)
			assert_non_null(strstr(o.s, "OK a SEARCH"));
		else
			assert_string_equal(o.s,
			                    "ERR-10 a NO [LIMIT] Too many arguments\nOK b NOOP\n");
		free(o.s);
		check_opts(in, k, &authed, NULL);
	}
	free(in);
}

/* ---- RFC 9051 6.3.12 APPEND, RFC 3502 MULTIAPPEND, RFC 6855 4 UTF8 ---- */

static void rfc9051_6_3_12_append(void **state)
{
	check_auth("a APPEND INBOX (\\Seen) \" 1-Feb-2024 10:00:00 +0100\" {5}\r\nhello\r\n",
	           "STREAM 5 sync  a APPEND INBOX (\\x5cSeen) \" 1-Feb-2024 10:00:00 +0100\" "
	           "<stream 5>\nDATA hello\nOK a APPEND INBOX (\\x5cSeen) \" 1-Feb-2024 10:00:00 "
	           "+0100\" <stream 5>\n");
	check_auth("a APPEND INBOX {3+}\r\na\r\n {2+}\r\nde\r\nb NOOP\r\n",
	           "STREAM 3  a APPEND INBOX <stream 3 nonsync>\nDATA a\\x0d\\x0a\n"
	           "STREAM 2  a APPEND INBOX <stream 3 nonsync> <stream 2 nonsync>\nDATA de\n"
	           "OK a APPEND INBOX <stream 3 nonsync> <stream 2 nonsync>\nOK b NOOP\n");
	check_opts("a APPEND INBOX ~{3}\r\n\0\1\2\r\n", 26, &authed,
	           "STREAM 3 sync binary  a APPEND INBOX <stream 3 binary>\nDATA \\x00\\x01\\x02\n"
	           "OK a APPEND INBOX <stream 3 binary>\n");
	check_auth("a APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n",
	           "STREAM 3 binary  a APPEND INBOX UTF8 (<stream 3 binary nonsync>)\nDATA abc\n"
	           "OK a APPEND INBOX UTF8 (<stream 3 binary nonsync>)\n");
	check_auth(
	    "a APPEND INBOX {0}\r\n\r\n",
	    "STREAM 0 sync  a APPEND INBOX <stream 0>\nDATA \nOK a APPEND INBOX <stream 0>\n");
	/* the mailbox as a literal is held; a literal in a flag list too (the handler
	 * refuses it) */
	check_auth("a APPEND {5+}\r\nINBOX {1+}\r\nx\r\n",
	           "STREAM 1  a APPEND {5+}INBOX <stream 1 nonsync>\nDATA x\n"
	           "OK a APPEND {5+}INBOX <stream 1 nonsync>\n");
	check_auth("a APPEND INBOX ({1+}\r\nx) {1+}\r\ny\r\n",
	           "STREAM 1  a APPEND INBOX ({1+}x) <stream 1 nonsync>\nDATA y\n"
	           "OK a APPEND INBOX ({1+}x) <stream 1 nonsync>\n");
	/* only APPEND streams */
	check_auth("a SEARCH INBOX {1+}\r\nx\r\n", "OK a SEARCH INBOX {1+}x\n");
	/* after the message: SP or the line end */
	check_auth("a APPEND INBOX {1+}\r\nxy\r\nb NOOP\r\n",
	           "STREAM 1  a APPEND INBOX <stream 1 nonsync>\nDATA x\n"
	           "ERR-11 a BAD Missing space between arguments\nOK b NOOP\n");
}

/* RFC 7889 APPENDLIMIT: the stream limit, -1/0/+1. */
static void rfc7889_appendlimit(void **state)
{
	struct imap_limits lim;
	imap_limits_default(&lim, true, 0);
	lim.stream = 10;
	lim.discard = 10;
	struct opts o = {.auth = true, .lim = &lim};
	check_o(&o, "a APPEND INBOX {9}\r\n123456789\r\n",
	        "STREAM 9 sync  a APPEND INBOX <stream 9>\nDATA 123456789\n"
	        "OK a APPEND INBOX <stream 9>\n");
	check_o(&o, "a APPEND INBOX {10}\r\n1234567890\r\n",
	        "STREAM 10 sync  a APPEND INBOX <stream 10>\nDATA 1234567890\n"
	        "OK a APPEND INBOX <stream 10>\n");
	check_o(&o, "a APPEND INBOX {11}\r\nb NOOP\r\n",
	        "ERR-10 a NO [TOOBIG] Message too large (APPENDLIMIT)\nOK b NOOP\n");
	/* non-synchronizing past the discard limit: the connection must close */
	check_o(&o, "a APPEND INBOX {11+}\r\n12345678901\r\nb NOOP\r\n",
	        "ERR-10 a NO [TOOBIG] Message too large (APPENDLIMIT) close\n");
	/* the limits in force never exceed the defaults */
	struct imap_parser ps;
	struct arena ca;
	arena_init(&ca, 1024);
	imap_parser_init(&ps, &ca, 1000);
	imap_parser_set_auth(&ps, true);
	assert_int_equal(ps.lim.stream, 1000);
	lim.stream = 5000;
	imap_parser_set_limits(&ps, &lim);
	assert_int_equal(ps.lim.stream, 1000);
	imap_parser_init(&ps, &ca, 0);
	assert_int_equal(ps.lim.stream, LIMIT_MESSAGE_SIZE);
	arena_free(&ca);
}

/* ---- imap_parse_line: AUTHENTICATE (RFC 9051 6.2.2) and IDLE's DONE (RFC 2177) ---- */

static void lines(void **state)
{
	struct opts one = {.line_mode = 1};
	struct opts two = {.line_mode = 2, .auth = true};
	check_o(&one, "DONE\r\na NOOP\r\n", "LINE DONE\nOK a NOOP\n");
	check_o(&one, "dGVzdA==\nb NOOP\r\n", "LINE dGVzdA==\nOK b NOOP\n");
	check_o(&two, "*\r\n\r\n", "LINE *\nLINE \n");
	check_o(&one, "a\rb\r\n", "LINE a\\x0db\n"); /* content unchecked */
	/* not a command line: no literal in it */
	check_o(&one, "{3+}\r\nabc\r\n", "LINE {3+}\nERR-11 abc BAD Missing command\n");
	char *in = malloc(LIMIT_IMAP_LINE + 20);
	assert_non_null(in);
	for (size_t n = LIMIT_IMAP_LINE_PREAUTH - 1; n <= LIMIT_IMAP_LINE_PREAUTH + 1; n++) {
		memset(in, 'A', n);
		memcpy(in + n - 2, "\r\na NOOP\r\n", 10);
		struct out o = {0};
		run((uint8_t *)in, n + 8, NULL, 0, &one, &o);
		if (n <= LIMIT_IMAP_LINE_PREAUTH)
			assert_non_null(strstr(o.s, "OK a NOOP\n"));
		else
			assert_string_equal(o.s, "LINE ERR-8 BAD Line too long close\n");
		free(o.s);
		check_opts(in, n + 8, &one, NULL);
	}
	/* after login the rest of a too-long line is skipped */
	struct opts auth_one = {.line_mode = 1, .auth = true};
	memset(in, 'A', LIMIT_IMAP_LINE + 1);
	memcpy(in + LIMIT_IMAP_LINE - 1, "\r\na NOOP\r\n", 10);
	check_opts(in, LIMIT_IMAP_LINE + 9, &auth_one, "LINE ERR-8 BAD Line too long\nOK a NOOP\n");
	free(in);
}

/* Reset (STARTTLS) forgets a partly received command. */
static void reset_forgets(void **state)
{
	struct arena ca;
	struct imap_parser ps;
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	imap_parser_init(&ps, &ca, 0);
	size_t used;
	struct imap_cmd *cmd;
	assert_int_equal(imap_parse(&ps, (const uint8_t *)"a NO", 4, &used, &cmd), 0);
	assert_int_equal(used, 4);
	imap_parser_reset(&ps);
	arena_reset(&ca);
	assert_int_equal(imap_parse(&ps, (const uint8_t *)"b NOOP\r\n", 8, &used, &cmd),
	                 IMAP_PARSE_DONE);
	assert_string_equal(cmd->tag, "b");
	/* and a literal being read */
	assert_int_equal(imap_parse(&ps, (const uint8_t *)"c LOGIN {5+}\r\nab", 16, &used, &cmd),
	                 0);
	imap_parser_reset(&ps);
	arena_reset(&ca);
	assert_int_equal(imap_parse(&ps, (const uint8_t *)"d NOOP\r\n", 8, &used, &cmd),
	                 IMAP_PARSE_DONE);
	assert_string_equal(cmd->tag, "d");
	/* a wiped LOGIN leaves no password in its arguments */
	assert_int_equal(
	    imap_parse(&ps, (const uint8_t *)"e LOGIN u {2+}\r\npw\r\n", 20, &used, &cmd),
	    IMAP_PARSE_DONE);
	imap_cmd_wipe(cmd);
	assert_int_equal(cmd->args->next->s[0], 0);
	assert_int_equal(cmd->args->next->s[1], 0);
	/* nothing of the parser's is left in the arena between commands */
	arena_free(&ca);
	assert_int_equal(imap_parse(&ps, (const uint8_t *)"f NOOP\r\n", 8, &used, &cmd),
	                 IMAP_PARSE_DONE);
	arena_free(&ca);
}

/* The verb table: the states of RFC 9051 6, UID rules of 6.4.9. */
static void verb_table(void **state)
{
	for (int v = 1; v < IMAP_VERB_COUNT; v++) {
		assert_true(imap_verbs[v].states != 0);
		assert_true(imap_verbs[v].min_args <= imap_verbs[v].max_args);
		assert_int_equal(verb_find(imap_verbs, IMAP_VERB_COUNT, imap_verbs[v].name,
		                           strlen(imap_verbs[v].name)),
		                 v);
	}
	assert_int_equal(imap_verbs[IMAP_VERB_CAPABILITY].states,
	                 IMAP_ST_NOTAUTH | IMAP_ST_AUTH | IMAP_ST_SELECTED);
	assert_int_equal(imap_verbs[IMAP_VERB_LOGIN].states, IMAP_ST_NOTAUTH);
	assert_true(imap_verbs[IMAP_VERB_LOGIN].secret &&
	            imap_verbs[IMAP_VERB_LOGIN].cleartext_login);
	assert_int_equal(imap_verbs[IMAP_VERB_SELECT].states, IMAP_ST_AUTH | IMAP_ST_SELECTED);
	assert_int_equal(imap_verbs[IMAP_VERB_FETCH].states, IMAP_ST_SELECTED);
	assert_int_equal(imap_verbs[IMAP_VERB_LSUB].states, IMAP_ST_AUTH | IMAP_ST_SELECTED);
	assert_int_equal(imap_verbs[IMAP_VERB_CHECK].states, IMAP_ST_SELECTED);
	assert_true(imap_verb_uid_ok(IMAP_VERB_EXPUNGE) && imap_verb_uid_ok(IMAP_VERB_THREAD));
	assert_false(imap_verb_uid_ok(IMAP_VERB_SELECT) || imap_verb_uid_ok(IMAP_VERB_NONE));
	assert_int_equal(verb_find(imap_verbs, IMAP_VERB_COUNT, "?", 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc9051_2_2_1_commands),
	    cmocka_unit_test(line_for_log),
	    cmocka_unit_test(rfc9051_4_data_formats),
	    cmocka_unit_test(hostile_octets),
	    cmocka_unit_test(rfc9051_4_3_literals),
	    cmocka_unit_test(refused_literals),
	    cmocka_unit_test(resynchronization),
	    cmocka_unit_test(rfc7888_4_literal_minus),
	    cmocka_unit_test(limit_line),
	    cmocka_unit_test(limit_literal),
	    cmocka_unit_test(limit_total),
	    cmocka_unit_test(limit_depth),
	    cmocka_unit_test(limit_args),
	    cmocka_unit_test(rfc9051_6_3_12_append),
	    cmocka_unit_test(rfc7889_appendlimit),
	    cmocka_unit_test(lines),
	    cmocka_unit_test(reset_forgets),
	    cmocka_unit_test(verb_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
