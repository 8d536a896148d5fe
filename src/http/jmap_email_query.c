/* jmap_email_query.c: Email/query and Email/queryChanges (RFC 8621 4.4, 4.5; RFC 8620
 * 5.5, 5.6) over store_email_query, which sorts and windows in SQL.
 *
 * What the store answers is what is supported: the filter conditions inMailbox (or
 * none: the whole account), the sorts receivedAt and size (one Comparator; ties by
 * EMAILID), collapseThreads, position (negative from the end), anchor + anchorOffset,
 * limit, calculateTotal. Every other filter condition, a FilterOperator, or
 * inMailboxOtherThan is unsupportedFilter; any other sort, or more than one
 * Comparator, unsupportedSort. With no sort the order is receivedAt descending,
 * newest first, as a mail list shows it.
 *
 * An inMailbox id that names no mailbox of the account (unknown, deleted, or
 * another account's) matches no Email: an empty result, the same answer as for an
 * empty mailbox, so a query tells nothing about other accounts.
 *
 * queryState is the account's state; canCalculateChanges is false and
 * Email/queryChanges answers cannotCalculateChanges (RFC 8620 5.6 allows it): the
 * client re-runs the query. */
#include "http/jmap_email.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "store/store.h"

/* filter -> q->mailbox_id. *none_out: inMailbox names no mailbox of ours. */
static int query_filter(struct jmap_ctx *x, json_t *filter, struct store_email_query *q,
			bool *none_out)
{
	const char *key;
	json_t *v;
	*none_out = false;
	if (!filter)
		return 0;
	json_object_foreach(filter, key, v) {
		if (strcmp(key, "inMailbox") != 0)
			return jmap_method_error(x, "unsupportedFilter",
						 arena_printf(x->a, "filter %.100s is not supported",
							      key));
	}
	json_t *mb = json_object_get(filter, "inMailbox");
	if (!mb || json_is_null(mb))
		return 0;
	if (!json_is_string(mb))
		return jmap_method_error(x, "invalidArguments", "filter inMailbox: not an Id");
	const char *id = jmap_resolve_id(x, json_string_value(mb));
	struct store_mailbox *m;
	size_t n;
	if (store_mailbox_list(x->st, x->a, &m, &n) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	for (size_t i = 0; id && i < n; i++)
		if (m[i].mailboxid && strcmp(m[i].mailboxid, id) == 0) {
			q->mailbox_id = m[i].id;
			return 0;
		}
	*none_out = true;
	return 0;
}

/* sort -> q->sort, q->ascending. */
static int query_sort(struct jmap_ctx *x, json_t *sort, struct store_email_query *q)
{
	q->sort = STORE_SORT_RECEIVED;
	q->ascending = false;
	if (!sort || json_array_size(sort) == 0)
		return 0;
	if (json_array_size(sort) > 1)
		return jmap_method_error(x, "unsupportedSort", "one Comparator at most");
	json_t *c = json_array_get(sort, 0);
	const char *prop = json_string_value(json_object_get(c, "property"));
	json_t *asc = json_object_get(c, "isAscending");
	if (strcmp(prop, "receivedAt") == 0)
		q->sort = STORE_SORT_RECEIVED;
	else if (strcmp(prop, "size") == 0)
		q->sort = STORE_SORT_SIZE;
	else
		return jmap_method_error(x, "unsupportedSort",
					 arena_printf(x->a, "sort by %.100s is not supported",
						      prop));
	q->ascending = !asc || json_is_true(asc);   /* RFC 8620 5.5: default true */
	return 0;
}

static int collapse_arg(struct jmap_ctx *x, json_t *args, bool *out)
{
	json_t *v = json_object_get(args, "collapseThreads");
	*out = json_is_true(v);
	if (v && !json_is_null(v) && !json_is_boolean(v))
		return jmap_method_error(x, "invalidArguments", "collapseThreads: not a boolean");
	return 0;
}

int jmap_email_query(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_query_args qa;
	struct store_email_query q = {0};
	struct store_email_list l = {0};
	const char *state;
	bool none;
	if (jmap_query_parse(x, args, &qa) < 0 || query_filter(x, qa.filter, &q, &none) < 0 ||
	    query_sort(x, qa.sort, &q) < 0 || collapse_arg(x, args, &q.collapse_threads) < 0)
		return ERR_INVAL;
	if (jmap_state(x, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	q.position = qa.position;
	q.anchor = qa.anchor;
	q.anchor_offset = qa.anchor_offset;
	/* limit 0 still answers position and total: ask for one id and drop it. */
	q.limit = qa.limit ? qa.limit : 1;
	int rc = none ? (qa.anchor ? ERR_NOTFOUND : 0) : store_email_query(x->st, &q, x->a, &l);
	if (rc == ERR_NOTFOUND)
		/* the mailbox was resolved above, so what the store did not find is the
		 * anchor (or the mailbox went meanwhile: then no anchor is in it either) */
		return qa.anchor ? jmap_method_error(x, "anchorNotFound", NULL)
				 : jmap_method_error(x, "serverFail", NULL);
	if (rc < 0)
		return jmap_method_error(x, "serverFail", NULL);
	size_t count = qa.limit ? l.n : 0;
	*result_out = jmap_query_result(x, &qa, state, false, l.ids, count, 0, count);
	if (!*result_out ||
	    json_object_set_new(*result_out, "position", json_integer((json_int_t)l.position)) < 0 ||
	    (qa.calculate_total &&
	     json_object_set_new(*result_out, "total", json_integer((json_int_t)l.total)) < 0))
		return jmap_method_error(x, "serverFail", NULL);
	return 0;
}

int jmap_email_querychanges(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_querychanges_args qc;
	struct store_email_query q = {0};
	bool none;
	(void)result_out;
	/* The arguments are checked like a query's, so a malformed call gets its own
	 * error rather than this one. */
	if (jmap_querychanges_parse(x, args, &qc) < 0 || query_filter(x, qc.filter, &q, &none) < 0 ||
	    query_sort(x, qc.sort, &q) < 0 || collapse_arg(x, args, &q.collapse_threads) < 0)
		return ERR_INVAL;
	return jmap_method_error(x, "cannotCalculateChanges",
				 "query changes are not kept: run Email/query again");
}
