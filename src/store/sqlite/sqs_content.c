/* sqs_content.c: message contents. A content row is one message file (msg/<guid>) with
 * what was extracted from it once: the cached header, the preview, the MIME structure,
 * the thread, and its full-text row (fts, rowid = content.id). Message rows name their
 * content by guid; copies name the same one, so nothing is stored twice. The file's
 * reference count is the number of message rows naming it (index messages_guid): when
 * the last goes, sqs_content_release drops the content and full-text rows and the
 * caller reaps the file after its commit.
 * The full-text row is not made at insert: tokenizing the text costs more than all the
 * rest of a delivery, so it waits (the text in content.ftext) for the indexer thread
 * (sqs_index.c), and a search makes the missing rows of its mailbox first. The same
 * fill makes the cached data of contents migrated from schema 1, from their files.
 * Also the read of cached headers, previews and thread ids for a UID range
 * (store_msg_extra). Limits: LIMIT_STORE_EXTRACT_ARENA per message extracted;
 * FILL_BATCH (FILL_BATCH_BACKGROUND for the indexer) contents per fill transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

/* Contents filled per write transaction: other writers of the account (a delivery
 * batch, an APPEND) wait for at most this many tokenized texts, about 0.4 ms each for a
 * 2 KB text. A search that catches up waits for its own work anyway and takes more at
 * once. */
#define FILL_BATCH 256
#define FILL_BATCH_BACKGROUND 16

static int fts_insert(struct sqs_db *h, int64_t id, const struct sqs_fts *x)
{
	sqlite3_stmt *q = sqs_q(h, Q_FTS_INSERT);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, id);
	for (int i = 0; i < SQS_F_COUNT; i++)
		sqlite3_bind_text(q, 2 + i, x->col[i], (int)x->len[i], SQLITE_STATIC);
	return sqs_exec(h, q);
}

/* ?col.. ?col+3: thread, preview, header, mime */
static void bind_cached(sqlite3_stmt *q, int col, const struct sqs_extracted *x,
			const char *thread)
{
	sqlite3_bind_text(q, col, thread, -1, SQLITE_STATIC);
	if (x->preview)
		sqlite3_bind_text(q, col + 1, x->preview, -1, SQLITE_STATIC);
	if (x->header)
		sqlite3_bind_blob64(q, col + 2, x->header, x->header_len, SQLITE_STATIC);
	if (x->mime)
		sqlite3_bind_blob64(q, col + 3, x->mime, x->mime_len, SQLITE_STATIC);
}

int sqs_content_add(struct sqs_env *e, struct sqs_db *h, const struct store_new_msg *m,
		    const char *guid, struct arena *scratch)
{
	char path[4096], thread[SQS_THREAD_LEN + 1];
	struct sqs_extracted x;
	arena_reset(scratch);
	/* everything that can fail for this message alone comes before the first write:
	 * a failure after it is the database's, and ends the caller's transaction */
	int r = sqs_msg_path(e, h->account_id, guid, path, sizeof(path));
	if (r == 0)
		r = sqs_extract(m, path, scratch, &x);
	if (r == 0)
		r = sqs_thread_assign(h, guid, x.message_id, x.references, thread);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_CT_INSERT) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	if (r < 0)
		return r;
	sqlite3_bind_text(q, 1, guid, SQS_GUID_LEN, SQLITE_STATIC);
	bind_cached(q, 2, &x, thread);
	sqlite3_bind_text(q, 6, x.text, (int)x.text_len, SQLITE_STATIC);
	return sqs_exec(h, q);
}

int sqs_content_release(struct sqs_db *h, const char *guid, bool *gone_out)
{
	*gone_out = false;
	sqlite3_stmt *q = sqs_q(h, Q_MSG_GUID_USED);
	int64_t used, id;
	if (q)
		sqlite3_bind_text(q, 1, guid, -1, SQLITE_STATIC);
	int r = sqs_int(h, q, 0, &used);
	if (r < 0 || used)
		return r;
	if ((q = sqs_q(h, Q_CT_ID)) != NULL)
		sqlite3_bind_text(q, 1, guid, -1, SQLITE_STATIC);
	r = sqs_int(h, q, 0, &id);
	static const enum sqs_stmt dels[] = {Q_FTS_DELETE, Q_CT_DELETE};
	for (size_t i = 0; r == 0 && id && i < sizeof(dels) / sizeof(dels[0]); i++) {
		if ((q = sqs_q(h, dels[i])) == NULL)
			return ERR_IO;
		sqlite3_bind_int64(q, 1, id);
		r = sqs_exec(h, q);
	}
	if (r == 0)
		*gone_out = true;
	return r;
}

struct todo {
	int64_t id;
	bool cached;
	char guid[SQS_GUID_LEN + 1];
};

