/* queue_admin.c: what `kasten queue` and the metrics ask of the queue: list, show,
 * retry, hold, release, delete, stats. Each call is one transaction, so it is safe
 * beside a running server's engine (another process: SQLite's locks and busy timeout
 * order the two). Owns nothing past a call; show's answer lives in the caller's arena. */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/queue_int.h"
#include "core/banned.h"

/* The row id of message qid, or ERR_NOTFOUND. */
static int queue_id_of(struct queue *q, const char *qid, int64_t *id_out)
{
	if (!qid)
		return ERR_INVAL;
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_MSG_BY_QID);
	if (!s)
		return ERR_IO;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW    ? 0
	        : rc == SQLITE_DONE ? ERR_NOTFOUND
	                            : queue_db_err(q, rc, "find message");
	if (r == 0)
		*id_out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r;
}

/* A single-row count query for message id (?1) and now (?2 when the statement has it). */
static int queue_count(struct queue *q, enum queue_stmt st, int64_t id, int64_t now, int64_t *out)
{
	sqlite3_stmt *s = queue_stmt(q, st);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, now);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW ? 0 : queue_db_err(q, rc, "count");
	if (r == 0)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return r;
}

static void queue_fill_entry(sqlite3_stmt *s, struct queue_entry *e)
{
	const unsigned char *qid = sqlite3_column_text(s, 0);
	if (snprintf(e->qid, sizeof(e->qid), "%s", qid ? (const char *)qid : "") < 0)
		e->qid[0] = '\0';
	e->sender = (const char *)sqlite3_column_text(s, 1);
	e->size = (uint64_t)sqlite3_column_int64(s, 2);
	e->created = sqlite3_column_int64(s, 3);
	e->held = sqlite3_column_int(s, 4) != 0;
	e->rcpts = (const char *)sqlite3_column_text(s, 5);
	e->n_pending = (size_t)sqlite3_column_int64(s, 6);
	e->next_at = sqlite3_column_type(s, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 7);
	e->leased = sqlite3_column_int(s, 8) != 0;
	e->last_error = (const char *)sqlite3_column_text(s, 9);
	if (!e->sender)
		e->sender = "";
	if (!e->rcpts)
		e->rcpts = "";
}

int queue_list(struct queue *q, int64_t now, queue_list_fn fn, void *ctx)
{
	if (!q || !fn)
		return ERR_INVAL;
	pthread_mutex_lock(&q->lock);
	int r = queue_begin(q, QUEUE_TX_READ);
	sqlite3_stmt *s = r == 0 ? queue_stmt(q, QUEUE_Q_LIST) : NULL;
	if (r == 0 && !s)
		r = ERR_IO;
	if (s) {
		sqlite3_bind_int64(s, 1, now);
		int rc;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			struct queue_entry e;
			queue_fill_entry(s, &e);
			if ((r = fn(ctx, &e)) != 0)
				break;
		}
		if (r == 0 && rc != SQLITE_DONE)
			r = queue_db_err(q, rc, "list");
		sqlite3_reset(s);
	}
	/* a read transaction: its end cannot lose anything */
	queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}

static int queue_show_rcpts(struct queue *q, int64_t id, struct arena *a, struct queue_show *sh)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_RCPTS_OF);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, id);
	size_t cap = 0;
	int rc, err = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sh->n_rcpts == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct queue_show_rcpt *v = arena_alloc(a, ncap * sizeof(*v));
			if (!v) {
				err = ERR_NOMEM;
				break;
			}
			if (cap)
				memcpy(v, sh->rcpts, sh->n_rcpts * sizeof(*v));
			sh->rcpts = v;
			cap = ncap;
		}
		struct queue_show_rcpt *r = &sh->rcpts[sh->n_rcpts++];
		r->address = queue_col_str(s, 0, a, &err);
		r->orcpt = queue_col_str(s, 1, a, &err);
		r->domain = queue_col_str(s, 2, a, &err);
		r->state = (enum queue_rcpt_state)sqlite3_column_int(s, 3);
		r->notify = (unsigned)sqlite3_column_int(s, 4);
		r->attempts = (unsigned)sqlite3_column_int(s, 5);
		r->next_at = sqlite3_column_int64(s, 6);
		r->lease_until = sqlite3_column_int64(s, 7);
		r->last_attempt = sqlite3_column_int64(s, 8);
		r->last_error = queue_col_str(s, 9, a, &err);
		r->delay_notified = sqlite3_column_int(s, 10) != 0;
		if (err < 0)
			break;
	}
	sqlite3_reset(s);
	if (err < 0)
		return err;
	return rc == SQLITE_DONE ? 0 : queue_db_err(q, rc, "show recipients");
}

