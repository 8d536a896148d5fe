/* store_account.c: the store_* wrappers of an account's JMAP support (store.h
 * "uploads, session tokens, the activity log, identities"). They check the arguments
 * and the backend's version, and forward; they own nothing. */
#include "store/store.h"

#include <stddef.h>

#include "core/err.h"
#include "store/store_backend.h"
#include "core/banned.h"

/* As store.c's: the handle, the version this file was built for, and the op. */
#define ACCOUNT_ST_OP(st, op) ((st) && (st)->ops->version == STORE_OPS_VERSION && (st)->ops->op)
#define ACCOUNT_ENV_OP(env, op)                                                              \
	((env) && (env)->ops->version == STORE_OPS_VERSION && (env)->ops->op)

int store_blob_put(struct store *st, int fd, uint64_t size, const char *type,
		   struct arena *a, const char **blob_id_out)
{
	if (!ACCOUNT_ST_OP(st, blob_put) || fd < 0 || !a || !blob_id_out)
		return ERR_INVAL;
	return st->ops->blob_put(st, fd, NULL, size, type, a, blob_id_out);
}

int store_blob_put_mem(struct store *st, const void *data, uint64_t size, const char *type,
		       struct arena *a, const char **blob_id_out)
{
	if (!ACCOUNT_ST_OP(st, blob_put) || (!data && size) || !a || !blob_id_out)
		return ERR_INVAL;
	return st->ops->blob_put(st, -1, data, size, type, a, blob_id_out);
}

int store_blob_open(struct store *st, const char *blob_id, int *fd_out, uint64_t *size_out,
		    const char **type_out, struct arena *a)
{
	if (!ACCOUNT_ST_OP(st, blob_open) || !blob_id || !fd_out || !size_out || !type_out || !a)
		return ERR_INVAL;
	return st->ops->blob_open(st, blob_id, fd_out, size_out, type_out, a);
}

int store_token_add(struct store_env *env, int64_t account_id, const uint8_t hash[32],
		    int64_t expires)
{
	if (!ACCOUNT_ENV_OP(env, token_add) || !hash)
		return ERR_INVAL;
	return env->ops->token_add(env, account_id, hash, expires);
}

int store_token_get(struct store_env *env, const uint8_t hash[32], int64_t now,
		    int64_t *account_id_out)
{
	if (!ACCOUNT_ENV_OP(env, token_get) || !hash || !account_id_out)
		return ERR_INVAL;
	return env->ops->token_get(env, hash, now, account_id_out);
}

int store_token_del(struct store_env *env, const uint8_t hash[32])
{
	if (!ACCOUNT_ENV_OP(env, token_del) || !hash)
		return ERR_INVAL;
	return env->ops->token_del(env, hash);
}

int store_activity_seen(struct store_env *env, int64_t account_id, const char *protocol,
			const char *client, const char *address, int64_t now)
{
	if (!ACCOUNT_ENV_OP(env, activity_seen) || !protocol)
		return ERR_INVAL;
	return env->ops->activity_seen(env, account_id, protocol, client, address, now);
}

int store_activity_removed(struct store_env *env, int64_t account_id, const char *protocol,
			   const char *client, const char *address, uint32_t count,
			   uint64_t bytes, int64_t now)
{
	if (!ACCOUNT_ENV_OP(env, activity_removed) || !protocol)
		return ERR_INVAL;
	return env->ops->activity_removed(env, account_id, protocol, client, address, count,
					  bytes, now);
}

int store_activity_list(struct store_env *env, int64_t account_id, struct arena *a,
			struct store_activity **out, size_t *n_out)
{
	if (!ACCOUNT_ENV_OP(env, activity_list) || !a || !out || !n_out)
		return ERR_INVAL;
	return env->ops->activity_list(env, account_id, a, out, n_out);
}

int store_account_aliases(struct store_env *env, int64_t account_id, struct arena *a,
			  const char ***names_out, size_t *n_out)
{
	if (!ACCOUNT_ENV_OP(env, account_aliases) || !a || !names_out || !n_out)
		return ERR_INVAL;
	return env->ops->account_aliases(env, account_id, a, names_out, n_out);
}

int store_submission_add(struct store_env *env, int64_t account_id, const char *object,
			 int64_t now, int64_t *id_out)
{
	if (!ACCOUNT_ENV_OP(env, submission_add) || !object || !id_out)
		return ERR_INVAL;
	return env->ops->submission_add(env, account_id, object, now, id_out);
}

int store_submission_destroy(struct store_env *env, int64_t account_id, int64_t id)
{
	if (!ACCOUNT_ENV_OP(env, submission_destroy))
		return ERR_INVAL;
	return env->ops->submission_destroy(env, account_id, id);
}

int store_submission_list(struct store_env *env, int64_t account_id, struct arena *a,
			  struct store_submission_list *out)
{
	if (!ACCOUNT_ENV_OP(env, submission_list) || !a || !out)
		return ERR_INVAL;
	return env->ops->submission_list(env, account_id, a, out);
}
