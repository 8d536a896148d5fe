/* jmap_email_body.c: the body properties of an Email (RFC 8621 4.1.4): bodyStructure,
 * textBody, htmlBody, attachments (the algorithm of 4.1.4 exactly, multipart/
 * alternative and inline media included), bodyValues (4.1.4, with the arguments of
 * 4.2) and hasAttachment, from the message's MIME tree.
 *
 * partId is the IMAP section number of a part (contract C1 in jmap.h): so a client can
 * ask IMAP BINARY[partId] and the part blob "G<EMAILID>.<partId>" for the same bytes.
 * Multiparts have no partId and no blob (null); message/rfc822 parts are leaves here
 * (4.1.4: the structure does not recurse into them).
 *
 * Bounds: one body value is decoded up to LIMIT_JMAP_BODY_VALUE bytes (isTruncated
 * past it, as past maxBodyValueBytes); the tree has the mime module's bounds. Reads
 * only the byte ranges a property needs (decoded sizes of encoded parts, values, part
 * headers when asked for). */
#include "http/jmap_email_get_int.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap_hform.h"
#include "mime/mime.h"

/* The default bodyProperties (RFC 8621 4.2). */
static const char *const default_body_props[] = {
	"partId", "blobId", "size", "name", "type", "charset", "disposition", "cid",
	"language", "location", NULL};
static const char *const known_body_props[] = {
	"partId", "blobId", "size", "headers", "name", "type", "charset", "disposition",
	"cid", "language", "location", "subParts", NULL};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (strcmp(*l, s) == 0)
			return true;
	return false;
}

static int bad(struct jmap_ctx *x, const char *what)
{
	return jmap_method_error(x, "invalidArguments", what);
}

int jmap_body_args_parse(struct jmap_ctx *x, json_t *args, struct jmap_body_args *out)
{
	memset(out, 0, sizeof *out);
	out->props = (const char **)default_body_props;
	json_t *bp = json_object_get(args, "bodyProperties");
	if (bp && !json_is_null(bp)) {
		if (!json_is_array(bp) || json_array_size(bp) > 64)
			return bad(x, "bodyProperties: not an array of at most 64 names");
		size_t n = json_array_size(bp);
		const char **l = arena_alloc(x->a, (n + 1) * sizeof *l);
		if (!l)
			return jmap_method_error(x, "serverFail", NULL);
		for (size_t i = 0; i < n; i++) {
			const char *s = json_string_value(json_array_get(bp, i));
			struct jmap_hprop h;
			if (!s || (!in_list(known_body_props, s) && jmap_hform_prop(s, &h) != 0))
				return bad(x, arena_printf(x->a, "bodyProperties: unknown property %.100s",
							   s ? s : "(not a string)"));
			l[i] = s;
		}
		l[n] = NULL;
		out->props = l;
	}
	static const char *const flags[] = {"fetchTextBodyValues", "fetchHTMLBodyValues",
					    "fetchAllBodyValues"};
	bool *dst[] = {&out->fetch_text, &out->fetch_html, &out->fetch_all};
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(args, flags[i]);
		if (v && !json_is_null(v) && !json_is_boolean(v))
			return bad(x, arena_printf(x->a, "%s: not a boolean", flags[i]));
		*dst[i] = json_is_true(v);
	}
	json_t *mx = json_object_get(args, "maxBodyValueBytes");
	if (mx && !json_is_null(mx)) {
		/* RFC 8621 4.2: an UnsignedInt > 0 when given */
		if (!json_is_integer(mx) || json_integer_value(mx) <= 0 ||
		    json_integer_value(mx) > 9007199254740991LL)
			return bad(x, "maxBodyValueBytes: not a positive UnsignedInt");
		out->max_bytes = (uint64_t)json_integer_value(mx);
	}
	return 0;
}

/* ---- the tree with section numbers ---- */

struct bpart {
	struct mime_part *p;
	const char *section;  /* IMAP section number (also of a multipart, for its parts) */
	const char *type;     /* "type/subtype" */
	const char *name;     /* decoded file name, NULL if none */
	struct bpart *children;
	size_t n_children;
};

/* The file name: Content-Disposition filename, else Content-Type name (RFC 2231
 * decoded by the parser; RFC 2047 words in a quoted value, as real mail has them). */
