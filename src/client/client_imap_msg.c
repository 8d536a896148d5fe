/* client_imap_msg.c: the IMAP client's message commands: UID FETCH (with CHANGEDSINCE and
 * VANISHED), UID STORE (with UNCHANGEDSINCE), UID EXPUNGE, EXPUNGE, UID MOVE, UID COPY,
 * UID SEARCH, and the UID-set helpers. A UID set the caller passes goes on the line as
 * it is: the caller keeps it within the server's line limit (client_imap_uidset). */
#include "client/client_imap_int.h"

#include <stdio.h>
#include <string.h>

#include "client/client_maildir.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

/* The set's bytes may only be digits, ":", "," and "*": it is written raw. */
static bool uidset_ok(const char *set)
{
	if (!*set)
		return false;
	for (; *set; set++)
		if (!strchr("0123456789:,*", *set))
			return false;
	return true;
}

static int uid_begin(struct client_imap *s, const char *verb, const char *uidset)
{
	if (!uidset_ok(uidset))
		return ERR_INVAL;
	int r = client_imap_cmd_begin(s, "UID");
	if (r == 0)
		r = client_imap_cmd_printf(s, " %s %s", verb, uidset);
	snprintf(s->verb, sizeof(s->verb), "UID %s", verb);
	return r;
}

int client_imap_uid_fetch(struct client_imap *s, const char *uidset, const char *items,
			  uint64_t changedsince, bool vanished)
{
	int r = uid_begin(s, "FETCH", uidset);
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_raw(s, items);
	if (r == 0 && changedsince)
		r = client_imap_cmd_printf(s, " (CHANGEDSINCE %llu%s)",
					   (unsigned long long)changedsince,
					   vanished ? " VANISHED" : "");
	return r < 0 ? r : client_imap_cmd_end(s);
}

static const struct {
	unsigned flag;
	const char *name;
} flag_names[] = {
	{CLIENT_FLAG_SEEN, "\\Seen"},	    {CLIENT_FLAG_REPLIED, "\\Answered"},
	{CLIENT_FLAG_FLAGGED, "\\Flagged"}, {CLIENT_FLAG_TRASHED, "\\Deleted"},
	{CLIENT_FLAG_DRAFT, "\\Draft"},	    {CLIENT_FLAG_PASSED, "$Forwarded"},
};

/* "(\Seen \Draft kw)" for flags and keywords; keywords go raw, so only atoms pass. */
int client_imap_cmd_flags(struct client_imap *s, unsigned flags, const char *keywords)
{
	for (const char *k = keywords ? keywords : ""; *k; k++)
		if (*k != ' ' && ((unsigned char)*k < ' ' || *k == 0x7f || strchr("(){\"\\]%*", *k)))
			return client_imap_fail(s, ERR_INVAL, "%s: a keyword that is not an atom",
						s->verb);
	int r = client_imap_cmd_raw(s, "(");
	const char *sep = "";
	for (size_t i = 0; r == 0 && i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(flags & flag_names[i].flag))
			continue;
		r = client_imap_cmd_printf(s, "%s%s", sep, flag_names[i].name);
		sep = " ";
	}
	if (r == 0 && keywords && *keywords) {
		r = client_imap_cmd_raw(s, sep);
		if (r == 0)
			r = client_imap_cmd_raw(s, keywords);
	}
	return r < 0 ? r : client_imap_cmd_raw(s, ")");
}

int client_imap_uid_store(struct client_imap *s, const char *uidset, char op, unsigned flags,
			  const char *keywords, uint64_t unchangedsince,
			  const char **modified_out)
{
	if (op != '+' && op != '-' && op != '=')
		return ERR_INVAL;
	int r = uid_begin(s, "STORE", uidset);
	if (r == 0 && unchangedsince)
		r = client_imap_cmd_printf(s, " (UNCHANGEDSINCE %llu)",
					   (unsigned long long)unchangedsince);
	if (r == 0)
		r = client_imap_cmd_printf(s, " %sFLAGS.SILENT ",
					   op == '=' ? "" : op == '+' ? "+" : "-");
	if (r == 0)
		r = client_imap_cmd_flags(s, flags, keywords);
	if (r == 0)
		r = client_imap_cmd_end(s);
	if (modified_out)
		*modified_out = s->modified ? s->modified : "";
	return r;
}

