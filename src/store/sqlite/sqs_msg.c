/* sqs_msg.c: changing messages of one account: flags and keywords (with RFC 7162
 * UNCHANGEDSINCE), expunge (rows and log first; a file is unlinked after the commit
 * once no copy names it), POP3 retrieval marks. Limits: SQS_KEYWORDS_MAX bytes of
 * keywords per message, LIMIT_MAILBOX_KEYWORDS per mailbox. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static struct sqs_db *H(struct store *st)
{
	return ((struct sqs_store *)st)->h;
}

int sqs_msg_path(const struct sqs_env *e, int64_t id, const char *guid, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/accounts/%lld/msg/%s", e->data_dir, (long long)id, guid);
	return n < 0 || (size_t)n >= cap ? ERR_TOO_LONG : 0;
}

void sqs_unlink_guids(const struct sqs_env *e, int64_t id, char (*guids)[SQS_GUID_LEN + 1],
		      size_t n)
{
	char path[4096];
	for (size_t i = 0; i < n; i++) {
		if (sqs_msg_path(e, id, guids[i], path, sizeof(path)) < 0)
			continue;
		/* a failure only leaves an orphan that the next sweep removes */
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("store: unlink path=%s: %s", path, strerror(errno));
	}
}

static unsigned char lc(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Is the word [w, w+wl) in the space-separated list (ASCII case-insensitive)? */
static bool kw_has(const char *list, const char *w, size_t wl)
{
	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		size_t l = strcspn(p, " ");
		if (l && l == wl) {
			size_t i = 0;
			while (i < l && lc((unsigned char)p[i]) == lc((unsigned char)w[i]))
				i++;
			if (i == l)
				return true;
		}
		p += l;
	}
	return false;
}

/* Append word to out (cap bytes incl. NUL) unless present. */
static int kw_add(char *out, size_t *len, size_t cap, const char *w, size_t wl)
{
	for (size_t i = 0; i < wl; i++)
		if ((unsigned char)w[i] < 0x21 || w[i] == 0x7f)
			return ERR_INVAL;
	out[*len] = '\0';
	if (kw_has(out, w, wl))
		return 0;
	size_t need = *len + (*len ? 1 : 0) + wl;
	if (need + 1 > cap)
		return ERR_TOO_LONG;
	if (*len)
		out[(*len)++] = ' ';
	memcpy(out + *len, w, wl);
	*len += wl;
	out[*len] = '\0';
	return 0;
}

int sqs_kw_merge(const char *cur, const char *in, enum store_flag_op op, char *out, size_t cap)
{
	size_t len = 0;
	int r = 0;
	out[0] = '\0';
	if (!in)
		in = "";
	if (op != STORE_FLAGS_SET) {
		for (const char *p = cur; r == 0 && *p;) {
			while (*p == ' ')
				p++;
			size_t l = strcspn(p, " ");
			if (l && !(op == STORE_FLAGS_REMOVE && kw_has(in, p, l)))
				r = kw_add(out, &len, cap, p, l);
			p += l;
		}
	}
	if (op != STORE_FLAGS_REMOVE) {
		for (const char *p = in; r == 0 && *p;) {
			while (*p == ' ')
				p++;
			size_t l = strcspn(p, " ");
			if (l)
				r = kw_add(out, &len, cap, p, l);
			p += l;
		}
	}
	return r;
}

static unsigned flags_apply(unsigned cur, enum store_flag_op op, unsigned f)
{
	switch (op) {
	case STORE_FLAGS_SET: return f;
	case STORE_FLAGS_ADD: return cur | f;
	case STORE_FLAGS_REMOVE: return cur & ~f;
	}
	return cur;
}

enum flag_outcome { FLAG_SAME, FLAG_CHANGED, FLAG_FAILED };

/* Apply one flag change to one message inside the caller's transaction (new modseq
 * `modseq`). A message already at `modseq` was changed by this very call (its UID was
 * listed twice) and is left alone. */
