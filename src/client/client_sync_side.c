/* client_sync_side.c: reading the two sides of one folder for kasten sync. Locally:
 * every file of the folder's Maildir with its flags (client_maildir_each: the names
 * alone), a stat only for a file its rows do not have with those flags; or nothing at
 * all when the folder's local record shows its directories unchanged since a listing
 * that found exactly its rows (sync_local_trust; sync_local_settle keeps such records).
 * On the server: SELECT, with QRESYNC (RFC 7162 3.2.5) when the state has a
 * UIDVALIDITY and HIGHESTMODSEQ, so that a pass without changes transfers only what
 * changed; otherwise UID FETCH 1:* (UID FLAGS), a few dozen bytes a message. Message-ID
 * and size are fetched only for UIDs the state does not know. Everything read lands in
 * the pass's arena. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "client/client_digest.h"
#include "client/client_sync_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

int sync_server_name(const struct sync_run *r, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	if (n >= cap || n > LIMIT_MAILBOX_NAME)
		return ERR_TOO_LONG;
	for (size_t i = 0; i <= n; i++)
		out[i] = name[i] == '/' ? r->delim : name[i];
	return 0;
}

/* ---- local ---- */

/* Grow an arena array to hold one more (arenas do not realloc: double and copy). */
static void *side_grow(struct arena *a, void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? 2 * *cap : 64;
	void *w = arena_alloc(a, ncap * size);
	if (w && n)
		memcpy(w, v, n * size);
	if (w)
		*cap = ncap;
	return w;
}

/* The rows by base name, for matching a listing against them. */
struct side_row {
	const char *base;
	unsigned flags;
	size_t idx;  /* into the rows */
	bool clean;  /* settled: a UID, a file, nothing pending (no download, deletion, move,
		      * header-only file or body being put in place) */
};

struct side_rows {
	struct side_row *v;
	size_t n;
	bool all_clean; /* every row is one, and has a base name */
};

static int side_row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct side_row *)a)->base, ((const struct side_row *)b)->base);
}

static int side_rows_index(struct side_rows *x, const struct client_sync_row *rows,
			   const char **moving, size_t nrows, struct arena *a)
{
	x->v = arena_alloc(a, (nrows + 1) * sizeof(*x->v));
	if (!x->v)
		return ERR_NOMEM;
	x->n = 0;
	x->all_clean = true;
	for (size_t i = 0; i < nrows; i++) {
		const struct client_sync_row *row = &rows[i];
		bool clean = row->uid && row->base[0] && !row->deleting && !row->fetching &&
			     !row->partial && (!row->body_base || !row->body_base[0]) &&
			     (!moving || !moving[i][0]);
		x->all_clean &= clean;
		if (row->base[0])
			x->v[x->n++] = (struct side_row){row->base, row->flags, i, clean};
	}
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), side_row_cmp);
	return 0;
}

static struct side_row *side_rows_find(const struct side_rows *x, const char *base)
{
	struct side_row key = {.base = base};
	return x->n ? bsearch(&key, x->v, x->n, sizeof(*x->v), side_row_cmp) : NULL;
}

/* A listing that began at at_ns, of directories last changed as stamp says, holds for
 * any later look at the same stamp only if it began LIMIT_CLIENT_SYNC_DIR_QUIET seconds
 * after their last change: a change after it then carries a newer mtime even on a file
 * system of whole seconds or a clock of coarse ticks. */
static bool side_quiet(const struct client_maildir_stamp *s, int64_t at_ns)
{
	int64_t last = s->new_ns > s->cur_ns ? s->new_ns : s->cur_ns;
	return at_ns - last >= (int64_t)LIMIT_CLIENT_SYNC_DIR_QUIET * 1000000000;
}

static bool side_stamp_eq(const struct client_maildir_stamp *a,
			  const struct client_maildir_stamp *b)
{
	return a->new_ns == b->new_ns && a->cur_ns == b->cur_ns && a->new_ino == b->new_ino &&
	       a->cur_ino == b->cur_ino;
}