int client_imap_uid_expunge(struct client_imap *s, const char *uidset)
{
	if (!(s->caps & CLIENT_IMAP_CAP_UIDPLUS))
		return ERR_INVAL;
	int r = uid_begin(s, "EXPUNGE", uidset);
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_expunge(struct client_imap *s)
{
	int r = client_imap_cmd_begin(s, "EXPUNGE");
	return r < 0 ? r : client_imap_cmd_end(s);
}

static int uid_to(struct client_imap *s, const char *verb, const char *uidset, const char *dest)
{
	int r = uid_begin(s, verb, uidset);
	if (r == 0)
		r = client_imap_cmd_raw(s, " ");
	if (r == 0)
		r = client_imap_cmd_mailbox(s, dest);
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_uid_move(struct client_imap *s, const char *uidset, const char *dest)
{
	if (!(s->caps & CLIENT_IMAP_CAP_MOVE))
		return ERR_INVAL;
	return uid_to(s, "MOVE", uidset, dest);
}

int client_imap_uid_copy(struct client_imap *s, const char *uidset, const char *dest)
{
	return uid_to(s, "COPY", uidset, dest);
}

int client_imap_uid_search(struct client_imap *s, const char *criteria)
{
	int r = client_imap_cmd_begin(s, "UID");
	snprintf(s->verb, sizeof(s->verb), "UID SEARCH");
	if (r == 0)
		r = client_imap_cmd_raw(s, " SEARCH ");
	if (r == 0)
		r = client_imap_cmd_raw(s, criteria);
	return r < 0 ? r : client_imap_cmd_end(s);
}

int client_imap_quote(const char *str, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap < 3)
		return ERR_FULL;
	buf[n++] = '"';
	for (; *str; str++) {
		if (*str == '\r' || *str == '\n')
			return ERR_INVAL;
		bool esc = *str == '"' || *str == '\\';
		if (n + (esc ? 2 : 1) + 2 > cap)
			return ERR_FULL;
		if (esc)
			buf[n++] = '\\';
		buf[n++] = *str;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return 0;
}

int client_imap_uidset(const uint32_t *uids, size_t n, char *buf, size_t cap,
		       size_t *used_out)
{
	size_t len = 0, i = 0;
	*used_out = 0;
	while (i < n) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		char part[32];
		int k = j > i ? snprintf(part, sizeof(part), "%s%u:%u", len ? "," : "", uids[i],
					 uids[j])
			      : snprintf(part, sizeof(part), "%s%u", len ? "," : "", uids[i]);
		if (k < 0 || len + (size_t)k + 1 > cap)
			break;
		memcpy(buf + len, part, (size_t)k);
		len += (size_t)k;
		i = j + 1;
	}
	if (i == 0)
		return ERR_FULL;
	buf[len] = '\0';
	*used_out = i;
	return 0;
}

static int uid_num(const char *p, size_t n, uint32_t *out)
{
	uint64_t v;
	if (n == 1 && *p == '*') {
		*out = UINT32_MAX;
		return 0;
	}
	if (str_to_u64(p, n, UINT32_MAX, &v) < 0 || v == 0)
		return ERR_BAD_SYNTAX;
	*out = (uint32_t)v;
	return 0;
}

int client_imap_uidset_each(const char *set, size_t len,
			    int (*cb)(void *arg, uint32_t lo, uint32_t hi), void *arg)
{
	size_t i = 0;
	if (len == 0)
		return ERR_BAD_SYNTAX;
	while (i <= len) {
		size_t start = i;
		while (i < len && set[i] != ',')
			i++;
		const char *part = set + start, *colon = memchr(part, ':', i - start);
		uint32_t lo, hi;
		if (colon) {
			if (uid_num(part, (size_t)(colon - part), &lo) < 0 ||
			    uid_num(colon + 1, (size_t)(set + i - colon - 1), &hi) < 0)
				return ERR_BAD_SYNTAX;
		} else if (uid_num(part, i - start, &lo) < 0) {
			return ERR_BAD_SYNTAX;
		} else {
			hi = lo;
		}
		/* RFC 9051 9: a range may be given in either order */
		int r = cb(arg, lo < hi ? lo : hi, lo < hi ? hi : lo);
		if (r)
			return r;
		i++;
	}
	return 0;
}
