/* fuzz_pop3_cmd.c: libFuzzer target for src/pop3/pop3_parse.c.
 * Parser: the input is fed whole, split in two at an offset taken from the input,
 * and (when short) one byte at a time; all three must yield the same results, every
 * result must respect the limits, and no call may take more than it was given.
 * Encoder: the input as a message must encode identically for any input chunking and
 * output buffer size, equal a line-based reference (so no CRLF "." CRLF can appear
 * before the terminator and the stored CRLF bytes pass unchanged), and TOP output must
 * be a line-aligned prefix of RETR output. Seeds: fuzz/corpus/pop3_cmd/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "pop3/pop3_parse.h"

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

static bool same(const struct tr *a, const struct tr *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

/* One result in a canonical form, after checking its invariants. */
static void record(struct pop3_parser *ps, int rc, struct tr *t)
{
	const struct pop3_cmd *c = &ps->cmd;
	if (rc == 0)
		return; /* "need more" is not a result: splits differ in how often */
	char hdr[96];
	int n = snprintf(hdr, sizeof(hdr), "%d:%d:%u:%d:%u:%llu|", rc, (int)c->verb, c->argc,
	                 (int)c->has_msg, (unsigned)c->msg, (unsigned long long)c->lines);
	assert(n > 0 && (size_t)n < sizeof(hdr));
	tr_add(t, hdr, (size_t)n);
	if (rc < 0)
		return;
	assert(c->verb < POP3_CMD_COUNT && c->argc <= POP3_ARGS_MAX);
	assert(c->octets >= 1 && c->octets <= LIMIT_SASL_LINE);
	if (c->verb != POP3_CMD_AUTH && c->verb != POP3_CMD_SASL_RESPONSE)
		assert(c->octets <= LIMIT_POP3_LINE);
	if (c->verb >= POP3_CMD_USER && c->verb <= POP3_CMD_LANG) {
		assert(c->argc >= pop3_verbs[c->verb].min_args);
		assert(c->argc <= pop3_verbs[c->verb].max_args);
	}
	for (unsigned i = 0; i < c->argc; i++) {
		assert(strlen(c->argv[i]) == c->argl[i]);
		for (size_t k = 0; k < c->argl[i]; k++)
			assert((unsigned char)c->argv[i][k] >= 0x20 && c->argv[i][k] != 0x7f);
		tr_add(t, c->argv[i], c->argl[i] + 1);
	}
	if (c->keyword)
		tr_add(t, c->keyword, strlen(c->keyword) + 1);
}

/* Feed p[0..len) to the parser, with AUTH-without-response switching to SASL mode
 * as the session does. */
static void feed(struct pop3_parser *ps, struct arena *ca, const uint8_t *p, size_t len,
                 struct tr *t)
{
	size_t off = 0;
	for (;;) {
		size_t used = 0;
		int rc = pop3_parse(ps, p + off, len - off, &used);
		assert(used <= len - off);
		off += used;
		record(ps, rc, t);
		if (rc > 0 && ps->cmd.verb == POP3_CMD_AUTH && ps->cmd.argc == 1)
			pop3_parse_expect_sasl(ps);
		if (rc != 0)
			pop3_cmd_wipe(&ps->cmd);
		arena_reset(ca);
		if (rc == 0) {
			assert(off == len);
			return;
		}
		if (off == len || rc == ERR_NOMEM)
			return;
	}
}

/* Parse with the input cut at the given offsets (ascending, ending with size). */
static struct tr parse_with(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts)
{
	struct arena sa, ca;
	struct pop3_parser ps;
	struct tr t = {0};
	arena_init(&sa, LIMIT_SESSION_ARENA);
	arena_init(&ca, LIMIT_COMMAND_ARENA);
	pop3_parse_init(&ps, &sa, &ca);
	size_t prev = 0;
	for (size_t i = 0; i < ncuts; i++) {
		feed(&ps, &ca, data + prev, cuts[i] - prev, &t);
		prev = cuts[i];
	}
	arena_free(&sa);
	arena_free(&ca);
	return t;
}

