/* jmap_submission_get.c: EmailSubmission/get, /changes, /query and /queryChanges
 * (RFC 8621 7.1-7.4)
 * over the account's kept submissions (store_submission_list: at most
 * LIMIT_SUBMISSION_ROWS, so every call reads them all and filters in memory).
 * deliveryStatus: what the send returned, with the remote recipients' states read from
 * the outbound queue while the message is in it (jmap_submission.h). */
#include "http/jmap_submission_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "outbound/queue.h"
#include "store/store.h"
#include "core/banned.h"

static const char *const submission_props[] = {
    "id",         "identityId",     "emailId",    "threadId",   "envelope", "sendAt",
    "undoStatus", "deliveryStatus", "dsnBlobIds", "mdnBlobIds", NULL,
};

/* The remote recipients' states from the queue (RFC 8621 7 deliveryStatus): while the
 * message is queued its rows say; once it has left, the queue keeps no history. */
static void refresh_status(struct jmap_ctx *x, json_t *obj)
{
	json_t *status = json_object_get(obj, "deliveryStatus");
	const char *qid = json_string_value(json_object_get(obj, "queueId"));
	struct queue_show *sh = NULL;
	if (!qid || !json_is_object(status))
		return;
	if (!jmap_submission_show_fn || jmap_submission_show_fn(qid, x->a, &sh) < 0)
		sh = NULL;
	const char *addr;
	json_t *st;
	json_object_foreach(status, addr, st)
	{
		const char *was = json_string_value(json_object_get(st, "delivered"));
		if (!was || strcmp(was, "queued") != 0)
			continue; /* local: final when sent */
		const struct queue_show_rcpt *q = NULL;
		for (size_t i = 0; sh && i < sh->n_rcpts && !q; i++)
			if (strcmp(sh->rcpts[i].address, addr) == 0)
				q = &sh->rcpts[i];
		const char *delivered = !q                                 ? "unknown"
		                        : q->state == QUEUE_RCPT_PENDING   ? "queued"
		                        : q->state == QUEUE_RCPT_DELIVERED ? "yes"
		                        : q->state == QUEUE_RCPT_RELAYED   ? "unknown"
		                                                           : "no";
		json_object_set_new(st, "delivered", json_string(delivered));
		if (q && q->last_error)
			json_object_set_new(st, "smtpReply", json_string(q->last_error));
	}
}

