/* test_client_mbox.c: the mbox reader of kasten migrate (src/client/client_mbox*.c).
 * Every file is read with the normal buffer and with the smallest buffers the reader
 * takes, which must give the same messages (a line end, a ">From " or a Status: field
 * cut between two reads). Dates are read with TZ=UTC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "client/client_maildir.h"
#include "client/client_mbox_int.h"
#include "core/err.h"
#include "core/limits.h"

#define MIN_BUF (2 * LIMIT_CLIENT_MBOX_LOOKAHEAD + 2)

struct msg {
	char *data;
	size_t len;
	unsigned flags;
	time_t date;
};

struct result {
	struct msg m[16];
	int n;
	int rc;           /* of the last next() or of open */
	size_t max_piece; /* the largest piece given to the callback */
	size_t pieces;
};

static int collect(void *arg, const void *p, size_t n)
{
	struct result *r = arg;
	struct msg *m = &r->m[r->n];
	assert_true(n > 0);
	m->data = realloc(m->data, m->len + n + 1);
	assert_non_null(m->data);
	memcpy(m->data + m->len, p, n);
	m->len += n;
	m->data[m->len] = '\0';
	if (n > r->max_piece)
		r->max_piece = n;
	r->pieces++;
	return 0;
}

static int file_of(const void *data, size_t len)
{
	int fd = memfd_create("mbox", MFD_CLOEXEC);
	assert_true(fd >= 0);
	const char *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		assert_true(w > 0);
		off += (size_t)w;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void read_all(const void *data, size_t len, size_t bufsize, struct result *r)
{
	memset(r, 0, sizeof(*r));
	struct client_mbox *mb;
	r->rc = client_mbox_open_fd(file_of(data, len), bufsize, &mb);
	if (r->rc < 0)
		return;
	for (;;) {
		assert_true(r->n < 16);
		unsigned flags = 99;
		time_t date = 99;
		r->rc = client_mbox_next(mb, collect, r, &flags, &date);
		if (r->rc <= 0)
			break;
		r->m[r->n].flags = flags;
		r->m[r->n].date = date;
		if (!r->m[r->n].data)
			r->m[r->n].data = calloc(1, 1);
		r->n++;
	}
	client_mbox_close(&mb);
	assert_null(mb);
}

static void result_free(struct result *r)
{
	for (int i = 0; i < 16; i++)
		free(r->m[i].data);
}

static void same_results(const struct result *a, const struct result *b)
{
	assert_int_equal(a->rc, b->rc);
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		assert_int_equal(a->m[i].len, b->m[i].len);
		assert_memory_equal(a->m[i].data, b->m[i].data, a->m[i].len);
		assert_int_equal(a->m[i].flags, b->m[i].flags);
		assert_int_equal(a->m[i].date, b->m[i].date);
	}
}

/* Read data with the normal buffer and small ones; all the same, and as expected. */
static void expect(const char *data, size_t len, int n, const char *const *want,
		   const unsigned *flags, const time_t *dates)
{
	struct result r;
	read_all(data, len, LIMIT_CLIENT_MBOX_BUF, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, n);
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (strlen(want[i]) != r.m[i].len || memcmp(want[i], r.m[i].data, r.m[i].len))
			fprintf(stderr, "message %d: got [%s] want [%s]\n", i, r.m[i].data,
				want[i]);
		assert_int_equal(r.m[i].len, strlen(want[i]));
		assert_memory_equal(r.m[i].data, want[i], r.m[i].len);
		if (flags)
			assert_int_equal(r.m[i].flags, flags[i]);
		if (dates)
			assert_int_equal(r.m[i].date, dates[i]);
		total += r.m[i].len;
	}
	assert_true(total <= len);
	for (size_t b = MIN_BUF; b < MIN_BUF + 8; b++) {
		struct result s;
		read_all(data, len, b, &s);
		same_results(&r, &s);
		result_free(&s);
	}
	result_free(&r);
}

#define EXPECT(data, want, flags, dates)                                                   \
	expect(data, strlen(data), (int)(sizeof(want) / sizeof(want[0])), want, flags, dates)

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			.tm_min = mi, .tm_sec = s};
	return timegm(&tm);
}

