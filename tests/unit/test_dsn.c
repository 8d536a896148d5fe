/* test_dsn.c: delivery status notifications (RFC 3464 / RFC 6522) end to end: built into
 * the sender's INBOX, parsed back with mime_parse, checked part by part and byte-exact;
 * plus the loop guards (null sender, a DSN about a DSN, a full sender mailbox at the
 * check and at the commit), the 64 KiB header bound, UTF-8 addresses, bad input, and a
 * DSN made from a done callback on the committer thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "deliver/deliver.h"
#include "mime/mime.h"
#include "store/store.h"
#include "unit_tmpdir.h"

#define HOST "mx.example.org"

static char dir[256];
static struct store_env *env;
static int64_t sender_id, full_id, ok_id;

static const char orig_headers[] =
	"Received: from client.example.net by " HOST "; Sun, 22 Nov 2026 08:05:39 +0000\r\n"
	"From: Sender <sender@example.org>\r\n"
	"To: full@example.org, nobody@example.org,\r\n"
	"\tok@example.org\r\n"
	"Subject: hello\r\n"
	"Message-ID: <orig.1@example.org>\r\n";
static const char orig_body[] = "\r\nthe body, which is not attached\r\n";

static void start(void)
{
	struct deliver_config cfg = {.data_dir = dir, .hostname = HOST, .warn_percent = 0};
	assert_int_equal(deliver_start(env, &cfg), 0);
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	(void)snprintf(dir, sizeof(dir), "/tmp/kasten-dsn-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_env_open("sqlite", dir, true, &env), 0);
	assert_int_equal(store_account_add(env, "sender@example.org", NULL, 0, &sender_id), 0);
	assert_int_equal(store_account_add(env, "full@example.org", NULL, 1000, &full_id), 0);
	assert_int_equal(store_account_add(env, "ok@example.org", NULL, 0, &ok_id), 0);
	start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	deliver_stop();
	store_env_close(&env);
	unit_rmtree(dir);
	return 0;
}

static void write_spool(const void *p, size_t n, char path[DELIVER_PATH_MAX])
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
	write_spool(m, (size_t)n, path);
}

/* The newest message of the account's INBOX (malloc'd, NUL-terminated), and the count. */
static char *newest(int64_t id, size_t *count, uint64_t *size_out)
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
	*count = n;
	char *m = NULL;
	if (n > 0) {
		int fd = -1;
		uint64_t size = 0;
		assert_int_equal(store_msg_open(st, mb.id, msgs[n - 1].uid, &fd, &size), 0);
		m = malloc(size + 1);
		assert_non_null(m);
		size_t got = 0;
		while (got < size) {
			ssize_t k = read(fd, m + got, size - got);
			assert_true(k > 0);
			got += (size_t)k;
		}
		m[size] = '\0';
		close(fd);
		*size_out = size;
	}
	store_close(&st);
	arena_free(&a);
	return m;
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

static void assert_body(const char *m, const struct mime_part *p, const char *want)
{
	size_t len = (size_t)(p->end - p->body_start);
	if (len != strlen(want) || memcmp(m + p->body_start, want, len) != 0)
		fail_msg("part body differs:\n--- got\n%.*s\n--- want\n%s", (int)len,
			 m + p->body_start, want);
}

static void assert_header(const char *m, const struct mime_part *p, const char *line)
{
	size_t len = (size_t)(p->body_start - p->header_start);
	char *h = strndup(m + p->header_start, len);
	assert_non_null(h);
	if (!strstr(h, line))
		fail_msg("header line %s missing in:\n%s", line, h);
	free(h);
}

