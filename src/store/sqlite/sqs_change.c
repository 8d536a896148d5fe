/* sqs_change.c: what every change leaves besides the message rows: the account-wide
 * modseq counter (meta "modseq"), the expunge log QRESYNC reads (table `expunged`, with
 * its pruning horizon per mailbox), and the keywords each mailbox defines (table
 * `keywords`, for FLAGS / PERMANENTFLAGS). All writes here run inside the caller's
 * write transaction. Limits: LIMIT_EXPUNGED_KEEP(_DAYS), LIMIT_MAILBOX_KEYWORDS. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static const char META_MODSEQ[] = "modseq";

static struct sqs_db *H(struct store *st)
{
	return ((struct sqs_store *)st)->h;
}

static int modseq_get(struct sqs_db *h, int64_t *out)
{
	sqlite3_stmt *q = sqs_q(h, Q_META_GET);
	if (q)
		sqlite3_bind_text(q, 1, META_MODSEQ, -1, SQLITE_STATIC);
	return sqs_int(h, q, 1, out);
}

int sqs_modseq_next(struct sqs_db *h, uint64_t *out)
{
	int64_t v;
	int r = modseq_get(h, &v);
	if (r < 0)
		return r;
	if (v >= INT64_MAX)
		return ERR_FULL; /* 2^63 changes: never in practice */
	sqlite3_stmt *q = sqs_q(h, Q_META_SET);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, META_MODSEQ, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, v + 1);
	r = sqs_exec(h, q);
	if (r == 0)
		*out = (uint64_t)v + 1;
	return r;
}

int sqs_modseq_peek(struct sqs_db *h, uint64_t *out)
{
	int64_t v;
	int r = modseq_get(h, &v);
	if (r == 0)
		*out = (uint64_t)v + 1;
	return r;
}

int sqs_modseq(struct store *st, uint64_t *modseq_out)
{
	int64_t v;
	int r = modseq_get(H(st), &v);
	if (r == 0)
		*modseq_out = (uint64_t)v;
	return r;
}

int sqs_explog_add(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, uint64_t modseq,
		   int64_t now)
{
	sqlite3_stmt *q = sqs_q(h, Q_EXP_INSERT);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	sqlite3_bind_int64(q, 3, (int64_t)modseq);
	sqlite3_bind_int64(q, 4, now);
	return sqs_exec(h, q);
}

/* Entries older than older_than and below the modseq of the keep-th newest entry go
 * (all entries of one change share modseq and time, so they go or stay together); the
 * mailbox's horizon rises to the highest modseq dropped. A query since a modseq at or
 * above the horizon therefore still sees every entry after it. */
static int prune(struct sqs_db *h, int64_t mailbox_id, int64_t older_than, size_t keep)
{
	int64_t nth = INT64_MAX, gone;
	sqlite3_stmt *q;
	int r = 0;
	if (keep > 0) {
		if ((q = sqs_q(h, Q_EXP_NTH)) != NULL) {
			sqlite3_bind_int64(q, 1, mailbox_id);
			sqlite3_bind_int64(q, 2, (int64_t)keep - 1);
		}
		r = sqs_int(h, q, 0, &nth); /* 0: fewer than keep entries, nothing goes */
	}
	if (r < 0 || nth == 0)
		return r;
	if ((q = sqs_q(h, Q_EXP_PRUNE_MAX)) != NULL) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, nth);
		sqlite3_bind_int64(q, 3, older_than);
	}
	r = sqs_int(h, q, 0, &gone);
	if (r < 0 || gone == 0)
		return r;
	if ((q = sqs_q(h, Q_EXP_PRUNE)) == NULL)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, nth);
	sqlite3_bind_int64(q, 3, older_than);
	r = sqs_exec(h, q);
	if (r == 0 && (q = sqs_q(h, Q_MB_SET_HORIZON)) == NULL)
		r = ERR_IO;
	if (r == 0) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, gone);
		r = sqs_exec(h, q);
	}
	return r;
}

int sqs_explog_prune(struct sqs_db *h, int64_t mailbox_id, int64_t now)
{
	int r = prune(h, mailbox_id, now - (int64_t)LIMIT_EXPUNGED_KEEP_DAYS * 86400,
		      LIMIT_EXPUNGED_KEEP);
	if (r == 0) /* the JMAP tombstones age by the same rule, pruned where they grow */
		r = sqs_jmap_prune(h, now);
	return r;
}

int sqs_expunged_prune(struct store *st, int64_t mailbox_id, int64_t older_than, size_t keep)
{
	struct sqs_db *h = H(st);
	struct sqs_mb mb;
	int r = sqs_begin(h, true);
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	if (r == 0)
		r = prune(h, mailbox_id, older_than, keep > INT64_MAX ? INT64_MAX : keep);
	if (r == 0)
		return sqs_commit(h);
	sqs_rollback(h);
	return r;
}

