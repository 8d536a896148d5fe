/* queue_lease.c: the outbound engine's side of the queue: leasing due recipients by
 * destination domain, the scheduler's next due time, and recording an attempt's
 * results (removing the message once nothing of it is pending). Owns nothing past a
 * call: leased items live in the caller's arena. Bounds: LIMIT_QUEUE_LEASE_MSGS
 * messages per lease, LIMIT_QUEUE_ERROR bytes of an error kept per recipient. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/queue_int.h"
#include "core/banned.h"

int queue_read_item(struct queue *q, sqlite3_stmt *s, struct arena *a, struct queue_item *it,
                    bool *held_out)
{
	int err = 0;
	it->msg_id = sqlite3_column_int64(s, 0);
	const unsigned char *qid = sqlite3_column_text(s, 1);
	if (!qid || (size_t)sqlite3_column_bytes(s, 1) >= QUEUE_ID_MAX)
		return ERR_IO; /* written by queue_add_batch only: a damaged database */
	int n = snprintf(it->qid, sizeof(it->qid), "%s", (const char *)qid);
	if (n < 0)
		return ERR_IO;
	it->sender = queue_col_str(s, 2, a, &err);
	it->envid = queue_col_str(s, 3, a, &err);
	it->dkim_header = queue_col_str(s, 4, a, &err);
	it->size = (uint64_t)sqlite3_column_int64(s, 5);
	it->ret = (enum queue_ret)sqlite3_column_int(s, 6);
	it->body = (enum queue_body)sqlite3_column_int(s, 7);
	it->smtputf8 = sqlite3_column_int(s, 8) != 0;
	it->requiretls = sqlite3_column_int(s, 9) != 0;
	it->kind = (enum queue_kind)sqlite3_column_int(s, 10);
	it->account_id = sqlite3_column_int64(s, 11);
	it->queued_at = sqlite3_column_int64(s, 12);
	if (held_out)
		*held_out = sqlite3_column_int(s, 13) != 0;
	it->path = arena_printf(a, "%s/msg/%s", q->dir, it->qid);
	if (!it->sender || !it->path)
		return err < 0 ? err : ERR_NOMEM;
	return err;
}

/* The due recipients of message it->msg_id at domain, into it->rcpts. */
static int queue_read_due(struct queue *q, struct queue_item *it, int64_t now, struct arena *a)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_DUE_RCPTS);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, it->msg_id);
	sqlite3_bind_text(s, 2, it->domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	size_t cap = 0;
	int rc, err = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (it->n_rcpts == cap) {
			/* doubling in the arena: at most twice the room the rows need */
			size_t ncap = cap ? cap * 2 : 4;
			struct queue_item_rcpt *v = arena_alloc(a, ncap * sizeof(*v));
			if (!v) {
				err = ERR_NOMEM;
				break;
			}
			if (cap)
				memcpy(v, it->rcpts, it->n_rcpts * sizeof(*v));
			it->rcpts = v;
			cap = ncap;
		}
		struct queue_item_rcpt *r = &it->rcpts[it->n_rcpts++];
		r->id = sqlite3_column_int64(s, 0);
		r->address = queue_col_str(s, 1, a, &err);
		r->orcpt = queue_col_str(s, 2, a, &err);
		r->notify = (unsigned)sqlite3_column_int(s, 3);
		r->attempts = (unsigned)sqlite3_column_int(s, 4);
		r->delay_notified = sqlite3_column_int(s, 5) != 0;
		if (err < 0 || !r->address) {
			err = err < 0 ? err : ERR_IO;
			break;
		}
	}
	sqlite3_reset(s);
	if (err < 0)
		return err;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : queue_db_err(q, rc, "due recipients");
}

/* One message's item: its row, its due recipients, and their lease. */
static int queue_lease_one(struct queue *q, struct queue_item *it, int64_t now, int64_t until,
                           struct arena *a)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_MSG_BY_ID);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, it->msg_id);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW
	            ? queue_read_item(q, s, a, it, NULL)
	            : queue_db_err(q, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "leased message");
	sqlite3_reset(s);
	if (r == 0)
		r = queue_read_due(q, it, now, a);
	if (r < 0)
		return r;
	s = queue_stmt(q, QUEUE_Q_LEASE_RCPTS);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, it->msg_id);
	sqlite3_bind_text(s, 2, it->domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	sqlite3_bind_int64(s, 4, until);
	return queue_run(q, s, "lease");
}

