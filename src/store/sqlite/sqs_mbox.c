/* sqs_mbox.c: mailboxes of one account (list, get, create, rename, delete, the \Recent
 * claim), account usage and the quota-warning flag; subscriptions are sqs_subs.c's. Names live only in
 * index.db; files are named by guid, so no name ever reaches the file system. The
 * STATUS counters are columns the triggers of sqs_schema.c keep. Limits:
 * LIMIT_MAILBOX_NAME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define NAME_CAP (LIMIT_MAILBOX_NAME + 1)

static struct sqs_db *H(struct store *st)
{
	return ((struct sqs_store *)st)->h;
}

void sqs_mb_canon(const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	size_t off = 0;
	if ((n == 5 || (n > 5 && name[5] == '/')) && str_iprefix(name, n, "INBOX")) {
		memcpy(out, "INBOX", 5);
		off = 5;
	}
	size_t rest = n - off;
	if (rest >= cap - off)
		rest = cap - off - 1; /* callers checked the length already */
	memcpy(out + off, name + off, rest);
	out[off + rest] = '\0';
}

/* A Q_MB_BY_* / Q_MB_LIST row (sqs_sql.c MB_COLS). */
static void read_mb(sqlite3_stmt *q, struct sqs_mb *out)
{
	out->id = sqlite3_column_int64(q, 0);
	out->uidvalidity = (uint32_t)sqlite3_column_int64(q, 2);
	out->uidnext = (uint32_t)sqlite3_column_int64(q, 3);
	out->highestmodseq = (uint64_t)sqlite3_column_int64(q, 4);
	out->n_deleted = (uint32_t)sqlite3_column_int64(q, 10);
	out->recent_uid = (uint32_t)sqlite3_column_int64(q, 12);
	out->expunge_horizon = (uint64_t)sqlite3_column_int64(q, 13);
}

static int find(struct sqs_db *h, enum sqs_stmt which, const char *name, int64_t id,
		struct sqs_mb *out)
{
	sqlite3_stmt *q = sqs_q(h, which);
	if (!q)
		return ERR_IO;
	if (name)
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, id);
	int rc = sqs_step(h, q);
	if (rc == SQLITE_ROW)
		read_mb(q, out);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
}

int sqs_mb_find(struct sqs_db *h, const char *name, struct sqs_mb *out)
{
	char canon[NAME_CAP];
	if (strlen(name) > LIMIT_MAILBOX_NAME)
		return ERR_NOTFOUND;
	sqs_mb_canon(name, canon, sizeof(canon));
	return find(h, Q_MB_BY_NAME, canon, 0, out);
}

int sqs_mb_find_id(struct sqs_db *h, int64_t id, struct sqs_mb *out)
{
	return find(h, Q_MB_BY_ID, NULL, id, out);
}

int sqs_mb_bump(struct sqs_db *h, const struct sqs_mb *mb)
{
	sqlite3_stmt *q = sqs_q(h, Q_MB_BUMP);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mb->id);
	sqlite3_bind_int64(q, 2, mb->uidnext);
	sqlite3_bind_int64(q, 3, (int64_t)mb->highestmodseq);
	return sqs_exec(h, q);
}

int sqs_usage(struct store *st, uint64_t *bytes_out, uint64_t *messages_out)
{
	return sqs_usage_get(H(st), bytes_out, messages_out);
}