static void test_from_dates(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		int h, mi, s, y;
	} ok[] = {
		{"sender Tue Dec  1 10:00:00 2026", 10, 0, 0, 2026},
		{"sender Tue Dec 1 10:00:00 2026", 10, 0, 0, 2026},
		{"sender Tue Dec  1 10:00 2026", 10, 0, 0, 2026},          /* no seconds */
		{"sender Tue Dec  1 10:00:00 +0100 2026", 9, 0, 0, 2026},  /* zone before year */
		{"sender Tue Dec  1 10:00:00 2026 -0700", 17, 0, 0, 2026}, /* ... after it */
		{"sender Tue Dec  1 10:00 UTC 2026", 10, 0, 0, 2026},
		{"sender Tue Dec  1 10:00:00 PST 2026", 10, 0, 0, 2026}, /* a name: local (UTC) */
		{"\"John Doe\"@example.com Tue Dec  1 10:00:00 2026", 10, 0, 0, 2026},
		{"MAILER-DAEMON Dec  1 10:00:00 2026", 10, 0, 0, 2026},   /* no weekday */
		{"sender Tue, 1 Dec 2026 10:00:00 +0000", 10, 0, 0, 2026}, /* RFC 5322 form */
		{"sender Tue Dec  1 10:00:00 2026 remote from uucphost", 10, 0, 0, 2026},
		{"sender\tTue\tDec  1 10:00:59 2026", 10, 0, 59, 2026},
		{"sender tue dec  1 10:00:00 2026", 10, 0, 0, 2026},
		{"sender Tue Dec  1 10:00:00 98", 10, 0, 0, 1998},
		{"Tue Dec  1 10:00:00 2026", 10, 0, 0, 2026}, /* no sender */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		time_t want = utc(ok[i].y, 12, 1, ok[i].h, ok[i].mi, ok[i].s);
		time_t got = client_mbox_from_date(ok[i].line, strlen(ok[i].line));
		if (got != want)
			fprintf(stderr, "%s: %lld != %lld\n", ok[i].line, (long long)got,
				(long long)want);
		assert_int_equal(got, want);
	}
	static const char *const bad[] = {
		"", "sender", "sender garbage here", "sender Tue Dec 32 10:00:00 2026",
		"sender Tue Dec  1 25:00:00 2026", "sender Tue Dec  1 10:61:00 2026",
		"sender Tue Dec  1 10:00:00", "sender Tue Foo  1 10:00:00 2026",
		"sender Tue Dec  1 10.00.00 2026", "sender Tue Dec  1 10:00:00 +01 2026",
		"sender Tue Dec  1 10:00:00 2026x", "sender Tue Dec  1 10:00:00 123",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(client_mbox_from_date(bad[i], strlen(bad[i])), 0);
	/* only the given bytes are read */
	assert_int_equal(client_mbox_from_date("x Tue Dec  1 10:00:00 2026", 20), 0);
}

static void test_basic(void **state)
{
	(void)state;
	static const char *const want[] = {"Subject: one\n\nbody 1\n",
					   "Subject: two\n\nbody 2\n\n", "Subject: three\n"};
	const time_t dates[] = {utc(2026, 12, 1, 10, 0, 0), utc(2026, 12, 1, 11, 0, 0), 0};
	EXPECT("From a@b Tue Dec  1 10:00:00 2026\nSubject: one\n\nbody 1\n\n"
	       "From c@d Tue Dec  1 11:00:00 2026\nSubject: two\n\nbody 2\n\n\n"
	       "From nodate\nSubject: three\n",
	       want, NULL, dates);
}

static void test_escapes(void **state)
{
	(void)state;
	static const char *const want[] = {
		"Subject: x\n\nFrom here\n>From there\n>>From far\n>Fromage\n> From x\n"
		"From a line not after an empty one\n"};
	EXPECT("From a Tue Dec  1 10:00:00 2026\nSubject: x\n\n>From here\n>>From there\n"
	       ">>>From far\n>Fromage\n> From x\nFrom a line not after an empty one\n",
	       want, NULL, NULL);
	/* a ">From " line after an empty line is body text, not a separator */
	static const char *const want2[] = {"S: 1\n\n\nFrom x\n"};
	EXPECT("From a Tue Dec  1 10:00:00 2026\nS: 1\n\n\n>From x\n", want2, NULL, NULL);
}

