/* client_opts.c: the common command line and the client config file of kasten fetch,
 * sync and migrate (client_opts.h), the password source, the error line and the
 * progress line. Owns nothing beyond the caller's struct client_opts; every string is
 * bounded by its field (LIMIT_CLIENT_*), a longer one is refused, never cut. */
#include "client/client_opts.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "core/banned.h"

void client_opts_error(const struct client_opts *o, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "kasten %s: ", o->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Copy a value into a fixed field; refuse what does not fit. */
static int opts_set(const struct client_opts *o, char *dst, size_t cap, const char *what,
		    const char *val)
{
	size_t n = strlen(val);
	if (n >= cap) {
		client_opts_error(o, "%s is too long (at most %zu bytes)", what, cap - 1);
		return ERR_INVAL;
	}
	memcpy(dst, val, n + 1);
	return 0;
}

#define OPTS_SET(o, field, what, val) opts_set(o, (o)->field, sizeof((o)->field), what, val)

/* A number of days 0..LIMIT_CLIENT_KEEP_DAYS, digits only. */
static int opts_days(const struct client_opts *o, const char *what, const char *val,
		     long *out)
{
	long v = 0;
	if (!*val)
		goto bad;
	for (const char *p = val; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
		if (v > LIMIT_CLIENT_KEEP_DAYS)
			goto bad;
	}
	*out = v;
	return 0;
bad:
	client_opts_error(o, "%s wants a number of days from 0 to %d, not '%s'", what,
			  LIMIT_CLIENT_KEEP_DAYS, val);
	return ERR_INVAL;
}

static int opts_tls_name(const struct client_opts *o, const char *val, enum client_tls *out)
{
	if (!strcmp(val, "implicit") || !strcmp(val, "tls"))
		*out = CLIENT_TLS_IMPLICIT;
	else if (!strcmp(val, "starttls"))
		*out = CLIENT_TLS_STARTTLS;
	else if (!strcmp(val, "plain"))
		*out = CLIENT_TLS_PLAIN;
	else {
		client_opts_error(o, "tls must be implicit, starttls or plain, not '%s'", val);
		return ERR_INVAL;
	}
	return 0;
}

static int opts_protocol(const struct client_opts *o, const char *what, const char *val,
			 enum client_protocol *out)
{
	if (!strcmp(val, "pop3"))
		*out = CLIENT_PROTO_POP3;
	else if (!strcmp(val, "imap"))
		*out = CLIENT_PROTO_IMAP;
	else {
		client_opts_error(o, "%s must be pop3 or imap, not '%s'", what, val);
		return ERR_INVAL;
	}
	return 0;
}

static int opts_bool(const struct client_opts *o, const char *what, const char *val,
		     bool *out)
{
	if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1"))
		*out = true;
	else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0"))
		*out = false;
	else {
		client_opts_error(o, "%s must be yes or no, not '%s'", what, val);
		return ERR_INVAL;
	}
	return 0;
}

/* Bits of o->given for the common options (above the CLIENT_OPT_* ones). */
enum {
	OPTS_GIVEN_HOST = 1 << 16,
	OPTS_GIVEN_PORT = 1 << 17,
	OPTS_GIVEN_USER = 1 << 18,
	OPTS_GIVEN_PASSWORD = 1 << 19,
	OPTS_GIVEN_INSECURE = 1 << 20,
};

/* ---- the config file ---- */

struct opts_ini {
	struct client_opts *o;
	const char *path;
	bool found;  /* the [account NAME] section exists */
	int err;     /* the first error, reported once */
};

static int opts_ini_key(struct opts_ini *st, const char *key, const char *val)
{
	struct client_opts *o = st->o;
	unsigned g = o->given;
	if (!strcmp(key, "host"))
		return (g & OPTS_GIVEN_HOST) ? 0 : OPTS_SET(o, host, "host", val);
	if (!strcmp(key, "port"))
		return (g & OPTS_GIVEN_PORT) ? 0 : OPTS_SET(o, port, "port", val);
	if (!strcmp(key, "user"))
		return (g & OPTS_GIVEN_USER) ? 0 : OPTS_SET(o, user, "user", val);
	if (!strcmp(key, "tls")) {
		if (o->tls_set)
			return 0;
		o->tls_set = true;
		return opts_tls_name(o, val, &o->tls);
	}
	if (!strcmp(key, "insecure"))
		return (g & OPTS_GIVEN_INSECURE) ? 0 : opts_bool(o, "insecure", val, &o->insecure);
	if (!strcmp(key, "password_file"))
		return (g & OPTS_GIVEN_PASSWORD) ? 0
						 : OPTS_SET(o, password_file, "password_file", val);
	if (!strcmp(key, "password_command"))
		return (g & OPTS_GIVEN_PASSWORD)
			       ? 0
			       : OPTS_SET(o, password_command, "password_command", val);
	if (!strcmp(key, "maildir"))
		return (g & CLIENT_OPT_MAILDIR) ? 0 : OPTS_SET(o, maildir, "maildir", val);
	if (!strcmp(key, "mbox"))
		return (g & CLIENT_OPT_MBOX) ? 0 : OPTS_SET(o, mbox, "mbox", val);
	if (!strcmp(key, "mailbox"))
		return (g & CLIENT_OPT_MAILBOX) ? 0 : OPTS_SET(o, mailbox, "mailbox", val);
	if (!strcmp(key, "protocol")) {
		if (o->protocol_set)
			return 0;
		o->protocol_set = true;
		return opts_protocol(o, "protocol", val, &o->protocol);
	}
	if (!strcmp(key, "keep"))
		return (g & CLIENT_OPT_KEEP) ? 0 : opts_bool(o, "keep", val, &o->keep);
	if (!strcmp(key, "keep_days"))
		return (g & CLIENT_OPT_KEEP) ? 0 : opts_days(o, "keep_days", val, &o->keep_days);
	return ERR_NOTFOUND;
}

static int opts_ini_handler(void *user, const char *section, const char *key,
			    const char *val)
{
	struct opts_ini *st = user;
	if (strncmp(section, "account ", 8) != 0 || strcmp(section + 8, st->o->account) != 0)
		return 1; /* another account's section, or a section of a later version */
	st->found = true;
	if (st->err)
		return 1;
	/* a bad value has said why (one line); an unknown key is said here */
	int rc = opts_ini_key(st, key, val);
	if (rc == ERR_NOTFOUND)
		client_opts_error(st->o, "%s: unknown setting '%s' in [account %s]", st->path,
				  key, st->o->account);
	if (rc < 0)
		st->err = ERR_BAD_SYNTAX; /* not a usage error: exit 1, no usage text */
	return 1;
}

int client_opts_config_path(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	if (xdg && *xdg == '/')
		n = snprintf(buf, cap, "%s/kasten/client.conf", xdg);
	else if (home && *home)
		n = snprintf(buf, cap, "%s/.config/kasten/client.conf", home);
	else
		return ERR_NOTFOUND;
	return n < 0 || (size_t)n >= cap ? ERR_TOO_LONG : 0;
}

static int opts_read_config(struct client_opts *o)
{
	char path[LIMIT_CLIENT_PATH + 1];
	if (client_opts_config_path(path, sizeof(path)) < 0) {
		client_opts_error(o, "--account: no config file (set HOME or XDG_CONFIG_HOME)");
		return ERR_NOTFOUND;
	}
	struct opts_ini st = {.o = o, .path = path};
	int r = ini_parse(path, opts_ini_handler, &st);
	if (r < 0) {
		client_opts_error(o, "cannot read %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	if (r > 0) {
		client_opts_error(o, "%s:%d: syntax error", path, r);
		return ERR_BAD_SYNTAX;
	}
	if (st.err)
		return st.err;
	if (!st.found) {
		client_opts_error(o, "no [account %s] in %s", o->account, path);
		return ERR_NOTFOUND;
	}
	return 0;
}

/* ---- the command line ---- */

/* The value of the option at argv[*i]; NULL (after an error line) if it is missing. */
static const char *opts_value(const struct client_opts *o, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		client_opts_error(o, "%s needs a value", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* One common or allowed option at argv[*i]: 1 consumed, 0 unknown, <0 error. */
static int opts_arg(struct client_opts *o, unsigned allowed, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *v;
	static const struct {
		const char *name;
		enum client_tls tls;
	} modes[] = {{"--tls", CLIENT_TLS_IMPLICIT},
		     {"--starttls", CLIENT_TLS_STARTTLS},
		     {"--plain", CLIENT_TLS_PLAIN}};
	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++) {
		if (strcmp(a, modes[k].name) != 0)
			continue;
		if (o->tls_set && o->tls != modes[k].tls) {
			client_opts_error(o, "give only one of --tls, --starttls, --plain");
			return ERR_INVAL;
		}
		o->tls = modes[k].tls;
		o->tls_set = true;
		return 1;
	}
	if (!strcmp(a, "--insecure")) {
		o->insecure = true;
		o->given |= OPTS_GIVEN_INSECURE;
		return 1;
	}
	if (!strcmp(a, "--once") && (allowed & CLIENT_OPT_ONCE)) {
		o->once = true;
		o->given |= CLIENT_OPT_ONCE;
		return 1;
	}
	if (!strcmp(a, "--keep") && (allowed & CLIENT_OPT_KEEP)) {
		if (o->keep_days >= 0) {
			client_opts_error(o, "give only one of --keep and --keep-days");
			return ERR_INVAL;
		}
		o->keep = true;
		o->given |= CLIENT_OPT_KEEP;
		return 1;
	}
	static const char *const valued[] = {"--host", "--port", "--user", "--password-file",
					     "--account", "--maildir", "--mbox", "--mailbox",
					     "--protocol", "--keep-days"};
	size_t k = 0;
	while (k < sizeof(valued) / sizeof(valued[0]) && strcmp(a, valued[k]) != 0)
		k++;
	if (k == sizeof(valued) / sizeof(valued[0]))
		return 0;
	static const unsigned need[] = {0, 0, 0, 0, 0, CLIENT_OPT_MAILDIR, CLIENT_OPT_MBOX,
					CLIENT_OPT_MAILBOX, CLIENT_OPT_PROTOCOL, CLIENT_OPT_KEEP};
	if (need[k] && !(allowed & need[k]))
		return 0;
	if (!(v = opts_value(o, argc, argv, i)))
		return ERR_INVAL;
	int rc;
	switch (k) {
	case 0: o->given |= OPTS_GIVEN_HOST; rc = OPTS_SET(o, host, "--host", v); break;
	case 1: o->given |= OPTS_GIVEN_PORT; rc = OPTS_SET(o, port, "--port", v); break;
	case 2: o->given |= OPTS_GIVEN_USER; rc = OPTS_SET(o, user, "--user", v); break;
	case 3:
		o->given |= OPTS_GIVEN_PASSWORD;
		rc = OPTS_SET(o, password_file, "--password-file", v);
		break;
	case 4: rc = OPTS_SET(o, account, "--account", v); break;
	case 5: o->given |= need[k]; rc = OPTS_SET(o, maildir, "--maildir", v); break;
	case 6: o->given |= need[k]; rc = OPTS_SET(o, mbox, "--mbox", v); break;
	case 7: o->given |= need[k]; rc = OPTS_SET(o, mailbox, "--mailbox", v); break;
	case 8:
		o->protocol_set = true;
		rc = opts_protocol(o, "--protocol", v, &o->protocol);
		break;
	default:
		if (o->keep) {
			client_opts_error(o, "give only one of --keep and --keep-days");
			return ERR_INVAL;
		}
		o->given |= need[k];
		rc = opts_days(o, "--keep-days", v, &o->keep_days);
		break;
	}
	return rc < 0 ? rc : 1;
}

/* RFC 8314 3.3 (implicit TLS ports) and the ports of RFC 1939 / RFC 9051 for STARTTLS. */
static void opts_defaults(struct client_opts *o)
{
	bool imap = o->protocol == CLIENT_PROTO_IMAP;
	if (!o->port[0]) {
		bool implicit = !o->tls_set || o->tls == CLIENT_TLS_IMPLICIT;
		(void)snprintf(o->port, sizeof(o->port), "%s",
			       imap ? (implicit ? "993" : "143") : (implicit ? "995" : "110"));
	}
	if (!o->tls_set) {
		bool implicit_port = !strcmp(o->port, "993") || !strcmp(o->port, "995") ||
				     !strcmp(o->port, "imaps") || !strcmp(o->port, "pop3s");
		o->tls = implicit_port ? CLIENT_TLS_IMPLICIT : CLIENT_TLS_STARTTLS;
		o->tls_set = true;
	}
}

int client_opts_parse(struct client_opts *o, const char *cmd, unsigned allowed, int argc,
		      char **argv, client_opts_extra_fn extra, void *extra_arg)
{
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->keep_days = -1;
	o->protocol = CLIENT_PROTO_POP3;
	if (!(allowed & CLIENT_OPT_PROTOCOL))
		o->protocol = CLIENT_PROTO_IMAP; /* sync and migrate speak IMAP only */
	for (int i = 1; i < argc; i++) {
		int rc = opts_arg(o, allowed, argc, argv, &i);
		if (rc == 0 && extra)
			rc = extra(extra_arg, argc, argv, &i);
		if (rc == 0) {
			client_opts_error(o, "unknown option '%s'", argv[i]);
			return ERR_INVAL;
		}
		if (rc < 0)
			return ERR_INVAL;
	}
	if (o->account[0]) {
		int rc = opts_read_config(o);
		if (rc < 0)
			return rc;
	}
	if (!(allowed & CLIENT_OPT_PROTOCOL))
		o->protocol = CLIENT_PROTO_IMAP;
	opts_defaults(o);
	const char *missing = !o->host[0]   ? "--host"
			      : !o->user[0] ? "--user"
			      : !o->password_file[0] && !o->password_command[0] ? "--password-file"
										  : NULL;
	if (missing) {
		client_opts_error(o, "%s is required (or --account NAME)", missing);
		return ERR_INVAL;
	}
	return 0;
}

void client_opts_endpoint(const struct client_opts *o, struct client_endpoint *ep_out)
{
	*ep_out = (struct client_endpoint){.host = o->host,
					   .port = o->port,
					   .tls = o->tls,
					   .insecure = o->insecure,
					   .timeout_ms = LIMIT_CLIENT_TIMEOUT * 1000u};
}

/* ---- the password ---- */

/* The first line of f into buf, without its line end. */
static int opts_first_line(const struct client_opts *o, FILE *f, const char *what, char *buf,
			   size_t cap)
{
	size_t n = 0;
	int ch;
	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (n + 1 >= cap) {
			client_opts_error(o, "the password from %s is too long", what);
			OPENSSL_cleanse(buf, cap);
			return ERR_TOO_LONG;
		}
		buf[n++] = (char)ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0) {
		client_opts_error(o, "no password in %s", what);
		return ERR_NOTFOUND;
	}
	return 0;
}

static int opts_password_command(const struct client_opts *o, char *buf, size_t cap)
{
	fflush(stdout);
	FILE *f = popen(o->password_command, "r"); /* popen runs /bin/sh -c */
	if (!f) {
		client_opts_error(o, "cannot run password_command: %s", strerror(errno));
		return ERR_IO;
	}
	int rc = opts_first_line(o, f, "password_command", buf, cap);
	/* read the rest so the command never dies of SIGPIPE before it exits */
	while (getc(f) != EOF)
		;
	int st = pclose(f);
	if (rc == 0 && (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		client_opts_error(o, "password_command failed (exit status %d)",
				  st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		OPENSSL_cleanse(buf, cap);
		rc = ERR_IO;
	}
	return rc;
}

int client_opts_password(const struct client_opts *o, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (!o->password_file[0])
		return opts_password_command(o, buf, cap);
	FILE *f = fopen(o->password_file, "r");
	if (!f) {
		client_opts_error(o, "cannot read the password file %s: %s", o->password_file,
				  strerror(errno));
		return ERR_IO;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		fprintf(stderr,
			"kasten %s: warning: others may read the password file %s (chmod 600)\n",
			o->cmd, o->password_file);
	char what[LIMIT_CLIENT_PATH + 32];
	(void)snprintf(what, sizeof(what), "the password file %s", o->password_file);
	int rc = opts_first_line(o, f, what, buf, cap);
	fclose(f);
	return rc;
}

/* ---- the clock and the progress line ---- */

time_t client_opts_now(void)
{
	const char *s = getenv("KASTEN_CLIENT_NOW");
	if (s && *s) {
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (!*end && !errno && v >= 0)
			return (time_t)v;
	}
	return time(NULL);
}

static uint64_t opts_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void client_progress_init(struct client_progress *p)
{
	*p = (struct client_progress){.tty = isatty(STDOUT_FILENO) == 1};
}

void client_progress_update(struct client_progress *p, uint64_t done, uint64_t total,
			    const char *what)
{
	if (!p->tty)
		return;
	uint64_t now = opts_mono_ms();
	if (p->shown && now - p->last_ms < LIMIT_CLIENT_PROGRESS_MS && done != total)
		return;
	p->last_ms = now;
	p->shown = true;
	printf("\r  %llu/%llu %s", (unsigned long long)done, (unsigned long long)total, what);
	fflush(stdout);
}

void client_progress_end(struct client_progress *p)
{
	if (p->tty && p->shown) {
		printf("\r\033[K");
		fflush(stdout);
	}
	p->shown = false;
}
