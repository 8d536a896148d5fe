/* imap_parse_args.c: the small interpreters of arguments every handler uses (RFC 9051 9):
 * astring, nstring, string, list-mailbox, numbers, sequence sets (with "$", RFC 5182),
 * flag lists, date and date-time. Results go into the arena given; nothing here keeps
 * state. Limits: LIMIT_IMAP_SEQSET ranges per set. */
#include "imap/imap_parse_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static const char *why_set(const char **why_out, const char *why)
{
	if (why_out)
		*why_out = why;
	return why;
}

/* ---- strings ---- */

const char *imap_arg_astring(const struct imap_arg *a, size_t *len_out)
{
	if (!a)
		return NULL;
	switch (a->type) {
	case IMAP_ARG_ATOM:
		for (size_t i = 0; i < a->len; i++)
			if (!imap_is_astring_char((unsigned char)a->s[i]))
				return NULL;
		break;
	case IMAP_ARG_NIL:
	case IMAP_ARG_STRING:
		break;
	case IMAP_ARG_LITERAL:
		if (a->binary)
			return NULL;
		break;
	default:
		return NULL;
	}
	*len_out = a->len;
	return a->s;
}

const char *imap_arg_string(const struct imap_arg *a, size_t *len_out)
{
	if (!a || !(a->type == IMAP_ARG_STRING || (a->type == IMAP_ARG_LITERAL && !a->binary)))
		return NULL;
	*len_out = a->len;
	return a->s;
}

const char *imap_arg_nstring(const struct imap_arg *a, size_t *len_out, bool *is_nil_out)
{
	*is_nil_out = a && a->type == IMAP_ARG_NIL;
	if (*is_nil_out) {
		*len_out = 0;
		return "";
	}
	return imap_arg_string(a, len_out);
}

const char *imap_arg_list_mailbox(const struct imap_arg *a, size_t *len_out)
{
	if (a && (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL)) {
		for (size_t i = 0; i < a->len; i++)
			if (!imap_is_list_char((unsigned char)a->s[i]))
				return NULL;
		*len_out = a->len;
		return a->s;
	}
	return imap_arg_string(a, len_out);
}

bool imap_arg_is(const struct imap_arg *a, const char *name)
{
	return a && a->type == IMAP_ARG_ATOM && imap_ieq(a->s, a->len, name);
}

int imap_arg_number(const struct imap_arg *a, uint64_t max, uint64_t *out)
{
	if (!a || a->type != IMAP_ARG_ATOM)
		return ERR_BAD_SYNTAX;
	return imap_num(a->s, a->len, max, out);
}

/* ---- sequence sets ---- */

/* seq-number at s[*i]: nz-number or "*" (UINT32_MAX). */
static int seq_number(const char *s, size_t len, size_t *i, uint32_t *out)
{
	size_t j = *i;
	if (j < len && s[j] == '*') {
		*i = j + 1;
		*out = UINT32_MAX;
		return 0;
	}
	while (j < len && imap_is_digit((unsigned char)s[j]))
		j++;
	uint64_t v;
	if (imap_num(s + *i, j - *i, UINT32_MAX, &v) < 0 || v == 0)
		return ERR_BAD_SYNTAX;
	*i = j;
	*out = (uint32_t)v;
	return 0;
}

int imap_parse_seqset(const char *s, size_t len, struct arena *a, struct imap_seqset *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 1 && s[0] == '$') {
		out->saved = true;
		return 0;
	}
	size_t n = 1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ',')
			n++;
	if (n > LIMIT_IMAP_SEQSET)
		return ERR_TOO_BIG;
	out->r = arena_alloc(a, n * sizeof(*out->r));
	if (!out->r)
		return ERR_NOMEM;
	size_t i = 0;
	for (size_t k = 0; k < n; k++) {
		uint32_t lo, hi;
		if (seq_number(s, len, &i, &lo) < 0)
			return ERR_BAD_SYNTAX;
		hi = lo;
		if (i < len && s[i] == ':') {
			i++;
			if (seq_number(s, len, &i, &hi) < 0)
				return ERR_BAD_SYNTAX;
		}
		if (i < len && s[i] != ',')
			return ERR_BAD_SYNTAX;
		i++;
		out->r[k] = (struct imap_range){lo < hi ? lo : hi, lo < hi ? hi : lo};
	}
	if (i != len + 1)
		return ERR_BAD_SYNTAX;
	out->n = n;
	return 0;
}

