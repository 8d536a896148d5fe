/* jmap_mailbox.c: Mailbox/get and Mailbox/changes (RFC 8621 2.1, 2.2) over the store's
 * mailboxes: id = MAILBOXID, name = the last level of the '/'-separated name, parentId
 * = the mailbox one level up (a missing level: top level), role from special use.
 *
 * The counts follow RFC 8621 2: an Email is a store EMAILID (copies of one EMAILID in a
 * mailbox count once), unread = neither $seen nor $draft, a Thread counts in every
 * mailbox holding one of its Emails and is unread there when any of its Emails (in any
 * mailbox) is unread. The store keeps IMAP's counts (messages, \Seen) but no per-thread
 * ones, so they are computed here, only when a count is asked for, in one pass over
 * the account's messages (flags, EMAILID and THREADID from the index; store_msg_extra
 * reads a file only for a message whose thread is not cached yet, once): the cost
 * grows with the account, bounded by LIMIT_JMAP_ARENA per mailbox's rows. */
#include "http/jmap_mailbox.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/store.h"

static const char *const mailbox_props[] = {
	"id", "name", "parentId", "role", "sortOrder", "totalEmails", "unreadEmails",
	"totalThreads", "unreadThreads", "myRights", "isSubscribed", NULL,
};

struct mailbox_counts {
	json_int_t total_emails, unread_emails, total_threads, unread_threads;
};

/* One mailbox's messages with their thread ids: flags and EMAILIDs from
 * store_msg_list, THREADIDs from store_msg_extra (paged), joined by UID. Adds to the
 * sets emails (EMAILID -> unread?) and threads (THREADID), and each unread message's
 * thread to unread_threads (account-wide). */
static int scan_mailbox(struct store *st, int64_t mailbox_id, struct arena *a,
			json_t *emails, json_t *threads, json_t *unread_threads)
{
	struct store_msg *msgs;
	size_t n, i = 0;
	int rc = store_msg_list(st, mailbox_id, 1, UINT32_MAX, a, &msgs, &n);
	if (rc < 0)
		return rc;
	struct arena xa;
	arena_init(&xa, LIMIT_JMAP_ARENA);
	uint32_t next = 1;
	while (next != 0 && i < n) {
		struct store_msg_extra *ex;
		size_t n_ex;
		arena_reset(&xa);
		rc = store_msg_extra(st, mailbox_id, next, UINT32_MAX, STORE_X_THREAD, &xa, &ex,
				     &n_ex, &next);
		if (rc < 0)
			break;
		for (size_t k = 0; k < n_ex; k++) {
			/* both ascend by UID; a message gone or come between the two
			 * reads is skipped on the side that lacks it */
			while (i < n && msgs[i].uid < ex[k].uid)
				i++;
			if (i == n || msgs[i].uid != ex[k].uid)
				continue;
			/* a message the store could not thread (its file unreadable) is
			 * still an Email: its own thread, under a key no THREADID has */
			const char *thread = ex[k].thread_id ? ex[k].thread_id : msgs[i].guid;
			bool unread = (msgs[i].flags & (STORE_F_SEEN | STORE_F_DRAFT)) == 0;
			json_t *was = json_object_get(emails, msgs[i].guid);
			if ((!was || (unread && !json_is_true(was))) &&
			    json_object_set_new(emails, msgs[i].guid, json_boolean(unread)) < 0)
				rc = ERR_NOMEM;
			if (json_object_set_new(threads, thread, json_null()) < 0)
				rc = ERR_NOMEM;
			if (unread && json_object_set_new(unread_threads, thread, json_null()) < 0)
				rc = ERR_NOMEM;
		}
		if (rc < 0)
			break;
	}
	arena_free(&xa);
	return rc < 0 ? rc : 0;
}

