/* jmap_email_query_int.h: what Email/query (jmap_email_query.c), its evaluator
 * (jmap_email_query_eval.c), its sorts (jmap_email_query_sort.c) and SearchSnippet/get
 * (jmap_snippet.c) share: the account's Emails as a filtered query sees them.
 *
 * A query with filters reads every Email of the account once (store_email_scan), decides
 * the filter per Email in memory, then sorts the matches. What the rows do not hold is
 * fetched only for the Emails that need it, when they need it: the full-text index once
 * per text condition and mailbox (store_search: the answer IMAP SEARCH gives; an Email
 * matches when any copy does), the cached header (header conditions, the sorts from,
 * to, subject, sentAt) and the MIME structure (hasAttachment), each read into a scratch
 * arena that holds one Email's at a time (a sort's headers: a mailbox's UID range at a
 * time). Memory: the request's arena (x->a, capped by LIMIT_JMAP_ARENA) for the Emails
 * (about 250 bytes each: an account of some 200,000 messages is the most a filtered
 * query can read; past it the query fails with serverFail), the per-condition bitmaps
 * and the sort keys; the scratch and decoding arenas LIMIT_IMAP_SEARCH_SCRATCH each. */
#ifndef KASTEN_JMAP_EMAIL_QUERY_INT_H
#define KASTEN_JMAP_EMAIL_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/arena.h"
#include "http/jmap_email_filter.h"

struct jmap_ctx;
struct store_email;
struct store_mailbox;

/* Lazily read per Email. */
struct jmap_eq_email {
	const struct store_email *e;
	size_t thread;             /* index of its thread among the account's (0..n_threads) */
	signed char attach;        /* hasAttachment: -1 not read yet */
	/* sort keys, made once when a sort needs them */
	bool keyed;
	const char *from, *to, *subject;
	size_t from_len, to_len, subject_len;
	int64_t sent_at;
};

struct jmap_eq {
	struct jmap_ctx *x;
	struct store_email *all;   /* store_email_scan: by EMAILID */
	size_t n;
	struct jmap_eq_email *em;  /* em[i] for all[i] */
	size_t n_threads;
	struct store_mailbox *mbs;
	size_t n_mbs;
	/* the header of one Email, in scratch: which one (SIZE_MAX: none) */
	struct arena scratch;
	size_t header_of;
	const void *header;
	size_t header_len;
	struct arena dec;          /* decoding one Email's header fields (sort keys) */
	int err;                   /* a store error met while deciding (0: none) */
};

/* Read the account (Emails, mailboxes, threads). 0, or a store error / ERR_NOMEM. The
 * caller calls jmap_eq_free either way. */
int jmap_eq_load(struct jmap_ctx *x, struct jmap_eq *q);
void jmap_eq_free(struct jmap_eq *q);
/* Prepare f for deciding Emails: resolve its Mailbox ids (one of another account, or
 * none, is no mailbox: inMailbox matches nothing), ask the full-text index for each
 * text condition, count keywords per thread. 0, or a store error / ERR_NOMEM (ERR_INVAL
 * for a text the index refuses: not UTF-8). */
int jmap_eq_prepare(struct jmap_eq *q, struct jmap_filter *f);
/* Does Email i match f (prepared)? On a store error: false and q->err set. */
bool jmap_eq_match(struct jmap_eq *q, const struct jmap_filter *f, size_t i);
/* The header block of Email i (its first copy's; cached, or read from the file),
 * valid until the next call for another Email. 0, or a store error. */
int jmap_eq_header(struct jmap_eq *q, size_t i, const void **h_out, size_t *n_out);

/* ---- sorts (jmap_email_query_sort.c; RFC 8621 4.4.2, RFC 8620 5.5) ---- */
enum jmap_sort_prop {
	JMAP_SORT_RECEIVED_AT,
	JMAP_SORT_SIZE,
	JMAP_SORT_FROM,
	JMAP_SORT_TO,
	JMAP_SORT_SUBJECT,
	JMAP_SORT_SENT_AT,
	JMAP_SORT_HAS_KEYWORD,
	JMAP_SORT_ALL_IN_THREAD_HAVE_KEYWORD,
	JMAP_SORT_SOME_IN_THREAD_HAVE_KEYWORD,
};
enum jmap_collation {
	JMAP_COLLATION_ASCII_CASEMAP,   /* i;ascii-casemap (RFC 4790 9.2) */
	JMAP_COLLATION_UNICODE_CASEMAP, /* i;unicode-casemap (RFC 5051): folded, see .c */
	JMAP_COLLATION_OCTET,           /* i;octet (RFC 4790 9.3) */
	JMAP_COLLATION_ASCII_NUMERIC,   /* i;ascii-numeric (RFC 4790 9.1) */
};
struct jmap_comparator {
	enum jmap_sort_prop prop;
	bool ascending;
	const char *keyword;       /* the keyword sorts: lower-case */
	enum jmap_collation collation;
};
/* The session's emailQuerySortOptions and collationAlgorithms come from these. */
extern const char *const jmap_email_sort_options[];
extern const char *const jmap_collations[];
/* sort (an array of Comparators, or NULL/empty: receivedAt descending) -> *out
 * (x->a), *n_out. unsupportedSort for a property or collation not known, and
 * invalidArguments for a malformed Comparator, after jmap_method_error (< 0). */
int jmap_eq_sort_parse(struct jmap_ctx *x, json_t *sort, struct jmap_comparator **out,
		       size_t *n_out);
/* Sort idx[0..n) (indexes into q->em) by the comparators, ties by EMAILID ascending.
 * Thread counts of keywords are made as needed. 0, or a store error / ERR_NOMEM. */
int jmap_eq_sort(struct jmap_eq *q, const struct jmap_comparator *c, size_t nc, size_t *idx,
		 size_t n);
/* Per thread: how many of its Emails have keyword kw, and how many Emails it has
 * (x->a). */
int jmap_eq_thread_counts(struct jmap_eq *q, const char *kw, uint32_t **have_out,
			  uint32_t **size_out);

/* ---- shared with SearchSnippet/get and Email/queryChanges (jmap_email_query.c) ---- */
/* collapseThreads of args (absent/null: false); < 0 after invalidArguments. */
int jmap_eq_collapse_arg(struct jmap_ctx *x, json_t *args, bool *out);
/* Can Email/queryChanges answer for this query (jmap_email_querychanges.c): no
 * collapseThreads and nothing that depends on the other Emails of a thread? */
bool jmap_email_querychanges_ok(const struct jmap_filter *f, const struct jmap_comparator *c,
				size_t nc, bool collapse);
/* The filter argument (null/absent: *out NULL) read into x->a; < 0 after
 * jmap_method_error (invalidArguments, unsupportedFilter). */
int jmap_email_filter_arg(struct jmap_ctx *x, json_t *filter, struct jmap_filter **out);
/* The EMAILIDs matching f (NULL: all), sorted by c[0..nc), one per thread when
 * collapse; x->a. 0, ERR_INVAL / ERR_TOO_LONG (a text the index refuses), or a store
 * error. */
int jmap_email_query_ids(struct jmap_ctx *x, struct jmap_filter *f,
			 const struct jmap_comparator *c, size_t nc, bool collapse,
			 const char ***ids_out, size_t *n_out);

#endif
