/* test_bounce.c: DSNs about queued mail (src/outbound/bounce.c on deliver_dsn_write.c):
 * the structure of each kind of report byte-exact where RFC 3464/6522/6533 fix it (the
 * parts, their types, the per-message and per-recipient fields), RET=HDRS/FULL and the
 * fallback past LIMIT_BOUNCE_FULL, the routing (null sender, a DSN, NOTIFY, a local
 * account or alias, a full mailbox, a remote sender through the queue), the bounds
 * (diagnostic length, folding) and hostile text that must not become a field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "deliver/deliver.h"
#include "mime/mime.h"
#include "outbound/bounce.h"
#include "outbound/dkim.h"
#include "outbound/queue.h"
#include "store/store.h"
#include "unit_tmpdir.h"

#define HOST "mx.example.org"
#define QUEUED_AT 1796000000 /* Arrival-Date: Fri, 30 Nov 2026 ... */

static char dir[256];
static struct store_env *env;
static struct queue *queue;
static int64_t sender_id, full_id;

static const char orig_headers[] =
    "Received: from client.example.net by " HOST "; Sun, 22 Nov 2026 08:05:39 +0000\r\n"
    "From: Sender <sender@example.org>\r\n"
    "To: bob@remote.example\r\n"
    "Subject: hello\r\n"
    "Message-ID: <orig.1@example.org>\r\n";
static const char orig_body[] = "\r\nthe body line\r\n";

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	(void)snprintf(dir, sizeof(dir), "/tmp/kasten-bounce-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_env_open("sqlite", dir, true, &env), 0);
	assert_int_equal(store_account_add(env, "sender@example.org", NULL, 0, &sender_id), 0);
	assert_int_equal(store_alias_add(env, "alias@example.org", "sender@example.org"), 0);
	assert_int_equal(store_account_add(env, "full@example.org", NULL, 100, &full_id), 0);
	struct deliver_config cfg = {.data_dir = dir, .hostname = HOST};
	assert_int_equal(deliver_start(env, &cfg), 0);
	assert_int_equal(queue_open(dir, true, &queue), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	queue_close(&queue);
	deliver_stop();
	store_env_close(&env);
	unit_rmtree(dir);
	return 0;
}

static void write_file(const void *p, size_t n, char path[DELIVER_PATH_MAX])
{
	int fd = -1;
	assert_int_equal(deliver_spool_create(path, DELIVER_PATH_MAX, &fd), 0);
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		assert_true(k > 0);
		c += k;
		n -= (size_t)k;
	}
	assert_int_equal(close(fd), 0);
}

static void write_orig(char path[DELIVER_PATH_MAX])
{
	char m[1024];
	int n = snprintf(m, sizeof(m), "%s%s", orig_headers, orig_body);
	assert_true(n > 0 && (size_t)n < sizeof(m));
	write_file(m, (size_t)n, path);
}

static void read_all(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long sz = ftell(f);
	assert_true(sz >= 0);
	rewind(f);
	*out = malloc((size_t)sz + 1);
	assert_non_null(*out);
	assert_int_equal(fread(*out, 1, (size_t)sz, f), (size_t)sz);
	(*out)[sz] = '\0';
	*len = (size_t)sz;
	fclose(f);
}

