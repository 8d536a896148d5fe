/* jmap_submission_set.c: EmailSubmission/set (RFC 8621 7.5; RFC 8620 5.3) and the
 * hooks of jmap_submission.h.
 *   create: jmap_submission_create (jmap_submission_send.c) sends and keeps each one.
 *   update: only undoStatus may change, and only to "canceled"; a submission is sent
 *     at once, so that is always cannotUnsend.
 *   destroy: the record goes (RFC 8621 7.5: the message is not recalled).
 * Then, when onSuccessUpdateEmail / onSuccessDestroyEmail name submissions that
 * succeeded, one implicit Email/set runs with those Emails' patches and destroys
 * (jmap_email_set, the method itself, so every rule of Email/set applies) and its
 * response follows this one (jmap_add_implicit). */
#include "http/jmap_submission_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "http/jmap_email.h"
#include "store/store.h"
#include "core/banned.h"

jmap_send_fn jmap_submission_send_fn;
jmap_queue_show_fn jmap_submission_show_fn;

void jmap_submission_set_sender(jmap_send_fn send, jmap_queue_show_fn show)
{
	jmap_submission_send_fn = send;
	jmap_submission_show_fn = show;
}

const char *jmap_submission_id(struct jmap_ctx *x, int64_t id)
{
	return arena_printf(x->a, "S%lld", (long long)id);
}

int64_t jmap_submission_id_parse(const char *s)
{
	if (!s || s[0] != 'S' || s[1] < '1' || s[1] > '9')
		return -1;
	int64_t v = 0;
	for (const char *p = s + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

int jmap_submission_list(struct jmap_ctx *x, struct store_submission_list *out,
                         const char **state_out)
{
	int r = store_submission_list(x->env, x->account_id, x->a, out);
	if (r < 0)
		return r;
	*state_out = arena_printf(x->a, "%llu", (unsigned long long)out->state);
	return *state_out ? 0 : ERR_NOMEM;
}

/* The live submission id names (this account's), or NULL. */
static const struct store_submission *find(const struct store_submission_list *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == id && !l->v[i].destroyed)
			return &l->v[i];
	return NULL;
}

/* The Email of a kept submission, in x->a. */
static const char *email_of(struct jmap_ctx *x, const struct store_submission *s)
{
	json_t *o = json_loads(s->object, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "emailId"));
	const char *copy = id ? arena_strdup(x->a, id) : NULL;
	json_decref(o);
	return copy;
}

/* The submissions this call made or touched: id -> emailId, for onSuccess*. */
struct done_map {
	json_t *emails; /* submission id -> emailId */
};

static void done_add(struct done_map *d, const char *sub_id, const char *email_id)
{
	if (!d->emails)
		d->emails = json_object();
	if (d->emails && sub_id && email_id)
		json_object_set_new(d->emails, sub_id, json_string(email_id));
}

static void do_update(struct jmap_ctx *x, struct jmap_set_result *r,
                      const struct store_submission_list *l, json_t *update, struct done_map *d)
{
	const char *key;
	json_t *patch;
	json_object_foreach(update, key, patch)
	{
		const char *id = jmap_resolve_id(x, key);
		const struct store_submission *s = find(l, jmap_submission_id_parse(id));
		json_t *undo = json_object_get(patch, "undoStatus");
		if (!s) {
			jmap_set_not_updated(r, key, jmap_set_error("notFound", NULL, NULL));
		} else if (json_object_size(patch) == 1 && json_is_string(undo) &&
		           strcmp(json_string_value(undo), "final") == 0) {
			jmap_set_updated(r, id, NULL); /* what it is already */
			done_add(d, id, email_of(x, s));
		} else if (json_object_size(patch) == 1 && json_is_string(undo) &&
		           strcmp(json_string_value(undo), "canceled") == 0) {
			jmap_set_not_updated(
			    r, key,
			    jmap_set_error("cannotUnsend", "the message was sent at once", NULL));
		} else {
			jmap_set_not_updated(r, key,
			                     jmap_set_error("invalidProperties",
			                                    "only undoStatus can change",
			                                    json_pack("[s]", "undoStatus")));
		}
	}
}

static void do_destroy(struct jmap_ctx *x, struct jmap_set_result *r,
                       const struct store_submission_list *l, const struct jmap_set_args *a,
                       struct done_map *d)
{
	for (size_t i = 0; i < a->n_destroy; i++) {
		const char *id = a->destroy[i];
		int64_t sid = jmap_submission_id_parse(id);
		const struct store_submission *s = find(l, sid);
		const char *email = s ? email_of(x, s) : NULL;
		int rc = s ? store_submission_destroy(x->env, x->account_id, sid) : ERR_NOTFOUND;
		if (rc == 0) {
			jmap_set_destroyed(r, id);
			done_add(d, id, email);
		} else {
			jmap_set_not_destroyed(
			    r, id,
			    jmap_set_error(rc == ERR_NOTFOUND ? "notFound" : "serverFail", NULL,
			                   NULL));
		}
	}
}

