/* queue_db.c: opening and closing the queue (<data>/queue/, queue.db and msg/), the
 * schema migration, the prepared-statement cache, transactions (durable or not) and
 * error mapping, and the files of finished messages waiting for a durable commit.
 * Owns struct queue. One SQLite connection per struct queue behind q->lock: every
 * queue call holds the lock for its statements only (queue.h says why not a
 * connection per thread). Bounds: LIMIT_QUEUE_BUSY_MS, how long a statement waits for
 * another process (`kasten queue` beside the server) before ERR_TEMP;
 * LIMIT_QUEUE_DOOMED files waiting to be unlinked. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/queue_int.h"
#include "core/banned.h"

static _Atomic uint64_t queue_flushes;

void queue_flush_count_add(uint64_t n)
{
	atomic_fetch_add(&queue_flushes, n);
}

uint64_t queue_flush_count(void)
{
	return atomic_load(&queue_flushes);
}

int queue_db_err(struct queue *q, int rc, const char *what)
{
	log_err("queue: %s: %s", what, sqlite3_errmsg(q->db));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_TEMP;
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	default:
		return ERR_IO;
	}
}

sqlite3_stmt *queue_stmt(struct queue *q, enum queue_stmt s)
{
	if (!q->stmt[s]) {
		int rc = sqlite3_prepare_v3(q->db, queue_sql[s], -1, SQLITE_PREPARE_PERSISTENT,
		                            &q->stmt[s], NULL);
		if (rc != SQLITE_OK) {
			(void)queue_db_err(q, rc, "prepare");
			q->stmt[s] = NULL;
			return NULL;
		}
	}
	sqlite3_reset(q->stmt[s]);
	sqlite3_clear_bindings(q->stmt[s]);
	return q->stmt[s];
}

int queue_run(struct queue *q, sqlite3_stmt *s, const char *what)
{
	if (!s)
		return ERR_IO;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	int r = rc == SQLITE_DONE ? 0 : queue_db_err(q, rc, what);
	sqlite3_reset(s);
	return r;
}

int queue_begin(struct queue *q, enum queue_tx tx)
{
	bool full = tx == QUEUE_TX_DURABLE;
	if (tx != QUEUE_TX_READ && full != q->sync_full) {
		int r = queue_run(q, queue_stmt(q, full ? QUEUE_Q_SYNC_FULL : QUEUE_Q_SYNC_NORMAL),
		                  "synchronous");
		if (r < 0)
			return r;
		q->sync_full = full;
	}
	return queue_run(q, queue_stmt(q, tx == QUEUE_TX_READ ? QUEUE_Q_BEGIN_READ : QUEUE_Q_BEGIN),
	                 "begin");
}

int queue_commit(struct queue *q)
{
	int r = queue_run(q, queue_stmt(q, QUEUE_Q_COMMIT), "commit");
	if (r < 0)
		queue_rollback(q);
	return r;
}

void queue_rollback(struct queue *q)
{
	if (sqlite3_get_autocommit(q->db))
		return; /* SQLite rolled back itself (an I/O error or a failed COMMIT) */
	/* A ROLLBACK that fails leaves nothing we could do better than the next
	 * transaction's error; it is logged by queue_run. */
	(void)queue_run(q, queue_stmt(q, QUEUE_Q_ROLLBACK), "rollback");
}

const char *queue_col_str(sqlite3_stmt *s, int col, struct arena *a, int *err)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	if (!t)
		return NULL;
	char *c = arena_strndup(a, t, (size_t)sqlite3_column_bytes(s, col));
	if (!c)
		*err = ERR_NOMEM;
	return c;
}

void queue_unlink_file(struct queue *q, const char *qid)
{
	if (unlinkat(q->msg_fd, qid, 0) < 0 && errno != ENOENT)
		log_err("queue: unlink msg/%s: %s (removed at the next start)", qid,
		        strerror(errno));
}

void queue_unlink_doomed(struct queue *q)
{
	for (size_t i = 0; i < q->n_doomed; i++)
		queue_unlink_file(q, q->doomed[i]);
	q->n_doomed = 0;
}

bool queue_doomed_full(const struct queue *q)
{
	return q->n_doomed + 1 >= LIMIT_QUEUE_DOOMED;
}

void queue_doom(struct queue *q, const char *qid)
{
	assert(q->n_doomed < LIMIT_QUEUE_DOOMED);
	/* a qid is shorter than QUEUE_ID_MAX (queue_add_batch made it): no truncation */
	(void)snprintf(q->doomed[q->n_doomed++], QUEUE_ID_MAX, "%s", qid);
}

/* Make every earlier commit durable with one that changes only the meta counter, then
 * unlink the doomed files. */
static int queue_durable_point(struct queue *q)
{
	int r = queue_begin(q, QUEUE_TX_DURABLE);
	if (r == 0)
		r = queue_run(q, queue_stmt(q, QUEUE_Q_DURABLE_MARK), "durable mark");
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	if (r == 0)
		queue_unlink_doomed(q);
	return r;
}