/* Messages in the account's INBOX, and the newest one (malloc'd, NUL-terminated). */
static size_t inbox(int64_t id, char **newest, size_t *len)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct store *st = NULL;
	assert_int_equal(store_open(env, id, &st), 0);
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "INBOX", &a, &mb), 0);
	struct store_msg *msgs = NULL;
	size_t n = 0;
	assert_int_equal(store_msg_list(st, mb.id, 1, UINT32_MAX, &a, &msgs, &n), 0);
	if (newest && n > 0) {
		int fd = -1;
		uint64_t size = 0;
		assert_int_equal(store_msg_open(st, mb.id, msgs[n - 1].uid, &fd, &size), 0);
		char *m = malloc(size + 1);
		assert_non_null(m);
		size_t got = 0;
		while (got < size) {
			ssize_t k = read(fd, m + got, size - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		m[size] = '\0';
		close(fd);
		*newest = m;
		*len = size;
	}
	store_close(&st);
	arena_free(&a);
	return n;
}

static const char *param(const struct mime_param *p, const char *name)
{
	for (; p; p = p->next)
		if (!strcmp(p->name, name))
			return p->value.s;
	return NULL;
}

static void assert_type(const struct mime_part *p, const char *type, const char *subtype)
{
	assert_non_null(p);
	assert_string_equal(p->type, type);
	assert_string_equal(p->subtype, subtype);
}

static char *body_of(const char *m, const struct mime_part *p)
{
	char *s = strndup(m + p->body_start, (size_t)(p->end - p->body_start));
	assert_non_null(s);
	return s;
}

static void assert_body(const char *m, const struct mime_part *p, const char *want)
{
	size_t len = (size_t)(p->end - p->body_start);
	if (len != strlen(want) || memcmp(m + p->body_start, want, len) != 0)
		fail_msg("part body differs:\n--- got\n%.*s\n--- want\n%s", (int)len,
		         m + p->body_start, want);
}

static void assert_head(const char *m, const struct mime_part *p, const char *line)
{
	char *h = strndup(m + p->header_start, (size_t)(p->body_start - p->header_start));
	assert_non_null(h);
	if (!strstr(h, line))
		fail_msg("header line %s missing in:\n%s", line, h);
	free(h);
}

static void assert_crlf_only(const char *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i] == '\n')
			assert_true(i > 0 && m[i - 1] == '\r');
		else if (m[i] == '\r')
			assert_true(i + 1 < n && m[i + 1] == '\n');
}

struct report {
	char *m;
	size_t len;
	struct arena a;
	struct mime_part *root;
};

/* bounce_send to sender@example.org (a local account); the report from its INBOX. */
static void send_local(const struct bounce_msg *m, enum bounce_action action,
                       const struct bounce_rcpt *r, size_t n, struct report *out)
{
	size_t before = inbox(sender_id, NULL, NULL);
	assert_int_equal(bounce_send(queue, m, action, r, n), 1);
	assert_int_equal(inbox(sender_id, &out->m, &out->len), before + 1);
	arena_init(&out->a, 4u << 20);
	assert_int_equal(mime_parse((const uint8_t *)out->m, out->len, &out->a, &out->root), 0);
	assert_crlf_only(out->m, out->len);
	assert_type(out->root, "multipart", "report");
	assert_string_equal(param(out->root->params, "report-type"), "delivery-status");
	assert_int_equal(out->root->nchildren, 3);
}

static void report_free(struct report *r)
{
	free(r->m);
	arena_free(&r->a);
}

static struct bounce_msg base_msg(const char *path)
{
	return (struct bounce_msg){.env = env,
	                           .qid = "0123456789abcdef",
	                           .sender = "sender@example.org",
	                           .path = path,
	                           .queued_at = QUEUED_AT,
	                           .account_id = 0};
}

static const struct bounce_rcpt remote_550 = {
    .address = "bob@remote.example",
    .orcpt = "rfc822;Bob@Remote.Example",
    .status = "5.1.1",
    .remote_mta = "mx1.remote.example",
    .diagnostic = "550 5.1.1 <bob@remote.example>: Recipient address rejected",
    .last_attempt = QUEUED_AT + 60,
};

/* ---- pure: which NOTIFY asks for which action (RFC 3461 4.1, 6.2) ---- */

static void notify_table(void **state)
{
	(void)state;
	const unsigned S = QUEUE_NOTIFY_SUCCESS, F = QUEUE_NOTIFY_FAILURE, D = QUEUE_NOTIFY_DELAY;
	assert_true(bounce_wanted(QUEUE_NOTIFY_DEFAULT, BOUNCE_FAILED));
	assert_true(bounce_wanted(QUEUE_NOTIFY_DEFAULT, BOUNCE_DELAYED));
	assert_false(bounce_wanted(QUEUE_NOTIFY_DEFAULT, BOUNCE_DELIVERED));
	assert_false(bounce_wanted(QUEUE_NOTIFY_DEFAULT, BOUNCE_RELAYED));
	for (int a = BOUNCE_FAILED; a <= BOUNCE_RELAYED; a++) {
		assert_false(bounce_wanted(QUEUE_NOTIFY_NEVER, (enum bounce_action)a));
		assert_false(bounce_wanted(QUEUE_NOTIFY_NEVER | S | F | D, (enum bounce_action)a));
	}
	assert_true(bounce_wanted(F, BOUNCE_FAILED));
	assert_false(bounce_wanted(F, BOUNCE_DELAYED));
	assert_false(bounce_wanted(F, BOUNCE_DELIVERED));
	assert_true(bounce_wanted(D, BOUNCE_DELAYED));
	assert_false(bounce_wanted(D, BOUNCE_FAILED));
	assert_true(bounce_wanted(S, BOUNCE_DELIVERED));
	assert_true(bounce_wanted(S, BOUNCE_RELAYED));
	assert_false(bounce_wanted(S, BOUNCE_FAILED));
	assert_false(bounce_wanted(S, BOUNCE_DELAYED));
	assert_true(bounce_wanted(S | F | D, BOUNCE_DELAYED));
}

