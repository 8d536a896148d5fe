/* cmd.h: the subcommands main() dispatches to. Each returns the process exit code
 * (0 ok, 1 failure, 2 usage). argv[0] is the subcommand name. */
#ifndef KASTEN_CMD_H
#define KASTEN_CMD_H

#include <stdbool.h>

int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_init(int argc, char **argv);

/* Shared option handling: --config FILE or --data DIR, removed from argv.
 * Loads the config (or defaults), applies --data, and conf_set()s it. */
int cmd_load_config(int *argc, char **argv);

/* Started as root with [server] user set: make sure the data dir exists and belongs
 * to that user, then become it (serve calls this after binding its ports). */
int cmd_drop_privileges(bool serving);

struct store_env;
/* For admin commands: drop privileges, create the data dir if needed, open the store
 * (recovering only if no server holds it). Reports errors on stderr; -1 on failure. */
int cmd_open_store(struct store_env **env_out);

#endif