int imap_arg_seqset(const struct imap_arg *arg, struct arena *a, struct imap_seqset *out)
{
	if (!arg || arg->type != IMAP_ARG_ATOM)
		return ERR_BAD_SYNTAX;
	return imap_parse_seqset(arg->s, arg->len, a, out);
}

/* A range with "*" replaced, in ascending order. */
static struct imap_range range_map(struct imap_range r, uint32_t star)
{
	uint32_t lo = r.lo == UINT32_MAX ? star : r.lo;
	uint32_t hi = r.hi == UINT32_MAX ? star : r.hi;
	return lo <= hi ? (struct imap_range){lo, hi} : (struct imap_range){hi, lo};
}

bool imap_seqset_has(const struct imap_seqset *set, uint32_t n, uint32_t star)
{
	for (size_t i = 0; i < set->n; i++) {
		struct imap_range r = range_map(set->r[i], star);
		if (r.lo <= n && n <= r.hi)
			return true;
	}
	return false;
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

int imap_seqset_resolve(const struct imap_seqset *set, uint32_t star, struct arena *a,
                        struct imap_seqset *out)
{
	memset(out, 0, sizeof(*out));
	if (set->saved)
		return ERR_INVAL;
	if (set->n == 0 || star == 0)
		return 0;
	out->r = arena_alloc(a, set->n * sizeof(*out->r));
	if (!out->r)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < set->n; i++) {
		struct imap_range r = range_map(set->r[i], star);
		if (r.lo > star)
			continue; /* wholly past the end: no such message */
		if (r.hi > star)
			r.hi = star;
		out->r[n++] = r;
	}
	qsort(out->r, n, sizeof(*out->r), range_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && out->r[i].lo <= out->r[m - 1].hi + (uint64_t)1) {
			if (out->r[i].hi > out->r[m - 1].hi)
				out->r[m - 1].hi = out->r[i].hi;
			continue;
		}
		out->r[m++] = out->r[i];
	}
	out->n = m;
	return 0;
}

/* ---- flags ---- */

static const struct {
	const char *name;
	unsigned bit;
} system_flags[] = {
    {"\\Seen", IMAP_FLAG_SEEN},       {"\\Answered", IMAP_FLAG_ANSWERED},
    {"\\Flagged", IMAP_FLAG_FLAGGED}, {"\\Deleted", IMAP_FLAG_DELETED},
    {"\\Draft", IMAP_FLAG_DRAFT},
};

/* One flag into out (keywords appended to kw, which has room). */
static int one_flag(const struct imap_arg *a, struct imap_flags *out, const char **why_out)
{
	if (!a || a->type != IMAP_ARG_ATOM) {
		why_set(why_out, "BAD Flags are atoms");
		return ERR_BAD_SYNTAX;
	}
	if (a->s[0] == '\\') {
		for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++)
			if (imap_ieq(a->s, a->len, system_flags[i].name)) {
				out->sys |= system_flags[i].bit;
				return 0;
			}
		/* \Recent is the server's (RFC 3501 2.3.2); other flag-extensions are
		 * not defined (RFC 9051 2.3.2) */
		why_set(why_out, "BAD Invalid system flag");
		return ERR_BAD_SYNTAX;
	}
	for (size_t i = 0; i < a->len; i++)
		if (!imap_is_atom_char((unsigned char)a->s[i])) {
			why_set(why_out, "BAD Invalid keyword");
			return ERR_BAD_SYNTAX;
		}
	out->kw[out->nkw++] = a->s;
	return 0;
}

