/* sqs_extract.c: what a content row and its full-text row hold, from what the caller of
 * append/deliver handed in (store_new_msg: header, preview, text, ids, MIME blob), and
 * for whatever it left NULL, from the message file itself: mapped read-only and run
 * through mime_extract once (also when the file is a migrated message's, for
 * sqs_content_fill). The full-text columns (sqs_extract_fts, made by the indexer) are
 * the decoded (RFC 2047) values of Subject, From, To, Cc and Bcc and the body text,
 * folded by store_search_fold.
 *
 * A message too complex for the scratch arena still gets stored: its header is then
 * found with the header iterator alone, and it has no text, preview or MIME blob
 * (store_msg_mime parses it later in the caller's arena). Limits: LIMIT_CACHED_HEADER
 * (a longer header is not cached, and only its first LIMIT_CACHED_HEADER bytes are
 * searched), LIMIT_SEARCH_TEXT bytes of body text; the scratch arena bounds the rest. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "mime/mime.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

static const char *const field_names[] = {
	[SQS_F_SUBJECT] = "Subject", [SQS_F_FROM] = "From", [SQS_F_TO] = "To",
	[SQS_F_CC] = "Cc",           [SQS_F_BCC] = "Bcc",
};

struct map {
	const uint8_t *p;
	size_t len;
	void *base; /* for munmap, NULL for an empty file */
};

static int map_file(const char *path, struct map *m)
{
	static const uint8_t empty[1];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > SIZE_MAX) {
		log_err("store: message file path=%s: %s", path,
			fd < 0 ? strerror(errno) : "not a readable file");
		if (fd >= 0)
			(void)close(fd); /* read-only: nothing to lose */
		return ERR_IO;
	}
	m->p = empty;
	m->len = (size_t)sb.st_size;
	m->base = NULL;
	if (m->len) {
		m->base = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m->base == MAP_FAILED) {
			log_err("store: map path=%s: %s", path, strerror(errno));
			(void)close(fd);
			return ERR_IO;
		}
		m->p = m->base;
	}
	(void)close(fd); /* the mapping keeps the file */
	return 0;
}

/* Where the top-level header ends (the body's first byte), by the header iterator. */
static size_t header_end(const uint8_t *p, size_t len)
{
	struct mime_header_iter it;
	struct mime_field f;
	mime_header_init(&it, 0);
	while (mime_header_next(&it, p, len, true, &f) == MIME_HDR_FIELD)
		;
	return it.off;
}

/* A copy of [p, p+n) folded, NUL-terminated, in a; "" when it does not fit. */
static const char *folded(struct arena *a, const char *p, size_t n, size_t *len_out)
{
	char *s = arena_alloc(a, n + 1);
	if (!s) {
		*len_out = 0;
		return "";
	}
	*len_out = store_search_fold(p, n, s);
	s[*len_out] = '\0';
	return s;
}

/* Every field `name` of the header block, decoded and joined with newlines, folded.
 * A value the arena cannot hold leaves the column without it: the message is still
 * stored, only less of it is searchable. */
static const char *header_field(const uint8_t *hdr, size_t len, const char *name,
				struct arena *a, size_t *len_out)
{
	struct mime_header_iter it;
	struct mime_field f;
	struct mime_str v[16];
	size_t nv = 0, total = 0;
	*len_out = 0;
	if (!len)
		return "";
	mime_header_init(&it, 0);
	while (nv < sizeof(v) / sizeof(v[0]) &&
	       mime_header_next(&it, hdr, len, true, &f) == MIME_HDR_FIELD) {
		if (f.bad || !str_ieq(f.name, f.name_len, name))
			continue;
		if (mime_decode_words(f.value, f.value_len, a, &v[nv]) == 0 && v[nv].s) {
			total += v[nv].len + 1;
			nv++;
		}
	}
	char *s = nv ? arena_alloc(a, total) : NULL;
	if (!s) {
		*len_out = 0;
		return "";
	}
	size_t o = 0;
	for (size_t i = 0; i < nv; i++) {
		if (i)
			s[o++] = '\n';
		memcpy(s + o, v[i].s, v[i].len);
		o += v[i].len;
	}
	/* a NUL (a broken header, or an encoded word decoding to one) would end the
	 * column for SQLite's text functions: what follows must stay searchable */
	for (size_t i = 0; i < o; i++)
		if (s[i] == '\0')
			s[i] = ' ';
	*len_out = store_search_fold(s, o, s);
	s[*len_out] = '\0';
	return s;
}

