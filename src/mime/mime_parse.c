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

/* A plain byte loop: compilers vectorize it, and it runs once per level of nesting. */
static uint64_t count_lines(const uint8_t *p, size_t s, size_t e)
{
	uint64_t n = 0;
	for (size_t i = s; i < e; i++)
		n += p[i] == '\n';
	return n + (e > s && p[e - 1] != '\n'); /* a last line without LF */
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

static int parse_part(struct pctx *c, struct mime_part *pt, size_t start, size_t end, bool is_msg,
                      bool digest_child);

/* 1: "--b" + padding, 2: "--b--", 0: not a delimiter line. line excludes the LF. */
static int delim_kind(const uint8_t *l, size_t n, const char *b, size_t bl)
{
	if (n < 2 + bl || l[0] != '-' || l[1] != '-' || memcmp(l + 2, b, bl) != 0)
		return 0;
	size_t i = 2 + bl;
	if (n - i >= 2 && l[i] == '-' && l[i + 1] == '-')
		return 2;
	for (; i < n; i++)
		if (!mime_wsp(l[i]) && l[i] != '\r')
			return 0;
	return 1;
}

static int add_child(struct pctx *c, struct mime_part *pt, struct mime_part ***tail, size_t s,
                     size_t e, bool *stop)
{
	struct mime_part *ch;
	int r = new_part(c, pt, &ch);
	if (r < 0)
		return r;
	if (!ch) {
		*stop = true; /* the rest stays in the parent's body, as epilogue */
		return 0;
	}
	**tail = ch;
	*tail = &ch->next;
	pt->nchildren++;
	return parse_part(c, ch, s, e, false, strcmp(pt->subtype, "digest") == 0);
}

/* The next line start in [pos, be) that begins with "--boundary", or be. pos is a line
 * start; needle is "\n--boundary", so memmem skips the lines between. */
static size_t next_candidate(const uint8_t *p, size_t bs, size_t pos, size_t be,
                             const uint8_t *needle, size_t nl)
{
	if (pos == bs) {
		if (be - bs >= nl - 1 && memcmp(p + bs, needle + 1, nl - 1) == 0)
			return bs;
		if (be - bs < nl)
			return be;
		const uint8_t *h = memmem(p + bs, be - bs, needle, nl);
		return h ? (size_t)(h - p) + 1 : be;
	}
	const uint8_t *h = memmem(p + pos - 1, be - pos + 1, needle, nl);
	return h ? (size_t)(h - p) + 1 : be;
}

static int split_multipart(struct pctx *c, struct mime_part *pt)
{
	const struct mime_param *bp = pt->params;
	while (bp && strcmp(bp->name, "boundary") != 0)
		bp = bp->next;
	size_t bs = pt->body_start, be = pt->end, child = SIZE_MAX, pos = bs;
	struct mime_part **tail = &pt->children;
	bool stop = false, closed = false;
	uint8_t *needle = NULL;
	size_t nl = 0;
	int r;
	if (bp && bp->value.len) {
		nl = bp->value.len + 3;
		if (!(needle = arena_alloc(c->a, nl)))
			return ERR_NOMEM;
		memcpy(needle, "\n--", 3);
		memcpy(needle + 3, bp->value.s, bp->value.len);
	}
	while (needle && pos < be && !stop) {
		size_t ls = next_candidate(c->p, bs, pos, be, needle, nl);
		if (ls >= be)
			break;
		const uint8_t *lf = memchr(c->p + ls, '\n', be - ls);
		size_t le = lf ? (size_t)(lf - c->p) : be, next = lf ? le + 1 : be;
		int k = delim_kind(c->p + ls, le - ls, bp->value.s, bp->value.len);
		if (k) {
			/* The line end before the delimiter belongs to the delimiter. */
			size_t ds = ls;
			if (ds > bs && c->p[ds - 1] == '\n' && --ds > bs && c->p[ds - 1] == '\r')
				ds--;
			if (child != SIZE_MAX &&
			    (r = add_child(c, pt, &tail, child, ds > child ? ds : child, &stop)) <
			        0)
				return r;
			if (k == 2) {
				closed = true;
				break;
			}
			child = next;
		}
		pos = next;
	}
	if (!closed && !stop && child != SIZE_MAX) {
		pt->flags |= MIME_PART_UNTERMINATED;
		if ((r = add_child(c, pt, &tail, child, be, &stop)) < 0)
			return r;
	}
	if (pt->nchildren || (pt->flags & MIME_PART_TRUNCATED))
		return 0;
	/* No delimiter at all: one synthetic text/plain part holds the whole body. */
	struct mime_part *ch;
	if ((r = new_part(c, pt, &ch)) < 0 || !ch)
		return r;
	ch->flags |= MIME_PART_SYNTHETIC;
	ch->header_start = ch->body_start = bs;
	ch->end = be;
	ch->body_lines = count_lines(c->p, bs, be);
	pt->children = ch;
	pt->nchildren = 1;
	return set_default_type(c, ch, false);
}

static bool identity_encoding(const struct mime_str *e)
{
	return !e->s || str_ieq(e->s, e->len, "7bit") || str_ieq(e->s, e->len, "8bit") ||
	       str_ieq(e->s, e->len, "binary");
}

static int descend(struct pctx *c, struct mime_part *pt)
{
	bool multi = strcmp(pt->type, "multipart") == 0;
	bool msg = strcmp(pt->type, "message") == 0 &&
	           (strcmp(pt->subtype, "rfc822") == 0 || strcmp(pt->subtype, "global") == 0) &&
	           identity_encoding(&pt->encoding);
	if (!multi && !msg)
		return 0;
	if (pt->depth >= LIMIT_MIME_DEPTH) {
		pt->flags |= MIME_PART_TRUNCATED;
		return 0;
	}
	if (multi)
		return split_multipart(c, pt);
	struct mime_part *m;
	int r = new_part(c, pt, &m);
	if (r < 0 || !m)
		return r;
	pt->message = m;
	return parse_part(c, m, pt->body_start, pt->end, true, false);
}

static int parse_part(struct pctx *c, struct mime_part *pt, size_t start, size_t end, bool is_msg,
                      bool digest_child)
{
	struct mime_envelope *env = NULL;
	if (is_msg && !(env = pt->envelope = arena_zalloc(c->a, sizeof(*env))))
		return ERR_NOMEM;
	struct mime_header_iter it;
	struct mime_field f;
	unsigned seen = 0;
	int r;
	mime_header_init(&it, start);
	while (mime_header_next(&it, c->p, end, true, &f) == MIME_HDR_FIELD)
		if (!f.bad && (r = take_field(c, pt, env, &seen, &f)) < 0)
			return r;
	pt->nfields = it.nfields;
	if (it.limited)
		pt->flags |= MIME_PART_HEADER_LIMIT;
	pt->header_start = start;
	pt->body_start = it.off;
	pt->end = end;
	if (!pt->type && (r = set_default_type(c, pt, digest_child)) < 0)
		return r;
	if (strcmp(pt->type, "multipart") != 0)
		pt->body_lines = count_lines(c->p, it.off, end);
	return descend(c, pt);
}

int mime_parse(const uint8_t *p, size_t len, struct arena *a, struct mime_part **root_out)
{
	struct pctx c = {p, len, a, 0};
	struct mime_part *root;
	int r = new_part(&c, NULL, &root);
	if (r < 0)
		return r;
	if ((r = parse_part(&c, root, 0, len, true, false)) < 0)
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
