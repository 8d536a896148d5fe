/* jmap_email_changes.c: Email/changes (RFC 8621 4.3, RFC 8620 5.2) and the /changes
 * runner Thread/changes shares (jmap_email.h). The store computes the lists
 * (store_email_changes): here only the bound of one page and the error mapping.
 *
 * A page holds at most LIMIT_JMAP_OBJECTS_GET ids even when the client asks for more
 * or gives no maxChanges: a client fetches the changed records with one /get, which
 * takes no more than maxObjectsInGet ids, and the response stays bounded. */
#include "http/jmap_email.h"

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "store/store.h"

/* The ids of a store list as a JSON array (a new reference), NULL on failure. */
static json_t *id_array(const char *const *ids, size_t n)
{
	json_t *v = json_array();
	for (size_t i = 0; v && i < n; i++)
		if (json_array_append_new(v, json_string(ids[i])) < 0) {
			json_decref(v);
			return NULL;
		}
	return v;
}

int jmap_changes_run(struct jmap_ctx *x, json_t *args, jmap_store_changes_fn fn,
		     json_t **result_out)
{
	struct jmap_changes_args c;
	struct store_changes ch;
	if (jmap_changes_parse(x, args, &c) < 0)
		return ERR_INVAL;
	size_t max = LIMIT_JMAP_OBJECTS_GET;
	if (c.max_changes > 0 && c.max_changes < max)
		max = c.max_changes;
	int rc = fn(x->st, c.since, max, x->a, &ch);
	/* ERR_GONE: older than the kept tombstones, or one modseq alone is more than a
	 * page; ERR_INVAL: newer than the account's modseq, so not a state we gave out. */
	if (rc == ERR_GONE || rc == ERR_INVAL)
		return jmap_method_error(x, "cannotCalculateChanges",
					 rc == ERR_GONE ? "sinceState is older than the kept "
							  "changes, or one change is larger than "
							  "maxChanges: reload"
							: "sinceState is not a state of this server");
	if (rc < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *created = id_array(ch.created, ch.n_created);
	json_t *updated = id_array(ch.updated, ch.n_updated);
	json_t *destroyed = id_array(ch.destroyed, ch.n_destroyed);
	if (!created || !updated || !destroyed) {
		json_decref(created);
		json_decref(updated);
		json_decref(destroyed);
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = jmap_changes_result(x, ch.old_modseq, ch.new_modseq, ch.more, created,
					  updated, destroyed);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

int jmap_email_changes(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	return jmap_changes_run(x, args, store_email_changes, result_out);
}
