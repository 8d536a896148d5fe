/* imap_search_cmd.c: the SEARCH and UID SEARCH commands (RFC 9051 6.4.4, 6.4.9; RFC 3501
 * 6.4.4 for rev1), their answers (rev1 "* SEARCH" with RFC 7162 3.1.5's "(MODSEQ n)";
 * "* ESEARCH" of RFC 4731 / RFC 9051 7.3.4, always under IMAP4rev2), the saved result of
 * SEARCHRES (RFC 5182, RFC 9051 6.4.4.1) and the buffered writer long answers share.
 * The search itself runs on the worker pool (imap_search.h); numbers are those the
 * client knows (the session's map), and no EXPUNGE goes out before the answer to a
 * SEARCH by sequence number (imap_done's rule, RFC 9051 7.5.1). Memory: the search
 * job's (imap_search.h); the saved result is malloc'ed, 4 bytes per UID. */
#include "imap/imap_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "imap/imap_write.h"
#include "core/banned.h"

/* ---- buffered output ---- */

void imap_search_out_flush(struct imap_search_out *o)
{
	if (o->n)
		imap_put(&o->s->out, o->buf, o->n);
	o->n = 0;
}

void imap_search_out_put(struct imap_search_out *o, const char *p, size_t n)
{
	if (o->n + n > sizeof(o->buf))
		imap_search_out_flush(o);
	if (n > sizeof(o->buf)) {
		imap_put(&o->s->out, p, n);
		return;
	}
	memcpy(o->buf + o->n, p, n);
	o->n += n;
}

void imap_search_out_num(struct imap_search_out *o, uint32_t v)
{
	char b[16];
	int l = snprintf(b, sizeof(b), " %u", v);
	if (l > 0 && (size_t)l < sizeof(b))
		imap_search_out_put(o, b, (size_t)l);
}

/* ---- the command ---- */

struct search_state {
	struct imap_search_job job;
	struct imap_search_prog prog;
	bool begun; /* job's arenas exist */
};

static void search_release(struct imap_job *jb)
{
	struct search_state *ss = jb->state;
	if (ss && ss->begun)
		imap_search_end(&ss->job);
}

/* RFC 5182 2.1: a SEARCH with SAVE that fails with NO leaves "$" empty. */
static void forget_saved(struct imap_session *s)
{
	free(s->sel->saved);
	s->sel->saved = NULL;
	s->sel->nsaved = 0;
}

/* The result as "$": every match, or with only MIN and/or MAX asked just those
 * (RFC 5182 2.4). false when there was no memory for it. */
static bool save(struct imap_session *s, const struct imap_search_job *j, unsigned ret)
{
	const struct imap_search_result *res = &j->res;
	bool all = !(ret & (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX)) ||
		   (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT));
	forget_saved(s);
	if (res->count == 0)
		return true;
	uint32_t *v = malloc((all ? res->count : 2) * sizeof(*v));
	if (!v)
		return false;
	size_t n = 0;
	struct imap_search_iter it;
	uint32_t seq, uid;
	imap_search_iter_init(&it, j);
	while (imap_search_iter_next(&it, &seq, &uid))
		if (all || (seq == res->min_seq && (ret & IMAP_SEARCH_RET_MIN)) ||
		    (seq == res->max_seq && (ret & IMAP_SEARCH_RET_MAX)))
			v[n++] = uid;
	s->sel->saved = v;
	s->sel->nsaved = n;
	return true;
}

/* ALL's sequence-set: runs of consecutive numbers as "a:b" (RFC 4731 3.1). */
static void put_range(struct imap_search_out *o, bool first, uint32_t a, uint32_t b)
{
	char buf[32];
	int l = a == b ? snprintf(buf, sizeof(buf), "%c%u", first ? ' ' : ',', a)
		       : snprintf(buf, sizeof(buf), "%c%u:%u", first ? ' ' : ',', a, b);
	if (l > 0 && (size_t)l < sizeof(buf))
		imap_search_out_put(o, buf, (size_t)l);
}

