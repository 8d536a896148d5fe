/* jmap_email_query.c: Email/query and Email/queryChanges (RFC 8621 4.4, 4.5; RFC 8620
 * 5.5, 5.6): every FilterCondition and FilterOperator of RFC 8621 4.4.1
 * (jmap_email_filter.c reads them, jmap_email_query_eval.c decides them), every sort of
 * 4.4.2 (jmap_email_query_sort.c), collapseThreads, position (negative from the end),
 * anchor + anchorOffset, limit, calculateTotal.
 *
 * Two paths give the same answers. A query that is at most inMailbox, sorted by one of
 * receivedAt or size (the mail list: the common case, and the one that must stay fast
 * on a big mailbox) is answered by store_email_query, which sorts and windows in SQL.
 * Any other reads the account's Emails once (store_email_scan), keeps the matches,
 * sorts them, collapses threads and takes the window here. With no sort the order is
 * receivedAt descending, newest first, as a mail list shows it.
 *
 * An inMailbox id that names no mailbox of the account (unknown, deleted, or
 * another account's) matches no Email: an empty result, the same answer as for an
 * empty mailbox, so a query tells nothing about other accounts.
 *
 * queryState is the account's state; canCalculateChanges is true unless the results
 * depend on other Emails of a thread (collapseThreads, the *InThreadHaveKeyword
 * conditions and sorts): Email/queryChanges is jmap_email_querychanges.c's. */
#include "http/jmap_email.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "http/jmap_email_query_int.h"
#include "store/store.h"

int jmap_eq_collapse_arg(struct jmap_ctx *x, json_t *args, bool *out)
{
	json_t *v = json_object_get(args, "collapseThreads");
	*out = json_is_true(v);
	if (v && !json_is_null(v) && !json_is_boolean(v))
		return jmap_method_error(x, "invalidArguments", "collapseThreads: not a boolean");
	return 0;
}

/* Is the query one store_email_query answers: no filter or just inMailbox, one
 * Comparator on receivedAt or size? *mailbox_out: the inMailbox condition or NULL. */
static bool store_answers(const struct jmap_filter *f, const struct jmap_comparator *c,
			  size_t nc, const struct jmap_filter **mailbox_out)
{
	*mailbox_out = NULL;
	if (nc != 1 || (c[0].prop != JMAP_SORT_RECEIVED_AT && c[0].prop != JMAP_SORT_SIZE))
		return false;
	if (!f)
		return true;
	if (f->kind != JMAP_FILTER_AND || f->n_kids > 1)
		return false;
	if (f->n_kids == 1 && f->kids[0].kind != JMAP_FILTER_IN_MAILBOX)
		return false;
	*mailbox_out = f->n_kids ? &f->kids[0] : NULL;
	return true;
}

/* The fast path: store_email_query. */
static int query_store(struct jmap_ctx *x, const struct jmap_query_args *qa,
		       const struct jmap_filter *mb, const struct jmap_comparator *c,
		       bool collapse, bool calculable, const char *state, json_t **result_out)
{
	struct store_email_query q = {0};
	struct store_email_list l = {0};
	bool none = false;
	if (mb) {
		const char *id = jmap_resolve_id(x, mb->str);
		struct store_mailbox *m;
		size_t n;
		if (store_mailbox_list(x->st, x->a, &m, &n) < 0)
			return jmap_method_error(x, "serverFail", NULL);
		none = true;
		for (size_t i = 0; id && i < n; i++)
			if (m[i].mailboxid && strcmp(m[i].mailboxid, id) == 0) {
				q.mailbox_id = m[i].id;
				none = false;
			}
	}
	q.sort = c->prop == JMAP_SORT_SIZE ? STORE_SORT_SIZE : STORE_SORT_RECEIVED;
	q.ascending = c->ascending;
	q.collapse_threads = collapse;
	q.position = qa->position;
	q.anchor = qa->anchor;
	q.anchor_offset = qa->anchor_offset;
	/* limit 0 still answers position and total: ask for one id and drop it. */
	q.limit = qa->limit ? qa->limit : 1;
	q.total = qa->calculate_total;
	int rc = none ? (qa->anchor ? ERR_NOTFOUND : 0) : store_email_query(x->st, &q, x->a, &l);
	if (rc == ERR_NOTFOUND)
		/* the mailbox was resolved above, so what the store did not find is the
		 * anchor (or the mailbox went meanwhile: then no anchor is in it either) */
		return qa->anchor ? jmap_method_error(x, "anchorNotFound", NULL)
				  : jmap_method_error(x, "serverFail", NULL);
	if (rc < 0)
		return jmap_method_error(x, "serverFail", NULL);
	size_t count = qa->limit ? l.n : 0;
	*result_out = jmap_query_result(x, qa, state, calculable, l.ids, count, 0, count);
	if (!*result_out ||
	    json_object_set_new(*result_out, "position", json_integer((json_int_t)l.position)) < 0 ||
	    (qa->calculate_total &&
	     json_object_set_new(*result_out, "total", json_integer((json_int_t)l.total)) < 0))
		return jmap_method_error(x, "serverFail", NULL);
	return 0;
}

