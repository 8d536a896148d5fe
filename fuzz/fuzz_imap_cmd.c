/* fuzz_imap_cmd.c: libFuzzer target for the IMAP command reader (src/imap/imap_parse.c,
 * imap_parse_token.c). The first input octet picks the mode (authenticated or not,
 * small limits, refusing literals); the rest is fed whole, split in two at an offset
 * taken from the input, and (when short) one byte at a time, acting as the session
 * does: "+" for CONTINUE, the octets of a STREAM taken and imap_parse_stream_done(), one
 * imap_parse_line() after IDLE and AUTHENTICATE, the command arena reset after every
 * result. All three runs must give the same transcript. Invariants: no call takes more
 * than it was given; 0 only when all of it was taken; every tree is well formed (counts,
 * nesting within the limit, NUL-terminated strings); the command arena never holds more
 * than the limits allow (total + lines + argument nodes). Seeds: fuzz/corpus/imap_cmd/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tr {
	char *s;
	size_t len, cap;
};

static void tr_add(struct tr *t, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (t->len + n > t->cap) {
		size_t cap = (t->cap + n) * 2;
		char *s = realloc(t->s, cap);
		assert(s);
		t->s = s;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
}

static void tr_num(struct tr *t, const char *what, uint64_t v)
{
	char b[48];
	int n = snprintf(b, sizeof(b), "%s%llu;", what, (unsigned long long)v);
	assert(n > 0 && (size_t)n < sizeof(b));
	tr_add(t, b, (size_t)n);
}

static bool same(const struct tr *a, const struct tr *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

struct mode {
	bool auth, small, refuse;
};

struct run {
	struct imap_parser ps;
	struct arena ca;
	struct tr t;
	const struct mode *m;
	uint64_t stream_left;
	bool line_next; /* the next input is an AUTHENTICATE or IDLE line */
	bool closed;
};

/* The tree, checked and written down; returns the number of arguments in this list,
 * adds those of every list to *all. */
static size_t tree(struct tr *t, const struct imap_arg *a, size_t depth, size_t max_depth,
                   size_t *all)
{
	size_t n = 0;
	assert(depth <= max_depth);
	for (; a; a = a->next, n++) {
		tr_num(t, "t", (uint64_t)a->type);
		assert(a->s && a->s[a->len] == '\0');
		tr_add(t, a->s, a->len);
		if (a->type == IMAP_ARG_LIST) {
			assert(tree(t, a->list, depth + 1, max_depth, all) == a->count);
			tr_add(t, ")", 1);
		} else {
			assert(a->list == NULL && a->count == 0);
		}
		if (a->type == IMAP_ARG_STREAM)
			tr_num(t, "s", a->size);
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_NIL)
			assert(a->len > 0 && memchr(a->s, '\0', a->len) == NULL);
	}
	*all += n;
	return n;
}

static void command(struct run *r, const char *what, const struct imap_cmd *c)
{
	tr_add(&r->t, what, strlen(what));
	assert(c && c->tag && c->tag[0]);
	assert(c->verb > IMAP_VERB_NONE && c->verb < IMAP_VERB_COUNT);
	assert(!c->uid || imap_verb_uid_ok(c->verb));
	assert((c->line == NULL) == imap_verbs[c->verb].secret);
	assert(!c->line || strlen(c->line) <= LIMIT_IMAP_LOG_LINE);
	tr_add(&r->t, c->tag, strlen(c->tag) + 1);
	tr_num(&r->t, "v", (uint64_t)c->verb + (c->uid ? 1000 : 0));
	size_t top = 0;
	for (const struct imap_arg *a = c->args; a; a = a->next)
		top++;
	assert(top == c->nargs);
	size_t all = 0;
	assert(tree(&r->t, c->args, 0, r->ps.lim.depth, &all) == c->nargs);
	assert(all <= r->ps.lim.args);
	/* memory: held octets within total, the line copies, the nodes */
	size_t bound = r->ps.lim.total + 3 * r->ps.lim.line +
	               r->ps.lim.args * (sizeof(struct imap_arg) + 48) + 4096;
	assert(r->ca.used <= bound);
}

