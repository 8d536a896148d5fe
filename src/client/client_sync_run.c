/* client_sync_run.c: kasten sync's passes and its staying-connected loop. A pass reads
 * the folder tree of all three sides (state, local tree, LIST), plans and carries out
 * the folder actions (client_sync_plan_folders), finds files moved between local
 * folders, then per folder in scope: SELECT and list, plan, carry out
 * (client_sync_side.c, client_sync_exec.c), and records the folder's UIDVALIDITY,
 * UIDNEXT and HIGHESTMODSEQ. Without --once it then stays connected: IDLE on INBOX
 * (RFC 2177) in slices of LIMIT_CLIENT_SYNC_LOCAL_POLL seconds, between which the local
 * tree's directories are looked at (their mtimes change with every file added, removed
 * or renamed); a change on either side starts a pass over that side's folders, and
 * every full_check_s seconds a pass over all. Memory: one arena per pass, capped at
 * LIMIT_CLIENT_SYNC_ARENA. */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client/client_sync_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

int sync_fail(struct sync_run *r, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	if (n < 0)
		r->error[0] = '\0';
	return e;
}

/* ---- the folder tree of a pass ---- */

/* One selectable mailbox of the LIST answer, as the server names it: kept until the
 * answer is complete, as the delimiter that maps it to a local name may come with any
 * entry of it. */
struct run_remote {
	const char *name;
	struct client_imap_mailbox_status status; /* has 0: no STATUS came with it */
};

struct run_tree {
	struct sync_folder *f;
	size_t n, cap;
	size_t nlocal; /* f[0..nlocal) have their local side read (run_read_local) */
	struct run_remote *remote;
	size_t nremote, remote_cap;
	struct arena *a;
	struct sync_run *r;
	int err;
};

static struct sync_folder *run_folder(struct run_tree *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->f[i].view.name, name))
			return &t->f[i];
	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 32;
		struct sync_folder *g = arena_zalloc(t->a, ncap * sizeof(*g));
		if (!g)
			return NULL;
		if (t->n)
			memcpy(g, t->f, t->n * sizeof(*g));
		t->f = g;
		t->cap = ncap;
	}
	struct sync_folder *f = &t->f[t->n];
	*f = (struct sync_folder){0};
	f->view.name = arena_strdup(t->a, name);
	if (!f->view.name)
		return NULL;
	t->n++;
	return f;
}

static int run_local_cb(void *arg, const char *name, const char *path)
{
	struct run_tree *t = arg;
	struct sync_folder *f = run_folder(t, name);
	if (!f)
		return ERR_NOMEM;
	f->local_path = arena_strdup(t->a, path);
	return f->local_path ? 0 : ERR_NOMEM;
}

/* A server name in the state's spelling ("A/B"); false for one that has none (a '/'
 * inside a component of a server with another delimiter: such a folder is left alone). */
static bool run_local_name(const struct sync_run *r, const char *server, char *out)
{
	size_t n = strlen(server);
	if (n > LIMIT_MAILBOX_NAME)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (server[i] == '/' && r->delim != '/')
			return false;
		out[i] = server[i] == r->delim ? '/' : server[i];
	}
	return true;
}

static int run_list_cb(void *arg, const struct client_imap_list_entry *e)
{
	struct run_tree *t = arg;
	if (e->attrs & CLIENT_IMAP_LIST_NOSELECT)
		return 0;
	if (t->nremote == t->remote_cap) {
		size_t ncap = t->remote_cap ? 2 * t->remote_cap : 32;
		struct run_remote *g = arena_zalloc(t->a, ncap * sizeof(*g));
		if (!g)
			return t->err = ERR_NOMEM;
		if (t->nremote)
			memcpy(g, t->remote, t->nremote * sizeof(*g));
		t->remote = g;
		t->remote_cap = ncap;
	}
	struct run_remote *m = &t->remote[t->nremote];
	*m = (struct run_remote){.name = arena_strdup(t->a, e->name)};
	if (!m->name)
		return t->err = ERR_NOMEM;
	t->nremote++;
	return 0;
}

/* LIST-STATUS (RFC 5819): the STATUS data follows its mailbox's LIST entry. */
static int run_status_cb(void *arg, const struct client_imap_mailbox_status *st)
{
	struct run_tree *t = arg;
	for (size_t i = t->nremote; i-- > 0;)
		if (!strcmp(t->remote[i].name, st->name)) {
			t->remote[i].status = *st;
			t->remote[i].status.name = NULL; /* the response's: gone after the call */
			break;
		}
	return 0;
}

/* The LIST answer's mailboxes into the tree, under their local names: the delimiter is
 * known now (from an entry of the answer; asked by LIST "" "" only if none had one). */
