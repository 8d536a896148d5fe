/* test_smtp_parse.c: SMTP/LMTP command lines (RFC 5321 4.1 and the extensions).
 * Every table case is fed whole, one byte at a time and split at every offset, and the
 * transcript of parsed commands must be identical each time (STYLE 5). Limits are tested
 * at -1, 0, +1: the line, local part (64), domain (255), path (256), parameters (16). */
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
#include "smtp/smtp_parse.h"

/* ---- transcript ---- */

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

/* One line per event, only the fields that are set. */
static void describe(struct out *o, int rc, const struct smtp_cmd *c)
{
	if (rc < 0) {
		outf(o, "ERR%d %u %s%s%s%s\n", rc, c->reply_code, c->reason,
		     c->verb ? " verb=" : "", c->verb ? smtp_verb_name(c->verb) : "",
		     c->must_close ? " close" : "");
		return;
	}
	outf(o, "%s", smtp_verb_name(c->verb));
	if (c->domain)
		outf(o, " d=%s%s", c->domain, c->domain_literal ? " lit" : "");
	if (c->verb == SMTP_VERB_MAIL || c->verb == SMTP_VERB_RCPT) {
		const struct smtp_path *p = &c->path;
		outf(o, " <%s>%s%s%s%s", p->addr, p->null ? " null" : "",
		     p->postmaster ? " pm" : "", p->utf8 ? " utf8" : "", p->literal ? " lit" : "");
	}
	if (c->mail.has_size)
		outf(o, " size=%llu", (unsigned long long)c->mail.size);
	if (c->mail.body)
		outf(o, " body=%d", (int)c->mail.body);
	if (c->mail.smtputf8)
		outf(o, " smtputf8");
	if (c->mail.auth)
		outf(o, " auth=%s", c->mail.auth);
	if (c->mail.ret)
		outf(o, " ret=%d", (int)c->mail.ret);
	if (c->mail.envid)
		outf(o, " envid=%s", c->mail.envid);
	if (c->mail.requiretls)
		outf(o, " requiretls");
	if (c->rcpt.notify)
		outf(o, " notify=%u", c->rcpt.notify);
	if (c->rcpt.orcpt_type)
		outf(o, " orcpt=%s;%s", c->rcpt.orcpt_type, c->rcpt.orcpt_addr);
	for (size_t i = 0; i < c->n_params; i++)
		if (c->params[i].kind == SMTP_PARAM_OTHER)
			outf(o, " other=%s%s%s", c->params[i].key, c->params[i].value ? "=" : "",
			     c->params[i].value ? c->params[i].value : "");
	if (c->verb == SMTP_VERB_BDAT)
		outf(o, " %llu%s", (unsigned long long)c->bdat_size, c->bdat_last ? " LAST" : "");
	if (c->auth_mech)
		outf(o, " %s", c->auth_mech);
	if (c->auth_initial)
		outf(o, " ir=%s", c->auth_initial);
	if (c->arg)
		outf(o, " arg=%s", c->arg);
	outf(o, "\n");
}

/* Feed in[0..len) cut at the offsets cuts[0..ncuts) (ascending) the way a session does:
 * call again on the rest of a chunk until the reader asks for more. */
static void feed(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts, bool utf8,
                 size_t max_line, struct out *o)
{
	struct arena sa, ca;
	struct smtp_cmd_reader r;
	arena_init(&sa, LIMIT_SESSION_ARENA);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, max_line), 0);
	r.smtputf8 = utf8;
	o->n = 0;
	o->s[0] = '\0';
	size_t start = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		size_t off = start;
		for (;;) {
			struct smtp_cmd cmd;
			size_t used = 99999;
			int rc = smtp_cmd_read(&r, in + off, end - off, &used, &ca, &cmd);
			assert_true(used <= end - off);
			off += used;
			if (rc == 0) {
				assert_int_equal(off, end); /* need-more consumes everything */
				break;
			}
			describe(o, rc, &cmd);
			arena_reset(&ca);
		}
		start = end;
	}
	arena_free(&ca);
	arena_free(&sa);
}

/* The transcript of in, checked to be the same whole, byte by byte and at every split. */
static void check_all(const uint8_t *in, size_t len, bool utf8, size_t max_line, const char *want)
{
	static struct out whole, other;
	feed(in, len, NULL, 0, utf8, max_line, &whole);
	if (want && strcmp(whole.s, want) != 0)
		fail_msg("input '%.*s'\nwant: %s\ngot:  %s", (int)(len > 200 ? 200 : len), in, want,
		         whole.s);
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	feed(in, len, cuts, len ? len - 1 : 0, utf8, max_line, &other);
	assert_string_equal(other.s, whole.s);
	for (size_t i = 1; i < len; i++) {
		feed(in, len, &i, 1, utf8, max_line, &other);
		if (strcmp(other.s, whole.s) != 0)
			fail_msg("split at %zu differs:\n%s\nvs\n%s", i, other.s, whole.s);
	}
	free(cuts);
}

static void check(const char *in, const char *want)
{
	check_all((const uint8_t *)in, strlen(in), false, LIMIT_SMTP_LINE, want);
}

static void check_utf8(const char *in, const char *want)
{
	check_all((const uint8_t *)in, strlen(in), true, LIMIT_SMTP_LINE, want);
}

#define E501(reason) "ERR-11 501 " reason
#define SYN_MAIL "ERR-11 501 5.1.7 Bad sender address syntax verb=MAIL\n"
#define SYN_RCPT "ERR-11 501 5.1.3 Bad recipient address syntax verb=RCPT\n"
#define BAD_PARAMS "ERR-11 501 5.5.4 Invalid parameter syntax verb=MAIL\n"

