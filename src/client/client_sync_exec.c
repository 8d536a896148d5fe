/* client_sync_exec.c: carrying out one folder's plan (client_sync.h) against the
 * selected mailbox and its Maildir, in an order that keeps the state crash-safe:
 * - downloads go in batches (client_sync_fetch.c): every wanted UID in as few UID FETCH
 *   commands as fit, each body staged in tmp/ as it streams and its row ("fetching",
 *   with the file's base name, digest and size) written into one open transaction;
 *   per batch the transaction commits first, then the files are flushed, the renames
 *   into new/ or cur/ and one fsync per directory, then the rows lose "fetching" in the next
 *   transaction. Why this order is safe: a file can only be seen in new/ or cur/ after
 *   the row that names it is durable, so a kill -9 anywhere leaves either a row to fetch
 *   again (its file still in tmp/, never read; removed after
 *   LIMIT_CLIENT_MAILDIR_TMP_AGE) or a file its row knows (the next pass completes the
 *   row), never a stray file that would be uploaded as new; and since the files' flush
 *   precedes the renames, a power loss cannot leave a renamed file without its bytes;
 * - uploads go in batches of LIMIT_CLIENT_IMAP_APPEND_BATCH messages (and _BYTES): the
 *   batch's rows are written with UID 0 ("upload pending") and committed before the one
 *   MULTIAPPEND (RFC 3502; one APPEND each without it), whose APPENDUID set gives the
 *   UIDs in order; a lost answer leaves pending rows that the next pass pairs with the
 *   server's copies by Message-ID and size (R1), never uploading twice. A pending row
 *   this pass did not adopt is looked for once more just before it is sent again, after
 *   LIMIT_CLIENT_SYNC_SETTLE seconds: the session of a run killed mid-MULTIAPPEND may
 *   still be storing that batch;
 * - a deletion on the server marks its rows "deleting" before STORE \Deleted and UID
 *   EXPUNGE; a move marks the row's target before UID MOVE;
 * - flags go to the server before the row records them (a crash in between finds both
 *   sides agreeing and the row behind, which the next pass simply records).
 * The transfers come after the folder's other actions (each message has one action
 * besides its row's update, so the order between messages is free). Row writes without
 * a transfer in between share one transaction (one flush). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_digest.h"
#include "client/client_sync_int.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

struct exec_ctx {
	struct sync_run *r;
	struct sync_folder *f;
	struct client_maildir *md;
	bool in_tx;
};

static int exec_tx(struct exec_ctx *x, bool want)
{
	if (x->in_tx == want)
		return 0;
	int e = want ? client_sync_state_begin(x->r->st) : client_sync_state_commit(x->r->st);
	if (e)
		return sync_fail(x->r, e, "%s", client_sync_state_error(x->r->st));
	x->in_tx = want;
	return 0;
}

static int exec_state(struct exec_ctx *x, int e)
{
	return e ? sync_fail(x->r, e, "%s", client_sync_state_error(x->r->st)) : 0;
}

static int exec_imap(struct exec_ctx *x, int e, const char *what)
{
	return e ? sync_fail(x->r, e, "%s in %.200s: %s", what, x->f->view.name,
			     client_imap_error(x->r->imap))
		 : 0;
}

/* The folder's Maildir, created on first need (a download into a new folder). */
static int exec_maildir(struct exec_ctx *x)
{
	if (x->md)
		return 0;
	int e = client_maildir_open(x->f->local_path, true, &x->md);
	return e ? sync_fail(x->r, e, "cannot open %s: %s", x->f->local_path, err_str(e)) : 0;
}

/* The Maildir, opened when the plan downloads anything. */
static int exec_maildir_if(struct exec_ctx *x, const struct client_sync_plan *p)
{
	for (size_t i = 0; i < p->nacts; i++)
		if (p->acts[i].kind == CLIENT_SYNC_DOWNLOAD)
			return exec_maildir(x);
	return 0;
}

/* ---- upload ---- */

/* The file with LF line ends as it goes on the wire: every LF not after a CR gets one. */
struct exec_ul {
	int fd;
	bool cr; /* the last byte handed on was a CR */
	char pending; /* an LF held back when buf had room for only one byte */
};

