/* imap_select.c: SELECT and EXAMINE (RFC 9051 6.3.2/6.3.3, RFC 3501 6.3.1 for rev1's
 * RECENT and UNSEEN), with CONDSTORE and QRESYNC (RFC 7162 3.1.8, 3.2.5), and CLOSE /
 * UNSELECT (6.4.1, RFC 3691). The selected state (struct imap_selected) is what the
 * client has been told; notify/ watches the mailbox from here on, and imap_sync.c
 * reports what changes. Memory: the sequence-number map is built from the UIDs read in
 * windows, so a mailbox of any size is listed within the command arena's bound. */
#include "imap_int.h"
#include "imap_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "notify/notify.h"
#include "store/store.h"
#include "core/banned.h"

/* UIDs read per store call while building the map (4 bytes each, in a scratch arena). */
#define SELECT_UID_WINDOW 65536u

void imap_select_free(struct imap_session *s)
{
	struct imap_selected *sel = s->sel;
	if (!sel)
		return;
	imap_uidmap_free(&sel->map);
	imap_uidmap_free(&sel->recent);
	free(sel->name);
	free(sel->saved);
	free(sel->gone);
	free(sel->own);
	free(sel);
	s->sel = NULL;
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

/* Every UID of the mailbox into the map, a window of UIDs at a time. */
static int load_map(struct store *st, struct imap_selected *sel)
{
	uint32_t first = 1;
	while (first < sel->uidnext) {
		uint32_t last = sel->uidnext - first > SELECT_UID_WINDOW ? first + SELECT_UID_WINDOW - 1
									  : sel->uidnext - 1;
		struct arena a;
		arena_init(&a, (SELECT_UID_WINDOW + 16) * sizeof(uint32_t));
		uint32_t *uids;
		size_t n;
		int r = store_msg_uids(st, sel->mailbox_id, first, last, &a, &uids, &n);
		for (size_t i = 0; r == 0 && i < n; i++)
			r = imap_uidmap_append(&sel->map, uids[i]);
		arena_free(&a);
		if (r < 0)
			return r;
		if (last == UINT32_MAX)
			break;
		first = last + 1;
	}
	return 0;
}

/* The FLAGS and PERMANENTFLAGS responses (6.3.2); also sent again when a new keyword
 * appears in the mailbox (imap_sync.c). */
void imap_select_flags(struct imap_session *s, struct store *st, struct arena *a)
{
	const char *kw = "";
	bool more = false;
	if (store_mailbox_keywords(st, s->sel->mailbox_id, a, &kw, &more) < 0)
		kw = "";
	size_t n = 0;
	for (const char *p = kw; *p; p++)
		n += *p == ' ';
	s->sel->nkeywords = kw[0] ? n + 1 : 0;
	imap_puts(&s->out, "* FLAGS (");
	imap_put_flag_names(s, kw);
	imap_puts(&s->out, ")\r\n");
	imap_puts(&s->out, "* OK [PERMANENTFLAGS (");
	if (!s->sel->readonly) {
		imap_put_flag_names(s, kw);
		if (more)
			imap_puts(&s->out, " \\*");
	}
	imap_puts(&s->out, ")] Flags permitted\r\n");
}

bool imap_recent_has(const struct imap_selected *sel, uint32_t uid)
{
	return imap_uidmap_seq(&sel->recent, uid) != 0;
}

int imap_recent_take(struct imap_selected *sel, uint32_t first, uint32_t end)
{
	if (first == 0)
		first = 1;
	if (end <= first)
		return 0;
	/* the messages of the claim are the sequence numbers rank(first-1)+1 .. rank(end-1) */
	uint32_t lo = imap_uidmap_rank(&sel->map, first - 1) + 1, hi = imap_uidmap_rank(&sel->map, end - 1);
	for (uint32_t seq = lo; seq <= hi; seq++) {
		int r = imap_uidmap_append(&sel->recent, imap_uidmap_uid(&sel->map, seq));
		if (r < 0 && r != ERR_INVAL) /* INVAL: held already */
			return r;
	}
	return 0;
}

bool imap_recent_drop(struct imap_selected *sel, uint32_t uid)
{
	return imap_uidmap_remove(&sel->recent, uid) > 0;
}

void imap_condstore_on(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	if (s->sel) /* RFC 7162 3.1.2.1: the client learns the value it now depends on */
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)s->sel->modseq);
}

