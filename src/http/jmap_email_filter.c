/* jmap_email_filter.c: reading an Email filter (RFC 8621 4.4.1) into a jmap_filter tree
 * (jmap_email_filter.h), and the keyword helpers the evaluator uses.
 *
 * Decisions: a FilterCondition's properties all hold (their AND); a property whose value
 * is null is left out (as if absent); an object with "operator" is a FilterOperator
 * and must have "conditions" (an array, possibly empty: AND of none holds, OR of none
 * does not, NOT of none holds) and no other member. A property or operator we do not
 * know is unsupportedFilter (RFC 8620 5.5: the server cannot process it); a known one
 * with a value of the wrong type or form (a bad Id, keyword, UTCDate, a negative size,
 * a header array of other than 1 or 2 strings, a string with NUL) is invalidArguments.
 * Bounds (unsupportedFilter past them): LIMIT_JMAP_FILTER_DEPTH nested operators,
 * LIMIT_JMAP_FILTER_CONDITIONS conditions in all, LIMIT_SEARCH_NEEDLE octets of a text
 * or header value. Memory: the tree and its strings in the arena handed in. */
#include "http/jmap_email_filter.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap_email_int.h"
#include "store/store.h"
#include "core/banned.h"

enum value_type { V_ID, V_IDS, V_DATE, V_SIZE, V_KEYWORD, V_BOOL, V_TEXT, V_HEADER };

static const struct {
	const char *name;
	enum jmap_filter_kind kind;
	enum value_type type;
} props[] = {
	{"inMailbox", JMAP_FILTER_IN_MAILBOX, V_ID},
	{"inMailboxOtherThan", JMAP_FILTER_IN_MAILBOX_OTHER_THAN, V_IDS},
	{"before", JMAP_FILTER_BEFORE, V_DATE},
	{"after", JMAP_FILTER_AFTER, V_DATE},
	{"minSize", JMAP_FILTER_MIN_SIZE, V_SIZE},
	{"maxSize", JMAP_FILTER_MAX_SIZE, V_SIZE},
	{"allInThreadHaveKeyword", JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD, V_KEYWORD},
	{"someInThreadHaveKeyword", JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD, V_KEYWORD},
	{"noneInThreadHaveKeyword", JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD, V_KEYWORD},
	{"hasKeyword", JMAP_FILTER_HAS_KEYWORD, V_KEYWORD},
	{"notKeyword", JMAP_FILTER_NOT_KEYWORD, V_KEYWORD},
	{"hasAttachment", JMAP_FILTER_HAS_ATTACHMENT, V_BOOL},
	{"text", JMAP_FILTER_TEXT, V_TEXT},
	{"from", JMAP_FILTER_FROM, V_TEXT},
	{"to", JMAP_FILTER_TO, V_TEXT},
	{"cc", JMAP_FILTER_CC, V_TEXT},
	{"bcc", JMAP_FILTER_BCC, V_TEXT},
	{"subject", JMAP_FILTER_SUBJECT, V_TEXT},
	{"body", JMAP_FILTER_BODY, V_TEXT},
	{"header", JMAP_FILTER_HEADER, V_HEADER},
};

struct parse {
	struct arena *a;
	struct jmap_filter_error *err;
	size_t conditions;
};

/* description: "filter <what>: <msg>" */
static int fail(struct parse *p, const char *type, const char *what, const char *msg)
{
	p->err->type = type;
	p->err->description = arena_printf(p->a, "filter %.100s: %s", what, msg);
	if (!p->err->description)
		p->err->description = type;
	return ERR_INVAL;
}

/* RFC 8620 1.2 Id: 1-255 octets of [A-Za-z0-9_-]; "#" + one for a creation id, which
 * the evaluator resolves. */
static bool id_ok(const char *s, size_t n)
{
	size_t i = s[0] == '#';
	if (n - i < 1 || n - i > 255)
		return false;
	for (; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool jmap_email_keyword_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || strchr("(){]%*\"\\", c))
			return false;
	}
	return true;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* RFC 8620 1.4 UTCDate: "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (T and Z in either case, RFC
 * 3339 5.6); the fraction is dropped. */