/* ---- the reports ---- */

static void failed_remote(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	m.envid = "QQ314159";
	m.dkim_header = "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=x;\r\n\tb=AAAA\r\n";
	struct bounce_rcpt r[2] = {remote_550, remote_550};
	r[1].address = "carol@remote.example";
	r[1].orcpt = NULL;
	r[1].status = "5.2.2";
	r[1].diagnostic = "552 5.2.2 Mailbox full";
	r[1].last_attempt = 0;
	struct report rep;
	send_local(&m, BOUNCE_FAILED, r, 2, &rep);
	const char *msg = rep.m;
	/* RFC 3464 2: envelope sender <>, From: the postmaster; RFC 3834 5 */
	assert_true(strncmp(msg, "Return-Path: <>\r\n", 17) == 0);
	assert_head(msg, rep.root, "\r\nFrom: MAILER-DAEMON <postmaster@" HOST ">\r\n");
	assert_head(msg, rep.root, "\r\nTo: <sender@example.org>\r\n");
	assert_head(msg, rep.root, "\r\nSubject: Undelivered Mail Returned to Sender\r\n");
	assert_head(msg, rep.root,
	            "\r\nIn-Reply-To: <orig.1@example.org>\r\n"
	            "References: <orig.1@example.org>\r\n");
	assert_head(msg, rep.root, "\r\nAuto-Submitted: auto-replied\r\n");
	assert_head(msg, rep.root, "\r\nMessage-ID: <");

	const struct mime_part *text = rep.root->children;
	assert_type(text, "text", "plain");
	char *t = body_of(msg, text);
	assert_non_null(strstr(t, "Queue id of your message: 0123456789abcdef\r\n"));
	assert_non_null(strstr(t, "<bob@remote.example>: host mx1.remote.example said\r\n"
	                          "    (550 5.1.1 <bob@remote.example>: Recipient address "
	                          "rejected)\r\n"));
	assert_non_null(strstr(t, "It is attached below (headers only)."));
	free(t);

	const struct mime_part *ds = text->next;
	assert_type(ds, "message", "delivery-status");
	char arrival[64], last[64], want[2048];
	str_rfc5322_date(arrival, QUEUED_AT);
	str_rfc5322_date(last, QUEUED_AT + 60);
	int n = snprintf(want, sizeof(want),
	                 "Original-Envelope-Id: QQ314159\r\n"
	                 "Reporting-MTA: dns; " HOST "\r\n"
	                 "Arrival-Date: %s\r\n"
	                 "\r\n"
	                 "Original-Recipient: rfc822;Bob@Remote.Example\r\n"
	                 "Final-Recipient: rfc822; bob@remote.example\r\n"
	                 "Action: failed\r\n"
	                 "Status: 5.1.1\r\n"
	                 "Remote-MTA: dns; mx1.remote.example\r\n"
	                 "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: Recipient "
	                 "address\r\n"
	                 " rejected\r\n"
	                 "Last-Attempt-Date: %s\r\n"
	                 "\r\n"
	                 "Final-Recipient: rfc822; carol@remote.example\r\n"
	                 "Action: failed\r\n"
	                 "Status: 5.2.2\r\n"
	                 "Remote-MTA: dns; mx1.remote.example\r\n"
	                 "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n",
	                 arrival, last);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_body(msg, ds, want);

	const struct mime_part *h = ds->next;
	assert_type(h, "text", "rfc822-headers");
	assert_body(msg, h, orig_headers); /* the queue row's DKIM lines are not in it */
	assert_null(strstr(msg, "DKIM-Signature"));
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

static void delayed_report(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	m.give_up = 5 * 86400;
	m.ret = QUEUE_RET_FULL; /* RFC 3461 4.3: about failure reports only */
	struct bounce_rcpt r = {.address = "bob@remote.example",
	                        .status = "4.4.1",
	                        .diagnostic = "connect to mx1.remote.example[192.0.2.1]:25: "
	                                      "Connection refused",
	                        .last_attempt = QUEUED_AT + 4 * 3600};
	struct report rep;
	send_local(&m, BOUNCE_DELAYED, &r, 1, &rep);
	assert_head(rep.m, rep.root, "\r\nSubject: Delayed Mail (still being retried)\r\n");
	char until[64], last[64], arrival[64], want[2048];
	str_rfc5322_date(until, QUEUED_AT + 5 * 86400);
	str_rfc5322_date(last, QUEUED_AT + 4 * 3600);
	str_rfc5322_date(arrival, QUEUED_AT);
	char *t = body_of(rep.m, rep.root->children);
	char line[128];
	(void)snprintf(line, sizeof(line), "keeps trying until\r\n%s;", until);
	assert_non_null(strstr(t, line));
	free(t);
	/* not an SMTP reply: our own diagnostic type (RFC 3464 2.3.6) */
	int n =
	    snprintf(want, sizeof(want),
	             "Reporting-MTA: dns; " HOST "\r\n"
	             "Arrival-Date: %s\r\n"
	             "\r\n"
	             "Final-Recipient: rfc822; bob@remote.example\r\n"
	             "Action: delayed\r\n"
	             "Status: 4.4.1\r\n"
	             "Diagnostic-Code: x-kasten; connect to mx1.remote.example[192.0.2.1]:25:\r\n"
	             " Connection refused\r\n"
	             "Last-Attempt-Date: %s\r\n"
	             "Will-Retry-Until: %s\r\n",
	             arrival, last, until);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_body(rep.m, rep.root->children->next, want);
	assert_type(rep.root->children->next->next, "text", "rfc822-headers");
	assert_body(rep.m, rep.root->children->next->next, orig_headers);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

static void success_reports(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	struct bounce_rcpt r = {.address = "bob@remote.example",
	                        .notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE,
	                        .status = "2.0.0",
	                        .remote_mta = "mx1.remote.example",
	                        .diagnostic = "250 2.0.0 Ok: queued as 4711"};
	struct report rep;
	send_local(&m, BOUNCE_DELIVERED, &r, 1, &rep);
	assert_head(rep.m, rep.root, "\r\nSubject: Successful Mail Delivery Report\r\n");
	char *s = body_of(rep.m, rep.root->children->next);
	assert_non_null(strstr(s, "\r\nFinal-Recipient: rfc822; bob@remote.example\r\n"
	                          "Action: delivered\r\nStatus: 2.0.0\r\n"
	                          "Remote-MTA: dns; mx1.remote.example\r\n"
	                          "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 4711\r\n"));
	free(s);
	report_free(&rep);

	/* RFC 3461 6.2: passed on to a server without DSN; no status given: 2.0.0 */
	r.status = NULL;
	r.diagnostic = NULL;
	send_local(&m, BOUNCE_RELAYED, &r, 1, &rep);
	assert_head(rep.m, rep.root, "\r\nSubject: Relayed Mail Delivery Report\r\n");
	s = body_of(rep.m, rep.root->children->next);
	assert_non_null(strstr(s, "\r\nFinal-Recipient: rfc822; bob@remote.example\r\n"
	                          "Action: relayed\r\nStatus: 2.0.0\r\n"
	                          "Remote-MTA: dns; mx1.remote.example\r\n"));
	assert_null(strstr(s, "Diagnostic-Code"));
	free(s);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

/* RFC 3461 4.3 RET=FULL: the whole original as message/rfc822, byte for byte. */
static void ret_full(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	m.ret = QUEUE_RET_FULL;
	struct report rep;
	send_local(&m, BOUNCE_FAILED, &remote_550, 1, &rep);
	const struct mime_part *o = rep.root->children->next->next;
	assert_type(o, "message", "rfc822");
	char want[1024];
	(void)snprintf(want, sizeof(want), "%s%s", orig_headers, orig_body);
	assert_body(rep.m, o, want);
	char *t = body_of(rep.m, rep.root->children);
	assert_non_null(strstr(t, "(the whole message)"));
	free(t);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

static void ret_full_falls_back(void **state)
{
	(void)state;
	/* one byte past LIMIT_BOUNCE_FULL */
	size_t big = LIMIT_BOUNCE_FULL + 1, hl = strlen(orig_headers);
	char *b = malloc(big);
	assert_non_null(b);
	memcpy(b, orig_headers, hl);
	memcpy(b + hl, "\r\n", 2);
	for (size_t i = hl + 2; i < big; i += 80) {
		size_t k = big - i < 80 ? big - i : 80;
		memset(b + i, 'x', k);
		if (k == 80)
			memcpy(b + i + 78, "\r\n", 2);
	}
	char orig[DELIVER_PATH_MAX];
	write_file(b, big, orig);
	struct bounce_msg m = base_msg(orig);
	m.ret = QUEUE_RET_FULL;
	struct report rep;
	send_local(&m, BOUNCE_FAILED, &remote_550, 1, &rep);
	const struct mime_part *o = rep.root->children->next->next;
	assert_type(o, "text", "rfc822-headers");
	assert_body(rep.m, o, orig_headers);
	char *t = body_of(rep.m, rep.root->children);
	assert_non_null(strstr(t, "too big to return whole"));
	free(t);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);

	/* exactly LIMIT_BOUNCE_FULL: returned whole */
	write_file(b, big - 1, orig);
	send_local(&m, BOUNCE_FAILED, &remote_550, 1, &rep);
	o = rep.root->children->next->next;
	assert_type(o, "message", "rfc822");
	size_t got = (size_t)(o->end - o->body_start);
	assert_int_equal(got, big - 1 + 2); /* ends without CRLF: one is added */
	assert_memory_equal(rep.m + o->body_start, b, big - 1);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
	free(b);

	/* a 999-octet line cannot be sent on unchanged: headers only, said why */
	char line[1200];
	int n = snprintf(line, sizeof(line), "%s\r\n%0999d\r\n", orig_headers, 7);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	write_file(line, (size_t)n, orig);
	send_local(&m, BOUNCE_FAILED, &remote_550, 1, &rep);
	assert_type(rep.root->children->next->next, "text", "rfc822-headers");
	t = body_of(rep.m, rep.root->children);
	assert_non_null(strstr(t, "cannot be returned unchanged") || strstr(t, "not plain text"));
	free(t);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
	/* 998 octets: whole */
	n = snprintf(line, sizeof(line), "%s\r\n%0998d\r\n", orig_headers, 7);
	write_file(line, (size_t)n, orig);
	send_local(&m, BOUNCE_FAILED, &remote_550, 1, &rep);
	assert_type(rep.root->children->next->next, "message", "rfc822");
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

/* RFC 6533: an SMTPUTF8 original gets the global types. */
static void smtputf8_report(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	const char h8[] =
	    "From: J\xc3\xb6rg <j\xc3\xb6rg@example.org>\r\nSubject: gr\xc3\xbc\xc3\x9f"
	    "e\r\nMessage-ID: <u8@example.org>\r\n";
	char m8[512];
	int n = snprintf(m8, sizeof(m8), "%s\r\nbody\r\n", h8);
	write_file(m8, (size_t)n, orig);
	struct bounce_msg m = base_msg(orig);
	m.smtputf8 = true;
	struct bounce_rcpt r = remote_550;
	r.address = "b\xc3\xb6@remote.example";
	r.orcpt = "utf-8;b\xc3\xb6@remote.example";
	r.diagnostic = "550 5.1.1 unknown user b\xc3\xb6";
	struct report rep;
	send_local(&m, BOUNCE_FAILED, &r, 1, &rep);
	const struct mime_part *ds = rep.root->children->next;
	assert_type(ds, "message", "global-delivery-status");
	char *s = body_of(rep.m, ds);
	assert_non_null(strstr(s, "\r\nOriginal-Recipient: utf-8;b\xc3\xb6@remote.example\r\n"
	                          "Final-Recipient: utf-8; b\xc3\xb6@remote.example\r\n"));
	assert_non_null(strstr(s, "Diagnostic-Code: smtp; 550 5.1.1 unknown user b\xc3\xb6\r\n"));
	free(s);
	assert_type(ds->next, "message", "global-headers");
	assert_body(rep.m, ds->next, h8);
	report_free(&rep);

	m.ret = QUEUE_RET_FULL;
	send_local(&m, BOUNCE_FAILED, &r, 1, &rep);
	assert_type(rep.root->children->next->next, "message", "global");
	assert_body(rep.m, rep.root->children->next->next, m8);
	report_free(&rep);

	/* not SMTPUTF8: 8-bit diagnostic octets become '?', ASCII types stay */
	m.smtputf8 = false;
	m.ret = QUEUE_RET_HDRS;
	r = remote_550;
	r.diagnostic = "550 5.1.1 unknown user b\xc3\xb6";
	send_local(&m, BOUNCE_FAILED, &r, 1, &rep);
	assert_type(rep.root->children->next, "message", "delivery-status");
	s = body_of(rep.m, rep.root->children->next);
	assert_non_null(strstr(s, "Diagnostic-Code: smtp; 550 5.1.1 unknown user b?\r\n"));
	free(s);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

/* ---- hostile text and bounds ---- */

static void field_injection(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	m.envid = "id\r\nX-Injected: 1";
	struct bounce_rcpt r = remote_550;
	r.diagnostic = "550 5.1.1 no\r\nStatus: 2.0.0\r\nX-Injected: 2\n\r\n--x\r\n";
	r.remote_mta = "mx.example\r\nX-Injected: 3";
	r.orcpt = "rfc822;a@b\r\nX-Injected: 4";
	r.human = "bad\r\nX-Injected: 5";
	r.status = "2.0.0\r\nX-Injected: 6";
	struct report rep;
	send_local(&m, BOUNCE_FAILED, &r, 1, &rep);
	for (const char *p = rep.m; (p = strstr(p, "X-Injected")) != NULL; p++)
		assert_true(p[-1] != '\n'); /* never at the start of a line */
	char *s = body_of(rep.m, rep.root->children->next);
	assert_non_null(strstr(s, "\r\nStatus: 5.0.0\r\n")); /* bad status: by action */
	assert_null(strstr(s, "Original-Envelope-Id"));
	assert_null(strstr(s, "Remote-MTA"));
	assert_null(strstr(s, "Original-Recipient"));
	assert_non_null(strstr(s, "Diagnostic-Code: smtp; 550 5.1.1 no Status: 2.0.0 X-Injected: "
	                          "2 --x\r\n"));
	free(s);
	report_free(&rep);

	/* an address with a line break makes no report at all */
	r = remote_550;
	r.address = "a@b\r\nX-Injected: 7";
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &r, 1), ERR_INVAL);
	m.sender = "sender@example.org\r\nBcc: x@y";
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), ERR_INVAL);
	assert_int_equal(unlink(orig), 0);
}

/* Diagnostic-Code folded at LIMIT_BOUNCE_LINE; LIMIT_BOUNCE_DIAG bytes kept. */
static void diagnostic_bounds(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	char diag[3000];
	size_t len = 0;
	len += (size_t)snprintf(diag, sizeof(diag), "550 5.7.1");
	while (len < 2000)
		len += (size_t)snprintf(diag + len, sizeof(diag) - len, " word%zu", len);
	struct bounce_rcpt r = remote_550;
	r.diagnostic = diag;
	struct report rep;
	send_local(&m, BOUNCE_FAILED, &r, 1, &rep);
	char *s = body_of(rep.m, rep.root->children->next);
	char *f = strstr(s, "Diagnostic-Code: smtp; ");
	assert_non_null(f);
	char *end = strstr(f, "\r\nLast-Attempt-Date");
	assert_non_null(end);
	/* every physical line within 78 octets, unfolding gives the first 900 bytes cut at
	 * a word's end at most (a word never split) */
	char unfolded[2048];
	size_t u = 0, col = 0;
	for (char *p = f; p < end; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			assert_true(col <= LIMIT_BOUNCE_LINE);
			assert_true(p[2] == ' ');
			col = 0;
			p++;
			continue;
		}
		col++;
		unfolded[u++] = *p;
	}
	assert_true(col <= LIMIT_BOUNCE_LINE);
	unfolded[u] = '\0';
	const char *text = unfolded + strlen("Diagnostic-Code: smtp; ");
	assert_true(strlen(text) <= LIMIT_BOUNCE_DIAG);
	assert_true(strlen(text) > LIMIT_BOUNCE_DIAG - 20);
	assert_memory_equal(text, diag, strlen(text) - 8); /* a prefix of what was given */
	free(s);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

/* ---- who gets a report ---- */

static size_t queued_reports(char qid_out[QUEUE_ID_MAX]);

static void routing_none(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	size_t before = inbox(sender_id, NULL, NULL), qbefore = queued_reports(NULL);
	struct bounce_msg m = base_msg(orig);
	/* RFC 5321 4.5.5: never a report to the null reverse path */
	m.sender = "";
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), 0);
	m.sender = "<>";
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), 0);
	/* a report is never reported on */
	m = base_msg(orig);
	m.kind = QUEUE_KIND_DSN;
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), 0);
	/* NOTIFY=NEVER; SUCCESS alone asks for no failure report */
	m = base_msg(orig);
	struct bounce_rcpt r = remote_550;
	r.notify = QUEUE_NOTIFY_NEVER;
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &r, 1), 0);
	r.notify = QUEUE_NOTIFY_SUCCESS;
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &r, 1), 0);
	/* default NOTIFY: no success report */
	r.notify = QUEUE_NOTIFY_DEFAULT;
	assert_int_equal(bounce_send(queue, &m, BOUNCE_DELIVERED, &r, 1), 0);
	/* a local domain's address nobody has: nobody to tell */
	m.sender = "ghost@example.org";
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), 0);
	assert_int_equal(inbox(sender_id, NULL, NULL), before);
	assert_int_equal(queued_reports(NULL), qbefore);
	assert_int_equal(unlink(orig), 0);
}

