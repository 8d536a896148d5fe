/* arena.h: bump allocation with a hard byte cap.
 * An arena owns every block it hands out; arena_reset() frees them all at once
 * (keeping the first chunk for reuse), arena_free() releases the arena itself.
 * Allocation fails (returns NULL) once the cap would be passed: the caller turns
 * that into a temporary failure for its one client. */
#ifndef KASTEN_ARENA_H
#define KASTEN_ARENA_H

#include <stddef.h>
#include <stdarg.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* newest chunk first */
	size_t used;              /* bytes handed out, for the cap */
	size_t cap;
};

/* Initialise an arena that may hand out at most cap bytes in total. */
void arena_init(struct arena *a, size_t cap);
/* Release everything; the arena can be reused after arena_init(). */
void arena_free(struct arena *a);
/* Forget every allocation but keep the first chunk's memory. */
void arena_reset(struct arena *a);

/* n bytes aligned for any type, or NULL past the cap. */
void *arena_alloc(struct arena *a, size_t n);
/* Same, zeroed. */
void *arena_zalloc(struct arena *a, size_t n);
/* Copy of [p, p+n) with a NUL appended, or NULL. */
char *arena_strndup(struct arena *a, const void *p, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* printf into the arena, or NULL on cap or format error. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