/* One Q_MB_* row into the arena, with its count of unclaimed (\Recent) messages. */
static int fill_mailbox(struct sqs_db *h, sqlite3_stmt *row, struct arena *a,
			struct store_mailbox *out)
{
	struct sqs_mb mb;
	read_mb(row, &mb);
	memset(out, 0, sizeof(*out));
	out->id = mb.id;
	out->name = arena_strdup(a, (const char *)sqlite3_column_text(row, 1));
	out->mailboxid = arena_strdup(a, (const char *)sqlite3_column_text(row, 7));
	if (!out->name || !out->mailboxid)
		return ERR_NOMEM;
	out->uidvalidity = mb.uidvalidity;
	out->uidnext = mb.uidnext;
	out->highestmodseq = mb.highestmodseq;
	out->special_use = (unsigned)sqlite3_column_int(row, 5);
	out->subscribed = sqlite3_column_int(row, 6) != 0;
	out->messages = (uint32_t)sqlite3_column_int64(row, 8);
	out->unseen = (uint32_t)sqlite3_column_int64(row, 9);
	out->deleted = mb.n_deleted;
	out->bytes = (uint64_t)sqlite3_column_int64(row, 11);
	if (mb.recent_uid >= mb.uidnext)
		return 0; /* the common case: everything claimed, no query */
	sqlite3_stmt *q = sqs_q(h, Q_MB_RECENT);
	if (q) {
		sqlite3_bind_int64(q, 1, mb.id);
		sqlite3_bind_int64(q, 2, mb.recent_uid);
	}
	int64_t recent;
	int r = sqs_int(h, q, 0, &recent);
	out->recent = (uint32_t)recent;
	return r;
}

/* One mailbox by name (canon) or id, row and recent count from one snapshot. */
static int get_one(struct sqs_db *h, const char *canon, int64_t id, struct arena *a,
		   struct store_mailbox *out)
{
	int r = sqs_begin(h, false);
	if (r < 0)
		return r;
	sqlite3_stmt *q = sqs_q(h, canon ? Q_MB_BY_NAME : Q_MB_BY_ID);
	if (!q) {
		sqs_rollback(h);
		return ERR_IO;
	}
	if (canon)
		sqlite3_bind_text(q, 1, canon, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, id);
	int rc = sqs_step(h, q);
	if (rc == SQLITE_ROW)
		r = fill_mailbox(h, q, a, out);
	else
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	sqlite3_reset(q);
	sqs_rollback(h); /* read-only: nothing to commit */
	return r;
}

int sqs_mailbox_get(struct store *st, const char *name, struct arena *a,
		    struct store_mailbox *out)
{
	char canon[NAME_CAP];
	sqs_mb_canon(name, canon, sizeof(canon));
	return get_one(H(st), canon, 0, a, out);
}

int sqs_mailbox_get_id(struct store *st, int64_t mailbox_id, struct arena *a,
		       struct store_mailbox *out)
{
	return get_one(H(st), NULL, mailbox_id, a, out);
}

int sqs_mailbox_list(struct store *st, struct arena *a, struct store_mailbox **out,
		     size_t *n_out)
{
	struct sqs_db *h = H(st);
	int r = sqs_begin(h, false);
	if (r < 0)
		return r;
	struct store_mailbox *v = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q = sqs_q(h, Q_MB_LIST);
	int rc = q ? SQLITE_ROW : SQLITE_ERROR;
	while (r == 0 && q && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct store_mailbox *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			v = nv;
		}
		r = fill_mailbox(h, q, a, &v[n++]);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = q ? sqs_err(rc) : ERR_IO;
	if (q)
		sqlite3_reset(q);
	sqs_rollback(h);
	struct store_mailbox *res = NULL;
	if (r == 0 && n) {
		res = arena_alloc(a, n * sizeof(*res));
		if (res)
			memcpy(res, v, n * sizeof(*res));
		else
			r = ERR_NOMEM;
	}
	free(v);
	if (r < 0)
		return r;
	*out = res;
	*n_out = n;
	return 0;
}

int sqs_mb_insert(struct sqs_db *h, const char *name, unsigned special_use, uint64_t modseq,
		  int64_t *id_out)
{
	uint32_t uv;
	char mailboxid[SQS_GUID_LEN + 1];
	int r = sqs_new_uidvalidity(h, &uv);
	if (r == 0 && str_random_hex(mailboxid, SQS_GUID_LEN / 2) < 0)
		r = ERR_TEMP;
	if (r < 0)
		return r;
	sqlite3_stmt *q = sqs_q(h, Q_MB_INSERT);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, uv);
	sqlite3_bind_int(q, 3, (int)special_use);
	sqlite3_bind_text(q, 4, mailboxid, SQS_GUID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, (int64_t)modseq);
	r = sqs_exec(h, q);
	if (r == 0 && id_out)
		*id_out = sqlite3_last_insert_rowid(h->db);
	return r;
}

