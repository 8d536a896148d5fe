/* jmap_kasten.h: kasten's own JMAP methods for the webmail, under the capability
 * JMAP_CAP_KASTEN ("https://kasten.dev/jmap/account"; jmap_kasten.c). Neither is a
 * standard /get: the objects have no ids and no state, they are read whole.
 *
 * Activity/get {accountId} -> {accountId, list: [...]}: the account's activity log
 * (store_activity_list), newest first; each item is
 *   {"kind": "seen", "protocol", "client", "address", "firstSeen", "lastSeen"}  or
 *   {"kind": "removed", "protocol", "client", "address", "count", "bytes", "at"}
 * (client and address null when unknown; dates are UTCDates).
 *
 * ClientSettings/get {accountId} -> {accountId, incoming, outgoing, pop3,
 * autoconfigUrl, mobileconfigUrl}: how a mail client reaches this server, from the
 * running configuration's list of services (conf_services, the same list autoconfig
 * and `kasten dns` use): incoming [{protocol "imap"|"pop3", host, port, security
 * "tls"|"starttls"|"plain"}] in the order of preference, outgoing the same with
 * protocol "smtp", pop3 {enabled, expireDays (null: kept until deleted)}, and the
 * absolute URLs of the account's Thunderbird autoconfig document and Apple profile. */
#ifndef KASTEN_JMAP_KASTEN_H
#define KASTEN_JMAP_KASTEN_H

#include <jansson.h>

struct jmap_ctx;

int jmap_activity_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_client_settings_get(struct jmap_ctx *x, json_t *args, json_t **result_out);

#endif
