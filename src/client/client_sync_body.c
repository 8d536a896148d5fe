/* client_sync_body.c: --headers-first of kasten sync. New messages first come down as
 * their header alone (BODY.PEEK[HEADER]: the file is the header block and its empty
 * line, nothing added), marked "partial" in the state only, so a mail reader shows the
 * new mail of every folder at once; then, after every folder's pass, each partial file
 * is replaced by the whole message under its own name, with the flags it has by then:
 *   1. the whole message is written as a new Maildir file, its base name recorded in
 *      the row (body_base) before the file is committed;
 *   2. that file is renamed over the header-only one (atomic: a reader sees one or the
 *      other, never neither), the directory fsynced;
 *   3. the row: partial and body_base cleared.
 * A crash after 1 leaves body_base's file, which sync_body_recover puts in place (or
 * removes, if the header-only file was deleted meanwhile) before the folder is listed,
 * so it is never taken for a new local message. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_digest.h"
#include "client/client_sync_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

/* fsync the directory a path is in, so that a rename into it is durable. */
static int body_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return ERR_TOO_LONG;
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	int r = fsync(fd) == 0 ? 0 : ERR_IO;
	close(fd);
	return r;
}

/* Step 2 without its flush: the whole message (base body) over the header-only file
 * (base row->base), whose path goes to partial. */
static int body_rename(struct client_maildir *md, const struct client_sync_row *row,
		       bool *replaced_out, char *partial, size_t cap)
{
	char whole[PATH_MAX];
	unsigned flags;
	*replaced_out = false;
	int e = client_maildir_find(md, row->body_base, whole, sizeof(whole), &flags);
	if (e == ERR_NOTFOUND)
		return 0; /* never committed: step 1 is done again */
	if (e)
		return e;
	e = client_maildir_find(md, row->base, partial, cap, &flags);
	if (e == ERR_NOTFOUND) /* deleted meanwhile: so is the whole message */
		return client_maildir_remove(md, row->body_base) == ERR_IO ? ERR_IO : 0;
	if (e)
		return e;
	if (rename(whole, partial) != 0)
		return ERR_IO;
	*replaced_out = true;
	return 0;
}

/* Step 2 with its flush (recovery, one message at a time). */
static int body_put_in_place(struct client_maildir *md, const struct client_sync_row *row,
			     bool *replaced_out)
{
	char partial[PATH_MAX];
	int e = body_rename(md, row, replaced_out, partial, sizeof(partial));
	return e || !*replaced_out ? e : body_sync_dir(partial);
}

int sync_body_recover(struct sync_run *r, struct sync_folder *f, bool *changed_out)
{
	*changed_out = false;
	struct client_maildir *md = NULL;
	for (size_t i = 0; i < f->view.nrows; i++) {
		struct client_sync_row row = f->view.rows[i];
		if (!row.body_base || !row.body_base[0])
			continue;
		int e = md ? 0 : client_maildir_open(f->local_path, false, &md);
		bool replaced = false;
		if (e == 0)
			e = body_put_in_place(md, &row, &replaced);
		if (e && e != ERR_NOTFOUND) {
			client_maildir_close(&md);
			return sync_fail(r, e, "cannot complete a message in %s: %s", f->local_path,
					 err_str(e));
		}
		row.body_base = "";
		row.partial = row.partial && !replaced;
		e = client_sync_state_row_put(r->st, &row);
		if (e) {
			client_maildir_close(&md);
			return sync_fail(r, e, "%s", client_sync_state_error(r->st));
		}
		*changed_out = true;
	}
	if (md)
		client_maildir_close(&md);
	return 0;
}

/* The bodies of a folder's partial rows, batched (client_sync_fetch.c): step 1's
 * body_base rows commit with each batch before its files are renamed into cur/; steps 2
 * and 3 follow per batch, the renames over the header-only files flushed once (settle)
 * before their rows can commit. */
struct body_fill {
	struct sync_run *r;
	struct client_maildir *md;
	struct client_sync_row *rows; /* per wanted UID */
	bool into_new, into_cur;      /* step 2 renamed into new/, cur/ since the last settle */
};

static int body_place(void *arg, size_t i, time_t date, unsigned *flags_out, bool *cur_out,
		      time_t *mtime_out)
{
	struct body_fill *b = arg;
	char where[PATH_MAX];
	struct stat st;
	if (client_maildir_find(b->md, b->rows[i].base, where, sizeof(where), flags_out) != 0)
		return 1; /* deleted or moved locally: the next pass plans it */
	*cur_out = true;
	/* the header-only file's mtime is the INTERNALDATE: keep it */
	*mtime_out = stat(where, &st) == 0 ? st.st_mtime : 0;
	return 0;
}

