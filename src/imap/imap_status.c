/* imap_status.c: STATUS (RFC 9051 6.3.11; RFC 3501 6.3.10 for rev1's RECENT) with
 * SIZE (RFC 8438), DELETED (RFC 9051), HIGHESTMODSEQ (RFC 7162 3.1.6), APPENDLIMIT
 * (RFC 7889) and MAILBOXID (RFC 8474 4.2), and the STATUS responses LIST-STATUS sends
 * (RFC 5819, imap_list.c). Every count is a column the store keeps up to date, so a
 * STATUS costs one indexed read, whatever the mailbox's size.
 *
 * The selected mailbox is answered as Dovecot answers it: the changes the session may
 * be told are sent first, then MESSAGES, UIDNEXT, HIGHESTMODSEQ and RECENT are what the
 * session was told (never a number of messages the client has no sequence numbers
 * for), and the completion says [CLIENTBUG] (RFC 9051 6.3.11: STATUS is for other
 * mailboxes). Items come in Dovecot's order, the newer ones after them. */
#include "imap_int.h"

#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE; with a mailbox selected the
 * client learns its HIGHESTMODSEQ at once (as after ENABLE CONDSTORE in Dovecot). */
static void enable_condstore(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->sel)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)s->sel->modseq);
}

void imap_status_put(struct imap_session *s, const struct store_mailbox *mb, unsigned items,
		     struct arena *scratch)
{
	if (items & IMAP_STATUS_HIGHESTMODSEQ)
		enable_condstore(s);
	uint32_t messages = mb->messages, uidnext = mb->uidnext, recent = mb->recent;
	uint64_t modseq = mb->highestmodseq;
	const struct imap_selected *sel = s->sel;
	if (sel && sel->mailbox_id == mb->id) {
		messages = sel->map.total;
		uidnext = sel->uidnext;
		modseq = sel->modseq;
		recent = sel->recent.total;
	}
	const char *name = mb->name;
	char *wire = NULL;
	if (!s->utf8 && imap_mutf7_encode(name, strlen(name), scratch, &wire) == 0)
		name = wire;
	imap_puts(&s->out, "* STATUS ");
	imap_put_astring(&s->out, name, strlen(name), s->utf8);
	const char *sep = " (";
	struct {
		unsigned bit;
		const char *name;
		unsigned long long v;
	} num[] = {
		{IMAP_STATUS_MESSAGES, "MESSAGES", messages},
		{IMAP_STATUS_RECENT, "RECENT", recent},
		{IMAP_STATUS_UIDNEXT, "UIDNEXT", uidnext},
		{IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY", mb->uidvalidity},
		{IMAP_STATUS_UNSEEN, "UNSEEN", mb->unseen},
		{IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ", modseq},
		{IMAP_STATUS_SIZE, "SIZE", mb->bytes},
		{IMAP_STATUS_DELETED, "DELETED", mb->deleted},
		{IMAP_STATUS_APPENDLIMIT, "APPENDLIMIT", conf_get()->max_message_size},
	};
	for (size_t i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		if (items & num[i].bit) {
			imap_putf(&s->out, "%s%s %llu", sep, num[i].name, num[i].v);
			sep = " ";
		}
	}
	if ((items & IMAP_STATUS_MAILBOXID) && mb->mailboxid) {
		/* objectid: 1*255 ID-CHAR (RFC 8474 3), written by the store as hex */
		imap_puts(&s->out, sep);
		imap_puts(&s->out, "MAILBOXID (");
		imap_puts(&s->out, mb->mailboxid);
		imap_puts(&s->out, ")");
		sep = " ";
	}
	imap_puts(&s->out, ")\r\n");
}

/* The answer for arguments the interpreter refused: BAD counts towards the limit. */
static void refuse(struct imap_session *s, const char *why)
{
	if (!strncmp(why, "BAD ", 4))
		imap_bad(s, why + 4);
	else
		imap_tagged(s, "%s", why);
}

int imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_status p;
	const char *why = NULL;
	if (imap_parse_status(cmd, &p, &why) < 0) {
		refuse(s, why ? why : "BAD Invalid STATUS arguments");
		return 0;
	}
	if (s->rev2 && (p.items & IMAP_STATUS_RECENT)) { /* RFC 9051 Appendix E */
		imap_bad(s, "RECENT is not a status item of IMAP4rev2");
		return 0;
	}
	const char *name = imap_name_in(s, p.mailbox);
	if (!name)
		return 0;
	struct store *st = imap_store_open(s);
	if (!st)
		return 0;
	struct store_mailbox mb;
	int r = store_mailbox_get(st, name, &s->ca, &mb);
	bool selected = r == 0 && s->sel && s->sel->mailbox_id == mb.id;
	if (selected) {
		/* what the session may be told goes first, then the counts after it; the
		 * store is looked at now, not only once notify/'s wake-up has come */
		s->sel->woken = true;
		imap_sync_send(s, true);
		if (s->sel)
			r = store_mailbox_get_id(st, mb.id, &s->ca, &mb);
	}
	imap_store_close(&st);
	if (r == ERR_NOTFOUND) {
		imap_done(s, "NO [NONEXISTENT] No such mailbox");
		return 0;
	}
	if (r < 0) {
		log_err("status: %s", err_str(r));
		imap_done(s, "NO [UNAVAILABLE] Cannot read the mailbox now, try again later");
		return 0;
	}
	imap_status_put(s, &mb, p.items, &s->ca);
	if (selected)
		imap_done(s, "OK [CLIENTBUG] STATUS on the selected mailbox completed");
	else
		imap_done(s, "OK STATUS completed");
	return 0;
}
