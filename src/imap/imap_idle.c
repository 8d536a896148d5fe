/* imap_idle.c: IDLE (RFC 2177, RFC 9051 6.3.13). After the "+" the session sends the
 * selected mailbox's changes the moment notify/ reports them (imap_sync_wake runs on
 * this session's loop thread), until the client sends DONE. The inactivity timeout
 * still applies (clients re-issue IDLE within 29 minutes, RFC 2177 3). */
#include "imap_int.h"

#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/banned.h"

/* The IDLE command stays in progress (its tag in the command arena) until DONE. */
int imap_cmd_idle(struct imap_session *s, struct imap_cmd *cmd)
{
	if (s->sel)
		imap_sync_send(s, true); /* what happened before IDLE began */
	s->mode = IMAP_MODE_IDLE;
	(void)net_conn_write(s->c, "+ idling\r\n", 10);
	return 0;
}

int imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	log_debug(LOGC_PROTO, "C: %.*s", len < 16 ? (int)len : 16, line);
	s->mode = IMAP_MODE_COMMAND;
	if (len != 4 || strncasecmp(line, "DONE", 4))
		imap_bad(s, "Expected DONE to end IDLE");
	else
		imap_done(s, "OK IDLE terminated");
	return 0;
}
