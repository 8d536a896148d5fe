/* test_imap_list_match.c: LIST/LSUB patterns (RFC 9051 6.3.9 list-wildcards): a table
 * of cases (the RFC's "*" and "%" rules, the INBOX level's case, octets that look like
 * pattern syntax), the literal-count limit at -1/0/+1, every pattern and name of a small
 * alphabet up to length 5 checked against a plain backtracking matcher, and the worst
 * patterns staying fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/limits.h"
#include "imap/imap_list_match.h"

static bool match(const char *pat, size_t plen, const char *name, size_t nlen)
{
	struct arena a;
	arena_init(&a, 1u << 20);
	struct imap_list_match *m;
	assert_int_equal(imap_list_match_compile(pat, plen, &a, &m), 0);
	bool r = imap_list_match(m, name, nlen);
	arena_free(&a);
	return r;
}

static bool smatch(const char *pat, const char *name)
{
	return match(pat, strlen(pat), name, strlen(name));
}

/* The reference: straight from the definition, exponential, for short inputs. */
static bool naive(const char *p, size_t pl, const char *n, size_t nl, size_t k)
{
	if (!pl)
		return !nl;
	if (*p == '*' || *p == '%') {
		for (size_t i = 0; i <= nl; i++) {
			if (naive(p + 1, pl - 1, n + i, nl - i, k + i))
				return true;
			if (i < nl && *p == '%' && n[i] == '/')
				return false;
		}
		return false;
	}
	if (!nl)
		return false;
	bool eq = *p == *n;
	/* the INBOX level (k counts octets of the name consumed) */
	if (!eq && k < 5 && *n >= 'A' && *n <= 'Z')
		eq = *p == *n + ('a' - 'A');
	return eq && naive(p + 1, pl - 1, n + 1, nl - 1, k + 1);
}

static bool ref_match(const char *p, size_t pl, const char *n, size_t nl)
{
	bool inbox = nl >= 5 && !memcmp(n, "INBOX", 5) && (nl == 5 || n[5] == '/');
	if (inbox)
		return naive(p, pl, n, nl, 0);
	return naive(p, pl, n, nl, 5); /* past the INBOX level: exact */
}

static void table(void **state)
{
	static const struct {
		const char *pat, *name;
		bool want;
	} cases[] = {
		{"*", "", true},
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"%", "", true},
		{"", "", true},
		{"", "a", false},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a/*", "a", false},
		{"a*", "a", true},
		{"a%", "ab/c", false},
		{"%/%", "a/b", true},
		{"%/%", "a/b/c", false},
		{"*/%", "a/b/c", true},
		{"%*", "a/b", true},   /* a run with "*" is "*" */
		{"*%", "a/b", true},
		{"%%", "a/b", false},  /* a run of "%" is "%" */
		{"a%b%c", "axbybzc", true},
		{"a%b%c", "axb/c", false},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaab", true},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaa", false},
		/* INBOX: its level in any case, nothing else */
		{"inbox", "INBOX", true},
		{"InBoX", "INBOX", true},
		{"inb%", "INBOX", true},
		{"inbox/%", "INBOX/x", true},
		{"inbox/X", "INBOX/x", false},
		{"inbox*", "INBOXes", false},
		{"INBOX*", "INBOXes", true},
		{"inbox", "Inbox", false}, /* not the store's INBOX: a name of its own */
		{"Drafts", "drafts", false},
		/* octets that mean nothing to the matcher */
		{"a.b", "a.b", true},
		{"a?b", "axb", false},
		{"[x]", "[x]", true},
		{"\\", "\\", true},
		{"\xc3\xa4*", "\xc3\xa4/x", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = smatch(cases[i].pat, cases[i].name);
		if (got != cases[i].want)
			fail_msg("pattern \"%s\" name \"%s\": got %d", cases[i].pat, cases[i].name,
				 got);
		assert_int_equal(ref_match(cases[i].pat, strlen(cases[i].pat), cases[i].name,
					   strlen(cases[i].name)),
				 cases[i].want);
	}
	/* NUL is an octet like others */
	assert_true(match("a\0b", 3, "a\0b", 3));
	assert_false(match("a\0b", 3, "a", 1));
}

