/* imap_parse_mailbox.c: the arguments of the commands about mailboxes: LIST (RFC 9051
 * 6.3.9, RFC 5258 3 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS), STATUS
 * (RFC 9051 6.3.11), SELECT and EXAMINE with CONDSTORE and QRESYNC (RFC 7162 3.1.8,
 * 3.2.5), CREATE with USE (RFC 6154 5.1). Mailbox names are checked as astrings and
 * left as arguments: the session turns them into stored names (modified UTF-7 or
 * UTF-8). Output goes to the command arena. Limits: LIMIT_IMAP_SEQSET. */
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

/* The bit of the atom a in table[0..n), or 0. */
struct name_bit {
	const char *name;
	unsigned bit;
};

static unsigned bit_of(const struct name_bit *table, size_t n, const struct imap_arg *a)
{
	for (size_t i = 0; i < n; i++)
		if (imap_arg_is(a, table[i].name))
			return table[i].bit;
	return 0;
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

static const struct name_bit status_items[] = {
    {"MESSAGES", IMAP_STATUS_MESSAGES},       {"UIDNEXT", IMAP_STATUS_UIDNEXT},
    {"UIDVALIDITY", IMAP_STATUS_UIDVALIDITY}, {"UNSEEN", IMAP_STATUS_UNSEEN},
    {"DELETED", IMAP_STATUS_DELETED},         {"SIZE", IMAP_STATUS_SIZE},
    {"RECENT", IMAP_STATUS_RECENT},           {"HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ},
    {"APPENDLIMIT", IMAP_STATUS_APPENDLIMIT}, {"MAILBOXID", IMAP_STATUS_MAILBOXID},
};

int imap_parse_status_items(const struct imap_arg *list, unsigned *items_out, const char **why_out)
{
	*items_out = 0;
	if (!list || list->type != IMAP_ARG_LIST || list->count == 0)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid status items");
	for (const struct imap_arg *a = list->list; a; a = a->next) {
		unsigned bit = bit_of(status_items, COUNT(status_items), a);
		if (!bit)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Unknown status item");
		*items_out |= bit;
	}
	return 0;
}

static int mailbox(const struct imap_arg *a, const struct imap_arg **out, const char **why_out)
{
	size_t len;
	if (!imap_arg_astring(a, &len))
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid mailbox name");
	*out = a;
	return 0;
}

int imap_parse_status(const struct imap_cmd *cmd, struct imap_status *out, const char **why_out)
{
	memset(out, 0, sizeof(*out));
	int rc = mailbox(cmd->args, &out->mailbox, why_out);
	if (rc < 0)
		return rc;
	if (cmd->args->next && cmd->args->next->next)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Too many arguments");
	return imap_parse_status_items(cmd->args->next, &out->items, why_out);
}

/* ---- LIST ---- */

static const struct name_bit list_select[] = {
    {"SUBSCRIBED", IMAP_LIST_SEL_SUBSCRIBED},
    {"REMOTE", IMAP_LIST_SEL_REMOTE},
    {"RECURSIVEMATCH", IMAP_LIST_SEL_RECURSIVEMATCH},
    {"SPECIAL-USE", IMAP_LIST_SEL_SPECIAL_USE},
};

static const struct name_bit list_return[] = {
    {"SUBSCRIBED", IMAP_LIST_RET_SUBSCRIBED},
    {"CHILDREN", IMAP_LIST_RET_CHILDREN},
    {"SPECIAL-USE", IMAP_LIST_RET_SPECIAL_USE},
    {"STATUS", IMAP_LIST_RET_STATUS},
};

/* list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")" */
static int list_return_opts(const struct imap_arg *l, struct imap_list *out, const char **why_out)
{
	if (!l || l->type != IMAP_ARG_LIST)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid LIST return options");
	for (const struct imap_arg *o = l->list; o; o = o->next) {
		unsigned bit = bit_of(list_return, COUNT(list_return), o);
		if (!bit)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Unknown LIST return option");
		out->ret |= bit;
		if (bit == IMAP_LIST_RET_STATUS) {
			/* RFC 5819 2: STATUS (status-att ...) */
			int rc = imap_parse_status_items(o->next, &out->status, why_out);
			if (rc < 0)
				return rc;
			o = o->next;
		}
	}
	return 0;
}

int imap_parse_list(const struct imap_cmd *cmd, struct arena *a, struct imap_list *out,
                    const char **why_out)
{
	memset(out, 0, sizeof(*out));
	const struct imap_arg *arg = cmd->args;
	int rc;
	if (arg && arg->type == IMAP_ARG_LIST) {
		out->extended = true;
		for (const struct imap_arg *o = arg->list; o; o = o->next) {
			unsigned bit = bit_of(list_select, COUNT(list_select), o);
			if (!bit)
				return fail(why_out, ERR_BAD_SYNTAX,
				            "BAD Unknown LIST selection option");
			out->sel |= bit;
		}
		/* RFC 5258 3: RECURSIVEMATCH only refines another (filtering) option */
		if ((out->sel & IMAP_LIST_SEL_RECURSIVEMATCH) &&
		    !(out->sel & (IMAP_LIST_SEL_SUBSCRIBED | IMAP_LIST_SEL_SPECIAL_USE)))
			return fail(why_out, ERR_BAD_SYNTAX,
			            "BAD RECURSIVEMATCH needs another selection option");
		arg = arg->next;
	}
	if ((rc = mailbox(arg, &out->ref, why_out)) < 0)
		return rc;
	const struct imap_arg *pat = arg->next;
	if (!pat)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Missing mailbox pattern");
	const struct imap_arg *first = pat;
	size_t n = 1;
	if (pat->type == IMAP_ARG_LIST) {
		out->extended = true;
		first = pat->list;
		n = pat->count;
		if (n == 0)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Empty pattern list");
	}
	out->pat = arena_alloc(a, n * sizeof(*out->pat));
	if (!out->pat)
		return ERR_NOMEM;
	for (const struct imap_arg *p = first; out->npat < n; p = p->next) {
		size_t len;
		if (!imap_arg_list_mailbox(p, &len))
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid mailbox pattern");
		out->pat[out->npat++] = p;
	}
	arg = pat->next;
	if (arg) {
		if (!imap_arg_is(arg, "RETURN") || arg->next == NULL || arg->next->next)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid LIST arguments");
		out->extended = true;
		if ((rc = list_return_opts(arg->next, out, why_out)) < 0)
			return rc;
	}
	return 0;
}

/* ---- SELECT / EXAMINE ---- */

/* A sequence set that may not use "*" or "$" (RFC 7162 3.2.5: known-uids and the
 * sequence match data). */
static int known_set(const struct imap_arg *a, struct arena *arena, struct imap_seqset *out)
{
	if (!a || a->type != IMAP_ARG_ATOM || memchr(a->s, '*', a->len) ||
	    memchr(a->s, '$', a->len))
		return ERR_BAD_SYNTAX;
	return imap_arg_seqset(a, arena, out);
}

/* "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
 * [SP seq-match-data] ")" */
static int qresync(const struct imap_arg *l, struct arena *a, struct imap_select *out)
{
	uint64_t v;
	if (!l || l->type != IMAP_ARG_LIST || l->count < 2 || l->count > 4)
		return ERR_BAD_SYNTAX;
	const struct imap_arg *p = l->list;
	if (imap_arg_number(p, IMAP_NUMBER_MAX, &v) < 0 || v == 0)
		return ERR_BAD_SYNTAX;
	out->uidvalidity = (uint32_t)v;
	p = p->next;
	/* 0 tolerated: a client with nothing cached asks for everything */
	if (imap_arg_number(p, IMAP_NUMBER64_MAX, &out->modseq) < 0)
		return ERR_BAD_SYNTAX;
	p = p->next;
	int rc;
	if (p && p->type == IMAP_ARG_ATOM) {
		if ((rc = known_set(p, a, &out->known_uids)) < 0)
			return rc;
		out->has_known_uids = true;
		p = p->next;
	}
	if (p) {
		/* seq-match-data = "(" known-sequence-set SP known-uid-set ")" */
		if (p->type != IMAP_ARG_LIST || p->count != 2 || p->next)
			return ERR_BAD_SYNTAX;
		if ((rc = known_set(p->list, a, &out->known_seqs)) < 0 ||
		    (rc = known_set(p->list->next, a, &out->known_seq_uids)) < 0)
			return rc;
		out->has_seq_match = true;
	}
	return 0;
}

int imap_parse_select(const struct imap_cmd *cmd, struct arena *a, struct imap_select *out,
                      const char **why_out)
{
	memset(out, 0, sizeof(*out));
	int rc = mailbox(cmd->args, &out->mailbox, why_out);
	if (rc < 0)
		return rc;
	const struct imap_arg *l = cmd->args->next;
	if (!l)
		return 0;
	if (l->type != IMAP_ARG_LIST || l->count == 0 || l->next)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid SELECT parameters");
	for (const struct imap_arg *p = l->list; p; p = p->next) {
		if (imap_arg_is(p, "CONDSTORE")) {
			out->condstore = true;
		} else if (imap_arg_is(p, "QRESYNC")) {
			rc = qresync(p->next, a, out);
			if (rc == ERR_TOO_BIG)
				return fail(why_out, rc,
				            "NO [LIMIT] Too many ranges in the sequence set");
			if (rc < 0)
				return fail(why_out, rc, "BAD Invalid QRESYNC parameters");
			out->qresync = true;
			p = p->next;
		} else {
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Unknown SELECT parameter");
		}
	}
	return 0;
}

/* ---- CREATE ---- */

static const struct name_bit use_attrs[] = {
    {"\\All", IMAP_USE_ALL},         {"\\Archive", IMAP_USE_ARCHIVE}, {"\\Drafts", IMAP_USE_DRAFTS},
    {"\\Flagged", IMAP_USE_FLAGGED}, {"\\Junk", IMAP_USE_JUNK},       {"\\Sent", IMAP_USE_SENT},
    {"\\Trash", IMAP_USE_TRASH},
};

int imap_parse_create(const struct imap_cmd *cmd, struct imap_create *out, const char **why_out)
{
	memset(out, 0, sizeof(*out));
	int rc = mailbox(cmd->args, &out->mailbox, why_out);
	if (rc < 0)
		return rc;
	const struct imap_arg *l = cmd->args->next;
	if (!l)
		return 0;
	/* create-params = SP "(" create-param *(SP create-param) ")" (RFC 4466 2.2) */
	if (l->type != IMAP_ARG_LIST || l->count == 0 || l->next)
		return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid CREATE parameters");
	for (const struct imap_arg *p = l->list; p; p = p->next) {
		const struct imap_arg *u = p->next;
		if (!imap_arg_is(p, "USE") || !u || u->type != IMAP_ARG_LIST)
			return fail(why_out, ERR_BAD_SYNTAX, "BAD Unknown CREATE parameter");
		for (const struct imap_arg *x = u->list; x; x = x->next) {
			if (!x || x->type != IMAP_ARG_ATOM || x->s[0] != '\\')
				return fail(why_out, ERR_BAD_SYNTAX, "BAD Invalid special use");
			unsigned bit = bit_of(use_attrs, COUNT(use_attrs), x);
			if (!bit) /* RFC 6154 5.1 */
				return fail(why_out, ERR_INVAL,
				            "NO [USEATTR] Unknown special-use attribute");
			out->use |= bit;
		}
		p = u;
	}
	return 0;
}
