/*
 * bench/imap_response_test.c: checks the response reader of imap_load before a bench
 * trusts its counts. Every case is fed whole, one byte at a time, and split in two at
 * every offset; each way must give the same responses (text kept, text dropped,
 * literal octets). Exit code 0 when all pass; bench/lib.sh runs it after building.
 */
#include "imap_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXPECTED 4
#define LONG_EXTRA 186 /* x's past IMAP_RESPONSE_KEEP in the long-line case */

struct expected {
	const char *text;
	size_t dropped;
	uint64_t literal_bytes;
};

struct test_case {
	const char *name;
	const char *input;
	size_t input_len; /* 0: strlen(input) */
	struct expected want[MAX_EXPECTED];
	unsigned want_count;
};

static struct imap_response reader;
static unsigned got_count, failures;
static const struct test_case *current;
static const char *current_way;

static void check(const struct imap_response *r)
{
	const struct expected *w = &current->want[got_count < MAX_EXPECTED ? got_count : 0];
	if (got_count >= current->want_count || r->len != strlen(w->text) ||
	    memcmp(r->text, w->text, r->len) != 0 || r->dropped != w->dropped ||
	    r->literal_bytes != w->literal_bytes) {
		failures++;
		fprintf(stderr, "FAIL %s (%s): response %u: \"%.*s\" dropped=%zu literal=%llu\n",
		        current->name, current_way, got_count, (int)(r->len > 80 ? 80 : r->len),
		        r->text, r->dropped, (unsigned long long)r->literal_bytes);
	}
	got_count++;
}

static void feed(const char *p, size_t n)
{
	while (n > 0) {
		bool complete;
		size_t used = imap_response_feed(&reader, p, n, &complete);
		p += used, n -= used;
		if (complete) {
			check(&reader);
			imap_response_reset(&reader);
		} else if (n > 0) {
			failures++;
			fprintf(stderr, "FAIL %s (%s): bytes left unused\n", current->name,
			        current_way);
			return;
		}
	}
}

static void finish(void)
{
	if (got_count != current->want_count || reader.len || reader.literal_left) {
		failures++;
		fprintf(stderr, "FAIL %s (%s): %u responses, want %u; reader not at rest\n",
		        current->name, current_way, got_count, current->want_count);
	}
}

static void run(const struct test_case *t)
{
	size_t n = t->input_len ? t->input_len : strlen(t->input);
	current = t;
	current_way = "whole";
	imap_response_reset(&reader), got_count = 0;
	feed(t->input, n), finish();
	current_way = "byte by byte";
	imap_response_reset(&reader), got_count = 0;
	for (size_t i = 0; i < n; i++)
		feed(t->input + i, 1);
	finish();
	current_way = "split";
	for (size_t cut = 1; cut < n; cut++) {
		imap_response_reset(&reader), got_count = 0;
		feed(t->input, cut), feed(t->input + cut, n - cut), finish();
	}
}

int main(void)
{
	static char long_line[IMAP_RESPONSE_KEEP + 200];
	static char long_text[IMAP_RESPONSE_KEEP + 1];
	static const struct test_case cases[] = {
	    {"one line", "* OK ready\r\n", 0, {{"* OK ready", 0, 0}}, 1},
	    {"two lines",
	     "* 3 EXISTS\r\na1 OK done\r\n",
	     0,
	     {{"* 3 EXISTS", 0, 0}, {"a1 OK done", 0, 0}},
	     2},
	    {"literal",
	     "* 1 FETCH (UID 5 BODY[] {5}\r\nab\r\nc)\r\na2 OK x\r\n",
	     0,
	     {{"* 1 FETCH (UID 5 BODY[] {5})", 0, 5}, {"a2 OK x", 0, 0}},
	     2},
	    {"literal holding a literal marker",
	     "* 1 FETCH (BODY[] {7}\r\n{3}\r\nab)\r\n",
	     0,
	     {{"* 1 FETCH (BODY[] {7})", 0, 7}},
	     1},
	    {"empty literal",
	     "* 2 FETCH (BODY[] {0}\r\n)\r\n",
	     0,
	     {{"* 2 FETCH (BODY[] {0})", 0, 0}},
	     1},
	    {"two literals",
	     "* 1 FETCH (A {2}\r\nxy B {3}\r\nz\r\n)\r\n",
	     0,
	     {{"* 1 FETCH (A {2} B {3})", 0, 5}},
	     1},
	    {"literal8",
	     "* 1 FETCH (BINARY[] ~{2}\r\n\0\1)\r\n",
	     31,
	     {{"* 1 FETCH (BINARY[] ~{2})", 0, 2}},
	     1},
	    {"bare LF", "* OK a\na3 OK\n", 0, {{"* OK a", 0, 0}, {"a3 OK", 0, 0}}, 2},
	    {"brace not at the end", "* OK {5} text\r\n", 0, {{"* OK {5} text", 0, 0}}, 1},
	    {"no digits", "* OK {}\r\n", 0, {{"* OK {}", 0, 0}}, 1},
	    {"huge size is text",
	     "* OK {99999999999999}\r\n",
	     0,
	     {{"* OK {99999999999999}", 0, 0}},
	     1},
	    {"long line", long_line, 0, {{long_text, LONG_EXTRA + 3, 4}}, 1},
	};
	/* a line longer than what is kept, whose literal marker lies in the dropped part */
	memset(long_line, 'x', IMAP_RESPONSE_KEEP + LONG_EXTRA);
	memcpy(long_line + IMAP_RESPONSE_KEEP + LONG_EXTRA, "{4}\r\nabcd\r\n", 12);
	memset(long_text, 'x', IMAP_RESPONSE_KEEP);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run(&cases[i]);
	if (failures) {
		fprintf(stderr, "imap_response_test: %u failures\n", failures);
		return 1;
	}
	printf("imap_response_test: %zu cases passed\n", sizeof cases / sizeof cases[0]);
	return 0;
}
