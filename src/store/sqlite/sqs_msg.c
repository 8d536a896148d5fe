/* sqs_msg.c: messages of one account: listing, opening, flags and keywords,
 * expunge (rows first, files unlinked after the commit), POP3 retrieval marks and the
 * expunged-UID log for QRESYNC. Limits: SQS_KEYWORDS_MAX bytes of keywords per message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static uint64_t rm_gen(const struct store *st);
static void cache_fill(struct store *st, int64_t mailbox_id, uint64_t gen,
		       const struct store_msg *v, size_t n);

int sqs_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first, uint32_t uid_last,
		 struct arena *a, struct store_msg **out, size_t *n_out)
{
	struct sqs_db *h = H(st);
	uint64_t gen = rm_gen(st); /* before the snapshot: a removal after it shows */
	int r = sqs_begin(h, false); /* count and rows from one snapshot */
	if (r < 0)
		return r;
	struct sqs_mb mb;
	r = sqs_mb_find_id(h, mailbox_id, &mb);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_MSG_COUNT_RANGE) : NULL;
	size_t n = 0;
	if (q) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, uid_first);
		sqlite3_bind_int64(q, 3, uid_last);
		int rc = sqs_step(h, q);
		if (rc == SQLITE_ROW)
			n = (size_t)sqlite3_column_int64(q, 0);
		else
			r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
		sqlite3_reset(q);
	} else if (r == 0) {
		r = ERR_IO;
	}
	struct store_msg *v = NULL;
	if (r == 0 && n && !(v = arena_zalloc(a, n * sizeof(*v))))
		r = ERR_NOMEM;
	size_t i = 0;
	if (r == 0 && n && (q = sqs_q(h, Q_MSG_LIST)) != NULL) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, uid_first);
		sqlite3_bind_int64(q, 3, uid_last);
		int rc = SQLITE_DONE;
		while (r == 0 && i < n && (rc = sqs_step(h, q)) == SQLITE_ROW) {
			struct store_msg *m = &v[i++];
			m->uid = (uint32_t)sqlite3_column_int64(q, 0);
			m->modseq = (uint64_t)sqlite3_column_int64(q, 1);
			m->flags = (unsigned)sqlite3_column_int(q, 2);
			m->keywords = arena_strdup(a, (const char *)sqlite3_column_text(q, 3));
			m->size = (uint64_t)sqlite3_column_int64(q, 4);
			m->internal_date = sqlite3_column_int64(q, 5);
			m->saved_date = sqlite3_column_int64(q, 6);
			m->guid = arena_strdup(a, (const char *)sqlite3_column_text(q, 7));
			m->pop3_retrieved = sqlite3_column_int64(q, 8);
			if (!m->keywords || !m->guid)
				r = ERR_NOMEM;
		}
		if (r == 0 && i < n && rc != SQLITE_DONE) /* never a silently short listing */
			r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
		sqlite3_reset(q);
	} else if (r == 0 && n) {
		r = ERR_IO;
	}
	sqs_rollback(h);
	if (r < 0)
		return r;
	if (uid_first <= 1 && uid_last == UINT32_MAX)
		cache_fill(st, mailbox_id, gen, v, i);
	*out = v;
	*n_out = i;
	return 0;
}

/* guid and size of one message (guid must hold SQS_GUID_LEN + 1), and its flags and
 * keywords where flags / kw are non-NULL. ERR_NOTFOUND if there is no such row. */
static int msg_get(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, char *guid,
		   uint64_t *size, unsigned *flags, char *kw, size_t kwcap)
{
	sqlite3_stmt *q = sqs_q(h, Q_MSG_GET);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	int rc = sqs_step(h, q), r = 0;
	if (rc == SQLITE_ROW) {
		(void)snprintf(guid, SQS_GUID_LEN + 1, "%s", sqlite3_column_text(q, 0));
		*size = (uint64_t)sqlite3_column_int64(q, 1);
		if (flags)
			*flags = (unsigned)sqlite3_column_int(q, 2);
		if (kw && snprintf(kw, kwcap, "%s", sqlite3_column_text(q, 3)) >= (int)kwcap)
			r = ERR_TOO_LONG;
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	}
	sqlite3_reset(q);
	return r;
}

void sqs_rows_removing(struct sqs_env *e, int64_t account_id)
{
	atomic_fetch_add(&e->rm_gen[(uint64_t)account_id % SQS_RM_SLOTS], 1);
}

void sqs_msgcache_free(struct sqs_msgcache *c)
{
	free(c->uids);
	free(c->sizes);
	free(c->guids);
	memset(c, 0, sizeof(*c));
}

