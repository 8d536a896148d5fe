/* jmap_email_get.c: Email/get (RFC 8621 4.2) with the properties the store's index
 * answers without reading the message: id, blobId ("G" + EMAILID), threadId,
 * mailboxIds, keywords, size, receivedAt. Any other property (headers, bodies) is
 * refused as invalidArguments until the MIME-backed properties exist, so a client is
 * never handed an Email with members silently missing.
 *
 * keywords: the IMAP system flags as their JMAP keywords ($seen, $answered, $flagged,
 * $draft; $forwarded, $junk, $notjunk kept as flag bits) and the other keywords, all
 * lower-case (RFC 8621 4.1.1: keywords are case-insensitive); \Deleted has no JMAP
 * keyword (JMAP has no delete-then-expunge). ids null (all Emails, RFC 8620 5.1) is
 * requestTooLarge past LIMIT_JMAP_OBJECTS_GET Emails in the account. */
#include "http/jmap_email.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"
#include "store/store.h"

static const char *const email_props[] = {"id",   "blobId",     "threadId", "mailboxIds",
					  "keywords", "size", "receivedAt", NULL};

static const struct {
	unsigned bit;
	const char *keyword;
} flag_keywords[] = {
	{STORE_F_SEEN, "$seen"},         {STORE_F_ANSWERED, "$answered"},
	{STORE_F_FLAGGED, "$flagged"},   {STORE_F_DRAFT, "$draft"},
	{STORE_F_FORWARDED, "$forwarded"}, {STORE_F_JUNK, "$junk"},
	{STORE_F_NOTJUNK, "$notjunk"},
};

/* {keyword: true} of flags and the space-separated keywords, lower-cased. */
static json_t *keywords_object(struct arena *a, unsigned flags, const char *keywords)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < sizeof flag_keywords / sizeof flag_keywords[0]; i++)
		if ((flags & flag_keywords[i].bit) &&
		    json_object_set_new(o, flag_keywords[i].keyword, json_true()) < 0)
			goto fail;
	for (const char *p = keywords; o && p && *p;) {
		size_t n = strcspn(p, " ");
		char *k = n ? arena_strndup(a, p, n) : NULL;
		if (n && !k)
			goto fail;
		for (size_t i = 0; i < n; i++)
			k[i] = (char)tolower((unsigned char)k[i]);
		if (n && json_object_set_new(o, k, json_true()) < 0)
			goto fail;
		p += n;
		p += *p == ' ';
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* RFC 3339 UTCDate of unix seconds. */
static json_t *utc_date(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];
	if (!gmtime_r(&tt, &tm) || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_string(s);
}

/* {MAILBOXID: true} of the copies' mailboxes. */
static json_t *mailbox_ids_object(const struct store_email *e, const struct store_mailbox *mb,
				  size_t n_mb)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < e->n; i++)
		for (size_t j = 0; j < n_mb; j++)
			if (mb[j].id == e->mailbox_ids[i] && mb[j].mailboxid &&
			    json_object_set_new(o, mb[j].mailboxid, json_true()) < 0) {
				json_decref(o);
				return NULL;
			}
	return o;
}

static json_t *email_object(struct jmap_ctx *x, const struct jmap_get_args *g,
			    const struct store_email *e, const struct store_mailbox *mb,
			    size_t n_mb)
{
	json_t *o = json_pack("{s:s}", "id", e->id);
	const char *blob = arena_printf(x->a, "G%s", e->id);
	if (!o || !blob ||
	    jmap_get_set(o, g, "blobId", json_string(blob)) < 0 ||
	    jmap_get_set(o, g, "threadId", json_string(e->thread_id)) < 0 ||
	    jmap_get_set(o, g, "mailboxIds", jmap_get_wants(g, "mailboxIds")
						 ? mailbox_ids_object(e, mb, n_mb) : NULL) < 0 ||
	    jmap_get_set(o, g, "keywords", jmap_get_wants(g, "keywords")
					       ? keywords_object(x->a, e->flags, e->keywords)
					       : NULL) < 0 ||
	    jmap_get_set(o, g, "size", json_integer((json_int_t)e->size)) < 0 ||
	    jmap_get_set(o, g, "receivedAt", utc_date(e->received_at)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Every EMAILID of the account, at most LIMIT_JMAP_OBJECTS_GET. */
static int all_emails(struct jmap_ctx *x, const char ***ids_out, size_t *n_out)
{
	struct store_email_query q = {.mailbox_id = 0, .sort = STORE_SORT_RECEIVED,
				      .ascending = true, .limit = LIMIT_JMAP_OBJECTS_GET + 1};
	struct store_email_list l;
	if (store_email_query(x->st, &q, x->a, &l) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (l.total > LIMIT_JMAP_OBJECTS_GET)
		return jmap_method_error(x, "requestTooLarge",
					 "more Emails than maxObjectsInGet: ask by ids");
	*ids_out = l.ids;
	*n_out = l.n;
	return 0;
}

int jmap_email_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	struct store_email *e = NULL;
	struct store_mailbox *mb = NULL;
	size_t n = 0, n_mb = 0;
	const char *state;
	if (jmap_get_parse(x, args, email_props, NULL, &g) < 0)
		return ERR_INVAL;
	if (jmap_state(x, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (g.all_ids && all_emails(x, &g.ids, &g.n_ids) < 0)
		return ERR_INVAL;
	if ((g.n_ids && store_email_get(x->st, g.ids, g.n_ids, x->a, &e, &n) < 0) ||
	    store_mailbox_list(x->st, x->a, &mb, &n_mb) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *list = json_array(), *not_found = json_array();
	int rc = list && not_found ? 0 : -1;
	/* the store answers the found ids in the order asked: walk both together */
	for (size_t i = 0, j = 0; rc == 0 && i < g.n_ids; i++) {
		if (j < n && strcmp(e[j].id, g.ids[i]) == 0)
			rc = json_array_append_new(list, email_object(x, &g, &e[j++], mb, n_mb));
		else
			rc = json_array_append_new(not_found, json_string(g.ids[i]));
	}
	if (rc < 0) {
		json_decref(list);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = jmap_get_result(x, state, list, not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
