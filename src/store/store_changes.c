/* store_changes.c: the store_* wrappers of the JMAP view (store.h "JMAP view": changes
 * of Emails, Mailboxes and Threads, Email and Thread reads). They check the arguments
 * and the backend's version, and forward; they own nothing. Limits: at most
 * LIMIT_JMAP_OBJECTS_GET ids per store_email_get; a query's window is the caller's. */
#include "store/store.h"

#include <stddef.h>

#include "core/err.h"
#include "core/limits.h"
#include "store/store_backend.h"
#include "core/banned.h"

/* As store.c's: the handle, the version this file was built for, and the op. */
#define CHANGES_OP(st, op) ((st) && (st)->ops->version == STORE_OPS_VERSION && (st)->ops->op)

int store_email_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			struct store_changes *out)
{
	if (!CHANGES_OP(st, email_changes) || max == 0 || !a || !out)
		return ERR_INVAL;
	return st->ops->email_changes(st, since, max, a, out);
}

int store_mailbox_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			  struct store_changes *out, bool *counts_only_out)
{
	if (!CHANGES_OP(st, mailbox_changes) || max == 0 || !a || !out || !counts_only_out)
		return ERR_INVAL;
	return st->ops->mailbox_changes(st, since, max, a, out, counts_only_out);
}

int store_thread_changes(struct store *st, uint64_t since, size_t max, struct arena *a,
			 struct store_changes *out)
{
	if (!CHANGES_OP(st, thread_changes) || max == 0 || !a || !out)
		return ERR_INVAL;
	return st->ops->thread_changes(st, since, max, a, out);
}

int store_email_get(struct store *st, const char *const *ids, size_t n, struct arena *a,
		    struct store_email **out, size_t *n_out)
{
	if (!CHANGES_OP(st, email_get) || (n && !ids) || n > LIMIT_JMAP_OBJECTS_GET || !a ||
	    !out || !n_out)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!ids[i])
			return ERR_INVAL;
	return st->ops->email_get(st, ids, n, a, out, n_out);
}

int store_thread_get(struct store *st, const char *thread_id, struct arena *a,
		     const char ***email_ids_out, size_t *n_out)
{
	if (!CHANGES_OP(st, thread_get) || !thread_id || !a || !email_ids_out || !n_out)
		return ERR_INVAL;
	return st->ops->thread_get(st, thread_id, a, email_ids_out, n_out);
}

int store_changes_prune(struct store *st, int64_t older_than, size_t keep)
{
	if (!CHANGES_OP(st, changes_prune))
		return ERR_INVAL;
	return st->ops->changes_prune(st, older_than, keep);
}

int store_email_query(struct store *st, const struct store_email_query *q, struct arena *a,
		      struct store_email_list *out)
{
	if (!CHANGES_OP(st, email_query) || !q || q->limit == 0 ||
	    q->limit > LIMIT_JMAP_QUERY_LIMIT || !a || !out ||
	    (q->sort != STORE_SORT_RECEIVED && q->sort != STORE_SORT_SIZE))
		return ERR_INVAL;
	return st->ops->email_query(st, q, a, out);
}

int store_email_scan(struct store *st, struct arena *a, struct store_email **out,
		     size_t *n_out)
{
	if (!CHANGES_OP(st, email_scan) || !a || !out || !n_out)
		return ERR_INVAL;
	return st->ops->email_scan(st, a, out, n_out);
}
