/* test_imap_fmt_corpus.c: kasten's FETCH answers compared byte for byte with Dovecot's.
 * For every tests/corpus/imap/NAME.eml, NAME.golden holds what a private Dovecot 2.3
 * answered (recorded by tests/corpus/imap/make_golden.py): ENVELOPE, BODYSTRUCTURE,
 * BODY and body sections. The message is parsed as the store does it (mime_parse,
 * mime_serialize, mime_deserialize) and each item is formatted and compared.
 *
 * Where kasten differs on purpose, NAME.except holds, for each such item, a line
 * "# ITEM: why (RFC section)" and kasten's own answer in the golden format; the test
 * then checks that answer, and that it really differs from Dovecot's (a stale
 * exception fails). Run with --print NAME to see kasten's answers in the golden format.
 *
 * File format (both): "== ITEM LEN\n" LEN bytes "\n", or "== ITEM NIL\n" / "== ITEM NO\n";
 * an .except file also has "#" comment lines between blocks. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "imap/imap_fmt.h"
#include "mime/mime.h"

#ifndef IMAP_CORPUS_DIR
#error "IMAP_CORPUS_DIR must name tests/corpus/imap (tests/unit/meson.build sets it)"
#endif

#define ARENA_CAP (64u << 20)
#define CORPUS_MIN 40 /* the corpus the issue asks for; fewer means files went missing */
#define NAMES_MAX 512
#define BLOCKS_MAX 256

struct block {
	char item[512];
	enum { B_VALUE, B_NIL, B_NO } kind;
	const uint8_t *p;
	size_t len;
	bool reasoned; /* .except: a "# ITEM:" line explains it */
	bool used;
};

struct file {
	uint8_t *p;
	size_t len;
};

static struct arena A;

static void out_write(void *ctx, const void *p, size_t n)
{
	if (buf_append(ctx, p, n) < 0)
		fail_msg("output buffer full");
}

static bool read_file(const char *dir, const char *name, const char *ext, struct file *f)
{
	char path[1024];
	int n = snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return false;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	long size = ftell(fp);
	assert_true(size >= 0);
	assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
	f->len = (size_t)size;
	f->p = arena_alloc(&A, f->len + 1);
	assert_non_null(f->p);
	assert_int_equal(fread(f->p, 1, f->len, fp), f->len);
	f->p[f->len] = 0;
	fclose(fp);
	return true;
}

/* Blocks of a .golden or .except file; returns their number. */
static size_t parse_blocks(const struct file *f, struct block *b, size_t max, const char *what)
{
	size_t i = 0, n = 0;
	char reasons[BLOCKS_MAX][512];
	size_t nreasons = 0;
	while (i < f->len) {
		const uint8_t *nl = memchr(f->p + i, '\n', f->len - i);
		if (!nl)
			fail_msg("%s: line without end at %zu", what, i);
		size_t ll = (size_t)(nl - (f->p + i));
		const char *line = (const char *)f->p + i;
		i += ll + 1;
		if (ll > 0 && line[0] == '#') {
			/* "# ITEM: why"; the ITEM ends at ": " */
			const char *c = memmem(line, ll, ": ", 2);
			if (c && line[1] == ' ' && nreasons < BLOCKS_MAX) {
				size_t il = (size_t)(c - line) - 2;
				snprintf(reasons[nreasons++], 512, "%.*s", (int)il, line + 2);
			}
			continue;
		}
		if (ll < 4 || memcmp(line, "== ", 3) != 0)
			fail_msg("%s: bad line at %zu", what, i);
		assert_true(n < max);
		struct block *bl = &b[n++];
		memset(bl, 0, sizeof(*bl));
		const char *sp = memrchr(line, ' ', ll);
		size_t il = (size_t)(sp - line) - 3;
		assert_true(il < sizeof(bl->item));
		memcpy(bl->item, line + 3, il);
		const char *tail = sp + 1;
		size_t tl = ll - (size_t)(tail - line);
		if (tl == 3 && memcmp(tail, "NIL", 3) == 0) {
			bl->kind = B_NIL;
		} else if (tl == 2 && memcmp(tail, "NO", 2) == 0) {
			bl->kind = B_NO;
		} else {
			bl->kind = B_VALUE;
			bl->len = strtoul(tail, NULL, 10);
			assert_true(i + bl->len < f->len && f->p[i + bl->len] == '\n');
			bl->p = f->p + i;
			i += bl->len + 1;
		}
	}
	for (size_t k = 0; k < n; k++)
		for (size_t r = 0; r < nreasons; r++)
			if (strcmp(reasons[r], b[k].item) == 0)
				b[k].reasoned = true;
	return n;
}

