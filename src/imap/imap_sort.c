/* imap_sort.c: SORT and UID SORT (RFC 5256 3, with DISPLAYFROM / DISPLAYTO of RFC 5957):
 * the messages a search finds ordered by ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO (each
 * optionally REVERSE), ties by sequence number; answered "* SORT" (ESORT is not
 * offered), with "(MODSEQ n)" after a MODSEQ key (RFC 7162 3.1.5). The keys come from
 * the message rows and the cached headers (imap_search.h), on the worker pool:
 *   DATE     the Date: field in UTC, INTERNALDATE where it is missing or unusable (2.2)
 *   SUBJECT  the base subject of the decoded Subject (2.1, imap_sortkey.h)
 *   FROM, TO, CC  the local part (addr-mailbox) of the field's first address as
 *            ENVELOPE lists it (a group's name when it starts with a group), "" when
 *            there is none; DISPLAYFROM, DISPLAYTO its decoded display name, or
 *            "local@domain" without one (RFC 5957 4)
 * compared with i;ascii-casemap. Memory: one entry and its strings per match in the
 * search's arena (LIMIT_IMAP_SEARCH_ARENA); the header's parse in its scratch arena. */
#include "imap/imap_search.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "imap/imap_sortkey.h"
#include "imap/imap_write.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

/* ---- keys from a header (shared with THREAD) ---- */

int64_t imap_sort_sent_date(const void *h, size_t n, int64_t arrival)
{
	struct mime_field f;
	int64_t t;
	if (h && mime_header_find(h, n, "Date", &f) &&
	    imap_sortkey_date((const char *)f.value, f.value_len, &t, NULL) == 0)
		return t;
	return arrival;
}

int imap_sort_subject(const void *h, size_t n, struct arena *ta, struct arena *a,
		      const char **out, size_t *len_out, bool *refwd_out)
{
	struct mime_field f;
	struct mime_str v = {NULL, 0};
	*out = "";
	*len_out = 0;
	*refwd_out = false;
	arena_reset(ta);
	if (!h || !mime_header_find(h, n, "Subject", &f))
		return 0;
	if (mime_decode_words(f.value, f.value_len, ta, &v) < 0 || !v.s)
		return ERR_NOMEM;
	char *b = arena_alloc(a, v.len + 1);
	if (!b)
		return ERR_NOMEM;
	*len_out = mime_base_subject(v.s, v.len, b, refwd_out);
	b[*len_out] = '\0';
	*out = b;
	return 0;
}

/* ---- SORT ---- */

enum { ADDR_CC, ADDR_FROM, ADDR_TO, ADDR_DISPLAYFROM, ADDR_DISPLAYTO, ADDR_COUNT };

struct sort_ent {
	uint32_t seq, id; /* id: what is written, the sequence number or the UID */
	uint64_t size;
	int64_t arrival, date;
	const char *subject;
	size_t subject_len;
	const char *addr[ADDR_COUNT];
	size_t addr_len[ADDR_COUNT];
};

struct sort_state {
	struct imap_search_job job;
	struct imap_sort sort;
	bool begun, uid;
	unsigned need;     /* bits (1 << enum imap_sort_key) of the criteria */
	struct sort_ent *ents;
	size_t n;
};

static bool needs(const struct sort_state *ss, enum imap_sort_key k)
{
	return ss->need & (1u << k);
}

/* The first address of a list as ENVELOPE has it (RFC 9051 7.5.2): a mailbox, or the
 * start of a group, whose addr-mailbox is the group's name (RFC 5256 3 sorts on that,
 * and so does Dovecot). */
static const struct mime_addr *first_address(const struct mime_addr *a)
{
	for (; a; a = a->next)
		if (a->kind != MIME_ADDR_GROUP_END)
			return a;
	return NULL;
}

static int put_key(struct sort_ent *e, int k, struct arena *a, const char *p, size_t n)
{
	char *s = arena_strndup(a, p, n);
	if (!s)
		return ERR_NOMEM;
	e->addr[k] = s;
	e->addr_len[k] = n;
	return 0;
}

/* addr-mailbox (RFC 5256 3) or the display form (RFC 5957 4) of a list's first
 * address; a group's is its name either way. */
