/* imap_list.c: LIST (RFC 9051 6.3.9, RFC 3501 6.3.8 for rev1) with LIST-EXTENDED
 * (RFC 5258: selection SUBSCRIBED, REMOTE, RECURSIVEMATCH, return SUBSCRIBED and
 * CHILDREN, several patterns), SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819);
 * rev1's LSUB (RFC 3501 6.3.9); NAMESPACE (RFC 2342, RFC 9051 6.3.10).
 *
 * The account has one personal namespace: "" with "/" between levels. The store keeps
 * real mailboxes only (CREATE makes the levels above a new name, RENAME too); a name
 * that is no mailbox but has mailboxes below it (its own was deleted, the levels below
 * stay: RFC 9051 6.3.4) is listed like the other levels, as \Noselect, or as
 * \NonExistent (which implies \Noselect) for IMAP4rev2 and extended LISTs (RFC 5258
 * 3), with \HasChildren, the way Dovecot lists a directory that holds no mailbox.
 *
 * Subscriptions are names apart from the mailboxes (store_subscription_list). The
 * SUBSCRIBED selection and LSUB list subscribed names whether a mailbox has them or not:
 * one without a mailbox is \NonExistent in a LIST (RFC 5258 3.1, RFC 9051 6.3.9) and
 * "()" in an LSUB (RFC 3501 6.3.9; \Noselect there marks only a level above a
 * subscribed name that "%" stops at), as in Dovecot. The SUBSCRIBED return option
 * marks the names a LIST selects anyway. \HasChildren means a mailbox below the name,
 * never only subscribed names without one.
 *
 * Where the RFCs leave a choice, the answer is Dovecot 2.3's (compared on the same tree
 * in tests/proto/test_imap_list.py): a plain LIST always says \HasChildren or
 * \HasNoChildren and the special-use attributes, an extended one only when RETURN
 * (CHILDREN) / (SPECIAL-USE) or the SPECIAL-USE selection asks for them; LSUB carries
 * the special-use attributes too; \Subscribed only when SUBSCRIBED is asked for. With
 * RECURSIVEMATCH a name gets CHILDINFO when a mailbox below it meets the selection but
 * not the pattern (RFC 5258 3.5: none for children that are listed themselves). The
 * order is the names' octet order.
 *
 * Memory: the account's mailboxes with their STATUS counts (one store read), its
 * subscribed names when the command asks about subscriptions (a second read), and one
 * entry per name and level without a mailbox, in the command's tree arena
 * (LIMIT_IMAP_LIST_ARENA): an account whose tree does not fit gets NO [LIMIT]
 * (LIMIT_MAILBOXES and LIMIT_SUBSCRIPTIONS keep what IMAP can make within it). One pattern is compiled at a time (imap_list_match.h, at most ~36 KiB),
 * and names are encoded for the wire, in a scratch arena (capped like the command
 * arena) emptied after each pattern and each line. */
#include "imap_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "imap/imap_list_match.h"
#include "store/store.h"
#include "core/banned.h"

/* A mailbox, a subscribed name, or a level that is neither but has one below it. */
struct list_entry {
	const char *name; /* not NUL-terminated (levels point into a longer name) */
	size_t len;
	const struct store_mailbox *mb; /* NULL: no mailbox of that name */
	bool sub;                       /* the name is subscribed */
	bool match;                     /* matches one of the patterns */
};

struct list_ctx {
	struct imap_list p;
	bool lsub;
	bool pct;  /* LSUB: the pattern ends with "%" (RFC 3501 6.3.9) */
	struct list_entry *v;
	size_t n;
	struct arena tree;    /* the store's answers and v */
	struct arena scratch; /* one line's encoded name */
};

/* Are subscribed names listed (also those without a mailbox), or only marked? */
static bool lists_subscribed(const struct list_ctx *c)
{
	return c->lsub || (c->p.sel & IMAP_LIST_SEL_SUBSCRIBED);
}

