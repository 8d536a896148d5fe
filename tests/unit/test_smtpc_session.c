/* test_smtpc_session.c: the SMTP client session (outbound/smtpc_session.c, smtpc_send.c,
 * smtpc_io.c) against a scripted server thread on loopback, for what only the bytes on
 * the wire show: DATA dot-stuffing byte for byte (RFC 5321 4.5.2) across the DKIM prefix,
 * a bare LF, and the 64 KiB pieces the file is read in; the CRLF added to a message that
 * does not end in one; and the transcript ring (last LIMIT_SMTPC_TRANSCRIPT lines, AUTH
 * payloads hidden). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/limits.h"
#include "outbound/smtpc.h"

/* What the server thread saw: the DATA content as it came over the wire (up to and
 * and including the "." line) and the command lines. */
struct script {
	int lfd;
	in_port_t port;
	char *data;
	size_t data_len, data_cap;
	char cmds[64][256];
	size_t n_cmds;
};

static int read_byte(int fd, char *c)
{
	return recv(fd, c, 1, 0) == 1 ? 0 : -1;
}

static void say(int fd, const char *s)
{
	size_t n = strlen(s);
	assert_true(send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n);
}

static void *server_main(void *arg)
{
	struct script *sc = arg;
	int fd = accept(sc->lfd, NULL, NULL);
	char line[1024];
	size_t len = 0;
	char c;

	if (fd < 0)
		return NULL;
	say(fd, "220 script.test ESMTP\r\n");
	while (read_byte(fd, &c) == 0) {
		if (c != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		len = 0;
		if (sc->n_cmds < 64) {
			/* command lines are kept whole: an AUTH line is under 256 bytes */
			assert_true(strlen(line) < sizeof(sc->cmds[0]));
			memcpy(sc->cmds[sc->n_cmds++], line, strlen(line) + 1);
		}
		if (!strncmp(line, "EHLO", 4)) {
			say(fd, "250-script.test\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n");
		} else if (!strncmp(line, "AUTH", 4)) {
			say(fd, "235 2.7.0 ok\r\n");
		} else if (!strcmp(line, "DATA")) {
			say(fd, "354 go\r\n");
			/* everything up to and including CRLF.CRLF, byte for byte */
			while (read_byte(fd, &c) == 0) {
				if (sc->data_len == sc->data_cap) {
					sc->data_cap = sc->data_cap ? 2 * sc->data_cap : 4096;
					sc->data = realloc(sc->data, sc->data_cap);
					assert_non_null(sc->data);
				}
				sc->data[sc->data_len++] = c;
				/* the "." line: after a CRLF, or first (an empty message) */
				if ((sc->data_len >= 5 &&
				     !memcmp(sc->data + sc->data_len - 5, "\r\n.\r\n", 5)) ||
				    (sc->data_len == 3 && !memcmp(sc->data, ".\r\n", 3)))
					break;
			}
			say(fd, "250 2.0.0 queued\r\n");
		} else if (!strcmp(line, "QUIT")) {
			say(fd, "221 bye\r\n");
			break;
		} else {
			say(fd, "250 2.1.0 ok\r\n");
		}
	}
	close(fd);
	return NULL;
}

static void script_start(struct script *sc, pthread_t *t)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	memset(sc, 0, sizeof(*sc));
	sc->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(sc->lfd >= 0);
	assert_int_equal(bind(sc->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(sc->lfd, 1), 0);
	assert_int_equal(getsockname(sc->lfd, (struct sockaddr *)&sa, &len), 0);
	sc->port = sa.sin_port;
	assert_int_equal(pthread_create(t, NULL, server_main, sc), 0);
}

/* A message file with content[0..len) (lines as given), opened for reading. */
static int temp_file(const void *content, size_t len)
{
	char path[] = "/tmp/test_smtpc_session.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_true(write(fd, content, len) == (ssize_t)len);
	return fd;
}

/* One session: EHLO, (AUTH), one transaction of prefix + file to one recipient, QUIT.
 * The transcript ring into ring_out when not NULL. */
static void run(struct script *sc, const char *prefix, const void *file, size_t file_len, bool auth,
                char *ring_out, size_t ring_cap)
{
	pthread_t t;
	struct smtpc_config cfg = {.timeouts = {10000, 10000, 10000}, .helo = "client.test"};
	struct smtpc *s = NULL;
	struct smtpc_reply r, final;
	struct smtpc_rcpt rc = {.address = "x@dest.test"};
	int fd = temp_file(file, file_len);

	script_start(sc, &t);
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = sc->port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(smtpc_new(&cfg, &s), 0);
	assert_int_equal(smtpc_connect(s, (struct sockaddr *)&sa, sizeof(sa), NULL, &r), 0);
	assert_int_equal(r.code, 220);
	assert_int_equal(smtpc_ehlo(s, &r), 0);
	if (auth) {
		/* over plain text only when allowed */
		assert_int_equal(smtpc_auth(s, "user", "Secret-pw-1", false, &r), ERR_INVAL);
		assert_int_equal(smtpc_auth(s, "user", "Secret-pw-1", true, &r), 0);
	}
	struct smtpc_msg m = {.sender = "a@src.test",
	                      .prefix = prefix,
	                      .prefix_len = prefix ? strlen(prefix) : 0,
	                      .fd = fd,
	                      .size = file_len};
	int send_rc = smtpc_send(s, &m, &rc, 1, &final);
	if (send_rc != 0)
		fprintf(stderr, "smtpc_send: %s\n", smtpc_error(s));
	assert_int_equal(send_rc, 0);
	assert_int_equal(final.code, 250);
	assert_string_equal(rc.reply.line, "250 2.0.0 queued");
	assert_int_equal(smtpc_quit(s), 0);
	if (ring_out)
		smtpc_transcript(s, ring_out, ring_cap);
	smtpc_free(&s);
	assert_null(s);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sc->lfd);
	close(fd);
}

