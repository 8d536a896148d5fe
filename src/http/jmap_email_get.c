/* jmap_email_get.c: Email/get (RFC 8621 4.2) with every property of 4.1: the index's
 * (id, blobId ("G" + EMAILID), threadId, mailboxIds, keywords, size, receivedAt), the
 * cached preview, the header properties (jmap_email_get_hdr.c, over the store's cached
 * header: a headers-only Email/get opens no message file) and the body properties
 * (jmap_email_body.c, over the cached MIME tree, reading only the byte ranges a value
 * or a decoded size needs). Each message is read in a scratch arena of
 * LIMIT_JMAP_EMAIL_ARENA, reset between messages.
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
#include "core/log.h"
#include "http/jmap.h"
#include "http/jmap_email_get_int.h"
#include "http/jmap_email_int.h"
#include "http/jmap_hform.h"
#include "store/store.h"

static const char *const email_props[] = {
	"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "headers",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
	"subject", "sentAt", "hasAttachment", "preview", "bodyStructure", "bodyValues",
	"textBody", "htmlBody", "attachments", NULL};
/* RFC 8621 4.2: the properties when none are asked for */
static const char *const default_props[] = {
	"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
	"subject", "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody",
	"attachments", NULL};

/* {keyword: true} of flags and the space-separated keywords, lower-cased. */
static json_t *keywords_object(struct arena *a, unsigned flags, const char *keywords)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < jmap_keyword_bits_n; i++)
		if ((flags & jmap_keyword_bits[i].bit) &&
		    json_object_set_new(o, jmap_keyword_bits[i].name, json_true()) < 0)
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

void jmap_email_want(const struct jmap_get_args *g, struct jmap_email_want *w)
{
	memset(w, 0, sizeof *w);
	for (size_t i = 0; i < g->n_props; i++)
		w->header |= jmap_is_header_prop(g->props[i]);
	w->preview = jmap_get_wants(g, "preview");
	w->body.structure = jmap_get_wants(g, "bodyStructure");
	w->body.text = jmap_get_wants(g, "textBody");
	w->body.html = jmap_get_wants(g, "htmlBody");
	w->body.attachments = jmap_get_wants(g, "attachments");
	w->body.values = jmap_get_wants(g, "bodyValues");
	w->body.has_attachment = jmap_get_wants(g, "hasAttachment");
	w->any_body = w->body.structure || w->body.text || w->body.html ||
		      w->body.attachments || w->body.values || w->body.has_attachment;
}

/* The header, preview and body properties of the Email e into o, reading its first
 * copy in scratch. 0 or ERR_*. */
static int email_content(struct jmap_ctx *x, const struct jmap_get_args *g,
			 const struct jmap_email_want *w, const struct jmap_body_args *b,
			 const struct store_email *e, struct arena *scratch, json_t *o)
{
	struct jmap_msg m;
	jmap_msg_init_store(&m, scratch, x->st, e->mailbox_ids[0], e->uids[0]);
	m.blob_prefix = arena_printf(scratch, "G%s", e->id);
	int rc = m.blob_prefix ? 0 : ERR_NOMEM;
	if (rc == 0 && (w->header || w->preview)) {
		struct store_msg_extra *ex;
		size_t n;
		uint32_t next;
		unsigned want = (w->header ? STORE_X_HEADER : 0) | (w->preview ? STORE_X_PREVIEW : 0);
		rc = store_msg_extra(x->st, m.mailbox_id, m.uid, m.uid, want, scratch, &ex, &n, &next);
		if (rc == 0 && n == 1) {
			m.hdr = ex[0].header;
			m.hdr_len = ex[0].header_len;
			m.preview = ex[0].preview;
		}
	}
	if (rc == 0 && w->header && (rc = jmap_msg_header(&m)) == 0)
		rc = jmap_header_props(g->props, g->n_props, m.hdr, m.hdr_len, scratch, o);
	if (rc == 0 && w->preview) {
		const char *pv = m.preview ? m.preview : "";
		json_t *v = jmap_hform_utf8((const uint8_t *)pv, strlen(pv), scratch);
		rc = v && json_object_set_new(o, "preview", v) == 0 ? 0 : ERR_NOMEM;
	}
	if (rc == 0 && w->any_body)
		rc = jmap_body_props(&m, b, &w->body, o);
	jmap_msg_close(&m);
	return rc;
}

int jmap_add_header_props(struct jmap_ctx *x, struct jmap_get_args *g, const char **hp,
			    size_t n)
{
	if (!n)
		return 0;
	const char **l = arena_alloc(x->a, (g->n_props + n) * sizeof *l);
	if (!l)
		return jmap_method_error(x, "serverFail", NULL);
	memcpy(l, g->props, g->n_props * sizeof *l);
	memcpy(l + g->n_props, hp, n * sizeof *l);
	g->props = l;
	g->n_props += n;
	return 0;
}

int jmap_email_get(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	struct jmap_body_args b;
	struct jmap_email_want w;
	struct store_email *e = NULL;
	struct store_mailbox *mb = NULL;
	size_t n = 0, n_mb = 0, n_hp;
	const char *state, **hp;
	json_t *std_args;
	if (jmap_split_header_props(x, args, "properties", &std_args, &hp, &n_hp) < 0)
		return ERR_INVAL;
	int prc = jmap_get_parse(x, std_args, email_props, default_props, &g);
	json_decref(std_args);
	if (prc < 0 || jmap_add_header_props(x, &g, hp, n_hp) < 0 ||
	    jmap_body_args_parse(x, args, &b) < 0)
		return ERR_INVAL;
	jmap_email_want(&g, &w);
	if (jmap_state(x, &state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (g.all_ids && all_emails(x, &g.ids, &g.n_ids) < 0)
		return ERR_INVAL;
	if ((g.n_ids && store_email_get(x->st, g.ids, g.n_ids, x->a, &e, &n) < 0) ||
	    store_mailbox_list(x->st, x->a, &mb, &n_mb) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	json_t *list = json_array(), *not_found = json_array();
	int rc = list && not_found ? 0 : -1;
	struct arena scratch;
	arena_init(&scratch, LIMIT_JMAP_EMAIL_ARENA);
	/* the store answers the found ids in the order asked: walk both together */
	for (size_t i = 0, j = 0; rc == 0 && i < g.n_ids; i++) {
		if (j < n && strcmp(e[j].id, g.ids[i]) == 0) {
			json_t *o = email_object(x, &g, &e[j], mb, n_mb);
			arena_reset(&scratch);
			int crc = o ? email_content(x, &g, &w, &b, &e[j], &scratch, o) : ERR_NOMEM;
			if (crc < 0)
				json_decref(o);
			if (crc == ERR_NOTFOUND) /* expunged since store_email_get read it */
				rc = json_array_append_new(not_found, json_string(g.ids[i]));
			else if (crc < 0)
				log_warn("jmap: Email/get %s: %s", e[j].id, err_str(crc));
			else
				rc = json_array_append_new(list, o);
			if (crc < 0 && crc != ERR_NOTFOUND)
				rc = -1;
			j++;
		} else {
			rc = json_array_append_new(not_found, json_string(g.ids[i]));
		}
	}
	arena_free(&scratch);
	if (rc < 0) {
		json_decref(list);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = jmap_get_result(x, state, list, not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
