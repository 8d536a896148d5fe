/* cmd_common.c: option handling shared by every subcommand. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/log.h"
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
		log_set_level(LOG_DEBUG);
	else if (!strcmp(config.log_level, "warn"))
		log_set_level(LOG_WARN);
	else if (!strcmp(config.log_level, "error"))
		log_set_level(LOG_ERR);
	conf_set(&config);
	return 0;
}
