/* client_imap_mbox.c: the IMAP client's mailbox and session commands: ENABLE (also sent
 * ahead of the next command), LIST (with RETURN (SPECIAL-USE) or RETURN (STATUS)), the
 * hierarchy delimiter, CREATE, DELETE, RENAME, SELECT/EXAMINE (with QRESYNC), NOOP and
 * IDLE. No state of its own beyond the session's. */
#include "client/client_imap_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/banned.h"

int client_imap_enable(struct client_imap *s, unsigned caps, unsigned *enabled_out)
{
	static const struct {
		unsigned cap;
		const char *name;
	} names[] = {
		{CLIENT_IMAP_CAP_CONDSTORE, " CONDSTORE"},
		{CLIENT_IMAP_CAP_QRESYNC, " QRESYNC"},
		{CLIENT_IMAP_CAP_UTF8_ACCEPT, " UTF8=ACCEPT"},
	};
	caps &= s->caps;
	if (enabled_out)
		*enabled_out = s->enabled;
	if (!caps || !(s->caps & CLIENT_IMAP_CAP_ENABLE))
		return 0;
	int r = client_imap_cmd_begin(s, "ENABLE");
	for (size_t i = 0; r == 0 && i < sizeof(names) / sizeof(names[0]); i++)
		if (caps & names[i].cap)
			r = client_imap_cmd_raw(s, names[i].name);
	if (r == 0)
		r = client_imap_cmd_end(s);
	/* RFC 7162 3.2.3: enabling QRESYNC enables CONDSTORE */
	if (s->enabled & CLIENT_IMAP_CAP_QRESYNC)
		s->enabled |= CLIENT_IMAP_CAP_CONDSTORE;
	if (enabled_out)
		*enabled_out = s->enabled;
	return r;
}

int client_imap_enable_ahead(struct client_imap *s, unsigned caps)
{
	/* with UTF8=ACCEPT the next command's mailbox names would be read in a way that
	 * depends on the answer */
	assert(!(caps & CLIENT_IMAP_CAP_UTF8_ACCEPT));
	assert(!s->ahead_tag[0]);
	caps &= s->caps & (CLIENT_IMAP_CAP_CONDSTORE | CLIENT_IMAP_CAP_QRESYNC);
	s->ahead_caps = caps;
	s->ahead_err = 0;
	if (!caps || !(s->caps & CLIENT_IMAP_CAP_ENABLE))
		return 0;
	int r = client_imap_cmd_begin(s, "ENABLE");
	if (r == 0 && (caps & CLIENT_IMAP_CAP_CONDSTORE))
		r = client_imap_cmd_raw(s, " CONDSTORE");
	if (r == 0 && (caps & CLIENT_IMAP_CAP_QRESYNC))
		r = client_imap_cmd_raw(s, " QRESYNC");
	/* no flush: it goes out with the next command */
	if (r == 0)
		r = client_imap_cmd_raw(s, "\r\n");
	if (r < 0)
		return r;
	memcpy(s->ahead_tag, s->tag, sizeof(s->ahead_tag));
	return 0;
}

int client_imap_enable_result(struct client_imap *s, unsigned *enabled_out)
{
	if (!s->ahead_caps)
		return ERR_INVAL;
	s->ahead_caps = 0;
	/* its answer has not come with the next command's (or there was none) */
	if (s->ahead_tag[0] && client_conn_flush(s->conn) < 0)
		return client_imap_fail(s, ERR_IO, "connection lost: %s",
					client_conn_error(s->conn));
	while (s->ahead_tag[0]) {
		int r = client_imap_read_response(s);
		if (r < 0)
			return r;
		const struct client_imap_resp *rp = s->ps.resp;
		if (rp->kind == CLIENT_IMAP_RESP_TAGGED && !strcmp(rp->tag, s->ahead_tag))
			r = client_imap_ahead_done(s, rp);
		else if (rp->kind == CLIENT_IMAP_RESP_UNTAGGED)
			r = client_imap_resp_untagged(s, rp);
		else
			r = client_imap_fail(s, ERR_BAD_SYNTAX, "ENABLE: unexpected response");
		if (r < 0)
			return r;
	}
	if (s->ahead_err) {
		snprintf(s->err, sizeof(s->err), "%s", s->ahead_text);
		return s->ahead_err;
	}
	/* RFC 7162 3.2.3: enabling QRESYNC enables CONDSTORE */
	if (s->enabled & CLIENT_IMAP_CAP_QRESYNC)
		s->enabled |= CLIENT_IMAP_CAP_CONDSTORE;
	if (enabled_out)
		*enabled_out = s->enabled;
	return 0;
}

