/* test_client_maildir.c: the client's Maildir layer (src/client/client_maildir*.c).
 * Round trips byte-exact (CRLF, LF, a CR LF split between two writes, bare CRs), flag
 * letters both ways, find after another program moved or removed a file, set_flags and
 * remove, each, the folders of Maildir++ and per-directory trees, the commit order, and
 * the batched commit (stage, commit_staged).
 *
 * The order (DESIGN.md: file fsynced, then renamed, then its directory fsynced) is
 * watched through the linker: this test is linked with --wrap=fsync --wrap=renameat
 * --wrap=syncfs (tests/unit/meson.build), so every fsync, syncfs and renameat of the
 * library is recorded with the inode it touched before it runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_maildir.h"
#include "core/err.h"
#include "core/limits.h"
#include "unit_tmpdir.h"

/* ---- the fsync/renameat recorder ---- */

enum ev_kind { EV_FSYNC, EV_RENAME, EV_SYNCFS };
struct ev {
	enum ev_kind kind;
	ino_t ino; /* fsync: the inode synced; rename: the inode renamed */
	char to[NAME_MAX + 1];
};
static struct ev evs[64];
static size_t nev;
static bool recording;

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_renameat(int ofd, const char *old, int nfd, const char *new_name);
int __wrap_renameat(int ofd, const char *old, int nfd, const char *new_name);

int __real_syncfs(int fd);
int __wrap_syncfs(int fd);

int __wrap_syncfs(int fd)
{
	if (recording && nev < 64)
		evs[nev++] = (struct ev){.kind = EV_SYNCFS};
	return __real_syncfs(fd);
}

int __wrap_fsync(int fd)
{
	struct stat st;
	if (recording && nev < 64 && fstat(fd, &st) == 0)
		evs[nev++] = (struct ev){.kind = EV_FSYNC, .ino = st.st_ino};
	return __real_fsync(fd);
}

int __wrap_renameat(int ofd, const char *old, int nfd, const char *new_name)
{
	struct stat st;
	if (recording && nev < 64 && fstatat(ofd, old, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		evs[nev] = (struct ev){.kind = EV_RENAME, .ino = st.st_ino};
		snprintf(evs[nev].to, sizeof(evs[nev].to), "%s", new_name);
		nev++;
	}
	return __real_renameat(ofd, old, nfd, new_name);
}

/* ---- helpers ---- */

static char tmpdir[] = "/tmp/kasten-test-cmd-XXXXXX";

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
	return 0;
}

/* A path into out (PATH_MAX bytes), which must fit. */
static void __attribute__((format(printf, 2, 3))) fmt(char *out, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(out, PATH_MAX, f, ap);
	va_end(ap);
	assert_true(n > 0 && n < PATH_MAX);
}

static void path_of(char *out, const char *rel)
{
	fmt(out, "%s/%s", tmpdir, rel);
}

static char *slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *s = malloc(1 << 20);
	assert_non_null(s);
	*len_out = fread(s, 1, 1 << 20, f);
	fclose(f);
	return s;
}

