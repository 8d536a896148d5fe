/* client_imap_resp.c: what the IMAP client engine does with the server's data: response
 * codes (CAPABILITY, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, NOMODSEQ, PERMANENTFLAGS,
 * READ-ONLY, APPENDUID, MODIFIED) into the session, untagged responses (EXISTS, EXPUNGE,
 * FETCH, VANISHED, LIST, STATUS, SEARCH, ESEARCH, CAPABILITY, ENABLED, BYE) to the caller's
 * callbacks. Strings handed to callbacks live in the response arena. No bounds of its
 * own: the parser's hold them. */
#include "client/client_imap_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/client_maildir.h"
#include "core/err.h"
#include "core/str.h"
#include "imap/imap_parse.h"
#include "core/banned.h"

/* Call an event if set and no earlier callback of this command stopped it. */
#define CLIENT_IMAP_EVENT(s, fn, ...)                                                     \
	do {                                                                              \
		if ((s)->ev && (s)->ev->fn && !(s)->cb_rc)                                 \
			(s)->cb_rc = (s)->ev->fn((s)->ev->arg, __VA_ARGS__);              \
	} while (0)

static const struct {
	const char *name;
	unsigned cap;
} cap_names[] = {
	{"IMAP4REV1", CLIENT_IMAP_CAP_IMAP4REV1},
	{"IMAP4REV2", CLIENT_IMAP_CAP_IMAP4REV2},
	{"STARTTLS", CLIENT_IMAP_CAP_STARTTLS},
	{"LOGINDISABLED", CLIENT_IMAP_CAP_LOGINDISABLED},
	{"AUTH=PLAIN", CLIENT_IMAP_CAP_AUTH_PLAIN},
	{"SASL-IR", CLIENT_IMAP_CAP_SASL_IR},
	{"LITERAL+", CLIENT_IMAP_CAP_LITERALPLUS},
	{"LITERAL-", CLIENT_IMAP_CAP_LITERALMINUS},
	{"UIDPLUS", CLIENT_IMAP_CAP_UIDPLUS},
	{"MULTIAPPEND", CLIENT_IMAP_CAP_MULTIAPPEND},
	{"CONDSTORE", CLIENT_IMAP_CAP_CONDSTORE},
	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
	{"QRESYNC", CLIENT_IMAP_CAP_QRESYNC | CLIENT_IMAP_CAP_CONDSTORE},
	{"MOVE", CLIENT_IMAP_CAP_MOVE},
	{"IDLE", CLIENT_IMAP_CAP_IDLE},
	{"ENABLE", CLIENT_IMAP_CAP_ENABLE},
	{"SPECIAL-USE", CLIENT_IMAP_CAP_SPECIAL_USE},
	{"LIST-EXTENDED", CLIENT_IMAP_CAP_LIST_EXTENDED},
	{"ESEARCH", CLIENT_IMAP_CAP_ESEARCH},
	{"UTF8=ACCEPT", CLIENT_IMAP_CAP_UTF8_ACCEPT},
	{"BINARY", CLIENT_IMAP_CAP_BINARY},
	{"NAMESPACE", CLIENT_IMAP_CAP_NAMESPACE},
	{"LIST-STATUS", CLIENT_IMAP_CAP_LIST_STATUS},
};

static unsigned cap_bits(const struct client_imap_tok *t)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (client_imap_tok_is(t, cap_names[i].name))
			return cap_names[i].cap;
	return 0;
}

void client_imap_resp_caps(struct client_imap *s, const struct client_imap_tok *t)
{
	s->caps = 0;
	s->caps_seen = true;
	for (; t; t = t->next)
		s->caps |= cap_bits(t);
}

static const struct {
	const char *name;
	unsigned flag;
} flag_names[] = {
	{"\\Seen", CLIENT_FLAG_SEEN},	{"\\Answered", CLIENT_FLAG_REPLIED},
	{"\\Flagged", CLIENT_FLAG_FLAGGED}, {"\\Deleted", CLIENT_FLAG_TRASHED},
	{"\\Draft", CLIENT_FLAG_DRAFT},	{"$Forwarded", CLIENT_FLAG_PASSED},
};

static unsigned flag_bit(const struct client_imap_tok *t)
{
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (client_imap_tok_is(t, flag_names[i].name))
			return flag_names[i].flag;
	return 0;
}