static int part_name(struct arena *a, const struct mime_part *p, const char **out)
{
	const struct mime_param *lists[] = {p->disp_params, p->params};
	const char *keys[] = {"filename", "name"};
	*out = NULL;
	for (size_t i = 0; i < 2; i++)
		for (const struct mime_param *q = lists[i]; q; q = q->next)
			if (strcmp(q->name, keys[i]) == 0 && q->value.s) {
				struct mime_str d;
				if (mime_decode_words((const uint8_t *)q->value.s, q->value.len, a, &d) < 0)
					return ERR_NOMEM;
				*out = d.s;
				return 0;
			}
	return 0;
}

static int build(struct arena *a, struct mime_part *p, const char *section, struct bpart *out)
{
	out->p = p;
	out->section = section;
	out->type = arena_printf(a, "%s/%s", p->type ? p->type : "text",
				 p->subtype ? p->subtype : "plain");
	out->children = NULL;
	out->n_children = 0;
	if (!out->type || part_name(a, p, &out->name) < 0)
		return ERR_NOMEM;
	if (!jmap_part_is_multipart(p))
		return 0;
	size_t n = 0;
	for (struct mime_part *c = p->children; c; c = c->next)
		n++;
	out->children = arena_zalloc(a, (n ? n : 1) * sizeof *out->children);
	if (!out->children)
		return ERR_NOMEM;
	size_t k = 0;
	for (struct mime_part *c = p->children; c; c = c->next, k++) {
		const char *s = section ? arena_printf(a, "%s.%zu", section, k + 1)
					: arena_printf(a, "%zu", k + 1);
		if (!s || build(a, c, s, &out->children[k]) < 0)
			return ERR_NOMEM;
	}
	out->n_children = n;
	return 0;
}

/* ---- RFC 8621 4.1.4: textBody, htmlBody, attachments ---- */

struct plist {
	struct bpart **v;
	size_t n, cap;
};

