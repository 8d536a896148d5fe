/* test_imap_parse_cmds.c: the per-command interpreters of src/imap/imap_parse_store.c,
 * imap_parse_mailbox.c and imap_parse_caps.c: STORE (RFC 9051 6.4.6, RFC 7162 3.1.3),
 * APPEND (RFC 9051 6.3.12, RFC 3502, RFC 6855 4), LIST (RFC 9051 6.3.9, RFC 5258 3,
 * RFC 6154, RFC 5819), STATUS (RFC 9051 6.3.11), SELECT/EXAMINE (RFC 7162 3.1.8, 3.2.5),
 * CREATE (RFC 6154 5.1), ENABLE (RFC 5161) and ID (RFC 2971 3.3, limits at -1/0/+1). */
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

static struct arena ca;
static struct imap_parser ps;

/* Parse a command; APPEND message data is taken as the session would. */
static struct imap_cmd *parse(const char *line)
{
	arena_reset(&ca);
	imap_parser_init(&ps, &ca, 0);
	imap_parser_set_auth(&ps, true);
	const uint8_t *p = (const uint8_t *)line;
	size_t len = strlen(line);
	for (;;) {
		size_t used;
		struct imap_cmd *cmd = NULL;
		int rc = imap_parse(&ps, p, len, &used, &cmd);
		p += used;
		len -= used;
		if (rc == IMAP_PARSE_DONE)
			return cmd;
		if (rc == IMAP_PARSE_STREAM) {
			assert_true(ps.stream_size <= len);
			p += ps.stream_size;
			len -= ps.stream_size;
			imap_parse_stream_done(&ps);
			continue;
		}
		if (rc != IMAP_PARSE_CONTINUE)
			fail_msg("'%s' does not parse: %d %s", line, rc, ps.err.text);
	}
}

struct out {
	char s[4096];
	size_t n;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->s + o->n, sizeof(o->s) - o->n, fmt, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < sizeof(o->s) - o->n);
	o->n += (size_t)k;
}

static void flags(struct out *o, const struct imap_flags *f)
{
	outf(o, "%x", f->sys);
	for (size_t i = 0; i < f->nkw; i++)
		outf(o, ",%s", f->kw[i]);
}

static void seqset(struct out *o, const struct imap_seqset *s)
{
	for (size_t i = 0; i < s->n; i++)
		outf(o, "%s%u:%u", i ? "," : "", s->r[i].lo, s->r[i].hi);
	if (s->saved)
		outf(o, "$");
}

static void expect(const char *line, struct out *o, int rc, const char *why, const char *want)
{
	if (rc < 0) {
		o->n = 0;
		outf(o, "ERR%d %s", rc, why ? why : "(no why)");
	}
	if (strcmp(o->s, want) != 0)
		fail_msg("'%s'\n got: %s\nwant: %s", line, o->s, want);
}

static void store(const char *line, const char *want)
{
	struct imap_store s;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_store(parse(line), &ca, &s, &why);
	if (rc == 0) {
		seqset(&o, &s.set);
		outf(&o, " %c%s ", "=+-"[s.op], s.silent ? " silent" : "");
		flags(&o, &s.flags);
		if (s.unchangedsince)
			outf(&o, " unchangedsince=%llu",
			     (unsigned long long)s.unchangedsince_modseq);
	}
	expect(line, &o, rc, why, want);
}

