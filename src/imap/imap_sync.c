/* imap_sync.c: keeping a selected session's view in step with the mailbox (RFC 9051
 * 5.2, 7.5.1; RFC 7162 3.1.10 and 3.2.10 for MODSEQ and VANISHED). Whatever changed the
 * mailbox (another IMAP session on any loop thread, POP3, a delivery, later JMAP),
 * notify/ wakes the session; here it compares the store with what the client was told
 * (UIDNEXT, the modseq, the sequence-number map) and sends EXPUNGE or VANISHED, EXISTS,
 * RECENT and FETCH (FLAGS ...). EXPUNGE is held back while it may not be sent (during
 * FETCH, STORE and SEARCH by sequence number, 7.5.1) and goes out at the next chance;
 * until then the expunged messages keep their sequence numbers. A session's own
 * changes are not echoed back: it answered them itself. */
#include "imap_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

void imap_sync_own(struct imap_session *s, uint64_t modseq)
{
	struct imap_selected *sel = s->sel;
	if (!sel)
		return;
	if (sel->nown == sel->capown && sel->capown < LIMIT_IMAP_OWN_CHANGES) {
		size_t cap = sel->capown ? sel->capown * 2 : 16;
		uint64_t *own = realloc(sel->own, cap * sizeof(*own));
		if (own)
			sel->own = own, sel->capown = cap;
	}
	if (sel->nown < sel->capown) /* else the change is echoed: harmless */
		sel->own[sel->nown++] = modseq;
	/* the change may have made new messages (APPEND, COPY into the selected mailbox)
	 * whose EXISTS goes before the tagged OK; notify/'s wake-up may come later */
	sel->woken = true;
}

static bool is_own(const struct imap_selected *sel, uint64_t modseq)
{
	for (size_t i = 0; i < sel->nown; i++)
		if (sel->own[i] == modseq)
			return true;
	return false;
}

void imap_sync_wake(void *arg)
{
	struct imap_session *s = arg;
	if (!s->sel)
		return;
	s->sel->woken = true;
	if (s->mode == IMAP_MODE_IDLE)
		imap_sync_send(s, true); /* RFC 2177: at once */
}

/* UIDs (ascending) as a uid-set: "1:3,7,9:12". */
void imap_put_uidset(const struct imap_sink *o, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (j > i)
			imap_putf(o, "%s%u:%u", i ? "," : "", uids[i], uids[j]);
		else
			imap_putf(o, "%s%u", i ? "," : "", uids[i]);
		i = j + 1;
	}
}

/* An unsolicited FETCH for a message whose flags changed (always with its UID; with
 * MODSEQ under CONDSTORE, RFC 7162 3.1.10). */
