/* imap_search_eval.c: the SEARCH key tree compiled for evaluation (RFC 9051 6.4.4,
 * RFC 3501 6.4.4 NEW OLD RECENT, RFC 7162 3.1.5 MODSEQ, RFC 5032 OLDER YOUNGER, RFC 8514
 * SAVED*, RFC 8474 EMAILID THREADID, RFC 5182 "$") and decided per message in three
 * values: yes, no, or "maybe" while a key waits for the full-text index or the header
 * (imap_search.h says in which order those are read). Owns the compiled nodes (in the
 * job's arena) and the full-text UID lists. Limits: the parser's nesting bound
 * (LIMIT_IMAP_SEARCH_DEPTH) bounds the recursion here; LIMIT_SEARCH_NEEDLE per string. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

enum cost { COST_ROW, COST_INDEX, COST_HEADER };

struct sq_node {
	const struct imap_search *k;
	struct sq_node *sub, *next;
	enum cost cost;
	struct imap_seqset set;    /* SEQSET, UID: resolved (ascending ranges) */
	const char *needle;        /* strings, folded (store_search_fold) */
	size_t nlen;
	/* full-text: the field asked and the UIDs found (ascending), once asked */
	bool indexed;
	enum store_search_field field;
	bool asked;
	uint32_t *uids;
	size_t nuids;
	/* header: the field looked at (NULL: any, for TEXT); presence only when nlen is 0 */
	const char *hname;
	size_t hname_len;
};

static const struct {
	const char *name;
	enum store_search_field field;
} indexed_fields[] = {
	{"SUBJECT", STORE_SEARCH_SUBJECT}, {"FROM", STORE_SEARCH_FROM}, {"TO", STORE_SEARCH_TO},
	{"CC", STORE_SEARCH_CC},           {"BCC", STORE_SEARCH_BCC},
};

struct compile {
	struct imap_search_job *j;
	uint32_t *saved; /* "$" sorted, nsaved */
	size_t nsaved;
};

static int fail(struct imap_search_job *j, int r, const char *why)
{
	j->why = why;
	return r;
}

/* A search string: UTF-8, no NUL, bounded; folded into n->needle. */
static int needle(struct compile *c, struct sq_node *n)
{
	const char *s = n->k->str;
	size_t len = n->k->len;
	if (len > LIMIT_SEARCH_NEEDLE)
		return fail(c->j, ERR_TOO_LONG, "NO [LIMIT] Search string too long");
	for (size_t i = 0; i < len;) {
		size_t l = s[i] ? str_utf8_seq(s + i, len - i, NULL) : 0;
		if (!l)
			return fail(c->j, ERR_BAD_SYNTAX, "BAD Search string is not valid UTF-8");
		i += l;
	}
	char *f = arena_alloc(&c->j->ra, len + 1);
	if (!f)
		return ERR_NOMEM;
	n->nlen = store_search_fold(s, len, f);
	f[n->nlen] = '\0';
	n->needle = f;
	return 0;
}

/* Where a string key of an envelope field looks: the index for a non-empty string of
 * the five indexed fields, the header otherwise (presence for ""). */
static void field_key(struct sq_node *n, const char *name, size_t name_len)
{
	n->hname = name;
	n->hname_len = name_len;
	if (n->nlen == 0) {
		n->cost = COST_HEADER;
		return;
	}
	for (size_t i = 0; i < sizeof(indexed_fields) / sizeof(indexed_fields[0]); i++)
		if (str_ieq(name, name_len, indexed_fields[i].name)) {
			n->indexed = true;
			n->field = indexed_fields[i].field;
			n->cost = COST_INDEX;
			return;
		}
	n->cost = COST_HEADER;
}

static int compile_node(struct compile *c, const struct imap_search *k, struct sq_node **out);

