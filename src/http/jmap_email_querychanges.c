/* jmap_email_querychanges.c: Email/queryChanges (RFC 8621 4.5, RFC 8620 5.6) without
 * keeping old results: every Email that changed since sinceQueryState (Email/changes:
 * created, updated, destroyed) is in `removed`, and each of them that is in the query's
 * results now is in `added` with its index. RFC 8620 5.6 allows removed to name Emails
 * that were not in the old results, and a client that takes out every removed id and
 * puts in every added one at its index has the new results: an Email that did not
 * change keeps its place relative to the others, as no filter or sort reads another
 * Email. That holds unless collapseThreads or a *InThreadHaveKeyword condition or sort
 * makes one Email's place depend on the others of its thread: such a query says
 * canCalculateChanges false and is answered cannotCalculateChanges. upToId is accepted
 * and not used (the full answer is always right).
 *
 * newQueryState is the state the changes were read up to; the results are computed
 * after, and the whole is read again (at most QC_TRIES times) when the account changed
 * in between, so removed/added and the results describe one state. Bounds: at most
 * maxChanges changed Emails (tooManyChanges past it) and QC_CHANGES_MAX in any case
 * (cannotCalculateChanges past it: the client runs the query again). */
#include "http/jmap_email.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "http/jmap_email_query_int.h"
#include "store/store.h"
#include "core/banned.h"

#define QC_TRIES 3
#define QC_CHANGES_MAX 10000
#define QC_PAGE 1000

static bool filter_uses_threads(const struct jmap_filter *f)
{
	return f && (jmap_email_filter_needs(f) & JMAP_FILTER_NEEDS_THREADS);
}

bool jmap_email_querychanges_ok(const struct jmap_filter *f, const struct jmap_comparator *c,
				size_t nc, bool collapse)
{
	if (collapse || filter_uses_threads(f))
		return false;
	for (size_t i = 0; i < nc; i++)
		if (c[i].prop == JMAP_SORT_ALL_IN_THREAD_HAVE_KEYWORD ||
		    c[i].prop == JMAP_SORT_SOME_IN_THREAD_HAVE_KEYWORD)
			return false;
	return true;
}

/* A state string we gave out: the decimal modseq. */
static bool parse_state(const char *s, uint64_t *out)
{
	if (!s || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1]))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct changed {
	const char **v;            /* malloc'ed, sorted, unique */
	size_t n, cap;
	uint64_t upto;             /* the state they were read up to */
};

static int changed_add(struct changed *c, const char *const *ids, size_t n)
{
	if (c->n + n > QC_CHANGES_MAX)
		return ERR_TOO_BIG;
	if (c->n + n > c->cap) {
		size_t cap = c->n + n + 64;
		const char **nv = realloc(c->v, cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		c->v = nv, c->cap = cap;
	}
	if (n) /* ids and c->v may be NULL when there is nothing (memcpy's contract) */
		memcpy(c->v + c->n, ids, n * sizeof(*ids));
	c->n += n;
	return 0;
}

/* Every Email changed since `since`, up to now. ERR_GONE / ERR_INVAL (not a state we
 * can answer from), ERR_TOO_BIG (past QC_CHANGES_MAX), or a store error. */
static int read_changed(struct jmap_ctx *x, uint64_t since, struct changed *c)
{
	struct store_changes ch;
	c->n = 0;
	do {
		int r = store_email_changes(x->st, since, QC_PAGE, x->a, &ch);
		if (r == 0)
			r = changed_add(c, ch.created, ch.n_created);
		if (r == 0)
			r = changed_add(c, ch.updated, ch.n_updated);
		if (r == 0)
			r = changed_add(c, ch.destroyed, ch.n_destroyed);
		if (r < 0)
			return r;
		since = ch.new_modseq;
	} while (ch.more);
	c->upto = since;
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (!k || strcmp(c->v[k - 1], c->v[i]) != 0)
			c->v[k++] = c->v[i];
	c->n = k;
	return 0;
}

static json_t *answer(struct jmap_ctx *x, const struct jmap_querychanges_args *qc,
		      const struct changed *c, const char *const *ids, size_t n)
{
	json_t *removed = json_array(), *added = json_array();
	json_t *out = json_object();
	const char *state = arena_printf(x->a, "%llu", (unsigned long long)c->upto);
	bool ok = removed && added && out && state;
	for (size_t i = 0; ok && i < c->n; i++)
		ok = json_array_append_new(removed, json_string(c->v[i])) == 0;
	for (size_t i = 0; ok && i < n; i++)
		if (c->n && bsearch(&ids[i], c->v, c->n, sizeof(*c->v), cmp_str))
			ok = json_array_append_new(added, json_pack("{s:s,s:I}", "id", ids[i],
								     "index", (json_int_t)i)) == 0;
	if (ok) {
		ok = json_object_set_new(out, "accountId", json_string(x->account_str)) == 0 &&
		     json_object_set_new(out, "oldQueryState",
					 json_string(qc->since_query_state)) == 0 &&
		     json_object_set_new(out, "newQueryState", json_string(state)) == 0 &&
		     json_object_set(out, "removed", removed) == 0 &&
		     json_object_set(out, "added", added) == 0 &&
		     (!qc->calculate_total ||
		      json_object_set_new(out, "total", json_integer((json_int_t)n)) == 0);
	}
	json_decref(removed);
	json_decref(added);
	if (!ok) {
		json_decref(out);
		return NULL;
	}
	return out;
}

int jmap_email_querychanges(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_querychanges_args qc;
	struct jmap_filter *f;
	struct jmap_comparator *c;
	size_t nc;
	bool collapse;
	uint64_t since;
	if (jmap_querychanges_parse(x, args, &qc) < 0 || jmap_email_filter_arg(x, qc.filter, &f) < 0 ||
	    jmap_eq_sort_parse(x, qc.sort, &c, &nc) < 0 || jmap_eq_collapse_arg(x, args, &collapse) < 0)
		return ERR_INVAL;
	if (!jmap_email_querychanges_ok(f, c, nc, collapse))
		return jmap_method_error(x, "cannotCalculateChanges",
					 "the results depend on the other Emails of a thread: "
					 "run Email/query again");
	if (!parse_state(qc.since_query_state, &since))
		return jmap_method_error(x, "cannotCalculateChanges",
					 "sinceQueryState is not a state of this server");
	struct changed ch = {0};
	int r = 0;
	for (int t = 0; t < QC_TRIES; t++) {
		const char **ids;
		size_t n;
		uint64_t now;
		if ((r = read_changed(x, since, &ch)) < 0)
			break;
		if (qc.max_changes && ch.n > qc.max_changes) {
			free(ch.v);
			return jmap_method_error(x, "tooManyChanges", NULL);
		}
		if ((r = jmap_email_query_ids(x, f, c, nc, false, &ids, &n)) < 0 ||
		    (r = store_modseq(x->st, &now)) < 0)
			break;
		if (now != ch.upto) {
			r = ERR_TEMP; /* changed while the results were read: again */
			continue;
		}
		*result_out = answer(x, &qc, &ch, ids, n);
		free(ch.v);
		return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
	}
	free(ch.v);
	if (r == ERR_GONE || r == ERR_INVAL)
		return jmap_method_error(x, "cannotCalculateChanges",
					 "sinceQueryState is older than the kept changes, or not "
					 "a state of this server: run Email/query again");
	if (r == ERR_TOO_BIG || r == ERR_TEMP)
		return jmap_method_error(x, "cannotCalculateChanges",
					 "too many changes: run Email/query again");
	return jmap_method_error(x, "serverFail", NULL);
}