/* Write the pieces of one message and commit it; its base name into base. */
static void put(struct client_maildir *md, const char *const *pieces, const size_t *lens,
		size_t n, unsigned flags, bool cur, time_t mtime, char *base)
{
	struct client_maildir_msg *m;
	assert_int_equal(client_maildir_begin(md, &m, base), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(client_maildir_write(m, pieces[i], lens[i]), 0);
	assert_int_equal(client_maildir_commit(&m, flags, cur, mtime), 0);
	assert_null(m);
}

static void check_file(struct client_maildir *md, const char *base, const char *want,
		       size_t want_len)
{
	char path[PATH_MAX];
	unsigned flags;
	assert_int_equal(client_maildir_find(md, base, path, sizeof(path), &flags), 0);
	size_t len;
	char *got = slurp(path, &len);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
}

/* ---- tests ---- */

/* Every split of each input into two writes, and one byte per write, stores the same
 * LF bytes: a CR is dropped only right before an LF, also across writes. */
static void test_roundtrip(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"Subject: a\r\n\r\nbody\r\n", "Subject: a\n\nbody\n"},
		{"Subject: a\n\nbody\n", "Subject: a\n\nbody\n"},
		{"a\r\nb\nc\r\n", "a\nb\nc\n"},
		{"bare\rcr\r\n", "bare\rcr\n"},
		{"two\r\r\n", "two\r\n"},
		{"ends with cr\r", "ends with cr\r"},
		{"no newline", "no newline"},
		{"\r\n", "\n"},
		{"\r", "\r"},
		{"", ""},
	};
	char root[PATH_MAX];
	path_of(root, "rt/deep/Maildir");
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = strlen(cases[c].in), want = strlen(cases[c].out);
		char base[CLIENT_MAILDIR_NAME_MAX];
		for (size_t cut = 0; cut <= n; cut++) {
			const char *pieces[2] = {cases[c].in, cases[c].in + cut};
			size_t lens[2] = {cut, n - cut};
			put(md, pieces, lens, 2, 0, false, 0, base);
			check_file(md, base, cases[c].out, want);
		}
		const char *bytes[64];
		size_t ones[64];
		for (size_t i = 0; i < n; i++) {
			bytes[i] = cases[c].in + i;
			ones[i] = 1;
		}
		put(md, bytes, ones, n, 0, false, 0, base);
		check_file(md, base, cases[c].out, want);
	}
	/* A big message passes through the write buffer intact. */
	size_t big = 300000;
	char *in = malloc(big), *out = malloc(big);
	size_t ol = 0;
	for (size_t i = 0; i < big; i++) {
		in[i] = (i % 77 == 75) ? '\r' : (i % 77 == 76) ? '\n' : (char)('a' + i % 26);
		if (in[i] != '\r')
			out[ol++] = in[i];
	}
	const char *p1[3] = {in, in + 65535, in + 65536 + 77};
	size_t l1[3] = {65535, 77 + 1, big - 65536 - 77};
	char base[CLIENT_MAILDIR_NAME_MAX];
	put(md, p1, l1, 3, 0, false, 0, base);
	check_file(md, base, out, ol);
	free(in);
	free(out);
	client_maildir_close(&md);
	assert_null(md);
	struct stat st;
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_flag_letters(void **state)
{
	(void)state;
	char s[8];
	for (unsigned f = 0; f < 64; f++) {
		client_maildir_flags_str(f, s);
		char name[32];
		snprintf(name, sizeof(name), "123.M1P2Q3.host:2,%s", s);
		assert_int_equal(client_maildir_flags_of(name), f);
		for (size_t i = 1; s[0] && s[i]; i++)
			assert_true(s[i - 1] < s[i]); /* sorted, as the Maildir spec wants */
	}
	client_maildir_flags_str(CLIENT_FLAG_SEEN | CLIENT_FLAG_REPLIED | CLIENT_FLAG_DRAFT, s);
	assert_string_equal(s, "DRS");
	client_maildir_flags_str(0, s);
	assert_string_equal(s, "");
	assert_int_equal(client_maildir_flags_of("x:2,FSab"), CLIENT_FLAG_FLAGGED | CLIENT_FLAG_SEEN);
	assert_int_equal(client_maildir_flags_of("x:2,T"), CLIENT_FLAG_TRASHED);
	assert_int_equal(client_maildir_flags_of("x:2,P"), CLIENT_FLAG_PASSED);
	assert_int_equal(client_maildir_flags_of("x"), 0);
	assert_int_equal(client_maildir_flags_of("x:1,S"), 0); /* experimental info: no flags */
	assert_int_equal(client_maildir_flags_of("x:2,"), 0);
}

