/* test_imap_mutf7.c: modified UTF-7 (src/imap/imap_mutf7.c, RFC 3501 5.1.3): the RFC's
 * example, both directions, every refusal the RFC asks for (encoded printable ASCII,
 * adjacent shifts, bad base64, padding, half characters, bad UTF-16, 8-bit and control
 * octets as such, NUL), and decode(encode(x)) == x over code points of every length. */
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

/* utf8 <-> mutf7 both ways. */
static void pair(const char *utf8, const char *mutf7)
{
	char *out;
	assert_int_equal(imap_mutf7_encode(utf8, strlen(utf8), &ca, &out), 0);
	if (strcmp(out, mutf7) != 0)
		fail_msg("encode '%s': '%s', want '%s'", utf8, out, mutf7);
	assert_int_equal(imap_mutf7_decode(mutf7, strlen(mutf7), &ca, &out), 0);
	if (strcmp(out, utf8) != 0)
		fail_msg("decode '%s': '%s', want '%s'", mutf7, out, utf8);
}

static void refused(const char *mutf7)
{
	char *out = NULL;
	int rc = imap_mutf7_decode(mutf7, strlen(mutf7), &ca, &out);
	if (rc != ERR_BAD_SYNTAX)
		fail_msg("'%s' decoded (%d) to '%s'", mutf7, rc, out ? out : "");
}

/* RFC 3501 5.1.3. */
static void rfc3501_5_1_3(void **state)
{
	pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	     "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	pair("", "");
	pair("INBOX", "INBOX");
	pair("&", "&-");
	pair("a&b&&", "a&-b&-&-");
	pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	pair("\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-");
	pair("\xc3\xa4&", "&AOQ-&-");
	pair("\xf0\x9f\x98\x80", "&2D3eAA-"); /* U+1F600: a surrogate pair */
	pair("\x01\x1f\x7f", "&AAEAHwB,-");   /* controls are encoded */
	pair(" ~", " ~");
	pair("\xef\xbf\xbf", "&,,8-");        /* U+FFFF */
	pair("\xf4\x8f\xbf\xbf", "&2,,f,w-"); /* U+10FFFF */
}

static void refusals(void **state)
{
	refused("&");          /* no end */
	refused("&AOQ");       /* no "-" */
	refused("a&AOQ-b&");   /* no end */
	refused("&AGE-");      /* "a" encoded */
	refused("&ACY-");      /* "&" encoded: it is "&-" */
	refused("&AOQ-&APY-"); /* two shifts where one would do */
	refused("&AOQ=-");     /* padding */
	refused("&AOQ/-");     /* "/" is "," here */
	refused("&AOR-");      /* bits after the character */
	refused("&A-");        /* less than a character */
	refused("&AOQA-");     /* a character and a bit */
	refused("&2D3-");      /* a high surrogate alone */
	refused("&2D0AYQ-");   /* a high surrogate, then no low one */
	refused("&3gA-");      /* a low surrogate alone */
	refused("&AAA-");      /* NUL */
	refused("\xc3\xa4");   /* 8-bit octets must be encoded */
	refused("a\tb");       /* so must controls */
	refused("a\x7f");
	refused("&-&-&");
	char *out;
	/* encoding wants UTF-8 */
	assert_int_equal(imap_mutf7_encode("\xc3", 1, &ca, &out), ERR_BAD_SYNTAX);
	assert_int_equal(imap_mutf7_encode("\xed\xa0\x80", 3, &ca, &out), ERR_BAD_SYNTAX);
	assert_int_equal(imap_mutf7_encode("\xc0\x80", 2, &ca, &out), ERR_BAD_SYNTAX);
	assert_int_equal(imap_mutf7_encode("a\0b", 3, &ca, &out), ERR_BAD_SYNTAX);
	assert_int_equal(imap_mutf7_encode("\xff", 1, &ca, &out), ERR_BAD_SYNTAX);
}