/* rev1 [UNSEEN n]: the sequence number of the first message without \Seen. */
static uint32_t first_unseen(struct store *st, struct imap_selected *sel, struct arena *a)
{
	for (uint32_t seq = 1; seq <= sel->map.total; seq += 1024) {
		uint32_t lo = imap_uidmap_uid(&sel->map, seq);
		uint32_t last = seq + 1023 > sel->map.total ? sel->map.total : seq + 1023;
		uint32_t hi = imap_uidmap_uid(&sel->map, last);
		struct store_msg *v;
		size_t n;
		if (store_msg_list(st, sel->mailbox_id, lo, hi, a, &v, &n) < 0)
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!(v[i].flags & STORE_F_SEEN))
				return imap_uidmap_seq(&sel->map, v[i].uid);
		arena_reset(a);
	}
	return 0;
}

/* QRESYNC (RFC 7162 3.2.5): what changed since the client's modseq. VANISHED (EARLIER)
 * for UIDs gone (from the expunge log, or, where the log does not reach that far back,
 * every UID of the client's range that no longer exists), then the flags of messages
 * changed since. */
static int qresync(struct imap_session *s, struct store *st, const struct imap_select *p)
{
	struct imap_selected *sel = s->sel;
	uint32_t known_max = sel->uidnext > 1 ? sel->uidnext - 1 : 0;
	uint32_t *gone = NULL;
	size_t ngone = 0;
	bool complete = false;
	int r = store_expunged_since(st, sel->mailbox_id, p->modseq, 1, known_max, &s->ca, &gone,
				     &ngone, &complete);
	if (r < 0)
		return r;
	imap_sync_vanished(s, gone, ngone, complete, p->has_known_uids ? &p->known_uids : NULL,
			   known_max, true);
	struct store_msg *v;
	size_t n;
	r = store_msg_changed(st, sel->mailbox_id, p->modseq, 1, known_max, &s->ca, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		imap_sync_put_fetch(s, &v[i]);
	return r;
}

static void answer_select(struct imap_session *s, struct store *st,
			  const struct store_mailbox *mb, const struct imap_select *p)
{
	struct imap_selected *sel = s->sel;
	imap_select_flags(s, st, &s->ca);
	imap_untagged(s, "%u EXISTS", sel->map.total);
	if (!s->rev2) {
		imap_untagged(s, "%u RECENT", sel->recent.total);
		uint32_t unseen = mb->unseen ? first_unseen(st, sel, &s->ca) : 0;
		if (unseen)
			imap_untagged(s, "OK [UNSEEN %u] First unseen", unseen);
	}
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", sel->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", sel->uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)sel->modseq);
	if (mb->mailboxid)
		imap_untagged(s, "OK [MAILBOXID (%s)] Ok", mb->mailboxid);
	if (s->rev2) { /* RFC 9051 6.3.2: the LIST response for the mailbox */
		imap_puts(&s->out, "* LIST () \"/\" ");
		imap_name_out(s, sel->name);
		imap_puts(&s->out, "\r\n");
	}
	if (p->qresync && p->uidvalidity == sel->uidvalidity && qresync(s, st, p) < 0)
		log_warn("select: QRESYNC data incomplete");
	imap_done(s, "OK [%s] %s completed", sel->readonly ? "READ-ONLY" : "READ-WRITE",
		  s->cmd->verb == IMAP_VERB_EXAMINE ? "EXAMINE" : "SELECT");
}

