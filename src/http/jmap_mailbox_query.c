/* jmap_mailbox_query.c: Mailbox/query (RFC 8621 2.3; RFC 8620 5.5): the account's
 * mailboxes filtered (parentId, name, role, hasAnyRole, isSubscribed; AND/OR/NOT),
 * sorted (name, sortOrder; sortAsTree) and windowed. There is no Mailbox/queryChanges,
 * so canCalculateChanges is false; queryState is the account's state.
 * At most LIMIT_MAILBOXES mailboxes, so the sorts are simple insertion sorts and the
 * tree walk quadratic in them; filters nest as deep as the request (LIMIT_JMAP_DEPTH). */
#include "http/jmap_mailbox.h"

#include <strings.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/store.h"

/* What the filters and comparators read of one mailbox. */
struct mailbox_row {
	const struct store_mailbox *mb;
	const char *name;          /* the last level */
	const char *parent_id;     /* NULL: top level */
	size_t parent;             /* index, n when none */
	const char *role;          /* NULL: none */
};

struct mailbox_sort {
	bool by_name[8], ascending[8], octet[8];
	size_t n;
};

/* 1 when row matches the filter, 0 when not, < 0 after jmap_method_error. Every
 * condition is checked even when the answer is known, so a bad one is always found. */
static int filter_match(struct jmap_ctx *x, json_t *f, const struct mailbox_row *row)
{
	if (!json_is_object(f))
		return jmap_method_error(x, "invalidArguments", "filter: not an object");
	json_t *op = json_object_get(f, "operator");
	if (op) {
		json_t *conds = json_object_get(f, "conditions");
		const char *o = json_string_value(op);
		if (!o || !json_is_array(conds) || json_object_size(f) != 2 ||
		    (strcmp(o, "AND") && strcmp(o, "OR") && strcmp(o, "NOT")))
			return jmap_method_error(x, "invalidArguments", "filter: bad operator");
		size_t i, hits = 0;
		json_t *c;
		json_array_foreach(conds, i, c) {
			int m = filter_match(x, c, row);
			if (m < 0)
				return m;
			hits += (size_t)m;
		}
		if (strcmp(o, "AND") == 0)
			return hits == json_array_size(conds);
		return strcmp(o, "OR") == 0 ? hits > 0 : hits == 0;
	}
	int match = 1;
	const char *key;
	json_t *v;
	json_object_foreach(f, key, v) {
		if (strcmp(key, "parentId") == 0 && (json_is_null(v) || json_is_string(v))) {
			const char *want = json_string_value(v);
			if (want ? !row->parent_id || strcmp(want, row->parent_id) : !!row->parent_id)
				match = 0;
		} else if (strcmp(key, "role") == 0 && (json_is_null(v) || json_is_string(v))) {
			const char *want = json_string_value(v);
			if (want ? !row->role || strcmp(want, row->role) : !!row->role)
				match = 0;
		} else if (strcmp(key, "name") == 0 && json_is_string(v)) {
			if (!strcasestr(row->name, json_string_value(v)))
				match = 0;
		} else if (strcmp(key, "hasAnyRole") == 0 && json_is_boolean(v)) {
			if (json_is_true(v) != (row->role != NULL))
				match = 0;
		} else if (strcmp(key, "isSubscribed") == 0 && json_is_boolean(v)) {
			if (json_is_true(v) != row->mb->subscribed)
				match = 0;
		} else if (strcmp(key, "parentId") && strcmp(key, "role") && strcmp(key, "name") &&
			   strcmp(key, "hasAnyRole") && strcmp(key, "isSubscribed")) {
			return jmap_method_error(x, "unsupportedFilter",
						 arena_printf(x->a, "unknown property %.100s", key));
		} else {
			return jmap_method_error(x, "invalidArguments",
						 arena_printf(x->a, "filter %s: wrong type", key));
		}
	}
	return match;
}

static int sort_parse(struct jmap_ctx *x, json_t *sort, struct mailbox_sort *out)
{
	memset(out, 0, sizeof *out);
	if (!sort)
		return 0;
	size_t i;
	json_t *c;
	json_array_foreach(sort, i, c) {
		json_t *p = json_object_get(c, "property");
		json_t *asc = json_object_get(c, "isAscending");
		json_t *coll = json_object_get(c, "collation");
		if (!json_is_object(c) || !json_is_string(p) || (asc && !json_is_boolean(asc)) ||
		    (coll && !json_is_string(coll)))
			return jmap_method_error(x, "invalidArguments", "sort: bad Comparator");
		const char *prop = json_string_value(p), *cn = json_string_value(coll);
		if ((strcmp(prop, "name") && strcmp(prop, "sortOrder")) ||
		    (cn && strcmp(cn, "i;ascii-casemap") && strcmp(cn, "i;octet") &&
		     strcmp(cn, "i;unicode-casemap")) ||
		    out->n == sizeof out->by_name / sizeof out->by_name[0])
			return jmap_method_error(x, "unsupportedSort", NULL);
		out->by_name[out->n] = strcmp(prop, "name") == 0;
		out->ascending[out->n] = !asc || json_is_true(asc);
		out->octet[out->n] = cn && strcmp(cn, "i;octet") == 0;
		out->n++;
	}
	return 0;
}

