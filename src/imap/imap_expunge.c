/* imap_expunge.c: EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (6.4.9, RFC 4315 2.1), and
 * the expunge responses of this session's own removals (also MOVE's, imap_copy.c).
 *
 * The store removes the messages that carry \Deleted when its transaction runs (of the
 * UID set, for UID EXPUNGE) and returns their UIDs; the answer is one EXPUNGE per
 * message the client knows, from the highest sequence number down so that each number
 * is still right when the client reads it (7.4.1), or one VANISHED with the UIDs once
 * QRESYNC is enabled (RFC 7162 3.2.10), whose tagged OK then carries the new
 * HIGHESTMODSEQ (3.2.7, as Dovecot does). Expunges by others that were held back go
 * out with it (imap_done). Memory: the UID lists in the job's arena. */
#include "imap/imap_write.h"

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

/* Ascending in place (the list was collected from the top down). */
static void reverse(uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		uint32_t x = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = x;
	}
}

void imap_expunge_send(struct imap_session *s, const uint32_t *gone, size_t n, struct arena *a)
{
	struct imap_selected *sel = s->sel;
	uint32_t recent = sel->recent.total;
	uint32_t *known = n ? arena_alloc(a, n * sizeof(*known)) : NULL;
	size_t k = 0;
	for (size_t i = n; i-- > 0;) { /* from the top: the numbers below stay put */
		int64_t seq = imap_uidmap_remove(&sel->map, gone[i]);
		if (seq < 0) {
			log_err("imap: expunge: the sequence map is out of memory");
			continue;
		}
		if (seq == 0)
			continue; /* arrived after the last EXISTS: the client never saw it */
		(void)imap_recent_drop(sel, gone[i]); /* rev1: if it had \Recent here */
		if (!s->qresync)
			imap_untagged(s, "%lld EXPUNGE", (long long)seq);
		else if (known)
			known[k++] = gone[i];
		else /* no room for the list: one VANISHED each is as valid */
			imap_untagged(s, "VANISHED %u", gone[i]);
	}
	if (k) {
		reverse(known, k);
		imap_puts(&s->out, "* VANISHED ");
		imap_put_uidset(&s->out, known, k);
		imap_puts(&s->out, "\r\n");
	}
	/* RFC 3501 7.3.2: the count of \Recent messages changed, which the client does
	 * not derive from EXPUNGE (7.4.1 decrements only the message count); as Dovecot */
	if (!s->rev2 && sel->recent.total != recent)
		imap_untagged(s, "%u RECENT", sel->recent.total);
}

void imap_expunge_done(struct imap_session *s, uint64_t modseq, const char *text)
{
	if (!s->qresync || !modseq) {
		imap_done(s, "OK %s", text);
		return;
	}
	/* the updates first, so that the HIGHESTMODSEQ given covers all of them */
	s->sel->woken = true;
	imap_sync_send(s, true);
	imap_done(s, "OK [HIGHESTMODSEQ %llu] %s", (unsigned long long)s->sel->modseq, text);
}

struct expunge_state {
	uint32_t *uids; /* UID EXPUNGE: the set; NULL for EXPUNGE (every \Deleted one) */
	size_t n;
	uint32_t *gone;
	size_t ngone;
	uint64_t modseq;
};

static int expunge_work(struct imap_job *j, struct store *st)
{
	struct expunge_state *t = j->state;
	return store_expunge_deleted(st, j->mailbox, t->uids, t->n, &j->a, &t->gone, &t->ngone,
	                             &t->modseq);
}

static void expunge_done(struct imap_session *s, struct imap_job *j)
{
	struct expunge_state *t = j->state;
	if (j->result < 0) {
		imap_job_fail(s, j->result, "EXPUNGE");
		return;
	}
	if (!t->ngone) {
		imap_done(s, "OK Expunge completed");
		return;
	}
	imap_sync_own(s, t->modseq);
	imap_expunge_send(s, t->gone, t->ngone, &j->a);
	imap_expunge_done(s, t->modseq, "Expunge completed");
}

int imap_cmd_expunge(struct imap_session *s, struct imap_cmd *cmd)
{
	if (cmd->nargs != (cmd->uid ? 1u : 0u)) {
		imap_bad(s,
		         cmd->uid ? "UID EXPUNGE takes a UID set" : "EXPUNGE takes no arguments");
		return 0;
	}
	if (s->sel->readonly) {
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only (EXAMINE)");
		return 0;
	}
	struct imap_job *j = imap_job_new(s);
	if (!j)
		return 0;
	struct expunge_state *t = arena_zalloc(&j->a, sizeof(*t));
	int r = t ? 0 : ERR_NOMEM;
	if (r == 0 && cmd->uid) {
		struct imap_seqset set;
		r = imap_arg_seqset(cmd->args, &j->a, &set);
		if (r < 0 && r != ERR_TOO_BIG && r != ERR_NOMEM) {
			imap_job_free(s);
			imap_bad(s, "Invalid UID set");
			return 0;
		}
		if (r == 0)
			r = imap_msgset_uids(s, &set, true, &j->a, &t->uids, &t->n);
		if (r == 0 && t->n == 0) { /* none of them is a message now: nothing to do */
			imap_job_free(s);
			imap_done(s, "OK Expunge completed");
			return 0;
		}
	}
	if (r < 0) {
		imap_job_free(s);
		imap_msgset_refuse(s, r);
		return 0;
	}
	j->state = t;
	return imap_job_run(s, expunge_work, expunge_done);
}