/* Children in the order of their cost: the cheap ones decide first. */
static int compile_list(struct compile *c, struct sq_node *n)
{
	struct sq_node *by[3] = {NULL}, **tail[3] = {&by[0], &by[1], &by[2]};
	for (const struct imap_search *k = n->k->sub; k; k = k->next) {
		/* OR's and NOT's operands are their sub list too: sub, sub->next */
		if (n->k->key == IMAP_SK_NOT && k != n->k->sub)
			break;
		struct sq_node *ch;
		int r = compile_node(c, k, &ch);
		if (r < 0)
			return r;
		*tail[ch->cost] = ch;
		tail[ch->cost] = &ch->next;
		if (ch->cost > n->cost)
			n->cost = ch->cost;
	}
	struct sq_node *head = NULL, **link = &head;
	for (int i = 0; i < 3; i++)
		if (by[i]) {
			*link = by[i];
			link = tail[i];
		}
	*link = NULL;
	n->sub = head;
	return 0;
}

static const char *const header_names[] = {
	[IMAP_SK_FROM] = "From", [IMAP_SK_TO] = "To",           [IMAP_SK_CC] = "Cc",
	[IMAP_SK_BCC] = "Bcc",   [IMAP_SK_SUBJECT] = "Subject",
};

static int compile_node(struct compile *c, const struct imap_search *k, struct sq_node **out)
{
	struct imap_search_job *j = c->j;
	struct sq_node *n = arena_zalloc(&j->ra, sizeof(*n));
	if (!n)
		return ERR_NOMEM;
	*out = n;
	n->k = k;
	const struct imap_uidmap *map = &j->sel->map;
	int r = 0;
	switch (k->key) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		return compile_list(c, n);
	case IMAP_SK_SEQSET:
	case IMAP_SK_UID:
		if (k->set.saved)
			return 0;
		r = imap_seqset_resolve(&k->set,
					k->key == IMAP_SK_UID ? imap_uidmap_last(map) : map->total,
					&j->ra, &n->set);
		return r < 0 ? ERR_NOMEM : 0;
	case IMAP_SK_FROM:
	case IMAP_SK_TO:
	case IMAP_SK_CC:
	case IMAP_SK_BCC:
	case IMAP_SK_SUBJECT:
		if ((r = needle(c, n)) < 0)
			return r;
		field_key(n, header_names[k->key], strlen(header_names[k->key]));
		break;
	case IMAP_SK_HEADER:
		if ((r = needle(c, n)) < 0)
			return r;
		field_key(n, k->field, k->field_len);
		break;
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		if ((r = needle(c, n)) < 0)
			return r;
		if (n->nlen) { /* "" is in every message */
			n->indexed = true;
			n->field = k->key == IMAP_SK_BODY ? STORE_SEARCH_BODY : STORE_SEARCH_TEXT;
			/* TEXT: the index has five header fields, the header has the rest */
			n->cost = k->key == IMAP_SK_BODY ? COST_INDEX : COST_HEADER;
		}
		break;
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		n->cost = COST_HEADER;
		break;
	case IMAP_SK_THREADID:
		n->cost = COST_HEADER;
		j->want |= STORE_X_THREAD;
		return 0;
	default:
		return 0;
	}
	if (n->cost == COST_HEADER)
		j->want |= STORE_X_HEADER;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int imap_search_eval_compile(struct imap_search_job *j, const struct imap_search_prog *prog)
{
	struct compile c = {j, NULL, 0};
	const struct imap_selected *sel = j->sel;
	if (prog->saved && sel->nsaved) { /* "$" sorted once for lookups */
		c.saved = arena_alloc(&j->ra, sel->nsaved * sizeof(*c.saved));
		if (!c.saved)
			return ERR_NOMEM;
		memcpy(c.saved, sel->saved, sel->nsaved * sizeof(*c.saved));
		qsort(c.saved, sel->nsaved, sizeof(*c.saved), cmp_u32);
		c.nsaved = sel->nsaved;
	}
	j->saved = c.saved;
	j->nsaved = c.nsaved;
	return compile_node(&c, prog->root, &j->root);
}

