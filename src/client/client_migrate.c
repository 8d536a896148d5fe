/* client_migrate.c: kasten migrate's run (the rules are in client_migrate.h): connect
 * and log in, open the journal, then per source folder make sure the server has it,
 * take each local message that the journal does not call done, look for it on the
 * server (client_migrate_index.c), and APPEND the rest in batches with the journal row
 * 'pending' before and 'done' after. Owns the session, the journal, one folder's index
 * and the open descriptors of one batch (LIMIT_CLIENT_IMAP_APPEND_BATCH messages,
 * LIMIT_CLIENT_IMAP_APPEND_BYTES octets). */
#include "client/client_migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_maildir.h"
#include "client/client_migrate_int.h"
#include "client/client_migrate_state.h"
#include "core/err.h"
#include "core/banned.h"

struct migrate_folder {
	char *name; /* as the source has it, "/" between levels */
	char *path; /* its Maildir; NULL for the mbox */
};

struct migrate_ctx {
	const struct client_migrate_opts *o;
	struct client_imap *s;
	struct client_migrate_state *st;
	struct client_migrate_stats *stats;
	char delim;
	char **server_names; /* what LIST showed, and what we created */
	size_t n_names, cap_names;
	struct migrate_index ix;
	char state_dir[PATH_MAX];
	/* the folder being migrated */
	const char *folder;
	char *mailbox; /* its name on the server */
	size_t uploaded, present, done, total;
	size_t deferred;  /* 'pending' rows left for the second pass */
	bool second_pass;
	struct migrate_local batch[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	struct migrate_reader readers[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	size_t nbatch;
	uint64_t batch_bytes;
	/* messages found on the server, their rows written together (one fsync) */
	struct migrate_found {
		char key[NAME_MAX + 1];
		char sha[CLIENT_DIGEST_HEX];
		char msgid[MIGRATE_MSGID_CAP];
		uint64_t size;
		uint32_t uid;
	} found[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	size_t nfound;
	char err[LIMIT_CLIENT_ERROR];
};

static int fail(struct migrate_ctx *c, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct migrate_ctx *c, int e, const char *fmt, ...)
{
	if (c->err[0]) /* the first reason is the one to tell */
		return e;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (n < 0)
		c->err[0] = '\0';
	return e;
}

static int imap_fail(struct migrate_ctx *c, int e)
{
	return fail(c, e, "%s", client_imap_error(c->s));
}

static int state_fail(struct migrate_ctx *c, int e)
{
	return fail(c, e, "%s", client_migrate_state_error(c->st));
}

static int name_add(struct migrate_ctx *c, const char *name)
{
	if (c->n_names == c->cap_names) {
		size_t cap = c->cap_names ? 2 * c->cap_names : 64;
		char **v = realloc(c->server_names, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		c->server_names = v;
		c->cap_names = cap;
	}
	if (!(c->server_names[c->n_names] = strdup(name)))
		return ERR_NOMEM;
	c->n_names++;
	return 0;
}

static int on_list(void *arg, const struct client_imap_list_entry *e)
{
	struct migrate_ctx *c = arg;
	if (e->attrs & CLIENT_IMAP_LIST_NOSELECT)
		return 0; /* a \Noselect parent still needs a CREATE to hold messages */
	return name_add(c, e->name);
}

static bool on_server(const struct migrate_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_names; i++)
		if (!strcmp(c->server_names[i], name))
			return true;
	return false;
}

/* The server's name for a source folder: "/" becomes the server's delimiter. */
static char *server_name(const struct migrate_ctx *c, const char *name)
{
	char *m = strdup(name);
	if (m && c->delim && c->delim != '/')
		for (char *p = m; *p; p++)
			if (*p == '/')
				*p = c->delim;
	return m;
}

static int ensure_mailbox(struct migrate_ctx *c)
{
	if (!strcmp(c->mailbox, "INBOX") || on_server(c, c->mailbox))
		return 0;
	int r = client_imap_create(c->s, c->mailbox);
	if (r < 0 && r != ERR_EXISTS)
		return imap_fail(c, r);
	return name_add(c, c->mailbox);
}

static void batch_close(struct migrate_ctx *c)
{
	for (size_t i = 0; i < c->nbatch; i++)
		close(c->batch[i].fd);
	c->nbatch = 0;
	c->batch_bytes = 0;
}

static int append_batch(struct migrate_ctx *c, uint32_t *uv, uint32_t *uids)
{
	struct client_imap_append_msg msgs[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	struct migrate_reader *readers = c->readers;
	for (size_t i = 0; i < c->nbatch; i++) {
		const struct migrate_local *m = &c->batch[i];
		client_migrate_reader_init(&readers[i], m->fd);
		msgs[i] = (struct client_imap_append_msg){
			.flags = m->flags, .date = m->date, .size = m->size,
			.read = client_migrate_reader_read, .arg = &readers[i]};
	}
	if (c->nbatch > 1 && client_imap_has(c->s, CLIENT_IMAP_CAP_MULTIAPPEND))
		return client_imap_append(c->s, c->mailbox, msgs, c->nbatch, uv, uids);
	for (size_t i = 0; i < c->nbatch; i++) {
		int r = client_imap_append(c->s, c->mailbox, &msgs[i], 1, uv, &uids[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The rows of messages found on the server as 'done'. Written late is safe: a row
 * that did not make it is looked for on the server again next time. */
static int found_flush(struct migrate_ctx *c)
{
	if (!c->nfound)
		return 0;
	int r = client_migrate_state_begin(c->st);
	for (size_t i = 0; r == 0 && i < c->nfound; i++) {
		const struct migrate_found *f = &c->found[i];
		r = client_migrate_state_done(c->st, c->folder, f->key, f->sha, f->msgid, f->size,
					      c->ix.uidvalidity, f->uid);
	}
	if (r == 0)
		r = client_migrate_state_commit(c->st);
	c->nfound = 0;
	return r < 0 ? state_fail(c, r) : 0;
}

/* Upload the batch: rows 'pending' on disk first, then APPEND, then rows 'done'. */
static int flush(struct migrate_ctx *c)
{
	int r = found_flush(c);
	if (r < 0 || !c->nbatch)
		return r;
	uint32_t uv = 0, uids[LIMIT_CLIENT_IMAP_APPEND_BATCH];
	r = client_migrate_state_begin(c->st);
	for (size_t i = 0; r == 0 && i < c->nbatch; i++) {
		const struct migrate_local *m = &c->batch[i];
		r = client_migrate_state_pending(c->st, c->folder, m->key, m->sha, m->msgid,
						 m->size);
	}
	if (r == 0)
		r = client_migrate_state_commit(c->st);
	if (r < 0) {
		batch_close(c);
		return state_fail(c, r);
	}
	r = append_batch(c, &uv, uids);
	if (r < 0) {
		batch_close(c);
		return imap_fail(c, r);
	}
	r = client_migrate_state_begin(c->st);
	for (size_t i = 0; r == 0 && i < c->nbatch; i++) {
		const struct migrate_local *m = &c->batch[i];
		r = client_migrate_state_done(c->st, c->folder, m->key, m->sha, m->msgid, m->size,
					      uv, uids[i]);
	}
	if (r == 0)
		r = client_migrate_state_commit(c->st);
	if (r < 0) {
		batch_close(c);
		return state_fail(c, r);
	}
	/* later local copies of these find them here */
	for (size_t i = 0; r == 0 && i < c->nbatch; i++) {
		const struct migrate_local *m = &c->batch[i];
		r = client_migrate_index_add(&c->ix, uids[i], m->sha, m->msgid, m->size);
	}
	c->uploaded += c->nbatch;
	c->stats->uploaded += c->nbatch;
	batch_close(c);
	return r < 0 ? fail(c, r, "out of memory") : 0;
}

static bool in_batch(const struct migrate_ctx *c, const struct migrate_local *m)
{
	for (size_t i = 0; i < c->nbatch; i++)
		if (c->batch[i].size == m->size && !strcmp(c->batch[i].sha, m->sha) &&
		    !strcmp(c->batch[i].msgid, m->msgid))
			return true;
	return false;
}

static void progress(struct migrate_ctx *c)
{
	c->done++;
	if (c->o->progress)
		c->o->progress(c->o->arg, c->folder, c->done, c->total);
}

/* One local message, hashed, not done by an earlier run; m->fd is ours to close. */
static int take(struct migrate_ctx *c, struct migrate_local *m)
{
	int r = 0;
	uint32_t uid;
	if (!c->ix.loaded && (r = client_migrate_index_load(&c->ix, c->s, c->mailbox)) < 0)
		goto out;
	if (in_batch(c, m) && (r = flush(c)) < 0)
		goto out;
	r = client_migrate_index_find(&c->ix, c->s, m->sha, m->msgid, m->size, &uid);
	if (r < 0)
		goto out;
	if (r == 1) {
		struct migrate_found *f = &c->found[c->nfound++];
		memcpy(f->key, m->key, sizeof(f->key));
		memcpy(f->sha, m->sha, sizeof(f->sha));
		memcpy(f->msgid, m->msgid, sizeof(f->msgid));
		f->size = m->size;
		f->uid = uid;
		r = c->nfound == LIMIT_CLIENT_IMAP_APPEND_BATCH ? found_flush(c) : 0;
		c->present++;
		c->stats->present++;
		goto out;
	}
	if (c->nbatch && c->batch_bytes + m->size > LIMIT_CLIENT_IMAP_APPEND_BYTES &&
	    (r = flush(c)) < 0)
		goto out;
	c->batch[c->nbatch++] = *m;
	c->batch_bytes += m->size;
	progress(c);
	return c->nbatch == LIMIT_CLIENT_IMAP_APPEND_BATCH ? flush(c) : 0;
out:
	close(m->fd);
	progress(c);
	return r < 0 && !c->err[0] ? imap_fail(c, r) : r < 0 ? r : 0;
}

/* Whether a pass skips the message with this key: 1 skip, 0 take it, <0 error. The first
 * pass counts what the journal calls done and leaves 'pending' rows to the second: the
 * session a killed run left behind may still be committing their APPEND on the server,
 * and the second pass looks at the server again after everything else. */
static int skip(struct migrate_ctx *c, const char *key)
{
	int r = client_migrate_state_lookup(c->st, c->folder, key);
	if (r < 0)
		return state_fail(c, r);
	if (c->second_pass)
		return r != CLIENT_MIGRATE_ROW_PENDING;
	if (r == CLIENT_MIGRATE_ROW_PENDING) {
		c->deferred++;
		return 1;
	}
	if (r == CLIENT_MIGRATE_ROW_DONE) {
		c->present++;
		c->stats->present++;
		progress(c);
		return 1;
	}
	return 0;
}

/* Before the second pass: what the batch holds goes up, and the server is read again.
 * A server may still be committing the last APPEND of the killed run's session when it
 * sees a new one (the kill came after the last literal left); nothing in IMAP tells
 * when that session is done, so the second pass waits a moment first. */
static int second_pass(struct migrate_ctx *c)
{
	int r = flush(c);
	if (r < 0)
		return r;
	c->second_pass = true;
	(void)sleep(LIMIT_CLIENT_MIGRATE_SETTLE); /* a signal only shortens the wait */
	r = client_migrate_index_load(&c->ix, c->s, c->mailbox);
	return r < 0 ? imap_fail(c, r) : 0;
}

/* ---- Maildir folders ---- */

struct md_entry {
	char *base, *path;
	unsigned flags;
	time_t mtime;
};

struct md_list {
	struct client_maildir *md;
	struct md_entry *v;
	size_t n, cap;
};

static int md_collect(void *arg, const struct client_maildir_file *f)
{
	struct md_list *l = arg;
	char path[PATH_MAX];
	struct timespec mtime;
	/* INTERNALDATE is the file's mtime: one stat each (a file gone since: left out) */
	int r = client_maildir_file_stat(l->md, f, NULL, &mtime, NULL);
	if (r == ERR_NOTFOUND || r == ERR_INVAL)
		return 0;
	if (r == 0)
		r = client_maildir_file_path(l->md, f, path, sizeof(path));
	if (r < 0)
		return r;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct md_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct md_entry *e = &l->v[l->n];
	e->base = strdup(f->base);
	e->path = strdup(path);
	e->flags = f->flags;
	e->mtime = mtime.tv_sec;
	if (!e->base || !e->path) {
		free(e->base);
		free(e->path);
		return ERR_NOMEM;
	}
	l->n++;
	return 0;
}

/* Oldest first, so that UIDs on the server follow the dates. */
static int md_cmp(const void *a, const void *b)
{
	const struct md_entry *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->base, y->base);
}

static int md_message(struct migrate_ctx *c, const struct md_entry *e)
{
	struct migrate_local m = {.flags = e->flags, .date = e->mtime};
	int n = snprintf(m.key, sizeof(m.key), "%s", e->base);
	if (n < 0 || (size_t)n >= sizeof(m.key))
		return fail(c, ERR_TOO_LONG, "%s: name too long", e->path);
	int r = skip(c, m.key);
	if (r)
		return r < 0 ? r : 0;
	r = client_migrate_src_open(e->path, &m.fd);
	if (r == ERR_NOTFOUND) { /* moved or removed by a mail program meanwhile */
		progress(c);
		return 0;
	}
	if (r < 0)
		return fail(c, r, "cannot read %s", e->path);
	r = client_migrate_src_digest(&m);
	if (r < 0) {
		close(m.fd);
		return fail(c, r, "cannot read %s", e->path);
	}
	return take(c, &m);
}

static int md_folder(struct migrate_ctx *c, const char *path)
{
	struct client_maildir *md;
	int r = client_maildir_open(path, false, &md);
	if (r < 0)
		return fail(c, r, "cannot open the Maildir %s", path);
	struct md_list l = {.md = md};
	r = client_maildir_each(md, md_collect, &l);
	client_maildir_close(&md);
	if (r < 0)
		r = fail(c, r, "cannot list the Maildir %s", path);
	else if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), md_cmp);
	c->total = l.n;
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = md_message(c, &l.v[i]);
	if (r == 0 && c->deferred && (r = second_pass(c)) == 0)
		for (size_t i = 0; r == 0 && i < l.n; i++)
			r = md_message(c, &l.v[i]);
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].base);
		free(l.v[i].path);
	}
	free(l.v);
	return r;
}

/* ---- the mbox ---- */

struct spool {
	int fd;
	int err;
};

static int spool_write(void *arg, const void *p, size_t n)
{
	struct spool *sp = arg;
	const char *s = p;
	while (n > 0) {
		ssize_t w = write(sp->fd, s, n);
		if (w < 0)
			return sp->err = ERR_IO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int mbox_pass(struct migrate_ctx *c, const char *path)
{
	struct client_mbox *mb;
	int r = client_mbox_open(path, &mb);
	if (r < 0)
		return fail(c, r, "cannot open the mbox %s", path);
	c->total = 0;
	for (size_t n = 1; r == 0; n++) {
		struct migrate_local m = {0};
		struct spool sp = {0};
		if ((r = client_migrate_src_spool(c->state_dir, &m.fd)) < 0) {
			r = fail(c, r, "cannot make a spool file in %s", c->state_dir);
			break;
		}
		sp.fd = m.fd;
		r = client_mbox_next(mb, spool_write, &sp, &m.flags, &m.date);
		if (r <= 0) {
			close(m.fd);
			if (r < 0)
				r = fail(c, r, "cannot read the mbox %s", path);
			break;
		}
		r = client_migrate_src_digest(&m);
		int k = r < 0 ? 0 : snprintf(m.key, sizeof(m.key), "mbox:%zu:%s", n, m.sha);
		if (r < 0 || k < 0 || (r = skip(c, m.key)) != 0) {
			close(m.fd);
			if (r < 0)
				r = fail(c, r, "cannot read the mbox %s", path);
			else
				r = 0;
			continue;
		}
		r = take(c, &m);
	}
	client_mbox_close(&mb);
	return r < 0 ? r : 0;
}

static int mbox_folder(struct migrate_ctx *c, const char *path)
{
	int r = mbox_pass(c, path);
	if (r == 0 && c->deferred && (r = second_pass(c)) == 0)
		r = mbox_pass(c, path);
	return r;
}

/* ---- folders ---- */

struct folder_list {
	struct migrate_folder *v;
	size_t n, cap;
};

static int folder_collect(void *arg, const char *name, const char *path)
{
	struct folder_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct migrate_folder *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strdup(name);
	l->v[l->n].path = path ? strdup(path) : NULL;
	if (!l->v[l->n].name || (path && !l->v[l->n].path))
		return ERR_NOMEM;
	l->n++;
	return 0;
}

/* INBOX first, then by name: parents before their children. */
static int folder_cmp(const void *a, const void *b)
{
	const struct migrate_folder *x = a, *y = b;
	bool xi = !strcmp(x->name, "INBOX"), yi = !strcmp(y->name, "INBOX");
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int run_folder(struct migrate_ctx *c, const struct migrate_folder *f)
{
	c->folder = f->name;
	c->uploaded = c->present = c->done = c->deferred = 0;
	c->second_pass = false;
	c->mailbox = server_name(c, f->name);
	if (!c->mailbox)
		return fail(c, ERR_NOMEM, "out of memory");
	client_migrate_index_free(&c->ix);
	client_migrate_index_init(&c->ix, &c->stats->downloaded);
	int r = ensure_mailbox(c);
	if (r == 0)
		r = f->path ? md_folder(c, f->path) : mbox_folder(c, c->o->mbox);
	if (r == 0)
		r = flush(c);
	batch_close(c);
	free(c->mailbox);
	c->mailbox = NULL;
	if (r < 0)
		return r;
	c->stats->folders++;
	if (c->o->folder_done)
		c->o->folder_done(c->o->arg, f->name, c->uploaded, c->present);
	return 0;
}

static int connect_login(struct migrate_ctx *c)
{
	int r = client_imap_open(&c->o->ep, &c->s, c->err, sizeof(c->err));
	if (r < 0)
		return r;
	r = client_imap_login(c->s, c->o->user, c->o->password);
	if (r == ERR_AUTH)
		return fail(c, r, "login as %s refused: %s", c->o->user, client_imap_error(c->s));
	if (r < 0)
		return imap_fail(c, r);
	if ((r = client_imap_delimiter(c->s, &c->delim)) < 0)
		return imap_fail(c, r);
	struct client_imap_events ev = {.arg = c, .list = on_list};
	client_imap_set_events(c->s, &ev);
	r = client_imap_list(c->s, "*", false);
	client_imap_set_events(c->s, NULL);
	return r < 0 ? imap_fail(c, r) : 0;
}

static int open_state(struct migrate_ctx *c)
{
	char account[LIMIT_CLIENT_HOST + 256], path[PATH_MAX];
	const char *source = c->o->maildir ? c->o->maildir : c->o->mbox;
	int n = snprintf(account, sizeof(account), "%s@%s", c->o->user, c->o->ep.host);
	if (n < 0 || (size_t)n >= sizeof(account))
		return fail(c, ERR_TOO_LONG, "user or host name too long");
	int r = client_migrate_state_path(c->o->state_dir, account, source, path, sizeof(path));
	if (r == ERR_NOTFOUND && access(source, F_OK) != 0)
		return fail(c, r, "%s does not exist", source);
	if (r < 0)
		return fail(c, r, "cannot make the state directory (HOME or XDG_STATE_HOME)");
	char *slash = strrchr(path, '/');
	n = snprintf(c->state_dir, sizeof(c->state_dir), "%.*s", (int)(slash - path), path);
	if (n < 0)
		return ERR_INVAL;
	return client_migrate_state_open(path, &c->st, c->err, sizeof(c->err));
}

static int sources(struct migrate_ctx *c, struct folder_list *l)
{
	if (c->o->mbox && access(c->o->mbox, R_OK) != 0)
		return fail(c, ERR_NOTFOUND, "cannot read the mbox %s", c->o->mbox);
	if (c->o->mbox)
		return folder_collect(l, c->o->mailbox ? c->o->mailbox : "INBOX", NULL);
	int r = client_maildir_folders(c->o->maildir, folder_collect, l);
	if (r < 0)
		return fail(c, r, "cannot read the Maildir tree %s", c->o->maildir);
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), folder_cmp);
	return 0;
}

int client_migrate_run(const struct client_migrate_opts *o, struct client_migrate_stats *st_out,
		       char *err_out, size_t err_cap)
{
	struct migrate_ctx *c = calloc(1, sizeof(*c));
	struct folder_list l = {0};
	memset(st_out, 0, sizeof(*st_out));
	if (!c) {
		snprintf(err_out, err_cap, "out of memory");
		return ERR_NOMEM;
	}
	c->o = o;
	c->stats = st_out;
	client_migrate_index_init(&c->ix, &st_out->downloaded);
	/* the source is read first and the journal made only after the login: a wrong
	 * path, a refused certificate or password changes nothing anywhere */
	int r = sources(c, &l);
	if (r == 0)
		r = connect_login(c);
	if (r == 0)
		r = open_state(c);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = run_folder(c, &l.v[i]);
	if (c->s) {
		st_out->bytes_in = client_conn_bytes_in(client_imap_conn(c->s));
		st_out->bytes_out = client_conn_bytes_out(client_imap_conn(c->s));
		if (r == 0)
			(void)client_imap_logout(c->s); /* everything is done and journaled */
		client_imap_close(&c->s);
	}
	snprintf(err_out, err_cap, "%s", r < 0 ? c->err : "");
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].name);
		free(l.v[i].path);
	}
	free(l.v);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->server_names[i]);
	free(c->server_names);
	client_migrate_index_free(&c->ix);
	client_migrate_state_close(&c->st);
	free(c);
	return r;
}
