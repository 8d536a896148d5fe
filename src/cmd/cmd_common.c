/* cmd_common.c: option handling shared by every subcommand. */
#include "cmd.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

static struct conf config;

/* Remove argv[i] and argv[i+1] (when two) from the vector. */
static void drop(int *argc, char **argv, int i, int n)
{
	for (int j = i; j + n <= *argc; j++)
		argv[j] = argv[j + n];
	*argc -= n;
}

int cmd_load_config(int *argc, char **argv)
{
	const char *path = NULL, *data = NULL;
	for (int i = 1; i < *argc;) {
		if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < *argc) {
			path = argv[i + 1];
			drop(argc, argv, i, 2);
		} else if (!strcmp(argv[i], "--data") && i + 1 < *argc) {
			data = argv[i + 1];
			drop(argc, argv, i, 2);
		} else {
			i++;
		}
	}
	conf_defaults(&config);
	if (path && conf_load(&config, path) < 0)
		return -1;
	if (data) {
		free(config.data);
		config.data = strdup(data);
		if (!config.data)
			die("out of memory");
	}
	if (!strcmp(config.log_level, "debug"))
		log_debug_on(LOGC_IO | LOGC_PARSE | LOGC_STORE | LOGC_TLS | LOGC_PROTO);
	else if (!strcmp(config.log_level, "warn"))
		log_set_level(LOG_WARN);
	else if (!strcmp(config.log_level, "error"))
		log_set_level(LOG_ERR);
	conf_set(&config);
	return 0;
}

int cmd_drop_privileges(bool serving)
{
	const struct conf *cf = conf_get();
	if (geteuid() != 0)
		return 0;
	if (!cf->user) {
		if (serving)
			log_warn("running as root: set [server] user to drop privileges");
		return 0;
	}
	struct passwd *pw = getpwnam(cf->user);
	if (!pw) {
		log_err("[server] user %s: no such user", cf->user);
		return -1;
	}
	/* the data dir is the mail user's: everything below it is created after this,
	 * but for the lock file a server takes first, as root */
	char lock[4096];
	if (snprintf(lock, sizeof(lock), "%s/.lock", cf->data) >= (int)sizeof(lock) ||
	    chown(cf->data, pw->pw_uid, pw->pw_gid) < 0 ||
	    (lchown(lock, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT) || setgroups(0, NULL) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_err("cannot become user %s: %s", cf->user, strerror(errno));
		return -1;
	}
	if (serving)
		log_info("running as user %s", cf->user);
	return 0;
}

int cmd_open_store(bool create, struct store_env **env_out)
{
	const struct conf *cf = conf_get();
	if (create && mkdir(cf->data, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "kasten: data dir %s: %s\n", cf->data, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (stat(cf->data, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "kasten: data dir %s does not exist (create one with `kasten init "
			"--data %s`)\n", cf->data, cf->data);
		return -1;
	}
	if (cmd_drop_privileges(false) < 0)
		return -1;
	/* Beside a running server the lock is taken: work on rows only, never recover.
	 * The fd stays open until the command exits. */
	struct cmd_lock_holder holder;
	bool primary = cmd_lock_data(cf->data, "admin", 0, &holder) >= 0;
	int r = store_env_open(cf->backend, cf->data, primary, env_out);
	if (r < 0) {
		fprintf(stderr, "kasten: cannot open the store in %s: %s\n", cf->data, err_str(r));
		return -1;
	}
	return 0;
}
