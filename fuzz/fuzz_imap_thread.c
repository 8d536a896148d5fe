/* fuzz_imap_thread.c: libFuzzer target for the SORT/THREAD keys and algorithms
 * (src/imap/imap_sortkey.c, imap_threading.c, RFC 5256). The input is a mailbox: one
 * message per line, its fields separated by TAB: subject, Message-ID value,
 * References value, Date value. Each field goes through the parser THREAD uses on it;
 * then both algorithms run. Checked: a base subject is never longer than its subject;
 * the answer is a well-formed list of thread-lists (RFC 5256 4: parentheses balance,
 * never "()", numbers only where the grammar has them) that names every message once;
 * ERR_NOMEM (a small arena) writes nothing. Seeds: fuzz/corpus/imap_thread/. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "imap/imap_sortkey.h"
#include "mime/mime.h"
#include "imap/imap_threading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 512
#define MAX_REFS 16
#define MAX_OUT (1u << 16)

struct refs {
	struct arena *a;
	const char **v;
	size_t *lens;
	size_t n;
};

static bool add_id(void *arg, const char *id, size_t len)
{
	struct refs *r = arg;
	char *s = arena_strndup(r->a, id, len);
	if (!s)
		return false;
	r->v[r->n] = s;
	r->lens[r->n++] = len;
	return r->n < MAX_REFS;
}

struct out {
	char b[MAX_OUT];
	size_t n;
	bool over;
};

static void collect(void *ctx, const char *p, size_t n)
{
	struct out *o = ctx;
	if (o->n + n > sizeof(o->b)) {
		o->over = true;
		return;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

/* The grammar of RFC 5256 4 and "every message once". */
static void check(const struct out *o, size_t nmsgs)
{
	static uint8_t seen[MAX_MSGS + 1];
	memset(seen, 0, sizeof(seen));
	int depth = 0;
	size_t found = 0;
	for (size_t i = 0; i < o->n; i++) {
		char c = o->b[i];
		if (c == '(') {
			depth++;
			assert(i + 1 < o->n && o->b[i + 1] != ')');
		} else if (c == ')') {
			assert(--depth >= 0);
		} else if (c == ' ') {
			assert(depth > 0 && i + 1 < o->n && o->b[i + 1] != ' ' && o->b[i + 1] != ')');
		} else {
			assert(c >= '1' && c <= '9' && depth > 0);
			unsigned v = 0;
			while (i < o->n && o->b[i] >= '0' && o->b[i] <= '9')
				v = v * 10 + (unsigned)(o->b[i++] - '0');
			i--;
			assert(v >= 1 && v <= nmsgs && !seen[v]);
			seen[v] = 1;
			found++;
		}
		if (depth == 0)
			assert(c == ')');
	}
	assert(depth == 0 && found == nmsgs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	arena_init(&a, 1u << 24);
	struct imap_thread_msg *m = arena_zalloc(&a, MAX_MSGS * sizeof(*m));
	size_t n = 0;
	const char *p = (const char *)data, *end = p + size;
	while (p < end && n < MAX_MSGS) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		const char *f[4] = {p, p, p, p};
		size_t fl[4] = {0, 0, 0, 0};
		for (int k = 0; k < 4 && p <= eol; k++) {
			const char *tab = memchr(p, '\t', (size_t)(eol - p));
			const char *e = tab ? tab : eol;
			f[k] = p;
			fl[k] = (size_t)(e - p);
			p = e + 1;
		}
		p = eol + 1;
		struct imap_thread_msg *e = &m[n];
		e->id = (uint32_t)++n;
		char *subj = arena_alloc(&a, fl[0] + 1);
		e->subject_len = mime_base_subject(f[0], fl[0], subj, &e->refwd);
		assert(e->subject_len <= fl[0]);
		e->subject = subj;
		struct refs own = {&a, arena_alloc(&a, MAX_REFS * sizeof(char *)),
				   arena_alloc(&a, MAX_REFS * sizeof(size_t)), 0};
		if (imap_sortkey_msgids(f[1], fl[1], add_id, &own)) {
			e->msgid = own.v[0];
			e->msgid_len = own.lens[0];
		}
		struct refs r = {&a, arena_alloc(&a, MAX_REFS * sizeof(char *)),
				 arena_alloc(&a, MAX_REFS * sizeof(size_t)), 0};
		imap_sortkey_msgids(f[2], fl[2], add_id, &r);
		e->refs = r.v;
		e->ref_lens = r.lens;
		e->nrefs = r.n;
		int32_t days;
		if (imap_sortkey_date(f[3], fl[3], &e->date, &days) != 0)
			e->date = (int64_t)fl[3]; /* something to sort by */
	}
	for (int alg = 0; alg < 2; alg++) {
		static struct out o;
		o.n = 0;
		o.over = false;
		int rc = alg ? imap_threading_references(m, n, &a, collect, &o)
			     : imap_threading_orderedsubject(m, n, &a, collect, &o);
		assert(rc == 0);
		if (!o.over)
			check(&o, n);
		/* with too little memory: ERR_NOMEM and nothing written */
		struct arena small;
		arena_init(&small, 256 + size);
		o.n = 0;
		rc = alg ? imap_threading_references(m, n, &small, collect, &o)
			 : imap_threading_orderedsubject(m, n, &small, collect, &o);
		assert(rc == 0 || (rc == ERR_NOMEM && o.n == 0));
		arena_free(&small);
	}
	arena_free(&a);
	return 0;
}
