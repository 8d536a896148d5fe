/* imap_search.h: evaluating SEARCH keys (imap_parse.h's tree) over the selected mailbox,
 * shared by SEARCH (imap_search_cmd.c), SORT (imap_sort.c) and THREAD (imap_thread.c).
 *
 * A search runs on the worker pool (imap_write.h's job runner) while the session waits;
 * what it reads of the session (the sequence-number map, the saved result, \Recent) does
 * not change meanwhile. It walks the messages the client knows, LIMIT_IMAP_SEARCH_WINDOW
 * at a time, and decides every key from the cheapest source that can:
 *   1. the store's message rows (flags, keywords, UID, number, size, dates, modseq,
 *      EMAILID): always read;
 *   2. the store's full-text index (store_search) for SUBJECT, FROM, TO, CC, BCC, BODY,
 *      TEXT and HEADER of those five fields: asked once per key and mailbox, and only
 *      when some message is still undecided after 1;
 *   3. the header cached at delivery (store_msg_extra) for HEADER of other fields, a
 *      field's presence (an empty string), SENT* dates, THREADID and the part of TEXT
 *      the index lacks (header fields other than those five): read only for the
 *      messages 1 and 2 left undecided. A header too long to be cached is read from the
 *      start of the message file (at most LIMIT_CACHED_HEADER octets): the one case in
 *      which a search opens a message file.
 * Strings match case-insensitively as substrings after store_search_fold on both sides,
 * header values decoded (RFC 2047, charsets) to UTF-8 first (mime_decode_words).
 *
 * Memory: the job's own arenas, each capped (LIMIT_IMAP_SEARCH_ARENA for the keys, the
 * index results, the match bitmap and what SORT/THREAD keep per match;
 * LIMIT_IMAP_SEARCH_SCRATCH for a window of rows, a batch of headers, one decoded
 * header); past a cap the command gets NO [LIMIT]. */
#ifndef KASTEN_IMAP_SEARCH_H
#define KASTEN_IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "imap/imap_int.h"

struct store;
struct store_msg;
struct store_msg_extra;
struct sq_node;

/* What a search found, in the numbering of the session's map. */
struct imap_search_result {
	uint8_t *bits;        /* bit (seq - 1): the message matched; total bits */
	uint32_t total;       /* the map's size */
	uint32_t count;
	uint32_t min_seq, max_seq;            /* 0 when count is 0 */
	uint64_t modseq;                      /* highest modseq of the matches */
	uint64_t min_modseq, max_modseq;      /* of the first and the last match */
};

/* A key's value for one message: MAYBE while it needs what has not been read yet. */
enum imap_search_tri { IMAP_SEARCH_NO, IMAP_SEARCH_YES, IMAP_SEARCH_MAYBE };

/* One message as the keys see it. */
struct imap_search_msg {
	uint32_t seq;
	const struct store_msg *m;
	const struct store_msg_extra *x; /* NULL until the extras are read */
};

struct imap_search_job {
	/* read on the pool, set by imap_search_begin on the session's loop */
	const struct imap_selected *sel;
	bool rev1;              /* \Recent exists (IMAP4rev2 not enabled) */
	int64_t now;            /* for OLDER / YOUNGER (RFC 5032) */
	struct arena ra;        /* LIMIT_IMAP_SEARCH_ARENA: keys, index results, matches */
	struct arena wa, xa, ta; /* LIMIT_IMAP_SEARCH_SCRATCH: rows, headers, decoding */
	struct arena ha;        /* a header read from its file (LIMIT_CACHED_HEADER) */
	struct sq_node *root;
	uint32_t *saved;        /* "$", sorted, in ra */
	size_t nsaved;
	unsigned want;          /* enum store_extra_want the keys need */
	bool index_done;        /* the full-text keys have their UID lists */
	struct imap_search_result res;
	const char *why;        /* after a failure: the answer after the tag, or NULL */
};

/* Before SEARCH, SORT or THREAD searches (imap_search_cmd.c): BAD for the rev1 keys under
 * IMAP4rev2 (false, answered); the mailbox's pending updates sent (so the search sees
 * what the client is told); CONDSTORE enabled by a MODSEQ key, with HIGHESTMODSEQ
 * (RFC 7162 3.1). On the loop. */
bool imap_search_prepare(struct imap_session *s, const struct imap_search_prog *p);
/* Prepare a search of the selected mailbox for prog: check and compile the keys (their
 * strings must be UTF-8 without NUL, at most LIMIT_SEARCH_NEEDLE octets). On the loop.
 * 0, or <0 with j->why set ("BAD ...", "NO [LIMIT] ..."). j must be released with
 * imap_search_end either way. */
int imap_search_begin(struct imap_search_job *j, struct imap_session *s,
		      const struct imap_search_prog *prog);