int queue_show(struct queue *q, const char *qid, struct arena *a, struct queue_show **out)
{
	if (!q || !qid || !a || !out)
		return ERR_INVAL;
	struct queue_show *sh = arena_zalloc(a, sizeof(*sh));
	if (!sh)
		return ERR_NOMEM;
	pthread_mutex_lock(&q->lock);
	int r = queue_begin(q, QUEUE_TX_READ);
	sqlite3_stmt *s = r == 0 ? queue_stmt(q, QUEUE_Q_MSG_BY_QID) : NULL;
	if (r == 0 && !s)
		r = ERR_IO;
	if (s) {
		sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			r = queue_read_item(q, s, a, &sh->msg, &sh->held);
		else
			r = rc == SQLITE_DONE ? ERR_NOTFOUND : queue_db_err(q, rc, "show");
		sqlite3_reset(s);
	}
	if (r == 0)
		r = queue_show_rcpts(q, sh->msg.msg_id, a, sh);
	queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	if (r == 0)
		*out = sh;
	return r;
}

int queue_retry(struct queue *q, const char *qid, int64_t now, size_t *n_out)
{
	if (!q)
		return ERR_INVAL;
	int64_t id = 0;
	size_t changed = 0;
	pthread_mutex_lock(&q->lock);
	int r = queue_begin(q, QUEUE_TX_DURABLE);
	if (r == 0 && qid)
		r = queue_id_of(q, qid, &id);
	if (r == 0) {
		sqlite3_stmt *s = queue_stmt(q, qid ? QUEUE_Q_RETRY_ONE : QUEUE_Q_RETRY_ALL);
		if (s && qid) {
			sqlite3_bind_int64(s, 1, id);
			sqlite3_bind_int64(s, 2, now);
		} else if (s) {
			sqlite3_bind_int64(s, 1, now);
		}
		r = queue_run(q, s, "retry");
		changed = (size_t)sqlite3_changes(q->db);
	}
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	if (r == 0 && n_out)
		*n_out = changed;
	return r;
}

static int queue_set_held(struct queue *q, const char *qid, bool held)
{
	if (!q || !qid)
		return ERR_INVAL;
	int64_t id = 0;
	pthread_mutex_lock(&q->lock);
	int r = queue_begin(q, QUEUE_TX_DURABLE);
	if (r == 0)
		r = queue_id_of(q, qid, &id);
	for (int k = 0; r == 0 && k < 2; k++) {
		sqlite3_stmt *s = queue_stmt(q, k == 0 ? QUEUE_Q_HOLD_MSG : QUEUE_Q_HOLD_RCPTS);
		if (s) {
			sqlite3_bind_int64(s, 1, id);
			sqlite3_bind_int(s, 2, held);
		}
		r = queue_run(q, s, held ? "hold" : "release");
	}
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}

int queue_hold(struct queue *q, const char *qid)
{
	return queue_set_held(q, qid, true);
}

int queue_release(struct queue *q, const char *qid)
{
	return queue_set_held(q, qid, false);
}

int queue_delete(struct queue *q, const char *qid, int64_t now)
{
	if (!q || !qid)
		return ERR_INVAL;
	int64_t id = 0, leased = 0;
	pthread_mutex_lock(&q->lock);
	int r = queue_begin(q, QUEUE_TX_DURABLE);
	if (r == 0)
		r = queue_id_of(q, qid, &id);
	if (r == 0)
		r = queue_count(q, QUEUE_Q_LEASED_COUNT, id, now, &leased);
	if (r == 0 && leased > 0) {
		/* being sent right now: the worker's record removes it */
		sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_MARK_DELETED);
		if (s)
			sqlite3_bind_int64(s, 1, id);
		r = queue_run(q, s, "mark deleted");
	} else if (r == 0) {
		r = queue_delete_rows(q, id);
	}
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	if (r < 0)
		return r;
	if (leased > 0)
		return 1;
	queue_unlink_file(q, qid);
	log_info("queue: deleted qid=%s by the admin", qid);
	return 0;
}

int queue_stats(struct queue *q, struct queue_stats *out)
{
	if (!q || !out)
		return ERR_INVAL;
	pthread_mutex_lock(&q->lock);
	int r = queue_begin(q, QUEUE_TX_READ);
	sqlite3_stmt *s = r == 0 ? queue_stmt(q, QUEUE_Q_STATS_MSGS) : NULL;
	if (r == 0 && !s)
		r = ERR_IO;
	if (s) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			out->messages = (uint64_t)sqlite3_column_int64(s, 0);
			out->bytes = (uint64_t)sqlite3_column_int64(s, 1);
			out->oldest = sqlite3_column_int64(s, 2);
		} else {
			r = queue_db_err(q, rc, "stats");
		}
		sqlite3_reset(s);
	}
	if (r == 0) {
		s = queue_stmt(q, QUEUE_Q_STATS_RCPTS);
		int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
		if (rc == SQLITE_ROW)
			out->rcpts = (uint64_t)sqlite3_column_int64(s, 0);
		else
			r = s ? queue_db_err(q, rc, "stats") : ERR_IO;
		if (s)
			sqlite3_reset(s);
	}
	queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	return r;
}
