/* client_sync_plan.c: the actions for one folder's messages (rules R1-R5, R7, R9 and the
 * safety rules S1-S3 of client_sync.h), as a pure function of the state rows and the
 * local and remote listings. No I/O; everything it returns comes from the caller's
 * arena. Lookups go through sorted index arrays, so a pass over 10,000 messages is a
 * few sorts, not a quadratic scan. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_sync.h"
#include "core/err.h"

/* A base name or a UID found in a sorted index: the position in the original array. */
struct plan_ctx {
	const struct client_sync_folder *f;
	size_t *local_by_base;  /* indexes into f->local, sorted by base */
	size_t *remote_by_uid;  /* indexes into f->remote, sorted by UID */
	size_t *remote_by_id;   /* indexes into f->remote, sorted by (msgid, size, uid) */
	size_t *row_remote;     /* per row: the remote index it stands for, or NONE */
	bool *local_claimed, *remote_claimed;
	struct client_sync_action *acts;
	size_t nacts, cap;
};

static int plan_cmp_local(const void *a, const void *b, void *arg)
{
	const struct client_sync_local *l = ((const struct client_sync_folder *)arg)->local;
	return strcmp(l[*(const size_t *)a].base, l[*(const size_t *)b].base);
}

static int plan_cmp_uid(const void *a, const void *b, void *arg)
{
	const struct client_sync_remote *r = ((const struct client_sync_folder *)arg)->remote;
	uint32_t x = r[*(const size_t *)a].uid, y = r[*(const size_t *)b].uid;
	return x < y ? -1 : x > y;
}

static int plan_cmp_id_key(const struct client_sync_remote *r, const char *msgid,
			   uint64_t size)
{
	int c = strcmp(r->msgid, msgid);
	if (c)
		return c;
	return r->size < size ? -1 : r->size > size;
}

static int plan_cmp_id(const void *a, const void *b, void *arg)
{
	const struct client_sync_remote *r = ((const struct client_sync_folder *)arg)->remote;
	const struct client_sync_remote *y = &r[*(const size_t *)b];
	int c = plan_cmp_id_key(&r[*(const size_t *)a], y->msgid, y->size);
	return c ? c : plan_cmp_uid(a, b, arg);
}

/* The indexes 0..n) sorted by cmp (glibc qsort_r: the folder is the comparator's arg). */
static size_t *plan_index(struct arena *a, size_t n,
			  int (*cmp)(const void *, const void *, void *),
			  const struct client_sync_folder *f)
{
	size_t *ix = arena_alloc(a, (n ? n : 1) * sizeof(*ix));
	if (!ix)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	if (n > 1)
		qsort_r(ix, n, sizeof(*ix), cmp, (void *)f);
	return ix;
}

static size_t plan_find_local(const struct plan_ctx *c, const char *base)
{
	size_t lo = 0, hi = c->f->nlocal;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->f->local[c->local_by_base[mid]].base, base);
		if (r == 0)
			return c->local_by_base[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return CLIENT_SYNC_NONE;
}

