/* jmap_methods.c: the table of JMAP methods the engine dispatches to, and Core/echo
 * (RFC 8620 4). The next wave adds its rows (Mailbox, Email, Thread methods, ...); a row
 * names the capability a request's `using` must hold for the method to be known. */
#include "http/jmap.h"

#include <string.h>

/* Core/echo: the arguments, unchanged (RFC 8620 4.1). */
static int core_echo(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	(void)x;
	*result_out = json_incref(args);
	return 0;
}

const struct jmap_method jmap_methods[] = {
	{"Core/echo", JMAP_CAP_CORE, core_echo},
};
const size_t jmap_methods_n = sizeof jmap_methods / sizeof jmap_methods[0];

const struct jmap_method *jmap_method_find(const char *name)
{
	for (size_t i = 0; i < jmap_methods_n; i++)
		if (strcmp(jmap_methods[i].name, name) == 0)
			return &jmap_methods[i];
	return NULL;
}