int sqs_mailbox_create(struct store *st, const char *name, unsigned special_use)
{
	struct sqs_db *h = H(st);
	char canon[NAME_CAP];
	sqs_mb_canon(name, canon, sizeof(canon));
	int r = sqs_begin(h, true);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	r = find(h, Q_MB_BY_NAME, canon, 0, &mb);
	if (r == 0)
		r = ERR_EXISTS;
	else if (r == ERR_NOTFOUND)
		r = 0;
	uint64_t modseq = 0;
	if (r == 0)
		r = sqs_modseq_next(h, &modseq);
	/* RFC 9051 6.3.4: superior levels that do not exist yet are created too */
	for (char *slash = strchr(canon, '/'); r == 0 && slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		r = find(h, Q_MB_BY_NAME, canon, 0, &mb);
		if (r == ERR_NOTFOUND)
			r = sqs_mb_insert(h, canon, STORE_SU_NONE, modseq, NULL);
		*slash = '/';
	}
	int64_t id = 0;
	if (r == 0)
		r = sqs_mb_insert(h, canon, special_use, modseq, &id);
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r == 0)
		store_notify(st->env, st->account_id, id, STORE_CH_MAILBOX, modseq);
	return r;
}

/* RFC 9051 6.3.6: renaming INBOX moves its messages to a new mailbox and leaves INBOX
 * empty (the moved UIDs show up as expunged from INBOX). The keywords INBOX defines
 * come along; the messages keep their UIDs under the new UIDVALIDITY. */
static int rename_inbox(struct sqs_db *h, const struct sqs_mb *inbox, const char *to,
			uint64_t modseq, int64_t *new_id)
{
	int r = sqs_mb_insert(h, to, STORE_SU_NONE, modseq, new_id);
	struct sqs_mb nmb;
	if (r == 0)
		r = find(h, Q_MB_BY_ID, NULL, *new_id, &nmb);
	if (r < 0)
		return r;
	struct sqs_mb ib = *inbox;
	ib.highestmodseq = modseq;
	nmb.uidnext = ib.uidnext;
	nmb.highestmodseq = modseq;
	sqlite3_stmt *q = sqs_q(h, Q_EXP_COPY_ALL);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, ib.id);
	sqlite3_bind_int64(q, 2, (int64_t)modseq);
	sqlite3_bind_int64(q, 3, (int64_t)time(NULL));
	r = sqs_exec(h, q);
	static const enum sqs_stmt moves[] = {Q_MSG_MOVE_ALL, Q_KW_COPY_ALL};
	for (size_t i = 0; r == 0 && i < sizeof(moves) / sizeof(moves[0]); i++) {
		if ((q = sqs_q(h, moves[i])) == NULL)
			return ERR_IO;
		sqlite3_bind_int64(q, 1, ib.id);
		sqlite3_bind_int64(q, 2, nmb.id);
		r = sqs_exec(h, q);
	}
	if (r == 0)
		r = sqs_mb_bump(h, &ib);
	if (r == 0)
		r = sqs_mb_bump(h, &nmb);
	return r;
}

struct ren {
	int64_t id;
	char name[NAME_CAP];
};

