/* queue_add.c: putting messages into the queue with the commit rule of queue.h: link
 * (or copy) each spool file to msg/<qid>, make the batch's files durable, then insert
 * every row in one transaction. Owns nothing past a call. Bounds: LIMIT_QUEUE_BATCH
 * messages per call, LIMIT_QUEUE_RCPTS recipients per message, LIMIT_ADDR_MAILBOX and
 * LIMIT_ADDR_DOMAIN per address, LIMIT_QUEUE_ID_TRIES names tried per message. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/flush.h"
#include "core/log.h"
#include "outbound/queue_int.h"
#include "core/banned.h"

/* 8 hex digits of the time (qids sort roughly by age, which helps an admin reading a
 * listing) and 32 random bits; a clash is found by linkat's EEXIST and retried. */
static void queue_make_qid(char qid[QUEUE_ID_MAX])
{
	static _Atomic uint32_t fallback;
	uint32_t rnd;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)getpid() * 2654435761u + fallback++;
	/* 16 digits and a NUL always fit QUEUE_ID_MAX: the result needs no check */
	(void)snprintf(qid, QUEUE_ID_MAX, "%08x%08x", (uint32_t)time(NULL), rnd);
}

/* The domain of address, ASCII lower-cased into dom; ERR_INVAL when there is none. */
static int queue_domain(const char *address, char dom[LIMIT_ADDR_DOMAIN + 1])
{
	const char *at = strrchr(address, '@');
	if (!at || at[1] == '\0' || strlen(address) > LIMIT_ADDR_MAILBOX ||
	    strlen(at + 1) > LIMIT_ADDR_DOMAIN)
		return ERR_INVAL;
	size_t i = 0;
	for (const char *p = at + 1; *p; p++)
		dom[i++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
	dom[i] = '\0';
	return 0;
}

static int queue_check(const struct queue_msg_in *m)
{
	char dom[LIMIT_ADDR_DOMAIN + 1];
	if (!m || !m->spool_path || !m->sender || !m->rcpts || m->n_rcpts == 0 ||
	    m->n_rcpts > LIMIT_QUEUE_RCPTS || strlen(m->sender) > LIMIT_ADDR_MAILBOX)
		return ERR_INVAL;
	for (size_t i = 0; i < m->n_rcpts; i++)
		if (!m->rcpts[i].address || queue_domain(m->rcpts[i].address, dom) < 0)
			return ERR_INVAL;
	return 0;
}

/* Copy spool_path into msg/<qid> (a file system that refuses the hard link). A
 * partial copy left by a crash has no row and is removed at the next start. */
static int queue_copy(struct queue *q, const char *spool_path, const char *qid)
{
	int in = open(spool_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == EEXIST ? ERR_EXISTS : ERR_IO;
	int out = openat(q->msg_fd, qid, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = errno;
		close(in);
		return e == EEXIST ? ERR_EXISTS : ERR_IO;
	}
	int r = 0;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, LIMIT_QUEUE_COPY_CHUNK, 0);
		if (n == 0)
			break;
		if (n < 0) {
			log_err("queue: copy %s to msg/%s: %s", spool_path, qid, strerror(errno));
			r = ERR_IO;
			break;
		}
	}
	close(in);
	if (close(out) < 0 && r == 0)
		r = ERR_IO;
	if (r < 0)
		(void)unlinkat(q->msg_fd, qid, 0); /* it has no row: nothing names it */
	return r;
}

/* msg/<qid> for spool_path under a fresh qid: a hard link, or a copy when the file
 * system refuses links (another file system: EXDEV; none at all: EPERM, EMLINK). */
static int queue_link(struct queue *q, const char *spool_path, char qid[QUEUE_ID_MAX])
{
	for (int tries = 0; tries < LIMIT_QUEUE_ID_TRIES; tries++) {
		queue_make_qid(qid);
		if (linkat(AT_FDCWD, spool_path, q->msg_fd, qid, 0) == 0)
			return 0;
		int e = errno;
		if (e == EEXIST)
			continue;
		if (e == EXDEV || e == EPERM || e == EMLINK) {
			int r = queue_copy(q, spool_path, qid);
			if (r == ERR_EXISTS)
				continue;
			return r;
		}
		log_err("queue: link %s to msg/%s: %s", spool_path, qid, strerror(e));
		return e == ENOENT ? ERR_INVAL : ERR_IO;
	}
	log_err("queue: no free queue id after %d tries", LIMIT_QUEUE_ID_TRIES);
	return ERR_TEMP;
}

/* The batch's files on disk before any row names them. One syncfs(2) when the system
 * holds little unwritten data (it writes every dirty inode of the file system, msg/
 * itself included, and commits the journal once); otherwise an fdatasync per file and
 * one fsync of msg/, which commits the directory entries (and with them the link
 * counts: one journal transaction on ext4 and XFS). A file that cannot be flushed
 * fails its message alone; a syncfs or msg/ failure fails the batch. */