static int flags_one(struct sqs_db *h, int64_t mailbox_id, uint32_t uid,
		     const struct store_flags_change *c, uint64_t modseq, enum flag_outcome *res)
{
	char cur[SQS_KEYWORDS_MAX + 1], next[SQS_KEYWORDS_MAX + 1];
	struct sqs_row row;
	*res = FLAG_SAME;
	int r = sqs_msg_get(h, mailbox_id, uid, &row, cur, sizeof(cur));
	if (r == ERR_NOTFOUND || (r == 0 && row.modseq == modseq))
		return 0; /* expunged meanwhile, or done already */
	if (r < 0)
		return r;
	if (row.modseq > c->unchangedsince) {
		*res = FLAG_FAILED; /* RFC 7162 3.1.3: changed since the client looked */
		return 0;
	}
	r = sqs_kw_merge(cur, c->keywords, c->op, next, sizeof(next));
	if (r < 0)
		return r;
	unsigned nf = flags_apply(row.flags, c->op, c->flags);
	if (nf == row.flags && !strcmp(cur, next))
		return 0;
	sqlite3_stmt *q = sqs_q(h, Q_MSG_SETFLAGS);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	sqlite3_bind_int(q, 3, (int)nf);
	sqlite3_bind_text(q, 4, next, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (int64_t)modseq);
	r = sqs_exec(h, q);
	if (r == 0)
		*res = FLAG_CHANGED;
	return r;
}

int sqs_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
	      const struct store_flags_change *c, struct arena *a, struct store_flags_result *out)
{
	struct sqs_db *h = H(st);
	struct sqs_uidv changed = {0}, failed = {0};
	int r = sqs_begin(h, true);
	struct sqs_mb mb;
	uint64_t modseq = 0;
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	if (r == 0) /* taken for good only if something changes */
		r = sqs_modseq_peek(h, &modseq);
	for (size_t i = 0; r == 0 && i < n; i++) {
		enum flag_outcome res;
		r = flags_one(h, mailbox_id, uids[i], c, modseq, &res);
		if (r == 0 && res == FLAG_CHANGED)
			r = sqs_uidv_add(&changed, uids[i]);
		else if (r == 0 && res == FLAG_FAILED)
			r = sqs_uidv_add(&failed, uids[i]);
	}
	/* ERR_FULL rolls back what the loop changed */
	if (r == 0 && changed.n && c->op != STORE_FLAGS_REMOVE)
		r = sqs_kw_note(h, mailbox_id, c->keywords, true);
	if (r == 0 && changed.n) {
		mb.highestmodseq = modseq;
		r = sqs_modseq_next(h, &modseq);
		if (r == 0)
			r = sqs_mb_bump(h, &mb);
	}
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r == 0) {
		out->modseq = mb.highestmodseq;
		out->n_changed = changed.n;
		out->n_failed = failed.n;
		if (changed.n)
			store_notify(st->env, st->account_id, mailbox_id, STORE_CH_FLAGS, modseq);
	}
	/* the change is durable by now: a full arena costs the caller only the lists */
	if (r == 0 && a)
		r = sqs_uidv_give(&changed, a, &out->changed, &out->n_changed);
	if (r == 0 && a)
		r = sqs_uidv_give(&failed, a, &out->failed, &out->n_failed);
	free(changed.v), free(failed.v);
	return r;
}

typedef char guid_t[SQS_GUID_LEN + 1];

/* The messages one expunge removes, and the files that go with them. */
struct gone {
	struct sqs_uidv uids;
	guid_t *files;                 /* those no other message names any more */
	size_t nfiles;
};

/* Delete one row (inside the caller's transaction), log it as expunged at modseq, and
 * release its file. ERR_NOTFOUND (nothing done) if there is no such row, or with
 * only_deleted if it does not carry \Deleted. */
static int expunge_one(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, uint64_t modseq,
		       int64_t now, bool only_deleted, struct gone *g)
{
	struct sqs_row row;
	int r = sqs_msg_get(h, mailbox_id, uid, &row, NULL, 0);
	if (r == 0 && only_deleted && !(row.flags & STORE_F_DELETED))
		r = ERR_NOTFOUND;
	if (r < 0)
		return r;
	sqlite3_stmt *q = sqs_q(h, Q_MSG_DELETE);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	r = sqs_exec(h, q);
	if (r == 0)
		r = sqs_explog_add(h, mailbox_id, uid, modseq, now);
	bool last = false;
	if (r == 0)
		r = sqs_content_release(h, row.guid, &last);
	if (r == 0)
		r = sqs_uidv_add(&g->uids, uid);
	if (r == 0 && last)
		memcpy(g->files[g->nfiles++], row.guid, sizeof(row.guid));
	return r;
}