/* FLAGS (...) into bits and the other keywords, space-separated, in the arena. */
static int flags_of(struct client_imap *s, const struct client_imap_tok *list,
		    unsigned *flags_out, const char **kw_out)
{
	size_t cap = 1;
	for (const struct client_imap_tok *t = list->child; t; t = t->next)
		cap += (size_t)t->len + 1;
	char *kw = arena_alloc(&s->resp_arena, cap);
	if (!kw)
		return ERR_NOMEM;
	size_t n = 0;
	*flags_out = 0;
	for (const struct client_imap_tok *t = list->child; t; t = t->next) {
		if (t->type != CLIENT_IMAP_TOK_ATOM)
			continue;
		unsigned bit = flag_bit(t);
		*flags_out |= bit;
		if (bit || client_imap_tok_is(t, "\\Recent"))
			continue;
		if (n)
			kw[n++] = ' ';
		memcpy(kw + n, t->s, (size_t)t->len);
		n += (size_t)t->len;
	}
	kw[n] = '\0';
	*kw_out = kw;
	return 0;
}

static int code_u32(const struct client_imap_resp *r, uint32_t *out)
{
	return client_imap_tok_u32(r->code_args, out);
}

int client_imap_resp_code(struct client_imap *s, const struct client_imap_resp *r)
{
	const char *c = r->code;
	if (!c)
		return 0;
	size_t cl = strlen(c);
	uint64_t v;
	if (str_ieq(c, cl, "CAPABILITY")) {
		client_imap_resp_caps(s, r->code_args);
	} else if (str_ieq(c, cl, "UIDVALIDITY")) {
		(void)code_u32(r, &s->sel.uidvalidity); /* a bad one stays 0: no resync */
	} else if (str_ieq(c, cl, "UIDNEXT")) {
		(void)code_u32(r, &s->sel.uidnext);
	} else if (str_ieq(c, cl, "HIGHESTMODSEQ")) {
		if (client_imap_tok_u64(r->code_args, &v) == 0)
			s->sel.highestmodseq = v;
	} else if (str_ieq(c, cl, "NOMODSEQ")) {
		s->sel.nomodseq = true;
	} else if (str_ieq(c, cl, "READ-ONLY")) {
		s->sel.readonly = true;
	} else if (str_ieq(c, cl, "READ-WRITE")) {
		s->sel.readonly = false;
	} else if (str_ieq(c, cl, "PERMANENTFLAGS") && r->code_args &&
		   r->code_args->type == CLIENT_IMAP_TOK_LIST) {
		s->sel.permanent_flags = 0;
		for (const struct client_imap_tok *t = r->code_args->child; t; t = t->next) {
			s->sel.permanent_flags |= flag_bit(t);
			s->sel.permanent_keywords |= client_imap_tok_is(t, "\\*");
		}
	} else if (str_ieq(c, cl, "APPENDUID") && r->code_args && r->code_args->next) {
		const struct client_imap_tok *set = r->code_args->next;
		if (code_u32(r, &s->appenduid_validity) == 0 && set->type == CLIENT_IMAP_TOK_ATOM)
			s->appenduid_set = arena_strdup(&s->cmd_arena, set->s);
	} else if (str_ieq(c, cl, "MODIFIED") && r->code_args &&
		   r->code_args->type == CLIENT_IMAP_TOK_ATOM) {
		s->modified = arena_strdup(&s->cmd_arena, r->code_args->s);
		if (!s->modified)
			return ERR_NOMEM;
	}
	return 0;
}

/* INTERNALDATE "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 9051 9, date-time) as a time_t. */
static time_t parse_date(const char *d)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, year, hh, mm, ss, zone;
	char mon[4], sign;
	if (sscanf(d, " %d-%3s-%d %d:%d:%d %c%4d", &day, mon, &year, &hh, &mm, &ss, &sign,
		   &zone) != 8)
		return 0;
	const char *m = strstr(months, mon);
	if (!m || (m - months) % 3 != 0 || strlen(mon) != 3)
		return 0;
	struct tm tm = {.tm_year = year - 1900, .tm_mon = (int)(m - months) / 3,
			.tm_mday = day, .tm_hour = hh, .tm_min = mm, .tm_sec = ss};
	time_t t = timegm(&tm);
	int off = (zone / 100) * 3600 + (zone % 100) * 60;
	return sign == '-' ? t + off : t - off;
}

