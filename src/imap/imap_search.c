/* imap_search.c: running a compiled search over the selected mailbox (imap_search.h):
 * the walk over the session's sequence-number map a window of
 * LIMIT_IMAP_SEARCH_WINDOW messages at a time, the store's rows of each window, the
 * full-text index asked only once some message needs it, the cached headers read only
 * for the messages still undecided, and the walk over the matches that SORT and THREAD
 * make. Owns the job's arenas (caps in imap_search.h) and the match bitmap. */
#include "imap/imap_search.h"

#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

int imap_search_begin(struct imap_search_job *j, struct imap_session *s,
		      const struct imap_search_prog *prog)
{
	memset(j, 0, sizeof(*j));
	j->sel = s->sel;
	j->rev1 = !s->rev2;
	j->now = (int64_t)time(NULL);
	arena_init(&j->ra, LIMIT_IMAP_SEARCH_ARENA);
	arena_init(&j->wa, LIMIT_IMAP_SEARCH_SCRATCH);
	arena_init(&j->xa, LIMIT_IMAP_SEARCH_SCRATCH);
	arena_init(&j->ta, LIMIT_IMAP_SEARCH_SCRATCH);
	arena_init(&j->ha, LIMIT_CACHED_HEADER + 64);
	return imap_search_eval_compile(j, prog);
}

void imap_search_end(struct imap_search_job *j)
{
	arena_free(&j->ra);
	arena_free(&j->wa);
	arena_free(&j->xa);
	arena_free(&j->ta);
	arena_free(&j->ha);
}

/* ---- walking the map ---- */

struct map_cur {
	const struct imap_uidmap *m;
	size_t run;
	uint32_t off, seq;
};

static void cur_skip_empty(struct map_cur *c)
{
	while (c->run < c->m->nruns && c->m->runs[c->run].count == 0)
		c->run++;
}

static uint32_t cur_uid(const struct map_cur *c)
{
	return c->m->runs[c->run].first + c->off;
}

static void cur_next(struct map_cur *c)
{
	c->seq++;
	if (++c->off == c->m->runs[c->run].count) {
		c->run++;
		c->off = 0;
		cur_skip_empty(c);
	}
}

/* Up to LIMIT_IMAP_SEARCH_WINDOW messages of the map from c on. */
struct window {
	struct map_cur start;
	uint32_t first_seq, n;
	uint32_t lo, hi; /* their UIDs */
};

static bool next_window(struct map_cur *c, struct window *w)
{
	if (c->run >= c->m->nruns)
		return false;
	w->start = *c;
	w->first_seq = c->seq;
	w->lo = cur_uid(c);
	w->n = 0;
	while (c->run < c->m->nruns && w->n < LIMIT_IMAP_SEARCH_WINDOW) {
		w->hi = cur_uid(c);
		w->n++;
		cur_next(c);
	}
	return true;
}

/* The sequence number of each row (ascending UIDs) of window w, 0 for a row the client
 * does not know (none should be: new messages have higher UIDs than the window). */
static uint32_t *row_seqs(struct imap_search_job *j, const struct window *w,
			  const struct store_msg *rows, size_t n)
{
	uint32_t *seqs = arena_alloc(&j->wa, (n ? n : 1) * sizeof(*seqs));
	if (!seqs)
		return NULL;
	struct map_cur c = w->start;
	uint32_t end = w->first_seq + w->n;
	for (size_t i = 0; i < n; i++) {
		while (c.seq < end && cur_uid(&c) < rows[i].uid)
			cur_next(&c);
		seqs[i] = c.seq < end && cur_uid(&c) == rows[i].uid ? c.seq : 0;
	}
	return seqs;
}

static bool bit(const uint8_t *bits, uint32_t seq)
{
	return bits[(seq - 1) / 8] & (1u << ((seq - 1) % 8));
}

/* ---- the extras of some rows ---- */

typedef int (*visit_fn)(struct imap_search_job *j, uint32_t seq, const struct store_msg *m,
			const struct store_msg_extra *x, void *arg);

/* The header of x from the message file when it is wanted and was not cached. A file
 * that cannot be read leaves the header NULL (the message then has no fields). */
static int fill_header(struct imap_search_job *j, struct store *st, unsigned want,
		       struct store_msg_extra *x)
{
	if (!(want & STORE_X_HEADER) || x->header)
		return 0;
	arena_reset(&j->ha);
	const void *p;
	size_t n;
	int r = imap_search_hdr_read(st, j->sel->mailbox_id, x->uid, &j->ha, &p, &n);
	if (r == ERR_NOMEM)
		return r;
	if (r == 0) {
		x->header = p;
		x->header_len = n;
	} else if (r != ERR_NOTFOUND) {
		log_warn("imap: search: header of uid=%u unreadable: %s", x->uid, err_str(r));
	}
	return 0;
}

