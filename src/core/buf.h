/* buf.h: a byte buffer with a fixed capacity, set once.
 * Appends fail with ERR_FULL instead of growing; only buf.c copies into storage.
 * Storage comes from the caller (arena or static) or from buf_alloc(). */
#ifndef KASTEN_BUF_H
#define KASTEN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct arena;

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Use caller-owned storage of cap bytes. */
void buf_init(struct buf *b, void *storage, size_t cap);
/* Allocate cap bytes from the arena; ERR_NOMEM if it cannot. */
int buf_alloc(struct buf *b, struct arena *a, size_t cap);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remove the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
static inline void buf_clear(struct buf *b)
{
	b->len = 0;
}
static inline size_t buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

#endif