static void put_all(struct imap_search_out *o, const struct imap_search_job *j, bool uid)
{
	struct imap_search_iter it;
	uint32_t seq, u, a = 0, b = 0;
	bool any = false, first = true;
	imap_search_out_put(o, " ALL", 4);
	imap_search_iter_init(&it, j);
	while (imap_search_iter_next(&it, &seq, &u)) {
		uint32_t v = uid ? u : seq;
		if (any && v == b + 1) {
			b = v;
			continue;
		}
		if (any) {
			put_range(o, first, a, b);
			first = false;
		}
		a = b = v;
		any = true;
	}
	if (any)
		put_range(o, first, a, b);
}

/* MODSEQ with a MODSEQ key (RFC 4731 3.2, RFC 7162 3.1.5): the highest of the messages
 * the answer names: with only MIN and/or MAX those, else all. */
static uint64_t answer_modseq(const struct imap_search_result *res, unsigned ret)
{
	if (ret & (IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT))
		return res->modseq;
	uint64_t m = 0;
	if ((ret & IMAP_SEARCH_RET_MIN) && res->min_modseq > m)
		m = res->min_modseq;
	if ((ret & IMAP_SEARCH_RET_MAX) && res->max_modseq > m)
		m = res->max_modseq;
	return m;
}

static void put_esearch(struct imap_session *s, const struct imap_search_job *j, unsigned ret,
			bool uid, bool modseq)
{
	const struct imap_search_result *res = &j->res;
	const struct imap_uidmap *map = &j->sel->map;
	struct imap_search_out o = {.s = s};
	char b[64];
	/* a tag never holds '"' or '\' (tag: ASTRING-CHAR without "+"): quoted as it is */
	imap_search_out_put(&o, "* ESEARCH (TAG \"", 16);
	imap_search_out_put(&o, s->tag, strlen(s->tag));
	imap_search_out_put(&o, uid ? "\") UID" : "\")", uid ? 6 : 2);
	int l = 0;
	if ((ret & IMAP_SEARCH_RET_MIN) && res->count) {
		l = snprintf(b, sizeof(b), " MIN %u",
			     uid ? imap_uidmap_uid(map, res->min_seq) : res->min_seq);
		imap_search_out_put(&o, b, (size_t)l);
	}
	if ((ret & IMAP_SEARCH_RET_MAX) && res->count) {
		l = snprintf(b, sizeof(b), " MAX %u",
			     uid ? imap_uidmap_uid(map, res->max_seq) : res->max_seq);
		imap_search_out_put(&o, b, (size_t)l);
	}
	if ((ret & IMAP_SEARCH_RET_ALL) && res->count)
		put_all(&o, j, uid);
	if (ret & IMAP_SEARCH_RET_COUNT) {
		l = snprintf(b, sizeof(b), " COUNT %u", res->count);
		imap_search_out_put(&o, b, (size_t)l);
	}
	if (modseq && res->count) {
		l = snprintf(b, sizeof(b), " MODSEQ %llu",
			     (unsigned long long)answer_modseq(res, ret));
		imap_search_out_put(&o, b, (size_t)l);
	}
	imap_search_out_put(&o, "\r\n", 2);
	imap_search_out_flush(&o);
}

static void put_search(struct imap_session *s, const struct imap_search_job *j, bool uid,
		       bool modseq)
{
	struct imap_search_out o = {.s = s};
	struct imap_search_iter it;
	uint32_t seq, u;
	imap_search_out_put(&o, "* SEARCH", 8);
	imap_search_iter_init(&it, j);
	while (imap_search_iter_next(&it, &seq, &u))
		imap_search_out_num(&o, uid ? u : seq);
	if (modseq && j->res.count) {
		char b[48];
		int l = snprintf(b, sizeof(b), " (MODSEQ %llu)", (unsigned long long)j->res.modseq);
		imap_search_out_put(&o, b, (size_t)l);
	}
	imap_search_out_put(&o, "\r\n", 2);
	imap_search_out_flush(&o);
}