static int64_t side_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct side_local {
	struct client_maildir *md;
	struct arena *a;
	const struct side_rows *rows;
	bool *found;     /* per row: its file is listed */
	struct client_sync_local *v;
	const char **paths; /* NULL where no stat was taken */
	time_t *mtimes;
	size_t n, cap;
	size_t same;     /* files whose clean row has their flags */
	bool other;      /* a file without a row, or with other flags than its row's */
};

static int side_local_cb(void *arg, const struct client_maildir_file *file)
{
	struct side_local *l = arg;
	size_t cap = l->cap;
	l->v = side_grow(l->a, l->v, l->n, &cap, sizeof(*l->v));
	cap = l->cap;
	l->paths = side_grow(l->a, l->paths, l->n, &cap, sizeof(*l->paths));
	cap = l->cap;
	l->mtimes = side_grow(l->a, l->mtimes, l->n, &l->cap, sizeof(*l->mtimes));
	if (!l->v || !l->paths || !l->mtimes)
		return ERR_NOMEM;
	const struct side_row *row = side_rows_find(l->rows, file->base);
	struct client_sync_local *lf = &l->v[l->n];
	*lf = (struct client_sync_local){.flags = file->flags};
	l->paths[l->n] = NULL;
	l->mtimes[l->n] = 0;
	if (row && row->flags == file->flags) {
		/* R3 looks at times only when the flags differ; nothing else needs a stat */
		l->same += row->clean;
	} else {
		/* ctime: when its name (its flags) last changed, for R3; mtime and path: an
		 * upload's. A file gone since the listing is left out (the next pass sees
		 * where it went). */
		struct timespec mt, ct;
		char path[PATH_MAX];
		int e = client_maildir_file_stat(l->md, file, NULL, &mt, &ct);
		if (e == ERR_NOTFOUND || e == ERR_INVAL)
			return 0;
		if (!e)
			e = client_maildir_file_path(l->md, file, path, sizeof(path));
		if (e)
			return e;
		if (!(l->paths[l->n] = arena_strdup(l->a, path)))
			return ERR_NOMEM;
		lf->ctime = ct.tv_sec;
		l->mtimes[l->n] = mt.tv_sec;
		l->other = true;
	}
	if (row)
		l->found[row->idx] = true;
	if (!(lf->base = arena_strdup(l->a, file->base)))
		return ERR_NOMEM;
	l->n++;
	return 0;
}

int sync_local_list(struct sync_run *r, struct sync_folder *f, struct arena *a)
{
	struct client_sync_folder *v = &f->view;
	v->local_exists = false;
	v->local = NULL;
	v->nlocal = 0;
	f->local_same = false;
	f->listed = (struct client_sync_state_local){0};
	struct side_rows rows;
	bool *found = arena_zalloc(a, v->nrows + 1);
	if (!found || side_rows_index(&rows, v->rows, f->moving, v->nrows, a))
		return sync_fail(r, ERR_NOMEM, "out of memory");
	f->local_missing = rows.n > 0;
	if (!f->local_path)
		return 0;
	struct client_maildir *md;
	int e = client_maildir_open(f->local_path, false, &md);
	if (e == ERR_NOTFOUND)
		return 0;
	if (e)
		return sync_fail(r, e, "cannot open %s: %s", f->local_path, err_str(e));
	/* the clock, then the stamp, then the names: what the listing shows is at least
	 * what the stamp stands for */
	struct client_sync_state_local rec = {.at_ns = side_now_ns(), .rows_gen = f->rows_gen};
	struct side_local l = {.md = md, .a = a, .rows = &rows, .found = found};
	e = client_maildir_stamp(md, &rec.stamp);
	if (!e)
		e = client_maildir_each(md, side_local_cb, &l);
	client_maildir_close(&md);
	if (e)
		return sync_fail(r, e, "cannot list %s: %s", f->local_path, err_str(e));
	v->local_exists = true;
	v->local = l.v;
	v->nlocal = l.n;
	f->local_paths = l.paths;
	f->local_mtime = l.mtimes;
	f->local_missing = false;
	for (size_t i = 0; i < v->nrows; i++)
		f->local_missing |= v->rows[i].base[0] && !v->rows[i].deleting && !found[i];
	/* nothing changed here since the rows were written: every file is a clean row with
	 * its flags, and every row a file */
	f->local_same = v->state_known && rows.all_clean && !l.other && l.same == l.n &&
			l.n == v->nrows;
	if (f->local_same && side_quiet(&rec.stamp, rec.at_ns))
		f->listed = rec;
	return 0;
}

