/* cmd_dns_int.h: what `kasten dns lookup` and `kasten dns check` share. */
#ifndef KASTEN_CMD_DNS_INT_H
#define KASTEN_CMD_DNS_INT_H

#include <stddef.h>
#include <stdio.h>

struct event_base;
struct dns_resolver;
struct dns_answer;

/* A private event base and a resolver on it from the configuration's [dns]; errors are
 * reported on stderr. 0 or -1. */
int cmd_dns_resolver(struct event_base **base_out, struct dns_resolver **r_out);
/* The status line and the records (format in cmd_dns_lookup.c). */
void cmd_dns_print_answer(FILE *out, const struct dns_answer *a);
/* A TXT text in quotes with zone-file escapes ("\"", "\\", "\DDD"). */
void cmd_dns_print_text(FILE *out, const char *text, size_t len);

#endif