/* Expunge uids[0..n) (with all_deleted: every \Deleted message of the mailbox) in one
 * transaction with one modseq. */
static int expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		   bool only_deleted, bool all_deleted, struct gone *g, uint64_t *modseq_out)
{
	struct sqs_db *h = H(st);
	struct sqs_uidv all = {0};
	sqs_rows_removing((struct sqs_env *)st->env, st->account_id);
	int r = sqs_begin(h, true);
	struct sqs_mb mb;
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	if (r == 0 && all_deleted)
		n = 0;
	if (r == 0 && all_deleted && mb.n_deleted) { /* the counter spares a scan if none */
		sqlite3_stmt *q = sqs_q(h, Q_MSG_DELETED);
		int rc = SQLITE_DONE;
		if (q)
			sqlite3_bind_int64(q, 1, mailbox_id);
		while (q && r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW)
			r = sqs_uidv_add(&all, (uint32_t)sqlite3_column_int64(q, 0));
		if (r == 0)
			r = q ? sqs_done(rc) : ERR_IO;
		if (q)
			sqlite3_reset(q);
		uids = all.v;
		n = all.n;
	}
	g->files = n ? malloc(n * sizeof(*g->files)) : NULL;
	if (r == 0 && n && !g->files)
		r = ERR_NOMEM;
	uint64_t modseq = 0;
	/* taken before the first row goes: the JMAP triggers stamp removals with it (an
	 * expunge that removes nothing rolls back, and the counter with it) */
	if (r == 0 && n)
		r = sqs_modseq_next(h, &modseq);
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = expunge_one(h, mailbox_id, uids[i], modseq, now, only_deleted, g);
		if (r == ERR_NOTFOUND)
			r = 0; /* already gone, or not \Deleted */
	}
	if (r == 0 && g->uids.n) {
		mb.highestmodseq = modseq;
		r = sqs_mb_bump(h, &mb);
		if (r == 0)
			r = sqs_explog_prune(h, mailbox_id, now);
	}
	free(all.v);
	if (r == 0 && g->uids.n)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r < 0)
		return r;
	sqs_reap_guids((struct sqs_env *)st->env, st->account_id, g->files, g->nfiles);
	if (modseq_out)
		*modseq_out = mb.highestmodseq;
	if (g->uids.n)
		store_notify(st->env, st->account_id, mailbox_id, STORE_CH_EXPUNGE, modseq);
	return 0;
}

int sqs_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		uint64_t *modseq_out)
{
	struct gone g = {0};
	int r = expunge(st, mailbox_id, uids, n, false, false, &g, modseq_out);
	free(g.uids.v), free(g.files);
	return r;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int sqs_expunge_deleted(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
			struct arena *a, uint32_t **gone_out, size_t *n_gone_out,
			uint64_t *modseq_out)
{
	struct gone g = {0};
	int r = expunge(st, mailbox_id, uids, n, true, !uids, &g, modseq_out);
	free(g.files);
	if (r == 0) { /* found in uids[] order; the contract says ascending */
		if (g.uids.n > 1)
			qsort(g.uids.v, g.uids.n, sizeof(*g.uids.v), uid_cmp);
		return sqs_uidv_give(&g.uids, a, gone_out, n_gone_out);
	}
	free(g.uids.v);
	return r;
}

int sqs_pop3_mark(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		  int64_t when)
{
	struct sqs_db *h = H(st);
	int r = sqs_begin(h, true);
	for (size_t i = 0; r == 0 && i < n; i++) {
		sqlite3_stmt *q = sqs_q(h, Q_POP3_MARK);
		if (!q) {
			r = ERR_IO;
			break;
		}
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, uids[i]);
		sqlite3_bind_int64(q, 3, when);
		r = sqs_exec(h, q);
	}
	if (r == 0)
		return sqs_commit(h);
	sqs_rollback(h);
	return r;
}
