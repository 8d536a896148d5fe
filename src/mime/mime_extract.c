/* mime_extract.c: everything IMAP, JMAP and SEARCH keep of a message, taken in one
 * parse at delivery or APPEND: the structure blob, the header length, the message ids,
 * the RFC 8970 preview and the searchable text. The text of each text part streams
 * through transfer decoding (mime_cte.c), charset conversion (mime_conv.c) and, for
 * HTML, reduction to text (mime_html.c) in a 4 KiB buffer, and stops as soon as the
 * text (LIMIT_SEARCH_TEXT) and the preview (LIMIT_PREVIEW_CHARS) are full, so a 50 MB
 * part costs no more than the part of it that is kept. The search text is what a reader
 * can read: text attachments too, and an encapsulated message's From, To, Cc, Subject
 * and Date as a mail client shows them above its text; parts of other types are never
 * decoded. Output lives in the caller's arena. */
#include "mime_int.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

struct xctx {
	const uint8_t *p;
	struct arena *a; /* for decoding header values of encapsulated messages */
	struct mime_sb text;
	struct mime_preview pv;
	const struct mime_part *preview_part;
	bool preview_done;
};

/* The state of one part flowing into the text and maybe the preview. */
struct part_flow {
	struct xctx *x;
	bool preview; /* this part feeds the preview */
	bool started; /* something of it reached the text */
};

static bool is_type(const struct mime_part *pt, const char *type, const char *subtype)
{
	return strcmp(pt->type, type) == 0 && (!subtype || strcmp(pt->subtype, subtype) == 0);
}

static bool is_attachment(const struct mime_part *pt)
{
	return pt->disposition && strcmp(pt->disposition, "attachment") == 0;
}

static bool text_full(const struct xctx *x)
{
	return x->text.len >= x->text.max || x->text.nomem;
}

/* Into the search text: CR and NUL dropped (line ends as LF; NUL ends C strings). */
static void text_put(struct xctx *x, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n, *nul = memchr(p, '\0', n);
	while (p < end) {
		const uint8_t *stop = memchr(p, '\r', (size_t)(end - p));
		if (nul && nul < p)
			nul = memchr(p, '\0', (size_t)(end - p));
		if (nul && (!stop || nul < stop))
			stop = nul;
		if (!stop)
			stop = end;
		mime_sb_put(&x->text, p, (size_t)(stop - p));
		p = stop + 1;
	}
}

/* The end of a converted (and reduced) part's pipeline: a mime_emit_fn. */
static bool flow_emit(void *arg, const uint8_t *p, size_t n)
{
	struct part_flow *f = arg;
	struct xctx *x = f->x;
	bool want = false;
	if (!text_full(x)) {
		if (!f->started && x->text.len && x->text.p[x->text.len - 1] != '\n')
			mime_sb_putc(&x->text, '\n'); /* parts are separated by a newline */
		f->started = true;
		text_put(x, p, n);
		want = !text_full(x);
	}
	if (f->preview && !x->preview_done) {
		x->preview_done = !mime_preview_put(&x->pv, p, n);
		want |= !x->preview_done;
	}
	return want;
}