static int exec_ul_read(void *arg, void *buf, size_t cap, size_t *n_out)
{
	struct exec_ul *u = arg;
	char in[LIMIT_CLIENT_MAILDIR_WRITE];
	char *out = buf;
	size_t n = 0;
	if (u->pending && cap) {
		out[n++] = u->pending;
		u->pending = 0;
		u->cr = false;
	}
	size_t want = (cap - n) / 2;
	if (want > sizeof(in))
		want = sizeof(in);
	if (want == 0 && n == 0)
		want = 1;
	ssize_t got = want ? read(u->fd, in, want) : 0;
	if (got < 0)
		return ERR_IO;
	for (ssize_t i = 0; i < got; i++) {
		if (in[i] == '\n' && !u->cr) {
			out[n++] = '\r';
			if (n == cap) {
				u->pending = '\n';
				break;
			}
		}
		out[n++] = in[i];
		u->cr = in[i] == '\r';
	}
	*n_out = n;
	return 0;
}

/* The digest of a local file: SHA-256, RFC822.SIZE and Message-ID. */
static int exec_digest_file(const char *path, char *sha, uint64_t *size, char *id, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	struct client_digest d;
	int e = client_digest_init(&d);
	char buf[LIMIT_CLIENT_MAILDIR_WRITE];
	ssize_t n;
	while (!e && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0)
			e = ERR_IO;
		else
			client_digest_update(&d, buf, (size_t)n);
	}
	close(fd);
	if (e) {
		client_digest_free(&d);
		return e;
	}
	return client_digest_final(&d, sha, size, id, cap);
}

int sync_adopt_local(struct sync_run *r, struct sync_folder *f, const bool *moved_in)
{
	const struct client_sync_folder *v = &f->view;
	f->adopted_from = 0;
	int e = client_sync_state_begin(r->st);
	for (size_t l = 0; !e && l < v->nlocal; l++) {
		bool known = moved_in && moved_in[l];
		for (size_t i = 0; i < v->nrows && !known; i++)
			known = !strcmp(v->rows[i].base, v->local[l].base);
		if (known)
			continue;
		char sha[CLIENT_DIGEST_HEX], id[LIMIT_MSGID + 3];
		uint64_t size;
		int de = exec_digest_file(f->local_paths[l], sha, &size, id, sizeof(id));
		if (de == ERR_NOTFOUND)
			continue; /* gone since the listing */
		if (de) {
			e = sync_fail(r, de, "cannot read %s: %s", f->local_paths[l], err_str(de));
			break;
		}
		struct client_sync_row row = {.base = v->local[l].base, .flags = v->local[l].flags,
					      .keywords = "", .msgid = id, .sha256 = sha,
					      .size = size};
		int64_t id_new = 0;
		if (client_sync_state_row_add(r->st, v->name, &row, &id_new))
			e = sync_fail(r, ERR_IO, "%s", client_sync_state_error(r->st));
		/* ids only grow (SQLite's rowid is the highest plus one) */
		else if (!f->adopted_from)
			f->adopted_from = id_new;
	}
	if (!e && client_sync_state_commit(r->st))
		e = sync_fail(r, ERR_IO, "%s", client_sync_state_error(r->st));
	return e;
}

/* Without APPENDUID: the highest UID with this Message-ID that no row has. */
struct exec_search {
	uint32_t best;
};

static int exec_search_cb(void *arg, uint32_t lo, uint32_t hi)
{
	struct exec_search *s = arg;
	if (hi > s->best)
		s->best = hi;
	return 0;
}

static uint32_t exec_find_uid(struct exec_ctx *x, const char *msgid, uint64_t size)
{
	char q[LIMIT_MSGID + 8], crit[LIMIT_MSGID + 80];
	if (!msgid[0] || client_imap_quote(msgid, q, sizeof(q)) != 0)
		return 0;
	/* RFC 9051 6.4.4: LARGER n / SMALLER n are strict, so this is "exactly size" */
	int n = size ? snprintf(crit, sizeof(crit), "HEADER Message-ID %s LARGER %llu SMALLER %llu",
				q, (unsigned long long)size - 1, (unsigned long long)size + 1)
		     : snprintf(crit, sizeof(crit), "HEADER Message-ID %s", q);
	if (n < 0 || (size_t)n >= sizeof(crit))
		return 0;
	struct exec_search s = {0};
	struct client_imap_events ev = {.arg = &s, .search = exec_search_cb};
	client_imap_set_events(x->r->imap, &ev);
	int e = client_imap_uid_search(x->r->imap, crit);
	client_imap_set_events(x->r->imap, NULL);
	return e ? 0 : s.best;
}