static size_t plan_find_uid(const struct plan_ctx *c, uint32_t uid)
{
	size_t lo = 0, hi = c->f->nremote;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t u = c->f->remote[c->remote_by_uid[mid]].uid;
		if (u == uid)
			return c->remote_by_uid[mid];
		if (u < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return CLIENT_SYNC_NONE;
}

/* The first remote message not yet claimed with this Message-ID and size (the lowest
 * UID of equal ones, so that two identical copies pair up in UID order). */
static size_t plan_find_msgid(const struct plan_ctx *c, const char *msgid, uint64_t size)
{
	size_t lo = 0, hi = c->f->nremote;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (plan_cmp_id_key(&c->f->remote[c->remote_by_id[mid]], msgid, size) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->f->nremote; lo++) {
		size_t k = c->remote_by_id[lo];
		if (plan_cmp_id_key(&c->f->remote[k], msgid, size) != 0)
			break;
		if (!c->remote_claimed[k])
			return k;
	}
	return CLIENT_SYNC_NONE;
}

/* R9 without a Message-ID: the content hash, which the executor fetched for those. */
static size_t plan_find_sha(const struct plan_ctx *c, const char *sha)
{
	for (size_t k = 0; k < c->f->nremote; k++)
		if (!c->remote_claimed[k] && c->f->remote[k].msgid[0] == '\0' &&
		    !strcmp(c->f->remote[k].sha256, sha))
			return k;
	return CLIENT_SYNC_NONE;
}

static size_t plan_match(const struct plan_ctx *c, const struct client_sync_row *row)
{
	if (row->msgid[0])
		return plan_find_msgid(c, row->msgid, row->size);
	if (row->sha256[0])
		return plan_find_sha(c, row->sha256);
	return CLIENT_SYNC_NONE;
}

static void plan_emit(struct plan_ctx *c, enum client_sync_act_kind kind, size_t row,
		      size_t local, size_t remote, unsigned flags)
{
	/* The capacity was counted from the inputs: every row, file and UID gives at most
	 * three actions (RELINK, one side's flags, the row). */
	assert(c->nacts < c->cap);
	c->acts[c->nacts++] = (struct client_sync_action){
		.kind = kind, .row = row, .local = local, .remote = remote, .flags = flags,
		.to = CLIENT_SYNC_NONE};
}

unsigned client_sync_merge_flags(unsigned row, unsigned local, time_t local_time,
				 unsigned remote, time_t remote_time)
{
	if (local == row)
		return remote;
	if (remote == row)
		return local;
	unsigned added = (local | remote) & ~row;
	unsigned local_del = row & ~local, remote_del = row & ~remote;
	unsigned result = (row | added) & ~(local_del & remote_del);
	/* A removal on one side only stands if that side changed last (R3). */
	if (local_time > remote_time)
		result &= ~local_del;
	else if (remote_time > local_time)
		result &= ~remote_del;
	return result;
}

enum client_sync_folder_mode client_sync_folder_mode(const struct client_sync_folder *f)
{
	if (!f->remote_exists)
		return f->state_known ? CLIENT_SYNC_MODE_REMOTE_GONE : CLIENT_SYNC_MODE_NORMAL;
	bool same_validity = f->state_known && f->state_uidvalidity == f->remote_uidvalidity;
	/* S2: UIDs are never reused and UIDNEXT never goes down while UIDVALIDITY stays. */
	if (same_validity && f->remote_uidnext && f->remote_uidnext < f->state_uidnext)
		return CLIENT_SYNC_MODE_SKIP;
	/* S1: the folder holds none of the files its rows expect (moved ones aside). */
	bool expected = false, present = false;
	for (size_t i = 0; i < f->nrows && !present; i++) {
		const struct client_sync_row *row = &f->rows[i];
		if (!row->base[0] || row->deleting ||
		    (f->moved_to && f->moved_to[i] != CLIENT_SYNC_NONE))
			continue;
		expected = true;
		for (size_t k = 0; k < f->nlocal && !present; k++)
			present = !strcmp(f->local[k].base, row->base);
	}
	if (expected && !present)
		return CLIENT_SYNC_MODE_LOCAL_LOST;
	if (f->state_known && f->state_uidvalidity && !same_validity)
		return CLIENT_SYNC_MODE_REMATCH;
	return CLIENT_SYNC_MODE_NORMAL;
}

/* Pass 1: which remote message each row stands for. RELINKs for rows that get a UID. */
static void plan_pair_rows(struct plan_ctx *c, enum client_sync_folder_mode mode)
{
	const struct client_sync_folder *f = c->f;
	bool same_uids = mode == CLIENT_SYNC_MODE_NORMAL || mode == CLIENT_SYNC_MODE_LOCAL_LOST;
	if (mode == CLIENT_SYNC_MODE_LOCAL_LOST && f->state_uidvalidity != f->remote_uidvalidity)
		same_uids = false; /* lost and renumbered: nothing to keep, all comes again */
	for (size_t i = 0; i < f->nrows; i++) {
		c->row_remote[i] = CLIENT_SYNC_NONE;
		if (same_uids && f->rows[i].uid) {
			size_t k = plan_find_uid(c, f->rows[i].uid);
			if (k != CLIENT_SYNC_NONE && !c->remote_claimed[k]) {
				c->row_remote[i] = k;
				c->remote_claimed[k] = true;
			}
		}
	}
	if (mode == CLIENT_SYNC_MODE_REMOTE_GONE)
		return;
	/* Pending rows (R1) always, every row after a UIDVALIDITY change (R9). */
	for (size_t i = 0; i < f->nrows; i++) {
		if (c->row_remote[i] != CLIENT_SYNC_NONE)
			continue;
		if (f->rows[i].uid && mode != CLIENT_SYNC_MODE_REMATCH)
			continue;
		if (mode == CLIENT_SYNC_MODE_LOCAL_LOST && !same_uids)
			continue;
		size_t k = plan_match(c, &f->rows[i]);
		if (k == CLIENT_SYNC_NONE)
			continue;
		c->row_remote[i] = k;
		c->remote_claimed[k] = true;
		plan_emit(c, CLIENT_SYNC_RELINK, i, CLIENT_SYNC_NONE, k, f->rows[i].flags);
	}
}

/* Pass 2, one row: its file and its remote message decide (R2-R5, R7, S1, S3). */
static void plan_row(struct plan_ctx *c, size_t i, enum client_sync_folder_mode mode)
{
	const struct client_sync_folder *f = c->f;
	const struct client_sync_row *row = &f->rows[i];
	size_t l = row->base[0] ? plan_find_local(c, row->base) : CLIENT_SYNC_NONE;
	size_t r = c->row_remote[i];
	if (l != CLIENT_SYNC_NONE)
		c->local_claimed[l] = true;
	bool moved = f->moved_to && f->moved_to[i] != CLIENT_SYNC_NONE;

	if (row->deleting) {
		/* R4 resumed: the server was being told; a file back in place stays there
		 * unclaimed and is uploaded as new on the next pass. */
		plan_emit(c, r != CLIENT_SYNC_NONE ? CLIENT_SYNC_DELETE_REMOTE : CLIENT_SYNC_FORGET,
			  i, CLIENT_SYNC_NONE, r, row->flags);
		return;
	}
	if (row->fetching && l == CLIENT_SYNC_NONE) {
		/* A download cut short before its file was committed: fetch it again. */
		plan_emit(c, r != CLIENT_SYNC_NONE ? CLIENT_SYNC_DOWNLOAD : CLIENT_SYNC_FORGET, i,
			  CLIENT_SYNC_NONE, r, r != CLIENT_SYNC_NONE ? f->remote[r].flags : 0);
		return;
	}
	if (moved && l == CLIENT_SYNC_NONE) {
		if (r == CLIENT_SYNC_NONE || mode == CLIENT_SYNC_MODE_REMOTE_GONE) {
			plan_emit(c, CLIENT_SYNC_FORGET, i, CLIENT_SYNC_NONE, r, row->flags);
			return;
		}
		plan_emit(c, CLIENT_SYNC_MOVE_REMOTE, i, CLIENT_SYNC_NONE, r, row->flags);
		c->acts[c->nacts - 1].to = f->moved_to[i];
		return;
	}
	if (mode == CLIENT_SYNC_MODE_REMOTE_GONE) {
		plan_emit(c, l != CLIENT_SYNC_NONE ? CLIENT_SYNC_DELETE_LOCAL : CLIENT_SYNC_FORGET, i,
			  l, CLIENT_SYNC_NONE, row->flags);
		return;
	}
	if (mode == CLIENT_SYNC_MODE_LOCAL_LOST) {
		plan_emit(c, r != CLIENT_SYNC_NONE ? CLIENT_SYNC_DOWNLOAD : CLIENT_SYNC_FORGET, i,
			  CLIENT_SYNC_NONE, r, r != CLIENT_SYNC_NONE ? f->remote[r].flags : 0);
		return;
	}
	if (l != CLIENT_SYNC_NONE && r != CLIENT_SYNC_NONE) {
		const struct client_sync_local *lf = &f->local[l];
		const struct client_sync_remote *rm = &f->remote[r];
		unsigned m = client_sync_merge_flags(row->flags, lf->flags, lf->ctime, rm->flags,
						     f->remote_time);
		if (m != lf->flags)
			plan_emit(c, CLIENT_SYNC_FLAGS_LOCAL, i, l, r, m);
		if (m != rm->flags) {
			plan_emit(c, CLIENT_SYNC_FLAGS_REMOTE, i, l, r, m);
			c->acts[c->nacts - 1].add = m & ~rm->flags;
			c->acts[c->nacts - 1].del = rm->flags & ~m;
		}
		if (m != row->flags || strcmp(row->keywords, rm->keywords) != 0 || row->fetching)
			plan_emit(c, CLIENT_SYNC_UPDATE_ROW, i, l, r, m);
		return;
	}
	if (l != CLIENT_SYNC_NONE) {
		/* On the server no longer: expunged there (R4), unless the row never had a UID
		 * that the server confirmed (a pending upload) or the UIDs were renumbered
		 * (R9): then it is uploaded (again), so nothing is lost. */
		if (row->uid == 0 || mode == CLIENT_SYNC_MODE_REMATCH)
			plan_emit(c, CLIENT_SYNC_UPLOAD, i, l, CLIENT_SYNC_NONE, f->local[l].flags);
		else
			plan_emit(c, CLIENT_SYNC_DELETE_LOCAL, i, l, CLIENT_SYNC_NONE, row->flags);
		return;
	}
	if (r != CLIENT_SYNC_NONE) {
		/* A row without a local base never had a file: fetch it (again). */
		plan_emit(c, row->base[0] ? CLIENT_SYNC_DELETE_REMOTE : CLIENT_SYNC_DOWNLOAD, i,
			  CLIENT_SYNC_NONE, r, row->base[0] ? row->flags : f->remote[r].flags);
		return;
	}
	plan_emit(c, CLIENT_SYNC_FORGET, i, CLIENT_SYNC_NONE, CLIENT_SYNC_NONE, row->flags);
}

int client_sync_plan_msgs(const struct client_sync_folder *f, struct arena *a,
			  struct client_sync_plan *out)
{
	*out = (struct client_sync_plan){.mode = client_sync_folder_mode(f)};
	if (out->mode == CLIENT_SYNC_MODE_SKIP)
		return 0;
	struct plan_ctx c = {.f = f};
	c.local_by_base = plan_index(a, f->nlocal, plan_cmp_local, f);
	c.remote_by_uid = plan_index(a, f->nremote, plan_cmp_uid, f);
	c.remote_by_id = plan_index(a, f->nremote, plan_cmp_id, f);
	c.row_remote = arena_alloc(a, (f->nrows + 1) * sizeof(size_t));
	c.local_claimed = arena_zalloc(a, f->nlocal + 1);
	c.remote_claimed = arena_zalloc(a, f->nremote + 1);
	c.cap = 3 * (f->nrows + f->nlocal + f->nremote) + 1;
	c.acts = arena_alloc(a, c.cap * sizeof(*c.acts));
	if (!c.local_by_base || !c.remote_by_uid || !c.remote_by_id || !c.row_remote ||
	    !c.local_claimed || !c.remote_claimed || !c.acts)
		return ERR_NOMEM;

	plan_pair_rows(&c, out->mode);
	for (size_t i = 0; i < f->nrows; i++)
		plan_row(&c, i, out->mode);
	/* R1: what no row claimed is new on its side. A file another folder's row moved
	 * here (R7) is that folder's business. */
	if (out->mode != CLIENT_SYNC_MODE_REMOTE_GONE)
		for (size_t k = 0; k < f->nremote; k++)
			if (!c.remote_claimed[k])
				plan_emit(&c, CLIENT_SYNC_DOWNLOAD, CLIENT_SYNC_NONE, CLIENT_SYNC_NONE,
					  k, f->remote[k].flags);
	for (size_t l = 0; l < f->nlocal; l++)
		if (!c.local_claimed[l] && !(f->moved_in && f->moved_in[l]))
			plan_emit(&c, CLIENT_SYNC_UPLOAD, CLIENT_SYNC_NONE, l, CLIENT_SYNC_NONE,
				  f->local[l].flags);
	out->acts = c.acts;
	out->nacts = c.nacts;
	return 0;
}
