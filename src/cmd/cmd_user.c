/* cmd_user.c: `kasten user ...`: accounts, aliases, passwords, quotas. These work while
 * the server runs: they go through the same store, whose databases allow concurrent
 * writers. Passwords are read from stdin (never argv: it shows in `ps`). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/limits.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

static const char usage_text[] =
	"usage: kasten user COMMAND [--config FILE | --data DIR]\n"
	"  add ADDRESS --password-stdin [--quota SIZE]\n"
	"  del ADDRESS\n"
	"  list\n"
	"  passwd ADDRESS --password-stdin\n"
	"  quota ADDRESS SIZE            (SIZE: 500K, 100M, 2G; 0 = unlimited)\n"
	"  set ADDRESS KEY=VALUE         (pop3=on|off, quota_messages=N)\n"
	"  alias add ALIAS ADDRESS\n"
	"  alias del ALIAS\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* One line from stdin, without the line end; wiped by the caller. */
static int read_password(char *out, size_t cap)
{
	if (!fgets(out, (int)cap, stdin)) {
		fprintf(stderr, "kasten: no password on stdin\n");
		return -1;
	}
	out[strcspn(out, "\r\n")] = '\0';
	if (!out[0]) {
		fprintf(stderr, "kasten: empty password\n");
		return -1;
	}
	return 0;
}

static int hash_from_stdin(char hash[static 128])
{
	char pw[1024];
	int r = read_password(pw, sizeof(pw));
	if (r == 0 && auth_hash_password(pw, hash) < 0) {
		fprintf(stderr, "kasten: cannot hash password\n");
		r = -1;
	}
	auth_wipe(pw);
	return r;
}

static bool has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], flag))
			return true;
	return false;
}

static const char *opt_value(int argc, char **argv, const char *opt)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], opt))
			return argv[i + 1];
	return NULL;
}

static int fail(const char *what, const char *arg, int r)
{
	fprintf(stderr, "kasten: %s %s: %s\n", what, arg, err_str(r));
	return 1;
}

static int user_add(struct store_env *env, int argc, char **argv)
{
	if (argc < 3 || !has_flag(argc, argv, "--password-stdin"))
		return usage();
	const char *addr = argv[2];
	uint64_t quota = conf_get()->default_quota;
	const char *q = opt_value(argc, argv, "--quota");
	if (q && str_parse_size(q, &quota) < 0) {
		fprintf(stderr, "kasten: bad size %s (use e.g. 500K, 100M, 2G)\n", q);
		return 2;
	}
	if (!strchr(addr, '@') || strlen(addr) > LIMIT_ADDRESS) {
		fprintf(stderr, "kasten: %s is not an address (local@domain)\n", addr);
		return 2;
	}
	char hash[128];
	if (hash_from_stdin(hash) < 0)
		return 1;
	int64_t id;
	int r = store_account_add(env, addr, hash, quota, &id);
	if (r < 0)
		return fail("add", addr, r);
	printf("added %s\n", addr);
	return 0;
}

static int user_list(struct store_env *env)
{
	struct arena a;
	arena_init(&a, 256u << 20);
	struct store_account *list;
	size_t n;
	int r = store_account_list(env, &a, &list, &n);
	if (r < 0) {
		arena_free(&a);
		return fail("list", "", r);
	}
	printf("%-40s %10s %14s %9s %s\n", "ADDRESS", "QUOTA", "USED", "MESSAGES", "POP3");
	for (size_t i = 0; i < n; i++) {
		char quota[32] = "unlimited";
		if (list[i].quota_bytes)
			str_fmt_size(quota, list[i].quota_bytes);
		printf("%-40s %10s %14llu %9llu %s\n", list[i].address, quota,
		       (unsigned long long)list[i].used_bytes, (unsigned long long)list[i].messages,
		       list[i].pop3_enabled ? "on" : "off");
	}
	arena_free(&a);
	return 0;
}

static int user_set(struct store_env *env, const char *addr, const char *key, const char *value)
{
	int r = store_account_set(env, addr, key, value);
	if (r < 0)
		return fail(key, addr, r);
	printf("%s: %s = %s\n", addr, key, strcmp(key, "password") ? value : "(new hash)");
	return 0;
}

static int user_alias(struct store_env *env, int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[2], "add")) {
		int r = store_alias_add(env, argv[3], argv[4]);
		if (r < 0)
			return fail("alias add", argv[3], r);
		printf("alias %s -> %s\n", argv[3], argv[4]);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[2], "del")) {
		int r = store_alias_del(env, argv[3]);
		if (r < 0)
			return fail("alias del", argv[3], r);
		printf("alias %s removed\n", argv[3]);
		return 0;
	}
	return usage();
}

static int run(struct store_env *env, int argc, char **argv)
{
	const char *sub = argv[1];
	if (!strcmp(sub, "add"))
		return user_add(env, argc, argv);
	if (!strcmp(sub, "list") && argc == 2)
		return user_list(env);
	if (!strcmp(sub, "del") && argc == 3) {
		int r = store_account_del(env, argv[2]);
		if (r < 0)
			return fail("del", argv[2], r);
		printf("deleted %s\n", argv[2]);
		return 0;
	}
	if (!strcmp(sub, "passwd") && argc >= 3 && has_flag(argc, argv, "--password-stdin")) {
		char hash[128];
		if (hash_from_stdin(hash) < 0)
			return 1;
		return user_set(env, argv[2], "password", hash);
	}
	if (!strcmp(sub, "quota") && argc == 4) {
		uint64_t q;
		char num[32];
		if (str_parse_size(argv[3], &q) < 0) {
			fprintf(stderr, "kasten: bad size %s (use e.g. 500K, 100M, 2G)\n", argv[3]);
			return 2;
		}
		(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)q);
		return user_set(env, argv[2], "quota", num);
	}
	if (!strcmp(sub, "set") && argc == 4) {
		char *eq = strchr(argv[3], '=');
		if (!eq)
			return usage();
		*eq = '\0';
		return user_set(env, argv[2], argv[3], eq + 1);
	}
	if (!strcmp(sub, "alias"))
		return user_alias(env, argc, argv);
	return usage();
}

int cmd_user(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc < 2)
		return usage();
	struct store_env *env;
	if (cmd_open_store(false, &env) < 0)
		return 1;
	int r = run(env, argc, argv);
	store_env_close(&env);
	return r;
}
