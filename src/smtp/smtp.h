/* smtp.h: the SMTP, submission and LMTP server sessions (one state machine, three
 * flavours chosen per listener). */
#ifndef KASTEN_SMTP_H
#define KASTEN_SMTP_H

#include "net/net.h"

struct store_env;
struct dkim_keyring;
struct queue;

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
/* The outbound side, set once before net_start() by `kasten serve` (NULL: off):
 * the DKIM keys that sign submitted mail with remote recipients (src/outbound/dkim.h),
 * and the queue DSNs about accepted mail go through (bounce_send): with it, port 25
 * accepts a message for the recipients whose mailbox can take it and reports the full
 * ones to the sender. Whether submission accepts remote recipients at all follows
 * deliver_outbound_enabled() (the deliver_config hook). Neither is owned here. */
void smtp_set_dkim(struct dkim_keyring *kr);
void smtp_set_queue(struct queue *q);

#endif