static void dsn_structure(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct stat st;
	assert_int_equal(stat(orig, &st), 0);
	struct deliver_rcpt failed[3] = {
		{.account_id = full_id, .address = "full@example.org", .result = ERR_QUOTA},
		{.account_id = 0, .address = "nobody@example.org", .result = ERR_NOTFOUND},
		{.account_id = ok_id, .address = "ok@example.org", .result = 0}, /* skipped */
	};
	assert_int_equal(deliver_dsn(env, sender_id, "<sender@example.org>", orig, failed, 3), 0);
	assert_int_equal(access(orig, R_OK), 0); /* the original stays the caller's */

	size_t count = 0;
	uint64_t size = 0;
	char *m = newest(sender_id, &count, &size);
	assert_int_equal(count, 1);
	struct arena a;
	arena_init(&a, 4u << 20);
	struct mime_part *root = NULL;
	assert_int_equal(mime_parse((const uint8_t *)m, size, &a, &root), 0);
	assert_type(root, "multipart", "report");
	assert_non_null(param(root->params, "report-type"));
	assert_string_equal(param(root->params, "report-type"), "delivery-status");
	assert_int_equal(root->nchildren, 3);
	for (const char *h = m; *h; h++) /* CRLF only */
		if (*h == '\n')
			assert_true(h > m && h[-1] == '\r');
	/* RFC 3464 2: envelope sender <>; the From: is the postmaster, who reads replies
	 * (no config loaded here: postmaster@ the hostname) */
	assert_header(m, root, "\r\nFrom: MAILER-DAEMON <postmaster@" HOST ">\r\n");
	assert_header(m, root, "\r\nTo: <sender@example.org>\r\n");
	assert_header(m, root, "\r\nSubject: Undelivered Mail Returned to Sender\r\n");
	assert_header(m, root, "\r\nAuto-Submitted: auto-replied\r\n");
	assert_header(m, root, "\r\nMIME-Version: 1.0\r\n");
	assert_header(m, root, "\r\nMessage-ID: <");
	assert_header(m, root, "\r\nDate: ");
	assert_true(strncmp(m, "Return-Path: <>\r\n", 17) == 0);

	const struct mime_part *text = root->children;
	assert_type(text, "text", "plain");
	char *t = strndup(m + text->body_start, (size_t)(text->end - text->body_start));
	assert_non_null(strstr(t, "<full@example.org>: the mailbox is full"));
	assert_non_null(strstr(t, "(552 5.2.2 Mailbox full)"));
	assert_non_null(strstr(t, "<nobody@example.org>: there is no such user"));
	assert_null(strstr(t, "ok@example.org"));
	free(t);

	const struct mime_part *ds = text->next;
	assert_type(ds, "message", "delivery-status");
	char arrival[64], want[2048];
	str_rfc5322_date(arrival, st.st_mtime);
	int n = snprintf(want, sizeof(want),
			 "Reporting-MTA: dns; " HOST "\r\n"
			 "Arrival-Date: %s\r\n"
			 "\r\n"
			 "Final-Recipient: rfc822; full@example.org\r\n"
			 "Action: failed\r\n"
			 "Status: 5.2.2\r\n"
			 "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\r\n"
			 "\r\n"
			 "Final-Recipient: rfc822; nobody@example.org\r\n"
			 "Action: failed\r\n"
			 "Status: 5.1.1\r\n"
			 "Diagnostic-Code: smtp; 550 5.1.1 Mailbox unavailable: no such user\r\n",
			 arrival);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_body(m, ds, want);

	const struct mime_part *hdrs = ds->next;
	assert_type(hdrs, "text", "rfc822-headers");
	assert_body(m, hdrs, orig_headers);
	assert_null(hdrs->next);

	/* a DSN is never sent about a DSN */
	char again[DELIVER_PATH_MAX];
	write_spool(m, size, again);
	assert_int_equal(deliver_dsn(env, sender_id, "sender@example.org", again, failed, 2), 0);
	free(newest(sender_id, &count, &size));
	assert_int_equal(count, 1);
	assert_int_equal(unlink(again), 0);
	assert_int_equal(unlink(orig), 0);
	free(m);
	arena_free(&a);
}

