/* mime_header.c: the header field iterator (RFC 5322 2.2, 3.6 field syntax with folding),
 * the field lookup and nothing else. It reads only [p, p+len), allocates nothing and
 * keeps its progress in struct mime_header_iter, so it runs over a block that grows.
 * Limit: LIMIT_HEADER_FIELDS fields, checked before a field is consumed. */
#include "mime_int.h"

#include <string.h>

#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

void mime_header_init(struct mime_header_iter *it, size_t start)
{
	memset(it, 0, sizeof(*it));
	it->off = start;
}

static int header_end(struct mime_header_iter *it, size_t line, size_t body)
{
	it->done = true;
	it->end_line = line;
	it->off = body;
	return MIME_HDR_END;
}

/* The end of the field starting at off: after the LF of its last line. 0 if undecided. */
static size_t field_end(const uint8_t *p, size_t len, size_t off, bool eof)
{
	size_t pos = off;
	for (;;) {
		const uint8_t *lf = memchr(p + pos, '\n', len - pos);
		if (!lf)
			return eof ? len : 0;
		size_t next = (size_t)(lf - p) + 1;
		if (next >= len)
			return eof ? next : 0; /* the next line's first byte decides */
		if (!mime_wsp(p[next]))
			return next;
		pos = next;
	}
}

static void split_field(const uint8_t *p, size_t off, size_t end, struct mime_field *f)
{
	size_t vend = end;
	if (vend > off && p[vend - 1] == '\n') {
		vend--;
		if (vend > off && p[vend - 1] == '\r')
			vend--;
	}
	size_t line_end = off;
	while (line_end < vend && p[line_end] != '\n')
		line_end++;
	const uint8_t *colon = memchr(p + off, ':', line_end - off);
	size_t name_end = colon ? (size_t)(colon - p) : line_end;
	if (!colon && name_end > off && p[name_end - 1] == '\r')
		name_end--;
	while (name_end > off && mime_wsp(p[name_end - 1]))
		name_end--;
	f->start = off;
	f->end = end;
	f->name = p + off;
	f->name_len = name_end - off;
	f->value = colon ? colon + 1 : p + vend;
	f->value_len = colon ? vend - (size_t)(colon + 1 - p) : 0;
	f->bad = !colon || f->name_len == 0;
	for (size_t i = 0; i < f->name_len && !f->bad; i++)
		f->bad = f->name[i] < 33 || f->name[i] > 126;
}

int mime_header_next(struct mime_header_iter *it, const uint8_t *p, size_t len, bool eof,
                     struct mime_field *f_out)
{
	if (it->done)
		return MIME_HDR_END;
	size_t off = it->off;
	if (off >= len)
		return eof ? header_end(it, off, off) : 0;
	if (p[off] == '\n')
		return header_end(it, off, off + 1);
	if (p[off] == '\r') {
		if (off + 1 >= len)
			return eof ? header_end(it, off, len) : 0;
		if (p[off + 1] == '\n')
			return header_end(it, off, off + 2);
		/* A bare CR starting a line is an ordinary byte of a (bad) field. */
	}
	if (it->nfields >= LIMIT_HEADER_FIELDS) {
		it->limited = true;
		return header_end(it, off, off);
	}
	size_t end = field_end(p, len, off, eof);
	if (end == 0)
		return 0;
	split_field(p, off, end, f_out);
	it->off = end;
	it->nfields++;
	return MIME_HDR_FIELD;
}

int mime_header_find(const uint8_t *p, size_t len, const char *name, struct mime_field *f_out)
{
	struct mime_header_iter it;
	struct mime_field f;
	mime_header_init(&it, 0);
	while (mime_header_next(&it, p, len, true, &f) == MIME_HDR_FIELD) {
		if (!f.bad && str_ieq(f.name, f.name_len, name)) {
			*f_out = f;
			return 1;
		}
	}
	return 0;
}
