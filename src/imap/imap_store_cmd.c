/* imap_store_cmd.c: STORE and UID STORE (RFC 9051 6.4.6, 6.4.9), with the UNCHANGEDSINCE
 * modifier and [MODIFIED] of CONDSTORE (RFC 7162 3.1.3), and the conversion of client
 * flags to what the store keeps (also for APPEND).
 *
 * The change is one store_flags call on the worker pool (one transaction, one flush);
 * then the answer: a FLAGS/PERMANENTFLAGS pair first when the STORE gave the mailbox a
 * keyword the client was not told of (7.3.5), then an untagged FETCH for each message
 * whose flags changed (none for a message the STORE left as it was), as Dovecot does,
 * with its items in Dovecot's order:
 *   UID     for UID STORE (6.4.9: a FETCH caused by a UID command carries it), and
 *           under QRESYNC (RFC 7162 3.2.4);
 *   MODSEQ  under CONDSTORE, also with .SILENT (RFC 7162 3.1.3: the FETCH "MUST be
 *           sent, even if the .SILENT suffix is specified");
 *   FLAGS   unless .SILENT.
 * Messages refused by UNCHANGEDSINCE go into the tagged [MODIFIED]: sequence numbers,
 * or UIDs for UID STORE (3.1.3). No EXPUNGE during STORE by sequence number (7.5.1:
 * imap_done holds them back).
 * Memory: the UID list and the store's result lists in the job's arena; the flags of
 * the changed messages are read back in windows of STORE_WINDOW UIDs. */
#include "imap/imap_write.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

/* Changed UIDs read back per store_msg_list call; a gap wider than STORE_GAP between
 * two changed UIDs starts a new call rather than reading the messages in between. */
#define STORE_WINDOW 1024u
#define STORE_GAP 64u

int imap_store_cmd_flags(const struct imap_flags *f, struct arena *a, unsigned *flags_out,
                         const char **kw_out)
{
	/* the five system flags have the store's values (imap_parse.h) */
	unsigned flags = f->sys & (STORE_F_SEEN | STORE_F_ANSWERED | STORE_F_FLAGGED |
	                           STORE_F_DELETED | STORE_F_DRAFT);
	size_t len = 0;
	for (size_t i = 0; i < f->nkw; i++)
		len += strlen(f->kw[i]) + 1;
	char *kw = arena_alloc(a, len + 1);
	if (!kw)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < f->nkw; i++) {
		unsigned bit = imap_keyword_bit(f->kw[i], strlen(f->kw[i]));
		if (bit) {
			flags |= bit;
			continue;
		}
		size_t l = strlen(f->kw[i]);
		if (n)
			kw[n++] = ' ';
		memcpy(kw + n, f->kw[i], l);
		n += l;
	}
	kw[n] = '\0';
	*flags_out = flags;
	*kw_out = kw;
	return 0;
}

void imap_store_cmd_keywords(struct imap_session *s, struct arena *a)
{
	struct store *st = NULL;
	if (store_open(imap_env, s->account, &st) < 0)
		return; /* imap_sync.c notices it at its next look */
	const char *kw;
	bool more;
	if (store_mailbox_keywords(st, s->sel->mailbox_id, a, &kw, &more) == 0) {
		size_t n = kw[0] ? 1 : 0;
		for (const char *p = kw; *p; p++)
			n += *p == ' ';
		if (n != s->sel->nkeywords)
			imap_select_flags(s, st, a);
	}
	store_close(&st);
}

struct store_state {
	uint32_t *uids;
	size_t n;
	bool silent;
	bool uid;
	struct store_flags_change change;
	struct store_flags_result res;
	bool new_keywords; /* the STORE may have given the mailbox a keyword */
};

static int store_work(struct imap_job *j, struct store *st)
{
	struct store_state *t = j->state;
	return store_flags(st, j->mailbox, t->uids, t->n, &t->change, &j->a, &t->res);
}

/* One untagged FETCH for a changed message, its items in Dovecot's order. */
static void put_fetch(struct imap_session *s, const struct store_state *t,
                      const struct store_msg *m)
{
	uint32_t seq = imap_uidmap_seq(&s->sel->map, m->uid);
	if (!seq)
		return;
	imap_putf(&s->out, "* %u FETCH (", seq);
	const char *sep = "";
	if (t->uid || s->qresync) { /* RFC 7162 3.2.4: every FETCH carries UID then */
		imap_putf(&s->out, "UID %u", m->uid);
		sep = " ";
	}
	if (s->condstore) {
		imap_putf(&s->out, "%sMODSEQ (%llu)", sep, (unsigned long long)m->modseq);
		sep = " ";
	}
	if (!t->silent) {
		imap_puts(&s->out, sep);
		imap_put_msg_flags(s, m);
	}
	imap_puts(&s->out, ")\r\n");
}

