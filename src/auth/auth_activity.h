/* auth_activity.h: recording what a logged-in session did in the account's activity
 * log (store_activity_seen / store_activity_removed), for IMAP, POP3 and submission
 * alike. The write runs on the io worker pool, never on the loop thread, and its
 * failure is logged, never the session's: the log is for the user's information. */
#ifndef KASTEN_AUTH_ACTIVITY_H
#define KASTEN_AUTH_ACTIVITY_H

#include <stdint.h>

struct net_conn;
struct store_env;

/* The account used protocol ("imap", "pop3", "submission", ...) from c's peer, with
 * client (IMAP ID name and version, HTTP User-Agent) or NULL. Strings are copied
 * (client at most LIMIT_ACTIVITY_STRING * 4 bytes; the store sanitizes and cuts). */
void auth_activity_seen(struct net_conn *c, struct store_env *env, int64_t account_id,
			const char *protocol, const char *client);
/* A session of c removed count messages of `bytes` octets from the account. */
void auth_activity_removed(struct net_conn *c, struct store_env *env, int64_t account_id,
			   const char *protocol, uint32_t count, uint64_t bytes);

#endif
