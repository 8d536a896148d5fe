/* dkim_canon.c: the "simple" and "relaxed" canonicalizations of RFC 6376 3.4, for the
 * body as a stream (fixed memory: held-back empty lines are a count) and for one header
 * field in memory. Output goes to a sink in pieces of at most sizeof(out) bytes. */
#include "outbound/dkim_int.h"

#include <string.h>

#include "core/banned.h"

static void canon_flush(struct dkim_body_canon *c)
{
	if (c->out_len) {
		c->sink(c->ctx, c->out, c->out_len);
		c->out_len = 0;
	}
}

static void canon_put(struct dkim_body_canon *c, uint8_t b)
{
	if (c->out_len == sizeof(c->out))
		canon_flush(c);
	c->out[c->out_len++] = b;
	c->any = true;
}

void dkim_body_canon_init(struct dkim_body_canon *c, enum dkim_canon mode, dkim_sink_fn sink,
                          void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->sink = sink;
	c->ctx = ctx;
}

/* A byte of a line's content: first the empty lines held back before it (they were not
 * trailing after all), then in relaxed mode the whitespace run before it as one SP. */
static void canon_content(struct dkim_body_canon *c, uint8_t b)
{
	if (c->mode == DKIM_CANON_RELAXED && (b == ' ' || b == '\t')) {
		c->wsp = true;
		return;
	}
	for (; c->empty_lines; c->empty_lines--) {
		canon_put(c, '\r');
		canon_put(c, '\n');
	}
	if (c->wsp) {
		canon_put(c, ' ');
		c->wsp = false;
	}
	canon_put(c, b);
	c->line_content = true;
}

/* A line end: relaxed drops the whitespace at the end of the line (3.4.4 b); an empty
 * line is held back in case it is one of the trailing ones (3.4.3, 3.4.4 c). */
static void canon_line_end(struct dkim_body_canon *c)
{
	c->wsp = false;
	if (c->line_content) {
		canon_put(c, '\r');
		canon_put(c, '\n');
		c->line_content = false;
	} else {
		c->empty_lines++;
	}
}

void dkim_body_canon_feed(struct dkim_body_canon *c, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t b = p[i];
		if (c->cr) {
			c->cr = false;
			if (b == '\n') {
				canon_line_end(c);
				continue;
			}
			canon_content(c, '\r'); /* a bare CR is content */
		}
		if (b == '\r')
			c->cr = true;
		else if (b == '\n')
			canon_line_end(c); /* a bare LF ends the line like CRLF */
		else
			canon_content(c, b);
	}
}

void dkim_body_canon_finish(struct dkim_body_canon *c)
{
	if (c->cr) {
		c->cr = false;
		canon_content(c, '\r');
	}
	/* a last line without its line end gets one (3.4.3; 3.4.4 reads the same way) */
	if (c->line_content)
		canon_line_end(c);
	/* simple: an empty body is one CRLF (3.4.3); relaxed: empty (erratum 1384) */
	if (c->mode == DKIM_CANON_SIMPLE && !c->any) {
		canon_put(c, '\r');
		canon_put(c, '\n');
	}
	canon_flush(c);
}

/* ---- header fields ---- */

struct canon_out {
	dkim_sink_fn sink;
	void *ctx;
	uint8_t buf[256];
	size_t len;
};

static void out_put(struct canon_out *o, uint8_t b)
{
	if (o->len == sizeof(o->buf)) {
		o->sink(o->ctx, o->buf, o->len);
		o->len = 0;
	}
	o->buf[o->len++] = b;
}

static void out_flush(struct canon_out *o)
{
	if (o->len)
		o->sink(o->ctx, o->buf, o->len);
	o->len = 0;
}

/* The field without its final line end (CRLF or LF). */
static size_t field_trim_end(const uint8_t *p, size_t len)
{
	if (len && p[len - 1] == '\n') {
		len--;
		if (len && p[len - 1] == '\r')
			len--;
	}
	return len;
}

static void header_simple(const uint8_t *p, size_t len, struct canon_out *o)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			out_put(o, '\r'); /* LF line ends as CRLF */
		out_put(o, p[i]);
	}
}

static void header_relaxed(const uint8_t *p, size_t len, struct canon_out *o)
{
	const uint8_t *colon = memchr(p, ':', len);
	size_t name_end = colon ? (size_t)(colon - p) : len;
	size_t n = name_end;
	/* 3.4.2: the name lower-cased, whitespace before ':' removed */
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];
		if (b == '\r' || b == '\n')
			continue; /* only a field without ':' folds in its name: unfold it too */
		out_put(o, (b >= 'A' && b <= 'Z') ? (uint8_t)(b + 32) : b);
	}
	if (!colon)
		return;
	out_put(o, ':');
	/* the value unfolded, whitespace runs as one SP, none at its start or end */
	bool wsp = false, started = false;
	for (size_t i = name_end + 1; i < len; i++) {
		uint8_t b = p[i];
		if (b == ' ' || b == '\t') {
			wsp = true;
			continue;
		}
		if (b == '\n')
			continue; /* a fold: the WSP after it counts as whitespace */
		if (b == '\r' && i + 1 < len && p[i + 1] == '\n')
			continue;
		if (wsp && started)
			out_put(o, ' ');
		wsp = false;
		started = true;
		out_put(o, b);
	}
}

void dkim_header_canon(enum dkim_canon mode, const uint8_t *p, size_t len, bool crlf,
                       dkim_sink_fn sink, void *ctx)
{
	struct canon_out o = {.sink = sink, .ctx = ctx};
	len = field_trim_end(p, len);
	if (mode == DKIM_CANON_SIMPLE)
		header_simple(p, len, &o);
	else
		header_relaxed(p, len, &o);
	if (crlf) {
		out_put(&o, '\r');
		out_put(&o, '\n');
	}
	out_flush(&o);
}
