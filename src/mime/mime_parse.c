/* mime_parse.c: the message tree. Reads the whole message [p, p+len) once, splits it
 * into parts by offsets (RFC 2045, RFC 2046 5.1.1 boundaries, message/rfc822
 * encapsulation) and fills each part's MIME fields and each message's envelope.
 * Everything it returns lives in the caller's arena. Bounds: LIMIT_HEADER_FIELDS per
 * header, LIMIT_MIME_DEPTH nesting (recursion is bounded by it), LIMIT_MIME_PARTS parts;
 * past a bound the rest of the part is an opaque body and a flag says so. */
#include "mime_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

struct pctx {
	const uint8_t *p;
	size_t len;
	struct arena *a;
	unsigned nparts;
};

enum seen_bit {
	SEEN_CT = 1 << 0,
	SEEN_CTE = 1 << 1,
	SEEN_ID = 1 << 2,
	SEEN_DESC = 1 << 3,
	SEEN_MD5 = 1 << 4,
	SEEN_DISP = 1 << 5,
	SEEN_LANG = 1 << 6,
	SEEN_LOC = 1 << 7,
	SEEN_DATE = 1 << 8,
	SEEN_SUBJECT = 1 << 9,
	SEEN_IRT = 1 << 10,
	SEEN_MSGID = 1 << 11,
	SEEN_FROM = 1 << 12,
	SEEN_SENDER = 1 << 13,
	SEEN_REPLYTO = 1 << 14,
	SEEN_TO = 1 << 15,
	SEEN_CC = 1 << 16,
	SEEN_BCC = 1 << 17,
};

enum fkind { F_STR, F_ADDR, F_CT, F_CTE, F_DISP, F_LANG };

struct field_desc {
	const char *name;
	unsigned bit;
	enum fkind kind;
	bool envelope; /* only in a message header */
};

static const struct field_desc fields[] = {
    {"content-type", SEEN_CT, F_CT, false},
    {"content-transfer-encoding", SEEN_CTE, F_CTE, false},
    {"content-id", SEEN_ID, F_STR, false},
    {"content-description", SEEN_DESC, F_STR, false},
    {"content-md5", SEEN_MD5, F_STR, false},
    {"content-disposition", SEEN_DISP, F_DISP, false},
    {"content-language", SEEN_LANG, F_LANG, false},
    {"content-location", SEEN_LOC, F_STR, false},
    {"date", SEEN_DATE, F_STR, true},
    {"subject", SEEN_SUBJECT, F_STR, true},
    {"in-reply-to", SEEN_IRT, F_STR, true},
    {"message-id", SEEN_MSGID, F_STR, true},
    {"from", SEEN_FROM, F_ADDR, true},
    {"sender", SEEN_SENDER, F_ADDR, true},
    {"reply-to", SEEN_REPLYTO, F_ADDR, true},
    {"to", SEEN_TO, F_ADDR, true},
    {"cc", SEEN_CC, F_ADDR, true},
    {"bcc", SEEN_BCC, F_ADDR, true},
};

/* Where a field's value goes. */
static struct mime_str *str_slot(struct mime_part *pt, struct mime_envelope *env, unsigned bit)
{
	switch (bit) {
	case SEEN_ID:
		return &pt->id;
	case SEEN_DESC:
		return &pt->description;
	case SEEN_MD5:
		return &pt->md5;
	case SEEN_LOC:
		return &pt->location;
	case SEEN_DATE:
		return &env->date;
	case SEEN_SUBJECT:
		return &env->subject;
	case SEEN_IRT:
		return &env->in_reply_to;
	default:
		return &env->message_id;
	}
}

static struct mime_addr **addr_slot(struct mime_envelope *env, unsigned bit)
{
	switch (bit) {
	case SEEN_FROM:
		return &env->from;
	case SEEN_SENDER:
		return &env->sender;
	case SEEN_REPLYTO:
		return &env->reply_to;
	case SEEN_TO:
		return &env->to;
	case SEEN_CC:
		return &env->cc;
	default:
		return &env->bcc;
	}
}

