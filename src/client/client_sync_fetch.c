/* client_sync_fetch.c: the batched downloads of kasten sync: the engine (sync_fetch_run)
 * and a folder's DOWNLOAD actions on it (sync_download); --headers-first's bodies use
 * the engine too (client_sync_body.c). Every wanted UID goes out in as few UID FETCH
 * commands as LIMIT_CLIENT_SYNC_UIDSET allows, and while the server streams, each
 * response's body becomes a file in tmp/ (client_maildir_stage: no flush yet) whose row
 * the caller writes inside one open state transaction. A batch ends when the Maildir
 * says so (client_maildir_batch_full: LIMIT_CLIENT_MAILDIR_BATCH messages or _BYTES) or
 * when the downloads end; then, in this order:
 *   1. the transaction commits: every staged message's row, with its base name, is
 *      durable before any of the files can be seen;
 *   2. client_maildir_commit_staged: the files flushed, the renames into new/ or cur/,
 *      one fsync per directory;
 *   3. a new transaction opens and the caller completes the rows (the files are in
 *      place); it commits with the next batch's step 1, or at the end.
 * A kill -9 before 1 leaves files in tmp/ only (never read; client_maildir_clean_tmp
 * removes them) and rows as they were; between 1 and 3 rows that name files which are
 * either in place (the next pass completes the row) or not (it downloads again); never
 * a file without a row that knows it. Holds one batch's entries (at most
 * LIMIT_CLIENT_MAILDIR_BATCH, with their digests' results), the message being written
 * and the sorted list of wanted UIDs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_digest.h"
#include "client/client_sync_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

/* One staged message of the current batch. */
struct fetch_entry {
	size_t want;
	char base[CLIENT_MAILDIR_NAME_MAX];
	char sha[CLIENT_DIGEST_HEX];
	char msgid[LIMIT_MSGID + 3];
	uint64_t size;
	time_t date;
};

/* A wanted UID and its index in the caller's order. */
struct fetch_want {
	uint32_t uid;
	size_t i;
};

struct fetch_ctx {
	struct sync_fetch *sf;
	struct fetch_want *wants; /* sorted by UID */
	size_t nwants, ndone;
	struct fetch_entry *batch; /* LIMIT_CLIENT_MAILDIR_BATCH */
	size_t nbatch;
	bool in_tx;
	/* the message being written: from its body's offset 0 to its response's end */
	struct client_maildir_msg *m;
	struct client_digest d;
	char base[CLIENT_MAILDIR_NAME_MAX];
	uint32_t seq;
	int err; /* the first local failure (a write, the state) */
};

