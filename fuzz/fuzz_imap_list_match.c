/* fuzz_imap_list_match.c: libFuzzer target for LIST/LSUB pattern matching
 * (src/imap/imap_list_match.c). The input is a pattern and a name separated by the
 * first NUL (no NUL: the input is both). Invariants: no crash, no read past either;
 * for short inputs the answer equals a plain backtracking matcher's (the definition of
 * RFC 9051 6.3.9, with the INBOX level case-insensitive); a pattern always matches
 * itself when it has no wildcard and no more than LIMIT_MAILBOX_NAME octets. Seeds:
 * fuzz/corpus/imap_list_match/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"
#include "imap/imap_list_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The definition, exponential in the worst case: only for short inputs. */
static bool naive(const char *p, size_t pl, const char *n, size_t nl, size_t k, bool inbox)
{
	if (!pl)
		return !nl;
	if (*p == '*' || *p == '%') {
		for (size_t i = 0; i <= nl; i++) {
			if (naive(p + 1, pl - 1, n + i, nl - i, k + i, inbox))
				return true;
			if (i < nl && *p == '%' && n[i] == '/')
				return false;
		}
		return false;
	}
	if (!nl)
		return false;
	bool eq = *p == *n || (inbox && k < 5 && *p == *n + ('a' - 'A'));
	return eq && naive(p + 1, pl - 1, n + 1, nl - 1, k + 1, inbox);
}

static bool has_wild(const char *p, size_t n)
{
	return memchr(p, '*', n) || memchr(p, '%', n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pat = (const char *)data, *name = pat;
	size_t pl = size, nl = size;
	const uint8_t *nul = memchr(data, 0, size);
	if (nul) {
		pl = (size_t)(nul - data);
		name = (const char *)nul + 1;
		nl = size - pl - 1;
	}
	struct arena a;
	arena_init(&a, 1u << 20);
	struct imap_list_match *m;
	if (imap_list_match_compile(pat, pl, &a, &m) == 0) {
		bool got = imap_list_match(m, name, nl);
		if (pl <= 12 && nl <= 24) {
			bool inbox = nl >= 5 && !memcmp(name, "INBOX", 5) && (nl == 5 || name[5] == '/');
			assert(got == naive(pat, pl, name, nl, 0, inbox));
		}
		if (!has_wild(pat, pl) && pl <= LIMIT_MAILBOX_NAME)
			assert(imap_list_match(m, pat, pl));
	}
	arena_free(&a);
	return 0;
}
