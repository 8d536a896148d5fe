/* main.c: subcommand dispatch only, and `--help` for every subcommand: answered here,
 * before any subcommand runs, so asking for help can never create a data dir, open a
 * store or take an argument for a name ("user del --help" must not delete "--help"). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"

/* cmd_serve.c prints only a one-line usage on a bad argument; this is its full one. */
static const char serve_usage[] =
	"usage: kasten serve [--config FILE | --data DIR]\n"
	"  Run the server in the foreground (SMTP, submission, LMTP, POP3), logging to\n"
	"  stderr, until SIGTERM or SIGINT. One server per data dir.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	const char *usage;
} cmds[] = {
	{"serve", cmd_serve, "run the server: SMTP, submission, LMTP, IMAP, POP3, HTTP",
	 serve_usage},
	{"user", cmd_user, "accounts, aliases, passwords, quotas", cmd_user_usage},
	{"export", cmd_export, "write a mailbox as mboxrd to stdout", cmd_export_usage},
	{"init", cmd_init, "create a data dir with a demo account (used by `make run`)",
	 cmd_init_usage},
	{"fetch", cmd_fetch, "download INBOX over POP3 or IMAP into a local Maildir",
	 cmd_fetch_usage},
	{"migrate", cmd_migrate, "a local Maildir or mbox up into an IMAP account",
	 cmd_migrate_usage},
	{"sync", cmd_sync, "two-way IMAP <-> local Maildir sync (flags, folders, offline)",
	 cmd_sync_usage},
	{"dkim", cmd_dkim, "DKIM keys: keygen, list, delete; sign and verify a message",
	 cmd_dkim_usage},
	{"dns", cmd_dns, "the DNS records to publish for a domain; check, lookup",
	 cmd_dns_usage},
	{"queue", cmd_queue, "the outbound queue: list, show, retry, delete, hold, release",
	 cmd_queue_usage},
	{"smtp-send", cmd_smtp_send, "send a message with the outbound SMTP client (a test)",
	 cmd_smtp_send_usage},
	{"tls-policy", cmd_tls_policy, "the TLS (MTA-STS, DANE) outbound mail to a domain gets",
	 cmd_tls_policy_usage},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kasten COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n`kasten COMMAND --help` (or -h) shows a command's usage and does nothing "
		   "else.\n");
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

int main(int argc, char **argv)
{
	/* Everything kasten creates is the mail user's alone: files 0600, directories 0700
	 * (the hashes in directory.db, the mail, the TLS key), whatever umask we inherit. */
	umask(077);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	bool help = is_help(argv[1]) || !strcmp(argv[1], "help");
	const char *name = help ? (argc > 2 ? argv[2] : NULL) : argv[1];
	if (help && !name) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(name, cmds[i].name) != 0)
			continue;
		/* --help anywhere after the command wins over everything else on the line */
		for (int k = 2; k < argc && !help; k++)
			help = is_help(argv[k]);
		if (help) {
			fputs(cmds[i].usage, stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		return cmds[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "kasten: unknown command '%s'\n", name);
	usage(stderr);
	return 2;
}
