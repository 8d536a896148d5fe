/* sqs_subs.c: the subscriptions of one account, a set of names in `subscriptions`
 * (schema version 3) apart from the mailboxes: add and remove one name, list them all,
 * and rename the names of a renamed mailbox tree inside its transaction. Names are
 * stored canonical ("INBOX" upper case as the first level, sqs_mb_canon), so "inbox"
 * and "INBOX" are one subscription. A change of an existing mailbox's subscription
 * takes a modseq of the account (not of the mailbox: it is no content IMAP CONDSTORE
 * reports) so that JMAP's Mailbox/changes lists the mailbox as updated (isSubscribed);
 * every change is published, so JMAP and webmail sessions look again.
 * Limits: LIMIT_SUBSCRIPTIONS names, each at most LIMIT_MAILBOX_NAME bytes. */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define NAME_CAP (LIMIT_MAILBOX_NAME + 1)

static struct sqs_db *H(struct store *st)
{
	return ((struct sqs_store *)st)->h;
}

/* Run a one-name statement (Q_SUB_INSERT, Q_SUB_DELETE); *changed_out: a row went in or
 * out. */
static int one_name(struct sqs_db *h, enum sqs_stmt which, const char *name, bool *changed_out)
{
	sqlite3_stmt *q = sqs_q(h, which);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int r = sqs_exec(h, q);
	if (r == 0 && changed_out)
		*changed_out = sqlite3_changes(h->db) > 0;
	return r;
}

/* The mailbox named canon, if it exists, changed at a new account modseq (*out; 0 when
 * there is no such mailbox: a subscription to a name only). */
static int touch_mailbox(struct sqs_db *h, const char *canon, uint64_t *out)
{
	uint64_t m;
	struct sqs_mb mb;
	int r = sqs_mb_find(h, canon, &mb);
	if (r == ERR_NOTFOUND)
		return 0;
	if (r == 0)
		r = sqs_modseq_next(h, &m);
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_SUB_MB_TOUCH) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	if (r < 0)
		return r;
	sqlite3_bind_int64(q, 1, mb.id);
	sqlite3_bind_int64(q, 2, (int64_t)m);
	r = sqs_exec(h, q);
	if (r == 0)
		*out = m;
	return r;
}

int sqs_sub_add(struct sqs_db *h, const char *name)
{
	return one_name(h, Q_SUB_INSERT, name, NULL);
}

int sqs_subscription_set(struct store *st, const char *name, bool on)
{
	struct sqs_db *h = H(st);
	char canon[NAME_CAP];
	sqs_mb_canon(name, canon, sizeof(canon));
	int r = sqs_begin(h, true);
	if (r < 0)
		return r;
	bool changed = false;
	if (on) {
		/* counted inside the write transaction: two sessions cannot both take the
		 * last place */
		int64_t n = 0;
		r = sqs_int(h, sqs_q(h, Q_SUB_COUNT), 0, &n);
		if (r == 0)
			r = one_name(h, Q_SUB_INSERT, canon, &changed);
		if (r == 0 && changed && n >= LIMIT_SUBSCRIPTIONS)
			r = ERR_FULL; /* a new name past the bound: rolled back */
	} else {
		r = one_name(h, Q_SUB_DELETE, canon, &changed);
	}
	uint64_t modseq = 0;
	if (r == 0 && changed)
		r = touch_mailbox(h, canon, &modseq);
	if (r == 0 && changed)
		r = sqs_commit(h);
	else
		sqs_rollback(h); /* an error, or nothing to write */
	if (r == 0 && changed)
		store_notify(st->env, st->account_id, 0, STORE_CH_MAILBOX, modseq);
	return r;
}

int sqs_subscription_list(struct store *st, struct arena *a, const char ***names_out,
			  size_t *n_out)
{
	struct sqs_db *h = H(st);
	int r = sqs_begin(h, false);
	if (r < 0)
		return r;
	int64_t n = 0;
	size_t i = 0;
	r = sqs_int(h, sqs_q(h, Q_SUB_COUNT), 0, &n);
	const char **v = NULL;
	if (r == 0 && n > 0 && !(v = arena_alloc(a, (size_t)n * sizeof(*v))))
		r = ERR_NOMEM;
	sqlite3_stmt *q = r == 0 && n > 0 ? sqs_q(h, Q_SUB_LIST) : NULL;
	if (r == 0 && n > 0 && !q)
		r = ERR_IO;
	if (q) {
		int rc = SQLITE_DONE;
		while (r == 0 && i < (size_t)n && (rc = sqs_step(h, q)) == SQLITE_ROW)
			if (!(v[i++] = arena_strdup(a, (const char *)sqlite3_column_text(q, 0))))
				r = ERR_NOMEM;
		if (r == 0 && i < (size_t)n) /* never a silently short list */
			r = sqs_done(rc) ? sqs_done(rc) : ERR_IO;
		sqlite3_reset(q);
	}
	sqs_rollback(h); /* read-only: nothing to commit */
	if (r < 0)
		return r;
	*names_out = v;
	*n_out = i;
	return 0;
}

/* The subscribed names of the tree below (and at) from, malloc'ed one block each. */
static int tree_names(struct sqs_db *h, const char *from, char (**out)[NAME_CAP],
		      size_t *n_out)
{
	char(*v)[NAME_CAP] = NULL;
	size_t n = 0, cap = 0;
	int r = 0, rc = SQLITE_DONE;
	sqlite3_stmt *q = sqs_q(h, Q_SUB_TREE);
	if (!q)
		return ERR_IO;
	sqlite3_bind_text(q, 1, from, -1, SQLITE_STATIC);
	while ((rc = sqs_step(h, q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		size_t len = strlen(name);
		if (len >= NAME_CAP) /* written through sqs_subscription_set only */
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			char(*nv)[NAME_CAP] = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = ERR_NOMEM;
				break;
			}
			v = nv;
		}
		memcpy(v[n++], name, len + 1);
	}
	if (r == 0)
		r = sqs_done(rc);
	sqlite3_reset(q);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	*n_out = n;
	return 0;
}

int sqs_sub_rename(struct sqs_db *h, const char *from, const char *to)
{
	char(*v)[NAME_CAP] = NULL;
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	int r = tree_names(h, from, &v, &n);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (tl + strlen(v[i]) - fl > LIMIT_MAILBOX_NAME)
			r = ERR_TOO_LONG; /* never rename half a tree */
	/* all old names out before any new one goes in: a new name may be an old one
	 * ("a" -> "a/b" with "a/b" subscribed) or one subscribed already (kept once) */
	for (size_t i = 0; r == 0 && i < n; i++)
		r = one_name(h, Q_SUB_DELETE, v[i], NULL);
	char name[NAME_CAP];
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t rest = strlen(v[i]) - fl;
		memcpy(name, to, tl);
		memcpy(name + tl, v[i] + fl, rest + 1);
		r = one_name(h, Q_SUB_INSERT, name, NULL);
	}
	free(v);
	return r;
}
