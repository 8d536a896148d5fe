/* sqs_copy.c: COPY and MOVE of UID sets between mailboxes of one account (RFC 4315
 * COPYUID, RFC 6851). A copy is a new message row naming the same content (guid), so
 * the file, the cached data and the full-text row are shared and no byte is written
 * again; EMAILID and THREADID come along because they are the content's. A move
 * re-keys the row itself into the target and logs the old UID as expunged, in the same
 * transaction, at the same modseq. Everything is one write transaction committed with
 * a flushed log, so COPYUID is only sent for what is on disk. Limits: a mailbox's UIDs
 * (ERR_FULL), the account's quota for copies; memory is one row per message copied. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

/* One source message as read before anything is written: enough for the quota. */
struct src {
	uint32_t uid;
	uint64_t size;
};

/* The messages of uids[] that exist, in that order, and their total size. */
static int read_sources(struct sqs_db *h, int64_t mailbox_id, const uint32_t *uids, size_t n,
			struct src *v, size_t *nv, uint64_t *bytes)
{
	*nv = 0;
	*bytes = 0;
	for (size_t i = 0; i < n; i++) {
		struct sqs_row row;
		int r = sqs_msg_get(h, mailbox_id, uids[i], &row, NULL, 0);
		if (r == ERR_NOTFOUND)
			continue; /* expunged meanwhile, or never there */
		if (r < 0)
			return r;
		v[*nv].uid = uids[i];
		v[*nv].size = row.size;
		*bytes += row.size;
		(*nv)++;
	}
	return 0;
}

static int copy_row(struct sqs_db *h, const struct sqs_mb *to, const struct sqs_row *s,
		    const char *kw, uint32_t uid, uint64_t modseq, int64_t now)
{
	sqlite3_stmt *q = sqs_q(h, Q_MSG_INSERT);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, to->id);
	sqlite3_bind_int64(q, 2, uid);
	sqlite3_bind_int64(q, 3, (int64_t)modseq);
	sqlite3_bind_int(q, 4, (int)s->flags);
	sqlite3_bind_text(q, 5, kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (int64_t)s->size);
	sqlite3_bind_int64(q, 7, s->internal_date);
	sqlite3_bind_int64(q, 8, now);
	sqlite3_bind_text(q, 9, s->guid, -1, SQLITE_STATIC);
	return sqs_exec(h, q);
}

static int move_row(struct sqs_db *h, int64_t from, const struct sqs_mb *to, uint32_t src,
		    uint32_t uid, uint64_t modseq, int64_t now)
{
	sqlite3_stmt *q = sqs_q(h, Q_MSG_MOVE_ONE);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, from);
	sqlite3_bind_int64(q, 2, src);
	sqlite3_bind_int64(q, 3, to->id);
	sqlite3_bind_int64(q, 4, uid);
	sqlite3_bind_int64(q, 5, (int64_t)modseq);
	sqlite3_bind_int64(q, 6, now);
	int r = sqs_exec(h, q);
	if (r == 0)
		r = sqs_explog_add(h, from, src, modseq, now);
	return r;
}

/* Whether count more messages of bytes in all fit the account's quotas. */
static int quota_ok(struct sqs_env *e, struct sqs_db *h, uint64_t bytes, uint64_t count)
{
	uint64_t qb, qm, ub, um;
	int r = sqs_dir_quota(e, h->account_id, &qb, &qm);
	if (r == 0)
		r = sqs_usage_get(h, &ub, &um);
	if (r < 0)
		return r;
	if (qb && (bytes > qb || ub > qb - bytes))
		return ERR_QUOTA;
	if (qm && (count > qm || um > qm - count))
		return ERR_QUOTA;
	return 0;
}

