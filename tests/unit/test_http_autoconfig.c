/* test_http_autoconfig.c: the autoconfig document writers (src/http/http_autoconfig_*.c)
 * and the service list they share with `kasten dns` (core/conf_services.c): a whole
 * Thunderbird document byte for byte, the POX answer and its errors, the Apple profile
 * (stable UUIDs per address, IMAP preferred, POP3 when IMAP is off), XML escaping of an
 * address with & < > " ', refused addresses, a buffer one byte too small (ERR_FULL)
 * and exactly big enough, and the services from a configuration (order, POP3
 * disabled, listeners off). The proto tests parse the served documents with a real XML
 * parser; this checks the writers alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/conf_services.h"
#include "core/err.h"
#include "http/http_autoconfig.h"

static void settings(struct autoconfig_settings *s, unsigned expire_days)
{
	static const struct conf_service all[CONF_SERVICES] = {
		{CONF_SERVICE_IMAP, true, "imaps", 993},
		{CONF_SERVICE_IMAP, false, "imap", 143},
		{CONF_SERVICE_POP3, true, "pop3s", 995},
		{CONF_SERVICE_POP3, false, "pop3", 110},
		{CONF_SERVICE_SUBMISSION, true, "submissions", 465},
		{CONF_SERVICE_SUBMISSION, false, "submission", 587},
	};
	s->hostname = "mail.example.org";
	for (int i = 0; i < CONF_SERVICES; i++)
		s->svc[i] = all[i];
	s->pop3_expire_days = expire_days;
}

static char storage[LIMIT_AUTOCONFIG_XML];

static const char *written(struct buf *b)
{
	assert_true(b->len < b->cap);
	b->data[b->len] = '\0';
	return (const char *)b->data;
}

static const char thunderbird[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<clientConfig version=\"1.1\">\n"
	"  <emailProvider id=\"example.org\">\n"
	"    <domain>example.org</domain>\n"
	"    <displayName>mail.example.org</displayName>\n"
	"    <displayShortName>example.org</displayShortName>\n"
	"    <incomingServer type=\"imap\">\n"
	"      <hostname>mail.example.org</hostname>\n"
	"      <port>993</port>\n"
	"      <socketType>SSL</socketType>\n"
	"      <authentication>password-cleartext</authentication>\n"
	"      <username>%EMAILADDRESS%</username>\n"
	"    </incomingServer>\n"
	"    <incomingServer type=\"pop3\">\n"
	"      <hostname>mail.example.org</hostname>\n"
	"      <port>110</port>\n"
	"      <socketType>STARTTLS</socketType>\n"
	"      <authentication>password-cleartext</authentication>\n"
	"      <username>%EMAILADDRESS%</username>\n"
	"      <pop3>\n"
	"        <leaveMessagesOnServer>true</leaveMessagesOnServer>\n"
	"        <daysToLeaveMessagesOnServer>14</daysToLeaveMessagesOnServer>\n"
	"        <downloadOnBiff>true</downloadOnBiff>\n"
	"      </pop3>\n"
	"    </incomingServer>\n"
	"    <outgoingServer type=\"smtp\">\n"
	"      <hostname>mail.example.org</hostname>\n"
	"      <port>587</port>\n"
	"      <socketType>STARTTLS</socketType>\n"
	"      <authentication>password-cleartext</authentication>\n"
	"      <username>%EMAILADDRESS%</username>\n"
	"    </outgoingServer>\n"
	"  </emailProvider>\n"
	"</clientConfig>\n";

static void test_thunderbird_exact(void **state)
{
	(void)state;
	struct autoconfig_settings s;
	settings(&s, 14);
	s.svc[1].port = s.svc[2].port = s.svc[4].port = 0; /* imap, pop3s, submissions off */
	struct buf b;
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_thunderbird(&b, &s, "user@example.org"), 0);
	assert_string_equal(written(&b), thunderbird);
	/* one byte short of the document: ERR_FULL; exactly its size: written */
	size_t need = strlen(thunderbird);
	buf_init(&b, storage, need);
	assert_int_equal(autoconfig_write_thunderbird(&b, &s, "user@example.org"), ERR_FULL);
	buf_init(&b, storage, need + 1);
	assert_int_equal(autoconfig_write_thunderbird(&b, &s, "user@example.org"), 0);
	assert_int_equal(b.len, need);
}