static int plist_push(struct arena *a, struct plist *l, struct bpart *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct bpart **v = arena_alloc(a, cap * sizeof *v);
		if (!v)
			return ERR_NOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

static bool inline_media(const char *type)
{
	return strncmp(type, "image/", 6) == 0 || strncmp(type, "audio/", 6) == 0 ||
	       strncmp(type, "video/", 6) == 0;
}

/* parseStructure of RFC 8621 4.1.4, step for step. html/text NULL stand for the
 * spec's null lists (the other alternative was chosen). */
static int parse_structure(struct arena *a, struct bpart *parts, size_t n, const char *mtype,
			   bool in_alt, struct plist *html, struct plist *text, struct plist *att)
{
	size_t text_len = text ? text->n : (size_t)-1, html_len = html ? html->n : (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		struct bpart *part = &parts[i];
		bool multi = jmap_part_is_multipart(part->p);
		const char *disp = part->p->disposition;
		bool is_inline = !(disp && strcmp(disp, "attachment") == 0) &&
				 (strcmp(part->type, "text/plain") == 0 ||
				  strcmp(part->type, "text/html") == 0 || inline_media(part->type)) &&
				 (i == 0 || (strcmp(mtype, "related") != 0 &&
					     (inline_media(part->type) || !part->name)));
		int rc = 0;
		if (multi) {
			const char *sub = part->p->subtype ? part->p->subtype : "";
			rc = parse_structure(a, part->children, part->n_children, sub,
					     in_alt || strcmp(sub, "alternative") == 0, html, text, att);
		} else if (is_inline) {
			if (strcmp(mtype, "alternative") == 0) {
				/* a list an enclosing alternative already set to null (the
				 * other alternative was chosen) takes nothing: the RFC's
				 * code would push onto null here */
				if (strcmp(part->type, "text/plain") == 0)
					rc = text ? plist_push(a, text, part) : 0;
				else if (strcmp(part->type, "text/html") == 0)
					rc = html ? plist_push(a, html, part) : 0;
				else
					rc = plist_push(a, att, part);
				if (rc < 0)
					return rc;
				continue;
			} else if (in_alt) {
				if (strcmp(part->type, "text/plain") == 0)
					html = NULL;
				if (strcmp(part->type, "text/html") == 0)
					text = NULL;
			}
			if (text && (rc = plist_push(a, text, part)) < 0)
				return rc;
			if (html && (rc = plist_push(a, html, part)) < 0)
				return rc;
			if ((!text || !html) && inline_media(part->type))
				rc = plist_push(a, att, part);
		} else {
			rc = plist_push(a, att, part);
		}
		if (rc < 0)
			return rc;
	}
	if (strcmp(mtype, "alternative") == 0 && text && html) {
		if (text_len == text->n && html_len != html->n) /* found an HTML part only */
			for (size_t i = html_len; i < html->n; i++)
				if (plist_push(a, text, html->v[i]) < 0)
					return ERR_NOMEM;
		if (html_len == html->n && text_len != text->n) /* a plain-text part only */
			for (size_t i = text_len; i < text->n; i++)
				if (plist_push(a, html, text->v[i]) < 0)
					return ERR_NOMEM;
	}
	return 0;
}

/* ---- EmailBodyPart objects ---- */

static json_t *str_or_null(const struct mime_str *s, struct arena *a)
{
	return s->s ? jmap_hform_utf8((const uint8_t *)s->s, s->len, a) : json_null();
}

static const char *param(const struct mime_param *l, const char *name)
{
	for (; l; l = l->next)
		if (strcmp(l->name, name) == 0)
			return l->value.s;
	return NULL;
}

/* Content-ID without its angle brackets (4.1.4 cid). */
static json_t *cid(const struct mime_part *p, struct arena *a)
{
	if (!p->id.s)
		return json_null();
	const char *s = p->id.s;
	size_t n = p->id.len;
	while (n && (*s == ' ' || *s == '<'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '>'))
		n--;
	return jmap_hform_utf8((const uint8_t *)s, n, a);
}

static json_t *languages(const struct mime_part *p, struct arena *a)
{
	if (!p->nlanguages)
		return json_null();
	json_t *l = json_array();
	for (unsigned i = 0; l && i < p->nlanguages; i++)
		if (json_array_append_new(l, str_or_null(&p->languages[i], a)) < 0) {
			json_decref(l);
			return NULL;
		}
	return l;
}

/* The part's own header block (the message's header for the root). */
static int part_header(struct jmap_msg *m, const struct mime_part *p, const uint8_t **h,
		       size_t *n)
{
	if (p == m->root) {
		int rc = jmap_msg_header(m);
		*h = m->hdr;
		*n = m->hdr_len;
		return rc;
	}
	int rc = jmap_msg_map(m);
	if (rc < 0)
		return rc;
	size_t s = (size_t)p->header_start, e = (size_t)p->body_start;
	if (e > m->map_len)
		e = m->map_len;
	*h = m->map + (s < e ? s : e);
	*n = s < e ? e - s : 0;
	return 0;
}

static json_t *body_part(struct jmap_msg *m, const struct jmap_body_args *b,
			 const struct bpart *bp, bool tree, int *rc_out);

/* One property of an EmailBodyPart; NULL with *rc_out set on failure. */
static json_t *part_prop(struct jmap_msg *m, const struct jmap_body_args *b,
			 const struct bpart *bp, const char *prop, bool tree, int *rc_out)
{
	struct mime_part *p = bp->p;
	bool multi = jmap_part_is_multipart(p);
	struct arena *a = m->a;
	if (strcmp(prop, "partId") == 0)
		return multi ? json_null() : json_string(bp->section);
	if (strcmp(prop, "blobId") == 0) {
		if (multi || !m->blob_prefix)
			return json_null();
		const char *id = arena_printf(a, "%s.%s%s", m->blob_prefix, m->part_prefix,
					      bp->section);
		return id ? json_string(id) : NULL;
	}
	if (strcmp(prop, "size") == 0) {
		uint64_t size = 0;
		if (!multi && (*rc_out = jmap_msg_part_size(m, p, &size)) < 0)
			return NULL;
		return json_integer((json_int_t)size);
	}
	if (strcmp(prop, "name") == 0)
		return bp->name ? jmap_hform_utf8((const uint8_t *)bp->name, strlen(bp->name), a)
				: json_null();
	if (strcmp(prop, "type") == 0)
		return json_string(bp->type);
	if (strcmp(prop, "charset") == 0) {
		const char *cs = param(p->params, "charset");
		if (cs)
			return jmap_hform_utf8((const uint8_t *)cs, strlen(cs), a);
		/* RFC 2045 5.2 default for text; none for other types */
		return p->type && strcmp(p->type, "text") == 0 ? json_string("us-ascii")
							       : json_null();
	}
	if (strcmp(prop, "disposition") == 0)
		return p->disposition ? json_string(p->disposition) : json_null();
	if (strcmp(prop, "cid") == 0)
		return cid(p, a);
	if (strcmp(prop, "language") == 0)
		return languages(p, a);
	if (strcmp(prop, "location") == 0)
		return str_or_null(&p->location, a);
	if (strcmp(prop, "subParts") == 0) {
		if (!multi)
			return json_null();
		json_t *l = json_array();
		for (size_t i = 0; l && i < bp->n_children; i++) {
			json_t *c = body_part(m, b, &bp->children[i], tree, rc_out);
			if (!c || json_array_append_new(l, c) < 0) {
				json_decref(l);
				return NULL;
			}
		}
		return l;
	}
	const uint8_t *h;
	size_t hn;
	if ((*rc_out = part_header(m, p, &h, &hn)) < 0)
		return NULL;
	if (strcmp(prop, "headers") == 0)
		return jmap_hform_headers(h, hn, a);
	struct jmap_hprop hp;
	if (jmap_hform_prop(prop, &hp) != 0)
		return json_null(); /* not reached: bodyProperties were checked */
	return jmap_hform_get(&hp, h, hn, a);
}

static json_t *body_part(struct jmap_msg *m, const struct jmap_body_args *b,
			 const struct bpart *bp, bool tree, int *rc_out)
{
	json_t *o = json_object();
	bool sub = false;
	for (const char *const *pp = b->props; o && *pp; pp++) {
		sub |= strcmp(*pp, "subParts") == 0;
		json_t *v = part_prop(m, b, bp, *pp, tree, rc_out);
		if (!v || json_object_set_new(o, *pp, v) < 0)
			goto fail;
	}
	/* bodyStructure is a tree: a multipart always shows its parts */
	if (o && tree && !sub && jmap_part_is_multipart(bp->p)) {
		json_t *v = part_prop(m, b, bp, "subParts", tree, rc_out);
		if (!v || json_object_set_new(o, "subParts", v) < 0)
			goto fail;
	}
	if (!o && *rc_out == 0)
		*rc_out = ERR_NOMEM;
	return o;
fail:
	json_decref(o);
	if (*rc_out == 0)
		*rc_out = ERR_NOMEM;
	return NULL;
}

static json_t *part_list(struct jmap_msg *m, const struct jmap_body_args *b,
			 const struct plist *l, int *rc)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < l->n; i++) {
		json_t *o = body_part(m, b, l->v[i], false, rc);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	if (!arr && *rc == 0)
		*rc = ERR_NOMEM;
	return arr;
}

