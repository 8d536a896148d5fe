/* store_backend.h: what every backend shares with the wrappers (internal to src/store).
 *
 * A backend's environment struct embeds struct store_env FIRST, its per-account struct
 * embeds struct store FIRST, so the wrappers can read ops/env/account_id from either
 * without knowing the backend. Nothing outside src/store includes this header. */
#ifndef KASTEN_STORE_BACKEND_H
#define KASTEN_STORE_BACKEND_H

#include <stdint.h>

#include "store/store.h"

struct store_env {
	const struct store_ops *ops;
	/* Set once at startup (store_set_change_hook) before other threads use the env;
	 * read without a lock afterwards. */
	store_change_fn hook;
	void *hook_arg;
};

struct store {
	const struct store_ops *ops;
	struct store_env *env;
	int64_t account_id;
};

/* Publish one committed change to the env's hook, if any. Call after the commit is
 * durable, never while holding a database write lock. */
void store_notify(struct store_env *env, int64_t account_id, int64_t mailbox_id,
		  enum store_change_kind kind, uint64_t modseq);

/* Count flushes (fsync/fdatasync/syncfs) a backend issued itself; store_flush_count()
 * reports the process-wide total. */
void store_flush_count_add(uint64_t n);

/* The backends, one line each. */
extern const struct store_ops store_sqlite_ops;

#endif
