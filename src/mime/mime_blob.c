/* mime_blob.c: the tree as a compact blob for the index, and back.
 * Layout: "KMB", the MIME_BLOB_VERSION byte, then the root part. Numbers are LEB128
 * varints (minimal encoding only), strings are varint(len + 1) + bytes with 0 for NIL,
 * booleans one byte 0/1, lists a varint count then their elements. A part is:
 *   flags nfields header_start header_len body_len body_lines type subtype params
 *   id description encoding md5 location disposition disp_params languages
 *   has_envelope [envelope] has_message [part] nchildren [part...]
 * envelope: date subject in_reply_to message_id, then from sender reply_to to cc bcc as
 * lists of (kind name adl mailbox host). The decoder accepts exactly what the encoder
 * writes: every length, count, offset, depth and total is checked, and a blob that
 * decodes re-encodes to the same bytes. */
#include "mime_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/banned.h"

static const uint8_t magic[4] = {'K', 'M', 'B', MIME_BLOB_VERSION};

/* ---- writing ---- */

static void put_u64(struct mime_sb *sb, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	mime_sb_put(sb, b, n);
}

static void put_str(struct mime_sb *sb, const char *s, size_t len)
{
	if (!s) {
		put_u64(sb, 0);
		return;
	}
	put_u64(sb, (uint64_t)len + 1);
	mime_sb_put(sb, s, len);
}

static void put_mstr(struct mime_sb *sb, const struct mime_str *s)
{
	put_str(sb, s->s, s->len);
}

static void put_params(struct mime_sb *sb, const struct mime_param *p)
{
	uint64_t n = 0;
	for (const struct mime_param *q = p; q; q = q->next)
		n++;
	put_u64(sb, n);
	for (; p; p = p->next) {
		put_str(sb, p->name, strlen(p->name));
		put_mstr(sb, &p->value);
		mime_sb_putc(sb, p->extended);
	}
}

static void put_addrs(struct mime_sb *sb, const struct mime_addr *a)
{
	uint64_t n = 0;
	for (const struct mime_addr *q = a; q; q = q->next)
		n++;
	put_u64(sb, n);
	for (; a; a = a->next) {
		mime_sb_putc(sb, (uint8_t)a->kind);
		put_mstr(sb, &a->name);
		put_mstr(sb, &a->adl);
		put_mstr(sb, &a->mailbox);
		put_mstr(sb, &a->host);
	}
}

static void put_envelope(struct mime_sb *sb, const struct mime_envelope *e)
{
	put_mstr(sb, &e->date);
	put_mstr(sb, &e->subject);
	put_mstr(sb, &e->in_reply_to);
	put_mstr(sb, &e->message_id);
	put_addrs(sb, e->from);
	put_addrs(sb, e->sender);
	put_addrs(sb, e->reply_to);
	put_addrs(sb, e->to);
	put_addrs(sb, e->cc);
	put_addrs(sb, e->bcc);
}

static void put_part(struct mime_sb *sb, const struct mime_part *pt)
{
	put_u64(sb, pt->flags);
	put_u64(sb, pt->nfields);
	put_u64(sb, pt->header_start);
	put_u64(sb, pt->body_start - pt->header_start);
	put_u64(sb, pt->end - pt->body_start);
	put_u64(sb, pt->body_lines);
	put_str(sb, pt->type, strlen(pt->type));
	put_str(sb, pt->subtype, strlen(pt->subtype));
	put_params(sb, pt->params);
	put_mstr(sb, &pt->id);
	put_mstr(sb, &pt->description);
	put_mstr(sb, &pt->encoding);
	put_mstr(sb, &pt->md5);
	put_mstr(sb, &pt->location);
	put_str(sb, pt->disposition, pt->disposition ? strlen(pt->disposition) : 0);
	put_params(sb, pt->disp_params);
	put_u64(sb, pt->nlanguages);
	for (unsigned i = 0; i < pt->nlanguages; i++)
		put_mstr(sb, &pt->languages[i]);
	mime_sb_putc(sb, pt->envelope != NULL);
	if (pt->envelope)
		put_envelope(sb, pt->envelope);
	mime_sb_putc(sb, pt->message != NULL);
	if (pt->message)
		put_part(sb, pt->message);
	put_u64(sb, pt->nchildren);
	for (const struct mime_part *ch = pt->children; ch; ch = ch->next)
		put_part(sb, ch);
}

