/* imap_parse_caps.c: the arguments of the commands where client and server say what they
 * are and can do: ENABLE (RFC 5161 3.1, RFC 9051 6.3.1) and ID (RFC 2971 3.3). Output
 * goes to the command arena. Limits: LIMIT_IMAP_ID_PAIRS, LIMIT_IMAP_ID_FIELD and
 * LIMIT_IMAP_ID_VALUE (RFC 2971 3.3). */
#include "imap/imap_parse_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

int imap_parse_enable(const struct imap_cmd *cmd, unsigned *caps_out, const char **why_out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} caps[] = {
	    {"CONDSTORE", IMAP_ENABLE_CONDSTORE},
	    {"QRESYNC", IMAP_ENABLE_QRESYNC},
	    {"IMAP4rev2", IMAP_ENABLE_IMAP4REV2},
	    {"UTF8=ACCEPT", IMAP_ENABLE_UTF8_ACCEPT},
	};
	*caps_out = 0;
	if (!cmd->args) {
		if (why_out)
			*why_out = "BAD Missing capability";
		return ERR_BAD_SYNTAX;
	}
	for (const struct imap_arg *a = cmd->args; a; a = a->next) {
		/* capability = ("AUTH=" auth-type) / atom */
		if (a->type != IMAP_ARG_ATOM) {
			if (why_out)
				*why_out = "BAD ENABLE takes capability names";
			return ERR_BAD_SYNTAX;
		}
		for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (imap_ieq(a->s, a->len, caps[i].name))
				*caps_out |= caps[i].bit;
	}
	return 0;
}

int imap_parse_id(const struct imap_arg *arg, struct arena *a, struct imap_id_param **out,
                  size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (arg && arg->type == IMAP_ARG_NIL)
		return 0;
	/* id-params-list = "(" *(string SP nstring) ")" / nil */
	if (!arg || arg->type != IMAP_ARG_LIST || arg->count % 2 ||
	    arg->count / 2 > LIMIT_IMAP_ID_PAIRS)
		return ERR_BAD_SYNTAX;
	size_t n = arg->count / 2;
	struct imap_id_param *p = arena_alloc(a, (n ? n : 1) * sizeof(*p));
	if (!p)
		return ERR_NOMEM;
	const struct imap_arg *x = arg->list;
	for (size_t i = 0; i < n; i++, x = x->next->next) {
		bool nil;
		p[i].key = imap_arg_string(x, &p[i].key_len);
		p[i].value = imap_arg_nstring(x->next, &p[i].value_len, &nil);
		if (!p[i].key || p[i].key_len > LIMIT_IMAP_ID_FIELD || !p[i].value ||
		    p[i].value_len > LIMIT_IMAP_ID_VALUE)
			return ERR_BAD_SYNTAX;
		if (nil)
			p[i].value = NULL;
	}
	*out = p;
	*n_out = n;
	return 0;
}
