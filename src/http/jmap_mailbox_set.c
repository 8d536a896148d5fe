/* jmap_mailbox_set.c: Mailbox/set (RFC 8621 2.5; RFC 8620 5.3) over the store's
 * mailbox calls: create (name, parentId, isSubscribed; role and sortOrder only as
 * their defaults), update (name and parentId: a rename of the tree; isSubscribed),
 * destroy (mailboxHasChild; mailboxHasEmail unless onDestroyRemoveEmails). Roles are
 * special-use flags the server keeps: setting one is invalidProperties. INBOX is
 * neither renamed nor destroyed (forbidden). Each operation re-reads the mailbox list
 * (at most LIMIT_MAILBOXES rows), as a rename changes the names below it. */
#include "http/jmap_mailbox.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/store.h"

struct mailbox_set {
	struct jmap_ctx *x;
	struct store_mailbox *mbs;
	size_t n;
};

static int reload(struct mailbox_set *s)
{
	return store_mailbox_list(s->x->st, s->x->a, &s->mbs, &s->n);
}

/* The index of the mailbox with this id ("#cid" resolved), n when none. */
static size_t find(struct mailbox_set *s, const char *id)
{
	const char *real = id ? jmap_resolve_id(s->x, id) : NULL;
	for (size_t i = 0; real && i < s->n; i++)
		if (strcmp(s->mbs[i].mailboxid, real) == 0)
			return i;
	return s->n;
}

static bool has_child(const struct mailbox_set *s, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->mbs[i].name, name, len) == 0 && s->mbs[i].name[len] == '/')
			return true;
	return false;
}

static json_t *invalid(const char *prop, const char *why)
{
	return jmap_set_error("invalidProperties", why, json_pack("[s]", prop));
}

/* The wanted full name from a name and a parentId value (JSON null or an id): *err_out
 * set (a SetError) when they do not make one. */
static const char *full_name(struct mailbox_set *s, json_t *name, json_t *parent,
			     json_t **err_out)
{
	const char *n = json_string_value(name);
	*err_out = NULL;
	if (!n || !*n || strchr(n, '/')) {
		*err_out = invalid("name", "a name is a non-empty string without '/'");
		return NULL;
	}
	if (!parent || json_is_null(parent))
		return n;
	size_t p = json_is_string(parent) ? find(s, json_string_value(parent)) : s->n;
	if (p == s->n) {
		*err_out = invalid("parentId", "no such mailbox");
		return NULL;
	}
	const char *full = arena_printf(s->x->a, "%s/%s", s->mbs[p].name, n);
	if (!full)
		*err_out = jmap_set_error("serverFail", "out of memory", NULL);
	return full;
}

/* role and sortOrder may be given only as what they are (null / 0); the server-set
 * properties not at all. NULL when props are fine, else the SetError. */
static json_t *check_fixed(json_t *obj, const char *role)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "role") == 0) {
			const char *r = json_string_value(v);
			if (!(json_is_null(v) && !role) && !(r && role && strcmp(r, role) == 0))
				return invalid("role", "roles are the server's");
		} else if (strcmp(key, "sortOrder") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != 0)
				return invalid("sortOrder", "sortOrder is always 0");
		} else if (strcmp(key, "isSubscribed") == 0) {
			if (!json_is_boolean(v))
				return invalid("isSubscribed", "not a boolean");
		} else if (strcmp(key, "name") && strcmp(key, "parentId")) {
			return invalid(key, "not a property that can be set");
		}
	}
	return NULL;
}

static json_t *store_error(int rc)
{
	if (rc == ERR_EXISTS)
		return invalid("name", "a mailbox of that name exists");
	if (rc == ERR_INVAL || rc == ERR_TOO_LONG)
		return invalid("name", "not a valid mailbox name");
	if (rc == ERR_FULL)
		return jmap_set_error("overQuota", "too many mailboxes or subscriptions", NULL);
	if (rc == ERR_PERM)
		return jmap_set_error("forbidden", NULL, NULL);
	return jmap_set_error("serverFail", NULL, NULL);
}

static void create_one(struct mailbox_set *s, struct jmap_set_result *r, const char *cid,
		       json_t *obj)
{
	json_t *err = json_is_object(obj) ? check_fixed(obj, NULL)
					  : jmap_set_error("invalidArguments", "not an object", NULL);
	const char *full = NULL;
	int rc;
	if (!err)
		full = full_name(s, json_object_get(obj, "name"), json_object_get(obj, "parentId"),
				 &err);
	if (!err && (rc = store_mailbox_create(s->x->st, full, STORE_SU_NONE)) < 0)
		err = store_error(rc);
	json_t *sub = err ? NULL : json_object_get(obj, "isSubscribed");
	/* both ways: a name may be subscribed before its mailbox exists (RFC 9051 6.3.7) */
	if (!err && sub && (rc = store_subscription_set(s->x->st, full, json_is_true(sub))) < 0)
		err = store_error(rc);
	struct store_mailbox mb;
	if (!err && store_mailbox_get(s->x->st, full, s->x->a, &mb) < 0)
		err = jmap_set_error("serverFail", NULL, NULL);
	if (err) {
		jmap_set_not_created(r, cid, err);
		return;
	}
	/* the id and what the server set or defaulted (RFC 8620 5.3) */
	json_t *o = json_pack("{ss si si si si si sb so}", "id", mb.mailboxid, "sortOrder", 0,
			      "totalEmails", 0, "unreadEmails", 0, "totalThreads", 0,
			      "unreadThreads", 0, "isSubscribed", mb.subscribed, "role",
			      json_null());
	json_t *rights = o ? jmap_mailbox_rights(&mb) : NULL;
	if (!rights || json_object_set_new(o, "myRights", rights) < 0) {
		json_decref(o);
		jmap_set_not_created(r, cid, jmap_set_error("serverFail", NULL, NULL));
		return;
	}
	jmap_set_created(s->x, r, cid, o);
}