bool sync_local_trust(const struct sync_folder *f)
{
	const struct client_sync_state_local *rec = &f->state.local;
	struct client_maildir_stamp now;
	return f->view.state_known && f->local_path && rec->at_ns &&
	       rec->rows_gen == f->state.rows_gen && side_quiet(&rec->stamp, rec->at_ns) &&
	       client_maildir_stamp_path(f->local_path, &now) == 0 &&
	       side_stamp_eq(&now, &rec->stamp);
}

int sync_local_from_rows(struct sync_run *r, struct sync_folder *f, struct arena *a)
{
	struct client_sync_folder *v = &f->view;
	size_t n = v->nrows;
	struct client_sync_local *loc = arena_alloc(a, (n + 1) * sizeof(*loc));
	const char **paths = arena_zalloc(a, (n + 1) * sizeof(*paths));
	time_t *mtimes = arena_zalloc(a, (n + 1) * sizeof(*mtimes));
	if (!loc || !paths || !mtimes)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v->rows[i].base[0])
			loc[k++] = (struct client_sync_local){.base = v->rows[i].base,
							      .flags = v->rows[i].flags};
	v->local_exists = true;
	v->local = loc;
	v->nlocal = k;
	f->local_paths = paths;
	f->local_mtime = mtimes;
	f->local_missing = false;
	return 0;
}

int sync_local_detail(struct sync_run *r, struct sync_folder *f, size_t l, struct arena *a)
{
	if (f->local_paths[l])
		return 0;
	struct client_maildir *md;
	char path[PATH_MAX];
	unsigned flags;
	struct stat st;
	int e = client_maildir_open(f->local_path, false, &md);
	if (!e) {
		e = client_maildir_find(md, f->view.local[l].base, path, sizeof(path), &flags);
		client_maildir_close(&md);
	}
	if (!e && stat(path, &st) != 0)
		e = ERR_NOTFOUND; /* gone since it was found: as if it had been before */
	if (e == ERR_NOTFOUND)
		return e;
	if (e)
		return sync_fail(r, e, "cannot find %s in %s: %s", f->view.local[l].base,
				 f->local_path, err_str(e));
	if (!(f->local_paths[l] = arena_strdup(a, path)))
		return sync_fail(r, ERR_NOMEM, "out of memory");
	f->local_mtime[l] = st.st_mtime;
	return 0;
}

/* settle: whether the names of a Maildir are exactly the clean rows, each with its flags */
struct side_match {
	const struct side_rows *rows;
	size_t n;
};

static int side_match_cb(void *arg, const struct client_maildir_file *file)
{
	struct side_match *m = arg;
	const struct side_row *row = side_rows_find(m->rows, file->base);
	if (!row || !row->clean || row->flags != file->flags)
		return 1;
	m->n++;
	return 0;
}

