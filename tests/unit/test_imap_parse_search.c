/* test_imap_parse_search.c: SEARCH keys, SORT and THREAD (src/imap/imap_parse_search.c):
 * every key of RFC 9051 6.4.4 and the rev1 ones of RFC 3501 6.4.4, MODSEQ (RFC 7162
 * 3.1.5), SAVEDATE* (RFC 8514), EMAILID/THREADID (RFC 8474), OLDER/YOUNGER (RFC 5032),
 * CHARSET and BADCHARSET, RETURN (RFC 4731, RFC 5182), SORT (RFC 5256 3, RFC 5957) and
 * THREAD (RFC 5256 3); LIMIT_IMAP_SEARCH_DEPTH and LIMIT_IMAP_OBJECTID at -1/0/+1. The
 * tree is written as an S-expression and compared. */
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

static struct imap_cmd *parse(const char *line)
{
	static struct imap_parser ps;
	arena_reset(&ca);
	imap_parser_init(&ps, &ca, 0);
	imap_parser_set_auth(&ps, true);
	size_t used;
	struct imap_cmd *cmd = NULL;
	int rc = imap_parse(&ps, (const uint8_t *)line, strlen(line), &used, &cmd);
	if (rc != IMAP_PARSE_DONE)
		fail_msg("'%s' does not parse: %d %s", line, rc, ps.err.text);
	return cmd;
}

static const char *const key_names[] = {
    [IMAP_SK_AND] = "",
    [IMAP_SK_OR] = "OR",
    [IMAP_SK_NOT] = "NOT",
    [IMAP_SK_ALL] = "ALL",
    [IMAP_SK_SEQSET] = "SEQ",
    [IMAP_SK_UID] = "UID",
    [IMAP_SK_FLAG] = "FLAG",
    [IMAP_SK_UNFLAG] = "UNFLAG",
    [IMAP_SK_NEW] = "NEW",
    [IMAP_SK_KEYWORD] = "KEYWORD",
    [IMAP_SK_UNKEYWORD] = "UNKEYWORD",
    [IMAP_SK_BEFORE] = "BEFORE",
    [IMAP_SK_ON] = "ON",
    [IMAP_SK_SINCE] = "SINCE",
    [IMAP_SK_SENTBEFORE] = "SENTBEFORE",
    [IMAP_SK_SENTON] = "SENTON",
    [IMAP_SK_SENTSINCE] = "SENTSINCE",
    [IMAP_SK_SAVEDATEBEFORE] = "SAVEDATEBEFORE",
    [IMAP_SK_SAVEDATEON] = "SAVEDATEON",
    [IMAP_SK_SAVEDATESINCE] = "SAVEDATESINCE",
    [IMAP_SK_SAVEDATESUPPORTED] = "SAVEDATESUPPORTED",
    [IMAP_SK_OLDER] = "OLDER",
    [IMAP_SK_YOUNGER] = "YOUNGER",
    [IMAP_SK_LARGER] = "LARGER",
    [IMAP_SK_SMALLER] = "SMALLER",
    [IMAP_SK_HEADER] = "HEADER",
    [IMAP_SK_FROM] = "FROM",
    [IMAP_SK_TO] = "TO",
    [IMAP_SK_CC] = "CC",
    [IMAP_SK_BCC] = "BCC",
    [IMAP_SK_SUBJECT] = "SUBJECT",
    [IMAP_SK_BODY] = "BODY",
    [IMAP_SK_TEXT] = "TEXT",
    [IMAP_SK_MODSEQ] = "MODSEQ",
    [IMAP_SK_EMAILID] = "EMAILID",
    [IMAP_SK_THREADID] = "THREADID",
};

