/* test_client_opts.c: the port and TLS defaults of kasten fetch, sync and migrate (the
 * issue's command line, RFC 8314 3.3): --tls by default on 993/995 (and when no port is
 * given), --starttls elsewhere, --plain only when asked; the explicit flags win; the
 * one-of rules (--keep vs --keep-days) and unknown options are usage errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "client/client_opts.h"
#include "core/err.h"

#define MAX_ARGS 16

static int parse(struct client_opts *o, unsigned allowed, const char *line)
{
	static char buf[512];
	char *argv[MAX_ARGS];
	int argc = 0;
	(void)snprintf(buf, sizeof(buf), "fetch %s", line);
	for (char *p = buf, *save = NULL; argc < MAX_ARGS; p = NULL) {
		char *t = strtok_r(p, " ", &save);
		if (!t)
			break;
		argv[argc++] = t;
	}
	return client_opts_parse(o, "fetch", allowed, argc, argv, NULL, NULL);
}

#define BASE "--host h.example --user u --password-file /dev/null --maildir /tmp/m "
#define FETCH (CLIENT_OPT_MAILDIR | CLIENT_OPT_PROTOCOL | CLIENT_OPT_KEEP)

static void defaults(void **state)
{
	static const struct {
		const char *args;
		const char *port;
		enum client_tls tls;
	} cases[] = {
		{"", "995", CLIENT_TLS_IMPLICIT},
		{"--protocol imap", "993", CLIENT_TLS_IMPLICIT},
		{"--port 995", "995", CLIENT_TLS_IMPLICIT},
		{"--protocol imap --port 993", "993", CLIENT_TLS_IMPLICIT},
		{"--port 110", "110", CLIENT_TLS_STARTTLS},
		{"--protocol imap --port 1143", "1143", CLIENT_TLS_STARTTLS},
		{"--starttls", "110", CLIENT_TLS_STARTTLS},
		{"--protocol imap --starttls", "143", CLIENT_TLS_STARTTLS},
		{"--plain", "110", CLIENT_TLS_PLAIN},
		{"--plain --port 995", "995", CLIENT_TLS_PLAIN},
		{"--tls --port 1995", "1995", CLIENT_TLS_IMPLICIT},
		{"--starttls --port 993 --protocol imap", "993", CLIENT_TLS_STARTTLS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[256];
		(void)snprintf(line, sizeof(line), BASE "%s", cases[i].args);
		struct client_opts o;
		assert_int_equal(parse(&o, FETCH, line), 0);
		if (strcmp(o.port, cases[i].port) != 0 || o.tls != cases[i].tls)
			fail_msg("'%s': port %s tls %d, want %s %d", cases[i].args, o.port,
				 (int)o.tls, cases[i].port, (int)cases[i].tls);
	}
}

static void usage_errors(void **state)
{
	static const char *const bad[] = {
		BASE "--keep --keep-days 3",
		BASE "--no-such-option",
		BASE "--keep-days -1",
		"--user u --password-file /dev/null --maildir /tmp/m", /* no host */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct client_opts o;
		if (parse(&o, FETCH, bad[i]) >= 0)
			fail_msg("accepted: %s", bad[i]);
	}
	/* --protocol is fetch's: sync and migrate refuse it */
	struct client_opts o;
	assert_true(parse(&o, CLIENT_OPT_MAILDIR | CLIENT_OPT_ONCE, BASE "--protocol imap") < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(usage_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