/* RFC 9051 6.4.6 STORE; RFC 7162 3.1.3 UNCHANGEDSINCE. */
static void rfc9051_6_4_6_store(void **state)
{
	store("a STORE 2:4 +FLAGS (\\Deleted)\r\n", "2:4 + 8");
	store("a STORE 1 FLAGS.SILENT (\\Seen $Junk)\r\n", "1:1 = silent 1,$Junk");
	store("a UID STORE 1 -flags.silent \\Seen \\Flagged foo\r\n", "1:1 - silent 5,foo");
	store("a STORE 1 FLAGS ()\r\n", "1:1 = 0");
	store("a STORE 1:* (UNCHANGEDSINCE 12345) +FLAGS.SILENT (\\Deleted)\r\n",
	      "1:4294967295 + silent 8 unchangedsince=12345");
	store("a STORE 1 (UNCHANGEDSINCE 0) FLAGS ()\r\n", "1:1 = 0 unchangedsince=0");
	store("a STORE 1 (UNCHANGEDSINCE) FLAGS ()\r\n", "ERR-11 BAD Invalid STORE modifier");
	store("a STORE 1 (FOO 1) FLAGS ()\r\n", "ERR-11 BAD Invalid STORE modifier");
	store("a STORE 1 +FLAG (\\Seen)\r\n", "ERR-11 BAD Invalid STORE item");
	store("a STORE 1 *FLAGS (\\Seen)\r\n", "ERR-11 BAD Invalid STORE item");
	store("a STORE 1 +-FLAGS (\\Seen)\r\n", "ERR-11 BAD Invalid STORE item");
	store("a STORE 1 FLAGS.SILENT.X (\\Seen)\r\n", "ERR-11 BAD Invalid STORE item");
	store("a STORE 1 FLAGS (\\Seen) x\r\n", "ERR-11 BAD Too many arguments");
	store("a STORE 1 FLAGS (\\Recent)\r\n", "ERR-11 BAD Invalid system flag");
	store("a STORE 1 FLAGS \\Seen (x)\r\n", "ERR-11 BAD Flags are atoms");
	store("a STORE 1 (UNCHANGEDSINCE 5) FLAGS\r\n", "ERR-11 BAD Missing flags");
	store("a STORE x FLAGS ()\r\n", "ERR-11 BAD Invalid sequence set");
}

static void append(const char *line, const char *want)
{
	struct imap_append ap;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_append(parse(line), &ca, &ap, &why);
	if (rc == 0) {
		outf(&o, "%s", ap.mailbox->s);
		for (size_t i = 0; i < ap.nmsgs; i++) {
			const struct imap_append_msg *m = &ap.msgs[i];
			outf(&o, " [");
			flags(&o, &m->flags);
			if (m->has_date)
				outf(&o, " %lld%+d", (long long)m->date, m->zone);
			outf(&o, " %llu%s%s]", (unsigned long long)m->size, m->binary ? " bin" : "",
			     m->utf8 ? " utf8" : "");
		}
	}
	expect(line, &o, rc, why, want);
}

/* RFC 9051 6.3.12 APPEND, RFC 3502 MULTIAPPEND, RFC 6855 4 UTF8, RFC 3516 4.4. */
static void rfc9051_6_3_12_append_cases(void **state)
{
	append("a APPEND Drafts (\\Seen \\Draft $MDNSent) \" 7-Feb-1994 21:52:25 -0800\" "
	       "{2+}\r\nab\r\n",
	       "Drafts [11,$MDNSent 760686745-480 2]");
	append("a APPEND INBOX \"17-Jul-1996 09:44:25 +0000\" ~{2+}\r\n\1\2\r\n",
	       "INBOX [0 837596665+0 2 bin]");
	append("a APPEND INBOX (\\Seen) {1+}\r\nx (\\Draft) {2+}\r\nxy {0+}\r\n\r\n",
	       "INBOX [1 1] [10 2] [0 0]");
	append("a APPEND INBOX UTF8 (~{3+}\r\nabc)\r\n", "INBOX [0 3 bin utf8]");
	append("a APPEND INBOX () UTF8 (~{3+}\r\nabc) {1+}\r\nz\r\n", "INBOX [0 3 bin utf8] [0 1]");
	append("a APPEND {5+}\r\nINBOX {1+}\r\nx\r\n", "INBOX [0 1]");
	append("a APPEND INBOX (\\Seen)\r\n", "ERR-11 BAD Missing message literal");
	append("a APPEND INBOX (\\Recent) {1+}\r\nx\r\n", "ERR-11 BAD Invalid system flag");
	append("a APPEND INBOX \"30-Feb-1994 21:52:25 -0800\" {1+}\r\nx\r\n",
	       "ERR-11 BAD Invalid date-time");
	append("a APPEND INBOX \"x\" {1+}\r\nx\r\n", "ERR-11 BAD Invalid date-time");
	append("a APPEND INBOX {1+}\r\nx y\r\n", "ERR-11 BAD Missing message literal");
	append("a APPEND INBOX UTF8 {1+}\r\nx\r\n", "ERR-11 BAD Invalid UTF8 message data");
	append("a APPEND INBOX UTF8 () {1+}\r\nx\r\n", "ERR-11 BAD Invalid UTF8 message data");
	append("a APPEND INBOX UTF8 (x)\r\n", "ERR-11 BAD Missing message literal");
	append("a APPEND (x) {1+}\r\nx\r\n", "ERR-11 BAD Invalid mailbox name");
	append("a APPEND INBOX {1+}\r\nx (\\Seen)\r\n", "ERR-11 BAD Missing message literal");
}

