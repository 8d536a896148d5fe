/* jmap_email_build.c: jmap_email_build (jmap_email.h): the message writer
 * (jmap_email_build_msg.c) run for one account: its blobs through jmap_blob_open_any
 * (uploads, messages, parts of its other Emails; another account's id is not found),
 * the message bounded by [limits] max_message_size (tooLarge) and by what the
 * account's quota has left (overQuota), Message-ID on [server] hostname. */
#include "http/jmap_email.h"

#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "http/jmap.h"
#include "http/jmap_email_build_int.h"
#include "store/store.h"

static int open_blob(void *arg, const char *blob_id, int *fd_out, uint64_t *size_out,
		     const char **type_out)
{
	return jmap_blob_open_any(arg, blob_id, fd_out, size_out, type_out);
}

int jmap_email_build(struct jmap_ctx *x, json_t *email, int fd, uint64_t *size_out,
		     json_t **seterr_out)
{
	const struct conf *cf = conf_get();
	struct store_account acct;
	*seterr_out = NULL;
	int rc = store_account_get_id(x->env, x->account_id, x->a, &acct);
	if (rc < 0)
		return rc;
	struct jeb_env env = {
		.a = x->a,
		.hostname = cf->hostname,
		.now = (int64_t)time(NULL),
		.max_size = cf->max_message_size ? cf->max_message_size : UINT64_MAX,
		.max_quota = UINT64_MAX,
		.blob_open = open_blob,
		.blob_arg = x,
	};
	if (acct.quota_bytes)
		env.max_quota = acct.used_bytes < acct.quota_bytes
					? acct.quota_bytes - acct.used_bytes : 0;
	return jeb_build(&env, email, fd, size_out, seterr_out);
}