static void test_thunderbird_order_and_hints(void **state)
{
	(void)state;
	struct autoconfig_settings s;
	settings(&s, 0);
	struct buf b;
	buf_init(&b, storage, sizeof(storage));
	/* no address: the hostname is the domain */
	assert_int_equal(autoconfig_write_thunderbird(&b, &s, NULL), 0);
	const char *doc = written(&b);
	assert_non_null(strstr(doc, "<emailProvider id=\"mail.example.org\">"));
	const char *order[] = {"<port>993</port>", "<port>143</port>", "<port>995</port>",
			       "<port>110</port>", "<port>465</port>", "<port>587</port>"};
	const char *at = doc;
	for (size_t i = 0; i < 6; i++) {
		const char *p = strstr(at, order[i]);
		assert_non_null(p);
		at = p;
	}
	/* expire_days 0: download and delete, no day count */
	assert_non_null(strstr(doc, "<leaveMessagesOnServer>false</leaveMessagesOnServer>"));
	assert_null(strstr(doc, "daysToLeaveMessagesOnServer"));
	unsigned days;
	assert_false(autoconfig_pop3_leave(&s, &days));
	s.pop3_expire_days = 7;
	assert_true(autoconfig_pop3_leave(&s, &days));
	assert_int_equal(days, 7);
}

static void test_escaping(void **state)
{
	(void)state;
	struct autoconfig_settings s;
	settings(&s, 0);
	const char *addr = "\"a<b>&c'\"@example.org";
	const char *esc = "&quot;a&lt;b&gt;&amp;c&apos;&quot;@example.org";
	struct buf b;
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_pox(&b, &s, addr), 0);
	const char *doc = written(&b);
	char want[256];
	snprintf(want, sizeof(want), "<LoginName>%s</LoginName>", esc);
	assert_non_null(strstr(doc, want));
	assert_null(strstr(doc, "a<b"));
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, addr), 0);
	doc = written(&b);
	snprintf(want, sizeof(want), "<string>%s</string>", esc);
	assert_non_null(strstr(doc, want));
	assert_null(strstr(doc, "a<b"));
	/* not mailboxes: refused by every writer */
	static const char *const bad[] = {"", "nobody", "a@", "@x.org", "a b@x.org",
					  "a@x.org\n", "a\x01@x.org", "a@[1.2.3.4]", "a\xff@x.org"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(autoconfig_address_ok(bad[i]));
		buf_init(&b, storage, sizeof(storage));
		assert_int_equal(autoconfig_write_thunderbird(&b, &s, bad[i]), ERR_INVAL);
		assert_int_equal(autoconfig_write_pox(&b, &s, bad[i]), ERR_INVAL);
		assert_int_equal(autoconfig_write_mobileconfig(&b, &s, bad[i]), ERR_INVAL);
	}
	/* LIMIT_ADDR_MAILBOX at 0 and +1: a 64-octet local part, labels of 63, 63 and
	 * 61 (254 octets), then one more octet in the last label */
	char longest[LIMIT_ADDR_MAILBOX + 2];
	size_t o = 0;
	const size_t parts[] = {64, 63, 63, 61};
	for (size_t k = 0; k < 4; k++) {
		if (k)
			longest[o++] = k == 1 ? '@' : '.';
		memset(longest + o, 'a' + (int)k, parts[k]);
		o += parts[k];
	}
	longest[o] = '\0';
	assert_int_equal(o, LIMIT_ADDR_MAILBOX);
	assert_true(autoconfig_address_ok(longest));
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, longest), 0);
	longest[o] = 'd';
	longest[o + 1] = '\0';
	assert_false(autoconfig_address_ok(longest));
}

