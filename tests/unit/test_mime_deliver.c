/* test_mime_deliver.c: the delivery pipeline hands the store what mime_extract found:
 * a message goes through deliver_submit_wait against the real sqlite store, and the
 * done callback (which runs before the job's arena is released) reads the store_new_msg
 * the committer passed on: the header bytes as in the spool file, the preview, the
 * search text, the message ids and the structure blob. A message without text or ids
 * gets an empty preview and text (never NULL: the store must not derive them again)
 * and NULL ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "deliver/deliver.h"
#include "mime/mime.h"
#include "store/store.h"
#include "unit_tmpdir.h"

static char dir[256];
static struct store_env *env;
static int64_t account;

static int setup(void **state)
{
	log_set_level(LOG_WARN);
	(void)snprintf(dir, sizeof(dir), "/tmp/kasten-mime-deliver-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_env_open("sqlite", dir, true, &env), 0);
	assert_int_equal(store_account_add(env, "user@example.org", NULL, 0, &account), 0);
	struct deliver_config cfg = {.data_dir = dir, .hostname = "mx.example.org"};
	assert_int_equal(deliver_start(env, &cfg), 0);
	return 0;
}

static int teardown(void **state)
{
	deliver_stop();
	store_env_close(&env);
	unit_rmtree(dir);
	return 0;
}

/* What done saw, copied out (the job's arena is gone after done). */
struct seen {
	bool called;
	char header[4096], preview[1024], text[4096], message_id[256], references[512];
	size_t header_len, text_len;
	bool has_mime, preview_null, text_null, message_id_null, references_null;
};

/* done runs on the committer thread: it only copies (cut to the buffers, real lengths
 * kept); the test thread asserts. */
static void copy(char *dst, size_t cap, const char *src, bool *null_out)
{
	*null_out = src == NULL;
	(void)snprintf(dst, cap, "%s", src ? src : ""); /* cut is caught by the checks */
}

static void done(struct deliver_job *job, void *arg)
{
	struct seen *s = arg;
	const struct store_new_msg *m = &job->msg;
	s->called = true;
	s->has_mime = m->mime && m->mime_len;
	s->header_len = m->header_len;
	if (m->header)
		memcpy(s->header, m->header,
		       m->header_len < sizeof(s->header) ? m->header_len : sizeof(s->header));
	copy(s->preview, sizeof(s->preview), m->preview, &s->preview_null);
	s->text_len = m->text_len;
	s->text_null = m->text == NULL;
	if (m->text)
		memcpy(s->text, m->text,
		       m->text_len < sizeof(s->text) ? m->text_len : sizeof(s->text));
	copy(s->message_id, sizeof(s->message_id), m->message_id, &s->message_id_null);
	copy(s->references, sizeof(s->references), m->references, &s->references_null);
}

static void deliver(const char *msg, struct seen *s)
{
	char path[DELIVER_PATH_MAX];
	int fd = -1;
	assert_int_equal(deliver_spool_create(path, sizeof(path), &fd), 0);
	assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	assert_int_equal(close(fd), 0);
	struct deliver_rcpt rcpt = {.account_id = account, .address = "user@example.org"};
	struct deliver_job job = {
	    .spool_path = path, .rcpts = &rcpt, .n_rcpts = 1, .done = done, .arg = s};
	memset(s, 0, sizeof(*s));
	assert_int_equal(deliver_submit_wait(&job), 0);
	assert_true(s->called);
	assert_int_equal(rcpt.result, 0);
	assert_int_equal(access(path, F_OK), -1); /* the pipeline removed the spool file */
}

static void fields_filled(void **state)
{
	static const char msg[] =
	    "Received: from x by mx.example.org; Sun, 22 Nov 2026 08:05:39 +0000\r\n"
	    "Message-ID: <m1 @example.net>\r\n"
	    "References: <r0@example.net>\r\n <r1@example.net> (comment)\r\n"
	    "In-Reply-To: <r1@example.net>\r\n"
	    "Content-Type: multipart/alternative; boundary=b\r\n"
	    "\r\n"
	    "--b\r\n"
	    "Content-Type: text/html; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<p>Gr=FC=DFe &amp; more</p>\r\n"
	    "--b\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "Gr\xc3\xbc\xc3\x9f"
	    "e and more\r\n"
	    "--b--\r\n";
	struct seen s;
	deliver(msg, &s);
	assert_true(s.has_mime);
	size_t hlen = (size_t)(strstr(msg, "\r\n\r\n") + 4 - msg);
	assert_int_equal(s.header_len, hlen);
	assert_memory_equal(s.header, msg, hlen);
	assert_string_equal(s.preview, "Gr\xc3\xbc\xc3\x9f"
	                               "e and more");
	assert_int_equal(s.text_len, strlen("Gr\xc3\xbc\xc3\x9f"
	                                    "e & more\nGr\xc3\xbc\xc3\x9f"
	                                    "e and more"));
	assert_memory_equal(s.text,
	                    "Gr\xc3\xbc\xc3\x9f"
	                    "e & more\nGr\xc3\xbc\xc3\x9f"
	                    "e and more",
	                    s.text_len);
	assert_string_equal(s.message_id, "<m1@example.net>");
	assert_string_equal(s.references, "<r0@example.net> <r1@example.net>");
}

static void nothing_to_extract(void **state)
{
	static const char msg[] = "Subject: an image only\r\n"
	                          "Content-Type: image/png\r\n"
	                          "Content-Transfer-Encoding: base64\r\n"
	                          "\r\n"
	                          "iVBORw0KGgo=\r\n";
	struct seen s;
	deliver(msg, &s);
	assert_true(s.has_mime);
	assert_false(s.preview_null);
	assert_string_equal(s.preview, "");
	assert_false(s.text_null);
	assert_int_equal(s.text_len, 0);
	assert_true(s.message_id_null);
	assert_true(s.references_null);
	assert_int_equal(s.header_len, strstr(msg, "\r\n\r\n") + 4 - msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(fields_filled, setup, teardown),
	    cmocka_unit_test_setup_teardown(nothing_to_extract, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
