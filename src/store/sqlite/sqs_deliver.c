/* sqs_deliver.c: putting new messages into accounts.
 *
 * store_append (IMAP APPEND, import): link the caller's file into msg/, fsync file and
 * directory, then commit the row with synchronous=FULL: durable before it returns.
 *
 * store_deliver_batch (the group commit): messages for many accounts at once. Entries
 * are grouped by account; each group is one transaction on that account's index.db
 * with synchronous=NORMAL (no fsync at COMMIT); after all groups, ONE syncfs(2) on the
 * data dir's file system writes back every linked file, directory entry and WAL. A crash
 * before that syncfs can leave rows whose files are missing or short; nothing of those
 * was acknowledged and recovery drops them (sqs_recover.c).
 *
 * Files are hard links of the caller's spool file (a copy when the file system refuses
 * links), named by a fresh random guid; they are never modified afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

typedef char guid_t[SQS_GUID_LEN + 1];

static int copy_file(const char *src, const char *dst, bool durable)
{
	char tmp[4200];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return ERR_TOO_LONG;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ERR_IO;
	int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return ERR_IO;
	}
	char buf[65536];
	int r = 0;
	for (;;) {
		ssize_t got = read(in, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? ERR_IO : 0;
			break;
		}
		for (ssize_t off = 0; r == 0 && off < got;) {
			ssize_t w = write(out, buf + off, (size_t)(got - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				r = ERR_IO;
			else
				off += w;
		}
		if (r < 0)
			break;
	}
	if (r == 0 && durable) {
		store_flush_count_add(1);
		if (fsync(out) < 0)
			r = ERR_IO;
	}
	if (close(out) < 0)
		r = ERR_IO;
	close(in);
	if (r == 0 && rename(tmp, dst) < 0)
		r = ERR_IO;
	if (r < 0) {
		log_err("store: copy to path=%s: %s", dst, strerror(errno));
		(void)unlink(tmp); /* best effort; the sweep removes *.tmp too */
	}
	return r;
}

/* Put src into the account's msg/ under a new guid. With durable, the file is fsynced
 * before it returns (its directory entry is the caller's: sync_msg_dir, once for all
 * of a call); without, the caller's syncfs covers both. */
static int link_msg(struct sqs_env *e, int64_t id, const struct store_new_msg *m, bool durable,
		    char *guid)
{
	struct stat sb;
	if (stat(m->path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		log_err("store: new message path=%s: %s", m->path, strerror(errno));
		return ERR_IO;
	}
	if ((uint64_t)sb.st_size != m->size) {
		log_err("store: new message path=%s is %lld bytes, caller said %llu", m->path,
			(long long)sb.st_size, (unsigned long long)m->size);
		return ERR_INVAL;
	}
	/* msg/ is flat and made with the account: no directory is created on this path */
	char path[4096];
	int r = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		if (str_random_hex(guid, SQS_GUID_LEN / 2) < 0)
			return ERR_TEMP;
		if (sqs_msg_path(e, id, guid, path, sizeof(path)) < 0)
			return ERR_TOO_LONG;
		r = link(m->path, path) == 0 ? 0 : errno;
		if (r == 0)
			break;
		if (r == EXDEV || r == EPERM || r == EMLINK) {
			r = copy_file(m->path, path, durable);
			if (r < 0)
				return r;
			break;
		}
		if (r != EEXIST) {
			log_err("store: link path=%s: %s", path, strerror(r));
			return ERR_IO;
		}
		r = ERR_EXISTS; /* 128 random bits collided: draw again */
	}
	if (r == ERR_EXISTS)
		return ERR_TEMP;
	if (!durable)
		return 0;
	r = sqs_fsync_path(path, false);
	if (r < 0)
		(void)unlink(path); /* never committed: the sweep would remove it too */
	return r;
}

/* The directory entries of files link_msg made durable. */
static int sync_msg_dir(struct sqs_env *e, int64_t id)
{
	char dir[4096];
	if (sqs_path(e, dir, sizeof(dir), id, "msg") < 0)
		return ERR_TOO_LONG;
	return sqs_fsync_path(dir, true);
}

/* Do `count` more messages of `size` bytes in all fit the quotas (0: unlimited)? */
static bool fits(uint64_t qb, uint64_t qm, uint64_t used_b, uint64_t used_m, uint64_t size,
		 uint64_t count)
{
	if (qb && (size > qb || used_b > qb - size))
		return false;
	if (qm && (count > qm || used_m > qm - count))
		return false;
	return true;
}

/* Insert the content and message rows for a linked file into mb (inside a write
 * transaction), at modseq. A keyword new to the mailbox past LIMIT_MAILBOX_KEYWORDS is
 * ERR_FULL with enforce (APPEND), defined anyway without (delivery never fails for it).
 * What fails for this message alone fails before its first write. */
