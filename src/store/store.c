/* store.c: the store_* wrappers protocol code calls, the backend table, mailbox-name
 * rules and the flush counter. Wrappers check arguments and the backend's version and
 * forward; they own nothing. Limits: LIMIT_MAILBOX_NAME for names; new account and
 * alias addresses pass addr_account_check() here, so no backend or caller can skip it. */
#include "store/store.h"

#include <stdatomic.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "store/store_backend.h"
#include "core/banned.h"

const struct store_ops *const store_backends[] = {&store_sqlite_ops, NULL};

static _Atomic uint64_t flushes;

void store_flush_count_add(uint64_t n)
{
	atomic_fetch_add(&flushes, n);
}

uint64_t store_flush_count(void)
{
	return atomic_load(&flushes);
}

void store_notify(struct store_env *env, int64_t account_id, int64_t mailbox_id,
		  enum store_change_kind kind, uint64_t modseq)
{
	if (env->hook)
		env->hook(env->hook_arg, account_id, mailbox_id, kind, modseq);
}

/* Forward to an op after checking the handle, version and presence of the op. */
#define ENV_OP(env, op) ((env) && (env)->ops->version == STORE_OPS_VERSION && (env)->ops->op)
#define ST_OP(st, op) ((st) && (st)->ops->version == STORE_OPS_VERSION && (st)->ops->op)

int store_env_open(const char *backend, const char *data_dir, bool primary,
		   struct store_env **out)
{
	if (!data_dir || !out)
		return ERR_INVAL;
	*out = NULL;
	for (size_t i = 0; store_backends[i]; i++) {
		const struct store_ops *ops = store_backends[i];
		if (backend && strcmp(backend, ops->name) != 0)
			continue;
		if (ops->version != STORE_OPS_VERSION)
			return ERR_INVAL;
		struct store_env *env;
		int r = ops->env_open(data_dir, primary, &env);
		if (r < 0)
			return r;
		r = ops->recover(env);
		if (r < 0) {
			ops->env_close(env);
			return r;
		}
		*out = env;
		return 0;
	}
	return ERR_NOTFOUND;
}

void store_env_close(struct store_env **env)
{
	if (!env || !*env)
		return;
	(*env)->ops->env_close(*env);
	*env = NULL;
}

void store_set_change_hook(struct store_env *env, store_change_fn fn, void *arg)
{
	env->hook = fn;
	env->hook_arg = arg;
}

int store_account_add(struct store_env *env, const char *address, const char *pwhash,
		      uint64_t quota_bytes, int64_t *id_out)
{
	if (!ENV_OP(env, account_add) || !address || !addr_account_ok(address, strlen(address)))
		return ERR_INVAL;
	return env->ops->account_add(env, address, pwhash, quota_bytes, id_out);
}

int store_account_del(struct store_env *env, const char *address)
{
	if (!ENV_OP(env, account_del) || !address)
		return ERR_INVAL;
	return env->ops->account_del(env, address);
}

int store_account_get(struct store_env *env, const char *address, struct arena *a,
		      struct store_account *out)
{
	if (!ENV_OP(env, account_get) || !address || !a || !out)
		return ERR_INVAL;
	return env->ops->account_get(env, address, a, out);
}

int store_account_get_id(struct store_env *env, int64_t id, struct arena *a,
			 struct store_account *out)
{
	if (!ENV_OP(env, account_get_id) || !a || !out)
		return ERR_INVAL;
	return env->ops->account_get_id(env, id, a, out);
}

int store_account_list(struct store_env *env, struct arena *a, struct store_account **out,
		       size_t *n_out)
{
	if (!ENV_OP(env, account_list) || !a || !out || !n_out)
		return ERR_INVAL;
	return env->ops->account_list(env, a, out, n_out);
}

int store_account_set(struct store_env *env, const char *address, const char *key,
		      const char *value)
{
	if (!ENV_OP(env, account_set) || !address || !key || !value)
		return ERR_INVAL;
	return env->ops->account_set(env, address, key, value);
}