/* Up to max contents to fill (read in the caller's transaction). */
static int todo(struct sqs_db *h, enum sqs_fill what, int64_t mailbox_id, uint32_t first,
		uint32_t last, struct todo *v, size_t max, size_t *n_out)
{
	sqlite3_stmt *q = sqs_q(h, !mailbox_id ? Q_CT_UNINDEXED_ALL
				: what == SQS_FILL_CACHE ? Q_CT_UNCACHED : Q_CT_UNINDEXED);
	if (!q)
		return ERR_IO;
	if (mailbox_id) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, first);
		sqlite3_bind_int64(q, 3, last);
	}
	size_t n = 0;
	int rc;
	while (n < max && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		v[n].id = sqlite3_column_int64(q, 0);
		(void)snprintf(v[n].guid, sizeof(v[n].guid), "%s", sqlite3_column_text(q, 1));
		v[n].cached = sqlite3_column_int(q, 2) != 0;
		n++;
	}
	int r = n == max ? 0 : sqs_done(rc);
	sqlite3_reset(q);
	*n_out = n;
	return r;
}

/* The cached header and waiting text of a content new since schema 2: all the indexer
 * needs (copied into scratch). false when it must read the file. */
static int stored_source(struct sqs_db *h, const struct todo *c, struct arena *scratch,
			 struct sqs_extracted *x, bool *have)
{
	*have = false;
	sqlite3_stmt *q = sqs_q(h, Q_CT_SOURCE);
	if (!q)
		return ERR_IO;
	sqlite3_bind_int64(q, 1, c->id);
	int rc = sqs_step(h, q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL &&
	    sqlite3_column_type(q, 1) != SQLITE_NULL) {
		size_t hl = (size_t)sqlite3_column_bytes(q, 0);
		size_t tl = (size_t)sqlite3_column_bytes(q, 1);
		void *hdr = arena_alloc(scratch, hl + 1);
		char *text = arena_strndup(scratch, sqlite3_column_text(q, 1), tl);
		if (hdr && text) {
			if (hl) /* an empty blob reads as NULL */
				memcpy(hdr, sqlite3_column_blob(q, 0), hl);
			memset(x, 0, sizeof(*x));
			x->fields = hdr;
			x->fields_len = hl < LIMIT_CACHED_HEADER ? hl : LIMIT_CACHED_HEADER;
			x->text = text;
			x->text_len = tl;
			*have = true;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : sqs_done(rc);
}

/* Fill one content (inside the fill transaction): its cached data when it has none,
 * and its full-text row. */
static int fill_one(struct sqs_env *e, struct sqs_db *h, const struct todo *c,
		    struct arena *scratch)
{
	static const struct store_new_msg none; /* everything from the file */
	char path[4096], thread[SQS_THREAD_LEN + 1];
	struct sqs_extracted x;
	arena_reset(scratch);
	bool have = false;
	int r = c->cached ? stored_source(h, c, scratch, &x, &have) : 0;
	if (r == 0 && !have)
		r = sqs_msg_path(e, h->account_id, c->guid, path, sizeof(path));
	if (r == 0 && !have)
		r = sqs_extract(&none, path, scratch, &x);
	if (r == ERR_IO) {
		/* a damaged file (logged) must not keep every search of the mailbox failing:
		 * it is filled with nothing to search, and its readers get ERR_IO */
		memset(&x, 0, sizeof(x));
		x.text = "";
		r = 0;
	}
	sqlite3_stmt *q;
	if (r == 0 && !c->cached) {
		r = sqs_thread_assign(h, c->guid, x.message_id, x.references, thread);
		if (r == 0 && (q = sqs_q(h, Q_CT_FILL)) == NULL)
			r = ERR_IO;
		if (r == 0) {
			sqlite3_bind_int64(q, 1, c->id);
			bind_cached(q, 2, &x, thread);
			r = sqs_exec(h, q);
		}
	}
	if (r == 0 && (q = sqs_q(h, Q_CT_INDEXED)) == NULL)
		r = ERR_IO;
	if (r == 0) {
		sqlite3_bind_int64(q, 1, c->id);
		r = sqs_exec(h, q);
	}
	if (r == 0 && sqlite3_changes(h->db) == 1) { /* not indexed by another handle first */
		struct sqs_fts fts;
		sqs_extract_fts(x.fields, x.fields_len, x.text, x.text_len, scratch, &fts);
		r = fts_insert(h, c->id, &fts);
	}
	return r;
}

int sqs_content_fill(struct sqs_env *e, struct sqs_db *h, enum sqs_fill what,
		     int64_t mailbox_id, uint32_t first, uint32_t last)
{
	struct todo *v = NULL;
	struct arena scratch;
	bool write = false;
	size_t n = 1, max = mailbox_id ? FILL_BATCH : FILL_BATCH_BACKGROUND;
	int r = 0;
	arena_init(&scratch, LIMIT_STORE_EXTRACT_ARENA);
	/* read first: usually there is nothing to do, and then no write lock is taken */
	while (r == 0 && n) {
		if (!v && !(v = malloc(FILL_BATCH * sizeof(*v))))
			r = ERR_NOMEM;
		if (r == 0)
			r = sqs_begin(h, write);
		if (r == 0)
			r = todo(h, what, mailbox_id, first, last, v, max, &n);
		if (r == 0 && n && !write) {
			sqs_rollback(h);
			write = true;
			continue; /* again, under the write lock */
		}
		for (size_t i = 0; r == 0 && i < n; i++)
			r = fill_one(e, h, &v[i], &scratch);
		if (r == 0 && write)
			r = sqs_commit(h);
		else
			sqs_rollback(h);
	}
	if (r < 0)
		log_warn("store: account=%lld mailbox=%lld: making cached and full-text data "
			 "failed: %s", (long long)h->account_id, (long long)mailbox_id, err_str(r));
	free(v);
	arena_free(&scratch);
	return r;
}

/* Room left in the arena, less a margin per allocation for alignment. */
static size_t room(const struct arena *a)
{
	return a->used < a->cap ? a->cap - a->used : 0;
}

/* One Q_CT_EXTRA row into x (strings into a, as wanted); ERR_NOMEM when it does not fit
 * beside `reserve` more bytes. */
static int read_extra(sqlite3_stmt *q, unsigned want, struct arena *a, size_t reserve,
		      struct store_msg_extra *x)
{
	enum { SLACK = 64 };
	memset(x, 0, sizeof(*x));
	x->uid = (uint32_t)sqlite3_column_int64(q, 0);
	size_t tl = (want & STORE_X_THREAD) ? (size_t)sqlite3_column_bytes(q, 1) : 0;
	size_t pl = (want & STORE_X_PREVIEW) ? (size_t)sqlite3_column_bytes(q, 2) : 0;
	size_t hl = (want & STORE_X_HEADER) ? (size_t)sqlite3_column_bytes(q, 3) : 0;
	if (tl + pl + hl + 3 * SLACK + reserve > room(a))
		return ERR_NOMEM;
	if ((want & STORE_X_THREAD) && sqlite3_column_type(q, 1) != SQLITE_NULL &&
	    !(x->thread_id = arena_strndup(a, sqlite3_column_text(q, 1), tl)))
		return ERR_NOMEM;
	if ((want & STORE_X_PREVIEW) && sqlite3_column_type(q, 2) != SQLITE_NULL &&
	    !(x->preview = arena_strndup(a, sqlite3_column_text(q, 2), pl)))
		return ERR_NOMEM;
	if ((want & STORE_X_HEADER) && sqlite3_column_type(q, 3) != SQLITE_NULL) {
		void *hdr = arena_alloc(a, hl ? hl : 1);
		if (!hdr)
			return ERR_NOMEM;
		if (hl)
			memcpy(hdr, sqlite3_column_blob(q, 3), hl);
		x->header = hdr;
		x->header_len = hl;
	}
	return 0;
}

int sqs_msg_extra(struct store *st, int64_t mailbox_id, uint32_t uid_first, uint32_t uid_last,
		  unsigned want, struct arena *a, struct store_msg_extra **out, size_t *n_out,
		  uint32_t *next_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	int r = want ? sqs_content_fill((struct sqs_env *)st->env, h, SQS_FILL_CACHE, mailbox_id,
					uid_first, uid_last)
		     : 0;
	if (r == 0)
		r = sqs_begin(h, false);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	r = sqs_mb_find_id(h, mailbox_id, &mb);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_CT_EXTRA) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	struct store_msg_extra *v = NULL;
	size_t n = 0, cap = 0;
	if (q) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_int64(q, 2, uid_first);
		sqlite3_bind_int64(q, 3, uid_last);
		int rc;
		while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct store_msg_extra *nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					r = ERR_NOMEM;
					break;
				}
				v = nv;
			}
			/* the array itself goes into the arena at the end: keep room for it */
			int rr = read_extra(q, want, a, (n + 1) * sizeof(*v) + 64, &v[n]);
			if (rr == ERR_NOMEM && n) {
				*next_out = v[n].uid; /* the rest in the next call */
				break;
			}
			r = rr;
			n += r == 0;
		}
		if (r == 0 && !*next_out)
			r = sqs_done(rc);
		sqlite3_reset(q);
	}
	sqs_rollback(h);
	if (r == 0 && n && !(*out = arena_alloc(a, n * sizeof(*v))))
		r = ERR_NOMEM;
	if (r == 0 && n)
		memcpy(*out, v, n * sizeof(*v));
	free(v);
	if (r < 0)
		return r;
	*n_out = n;
	return 0;
}