/* The comparators in order (sortOrder is 0 for every mailbox), then the full name so
 * the order is total. */
static int row_cmp(const struct mailbox_sort *s, const struct mailbox_row *a,
		   const struct mailbox_row *b)
{
	for (size_t k = 0; k < s->n; k++) {
		if (!s->by_name[k])
			continue;
		int c = s->octet[k] ? strcmp(a->name, b->name) : strcasecmp(a->name, b->name);
		if (c)
			return s->ascending[k] ? c : -c;
	}
	return strcmp(a->mb->name, b->mb->name);
}

/* Append the children of parent (n: the roots), each followed by its own, in the
 * sorted order of order[0..n). */
static void tree_walk(const struct mailbox_row *rows, const size_t *order, size_t n,
		      size_t parent, size_t *out, size_t *n_out, unsigned depth)
{
	for (size_t k = 0; k < n; k++)
		if (rows[order[k]].parent == parent) {
			out[(*n_out)++] = order[k];
			if (depth < LIMIT_MAILBOXES)
				tree_walk(rows, order, n, order[k], out, n_out, depth + 1);
		}
}

static bool ancestors_match(const struct mailbox_row *rows, const bool *match, size_t n,
			    size_t i)
{
	for (size_t hops = 0; rows[i].parent < n && hops < n; hops++) {
		i = rows[i].parent;
		if (!match[i])
			return false;
	}
	return true;
}

int jmap_mailbox_query(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_query_args q;
	struct mailbox_sort sort;
	struct store_mailbox *mbs;
	size_t n, first, count;
	const char *state;
	json_t *as_tree = json_object_get(args, "sortAsTree");
	json_t *filter_tree = json_object_get(args, "filterAsTree");
	if (jmap_query_parse(x, args, &q) < 0 || sort_parse(x, q.sort, &sort) < 0)
		return ERR_INVAL;
	if ((as_tree && !json_is_boolean(as_tree)) || (filter_tree && !json_is_boolean(filter_tree)))
		return jmap_method_error(x, "invalidArguments", "sortAsTree/filterAsTree: not a boolean");
	if (jmap_state(x, &state) < 0 || store_mailbox_list(x->st, x->a, &mbs, &n) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	size_t cap = n ? n : 1;
	struct mailbox_row *rows = arena_zalloc(x->a, cap * sizeof *rows);
	size_t *order = arena_alloc(x->a, cap * sizeof *order);
	size_t *tree = arena_alloc(x->a, cap * sizeof *tree);
	bool *match = arena_zalloc(x->a, cap * sizeof *match);
	const char **ids = arena_alloc(x->a, cap * sizeof *ids);
	if (!rows || !order || !tree || !match || !ids)
		return jmap_method_error(x, "serverFail", "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(mbs[i].name, '/');
		rows[i].mb = &mbs[i];
		rows[i].name = slash ? slash + 1 : mbs[i].name;
		rows[i].parent = jmap_mailbox_parent(mbs, n, &mbs[i]);
		rows[i].parent_id = rows[i].parent < n ? mbs[rows[i].parent].mailboxid : NULL;
		rows[i].role = jmap_mailbox_role(&mbs[i]);
		int m = q.filter ? filter_match(x, q.filter, &rows[i]) : 1;
		if (m < 0)
			return ERR_INVAL;
		match[i] = m;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		for (; j > 0 && row_cmp(&sort, &rows[order[j - 1]], &rows[i]) > 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	size_t n_order = n;
	if (json_is_true(as_tree)) {
		n_order = 0;
		tree_walk(rows, order, n, n, tree, &n_order, 0);
		order = tree;
	}
	size_t n_ids = 0;
	for (size_t k = 0; k < n_order; k++) {
		size_t i = order[k];
		if (match[i] && (!json_is_true(filter_tree) || ancestors_match(rows, match, n, i)))
			ids[n_ids++] = mbs[i].mailboxid;
	}
	if (jmap_query_window(x, &q, ids, n_ids, &first, &count) < 0)
		return ERR_INVAL;
	*result_out = jmap_query_result(x, &q, state, false, ids, n_ids, first, count);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