/* The FETCH responses for the changed messages (ascending), read back in windows. */
static int put_changed(struct imap_session *s, struct store_state *t)
{
	const uint32_t *v = t->res.changed;
	size_t n = t->res.n_changed;
	struct store *st = NULL;
	int r = store_open(imap_env, s->account, &st);
	struct arena a;
	arena_init(&a, LIMIT_COMMAND_ARENA);
	for (size_t i = 0; r == 0 && i < n;) {
		size_t e = i + 1;
		while (e < n && e - i < STORE_WINDOW && v[e] - v[e - 1] <= STORE_GAP)
			e++;
		struct store_msg *m;
		size_t nm;
		r = store_msg_list(st, s->sel->mailbox_id, v[i], v[e - 1], &a, &m, &nm);
		for (size_t k = 0, q = i; r == 0 && k < nm; k++) {
			while (q < e && v[q] < m[k].uid)
				q++;
			if (q < e && v[q] == m[k].uid)
				put_fetch(s, t, &m[k]);
		}
		arena_reset(&a);
		i = e;
	}
	arena_free(&a);
	store_close(&st);
	return r;
}

static void store_done(struct imap_session *s, struct imap_job *j)
{
	struct store_state *t = j->state;
	if (j->result < 0) {
		imap_job_fail(s, j->result, "STORE");
		return;
	}
	if (t->res.n_changed)
		imap_sync_own(s, t->res.modseq); /* answered here, not echoed */
	if (t->new_keywords && t->res.n_changed)
		imap_store_cmd_keywords(s, &j->a); /* before the FETCH that shows it */
	if ((!t->silent || s->condstore) && t->res.n_changed && put_changed(s, t) < 0)
		log_warn("imap: STORE done, but its FETCH responses could not be read");
	if (!t->res.n_failed) {
		imap_done(s, "OK Store completed");
		return;
	}
	const char *set = t->uid ? imap_msgset_str(t->res.failed, t->res.n_failed, &j->a)
	                         : imap_msgset_seqs_str(s, t->res.failed, t->res.n_failed, &j->a);
	if (set && set[0])
		imap_done(s, "OK [MODIFIED %s] Conditional STORE failed", set);
	else
		imap_done(s, "NO [LIMIT] Conditional STORE failed for too many messages to list");
}

int imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_store p;
	const char *why = NULL;
	if (imap_parse_store(cmd, &s->ca, &p, &why) < 0) {
		imap_job_refuse(s, why, "BAD Invalid STORE arguments");
		return 0;
	}
	if (p.unchangedsince && !s->condstore) {
		/* RFC 7162 3.1: a CONDSTORE-enabling command; in the selected state the
		 * server then says where the client's view of the mailbox stands */
		s->condstore = true;
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		              (unsigned long long)s->sel->modseq);
	}
	if (s->sel->readonly) {
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only (EXAMINE)");
		return 0;
	}
	struct imap_job *j = imap_job_new(s);
	if (!j)
		return 0;
	struct store_state *t = arena_zalloc(&j->a, sizeof(*t));
	int r = t ? imap_msgset_uids(s, &p.set, cmd->uid, &j->a, &t->uids, &t->n) : ERR_NOMEM;
	unsigned flags = 0;
	const char *kw = "";
	if (r == 0)
		r = imap_store_cmd_flags(&p.flags, &j->a, &flags, &kw);
	if (r < 0) {
		imap_job_free(s);
		imap_msgset_refuse(s, r);
		return 0;
	}
	if (t->n == 0) { /* UIDs that are gone, or an empty "$": nothing to do */
		imap_job_free(s);
		imap_done(s, "OK Store completed");
		return 0;
	}
	static const enum store_flag_op ops[] = {
	    [IMAP_STORE_SET] = STORE_FLAGS_SET,
	    [IMAP_STORE_ADD] = STORE_FLAGS_ADD,
	    [IMAP_STORE_REMOVE] = STORE_FLAGS_REMOVE,
	};
	t->silent = p.silent;
	t->uid = cmd->uid;
	t->change = (struct store_flags_change){
	    .op = ops[p.op],
	    .flags = flags,
	    .keywords = kw,
	    .unchangedsince = p.unchangedsince ? p.unchangedsince_modseq : STORE_UNCONDITIONAL,
	};
	t->new_keywords = kw[0] && p.op != IMAP_STORE_REMOVE;
	j->state = t;
	return imap_job_run(s, store_work, store_done);
}