/* Write code point c as UTF-8. */
static size_t utf8(char *d, uint32_t c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xc0 | c >> 6);
		d[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (char)(0xe0 | c >> 12);
		d[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		d[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | c >> 18);
	d[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	d[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* decode(encode(x)) == x for names mixing ASCII and code points of every length, in
 * runs of every length mod 3 (each ends the base64 differently). */
static void round_trips(void **state)
{
	static const uint32_t cps[] = {0x1,    0x26,   0x41,    0x7f,    0x80,
	                               0xe4,   0x7ff,  0x800,   0xd7ff,  0xe000,
	                               0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff};
	char in[256];
	for (size_t a = 0; a < sizeof(cps) / sizeof(cps[0]); a++)
		for (size_t b = 0; b < sizeof(cps) / sizeof(cps[0]); b++)
			for (size_t run = 1; run <= 4; run++) {
				size_t n = 0;
				in[n++] = 'x';
				for (size_t r = 0; r < run; r++)
					n += utf8(in + n, r % 2 ? cps[b] : cps[a]);
				in[n++] = '/';
				n += utf8(in + n, cps[b]);
				char *enc, *dec;
				assert_int_equal(imap_mutf7_encode(in, n, &ca, &enc), 0);
				for (const char *c = enc; *c; c++)
					assert_true(*c >= 0x20 && *c < 0x7f);
				assert_int_equal(imap_mutf7_decode(enc, strlen(enc), &ca, &dec), 0);
				assert_int_equal(strlen(dec), n);
				assert_memory_equal(dec, in, n);
				arena_reset(&ca);
			}
}

/* The longest expansions fit the buffer: a control octet alone is 5 octets; controls
 * between "&"s 3.5 per octet; an isolated 2-octet character 2.5 per octet. */
static void expansion(void **state)
{
	char in[3 * LIMIT_MAILBOX_NAME];
	char *enc, *dec;
	assert_int_equal(imap_mutf7_encode("\x7f", 1, &ca, &enc), 0);
	assert_string_equal(enc, "&AH8-");
	size_t n = 0;
	while (n + 2 <= sizeof(in)) {
		in[n++] = 0x7f;
		in[n++] = '?';
	}
	assert_int_equal(imap_mutf7_encode(in, n, &ca, &enc), 0);
	assert_int_equal(strlen(enc), n / 2 * 6);
	assert_int_equal(imap_mutf7_decode(enc, strlen(enc), &ca, &dec), 0);
	assert_memory_equal(dec, in, n);
	for (size_t i = 1; i < n; i += 2)
		in[i] = '&';
	assert_int_equal(imap_mutf7_encode(in, n, &ca, &enc), 0);
	assert_int_equal(strlen(enc), n / 2 * 7);
	assert_int_equal(imap_mutf7_decode(enc, strlen(enc), &ca, &dec), 0);
	assert_memory_equal(dec, in, n);
	n = 0;
	while (n + 3 <= sizeof(in)) {
		n += utf8(in + n, 0xe4);
		in[n++] = 'a';
	}
	assert_int_equal(imap_mutf7_encode(in, n, &ca, &enc), 0);
	assert_int_equal(strlen(enc), n / 3 * 6);
	assert_int_equal(imap_mutf7_decode(enc, strlen(enc), &ca, &dec), 0);
	assert_memory_equal(dec, in, n);
	/* a long run of 3-octet characters decodes to more octets than it takes */
	n = 0;
	while (n + 3 <= sizeof(in))
		n += utf8(in + n, 0x65e5);
	assert_int_equal(imap_mutf7_encode(in, n, &ca, &enc), 0);
	assert_true(strlen(enc) < n);
	assert_int_equal(imap_mutf7_decode(enc, strlen(enc), &ca, &dec), 0);
	assert_memory_equal(dec, in, n);
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
	    cmocka_unit_test(rfc3501_5_1_3),
	    cmocka_unit_test(refusals),
	    cmocka_unit_test(round_trips),
	    cmocka_unit_test(expansion),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