static int insert_row(struct sqs_env *e, struct sqs_db *h, struct sqs_mb *mb,
		      const struct store_new_msg *m, const char *guid, int64_t now,
		      uint64_t modseq, bool enforce, struct arena *scratch)
{
	if (mb->uidnext == 0 || mb->uidnext == UINT32_MAX)
		return ERR_FULL; /* UIDs are never reused: the mailbox is exhausted */
	char kw[SQS_KEYWORDS_MAX + 1];
	int r = sqs_kw_merge("", m->keywords, STORE_FLAGS_SET, kw, sizeof(kw));
	if (r == 0)
		r = sqs_content_add(e, h, m, guid, scratch);
	if (r == 0)
		r = sqs_kw_note(h, mb->id, kw, enforce);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_MSG_INSERT) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	if (r < 0)
		return r;
	sqlite3_bind_int64(q, 1, mb->id);
	sqlite3_bind_int64(q, 2, mb->uidnext);
	sqlite3_bind_int64(q, 3, (int64_t)modseq);
	sqlite3_bind_int(q, 4, (int)m->flags);
	sqlite3_bind_text(q, 5, kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, (int64_t)m->size);
	sqlite3_bind_int64(q, 7, m->internal_date ? m->internal_date : now);
	sqlite3_bind_int64(q, 8, now);
	sqlite3_bind_text(q, 9, guid, SQS_GUID_LEN, SQLITE_STATIC);
	r = sqs_exec(h, q);
	if (r == 0) {
		mb->uidnext++;
		mb->highestmodseq = modseq;
	}
	return r;
}

int sqs_append(struct store *st, const char *mailbox, const struct store_new_msg *const *msgs,
	       size_t n, uint32_t *uidvalidity_out, uint32_t *uids_out)
{
	struct sqs_env *e = (struct sqs_env *)st->env;
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	struct sqs_mb mb;
	uint64_t qb, qm, ub, um, total = 0;
	for (size_t i = 0; i < n; i++)
		total += msgs[i]->size;
	guid_t *guids = calloc(n, sizeof(*guids));
	if (!guids)
		return ERR_NOMEM;
	int r = sqs_mb_find(h, mailbox, &mb);
	if (r == 0)
		r = sqs_dir_quota(e, st->account_id, &qb, &qm);
	if (r == 0)
		r = sqs_usage_get(h, &ub, &um);
	if (r == 0 && !fits(qb, qm, ub, um, total, n))
		r = ERR_QUOTA; /* early answer, before any I/O; re-checked below */
	size_t linked = 0;
	for (; r == 0 && linked < n; linked++)
		r = link_msg(e, st->account_id, msgs[linked], true, guids[linked]);
	if (r < 0 && linked)
		linked--; /* the one that failed left nothing */
	if (r == 0)
		r = sync_msg_dir(e, st->account_id);
	if (r == 0)
		r = sqs_begin(h, true);
	if (r == 0)
		r = sqs_mb_find(h, mailbox, &mb);
	if (r == 0)
		r = sqs_usage_get(h, &ub, &um);
	if (r == 0 && !fits(qb, qm, ub, um, total, n))
		r = ERR_QUOTA;
	uint32_t first = mb.uidnext;
	int64_t now = (int64_t)time(NULL);
	uint64_t modseq = 0;
	if (r == 0)
		r = sqs_modseq_next(h, &modseq);
	struct arena scratch;
	arena_init(&scratch, LIMIT_STORE_EXTRACT_ARENA);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = insert_row(e, h, &mb, msgs[i], guids[i], now, modseq, true, &scratch);
	arena_free(&scratch);
	if (r == 0)
		r = sqs_mb_bump(h, &mb);
	if (r == 0)
		r = sqs_commit(h); /* synchronous=FULL: the WAL is fsynced here */
	else
		sqs_rollback(h);
	if (r < 0) {
		sqs_unlink_guids(e, st->account_id, guids, linked);
		free(guids);
		return r;
	}
	free(guids);
	for (size_t i = 0; uids_out && i < n; i++)
		uids_out[i] = first + (uint32_t)i;
	if (uidvalidity_out)
		*uidvalidity_out = mb.uidvalidity;
	sqs_index_kick(e, st->account_id);
	store_notify(st->env, st->account_id, mb.id, STORE_CH_APPEND, mb.highestmodseq);
	return 0;
}

/* syncfs(2) of the file system an account's folder is on, when that is not the data
 * dir's: its files (copies: link() gave EXDEV), directory entries and WAL. */
static int flush_account(struct sqs_env *e, int64_t id)
{
	char path[4096];
	if (sqs_path(e, path, sizeof(path), id, NULL) < 0)
		return ERR_TOO_LONG;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd >= 0 ? syncfs(fd) : -1;
	int saved = errno;
	store_flush_count_add(1);
	if (fd >= 0)
		close(fd);
	if (r < 0) {
		log_err("store: syncfs path=%s: %s", path, strerror(saved));
		return ERR_IO;
	}
	return 0;
}

struct slot {
	int64_t account;
	size_t idx;
};

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	if (x->account != y->account)
		return x->account < y->account ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