static json_t *update_one(struct mailbox_set *s, size_t i, json_t *patch)
{
	const struct store_mailbox mb = s->mbs[i];
	bool inbox = strcmp(mb.name, "INBOX") == 0;
	json_t *err = check_fixed(patch, jmap_mailbox_role(&mb));
	if (err)
		return err;
	json_t *name = json_object_get(patch, "name");
	json_t *parent = json_object_get(patch, "parentId");
	if (name || parent) {
		const char *slash = strrchr(mb.name, '/');
		size_t up = jmap_mailbox_parent(s->mbs, s->n, &mb);
		json_t *cur_name = json_string(slash ? slash + 1 : mb.name);
		json_t *cur_parent = up < s->n ? json_string(s->mbs[up].mailboxid) : json_null();
		const char *to = full_name(s, name ? name : cur_name, parent ? parent : cur_parent,
					   &err);
		json_decref(cur_name);
		json_decref(cur_parent);
		if (err)
			return err;
		if (strcmp(to, mb.name) != 0) {
			size_t len = strlen(mb.name);
			if (inbox)
				return jmap_set_error("forbidden", "INBOX is not renamed", NULL);
			if (strncmp(to, mb.name, len) == 0 && to[len] == '/')
				return invalid("parentId", "a mailbox cannot move below itself");
			int rc = store_mailbox_rename(s->x->st, mb.name, to);
			if (rc < 0)
				return store_error(rc);
			if (reload(s) < 0)
				return jmap_set_error("serverFail", NULL, NULL);
			i = find(s, mb.mailboxid);
			if (i == s->n)
				return jmap_set_error("serverFail", NULL, NULL);
		}
	}
	json_t *sub = json_object_get(patch, "isSubscribed");
	if (sub) {
		int rc = store_subscription_set(s->x->st, s->mbs[i].name, json_is_true(sub));
		if (rc < 0)
			return store_error(rc);
	}
	return NULL;
}

static json_t *destroy_one(struct mailbox_set *s, size_t i, bool remove_emails)
{
	const struct store_mailbox *mb = &s->mbs[i];
	if (strcmp(mb->name, "INBOX") == 0)
		return jmap_set_error("forbidden", "INBOX is not destroyed", NULL);
	if (has_child(s, mb->name))
		return jmap_set_error("mailboxHasChild", NULL, NULL);
	if (mb->messages > 0 && !remove_emails)
		return jmap_set_error("mailboxHasEmail", NULL, NULL);
	/* an Email also in another mailbox stays there (RFC 8621 2.5) */
	int rc = store_mailbox_delete(s->x->st, mb->name);
	return rc < 0 ? store_error(rc) : NULL;
}

int jmap_mailbox_set(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_set_args a;
	struct jmap_set_result r = {0};
	struct mailbox_set s = {.x = x};
	const char *old_state, *new_state;
	json_t *remove = json_object_get(args, "onDestroyRemoveEmails");
	if (jmap_state(x, &old_state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (jmap_set_parse(x, args, old_state, &a) < 0)
		return ERR_INVAL;
	if (remove && !json_is_boolean(remove))
		return jmap_method_error(x, "invalidArguments", "onDestroyRemoveEmails: not a boolean");
	const char *key;
	json_t *v;
	json_object_foreach(a.create, key, v) {
		if (reload(&s) < 0)
			goto fail;
		create_one(&s, &r, key, v);
	}
	json_object_foreach(a.update, key, v) {
		if (reload(&s) < 0)
			goto fail;
		size_t i = find(&s, key);
		/* taken before update_one, whose rename reloads s */
		const char *id = i == s.n ? key : s.mbs[i].mailboxid;
		json_t *err = i == s.n ? jmap_set_error("notFound", NULL, NULL)
				       : update_one(&s, i, v);
		if (err)
			jmap_set_not_updated(&r, key, err);
		else
			jmap_set_updated(&r, id, NULL);
	}
	for (size_t k = 0; k < a.n_destroy; k++) {
		if (reload(&s) < 0)
			goto fail;
		size_t i = find(&s, a.destroy[k]);
		json_t *err = i == s.n ? jmap_set_error("notFound", NULL, NULL)
				       : destroy_one(&s, i, json_is_true(remove));
		if (err)
			jmap_set_not_destroyed(&r, a.destroy[k], err);
		else
			jmap_set_destroyed(&r, s.mbs[i].mailboxid);
	}
	if (jmap_state(x, &new_state) < 0)
		goto fail;
	*result_out = jmap_set_response(x, &r, old_state, new_state);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
fail:
	json_decref(jmap_set_response(x, &r, old_state, old_state));
	return jmap_method_error(x, "serverFail", NULL);
}
