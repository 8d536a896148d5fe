/* verb.h: the one shape of a protocol's command table (DESIGN.md "Layers": verb,
 * allowed states, allowed before TLS, arguments). Each protocol lists its commands once,
 * in its parser file, as an array of struct verb_spec indexed by its verb enum; the
 * session keeps its handlers in a parallel array and asks verb_check() the questions
 * every dispatcher asks, in one place and one order. IMAP and later protocols use the
 * same shape. */
#ifndef KASTEN_VERB_H
#define KASTEN_VERB_H

#include <stdbool.h>
#include <stddef.h>

struct verb_spec {
	const char *name;          /* as on the wire, upper case; "?" for pseudo-verbs */
	unsigned states;           /* bits of the protocol's states where it is allowed;
				    * 0: not a command (a pseudo-verb of the parser) */
	unsigned short min_args, max_args;
	bool cleartext_login;      /* carries or starts a cleartext credential exchange:
				    * refused on an unencrypted, non-loopback connection
				    * unless configured ([auth] plaintext_*) */
	bool secret;               /* its arguments are secrets: never logged, wiped */
};

enum verb_verdict {
	VERB_OK,
	VERB_UNKNOWN,      /* not a command of this protocol (or a pseudo-verb) */
	VERB_BAD_STATE,    /* not allowed in the session's current state */
	VERB_NEEDS_TLS,    /* a cleartext login where cleartext is not allowed */
	VERB_BAD_ARGS,     /* fewer or more arguments than the command takes */
};

/* The index of the verb named [p, p+n) (ASCII case-insensitive) in table[0..count),
 * skipping entries without states (pseudo-verbs), or -1. */
int verb_find(const struct verb_spec *table, size_t count, const void *p, size_t n);

/* May a command run now? state: the session's current state bit; cleartext_ok: the
 * connection is encrypted or cleartext logins are allowed on it; nargs: arguments
 * given. The checks run in this order: known, state, TLS, arguments. */
enum verb_verdict verb_check(const struct verb_spec *v, unsigned state, bool cleartext_ok,
			     size_t nargs);

#endif
