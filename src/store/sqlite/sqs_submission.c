/* sqs_submission.c: JMAP EmailSubmissions in directory.db (tables submissions and
 * submission_state, schema 4 in sqs_dir.c; store.h "JMAP EmailSubmissions").
 * A submission is a row holding the JMAP layer's JSON; submission_state holds the
 * account's change counter (seq) and the newest change pruned away. Adding prunes in
 * the same transaction: rows older than LIMIT_SUBMISSION_DAYS, then all but the newest
 * LIMIT_SUBMISSION_ROWS, tombstones included, so an account's rows stay bounded.
 * Statements are prepared per call: a submission is a send, rare next to the cost of
 * preparing, and the directory's statement table stays the accounts' own.
 * Writes are durable (synchronous=FULL, the directory's default): a send happened. */
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define SUB_DAY_SECS 86400

enum sub_stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_STATE_MAKE,
	S_STATE_NEXT,
	S_STATE_GET,
	S_PRUNED_MAX,
	S_PRUNE,
	S_PRUNED_SET,
	S_INSERT,
	S_DESTROY,
	S_LIST,
	S_COUNT
};

static const char *const sub_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_STATE_MAKE] = "INSERT OR IGNORE INTO submission_state(account_id, seq, pruned) "
                     "VALUES(?1, 0, 0)",
    [S_STATE_NEXT] = "UPDATE submission_state SET seq = seq + 1 WHERE account_id = ?1 "
                     "RETURNING seq",
    [S_STATE_GET] = "SELECT seq, pruned FROM submission_state WHERE account_id = ?1",
    /* ?2: created before this goes; ?3: rows kept at most */
    [S_PRUNED_MAX] = "SELECT max(max(seq, destroyed)) FROM submissions WHERE account_id = ?1 "
                     "AND (created < ?2 OR id NOT IN (SELECT id FROM submissions WHERE "
                     "account_id = ?1 ORDER BY id DESC LIMIT ?3))",
    [S_PRUNE] = "DELETE FROM submissions WHERE account_id = ?1 AND (created < ?2 OR id "
                "NOT IN (SELECT id FROM submissions WHERE account_id = ?1 ORDER BY id DESC "
                "LIMIT ?3))",
    [S_PRUNED_SET] = "UPDATE submission_state SET pruned = max(pruned, ?2) WHERE "
                     "account_id = ?1",
    [S_INSERT] = "INSERT INTO submissions(account_id, seq, created, object) "
                 "VALUES(?1, ?2, ?3, ?4)",
    [S_DESTROY] = "UPDATE submissions SET destroyed = ?3, object = NULL WHERE "
                  "account_id = ?1 AND id = ?2 AND destroyed = 0",
    [S_LIST] = "SELECT id, seq, destroyed, created, object FROM submissions WHERE "
               "account_id = ?1 ORDER BY id",
};

/* The statements of one call, prepared under dir_mu. */
struct sub_call {
	struct sqs_env *e;
	sqlite3_stmt *q[S_COUNT];
};

static int call_open(struct sub_call *c, struct sqs_env *e, const enum sub_stmt *need, size_t n)
{
	memset(c, 0, sizeof *c);
	c->e = e;
	pthread_mutex_lock(&e->dir_mu);
	for (size_t i = 0; i < n; i++)
		if (sqlite3_prepare_v2(e->dir_db, sub_sql[need[i]], -1, &c->q[need[i]], NULL) !=
		    SQLITE_OK)
			return ERR_IO;
	return 0;
}

static void call_close(struct sub_call *c)
{
	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->q[i]);
	pthread_mutex_unlock(&c->e->dir_mu);
}

