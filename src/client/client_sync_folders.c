/* client_sync_folders.c: the folder tree of kasten sync (rules R6, R8, S3 of
 * client_sync.h) and messages moved between local folders by another mail program
 * (R7). Pure: reads the folders the executor listed, returns actions from the caller's
 * arena. Base names of all folders are compared through one sorted table. */
#include <stdlib.h>
#include <string.h>

#include "client/client_sync.h"
#include "core/err.h"

/* One base name somewhere in the tree: a local file or a row. */
struct folders_name {
	const char *base;
	size_t folder, idx;
};

static int folders_cmp(const void *a, const void *b)
{
	const struct folders_name *x = a, *y = b;
	int c = strcmp(x->base, y->base);
	if (c)
		return c;
	if (x->folder != y->folder)
		return x->folder < y->folder ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The first entry of t[0..n) with this base, or n. */
static size_t folders_lower(const struct folders_name *t, size_t n, const char *base)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t[mid].base, base) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Every local file (rows false) or every row with a base (rows true), sorted. */
static struct folders_name *folders_table(const struct client_sync_folder *f, size_t nf,
					  bool rows, struct arena *a, size_t *n_out)
{
	size_t n = 0;
	for (size_t i = 0; i < nf; i++)
		n += rows ? f[i].nrows : f[i].nlocal;
	struct folders_name *t = arena_alloc(a, (n + 1) * sizeof(*t));
	if (!t)
		return NULL;
	n = 0;
	for (size_t i = 0; i < nf; i++) {
		size_t cnt = rows ? f[i].nrows : f[i].nlocal;
		for (size_t k = 0; k < cnt; k++) {
			const char *b = rows ? f[i].rows[k].base : f[i].local[k].base;
			if (b[0])
				t[n++] = (struct folders_name){b, i, k};
		}
	}
	qsort(t, n, sizeof(*t), folders_cmp);
	*n_out = n;
	return t;
}

static bool folders_has(const struct folders_name *t, size_t n, const char *base, size_t folder)
{
	for (size_t k = folders_lower(t, n, base); k < n && !strcmp(t[k].base, base); k++)
		if (t[k].folder == folder)
			return true;
	return false;
}

int client_sync_find_moves(struct client_sync_folder *f, size_t nf, struct arena *a)
{
	size_t nfiles = 0, nrowt = 0; /* set on success; -O3 cannot see it */
	struct folders_name *files = folders_table(f, nf, false, a, &nfiles);
	struct folders_name *rowt = folders_table(f, nf, true, a, &nrowt);
	if (!files || !rowt)
		return ERR_NOMEM;
	for (size_t i = 0; i < nf; i++) {
		size_t *to = arena_alloc(a, (f[i].nrows + 1) * sizeof(*to));
		bool *in = arena_zalloc(a, f[i].nlocal + 1);
		if (!to || !in)
			return ERR_NOMEM;
		for (size_t k = 0; k < f[i].nrows; k++)
			to[k] = CLIENT_SYNC_NONE;
		f[i].moved_to = to;
		f[i].moved_in = in;
	}
	for (size_t i = 0; i < nf; i++) {
		size_t *to = (size_t *)f[i].moved_to;
		for (size_t k = 0; k < f[i].nrows; k++) {
			const struct client_sync_row *row = &f[i].rows[k];
			if (!row->base[0] || row->deleting || folders_has(files, nfiles, row->base, i))
				continue;
			/* Exactly one other folder has the file, and no row there claims it. */
			size_t lo = folders_lower(files, nfiles, row->base), hi = lo;
			while (hi < nfiles && !strcmp(files[hi].base, row->base))
				hi++;
			if (hi - lo != 1)
				continue;
			size_t g = files[lo].folder;
			if (folders_has(rowt, nrowt, row->base, g))
				continue;
			to[k] = g;
			((bool *)f[g].moved_in)[files[lo].idx] = true;
		}
	}
	return 0;
}

static bool folders_is_inbox(const struct client_sync_folder *f)
{
	return !strcmp(f->name, "INBOX");
}