/* Rename `from` and every "from/..." below it; fails if a target name is taken. */
static int rename_tree(struct sqs_db *h, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	struct ren *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0, rc;
	sqlite3_stmt *q = sqs_q(h, Q_MB_LIST);
	if (!q)
		return ERR_IO;
	while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 1);
		size_t nl = strlen(name);
		if (!(nl == fl && !memcmp(name, from, fl)) &&
		    !(nl > fl && !memcmp(name, from, fl) && name[fl] == '/'))
			continue;
		if (tl + (nl - fl) > LIMIT_MAILBOX_NAME) {
			r = ERR_TOO_LONG;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct ren *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			v = nv;
		}
		v[n].id = sqlite3_column_int64(q, 0);
		memcpy(v[n].name, to, tl);
		memcpy(v[n].name + tl, name + fl, nl - fl + 1);
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqs_err(rc) ? sqs_err(rc) : ERR_IO; /* never rename half a tree */
	sqlite3_reset(q);
	struct sqs_mb mb;
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = find(h, Q_MB_BY_NAME, v[i].name, 0, &mb);
		r = r == 0 ? ERR_EXISTS : (r == ERR_NOTFOUND ? 0 : r);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		if ((q = sqs_q(h, Q_MB_RENAME)) == NULL) {
			r = ERR_IO;
			break;
		}
		sqlite3_bind_int64(q, 1, v[i].id);
		sqlite3_bind_text(q, 2, v[i].name, -1, SQLITE_STATIC);
		r = sqs_exec(h, q);
	}
	free(v);
	return r;
}

int sqs_mailbox_rename(struct store *st, const char *from, const char *to)
{
	struct sqs_db *h = H(st);
	char cf[NAME_CAP], ct[NAME_CAP];
	sqs_mb_canon(from, cf, sizeof(cf));
	sqs_mb_canon(to, ct, sizeof(ct));
	if (!strcmp(cf, "INBOX")) /* moves INBOX's rows to the new mailbox */
		sqs_rows_removing((struct sqs_env *)st->env, st->account_id);
	int r = sqs_begin(h, true);
	if (r < 0)
		return r;
	struct sqs_mb src, dst;
	r = find(h, Q_MB_BY_NAME, cf, 0, &src);
	if (r == 0) {
		r = find(h, Q_MB_BY_NAME, ct, 0, &dst);
		r = r == 0 ? ERR_EXISTS : (r == ERR_NOTFOUND ? 0 : r);
	}
	uint64_t modseq = 0;
	if (r == 0)
		r = sqs_modseq_next(h, &modseq);
	int64_t changed = src.id;
	if (r == 0 && !strcmp(cf, "INBOX"))
		r = rename_inbox(h, &src, ct, modseq, &changed);
	else if (r == 0)
		r = rename_tree(h, cf, ct);
	if (r == 0 && strcmp(cf, "INBOX")) /* subscriptions follow the tree, not INBOX */
		r = sqs_sub_rename(h, cf, ct);
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r == 0) {
		store_notify(st->env, st->account_id, changed, STORE_CH_MAILBOX, modseq);
		if (changed != src.id) /* INBOX emptied */
			store_notify(st->env, st->account_id, src.id, STORE_CH_EXPUNGE, modseq);
	}
	return r;
}

typedef char guid_t[SQS_GUID_LEN + 1];

/* The distinct guids of a mailbox's messages, malloc'ed. */
static int mailbox_guids(struct sqs_db *h, int64_t mailbox_id, guid_t **out, size_t *n_out)
{
	guid_t *g = NULL;
	size_t n = 0, cap = 0;
	int r = 0, rc = SQLITE_DONE;
	sqlite3_stmt *q = sqs_q(h, Q_MSG_OF_MB);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, mailbox_id);
	while ((rc = sqs_step(h, q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			guid_t *ng = realloc(g, cap * sizeof(*g));
			if (!ng) {
				r = ERR_NOMEM;
				break;
			}
			g = ng;
		}
		/* guids are 32 chars */
		(void)snprintf(g[n++], sizeof(g[0]), "%s", sqlite3_column_text(q, 0));
	}
	if (r == 0)
		r = sqs_done(rc);
	sqlite3_reset(q);
	if (r < 0) {
		free(g);
		return r;
	}
	*out = g;
	*n_out = n;
	return 0;
}