static int queue_flush(struct queue *q, size_t n, int *results, char (*qids)[QUEUE_ID_MAX])
{
	if (flush_prefer_syncfs(LIMIT_QUEUE_SYNCFS_DIRTY)) {
		queue_flush_count_add(1);
		if (syncfs(q->msg_fd) == 0)
			return 0;
		log_err("queue: syncfs %s/msg: %s", q->dir, strerror(errno));
		return ERR_IO;
	}
	for (size_t i = 0; i < n; i++) {
		if (results[i] < 0)
			continue;
		int fd = openat(q->msg_fd, qids[i], O_RDONLY | O_CLOEXEC);
		queue_flush_count_add(1);
		if (fd < 0 || fdatasync(fd) < 0) {
			log_err("queue: fdatasync msg/%s: %s", qids[i], strerror(errno));
			results[i] = ERR_IO;
			queue_unlink_file(q, qids[i]);
			qids[i][0] = '\0';
		}
		if (fd >= 0)
			close(fd);
	}
	queue_flush_count_add(1);
	if (fsync(q->msg_fd) == 0)
		return 0;
	log_err("queue: fsync %s/msg: %s", q->dir, strerror(errno));
	return ERR_IO;
}

static int queue_insert_rcpts(struct queue *q, int64_t msg_id, const struct queue_msg_in *m,
                              int64_t now)
{
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const struct queue_rcpt_in *rc = &m->rcpts[i];
		char dom[LIMIT_ADDR_DOMAIN + 1];
		if (queue_domain(rc->address, dom) < 0)
			return ERR_INVAL; /* queue_check let it through: cannot happen */
		sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_RCPT_INSERT);
		if (!s)
			return ERR_IO;
		sqlite3_bind_int64(s, 1, msg_id);
		sqlite3_bind_text(s, 2, rc->address, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, rc->orcpt, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 4, (int)rc->notify);
		sqlite3_bind_text(s, 5, dom, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, now);
		int r = queue_run(q, s, "insert recipient");
		if (r < 0)
			return r;
	}
	return 0;
}

static int queue_insert(struct queue *q, const struct queue_msg_in *m, const char *qid, int64_t now)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_MSG_INSERT);
	if (!s)
		return ERR_IO;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, m->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, m->envid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, (int)m->ret);
	sqlite3_bind_int(s, 5, (int)m->body);
	sqlite3_bind_int(s, 6, m->smtputf8);
	sqlite3_bind_int(s, 7, m->requiretls);
	sqlite3_bind_int(s, 8, (int)m->kind);
	sqlite3_bind_int64(s, 9, m->account_id);
	sqlite3_bind_text(s, 10, m->dkim_header, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, (int64_t)m->size);
	sqlite3_bind_int64(s, 12, now);
	int r = queue_run(q, s, "insert message");
	if (r < 0)
		return r;
	return queue_insert_rcpts(q, sqlite3_last_insert_rowid(q->db), m, now);
}

/* Every linked message's rows in one transaction. */
static int queue_commit_rows(struct queue *q, const struct queue_msg_in *const *msgs, size_t n,
                             const int *results, char (*qids)[QUEUE_ID_MAX])
{
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&q->lock);
	/* durable: the 250 waits for this commit */
	int r = queue_begin(q, QUEUE_TX_DURABLE);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (results[i] == 0)
			r = queue_insert(q, msgs[i], qids[i], now);
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	if (r == 0)
		queue_unlink_doomed(q); /* finished messages' removal is durable now too */
	pthread_mutex_unlock(&q->lock);
	return r;
}

int queue_add_batch(struct queue *q, const struct queue_msg_in *const *msgs, size_t n, int *results,
                    char (*qids)[QUEUE_ID_MAX])
{
	if (!q || !results || !qids || n == 0 || n > LIMIT_QUEUE_BATCH || !msgs)
		return ERR_INVAL;
	size_t linked = 0;
	for (size_t i = 0; i < n; i++) {
		qids[i][0] = '\0';
		results[i] = queue_check(msgs[i]);
		if (results[i] == 0)
			results[i] = queue_link(q, msgs[i]->spool_path, qids[i]);
		if (results[i] < 0)
			qids[i][0] = '\0';
		linked += results[i] == 0;
	}
	if (linked == 0)
		return results[0];
	int r = queue_flush(q, n, results, qids);
	if (r == 0)
		r = queue_commit_rows(q, msgs, n, results, qids);
	size_t queued = 0;
	for (size_t i = 0; i < n; i++) {
		if (results[i] < 0 || qids[i][0] == '\0')
			continue;
		if (r < 0) {
			/* never acknowledged: no row may name it, none does */
			queue_unlink_file(q, qids[i]);
			results[i] = r;
			qids[i][0] = '\0';
		} else {
			queued++;
		}
	}
	if (r < 0)
		for (size_t i = 0; i < n; i++)
			if (results[i] == 0)
				results[i] = r;
	return queued > 0 ? 0 : (r < 0 ? r : results[0]);
}

int queue_add(struct queue *q, const struct queue_msg_in *m, char qid[QUEUE_ID_MAX])
{
	int result;
	char qids[1][QUEUE_ID_MAX];
	int r = queue_add_batch(q, &m, 1, &result, qids);
	if (r < 0)
		return r;
	if (result == 0 && qid)
		memcpy(qid, qids[0], QUEUE_ID_MAX);
	return result;
}
