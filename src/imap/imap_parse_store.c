/* imap_parse_store.c: the arguments of the commands that write messages: STORE (RFC 9051
 * 6.4.6, RFC 7162 3.1.3 UNCHANGEDSINCE) and APPEND (RFC 9051 6.3.12, RFC 3502
 * MULTIAPPEND, RFC 6855 4 UTF8, RFC 3516 4.4 literal8). Output goes to the command
 * arena. Limits: those of the tokenizer (arguments per command) and LIMIT_IMAP_SEQSET. */
#include "imap/imap_parse_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static int fail(const char **why_out, int rc, const char *why)
{
	if (why_out)
		*why_out = why;
	return rc;
}

/* store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) */
static int store_item(const struct imap_arg *a, struct imap_store *out)
{
	if (!a || a->type != IMAP_ARG_ATOM)
		return ERR_BAD_SYNTAX;
	const char *s = a->s;
	size_t n = a->len;
	out->op = IMAP_STORE_SET;
	if (n && (s[0] == '+' || s[0] == '-')) {
		out->op = s[0] == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		s++;
		n--;
	}
	if (imap_ieq(s, n, "FLAGS.SILENT"))
		out->silent = true;
	else if (!imap_ieq(s, n, "FLAGS"))
		return ERR_BAD_SYNTAX;
	return 0;
}

int imap_parse_store(const struct imap_cmd *cmd, struct arena *a, struct imap_store *out,
                     const char **why_out)
{
	memset(out, 0, sizeof(*out));
	const struct imap_arg *arg = cmd->args;
	int rc = imap_arg_seqset(arg, a, &out->set);
	if (rc == ERR_TOO_BIG)
		return fail(why_out, rc, "NO [LIMIT] Too many ranges in the sequence set");
	if (rc < 0)
		return fail(why_out, rc, "BAD Invalid sequence set");
	arg = arg->next;
	if (arg && arg->type == IMAP_ARG_LIST) {
		/* store-modifiers (RFC 4466 2.5): UNCHANGEDSINCE only */
		const struct imap_arg *m = arg->list;
		if (arg->count != 2 || !imap_arg_is(m, "UNCHANGEDSINCE") ||
		    imap_arg_number(m->next, IMAP_NUMBER64_MAX, &out->unchangedsince_modseq) < 0)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid STORE modifier");
		out->unchangedsince = true;
		arg = arg->next;
	}
	if (store_item(arg, out) < 0)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid STORE item");
	const struct imap_arg *flags = arg->next;
	if (!flags)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing flags");
	bool list = flags->type == IMAP_ARG_LIST;
	if (list && flags->next)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Too many arguments");
	return imap_parse_flags(flags, list, a, &out->flags, why_out);
}

/* append-message = [SP flag-list] [SP date-time] SP append-data, with append-data the
 * streamed literal or literal8, or "UTF8" SP "(" literal8 ")". *ap moves past it. */
static int append_msg(const struct imap_arg **ap, struct arena *a, struct imap_append_msg *m,
                      const char **why_out)
{
	const struct imap_arg *arg = *ap;
	int rc;
	memset(m, 0, sizeof(*m));
	if (arg->type == IMAP_ARG_LIST) {
		if ((rc = imap_parse_flags(arg, true, a, &m->flags, why_out)) < 0)
			return rc;
		arg = arg->next;
	}
	if (arg && arg->type == IMAP_ARG_STRING) {
		if (imap_parse_datetime(arg->s, arg->len, &m->date, &m->zone) < 0)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid date-time");
		m->has_date = true;
		arg = arg->next;
	}
	const struct imap_arg *data = arg;
	if (imap_arg_is(arg, "UTF8")) {
		const struct imap_arg *l = arg->next;
		if (!l || l->type != IMAP_ARG_LIST || l->count != 1)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid UTF8 message data");
		m->utf8 = true;
		data = l->list;
		arg = l;
	}
	if (!data || data->type != IMAP_ARG_STREAM)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing message literal");
	m->size = data->size;
	m->binary = data->binary;
	*ap = arg->next;
	return 0;
}

int imap_parse_append(const struct imap_cmd *cmd, struct arena *a, struct imap_append *out,
                      const char **why_out)
{
	memset(out, 0, sizeof(*out));
	size_t len;
	if (!imap_arg_astring(cmd->args, &len))
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid mailbox name");
	out->mailbox = cmd->args;
	const struct imap_arg *arg = cmd->args->next;
	if (!arg)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing message literal");
	/* at most one message per remaining argument */
	out->msgs = arena_alloc(a, cmd->nargs * sizeof(*out->msgs));
	if (!out->msgs)
		return ERR_NOMEM;
	while (arg) {
		int rc = append_msg(&arg, a, &out->msgs[out->nmsgs], why_out);
		if (rc < 0)
			return rc;
		out->nmsgs++;
	}
	return 0;
}