static void test_names_and_open(void **state)
{
	(void)state;
	char root[PATH_MAX];
	path_of(root, "missing");
	struct client_maildir *md = (void *)1;
	assert_int_equal(client_maildir_open(root, false, &md), ERR_NOTFOUND);
	assert_null(md);
	path_of(root, "names");
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	assert_string_equal(client_maildir_path(md), root);
	char a[CLIENT_MAILDIR_NAME_MAX], b[CLIENT_MAILDIR_NAME_MAX];
	struct client_maildir_msg *m1, *m2;
	assert_int_equal(client_maildir_begin(md, &m1, a), 0);
	assert_int_equal(client_maildir_begin(md, &m2, b), 0);
	assert_string_not_equal(a, b);
	/* time.M<usec>P<pid>Q<n>.<host>, nothing a Maildir reader would split on */
	char pid[32];
	snprintf(pid, sizeof(pid), "P%ldQ", (long)getpid());
	assert_non_null(strstr(a, ".M"));
	assert_non_null(strstr(a, pid));
	assert_null(strchr(a, '/'));
	assert_null(strchr(a, ':'));
	char tmp[PATH_MAX];
	fmt(tmp, "%s/tmp/%s", root, a);
	assert_int_equal(access(tmp, F_OK), 0);
	client_maildir_abort(&m1);
	assert_null(m1);
	assert_int_equal(access(tmp, F_OK), -1); /* abort leaves nothing in tmp/ */
	assert_int_equal(client_maildir_write(m2, "x\r\n", 3), 0);
	assert_int_equal(client_maildir_commit(&m2, CLIENT_FLAG_SEEN | CLIENT_FLAG_FLAGGED, false,
					       1700000000),
			 0);
	char want[PATH_MAX], got[PATH_MAX];
	fmt(want, "%s/cur/%s:2,FS", root, b);
	unsigned flags;
	assert_int_equal(client_maildir_find(md, b, got, sizeof(got), &flags), 0);
	assert_string_equal(got, want);
	assert_int_equal(flags, CLIENT_FLAG_SEEN | CLIENT_FLAG_FLAGGED);
	struct stat st;
	assert_int_equal(stat(got, &st), 0);
	assert_int_equal(st.st_mtime, 1700000000); /* the INTERNALDATE other programs see */
	assert_int_equal(st.st_mode & 0777, 0600);
	/* cur without flags: ":2," and empty info */
	const char *x = "y\n";
	size_t xl = 2;
	put(md, &x, &xl, 1, 0, true, 0, a);
	fmt(want, "%s/cur/%s:2,", root, a);
	assert_int_equal(client_maildir_find(md, a, got, sizeof(got), &flags), 0);
	assert_string_equal(got, want);
	assert_int_equal(client_maildir_find(md, "no-such-base", got, sizeof(got), &flags),
			 ERR_NOTFOUND);
	assert_int_equal(client_maildir_find(md, "../x", got, sizeof(got), &flags), ERR_INVAL);
	assert_int_equal(client_maildir_find(md, "a:2,S", got, sizeof(got), &flags), ERR_INVAL);
	client_maildir_close(&md);
}

/* Another mail program (mutt, Dovecot) moves files from new/ to cur/ with flags and
 * deletes them; find, set_flags and remove follow, also right after they cached a
 * listing of the directories. */
