/* jmap_email_parse.c: Email/parse (RFC 8621 4.9): the Email properties of messages held
 * in blobs: uploads, stored messages ("G<EMAILID>") and message/rfc822 or
 * message/global parts ("G<EMAILID>.<partId>"), each opened through
 * jmap_blob_open_any, parsed in a scratch arena of LIMIT_JMAP_EMAIL_ARENA and read with
 * the same header and body code as Email/get. id, threadId, mailboxIds, keywords and
 * receivedAt are null (the message is in no mailbox).
 *
 * The parts of a parsed message get blob ids that open them again: "<blob>.<partId>"
 * for an upload or a stored message, and for a message inside a part the part's id
 * with the IMAP numbering continued ("G<id>.3" + "1.2" = "G<id>.3.1.2"; RFC 9051 6.4.5)
 * where the store's tree descends into that part; where it does not (an encoded
 * message/rfc822 part), they are null. A blob that is not a message (a part of
 * another type, an empty blob, one whose structure passes the arena) is notParsable.
 * At most LIMIT_JMAP_OBJECTS_GET blob ids per call. */
#include "http/jmap_email.h"

#include <string.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/jmap.h"
#include "http/jmap_email_get_int.h"
#include "http/jmap_hform.h"
#include "mime/mime.h"
#include "store/store.h"

#define HEX_LEN 32

static const char *const parse_props[] = {
	"id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "headers",
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
	"subject", "sentAt", "hasAttachment", "preview", "bodyStructure", "bodyValues",
	"textBody", "htmlBody", "attachments", NULL};
/* RFC 8621 4.9: the properties when none are asked for */
static const char *const parse_default[] = {
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc", "replyTo",
	"subject", "sentAt", "hasAttachment", "preview", "bodyValues", "textBody", "htmlBody",
	"attachments", NULL};

/* Whether part section of the message that base names ("G<id>" or "U<hex>") was
 * descended into by the parser (a message/rfc822 with an identity encoding), so the
 * parts inside it have section numbers of their own. */
static bool part_descended(struct jmap_ctx *x, const char *base, const char *section,
			   struct arena *a)
{
	struct jmap_msg m;
	bool ok = false;
	if (base[0] == 'G') {
		const char *id = base + 1;
		struct store_email *e;
		size_t n = 0;
		if (store_email_get(x->st, &id, 1, a, &e, &n) < 0 || n == 0 || e[0].n == 0)
			return false;
		jmap_msg_init_store(&m, a, x->st, e[0].mailbox_ids[0], e[0].uids[0]);
	} else {
		int fd;
		uint64_t size;
		const char *type;
		if (store_blob_open(x->st, base, &fd, &size, &type, a) < 0)
			return false;
		jmap_msg_init_fd(&m, a, fd, size);
	}
	if (jmap_msg_root(&m) == 0) {
		struct mime_part *p = jmap_msg_find_part(m.root, section);
		ok = p && p->message;
	}
	jmap_msg_close(&m);
	return ok;
}

/* Where the parts of the message in blob_id get their blob ids (m->blob_prefix,
 * m->part_prefix). */
static int part_blob_ids(struct jmap_ctx *x, const char *blob_id, struct jmap_msg *m)
{
	size_t len = strlen(blob_id);
	if (len <= 1 + HEX_LEN) { /* an upload or a stored message: its own numbering */
		m->blob_prefix = blob_id;
		m->part_prefix = "";
		return 0;
	}
	const char *base = arena_strndup(m->a, blob_id, 1 + HEX_LEN);
	const char *section = blob_id + 1 + HEX_LEN + 1;
	if (!base)
		return ERR_NOMEM;
	if (part_descended(x, base, section, m->a)) {
		m->blob_prefix = base;
		m->part_prefix = arena_printf(m->a, "%s.", section);
		if (!m->part_prefix)
			return ERR_NOMEM;
	}
	return 0;
}

/* The RFC 8970 preview of a parsed message, as delivery makes it. */
static int preview(struct jmap_msg *m, json_t *o)
{
	struct mime_extract ex;
	int rc = jmap_msg_map(m);
	if (rc == 0)
		rc = mime_extract(m->map, m->map_len, m->a, &ex);
	if (rc < 0)
		return rc;
	json_t *v = jmap_hform_utf8((const uint8_t *)ex.preview, ex.preview_len, m->a);
	return v && json_object_set_new(o, "preview", v) == 0 ? 0 : ERR_NOMEM;
}

/* The Email of one blob into *out; ERR_NOTFOUND (notFound), ERR_INVAL (notParsable),
 * other ERR_* (serverFail). */
