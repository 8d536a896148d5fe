/* fuzz_jmap_filter.c: libFuzzer target for the Email filter reader
 * (src/http/jmap_email_filter.c; RFC 8621 4.4.1). The input is JSON text (NUL allowed
 * in strings, any top-level value). Properties: the reader never crashes; it accepts
 * (a tree) or refuses with ERR_INVAL and an error of type invalidArguments or
 * unsupportedFilter with a description, nothing else (the arena is big enough that
 * ERR_NOMEM cannot happen for an input this size); an accepted tree nests no more
 * than LIMIT_JMAP_FILTER_DEPTH operators, holds at most LIMIT_JMAP_FILTER_CONDITIONS
 * conditions, each text at most LIMIT_SEARCH_NEEDLE octets, each keyword a valid one in
 * lower case; the answer is the same twice. Seeds: fuzz/corpus/jmap_filter/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap_email_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check a tree; returns its conditions. */
static size_t check(const struct jmap_filter *f, unsigned depth)
{
	size_t n = 0;
	switch (f->kind) {
	case JMAP_FILTER_AND:
	case JMAP_FILTER_OR:
	case JMAP_FILTER_NOT:
		for (size_t i = 0; i < f->n_kids; i++) {
			bool op = f->kids[i].n_kids || f->kids[i].kind <= JMAP_FILTER_NOT;
			n += check(&f->kids[i], depth + (op ? 1 : 0));
		}
		assert(depth <= LIMIT_JMAP_FILTER_DEPTH + 1);
		return n;
	case JMAP_FILTER_HAS_KEYWORD:
	case JMAP_FILTER_NOT_KEYWORD:
	case JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD:
	case JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD:
		assert(jmap_email_keyword_ok(f->str));
		for (const char *c = f->str; *c; c++)
			assert(!(*c >= 'A' && *c <= 'Z'));
		(void)jmap_email_has_keyword(0x7f, "a b $Seen", f->str);
		return 1;
	case JMAP_FILTER_TEXT:
	case JMAP_FILTER_FROM:
	case JMAP_FILTER_TO:
	case JMAP_FILTER_CC:
	case JMAP_FILTER_BCC:
	case JMAP_FILTER_SUBJECT:
	case JMAP_FILTER_BODY:
		assert(f->str && strlen(f->str) <= LIMIT_SEARCH_NEEDLE);
		return 1;
	case JMAP_FILTER_HEADER:
		assert(f->str && f->str[0] && !strchr(f->str, ':'));
		assert(!f->str2 || strlen(f->str2) <= LIMIT_SEARCH_NEEDLE);
		return 1;
	case JMAP_FILTER_MIN_SIZE:
	case JMAP_FILTER_MAX_SIZE:
		assert(f->num >= 0);
		return 1;
	default:
		return 1;
	}
}

static int run(struct arena *a, json_t *j, const char **type, size_t *conds)
{
	struct jmap_filter *f = NULL;
	struct jmap_filter_error e = {0};
	arena_reset(a);
	int r = jmap_email_filter_parse(j, a, &f, &e);
	*type = NULL;
	*conds = 0;
	if (r == 0) {
		assert(f);
		*conds = check(f, 0);
		assert(*conds <= LIMIT_JMAP_FILTER_CONDITIONS);
		(void)jmap_email_filter_needs(f);
	} else {
		assert(r == ERR_INVAL);
		assert(e.type && e.description);
		assert(!strcmp(e.type, "invalidArguments") || !strcmp(e.type, "unsupportedFilter"));
		*type = e.type;
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena a;
	static bool init;
	if (!init) {
		arena_init(&a, 64u << 20);
		init = true;
	}
	if (size > 1u << 16)
		return 0;
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!j)
		return 0;
	const char *t1, *t2;
	size_t c1, c2;
	int r1 = run(&a, j, &t1, &c1), r2 = run(&a, j, &t2, &c2);
	assert(r1 == r2 && c1 == c2 && (t1 == t2 || !strcmp(t1, t2)));
	json_decref(j);
	return 0;
}