static int run_take_remote(struct sync_run *r, struct run_tree *t)
{
	if (!r->delim) {
		char d = 0;
		int e = client_imap_delimiter(r->imap, &d);
		if (e)
			return sync_fail(r, e, "LIST: %s", client_imap_error(r->imap));
		r->delim = d ? d : '/';
	}
	for (size_t i = 0; i < t->nremote; i++) {
		char name[LIMIT_MAILBOX_NAME + 1];
		if (!run_local_name(r, t->remote[i].name, name))
			continue;
		struct sync_folder *f = run_folder(t, name);
		if (!f)
			return sync_fail(r, ERR_NOMEM, "out of memory");
		f->view.remote_exists = true;
		if (t->remote[i].status.has)
			f->status = t->remote[i].status;
	}
	return 0;
}

static int run_default_path(struct sync_run *r, struct sync_folder *f, struct arena *a)
{
	if (f->local_path)
		return 0;
	char path[PATH_MAX];
	int e = !strcmp(f->view.name, "INBOX")
			? (snprintf(path, sizeof(path), "%s", r->opts->maildir) < (int)sizeof(path)
				   ? 0
				   : ERR_TOO_LONG)
			: client_maildir_folder_path(r->opts->maildir, f->view.name, path,
						     sizeof(path));
	if (e)
		return sync_fail(r, e, "no local path for %.200s", f->view.name);
	f->local_path = arena_strdup(a, path);
	return f->local_path ? 0 : sync_fail(r, ERR_NOMEM, "out of memory");
}

/* f's rows, with what a crash left of --headers-first put right first. */
static int run_read_rows(struct sync_run *r, struct run_tree *t, struct sync_folder *f)
{
	int e = client_sync_state_rows(r->st, f->view.name, t->a,
				       (struct client_sync_row **)&f->view.rows, &f->moving,
				       &f->view.nrows);
	/* before the login nothing is put right: that waits for the pass after it */
	for (size_t i = 0; !e && r->early && i < f->view.nrows; i++)
		if (f->view.rows[i].body_base && f->view.rows[i].body_base[0])
			return ERR_TEMP;
	bool changed = false;
	if (!e && (e = sync_body_recover(r, f, &changed)))
		return e;
	if (!e && changed)
		e = client_sync_state_rows(r->st, f->view.name, t->a,
					   (struct client_sync_row **)&f->view.rows, &f->moving,
					   &f->view.nrows);
	f->rows_gen = 0;
	if (!e && f->view.state_known) {
		e = client_sync_state_rows_gen(r->st, f->view.name, &f->rows_gen);
		e = e == ERR_NOTFOUND ? 0 : e;
	}
	return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
}

/* One folder's local side: its rows and listing, or neither when its local record
 * holds. */
static int run_read_local_side(struct sync_run *r, struct run_tree *t, struct sync_folder *f)
{
	int e = run_default_path(r, f, t->a);
	if (e)
		return e;
	if (sync_local_trust(f)) {
		f->local_trusted = true;
		f->view.local_exists = true;
		f->rows_gen = f->state.rows_gen;
		return 0;
	}
	if ((e = run_read_rows(r, t, f)))
		return e;
	return sync_local_list(r, f, t->a);
}

/* The folders of the state and of the local tree, each with its local side: all that
 * can be read before the login (nothing here writes, unless a crash left a header-only
 * file to complete: run_read_rows). t->nlocal: how many. */