static int take_field(struct pctx *c, struct mime_part *pt, struct mime_envelope *env,
                      unsigned *seen, const struct mime_field *f)
{
	const struct field_desc *d = NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !d; i++)
		if (str_ieq(f->name, f->name_len, fields[i].name))
			d = &fields[i];
	if (!d || (*seen & d->bit) || (d->envelope && !env))
		return 0;
	*seen |= d->bit;
	struct mime_str v;
	int r = mime_unfold(f->value, f->value_len, c->a, &v);
	if (r < 0)
		return r;
	const uint8_t *u = (const uint8_t *)v.s;
	switch (d->kind) {
	case F_STR:
		*str_slot(pt, env, d->bit) = v;
		return 0;
	case F_ADDR:
		return mime_addr_parse(c->a, u, v.len, addr_slot(env, d->bit));
	case F_CT:
		r = mime_ct_parse(c->a, u, v.len, &pt->type, &pt->subtype, &pt->params);
		return r < 0 ? r : 0;
	case F_CTE:
		return mime_token_parse(c->a, u, v.len, &pt->encoding);
	case F_DISP:
		r = mime_disp_parse(c->a, u, v.len, &pt->disposition, &pt->disp_params);
		return r < 0 ? r : 0;
	case F_LANG:
		return mime_lang_parse(c->a, u, v.len, &pt->languages, &pt->nlanguages);
	}
	return 0;
}

/* RFC 9051 7.5.2 body-fld-lines: the line ends in [s, e), as Dovecot counts them. A last
 * line without a line end is not counted: before a delimiter its CRLF belongs to the
 * delimiter (RFC 2046 5.1.1), so "text" CRLF "--b" is one line of text without its line
 * end, and a message that stops without a final newline has that line unterminated. A
 * bare CR ends no line. A plain byte loop: compilers vectorize it. */
static uint64_t count_lines(const uint8_t *p, size_t s, size_t e)
{
	uint64_t n = 0;
	for (size_t i = s; i < e; i++)
		n += p[i] == '\n';
	return n;
}

static int set_default_type(struct pctx *c, struct mime_part *pt, bool digest_child)
{
	pt->params = NULL;
	if (digest_child) {
		pt->type = arena_strdup(c->a, "message");
		pt->subtype = arena_strdup(c->a, "rfc822");
		return pt->type && pt->subtype ? 0 : ERR_NOMEM;
	}
	pt->type = arena_strdup(c->a, "text");
	pt->subtype = arena_strdup(c->a, "plain");
	struct mime_param *cs = arena_zalloc(c->a, sizeof(*cs));
	if (!pt->type || !pt->subtype || !cs || !(cs->name = arena_strdup(c->a, "charset")) ||
	    mime_str_dup(c->a, "us-ascii", 8, &cs->value) < 0)
		return ERR_NOMEM;
	pt->params = cs;
	return 0;
}

static int new_part(struct pctx *c, struct mime_part *parent, struct mime_part **out)
{
	*out = NULL;
	if (c->nparts >= LIMIT_MIME_PARTS) {
		if (parent)
			parent->flags |= MIME_PART_TRUNCATED;
		return 0;
	}
	struct mime_part *pt = arena_zalloc(c->a, sizeof(*pt));
	if (!pt)
		return ERR_NOMEM;
	c->nparts++;
	pt->parent = parent;
	pt->depth = parent ? parent->depth + 1 : 0;
	*out = pt;
	return 0;
}

/* ---- delimiters ----
 *
 * The boundaries of the multiparts that are open at a point of the message form a stack
 * (innermost first) that lives on the C stack of split_multipart, one entry per level.
 * Every line is checked against the whole stack, wherever it is (preamble, a part's
 * header or body, an encapsulated message, an epilogue), because a delimiter of an outer
 * multipart ends every part inside it, terminated or not. */
struct bnd {
	const struct bnd *outer;
	const uint8_t *s; /* the boundary parameter, without "--" */
	size_t len;
};