static int utc_date(const char *s, size_t n, int64_t *out)
{
	int y, mo, d, h, mi, sec;
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || (s[n - 1] != 'Z' && s[n - 1] != 'z'))
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (n > 20) { /* a fraction: "." and at least one digit, dropped */
		if (s[19] != '.' || n < 22)
			return -1;
		for (size_t i = 20; i < n - 1; i++)
			if (s[i] < '0' || s[i] > '9')
				return -1;
	}
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			.tm_min = mi, .tm_sec = sec > 59 ? 59 : sec};
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* A string value: UTF-8 (jansson's), no NUL, at most LIMIT_SEARCH_NEEDLE octets. */
static int text_value(struct parse *p, json_t *v, const char *name, const char **out)
{
	if (!json_is_string(v))
		return fail(p, "invalidArguments", name, "not a String");
	size_t n = json_string_length(v);
	if (strlen(json_string_value(v)) != n)
		return fail(p, "invalidArguments", name, "a NUL character");
	if (n > LIMIT_SEARCH_NEEDLE)
		return fail(p, "unsupportedFilter", name, "text too long");
	*out = json_string_value(v);
	return 0;
}

static int keyword_value(struct parse *p, json_t *v, const char *name, const char **out)
{
	const char *s;
	if (text_value(p, v, name, &s) < 0)
		return ERR_INVAL;
	if (!jmap_email_keyword_ok(s))
		return fail(p, "invalidArguments", name, "not a keyword");
	char *k = arena_strdup(p->a, s);
	if (!k)
		return ERR_NOMEM;
	for (char *c = k; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	*out = k;
	return 0;
}

static int id_value(struct parse *p, json_t *v, const char *name, const char **out)
{
	if (!json_is_string(v) || !id_ok(json_string_value(v), json_string_length(v)))
		return fail(p, "invalidArguments", name, "not an Id");
	*out = json_string_value(v);
	return 0;
}

static int condition_value(struct parse *p, struct jmap_filter *f, enum value_type t,
			   json_t *v, const char *name)
{
	switch (t) {
	case V_ID:
		return id_value(p, v, name, &f->str);
	case V_IDS: {
		if (!json_is_array(v))
			return fail(p, "invalidArguments", name, "not an Id[]");
		f->n_strs = json_array_size(v);
		if (f->n_strs && !(f->strs = arena_alloc(p->a, f->n_strs * sizeof(*f->strs))))
			return ERR_NOMEM;
		for (size_t i = 0; i < f->n_strs; i++)
			if (id_value(p, json_array_get(v, i), name, &f->strs[i]) < 0)
				return ERR_INVAL;
		return 0;
	}
	case V_DATE:
		if (!json_is_string(v) ||
		    utc_date(json_string_value(v), json_string_length(v), &f->num) < 0)
			return fail(p, "invalidArguments", name, "not a UTCDate");
		return 0;
	case V_SIZE:
		/* UnsignedInt (RFC 8620 1.3): 0 .. 2^53-1 */
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 9007199254740991LL)
			return fail(p, "invalidArguments", name, "not an UnsignedInt");
		f->num = (int64_t)json_integer_value(v);
		return 0;
	case V_KEYWORD:
		return keyword_value(p, v, name, &f->str);
	case V_BOOL:
		if (!json_is_boolean(v))
			return fail(p, "invalidArguments", name, "not a Boolean");
		f->flag = json_is_true(v);
		return 0;
	case V_TEXT:
		return text_value(p, v, name, &f->str);
	case V_HEADER: {
		size_t n = json_is_array(v) ? json_array_size(v) : 0;
		if (n < 1 || n > 2)
			return fail(p, "invalidArguments", name, "not an array of 1 or 2 Strings");
		if (text_value(p, json_array_get(v, 0), name, &f->str) < 0 ||
		    (n == 2 && text_value(p, json_array_get(v, 1), name, &f->str2) < 0))
			return ERR_INVAL;
		/* a field name: RFC 5322 ftext, printable ASCII but ":" */
		size_t k = 0;
		for (; f->str[k]; k++)
			if ((unsigned char)f->str[k] < 0x21 || (unsigned char)f->str[k] > 0x7e ||
			    f->str[k] == ':')
				break;
		if (k == 0 || f->str[k])
			return fail(p, "invalidArguments", name, "not a header field name");
		return 0;
	}
	}
	return ERR_INVAL;
}

static int parse_node(struct parse *p, json_t *j, unsigned depth, struct jmap_filter *out);

static int parse_operator(struct parse *p, json_t *j, unsigned depth, struct jmap_filter *out)
{
	const char *op = json_string_value(json_object_get(j, "operator"));
	json_t *conds = json_object_get(j, "conditions");
	if (!op)
		return fail(p, "invalidArguments", "operator", "not a String");
	if (!strcmp(op, "AND"))
		out->kind = JMAP_FILTER_AND;
	else if (!strcmp(op, "OR"))
		out->kind = JMAP_FILTER_OR;
	else if (!strcmp(op, "NOT"))
		out->kind = JMAP_FILTER_NOT;
	else
		return fail(p, "unsupportedFilter", op, "this operator is not supported");
	if (!json_is_array(conds) || json_object_size(j) != 2)
		return fail(p, "invalidArguments", op, "a FilterOperator has \"operator\" and "
			    "\"conditions\" (an array) only");
	if (depth >= LIMIT_JMAP_FILTER_DEPTH)
		return fail(p, "unsupportedFilter", op, "operators nested too deep");
	out->n_kids = json_array_size(conds);
	if (out->n_kids && !(out->kids = arena_alloc(p->a, out->n_kids * sizeof(*out->kids))))
		return ERR_NOMEM;
	for (size_t i = 0; i < out->n_kids; i++) {
		memset(&out->kids[i], 0, sizeof(out->kids[i]));
		int r = parse_node(p, json_array_get(conds, i), depth + 1, &out->kids[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A FilterCondition: an AND of one leaf per property given. */
static int parse_condition(struct parse *p, json_t *j, struct jmap_filter *out)
{
	const char *key;
	json_t *v;
	out->kind = JMAP_FILTER_AND;
	size_t n = json_object_size(j), k = 0;
	if (n && !(out->kids = arena_alloc(p->a, n * sizeof(*out->kids))))
		return ERR_NOMEM;
	json_object_foreach(j, key, v) {
		size_t i = 0;
		while (i < sizeof(props) / sizeof(props[0]) && strcmp(props[i].name, key) != 0)
			i++;
		if (i == sizeof(props) / sizeof(props[0]))
			return fail(p, "unsupportedFilter", key, "this condition is not supported");
		if (json_is_null(v))
			continue;
		if (++p->conditions > LIMIT_JMAP_FILTER_CONDITIONS)
			return fail(p, "unsupportedFilter", key, "too many conditions");
		struct jmap_filter *f = &out->kids[k];
		memset(f, 0, sizeof(*f));
		f->kind = props[i].kind;
		int r = condition_value(p, f, props[i].type, v, props[i].name);
		if (r < 0)
			return r;
		k++;
	}
	out->n_kids = k;
	return 0;
}

static int parse_node(struct parse *p, json_t *j, unsigned depth, struct jmap_filter *out)
{
	if (!json_is_object(j))
		return fail(p, "invalidArguments", "condition", "not an object");
	if (json_object_get(j, "operator"))
		return parse_operator(p, j, depth, out);
	return parse_condition(p, j, out);
}

int jmap_email_filter_parse(json_t *filter, struct arena *a, struct jmap_filter **out,
			    struct jmap_filter_error *err_out)
{
	struct parse p = {a, err_out, 0};
	err_out->type = NULL;
	err_out->description = NULL;
	struct jmap_filter *f = arena_alloc(a, sizeof(*f));
	if (!f)
		return ERR_NOMEM;
	memset(f, 0, sizeof(*f));
	int r = parse_node(&p, filter, 0, f);
	if (r == ERR_NOMEM || (r < 0 && !err_out->type))
		return ERR_NOMEM;
	if (r < 0)
		return ERR_INVAL;
	*out = f;
	return 0;
}

bool jmap_email_has_keyword(unsigned flags, const char *keywords, const char *kw)
{
	size_t kl = strlen(kw);
	unsigned bit = jmap_keyword_bit(kw, kl);
	if (bit)
		return (flags & bit) != 0;
	for (const char *s = keywords; s && *s;) {
		size_t n = strcspn(s, " ");
		if (n == kl && !strncasecmp(s, kw, n))
			return true;
		s += n;
		s += *s == ' ';
	}
	return false;
}

unsigned jmap_email_filter_needs(const struct jmap_filter *f)
{
	switch (f->kind) {
	case JMAP_FILTER_AND:
	case JMAP_FILTER_OR:
	case JMAP_FILTER_NOT: {
		unsigned n = 0;
		for (size_t i = 0; i < f->n_kids; i++)
			n |= jmap_email_filter_needs(&f->kids[i]);
		return n;
	}
	case JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD:
		return JMAP_FILTER_NEEDS_THREADS;
	case JMAP_FILTER_HAS_ATTACHMENT:
		return JMAP_FILTER_NEEDS_MIME;
	case JMAP_FILTER_HEADER:
		return JMAP_FILTER_NEEDS_HEADER;
	case JMAP_FILTER_TEXT:
	case JMAP_FILTER_FROM:
	case JMAP_FILTER_TO:
	case JMAP_FILTER_CC:
	case JMAP_FILTER_BCC:
	case JMAP_FILTER_SUBJECT:
	case JMAP_FILTER_BODY:
		return JMAP_FILTER_NEEDS_INDEX;
	default:
		return 0;
	}
}
