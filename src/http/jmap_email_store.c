/* jmap_email_store.c: storing a new Email (contract C2: jmap_email_store_new), for
 * Email/import, Email/set create and EmailSubmission's copies. The message file is read
 * once, as delivery and IMAP APPEND read theirs (mime_extract: MIME structure, cached
 * header, preview, search text, the ids THREADID needs), so FETCH, SEARCH and JMAP
 * treat it like delivered mail. It is appended to the first mailbox (durable before
 * store_append returns) and copied into the others (store_copy shares the file and
 * keeps the EMAILID); a failed copy expunges what was made, so the Email is stored
 * whole or not at all.
 * Bounds: the configured message size ([limits] max_message_size); one extraction
 * arena of LIMIT_IMAP_APPEND_EXTRACT (the same work as an APPEND); past it the message
 * is stored without the extracted fields and the store derives them itself. */
#include "http/jmap_email.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/jmap.h"
#include "http/jmap_email_int.h"
#include "store/store.h"
#include "core/banned.h"

/* MAILBOXIDs to the account's mailboxes: ERR_NOTFOUND for an unknown one. */
static int find_mailboxes(struct jmap_ctx *x, const char *const *ids, size_t n,
			  const struct store_mailbox **out)
{
	struct store_mailbox *mbs;
	size_t n_mbs;
	int rc = store_mailbox_list(x->st, x->a, &mbs, &n_mbs);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		out[i] = NULL;
		for (size_t j = 0; j < n_mbs && !out[i]; j++)
			if (strcmp(mbs[j].mailboxid, ids[i]) == 0)
				out[i] = &mbs[j];
		for (size_t k = 0; k < i && out[i]; k++)
			if (out[k] == out[i])
				rc = ERR_INVAL; /* the same mailbox twice */
		if (!out[i])
			rc = ERR_NOTFOUND;
	}
	return rc;
}

/* The new message's EMAILID and THREADID, read back by its UID. */
static int read_back(struct jmap_ctx *x, int64_t mailbox_id, uint32_t uid,
		     struct jmap_new_email *out)
{
	struct store_msg *m;
	struct store_msg_extra *e;
	size_t n, n_e;
	uint32_t next;
	int rc = store_msg_list(x->st, mailbox_id, uid, uid, x->a, &m, &n);
	if (rc == 0 && n != 1)
		rc = ERR_NOTFOUND;
	if (rc == 0)
		rc = store_msg_extra(x->st, mailbox_id, uid, uid, STORE_X_THREAD, x->a, &e, &n_e,
				     &next);
	if (rc == 0 && (n_e != 1 || !e[0].thread_id))
		rc = ERR_IO;
	if (rc < 0)
		return rc;
	out->id = m[0].guid;
	out->thread_id = e[0].thread_id;
	out->blob_id = arena_printf(x->a, "G%s", m[0].guid);
	out->size = m[0].size;
	return out->blob_id ? 0 : ERR_NOMEM;
}

static int store_new(struct jmap_ctx *x, const char *path, const char *const *mailbox_ids,
		     size_t n_mb, const char *keywords, int64_t received_at,
		     struct jmap_new_email *out)
{
	if (n_mb < 1)
		return ERR_INVAL;
	const struct store_mailbox **mbs = arena_alloc(x->a, n_mb * sizeof *mbs);
	if (!mbs)
		return ERR_NOMEM;
	int rc = find_mailboxes(x, mailbox_ids, n_mb, mbs);
	if (rc < 0)
		return rc;
	struct store_new_msg m = {.path = path, .internal_date = received_at};
	if ((rc = jmap_keywords_split(x->a, keywords, &m.flags, &m.keywords)) < 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		log_warn("jmap: cannot read new message %s: %s", path, strerror(errno));
		if (fd >= 0)
			(void)close(fd); /* read-only */
		return ERR_IO;
	}
	m.size = (uint64_t)sb.st_size;
	const struct conf *cf = conf_get();
	if (m.size == 0)
		rc = ERR_INVAL;
	else if (cf && cf->max_message_size && m.size > cf->max_message_size)
		rc = ERR_TOO_BIG;
	else
		store_new_msg_extract(&m, fd, x->a);
	(void)close(fd); /* read-only; the mapping is gone */
	if (rc < 0)
		return rc;

	uint32_t uid;
	if ((rc = store_append(x->st, mbs[0]->name, &m, &uid)) < 0)
		return rc;
	/* the copies: all or nothing */
	uint32_t *made = arena_alloc(x->a, n_mb * sizeof *made);
	size_t n_made = 0;
	rc = made ? 0 : ERR_NOMEM;
	for (size_t i = 1; rc == 0 && i < n_mb; i++) {
		struct store_copy_result cr;
		rc = store_copy(x->st, mbs[0]->id, &uid, 1, mbs[i]->id, x->a, &cr);
		if (rc == 0 && cr.n != 1)
			rc = ERR_IO; /* the original vanished under us (another session) */
		if (rc == 0)
			made[n_made++] = cr.dst_uids[0];
	}
	if (rc == 0)
		rc = read_back(x, mbs[0]->id, uid, out);
	if (rc < 0) {
		uint64_t ms;
		for (size_t i = 0; made && i < n_made; i++)
			if (store_expunge(x->st, mbs[i + 1]->id, &made[i], 1, &ms) < 0)
				log_warn("jmap: cannot take back a copy of a refused Email");
		if (store_expunge(x->st, mbs[0]->id, &uid, 1, &ms) < 0)
			log_warn("jmap: cannot take back a refused Email");
		return rc;
	}
	return 0;
}

int jmap_email_store_new(struct jmap_ctx *x, const char *path,
			 const char *const *mailbox_ids, size_t n_mailboxes,
			 const char *keywords, int64_t received_at, struct jmap_new_email *out)
{
	int rc = store_new(x, path, mailbox_ids, n_mailboxes, keywords, received_at, out);
	/* the store linked (or copied) what it keeps: the caller's file is done either way */
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("jmap: cannot remove %s: %s", path, strerror(errno));
	return rc;
}