static uint64_t rm_gen(const struct store *st)
{
	struct sqs_env *e = (struct sqs_env *)st->env;
	return atomic_load(&e->rm_gen[(uint64_t)st->account_id % SQS_RM_SLOTS]);
}

/* Remember a full listing of a mailbox (gen read before its snapshot began). A copy
 * of at most this many entries is kept; bigger mailboxes always use SQL. */
#define CACHE_MAX 200000
static void cache_fill(struct store *st, int64_t mailbox_id, uint64_t gen,
		       const struct store_msg *v, size_t n)
{
	struct sqs_msgcache *c = &((struct sqs_store *)st)->cache;
	sqs_msgcache_free(c);
	if (n == 0 || n > CACHE_MAX)
		return;
	c->uids = malloc(n * sizeof(*c->uids));
	c->sizes = malloc(n * sizeof(*c->sizes));
	c->guids = malloc(n * sizeof(*c->guids));
	if (!c->uids || !c->sizes || !c->guids) {
		sqs_msgcache_free(c); /* only a missed shortcut */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		c->uids[i] = v[i].uid;
		c->sizes[i] = v[i].size;
		memcpy(c->guids[i], v[i].guid, SQS_GUID_LEN + 1);
	}
	c->mailbox = mailbox_id;
	c->gen = gen;
	c->n = n;
}

/* The cached row for uid, or -1 if the cache cannot vouch for it. */
static ssize_t cache_find(struct store *st, int64_t mailbox_id, uint32_t uid)
{
	const struct sqs_msgcache *c = &((struct sqs_store *)st)->cache;
	if (!c->n || c->mailbox != mailbox_id || rm_gen(st) != c->gen)
		return -1;
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->uids[lo] == uid ? (ssize_t)lo : -1;
}

int sqs_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
		 uint64_t *size_out)
{
	char guid[SQS_GUID_LEN + 1], path[4096];
	uint64_t size;
	/* No row of this account was removed since the listing: the row still exists and
	 * names this file, so the SQL read (and its WAL locks) can be skipped. A removal
	 * that starts after this check is ordered after this open. */
	ssize_t k = cache_find(st, mailbox_id, uid);
	bool cached = k >= 0;
	int r = 0;
	if (cached) {
		const struct sqs_msgcache *c = &((struct sqs_store *)st)->cache;
		memcpy(guid, c->guids[k], sizeof(guid));
		size = c->sizes[k];
	} else {
		r = msg_get(H(st), mailbox_id, uid, guid, &size, NULL, NULL, 0);
	}
	if (r == 0)
		r = sqs_msg_path((struct sqs_env *)st->env, st->account_id, guid, path, sizeof(path));
	if (r < 0)
		return r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), open_err = errno;
	/* expunged and reaped since the check or since the row was read (the reaper does not
	 * wait for readers): gone, not damaged, when the row is gone too */
	if (fd < 0 && open_err == ENOENT &&
	    (cached || msg_get(H(st), mailbox_id, uid, guid, &size, NULL, NULL, 0) == ERR_NOTFOUND))
		return ERR_NOTFOUND;
	if (fd < 0) {
		/* rows exist only for files that were made durable: this is damage */
		log_err("store: message file path=%s: %s", path, strerror(open_err));
		return ERR_IO;
	}
	*fd_out = fd;
	if (size_out)
		*size_out = size;
	return 0;
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

/* Apply one flag change to one message inside the caller's transaction;
 * *changed is set when the row was updated (to modseq). */
static int flags_one(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, enum store_flag_op op,
		     unsigned flags, const char *keywords, uint64_t modseq, bool *changed)
{
	char guid[SQS_GUID_LEN + 1], cur[SQS_KEYWORDS_MAX + 1], next[SQS_KEYWORDS_MAX + 1];
	uint64_t size;
	unsigned cf;
	int r = msg_get(h, mailbox_id, uid, guid, &size, &cf, cur, sizeof(cur));
	if (r == ERR_NOTFOUND)
		return 0; /* expunged meanwhile: nothing to change */
	if (r == 0)
		r = sqs_kw_merge(cur, keywords, op, next, sizeof(next));
	if (r < 0)
		return r;
	unsigned nf = flags_apply(cf, op, flags);
	if (nf == cf && !strcmp(cur, next))
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
		*changed = true;
	return r;
}