static const struct mime_param *param(const struct mime_param *p, const char *name)
{
	for (; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* Decode one text part's body through the pipeline into the text and the preview. */
static void extract_part(struct xctx *x, const struct mime_part *pt)
{
	struct part_flow f = {x, pt == x->preview_part, false};
	if (text_full(x) && (!f.preview || x->preview_done))
		return;
	struct mime_cte_dec d;
	/* An unknown transfer encoding: the raw bytes are the best text there is. */
	(void)mime_cte_init(&d, pt->encoding.s, pt->encoding.len);
	struct mime_html h;
	mime_emit_fn to = flow_emit;
	void *to_arg = &f;
	if (is_type(pt, "text", "html")) {
		mime_html_init(&h, flow_emit, &f);
		to = mime_html_put;
		to_arg = &h;
	}
	const struct mime_param *cs = param(pt->params, "charset");
	struct mime_conv c;
	mime_conv_open(&c, cs ? cs->value.s : NULL, cs ? cs->value.len : 0, to, to_arg);
	const uint8_t *in = x->p + pt->body_start;
	size_t left = (size_t)(pt->end - pt->body_start);
	uint8_t buf[4096];
	int more;
	do {
		size_t used, written;
		more = mime_cte_decode(&d, in, left, true, &used, buf, sizeof(buf), &written);
		in += used;
		left -= used;
		if (!mime_conv_put(&c, buf, written))
			break;
	} while (more);
	mime_conv_close(&c);
	if (to == mime_html_put)
		mime_html_close(&h);
}

/* The fields of an encapsulated message that a reader sees above its text. */
static const char *const shown_fields[] = {"From", "To", "Cc", "Subject", "Date"};

/* "Name: value" lines of an encapsulated message's shown fields, decoded (RFC 2047).
 * A value the arena cannot hold is left out; the text bound applies as to any part. */
static void extract_header(struct xctx *x, const struct mime_part *m)
{
	struct mime_header_iter it;
	struct mime_field f;
	bool started = false;
	mime_header_init(&it, (size_t)m->header_start);
	while (!text_full(x) &&
	       mime_header_next(&it, x->p, (size_t)m->body_start, true, &f) == MIME_HDR_FIELD) {
		const char *name = NULL;
		for (size_t i = 0; i < sizeof(shown_fields) / sizeof(shown_fields[0]); i++)
			if (!f.bad && str_ieq(f.name, f.name_len, shown_fields[i]))
				name = shown_fields[i];
		struct mime_str v;
		if (!name || mime_decode_words(f.value, f.value_len, x->a, &v) < 0 || !v.s)
			continue;
		if (!started && x->text.len && x->text.p[x->text.len - 1] != '\n')
			mime_sb_putc(&x->text, '\n');
		started = true;
		mime_sb_put(&x->text, (const uint8_t *)name, strlen(name));
		mime_sb_put(&x->text, (const uint8_t *)": ", 2);
		text_put(x, (const uint8_t *)v.s, v.len);
		mime_sb_putc(&x->text, '\n');
	}
}

/* Every text part in order, attachments included, and the shown header fields of each
 * encapsulated message. Recursion is bounded by LIMIT_MIME_DEPTH, the tree's own. */
static void walk_text(struct xctx *x, const struct mime_part *pt)
{
	if (pt->message) {
		extract_header(x, pt->message);
		walk_text(x, pt->message);
		return;
	}
	for (const struct mime_part *ch = pt->children; ch; ch = ch->next)
		walk_text(x, ch);
	if (!pt->children && strcmp(pt->type, "text") == 0)
		extract_part(x, pt);
}

/* The preview candidates of a subtree: the first text/plain a reader would see where
 * only text/plain is wanted (inside multipart/alternative), and the first text/plain
 * or text/html otherwise. One visit per part, so nesting stays linear. */
struct pick {
	const struct mime_part *plain, *any;
};

static struct pick choose(const struct mime_part *pt)
{
	struct pick r = {NULL, NULL};
	if (is_attachment(pt))
		return r;
	if (pt->message)
		return choose(pt->message);
	if (is_type(pt, "multipart", NULL)) {
		bool alt = is_type(pt, "multipart", "alternative");
		/* multipart/related shows its first part; the others are its resources */
		bool related = is_type(pt, "multipart", "related");
		for (const struct mime_part *ch = pt->children; ch; ch = ch->next) {
			struct pick c = choose(ch);
			if (!r.plain)
				r.plain = c.plain;
			if (!r.any)
				r.any = c.any;
			if (related)
				break;
		}
		if (alt && r.plain)
			r.any = r.plain; /* the alternative a reader prefers for a preview */
		return r;
	}
	if (is_type(pt, "text", "plain"))
		r.plain = r.any = pt;
	else if (is_type(pt, "text", "html"))
		r.any = pt;
	return r;
}

/* An upper estimate of the text's size: one allocation instead of doublings. */
static size_t text_estimate(const struct mime_part *pt)
{
	size_t n = 0;
	if (pt->message)
		n = (size_t)(pt->message->body_start - pt->message->header_start) +
		    text_estimate(pt->message);
	for (const struct mime_part *ch = pt->children; ch && n < LIMIT_SEARCH_TEXT; ch = ch->next)
		n += text_estimate(ch);
	if (!pt->children && strcmp(pt->type, "text") == 0)
		n = (size_t)(pt->end - pt->body_start) + 1;
	return n < LIMIT_SEARCH_TEXT ? n : LIMIT_SEARCH_TEXT;
}

/* Drop a character the text bound cut in two (the text is otherwise valid UTF-8). */
static void trim_cut(struct mime_sb *sb)
{
	size_t i = sb->len, cont = 0;
	while (i > 0 && cont < 3 && ((uint8_t)sb->p[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return;
	uint8_t lead = (uint8_t)sb->p[i - 1];
	size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	if (need > cont + 1)
		sb->len = i - 1;
}

static int extract_text(const uint8_t *p, const struct mime_part *root, struct arena *a,
                        struct mime_extract *out)
{
	struct xctx *x = arena_alloc(a, sizeof(*x)); /* the preview buffers are 2 KiB */
	if (!x)
		return ERR_NOMEM;
	x->p = p;
	x->a = a;
	x->preview_done = false;
	mime_sb_init(&x->text, a, LIMIT_SEARCH_TEXT);
	mime_sb_reserve(&x->text, text_estimate(root));
	mime_preview_init(&x->pv);
	x->preview_part = choose(root).any;
	walk_text(x, root);
	if (x->text.len == x->text.max)
		trim_cut(&x->text);
	struct mime_str text, preview;
	int r = mime_sb_finish(&x->text, &text);
	if (r == 0)
		r = mime_preview_finish(&x->pv, a, &preview);
	if (r < 0)
		return r;
	out->text = text.s;
	out->text_len = text.len;
	out->preview = preview.s;
	out->preview_len = preview.len;
	return 0;
}

static int extract_ids(const uint8_t *p, const struct mime_part *root, struct arena *a,
                       struct mime_extract *out)
{
	const struct mime_envelope *env = root->envelope;
	struct mime_str id = {NULL, 0}, list[2] = {{NULL, 0}, {NULL, 0}}, refs;
	int r = 0;
	if (env->message_id.s)
		r = mime_msgid_first(a, (const uint8_t *)env->message_id.s, env->message_id.len,
		                     &id);
	struct mime_field f;
	if (r == 0 && mime_header_find(p, out->header_len, "references", &f))
		r = mime_unfold(f.value, f.value_len, a, &list[0]); /* cut at MIME_VALUE_MAX */
	list[1] = env->in_reply_to;
	if (r == 0)
		r = mime_msgid_list(a, list, 2, &id, &refs);
	if (r < 0)
		return r;
	out->message_id = id.s;
	out->references = refs.s;
	return 0;
}

int mime_extract(const uint8_t *p, size_t len, struct arena *a, struct mime_extract *out)
{
	memset(out, 0, sizeof(*out));
	struct mime_part *root;
	int r = mime_parse(p, len, a, &root);
	if (r == 0)
		r = mime_serialize(root, a, &out->blob, &out->blob_len);
	if (r < 0)
		return r;
	out->root = root;
	out->header_len = (size_t)root->body_start;
	if ((r = extract_ids(p, root, a, out)) < 0 || (r = extract_text(p, root, a, out)) < 0)
		return r;
	return 0;
}