static int run_read_local(struct sync_run *r, struct run_tree *t)
{
	struct client_sync_state_folder *sf;
	size_t nsf;
	int e = client_sync_state_folders(r->st, t->a, &sf, &nsf);
	if (e)
		return sync_fail(r, e, "%s", client_sync_state_error(r->st));
	e = client_maildir_folders(r->opts->maildir, run_local_cb, t);
	if (e && e != ERR_NOTFOUND)
		return sync_fail(r, e, "cannot read %s: %s", r->opts->maildir, err_str(e));
	for (size_t i = 0; i < nsf; i++) {
		struct sync_folder *f = run_folder(t, sf[i].name);
		if (!f)
			return sync_fail(r, ERR_NOMEM, "out of memory");
		f->state = sf[i];
		f->view.state_known = true;
		f->view.state_uidvalidity = sf[i].uidvalidity;
		f->view.state_uidnext = sf[i].uidnext;
	}
	if (!run_folder(t, "INBOX"))
		return sync_fail(r, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		if ((e = run_read_local_side(r, t, &t->f[i])))
			return e;
	t->nlocal = t->n;
	return 0;
}

/* The server's folders (LIST; with LIST-STATUS their STATUS data, what each SELECT
 * would say, in this one round trip: run_folder_pass needs no SELECT for an unchanged
 * folder), and the local side of those only the server has. */
static int run_read_remote(struct sync_run *r, struct run_tree *t)
{
	struct client_imap_events ev = {.arg = t, .list = run_list_cb, .status = run_status_cb};
	client_imap_set_events(r->imap, &ev);
	int e;
	if (client_imap_has(r->imap, CLIENT_IMAP_CAP_LIST_STATUS))
		e = client_imap_list_status(r->imap, "*",
					    CLIENT_IMAP_STATUS_MESSAGES | CLIENT_IMAP_STATUS_UIDNEXT |
						    CLIENT_IMAP_STATUS_UIDVALIDITY |
						    CLIENT_IMAP_STATUS_HIGHESTMODSEQ);
	else
		e = client_imap_list(r->imap, "*", false);
	client_imap_set_events(r->imap, NULL);
	if (!e)
		e = t->err;
	if (e)
		return sync_fail(r, e, "LIST: %s", client_imap_error(r->imap));
	if (r->enable_ahead) {
		/* sent with the LIST (run_connect): answered by now */
		unsigned got = 0;
		r->enable_ahead = false;
		e = client_imap_enable_result(r->imap, &got);
		if (e)
			return sync_fail(r, e, "%s", client_imap_error(r->imap));
		r->qresync = got & CLIENT_IMAP_CAP_QRESYNC;
		r->condstore = r->qresync || (got & CLIENT_IMAP_CAP_CONDSTORE);
	}
	if ((e = run_take_remote(r, t)))
		return e;
	for (size_t i = t->nlocal; i < t->n; i++)
		if ((e = run_read_local_side(r, t, &t->f[i])))
			return e;
	return 0;
}

/* The three sides' folders, each with its rows and local listing (not yet the remote
 * messages). */
static int run_read_tree(struct sync_run *r, struct run_tree *t)
{
	int e = run_read_local(r, t);
	return e ? e : run_read_remote(r, t);
}

/* R8 needs the UIDVALIDITY of server folders the state does not know, but only when a
 * known one vanished from the server. */
static int run_remote_validity(struct sync_run *r, struct run_tree *t)
{
	bool vanished = false;
	for (size_t i = 0; i < t->n; i++)
		vanished |= t->f[i].view.state_known && !t->f[i].view.remote_exists;
	for (size_t i = 0; vanished && i < t->n; i++) {
		struct sync_folder *f = &t->f[i];
		if (f->view.state_known || !f->view.remote_exists || f->view.local_exists)
			continue;
		char name[LIMIT_MAILBOX_NAME + 1];
		struct client_imap_mailbox mb;
		int e = sync_server_name(r, f->view.name, name, sizeof(name));
		if (!e)
			e = client_imap_select(r->imap, name, true, NULL, &mb);
		if (e)
			return sync_fail(r, e, "EXAMINE %.200s: %s", f->view.name,
					 client_imap_error(r->imap));
		f->view.remote_uidvalidity = mb.uidvalidity;
	}
	return 0;
}

static int run_rename_local(struct sync_run *r, struct sync_folder *from,
			    struct sync_folder *to, struct arena *a)
{
	char path[PATH_MAX];
	int e = client_maildir_folder_path(r->opts->maildir, to->view.name, path, sizeof(path));
	if (e)
		return sync_fail(r, e, "no local path for %.200s", to->view.name);
	if (rename(from->local_path, path) != 0)
		return sync_fail(r, ERR_IO, "cannot rename %s: %s", from->local_path,
				 strerror(errno));
	e = client_sync_state_folder_rename(r->st, from->view.name, to->view.name);
	return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
}

/* Carry out the folder actions; *changed_out says whether the tree must be read again. */
static int run_folder_actions(struct sync_run *r, struct run_tree *t, bool *changed_out)
{
	struct client_sync_folder *views = arena_alloc(t->a, (t->n + 1) * sizeof(*views));
	if (!views)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		views[i] = t->f[i].view;
	struct client_sync_folder_action *fa;
	size_t nfa;
	int e = client_sync_plan_folders(views, t->n, t->a, &fa, &nfa);
	if (e)
		return sync_fail(r, e, "out of memory");
	*changed_out = nfa > 0;
	for (size_t k = 0; !e && k < nfa; k++) {
		struct sync_folder *f = &t->f[fa[k].folder];
		struct sync_folder *to = fa[k].to < t->n ? &t->f[fa[k].to] : NULL;
		char name[LIMIT_MAILBOX_NAME + 1], name2[LIMIT_MAILBOX_NAME + 1];
		struct client_maildir *md;
		switch (fa[k].kind) {
		case CLIENT_SYNC_FOLDER_CREATE_REMOTE:
			e = sync_server_name(r, f->view.name, name, sizeof(name));
			if (!e)
				e = client_imap_create(r->imap, name);
			if (e && e != ERR_EXISTS)
				return sync_fail(r, e, "CREATE %.200s: %s", f->view.name,
						 client_imap_error(r->imap));
			e = 0;
			r->stats.folders_created++;
			break;
		case CLIENT_SYNC_FOLDER_CREATE_LOCAL:
			e = client_maildir_open(f->local_path, true, &md);
			if (e)
				return sync_fail(r, e, "cannot create %s: %s", f->local_path,
						 err_str(e));
			client_maildir_close(&md);
			r->stats.folders_created += !f->view.state_known;
			break;
		case CLIENT_SYNC_FOLDER_RENAME_REMOTE:
			e = sync_server_name(r, f->view.name, name, sizeof(name));
			if (!e)
				e = sync_server_name(r, to->view.name, name2, sizeof(name2));
			if (!e)
				e = client_imap_rename(r->imap, name, name2);
			if (e)
				return sync_fail(r, e, "RENAME %.200s: %s", f->view.name,
						 client_imap_error(r->imap));
			e = client_sync_state_folder_rename(r->st, f->view.name, to->view.name);
			if (e)
				return sync_fail(r, e, "%s", client_sync_state_error(r->st));
			r->stats.folders_renamed++;
			break;
		case CLIENT_SYNC_FOLDER_RENAME_LOCAL:
			e = run_rename_local(r, f, to, t->a);
			r->stats.folders_renamed++;
			break;
		case CLIENT_SYNC_FOLDER_FORGET:
			e = client_sync_state_folder_drop(r->st, f->view.name);
			if (e)
				return sync_fail(r, e, "%s", client_sync_state_error(r->st));
			break;
		}
	}
	return e;
}

/* A UID MOVE cut short (the row says where it was going): the plan sends it again if
 * the message is still here; else the row goes to its target as pending, and out of
 * this folder's rows (compacted in place, moved_to along with them). */
static int run_resume_moves(struct sync_run *r, struct run_tree *t, struct sync_folder *f,
			    size_t *moved_to)
{
	struct client_sync_row *rows = (struct client_sync_row *)f->view.rows;
	size_t out = 0;
	for (size_t i = 0; i < f->view.nrows; i++) {
		size_t to = CLIENT_SYNC_NONE;
		bool here = false;
		if (f->moving[i][0]) {
			for (size_t k = 0; k < t->n; k++)
				if (!strcmp(t->f[k].view.name, f->moving[i]))
					to = k;
			for (size_t k = 0; k < f->view.nremote && !here; k++)
				here = f->view.remote[k].uid == rows[i].uid;
			if (here && to != CLIENT_SYNC_NONE) {
				moved_to[i] = to;
			} else {
				int e = client_sync_state_row_refile(r->st, rows[i].id, f->moving[i],
								     0);
				if (e)
					return sync_fail(r, e, "%s", client_sync_state_error(r->st));
				continue;
			}
		}
		rows[out] = rows[i];
		moved_to[out] = moved_to[i];
		f->moving[out] = f->moving[i];
		out++;
	}
	f->view.nrows = out;
	return 0;
}

/* Remove a Maildir that holds no message: its cur/ new/ tmp/ (each must be empty),
 * the Maildir++ marker file, the directory. Anything else in it keeps it, quietly:
 * it is not ours to remove. */
static void run_remove_empty_maildir(const char *path)
{
	static const char *const parts[] = {"cur", "new", "tmp", "maildirfolder"};
	char p[PATH_MAX];
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int n = snprintf(p, sizeof(p), "%s/%s", path, parts[i]);
		if (n < 0 || (size_t)n >= sizeof(p))
			return;
		if ((i < 3 ? rmdir(p) : unlink(p)) != 0 && errno != ENOENT)
			return;
	}
	(void)rmdir(path); /* not empty: left as it is */
}