static void dsn_guards(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct deliver_rcpt failed = {.account_id = full_id, .address = "full@example.org",
				      .result = ERR_QUOTA};
	size_t count = 0, before = 0;
	uint64_t size = 0;
	free(newest(sender_id, &before, &size));

	/* the null reverse path gets nothing; nothing failed: nothing to say */
	assert_int_equal(deliver_dsn(env, sender_id, "", orig, &failed, 1), 0);
	assert_int_equal(deliver_dsn(env, sender_id, "<>", orig, &failed, 1), 0);
	assert_int_equal(deliver_dsn(env, sender_id, NULL, orig, &failed, 1), 0);
	struct deliver_rcpt fine = {.account_id = ok_id, .address = "ok@example.org"};
	assert_int_equal(deliver_dsn(env, sender_id, "sender@example.org", orig, &fine, 1), 0);
	free(newest(sender_id, &count, &size));
	assert_int_equal(count, before);

	/* header injection through an address */
	assert_int_equal(deliver_dsn(env, sender_id, "a@b\r\nBcc: x@y", orig, &failed, 1),
			 ERR_INVAL);
	struct deliver_rcpt evil = {.account_id = 1, .address = "x@y\r\nStatus: 2.0.0",
				    .result = ERR_QUOTA};
	assert_int_equal(deliver_dsn(env, sender_id, "sender@example.org", orig, &evil, 1),
			 ERR_INVAL);
	assert_int_equal(deliver_dsn(env, sender_id, "sender@example.org", "/nonexistent/x",
				     &failed, 1),
			 ERR_IO);

	/* the sender's own mailbox is full: at the check ... */
	int64_t s2 = 0;
	assert_int_equal(store_account_add(env, "s2@example.org", NULL, 1000, &s2), 0);
	char fill[DELIVER_PATH_MAX];
	char m[1000];
	memset(m, 'z', sizeof(m));
	memcpy(m, "Subject: fill\r\n\r\n", 17);
	write_spool(m, sizeof(m), fill);
	struct deliver_rcpt r = {.account_id = s2, .address = "s2@example.org"};
	struct deliver_job job = {.spool_path = fill, .rcpts = &r, .n_rcpts = 1};
	assert_int_equal(deliver_submit_wait(&job), 0);
	assert_int_equal(deliver_dsn(env, s2, "s2@example.org", orig, &failed, 1), ERR_QUOTA);
	/* ... and at the commit (the check passes, the notice itself does not fit) */
	int64_t s3 = 0;
	assert_int_equal(store_account_add(env, "s3@example.org", NULL, 1100, &s3), 0);
	write_spool(m, sizeof(m), fill);
	r.account_id = s3;
	assert_int_equal(deliver_submit_wait(&job), 0);
	assert_int_equal(deliver_dsn(env, s3, "s3@example.org", orig, &failed, 1), ERR_QUOTA);
	free(newest(s2, &count, &size));
	assert_int_equal(count, 1);
	free(newest(s3, &count, &size));
	assert_int_equal(count, 1);
	assert_int_equal(unlink(orig), 0);
}

static void dsn_header_bound(void **state)
{
	(void)state;
	/* 100 KB of header fields: the copy stops at 64 KiB, at a line end */
	size_t cap = 200000, len = 0;
	char *m = malloc(cap);
	assert_non_null(m);
	for (int i = 0; len < 100000; i++) {
		int n = snprintf(m + len, cap - len, "X-Filler-%05d: %.*s\r\n", i, 30 + i % 17,
				 "0123456789012345678901234567890123456789012345678");
		len += (size_t)n;
	}
	len += (size_t)snprintf(m + len, cap - len, "\r\nbody\r\n");
	char orig[DELIVER_PATH_MAX];
	write_spool(m, len, orig);
	struct deliver_rcpt failed = {.account_id = full_id, .address = "full@example.org",
				      .result = ERR_TEMP};
	assert_int_equal(deliver_dsn(env, ok_id, "ok@example.org", orig, &failed, 1), 0);
	size_t count = 0;
	uint64_t size = 0;
	char *d = newest(ok_id, &count, &size);
	assert_int_equal(count, 1);
	struct arena a;
	arena_init(&a, 4u << 20);
	struct mime_part *root = NULL;
	assert_int_equal(mime_parse((const uint8_t *)d, size, &a, &root), 0);
	assert_int_equal(root->nchildren, 3);
	const struct mime_part *ds = root->children->next, *h = ds->next;
	char *st = strndup(d + ds->body_start, (size_t)(ds->end - ds->body_start));
	assert_non_null(strstr(st, "\r\nAction: failed\r\nStatus: 4.3.0\r\n"
				   "Diagnostic-Code: smtp; 451 4.3.0 Temporary local problem\r\n"));
	free(st);
	size_t hl = (size_t)(h->end - h->body_start);
	assert_true(hl <= 64 * 1024);
	assert_true(hl > 60 * 1024);
	assert_memory_equal(d + h->body_start, m, hl); /* a prefix of the original, */
	assert_memory_equal(d + h->body_start + hl - 2, "\r\n", 2); /* whole lines */
	assert_memory_equal(m + hl, "X-Filler-", 9);
	free(d);
	free(m);
	arena_free(&a);
	assert_int_equal(unlink(orig), 0);
}