/* At most LIMIT_SEARCH_TEXT bytes of text, cut before a partial UTF-8 sequence. */
static size_t text_cut(const char *t, size_t n)
{
	if (n <= LIMIT_SEARCH_TEXT)
		return n;
	n = LIMIT_SEARCH_TEXT;
	while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* What m leaves NULL, from the mapped file: the full extraction, or (when the arena is
 * too small for it) the header's extent alone. */
static void from_file(const struct store_new_msg *m, const struct map *mp, struct arena *a,
		      struct sqs_extracted *out, const uint8_t **hdr, size_t *hdr_len)
{
	struct mime_extract x;
	if (mime_extract(mp->p, mp->len, a, &x) < 0) {
		arena_reset(a); /* nothing of it is kept */
		if (!*hdr) {
			*hdr = mp->p;
			*hdr_len = header_end(mp->p, mp->len);
		}
		return;
	}
	if (!*hdr) {
		*hdr = mp->p;
		*hdr_len = x.header_len;
	}
	if (!out->text) {
		out->text = x.text;
		out->text_len = x.text_len;
	}
	if (!m->preview && x.preview_len)
		out->preview = x.preview;
	if (!m->message_id)
		out->message_id = x.message_id;
	if (!m->references)
		out->references = x.references;
	if (!m->mime_len) {
		out->mime = x.blob;
		out->mime_len = x.blob_len;
	}
}

/* A copy of [p, p+n) in a, or NULL when it does not fit. */
static const void *copy(struct arena *a, const void *p, size_t n)
{
	void *c = arena_alloc(a, n ? n : 1);
	if (c && n)
		memcpy(c, p, n);
	return c;
}

int sqs_extract(const struct store_new_msg *m, const char *path, struct arena *a,
		struct sqs_extracted *out)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *hdr = m->header_len ? m->header : NULL;
	size_t hdr_len = m->header_len;
	out->text = m->text;
	out->text_len = m->text ? m->text_len : 0;
	out->preview = m->preview && *m->preview ? m->preview : NULL;
	out->message_id = m->message_id;
	out->references = m->references;
	out->mime = m->mime_len ? m->mime : NULL;
	out->mime_len = m->mime_len;
	struct map mp = {0};
	if (!hdr || !m->text || !m->preview) {
		int r = map_file(path, &mp);
		if (r < 0)
			return r;
		from_file(m, &mp, a, out, &hdr, &hdr_len);
	}
	/* what points into the mapping is copied before it goes */
	if (hdr_len <= LIMIT_CACHED_HEADER && (out->header = copy(a, hdr, hdr_len)))
		out->header_len = hdr_len;
	out->fields_len = hdr_len < LIMIT_CACHED_HEADER ? hdr_len : LIMIT_CACHED_HEADER;
	out->fields = out->header ? out->header : copy(a, hdr, out->fields_len);
	if (!out->fields)
		out->fields_len = 0;
	if (!out->text)
		out->text = "";
	out->text_len = text_cut(out->text, out->text_len);
	if (mp.base)
		(void)munmap(mp.base, mp.len); /* everything kept is the caller's or in a */
	return 0;
}

void sqs_extract_fts(const void *fields, size_t fields_len, const char *text, size_t text_len,
		     struct arena *a, struct sqs_fts *out)
{
	for (int i = 0; i < SQS_F_BODY; i++)
		out->col[i] = header_field(fields, fields_len, field_names[i], a, &out->len[i]);
	out->col[SQS_F_BODY] = folded(a, text, text_cut(text, text_len), &out->len[SQS_F_BODY]);
}
