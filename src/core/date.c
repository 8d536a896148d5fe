/* date.c: the RFC 5322 3.3 date-time reader (with the obsolete forms of 4.3) that IMAP
 * SORT/SEARCH and JMAP sentAt / header:Date:asDate share. Pure over bytes, no
 * allocation; date.h says what every input leads to. */
#include "core/date.h"


#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static unsigned char up(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}


int32_t date_days_from_civil(int32_t year, unsigned month, unsigned day)
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

size_t date_skip_cfws(const char *s, size_t n, size_t i)
{
	struct date_in d = {s, n, i};
	cfws(&d);
	return d.i;
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
		if (str_ieq(w, l, names[k].name)) {
			*min_out = names[k].min;
			return true;
		}
	return false;
}

int date_rfc5322_parse(const char *s, size_t n, int64_t *utc_out, int32_t *days_out,
		       int32_t *zone_out)
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
	int32_t days = date_days_from_civil(year, (unsigned)month, (unsigned)day);
	if (days_out)
		*days_out = days;
	if (zone_out)
		*zone_out = zmin;
	if (utc_out)
		*utc_out = (int64_t)days * 86400 + hour * 3600 + min * 60 + sec - (int64_t)zmin * 60;
	return 0;
}
