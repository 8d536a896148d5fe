/* jmap_email_msg.c: one message as Email/get, Email/parse and the part blobs read it
 * (struct jmap_msg, jmap_email_get_int.h): the cached MIME tree and header first, the
 * file mapped read-only only when bytes beyond those are asked for, parts found by
 * their IMAP section number and decoded (Content-Transfer-Encoding) in memory up to a
 * bound the caller gives. */
#include "http/jmap_email_get_int.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/log.h"
#include "mime/mime.h"
#include "store/store.h"

void jmap_msg_init_store(struct jmap_msg *m, struct arena *a, struct store *st,
			 int64_t mailbox_id, uint32_t uid)
{
	*m = (struct jmap_msg){.a = a, .st = st, .mailbox_id = mailbox_id, .uid = uid, .fd = -1,
			       .part_prefix = ""};
}

void jmap_msg_init_fd(struct jmap_msg *m, struct arena *a, int fd, uint64_t size)
{
	*m = (struct jmap_msg){.a = a, .fd = fd, .map_len = (size_t)size, .part_prefix = ""};
}

void jmap_msg_close(struct jmap_msg *m)
{
	if (m->map && m->map_len)
		(void)munmap((void *)m->map, m->map_len); /* read-only: nothing to lose */
	if (m->fd >= 0)
		(void)close(m->fd);
	m->map = NULL;
	m->fd = -1;
}

int jmap_msg_map(struct jmap_msg *m)
{
	if (m->map)
		return 0;
	if (m->fd < 0) {
		uint64_t size;
		int rc = store_msg_open(m->st, m->mailbox_id, m->uid, &m->fd, &size);
		if (rc < 0)
			return rc;
		m->map_len = (size_t)size;
	}
	if (m->map_len == 0) {
		m->map = (const uint8_t *)"";
		return 0;
	}
	void *p = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, m->fd, 0);
	if (p == MAP_FAILED) {
		log_err("jmap: mmap of a message: %s", strerror(errno));
		return ERR_IO;
	}
	m->map = p;
	return 0;
}

/* Parse the tree from the mapped bytes. */
static int reparse(struct jmap_msg *m)
{
	int rc = jmap_msg_map(m);
	if (rc == 0)
		rc = mime_parse(m->map, m->map_len, m->a, &m->root);
	return rc;
}

int jmap_msg_root(struct jmap_msg *m)
{
	if (m->root)
		return 0;
	if (!m->st)
		return reparse(m);
	const void *blob;
	size_t len;
	int rc = store_msg_mime(m->st, m->mailbox_id, m->uid, m->a, &blob, &len);
	if (rc == 0)
		rc = mime_deserialize(blob, len, m->a, &m->root);
	if (rc == ERR_BAD_SYNTAX) /* an older MIME_BLOB_VERSION */
		rc = reparse(m);
	if (rc < 0)
		m->root = NULL;
	return rc;
}

int jmap_msg_header(struct jmap_msg *m)
{
	if (m->hdr)
		return 0;
	int rc = jmap_msg_root(m);
	if (rc == 0)
		rc = jmap_msg_map(m);
	if (rc < 0)
		return rc;
	size_t end = (size_t)m->root->body_start;
	m->hdr = m->map;
	m->hdr_len = end <= m->map_len ? end : m->map_len;
	return 0;
}

bool jmap_part_is_multipart(const struct mime_part *p)
{
	return p->type && strcmp(p->type, "multipart") == 0;
}

/* The leading number of *path ("12" of "12.3"), advancing past it and a '.'; 0 if
 * there is none (section numbers start at 1). */
static unsigned next_number(const char **path)
{
	const char *p = *path;
	unsigned v = 0;
	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (v > 100000)
			return 0;
		v = v * 10 + (unsigned)(*p++ - '0');
	}
	if (*p == '.' && p[1] >= '1' && p[1] <= '9')
		p++;
	else if (*p)
		return 0; /* "1.", "1.0", "1x": not a section number */
	*path = p;
	return v;
}

static struct mime_part *find_in_message(struct mime_part *msg, const char *path);

/* Below a part that path continues from: into a multipart's children or an
 * encapsulated message. */
static struct mime_part *find_below(struct mime_part *p, const char *path)
{
	if (!*path)
		return p;
	if (jmap_part_is_multipart(p)) {
		unsigned k = next_number(&path);
		struct mime_part *c = p->children;
		for (unsigned i = 1; c && i < k; i++)
			c = c->next;
		return k && c ? find_below(c, path) : NULL;
	}
	return p->message ? find_in_message(p->message, path) : NULL;
}

/* In a message (the root, or an encapsulated one): a multipart's parts are its
 * children; any other message's body is part 1. */
static struct mime_part *find_in_message(struct mime_part *msg, const char *path)
{
	if (jmap_part_is_multipart(msg))
		return find_below(msg, path);
	return next_number(&path) == 1 ? find_below(msg, path) : NULL;
}

struct mime_part *jmap_msg_find_part(struct mime_part *root, const char *part_id)
{
	if (!part_id || !*part_id || strlen(part_id) > 200)
		return NULL;
	struct mime_part *p = find_in_message(root, part_id);
	return p && !jmap_part_is_multipart(p) ? p : NULL;
}

/* jmap_email_get_int.h */
int jmap_msg_part_body(struct jmap_msg *m, const struct mime_part *p, const uint8_t **b,
		       size_t *n)
{
	int rc = jmap_msg_map(m);
	if (rc < 0)
		return rc;
	size_t s = (size_t)p->body_start, e = (size_t)p->end;
	if (e > m->map_len)
		e = m->map_len;
	if (s > e)
		s = e;
	*b = m->map + s;
	*n = e - s;
	return 0;
}

int jmap_msg_part_size(struct jmap_msg *m, const struct mime_part *p, uint64_t *size_out)
{
	const char *enc = p->encoding.s;
	size_t el = enc ? p->encoding.len : 0;
	struct mime_cte_dec d;
	if (mime_cte_init(&d, enc, el) == 0 && d.kind == MIME_CTE_IDENTITY) {
		*size_out = p->end - p->body_start; /* no need to read it */
		return 0;
	}
	const uint8_t *b;
	size_t n;
	int rc = jmap_msg_part_body(m, p, &b, &n);
	if (rc < 0)
		return rc;
	if (mime_cte_decoded_size(enc, el, b, n, size_out, NULL) < 0)
		*size_out = n; /* unknown encoding: the bytes as they are */
	return 0;
}

int jmap_msg_part_decode(struct jmap_msg *m, const struct mime_part *p, size_t max,
			 const uint8_t **out, size_t *len_out, bool *cut_out,
			 bool *unknown_cte_out)
{
	const uint8_t *b;
	size_t n;
	int rc = jmap_msg_part_body(m, p, &b, &n);
	if (rc < 0)
		return rc;
	struct mime_cte_dec d;
	*unknown_cte_out = mime_cte_init(&d, p->encoding.s, p->encoding.s ? p->encoding.len : 0) < 0;
	/* decoded output is never longer than its input, so n + 1 bytes always suffice;
	 * past max the decode stops */
	size_t cap = (n < max ? n : max) + 1;
	uint8_t *buf = arena_alloc(m->a, cap);
	if (!buf)
		return ERR_NOMEM;
	size_t used = 0, written = 0;
	int more = mime_cte_decode(&d, b, n, true, &used, buf, cap, &written);
	*cut_out = written > max || more == 1;
	*len_out = written > max ? max : written;
	*out = buf;
	return 0;
}
