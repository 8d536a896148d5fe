/* jmap.h: the JMAP core (RFC 8620): the request engine, the method table, the helpers
 * every standard method (/get /changes /set /query /queryChanges) is written with, and
 * the HTTP handlers (session resource, API, login/logout, upload, download, event
 * source).
 *
 * The engine is a pure function over (ctx, request bytes) -> response JSON: it bounds
 * the request (LIMIT_JMAP_REQUEST_SIZE, depth LIMIT_JMAP_DEPTH by a pre-scan before
 * jansson sees a byte, LIMIT_JMAP_CALLS), checks `using`, resolves result references
 * (RFC 8620 3.7) and creation ids, and calls each method from jmap_methods[].
 *
 * Threads: the HTTP glue runs a whole request on the I/O worker pool (net_conn_work_io)
 * with the account's store opened once for it, and answers on the loop thread. So a
 * method may do slow store work (searches) without stalling other connections, and the
 * engine needs no resumable state; in exchange a method must not use loop-thread
 * services (net_conn_*, notify_*): it only reads and writes through x->st / x->env.
 *
 * Ids (RFC 8474 = JMAP): accountId "A" + decimal account id; Mailbox id = MAILBOXID;
 * Email id = EMAILID (store_msg.guid); Thread id = THREADID. Blob ids: "G" + EMAILID
 * (a whole message), "G" + EMAILID + "." + MIME part number (a part), "U" + 32 hex (an
 * upload). State strings: the account's modseq (store_modseq) in decimal, one counter
 * for every type. */
#ifndef KASTEN_JMAP_H
#define KASTEN_JMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;
struct store;
struct store_env;
struct http_req;

/* ---- capabilities (the `using` of a request; bits in jmap_ctx.using) ---- */
#define JMAP_CAP_CORE "urn:ietf:params:jmap:core"
#define JMAP_CAP_MAIL "urn:ietf:params:jmap:mail"
#define JMAP_CAP_SUBMISSION "urn:ietf:params:jmap:submission"
#define JMAP_CAP_QUOTA "urn:ietf:params:jmap:quota"
/* kasten's own data for the webmail (jmap_kasten.h: Activity/get, ClientSettings/get) */
#define JMAP_CAP_KASTEN "https://kasten.dev/jmap/account"
enum jmap_cap_bit {
	JMAP_USING_CORE = 1 << 0,
	JMAP_USING_MAIL = 1 << 1,
	JMAP_USING_SUBMISSION = 1 << 2,
	JMAP_USING_QUOTA = 1 << 3,
	JMAP_USING_KASTEN = 1 << 4,
};
/* The bit of a capability URI, 0 if the server does not know it. */
unsigned jmap_cap_bit(const char *uri);

/* Request-level error types (RFC 8620 3.6.1), for problem details. */
#define JMAP_ERR_UNKNOWN_CAPABILITY "urn:ietf:params:jmap:error:unknownCapability"
#define JMAP_ERR_NOT_JSON "urn:ietf:params:jmap:error:notJSON"
#define JMAP_ERR_NOT_REQUEST "urn:ietf:params:jmap:error:notRequest"
#define JMAP_ERR_LIMIT "urn:ietf:params:jmap:error:limit"

/* ---- the context of one request ---- */
struct jmap_ctx {
	struct store_env *env;
	struct store *st;          /* the account's store, open for the whole request */
	int64_t account_id;
	const char *address;       /* the account's canonical address */
	struct arena *a;           /* the request's arena: strings handed to methods */
	json_t *created_ids;       /* creation id -> id, for the whole request (RFC 8620
				    * 3.3 createdIds in and out); never NULL in a method */
	/* What the engine keeps; methods read, never write these: */
	const char *account_str;   /* "A" + account_id */
	unsigned using;            /* enum jmap_cap_bit of the request's `using` */
	const char *method_name;   /* of the call running */
	/* Set by jmap_method_error for the call running (a method returns after it): */
	const char *err_type;
	const char *err_desc;
	json_t *err_extra;         /* more members of the error object, or NULL */
	json_t *implicit;          /* jmap_add_implicit's responses for the call running */
};

/* A method: 0 and *result_out (a new reference, the response's arguments), or a
 * negative value after jmap_method_error (RFC 8620 3.6.2 types: "unknownMethod",
 * "invalidArguments", "invalidResultReference", "forbidden", "accountNotFound",
 * "accountNotSupportedByMethod", "accountReadOnly", "serverFail", "requestTooLarge",
 * "stateMismatch", "cannotCalculateChanges", "anchorNotFound", "unsupportedSort",
 * "unsupportedFilter", "tooManyChanges", ...). args is borrowed (result references
 * already resolved, "#"-keys replaced). */
