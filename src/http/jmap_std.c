/* jmap_std.c: argument parsing and responses shared by the standard methods (RFC 8620
 * 5.1 /get, 5.2 /changes, 5.5 /query, 5.6 /queryChanges; /set is jmap_std_set.c), so
 * that every type's methods check and answer the same way.
 *
 * Every *_parse checks accountId first (accountNotFound for any account but the
 * request's own: a client learns nothing about other accounts) and then only the types
 * RFC 8620 gives each argument; the contents of filters and sorts are the type's. Ids
 * and strings handed out point into the arguments (alive for the method's call) or into
 * x->a. */
#include "http/jmap.h"

#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/store.h"

bool jmap_id_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return n >= 1 && n <= 255;
}

int jmap_state(struct jmap_ctx *x, const char **state_out)
{
	uint64_t modseq;
	int rc = store_modseq(x->st, &modseq);
	if (rc < 0)
		return rc;
	*state_out = arena_printf(x->a, "%llu", (unsigned long long)modseq);
	return *state_out ? 0 : ERR_NOMEM;
}

const char *jmap_resolve_id(struct jmap_ctx *x, const char *id)
{
	if (!id)
		return NULL;
	if (id[0] == '#') {
		json_t *v = json_object_get(x->created_ids, id + 1);
		return json_is_string(v) ? json_string_value(v) : NULL;
	}
	return jmap_id_ok(id) ? id : NULL;
}

/* accountId: required, and it must be the request's account. */
static int check_account(struct jmap_ctx *x, json_t *args)
{
	json_t *v = json_object_get(args, "accountId");
	if (!json_is_string(v))
		return jmap_method_error(x, "invalidArguments", "accountId: a string is required");
	if (strcmp(json_string_value(v), x->account_str) != 0)
		return jmap_method_error(x, "accountNotFound", NULL);
	return 0;
}

int jmap_account_check(struct jmap_ctx *x, json_t *args)
{
	return check_account(x, args);
}