int queue_delete_rows(struct queue *q, int64_t msg_id)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_RCPT_DELETE_MSG);
	if (s)
		sqlite3_bind_int64(s, 1, msg_id);
	int r = queue_run(q, s, "delete recipients");
	if (r < 0)
		return r;
	s = queue_stmt(q, QUEUE_Q_MSG_DELETE);
	if (s)
		sqlite3_bind_int64(s, 1, msg_id);
	return queue_run(q, s, "delete message");
}

static int queue_user_version(struct queue *q, int *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	int r = rc == SQLITE_ROW ? 0 : queue_db_err(q, rc, "user_version");
	sqlite3_finalize(s);
	return r;
}

/* Bring the schema to QUEUE_SCHEMA_VERSION, one numbered step at a time, in one write
 * transaction (a second process opening at the same moment waits, then finds it done). */
static int queue_migrate(struct queue *q)
{
	int v, r = queue_user_version(q, &v);
	if (r < 0 || v == QUEUE_SCHEMA_VERSION)
		return r;
	if ((r = queue_begin(q, QUEUE_TX_DURABLE)) < 0)
		return r;
	if ((r = queue_user_version(q, &v)) < 0)
		goto fail;
	if (v > QUEUE_SCHEMA_VERSION) {
		log_err("queue: queue.db schema version %d is newer than this program (%d)", v,
		        QUEUE_SCHEMA_VERSION);
		r = ERR_PERM;
		goto fail;
	}
	for (; v < QUEUE_SCHEMA_VERSION; v++) {
		int rc = sqlite3_exec(q->db, queue_schema[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			r = queue_db_err(q, rc, "migrate");
			goto fail;
		}
	}
	return queue_commit(q);
fail:
	queue_rollback(q);
	return r;
}

static int queue_mkdir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	log_err("queue: mkdir %s: %s", path, strerror(errno));
	return ERR_IO;
}

static int queue_open_db(struct queue *q)
{
	char path[LIMIT_QUEUE_PATH];
	int n = snprintf(path, sizeof(path), "%s/queue.db", q->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_TOO_LONG;
	int rc = sqlite3_open_v2(
	    path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(q->db, LIMIT_QUEUE_BUSY_MS);
		/* WAL; FULL until queue_begin sets what each transaction needs */
		rc = sqlite3_exec(q->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL,
		                  NULL, NULL);
	}
	if (rc != SQLITE_OK) {
		log_err("queue: open %s: %s", path, q->db ? sqlite3_errmsg(q->db) : "no memory");
		return rc == SQLITE_BUSY ? ERR_TEMP : ERR_IO;
	}
	return queue_migrate(q);
}

static int queue_open_dirs(struct queue *q, const char *data_dir)
{
	char path[LIMIT_QUEUE_PATH];
	int n = snprintf(path, sizeof(path), "%s/queue", data_dir);
	if (n < 0 || (size_t)n + sizeof("/msg/") + QUEUE_ID_MAX >= sizeof(path))
		return ERR_TOO_LONG;
	if (!(q->dir = strdup(path)))
		return ERR_NOMEM;
	int r = queue_mkdir(q->dir);
	if (r < 0)
		return r;
	n = snprintf(path, sizeof(path), "%s/msg", q->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ERR_TOO_LONG;
	if ((r = queue_mkdir(path)) < 0)
		return r;
	q->msg_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->msg_fd < 0) {
		log_err("queue: open %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	return 0;
}

int queue_open(const char *data_dir, bool server, struct queue **out)
{
	if (!data_dir || !out)
		return ERR_INVAL;
	struct queue *q = calloc(1, sizeof(*q));
	if (!q)
		return ERR_NOMEM;
	q->msg_fd = -1;
	q->sync_full = true; /* what queue_open_db sets */
	q->doomed = calloc(LIMIT_QUEUE_DOOMED, sizeof(*q->doomed));
	if (!q->doomed || pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q->doomed);
		free(q);
		return ERR_NOMEM;
	}
	int r = queue_open_dirs(q, data_dir);
	if (r == 0)
		r = queue_open_db(q);
	if (r == 0 && server) {
		pthread_mutex_lock(&q->lock);
		r = queue_recover(q, (int64_t)time(NULL));
		pthread_mutex_unlock(&q->lock);
	}
	if (r < 0) {
		queue_close(&q);
		return r;
	}
	*out = q;
	return 0;
}

void queue_close(struct queue **qp)
{
	if (!qp || !*qp)
		return;
	struct queue *q = *qp;
	/* Files left doomed: unlinked once their rows' removal is durable; if that fails
	 * they stay, and the next server start removes them (finished, or orphans). */
	if (q->db && q->n_doomed > 0 && queue_durable_point(q) < 0)
		log_warn("queue: %zu finished message file(s) left for the next start",
		         q->n_doomed);
	for (size_t i = 0; i < QUEUE_Q_COUNT; i++)
		sqlite3_finalize(q->stmt[i]);
	/* Every statement is finalized, so the close cannot be refused; the WAL is kept
	 * or checkpointed by SQLite as it decides. */
	(void)sqlite3_close(q->db);
	if (q->msg_fd >= 0)
		close(q->msg_fd);
	pthread_mutex_destroy(&q->lock);
	free(q->doomed);
	free(q->dir);
	free(q);
	*qp = NULL;
}
