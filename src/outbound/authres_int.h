/* authres_int.h: shared by the authres_*.c files only. */
#ifndef KASTEN_AUTHRES_INT_H
#define KASTEN_AUTHRES_INT_H

#include <stdint.h>
#include <time.h>

#include "outbound/authres.h"
#include "outbound/dns.h"

/* The lookups of one message (authres_dns.c). */
struct authres_lookups {
	struct dns_resolver *resolver; /* this thread's, or NULL: every lookup fails */
	time_t deadline;
	unsigned queries;
};

/* This thread's resolver, made on first use; NULL when it cannot be made (logged). */
struct dns_resolver *authres_dns_resolver(void);
/* spf_lookup_fn over ctx = struct authres_lookups. */
int authres_dns_lookup(void *ctx, enum dns_type type, const char *name,
                       struct dns_answer **answer_out);
/* dkim_key_lookup_fn over the same ctx. */
int authres_dns_dkim_key(void *ctx, const char *name, char *out, size_t cap, size_t *len_out);

/* The header block of the message as read (authres_check.c) and what to drop from it. */
struct authres_header {
	uint8_t *buf;    /* the bytes read from the message start (malloc) */
	size_t got;      /* bytes in buf, header and possibly some body */
	size_t end_line; /* where the empty line (or the end) after the fields starts */
	size_t cut[LIMIT_HEADER_FIELDS][2]; /* [start, end) of the fields to leave out */
	size_t n_cut;
};

/* Write the new spool file (authres_spool.c): bytes [0, trace) of in_fd, the field
 * ar[0..ar_len), the header fields of h except its cuts, then everything of in_fd from
 * trace + h->end_line on. path_out: DELIVER_PATH_MAX. 0 or ERR_IO/ERR_NOMEM/ERR_TEMP;
 * on error no file is left behind. */
int authres_spool_write(int in_fd, uint64_t trace, const struct authres_header *h, const char *ar,
                        size_t ar_len, char *path_out, uint64_t *size_out);

#endif
