/* pop3.h: the POP3 server session (RFC 1939, 2449, 2595, 5034, 6856). */
#ifndef KASTEN_POP3_H
#define KASTEN_POP3_H

#include "net/net.h"

struct store_env;

extern const struct net_proto pop3_proto;

/* The store the sessions read; set once before net_start(). Also starts the
 * [pop3] expire_days sweep when configured. */
void pop3_init(struct store_env *env);
/* Stop the background work pop3_init started. */
void pop3_shutdown(void);

#endif