/* The partial command of a STREAM result: its last message is the one streaming. */
static void append_partial(void **state)
{
	arena_reset(&ca);
	imap_parser_init(&ps, &ca, 0);
	imap_parser_set_auth(&ps, true);
	const char *in = "a APPEND INBOX (\\Seen) {3}\r\n";
	size_t used;
	struct imap_cmd *cmd;
	assert_int_equal(imap_parse(&ps, (const uint8_t *)in, strlen(in), &used, &cmd),
	                 IMAP_PARSE_STREAM);
	struct imap_append ap;
	const char *why;
	assert_int_equal(imap_parse_append(cmd, &ca, &ap, &why), 0);
	assert_int_equal(ap.nmsgs, 1);
	assert_int_equal(ap.msgs[0].size, 3);
	assert_int_equal(ap.msgs[0].flags.sys, IMAP_FLAG_SEEN);
	imap_parse_stream_done(&ps);
	in = " (\\Draft) {4}\r\n";
	assert_int_equal(imap_parse(&ps, (const uint8_t *)in, strlen(in), &used, &cmd),
	                 IMAP_PARSE_STREAM);
	assert_int_equal(imap_parse_append(cmd, &ca, &ap, &why), 0);
	assert_int_equal(ap.nmsgs, 2);
	assert_int_equal(ap.msgs[1].size, 4);
	assert_int_equal(ap.msgs[1].flags.sys, IMAP_FLAG_DRAFT);
}

static void list(const char *line, const char *want)
{
	struct imap_list l;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_list(parse(line), &ca, &l, &why);
	if (rc == 0) {
		outf(&o, "ref=%s", l.ref->s);
		for (size_t i = 0; i < l.npat; i++)
			outf(&o, " pat=%s", l.pat[i]->s);
		outf(&o, " sel=%x ret=%x status=%x%s", l.sel, l.ret, l.status,
		     l.extended ? " ext" : "");
	}
	expect(line, &o, rc, why, want);
}