/* ---- bodyValues ---- */

static bool utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (k == 0 || i + k > n || (k == 2 && c < 0xc2))
			return false;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
		if ((k == 3 && c == 0xe0 && p[i + 1] < 0xa0) || (k == 3 && c == 0xed && p[i + 1] >= 0xa0) ||
		    (k == 4 && c == 0xf0 && p[i + 1] < 0x90) || (k == 4 && (c > 0xf4 || (c == 0xf4 && p[i + 1] >= 0x90))))
			return false;
		i += k;
	}
	return true;
}

/* EmailBodyValue {value, isEncodingProblem, isTruncated} of a text part. */
static json_t *body_value(struct jmap_msg *m, const struct jmap_body_args *b,
			  const struct bpart *bp, int *rc)
{
	uint64_t limit = LIMIT_JMAP_BODY_VALUE;
	if (b->max_bytes && b->max_bytes < limit)
		limit = b->max_bytes;
	/* Decoded bytes enough to fill limit: a conversion from an 8-bit charset makes at
	 * least one UTF-8 byte of each input byte, from UTF-16/32 (UCS-2/4) of each 4 */
	const char *cs = param(bp->p->params, "charset");
	bool wide = cs && (strstr(cs, "16") || strstr(cs, "32") || strncasecmp(cs, "ucs", 3) == 0);
	size_t want = (size_t)limit * (wide ? 4 : 1) + 16;
	const uint8_t *dec;
	size_t n;
	bool cut, bad_cte;
	if ((*rc = jmap_msg_part_decode(m, bp->p, want, &dec, &n, &cut, &bad_cte)) < 0)
		return NULL;
	struct mime_str u;
	bool problem = bad_cte;
	int r = mime_charset_to_utf8(cs ? cs : "us-ascii", dec, n, m->a, &u);
	if (r == ERR_NOTFOUND) {
		problem = true;
		r = mime_charset_to_utf8("utf-8", dec, n, m->a, &u);
	}
	if (r < 0) {
		*rc = r;
		return NULL;
	}
	/* UTF-8 and ASCII are validated, not converted: bytes that were not UTF-8 */
	if (!cs || strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	    strcasecmp(cs, "utf8") == 0)
		problem |= !utf8_valid(dec, cut ? (n > 3 ? n - 3 : 0) : n);
	size_t len = u.s ? u.len : 0;
	bool truncated = cut || len > limit;
	if (len > limit) { /* on a character boundary */
		len = (size_t)limit;
		while (len && ((uint8_t)u.s[len] & 0xc0) == 0x80)
			len--;
	}
	json_t *o = json_pack("{s:s%,s:b,s:b}", "value", u.s ? u.s : "", len, "isEncodingProblem",
			      problem, "isTruncated", truncated);
	if (!o)
		*rc = ERR_NOMEM;
	return o;
}

