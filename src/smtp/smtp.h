/* smtp.h: the SMTP, submission and LMTP server sessions (one state machine, three
 * flavours chosen per listener). */
#ifndef KASTEN_SMTP_H
#define KASTEN_SMTP_H

#include "net/net.h"

struct store_env;

enum smtp_flavour {
	SMTP_MX,         /* port 25 style: local recipients only, no AUTH */
	SMTP_SUBMISSION, /* RFC 6409 / 8314: AUTH required, sender must be the account */
	SMTP_LMTP,       /* RFC 2033: LHLO, one reply per recipient after DATA */
};

extern const struct net_proto smtp_proto;
/* Listener arguments (net_listen.proto_arg) selecting the flavour. */
extern const enum smtp_flavour smtp_flavour_mx, smtp_flavour_submission, smtp_flavour_lmtp;

/* The store the sessions deliver into; set once before net_start(). */
void smtp_init(struct store_env *env);

#endif
