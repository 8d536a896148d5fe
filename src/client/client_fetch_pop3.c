/* client_fetch_pop3.c: kasten fetch over POP3 (RFC 1939): log in, list UIDL, create the
 * local side only then, download what the journal does not have (RETR), delete what the
 * mode says (DELE), QUIT. What is new is decided by the UIDL unique-id, never by a
 * flag. Holds the server's listing (at most LIMIT_CLIENT_POP3_MESSAGES entries). */
#include "client/client_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_pop3.h"
#include "core/err.h"
#include "core/banned.h"

struct fetch_pop3_msg {
	uint32_t msgno;
	bool known; /* the journal has it */
	bool dele;  /* DELE sent */
	char uid[LIMIT_CLIENT_POP3_UID + 1];
};

struct fetch_pop3_list {
	struct fetch_pop3_msg *v;
	size_t n, cap;
};

static int fetch_pop3_uidl(void *arg, uint32_t msgno, const char *uid)
{
	struct fetch_pop3_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct fetch_pop3_msg *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct fetch_pop3_msg *m = &l->v[l->n++];
	*m = (struct fetch_pop3_msg){.msgno = msgno};
	(void)snprintf(m->uid, sizeof(m->uid), "%s", uid);
	return 0;
}

static int fetch_pop3_uid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fetch_pop3_msg *)a)->uid,
		      ((const struct fetch_pop3_msg *)b)->uid);
}

/* Rows of messages the server no longer lists: it deleted them (another client, or our
 * QUIT whose answer was lost); their rows go. */
static int fetch_pop3_forget_gone(struct client_fetch *f, const struct fetch_pop3_list *l)
{
	struct fetch_pop3_msg *by_uid = malloc((l->n ? l->n : 1) * sizeof(*by_uid));
	if (!by_uid) {
		(void)snprintf(f->err, sizeof(f->err), "out of memory");
		return ERR_NOMEM;
	}
	if (l->n)
		memcpy(by_uid, l->v, l->n * sizeof(*by_uid));
	qsort(by_uid, l->n, sizeof(*by_uid), fetch_pop3_uid_cmp);
	int rc = client_state_begin(f->st);
	for (size_t i = 0; rc == 0 && i < f->nrows; i++) {
		struct fetch_pop3_msg key;
		(void)snprintf(key.uid, sizeof(key.uid), "%s", f->rows[i].uid);
		if (!bsearch(&key, by_uid, l->n, sizeof(*by_uid), fetch_pop3_uid_cmp))
			rc = client_fetch_forget(f, &f->rows[i]);
	}
	if (rc == 0)
		rc = client_state_commit(f->st);
	if (rc < 0)
		client_state_rollback(f->st);
	free(by_uid);
	return rc;
}

static int fetch_pop3_fail(struct client_fetch *f, struct client_pop3 *p, int rc)
{
	(void)snprintf(f->err, sizeof(f->err), "%s", client_pop3_error(p));
	return rc;
}

/* Download every message the journal does not have, in the server's order. */
static int fetch_pop3_download(struct client_fetch *f, struct client_pop3 *p,
			       struct fetch_pop3_list *l)
{
	uint64_t wanted = 0, done = 0;
	for (size_t i = 0; i < l->n; i++) {
		l->v[i].known = client_fetch_find(f, 0, l->v[i].uid) != NULL;
		wanted += !l->v[i].known;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct fetch_pop3_msg *m = &l->v[i];
		if (m->known)
			continue;
		int rc = client_fetch_begin(f);
		if (rc < 0)
			return rc;
		rc = client_pop3_retr(p, m->msgno, client_fetch_write, f);
		if (rc < 0) {
			client_fetch_abort(f);
			if (rc == ERR_NOTFOUND)
				continue; /* another session deleted it meanwhile */
			return f->err[0] ? rc : fetch_pop3_fail(f, p, rc);
		}
		rc = client_fetch_commit(f, m->uid, "", 0);
		if (rc < 0)
			return rc;
		client_progress_update(&f->progress, ++done, wanted, "messages downloaded");
	}
	client_progress_end(&f->progress);
	return client_fetch_flush(f);
}

/* DELE what the mode deletes (only messages the journal has as 'done'), then QUIT: the
 * server deletes in its UPDATE state (RFC 1939 6), and only then do their rows go. */
static int fetch_pop3_delete(struct client_fetch *f, struct client_pop3 *p,
			     struct fetch_pop3_list *l)
{
	client_fetch_sort(f);
	uint64_t marked = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct fetch_pop3_msg *m = &l->v[i];
		struct client_fetch_mem *row = client_fetch_find(f, 0, m->uid);
		if (!row)
			continue; /* RETR found it gone */
		if (!client_fetch_should_delete(f, row)) {
			f->kept++;
			continue;
		}
		int rc = client_pop3_dele(p, m->msgno);
		if (rc < 0 && rc != ERR_NOTFOUND)
			return fetch_pop3_fail(f, p, rc);
		m->dele = rc == 0;
		marked += m->dele;
	}
	int rc = client_pop3_quit(p);
	if (rc < 0) {
		(void)snprintf(f->err, sizeof(f->err),
			       "%s; the server may not have deleted the %llu messages marked "
			       "(the next run deletes them)",
			       client_pop3_error(p), (unsigned long long)marked);
		return rc;
	}
	f->deleted = marked;
	rc = client_state_begin(f->st);
	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		struct client_fetch_mem *row = l->v[i].dele ? client_fetch_find(f, 0, l->v[i].uid)
							    : NULL;
		if (row)
			rc = client_fetch_forget(f, row);
	}
	if (rc == 0)
		rc = client_state_commit(f->st);
	if (rc < 0)
		client_state_rollback(f->st);
	return rc;
}

int client_fetch_pop3(struct client_fetch *f, const struct client_opts *o,
		      const char *password)
{
	struct client_endpoint ep;
	client_opts_endpoint(o, &ep);
	struct client_pop3 *p = NULL;
	f->err[0] = '\0';
	int rc = client_pop3_open(&ep, o->user, password, &p, f->err, sizeof(f->err));
	if (rc < 0)
		return rc;
	struct fetch_pop3_list l = {0};
	rc = client_pop3_uidl(p, fetch_pop3_uidl, &l);
	if (rc == ERR_NOMEM)
		(void)snprintf(f->err, sizeof(f->err), "out of memory");
	else if (rc < 0)
		fetch_pop3_fail(f, p, rc);
	/* only now, with the login done and the listing read, is anything created */
	if (rc == 0)
		rc = client_fetch_open(f, o, "pop3");
	if (rc == 0)
		rc = fetch_pop3_forget_gone(f, &l);
	if (rc == 0)
		rc = fetch_pop3_download(f, p, &l);
	if (rc == 0)
		rc = fetch_pop3_delete(f, p, &l);
	f->bytes_in = client_pop3_bytes_in(p);
	f->bytes_out = client_pop3_bytes_out(p);
	free(l.v);
	client_pop3_close(&p);
	return rc;
}