static int add_values(struct jmap_msg *m, const struct jmap_body_args *b, json_t *values,
		      const struct plist *l)
{
	int rc = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct bpart *bp = l->v[i];
		if (strncmp(bp->type, "text/", 5) != 0 || json_object_get(values, bp->section))
			continue;
		json_t *v = body_value(m, b, bp, &rc);
		if (!v || json_object_set_new(values, bp->section, v) < 0)
			return rc ? rc : ERR_NOMEM;
	}
	return 0;
}

/* Every text leaf of the tree, in order (fetchAllBodyValues). */
static int text_leaves(struct arena *a, struct bpart *bp, struct plist *out)
{
	if (jmap_part_is_multipart(bp->p)) {
		for (size_t i = 0; i < bp->n_children; i++)
			if (text_leaves(a, &bp->children[i], out) < 0)
				return ERR_NOMEM;
		return 0;
	}
	return strncmp(bp->type, "text/", 5) == 0 ? plist_push(a, out, bp) : 0;
}

int jmap_body_props(struct jmap_msg *m, const struct jmap_body_args *b,
		    const struct jmap_body_want *w, json_t *email)
{
	int rc = jmap_msg_root(m);
	if (rc < 0)
		return rc;
	struct bpart top;
	/* a single-part message's body is section 1; a multipart's parts count from 1 */
	if (build(m->a, m->root, jmap_part_is_multipart(m->root) ? NULL : "1", &top) < 0)
		return ERR_NOMEM;
	struct plist text = {0}, html = {0}, att = {0};
	if (parse_structure(m->a, &top, 1, "mixed", false, &html, &text, &att) < 0)
		return ERR_NOMEM;
	if (w->structure) {
		json_t *s = body_part(m, b, &top, true, &rc);
		if (!s || json_object_set_new(email, "bodyStructure", s) < 0)
			return rc ? rc : ERR_NOMEM;
	}
	const struct plist *lists[] = {&text, &html, &att};
	const char *names[] = {"textBody", "htmlBody", "attachments"};
	bool wants[] = {w->text, w->html, w->attachments};
	for (size_t i = 0; i < 3; i++) {
		if (!wants[i])
			continue;
		json_t *l = part_list(m, b, lists[i], &rc);
		if (!l || json_object_set_new(email, names[i], l) < 0)
			return rc ? rc : ERR_NOMEM;
	}
	if (w->has_attachment) {
		/* 4.1.4: an attachment that is not Content-Disposition: inline */
		bool any = false;
		for (size_t i = 0; i < att.n; i++)
			any |= !(att.v[i]->p->disposition &&
				 strcmp(att.v[i]->p->disposition, "inline") == 0);
		if (json_object_set_new(email, "hasAttachment", json_boolean(any)) < 0)
			return ERR_NOMEM;
	}
	if (w->values) {
		json_t *values = json_object();
		struct plist all = {0};
		if (!values || json_object_set_new(email, "bodyValues", values) < 0)
			return ERR_NOMEM;
		if ((b->fetch_text && (rc = add_values(m, b, values, &text)) < 0) ||
		    (b->fetch_html && (rc = add_values(m, b, values, &html)) < 0))
			return rc;
		if (b->fetch_all && (text_leaves(m->a, &top, &all) < 0 ||
				     (rc = add_values(m, b, values, &all)) < 0))
			return rc ? rc : ERR_NOMEM;
	}
	return 0;
}
