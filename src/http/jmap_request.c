/* jmap_request.c: the JMAP request engine (RFC 8620 3.3-3.7), a pure function over
 * (ctx, request bytes) -> response JSON.
 *
 * Order of checks, each before anything runs: the size (maxSizeRequest), the nesting
 * (jmap_scan_depth, LIMIT_JMAP_DEPTH: jansson never sees a deeper document), JSON
 * (notJSON; jansson checks UTF-8 and refuses "\u0000"), the Request shape (notRequest),
 * `using` (unknownCapability), the number of calls (maxCallsInRequest). Then the calls
 * run in order; a method-level problem becomes an "error" response of that call and the
 * next call runs (3.6.2). Result references ("#name" arguments, 3.7) are resolved
 * against the responses so far before the call. */
#include "http/jmap.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/metrics.h"

static const struct {
	const char *uri;
	unsigned bit;
} jmap_caps[] = {
	{JMAP_CAP_CORE, JMAP_USING_CORE},
	{JMAP_CAP_MAIL, JMAP_USING_MAIL},
	{JMAP_CAP_SUBMISSION, JMAP_USING_SUBMISSION},
	{JMAP_CAP_QUOTA, JMAP_USING_QUOTA},
	{JMAP_CAP_KASTEN, JMAP_USING_KASTEN},
};

unsigned jmap_cap_bit(const char *uri)
{
	for (size_t i = 0; i < sizeof jmap_caps / sizeof jmap_caps[0]; i++)
		if (strcmp(jmap_caps[i].uri, uri) == 0)
			return jmap_caps[i].bit;
	return 0;
}

int jmap_method_error_extra(struct jmap_ctx *x, const char *type, const char *description,
			    json_t *extra)
{
	x->err_type = type;
	x->err_desc = description;
	json_decref(x->err_extra);
	x->err_extra = extra;
	return ERR_INVAL;
}

int jmap_method_error(struct jmap_ctx *x, const char *type, const char *description)
{
	return jmap_method_error_extra(x, type, description, NULL);
}

int jmap_add_implicit(struct jmap_ctx *x, const char *name, json_t *args)
{
	if (!x->implicit)
		x->implicit = json_array();
	json_t *inv = json_pack("[s,o]", name, args);
	if (!x->implicit || !inv || json_array_append_new(x->implicit, inv) < 0) {
		json_decref(inv);
		return ERR_NOMEM;
	}
	return 0;
}

static int request_fail(struct jmap_request_error *e, const char *type, const char *detail,
			const char *limit, int rc)
{
	e->status = 400;
	e->type = type;
	e->detail = detail;
	e->limit = limit;
	return rc;
}

/* The error response of a call: ["error", {"type", "description"?, extra...}, id]. */
static json_t *call_error(struct jmap_ctx *x, const char *call_id)
{
	json_t *e = json_object();
	if (!e)
		return NULL;
	json_object_set_new(e, "type", json_string(x->err_type ? x->err_type : "serverFail"));
	if (x->err_desc)
		json_object_set_new(e, "description", json_string(x->err_desc));
	if (x->err_extra)
		json_object_update(e, x->err_extra);
	return json_pack("[s,o,s]", "error", e, call_id);
}

/* Resolve one ResultReference (3.7) against the responses so far: a new reference to
 * the value, or NULL (invalidResultReference). */
static json_t *resolve_ref(json_t *responses, json_t *ref)
{
	const char *result_of, *name, *path;
	if (!json_is_object(ref) ||
	    json_unpack(ref, "{s:s,s:s,s:s}", "resultOf", &result_of, "name", &name, "path",
			&path) < 0 ||
	    json_object_size(ref) != 3)
		return NULL;
	size_t i;
	json_t *resp;
	json_array_foreach(responses, i, resp) {
		if (strcmp(json_string_value(json_array_get(resp, 2)), result_of) != 0)
			continue;
		if (strcmp(json_string_value(json_array_get(resp, 0)), name) != 0)
			return NULL;
		return jmap_pointer(json_array_get(resp, 1), path);
	}
	return NULL;
}