static int body_record(void *arg, size_t i, const struct sync_fetch_got *g)
{
	struct body_fill *b = arg;
	struct client_sync_row row = b->rows[i];
	row.body_base = g->base;
	return client_sync_state_row_put(b->r->st, &row);
}

static int body_placed(void *arg, size_t i, const struct sync_fetch_got *g)
{
	struct body_fill *b = arg;
	struct client_sync_row row = b->rows[i];
	char partial[PATH_MAX];
	bool replaced = false;
	row.body_base = g->base;
	int e = body_rename(b->md, &row, &replaced, partial, sizeof(partial));
	if (e)
		return sync_fail(b->r, e, "cannot complete a message in %s: %s",
				 client_maildir_path(b->md), err_str(e));
	if (replaced) {
		const char *slash = strrchr(partial, '/');
		bool in_new = slash && slash - partial >= 4 && !strncmp(slash - 4, "/new", 4);
		b->into_new |= in_new;
		b->into_cur |= !in_new;
	}
	row.body_base = "";
	row.partial = !replaced;
	row.sha256 = g->sha256;
	if (g->msgid[0])
		row.msgid = g->msgid;
	b->r->stats.downloaded++;
	return client_sync_state_row_put(b->r->st, &row);
}

/* The renames of step 2 durable before the rows that forget body_base can commit. */
static int body_settle(void *arg)
{
	struct body_fill *b = arg;
	char dir[PATH_MAX];
	for (int k = 0; k < 2; k++) {
		if (!(k ? b->into_cur : b->into_new))
			continue;
		/* body_sync_dir takes a path inside the directory */
		int n = snprintf(dir, sizeof(dir), "%s/%s/x", client_maildir_path(b->md),
				 k ? "cur" : "new");
		int e = n < 0 || (size_t)n >= sizeof(dir) ? ERR_TOO_LONG : body_sync_dir(dir);
		if (e)
			return sync_fail(b->r, e, "cannot complete a message in %s: %s",
					 client_maildir_path(b->md), err_str(e));
	}
	b->into_new = b->into_cur = false;
	return 0;
}

static bool body_wanted(const struct client_sync_row *row)
{
	return row->partial && row->uid && !row->fetching && !row->deleting;
}

int sync_body_fill(struct sync_run *r, struct sync_folder *f, struct arena *a)
{
	struct client_sync_row *rows;
	size_t n, nwant = 0;
	int e = client_sync_state_rows(r->st, f->view.name, a, &rows, NULL, &n);
	if (e)
		return sync_fail(r, e, "%s", client_sync_state_error(r->st));
	for (size_t i = 0; i < n; i++)
		nwant += body_wanted(&rows[i]);
	if (!nwant || !f->view.remote_exists)
		return 0;
	char name[LIMIT_MAILBOX_NAME + 1];
	struct client_imap_mailbox mb;
	struct body_fill b = {.r = r};
	if ((e = sync_server_name(r, f->view.name, name, sizeof(name))))
		return sync_fail(r, e, "folder name too long: %.100s", f->view.name);
	/* EXAMINE: fetching bodies changes nothing on the server (BODY.PEEK too) */
	if ((e = client_imap_select(r->imap, name, true, NULL, &mb)))
		return sync_fail(r, e, "EXAMINE %.200s: %s", f->view.name,
				 client_imap_error(r->imap));
	if (mb.uidvalidity != f->view.remote_uidvalidity)
		return 0; /* renumbered since the pass: the next pass re-matches first */
	b.rows = arena_alloc(a, nwant * sizeof(*b.rows));
	uint32_t *uids = arena_alloc(a, nwant * sizeof(*uids));
	uint8_t *outcome = arena_alloc(a, nwant);
	if (!b.rows || !uids || !outcome)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	nwant = 0;
	for (size_t i = 0; i < n; i++)
		if (body_wanted(&rows[i])) {
			b.rows[nwant] = rows[i];
			uids[nwant++] = rows[i].uid;
		}
	if ((e = client_maildir_open(f->local_path, false, &b.md)))
		return e == ERR_NOTFOUND ? 0 : sync_fail(r, e, "cannot open %s", f->local_path);
	struct sync_fetch sf = {
		.r = r, .md = b.md, .folder = f->view.name, .items = "(UID BODY.PEEK[])",
		.progress_total = nwant, .place = body_place, .record = body_record,
		.placed = body_placed, .settle = body_settle, .arg = &b, .outcome = outcome};
	e = sync_fetch_run(&sf, uids, nwant);
	client_maildir_close(&b.md);
	return e;
}
