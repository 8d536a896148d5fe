/* jmap_identity.c: Identity/get (RFC 8621 6.1): one Identity for the account's own
 * address and one for each of its aliases (store_account_aliases), name "", no
 * signatures, mayDelete false (they are the directory's, not the user's). An id is
 * "I" + 16 hex of a hash (FNV-1a 64) of the address, so it stays the same while
 * aliases come and go, and no address shows in an id. */
#include "http/jmap_mailbox.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/store.h"

static const char *const identity_props[] = {
	"id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature",
	"mayDelete", NULL,
};

static const char *identity_id(struct arena *a, const char *address)
{
	uint64_t h = 14695981039346656037u;
	for (const unsigned char *p = (const unsigned char *)address; *p; p++) {
		h ^= *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
		h *= 1099511628211u;
	}
	return arena_printf(a, "I%016llx", (unsigned long long)h);
}

static json_t *identity_object(const struct jmap_get_args *g, const char *id,
			       const char *address)
{
	json_t *o = json_pack("{ss}", "id", id);
	if (!o)
		return NULL;
	if (jmap_get_set(o, g, "name", json_string("")) < 0 ||
	    jmap_get_set(o, g, "email", json_string(address)) < 0 ||
	    jmap_get_set(o, g, "replyTo", json_null()) < 0 ||
	    jmap_get_set(o, g, "bcc", json_null()) < 0 ||
	    jmap_get_set(o, g, "textSignature", json_string("")) < 0 ||
	    jmap_get_set(o, g, "htmlSignature", json_string("")) < 0 ||
	    jmap_get_set(o, g, "mayDelete", json_false()) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int jmap_identity_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	const char **aliases;
	size_t n_aliases;
	const char *state;
	if (jmap_get_parse(x, args, identity_props, NULL, &g) < 0)
		return ERR_INVAL;
	if (jmap_state(x, &state) < 0 ||
	    store_account_aliases(x->env, x->account_id, x->a, &aliases, &n_aliases) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	size_t n = n_aliases + 1;
	const char **addrs = arena_alloc(x->a, n * sizeof *addrs);
	const char **ids = arena_alloc(x->a, n * sizeof *ids);
	if (!addrs || !ids)
		return jmap_method_error(x, "serverFail", "out of memory");
	addrs[0] = x->address;
	for (size_t i = 0; i < n_aliases; i++)
		addrs[i + 1] = aliases[i];
	for (size_t i = 0; i < n; i++)
		if (!(ids[i] = identity_id(x->a, addrs[i])))
			return jmap_method_error(x, "serverFail", "out of memory");
	json_t *list = json_array(), *not_found = json_array();
	int rc = list && not_found ? 0 : ERR_NOMEM;
	size_t n_want = g.all_ids ? n : g.n_ids;
	for (size_t k = 0; k < n_want && rc == 0; k++) {
		size_t i = k;
		if (!g.all_ids) {
			for (i = 0; i < n && strcmp(ids[i], g.ids[k]) != 0; i++)
				;
			if (i == n) {
				rc = json_array_append_new(not_found, json_string(g.ids[k]));
				continue;
			}
		}
		json_t *o = identity_object(&g, ids[i], addrs[i]);
		rc = o ? json_array_append_new(list, o) : ERR_NOMEM;
	}
	if (rc < 0) {
		json_decref(list);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", "out of memory");
	}
	*result_out = jmap_get_result(x, state, list, not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

int jmap_identity_find(struct jmap_ctx *x, const char *id, const char **address_out)
{
	const char **aliases;
	size_t n_aliases;
	int r = store_account_aliases(x->env, x->account_id, x->a, &aliases, &n_aliases);
	for (size_t i = 0; r == 0 && i <= n_aliases; i++) {
		const char *addr = i == 0 ? x->address : aliases[i - 1];
		const char *have = identity_id(x->a, addr);
		if (!have)
			return ERR_NOMEM;
		if (strcmp(have, id) == 0) {
			*address_out = addr;
			return 0;
		}
	}
	return r < 0 ? r : ERR_NOTFOUND;
}
