/* client_fetch_imap.c: kasten fetch over IMAP (RFC 9051, RFC 3501 servers), INBOX only:
 * log in, SELECT INBOX (EXAMINE with --keep: nothing is changed), list UID, RFC822.SIZE
 * and the Message-ID field, create the local side only then, download with BODY.PEEK[]
 * (never setting \Seen: what is new is decided by UID and UIDVALIDITY, RFC 9051
 * 2.3.1.1) of every new UID in one UID FETCH (per set that fits a command line), the
 * server streaming while the batches are made durable (client_fetch.h), delete with UID STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE (UIDPLUS,
 * RFC 4315), or EXPUNGE without it. After a UIDVALIDITY change a message already
 * downloaded is recognised by its Message-ID and size and not downloaded again.
 * Holds the server's listing (at most LIMIT_CLIENT_POP3_MESSAGES entries). */
#include "client/client_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_digest.h"
#include "client/client_imap.h"
#include "core/err.h"
#include "core/banned.h"

struct fetch_imap_msg {
	uint32_t uid;
	uint64_t size;
	bool known; /* the journal has it (or this run downloaded it) */
	char *msgid; /* "<id>" or NULL */
};

struct fetch_imap {
	struct client_fetch *f;
	struct client_imap *s;
	struct fetch_imap_msg *v;
	size_t n, cap;
	uint64_t wanted, done; /* for the progress line */
};

static int fetch_imap_fail(struct fetch_imap *x, int rc)
{
	(void)snprintf(x->f->err, sizeof(x->f->err), "%s", client_imap_error(x->s));
	return rc;
}

/* One message of the listing: UID, RFC822.SIZE and its Message-ID field. */
static int fetch_imap_list_one(void *arg, const struct client_imap_fetch *m)
{
	struct fetch_imap *x = arg;
	if (!m->uid)
		return 0;
	if (x->n == x->cap) {
		if (x->n >= LIMIT_CLIENT_POP3_MESSAGES) {
			(void)snprintf(x->f->err, sizeof(x->f->err),
				       "INBOX holds more than %u messages", LIMIT_CLIENT_POP3_MESSAGES);
			return ERR_TOO_BIG;
		}
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct fetch_imap_msg *v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		x->v = v;
		x->cap = cap;
	}
	struct fetch_imap_msg *e = &x->v[x->n++];
	*e = (struct fetch_imap_msg){.uid = m->uid, .size = m->has_size ? m->size : 0};
	if (m->header) {
		char id[LIMIT_MSGID + 3];
		client_digest_msgid(m->header, m->header_len, id, sizeof(id));
		if (id[0] && !(e->msgid = strdup(id)))
			return ERR_NOMEM;
	}
	return 0;
}

static int fetch_imap_list(struct fetch_imap *x)
{
	struct client_imap_events ev = {.arg = x, .fetch = fetch_imap_list_one};
	client_imap_set_events(x->s, &ev);
	int rc = client_imap_uid_fetch(
		x->s, "1:*", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])", 0, false);
	client_imap_set_events(x->s, NULL);
	if (rc == ERR_NOMEM)
		(void)snprintf(x->f->err, sizeof(x->f->err), "out of memory");
	else if (rc < 0 && !x->f->err[0])
		fetch_imap_fail(x, rc);
	return rc;
}

/* A row of another UIDVALIDITY with this Message-ID and size: the same message. Its
 * index in f->rows, or -1. */
static long fetch_imap_match(struct client_fetch *f, const struct fetch_imap_msg *m)
{
	if (!m->msgid)
		return -1;
	for (size_t i = 0; i < f->nrows; i++) {
		struct client_fetch_mem *r = &f->rows[i];
		if (r->uidvalidity != f->key.uidvalidity && r->msgid && r->size == m->size &&
		    !strcmp(r->msgid, m->msgid))
			return (long)i;
	}
	return -1;
}

static int fetch_imap_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Bring the journal to the server's listing: rows of this UIDVALIDITY the server no
 * longer has go; after a UIDVALIDITY change, messages already downloaded are matched
 * (Message-ID and size) and recorded under their new UIDs, and the old rows go. */
