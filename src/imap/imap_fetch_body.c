/* imap_fetch_body.c: where the octets of a body item (RFC 9051 6.4.5 BODY[section]
 * <partial>, RFC 3501's RFC822 items, RFC 3516 BINARY[section] and BINARY.SIZE) come
 * from: the cached top-level header, a range of the message file located in the cached
 * MIME structure, or a header block filtered for HEADER.FIELDS(.NOT). Also reading the
 * structure and opening the file of the message being answered, once each. Owns
 * nothing: memory is the job's message arena, the descriptor the job's. Limits:
 * LIMIT_IMAP_FETCH_HEADER octets of a header block filtered from the file.
 *
 * Decisions:
 *  - A part that does not exist answers the empty string, as Dovecot does (RFC 9051
 *    leaves it open; imap_section_locate says which sections those are).
 *  - BINARY[] (no part) is the message as stored: no transfer encoding applies to a
 *    message as a whole (RFC 2045 6.4 puts it on a body), and decoding its parts in place
 *    would make a message whose headers no longer say how it is encoded. A part is
 *    decoded with its own Content-Transfer-Encoding; a multipart or message/rfc822 part
 *    has an identity encoding (RFC 2046 5.1.1, 5.2.1) and goes as it is. Dovecot instead
 *    decodes every leaf of BINARY[] and of composite parts and rewrites their headers
 *    (recorded as "binary-composite" in tests/corpus/imap).
 *  - An encoding the decoder does not know fails the FETCH with NO [UNKNOWN-CTE]
 *    (RFC 3516 4.2, RFC 9051 7.1); the message gets no response. */
#include "imap_fetch_int.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"
#include "core/banned.h"

int imap_fetch_need_file(struct imap_fetch_job *j)
{
	if (j->fd >= 0)
		return 0;
	struct store *st = imap_fetch_store(j);
	if (!st)
		return ERR_TEMP;
	uint64_t size = 0;
	int r = store_msg_open(st, j->s->sel->mailbox_id, j->m->uid, &j->fd, &size);
	if (r < 0) {
		j->fd = -1;
		return r;
	}
	j->fsize = size;
	return 0;
}

/* A structure blob of an older MIME_BLOB_VERSION: parse the file again, and pass the
 * tree through a blob so that nothing of it points into the mapped file. */
static int reparse(struct imap_fetch_job *j)
{
	int r = imap_fetch_need_file(j);
	if (r < 0)
		return r;
	if (j->fsize == 0)
		return mime_parse((const uint8_t *)"", 0, &j->ma, &j->root);
	void *map = mmap(NULL, j->fsize, PROT_READ, MAP_PRIVATE, j->fd, 0);
	if (map == MAP_FAILED) {
		log_err("fetch: mmap uid=%u: %s", j->m->uid, strerror(errno));
		return ERR_IO;
	}
	struct mime_part *tmp;
	void *blob;
	size_t len;
	r = mime_parse(map, j->fsize, &j->ma, &tmp);
	if (r == 0)
		r = mime_serialize(tmp, &j->ma, &blob, &len);
	(void)munmap(map, j->fsize); /* a read-only mapping: nothing to lose */
	if (r == 0)
		r = mime_deserialize(blob, len, &j->ma, &j->root);
	return r == ERR_NOMEM ? ERR_TOO_BIG : r;
}

int imap_fetch_need_root(struct imap_fetch_job *j)
{
	if (j->root)
		return 0;
	struct store *st = imap_fetch_store(j);
	if (!st)
		return ERR_TEMP;
	const void *blob;
	size_t len;
	int r = store_msg_mime(st, j->s->sel->mailbox_id, j->m->uid, &j->ma, &blob, &len);
	if (r == 0)
		r = mime_deserialize(blob, len, &j->ma, &j->root);
	if (r == ERR_BAD_SYNTAX)
		r = reparse(j);
	if (r == ERR_NOMEM)
		r = ERR_TOO_BIG; /* the message arena's bound: an answer, not a broken client */
	if (r < 0)
		j->root = NULL;
	return r;
}