/* Whether f is as the last pass over it left it, on both sides, so that its SELECT and
 * listing can be left out: the server's STATUS (LIST-STATUS) has the UIDVALIDITY,
 * UIDNEXT, HIGHESTMODSEQ and MESSAGES the state recorded at the end of that pass (a
 * flag change moves HIGHESTMODSEQ, RFC 7162 3.1.2; a new message UIDNEXT; an expunge
 * MESSAGES), its directories are unchanged (trusted) or their listing is exactly its
 * rows, and no row changed since (another folder's move). Without HIGHESTMODSEQ
 * (no CONDSTORE, or a server that keeps none: 0) flag changes could not be told: never. */
static bool run_unchanged(struct sync_run *r, const struct sync_folder *f)
{
	const unsigned all = CLIENT_IMAP_STATUS_MESSAGES | CLIENT_IMAP_STATUS_UIDNEXT |
			     CLIENT_IMAP_STATUS_UIDVALIDITY | CLIENT_IMAP_STATUS_HIGHESTMODSEQ;
	const struct client_imap_mailbox_status *s = &f->status;
	uint64_t gen;
	if (!f->view.state_known || !f->view.remote_exists || (s->has & all) != all ||
	    !s->highestmodseq || s->uidvalidity != f->state.uidvalidity ||
	    s->uidnext != f->state.uidnext || s->highestmodseq != f->state.highestmodseq ||
	    s->messages != f->state.messages || (!f->local_trusted && !f->local_same))
		return false;
	if (r->select_inbox && !strcmp(f->view.name, "INBOX"))
		return false;
	return client_sync_state_rows_gen(r->st, f->view.name, &gen) == 0 && gen == f->rows_gen;
}

