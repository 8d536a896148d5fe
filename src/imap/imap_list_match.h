/* imap_list_match.h: LIST and LSUB mailbox patterns (RFC 9051 6.3.9, list-wildcards):
 * "*" matches any run of octets, "%" any run without the hierarchy delimiter "/", every
 * other octet itself. Names are the store's (UTF-8, "/" between levels, "INBOX" upper
 * case as the first level); patterns are UTF-8 too (the session decoded modified
 * UTF-7). The "INBOX" level of a name ("INBOX" alone or before a "/") matches ASCII
 * case-insensitively and the rest exactly, so "inbox", "Inbox/%" and "inb%" find INBOX
 * and its children (RFC 9051 5.1, as Dovecot matches) but "inbox*" does not find a
 * mailbox named "INBOXes".
 *
 * Cost: a pattern compiles once into a bit-parallel automaton (a run of wildcards
 * collapses into one: "%*" is "*", "%%" is "%"); a name is matched in (name length) x
 * (pattern length / 64) word operations without backtracking, so no pattern makes
 * matching exponential. A pattern with more literal octets than LIMIT_MAILBOX_NAME can
 * match no name; it compiles to one that matches nothing. Memory: from the arena given
 * to compile, (distinct literal octets + 2) x (pattern length / 8) bytes and a little
 * more, at most about 36 KiB. Pure: no I/O, core only. */
#ifndef KASTEN_IMAP_LIST_MATCH_H
#define KASTEN_IMAP_LIST_MATCH_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct imap_list_match;

/* Compile the pattern [pat, pat+len) (may hold any octet; NUL matches itself). 0, or
 * ERR_NOMEM when the arena is full. */
int imap_list_match_compile(const char *pat, size_t len, struct arena *a,
			    struct imap_list_match **out);
/* Does the name [name, name+len) match? */
bool imap_list_match(const struct imap_list_match *m, const char *name, size_t len);

#endif
