/* jmap_email_build_msg.c: a whole message from a JMAP Email object (RFC 8621 4.6
 * create) over a jeb_env: the Email's properties checked (what the create form may
 * hold; mailboxIds, keywords and receivedAt are the caller's), its header fields
 * written, Date and Message-ID made when it gives none (RFC 5322 3.6.1, 3.6.4),
 * MIME-Version, then the body tree. Refusals come back as SetErrors (invalidProperties
 * naming the property, blobNotFound with every missing blob id, tooLarge or
 * overQuota when the message outgrows what it may take). */
#include "http/jmap_email_build_int.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/str.h"

/* the output buffer between the writers and the file */
#define OUT_BUF 65536

/* The Email properties create takes (besides "header:*"), and those it ignores because
 * they are the caller's (mailboxIds, keywords, receivedAt). The server-set ones (id,
 * blobId, threadId, size, preview, hasAttachment) and unknown names are refused. */
static const char *const email_props[] = {
	"messageId", "inReplyTo", "references", "sender", "from", "to", "cc", "bcc",
	"replyTo", "subject", "sentAt", "headers", "bodyStructure", "bodyValues",
	"textBody", "htmlBody", "attachments", "mailboxIds", "keywords", "receivedAt", NULL,
};

/* A SetError (RFC 8620 5.3) made here rather than by jmap_set_error, so that the
 * writer links without the method table (the unit test and the fuzz target). */
static json_t *set_error(const char *type, const char *member, json_t *list)
{
	json_t *e = json_pack("{s:s}", "type", type);
	if (e && member && json_object_set(e, member, list) < 0) {
		json_decref(e);
		return NULL;
	}
	return e;
}

static json_t *invalid(const char *prop)
{
	json_t *l = json_pack("[s]", prop);
	json_t *e = l ? set_error("invalidProperties", "properties", l) : NULL;
	json_decref(l);
	return e;
}

/* The first property that create does not take, or NULL. */
static const char *unknown_prop(json_t *email)
{
	const char *key;
	json_t *v;
	json_object_foreach(email, key, v) {
		size_t i = 0;
		while (email_props[i] && strcmp(email_props[i], key) != 0)
			i++;
		if (!email_props[i] && strncmp(key, "header:", 7) != 0)
			return key;
	}
	return NULL;
}

/* Did the Email give field lname a value (not null, not an empty list or string)?
 * RFC 5322 3.6 wants a Date and a Message-ID: an empty one is made. */
static bool given(const struct jeb_hentry *h, size_t n, const char *lname)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].lname, lname) == 0 &&
		    !(json_is_array(h[i].value) && json_array_size(h[i].value) == 0) &&
		    !(json_is_string(h[i].value) && json_string_length(h[i].value) == 0))
			return true;
	return false;
}

/* The top-level fields, the ones made when absent, MIME-Version. */
static int write_top(const struct jeb_env *env, struct jeb_out *o, struct jeb_hentry *h,
		     size_t n, json_t *seen, const char **bad_out)
{
	for (size_t i = 0; i < n; i++) {
		int rc = jeb_header_write(o, env->a, &h[i].h, h[i].value);
		if (rc == ERR_INVAL)
			*bad_out = h[i].key;
		if (rc < 0)
			return rc;
	}
	if (!given(h, n, "date")) {
		char d[64];
		str_rfc5322_date(d, (time_t)env->now);
		if (jeb_puts(o, "Date: ") < 0 || jeb_puts(o, d) < 0 || jeb_field_end(o) < 0)
			return o->err;
	}
	if (!given(h, n, "message-id")) {
		char hex[33];
		if (str_random_hex(hex, 16) < 0)
			return ERR_IO;
		const char *id = arena_printf(env->a, "<%s@%s>", hex,
					      env->hostname && *env->hostname ? env->hostname
									      : "localhost");
		if (!id)
			return ERR_NOMEM;
		if (jeb_field_start(o, "Message-ID") < 0 ||
		    jeb_field_token(o, " ", id, strlen(id)) < 0 || jeb_field_end(o) < 0)
			return o->err;
	}
	if (!json_object_get(seen, "mime-version") && jeb_puts(o, "MIME-Version: 1.0\r\n") < 0)
		return o->err;
	return 0;
}

static int build(const struct jeb_env *env, json_t *email, int fd, uint64_t *size_out,
		 json_t **seterr_out, struct jeb_part **root)
{
	const char *badp = NULL;
	struct jeb_hentry *h = NULL;
	size_t n_h = 0;
	struct jeb_out o = {.fd = -1};
	json_t *seen = json_object(), *not_found = json_array();
	int rc = seen && not_found ? 0 : ERR_NOMEM;
	if (rc == 0 && (badp = unknown_prop(email)))
		rc = ERR_INVAL;
	if (rc == 0)
		rc = jeb_headers_collect(env->a, email, "", false, seen, &h, &n_h, &badp);
	if (rc == 0)
		rc = jeb_body_build(env, email, seen, root, &badp, not_found);
	if (rc == ERR_NOTFOUND) {
		*seterr_out = set_error("blobNotFound", "notFound", not_found);
	}
	if (rc == 0)
		rc = jeb_body_prepare(env, *root);
	uint64_t max = env->max_size < env->max_quota ? env->max_size : env->max_quota;
	if (rc == 0)
		rc = jeb_out_init(&o, env->a, fd, max, OUT_BUF);
	if (rc == 0)
		rc = write_top(env, &o, h, n_h, seen, &badp);
	if (rc == 0)
		rc = jeb_body_write(env, &o, *root);
	if (rc == 0)
		rc = jeb_flush(&o);
	if (rc == ERR_INVAL && !*seterr_out)
		*seterr_out = invalid(badp ? badp : "bodyStructure");
	if (rc == ERR_TOO_BIG)
		*seterr_out = set_error(env->max_quota < env->max_size ? "overQuota" : "tooLarge",
					NULL, NULL);
	if (rc == 0)
		*size_out = o.total;
	json_decref(seen);
	json_decref(not_found);
	return rc;
}

int jeb_build(const struct jeb_env *env, json_t *email, int fd, uint64_t *size_out,
	      json_t **seterr_out)
{
	struct jeb_part *root = NULL;
	*seterr_out = NULL;
	*size_out = 0;
	if (!json_is_object(email)) {
		*seterr_out = set_error("invalidProperties", NULL, NULL);
		return ERR_INVAL;
	}
	int rc = build(env, email, fd, size_out, seterr_out, &root);
	jeb_body_close(root);
	return rc;
}