int sqs_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
	      enum store_flag_op op, unsigned flags, const char *keywords, uint64_t *modseq_out)
{
	struct sqs_db *h = H(st);
	int r = sqs_begin(h, true);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	r = sqs_mb_find_id(h, mailbox_id, &mb);
	bool changed = false;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = flags_one(h, mailbox_id, uids[i], op, flags, keywords, mb.highestmodseq + 1,
			      &changed);
	if (r == 0 && changed) {
		mb.highestmodseq++;
		r = sqs_mb_bump(h, &mb);
	}
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r < 0)
		return r;
	if (modseq_out)
		*modseq_out = mb.highestmodseq;
	if (changed)
		store_notify(st->env, st->account_id, mailbox_id, STORE_CH_FLAGS, mb.highestmodseq);
	return 0;
}

/* Delete one row, log it as expunged at modseq; its guid/size go to the caller. */
static int expunge_one(struct sqs_db *h, int64_t mailbox_id, uint32_t uid, uint64_t modseq,
		       char *guid, uint64_t *size)
{
	int r = msg_get(h, mailbox_id, uid, guid, size, NULL, NULL, 0);
	if (r < 0)
		return r;
	sqlite3_stmt *q = sqs_q(h, Q_MSG_DELETE);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	sqlite3_bind_int64(q, 2, uid);
	r = sqs_exec(h, q);
	if (r == 0 && (q = sqs_q(h, Q_EXP_INSERT)) != NULL) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, uid);
		sqlite3_bind_int64(q, 3, (int64_t)modseq);
		r = sqs_exec(h, q);
	} else if (r == 0) {
		r = ERR_IO;
	}
	return r;
}

int sqs_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		uint64_t *modseq_out)
{
	struct sqs_db *h = H(st);
	char(*guids)[SQS_GUID_LEN + 1] = n ? malloc(n * sizeof(*guids)) : NULL;
	if (n && !guids)
		return ERR_NOMEM;
	sqs_rows_removing((struct sqs_env *)st->env, st->account_id);
	int r = sqs_begin(h, true);
	struct sqs_mb mb;
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	size_t gone = 0;
	int64_t bytes = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t size;
		r = expunge_one(h, mailbox_id, uids[i], mb.highestmodseq + 1, guids[gone], &size);
		if (r == 0) {
			gone++;
			bytes += (int64_t)size;
		} else if (r == ERR_NOTFOUND) {
			r = 0; /* already gone */
		}
	}
	sqlite3_stmt *q;
	if (r == 0 && gone && (q = sqs_q(h, Q_USAGE_ADD)) != NULL) {
		sqlite3_bind_int64(q, 1, -bytes);
		sqlite3_bind_int64(q, 2, -(int64_t)gone);
		r = sqs_exec(h, q);
		mb.highestmodseq++;
		if (r == 0)
			r = sqs_mb_bump(h, &mb);
	} else if (r == 0 && gone) {
		r = ERR_IO;
	}
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r == 0) {
		sqs_reap_guids((struct sqs_env *)st->env, st->account_id, guids, gone);
		if (modseq_out)
			*modseq_out = mb.highestmodseq;
		if (gone)
			store_notify(st->env, st->account_id, mailbox_id, STORE_CH_EXPUNGE,
				     mb.highestmodseq);
	}
	free(guids);
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

int sqs_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq, struct arena *a,
		       uint32_t **uids_out, size_t *n_out)
{
	struct sqs_db *h = H(st);
	if (modseq > INT64_MAX)
		modseq = INT64_MAX;
	int r = sqs_begin(h, false);
	if (r < 0)
		return r;
	size_t n = 0, i = 0;
	sqlite3_stmt *q = sqs_q(h, Q_EXP_COUNT_SINCE);
	if (!q)
		r = ERR_IO;
	if (q) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, (int64_t)modseq);
		int rc = sqs_step(h, q);
		if (rc == SQLITE_ROW)
			n = (size_t)sqlite3_column_int64(q, 0);
		else
			r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
		sqlite3_reset(q);
	}
	uint32_t *v = NULL;
	if (r == 0 && n && !(v = arena_alloc(a, n * sizeof(*v))))
		r = ERR_NOMEM;
	if (r == 0 && n && (q = sqs_q(h, Q_EXP_SINCE)) != NULL) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, (int64_t)modseq);
		int rc = SQLITE_DONE;
		while (i < n && (rc = sqs_step(h, q)) == SQLITE_ROW)
			v[i++] = (uint32_t)sqlite3_column_int64(q, 0);
		if (i < n && rc != SQLITE_DONE) /* a short VANISHED list would lose expunges */
			r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
		sqlite3_reset(q);
	} else if (r == 0 && n) {
		r = ERR_IO;
	}
	sqs_rollback(h);
	if (r < 0)
		return r;
	*uids_out = v;
	*n_out = i;
	return 0;
}
