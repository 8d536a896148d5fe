/* imap_uidmap.c: see imap_uidmap.h. Lookups scan the runs (a mailbox delivered in
 * order has a handful; each scan step skips a whole run), so sequence numbers cost
 * nothing to keep up to date on an expunge: only the runs change. */
#include "imap/imap_uidmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/banned.h"

void imap_uidmap_init(struct imap_uidmap *m)
{
	memset(m, 0, sizeof(*m));
}

void imap_uidmap_free(struct imap_uidmap *m)
{
	free(m->runs);
	memset(m, 0, sizeof(*m));
}

static int grow(struct imap_uidmap *m)
{
	if (m->nruns < m->cap)
		return 0;
	size_t cap = m->cap ? m->cap * 2 : 4;
	struct imap_uidrun *r = realloc(m->runs, cap * sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	m->runs = r;
	m->cap = cap;
	return 0;
}

uint32_t imap_uidmap_last(const struct imap_uidmap *m)
{
	if (!m->nruns)
		return 0;
	const struct imap_uidrun *r = &m->runs[m->nruns - 1];
	return r->first + r->count - 1;
}

int imap_uidmap_append(struct imap_uidmap *m, uint32_t uid)
{
	if (uid == 0 || (m->nruns && uid <= imap_uidmap_last(m)))
		return ERR_INVAL;
	if (m->nruns && uid == imap_uidmap_last(m) + 1) {
		m->runs[m->nruns - 1].count++;
	} else {
		if (grow(m) < 0)
			return ERR_NOMEM;
		m->runs[m->nruns++] = (struct imap_uidrun){uid, 1};
	}
	m->total++;
	return 0;
}

uint32_t imap_uidmap_uid(const struct imap_uidmap *m, uint32_t seq)
{
	if (seq == 0 || seq > m->total)
		return 0;
	for (size_t i = 0; i < m->nruns; i++) {
		if (seq <= m->runs[i].count)
			return m->runs[i].first + seq - 1;
		seq -= m->runs[i].count;
	}
	return 0;
}

uint32_t imap_uidmap_rank(const struct imap_uidmap *m, uint32_t uid)
{
	uint32_t below = 0;
	for (size_t i = 0; i < m->nruns; i++) {
		const struct imap_uidrun *r = &m->runs[i];
		if (uid < r->first)
			break;
		if (uid - r->first < r->count)
			return below + (uid - r->first) + 1;
		below += r->count;
	}
	return below;
}

uint32_t imap_uidmap_seq(const struct imap_uidmap *m, uint32_t uid)
{
	uint32_t below = 0;
	for (size_t i = 0; i < m->nruns; i++) {
		const struct imap_uidrun *r = &m->runs[i];
		if (uid < r->first)
			return 0;
		if (uid - r->first < r->count)
			return below + (uid - r->first) + 1;
		below += r->count;
	}
	return 0;
}

int64_t imap_uidmap_remove(struct imap_uidmap *m, uint32_t uid)
{
	uint32_t below = 0;
	for (size_t i = 0; i < m->nruns; i++) {
		struct imap_uidrun *r = &m->runs[i];
		if (uid < r->first)
			return 0;
		uint32_t off = uid - r->first;
		if (off >= r->count) {
			below += r->count;
			continue;
		}
		uint32_t seq = below + off + 1;
		if (r->count == 1) {
			memmove(r, r + 1, (m->nruns - i - 1) * sizeof(*r));
			m->nruns--;
		} else if (off == 0) {
			r->first++;
			r->count--;
		} else if (off == r->count - 1) {
			r->count--;
		} else {
			if (grow(m) < 0)
				return ERR_NOMEM;
			r = &m->runs[i]; /* grow may have moved the array */
			memmove(r + 2, r + 1, (m->nruns - i - 1) * sizeof(*r));
			r[1] = (struct imap_uidrun){uid + 1, r->count - off - 1};
			r->count = off;
			m->nruns++;
		}
		m->total--;
		return seq;
	}
	return 0;
}