static bool is_header_item(const struct client_imap_tok *t)
{
	return str_iprefix(t->s, (size_t)t->len, "BODY[HEADER") ||
	       str_iprefix(t->s, (size_t)t->len, "BODY.PEEK[HEADER") ||
	       str_ieq(t->s, (size_t)t->len, "RFC822.HEADER");
}

static bool is_body_item(const struct client_imap_tok *t)
{
	if (!t || t->type != CLIENT_IMAP_TOK_ATOM || is_header_item(t))
		return false;
	return str_iprefix(t->s, (size_t)t->len, "BODY[") ||
	       str_iprefix(t->s, (size_t)t->len, "BINARY[") ||
	       str_ieq(t->s, (size_t)t->len, "RFC822") ||
	       str_ieq(t->s, (size_t)t->len, "RFC822.TEXT");
}

/* "n FETCH": the sequence number, or 0 if r is not a FETCH response. */
static uint32_t fetch_seq(const struct client_imap_resp *r)
{
	uint32_t seq;
	const struct client_imap_tok *t = r->toks;
	if (!t || !t->next || !client_imap_tok_is(t->next, "FETCH") ||
	    client_imap_tok_u32(t, &seq) < 0)
		return 0;
	return seq;
}

int client_imap_resp_data(struct client_imap *s)
{
	const struct client_imap_parser *ps = &s->ps;
	uint32_t seq = fetch_seq(ps->resp);
	if (seq && is_body_item(ps->data_item))
		CLIENT_IMAP_EVENT(s, body, seq, ps->data_off, ps->data_total, ps->data,
				  ps->data_len);
	return 0;
}

static int fetch_item(struct client_imap *s, struct client_imap_fetch *f,
		      const struct client_imap_tok *name, const struct client_imap_tok *v)
{
	if (client_imap_tok_is(name, "UID")) {
		(void)client_imap_tok_u32(v, &f->uid); /* a bad UID stays 0: not used */
	} else if (client_imap_tok_is(name, "FLAGS") && v->type == CLIENT_IMAP_TOK_LIST) {
		f->has_flags = true;
		return flags_of(s, v, &f->flags, &f->keywords);
	} else if (client_imap_tok_is(name, "MODSEQ") && v->type == CLIENT_IMAP_TOK_LIST) {
		(void)client_imap_tok_u64(v->child, &f->modseq);
	} else if (client_imap_tok_is(name, "RFC822.SIZE")) {
		f->has_size = client_imap_tok_u64(v, &f->size) == 0;
	} else if (client_imap_tok_is(name, "INTERNALDATE") &&
		   v->type == CLIENT_IMAP_TOK_STRING) {
		f->internaldate = parse_date(v->s);
	} else if (name->type == CLIENT_IMAP_TOK_ATOM && is_header_item(name)) {
		f->header = v->type == CLIENT_IMAP_TOK_STRING ? v->s : NULL;
		f->header_len = v->type == CLIENT_IMAP_TOK_NIL ? 0 : (size_t)v->len;
	} else if (is_body_item(name)) {
		f->has_body = true;
		/* handed-out literals went to body piece by piece already */
		if (v->type == CLIENT_IMAP_TOK_STRING)
			CLIENT_IMAP_EVENT(s, body, f->seq, 0, v->len, v->s, (size_t)v->len);
		else if (v->type == CLIENT_IMAP_TOK_NIL)
			CLIENT_IMAP_EVENT(s, body, f->seq, 0, 0, "", 0);
	}
	return 0;
}

static int fetch(struct client_imap *s, uint32_t seq, const struct client_imap_tok *list)
{
	if (!list || list->type != CLIENT_IMAP_TOK_LIST)
		return client_imap_fail(s, ERR_BAD_SYNTAX, "a FETCH response without items");
	struct client_imap_fetch f = {.seq = seq, .keywords = ""};
	for (const struct client_imap_tok *t = list->child; t && t->next; t = t->next->next) {
		int r = fetch_item(s, &f, t, t->next);
		if (r < 0)
			return r;
	}
	s->activity = true;
	CLIENT_IMAP_EVENT(s, fetch, &f);
	return 0;
}

