/* jmap_email_query_eval.c: deciding an Email filter (jmap_email_filter.h) over the
 * account's Emails (jmap_email_query_int.h says what is read when).
 *
 * Semantics (RFC 8621 4.4.1), where the RFC leaves a choice:
 *   inMailbox            a copy is in the mailbox; an id that names no mailbox of this
 *                        account (unknown, deleted, another account's) matches nothing
 *   inMailboxOtherThan   a copy is in a mailbox not listed (unknown ids list nothing)
 *   before / after       receivedAt < / >= the date
 *   minSize / maxSize    size >= / < the number
 *   *InThreadHaveKeyword over every Email of the thread in the account, whatever the
 *                        rest of the filter
 *   hasKeyword / notKeyword  the Email's keywords (its first copy's, as Email/get shows)
 *   hasAttachment        what Email/get's hasAttachment says (has_attachment)
 *   text, from, to, cc, bcc, subject, body  what IMAP SEARCH TEXT, FROM, TO, CC, BCC,
 *                        SUBJECT, BODY answer for any copy (store_search: decoded,
 *                        case-insensitive substring; TEXT covers the five header
 *                        fields and the body text)
 *   header [name]        the Email has a field of that name (ASCII case-insensitive);
 *   header [name, text]  one such field's decoded value contains the text, compared as
 *                        IMAP SEARCH HEADER does (decoded, store_search_fold, substring)
 * The text conditions keep one bit per Email in x->a. */
#include "http/jmap_email_query_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "http/jmap_email_get_int.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

/* Where a message (mailbox, uid) is among the Emails, for the full-text answers. */
struct eq_loc {
	int64_t mailbox;
	uint32_t uid;
	uint32_t email;
};

struct eq_other_than {
	int64_t *ids;
	size_t n;
};

struct eq_thread_kw {
	uint32_t *have, *size;
};

static int cmp_thread(const void *pa, const void *pb, void *arg)
{
	const struct store_email *v = arg;
	const struct store_email *a = &v[*(const size_t *)pa], *b = &v[*(const size_t *)pb];
	const char *ta = a->thread_id ? a->thread_id : "", *tb = b->thread_id ? b->thread_id : "";
	int c = strcmp(ta, tb);
	return c ? c : (a > b) - (a < b);
}

/* em[i].thread: Emails of one thread id get one number; an Email whose thread is not
 * known yet is a thread of its own. */
static int number_threads(struct jmap_eq *q)
{
	size_t *idx = malloc((q->n ? q->n : 1) * sizeof(*idx));
	if (!idx)
		return ERR_NOMEM;
	for (size_t i = 0; i < q->n; i++)
		idx[i] = i;
	qsort_r(idx, q->n, sizeof(*idx), cmp_thread, q->all);
	size_t t = 0;
	for (size_t k = 0; k < q->n; k++) {
		const struct store_email *e = &q->all[idx[k]];
		const struct store_email *p = k ? &q->all[idx[k - 1]] : NULL;
		if (k && !(e->thread_id && p->thread_id && !strcmp(e->thread_id, p->thread_id)))
			t++;
		q->em[idx[k]].thread = t;
	}
	q->n_threads = q->n ? t + 1 : 0;
	free(idx);
	return 0;
}

int jmap_eq_load(struct jmap_ctx *x, struct jmap_eq *q)
{
	memset(q, 0, sizeof(*q));
	q->x = x;
	q->header_of = SIZE_MAX;
	arena_init(&q->scratch, LIMIT_IMAP_SEARCH_SCRATCH);
	arena_init(&q->dec, LIMIT_IMAP_SEARCH_SCRATCH);
	int r = store_email_scan(x->st, x->a, &q->all, &q->n);
	if (r == 0)
		r = store_mailbox_list(x->st, x->a, &q->mbs, &q->n_mbs);
	if (r == 0 && q->n && !(q->em = arena_alloc(x->a, q->n * sizeof(*q->em))))
		r = ERR_NOMEM;
	for (size_t i = 0; r == 0 && i < q->n; i++) {
		memset(&q->em[i], 0, sizeof(q->em[i]));
		q->em[i].e = &q->all[i];
		q->em[i].attach = -1;
	}
	if (r == 0)
		r = number_threads(q);
	return r;
}

void jmap_eq_free(struct jmap_eq *q)
{
	arena_free(&q->scratch);
	arena_free(&q->dec);
}

/* A Mailbox id (or "#creation id") -> the store's id; 0 (no mailbox) when it is not
 * one of this account's. */