/* RFC 9051 6.3.9 LIST, RFC 5258 3 LIST-EXTENDED, RFC 6154, RFC 5819. */
static void rfc5258_3_list(void **state)
{
	list("a LIST \"\" *\r\n", "ref= pat=* sel=0 ret=0 status=0");
	list("a LIST \"\" \"\"\r\n", "ref= pat= sel=0 ret=0 status=0");
	list("a LIST ~/Mail/ %\r\n", "ref=~/Mail/ pat=% sel=0 ret=0 status=0");
	list("a LIST INBOX NIL\r\n", "ref=INBOX pat=NIL sel=0 ret=0 status=0");
	list("a LIST (SUBSCRIBED) \"\" \"*\" RETURN (SPECIAL-USE)\r\n",
	     "ref= pat=* sel=1 ret=4 status=0 ext");
	list("a LIST (SUBSCRIBED RECURSIVEMATCH REMOTE) \"\" (\"INBOX\" \"Drafts/%\")\r\n",
	     "ref= pat=INBOX pat=Drafts/% sel=7 ret=0 status=0 ext");
	list("a LIST (special-use) \"\" *\r\n", "ref= pat=* sel=8 ret=0 status=0 ext");
	list("a LIST () \"\" %\r\n", "ref= pat=% sel=0 ret=0 status=0 ext");
	list("a LIST \"\" % RETURN (CHILDREN SUBSCRIBED STATUS (MESSAGES UNSEEN))\r\n",
	     "ref= pat=% sel=0 ret=b status=9 ext");
	list("a LIST \"\" % RETURN ()\r\n", "ref= pat=% sel=0 ret=0 status=0 ext");
	list("a LIST \"\" RETURN\r\n", "ref= pat=RETURN sel=0 ret=0 status=0");
	list("a LIST (FOO) \"\" *\r\n", "ERR-11 BAD Unknown LIST selection option");
	list("a LIST (RECURSIVEMATCH) \"\" *\r\n",
	     "ERR-11 BAD RECURSIVEMATCH needs another selection option");
	list("a LIST (RECURSIVEMATCH REMOTE) \"\" *\r\n",
	     "ERR-11 BAD RECURSIVEMATCH needs another selection option");
	list("a LIST \"\" * RETURN (FOO)\r\n", "ERR-11 BAD Unknown LIST return option");
	list("a LIST \"\" * RETURN (STATUS)\r\n", "ERR-11 BAD Invalid status items");
	list("a LIST \"\" * RETURN (STATUS (FOO))\r\n", "ERR-11 BAD Unknown status item");
	list("a LIST \"\" * RETURN\r\n", "ERR-11 BAD Invalid LIST arguments");
	list("a LIST \"\" * FOO (X)\r\n", "ERR-11 BAD Invalid LIST arguments");
	list("a LIST \"\" ()\r\n", "ERR-11 BAD Empty pattern list");
	list("a LIST \"\" (a (b))\r\n", "ERR-11 BAD Invalid mailbox pattern");
	list("a LIST a% *\r\n", "ERR-11 BAD Invalid mailbox name");
	list("a LIST (SUBSCRIBED) \"\"\r\n", "ERR-11 BAD Missing mailbox pattern");
}

static void status(const char *line, const char *want)
{
	struct imap_status st;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_status(parse(line), &st, &why);
	if (rc == 0)
		outf(&o, "%s %x", st.mailbox->s, st.items);
	expect(line, &o, rc, why, want);
}

/* RFC 9051 6.3.11 STATUS; RFC 8438 SIZE, RFC 7162, RFC 7889, RFC 8474. */
static void rfc9051_6_3_11_status(void **state)
{
	status("a STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", "blurdybloop 3");
	status("a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT "
	       "HIGHESTMODSEQ APPENDLIMIT MAILBOXID)\r\n",
	       "INBOX 3ff");
	status("a STATUS INBOX (messages)\r\n", "INBOX 1");
	status("a STATUS INBOX ()\r\n", "ERR-11 BAD Invalid status items");
	status("a STATUS INBOX MESSAGES\r\n", "ERR-11 BAD Invalid status items");
	status("a STATUS INBOX (MESSAGES FOO)\r\n", "ERR-11 BAD Unknown status item");
	status("a STATUS (INBOX) (MESSAGES)\r\n", "ERR-11 BAD Invalid mailbox name");
}

static void select_(const char *line, const char *want)
{
	struct imap_select s;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_select(parse(line), &ca, &s, &why);
	if (rc == 0) {
		outf(&o, "%s%s", s.mailbox->s, s.condstore ? " condstore" : "");
		if (s.qresync)
			outf(&o, " qresync=%u/%llu", s.uidvalidity, (unsigned long long)s.modseq);
		if (s.has_known_uids) {
			outf(&o, " known=");
			seqset(&o, &s.known_uids);
		}
		if (s.has_seq_match) {
			outf(&o, " match=");
			seqset(&o, &s.known_seqs);
			outf(&o, "/");
			seqset(&o, &s.known_seq_uids);
		}
	}
	expect(line, &o, rc, why, want);
}

