/* client_mbox_date.c: the date of an mbox From_ line ("From sender Tue Dec  1 10:00:00
 * 2026"), the INTERNALDATE kasten migrate gives a message of an mbox file. Pure: reads
 * only p[0..n), at most LIMIT_CLIENT_MBOX_LOOKAHEAD bytes as the reader passes them; at
 * most CLIENT_MBOX_DATE_TOKENS words are looked at. */
#include <string.h>

#include "client/client_mbox_int.h"
#include "core/str.h"
#include "core/banned.h"

#define CLIENT_MBOX_DATE_TOKENS 32 /* a From_ line has 7 or 8 words; senders with spaces
				    * in quotes a few more */

struct mbox_tok {
	const char *p;
	size_t n;
};

static const char *const mbox_months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
					    "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const mbox_days[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* The index of t in names (three letters, any case, maybe with a comma: "Tue,"), or
 * -1. */
static int mbox_name(struct mbox_tok t, const char *const *names, int count)
{
	size_t n = t.n;
	if (n == 4 && t.p[3] == ',')
		n = 3;
	for (int i = 0; n == 3 && i < count; i++)
		if (str_ieq(t.p, 3, names[i]))
			return i;
	return -1;
}

static bool mbox_num(struct mbox_tok t, size_t min, size_t max, int *out)
{
	uint64_t v;
	if (t.n < min || t.n > max || str_to_u64(t.p, t.n, 99999, &v) < 0)
		return false;
	*out = (int)v;
	return true;
}

/* "HH:MM" or "HH:MM:SS" */
static bool mbox_time(struct mbox_tok t, struct tm *tm)
{
	int h, m, s = 0;
	if (t.n != 5 && t.n != 8)
		return false;
	if (t.p[2] != ':' || (t.n == 8 && t.p[5] != ':'))
		return false;
	if (!mbox_num((struct mbox_tok){t.p, 2}, 2, 2, &h) ||
	    !mbox_num((struct mbox_tok){t.p + 3, 2}, 2, 2, &m) ||
	    (t.n == 8 && !mbox_num((struct mbox_tok){t.p + 6, 2}, 2, 2, &s)))
		return false;
	if (h > 23 || m > 59 || s > 60)
		return false;
	tm->tm_hour = h;
	tm->tm_min = m;
	tm->tm_sec = s;
	return true;
}

/* A zone: +HHMM / -HHMM (offset_out in seconds east, utc_out set) or letters (utc_out
 * for UT, UTC, GMT, Z; otherwise a local zone name). */
static bool mbox_zone(struct mbox_tok t, long *offset_out, bool *utc_out)
{
	int v;
	if (t.n == 5 && (t.p[0] == '+' || t.p[0] == '-') &&
	    mbox_num((struct mbox_tok){t.p + 1, 4}, 4, 4, &v) && v % 100 < 60) {
		long off = (v / 100) * 3600L + (v % 100) * 60L;
		*offset_out = t.p[0] == '-' ? -off : off;
		*utc_out = true;
		return true;
	}
	if (t.n < 1 || t.n > 5)
		return false;
	for (size_t i = 0; i < t.n; i++)
		if (!((t.p[i] >= 'A' && t.p[i] <= 'Z') || (t.p[i] >= 'a' && t.p[i] <= 'z')))
			return false;
	*offset_out = 0;
	*utc_out = str_ieq(t.p, t.n, "UT") || str_ieq(t.p, t.n, "UTC") ||
		   str_ieq(t.p, t.n, "GMT") || str_ieq(t.p, t.n, "Z");
	return true;
}

static bool mbox_year(struct mbox_tok t, struct tm *tm)
{
	int y;
	if (!mbox_num(t, 2, 4, &y) || t.n == 3)
		return false;
	if (t.n == 2) /* RFC 5322 4.3 */
		y += y < 50 ? 2000 : 1900;
	if (y < 1900)
		return false;
	tm->tm_year = y - 1900;
	return true;
}

/* The date from token i on: [Wday] Mon DD HH:MM[:SS] [zone] YYYY [zone], or RFC 5322
 * [Wday,] DD Mon YYYY HH:MM[:SS] [zone]. */
static time_t mbox_date_at(const struct mbox_tok *t, size_t nt, size_t i)
{
	struct tm tm = {0};
	long off = 0;
	bool utc = false, zoned = false;
	if (i < nt && mbox_name(t[i], mbox_days, 7) >= 0)
		i++;
	int mon, day;
	if (i + 3 < nt && (mon = mbox_name(t[i], mbox_months, 12)) >= 0) {
		if (!mbox_num(t[i + 1], 1, 2, &day) || !mbox_time(t[i + 2], &tm))
			return 0;
		i += 3;
		if (i < nt && !mbox_year(t[i], &tm)) {
			if (!mbox_zone(t[i], &off, &utc))
				return 0;
			zoned = true;
			i++;
		}
		if (i >= nt || !mbox_year(t[i], &tm))
			return 0;
		i++;
		if (!zoned && i < nt)
			zoned = mbox_zone(t[i], &off, &utc);
	} else if (i + 3 < nt && mbox_num(t[i], 1, 2, &day) &&
		   (mon = mbox_name(t[i + 1], mbox_months, 12)) >= 0) {
		if (!mbox_year(t[i + 2], &tm) || !mbox_time(t[i + 3], &tm))
			return 0;
		if (i + 4 < nt)
			zoned = mbox_zone(t[i + 4], &off, &utc);
	} else {
		return 0;
	}
	if (day < 1 || day > 31)
		return 0;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	time_t r;
	if (zoned && utc) {
		r = timegm(&tm);
		if (r == (time_t)-1)
			return 0;
		r -= off;
	} else { /* ctime() in the writer's zone, which is most likely ours */
		tm.tm_isdst = -1;
		r = mktime(&tm);
		if (r == (time_t)-1)
			return 0;
	}
	return r > 0 ? r : 0;
}

time_t client_mbox_from_date(const char *p, size_t n)
{
	struct mbox_tok t[CLIENT_MBOX_DATE_TOKENS];
	size_t nt = 0, i = 0;
	while (i < n && nt < CLIENT_MBOX_DATE_TOKENS) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		size_t s = i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		if (i > s)
			t[nt++] = (struct mbox_tok){p + s, i - s};
	}
	/* The sender comes first and may hold spaces: the date is the first place from
	 * which the rest reads as one. */
	for (size_t k = 0; k < nt; k++) {
		time_t r = mbox_date_at(t, nt, k);
		if (r != 0)
			return r;
	}
	return 0;
}
