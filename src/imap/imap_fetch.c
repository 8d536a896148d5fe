/* imap_fetch.c: FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9; RFC 3501 6.4.5 for rev1;
 * RFC 7162 3.1.4 CHANGEDSINCE and 3.2.6 VANISHED): the command's checks, the walk over
 * the messages it names a step at a time, \Seen set on the worker pool, the pauses
 * while the client reads, and the tagged completion. imap_fetch_int.h describes the
 * job. Owns: the job (command arena), the sequence ranges (malloc), the step's and the
 * message's arenas (LIMIT_IMAP_FETCH_*), the store handle while running.
 *
 * Decisions:
 *  - A message sequence number past the last message is BAD (6.4.5; "Invalid
 *    messageset" in Dovecot), so is any number in an empty mailbox; UID FETCH of UIDs
 *    that do not exist answers nothing for them (6.4.9).
 *  - A message still known to this session but expunged by another one (RFC 9051
 *    7.5.1 keeps its number until EXPUNGE may be sent) has no data left in the store:
 *    it gets no FETCH response and the command ends "NO [EXPUNGEISSUED]" (RFC 2180
 *    4.1.2, RFC 5530; Dovecot's documented multi-access rule). By UID it is a UID that
 *    no longer exists: nothing, and the EXPUNGE follows before the OK.
 *  - RFC822, RFC822.HEADER and RFC822.TEXT are rev1 items (RFC 9051 Appendix E): BAD
 *    once IMAP4rev2 is enabled, as LSUB and CHECK are.
 *  - MODSEQ or CHANGEDSINCE enable CONDSTORE (RFC 7162 3.1), announced with the
 *    HIGHESTMODSEQ the client knows. */
#include "imap_fetch_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "imap/imap_write.h"
#include "store/store.h"
#include "core/banned.h"

static void fetch_run(struct imap_fetch_job *j);

/* ---- the messages named: sequence ranges ---- */

struct range_list {
	struct imap_range *r;
	size_t n, cap;
};

static int range_add(struct range_list *l, uint32_t lo, uint32_t hi)
{
	if (l->n && l->r[l->n - 1].hi + (uint64_t)1 == lo) {
		l->r[l->n - 1].hi = hi;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct imap_range *r = realloc(l->r, cap * sizeof(*r));
		if (!r)
			return ERR_NOMEM;
		l->r = r, l->cap = cap;
	}
	l->r[l->n++] = (struct imap_range){lo, hi};
	return 0;
}

/* Ascending, disjoint UID ranges to the sequence numbers of the UIDs the session
 * knows, walking the ranges and the map's runs side by side (linear in both, however
 * fragmented the map is). */
