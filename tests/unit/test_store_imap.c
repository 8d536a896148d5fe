/* test_store_imap.c: the conformance cases of what IMAP needs from the store (issue 7):
 * the account-wide modseq, changes since a modseq, STORE with UNCHANGEDSINCE, keyword
 * sets, COPY/MOVE, EMAILID/THREADID/MAILBOXID, cached headers and previews, SEARCH over
 * the full-text index, \Recent, MULTIAPPEND, STATUS counters and the expunge log's
 * horizon; against every backend in store_backends[] (test_store_fx.h). Cases that need
 * the sqlite layout (files on disk, the v1 schema) run for it only. */
#include "test_store_fx.h"

#include <pthread.h>

#include "core/limits.h"
#include "core/log.h"

/* The full-text and header parts of the store work from what a message says: these
 * build one. */
static uint32_t append_mail(struct fx *f, struct store *st, const char *mbox,
			    const char *headers, const char *body)
{
	return append(f, st, mbox, arena_printf(&f->a, "%s\r\n%s", headers, body));
}

static uint64_t account_modseq(struct store *st)
{
	uint64_t m = 0;
	assert_int_equal(store_modseq(st, &m), 0);
	return m;
}

static struct store_mailbox mbox(struct fx *f, struct store *st, const char *name)
{
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, name, &f->a, &mb), 0);
	return mb;
}

static const struct store_flags_change *change(struct fx *f, enum store_flag_op op,
					       unsigned flags, const char *kw, uint64_t since)
{
	struct store_flags_change *c = arena_alloc(&f->a, sizeof(*c));
	*c = (struct store_flags_change){op, flags, kw, since};
	return c;
}

/* Search and compare with the expected UIDs (terminated by 0). */
static void search_is(struct fx *f, struct store *st, int64_t mb, enum store_search_field fd,
		      const char *needle, const uint32_t *want)
{
	uint32_t *u;
	size_t n, k = 0;
	assert_int_equal(store_search(st, mb, fd, needle, &f->a, &u, &n), 0);
	while (want[k])
		k++;
	if (n != k)
		fail_msg("search \"%s\" field %d: %zu hits, want %zu", needle, (int)fd, n, k);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(u[i], want[i]);
}

/* ---- modseq ---- */

/* One counter for the account: every change of every mailbox takes the next value, a
 * mailbox's HIGHESTMODSEQ is that of its last change, and changes elsewhere leave it. */