static int fetch_imap_reconcile(struct fetch_imap *x)
{
	struct client_fetch *f = x->f;
	char uid[16];
	/* the listing by UID (uid is its first member), for the lookups below */
	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), fetch_imap_uid_cmp);
	int rc = client_state_begin(f->st);
	for (size_t i = 0; rc == 0 && i < x->n; i++) {
		struct fetch_imap_msg *m = &x->v[i];
		(void)snprintf(uid, sizeof(uid), "%u", m->uid);
		m->known = client_fetch_find(f, f->key.uidvalidity, uid) != NULL;
		long old = m->known ? -1 : fetch_imap_match(f, m);
		if (old >= 0) {
			rc = client_fetch_rekey(f, &f->rows[old], uid);
			m->known = rc == 0;
			/* one local copy stands for one server message: never match it again */
			f->rows[old].size = UINT64_MAX;
		}
	}
	client_fetch_sort(f);
	/* every row not of the server's current listing goes (its file stays) */
	for (size_t i = 0; rc == 0 && i < f->nrows; i++) {
		struct client_fetch_mem *r = &f->rows[i];
		bool listed = false;
		if (r->uidvalidity == f->key.uidvalidity) {
			char *end;
			unsigned long u = strtoul(r->uid, &end, 10);
			uint32_t key = (uint32_t)u;
			listed = !*end && u <= UINT32_MAX && x->n &&
				 bsearch(&key, x->v, x->n, sizeof(*x->v), fetch_imap_uid_cmp);
		}
		if (!listed)
			rc = client_fetch_forget(f, r);
	}
	if (rc == 0)
		rc = client_state_commit(f->st);
	if (rc < 0)
		client_state_rollback(f->st);
	return rc;
}

/* A body piece of the UID FETCH: offset 0 begins a message (its UID comes with the
 * end of the response: servers need not send UID before BODY[]). */
static int fetch_imap_body(void *arg, uint32_t seq, uint64_t off, uint64_t total,
			   const void *p, size_t n)
{
	struct fetch_imap *x = arg;
	if (off == 0) {
		client_fetch_abort(x->f); /* a body item without a response end: never kept */
		int rc = client_fetch_begin(x->f);
		if (rc < 0)
			return rc;
	}
	return n && x->f->msg ? client_fetch_write(x->f, p, n) : 0;
}

/* The end of a FETCH response: the message written is the one of its UID, if that is
 * one this run wants (anything else, e.g. a FLAGS update, is not kept). */
static int fetch_imap_got(void *arg, const struct client_imap_fetch *m)
{
	struct fetch_imap *x = arg;
	struct client_fetch *f = x->f;
	if (!f->msg)
		return 0;
	struct fetch_imap_msg key = {.uid = m->uid};
	struct fetch_imap_msg *e =
		m->uid && m->has_body && x->n ? bsearch(&key, x->v, x->n, sizeof(*x->v),
							fetch_imap_uid_cmp)
					      : NULL;
	if (!e || e->known) {
		client_fetch_abort(f);
		return 0;
	}
	e->known = true;
	char uid[16];
	(void)snprintf(uid, sizeof(uid), "%u", e->uid);
	int rc = client_fetch_commit(f, uid, e->msgid, e->size);
	client_progress_update(&f->progress, ++x->done, x->wanted, "messages downloaded");
	return rc;
}

/* Every message the journal does not have, in UID order, in as few UID FETCH commands
 * as the command line allows; one expunged meanwhile simply does not come. */
static int fetch_imap_download(struct fetch_imap *x)
{
	struct client_fetch *f = x->f;
	uint32_t *want = malloc((x->n ? x->n : 1) * sizeof(*want));
	if (!want) {
		(void)snprintf(f->err, sizeof(f->err), "out of memory");
		return ERR_NOMEM;
	}
	size_t nw = 0;
	for (size_t i = 0; i < x->n; i++) /* x->v is sorted by UID (reconcile) */
		if (!x->v[i].known)
			want[nw++] = x->v[i].uid;
	x->wanted = nw;
	struct client_imap_events ev = {.arg = x, .body = fetch_imap_body, .fetch = fetch_imap_got};
	client_imap_set_events(x->s, &ev);
	int rc = 0;
	char set[LIMIT_CLIENT_FETCH_UIDSET];
	for (size_t at = 0; rc == 0 && at < nw;) {
		size_t used = 0;
		rc = client_imap_uidset(want + at, nw - at, set, sizeof(set), &used);
		if (rc == 0)
			rc = client_imap_uid_fetch(x->s, set, "(UID BODY.PEEK[])", 0, false);
		client_fetch_abort(f); /* a message cut off by an error */
		if (rc < 0 && !f->err[0])
			fetch_imap_fail(x, rc);
		at += used;
	}
	client_imap_set_events(x->s, NULL);
	client_progress_end(&f->progress);
	free(want);
	return rc < 0 ? rc : client_fetch_flush(f);
}