static void expect_data(struct script *sc, const char *want)
{
	size_t n = strlen(want);
	assert_int_equal(sc->data_len, n);
	assert_memory_equal(sc->data, want, n);
	free(sc->data);
}

static void test_dot_stuffing_wire(void **state)
{
	struct script sc;
	const char file[] = ".start\r\nmid\r\n.\r\n..x\r\nbare\nlf.\n.after\r\n. \r\nend";
	run(&sc, "DKIM-Signature: a=1;\r\n b=2\r\n", file, sizeof(file) - 1, false, NULL, 0);
	expect_data(&sc, "DKIM-Signature: a=1;\r\n b=2\r\n..start\r\nmid\r\n..\r\n...x\r\n"
	                 "bare\nlf.\n..after\r\n.. \r\nend\r\n.\r\n");
	/* no prefix, a file that is one "." line: the first byte starts a line */
	run(&sc, NULL, ".\r\n", 3, false, NULL, 0);
	expect_data(&sc, "..\r\n.\r\n");
	/* an empty message: just the end */
	run(&sc, NULL, "", 0, false, NULL, 0);
	expect_data(&sc, ".\r\n");
}

static void test_dot_stuffing_chunk_edges(void **state)
{
	/* "." line starts at the last byte of a read piece, at the first of the next and
	 * one after: the stuffing state carries across pieces */
	for (int shift = -1; shift <= 1; shift++) {
		size_t first = LIMIT_SMTPC_BODY_CHUNK + (size_t)(ssize_t)shift; /* where "." is */
		size_t len = first + 4;
		char *file = malloc(len + 1), *want = malloc(len + 16);
		struct script sc;
		assert_non_null(file);
		assert_non_null(want);
		memset(file, 'a', first - 2);
		memcpy(file + first - 2, "\r\n.x\r\n", 6);
		memcpy(want, file, first);
		memcpy(want + first, ".", 1);
		memcpy(want + first + 1, file + first, 4);
		memcpy(want + first + 5, ".\r\n", 4); /* with its NUL */
		run(&sc, NULL, file, len, false, NULL, 0);
		expect_data(&sc, want);
		free(file);
		free(want);
	}
}

static void test_transcript_ring(void **state)
{
	struct script sc;
	char ring[LIMIT_SMTPC_TRANSCRIPT * (LIMIT_SMTPC_TRANSCRIPT_LINE + 3) + 1];
	run(&sc, NULL, "x\r\n", 3, true, ring, sizeof(ring));
	free(sc.data);
	/* the AUTH line reached the server whole, the ring only as <hidden> */
	bool auth_seen = false;
	for (size_t i = 0; i < sc.n_cmds; i++)
		if (!strncmp(sc.cmds[i], "AUTH PLAIN ", 11) && strlen(sc.cmds[i]) > 20)
			auth_seen = true;
	assert_true(auth_seen);
	assert_non_null(strstr(ring, "C: AUTH PLAIN <hidden>"));
	assert_null(strstr(ring, "Secret"));
	assert_null(strstr(ring, "AHVzZXIAU2VjcmV0LXB3LTE")); /* base64 of \0user\0Secret.. */
	/* oldest first, the last line last, at most LIMIT_SMTPC_TRANSCRIPT lines */
	size_t lines = 1;
	for (const char *p = ring; (p = strstr(p, " | ")); p += 3)
		lines++;
	assert_true(lines <= LIMIT_SMTPC_TRANSCRIPT);
	size_t rl = strlen(ring);
	assert_string_equal(ring + rl - strlen("S: 221 bye"), "S: 221 bye");
	/* more lines than the ring holds: the greeting has gone */
	assert_int_equal(lines, LIMIT_SMTPC_TRANSCRIPT);
	assert_null(strstr(ring, "220 script.test"));
	/* a small buffer: cut, still NUL-terminated */
	char small[40];
	memset(small, 'z', sizeof(small));
	struct script sc2;
	run(&sc2, NULL, "x\r\n", 3, true, small, sizeof(small));
	free(sc2.data);
	assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dot_stuffing_wire),
	    cmocka_unit_test(test_dot_stuffing_chunk_edges),
	    cmocka_unit_test(test_transcript_ring),
	};
	(void)signal(SIGPIPE, SIG_IGN); /* smtpc.h: the process ignores SIGPIPE */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
