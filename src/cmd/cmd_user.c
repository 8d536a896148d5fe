/* cmd_user.c: `kasten user ...`: accounts, aliases, passwords, quotas, the activity
 * log. These work while the server runs: they go through the same store, whose
 * databases allow concurrent writers. Passwords are read from stdin (never argv: it
 * shows in `ps`), at most AUTH_SASL_PART_MAX octets. New account and alias addresses
 * must pass addr_account_check() (core/addr.h); the store checks again, this file
 * explains. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth/auth.h"
#include "core/addr.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/limits.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

const char cmd_user_usage[] =
	"usage: kasten user COMMAND [--config FILE | --data DIR]\n"
	"  add ADDRESS --password-stdin [--quota SIZE]\n"
	"  del ADDRESS\n"
	"  list                          (quota, used bytes, messages, POP3, message quota)\n"
	"  passwd ADDRESS --password-stdin\n"
	"  quota ADDRESS SIZE            (SIZE: 500K, 100M, 2G; 0 = unlimited)\n"
	"  set ADDRESS KEY=VALUE         (pop3=on|off, quota_messages=N)\n"
	"  alias add ALIAS ADDRESS\n"
	"  alias del ALIAS\n"
	"  alias list\n"
	"  activity ADDRESS              (clients that used the account, and what POP3\n"
	"                                 sessions removed; newest first, 90 days)\n"
	"ADDRESS and ALIAS are RFC 5321 mailboxes (local-part@domain, UTF-8 allowed) that\n"
	"SMTP can deliver to. The password is one line on stdin: 1 to 255 octets (the most\n"
	"a login can send), no control characters.\n";

static int usage(void)
{
	fputs(cmd_user_usage, stderr);
	return 2;
}

/* The password: one line on stdin without its LF or CRLF. At most AUTH_SASL_PART_MAX
 * octets, the most every login path accepts (RFC 4616 2), and no NUL or other control
 * character, which no client can type or send: either would make an account nobody can
 * log in to. stdin is unbuffered so no copy stays behind in stdio; the caller wipes out. */
static int read_password(char out[static AUTH_SASL_PART_MAX + 2])
{
	const size_t cap = AUTH_SASL_PART_MAX + 1; /* one more for the CR of a CRLF */
	size_t n = 0;
	bool line_end = false;
	int c;
	(void)setvbuf(stdin, NULL, _IONBF, 0); /* fails only after I/O began: none has */
	while (n <= cap && (c = getchar()) != EOF) {
		if (c == '\n') {
			line_end = true;
			break;
		}
		out[n++] = (char)c;
	}
	if (n > 0 && out[n - 1] == '\r' && (line_end || n <= cap))
		n--;
	out[n <= AUTH_SASL_PART_MAX ? n : AUTH_SASL_PART_MAX] = '\0';
	if (n == 0) {
		fputs(line_end ? "kasten: empty password\n" : "kasten: no password on stdin\n",
		      stderr);
		return -1;
	}
	if (n > AUTH_SASL_PART_MAX) {
		fprintf(stderr, "kasten: the password is longer than %d octets, more than a login "
				"can send (RFC 4616 2)\n",
			AUTH_SASL_PART_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)out[i];
		if (u < 0x20 || u == 0x7f) {
			fprintf(stderr, "kasten: the password contains control character 0x%02x, "
					"which no mail client can send\n",
				u);
			return -1;
		}
	}
	return 0;
}

static int hash_from_stdin(char hash[static 128])
{
	char pw[AUTH_SASL_PART_MAX + 2];
	int r = read_password(pw);
	if (r == 0 && auth_hash_password(pw, hash) < 0) {
		fprintf(stderr, "kasten: cannot hash password\n");
		r = -1;
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	return r;
}

/* Say why addr cannot be an account or alias address (exit code 2), or 0 if it can. */
static int check_address(const char *addr)
{
	const char *why = "", *dwhy = "";
	if (addr_account_check(addr, strlen(addr), &why) == 0)
		return 0;
	const char *at = strrchr(addr, '@');
	if (at && addr_domain_check(at + 1, strlen(at + 1), NULL, &dwhy) < 0)
		fprintf(stderr, "kasten: %s: '%s' is not a domain name: %s\n", addr, at + 1, dwhy);
	else
		fprintf(stderr, "kasten: %s is not an address mail can be delivered to: %s\n", addr,
			why);
	return 2;
}

/* The options after "SUB ADDRESS": --password-stdin (required when pw_required) and,
 * when quota_out is not NULL, --quota SIZE. Anything else is a usage error (2); a bad
 * size is reported here. */
static int parse_opts(int argc, char **argv, bool pw_required, uint64_t *quota_out)
{
	bool pw = false;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--password-stdin")) {
			pw = true;
		} else if (quota_out && !strcmp(argv[i], "--quota") && i + 1 < argc) {
			if (str_parse_size(argv[++i], quota_out) < 0) {
				fprintf(stderr, "kasten: bad size %s (use e.g. 500K, 100M, 2G)\n",
					argv[i]);
				return 2;
			}
		} else {
			return usage();
		}
	}
	return pw || !pw_required ? 0 : usage();
}

static int fail(const char *what, const char *arg, int r)
{
	fprintf(stderr, "kasten: %s %s: %s\n", what, arg, err_str(r));
	return 1;
}

