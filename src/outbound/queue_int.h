/* queue_int.h: what the queue's files share: struct queue, the prepared statements
 * (texts in queue_sql.c, cache in queue_db.c), transactions and error mapping.
 * Every function here expects the caller to hold q->lock, except where said. */
#ifndef KASTEN_QUEUE_INT_H
#define KASTEN_QUEUE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "outbound/queue.h"

#define QUEUE_SCHEMA_VERSION 2
#define QUEUE_MISSING_FILE "queue file missing"

enum queue_stmt {
	QUEUE_Q_BEGIN,
	QUEUE_Q_BEGIN_READ,
	QUEUE_Q_COMMIT,
	QUEUE_Q_ROLLBACK,
	QUEUE_Q_MSG_INSERT,
	QUEUE_Q_RCPT_INSERT,
	QUEUE_Q_MSG_BY_ID,
	QUEUE_Q_MSG_BY_QID,
	QUEUE_Q_QID_EXISTS,
	QUEUE_Q_MSG_DELETE,
	QUEUE_Q_RCPT_DELETE_MSG,
	QUEUE_Q_DUE_DOMAIN,
	QUEUE_Q_DUE_MSGS,
	QUEUE_Q_DUE_RCPTS,
	QUEUE_Q_LEASE_RCPTS,
	QUEUE_Q_NEXT_DUE,
	QUEUE_Q_RECORD,
	QUEUE_Q_PENDING_COUNT,
	QUEUE_Q_LEASED_COUNT,
	QUEUE_Q_WANTED_COUNT,
	QUEUE_Q_UNLEASE,
	QUEUE_Q_LIST,
	QUEUE_Q_RCPTS_OF,
	QUEUE_Q_RETRY_ONE,
	QUEUE_Q_RETRY_ALL,
	QUEUE_Q_HOLD_MSG,
	QUEUE_Q_HOLD_RCPTS,
	QUEUE_Q_MARK_DELETED,
	QUEUE_Q_STATS_MSGS,
	QUEUE_Q_STATS_RCPTS,
	QUEUE_Q_CLEAR_LEASES,
	QUEUE_Q_ALL_MSGS,
	QUEUE_Q_FAIL_PENDING,
	QUEUE_Q_SYNC_FULL,
	QUEUE_Q_SYNC_NORMAL,
	QUEUE_Q_DURABLE_MARK,
	QUEUE_Q_COUNT
};

extern const char *const queue_sql[QUEUE_Q_COUNT];
/* The schema's numbered migrations (queue_sql.c); step i brings version i to i + 1. */
extern const char *const queue_schema[QUEUE_SCHEMA_VERSION];

/* How a transaction ends. DURABLE: its COMMIT is on disk when it returns (synchronous
 * = FULL: the WAL is fsynced, and with it every earlier commit). WRITE: a commit that a
 * power failure may undo (synchronous = NORMAL: no fsync), never a process crash. */
enum queue_tx { QUEUE_TX_READ, QUEUE_TX_WRITE, QUEUE_TX_DURABLE };

struct queue {
	pthread_mutex_t lock; /* serialises every use of db, stmt and doomed */
	sqlite3 *db;
	sqlite3_stmt *stmt[QUEUE_Q_COUNT]; /* prepared on first use */
	bool sync_full;                    /* the connection's synchronous is FULL now */
	char *dir;                         /* <data>/queue */
	int msg_fd;                        /* <data>/queue/msg, O_DIRECTORY */
	/* Files of finished messages whose rows' removal is committed but not yet durable:
	 * unlinked after the next durable commit (queue_unlink_doomed), so that a power
	 * failure never brings back a row whose file is gone. */
	char (*doomed)[QUEUE_ID_MAX];
	size_t n_doomed; /* < LIMIT_QUEUE_DOOMED */
};

/* The statement s, reset with its bindings cleared, or NULL (logged). */
sqlite3_stmt *queue_stmt(struct queue *q, enum queue_stmt s);
/* Run s to completion (no rows wanted): 0 or a negative enum err (logged with what). */
int queue_run(struct queue *q, sqlite3_stmt *s, const char *what);
/* enum err for an SQLite result code, logged with what. */
int queue_db_err(struct queue *q, int rc, const char *what);
/* BEGIN (read) or BEGIN IMMEDIATE (write, durable) with synchronous set to match;
 * COMMIT; ROLLBACK (never fails visibly). */
int queue_begin(struct queue *q, enum queue_tx tx);
int queue_commit(struct queue *q);
void queue_rollback(struct queue *q);
/* A column's text or NULL, copied into a (ERR_NOMEM through *err when a is full). */
const char *queue_col_str(sqlite3_stmt *s, int col, struct arena *a, int *err);

/* A message row (columns of QUEUE_Q_MSG_BY_ID) into it (rcpts/domain untouched),
 * strings and path from a; *held_out (may be NULL) gets its held flag. */
int queue_read_item(struct queue *q, sqlite3_stmt *s, struct arena *a, struct queue_item *it,
                    bool *held_out);

/* Remove msg/<qid> after the durable commit that deleted its rows (a failure is
 * logged: the next server start removes the file as an orphan). No lock needed. */
void queue_unlink_file(struct queue *q, const char *qid);
/* After a durable commit: unlink every doomed file. */
void queue_unlink_doomed(struct queue *q);
/* A message's rows went in a commit that may not be durable: its file is doomed (and
 * unlinked at the next durable commit). The list always has room: a writer whose
 * commit could fill it makes that commit durable (queue_doomed_full). */
void queue_doom(struct queue *q, const char *qid);
bool queue_doomed_full(const struct queue *q);
/* Delete message id's rows (recipients, then the message); in the caller's transaction. */
int queue_delete_rows(struct queue *q, int64_t msg_id);

/* Recovery at server start (queue_recover.c); outside any transaction, lock held. */
int queue_recover(struct queue *q, int64_t now);

/* Flushes queue_add_batch issued, for queue_flush_count (atomic; no lock needed). */
void queue_flush_count_add(uint64_t n);

#endif