int imap_cmd_select(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_select p;
	const char *why = NULL;
	if (imap_parse_select(cmd, &s->ca, &p, &why) < 0) {
		imap_tagged(s, "%s", why ? why : "BAD Invalid SELECT arguments");
		return 0;
	}
	if (p.qresync && !s->qresync) {
		imap_bad(s, "QRESYNC is not enabled"); /* RFC 7162 3.2.5 */
		return 0;
	}
	/* RFC 9051 6.3.2: a SELECT, successful or not, first closes the current mailbox,
	 * without expunging; rev2 and QRESYNC clients are told so with [CLOSED] */
	if (s->sel) {
		imap_select_free(s);
		if (s->rev2 || s->qresync)
			imap_untagged(s, "OK [CLOSED] Previous mailbox is now closed");
	}
	if (p.condstore)
		s->condstore = true; /* RFC 7162 3.1.8; HIGHESTMODSEQ comes with the answer */
	const char *name = imap_name_in(s, p.mailbox);
	if (!name)
		return 0;
	struct store *st = imap_store_open(s);
	if (!st)
		return 0;
	struct store_mailbox mb;
	int r = store_mailbox_get(st, name, &s->ca, &mb);
	if (r == ERR_NOTFOUND) {
		imap_store_close(&st);
		imap_tagged(s, "NO [NONEXISTENT] No such mailbox");
		return 0;
	}
	struct imap_selected *sel = calloc(1, sizeof(*sel));
	if (r == 0 && !sel)
		r = ERR_NOMEM;
	if (r == 0) {
		s->sel = sel;
		sel->mailbox_id = mb.id;
		sel->name = strdup(mb.name);
		sel->readonly = cmd->verb == IMAP_VERB_EXAMINE;
		sel->uidvalidity = mb.uidvalidity;
		sel->uidnext = mb.uidnext;
		sel->modseq = mb.highestmodseq;
		imap_uidmap_init(&sel->map);
		imap_uidmap_init(&sel->recent);
		r = sel->name ? load_map(st, sel) : ERR_NOMEM;
	}
	/* rev1 \Recent (RFC 3501 2.3.2): this session takes what nobody has claimed;
	 * EXAMINE claims nothing */
	if (r == 0 && !s->rev2 && !sel->readonly) {
		uint32_t first, end;
		r = store_recent_claim(st, mb.id, &first, &end);
		if (r == 0)
			r = imap_recent_take(sel, first, end);
	}
	if (r == 0 && !s->watch)
		r = notify_watch(net_conn_base(s->c), s->account, mb.id, imap_sync_wake, s, &s->watch);
	else if (r == 0)
		notify_rewatch(s->watch, mb.id);
	if (r < 0) {
		log_err("select: %s", err_str(r));
		imap_select_free(s);
		imap_store_close(&st);
		imap_tagged(s, "NO [UNAVAILABLE] Cannot open the mailbox now");
		return 0;
	}
	s->state = IMAP_STATE_SELECTED;
	answer_select(s, st, &mb, &p);
	imap_store_close(&st);
	return 0;
}

/* The selection ends: CLOSE and UNSELECT answer alike. */
static void close_done(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_select_free(s);
	if (s->watch) /* stay watching nothing in particular until the next SELECT */
		notify_rewatch(s->watch, -1);
	imap_tagged(s, "OK %s completed", cmd->verb == IMAP_VERB_CLOSE ? "CLOSE" : "UNSELECT");
}

static int close_work(struct imap_job *j, struct store *st)
{
	uint32_t *gone;
	size_t ngone;
	uint64_t modseq;
	return store_expunge_deleted(st, j->mailbox, NULL, 0, &j->a, &gone, &ngone, &modseq);
}

static void close_expunged(struct imap_session *s, struct imap_job *j)
{
	if (j->result < 0) {
		log_err("close: expunge: %s", err_str(j->result));
		imap_tagged(s, "NO [UNAVAILABLE] Cannot expunge now; mailbox stays selected");
		return;
	}
	close_done(s, s->cmd);
}

/* CLOSE expunges \Deleted messages silently (unless read-only), durably, on the worker
 * pool; UNSELECT does not (RFC 3691). Either way no EXPUNGE responses (6.4.1). */
int imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->verb == IMAP_VERB_CLOSE && !s->sel->readonly)
		return imap_job_new(s) ? imap_job_run(s, close_work, close_expunged) : 0;
	close_done(s, cmd);
	return 0;
}