/* ---- RFC 5321 4.1.1.1 HELO/EHLO, RFC 2033 4.1 LHLO ---- */
static void rfc5321_4_1_1_1_ehlo(void **state)
{
	check("EHLO mail.example.com\r\n", "EHLO d=mail.example.com\n");
	check("ehlo Mail.Example.COM\r\n", "EHLO d=Mail.Example.COM\n");
	check("HELO [192.0.2.1]\r\n", "HELO d=[192.0.2.1] lit\n");
	check("LHLO [IPv6:2001:db8::1]\r\n", "LHLO d=[IPv6:2001:db8::1] lit\n");
	check("EHLO [ipv6:::ffff:192.0.2.1]\r\n", "EHLO d=[ipv6:::ffff:192.0.2.1] lit\n");
	check("EHLO 192.0.2.1\r\n", "EHLO d=192.0.2.1\n");
	check("EHLO my_pc\r\n", "EHLO d=my_pc\n"); /* '_' tolerated in HELO names only */
	check("EHLO [001.002.003.004]\r\n", "EHLO d=[001.002.003.004] lit\n"); /* Snum */
	const char *syn = E501("5.5.4 Syntax: EHLO hostname");
	char want[200];
	snprintf(want, sizeof(want), "%s verb=EHLO\n", syn);
	check("EHLO\r\n", want);
	check("EHLO \r\n", want);
	check("EHLO  a.b\r\n", want);
	check("EHLO a.b \r\n", want); /* no trailing space */
	check("EHLO a b\r\n", want);
	check("EHLO a..b\r\n", want);
	check("EHLO .a\r\n", want);
	check("EHLO a.\r\n", want);
	check("EHLO -a.b\r\n", want);
	check("EHLO a-.b\r\n", want);
	check("EHLO [1.2.3.256]\r\n", want);
	check("EHLO [1.2.3]\r\n", want);
	check("EHLO [1.2.3.4.5]\r\n", want);
	check("EHLO [1234.2.3.4]\r\n", want);
	check("EHLO [IPv6:zz::1]\r\n", want);
	check("EHLO [IPv6:1::2::3]\r\n", want);
	check("EHLO [x-tag:stuff]\r\n", want); /* General-address-literal: none registered */
	check("EHLO [1.2.3.4\r\n", want);
	check("EHLO b\xc3\xbc"
	      "cher.de\r\n",
	      want); /* ASCII only in EHLO */
}

static void make_domain(char *d, size_t n)
{
	/* a valid domain of exactly n octets: labels of 49 letters */
	for (size_t i = 0; i < n; i++)
		d[i] = (i % 50 == 49 && i + 1 < n) ? '.' : 'a';
	d[n] = '\0';
}

/* RFC 5321 4.5.3.1.2: domain at most 255 octets; 4.1.2 labels at most 63 (RFC 1035). */
static void rfc5321_4_5_3_1_2_domain_limit(void **state)
{
	char d[300], line[400], want[400];
	for (size_t n = 254; n <= 256; n++) {
		make_domain(d, n);
		snprintf(line, sizeof(line), "EHLO %s\r\n", d);
		if (n <= SMTP_DOMAIN_MAX)
			snprintf(want, sizeof(want), "EHLO d=%s\n", d);
		else
			snprintf(want, sizeof(want),
			         "ERR-8 501 5.5.4 Domain name too long verb=EHLO\n");
		check(line, want);
	}
	char label[80];
	for (size_t n = 62; n <= 64; n++) {
		memset(label, 'b', n);
		label[n] = '\0';
		snprintf(line, sizeof(line), "EHLO %s.example\r\n", label);
		if (n <= 63)
			snprintf(want, sizeof(want), "EHLO d=%s.example\n", label);
		else
			snprintf(want, sizeof(want),
			         "ERR-11 501 5.5.4 Syntax: EHLO hostname verb=EHLO\n");
		check(line, want);
	}
}

/* ---- RFC 5321 4.1.1.2 MAIL, 4.1.2 Reverse-path ---- */
static void rfc5321_4_1_1_2_mail(void **state)
{
	check("MAIL FROM:<a@b.example>\r\n", "MAIL <a@b.example>\n");
	check("mail from:<A.B@Example.COM>\r\n", "MAIL <A.B@example.com>\n");
	check("MAIL FROM: <a@b.example>\r\n", "MAIL <a@b.example>\n"); /* the one leniency */
	check("MAIL FROM:<>\r\n", "MAIL <> null\n");
	check("MAIL FROM:<\"john doe\"@x.example>\r\n", "MAIL <\"john doe\"@x.example>\n");
	check("MAIL FROM:<\"a.b\"@x.example>\r\n", "MAIL <a.b@x.example>\n"); /* 4.1.2 */
	check("MAIL FROM:<\"a\\\"b\"@x.example>\r\n", "MAIL <\"a\\\"b\"@x.example>\n");
	check("MAIL FROM:<\"\"@x.example>\r\n", "MAIL <\"\"@x.example>\n");
	check("MAIL FROM:<@a.example,@b.example:u@c.example>\r\n", "MAIL <u@c.example>\n");
	check("MAIL FROM:<u@[192.0.2.1]>\r\n", "MAIL <u@[192.0.2.1]> lit\n");
	check("MAIL FROM:<u@[IPv6:2001:DB8::1]>\r\n", "MAIL <u@[ipv6:2001:db8::1]> lit\n");
	check("MAIL FROM:<!#$%&'*+-/=?^_`{|}~@x.example>\r\n",
	      "MAIL <!#$%&'*+-/=?^_`{|}~@x.example>\n");
	check("MAIL FROM:<Postmaster@x.example>\r\n", "MAIL <postmaster@x.example> pm\n");
	check("MAIL FROM:a@b.example\r\n", SYN_MAIL);
	check("MAIL FROM:<a@b.example\r\n", SYN_MAIL);
	check("MAIL FROM:<a@b.example>x\r\n", SYN_MAIL);
	check("MAIL FROM:<a..b@c.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<.a@c.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<a.@c.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<a@>\r\n", SYN_MAIL);
	check("MAIL FROM:<@b.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<a b@c.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<a@b@c.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<postmaster>\r\n", SYN_MAIL); /* only RCPT has the bare form */
	check("MAIL FROM:<@a.example:>\r\n", SYN_MAIL);
	check("MAIL FROM:<@a.example u@c.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<\"unterminated@x.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<\"a\\\x01\"@x.example>\r\n", SYN_MAIL);
	check("MAIL FROM:<a@b.example> \r\n", BAD_PARAMS); /* no trailing space */
	check("MAIL FROM:  <a@b.example>\r\n", SYN_MAIL);  /* only one space is tolerated */
	check("MAIL TO:<a@b.example>\r\n",
	      "ERR-11 501 5.5.4 Syntax: MAIL FROM:<address> verb=MAIL\n");
	check("MAIL  FROM:<a@b.example>\r\n",
	      "ERR-11 501 5.5.4 Syntax: MAIL FROM:<address> verb=MAIL\n");
	check("MAIL\r\n", "ERR-11 501 5.5.4 Syntax: MAIL FROM:<address> verb=MAIL\n");
	check("MAILFROM:<a@b.example>\r\n", "ERR-11 500 5.5.2 Command not recognized\n");
}