int store_alias_add(struct store_env *env, const char *alias, const char *address)
{
	if (!ENV_OP(env, alias_add) || !alias || !address || !addr_account_ok(alias, strlen(alias)))
		return ERR_INVAL;
	return env->ops->alias_add(env, alias, address);
}

int store_alias_list(struct store_env *env, struct arena *a, struct store_alias **out,
		     size_t *n_out)
{
	if (!ENV_OP(env, alias_list) || !a || !out || !n_out)
		return ERR_INVAL;
	return env->ops->alias_list(env, a, out, n_out);
}

int store_alias_del(struct store_env *env, const char *alias)
{
	if (!ENV_OP(env, alias_del) || !alias)
		return ERR_INVAL;
	return env->ops->alias_del(env, alias);
}

bool store_domain_is_local(struct store_env *env, const char *domain)
{
	if (!ENV_OP(env, domain_is_local) || !domain || !*domain)
		return false;
	return env->ops->domain_is_local(env, domain);
}

int store_resolve(struct store_env *env, const char *address, int64_t *id_out)
{
	if (!ENV_OP(env, resolve) || !address || !id_out)
		return ERR_INVAL;
	return env->ops->resolve(env, address, id_out);
}

int store_open(struct store_env *env, int64_t account_id, struct store **out)
{
	if (!ENV_OP(env, open) || !out)
		return ERR_INVAL;
	*out = NULL;
	return env->ops->open(env, account_id, out);
}

void store_close(struct store **st)
{
	if (!st || !*st)
		return;
	(*st)->ops->close(*st);
	*st = NULL;
}

int store_usage(struct store *st, uint64_t *bytes_out, uint64_t *messages_out)
{
	if (!ST_OP(st, usage))
		return ERR_INVAL;
	return st->ops->usage(st, bytes_out, messages_out);
}

int store_modseq(struct store *st, uint64_t *modseq_out)
{
	if (!ST_OP(st, modseq) || !modseq_out)
		return ERR_INVAL;
	return st->ops->modseq(st, modseq_out);
}

int store_mailbox_list(struct store *st, struct arena *a, struct store_mailbox **out,
		       size_t *n_out)
{
	if (!ST_OP(st, mailbox_list) || !a || !out || !n_out)
		return ERR_INVAL;
	return st->ops->mailbox_list(st, a, out, n_out);
}

int store_mailbox_get(struct store *st, const char *name, struct arena *a,
		      struct store_mailbox *out)
{
	if (!ST_OP(st, mailbox_get) || !a || !out || !name)
		return ERR_INVAL;
	if (!store_mailbox_name_ok(name))
		return ERR_NOTFOUND;
	return st->ops->mailbox_get(st, name, a, out);
}

int store_mailbox_get_id(struct store *st, int64_t mailbox_id, struct arena *a,
			 struct store_mailbox *out)
{
	if (!ST_OP(st, mailbox_get_id) || !a || !out)
		return ERR_INVAL;
	return st->ops->mailbox_get_id(st, mailbox_id, a, out);
}

int store_mailbox_keywords(struct store *st, int64_t mailbox_id, struct arena *a,
			   const char **keywords_out, bool *more_out)
{
	if (!ST_OP(st, mailbox_keywords) || !a || !keywords_out)
		return ERR_INVAL;
	bool ignored;
	return st->ops->mailbox_keywords(st, mailbox_id, a, keywords_out,
					 more_out ? more_out : &ignored);
}

int store_recent_claim(struct store *st, int64_t mailbox_id, uint32_t *first_out,
		       uint32_t *end_out)
{
	if (!ST_OP(st, recent_claim) || !first_out || !end_out)
		return ERR_INVAL;
	return st->ops->recent_claim(st, mailbox_id, first_out, end_out);
}

int store_mailbox_create(struct store *st, const char *name, unsigned special_use)
{
	if (!ST_OP(st, mailbox_create) || !name || !store_mailbox_name_ok(name))
		return ERR_INVAL;
	if (special_use & ~(unsigned)(STORE_SU_DRAFTS | STORE_SU_SENT | STORE_SU_TRASH |
				      STORE_SU_JUNK | STORE_SU_ARCHIVE))
		return ERR_INVAL;
	return st->ops->mailbox_create(st, name, special_use);
}

