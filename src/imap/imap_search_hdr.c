/* imap_search_hdr.c: the SEARCH keys that look at a message's header block, the one
 * cached at delivery (or the start of the file where it was too long to cache): HEADER
 * (RFC 9051 6.4.4: a field's presence, or a substring of its value), the header half of
 * TEXT, and the SENT* dates. Values are decoded (RFC 2047, charsets; mime_decode_words)
 * and folded (store_search_fold) before they are compared, as the full-text index does
 * with the fields it keeps, so a key gives the same answer from either source. Memory:
 * the scratch arena handed in, reset per field. */
#include "imap/imap_search.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "imap/imap_sortkey.h"
#include "mime/mime.h"
#include "store/store.h"
#include "core/banned.h"

int32_t imap_search_days(int64_t t)
{
	int64_t d = t / 86400;
	if (t % 86400 < 0)
		d--; /* before 1970: round towards the earlier day */
	return (int32_t)d;
}

/* Does the decoded, folded text of one field hold the needle? TEXT sees the field as
 * "Name: value" (Dovecot matches "x-foo: q" there, and so do we). */
static bool field_has(const struct mime_field *f, bool with_name, const char *needle,
		      size_t nlen, struct arena *ta)
{
	arena_reset(ta);
	struct mime_str v;
	if (mime_decode_words(f->value, f->value_len, ta, &v) < 0 || !v.s) {
		v.s = (char *)f->value; /* no room to decode: the raw value still counts */
		v.len = f->value_len;
	}
	size_t pre = with_name ? f->name_len + 2 : 0;
	char *hay = arena_alloc(ta, pre + v.len + 1);
	if (!hay)
		return false;
	if (with_name) {
		memcpy(hay, f->name, f->name_len);
		memcpy(hay + f->name_len, ": ", 2);
	}
	memcpy(hay + pre, v.s, v.len);
	size_t hl = store_search_fold(hay, pre + v.len, hay);
	return memmem(hay, hl, needle, nlen) != NULL;
}

bool imap_search_hdr_match(const void *h, size_t n, const char *name, size_t name_len,
			   const char *needle, size_t nlen, struct arena *ta)
{
	struct mime_header_iter it;
	struct mime_field f;
	if (!h)
		return false;
	mime_header_init(&it, 0);
	while (mime_header_next(&it, h, n, true, &f) == MIME_HDR_FIELD) {
		if (f.bad)
			continue; /* a line without a colon is no field */
		if (name && !(f.name_len == name_len && !strncasecmp((const char *)f.name, name,
									 name_len)))
			continue;
		if (nlen == 0 || field_has(&f, name == NULL, needle, nlen, ta))
			return true;
	}
	return false;
}

int32_t imap_search_hdr_sent_days(const void *h, size_t n)
{
	struct mime_field f;
	int32_t days;
	if (h && mime_header_find(h, n, "Date", &f) &&
	    imap_sortkey_date((const char *)f.value, f.value_len, NULL, &days) == 0)
		return days;
	return 0;
}

int imap_search_hdr_read(struct store *st, int64_t mailbox, uint32_t uid, struct arena *ta,
			 const void **p_out, size_t *n_out)
{
	int fd;
	uint64_t size;
	int r = store_msg_open(st, mailbox, uid, &fd, &size);
	if (r < 0)
		return r;
	size_t want = size < LIMIT_CACHED_HEADER ? (size_t)size : LIMIT_CACHED_HEADER;
	uint8_t *p = arena_alloc(ta, want ? want : 1);
	size_t got = 0;
	while (p && got < want) {
		ssize_t k = read(fd, p + got, want - got);
		if (k <= 0)
			break; /* what was read is what there is: a short file has a short header */
		got += (size_t)k;
	}
	(void)close(fd); /* read-only: nothing to lose */
	if (!p)
		return ERR_NOMEM;
	*p_out = p;
	*n_out = got;
	return 0;
}
