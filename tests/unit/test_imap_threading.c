/* test_imap_threading.c: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 3) on
 * small mailboxes whose threads are worked out by hand from the RFC's steps (each case
 * names the step it shows), the answers Dovecot 2.3 gives for the same messages where
 * the protocol tests compare them, and hostile shapes: reference loops, duplicate and
 * self references, a reply chain of 200,000 messages (no recursion) and an arena too
 * small (ERR_NOMEM, nothing written). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "imap/imap_sortkey.h"
#include "mime/mime.h"
#include "imap/imap_threading.h"

/* A message: "subject|message-id|ref ref ...|date" (date in seconds; "" for none). */
struct spec {
	const char *subject, *msgid, *refs;
	int64_t date;
};

struct out {
	char *buf;
	size_t len, cap;
};

static void collect(void *ctx, const char *p, size_t n)
{
	struct out *o = ctx;
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		assert_non_null(o->buf);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

struct refs {
	const char *ids[8];
	size_t lens[8];
	size_t n;
	struct arena *a;
};

static bool add_ref(void *arg, const char *id, size_t len)
{
	struct refs *r = arg;
	r->ids[r->n] = arena_strndup(r->a, id, len);
	r->lens[r->n++] = len;
	return r->n < 8;
}

static bool first_id(void *arg, const char *id, size_t len)
{
	struct refs *r = arg;
	r->ids[0] = arena_strndup(r->a, id, len);
	r->lens[0] = len;
	r->n = 1;
	return false;
}

/* Build the messages as the THREAD handler would, run one algorithm. */
static char *run(const struct spec *s, size_t n, bool references)
{
	struct arena a;
	arena_init(&a, 1u << 24);
	struct imap_thread_msg *m = arena_zalloc(&a, (n ? n : 1) * sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		size_t sl = strlen(s[i].subject);
		char *subj = arena_alloc(&a, sl + 1);
		m[i].id = (uint32_t)i + 1;
		m[i].date = s[i].date;
		m[i].subject_len = mime_base_subject(s[i].subject, sl, subj, &m[i].refwd);
		m[i].subject = subj;
		struct refs own = {.a = &a}, *refs = arena_zalloc(&a, sizeof(*refs));
		refs->a = &a;
		if (s[i].msgid && imap_sortkey_msgids(s[i].msgid, strlen(s[i].msgid), first_id, &own)) {
			m[i].msgid = own.ids[0];
			m[i].msgid_len = own.lens[0];
		}
		if (s[i].refs)
			imap_sortkey_msgids(s[i].refs, strlen(s[i].refs), add_ref, refs);
		m[i].refs = refs->ids;
		m[i].ref_lens = refs->lens;
		m[i].nrefs = refs->n;
	}
	struct out o = {0};
	collect(&o, "", 0);
	int rc = references ? imap_threading_references(m, n, &a, collect, &o)
	                    : imap_threading_orderedsubject(m, n, &a, collect, &o);
	assert_int_equal(rc, 0);
	arena_free(&a);
	return o.buf;
}

static void check(const struct spec *s, size_t n, bool references, const char *want)
{
	char *got = run(s, n, references);
	if (strcmp(got, want))
		fail_msg("%s: got %s, want %s", references ? "REFERENCES" : "ORDEREDSUBJECT", got,
		         want);
	free(got);
}

#define N(x) (sizeof(x) / sizeof((x)[0]))

static void dovecot_sample(void **state)
{
	/* the messages of tests/proto/test_imap_thread.py's first case, Dovecot's answers:
	 * 3 has no Date (INTERNALDATE, earlier) and shares the base subject with 1 */
	const struct spec s[] = {
		{"Re: hello world", "<a1@x>", NULL, 1704099600},
		{"Gr\xc3\xbc\xc3\x9f" "e", "<a2@x>", "<a1@x>", 1704256200},
		{"[list] Fwd: hello world (fwd)", NULL, NULL, 1700172800},
	};
	check(s, N(s), false, "(3 1)(2)");
	check(s, N(s), true, "((3)(1 2))");
}

static void empty(void **state)
{
	check(NULL, 0, false, "");
	check(NULL, 0, true, "");
}

static void orderedsubject(void **state)
{
	/* threads by base subject, each ordered by date; roots ordered by their date;
	 * the second message is the child of the first, the rest its siblings */
	const struct spec s[] = {
		{"b", NULL, NULL, 50},   {"Re: a", NULL, NULL, 30}, {"a", NULL, NULL, 10},
		{"A", NULL, NULL, 40},   {"c", NULL, NULL, 5},      {"[x] a (fwd)", NULL, NULL, 20},
		{"b", NULL, NULL, 50},
	};
	check(s, N(s), false, "(5)(3 (6)(2)(4))(1 7)");
}

static void references_chains(void **state)
{
	/* step 1: a chain by References, replies sorted by date (6) */
	const struct spec chain[] = {
		{"s", "<a@x>", NULL, 1},
		{"Re: s", "<b@x>", "<a@x>", 2},
		{"Re: s", "<c@x>", "<a@x> <b@x>", 3},
		{"Re: s", "<d@x>", "<a@x>", 4},
	};
	check(chain, N(chain), true, "(1 (2 3)(4))");
	/* the same messages in another mailbox order: links do not depend on it */
	const struct spec shuffled[] = {
		{"Re: s", "<c@x>", "<a@x> <b@x>", 3},
		{"Re: s", "<d@x>", "<a@x>", 4},
		{"s", "<a@x>", NULL, 1},
		{"Re: s", "<b@x>", "<a@x>", 2},
	};
	check(shuffled, N(shuffled), true, "(3 (4 1)(2))");
	/* In-Reply-To alone (the handler passes its first id as the one reference) */
	const struct spec irt[] = {
		{"q", "<q@x>", NULL, 1},
		{"other subject", "<r@x>", "<q@x>", 2},
	};
	check(irt, N(irt), true, "(1 2)");
	/* step 1 B: a truncated References line is overridden by a later, longer one */
	const struct spec trunc[] = {
		{"t", "<a@x>", NULL, 1},
		{"t", "<b@x>", "<a@x>", 2},
		{"t", "<c@x>", "<a@x>", 3},       /* first guess: c under a */
		{"t", "<d@x>", "<a@x> <b@x> <c@x>", 4}, /* 1 A changes no link c has */
	};
	check(trunc, N(trunc), true, "(1 (2)(3 4))");
}

static void references_dummies(void **state)
{
	/* step 3: a missing parent with one reply is dropped, the reply promoted */
	const struct spec one[] = {{"x", "<b@x>", "<gone@x>", 1}};
	check(one, N(one), true, "(1)");
	/* ... with two replies it stays at the root as a dummy */
	const struct spec two[] = {
		{"x", "<b@x>", "<gone@x>", 2},
		{"y", "<c@x>", "<gone@x>", 1},
	};
	check(two, N(two), true, "((2)(1))");
	/* a dummy below the root level always goes: its children move up one level */
	const struct spec deep[] = {
		{"r", "<r@x>", NULL, 1},
		{"u", "<u@x>", "<r@x> <gone@x>", 2},
		{"v", "<v@x>", "<r@x> <gone@x>", 3},
	};
	check(deep, N(deep), true, "(1 (2)(3))");
	/* nested missing parents: x has y (dummy, one reply) and a reply of its own */
	const struct spec nested[] = {
		{"p", "<b@x>", "<x@x> <y@x>", 2},
		{"q", "<c@x>", "<x@x>", 1},
	};
	check(nested, N(nested), true, "((2)(1))");
}

static void references_subjects(void **state)
{
	/* step 5: unrelated roots with one base subject are gathered; a reply goes under
	 * the original */
	const struct spec reply[] = {
		{"Re: hello", "<b@x>", NULL, 2},
		{"hello", "<a@x>", NULL, 1},
	};
	check(reply, N(reply), true, "(2 1)");
	/* two originals: a new dummy holds both */
	const struct spec twins[] = {
		{"hello", "<a@x>", NULL, 1},
		{"hello", "<b@x>", NULL, 2},
		{"other", "<c@x>", NULL, 3},
	};
	check(twins, N(twins), true, "((1)(2))(3)");
	/* two replies: also a dummy (neither is the original) */
	const struct spec replies[] = {
		{"Re: hello", "<a@x>", NULL, 1},
		{"Fwd: hello", "<b@x>", NULL, 2},
	};
	check(replies, N(replies), true, "((1)(2))");
	/* a dummy root takes the other root with its subject as a child */
	const struct spec dummy[] = {
		{"Re: topic", "<b@x>", "<gone@x>", 2},
		{"Re: topic", "<c@x>", "<gone@x>", 3},
		{"topic", "<d@x>", NULL, 1},
	};
	check(dummy, N(dummy), true, "((3)(1)(2))");
	/* two dummies of one subject merge their children */
	const struct spec dummies[] = {
		{"Re: t", "<b@x>", "<g1@x>", 2}, {"Re: t", "<c@x>", "<g1@x>", 3},
		{"Re: t", "<d@x>", "<g2@x>", 1}, {"Re: t", "<e@x>", "<g2@x>", 4},
	};
	check(dummies, N(dummies), true, "((3)(1)(2)(4))");
	/* an empty base subject gathers nothing */
	const struct spec blank[] = {{"Re:", "<a@x>", NULL, 1}, {"", "<b@x>", NULL, 2}};
	check(blank, N(blank), true, "(1)(2)");
}

static void references_hostile(void **state)
{
	/* mutual references: no loop, one of them is the parent */
	const struct spec loop[] = {
		{"a", "<a@x>", "<b@x>", 1},
		{"b", "<b@x>", "<a@x>", 2},
	};
	check(loop, N(loop), true, "(2 1)");
	/* a message that references itself, and a References line with a cycle */
	const struct spec self[] = {
		{"a", "<a@x>", "<a@x>", 1},
		{"b", "<b@x>", "<c@x> <b@x> <c@x>", 2},
		{"c", "<c@x>", NULL, 3},
	};
	check(self, N(self), true, "(1)(3 2)");
	/* a duplicate Message-ID: the second message is a message of its own */
	const struct spec dup[] = {
		{"a", "<a@x>", NULL, 1},
		{"b", "<a@x>", NULL, 2},
		{"c", "<c@x>", "<a@x>", 3},
	};
	check(dup, N(dup), true, "(1 3)(2)");
	/* equal dates: mailbox order decides (RFC 5256 2.2) */
	const struct spec same[] = {
		{"z", "<a@x>", NULL, 5}, {"y", "<b@x>", NULL, 5}, {"x", "<c@x>", NULL, 5},
	};
	check(same, N(same), true, "(1)(2)(3)");
}

/* A reply chain of 200,000 messages, and as many replies to one message: linear output
 * and no recursion anywhere (this would overflow the stack otherwise). */
static void big(void **state)
{
	const size_t n = 200000;
	struct arena a;
	arena_init(&a, 1u << 28);
	struct imap_thread_msg *m = arena_zalloc(&a, n * sizeof(*m));
	char **ids = arena_alloc(&a, n * sizeof(*ids));
	size_t *lens = arena_alloc(&a, n * sizeof(*lens));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			ids[i] = arena_printf(&a, "<%zu@x>", i);
			lens[i] = strlen(ids[i]);
			m[i] = (struct imap_thread_msg){.id = (uint32_t)i + 1, .date = (int64_t)i,
			                                .subject = "s", .subject_len = 1,
			                                .msgid = ids[i], .msgid_len = lens[i]};
			if (i) { /* pass 0: the previous message; pass 1: the first */
				m[i].refs = (const char *const *)&ids[pass ? 0 : i - 1];
				m[i].ref_lens = &lens[pass ? 0 : i - 1];
				m[i].nrefs = 1;
			}
		}
		struct out o = {0};
		assert_int_equal(imap_threading_references(m, n, &a, collect, &o), 0);
		if (pass == 0) {
			assert_memory_equal(o.buf, "(1 2 3 4 ", 9);
			assert_memory_equal(o.buf + o.len - 15, " 199999 200000)", 15);
		} else {
			assert_memory_equal(o.buf, "(1 (2)(3)(4)", 12);
			assert_memory_equal(o.buf + o.len - 9, "(200000))", 9);
		}
		free(o.buf);
		o = (struct out){0};
		assert_int_equal(imap_threading_orderedsubject(m, n, &a, collect, &o), 0);
		assert_memory_equal(o.buf, "(1 (2)(3)", 9);
		free(o.buf);
	}
	arena_free(&a);
}