static void routing_mixed_notify(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	struct bounce_rcpt r[3] = {remote_550, remote_550, remote_550};
	r[0].address = "never@remote.example";
	r[0].notify = QUEUE_NOTIFY_NEVER;
	r[1].address = "dflt@remote.example";
	r[2].address = "delay@remote.example";
	r[2].notify = QUEUE_NOTIFY_DELAY;
	struct report rep;
	send_local(&m, BOUNCE_FAILED, r, 3, &rep);
	char *s = body_of(rep.m, rep.root->children->next);
	assert_null(strstr(s, "never@"));
	assert_non_null(strstr(s, "Final-Recipient: rfc822; dflt@remote.example\r\n"));
	assert_null(strstr(s, "delay@"));
	free(s);
	report_free(&rep);
	assert_int_equal(unlink(orig), 0);
}

static void routing_alias_and_full(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	m.sender = "Alias@Example.org"; /* an alias, any case: its account's INBOX */
	struct report rep;
	send_local(&m, BOUNCE_FAILED, &remote_550, 1, &rep);
	assert_head(rep.m, rep.root, "\r\nTo: <Alias@Example.org>\r\n");
	report_free(&rep);
	/* a full mailbox drops the report: 0, nothing stored, nothing queued */
	size_t qbefore = queued_reports(NULL);
	m.sender = "full@example.org";
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), 0);
	assert_int_equal(inbox(full_id, NULL, NULL), 0);
	assert_int_equal(queued_reports(NULL), qbefore);
	assert_int_equal(unlink(orig), 0);
}