static int user_add(struct store_env *env, int argc, char **argv)
{
	if (argc < 3)
		return usage();
	const char *addr = argv[2];
	uint64_t quota = conf_get()->default_quota;
	int r = parse_opts(argc, argv, true, &quota);
	if (r == 0)
		r = check_address(addr);
	if (r != 0)
		return r;
	char hash[128];
	if (hash_from_stdin(hash) < 0)
		return 1;
	int64_t id;
	r = store_account_add(env, addr, hash, quota, &id);
	if (r == ERR_EXISTS) {
		fprintf(stderr, "kasten: %s already exists (as an account or an alias)\n", addr);
		return 1;
	}
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
	/* the first four columns are what scripts read (address, quota, used bytes,
	 * messages); later ones are added at the end */
	printf("%-40s %10s %14s %9s %4s %s\n", "ADDRESS", "QUOTA", "USED", "MESSAGES", "POP3",
	       "MSG-QUOTA");
	for (size_t i = 0; i < n; i++) {
		char quota[32] = "unlimited", msgs[32] = "unlimited";
		if (list[i].quota_bytes)
			str_fmt_size(quota, list[i].quota_bytes);
		if (list[i].quota_messages)
			(void)snprintf(msgs, sizeof(msgs), "%llu",
				       (unsigned long long)list[i].quota_messages); /* fits */
		printf("%-40s %10s %14llu %9llu %4s %s\n", list[i].address, quota,
		       (unsigned long long)list[i].used_bytes, (unsigned long long)list[i].messages,
		       list[i].pop3_enabled ? "on" : "off", msgs);
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

static int alias_list(struct store_env *env)
{
	struct arena a;
	arena_init(&a, 256u << 20);
	struct store_alias *v;
	size_t n;
	int r = store_alias_list(env, &a, &v, &n);
	if (r < 0) {
		arena_free(&a);
		return fail("alias list", "", r);
	}
	printf("%-40s %s\n", "ALIAS", "ACCOUNT");
	for (size_t i = 0; i < n; i++)
		printf("%-40s %s\n", v[i].alias, v[i].address);
	arena_free(&a);
	return 0;
}

static int alias_add(struct store_env *env, const char *alias, const char *addr)
{
	int r = check_address(alias);
	if (r != 0)
		return r;
	r = store_alias_add(env, alias, addr);
	if (r == ERR_NOTFOUND)
		fprintf(stderr, "kasten: alias add %s: no account %s (an alias points at an "
				"account)\n",
			alias, addr);
	else if (r == ERR_EXISTS)
		fprintf(stderr, "kasten: alias add %s: that address is already an account or an "
				"alias\n",
			alias);
	else if (r < 0)
		return fail("alias add", alias, r);
	if (r < 0)
		return 1;
	printf("alias %s -> %s\n", alias, addr);
	return 0;
}

static int alias_del(struct store_env *env, const char *alias)
{
	int r = store_alias_del(env, alias);
	if (r == ERR_NOTFOUND) {
		struct arena a;
		arena_init(&a, 1u << 20);
		struct store_account acct;
		bool account = store_account_get(env, alias, &a, &acct) == 0;
		arena_free(&a);
		if (account)
			fprintf(stderr, "kasten: %s is an account, not an alias (`kasten user del` "
					"removes accounts)\n",
				alias);
		else
			fprintf(stderr, "kasten: no alias %s (`kasten user alias list` shows "
					"them)\n",
				alias);
		return 1;
	}
	if (r < 0)
		return fail("alias del", alias, r);
	printf("alias %s removed\n", alias);
	return 0;
}

static void fmt_time(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 32, "%lld", (long long)t); /* fits */
}

/* The account's activity log: one line each, the client name last (it may have
 * spaces; the store keeps it printable). */
static int user_activity(struct store_env *env, const char *addr)
{
	struct arena a;
	arena_init(&a, 16u << 20);
	struct store_account acct;
	struct store_activity *v = NULL;
	size_t n = 0;
	int r = store_account_get(env, addr, &a, &acct);
	if (r == 0)
		r = store_activity_list(env, acct.id, &a, &v, &n);
	if (r < 0) {
		arena_free(&a);
		return fail("activity", addr, r);
	}
	printf("%-20s %-20s %-10s %-7s %-8s %-12s %-39s %s\n", "LAST-SEEN", "FIRST-SEEN",
	       "PROTOCOL", "KIND", "REMOVED", "BYTES", "ADDRESS", "CLIENT");
	for (size_t i = 0; i < n; i++) {
		char last[32], first[32] = "-", count[16] = "-", bytes[24] = "-";
		fmt_time(last, v[i].last_seen);
		bool removed = v[i].kind == STORE_ACT_REMOVED;
		if (removed) {
			(void)snprintf(count, sizeof(count), "%u", v[i].count); /* fits */
			(void)snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)v[i].bytes);
		} else {
			fmt_time(first, v[i].first_seen);
		}
		printf("%-20s %-20s %-10s %-7s %-8s %-12s %-39s %s\n", last, first, v[i].protocol,
		       removed ? "removed" : "login", count, bytes,
		       v[i].address ? v[i].address : "-", v[i].client ? v[i].client : "-");
	}
	arena_free(&a);
	return 0;
}

static int user_alias(struct store_env *env, int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[2], "add"))
		return alias_add(env, argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[2], "del"))
		return alias_del(env, argv[3]);
	if (argc == 3 && !strcmp(argv[2], "list"))
		return alias_list(env);
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
	if (!strcmp(sub, "passwd") && argc >= 3) {
		int r = parse_opts(argc, argv, true, NULL);
		if (r != 0)
			return r;
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
	if (!strcmp(sub, "activity") && argc == 3)
		return user_activity(env, argv[2]);
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