/* \Deleted on what the mode deletes, then UID EXPUNGE of exactly those (or EXPUNGE),
 * in sets that fit a command line; their rows go once the server said OK. */
static int fetch_imap_delete(struct fetch_imap *x)
{
	struct client_fetch *f = x->f;
	uint32_t *del = malloc((x->n ? x->n : 1) * sizeof(*del));
	if (!del) {
		(void)snprintf(f->err, sizeof(f->err), "out of memory");
		return ERR_NOMEM;
	}
	size_t nd = 0;
	client_fetch_sort(f);
	for (size_t i = 0; i < x->n; i++) {
		char uid[16];
		(void)snprintf(uid, sizeof(uid), "%u", x->v[i].uid);
		struct client_fetch_mem *row = client_fetch_find(f, f->key.uidvalidity, uid);
		if (client_fetch_should_delete(f, row))
			del[nd++] = x->v[i].uid;
		else if (row)
			f->kept++;
	}
	qsort(del, nd, sizeof(*del), fetch_imap_uid_cmp);
	bool uidplus = client_imap_has(x->s, CLIENT_IMAP_CAP_UIDPLUS);
	int rc = 0;
	char set[LIMIT_CLIENT_FETCH_UIDSET];
	for (size_t at = 0; rc == 0 && at < nd;) {
		size_t used;
		rc = client_imap_uidset(del + at, nd - at, set, sizeof(set), &used);
		if (rc == 0)
			rc = client_imap_uid_store(x->s, set, '+', CLIENT_FLAG_TRASHED, NULL, 0, NULL);
		if (rc == 0)
			rc = uidplus ? client_imap_uid_expunge(x->s, set) : client_imap_expunge(x->s);
		if (rc < 0) {
			fetch_imap_fail(x, rc);
			break;
		}
		/* the server expunged them: their rows go */
		rc = client_state_begin(f->st);
		for (size_t k = at; rc == 0 && k < at + used; k++) {
			char uid[16];
			(void)snprintf(uid, sizeof(uid), "%u", del[k]);
			struct client_fetch_mem *row = client_fetch_find(f, f->key.uidvalidity, uid);
			if (row)
				rc = client_fetch_forget(f, row);
		}
		if (rc == 0)
			rc = client_state_commit(f->st);
		if (rc < 0)
			client_state_rollback(f->st);
		f->deleted += rc == 0 ? used : 0;
		at += used;
	}
	free(del);
	return rc;
}

int client_fetch_imap(struct client_fetch *f, const struct client_opts *o,
		      const char *password)
{
	struct client_endpoint ep;
	client_opts_endpoint(o, &ep);
	struct fetch_imap x = {.f = f};
	f->err[0] = '\0';
	int rc = client_imap_open(&ep, &x.s, f->err, sizeof(f->err));
	if (rc < 0)
		return rc;
	rc = client_imap_login(x.s, o->user, password);
	if (rc < 0) {
		(void)snprintf(f->err, sizeof(f->err), "login as %.60s at %.60s:%s failed: %s",
			       o->user, o->host, o->port, client_imap_error(x.s));
	}
	struct client_imap_mailbox mb;
	if (rc == 0 && (rc = client_imap_select(x.s, "INBOX", o->keep, NULL, &mb)) < 0)
		fetch_imap_fail(&x, rc);
	if (rc == 0 && mb.exists)
		rc = fetch_imap_list(&x);
	/* only now, with the login done and the listing read, is anything created */
	if (rc == 0)
		rc = client_fetch_open(f, o, "imap");
	if (rc == 0) {
		f->key.uidvalidity = mb.uidvalidity;
		rc = fetch_imap_reconcile(&x);
	}
	if (rc == 0)
		rc = fetch_imap_download(&x);
	if (rc == 0)
		rc = fetch_imap_delete(&x);
	if (rc == 0)
		(void)client_imap_logout(x.s); /* best effort: everything is done */
	if (x.s) {
		f->bytes_in = client_conn_bytes_in(client_imap_conn(x.s));
		f->bytes_out = client_conn_bytes_out(client_imap_conn(x.s));
	}
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i].msgid);
	free(x.v);
	client_imap_close(&x.s);
	return rc;
}