int sync_local_settle(struct sync_run *r, struct sync_folder *f, struct arena *a,
		      struct client_sync_state_local *out)
{
	*out = (struct client_sync_state_local){0};
	uint64_t gen;
	struct client_maildir_stamp now;
	if (!f->local_path || client_sync_state_rows_gen(r->st, f->view.name, &gen) != 0)
		return 0; /* no folder record (dropped, or never complete): nothing to keep */
	if (f->local_trusted && f->unchanged && gen == f->rows_gen)
		return 0; /* nothing touched it: its record stays what it was */
	if (f->listed.at_ns && gen == f->rows_gen) {
		/* the rows are still those the listing found (every change this pass makes
		 * here changes a row too); a change by another program since has moved the
		 * stamp, and the record will not hold: harmless */
		*out = f->listed;
		return 0;
	}
	int64_t at = side_now_ns();
	if (client_maildir_stamp_path(f->local_path, &now) != 0)
		return 0;
	if (f->local_trusted && gen == f->rows_gen && side_stamp_eq(&now, &f->state.local.stamp))
		return 0; /* the record it has still holds */
	if (!side_quiet(&now, at))
		return 0; /* too recent: a later pass lists it and may keep that */
	/* Changed during the pass (our own downloads, renames), still since: list the names
	 * once more and compare them with the rows as they are now. */
	struct client_sync_row *rows;
	const char **moving;
	size_t nrows;
	struct side_rows x;
	struct client_maildir *md;
	int e = client_sync_state_rows(r->st, f->view.name, a, &rows, &moving, &nrows);
	if (e)
		return sync_fail(r, e, "%s", client_sync_state_error(r->st));
	if (side_rows_index(&x, rows, moving, nrows, a))
		return sync_fail(r, ERR_NOMEM, "out of memory");
	if (!x.all_clean || client_maildir_open(f->local_path, false, &md) != 0)
		return 0;
	struct client_sync_state_local rec = {.at_ns = at, .rows_gen = gen};
	struct side_match m = {.rows = &x};
	e = client_maildir_stamp(md, &rec.stamp);
	if (!e)
		e = client_maildir_each(md, side_match_cb, &m);
	client_maildir_close(&md);
	if (e == 0 && m.n == nrows && side_stamp_eq(&rec.stamp, &now))
		*out = rec;
	return e < 0 ? sync_fail(r, e, "cannot list %s: %s", f->local_path, err_str(e)) : 0;
}

/* ---- remote ---- */

struct side_remote {
	struct arena *a;
	struct client_sync_remote *v;
	size_t n, cap;
	uint32_t *vanished; /* pairs lo, hi */
	size_t nvanished, vcap;
	int err;
};

static int side_fetch_cb(void *arg, const struct client_imap_fetch *ft)
{
	struct side_remote *s = arg;
	if (!ft->uid)
		return 0; /* an unsolicited FETCH without UID: the listing asks for it again */
	s->v = side_grow(s->a, s->v, s->n, &s->cap, sizeof(*s->v));
	if (!s->v)
		return s->err = ERR_NOMEM;
	char id[LIMIT_MSGID + 3] = "";
	if (ft->header)
		client_digest_msgid(ft->header, ft->header_len, id, sizeof(id));
	struct client_sync_remote *m = &s->v[s->n];
	*m = (struct client_sync_remote){
		.uid = ft->uid, .flags = ft->flags,
		.keywords = arena_strdup(s->a, ft->has_flags ? ft->keywords : ""),
		.msgid = arena_strdup(s->a, id), .size = ft->size, .sha256 = ""};
	/* a FETCH of the same UID without FLAGS (the Message-ID one) marks it with has_flags
	 * false; side_merge keeps the flags of the first */
	m->flags |= ft->has_flags ? 0 : 1u << 31;
	if (!m->keywords || !m->msgid)
		return s->err = ERR_NOMEM;
	s->n++;
	return 0;
}

static int side_vanished_cb(void *arg, bool earlier, uint32_t lo, uint32_t hi)
{
	struct side_remote *s = arg;
	s->vanished = side_grow(s->a, s->vanished, s->nvanished, &s->vcap, 2 * sizeof(uint32_t));
	if (!s->vanished)
		return s->err = ERR_NOMEM;
	s->vanished[2 * s->nvanished] = lo;
	s->vanished[2 * s->nvanished + 1] = hi;
	s->nvanished++;
	return 0;
}

