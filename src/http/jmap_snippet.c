/* jmap_snippet.c: SearchSnippet/get (RFC 8621 5.1): for each of emailIds, its subject
 * and preview with the terms of the filter's text conditions marked.
 *
 * Terms: the values of text, subject (for the subject) and text, body (for the
 * preview) conditions, except those under a NOT (an Email found by them does not hold
 * them). A term matches as the full-text index matches it: a substring after
 * store_search_fold on both sides (decoded header, case folded, accents kept).
 * subject is the decoded Subject; preview is the Email's stored preview (RFC 8970, the
 * start of its text, at most 256 characters) when a term occurs in it, else about 256
 * characters of the message's text around the first term that occurs (the text
 * delivery extracted for the index, read again with mime_extract from messages up to
 * LIMIT_JMAP_SNIPPET_MESSAGE; whitespace runs as one space, "…" where it was cut). Every match is wrapped in <mark></mark> (overlapping matches
 * in one), everything else HTML-escaped (& < > " '); null when no term occurs in the
 * field. An id that is not an Email of this account (unknown, malformed, another
 * account's) is in notFound. Bounds: LIMIT_JMAP_OBJECTS_GET emailIds (requestTooLarge),
 * LIMIT_JMAP_FILTER_CONDITIONS terms (the filter's own bound). Memory: x->a. */
#include "http/jmap_email.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "http/jmap.h"
#include "http/jmap_email_query_int.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

struct terms {
	const char *v[LIMIT_JMAP_FILTER_CONDITIONS];
	size_t n;
};

/* The folded terms of the conditions in f (not under NOT) for the subject or body. */
static int collect(struct arena *a, const struct jmap_filter *f, bool subject,
		   struct terms *t)
{
	if (f->kind == JMAP_FILTER_NOT)
		return 0;
	for (size_t i = 0; i < f->n_kids; i++)
		if (collect(a, &f->kids[i], subject, t) < 0)
			return ERR_NOMEM;
	bool want = f->kind == JMAP_FILTER_TEXT ||
		    f->kind == (subject ? JMAP_FILTER_SUBJECT : JMAP_FILTER_BODY);
	if (!want || !f->str[0] || t->n == LIMIT_JMAP_FILTER_CONDITIONS)
		return 0;
	size_t n = strlen(f->str);
	char *s = arena_alloc(a, n + 1);
	if (!s)
		return ERR_NOMEM;
	s[store_search_fold(f->str, n, s)] = '\0';
	t->v[t->n++] = s;
	return 0;
}

/* text folded as the index folds it, a character at a time, so that a match in the
 * folded text maps back to the original's bytes: from[j] is the original offset of
 * folded byte j (from[len] = n), chars (when not NULL) the start of each character
 * (chars[count] = n). Returns false when out of memory. */
struct folded {
	char *text;
	size_t len, *from, *chars, count;
};

static bool fold_text(struct arena *a, const char *text, size_t n, bool want_chars,
		      struct folded *f)
{
	f->text = arena_alloc(a, n + 1);
	f->from = arena_alloc(a, (n + 1) * sizeof(*f->from));
	f->chars = want_chars ? arena_alloc(a, (n + 1) * sizeof(*f->chars)) : NULL;
	if (!f->text || !f->from || (want_chars && !f->chars))
		return false;
	f->len = f->count = 0;
	for (size_t i = 0; i < n;) {
		size_t l = str_utf8_seq(text + i, n - i, NULL);
		l = l ? l : 1;
		size_t k = store_search_fold(text + i, l, f->text + f->len);
		for (size_t j = 0; j < k; j++)
			f->from[f->len + j] = i;
		f->len += k;
		if (want_chars)
			f->chars[f->count++] = i;
		i += l;
	}
	f->from[f->len] = n;
	if (want_chars)
		f->chars[f->count] = n;
	return true;
}

/* text with the terms marked and the rest escaped, or NULL (no term occurs). */
static json_t *mark(struct arena *a, const char *text, size_t n, const struct terms *t)
{
	struct folded f;
	bool *marked = arena_alloc(a, n + 1);
	if (!marked || !fold_text(a, text, n, false, &f))
		return NULL;
	memset(marked, 0, n + 1);
	const char *fold = f.text;
	const size_t fl = f.len, *from = f.from;
	bool any = false;
	for (size_t k = 0; k < t->n; k++) {
		size_t tl = strlen(t->v[k]);
		for (const char *p = fold; tl && (p = memmem(p, fl - (size_t)(p - fold), t->v[k], tl));
		     p++) {
			size_t s = from[p - fold], e = from[p - fold + tl];
			for (size_t b = s; b < e; b++)
				marked[b] = true;
			any = true;
		}
	}
	if (!any)
		return json_null();
	/* at most 19 bytes per input byte: "<mark>&quot;</mark>" for a marked '"' alone */
	char *out = arena_alloc(a, n * 19 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (marked[i] && (i == 0 || !marked[i - 1]))
			memcpy(out + o, "<mark>", 6), o += 6;
		const char *esc = text[i] == '&' ? "&amp;" : text[i] == '<' ? "&lt;"
				  : text[i] == '>' ? "&gt;" : text[i] == '"' ? "&quot;"
				  : text[i] == '\'' ? "&#39;" : NULL;
		if (esc)
			memcpy(out + o, esc, strlen(esc)), o += strlen(esc);
		else
			out[o++] = text[i];
		if (marked[i] && !marked[i + 1])
			memcpy(out + o, "</mark>", 7), o += 7;
	}
	return json_stringn(out, o);
}

