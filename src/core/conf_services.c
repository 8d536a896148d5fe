/* conf_services.c: the client-facing mail services of the configuration
 * (conf_services.h). The address part of a listener is not looked at: a listener bound
 * to loopback only is still offered under [server] hostname, because that is how an
 * admin runs kasten behind a proxy or port forwarding (docs/operations.md). */
#include "core/conf_services.h"

#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/banned.h"

unsigned conf_listen_port(const char *listen)
{
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	if (!colon)
		return 0;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	return *end == '\0' && port <= 65535 ? (unsigned)port : 0;
}

void conf_services(const struct conf *c, struct conf_service out[CONF_SERVICES])
{
	const struct conf_service order[CONF_SERVICES] = {
	    {CONF_SERVICE_IMAP, true, "imaps", conf_listen_port(c->imaps)},
	    {CONF_SERVICE_IMAP, false, "imap", conf_listen_port(c->imap)},
	    {CONF_SERVICE_POP3, true, "pop3s", c->pop3_enabled ? conf_listen_port(c->pop3s) : 0},
	    {CONF_SERVICE_POP3, false, "pop3", c->pop3_enabled ? conf_listen_port(c->pop3) : 0},
	    {CONF_SERVICE_SUBMISSION, true, "submissions", conf_listen_port(c->submissions)},
	    {CONF_SERVICE_SUBMISSION, false, "submission", conf_listen_port(c->submission)},
	};
	for (int i = 0; i < CONF_SERVICES; i++)
		out[i] = order[i];
}