static void test_status(void **state)
{
	(void)state;
	static const char *const want[] = {
		"Subject: a\nX-Other: 1\n\nStatus: RO\n",
		"Subject: b\n\n",
		"Subject: c\n\nbody\n",
	};
	const unsigned flags[] = {
		CLIENT_FLAG_SEEN | CLIENT_FLAG_REPLIED | CLIENT_FLAG_FLAGGED,
		0,
		CLIENT_FLAG_TRASHED | CLIENT_FLAG_SEEN, /* a continuation line is dropped, unread */
	};
	EXPECT("From a Tue Dec  1 10:00:00 2026\nStatus: RO\nSubject: a\nX-Status: AF\n"
	       "X-Other: 1\n\nStatus: RO\n\n"
	       "From b Tue Dec  1 10:00:00 2026\nStatus: O\nSubject: b\n\n\n"
	       "From c Tue Dec  1 10:00:00 2026\nstatus: R\nx-status: D\n T\nSubject: c\n\n"
	       "body\n",
	       want, flags, NULL);
}

static void test_crlf(void **state)
{
	(void)state;
	static const char *const want[] = {"Subject: a\n\nline\rwith bare cr\n",
					   "Subject: b\n\nlast line without end\r"};
	EXPECT("From a Tue Dec  1 10:00:00 2026\r\nSubject: a\r\n\r\nline\rwith bare cr\r\n\r\n"
	       "From b Tue Dec  1 10:00:00 2026\r\nSubject: b\r\n\r\nlast line without end\r",
	       want, NULL, NULL);
}

static void test_not_mbox(void **state)
{
	(void)state;
	struct result r;
	read_all("Subject: no\n\nbody\n", 18, LIMIT_CLIENT_MBOX_BUF, &r);
	assert_int_equal(r.rc, ERR_BAD_SYNTAX);
	assert_non_null(strstr(client_mbox_strerror(r.rc), "not an mbox file"));
	read_all("\nFrom a Tue Dec  1 10:00:00 2026\n", 33, LIMIT_CLIENT_MBOX_BUF, &r);
	assert_int_equal(r.rc, ERR_BAD_SYNTAX);
	read_all("From", 4, LIMIT_CLIENT_MBOX_BUF, &r);
	assert_int_equal(r.rc, ERR_BAD_SYNTAX);
	read_all("", 0, LIMIT_CLIENT_MBOX_BUF, &r); /* empty: no messages */
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 0);
	read_all("From ", 5, LIMIT_CLIENT_MBOX_BUF, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.m[0].len, 0);
	result_free(&r);
	struct client_mbox *mb = (void *)1;
	assert_int_equal(client_mbox_open("/nonexistent/mbox", &mb), ERR_NOTFOUND);
	assert_null(mb);
	assert_int_equal(client_mbox_open("/", &mb), ERR_INVAL);
	assert_int_equal(client_mbox_open_fd(file_of("From ", 5), MIN_BUF - 1, &mb), ERR_INVAL);
}

static int stop_cb(void *arg, const void *p, size_t n)
{
	(void)p;
	(void)n;
	(*(int *)arg)++;
	return ERR_QUOTA;
}

static void test_callback_stop(void **state)
{
	(void)state;
	const char *f = "From a Tue Dec  1 10:00:00 2026\nS: 1\n\nFrom b Tue Dec  1 10:00:00 2026\n"
			"S: 2\n";
	struct client_mbox *mb;
	assert_int_equal(client_mbox_open_fd(file_of(f, strlen(f)), MIN_BUF, &mb), 0);
	int calls = 0;
	unsigned flags;
	time_t date;
	assert_int_equal(client_mbox_next(mb, stop_cb, &calls, &flags, &date), ERR_QUOTA);
	assert_int_equal(client_mbox_next(mb, stop_cb, &calls, &flags, &date), ERR_QUOTA);
	assert_int_equal(calls, 1);
	client_mbox_close(&mb);
}

/* A message far bigger than the buffer: in pieces of at most the buffer, byte-exact,
 * with a line longer than the buffer, CR LF cut between reads, and the judged start of
 * a line longer than LIMIT_CLIENT_MBOX_LOOKAHEAD. */