/* "BODY[1.2.HEADER.FIELDS (A B)]" into sec (names in the arena). */
static void parse_label(const char *label, struct imap_section *sec)
{
	memset(sec, 0, sizeof(*sec));
	assert_true(strncmp(label, "BODY[", 5) == 0);
	const char *s = label + 5, *e = strrchr(label, ']');
	assert_non_null(e);
	while (s < e && *s >= '0' && *s <= '9') {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		assert_true(sec->nparts < LIMIT_MIME_DEPTH);
		sec->part[sec->nparts++] = (uint32_t)v;
		s = end;
		if (*s != '.')
			break;
		s++;
	}
	size_t rest = (size_t)(e - s);
	const char *list = NULL;
	if (rest == 0) {
		sec->kind = IMAP_SECTION_ALL;
	} else if (strncmp(s, "HEADER.FIELDS.NOT (", 19) == 0) {
		sec->kind = IMAP_SECTION_HEADER_NOT;
		list = s + 19;
	} else if (strncmp(s, "HEADER.FIELDS (", 15) == 0) {
		sec->kind = IMAP_SECTION_HEADER_FIELDS;
		list = s + 15;
	} else if (rest == 6 && strncmp(s, "HEADER", 6) == 0) {
		sec->kind = IMAP_SECTION_HEADER;
	} else if (rest == 4 && strncmp(s, "TEXT", 4) == 0) {
		sec->kind = IMAP_SECTION_TEXT;
	} else if (rest == 4 && strncmp(s, "MIME", 4) == 0) {
		sec->kind = IMAP_SECTION_MIME;
	} else {
		fail_msg("unknown section %s", label);
	}
	if (!list)
		return;
	const char **names = arena_alloc(&A, 32 * sizeof(*names));
	assert_non_null(names);
	while (*list != ')') {
		const char *sp = list;
		while (*sp != ' ' && *sp != ')')
			sp++;
		assert_true(sec->nfields < 32);
		names[sec->nfields++] = arena_strndup(&A, list, (size_t)(sp - list));
		list = *sp == ' ' ? sp + 1 : sp;
	}
	sec->fields = names;
}

/* kasten's answer for item into out: the raw protocol text for ENVELOPE, BODYSTRUCTURE
 * and BODY, a section's content otherwise (a part that does not exist: "", as Dovecot
 * and RFC 9051 6.4.5 answer). */
static void answer(const struct file *msg, const struct mime_part *root, const char *item,
                   struct buf *out)
{
	struct imap_sink o = {out_write, out};
	buf_clear(out);
	if (strcmp(item, "ENVELOPE") == 0) {
		imap_put_envelope(&o, root->envelope, false);
		return;
	}
	if (strcmp(item, "BODYSTRUCTURE") == 0 || strcmp(item, "BODY") == 0) {
		imap_put_bodystructure(&o, root, item[4] == 'S', false);
		return;
	}
	struct imap_section sec;
	uint64_t start, len;
	parse_label(item, &sec);
	int r = imap_section_locate(root, &sec, &start, &len);
	if (r == ERR_NOTFOUND)
		return;
	assert_int_equal(r, 0);
	assert_true(start + len <= msg->len);
	if (sec.kind == IMAP_SECTION_HEADER_FIELDS || sec.kind == IMAP_SECTION_HEADER_NOT) {
		uint8_t *f;
		size_t fl;
		assert_int_equal(imap_filter_header(msg->p + start, (size_t)len, &sec, &A, &f, &fl),
		                 0);
		assert_int_equal(buf_append(out, f, fl), 0);
		return;
	}
	assert_int_equal(buf_append(out, msg->p + start, (size_t)len), 0);
}

static bool same(const struct block *b, const uint8_t *p, size_t len)
{
	return b->kind == B_VALUE && b->len == len && memcmp(b->p, p, len) == 0;
}

static void show(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "    %s (%zu): ", what, n);
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fputc('\n', stderr);
}

static struct mime_part *parse_stored(const struct file *msg)
{
	struct mime_part *root, *back;
	void *blob;
	size_t blen;
	assert_int_equal(mime_parse(msg->p, msg->len, &A, &root), 0);
	assert_int_equal(mime_serialize(root, &A, &blob, &blen), 0);
	assert_int_equal(mime_deserialize(blob, blen, &A, &back), 0);
	return back;
}

