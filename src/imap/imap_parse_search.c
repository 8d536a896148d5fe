/* imap_parse_search.c: SEARCH keys into the tree the SEARCH handler evaluates (RFC 9051
 * 6.4.4 and 9 search-key; RFC 3501 for NEW OLD RECENT; RFC 7162 3.1.5 MODSEQ; RFC 8514
 * SAVEDATE*; RFC 8474 EMAILID THREADID; RFC 5032 OLDER YOUNGER; RFC 4731 and 5182
 * RETURN), and the SORT (RFC 5256 3, RFC 5957) and THREAD (RFC 5256 3) commands built on
 * them. Output goes to the command arena. Limits: LIMIT_IMAP_SEARCH_DEPTH nesting of
 * NOT, OR and parentheses; LIMIT_IMAP_SEQSET ranges per set; LIMIT_IMAP_OBJECTID. */
#include "imap/imap_parse_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static int fail(const char **why_out, int rc, const char *why)
{
	if (why_out)
		*why_out = why;
	return rc;
}

/* What follows a search key's name. */
enum sk_arg {
	SK_NONE,
	SK_ASTRING,  /* str */
	SK_DATE,     /* days */
	SK_NUMBER64, /* num: LARGER SMALLER (RFC 9051: number64) */
	SK_NZNUMBER, /* num: OLDER YOUNGER (RFC 5032: nz-number) */
	SK_SEQSET,   /* UID */
	SK_KEYWORD,  /* flag-keyword */
	SK_HEADER,   /* field, str */
	SK_NOT,      /* one key */
	SK_OR,       /* two keys */
	SK_MODSEQ,   /* [entry-name entry-type] mod-sequence-valzer */
	SK_OBJECTID, /* RFC 8474 */
};

static const struct {
	const char *name;
	enum imap_search_key key;
	enum sk_arg arg;
	unsigned flag;
	bool rev1;
} keys[] = {
    {"ALL", IMAP_SK_ALL, SK_NONE, 0, false},
    {"ANSWERED", IMAP_SK_FLAG, SK_NONE, IMAP_FLAG_ANSWERED, false},
    {"BCC", IMAP_SK_BCC, SK_ASTRING, 0, false},
    {"BEFORE", IMAP_SK_BEFORE, SK_DATE, 0, false},
    {"BODY", IMAP_SK_BODY, SK_ASTRING, 0, false},
    {"CC", IMAP_SK_CC, SK_ASTRING, 0, false},
    {"DELETED", IMAP_SK_FLAG, SK_NONE, IMAP_FLAG_DELETED, false},
    {"DRAFT", IMAP_SK_FLAG, SK_NONE, IMAP_FLAG_DRAFT, false},
    {"EMAILID", IMAP_SK_EMAILID, SK_OBJECTID, 0, false},
    {"FLAGGED", IMAP_SK_FLAG, SK_NONE, IMAP_FLAG_FLAGGED, false},
    {"FROM", IMAP_SK_FROM, SK_ASTRING, 0, false},
    {"HEADER", IMAP_SK_HEADER, SK_HEADER, 0, false},
    {"KEYWORD", IMAP_SK_KEYWORD, SK_KEYWORD, 0, false},
    {"LARGER", IMAP_SK_LARGER, SK_NUMBER64, 0, false},
    {"MODSEQ", IMAP_SK_MODSEQ, SK_MODSEQ, 0, false},
    {"NEW", IMAP_SK_NEW, SK_NONE, 0, true},
    {"NOT", IMAP_SK_NOT, SK_NOT, 0, false},
    {"OLD", IMAP_SK_UNFLAG, SK_NONE, IMAP_FLAG_RECENT, true},
    {"OLDER", IMAP_SK_OLDER, SK_NZNUMBER, 0, false},
    {"ON", IMAP_SK_ON, SK_DATE, 0, false},
    {"OR", IMAP_SK_OR, SK_OR, 0, false},
    {"RECENT", IMAP_SK_FLAG, SK_NONE, IMAP_FLAG_RECENT, true},
    {"SAVEDBEFORE", IMAP_SK_SAVEDATEBEFORE, SK_DATE, 0, false},
    {"SAVEDON", IMAP_SK_SAVEDATEON, SK_DATE, 0, false},
    {"SAVEDSINCE", IMAP_SK_SAVEDATESINCE, SK_DATE, 0, false},
    {"SAVEDATESUPPORTED", IMAP_SK_SAVEDATESUPPORTED, SK_NONE, 0, false},
    {"SEEN", IMAP_SK_FLAG, SK_NONE, IMAP_FLAG_SEEN, false},
    {"SENTBEFORE", IMAP_SK_SENTBEFORE, SK_DATE, 0, false},
    {"SENTON", IMAP_SK_SENTON, SK_DATE, 0, false},
    {"SENTSINCE", IMAP_SK_SENTSINCE, SK_DATE, 0, false},
    {"SINCE", IMAP_SK_SINCE, SK_DATE, 0, false},
    {"SMALLER", IMAP_SK_SMALLER, SK_NUMBER64, 0, false},
    {"SUBJECT", IMAP_SK_SUBJECT, SK_ASTRING, 0, false},
    {"TEXT", IMAP_SK_TEXT, SK_ASTRING, 0, false},
    {"THREADID", IMAP_SK_THREADID, SK_OBJECTID, 0, false},
    {"TO", IMAP_SK_TO, SK_ASTRING, 0, false},
    {"UID", IMAP_SK_UID, SK_SEQSET, 0, false},
    {"UNANSWERED", IMAP_SK_UNFLAG, SK_NONE, IMAP_FLAG_ANSWERED, false},
    {"UNDELETED", IMAP_SK_UNFLAG, SK_NONE, IMAP_FLAG_DELETED, false},
    {"UNDRAFT", IMAP_SK_UNFLAG, SK_NONE, IMAP_FLAG_DRAFT, false},
    {"UNFLAGGED", IMAP_SK_UNFLAG, SK_NONE, IMAP_FLAG_FLAGGED, false},
    {"UNKEYWORD", IMAP_SK_UNKEYWORD, SK_KEYWORD, 0, false},
    {"UNSEEN", IMAP_SK_UNFLAG, SK_NONE, IMAP_FLAG_SEEN, false},
    {"YOUNGER", IMAP_SK_YOUNGER, SK_NZNUMBER, 0, false},
};