static void test_huge(void **state)
{
	(void)state;
	size_t body = 3u << 20, cap = body + (512u << 10);
	char *in = malloc(cap), *out = malloc(cap);
	size_t il = 0, ol = 0;
	il += (size_t)snprintf(in, cap, "From a Tue Dec  1 10:00:00 2026\r\n");
	for (size_t i = 0; il < body; i++) {
		size_t len = i % 7 == 0 ? 200000 : (i * 37) % 300; /* some lines over a buffer */
		const char *pre = i % 5 == 0 ? ">>From " : i % 5 == 1 ? ">From " : "";
		size_t pl = strlen(pre);
		memcpy(in + il, pre, pl);
		memcpy(out + ol, pre + (pl ? 1 : 0), pl ? pl - 1 : 0);
		il += pl;
		ol += pl ? pl - 1 : 0;
		for (size_t k = 0; k < len; k++)
			in[il++] = out[ol++] = (char)('a' + (i + k) % 26);
		memcpy(in + il, "\r\n", 2);
		il += 2;
		out[ol++] = '\n';
	}
	/* a ">" run longer than the judged start stays as it is */
	size_t run = LIMIT_CLIENT_MBOX_LOOKAHEAD;
	memset(in + il, '>', run);
	memset(out + ol, '>', run);
	il += run;
	ol += run;
	memcpy(in + il, "From x\n", 7);
	memcpy(out + ol, "From x\n", 7);
	il += 7;
	ol += 7;
	const size_t sizes[] = {MIN_BUF, MIN_BUF + 1, 8203, LIMIT_CLIENT_MBOX_BUF};
	for (size_t si = 0; si < 4; si++) {
		size_t b = sizes[si];
		struct result r;
		read_all(in, il, b, &r);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.n, 1);
		assert_int_equal(r.m[0].len, ol);
		assert_memory_equal(r.m[0].data, out, ol);
		assert_true(r.max_piece <= b);
		assert_true(r.pieces >= ol / b);
		result_free(&r);
	}
	free(in);
	free(out);
}

/* A From_ line longer than the judged start: still a separator, with no date. */
static void test_long_from_line(void **state)
{
	(void)state;
	size_t pad = LIMIT_CLIENT_MBOX_LOOKAHEAD;
	char *f = malloc(pad + 200);
	size_t n = 0;
	n += (size_t)snprintf(f, pad + 200, "From a Tue Dec  1 10:00:00 2026\nS: 1\n\nFrom ");
	memset(f + n, 'x', pad);
	n += pad;
	n += (size_t)snprintf(f + n, 200, " Tue Dec  1 10:00:00 2026\nS: 2\n");
	static const char *const want[] = {"S: 1\n", "S: 2\n"};
	const time_t dates[] = {utc(2026, 12, 1, 10, 0, 0), 0};
	expect(f, n, 2, want, NULL, dates);
	free(f);
}

/* Every read size from the smallest on, over a file whose long CR LF lines, separators
 * and escapes then fall on every buffer boundary: the same messages each time. */
static void test_every_cut(void **state)
{
	(void)state;
	char *f = malloc(16384);
	size_t n = 0;
	n += (size_t)snprintf(f, 16384, "From a Tue Dec  1 10:00:00 2026\r\nStatus: R\r\n\r\n");
	for (int i = 0; i < 5; i++) {
		memset(f + n, 'a' + i, 1100 + (size_t)i * 400); /* over the judged start */
		n += 1100 + (size_t)i * 400;
		n += (size_t)snprintf(f + n, 16384 - n, "\r\n>>From x\r\n\r\n");
	}
	n += (size_t)snprintf(f + n, 16384 - n, "From b Tue Dec  1 10:00:00 2026\r\nX-Status: F\r\n"
				       "\r\nbody\r\n\r\n");
	struct result whole;
	read_all(f, n, LIMIT_CLIENT_MBOX_BUF, &whole);
	assert_int_equal(whole.n, 2);
	assert_int_equal(whole.m[0].flags, CLIENT_FLAG_SEEN);
	assert_int_equal(whole.m[1].flags, CLIENT_FLAG_FLAGGED);
	assert_null(memchr(whole.m[0].data, '\r', whole.m[0].len));
	assert_non_null(strstr(whole.m[0].data, "\n>From x\n"));
	for (size_t b = MIN_BUF; b < n + 2; b++) {
		struct result r;
		read_all(f, n, b, &r);
		same_results(&whole, &r);
		result_free(&r);
	}
	result_free(&whole);
	free(f);
}

static int setup(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_dates),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_not_mbox),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_long_from_line),
		cmocka_unit_test(test_every_cut),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
