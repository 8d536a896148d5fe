/* auth_login.h: checking a user name and password for a protocol session, shared by
 * SMTP AUTH, POP3 and IMAP. The account lookup is fast and runs on the loop; the hash
 * check is slow and runs on the worker pool. Every attempt from a client with recent
 * failures, or at a name under attack, first waits out net_penalty_delay(), and every
 * failure is counted (net_penalty_fail) and logged with the user name. An unknown user
 * costs the same time as a wrong password, so timing reveals nothing. */
#ifndef KASTEN_AUTH_LOGIN_H
#define KASTEN_AUTH_LOGIN_H

#include <stdint.h>

struct net_conn;
struct store_env;

/* account_id is 0 when the login failed; address is the account's canonical address
 * (valid during the call only). Runs on c's loop thread, exactly once, even if the
 * peer went away meanwhile (check net_conn_closed). */
typedef void (*auth_login_done_fn)(struct net_conn *c, void *arg, int64_t account_id,
				   const char *address);

/* Create the dummy hash used for unknown users. Call once at startup. */
int auth_login_init(void);

/* Start a check. user and pass are copied (the copy is wiped after use); the caller
 * wipes its own. Returns 0 (done will be called) or ERR_NOMEM (it will not). */
int auth_login(struct net_conn *c, struct store_env *env, const char *user, const char *pass,
	       auth_login_done_fn done, void *arg);

#endif