/* The domain to lease: the one given, or the earliest due one's (NULL: none due). */
static int queue_due_domain(struct queue *q, const char *domain, int64_t now, struct arena *a,
                            const char **out)
{
	if (domain) {
		*out = arena_strdup(a, domain);
		return *out ? 0 : ERR_NOMEM;
	}
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_DUE_DOMAIN);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, now);
	int rc = sqlite3_step(s), err = 0;
	*out = rc == SQLITE_ROW ? queue_col_str(s, 0, a, &err) : NULL;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return queue_db_err(q, rc, "due domain");
	return err;
}

/* The ids of the messages with due recipients at domain, at most max. */
static int queue_due_msgs(struct queue *q, const char *domain, int64_t now, size_t max,
                          struct arena *a, struct queue_item **out, size_t *n_out)
{
	struct queue_item *items = arena_zalloc(a, max * sizeof(*items));
	if (!items)
		return ERR_NOMEM;
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_DUE_MSGS);
	if (!s)
		return ERR_IO;
	sqlite3_bind_text(s, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, now);
	size_t n = 0;
	int rc = SQLITE_DONE;
	/* recipients in due order; a message with several of them appears once, at its
	 * first: at most max * LIMIT_QUEUE_RCPTS rows are read */
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		size_t k = 0;
		while (k < n && items[k].msg_id != id)
			k++;
		if (k < n)
			continue;
		items[n].msg_id = id;
		items[n++].domain = domain;
	}
	if (n == max)
		rc = SQLITE_DONE;
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return queue_db_err(q, rc, "due messages");
	*out = items;
	*n_out = n;
	return 0;
}

int queue_lease(struct queue *q, const char *domain, int64_t now, int64_t lease_s, size_t max,
                struct arena *a, struct queue_item **out, size_t *n_out)
{
	if (!q || !a || !out || !n_out || lease_s <= 0 || max == 0)
		return ERR_INVAL;
	*out = NULL;
	*n_out = 0;
	if (max > LIMIT_QUEUE_LEASE_MSGS)
		max = LIMIT_QUEUE_LEASE_MSGS;
	struct queue_item *items = NULL;
	size_t n = 0;
	const char *dom = NULL;
	pthread_mutex_lock(&q->lock);
	/* not durable: a lease lost to a power failure only ends early (every lease ends
	 * at a server start anyway) */
	int r = queue_begin(q, QUEUE_TX_WRITE);
	if (r == 0)
		r = queue_due_domain(q, domain, now, a, &dom);
	if (r == 0 && dom)
		r = queue_due_msgs(q, dom, now, max, a, &items, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = queue_lease_one(q, &items[i], now, now + lease_s, a);
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	pthread_mutex_unlock(&q->lock);
	if (r < 0)
		return r;
	*out = items;
	*n_out = n;
	return 0;
}

int64_t queue_next_due(struct queue *q)
{
	if (!q)
		return -1;
	pthread_mutex_lock(&q->lock);
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_NEXT_DUE);
	int64_t at = -1;
	if (s) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
			at = sqlite3_column_int64(s, 0);
		else if (rc != SQLITE_ROW)
			(void)queue_db_err(q, rc, "next due"); /* -1: the scheduler looks again */
		sqlite3_reset(s);
	}
	pthread_mutex_unlock(&q->lock);
	return at;
}

/* The length of error kept: at most LIMIT_QUEUE_ERROR bytes, not ending inside a UTF-8
 * sequence (a remote reply may carry UTF-8 text). */
static int queue_error_len(const char *error)
{
	size_t n = strlen(error);
	if (n <= LIMIT_QUEUE_ERROR)
		return (int)n;
	n = LIMIT_QUEUE_ERROR;
	while (n > 0 && ((unsigned char)error[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static int queue_record_one(struct queue *q, int64_t msg_id, const struct queue_result *res,
                            int64_t now)
{
	static const int states[] = {
	    [QUEUE_DELIVERED] = QUEUE_RCPT_DELIVERED,
	    [QUEUE_FAILED] = QUEUE_RCPT_FAILED,
	    [QUEUE_DEFERRED] = QUEUE_RCPT_PENDING,
	    [QUEUE_RELAYED] = QUEUE_RCPT_RELAYED,
	};
	if ((unsigned)res->outcome > QUEUE_RELAYED)
		return ERR_INVAL;
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_RECORD);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, res->rcpt_id);
	sqlite3_bind_int64(s, 2, msg_id);
	sqlite3_bind_int(s, 3, states[res->outcome]);
	sqlite3_bind_int64(s, 4, res->outcome == QUEUE_DEFERRED ? res->next_at : now);
	if (res->error)
		sqlite3_bind_text(s, 5, res->error, queue_error_len(res->error), SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, now);
	sqlite3_bind_int(s, 7, res->delay_notified);
	return queue_run(q, s, "record");
}

/* 1 when message msg_id still has pending recipients, 0 when not, or an error. */
static int queue_has_pending(struct queue *q, int64_t msg_id)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_PENDING_COUNT);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, msg_id);
	int rc = sqlite3_step(s);
	int r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) > 0
	                         : queue_db_err(q, rc, "pending count");
	sqlite3_reset(s);
	return r;
}