typedef int (*jmap_method_fn)(struct jmap_ctx *x, json_t *args, json_t **result_out);
struct jmap_method {
	const char *name;          /* "Core/echo", "Mailbox/get", ... */
	const char *capability;    /* JMAP_CAP_*: the request's `using` must name it,
				    * else unknownMethod */
	jmap_method_fn fn;
};
/* jmap_methods.c: the table; the next wave adds rows. */
extern const struct jmap_method jmap_methods[];
extern const size_t jmap_methods_n;
const struct jmap_method *jmap_method_find(const char *name);

/* Record a method-level error for the call running; returns ERR_INVAL so a method can
 * `return jmap_method_error(x, "invalidArguments", "ids: not an array");`. type and
 * description must outlive the request (literals, or strings in x->a). */
int jmap_method_error(struct jmap_ctx *x, const char *type, const char *description);
/* The same with more members for the error object (stolen), e.g. {"arguments":[...]}. */
int jmap_method_error_extra(struct jmap_ctx *x, const char *type, const char *description,
			    json_t *extra);

/* An implicit call's response (RFC 8620 5.4 onSuccessDestroyOriginal, RFC 8621 7.5
 * onSuccessUpdateEmail): [name, args (stolen), the call's id] goes after the running
 * call's own response when that succeeds. ERR_NOMEM. */
int jmap_add_implicit(struct jmap_ctx *x, const char *name, json_t *args);

/* ---- the request engine (jmap_request.c) ---- */
/* A request-level problem (RFC 8620 3.6.1): HTTP status, the type URI, a detail and,
 * for JMAP_ERR_LIMIT, the name of the limit ("maxCallsInRequest", "maxSizeRequest",
 * "maxDepth"). Strings are literals or in x->a. */
struct jmap_request_error {
	int status;
	const char *type;
	const char *detail;
	const char *limit;
};
/* Run one API request: the body [p, p+len) (need not be NUL-terminated). 0 and
 * *response_out (a new reference: {"methodResponses", "createdIds"?, "sessionState"}),
 * or ERR_BAD_SYNTAX / ERR_TOO_BIG / ERR_TOO_DEEP / ERR_INVAL with *err_out set (the
 * caller answers a problem). x: env, st, account_id, address, a set; created_ids and the
 * engine's members are set here. session_state goes into the response as is. */
int jmap_request(struct jmap_ctx *x, const uint8_t *p, size_t len, const char *session_state,
		 json_t **response_out, struct jmap_request_error *err_out);

/* The depth pre-scan (jmap_scan.c), pure: 0 when no array/object in [p, p+len) nests
 * deeper than max_depth (strings and their escapes skipped, so brackets inside strings
 * do not count), ERR_TOO_DEEP otherwise. It only counts: what is not JSON is left to
 * the parser, which then meets a bounded depth. */
int jmap_scan_depth(const uint8_t *p, size_t len, unsigned max_depth);

/* RFC 6901 JSON Pointer with the RFC 8620 3.7 '*' extension, over v: a new reference
 * to what path names, or NULL if it names nothing. '*' on an array maps the rest of
 * the path over each item and flattens arrays that result (one level). */
json_t *jmap_pointer(json_t *v, const char *path);

/* ---- the standard-method helpers (jmap_std.c; RFC 8620 5.1-5.6) ----
 * Each *_parse checks accountId (accountNotFound unless it is x->account_str) and the
 * arguments' types; on a problem it has called jmap_method_error and returns < 0, so a
 * method does `if (jmap_get_parse(...) < 0) return ERR_INVAL;`. Ids given as
 * "#creationId" are resolved through x->created_ids; an unknown one stays as given
 * (and is then notFound / notDestroyed like any unknown id). */

/* The state string of the account (store_modseq), in x->a. ERR_* from the store. */
int jmap_state(struct jmap_ctx *x, const char **state_out);
/* Is s a JMAP Id (RFC 8620 1.2: 1-255 octets of [A-Za-z0-9_-])? */
bool jmap_id_ok(const char *s);
/* accountId of args: required, and the request's own (accountNotFound otherwise, as
 * every *_parse below checks it): 0, or < 0 after jmap_method_error. */