/* ---- RFC 5321 4.1.1.3 RCPT, Postmaster ---- */
static void rfc5321_4_1_1_3_rcpt(void **state)
{
	check("RCPT TO:<c@d.example>\r\n", "RCPT <c@d.example>\n");
	check("RCPT TO: <c@D.Example>\r\n", "RCPT <c@d.example>\n");
	check("RCPT TO:<Postmaster>\r\n", "RCPT <postmaster> pm\n");
	check("rcpt to:<POSTMASTER>\r\n", "RCPT <postmaster> pm\n");
	check("RCPT TO:<PostMaster@d.example>\r\n", "RCPT <postmaster@d.example> pm\n");
	check("RCPT TO:<>\r\n", SYN_RCPT);
	check("RCPT TO:<@r.example:Postmaster>\r\n", SYN_RCPT);
	check("RCPT TO:<\"Postmaster\">\r\n", SYN_RCPT);
	check("RCPT TO:<postmasterx>\r\n", SYN_RCPT);
	check("RCPT FROM:<c@d.example>\r\n",
	      "ERR-11 501 5.5.4 Syntax: RCPT TO:<address> verb=RCPT\n");
}

/* ---- RFC 5321 4.5.3.1.1 local part 64, 4.5.3.1.3 path 256 ---- */
static void rfc5321_4_5_3_1_address_limits(void **state)
{
	char local[100], d[300], line[600], want[600];
	for (size_t n = 63; n <= 65; n++) {
		memset(local, 'l', n);
		local[n] = '\0';
		snprintf(line, sizeof(line), "MAIL FROM:<%s@x.example>\r\n", local);
		if (n <= SMTP_LOCAL_MAX)
			snprintf(want, sizeof(want), "MAIL <%s@x.example>\n", local);
		else
			snprintf(want, sizeof(want), "ERR-8 501 5.1.7 Path too long verb=MAIL\n");
		check(line, want);
	}
	/* path = "<" 64 "@" domain ">": 256 octets with a domain of 189 */
	memset(local, 'l', 64);
	local[64] = '\0';
	for (size_t path = 255; path <= 257; path++) {
		make_domain(d, path - 67);
		snprintf(line, sizeof(line), "RCPT TO:<%s@%s>\r\n", local, d);
		if (path <= SMTP_PATH_MAX)
			snprintf(want, sizeof(want), "RCPT <%s@%s>\n", local, d);
		else
			snprintf(want, sizeof(want), "ERR-8 501 5.1.3 Path too long verb=RCPT\n");
		check(line, want);
	}
	/* a source route counts towards the path */
	make_domain(d, 180); /* 1 + 1 + 180 + 1 + 64 + 10 + 1 = 258 */
	snprintf(line, sizeof(line), "MAIL FROM:<@%s:%s@x.example>\r\n", d, local);
	check(line, "ERR-8 501 5.1.7 Path too long verb=MAIL\n");
}