/* Step a bound statement to its end (or its one row: *row_out) and reset it. */
static int run(struct sub_call *c, enum sub_stmt s, int64_t *row_out)
{
	sqlite3_stmt *q = c->q[s];
	int rc = sqs_dstep(c->e, q);
	if (rc == SQLITE_ROW && row_out)
		*row_out = sqlite3_column_int64(q, 0);
	int ext = sqlite3_extended_errcode(c->e->dir_db);
	if (rc == SQLITE_ROW)
		rc = sqs_dstep(c->e, q);
	sqs_dreset(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return ERR_NOTFOUND; /* no such account */
	return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
}

/* The account's next change number (the state row made on first use). */
static int next_seq(struct sub_call *c, int64_t account_id, int64_t *seq_out)
{
	sqlite3_bind_int64(c->q[S_STATE_MAKE], 1, account_id);
	int r = run(c, S_STATE_MAKE, NULL);
	if (r == 0) {
		*seq_out = 0;
		sqlite3_bind_int64(c->q[S_STATE_NEXT], 1, account_id);
		r = run(c, S_STATE_NEXT, seq_out);
	}
	return r == 0 && *seq_out <= 0 ? ERR_IO : r;
}

/* Drop what is past the bounds, remembering the newest change that went. */
static int prune(struct sub_call *c, int64_t account_id, int64_t now)
{
	int64_t before = now - (int64_t)LIMIT_SUBMISSION_DAYS * SUB_DAY_SECS, gone = 0;
	/* the row about to be added counts: keep one fewer */
	const enum sub_stmt steps[] = {S_PRUNED_MAX, S_PRUNE};
	for (size_t i = 0; i < 2; i++) {
		sqlite3_stmt *q = c->q[steps[i]];
		sqlite3_bind_int64(q, 1, account_id);
		sqlite3_bind_int64(q, 2, before);
		sqlite3_bind_int64(q, 3, LIMIT_SUBMISSION_ROWS - 1);
		int r = run(c, steps[i], i == 0 ? &gone : NULL);
		if (r < 0)
			return r;
	}
	if (gone == 0)
		return 0;
	sqlite3_bind_int64(c->q[S_PRUNED_SET], 1, account_id);
	sqlite3_bind_int64(c->q[S_PRUNED_SET], 2, gone);
	return run(c, S_PRUNED_SET, NULL);
}

/* BEGIN, body, COMMIT (ROLLBACK on failure). */
static int in_txn(struct sub_call *c, int (*body)(struct sub_call *c, void *arg), void *arg)
{
	int r = run(c, S_BEGIN, NULL);
	if (r < 0)
		return r;
	r = body(c, arg);
	if (r == 0)
		r = run(c, S_COMMIT, NULL);
	if (r < 0)
		(void)run(c, S_ROLLBACK, NULL); /* failing already; SQLite may have rolled back */
	return r;
}

struct add_args {
	int64_t account_id, now, id;
	const char *object;
};

static int add_body(struct sub_call *c, void *arg)
{
	struct add_args *a = arg;
	int64_t seq;
	int r = next_seq(c, a->account_id, &seq);
	if (r == 0)
		r = prune(c, a->account_id, a->now);
	if (r < 0)
		return r;
	sqlite3_stmt *q = c->q[S_INSERT];
	sqlite3_bind_int64(q, 1, a->account_id);
	sqlite3_bind_int64(q, 2, seq);
	sqlite3_bind_int64(q, 3, a->now);
	sqlite3_bind_text(q, 4, a->object, -1, SQLITE_STATIC);
	r = run(c, S_INSERT, NULL);
	a->id = sqlite3_last_insert_rowid(c->e->dir_db);
	return r;
}

int sqs_submission_add(struct store_env *env, int64_t account_id, const char *object, int64_t now,
                       int64_t *id_out)
{
	if (strlen(object) > LIMIT_SUBMISSION_OBJECT)
		return ERR_TOO_BIG;
	static const enum sub_stmt need[] = {S_BEGIN,      S_COMMIT,     S_ROLLBACK,
	                                     S_STATE_MAKE, S_STATE_NEXT, S_PRUNED_MAX,
	                                     S_PRUNE,      S_PRUNED_SET, S_INSERT};
	struct sub_call c;
	struct add_args a = {.account_id = account_id, .now = now, .object = object};
	int r = call_open(&c, (struct sqs_env *)env, need, sizeof need / sizeof need[0]);
	if (r == 0)
		r = in_txn(&c, add_body, &a);
	call_close(&c);
	if (r == 0)
		*id_out = a.id;
	return r;
}

struct destroy_args {
	int64_t account_id, id;
};

static int destroy_body(struct sub_call *c, void *arg)
{
	struct destroy_args *a = arg;
	int64_t seq;
	int r = next_seq(c, a->account_id, &seq);
	if (r < 0)
		return r;
	sqlite3_stmt *q = c->q[S_DESTROY];
	sqlite3_bind_int64(q, 1, a->account_id);
	sqlite3_bind_int64(q, 2, a->id);
	sqlite3_bind_int64(q, 3, seq);
	r = run(c, S_DESTROY, NULL);
	if (r == 0 && sqlite3_changes(c->e->dir_db) == 0)
		r = ERR_NOTFOUND; /* rolled back: the counter stays */
	return r;
}

int sqs_submission_destroy(struct store_env *env, int64_t account_id, int64_t id)
{
	static const enum sub_stmt need[] = {S_BEGIN,      S_COMMIT,     S_ROLLBACK,
	                                     S_STATE_MAKE, S_STATE_NEXT, S_DESTROY};
	struct sub_call c;
	struct destroy_args a = {account_id, id};
	int r = call_open(&c, (struct sqs_env *)env, need, sizeof need / sizeof need[0]);
	if (r == 0)
		r = in_txn(&c, destroy_body, &a);
	call_close(&c);
	return r;
}

static int list_rows(struct sub_call *c, int64_t account_id, struct arena *a,
                     struct store_submission_list *out)
{
	sqlite3_stmt *q = c->q[S_STATE_GET];
	sqlite3_bind_int64(q, 1, account_id);
	int rc = sqs_dstep(c->e, q);
	if (rc == SQLITE_ROW) {
		out->state = (uint64_t)sqlite3_column_int64(q, 0);
		out->pruned = (uint64_t)sqlite3_column_int64(q, 1);
	}
	sqs_dreset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqs_err(rc) ? sqs_err(rc) : ERR_IO;
	/* bounded by the pruning at each add */
	size_t cap = LIMIT_SUBMISSION_ROWS, n = 0;
	struct store_submission *v = arena_zalloc(a, cap * sizeof *v);
	if (!v)
		return ERR_NOMEM;
	q = c->q[S_LIST];
	sqlite3_bind_int64(q, 1, account_id);
	int r = 0;
	while (r == 0 && n < cap && (rc = sqs_dstep(c->e, q)) == SQLITE_ROW) {
		struct store_submission *s = &v[n++];
		s->id = sqlite3_column_int64(q, 0);
		s->seq = (uint64_t)sqlite3_column_int64(q, 1);
		s->destroyed = (uint64_t)sqlite3_column_int64(q, 2);
		s->created = sqlite3_column_int64(q, 3);
		const char *obj = (const char *)sqlite3_column_text(q, 4);
		if (obj && !(s->object = arena_strdup(a, obj)))
			r = ERR_NOMEM;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = sqs_err(rc) ? sqs_err(rc) : ERR_IO;
	sqs_dreset(q);
	out->v = n ? v : NULL;
	out->n = n;
	return r;
}

int sqs_submission_list(struct store_env *env, int64_t account_id, struct arena *a,
                        struct store_submission_list *out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	uint64_t qb, qm;
	int r = sqs_dir_quota(e, account_id, &qb, &qm); /* the account exists */
	if (r < 0)
		return r;
	static const enum sub_stmt need[] = {S_STATE_GET, S_LIST};
	struct sub_call c;
	memset(out, 0, sizeof *out);
	r = call_open(&c, e, need, sizeof need / sizeof need[0]);
	if (r == 0)
		r = list_rows(&c, account_id, a, out);
	call_close(&c);
	return r;
}
