/* jmap_methods.c: the table of JMAP methods the engine dispatches to, and Core/echo
 * (RFC 8620 4). The next wave adds its rows (Mailbox, Email, Thread methods, ...); a row
 * names the capability a request's `using` must hold for the method to be known.
 *
 * A standard method reads the same in every type (jmap.h, the helpers):
 *
 *   static int foo_get(struct jmap_ctx *x, json_t *args, json_t **out)
 *   {
 *       struct jmap_get_args g;
 *       const char *state;
 *       if (jmap_get_parse(x, args, foo_props, NULL, &g) < 0)
 *           return ERR_INVAL;                  (the helper set the error)
 *       if (jmap_state(x, &state) < 0)
 *           return jmap_method_error(x, "serverFail", NULL);
 *       ... store reads for g.ids (or all when g.all_ids), jmap_get_wants(&g, prop) ...
 *       *out = jmap_get_result(x, state, list, not_found);
 *       return *out ? 0 : jmap_method_error(x, "serverFail", NULL);
 *   }
 *
 * It runs on an I/O worker thread (jmap.h "Threads"): x->st and x->env only. */
#include "http/jmap.h"
#include "http/jmap_mailbox.h"

#include <string.h>

#include "http/jmap_email.h"
#include "http/jmap_kasten.h"
#include "http/jmap_submission.h"

/* Core/echo: the arguments, unchanged (RFC 8620 4.1). */
static int core_echo(struct jmap_ctx *x, json_t *args, json_t **result_out)
{
	(void)x;
	*result_out = json_incref(args);
	return 0;
}

const struct jmap_method jmap_methods[] = {
	{"Core/echo", JMAP_CAP_CORE, core_echo},
	{"Email/get", JMAP_CAP_MAIL, jmap_email_get},
	{"Email/changes", JMAP_CAP_MAIL, jmap_email_changes},
	{"Email/query", JMAP_CAP_MAIL, jmap_email_query},
	{"Email/queryChanges", JMAP_CAP_MAIL, jmap_email_querychanges},
	{"SearchSnippet/get", JMAP_CAP_MAIL, jmap_snippet_get},
	{"Email/parse", JMAP_CAP_MAIL, jmap_email_parse},
	{"Email/set", JMAP_CAP_MAIL, jmap_email_set},
	{"Email/import", JMAP_CAP_MAIL, jmap_email_import},
	{"Thread/get", JMAP_CAP_MAIL, jmap_thread_get},
	{"Thread/changes", JMAP_CAP_MAIL, jmap_thread_changes},
	{"Mailbox/get", JMAP_CAP_MAIL, jmap_mailbox_get},
	{"Mailbox/changes", JMAP_CAP_MAIL, jmap_mailbox_changes},
	{"Mailbox/query", JMAP_CAP_MAIL, jmap_mailbox_query},
	{"Mailbox/set", JMAP_CAP_MAIL, jmap_mailbox_set},
	{"Quota/get", JMAP_CAP_QUOTA, jmap_quota_get},
	{"Identity/get", JMAP_CAP_SUBMISSION, jmap_identity_get},
	{"EmailSubmission/get", JMAP_CAP_SUBMISSION, jmap_submission_get},
	{"EmailSubmission/changes", JMAP_CAP_SUBMISSION, jmap_submission_changes},
	{"EmailSubmission/query", JMAP_CAP_SUBMISSION, jmap_submission_query},
	{"EmailSubmission/queryChanges", JMAP_CAP_SUBMISSION, jmap_submission_querychanges},
	{"EmailSubmission/set", JMAP_CAP_SUBMISSION, jmap_submission_set},
	{"Activity/get", JMAP_CAP_KASTEN, jmap_activity_get},
	{"ClientSettings/get", JMAP_CAP_KASTEN, jmap_client_settings_get},
};
const size_t jmap_methods_n = sizeof jmap_methods / sizeof jmap_methods[0];

const struct jmap_method *jmap_method_find(const char *name)
{
	for (size_t i = 0; i < jmap_methods_n; i++)
		if (strcmp(jmap_methods[i].name, name) == 0)
			return &jmap_methods[i];
	return NULL;
}
