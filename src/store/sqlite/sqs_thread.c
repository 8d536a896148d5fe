/* sqs_thread.c: THREADID (RFC 8474 5.2) at insert, from the Message-ID and the ids of
 * References / In-Reply-To. Table `threads` maps every Message-ID the account has seen
 * (as a message's own id or as one it referenced) to a thread id. A new message joins
 * the thread of the first of its referenced ids that is known (References lists the
 * root first, so that is the oldest known ancestor); else the thread its own id was
 * put in by an earlier reply that arrived before it; else it starts a thread named
 * "T" + its own guid (unique, opaque, never reused). Then its own id and every id it
 * references that is not known yet are recorded in that thread, so a chain delivered in
 * any order ends up in one thread. A thread id never changes once given; rows of
 * `threads` are never removed (a late reply to an expunged message still joins).
 * Limits: LIMIT_REFERENCES ids per message, ids longer than LIMIT_MSGID are ignored. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

struct ids {
	const char *p[LIMIT_REFERENCES + 1];
	size_t len[LIMIT_REFERENCES + 1];
	size_t n;
};

/* Whitespace-separated ids of s (at most LIMIT_REFERENCES, each at most LIMIT_MSGID
 * bytes) appended to v. */
static void ids_add(struct ids *v, const char *s, size_t max)
{
	for (const char *p = s ? s : ""; *p && v->n < max;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		size_t l = strcspn(p, " \t\r\n");
		if (l && l <= LIMIT_MSGID) {
			v->p[v->n] = p;
			v->len[v->n++] = l;
		}
		p += l;
	}
}

static int lookup(struct sqs_db *h, const char *id, size_t len, char *out, bool *found)
{
	sqlite3_stmt *q = sqs_q(h, Q_TH_GET);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, id, (int)len, SQLITE_STATIC);
	int rc = sqs_step(h, q);
	*found = rc == SQLITE_ROW;
	if (*found)
		(void)snprintf(out, SQS_THREAD_LEN + 1, "%s", sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return *found ? 0 : sqs_done(rc);
}

static int record(struct sqs_db *h, const char *id, size_t len, const char *thread)
{
	sqlite3_stmt *q = sqs_q(h, Q_TH_PUT);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, id, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, thread, -1, SQLITE_STATIC);
	return sqs_exec(h, q);
}

int sqs_thread_assign(struct sqs_db *h, const char *guid, const char *message_id,
		      const char *references, char thread_out[SQS_THREAD_LEN + 1])
{
	struct ids refs = {0}, own = {0};
	ids_add(&refs, references, LIMIT_REFERENCES);
	ids_add(&own, message_id, 1);
	bool found = false;
	int r = 0;
	for (size_t i = 0; r == 0 && !found && i < refs.n; i++)
		r = lookup(h, refs.p[i], refs.len[i], thread_out, &found);
	if (r == 0 && !found && own.n)
		r = lookup(h, own.p[0], own.len[0], thread_out, &found);
	if (r < 0)
		return r;
	if (!found)
		(void)snprintf(thread_out, SQS_THREAD_LEN + 1, "T%s", guid); /* fits exactly */
	for (size_t i = 0; r == 0 && i < own.n; i++)
		r = record(h, own.p[i], own.len[i], thread_out);
	for (size_t i = 0; r == 0 && i < refs.n; i++)
		r = record(h, refs.p[i], refs.len[i], thread_out);
	return r;
}