/* visit every row of pick[0..np) (indices of rows, ascending) with its extras; a row
 * whose message went meanwhile gets no visit. */
static int with_extras(struct imap_search_job *j, struct store *st, unsigned want,
		       const struct store_msg *rows, const uint32_t *seqs, const size_t *pick,
		       size_t np, visit_fn visit, void *arg)
{
	uint32_t from = rows[pick[0]].uid, to = rows[pick[np - 1]].uid;
	size_t k = 0;
	while (from && k < np) {
		struct store_msg_extra *x;
		size_t nx;
		uint32_t next;
		arena_reset(&j->xa);
		int r = store_msg_extra(st, j->sel->mailbox_id, from, to, want, &j->xa, &x, &nx,
					&next);
		if (r < 0)
			return r;
		for (size_t i = 0; i < nx && k < np; i++) {
			while (k < np && rows[pick[k]].uid < x[i].uid)
				k++;
			if (k == np || rows[pick[k]].uid != x[i].uid)
				continue;
			struct store_msg_extra ex = x[i];
			if ((r = fill_header(j, st, want, &ex)) < 0 ||
			    (r = visit(j, seqs[pick[k]], &rows[pick[k]], &ex, arg)) < 0)
				return r;
			k++;
		}
		from = next;
	}
	return 0;
}

/* ---- the search ---- */

static void match(struct imap_search_job *j, uint32_t seq, const struct store_msg *m)
{
	struct imap_search_result *res = &j->res;
	res->bits[(seq - 1) / 8] |= (uint8_t)(1u << ((seq - 1) % 8));
	res->count++;
	if (m->modseq > res->modseq)
		res->modseq = m->modseq;
	if (!res->min_seq || seq < res->min_seq) {
		res->min_seq = seq;
		res->min_modseq = m->modseq;
	}
	if (seq > res->max_seq) {
		res->max_seq = seq;
		res->max_modseq = m->modseq;
	}
}

static int visit_eval(struct imap_search_job *j, uint32_t seq, const struct store_msg *m,
		      const struct store_msg_extra *x, void *arg)
{
	struct imap_search_msg msg = {seq, m, x};
	if (imap_search_eval_msg(j, &msg) == IMAP_SEARCH_YES)
		match(j, seq, m);
	return 0;
}

/* One window: rows first, the index for what they leave open, then the headers. */
static int search_window(struct imap_search_job *j, struct store *st, const struct window *w)
{
	struct store_msg *rows;
	size_t n;
	arena_reset(&j->wa);
	int r = store_msg_list(st, j->sel->mailbox_id, w->lo, w->hi, &j->wa, &rows, &n);
	if (r < 0 || n == 0)
		return r;
	uint32_t *seqs = row_seqs(j, w, rows, n);
	size_t *open = arena_alloc(&j->wa, n * sizeof(*open));
	if (!seqs || !open)
		return ERR_NOMEM;
	size_t nopen = 0;
	for (size_t i = 0; i < n; i++) {
		if (!seqs[i])
			continue;
		struct imap_search_msg msg = {seqs[i], &rows[i], NULL};
		enum imap_search_tri t = imap_search_eval_msg(j, &msg);
		if (t == IMAP_SEARCH_YES)
			match(j, seqs[i], &rows[i]);
		else if (t == IMAP_SEARCH_MAYBE)
			open[nopen++] = i;
	}
	if (nopen && !j->index_done) {
		if ((r = imap_search_eval_index(j, st)) < 0)
			return r;
		j->index_done = true;
		size_t k = 0;
		for (size_t p = 0; p < nopen; p++) {
			size_t i = open[p];
			struct imap_search_msg msg = {seqs[i], &rows[i], NULL};
			enum imap_search_tri t = imap_search_eval_msg(j, &msg);
			if (t == IMAP_SEARCH_YES)
				match(j, seqs[i], &rows[i]);
			else if (t == IMAP_SEARCH_MAYBE)
				open[k++] = i;
		}
		nopen = k;
	}
	if (nopen)
		return with_extras(j, st, j->want, rows, seqs, open, nopen, visit_eval, NULL);
	return 0;
}