static int64_t mailbox_of(struct jmap_eq *q, const char *jid)
{
	const char *id = jmap_resolve_id(q->x, jid);
	for (size_t i = 0; id && i < q->n_mbs; i++)
		if (q->mbs[i].mailboxid && !strcmp(q->mbs[i].mailboxid, id))
			return q->mbs[i].id;
	return 0;
}

static int cmp_loc(const void *pa, const void *pb)
{
	const struct eq_loc *a = pa, *b = pb;
	if (a->mailbox != b->mailbox)
		return a->mailbox < b->mailbox ? -1 : 1;
	return (a->uid > b->uid) - (a->uid < b->uid);
}

/* Every copy's (mailbox, uid) -> Email, sorted (made once per query). */
static int locations(struct jmap_eq *q, struct eq_loc **out, size_t *n_out)
{
	size_t n = 0;
	for (size_t i = 0; i < q->n; i++)
		n += q->all[i].n;
	struct eq_loc *v = n ? arena_alloc(q->x->a, n * sizeof(*v)) : NULL;
	if (n && !v)
		return ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < q->n; i++)
		for (size_t c = 0; c < q->all[i].n; c++)
			v[k++] = (struct eq_loc){q->all[i].mailbox_ids[c], q->all[i].uids[c],
						 (uint32_t)i};
	if (n) /* v is NULL when there is nothing (qsort's contract) */
		qsort(v, n, sizeof(*v), cmp_loc);
	*out = v;
	*n_out = n;
	return 0;
}

static enum store_search_field text_field(enum jmap_filter_kind k)
{
	switch (k) {
	case JMAP_FILTER_FROM: return STORE_SEARCH_FROM;
	case JMAP_FILTER_TO: return STORE_SEARCH_TO;
	case JMAP_FILTER_CC: return STORE_SEARCH_CC;
	case JMAP_FILTER_BCC: return STORE_SEARCH_BCC;
	case JMAP_FILTER_SUBJECT: return STORE_SEARCH_SUBJECT;
	case JMAP_FILTER_BODY: return STORE_SEARCH_BODY;
	default: return STORE_SEARCH_TEXT;
	}
}

/* The Emails a text condition matches, as bits: the index asked once per mailbox. */
static int text_bits(struct jmap_eq *q, struct jmap_filter *f, struct eq_loc *loc,
		     size_t n_loc)
{
	uint8_t *bits = arena_alloc(q->x->a, q->n / 8 + 1);
	if (!bits)
		return ERR_NOMEM;
	memset(bits, 0, q->n / 8 + 1);
	f->eval = bits;
	for (size_t m = 0; m < q->n_mbs; m++) {
		if (q->mbs[m].messages == 0)
			continue;
		uint32_t *uids = NULL;
		size_t nu = 0;
		int r = store_search(q->x->st, q->mbs[m].id, text_field(f->kind), f->str, q->x->a,
				     &uids, &nu);
		if (r == ERR_NOTFOUND)
			continue; /* deleted meanwhile: nothing of it matches */
		if (r < 0)
			return r;
		for (size_t u = 0; u < nu; u++) {
			struct eq_loc key = {q->mbs[m].id, uids[u], 0};
			const struct eq_loc *l =
				n_loc ? bsearch(&key, loc, n_loc, sizeof(*loc), cmp_loc) : NULL;
			if (l) /* a message delivered after the scan is not among the Emails */
				bits[l->email / 8] |= (uint8_t)(1u << (l->email % 8));
		}
	}
	return 0;
}

int jmap_eq_thread_counts(struct jmap_eq *q, const char *kw, uint32_t **have_out,
			  uint32_t **size_out)
{
	size_t nt = q->n_threads ? q->n_threads : 1;
	uint32_t *have = arena_alloc(q->x->a, nt * sizeof(*have));
	uint32_t *size = arena_alloc(q->x->a, nt * sizeof(*size));
	if (!have || !size)
		return ERR_NOMEM;
	memset(have, 0, nt * sizeof(*have));
	memset(size, 0, nt * sizeof(*size));
	for (size_t i = 0; i < q->n; i++) {
		size[q->em[i].thread]++;
		if (jmap_email_has_keyword(q->all[i].flags, q->all[i].keywords, kw))
			have[q->em[i].thread]++;
	}
	*have_out = have;
	*size_out = size;
	return 0;
}

struct eq_prep {
	struct eq_loc *loc;
	size_t n_loc;
	bool have_loc;
};