/* ---- the full-text index ---- */

static int ask_index(struct imap_search_job *j, struct store *st, struct sq_node *n)
{
	for (; n; n = n->next) {
		if (n->indexed && !n->asked) {
			int r = store_search(st, j->sel->mailbox_id, n->field, n->k->str, &j->ra,
					     &n->uids, &n->nuids);
			if (r < 0)
				return r;
			n->asked = true;
		}
		int r = ask_index(j, st, n->sub);
		if (r < 0)
			return r;
	}
	return 0;
}

int imap_search_eval_index(struct imap_search_job *j, struct store *st)
{
	return ask_index(j, st, j->root);
}

/* ---- one message ---- */

static bool has_uid(const uint32_t *v, size_t n, uint32_t uid)
{
	return n && bsearch(&uid, v, n, sizeof(*v), cmp_u32);
}

static bool in_ranges(const struct imap_seqset *set, uint32_t x)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x < set->r[mid].lo)
			hi = mid;
		else if (x > set->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The keywords kept as flag bits by the store (imap_write.h), then the others. */
static bool has_keyword(const struct store_msg *m, const char *kw, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} bits[] = {{"$Forwarded", STORE_F_FORWARDED}, {"$Junk", STORE_F_JUNK},
		    {"$NotJunk", STORE_F_NOTJUNK}};
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (str_ieq(kw, len, bits[i].name))
			return m->flags & bits[i].bit;
	for (const char *p = m->keywords ? m->keywords : ""; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == len && str_ieq(p, l, kw))
			return true;
		p += l + (e != NULL);
	}
	return false;
}

static enum imap_search_tri tri(bool b)
{
	return b ? IMAP_SEARCH_YES : IMAP_SEARCH_NO;
}

static enum imap_search_tri date_key(enum imap_search_key key, int32_t days, int32_t want)
{
	switch (key) {
	case IMAP_SK_BEFORE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SAVEDATEBEFORE:
		return tri(days < want);
	case IMAP_SK_ON:
	case IMAP_SK_SENTON:
	case IMAP_SK_SAVEDATEON:
		return tri(days == want);
	default: /* SINCE */
		return tri(days >= want);
	}
}

static enum imap_search_tri eval(struct imap_search_job *j, const struct sq_node *n,
				 const struct imap_search_msg *msg);

static enum imap_search_tri eval_list(struct imap_search_job *j, const struct sq_node *n,
				      const struct imap_search_msg *msg)
{
	bool maybe = false;
	bool is_or = n->k->key == IMAP_SK_OR;
	for (const struct sq_node *c = n->sub; c; c = c->next) {
		enum imap_search_tri t = eval(j, c, msg);
		if (t == IMAP_SEARCH_MAYBE)
			maybe = true;
		else if ((t == IMAP_SEARCH_YES) == is_or)
			return t; /* OR: a yes decides; AND: a no does */
	}
	return maybe ? IMAP_SEARCH_MAYBE : tri(!is_or);
}

/* Keys that read the header (or the extras): maybe until it is there. */
static enum imap_search_tri eval_header(struct imap_search_job *j, const struct sq_node *n,
					const struct imap_search_msg *msg)
{
	const struct store_msg_extra *x = msg->x;
	if (!x)
		return IMAP_SEARCH_MAYBE;
	struct arena *ta = &j->ta;
	const struct imap_search *k = n->k;
	switch (k->key) {
	case IMAP_SK_THREADID:
		return tri(x->thread_id && strlen(x->thread_id) == k->len &&
			   !memcmp(x->thread_id, k->str, k->len));
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return date_key(k->key, imap_search_hdr_sent_days(x->header, x->header_len),
				k->days);
	default: /* a header field, or TEXT's rest */
		return tri(imap_search_hdr_match(x->header, x->header_len, n->hname, n->hname_len,
						 n->needle, n->nlen, ta));
	}
}

