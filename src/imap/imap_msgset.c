/* imap_msgset.c: which messages of the selected mailbox a sequence set names, for the
 * commands that change messages (RFC 9051 6.4.6-6.4.9, RFC 5182 "$"). The set is read
 * against what the client was told (the session's sequence-number map, imap_uidmap.h),
 * never against the store: a message the client has not seen cannot be named, and one
 * expunged by someone else keeps its number until EXPUNGE may be sent (7.5.1). The
 * store skips UIDs that no longer exist. Memory: the UID list, 4 bytes a message, in
 * the caller's arena; the walk itself allocates nothing. */
#include "imap/imap_write.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/banned.h"

/* Walk the map's runs against ascending disjoint ranges in the space of sequence
 * numbers (by_seq) or UIDs, calling out for each UID named (or only counting). */
static size_t walk(const struct imap_uidmap *m, const struct imap_seqset *r, bool by_seq,
                   uint32_t *out)
{
	size_t n = 0, k = 0;
	uint32_t base = 0; /* sequence numbers before run i */
	for (size_t i = 0; i < m->nruns && k < r->n; i++) {
		const struct imap_uidrun *run = &m->runs[i];
		/* the run in the ranges' space: [lo, hi] */
		uint64_t lo = by_seq ? (uint64_t)base + 1 : run->first;
		uint64_t hi = lo + run->count - 1;
		while (k < r->n && r->r[k].hi < lo)
			k++;
		for (size_t q = k; q < r->n && r->r[q].lo <= hi; q++) {
			uint64_t a = r->r[q].lo > lo ? r->r[q].lo : lo;
			uint64_t b = r->r[q].hi < hi ? r->r[q].hi : hi;
			for (uint64_t x = a; x <= b; x++, n++)
				if (out)
					out[n] = run->first + (uint32_t)(x - lo);
		}
		base += run->count;
	}
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* "$": the saved UIDs that are still messages of the map, ascending. */
static int saved_uids(const struct imap_selected *sel, struct arena *a, uint32_t **out,
                      size_t *n_out)
{
	uint32_t *v = sel->nsaved ? arena_alloc(a, sel->nsaved * sizeof(*v)) : NULL;
	if (sel->nsaved && !v)
		return ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < sel->nsaved; i++)
		if (imap_uidmap_seq(&sel->map, sel->saved[i]))
			v[n++] = sel->saved[i];
	qsort(v, n, sizeof(*v), cmp_u32);
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (!w || v[w - 1] != v[i])
			v[w++] = v[i];
	*out = w ? v : NULL;
	*n_out = w;
	return 0;
}

int imap_msgset_uids(struct imap_session *s, const struct imap_seqset *set, bool uid,
                     struct arena *a, uint32_t **uids_out, size_t *n_out)
{
	const struct imap_selected *sel = s->sel;
	*uids_out = NULL;
	*n_out = 0;
	if (set->saved)
		return saved_uids(sel, a, uids_out, n_out);
	uint32_t star = uid ? imap_uidmap_last(&sel->map) : sel->map.total;
	if (!uid) { /* RFC 9051 9 seq-number: none past the last message */
		if (star == 0)
			return ERR_INVAL;
		for (size_t i = 0; i < set->n; i++)
			if ((set->r[i].lo != UINT32_MAX && set->r[i].lo > star) ||
			    (set->r[i].hi != UINT32_MAX && set->r[i].hi > star))
				return ERR_INVAL;
	}
	struct imap_seqset r;
	int rc = imap_seqset_resolve(set, star, a, &r);
	if (rc < 0)
		return rc;
	size_t n = walk(&sel->map, &r, !uid, NULL);
	if (n == 0)
		return 0;
	uint32_t *v = arena_alloc(a, n * sizeof(*v));
	if (!v)
		return ERR_NOMEM;
	walk(&sel->map, &r, !uid, v);
	*uids_out = v;
	*n_out = n;
	return 0;
}

void imap_msgset_refuse(struct imap_session *s, int r)
{
	if (r == ERR_INVAL)
		imap_bad(s, "Invalid message sequence number");
	else if (r == ERR_TOO_BIG) /* LIMIT_IMAP_SEQSET */
		imap_tagged(s, "NO [LIMIT] Too many ranges in the sequence set");
	else /* LIMIT_IMAP_JOB_ARENA */
		imap_tagged(s, "NO [LIMIT] Too many messages for one command");
}

/* Digits of x. */
static size_t digits(uint32_t x)
{
	size_t d = 1;
	while (x >= 10) {
		x /= 10;
		d++;
	}
	return d;
}

/* Write (out non-NULL) or measure the set: "1:3,7,9:12". */
static size_t set_text(const uint32_t *v, size_t n, char *out)
{
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		size_t w = (i ? 1 : 0) + digits(v[i]) + (j > i ? 1 + digits(v[j]) : 0);
		if (out) {
			int k =
			    j > i ? snprintf(out + len, w + 1, "%s%u:%u", i ? "," : "", v[i], v[j])
			          : snprintf(out + len, w + 1, "%s%u", i ? "," : "", v[i]);
			if (k < 0 || (size_t)k != w)
				return 0; /* cannot happen: w was measured for exactly this */
		}
		len += w;
		i = j + 1;
	}
	return len;
}

const char *imap_msgset_str(const uint32_t *v, size_t n, struct arena *a)
{
	size_t len = set_text(v, n, NULL);
	char *out = arena_alloc(a, len + 1);
	if (!out)
		return NULL;
	out[0] = '\0';
	if (n && set_text(v, n, out) != len)
		return NULL;
	return out;
}

const char *imap_msgset_seqs_str(struct imap_session *s, const uint32_t *uids, size_t n,
                                 struct arena *a)
{
	uint32_t *seqs = n ? arena_alloc(a, n * sizeof(*seqs)) : NULL;
	if (n && !seqs)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t seq = imap_uidmap_seq(&s->sel->map, uids[i]);
		if (seq)
			seqs[k++] = seq; /* ascending: the map keeps UID order */
	}
	return imap_msgset_str(seqs, k, a);
}