static void test_pox(void **state)
{
	(void)state;
	struct autoconfig_settings s;
	settings(&s, 0);
	s.svc[2].port = s.svc[3].port = 0; /* POP3 off */
	struct buf b;
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_pox(&b, &s, "u@example.org"), 0);
	const char *doc = written(&b);
	assert_non_null(strstr(doc, "<Response xmlns=\"" AUTODISCOVER_SCHEMA_2006A "\">"));
	assert_null(strstr(doc, "<Type>POP3</Type>"));
	assert_non_null(strstr(doc, "<Type>IMAP</Type>\n        <Server>mail.example.org</Server>"
				    "\n        <Port>993</Port>"));
	assert_non_null(strstr(doc, "<Port>143</Port>\n        <DomainRequired>off</DomainRequired>"
				    "\n        <LoginName>u@example.org</LoginName>\n"
				    "        <SPA>off</SPA>\n        <SSL>on</SSL>\n"
				    "        <Encryption>TLS</Encryption>"));
	assert_non_null(strstr(doc, "<Port>465</Port>"));
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_pox_error(&b, "600", "Invalid Request"), 0);
	assert_non_null(strstr(written(&b), "<ErrorCode>600</ErrorCode>"));
}

static void test_mobileconfig(void **state)
{
	(void)state;
	struct autoconfig_settings s;
	settings(&s, 0);
	static char first[LIMIT_AUTOCONFIG_XML];
	struct buf b;
	buf_init(&b, first, sizeof(first));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, "u@example.org"), 0);
	const char *doc = written(&b);
	assert_non_null(strstr(doc, "<string>EmailTypeIMAP</string>"));
	assert_non_null(strstr(doc, "<key>IncomingMailServerPortNumber</key>\n"
				    "      <integer>993</integer>"));
	assert_non_null(strstr(doc, "<key>OutgoingMailServerPortNumber</key>\n"
				    "      <integer>465</integer>"));
	assert_non_null(strstr(doc, "<string>org.example.mail.kasten-mail."));
	/* the same address: the same document (UUIDs stable); another: other UUIDs */
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, "u@example.org"), 0);
	assert_string_equal(written(&b), first);
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, "v@example.org"), 0);
	const char *uuid = strstr(first, "<key>PayloadUUID</key>");
	assert_non_null(uuid);
	assert_null(strstr(written(&b), uuid + strlen("<key>PayloadUUID</key>\n      ")));
	/* IMAP off: POP3; STARTTLS submission when submissions is off */
	s.svc[0].port = s.svc[1].port = s.svc[4].port = 0;
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, "u@example.org"), 0);
	doc = written(&b);
	assert_non_null(strstr(doc, "<string>EmailTypePOP</string>"));
	assert_non_null(strstr(doc, "<integer>995</integer>"));
	assert_non_null(strstr(doc, "<integer>587</integer>"));
	/* nothing incoming: no profile */
	s.svc[2].port = s.svc[3].port = 0;
	buf_init(&b, storage, sizeof(storage));
	assert_int_equal(autoconfig_write_mobileconfig(&b, &s, "u@example.org"), ERR_NOTFOUND);
}

static void test_conf_services(void **state)
{
	(void)state;
	struct conf c = {0}; /* conf_services reads the listeners and [pop3] enabled only */
	c.imaps = "127.0.0.1:1993";
	c.imap = "";
	c.pop3s = "[::1]:995";
	c.pop3 = "*:110";
	c.submissions = NULL;
	c.submission = "0.0.0.0:587";
	c.pop3_enabled = true;
	struct conf_service svc[CONF_SERVICES];
	conf_services(&c, svc);
	const char *names[] = {"imaps", "imap", "pop3s", "pop3", "submissions", "submission"};
	const unsigned ports[] = {1993, 0, 995, 110, 0, 587};
	for (int i = 0; i < CONF_SERVICES; i++) {
		assert_string_equal(svc[i].name, names[i]);
		assert_int_equal(svc[i].port, ports[i]);
		assert_int_equal(svc[i].implicit_tls, i % 2 == 0);
	}
	c.pop3_enabled = false;
	conf_services(&c, svc);
	assert_int_equal(svc[2].port, 0);
	assert_int_equal(svc[3].port, 0);
	assert_int_equal(svc[0].port, 1993);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thunderbird_exact),
		cmocka_unit_test(test_thunderbird_order_and_hints),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_pox),
		cmocka_unit_test(test_mobileconfig),
		cmocka_unit_test(test_conf_services),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