static void check_parser(const uint8_t *data, size_t size)
{
	size_t whole_cut = size;
	struct tr whole = parse_with(data, size, &whole_cut, 1);
	size_t k = size ? (size_t)data[0] * 131 % (size + 1) : 0;
	size_t cuts[2] = {k, size};
	struct tr split = parse_with(data, size, cuts, 2);
	assert(same(&split, &whole));
	free(split.s);
	if (size <= 1024) {
		size_t *each = malloc((size + 1) * sizeof(*each));
		assert(each);
		for (size_t i = 0; i < size; i++)
			each[i] = i + 1;
		struct tr bytes = parse_with(data, size, each, size);
		assert(same(&bytes, &whole));
		free(bytes.s);
		free(each);
	}
	free(whole.s);
}

static struct tr encode(const uint8_t *in, size_t len, bool top, uint64_t lines, size_t chunk,
                        size_t cap)
{
	struct pop3_dot d;
	struct tr t = {0};
	uint8_t *store = malloc(cap);
	struct buf out;
	assert(store);
	buf_init(&out, store, cap);
	if (top)
		pop3_dot_init_top(&d, lines);
	else
		pop3_dot_init(&d);
	size_t off = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, used;
		int rc = pop3_dot_encode(&d, in + off, n, &used, &out);
		assert(used <= n);
		off += used;
		tr_add(&t, out.data, out.len);
		buf_clear(&out);
		if (rc == 1)
			break;
	}
	for (int guard = 0;; guard++) {
		assert(guard < 16);
		int rc = pop3_dot_finish(&d, &out);
		tr_add(&t, out.data, out.len);
		buf_clear(&out);
		if (rc == 1)
			break;
	}
	free(store);
	return t;
}

/* The RFC 1939 3 wire form, computed line by line. */
static struct tr reference(const uint8_t *in, size_t len)
{
	struct tr t = {0};
	size_t i = 0;
	while (i < len) {
		const uint8_t *lf = memchr(in + i, '\n', len - i);
		size_t end = lf ? (size_t)(lf - in) : len;
		if (in[i] == '.')
			tr_add(&t, ".", 1);
		tr_add(&t, in + i, end - i);
		if (end > i && in[end - 1] == '\r')
			tr_add(&t, "\n", 1);
		else
			tr_add(&t, "\r\n", 2);
		i = lf ? end + 1 : len;
	}
	tr_add(&t, ".\r\n", 3);
	return t;
}

static void check_encoder(const uint8_t *data, size_t size)
{
	size_t chunk = size ? (size_t)data[0] % 17 + 1 : 1;
	size_t cap = size > 1 ? (size_t)data[1] % 9 + 1 : 1;
	struct tr ref = reference(data, size);
	struct tr whole = encode(data, size, false, 0, size ? size : 1, 2 * size + 8);
	assert(same(&whole, &ref));
	struct tr small = encode(data, size, false, 0, chunk, cap);
	assert(same(&small, &ref));
	/* No end-of-response marker before the real one. */
	const char *end = ".\r\n";
	assert(ref.len >= 3 && memcmp(ref.s + ref.len - 3, end, 3) == 0);
	assert(ref.len == 3 || (ref.len >= 5 && memcmp(ref.s + ref.len - 5, "\r\n", 2) == 0));
	for (size_t i = 0; i + 5 <= ref.len - 3; i++)
		assert(memcmp(ref.s + i, "\r\n.\r\n", 5) != 0);
	if (ref.len > 3)
		assert(memcmp(ref.s, ".\r\n", 3) != 0);
	/* TOP is a line-aligned prefix of RETR. */
	uint64_t lines = size > 2 ? data[2] % 5 : 0;
	struct tr top = encode(data, size, true, lines, chunk, cap);
	struct tr top2 = encode(data, size, true, lines, size ? size : 1, 2 * size + 8);
	assert(same(&top, &top2));
	assert(top.len >= 3 && top.len <= ref.len);
	size_t body = top.len - 3;
	assert(body == 0 || memcmp(top.s, ref.s, body) == 0);
	assert(memcmp(top.s + body, end, 3) == 0);
	assert(body == 0 || top.s[body - 1] == '\n');
	free(top.s);
	free(top2.s);
	free(small.s);
	free(whole.s);
	free(ref.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parser(data, size);
	check_encoder(data, size);
	return 0;
}