/* LIMIT_MAILBOX_NAME literal octets can match a name that long; one more matches
 * nothing (no name is longer), with wildcards around every literal. */
static void limit(void **state)
{
	for (int d = -1; d <= 1; d++) {
		size_t nl = (size_t)(LIMIT_MAILBOX_NAME + d);
		char *name = malloc(nl + 1), *pat = malloc(2 * nl + 2);
		size_t pl = 0;
		for (size_t i = 0; i < nl; i++) {
			name[i] = (char)('a' + i % 3);
			pat[pl++] = i % 2 ? '*' : '%';
			pat[pl++] = name[i];
		}
		pat[pl++] = '*';
		assert_int_equal(match(pat, pl, name, nl), d <= 0);
		assert_int_equal(match(name, nl, name, nl), d <= 0);
		free(name);
		free(pat);
	}
}

/* Every pattern over {a, /, %, *, i} and every name over {a, /, I} up to length 5 (names
 * starting with INBOX too), against the reference. */
static void exhaustive(void **state)
{
	static const char pal[] = "a/%*i";
	static const char nal[] = "a/I";
	char pat[8], name[16];
	size_t checked = 0;
	for (size_t pl = 0; pl <= 5; pl++) {
		size_t np = 1;
		for (size_t i = 0; i < pl; i++)
			np *= 5;
		for (size_t pi = 0; pi < np; pi++) {
			for (size_t i = 0, x = pi; i < pl; i++, x /= 5)
				pat[i] = pal[x % 5];
			struct arena a;
			arena_init(&a, 1u << 20);
			struct imap_list_match *m;
			assert_int_equal(imap_list_match_compile(pat, pl, &a, &m), 0);
			for (size_t nl = 0; nl <= 5; nl++) {
				size_t nn = 1;
				for (size_t i = 0; i < nl; i++)
					nn *= 3;
				for (size_t ni = 0; ni < nn; ni++) {
					for (int inbox = 0; inbox < 2; inbox++) {
						size_t off = inbox ? 5 : 0;
						memcpy(name, "INBOX", 5);
						for (size_t i = 0, x = ni; i < nl; i++, x /= 3)
							name[off + i] = nal[x % 3];
						bool want = ref_match(pat, pl, name, off + nl);
						bool got = imap_list_match(m, name, off + nl);
						if (want != got)
							fail_msg("pattern \"%.*s\" name \"%.*s\": want %d",
								 (int)pl, pat, (int)(off + nl), name, want);
						checked++;
					}
				}
			}
			arena_free(&a);
		}
	}
	assert_true(checked > 1000000);
}

/* The patterns that make a backtracking matcher exponential take linear time here: a
 * thousand names of the longest length against the worst pattern in well under the
 * time a test gets. */
static void no_blowup(void **state)
{
	char name[LIMIT_MAILBOX_NAME], pat[2 * LIMIT_MAILBOX_NAME];
	memset(name, 'a', sizeof(name));
	size_t pl = 0;
	for (size_t i = 0; i < LIMIT_MAILBOX_NAME - 1; i++) {
		pat[pl++] = '*';
		pat[pl++] = 'a';
	}
	pat[pl++] = 'b';
	struct arena a;
	arena_init(&a, 1u << 20);
	struct imap_list_match *m;
	assert_int_equal(imap_list_match_compile(pat, pl, &a, &m), 0);
	clock_t t0 = clock();
	for (int i = 0; i < 1000; i++)
		assert_false(imap_list_match(m, name, sizeof(name)));
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_true(secs < 5.0);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(limit),
		cmocka_unit_test(exhaustive),
		cmocka_unit_test(no_blowup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