static enum imap_search_tri eval(struct imap_search_job *j, const struct sq_node *n,
				 const struct imap_search_msg *msg)
{
	const struct imap_search *k = n->k;
	const struct store_msg *m = msg->m;
	bool recent = j->rev1 && imap_recent_has(j->sel, m->uid);
	switch (k->key) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
		return eval_list(j, n, msg);
	case IMAP_SK_NOT: {
		enum imap_search_tri t = eval(j, n->sub, msg);
		return t == IMAP_SEARCH_MAYBE ? t : tri(t == IMAP_SEARCH_NO);
	}
	case IMAP_SK_ALL:
	case IMAP_SK_SAVEDATESUPPORTED: /* every mailbox keeps save dates */
		return IMAP_SEARCH_YES;
	case IMAP_SK_SEQSET:
		return tri(k->set.saved ? has_uid(j->saved, j->nsaved, m->uid)
					: in_ranges(&n->set, msg->seq));
	case IMAP_SK_UID:
		return tri(k->set.saved ? has_uid(j->saved, j->nsaved, m->uid)
					: in_ranges(&n->set, m->uid));
	case IMAP_SK_FLAG:
		return tri(k->flag == IMAP_FLAG_RECENT ? recent : (m->flags & k->flag) != 0);
	case IMAP_SK_UNFLAG:
		return tri(k->flag == IMAP_FLAG_RECENT ? !recent : !(m->flags & k->flag));
	case IMAP_SK_NEW:
		return tri(recent && !(m->flags & STORE_F_SEEN));
	case IMAP_SK_KEYWORD:
		return tri(has_keyword(m, k->str, k->len));
	case IMAP_SK_UNKEYWORD:
		return tri(!has_keyword(m, k->str, k->len));
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
		return date_key(k->key, imap_search_days(m->internal_date), k->days);
	case IMAP_SK_SAVEDATEBEFORE:
	case IMAP_SK_SAVEDATEON:
	case IMAP_SK_SAVEDATESINCE: /* an unknown save date (0) counts as the arrival */
		return date_key(k->key,
				imap_search_days(m->saved_date ? m->saved_date : m->internal_date),
				k->days);
	case IMAP_SK_OLDER: /* RFC 5032: older than num seconds, or within them */
		return tri(m->internal_date < j->now - (int64_t)k->num);
	case IMAP_SK_YOUNGER:
		return tri(m->internal_date >= j->now - (int64_t)k->num);
	case IMAP_SK_LARGER:
		return tri(m->size > k->num);
	case IMAP_SK_SMALLER:
		return tri(m->size < k->num);
	case IMAP_SK_MODSEQ: /* one modseq per message stands for every entry (7162 3.1.5) */
		return tri(m->modseq >= k->num);
	case IMAP_SK_EMAILID:
		return tri(m->guid && strlen(m->guid) == k->len && !memcmp(m->guid, k->str, k->len));
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		if (n->nlen == 0)
			return IMAP_SEARCH_YES;
		if (!n->asked)
			return IMAP_SEARCH_MAYBE;
		if (has_uid(n->uids, n->nuids, m->uid))
			return IMAP_SEARCH_YES;
		return k->key == IMAP_SK_BODY ? IMAP_SEARCH_NO : eval_header(j, n, msg);
	default: /* FROM TO CC BCC SUBJECT HEADER, SENT*, THREADID */
		if (n->indexed)
			return !n->asked ? IMAP_SEARCH_MAYBE : tri(has_uid(n->uids, n->nuids, m->uid));
		return eval_header(j, n, msg);
	}
}

enum imap_search_tri imap_search_eval_msg(struct imap_search_job *j,
					  const struct imap_search_msg *msg)
{
	return eval(j, j->root, msg);
}