/* R8 locally: how many of src's rows have their file in dst's listing. */
static size_t folders_overlap(const struct client_sync_folder *src,
			      const struct client_sync_folder *dst, size_t *of_out)
{
	size_t found = 0, of = 0;
	for (size_t k = 0; k < src->nrows; k++) {
		if (!src->rows[k].base[0] || src->rows[k].deleting)
			continue;
		of++;
		for (size_t j = 0; j < dst->nlocal; j++)
			if (!strcmp(dst->local[j].base, src->rows[k].base)) {
				found++;
				break;
			}
	}
	*of_out = of;
	return found;
}

/* The one new local folder that holds at least half of src's files (R8), or NONE. */
static size_t folders_local_rename(const struct client_sync_folder *f, size_t nf, size_t src,
				   const bool *taken)
{
	for (size_t j = 0; j < nf; j++) {
		if (taken[j] || f[j].state_known || !f[j].local_exists || f[j].remote_exists ||
		    folders_is_inbox(&f[j]))
			continue;
		size_t of, found = folders_overlap(&f[src], &f[j], &of);
		if (found > 0 && 2 * found >= of)
			return j;
	}
	return CLIENT_SYNC_NONE;
}

/* The one new server folder with src's UIDVALIDITY (R8), or NONE. */
static size_t folders_remote_rename(const struct client_sync_folder *f, size_t nf, size_t src,
				    const bool *taken)
{
	if (!f[src].state_uidvalidity)
		return CLIENT_SYNC_NONE;
	for (size_t j = 0; j < nf; j++)
		if (!taken[j] && !f[j].state_known && !f[j].local_exists && f[j].remote_exists &&
		    !folders_is_inbox(&f[j]) && f[j].remote_uidvalidity == f[src].state_uidvalidity)
			return j;
	return CLIENT_SYNC_NONE;
}

int client_sync_plan_folders(const struct client_sync_folder *f, size_t nf, struct arena *a,
			     struct client_sync_folder_action **acts_out, size_t *n_out)
{
	struct client_sync_folder_action *acts = arena_alloc(a, (nf + 1) * sizeof(*acts));
	bool *taken = arena_zalloc(a, nf + 1); /* a rename's target, or a renamed source */
	if (!acts || !taken)
		return ERR_NOMEM;
	size_t n = 0;
	/* Renames first, so that their targets are not also created. */
	for (size_t i = 0; i < nf; i++) {
		if (!f[i].state_known || folders_is_inbox(&f[i]))
			continue;
		size_t j = CLIENT_SYNC_NONE;
		enum client_sync_folder_act_kind kind = CLIENT_SYNC_FOLDER_RENAME_REMOTE;
		if (!f[i].local_exists && f[i].remote_exists) {
			j = folders_local_rename(f, nf, i, taken);
		} else if (f[i].local_exists && !f[i].remote_exists) {
			j = folders_remote_rename(f, nf, i, taken);
			kind = CLIENT_SYNC_FOLDER_RENAME_LOCAL;
		}
		if (j == CLIENT_SYNC_NONE)
			continue;
		taken[i] = taken[j] = true;
		acts[n++] = (struct client_sync_folder_action){kind, i, j};
	}
	for (size_t i = 0; i < nf; i++) {
		if (taken[i] || folders_is_inbox(&f[i]))
			continue;
		enum client_sync_folder_act_kind kind;
		if (f[i].local_exists && !f[i].remote_exists && !f[i].state_known)
			kind = CLIENT_SYNC_FOLDER_CREATE_REMOTE; /* R6 */
		else if (!f[i].local_exists && f[i].remote_exists)
			kind = CLIENT_SYNC_FOLDER_CREATE_LOCAL; /* R6, or S1 when the state knew it */
		else if (!f[i].local_exists && !f[i].remote_exists)
			kind = CLIENT_SYNC_FOLDER_FORGET;
		else
			continue; /* on both sides, or gone on the server only (S3: its messages) */
		acts[n++] = (struct client_sync_folder_action){kind, i, CLIENT_SYNC_NONE};
	}
	*acts_out = acts;
	*n_out = n;
	return 0;
}
