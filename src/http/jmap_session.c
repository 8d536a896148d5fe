/* jmap_session.c: the JMAP session resource (RFC 8620 2): capabilities with our limits
 * (core/limits.h and the config), kasten's own (JMAP_CAP_KASTEN: the webmail's
 * activity and client settings, no arguments of its own), the one account a login
 * sees, its primary-account roles, the URL templates and the session state.
 *
 * The object is built per request (a few hundred bytes): nothing about it is cached,
 * so a changed limit in the config shows at the next start without anything to
 * invalidate. The state is a hash over the object with relative URLs, so it follows
 * what the session says, not the Host a client used. */
#include "http/jmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "core/banned.h"
#include "core/conf.h"
#include "core/err.h"
#include "http/jmap_email_query_int.h"
#include "core/limits.h"

/* RFC 8620 2 "urn:ietf:params:jmap:core" */
static json_t *core_capability(void)
{
	const struct conf *cf = conf_get();
	return json_pack("{s:I,s:i,s:I,s:i,s:i,s:i,s:i,s:[s,s,s]}", "maxSizeUpload",
			 (json_int_t)cf->http_max_upload_size, "maxConcurrentUpload",
			 LIMIT_JMAP_CONCURRENT_UPLOAD, "maxSizeRequest",
			 (json_int_t)LIMIT_JMAP_REQUEST_SIZE, "maxConcurrentRequests",
			 LIMIT_JMAP_CONCURRENT, "maxCallsInRequest", LIMIT_JMAP_CALLS,
			 "maxObjectsInGet", LIMIT_JMAP_OBJECTS_GET, "maxObjectsInSet",
			 LIMIT_JMAP_OBJECTS_SET, "collationAlgorithms", "i;ascii-numeric",
			 "i;ascii-casemap", "i;unicode-casemap");
}

/* RFC 8621 1.3.1 "urn:ietf:params:jmap:mail" (account capability). An Email is every
 * copy of one EMAILID, which IMAP COPY can put in any number of mailboxes: no bound on
 * mailboxes per email; mailbox names are bounded in bytes, not levels. */
static json_t *mail_capability(void)
{
	const struct conf *cf = conf_get();
	/* emailQuerySortOptions: what Email/query sorts by (jmap_email_query_sort.c) */
	json_t *sorts = json_array();
	for (size_t i = 0; sorts && jmap_email_sort_options[i]; i++)
		if (json_array_append_new(sorts, json_string(jmap_email_sort_options[i])) < 0) {
			json_decref(sorts);
			return NULL;
		}
	return json_pack("{s:n,s:n,s:i,s:I,s:o,s:b}", "maxMailboxesPerEmail",
			 "maxMailboxDepth", "maxSizeMailboxName", LIMIT_MAILBOX_NAME,
			 "maxSizeAttachmentsPerEmail",
			 /* base64 makes 4 octets of 3: what fits in the message size limit */
			 (json_int_t)(cf->max_message_size / 4 * 3), "emailQuerySortOptions",
			 sorts, "mayCreateTopLevelMailbox", 1);
}

/* RFC 8621 1.3.2 "urn:ietf:params:jmap:submission": sent at once, no extensions
 * offered to EmailSubmission's envelope. */
static json_t *submission_capability(void)
{
	return json_pack("{s:i,s:{}}", "maxDelayedSend", 0, "submissionExtensions");
}

json_t *jmap_session_object(int64_t account_id, const char *address, const char *base)
{
	char acct[32];
	int n = snprintf(acct, sizeof acct, "A%lld", (long long)account_id);
	if (n < 0 || (size_t)n >= sizeof acct)
		return NULL;
	char *api = NULL, *down = NULL, *up = NULL, *events = NULL;
	json_t *s = NULL;
	if (asprintf(&api, "%s/jmap/api", base) < 0)
		api = NULL;
	if (asprintf(&down, "%s/jmap/download/{accountId}/{blobId}/{name}?type={type}", base) < 0)
		down = NULL;
	if (asprintf(&up, "%s/jmap/upload/{accountId}/", base) < 0)
		up = NULL;
	if (asprintf(&events, "%s/jmap/eventsource?types={types}&closeafter={closeafter}"
			      "&ping={ping}", base) < 0)
		events = NULL;
	if (api && down && up && events)
		s = json_pack(
			"{s:{s:o,s:o,s:o,s:{},s:{}},s:{s:{s:s,s:b,s:b,s:{s:o,s:o,s:{},s:{}}}},"
			"s:{s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:s,s:s}",
			"capabilities", JMAP_CAP_CORE, core_capability(), JMAP_CAP_MAIL,
			json_object(), JMAP_CAP_SUBMISSION, json_object(), JMAP_CAP_QUOTA,
			JMAP_CAP_KASTEN, "accounts", acct, "name", address, "isPersonal", 1,
			"isReadOnly", 0, "accountCapabilities", JMAP_CAP_MAIL, mail_capability(),
			JMAP_CAP_SUBMISSION, submission_capability(), JMAP_CAP_QUOTA,
			JMAP_CAP_KASTEN, "primaryAccounts", JMAP_CAP_MAIL, acct,
			JMAP_CAP_SUBMISSION, acct, JMAP_CAP_QUOTA, acct, JMAP_CAP_KASTEN, acct,
			"username", address, "apiUrl", api, "downloadUrl",
			down, "uploadUrl", up, "eventSourceUrl", events);
	free(api);
	free(down);
	free(up);
	free(events);
	char state[17];
	if (s && jmap_session_state(account_id, address, state) == 0)
		json_object_set_new(s, "state", json_string(state));
	else if (s) {
		json_decref(s);
		s = NULL;
	}
	return s;
}

int jmap_session_state(int64_t account_id, const char *address, char out[17])
{
	static const char digits[] = "0123456789abcdef";
	char acct[32];
	int n = snprintf(acct, sizeof acct, "A%lld", (long long)account_id);
	if (n < 0 || (size_t)n >= sizeof acct)
		return ERR_NOMEM;
	/* the parts of the session that are not URLs, serialized canonically */
	json_t *parts = json_pack("{s:o,s:o,s:o,s:s,s:s}", "core", core_capability(), "mail",
				  mail_capability(), "submission", submission_capability(),
				  "account", acct, "username", address);
	char *text = parts ? json_dumps(parts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(parts);
	if (!text)
		return ERR_NOMEM;
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256((const uint8_t *)text, strlen(text), md);
	free(text);
	for (size_t i = 0; i < 8; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[16] = '\0';
	return 0;
}