static int prepare(struct jmap_eq *q, struct jmap_filter *f, struct eq_prep *p)
{
	int r = 0;
	switch (f->kind) {
	case JMAP_FILTER_AND:
	case JMAP_FILTER_OR:
	case JMAP_FILTER_NOT:
		for (size_t i = 0; r == 0 && i < f->n_kids; i++)
			r = prepare(q, &f->kids[i], p);
		return r;
	case JMAP_FILTER_IN_MAILBOX: {
		int64_t *id = arena_alloc(q->x->a, sizeof(*id));
		if (!id)
			return ERR_NOMEM;
		*id = mailbox_of(q, f->str);
		f->eval = id;
		return 0;
	}
	case JMAP_FILTER_IN_MAILBOX_OTHER_THAN: {
		struct eq_other_than *o = arena_alloc(q->x->a, sizeof(*o));
		if (!o || !(o->ids = arena_alloc(q->x->a, (f->n_strs + 1) * sizeof(*o->ids))))
			return ERR_NOMEM;
		o->n = 0;
		for (size_t i = 0; i < f->n_strs; i++)
			if ((o->ids[o->n] = mailbox_of(q, f->strs[i])) != 0)
				o->n++;
		f->eval = o;
		return 0;
	}
	case JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD: {
		struct eq_thread_kw *t = arena_alloc(q->x->a, sizeof(*t));
		if (!t)
			return ERR_NOMEM;
		f->eval = t;
		return jmap_eq_thread_counts(q, f->str, &t->have, &t->size);
	}
	case JMAP_FILTER_HEADER:
		if (f->str2) { /* the needle folded as the header values will be */
			size_t n = strlen(f->str2);
			char *s = arena_alloc(q->x->a, n + 1);
			if (!s)
				return ERR_NOMEM;
			s[store_search_fold(f->str2, n, s)] = '\0';
			f->eval = s;
		}
		return 0;
	case JMAP_FILTER_TEXT:
	case JMAP_FILTER_FROM:
	case JMAP_FILTER_TO:
	case JMAP_FILTER_CC:
	case JMAP_FILTER_BCC:
	case JMAP_FILTER_SUBJECT:
	case JMAP_FILTER_BODY:
		if (!p->have_loc && (r = locations(q, &p->loc, &p->n_loc)) < 0)
			return r;
		p->have_loc = true;
		return text_bits(q, f, p->loc, p->n_loc);
	default:
		return 0;
	}
}

int jmap_eq_prepare(struct jmap_eq *q, struct jmap_filter *f)
{
	struct eq_prep p = {0};
	return prepare(q, f, &p);
}

int jmap_eq_header(struct jmap_eq *q, size_t i, const void **h_out, size_t *n_out)
{
	if (q->header_of == i) {
		*h_out = q->header;
		*n_out = q->header_len;
		return 0;
	}
	const struct store_email *e = &q->all[i];
	struct store_msg_extra *xv = NULL;
	size_t n = 0;
	uint32_t next = 0;
	arena_reset(&q->scratch);
	q->header_of = SIZE_MAX;
	int r = store_msg_extra(q->x->st, e->mailbox_ids[0], e->uids[0], e->uids[0],
				STORE_X_HEADER, &q->scratch, &xv, &n, &next);
	if (r < 0)
		return r;
	q->header = n ? xv[0].header : NULL;
	q->header_len = n && xv[0].header ? xv[0].header_len : 0;
	if (n && !q->header) { /* too long to be cached: the start of the file */
		int fd;
		uint64_t size;
		if ((r = store_msg_open(q->x->st, e->mailbox_ids[0], e->uids[0], &fd, &size)) < 0)
			return r;
		size_t want = size < LIMIT_CACHED_HEADER ? (size_t)size : LIMIT_CACHED_HEADER;
		char *buf = arena_alloc(&q->scratch, want ? want : 1);
		ssize_t got = buf ? pread(fd, buf, want, 0) : -1;
		close(fd);
		if (got < 0)
			return buf ? ERR_IO : ERR_NOMEM;
		q->header = buf;
		q->header_len = (size_t)got;
	}
	q->header_of = i;
	*h_out = q->header;
	*n_out = q->header_len;
	return 0;
}

/* One field's decoded, folded value holds the needle? */
static bool field_has(struct jmap_eq *q, const struct mime_field *f, const char *needle)
{
	struct mime_str v;
	struct arena *ta = &q->scratch;
	if (mime_decode_words(f->value, f->value_len, ta, &v) < 0 || !v.s) {
		v.s = (char *)f->value; /* no room to decode: the raw value still counts */
		v.len = f->value_len;
	}
	char *hay = arena_alloc(ta, v.len + 1);
	if (!hay)
		return false;
	size_t hl = store_search_fold(v.s, v.len, hay);
	return memmem(hay, hl, needle, strlen(needle)) != NULL;
}

