/* dkim_zone.c: finds a TXT record in zone-file text (RFC 1035 5.1), for `kasten dkim
 * verify --key-record FILE`: the file `kasten dns DOMAIN` prints works as it is. A pure
 * parser over one buffer (bounded by the caller's file limit); nothing is allocated.
 * What it reads: records of "OWNER [TTL] [CLASS] TYPE RDATA", a record ending at a line
 * end outside parentheses, ';' comments outside quotes, quoted strings with \X and \DDD
 * escapes, unquoted strings. Not read: $ORIGIN/$TTL/$INCLUDE lines and owners left out
 * (a line starting with whitespace): such records are skipped, never guessed at. */
#include "outbound/dkim_int.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/banned.h"

struct zone_tok {
	const uint8_t *p;
	size_t len;
	bool quoted;
};

struct zone_scan {
	const uint8_t *p;
	size_t len, i;
	int depth;       /* open parentheses */
	bool line_start; /* at the start of a line (an owner may follow) */
};

/* The next token of the current record: 1 with it, 0 at the record's end (the line
 * end is consumed), ERR_BAD_SYNTAX for an unterminated string or parenthesis. */
static int zone_next(struct zone_scan *z, struct zone_tok *t, bool *blank_start)
{
	*blank_start = false;
	for (;;) {
		if (z->i >= z->len)
			return z->depth ? ERR_BAD_SYNTAX : 0;
		uint8_t c = z->p[z->i];
		if (c == '\n') {
			z->i++;
			bool was_start = z->line_start;
			z->line_start = true;
			if (z->depth == 0 && !was_start)
				return 0;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			if (z->line_start && z->depth == 0)
				*blank_start = true;
			z->line_start = false;
			z->i++;
			continue;
		}
		z->line_start = false;
		if (c == ';') {
			while (z->i < z->len && z->p[z->i] != '\n')
				z->i++;
			continue;
		}
		if (c == '(' || c == ')') {
			z->depth += c == '(' ? 1 : -1;
			if (z->depth < 0)
				return ERR_BAD_SYNTAX;
			z->i++;
			continue;
		}
		break;
	}
	t->quoted = z->p[z->i] == '"';
	size_t start = z->i + t->quoted;
	z->i = start;
	while (z->i < z->len) {
		uint8_t c = z->p[z->i];
		if (c == '\\' && z->i + 1 < z->len) {
			z->i += 2;
			continue;
		}
		if (t->quoted ? c == '"'
		              : (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
		                 c == '(' || c == ')' || c == '"'))
			break;
		z->i++;
	}
	if (t->quoted && z->i >= z->len)
		return ERR_BAD_SYNTAX;
	t->p = z->p + start;
	t->len = z->i - start;
	z->i += t->quoted; /* the closing quote */
	return 1;
}

/* Append a string's bytes with its escapes resolved (RFC 1035 5.1: \X is X, \DDD the
 * byte DDD). */
static int zone_unescape(const struct zone_tok *t, char *out, size_t cap, size_t *n)
{
	for (size_t i = 0; i < t->len; i++) {
		uint8_t c = t->p[i];
		if (c == '\\' && i + 1 < t->len) {
			c = t->p[++i];
			if (c >= '0' && c <= '9') {
				unsigned v = 0, k = 0;
				for (; k < 3 && i < t->len && t->p[i] >= '0' && t->p[i] <= '9'; k++)
					v = v * 10 + (unsigned)(t->p[i++] - '0');
				if (k != 3 || v > 255)
					return ERR_BAD_SYNTAX;
				i--;
				c = (uint8_t)v;
			}
		}
		if (*n + 1 >= cap)
			return ERR_TOO_BIG;
		out[(*n)++] = (char)c;
	}
	return 0;
}

static bool zone_is(const struct zone_tok *t, const char *s)
{
	size_t n = strlen(s);
	return !t->quoted && t->len == n && !strncasecmp((const char *)t->p, s, n);
}

static bool zone_owner_is(const struct zone_tok *t, const char *name)
{
	size_t len = t->len, n = strlen(name);
	if (len && t->p[len - 1] == '.')
		len--;
	return !t->quoted && len == n && !strncasecmp((const char *)t->p, name, n);
}

/* Skip the rest of the current record. */
static int zone_skip(struct zone_scan *z)
{
	struct zone_tok t;
	bool blank;
	int rc;
	while ((rc = zone_next(z, &t, &blank)) > 0)
		;
	return rc;
}

int dkim_zone_txt(const uint8_t *p, size_t len, const char *name, char *out, size_t cap,
                  size_t *len_out)
{
	struct zone_scan z = {.p = p, .len = len, .line_start = true};
	*len_out = 0;
	if (cap == 0)
		return ERR_TOO_BIG;
	while (z.i < z.len) {
		struct zone_tok t;
		bool blank;
		int rc = zone_next(&z, &t, &blank);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue; /* an empty line */
		if (blank || t.p[0] == '$' || !zone_owner_is(&t, name)) {
			if ((rc = zone_skip(&z)) < 0)
				return rc;
			continue;
		}
		/* [TTL] [CLASS] TYPE, in either order of TTL and class (RFC 1035 5.1) */
		while ((rc = zone_next(&z, &t, &blank)) > 0 &&
		       (zone_is(&t, "IN") || (t.len && t.p[0] >= '0' && t.p[0] <= '9')))
			;
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if (!zone_is(&t, "TXT")) {
			if ((rc = zone_skip(&z)) < 0)
				return rc;
			continue;
		}
		size_t n = 0;
		while ((rc = zone_next(&z, &t, &blank)) > 0)
			if ((rc = zone_unescape(&t, out, cap, &n)) < 0)
				return rc;
		if (rc < 0)
			return rc;
		out[n] = '\0';
		*len_out = n;
		return 0;
	}
	return ERR_NOTFOUND;
}