int store_mailbox_rename(struct store *st, const char *from, const char *to)
{
	if (!ST_OP(st, mailbox_rename) || !from || !to || !store_mailbox_name_ok(to))
		return ERR_INVAL;
	if (!store_mailbox_name_ok(from))
		return ERR_NOTFOUND;
	return st->ops->mailbox_rename(st, from, to);
}

int store_mailbox_delete(struct store *st, const char *name)
{
	if (!ST_OP(st, mailbox_delete) || !name)
		return ERR_INVAL;
	if (!store_mailbox_name_ok(name))
		return ERR_NOTFOUND;
	return st->ops->mailbox_delete(st, name);
}

int store_subscription_set(struct store *st, const char *name, bool on)
{
	if (!ST_OP(st, subscription_set) || !store_mailbox_name_ok(name))
		return ERR_INVAL;
	return st->ops->subscription_set(st, name, on);
}

int store_subscription_list(struct store *st, struct arena *a, const char ***names_out,
			    size_t *n_out)
{
	if (!ST_OP(st, subscription_list) || !a || !names_out || !n_out)
		return ERR_INVAL;
	return st->ops->subscription_list(st, a, names_out, n_out);
}

/* Names are hierarchies with '/' between levels. Rejected: empty names and levels
 * (leading, trailing or doubled '/'), "." and ".." levels, control characters (C0, DEL,
 * C1 via UTF-8 U+0080..U+009F), the IMAP LIST wildcards '*' and '%', malformed UTF-8,
 * and more than LIMIT_MAILBOX_NAME bytes. Names never become paths, the checks keep
 * them printable and unambiguous for every client. */
bool store_mailbox_name_ok(const char *name)
{
	if (!name)
		return false;
	size_t n = strnlen(name, LIMIT_MAILBOX_NAME + 1);
	if (n == 0 || n > LIMIT_MAILBOX_NAME)
		return false;
	const unsigned char *s = (const unsigned char *)name;
	size_t level_start = 0;
	for (size_t i = 0; i <= n;) {
		if (i == n || s[i] == '/') {
			size_t l = i - level_start;
			if (l == 0)
				return false;
			if ((l == 1 && s[level_start] == '.') ||
			    (l == 2 && s[level_start] == '.' && s[level_start + 1] == '.'))
				return false;
			i++;
			level_start = i;
			continue;
		}
		unsigned char c = s[i];
		if (c < 0x20 || c == 0x7f || c == '*' || c == '%')
			return false;
		size_t l = str_utf8_seq(s + i, n - i, NULL);
		if (l == 0)
			return false;
		if (l == 2 && c == 0xc2 && s[i + 1] < 0xa0)
			return false; /* C1 controls */
		i += l;
	}
	return true;
}

int store_msg_list(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		   uint32_t uid_last, struct arena *a, struct store_msg **out, size_t *n_out)
{
	if (!ST_OP(st, msg_list) || !a || !out || !n_out)
		return ERR_INVAL;
	return st->ops->msg_list(st, mailbox_id, uid_first, uid_last, a, out, n_out);
}

int store_msg_uids(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		   uint32_t uid_last, struct arena *a, uint32_t **uids_out, size_t *n_out)
{
	if (!ST_OP(st, msg_uids) || !a || !uids_out || !n_out)
		return ERR_INVAL;
	*uids_out = NULL;
	*n_out = 0;
	return st->ops->msg_uids(st, mailbox_id, uid_first, uid_last, a, uids_out, n_out);
}

int store_msg_changed(struct store *st, int64_t mailbox_id, uint64_t modseq,
		      uint32_t uid_first, uint32_t uid_last, struct arena *a,
		      struct store_msg **out, size_t *n_out)
{
	if (!ST_OP(st, msg_changed) || !a || !out || !n_out)
		return ERR_INVAL;
	*out = NULL;
	*n_out = 0;
	return st->ops->msg_changed(st, mailbox_id, modseq, uid_first, uid_last, a, out, n_out);
}