int mime_serialize(const struct mime_part *root, struct arena *a, void **blob_out, size_t *len_out)
{
	struct mime_sb sb;
	mime_sb_init(&sb, a, SIZE_MAX - 1);
	mime_sb_put(&sb, magic, sizeof(magic));
	put_part(&sb, root);
	if (sb.nomem)
		return ERR_NOMEM;
	*blob_out = sb.p;
	*len_out = sb.len;
	return 0;
}

/* ---- reading ---- */

struct rd {
	const uint8_t *p;
	size_t n, i;
	struct arena *a;
	unsigned nparts;
	int err; /* sticky: the first failure */
};

static void fail(struct rd *r, int e)
{
	if (!r->err)
		r->err = e;
}

static uint64_t get_u64(struct rd *r, uint64_t max)
{
	uint64_t v = 0;
	for (unsigned shift = 0; !r->err; shift += 7) {
		if (r->i >= r->n || shift > 63) {
			fail(r, ERR_BAD_SYNTAX);
			break;
		}
		uint8_t b = r->p[r->i++];
		uint64_t bits = (uint64_t)(b & 0x7f);
		/* No bits past 64, and no trailing zero groups (minimal encoding). */
		if ((shift == 63 && bits > 1) || (shift && !(b & 0x80) && bits == 0)) {
			fail(r, ERR_BAD_SYNTAX);
			break;
		}
		v |= bits << shift;
		if (!(b & 0x80))
			break;
	}
	if (r->err)
		return 0;
	if (v > max) {
		fail(r, ERR_BAD_SYNTAX);
		return 0;
	}
	return v;
}

static bool get_bool(struct rd *r)
{
	if (r->err)
		return false;
	if (r->i >= r->n || r->p[r->i] > 1) {
		fail(r, ERR_BAD_SYNTAX);
		return false;
	}
	return r->p[r->i++] == 1;
}

static void get_str(struct rd *r, struct mime_str *out, bool nil_ok)
{
	out->s = NULL;
	out->len = 0;
	uint64_t l = get_u64(r, (uint64_t)MIME_VALUE_MAX + 1);
	if (r->err)
		return;
	if (l == 0) {
		if (!nil_ok)
			fail(r, ERR_BAD_SYNTAX);
		return;
	}
	l--;
	if (l > r->n - r->i) {
		fail(r, ERR_BAD_SYNTAX);
		return;
	}
	if (!(out->s = arena_strndup(r->a, r->p + r->i, (size_t)l))) {
		fail(r, ERR_NOMEM);
		return;
	}
	out->len = (size_t)l;
	r->i += (size_t)l;
}

/* A C string field (type, names): never NIL, no NUL inside. */
static char *get_cstr(struct rd *r, bool nil_ok)
{
	struct mime_str s;
	get_str(r, &s, nil_ok);
	if (s.s && memchr(s.s, '\0', s.len))
		fail(r, ERR_BAD_SYNTAX);
	return r->err ? NULL : s.s;
}

static void *get_zalloc(struct rd *r, size_t n)
{
	void *p = r->err ? NULL : arena_zalloc(r->a, n);
	if (!p)
		fail(r, ERR_NOMEM);
	return p;
}

static struct mime_param *get_params(struct rd *r)
{
	struct mime_param *head = NULL, **tail = &head;
	uint64_t n = get_u64(r, MIME_PARAMS_MAX);
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct mime_param *p = get_zalloc(r, sizeof(*p));
		if (!p)
			break;
		p->name = get_cstr(r, false);
		get_str(r, &p->value, false);
		p->extended = get_bool(r);
		*tail = p;
		tail = &p->next;
	}
	return head;
}

static struct mime_addr *get_addrs(struct rd *r)
{
	struct mime_addr *head = NULL, **tail = &head;
	uint64_t n = get_u64(r, MIME_ADDRS_MAX + 1);
	for (uint64_t i = 0; i < n && !r->err; i++) {
		struct mime_addr *a = get_zalloc(r, sizeof(*a));
		if (!a)
			break;
		a->kind = (enum mime_addr_kind)get_u64(r, MIME_ADDR_GROUP_END);
		get_str(r, &a->name, true);
		get_str(r, &a->adl, true);
		get_str(r, &a->mailbox, true);
		get_str(r, &a->host, true);
		*tail = a;
		tail = &a->next;
	}
	return head;
}