struct out {
	char s[16384];
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

static void set(struct out *o, const struct imap_seqset *s)
{
	if (s->saved) {
		outf(o, "$");
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		outf(o, "%s%u", i ? "," : "", s->r[i].lo);
		if (s->r[i].hi != s->r[i].lo)
			outf(o, ":%u", s->r[i].hi);
	}
}

static void tree(struct out *o, const struct imap_search *n)
{
	for (bool first = true; n; n = n->next, first = false) {
		if (!first)
			outf(o, " ");
		outf(o, "%s", key_names[n->key]);
		switch (n->key) {
		case IMAP_SK_AND:
			outf(o, "(");
			tree(o, n->sub);
			outf(o, ")");
			break;
		case IMAP_SK_OR:
		case IMAP_SK_NOT:
			assert_true(n->key == IMAP_SK_NOT
			                ? n->sub && !n->sub->next
			                : n->sub && n->sub->next && !n->sub->next->next);
			outf(o, "(");
			tree(o, n->sub);
			outf(o, ")");
			break;
		case IMAP_SK_SEQSET:
		case IMAP_SK_UID:
			outf(o, "[");
			set(o, &n->set);
			outf(o, "]");
			break;
		case IMAP_SK_FLAG:
		case IMAP_SK_UNFLAG:
			outf(o, ":%x", n->flag);
			break;
		case IMAP_SK_BEFORE:
		case IMAP_SK_ON:
		case IMAP_SK_SINCE:
		case IMAP_SK_SENTBEFORE:
		case IMAP_SK_SENTON:
		case IMAP_SK_SENTSINCE:
		case IMAP_SK_SAVEDATEBEFORE:
		case IMAP_SK_SAVEDATEON:
		case IMAP_SK_SAVEDATESINCE:
			outf(o, ":%d", n->days);
			break;
		case IMAP_SK_OLDER:
		case IMAP_SK_YOUNGER:
		case IMAP_SK_LARGER:
		case IMAP_SK_SMALLER:
			outf(o, ":%llu", (unsigned long long)n->num);
			break;
		case IMAP_SK_MODSEQ:
			if (n->field)
				outf(o, ":%s/%d", n->field, (int)n->entry);
			outf(o, ":%llu", (unsigned long long)n->num);
			break;
		case IMAP_SK_HEADER:
			outf(o, ":%s=%s", n->field, n->str);
			assert_int_equal(strlen(n->field), n->field_len);
			break;
		case IMAP_SK_KEYWORD:
		case IMAP_SK_UNKEYWORD:
		case IMAP_SK_FROM:
		case IMAP_SK_TO:
		case IMAP_SK_CC:
		case IMAP_SK_BCC:
		case IMAP_SK_SUBJECT:
		case IMAP_SK_BODY:
		case IMAP_SK_TEXT:
		case IMAP_SK_EMAILID:
		case IMAP_SK_THREADID:
			outf(o, ":%s", n->str);
			assert_int_equal(strlen(n->str), n->len);
			break;
		default:
			break;
		}
	}
}

static void prog(struct out *o, const struct imap_search_prog *p)
{
	assert_int_equal(p->root->key, IMAP_SK_AND);
	tree(o, p->root->sub);
	if (p->charset == IMAP_CHARSET_ASCII)
		outf(o, " | ascii");
	if (p->esearch)
		outf(o, " | return=%x", p->ret);
	if (p->rev1_keys)
		outf(o, " | rev1");
	if (p->modseq)
		outf(o, " | modseq");
	if (p->saved)
		outf(o, " | saved");
}

static void search(const char *line, const char *want)
{
	struct imap_search_prog p;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_search(parse(line), &ca, &p, &why);
	if (rc < 0)
		outf(&o, "ERR%d %s", rc, why ? why : "(no why)");
	else
		prog(&o, &p);
	if (strcmp(o.s, want) != 0)
		fail_msg("'%s'\n got: %s\nwant: %s", line, o.s, want);
}

/* RFC 9051 6.4.4 and its examples. 1-Feb-1994 is day 8797 since 1970-01-01. */
static void rfc9051_6_4_4_search(void **state)
{
	search("a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
	       "FLAG:4 SINCE:8797 NOT(FROM:Smith)");
	search("a SEARCH TEXT \"string not in mailbox\"\r\n", "TEXT:string not in mailbox");
	search("a SEARCH ALL\r\n", "ALL");
	search("a SEARCH 2:4,7 UID 1:*\r\n", "SEQ[2:4,7] UID[1:4294967295]");
	search("a SEARCH OR (FROM a TO b) 1:5\r\n", "OR((FROM:a TO:b) SEQ[1:5])");
	search("a SEARCH OR OR SEEN DRAFT DELETED\r\n", "OR(OR(FLAG:1 FLAG:10) FLAG:8)");
	search("a SEARCH NOT NOT ANSWERED\r\n", "NOT(NOT(FLAG:2))");
	search("a SEARCH (SEEN (FLAGGED) UNSEEN)\r\n", "(FLAG:1 (FLAG:4) UNFLAG:1)");
	search("a SEARCH answered deleted draft flagged seen\r\n",
	       "FLAG:2 FLAG:8 FLAG:10 FLAG:4 FLAG:1");
	search("a SEARCH UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN\r\n",
	       "UNFLAG:2 UNFLAG:8 UNFLAG:10 UNFLAG:4 UNFLAG:1");
	search("a SEARCH KEYWORD $Junk UNKEYWORD foo\r\n", "KEYWORD:$Junk UNKEYWORD:foo");
	search("a SEARCH BEFORE 1-Jan-1970 ON \"2-Jan-1970\" SENTBEFORE 3-Jan-1970 SENTON "
	       "4-Jan-1970 SENTSINCE 5-Jan-1970\r\n",
	       "BEFORE:0 ON:1 SENTBEFORE:2 SENTON:3 SENTSINCE:4");
	search("a SEARCH LARGER 100 SMALLER 9223372036854775807\r\n",
	       "LARGER:100 SMALLER:9223372036854775807");
	search("a SEARCH HEADER X-Spam \"\" HEADER \"Message-ID\" {3+}\r\n<x>\r\n",
	       "HEADER:X-Spam= HEADER:Message-ID=<x>");
	search("a SEARCH FROM NIL TO \"\" CC c BCC d SUBJECT s BODY b\r\n",
	       "FROM:NIL TO: CC:c BCC:d SUBJECT:s BODY:b");
	search("a SEARCH $\r\n", "SEQ[$] | saved");
	search("a UID SEARCH UID $\r\n", "UID[$] | saved");
	search("a SEARCH *\r\n", "SEQ[4294967295]");
	/* errors */
	search("a SEARCH FOO\r\n", "ERR-11 BAD Unknown search key");
	search("a SEARCH \"ALL\"\r\n", "ERR-11 BAD Invalid search key");
	search("a SEARCH ()\r\n", "ERR-11 BAD Missing search key");
	search("a SEARCH FROM\r\n", "ERR-11 BAD Missing search argument");
	search("a SEARCH NOT\r\n", "ERR-11 BAD Missing search argument");
	search("a SEARCH OR SEEN\r\n", "ERR-11 BAD Missing search argument");
	search("a SEARCH FROM (a)\r\n", "ERR-11 BAD Invalid search string");
	search("a SEARCH FROM a% \r\n", "ERR-11 BAD Invalid search string");
	search("a SEARCH SINCE 30-Feb-2024\r\n", "ERR-11 BAD Invalid date");
	search("a SEARCH SINCE 1-Feb-2024 10:00\r\n", "ERR-11 BAD Invalid sequence set");
	search("a SEARCH LARGER x\r\n", "ERR-11 BAD Invalid number");
	search("a SEARCH LARGER -1\r\n", "ERR-11 BAD Invalid number");
	search("a SEARCH LARGER 9223372036854775808\r\n", "ERR-11 BAD Invalid number");
	search("a SEARCH KEYWORD \\Seen\r\n", "ERR-11 BAD Invalid keyword");
	search("a SEARCH KEYWORD \"x\"\r\n", "ERR-11 BAD Invalid keyword");
	search("a SEARCH KEYWORD a]\r\n", "ERR-11 BAD Invalid keyword");
	search("a SEARCH HEADER X\r\n", "ERR-11 BAD Invalid HEADER search");
	search("a SEARCH UID 0\r\n", "ERR-11 BAD Invalid sequence set");
	search("a SEARCH 1,,2\r\n", "ERR-11 BAD Invalid sequence set");
	search("a SEARCH UID FROM\r\n", "ERR-11 BAD Invalid sequence set");
}

/* RFC 3501 6.4.4: NEW, OLD, RECENT (gone in rev2: the session decides). */
static void rfc3501_6_4_4_rev1_keys(void **state)
{
	search("a SEARCH NEW\r\n", "NEW | rev1");
	search("a SEARCH OLD\r\n", "UNFLAG:100 | rev1");
	search("a SEARCH RECENT SEEN\r\n", "FLAG:100 FLAG:1 | rev1");
	search("a SEARCH UNRECENT\r\n", "ERR-11 BAD Unknown search key");
}

/* CHARSET (RFC 9051 6.4.4: BADCHARSET with the list) and RETURN (RFC 4731, 5182). */
static void charset_and_return(void **state)
{
	search("a SEARCH CHARSET UTF-8 TEXT {4+}\r\nM\xc3\xbcl\r\n", "TEXT:M\xc3\xbcl");
	search("a SEARCH CHARSET us-ascii ALL\r\n", "ALL | ascii");
	search("a SEARCH CHARSET \"UTF-8\" ALL\r\n", "ALL");
	search("a SEARCH CHARSET ISO-8859-1 ALL\r\n",
	       "ERR-12 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	search("a SEARCH CHARSET\r\n", "ERR-11 BAD Missing charset");
	search("a SEARCH CHARSET UTF-8\r\n", "ERR-11 BAD Missing search key");
	search("a SEARCH RETURN (MIN MAX) UNSEEN\r\n", "UNFLAG:1 | return=3");
	search("a SEARCH RETURN (ALL COUNT SAVE) ALL\r\n", "ALL | return=1c");
	search("a SEARCH RETURN () ALL\r\n", "ALL | return=4");
	search("a SEARCH RETURN (min) CHARSET UTF-8 ALL\r\n", "ALL | return=1");
	search("a SEARCH RETURN (PARTIAL 1:10) ALL\r\n", "ERR-11 BAD Unknown RETURN option");
	search("a SEARCH RETURN ALL\r\n", "ERR-11 BAD Invalid RETURN options");
	search("a SEARCH RETURN\r\n", "ERR-11 BAD Invalid RETURN options");
	search("a SEARCH CHARSET UTF-8 RETURN (ALL) ALL\r\n", "ERR-11 BAD Unknown search key");
}

/* RFC 7162 3.1.5 MODSEQ, RFC 8514 SAVEDATE, RFC 8474 5 EMAILID/THREADID, RFC 5032. */
static void extension_keys(void **state)
{
	search("a SEARCH MODSEQ 620162338\r\n", "MODSEQ:620162338 | modseq");
	search("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
	       "MODSEQ:/flags/\\draft/3:620162338 | modseq");
	search("a SEARCH MODSEQ \"/flags/$Junk\" priv 0\r\n", "MODSEQ:/flags/$Junk/1:0 | modseq");
	search("a SEARCH MODSEQ \"/flags/x\" SHARED 5\r\n", "MODSEQ:/flags/x/2:5 | modseq");
	search("a SEARCH MODSEQ \"/flags/\" all 5\r\n", "ERR-11 BAD Invalid MODSEQ entry name");
	search("a SEARCH MODSEQ \"/shared/x\" all 5\r\n", "ERR-11 BAD Invalid MODSEQ entry name");
	search("a SEARCH MODSEQ \"/flags/x\" none 5\r\n", "ERR-11 BAD Invalid MODSEQ entry type");
	search("a SEARCH MODSEQ \"/flags/x\" all\r\n", "ERR-11 BAD Invalid MODSEQ value");
	search("a SEARCH MODSEQ x\r\n", "ERR-11 BAD Invalid MODSEQ value");
	search("a SEARCH SAVEDBEFORE 1-Jan-1970 SAVEDON 1-Jan-1970 SAVEDSINCE "
	       "1-Jan-1970 SAVEDATESUPPORTED\r\n",
	       "SAVEDATEBEFORE:0 SAVEDATEON:0 SAVEDATESINCE:0 SAVEDATESUPPORTED");
	search("a SEARCH EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9\r\n",
	       "EMAILID:M6d99ac3275bb4e THREADID:T64b478a75b7ea9");
	search("a SEARCH EMAILID a_b-C\r\n", "EMAILID:a_b-C");
	search("a SEARCH EMAILID a.b\r\n", "ERR-11 BAD Invalid object id");
	search("a SEARCH EMAILID \"\"\r\n", "ERR-11 BAD Invalid object id");
	search("a SEARCH OLDER 3600 YOUNGER 1\r\n", "OLDER:3600 YOUNGER:1");
	search("a SEARCH OLDER 0\r\n", "ERR-11 BAD Invalid number");
	search("a SEARCH YOUNGER 4294967296\r\n", "ERR-11 BAD Invalid number");
	/* LIMIT_IMAP_OBJECTID at -1, 0, +1 */
	char line[400], want[400], id[300];
	for (size_t n = LIMIT_IMAP_OBJECTID - 1; n <= LIMIT_IMAP_OBJECTID + 1; n++) {
		memset(id, 'M', n);
		id[n] = '\0';
		snprintf(line, sizeof(line), "a SEARCH EMAILID %s\r\n", id);
		snprintf(want, sizeof(want), "EMAILID:%s", id);
		search(line, n <= LIMIT_IMAP_OBJECTID ? want : "ERR-11 BAD Invalid object id");
	}
}

/* LIMIT_IMAP_SEARCH_DEPTH: NOT, OR and parentheses count, -1/0/+1. */
static void limit_depth(void **state)
{
	char line[1024];
	for (size_t d = LIMIT_IMAP_SEARCH_DEPTH - 1; d <= LIMIT_IMAP_SEARCH_DEPTH + 1; d++) {
		size_t k = (size_t)snprintf(line, sizeof(line), "a SEARCH ");
		for (size_t i = 0; i < d; i++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "NOT ");
		snprintf(line + k, sizeof(line) - k, "SEEN\r\n");
		struct imap_search_prog p;
		const char *why = NULL;
		int rc = imap_parse_search(parse(line), &ca, &p, &why);
		if (d <= LIMIT_IMAP_SEARCH_DEPTH) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, ERR_TOO_DEEP);
			assert_string_equal(why, "NO [LIMIT] Search keys nested too deeply");
		}
		/* OR nests the same way, and so do parentheses with NOT */
		k = (size_t)snprintf(line, sizeof(line), "a SEARCH ");
		for (size_t i = 0; i < d; i++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "OR SEEN ");
		snprintf(line + k, sizeof(line) - k, "DRAFT\r\n");
		rc = imap_parse_search(parse(line), &ca, &p, &why);
		assert_int_equal(rc, d <= LIMIT_IMAP_SEARCH_DEPTH ? 0 : ERR_TOO_DEEP);
		k = (size_t)snprintf(line, sizeof(line), "a SEARCH ");
		for (size_t i = 0; i < d; i++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, i % 2 ? "NOT " : "(");
		k += (size_t)snprintf(line + k, sizeof(line) - k, "SEEN");
		for (size_t i = 0; i < d; i += 2)
			k += (size_t)snprintf(line + k, sizeof(line) - k, ")");
		snprintf(line + k, sizeof(line) - k, "\r\n");
		rc = imap_parse_search(parse(line), &ca, &p, &why);
		assert_int_equal(rc, d <= LIMIT_IMAP_SEARCH_DEPTH ? 0 : ERR_TOO_DEEP);
	}
}

