/* notify.h: the change feed (DESIGN.md "Concurrency"). Sessions watch mailboxes; every
 * committed change a store reports (store_set_change_hook: APPEND, FLAGS, EXPUNGE,
 * MAILBOX) wakes the watchers of that mailbox on their own loop threads. IMAP IDLE and
 * the untagged updates between commands use it, JMAP push and the webmail will.
 *
 * A wake-up says only "look again": the watcher reads what changed from the store (its
 * own last modseq and UIDNEXT tell it what is new). Wake-ups coalesce, so a burst of
 * changes costs a watcher one callback, and the committing thread never waits for a
 * watcher: it only marks the watcher's event active (libevent's cross-thread
 * event_active), under one mutex.
 *
 * Changes made by other processes (an admin command beside the server) are not seen;
 * the PostgreSQL backend will feed the same registry from LISTEN/NOTIFY. */
#ifndef KASTEN_NOTIFY_H
#define KASTEN_NOTIFY_H

#include <stdint.h>

struct event_base;
struct store_env;
struct notify_watch;

typedef void (*notify_fn)(void *arg);

/* Install the feed as env's change hook. Call once, before the loops run. */
int notify_start(struct store_env *env);
/* Forget every watch (the loops have stopped); the hook stays harmless. */
void notify_stop(void);

/* Watch one mailbox of an account (mailbox_id 0: every mailbox and the mailbox list of
 * the account) from the loop that owns base, which runs fn(arg) after changes there.
 * A MAILBOX change (create, rename, delete) wakes every watch of the account. Returns 0,
 * ERR_NOMEM. */
int notify_watch(struct event_base *base, int64_t account_id, int64_t mailbox_id,
		 notify_fn fn, void *arg, struct notify_watch **out);
/* Point an existing watch at another mailbox of the same account (SELECT). */
void notify_rewatch(struct notify_watch *w, int64_t mailbox_id);
/* Stop watching, on the watch's own loop thread: fn is not called after this. NULL ok. */
void notify_unwatch(struct notify_watch **w);

/* Wake-ups delivered since notify_start (for tests and metrics). */
uint64_t notify_wakeups(void);

#endif
