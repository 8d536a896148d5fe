/* test_imap_parse_fetch.c: FETCH items and modifiers (src/imap/imap_parse_fetch.c):
 * RFC 9051 6.4.5 (items, macros, sections, partials), RFC 3501 6.4.5 (RFC822*), RFC 3516
 * (BINARY), RFC 7162 3.1.4.1 / 3.2.6 (CHANGEDSINCE, VANISHED), RFC 8474, 8514, 8970
 * (PREVIEW (LAZY)); limits LIMIT_MIME_DEPTH part numbers and LIMIT_IMAP_FETCH_FIELDS
 * header fields at -1/0/+1. Commands come from the real tokenizer. */
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

static const char *const att_names[IMAP_FETCH_ATT_COUNT] = {"FLAGS",
                                                            "INTERNALDATE",
                                                            "RFC822.SIZE",
                                                            "ENVELOPE",
                                                            "BODYSTRUCTURE",
                                                            "BODY",
                                                            "",
                                                            "",
                                                            "",
                                                            "RFC822",
                                                            "RFC822.HEADER",
                                                            "RFC822.TEXT",
                                                            "UID",
                                                            "MODSEQ",
                                                            "EMAILID",
                                                            "THREADID",
                                                            "SAVEDATE",
                                                            "PREVIEW"};

/* The items as "NAME[<o.c>][ peek]" separated by SP, then the modifiers. */
static const char *describe(int rc, const struct imap_fetch *f, const char *why)
{
	static char buf[16384];
	size_t k = 0;
	if (rc < 0) {
		snprintf(buf, sizeof(buf), "ERR%d %s", rc, why ? why : "(no why)");
		return buf;
	}
	unsigned have = 0;
	for (const struct imap_fetch_item *it = f->items; it; it = it->next) {
		have |= 1u << it->att;
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", k ? " " : "",
		                      it->name ? it->name : att_names[it->att]);
		if (it->partial)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "<%llu.%llu>",
			                      (unsigned long long)it->offset,
			                      (unsigned long long)it->count);
		if (it->peek)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, " peek");
		if (it->lazy)
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, " lazy");
		assert_true(k < sizeof(buf));
	}
	assert_int_equal(have, f->have);
	if (f->seen)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, " | seen");
	if (f->changedsince)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, " | changedsince=%llu",
		                      (unsigned long long)f->changedsince_modseq);
	if (f->vanished)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, " | vanished");
	return buf;
}

static void fetch(const char *line, const char *want)
{
	struct imap_cmd *cmd = parse(line);
	struct imap_fetch f;
	const char *why = NULL;
	int rc = imap_parse_fetch(cmd, &ca, &f, &why);
	const char *got = describe(rc, &f, why);
	if (strcmp(got, want) != 0)
		fail_msg("'%s'\n got: %s\nwant: %s", line, got, want);
}

#define BAD_ITEM "ERR-11 BAD Invalid FETCH item"
#define BAD_SECTION "ERR-11 BAD Invalid section"
#define BAD_PARTIAL "ERR-11 BAD Invalid partial range"