/* Inside the transaction: the rows, the keywords they bring, both mailboxes' modseqs. */
static int copy_all(struct sqs_env *e, struct sqs_db *h, int64_t from_id, struct sqs_mb *to,
		    const struct src *v, size_t nv, uint64_t bytes, bool move, uint32_t *dst,
		    uint64_t *modseq)
{
	int r = 0;
	struct sqs_mb from;
	if (move)
		r = sqs_mb_find_id(h, from_id, &from);
	else /* a copy counts in full (as in Dovecot); a move leaves usage as it is */
		r = quota_ok(e, h, bytes, nv);
	if (r == 0 && (uint64_t)to->uidnext + nv >= UINT32_MAX)
		r = ERR_FULL; /* UIDs are never reused */
	if (r == 0)
		r = sqs_modseq_next(h, modseq);
	int64_t now = (int64_t)time(NULL);
	char kw[SQS_KEYWORDS_MAX + 1];
	for (size_t i = 0; r == 0 && i < nv; i++) {
		struct sqs_row row; /* read again: keywords are kept for one message at a time */
		r = sqs_msg_get(h, from_id, v[i].uid, &row, kw, sizeof(kw));
		dst[i] = to->uidnext++;
		if (r == 0)
			r = move ? move_row(h, from_id, to, v[i].uid, dst[i], *modseq, now)
				 : copy_row(h, to, &row, kw, dst[i], *modseq, now);
		if (r == 0)
			r = sqs_kw_note(h, to->id, kw, false);
	}
	to->highestmodseq = *modseq;
	if (r == 0)
		r = sqs_mb_bump(h, to);
	if (r == 0 && move && from.id != to->id) { /* the same mailbox: bumped just now */
		from.highestmodseq = *modseq;
		r = sqs_mb_bump(h, &from);
	}
	if (r == 0 && move)
		r = sqs_explog_prune(h, from_id, now);
	return r;
}

int sqs_copy(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
	     int64_t to_mailbox, bool move, struct arena *a, struct store_copy_result *out)
{
	struct sqs_env *e = (struct sqs_env *)st->env;
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	struct src *v = n ? malloc(n * sizeof(*v)) : NULL;
	uint32_t *dst = n ? malloc(n * sizeof(*dst)) : NULL;
	if (n && (!v || !dst)) {
		free(v), free(dst);
		return ERR_NOMEM;
	}
	if (move)
		sqs_rows_removing(e, st->account_id);
	struct sqs_mb from, to;
	size_t nv = 0;
	uint64_t bytes = 0, modseq = 0;
	int r = sqs_begin(h, true);
	if (r == 0)
		r = sqs_mb_find_id(h, from_mailbox, &from);
	if (r == 0)
		r = sqs_mb_find_id(h, to_mailbox, &to);
	if (r == 0)
		r = read_sources(h, from_mailbox, uids, n, v, &nv, &bytes);
	if (r == 0 && nv)
		r = copy_all(e, h, from_mailbox, &to, v, nv, bytes, move, dst, &modseq);
	if (r == 0 && nv)
		r = sqs_commit(h); /* synchronous=FULL: durable before COPYUID */
	else
		sqs_rollback(h); /* nothing to copy, or an error */
	out->uidvalidity = r == 0 ? to.uidvalidity : 0;
	out->modseq = r == 0 ? (nv ? modseq : to.highestmodseq) : 0;
	if (r == 0 && nv) {
		store_notify(st->env, st->account_id, to_mailbox, STORE_CH_APPEND, modseq);
		if (move && from_mailbox != to_mailbox)
			store_notify(st->env, st->account_id, from_mailbox, STORE_CH_EXPUNGE,
				     modseq);
		/* durable by now: a full arena costs the caller only the lists */
		out->src_uids = arena_alloc(a, nv * sizeof(uint32_t));
		out->dst_uids = arena_alloc(a, nv * sizeof(uint32_t));
		if (!out->src_uids || !out->dst_uids) {
			r = ERR_NOMEM;
		} else {
			for (size_t i = 0; i < nv; i++)
				out->src_uids[i] = v[i].uid;
			memcpy(out->dst_uids, dst, nv * sizeof(uint32_t));
			out->n = nv;
		}
	}
	free(v), free(dst);
	return r;
}
