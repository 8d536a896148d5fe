/* imap_threading.h: the two threading algorithms of RFC 5256 3 (THREAD=ORDEREDSUBJECT
 * and THREAD=REFERENCES) over a list of messages, and the thread-list output of RFC 5256
 * 4. Pure: the caller gathers what the algorithms look at (sent date, base subject,
 * message ids; imap_sortkey.h makes them) and gets the response text back through a
 * callback. Memory comes from the arena it is handed (a few pointers per message and per
 * distinct message id); nothing recurses, so a reply chain of any length costs no stack.
 * Loop checks walk up the tree, so a chain of depth d costs O(d) per link made. */
#ifndef KASTEN_IMAP_THREADING_H
#define KASTEN_IMAP_THREADING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

struct imap_thread_msg {
	uint32_t id;        /* the number written out: sequence number or UID */
	int64_t date;       /* sent date in UTC seconds (RFC 5256 2.2: INTERNALDATE when
	                     * the Date: field is missing or does not parse) */
	const char *subject; /* base subject (RFC 5256 2.1), subject_len octets */
	size_t subject_len;
	bool refwd;          /* the subject showed a reply or forward (imap_sortkey.h) */
	/* REFERENCES only: the Message-ID, normalized ("<a@b>", imap_sortkey_msgids), NULL
	 * when the message has none that is valid; the ids of References, or when it has
	 * no valid one the first id of In-Reply-To (RFC 5256 3, step 1) */
	const char *msgid;
	size_t msgid_len;
	const char *const *refs;
	const size_t *ref_lens;
	size_t nrefs;
};

/* Where the thread-lists go: called with pieces of the text, in order. */
typedef void (*imap_threading_out_fn)(void *ctx, const char *p, size_t n);

/* msgs[0..n) in mailbox order (ascending sequence numbers): where sent dates are equal,
 * that order decides (RFC 5256 2.2). Writes the thread-lists one after another, as they
 * follow "THREAD" in the response (RFC 5256 4: "(1 2)(3 (4)(5))"; nothing when n is 0).
 * Base subjects compare with i;ascii-casemap; message ids as octets. 0, or ERR_NOMEM
 * when the arena ran out (nothing written then). */
int imap_threading_orderedsubject(const struct imap_thread_msg *msgs, size_t n, struct arena *a,
                                  imap_threading_out_fn out, void *ctx);
int imap_threading_references(const struct imap_thread_msg *msgs, size_t n, struct arena *a,
                              imap_threading_out_fn out, void *ctx);

#endif
