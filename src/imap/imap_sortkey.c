/* imap_sortkey.c: base subjects (RFC 5256 2.1), sent dates (RFC 5322 3.3 and 4.3),
 * i;ascii-casemap and msg-ids for SORT and THREAD. Pure functions over bytes with
 * explicit lengths; the only bound is LIMIT_MSGID for one message id (imap_sortkey.h
 * says what every input leads to). */
#include "imap/imap_sortkey.h"

#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

static unsigned char up(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Does [p, p+n) start with lit, ASCII case-insensitively? */
static bool starts(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n < l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (up((unsigned char)p[i]) != up((unsigned char)lit[i]))
			return false;
	return true;
}

int imap_sortkey_casecmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	for (size_t i = 0; i < n; i++) {
		unsigned char x = up((unsigned char)a[i]), y = up((unsigned char)b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn;
}

/* ---- base subject ---- */

/* subj-blob = "[" *BLOBCHAR "]" *WSP at p: its length, 0 if there is none. */
static size_t blob(const char *p, size_t n)
{
	if (n == 0 || p[0] != '[')
		return 0;
	size_t i = 1;
	while (i < n && p[i] != ']' && p[i] != '[')
		i++;
	if (i == n || p[i] != ']')
		return 0;
	i++;
	while (i < n && is_wsp((unsigned char)p[i]))
		i++;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at p: its length, or 0. */
static size_t refwd(const char *p, size_t n)
{
	size_t i;
	if (starts(p, n, "re"))
		i = 2;
	else if (starts(p, n, "fwd"))
		i = 3;
	else if (starts(p, n, "fw"))
		i = 2;
	else
		return 0;
	while (i < n && is_wsp((unsigned char)p[i]))
		i++;
	i += blob(p + i, n - i);
	return i < n && p[i] == ':' ? i + 1 : 0;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP at p: its length, or 0. */
static size_t leader(const char *p, size_t n, bool *refwd_out)
{
	if (n && is_wsp((unsigned char)p[0]))
		return 1;
	size_t i = 0, b;
	while ((b = blob(p + i, n - i)) > 0)
		i += b;
	size_t r = refwd(p + i, n - i);
	if (!r)
		return 0;
	*refwd_out = true;
	return i + r;
}

size_t imap_sortkey_base_subject(const char *s, size_t n, char *out, bool *refwd_out)
{
	bool rf = false;
	/* (1) whitespace runs (folds included) as one SP */
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ws = is_wsp(c) || c == '\r' || c == '\n';
		if (ws && len && out[len - 1] == ' ')
			continue;
		out[len++] = ws ? ' ' : (char)c;
	}
	char *p = out;
	for (;;) {
		/* (2) trailing WSP and "(fwd)" */
		for (;;) {
			if (len && p[len - 1] == ' ') {
				len--;
			} else if (len >= 5 && starts(p + len - 5, 5, "(fwd)")) {
				len -= 5;
				rf = true;
			} else {
				break;
			}
		}
		/* (3) leaders and (4) a leading blob with something after it, (5) repeated */
		for (;;) {
			size_t l = leader(p, len, &rf);
			if (l) {
				p += l, len -= l;
				continue;
			}
			size_t b = blob(p, len);
			if (b && b < len) {
				p += b, len -= b;
				continue;
			}
			break;
		}
		/* (6) "[fwd:" subject "]" */
		if (len >= 6 && starts(p, len, "[fwd:") && p[len - 1] == ']') {
			p += 5, len -= 6;
			rf = true;
			continue;
		}
		break;
	}
	memmove(out, p, len);
	if (refwd_out)
		*refwd_out = rf;
	return len;
}

/* ---- dates ---- */

int32_t imap_sortkey_days(int32_t year, unsigned month, unsigned day)
{
	/* days from civil (H. Hinnant): March-based years put the leap day last */
	int32_t y = year - (month <= 2);
	int32_t era = (y >= 0 ? y : y - 399) / 400;
	int32_t yoe = y - era * 400;
	int32_t mp = (int32_t)(month > 2 ? month - 3 : month + 9);
	int32_t doy = (153 * mp + 2) / 5 + (int32_t)day - 1;
	int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct date_in {
	const char *p;
	size_t n, i;
};

/* CFWS: WSP, line ends and comments (nested, quoted-pairs inside). */
static void cfws(struct date_in *d)
{
	while (d->i < d->n) {
		unsigned char c = (unsigned char)d->p[d->i];
		if (is_wsp(c) || c == '\r' || c == '\n') {
			d->i++;
		} else if (c == '(') {
			unsigned depth = 0;
			while (d->i < d->n) {
				c = (unsigned char)d->p[d->i++];
				if (c == '\\' && d->i < d->n)
					d->i++;
				else if (c == '(')
					depth++;
				else if (c == ')' && --depth == 0)
					break;
			}
		} else {
			return;
		}
	}
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A run of letters after CFWS: its start and length (0 if none). */
static size_t word(struct date_in *d, const char **w)
{
	cfws(d);
	*w = d->p + d->i;
	size_t l = 0;
	while (d->i < d->n && is_alpha((unsigned char)d->p[d->i]))
		d->i++, l++;
	return l;
}

/* 1..max digits after CFWS (when skip_cfws), as a number; -1 if none. */
static int32_t number(struct date_in *d, size_t max, bool skip_cfws, size_t *digits_out)
{
	if (skip_cfws)
		cfws(d);
	int32_t v = 0;
	size_t k = 0;
	while (d->i < d->n && k < max && d->p[d->i] >= '0' && d->p[d->i] <= '9')
		v = v * 10 + (d->p[d->i++] - '0'), k++;
	if (digits_out)
		*digits_out = k;
	/* more digits than the field has: not this field */
	if (k == 0 || (d->i < d->n && d->p[d->i] >= '0' && d->p[d->i] <= '9'))
		return -1;
	return v;
}

static int month_of(const char *w, size_t l)
{
	static const char names[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
	if (l < 3)
		return 0;
	for (int m = 0; m < 12; m++)
		if (up((unsigned char)w[0]) == names[3 * m] &&
		    up((unsigned char)w[1]) == names[3 * m + 1] &&
		    up((unsigned char)w[2]) == names[3 * m + 2])
			return m + 1;
	return 0;
}

/* The zone at d in minutes east of UTC; false when what is there is no zone. */
static bool zone(struct date_in *d, int32_t *min_out)
{
	static const struct {
		const char *name;
		int32_t min;
	} names[] = {{"UT", 0},        {"GMT", 0},       {"EST", -5 * 60}, {"EDT", -4 * 60},
		     {"CST", -6 * 60}, {"CDT", -5 * 60}, {"MST", -7 * 60}, {"MDT", -6 * 60},
		     {"PST", -8 * 60}, {"PDT", -7 * 60}};
	cfws(d);
	*min_out = 0;
	if (d->i == d->n)
		return true; /* none: read as +0000 */
	char sign = d->p[d->i];
	if (sign == '+' || sign == '-') {
		d->i++;
		size_t k;
		int32_t v = number(d, 4, false, &k);
		if (v < 0 || k != 4 || v % 100 > 59)
			return false;
		*min_out = (v / 100 * 60 + v % 100) * (sign == '-' ? -1 : 1);
		return true;
	}
	const char *w;
	size_t l = word(d, &w);
	if (l == 1)
		return true; /* military: -0000 (RFC 5322 4.3) */
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (l == strlen(names[k].name) && starts(w, l, names[k].name)) {
			*min_out = names[k].min;
			return true;
		}
	return false;
}

int imap_sortkey_date(const char *s, size_t n, int64_t *utc_out, int32_t *days_out)
{
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct date_in d = {s, n, 0};
	const char *w;
	size_t l = word(&d, &w);
	if (l) { /* day-of-week, with or without its comma */
		cfws(&d);
		if (d.i < d.n && d.p[d.i] == ',')
			d.i++;
	}
	size_t k;
	int32_t day = number(&d, 2, true, NULL);
	int month = month_of(w, word(&d, &w));
	int32_t year = number(&d, 4, true, &k);
	if (day < 1 || !month || year < 0)
		return ERR_BAD_SYNTAX;
	if (k == 2)
		year += year < 50 ? 2000 : 1900;
	else if (k == 3)
		year += 1900;
	if (year < 1000)
		return ERR_BAD_SYNTAX;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if ((unsigned)day > mdays[month - 1] + (month == 2 && leap))
		return ERR_BAD_SYNTAX;
	int32_t hour = number(&d, 2, true, NULL), min = -1, sec = 0;
	cfws(&d);
	if (d.i < d.n && d.p[d.i] == ':') {
		d.i++;
		min = number(&d, 2, true, NULL);
		cfws(&d);
		if (d.i < d.n && d.p[d.i] == ':') {
			d.i++;
			sec = number(&d, 2, true, NULL);
		}
	}
	int32_t zmin;
	if (hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || !zone(&d, &zmin))
		return ERR_BAD_SYNTAX;
	if (sec == 60)
		sec = 59;
	int32_t days = imap_sortkey_days(year, (unsigned)month, (unsigned)day);
	if (days_out)
		*days_out = days;
	if (utc_out)
		*utc_out = (int64_t)days * 86400 + hour * 3600 + min * 60 + sec - (int64_t)zmin * 60;
	return 0;
}

/* ---- message ids ---- */

struct id_buf {
	char b[LIMIT_MSGID + 2];
	size_t len;
	bool over;
};

static void id_put(struct id_buf *id, char c)
{
	if (id->len < sizeof(id->b))
		id->b[id->len++] = c;
	else
		id->over = true;
}

/* The id inside "<" ... ">" from *i (after the '<') to its '>', normalized into id;
 * false when the value ends first. */
static bool id_body(const char *s, size_t n, size_t *i, struct id_buf *id)
{
	unsigned depth = 0;
	id->len = 0;
	id->over = false;
	id_put(id, '<');
	while (*i < n) {
		char c = s[(*i)++];
		if (depth) { /* a comment */
			if (c == '\\' && *i < n)
				(*i)++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '>') {
			id_put(id, '>');
			return true;
		} else if (c == '(') {
			depth = 1;
		} else if (c == '\\' && *i < n) {
			id_put(id, s[(*i)++]);
		} else if (c != '"' && !is_wsp((unsigned char)c) && c != '\r' && c != '\n') {
			id_put(id, c);
		}
	}
	return false;
}

/* "<" 1*x "@" 1*x ">" with no second '@' before the last one mattered: one '@' with
 * something on each side. */
static bool id_valid(const struct id_buf *id)
{
	if (id->over || id->len < 5)
		return false;
	const char *at = memchr(id->b, '@', id->len);
	return at && at > id->b + 1 && at < id->b + id->len - 2;
}

size_t imap_sortkey_msgids(const char *s, size_t n, imap_sortkey_id_fn fn, void *arg)
{
	struct id_buf id;
	size_t count = 0, i = 0;
	while (i < n) {
		char c = s[i++];
		if (c == '(') { /* a comment outside the brackets */
			struct date_in d = {s, n, i - 1};
			cfws(&d);
			i = d.i;
		} else if (c == '"') { /* a quoted phrase (In-Reply-To): skipped whole */
			while (i < n && s[i] != '"')
				i += s[i] == '\\' ? 2 : 1;
			i++;
		} else if (c == '<') {
			if (!id_body(s, n, &i, &id))
				break;
			if (id_valid(&id)) {
				count++;
				if (!fn(arg, id.b, id.len))
					break;
			}
		}
	}
	return count;
}
