/* imap_list_match.c: see imap_list_match.h. The automaton's states are the pattern
 * positions 0..nsym (position i: the first i symbols are matched), kept as a bit set;
 * each name octet moves every live state at once: a wildcard keeps its state (unless it
 * is "%" and the octet is "/"), a literal equal to the octet moves on by one. After
 * every step a state on a wildcard also stands for the state after it (the wildcard may
 * match nothing); collapsing runs of wildcards makes that one shift. Limits: patterns
 * with more than LIMIT_MAILBOX_NAME literal octets never match, which bounds the state
 * set to MATCH_WORDS words on the stack. */
#include "imap/imap_list_match.h"

#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

/* States of the longest pattern that can match: LIMIT_MAILBOX_NAME literals with a
 * wildcard around each, plus the final state. */
#define MATCH_WORDS ((2 * LIMIT_MAILBOX_NAME + 2 + 63) / 64)

struct imap_list_match {
	bool never;      /* more literals than any name has octets */
	size_t nsym;     /* symbols after collapsing wildcard runs */
	size_t words;    /* uint64_t per state set */
	uint64_t *wild;  /* bit i: symbol i is a wildcard */
	uint64_t *star;  /* bit i: symbol i is "*" (matches "/" too) */
	uint64_t *lit;   /* one row of `words` per distinct literal octet */
	uint16_t row[256]; /* octet -> 1 + its row in lit; 0: not in the pattern */
};

static bool is_wild(char c)
{
	return c == '*' || c == '%';
}

static void set_bit(uint64_t *v, size_t i)
{
	v[i / 64] |= (uint64_t)1 << (i % 64);
}

/* out = in << 1 over `words` words. */
static void shift1(uint64_t *out, const uint64_t *in, size_t words)
{
	uint64_t carry = 0;
	for (size_t w = 0; w < words; w++) {
		uint64_t x = in[w];
		out[w] = (x << 1) | carry;
		carry = x >> 63;
	}
}

int imap_list_match_compile(const char *pat, size_t len, struct arena *a,
			    struct imap_list_match **out)
{
	struct imap_list_match *m = arena_zalloc(a, sizeof(*m));
	if (!m)
		return ERR_NOMEM;
	*out = m;
	/* the symbols: literals as they are, each run of wildcards as one */
	size_t nlit = 0, nsym = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_wild(pat[i]))
			nlit++, nsym++;
		else if (i == 0 || !is_wild(pat[i - 1]))
			nsym++;
	}
	if (nlit > LIMIT_MAILBOX_NAME) {
		m->never = true;
		return 0;
	}
	m->nsym = nsym;
	m->words = (nsym + 1 + 63) / 64;
	uint16_t distinct = 0;
	for (size_t i = 0; i < len; i++)
		if (!is_wild(pat[i]) && !m->row[(uint8_t)pat[i]])
			m->row[(uint8_t)pat[i]] = ++distinct;
	size_t bytes = m->words * sizeof(uint64_t);
	m->wild = arena_zalloc(a, bytes);
	m->star = arena_zalloc(a, bytes);
	m->lit = arena_zalloc(a, (distinct ? distinct : 1) * bytes);
	if (!m->wild || !m->star || !m->lit)
		return ERR_NOMEM;
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_wild(pat[i])) {
			set_bit(m->lit + (size_t)(m->row[(uint8_t)pat[i]] - 1) * m->words, k++);
			continue;
		}
		if (i > 0 && is_wild(pat[i - 1])) { /* the run goes on: one symbol */
			if (pat[i] == '*')
				set_bit(m->star, k - 1);
			continue;
		}
		set_bit(m->wild, k);
		if (pat[i] == '*')
			set_bit(m->star, k);
		k++;
	}
	return 0;
}

/* The row of literal positions equal to octet c, or NULL. */
static const uint64_t *lit_row(const struct imap_list_match *m, uint8_t c)
{
	uint16_t r = m->row[c];
	return r ? m->lit + (size_t)(r - 1) * m->words : NULL;
}

/* Live states that are wildcards also stand for the state after them. */
static void close_over(const struct imap_list_match *m, uint64_t *s)
{
	uint64_t tmp[MATCH_WORDS];
	for (size_t w = 0; w < m->words; w++)
		tmp[w] = s[w] & m->wild[w];
	shift1(tmp, tmp, m->words);
	for (size_t w = 0; w < m->words; w++)
		s[w] |= tmp[w];
}

bool imap_list_match(const struct imap_list_match *m, const char *name, size_t len)
{
	if (m->never)
		return false;
	/* the INBOX level matches case-insensitively (imap_list_match.h) */
	size_t fold = len >= 5 && !memcmp(name, "INBOX", 5) && (len == 5 || name[5] == '/') ? 5 : 0;
	uint64_t s[MATCH_WORDS] = {1}, adv[MATCH_WORDS];
	close_over(m, s);
	for (size_t k = 0; k < len; k++) {
		uint8_t c = (uint8_t)name[k];
		const uint64_t *eq = lit_row(m, c);
		/* "INBOX" is upper case in the name; the pattern may have either */
		const uint64_t *eq2 = k < fold ? lit_row(m, (uint8_t)(c + ('a' - 'A'))) : NULL;
		const uint64_t *keep = c == '/' ? m->star : m->wild;
		uint64_t any = 0;
		for (size_t w = 0; w < m->words; w++)
			adv[w] = s[w] & ((eq ? eq[w] : 0) | (eq2 ? eq2[w] : 0));
		shift1(adv, adv, m->words);
		for (size_t w = 0; w < m->words; w++) {
			s[w] = (s[w] & keep[w]) | adv[w];
			any |= s[w];
		}
		if (!any)
			return false;
		close_over(m, s);
	}
	return (s[m->nsym / 64] >> (m->nsym % 64)) & 1;
}
