/* jmap_email_query_sort.c: the Email sorts of RFC 8621 4.4.2 over a filtered query's
 * matches. Keys, where the RFC leaves a choice, are those of IMAP SORT (RFC 5256,
 * RFC 5957), so both protocols order a mailbox alike:
 *   receivedAt, size   the Email's
 *   from, to           the first address's decoded display name, or "local@domain"
 *                      without one (IMAP DISPLAYFROM / DISPLAYTO); "" when none
 *   subject            the base subject of the decoded Subject (RFC 5256 2.1)
 *   sentAt             the Date: field in UTC; receivedAt when it is missing or does not
 *                      parse (RFC 5256 2.2, as IMAP SORT DATE)
 *   hasKeyword, allInThreadHaveKeyword, someInThreadHaveKeyword  false before true
 * Strings compare by the Comparator's collation: i;ascii-casemap, i;unicode-casemap
 * (the default: text folded by store_search_fold, the simple case folding the
 * full-text index uses, an approximation of RFC 5051's titlecase decomposition that
 * leaves accents as they are), i;octet, i;ascii-numeric (leading digits as a number,
 * strings without one after all numbers, RFC 4790 9.1). Ties keep the order of the
 * Comparators after them, and at last EMAILID ascending. Memory: one key per match and
 * Comparator in x->a. */
#include "http/jmap_email_query_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

#define SORT_COMPARATORS_MAX 16

static const struct {
	const char *name;
	enum jmap_sort_prop prop;
	bool keyword;
} sort_props[] = {
	{"receivedAt", JMAP_SORT_RECEIVED_AT, false},
	{"size", JMAP_SORT_SIZE, false},
	{"from", JMAP_SORT_FROM, false},
	{"to", JMAP_SORT_TO, false},
	{"subject", JMAP_SORT_SUBJECT, false},
	{"sentAt", JMAP_SORT_SENT_AT, false},
	{"hasKeyword", JMAP_SORT_HAS_KEYWORD, true},
	{"allInThreadHaveKeyword", JMAP_SORT_ALL_IN_THREAD_HAVE_KEYWORD, true},
	{"someInThreadHaveKeyword", JMAP_SORT_SOME_IN_THREAD_HAVE_KEYWORD, true},
};

const char *const jmap_email_sort_options[] = {
	"receivedAt", "size",       "from",
	"to",         "subject",    "sentAt",
	"hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword",
	NULL,
};

static const struct {
	const char *name;
	enum jmap_collation c;
} collations[] = {
	{"i;ascii-casemap", JMAP_COLLATION_ASCII_CASEMAP},
	{"i;unicode-casemap", JMAP_COLLATION_UNICODE_CASEMAP},
	{"i;octet", JMAP_COLLATION_OCTET},
	{"i;ascii-numeric", JMAP_COLLATION_ASCII_NUMERIC},
};

const char *const jmap_collations[] = {"i;ascii-numeric", "i;ascii-casemap",
				       "i;unicode-casemap", "i;octet", NULL};