static int exec_create_remote(struct exec_ctx *x)
{
	struct client_sync_folder *v = &x->f->view;
	if (v->remote_exists)
		return 0;
	char name[LIMIT_MAILBOX_NAME + 1];
	int e = sync_server_name(x->r, v->name, name, sizeof(name));
	if (!e)
		e = client_imap_create(x->r->imap, name);
	if (e && e != ERR_EXISTS)
		return exec_imap(x, e, "CREATE");
	v->remote_exists = true;
	x->r->stats.folders_created++;
	return 0;
}

/* One message of an APPEND batch: its row (strings in the entry) and its reader. */
struct exec_up {
	const struct client_sync_action *act;
	struct client_sync_row row;
	char sha[CLIENT_DIGEST_HEX], id[LIMIT_MSGID + 3];
	struct exec_ul u;
};

/* The row's strings point into the entry: again after the entry was copied. */
static void exec_up_point(struct exec_up *up)
{
	up->row.sha256 = up->sha;
	up->row.msgid = up->id;
}

/* Whether an upload's row is pending from an earlier run (an APPEND whose answer was
 * lost) in a folder this pass listed on the server: not one sync_adopt_local made in
 * this pass, which was never sent. */
static bool exec_lost_append(const struct exec_ctx *x, const struct client_sync_action *act)
{
	const struct sync_folder *f = x->f;
	if (act->row == CLIENT_SYNC_NONE || f->view.rows[act->row].uid || !f->remote_selected)
		return false;
	return !f->adopted_from || f->view.rows[act->row].id < f->adopted_from;
}

/* Before the APPEND: the row pending (UID 0) in the open transaction, which commits
 * before the APPEND is sent. *send_out false: nothing to send (the file is gone, or a
 * pending row's message was found on the server after all). */
static int exec_up_prepare(struct exec_ctx *x, const struct client_sync_action *act,
			   struct exec_up *up, bool *send_out)
{
	struct client_sync_folder *v = &x->f->view;
	const struct client_sync_local *lf = &v->local[act->local];
	const char *path = x->f->local_paths[act->local];
	uint64_t size;
	*send_out = false;
	int e = exec_digest_file(path, up->sha, &size, up->id, sizeof(up->id));
	if (e == ERR_NOTFOUND)
		return 0; /* moved or deleted since the listing: the next pass sees it */
	if (e)
		return sync_fail(x->r, e, "cannot read %s: %s", path, err_str(e));
	struct client_sync_row row = {.id = -1, .keywords = ""};
	if (act->row != CLIENT_SYNC_NONE)
		row = v->rows[act->row];
	/* A pending row is an APPEND whose answer was lost; the server may have finished
	 * it after the listing (its commit can outlive the connection): look once more,
	 * just before sending it again. A row this pass adopted was never sent: the
	 * listing that the plan paired it against is recent enough. */
	uint32_t found = exec_lost_append(x, act) ? exec_find_uid(x, up->id, size) : 0;
	for (size_t i = 0; found && i < v->nrows; i++)
		if (v->rows[i].uid == found)
			found = 0; /* another row's copy */
	row.uid = 0;
	row.base = lf->base;
	row.flags = lf->flags;
	row.size = size;
	row.deleting = row.fetching = false;
	up->act = act;
	up->row = row;
	exec_up_point(up);
	e = act->row != CLIENT_SYNC_NONE
		    ? client_sync_state_row_put(x->r->st, &up->row)
		    : client_sync_state_row_add(x->r->st, v->name, &up->row, &up->row.id);
	if (e)
		return exec_state(x, e);
	if (found) {
		up->row.uid = found;
		return exec_state(x, client_sync_state_row_put(x->r->st, &up->row));
	}
	*send_out = true;
	return 0;
}

/* APPEND b[0..n) in one command (MULTIAPPEND when n > 1); files gone meanwhile are
 * left out (moved behind the others: *sent_out says how many went, b[0..*sent_out)),
 * their UIDs into uids (0: not known). */