/* The matches of f, sorted and collapsed, as EMAILIDs (x->a). */
int jmap_email_query_ids(struct jmap_ctx *x, struct jmap_filter *f,
			 const struct jmap_comparator *c, size_t nc, bool collapse,
			 const char ***ids_out, size_t *n_out)
{
	struct jmap_eq q;
	int r = jmap_eq_load(x, &q);
	if (r == 0 && f)
		r = jmap_eq_prepare(&q, f);
	size_t *idx = r == 0 ? arena_alloc(x->a, (q.n ? q.n : 1) * sizeof(*idx)) : NULL;
	if (r == 0 && !idx)
		r = ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; r == 0 && i < q.n; i++) {
		if (!f || jmap_eq_match(&q, f, i))
			idx[n++] = i;
		r = q.err;
	}
	if (r == 0)
		r = jmap_eq_sort(&q, c, nc, idx, n);
	const char **ids = r == 0 ? arena_alloc(x->a, (n ? n : 1) * sizeof(*ids)) : NULL;
	if (r == 0 && !ids)
		r = ERR_NOMEM;
	uint8_t *seen = r == 0 && collapse ? arena_alloc(x->a, q.n_threads / 8 + 1) : NULL;
	if (r == 0 && collapse && !seen)
		r = ERR_NOMEM;
	if (seen)
		memset(seen, 0, q.n_threads / 8 + 1);
	size_t k = 0;
	for (size_t p = 0; r == 0 && p < n; p++) {
		size_t t = q.em[idx[p]].thread;
		if (seen && (seen[t / 8] >> (t % 8) & 1))
			continue; /* a later Email of a thread already listed */
		if (seen)
			seen[t / 8] |= (uint8_t)(1u << (t % 8));
		ids[k++] = q.all[idx[p]].id;
	}
	jmap_eq_free(&q);
	*ids_out = ids;
	*n_out = k;
	return r;
}

int jmap_email_filter_arg(struct jmap_ctx *x, json_t *filter, struct jmap_filter **out)
{
	struct jmap_filter_error e;
	*out = NULL;
	if (!filter || json_is_null(filter))
		return 0;
	int r = jmap_email_filter_parse(filter, x->a, out, &e);
	if (r == ERR_INVAL)
		return jmap_method_error(x, e.type, e.description);
	return r < 0 ? jmap_method_error(x, "serverFail", NULL) : 0;
}

int jmap_email_query(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_query_args qa;
	struct jmap_filter *f = NULL;
	struct jmap_comparator *c;
	size_t nc;
	bool collapse;
	const char *state;
	if (jmap_query_parse(x, args, &qa) < 0 || jmap_email_filter_arg(x, qa.filter, &f) < 0 ||
	    jmap_eq_sort_parse(x, qa.sort, &c, &nc) < 0 || jmap_eq_collapse_arg(x, args, &collapse) < 0)
		return ERR_INVAL;
	if (jmap_state(x, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	bool calculable = jmap_email_querychanges_ok(f, c, nc, collapse);
	const struct jmap_filter *mb;
	if (store_answers(f, c, nc, &mb))
		return query_store(x, &qa, mb, c, collapse, calculable, state, result_out);
	const char **ids;
	size_t n, first, count;
	int r = jmap_email_query_ids(x, f, c, nc, collapse, &ids, &n);
	if (r == ERR_INVAL || r == ERR_TOO_LONG)
		return jmap_method_error(x, "unsupportedFilter", "a text the index cannot search");
	if (r < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (jmap_query_window(x, &qa, ids, n, &first, &count) < 0)
		return ERR_INVAL;
	if (first > n)
		first = n;
	*result_out = jmap_query_result(x, &qa, state, calculable, ids, n, first, count);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