static void modseq_account(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX"), sent = mailbox_id(f, st, "Sent");
	uint64_t m0 = account_modseq(st), m;
	append(f, st, "INBOX", "one");
	assert_true((m = account_modseq(st)) > m0);
	assert_int_equal(mbox(f, st, "INBOX").highestmodseq, m);
	assert_int_equal(f->hook_last_modseq, m);
	uint64_t inbox_ms = m;
	append(f, st, "Sent", "two");
	assert_true(account_modseq(st) > m);
	m = account_modseq(st);
	assert_int_equal(mbox(f, st, "Sent").highestmodseq, m);
	assert_int_equal(mbox(f, st, "INBOX").highestmodseq, inbox_ms); /* untouched */
	/* a flag change, an expunge, a copy, a move and mailbox changes: each the next */
	uint32_t one[] = {1};
	struct store_flags_result fr;
	assert_int_equal(store_flags(st, inbox, one, 1, change(f, STORE_FLAGS_ADD, STORE_F_SEEN,
							       NULL, STORE_UNCONDITIONAL),
				     &f->a, &fr), 0);
	assert_true(fr.modseq > m);
	assert_int_equal(fr.modseq, account_modseq(st));
	m = fr.modseq;
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, inbox, one, 1, sent, &f->a, &cr), 0);
	assert_true(cr.modseq > m);
	assert_int_equal(mbox(f, st, "Sent").highestmodseq, cr.modseq);
	assert_int_equal(mbox(f, st, "INBOX").highestmodseq, m); /* a copy leaves the source */
	m = cr.modseq;
	assert_int_equal(store_move(st, sent, one, 1, inbox, &f->a, &cr), 0);
	assert_true(cr.modseq > m);
	assert_int_equal(mbox(f, st, "Sent").highestmodseq, cr.modseq);
	assert_int_equal(mbox(f, st, "INBOX").highestmodseq, cr.modseq);
	m = cr.modseq;
	assert_int_equal(store_mailbox_create(st, "New", 0), 0);
	assert_true(account_modseq(st) > m);
	assert_int_equal(f->hook_last_modseq, account_modseq(st));
	m = account_modseq(st);
	assert_int_equal(store_mailbox_rename(st, "New", "Newer"), 0);
	assert_true(account_modseq(st) > m);
	m = account_modseq(st);
	uint64_t ms;
	assert_int_equal(store_expunge(st, inbox, one, 1, &ms), 0);
	assert_true(ms > m);
	assert_int_equal(ms, account_modseq(st));
	m = ms;
	assert_int_equal(store_mailbox_delete(st, "Newer"), 0);
	assert_true(account_modseq(st) > m);
	/* a STORE that changes nothing takes no value */
	m = account_modseq(st);
	uint32_t two[] = {2};
	assert_int_equal(store_flags(st, inbox, two, 1, change(f, STORE_FLAGS_REMOVE, STORE_F_SEEN,
							       NULL, STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(fr.n_changed, 0);
	assert_int_equal(account_modseq(st), m);
	/* the same counter seen from another handle of the account */
	struct store *other = open_store(f, f->hook_last_account);
	assert_int_equal(account_modseq(other), m);
	store_close(&other);
	store_close(&st);
}

/* FETCH CHANGEDSINCE and a selected session's updates: rows changed after a modseq in a
 * UID range, and what was expunged after it. */
static void changed_since(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	for (int i = 0; i < 5; i++)
		append(f, st, "INBOX", "m");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint64_t base = mbox(f, st, "INBOX").highestmodseq;
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_changed(st, inbox, base, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 0);
	uint32_t odd[] = {1, 3, 5}, four[] = {4};
	struct store_flags_result fr;
	assert_int_equal(store_flags(st, inbox, odd, 3, change(f, STORE_FLAGS_ADD, STORE_F_FLAGGED,
							       "$Work", STORE_UNCONDITIONAL),
				     &f->a, &fr), 0);
	assert_int_equal(fr.n_changed, 3);
	assert_int_equal(store_expunge(st, inbox, four, 1, NULL), 0);
	append(f, st, "INBOX", "new"); /* uid 6 */
	assert_int_equal(store_msg_changed(st, inbox, base, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[0].uid, 1);
	assert_int_equal(v[0].flags, STORE_F_FLAGGED);
	assert_string_equal(v[0].keywords, "$Work");
	assert_int_equal(v[0].modseq, fr.modseq);
	assert_int_equal(v[2].uid, 5);
	assert_int_equal(v[3].uid, 6);
	assert_true(v[3].modseq > fr.modseq);
	assert_int_equal(store_msg_changed(st, inbox, base, 2, 5, &f->a, &v, &n), 0);
	assert_int_equal(n, 2); /* 3 and 5 */
	assert_int_equal(v[0].uid, 3);
	assert_int_equal(store_msg_changed(st, inbox, fr.modseq, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].uid, 6);
	uint32_t *ex;
	bool complete = false;
	assert_int_equal(store_expunged_since(st, inbox, base, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, 1);
	assert_int_equal(ex[0], 4);
	assert_int_equal(store_expunged_since(st, inbox, base, 5, 9, &f->a, &ex, &n, &complete), 0);
	assert_int_equal(n, 0); /* outside the range */
	/* the UIDs alone */
	uint32_t *u;
	assert_int_equal(store_msg_uids(st, inbox, 2, UINT32_MAX, &f->a, &u, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(u[0], 2);
	assert_int_equal(u[1], 3);
	assert_int_equal(u[2], 5);
	assert_int_equal(u[3], 6);
	assert_int_equal(store_msg_uids(st, 9999, 1, UINT32_MAX, &f->a, &u, &n), ERR_NOTFOUND);
	assert_int_equal(store_msg_changed(st, 9999, 0, 1, 9, &f->a, &v, &n), ERR_NOTFOUND);
	store_close(&st);
}

/* ---- STORE ---- */

/* RFC 7162 3.1.3: with UNCHANGEDSINCE only messages not changed since are changed; the
 * others are reported for [MODIFIED]; a concurrent STORE is never undone. */
static void unchangedsince(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	for (int i = 0; i < 4; i++)
		append(f, st, "INBOX", "m");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint64_t seen_at = mbox(f, st, "INBOX").highestmodseq; /* what a client knows */
	/* another session flags 2 and 4 */
	uint32_t even[] = {2, 4}, all[] = {1, 2, 3, 4, 3, 99};
	struct store_flags_result fr;
	assert_int_equal(store_flags(st, inbox, even, 2, change(f, STORE_FLAGS_ADD, STORE_F_FLAGGED,
								NULL, STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	uint64_t other = fr.modseq;
	unsigned hooks = f->hook_calls[STORE_CH_FLAGS];
	assert_int_equal(store_flags(st, inbox, all, 6, change(f, STORE_FLAGS_ADD, STORE_F_SEEN,
							       NULL, seen_at),
				     &f->a, &fr), 0);
	assert_int_equal(fr.n_failed, 2);
	assert_int_equal(fr.failed[0], 2);
	assert_int_equal(fr.failed[1], 4);
	assert_int_equal(fr.n_changed, 2); /* 3 listed twice counts once; 99 is not there */
	assert_int_equal(fr.changed[0], 1);
	assert_int_equal(fr.changed[1], 3);
	assert_true(fr.modseq > other);
	assert_int_equal(f->hook_calls[STORE_CH_FLAGS], hooks + 1);
	assert_int_equal(f->hook_last_modseq, fr.modseq);
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(v[0].flags, STORE_F_SEEN);
	assert_int_equal(v[1].flags, STORE_F_FLAGGED); /* not \Seen: refused */
	assert_int_equal(v[1].modseq, other);
	assert_int_equal(v[2].flags, STORE_F_SEEN);
	assert_int_equal(v[3].flags, STORE_F_FLAGGED);
	/* UNCHANGEDSINCE 0 refuses every message; no change, no modseq */
	uint64_t before = account_modseq(st);
	assert_int_equal(store_flags(st, inbox, all, 4, change(f, STORE_FLAGS_SET, 0, NULL, 0),
				     &f->a, &fr), 0);
	assert_int_equal(fr.n_failed, 4);
	assert_int_equal(fr.n_changed, 0);
	assert_int_equal(account_modseq(st), before);
	/* the current modseq lets it through */
	assert_int_equal(store_flags(st, inbox, even, 2, change(f, STORE_FLAGS_REMOVE,
								STORE_F_FLAGGED, NULL,
								account_modseq(st)),
				     &f->a, &fr), 0);
	assert_int_equal(fr.n_changed, 2);
	assert_int_equal(fr.n_failed, 0);
	/* without an arena only the counts */
	assert_int_equal(store_flags(st, inbox, even, 2, change(f, STORE_FLAGS_ADD, STORE_F_DRAFT,
								NULL, STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(fr.n_changed, 2);
	assert_null(fr.changed);
	store_close(&st);
}

/* FLAGS / PERMANENTFLAGS: the keywords a mailbox defines, and their limit. */
static void keyword_sets(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct store_new_msg m = new_msg(f, "k");
	m.keywords = "$Label1 Work";
	uint32_t uid;
	assert_int_equal(store_append(st, "INBOX", &m, &uid), 0);
	int64_t inbox = mailbox_id(f, st, "INBOX"), sent = mailbox_id(f, st, "Sent");
	const char *kw;
	bool more = false;
	assert_int_equal(store_mailbox_keywords(st, inbox, &f->a, &kw, &more), 0);
	assert_string_equal(kw, "$Label1 Work");
	assert_true(more);
	assert_int_equal(store_mailbox_keywords(st, sent, &f->a, &kw, &more), 0);
	assert_string_equal(kw, "");
	/* first spelling kept; removal from every message leaves it defined */
	uint32_t one[] = {1};
	struct store_flags_result fr;
	assert_int_equal(store_flags(st, inbox, one, 1, change(f, STORE_FLAGS_ADD, 0, "WORK Later",
							       STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(store_flags(st, inbox, one, 1, change(f, STORE_FLAGS_SET, 0, NULL,
							       STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(store_mailbox_keywords(st, inbox, &f->a, &kw, &more), 0);
	assert_string_equal(kw, "$Label1 Later Work");
	/* a copy brings its keywords along */
	assert_int_equal(store_flags(st, inbox, one, 1, change(f, STORE_FLAGS_ADD, 0, "Copied",
							       STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, inbox, one, 1, sent, &f->a, &cr), 0);
	assert_int_equal(store_mailbox_keywords(st, sent, &f->a, &kw, &more), 0);
	assert_string_equal(kw, "Copied");
	assert_int_equal(store_mailbox_keywords(st, 9999, &f->a, &kw, &more), ERR_NOTFOUND);

	/* up to LIMIT_MAILBOX_KEYWORDS: the limit - 1, the limit, and one more refused */
	int64_t drafts = mailbox_id(f, st, "Drafts");
	assert_int_equal(append(f, st, "Drafts", "d"), 1);
	char *list = arena_alloc(&f->a, 100 * 8);
	for (int chunk = 0; chunk * 100 < LIMIT_MAILBOX_KEYWORDS; chunk++) {
		size_t o = 0;
		int end = chunk * 100 + 100;
		if (end > LIMIT_MAILBOX_KEYWORDS - 1)
			end = LIMIT_MAILBOX_KEYWORDS - 1;
		for (int i = chunk * 100; i < end; i++)
			o += (size_t)snprintf(list + o, 8, "%sk%04d", o ? " " : "", i);
		if (o == 0)
			break;
		assert_int_equal(store_flags(st, drafts, one, 1, change(f, STORE_FLAGS_SET, 0, list,
									STORE_UNCONDITIONAL),
					     NULL, &fr), 0);
	}
	assert_int_equal(store_mailbox_keywords(st, drafts, &f->a, &kw, &more), 0);
	assert_true(more); /* limit - 1 defined */
	assert_int_equal(store_flags(st, drafts, one, 1, change(f, STORE_FLAGS_SET, 0, "last",
								STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(store_mailbox_keywords(st, drafts, &f->a, &kw, &more), 0);
	assert_false(more); /* exactly the limit */
	uint64_t before = account_modseq(st);
	assert_int_equal(store_flags(st, drafts, one, 1, change(f, STORE_FLAGS_ADD, STORE_F_SEEN,
								"onemore", STORE_UNCONDITIONAL),
				     NULL, &fr), ERR_FULL);
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, drafts, 1, 1, &f->a, &v, &n), 0);
	assert_int_equal(v[0].flags, 0); /* nothing changed */
	assert_string_equal(v[0].keywords, "last");
	assert_int_equal(account_modseq(st), before);
	/* defined ones are still fine, and so is an APPEND without new ones */
	assert_int_equal(store_flags(st, drafts, one, 1, change(f, STORE_FLAGS_ADD, 0, "k0001 LAST",
								STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	struct store_new_msg m2 = new_msg(f, "d2");
	m2.keywords = "newer";
	assert_int_equal(store_append(st, "Drafts", &m2, &uid), ERR_FULL);
	m2.keywords = "k0002";
	assert_int_equal(store_append(st, "Drafts", &m2, &uid), 0);
	store_close(&st);
}

/* ---- COPY and MOVE ---- */

static void copy_move(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	append_mail(f, st, "INBOX", "Message-ID: <c1@x>\r\nSubject: first\r\n", "body one\r\n");
	append_mail(f, st, "INBOX", "Subject: second\r\n", "body two\r\n");
	append_mail(f, st, "INBOX", "Subject: third\r\n", "body three\r\n");
	append(f, st, "Archive", "a1");
	int64_t inbox = mailbox_id(f, st, "INBOX"), archive = mailbox_id(f, st, "Archive");
	struct store_msg *src, *v;
	size_t n, ns;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &src, &ns), 0);
	uint32_t kwuid[] = {3};
	struct store_flags_result fr;
	assert_int_equal(store_flags(st, inbox, kwuid, 1, change(f, STORE_FLAGS_ADD, STORE_F_SEEN,
								 "Tag", STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	uint64_t ub0, um0, ub, um;
	assert_int_equal(store_usage(st, &ub0, &um0), 0);
	char *msgdir = arena_printf(&f->a, "%s/accounts/%lld/msg", f->dir, (long long)id);
	size_t files0 = is_sqlite(f) ? count_files(msgdir) : 0;

	/* COPY: new UIDs in order, the target's UIDVALIDITY; missing UIDs left out */
	uint32_t uids[] = {1, 3, 42};
	struct store_copy_result cr;
	unsigned appends = f->hook_calls[STORE_CH_APPEND];
	assert_int_equal(store_copy(st, inbox, uids, 3, archive, &f->a, &cr), 0);
	assert_int_equal(cr.n, 2);
	assert_int_equal(cr.src_uids[0], 1);
	assert_int_equal(cr.src_uids[1], 3);
	assert_int_equal(cr.dst_uids[0], 2);
	assert_int_equal(cr.dst_uids[1], 3);
	assert_int_equal(cr.uidvalidity, mbox(f, st, "Archive").uidvalidity);
	assert_int_equal(f->hook_calls[STORE_CH_APPEND], appends + 1);
	assert_int_equal(store_msg_list(st, archive, 2, 3, &f->a, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].guid, src[0].guid); /* RFC 8474 5.1: copies share EMAILID */
	assert_string_equal(v[1].guid, src[2].guid);
	assert_int_equal(v[1].flags, STORE_F_SEEN);
	assert_string_equal(v[1].keywords, "Tag");
	assert_int_equal(v[1].internal_date, src[2].internal_date);
	assert_int_equal(v[1].size, src[2].size);
	/* a copy counts fully against the quota, but no byte was written again */
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(um, um0 + 2);
	assert_int_equal(ub, ub0 + src[0].size + src[2].size);
	struct store_mailbox ar = mbox(f, st, "Archive");
	assert_int_equal(ar.messages, 3);
	assert_int_equal(ar.unseen, 2);
	assert_int_equal(ar.bytes, 2 + src[0].size + src[2].size);
	if (is_sqlite(f)) {
		assert_int_equal(count_files(msgdir), files0);
		int fa, fb;
		uint64_t size;
		struct stat sa, sb;
		assert_int_equal(store_msg_open(st, inbox, 1, &fa, &size), 0);
		assert_int_equal(store_msg_open(st, archive, 2, &fb, &size), 0);
		assert_int_equal(fstat(fa, &sa), 0);
		assert_int_equal(fstat(fb, &sb), 0);
		assert_int_equal(sa.st_ino, sb.st_ino); /* one file */
		close(fa), close(fb);
	}
	/* THREADID and the cached header come along */
	struct store_msg_extra *xa, *xb;
	uint32_t next;
	assert_int_equal(store_msg_extra(st, inbox, 1, 1, STORE_X_THREAD | STORE_X_HEADER, &f->a,
					 &xa, &n, &next), 0);
	assert_int_equal(store_msg_extra(st, archive, 2, 2, STORE_X_THREAD | STORE_X_HEADER, &f->a,
					 &xb, &n, &next), 0);
	assert_string_equal(xa[0].thread_id, xb[0].thread_id);
	assert_int_equal(xa[0].header_len, xb[0].header_len);

	/* expunging the original keeps the copy readable; the last one takes the file */
	uint32_t one[] = {1};
	assert_int_equal(store_expunge(st, inbox, one, 1, NULL), 0);
	int fd;
	uint64_t size;
	assert_int_equal(store_msg_open(st, archive, 2, &fd, &size), 0);
	char buf[64];
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	close(fd);
	const char *path = file_of(f, id, src[0].guid);
	uint32_t two[] = {2};
	assert_int_equal(store_expunge(st, archive, two, 1, NULL), 0);
	if (is_sqlite(f))
		assert_true(gone_soon(path));

	/* MOVE: the source loses them (logged with the move's modseq), EMAILID kept */
	uint64_t before = mbox(f, st, "INBOX").highestmodseq;
	uint32_t mv[] = {2, 3};
	unsigned expunges = f->hook_calls[STORE_CH_EXPUNGE];
	assert_int_equal(store_usage(st, &ub0, &um0), 0);
	assert_int_equal(store_move(st, inbox, mv, 2, archive, &f->a, &cr), 0);
	assert_int_equal(cr.n, 2);
	assert_int_equal(cr.dst_uids[0], 4);
	assert_int_equal(cr.dst_uids[1], 5);
	assert_int_equal(f->hook_calls[STORE_CH_EXPUNGE], expunges + 1);
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 0);
	uint32_t *ex;
	bool complete;
	assert_int_equal(store_expunged_since(st, inbox, before, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ex[0], 2);
	assert_int_equal(ex[1], 3);
	assert_int_equal(store_msg_changed(st, archive, before, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].guid, src[1].guid);
	assert_string_equal(v[1].guid, src[2].guid);
	assert_int_equal(v[1].flags, STORE_F_SEEN);
	assert_int_equal(v[0].modseq, cr.modseq);
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(ub, ub0); /* a move uses no more room */
	assert_int_equal(um, um0);
	assert_int_equal(mbox(f, st, "INBOX").messages, 0);
	assert_int_equal(mbox(f, st, "Archive").messages, 4);

	/* within one mailbox: COPY gives a second message with the same EMAILID; MOVE a new
	 * UID for the same message */
	uint32_t four[] = {4};
	assert_int_equal(store_copy(st, archive, four, 1, archive, &f->a, &cr), 0);
	assert_int_equal(cr.dst_uids[0], 6);
	assert_int_equal(store_move(st, archive, four, 1, archive, &f->a, &cr), 0);
	assert_int_equal(cr.dst_uids[0], 7);
	assert_int_equal(store_msg_list(st, archive, 4, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 3); /* 5, 6, 7 */
	assert_int_equal(v[0].uid, 5);
	assert_string_equal(v[1].guid, v[2].guid);
	assert_int_equal(mbox(f, st, "Archive").messages, 5); /* 1, 3, 5, 6, 7 */

	/* bad requests */
	uint32_t unsorted[] = {3, 2};
	assert_int_equal(store_copy(st, archive, unsorted, 2, inbox, &f->a, &cr), ERR_INVAL);
	assert_int_equal(store_copy(st, archive, four, 1, 9999, &f->a, &cr), ERR_NOTFOUND);
	assert_int_equal(store_move(st, 9999, four, 1, inbox, &f->a, &cr), ERR_NOTFOUND);
	assert_int_equal(store_copy(st, inbox, four, 1, archive, &f->a, &cr), 0);
	assert_int_equal(cr.n, 0); /* nothing there */
	store_close(&st);
}

/* A copy that does not fit the quota is refused with nothing done; a move still works. */
static void copy_quota(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 20);
	struct store *st = open_store(f, id);
	append(f, st, "INBOX", "0123456789"); /* 10 of 20 bytes */
	append(f, st, "INBOX", "01234");      /* 15 */
	int64_t inbox = mailbox_id(f, st, "INBOX"), sent = mailbox_id(f, st, "Sent");
	uint32_t both[] = {1, 2}, second[] = {2}, first[] = {1};
	struct store_mailbox before = mbox(f, st, "Sent");
	uint64_t ms = account_modseq(st);
	unsigned hooks = f->hook_calls[STORE_CH_APPEND];
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, inbox, both, 2, sent, &f->a, &cr), ERR_QUOTA);
	assert_int_equal(store_copy(st, inbox, first, 1, sent, &f->a, &cr), ERR_QUOTA); /* +1 */
	struct store_mailbox after = mbox(f, st, "Sent");
	assert_int_equal(after.messages, 0);
	assert_int_equal(after.uidnext, before.uidnext);
	assert_int_equal(after.highestmodseq, before.highestmodseq);
	assert_int_equal(account_modseq(st), ms);
	assert_int_equal(f->hook_calls[STORE_CH_APPEND], hooks);
	uint64_t b, m;
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(b, 15);
	assert_int_equal(m, 2);
	/* exactly at the quota: 15 + 5 = 20 */
	assert_int_equal(store_copy(st, inbox, second, 1, sent, &f->a, &cr), 0);
	assert_int_equal(cr.n, 1);
	assert_int_equal(store_move(st, inbox, both, 2, sent, &f->a, &cr), 0); /* no new room */
	assert_int_equal(cr.n, 2);
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(b, 20);
	assert_int_equal(m, 3);
	/* the message-count quota too */
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota", "0"), 0);
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota_messages", "3"), 0);
	uint32_t one[] = {1};
	assert_int_equal(store_copy(st, sent, one, 1, inbox, &f->a, &cr), ERR_QUOTA);
	store_close(&st);
}

/* ---- EMAILID, THREADID, MAILBOXID ---- */

/* A reply chain delivered out of order ends up in one thread; unrelated mail does not. */
static void threads(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	/* C replies to B which replies to A; they arrive C, A, B */
	append_mail(f, st, "INBOX", "Message-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n"
		    "In-Reply-To: <b@x>\r\nSubject: Re: Re: plan\r\n", "c\r\n");
	append_mail(f, st, "INBOX", "Message-ID: <a@x>\r\nSubject: plan\r\n", "a\r\n");
	append_mail(f, st, "INBOX", "Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n"
		    "Subject: Re: plan\r\n", "b\r\n");
	append_mail(f, st, "INBOX", "Message-ID: <z@x>\r\nSubject: other\r\n", "z\r\n");
	/* the caller's ids count as the message's: a reply to <z@x> given in the struct */
	struct store_new_msg m = new_msg(f, "Subject: no ids in here\r\n\r\nx\r\n");
	m.message_id = "<y@x>";
	m.references = "<z@x>";
	uint32_t uid;
	assert_int_equal(store_append(st, "Sent", &m, &uid), 0);
	/* a message whose own id an earlier one referenced joins that thread (D <- E) */
	append_mail(f, st, "INBOX", "Message-ID: <e@x>\r\nReferences: <d@x>\r\n", "e\r\n");
	append_mail(f, st, "INBOX", "Message-ID: <d@x>\r\n", "d\r\n");
	append_mail(f, st, "INBOX", "Subject: no ids at all\r\n", "n\r\n");
	int64_t inbox = mailbox_id(f, st, "INBOX"), sent = mailbox_id(f, st, "Sent");
	struct store_msg_extra *x, *xs;
	size_t n;
	uint32_t next;
	assert_int_equal(store_msg_extra(st, inbox, 1, UINT32_MAX, STORE_X_THREAD, &f->a, &x, &n,
					 &next), 0);
	assert_int_equal(n, 7);
	assert_int_equal(next, 0);
	assert_string_equal(x[0].thread_id, x[1].thread_id);
	assert_string_equal(x[0].thread_id, x[2].thread_id);
	assert_string_not_equal(x[0].thread_id, x[3].thread_id);
	assert_string_equal(x[4].thread_id, x[5].thread_id);
	assert_string_not_equal(x[4].thread_id, x[0].thread_id);
	assert_string_not_equal(x[6].thread_id, x[0].thread_id);
	assert_string_not_equal(x[6].thread_id, x[3].thread_id);
	assert_null(x[0].header); /* only what was asked for */
	assert_null(x[0].preview);
	assert_int_equal(store_msg_extra(st, sent, 1, 1, STORE_X_THREAD, &f->a, &xs, &n, &next), 0);
	assert_string_equal(xs[0].thread_id, x[3].thread_id);
	/* RFC 8474 5: 1-255 of ALPHA / DIGIT / "_" / "-" */
	for (size_t i = 0; i < 7; i++) {
		size_t l = strlen(x[i].thread_id);
		assert_true(l > 0 && l <= 255);
		assert_int_equal(strspn(x[i].thread_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
							 "OPQRSTUVWXYZ0123456789_-"), l);
	}
	store_close(&st);
}

/* MAILBOXID: set at creation, stays across RENAME, new for a recreated name. */
static void mailbox_ids(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	assert_int_equal(store_mailbox_create(st, "Work/Old", 0), 0);
	struct store_mailbox w = mbox(f, st, "Work/Old"), p = mbox(f, st, "Work");
	assert_true(strlen(w.mailboxid) > 0 && strlen(w.mailboxid) <= 255);
	assert_string_not_equal(w.mailboxid, p.mailboxid);
	assert_int_equal(store_mailbox_rename(st, "Work", "Jobs"), 0);
	assert_string_equal(mbox(f, st, "Jobs/Old").mailboxid, w.mailboxid);
	assert_string_equal(mbox(f, st, "Jobs").mailboxid, p.mailboxid);
	struct store_mailbox byid;
	assert_int_equal(store_mailbox_get_id(st, w.id, &f->a, &byid), 0);
	assert_string_equal(byid.name, "Jobs/Old");
	assert_string_equal(byid.mailboxid, w.mailboxid);
	assert_int_equal(store_mailbox_delete(st, "Jobs/Old"), 0);
	assert_int_equal(store_mailbox_get_id(st, w.id, &f->a, &byid), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_create(st, "Jobs/Old", 0), 0);
	assert_string_not_equal(mbox(f, st, "Jobs/Old").mailboxid, w.mailboxid);
	/* INBOX keeps its own when renamed; the new mailbox gets another */
	struct store_mailbox in = mbox(f, st, "INBOX");
	append(f, st, "INBOX", "x");
	assert_int_equal(store_mailbox_rename(st, "INBOX", "Older"), 0);
	assert_string_equal(mbox(f, st, "INBOX").mailboxid, in.mailboxid);
	assert_string_not_equal(mbox(f, st, "Older").mailboxid, in.mailboxid);
	store_close(&st);
}

/* ---- cached header and preview ---- */

static void header_preview(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	const char *hdr = "From: A <a@x.org>\r\nSubject: hello\r\n\r\n";
	append(f, st, "INBOX", arena_printf(&f->a, "%sThe body text.\r\n", hdr));
	/* given by the caller, as delivery does after mime_extract */
	struct store_new_msg m = new_msg(f, "Subject: s\r\n\r\nignored\r\n");
	m.header = "Subject: s\r\n\r\n";
	m.header_len = 14;
	m.preview = "caller's preview";
	m.text = "caller's text";
	m.text_len = strlen(m.text);
	uint32_t uid;
	assert_int_equal(store_append(st, "INBOX", &m, &uid), 0);
	append(f, st, "INBOX", "no header and no empty line");
	/* a header too long to cache */
	size_t big = LIMIT_CACHED_HEADER + 100;
	char *long_hdr = arena_alloc(&f->a, big + 64);
	size_t o = (size_t)snprintf(long_hdr, 16, "X-Long: ");
	memset(long_hdr + o, 'x', big);
	o += big;
	o += (size_t)snprintf(long_hdr + o, 64, "\r\nSubject: findme\r\n\r\nbody\r\n");
	long_hdr[o] = '\0';
	append(f, st, "INBOX", long_hdr);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct store_msg_extra *x;
	size_t n;
	uint32_t next;
	assert_int_equal(store_msg_extra(st, inbox, 1, UINT32_MAX, STORE_X_HEADER | STORE_X_PREVIEW,
					 &f->a, &x, &n, &next), 0);
	assert_int_equal(n, 4);
	assert_int_equal(next, 0);
	assert_int_equal(x[0].header_len, strlen(hdr));
	assert_memory_equal(x[0].header, hdr, strlen(hdr));
	assert_string_equal(x[0].preview, "The body text.");
	assert_int_equal(x[1].header_len, 14);
	assert_string_equal(x[1].preview, "caller's preview");
	assert_non_null(x[2].header);
	assert_null(x[3].header); /* longer than LIMIT_CACHED_HEADER: read the file */
	/* the arena bounds one answer: the rest comes with the next call */
	struct arena small;
	arena_init(&small, 4 * 1024);
	size_t total = 0;
	uint32_t from = 1;
	int calls = 0;
	do {
		arena_reset(&small);
		assert_int_equal(store_msg_extra(st, inbox, from, 3, STORE_X_HEADER, &small, &x, &n,
						 &next), 0);
		assert_true(n >= 1);
		total += n;
		from = next;
		calls++;
	} while (next);
	assert_int_equal(total, 3);
	arena_reset(&small);
	/* one message that alone does not fit: ERR_NOMEM, not a silently empty answer */
	assert_int_equal(store_msg_extra(st, inbox, 4, 4, STORE_X_HEADER, &small, &x, &n, &next),
			 0); /* not cached: nothing to copy */
	arena_free(&small);
	arena_init(&small, 64);
	assert_int_equal(store_msg_extra(st, inbox, 1, 1, STORE_X_HEADER, &small, &x, &n, &next),
			 ERR_NOMEM);
	arena_free(&small);
	assert_int_equal(store_msg_extra(st, 9999, 1, 1, 0, &f->a, &x, &n, &next), ERR_NOTFOUND);
	store_close(&st);
}

/* ---- SEARCH ---- */

static void search_text(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	append_mail(f, st, "INBOX", "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
		    "Subject: Quarterly REPORT\r\n", "Hello World, the numbers are in.\r\n");
	append_mail(f, st, "INBOX", "From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.de>\r\n"
		    "Cc: Carol <carol@example.org>\r\nSubject: =?UTF-8?Q?=C3=84RGER_im_B=C3=BCro?=\r\n"
		    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n",
		    "Gr=C3=BC=C3=9Fe aus M=C3=BCnchen, caf=C3=A9 \"quoted\"\r\n");
	append_mail(f, st, "INBOX", "Bcc: hidden@example.net\r\nSubject: ΣΟΦΙΑ\r\n",
		    "Plain text with cafe and x.\r\n");
	/* text given by the caller counts as the body */
	struct store_new_msg m = new_msg(f, "Subject: given\r\n\r\n<html>ignored</html>\r\n");
	m.text = "Rendered from HTML";
	m.text_len = strlen(m.text);
	m.preview = "";
	uint32_t uid;
	assert_int_equal(store_append(st, "INBOX", &m, &uid), 0);
	append(f, st, "Sent", "Subject: elsewhere\r\n\r\nHello World\r\n");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	static const uint32_t none[] = {0}, u1[] = {1, 0}, u2[] = {2, 0}, u3[] = {3, 0},
			      u4[] = {4, 0}, u12[] = {1, 2, 0},
			      u123[] = {1, 2, 3, 0}, all[] = {1, 2, 3, 4, 0};
	/* substrings, case-insensitive, within and across words */
	search_is(f, st, inbox, STORE_SEARCH_BODY, "hello", u1);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "O WOR", u1); /* across a word boundary */
	search_is(f, st, inbox, STORE_SEARCH_BODY, "lo, the", none);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "numbers are in.", u1);
	search_is(f, st, inbox, STORE_SEARCH_SUBJECT, "report", u1);
	search_is(f, st, inbox, STORE_SEARCH_SUBJECT, "quarterly report", u1);
	search_is(f, st, inbox, STORE_SEARCH_FROM, "ALICE@EXAMPLE", u1);
	search_is(f, st, inbox, STORE_SEARCH_TO, "bob@", u1);
	search_is(f, st, inbox, STORE_SEARCH_TO, "alice", none); /* not in To */
	search_is(f, st, inbox, STORE_SEARCH_CC, "carol", u2);
	search_is(f, st, inbox, STORE_SEARCH_BCC, "hidden", u3);
	/* decoded headers and bodies (RFC 2047, quoted-printable, UTF-8), folded case */
	search_is(f, st, inbox, STORE_SEARCH_FROM, "jürgen", u2);
	search_is(f, st, inbox, STORE_SEARCH_SUBJECT, "ärger", u2);
	search_is(f, st, inbox, STORE_SEARCH_SUBJECT, "BÜRO", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "MÜNCHEN", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "grüße", u2);
	search_is(f, st, inbox, STORE_SEARCH_SUBJECT, "σοφια", u3); /* Greek */
	/* accents are left as they are */
	search_is(f, st, inbox, STORE_SEARCH_BODY, "café", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "cafe", u3);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "munchen", none);
	/* 1 and 2 characters: no trigram, a scan of the indexed text, same folding */
	search_is(f, st, inbox, STORE_SEARCH_BODY, "X", u3);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "é", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "É", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "ÜN", u2);
	search_is(f, st, inbox, STORE_SEARCH_SUBJECT, "Σο", u3);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "E ", u123); /* across words, folded */
	search_is(f, st, inbox, STORE_SEARCH_BODY, "zq", none);
	search_is(f, st, inbox, STORE_SEARCH_FROM, "@", u12);
	/* quotes in a needle are text, not query syntax */
	search_is(f, st, inbox, STORE_SEARCH_BODY, "\"quoted\"", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "\"", u2);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "quoted\" OR \"hello", none);
	/* TEXT looks in all of them; the caller's text is the body */
	search_is(f, st, inbox, STORE_SEARCH_TEXT, "example.org", u12);
	search_is(f, st, inbox, STORE_SEARCH_TEXT, "RE", (const uint32_t[]){1, 4, 0});
	search_is(f, st, inbox, STORE_SEARCH_TEXT, "report", u1);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "from html", u4);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "ignored", none);
	search_is(f, st, inbox, STORE_SEARCH_BODY, "", all);
	/* only this mailbox; expunged and moved messages leave it, copies join */
	search_is(f, st, mailbox_id(f, st, "Sent"), STORE_SEARCH_BODY, "hello world", u1);
	/* every trigram of the needle there, but not the needle itself: no match */
	append(f, st, "Sent", "Subject: parts\r\n\r\nxabcx bcdx\r\n");
	search_is(f, st, mailbox_id(f, st, "Sent"), STORE_SEARCH_BODY, "abcd", none);
	search_is(f, st, mailbox_id(f, st, "Sent"), STORE_SEARCH_BODY, "abcx b", u2);
	uint32_t one[] = {1}, three[] = {3};
	struct store_copy_result cr;
	int64_t archive = mailbox_id(f, st, "Archive");
	assert_int_equal(store_copy(st, inbox, one, 1, archive, &f->a, &cr), 0);
	assert_int_equal(store_move(st, inbox, three, 1, archive, &f->a, &cr), 0);
	assert_int_equal(store_expunge(st, inbox, one, 1, NULL), 0);
	search_is(f, st, inbox, STORE_SEARCH_TEXT, "hello", none);
	search_is(f, st, archive, STORE_SEARCH_TEXT, "hello", u1);
	search_is(f, st, archive, STORE_SEARCH_SUBJECT, "ΣΟΦ", (const uint32_t[]){2, 0});
	search_is(f, st, inbox, STORE_SEARCH_TEXT, "re", u4);
	search_is(f, st, inbox, STORE_SEARCH_TEXT, "", (const uint32_t[]){2, 4, 0});
	/* bad needles */
	uint32_t *u;
	size_t n;
	assert_int_equal(store_search(st, inbox, STORE_SEARCH_BODY, "\xff", &f->a, &u, &n),
			 ERR_INVAL);
	char *lng = arena_alloc(&f->a, LIMIT_SEARCH_NEEDLE + 2);
	memset(lng, 'a', LIMIT_SEARCH_NEEDLE + 1);
	lng[LIMIT_SEARCH_NEEDLE + 1] = '\0';
	assert_int_equal(store_search(st, inbox, STORE_SEARCH_BODY, lng, &f->a, &u, &n),
			 ERR_TOO_LONG);
	lng[LIMIT_SEARCH_NEEDLE] = '\0';
	assert_int_equal(store_search(st, inbox, STORE_SEARCH_BODY, lng, &f->a, &u, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_search(st, 9999, STORE_SEARCH_BODY, "x", &f->a, &u, &n),
			 ERR_NOTFOUND);
	store_close(&st);
}

/* Count rows of the account's index.db through a connection of its own. */
static int64_t sql_count(struct fx *f, int64_t id, const char *sql)
{
	char *path = arena_printf(&f->a, "%s/accounts/%lld/index.db", f->dir, (long long)id);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 30000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* The full-text rows of new messages are made by the indexer thread, not by the
 * delivery or APPEND that stored them (sqlite: the rows are looked at directly). */
static void indexer_background(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	struct store_new_msg m = new_msg(f, "Subject: indexed later\r\n\r\nbackground words\r\n");
	const struct store_new_msg *msgs[40];
	int64_t ids[40];
	int res[40];
	for (int i = 0; i < 40; i++)
		msgs[i] = &m, ids[i] = id;
	assert_int_equal(store_deliver_batch(f->env, ids, msgs, 40, res), 0);
	/* waits for the state, not for a time: bounded by the loop */
	int64_t waiting = -1;
	for (int i = 0; i < 1000 && waiting != 0; i++) {
		waiting = sql_count(f, id, "SELECT count(*) FROM content WHERE indexed = 0 OR "
					   "ftext IS NOT NULL");
		if (waiting) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	assert_int_equal(waiting, 0);
	assert_int_equal(sql_count(f, id, "SELECT count(*) FROM fts"), 40);
	assert_int_equal(sql_count(f, id, "SELECT count(*) FROM fts WHERE body LIKE "
					  "'%background words%'"), 40);
}

/* The folding the index and the needles share. */
static void search_fold(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"ABC xyz", "abc xyz"},
		{"ÀÉÎÕÜ ×", "àéîõü ×"},      /* Latin-1; the multiplication sign stays */
		{"ŁÓDŹ Ÿ", "łódź ÿ"},        /* Latin Extended-A */
		{"ΣΟΦΊΑ ς", "σοφία σ"},      /* Greek, final sigma */
		{"МОСКВА Ёж", "москва ёж"}, /* Cyrillic */
		{"ẞ Ạ K", "ß ạ k"},         /* Extended Additional, the Kelvin sign */
		{"ＡＢ", "ａｂ"},             /* fullwidth */
		{"é e", "é e"},              /* accents stay */
		{"\xff\xc3", "\xff\xc3"},    /* not UTF-8: bytes as they are */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		size_t n = store_search_fold(cases[i].in, strlen(cases[i].in), out);
		assert_true(n <= strlen(cases[i].in));
		out[n] = '\0';
		assert_string_equal(out, cases[i].out);
	}
}

/* ---- \Recent, STATUS, MULTIAPPEND ---- */

/* The first session to claim gets the recent messages, no other session does. */
static void recent_claim(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *a = open_store(f, id), *b = open_store(f, id);
	for (int i = 0; i < 3; i++)
		append(f, a, "INBOX", "r");
	int64_t inbox = mailbox_id(f, a, "INBOX");
	assert_int_equal(mbox(f, a, "INBOX").recent, 3);
	uint32_t first, end;
	assert_int_equal(store_recent_claim(a, inbox, &first, &end), 0);
	assert_int_equal(first, 1);
	assert_int_equal(end, 4);
	assert_int_equal(store_recent_claim(b, inbox, &first, &end), 0);
	assert_int_equal(first, end); /* nothing left for b */
	assert_int_equal(mbox(f, a, "INBOX").recent, 0);
	append(f, b, "INBOX", "s");
	append(f, b, "INBOX", "t");
	assert_int_equal(mbox(f, a, "INBOX").recent, 2);
	assert_int_equal(store_recent_claim(b, inbox, &first, &end), 0);
	assert_int_equal(first, 4);
	assert_int_equal(end, 6);
	assert_int_equal(store_recent_claim(a, inbox, &first, &end), 0);
	assert_int_equal(first, end);
	assert_int_equal(end, 6);
	assert_int_equal(store_recent_claim(a, 9999, &first, &end), ERR_NOTFOUND);
	store_close(&b);
	store_close(&a);
}

struct claim_race {
	struct fx *f;
	int64_t account, mailbox;
	uint32_t got;
};

static void *claimer(void *arg)
{
	struct claim_race *c = arg;
	struct store *st = open_store(c->f, c->account);
	for (int i = 0; i < 50; i++) {
		uint32_t first, end;
		assert_int_equal(store_recent_claim(st, c->mailbox, &first, &end), 0);
		c->got += end - first;
	}
	store_close(&st);
	return NULL;
}

/* Two sessions on two threads claiming while mail arrives: every message is recent for
 * exactly one of them. */
static void recent_race(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct claim_race c[2] = {{f, id, inbox, 0}, {f, id, inbox, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, claimer, &c[i]), 0);
	for (int i = 0; i < 40; i++)
		append(f, st, "INBOX", "x");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	uint32_t first, end;
	assert_int_equal(store_recent_claim(st, inbox, &first, &end), 0);
	assert_int_equal(c[0].got + c[1].got + (end - first), 40);
	store_close(&st);
}

static void status_counts(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	for (int i = 0; i < 4; i++)
		append(f, st, "INBOX", "1234");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint32_t two[] = {1, 2}, one[] = {1};
	struct store_flags_result fr;
	assert_int_equal(store_flags(st, inbox, two, 2, change(f, STORE_FLAGS_ADD, STORE_F_SEEN |
							       STORE_F_DELETED, NULL,
							       STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(store_flags(st, inbox, one, 1, change(f, STORE_FLAGS_REMOVE,
							       STORE_F_DELETED, NULL,
							       STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	struct store_mailbox mb = mbox(f, st, "INBOX");
	assert_int_equal(mb.messages, 4);
	assert_int_equal(mb.unseen, 2);
	assert_int_equal(mb.deleted, 1);
	assert_int_equal(mb.bytes, 16);
	assert_int_equal(mb.uidnext, 5);
	assert_int_equal(mb.recent, 4);
	/* LIST-STATUS: all at once, the same numbers */
	struct store_mailbox *v;
	size_t n;
	assert_int_equal(store_mailbox_list(st, &f->a, &v, &n), 0);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		if (v[i].id != inbox) {
			assert_int_equal(v[i].messages, 0);
			continue;
		}
		seen = true;
		assert_int_equal(v[i].unseen, 2);
		assert_int_equal(v[i].deleted, 1);
		assert_int_equal(v[i].bytes, 16);
		assert_string_equal(v[i].mailboxid, mb.mailboxid);
	}
	assert_true(seen);
	/* EXPUNGE takes only what carries \Deleted when it runs */
	uint32_t *gone;
	size_t ngone;
	uint64_t ms;
	assert_int_equal(store_expunge_deleted(st, inbox, NULL, 0, &f->a, &gone, &ngone, &ms), 0);
	assert_int_equal(ngone, 1);
	assert_int_equal(gone[0], 2);
	assert_int_equal(ms, mbox(f, st, "INBOX").highestmodseq);
	mb = mbox(f, st, "INBOX");
	assert_int_equal(mb.messages, 3);
	assert_int_equal(mb.unseen, 2);
	assert_int_equal(mb.deleted, 0);
	assert_int_equal(mb.bytes, 12);
	/* UID EXPUNGE: only the listed ones among the \Deleted */
	uint32_t d34[] = {3, 4}, ask[] = {1, 4};
	assert_int_equal(store_flags(st, inbox, d34, 2, change(f, STORE_FLAGS_ADD, STORE_F_DELETED,
							       NULL, STORE_UNCONDITIONAL),
				     NULL, &fr), 0);
	assert_int_equal(store_expunge_deleted(st, inbox, ask, 2, &f->a, &gone, &ngone, &ms), 0);
	assert_int_equal(ngone, 1);
	assert_int_equal(gone[0], 4);
	assert_int_equal(store_expunge_deleted(st, inbox, ask, 2, &f->a, &gone, &ngone, &ms), 0);
	assert_int_equal(ngone, 0);
	assert_null(gone);
	assert_int_equal(mbox(f, st, "INBOX").deleted, 1);
	/* renaming INBOX carries the counters along */
	assert_int_equal(store_mailbox_rename(st, "INBOX", "Was"), 0);
	assert_int_equal(mbox(f, st, "INBOX").messages, 0);
	assert_int_equal(mbox(f, st, "INBOX").bytes, 0);
	assert_int_equal(mbox(f, st, "Was").messages, 2);
	assert_int_equal(mbox(f, st, "Was").deleted, 1);
	assert_int_equal(mbox(f, st, "Was").bytes, 8);
	uint64_t ub, um;
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(ub, 8);
	assert_int_equal(um, 2);
	store_close(&st);
}

struct worker {
	struct fx *f;
	int64_t account, inbox, archive;
	const struct store_new_msg *mail; /* made before the threads start */
	int kind, fails;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct store *st = open_store(w->f, w->account);
	struct arena a;
	arena_init(&a, 1u << 20);
	for (int i = 0; i < 40; i++) {
		arena_reset(&a);
		uint32_t uids[] = {(uint32_t)(1 + i % 7), (uint32_t)(8 + i % 11), (uint32_t)(20 + i)};
		struct store_copy_result cr;
		struct store_flags_result fr;
		const struct store_flags_change c = {i % 2 ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE,
						     STORE_F_SEEN | (i % 3 ? 0 : STORE_F_DELETED),
						     i % 5 ? NULL : "Tag", STORE_UNCONDITIONAL};
		uint32_t *gone;
		size_t ngone;
		int res = 0, r;
		switch (w->kind) {
		case 0:
			r = store_deliver_batch(w->f->env, &w->account, &w->mail, 1, &res);
			r = r ? r : res;
			break;
		case 1:
			r = store_flags(st, w->inbox, uids, 3, &c, &a, &fr);
			break;
		case 2:
			r = store_copy(st, w->inbox, uids, 2, w->archive, &a, &cr);
			break;
		default:
			r = i % 2 ? store_move(st, w->archive, uids, 3, w->inbox, &a, &cr)
				  : store_expunge_deleted(st, w->inbox, NULL, 0, &a, &gone, &ngone,
							  NULL);
			break;
		}
		w->fails += r != 0;
	}
	arena_free(&a);
	store_close(&st);
	return NULL;
}

/* Sessions of one account on four threads change it at once (appends, STORE, COPY,
 * MOVE, EXPUNGE): every call succeeds, and afterwards the STATUS counters, the usage
 * and the modseqs agree with the messages themselves. */
static void concurrent_changes(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	for (int i = 0; i < 30; i++)
		append(f, st, "INBOX", i % 2 ? "odd one" : "even");
	struct worker w[4];
	pthread_t t[4];
	struct store_new_msg mail = new_msg(f, "Subject: delivered\r\n\r\nwhile busy\r\n");
	for (int k = 0; k < 4; k++) {
		w[k] = (struct worker){f, id, mailbox_id(f, st, "INBOX"), mailbox_id(f, st, "Archive"),
				       &mail, k, 0};
		assert_int_equal(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
	}
	for (int i = 0; i < 20; i++) /* appends from this thread meanwhile */
		append(f, st, i % 2 ? "INBOX" : "Archive", "more mail");
	for (int k = 0; k < 4; k++) {
		assert_int_equal(pthread_join(t[k], NULL), 0);
		assert_int_equal(w[k].fails, 0);
	}
	struct store_mailbox *mbs;
	size_t nm;
	uint64_t bytes = 0, count = 0, top = account_modseq(st);
	assert_int_equal(store_mailbox_list(st, &f->a, &mbs, &nm), 0);
	for (size_t i = 0; i < nm; i++) {
		struct store_msg *v;
		size_t n;
		assert_int_equal(store_msg_list(st, mbs[i].id, 1, UINT32_MAX, &f->a, &v, &n), 0);
		uint64_t b = 0;
		uint32_t unseen = 0, deleted = 0;
		for (size_t j = 0; j < n; j++) {
			b += v[j].size;
			unseen += !(v[j].flags & STORE_F_SEEN);
			deleted += !!(v[j].flags & STORE_F_DELETED);
			assert_true(v[j].modseq <= mbs[i].highestmodseq);
			assert_true(v[j].uid < mbs[i].uidnext);
		}
		assert_int_equal(mbs[i].messages, n);
		assert_int_equal(mbs[i].bytes, b);
		assert_int_equal(mbs[i].unseen, unseen);
		assert_int_equal(mbs[i].deleted, deleted);
		assert_true(mbs[i].highestmodseq <= top);
		bytes += b;
		count += n;
	}
	uint64_t ub, um;
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(ub, bytes);
	assert_int_equal(um, count);
	store_close(&st);
}

/* RFC 3502: several messages, all or none. */
static void multiappend(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	struct store_new_msg a = new_msg(f, "Subject: a\r\n\r\na\r\n"),
			     b = new_msg(f, "Subject: b\r\n\r\nbb\r\n"),
			     c = new_msg(f, "Subject: c\r\n\r\nccc\r\n");
	const struct store_new_msg *msgs[] = {&a, &b, &c};
	char *msgdir = arena_printf(&f->a, "%s/accounts/%lld/msg", f->dir, (long long)id);
	struct store_mailbox before = mbox(f, st, "INBOX");
	uint32_t uids[3] = {0}, uv = 0;
	/* a failure before the transaction (the second file's size is wrong) */
	b.size++;
	assert_int_equal(store_append_multi(st, "INBOX", msgs, 3, &uv, uids), ERR_INVAL);
	b.size--;
	/* a failure inside it (the third message's keyword) */
	c.keywords = "ok bad\x01";
	assert_int_equal(store_append_multi(st, "INBOX", msgs, 3, &uv, uids), ERR_INVAL);
	c.keywords = NULL;
	/* together over the quota though each alone fits */
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota", "40"), 0);
	assert_int_equal(store_append_multi(st, "INBOX", msgs, 3, &uv, uids), ERR_QUOTA);
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota", "0"), 0);
	assert_int_equal(store_append_multi(st, "Nope", msgs, 3, &uv, uids), ERR_NOTFOUND);
	struct store_mailbox after = mbox(f, st, "INBOX");
	assert_int_equal(after.messages, 0);
	assert_int_equal(after.uidnext, before.uidnext);
	assert_int_equal(after.highestmodseq, before.highestmodseq);
	assert_int_equal(f->hook_calls[STORE_CH_APPEND], 0);
	if (is_sqlite(f))
		assert_int_equal(count_files(msgdir), 0); /* no file left behind */
	assert_int_equal(store_append_multi(st, "INBOX", msgs, 3, &uv, uids), 0);
	assert_int_equal(uv, before.uidvalidity);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 2);
	assert_int_equal(uids[2], 3);
	assert_int_equal(f->hook_calls[STORE_CH_APPEND], 1);
	after = mbox(f, st, "INBOX");
	assert_int_equal(after.messages, 3);
	assert_int_equal(after.bytes, a.size + b.size + c.size);
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, after.id, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(v[2].size, c.size);
	assert_int_equal(v[0].modseq, v[2].modseq); /* one change */
	assert_int_equal(store_append_multi(st, "INBOX", msgs, 0, &uv, uids), ERR_INVAL);
	store_close(&st);
}

/* ---- the expunge log ---- */

/* Pruned past a horizon: asking below it says "incomplete"; at or above it the list is
 * exact. */
static void expunge_horizon(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	for (int i = 0; i < 6; i++)
		append(f, st, "INBOX", "e");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint64_t ms[6];
	ms[0] = mbox(f, st, "INBOX").highestmodseq;
	for (uint32_t uid = 1; uid <= 5; uid++) /* five expunges, one change each */
		assert_int_equal(store_expunge(st, inbox, &uid, 1, &ms[uid]), 0);
	uint32_t *ex;
	size_t n;
	bool complete;
	assert_int_equal(store_expunged_since(st, inbox, 0, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, 5);
	/* keep the 2 newest of those old enough (all are: the cut-off is in the future) */
	assert_int_equal(store_expunged_prune(st, inbox, (int64_t)time(NULL) + 60, 2), 0);
	assert_int_equal(store_expunged_since(st, inbox, ms[3], 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete); /* the horizon is the modseq of uid 3's expunge */
	assert_int_equal(n, 2);
	assert_int_equal(ex[0], 4);
	assert_int_equal(ex[1], 5);
	assert_int_equal(store_expunged_since(st, inbox, ms[3] - 1, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_false(complete);
	assert_int_equal(n, 2); /* what is left, the caller falls back */
	assert_int_equal(store_expunged_since(st, inbox, ms[0], 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_false(complete);
	/* entries younger than the cut-off stay, whatever their number */
	assert_int_equal(store_expunged_prune(st, inbox, (int64_t)time(NULL) - 3600, 0), 0);
	assert_int_equal(store_expunged_since(st, inbox, ms[3], 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, 2);
	/* keep 0 of the old ones: all go, and the horizon is the last expunge */
	assert_int_equal(store_expunged_prune(st, inbox, (int64_t)time(NULL) + 60, 0), 0);
	assert_int_equal(store_expunged_since(st, inbox, ms[5] - 1, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_false(complete);
	assert_int_equal(n, 0);
	assert_int_equal(store_expunged_since(st, inbox, ms[5], 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	/* other mailboxes keep their logs */
	int64_t sent = mailbox_id(f, st, "Sent");
	append(f, st, "Sent", "s");
	uint32_t one[] = {1};
	assert_int_equal(store_expunge(st, sent, one, 1, NULL), 0);
	assert_int_equal(store_expunged_since(st, sent, 0, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, 1);
	assert_int_equal(store_expunged_prune(st, 9999, 0, 0), ERR_NOTFOUND);
	store_close(&st);
}

/* Expunges prune by themselves: older than LIMIT_EXPUNGED_KEEP_DAYS and beyond the
 * newest LIMIT_EXPUNGED_KEEP entries (aged here with SQL: sqlite only). */
static void expunge_horizon_auto(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	/* LIMIT_EXPUNGED_KEEP + 10 old entries at modseqs 2.., as if expunged long ago */
	char *sql = arena_printf(
		&f->a,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
		"INSERT INTO expunged(mailbox_id, uid, modseq, at) SELECT %lld, 100000 + i, 1 + i, "
		"0 FROM n; UPDATE meta SET value = %d WHERE key = 'modseq'; "
		"UPDATE mailboxes SET highestmodseq = %d WHERE id = %lld",
		LIMIT_EXPUNGED_KEEP + 10, (long long)inbox, LIMIT_EXPUNGED_KEEP + 20,
		LIMIT_EXPUNGED_KEEP + 20, (long long)inbox);
	sql_on(f, id, sql);
	uint32_t *ex;
	size_t n;
	bool complete;
	assert_int_equal(store_expunged_since(st, inbox, 1, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, LIMIT_EXPUNGED_KEEP + 10);
	append(f, st, "INBOX", "x");
	uint32_t one[] = {1};
	assert_int_equal(store_expunge(st, inbox, one, 1, NULL), 0);
	/* the new entry and the LIMIT_EXPUNGED_KEEP - 1 newest old ones stay */
	assert_int_equal(store_expunged_since(st, inbox, 1, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_false(complete);
	assert_int_equal(n, LIMIT_EXPUNGED_KEEP);
	uint64_t horizon = 1 + 11; /* modseqs 2..12 went */
	assert_int_equal(store_expunged_since(st, inbox, horizon - 1, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_false(complete);
	assert_int_equal(store_expunged_since(st, inbox, horizon, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, LIMIT_EXPUNGED_KEEP);
	store_close(&st);
}

/* ---- schema migration ---- */

/* index.db as schema version 1 (before IMAP) wrote it. */
static const char v1_schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE mailboxes(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
	"  uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL DEFAULT 1,"
	"  highestmodseq INTEGER NOT NULL DEFAULT 1, special_use INTEGER NOT NULL DEFAULT 0,"
	"  subscribed INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE messages(mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0,"
	"  keywords TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL,"
	"  internal_date INTEGER NOT NULL, saved_date INTEGER NOT NULL,"
	"  guid TEXT NOT NULL UNIQUE, pop3_retrieved INTEGER NOT NULL DEFAULT 0, mime BLOB,"
	"  PRIMARY KEY(mailbox_id, uid));"
	"CREATE TABLE expunged(mailbox_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL, PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);"
	"CREATE TABLE usage(id INTEGER PRIMARY KEY CHECK(id = 1), bytes INTEGER NOT NULL,"
	"  messages INTEGER NOT NULL);"
	"INSERT INTO usage VALUES(1, 0, 0);"
	"PRAGMA user_version=1;";

static const char *const v1_msgs[] = {
	"Message-ID: <root@x>\r\nSubject: Budget\r\n\r\nThe old budget text.\r\n",
	"Message-ID: <reply@x>\r\nIn-Reply-To: <root@x>\r\nSubject: Re: Budget\r\n\r\nagreed\r\n",
	"Subject: unrelated\r\n\r\nnothing\r\n",
	"Subject: sent one\r\n\r\nsent\r\n",
};

/* An index.db of schema 1 with messages in it keeps working after the migration: rows,
 * flags, modseqs, the expunge log and the MIME blobs stay; usage, counters, keyword
 * sets, MAILBOXIDs are made; headers, previews, threads and the full-text index are
 * filled from the files when first asked for. */
static void migrate_v1(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	store_env_close(&f->env);
	char *base = arena_printf(&f->a, "%s/accounts/%lld", f->dir, (long long)id);
	static const char *const parts[] = {"index.db", "index.db-wal", "index.db-shm"};
	for (size_t i = 0; i < 3; i++)
		(void)unlink(arena_printf(&f->a, "%s/%s", base, parts[i]));
	char guids[4][33];
	size_t sizes[4];
	for (int i = 0; i < 4; i++) {
		snprintf(guids[i], sizeof(guids[i]), "%032x", 0xabc0 + i);
		sizes[i] = strlen(v1_msgs[i]);
		char *p = arena_printf(&f->a, "%s/msg/%s", base, guids[i]);
		FILE *fp = fopen(p, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(v1_msgs[i], 1, sizes[i], fp), sizes[i]);
		assert_int_equal(fclose(fp), 0);
	}
	sql_on(f, id, v1_schema);
	sql_on(f, id, arena_printf(
		&f->a,
		"INSERT INTO meta VALUES('uidvalidity_last', 1001);"
		"INSERT INTO mailboxes VALUES(1, 'INBOX', 1000, 5, 7, 0, 1);"
		"INSERT INTO mailboxes VALUES(2, 'Sent', 1001, 2, 3, 2, 0);"
		"INSERT INTO messages VALUES(1, 1, 2, 1, '$Old Work', %zu, 1600000000, 1600000000,"
		"  '%s', 0, x'00010203');"
		"INSERT INTO messages VALUES(1, 2, 7, 8, '', %zu, 1600000001, 1600000001, '%s', 0,"
		"  NULL);"
		"INSERT INTO messages VALUES(1, 3, 5, 0, 'work', %zu, 1600000002, 1600000002, '%s',"
		"  0, NULL);"
		"INSERT INTO messages VALUES(2, 1, 3, 1, '', %zu, 1600000003, 1600000003, '%s', 0,"
		"  NULL);"
		"INSERT INTO expunged VALUES(1, 4, 6);"
		"UPDATE usage SET bytes = 1, messages = 1;", /* wrong on purpose: recomputed */
		sizes[0], guids[0], sizes[1], guids[1], sizes[2], guids[2], sizes[3], guids[3]));
	env_reopen(f);
	struct store *st = open_store(f, id);
	struct store_mailbox in = mbox(f, st, "INBOX"), sent = mbox(f, st, "Sent");
	assert_int_equal(in.id, 1);
	assert_int_equal(in.uidvalidity, 1000);
	assert_int_equal(in.uidnext, 5);
	assert_int_equal(in.highestmodseq, 7);
	assert_int_equal(in.messages, 3);
	assert_int_equal(in.unseen, 2);
	assert_int_equal(in.deleted, 1);
	assert_int_equal(in.bytes, sizes[0] + sizes[1] + sizes[2]);
	assert_int_equal(in.recent, 0); /* nothing is new after an upgrade */
	assert_int_equal(strlen(in.mailboxid), 32);
	assert_string_not_equal(in.mailboxid, sent.mailboxid);
	assert_int_equal(sent.special_use, STORE_SU_SENT);
	/* schema 3: the subscribed mailbox is a subscribed name, the other none */
	assert_true(in.subscribed);
	assert_false(sent.subscribed);
	const char **subs;
	size_t ns;
	assert_int_equal(store_subscription_list(st, &f->a, &subs, &ns), 0);
	assert_int_equal(ns, 1);
	assert_string_equal(subs[0], "INBOX");
	uint64_t ub, um;
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(um, 4);
	assert_int_equal(ub, sizes[0] + sizes[1] + sizes[2] + sizes[3]);
	assert_true(account_modseq(st) >= 7);
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, in.id, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].guid, guids[0]);
	assert_string_equal(v[0].keywords, "$Old Work");
	assert_int_equal(v[0].flags, STORE_F_SEEN);
	assert_int_equal(v[1].modseq, 7);
	assert_int_equal(v[2].internal_date, 1600000002);
	const char *kw;
	assert_int_equal(store_mailbox_keywords(st, in.id, &f->a, &kw, NULL), 0);
	assert_string_equal(kw, "$Old Work"); /* "work" is "Work" */
	uint32_t *ex;
	bool complete;
	assert_int_equal(store_expunged_since(st, in.id, 5, 1, UINT32_MAX, &f->a, &ex, &n,
					      &complete), 0);
	assert_true(complete);
	assert_int_equal(n, 1);
	assert_int_equal(ex[0], 4);
	const void *blob;
	size_t bl;
	assert_int_equal(store_msg_mime(st, in.id, 1, &f->a, &blob, &bl), 0);
	assert_int_equal(bl, 4);
	assert_memory_equal(blob, "\x00\x01\x02\x03", 4);
	/* filled from the files on first use */
	struct store_msg_extra *x;
	uint32_t next;
	unsigned want = STORE_X_HEADER | STORE_X_PREVIEW | STORE_X_THREAD;
	assert_int_equal(store_msg_extra(st, in.id, 1, UINT32_MAX, want, &f->a, &x, &n, &next), 0);
	assert_int_equal(n, 3);
	size_t hl = strlen("Message-ID: <root@x>\r\nSubject: Budget\r\n\r\n");
	assert_int_equal(x[0].header_len, hl);
	assert_memory_equal(x[0].header, v1_msgs[0], hl);
	assert_string_equal(x[0].preview, "The old budget text.");
	assert_string_equal(x[0].thread_id, x[1].thread_id);
	assert_string_not_equal(x[0].thread_id, x[2].thread_id);
	static const uint32_t u1[] = {1, 0}, u12[] = {1, 2, 0};
	search_is(f, st, in.id, STORE_SEARCH_BODY, "OLD BUDGET", u1);
	search_is(f, st, in.id, STORE_SEARCH_SUBJECT, "budget", u12);
	search_is(f, st, sent.id, STORE_SEARCH_BODY, "se", (const uint32_t[]){1, 0});
	/* and new changes go on from there */
	assert_int_equal(append(f, st, "INBOX", "Subject: new\r\n\r\nnew\r\n"), 5);
	assert_true(mbox(f, st, "INBOX").highestmodseq > 7);
	uint32_t one[] = {1};
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, in.id, one, 1, sent.id, &f->a, &cr), 0);
	assert_int_equal(cr.dst_uids[0], 2);
	assert_int_equal(store_expunge(st, in.id, one, 1, NULL), 0);
	assert_int_equal(access(arena_printf(&f->a, "%s/msg/%s", base, guids[0]), F_OK), 0);
	store_close(&st);
}

int main(void)
{
	log_set_level(LOG_ERR);
	int failed = 0;
	for (size_t i = 0; store_backends[i]; i++) {
		void *b = (void *)store_backends[i];
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, b)
		const struct CMUnitTest tests[] = {
			T(modseq_account),       T(changed_since),  T(unchangedsince),
			T(keyword_sets),         T(copy_move),      T(copy_quota),
			T(threads),              T(mailbox_ids),    T(header_preview),
			T(search_text),          T(search_fold),    T(recent_claim),
			T(recent_race),          T(status_counts),  T(multiappend),
			T(expunge_horizon),      T(expunge_horizon_auto), T(migrate_v1),
			T(indexer_background),   T(concurrent_changes),
		};
#undef T
		failed += _cmocka_run_group_tests(store_backends[i]->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
