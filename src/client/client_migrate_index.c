/* client_migrate_index.c: what kasten migrate knows of one server folder: UID, size and
 * Message-ID of every message (one UID FETCH of RFC822.SIZE and the Message-ID field),
 * in buckets by size, and the content hash of a message once it was downloaded because
 * a local message might be it. Owns an arena of LIMIT_CLIENT_MIGRATE_ARENA bytes with
 * LIMIT_CLIENT_MIGRATE_BUCKETS buckets; a folder that does not fit is an error. */
#include "client/client_migrate_int.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/banned.h"

void client_migrate_index_init(struct migrate_index *ix, size_t *downloaded)
{
	memset(ix, 0, sizeof(*ix));
	arena_init(&ix->arena, LIMIT_CLIENT_MIGRATE_ARENA);
	ix->downloaded = downloaded;
}

void client_migrate_index_free(struct migrate_index *ix)
{
	arena_free(&ix->arena);
	ix->buckets = NULL;
	ix->loaded = false;
}

static struct migrate_srv_msg **bucket(struct migrate_index *ix, uint64_t size)
{
	return &ix->buckets[size % LIMIT_CLIENT_MIGRATE_BUCKETS];
}

int client_migrate_index_add(struct migrate_index *ix, uint32_t uid, const char *sha,
			     const char *msgid, uint64_t size)
{
	struct migrate_srv_msg *m = arena_zalloc(&ix->arena, sizeof(*m));
	if (!m || !(m->msgid = arena_strdup(&ix->arena, msgid)))
		return ERR_NOMEM;
	m->uid = uid;
	m->size = size;
	if (sha) {
		m->hashed = true;
		memcpy(m->sha, sha, CLIENT_DIGEST_HEX);
	}
	struct migrate_srv_msg **b = bucket(ix, size);
	m->next = *b;
	*b = m;
	return 0;
}

static int on_fetch(void *arg, const struct client_imap_fetch *f)
{
	struct migrate_index *ix = arg;
	char msgid[MIGRATE_MSGID_CAP] = "";
	if (!f->uid || !f->has_size)
		return 0; /* an unsolicited FETCH (flags changed by someone else) */
	if (f->header)
		client_digest_msgid(f->header, f->header_len, msgid, sizeof(msgid));
	return client_migrate_index_add(ix, f->uid, NULL, msgid, f->size);
}

int client_migrate_index_load(struct migrate_index *ix, struct client_imap *s,
			      const char *mailbox)
{
	struct client_imap_mailbox mb;
	arena_reset(&ix->arena);
	ix->buckets = arena_zalloc(&ix->arena, LIMIT_CLIENT_MIGRATE_BUCKETS * sizeof(*ix->buckets));
	if (!ix->buckets)
		return ERR_NOMEM;
	/* EXAMINE: looking changes nothing, not even \Recent */
	int r = client_imap_select(s, mailbox, true, NULL, &mb);
	if (r < 0)
		return r;
	ix->uidvalidity = mb.uidvalidity;
	if (mb.exists) {
		struct client_imap_events ev = {.arg = ix, .fetch = on_fetch};
		client_imap_set_events(s, &ev);
		r = client_imap_uid_fetch(s, "1:*",
					  "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
					  0, false);
		client_imap_set_events(s, NULL);
		if (r < 0)
			return r;
	}
	ix->loaded = true;
	return 0;
}

struct hash_job {
	struct client_digest d;
	uint32_t uid;
	bool got;
	int err;
};

static int on_body(void *arg, uint32_t seq, uint64_t off, uint64_t total, const void *p,
		   size_t n)
{
	struct hash_job *h = arg;
	client_digest_update(&h->d, p, n);
	return 0;
}

static int on_hash_fetch(void *arg, const struct client_imap_fetch *f)
{
	struct hash_job *h = arg;
	if (f->uid == h->uid && f->has_body)
		h->got = true;
	return 0;
}

/* Download one server message and hash it. */
static int hash_one(struct migrate_index *ix, struct client_imap *s, struct migrate_srv_msg *m)
{
	struct hash_job h = {.uid = m->uid};
	char set[16], msgid[MIGRATE_MSGID_CAP];
	uint64_t size;
	int r = client_digest_init(&h.d);
	if (r < 0)
		return r;
	struct client_imap_events ev = {.arg = &h, .body = on_body, .fetch = on_hash_fetch};
	client_imap_set_events(s, &ev);
	(void)snprintf(set, sizeof(set), "%u", m->uid); /* at most 10 digits */
	r = client_imap_uid_fetch(s, set, "(UID BODY.PEEK[])", 0, false);
	client_imap_set_events(s, NULL);
	if (r < 0) {
		client_digest_free(&h.d);
		return r;
	}
	r = client_digest_final(&h.d, m->sha, &size, msgid, sizeof(msgid));
	if (r < 0)
		return r;
	/* expunged meanwhile: a hash no local message has */
	if (!h.got)
		memset(m->sha, 'x', CLIENT_DIGEST_HEX - 1);
	m->hashed = true;
	(*ix->downloaded)++;
	return 0;
}

int client_migrate_index_find(struct migrate_index *ix, struct client_imap *s,
			      const char *sha, const char *msgid, uint64_t size,
			      uint32_t *uid_out)
{
	for (struct migrate_srv_msg *m = *bucket(ix, size); m; m = m->next) {
		if (m->size != size || strcmp(m->msgid, msgid) != 0)
			continue;
		if (!m->hashed) {
			int r = hash_one(ix, s, m);
			if (r < 0)
				return r;
		}
		if (!strcmp(m->sha, sha)) {
			*uid_out = m->uid;
			return 1;
		}
	}
	return 0;
}