/* The arguments a method gets: a copy of args with every "#key" replaced by "key" and
 * the referenced value. NULL after jmap_method_error. */
static json_t *resolve_args(struct jmap_ctx *x, json_t *args, json_t *responses)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;
	if (!out) {
		jmap_method_error(x, "serverFail", "out of memory");
		return NULL;
	}
	json_object_foreach(args, key, v) {
		if (key[0] != '#') {
			if (json_object_get(out, key) == NULL)
				json_object_set(out, key, v);
			continue;
		}
		if (json_object_get(args, key + 1)) {
			jmap_method_error(x, "invalidArguments",
					  "an argument is given both plain and as a result "
					  "reference");
			json_decref(out);
			return NULL;
		}
		json_t *r = resolve_ref(responses, v);
		if (!r) {
			jmap_method_error(x, "invalidResultReference",
					  arena_printf(x->a, "the result reference of %.64s "
							     "names nothing", key + 1));
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, key + 1, r);
	}
	return out;
}

/* Run one call; append its response(s). Only memory failures return < 0. */
static int run_call(struct jmap_ctx *x, json_t *inv, json_t *responses)
{
	const char *name = json_string_value(json_array_get(inv, 0));
	json_t *args = json_array_get(inv, 1);
	const char *call_id = json_string_value(json_array_get(inv, 2));
	uint64_t start = metrics_now();
	json_t *result = NULL, *resp;
	int rc = ERR_INVAL;

	x->method_name = name;
	x->err_type = x->err_desc = NULL;
	json_decref(x->err_extra);
	x->err_extra = NULL;

	const struct jmap_method *m = jmap_method_find(name);
	if (!m || !(x->using & jmap_cap_bit(m->capability))) {
		jmap_method_error(x, "unknownMethod", NULL);
	} else {
		json_t *resolved = resolve_args(x, args, responses);
		if (resolved) {
			rc = m->fn(x, resolved, &result);
			json_decref(resolved);
			if (rc == 0 && !result)
				rc = jmap_method_error(x, "serverFail", NULL);
			else if (rc < 0 && !x->err_type)
				jmap_method_error(x, "serverFail", NULL);
		}
	}
	if (rc == 0)
		resp = json_pack("[s,o,s]", name, result, call_id);
	else
		resp = call_error(x, call_id);
	if (!resp || json_array_append_new(responses, resp) < 0)
		return ERR_NOMEM;
	if (rc == 0 && x->implicit) {
		size_t i;
		json_t *imp;
		json_array_foreach(x->implicit, i, imp) {
			json_t *r = json_pack("[O,O,s]", json_array_get(imp, 0),
					      json_array_get(imp, 1), call_id);
			if (!r || json_array_append_new(responses, r) < 0)
				return ERR_NOMEM;
		}
	}
	json_decref(x->implicit);
	x->implicit = NULL;
	metrics_observe_since(METRIC_HIST_JMAP_METHOD, 0, start);
	return 0;
}

static bool invocation_ok(json_t *inv)
{
	return json_is_array(inv) && json_array_size(inv) == 3 &&
	       json_is_string(json_array_get(inv, 0)) && json_is_object(json_array_get(inv, 1)) &&
	       json_is_string(json_array_get(inv, 2));
}

