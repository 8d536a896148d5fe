/* imap_pending.c: the commands whose handlers are being written now, answered with a
 * plain NO meanwhile so the session links and runs. Each handler leaves this file when
 * its own file lands; the file goes when it is empty. */
#include "imap_int.h"

#include "core/banned.h"

static int pending(struct imap_session *s)
{
	imap_tagged(s, "NO [CANNOT] Command not available in this build");
	return 0;
}

int imap_cmd_sort(struct imap_session *s, struct imap_cmd *cmd) { return pending(s); }
int imap_cmd_thread(struct imap_session *s, struct imap_cmd *cmd) { return pending(s); }
