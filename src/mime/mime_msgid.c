/* mime_msgid.c: message ids of Message-ID, References and In-Reply-To (RFC 5322 3.6.4),
 * normalized so that the same id compares equal wherever it was written: "<" id ">"
 * with whitespace, control characters and comments taken out (folding, obs-id CFWS).
 * Lenient: phrases and junk between ids are skipped, a "<" inside an unclosed id starts
 * over. Bounds: LIMIT_MSGID bytes per id, LIMIT_REFERENCES ids per list; input values
 * are what the caller passes (mime_extract cuts them at MIME_VALUE_MAX). Output lives
 * in the caller's arena. */
#include "mime_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/banned.h"

/* After the comment starting at v[i] == '(' (nested, with quoted-pairs). */
static size_t skip_comment(const uint8_t *v, size_t n, size_t i)
{
	unsigned depth = 0;
	for (; i < n; i++) {
		if (v[i] == '\\')
			i++;
		else if (v[i] == '(')
			depth++;
		else if (v[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* After the quoted string starting at v[i] == '"'. */
static size_t skip_quoted(const uint8_t *v, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (v[i] == '\\')
			i++;
		else if (v[i] == '"')
			return i + 1;
	}
	return n;
}

struct idbuf {
	uint8_t b[LIMIT_MSGID];
	size_t len;
	bool over;
};

static void id_put(struct idbuf *id, uint8_t c)
{
	if (c <= 0x20 || c == 0x7f)
		return; /* whitespace and controls are not part of an id */
	if (id->len == sizeof(id->b))
		id->over = true;
	else
		id->b[id->len++] = c;
}

/* The id whose "<" is at v[*i]. true with id filled and *i after its ">"; false with
 * *i where scanning goes on (after ">" of an unusable id, at a new "<", or at n). */
static bool bracketed(const uint8_t *v, size_t n, size_t *i, struct idbuf *id)
{
	id->len = 0;
	id->over = false;
	for (size_t j = *i + 1; j < n;) {
		uint8_t c = v[j];
		if (c == '>') {
			*i = j + 1;
			return id->len > 0 && !id->over;
		}
		if (c == '<') {
			*i = j;
			return false;
		}
		if (c == '(') {
			j = skip_comment(v, n, j);
		} else if (c == '"' || c == '[') {
			/* A quoted local part or domain literal: its "(" and ">" are text. */
			size_t e = c == '"' ? skip_quoted(v, n, j) : j + 1;
			while (c == '[' && e < n && v[e - 1] != ']')
				e++;
			for (; j < e; j++)
				id_put(id, v[j]);
		} else {
			if (c == '\\' && j + 1 < n)
				id_put(id, v[j++]);
			id_put(id, v[j++]);
		}
	}
	*i = n;
	return false;
}

/* The next id at or after *i. */
static bool next_id(const uint8_t *v, size_t n, size_t *i, struct idbuf *id)
{
	while (*i < n) {
		uint8_t c = v[*i];
		if (c == '(')
			*i = skip_comment(v, n, *i);
		else if (c == '"')
			*i = skip_quoted(v, n, *i); /* a phrase ("x's message" <id>) */
		else if (c == '<') {
			if (bracketed(v, n, i, id))
				return true;
		} else
			(*i)++;
	}
	return false;
}

static int id_str(struct arena *a, const struct idbuf *id, struct mime_str *out)
{
	char *s = arena_alloc(a, id->len + 3);
	if (!s)
		return ERR_NOMEM;
	s[0] = '<';
	memcpy(s + 1, id->b, id->len);
	s[id->len + 1] = '>';
	s[id->len + 2] = '\0';
	out->s = s;
	out->len = id->len + 2;
	return 0;
}

/* v as one bare token holding "@", comments and outer whitespace dropped. */
static bool bare_id(const uint8_t *v, size_t n, struct idbuf *id)
{
	bool at = false, ended = false;
	id->len = 0;
	id->over = false;
	for (size_t i = 0; i < n;) {
		if (v[i] == '(') {
			i = skip_comment(v, n, i);
			ended = id->len > 0;
			continue;
		}
		if (v[i] <= 0x20 || v[i] == 0x7f) {
			ended = id->len > 0;
			i++;
			continue;
		}
		if (ended || v[i] == '<' || v[i] == '>' || v[i] == '"')
			return false;
		at |= v[i] == '@';
		id_put(id, v[i++]);
	}
	return at && id->len > 1 && !id->over;
}

int mime_msgid_first(struct arena *a, const uint8_t *v, size_t n, struct mime_str *out)
{
	struct idbuf id;
	size_t i = 0;
	out->s = NULL;
	out->len = 0;
	if (next_id(v, n, &i, &id) || bare_id(v, n, &id))
		return id_str(a, &id, out);
	return 0;
}

/* ---- lists ---- */

struct ref {
	const char *s; /* "<id>" in the arena */
	size_t len;
	size_t pos; /* order of appearance */
	bool keep;
};

static int ref_cmp(const void *x, const void *y)
{
	const struct ref *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c == 0 && a->len != b->len)
		c = a->len < b->len ? -1 : 1;
	if (c == 0)
		c = a->pos < b->pos ? -1 : a->pos > b->pos;
	return c;
}

static int pos_cmp(const void *x, const void *y)
{
	const struct ref *a = x, *b = y;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool is_self(const struct mime_str *self, const struct mime_str *s)
{
	return self && self->s && self->len == s->len && memcmp(self->s, s->s, s->len) == 0;
}

/* Every id of vals, self left out, in an arena array. */
static int collect(struct arena *a, const struct mime_str *vals, size_t nvals,
                   const struct mime_str *self, struct ref **out, size_t *n_out)
{
	size_t cap = 0, n = 0;
	for (size_t k = 0; k < nvals; k++)
		for (size_t i = 0; vals[k].s && i < vals[k].len; i++)
			cap += vals[k].s[i] == '<'; /* no more ids than "<" */
	struct ref *refs = arena_alloc(a, (cap ? cap : 1) * sizeof(*refs));
	if (!refs)
		return ERR_NOMEM;
	for (size_t k = 0; k < nvals; k++) {
		const uint8_t *v = (const uint8_t *)vals[k].s;
		size_t i = 0;
		struct idbuf id;
		while (v && next_id(v, vals[k].len, &i, &id)) {
			struct mime_str s;
			if (id_str(a, &id, &s) < 0)
				return ERR_NOMEM;
			if (is_self(self, &s))
				continue;
			refs[n] = (struct ref){s.s, s.len, n, false};
			n++;
		}
	}
	*out = refs;
	*n_out = n;
	return 0;
}

int mime_msgid_list(struct arena *a, const struct mime_str *vals, size_t nvals,
                    const struct mime_str *self, struct mime_str *out)
{
	struct ref *refs;
	size_t n, kept = 0;
	out->s = NULL;
	out->len = 0;
	int r = collect(a, vals, nvals, self, &refs, &n);
	if (r < 0 || n == 0)
		return r;
	/* Duplicates by sorting (n log n whatever the ids are), first occurrence kept. */
	qsort(refs, n, sizeof(*refs), ref_cmp);
	for (size_t i = 0; i < n; i++) {
		refs[i].keep = i == 0 || refs[i].len != refs[i - 1].len ||
		               memcmp(refs[i].s, refs[i - 1].s, refs[i].len) != 0;
		kept += refs[i].keep;
	}
	qsort(refs, n, sizeof(*refs), pos_cmp);
	struct mime_sb sb;
	mime_sb_init(&sb, a, SIZE_MAX - 1);
	size_t seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (!refs[i].keep)
			continue;
		/* The first (the thread's root) and the most recent ones. */
		bool take = seen == 0 || kept - seen < LIMIT_REFERENCES;
		seen++;
		if (!take)
			continue;
		if (sb.len)
			mime_sb_putc(&sb, ' ');
		mime_sb_put(&sb, refs[i].s, refs[i].len);
	}
	return mime_sb_finish(&sb, out);
}
