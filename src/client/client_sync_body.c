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

/* Step 2: the whole message (base body) over the header-only file (base row->base). */
static int body_put_in_place(struct client_maildir *md, const struct client_sync_row *row,
			     bool *replaced_out)
{
	char whole[PATH_MAX], partial[PATH_MAX];
	unsigned flags;
	*replaced_out = false;
	int e = client_maildir_find(md, row->body_base, whole, sizeof(whole), &flags);
	if (e == ERR_NOTFOUND)
		return 0; /* never committed: step 1 is done again */
	if (e)
		return e;
	e = client_maildir_find(md, row->base, partial, sizeof(partial), &flags);
	if (e == ERR_NOTFOUND) /* deleted meanwhile: so is the whole message */
		return client_maildir_remove(md, row->body_base) == ERR_IO ? ERR_IO : 0;
	if (e)
		return e;
	if (rename(whole, partial) != 0)
		return ERR_IO;
	*replaced_out = true;
	return body_sync_dir(partial);
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

struct body_dl {
	struct client_maildir_msg *m;
	struct client_digest d;
	bool got;
	int err;
};

static int body_piece(void *arg, uint32_t seq, uint64_t off, uint64_t total, const void *p,
		      size_t n)
{
	struct body_dl *b = arg;
	b->got = true;
	client_digest_update(&b->d, p, n);
	int e = n ? client_maildir_write(b->m, p, n) : 0;
	return e ? (b->err = e) : 0;
}

/* Steps 1-3 for one partial row of the selected folder. */
static int body_complete(struct sync_run *r, struct client_maildir *md,
			 struct client_sync_row row)
{
	char where[PATH_MAX], base[CLIENT_MAILDIR_NAME_MAX], uid[16], sha[CLIENT_DIGEST_HEX];
	char id[LIMIT_MSGID + 3];
	unsigned flags;
	if (client_maildir_find(md, row.base, where, sizeof(where), &flags) != 0)
		return 0; /* deleted or moved locally: the next pass plans it */
	struct body_dl b = {0};
	int e = client_digest_init(&b.d);
	if (e)
		return sync_fail(r, e, "out of memory");
	if ((e = client_maildir_begin(md, &b.m, base))) {
		client_digest_free(&b.d);
		return sync_fail(r, e, "cannot write into %s: %s", client_maildir_path(md),
				 err_str(e));
	}
	row.body_base = base;
	if ((e = client_sync_state_row_put(r->st, &row))) {
		client_maildir_abort(&b.m);
		client_digest_free(&b.d);
		return sync_fail(r, e, "%s", client_sync_state_error(r->st));
	}
	struct client_imap_events ev = {.arg = &b, .body = body_piece};
	client_imap_set_events(r->imap, &ev);
	(void)snprintf(uid, sizeof(uid), "%u", row.uid); /* a uint32 fits */
	e = client_imap_uid_fetch(r->imap, uid, "(UID BODY.PEEK[])", 0, false);
	client_imap_set_events(r->imap, NULL);
	if (e || b.err || !b.got) {
		client_maildir_abort(&b.m);
		client_digest_free(&b.d);
		if (e)
			return sync_fail(r, e, "UID FETCH: %s", client_imap_error(r->imap));
		if (b.err)
			return sync_fail(r, b.err, "cannot write into %s: %s",
					 client_maildir_path(md), err_str(b.err));
		row.body_base = ""; /* gone from the server: the next pass plans it */
		e = client_sync_state_row_put(r->st, &row);
		return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
	}
	uint64_t size;
	struct stat st; /* the header-only file's mtime is the INTERNALDATE: keep it */
	e = client_maildir_commit(&b.m, flags, true, stat(where, &st) == 0 ? st.st_mtime : 0);
	int de = client_digest_final(&b.d, sha, &size, id, sizeof(id));
	bool replaced = false;
	if (!e)
		e = body_put_in_place(md, &row, &replaced);
	if (e || de)
		return sync_fail(r, e ? e : de, "cannot complete a message in %s: %s",
				 client_maildir_path(md), err_str(e ? e : de));
	row.body_base = "";
	row.partial = !replaced;
	row.sha256 = sha;
	if (id[0])
		row.msgid = id;
	r->stats.downloaded++;
	e = client_sync_state_row_put(r->st, &row);
	return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
}

int sync_body_fill(struct sync_run *r, struct sync_folder *f, struct arena *a)
{
	struct client_sync_row *rows;
	size_t n;
	int e = client_sync_state_rows(r->st, f->view.name, a, &rows, NULL, &n);
	if (e)
		return sync_fail(r, e, "%s", client_sync_state_error(r->st));
	bool any = false;
	for (size_t i = 0; i < n && !any; i++)
		any = rows[i].partial && rows[i].uid && !rows[i].fetching && !rows[i].deleting;
	if (!any || !f->view.remote_exists)
		return 0;
	char name[LIMIT_MAILBOX_NAME + 1];
	struct client_imap_mailbox mb;
	struct client_maildir *md;
	if ((e = sync_server_name(r, f->view.name, name, sizeof(name))))
		return sync_fail(r, e, "folder name too long: %.100s", f->view.name);
	/* EXAMINE: fetching bodies changes nothing on the server (BODY.PEEK too) */
	if ((e = client_imap_select(r->imap, name, true, NULL, &mb)))
		return sync_fail(r, e, "EXAMINE %.200s: %s", f->view.name,
				 client_imap_error(r->imap));
	if (mb.uidvalidity != f->view.remote_uidvalidity)
		return 0; /* renumbered since the pass: the next pass re-matches first */
	if ((e = client_maildir_open(f->local_path, false, &md)))
		return e == ERR_NOTFOUND ? 0 : sync_fail(r, e, "cannot open %s", f->local_path);
	for (size_t i = 0; !e && i < n; i++) {
		if (rows[i].partial && rows[i].uid && !rows[i].fetching && !rows[i].deleting)
			e = body_complete(r, md, rows[i]);
		if (r->opts->progress)
			r->opts->progress(r->opts->progress_arg, f->view.name, i + 1, n);
	}
	client_maildir_close(&md);
	return e;
}
