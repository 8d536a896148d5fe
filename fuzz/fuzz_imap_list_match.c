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

/* The definition, by backtracking; memo[pattern position][name position] (0 unknown,
 * 1 no, 2 yes) keeps it polynomial, since a run of wildcards against a name that fails
 * late tries every split of the name otherwise (a 37-byte input took 17 s). Only for
 * short inputs: NAIVE_PAT and NAIVE_NAME. */
#define NAIVE_PAT 12
#define NAIVE_NAME 24

struct naive {
	const char *p, *n;
	size_t pl, nl;
	bool inbox;
	unsigned char memo[NAIVE_PAT + 1][NAIVE_NAME + 1];
};

static bool naive(struct naive *t, size_t i, size_t k)
{
	if (t->memo[i][k])
		return t->memo[i][k] == 2;
	bool r = false;
	if (i == t->pl) {
		r = k == t->nl;
	} else if (t->p[i] == '*' || t->p[i] == '%') {
		for (size_t j = k; j <= t->nl; j++) {
			if ((r = naive(t, i + 1, j)))
				break;
			if (j < t->nl && t->p[i] == '%' && t->n[j] == '/')
				break;
		}
	} else if (k < t->nl) {
		char c = t->p[i], d = t->n[k];
		bool eq = c == d || (t->inbox && k < 5 && c == d + ('a' - 'A'));
		r = eq && naive(t, i + 1, k + 1);
	}
	t->memo[i][k] = r ? 2 : 1;
	return r;
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
		if (pl <= NAIVE_PAT && nl <= NAIVE_NAME) {
			struct naive t = {pat, name, pl, nl, false, {{0}}};
			t.inbox = nl >= 5 && !memcmp(name, "INBOX", 5) && (nl == 5 || name[5] == '/');
			assert(got == naive(&t, 0, 0));
		}
		if (!has_wild(pat, pl) && pl <= LIMIT_MAILBOX_NAME)
			assert(imap_list_match(m, pat, pl));
	}
	arena_free(&a);
	return 0;
}
