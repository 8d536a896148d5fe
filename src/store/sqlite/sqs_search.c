/* sqs_search.c: SEARCH SUBJECT/FROM/TO/CC/BCC/BODY/TEXT over the FTS5 table `fts`
 * (trigram tokenizer, detail=column, case-sensitive over text already folded by
 * store_search_fold). A needle of 3 or more characters (after folding) has trigrams:
 * the index gives the rows whose column holds up to TRIGRAMS_MAX of them, spread over
 * the needle, and instr() on the folded column keeps those that hold the needle itself
 * (the index keeps no positions, which halves its size). A shorter needle has no
 * trigram, so the mailbox's full-text rows are scanned with the same instr(): still the
 * indexed text, never a message file. Both compare folded bytes, so the answer does not
 * depend on the needle's length. Limits: LIMIT_SEARCH_NEEDLE (checked by the wrapper);
 * the match expression is at most TRIGRAMS_MAX quoted trigrams and a column filter. */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static const char *const columns[] = {
	[STORE_SEARCH_SUBJECT] = "subject", [STORE_SEARCH_FROM] = "from_addr",
	[STORE_SEARCH_TO] = "to_addr",      [STORE_SEARCH_CC] = "cc_addr",
	[STORE_SEARCH_BCC] = "bcc_addr",    [STORE_SEARCH_BODY] = "body",
};

/* Trigrams the index is asked for: enough to make candidates rare, few enough to keep
 * the query cheap; the instr() check makes the answer exact whatever their number. */
#define TRIGRAMS_MAX 8

/* Byte offsets of the characters of s (at most n; not UTF-8 bytes count one each). */
static size_t char_offsets(const char *s, size_t len, size_t *off, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < len && c < n; c++) {
		off[c] = i;
		size_t l = str_utf8_seq(s + i, len - i, NULL);
		i += l ? l : 1;
	}
	return c;
}

/* The FTS5 expression {column} : ("t1" AND "t2" ...) (TEXT: no column filter) with
 * '"' doubled inside each string: data for MATCH, bound like any other value. NULL
 * when the needle has fewer than 3 characters (no trigram), or the arena is full. */
static char *match_expr(struct arena *a, enum store_search_field field, const char *needle,
			size_t n)
{
	size_t *off = arena_alloc(a, (n + 1) * sizeof(*off));
	if (!off)
		return NULL;
	size_t nc = char_offsets(needle, n, off, n);
	off[nc] = n;
	if (nc < 3)
		return NULL;
	size_t terms = nc - 2 < TRIGRAMS_MAX ? nc - 2 : TRIGRAMS_MAX;
	char *e = arena_alloc(a, 32 + terms * (2 * 12 + 8));
	if (!e)
		return NULL;
	size_t o = 0;
	if (field != STORE_SEARCH_TEXT) {
		size_t cl = strlen(columns[field]);
		e[o++] = '{';
		memcpy(e + o, columns[field], cl);
		o += cl;
		memcpy(e + o, "} : ", 4);
		o += 4;
	}
	e[o++] = '(';
	for (size_t t = 0; t < terms; t++) {
		/* first and last trigram always, the others evenly between */
		size_t c = terms == 1 ? 0 : t * (nc - 3) / (terms - 1);
		if (t) {
			memcpy(e + o, " AND ", 5);
			o += 5;
		}
		e[o++] = '"';
		for (size_t i = off[c]; i < off[c + 3]; i++) {
			if (needle[i] == '"')
				e[o++] = '"';
			e[o++] = needle[i];
		}
		e[o++] = '"';
	}
	e[o++] = ')';
	e[o] = '\0';
	return e;
}

int sqs_search(struct store *st, int64_t mailbox_id, enum store_search_field field,
	       const char *needle, struct arena *a, uint32_t **uids_out, size_t *n_out)
{
	struct sqs_db *h = ((struct sqs_store *)st)->h;
	size_t nl = strlen(needle);
	char *folded = arena_alloc(a, nl + 1);
	if (!folded)
		return ERR_NOMEM;
	nl = store_search_fold(needle, nl, folded);
	folded[nl] = '\0';
	if (nl == 0) /* every message contains the empty string */
		return sqs_msg_uids(st, mailbox_id, 1, UINT32_MAX, a, uids_out, n_out);
	const char *expr = match_expr(a, field, folded, nl);
	bool indexed = expr != NULL;
	if (!indexed && a->used >= a->cap)
		return ERR_NOMEM;
	/* what the indexer has not reached yet gets its full-text rows first */
	int r = sqs_content_fill((struct sqs_env *)st->env, h, SQS_FILL_INDEX, mailbox_id, 1,
				 UINT32_MAX);
	if (r == 0)
		r = sqs_begin(h, false);
	if (r < 0)
		return r;
	struct sqs_mb mb;
	r = sqs_mb_find_id(h, mailbox_id, &mb);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, indexed ? Q_FTS_MATCH : Q_FTS_SCAN) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	struct sqs_uidv u = {0};
	if (q) {
		sqlite3_bind_int64(q, 1, mailbox_id);
		sqlite3_bind_text(q, 2, folded, (int)nl, SQLITE_STATIC);
		if (indexed)
			sqlite3_bind_text(q, 3, expr, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 4, (int)field);
		int rc;
		while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW)
			r = sqs_uidv_add(&u, (uint32_t)sqlite3_column_int64(q, 0));
		if (r == 0)
			r = sqs_done(rc);
		sqlite3_reset(q);
	}
	sqs_rollback(h);
	if (r < 0) {
		free(u.v);
		return r;
	}
	return sqs_uidv_give(&u, a, uids_out, n_out);
}
