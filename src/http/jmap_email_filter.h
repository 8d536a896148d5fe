/* jmap_email_filter.h: the Email FilterCondition / FilterOperator tree of RFC 8621 4.4.1
 * (RFC 8620 5.5), read from JSON by jmap_email_filter_parse (pure: jansson and an arena,
 * so unit tests and fuzz/fuzz_jmap_filter.c drive it alone) and decided per Email by
 * jmap_email_query.c. Shared by Email/query, Email/queryChanges and SearchSnippet/get
 * (jmap_snippet.c). Bounds: LIMIT_JMAP_FILTER_DEPTH nested operators,
 * LIMIT_JMAP_FILTER_CONDITIONS conditions in all, LIMIT_SEARCH_NEEDLE octets of a text. */
#ifndef KASTEN_JMAP_EMAIL_FILTER_H
#define KASTEN_JMAP_EMAIL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct arena;

enum jmap_filter_kind {
	/* FilterOperator (a FilterCondition of several properties is their AND) */
	JMAP_FILTER_AND,
	JMAP_FILTER_OR,
	JMAP_FILTER_NOT,           /* none of the conditions */
	/* FilterCondition properties */
	JMAP_FILTER_IN_MAILBOX,    /* str: a Mailbox id */
	JMAP_FILTER_IN_MAILBOX_OTHER_THAN, /* strs[0..n_strs) */
	JMAP_FILTER_BEFORE,        /* num: unix seconds, receivedAt < num */
	JMAP_FILTER_AFTER,         /* receivedAt >= num */
	JMAP_FILTER_MIN_SIZE,      /* size >= num */
	JMAP_FILTER_MAX_SIZE,      /* size < num */
	JMAP_FILTER_ALL_IN_THREAD_HAVE_KEYWORD, /* str: a keyword, lower-cased */
	JMAP_FILTER_SOME_IN_THREAD_HAVE_KEYWORD,
	JMAP_FILTER_NONE_IN_THREAD_HAVE_KEYWORD,
	JMAP_FILTER_HAS_KEYWORD,
	JMAP_FILTER_NOT_KEYWORD,
	JMAP_FILTER_HAS_ATTACHMENT, /* flag */
	/* text: str, UTF-8; the store's full-text semantics (store_search) */
	JMAP_FILTER_TEXT,
	JMAP_FILTER_FROM,
	JMAP_FILTER_TO,
	JMAP_FILTER_CC,
	JMAP_FILTER_BCC,
	JMAP_FILTER_SUBJECT,
	JMAP_FILTER_BODY,
	JMAP_FILTER_HEADER,        /* str: the field name; str2: the text, or NULL */
};

struct jmap_filter {
	enum jmap_filter_kind kind;
	struct jmap_filter *kids;  /* operators: n_kids conditions */
	size_t n_kids;
	const char *str, *str2;
	const char **strs;
	size_t n_strs;
	int64_t num;
	bool flag;
	/* Set by the evaluator, not the parser: a slot for what it precomputes (a text
	 * condition's matching Emails, a Mailbox id's store id). */
	void *eval;
};

/* Why a filter was refused: type "invalidArguments" (a value of the wrong type or form,
 * RFC 8620 5.5) or "unsupportedFilter" (a property or operator this server does not
 * know, or past a bound); description in the arena. */
struct jmap_filter_error {
	const char *type;
	const char *description;
};

/* Read filter (a FilterCondition or FilterOperator object; not NULL, not null) into a
 * tree in a. The tree's strings (ids, texts, header names) point into filter's (keep it
 * while the tree is used; a method's arguments live for the request); keywords are
 * lower-cased copies in a. 0 and *out, or ERR_INVAL with *err_out set, ERR_NOMEM when
 * a is full. */
int jmap_email_filter_parse(json_t *filter, struct arena *a, struct jmap_filter **out,
			    struct jmap_filter_error *err_out);

/* A JMAP keyword (RFC 8621 4.1.1): 1-255 octets of %x21-7E except ( ) { ] % * " \. */
bool jmap_email_keyword_ok(const char *s);

/* Does an Email with these store flags (enum store_flag) and space-separated IMAP
 * keywords have the JMAP keyword kw (lower-case; "$seen", "$flagged", "$answered",
 * "$draft", "$forwarded", "$junk", "$notjunk" are flag bits, others compare ASCII
 * case-insensitively)? */
bool jmap_email_has_keyword(unsigned flags, const char *keywords, const char *kw);

/* Does the tree need the Email's header (header, or nothing else can say), its MIME
 * structure (hasAttachment), or the full-text index (text conditions)? */
enum jmap_filter_needs {
	JMAP_FILTER_NEEDS_HEADER = 1 << 0,
	JMAP_FILTER_NEEDS_MIME = 1 << 1,
	JMAP_FILTER_NEEDS_INDEX = 1 << 2,
	JMAP_FILTER_NEEDS_THREADS = 1 << 3,
};
unsigned jmap_email_filter_needs(const struct jmap_filter *f);

#endif