/* Run it: j->res. On the pool. 0 or <0 (a store error, ERR_NOMEM past a cap). */
int imap_search_exec(struct imap_search_job *j, struct store *st);
/* The matches in ascending order with their rows and, when want (enum store_extra_want)
 * is not 0, their extras (the header read from the file when it is not cached; x NULL
 * when want is 0). Messages expunged meanwhile are skipped. fn's arguments live until
 * it returns. On the pool. 0, fn's error, or a store error. */
typedef int (*imap_search_each_fn)(void *arg, uint32_t seq, const struct store_msg *m,
				   const struct store_msg_extra *x);
int imap_search_each(struct imap_search_job *j, struct store *st, unsigned want,
		     imap_search_each_fn fn, void *arg);
void imap_search_end(struct imap_search_job *j);

/* The matches of j->res in ascending order, on the loop (no store call). */
struct imap_search_iter {
	const struct imap_uidmap *m;
	const uint8_t *bits;
	size_t run;
	uint32_t off, seq;
};
void imap_search_iter_init(struct imap_search_iter *it, const struct imap_search_job *j);
/* The next match's sequence number and UID; false after the last. */
bool imap_search_iter_next(struct imap_search_iter *it, uint32_t *seq_out, uint32_t *uid_out);
/* The tagged NO for a search that failed with r (j->why if set, else by r: [LIMIT],
 * [UNAVAILABLE], [NONEXISTENT], [SERVERBUG]). verb: "SEARCH", "SORT", "THREAD". */
void imap_search_fail(struct imap_session *s, struct imap_search_job *j, int r, const char *verb);

/* ---- long responses (imap_search_cmd.c) ---- */
/* Numbers and text gathered into a buffer, written to the session in big pieces (a
 * SEARCH, SORT or THREAD answer may name every message of the mailbox). */
struct imap_search_out {
	struct imap_session *s;
	size_t n;
	char buf[4096];
};
void imap_search_out_put(struct imap_search_out *o, const char *p, size_t n);
/* " " and the number. */
void imap_search_out_num(struct imap_search_out *o, uint32_t v);
void imap_search_out_flush(struct imap_search_out *o);

/* ---- SORT and THREAD keys from a header block (imap_sort.c) ---- */
/* The sent date (RFC 5256 2.2): Date: in UTC seconds, arrival when it is missing or
 * does not parse (h may be NULL). */
int64_t imap_sort_sent_date(const void *h, size_t n, int64_t arrival);
/* The base subject (RFC 5256 2.1) of the decoded Subject: into a, NUL-terminated; ""
 * when there is none. ta is scratch (reset). 0 or ERR_NOMEM. */
int imap_sort_subject(const void *h, size_t n, struct arena *ta, struct arena *a,
		      const char **out, size_t *len_out, bool *refwd_out);

/* ---- the keys (imap_search_eval.c) ---- */
/* Compile prog for j (j->sel set): j->root, j->want, j->saved. 0, ERR_NOMEM, or an
 * error with j->why (a string that is not UTF-8 or too long). */
int imap_search_eval_compile(struct imap_search_job *j, const struct imap_search_prog *prog);
/* Ask the full-text index for every key that uses it (once each). */
int imap_search_eval_index(struct imap_search_job *j, struct store *st);
/* The keys' answer for one message. */
enum imap_search_tri imap_search_eval_msg(struct imap_search_job *j,
					  const struct imap_search_msg *msg);

/* ---- header fields (imap_search_hdr.c) ---- */
/* Does a field called name (ASCII case-insensitive) exist in the header block
 * [h, h+n)? With a needle (folded by store_search_fold, nlen > 0): does one of those
 * fields' decoded value contain it? name NULL: any field, and the needle is looked for
 * in "Name: value" of each (TEXT). ta is scratch for the decoding, reset here. */
bool imap_search_hdr_match(const void *h, size_t n, const char *name, size_t name_len,
			   const char *needle, size_t nlen, struct arena *ta);
/* The Date: of the header block as days since 1970-01-01, disregarding time and zone
 * (RFC 9051 6.4.4 SENT*); a message without a usable Date: counts as sent on
 * 1-Jan-1970, as Dovecot does. */
int32_t imap_search_hdr_sent_days(const void *h, size_t n);
/* The first LIMIT_CACHED_HEADER octets of a message file, for a header the store did not
 * cache: *p_out / *n_out in ta. 0 or a store error. */
int imap_search_hdr_read(struct store *st, int64_t mailbox, uint32_t uid, struct arena *ta,
			 const void **p_out, size_t *n_out);
/* Days since 1970-01-01 (UTC) of unix seconds t. */
int32_t imap_search_days(int64_t t);

#endif