/* ---- ESMTP parameters: RFC 5321 4.1.2, 1870, 6152, 3030, 6531, 4954 5, 3461 4 ---- */
static void rfc5321_4_1_2_mail_params(void **state)
{
	check("MAIL FROM:<a@b.example> SIZE=1000\r\n", "MAIL <a@b.example> size=1000\n");
	check("MAIL FROM:<a@b.example> size=000123\r\n", "MAIL <a@b.example> size=123\n");
	check("MAIL FROM:<a@b.example> SIZE=18446744073709551615\r\n",
	      "MAIL <a@b.example> size=18446744073709551615\n");
	check("MAIL FROM:<a@b.example> BODY=7BIT\r\n", "MAIL <a@b.example> body=1\n");
	check("MAIL FROM:<a@b.example> body=8bitmime\r\n", "MAIL <a@b.example> body=2\n");
	check("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\n", "MAIL <a@b.example> body=3\n");
	check("MAIL FROM:<a@b.example> SMTPUTF8\r\n", "MAIL <a@b.example> smtputf8\n");
	check("MAIL FROM:<a@b.example> AUTH=<>\r\n", "MAIL <a@b.example> auth=<>\n");
	check("MAIL FROM:<a@b.example> AUTH=a+2Bb@c.example\r\n",
	      "MAIL <a@b.example> auth=a+b@c.example\n");
	check("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159\r\n",
	      "MAIL <a@b.example> ret=2 envid=QQ314159\n");
	check("MAIL FROM:<> RET=full SIZE=5 BODY=8BITMIME\r\n",
	      "MAIL <> null size=5 body=2 ret=1\n");
	check("MAIL FROM:<a@b.example> X-FOO=bar XYZ\r\n",
	      "MAIL <a@b.example> other=X-FOO=bar other=XYZ\n");
	check("MAIL FROM:<a@b.example> NOTIFY=NEVER\r\n",
	      "MAIL <a@b.example> other=NOTIFY=NEVER\n");
	/* RFC 8689 3: REQUIRETLS takes no value; the session checks for TLS */
	check("MAIL FROM:<a@b.example> REQUIRETLS\r\n", "MAIL <a@b.example> requiretls\n");
	check("MAIL FROM:<a@b.example> requiretls BODY=8BITMIME\r\n",
	      "MAIL <a@b.example> body=2 requiretls\n");
	check("MAIL FROM:<a@b.example> REQUIRETLS=yes\r\n",
	      E501("5.5.4 Invalid REQUIRETLS value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> REQUIRETLS REQUIRETLS\r\n",
	      E501("5.5.4 Duplicate parameter verb=MAIL\n"));
	check("RCPT TO:<c@d.example> REQUIRETLS\r\n", "RCPT <c@d.example> other=REQUIRETLS\n");
	/* RFC 3461 4: xtext hexchar is "+" and two upper-case hex digits */
	check("MAIL FROM:<a@b.example> ENVID=a+2Bb+3D\r\n", "MAIL <a@b.example> envid=a+b=\n");
	check("MAIL FROM:<a@b.example> ENVID=a+2bb\r\n",
	      E501("5.5.4 Invalid ENVID value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> ENVID=a+0D+0A\r\n", /* decoded CR LF: not printable */
	      E501("5.5.4 Invalid ENVID value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> ENVID=x RET=HDRS ENVID=y\r\n",
	      E501("5.5.4 Duplicate parameter verb=MAIL\n"));

	check("MAIL FROM:<a@b.example> SIZE=abc\r\n", E501("5.5.4 Invalid SIZE value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SIZE\r\n", E501("5.5.4 Invalid SIZE value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SIZE=\r\n", BAD_PARAMS);
	check("MAIL FROM:<a@b.example> SIZE=18446744073709551616\r\n", /* overflow */
	      E501("5.5.4 Invalid SIZE value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SIZE=000000000000000000001\r\n", /* 1*20DIGIT */
	      E501("5.5.4 Invalid SIZE value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SIZE=-1\r\n", E501("5.5.4 Invalid SIZE value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> BODY=9BIT\r\n",
	      E501("5.5.4 Invalid BODY value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SMTPUTF8=yes\r\n",
	      E501("5.5.4 Invalid SMTPUTF8 value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> RET=ALL\r\n", E501("5.5.4 Invalid RET value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> AUTH=a+0Ab\r\n",
	      E501("5.5.4 Invalid AUTH value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> AUTH=a+2b\r\n",
	      E501("5.5.4 Invalid AUTH value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> ENVID=a+2\r\n",
	      E501("5.5.4 Invalid ENVID value verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SIZE=1 size=2\r\n",
	      E501("5.5.4 Duplicate parameter verb=MAIL\n"));
	check("MAIL FROM:<a@b.example> SIZE=1  BODY=7BIT\r\n", BAD_PARAMS);
	check("MAIL FROM:<a@b.example> -X=1\r\n", BAD_PARAMS);
	check("MAIL FROM:<a@b.example> X==1\r\n", BAD_PARAMS);
	check("MAIL FROM:<a@b.example> X=a=b\r\n", BAD_PARAMS);
	check("MAIL FROM:<a@b.example> X_Y=1\r\n", BAD_PARAMS);
	check("MAIL FROM:<a@b.example> X=\xff\r\n", BAD_PARAMS);

	/* RFC 3461 4.4: ENVID at most 100 characters */
	char line[400], want[400], v[120];
	for (size_t n = 99; n <= 101; n++) {
		memset(v, 'e', n);
		v[n] = '\0';
		snprintf(line, sizeof(line), "MAIL FROM:<a@b.example> ENVID=%s\r\n", v);
		if (n <= SMTP_ENVID_MAX)
			snprintf(want, sizeof(want), "MAIL <a@b.example> envid=%s\n", v);
		else
			snprintf(want, sizeof(want),
			         "ERR-11 501 5.5.4 Invalid ENVID value verb=MAIL\n");
		check(line, want);
	}
}

static void rfc3461_4_rcpt_params(void **state)
{
	check("RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE,DELAY\r\n",
	      "RCPT <c@d.example> notify=14\n");
	check("RCPT TO:<c@d.example> notify=never\r\n", "RCPT <c@d.example> notify=1\n");
	check("RCPT TO:<c@d.example> ORCPT=rfc822;c+40d.example\r\n",
	      "RCPT <c@d.example> orcpt=rfc822;c@d.example\n");
	check("RCPT TO:<c@d.example> SIZE=10\r\n", "RCPT <c@d.example> other=SIZE=10\n");
	check("RCPT TO:<c@d.example> NOTIFY=NEVER,SUCCESS\r\n",
	      E501("5.5.4 Invalid NOTIFY value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> NOTIFY=SOMETIMES\r\n",
	      E501("5.5.4 Invalid NOTIFY value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> NOTIFY=SUCCESS,\r\n",
	      E501("5.5.4 Invalid NOTIFY value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> ORCPT=rfc822\r\n",
	      E501("5.5.4 Invalid ORCPT value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> ORCPT=;x\r\n", E501("5.5.4 Invalid ORCPT value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> ORCPT=rfc822;\r\n",
	      E501("5.5.4 Invalid ORCPT value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> NOTIFY=DELAY NOTIFY=DELAY\r\n",
	      E501("5.5.4 Duplicate parameter verb=RCPT\n"));
	check("RCPT TO:<c@d.example> ORCPT=rfc822;a@x ORCPT=rfc822;b@x\r\n",
	      E501("5.5.4 Duplicate parameter verb=RCPT\n"));
	check("RCPT TO:<c@d.example> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Joe+2BX+40d.example\r\n",
	      "RCPT <c@d.example> notify=12 orcpt=rfc822;Joe+X@d.example\n");
	check("RCPT TO:<c@d.example> NOTIFY=,FAILURE\r\n",
	      E501("5.5.4 Invalid NOTIFY value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> NOTIFY\r\n", E501("5.5.4 Invalid NOTIFY value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> ORCPT=rfc822;a+1Fb\r\n", /* a control character */
	      E501("5.5.4 Invalid ORCPT value verb=RCPT\n"));
	check("RCPT TO:<c@d.example> NOTIFY=FAILURE\r\n", "RCPT <c@d.example> notify=4\n");
	check("MAIL FROM:<a@b.example> ORCPT=rfc822;a@b\r\n",
	      "MAIL <a@b.example> other=ORCPT=rfc822;a@b\n");
	char line[700], want[700], v[600];
	for (size_t n = 499; n <= 501; n++) { /* RFC 3461 4.2: ORCPT at most 500 */
		memcpy(v, "rfc822;", 7);
		memset(v + 7, 'o', n - 7);
		v[n] = '\0';
		snprintf(line, sizeof(line), "RCPT TO:<c@d.example> ORCPT=%s\r\n", v);
		if (n <= SMTP_ORCPT_MAX)
			snprintf(want, sizeof(want), "RCPT <c@d.example> orcpt=%s\n", v);
		else
			snprintf(want, sizeof(want),
			         "ERR-11 501 5.5.4 Invalid ORCPT value verb=RCPT\n");
		check(line, want);
	}
}

static void rfc5321_4_1_2_param_count(void **state)
{
	char line[600], want[600];
	for (size_t n = 15; n <= 17; n++) {
		size_t k = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b.example>");
		size_t w = (size_t)snprintf(want, sizeof(want), "MAIL <a@b.example>");
		for (size_t i = 0; i < n; i++) {
			k += (size_t)snprintf(line + k, sizeof(line) - k, " X%zu=%zu", i, i);
			w += (size_t)snprintf(want + w, sizeof(want) - w, " other=X%zu=%zu", i, i);
		}
		snprintf(line + k, sizeof(line) - k, "\r\n");
		if (n <= SMTP_PARAMS_MAX)
			snprintf(want + w, sizeof(want) - w, "\n");
		else
			snprintf(want, sizeof(want),
			         "ERR-11 501 5.5.4 Too many parameters verb=MAIL\n");
		check(line, want);
	}
}

/* ---- RFC 6531 3.3 UTF-8 addresses, 3.5 553 5.6.7 ---- */
static void rfc6531_3_3_utf8(void **state)
{
	check("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
	      "cher.example> SMTPUTF8\r\n",
	      "MAIL <j\xc3\xb6rg@b\xc3\xbc"
	      "cher.example> utf8 smtputf8\n");
	check("MAIL FROM:<j\xc3\xb6rg@x.example>\r\n",
	      "ERR-11 553 5.6.7 Non-ASCII address requires SMTPUTF8 verb=MAIL\n");
	check("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@x.example>\r\n",
	      "ERR-11 553 5.6.7 Non-ASCII address requires SMTPUTF8 verb=RCPT\n");
	check_utf8("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@x.example>\r\n",
	           "RCPT <\xe7\x94\xa8\xe6\x88\xb7@x.example> utf8\n");
	check_utf8("RCPT TO:<\"\xf0\x9f\x93\xa7 x\"@x.example>\r\n",
	           "RCPT <\"\xf0\x9f\x93\xa7 x\"@x.example> utf8\n");
	/* invalid UTF-8 is a syntax error even with SMTPUTF8 */
	check_utf8("RCPT TO:<\xc3\x28@x.example>\r\n", SYN_RCPT);
	check_utf8("RCPT TO:<\xff@x.example>\r\n", SYN_RCPT);
	check_utf8("RCPT TO:<\xc0\xaf@x.example>\r\n", SYN_RCPT);         /* overlong */
	check_utf8("RCPT TO:<\xed\xa0\x80@x.example>\r\n", SYN_RCPT);     /* surrogate */
	check_utf8("RCPT TO:<\xf4\x90\x80\x80@x.example>\r\n", SYN_RCPT); /* > U+10FFFF */
	check_utf8("RCPT TO:<\xe7\x94@x.example>\r\n", SYN_RCPT);         /* truncated */
	check_utf8("RCPT TO:<a@x-\xc3\xbc-.example>\r\n", SYN_RCPT);      /* hyphen at end */
}

/* ---- RFC 3030 2 BDAT ---- */
static void rfc3030_2_bdat(void **state)
{
	check("BDAT 100\r\n", "BDAT 100\n");
	check("BDAT 0 LAST\r\n", "BDAT 0 LAST\n");
	check("bdat 000123 last\r\n", "BDAT 123 LAST\n");
	check("BDAT 18446744073709551615\r\n", "BDAT 18446744073709551615\n");
	check("BDAT 00000000000000000000000000018446744073709551615\r\n",
	      "BDAT 18446744073709551615\n");
	const char *syn = "ERR-11 501 5.5.4 Syntax: BDAT size [LAST] verb=BDAT close\n";
	check("BDAT 18446744073709551616\r\n",
	      "ERR-11 501 5.5.4 Invalid BDAT size verb=BDAT close\n");
	check("BDAT\r\n", syn);
	check("BDAT x\r\n", syn);
	check("BDAT -1\r\n", syn);
	check("BDAT 1 LAST x\r\n", syn);
	check("BDAT 1  LAST\r\n", syn);
	check("BDAT 1 \r\n", syn);
	check("BDAT 1\rx\r\n", "ERR-11 500 5.5.2 Bare CR not allowed verb=BDAT close\n");
}

/* ---- RFC 4954 4 AUTH ---- */
static void rfc4954_4_auth(void **state)
{
	check("AUTH PLAIN\r\n", "AUTH PLAIN\n");
	check("auth plain dGVzdAB0ZXN0AHRlc3Q=\r\n", "AUTH PLAIN ir=dGVzdAB0ZXN0AHRlc3Q=\n");
	check("AUTH PLAIN =\r\n", "AUTH PLAIN ir==\n");
	check("AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM\r\n",
	      "AUTH SCRAM-SHA-256 ir=biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM\n");
	check("AUTH ABCDEFGHIJKLMNOPQRST\r\n", "AUTH ABCDEFGHIJKLMNOPQRST\n"); /* 20 chars */
	const char *syn = "ERR-11 501 5.5.4 Syntax: AUTH mechanism [initial-response] verb=AUTH\n";
	check("AUTH ABCDEFGHIJKLMNOPQRSTU\r\n", syn); /* 21 */
	check("AUTH\r\n", syn);
	check("AUTH \r\n", syn);
	check("AUTH PL@IN\r\n", syn);
	const char *b64 = "ERR-11 501 5.5.2 Invalid base64 initial response verb=AUTH\n";
	check("AUTH LOGIN abc\r\n", b64);
	check("AUTH LOGIN a=bc\r\n", b64);
	check("AUTH LOGIN a===\r\n", b64);
	check("AUTH LOGIN ab!c\r\n", b64);
	check("AUTH LOGIN \r\n", b64);
}

/* ---- RFC 5321 4.1.1.4-4.1.1.10 argument-less and text verbs ---- */
static void rfc5321_4_1_1_other_verbs(void **state)
{
	check("DATA\r\nRSET\r\nQUIT\r\nSTARTTLS\r\nNOOP\r\nHELP\r\n",
	      "DATA\nRSET\nQUIT\nSTARTTLS\nNOOP\nHELP\n");
	check("VRFY postmaster\r\n", "VRFY arg=postmaster\n");
	check("VRFY Smith <smith@x.example>\r\n", "VRFY arg=Smith <smith@x.example>\n");
	check("EXPN list\r\n", "EXPN arg=list\n");
	check("HELP MAIL\r\n", "HELP arg=MAIL\n");
	check("NOOP a\tb \xc3\xa9\r\n", "NOOP arg=a\tb \xc3\xa9\n");
	check("VRFY\r\n", "ERR-11 501 5.5.4 Syntax: argument required verb=VRFY\n");
	check("EXPN \r\n", "ERR-11 501 5.5.4 Syntax: argument required verb=EXPN\n");
	check("NOOP \xff\r\n", "ERR-11 501 5.5.4 Invalid characters in argument verb=NOOP\n");
	check("NOOP a\x01\r\n", "ERR-11 501 5.5.4 Invalid characters in argument verb=NOOP\n");
	check("DATA x\r\n", "ERR-11 501 5.5.4 No parameters allowed verb=DATA\n");
	check("QUIT \r\n", "ERR-11 501 5.5.4 No parameters allowed verb=QUIT\n");
	check("starttls now\r\n", "ERR-11 501 5.5.4 No parameters allowed verb=STARTTLS\n");
	check("GET / HTTP/1.1\r\n", "ERR-11 500 5.5.2 Command not recognized\n");
	check("XYZZY\r\n", "ERR-11 500 5.5.2 Command not recognized\n");
	check("DAT\r\n", "ERR-11 500 5.5.2 Command not recognized\n");
	check("DATAX\r\n", "ERR-11 500 5.5.2 Command not recognized\n");
	check(" DATA\r\n", "ERR-11 500 5.5.2 Command not recognized\n");
}

/* ---- line framing: RFC 5321 2.3.8 CRLF, bare CR/LF, NUL, empty lines, pipelining ---- */
static void rfc5321_2_3_8_line_ends(void **state)
{
	check("NOOP\n", "NOOP\n"); /* bare LF ends a command line (documented leniency) */
	check("NOOP\nQUIT\r\n", "NOOP\nQUIT\n");
	/* the verb is the text before the first SP, so these verbs are not recognised */
	check("NOOP\rQUIT\r\n", "ERR-11 500 5.5.2 Bare CR not allowed\n");
	check("NOOP\r\r\n", "ERR-11 500 5.5.2 Bare CR not allowed\n");
	check("NOOP x\ry\r\n", "ERR-11 500 5.5.2 Bare CR not allowed verb=NOOP\n");
	check("\r\n", "ERR-11 500 5.5.2 Empty command\n");
	check("\n\n", "ERR-11 500 5.5.2 Empty command\nERR-11 500 5.5.2 Empty command\n");
	check("\r\r\n", "ERR-11 500 5.5.2 Bare CR not allowed\n");
	static const uint8_t nul[] = "NOOP a\0b\r\nQUIT\r\n";
	check_all(nul, sizeof(nul) - 1, false, LIMIT_SMTP_LINE,
	          "ERR-11 500 5.5.2 NUL not allowed verb=NOOP\nQUIT\n");
	check("NOOP", ""); /* no line end: need more */
	check("NOOP\r", "");
}

/* RFC 2920 pipelining: several commands in one read, each returned at its own LF. */
static void rfc2920_pipelining(void **state)
{
	check("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
	      "RCPT TO:<bad>\r\nDATA\r\n",
	      "EHLO d=c.example\nMAIL <a@b.example>\nRCPT <c@d.example>\n" SYN_RCPT "DATA\n");
	/* the reader never consumes past the command's LF: DATA content stays with caller */
	struct arena sa, ca;
	struct smtp_cmd_reader r;
	struct smtp_cmd cmd;
	arena_init(&sa, LIMIT_SESSION_ARENA);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, LIMIT_SMTP_LINE), 0);
	const char *in = "DATA\r\nSubject: x\r\n";
	size_t used;
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)in, strlen(in), &used, &ca, &cmd), 1);
	assert_int_equal(cmd.verb, SMTP_VERB_DATA);
	assert_int_equal(used, 6);
	in = "BDAT 5 LAST\r\nhello";
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)in, strlen(in), &used, &ca, &cmd), 1);
	assert_int_equal(used, 13);
	arena_free(&ca);
	arena_free(&sa);
}

/* LIMIT_SMTP_LINE counts the line with CRLF: content of limit-2 bytes is the maximum. */
static void limits_h_smtp_line(void **state)
{
	size_t cmax = LIMIT_SMTP_LINE - 2;
	static uint8_t in[LIMIT_SMTP_LINE + 64];
	static char want[LIMIT_SMTP_LINE + 64];
	for (size_t n = cmax - 1; n <= cmax + 1; n++) {
		for (int lf_only = 0; lf_only <= 1; lf_only++) {
			memcpy(in, "NOOP ", 5);
			memset(in + 5, 'x', n - 5);
			size_t len = n;
			if (!lf_only)
				in[len++] = '\r';
			in[len++] = '\n';
			memcpy(in + len, "QUIT\r\n", 6);
			len += 6;
			if (n <= cmax)
				snprintf(want, sizeof(want), "NOOP arg=%.*s\nQUIT\n", (int)(n - 5),
				         (const char *)in + 5);
			else
				snprintf(want, sizeof(want),
				         "ERR-8 500 5.5.2 Line too long\nQUIT\n");
			check_all(in, len, false, LIMIT_SMTP_LINE, want);
		}
	}
	/* far too long, no LF for a while: discard mode, then the next command */
	static uint8_t big[3 * LIMIT_SMTP_LINE];
	memset(big, 'y', sizeof(big));
	memcpy(big + sizeof(big) - 12, "\r\nRSET\r\nab\r\n", 12);
	check_all(big, sizeof(big), false, LIMIT_SMTP_LINE,
	          "ERR-8 500 5.5.2 Line too long\nRSET\nERR-11 500 5.5.2 Command not recognized\n");
	/* an over-long BDAT line: the chunk size is lost, the session must close */
	memcpy(big, "BDAT 1", 6);
	check_all(big, sizeof(big), false, LIMIT_SMTP_LINE,
	          "ERR-8 500 5.5.2 Line too long verb=BDAT close\nRSET\n"
	          "ERR-11 500 5.5.2 Command not recognized\n");
	/* a lowered limit (config) behaves the same */
	const char *low = "NOOP 123456789\r\nNOOP 1234567890\r\nNOOP\r\n";
	check_all((const uint8_t *)low, strlen(low), false, 16,
	          "NOOP arg=123456789\nERR-8 500 5.5.2 Line too long\nNOOP\n");
}

static void reader_init_and_reset(void **state)
{
	struct arena sa, ca;
	struct smtp_cmd_reader r;
	struct smtp_cmd cmd;
	size_t used;
	arena_init(&sa, LIMIT_SESSION_ARENA);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, SMTP_LINE_MIN - 1), ERR_INVAL);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, LIMIT_SMTP_LINE + 1), ERR_INVAL);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, SMTP_LINE_MIN), 0);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, LIMIT_SMTP_LINE), 0);
	/* STARTTLS: bytes before the handshake are dropped */
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)"MAIL FROM:<a", 12, &used, &ca, &cmd),
	                 0);
	smtp_cmd_reader_reset(&r);
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)"QUIT\r\n", 6, &used, &ca, &cmd), 1);
	assert_int_equal(cmd.verb, SMTP_VERB_QUIT);
	/* reset also leaves discard mode */
	static uint8_t big[LIMIT_SMTP_LINE + 10];
	memset(big, 'z', sizeof(big));
	assert_int_equal(smtp_cmd_read(&r, big, sizeof(big), &used, &ca, &cmd), ERR_TOO_LONG);
	assert_int_equal(used, sizeof(big));
	assert_true(r.discard);
	smtp_cmd_reader_reset(&r);
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)"RSET\r\n", 6, &used, &ca, &cmd), 1);
	assert_int_equal(cmd.verb, SMTP_VERB_RSET);
	/* a buffered AUTH line is wiped once it has been handed out */
	assert_int_equal(
	    smtp_cmd_read(&r, (const uint8_t *)"AUTH PLAIN c2VjcmV0", 19, &used, &ca, &cmd), 0);
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)"\r\n", 2, &used, &ca, &cmd), 1);
	assert_string_equal(cmd.auth_initial, "c2VjcmV0");
	assert_int_equal(smtp_cmd_read(&r, (const uint8_t *)"", 0, &used, &ca, &cmd), 0);
	assert_int_equal(r.line.len, 0);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(r.line.data[i], 0);
	/* a tiny command arena: ERR_NOMEM with a closing 421 */
	struct arena tiny;
	arena_init(&tiny, 8);
	assert_int_equal(
	    smtp_cmd_read(&r, (const uint8_t *)"VRFY somebody-long\r\n", 20, &used, &tiny, &cmd),
	    ERR_NOMEM);
	assert_int_equal(cmd.reply_code, 421);
	assert_true(cmd.must_close);
	arena_free(&tiny);
	arena_free(&ca);
	arena_free(&sa);
}

