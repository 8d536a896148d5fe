/* authres.h: the checks of inbound mail on port 25 (SPF, DKIM verification, DMARC)
 * and their Authentication-Results header field (RFC 8601).
 *
 *   authres_format.c  the field we write, folded under 78 columns (pure);
 *   authres_parse.c   the authserv-id of a field found in a message (pure, fuzzed),
 *                     so that every A-R claiming our name can be removed (RFC 8601 5);
 *   authres_check.c   the run over one spooled message on an io worker: a resolver per
 *                     worker thread, the lookups bounded by [dns] timeout each and
 *                     LIMIT_CHECKS_TIME in all, the From: domains, the verdict;
 *   authres_spool.c   the new spool file: our trace fields, the A-R field, the message
 *                     without A-R fields of ours (the body copied by copy_file_range).
 * The result is kept only as the header field: the webmail reads it from there. */
#ifndef KASTEN_AUTHRES_H
#define KASTEN_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "deliver/deliver.h"
#include "outbound/dkim.h"
#include "outbound/dmarc.h"
#include "outbound/spf.h"

/* What goes into the field. dmarc[] holds one outcome per From: domain (RFC 7489
 * 6.6.1: each domain of the From: field is evaluated; several From: fields too). */
struct authres_results {
	const char *authserv_id; /* [server] hostname */
	bool spf_on, dkim_on, dmarc_on;
	struct spf_outcome spf;
	struct dkim_verify_result dkim[LIMIT_DKIM_SIGS];
	size_t n_dkim;
	bool dkim_unchecked; /* the header was too large to hold: dkim=permerror */
	struct dmarc_outcome dmarc[LIMIT_DMARC_FROM_DOMAINS];
	size_t n_dmarc;
	const char *dmarc_problem; /* no usable From: domain: dmarc=none/permerror why */
	bool dmarc_permerror;
	/* the From: domains cannot all be evaluated (too many, a field too large to
	 * read): a failing one could hide among them, so dmarc_reject refuses it */
	bool dmarc_from_refused;
};

/* The whole field "Authentication-Results: id; spf=...; dkim=...; dmarc=...\r\n",
 * every line under 78 columns where a value allows it (a single value longer than a
 * line is not broken), into out (cap bytes, not NUL terminated), length in *len_out.
 * Values that are not RFC 2045 tokens are written as quoted strings. 0 or ERR_FULL. */
int authres_format(const struct authres_results *r, char *out, size_t cap, size_t *len_out);

/* The authserv-id (RFC 8601 2.2) of an Authentication-Results field value [v, v+len)
 * (after the colon, folds included): CFWS skipped, a token or quoted string, lower
 * case, final dots dropped, into out (cap bytes, NUL terminated). 0, ERR_BAD_SYNTAX
 * (no id, comments nested past LIMIT_AUTHRES_COMMENT_DEPTH), ERR_TOO_LONG (past cap). */
int authres_parse_id(const uint8_t *v, size_t len, char *out, size_t cap);
/* Whether that field claims to come from host (case-insensitive). */
bool authres_is_ours(const uint8_t *v, size_t len, const char *host);

/* One message to check. */
struct authres_check_in {
	const char *spool_path; /* the session's spool file: trace fields, then the message */
	uint64_t trace_bytes;   /* the length of our trace fields at its start */
	const char *client_ip;  /* text, as net_conn_peer_ip */
	const char *helo;       /* "" when none */
	const char *mail_from;  /* "" for <> */
	bool spf, dkim, dmarc;  /* [checks] */
	bool dmarc_reject;      /* [checks] dmarc_reject */
};

struct authres_check_out {
	char path[DELIVER_PATH_MAX]; /* the new spool file (the old one is unlinked) */
	uint64_t size;
	bool reject; /* refuse: reply holds the whole reply line */
	char reply[256];
	char summary[160]; /* "spf=pass dkim=pass dmarc=pass" for the log */
};

/* Run the enabled checks over in->spool_path and write the new spool file. Blocks (DNS,
 * disk): only on a worker thread. On reject no new file is written and the old one is
 * left to the caller. Returns 0, or ERR_TOO_BIG (the header is larger than
 * LIMIT_DKIM_HEADER or has more than LIMIT_HEADER_FIELDS fields: it cannot be cleaned
 * of forged fields, the caller refuses the message), ERR_IO, ERR_NOMEM, ERR_TEMP. */
int authres_check_run(const struct authres_check_in *in, struct authres_check_out *out);

#endif