/* The four counts of every mailbox of mbs[0..n), into counts[0..n). */
static int count_all(struct jmap_ctx *x, const struct store_mailbox *mbs, size_t n,
		     struct mailbox_counts *counts)
{
	json_t **threads = arena_zalloc(x->a, (n ? n : 1) * sizeof *threads);
	json_t *unread_threads = json_object();
	struct arena ma;
	int rc = threads && unread_threads ? 0 : ERR_NOMEM;
	arena_init(&ma, LIMIT_JMAP_ARENA);
	for (size_t m = 0; m < n && rc == 0; m++) {
		json_t *emails = json_object();
		threads[m] = json_object();
		arena_reset(&ma);
		if (!emails || !threads[m])
			rc = ERR_NOMEM;
		else
			rc = scan_mailbox(x->st, mbs[m].id, &ma, emails, threads[m],
					  unread_threads);
		/* a mailbox deleted since the list: no Emails */
		if (rc == ERR_NOTFOUND)
			rc = 0;
		const char *key;
		json_t *v;
		json_object_foreach(emails, key, v) {
			counts[m].total_emails++;
			counts[m].unread_emails += json_is_true(v);
		}
		json_decref(emails);
	}
	for (size_t m = 0; m < n && rc == 0; m++) {
		const char *key;
		json_t *v;
		json_object_foreach(threads[m], key, v) {
			counts[m].total_threads++;
			counts[m].unread_threads += json_object_get(unread_threads, key) != NULL;
		}
	}
	for (size_t m = 0; threads && m < n; m++)
		json_decref(threads[m]);
	json_decref(unread_threads);
	arena_free(&ma);
	return rc;
}

const char *jmap_mailbox_role(const struct store_mailbox *mb)
{
	if (strcmp(mb->name, "INBOX") == 0)
		return "inbox";
	static const struct {
		unsigned bit;
		const char *role;
	} roles[] = {
		{STORE_SU_DRAFTS, "drafts"}, {STORE_SU_SENT, "sent"}, {STORE_SU_TRASH, "trash"},
		{STORE_SU_JUNK, "junk"},     {STORE_SU_ARCHIVE, "archive"},
	};
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (mb->special_use & roles[i].bit)
			return roles[i].role;
	return NULL;
}

size_t jmap_mailbox_parent(const struct store_mailbox *mbs, size_t n,
			   const struct store_mailbox *mb)
{
	const char *slash = strrchr(mb->name, '/');
	if (!slash)
		return n;
	size_t len = (size_t)(slash - mb->name);
	for (size_t i = 0; i < n; i++)
		if (strlen(mbs[i].name) == len && memcmp(mbs[i].name, mb->name, len) == 0)
			return i;
	return n;
}

/* RFC 8621 2: the owner may do everything, but INBOX is neither renamed (our RENAME
 * of INBOX moves its messages away, RFC 9051 6.3.6) nor deleted (store: ERR_PERM). */
json_t *jmap_mailbox_rights(const struct store_mailbox *mb)
{
	bool inbox = strcmp(mb->name, "INBOX") == 0;
	return json_pack("{sbsbsbsbsbsbsbsbsb}", "mayReadItems", 1, "mayAddItems", 1,
			 "mayRemoveItems", 1, "maySetSeen", 1, "maySetKeywords", 1,
			 "mayCreateChild", 1, "mayRename", !inbox, "mayDelete", !inbox,
			 "maySubmit", 1);
}

static int set_prop(json_t *o, const char *name, json_t *v)
{
	return v ? json_object_set_new(o, name, v) : ERR_NOMEM;
}

