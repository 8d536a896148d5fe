/* jmap_thread.c: Thread/get and Thread/changes (RFC 8621 3.1, 3.2). A Thread is its
 * THREADID and the EMAILIDs in it by receivedAt ascending (store_thread_get); its
 * changes are the store's (store_thread_changes) through the shared /changes runner.
 *
 * Thread/get with ids null (all threads, RFC 8620 5.1) answers requestTooLarge past
 * LIMIT_JMAP_OBJECTS_GET threads; below it the threads come from one Email/query
 * collapsed by thread over the whole account. */
#include "http/jmap_email.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "store/store.h"

static const char *const thread_props[] = {"id", "emailIds", NULL};

/* Every THREADID of the account (at most LIMIT_JMAP_OBJECTS_GET): one Email per
 * thread from a collapsed query, then their thread ids. */
static int all_threads(struct jmap_ctx *x, const char ***ids_out, size_t *n_out)
{
	struct store_email_query q = {.mailbox_id = 0, .sort = STORE_SORT_RECEIVED,
				      .ascending = true, .collapse_threads = true,
				      .limit = LIMIT_JMAP_OBJECTS_GET + 1};
	struct store_email_list l;
	struct store_email *e = NULL;
	size_t n = 0;
	if (store_email_query(x->st, &q, x->a, &l) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (l.total > LIMIT_JMAP_OBJECTS_GET)
		return jmap_method_error(x, "requestTooLarge",
					 "more threads than maxObjectsInGet: ask by ids");
	if (l.n && store_email_get(x->st, l.ids, l.n, x->a, &e, &n) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	const char **ids = arena_alloc(x->a, (n ? n : 1) * sizeof *ids);
	if (!ids)
		return jmap_method_error(x, "serverFail", "out of memory");
	for (size_t i = 0; i < n; i++)
		ids[i] = e[i].thread_id;
	*ids_out = ids;
	*n_out = n;
	return 0;
}

/* One Thread object with the properties asked for, into list; or its id into
 * not_found. 0, or < 0 after jmap_method_error. */
static int one_thread(struct jmap_ctx *x, const struct jmap_get_args *g, const char *id,
		      json_t *list, json_t *not_found)
{
	const char **emails;
	size_t n;
	int rc = store_thread_get(x->st, id, x->a, &emails, &n);
	if (rc == ERR_NOTFOUND)
		return json_array_append_new(not_found, json_string(id)) < 0
			       ? jmap_method_error(x, "serverFail", NULL)
			       : 0;
	if (rc < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *t = json_pack("{s:s}", "id", id);
	if (!t || json_array_append_new(list, t) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (!jmap_get_wants(g, "emailIds"))
		return 0;
	json_t *ev = json_array();
	if (!ev || json_object_set_new(t, "emailIds", ev) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(ev, json_string(emails[i])) < 0)
			return jmap_method_error(x, "serverFail", NULL);
	return 0;
}

int jmap_thread_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	const char *state;
	if (jmap_get_parse(x, args, thread_props, NULL, &g) < 0)
		return ERR_INVAL;
	/* The state first: a change racing this read then shows as a later state. */
	if (jmap_state(x, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (g.all_ids && all_threads(x, &g.ids, &g.n_ids) < 0)
		return ERR_INVAL;
	json_t *list = json_array(), *not_found = json_array();
	int rc = list && not_found ? 0 : jmap_method_error(x, "serverFail", NULL);
	for (size_t i = 0; rc == 0 && i < g.n_ids; i++)
		rc = one_thread(x, &g, g.ids[i], list, not_found);
	if (rc < 0) {
		json_decref(list);
		json_decref(not_found);
		return rc;
	}
	*result_out = jmap_get_result(x, state, list, not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

int jmap_thread_changes(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	return jmap_changes_run(x, args, store_thread_changes, result_out);
}