static bool marks_subscribed(const struct list_ctx *c)
{
	return lists_subscribed(c) || (c->p.ret & IMAP_LIST_RET_SUBSCRIBED);
}

/* ---- the tree ---- */

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static int cmp_entry(const void *x, const void *y)
{
	const struct list_entry *a = x, *b = y;
	return cmp_name(a->name, a->len, b->name, b->len);
}

/* The first entry of v[lo, n) not below (name, len) + (slash ? "/" : ""). */
static size_t lower_bound(const struct list_entry *v, size_t lo, size_t n, const char *name,
			  size_t len, bool slash)
{
	size_t hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct list_entry *e = &v[mid];
		int c = memcmp(e->name, name, e->len < len ? e->len : len);
		if (!c && slash)
			c = e->len <= len ? -1 : (unsigned char)e->name[len] - '/';
		else if (!c)
			c = (e->len > len) - (e->len < len);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool present(const struct list_entry *v, size_t n, const char *name, size_t len)
{
	size_t i = lower_bound(v, 0, n, name, len, false);
	return i < n && v[i].len == len && !memcmp(v[i].name, name, len);
}

/* The entries below v[i]: v[*lo, *hi). */
static void below(const struct list_ctx *c, size_t i, size_t *lo, size_t *hi)
{
	const struct list_entry *e = &c->v[i];
	size_t j = lower_bound(c->v, i + 1, c->n, e->name, e->len, true);
	*lo = j;
	while (j < c->n && c->v[j].len > e->len && !memcmp(c->v[j].name, e->name, e->len) &&
	       c->v[j].name[e->len] == '/')
		j++;
	*hi = j;
}

/* The levels above name that are not in base[0, n), up to the first that is: writes
 * them to v (when non-NULL) and returns how many. */
static size_t missing_levels(const struct list_entry *base, size_t n, const char *name,
			     size_t len, struct list_entry *v)
{
	size_t k = 0;
	for (size_t l = len; l > 0;) {
		while (l > 0 && name[l - 1] != '/')
			l--;
		if (l == 0)
			break;
		l--; /* name[0, l) is the level above */
		if (present(base, n, name, l))
			break;
		if (v)
			v[k] = (struct list_entry){name, l, NULL, false, false};
		k++;
	}
	return k;
}

/* The entries: every mailbox, the subscribed names without one when they are listed,
 * and every level above those that is neither; sorted, each once, subscribed ones
 * marked when the command asks about subscriptions. */
static int load_tree(struct store *st, struct list_ctx *c)
{
	struct store_mailbox *mbs = NULL;
	const char **subs = NULL;
	size_t n = 0, ns = 0;
	int r = store_mailbox_list(st, &c->tree, &mbs, &n);
	if (r == 0 && marks_subscribed(c))
		r = store_subscription_list(st, &c->tree, &subs, &ns);
	if (r < 0)
		return r;
	struct list_entry *e = arena_alloc(&c->tree, (n + ns ? n + ns : 1) * sizeof(*e));
	if (!e)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		e[i] = (struct list_entry){mbs[i].name, strlen(mbs[i].name), &mbs[i], false, false};
	qsort(e, n, sizeof(*e), cmp_entry);
	size_t base = n;
	for (size_t i = 0; i < ns && lists_subscribed(c); i++)
		if (!present(e, n, subs[i], strlen(subs[i])))
			e[base++] = (struct list_entry){subs[i], strlen(subs[i]), NULL, true, false};
	qsort(e, base, sizeof(*e), cmp_entry);
	size_t extra = 0;
	for (size_t i = 0; i < base; i++)
		extra += missing_levels(e, base, e[i].name, e[i].len, NULL);
	struct list_entry *v = e;
	size_t out = base;
	if (extra) {
		if (!(v = arena_alloc(&c->tree, (base + extra) * sizeof(*v))))
			return ERR_NOMEM;
		memcpy(v, e, base * sizeof(*v));
		size_t k = base;
		for (size_t i = 0; i < base; i++)
			k += missing_levels(e, base, e[i].name, e[i].len, v + k);
		qsort(v, k, sizeof(*v), cmp_entry);
		out = 0; /* siblings name the same missing level: keep one */
		for (size_t i = 0; i < k; i++)
			if (!out || cmp_entry(&v[out - 1], &v[i]))
				v[out++] = v[i];
	}
	/* a subscribed name may be a mailbox or a level of the tree */
	for (size_t i = 0; i < ns; i++) {
		size_t len = strlen(subs[i]), at = lower_bound(v, 0, out, subs[i], len, false);
		if (at < out && v[at].len == len && !memcmp(v[at].name, subs[i], len))
			v[at].sub = true;
	}
	c->v = v, c->n = out;
	return 0;
}

/* ---- patterns ---- */

/* A mailbox argument as UTF-8: modified UTF-7 decoded for rev1 (RFC 3501 5.1.3). */
static const char *decode(struct imap_session *s, const char *raw, size_t len, size_t *out_len)
{
	char *u = NULL;
	if (s->utf8) {
		for (size_t i = 0, k; i < len; i += k)
			if (!(k = str_utf8_seq(raw + i, len - i, NULL)) || !raw[i])
				return NULL;
		u = arena_strndup(&s->ca, raw, len);
	} else if (imap_mutf7_decode(raw, len, &s->ca, &u) < 0) {
		return NULL;
	}
	if (u)
		*out_len = strlen(u);
	return u;
}

/* Mark the entries that match one pattern (reference and pattern joined as RFC 3501
 * 6.3.8 says: a pattern starting with the delimiter ignores the reference). */
static int match_pattern(struct imap_session *s, struct list_ctx *c, const char *ref,
			 size_t rlen, const char *pat, size_t plen)
{
	char *full = arena_alloc(&c->scratch, rlen + plen + 1);
	if (!full)
		return ERR_NOMEM;
	size_t n = 0;
	if (plen == 0 || pat[0] != '/') {
		memcpy(full, ref, rlen);
		n = rlen;
	}
	memcpy(full + n, pat, plen);
	n += plen;
	struct imap_list_match *m;
	int r = imap_list_match_compile(full, n, &c->scratch, &m);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		if (!c->v[i].match)
			c->v[i].match = imap_list_match(m, c->v[i].name, c->v[i].len);
	arena_reset(&c->scratch);
	return r;
}

/* ---- output ---- */

/* Does the entry meet the selection options (RFC 5258 3.1, RFC 6154 4)? SUBSCRIBED
 * (and LSUB) select subscribed names, mailbox or not; the others mailboxes. */
static bool selected(const struct list_ctx *c, const struct list_entry *e)
{
	if (lists_subscribed(c) ? !e->sub : !e->mb)
		return false;
	return !(c->p.sel & IMAP_LIST_SEL_SPECIAL_USE) || (e->mb && e->mb->special_use);
}

static bool filtering(const struct list_ctx *c)
{
	return lists_subscribed(c) || (c->p.sel & IMAP_LIST_SEL_SPECIAL_USE);
}

static void put_attr(struct imap_session *s, bool *first, const char *attr)
{
	imap_puts(&s->out, *first ? "" : " ");
	imap_puts(&s->out, attr);
	*first = false;
}

static void put_name(struct imap_session *s, struct list_ctx *c, const char *name, size_t len)
{
	char *wire = NULL;
	if (!s->utf8 && imap_mutf7_encode(name, len, &c->scratch, &wire) == 0) {
		name = wire;
		len = strlen(wire);
	}
	imap_put_astring(&s->out, name, len, s->utf8);
}

/* One LIST or LSUB response; childinfo: a mailbox below meets the selection, not the
 * pattern (RECURSIVEMATCH, LSUB's "%" rule). */
static void put_entry(struct imap_session *s, struct list_ctx *c, const struct list_entry *e,
		      bool children, bool childinfo)
{
	const struct imap_list *p = &c->p;
	bool first = true;
	imap_puts(&s->out, c->lsub ? "* LSUB (" : "* LIST (");
	if (c->lsub) {
		if (!selected(c, e)) /* RFC 3501 6.3.9: a level above subscribed names */
			put_attr(s, &first, "\\Noselect");
	} else {
		if (marks_subscribed(c) && e->sub)
			put_attr(s, &first, "\\Subscribed");
		if (!e->mb)
			put_attr(s, &first, s->rev2 || p->extended ? "\\NonExistent" : "\\Noselect");
		if (!p->extended || p->ret & IMAP_LIST_RET_CHILDREN)
			put_attr(s, &first, children ? "\\HasChildren" : "\\HasNoChildren");
	}
	bool su = c->lsub || !p->extended || p->ret & IMAP_LIST_RET_SPECIAL_USE ||
		  p->sel & IMAP_LIST_SEL_SPECIAL_USE;
	static const struct {
		unsigned bit;
		const char *attr;
	} uses[] = {
		{STORE_SU_ARCHIVE, "\\Archive"}, {STORE_SU_DRAFTS, "\\Drafts"},
		{STORE_SU_JUNK, "\\Junk"},       {STORE_SU_SENT, "\\Sent"},
		{STORE_SU_TRASH, "\\Trash"},
	};
	for (size_t i = 0; su && e->mb && i < sizeof(uses) / sizeof(uses[0]); i++)
		if (e->mb->special_use & uses[i].bit)
			put_attr(s, &first, uses[i].attr);
	imap_puts(&s->out, ") \"/\" ");
	put_name(s, c, e->name, e->len);
	if (childinfo && !c->lsub) { /* RFC 5258 3.5 */
		imap_puts(&s->out, " (CHILDINFO (");
		if (p->sel & IMAP_LIST_SEL_SUBSCRIBED)
			imap_puts(&s->out, p->sel & IMAP_LIST_SEL_SPECIAL_USE
						   ? "\"SUBSCRIBED\" \"SPECIAL-USE\""
						   : "\"SUBSCRIBED\"");
		else
			imap_puts(&s->out, "\"SPECIAL-USE\"");
		imap_puts(&s->out, "))");
	}
	imap_puts(&s->out, "\r\n");
	if (!c->lsub && (p->ret & IMAP_LIST_RET_STATUS) && e->mb) /* RFC 5819 2 */
		imap_status_put(s, e->mb, p->status, &c->scratch);
	arena_reset(&c->scratch);
}

static void put_matches(struct imap_session *s, struct list_ctx *c)
{
	bool recursive = c->lsub ? c->pct : (c->p.sel & IMAP_LIST_SEL_RECURSIVEMATCH) != 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct list_entry *e = &c->v[i];
		if (!e->match)
			continue;
		size_t lo, hi;
		below(c, i, &lo, &hi);
		bool childinfo = false, children = false;
		for (size_t j = lo; recursive && !childinfo && j < hi; j++)
			childinfo = !c->v[j].match && selected(c, &c->v[j]);
		if (filtering(c) && !selected(c, e) && !childinfo)
			continue;
		/* \HasChildren: mailboxes below (RFC 5258 4); subscribed names without one
		 * are none, as in Dovecot */
		for (size_t j = lo; !children && j < hi; j++)
			children = c->v[j].mb != NULL;
		put_entry(s, c, e, children, childinfo);
	}
}