static int uids_to_seqs(const struct imap_uidmap *map, const struct imap_range *u, size_t nu,
                        struct range_list *out)
{
	size_t i = 0, k = 0;
	uint32_t base = 1; /* sequence number of runs[k].first */
	while (i < nu && k < map->nruns) {
		const struct imap_uidrun *run = &map->runs[k];
		uint64_t run_last = (uint64_t)run->first + run->count - 1;
		uint64_t lo = u[i].lo > run->first ? u[i].lo : run->first;
		uint64_t hi = u[i].hi < run_last ? u[i].hi : run_last;
		if (lo <= hi) {
			int r = range_add(out, base + (uint32_t)(lo - run->first),
			                  base + (uint32_t)(hi - run->first));
			if (r < 0)
				return r;
		}
		if (u[i].hi < run_last) {
			i++;
		} else {
			base += run->count;
			k++;
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* SEARCHRES's saved UIDs (RFC 5182) as ascending UID ranges. */
static int saved_ranges(const struct imap_selected *sel, struct range_list *out)
{
	if (!sel->nsaved)
		return 0;
	uint32_t *v = malloc(sel->nsaved * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	memcpy(v, sel->saved, sel->nsaved * sizeof(*v));
	qsort(v, sel->nsaved, sizeof(*v), cmp_u32);
	int r = 0;
	for (size_t i = 0; r == 0 && i < sel->nsaved; i++)
		if (!out->n || v[i] > out->r[out->n - 1].hi) /* a repeat adds nothing */
			r = range_add(out, v[i], v[i]);
	free(v);
	return r;
}

/* The sequence ranges to walk; BAD (why set) for numbers past the last message. */
static int resolve_set(struct imap_fetch_job *j, const char **why)
{
	struct imap_session *s = j->s;
	const struct imap_uidmap *map = &s->sel->map;
	struct range_list uids = {0}, seqs = {0};
	struct imap_seqset res;
	int r = 0;
	if (j->f.set.saved) {
		r = saved_ranges(s->sel, &uids);
	} else if (j->by_uid) {
		r = imap_seqset_resolve(&j->f.set, imap_uidmap_last(map), &s->ca, &res);
		for (size_t i = 0; r == 0 && i < res.n; i++)
			r = range_add(&uids, res.r[i].lo, res.r[i].hi);
	} else {
		for (size_t i = 0; i < j->f.set.n; i++) {
			const struct imap_range *g = &j->f.set.r[i];
			if (map->total == 0 || (g->lo != UINT32_MAX && g->lo > map->total) ||
			    (g->hi != UINT32_MAX && g->hi > map->total)) {
				*why = "Invalid messageset: no such message (RFC 9051 6.4.5)";
				return ERR_BAD_SYNTAX;
			}
		}
		r = imap_seqset_resolve(&j->f.set, map->total, &s->ca, &res);
		for (size_t i = 0; r == 0 && i < res.n; i++)
			r = range_add(&seqs, res.r[i].lo, res.r[i].hi);
	}
	if (r == 0 && (j->f.set.saved || j->by_uid))
		r = uids_to_seqs(map, uids.r, uids.n, &seqs);
	free(uids.r);
	if (r < 0) {
		free(seqs.r);
		return r;
	}
	j->ranges = seqs.r;
	j->nranges = seqs.n;
	j->next = seqs.n ? seqs.r[0].lo : 0;
	j->run = 0;
	j->run_seq = 1;
	return 0;
}

/* The UID of sequence number seq; seq never goes down during a job. */
static uint32_t seq_uid(struct imap_fetch_job *j, uint32_t seq)
{
	const struct imap_uidmap *map = &j->s->sel->map;
	while (j->run < map->nruns && seq >= j->run_seq + map->runs[j->run].count) {
		j->run_seq += map->runs[j->run].count;
		j->run++;
	}
	return map->runs[j->run].first + (seq - j->run_seq);
}

/* ---- the store while the job runs ---- */

struct store *imap_fetch_store(struct imap_fetch_job *j)
{
	if (!j->st && store_open(imap_env, j->s->account, &j->st) < 0)
		j->st = NULL;
	return j->st;
}

static void job_store_close(struct imap_fetch_job *j)
{
	if (j->st)
		imap_store_close(&j->st);
}

/* Everything the job holds beyond the command arena: released with s->job, on
 * completion or when the connection goes away while the job waits. */
static void job_release(struct imap_job *job)
{
	struct imap_fetch_job *j = job->state;
	imap_fetch_msg_end(j);
	job_store_close(j);
	arena_free(&j->step);
	arena_free(&j->xa);
	arena_free(&j->ma);
	free(j->ranges);
	j->ranges = NULL;
}

/* ---- a step: the next LIMIT_IMAP_FETCH_BATCH sequence numbers ---- */

/* Map a store error to the tagged NO. */
static const char *no_for(int r)
{
	switch (r) {
	case ERR_NOTFOUND:
		return "NO [NONEXISTENT] The selected mailbox no longer exists";
	case ERR_TOO_BIG:
		return "NO [LIMIT] A message structure is too big for this server";
	case ERR_TEMP:
	case ERR_NOMEM:
		return "NO [UNAVAILABLE] Cannot read the mailbox now, try again";
	default:
		return "NO [SERVERBUG] Some messages could not be read";
	}
}

/* Take the next sequence numbers: at most LIMIT_IMAP_FETCH_BATCH of them, spanning at
 * most that many numbers, so that the rows the store returns for the UID span are
 * bounded too. */
static void take_numbers(struct imap_fetch_job *j)
{
	uint32_t first = 0;
	while (j->ri < j->nranges && j->nmsgs < LIMIT_IMAP_FETCH_BATCH) {
		const struct imap_range *g = &j->ranges[j->ri];
		if (j->next < g->lo)
			j->next = g->lo;
		if (!first)
			first = j->next;
		if (j->next - first >= LIMIT_IMAP_FETCH_BATCH)
			break;
		struct imap_fetch_msg *m = &j->msgs[j->nmsgs++];
		*m = (struct imap_fetch_msg){.seq = j->next, .uid = seq_uid(j, j->next)};
		if (j->next == g->hi) {
			if (++j->ri < j->nranges)
				j->next = j->ranges[j->ri].lo;
		} else {
			j->next++;
		}
	}
}

/* Rows for the step's messages; rows of messages not named are dropped by the merge. */
static int step_rows(struct imap_fetch_job *j)
{
	struct store *st = imap_fetch_store(j);
	if (!st)
		return ERR_TEMP;
	uint32_t lo = j->msgs[0].uid, hi = j->msgs[j->nmsgs - 1].uid;
	int64_t mbox = j->s->sel->mailbox_id;
	struct store_msg *rows;
	size_t n;
	int r = j->f.changedsince ? store_msg_changed(st, mbox, j->f.changedsince_modseq, lo, hi,
	                                              &j->step, &rows, &n)
	                          : store_msg_list(st, mbox, lo, hi, &j->step, &rows, &n);
	if (r < 0)
		return r;
	size_t k = 0;
	for (size_t i = 0; i < j->nmsgs; i++) {
		while (k < n && rows[k].uid < j->msgs[i].uid)
			k++;
		if (k < n && rows[k].uid == j->msgs[i].uid)
			j->msgs[i].row = &rows[k];
		else if (!j->f.changedsince)
			j->gone = true; /* named, known to the session, gone from the store */
	}
	return 0;
}

static int step_next(struct imap_fetch_job *j)
{
	arena_reset(&j->step);
	arena_reset(&j->xa);
	j->nmsgs = j->mi = j->nx = j->xi = 0;
	j->x_loaded = false;
	if (j->ri >= j->nranges)
		return 0;
	j->msgs = arena_alloc(&j->step, LIMIT_IMAP_FETCH_BATCH * sizeof(*j->msgs));
	if (!j->msgs)
		return ERR_NOMEM;
	take_numbers(j);
	if (!j->nmsgs)
		return 0;
	int r = step_rows(j);
	return r < 0 ? r : 1;
}

/* ---- \Seen (RFC 9051 6.4.5: BODY[...] without PEEK sets it) on the worker pool ---- */

struct seen_work {
	struct imap_fetch_job *j;
	int64_t account, mailbox;
	uint32_t *uids;
	size_t n;
	struct store_flags_result res;
	int r;
};

static void seen_work(void *arg)
{
	struct seen_work *w = arg;
	struct store *st = NULL;
	struct store_flags_change c = {
	    .op = STORE_FLAGS_ADD, .flags = STORE_F_SEEN, .unchangedsince = STORE_UNCONDITIONAL};
	w->r = store_open(imap_env, w->account, &st);
	if (w->r == 0)
		w->r = store_flags(st, w->mailbox, w->uids, w->n, &c, &w->j->step, &w->res);
	store_close(&st);
}

static void seen_done(struct imap_session *s, void *arg)
{
	struct seen_work *w = arg;
	struct imap_fetch_job *j = w->j;
	if (w->r < 0) {
		log_warn("fetch: cannot set \\Seen: %s", err_str(w->r));
		j->no = "NO [UNAVAILABLE] Cannot set \\Seen now, try again";
		j->ri = j->nranges; /* answer nothing more: the data would claim a \Seen */
		j->nmsgs = 0;
	} else if (w->res.n_changed) {
		imap_sync_own(s, w->res.modseq); /* answered here, not echoed by the sync */
		size_t k = 0;
		for (size_t i = 0; i < j->nmsgs && k < w->res.n_changed; i++) {
			struct imap_fetch_msg *m = &j->msgs[i];
			if (!m->row || m->uid != w->res.changed[k])
				continue;
			m->row->flags |= STORE_F_SEEN;
			m->row->modseq = w->res.modseq;
			m->seen_set = true;
			k++;
		}
	}
	fetch_run(j);
}

/* Set \Seen on the step's messages that lack it; 1 if the pool is doing it. */
static int step_seen(struct imap_fetch_job *j)
{
	struct imap_session *s = j->s;
	if (!j->f.seen || s->sel->readonly)
		return 0; /* EXAMINE: nothing changes (RFC 9051 6.3.3) */
	struct seen_work *w = arena_zalloc(&j->step, sizeof(*w));
	uint32_t *uids = arena_alloc(&j->step, j->nmsgs * sizeof(*uids));
	if (!w || !uids)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < j->nmsgs; i++)
		if (j->msgs[i].row && !(j->msgs[i].row->flags & STORE_F_SEEN))
			uids[n++] = j->msgs[i].uid;
	if (!n)
		return 0;
	*w = (struct seen_work){j, s->account, s->sel->mailbox_id, uids, n, {0}, 0};
	job_store_close(j);
	int r = imap_async(s, seen_work, seen_done, w);
	return r < 0 ? r : 1;
}

/* ---- a message ---- */

/* The step's cached headers, previews and thread ids, read a window at a time (the
 * store stops when its arena is full) as the messages come. */
static const struct store_msg_extra *extra_for(struct imap_fetch_job *j, uint32_t uid, int *r)
{
	*r = 0;
	if (!j->x_loaded || (uid > j->x_last)) {
		struct store *st = imap_fetch_store(j);
		uint32_t hi = j->msgs[j->nmsgs - 1].uid, next = 0;
		arena_reset(&j->xa);
		j->nx = j->xi = 0;
		*r = st ? store_msg_extra(st, j->s->sel->mailbox_id, uid, hi, j->want_extra, &j->xa,
		                          &j->x, &j->nx, &next)
		        : ERR_TEMP;
		if (*r < 0)
			return NULL;
		j->x_loaded = true;
		j->x_last = next ? next - 1 : hi;
	}
	while (j->xi < j->nx && j->x[j->xi].uid < uid)
		j->xi++;
	return j->xi < j->nx && j->x[j->xi].uid == uid ? &j->x[j->xi] : NULL;
}

static void measure_work(void *arg)
{
	struct imap_fetch_job *j = arg;
	j->measure_r = imap_fetch_measure(j); /* a read failure is logged there */
}

static void measure_done(struct imap_session *s, void *arg)
{
	struct imap_fetch_job *j = arg;
	if (j->measure_r < 0) {
		j->no = no_for(j->measure_r);
		imap_fetch_msg_end(j);
		j->mi++;
	} else {
		j->in_msg = true;
	}
	fetch_run(j);
}

/* Start answering j->msgs[j->mi]: 1 when its response can be written, 0 when it is
 * skipped, 2 when the pool measures it first. */
static int message_begin(struct imap_fetch_job *j)
{
	struct imap_fetch_msg *m = &j->msgs[j->mi];
	if (!m->row) {
		j->mi++;
		return 0;
	}
	j->m = m;
	j->mx = NULL;
	int r = 0;
	if (j->want_extra)
		j->mx = extra_for(j, m->uid, &r);
	if (r == 0)
		r = imap_fetch_msg_prepare(j);
	if (r == IMAP_FETCH_MEASURE) {
		job_store_close(j);
		if (imap_async(j->s, measure_work, measure_done, j) == 0)
			return 2;
		r = imap_fetch_measure(j) < 0 ? ERR_IO : 0; /* no pool: here, then */
	}
	if (r == 0) {
		j->in_msg = true;
		return 1;
	}
	if (r == ERR_NOTFOUND)
		j->gone = true; /* expunged since the step's rows were read */
	else if (!j->no)
		j->no = no_for(r);
	imap_fetch_msg_end(j);
	j->mi++;
	return 0;
}

/* ---- the walk ---- */

static void fetch_finish(struct imap_fetch_job *j)
{
	struct imap_session *s = j->s;
	bool gone = j->gone && !j->by_uid;
	const char *no = j->no;
	imap_job_free(s);
	if (no)
		imap_done(s, "%s", no);
	else if (gone)
		imap_done(s, "NO [EXPUNGEISSUED] Some of the requested messages no longer exist");
	else
		imap_done(s, "OK %sFETCH completed", j->by_uid ? "UID " : "");
}

static void fetch_more(struct imap_session *s, void *arg)
{
	(void)s;
	fetch_run(arg);
}

static void fetch_run(struct imap_fetch_job *j)
{
	struct imap_session *s = j->s;
	for (;;) {
		if (j->broken || net_conn_closed(s->c)) {
			imap_job_free(s);
			return; /* the connection is going; nothing more is answered */
		}
		if (j->in_msg) {
			int r = imap_fetch_msg_write(j);
			if (r < 0) {
				j->broken = true;
				net_conn_close(s->c); /* a literal was announced: cannot go on */
				continue;
			}
			if (r == 0)
				break;
			imap_fetch_msg_end(j);
			j->mi++;
			continue;
		}
		if (net_conn_output_pending(s->c) >= NET_OUTPUT_LOW)
			break;
		if (j->mi < j->nmsgs) {
			if (message_begin(j) == 2)
				return; /* measure_done goes on */
			continue;
		}
		int r = step_next(j);
		if (r > 0)
			r = step_seen(j);
		if (r == 1)
			return; /* seen_done goes on */
		if (r < 0) {
			log_warn("fetch: %s", err_str(r));
			j->no = no_for(r);
		}
		if (r < 0 || j->nmsgs == 0) {
			fetch_finish(j);
			return;
		}
	}
	/* the client has this much to read: go on when it has */
	job_store_close(j);
	if (imap_wait_output(s, fetch_more, j) < 0) {
		net_conn_close(s->c);
		imap_job_free(s);
	}
}

/* ---- the command ---- */

static void vanished_earlier(struct imap_fetch_job *j)
{
	struct imap_session *s = j->s;
	struct imap_selected *sel = s->sel;
	uint32_t known_max = sel->uidnext > 1 ? sel->uidnext - 1 : 0;
	struct store *st = imap_fetch_store(j);
	struct range_list saved = {0};
	struct imap_seqset known = j->f.set;
	uint32_t *gone = NULL;
	size_t n = 0;
	bool complete = false;
	if (!known_max || !st)
		return;
	if (known.saved) { /* "$": the saved UIDs are the set */
		if (saved_ranges(sel, &saved) < 0)
			return;
		known = (struct imap_seqset){saved.r, saved.n, false};
	}
	/* RFC 7162 3.2.6: the UIDs of the set expunged since CHANGEDSINCE, first */
	if (store_expunged_since(st, sel->mailbox_id, j->f.changedsince_modseq, 1, known_max,
	                         &s->ca, &gone, &n, &complete) == 0)
		imap_sync_vanished(s, gone, n, complete, &known, known_max, true);
	free(saved.r);
}

/* The item list decides what the store must read besides the rows. */
static void plan(struct imap_fetch_job *j)
{
	for (const struct imap_fetch_item *it = j->f.items; it; it = it->next) {
		j->nitems++;
		j->need_buffers |= imap_fetch_body_item(it->att);
		if (it->att == IMAP_FETCH_THREADID)
			j->want_extra |= STORE_X_THREAD;
		else if (it->att == IMAP_FETCH_PREVIEW)
			j->want_extra |= STORE_X_PREVIEW;
		else if ((it->att == IMAP_FETCH_BODY_SECTION ||
		          it->att == IMAP_FETCH_RFC822_HEADER) &&
		         it->section.nparts == 0 &&
		         (it->section.kind == IMAP_SECTION_HEADER ||
		          it->section.kind == IMAP_SECTION_HEADER_FIELDS ||
		          it->section.kind == IMAP_SECTION_HEADER_NOT))
			j->want_extra |= STORE_X_HEADER;
	}
}

static bool rev1_items(const struct imap_fetch *f)
{
	return f->have & ((1u << IMAP_FETCH_RFC822) | (1u << IMAP_FETCH_RFC822_HEADER) |
	                  (1u << IMAP_FETCH_RFC822_TEXT));
}

int imap_cmd_fetch(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_fetch_job *j = arena_zalloc(&s->ca, sizeof(*j));
	const char *why = NULL;
	if (!j) {
		imap_tagged(s, "NO [LIMIT] Command too large for this server");
		return 0;
	}
	j->s = s;
	j->by_uid = cmd->uid;
	j->fd = -1;
	if (imap_parse_fetch(cmd, &s->ca, &j->f, &why) < 0) {
		why = why ? why : "BAD Invalid FETCH arguments";
		if (!strncmp(why, "BAD ", 4))
			imap_bad(s, why + 4);
		else
			imap_tagged(s, "%s", why);
		return 0;
	}
	if (s->rev2 && rev1_items(&j->f)) {
		imap_bad(s, "RFC822 items are not part of IMAP4rev2 (RFC 9051 Appendix E)");
		return 0;
	}
	if (j->f.vanished && !s->qresync) {
		imap_bad(s, "VANISHED needs QRESYNC enabled (RFC 7162 3.2.6)");
		return 0;
	}
	int r = resolve_set(j, &why);
	if (r == ERR_BAD_SYNTAX) {
		imap_bad(s, why);
		return 0;
	}
	if (r < 0) {
		imap_tagged(s, "NO [LIMIT] Too many messages named for this server");
		return 0;
	}
	plan(j);
	j->bodies = arena_zalloc(&s->ca, j->nitems * sizeof(*j->bodies));
	if (j->need_buffers) {
		j->in_buf = arena_alloc(&s->ca, LIMIT_IMAP_FETCH_CHUNK);
		j->out_buf = arena_alloc(&s->ca, LIMIT_IMAP_FETCH_CHUNK);
	}
	if (!j->bodies || (j->need_buffers && (!j->in_buf || !j->out_buf)) ||
	    buf_alloc(&j->gather, &s->ca, LIMIT_IMAP_FETCH_GATHER) < 0) {
		free(j->ranges);
		imap_tagged(s, "NO [LIMIT] Command too large for this server");
		return 0;
	}
	struct imap_job *job = imap_job_new(s); /* answers NO itself */
	if (!job) {
		free(j->ranges);
		return 0;
	}
	job->state = j;
	job->release = job_release;
	arena_init(&j->step, LIMIT_COMMAND_ARENA);
	arena_init(&j->xa, LIMIT_IMAP_FETCH_EXTRA_ARENA);
	arena_init(&j->ma, LIMIT_IMAP_FETCH_MSG_ARENA);
	if (((j->f.have & (1u << IMAP_FETCH_MODSEQ)) || j->f.changedsince) && !s->condstore) {
		s->condstore = true; /* RFC 7162 3.1: a CONDSTORE-enabling command */
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		              (unsigned long long)s->sel->modseq);
	}
	if (j->f.vanished)
		vanished_earlier(j);
	fetch_run(j);
	return 0;
}