int jmap_account_check(struct jmap_ctx *x, json_t *args);
/* A UTCDate (RFC 8620 1.4, "2026-12-02T06:50:00Z") of unix seconds; NULL on failure. */
json_t *jmap_utc_date(int64_t t);

/* /get (5.1). known: NULL-terminated list of the type's properties; default_props:
 * those returned when properties is null (NULL = all known). "id" is always returned. */
struct jmap_get_args {
	const char **ids;          /* resolved; NULL when all_ids */
	size_t n_ids;
	bool all_ids;              /* ids was null */
	const char **props;        /* requested properties, "id" included */
	size_t n_props;
};
int jmap_get_parse(struct jmap_ctx *x, json_t *args, const char *const *known,
		   const char *const *default_props, struct jmap_get_args *out);
bool jmap_get_wants(const struct jmap_get_args *g, const char *prop);
/* Put property name = v into obj when g asks for it, else drop v. v is stolen; a NULL v
 * (its allocation failed) that is wanted is -1, as is a failed insert; 0 otherwise. */
int jmap_get_set(json_t *obj, const struct jmap_get_args *g, const char *name, json_t *v);
/* {"accountId","state","list","notFound"}: list and not_found are stolen (NULL: []). */
json_t *jmap_get_result(struct jmap_ctx *x, const char *state, json_t *list, json_t *not_found);

/* /changes (5.2). since: the decimal sinceState (not a number: cannotCalculateChanges);
 * max_changes 0 = none given (> 0 required when given). */
struct jmap_changes_args {
	uint64_t since;
	size_t max_changes;
};
int jmap_changes_parse(struct jmap_ctx *x, json_t *args, struct jmap_changes_args *out);
/* {"accountId","oldState","newState","hasMoreChanges","created","updated","destroyed"}:
 * the arrays are stolen (NULL: []). */
json_t *jmap_changes_result(struct jmap_ctx *x, uint64_t old_state, uint64_t new_state,
			    bool more, json_t *created, json_t *updated, json_t *destroyed);

/* /set (5.3). ifInState is checked against cur_state here (stateMismatch). create and
 * update are borrowed objects (NULL when absent), destroy ids resolved. At most
 * LIMIT_JMAP_OBJECTS_SET operations in all (requestTooLarge). */
struct jmap_set_args {
	json_t *create;            /* creation id -> object */
	json_t *update;            /* id -> PatchObject (ids as given: resolve with
				    * jmap_resolve_id) */
	const char **destroy;
	size_t n_destroy;
};
int jmap_set_parse(struct jmap_ctx *x, json_t *args, const char *cur_state,
		   struct jmap_set_args *out);
/* The response being built: every member is a new object/array or NULL (left out). */
struct jmap_set_result {
	json_t *created, *updated, *destroyed;
	json_t *not_created, *not_updated, *not_destroyed;
};
/* created[cid] = obj (stolen; must hold "id"), and cid -> id in x->created_ids. */
void jmap_set_created(struct jmap_ctx *x, struct jmap_set_result *r, const char *cid,
		      json_t *obj);
/* updated[id] = obj (stolen; NULL: null, nothing the client did not set changed). */
void jmap_set_updated(struct jmap_set_result *r, const char *id, json_t *obj);
void jmap_set_destroyed(struct jmap_set_result *r, const char *id);
/* A SetError {"type","description"?} (5.3); `properties` (stolen, may be NULL) for
 * invalidProperties. */
json_t *jmap_set_error(const char *type, const char *description, json_t *properties);
/* not_created / not_updated / not_destroyed [id] = err (stolen). */
void jmap_set_not_created(struct jmap_set_result *r, const char *cid, json_t *err);
void jmap_set_not_updated(struct jmap_set_result *r, const char *id, json_t *err);
void jmap_set_not_destroyed(struct jmap_set_result *r, const char *id, json_t *err);
/* {"accountId","oldState","newState", and the non-empty members}; frees r's members. */
json_t *jmap_set_response(struct jmap_ctx *x, struct jmap_set_result *r,
			  const char *old_state, const char *new_state);
/* "#cid" -> the id created for cid in this request, another id as it is; NULL for an
 * unknown creation id or a string that is not an Id. */
const char *jmap_resolve_id(struct jmap_ctx *x, const char *id);

/* /query (5.5). filter and sort borrowed (NULL when absent/null; their contents are the
 * type's to check). limit: LIMIT_JMAP_QUERY_LIMIT when not given (the response's limit
 * says so, 5.5). */
