/* test_autodiscover_parse.c: the POX autodiscover request reader
 * (src/http/http_autodiscover_parse.c): the request Outlook sends, prefixes and white
 * space, the texts kept (entities, character references, CDATA, trimming), what is
 * refused (DOCTYPE, mismatched and unclosed tags, a second root, text outside the root,
 * markup inside a kept text, a repeated element, bad references, invalid UTF-8, NUL and
 * other non-Chars), and the bounds at -1/0/+1: LIMIT_AUTODISCOVER_REQUEST,
 * LIMIT_AUTODISCOVER_DEPTH, the address and schema sizes. Every valid document is also
 * read from a copy of exactly its length (no NUL after it), and every prefix that cuts
 * the root element short is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/http_autoconfig.h"

#define SCHEMA AUTODISCOVER_SCHEMA_2006A
#define REQ_NS "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"

static const char outlook[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	"<Autodiscover xmlns=\"" REQ_NS "\">\r\n"
	"  <Request>\r\n"
	"    <EMailAddress>user@example.org</EMailAddress>\r\n"
	"    <AcceptableResponseSchema>" SCHEMA "</AcceptableResponseSchema>\r\n"
	"  </Request>\r\n"
	"</Autodiscover>\r\n";

/* Parse exactly len bytes from a heap copy (ASan sees any read past the end). */
static int parse_n(const void *s, size_t len, struct autodiscover_request *r)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int rc = autodiscover_parse(p, len, r);
	free(p);
	return rc;
}

static int parse(const char *s, struct autodiscover_request *r)
{
	return parse_n(s, strlen(s), r);
}

static void test_outlook_request(void **state)
{
	(void)state;
	struct autodiscover_request r;
	assert_int_equal(parse(outlook, &r), 0);
	assert_string_equal(r.email, "user@example.org");
	assert_string_equal(r.schema, SCHEMA);
	/* every prefix that ends inside the root element is refused */
	size_t root_end = strstr(outlook, "</Autodiscover>") - outlook + strlen("</Autodiscover>");
	for (size_t n = 0; n < root_end; n++)
		assert_int_equal(parse_n(outlook, n, &r), ERR_BAD_SYNTAX);
	for (size_t n = root_end; n <= strlen(outlook); n++)
		assert_int_equal(parse_n(outlook, n, &r), 0);
}

static void test_forms(void **state)
{
	(void)state;
	struct autodiscover_request r;
	/* prefixes, a BOM, comments and PIs, single quotes, no declaration */
	assert_int_equal(parse("\xEF\xBB\xBF<a:Autodiscover xmlns:a='x'><!-- c --><a:Request>"
			       "<?pi data?><a:EMailAddress >\n u@x.org\t</a:EMailAddress >"
			       "</a:Request></a:Autodiscover><!-- end -->\n", &r), 0);
	assert_string_equal(r.email, "u@x.org");
	assert_string_equal(r.schema, "");
	/* entities, character references (decimal, hex, non-ASCII), CDATA */
	assert_int_equal(parse("<Autodiscover><Request><EMailAddress>\"a&amp;&lt;b&gt;&quot;"
			       "&apos;&#65;&#x42;&#xe9;\"<![CDATA[@x<&>.org]]></EMailAddress>"
			       "</Request></Autodiscover>", &r), 0);
	assert_string_equal(r.email, "\"a&<b>\"'AB\xc3\xa9\"@x<&>.org");
	/* a four-byte character by reference */
	assert_int_equal(parse("<Autodiscover><Request><EMailAddress>&#x1F600;</EMailAddress>"
			       "</Request></Autodiscover>", &r), 0);
	assert_string_equal(r.email, "\xf0\x9f\x98\x80");
	/* elements elsewhere are not the request's: only Autodiscover/Request/... */
	assert_int_equal(parse("<Autodiscover><EMailAddress>no@x.org</EMailAddress><Request>"
			       "<X><EMailAddress>no2@x.org</EMailAddress></X></Request>"
			       "</Autodiscover>", &r), 0);
	assert_string_equal(r.email, "");
	assert_int_equal(parse("<Other><Request><EMailAddress>no@x.org</EMailAddress>"
			       "</Request></Other>", &r), 0);
	assert_string_equal(r.email, "");
	/* an empty element */
	assert_int_equal(parse("<Autodiscover><Request><EMailAddress/></Request></Autodiscover>",
			       &r), 0);
	assert_string_equal(r.email, "");
}