/* An upload needs the file's path and mtime, which a listing without a stat (a file its
 * row knows: R9 uploads it again) or a trusted folder did not take. A file gone since
 * is left out of the plan, as an upload of a vanished file would be. */
static int run_upload_paths(struct sync_run *r, struct run_tree *t, struct sync_folder *f,
			    struct client_sync_plan *p)
{
	size_t out = 0;
	for (size_t k = 0; k < p->nacts; k++) {
		const struct client_sync_action *act = &p->acts[k];
		if (act->kind == CLIENT_SYNC_UPLOAD && act->local != CLIENT_SYNC_NONE) {
			int e = sync_local_detail(r, f, act->local, t->a);
			if (e == ERR_NOTFOUND)
				continue;
			if (e)
				return e;
		}
		p->acts[out++] = *act;
	}
	p->nacts = out;
	return 0;
}

/* One folder: list the server side, plan, carry out, record. */
static int run_folder_pass(struct sync_run *r, struct run_tree *t, size_t idx,
			   struct client_sync_folder *views)
{
	struct sync_folder *f = &t->f[idx];
	int e = 0;
	if (run_unchanged(r, f)) {
		/* the SELECT would find nothing, and nothing here changed: the folder is as
		 * the last pass left it */
		f->unchanged = true;
		r->stats.folders++;
		r->stats.unchanged++;
		if (!strcmp(f->view.name, "INBOX")) {
			r->inbox_exists = f->status.messages;
			r->inbox_uidnext = f->status.uidnext;
			r->inbox_modseq = f->status.highestmodseq;
			r->inbox_from_status = true;
		}
		return 0;
	}
	if (!f->view.state_known && f->view.remote_exists && f->view.nlocal &&
	    (e = sync_adopt_local(r, f, views[idx].moved_in)))
		return e;
	/* Rows again: a folder before this one may have moved rows here (R7), the lines
	 * above may have added some (their generation tells). Both reads are in id order,
	 * so the moves found for the old rows carry over by a merge. */
	const struct client_sync_row *old = f->view.rows;
	size_t nold = f->view.nrows;
	uint64_t gen = 0;
	if (f->local_trusted || !f->view.state_known ||
	    client_sync_state_rows_gen(r->st, f->view.name, &gen) != 0 || gen != f->rows_gen) {
		e = client_sync_state_rows(r->st, f->view.name, t->a,
					   (struct client_sync_row **)&f->view.rows, &f->moving,
					   &f->view.nrows);
		if (!e && f->local_trusted)
			e = client_sync_state_rows_gen(r->st, f->view.name, &f->rows_gen);
		if (e)
			return sync_fail(r, e, "%s", client_sync_state_error(r->st));
		/* its directories are as its rows say: they are the local view */
		if (f->local_trusted && (e = sync_local_from_rows(r, f, t->a)))
			return e;
	}
	size_t *moved_to = arena_alloc(t->a, (f->view.nrows + 1) * sizeof(*moved_to));
	if (!moved_to)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	for (size_t i = 0, k = 0; i < f->view.nrows; i++) {
		while (k < nold && old[k].id < f->view.rows[i].id)
			k++;
		moved_to[i] = k < nold && old[k].id == f->view.rows[i].id && views[idx].moved_to
				      ? views[idx].moved_to[k]
				      : CLIENT_SYNC_NONE;
	}
	if (f->view.remote_exists) {
		e = sync_remote_list(r, f, t->a);
		if (e)
			return e;
	}
	if ((e = run_resume_moves(r, t, f, moved_to)))
		return e;
	f->view.moved_to = moved_to;
	f->view.moved_in = views[idx].moved_in;
	struct client_sync_plan p;
	if ((e = client_sync_plan_msgs(&f->view, t->a, &p)))
		return sync_fail(r, e, "out of memory");
	if (p.mode == CLIENT_SYNC_MODE_SKIP) {
		r->stats.skipped++;
		fprintf(stderr, "kasten sync: %s: the server's UIDNEXT went down with the same "
				"UIDVALIDITY; folder left alone\n", f->view.name);
		return 0;
	}
	if ((e = run_upload_paths(r, t, f, &p)) || (e = sync_exec(r, f, t->f, t->n, &p, t->a)))
		return e;
	if (!strcmp(f->view.name, "INBOX")) {
		r->inbox_exists = f->remote_count;
		r->inbox_uidnext = f->view.remote_uidnext;
		r->inbox_modseq = f->remote_modseq;
		r->inbox_from_status = false;
	}
	r->stats.folders++;
	if (p.mode == CLIENT_SYNC_MODE_REMOTE_GONE && !f->view.remote_exists) {
		/* S3: nothing of it left to sync (an upload would have created it again):
		 * its emptied Maildir goes too, or the next pass would create it anew on
		 * the server (R6) */
		if (strcmp(f->view.name, "INBOX") != 0)
			run_remove_empty_maildir(f->local_path);
		e = client_sync_state_folder_drop(r->st, f->view.name);
		return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
	}
	struct client_sync_state_folder sf = {
		.name = f->view.name, .uidvalidity = f->view.remote_uidvalidity,
		.uidnext = f->view.remote_uidnext, .highestmodseq = f->remote_modseq,
		.last_full = time(NULL), .messages = f->remote_count};
	if (f->view.state_known && sf.uidvalidity == f->state.uidvalidity &&
	    sf.uidnext == f->state.uidnext && sf.highestmodseq == f->state.highestmodseq &&
	    sf.messages == f->state.messages)
		return 0; /* nothing to write: a pass without changes costs no fsync */
	e = client_sync_state_folder_put(r->st, &sf);
	return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
}

