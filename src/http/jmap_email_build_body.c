/* jmap_email_build_body.c: the body of an Email being created (RFC 8621 4.6): the
 * tree of parts from bodyStructure, or the one textBody/htmlBody/attachments stand for
 * (one text part: text/plain; text and HTML: multipart/alternative; inline parts with
 * a cid beside HTML: multipart/related; attachments: multipart/mixed around it), each
 * part checked against the create rules, its content taken from bodyValues or read
 * from a blob (any blob id of the account: uploads, messages, parts of other Emails),
 * and written with the Content-* fields and the transfer encoding chosen for it.
 *
 * Bounds: at most LIMIT_MIME_PARTS parts nested at most LIMIT_MIME_DEPTH deep (what
 * our own parser reads back whole); at most LIMIT_JMAP_BUILD_BLOBS blob parts, whose
 * files stay open from the check that they exist to the end of the writing; blobs
 * stream through a fixed buffer, twice (one scan to choose the encoding, one to
 * write). */
#include "http/jmap_email_build_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"

#define BLOB_CHUNK 16384
#define TYPE_MAX LIMIT_JMAP_BUILD_TYPE
#define TOKEN_MAX LIMIT_JMAP_BUILD_TOKEN
#define CID_MAX LIMIT_JMAP_BUILD_CID
#define LOCATION_MAX LIMIT_JMAP_BUILD_LOCATION
#define NAME_MAX LIMIT_JMAP_BUILD_PART_NAME

struct body_ctx {
	const struct jeb_env *env;
	json_t *values;            /* bodyValues, or NULL */
	json_t *not_found;
	const char *bad;
	size_t n_parts;
	size_t n_blobs;            /* blob parts seen, found or not */
};

static const char *const part_props[] = {"partId", "blobId",   "size",     "headers",
					 "name",   "type",     "charset",  "disposition",
					 "cid",    "language", "location", "subParts", NULL};

static int bad(struct body_ctx *c, const char *path, const char *prop)
{
	c->bad = arena_printf(c->env->a, "%s%s%s", path, *prop ? "/" : "", prop);
	return c->bad ? ERR_INVAL : ERR_NOMEM;
}

/* RFC 2045 5.1 token */
static bool token_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c))
			return false;
	}
	return true;
}

/* "type/subtype", lower-cased into a; NULL when it is not one */
static const char *media_type(struct arena *a, const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || !token_ok(s, (size_t)(slash - s), TYPE_MAX) ||
	    !token_ok(slash + 1, strlen(slash + 1), TYPE_MAX))
		return NULL;
	char *t = arena_strdup(a, s);
	if (t)
		str_lower(t);
	return t;
}

/* An optional string member: NULL when absent or null; *ok false when of another type. */
static const char *opt_string(json_t *o, const char *k, bool *ok)
{
	json_t *v = json_object_get(o, k);
	if (v && !json_is_null(v) && !json_is_string(v))
		*ok = false;
	return json_string_value(v);
}

/* Printable ASCII without space or angle brackets (a cid, a location). */
static bool plain_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '<' ||
		    s[i] == '>')
			return false;
	return true;
}