static void test_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"   ",
		"text",
		"<!DOCTYPE a [<!ENTITY x \"y\">]><a/>",
		"<a><!DOCTYPE a></a>",
		"<a></b>",
		"<a><b></a></b>",
		"<a>",
		"<a/><b/>",
		"<a/>text",
		"text<a/>",
		"<a>&unknown;</a>",
		"<a>&amp</a>",
		"<a>&#;</a>",
		"<a>&#x;</a>",
		"<a>&#0;</a>",
		"<a>&#x110000;</a>",
		"<a>&#xFFFE;</a>",
		"<a>&#99999999999999999999;</a>",
		"<a>]]></a>",
		"<a><![CDATA[x</a>",
		"<a><!-- x -- y --></a>",
		"<a><!-- x</a>",
		"<a><?xml version='1.0'?></a>",
		"<a x></a>",
		"<a x=y></a>",
		"<a x='<'></a>",
		"<a x='&bad;'></a>",
		"<a x='1'y='2'></a>",
		"<1a/>",
		"< a/>",
		"<a>\x01</a>",
		"<a>\xff</a>",
		"<a>\xc3</a>",
		"<a>\xed\xa0\x80</a>",
		"<Autodiscover><Request><EMailAddress>a<b/>c</EMailAddress></Request></Autodiscover>",
		"<Autodiscover><Request><EMailAddress>a<!--c-->b</EMailAddress></Request>"
		"</Autodiscover>",
		"<Autodiscover><Request><EMailAddress>a@x</EMailAddress><EMailAddress>b@x"
		"</EMailAddress></Request></Autodiscover>",
	};
	struct autodiscover_request r;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &r);
		if (rc != ERR_BAD_SYNTAX)
			fail_msg("case %zu \"%s\": %d", i, bad[i], rc);
	}
	/* a NUL byte */
	assert_int_equal(parse_n("<a>\0</a>", 8, &r), ERR_BAD_SYNTAX);
}

/* LIMIT_AUTODISCOVER_REQUEST at -1, 0, +1: a comment pads the document. */
static void test_size_limit(void **state)
{
	(void)state;
	struct autodiscover_request r;
	char *doc = malloc(LIMIT_AUTODISCOVER_REQUEST + 2);
	assert_non_null(doc);
	for (size_t size = LIMIT_AUTODISCOVER_REQUEST - 1; size <= LIMIT_AUTODISCOVER_REQUEST + 1;
	     size++) {
		size_t head = strlen("<a><!--"), tail = strlen("--></a>");
		memcpy(doc, "<a><!--", head);
		memset(doc + head, 'x', size - head - tail);
		memcpy(doc + size - tail, "--></a>", tail);
		assert_int_equal(parse_n(doc, size, &r),
				 size <= LIMIT_AUTODISCOVER_REQUEST ? 0 : ERR_TOO_BIG);
	}
	free(doc);
}

/* LIMIT_AUTODISCOVER_DEPTH at -1, 0, +1. */
static void test_depth_limit(void **state)
{
	(void)state;
	struct autodiscover_request r;
	for (size_t depth = LIMIT_AUTODISCOVER_DEPTH - 1; depth <= LIMIT_AUTODISCOVER_DEPTH + 1;
	     depth++) {
		char doc[1024] = "";
		for (size_t i = 0; i < depth; i++)
			strcat(doc, "<e>");
		for (size_t i = 0; i < depth; i++)
			strcat(doc, "</e>");
		assert_int_equal(parse(doc, &r),
				 depth <= LIMIT_AUTODISCOVER_DEPTH ? 0 : ERR_TOO_DEEP);
	}
}

/* The kept texts: their buffers' sizes at -1, 0, +1 (white space around is trimmed
 * after, so it counts while reading). */
static void test_text_limits(void **state)
{
	(void)state;
	struct autodiscover_request r;
	const size_t caps[] = {sizeof(r.email) - 1, sizeof(r.schema) - 1};
	const char *const names[] = {"EMailAddress", "AcceptableResponseSchema"};
	for (size_t k = 0; k < 2; k++) {
		for (size_t n = caps[k] - 1; n <= caps[k] + 1; n++) {
			char doc[1024];
			char text[600];
			memset(text, 'a', n);
			text[n] = '\0';
			int len = snprintf(doc, sizeof(doc),
					   "<Autodiscover><Request><%s>%s</%s></Request></Autodiscover>",
					   names[k], text, names[k]);
			assert_true(len > 0 && (size_t)len < sizeof(doc));
			int rc = parse(doc, &r);
			assert_int_equal(rc, n <= caps[k] ? 0 : ERR_TOO_LONG);
			if (rc == 0)
				assert_int_equal(strlen(k == 0 ? r.email : r.schema), n);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outlook_request), cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),        cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_depth_limit),    cmocka_unit_test(test_text_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