/* After a pass: the local records a later pass may trust instead of listing (one
 * transaction, no flush: client_sync_state_put_local). */
static int run_settle(struct sync_run *r, struct run_tree *t, const char *scope)
{
	const char **names = arena_alloc(t->a, (t->n + 1) * sizeof(*names));
	struct client_sync_state_local *locs = arena_alloc(t->a, (t->n + 1) * sizeof(*locs));
	if (!names || !locs)
		return sync_fail(r, ERR_NOMEM, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct sync_folder *f = &t->f[i];
		if (scope && strcmp(scope, f->view.name) != 0)
			continue;
		int e = sync_local_settle(r, f, t->a, &locs[n]);
		if (e)
			return e;
		if (locs[n].at_ns)
			names[n++] = f->view.name;
	}
	int e = client_sync_state_put_local(r->st, names, locs, n);
	return e ? sync_fail(r, e, "%s", client_sync_state_error(r->st)) : 0;
}

/* The local side of the first pass, read while the server checks the password
 * (client_imap_login_overlap): the state opened (only one that exists and needs no
 * migration: nothing may change on disk before the login), every folder of the state
 * and of the tree with its rows and listing. Anything amiss (a new tree, a crash to
 * put right, an error) leaves it to the pass after the login, which then reads all. */
struct run_early {
	struct sync_run *r;
	struct arena a;
	struct run_tree t;
	bool done;
};

static int run_early_read(void *arg)
{
	struct run_early *x = arg;
	struct sync_run *r = x->r;
	char err[LIMIT_CLIENT_ERROR];
	if (client_sync_state_open_existing(r->opts->maildir, r->opts->user, &r->st, err,
					    sizeof(err)) != 0)
		return 0;
	arena_init(&x->a, LIMIT_CLIENT_SYNC_ARENA);
	x->t = (struct run_tree){.a = &x->a, .r = r};
	r->early = true;
	x->done = run_read_local(r, &x->t) == 0;
	r->early = false;
	r->error[0] = '\0';
	if (!x->done)
		arena_free(&x->a);
	return 0;
}