static int comparator_parse(struct jmap_ctx *x, json_t *c, struct jmap_comparator *out)
{
	const char *prop = json_string_value(json_object_get(c, "property"));
	json_t *asc = json_object_get(c, "isAscending");
	json_t *coll = json_object_get(c, "collation");
	json_t *kw = json_object_get(c, "keyword");
	if (!json_is_object(c) || !prop)
		return jmap_method_error(x, "invalidArguments", "sort: a Comparator needs a property");
	if (asc && !json_is_boolean(asc))
		return jmap_method_error(x, "invalidArguments", "sort: isAscending: not a Boolean");
	if (coll && !json_is_null(coll) && !json_is_string(coll))
		return jmap_method_error(x, "invalidArguments", "sort: collation: not a String");
	size_t i = 0;
	while (i < sizeof(sort_props) / sizeof(sort_props[0]) && strcmp(sort_props[i].name, prop))
		i++;
	if (i == sizeof(sort_props) / sizeof(sort_props[0]))
		return jmap_method_error(x, "unsupportedSort",
					 arena_printf(x->a, "sort by %.100s is not supported", prop));
	out->prop = sort_props[i].prop;
	out->ascending = !asc || json_is_true(asc); /* RFC 8620 5.5: default true */
	out->keyword = NULL;
	out->collation = JMAP_COLLATION_UNICODE_CASEMAP;
	if (json_is_string(coll)) {
		size_t k = 0;
		while (k < sizeof(collations) / sizeof(collations[0]) &&
		       strcmp(collations[k].name, json_string_value(coll)))
			k++;
		if (k == sizeof(collations) / sizeof(collations[0]))
			return jmap_method_error(x, "unsupportedSort",
						 arena_printf(x->a, "collation %.100s is not supported",
							      json_string_value(coll)));
		out->collation = collations[k].c;
	}
	if (sort_props[i].keyword) {
		const char *k = json_string_value(kw);
		if (!k || !jmap_email_keyword_ok(k))
			return jmap_method_error(x, "invalidArguments",
						 arena_printf(x->a, "sort by %s: keyword: not a keyword",
							      prop));
		char *l = arena_strdup(x->a, k);
		if (!l)
			return jmap_method_error(x, "serverFail", NULL);
		for (char *p = l; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		out->keyword = l;
	}
	return 0;
}

int jmap_eq_sort_parse(struct jmap_ctx *x, json_t *sort, struct jmap_comparator **out,
		       size_t *n_out)
{
	size_t n = sort ? json_array_size(sort) : 0;
	if (sort && !json_is_array(sort))
		return jmap_method_error(x, "invalidArguments", "sort: not an array");
	if (n > SORT_COMPARATORS_MAX)
		return jmap_method_error(x, "unsupportedSort", "sort: too many Comparators");
	struct jmap_comparator *v = arena_alloc(x->a, (n ? n : 1) * sizeof(*v));
	if (!v)
		return jmap_method_error(x, "serverFail", NULL);
	if (n == 0) { /* a mail list's order: newest first */
		v[0] = (struct jmap_comparator){JMAP_SORT_RECEIVED_AT, false, NULL,
						JMAP_COLLATION_UNICODE_CASEMAP};
		n = 1;
	}
	for (size_t i = 0; sort && i < json_array_size(sort); i++)
		if (comparator_parse(x, json_array_get(sort, i), &v[i]) < 0)
			return ERR_INVAL;
	*out = v;
	*n_out = n;
	return 0;
}

/* ---- keys ---- */

static int put(struct arena *a, const char *s, size_t n, const char **out, size_t *n_out)
{
	char *c = arena_strndup(a, s ? s : "", s ? n : 0);
	if (!c)
		return ERR_NOMEM;
	*out = c;
	*n_out = s ? n : 0;
	return 0;
}

/* The display form of a list's first address (RFC 5957 4), into x->a. */
static int addr_key(struct jmap_eq *q, const struct mime_addr *m, const char **out,
		    size_t *n_out)
{
	while (m && m->kind == MIME_ADDR_GROUP_END)
		m = m->next;
	if (!m)
		return put(q->x->a, "", 0, out, n_out);
	if (m->kind == MIME_ADDR_GROUP_START)
		return put(q->x->a, m->mailbox.s, m->mailbox.len, out, n_out);
	struct mime_str name = {NULL, 0};
	if (m->name.s &&
	    mime_decode_words((const uint8_t *)m->name.s, m->name.len, &q->dec, &name) < 0)
		return ERR_NOMEM;
	if (name.s && name.len)
		return put(q->x->a, name.s, name.len, out, n_out);
	bool host = m->host.s && m->host.len;
	char *spec = arena_printf(q->x->a, "%s%s%s", m->mailbox.s ? m->mailbox.s : "",
				  host ? "@" : "", host ? m->host.s : "");
	if (!spec)
		return ERR_NOMEM;
	*out = spec;
	*n_out = strlen(spec);
	return 0;
}

/* The addresses of the first field called name, read as IMAP ENVELOPE reads them
 * (unfolded, mime_addr_parse), into d; NULL when there is none. */
static int addr_list(struct arena *d, const void *h, size_t hn, const char *name,
		     struct mime_addr **out)
{
	struct mime_field f;
	struct mime_str u = {NULL, 0};
	*out = NULL;
	if (!h || !mime_header_find(h, hn, name, &f))
		return 0;
	if (mime_unfold(f.value, f.value_len, d, &u) < 0)
		return ERR_NOMEM;
	return u.s ? mime_addr_parse(d, (const uint8_t *)u.s, u.len, out) : 0;
}

/* The keys of Email i from its header block h (NULL: none); decoding in q->dec. */
static int keys_of_header(struct jmap_eq *q, size_t i, const void *h, size_t hn)
{
	struct jmap_eq_email *m = &q->em[i];
	struct arena *d = &q->dec;
	arena_reset(d);
	m->sent_at = m->e->received_at;
	struct mime_field f;
	int64_t t;
	if (h && mime_header_find(h, hn, "Date", &f) &&
	    date_rfc5322_parse((const char *)f.value, f.value_len, &t, NULL, NULL) == 0)
		m->sent_at = t;
	m->subject = "";
	m->subject_len = 0;
	if (h && mime_header_find(h, hn, "Subject", &f)) {
		struct mime_str v = {NULL, 0};
		if (mime_decode_words(f.value, f.value_len, d, &v) < 0 || !v.s)
			return ERR_NOMEM;
		char *b = arena_alloc(q->x->a, v.len + 1);
		if (!b)
			return ERR_NOMEM;
		m->subject_len = mime_base_subject(v.s, v.len, b, NULL);
		b[m->subject_len] = '\0';
		m->subject = b;
	}
	struct mime_addr *from, *to;
	int r;
	if ((r = addr_list(d, h, hn, "From", &from)) < 0 ||
	    (r = addr_list(d, h, hn, "To", &to)) < 0 ||
	    (r = addr_key(q, from, &m->from, &m->from_len)) < 0 ||
	    (r = addr_key(q, to, &m->to, &m->to_len)) < 0)
		return r;
	m->keyed = true;
	return 0;
}

static int make_keys(struct jmap_eq *q, size_t i)
{
	const void *h;
	size_t hn;
	int r = jmap_eq_header(q, i, &h, &hn);
	return r < 0 ? r : keys_of_header(q, i, h, hn);
}

/* Where an Email's first copy is, for reading headers a UID range at a time. */
struct key_loc {
	int64_t mailbox;
	uint32_t uid;
	size_t email;
};

static int cmp_key_loc(const void *pa, const void *pb)
{
	const struct key_loc *a = pa, *b = pb;
	if (a->mailbox != b->mailbox)
		return a->mailbox < b->mailbox ? -1 : 1;
	return (a->uid > b->uid) - (a->uid < b->uid);
}

/* The keys of the Emails v[0..n) of one mailbox (ascending UIDs): their headers read
 * by store_msg_extra over their UID range, one call (one read transaction) per arena
 * full instead of one per Email. A header the store did not cache is left for
 * make_keys, which reads the file. */
static int keys_of_range(struct jmap_eq *q, const struct key_loc *v, size_t n)
{
	uint32_t first = v[0].uid, last = v[n - 1].uid;
	size_t k = 0;
	while (k < n && first) {
		struct store_msg_extra *xv = NULL;
		size_t nx = 0;
		uint32_t next = 0;
		arena_reset(&q->scratch);
		q->header_of = SIZE_MAX;
		int r = store_msg_extra(q->x->st, v[0].mailbox, first, last, STORE_X_HEADER,
					&q->scratch, &xv, &nx, &next);
		if (r == ERR_NOTFOUND)
			return 0; /* the mailbox went meanwhile: make_keys answers per Email */
		if (r < 0)
			return r;
		for (size_t j = 0; j < nx && k < n; j++) {
			while (k < n && v[k].uid < xv[j].uid)
				k++; /* expunged meanwhile: make_keys answers */
			if (k < n && v[k].uid == xv[j].uid && xv[j].header &&
			    (r = keys_of_header(q, v[k].email, xv[j].header, xv[j].header_len)) < 0)
				return r;
		}
		first = next;
	}
	return 0;
}

/* Keys for idx[0..n) before they are compared: a mailbox's Emails together when they
 * are at least a quarter of its UID span (else the range would read mostly others). */
static int prefetch_keys(struct jmap_eq *q, const size_t *idx, size_t n)
{
	struct key_loc *v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	size_t m = 0;
	for (size_t p = 0; p < n; p++)
		if (!q->em[idx[p]].keyed)
			v[m++] = (struct key_loc){q->all[idx[p]].mailbox_ids[0], q->all[idx[p]].uids[0],
						  idx[p]};
	qsort(v, m, sizeof(*v), cmp_key_loc);
	int r = 0;
	for (size_t s = 0, e; r == 0 && s < m; s = e) {
		for (e = s; e < m && v[e].mailbox == v[s].mailbox; e++)
			;
		uint64_t span = (uint64_t)v[e - 1].uid - v[s].uid + 1;
		if ((uint64_t)(e - s) * 4 >= span)
			r = keys_of_range(q, v + s, e - s);
	}
	free(v);
	return r;
}

/* ---- comparing ---- */

struct sort_key {
	const char *s;             /* strings: transformed by the collation */
	size_t n;
	int64_t v;                 /* numbers, booleans; ascii-numeric: the number */
	bool numeric;              /* ascii-numeric: the string starts with a digit */
};

struct sort_ctx {
	const struct jmap_comparator *c;
	size_t nc;
	struct sort_key **keys;    /* keys[comparator][position in idx] */
	const size_t *idx;
};

static bool is_string_prop(enum jmap_sort_prop p)
{
	return p == JMAP_SORT_FROM || p == JMAP_SORT_TO || p == JMAP_SORT_SUBJECT;
}

/* The string key under the collation, into a. */
static int collate(struct arena *a, enum jmap_collation c, const char *s, size_t n,
		   struct sort_key *k)
{
	if (c == JMAP_COLLATION_ASCII_NUMERIC) {
		k->numeric = n && s[0] >= '0' && s[0] <= '9';
		k->v = 0;
		for (size_t i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			k->v = k->v > (INT64_MAX - 9) / 10 ? INT64_MAX : k->v * 10 + (s[i] - '0');
		return 0;
	}
	if (c == JMAP_COLLATION_OCTET) {
		k->s = s, k->n = n;
		return 0;
	}
	char *o = arena_alloc(a, n + 1);
	if (!o)
		return ERR_NOMEM;
	if (c == JMAP_COLLATION_UNICODE_CASEMAP) {
		k->n = store_search_fold(s, n, o);
	} else {
		for (size_t i = 0; i < n; i++)
			o[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
		k->n = n;
	}
	k->s = o;
	return 0;
}

static int key_cmp(const struct jmap_comparator *c, const struct sort_key *a,
		   const struct sort_key *b)
{
	if (is_string_prop(c->prop) && c->collation == JMAP_COLLATION_ASCII_NUMERIC) {
		if (a->numeric != b->numeric)
			return a->numeric ? -1 : 1;
		return (a->v > b->v) - (a->v < b->v);
	}
	if (is_string_prop(c->prop)) {
		size_t n = a->n < b->n ? a->n : b->n;
		int r = memcmp(a->s, b->s, n);
		return r ? r : (a->n > b->n) - (a->n < b->n);
	}
	return (a->v > b->v) - (a->v < b->v);
}

static int pos_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *s = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	for (size_t c = 0; c < s->nc; c++) {
		int r = key_cmp(&s->c[c], &s->keys[c][a], &s->keys[c][b]);
		if (r)
			return s->c[c].ascending ? r : -r;
	}
	/* idx ascends by EMAILID (the scan's order) */
	return (s->idx[a] > s->idx[b]) - (s->idx[a] < s->idx[b]);
}

static int fill_keys(struct jmap_eq *q, const struct jmap_comparator *c, const size_t *idx,
		     size_t n, struct sort_key *k)
{
	uint32_t *have = NULL, *size = NULL;
	int r = 0;
	if (c->keyword && c->prop != JMAP_SORT_HAS_KEYWORD &&
	    (r = jmap_eq_thread_counts(q, c->keyword, &have, &size)) < 0)
		return r;
	for (size_t p = 0; r == 0 && p < n; p++) {
		struct jmap_eq_email *m = &q->em[idx[p]];
		memset(&k[p], 0, sizeof(k[p]));
		if ((is_string_prop(c->prop) || c->prop == JMAP_SORT_SENT_AT) && !m->keyed &&
		    (r = make_keys(q, idx[p])) < 0)
			return r;
		switch (c->prop) {
		case JMAP_SORT_RECEIVED_AT: k[p].v = m->e->received_at; break;
		case JMAP_SORT_SIZE: k[p].v = (int64_t)m->e->size; break;
		case JMAP_SORT_SENT_AT: k[p].v = m->sent_at; break;
		case JMAP_SORT_FROM: r = collate(q->x->a, c->collation, m->from, m->from_len, &k[p]); break;
		case JMAP_SORT_TO: r = collate(q->x->a, c->collation, m->to, m->to_len, &k[p]); break;
		case JMAP_SORT_SUBJECT:
			r = collate(q->x->a, c->collation, m->subject, m->subject_len, &k[p]);
			break;
		case JMAP_SORT_HAS_KEYWORD:
			k[p].v = jmap_email_has_keyword(m->e->flags, m->e->keywords, c->keyword);
			break;
		case JMAP_SORT_ALL_IN_THREAD_HAVE_KEYWORD:
			k[p].v = have[m->thread] == size[m->thread];
			break;
		case JMAP_SORT_SOME_IN_THREAD_HAVE_KEYWORD:
			k[p].v = have[m->thread] > 0;
			break;
		}
	}
	return r;
}

int jmap_eq_sort(struct jmap_eq *q, const struct jmap_comparator *c, size_t nc, size_t *idx,
		 size_t n)
{
	if (n < 2)
		return 0;
	struct sort_ctx s = {c, nc, arena_alloc(q->x->a, nc * sizeof(*s.keys)), idx};
	size_t *pos = malloc(n * sizeof(*pos));
	int r = s.keys && pos ? 0 : ERR_NOMEM;
	bool header_keys = false;
	for (size_t k = 0; k < nc; k++)
		header_keys |= is_string_prop(c[k].prop) || c[k].prop == JMAP_SORT_SENT_AT;
	if (r == 0 && header_keys)
		r = prefetch_keys(q, idx, n);
	for (size_t k = 0; r == 0 && k < nc; k++) {
		if (!(s.keys[k] = arena_alloc(q->x->a, n * sizeof(**s.keys))))
			r = ERR_NOMEM;
		else
			r = fill_keys(q, &c[k], idx, n, s.keys[k]);
	}
	if (r == 0) {
		for (size_t p = 0; p < n; p++)
			pos[p] = p;
		qsort_r(pos, n, sizeof(*pos), pos_cmp, &s);
		size_t *sorted = arena_alloc(q->x->a, n * sizeof(*sorted));
		if (!sorted)
			r = ERR_NOMEM;
		for (size_t p = 0; r == 0 && p < n; p++)
			sorted[p] = idx[pos[p]];
		if (r == 0)
			memcpy(idx, sorted, n * sizeof(*idx));
	}
	free(pos);
	return r;
}