struct jmap_query_args {
	json_t *filter;
	json_t *sort;
	int64_t position;
	const char *anchor;        /* NULL when absent; resolved "#cid" */
	int64_t anchor_offset;
	size_t limit;
	bool limit_given;
	bool limit_by_server;      /* not given or above LIMIT_JMAP_QUERY_LIMIT: the
				    * response then says which limit applied */
	bool calculate_total;
};
int jmap_query_parse(struct jmap_ctx *x, json_t *args, struct jmap_query_args *out);
/* The window of ids[0..n) the arguments ask for (anchor, anchorOffset, position,
 * limit, 5.5): *first_out and *count_out. anchorNotFound as a method error. */
int jmap_query_window(struct jmap_ctx *x, const struct jmap_query_args *q,
		      const char *const *ids, size_t n, size_t *first_out, size_t *count_out);
/* {"accountId","queryState","canCalculateChanges","position","ids","total"?,"limit"?}
 * with ids[first..first+count). */
json_t *jmap_query_result(struct jmap_ctx *x, const struct jmap_query_args *q,
			  const char *query_state, bool can_calculate_changes,
			  const char *const *ids, size_t n, size_t first, size_t count);

/* /queryChanges (5.6). */
struct jmap_querychanges_args {
	json_t *filter;
	json_t *sort;
	const char *since_query_state;
	size_t max_changes;        /* 0 = none given */
	const char *up_to_id;      /* NULL when absent */
	bool calculate_total;
};
int jmap_querychanges_parse(struct jmap_ctx *x, json_t *args,
			    struct jmap_querychanges_args *out);

/* ---- the session resource (jmap_session.c; RFC 8620 2) ---- */
/* The session object for an account, with URL templates under base ("https://host:port",
 * or "" for relative URLs). A new reference, NULL on failure. */
json_t *jmap_session_object(int64_t account_id, const char *address, const char *base);
/* The session's state (RFC 8620 2 "state", 3.4 "sessionState"): 16 hex digits of a
 * hash over what the session says apart from its URLs, so it changes when that does
 * (limits, capabilities, the account). 0 or ERR_NOMEM. */
int jmap_session_state(int64_t account_id, const char *address, char out[17]);

/* ---- blobs (RFC 8620 6; ids in the comment at the top) ---- */
/* Open any blob id of x's account for reading: an upload "U...", a whole message
 * "G<EMAILID>", or a part "G<EMAILID>.<partId>" (its DECODED content: the
 * Content-Transfer-Encoding removed, the charset untouched; partId = the IMAP section
 * number, a message/rfc822 part's body parts continuing it, RFC 8621 4.1.4), or a part
 * of an uploaded message "U<hex>.<partId>" (what Email/parse names an upload's parts
 * with). 0 with
 * *fd_out (the caller closes it; positioned at 0), *size_out and *type_out (a media
 * type in x->a: the upload's, "message/rfc822", or the part's type/subtype), or
 * ERR_NOTFOUND for an unknown id or one of another account, ERR_* from the store.
 * Email/import, Email/parse, Email/set create and EmailSubmission take blob ids
 * through this one function; the download route uses the same opener. */
int jmap_blob_open_any(struct jmap_ctx *x, const char *blob_id, int *fd_out,
		       uint64_t *size_out, const char **type_out);
/* The part case alone (jmap_blob_part.c), for a caller holding only a store: blob_id
 * must be "G<EMAILID>.<partId>". Same results; strings in a. The decoded content is
 * written to an unlinked temporary file bounded by the part's encoded size. */
int jmap_blob_part_open(struct store *st, const char *blob_id, struct arena *a, int *fd_out,
			uint64_t *size_out, const char **type_out);

/* ---- HTTP handlers (rows in http_routes.c) ---- */
void jmap_http_session(struct http_req *r);   /* GET /.well-known/jmap, /jmap/session */
void jmap_http_api(struct http_req *r);       /* POST /jmap/api */
void jmap_http_login(struct http_req *r);     /* POST /jmap/login */
void jmap_http_logout(struct http_req *r);    /* POST /jmap/logout */
void jmap_http_upload(struct http_req *r);    /* POST /jmap/upload/{accountId}/ */
void jmap_http_download(struct http_req *r);  /* GET /jmap/download/{acct}/{blob}/{name} */
void jmap_http_eventsource(struct http_req *r); /* GET /jmap/eventsource */

#endif
