/* buf.c: the only place that copies into buffer storage. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "err.h"
#include "banned.h"

void buf_init(struct buf *b, void *storage, size_t cap)
{
	b->data = storage;
	b->len = 0;
	b->cap = cap;
}

int buf_alloc(struct buf *b, struct arena *a, size_t cap)
{
	void *p = arena_alloc(a, cap);
	if (!p)
		return ERR_NOMEM;
	buf_init(b, p, cap);
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len)
		return ERR_FULL;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	size_t room = b->cap - b->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf((char *)b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_INVAL;
	if ((size_t)n >= room)
		return ERR_FULL; /* nothing counted: len is unchanged */
	b->len += (size_t)n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