/* A pass over every folder (scope NULL) or over the one named. */
static int run_pass(struct sync_run *r, const char *scope, struct run_early *early)
{
	/* the local side read while the server checked the password, if it was: its
	 * arena (a head pointer and counts) moves here with what it holds */
	bool pre = early && early->done;
	struct arena a;
	if (pre)
		a = early->a;
	else
		arena_init(&a, LIMIT_CLIENT_SYNC_ARENA);
	struct run_tree t = {.a = &a, .r = r};
	int e = 0;
	/* Folder actions change the tree: read it again until it is stable (a rename on
	 * the server renames children too; their local folders follow on the next round). */
	for (int round = 0; round < 4; round++) {
		bool changed = false;
		if (pre && round == 0) {
			t = early->t;
			t.a = &a;
			e = run_read_remote(r, &t);
		} else {
			arena_reset(&a);
			t = (struct run_tree){.a = &a, .r = r};
			e = run_read_tree(r, &t);
		}
		if (e || (e = run_remote_validity(r, &t)) ||
		    (e = run_folder_actions(r, &t, &changed)) || !changed)
			break;
	}
	if (pre)
		early->done = false;
	/* R7 needs every folder's rows and files, but only when a row misses its file:
	 * else no move is there to find (a trusted folder misses none) */
	bool missing = false;
	for (size_t i = 0; !e && i < t.n; i++)
		missing |= t.f[i].local_missing;
	for (size_t i = 0; !e && missing && i < t.n; i++)
		if (t.f[i].local_trusted && !(e = run_read_rows(r, &t, &t.f[i])))
			e = sync_local_from_rows(r, &t.f[i], &a);
	struct client_sync_folder *views = e ? NULL : arena_alloc(&a, (t.n + 1) * sizeof(*views));
	if (!e && !views)
		e = sync_fail(r, ERR_NOMEM, "out of memory");
	for (size_t i = 0; !e && i < t.n; i++)
		views[i] = t.f[i].view;
	if (!e && missing && (e = client_sync_find_moves(views, t.n, &a)))
		e = sync_fail(r, e, "out of memory");
	/* INBOX first: what arrives there matters most */
	for (int inbox = 1; inbox >= 0 && !e; inbox--)
		for (size_t i = 0; !e && i < t.n; i++) {
			if ((strcmp(t.f[i].view.name, "INBOX") == 0) != inbox)
				continue;
			if (scope && strcmp(scope, t.f[i].view.name) != 0)
				continue;
			e = run_folder_pass(r, &t, i, views);
		}
	/* --headers-first: every folder's new headers are there; now the bodies */
	for (size_t i = 0; !e && r->opts->headers_first && i < t.n; i++)
		if (!scope || !strcmp(scope, t.f[i].view.name))
			e = sync_body_fill(r, &t.f[i], &a);
	if (!e)
		e = run_settle(r, &t, scope);
	arena_free(&a);
	r->stats.passes++;
	return e;
}

/* ---- staying connected ---- */

/* The mtimes of every local folder's new/ and cur/ (and the root's), folded into one
 * number: any file added, removed or renamed in them changes it. */
struct run_sig {
	uint64_t sum;
};

static void run_sig_dir(struct run_sig *s, const char *path, const char *sub)
{
	char p[PATH_MAX];
	struct stat st;
	int n = snprintf(p, sizeof(p), "%s/%s", path, sub);
	if (n < 0 || (size_t)n >= sizeof(p) || stat(p, &st) != 0)
		return;
	s->sum = s->sum * 1000003u + (uint64_t)st.st_mtim.tv_sec * 1000000000u +
		 (uint64_t)st.st_mtim.tv_nsec + st.st_ino;
}

static int run_sig_cb(void *arg, const char *name, const char *path)
{
	run_sig_dir(arg, path, "new");
	run_sig_dir(arg, path, "cur");
	return 0;
}

static uint64_t run_local_sig(const struct sync_run *r)
{
	struct run_sig s = {0};
	run_sig_dir(&s, r->opts->maildir, ".");
	(void)client_maildir_folders(r->opts->maildir, run_sig_cb, &s); /* a tree gone: 0 */
	return s.sum;
}

/* Anything the server says about INBOX while we wait is a reason for a pass. */
static int run_wait_exists(void *arg, uint32_t n)
{
	*(bool *)arg = true;
	return 0;
}

static int run_wait_expunge(void *arg, uint32_t seq)
{
	*(bool *)arg = true;
	return 0;
}

static int run_wait_fetch(void *arg, const struct client_imap_fetch *f)
{
	*(bool *)arg = true;
	return 0;
}

static int run_wait_vanished(void *arg, bool earlier, uint32_t lo, uint32_t hi)
{
	*(bool *)arg = true; /* RFC 7162 3.2.10: EXPUNGE's stand-in once QRESYNC is on */
	return 0;
}