struct find_dsn {
	size_t n;
	char qid[QUEUE_ID_MAX];
};

static int find_dsn_cb(void *ctx, const struct queue_entry *e)
{
	struct find_dsn *f = ctx;
	if (e->sender[0] == '\0') {
		f->n++;
		memcpy(f->qid, e->qid, QUEUE_ID_MAX);
	}
	return 0;
}

/* Queued messages with the null sender; qid_out gets the last one's id. */
static size_t queued_reports(char qid_out[QUEUE_ID_MAX])
{
	struct find_dsn f = {0};
	assert_int_equal(queue_list(queue, time(NULL), find_dsn_cb, &f), 0);
	if (qid_out)
		memcpy(qid_out, f.qid, QUEUE_ID_MAX);
	return f.n;
}

/* The one key record the verifier may ask for: the report's signing key. */
static char key_name[128], key_rec[LIMIT_DKIM_RECORD];

static int key_lookup(void *ctx, const char *name, char *out, size_t cap, size_t *len_out)
{
	(void)ctx;
	size_t n = strlen(key_rec);
	if (strcmp(name, key_name) != 0)
		return ERR_NOTFOUND;
	if (n >= cap)
		return ERR_TOO_BIG;
	memcpy(out, key_rec, n + 1);
	*len_out = n;
	return 0;
}