/* A mailbox name as the server sent it, in UTF-8 for the caller; NULL for a name with a
 * NUL (not one we could name back). */
static const char *mailbox_name(struct client_imap *s, const struct client_imap_tok *nm)
{
	const char *name = nm->s;
	if (str_ieq(nm->s, (size_t)nm->len, "INBOX")) {
		name = "INBOX";
	} else if (!(s->enabled & CLIENT_IMAP_CAP_UTF8_ACCEPT)) {
		char *utf8;
		/* a name that is not valid modified UTF-7 is shown as the server sent it */
		if (imap_mutf7_decode(nm->s, (size_t)nm->len, &s->resp_arena, &utf8) == 0)
			name = utf8;
	}
	return strlen(name) != nm->len && name == nm->s ? NULL : name;
}

static int list_entry(struct client_imap *s, const struct client_imap_tok *t)
{
	static const struct {
		const char *name;
		unsigned attr;
	} attrs[] = {
		{"\\Noselect", CLIENT_IMAP_LIST_NOSELECT},
		{"\\NonExistent", CLIENT_IMAP_LIST_NOSELECT},
		{"\\NoInferiors", CLIENT_IMAP_LIST_NOINFERIORS},
		{"\\HasChildren", CLIENT_IMAP_LIST_HASCHILDREN},
		{"\\HasNoChildren", CLIENT_IMAP_LIST_HASNOCHILDREN},
		{"\\All", CLIENT_IMAP_LIST_ALL},
		{"\\Archive", CLIENT_IMAP_LIST_ARCHIVE},
		{"\\Drafts", CLIENT_IMAP_LIST_DRAFTS},
		{"\\Flagged", CLIENT_IMAP_LIST_FLAGGED},
		{"\\Junk", CLIENT_IMAP_LIST_JUNK},
		{"\\Sent", CLIENT_IMAP_LIST_SENT},
		{"\\Trash", CLIENT_IMAP_LIST_TRASH},
		{"\\Subscribed", CLIENT_IMAP_LIST_SUBSCRIBED},
	};
	const struct client_imap_tok *at = t, *dl = at ? at->next : NULL;
	const struct client_imap_tok *nm = dl ? dl->next : NULL;
	if (!nm || at->type != CLIENT_IMAP_TOK_LIST ||
	    (nm->type != CLIENT_IMAP_TOK_STRING && nm->type != CLIENT_IMAP_TOK_ATOM))
		return client_imap_fail(s, ERR_BAD_SYNTAX, "a LIST response does not parse");
	struct client_imap_list_entry e = {.name = nm->s};
	for (const struct client_imap_tok *a = at->child; a; a = a->next)
		for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
			if (client_imap_tok_is(a, attrs[i].name))
				e.attrs |= attrs[i].attr;
	if (dl->type == CLIENT_IMAP_TOK_STRING && dl->len == 1)
		e.delim = dl->s[0];
	if (!(e.name = mailbox_name(s, nm)))
		return 0; /* a NUL in a name: not one we can name back */
	if (!s->have_delim && e.delim) {
		s->delim = e.delim;
		s->have_delim = true;
	}
	CLIENT_IMAP_EVENT(s, list, &e);
	return 0;
}

/* STATUS (RFC 9051 7.2.4), also after a LIST entry with RETURN (STATUS) (RFC 5819). */
static int status(struct client_imap *s, const struct client_imap_tok *t)
{
	struct client_imap_mailbox_status st;
	const struct client_imap_tok *nm;
	if (client_imap_status_parse(t, &nm, &st) < 0)
		return client_imap_fail(s, ERR_BAD_SYNTAX, "a STATUS response does not parse");
	if ((st.name = mailbox_name(s, nm)))
		CLIENT_IMAP_EVENT(s, status, &st);
	return 0;
}

struct range_ctx {
	struct client_imap *s;
	bool vanished, earlier;
};

static int range_cb(void *arg, uint32_t lo, uint32_t hi)
{
	struct range_ctx *c = arg;
	if (c->vanished)
		CLIENT_IMAP_EVENT(c->s, vanished, c->earlier, lo, hi);
	else
		CLIENT_IMAP_EVENT(c->s, search, lo, hi);
	return 0;
}

