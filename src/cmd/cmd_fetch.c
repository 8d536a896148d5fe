/* cmd_fetch.c: `kasten fetch`: download INBOX over POP3 or IMAP into a local Maildir,
 * then delete on the server (default), keep there (--keep) or keep N days (--keep-days).
 * The options are client_opts' (src/client/client_opts.h), the work is client_fetch's.
 * Exit 0 with one summary line on stdout; 1 with one line on stderr ("kasten fetch:
 * ..."), nothing changed locally when the login fails; 2 for a usage error. */
#include "cmd.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/client_fetch.h"
#include "client/client_opts.h"
#include "core/err.h"
#include "core/banned.h"

const char cmd_fetch_usage[] =
	"usage: kasten fetch --host H [--port P] [--tls|--starttls|--plain] [--insecure]\n"
	"                    [--protocol pop3|imap] --user U --password-file F --maildir DIR\n"
	"                    [--keep | --keep-days N] | --account NAME\n"
	"  Download every message of INBOX not downloaded before into the Maildir DIR (made\n"
	"  if missing), then delete it on the server; --keep leaves it there, --keep-days N\n"
	"  deletes it N days after its first download. Ports: pop3 995 (--tls) or 110,\n"
	"  imap 993 or 143; certificates are verified unless --insecure. --account NAME\n"
	"  reads the settings from ~/.config/kasten/client.conf. See docs/client.md.\n";

int cmd_fetch(int argc, char **argv)
{
	struct client_opts o;
	unsigned allowed = CLIENT_OPT_MAILDIR | CLIENT_OPT_PROTOCOL | CLIENT_OPT_KEEP;
	int rc = client_opts_parse(&o, "fetch", allowed, argc, argv, NULL, NULL);
	if (rc == ERR_INVAL) {
		fputs(cmd_fetch_usage, stderr);
		return 2;
	}
	if (rc < 0)
		return 1;
	if (!o.maildir[0]) {
		client_opts_error(&o, "--maildir is required");
		fputs(cmd_fetch_usage, stderr);
		return 2;
	}
	char password[LIMIT_CLIENT_PASSWORD + 1];
	if (client_opts_password(&o, password, sizeof(password)) < 0)
		return 1;
	static struct client_fetch f; /* its rows are on the heap; the struct is large */
	memset(&f, 0, sizeof(f));
	rc = o.protocol == CLIENT_PROTO_IMAP ? client_fetch_imap(&f, &o, password)
					     : client_fetch_pop3(&f, &o, password);
	OPENSSL_cleanse(password, sizeof(password));
	client_fetch_close(&f);
	if (rc < 0) {
		client_opts_error(&o, "%s", f.err[0] ? f.err : err_str(rc));
		return 1;
	}
	client_fetch_summary(&f);
	return fflush(stdout) == 0 ? 0 : 1;
}
