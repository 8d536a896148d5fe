/* main.c: subcommand dispatch only. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{"serve", cmd_serve, "run the server: SMTP, submission, LMTP, IMAP, POP3, HTTP"},
	{"user", cmd_user, "accounts, aliases, passwords, quotas"},
	{"export", cmd_export, "write a mailbox as mboxrd to stdout"},
	{"init", cmd_init, "create a data dir with a demo account (used by `make run`)"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kasten COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
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
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "kasten: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