int client_imap_list(struct client_imap *s, const char *pattern, bool special_use)
{
	int r = client_imap_cmd_begin(s, "LIST");
	if (r == 0)
		r = client_imap_cmd_raw(s, " \"\" ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, pattern);
	if (r == 0 && special_use && (s->caps & CLIENT_IMAP_CAP_SPECIAL_USE) &&
	    (s->caps & CLIENT_IMAP_CAP_LIST_EXTENDED))
		r = client_imap_cmd_raw(s, " RETURN (SPECIAL-USE)");
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_list_status(struct client_imap *s, const char *pattern, unsigned items)
{
	static const struct {
		unsigned item;
		const char *name;
	} names[] = {
		{CLIENT_IMAP_STATUS_MESSAGES, "MESSAGES"},
		{CLIENT_IMAP_STATUS_UIDNEXT, "UIDNEXT"},
		{CLIENT_IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY"},
		{CLIENT_IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ"},
	};
	if (!(s->caps & CLIENT_IMAP_CAP_LIST_STATUS))
		return ERR_INVAL;
	/* RFC 7162 3.1: the STATUS item belongs to CONDSTORE */
	if (!(s->caps & CLIENT_IMAP_CAP_CONDSTORE))
		items &= ~(unsigned)CLIENT_IMAP_STATUS_HIGHESTMODSEQ;
	if (!items)
		return ERR_INVAL;
	int r = client_imap_cmd_begin(s, "LIST");
	if (r == 0)
		r = client_imap_cmd_raw(s, " \"\" ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, pattern);
	if (r == 0)
		r = client_imap_cmd_raw(s, " RETURN (STATUS (");
	const char *sep = "";
	for (size_t i = 0; r == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(items & names[i].item))
			continue;
		r = client_imap_cmd_printf(s, "%s%s", sep, names[i].name);
		sep = " ";
	}
	if (r == 0)
		r = client_imap_cmd_raw(s, "))");
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_delimiter(struct client_imap *s, char *delim_out)
{
	if (!s->have_delim) {
		/* RFC 9051 6.3.9: LIST "" "" gives the delimiter and no mailbox */
		const struct client_imap_events *ev = s->ev;
		s->ev = NULL;
		int r = client_imap_cmd_begin(s, "LIST");
		if (r == 0)
			r = client_imap_cmd_raw(s, " \"\" \"\"");
		if (r == 0)
			r = client_imap_cmd_end(s);
		s->ev = ev;
		if (r < 0)
			return r;
		s->have_delim = true; /* NIL: a flat namespace, delim stays 0 */
	}
	*delim_out = s->delim;
	return 0;
}

static int one_name(struct client_imap *s, const char *verb, const char *name)
{
	int r = client_imap_cmd_begin(s, verb);
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, name);
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_create(struct client_imap *s, const char *name)
{
	return one_name(s, "CREATE", name);
}

int client_imap_delete(struct client_imap *s, const char *name)
{
	return one_name(s, "DELETE", name);
}

int client_imap_rename(struct client_imap *s, const char *from, const char *to)
{
	int r = client_imap_cmd_begin(s, "RENAME");
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, from);
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, to);
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_select(struct client_imap *s, const char *name, bool readonly,
		       const struct client_imap_qresync *qr, struct client_imap_mailbox *mb_out)
{
	memset(&s->sel, 0, sizeof(s->sel));
	s->sel.readonly = readonly;
	int r = client_imap_cmd_begin(s, readonly ? "EXAMINE" : "SELECT");
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, name);
	if (r == 0 && qr)
		r = client_imap_cmd_printf(s, " (QRESYNC (%u %llu%s%s))", qr->uidvalidity,
					   (unsigned long long)qr->modseq,
					   qr->known_uids ? " " : "",
					   qr->known_uids ? qr->known_uids : "");
	if (r == 0)
		r = client_imap_cmd_end(s);
	if (r < 0)
		return r;
	if (s->sel.nomodseq)
		s->sel.highestmodseq = 0;
	*mb_out = s->sel;
	return 0;
}

int client_imap_noop(struct client_imap *s)
{
	int r = client_imap_cmd_begin(s, "NOOP");
	return r < 0 ? r : client_imap_cmd_end(s);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait in IDLE for a change or the deadline. */
static int idle_wait(struct client_imap *s, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	while (!s->activity && !s->cb_rc) {
		long long left = end - now_ms();
		if (left <= 0)
			return 0;
		int r = client_conn_wait(s->conn, (int)left);
		if (r < 0)
			return client_imap_fail(s, r, "connection lost: %s",
						client_conn_error(s->conn));
		if (r == 0)
			return 0;
		r = client_imap_read_response(s);
		if (r < 0)
			return r;
		if (s->ps.resp->kind != CLIENT_IMAP_RESP_UNTAGGED)
			return client_imap_fail(s, ERR_BAD_SYNTAX, "IDLE: unexpected response");
		r = client_imap_resp_untagged(s, s->ps.resp);
		if (r < 0)
			return r;
	}
	return 0;
}

int client_imap_idle(struct client_imap *s, int timeout_ms)
{
	if (!(s->caps & CLIENT_IMAP_CAP_IDLE))
		return ERR_INVAL;
	int r = client_imap_cmd_begin(s, "IDLE");
	if (r == 0)
		r = client_imap_cmd_raw(s, "\r\n");
	if (r < 0)
		return r;
	if (client_conn_flush(s->conn) < 0)
		return client_imap_fail(s, ERR_IO, "connection lost: %s", client_conn_error(s->conn));
	s->activity = false;
	r = client_imap_wait(s, true);
	if (r < 0)
		return r;
	if (r == 0) /* refused */
		return client_imap_result(s) < 0 ? client_imap_result(s) : ERR_PERM;
	r = idle_wait(s, timeout_ms);
	if (r < 0)
		return r;
	/* RFC 2177 3: DONE ends the IDLE; the tagged OK follows */
	r = client_imap_cmd_raw(s, "DONE");
	if (r == 0)
		r = client_imap_cmd_end(s);
	if (r < 0)
		return r;
	return s->activity ? 1 : 0;
}