static int search_work(struct imap_job *jb, struct store *st)
{
	struct search_state *ss = jb->state;
	return imap_search_exec(&ss->job, st);
}

static void search_done(struct imap_session *s, struct imap_job *jb)
{
	struct search_state *ss = jb->state;
	const struct imap_search_prog *p = &ss->prog;
	bool uid = s->cmd->uid;
	unsigned ret = p->ret;
	if (jb->result < 0) {
		if (ret & IMAP_SEARCH_RET_SAVE)
			forget_saved(s);
		imap_search_fail(s, &ss->job, jb->result, "SEARCH");
		return;
	}
	if ((ret & IMAP_SEARCH_RET_SAVE) && !save(s, &ss->job, ret)) {
		imap_done(s, "NO [NOTSAVED] No memory to keep the result"); /* RFC 5182 2.5 */
		return;
	}
	if (p->esearch || s->rev2) {
		/* IMAP4rev2 answers ESEARCH, ALL when nothing else was asked (RFC 9051
		 * 6.4.4); SAVE alone asks for no answer at all (RFC 5182 2.1) */
		if (!p->esearch)
			ret = IMAP_SEARCH_RET_ALL;
		if (ret != IMAP_SEARCH_RET_SAVE)
			put_esearch(s, &ss->job, ret, uid, p->modseq);
	} else {
		put_search(s, &ss->job, uid, p->modseq);
	}
	imap_done(s, "OK SEARCH completed");
}

/* What SEARCH, SORT and THREAD do before their search runs: refuse rev1 keys under
 * IMAP4rev2, report the mailbox's changes so the search sees what the client will be
 * told, and turn CONDSTORE on for a MODSEQ key (RFC 7162 3.1: the first enabling command
 * gets HIGHESTMODSEQ). false after answering BAD. */
bool imap_search_prepare(struct imap_session *s, const struct imap_search_prog *p)
{
	if (s->rev2 && p->rev1_keys) { /* RFC 9051 Appendix E: NEW, OLD, RECENT are gone */
		imap_bad(s, "NEW, OLD and RECENT are not search keys of IMAP4rev2");
		return false;
	}
	imap_sync_send(s, s->cmd->uid);
	if (p->modseq && !s->condstore) {
		s->condstore = true;
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)s->sel->modseq);
	}
	return true;
}

int imap_cmd_search(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_search_prog prog;
	const char *why = NULL;
	int r = imap_parse_search(cmd, &s->ca, &prog, &why);
	if (r < 0) {
		if ((prog.ret & IMAP_SEARCH_RET_SAVE) && why && !strncmp(why, "NO", 2))
			forget_saved(s);
		imap_job_refuse(s, why, "BAD Invalid SEARCH arguments");
		return 0;
	}
	if (!imap_search_prepare(s, &prog))
		return 0;
	struct imap_job *jb = imap_job_new(s);
	if (!jb)
		return 0;
	struct search_state *ss = arena_zalloc(&jb->a, sizeof(*ss));
	if (!ss) {
		imap_job_free(s);
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory, try again later");
		return 0;
	}
	jb->state = ss;
	jb->release = search_release;
	ss->prog = prog;
	ss->begun = true;
	r = imap_search_begin(&ss->job, s, &prog);
	if (r < 0) {
		if ((prog.ret & IMAP_SEARCH_RET_SAVE) && !(ss->job.why && !strncmp(ss->job.why, "BAD", 3)))
			forget_saved(s);
		imap_search_fail(s, &ss->job, r, "SEARCH");
		imap_job_free(s);
		return 0;
	}
	return imap_job_run(s, search_work, search_done);
}