static void test_find_after_others(void **state)
{
	(void)state;
	char root[PATH_MAX];
	path_of(root, "others");
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	enum { N = 300 };
	static char bases[N][CLIENT_MAILDIR_NAME_MAX];
	const char *x = "Subject: x\n\nbody\n";
	size_t xl = strlen(x);
	for (int i = 0; i < N; i++)
		put(md, &x, &xl, 1, i % 2 ? CLIENT_FLAG_SEEN : 0, false, 0, bases[i]);
	char path[PATH_MAX], old[PATH_MAX], moved[PATH_MAX];
	unsigned flags;
	for (int i = 0; i < N; i++) { /* warms the cache */
		assert_int_equal(client_maildir_find(md, bases[i], path, sizeof(path), &flags), 0);
		assert_int_equal(flags, i % 2 ? CLIENT_FLAG_SEEN : 0);
	}
	/* mutt reads message 0 (new/ -> cur/:2,S), flags message 1, deletes message 3 */
	fmt(old, "%s/new/%s", root, bases[0]);
	fmt(moved, "%s/cur/%s:2,S", root, bases[0]);
	assert_int_equal(rename(old, moved), 0);
	fmt(old, "%s/cur/%s:2,S", root, bases[1]);
	fmt(moved, "%s/cur/%s:2,FRS", root, bases[1]);
	assert_int_equal(rename(old, moved), 0);
	fmt(old, "%s/cur/%s:2,S", root, bases[3]);
	assert_int_equal(unlink(old), 0);

	assert_int_equal(client_maildir_find(md, bases[0], path, sizeof(path), &flags), 0);
	fmt(moved, "%s/cur/%s:2,S", root, bases[0]);
	assert_string_equal(path, moved);
	assert_int_equal(flags, CLIENT_FLAG_SEEN);
	assert_int_equal(client_maildir_find(md, bases[1], path, sizeof(path), &flags), 0);
	assert_int_equal(flags, CLIENT_FLAG_FLAGGED | CLIENT_FLAG_REPLIED | CLIENT_FLAG_SEEN);
	assert_int_equal(client_maildir_find(md, bases[3], path, sizeof(path), &flags),
			 ERR_NOTFOUND);
	assert_int_equal(client_maildir_set_flags(md, bases[3], CLIENT_FLAG_SEEN), ERR_NOTFOUND);
	assert_int_equal(client_maildir_remove(md, bases[3]), ERR_NOTFOUND);

	/* A file another program delivered straight into cur/ after the listing. */
	fmt(moved, "%s/cur/1.M2P3Q4.other:2,S", root);
	FILE *f = fopen(moved, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(client_maildir_find(md, "1.M2P3Q4.other", path, sizeof(path), &flags), 0);
	assert_string_equal(path, moved);

	/* set_flags: new/ -> cur/, keeps Dovecot's keyword letters, a no-op when equal */
	assert_int_equal(client_maildir_set_flags(md, bases[2], CLIENT_FLAG_FLAGGED), 0);
	fmt(moved, "%s/cur/%s:2,F", root, bases[2]);
	assert_int_equal(access(moved, F_OK), 0);
	fmt(old, "%s/new/%s", root, bases[2]);
	assert_int_equal(access(old, F_OK), -1);
	fmt(old, "%s/cur/%s:2,F", root, bases[2]);
	fmt(moved, "%s/cur/%s:2,Fab", root, bases[2]);
	assert_int_equal(rename(old, moved), 0);
	assert_int_equal(client_maildir_set_flags(md, bases[2], CLIENT_FLAG_SEEN |
							       CLIENT_FLAG_DRAFT), 0);
	fmt(moved, "%s/cur/%s:2,DSab", root, bases[2]);
	assert_int_equal(access(moved, F_OK), 0);
	assert_int_equal(client_maildir_set_flags(md, bases[2], CLIENT_FLAG_SEEN |
							       CLIENT_FLAG_DRAFT), 0);
	assert_int_equal(access(moved, F_OK), 0);
	assert_int_equal(client_maildir_set_flags(md, bases[2], 0), 0);
	fmt(moved, "%s/cur/%s:2,ab", root, bases[2]);
	assert_int_equal(access(moved, F_OK), 0);

	/* remove, also of a file moved since the listing */
	assert_int_equal(client_maildir_remove(md, bases[2]), 0);
	assert_int_equal(access(moved, F_OK), -1);
	assert_int_equal(client_maildir_remove(md, bases[2]), ERR_NOTFOUND);
	fmt(old, "%s/new/%s", root, bases[4]);
	fmt(moved, "%s/cur/%s:2,T", root, bases[4]);
	assert_int_equal(rename(old, moved), 0);
	assert_int_equal(client_maildir_remove(md, bases[4]), 0);
	assert_int_equal(access(moved, F_OK), -1);
	/* every other message is still found where it is */
	for (int i = 5; i < N; i++)
		assert_int_equal(client_maildir_find(md, bases[i], path, sizeof(path), &flags), 0);
	client_maildir_close(&md);
}

struct each_ctx {
	struct client_maildir *md;
	int count;
	uint64_t bytes;
	unsigned seen;
};

static int each_cb(void *arg, const struct client_maildir_file *f)
{
	struct each_ctx *c = arg;
	struct stat st;
	char path[PATH_MAX];
	uint64_t size;
	struct timespec mtime, ctime;
	assert_int_equal(client_maildir_file_path(c->md, f, path, sizeof(path)), 0);
	assert_int_equal(client_maildir_file_stat(c->md, f, &size, &mtime, &ctime), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);
	assert_int_equal(st.st_mtime, mtime.tv_sec);
	assert_int_equal(st.st_ctim.tv_nsec, ctime.tv_nsec);
	assert_null(strchr(f->base, ':'));
	assert_true(!strncmp(f->name, f->base, strlen(f->base)));
	assert_non_null(strstr(path, f->name));
	assert_int_equal(f->flags, client_maildir_flags_of(f->name));
	assert_int_equal(f->in_cur, strstr(path, "/cur/") != NULL);
	c->count++;
	c->bytes += size;
	if (f->flags & CLIENT_FLAG_SEEN)
		c->seen++;
	/* changing the Maildir during the walk is allowed, and a file reported may then be
	 * gone (renamed) when it is looked at */
	bool renamed = !(f->flags & CLIENT_FLAG_FLAGGED);
	assert_int_equal(client_maildir_set_flags(c->md, f->base, f->flags | CLIENT_FLAG_FLAGGED),
			 0);
	assert_int_equal(client_maildir_file_stat(c->md, f, &size, NULL, NULL),
			 renamed ? ERR_NOTFOUND : 0);
	return 0;
}

static int each_stop(void *arg, const struct client_maildir_file *f)
{
	(*(int *)arg)++;
	return 7;
}

static bool stamp_eq(const struct client_maildir_stamp *a, const struct client_maildir_stamp *b)
{
	return a->new_ns == b->new_ns && a->cur_ns == b->cur_ns && a->new_ino == b->new_ino &&
	       a->cur_ino == b->cur_ino;
}

static void test_each(void **state)
{
	(void)state;
	char root[PATH_MAX], p[PATH_MAX + 64];
	path_of(root, "each");
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	const char *x = "a\r\nbc\r\n";
	size_t xl = strlen(x);
	char base[CLIENT_MAILDIR_NAME_MAX];
	for (int i = 0; i < 40; i++)
		put(md, &x, &xl, 1, i < 10 ? CLIENT_FLAG_SEEN : 0, false, 1600000000 + i, base);
	/* what is no message file is not listed: a directory, a symlink, a dot file */
	snprintf(p, sizeof(p), "%s/new/adir", root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/cur/alink:2,S", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/cur/.hidden", root);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	struct client_maildir_stamp s0, s1, s2;
	assert_int_equal(client_maildir_stamp(md, &s0), 0);
	assert_int_equal(client_maildir_stamp_path(root, &s1), 0);
	assert_true(stamp_eq(&s0, &s1));
	struct each_ctx c = {.md = md};
	assert_int_equal(client_maildir_each(md, each_cb, &c), 0);
	assert_int_equal(c.count, 40);
	assert_int_equal(c.bytes, 40 * 5);
	assert_int_equal(c.seen, 10);
	struct each_ctx d = {.md = md};
	assert_int_equal(client_maildir_each(md, each_cb, &d), 0);
	assert_int_equal(d.count, 40); /* renamed files are seen once, not twice */
	int calls = 0;
	assert_int_equal(client_maildir_each(md, each_stop, &calls), 7);
	assert_int_equal(calls, 1);
	/* reading the directories changes nothing */
	assert_int_equal(client_maildir_stamp(md, &s1), 0);
	assert_int_equal(client_maildir_each(md, each_stop, &calls), 7);
	assert_int_equal(client_maildir_stamp(md, &s2), 0);
	assert_true(stamp_eq(&s1, &s2));
	client_maildir_close(&md);
	/* a directory put in cur/'s place is another one, whatever its times; a missing
	 * one has no stamp */
	char q[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/cur", root);
	snprintf(q, sizeof(q), "%s/cur.old", root);
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(client_maildir_stamp_path(root, &s2), ERR_NOTFOUND);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(client_maildir_stamp_path(root, &s2), 0);
	assert_true(s2.cur_ino != s1.cur_ino && s2.new_ino == s1.new_ino);
}

/* ---- folders ---- */

struct names {
	char v[32][128];
	int n;
};

static int folder_cb(void *arg, const char *name, const char *path)
{
	struct names *ns = arg;
	assert_true(ns->n < 32);
	struct stat st;
	char cur[PATH_MAX];
	fmt(cur, "%s/cur", path);
	assert_int_equal(stat(cur, &st), 0);
	snprintf(ns->v[ns->n++], 128, "%s", name);
	return 0;
}

static void mk_maildir(const char *rel)
{
	char p[PATH_MAX];
	path_of(p, rel);
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(p, true, &md), 0);
	client_maildir_close(&md);
}

static void mk_dir(const char *rel)
{
	char p[PATH_MAX];
	path_of(p, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void mk_link(const char *target, const char *rel)
{
	char p[PATH_MAX];
	path_of(p, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void expect_names(const char *rel, const char *const *want, int n)
{
	char root[PATH_MAX];
	path_of(root, rel);
	struct names ns = {.n = 0};
	assert_int_equal(client_maildir_folders(root, folder_cb, &ns), 0);
	for (int i = 0; i < ns.n; i++)
		fprintf(stderr, "  folder %s\n", ns.v[i]);
	assert_int_equal(ns.n, n);
	for (int i = 0; i < n; i++)
		assert_string_equal(ns.v[i], want[i]);
}

static void test_folders_plusplus(void **state)
{
	(void)state;
	mk_maildir("pp");
	mk_maildir("pp/.Sent");
	mk_maildir("pp/.Lists.kasten");
	mk_maildir("pp/.Lists.kasten.dev");
	mk_maildir("pp/.a\\056b");         /* "a.b" */
	mk_maildir("pp/.Bad..Name");        /* an empty component: no folder name */
	mk_dir("pp/.NotAMaildir");          /* no cur/ new/ */
	mk_dir("pp/.NotAMaildir/tmp");
	mk_maildir("outside");              /* a Maildir beside the tree */
	mk_link("../outside", "pp/.Escape"); /* a symlink out of the tree: never followed */
	mk_link(".Sent", "pp/.SentLink");   /* into the tree: the same folder, shown once */
	char p[PATH_MAX];
	path_of(p, "pp/dovecot-uidlist");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	static const char *const want[] = {"INBOX", "Lists/kasten", "Lists/kasten/dev", "Sent",
					   "a.b"};
	expect_names("pp", want, 5);

	/* folder_path is the inverse, for any name */
	char root[PATH_MAX], out[PATH_MAX], want_path[PATH_MAX];
	path_of(root, "pp");
	assert_int_equal(client_maildir_folder_path(root, "INBOX", out, sizeof(out)), 0);
	assert_string_equal(out, root);
	assert_int_equal(client_maildir_folder_path(root, "inbox", out, sizeof(out)), 0);
	assert_string_equal(out, root);
	assert_int_equal(client_maildir_folder_path(root, "Lists/kasten", out, sizeof(out)), 0);
	fmt(want_path, "%s/.Lists.kasten", root);
	assert_string_equal(out, want_path);
	assert_int_equal(client_maildir_folder_path(root, "a.b", out, sizeof(out)), 0);
	fmt(want_path, "%s/.a\\056b", root);
	assert_string_equal(out, want_path);
	assert_int_equal(client_maildir_folder_path(root, "..", out, sizeof(out)), 0);
	fmt(want_path, "%s/.\\056\\056", root);
	assert_string_equal(out, want_path);
	assert_int_equal(client_maildir_folder_path(root, "", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_maildir_folder_path(root, "/x", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_maildir_folder_path(root, "x/", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_maildir_folder_path(root, "a//b", out, sizeof(out)), ERR_INVAL);
	assert_int_equal(client_maildir_folder_path(root, "x", out, 4), ERR_FULL);

	/* Every name written by folder_path comes back from folders as it was. */
	static const char *const names[] = {"INBOX", "a\\b", "dots.in.name", "x/y.z/w",
					    "Ünïcode", ".hidden", "end."};
	path_of(root, "names-rt");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(client_maildir_folder_path(root, names[i], out, sizeof(out)), 0);
		struct client_maildir *md;
		assert_int_equal(client_maildir_open(out, true, &md), 0);
		client_maildir_close(&md);
	}
	static const char *const sorted[] = {"INBOX", ".hidden", "a\\b", "dots.in.name",
					     "end.", "x/y.z/w", "Ünïcode"};
	expect_names("names-rt", sorted, 7);
}

static void test_folders_per_dir(void **state)
{
	(void)state;
	mk_dir("fs");
	mk_maildir("fs/Inbox");        /* INBOX, whatever its case */
	mk_maildir("fs/Sent");
	mk_dir("fs/Archive");           /* not a Maildir itself, */
	mk_maildir("fs/Archive/2020"); /* but its children are */
	mk_maildir("fs/Archive/2021");
	mk_maildir("fs/Archive/2021/Q1");
	mk_maildir("fs/Sent/.hidden");  /* dot directories below the root are not folders */
	mk_link("..", "fs/Archive/loop"); /* a loop inside the tree ends */
	mk_maildir("other");
	mk_link("../other", "fs/Escape");
	static const char *const want[] = {"Archive/2020", "Archive/2021", "Archive/2021/Q1",
					   "INBOX", "Sent"};
	expect_names("fs", want, 5);

	/* Both layouts in one tree: the root is INBOX and ".Sent" wins over "Sent/cur". */
	mk_maildir("mix");
	mk_maildir("mix/.Sent");
	mk_maildir("mix/Sent");
	mk_maildir("mix/Projects/kasten");
	mk_maildir("mix/.Drafts");
	static const char *const want2[] = {"INBOX", "Drafts", "Sent", "Projects/kasten"};
	expect_names("mix", want2, 4);

	char root[PATH_MAX];
	path_of(root, "nothing-here");
	struct names ns = {.n = 0};
	assert_int_equal(client_maildir_folders(root, folder_cb, &ns), ERR_NOTFOUND);
	mk_dir("empty");
	expect_names("empty", NULL, 0);
}

/* ---- the commit order ---- */

static ino_t ino_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

/* DESIGN.md: the file's bytes are on disk before its name appears in new/ or cur/, and
 * that directory is on disk before commit returns (the caller then records the message
 * as downloaded, and may delete it on the server). Moving the fsync of the file after
 * the rename, or leaving out the directory's fsync, fails here. */
static void test_commit_order(void **state)
{
	(void)state;
	char root[PATH_MAX], newdir[PATH_MAX], curdir[PATH_MAX], file[PATH_MAX];
	path_of(root, "order");
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	fmt(newdir, "%s/new", root);
	fmt(curdir, "%s/cur", root);
	for (int cur = 0; cur < 2; cur++) {
		char base[CLIENT_MAILDIR_NAME_MAX];
		struct client_maildir_msg *m;
		assert_int_equal(client_maildir_begin(md, &m, base), 0);
		assert_int_equal(client_maildir_write(m, "x\r\n", 3), 0);
		nev = 0;
		recording = true;
		assert_int_equal(client_maildir_commit(&m, cur ? CLIENT_FLAG_SEEN : 0, false,
						       0), 0);
		recording = false;
		unsigned flags;
		assert_int_equal(client_maildir_find(md, base, file, sizeof(file), &flags), 0);
		ino_t msg = ino_of(file), dir = ino_of(cur ? curdir : newdir);
		assert_int_equal(nev, 3);
		assert_int_equal(evs[0].kind, EV_FSYNC);
		assert_int_equal(evs[0].ino, msg);
		assert_int_equal(evs[1].kind, EV_RENAME);
		assert_int_equal(evs[1].ino, msg);
		assert_string_equal(evs[1].to, strrchr(file, '/') + 1);
		assert_int_equal(evs[2].kind, EV_FSYNC);
		assert_int_equal(evs[2].ino, dir);

		/* set_flags: the new name, then both directories, before it returns */
		nev = 0;
		recording = true;
		assert_int_equal(client_maildir_set_flags(md, base, CLIENT_FLAG_REPLIED), 0);
		recording = false;
		assert_true(nev >= 2);
		assert_int_equal(evs[0].kind, EV_RENAME);
		assert_int_equal(evs[1].kind, EV_FSYNC);
		assert_int_equal(evs[1].ino, ino_of(curdir));
		if (!cur) {
			assert_int_equal(nev, 3);
			assert_int_equal(evs[2].ino, ino_of(newdir));
		}
		nev = 0;
		recording = true;
		assert_int_equal(client_maildir_remove(md, base), 0);
		recording = false;
		assert_int_equal(nev, 1);
		assert_int_equal(evs[0].ino, ino_of(curdir));
	}
	client_maildir_close(&md);
}

/* The batched commit: a staged message is in tmp/ only (no reader sees it) until
 * commit_staged, which puts every staged file's bytes on disk before the first rename
 * (one syncfs, or an fsync of each file when the system holds much unwritten data:
 * either is accepted here), then fsyncs each directory renamed into once. Renaming
 * before the flush, leaving out a file's fsync, or a directory's, fails here. */
static void test_staged_commit_order(void **state)
{
	(void)state;
	char root[PATH_MAX], tmp[PATH_MAX], newdir[PATH_MAX], curdir[PATH_MAX];
	char file[PATH_MAX], base[3][CLIENT_MAILDIR_NAME_MAX];
	path_of(root, "staged");
	fmt(tmp, "%s/tmp", root);
	fmt(newdir, "%s/new", root);
	fmt(curdir, "%s/cur", root);
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	static const unsigned flags[3] = {0, CLIENT_FLAG_SEEN, 0};
	for (int i = 0; i < 3; i++) {
		struct client_maildir_msg *m;
		char body[32];
		int n = snprintf(body, sizeof(body), "Subject: %d\r\n\r\nbody\r\n", i);
		assert_int_equal(client_maildir_begin(md, &m, base[i]), 0);
		assert_int_equal(client_maildir_write(m, body, (size_t)n), 0);
		assert_int_equal(client_maildir_stage(&m, flags[i], false, 0), 0);
		assert_null(m);
	}
	assert_int_equal(client_maildir_nstaged(md), 3);
	unsigned got;
	for (int i = 0; i < 3; i++)
		assert_int_equal(client_maildir_find(md, base[i], file, sizeof(file), &got),
				 ERR_NOTFOUND);
	assert_int_equal(unit_count_dir(tmp), 3);

	nev = 0;
	recording = true;
	assert_int_equal(client_maildir_commit_staged(md), 0);
	recording = false;
	assert_int_equal(client_maildir_nstaged(md), 0);
	size_t flushes = evs[0].kind == EV_SYNCFS ? 1 : 3;
	assert_int_equal(nev, flushes + 5);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(client_maildir_find(md, base[i], file, sizeof(file), &got), 0);
		if (flushes == 3) {
			assert_int_equal(evs[i].kind, EV_FSYNC);
			assert_int_equal(evs[i].ino, ino_of(file));
		}
		assert_int_equal(evs[flushes + i].kind, EV_RENAME);
		assert_int_equal(evs[flushes + i].ino, ino_of(file));
	}
	assert_int_equal(evs[flushes + 3].kind, EV_FSYNC);
	assert_int_equal(evs[flushes + 3].ino, ino_of(newdir));
	assert_int_equal(evs[flushes + 4].kind, EV_FSYNC);
	assert_int_equal(evs[flushes + 4].ino, ino_of(curdir));
	for (int i = 0; i < 3; i++) {
		char want[32];
		int n = snprintf(want, sizeof(want), "Subject: %d\n\nbody\n", i);
		check_file(md, base[i], want, (size_t)n);
		assert_int_equal(client_maildir_find(md, base[i], file, sizeof(file), &got), 0);
		assert_int_equal(got, flags[i]);
	}
	assert_int_equal(unit_count_dir(tmp), 0);
	/* nothing staged: no flush at all */
	nev = 0;
	recording = true;
	assert_int_equal(client_maildir_commit_staged(md), 0);
	recording = false;
	assert_int_equal(nev, 0);
	client_maildir_close(&md);
}

/* A full batch refuses one more message (and leaves no file of it); abort_staged and
 * close remove what was staged; clean_tmp leaves a fresh file alone. */
static void test_staged_bounds(void **state)
{
	(void)state;
	char root[PATH_MAX], tmp[PATH_MAX], newdir[PATH_MAX], base[CLIENT_MAILDIR_NAME_MAX];
	path_of(root, "bounds");
	fmt(tmp, "%s/tmp", root);
	fmt(newdir, "%s/new", root);
	struct client_maildir *md;
	assert_int_equal(client_maildir_open(root, true, &md), 0);
	struct client_maildir_msg *m;
	for (unsigned i = 0; i < LIMIT_CLIENT_MAILDIR_BATCH; i++) {
		assert_false(client_maildir_batch_full(md));
		assert_int_equal(client_maildir_begin(md, &m, base), 0);
		assert_int_equal(client_maildir_write(m, "x\n", 2), 0);
		assert_int_equal(client_maildir_stage(&m, 0, false, 0), 0);
	}
	assert_true(client_maildir_batch_full(md));
	assert_int_equal(client_maildir_begin(md, &m, base), 0);
	assert_int_equal(client_maildir_stage(&m, 0, false, 0), ERR_TOO_BIG);
	assert_null(m);
	assert_int_equal(unit_count_dir(tmp), LIMIT_CLIENT_MAILDIR_BATCH);
	client_maildir_abort_staged(md);
	assert_int_equal(unit_count_dir(tmp), 0);
	assert_int_equal(unit_count_dir(newdir), 0);

	assert_int_equal(client_maildir_begin(md, &m, base), 0);
	assert_int_equal(client_maildir_stage(&m, 0, false, 0), 0);
	client_maildir_close(&md);
	assert_int_equal(unit_count_dir(tmp), 0);

	assert_int_equal(client_maildir_open(root, true, &md), 0);
	assert_int_equal(client_maildir_begin(md, &m, base), 0);
	client_maildir_clean_tmp(md);
	assert_int_equal(unit_count_dir(tmp), 1); /* being written: young */
	client_maildir_abort(&m);
	client_maildir_close(&md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_flag_letters),
		cmocka_unit_test(test_names_and_open),
		cmocka_unit_test(test_find_after_others),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_folders_plusplus),
		cmocka_unit_test(test_folders_per_dir),
		cmocka_unit_test(test_commit_order),
		cmocka_unit_test(test_staged_commit_order),
		cmocka_unit_test(test_staged_bounds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
