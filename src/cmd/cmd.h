/* cmd.h: the subcommands main() dispatches to. Each returns the process exit code
 * (0 ok, 1 failure, 2 usage). argv[0] is the subcommand name. */
#ifndef KASTEN_CMD_H
#define KASTEN_CMD_H

#include <stdbool.h>

int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_dkim(int argc, char **argv);
int cmd_dns(int argc, char **argv);
int cmd_queue(int argc, char **argv);
/* `kasten dns check ...` and `kasten dns lookup ...`, reached through `kasten dns`
 * (argv[0] = "check" / "lookup"). */
int cmd_dns_check(int argc, char **argv);
int cmd_dns_lookup(int argc, char **argv);
int cmd_smtp_send(int argc, char **argv);
int cmd_tls_policy(int argc, char **argv);

/* Each command's full usage text, which main() prints for --help (to stdout, exit 0,
 * before the command runs) and the command prints to stderr on a usage error. */
extern const char cmd_user_usage[];
extern const char cmd_export_usage[];
extern const char cmd_init_usage[];
extern const char cmd_migrate_usage[];
extern const char cmd_fetch_usage[];
extern const char cmd_sync_usage[];
extern const char cmd_dkim_usage[];
extern const char cmd_dns_usage[];
extern const char cmd_queue_usage[];
extern const char cmd_dns_check_usage[];
extern const char cmd_dns_lookup_usage[];
extern const char cmd_smtp_send_usage[];
extern const char cmd_tls_policy_usage[];

/* Shared option handling: --config FILE or --data DIR, removed from argv.
 * Loads the config (or defaults), applies --data, and conf_set()s it. */
int cmd_load_config(int *argc, char **argv);

/* Started as root with [server] user set: give the data dir (which must exist) and its
 * lock file to that user, then become it (serve calls this after binding its ports). */
int cmd_drop_privileges(bool serving);

struct store_env;
/* For admin commands: drop privileges, open the store (recovering only if no server
 * owns the data dir). The data dir must exist unless create is set (only `init` creates
 * one: a mistyped --data must not silently make an empty store). Reports errors on
 * stderr; -1 on failure. */
int cmd_open_store(bool create, struct store_env **env_out);

/* Who holds a data dir's lock, as far as its lock file says. */
struct cmd_lock_holder {
	long pid;     /* 0: unknown */
	char role[16]; /* "serve", "admin" or "" */
};
/* Become the owner of the data dir dir (which must exist): flock <dir>/.lock for the
 * rest of the process's life and write "PID ROLE" into it. Waits up to wait_ms for a
 * holder that is not a server (admin commands hold it briefly). Returns the lock's fd
 * (keep it open), or -1 with the holder in *holder_out (pid 0 when the failure was not
 * a held lock; that is logged). */
int cmd_lock_data(const char *dir, const char *role, unsigned wait_ms,
		  struct cmd_lock_holder *holder_out);

#endif