/* Check the Request object (3.3); sets x->using and x->created_ids. */
static int check_request(struct jmap_ctx *x, json_t *req, struct jmap_request_error *e)
{
	json_t *using = json_object_get(req, "using");
	json_t *calls = json_object_get(req, "methodCalls");
	json_t *created = json_object_get(req, "createdIds");
	size_t i;
	json_t *v;

	if (!json_is_array(using) || !json_is_array(calls) ||
	    (created && !json_is_object(created)))
		return request_fail(e, JMAP_ERR_NOT_REQUEST,
				    "a Request has using and methodCalls arrays", NULL,
				    ERR_BAD_SYNTAX);
	json_array_foreach(using, i, v) {
		if (!json_is_string(v))
			return request_fail(e, JMAP_ERR_NOT_REQUEST, "using holds strings", NULL,
					    ERR_BAD_SYNTAX);
		unsigned bit = jmap_cap_bit(json_string_value(v));
		if (!bit)
			return request_fail(e, JMAP_ERR_UNKNOWN_CAPABILITY,
					    arena_printf(x->a, "unknown capability %.200s",
							 json_string_value(v)),
					    NULL, ERR_INVAL);
		x->using |= bit;
	}
	if (json_array_size(calls) > LIMIT_JMAP_CALLS)
		return request_fail(e, JMAP_ERR_LIMIT, "too many method calls",
				    "maxCallsInRequest", ERR_TOO_BIG);
	json_array_foreach(calls, i, v) {
		if (!invocation_ok(v))
			return request_fail(e, JMAP_ERR_NOT_REQUEST,
					    "an Invocation is [name, arguments, methodCallId]",
					    NULL, ERR_BAD_SYNTAX);
	}
	if (created) {
		const char *k;
		json_object_foreach(created, k, v) {
			if (!json_is_string(v))
				return request_fail(e, JMAP_ERR_NOT_REQUEST,
						    "createdIds maps ids to ids", NULL,
						    ERR_BAD_SYNTAX);
		}
		x->created_ids = json_deep_copy(created);
	} else {
		x->created_ids = json_object();
	}
	if (!x->created_ids)
		return request_fail(e, JMAP_ERR_LIMIT, "out of memory", NULL, ERR_NOMEM);
	return 0;
}

int jmap_request(struct jmap_ctx *x, const uint8_t *p, size_t len, const char *session_state,
		 json_t **response_out, struct jmap_request_error *err_out)
{
	*response_out = NULL;
	x->using = 0;
	x->created_ids = NULL;
	x->implicit = NULL;
	x->err_extra = NULL;
	if (!x->account_str)
		x->account_str = arena_printf(x->a, "A%lld", (long long)x->account_id);

	if (len > LIMIT_JMAP_REQUEST_SIZE)
		return request_fail(err_out, JMAP_ERR_LIMIT, "the request is too large",
				    "maxSizeRequest", ERR_TOO_BIG);
	if (jmap_scan_depth(p, len, LIMIT_JMAP_DEPTH) < 0)
		return request_fail(err_out, JMAP_ERR_LIMIT, "the request nests too deeply",
				    "maxDepth", ERR_TOO_DEEP);
	json_error_t jerr;
	json_t *req = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return request_fail(err_out, JMAP_ERR_NOT_JSON, "the body is not I-JSON", NULL,
				    ERR_BAD_SYNTAX);
	if (!json_is_object(req)) {
		json_decref(req);
		return request_fail(err_out, JMAP_ERR_NOT_REQUEST, "a Request is an object",
				    NULL, ERR_BAD_SYNTAX);
	}
	int rc = check_request(x, req, err_out);
	json_t *responses = rc == 0 ? json_array() : NULL;
	if (rc == 0 && !responses)
		rc = request_fail(err_out, JMAP_ERR_LIMIT, "out of memory", NULL, ERR_NOMEM);
	size_t i;
	json_t *inv;
	json_array_foreach(json_object_get(req, "methodCalls"), i, inv) {
		if (rc < 0)
			break;
		if (run_call(x, inv, responses) < 0)
			rc = request_fail(err_out, JMAP_ERR_LIMIT, "out of memory", NULL,
					  ERR_NOMEM);
	}
	if (rc == 0) {
		json_t *out = json_pack("{s:O,s:s}", "methodResponses", responses,
					"sessionState", session_state ? session_state : "0");
		if (out && json_object_get(req, "createdIds"))
			json_object_set(out, "createdIds", x->created_ids);
		if (!out)
			rc = request_fail(err_out, JMAP_ERR_LIMIT, "out of memory", NULL,
					  ERR_NOMEM);
		*response_out = out;
	}
	if (rc == ERR_NOMEM)
		err_out->status = 500;
	json_decref(responses);
	json_decref(req);
	json_decref(x->created_ids);
	x->created_ids = NULL;
	json_decref(x->err_extra);
	x->err_extra = NULL;
	return rc;
}