json_t *jmap_utc_date(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (!gmtime_r(&tt, &tm) || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_string(s);
}

static int bad_arg(struct jmap_ctx *x, const char *name, const char *what)
{
	return jmap_method_error(x, "invalidArguments",
				 arena_printf(x->a, "%s: %s", name, what));
}

/* An optional Int/UnsignedInt argument (RFC 8620 1.3: -2^53+1 .. 2^53-1). */
static int int_arg(struct jmap_ctx *x, json_t *args, const char *name, bool is_unsigned,
		   int64_t dflt, int64_t *out)
{
	json_t *v = json_object_get(args, name);
	*out = dflt;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return bad_arg(x, name, "not an integer");
	json_int_t i = json_integer_value(v);
	if (i > 9007199254740991LL || i < -9007199254740991LL || (is_unsigned && i < 0))
		return bad_arg(x, name, "out of range");
	*out = i;
	return 0;
}

static int bool_arg(struct jmap_ctx *x, json_t *args, const char *name, bool *out)
{
	json_t *v = json_object_get(args, name);
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return bad_arg(x, name, "not a boolean");
	*out = json_is_true(v);
	return 0;
}

/* An optional Id argument (null allowed), resolved through created ids. */
static int id_arg(struct jmap_ctx *x, json_t *args, const char *name, const char **out)
{
	json_t *v = json_object_get(args, name);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad_arg(x, name, "not a string");
	const char *id = jmap_resolve_id(x, json_string_value(v));
	*out = id ? id : json_string_value(v);
	return 0;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* Resolved ids of an Id[] argument (null/absent: *all_out). */
static int ids_arg(struct jmap_ctx *x, json_t *args, const char *name, size_t max,
		   const char ***ids_out, size_t *n_out, bool *all_out)
{
	json_t *v = json_object_get(args, name);
	*ids_out = NULL;
	*n_out = 0;
	*all_out = !v || json_is_null(v);
	if (*all_out)
		return 0;
	if (!json_is_array(v))
		return bad_arg(x, name, "not an array");
	size_t n = json_array_size(v);
	if (n > max)
		return jmap_method_error(x, "requestTooLarge",
					 arena_printf(x->a, "%s: more than %zu ids", name, max));
	const char **ids = arena_alloc(x->a, (n ? n : 1) * sizeof *ids);
	if (!ids)
		return jmap_method_error(x, "serverFail", "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e))
			return bad_arg(x, name, "holds a non-string");
		const char *id = jmap_resolve_id(x, json_string_value(e));
		ids[i] = id ? id : json_string_value(e);
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
}

int jmap_get_parse(struct jmap_ctx *x, json_t *args, const char *const *known,
		   const char *const *default_props, struct jmap_get_args *out)
{
	memset(out, 0, sizeof *out);
	if (check_account(x, args) < 0 ||
	    ids_arg(x, args, "ids", LIMIT_JMAP_OBJECTS_GET, &out->ids, &out->n_ids,
		    &out->all_ids) < 0)
		return ERR_INVAL;
	json_t *props = json_object_get(args, "properties");
	const char *const *src = default_props ? default_props : known;
	size_t n = 0;
	if (props && !json_is_null(props)) {
		if (!json_is_array(props))
			return bad_arg(x, "properties", "not an array");
		n = json_array_size(props);
	} else {
		while (src[n])
			n++;
	}
	out->props = arena_alloc(x->a, (n + 1) * sizeof *out->props);
	if (!out->props)
		return jmap_method_error(x, "serverFail", "out of memory");
	out->props[out->n_props++] = "id";
	for (size_t i = 0; i < n; i++) {
		const char *p;
		if (props && !json_is_null(props)) {
			json_t *e = json_array_get(props, i);
			if (!json_is_string(e))
				return bad_arg(x, "properties", "holds a non-string");
			p = json_string_value(e);
			if (!in_list(known, p))
				return bad_arg(x, "properties",
					       arena_printf(x->a, "unknown property %.100s", p));
		} else {
			p = src[i];
		}
		if (strcmp(p, "id") != 0 && !jmap_get_wants(out, p))
			out->props[out->n_props++] = p;
	}
	return 0;
}

bool jmap_get_wants(const struct jmap_get_args *g, const char *prop)
{
	for (size_t i = 0; i < g->n_props; i++)
		if (strcmp(g->props[i], prop) == 0)
			return true;
	return false;
}

int jmap_get_set(json_t *obj, const struct jmap_get_args *g, const char *name, json_t *v)
{
	if (!jmap_get_wants(g, name)) {
		json_decref(v);
		return 0;
	}
	return v && json_object_set_new(obj, name, v) == 0 ? 0 : -1;
}

json_t *jmap_get_result(struct jmap_ctx *x, const char *state, json_t *list, json_t *not_found)
{
	return json_pack("{s:s,s:s,s:o,s:o}", "accountId", x->account_str, "state", state,
			 "list", list ? list : json_array(), "notFound",
			 not_found ? not_found : json_array());
}

/* A state string we made: decimal digits of a uint64 without a leading zero. */
static bool parse_state(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s[0] || (s[0] == '0' && s[1]))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return true;
}

/* maxChanges: absent/null, or an UnsignedInt > 0. */
static int max_changes_arg(struct jmap_ctx *x, json_t *args, size_t *out)
{
	int64_t v;
	if (int_arg(x, args, "maxChanges", true, 0, &v) < 0)
		return ERR_INVAL;
	json_t *given = json_object_get(args, "maxChanges");
	if (given && !json_is_null(given) && v == 0)
		return bad_arg(x, "maxChanges", "must be greater than 0");
	*out = (size_t)v;
	return 0;
}

int jmap_changes_parse(struct jmap_ctx *x, json_t *args, struct jmap_changes_args *out)
{
	memset(out, 0, sizeof *out);
	if (check_account(x, args) < 0)
		return ERR_INVAL;
	json_t *since = json_object_get(args, "sinceState");
	if (!json_is_string(since))
		return bad_arg(x, "sinceState", "a string is required");
	if (max_changes_arg(x, args, &out->max_changes) < 0)
		return ERR_INVAL;
	if (!parse_state(json_string_value(since), &out->since))
		return jmap_method_error(x, "cannotCalculateChanges",
					 "sinceState is not a state of this server");
	return 0;
}

json_t *jmap_changes_result(struct jmap_ctx *x, uint64_t old_state, uint64_t new_state,
			    bool more, json_t *created, json_t *updated, json_t *destroyed)
{
	char o[24], n[24];
	int r1 = snprintf(o, sizeof o, "%llu", (unsigned long long)old_state);
	int r2 = snprintf(n, sizeof n, "%llu", (unsigned long long)new_state);
	if (r1 < 0 || r2 < 0) {
		json_decref(created);
		json_decref(updated);
		json_decref(destroyed);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o}", "accountId", x->account_str,
			 "oldState", o, "newState", n, "hasMoreChanges", more, "created",
			 created ? created : json_array(), "updated",
			 updated ? updated : json_array(), "destroyed",
			 destroyed ? destroyed : json_array());
}

/* filter: absent/null or an object; sort: absent/null or an array of Comparators. */
static int filter_sort_args(struct jmap_ctx *x, json_t *args, json_t **filter_out,
			    json_t **sort_out)
{
	json_t *f = json_object_get(args, "filter"), *s = json_object_get(args, "sort");
	*filter_out = f && !json_is_null(f) ? f : NULL;
	*sort_out = s && !json_is_null(s) ? s : NULL;
	if (*filter_out && !json_is_object(f))
		return bad_arg(x, "filter", "not an object");
	if (!*sort_out)
		return 0;
	if (!json_is_array(s))
		return bad_arg(x, "sort", "not an array");
	size_t i;
	json_t *c;
	json_array_foreach(s, i, c) {
		json_t *asc = json_object_get(c, "isAscending");
		json_t *coll = json_object_get(c, "collation");
		if (!json_is_object(c) || !json_is_string(json_object_get(c, "property")) ||
		    (asc && !json_is_boolean(asc)) || (coll && !json_is_string(coll)))
			return bad_arg(x, "sort", "a Comparator is {property, isAscending?, "
						  "collation?}");
	}
	return 0;
}

int jmap_query_parse(struct jmap_ctx *x, json_t *args, struct jmap_query_args *out)
{
	int64_t limit;
	memset(out, 0, sizeof *out);
	if (check_account(x, args) < 0 || filter_sort_args(x, args, &out->filter, &out->sort) < 0 ||
	    int_arg(x, args, "position", false, 0, &out->position) < 0 ||
	    id_arg(x, args, "anchor", &out->anchor) < 0 ||
	    int_arg(x, args, "anchorOffset", false, 0, &out->anchor_offset) < 0 ||
	    int_arg(x, args, "limit", true, -1, &limit) < 0 ||
	    bool_arg(x, args, "calculateTotal", &out->calculate_total) < 0)
		return ERR_INVAL;
	out->limit_given = limit >= 0;
	if (!out->limit_given || limit > LIMIT_JMAP_QUERY_LIMIT) {
		out->limit = LIMIT_JMAP_QUERY_LIMIT;
		out->limit_by_server = true;
	} else {
		out->limit = (size_t)limit;
	}
	return 0;
}

int jmap_query_window(struct jmap_ctx *x, const struct jmap_query_args *q,
		      const char *const *ids, size_t n, size_t *first_out, size_t *count_out)
{
	int64_t start;
	if (q->anchor) {
		size_t i = 0;
		while (i < n && strcmp(ids[i], q->anchor) != 0)
			i++;
		if (i == n)
			return jmap_method_error(x, "anchorNotFound", NULL);
		start = (int64_t)i + q->anchor_offset;
	} else {
		start = q->position < 0 ? (int64_t)n + q->position : q->position;
	}
	if (start < 0)
		start = 0;
	*first_out = (size_t)start;
	*count_out = 0;
	if ((uint64_t)start < n) {
		size_t left = n - (size_t)start;
		*count_out = left < q->limit ? left : q->limit;
	}
	return 0;
}

json_t *jmap_query_result(struct jmap_ctx *x, const struct jmap_query_args *q,
			  const char *query_state, bool can_calculate_changes,
			  const char *const *ids, size_t n, size_t first, size_t count)
{
	json_t *list = json_array();
	json_t *out = json_pack("{s:s,s:s,s:b,s:I,s:o}", "accountId", x->account_str,
				"queryState", query_state, "canCalculateChanges",
				can_calculate_changes, "position", (json_int_t)first, "ids",
				list);
	if (!out)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (json_array_append_new(list, json_string(ids[first + i])) < 0) {
			json_decref(out);
			return NULL;
		}
	if (q->calculate_total)
		json_object_set_new(out, "total", json_integer((json_int_t)n));
	if (q->limit_by_server)
		json_object_set_new(out, "limit", json_integer((json_int_t)q->limit));
	return out;
}

int jmap_querychanges_parse(struct jmap_ctx *x, json_t *args,
			    struct jmap_querychanges_args *out)
{
	memset(out, 0, sizeof *out);
	if (check_account(x, args) < 0 || filter_sort_args(x, args, &out->filter, &out->sort) < 0)
		return ERR_INVAL;
	json_t *since = json_object_get(args, "sinceQueryState");
	if (!json_is_string(since))
		return bad_arg(x, "sinceQueryState", "a string is required");
	out->since_query_state = json_string_value(since);
	if (max_changes_arg(x, args, &out->max_changes) < 0 ||
	    id_arg(x, args, "upToId", &out->up_to_id) < 0 ||
	    bool_arg(x, args, "calculateTotal", &out->calculate_total) < 0)
		return ERR_INVAL;
	return 0;
}