/* Octets [start, start + len) of the file into the message arena. */
static int read_block(struct imap_fetch_job *j, uint64_t start, uint64_t len, const uint8_t **out)
{
	if (len > LIMIT_IMAP_FETCH_HEADER) {
		j->no = "NO [LIMIT] A header is too long to filter for HEADER.FIELDS";
		return ERR_TOO_BIG;
	}
	uint8_t *p = arena_alloc(&j->ma, len ? len : 1);
	if (!p)
		return ERR_TOO_BIG;
	for (uint64_t got = 0; got < len;) {
		ssize_t n = pread(j->fd, p + got, len - got, (off_t)(start + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("fetch: read uid=%u: %s", j->m->uid,
			        n < 0 ? strerror(errno) : "short file");
			return ERR_IO;
		}
		got += (uint64_t)n;
	}
	*out = p;
	return 0;
}

/* The octets sent of a section of b->size octets: [offset, offset + count) as asked
 * (RFC 9051 6.4.5 partial: past the end gives the empty string, a count past it what
 * there is). Until then from/count hold what was asked (count UINT64_MAX: all). */
static void window(struct imap_fetch_body *b)
{
	if (b->from > b->size)
		b->from = b->size;
	if (b->count > b->size - b->from)
		b->count = b->size - b->from;
}

/* HEADER.FIELDS(.NOT): the block filtered, in memory. */
static int filter(struct imap_fetch_job *j, const struct imap_section *sec,
                  struct imap_fetch_body *b)
{
	const uint8_t *block = b->mem;
	int r = 0;
	if (b->src == IMAP_FETCH_SRC_FILE)
		r = read_block(j, b->start, b->len, &block);
	else if (b->src == IMAP_FETCH_SRC_MEM)
		block += b->start;
	else
		return 0;
	uint8_t *out;
	size_t n;
	if (r == 0)
		r = imap_filter_header(block, b->len, sec, &j->ma, &out, &n);
	if (r < 0)
		return r == ERR_NOMEM ? ERR_TOO_BIG : r;
	b->src = IMAP_FETCH_SRC_MEM;
	b->mem = out;
	b->start = 0;
	b->len = n;
	return 0;
}

/* A range of the message file. */
static int file_range(struct imap_fetch_job *j, struct imap_fetch_body *b, uint64_t start,
                      uint64_t len)
{
	int r = imap_fetch_need_file(j);
	if (r < 0)
		return r;
	if (start > j->fsize || len > j->fsize - start) {
		log_err("fetch: uid=%u: structure names octets %llu+%llu of a %llu-octet file",
		        j->m->uid, (unsigned long long)start, (unsigned long long)len,
		        (unsigned long long)j->fsize);
		return ERR_IO;
	}
	b->src = IMAP_FETCH_SRC_FILE;
	b->start = start;
	b->len = len;
	return 0;
}

static int locate_binary(struct imap_fetch_job *j, const struct imap_fetch_item *it,
                         struct imap_fetch_body *b)
{
	const struct imap_section *sec = &it->section;
	bool size_only = it->att == IMAP_FETCH_BINARY_SIZE;
	int r;
	if (sec->nparts == 0) {
		r = imap_fetch_need_file(j);
		if (r == 0)
			r = file_range(j, b, 0, j->fsize);
		b->size = b->len;
		b->measure = !size_only; /* NUL decides literal8 */
		return r;
	}
	if ((r = imap_fetch_need_root(j)) < 0)
		return r;
	const struct mime_part *pt = imap_section_part(j->root, sec);
	if (!pt) {
		b->src = IMAP_FETCH_SRC_EMPTY;
		return 0;
	}
	struct mime_cte_dec d;
	if (mime_cte_init(&d, pt->encoding.s, pt->encoding.s ? pt->encoding.len : 0) < 0) {
		j->no = "NO [UNKNOWN-CTE] The part's Content-Transfer-Encoding is not known";
		return ERR_INVAL;
	}
	if ((r = file_range(j, b, pt->body_start, pt->end - pt->body_start)) < 0)
		return r;
	b->decode = d.kind != MIME_CTE_IDENTITY;
	b->enc = pt->encoding.s;
	b->enc_len = pt->encoding.s ? pt->encoding.len : 0;
	b->size = b->len;
	b->measure = b->decode || !size_only;
	return 0;
}

int imap_fetch_body_locate(struct imap_fetch_job *j, const struct imap_fetch_item *it,
                           struct imap_fetch_body *b)
{
	const struct imap_section *sec = &it->section;
	memset(b, 0, sizeof(*b));
	b->from = it->partial ? it->offset : 0;
	b->count = it->partial ? it->count : UINT64_MAX;
	int r;
	if (it->att == IMAP_FETCH_BINARY || it->att == IMAP_FETCH_BINARY_SIZE) {
		if ((r = locate_binary(j, it, b)) < 0)
			return r;
		if (!b->measure)
			window(b);
		return 0;
	}
	bool header = sec->kind == IMAP_SECTION_HEADER || sec->kind == IMAP_SECTION_HEADER_FIELDS ||
	              sec->kind == IMAP_SECTION_HEADER_NOT;
	uint64_t start, len;
	if (sec->nparts == 0 && header && j->mx && j->mx->header) {
		b->src = IMAP_FETCH_SRC_MEM; /* the header cached at delivery: no file */
		b->mem = j->mx->header;
		b->len = j->mx->header_len;
	} else if (sec->nparts == 0 && sec->kind == IMAP_SECTION_ALL) {
		if ((r = imap_fetch_need_file(j)) < 0 || (r = file_range(j, b, 0, j->fsize)) < 0)
			return r;
	} else {
		if ((r = imap_fetch_need_root(j)) < 0)
			return r;
		r = imap_section_locate(j->root, sec, &start, &len);
		if (r == ERR_NOTFOUND)
			b->src = IMAP_FETCH_SRC_EMPTY;
		else if (r < 0 || (r = file_range(j, b, start, len)) < 0)
			return r;
	}
	if (sec->kind == IMAP_SECTION_HEADER_FIELDS || sec->kind == IMAP_SECTION_HEADER_NOT) {
		if ((r = filter(j, sec, b)) < 0)
			return r;
	}
	b->size = b->src == IMAP_FETCH_SRC_EMPTY ? 0 : b->len;
	window(b);
	return 0;
}
