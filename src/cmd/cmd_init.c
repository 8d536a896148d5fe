/* cmd_init.c: `kasten init`: what `make run` does before `serve` on a fresh machine:
 * create the data dir and, when it has no accounts yet, a demo account with a generated
 * password (kept in <data>/demo-password, mode 0600, so a second `make run` can show it
 * again); then print the settings a mail client needs. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

#define DEMO_ADDRESS "demo@localhost"

const char cmd_init_usage[] =
	"usage: kasten init [--config FILE | --data DIR]\n"
	"  Create the data dir if it does not exist and, when it has no accounts yet, the\n"
	"  account " DEMO_ADDRESS " with a generated password (kept in DIR/demo-password);\n"
	"  then print the settings a mail client needs.\n";

static int demo_password(const char *data, char pw[64], bool create)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/demo-password", data) >= (int)sizeof(path))
		return ERR_INVAL;
	if (!create) {
		FILE *f = fopen(path, "r");
		if (!f)
			return ERR_NOTFOUND;
		bool ok = fgets(pw, 64, f) != NULL;
		fclose(f);
		pw[strcspn(pw, "\n")] = '\0';
		return ok ? 0 : ERR_IO;
	}
	if (str_random_hex(pw, 8) < 0)
		return ERR_IO;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ERR_IO;
	size_t n = strlen(pw);
	bool ok = write(fd, pw, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	return close(fd) == 0 && ok ? 0 : ERR_IO;
}

static void print_setting(const char *proto, const char *addr, const char *security)
{
	if (!addr)
		return;
	const char *colon = strrchr(addr, ':');
	printf("  %-11s host %.*s  port %-5s  %s\n", proto, (int)(colon - addr), addr, colon + 1,
	       security);
}

int cmd_init(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc > 1) {
		fputs(cmd_init_usage, stderr);
		return 2;
	}
	const struct conf *cf = conf_get();
	struct store_env *env;
	if (cmd_open_store(true, &env) < 0)
		return 1;
	struct arena a;
	arena_init(&a, 64u << 20);
	struct store_account *list;
	size_t n = 0;
	char pw[64] = "";
	int r = store_account_list(env, &a, &list, &n);
	if (r == 0 && n == 0) {
		char hash[128];
		r = demo_password(cf->data, pw, true);
		if (r == 0)
			r = auth_hash_password(pw, hash);
		int64_t id;
		if (r == 0)
			r = store_account_add(env, DEMO_ADDRESS, hash, 0, &id);
	} else if (r == 0 && demo_password(cf->data, pw, false) < 0) {
		pw[0] = '\0'; /* accounts made by an admin: no demo password to show */
	}
	arena_free(&a);
	store_env_close(&env);
	if (r < 0) {
		fprintf(stderr, "kasten: init %s: %s\n", cf->data, err_str(r));
		return 1;
	}
	printf("\nkasten data dir: %s\n", cf->data);
	if (pw[0])
		printf("demo account:    %s   password: %s\n", DEMO_ADDRESS, pw);
	printf("\nclient settings (user name = the full address):\n");
	print_setting("IMAP", cf->imap, "STARTTLS (self-signed certificate)");
	print_setting("IMAPS", cf->imaps, "SSL/TLS");
	print_setting("POP3", cf->pop3, "STARTTLS (self-signed certificate)");
	print_setting("POP3S", cf->pop3s, "SSL/TLS");
	print_setting("SMTP submit", cf->submission, "STARTTLS, password (plain allowed on loopback)");
	print_setting("SMTPS", cf->submissions, "SSL/TLS, password");
	print_setting("SMTP in", cf->smtp, "incoming mail (MX), no login");
	print_setting("LMTP", cf->lmtp, "local delivery from an MTA");
	print_setting("HTTP", cf->http, "webmail (/), autoconfig, JMAP (/.well-known/jmap)");
	print_setting("HTTPS", cf->https, "the same over TLS");
	print_setting("admin", cf->admin, "/metrics and /healthz (keep internal)");
	printf("\ntry:  swaks --server 127.0.0.1:%s --to %s\n",
	       cf->smtp ? strrchr(cf->smtp, ':') + 1 : "25", DEMO_ADDRESS);
	if (cf->http)
		printf("      then read it in the webmail: http://%s/\n", cf->http);
	printf("\n");
	fflush(stdout);
	return 0;
}