int store_msg_extra(struct store *st, int64_t mailbox_id, uint32_t uid_first,
		    uint32_t uid_last, unsigned want, struct arena *a,
		    struct store_msg_extra **out, size_t *n_out, uint32_t *next_out)
{
	if (!ST_OP(st, msg_extra) || !a || !out || !n_out || !next_out ||
	    (want & ~(unsigned)(STORE_X_HEADER | STORE_X_PREVIEW | STORE_X_THREAD)))
		return ERR_INVAL;
	*out = NULL;
	*n_out = 0;
	*next_out = 0;
	return st->ops->msg_extra(st, mailbox_id, uid_first, uid_last, want, a, out, n_out,
				  next_out);
}

int store_msg_open(struct store *st, int64_t mailbox_id, uint32_t uid, int *fd_out,
		   uint64_t *size_out)
{
	if (!ST_OP(st, msg_open) || !fd_out)
		return ERR_INVAL;
	*fd_out = -1;
	return st->ops->msg_open(st, mailbox_id, uid, fd_out, size_out);
}

int store_msg_mime(struct store *st, int64_t mailbox_id, uint32_t uid, struct arena *a,
		   const void **blob_out, size_t *len_out)
{
	if (!ST_OP(st, msg_mime) || !a || !blob_out || !len_out)
		return ERR_INVAL;
	return st->ops->msg_mime(st, mailbox_id, uid, a, blob_out, len_out);
}

int store_flags(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		const struct store_flags_change *c, struct arena *a,
		struct store_flags_result *out)
{
	if (!ST_OP(st, flags) || (n && !uids) || !c || c->op < STORE_FLAGS_SET ||
	    c->op > STORE_FLAGS_REMOVE || c->flags > 0xff)
		return ERR_INVAL;
	struct store_flags_result ignored;
	if (!out)
		out = &ignored;
	memset(out, 0, sizeof(*out));
	return st->ops->flags(st, mailbox_id, uids, n, c, a, out);
}

int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		  uint64_t *modseq_out)
{
	if (!ST_OP(st, expunge) || (n && !uids))
		return ERR_INVAL;
	return st->ops->expunge(st, mailbox_id, uids, n, modseq_out);
}

int store_expunge_deleted(struct store *st, int64_t mailbox_id, const uint32_t *uids,
			  size_t n, struct arena *a, uint32_t **gone_out, size_t *n_gone_out,
			  uint64_t *modseq_out)
{
	if (!ST_OP(st, expunge_deleted) || (n && !uids) || !a || !gone_out || !n_gone_out)
		return ERR_INVAL;
	*gone_out = NULL;
	*n_gone_out = 0;
	return st->ops->expunge_deleted(st, mailbox_id, uids, n, a, gone_out, n_gone_out,
					modseq_out);
}

static int copy_or_move(struct store *st, int64_t from_mailbox, const uint32_t *uids,
			size_t n, int64_t to_mailbox, bool move, struct arena *a,
			struct store_copy_result *out)
{
	if (!ST_OP(st, copy) || (n && !uids) || !a || !out)
		return ERR_INVAL;
	for (size_t i = 1; i < n; i++)
		if (uids[i] <= uids[i - 1])
			return ERR_INVAL; /* a UID set's order; a repeat would copy twice */
	memset(out, 0, sizeof(*out));
	return st->ops->copy(st, from_mailbox, uids, n, to_mailbox, move, a, out);
}

int store_copy(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
	       int64_t to_mailbox, struct arena *a, struct store_copy_result *out)
{
	return copy_or_move(st, from_mailbox, uids, n, to_mailbox, false, a, out);
}

int store_move(struct store *st, int64_t from_mailbox, const uint32_t *uids, size_t n,
	       int64_t to_mailbox, struct arena *a, struct store_copy_result *out)
{
	return copy_or_move(st, from_mailbox, uids, n, to_mailbox, true, a, out);
}

