/* fuzz_client_imap.c: libFuzzer target for src/client/client_imap_parse.c, the parser of
 * what an IMAP server sends the client, and the reader of STATUS data on top of it
 * (client_imap_status_parse, every untagged STATUS response). The input is fed whole, split in two at an
 * offset taken from the input, and (when short) one byte at a time; all must give the
 * same transcript. Small bounds (from the first input byte) reach every limit; no call
 * may take more than it was given, and handed-out pieces must be contiguous and within
 * their literal. Seeds: fuzz/corpus/client_imap/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_imap.h"
#include "client/client_imap_parse.h"
#include "core/arena.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tr {
	uint8_t *s;
	size_t len, cap;
};

static void tr_add(struct tr *t, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (t->len + n > t->cap) {
		size_t cap = (t->cap + n) * 2;
		uint8_t *s = realloc(t->s, cap);
		assert(s);
		t->s = s;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
}

static void tr_toks(struct tr *t, const struct client_imap_tok *k, unsigned depth)
{
	for (; k; k = k->next) {
		uint8_t hdr[2] = {(uint8_t)k->type, (uint8_t)depth};
		tr_add(t, hdr, 2);
		tr_add(t, &k->len, sizeof(k->len));
		if (k->s)
			tr_add(t, k->s, (size_t)k->len);
		if (k->type == CLIENT_IMAP_TOK_LIST)
			tr_toks(t, k->child, depth + 1);
		tr_add(t, ")", 1);
	}
}

struct cfg {
	size_t line, items, hold;
	unsigned depth;
	uint64_t literal;
};

struct feeder {
	struct arena ia, ra;
	struct client_imap_parser ps;
	struct tr tr;
	uint64_t next_off;
	bool dead;
};

static void feed(struct feeder *f, const uint8_t *p, size_t n)
{
	while (!f->dead && n > 0) {
		size_t used = 0;
		int rc = client_imap_parse(&f->ps, p, n, &used);
		assert(used <= n);
		if (rc < 0) {
			tr_add(&f->tr, "E", 1);
			tr_add(&f->tr, &rc, sizeof(rc));
			f->dead = true;
			return;
		}
		if (rc == CLIENT_IMAP_PARSE_DATA) {
			assert(f->ps.data >= p && f->ps.data + f->ps.data_len <= p + n);
			assert(f->ps.data_off == f->next_off && f->ps.data_len > 0);
			assert(f->ps.data_off + f->ps.data_len <= f->ps.data_total);
			assert(f->ps.data_total > f->ps.hold_max);
			f->next_off = f->ps.data_off + f->ps.data_len;
			if (f->next_off == f->ps.data_total)
				f->next_off = 0;
			tr_add(&f->tr, f->ps.data, f->ps.data_len);
		} else if (rc == CLIENT_IMAP_PARSE_RESPONSE) {
			const struct client_imap_resp *r = f->ps.resp;
			uint8_t hdr[2] = {(uint8_t)r->kind, (uint8_t)r->status};
			tr_add(&f->tr, "R", 1);
			tr_add(&f->tr, hdr, 2);
			if (r->tag)
				tr_add(&f->tr, r->tag, strlen(r->tag) + 1);
			if (r->code)
				tr_add(&f->tr, r->code, strlen(r->code) + 1);
			tr_toks(&f->tr, r->code_args, 0);
			tr_add(&f->tr, r->text, strlen(r->text) + 1);
			tr_toks(&f->tr, r->toks, 0);
			if (r->kind == CLIENT_IMAP_RESP_UNTAGGED && client_imap_tok_is(r->toks, "STATUS")) {
				struct client_imap_mailbox_status ms;
				const struct client_imap_tok *nm = NULL;
				int e = client_imap_status_parse(r->toks->next, &nm, &ms);
				assert(e == 0 || e == ERR_BAD_SYNTAX);
				assert(e < 0 || (nm && ms.highestmodseq <= (uint64_t)INT64_MAX));
				tr_add(&f->tr, &e, sizeof(e));
				if (e == 0)
					tr_add(&f->tr, &ms, sizeof(ms));
			}
			arena_reset(&f->ra);
		} else {
			assert(rc == 0 && used == n);
		}
		p += used;
		n -= used;
	}
}

static void run(const struct cfg *c, const uint8_t *p, size_t n, size_t cut, bool bytewise,
		struct tr *out)
{
	struct feeder f;
	memset(&f, 0, sizeof(f));
	arena_init(&f.ia, 1u << 22);
	arena_init(&f.ra, 1u << 24);
	int r = client_imap_parser_init(&f.ps, &f.ia, &f.ra, c->line, c->depth, c->items,
					c->hold, c->literal);
	assert(r == 0);
	if (bytewise) {
		for (size_t i = 0; i < n; i++)
			feed(&f, p + i, 1);
	} else {
		feed(&f, p, cut);
		feed(&f, p + cut, n - cut);
	}
	*out = f.tr;
	arena_free(&f.ia);
	arena_free(&f.ra);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct cfg c = {
		.line = 16 + (size_t)(data[0] & 0x3f) * 8,
		.depth = 1 + (data[0] >> 6),
		.items = 4 + (size_t)(data[1] & 0x1f) * 4,
		.hold = (size_t)(data[1] >> 5) * 4,
		.literal = 64,
	};
	data += 2;
	size -= 2;
	size_t cut = size ? (size_t)data[0] % (size + 1) : 0;
	struct tr whole, split, bytes;
	run(&c, data, size, size, false, &whole);
	run(&c, data, size, cut, false, &split);
	assert(whole.len == split.len && (!whole.len || !memcmp(whole.s, split.s, whole.len)));
	if (size <= 4096) {
		run(&c, data, size, 0, true, &bytes);
		assert(whole.len == bytes.len &&
		       (!whole.len || !memcmp(whole.s, bytes.s, whole.len)));
		free(bytes.s);
	}
	free(whole.s);
	free(split.s);
	return 0;
}
