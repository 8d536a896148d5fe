/* imap_thread.c: THREAD and UID THREAD (RFC 5256 3): the messages a search finds,
 * threaded by ORDEREDSUBJECT or REFERENCES (imap_threading.h) and answered as
 * "* THREAD" with the thread-lists of RFC 5256 4. What the algorithms look at comes from
 * the message rows and the cached headers, on the worker pool (imap_search.h): the sent
 * date (Date:, else INTERNALDATE), the base subject, and for REFERENCES the Message-ID,
 * the ids of References (the first and the last LIMIT_REFERENCES - 1 of a longer line,
 * as the store keeps them) or else the first id of In-Reply-To. The answer is made on
 * the pool too, into pieces of the search's arena, and only written out on the loop.
 * Memory: LIMIT_IMAP_SEARCH_ARENA for all of it (NO [LIMIT] past it). */
#include "imap/imap_search.h"

#include <assert.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_sortkey.h"
#include "imap/imap_threading.h"
#include "imap/imap_write.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

/* The answer text, in pieces of the search's arena. */
#define THREAD_PIECE 65536

struct piece {
	struct piece *next;
	size_t n;
	char d[THREAD_PIECE];
};

struct thread_state {
	struct imap_search_job job;
	struct imap_thread thread;
	bool begun, uid;
	struct imap_thread_msg *msgs;
	size_t n;
	struct piece *head, *tail;
	bool nomem;
};

static void collect(void *ctx, const char *p, size_t n)
{
	struct thread_state *ts = ctx;
	while (n && !ts->nomem) {
		if (!ts->tail || ts->tail->n == THREAD_PIECE) {
			struct piece *c = arena_alloc(&ts->job.ra, sizeof(*c));
			if (!c) {
				ts->nomem = true;
				return;
			}
			c->next = NULL;
			c->n = 0;
			if (ts->tail)
				ts->tail->next = c;
			else
				ts->head = c;
			ts->tail = c;
		}
		size_t k = THREAD_PIECE - ts->tail->n < n ? THREAD_PIECE - ts->tail->n : n;
		memcpy(ts->tail->d + ts->tail->n, p, k);
		ts->tail->n += k;
		p += k;
		n -= k;
	}
}

/* ---- message ids ---- */

struct ids {
	struct arena *a;
	size_t seen, keep_from; /* ids passed so far; the first one and those from keep_from on */
	const char **v;
	size_t *lens;
	size_t n;
	bool nomem;
};

static bool count_id(void *arg, const char *id, size_t len)
{
	struct ids *ids = arg;
	ids->seen++;
	return true;
}

static bool keep_id(void *arg, const char *id, size_t len)
{
	struct ids *ids = arg;
	size_t i = ids->seen++;
	if (i != 0 && i < ids->keep_from)
		return true;
	char *s = arena_strndup(ids->a, id, len);
	if (!s) {
		ids->nomem = true;
		return false;
	}
	ids->v[ids->n] = s;
	ids->lens[ids->n++] = len;
	return true;
}

/* The ids of the first field called name, at most max (the first and the last max - 1). */
static int field_ids(const void *h, size_t hn, const char *name, size_t max, struct arena *a,
		     const char ***v_out, size_t **lens_out, size_t *n_out)
{
	struct mime_field f;
	*n_out = 0;
	if (!h || !mime_header_find(h, hn, name, &f))
		return 0;
	struct ids ids = {.a = a};
	imap_sortkey_msgids((const char *)f.value, f.value_len, count_id, &ids);
	if (ids.seen == 0)
		return 0;
	size_t keep = ids.seen < max ? ids.seen : max;
	ids.keep_from = ids.seen - keep + 1;
	ids.seen = 0;
	ids.v = arena_alloc(a, keep * sizeof(*ids.v));
	ids.lens = arena_alloc(a, keep * sizeof(*ids.lens));
	if (!ids.v || !ids.lens)
		return ERR_NOMEM;
	imap_sortkey_msgids((const char *)f.value, f.value_len, keep_id, &ids);
	if (ids.nomem)
		return ERR_NOMEM;
	*v_out = ids.v;
	*lens_out = ids.lens;
	*n_out = ids.n;
	return 0;
}

/* RFC 5256 3 step 1: Message-ID; References, or without a valid one In-Reply-To's
 * first id. */