static void get_envelope(struct rd *r, struct mime_envelope *e)
{
	get_str(r, &e->date, true);
	get_str(r, &e->subject, true);
	get_str(r, &e->in_reply_to, true);
	get_str(r, &e->message_id, true);
	e->from = get_addrs(r);
	e->sender = get_addrs(r);
	e->reply_to = get_addrs(r);
	e->to = get_addrs(r);
	e->cc = get_addrs(r);
	e->bcc = get_addrs(r);
}

/* One part whose offsets must lie within [lo, hi]. */
static struct mime_part *get_part(struct rd *r, struct mime_part *parent, uint64_t lo, uint64_t hi)
{
	if (r->err)
		return NULL;
	unsigned depth = parent ? parent->depth + 1 : 0;
	if (depth > LIMIT_MIME_DEPTH || r->nparts >= LIMIT_MIME_PARTS) {
		fail(r, ERR_BAD_SYNTAX);
		return NULL;
	}
	struct mime_part *pt = get_zalloc(r, sizeof(*pt));
	if (!pt)
		return NULL;
	r->nparts++;
	pt->parent = parent;
	pt->depth = depth;
	pt->flags = (unsigned)get_u64(r, UINT32_MAX);
	pt->nfields = (unsigned)get_u64(r, LIMIT_HEADER_FIELDS);
	pt->header_start = get_u64(r, hi);
	pt->body_start = pt->header_start + get_u64(r, hi - pt->header_start);
	pt->end = pt->body_start + get_u64(r, hi - pt->body_start);
	if (pt->header_start < lo)
		fail(r, ERR_BAD_SYNTAX);
	pt->body_lines = get_u64(r, pt->end - pt->body_start);
	pt->type = get_cstr(r, false);
	pt->subtype = get_cstr(r, false);
	pt->params = get_params(r);
	get_str(r, &pt->id, true);
	get_str(r, &pt->description, true);
	get_str(r, &pt->encoding, true);
	get_str(r, &pt->md5, true);
	get_str(r, &pt->location, true);
	pt->disposition = get_cstr(r, true);
	pt->disp_params = get_params(r);
	pt->nlanguages = (unsigned)get_u64(r, MIME_PARAMS_MAX);
	if (pt->nlanguages && !r->err) {
		pt->languages = get_zalloc(r, pt->nlanguages * sizeof(*pt->languages));
		for (unsigned i = 0; i < pt->nlanguages && !r->err; i++)
			get_str(r, &pt->languages[i], false);
	}
	if (get_bool(r) && (pt->envelope = get_zalloc(r, sizeof(*pt->envelope))))
		get_envelope(r, pt->envelope);
	if (get_bool(r))
		pt->message = get_part(r, pt, pt->body_start, pt->end);
	pt->nchildren = (unsigned)get_u64(r, LIMIT_MIME_PARTS);
	struct mime_part **tail = &pt->children;
	/* Parts follow each other in the message: each starts after its sibling ends. */
	uint64_t lo_child = pt->body_start;
	for (unsigned i = 0; i < pt->nchildren && !r->err; i++) {
		*tail = get_part(r, pt, lo_child, pt->end);
		if (*tail) {
			lo_child = (*tail)->end;
			tail = &(*tail)->next;
		}
	}
	return r->err ? NULL : pt;
}

int mime_deserialize(const void *blob, size_t len, struct arena *a, struct mime_part **root_out)
{
	struct rd r = {blob, len, 0, a, 0, 0};
	if (len < sizeof(magic) || memcmp(blob, magic, sizeof(magic)) != 0)
		return ERR_BAD_SYNTAX;
	r.i = sizeof(magic);
	struct mime_part *root = get_part(&r, NULL, 0, UINT64_MAX);
	if (!r.err && r.i != r.n)
		fail(&r, ERR_BAD_SYNTAX);
	if (r.err)
		return r.err;
	*root_out = root;
	return 0;
}
