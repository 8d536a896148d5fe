/* imap.h: the IMAP server session (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1, with the
 * extensions listed in docs/compliance.md). */
#ifndef KASTEN_IMAP_H
#define KASTEN_IMAP_H

#include "net/net.h"

struct store_env;

extern const struct net_proto imap_proto;

/* The store the sessions use; set once before net_start(), after notify_start(). */
void imap_init(struct store_env *env);

#endif
