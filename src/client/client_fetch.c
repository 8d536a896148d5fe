/* client_fetch.c: the protocol-independent half of kasten fetch (client_fetch.h): the
 * Maildir and journal, the recovery of an interrupted run, the delete decision and the
 * summary. Owns the in-memory copy of the journal rows (malloc, one per message of the
 * account the client has downloaded, at most LIMIT_CLIENT_POP3_MESSAGES plus this run's)
 * and the message being written. */
#include "client/client_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/banned.h"

static int fetch_fail(struct client_fetch *f, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fetch_fail(struct client_fetch *f, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	if (n < 0)
		f->err[0] = '\0';
	return rc;
}

static int fetch_state_fail(struct client_fetch *f, int rc)
{
	return fetch_fail(f, rc, "%s: %s", f->o->maildir, client_state_error(f->st));
}

/* A string into a field of cap bytes (the fields are sized for what goes in). */
static void fetch_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int fetch_cmp(const void *a, const void *b)
{
	const struct client_fetch_mem *x = a, *y = b;
	if (x->uidvalidity != y->uidvalidity)
		return x->uidvalidity < y->uidvalidity ? -1 : 1;
	return strcmp(x->uid, y->uid);
}

/* Room for one more row. */
static int fetch_grow(struct client_fetch *f)
{
	if (f->nrows < f->cap)
		return 0;
	if (f->nrows >= 2 * (size_t)LIMIT_CLIENT_POP3_MESSAGES)
		return fetch_fail(f, ERR_TOO_BIG, "%s: too many messages in the state",
				  f->o->maildir);
	size_t cap = f->cap ? f->cap * 2 : 256;
	struct client_fetch_mem *r = realloc(f->rows, cap * sizeof(*r));
	if (!r)
		return fetch_fail(f, ERR_NOMEM, "out of memory");
	f->rows = r;
	f->cap = cap;
	return 0;
}

/* A pending row met while loading: recovered after the listing ends, since the
 * listing's statement must not see its own table change under it. */
struct fetch_pending {
	uint32_t uidvalidity;
	char uid[LIMIT_CLIENT_POP3_UID + 1];
	char base[CLIENT_MAILDIR_NAME_MAX];
};

struct fetch_load {
	struct client_fetch *f;
	struct fetch_pending *pending;
	size_t npending, cap;
};

static int fetch_load_row(void *arg, const struct client_fetch_row *row)
{
	struct fetch_load *ld = arg;
	struct client_fetch *f = ld->f;
	if (row->state != CLIENT_FETCH_DONE) {
		if (ld->npending == ld->cap) {
			size_t cap = ld->cap ? ld->cap * 2 : 16;
			struct fetch_pending *p = realloc(ld->pending, cap * sizeof(*p));
			if (!p)
				return fetch_fail(f, ERR_NOMEM, "out of memory");
			ld->pending = p;
			ld->cap = cap;
		}
		struct fetch_pending *p = &ld->pending[ld->npending++];
		p->uidvalidity = row->uidvalidity;
		fetch_copy(p->uid, sizeof(p->uid), row->uid);
		fetch_copy(p->base, sizeof(p->base), row->base);
	}
	int rc = fetch_grow(f);
	if (rc < 0)
		return rc;
	struct client_fetch_mem *m = &f->rows[f->nrows];
	*m = (struct client_fetch_mem){.uidvalidity = row->uidvalidity,
				       .done = row->state == CLIENT_FETCH_DONE,
				       .first_seen = row->first_seen,
				       .size = row->size};
	fetch_copy(m->uid, sizeof(m->uid), row->uid);
	fetch_copy(m->base, sizeof(m->base), row->base);
	if (row->msgid[0] && !(m->msgid = strdup(row->msgid)))
		return fetch_fail(f, ERR_NOMEM, "out of memory");
	f->nrows++;
	return 0;
}

/* A row an earlier run left pending: its message is either in new/ or cur/ (the
 * rename happened before the crash: 'done') or at most in tmp/ (removed; the row goes
 * and the message is downloaded again). */
static int fetch_recover(struct client_fetch *f, const struct fetch_pending *p)
{
	struct client_fetch_key k = f->key;
	k.uidvalidity = p->uidvalidity;
	struct client_fetch_mem *m = client_fetch_find(f, p->uidvalidity, p->uid);
	char path[LIMIT_CLIENT_PATH + 1];
	unsigned flags;
	int rc;
	if (client_maildir_find(f->md, p->base, path, sizeof(path), &flags) == 0) {
		if (m)
			m->done = true;
		rc = client_state_fetch_set(f->st, &k, p->uid, CLIENT_FETCH_DONE);
	} else {
		int n = snprintf(path, sizeof(path), "%s/tmp/%s", client_maildir_path(f->md),
				 p->base);
		if (n > 0 && (size_t)n < sizeof(path) && unlink(path) < 0 && errno != ENOENT)
			return fetch_fail(f, ERR_IO, "cannot remove %s: %s", path, strerror(errno));
		if (m) {
			/* out of the sorted array: swap in its successors, keep the order */
			free(m->msgid);
			size_t i = (size_t)(m - f->rows);
			memmove(m, m + 1, (f->nrows - i - 1) * sizeof(*m));
			f->nrows--;
			f->nsorted--;
		}
		rc = client_state_fetch_delete(f->st, &k, p->uid);
	}
	return rc < 0 ? fetch_state_fail(f, rc) : 0;
}

int client_fetch_open(struct client_fetch *f, const struct client_opts *o, const char *proto)
{
	*f = (struct client_fetch){.o = o, .now = client_opts_now()};
	f->key = (struct client_fetch_key){.user = o->user, .proto = proto};
	client_progress_init(&f->progress);
	int rc = client_maildir_open(o->maildir, true, &f->md);
	if (rc < 0)
		return fetch_fail(f, rc, "cannot open the Maildir %s: %s", o->maildir,
				  err_str(rc));
	client_maildir_clean_tmp(f->md); /* what a run killed before its step 2 left */
	char err[LIMIT_CLIENT_ERROR];
	rc = client_state_open(o->maildir, &f->st, err, sizeof(err));
	if (rc < 0)
		return fetch_fail(f, rc, "%s: %s", o->maildir, err);
	/* one transaction: the recovery of every pending row is one commit */
	rc = client_state_begin(f->st);
	if (rc < 0)
		return fetch_state_fail(f, rc);
	struct fetch_load ld = {.f = f};
	rc = client_state_fetch_each(f->st, o->user, proto, fetch_load_row, &ld);
	if (rc == 0)
		client_fetch_sort(f);
	for (size_t i = 0; rc == 0 && i < ld.npending; i++)
		rc = fetch_recover(f, &ld.pending[i]);
	free(ld.pending);
	if (rc == 0)
		rc = client_state_commit(f->st);
	if (rc < 0) {
		client_state_rollback(f->st);
		return f->err[0] ? rc : fetch_state_fail(f, rc);
	}
	return 0;
}

void client_fetch_close(struct client_fetch *f)
{
	client_fetch_abort(f);
	/* what came whole before an error (a cut connection) is kept: the next run does
	 * not download it again. A local failure has left nothing staged. */
	if (f->st && f->md) {
		char first[sizeof(f->err)]; /* the error the user sees is the first one */
		memcpy(first, f->err, sizeof(first));
		if (client_fetch_flush(f) < 0 && f->in_tx) {
			f->in_tx = false;
			client_state_rollback(f->st);
		}
		if (first[0])
			memcpy(f->err, first, sizeof(first));
	}
	for (size_t i = 0; i < f->nrows; i++)
		free(f->rows[i].msgid);
	free(f->rows);
	f->rows = NULL;
	f->nrows = f->cap = 0;
	client_state_close(&f->st);
	client_maildir_close(&f->md);
	client_progress_end(&f->progress);
}

void client_fetch_sort(struct client_fetch *f)
{
	if (f->nrows)
		qsort(f->rows, f->nrows, sizeof(*f->rows), fetch_cmp);
	f->nsorted = f->nrows;
}

struct client_fetch_mem *client_fetch_find(struct client_fetch *f, uint32_t uidvalidity,
					   const char *uid)
{
	struct client_fetch_mem key = {.uidvalidity = uidvalidity};
	if (strlen(uid) >= sizeof(key.uid))
		return NULL;
	fetch_copy(key.uid, sizeof(key.uid), uid);
	/* rows added since the last sort sit after the sorted ones */
	struct client_fetch_mem *r =
		f->nsorted ? bsearch(&key, f->rows, f->nsorted, sizeof(*f->rows), fetch_cmp) : NULL;
	for (size_t i = f->nsorted; !r && i < f->nrows; i++)
		if (!fetch_cmp(&key, &f->rows[i]))
			r = &f->rows[i];
	return r;
}

static int fetch_tx_begin(struct client_fetch *f)
{
	if (f->in_tx)
		return 0;
	int rc = client_state_begin(f->st);
	if (rc < 0)
		return fetch_state_fail(f, rc);
	f->in_tx = true;
	return 0;
}

static int fetch_tx_commit(struct client_fetch *f)
{
	if (!f->in_tx)
		return 0;
	f->in_tx = false;
	int rc = client_state_commit(f->st);
	if (rc < 0) {
		client_state_rollback(f->st);
		return fetch_state_fail(f, rc);
	}
	return 0;
}

/* Steps 2-4 of the journal protocol (client_fetch.h) for the staged batch. */
static int fetch_sync_batch(struct client_fetch *f)
{
	if (client_maildir_nstaged(f->md) == 0)
		return 0;
	int rc = fetch_tx_commit(f); /* step 2: the 'pending' rows on disk */
	if (rc < 0) {
		client_maildir_abort_staged(f->md);
		return rc;
	}
	rc = client_maildir_commit_staged(f->md); /* step 3 */
	if (rc < 0)
		return fetch_fail(f, rc, "cannot store messages in %s: %s", f->o->maildir,
				  err_str(rc));
	rc = fetch_tx_begin(f); /* step 4, committed with the next batch's step 2 */
	for (size_t i = f->batch_first; rc == 0 && i < f->nrows; i++) {
		struct client_fetch_mem *m = &f->rows[i];
		if (!m->this_run || m->done)
			continue;
		struct client_fetch_key k = f->key;
		k.uidvalidity = m->uidvalidity;
		rc = client_state_fetch_set(f->st, &k, m->uid, CLIENT_FETCH_DONE);
		if (rc < 0)
			return fetch_state_fail(f, rc);
		m->done = true;
	}
	f->batch_first = f->nrows;
	return rc;
}

int client_fetch_flush(struct client_fetch *f)
{
	int rc = fetch_sync_batch(f);
	if (rc == 0)
		rc = fetch_tx_commit(f);
	return rc;
}

int client_fetch_begin(struct client_fetch *f)
{
	if (f->msg)
		return fetch_fail(f, ERR_INVAL, "internal error: two messages at once");
	int rc = client_maildir_begin(f->md, &f->msg, f->msg_base);
	if (rc < 0)
		return fetch_fail(f, rc, "cannot write into %s: %s", f->o->maildir, err_str(rc));
	return 0;
}

int client_fetch_write(void *arg, const void *p, size_t n)
{
	struct client_fetch *f = arg;
	int rc = client_maildir_write(f->msg, p, n);
	if (rc < 0)
		return fetch_fail(f, rc, "cannot write into %s: %s", f->o->maildir, err_str(rc));
	return 0;
}

int client_fetch_commit(struct client_fetch *f, const char *uid, const char *msgid,
			uint64_t size)
{
	int rc = fetch_grow(f);
	if (rc == 0)
		rc = fetch_tx_begin(f);
	if (rc < 0) {
		client_maildir_abort(&f->msg);
		return rc;
	}
	rc = client_maildir_stage(&f->msg, 0, false, 0);
	if (rc < 0)
		return fetch_fail(f, rc, "cannot store a message in %s: %s", f->o->maildir,
				  err_str(rc));
	/* step 1: the row joins the open transaction */
	struct client_fetch_row row = {.state = CLIENT_FETCH_PENDING,
				       .first_seen = f->now,
				       .uidvalidity = f->key.uidvalidity,
				       .size = size};
	fetch_copy(row.uid, sizeof(row.uid), uid);
	fetch_copy(row.base, sizeof(row.base), f->msg_base);
	fetch_copy(row.msgid, sizeof(row.msgid), msgid ? msgid : "");
	rc = client_state_fetch_put(f->st, &f->key, &row);
	if (rc < 0)
		return fetch_state_fail(f, rc);
	struct client_fetch_mem *m = &f->rows[f->nrows++]; /* fetch_grow made room */
	*m = (struct client_fetch_mem){.uidvalidity = row.uidvalidity,
				       .this_run = true,
				       .first_seen = row.first_seen,
				       .size = row.size};
	fetch_copy(m->uid, sizeof(m->uid), row.uid);
	fetch_copy(m->base, sizeof(m->base), row.base);
	/* kept for a later UIDVALIDITY change; without memory it is only not matched */
	m->msgid = row.msgid[0] ? strdup(row.msgid) : NULL;
	f->downloaded++;
	return client_maildir_batch_full(f->md) ? fetch_sync_batch(f) : 0;
}

void client_fetch_abort(struct client_fetch *f)
{
	/* the pending row stays: the next run removes what tmp/ may hold and starts over */
	client_maildir_abort(&f->msg);
}

bool client_fetch_should_delete(const struct client_fetch *f,
				const struct client_fetch_mem *row)
{
	if (!row || !row->done || f->o->keep)
		return false;
	if (f->o->keep_days < 0)
		return true;
	return !row->this_run && row->first_seen + (int64_t)f->o->keep_days * 86400 <= f->now;
}

int client_fetch_forget(struct client_fetch *f, struct client_fetch_mem *row)
{
	struct client_fetch_key k = f->key;
	k.uidvalidity = row->uidvalidity;
	int rc = client_state_fetch_delete(f->st, &k, row->uid);
	return rc < 0 ? fetch_state_fail(f, rc) : 0;
}

int client_fetch_rekey(struct client_fetch *f, const struct client_fetch_mem *old_row,
		       const char *uid)
{
	struct client_fetch_mem copy = *old_row, *old = &copy; /* fetch_grow may move it */
	struct client_fetch_row row = {.state = old->done ? CLIENT_FETCH_DONE
							  : CLIENT_FETCH_PENDING,
				       .first_seen = old->first_seen,
				       .uidvalidity = f->key.uidvalidity,
				       .size = old->size};
	fetch_copy(row.uid, sizeof(row.uid), uid);
	fetch_copy(row.base, sizeof(row.base), old->base);
	fetch_copy(row.msgid, sizeof(row.msgid), old->msgid ? old->msgid : "");
	int rc = fetch_grow(f);
	if (rc < 0)
		return rc;
	rc = client_state_fetch_put(f->st, &f->key, &row);
	if (rc < 0)
		return fetch_state_fail(f, rc);
	struct client_fetch_mem *m = &f->rows[f->nrows++];
	*m = *old;
	m->uidvalidity = f->key.uidvalidity;
	m->msgid = old->msgid ? strdup(old->msgid) : NULL;
	fetch_copy(m->uid, sizeof(m->uid), uid);
	return 0;
}

void client_fetch_summary(const struct client_fetch *f)
{
	printf("kasten fetch: %llu message%s downloaded, %llu deleted on the server, %llu kept "
	       "there\n",
	       (unsigned long long)f->downloaded, f->downloaded == 1 ? "" : "s",
	       (unsigned long long)f->deleted, (unsigned long long)f->kept);
}