/* The implicit Email/set (RFC 8621 7.5): onSuccessUpdateEmail's patches and
 * onSuccessDestroyEmail's destroys of the Emails of the submissions that succeeded. */
static int implicit_email_set(struct jmap_ctx *x, json_t *args, const struct done_map *d)
{
	json_t *on_update = json_object_get(args, "onSuccessUpdateEmail");
	json_t *on_destroy = json_object_get(args, "onSuccessDestroyEmail");
	json_t *update = json_object(), *destroy = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(on_update, key, v)
	{
		const char *sid = jmap_resolve_id(x, key);
		json_t *email = sid ? json_object_get(d->emails, sid) : NULL;
		if (email && update)
			json_object_set(update, json_string_value(email), v);
	}
	size_t i;
	json_array_foreach(on_destroy, i, v)
	{
		const char *sid =
		    json_is_string(v) ? jmap_resolve_id(x, json_string_value(v)) : NULL;
		json_t *email = sid ? json_object_get(d->emails, sid) : NULL;
		if (email && destroy)
			json_array_append(destroy, email);
	}
	if (!update || !destroy || (!json_object_size(update) && !json_array_size(destroy))) {
		json_decref(update);
		json_decref(destroy);
		return update && destroy ? 0 : ERR_NOMEM;
	}
	json_t *set_args = json_pack("{s:s,s:o,s:o}", "accountId", x->account_str, "update", update,
	                             "destroy", destroy);
	json_t *res = NULL;
	/* Email/set records its own method error in x; this call's outcome is kept */
	const char *et = x->err_type, *ed = x->err_desc;
	json_t *ee = x->err_extra;
	x->err_type = x->err_desc = NULL;
	x->err_extra = NULL;
	int rc = set_args ? jmap_email_set(x, set_args, &res) : ERR_NOMEM;
	json_decref(set_args);
	if (rc < 0) {
		log_warn("jmap: EmailSubmission's implicit Email/set failed: %s",
		         x->err_type ? x->err_type : err_str(rc));
		json_decref(x->err_extra);
		json_decref(res);
		res = NULL;
	}
	x->err_type = et;
	x->err_desc = ed;
	x->err_extra = ee;
	return res ? jmap_add_implicit(x, "Email/set", res) : rc;
}

static bool args_ok(struct jmap_ctx *x, json_t *args)
{
	json_t *u = json_object_get(args, "onSuccessUpdateEmail");
	json_t *d = json_object_get(args, "onSuccessDestroyEmail");
	if (u && !json_is_null(u) && !json_is_object(u))
		return jmap_method_error(x, "invalidArguments",
		                         "onSuccessUpdateEmail: not an object") == 0;
	if (d && !json_is_null(d) && !json_is_array(d))
		return jmap_method_error(x, "invalidArguments",
		                         "onSuccessDestroyEmail: not an array") == 0;
	return true;
}

int jmap_submission_set(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct store_submission_list l;
	struct jmap_set_args a;
	struct jmap_set_result r = {0};
	struct done_map d = {0};
	const char *old_state, *new_state;
	if (jmap_submission_list(x, &l, &old_state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (jmap_set_parse(x, args, old_state, &a) < 0 || !args_ok(x, args))
		return ERR_INVAL;
	const char *key;
	json_t *v;
	json_object_foreach(a.create, key, v)
	{
		json_t *created = NULL, *err = NULL;
		const char *email = NULL;
		if (jmap_submission_create(x, v, &created, &email, &err) == 0) {
			done_add(&d, json_string_value(json_object_get(created, "id")), email);
			jmap_set_created(x, &r, key, created);
		} else {
			jmap_set_not_created(&r, key, err);
		}
	}
	do_update(x, &r, &l, a.update, &d);
	do_destroy(x, &r, &l, &a, &d);
	struct store_submission_list after;
	if (jmap_submission_list(x, &after, &new_state) < 0)
		new_state = old_state;
	*result_out = jmap_set_response(x, &r, old_state, new_state);
	int rc = *result_out && d.emails ? implicit_email_set(x, args, &d) : 0;
	json_decref(d.emails);
	if (rc < 0)
		log_warn("jmap: EmailSubmission's implicit Email/set: %s", err_str(rc));
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