int store_search(struct store *st, int64_t mailbox_id, enum store_search_field field,
		 const char *needle, struct arena *a, uint32_t **uids_out, size_t *n_out)
{
	if (!ST_OP(st, search) || !needle || !a || !uids_out || !n_out ||
	    field < STORE_SEARCH_SUBJECT || field > STORE_SEARCH_TEXT)
		return ERR_INVAL;
	size_t len = strnlen(needle, LIMIT_SEARCH_NEEDLE + 1);
	if (len > LIMIT_SEARCH_NEEDLE)
		return ERR_TOO_LONG;
	for (size_t i = 0; i < len;) {
		size_t l = str_utf8_seq(needle + i, len - i, NULL);
		if (l == 0)
			return ERR_INVAL;
		i += l;
	}
	*uids_out = NULL;
	*n_out = 0;
	return st->ops->search(st, mailbox_id, field, needle, a, uids_out, n_out);
}

int store_pop3_mark(struct store *st, int64_t mailbox_id, const uint32_t *uids, size_t n,
		    int64_t when)
{
	if (!ST_OP(st, pop3_mark) || (n && !uids) || when <= 0)
		return ERR_INVAL;
	return st->ops->pop3_mark(st, mailbox_id, uids, n, when);
}

/* A new message the wrappers accept: a path, a flag byte, a blob with its length, and
 * string lengths that match their pointers. */
static bool new_msg_ok(const struct store_new_msg *m)
{
	return m && m->path && m->flags <= 0xff && (!m->mime_len || m->mime) &&
	       (!m->header_len || m->header) && (!m->text_len || m->text);
}

int store_append(struct store *st, const char *mailbox, const struct store_new_msg *m,
		 uint32_t *uid_out)
{
	return store_append_multi(st, mailbox, &m, 1, NULL, uid_out);
}

int store_append_multi(struct store *st, const char *mailbox,
		       const struct store_new_msg *const *msgs, size_t n,
		       uint32_t *uidvalidity_out, uint32_t *uids_out)
{
	if (!ST_OP(st, append) || !mailbox || n == 0 || !msgs)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!new_msg_ok(msgs[i]))
			return ERR_INVAL;
	if (!store_mailbox_name_ok(mailbox))
		return ERR_NOTFOUND;
	return st->ops->append(st, mailbox, msgs, n, uidvalidity_out, uids_out);
}

int store_deliver_batch(struct store_env *env, const int64_t *account_ids,
			const struct store_new_msg *const *msgs, size_t n, int *results)
{
	if (!ENV_OP(env, deliver_batch) || (n && (!account_ids || !msgs || !results)))
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!new_msg_ok(msgs[i]))
			return ERR_INVAL;
	if (n == 0)
		return 0;
	return env->ops->deliver_batch(env, account_ids, msgs, n, results);
}

int store_quota_warned(struct store *st, int *get_out, int set)
{
	if (!ST_OP(st, quota_warned) || set < -1 || set > 1)
		return ERR_INVAL;
	return st->ops->quota_warned(st, get_out, set);
}

int store_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq,
			 uint32_t uid_first, uint32_t uid_last, struct arena *a,
			 uint32_t **uids_out, size_t *n_out, bool *complete_out)
{
	if (!ST_OP(st, expunged_since) || !a || !uids_out || !n_out)
		return ERR_INVAL;
	bool ignored;
	*uids_out = NULL;
	*n_out = 0;
	return st->ops->expunged_since(st, mailbox_id, modseq, uid_first, uid_last, a,
				       uids_out, n_out, complete_out ? complete_out : &ignored);
}

int store_expunged_prune(struct store *st, int64_t mailbox_id, int64_t older_than,
			 size_t keep)
{
	if (!ST_OP(st, expunged_prune))
		return ERR_INVAL;
	return st->ops->expunged_prune(st, mailbox_id, older_than, keep);
}

int store_check(struct store_env *env)
{
	if (!ENV_OP(env, check))
		return ERR_INVAL;
	return env->ops->check(env);
}