struct search_ctx {
	struct arena *a;
	struct imap_search_prog *prog;
	const char **why;
};

static int parse_key(struct search_ctx *c, const struct imap_arg **ap, size_t depth,
                     struct imap_search **out);

static struct imap_search *node(struct search_ctx *c, enum imap_search_key key)
{
	struct imap_search *n = arena_zalloc(c->a, sizeof(*n));
	if (n)
		n->key = key;
	return n;
}

/* Keys from a to the end of its list, as the sub list of and. */
static int key_list(struct search_ctx *c, const struct imap_arg *a, size_t depth,
                    struct imap_search *and)
{
	struct imap_search **link = &and->sub;
	if (!a)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Missing search key");
	while (a) {
		int rc = parse_key(c, &a, depth, link);
		if (rc < 0)
			return rc;
		link = &(*link)->next;
	}
	return 0;
}

static int seqset(struct search_ctx *c, const struct imap_arg *a, struct imap_seqset *set)
{
	int rc = imap_arg_seqset(a, c->a, set);
	if (rc == ERR_TOO_BIG)
		return fail(c->why, rc, "NO [LIMIT] Too many ranges in the sequence set");
	if (rc < 0)
		return fail(c->why, rc, "BAD Invalid sequence set");
	c->prog->saved |= set->saved;
	return 0;
}

/* objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 5). */
static bool objectid(const char *s, size_t n)
{
	if (n == 0 || n > LIMIT_IMAP_OBJECTID)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(imap_is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* MODSEQ ["/flags/..." (priv|shared|all)] mod-sequence-valzer (RFC 7162 3.1.5). */
static int modseq(struct search_ctx *c, const struct imap_arg **ap, struct imap_search *n)
{
	const struct imap_arg *a = *ap;
	size_t len;
	const char *entry = imap_arg_string(a, &len);
	c->prog->modseq = true;
	if (entry) {
		if (!str_iprefix(entry, len, "/flags/") || len == 7)
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid MODSEQ entry name");
		n->field = entry;
		n->field_len = len;
		a = a->next;
		if (imap_arg_is(a, "priv"))
			n->entry = IMAP_ENTRY_PRIV;
		else if (imap_arg_is(a, "shared"))
			n->entry = IMAP_ENTRY_SHARED;
		else if (imap_arg_is(a, "all"))
			n->entry = IMAP_ENTRY_ALL;
		else
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid MODSEQ entry type");
		a = a->next;
	}
	if (imap_arg_number(a, IMAP_NUMBER64_MAX, &n->num) < 0)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid MODSEQ value");
	*ap = a->next;
	return 0;
}

/* The argument(s) of key k for node n from *ap (which follows the key's name). */
static int key_args(struct search_ctx *c, size_t k, const struct imap_arg **ap, size_t depth,
                    struct imap_search *n)
{
	const struct imap_arg *a = *ap;
	size_t len;
	int rc;
	if (keys[k].arg != SK_NONE && !a)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Missing search argument");
	switch (keys[k].arg) {
	case SK_NONE:
		return 0;
	case SK_ASTRING:
		if (!(n->str = imap_arg_astring(a, &n->len)))
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid search string");
		break;
	case SK_DATE:
		if (imap_arg_date(a, &n->days) < 0)
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid date");
		break;
	case SK_NUMBER64:
	case SK_NZNUMBER:
		if (imap_arg_number(
		        a, keys[k].arg == SK_NZNUMBER ? IMAP_NUMBER_MAX : IMAP_NUMBER64_MAX,
		        &n->num) < 0 ||
		    (keys[k].arg == SK_NZNUMBER && n->num == 0))
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid number");
		break;
	case SK_SEQSET:
		if ((rc = seqset(c, a, &n->set)) < 0)
			return rc;
		break;
	case SK_KEYWORD:
		if (!a || a->type != IMAP_ARG_ATOM)
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid keyword");
		for (size_t i = 0; i < a->len; i++)
			if (!imap_is_atom_char((unsigned char)a->s[i]))
				return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid keyword");
		n->str = a->s;
		n->len = a->len;
		break;
	case SK_HEADER:
		if (!(n->field = imap_arg_astring(a, &n->field_len)) ||
		    !(n->str = imap_arg_astring(a->next, &n->len)))
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid HEADER search");
		a = a->next;
		break;
	case SK_NOT:
		*ap = a;
		return parse_key(c, ap, depth + 1, &n->sub);
	case SK_OR:
		*ap = a;
		if ((rc = parse_key(c, ap, depth + 1, &n->sub)) < 0)
			return rc;
		if (!*ap)
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Missing search argument");
		return parse_key(c, ap, depth + 1, &n->sub->next);
	case SK_MODSEQ:
		*ap = a;
		return modseq(c, ap, n);
	case SK_OBJECTID:
		if (!(n->str = imap_arg_astring(a, &len)) || !objectid(n->str, len))
			return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid object id");
		n->len = len;
		break;
	}
	*ap = a->next;
	return 0;
}

static int parse_key(struct search_ctx *c, const struct imap_arg **ap, size_t depth,
                     struct imap_search **out)
{
	const struct imap_arg *a = *ap;
	if (depth > LIMIT_IMAP_SEARCH_DEPTH)
		return fail(c->why, ERR_TOO_DEEP, "NO [LIMIT] Search keys nested too deeply");
	*ap = a->next;
	if (a->type == IMAP_ARG_LIST) {
		struct imap_search *and = node(c, IMAP_SK_AND);
		if (!and)
			return ERR_NOMEM;
		*out = and;
		return key_list(c, a->list, depth + 1, and);
	}
	if (a->type != IMAP_ARG_ATOM)
		return fail(c->why, ERR_BAD_SYNTAX, "BAD Invalid search key");
	unsigned char ch = (unsigned char)a->s[0];
	if (imap_is_digit(ch) || ch == '*' || ch == '$') {
		struct imap_search *n = node(c, IMAP_SK_SEQSET);
		if (!n)
			return ERR_NOMEM;
		*out = n;
		return seqset(c, a, &n->set);
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!imap_ieq(a->s, a->len, keys[k].name))
			continue;
		struct imap_search *n = node(c, keys[k].key);
		if (!n)
			return ERR_NOMEM;
		n->flag = keys[k].flag;
		c->prog->rev1_keys |= keys[k].rev1;
		*out = n;
		return key_args(c, k, ap, depth, n);
	}
	return fail(c->why, ERR_BAD_SYNTAX, "BAD Unknown search key");
}

int imap_search_keys(const struct imap_arg *a, struct arena *arena, struct imap_search_prog *prog,
                     const char **why_out)
{
	struct search_ctx c = {arena, prog, why_out};
	prog->root = node(&c, IMAP_SK_AND);
	if (!prog->root)
		return ERR_NOMEM;
	return key_list(&c, a, 0, prog->root);
}

int imap_search_charset(const struct imap_arg *a, enum imap_charset *out, const char **why_out)
{
	size_t n;
	const char *s = imap_arg_astring(a, &n);
	if (!s)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing charset");
	if (imap_ieq(s, n, "UTF-8"))
		*out = IMAP_CHARSET_UTF8;
	else if (imap_ieq(s, n, "US-ASCII"))
		*out = IMAP_CHARSET_ASCII;
	else /* RFC 9051 6.4.4: NO with the supported ones */
		return fail(why_out, ERR_INVAL,
		            "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	return 0;
}

/* RETURN (options) of ESEARCH (RFC 4731 3.1) and SEARCHRES (RFC 5182 2). */
static int return_opts(const struct imap_arg *l, struct imap_search_prog *prog,
                       const char **why_out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {{"MIN", IMAP_SEARCH_RET_MIN},
	            {"MAX", IMAP_SEARCH_RET_MAX},
	            {"ALL", IMAP_SEARCH_RET_ALL},
	            {"COUNT", IMAP_SEARCH_RET_COUNT},
	            {"SAVE", IMAP_SEARCH_RET_SAVE}};
	if (!l || l->type != IMAP_ARG_LIST)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid RETURN options");
	prog->esearch = true;
	for (const struct imap_arg *o = l->list; o; o = o->next) {
		size_t i = 0;
		while (i < sizeof(opts) / sizeof(opts[0]) && !imap_arg_is(o, opts[i].name))
			i++;
		if (i == sizeof(opts) / sizeof(opts[0]))
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Unknown RETURN option");
		prog->ret |= opts[i].bit;
	}
	if (l->count == 0)
		prog->ret = IMAP_SEARCH_RET_ALL; /* RFC 4731 3.1: "RETURN ()" is ALL */
	return 0;
}

int imap_parse_search(const struct imap_cmd *cmd, struct arena *a, struct imap_search_prog *out,
                      const char **why_out)
{
	memset(out, 0, sizeof(*out));
	const struct imap_arg *arg = cmd->args;
	int rc;
	if (imap_arg_is(arg, "RETURN")) {
		if ((rc = return_opts(arg->next, out, why_out)) < 0)
			return rc;
		arg = arg->next->next;
	}
	if (imap_arg_is(arg, "CHARSET")) {
		if ((rc = imap_search_charset(arg->next, &out->charset, why_out)) < 0)
			return rc;
		arg = arg->next->next;
	}
	return imap_search_keys(arg, a, out, why_out);
}

/* ---- SORT and THREAD ---- */

static const struct {
	const char *name;
	enum imap_sort_key key;
} sort_keys[] = {
    {"ARRIVAL", IMAP_SORT_ARRIVAL},
    {"CC", IMAP_SORT_CC},
    {"DATE", IMAP_SORT_DATE},
    {"FROM", IMAP_SORT_FROM},
    {"SIZE", IMAP_SORT_SIZE},
    {"SUBJECT", IMAP_SORT_SUBJECT},
    {"TO", IMAP_SORT_TO},
    {"DISPLAYFROM", IMAP_SORT_DISPLAYFROM},
    {"DISPLAYTO", IMAP_SORT_DISPLAYTO},
};

/* sort-criteria = "(" sort-criterion *(SP sort-criterion) ")", sort-criterion =
 * ["REVERSE" SP] sort-key (RFC 5256 3). */
static int sort_criteria(const struct imap_arg *l, struct arena *a, struct imap_sort *out,
                         const char **why_out)
{
	if (!l || l->type != IMAP_ARG_LIST || l->count == 0)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid sort criteria");
	out->crit = arena_alloc(a, l->count * sizeof(*out->crit));
	if (!out->crit)
		return ERR_NOMEM;
	bool reverse = false;
	for (const struct imap_arg *k = l->list; k; k = k->next) {
		if (!reverse && imap_arg_is(k, "REVERSE")) {
			reverse = true;
			continue;
		}
		size_t i = 0;
		while (i < sizeof(sort_keys) / sizeof(sort_keys[0]) &&
		       !imap_arg_is(k, sort_keys[i].name))
			i++;
		if (i == sizeof(sort_keys) / sizeof(sort_keys[0]))
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid sort criteria");
		out->crit[out->ncrit++] = (struct imap_sort_crit){sort_keys[i].key, reverse};
		reverse = false;
	}
	if (reverse)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD REVERSE without a sort key");
	return 0;
}

int imap_parse_sort(const struct imap_cmd *cmd, struct arena *a, struct imap_sort *out,
                    const char **why_out)
{
	memset(out, 0, sizeof(*out));
	const struct imap_arg *arg = cmd->args;
	int rc = sort_criteria(arg, a, out, why_out);
	if (rc < 0)
		return rc;
	if ((rc = imap_search_charset(arg->next, &out->prog.charset, why_out)) < 0)
		return rc;
	return imap_search_keys(arg->next->next, a, &out->prog, why_out);
}

int imap_parse_thread(const struct imap_cmd *cmd, struct arena *a, struct imap_thread *out,
                      const char **why_out)
{
	memset(out, 0, sizeof(*out));
	const struct imap_arg *arg = cmd->args;
	if (imap_arg_is(arg, "ORDEREDSUBJECT"))
		out->alg = IMAP_THREAD_ORDEREDSUBJECT;
	else if (imap_arg_is(arg, "REFERENCES"))
		out->alg = IMAP_THREAD_REFERENCES;
	else
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Unknown threading algorithm");
	int rc = imap_search_charset(arg->next, &out->prog.charset, why_out);
	if (rc < 0)
		return rc;
	return imap_search_keys(arg->next->next, a, &out->prog, why_out);
}