/* RFC 9051 6.3.9: an empty pattern asks for the delimiter and the root of the
 * reference's hierarchy: its first level with the delimiter, "" when it has none. */
static void put_root(struct imap_session *s, struct list_ctx *c, const char *ref, size_t rlen)
{
	const char *slash = memchr(ref, '/', rlen);
	imap_puts(&s->out, "* LIST (\\Noselect) \"/\" ");
	put_name(s, c, ref, slash ? (size_t)(slash - ref) + 1 : 0);
	imap_puts(&s->out, "\r\n");
	arena_reset(&c->scratch);
}

static void refuse(struct imap_session *s, const char *why)
{
	if (!strncmp(why, "BAD ", 4))
		imap_bad(s, why + 4);
	else
		imap_tagged(s, "%s", why);
}

static int list(struct imap_session *s, struct imap_cmd *cmd, struct list_ctx *c)
{
	const char *why = NULL;
	int r = imap_parse_list(cmd, &s->ca, &c->p, &why);
	if (r < 0 || (c->lsub && c->p.extended)) {
		refuse(s, r == ERR_NOMEM ? "NO [LIMIT] Too many patterns"
			   : why	    ? why
					    : "BAD LSUB takes a reference and a pattern");
		return 0;
	}
	if (s->rev2 && (c->p.status & IMAP_STATUS_RECENT)) { /* RFC 9051 Appendix E */
		imap_bad(s, "RECENT is not a status item of IMAP4rev2");
		return 0;
	}
	size_t rlen, raw_len;
	const char *raw = imap_arg_astring(c->p.ref, &raw_len);
	const char *ref = decode(s, raw, raw_len, &rlen);
	if (!ref) {
		imap_bad(s, s->utf8 ? "Reference is not valid UTF-8"
				    : "Reference is not valid modified UTF-7");
		return 0;
	}
	bool any = false, root = false;
	for (size_t i = 0; i < c->p.npat; i++) {
		raw = imap_arg_list_mailbox(c->p.pat[i], &raw_len);
		any |= raw_len > 0;
		root |= raw_len == 0;
	}
	if (any) {
		struct store *st = imap_store_open(s);
		if (!st)
			return 0; /* answered */
		r = load_tree(st, c);
		imap_store_close(&st);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < c->p.npat && any; i++) {
		raw = imap_arg_list_mailbox(c->p.pat[i], &raw_len);
		size_t plen;
		const char *pat = raw_len ? decode(s, raw, raw_len, &plen) : "";
		if (!pat) {
			imap_bad(s, s->utf8 ? "Mailbox pattern is not valid UTF-8"
					    : "Mailbox pattern is not valid modified UTF-7");
			return 0;
		}
		c->pct = raw_len && raw[raw_len - 1] == '%';
		if (raw_len && (r = match_pattern(s, c, ref, rlen, pat, plen)) < 0)
			return r;
	}
	if (root && !c->lsub) /* LSUB "" "" lists nothing, as in Dovecot */
		put_root(s, c, ref, rlen);
	if (any)
		put_matches(s, c);
	imap_done(s, "OK %s completed", c->lsub ? "LSUB" : "LIST");
	return 0;
}

int imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd)
{
	struct list_ctx c;
	memset(&c, 0, sizeof(c));
	c.lsub = cmd->verb == IMAP_VERB_LSUB;
	arena_init(&c.tree, LIMIT_IMAP_LIST_ARENA);
	arena_init(&c.scratch, LIMIT_COMMAND_ARENA);
	int r = list(s, cmd, &c);
	arena_free(&c.scratch);
	arena_free(&c.tree);
	if (r == ERR_NOMEM) {
		imap_tagged(s, "NO [LIMIT] Too many mailboxes to list at once");
	} else if (r < 0) {
		log_err("list: %s", err_str(r));
		imap_tagged(s, "NO [UNAVAILABLE] Cannot list mailboxes now, try again later");
	}
	return 0;
}

/* RFC 9051 6.3.10: one personal namespace, no others' or shared ones. */
int imap_cmd_namespace(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_done(s, "OK NAMESPACE completed");
	return 0;
}