static int side_cmp_uid(const void *a, const void *b)
{
	const struct client_sync_remote *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Several FETCH responses of one UID (flags, then Message-ID and size; an unsolicited
 * one) become one entry; UIDs in a VANISHED range are dropped. */
static int side_cmp_range(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void side_merge(struct side_remote *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), side_cmp_uid); /* stable enough: merged below */
	/* VANISHED ranges sorted and joined where they overlap, then walked beside the
	 * UIDs: one pass however many ranges an expunge-heavy folder reports */
	if (s->nvanished > 1)
		qsort(s->vanished, s->nvanished, 2 * sizeof(uint32_t), side_cmp_range);
	size_t nv = 0;
	for (size_t k = 0; k < s->nvanished; k++) {
		uint32_t lo = s->vanished[2 * k], hi = s->vanished[2 * k + 1];
		if (nv && lo <= s->vanished[2 * nv - 1] + 1) {
			if (hi > s->vanished[2 * nv - 1])
				s->vanished[2 * nv - 1] = hi;
			continue;
		}
		s->vanished[2 * nv] = lo;
		s->vanished[2 * nv + 1] = hi;
		nv++;
	}
	s->nvanished = nv;
	size_t out = 0, k = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct client_sync_remote *m = &s->v[i];
		while (k < nv && s->vanished[2 * k + 1] < m->uid)
			k++;
		if (k < nv && s->vanished[2 * k] <= m->uid)
			continue;
		if (out && s->v[out - 1].uid == m->uid) {
			struct client_sync_remote *p = &s->v[out - 1];
			if (!(m->flags & (1u << 31)) && (p->flags & (1u << 31))) {
				p->flags = m->flags;
				p->keywords = m->keywords;
			} else if (!(m->flags & (1u << 31))) {
				p->flags = m->flags; /* the later FETCH is the newer state */
				p->keywords = m->keywords;
			}
			if (m->msgid[0])
				p->msgid = m->msgid;
			if (m->size)
				p->size = m->size;
			continue;
		}
		s->v[out++] = *m;
	}
	s->n = out;
}

static int side_row_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* UID FETCH of items for the sorted uids[0..n), as many UID sets as it takes. */
static int side_fetch_uids(struct sync_run *r, const uint32_t *uids, size_t n,
			   const char *items)
{
	char set[LIMIT_CLIENT_SYNC_UIDSET];
	while (n) {
		size_t used;
		int e = client_imap_uidset(uids, n, set, sizeof(set), &used);
		if (!e)
			e = client_imap_uid_fetch(r->imap, set, items, 0, false);
		if (e)
			return e;
		uids += used;
		n -= used;
	}
	return 0;
}

/* The listing from the rows, with QRESYNC's changes (already in s) on top: rows the
 * server did not mention are unchanged. */
static int side_from_rows(struct side_remote *s, const struct client_sync_folder *v)
{
	for (size_t i = 0; i < v->nrows; i++) {
		const struct client_sync_row *row = &v->rows[i];
		if (!row->uid)
			continue;
		s->v = side_grow(s->a, s->v, s->n, &s->cap, sizeof(*s->v));
		if (!s->v)
			return ERR_NOMEM;
		/* first in sort order for equal UIDs would be wrong: mark as "no flags" so
		 * that a FETCH from the server wins in side_merge */
		s->v[s->n++] = (struct client_sync_remote){
			.uid = row->uid, .flags = row->flags | 1u << 31, .keywords = row->keywords,
			.msgid = row->msgid, .size = row->size, .sha256 = ""};
	}
	return 0;
}

/* R9 and R1 without a Message-ID: such messages are matched by their content. Only
 * when a row to match has none: then the server's messages without one that no row
 * has (all after a renumbering) are read and hashed, one UID FETCH each. */
struct side_hash {
	struct client_digest d;
	bool got;
};

static int side_hash_body(void *arg, uint32_t seq, uint64_t off, uint64_t total,
			  const void *p, size_t n)
{
	struct side_hash *h = arg;
	h->got = true;
	client_digest_update(&h->d, p, n);
	return 0;
}

static int side_hash_remote(struct sync_run *r, struct side_remote *s,
			    const struct client_sync_folder *v, bool same, const uint32_t *known,
			    size_t nknown)
{
	bool need = false;
	for (size_t i = 0; i < v->nrows && !need; i++)
		need = !v->rows[i].msgid[0] && v->rows[i].sha256[0] && (!same || !v->rows[i].uid);
	for (size_t i = 0; need && i < s->n; i++) {
		struct client_sync_remote *m = &s->v[i];
		if (m->msgid[0] ||
		    (same && bsearch(&m->uid, known, nknown, sizeof(*known), side_row_uid_cmp)))
			continue;
		struct side_hash h = {0};
		char uid[16], sha[CLIENT_DIGEST_HEX], id[LIMIT_MSGID + 3];
		uint64_t size;
		if (client_digest_init(&h.d))
			return ERR_NOMEM;
		struct client_imap_events ev = {.arg = &h, .body = side_hash_body};
		client_imap_set_events(r->imap, &ev);
		(void)snprintf(uid, sizeof(uid), "%u", m->uid); /* a uint32 fits */
		int e = client_imap_uid_fetch(r->imap, uid, "(UID BODY.PEEK[])", 0, false);
		if (e) {
			client_digest_free(&h.d);
			return e;
		}
		if (client_digest_final(&h.d, sha, &size, id, sizeof(id)))
			return ERR_NOMEM;
		if (h.got && !(m->sha256 = arena_strdup(s->a, sha)))
			return ERR_NOMEM;
	}
	return 0;
}