static bool header_match(struct jmap_eq *q, const struct jmap_filter *f, size_t i)
{
	const void *h;
	size_t n;
	int r = jmap_eq_header(q, i, &h, &n);
	if (r < 0) {
		q->err = r;
		return false;
	}
	if (!h)
		return false;
	struct mime_header_iter it;
	struct mime_field fld;
	size_t name_len = strlen(f->str);
	const char *needle = f->eval;
	mime_header_init(&it, 0);
	while (mime_header_next(&it, h, n, true, &fld) == MIME_HDR_FIELD) {
		if (fld.bad || fld.name_len != name_len ||
		    strncasecmp((const char *)fld.name, f->str, name_len) != 0)
			continue;
		if (!needle || !needle[0] || field_has(q, &fld, needle))
			return true;
	}
	return false;
}

/* hasAttachment as Email/get answers it (jmap_body_props: RFC 8621 4.1.4's attachments
 * list, one not marked inline), from the store's cached structure. */
static int has_attachment(struct jmap_eq *q, size_t i)
{
	struct jmap_eq_email *m = &q->em[i];
	if (m->attach >= 0)
		return m->attach;
	arena_reset(&q->scratch);
	q->header_of = SIZE_MAX;
	struct jmap_msg msg;
	struct jmap_body_args b = {0};
	struct jmap_body_want w = {.has_attachment = true};
	json_t *o = json_object();
	if (!o)
		return ERR_NOMEM;
	jmap_msg_init_store(&msg, &q->scratch, q->x->st, m->e->mailbox_ids[0], m->e->uids[0]);
	int r = jmap_body_props(&msg, &b, &w, o);
	jmap_msg_close(&msg);
	if (r == 0)
		m->attach = json_is_true(json_object_get(o, "hasAttachment"));
	json_decref(o);
	return r < 0 ? r : m->attach;
}

bool jmap_eq_match(struct jmap_eq *q, const struct jmap_filter *f, size_t i)
{
	const struct store_email *e = &q->all[i];
	switch (f->kind) {
	case JMAP_FILTER_AND:
		for (size_t k = 0; k < f->n_kids; k++)
			if (!jmap_eq_match(q, &f->kids[k], i))
				return false;
		return true;
	case JMAP_FILTER_OR:
		for (size_t k = 0; k < f->n_kids; k++)
			if (jmap_eq_match(q, &f->kids[k], i))
				return true;
		return false;
	case JMAP_FILTER_NOT:
		for (size_t k = 0; k < f->n_kids; k++)
			if (jmap_eq_match(q, &f->kids[k], i))
				return false;
		return true;
	case JMAP_FILTER_IN_MAILBOX: {
		int64_t id = *(const int64_t *)f->eval;
		for (size_t c = 0; id && c < e->n; c++)
			if (e->mailbox_ids[c] == id)
				return true;
		return false;
	}
	case JMAP_FILTER_IN_MAILBOX_OTHER_THAN: {
		const struct eq_other_than *o = f->eval;
		for (size_t c = 0; c < e->n; c++) {
			size_t k = 0;
			while (k < o->n && o->ids[k] != e->mailbox_ids[c])
				k++;
			if (k == o->n)
				return true;
		}
		return false;
	}
	case JMAP_FILTER_BEFORE:
		return e->received_at < f->num;
	case JMAP_FILTER_AFTER:
		return e->received_at >= f->num;
	case JMAP_FILTER_MIN_SIZE:
		return e->size >= (uint64_t)f->num;
	case JMAP_FILTER_MAX_SIZE:
		return e->size < (uint64_t)f->num;
	case JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD: {
		const struct eq_thread_kw *t = f->eval;
		size_t th = q->em[i].thread;
		return f->kind == JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD ? t->have[th] == t->size[th]
		       : f->kind == JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD ? t->have[th] > 0
									     : t->have[th] == 0;
	}
	case JMAP_FILTER_HAS_KEYWORD:
		return jmap_email_has_keyword(e->flags, e->keywords, f->str);
	case JMAP_FILTER_NOT_KEYWORD:
		return !jmap_email_has_keyword(e->flags, e->keywords, f->str);
	case JMAP_FILTER_HAS_ATTACHMENT: {
		int r = has_attachment(q, i);
		if (r < 0) {
			q->err = r;
			return false;
		}
		return (r == 1) == f->flag;
	}
	case JMAP_FILTER_HEADER:
		return header_match(q, f, i);
	default: { /* the text conditions */
		const uint8_t *bits = f->eval;
		return (bits[i / 8] >> (i % 8)) & 1;
	}
	}
}
