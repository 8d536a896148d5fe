/* client_imap_append.c: APPEND and MULTIAPPEND (RFC 9051 6.3.12, RFC 3502) with flags,
 * INTERNALDATE and APPENDUID (RFC 4315): each message streams from its reader into the
 * literal in LIMIT_CLIENT_IMAP_CHUNK pieces, never whole in memory. Non-synchronizing
 * literals where LITERAL+/LITERAL- allow (no round trip per message). */
#include "client/client_imap_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/banned.h"

static int date_arg(struct client_imap *s, time_t t)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return ERR_INVAL;
	return client_imap_cmd_printf(s, " \"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
				      months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
				      tm.tm_sec);
}

/* One message's arguments and literal. A reader that ends early leaves the connection
 * in the middle of a literal: the session is over. */
static int one(struct client_imap *s, const struct client_imap_append_msg *m)
{
	int r = 0;
	if (m->flags || (m->keywords && *m->keywords)) {
		r = client_imap_cmd_raw(s, " ");
		if (r == 0)
			r = client_imap_cmd_flags(s, m->flags, m->keywords);
	}
	if (r == 0 && m->date)
		r = date_arg(s, m->date);
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_literal_start(s, m->size);
	for (uint64_t left = m->size; r == 0 && left > 0;) {
		size_t cap = left < LIMIT_CLIENT_IMAP_CHUNK ? (size_t)left : LIMIT_CLIENT_IMAP_CHUNK;
		size_t n = 0;
		r = m->read(m->arg, s->chunk, cap, &n);
		if (r < 0 || n == 0 || n > cap)
			return client_imap_fail(s, r < 0 ? r : ERR_IO,
						"APPEND: the message ended %llu bytes before its "
						"size",
						(unsigned long long)left);
		if (client_conn_write(s->conn, s->chunk, n) < 0)
			return client_imap_fail(s, ERR_IO, "connection lost: %s",
						client_conn_error(s->conn));
		left -= n;
	}
	return r;
}

struct uid_fill {
	uint32_t *uids;
	size_t n, i;
};

static int fill_cb(void *arg, uint32_t lo, uint32_t hi)
{
	struct uid_fill *f = arg;
	for (uint64_t u = lo; u <= hi; u++) {
		if (f->i >= f->n)
			return ERR_BAD_SYNTAX;
		f->uids[f->i++] = (uint32_t)u;
	}
	return 0;
}

int client_imap_append(struct client_imap *s, const char *mailbox,
		       const struct client_imap_append_msg *msgs, size_t n,
		       uint32_t *uidvalidity_out, uint32_t *uids_out)
{
	if (uidvalidity_out)
		*uidvalidity_out = 0;
	if (uids_out)
		memset(uids_out, 0, n * sizeof(*uids_out));
	if (n == 0)
		return 0;
	if (n > 1 && !(s->caps & CLIENT_IMAP_CAP_MULTIAPPEND))
		return ERR_INVAL;
	int r = client_imap_cmd_begin(s, "APPEND");
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, mailbox);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = one(s, &msgs[i]);
	if (r == 0)
		r = client_imap_cmd_end(s);
	if (r < 0)
		return r;
	if (s->appenduid_set && uids_out) {
		struct uid_fill f = {uids_out, n, 0};
		/* a set that does not match the messages: no UIDs rather than wrong ones */
		if (client_imap_uidset_each(s->appenduid_set, strlen(s->appenduid_set), fill_cb,
					    &f) < 0 ||
		    f.i != n) {
			memset(uids_out, 0, n * sizeof(*uids_out));
			return 0;
		}
		if (uidvalidity_out)
			*uidvalidity_out = s->appenduid_validity;
	} else if (s->appenduid_set && uidvalidity_out) {
		*uidvalidity_out = s->appenduid_validity;
	}
	return 0;
}
