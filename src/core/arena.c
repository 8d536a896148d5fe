/* arena.c: chunked bump allocator. Chunks grow geometrically up to 64 KiB
 * (larger requests get a chunk of their own) so small sessions stay small. */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t off;
	max_align_t data[];
};

#define ARENA_FIRST 256
#define ARENA_MAXCHUNK 65536
#define ALIGN (sizeof(max_align_t))

void arena_init(struct arena *a, size_t cap)
{
	a->head = NULL;
	a->used = 0;
	a->cap = cap;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->used = 0;
}

void arena_reset(struct arena *a)
{
	/* Free every chunk but the oldest (the list's last): it is the small
	 * first chunk, and keeping it makes the next command allocation-free. */
	struct arena_chunk *c = a->head;
	if (!c)
		return;
	while (c->next) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	c->off = 0;
	a->head = c;
	a->used = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	size_t need = (n + ALIGN - 1) & ~(ALIGN - 1);
	if (need < n || need > a->cap - a->used || a->used > a->cap)
		return NULL;
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->off < need) {
		size_t size = c ? c->size * 2 : ARENA_FIRST;
		if (size > ARENA_MAXCHUNK)
			size = ARENA_MAXCHUNK;
		if (size < need)
			size = need;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->off = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->off;
	c->off += need;
	a->used += need;
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const void *p, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *s = arena_alloc(a, n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	char *s = arena_alloc(a, (size_t)n + 1);
	if (!s)
		return NULL;
	if (vsnprintf(s, (size_t)n + 1, fmt, ap) != n)
		return NULL;
	return s;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}
