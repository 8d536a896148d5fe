/* http_etag.h: If-None-Match against one entity tag (RFC 9110 13.1.2), pure over its
 * input (no allocation, no NUL needed), for the conditional GETs of the embedded
 * webmail (http_web.c). Its own file so tests/unit/test_http_etag.c and
 * fuzz/fuzz_http_etag.c drive it alone. */
#ifndef KASTEN_HTTP_ETAG_H
#define KASTEN_HTTP_ETAG_H

#include <stdbool.h>
#include <stddef.h>

/* Does the field value inm[0..len) match etag (a strong tag with its quotes, like
 * "\"abc\"")? "*" matches; otherwise a comma-separated list of entity-tags compared
 * weakly (RFC 9110 8.8.3.2: W/"x" matches "x"), optional whitespace around members,
 * empty members skipped (5.6.1). A member that is not a well-formed entity-tag makes
 * the whole field invalid: false (then the full answer is sent, which is always safe). */
bool http_etag_none_match(const char *inm, size_t len, const char *etag);

#endif
