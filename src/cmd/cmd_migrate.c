/* cmd_migrate.c: `kasten migrate`: a locally downloaded store (a Maildir tree or an mbox
 * file) up into an IMAP account (src/client/client_migrate.h has the rules,
 * docs/client.md says them for users). Parses the command line, reads the password,
 * runs client_migrate_run, prints a line per folder and a summary on stdout, or one
 * error line on stderr (exit 1; 2 for usage). */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/client_migrate.h"
#include "client/client_opts.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

const char cmd_migrate_usage[] =
	"usage: kasten migrate --host H [--port P] [--tls|--starttls|--plain] [--insecure]\n"
	"                      --user U --password-file F | --account NAME\n"
	"                      (--maildir DIR | --mbox FILE [--mailbox NAME])\n"
	"  Upload a local mail store into the IMAP account: a Maildir tree (Maildir++ or a\n"
	"  Maildir per directory) with its folders, or one mbox file into the folder NAME\n"
	"  (default INBOX), with flags and dates. Messages the server already has (same\n"
	"  Message-ID, size and content) are not uploaded again; a second run uploads\n"
	"  nothing, and a run that was killed can be run again. The source is only read.\n"
	"  The journal is in $XDG_STATE_HOME/kasten (~/.local/state/kasten).\n"
	"  --tls is the default on port 993, --starttls elsewhere; --plain must be asked\n"
	"  for. --insecure accepts a certificate that does not verify. --account NAME\n"
	"  takes the settings from [account NAME] of ~/.config/kasten/client.conf.\n";

static int migrate_usage(const char *why)
{
	fprintf(stderr, "kasten migrate: %s\n%s", why, cmd_migrate_usage);
	return 2;
}

static void migrate_folder_done(void *arg, const char *folder, size_t uploaded, size_t present)
{
	client_progress_end(arg); /* a progress line on the terminal goes first */
	printf("%s: %zu uploaded, %zu already on the server\n", folder, uploaded, present);
	(void)fflush(stdout); /* a failed write shows at the end */
}

static void migrate_progress(void *arg, const char *folder, size_t done, size_t total)
{
	client_progress_update(arg, done, total, folder);
}

int cmd_migrate(int argc, char **argv)
{
	struct client_opts a;
	int rc = client_opts_parse(&a, "migrate",
				   CLIENT_OPT_MAILDIR | CLIENT_OPT_MBOX | CLIENT_OPT_MAILBOX, argc,
				   argv, NULL, NULL);
	if (rc == ERR_INVAL) {
		fputs(cmd_migrate_usage, stderr);
		return 2;
	}
	if (rc < 0)
		return 1;
	if (!a.maildir[0] == !a.mbox[0])
		return migrate_usage("one of --maildir and --mbox is needed");
	if (a.mailbox[0] && !a.mbox[0])
		return migrate_usage("--mailbox goes with --mbox");
	char password[LIMIT_CLIENT_PASSWORD + 1];
	if (client_opts_password(&a, password, sizeof(password)) < 0)
		return 1;
	struct client_migrate_opts o = {.user = a.user, .password = password,
					.maildir = a.maildir[0] ? a.maildir : NULL,
					.mbox = a.mbox[0] ? a.mbox : NULL,
					.mailbox = a.mailbox[0] ? a.mailbox : NULL,
					.folder_done = migrate_folder_done,
					.progress = migrate_progress};
	struct client_progress progress;
	client_progress_init(&progress);
	o.arg = &progress;
	client_opts_endpoint(&a, &o.ep);
	struct client_migrate_stats st;
	char err[LIMIT_CLIENT_ERROR];
	int e = client_migrate_run(&o, &st, err, sizeof(err));
	OPENSSL_cleanse(password, sizeof(password));
	client_progress_end(&progress);
	if (e) {
		client_opts_error(&a, "%s", err[0] ? err : err_str(e));
		return 1;
	}
	printf("kasten migrate: %zu uploaded, %zu already on the server, %zu folders; %zu "
	       "compared by download; %llu bytes in, %llu out\n",
	       st.uploaded, st.present, st.folders, st.downloaded,
	       (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
	return fflush(stdout) == 0 ? 0 : 1;
}