/* A body value's text with every line end (CRLF, LF, CR) made CRLF (RFC 2046 4.1.1). */
static int value_crlf(struct arena *a, const char *s, size_t n, const char **out,
		      size_t *len_out)
{
	size_t extra = 0;
	for (size_t i = 0; i < n; i++)
		if ((s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ||
		    (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
			extra++;
	char *t = arena_alloc(a, n + extra + 1);
	size_t k = 0;
	if (!t)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			t[k++] = '\r';
		t[k++] = s[i];
		if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n'))
			t[k++] = '\n';
	}
	t[k] = '\0';
	*out = t;
	*len_out = k;
	return 0;
}

/* The leaf's content: bodyValues[partId] (4.6: isEncodingProblem and isTruncated false
 * or absent; no charset, no size), or a blob opened now. */
static int leaf_content(struct body_ctx *c, struct jeb_part *p, json_t *o)
{
	json_t *part_id = json_object_get(o, "partId"), *blob_id = json_object_get(o, "blobId");
	bool has_part = part_id && !json_is_null(part_id);
	bool has_blob = blob_id && !json_is_null(blob_id);
	if (has_part == has_blob)
		return bad(c, p->path, has_part ? "blobId" : "partId");
	if (has_part) {
		json_t *bv = json_is_string(part_id)
				     ? json_object_get(c->values, json_string_value(part_id))
				     : NULL;
		json_t *val = json_object_get(bv, "value");
		const char *key;
		json_t *m;
		if (!json_is_string(val))
			return bad(c, p->path, "partId");
		json_object_foreach(bv, key, m)
			if (strcmp(key, "value") != 0 &&
			    ((strcmp(key, "isEncodingProblem") != 0 &&
			      strcmp(key, "isTruncated") != 0) || !json_is_false(m))) {
				c->bad = arena_printf(c->env->a, "bodyValues/%s/%s",
						      json_string_value(part_id), key);
				return c->bad ? ERR_INVAL : ERR_NOMEM;
			}
		json_t *cs = json_object_get(o, "charset"), *sz = json_object_get(o, "size");
		if (cs && !json_is_null(cs))
			return bad(c, p->path, "charset");
		if (sz && !json_is_null(sz))
			return bad(c, p->path, "size");
		p->charset = strncmp(p->type ? p->type : "text/", "text/", 5) == 0 ? "utf-8" : NULL;
		return value_crlf(c->env->a, json_string_value(val), json_string_length(val),
				  &p->value, &p->value_len);
	}
	json_t *size = json_object_get(o, "size");
	if (!json_is_string(blob_id) || (size && !json_is_null(size) && !json_is_integer(size)))
		return bad(c, p->path, json_is_string(blob_id) ? "size" : "blobId");
	p->blob_id = json_string_value(blob_id);
	if (++c->n_blobs > LIMIT_JMAP_BUILD_BLOBS)
		return bad(c, p->path, "blobId");
	int rc = c->env->blob_open(c->env->blob_arg, p->blob_id, &p->fd, &p->size,
				   &p->blob_type);
	if (rc == ERR_NOTFOUND) {
		p->fd = -1;
		size_t i;
		json_t *v;
		json_array_foreach(c->not_found, i, v)
			if (strcmp(json_string_value(v), p->blob_id) == 0)
				return 0;
		return json_array_append_new(c->not_found, json_string(p->blob_id)) < 0
			       ? ERR_NOMEM : 0;
	}
	if (rc < 0)
		p->fd = -1;
	return rc;
}

static int part_from(struct body_ctx *c, json_t *o, const char *path, unsigned depth,
		     const char *default_type, struct jeb_part **out);

/* The properties every part shares: type, name, disposition, cid, language, location,
 * charset (checked here, its use by the leaf), and its header:X fields. */
static int part_props_read(struct body_ctx *c, struct jeb_part *p, json_t *o)
{
	struct arena *a = c->env->a;
	const char *key;
	json_t *v;
	bool ok = true;
	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (part_props[i] && strcmp(part_props[i], key) != 0)
			i++;
		if (!part_props[i] && strncmp(key, "header:", 7) != 0)
			return bad(c, p->path, key);
	}
	const char *type = opt_string(o, "type", &ok);
	/* "" as not given: what a browser's File.type is for a file it cannot name */
	if (type && !*type)
		type = NULL;
	if (!ok || (type && !(p->type = media_type(a, type))))
		return bad(c, p->path, "type");
	const char *disp = opt_string(o, "disposition", &ok);
	if (!ok || (disp && !token_ok(disp, strlen(disp), TOKEN_MAX)))
		return bad(c, p->path, "disposition");
	if (disp && !(p->disposition = arena_strdup(a, disp)))
		return ERR_NOMEM;
	if (p->disposition)
		str_lower((char *)p->disposition);
	p->name = opt_string(o, "name", &ok);
	if (!ok || (p->name && (strlen(p->name) > NAME_MAX || !jeb_text_ok(p->name, strlen(p->name)))))
		return bad(c, p->path, "name");
	p->cid = opt_string(o, "cid", &ok);
	if (!ok || (p->cid && !plain_ok(p->cid, CID_MAX)))
		return bad(c, p->path, "cid");
	p->location = opt_string(o, "location", &ok);
	if (!ok || (p->location && !plain_ok(p->location, LOCATION_MAX)))
		return bad(c, p->path, "location");
	const char *cs = opt_string(o, "charset", &ok);
	if (!ok || (cs && !token_ok(cs, strlen(cs), TOKEN_MAX)))
		return bad(c, p->path, "charset");
	p->charset = cs;
	json_t *lang = json_object_get(o, "language");
	size_t i;
	if (lang && !json_is_null(lang)) {
		if (!json_is_array(lang) || json_array_size(lang) > LIMIT_JMAP_BUILD_LANGUAGES)
			return bad(c, p->path, "language");
		json_array_foreach(lang, i, v)
			if (!json_is_string(v) ||
			    !token_ok(json_string_value(v), json_string_length(v), TOKEN_MAX))
				return bad(c, p->path, "language");
		p->language = lang;
	}
	/* the part's header fields; Content-* ones only where no property says the same */
	json_t *seen = json_object();
	const char *prefix = arena_printf(a, "%s/", p->path), *hbad = NULL;
	if (!seen || !prefix) {
		json_decref(seen);
		return ERR_NOMEM;
	}
	int rc = jeb_headers_collect(a, o, prefix, true, seen, &p->hdrs, &p->n_hdrs, &hbad);
	bool clash = (json_object_get(seen, "content-disposition") && (p->disposition || p->name)) ||
		     (json_object_get(seen, "content-id") && p->cid) ||
		     (json_object_get(seen, "content-language") && p->language) ||
		     (json_object_get(seen, "content-location") && p->location);
	json_decref(seen);
	if (rc == ERR_INVAL) {
		c->bad = hbad;
		return rc;
	}
	if (rc < 0)
		return rc;
	if (clash)
		return bad(c, p->path, "headers");
	/* each value written once into nothing now, so that one that does not fit its
	 * form is refused by its name before any of the message is written */
	struct jeb_out dry;
	if (jeb_out_init(&dry, a, -1, UINT64_MAX, 4096) < 0)
		return ERR_NOMEM;
	for (size_t k = 0; k < p->n_hdrs; k++) {
		rc = jeb_header_write(&dry, a, &p->hdrs[k].h, p->hdrs[k].value);
		if (rc == ERR_INVAL)
			c->bad = p->hdrs[k].key;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static struct jeb_part *part_new(struct body_ctx *c, const char *path)
{
	struct jeb_part *p = arena_zalloc(c->env->a, sizeof *p);
	if (p) {
		p->fd = -1;
		p->path = path;
	}
	return p;
}

static int part_from(struct body_ctx *c, json_t *o, const char *path, unsigned depth,
		     const char *default_type, struct jeb_part **out)
{
	struct arena *a = c->env->a;
	struct jeb_part *p = part_new(c, path);
	if (!p)
		return ERR_NOMEM;
	*out = p;
	if (!json_is_object(o))
		return bad(c, path, "");
	if (++c->n_parts > LIMIT_MIME_PARTS || depth >= LIMIT_MIME_DEPTH)
		return bad(c, path, "subParts");
	int rc = part_props_read(c, p, o);
	if (rc < 0)
		return rc;
	json_t *subs = json_object_get(o, "subParts");
	if (subs && !json_is_null(subs)) {
		if (!p->type)
			p->type = "multipart/mixed";
		if (!json_is_array(subs) || json_array_size(subs) == 0 ||
		    strncmp(p->type, "multipart/", 10) != 0)
			return bad(c, path, json_is_array(subs) ? "type" : "subParts");
		if (json_object_get(o, "partId") || json_object_get(o, "blobId") || p->charset)
			return bad(c, path, json_object_get(o, "partId") ? "partId"
					    : json_object_get(o, "blobId") ? "blobId" : "charset");
		p->obj = o;
		p->is_multipart = true;
		p->n_kids = json_array_size(subs);
		p->kids = arena_zalloc(a, p->n_kids * sizeof *p->kids);
		if (!p->kids)
			return ERR_NOMEM;
		for (size_t i = 0; i < p->n_kids; i++) {
			const char *kp = arena_printf(a, "%s/subParts/%zu", path, i);
			if (!kp)
				return ERR_NOMEM;
			rc = part_from(c, json_array_get(subs, i), kp, depth + 1, NULL, &p->kids[i]);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (p->type && strncmp(p->type, "multipart/", 10) == 0)
		return bad(c, path, "subParts");
	if (!p->type && json_object_get(o, "partId"))
		p->type = default_type ? default_type : "text/plain";
	p->obj = o;
	rc = leaf_content(c, p, o);
	if (rc < 0)
		return rc;
	if (!p->type)
		p->type = p->blob_type ? media_type(a, p->blob_type) : NULL;
	if (!p->type)
		p->type = "application/octet-stream";
	return 0;
}

/* A multipart of our own around kids. */
static struct jeb_part *multipart(struct body_ctx *c, const char *path, const char *type,
				  struct jeb_part **kids, size_t n)
{
	struct jeb_part *p = part_new(c, path);
	if (!p)
		return NULL;
	p->type = type;
	p->is_multipart = true;
	p->kids = arena_alloc(c->env->a, n * sizeof *kids);
	if (!p->kids)
		return NULL;
	memcpy(p->kids, kids, n * sizeof *kids);
	p->n_kids = n;
	return p;
}

/* textBody / htmlBody: at most one part, of the given type (4.6). */
static int single_body(struct body_ctx *c, json_t *email, const char *prop, const char *type,
		       struct jeb_part **out)
{
	json_t *l = json_object_get(email, prop);
	*out = NULL;
	if (!l || json_is_null(l) || (json_is_array(l) && json_array_size(l) == 0))
		return 0;
	if (!json_is_array(l) || json_array_size(l) != 1 ||
	    json_object_get(json_array_get(l, 0), "subParts"))
		return bad(c, prop, "");
	const char *path = arena_printf(c->env->a, "%s/0", prop);
	if (!path)
		return ERR_NOMEM;
	int rc = part_from(c, json_array_get(l, 0), path, 1, type, out);
	if (rc == 0 && strcmp((*out)->type, type) != 0)
		return bad(c, path, "type");
	return rc;
}

/* The tree textBody, htmlBody and attachments stand for (RFC 8621 4.6). */
static int convenience_tree(struct body_ctx *c, json_t *email, struct jeb_part **root_out)
{
	struct arena *a = c->env->a;
	struct jeb_part *text, *html, *body = NULL;
	int rc = single_body(c, email, "textBody", "text/plain", &text);
	if (rc == 0)
		rc = single_body(c, email, "htmlBody", "text/html", &html);
	if (rc < 0)
		return rc;
	json_t *att = json_object_get(email, "attachments");
	if (att && !json_is_null(att) && !json_is_array(att))
		return bad(c, "attachments", "");
	size_t n_att = json_array_size(att), n_rel = 0, n_mix = 0;
	struct jeb_part **rel = arena_alloc(a, (n_att + 1) * sizeof *rel);
	struct jeb_part **mix = arena_alloc(a, (n_att + 1) * sizeof *mix);
	if (!rel || !mix)
		return ERR_NOMEM;
	for (size_t i = 0; i < n_att; i++) {
		struct jeb_part *p;
		const char *path = arena_printf(a, "attachments/%zu", i);
		if (!path)
			return ERR_NOMEM;
		rc = part_from(c, json_array_get(att, i), path, 2, NULL, &p);
		if (rc < 0)
			return rc;
		/* an inline part with a cid belongs with the HTML that refers to it */
		if (html && p->cid && p->disposition && strcmp(p->disposition, "inline") == 0) {
			rel[n_rel++] = p;
		} else {
			if (!p->disposition)
				p->disposition = "attachment";
			mix[n_mix++] = p;
		}
	}
	if (html && n_rel) {
		struct jeb_part **k = arena_alloc(a, (n_rel + 1) * sizeof *k);
		if (!k)
			return ERR_NOMEM;
		k[0] = html;
		memcpy(k + 1, rel, n_rel * sizeof *rel);
		if (!(html = multipart(c, "htmlBody", "multipart/related", k, n_rel + 1)))
			return ERR_NOMEM;
	}
	if (text && html) {
		struct jeb_part *k[2] = {text, html};
		if (!(body = multipart(c, "textBody", "multipart/alternative", k, 2)))
			return ERR_NOMEM;
	} else {
		body = text ? text : html;
	}
	if (!body && n_mix == 0) {
		/* no body at all: an empty text part, so the message is still well formed */
		if (!(body = part_new(c, "textBody")))
			return ERR_NOMEM;
		body->type = "text/plain";
		body->charset = "utf-8";
		body->value = "";
	}
	if (n_mix) {
		struct jeb_part **k = arena_alloc(a, (n_mix + 1) * sizeof *k);
		size_t n = 0;
		if (!k)
			return ERR_NOMEM;
		if (body)
			k[n++] = body;
		memcpy(k + n, mix, n_mix * sizeof *mix);
		if (!(body = multipart(c, "attachments", "multipart/mixed", k, n + n_mix)))
			return ERR_NOMEM;
	}
	*root_out = body;
	return 0;
}

int jeb_body_build(const struct jeb_env *env, json_t *email, json_t *top_names,
		   struct jeb_part **root_out, const char **bad_out, json_t *not_found)
{
	struct body_ctx c = {.env = env, .not_found = not_found};
	json_t *bs = json_object_get(email, "bodyStructure");
	json_t *bv = json_object_get(email, "bodyValues");
	int rc;
	*root_out = NULL;
	if (bv && !json_is_null(bv) && !json_is_object(bv)) {
		*bad_out = "bodyValues";
		return ERR_INVAL;
	}
	c.values = bv;
	if (bs && !json_is_null(bs)) {
		static const char *const others[] = {"textBody", "htmlBody", "attachments"};
		for (size_t i = 0; i < 3; i++) {
			json_t *o = json_object_get(email, others[i]);
			if (o && !json_is_null(o)) {
				*bad_out = others[i];
				return ERR_INVAL;
			}
		}
		rc = part_from(&c, bs, "bodyStructure", 0, NULL, root_out);
	} else {
		rc = convenience_tree(&c, email, root_out);
	}
	/* 4.6: the root part holds no field the Email itself gives */
	for (size_t i = 0; rc == 0 && i < (*root_out)->n_hdrs; i++)
		if (json_object_get(top_names, (*root_out)->hdrs[i].lname)) {
			c.bad = (*root_out)->hdrs[i].key;
			rc = ERR_INVAL;
		}
	if (rc == 0 && json_array_size(not_found) > 0)
		rc = ERR_NOTFOUND;
	*bad_out = c.bad;
	return rc;
}

/* ---- encodings and boundaries ---- */

static ssize_t blob_read(struct jeb_part *p, uint8_t *buf, size_t n, uint64_t off)
{
	ssize_t r;
	do
		r = p->stream ? read(p->fd, buf, n) : pread(p->fd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}

static int prepare(const struct jeb_env *env, struct jeb_part *p, const char **bounds,
		   size_t n_bounds, uint8_t *buf)
{
	if (p->is_multipart) {
		char hex[33];
		if (str_random_hex(hex, 16) < 0)
			return ERR_IO;
		/* "=_" can occur neither in quoted-printable nor in base64 */
		p->boundary = arena_printf(env->a, "=_%s", hex);
		if (!p->boundary)
			return ERR_NOMEM;
		bounds[n_bounds] = p->boundary;
		/* RFC 2045 6.4: a multipart holding 8bit data says 8bit (7bit implied else) */
		p->cte = JEB_CTE_7BIT;
		for (size_t i = 0; i < p->n_kids; i++) {
			int rc = prepare(env, p->kids[i], bounds, n_bounds + 1, buf);
			if (rc < 0)
				return rc;
			if (p->kids[i]->cte == JEB_CTE_8BIT)
				p->cte = JEB_CTE_8BIT;
		}
		return 0;
	}
	struct jeb_scan s;
	jeb_scan_init(&s, bounds, n_bounds);
	if (p->fd < 0) {
		jeb_scan_feed(&s, (const uint8_t *)p->value, p->value_len);
	} else {
		for (uint64_t off = 0;;) {
			ssize_t r = blob_read(p, buf, BLOB_CHUNK, off);
			if (r < 0 && errno == ESPIPE && off == 0) {
				/* a stream can be read once only: base64 needs no scan */
				p->stream = true;
				p->cte = JEB_CTE_BASE64;
				return 0;
			}
			if (r < 0)
				return ERR_IO;
			if (r == 0)
				break;
			jeb_scan_feed(&s, buf, (size_t)r);
			off += (uint64_t)r;
		}
	}
	jeb_scan_end(&s);
	p->cte = jeb_cte_choose(&s, p->type);
	return 0;
}

int jeb_body_prepare(const struct jeb_env *env, struct jeb_part *root)
{
	const char **bounds = arena_alloc(env->a, (LIMIT_MIME_DEPTH + 1) * sizeof *bounds);
	uint8_t *buf = arena_alloc(env->a, BLOB_CHUNK);
	if (!bounds || !buf)
		return ERR_NOMEM;
	return prepare(env, root, bounds, 0, buf);
}

/* ---- writing ---- */

static int write_part_fields(const struct jeb_env *env, struct jeb_out *o, struct jeb_part *p)
{
	if (jeb_field_start(o, "Content-Type") < 0 ||
	    jeb_field_token(o, " ", p->type, strlen(p->type)) < 0)
		return o->err;
	if (p->is_multipart && jeb_field_param(o, "boundary", p->boundary, strlen(p->boundary)) < 0)
		return o->err;
	if (!p->is_multipart && p->charset &&
	    jeb_field_param(o, "charset", p->charset, strlen(p->charset)) < 0)
		return o->err;
	if (p->name && jeb_field_param(o, "name", p->name, strlen(p->name)) < 0)
		return o->err;
	if (jeb_field_end(o) < 0)
		return o->err;
	if ((!p->is_multipart || p->cte == JEB_CTE_8BIT) &&
	    (jeb_field_start(o, "Content-Transfer-Encoding") < 0 ||
	     jeb_field_token(o, " ", jeb_cte_name(p->cte), strlen(jeb_cte_name(p->cte))) < 0 ||
	     jeb_field_end(o) < 0))
		return o->err;
	if (p->disposition || (p->name && !p->is_multipart)) {
		const char *d = p->disposition ? p->disposition : "attachment";
		if (jeb_field_start(o, "Content-Disposition") < 0 ||
		    jeb_field_token(o, " ", d, strlen(d)) < 0 ||
		    (p->name && jeb_field_param(o, "filename", p->name, strlen(p->name)) < 0) ||
		    jeb_field_end(o) < 0)
			return o->err;
	}
	if (p->cid) {
		const char *t = arena_printf(env->a, "<%s>", p->cid);
		if (!t)
			return ERR_NOMEM;
		if (jeb_field_start(o, "Content-ID") < 0 || jeb_field_token(o, " ", t, strlen(t)) < 0 ||
		    jeb_field_end(o) < 0)
			return o->err;
	}
	if (p->language) {
		size_t i;
		json_t *v;
		if (jeb_field_start(o, "Content-Language") < 0)
			return o->err;
		json_array_foreach(p->language, i, v)
			if ((i > 0 && jeb_field_token(o, "", ",", 1) < 0) ||
			    jeb_field_token(o, " ", json_string_value(v), json_string_length(v)) < 0)
				return o->err;
		if (jeb_field_end(o) < 0)
			return o->err;
	}
	if (p->location && (jeb_field_start(o, "Content-Location") < 0 ||
			    jeb_field_token(o, " ", p->location, strlen(p->location)) < 0 ||
			    jeb_field_end(o) < 0))
		return o->err;
	for (size_t i = 0; i < p->n_hdrs; i++) {
		int rc = jeb_header_write(o, env->a, &p->hdrs[i].h, p->hdrs[i].value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_leaf(const struct jeb_env *env, struct jeb_out *o, struct jeb_part *p)
{
	struct jeb_enc e;
	jeb_enc_init(&e, p->cte, o);
	if (p->fd < 0) {
		if (jeb_enc_feed(&e, (const uint8_t *)p->value, p->value_len) < 0)
			return o->err;
		return jeb_enc_finish(&e);
	}
	uint8_t *buf = arena_alloc(env->a, BLOB_CHUNK);
	if (!buf)
		return ERR_NOMEM;
	for (uint64_t off = 0;;) {
		ssize_t r = blob_read(p, buf, BLOB_CHUNK, off);
		if (r < 0)
			return ERR_IO;
		if (r == 0)
			break;
		if (jeb_enc_feed(&e, buf, (size_t)r) < 0)
			return o->err;
		off += (uint64_t)r;
	}
	return jeb_enc_finish(&e);
}

int jeb_body_write(const struct jeb_env *env, struct jeb_out *o, struct jeb_part *p)
{
	int rc = write_part_fields(env, o, p);
	if (rc < 0)
		return rc;
	if (jeb_put(o, "\r\n", 2) < 0)
		return o->err;
	if (!p->is_multipart)
		return write_leaf(env, o, p);
	/* RFC 2046 5.1.1: the CRLF before each delimiter line belongs to the delimiter */
	for (size_t i = 0; i < p->n_kids; i++) {
		if (jeb_puts(o, "--") < 0 || jeb_puts(o, p->boundary) < 0 ||
		    jeb_put(o, "\r\n", 2) < 0)
			return o->err;
		rc = jeb_body_write(env, o, p->kids[i]);
		if (rc < 0)
			return rc;
		if (jeb_put(o, "\r\n", 2) < 0)
			return o->err;
	}
	if (jeb_puts(o, "--") < 0 || jeb_puts(o, p->boundary) < 0 || jeb_puts(o, "--\r\n") < 0)
		return o->err;
	return 0;
}

void jeb_body_close(struct jeb_part *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_kids; i++)
		jeb_body_close(p->kids[i]);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