static void result(struct run *r, int rc, struct imap_cmd *cmd)
{
	tr_num(&r->t, "r", (uint64_t)(int64_t)rc);
	if (rc < 0) {
		const struct imap_parse_err *e = &r->ps.err;
		assert(e->text && (!strncmp(e->text, "BAD ", 4) || !strncmp(e->text, "NO ", 3)));
		tr_add(&r->t, e->text, strlen(e->text));
		if (e->tag)
			tr_add(&r->t, e->tag, strlen(e->tag) + 1);
		r->closed = e->must_close;
		assert(cmd == NULL);
		arena_reset(&r->ca);
		return;
	}
	if (rc == IMAP_PARSE_DONE) {
		command(r, "D", cmd);
		r->line_next = cmd->verb == IMAP_VERB_IDLE || cmd->verb == IMAP_VERB_AUTHENTICATE;
		arena_reset(&r->ca);
		return;
	}
	command(r, rc == IMAP_PARSE_CONTINUE ? "C" : "S", cmd);
	if (r->m->refuse) {
		imap_parse_refuse_literal(&r->ps);
		arena_reset(&r->ca);
		return;
	}
	if (rc == IMAP_PARSE_STREAM) {
		assert(r->ps.stream_size <= r->ps.lim.stream);
		tr_num(&r->t, "n", r->ps.stream_size);
		r->stream_left = r->ps.stream_size;
		if (r->stream_left == 0)
			imap_parse_stream_done(&r->ps);
	}
}

static void feed(struct run *r, const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (!r->closed) {
		size_t used = (size_t)-1;
		if (r->stream_left) {
			size_t take =
			    len - off < r->stream_left ? len - off : (size_t)r->stream_left;
			tr_add(&r->t, p + off, take);
			off += take;
			r->stream_left -= take;
			if (r->stream_left == 0)
				imap_parse_stream_done(&r->ps);
			if (off == len)
				return;
			continue;
		}
		if (r->line_next) {
			const char *line;
			size_t n;
			int rc = imap_parse_line(&r->ps, p + off, len - off, &used, &line, &n);
			assert(used <= len - off);
			off += used;
			if (rc == 0) {
				assert(off == len);
				return;
			}
			r->line_next = false;
			tr_num(&r->t, "l", (uint64_t)(int64_t)rc);
			if (rc > 0) {
				assert(line[n] == '\0' && n < r->ps.lim.line);
				tr_add(&r->t, line, n);
			} else {
				r->closed = r->ps.err.must_close;
			}
			arena_reset(&r->ca);
			continue;
		}
		struct imap_cmd *cmd = NULL;
		int rc = imap_parse(&r->ps, p + off, len - off, &used, &cmd);
		assert(used <= len - off);
		off += used;
		if (rc == 0) {
			assert(off == len && cmd == NULL);
			return;
		}
		result(r, rc, cmd);
	}
}

static struct tr parse_with(const struct mode *m, const uint8_t *data, size_t size,
                            const size_t *cuts, size_t ncuts)
{
	struct run r;
	memset(&r, 0, sizeof(r));
	r.m = m;
	arena_init(&r.ca, LIMIT_COMMAND_ARENA);
	imap_parser_init(&r.ps, &r.ca, m->small ? 300 : 0);
	if (m->auth)
		imap_parser_set_auth(&r.ps, true);
	if (m->small) {
		/* small limits, so the fuzzer reaches them */
		struct imap_limits lim = {.line = 100,
		                          .literal = 40,
		                          .total = 200,
		                          .literal_minus = 20,
		                          .depth = 3,
		                          .args = 12,
		                          .stream = 300,
		                          .discard = 250};
		imap_parser_set_limits(&r.ps, &lim);
	}
	size_t prev = 0;
	for (size_t i = 0; i < ncuts; i++) {
		feed(&r, data + prev, cuts[i] - prev);
		prev = cuts[i];
	}
	arena_free(&r.ca);
	return r.t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct mode m = {.auth = data[0] & 1, .small = data[0] & 2, .refuse = data[0] & 4};
	data++;
	size--;
	size_t whole_cut = size;
	struct tr whole = parse_with(&m, data, size, &whole_cut, 1);
	size_t k = size ? (size_t)data[0] * 131 % (size + 1) : 0;
	size_t cuts[2] = {k, size};
	struct tr split = parse_with(&m, data, size, cuts, 2);
	assert(same(&split, &whole));
	free(split.s);
	if (size <= 2048) {
		size_t *each = malloc((size + 1) * sizeof(*each));
		assert(each);
		for (size_t i = 0; i < size; i++)
			each[i] = i + 1;
		struct tr bytes = parse_with(&m, data, size, each, size);
		assert(same(&bytes, &whole));
		free(bytes.s);
		free(each);
	}
	free(whole.s);
	return 0;
}
