/* imap_sortkey.c: sent dates (RFC 5322 3.3 and 4.3, core/date.c's reader),
 * i;ascii-casemap and msg-ids for SORT and THREAD (the base subject is mime.h's
 * mime_base_subject, shared with JMAP). Pure functions over bytes with explicit lengths; the only bound is LIMIT_MSGID for one message id (imap_sortkey.h
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