/* Compare one message; returns the number of mismatches (each reported on stderr). */
static unsigned check_one(const char *name, unsigned *excepted)
{
	struct file msg, golden, exc;
	static struct block gb[BLOCKS_MAX], eb[BLOCKS_MAX];
	if (!read_file(IMAP_CORPUS_DIR, name, ".golden", &golden))
		fail_msg("%s.golden missing: run tests/corpus/imap/make_golden.py", name);
	assert_true(read_file(IMAP_CORPUS_DIR, name, ".eml", &msg));
	size_t ng = parse_blocks(&golden, gb, BLOCKS_MAX, name);
	size_t ne = 0;
	if (read_file(IMAP_CORPUS_DIR, name, ".except", &exc))
		ne = parse_blocks(&exc, eb, BLOCKS_MAX, name);
	assert_true(ng >= 3);
	const struct mime_part *root = parse_stored(&msg);
	struct buf got;
	assert_int_equal(buf_alloc(&got, &A, msg.len * 4 + 65536), 0);
	unsigned bad = 0;
	for (size_t i = 0; i < ng; i++) {
		const struct block *want = &gb[i];
		struct block *ex = NULL;
		for (size_t k = 0; k < ne; k++)
			if (strcmp(eb[k].item, want->item) == 0)
				ex = &eb[k];
		answer(&msg, root, want->item, &got);
		const char *why = NULL;
		if (ex) {
			ex->used = true;
			(*excepted)++;
			if (!ex->reasoned)
				why = "exception without a \"# ITEM: why\" line";
			else if (ex->kind != B_VALUE || same(want, ex->p, ex->len))
				why = "stale exception: Dovecot answers the same";
			else if (!same(ex, got.data, got.len))
				why = "differs from the exception";
		} else if (!same(want, got.data, got.len)) {
			why = "differs from Dovecot";
		}
		if (!why)
			continue;
		bad++;
		fprintf(stderr, "%s %s: %s\n", name, want->item, why);
		show("kasten ", got.data, got.len);
		if (want->kind == B_VALUE)
			show("dovecot", want->p, want->len);
		else
			fprintf(stderr, "    dovecot: %s\n", want->kind == B_NIL ? "NIL" : "NO");
		if (ex)
			show("except ", ex->p, ex->len);
	}
	for (size_t k = 0; k < ne; k++) {
		if (!eb[k].used) {
			bad++;
			fprintf(stderr, "%s %s: exception for an item Dovecot was not asked\n",
			        name, eb[k].item);
		}
	}
	return bad;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t corpus_names(struct arena *a, char **names, size_t max)
{
	DIR *d = opendir(IMAP_CORPUS_DIR);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".eml") == 0) {
			assert_true(n < max);
			names[n++] = arena_strndup(a, de->d_name, l - 4);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	return n;
}

static int setup(void **state)
{
	arena_init(&A, ARENA_CAP);
	return 0;
}

static int teardown(void **state)
{
	arena_free(&A);
	return 0;
}

static void corpus_against_dovecot(void **state)
{
	char *names[NAMES_MAX];
	struct arena na; /* the names outlive each message's arena reset */
	arena_init(&na, 1u << 20);
	size_t n = corpus_names(&na, names, NAMES_MAX);
	assert_true(n >= CORPUS_MIN);
	unsigned bad = 0, excepted = 0;
	for (size_t i = 0; i < n; i++) {
		bad += check_one(names[i], &excepted);
		arena_reset(&A);
	}
	print_message("%zu messages, %u deliberate differences, %u mismatches\n", n, excepted, bad);
	arena_free(&na);
	assert_int_equal(bad, 0);
}

/* --print NAME: kasten's answers for every item of NAME.golden, in the golden format. */
static int print_answers(const char *name)
{
	struct file msg, golden;
	static struct block gb[BLOCKS_MAX];
	arena_init(&A, ARENA_CAP);
	if (!read_file(IMAP_CORPUS_DIR, name, ".golden", &golden) ||
	    !read_file(IMAP_CORPUS_DIR, name, ".eml", &msg)) {
		fprintf(stderr, "no %s.eml / %s.golden in %s\n", name, name, IMAP_CORPUS_DIR);
		return 1;
	}
	size_t ng = parse_blocks(&golden, gb, BLOCKS_MAX, name);
	const struct mime_part *root = parse_stored(&msg);
	struct buf got;
	if (buf_alloc(&got, &A, msg.len * 4 + 65536) < 0)
		return 1;
	for (size_t i = 0; i < ng; i++) {
		answer(&msg, root, gb[i].item, &got);
		printf("== %s %zu\n", gb[i].item, got.len);
		fwrite(got.data, 1, got.len, stdout);
		printf("\n");
	}
	arena_free(&A);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--print") == 0)
		return print_answers(argv[2]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(corpus_against_dovecot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
