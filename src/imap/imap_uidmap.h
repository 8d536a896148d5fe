/* imap_uidmap.h: a selected mailbox's message sequence numbers (RFC 9051 2.3.1.2) as
 * runs of consecutive UIDs, so a mailbox of 100,000 messages delivered in order costs
 * one run, not 100,000 entries; each expunge in the middle of a run splits it in two.
 * Sequence number n is the n-th UID in ascending order. Memory: malloc'ed, 12 bytes a
 * run (bounded by the mailbox's messages; the session's arena is not used, so a big
 * mailbox does not eat the per-command memory). */
#ifndef KASTEN_IMAP_UIDMAP_H
#define KASTEN_IMAP_UIDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_uidrun {
	uint32_t first; /* UID of the run's first message */
	uint32_t count; /* consecutive UIDs first .. first + count - 1 */
};

struct imap_uidmap {
	struct imap_uidrun *runs;
	size_t nruns, cap;
	uint32_t total; /* messages: the highest sequence number */
};

void imap_uidmap_init(struct imap_uidmap *m);
void imap_uidmap_free(struct imap_uidmap *m);
/* Add a UID above every UID already present (new messages arrive in UID order).
 * ERR_INVAL if it is not above the last, ERR_NOMEM. */
int imap_uidmap_append(struct imap_uidmap *m, uint32_t uid);
/* The UID of sequence number seq (1-based), 0 if out of range. */
uint32_t imap_uidmap_uid(const struct imap_uidmap *m, uint32_t seq);
/* The sequence number of uid, 0 if absent. */
uint32_t imap_uidmap_seq(const struct imap_uidmap *m, uint32_t uid);
/* The sequence number uid has or would have: the count of UIDs below or equal to uid
 * (for mapping UID ranges onto sequence ranges). */
uint32_t imap_uidmap_rank(const struct imap_uidmap *m, uint32_t uid);
/* Remove uid; returns its former sequence number, or 0 if it was absent. ERR_NOMEM (as
 * a negative number) when a split needs memory. */
int64_t imap_uidmap_remove(struct imap_uidmap *m, uint32_t uid);
/* The highest UID, 0 when empty. */
uint32_t imap_uidmap_last(const struct imap_uidmap *m);

#endif
