/* jmap_std_set.c: the /set helpers (RFC 8620 5.3): arguments, created ids, SetErrors
 * and the response, so every type's /set answers the same way.
 *
 * Bounds: at most LIMIT_JMAP_OBJECTS_SET creates, updates and destroys together
 * (maxObjectsInSet; requestTooLarge past it, before anything is done). */
#include "http/jmap.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"

int jmap_set_parse(struct jmap_ctx *x, json_t *args, const char *cur_state,
		   struct jmap_set_args *out)
{
	memset(out, 0, sizeof *out);
	json_t *acct = json_object_get(args, "accountId");
	if (!json_is_string(acct))
		return jmap_method_error(x, "invalidArguments", "accountId: a string is required");
	if (strcmp(json_string_value(acct), x->account_str) != 0)
		return jmap_method_error(x, "accountNotFound", NULL);

	json_t *if_in = json_object_get(args, "ifInState");
	json_t *create = json_object_get(args, "create");
	json_t *update = json_object_get(args, "update");
	json_t *destroy = json_object_get(args, "destroy");
	if (if_in && !json_is_null(if_in) && !json_is_string(if_in))
		return jmap_method_error(x, "invalidArguments", "ifInState: not a string");
	if (create && !json_is_null(create) && !json_is_object(create))
		return jmap_method_error(x, "invalidArguments", "create: not an object");
	if (update && !json_is_null(update) && !json_is_object(update))
		return jmap_method_error(x, "invalidArguments", "update: not an object");
	if (destroy && !json_is_null(destroy) && !json_is_array(destroy))
		return jmap_method_error(x, "invalidArguments", "destroy: not an array");
	out->create = json_is_object(create) ? create : NULL;
	out->update = json_is_object(update) ? update : NULL;
	size_t n_destroy = json_is_array(destroy) ? json_array_size(destroy) : 0;
	size_t total = json_object_size(out->create) + json_object_size(out->update) + n_destroy;
	if (total > LIMIT_JMAP_OBJECTS_SET)
		return jmap_method_error(x, "requestTooLarge",
					 "more than maxObjectsInSet operations");
	const char *key;
	json_t *v;
	json_object_foreach(out->update, key, v) {
		if (!json_is_object(v))
			return jmap_method_error(x, "invalidArguments",
						 "update: a PatchObject is an object");
	}
	if (n_destroy) {
		out->destroy = arena_alloc(x->a, n_destroy * sizeof *out->destroy);
		if (!out->destroy)
			return jmap_method_error(x, "serverFail", "out of memory");
		for (size_t i = 0; i < n_destroy; i++) {
			json_t *e = json_array_get(destroy, i);
			if (!json_is_string(e))
				return jmap_method_error(x, "invalidArguments",
							 "destroy: holds a non-string");
			const char *id = jmap_resolve_id(x, json_string_value(e));
			out->destroy[i] = id ? id : json_string_value(e);
		}
		out->n_destroy = n_destroy;
	}
	/* Checked last: a malformed request is invalidArguments whatever the state. */
	if (json_is_string(if_in) && (!cur_state || strcmp(json_string_value(if_in), cur_state)))
		return jmap_method_error(x, "stateMismatch", NULL);
	return 0;
}

/* obj[key] = v (stolen), creating obj on first use. */
static void set_member(json_t **obj, const char *key, json_t *v)
{
	if (!*obj)
		*obj = json_object();
	if (!*obj) {
		json_decref(v);
		return;
	}
	json_object_set_new(*obj, key, v ? v : json_null());
}

void jmap_set_created(struct jmap_ctx *x, struct jmap_set_result *r, const char *cid,
		      json_t *obj)
{
	json_t *id = json_object_get(obj, "id");
	if (json_is_string(id) && x->created_ids)
		json_object_set(x->created_ids, cid, id);
	set_member(&r->created, cid, obj);
}

void jmap_set_updated(struct jmap_set_result *r, const char *id, json_t *obj)
{
	set_member(&r->updated, id, obj);
}

void jmap_set_destroyed(struct jmap_set_result *r, const char *id)
{
	if (!r->destroyed)
		r->destroyed = json_array();
	if (r->destroyed)
		json_array_append_new(r->destroyed, json_string(id));
}

json_t *jmap_set_error(const char *type, const char *description, json_t *properties)
{
	json_t *e = json_pack("{s:s}", "type", type);
	if (e && description)
		json_object_set_new(e, "description", json_string(description));
	if (e && properties)
		json_object_set_new(e, "properties", properties);
	else
		json_decref(properties);
	return e;
}

void jmap_set_not_created(struct jmap_set_result *r, const char *cid, json_t *err)
{
	set_member(&r->not_created, cid, err);
}

void jmap_set_not_updated(struct jmap_set_result *r, const char *id, json_t *err)
{
	set_member(&r->not_updated, id, err);
}

void jmap_set_not_destroyed(struct jmap_set_result *r, const char *id, json_t *err)
{
	set_member(&r->not_destroyed, id, err);
}

json_t *jmap_set_response(struct jmap_ctx *x, struct jmap_set_result *r,
			  const char *old_state, const char *new_state)
{
	/* RFC 8620 5.3: each member is null when there is nothing in it. */
	json_t *out = json_pack("{s:s,s:s*,s:s,s:o*,s:o*,s:o*,s:o*,s:o*,s:o*}", "accountId",
				x->account_str, "oldState", old_state, "newState", new_state,
				"created", r->created, "updated", r->updated, "destroyed",
				r->destroyed, "notCreated", r->not_created, "notUpdated",
				r->not_updated, "notDestroyed", r->not_destroyed);
	memset(r, 0, sizeof *r);
	if (!out)
		return NULL;
	static const char *const members[] = {"oldState", "created", "updated", "destroyed",
					      "notCreated", "notUpdated", "notDestroyed"};
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
		if (!json_object_get(out, members[i]))
			json_object_set_new(out, members[i], json_null());
	return out;
}
