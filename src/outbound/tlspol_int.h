/* tlspol_int.h: the pieces behind tlspol.h, shared only inside it: the HTTP response
 * head parser (pure, fuzzed), the policy fetch over HTTPS, the policy cache and the
 * DANE TLSA lookup. */
#ifndef KASTEN_TLSPOL_INT_H
#define KASTEN_TLSPOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbound/tlspol.h"

struct dns_resolver;

/* ---- mtasts_http.c (pure) ---- */

/* What the policy fetch needs from an HTTP/1.x response head. */
struct mtasts_http_head {
	unsigned status;        /* 100..599 */
	int64_t content_length; /* -1: none given (the body ends at the close) */
	bool text_plain;        /* Content-Type's media type is text/plain (RFC 8461 3.3) */
	bool transfer_coding;   /* a Transfer-Encoding header was present */
};

/* The response head at p[0..len): status line and header fields up to the empty line
 * (CRLF or LF line ends). Returns the head's length including the empty line (>0),
 * 0 when the empty line has not arrived (more is needed; a head that is already
 * LIMIT_TLSPOL_HTTP_HEAD bytes long without it is ERR_TOO_LONG), ERR_BAD_SYNTAX (not
 * HTTP/1.x, a folded or nameless field, a bad or repeated-and-different
 * Content-Length, NUL or a bare CR) or ERR_TOO_BIG (Content-Length past
 * LIMIT_TLSPOL_POLICY). Resumable in the simple sense: call again with more bytes
 * appended; it starts over, which the bound makes cheap. */
int mtasts_http_head(const uint8_t *p, size_t len, struct mtasts_http_head *out);

/* ---- mtasts_fetch.c ---- */

/* GET https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 3.3): the host's
 * addresses through r, TLS 1.2 or later with the certificate verified for
 * mta-sts.<domain> against opts->ca_file or the system store, HTTP/1.0 (so that no
 * server may answer with a chunked body), status 200 only (a redirect is a failure),
 * Content-Type text/plain, at most LIMIT_TLSPOL_POLICY body bytes, within
 * opts->timeout per step and LIMIT_TLSPOL_FETCH_TIME in all. The body goes to
 * body[0..LIMIT_TLSPOL_POLICY). Returns 0 with *len_out, or ERR_TEMP / ERR_NOMEM /
 * ERR_BAD_SYNTAX / ERR_TOO_BIG / ERR_PERM (certificate) with the reason in why. */
int mtasts_fetch_policy(struct dns_resolver *r, const struct tlspol_options *opts,
                        const char *domain, uint8_t *body, size_t *len_out, char *why,
                        size_t why_cap);

/* ---- mtasts_cache.c: <data>/queue/mta-sts.db ---- */

struct mtasts_cache;

/* Open (creating) the cache file; one that is not a database (damaged) is replaced by an
 * empty one: it is only a cache. 0, ERR_IO or ERR_NOMEM. */
int mtasts_cache_open(const char *path, struct mtasts_cache **out);
void mtasts_cache_close(struct mtasts_cache **c);
/* The cached policy of domain: 1 with out->sts, id, fetched_at and expires set, 0 when
 * none is cached (or the row no longer parses), ERR_IO. */
int mtasts_cache_get(struct mtasts_cache *c, const char *domain, struct tlspol_domain *out);
/* Store (replace) domain's policy: its text as fetched (parsed again on reading, so
 * the row holds nothing the parser would refuse), id, fetched_at, expires. 0 or ERR_IO. */
int mtasts_cache_put(struct mtasts_cache *c, const char *domain, const uint8_t *text, size_t len,
                     const char *id, int64_t fetched_at, int64_t expires);
/* Forget domain (its TXT record is gone and the policy expired). 0 or ERR_IO. */
int mtasts_cache_delete(struct mtasts_cache *c, const char *domain);

/* ---- dane.c ---- */

/* RFC 7672 2.2: the TLSA records of _PORT._tcp.HOST for an MX host reached through a
 * secure MX answer (the caller checks that). Looks at the host's address answer first
 * (insecure: no DANE, OPPORTUNISTIC), then the TLSA: secure with usable records: DANE;
 * secure with records none of which is usable: ENCRYPT; insecure, no data or
 * NXDOMAIN: OPPORTUNISTIC (*applies false); a failed or bogus lookup: DEFER. Fills
 * out->req, names, sni, tlsa, why; *applies_out: DANE decided (out final). 0 or
 * ERR_NOMEM. */
int dane_host(struct dns_resolver *r, const char *domain, const char *mx_host, unsigned port,
              struct tlspol_host *out, bool *applies_out);

#endif
