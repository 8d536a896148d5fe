/* jmap_email_build_out.c: the output of the message writer: a buffer in the arena
 * flushed to a file descriptor, every byte counted against the message's limit before
 * it is accepted, so a message past the limit stops being written at the limit
 * (ERR_TOO_BIG) instead of filling the disk first. It also keeps the column (bytes
 * since the last LF) the header folding reads. */
#include "http/jmap_email_build_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/err.h"

int jeb_out_init(struct jeb_out *o, struct arena *a, int fd, uint64_t max, size_t cap)
{
	memset(o, 0, sizeof *o);
	o->fd = fd;
	o->max = max;
	o->cap = cap;
	o->buf = arena_alloc(a, cap);
	return o->buf ? 0 : ERR_NOMEM;
}

int jeb_flush(struct jeb_out *o)
{
	size_t off = 0;
	if (o->err)
		return o->err;
	while (o->fd >= 0 && off < o->len) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return o->err = ERR_IO;
		off += (size_t)w;
	}
	o->len = 0;
	return 0;
}

int jeb_put(struct jeb_out *o, const void *p, size_t n)
{
	const uint8_t *s = p;
	if (o->err)
		return o->err;
	if (n > o->max - o->total)
		return o->err = ERR_TOO_BIG;
	o->total += n;
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '\n') {
			o->col = n - i;
			goto copy;
		}
	o->col += n;
copy:
	while (n > 0) {
		if (o->len == o->cap && jeb_flush(o) < 0)
			return o->err;
		size_t k = o->cap - o->len < n ? o->cap - o->len : n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
	return 0;
}

int jeb_puts(struct jeb_out *o, const char *s)
{
	return jeb_put(o, s, strlen(s));
}