static int run_stay(struct sync_run *r, volatile const sig_atomic_t *stop)
{
	unsigned full = r->opts->full_check_s ? r->opts->full_check_s : LIMIT_CLIENT_SYNC_FULL_CHECK;
	time_t last_full = time(NULL);
	uint64_t sig = r->local_sig;
	bool idle = client_imap_has(r->imap, CLIENT_IMAP_CAP_IDLE);
	struct client_imap_mailbox mb;
	int e = client_imap_select(r->imap, "INBOX", false, NULL, &mb);
	if (e)
		return sync_fail(r, e, "SELECT INBOX: %s", client_imap_error(r->imap));
	while (!(stop && *stop)) {
		int got = 0;
		/* what came between the pass's look at INBOX and this SELECT */
		bool missed = mb.exists != r->inbox_exists || mb.uidnext != r->inbox_uidnext ||
			      mb.highestmodseq != r->inbox_modseq;
		bool changed = false;
		struct client_imap_events ev = {.arg = &changed, .exists = run_wait_exists,
						.expunge = run_wait_expunge, .fetch = run_wait_fetch,
						.vanished = run_wait_vanished};
		client_imap_set_events(r->imap, &ev);
		if (missed) {
			/* a server whose STATUS and SELECT disagree would start a pass each
			 * time: the next one SELECTs INBOX, whatever its STATUS says */
			r->select_inbox = r->inbox_from_status;
			got = 1;
		} else if (idle) {
			got = client_imap_idle(r->imap, LIMIT_CLIENT_SYNC_LOCAL_POLL * 1000);
		} else {
			/* RFC 9051 6.1.2: NOOP is how a client without IDLE polls */
			sleep(LIMIT_CLIENT_SYNC_LOCAL_POLL);
			got = client_imap_noop(r->imap);
			got = got < 0 ? got : changed;
		}
		client_imap_set_events(r->imap, NULL);
		if (got < 0 && stop && *stop)
			return 0; /* the signal cut the wait short: a clean end */
		if (got < 0)
			return sync_fail(r, got, "IDLE: %s", client_imap_error(r->imap));
		uint64_t now_sig = run_local_sig(r);
		const char *scope = "INBOX";
		bool run = got > 0;
		if (now_sig != sig || time(NULL) - last_full >= (time_t)full) {
			scope = NULL;
			run = true;
		}
		if (!run)
			continue;
		/* the signature before the pass: a file dropped in while it runs is seen on
		 * the next look (our own changes cost one more pass that finds nothing) */
		sig = now_sig;
		e = run_pass(r, scope, NULL);
		r->select_inbox = false;
		if (e)
			return e;
		if (!scope)
			last_full = time(NULL);
		if ((e = client_imap_select(r->imap, "INBOX", false, NULL, &mb)))
			return sync_fail(r, e, "SELECT INBOX: %s", client_imap_error(r->imap));
	}
	return 0;
}

/* ---- the run ---- */

static int run_connect(struct sync_run *r, struct run_early *early)
{
	int e = client_imap_open(r->opts->ep, &r->imap, r->error, sizeof(r->error));
	if (e)
		return e;
	e = client_imap_login_overlap(r->imap, r->opts->user, r->opts->password, run_early_read,
				      early);
	if (e)
		return sync_fail(r, e, "login failed: %s", client_imap_error(r->imap));
	/* ENABLE goes out with the first pass's LIST, which does not depend on it (its
	 * answer is taken in run_read_remote, before any SELECT that would); the hierarchy
	 * delimiter comes with that LIST's answer */
	unsigned want = CLIENT_IMAP_CAP_CONDSTORE | CLIENT_IMAP_CAP_QRESYNC;
	if (client_imap_has(r->imap, CLIENT_IMAP_CAP_ENABLE) &&
	    (client_imap_caps(r->imap) & want)) {
		e = client_imap_enable_ahead(r->imap, client_imap_caps(r->imap) & want);
		if (e)
			return sync_fail(r, e, "ENABLE: %s", client_imap_error(r->imap));
		r->enable_ahead = true;
	}
	return 0;
}

static void run_close_state(void *arg)
{
	struct sync_run *r = arg;
	client_sync_state_close(&r->st);
}

int client_sync_run(const struct client_sync_opts *o, volatile const sig_atomic_t *stop,
		    struct client_sync_stats *stats_out, char *err_out, size_t err_cap)
{
	struct sync_run r = {.opts = o};
	struct run_early early = {.r = &r};
	struct client_maildir *root;
	/* Connect and log in before anything local is made: a wrong password or an
	 * unreachable server changes nothing on disk (what is read meanwhile changes
	 * nothing either). */
	int e = run_connect(&r, &early);
	if (!e) {
		e = client_maildir_open(o->maildir, true, &root);
		if (e)
			(void)sync_fail(&r, e, "cannot create %s: %s", o->maildir, err_str(e));
		else
			client_maildir_close(&root);
	}
	if (!e && !r.st)
		e = client_sync_state_open(o->maildir, o->user, &r.st, r.error, sizeof(r.error));
	if (!e) {
		if (!o->once)
			r.local_sig = run_local_sig(&r);
		e = run_pass(&r, NULL, &early);
	}
	if (early.done)
		arena_free(&early.a); /* the run ended before its first pass */
	if (!e && !o->once)
		e = run_stay(&r, stop);
	if (r.imap) {
		struct client_conn *c = client_imap_conn(r.imap);
		r.stats.bytes_in = client_conn_bytes_in(c);
		r.stats.bytes_out = client_conn_bytes_out(c);
		/* best effort: the work is done and the state closed while the server
		 * answers */
		if (!e)
			(void)client_imap_logout_overlap(r.imap, run_close_state, &r);
		client_imap_close(&r.imap);
	}
	client_sync_state_close(&r.st);
	*stats_out = r.stats;
	if (e)
		(void)snprintf(err_out, err_cap, "%s", r.error[0] ? r.error : err_str(e));
	return e;
}