int sqs_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq,
		       uint32_t uid_first, uint32_t uid_last, struct arena *a,
		       uint32_t **uids_out, size_t *n_out, bool *complete_out)
{
	struct sqs_db *h = H(st);
	if (modseq > INT64_MAX)
		modseq = INT64_MAX;
	int r = sqs_begin(h, false); /* the horizon and the entries from one snapshot */
	struct sqs_mb mb;
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_EXP_SINCE) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	struct sqs_uidv u = {0};
	if (q) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, (int64_t)modseq);
		sqlite3_bind_int64(q, 3, uid_first);
		sqlite3_bind_int64(q, 4, uid_last);
		int rc;
		while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW)
			r = sqs_uidv_add(&u, (uint32_t)sqlite3_column_int64(q, 0));
		if (r == 0) /* a short VANISHED list would keep messages that are gone */
			r = sqs_done(rc);
		sqlite3_reset(q);
	}
	sqs_rollback(h);
	if (r < 0) {
		free(u.v);
		return r;
	}
	*complete_out = modseq >= mb.expunge_horizon;
	return sqs_uidv_give(&u, a, uids_out, n_out);
}

/* Is the keyword [w, w+wl) defined in the mailbox? */
static int kw_defined(struct sqs_db *h, int64_t mailbox_id, const char *w, size_t wl, bool *out)
{
	sqlite3_stmt *q = sqs_q(h, Q_KW_HAS);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_text(q, 2, w, (int)wl, SQLITE_STATIC);
	int rc = sqs_step(h, q);
	sqlite3_reset(q);
	*out = rc == SQLITE_ROW;
	return rc == SQLITE_ROW ? 0 : sqs_done(rc);
}

int sqs_kw_note(struct sqs_db *h, int64_t mailbox_id, const char *keywords, bool enforce)
{
	int64_t count = -1; /* read once, when a new keyword first shows up */
	int r = 0;
	for (const char *p = keywords ? keywords : ""; r == 0 && *p;) {
		while (*p == ' ')
			p++;
		size_t l = strcspn(p, " ");
		bool have = false;
		if (l)
			r = kw_defined(h, mailbox_id, p, l, &have);
		if (r == 0 && l && !have) {
			sqlite3_stmt *q;
			if (count < 0 && (q = sqs_q(h, Q_KW_COUNT)) != NULL)
				sqlite3_bind_int64(q, 1, mailbox_id);
			if (count < 0)
				r = sqs_int(h, q, 0, &count);
			if (r == 0 && enforce && count >= LIMIT_MAILBOX_KEYWORDS)
				r = ERR_FULL;
			if (r == 0 && (q = sqs_q(h, Q_KW_INSERT)) == NULL)
				r = ERR_IO;
			if (r == 0) {
				sqlite3_bind_int64(q, 1, mailbox_id);
				sqlite3_bind_text(q, 2, p, (int)l, SQLITE_STATIC);
				r = sqs_exec(h, q);
				count++;
			}
		}
		p += l;
	}
	return r;
}

int sqs_mailbox_keywords(struct store *st, int64_t mailbox_id, struct arena *a,
			 const char **keywords_out, bool *more_out)
{
	struct sqs_db *h = H(st);
	int r = sqs_begin(h, false);
	struct sqs_mb mb;
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_KW_LIST) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	char *buf = NULL;
	size_t n = 0, cap = 0, words = 0;
	if (q) {
		int rc;
		sqlite3_bind_int64(q, 1, mailbox_id);
		while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
			size_t l = (size_t)sqlite3_column_bytes(q, 0);
			if (n + l + 2 > cap) {
				size_t ncap = cap * 2 > n + l + 2 ? cap * 2 : n + l + 256;
				char *nb = realloc(buf, ncap);
				if (!nb) {
					r = ERR_NOMEM;
					break;
				}
				buf = nb;
				cap = ncap;
			}
			if (n)
				buf[n++] = ' ';
			memcpy(buf + n, sqlite3_column_text(q, 0), l);
			n += l;
			words++;
		}
		if (r == 0)
			r = sqs_done(rc);
		sqlite3_reset(q);
	}
	sqs_rollback(h);
	char *out = r == 0 ? arena_strndup(a, buf ? buf : "", n) : NULL;
	free(buf);
	if (r == 0 && !out)
		r = ERR_NOMEM;
	if (r < 0)
		return r;
	*keywords_out = out;
	*more_out = words < LIMIT_MAILBOX_KEYWORDS;
	return 0;
}