int sync_remote_list(struct sync_run *r, struct sync_folder *f, struct arena *a)
{
	struct client_sync_folder *v = &f->view;
	char name[LIMIT_MAILBOX_NAME + 1];
	int e = sync_server_name(r, v->name, name, sizeof(name));
	if (e)
		return sync_fail(r, e, "folder name too long: %.100s", v->name);
	struct side_remote s = {.a = a};
	struct client_imap_events ev = {.arg = &s, .fetch = side_fetch_cb,
					.vanished = side_vanished_cb};
	client_imap_set_events(r->imap, &ev);
	struct client_imap_qresync qr = {.uidvalidity = f->state.uidvalidity,
					 .modseq = f->state.highestmodseq};
	bool use_qr = r->qresync && v->state_known && qr.uidvalidity && qr.modseq;
	struct client_imap_mailbox mb;
	e = client_imap_select(r->imap, name, false, use_qr ? &qr : NULL, &mb);
	if (e == 0 && s.err)
		e = s.err;
	if (e) {
		client_imap_set_events(r->imap, NULL);
		return sync_fail(r, e, "SELECT %.200s: %s", v->name, client_imap_error(r->imap));
	}
	f->remote_selected = true;
	v->remote_exists = v->remote_listed = true;
	v->remote_uidvalidity = mb.uidvalidity;
	v->remote_uidnext = mb.uidnext;
	v->remote_time = time(NULL);
	f->remote_modseq = mb.nomodseq ? 0 : mb.highestmodseq;
	f->remote_count = mb.exists;
	bool same = v->state_known && mb.uidvalidity == f->state.uidvalidity;
	if (use_qr && same && !mb.nomodseq) {
		/* RFC 7162 3.2.5.1: what changed since modseq came with the SELECT */
		e = side_from_rows(&s, v);
	} else {
		s.n = s.nvanished = 0;
		if (mb.exists)
			e = client_imap_uid_fetch(r->imap, "1:*",
						  r->condstore ? "(UID FLAGS MODSEQ)" : "(UID FLAGS)",
						  0, false);
	}
	if (!e && s.err)
		e = s.err;
	side_merge(&s);
	/* Message-ID and size for what no row knows (all of them when renumbered) */
	uint32_t *want = arena_alloc(a, (s.n + 1) * sizeof(*want));
	uint32_t *known = arena_alloc(a, (v->nrows + 1) * sizeof(*known));
	if (!e && (!want || !known))
		e = ERR_NOMEM;
	size_t nwant = 0, nknown = 0;
	for (size_t i = 0; !e && i < v->nrows; i++)
		if (v->rows[i].uid)
			known[nknown++] = v->rows[i].uid;
	if (!e && nknown > 1)
		qsort(known, nknown, sizeof(*known), side_row_uid_cmp);
	for (size_t i = 0; !e && i < s.n; i++)
		if (!same || !bsearch(&s.v[i].uid, known, nknown, sizeof(*known), side_row_uid_cmp))
			want[nwant++] = s.v[i].uid;
	if (!e && nwant) {
		e = side_fetch_uids(r, want, nwant,
				    "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])");
		if (!e && s.err)
			e = s.err;
		side_merge(&s);
	}
	if (!e)
		e = side_hash_remote(r, &s, v, same, known, nknown);
	client_imap_set_events(r->imap, NULL);
	if (e)
		return sync_fail(r, e, "listing %.200s: %s", v->name, client_imap_error(r->imap));
	for (size_t i = 0; i < s.n; i++)
		s.v[i].flags &= ~(1u << 31);
	v->remote = s.v;
	v->nremote = s.n;
	return 0;
}
