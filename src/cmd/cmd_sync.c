/* cmd_sync.c: `kasten sync`: two-way sync of an IMAP account with a local Maildir tree
 * (src/client/client_sync.h has the rules, docs/client.md says them for users). Parses
 * the command line (client_opts.h, plus --full-check), reads the password, runs
 * client_sync_run, prints one summary line on stdout or one error line on stderr. SIGTERM and SIGINT end the staying-connected
 * mode cleanly (exit 0) after the step in progress. */
#include "cmd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/client_conn.h"
#include "client/client_opts.h"
#include "client/client_sync.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

const char cmd_sync_usage[] =
	"usage: kasten sync --host H [--port P] [--tls|--starttls|--plain] [--insecure]\n"
	"                   --user U --password-file F | --account NAME\n"
	"                   --maildir DIR [--once] [--full-check SECONDS] [--headers-first]\n"
	"  Two-way sync of the IMAP account with the Maildir tree DIR (created if missing;\n"
	"  INBOX is DIR itself, folders are Maildir++ \".Name\" directories): new messages,\n"
	"  flags, deletions, folders and renames both ways; the state is DIR/kasten-sync.db.\n"
	"  --once: one pass, then exit. Without it: stay connected, IDLE on INBOX, look at\n"
	"  the local tree every few seconds and check every folder every --full-check\n"
	"  seconds (default 300). --headers-first: the headers of new messages first (a\n"
	"  header-only file each), then their bodies. --tls is the default on port 993,\n"
	"  --starttls elsewhere; --plain must be asked for. --insecure accepts a\n"
	"  certificate that does not verify. --account NAME takes the settings from\n"
	"  [account NAME] of ~/.config/kasten/client.conf. The rules (conflicts,\n"
	"  deletions, what is never deleted): docs/client.md.\n";

static volatile sig_atomic_t sync_stop;

static void sync_on_signal(int sig)
{
	sync_stop = 1;
}

static void sync_progress(void *arg, const char *folder, size_t done, size_t total)
{
	client_progress_update(arg, done, total, folder);
}

/* sync's own options: --full-check SECONDS, --headers-first. */
struct sync_extra_opts {
	unsigned full_check;
	bool headers_first;
};

static int sync_extra(void *arg, int argc, char **argv, int *i)
{
	struct sync_extra_opts *x = arg;
	if (!strcmp(argv[*i], "--headers-first")) {
		x->headers_first = true;
		return 1;
	}
	if (strcmp(argv[*i], "--full-check") != 0)
		return 0;
	char *end = NULL;
	unsigned long s = *i + 1 < argc ? strtoul(argv[*i + 1], &end, 10) : 0;
	if (!end || *end || s == 0 || s > 86400) {
		fprintf(stderr, "kasten sync: --full-check takes 1 to 86400 seconds\n");
		return ERR_INVAL;
	}
	x->full_check = (unsigned)s;
	(*i)++;
	return 1;
}

int cmd_sync(int argc, char **argv)
{
	struct client_opts a;
	struct sync_extra_opts x = {0};
	int rc = client_opts_parse(&a, "sync", CLIENT_OPT_MAILDIR | CLIENT_OPT_ONCE, argc, argv,
				   sync_extra, &x);
	if (rc == ERR_INVAL) {
		fputs(cmd_sync_usage, stderr);
		return 2;
	}
	if (rc < 0)
		return 1;
	if (!a.maildir[0]) {
		fprintf(stderr, "kasten sync: --maildir is needed\n%s", cmd_sync_usage);
		return 2;
	}
	char password[LIMIT_CLIENT_PASSWORD + 1];
	if (client_opts_password(&a, password, sizeof(password)) < 0)
		return 1;
	struct sigaction sa = {.sa_handler = sync_on_signal};
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL); /* cannot fail for these arguments */
	(void)sigaction(SIGINT, &sa, NULL);
	struct client_endpoint ep;
	client_opts_endpoint(&a, &ep);
	struct client_progress progress;
	client_progress_init(&progress);
	struct client_sync_opts o = {.ep = &ep, .user = a.user, .password = password,
				     .maildir = a.maildir, .once = a.once,
				     .full_check_s = x.full_check, .headers_first = x.headers_first,
				     .progress = sync_progress,
				     .progress_arg = &progress};
	struct client_sync_stats st;
	char err[LIMIT_CLIENT_ERROR];
	int e = client_sync_run(&o, &sync_stop, &st, err, sizeof(err));
	OPENSSL_cleanse(password, sizeof(password));
	client_progress_end(&progress);
	if (e) {
		client_opts_error(&a, "%s", err);
		return 1;
	}
	printf("kasten sync: %u folders, %llu downloaded, %llu uploaded, %llu flag changes "
	       "here and %llu on the server, %llu deleted here and %llu on the server, %llu "
	       "moved, %llu folders created, %llu renamed%s; %llu bytes in, %llu out\n",
	       st.folders, (unsigned long long)st.downloaded, (unsigned long long)st.uploaded,
	       (unsigned long long)st.flags_local, (unsigned long long)st.flags_remote,
	       (unsigned long long)st.deleted_local, (unsigned long long)st.deleted_remote,
	       (unsigned long long)st.moved, (unsigned long long)st.folders_created,
	       (unsigned long long)st.folders_renamed,
	       st.skipped ? ", some folders left alone (see above)" : "",
	       (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);
	return fflush(stdout) == 0 ? 0 : 1;
}