static int fetch_want_cmp(const void *a, const void *b)
{
	const struct fetch_want *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int fetch_fail(struct fetch_ctx *c, int e, const char *what)
{
	struct sync_run *r = c->sf->r;
	if (c->err)
		return e;
	c->err = e;
	/* a callback that failed may have said why already */
	if (what)
		(void)sync_fail(r, e, "cannot write into %s: %s", client_maildir_path(c->sf->md),
				err_str(e));
	else if (!r->error[0])
		(void)sync_fail(r, e, "%s", client_sync_state_error(r->st));
	return e;
}

static int fetch_tx(struct fetch_ctx *c, bool want)
{
	if (c->in_tx == want)
		return 0;
	struct client_sync_state *st = c->sf->r->st;
	int e = want ? client_sync_state_begin(st) : client_sync_state_commit(st);
	if (e)
		return fetch_fail(c, e, NULL);
	c->in_tx = want;
	return 0;
}

static void fetch_drop_current(struct fetch_ctx *c)
{
	if (!c->m)
		return;
	client_maildir_abort(&c->m);
	client_digest_free(&c->d);
}

/* Steps 1-3 for the batch staged so far (none: nothing to do). */
static int fetch_flush(struct fetch_ctx *c)
{
	struct sync_fetch *sf = c->sf;
	if (!c->nbatch)
		return 0;
	int e = fetch_tx(c, false);
	if (e) {
		/* the rows may not be durable: their files must not appear */
		client_maildir_abort_staged(sf->md);
		c->nbatch = 0;
		return e;
	}
	e = client_maildir_commit_staged(sf->md);
	if (e) {
		/* the ones renamed before the failure are in place; their rows say
		 * "fetching" with the name: the next pass completes or downloads them */
		c->nbatch = 0;
		return fetch_fail(c, e, "write");
	}
	e = fetch_tx(c, true);
	for (size_t k = 0; !e && k < c->nbatch; k++) {
		const struct fetch_entry *en = &c->batch[k];
		struct sync_fetch_got g = {.base = en->base, .sha256 = en->sha, .msgid = en->msgid,
					   .size = en->size, .date = en->date};
		e = sf->placed(sf->arg, en->want, &g);
	}
	if (!e && sf->settle)
		e = sf->settle(sf->arg);
	c->nbatch = 0;
	return e ? fetch_fail(c, e, NULL) : 0;
}

static int fetch_body(void *arg, uint32_t seq, uint64_t off, uint64_t total, const void *p,
		      size_t n)
{
	struct fetch_ctx *c = arg;
	if (off == 0) {
		fetch_drop_current(c); /* a body whose response never ended: not kept */
		int e = client_digest_init(&c->d);
		if (e)
			return fetch_fail(c, e, "write");
		e = client_maildir_begin(c->sf->md, &c->m, c->base);
		if (e) {
			client_digest_free(&c->d);
			return fetch_fail(c, e, "write");
		}
		c->seq = seq;
	}
	if (!c->m || seq != c->seq || !n)
		return 0;
	client_digest_update(&c->d, p, n);
	int e = client_maildir_write(c->m, p, n);
	return e ? fetch_fail(c, e, "write") : 0;
}

/* The message being written ends as a file in tmp/ and joins the batch. */
static int fetch_stage(struct fetch_ctx *c, const struct fetch_want *w, time_t date)
{
	struct sync_fetch *sf = c->sf;
	unsigned flags = 0;
	bool cur = false;
	time_t mtime = date;
	int e = sf->place(sf->arg, w->i, date, &flags, &cur, &mtime);
	if (e > 0) {
		fetch_drop_current(c);
		sf->outcome[w->i] = SYNC_FETCH_SKIPPED;
		return 0;
	}
	if (e < 0) {
		fetch_drop_current(c);
		return fetch_fail(c, e, NULL);
	}
	/* a full batch is made durable before this message joins the next one; what the
	 * server keeps sending waits in the socket meanwhile */
	if (client_maildir_batch_full(sf->md) && (e = fetch_flush(c))) {
		fetch_drop_current(c);
		return e;
	}
	struct fetch_entry *en = &c->batch[c->nbatch];
	e = client_maildir_stage(&c->m, flags, cur, mtime);
	if (e) {
		client_digest_free(&c->d);
		return fetch_fail(c, e, "write");
	}
	en->want = w->i;
	en->date = date;
	e = client_digest_final(&c->d, en->sha, &en->size, en->msgid, sizeof(en->msgid));
	if (e)
		return fetch_fail(c, e, "write");
	memcpy(en->base, c->base, sizeof(en->base));
	c->nbatch++;
	sf->outcome[w->i] = SYNC_FETCH_DONE;
	struct sync_fetch_got g = {.base = en->base, .sha256 = en->sha, .msgid = en->msgid,
				   .size = en->size, .date = date};
	e = sf->record(sf->arg, w->i, &g);
	if (e)
		return fetch_fail(c, e, NULL);
	c->ndone++;
	if (sf->r->opts->progress)
		sf->r->opts->progress(sf->r->opts->progress_arg, sf->folder,
				      sf->progress_base + c->ndone, sf->progress_total);
	return 0;
}

static const struct fetch_want *fetch_find(const struct fetch_ctx *c, uint32_t uid)
{
	struct fetch_want key = {.uid = uid};
	return uid ? bsearch(&key, c->wants, c->nwants, sizeof(*c->wants), fetch_want_cmp)
		   : NULL;
}

/* BODY.PEEK[HEADER] comes whole with the response's end (ft->header), unless it is longer
 * than LIMIT_CLIENT_IMAP_HOLD: then the caller fetches that message whole. */
static int fetch_got_header(struct fetch_ctx *c, const struct client_imap_fetch *ft)
{
	struct sync_fetch *sf = c->sf;
	if (!ft->header && !ft->header_len)
		return 0; /* no header item: a flag update, or NIL */
	const struct fetch_want *w = fetch_find(c, ft->uid);
	if (!w || sf->outcome[w->i] != SYNC_FETCH_MISSING)
		return 0;
	if (!ft->header) {
		sf->outcome[w->i] = SYNC_FETCH_TOO_LONG;
		return 0;
	}
	int e = fetch_body(c, ft->seq, 0, ft->header_len, ft->header, ft->header_len);
	return e ? e : fetch_stage(c, w, ft->internaldate);
}

/* The end of a FETCH response: the body written since its offset 0 is the message of
 * the UID it names (servers need not send UID before BODY[]), kept if that is a UID
 * wanted and not already kept; anything else (a flag update) is not a message. */
static int fetch_got(void *arg, const struct client_imap_fetch *ft)
{
	struct fetch_ctx *c = arg;
	if (c->sf->header_only)
		return fetch_got_header(c, ft);
	if (!c->m)
		return 0;
	const struct fetch_want *w = ft->has_body && ft->seq == c->seq ? fetch_find(c, ft->uid)
								       : NULL;
	if (!w || c->sf->outcome[w->i] != SYNC_FETCH_MISSING) {
		fetch_drop_current(c);
		return 0;
	}
	return fetch_stage(c, w, ft->internaldate);
}

int sync_fetch_run(struct sync_fetch *sf, const uint32_t *uids, size_t n)
{
	struct sync_run *r = sf->r;
	memset(sf->outcome, SYNC_FETCH_MISSING, n);
	if (!n)
		return 0;
	struct fetch_ctx c = {.sf = sf, .nwants = n};
	c.wants = malloc(n * sizeof(*c.wants));
	uint32_t *sorted = malloc(n * sizeof(*sorted));
	c.batch = malloc(LIMIT_CLIENT_MAILDIR_BATCH * sizeof(*c.batch));
	if (!c.wants || !sorted || !c.batch) {
		free(c.wants);
		free(sorted);
		free(c.batch);
		return sync_fail(r, ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		c.wants[i] = (struct fetch_want){.uid = uids[i], .i = i};
	qsort(c.wants, n, sizeof(*c.wants), fetch_want_cmp);
	for (size_t i = 0; i < n; i++)
		sorted[i] = c.wants[i].uid;
	int e = fetch_tx(&c, true);
	struct client_imap_events ev = {.arg = &c, .body = fetch_body, .fetch = fetch_got};
	client_imap_set_events(r->imap, &ev);
	for (size_t at = 0; !e && at < n;) {
		char set[LIMIT_CLIENT_SYNC_UIDSET];
		size_t used = 0;
		e = client_imap_uidset(sorted + at, n - at, set, sizeof(set), &used);
		if (!e)
			e = client_imap_uid_fetch(r->imap, set, sf->items, 0, false);
		fetch_drop_current(&c); /* a message cut off by an error */
		if (e && !c.err)
			e = sync_fail(r, e, "UID FETCH in %.200s: %s", sf->folder,
				      client_imap_error(r->imap));
		at += used;
	}
	client_imap_set_events(r->imap, NULL);
	/* what came whole is made durable whatever ended the run (a cut connection) */
	int fe = fetch_flush(&c);
	int te = fetch_tx(&c, false);
	free(c.wants);
	free(sorted);
	free(c.batch);
	return e ? e : fe ? fe : te;
}

/* ---- the DOWNLOAD actions of a folder's plan ---- */

struct fetch_dl {
	struct sync_run *r;
	struct sync_folder *f;
	struct client_maildir *md;
	const struct client_sync_action **acts; /* per wanted UID */
	int64_t *ids;                           /* its row, once recorded */
	bool headers;
};

static int fetch_dl_place(void *arg, size_t i, time_t date, unsigned *flags_out,
			  bool *cur_out, time_t *mtime_out)
{
	struct fetch_dl *dl = arg;
	*flags_out = dl->acts[i]->flags;
	*cur_out = dl->acts[i]->flags != 0;
	return 0;
}

/* The row of download i as the state keeps it: fetching until its file is in place. */
static int fetch_dl_row(struct fetch_dl *dl, size_t i, const struct sync_fetch_got *g,
			bool fetching)
{
	const struct client_sync_action *act = dl->acts[i];
	const struct client_sync_folder *v = &dl->f->view;
	const struct client_sync_remote *rm = &v->remote[act->remote];
	struct client_sync_row row = {.id = -1, .msgid = rm->msgid, .size = rm->size};
	if (act->row != CLIENT_SYNC_NONE)
		row = v->rows[act->row];
	row.uid = rm->uid;
	row.base = g->base;
	row.flags = act->flags;
	row.keywords = rm->keywords;
	row.fetching = fetching;
	row.deleting = false;
	row.partial = dl->headers;
	row.body_base = "";
	row.sha256 = dl->headers ? "" : g->sha256; /* of the whole message only */
	if (g->msgid[0])
		row.msgid = g->msgid;
	if (!row.size && !dl->headers)
		row.size = g->size;
	if (!fetching || act->row != CLIENT_SYNC_NONE) {
		row.id = act->row != CLIENT_SYNC_NONE ? row.id : dl->ids[i];
		return client_sync_state_row_put(dl->r->st, &row);
	}
	return client_sync_state_row_add(dl->r->st, v->name, &row, &dl->ids[i]);
}

static int fetch_dl_record(void *arg, size_t i, const struct sync_fetch_got *g)
{
	return fetch_dl_row(arg, i, g, true);
}

static int fetch_dl_placed(void *arg, size_t i, const struct sync_fetch_got *g)
{
	struct fetch_dl *dl = arg;
	dl->r->stats.downloaded += !dl->headers;
	dl->r->stats.headers += dl->headers;
	return fetch_dl_row(dl, i, g, false);
}

/* One sync_fetch_run over acts[0..n); *n_long_out: how many came back too long for a
 * header-only download (moved to the front of acts for a whole-message run). */
static int fetch_dl_run(struct fetch_dl *dl, size_t n, size_t done_before, size_t total,
			size_t *n_long_out, struct arena *a)
{
	struct sync_run *r = dl->r;
	const struct client_sync_folder *v = &dl->f->view;
	uint32_t *uids = arena_alloc(a, (n + 1) * sizeof(*uids));
	uint8_t *outcome = arena_alloc(a, n + 1);
	if (!uids || !outcome)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		uids[i] = v->remote[dl->acts[i]->remote].uid;
		dl->ids[i] = -1;
	}
	struct sync_fetch sf = {
		.r = r, .md = dl->md, .folder = v->name, .header_only = dl->headers,
		.items = dl->headers ? "(UID INTERNALDATE BODY.PEEK[HEADER])"
				     : "(UID INTERNALDATE BODY.PEEK[])",
		.progress_base = done_before, .progress_total = total, .place = fetch_dl_place,
		.record = fetch_dl_record, .placed = fetch_dl_placed, .arg = dl, .outcome = outcome};
	int e = sync_fetch_run(&sf, uids, n);
	size_t nlong = 0;
	for (size_t i = 0; i < n; i++) {
		const struct client_sync_action *act = dl->acts[i];
		if (outcome[i] == SYNC_FETCH_TOO_LONG)
			dl->acts[nlong++] = act;
		/* gone from the server meanwhile: the row goes, the next pass sees what is
		 * there (after an error the row stays as it was, to be planned again) */
		else if (!e && outcome[i] == SYNC_FETCH_MISSING && act->row != CLIENT_SYNC_NONE &&
			 client_sync_state_row_drop(r->st, v->rows[act->row].id))
			e = sync_fail(r, ERR_IO, "%s", client_sync_state_error(r->st));
	}
	*n_long_out = nlong;
	return e;
}

int sync_download(struct sync_run *r, struct sync_folder *f, struct client_maildir *md,
		  const struct client_sync_plan *p, struct arena *a)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nacts; i++)
		n += p->acts[i].kind == CLIENT_SYNC_DOWNLOAD;
	if (!n)
		return 0;
	struct fetch_dl dl = {.r = r, .f = f, .md = md, .headers = r->opts->headers_first};
	dl.acts = arena_alloc(a, n * sizeof(*dl.acts));
	dl.ids = arena_alloc(a, n * sizeof(*dl.ids));
	if (!dl.acts || !dl.ids)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	n = 0;
	for (size_t i = 0; i < p->nacts; i++)
		if (p->acts[i].kind == CLIENT_SYNC_DOWNLOAD)
			dl.acts[n++] = &p->acts[i];
	/* what a run killed between its writes and its commit left in tmp/ */
	client_maildir_clean_tmp(md);
	size_t nlong = 0;
	int e = fetch_dl_run(&dl, n, p->nacts - n, p->nacts, &nlong, a);
	if (!e && nlong) {
		/* headers too long to hold: those messages whole at once instead */
		dl.headers = false;
		e = fetch_dl_run(&dl, nlong, p->nacts - nlong, p->nacts, &nlong, a);
	}
	return e;
}