/* The qid of message msg_id into qid, or ERR_NOTFOUND. */
static int queue_qid_of(struct queue *q, int64_t msg_id, char qid[QUEUE_ID_MAX])
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_MSG_BY_ID);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, msg_id);
	int rc = sqlite3_step(s), r = 0;
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 1);
		int n = snprintf(qid, QUEUE_ID_MAX, "%s", t ? (const char *)t : "");
		r = n > 0 && n < QUEUE_ID_MAX ? 0 : ERR_IO;
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : queue_db_err(q, rc, "record message");
	}
	sqlite3_reset(s);
	return r;
}

/* The end of a write transaction (r: its result so far) after which message msg_id may
 * have no pending recipient: then its rows go in it, and its file once that removal is
 * durable (a durable transaction unlinks every doomed file). Returns the result. */
static int queue_end_attempt(struct queue *q, int r, int64_t msg_id, const char *qid,
                             bool durable)
{
	bool gone = false;
	if (r == 0 && (r = queue_has_pending(q, msg_id)) == 0) {
		gone = true;
		r = queue_delete_rows(q, msg_id);
	}
	if (r >= 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	if (r == 0 && gone)
		queue_doom(q, qid); /* the file goes once its rows' removal is durable */
	if (r == 0 && durable)
		queue_unlink_doomed(q);
	return r;
}

int queue_record(struct queue *q, int64_t msg_id, const struct queue_result *res, size_t n)
{
	if (!q || (n > 0 && !res))
		return ERR_INVAL;
	int64_t now = (int64_t)time(NULL);
	char qid[QUEUE_ID_MAX];
	pthread_mutex_lock(&q->lock);
	/* Not durable as a rule (one fsync per attempt would bound the sending rate): a
	 * power failure may undo it, and the recipients are then sent again, the same
	 * window as a crash between the remote 250 and this commit. Durable when its
	 * finished message could fill the doomed list. */
	bool durable = queue_doomed_full(q);
	int r = queue_begin(q, durable ? QUEUE_TX_DURABLE : QUEUE_TX_WRITE);
	if (r == 0)
		r = queue_qid_of(q, msg_id, qid);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = queue_record_one(q, msg_id, &res[i], now);
	r = queue_end_attempt(q, r, msg_id, qid, durable);
	pthread_mutex_unlock(&q->lock);
	return r < 0 ? r : 0;
}

/* count(*) of statement k for msg_id, or an error. */
static int64_t queue_count_of(struct queue *q, enum queue_stmt k, int64_t msg_id)
{
	sqlite3_stmt *s = queue_stmt(q, k);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, msg_id);
	int rc = sqlite3_step(s);
	int64_t r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0)
	                             : queue_db_err(q, rc, "lease check");
	sqlite3_reset(s);
	return r;
}

int queue_lease_check(struct queue *q, int64_t msg_id)
{
	if (!q)
		return ERR_INVAL;
	pthread_mutex_lock(&q->lock);
	/* the common case is one read: the message is still wanted */
	int64_t wanted = queue_count_of(q, QUEUE_Q_WANTED_COUNT, msg_id);
	if (wanted != 0) {
		pthread_mutex_unlock(&q->lock);
		return wanted > 0 ? 1 : (int)wanted;
	}
	char qid[QUEUE_ID_MAX];
	bool durable = queue_doomed_full(q); /* as in queue_record */
	int r = queue_begin(q, durable ? QUEUE_TX_DURABLE : QUEUE_TX_WRITE);
	if (r == 0)
		r = queue_qid_of(q, msg_id, qid);
	if (r == 0) {
		sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_UNLEASE);
		if (s) {
			sqlite3_bind_int64(s, 1, msg_id);
			sqlite3_bind_int64(s, 2, (int64_t)time(NULL));
		}
		r = queue_run(q, s, "unlease");
	}
	r = queue_end_attempt(q, r, msg_id, qid, durable);
	pthread_mutex_unlock(&q->lock);
	return r == ERR_NOTFOUND ? 0 : (r < 0 ? r : 0);
}