static int reference_keys(struct thread_state *ts, struct imap_thread_msg *e, const void *h,
			  size_t hn)
{
	struct arena *a = &ts->job.ra;
	const char **v;
	size_t *lens, n;
	int r = field_ids(h, hn, "Message-ID", 1, a, &v, &lens, &n);
	if (r < 0)
		return r;
	if (n) {
		e->msgid = v[0];
		e->msgid_len = lens[0];
	}
	r = field_ids(h, hn, "References", LIMIT_REFERENCES, a, &v, &lens, &n);
	if (r == 0 && n == 0)
		r = field_ids(h, hn, "In-Reply-To", 1, a, &v, &lens, &n);
	if (r < 0)
		return r;
	e->refs = n ? v : NULL;
	e->ref_lens = n ? lens : NULL;
	e->nrefs = n;
	return 0;
}

static int thread_fill(void *arg, uint32_t seq, const struct store_msg *m,
		       const struct store_msg_extra *x)
{
	struct thread_state *ts = arg;
	assert(ts->n < ts->job.res.count); /* each match is visited once */
	struct imap_thread_msg *e = &ts->msgs[ts->n++];
	const void *h = x->header;
	size_t hn = x->header_len;
	memset(e, 0, sizeof(*e));
	e->id = ts->uid ? m->uid : seq;
	e->date = imap_sort_sent_date(h, hn, m->internal_date);
	int r = imap_sort_subject(h, hn, &ts->job.ta, &ts->job.ra, &e->subject, &e->subject_len,
				  &e->refwd);
	if (r == 0 && ts->thread.alg == IMAP_THREAD_REFERENCES)
		r = reference_keys(ts, e, h, hn);
	return r;
}

static int thread_work(struct imap_job *jb, struct store *st)
{
	struct thread_state *ts = jb->state;
	int r = imap_search_exec(&ts->job, st);
	if (r < 0 || ts->job.res.count == 0)
		return r;
	ts->msgs = arena_alloc(&ts->job.ra, ts->job.res.count * sizeof(*ts->msgs));
	if (!ts->msgs)
		return ERR_NOMEM;
	if ((r = imap_search_each(&ts->job, st, STORE_X_HEADER, thread_fill, ts)) < 0)
		return r;
	r = ts->thread.alg == IMAP_THREAD_REFERENCES
		    ? imap_threading_references(ts->msgs, ts->n, &ts->job.ra, collect, ts)
		    : imap_threading_orderedsubject(ts->msgs, ts->n, &ts->job.ra, collect, ts);
	return r < 0 ? r : ts->nomem ? ERR_NOMEM : 0;
}

static void thread_done(struct imap_session *s, struct imap_job *jb)
{
	struct thread_state *ts = jb->state;
	if (jb->result < 0) {
		imap_search_fail(s, &ts->job, jb->result, "THREAD");
		return;
	}
	/* thread-data = "THREAD" [SP 1*thread-list] (RFC 5256 4) */
	imap_put(&s->out, ts->head ? "* THREAD " : "* THREAD", ts->head ? 9 : 8);
	for (const struct piece *c = ts->head; c; c = c->next)
		imap_put(&s->out, c->d, c->n);
	imap_put(&s->out, "\r\n", 2);
	imap_done(s, "OK THREAD completed");
}

static void thread_release(struct imap_job *jb)
{
	struct thread_state *ts = jb->state;
	if (ts && ts->begun)
		imap_search_end(&ts->job);
}

int imap_cmd_thread(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_thread thread;
	const char *why = NULL;
	if (imap_parse_thread(cmd, &s->ca, &thread, &why) < 0) {
		imap_job_refuse(s, why, "BAD Invalid THREAD arguments");
		return 0;
	}
	if (!imap_search_prepare(s, &thread.prog))
		return 0;
	struct imap_job *jb = imap_job_new(s);
	if (!jb)
		return 0;
	struct thread_state *ts = arena_zalloc(&jb->a, sizeof(*ts));
	if (!ts) {
		imap_job_free(s);
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory, try again later");
		return 0;
	}
	jb->state = ts;
	jb->release = thread_release;
	ts->thread = thread;
	ts->uid = cmd->uid;
	ts->begun = true;
	int r = imap_search_begin(&ts->job, s, &thread.prog);
	if (r < 0) {
		imap_search_fail(s, &ts->job, r, "THREAD");
		imap_job_free(s);
		return 0;
	}
	return imap_job_run(s, thread_work, thread_done);
}
