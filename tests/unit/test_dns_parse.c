/* test_dns_parse.c: the pure parts of the resolver (outbound/dns_parse.c): the [dns]
 * resolver address, host names, names in wire form and the record data libunbound hands
 * on (RFC 1035 3.3.9 MX, 3.3.14 TXT, 3.4.1 A; RFC 3596 AAAA; RFC 6698 2.1 TLSA).
 * Inputs sit in exact-size heap copies (ASan sees a read past len); wire names are
 * also cut at every offset (each prefix must be refused); limits at -1, 0 and +1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/dns.h"

static int server(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s);
	char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, s, len);
	int r = dns_parse_server(p, len, out, cap);
	free(p);
	return r;
}

static void test_server(void **state)
{
	char out[80];
	assert_int_equal(server("127.0.0.1:53", out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1@53");
	assert_int_equal(server("[::1]:5353", out, sizeof(out)), 0);
	assert_string_equal(out, "::1@5353");
	assert_int_equal(server("192.0.2.1:65535", out, sizeof(out)), 0);
	const char *bad[] = {"127.0.0.1:65536", "127.0.0.1:0", "127.0.0.1:053", "127.0.0.1:",
			     "127.0.0.1", ":53", "::1:53", "[::1]53", "[::1]:", "[]:53",
			     "localhost:53", "127.0.0.1:+53", "127.0.0.1: 53", "[127.0.0.1]:53",
			     "127.0.0.1:5x", "", "[::1:53"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(server(bad[i], out, sizeof(out)), ERR_BAD_SYNTAX);
	/* the output buffer is a bound too */
	assert_int_equal(server("127.0.0.1:53", out, 13), 0);
	assert_int_equal(server("127.0.0.1:53", out, 12), ERR_BAD_SYNTAX);
}

static void test_name_norm(void **state)
{
	char out[LIMIT_DNS_NAME + 1];
	assert_int_equal(dns_name_norm("Mail.Example.ORG.", 17, out), 0);
	assert_string_equal(out, "mail.example.org");
	assert_int_equal(dns_name_norm("_dmarc.x-y.test", 15, out), 0);
	const char *bad[] = {"", ".", "a..b", ".a", "a b", "a\\.b", "ä.test", "a/b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dns_name_norm(bad[i], strlen(bad[i]), out), ERR_INVAL);
	/* a label of 63 and 64; a name of LIMIT_DNS_NAME - 1, LIMIT_DNS_NAME, + 1 */
	char s[LIMIT_DNS_NAME + 8];
	memset(s, 'a', 64);
	assert_int_equal(dns_name_norm(s, 63, out), 0);
	assert_int_equal(dns_name_norm(s, 64, out), ERR_INVAL);
	for (size_t len = LIMIT_DNS_NAME - 1; len <= LIMIT_DNS_NAME + 1; len++) {
		for (size_t i = 0; i < len; i++)
			s[i] = (i % 50 == 49) ? '.' : 'b';
		s[len - 1] = 'c';
		int want = len <= LIMIT_DNS_NAME ? 0 : ERR_INVAL;
		assert_int_equal(dns_name_norm(s, len, out), want);
		/* the final dot does not count */
		s[len] = '.';
		assert_int_equal(dns_name_norm(s, len + 1, out), want);
	}
}

static void test_wire_name(void **state)
{
	static const uint8_t mx[] = "\x04mail\x07" "Example\x03org";
	char out[LIMIT_DNS_NAME + 1];
	size_t used;
	assert_int_equal(dns_parse_wire_name(mx, sizeof(mx), out, &used), 0);
	assert_string_equal(out, "mail.example.org");
	assert_int_equal(used, sizeof(mx));
	for (size_t k = 0; k < sizeof(mx); k++) {
		uint8_t *p = malloc(k ? k : 1);
		memcpy(p, mx, k);
		assert_int_equal(dns_parse_wire_name(p, k, out, &used), ERR_BAD_SYNTAX);
		free(p);
	}
	static const uint8_t root[] = {0};
	assert_int_equal(dns_parse_wire_name(root, 1, out, &used), 0);
	assert_string_equal(out, "");
	/* a compression pointer (never in libunbound's rdata), a bad byte */
	static const uint8_t ptr[] = {0xc0, 0x0c};
	assert_int_equal(dns_parse_wire_name(ptr, 2, out, &used), ERR_BAD_SYNTAX);
	static const uint8_t sp[] = "\x03" "a b";
	assert_int_equal(dns_parse_wire_name(sp, sizeof(sp), out, &used), ERR_BAD_SYNTAX);
	/* LIMIT_DNS_NAME in text: 4 labels of 63 + 1 of (253 - 4*64) ... at -1, 0, +1 */
	for (int extra = -1; extra <= 1; extra++) {
		uint8_t w[300];
		size_t o = 0;
		size_t text = 0;
		size_t target = (size_t)((int)LIMIT_DNS_NAME + extra);
		while (text < target) {
			size_t room = target - text - (text ? 1 : 0);
			size_t l = room > 63 ? 63 : room;
			if (l == 0)
				break;
			w[o++] = (uint8_t)l;
			memset(w + o, 'x', l);
			o += l;
			text += l + (text ? 1 : 0);
		}
		w[o++] = 0;
		assert_int_equal(text, target);
		assert_int_equal(dns_parse_wire_name(w, o, out, &used),
				 extra <= 0 ? 0 : ERR_BAD_SYNTAX);
	}
}

/* rdata records as libunbound hands them: arrays of pointers and lengths */
struct rdata_set {
	char *data[LIMIT_DNS_ANSWER_RECORDS + 2];
	int len[LIMIT_DNS_ANSWER_RECORDS + 2];
	size_t n;
};

static void rdata_add(struct rdata_set *s, const void *p, size_t len)
{
	s->data[s->n] = malloc(len ? len : 1);
	assert_non_null(s->data[s->n]);
	memcpy(s->data[s->n], p, len);
	s->len[s->n] = (int)len;
	s->n++;
}

static void rdata_free(struct rdata_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->data[i]);
	s->n = 0;
}