/* The decoded Subject and the preview of an Email. */
static int email_texts(struct jmap_eq *q, size_t i, const char **subj, size_t *subj_len,
		       const char **preview)
{
	const struct store_email *e = &q->all[i];
	struct store_msg_extra *xv = NULL;
	size_t n = 0;
	uint32_t next;
	*subj = NULL;
	*preview = NULL;
	int r = store_msg_extra(q->x->st, e->mailbox_ids[0], e->uids[0], e->uids[0],
				STORE_X_PREVIEW, q->x->a, &xv, &n, &next);
	if (r < 0)
		return r;
	if (n && xv[0].preview)
		*preview = xv[0].preview;
	const void *h;
	size_t hn;
	struct mime_field f;
	if ((r = jmap_eq_header(q, i, &h, &hn)) < 0)
		return r;
	if (h && mime_header_find(h, hn, "Subject", &f)) {
		struct mime_str v = {NULL, 0};
		if (mime_decode_words(f.value, f.value_len, q->x->a, &v) < 0 || !v.s)
			return ERR_NOMEM;
		*subj = v.s;
		*subj_len = v.len;
	}
	return 0;
}

/* The message's searchable text (mime_extract, what delivery gave the full-text
 * index, in its original case) in q->scratch; NULL for a message larger than
 * LIMIT_JMAP_SNIPPET_MESSAGE or one gone meanwhile. */
