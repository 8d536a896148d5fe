/* imap_sortkey.c: base subjects (RFC 5256 2.1), sent dates (RFC 5322 3.3 and 4.3),
 * i;ascii-casemap and msg-ids for SORT and THREAD. Pure functions over bytes with
 * explicit lengths; the only bound is LIMIT_MSGID for one message id (imap_sortkey.h
 * says what every input leads to). */
#include "imap/imap_sortkey.h"

#include <string.h>

#include "core/date.h"
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

/* ---- dates (the reader is core/date.c's) ---- */

int32_t imap_sortkey_days(int32_t year, unsigned month, unsigned day)
{
	return date_days_from_civil(year, month, day);
}

int imap_sortkey_date(const char *s, size_t n, int64_t *utc_out, int32_t *days_out)
{
	return date_rfc5322_parse(s, n, utc_out, days_out, NULL);
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
			i = date_skip_cfws(s, n, i - 1);
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