static json_t *mailbox_object(const struct jmap_get_args *g, const struct store_mailbox *mbs,
			      size_t n, size_t i, const struct mailbox_counts *c)
{
	const struct store_mailbox *mb = &mbs[i];
	json_t *o = json_object();
	if (!o)
		return NULL;
	const char *slash = strrchr(mb->name, '/');
	size_t up = jmap_mailbox_parent(mbs, n, mb);
	const char *pid = up < n ? mbs[up].mailboxid : NULL;
	const char *role = jmap_mailbox_role(mb);
	int rc = set_prop(o, "id", json_string(mb->mailboxid));
	if (rc == 0 && jmap_get_wants(g, "name"))
		rc = set_prop(o, "name", json_string(slash ? slash + 1 : mb->name));
	if (rc == 0 && jmap_get_wants(g, "parentId"))
		rc = set_prop(o, "parentId", pid ? json_string(pid) : json_null());
	if (rc == 0 && jmap_get_wants(g, "role"))
		rc = set_prop(o, "role", role ? json_string(role) : json_null());
	if (rc == 0 && jmap_get_wants(g, "sortOrder"))
		rc = set_prop(o, "sortOrder", json_integer(0));
	if (rc == 0 && jmap_get_wants(g, "totalEmails"))
		rc = set_prop(o, "totalEmails", json_integer(c->total_emails));
	if (rc == 0 && jmap_get_wants(g, "unreadEmails"))
		rc = set_prop(o, "unreadEmails", json_integer(c->unread_emails));
	if (rc == 0 && jmap_get_wants(g, "totalThreads"))
		rc = set_prop(o, "totalThreads", json_integer(c->total_threads));
	if (rc == 0 && jmap_get_wants(g, "unreadThreads"))
		rc = set_prop(o, "unreadThreads", json_integer(c->unread_threads));
	if (rc == 0 && jmap_get_wants(g, "myRights"))
		rc = set_prop(o, "myRights", jmap_mailbox_rights(mb));
	if (rc == 0 && jmap_get_wants(g, "isSubscribed"))
		rc = set_prop(o, "isSubscribed", json_boolean(mb->subscribed));
	if (rc < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool wants_counts(const struct jmap_get_args *g)
{
	return jmap_get_wants(g, "totalEmails") || jmap_get_wants(g, "unreadEmails") ||
	       jmap_get_wants(g, "totalThreads") || jmap_get_wants(g, "unreadThreads");
}

int jmap_mailbox_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	const char *state;
	struct store_mailbox *mbs;
	size_t n;
	if (jmap_get_parse(x, args, mailbox_props, NULL, &g) < 0)
		return ERR_INVAL;
	/* the state before the reads: a change between them shows again, never lost */
	if (jmap_state(x, &state) < 0 || store_mailbox_list(x->st, x->a, &mbs, &n) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	struct mailbox_counts *counts = arena_zalloc(x->a, (n ? n : 1) * sizeof *counts);
	if (!counts)
		return jmap_method_error(x, "serverFail", "out of memory");
	if (wants_counts(&g) && count_all(x, mbs, n, counts) < 0)
		return jmap_method_error(x, "serverFail", "counting the mailboxes failed");
	json_t *list = json_array(), *not_found = json_array();
	size_t n_want = g.all_ids ? n : g.n_ids;
	int rc = list && not_found ? 0 : ERR_NOMEM;
	for (size_t k = 0; k < n_want && rc == 0; k++) {
		size_t i = k;
		if (!g.all_ids) {
			for (i = 0; i < n; i++)
				if (strcmp(mbs[i].mailboxid, g.ids[k]) == 0)
					break;
			if (i == n) {
				rc = json_array_append_new(not_found, json_string(g.ids[k]));
				continue;
			}
		}
		json_t *o = mailbox_object(&g, mbs, n, i, &counts[i]);
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

static json_t *id_array(const char **ids, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, json_string(ids[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

int jmap_mailbox_changes(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_changes_args c;
	struct store_changes ch;
	bool counts_only = false;
	if (jmap_changes_parse(x, args, &c) < 0)
		return ERR_INVAL;
	/* no maxChanges: the server's own cap (RFC 8620 5.2 lets it return fewer) */
	size_t max = c.max_changes ? c.max_changes : LIMIT_JMAP_OBJECTS_GET;
	int rc = store_mailbox_changes(x->st, c.since, max, x->a, &ch, &counts_only);
	if (rc == ERR_GONE || rc == ERR_INVAL)
		return jmap_method_error(x, "cannotCalculateChanges",
					 rc == ERR_GONE ? "sinceState is older than the kept changes"
							: "sinceState is not a state of this server");
	if (rc < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *created = id_array(ch.created, ch.n_created);
	json_t *updated = id_array(ch.updated, ch.n_updated);
	json_t *destroyed = id_array(ch.destroyed, ch.n_destroyed);
	json_t *res = NULL;
	if (created && updated && destroyed) {
		res = jmap_changes_result(x, ch.old_modseq, ch.new_modseq, ch.more, created,
					  updated, destroyed);
		created = updated = destroyed = NULL;
	}
	json_t *props = counts_only ? json_pack("[ssss]", "totalEmails", "unreadEmails",
						 "totalThreads", "unreadThreads")
				    : json_null();
	if (!res || !props || json_object_set_new(res, "updatedProperties", props) < 0) {
		if (!res)
			json_decref(props);
		json_decref(created);
		json_decref(updated);
		json_decref(destroyed);
		json_decref(res);
		return jmap_method_error(x, "serverFail", "out of memory");
	}
	*result_out = res;
	return 0;
}