static void line_read_raw(void **state)
{
	struct arena sa;
	struct smtp_cmd_reader r;
	const uint8_t *line;
	size_t n, used;
	arena_init(&sa, LIMIT_SESSION_ARENA);
	assert_int_equal(smtp_cmd_reader_init(&r, &sa, LIMIT_SMTP_LINE), 0);
	/* RFC 4954 4: SASL continuation lines are read raw by the session */
	assert_int_equal(
	    smtp_line_read(&r, (const uint8_t *)"dXNlcg==\r\n*\r\n", 13, &used, &line, &n), 1);
	assert_int_equal(used, 10);
	assert_int_equal(n, 8);
	assert_memory_equal(line, "dXNlcg==", 8);
	assert_int_equal(smtp_line_read(&r, (const uint8_t *)"*\r\n", 3, &used, &line, &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(smtp_line_read(&r, (const uint8_t *)"a\rb", 3, &used, &line, &n), 0);
	assert_int_equal(smtp_line_read(&r, (const uint8_t *)"\n", 1, &used, &line, &n), 1);
	assert_int_equal(n, 3); /* the bare CR is left for the caller to judge */
	assert_memory_equal(line, "a\rb", 3);
	arena_free(&sa);
}

/* Canonical lookup form: RFC 5321 2.4 (local part case kept, domain not case-sensitive). */
static void rfc5321_2_4_addr_canon(void **state)
{
	struct arena a;
	const char *out;
	arena_init(&a, 65536);
	static const struct {
		const char *in, *want;
		bool utf8;
	} ok[] = {
	    {"<A@Example.COM>", "A@example.com", false},
	    {"a@B.example", "a@b.example", false},
	    {"<>", "", false},
	    {"<Postmaster>", "postmaster", false},
	    {"POSTMASTER", "postmaster", false},
	    {"POSTMASTER@X.example", "postmaster@x.example", false},
	    {"\"a.b\"@X.example", "a.b@x.example", false},
	    {"\"a b\"@x.example", "\"a b\"@x.example", false},
	    {"\"a..b\"@x.example", "\"a..b\"@x.example", false},
	    {"<@r.example:a@B.example>", "a@b.example", false},
	    {"u@[IPv6:2001:DB8::1]", "u@[ipv6:2001:db8::1]", false},
	    {"J\xc3\x96RG@B\xc3\x9c"
	     "CHER.example",
	     "J\xc3\x96RG@b\xc3\x9c"
	     "cher.example",
	     true},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int rc = smtp_addr_canon(&a, ok[i].in, strlen(ok[i].in), ok[i].utf8, &out);
		if (rc != 0)
			fail_msg("%s: rc %d", ok[i].in, rc);
		assert_string_equal(out, ok[i].want);
	}
	static const char *bad[] = {"a",
	                            "<a@b",
	                            "a@b>",
	                            "<a@b> ",
	                            "",
	                            "@b",
	                            "a@",
	                            "<a@b>x",
	                            "j\xc3\xb6rg@x.example",
	                            "<\"postmaster\">"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(smtp_addr_canon(&a, bad[i], strlen(bad[i]), false, &out),
		                 ERR_BAD_SYNTAX);
	char addr[300];
	memset(addr, 'l', 65);
	memcpy(addr + 65, "@x", 3);
	assert_int_equal(smtp_addr_canon(&a, addr, strlen(addr), false, &out), ERR_TOO_LONG);
	assert_int_equal(smtp_addr_canon(&a, addr + 1, strlen(addr + 1), false, &out), 0);
	arena_free(&a);
}

static void path_fields(void **state)
{
	struct arena a;
	struct smtp_cmd cmd;
	arena_init(&a, 65536);
	const char *l = "MAIL FROM:<@hop.example:\"Jo.Doe\"@Example.ORG> SIZE=10 X=1";
	assert_int_equal(smtp_cmd_parse((const uint8_t *)l, strlen(l), false, &a, &cmd), 1);
	assert_string_equal(cmd.path.local, "\"Jo.Doe\"");
	assert_string_equal(cmd.path.domain, "Example.ORG");
	assert_string_equal(cmd.path.addr, "Jo.Doe@example.org");
	assert_int_equal(cmd.n_params, 2);
	assert_int_equal(cmd.params[0].kind, SMTP_PARAM_SIZE);
	assert_string_equal(cmd.params[0].key, "SIZE");
	assert_string_equal(cmd.params[0].value, "10");
	assert_int_equal(cmd.params[1].kind, SMTP_PARAM_OTHER);
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "?");
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc5321_4_1_1_1_ehlo),
	    cmocka_unit_test(rfc5321_4_5_3_1_2_domain_limit),
	    cmocka_unit_test(rfc5321_4_1_1_2_mail),
	    cmocka_unit_test(rfc5321_4_1_1_3_rcpt),
	    cmocka_unit_test(rfc5321_4_5_3_1_address_limits),
	    cmocka_unit_test(rfc5321_4_1_2_mail_params),
	    cmocka_unit_test(rfc3461_4_rcpt_params),
	    cmocka_unit_test(rfc5321_4_1_2_param_count),
	    cmocka_unit_test(rfc6531_3_3_utf8),
	    cmocka_unit_test(rfc3030_2_bdat),
	    cmocka_unit_test(rfc4954_4_auth),
	    cmocka_unit_test(rfc5321_4_1_1_other_verbs),
	    cmocka_unit_test(rfc5321_2_3_8_line_ends),
	    cmocka_unit_test(rfc2920_pipelining),
	    cmocka_unit_test(limits_h_smtp_line),
	    cmocka_unit_test(reader_init_and_reset),
	    cmocka_unit_test(line_read_raw),
	    cmocka_unit_test(rfc5321_2_4_addr_canon),
	    cmocka_unit_test(path_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