/* A delimiter line found, or the end of the message (b == NULL, line == next == len). */
struct delim {
	const struct bnd *b;
	size_t line; /* the start of its line (its "--") */
	size_t next; /* after its line end: where the next part's header starts */
	size_t end;  /* where the parts it ends stop (delim_end) */
	bool close;  /* "--" follows the boundary: the close delimiter */
};

/* Is the line starting at ls a delimiter line of a boundary in open? RFC 2046 5.1.1:
 * "Boundary string comparisons must compare the boundary value with the beginning of
 * each candidate line. An exact match of the entire candidate line is not required", so
 * "--abcdef" is a delimiter for boundary "abc". Where several open boundaries begin the
 * line, the longest wins, and of equal ones the innermost (RFC 2046 5.1.2: a nested
 * multipart that reuses its parent's boundary hides it), except that the innermost one
 * that is the whole line, or the whole line but a final "--" (its close delimiter), is
 * taken at once. Dovecot decides the same way, so both split a message alike. */
static bool delim_at(const struct pctx *c, const struct bnd *open, size_t ls, struct delim *d)
{
	const uint8_t *p = c->p;
	if (!open || c->len - ls < 2 || p[ls] != '-' || p[ls + 1] != '-')
		return false;
	size_t s = ls + 2;
	const uint8_t *lf = memchr(p + s, '\n', c->len - s);
	size_t le = lf ? (size_t)(lf - p) : c->len, n = le - s;
	bool dashes = false;
	if (lf) {
		if (n > 0 && p[s + n - 1] == '\r')
			n--;
		dashes = n > 2 && p[s + n - 1] == '-' && p[s + n - 2] == '-';
	}
	const struct bnd *best = NULL;
	for (const struct bnd *b = open; b; b = b->outer) {
		if (b->len > n || (best && b->len <= best->len) || memcmp(b->s, p + s, b->len) != 0)
			continue;
		best = b;
		if (b->len == n || (dashes && b->len == n - 2))
			break;
	}
	if (!best)
		return false;
	d->b = best;
	d->line = ls;
	d->next = lf ? le + 1 : c->len;
	d->close =
	    le - s >= best->len + 2 && p[s + best->len] == '-' && p[s + best->len + 1] == '-';
	return true;
}

/* The first delimiter line of open at or after the line start pos, or the end. memmem
 * jumps over the lines that cannot be one, so the scan is linear in what it passes. */
static void find_delim(const struct pctx *c, const struct bnd *open, size_t pos, struct delim *d)
{
	for (size_t ls = pos; open && ls < c->len;) {
		if (delim_at(c, open, ls, d))
			return;
		const uint8_t *h = memmem(c->p + ls, c->len - ls, "\n--", 3);
		if (!h)
			break;
		ls = (size_t)(h - c->p) + 1;
	}
	d->b = NULL;
	d->line = d->next = c->len;
	d->close = false;
}

/* Where the parts that d ends stop, set into d->end: at the end of the message, or
 * before the line end that precedes the delimiter line (RFC 2046 5.1.1: "the CRLF
 * preceding the boundary delimiter line is conceptually attached to the boundary"), but
 * never before floor, the start of what is being read: a line end before it is not the
 * part's own (a header's empty line, the line end of a previous delimiter line). */
static void delim_end(const struct pctx *c, struct delim *d, size_t floor)
{
	size_t e = d->line;
	if (d->b && e > floor && c->p[e - 1] == '\n' && --e > floor && c->p[e - 1] == '\r')
		e--;
	d->end = e;
}

/* ---- parts ---- */

static int parse_part(struct pctx *c, struct mime_part *pt, size_t start, const struct bnd *open,
                      bool is_msg, bool digest_child, struct delim *d);

/* The one part of a multipart without parts: text/plain over its whole body. */
static int add_synthetic(struct pctx *c, struct mime_part *pt)
{
	struct mime_part *ch;
	int r = new_part(c, pt, &ch);
	if (r < 0 || !ch)
		return r;
	ch->flags |= MIME_PART_SYNTHETIC;
	ch->header_start = ch->body_start = pt->body_start;
	ch->end = pt->end;
	ch->body_lines = count_lines(c->p, ch->body_start, ch->end);
	pt->children = ch;
	pt->nchildren = 1;
	return set_default_type(c, ch, false);
}