int imap_search_exec(struct imap_search_job *j, struct store *st)
{
	struct imap_search_result *res = &j->res;
	res->total = j->sel->map.total;
	res->bits = arena_zalloc(&j->ra, res->total / 8 + 1);
	if (!res->bits)
		return ERR_NOMEM;
	struct map_cur c = {&j->sel->map, 0, 0, 1};
	cur_skip_empty(&c);
	struct window w;
	while (next_window(&c, &w)) {
		int r = search_window(j, st, &w);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the matches ---- */

void imap_search_iter_init(struct imap_search_iter *it, const struct imap_search_job *j)
{
	struct map_cur c = {&j->sel->map, 0, 0, 1};
	cur_skip_empty(&c);
	*it = (struct imap_search_iter){c.m, j->res.bits, c.run, c.off, c.seq};
}

bool imap_search_iter_next(struct imap_search_iter *it, uint32_t *seq_out, uint32_t *uid_out)
{
	struct map_cur c = {it->m, it->run, it->off, it->seq};
	bool found = false;
	while (!found && c.run < c.m->nruns) {
		if (bit(it->bits, c.seq)) {
			*seq_out = c.seq;
			*uid_out = cur_uid(&c);
			found = true;
		}
		cur_next(&c);
	}
	it->run = c.run;
	it->off = c.off;
	it->seq = c.seq;
	return found;
}

struct each_arg {
	imap_search_each_fn fn;
	void *arg;
};

static int visit_each(struct imap_search_job *j, uint32_t seq, const struct store_msg *m,
		      const struct store_msg_extra *x, void *arg)
{
	struct each_arg *e = arg;
	return e->fn(e->arg, seq, m, x);
}

static int each_window(struct imap_search_job *j, struct store *st, const struct window *w,
		       unsigned want, struct each_arg *e)
{
	const uint8_t *bits = j->res.bits;
	/* the window's first and last match, by UID */
	struct map_cur c = w->start;
	uint32_t lo = 0, hi = 0;
	for (uint32_t k = 0; k < w->n; k++, cur_next(&c)) {
		if (!bit(bits, c.seq))
			continue;
		if (!lo)
			lo = cur_uid(&c);
		hi = cur_uid(&c);
	}
	if (!lo)
		return 0;
	struct store_msg *rows;
	size_t n;
	arena_reset(&j->wa);
	int r = store_msg_list(st, j->sel->mailbox_id, lo, hi, &j->wa, &rows, &n);
	if (r < 0 || n == 0)
		return r;
	uint32_t *seqs = row_seqs(j, w, rows, n);
	size_t *pick = arena_alloc(&j->wa, n * sizeof(*pick));
	if (!seqs || !pick)
		return ERR_NOMEM;
	size_t np = 0;
	for (size_t i = 0; i < n; i++)
		if (seqs[i] && bit(bits, seqs[i]))
			pick[np++] = i;
	if (np == 0)
		return 0;
	if (want)
		return with_extras(j, st, want, rows, seqs, pick, np, visit_each, e);
	for (size_t p = 0; p < np; p++)
		if ((r = e->fn(e->arg, seqs[pick[p]], &rows[pick[p]], NULL)) < 0)
			return r;
	return 0;
}

int imap_search_each(struct imap_search_job *j, struct store *st, unsigned want,
		     imap_search_each_fn fn, void *arg)
{
	struct each_arg e = {fn, arg};
	struct map_cur c = {&j->sel->map, 0, 0, 1};
	cur_skip_empty(&c);
	struct window w;
	while (j->res.count && next_window(&c, &w)) {
		int r = each_window(j, st, &w, want, &e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- failures ---- */

void imap_search_fail(struct imap_session *s, struct imap_search_job *j, int r, const char *verb)
{
	if (j && j->why) {
		if (!strncmp(j->why, "BAD ", 4))
			imap_bad(s, j->why + 4);
		else
			imap_done(s, "%s", j->why);
		return;
	}
	switch (r) {
	case ERR_NOMEM:
	case ERR_TOO_BIG:
		imap_done(s, "NO [LIMIT] %s needs more memory than a command may have", verb);
		return;
	case ERR_NOTFOUND:
		imap_done(s, "NO [NONEXISTENT] The mailbox no longer exists");
		return;
	default:
		break;
	}
	if (err_is_temp(r)) {
		imap_done(s, "NO [UNAVAILABLE] %s failed, try again later", verb);
		return;
	}
	log_err("imap: %s: %s", verb, err_str(r));
	imap_done(s, "NO [SERVERBUG] %s failed", verb);
}