int sqs_mailbox_delete(struct store *st, const char *name)
{
	struct sqs_db *h = H(st);
	char canon[NAME_CAP];
	sqs_mb_canon(name, canon, sizeof(canon));
	if (!strcmp(canon, "INBOX"))
		return ERR_PERM;
	sqs_rows_removing((struct sqs_env *)st->env, st->account_id);
	int r = sqs_begin(h, true);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	guid_t *guids = NULL;
	size_t n = 0, gone = 0;
	uint64_t modseq = 0;
	r = find(h, Q_MB_BY_NAME, canon, 0, &mb);
	if (r == 0)
		r = sqs_modseq_next(h, &modseq);
	if (r == 0)
		r = mailbox_guids(h, mb.id, &guids, &n);
	static const enum sqs_stmt dels[] = {Q_MSG_DELETE_MB, Q_EXP_DELETE_MB, Q_KW_DELETE_MB,
					     Q_MB_DELETE};
	sqlite3_stmt *q;
	for (size_t i = 0; r == 0 && i < sizeof(dels) / sizeof(dels[0]); i++) {
		if ((q = sqs_q(h, dels[i])) == NULL) {
			r = ERR_IO;
			break;
		}
		sqlite3_bind_int64(q, 1, mb.id);
		r = sqs_exec(h, q);
	}
	/* the files whose last message this was go; copies elsewhere keep theirs */
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool last = false;
		r = sqs_content_release(h, guids[i], &last);
		if (r == 0 && last)
			memmove(guids[gone++], guids[i], sizeof(guids[0]));
	}
	if (r == 0)
		r = sqs_jmap_prune(h, (int64_t)time(NULL));
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r == 0) {
		sqs_reap_guids((struct sqs_env *)st->env, st->account_id, guids, gone);
		store_notify(st->env, st->account_id, mb.id, STORE_CH_MAILBOX, modseq);
	}
	free(guids);
	return r;
}

int sqs_recent_claim(struct store *st, int64_t mailbox_id, uint32_t *first_out,
		     uint32_t *end_out)
{
	struct sqs_db *h = H(st);
	struct sqs_mb mb;
	int r = sqs_mb_find_id(h, mailbox_id, &mb);
	if (r == 0 && mb.recent_uid >= mb.uidnext) { /* nothing to claim: no write lock */
		*first_out = *end_out = mb.uidnext;
		return 0;
	}
	if (r == 0)
		r = sqs_begin(h, true); /* read and move in one writer: one claimant */
	if (r == 0)
		r = sqs_mb_find_id(h, mailbox_id, &mb);
	sqlite3_stmt *q = NULL;
	if (r == 0 && mb.recent_uid < mb.uidnext && (q = sqs_q(h, Q_MB_SET_RECENT)) == NULL)
		r = ERR_IO;
	if (q) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, mb.uidnext);
		r = sqs_exec(h, q);
	}
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	if (r < 0)
		return r;
	*first_out = mb.recent_uid < mb.uidnext ? mb.recent_uid : mb.uidnext;
	*end_out = mb.uidnext;
	return 0;
}

static const char META_QUOTA_WARNED[] = "quota_warned";

int sqs_quota_warned(struct store *st, int *get_out, int set)
{
	struct sqs_db *h = H(st);
	bool txn = get_out && set >= 0; /* test-and-set: one transaction */
	int r = txn ? sqs_begin(h, true) : 0;
	if (r < 0)
		return r;
	if (get_out) {
		sqlite3_stmt *q = sqs_q(h, Q_META_GET);
		if (!q) {
			sqs_rollback(h);
			return ERR_IO;
		}
		sqlite3_bind_text(q, 1, META_QUOTA_WARNED, -1, SQLITE_STATIC);
		int rc = sqs_step(h, q);
		*get_out = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) != 0 : 0;
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			r = sqs_err(rc);
	}
	if (r == 0 && set >= 0) {
		sqlite3_stmt *q = sqs_q(h, Q_META_SET);
		if (!q) {
			r = ERR_IO;
		} else {
			sqlite3_bind_text(q, 1, META_QUOTA_WARNED, -1, SQLITE_STATIC);
			sqlite3_bind_int(q, 2, set);
			r = sqs_exec(h, q);
		}
	}
	if (txn && r == 0)
		return sqs_commit(h);
	if (txn)
		sqs_rollback(h);
	return r;
}
