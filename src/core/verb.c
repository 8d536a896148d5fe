/* verb.c: see verb.h. Tables are a few dozen entries: a linear scan is the fastest. */
#include "verb.h"

#include "str.h"
#include "banned.h"

int verb_find(const struct verb_spec *table, size_t count, const void *p, size_t n)
{
	for (size_t i = 0; i < count; i++)
		if (table[i].states && str_ieq(p, n, table[i].name))
			return (int)i;
	return -1;
}

enum verb_verdict verb_check(const struct verb_spec *v, unsigned state, bool cleartext_ok,
			     size_t nargs)
{
	if (!v || !v->states)
		return VERB_UNKNOWN;
	if (!(v->states & state))
		return VERB_BAD_STATE;
	if (v->cleartext_login && !cleartext_ok)
		return VERB_NEEDS_TLS;
	if (nargs < v->min_args || nargs > v->max_args)
		return VERB_BAD_ARGS;
	return VERB_OK;
}
