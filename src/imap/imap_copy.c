/* imap_copy.c: COPY and UID COPY (RFC 9051 6.4.7, 6.4.9), MOVE and UID MOVE (RFC 6851),
 * with COPYUID (RFC 4315 3; part of RFC 9051).
 *
 * One store call on the worker pool does it all or nothing (store_copy, store_move: the
 * copies share the immutable message files; a copy counts against the quota in full,
 * a move does not). Answers:
 *   COPY  tagged OK [COPYUID uidvalidity source-uids target-uids]; EXISTS first when the
 *         target is the selected mailbox (imap_done);
 *   MOVE  untagged OK [COPYUID ...], then the EXPUNGEs (or VANISHED under QRESYNC) of
 *         the moved messages, then the tagged OK (RFC 6851 4.3, 4.4);
 *   a target that does not exist: NO [TRYCREATE] (6.4.7); a full account:
 *   NO [OVERQUOTA] (RFC 9208); messages named by sequence number that someone else
 *   expunged meanwhile are skipped, and when none is left: NO [EXPUNGEISSUED]
 *   (RFC 5530, as Dovecot). UIDs that name no message are no error (6.4.9): OK without
 *   COPYUID when nothing was copied (RFC 4315's uid-set cannot be empty).
 * Memory: the UID lists (12 bytes a message) and the COPYUID text in the job's arena. */
#include "imap/imap_write.h"

#include <string.h>

#include "core/err.h"
#include "store/store.h"
#include "core/banned.h"

struct copy_state {
	const char *target; /* the stored name */
	bool move;
	uint32_t *uids;
	size_t n;
	bool no_target; /* ERR_NOTFOUND was the target's */
	bool to_selected;
	struct store_copy_result res;
};

static int copy_work(struct imap_job *j, struct store *st)
{
	struct copy_state *t = j->state;
	struct store_mailbox mb;
	int r = store_mailbox_get(st, t->target, &j->a, &mb);
	if (r == ERR_NOTFOUND)
		t->no_target = true;
	if (r < 0)
		return r;
	t->to_selected = mb.id == j->mailbox;
	if (t->move)
		return store_move(st, j->mailbox, t->uids, t->n, mb.id, &j->a, &t->res);
	return store_copy(st, j->mailbox, t->uids, t->n, mb.id, &j->a, &t->res);
}

/* "COPYUID uidvalidity src dst" for the response code, or NULL (no room: left out,
 * the copy itself stands). */
static const char *copyuid(struct imap_job *j, const struct store_copy_result *res)
{
	const char *src = imap_msgset_str(res->src_uids, res->n, &j->a);
	const char *dst = imap_msgset_str(res->dst_uids, res->n, &j->a);
	if (!src || !dst)
		return NULL;
	return arena_printf(&j->a, "COPYUID %u %s %s", res->uidvalidity, src, dst);
}

static void copy_done(struct imap_session *s, struct imap_job *j)
{
	struct copy_state *t = j->state;
	const char *verb = t->move ? "MOVE" : "COPY";
	if (j->result < 0 && t->no_target) {
		imap_done(s, "NO [TRYCREATE] No such mailbox");
		return;
	}
	if (j->result < 0) {
		imap_job_fail(s, j->result, verb);
		return;
	}
	if (t->to_selected && t->res.n)
		s->sel->woken = true; /* the copies show as EXISTS before the tagged OK */
	if (!t->res.n) {
		if (t->n && !s->cmd->uid)
			imap_done(s, "NO [EXPUNGEISSUED] Some of the requested messages no longer "
			             "exist");
		else
			imap_done(s, "OK No messages found");
		return;
	}
	const char *code = copyuid(j, &t->res);
	if (!t->move) {
		if (code)
			imap_done(s, "OK [%s] Copy completed", code);
		else
			imap_done(s, "OK Copy completed");
		return;
	}
	if (code) /* RFC 6851 4.3: before the expunges, which change the numbers */
		imap_untagged(s, "OK [%s] Moved", code);
	imap_sync_own(s, t->res.modseq);
	imap_expunge_send(s, t->res.src_uids, t->res.n, &j->a);
	imap_expunge_done(s, t->res.modseq, "Move completed");
}

int imap_cmd_copy(struct imap_session *s, struct imap_cmd *cmd)
{
	bool move = cmd->verb == IMAP_VERB_MOVE;
	if (move && s->sel->readonly) { /* a move expunges from the source */
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only (EXAMINE)");
		return 0;
	}
	struct imap_job *j = imap_job_new(s);
	if (!j)
		return 0;
	struct imap_seqset set;
	int r = imap_arg_seqset(cmd->args, &j->a, &set);
	if (r < 0 && r != ERR_TOO_BIG && r != ERR_NOMEM) {
		imap_job_free(s);
		imap_bad(s, "Invalid sequence set");
		return 0;
	}
	struct copy_state *t = r == 0 ? arena_zalloc(&j->a, sizeof(*t)) : NULL;
	if (r == 0 && !t)
		r = ERR_NOMEM;
	if (r == 0)
		r = imap_msgset_uids(s, &set, cmd->uid, &j->a, &t->uids, &t->n);
	if (r < 0) {
		imap_job_free(s);
		imap_msgset_refuse(s, r);
		return 0;
	}
	const char *name = imap_name_in(s, cmd->args->next);
	if (!name) { /* answered */
		imap_job_free(s);
		return 0;
	}
	t->target = arena_strdup(&j->a, name);
	if (!t->target) {
		imap_job_free(s);
		imap_tagged(s, "NO [LIMIT] Out of memory");
		return 0;
	}
	t->move = move;
	j->state = t;
	return imap_job_run(s, copy_work, copy_done);
}