static int set_ranges(struct client_imap *s, const struct client_imap_tok *t, bool vanished,
		      bool earlier)
{
	struct range_ctx c = {s, vanished, earlier};
	if (!t || t->type != CLIENT_IMAP_TOK_ATOM ||
	    client_imap_uidset_each(t->s, (size_t)t->len, range_cb, &c) < 0)
		return client_imap_fail(s, ERR_BAD_SYNTAX, "a UID set does not parse");
	return 0;
}

/* SEARCH n n n: runs of consecutive numbers as one range each. */
static int search(struct client_imap *s, const struct client_imap_tok *t)
{
	uint32_t lo = 0, hi = 0, v;
	for (; t; t = t->next) {
		if (t->type == CLIENT_IMAP_TOK_LIST)
			continue; /* (MODSEQ n) of RFC 7162 3.1.5 */
		if (client_imap_tok_u32(t, &v) < 0)
			return client_imap_fail(s, ERR_BAD_SYNTAX, "a SEARCH response does not parse");
		if (lo && v == hi + 1) {
			hi = v;
			continue;
		}
		if (lo)
			CLIENT_IMAP_EVENT(s, search, lo, hi);
		lo = hi = v;
	}
	if (lo)
		CLIENT_IMAP_EVENT(s, search, lo, hi);
	return 0;
}

/* ESEARCH [(TAG "x")] [UID] *(name value): ALL's set to the search callback. */
static int esearch(struct client_imap *s, const struct client_imap_tok *t)
{
	if (t && t->type == CLIENT_IMAP_TOK_LIST)
		t = t->next;
	if (client_imap_tok_is(t, "UID"))
		t = t->next;
	for (; t && t->next; t = t->next->next)
		if (client_imap_tok_is(t, "ALL"))
			return set_ranges(s, t->next, false, false);
	return 0;
}

static int data(struct client_imap *s, const struct client_imap_resp *r)
{
	const struct client_imap_tok *t = r->toks, *rest = t->next;
	uint32_t n;
	if (client_imap_tok_u32(t, &n) == 0) {
		if (client_imap_tok_is(rest, "EXISTS")) {
			s->sel.exists = n;
			s->activity = true;
			CLIENT_IMAP_EVENT(s, exists, n);
		} else if (client_imap_tok_is(rest, "EXPUNGE")) {
			s->activity = true;
			CLIENT_IMAP_EVENT(s, expunge, n);
		} else if (client_imap_tok_is(rest, "FETCH")) {
			return fetch(s, n, rest->next);
		}
		return 0; /* RECENT and what we do not know */
	}
	if (client_imap_tok_is(t, "CAPABILITY")) {
		client_imap_resp_caps(s, rest);
	} else if (client_imap_tok_is(t, "ENABLED")) {
		for (; rest; rest = rest->next)
			s->enabled |= cap_bits(rest);
	} else if (client_imap_tok_is(t, "LIST")) {
		return list_entry(s, rest);
	} else if (client_imap_tok_is(t, "STATUS")) {
		return status(s, rest);
	} else if (client_imap_tok_is(t, "SEARCH")) {
		return search(s, rest);
	} else if (client_imap_tok_is(t, "ESEARCH")) {
		return esearch(s, rest);
	} else if (client_imap_tok_is(t, "VANISHED")) {
		bool earlier = rest && rest->type == CLIENT_IMAP_TOK_LIST;
		s->activity = true;
		return set_ranges(s, earlier ? rest->next : rest, true, earlier);
	}
	return 0;
}

int client_imap_resp_untagged(struct client_imap *s, const struct client_imap_resp *r)
{
	if (r->kind != CLIENT_IMAP_RESP_UNTAGGED)
		return client_imap_fail(s, ERR_BAD_SYNTAX, "unexpected response");
	if (r->status == CLIENT_IMAP_ST_NONE)
		return data(s, r);
	if (r->status == CLIENT_IMAP_ST_BYE) {
		s->bye = true;
		int n = snprintf(s->err, sizeof(s->err), "%s", r->text);
		if (n < 0)
			s->err[0] = '\0';
		for (char *p = s->err; *p; p++) /* server text: printable ASCII only */
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	}
	return client_imap_resp_code(s, r);
}