static void mx_add(struct rdata_set *s, uint16_t pref, const char *host)
{
	uint8_t w[300];
	w[0] = (uint8_t)(pref >> 8);
	w[1] = (uint8_t)pref;
	size_t o = 2;
	const char *p = host;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		w[o++] = (uint8_t)l;
		memcpy(w + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	w[o++] = 0;
	rdata_add(s, w, o);
}

static struct dns_answer *parse(enum dns_type type, struct rdata_set *s)
{
	struct dns_answer *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	a->type = type;
	strcpy(a->name, "example.test");
	a->status = DNS_STATUS_OK;
	assert_int_equal(dns_parse_rdata(a, s->data, s->len, s->n), 0);
	return a;
}

/* RFC 5321 5.1: preference order; equal preferences in random order, so over many
 * answers each of the two equal hosts comes first sometimes. */
static void test_mx_order(void **state)
{
	unsigned first_b = 0, runs = 400;
	for (unsigned run = 0; run < runs; run++) {
		struct rdata_set s = {0};
		mx_add(&s, 20, "c.test");
		mx_add(&s, 10, "a.test");
		mx_add(&s, 30, "d.test");
		mx_add(&s, 10, "b.test");
		struct dns_answer *a = parse(DNS_TYPE_MX, &s);
		assert_int_equal(a->n, 4);
		assert_int_equal(a->rr[0].u.mx.pref, 10);
		assert_int_equal(a->rr[1].u.mx.pref, 10);
		assert_string_equal(a->rr[2].u.mx.host, "c.test");
		assert_string_equal(a->rr[3].u.mx.host, "d.test");
		first_b += !strcmp(a->rr[0].u.mx.host, "b.test");
		assert_false(a->null_mx);
		dns_answer_free(&a);
		rdata_free(&s);
	}
	/* p(each outcome) = 1/2: both below 100 or above 300 of 400 happens with
	 * probability < 1e-20 */
	assert_true(first_b > 100 && first_b < 300);
}

/* RFC 7505 3: the one MX "0 ." is a null MX; "." beside real hosts is dropped */
static void test_null_mx(void **state)
{
	struct rdata_set s = {0};
	mx_add(&s, 0, "");
	struct dns_answer *a = parse(DNS_TYPE_MX, &s);
	assert_true(a->null_mx);
	assert_int_equal(a->n, 0);
	assert_int_equal(a->status, DNS_STATUS_OK);
	dns_answer_free(&a);
	mx_add(&s, 10, "mx.test");
	a = parse(DNS_TYPE_MX, &s);
	assert_false(a->null_mx);
	assert_int_equal(a->n, 1);
	assert_string_equal(a->rr[0].u.mx.host, "mx.test");
	dns_answer_free(&a);
	rdata_free(&s);
}

static void test_mx_malformed(void **state)
{
	struct rdata_set s = {0};
	rdata_add(&s, "\x00\x0a\x02mx", 5); /* name without its root label */
	struct dns_answer *a = parse(DNS_TYPE_MX, &s);
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	assert_int_equal(a->n, 0);
	assert_non_null(strstr(a->why, "record 1"));
	dns_answer_free(&a);
	rdata_free(&s);
	rdata_add(&s, "\x00\x0a\x02mx\x00X", 7); /* a byte after the name */
	a = parse(DNS_TYPE_MX, &s);
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	dns_answer_free(&a);
	rdata_free(&s);
}

/* RFC 7208 3.3 / RFC 6376 3.6.2.2: one record's strings joined with nothing between */
static void test_txt(void **state)
{
	struct rdata_set s = {0};
	rdata_add(&s, "\x07v=spf1 \x07mx -all", 16);
	rdata_add(&s, "\x00", 1);
	struct dns_answer *a = parse(DNS_TYPE_TXT, &s);
	assert_int_equal(a->status, DNS_STATUS_OK);
	assert_int_equal(a->n, 2);
	assert_string_equal(a->rr[0].u.txt.text, "v=spf1 mx -all");
	assert_int_equal(a->rr[0].u.txt.len, 14);
	assert_int_equal(a->rr[1].u.txt.len, 0);
	dns_answer_free(&a);
	rdata_free(&s);
	/* a string running past the record */
	rdata_add(&s, "\x08v=spf1 ", 8);
	a = parse(DNS_TYPE_TXT, &s);
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	dns_answer_free(&a);
	rdata_free(&s);
	/* LIMIT_DNS_TXT joined bytes: -1, 0 ok, +1 refused */
	for (size_t total = LIMIT_DNS_TXT - 1; total <= LIMIT_DNS_TXT + 1; total++) {
		uint8_t *w = malloc(total + total / 255 + 2);
		size_t o = 0, left = total;
		while (left > 0) {
			size_t l = left > 255 ? 255 : left;
			w[o++] = (uint8_t)l;
			memset(w + o, 'k', l);
			o += l;
			left -= l;
		}
		rdata_add(&s, w, o);
		free(w);
		a = parse(DNS_TYPE_TXT, &s);
		if (total <= LIMIT_DNS_TXT) {
			assert_int_equal(a->status, DNS_STATUS_OK);
			assert_int_equal(a->rr[0].u.txt.len, total);
			assert_int_equal(strlen(a->rr[0].u.txt.text), total);
		} else {
			assert_int_equal(a->status, DNS_STATUS_MALFORMED);
		}
		dns_answer_free(&a);
		rdata_free(&s);
	}
}

static void test_addr_tlsa(void **state)
{
	struct rdata_set s = {0};
	rdata_add(&s, "\x7f\x00\x00\x02", 4);
	struct dns_answer *a = parse(DNS_TYPE_A, &s);
	assert_int_equal(a->rr[0].u.addr.family, AF_INET);
	assert_memory_equal(a->rr[0].u.addr.addr, "\x7f\x00\x00\x02", 4);
	dns_answer_free(&a);
	a = parse(DNS_TYPE_AAAA, &s); /* 4 bytes are no AAAA */
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	dns_answer_free(&a);
	rdata_free(&s);
	/* RFC 6698 2.1: usage, selector, matching type, data */
	rdata_add(&s, "\x03\x01\x01\xab\xcd", 5);
	a = parse(DNS_TYPE_TLSA, &s);
	assert_int_equal(a->rr[0].u.tlsa.usage, 3);
	assert_int_equal(a->rr[0].u.tlsa.selector, 1);
	assert_int_equal(a->rr[0].u.tlsa.mtype, 1);
	assert_int_equal(a->rr[0].u.tlsa.len, 2);
	assert_memory_equal(a->rr[0].u.tlsa.data, "\xab\xcd", 2);
	dns_answer_free(&a);
	rdata_free(&s);
	rdata_add(&s, "\x03\x01", 2);
	a = parse(DNS_TYPE_TLSA, &s);
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	dns_answer_free(&a);
	rdata_free(&s);
}

/* RFC 2782: priority, weight, port, target; the target "." is "" (RFC 6186 4: the
 * service is not offered). CNAME: one name. */
static void test_srv_cname(void **state)
{
	struct rdata_set s = {0};
	rdata_add(&s, "\x00\x0a\x00\x01\x03\xe1\x04mail\x04test\x00", 17);
	rdata_add(&s, "\x00\x00\x00\x00\x00\x00\x00", 7);
	struct dns_answer *a = parse(DNS_TYPE_SRV, &s);
	assert_int_equal(a->status, DNS_STATUS_OK);
	assert_int_equal(a->n, 2);
	assert_int_equal(a->rr[0].u.srv.priority, 10);
	assert_int_equal(a->rr[0].u.srv.weight, 1);
	assert_int_equal(a->rr[0].u.srv.port, 993);
	assert_string_equal(a->rr[0].u.srv.target, "mail.test");
	assert_int_equal(a->rr[1].u.srv.port, 0);
	assert_string_equal(a->rr[1].u.srv.target, "");
	dns_answer_free(&a);
	rdata_free(&s);
	/* too short; a byte after the target */
	rdata_add(&s, "\x00\x00\x00\x00\x00\x00", 6);
	a = parse(DNS_TYPE_SRV, &s);
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	dns_answer_free(&a);
	rdata_free(&s);
	rdata_add(&s, "\x00\x00\x00\x00\x00\x00\x00X", 8);
	a = parse(DNS_TYPE_SRV, &s);
	assert_int_equal(a->status, DNS_STATUS_MALFORMED);
	dns_answer_free(&a);
	rdata_free(&s);
	rdata_add(&s, "\x04Mail\x04test\x00", 11);
	a = parse(DNS_TYPE_CNAME, &s);
	assert_int_equal(a->status, DNS_STATUS_OK);
	assert_string_equal(a->rr[0].u.ptr.host, "mail.test");
	dns_answer_free(&a);
	rdata_free(&s);
}

/* LIMIT_DNS_ANSWER_RECORDS: -1, 0 kept, +1 refused whole (never cut silently) */
static void test_record_limit(void **state)
{
	for (size_t n = LIMIT_DNS_ANSWER_RECORDS - 1; n <= LIMIT_DNS_ANSWER_RECORDS + 1; n++) {
		struct rdata_set s = {0};
		for (size_t i = 0; i < n; i++)
			rdata_add(&s, "\x7f\x00\x00\x01", 4);
		struct dns_answer *a = parse(DNS_TYPE_A, &s);
		if (n <= LIMIT_DNS_ANSWER_RECORDS) {
			assert_int_equal(a->status, DNS_STATUS_OK);
			assert_int_equal(a->n, n);
		} else {
			assert_int_equal(a->status, DNS_STATUS_MALFORMED);
			assert_int_equal(a->n, 0);
		}
		dns_answer_free(&a);
		rdata_free(&s);
	}
}

static void test_names(void **state)
{
	enum dns_type t;
	assert_int_equal(dns_type_parse("mx", &t), 0);
	assert_int_equal(t, DNS_TYPE_MX);
	assert_int_equal(dns_type_parse("TLSA", &t), 0);
	assert_int_equal(t, DNS_TYPE_TLSA);
	assert_int_equal(dns_type_parse("CNAME", &t), 0);
	assert_int_equal(t, DNS_TYPE_CNAME);
	assert_int_equal(dns_type_parse("srv", &t), 0);
	assert_int_equal(t, DNS_TYPE_SRV);
	assert_int_equal(dns_type_parse("SOA", &t), ERR_INVAL);
	assert_string_equal(dns_type_name(DNS_TYPE_AAAA), "AAAA");
	assert_string_equal(dns_sec_name(DNS_SEC_BOGUS), "bogus");
	assert_string_equal(dns_status_name(DNS_STATUS_NXDOMAIN), "NXDOMAIN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server),      cmocka_unit_test(test_name_norm),
		cmocka_unit_test(test_wire_name),   cmocka_unit_test(test_mx_order),
		cmocka_unit_test(test_null_mx),     cmocka_unit_test(test_mx_malformed),
		cmocka_unit_test(test_txt),         cmocka_unit_test(test_addr_tlsa),
		cmocka_unit_test(test_record_limit), cmocka_unit_test(test_names),
		cmocka_unit_test(test_srv_cname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
