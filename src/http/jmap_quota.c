/* jmap_quota.c: Quota/get (RFC 9425 4.1, 4.2): the account's limits as Quota objects,
 * scope "account", types ["Email"]: "octets" (the sum of the messages' sizes, a copy
 * counting in full, as IMAP QUOTA shows it) when the account has a byte quota, "count"
 * (messages) when it has a message quota. An unlimited resource has no Quota object:
 * RFC 9425 has no way to say "no limit" (hardLimit is an UnsignedInt). The ids are the
 * resource types, so they stay the same while the limits change. */
#include "http/jmap_mailbox.h"

#include <string.h>

#include "core/err.h"
#include "store/store.h"

static const char *const quota_props[] = {
	"id", "resourceType", "used", "hardLimit", "scope", "name", "types", NULL,
};

static json_t *quota_object(const struct jmap_get_args *g, const char *type, uint64_t used,
			    uint64_t limit, const char *address)
{
	json_t *o = json_pack("{ss}", "id", type);
	if (!o)
		return NULL;
	if (jmap_get_set(o, g, "resourceType", json_string(type)) < 0 ||
	    jmap_get_set(o, g, "used", json_integer((json_int_t)used)) < 0 ||
	    jmap_get_set(o, g, "hardLimit", json_integer((json_int_t)limit)) < 0 ||
	    jmap_get_set(o, g, "scope", json_string("account")) < 0 ||
	    jmap_get_set(o, g, "name", json_pack("s+++", address, " (", type, ")")) < 0 ||
	    jmap_get_set(o, g, "types", json_pack("[s]", "Email")) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int jmap_quota_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	struct store_account acct;
	uint64_t bytes, messages;
	const char *state;
	if (jmap_get_parse(x, args, quota_props, NULL, &g) < 0)
		return ERR_INVAL;
	if (jmap_state(x, &state) < 0 ||
	    store_account_get_id(x->env, x->account_id, x->a, &acct) < 0 ||
	    store_usage(x->st, &bytes, &messages) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *have[2] = {NULL, NULL};
	if (acct.quota_bytes)
		have[0] = quota_object(&g, "octets", bytes, acct.quota_bytes, acct.address);
	if (acct.quota_messages)
		have[1] = quota_object(&g, "count", messages, acct.quota_messages, acct.address);
	json_t *list = json_array(), *not_found = json_array();
	int rc = list && not_found && (have[0] || !acct.quota_bytes) &&
			 (have[1] || !acct.quota_messages)
		     ? 0
		     : ERR_NOMEM;
	size_t n_want = g.all_ids ? 2 : g.n_ids;
	for (size_t k = 0; k < n_want && rc == 0; k++) {
		int i = g.all_ids ? (int)k
			: strcmp(g.ids[k], "octets") == 0 ? 0
			: strcmp(g.ids[k], "count") == 0  ? 1
							  : -1;
		if (i >= 0 && have[i])
			rc = json_array_append(list, have[i]);
		else if (!g.all_ids)
			rc = json_array_append_new(not_found, json_string(g.ids[k]));
	}
	json_decref(have[0]);
	json_decref(have[1]);
	if (rc < 0) {
		json_decref(list);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", "out of memory");
	}
	*result_out = jmap_get_result(x, state, list, not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