/* RFC 7162 3.1.8 CONDSTORE parameter, 3.2.5 QRESYNC parameter. */
static void rfc7162_select(void **state)
{
	select_("a SELECT INBOX\r\n", "INBOX");
	select_("a EXAMINE INBOX (CONDSTORE)\r\n", "INBOX condstore");
	select_("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
	        "INBOX qresync=67890007/20050715194045000 known=41:41,43:211,214:541");
	select_("a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 "
	        "(1:15,20:25 41:55,61:70)))\r\n",
	        "INBOX qresync=67890007/90060115194045000 known=41:211,214:541 "
	        "match=1:15,20:25/41:55,61:70");
	select_("a SELECT INBOX (QRESYNC (1 2 (1 2)))\r\n", "INBOX qresync=1/2 match=1:1/2:2");
	select_("a SELECT INBOX (QRESYNC (1 0) CONDSTORE)\r\n", "INBOX condstore qresync=1/0");
	const char *bad = "ERR-11 BAD Invalid QRESYNC parameters";
	select_("a SELECT INBOX (QRESYNC (0 2))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC (1))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC (1 2 1:*))\r\n", bad); /* no "*" in known-uids */
	select_("a SELECT INBOX (QRESYNC (1 2 $))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC (1 2 1:5 (1:* 1:5)))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC (1 2 1:5 (1:5)))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC (1 2 1:5 (1 2) x))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC (4294967296 2))\r\n", bad);
	select_("a SELECT INBOX (QRESYNC)\r\n", bad);
	select_("a SELECT INBOX ()\r\n", "ERR-11 BAD Invalid SELECT parameters");
	select_("a SELECT INBOX CONDSTORE\r\n", "ERR-11 BAD Invalid SELECT parameters");
	select_("a SELECT INBOX (FOO)\r\n", "ERR-11 BAD Unknown SELECT parameter");
	select_("a SELECT \"\" (CONDSTORE)\r\n", " condstore");
}

static void create(const char *line, const char *want)
{
	struct imap_create c;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_create(parse(line), &c, &why);
	if (rc == 0)
		outf(&o, "%s %x", c.mailbox->s, c.use);
	expect(line, &o, rc, why, want);
}

/* RFC 6154 5.1 CREATE-SPECIAL-USE. */
static void rfc6154_5_1_create(void **state)
{
	create("a CREATE owatagusiam/\r\n", "owatagusiam/ 0");
	create("a CREATE MySpecial (USE (\\Drafts \\Sent))\r\n", "MySpecial 24");
	create("a CREATE x (USE (\\All \\Archive \\Flagged \\Junk \\trash))\r\n", "x 5b");
	create("a CREATE x (USE ())\r\n", "x 0");
	create("a CREATE x (USE (\\Important))\r\n",
	       "ERR-12 NO [USEATTR] Unknown special-use attribute");
	create("a CREATE x (USE (Drafts))\r\n", "ERR-11 BAD Invalid special use");
	create("a CREATE x (USE \\Drafts)\r\n", "ERR-11 BAD Unknown CREATE parameter");
	create("a CREATE x (FOO (x))\r\n", "ERR-11 BAD Unknown CREATE parameter");
	create("a CREATE x ()\r\n", "ERR-11 BAD Invalid CREATE parameters");
	create("a CREATE x%\r\n", "ERR-11 BAD Invalid mailbox name");
}

/* RFC 5161 3.1 ENABLE: unknown capabilities ignored. */
static void rfc5161_enable(void **state)
{
	unsigned caps;
	const char *why = NULL;
	assert_int_equal(
	    imap_parse_enable(parse("a ENABLE CONDSTORE X-FOO qresync\r\n"), &caps, &why), 0);
	assert_int_equal(caps, IMAP_ENABLE_CONDSTORE | IMAP_ENABLE_QRESYNC);
	assert_int_equal(
	    imap_parse_enable(parse("a ENABLE IMAP4rev2 UTF8=ACCEPT\r\n"), &caps, &why), 0);
	assert_int_equal(caps, IMAP_ENABLE_IMAP4REV2 | IMAP_ENABLE_UTF8_ACCEPT);
	assert_int_equal(imap_parse_enable(parse("a ENABLE \"CONDSTORE\"\r\n"), &caps, &why),
	                 ERR_BAD_SYNTAX);
	assert_string_equal(why, "BAD ENABLE takes capability names");
	assert_int_equal(imap_parse_enable(parse("a ENABLE\r\n"), &caps, &why), ERR_BAD_SYNTAX);
}

