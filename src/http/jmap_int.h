/* jmap_int.h: what the JMAP HTTP handlers (jmap_http.c, jmap_auth.c, jmap_blob.c,
 * jmap_push.c) share. */
#ifndef KASTEN_JMAP_INT_H
#define KASTEN_JMAP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "http/jmap.h"

struct http_req;

#define JMAP_COOKIE "kasten_session"
#define JMAP_CSRF_HEADER "X-CSRF-Token"
/* RFC 9110 11.6.1, RFC 6750 3: both schemes we take */
#define JMAP_CHALLENGE "Basic realm=\"kasten\", Bearer realm=\"kasten\""

/* Who a request is from. Strings live in the request's arena. */
struct jmap_auth {
	int64_t account_id;
	const char *address;
	const char *account_str; /* "A" + id */
	bool by_cookie;          /* the session cookie, not Basic or Bearer */
	const char *token;       /* the session token (cookie or Bearer), else NULL */
};
/* Runs on the request's loop thread once the request is authenticated. */
typedef void (*jmap_authed_fn)(struct http_req *r, const struct jmap_auth *au);

/* Authenticate r: Basic (through auth_login: its hash and penalty), Bearer or the
 * session cookie (store_token_get). A state-changing request (anything but GET and
 * HEAD) authenticated by the cookie must carry X-CSRF-Token = jmap_csrf_token of the
 * cookie, and an Origin, when it has one, must be the server's own. On failure r is
 * answered (401 with JMAP_CHALLENGE, 403 for CSRF/Origin) and done is not called. */
void jmap_authenticate(struct http_req *r, jmap_authed_fn done);
/* The CSRF token of a session token: hex HMAC-SHA256 under the server's key
 * (<data>/jmap/csrf.key, made once). 0 or ERR_IO. */
int jmap_csrf_token(const char *session_token, char out[65]);
/* Whether the Origin field, if any, names this server (scheme from the listener, host
 * and port from the Host field). */
bool jmap_origin_ok(const struct http_req *r);

/* A request-level problem (RFC 8620 3.6.1 / RFC 7807) with the JMAP "limit" member
 * when limit is non-NULL. */
void jmap_problem(struct http_req *r, int status, const char *type, const char *detail,
		  const char *limit);
/* "A<digits>" of our own account ids -> the id; -1 for anything else. */
int64_t jmap_account_parse(const char *s);
/* The base URL of the server as the client reached it ("https://host:port"), from
 * the listener and the Host field (checked; the configured hostname otherwise). */
const char *jmap_base_url(struct http_req *r);

/* maxConcurrentRequests / maxConcurrentUpload per account: take a slot (false when
 * all LIMIT_JMAP_CONCURRENT are busy), give it back. Thread-safe. */
enum jmap_slot_kind { JMAP_SLOT_API, JMAP_SLOT_UPLOAD };
bool jmap_slot_take(int64_t account_id, enum jmap_slot_kind kind);
void jmap_slot_put(int64_t account_id, enum jmap_slot_kind kind);

#endif