static int exec_up_append(struct exec_ctx *x, const char *name, struct exec_up *b, size_t n,
			  uint32_t *uids, uint32_t *validity, size_t *sent_out)
{
	struct client_imap_append_msg msgs[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	size_t k = 0;
	for (size_t j = 0; j < n; j++) {
		const struct client_sync_action *act = b[j].act;
		b[j].u = (struct exec_ul){
			.fd = open(x->f->local_paths[act->local], O_RDONLY | O_CLOEXEC)};
		if (b[j].u.fd < 0)
			continue; /* gone since: its pending row is forgotten on the next pass */
		if (k != j) {
			struct exec_up t = b[k];
			b[k] = b[j];
			b[j] = t;
			exec_up_point(&b[j]);
		}
		exec_up_point(&b[k]);
		msgs[k] = (struct client_imap_append_msg){
			.flags = b[k].row.flags,
			.keywords = b[k].row.keywords[0] ? b[k].row.keywords : NULL,
			.date = x->f->local_mtime[b[k].act->local], .size = b[k].row.size,
			.read = exec_ul_read, .arg = &b[k].u};
		k++;
	}
	*sent_out = k;
	int e = client_imap_append(x->r->imap, name, msgs, k, validity, uids);
	for (size_t j = 0; j < k; j++)
		close(b[j].u.fd);
	return e;
}

/* Send one batch and record the UIDs (the transaction is left open: these rows commit
 * with the next batch's pending ones, or at the folder's end). */
static int exec_up_send(struct exec_ctx *x, struct exec_up *b, size_t n)
{
	struct client_sync_folder *v = &x->f->view;
	char name[LIMIT_MAILBOX_NAME + 1];
	uint32_t uids[LIMIT_CLIENT_IMAP_APPEND_BATCH], validity[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	size_t sent = 0;
	int e = exec_create_remote(x);
	if (e || (e = sync_server_name(x->r, v->name, name, sizeof(name))))
		return e;
	e = exec_up_append(x, name, b, n, uids, &validity[0], &sent);
	for (size_t j = 1; !e && j < sent; j++)
		validity[j] = validity[0];
	/* RFC 3502 6.3.11: a refused MULTIAPPEND appended none of them; one at a time the
	 * others go up and the error comes with the message it is about. A lost
	 * connection or a response that does not parse ends the session instead. */
	bool refused = e == ERR_PERM || e == ERR_QUOTA || e == ERR_TOO_BIG || e == ERR_TEMP ||
		       e == ERR_INVAL;
	if (e && refused && sent > 1) {
		size_t n1 = sent;
		e = 0;
		for (sent = 0; !e && sent < n1;) {
			size_t one = 0;
			e = exec_up_append(x, name, &b[sent], 1, &uids[sent], &validity[sent], &one);
			if (!e && !one) /* gone meanwhile: to the end, out of this batch */
				b[sent] = b[--n1];
			else if (!e)
				sent++;
		}
	}
	if (e)
		return exec_imap(x, e, "APPEND");
	x->r->stats.uploaded += sent;
	e = exec_tx(x, true);
	for (size_t j = 0; !e && j < sent; j++) {
		exec_up_point(&b[j]);
		uint32_t uid = uids[j];
		/* without APPENDUID, or for another UIDVALIDITY than the listing's: by
		 * Message-ID and size in the selected folder (not selected: the folder was
		 * made by this pass, the next pass finds it) */
		if (x->f->remote_selected && (!uid || validity[j] != v->remote_uidvalidity))
			uid = exec_find_uid(x, b[j].id, b[j].row.size);
		if (!uid)
			continue; /* stays pending: matched by Message-ID and size on the next pass */
		b[j].row.uid = uid;
		e = exec_state(x, client_sync_state_row_put(x->r->st, &b[j].row));
	}
	return e;
}

/* The UPLOAD actions of the plan, LIMIT_CLIENT_IMAP_APPEND_BATCH messages and _BYTES per
 * APPEND (one when the server has no MULTIAPPEND): their pending rows commit together,
 * then the one APPEND, then the UIDs. */
static int exec_uploads(struct exec_ctx *x, const struct client_sync_plan *p, struct arena *a)
{
	/* A pending row that this pass did not adopt is an APPEND whose answer was lost;
	 * the session of a run killed in the middle of a MULTIAPPEND may still be storing
	 * it on the server (its commit outlives the connection). Before such rows are
	 * looked for once more (exec_up_prepare) and sent again, that session is given
	 * time to end: otherwise both copies would stay. Then a NOOP (RFC 9051 6.1.2):
	 * a server shows this session what another one added only at a command's end, and
	 * a UID SEARCH looks only at what the session was shown (Dovecot does so). */
	bool settle = false;
	for (size_t i = 0; i < p->nacts && !settle; i++)
		settle = p->acts[i].kind == CLIENT_SYNC_UPLOAD && exec_lost_append(x, &p->acts[i]);
	if (settle) {
		(void)sleep(LIMIT_CLIENT_SYNC_SETTLE); /* a signal only shortens the wait */
		int e = exec_imap(x, client_imap_noop(x->r->imap), "NOOP");
		if (e)
			return e;
	}
	bool multi = client_imap_has(x->r->imap, CLIENT_IMAP_CAP_MULTIAPPEND);
	size_t cap = multi ? LIMIT_CLIENT_IMAP_APPEND_BATCH : 1;
	struct exec_up *b = NULL;
	size_t nb = 0, done = 0;
	int e = 0;
	for (size_t i = 0; !e && i <= p->nacts; i++) {
		const struct client_sync_action *act = i < p->nacts ? &p->acts[i] : NULL;
		if (act && act->kind != CLIENT_SYNC_UPLOAD)
			continue;
		if (act && !b && !(b = arena_alloc(a, (cap + 1) * sizeof(*b))))
			return sync_fail(x->r, ERR_NOMEM, "out of memory");
		bool send = false;
		if (act && !(e = exec_tx(x, true)))
			e = exec_up_prepare(x, act, &b[nb], &send);
		nb += send;
		uint64_t bytes = 0;
		for (size_t j = 0; j < nb; j++)
			bytes += b[j].row.size;
		/* the batch is full, over its bytes (the last one then waits for the next),
		 * or the plan is done */
		bool over = nb > 1 && bytes > LIMIT_CLIENT_IMAP_APPEND_BYTES;
		if (e || !nb || (act && nb < cap && !over))
			continue;
		size_t now = over ? nb - 1 : nb;
		if (!(e = exec_tx(x, false))) /* the pending rows before the APPEND */
			e = exec_up_send(x, b, now);
		if (over) {
			b[0] = b[nb - 1];
			exec_up_point(&b[0]);
		}
		nb -= now;
		done += now;
		if (!act && nb)
			i--; /* the one left over goes alone */
		if (x->r->opts->progress)
			x->r->opts->progress(x->r->opts->progress_arg, x->f->view.name, done,
					     p->nacts);
	}
	return e;
}

/* ---- flags, deletions, moves ---- */

static int exec_store(struct exec_ctx *x, const char *set, char op, unsigned flags)
{
	if (!flags)
		return 0;
	return exec_imap(x, client_imap_uid_store(x->r->imap, set, op, flags, NULL, 0, NULL),
			 "UID STORE");
}

static int exec_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Every FLAGS_REMOTE with the same additions and removals in one UID STORE pair. */
static int exec_flags_remote(struct exec_ctx *x, const struct client_sync_plan *p,
			     struct arena *a)
{
	const struct client_sync_folder *v = &x->f->view;
	uint32_t *uids = arena_alloc(a, (p->nacts + 1) * sizeof(*uids));
	bool *done = arena_zalloc(a, p->nacts + 1);
	if (!uids || !done)
		return sync_fail(x->r, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < p->nacts; i++) {
		const struct client_sync_action *act = &p->acts[i];
		if (act->kind != CLIENT_SYNC_FLAGS_REMOTE || done[i])
			continue;
		size_t n = 0;
		for (size_t k = i; k < p->nacts; k++) {
			const struct client_sync_action *o = &p->acts[k];
			if (o->kind == CLIENT_SYNC_FLAGS_REMOTE && !done[k] && o->add == act->add &&
			    o->del == act->del) {
				uids[n++] = v->remote[o->remote].uid;
				done[k] = true;
			}
		}
		/* the plan lists rows in state order: sort for a compact UID set */
		qsort(uids, n, sizeof(*uids), exec_uid_cmp);
		for (size_t off = 0; off < n;) {
			char set[LIMIT_CLIENT_SYNC_UIDSET];
			size_t used;
			int e = client_imap_uidset(uids + off, n - off, set, sizeof(set), &used);
			if (!e)
				e = exec_store(x, set, '+', act->add);
			if (!e)
				e = exec_store(x, set, '-', act->del);
			if (e)
				return e;
			off += used;
		}
		x->r->stats.flags_remote += n;
	}
	return 0;
}

/* R4 on the server: rows marked, then \Deleted and UID EXPUNGE, then the rows go. */
static int exec_delete_remote(struct exec_ctx *x, const struct client_sync_plan *p,
			      struct arena *a)
{
	const struct client_sync_folder *v = &x->f->view;
	uint32_t *uids = arena_alloc(a, (p->nacts + 1) * sizeof(*uids));
	if (!uids)
		return sync_fail(x->r, ERR_NOMEM, "out of memory");
	size_t n = 0;
	int e = exec_tx(x, true);
	for (size_t i = 0; !e && i < p->nacts; i++) {
		const struct client_sync_action *act = &p->acts[i];
		if (act->kind != CLIENT_SYNC_DELETE_REMOTE)
			continue;
		struct client_sync_row row = v->rows[act->row];
		row.deleting = true;
		uids[n++] = v->remote[act->remote].uid;
		e = exec_state(x, client_sync_state_row_put(x->r->st, &row));
	}
	if (!e)
		e = exec_tx(x, false);
	if (e || !n)
		return e;
	qsort(uids, n, sizeof(*uids), exec_uid_cmp);
	bool uidplus = client_imap_has(x->r->imap, CLIENT_IMAP_CAP_UIDPLUS);
	for (size_t off = 0; off < n;) {
		char set[LIMIT_CLIENT_SYNC_UIDSET];
		size_t used;
		e = client_imap_uidset(uids + off, n - off, set, sizeof(set), &used);
		if (!e)
			e = exec_store(x, set, '+', CLIENT_FLAG_TRASHED);
		/* Without UIDPLUS only a plain EXPUNGE is left, which also removes what
		 * another client marked \Deleted: that is what \Deleted asks for. */
		if (!e)
			e = exec_imap(x, uidplus ? client_imap_uid_expunge(x->r->imap, set)
						 : client_imap_expunge(x->r->imap), "EXPUNGE");
		if (e)
			return e;
		off += used;
	}
	e = exec_tx(x, true);
	for (size_t i = 0; !e && i < p->nacts; i++)
		if (p->acts[i].kind == CLIENT_SYNC_DELETE_REMOTE)
			e = exec_state(x, client_sync_state_row_drop(x->r->st,
								     v->rows[p->acts[i].row].id));
	x->r->stats.deleted_remote += n;
	return e ? e : exec_tx(x, false);
}

/* R7: UID MOVE (or COPY, \Deleted, UID EXPUNGE); the row follows as pending in the
 * target, where Message-ID and size find its new UID. */
static int exec_move(struct exec_ctx *x, const struct client_sync_action *act,
		     const struct sync_folder *to)
{
	const struct client_sync_row *row = &x->f->view.rows[act->row];
	char uid[16], dest[LIMIT_MAILBOX_NAME + 1];
	int e = sync_server_name(x->r, to->view.name, dest, sizeof(dest));
	if (e)
		return sync_fail(x->r, e, "folder name too long");
	e = exec_state(x, client_sync_state_row_moving(x->r->st, row->id, to->view.name));
	if (e)
		return e;
	(void)snprintf(uid, sizeof(uid), "%u", x->f->view.remote[act->remote].uid);
	if (client_imap_has(x->r->imap, CLIENT_IMAP_CAP_MOVE)) {
		e = exec_imap(x, client_imap_uid_move(x->r->imap, uid, dest), "UID MOVE");
	} else {
		e = exec_imap(x, client_imap_uid_copy(x->r->imap, uid, dest), "UID COPY");
		if (!e)
			e = exec_store(x, uid, '+', CLIENT_FLAG_TRASHED);
		if (!e && client_imap_has(x->r->imap, CLIENT_IMAP_CAP_UIDPLUS))
			e = exec_imap(x, client_imap_uid_expunge(x->r->imap, uid), "UID EXPUNGE");
	}
	if (e)
		return e;
	x->r->stats.moved++;
	return exec_state(x, client_sync_state_row_refile(x->r->st, row->id, to->view.name, 0));
}

/* One action that is neither batched nor a transfer: a row write, a rename, an unlink. */
static int exec_local(struct exec_ctx *x, const struct client_sync_action *act)
{
	const struct client_sync_folder *v = &x->f->view;
	struct client_sync_row row = act->row != CLIENT_SYNC_NONE ? v->rows[act->row]
								  : (struct client_sync_row){0};
	int e;
	switch (act->kind) {
	case CLIENT_SYNC_RELINK:
		row.uid = v->remote[act->remote].uid;
		return exec_state(x, client_sync_state_row_put(x->r->st, &row));
	case CLIENT_SYNC_FLAGS_LOCAL:
		if ((e = exec_maildir(x)))
			return e;
		e = client_maildir_set_flags(x->md, row.base, act->flags);
		if (e && e != ERR_NOTFOUND)
			return sync_fail(x->r, e, "cannot rename in %s: %s", x->f->local_path,
					 err_str(e));
		x->r->stats.flags_local++;
		return 0;
	case CLIENT_SYNC_UPDATE_ROW:
		row.flags = act->flags;
		if (act->remote != CLIENT_SYNC_NONE)
			row.keywords = v->remote[act->remote].keywords;
		row.fetching = false;
		return exec_state(x, client_sync_state_row_put(x->r->st, &row));
	case CLIENT_SYNC_DELETE_LOCAL:
		if ((e = exec_maildir(x)))
			return e;
		e = client_maildir_remove(x->md, row.base);
		if (e && e != ERR_NOTFOUND)
			return sync_fail(x->r, e, "cannot remove from %s: %s", x->f->local_path,
					 err_str(e));
		x->r->stats.deleted_local++;
		return exec_state(x, client_sync_state_row_drop(x->r->st, row.id));
	case CLIENT_SYNC_FORGET:
		return exec_state(x, client_sync_state_row_drop(x->r->st, row.id));
	default:
		return 0;
	}
}

int sync_exec(struct sync_run *r, struct sync_folder *f, struct sync_folder *all, size_t nall,
	      const struct client_sync_plan *p, struct arena *a)
{
	struct exec_ctx x = {.r = r, .f = f};
	int e = 0;
	/* RELINKs first (the plan puts them first), so the rest sees the new UIDs */
	size_t i = 0;
	for (; !e && i < p->nacts && p->acts[i].kind == CLIENT_SYNC_RELINK; i++) {
		if (!(e = exec_tx(&x, true)))
			e = exec_local(&x, &p->acts[i]);
	}
	/* flags to the server before any row records them */
	if (!e)
		e = exec_tx(&x, false);
	if (!e)
		e = exec_flags_remote(&x, p, a);
	for (; !e && i < p->nacts; i++) {
		const struct client_sync_action *act = &p->acts[i];
		if (r->opts->progress)
			r->opts->progress(r->opts->progress_arg, f->view.name, i, p->nacts);
		switch (act->kind) {
		case CLIENT_SYNC_FLAGS_REMOTE:
		case CLIENT_SYNC_DELETE_REMOTE:
			break; /* batched */
		case CLIENT_SYNC_DOWNLOAD:
		case CLIENT_SYNC_UPLOAD:
			break; /* batched, after the rest */
		case CLIENT_SYNC_MOVE_REMOTE:
			if (act->to >= nall) {
				e = sync_fail(r, ERR_INVAL, "move to an unknown folder");
				break;
			}
			if (!(e = exec_tx(&x, false)))
				e = exec_move(&x, act, &all[act->to]);
			break;
		default:
			if (!(e = exec_tx(&x, true)))
				e = exec_local(&x, act);
			break;
		}
	}
	/* Transfers last, each in batches: they concern messages no other action of the
	 * plan touches (a message has one action besides its row's update), so the order
	 * between them and the rest does not matter. */
	if (!e)
		e = exec_tx(&x, false);
	if (!e && (e = exec_maildir_if(&x, p)) == 0)
		e = sync_download(r, f, x.md, p, a);
	if (!e)
		e = exec_uploads(&x, p, a);
	if (!e)
		e = exec_tx(&x, false);
	if (!e)
		e = exec_delete_remote(&x, p, a);
	if (x.in_tx && e)
		(void)exec_tx(&x, false); /* keep what was done: each step is safe alone */
	if (x.md)
		client_maildir_close(&x.md);
	return e;
}