/* RFC 9051 6.4.5: the macros and the simple items. */
static void rfc9051_6_4_5_items(void **state)
{
	fetch("a FETCH 1 ALL\r\n", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
	fetch("a FETCH 1 fast\r\n", "FLAGS INTERNALDATE RFC822.SIZE");
	fetch("a FETCH 1 FULL\r\n", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");
	fetch("a FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY INTERNALDATE)\r\n",
	      "FLAGS UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY INTERNALDATE");
	fetch("a FETCH 2 (MODSEQ EMAILID THREADID SAVEDATE)\r\n",
	      "MODSEQ EMAILID THREADID SAVEDATE");
	fetch("a FETCH 2 flags\r\n", "FLAGS");
	fetch("a FETCH 2 (FLAGS flags UID FLAGS)\r\n", "FLAGS UID"); /* once each */
	/* the macros stand alone (9: "ALL" / "FULL" / "FAST" / fetch-att / "(" ...) */
	fetch("a FETCH 1 (ALL)\r\n", BAD_ITEM);
	fetch("a FETCH 1 (FLAGS FAST)\r\n", BAD_ITEM);
	fetch("a FETCH 1 ()\r\n", "ERR-11 BAD Missing FETCH items");
	fetch("a FETCH 1 (FLAGS (UID))\r\n", BAD_ITEM);
	fetch("a FETCH 1 \"FLAGS\"\r\n", BAD_ITEM);
	fetch("a FETCH 1 FOO\r\n", BAD_ITEM);
	fetch("a FETCH 1 FLAGS[]\r\n", BAD_ITEM);
	fetch("a FETCH 1 BODY.PEEK\r\n", BAD_ITEM);
	fetch("a FETCH 1 BINARY\r\n", BAD_ITEM);
	fetch("a FETCH 1 RFC822.PEEK\r\n", BAD_ITEM);
	fetch("a FETCH 1\r\n", "ERR-11 BAD Missing FETCH items");
	fetch("a FETCH 0 FLAGS\r\n", "ERR-11 BAD Invalid sequence set");
	fetch("a FETCH $ FLAGS\r\n", "FLAGS");
	fetch("a FETCH 1 FLAGS UID\r\n", "ERR-11 BAD Invalid FETCH modifiers");
	fetch("a FETCH 1 FLAGS (CHANGEDSINCE 1) UID\r\n", "ERR-11 BAD Too many arguments");
}

/* RFC 9051 6.4.5: BODY[section]<partial>, \Seen unless PEEK. */
static void rfc9051_6_4_5_body_sections(void **state)
{
	fetch("a FETCH 1 BODY[]\r\n", "BODY[] | seen");
	fetch("a FETCH 1 body.peek[]\r\n", "BODY[] peek");
	fetch("a FETCH 1 BODY.PEEK[header]\r\n", "BODY[HEADER] peek");
	fetch("a FETCH 1 BODY[TEXT]<0.2048>\r\n", "BODY[TEXT]<0.2048> | seen");
	fetch("a FETCH 1 BODY[1]\r\n", "BODY[1] | seen");
	fetch("a FETCH 1 BODY.PEEK[1.2.3.MIME]\r\n", "BODY[1.2.3.MIME] peek");
	fetch("a FETCH 1 BODY.PEEK[4.2.HEADER]\r\n", "BODY[4.2.HEADER] peek");
	fetch("a FETCH 1 BODY.PEEK[3.text]\r\n", "BODY[3.TEXT] peek");
	fetch("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID "
	      "Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n",
	      "BODY[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority "
	      "References Newsgroups In-Reply-To Content-Type Reply-To)] peek");
	fetch("a FETCH 1 BODY.PEEK[header.fields.not (X-A \"b c\" \"d\\\"e\")]\r\n",
	      "BODY[HEADER.FIELDS.NOT (X-A \"b c\" \"d\\\"e\")] peek");
	fetch("a FETCH 1 BODY[1.HEADER.FIELDS (\"X\")]<10.5>\r\n",
	      "BODY[1.HEADER.FIELDS (X)]<10.5> | seen");
	fetch("a FETCH 1 (BODY.PEEK[1] BODY[2])\r\n", "BODY[1] peek BODY[2] | seen");
	fetch("a FETCH 1 (BODY[1] BODY[1])\r\n", "BODY[1] BODY[1] | seen"); /* each time */
	fetch("a FETCH 1 BODY[]<9223372036854775807.9223372036854775807>\r\n",
	      "BODY[]<9223372036854775807.9223372036854775807> | seen");
	fetch("a FETCH 1 BODY[MIME]\r\n", BAD_SECTION); /* MIME needs a part */
	fetch("a FETCH 1 BODY[0]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[1.]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[.1]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[1..2]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[4294967296]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADER.FIELDS]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADER.FIELDS ()]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADER.FIELDS (A]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADER.FIELDS (A) ]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADER.FIELDS  (A)]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADER.FIELDS (A  B)]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[HEADERS]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[TEXT.MIME]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[ 1]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BODY[]<0>\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]<0.0>\r\n", BAD_PARTIAL); /* nz-number */
	fetch("a FETCH 1 BODY[]<.1>\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]<1.>\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]<1.2.3>\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]<1.2\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]<9223372036854775808.1>\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]x\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY[]<0.1>[1]\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BODY.PEK[]\r\n", BAD_ITEM);
}

/* RFC 3516 4.2: BINARY[section-binary]<partial>, BINARY.SIZE[section-binary]. */
static void rfc3516_binary(void **state)
{
	fetch("a FETCH 1 BINARY[]\r\n", "BINARY[] | seen");
	fetch("a FETCH 1 BINARY.PEEK[1.2]<0.4096>\r\n", "BINARY[1.2]<0.4096> peek");
	fetch("a FETCH 1 BINARY.SIZE[3]\r\n", "BINARY.SIZE[3]");
	fetch("a FETCH 1 BINARY.SIZE[]\r\n", "BINARY.SIZE[]");
	fetch("a FETCH 1 BINARY[1.HEADER]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BINARY[TEXT]\r\n", BAD_SECTION);
	fetch("a FETCH 1 BINARY.SIZE[1]<0.1>\r\n", BAD_PARTIAL);
	fetch("a FETCH 1 BINARY.PEEK\r\n", BAD_ITEM);
}

/* RFC 3501 6.4.5: RFC822 = BODY[], RFC822.HEADER = BODY.PEEK[HEADER], RFC822.TEXT =
 * BODY[TEXT]; RFC 8970 PREVIEW (LAZY). */
static void rfc3501_rfc822_and_preview(void **state)
{
	fetch("a FETCH 1 RFC822\r\n", "RFC822 | seen");
	fetch("a FETCH 1 (RFC822.HEADER RFC822.SIZE)\r\n", "RFC822.HEADER peek RFC822.SIZE");
	fetch("a FETCH 1 RFC822.TEXT\r\n", "RFC822.TEXT | seen");
	fetch("a FETCH 1 (UID PREVIEW)\r\n", "UID PREVIEW");
	fetch("a FETCH 1 (UID PREVIEW (LAZY) FLAGS)\r\n", "UID PREVIEW lazy FLAGS");
	fetch("a FETCH 1 (PREVIEW (lazy lazy))\r\n", "PREVIEW lazy");
	fetch("a FETCH 1 PREVIEW (LAZY)\r\n", "PREVIEW lazy");
	fetch("a FETCH 1 PREVIEW (LAZY) (CHANGEDSINCE 7)\r\n",
	      "PREVIEW lazy MODSEQ | changedsince=7");
	fetch("a FETCH 1 PREVIEW (CHANGEDSINCE 7)\r\n", "PREVIEW MODSEQ | changedsince=7");
	fetch("a FETCH 1 (PREVIEW (FUZZY))\r\n", BAD_ITEM);
	fetch("a FETCH 1 (PREVIEW ())\r\n", BAD_ITEM);
	fetch("a FETCH 1 (FLAGS (LAZY))\r\n", BAD_ITEM);
}

/* RFC 9051 6.4.9: UID FETCH returns UID; RFC 7162 3.1.4.1 CHANGEDSINCE (implies MODSEQ),
 * 3.2.6 VANISHED. */
static void rfc7162_modifiers(void **state)
{
	fetch("a UID FETCH 1:* FLAGS\r\n", "UID FLAGS");
	fetch("a UID FETCH 1:* (FLAGS UID)\r\n", "FLAGS UID");
	fetch("a UID FETCH 1:* ALL\r\n", "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
	fetch("a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n", "FLAGS MODSEQ | changedsince=12345");
	fetch("a FETCH 1:* (FLAGS MODSEQ) (changedsince 1)\r\n", "FLAGS MODSEQ | changedsince=1");
	fetch("a FETCH 1:* FLAGS (CHANGEDSINCE 0)\r\n", "FLAGS MODSEQ | changedsince=0");
	fetch("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)\r\n",
	      "UID FLAGS MODSEQ | changedsince=5 | vanished");
	fetch("a UID FETCH 1:* (FLAGS) (VANISHED CHANGEDSINCE 5)\r\n",
	      "UID FLAGS MODSEQ | changedsince=5 | vanished");
	const char *vanished =
	    "ERR-11 BAD VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6)";
	fetch("a FETCH 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)\r\n", vanished);
	fetch("a UID FETCH 1:* (FLAGS) (VANISHED)\r\n", vanished);
	fetch("a FETCH 1 FLAGS (CHANGEDSINCE)\r\n", "ERR-11 BAD Invalid CHANGEDSINCE");
	fetch("a FETCH 1 FLAGS (CHANGEDSINCE x)\r\n", "ERR-11 BAD Invalid CHANGEDSINCE");
	fetch("a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n",
	      "ERR-11 BAD Invalid CHANGEDSINCE");
	fetch("a FETCH 1 FLAGS (FOO)\r\n", "ERR-11 BAD Unknown FETCH modifier");
	fetch("a FETCH 1 FLAGS ()\r\n", "ERR-11 BAD Invalid FETCH modifiers");
}

/* LIMIT_MIME_DEPTH part numbers, LIMIT_IMAP_FETCH_FIELDS field names: -1, 0, +1. */
static void limits(void **state)
{
	char line[8192];
	for (size_t n = LIMIT_MIME_DEPTH - 1; n <= LIMIT_MIME_DEPTH + 1; n++) {
		size_t k = (size_t)snprintf(line, sizeof(line), "a FETCH 1 BODY[");
		for (size_t i = 0; i < n; i++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s1", i ? "." : "");
		snprintf(line + k, sizeof(line) - k, ".MIME]\r\n");
		struct imap_fetch f;
		const char *why = NULL;
		int rc = imap_parse_fetch(parse(line), &ca, &f, &why);
		if (n <= LIMIT_MIME_DEPTH) {
			assert_int_equal(rc, 0);
			assert_int_equal(f.items->section.nparts, n);
			assert_int_equal(f.items->section.kind, IMAP_SECTION_MIME);
		} else {
			assert_int_equal(rc, ERR_TOO_BIG);
			assert_string_equal(
			    why, "NO [LIMIT] Section too deep or too many header fields");
		}
	}
	for (size_t n = LIMIT_IMAP_FETCH_FIELDS - 1; n <= LIMIT_IMAP_FETCH_FIELDS + 1; n++) {
		size_t k = (size_t)snprintf(line, sizeof(line), "a FETCH 1 BODY[HEADER.FIELDS (");
		for (size_t i = 0; i < n; i++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%sX-%zu", i ? " " : "",
			                      i);
		snprintf(line + k, sizeof(line) - k, ")]\r\n");
		struct imap_fetch f;
		const char *why = NULL;
		int rc = imap_parse_fetch(parse(line), &ca, &f, &why);
		if (n <= LIMIT_IMAP_FETCH_FIELDS) {
			assert_int_equal(rc, 0);
			assert_int_equal(f.items->section.nfields, n);
			char last[16];
			snprintf(last, sizeof(last), "X-%zu", n - 1);
			assert_string_equal(f.items->section.fields[n - 1], last);
		} else {
			assert_int_equal(rc, ERR_TOO_BIG);
		}
	}
}

/* imap_parse_section() alone, as the formatter's tests use it. */
static void section_alone(void **state)
{
	struct imap_section s;
	assert_int_equal(imap_parse_section("", 0, false, &ca, &s), 0);
	assert_int_equal(s.kind, IMAP_SECTION_ALL);
	assert_int_equal(s.nparts, 0);
	assert_int_equal(imap_parse_section("2.1", 3, false, &ca, &s), 0);
	assert_int_equal(s.nparts, 2);
	assert_int_equal(s.part[0], 2);
	assert_int_equal(s.part[1], 1);
	assert_int_equal(imap_parse_section("1.HEADER.FIELDS.NOT (A B)", 25, false, &ca, &s), 0);
	assert_int_equal(s.kind, IMAP_SECTION_HEADER_NOT);
	assert_int_equal(s.nfields, 2);
	assert_string_equal(s.fields[1], "B");
	assert_int_equal(imap_parse_section("1.2", 3, true, &ca, &s), 0);
	assert_int_equal(imap_parse_section("", 0, true, &ca, &s), 0);
	assert_int_equal(imap_parse_section("HEADER", 6, true, &ca, &s), ERR_BAD_SYNTAX);
	assert_int_equal(imap_parse_section("1.TEXT", 6, true, &ca, &s), ERR_BAD_SYNTAX);
	assert_int_equal(imap_parse_section("HEADER.FIELDS (\"a\\", 18, false, &ca, &s),
	                 ERR_BAD_SYNTAX);
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
	    cmocka_unit_test(rfc9051_6_4_5_items), cmocka_unit_test(rfc9051_6_4_5_body_sections),
	    cmocka_unit_test(rfc3516_binary),      cmocka_unit_test(rfc3501_rfc822_and_preview),
	    cmocka_unit_test(rfc7162_modifiers),   cmocka_unit_test(limits),
	    cmocka_unit_test(section_alone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