/* A remote sender: the report is queued with the null sender, kind DSN, NOTIFY=NEVER. */
static void routing_remote(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct bounce_msg m = base_msg(orig);
	m.sender = "alice@far.example";
	/* RFC 6376: signed for the postmaster's domain (postmaster@HOST here) */
	assert_int_equal(dkim_key_generate(dir, HOST, "s1", DKIM_ALG_ED25519_SHA256), 0);
	struct dkim_key *keys = NULL;
	size_t nkeys = 0;
	assert_int_equal(dkim_keys_load(dir, HOST, &keys, &nkeys, NULL, 0), 0);
	assert_int_equal(nkeys, 1);
	assert_int_equal(dkim_key_record(&keys[0], key_rec, sizeof(key_rec)), 0);
	dkim_keys_free(&keys, nkeys);
	(void)snprintf(key_name, sizeof(key_name), "s1._domainkey.%s", HOST);
	struct dkim_keyring *kr = NULL;
	assert_int_equal(dkim_keyring_new(dir, &kr), 0);
	bounce_set_dkim(kr);
	char spool[512];
	(void)snprintf(spool, sizeof(spool), "%s/spool", dir);
	size_t before = queued_reports(NULL);
	long spool_before = unit_count_dir(spool);
	assert_int_equal(bounce_send(queue, &m, BOUNCE_FAILED, &remote_550, 1), 1);
	char qid[QUEUE_ID_MAX];
	assert_int_equal(queued_reports(qid), before + 1);
	struct arena a;
	arena_init(&a, 1u << 20);
	struct queue_show *sh = NULL;
	assert_int_equal(queue_show(queue, qid, &a, &sh), 0);
	assert_string_equal(sh->msg.sender, "");
	assert_int_equal(sh->msg.kind, QUEUE_KIND_DSN);
	assert_int_equal(sh->n_rcpts, 1);
	assert_string_equal(sh->rcpts[0].address, "alice@far.example");
	assert_int_equal(sh->rcpts[0].notify, QUEUE_NOTIFY_NEVER);
	char *msg = NULL;
	size_t len = 0;
	read_all(sh->msg.path, &msg, &len);
	assert_int_equal(sh->msg.size, len);
	assert_non_null(sh->msg.dkim_header);
	assert_true(strncmp(sh->msg.dkim_header, "DKIM-Signature:", 15) == 0);
	struct dkim_verifier *v = NULL;
	assert_int_equal(dkim_verifier_new(time(NULL), &v), 0);
	assert_int_equal(dkim_verifier_feed(v, (const uint8_t *)sh->msg.dkim_header,
	                                    strlen(sh->msg.dkim_header)),
	                 0);
	assert_int_equal(dkim_verifier_feed(v, (const uint8_t *)msg, len), 0);
	struct dkim_verify_result res[LIMIT_DKIM_SIGS];
	size_t nres = 0;
	assert_int_equal(dkim_verifier_finish(v, key_lookup, NULL, res, LIMIT_DKIM_SIGS, &nres), 0);
	dkim_verifier_free(&v);
	assert_int_equal(nres, 1);
	assert_int_equal(res[0].result, DKIM_RESULT_PASS);
	assert_string_equal(res[0].domain, HOST);
	/* RFC 5321 4.4: no Return-Path in a message that is still in transit */
	assert_true(strncmp(msg, "Date: ", 6) == 0);
	assert_null(strstr(msg, "Return-Path"));
	assert_non_null(strstr(msg, "\r\nTo: <alice@far.example>\r\n"));
	assert_non_null(strstr(msg, "\r\nFinal-Recipient: rfc822; bob@remote.example\r\n"));
	free(msg);
	/* the report's spool file is gone: the queue holds its own link */
	assert_int_equal(unit_count_dir(spool), spool_before);
	bounce_set_dkim(NULL);
	dkim_keyring_free(&kr);
	arena_free(&a);
	assert_int_equal(unlink(orig), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(notify_table),
	    cmocka_unit_test(failed_remote),
	    cmocka_unit_test(delayed_report),
	    cmocka_unit_test(success_reports),
	    cmocka_unit_test(ret_full),
	    cmocka_unit_test(ret_full_falls_back),
	    cmocka_unit_test(smtputf8_report),
	    cmocka_unit_test(field_injection),
	    cmocka_unit_test(diagnostic_bounds),
	    cmocka_unit_test(routing_none),
	    cmocka_unit_test(routing_mixed_notify),
	    cmocka_unit_test(routing_alias_and_full),
	    cmocka_unit_test(routing_remote),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
