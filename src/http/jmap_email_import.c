/* jmap_email_import.c: Email/import (RFC 8621 4.8): each entry of `emails` names a
 * blob (an upload, a whole message or a message part: jmap_blob_open_any, contract
 * C1), the mailboxes, keywords and receivedAt; the blob is copied into a spool file
 * and stored as a new Email (jmap_email_store_new). A message with CRLF line ends is
 * stored byte for byte (IMAP BODY[] gives the upload back); a bare LF becomes CRLF,
 * since every message the store keeps has CRLF line ends (RFC 5322 2.1).
 * Errors per entry (SetError): invalidProperties (blobId unknown, also another
 * account's, mailboxIds, keywords, receivedAt), overQuota, tooLarge (past
 * [limits] max_message_size, checked before a byte is copied), invalidEmail (empty).
 * ifInState: stateMismatch. At most LIMIT_JMAP_OBJECTS_SET entries. */
#include "http/jmap_email.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/fdio.h"
#include "core/limits.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "http/jmap.h"
#include "http/jmap_email_int.h"
#include "core/banned.h"

#define COPY_CHUNK 65536

/* Copy size bytes of in (from 0) to out, a bare LF written as CRLF. */
static int copy_crlf(struct arena *a, int in, uint64_t size, int out)
{
	static const uint8_t crlf[2] = {'\r', '\n'};
	uint8_t *buf = arena_alloc(a, COPY_CHUNK); /* a worker's stack is small */
	if (!buf)
		return ERR_NOMEM;
	uint64_t off = 0;
	bool cr = false; /* the byte before was CR */
	while (off < size) {
		size_t want = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
		ssize_t n = pread(in, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		size_t from = 0;
		for (size_t i = 0; i < (size_t)n; i++) {
			if (buf[i] == '\n' && !cr) {
				if (fd_write_all(out, buf + from, i - from) < 0 ||
				    fd_write_all(out, crlf, 2) < 0)
					return ERR_IO;
				from = i + 1;
			}
			cr = buf[i] == '\r';
		}
		if (fd_write_all(out, buf + from, (size_t)n - from) < 0)
			return ERR_IO;
		off += (uint64_t)n;
	}
	return 0;
}

static json_t *import_one(struct jmap_ctx *x, json_t *obj, json_t **created_out)
{
	struct jmap_email_new_args na;
	struct jmap_new_email ne;
	json_t *err = NULL;
	if (!json_is_object(obj))
		return jmap_set_error("invalidProperties", "not an object", NULL);
	/* a part's blob id ("G<id>.<part>") is no Id: only "#cid" is resolved, the
	 * opener checks the rest */
	const char *blob_id = json_string_value(json_object_get(obj, "blobId"));
	if (blob_id && blob_id[0] == '#')
		blob_id = jmap_resolve_id(x, blob_id);
	if (!blob_id || !blob_id[0])
		return jmap_set_error("invalidProperties", "blobId: a blob id is required",
				      json_pack("[s]", "blobId"));
	int rc = jmap_email_new_args(x, obj, &na, &err);
	if (rc < 0)
		return err ? err : jmap_set_error("serverFail", NULL, NULL);
	int in, out;
	uint64_t size;
	const char *type;
	char path[DELIVER_PATH_MAX];
	if ((rc = jmap_blob_open_any(x, blob_id, &in, &size, &type)) < 0)
		return rc == ERR_NOTFOUND ? jmap_set_error("invalidProperties", "no such blob",
							   json_pack("[s]", "blobId"))
					  : jmap_set_error("serverFail", err_str(rc), NULL);
	const struct conf *cf = conf_get();
	if (cf && cf->max_message_size && size > cf->max_message_size) {
		(void)close(in); /* read-only */
		return jmap_email_store_error(ERR_TOO_BIG);
	}
	if ((rc = deliver_spool_create(path, sizeof path, &out)) < 0) {
		(void)close(in); /* read-only */
		return jmap_set_error("serverFail", "no spool file", NULL);
	}
	rc = copy_crlf(x->a, in, size, out);
	(void)close(in); /* read-only */
	if (close(out) < 0 && rc == 0)
		rc = ERR_IO;
	if (rc < 0) {
		log_warn("jmap: Email/import: cannot copy blob to %s", path);
		if (unlink(path) < 0)
			log_warn("jmap: cannot remove %s: %s", path, strerror(errno));
		return jmap_set_error("serverFail", NULL, NULL);
	}
	rc = jmap_email_store_new(x, path, na.mailbox_ids, na.n_mailboxes, na.keywords,
				  na.received_at, &ne);
	if (rc < 0)
		return jmap_email_store_error(rc);
	*created_out = jmap_email_created(&ne);
	return *created_out ? NULL : jmap_set_error("serverFail", NULL, NULL);
}

int jmap_email_import(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	const char *old_state, *new_state;
	if (jmap_account_check(x, args) < 0)
		return ERR_INVAL;
	json_t *emails = json_object_get(args, "emails");
	json_t *if_in = json_object_get(args, "ifInState");
	if (!json_is_object(emails))
		return jmap_method_error(x, "invalidArguments", "emails: an object is required");
	if (if_in && !json_is_null(if_in) && !json_is_string(if_in))
		return jmap_method_error(x, "invalidArguments", "ifInState: not a string");
	if (json_object_size(emails) > LIMIT_JMAP_OBJECTS_SET)
		return jmap_method_error(x, "requestTooLarge", "more than maxObjectsInSet emails");
	if (jmap_state(x, &old_state) < 0)
		return jmap_method_error(x, "serverFail", NULL);
	if (json_is_string(if_in) && strcmp(json_string_value(if_in), old_state) != 0)
		return jmap_method_error(x, "stateMismatch", NULL);
	struct jmap_set_result r = {0};
	const char *cid;
	json_t *v;
	json_object_foreach(emails, cid, v) {
		json_t *created = NULL, *err = import_one(x, v, &created);
		if (err)
			jmap_set_not_created(&r, cid, err);
		else
			jmap_set_created(x, &r, cid, created);
	}
	if (jmap_state(x, &new_state) < 0) {
		json_decref(jmap_set_response(x, &r, old_state, old_state));
		return jmap_method_error(x, "serverFail", NULL);
	}
	/* RFC 8621 4.8: accountId, oldState, newState, created, notCreated */
	json_t *out = json_pack("{s:s,s:s,s:s,s:o,s:o}", "accountId", x->account_str,
				"oldState", old_state, "newState", new_state, "created",
				r.created ? r.created : json_null(), "notCreated",
				r.not_created ? r.not_created : json_null());
	*result_out = out;
	return out ? 0 : jmap_method_error(x, "serverFail", NULL);
}