static int body_text(struct jmap_eq *q, size_t i, const char **out, size_t *n_out)
{
	const struct store_email *e = &q->all[i];
	*out = NULL;
	*n_out = 0;
	if (e->size > LIMIT_JMAP_SNIPPET_MESSAGE)
		return 0;
	int fd;
	uint64_t size;
	int r = store_msg_open(q->x->st, e->mailbox_ids[0], e->uids[0], &fd, &size);
	if (r < 0)
		return r == ERR_NOTFOUND ? 0 : r;
	arena_reset(&q->scratch);
	q->header_of = SIZE_MAX;
	size_t want = size < LIMIT_JMAP_SNIPPET_MESSAGE ? (size_t)size : LIMIT_JMAP_SNIPPET_MESSAGE;
	uint8_t *buf = arena_alloc(&q->scratch, want ? want : 1);
	size_t got = 0;
	while (buf && got < want) {
		ssize_t k = pread(fd, buf + got, want - got, (off_t)got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	struct mime_extract ex;
	if (!buf || mime_extract(buf, got, &q->scratch, &ex) < 0)
		return 0; /* no room to read it: no excerpt, the preview stays null */
	*out = ex.text;
	*n_out = ex.text_len;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* About LIMIT_PREVIEW_CHARS characters of text around the first term that occurs in
 * it (a quarter of them before), whitespace runs as one space, cut ends marked with
 * "…"; marked like the rest. JSON null when no term occurs. */
static json_t *excerpt(struct arena *a, const char *text, size_t n, const struct terms *t)
{
	size_t first = SIZE_MAX;
	struct folded f;
	if (!fold_text(a, text, n, true, &f))
		return NULL;
	const char *fold = f.text;
	const size_t fl = f.len, nc = f.count, *from = f.from, *chars = f.chars;
	for (size_t k = 0; k < t->n; k++) {
		const char *p = t->v[k][0] ? memmem(fold, fl, t->v[k], strlen(t->v[k])) : NULL;
		if (p && from[p - fold] < first)
			first = from[p - fold];
	}
	if (first == SIZE_MAX)
		return json_null();
	size_t c = 0;
	while (c < nc && chars[c] < first)
		c++;
	size_t c0 = c > LIMIT_PREVIEW_CHARS / 4 ? c - LIMIT_PREVIEW_CHARS / 4 : 0;
	size_t c1 = c0 + LIMIT_PREVIEW_CHARS < nc ? c0 + LIMIT_PREVIEW_CHARS : nc;
	size_t s = chars[c0], e = chars[c1];
	/* cut between words where there is one between the cut and the term */
	size_t k = s;
	while (s && k < first && !is_space(text[k]))
		k++;
	if (s && k < first)
		s = k;
	k = e;
	while (e < n && k > first && !is_space(text[k - 1]))
		k--;
	if (e < n && k > first)
		e = k;
	char *w = arena_alloc(a, e - s + 1);
	if (!w)
		return NULL;
	size_t wl = 0;
	for (size_t i = s; i < e; i++) {
		bool ws = is_space(text[i]);
		if (ws && (wl == 0 || w[wl - 1] == ' '))
			continue;
		w[wl++] = ws ? ' ' : text[i];
	}
	while (wl && w[wl - 1] == ' ')
		wl--;
	json_t *m = mark(a, w, wl, t);
	if (!m || json_is_null(m) || (s == 0 && e == n))
		return m;
	const char *body = json_string_value(m);
	char *o = arena_printf(a, "%s%s%s", s ? "\xe2\x80\xa6" : "", body, e < n ? "\xe2\x80\xa6" : "");
	json_decref(m);
	return o ? json_string(o) : NULL;
}

static int cmp_id(const void *key, const void *el)
{
	return strcmp(key, ((const struct store_email *)el)->id);
}

static int snippets(struct jmap_ctx *x, json_t *ids, const struct terms *ts,
		    const struct terms *tb, json_t *list, json_t *not_found)
{
	struct jmap_eq q;
	int r = jmap_eq_load(x, &q);
	for (size_t k = 0; r == 0 && k < json_array_size(ids); k++) {
		const char *id = jmap_resolve_id(x, json_string_value(json_array_get(ids, k)));
		const struct store_email *e =
			id && q.n ? bsearch(id, q.all, q.n, sizeof(*q.all), cmp_id) : NULL;
		if (!e) {
			r = json_array_append(not_found, json_array_get(ids, k));
			continue;
		}
		const char *subj, *prev;
		size_t sl = 0;
		if ((r = email_texts(&q, (size_t)(e - q.all), &subj, &sl, &prev)) < 0)
			break;
		json_t *o = json_object();
		json_t *pv = prev ? mark(x->a, prev, strlen(prev), tb) : json_null();
		if (pv && json_is_null(pv) && tb->n) {
			/* the term is further in than the stored preview: an excerpt */
			const char *text;
			size_t tl;
			if ((r = body_text(&q, (size_t)(e - q.all), &text, &tl)) < 0) {
				json_decref(o);
				json_decref(pv);
				break;
			}
			if (text) {
				json_decref(pv);
				pv = excerpt(x->a, text, tl, tb);
			}
		}
		r = json_array_append_new(list, o) < 0 ||
				    json_object_set_new(o, "emailId", json_string(e->id)) < 0 ||
				    json_object_set_new(o, "subject", subj ? mark(x->a, subj, sl, ts)
									   : json_null()) < 0 ||
				    json_object_set_new(o, "preview", pv) < 0
			    ? ERR_NOMEM
			    : 0;
	}
	jmap_eq_free(&q);
	return r;
}

int jmap_snippet_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_filter *f = NULL;
	json_t *ids = json_object_get(args, "emailIds");
	if (jmap_account_check(x, args) < 0 ||
	    jmap_email_filter_arg(x, json_object_get(args, "filter"), &f) < 0)
		return ERR_INVAL;
	if (!json_is_array(ids))
		return jmap_method_error(x, "invalidArguments", "emailIds: not an Id[]");
	if (json_array_size(ids) > LIMIT_JMAP_OBJECTS_GET)
		return jmap_method_error(x, "requestTooLarge", "more emailIds than maxObjectsInGet");
	for (size_t k = 0; k < json_array_size(ids); k++)
		if (!json_is_string(json_array_get(ids, k)))
			return jmap_method_error(x, "invalidArguments", "emailIds: not an Id[]");
	struct terms *ts = arena_alloc(x->a, sizeof(*ts)), *tb = arena_alloc(x->a, sizeof(*tb));
	if (!ts || !tb)
		return jmap_method_error(x, "serverFail", NULL);
	ts->n = tb->n = 0;
	if (f && (collect(x->a, f, true, ts) < 0 || collect(x->a, f, false, tb) < 0))
		return jmap_method_error(x, "serverFail", NULL);
	json_t *list = json_array(), *not_found = json_array();
	int r = list && not_found ? snippets(x, ids, ts, tb, list, not_found) : ERR_NOMEM;
	json_t *res = r == 0 ? json_object() : NULL;
	if (!res) {
		json_decref(list);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", NULL);
	}
	if (!json_array_size(not_found)) {
		json_decref(not_found);
		not_found = json_null();
	}
	/* set_new takes the reference whatever happens */
	if (json_object_set_new(res, "accountId", json_string(x->account_str)) < 0 ||
	    json_object_set_new(res, "list", list) < 0 ||
	    json_object_set_new(res, "notFound", not_found) < 0) {
		json_decref(res);
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = res;
	return 0;
}
