/* client_opts.h: what kasten fetch, sync and migrate share on their command lines: the
 * server (--host --port --tls|--starttls|--plain --insecure), the account (--user,
 * --password-file), the local store (--maildir, --mbox, --mailbox), fetch's --protocol,
 * --keep, --keep-days, sync's --once, and --account NAME, which reads the same settings
 * from the client config file (an [account NAME] section of
 * $XDG_CONFIG_HOME/kasten/client.conf, by default ~/.config/kasten/client.conf). The
 * command line wins over the file. Also: the password (first line of a file or of a
 * command's output), the one-line error format and the progress line on a terminal.
 * All strings are bounded by LIMIT_CLIENT_* (src/core/limits.h). */
#ifndef KASTEN_CLIENT_OPTS_H
#define KASTEN_CLIENT_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "client/client_conn.h"
#include "core/limits.h"

/* The options a command takes beside the common ones. */
enum client_opt {
	CLIENT_OPT_MAILDIR = 1 << 0,  /* --maildir DIR */
	CLIENT_OPT_MBOX = 1 << 1,     /* --mbox FILE */
	CLIENT_OPT_MAILBOX = 1 << 2,  /* --mailbox NAME */
	CLIENT_OPT_PROTOCOL = 1 << 3, /* --protocol pop3|imap */
	CLIENT_OPT_KEEP = 1 << 4,     /* --keep, --keep-days N */
	CLIENT_OPT_ONCE = 1 << 5,     /* --once */
};

enum client_protocol { CLIENT_PROTO_POP3, CLIENT_PROTO_IMAP };

struct client_opts {
	const char *cmd; /* "fetch": error lines start "kasten fetch: " */
	char account[LIMIT_CLIENT_NAME + 1];
	char host[LIMIT_CLIENT_HOST + 1];
	char port[LIMIT_CLIENT_NAME + 1];
	enum client_tls tls;
	bool tls_set;
	bool insecure;
	char user[LIMIT_CLIENT_USER + 1];
	char password_file[LIMIT_CLIENT_PATH + 1];
	char password_command[LIMIT_CLIENT_PATH + 1];
	char maildir[LIMIT_CLIENT_PATH + 1];
	char mbox[LIMIT_CLIENT_PATH + 1];
	char mailbox[LIMIT_MAILBOX_NAME + 1];
	enum client_protocol protocol;
	bool protocol_set;
	bool keep;
	long keep_days; /* -1: not given */
	bool once;
	/* which of the above were given on the command line (a CLIENT_OPT_* set for
	 * the command-specific ones), so the config file fills only the others */
	unsigned given;
};

/* A command's own options beyond the common ones: called for an argument the common
 * parser does not know, with *i its index; consume it (and its value, advancing *i)
 * and return 1, return 0 for "unknown" (a usage error), or <0 after printing an error. */
typedef int (*client_opts_extra_fn)(void *arg, int argc, char **argv, int *i);

/* Parse argv[1..argc) (argv[0] is the command name) for a command taking the common
 * options plus those in allowed; read the config file for --account; apply the port
 * and TLS defaults (RFC 8314: 995/993 implicit TLS, 110/143 STARTTLS; --tls is the
 * default on 993 and 995, --starttls elsewhere). Checks that host, user and a password
 * source are there. 0, or ERR_INVAL after one error line on stderr (the caller prints
 * its usage and exits 2), or another negative err after one error line for a config
 * file that cannot be read, lacks the section or holds a bad setting (exit 1). */
int client_opts_parse(struct client_opts *o, const char *cmd, unsigned allowed, int argc,
		      char **argv, client_opts_extra_fn extra, void *extra_arg);

/* The config file's path into buf: $XDG_CONFIG_HOME/kasten/client.conf, or
 * $HOME/.config/kasten/client.conf. */
int client_opts_config_path(char *buf, size_t cap);

/* The endpoint for client_conn_open (pointing into o). */
void client_opts_endpoint(const struct client_opts *o, struct client_endpoint *ep_out);

/* The password: the first line of --password-file (a warning on stderr when others may
 * read the file), or of the output of password_command (/bin/sh -c, must exit 0). Into
 * buf (LIMIT_CLIENT_PASSWORD + 1 bytes); the caller wipes it with OPENSSL_cleanse.
 * 0, or <0 after an error line on stderr. */
int client_opts_password(const struct client_opts *o, char *buf, size_t cap);

/* "kasten CMD: <text>" and a newline on stderr. */
void client_opts_error(const struct client_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "now" for the client: KASTEN_CLIENT_NOW (unix seconds) when set, a testing aid that
 * moves the clock for --keep-days; else time(). */
time_t client_opts_now(void);

/* The progress line, on a terminal only: "\r  123/2000 messages", at most a few times
 * a second; client_progress_end clears it. */
struct client_progress {
	bool tty;
	uint64_t last_ms;
	bool shown;
};
void client_progress_init(struct client_progress *p);
void client_progress_update(struct client_progress *p, uint64_t done, uint64_t total,
			    const char *what);
void client_progress_end(struct client_progress *p);

#endif