/* RFC 2971 3.3: at most 30 pairs, fields 30 octets, values 1024 octets; -1/0/+1. */
static void rfc2971_id(void **state)
{
	struct imap_id_param *p;
	size_t n;
	struct imap_cmd *c =
	    parse("a ID (\"name\" \"sodr\" \"version\" NIL \"os\" {5+}\r\nLinux)\r\n");
	assert_int_equal(imap_parse_id(c->args, &ca, &p, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(p[0].key, "name");
	assert_string_equal(p[0].value, "sodr");
	assert_null(p[1].value);
	assert_string_equal(p[2].value, "Linux");
	assert_int_equal(imap_parse_id(parse("a ID NIL\r\n")->args, &ca, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(imap_parse_id(parse("a ID ()\r\n")->args, &ca, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(imap_parse_id(parse("a ID (\"a\")\r\n")->args, &ca, &p, &n),
	                 ERR_BAD_SYNTAX);
	assert_int_equal(imap_parse_id(parse("a ID (name \"x\")\r\n")->args, &ca, &p, &n),
	                 ERR_BAD_SYNTAX); /* field names are strings */
	assert_int_equal(imap_parse_id(parse("a ID (\"a\" (x))\r\n")->args, &ca, &p, &n),
	                 ERR_BAD_SYNTAX);
	assert_int_equal(imap_parse_id(parse("a ID \"x\"\r\n")->args, &ca, &p, &n), ERR_BAD_SYNTAX);
	static char line[40000];
	for (size_t k = LIMIT_IMAP_ID_PAIRS - 1; k <= LIMIT_IMAP_ID_PAIRS + 1; k++) {
		size_t o = (size_t)snprintf(line, sizeof(line), "a ID (");
		for (size_t i = 0; i < k; i++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "\"f%zu\" \"v\" ", i);
		snprintf(line + o, sizeof(line) - o, ")\r\n");
		assert_int_equal(imap_parse_id(parse(line)->args, &ca, &p, &n),
		                 k <= LIMIT_IMAP_ID_PAIRS ? 0 : ERR_BAD_SYNTAX);
	}
	for (size_t k = LIMIT_IMAP_ID_FIELD - 1; k <= LIMIT_IMAP_ID_FIELD + 1; k++) {
		char f[64];
		memset(f, 'f', k);
		f[k] = '\0';
		snprintf(line, sizeof(line), "a ID (\"%s\" NIL)\r\n", f);
		assert_int_equal(imap_parse_id(parse(line)->args, &ca, &p, &n),
		                 k <= LIMIT_IMAP_ID_FIELD ? 0 : ERR_BAD_SYNTAX);
	}
	for (size_t k = LIMIT_IMAP_ID_VALUE - 1; k <= LIMIT_IMAP_ID_VALUE + 1; k++) {
		char v[2048];
		memset(v, 'v', k);
		v[k] = '\0';
		snprintf(line, sizeof(line), "a ID (\"f\" \"%s\")\r\n", v);
		assert_int_equal(imap_parse_id(parse(line)->args, &ca, &p, &n),
		                 k <= LIMIT_IMAP_ID_VALUE ? 0 : ERR_BAD_SYNTAX);
	}
}

static int setup(void **state)
{
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&ca);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc9051_6_4_6_store),
	    cmocka_unit_test(rfc9051_6_3_12_append_cases),
	    cmocka_unit_test(append_partial),
	    cmocka_unit_test(rfc5258_3_list),
	    cmocka_unit_test(rfc9051_6_3_11_status),
	    cmocka_unit_test(rfc7162_select),
	    cmocka_unit_test(rfc6154_5_1_create),
	    cmocka_unit_test(rfc5161_enable),
	    cmocka_unit_test(rfc2971_id),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