/* The boundary of multipart pt on top of outer; len 0 when it has none. An empty
 * boundary (RFC 2046 5.1.1 requires 1 to 70 characters) opens nothing. */
static struct bnd boundary_of(const struct mime_part *pt, const struct bnd *outer)
{
	const struct mime_param *bp = pt->params;
	while (bp && strcmp(bp->name, "boundary") != 0)
		bp = bp->next;
	struct bnd own = {outer, bp ? (const uint8_t *)bp->value.s : NULL, bp ? bp->value.len : 0};
	return own;
}

/* The body of multipart pt: its boundary joins the open ones, each delimiter line of its
 * own starts a part, its close delimiter starts the epilogue, and a delimiter of an outer
 * boundary (or the end) ends it. Sets pt->end and *d to what ended it. */
static int split_multipart(struct pctx *c, struct mime_part *pt, const struct bnd *outer,
                           struct delim *d)
{
	struct bnd own = boundary_of(pt, outer);
	const struct bnd *open = own.len ? &own : outer;
	struct mime_part **tail = &pt->children;
	size_t floor = pt->body_start;
	bool stop = false, closed = false, opened = false;
	int r;
	find_delim(c, open, pt->body_start, d);
	delim_end(c, d, floor);
	while (d->b == &own && !closed) {
		if (d->close) {
			/* the epilogue: only the outer boundaries are open in it */
			closed = true;
			open = outer;
			floor = d->line;
			find_delim(c, open, d->next, d);
			delim_end(c, d, floor);
			break;
		}
		opened = true;
		struct mime_part *ch = NULL;
		if (!stop && (r = new_part(c, pt, &ch)) < 0)
			return r;
		if (!ch) {
			/* LIMIT_MIME_PARTS: the rest up to what ends pt stays in its body */
			stop = true;
			floor = d->line;
			find_delim(c, open, d->next, d);
			delim_end(c, d, floor);
			continue;
		}
		*tail = ch;
		tail = &ch->next;
		pt->nchildren++;
		if ((r = parse_part(c, ch, d->next, open, false, strcmp(pt->subtype, "digest") == 0,
		                    d)) < 0)
			return r;
	}
	pt->end = d->end;
	if (opened && !closed && !stop)
		pt->flags |= MIME_PART_UNTERMINATED;
	if (pt->nchildren || (pt->flags & MIME_PART_TRUNCATED))
		return 0;
	/* No delimiter at all: one synthetic text/plain part holds the whole body. */
	return add_synthetic(c, pt);
}

static bool identity_encoding(const struct mime_str *e)
{
	return !e->s || str_ieq(e->s, e->len, "7bit") || str_ieq(e->s, e->len, "8bit") ||
	       str_ieq(e->s, e->len, "binary");
}

enum body_kind { BODY_LEAF, BODY_MULTI, BODY_MSG };

/* How pt's body is read: split (multipart), descended into (message/rfc822 or
 * message/global with an identity encoding), or opaque, also past LIMIT_MIME_DEPTH
 * (flagged MIME_PART_TRUNCATED). Call once per part. */
static enum body_kind body_kind(struct mime_part *pt)
{
	bool multi = strcmp(pt->type, "multipart") == 0;
	bool msg = strcmp(pt->type, "message") == 0 &&
	           (strcmp(pt->subtype, "rfc822") == 0 || strcmp(pt->subtype, "global") == 0) &&
	           identity_encoding(&pt->encoding);
	if (!multi && !msg)
		return BODY_LEAF;
	if (pt->depth >= LIMIT_MIME_DEPTH) {
		pt->flags |= MIME_PART_TRUNCATED;
		return BODY_LEAF;
	}
	return multi ? BODY_MULTI : BODY_MSG;
}

/* The body of pt from pt->body_start: split, descended into, or read up to the next
 * delimiter of an open boundary; sets pt->end and *d. With empty, the header was ended
 * by the delimiter *d and pt->end is set: the body is empty (a multipart then has its
 * synthetic part, a message/rfc822 an empty message, as for any empty body). */
