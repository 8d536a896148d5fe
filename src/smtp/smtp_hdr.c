/* smtp_hdr.c: the header filter between the body readers and the spool: removes
 * client-supplied Return-Path fields (and Bcc fields when asked) and copies the From
 * value (decisions in smtp_hdr.h).
 * Owns nothing: at most SMTP_HDR_HOLD bytes of a field name are held in the struct; the
 * From copy goes into the caller's fixed-capacity buffer. Runs of input pass to the sink
 * in one call each, so the body section costs one call per read. */
#include "smtp/smtp_hdr.h"

#include <string.h>

#include "core/err.h"
#include "core/banned.h"

static const char name_return_path[] = "return-path";
static const char name_from[] = "from";
static const char name_bcc[] = "bcc";

int smtp_hdr_init(struct smtp_hdr_filter *f, struct buf *from, smtp_sink_fn sink, void *ctx)
{
	memset(f, 0, sizeof(*f));
	if (!sink)
		return ERR_INVAL;
	f->sink = sink;
	f->ctx = ctx;
	f->from = from;
	if (from)
		buf_clear(from);
	f->state = SMTP_HDR_ST_BOL;
	f->fate = SMTP_HDR_PASS; /* a continuation line at the very start is kept */
	return 0;
}

static int out(struct smtp_hdr_filter *f, const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	int r = f->sink(f->ctx, p, n);
	if (r == 0)
		f->out_bytes += n;
	return r;
}

/* Copy value bytes of a From field, unfolded: line ends are left out. */
static void capture(struct smtp_hdr_filter *f, const uint8_t *p, size_t n)
{
	if (!f->from || f->fate != SMTP_HDR_CAPTURE || f->from_over)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		if (buf_append(f->from, p + i, 1) < 0) {
			f->from_over = true;
			return;
		}
	}
}

static bool wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* The first byte of a field line: which name could it start? */
static const char *name_for(const struct smtp_hdr_filter *f, uint8_t c)
{
	c = lower(c);
	if (c == (uint8_t)name_return_path[0])
		return name_return_path;
	if (c == (uint8_t)name_from[0])
		return name_from;
	if (f->drop_bcc && c == (uint8_t)name_bcc[0])
		return name_bcc;
	return NULL;
}

/* The held name is complete and the next byte c decides what the field is. Returns the
 * new state; *consume says whether c was used up here. */
static enum smtp_hdr_state name_done(struct smtp_hdr_filter *f, uint8_t c, bool *consume)
{
	*consume = false;
	if ((f->name == name_return_path || f->name == name_bcc) && (c == ':' || wsp(c))) {
		f->fate = SMTP_HDR_DROP;
		f->dropped++;
		return SMTP_HDR_ST_LINE; /* c is dropped with the line */
	}
	f->fate = SMTP_HDR_PASS;
	if (f->name == name_from && c == ':') {
		f->fate = SMTP_HDR_CAPTURE;
		f->from_fields++;
		*consume = true; /* the colon passes but is not part of the value */
		return SMTP_HDR_ST_LINE;
	}
	if (f->name == name_from && wsp(c)) {
		*consume = true;
		return SMTP_HDR_ST_FROM_WSP;
	}
	return SMTP_HDR_ST_LINE;
}

int smtp_hdr_write(void *arg, const uint8_t *p, size_t n)
{
	static const uint8_t cr = '\r';
	struct smtp_hdr_filter *f = arg;
	size_t i = 0, run = 0; /* p[run..i) passes on and has not been written yet */
	int r = 0;
	while (i < n && r == 0) {
		uint8_t c = p[i];
		switch (f->state) {
		case SMTP_HDR_ST_BOL:
			if (wsp(c)) {
				f->state = SMTP_HDR_ST_LINE; /* a folded line: the field's fate */
			} else if (c == '\n') {
				i++;
				f->state = SMTP_HDR_ST_BODY;
			} else if (c == '\r') {
				r = out(f, p + run, i - run);
				run = ++i;
				f->state = SMTP_HDR_ST_BOL_CR;
			} else if ((f->name = name_for(f, c)) != NULL) {
				r = out(f, p + run, i - run);
				f->hold[0] = c;
				f->hold_len = 1;
				run = ++i;
				f->state = SMTP_HDR_ST_NAME;
			} else {
				f->fate = SMTP_HDR_PASS;
				f->state = SMTP_HDR_ST_LINE;
			}
			break;
		case SMTP_HDR_ST_BOL_CR:
			r = out(f, &cr, 1); /* the held CR passes either way */
			if (c == '\n') {
				i++;
				f->state = SMTP_HDR_ST_BODY;
			} else {
				f->fate = SMTP_HDR_PASS; /* a line that starts with CR is no field */
				f->state = SMTP_HDR_ST_LINE;
			}
			break;
		case SMTP_HDR_ST_NAME: {
			size_t len = strlen(f->name);
			if (f->hold_len < len && lower(c) == (uint8_t)f->name[f->hold_len]) {
				f->hold[f->hold_len++] = c;
				run = ++i;
				break;
			}
			bool consume = false;
			enum smtp_hdr_state next = SMTP_HDR_ST_LINE;
			if (f->hold_len == len) {
				next = name_done(f, c, &consume);
			} else {
				f->fate = SMTP_HDR_PASS;
			}
			if (f->fate != SMTP_HDR_DROP)
				r = out(f, f->hold, f->hold_len);
			f->hold_len = 0;
			if (consume)
				i++;
			if (f->fate == SMTP_HDR_DROP)
				run = i; /* nothing of the line before i passes */
			f->state = next;
			break;
		}
		case SMTP_HDR_ST_FROM_WSP:
			if (c == ':') {
				f->fate = SMTP_HDR_CAPTURE;
				f->from_fields++;
				i++;
				f->state = SMTP_HDR_ST_LINE;
			} else if (wsp(c)) {
				i++;
			} else {
				f->state = SMTP_HDR_ST_LINE; /* "From x": not a field, passes */
			}
			break;
		case SMTP_HDR_ST_LINE: {
			const uint8_t *lf = memchr(p + i, '\n', n - i);
			size_t end = lf ? (size_t)(lf - p) + 1 : n;
			capture(f, p + i, end - i);
			if (f->fate == SMTP_HDR_DROP) {
				r = out(f, p + run, i - run);
				run = end;
			}
			i = end;
			if (lf)
				f->state = SMTP_HDR_ST_BOL;
			break;
		}
		case SMTP_HDR_ST_BODY:
			i = n;
			break;
		}
	}
	if (r == 0)
		r = out(f, p + run, i - run);
	return r;
}

int smtp_hdr_finish(struct smtp_hdr_filter *f)
{
	static const uint8_t cr = '\r';
	int r = 0;
	if (f->state == SMTP_HDR_ST_NAME)
		r = out(f, f->hold, f->hold_len); /* the input ended inside the name */
	else if (f->state == SMTP_HDR_ST_BOL_CR)
		r = out(f, &cr, 1);
	f->hold_len = 0;
	f->state = SMTP_HDR_ST_BODY;
	return r;
}
