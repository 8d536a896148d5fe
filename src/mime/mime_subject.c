/* mime_subject.c: the base subject of RFC 5256 2.1, which IMAP SORT and THREAD and
 * JMAP's Email/query sort by "subject" (RFC 8621 4.4.2) compare. A pure function over
 * bytes with explicit lengths, no allocation: the result is written into room the
 * caller gives (never longer than the input). */
#include "mime/mime.h"

#include <string.h>

#include "core/str.h"
#include "core/banned.h"

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

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
	if (str_iprefix(p, n, "re"))
		i = 2;
	else if (str_iprefix(p, n, "fwd"))
		i = 3;
	else if (str_iprefix(p, n, "fw"))
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

size_t mime_base_subject(const char *s, size_t n, char *out, bool *refwd_out)
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
			} else if (len >= 5 && str_iprefix(p + len - 5, 5, "(fwd)")) {
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
		if (len >= 6 && str_iprefix(p, len, "[fwd:") && p[len - 1] == ']') {
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
