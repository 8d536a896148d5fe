/* psl.h: the Public Suffix List (publicsuffix.org) and the organizational domain of
 * RFC 7489 3.2, which DMARC's relaxed alignment and policy discovery need. The list
 * is Debian's publicsuffix package (PSL_PATH), read once per process. Rules are matched
 * on lower-case ASCII bytes: the list's few Unicode rules match only names written in
 * UTF-8, not their A-labels (an A-label name under such a suffix gets one label less as
 * its organizational domain). Thread-safe after loading: the table is read-only. */
#ifndef KASTEN_PSL_H
#define KASTEN_PSL_H

#include <stddef.h>

#include "core/limits.h"

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct psl;

/* Parse a list in the publicsuffix.org format ([p, p+len): one rule per line, "//"
 * comments, "*." wildcards, "!" exceptions; anything after the first blank of a line is
 * ignored). 0, ERR_TOO_BIG (more than LIMIT_PSL_RULES rules), ERR_NOMEM. */
int psl_parse(const char *p, size_t len, struct psl **out);
/* psl_parse of a file (at most LIMIT_PSL_FILE bytes): adds ERR_NOTFOUND, ERR_IO. */
int psl_load(const char *path, struct psl **out);
void psl_free(struct psl **p);

/* The list of PSL_PATH, loaded on first use; NULL when it cannot be read (logged once):
 * then every name is ruled by the default rule "*" alone. */
const struct psl *psl_default(void);

/* The organizational domain of name (lower case, no final dot): the public suffix
 * (longest matching rule, exceptions first, else the default rule "*": the last label)
 * plus one label; name itself when name is a public suffix. p may be NULL (only "*").
 * out needs LIMIT_DNS_NAME + 1 bytes. */
void psl_org_domain(const struct psl *p, const char *name, char *out);

#endif
