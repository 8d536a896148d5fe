/* deliver_dsn.c: delivery status notifications into a local mailbox. The format is
 * deliver_dsn_write.c's (the one DSN writer of the tree); this file stores a written
 * report into the sender's INBOX (deliver_dsn_store, for src/outbound/bounce.c too) and
 * makes the failure notice for mail accepted from a local sender that could not be
 * stored (deliver_dsn), with the status and words for each local error.
 * Loops are cut twice: no notice for the null reverse path or for a message that is
 * itself a delivery report, and a notice the sender's full mailbox refuses is dropped
 * (logged), never retried or reported.
 * Owns: the recipient list of one notice (malloc'd, freed before returning). */
#include "deliver/deliver_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

void deliver_dsn_status(int err, const char **status, const char **diag, const char **human)
{
	switch (err) {
	case ERR_QUOTA:
		*status = "5.2.2";
		*diag = "552 5.2.2 Mailbox full";
		*human = "the mailbox is full (over quota)";
		return;
	case ERR_NOTFOUND:
		*status = "5.1.1";
		*diag = "550 5.1.1 Mailbox unavailable: no such user";
		*human = "there is no such user";
		return;
	case ERR_TOO_BIG:
		*status = "5.3.4";
		*diag = "552 5.3.4 Message too big for system";
		*human = "the message is too big";
		return;
	case ERR_PERM:
		*status = "5.7.1";
		*diag = "550 5.7.1 Delivery not authorized";
		*human = "delivery to this mailbox is not permitted";
		return;
	default:
		break;
	}
	if (err_is_temp(err)) {
		*status = "4.3.0";
		*diag = "451 4.3.0 Temporary local problem";
		*human = "a temporary problem in the mail system (the message was not retried)";
		return;
	}
	*status = "5.3.0";
	*diag = "554 5.3.0 Other mail system problem";
	*human = "an error in the mail system";
}

static void dsn_stored(struct deliver_job *job, void *arg)
{
	(void)arg;
	if (job->rcpts[0].result == ERR_QUOTA)
		log_warn("deliver: DSN dropped, sender mailbox full account=%lld",
		         (long long)job->rcpts[0].account_id);
	else if (job->rcpts[0].result < 0)
		log_err("deliver: DSN not stored account=%lld: %s",
		        (long long)job->rcpts[0].account_id, err_str(job->rcpts[0].result));
}

int deliver_dsn_store(const char *path, uint64_t size, int64_t account_id, const char *address)
{
	if (!path || account_id <= 0 || !address) {
		if (path && unlink(path) < 0 && errno != ENOENT)
			log_warn("deliver: cannot remove spool file %s: %s", path, strerror(errno));
		return ERR_INVAL;
	}
	/* the cheap check first: a full mailbox gets nothing, without a commit */
	if (deliver_quota_check(deliver_env(), account_id, size) == ERR_QUOTA) {
		log_warn("deliver: DSN dropped, sender mailbox full account=%lld",
		         (long long)account_id);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("deliver: cannot remove spool file %s: %s", path, strerror(errno));
		return ERR_QUOTA;
	}
	if (deliver_on_committer())
		return deliver_gen_submit(path, size, account_id, address, dsn_stored);
	struct deliver_rcpt rcpt = {.account_id = account_id, .address = address};
	struct deliver_job job = {.spool_path = path, .size = size, .rcpts = &rcpt, .n_rcpts = 1};
	int r = deliver_submit_wait(&job);
	/* a job that was never queued leaves its file to us */
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("deliver: cannot remove spool file %s: %s", path, strerror(errno));
	dsn_stored(&job, NULL);
	return r;
}

/* The sender without the angle brackets the session may have kept. */
static const char *bare_sender(const char *s, char out[LIMIT_ADDRESS + 1])
{
	size_t sl = s ? strlen(s) : 0;
	if (sl >= 2 && s[0] == '<' && s[sl - 1] == '>' && sl - 2 <= LIMIT_ADDRESS) {
		int n = snprintf(out, LIMIT_ADDRESS + 1, "%.*s", (int)(sl - 2), s + 1);
		return n < 0 ? NULL : out;
	}
	return s;
}

int deliver_dsn(struct store_env *env, int64_t sender_account, const char *sender_address,
                const char *orig_path, const struct deliver_rcpt *failed, size_t n_failed)
{
	if (!env || sender_account <= 0 || !orig_path || (!failed && n_failed))
		return ERR_INVAL;
	char buf[LIMIT_ADDRESS + 1];
	const char *sender = bare_sender(sender_address, buf);
	if (!sender || sender[0] == '\0') {
		log_info("deliver: no DSN for the null reverse path");
		return 0;
	}
	size_t n = 0;
	for (size_t i = 0; i < n_failed; i++)
		n += failed[i].result != 0;
	if (n == 0)
		return 0;
	struct deliver_dsn_rcpt *rc = calloc(n, sizeof(*rc));
	if (!rc)
		return ERR_NOMEM;
	n = 0;
	for (size_t i = 0; i < n_failed; i++) {
		if (failed[i].result == 0)
			continue;
		rc[n].address = failed[i].address;
		deliver_dsn_status(failed[i].result, &rc[n].status, &rc[n].diagnostic,
		                   &rc[n].human);
		n++;
	}
	struct deliver_dsn_report rep = {.action = DELIVER_DSN_FAILED,
	                                 .sender = sender,
	                                 .orig_path = orig_path,
	                                 .return_path = true,
	                                 .rcpts = rc,
	                                 .n_rcpts = n};
	struct deliver_dsn_file f;
	int r = deliver_dsn_write(&rep, &f);
	free(rc);
	if (r <= 0)
		return r; /* an error, or 0: the original is a report itself */
	return deliver_dsn_store(f.path, f.size, sender_account, sender);
}