int imap_parse_flags(const struct imap_arg *a, bool list, struct arena *arena,
                     struct imap_flags *out, const char **why_out)
{
	memset(out, 0, sizeof(*out));
	const struct imap_arg *first = a;
	size_t n = 0;
	if (list) {
		if (!a || a->type != IMAP_ARG_LIST) {
			why_set(why_out, "BAD Missing flag list");
			return ERR_BAD_SYNTAX;
		}
		first = a->list;
		n = a->count;
	} else {
		for (const struct imap_arg *x = a; x; x = x->next)
			n++;
	}
	out->kw = arena_alloc(arena, (n ? n : 1) * sizeof(*out->kw));
	if (!out->kw)
		return ERR_NOMEM;
	for (const struct imap_arg *x = first; x; x = x->next) {
		int rc = one_flag(x, out, why_out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- dates ---- */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned char d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int32_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

/* day "-" month "-" year at s[*i]: the day is 1 or 2 digits (a leading SP taken off by
 * the caller). */
static int date_text(const char *s, size_t len, size_t *i, int32_t *days_out)
{
	size_t j = *i, d0 = j;
	while (j < len && j - d0 < 2 && imap_is_digit((unsigned char)s[j]))
		j++;
	uint64_t day, year;
	if (imap_num(s + d0, j - d0, 31, &day) < 0 || day == 0)
		return ERR_BAD_SYNTAX;
	if (len - j < 9 || s[j] != '-' || s[j + 4] != '-')
		return ERR_BAD_SYNTAX;
	unsigned m = 0;
	while (m < 12 && !imap_ieq(s + j + 1, 3, months[m]))
		m++;
	if (m == 12 || imap_num(s + j + 5, 4, 9999, &year) < 0)
		return ERR_BAD_SYNTAX;
	if (day > month_days((unsigned)year, m + 1))
		return ERR_BAD_SYNTAX;
	*days_out = days_from_civil((int)year, m + 1, (unsigned)day);
	*i = j + 9;
	return 0;
}

int imap_parse_date(const char *s, size_t len, int32_t *days_out)
{
	size_t i = 0;
	if (date_text(s, len, &i, days_out) < 0 || i != len)
		return ERR_BAD_SYNTAX;
	return 0;
}

int imap_arg_date(const struct imap_arg *a, int32_t *days_out)
{
	/* date = date-text / DQUOTE date-text DQUOTE: an atom or a quoted string */
	if (!a || (a->type != IMAP_ARG_ATOM && a->type != IMAP_ARG_STRING))
		return ERR_BAD_SYNTAX;
	return imap_parse_date(a->s, a->len, days_out);
}

/* Two digits at s[i] as a number at most max. */
static int two(const char *s, size_t i, unsigned max, unsigned *out)
{
	uint64_t v;
	if (imap_num(s + i, 2, max, &v) < 0)
		return ERR_BAD_SYNTAX;
	*out = (unsigned)v;
	return 0;
}

int imap_parse_datetime(const char *s, size_t len, int64_t *t_out, int *zone_out)
{
	size_t i = 0;
	int32_t days;
	if (len > 0 && s[0] == ' ')
		i = 1; /* date-day-fixed: SP DIGIT */
	if (date_text(s, len, &i, &days) < 0)
		return ERR_BAD_SYNTAX;
	/* SP hh ":" mm ":" ss SP ("+" / "-") hhmm */
	unsigned hh, mm, ss, zh, zm;
	if (len - i != 15 || s[i] != ' ' || s[i + 3] != ':' || s[i + 6] != ':' || s[i + 9] != ' ' ||
	    (s[i + 10] != '+' && s[i + 10] != '-'))
		return ERR_BAD_SYNTAX;
	if (two(s, i + 1, 23, &hh) < 0 || two(s, i + 4, 59, &mm) < 0 ||
	    two(s, i + 7, 60, &ss) < 0 || two(s, i + 11, 23, &zh) < 0 ||
	    two(s, i + 13, 59, &zm) < 0)
		return ERR_BAD_SYNTAX;
	if (ss == 60)
		ss = 59; /* a leap second: the time_t scale has none */
	int zone = (int)(zh * 60 + zm) * (s[i + 10] == '-' ? -1 : 1);
	*t_out = (int64_t)days * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
	*zone_out = zone;
	return 0;
}