static int parse_one(struct jmap_ctx *x, const struct jmap_get_args *g,
		     const struct jmap_email_want *w, const struct jmap_body_args *b,
		     const char *blob_id, struct arena *scratch, json_t **out)
{
	int fd = -1;
	uint64_t size = 0;
	const char *type = NULL;
	struct jmap_ctx bx = *x;
	bx.a = scratch;
	int rc = jmap_blob_open_any(&bx, blob_id, &fd, &size, &type);
	if (rc < 0)
		return rc;
	bool part = strlen(blob_id) > 1 + HEX_LEN && blob_id[1 + HEX_LEN] == '.';
	struct jmap_msg m;
	jmap_msg_init_fd(&m, scratch, fd, size);
	if (size == 0 || (part && strcmp(type, "message/rfc822") != 0 &&
			  strcmp(type, "message/global") != 0)) {
		jmap_msg_close(&m);
		return ERR_INVAL;
	}
	json_t *o = json_pack("{s:n,s:s,s:n,s:n,s:n,s:I,s:n}", "id", "blobId", blob_id,
			      "threadId", "mailboxIds", "keywords", "size", (json_int_t)size,
			      "receivedAt");
	rc = o ? part_blob_ids(x, blob_id, &m) : ERR_NOMEM;
	if (rc == 0)
		rc = jmap_msg_root(&m);
	if (rc == ERR_NOMEM || rc == ERR_TOO_BIG)
		rc = ERR_INVAL; /* a structure past the arena: not one we parse */
	if (rc == 0 && w->header && (rc = jmap_msg_header(&m)) == 0)
		rc = jmap_header_props(g->props, g->n_props, m.hdr, m.hdr_len, scratch, o);
	if (rc == 0 && w->preview)
		rc = preview(&m, o);
	if (rc == 0 && w->any_body)
		rc = jmap_body_props(&m, b, &w->body, o);
	jmap_msg_close(&m);
	if (rc < 0) {
		json_decref(o);
		return rc;
	}
	/* only what was asked for (the index properties above are always set) */
	const char *index[] = {"id", "blobId", "threadId", "mailboxIds", "keywords", "size",
			       "receivedAt"};
	for (size_t i = 0; i < sizeof index / sizeof index[0]; i++)
		if (!jmap_get_wants(g, index[i]))
			(void)json_object_del(o, index[i]); /* absent is fine too */
	*out = o;
	return 0;
}

/* blobIds: an array of at most LIMIT_JMAP_OBJECTS_GET strings. */
static int blob_ids_arg(struct jmap_ctx *x, json_t *args, json_t **out)
{
	json_t *ids = json_object_get(args, "blobIds");
	if (!json_is_array(ids))
		return jmap_method_error(x, "invalidArguments", "blobIds: not an array");
	if (json_array_size(ids) > LIMIT_JMAP_OBJECTS_GET)
		return jmap_method_error(x, "requestTooLarge", "more blobIds than maxObjectsInGet");
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) if (!json_is_string(v))
		return jmap_method_error(x, "invalidArguments", "blobIds: holds a non-string");
	*out = ids;
	return 0;
}

int jmap_email_parse(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	struct jmap_get_args g;
	struct jmap_body_args b;
	struct jmap_email_want w;
	const char **hp;
	size_t n_hp;
	json_t *std_args, *ids;
	if (blob_ids_arg(x, args, &ids) < 0 ||
	    jmap_split_header_props(x, args, "properties", &std_args, &hp, &n_hp) < 0)
		return ERR_INVAL;
	/* the /get reader checks accountId and properties; Email/parse has no ids */
	json_t *ga = json_copy(std_args);
	json_decref(std_args);
	if (!ga || json_object_del(ga, "blobIds") < 0) {
		json_decref(ga);
		return jmap_method_error(x, "serverFail", NULL);
	}
	int prc = jmap_get_parse(x, ga, parse_props, parse_default, &g);
	json_decref(ga);
	if (prc < 0 || jmap_add_header_props(x, &g, hp, n_hp) < 0 ||
	    jmap_body_args_parse(x, args, &b) < 0)
		return ERR_INVAL;
	jmap_email_want(&g, &w);
	json_t *parsed = json_object(), *not_parsable = json_array(), *not_found = json_array();
	int rc = parsed && not_parsable && not_found ? 0 : ERR_NOMEM;
	struct arena scratch;
	arena_init(&scratch, LIMIT_JMAP_EMAIL_ARENA);
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		if (rc < 0)
			break;
		const char *id = json_string_value(v);
		if (json_object_get(parsed, id))
			continue;
		json_t *o = NULL;
		arena_reset(&scratch);
		int r = parse_one(x, &g, &w, &b, id, &scratch, &o);
		if (r == 0)
			rc = json_object_set_new(parsed, id, o);
		else if (r == ERR_NOTFOUND)
			rc = json_array_append_new(not_found, json_string(id));
		else if (r == ERR_INVAL)
			rc = json_array_append_new(not_parsable, json_string(id));
		else {
			log_warn("jmap: Email/parse: %s", err_str(r));
			rc = r;
		}
	}
	arena_free(&scratch);
	if (rc < 0) {
		json_decref(parsed);
		json_decref(not_parsable);
		json_decref(not_found);
		return jmap_method_error(x, "serverFail", NULL);
	}
	*result_out = json_pack("{s:s,s:o,s:o,s:o}", "accountId", x->account_str, "parsed",
				parsed, "notParsable", not_parsable, "notFound", not_found);
	return *result_out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