struct group_done {
	int64_t account, mailbox;
	uint64_t modseq;
};

/* One account's share of a batch: s[0..n) in order, one transaction. Linked files
 * of entries that end up failing are unlinked again. */
static int deliver_group(struct sqs_env *e, const struct slot *s, size_t n,
			 const struct store_new_msg *const *msgs, int *results, guid_t *guids,
			 struct group_done *done)
{
	int64_t id = s[0].account;
	uint64_t qb, qm, ub = 0, um = 0;
	int r = sqs_dir_quota(e, id, &qb, &qm);
	struct sqs_db *h = NULL;
	if (r == 0)
		r = sqs_db_take(e, id, &h);
	if (r < 0)
		return r;
	r = sqs_sync_mode(h, false);
	if (r == 0)
		r = sqs_begin(h, true);
	struct sqs_mb mb;
	if (r == 0)
		r = sqs_mb_find(h, "INBOX", &mb);
	if (r == 0)
		r = sqs_usage_get(h, &ub, &um);
	int64_t now = (int64_t)time(NULL), add_m = 0;
	uint64_t modseq = 0;
	if (r == 0) /* one for the whole group: it is one change of the account */
		r = sqs_modseq_peek(h, &modseq);
	struct arena scratch;
	arena_init(&scratch, LIMIT_STORE_EXTRACT_ARENA);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct store_new_msg *m = msgs[s[i].idx];
		int *res = &results[s[i].idx];
		guids[i][0] = '\0';
		if (!fits(qb, qm, ub, um, m->size, 1)) {
			*res = ERR_QUOTA;
			continue;
		}
		*res = link_msg(e, id, m, false, guids[i]);
		if (*res < 0) {
			guids[i][0] = '\0';
			continue;
		}
		*res = insert_row(e, h, &mb, m, guids[i], now, modseq, false, &scratch);
		if (*res == ERR_IO || *res == ERR_TEMP || *res == ERR_NOMEM)
			r = *res; /* the transaction itself is in trouble */
		if (*res < 0)
			continue;
		ub += m->size, um++;
		add_m++;
	}
	arena_free(&scratch);
	if (r == 0 && add_m)
		r = sqs_modseq_next(h, &modseq);
	if (r == 0 && add_m)
		r = sqs_mb_bump(h, &mb);
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r == 0 && add_m && h->other_fs)
		r = flush_account(e, id); /* the batch's syncfs covers the data dir's fs only */
	if (sqs_sync_mode(h, true) < 0) {
		sqs_db_free(h); /* never pool a handle left in NORMAL mode */
		h = NULL;
	}
	sqs_db_give(e, h);
	for (size_t i = 0; i < n; i++) {
		int *res = &results[s[i].idx];
		if (r < 0 && *res == 0)
			*res = r;
		if (*res < 0 && guids[i][0])
			sqs_unlink_guids(e, id, &guids[i], 1);
	}
	if (r == 0 && add_m) {
		done->account = id;
		done->mailbox = mb.id;
		done->modseq = mb.highestmodseq;
	}
	return r;
}

int sqs_deliver_batch(struct store_env *env, const int64_t *account_ids,
		      const struct store_new_msg *const *msgs, size_t n, int *results)
{
	struct sqs_env *e = (struct sqs_env *)env;
	struct slot *s = malloc(n * sizeof(*s));
	guid_t *guids = malloc(n * sizeof(*guids));
	struct group_done *done = calloc(n, sizeof(*done));
	if (!s || !guids || !done) {
		free(s), free(guids), free(done);
		return ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		s[i].account = account_ids[i];
		s[i].idx = i;
		results[i] = ERR_TEMP;
	}
	qsort(s, n, sizeof(*s), slot_cmp);
	size_t ngroups = 0;
	bool stored = false;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && s[j].account == s[i].account; j++)
			;
		int r = deliver_group(e, s + i, j - i, msgs, results, guids + i, &done[ngroups]);
		if (r < 0) {
			for (size_t k = i; k < j; k++)
				if (results[s[k].idx] >= 0 || results[s[k].idx] == ERR_TEMP)
					results[s[k].idx] = r;
		}
		if (done[ngroups].account) {
			ngroups++;
			stored = true;
		}
	}
	int r = 0;
	if (stored) {
		/* the one flush of the batch: files, directory entries and WALs */
		store_flush_count_add(1);
		if (syncfs(e->data_fd) < 0) {
			log_err("store: syncfs dir=%s: %s", e->data_dir, strerror(errno));
			for (size_t i = 0; i < n; i++)
				if (results[i] == 0)
					results[i] = ERR_IO;
			r = ERR_IO;
			ngroups = 0;
		}
	}
	for (size_t g = 0; g < ngroups; g++) {
		sqs_index_kick(e, done[g].account);
		store_notify(env, done[g].account, done[g].mailbox, STORE_CH_APPEND,
			     done[g].modseq);
	}
	free(s), free(guids), free(done);
	return r;
}