/* The JMAP object of a kept submission (all properties), or NULL. */
static json_t *submission_object(struct jmap_ctx *x, const struct store_submission *s)
{
	json_t *o = json_loads(s->object, 0, NULL);
	if (!o)
		return NULL;
	refresh_status(x, o);
	json_object_del(o, "queueId");
	if (json_object_set_new(o, "id", json_string(jmap_submission_id(x, s->id))) < 0 ||
	    json_object_set_new(o, "undoStatus", json_string("final")) < 0 ||
	    json_object_set_new(o, "dsnBlobIds", json_array()) < 0 ||
	    json_object_set_new(o, "mdnBlobIds", json_array()) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Only the properties asked for. */
static json_t *wanted(json_t *full, const struct jmap_get_args *g)
{
	json_t *o = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(full, k, v)
	{
		if (o && jmap_get_wants(g, k) && json_object_set(o, k, v) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	json_decref(full);
	return o;
}

int jmap_submission_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	struct store_submission_list l;
	const char *state;
	if (jmap_get_parse(x, args, submission_props, NULL, &g) < 0)
		return ERR_INVAL;
	if (jmap_submission_list(x, &l, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *list = json_array(), *not_found = json_array();
	int rc = list && not_found ? 0 : ERR_NOMEM;
	size_t n = g.all_ids ? l.n : g.n_ids;
	for (size_t k = 0; k < n && rc == 0; k++) {
		const struct store_submission *s = NULL;
		if (g.all_ids) {
			s = l.v[k].destroyed ? NULL : &l.v[k];
			if (!s)
				continue;
		} else {
			int64_t id = jmap_submission_id_parse(g.ids[k]);
			for (size_t i = 0; i < l.n && !s; i++)
				if (l.v[i].id == id && !l.v[i].destroyed)
					s = &l.v[i];
			if (!s) {
				rc = json_array_append_new(not_found, json_string(g.ids[k]));
				continue;
			}
		}
		json_t *o = wanted(submission_object(x, s), &g);
		rc = o ? json_array_append_new(list, o) : ERR_NOMEM;
	}
	if (rc < 0) {
		json_decref(list);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = jmap_get_result(x, state, list, not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

/* ---- /changes ---- */

/* A change: the submission it touched and whether it was its creation. */
struct sub_change {
	uint64_t seq;
	int64_t id;
	bool created;
};

static int change_cmp(const void *a, const void *b)
{
	const struct sub_change *p = a, *q = b;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

int jmap_submission_changes(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_changes_args c;
	struct store_submission_list l;
	const char *state;
	if (jmap_changes_parse(x, args, &c) < 0)
		return ERR_INVAL;
	if (jmap_submission_list(x, &l, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (c.since > l.state || c.since < l.pruned)
		return jmap_method_error(x, "cannotCalculateChanges",
		                         "sinceState is not a state the server still knows");
	/* RFC 8620 5.2: made and gone after since: left out; made before, gone after:
	 * destroyed; made after, alive: created (submissions never change otherwise) */
	struct sub_change *ch = arena_alloc(x->a, (l.n ? l.n : 1) * sizeof *ch);
	size_t n = 0;
	if (!ch)
		return jmap_method_error(x, "serverFail", NULL);
	for (size_t i = 0; i < l.n; i++) {
		const struct store_submission *s = &l.v[i];
		if (s->seq > c.since && !s->destroyed)
			ch[n++] = (struct sub_change){s->seq, s->id, true};
		else if (s->seq <= c.since && s->destroyed > c.since)
			ch[n++] = (struct sub_change){s->destroyed, s->id, false};
	}
	qsort(ch, n, sizeof *ch, change_cmp);
	size_t max = c.max_changes ? c.max_changes : LIMIT_JMAP_OBJECTS_GET;
	bool more = n > max;
	uint64_t new_state = more ? ch[max - 1].seq : l.state;
	json_t *created = json_array(), *destroyed = json_array();
	for (size_t i = 0; created && destroyed && i < (more ? max : n); i++)
		json_array_append_new(ch[i].created ? created : destroyed,
		                      json_string(jmap_submission_id(x, ch[i].id)));
	*result_out = jmap_changes_result(x, c.since, new_state, more, created, NULL, destroyed);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

/* ---- /query ---- */

/* Does the kept object o pass filter f (RFC 8621 7.3 FilterCondition)? */
static bool id_in(json_t *list, const char *v)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		if (v && json_is_string(e) && strcmp(json_string_value(e), v) == 0)
			return true;
	}
	return false;
}

static bool matches(json_t *f, json_t *o)
{
	const char *k;
	json_t *v;
	const char *sent = json_string_value(json_object_get(o, "sendAt"));
	json_object_foreach(f, k, v)
	{
		if (!strcmp(k, "identityIds") || !strcmp(k, "emailIds") ||
		    !strcmp(k, "threadIds")) {
			char prop[16];
			size_t len = strlen(k) - 1; /* the property: the name without its 's' */
			memcpy(prop, k, len);
			prop[len] = '\0';
			if (!id_in(v, json_string_value(json_object_get(o, prop))))
				return false;
		} else if (!strcmp(k, "undoStatus")) {
			if (strcmp(json_string_value(v), "final") != 0)
				return false;
		} else if (!strcmp(k, "before")) { /* UTCDates of one form compare as text */
			if (!sent || strcmp(sent, json_string_value(v)) >= 0)
				return false;
		} else if (!strcmp(k, "after")) {
			if (!sent || strcmp(sent, json_string_value(v)) < 0)
				return false;
		}
	}
	return true;
}

/* A FilterCondition we know, with arguments of the right types. */
static bool filter_ok(json_t *f)
{
	const char *k;
	json_t *v;
	if (!json_is_object(f))
		return false;
	json_object_foreach(f, k, v)
	{
		if (!strcmp(k, "identityIds") || !strcmp(k, "emailIds") ||
		    !strcmp(k, "threadIds")) {
			size_t i;
			json_t *e;
			if (!json_is_array(v))
				return false;
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e))
					return false;
			}
		} else if (!strcmp(k, "undoStatus") || !strcmp(k, "before") ||
		           !strcmp(k, "after")) {
			if (!json_is_string(v))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* One submission in the sort: its key (RFC 8621 7.3 sorts by emailId, threadId or
 * sentAt, which is sendAt here) and the order, shared by every element since qsort's
 * comparator takes no argument. */
struct sorted {
	const char *key; /* NULL: sorted by id only */
	const char *id;
	int64_t sid;
	const bool *ascending;
};

static int sorted_cmp(const void *a, const void *b)
{
	const struct sorted *p = a, *q = b;
	int c = 0;
	if (p->key && q->key)
		c = strcmp(p->key, q->key) * (*p->ascending ? 1 : -1);
	return c ? c : (p->sid > q->sid) - (p->sid < q->sid);
}

static int sort_parse(struct jmap_ctx *x, json_t *sort, const char **prop, bool *asc)
{
	*prop = NULL;
	*asc = true;
	if (!sort || json_array_size(sort) == 0)
		return 0;
	json_t *c = json_array_get(sort, 0);
	const char *p = json_string_value(json_object_get(c, "property"));
	json_t *a = json_object_get(c, "isAscending");
	if (json_array_size(sort) > 1 || !p ||
	    (strcmp(p, "emailId") && strcmp(p, "threadId") && strcmp(p, "sentAt")) ||
	    (a && !json_is_boolean(a)))
		return jmap_method_error(x, "unsupportedSort", NULL);
	*prop = p;
	*asc = !a || json_is_true(a);
	return 0;
}

int jmap_submission_query(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_query_args q;
	struct store_submission_list l;
	const char *state, *prop;
	bool asc;
	size_t first, count, n = 0;
	if (jmap_query_parse(x, args, &q) < 0 || sort_parse(x, q.sort, &prop, &asc) < 0)
		return ERR_INVAL;
	if (q.filter && !filter_ok(q.filter))
		return jmap_method_error(x, "unsupportedFilter", NULL);
	if (jmap_submission_list(x, &l, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	struct sorted *v = arena_alloc(x->a, (l.n ? l.n : 1) * sizeof *v);
	const char **ids = arena_alloc(x->a, (l.n ? l.n : 1) * sizeof *ids);
	if (!v || !ids)
		return jmap_method_error(x, "serverFail", NULL);
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].destroyed)
			continue;
		json_t *o = json_loads(l.v[i].object, 0, NULL);
		if (o && (!q.filter || matches(q.filter, o))) {
			const char *key = NULL;
			if (prop) {
				const char *k = strcmp(prop, "sentAt") == 0 ? "sendAt" : prop;
				key = arena_strdup(x->a,
				                   json_string_value(json_object_get(o, k))
				                       ? json_string_value(json_object_get(o, k))
				                       : "");
			}
			v[n++] =
			    (struct sorted){key, jmap_submission_id(x, l.v[i].id), l.v[i].id, &asc};
		}
		json_decref(o);
	}
	qsort(v, n, sizeof *v, sorted_cmp);
	for (size_t i = 0; i < n; i++)
		ids[i] = v[i].id;
	if (jmap_query_window(x, &q, ids, n, &first, &count) < 0)
		return ERR_INVAL;
	*result_out = jmap_query_result(x, &q, state, false, ids, n, first, count);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}

int jmap_submission_querychanges(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_querychanges_args q;
	(void)result_out; /* never an answer: see jmap_submission.h */
	if (jmap_querychanges_parse(x, args, &q) < 0)
		return ERR_INVAL;
	return jmap_method_error(x, "cannotCalculateChanges",
	                         "EmailSubmission/query cannot calculate changes: query again");
}
