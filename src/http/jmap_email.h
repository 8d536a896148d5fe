/* jmap_email.h: the Email and Thread methods of RFC 8621 (3, 4) that read the store's
 * JMAP view (store.h "JMAP view"): Email/get (the index's properties), Email/changes,
 * Email/query, Email/queryChanges, Thread/get, Thread/changes. Rows for them are in
 * jmap_methods.c; each method has the shape of jmap_method_fn (jmap.h) and runs on an
 * I/O worker (x->st and x->env only). */
#ifndef KASTEN_JMAP_EMAIL_H
#define KASTEN_JMAP_EMAIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;
struct jmap_ctx;
struct store;
struct store_changes;

int jmap_email_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_query(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_email_querychanges(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_thread_get(struct jmap_ctx *x, json_t *args, json_t **result_out);
int jmap_thread_changes(struct jmap_ctx *x, json_t *args, json_t **result_out);

/* A /changes method over one of the store's changes calls (store_email_changes,
 * store_thread_changes): parses the arguments (jmap_changes_parse), bounds a page to
 * maxChanges and LIMIT_JMAP_OBJECTS_GET, and answers RFC 8620 5.2 (hasMoreChanges
 * with the intermediate newState; cannotCalculateChanges when the store no longer
 * knows, or never knew, sinceState). */
typedef int (*jmap_store_changes_fn)(struct store *st, uint64_t since, size_t max,
				     struct arena *a, struct store_changes *out);
int jmap_changes_run(struct jmap_ctx *x, json_t *args, jmap_store_changes_fn fn,
		     json_t **result_out);

#endif