void imap_sync_put_fetch(struct imap_session *s, const struct store_msg *m)
{
	uint32_t seq = imap_uidmap_seq(&s->sel->map, m->uid);
	if (!seq)
		return;
	imap_putf(&s->out, "* %u FETCH (", seq);
	imap_put_msg_flags(s, m);
	imap_putf(&s->out, " UID %u", m->uid);
	if (s->condstore)
		imap_putf(&s->out, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	imap_puts(&s->out, ")\r\n");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* VANISHED (RFC 7162 3.2.10) for a SELECT with QRESYNC or a UID FETCH ... VANISHED:
 * gone[] from the expunge log when complete, else every UID of the client's range
 * (known, or 1..known_max) that is not in the mailbox now (3.2.5.2). */
void imap_sync_vanished(struct imap_session *s, const uint32_t *gone, size_t ngone,
			bool complete, const struct imap_seqset *known, uint32_t known_max,
			bool earlier)
{
	struct imap_selected *sel = s->sel;
	uint32_t *v = NULL;
	size_t n = 0;
	if (complete) {
		v = arena_alloc(&s->ca, (ngone ? ngone : 1) * sizeof(*v));
		for (size_t i = 0; v && i < ngone; i++)
			if (!known || imap_seqset_has(known, gone[i], known_max))
				v[n++] = gone[i];
	} else {
		/* the log does not reach back that far: derive it from what exists now */
		size_t cap = 1024;
		v = malloc(cap * sizeof(*v));
		for (uint32_t uid = 1; v && uid <= known_max; uid++) {
			if (known && !imap_seqset_has(known, uid, known_max))
				continue;
			if (imap_uidmap_seq(&sel->map, uid))
				continue;
			if (n == cap) {
				uint32_t *w = realloc(v, cap * 2 * sizeof(*v));
				if (!w)
					break;
				v = w, cap *= 2;
			}
			v[n++] = uid;
		}
	}
	if (v && n) {
		qsort(v, n, sizeof(*v), cmp_u32);
		imap_puts(&s->out, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
		imap_put_uidset(&s->out, v, n);
		imap_puts(&s->out, "\r\n");
	}
	if (!complete)
		free(v);
}

/* Remember expunged UIDs the client still has a sequence number for. */
static int hold_gone(struct imap_selected *sel, const uint32_t *uids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!imap_uidmap_seq(&sel->map, uids[i]))
			continue;
		bool dup = false;
		for (size_t k = 0; k < sel->ngone && !dup; k++)
			dup = sel->gone[k] == uids[i];
		if (dup)
			continue;
		if (sel->ngone == sel->capgone) {
			size_t cap = sel->capgone ? sel->capgone * 2 : 16;
			uint32_t *g = realloc(sel->gone, cap * sizeof(*g));
			if (!g)
				return ERR_NOMEM;
			sel->gone = g, sel->capgone = cap;
		}
		sel->gone[sel->ngone++] = uids[i];
	}
	return 0;
}

/* Send the held expunges: VANISHED under QRESYNC, else EXPUNGE with the sequence number
 * each has at that moment. */
static void send_gone(struct imap_session *s)
{
	struct imap_selected *sel = s->sel;
	if (!sel->ngone)
		return;
	qsort(sel->gone, sel->ngone, sizeof(*sel->gone), cmp_u32);
	/* rev1: an expunged \Recent message no longer counts; the new count is said, as
	 * after an EXPUNGE command (RFC 3501 7.3.2, as Dovecot) */
	uint32_t recent = sel->recent.total;
	for (size_t i = 0; i < sel->ngone; i++)
		(void)imap_recent_drop(sel, sel->gone[i]);
	if (s->qresync) {
		imap_puts(&s->out, "* VANISHED ");
		imap_put_uidset(&s->out, sel->gone, sel->ngone);
		imap_puts(&s->out, "\r\n");
		for (size_t i = 0; i < sel->ngone; i++)
			(void)imap_uidmap_remove(&sel->map, sel->gone[i]);
	} else {
		for (size_t i = sel->ngone; i-- > 0;) { /* from the top: numbers below stay put */
			int64_t seq = imap_uidmap_remove(&sel->map, sel->gone[i]);
			if (seq > 0)
				imap_untagged(s, "%lld EXPUNGE", (long long)seq);
		}
	}
	if (!s->rev2 && sel->recent.total != recent)
		imap_untagged(s, "%u RECENT", sel->recent.total);
	sel->ngone = 0;
}

static bool held(const struct imap_selected *sel, uint32_t uid)
{
	for (size_t i = 0; i < sel->ngone; i++)
		if (sel->gone[i] == uid)
			return true;
	return false;
}

/* Messages are looked at in windows of this many (UIDs, or sequence numbers the client
 * knows), the arena reset in between: a change to 100,000 messages costs what 4096 do. */
#define SYNC_WINDOW 4096u

/* The last UID of the window of UIDs the client knows that starts at sequence seq. */
static uint32_t window_end(const struct imap_selected *sel, uint32_t seq, uint32_t old_next)
{
	uint32_t last = seq + SYNC_WINDOW - 1;
	return last >= sel->map.total ? old_next - 1 : imap_uidmap_uid(&sel->map, last);
}

/* Expunges since what the client was told: held in sel->gone until they may be sent. */
static int find_gone(struct imap_session *s, struct store *st, struct arena *a)
{
	struct imap_selected *sel = s->sel;
	uint32_t *gone;
	size_t n;
	bool complete;
	int r = store_expunged_since(st, sel->mailbox_id, sel->modseq, 1, sel->uidnext - 1, a,
				     &gone, &n, &complete);
	if (r < 0 || complete)
		return r < 0 ? r : hold_gone(sel, gone, n);
	/* past the log's horizon: every UID the client knows that no longer exists */
	uint32_t total = sel->map.total, old_next = sel->uidnext;
	for (uint32_t seq = 1; r == 0 && seq <= total; seq += SYNC_WINDOW) {
		uint32_t lo = imap_uidmap_uid(&sel->map, seq), hi = window_end(sel, seq, old_next);
		uint32_t *now;
		size_t nn;
		arena_reset(a);
		r = store_msg_uids(st, sel->mailbox_id, lo, hi, a, &now, &nn);
		for (uint32_t q = seq; r == 0 && q < seq + SYNC_WINDOW && q <= total; q++) {
			uint32_t uid = imap_uidmap_uid(&sel->map, q);
			if (!bsearch(&uid, now, nn, sizeof(*now), cmp_u32))
				r = hold_gone(sel, &uid, 1);
		}
	}
	return r;
}

/* New messages into the map; returns how many, or <0. */
static int find_new(struct imap_session *s, struct store *st, uint32_t uidnext, struct arena *a)
{
	struct imap_selected *sel = s->sel;
	int added = 0;
	for (uint32_t first = sel->uidnext; first < uidnext;) {
		uint32_t last = uidnext - first > SYNC_WINDOW ? first + SYNC_WINDOW - 1 : uidnext - 1;
		uint32_t *uids;
		size_t n;
		arena_reset(a);
		int r = store_msg_uids(st, sel->mailbox_id, first, last, a, &uids, &n);
		for (size_t i = 0; r == 0 && i < n; i++)
			if (uids[i] > imap_uidmap_last(&sel->map) &&
			    (r = imap_uidmap_append(&sel->map, uids[i])) == 0)
				added++;
		if (r < 0)
			return r;
		first = last + 1;
	}
	return added;
}

/* Does the mailbox have a keyword the client was not told of in FLAGS? */
static bool keywords_grew(struct imap_session *s, struct store *st, struct arena *a)
{
	const char *kw;
	bool more;
	if (store_mailbox_keywords(st, s->sel->mailbox_id, a, &kw, &more) < 0)
		return false;
	size_t k = kw[0] ? 1 : 0;
	for (const char *p = kw; *p; p++)
		k += *p == ' ';
	return k != s->sel->nkeywords;
}

/* Flags changed by others on messages the client knows, as unsolicited FETCH. */
static int send_changed(struct imap_session *s, struct store *st, uint32_t old_next,
			struct arena *a)
{
	struct imap_selected *sel = s->sel;
	uint32_t total = imap_uidmap_rank(&sel->map, old_next - 1); /* new ones are news */
	for (uint32_t seq = 1; seq <= total; seq += SYNC_WINDOW) {
		uint32_t lo = imap_uidmap_uid(&sel->map, seq), hi = window_end(sel, seq, old_next);
		struct store_msg *v;
		size_t n;
		arena_reset(a);
		int r = store_msg_changed(st, sel->mailbox_id, sel->modseq, lo, hi, a, &v, &n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			if (!is_own(sel, v[i].modseq) && !held(sel, v[i].uid))
				imap_sync_put_fetch(s, &v[i]);
		}
	}
	return 0;
}

/* The store's view against ours; everything the client may be told now is sent.
 * Scratch memory comes from a (an IDLE can see many changes: not the command arena). */
static int sync_with(struct imap_session *s, struct store *st, bool allow_expunge,
		     struct arena *a)
{
	struct imap_selected *sel = s->sel;
	struct store_mailbox mb;
	int r = store_mailbox_get_id(st, sel->mailbox_id, a, &mb);
	if (r == ERR_NOTFOUND) { /* deleted by another session (RFC 9051 7.1.5) */
		imap_untagged(s, "BYE [NONEXISTENT] The selected mailbox was deleted");
		net_conn_close(s->c);
		return 0;
	}
	if (r < 0)
		return r;
	uint64_t highest = mb.highestmodseq;
	uint32_t uidnext = mb.uidnext, old_next = sel->uidnext;
	bool changed = highest != sel->modseq || uidnext != sel->uidnext;
	if (changed && sel->uidnext > 1 && (r = find_gone(s, st, a)) < 0)
		return r;
	if (allow_expunge)
		send_gone(s);
	uint32_t recent_before = sel->recent.total;
	int added = uidnext > sel->uidnext ? find_new(s, st, uidnext, a) : 0;
	if (added < 0)
		return added;
	if (uidnext > sel->uidnext && !s->rev2 && !sel->readonly) {
		uint32_t first, end;
		if (store_recent_claim(st, sel->mailbox_id, &first, &end) == 0 &&
		    imap_recent_take(sel, first, end) < 0)
			log_warn("imap: \\Recent of new messages not kept: out of memory");
	}
	if (uidnext > sel->uidnext)
		sel->uidnext = uidnext;
	/* a keyword new to the mailbox (a STORE, an APPEND, a copy) is announced in a FLAGS
	 * response before any message shows it (RFC 9051 7.3.5) */
	if ((added || highest != sel->modseq) && keywords_grew(s, st, a))
		imap_select_flags(s, st, a);
	/* RFC 9051 7.4.1: EXISTS when the number grew; an EXPUNGE says it shrank */
	if (added)
		imap_untagged(s, "%u EXISTS", sel->map.total);
	if (sel->recent.total != recent_before)
		imap_untagged(s, "%u RECENT", sel->recent.total);
	if (highest != sel->modseq && old_next > 1 && (r = send_changed(s, st, old_next, a)) < 0)
		return r;
	sel->modseq = highest;
	sel->nown = 0;
	if (sel->capown > 64) { /* a big command's list is not kept for the session's life */
		free(sel->own);
		sel->own = NULL;
		sel->capown = 0;
	}
	return 0;
}

void imap_sync_send(struct imap_session *s, bool allow_expunge)
{
	struct imap_selected *sel = s->sel;
	if (!sel || (!sel->woken && !(allow_expunge && sel->ngone)))
		return;
	struct store *st = NULL;
	if (store_open(imap_env, s->account, &st) < 0)
		return; /* the next wake-up or command tries again */
	sel->woken = false;
	struct arena a;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	int r = sync_with(s, st, allow_expunge, &a);
	arena_free(&a);
	store_close(&st);
	if (r < 0) {
		sel->woken = true;
		log_warn("imap: cannot report mailbox changes now: %s", err_str(r));
	}
}