static int addr_key(struct sort_ent *e, int k, const struct mime_addr *list, bool display,
		    struct arena *ta, struct arena *a)
{
	const struct mime_addr *m = first_address(list);
	e->addr[k] = "";
	e->addr_len[k] = 0;
	if (!m)
		return 0;
	if (!display || m->kind == MIME_ADDR_GROUP_START)
		return m->mailbox.s ? put_key(e, k, a, m->mailbox.s, m->mailbox.len) : 0;
	struct mime_str name = {NULL, 0};
	if (m->name.s && mime_decode_words((const uint8_t *)m->name.s, m->name.len, ta, &name) < 0)
		return ERR_NOMEM;
	if (name.s && name.len)
		return put_key(e, k, a, name.s, name.len);
	/* addr-spec; without a domain just the local part, as the address was written */
	bool host = m->host.s && m->host.len;
	char *spec = arena_printf(ta, "%s%s%s", m->mailbox.s ? m->mailbox.s : "", host ? "@" : "",
				  host ? m->host.s : "");
	return spec ? put_key(e, k, a, spec, strlen(spec)) : ERR_NOMEM;
}

/* The address keys from the header's envelope (mime_parse of the header block alone). */
static int addr_keys(struct sort_state *ss, struct sort_ent *e, const void *h, size_t n)
{
	struct arena *ta = &ss->job.ta, *a = &ss->job.ra;
	struct mime_part *root = NULL;
	arena_reset(ta);
	if (h && mime_parse(h, n, ta, &root) < 0)
		return ERR_NOMEM;
	const struct mime_envelope *env = root ? root->envelope : NULL;
	static const struct {
		enum imap_sort_key key;
		int slot;
		bool display;
	} which[] = {
		{IMAP_SORT_CC, ADDR_CC, false},
		{IMAP_SORT_FROM, ADDR_FROM, false},
		{IMAP_SORT_TO, ADDR_TO, false},
		{IMAP_SORT_DISPLAYFROM, ADDR_DISPLAYFROM, true},
		{IMAP_SORT_DISPLAYTO, ADDR_DISPLAYTO, true},
	};
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		if (!needs(ss, which[i].key))
			continue;
		const struct mime_addr *list = NULL;
		if (env)
			list = which[i].slot == ADDR_CC ? env->cc
			       : which[i].slot == ADDR_TO || which[i].slot == ADDR_DISPLAYTO ? env->to
											       : env->from;
		int r = addr_key(e, which[i].slot, list, which[i].display, ta, a);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sort_fill(void *arg, uint32_t seq, const struct store_msg *m,
		     const struct store_msg_extra *x)
{
	struct sort_state *ss = arg;
	assert(ss->n < ss->job.res.count); /* each match is visited once */
	struct sort_ent *e = &ss->ents[ss->n++];
	const void *h = x ? x->header : NULL;
	size_t hn = x ? x->header_len : 0;
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->id = ss->uid ? m->uid : seq;
	e->size = m->size;
	e->arrival = m->internal_date;
	if (needs(ss, IMAP_SORT_DATE))
		e->date = imap_sort_sent_date(h, hn, m->internal_date);
	bool refwd;
	int r = 0;
	if (needs(ss, IMAP_SORT_SUBJECT))
		r = imap_sort_subject(h, hn, &ss->job.ta, &ss->job.ra, &e->subject, &e->subject_len,
				      &refwd);
	if (r == 0 && (ss->need & ((1u << IMAP_SORT_CC) | (1u << IMAP_SORT_FROM) |
				   (1u << IMAP_SORT_TO) | (1u << IMAP_SORT_DISPLAYFROM) |
				   (1u << IMAP_SORT_DISPLAYTO))))
		r = addr_keys(ss, e, h, hn);
	return r;
}

static int cmp_num(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_ent(const void *pa, const void *pb, void *ctx)
{
	const struct sort_ent *a = pa, *b = pb;
	const struct imap_sort *sort = ctx;
	for (size_t i = 0; i < sort->ncrit; i++) {
		int c = 0;
		switch (sort->crit[i].key) {
		case IMAP_SORT_ARRIVAL: c = cmp_num(a->arrival, b->arrival); break;
		case IMAP_SORT_DATE: c = cmp_num(a->date, b->date); break;
		case IMAP_SORT_SIZE: c = a->size < b->size ? -1 : a->size > b->size; break;
		case IMAP_SORT_SUBJECT:
			c = imap_sortkey_casecmp(a->subject, a->subject_len, b->subject, b->subject_len);
			break;
		default: {
			int k = sort->crit[i].key == IMAP_SORT_CC ? ADDR_CC
				: sort->crit[i].key == IMAP_SORT_FROM ? ADDR_FROM
				: sort->crit[i].key == IMAP_SORT_TO ? ADDR_TO
				: sort->crit[i].key == IMAP_SORT_DISPLAYFROM ? ADDR_DISPLAYFROM
									    : ADDR_DISPLAYTO;
			c = imap_sortkey_casecmp(a->addr[k], a->addr_len[k], b->addr[k], b->addr_len[k]);
			break;
		}
		}
		if (c)
			return sort->crit[i].reverse ? -c : c;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq; /* RFC 5256 3: mailbox order */
}

static int sort_work(struct imap_job *jb, struct store *st)
{
	struct sort_state *ss = jb->state;
	int r = imap_search_exec(&ss->job, st);
	if (r < 0 || ss->job.res.count == 0)
		return r;
	ss->ents = arena_alloc(&ss->job.ra, ss->job.res.count * sizeof(*ss->ents));
	if (!ss->ents)
		return ERR_NOMEM;
	bool header = ss->need & ~((1u << IMAP_SORT_ARRIVAL) | (1u << IMAP_SORT_SIZE));
	r = imap_search_each(&ss->job, st, header ? STORE_X_HEADER : 0, sort_fill, ss);
	if (r < 0)
		return r;
	qsort_r(ss->ents, ss->n, sizeof(*ss->ents), cmp_ent, &ss->sort);
	return 0;
}

static void sort_done(struct imap_session *s, struct imap_job *jb)
{
	struct sort_state *ss = jb->state;
	if (jb->result < 0) {
		imap_search_fail(s, &ss->job, jb->result, "SORT");
		return;
	}
	struct imap_search_out o = {.s = s};
	imap_search_out_put(&o, "* SORT", 6);
	for (size_t i = 0; i < ss->n; i++)
		imap_search_out_num(&o, ss->ents[i].id);
	if (ss->sort.prog.modseq && ss->n) {
		char b[48];
		int l = snprintf(b, sizeof(b), " (MODSEQ %llu)", (unsigned long long)ss->job.res.modseq);
		imap_search_out_put(&o, b, (size_t)l);
	}
	imap_search_out_put(&o, "\r\n", 2);
	imap_search_out_flush(&o);
	imap_done(s, "OK SORT completed");
}

static void sort_release(struct imap_job *jb)
{
	struct sort_state *ss = jb->state;
	if (ss && ss->begun)
		imap_search_end(&ss->job);
}

int imap_cmd_sort(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_sort sort;
	const char *why = NULL;
	if (imap_parse_sort(cmd, &s->ca, &sort, &why) < 0) {
		imap_job_refuse(s, why, "BAD Invalid SORT arguments");
		return 0;
	}
	if (!imap_search_prepare(s, &sort.prog))
		return 0;
	struct imap_job *jb = imap_job_new(s);
	if (!jb)
		return 0;
	struct sort_state *ss = arena_zalloc(&jb->a, sizeof(*ss));
	if (!ss) {
		imap_job_free(s);
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory, try again later");
		return 0;
	}
	jb->state = ss;
	jb->release = sort_release;
	ss->sort = sort;
	ss->uid = cmd->uid;
	for (size_t i = 0; i < sort.ncrit; i++)
		ss->need |= 1u << sort.crit[i].key;
	ss->begun = true;
	int r = imap_search_begin(&ss->job, s, &sort.prog);
	if (r < 0) {
		imap_search_fail(s, &ss->job, r, "SORT");
		imap_job_free(s);
		return 0;
	}
	return imap_job_run(s, sort_work, sort_done);
}