static void sort(const char *line, const char *want)
{
	struct imap_sort s;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_sort(parse(line), &ca, &s, &why);
	if (rc < 0) {
		outf(&o, "ERR%d %s", rc, why ? why : "(no why)");
	} else {
		static const char *const names[] = {"ARRIVAL", "CC",          "DATE",
		                                    "FROM",    "SIZE",        "SUBJECT",
		                                    "TO",      "DISPLAYFROM", "DISPLAYTO"};
		for (size_t i = 0; i < s.ncrit; i++)
			outf(&o, "%s%s%s", i ? " " : "", s.crit[i].reverse ? "-" : "",
			     names[s.crit[i].key]);
		outf(&o, " / ");
		prog(&o, &s.prog);
	}
	if (strcmp(o.s, want) != 0)
		fail_msg("'%s'\n got: %s\nwant: %s", line, o.s, want);
}

/* RFC 5256 3 SORT; RFC 5957 DISPLAYFROM/DISPLAYTO. */
static void rfc5256_3_sort(void **state)
{
	sort("a SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n", "SUBJECT / SINCE:8797");
	sort("a SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n", "SUBJECT -DATE / ALL");
	sort("a UID SORT (REVERSE ARRIVAL cc from size to) US-ASCII SEEN\r\n",
	     "-ARRIVAL CC FROM SIZE TO / FLAG:1 | ascii");
	sort("a SORT (DISPLAYFROM REVERSE DISPLAYTO) UTF-8 ALL\r\n",
	     "DISPLAYFROM -DISPLAYTO / ALL");
	sort("a SORT () UTF-8 ALL\r\n", "ERR-11 BAD Invalid sort criteria");
	sort("a SORT (FOO) UTF-8 ALL\r\n", "ERR-11 BAD Invalid sort criteria");
	sort("a SORT (REVERSE) UTF-8 ALL\r\n", "ERR-11 BAD REVERSE without a sort key");
	sort("a SORT (REVERSE REVERSE DATE) UTF-8 ALL\r\n", "ERR-11 BAD Invalid sort criteria");
	sort("a SORT DATE UTF-8 ALL\r\n", "ERR-11 BAD Invalid sort criteria");
	sort("a SORT (DATE) KOI8-R ALL\r\n",
	     "ERR-12 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	sort("a SORT (DATE) UTF-8 FOO\r\n", "ERR-11 BAD Unknown search key");
	sort("a SORT RETURN (ALL) (DATE) UTF-8 ALL\r\n", "ERR-11 BAD Invalid sort criteria");
}

static void thread(const char *line, const char *want)
{
	struct imap_thread t;
	const char *why = NULL;
	struct out o = {.n = 0};
	int rc = imap_parse_thread(parse(line), &ca, &t, &why);
	if (rc < 0) {
		outf(&o, "ERR%d %s", rc, why ? why : "(no why)");
	} else {
		outf(&o, "%s / ",
		     t.alg == IMAP_THREAD_REFERENCES ? "REFERENCES" : "ORDEREDSUBJECT");
		prog(&o, &t.prog);
	}
	if (strcmp(o.s, want) != 0)
		fail_msg("'%s'\n got: %s\nwant: %s", line, o.s, want);
}

/* RFC 5256 3 THREAD. */
static void rfc5256_3_thread(void **state)
{
	thread("a THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n",
	       "ORDEREDSUBJECT / SINCE:11021");
	thread("a UID THREAD references US-ASCII ALL\r\n", "REFERENCES / ALL | ascii");
	thread("a THREAD REFS UTF-8 ALL\r\n", "ERR-11 BAD Unknown threading algorithm");
	thread("a THREAD (REFERENCES) UTF-8 ALL\r\n", "ERR-11 BAD Unknown threading algorithm");
	thread("a THREAD REFERENCES BIG5 ALL\r\n",
	       "ERR-12 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
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
	    cmocka_unit_test(rfc9051_6_4_4_search), cmocka_unit_test(rfc3501_6_4_4_rev1_keys),
	    cmocka_unit_test(charset_and_return),   cmocka_unit_test(extension_keys),
	    cmocka_unit_test(limit_depth),          cmocka_unit_test(rfc5256_3_sort),
	    cmocka_unit_test(rfc5256_3_thread),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