static void dsn_utf8(void **state)
{
	(void)state;
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct deliver_rcpt failed = {.account_id = full_id,
				      .address = "j\xc3\xb6rg@example.org", .result = ERR_QUOTA};
	assert_int_equal(deliver_dsn(env, sender_id, "sender@example.org", orig, &failed, 1), 0);
	size_t count = 0;
	uint64_t size = 0;
	char *d = newest(sender_id, &count, &size);
	struct arena a;
	arena_init(&a, 4u << 20);
	struct mime_part *root = NULL;
	assert_int_equal(mime_parse((const uint8_t *)d, size, &a, &root), 0);
	assert_int_equal(root->nchildren, 3);
	const struct mime_part *ds = root->children->next;
	assert_type(ds, "message", "global-delivery-status");
	char *st = strndup(d + ds->body_start, (size_t)(ds->end - ds->body_start));
	assert_non_null(strstr(st, "\r\nFinal-Recipient: utf-8; j\xc3\xb6rg@example.org\r\n"));
	free(st);
	assert_type(ds->next, "message", "global-headers");
	free(d);
	arena_free(&a);
	assert_int_equal(unlink(orig), 0);
}

/* From a done callback on the committer thread the notice is queued, not waited for. */
static char cb_orig[DELIVER_PATH_MAX];
static int cb_ret = 1;

static void failed_done(struct deliver_job *job, void *arg)
{
	(void)arg;
	cb_ret = deliver_dsn(env, sender_id, "sender@example.org", job->spool_path, job->rcpts,
			     job->n_rcpts);
}

static void dsn_from_committer(void **state)
{
	(void)state;
	size_t before = 0, count = 0;
	uint64_t size = 0;
	free(newest(sender_id, &before, &size));
	write_orig(cb_orig);
	struct deliver_rcpt r = {.account_id = 999999, .address = "ghost@example.org"};
	struct deliver_job job = {.spool_path = cb_orig, .rcpts = &r, .n_rcpts = 1,
				  .done = failed_done};
	assert_int_equal(deliver_submit(&job), 0);
	deliver_stop(); /* drains: the job, then the DSN it queued */
	assert_int_equal(cb_ret, 0);
	assert_int_not_equal(r.result, 0);
	start();
	char *d = newest(sender_id, &count, &size);
	assert_int_equal(count, before + 1);
	assert_non_null(strstr(d, "Final-Recipient: rfc822; ghost@example.org\r\n"));
	free(d);
	assert_int_equal(access(cb_orig, F_OK), -1); /* unlinked after done */
}

/* [server] postmaster, when configured, is the From: of every DSN (RFC 5321 4.5.1: an
 * address that reaches a person), not a MAILER-DAEMON mailbox that
 * nobody reads (MAILER-DAEMON is only its display name). */
static void dsn_from_postmaster(void **state)
{
	(void)state;
	char pm[] = "admin@example.org";
	struct conf cf = {.postmaster = pm}; /* the pipeline reads no other key */
	deliver_stop();
	conf_set(&cf);
	start();
	char orig[DELIVER_PATH_MAX];
	write_orig(orig);
	struct deliver_rcpt failed = {.account_id = full_id, .address = "full@example.org",
				      .result = ERR_QUOTA};
	size_t before = 0, count = 0;
	uint64_t size = 0;
	free(newest(sender_id, &before, &size));
	assert_int_equal(deliver_dsn(env, sender_id, "sender@example.org", orig, &failed, 1), 0);
	char *m = newest(sender_id, &count, &size);
	assert_int_equal(count, before + 1);
	assert_true(strncmp(m, "Return-Path: <>\r\n", 17) == 0);
	assert_non_null(strstr(m, "\r\nFrom: MAILER-DAEMON <admin@example.org>\r\n"));
	free(m);
	unlink(orig);
	deliver_stop();
	conf_set(NULL);
	start();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dsn_structure),    cmocka_unit_test(dsn_guards),
		cmocka_unit_test(dsn_header_bound), cmocka_unit_test(dsn_utf8),
		cmocka_unit_test(dsn_from_committer), cmocka_unit_test(dsn_from_postmaster),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