static void nomem(void **state)
{
	struct imap_thread_msg m[2] = {
		{.id = 1, .subject = "a", .subject_len = 1, .msgid = "<a@x>", .msgid_len = 5},
		{.id = 2, .subject = "b", .subject_len = 1, .msgid = "<b@x>", .msgid_len = 5},
	};
	const char *ref = "<a@x>";
	size_t rl = 5;
	m[1].refs = &ref;
	m[1].ref_lens = &rl;
	m[1].nrefs = 1;
	/* every arena size from nothing up: ERR_NOMEM with no output, or the full answer */
	for (size_t cap = 0; cap < 4096; cap += 8) {
		for (int alg = 0; alg < 2; alg++) {
			struct arena a;
			arena_init(&a, cap);
			struct out o = {0};
			int rc = alg ? imap_threading_references(m, 2, &a, collect, &o)
			             : imap_threading_orderedsubject(m, 2, &a, collect, &o);
			if (rc == ERR_NOMEM)
				assert_int_equal(o.len, 0);
			else
				assert_string_equal(o.buf, alg ? "(1 2)" : "(1)(2)");
			free(o.buf);
			arena_free(&a);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dovecot_sample),
		cmocka_unit_test(empty),
		cmocka_unit_test(orderedsubject),
		cmocka_unit_test(references_chains),
		cmocka_unit_test(references_dummies),
		cmocka_unit_test(references_subjects),
		cmocka_unit_test(references_hostile),
		cmocka_unit_test(big),
		cmocka_unit_test(nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