static int parse_body(struct pctx *c, struct mime_part *pt, enum body_kind k,
                      const struct bnd *open, struct delim *d, bool empty)
{
	if (k == BODY_MULTI)
		return empty ? add_synthetic(c, pt) : split_multipart(c, pt, open, d);
	struct mime_part *m = NULL;
	int r;
	if (k == BODY_MSG && (r = new_part(c, pt, &m)) < 0)
		return r;
	if (m && empty) {
		pt->message = m;
		m->header_start = m->body_start = m->end = pt->end;
		if (!(m->envelope = arena_zalloc(c->a, sizeof(*m->envelope))))
			return ERR_NOMEM;
		return set_default_type(c, m, false);
	}
	if (empty)
		return 0;
	if (m) {
		/* the encapsulated message ends where the part does: at a delimiter of an
		 * enclosing multipart (unless its own multiparts hide it), or at the end */
		pt->message = m;
		if ((r = parse_part(c, m, pt->body_start, open, true, false, d)) < 0)
			return r;
	} else {
		find_delim(c, open, pt->body_start, d);
		delim_end(c, d, pt->body_start);
	}
	pt->end = d->end;
	pt->body_lines = count_lines(c->p, pt->body_start, pt->end);
	return 0;
}

/* The part whose header starts at start (a line start). A delimiter line of an open
 * boundary also ends the header, as in Dovecot, whether it comes before the empty line
 * or right after it: the part then has an empty body, and the line end before the
 * delimiter line (the last field's, or the empty line) belongs to the delimiter
 * (RFC 2046 5.1.1). Right after the empty line a multipart's own boundary is open too,
 * so that its first delimiter is not taken for an outer one that it begins with.
 * Sets *d to what ended the part. */
static int parse_part(struct pctx *c, struct mime_part *pt, size_t start, const struct bnd *open,
                      bool is_msg, bool digest_child, struct delim *d)
{
	struct mime_envelope *env = NULL;
	if (is_msg && !(env = pt->envelope = arena_zalloc(c->a, sizeof(*env))))
		return ERR_NOMEM;
	struct mime_header_iter it;
	struct mime_field f;
	unsigned seen = 0;
	bool cut = false;
	int r;
	mime_header_init(&it, start);
	while (!(cut = delim_at(c, open, it.off, d)) &&
	       mime_header_next(&it, c->p, c->len, true, &f) == MIME_HDR_FIELD)
		if (!f.bad && (r = take_field(c, pt, env, &seen, &f)) < 0)
			return r;
	pt->nfields = it.nfields;
	if (it.limited)
		pt->flags |= MIME_PART_HEADER_LIMIT;
	pt->header_start = start;
	if (!pt->type && (r = set_default_type(c, pt, digest_child)) < 0)
		return r;
	enum body_kind k = body_kind(pt);
	if (!cut) {
		struct bnd own =
		    k == BODY_MULTI ? boundary_of(pt, open) : (struct bnd){open, NULL, 0};
		cut = delim_at(c, own.len ? &own : open, it.off, d) && d->b != &own;
	}
	pt->body_start = it.off;
	if (cut) {
		delim_end(c, d, start);
		pt->body_start = pt->end = d->end;
	}
	return parse_body(c, pt, k, open, d, cut);
}

int mime_parse(const uint8_t *p, size_t len, struct arena *a, struct mime_part **root_out)
{
	struct pctx c = {p, len, a, 0};
	struct mime_part *root;
	struct delim d;
	int r = new_part(&c, NULL, &root);
	if (r < 0)
		return r;
	if ((r = parse_part(&c, root, 0, NULL, true, false, &d)) < 0)
		return r;
	*root_out = root;
	return 0;
}

int mime_index(const uint8_t *p, size_t len, struct arena *a, void **blob_out, size_t *len_out)
{
	struct mime_part *root;
	int r = mime_parse(p, len, a, &root);
	if (r < 0)
		return r;
	return mime_serialize(root, a, blob_out, len_out);
}
