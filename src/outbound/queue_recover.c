/* queue_recover.c: the queue's recovery when a server starts (queue_open with
 * server = true), before anything is added or leased: the leases of the last server
 * end, files without a row go (never acknowledged), a row whose file is gone is
 * failed loudly and kept in sight, and messages with nothing pending are removed.
 * Owns a list of the queued messages for the length of the call (one id and qid each). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "outbound/queue_int.h"
#include "core/banned.h"

struct queue_rec_msg {
	int64_t id;
	char qid[QUEUE_ID_MAX];
	bool gone; /* rows deleted in this transaction: unlink the file after the commit */
};

static int queue_rec_list(struct queue *q, struct queue_rec_msg **out, size_t *n_out)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_ALL_MSGS);
	if (!s)
		return ERR_IO;
	struct queue_rec_msg *v = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct queue_rec_msg *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		const unsigned char *qid = sqlite3_column_text(s, 1);
		v[n].id = sqlite3_column_int64(s, 0);
		v[n].gone = false;
		int k = snprintf(v[n].qid, QUEUE_ID_MAX, "%s", qid ? (const char *)qid : "");
		if (k <= 0 || k >= QUEUE_ID_MAX) {
			r = ERR_IO; /* only queue_add_batch writes qids: a damaged database */
			break;
		}
		n++;
	}
	sqlite3_reset(s);
	if (r == 0 && rc != SQLITE_DONE)
		r = queue_db_err(q, rc, "recovery list");
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int queue_rec_pending(struct queue *q, int64_t id, int64_t *out)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_PENDING_COUNT);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : queue_db_err(q, rc, "recovery pending");
}

/* A message whose file is gone cannot be sent, and there is nothing to bounce with:
 * its pending recipients fail with QUEUE_MISSING_FILE, and it stays in `kasten queue
 * list` (and is logged at every start) until the admin deletes it. */
static int queue_rec_missing(struct queue *q, const struct queue_rec_msg *m)
{
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_FAIL_PENDING);
	if (!s)
		return ERR_IO;
	sqlite3_bind_int64(s, 1, m->id);
	sqlite3_bind_text(s, 2, QUEUE_MISSING_FILE, -1, SQLITE_STATIC);
	int r = queue_run(q, s, "recovery fail");
	if (r == 0)
		log_err("queue: qid=%s file %s/msg/%s is missing: its recipients fail (%d "
		        "now); kept until `kasten queue delete %s`",
		        m->qid, q->dir, m->qid, sqlite3_changes(q->db), m->qid);
	return r;
}

static int queue_rec_msgs(struct queue *q, struct queue_rec_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (fstatat(q->msg_fd, v[i].qid, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				log_err("queue: stat msg/%s: %s", v[i].qid, strerror(errno));
				return ERR_IO;
			}
			int r = queue_rec_missing(q, &v[i]);
			if (r < 0)
				return r;
			continue;
		}
		int64_t pending = 0;
		int r = queue_rec_pending(q, v[i].id, &pending);
		if (r == 0 && pending == 0) {
			/* finished before the last server could remove it (an admin delete
			 * during a send, then a crash) */
			r = queue_delete_rows(q, v[i].id);
			v[i].gone = r == 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Does a row name msg/<name>? Names that are no qid at all (temp files) never match. */
static int queue_rec_named(struct queue *q, const char *name)
{
	if (strlen(name) >= QUEUE_ID_MAX)
		return 0;
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_QID_EXISTS);
	if (!s)
		return ERR_IO;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : queue_db_err(q, rc, "recovery name");
}

/* Files no row names: linked or copied by a batch whose commit never happened, so
 * never acknowledged. */
static int queue_rec_orphans(struct queue *q)
{
	int fd = dup(q->msg_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		log_err("queue: read %s/msg: %s", q->dir, strerror(errno));
		return ERR_IO;
	}
	rewinddir(d);
	int r = 0;
	size_t removed = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int named = queue_rec_named(q, e->d_name);
		if (named != 0) {
			r = named < 0 ? named : 0;
			continue;
		}
		if (unlinkat(q->msg_fd, e->d_name, 0) < 0 && errno != ENOENT) {
			log_err("queue: remove msg/%s: %s", e->d_name, strerror(errno));
			r = ERR_IO;
		}
		removed++;
	}
	closedir(d);
	if (removed)
		log_info("queue: removed %zu file(s) of msg/ never acknowledged", removed);
	return r;
}

int queue_recover(struct queue *q, int64_t now)
{
	struct queue_rec_msg *v = NULL;
	size_t n = 0;
	int r = queue_begin(q, QUEUE_TX_DURABLE);
	if (r < 0)
		return r;
	sqlite3_stmt *s = queue_stmt(q, QUEUE_Q_CLEAR_LEASES);
	if (s)
		sqlite3_bind_int64(s, 1, now);
	r = queue_run(q, s, "clear leases");
	if (r == 0 && sqlite3_changes(q->db) > 0)
		log_info("queue: %d recipient(s) leased when the last server stopped are due "
		         "again",
		         sqlite3_changes(q->db));
	/* orphans first: a message removed below must keep its file until the commit */
	if (r == 0)
		r = queue_rec_orphans(q);
	if (r == 0)
		r = queue_rec_list(q, &v, &n);
	if (r == 0)
		r = queue_rec_msgs(q, v, n);
	if (r == 0)
		r = queue_commit(q);
	else
		queue_rollback(q);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].gone)
			queue_unlink_file(q, v[i].qid);
	free(v);
	return r;
}
