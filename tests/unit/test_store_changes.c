/* test_store_changes.c: the JMAP view of the store (store.h "JMAP view"), against every
 * backend in store_backends[]: the rules of Email/changes (RFC 8620 5.2, RFC 8621 4.3:
 * created, updated, destroyed, created-and-destroyed left out, maxChanges cut between
 * modseqs with intermediate states), Mailbox/changes with counts-only updates (RFC 8621
 * 2.2), Thread/changes (3.2), every writer (APPEND, MULTIAPPEND, delivery, flags,
 * expunge, EXPUNGE of \Deleted, copy, move, mailbox create/rename/delete, INBOX rename,
 * store_check), store_email_get and store_thread_get, isolation between two accounts,
 * the bounds (since newer than now, pruned tombstones -> ERR_GONE), store_email_query
 * (sorts, collapsed threads, windows, anchors), and for sqlite the migration of an
 * account from schema 3. */
#include "test_store_fx.h"

#include "core/limits.h"
#include "core/log.h"

enum kind { K_EMAIL, K_MAILBOX, K_THREAD };

/* One changes call; counts_only only for mailboxes. */
static int changes_do(struct fx *f, struct store *st, enum kind k, uint64_t since,
		      size_t max, struct store_changes *c, bool *counts_only)
{
	bool co = false;
	memset(c, 0, sizeof(*c));
	int r = k == K_EMAIL     ? store_email_changes(st, since, max, &f->a, c)
		: k == K_MAILBOX ? store_mailbox_changes(st, since, max, &f->a, c, &co)
				 : store_thread_changes(st, since, max, &f->a, c);
	if (counts_only)
		*counts_only = co;
	return r;
}

/* The lists as "c:id,id u:id d:id" with the ids replaced by their names in
 * names[]/ids[] (an id not there shows as "?"), sorted, so a case reads as its rule. */
struct names {
	const char *id[16];
	const char *name[16];
	size_t n;
};

static void name_add(struct names *nm, const char *id, const char *name)
{
	assert_true(nm->n < 16);
	nm->id[nm->n] = id;
	nm->name[nm->n++] = name;
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The names sorted: within one modseq the order is the ids', and ids are random. */
static const char *list_str(struct fx *f, const struct names *nm, const char **v, size_t n)
{
	const char **names = arena_alloc(&f->a, (n + 1) * sizeof(*names));
	assert_non_null(names);
	for (size_t i = 0; i < n; i++) {
		names[i] = "?";
		for (size_t k = 0; k < nm->n; k++)
			if (!strcmp(nm->id[k], v[i]))
				names[i] = nm->name[k];
	}
	qsort(names, n, sizeof(*names), str_cmp);
	char *s = arena_strdup(&f->a, "");
	for (size_t i = 0; i < n; i++)
		s = arena_printf(&f->a, "%s%s%s", s, i ? "," : "", names[i]);
	return s;
}

static const char *changes_str(struct fx *f, const struct names *nm, const struct store_changes *c)
{
	return arena_printf(&f->a, "c:%s u:%s d:%s", list_str(f, nm, c->created, c->n_created),
			    list_str(f, nm, c->updated, c->n_updated),
			    list_str(f, nm, c->destroyed, c->n_destroyed));
}

static const char *changes_of(struct fx *f, struct store *st, const struct names *nm,
			      enum kind k, uint64_t since)
{
	struct store_changes c;
	assert_int_equal(changes_do(f, st, k, since, 1000, &c, NULL), 0);
	assert_false(c.more);
	return changes_str(f, nm, &c);
}

static uint64_t state_of(struct store *st)
{
	uint64_t m = 0;
	assert_int_equal(store_modseq(st, &m), 0);
	return m;
}

/* The EMAILID of a message. */
static const char *guid_of(struct fx *f, struct store *st, int64_t mailbox, uint32_t uid)
{
	struct store_msg *v = NULL;
	size_t n = 0;
	assert_int_equal(store_msg_list(st, mailbox, uid, uid, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	return v[0].guid;
}

static const char *mailboxid_of(struct fx *f, struct store *st, const char *name)
{
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, name, &f->a, &mb), 0);
	return mb.mailboxid;
}

static const char *thread_of(struct fx *f, struct store *st, const char *guid)
{
	struct store_email *e = NULL;
	size_t n = 0;
	const char *ids[] = {guid};
	assert_int_equal(store_email_get(st, ids, 1, &f->a, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(e[0].thread_id);
	return e[0].thread_id;
}

static void set_flags(struct store *st, int64_t mb, uint32_t uid, enum store_flag_op op,
		      unsigned flags, const char *kw)
{
	assert_int_equal(flags_do(st, mb, &uid, 1, op, flags, kw, NULL), 0);
}

/* A new account: its mailboxes were created at its first modseq; nothing after. */
static void new_account(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct names nm = {0};
	uint64_t now = state_of(st);
	struct store_changes c;
	assert_int_equal(changes_do(f, st, K_MAILBOX, 0, 100, &c, NULL), 0);
	assert_int_equal(c.n_created, 6);
	assert_int_equal(c.new_modseq, now);
	assert_int_equal(c.old_modseq, 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, 0), "c: u: d:");
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, 0), "c: u: d:");
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, now), "c: u: d:");
	/* RFC 8620 5.2: a state the server never gave is an error, not an empty answer */
	assert_int_equal(changes_do(f, st, K_EMAIL, now + 1, 100, &c, NULL), ERR_INVAL);
	assert_int_equal(changes_do(f, st, K_MAILBOX, now + 1, 100, &c, NULL), ERR_INVAL);
	assert_int_equal(changes_do(f, st, K_THREAD, now + 1, 100, &c, NULL), ERR_INVAL);
	assert_int_equal(changes_do(f, st, K_EMAIL, UINT64_MAX, 100, &c, NULL), ERR_INVAL);
	/* maxChanges 0 is the caller's mistake */
	assert_int_equal(store_email_changes(st, 0, 0, &f->a, &c), ERR_INVAL);
	store_close(&st);
}

/* RFC 8620 5.2: created after since (also when updated after), updated when it existed
 * at since, destroyed when it existed at since; created and destroyed: left out. */
static void email_rules(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct names nm = {0};
	uint64_t s0 = state_of(st);
	uint32_t ua = append(f, st, "INBOX", "Subject: a\r\n\r\na\r\n");
	name_add(&nm, guid_of(f, st, inbox, ua), "A");
	uint64_t s1 = state_of(st);
	assert_true(s1 > s0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s0), "c:A u: d:");
	set_flags(st, inbox, ua, STORE_FLAGS_ADD, STORE_F_FLAGGED, NULL);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s0), "c:A u: d:");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s1), "c: u:A d:");
	/* keywords alone change it too */
	uint64_t s2 = state_of(st);
	set_flags(st, inbox, ua, STORE_FLAGS_ADD, 0, "$label1");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s2), "c: u:A d:");
	/* a STORE that changes nothing is no change */
	uint64_t s3 = state_of(st);
	set_flags(st, inbox, ua, STORE_FLAGS_ADD, STORE_F_FLAGGED, NULL);
	assert_int_equal(state_of(st), s3);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s3), "c: u: d:");
	/* B: made after s3, gone again: left out for s3, destroyed for a state it had */
	uint32_t ub = append(f, st, "INBOX", "Subject: b\r\n\r\nb\r\n");
	name_add(&nm, guid_of(f, st, inbox, ub), "B");
	uint64_t s4 = state_of(st);
	assert_int_equal(store_expunge(st, inbox, &ub, 1, NULL), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s3), "c: u: d:");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s4), "c: u: d:B");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s0), "c:A u: d:");
	/* EXPUNGE of what carries \Deleted (IMAP EXPUNGE, POP3 QUIT's DELE) */
	uint64_t s5 = state_of(st);
	set_flags(st, inbox, ua, STORE_FLAGS_ADD, STORE_F_DELETED, NULL);
	uint32_t *gone = NULL;
	size_t ngone = 0;
	assert_int_equal(store_expunge_deleted(st, inbox, NULL, 0, &f->a, &gone, &ngone, NULL), 0);
	assert_int_equal(ngone, 1);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s5), "c: u: d:A");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s0), "c: u: d:");
	/* an expunge of nothing takes no modseq */
	uint64_t s6 = state_of(st);
	assert_int_equal(store_expunge(st, inbox, &ua, 1, NULL), 0);
	assert_int_equal(state_of(st), s6);
	store_close(&st);
}

/* An Email is every copy: a copy added or removed updates it; the last one gone
 * destroys it; a move updates it (its mailboxIds). */
static void copies(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX"), arch = mailbox_id(f, st, "Archive"),
		trash = mailbox_id(f, st, "Trash");
	struct names nm = {0};
	uint32_t ua = append(f, st, "INBOX", "Subject: a\r\n\r\na\r\n");
	const char *a = guid_of(f, st, inbox, ua);
	name_add(&nm, a, "A");
	uint64_t s1 = state_of(st);
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, inbox, &ua, 1, arch, &f->a, &cr), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s1), "c: u:A d:");
	struct store_email *e = NULL;
	size_t n = 0;
	const char *ids[] = {a};
	assert_int_equal(store_email_get(st, ids, 1, &f->a, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].n, 2);
	/* one copy of two goes: updated, not destroyed */
	uint64_t s2 = state_of(st);
	assert_int_equal(store_expunge(st, inbox, &ua, 1, NULL), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s2), "c: u:A d:");
	/* moved to Trash: updated */
	uint64_t s3 = state_of(st);
	assert_int_equal(store_move(st, arch, &cr.dst_uids[0], 1, trash, &f->a, &cr), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s3), "c: u:A d:");
	assert_int_equal(store_email_get(st, ids, 1, &f->a, &e, &n), 0);
	assert_int_equal(e[0].n, 1);
	assert_int_equal(e[0].mailbox_ids[0], trash);
	/* the last copy goes: destroyed */
	uint64_t s4 = state_of(st);
	assert_int_equal(store_expunge(st, trash, &cr.dst_uids[0], 1, NULL), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s4), "c: u: d:A");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s2), "c: u: d:A");
	assert_int_equal(store_email_get(st, ids, 1, &f->a, &e, &n), 0);
	assert_int_equal(n, 0);
	store_close(&st);
}

/* maxChanges: at most max ids, cut between two modseqs (never inside one), more and an
 * intermediate state; following the states gives every change once. */
static void max_changes(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct names nm = {0};
	uint64_t s0 = state_of(st);
	/* m1 alone, then m2+m3 in one MULTIAPPEND (one modseq), then m4 */
	uint32_t u1 = append(f, st, "INBOX", "Subject: 1\r\n\r\n1\r\n");
	struct store_new_msg m2 = new_msg(f, "Subject: 2\r\n\r\n2\r\n"),
			     m3 = new_msg(f, "Subject: 3\r\n\r\n3\r\n");
	const struct store_new_msg *mm[] = {&m2, &m3};
	uint32_t uids[2];
	assert_int_equal(store_append_multi(st, "INBOX", mm, 2, NULL, uids), 0);
	uint64_t s_multi = state_of(st);
	uint32_t u4 = append(f, st, "INBOX", "Subject: 4\r\n\r\n4\r\n");
	name_add(&nm, guid_of(f, st, inbox, u1), "1");
	name_add(&nm, guid_of(f, st, inbox, uids[0]), "2");
	name_add(&nm, guid_of(f, st, inbox, uids[1]), "3");
	name_add(&nm, guid_of(f, st, inbox, u4), "4");
	struct store_changes c;
	/* max 2: m1 fits, m2+m3 would not: the cut falls after m1 */
	assert_int_equal(changes_do(f, st, K_EMAIL, s0, 2, &c, NULL), 0);
	assert_true(c.more);
	assert_string_equal(changes_str(f, &nm, &c), "c:1 u: d:");
	assert_int_equal(c.new_modseq, s0 + 1);
	uint64_t mid = c.new_modseq;
	assert_int_equal(changes_do(f, st, K_EMAIL, mid, 2, &c, NULL), 0);
	assert_true(c.more);
	assert_int_equal(c.new_modseq, s_multi);
	assert_int_equal(c.n_created, 2); /* 2 and 3 together, in id order */
	assert_int_equal(changes_do(f, st, K_EMAIL, c.new_modseq, 2, &c, NULL), 0);
	assert_false(c.more);
	assert_string_equal(changes_str(f, &nm, &c), "c:4 u: d:");
	assert_int_equal(c.new_modseq, state_of(st));
	/* max 3: exactly m1 + m2 + m3, and more (m4 waits) */
	assert_int_equal(changes_do(f, st, K_EMAIL, s0, 3, &c, NULL), 0);
	assert_true(c.more);
	assert_int_equal(c.n_created, 3);
	assert_int_equal(c.new_modseq, s_multi);
	/* max 4: all, no more */
	assert_int_equal(changes_do(f, st, K_EMAIL, s0, 4, &c, NULL), 0);
	assert_false(c.more);
	assert_int_equal(c.n_created, 4);
	/* max 1 from after m1: the MULTIAPPEND alone is 2 ids: cannot be cut */
	assert_int_equal(changes_do(f, st, K_EMAIL, mid, 1, &c, NULL), ERR_GONE);
	/* an Email created in range and changed later sorts by its creation: with the cut
	 * after m1 it comes in the first part, as created */
	set_flags(st, inbox, u1, STORE_FLAGS_ADD, STORE_F_SEEN, NULL);
	assert_int_equal(changes_do(f, st, K_EMAIL, s0, 2, &c, NULL), 0);
	assert_string_equal(changes_str(f, &nm, &c), "c:1 u: d:");
	assert_int_equal(changes_do(f, st, K_EMAIL, c.new_modseq, 100, &c, NULL), 0);
	assert_string_equal(changes_str(f, &nm, &c), "c:2,3,4 u:1 d:");
	store_close(&st);
}

/* Mailbox/changes: created, renamed (not counts only), counts (totalEmails,
 * unreadEmails: counts only), a flag that is not $seen/$draft (no change), deleted. */
static void mailbox_rules(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct names nm = {0};
	name_add(&nm, mailboxid_of(f, st, "INBOX"), "INBOX");
	uint64_t s0 = state_of(st);
	assert_int_equal(store_mailbox_create(st, "Work", 0), 0);
	name_add(&nm, mailboxid_of(f, st, "Work"), "Work");
	struct store_changes c;
	bool co = true;
	assert_int_equal(changes_do(f, st, K_MAILBOX, s0, 100, &c, &co), 0);
	assert_string_equal(changes_str(f, &nm, &c), "c:Work u: d:");
	assert_false(co); /* nothing updated */
	/* a message in INBOX: its counts */
	uint64_t s1 = state_of(st);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint32_t u = append(f, st, "INBOX", "Subject: a\r\n\r\na\r\n");
	assert_int_equal(changes_do(f, st, K_MAILBOX, s1, 100, &c, &co), 0);
	assert_string_equal(changes_str(f, &nm, &c), "c: u:INBOX d:");
	assert_true(co);
	/* \Seen changes unreadEmails; \Flagged changes no mailbox property */
	uint64_t s2 = state_of(st);
	set_flags(st, inbox, u, STORE_FLAGS_ADD, STORE_F_FLAGGED, NULL);
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s2), "c: u: d:");
	set_flags(st, inbox, u, STORE_FLAGS_ADD, STORE_F_SEEN, NULL);
	assert_int_equal(changes_do(f, st, K_MAILBOX, s2, 100, &c, &co), 0);
	assert_string_equal(changes_str(f, &nm, &c), "c: u:INBOX d:");
	assert_true(co);
	/* renamed: more than counts; with a counts change of another mailbox beside it */
	uint64_t s3 = state_of(st);
	assert_int_equal(store_mailbox_rename(st, "Work", "Jobs"), 0);
	assert_int_equal(changes_do(f, st, K_MAILBOX, s3, 100, &c, &co), 0);
	assert_string_equal(changes_str(f, &nm, &c), "c: u:Work d:");
	assert_false(co);
	(void)append(f, st, "INBOX", "Subject: b\r\n\r\nb\r\n");
	assert_int_equal(changes_do(f, st, K_MAILBOX, s3, 100, &c, &co), 0);
	assert_int_equal(c.n_updated, 2);
	assert_false(co);
	/* deleted: destroyed; created and deleted after since: left out */
	uint64_t s4 = state_of(st);
	assert_int_equal(store_mailbox_create(st, "Brief", 0), 0);
	assert_int_equal(store_mailbox_delete(st, "Brief"), 0);
	assert_int_equal(store_mailbox_delete(st, "Jobs"), 0);
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s4), "c: u: d:Work");
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s0), "c: u:INBOX d:");
	store_close(&st);
}

/* A mailbox deleted with its messages destroys the Emails that had no other copy;
 * INBOX renamed moves its Emails (updated) into a new mailbox (created). */
static void mailbox_writers(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct names nm = {0};
	assert_int_equal(store_mailbox_create(st, "Tmp", 0), 0);
	int64_t tmp = mailbox_id(f, st, "Tmp"), inbox = mailbox_id(f, st, "INBOX");
	uint32_t u1 = append(f, st, "Tmp", "Subject: 1\r\n\r\n1\r\n");
	uint32_t u2 = append(f, st, "Tmp", "Subject: 2\r\n\r\n2\r\n");
	name_add(&nm, guid_of(f, st, tmp, u1), "1");
	name_add(&nm, guid_of(f, st, tmp, u2), "2");
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, tmp, &u2, 1, inbox, &f->a, &cr), 0);
	uint64_t s1 = state_of(st);
	assert_int_equal(store_mailbox_delete(st, "Tmp"), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s1), "c: u:2 d:1");
	/* INBOX renamed */
	uint64_t s2 = state_of(st);
	assert_int_equal(store_mailbox_rename(st, "INBOX", "Old"), 0);
	name_add(&nm, mailboxid_of(f, st, "Old"), "Old");
	name_add(&nm, mailboxid_of(f, st, "INBOX"), "INBOX");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s2), "c: u:2 d:");
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s2), "c:Old u:INBOX d:");
	struct store_email *e = NULL;
	size_t n = 0;
	const char *ids[] = {nm.id[1]};
	assert_int_equal(store_email_get(st, ids, 1, &f->a, &e, &n), 0);
	assert_int_equal(e[0].mailbox_ids[0], mailbox_id(f, st, "Old"));
	store_close(&st);
}

/* unreadThreads (RFC 8621 2) follows the whole thread: a reply arriving or read in
 * Sent changes the counts of INBOX too, which holds another Email of its thread. */
static void unread_threads(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct names nm = {0};
	name_add(&nm, mailboxid_of(f, st, "INBOX"), "INBOX");
	name_add(&nm, mailboxid_of(f, st, "Sent"), "Sent");
	int64_t sent = mailbox_id(f, st, "Sent");
	(void)append(f, st, "INBOX", "Message-ID: <q@x>\r\nSubject: q\r\n\r\nq\r\n");
	uint64_t s1 = state_of(st);
	/* the reply arrives in Sent: INBOX's thread counts may change too */
	uint32_t ur = append(f, st, "Sent", "Message-ID: <r@x>\r\nIn-Reply-To: <q@x>\r\n\r\nr\r\n");
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s1), "c: u:INBOX,Sent d:");
	uint64_t s2 = state_of(st);
	set_flags(st, sent, ur, STORE_FLAGS_ADD, STORE_F_SEEN, NULL);
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s2), "c: u:INBOX,Sent d:");
	/* $draft counts as read as well (RFC 8621 2: unreadEmails) */
	uint64_t s3 = state_of(st);
	set_flags(st, sent, ur, STORE_FLAGS_SET, STORE_F_DRAFT, NULL);
	assert_string_equal(changes_of(f, st, &nm, K_MAILBOX, s3), "c: u: d:");
	store_close(&st);
}

/* Thread/changes and store_thread_get: a reply joins (updated), leaves (updated), the
 * last Email goes (destroyed); the Emails by receivedAt. */
static void threads(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct names nm = {0};
	uint64_t s0 = state_of(st);
	struct store_new_msg m1 = new_msg(f, "Message-ID: <t1@x>\r\nSubject: t\r\n\r\n1\r\n");
	m1.internal_date = 1700000300;
	uint32_t u1 = 0;
	assert_int_equal(store_append(st, "INBOX", &m1, &u1), 0);
	const char *g1 = guid_of(f, st, inbox, u1);
	const char *t = thread_of(f, st, g1);
	name_add(&nm, t, "T");
	assert_int_equal(strlen(t), 33);
	assert_int_equal(t[0], 'T');
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s0), "c:T u: d:");
	uint64_t s1 = state_of(st);
	/* an earlier reply (older INTERNALDATE) joins */
	struct store_new_msg m2 = new_msg(f, "Message-ID: <t2@x>\r\nReferences: <t1@x>\r\n\r\n2\r\n");
	m2.internal_date = 1700000100;
	uint32_t u2 = 0;
	assert_int_equal(store_append(st, "INBOX", &m2, &u2), 0);
	const char *g2 = guid_of(f, st, inbox, u2);
	assert_string_equal(thread_of(f, st, g2), t);
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s1), "c: u:T d:");
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s0), "c:T u: d:");
	const char **ids = NULL;
	size_t n = 0;
	assert_int_equal(store_thread_get(st, t, &f->a, &ids, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], g2); /* received first */
	assert_string_equal(ids[1], g1);
	/* a flag is no Thread change */
	uint64_t s2 = state_of(st);
	set_flags(st, inbox, u1, STORE_FLAGS_ADD, STORE_F_SEEN, NULL);
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s2), "c: u: d:");
	/* one leaves: updated; the last: destroyed */
	assert_int_equal(store_expunge(st, inbox, &u2, 1, NULL), 0);
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s2), "c: u:T d:");
	assert_int_equal(store_thread_get(st, t, &f->a, &ids, &n), 0);
	assert_int_equal(n, 1);
	uint64_t s3 = state_of(st);
	assert_int_equal(store_expunge(st, inbox, &u1, 1, NULL), 0);
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s3), "c: u: d:T");
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s0), "c: u: d:");
	assert_int_equal(store_thread_get(st, t, &f->a, &ids, &n), ERR_NOTFOUND);
	assert_int_equal(store_thread_get(st, "Tnothex", &f->a, &ids, &n), ERR_NOTFOUND);
	/* a late reply joins the thread id again: made anew for a state after it went,
	 * updated for one when it still had an Email */
	uint64_t s4 = state_of(st);
	(void)append(f, st, "INBOX", "Message-ID: <t3@x>\r\nReferences: <t1@x>\r\n\r\n3\r\n");
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s4), "c:T u: d:");
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s3), "c: u:T d:");
	assert_int_equal(store_thread_get(st, t, &f->a, &ids, &n), 0);
	assert_int_equal(n, 1);
	store_close(&st);
}

/* store_email_get: in the order asked, unknown and malformed ids left out, flags and
 * keywords of the first copy, receivedAt the earliest, the copies ascending. */
static void email_get(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX"), arch = mailbox_id(f, st, "Archive");
	struct store_new_msg m = new_msg(f, "Message-ID: <g@x>\r\n\r\nbody\r\n");
	m.internal_date = 1700000500;
	m.flags = STORE_F_SEEN;
	m.keywords = "$label1";
	uint32_t u = 0;
	assert_int_equal(store_append(st, "Archive", &m, &u), 0);
	const char *g = guid_of(f, st, arch, u);
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, arch, &u, 1, inbox, &f->a, &cr), 0);
	/* the copy in INBOX (the lower mailbox id) differs: its flags are the Email's */
	assert_true(inbox < arch);
	set_flags(st, inbox, cr.dst_uids[0], STORE_FLAGS_SET, STORE_F_FLAGGED, "");
	uint32_t u2 = append(f, st, "INBOX", "Subject: other\r\n\r\nx\r\n");
	const char *g2 = guid_of(f, st, inbox, u2);
	const char *ids[] = {"0123456789abcdef0123456789abcdef", g2, "../../etc", g,
			     "ABCDEF0123456789ABCDEF0123456789", g2};
	struct store_email *e = NULL;
	size_t n = 0;
	assert_int_equal(store_email_get(st, ids, 6, &f->a, &e, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].id, g2);
	assert_string_equal(e[1].id, g);
	assert_string_equal(e[2].id, g2);
	assert_int_equal(e[1].n, 2);
	assert_int_equal(e[1].mailbox_ids[0], inbox);
	assert_int_equal(e[1].mailbox_ids[1], arch);
	assert_int_equal(e[1].uids[0], cr.dst_uids[0]);
	assert_int_equal(e[1].uids[1], u);
	assert_int_equal(e[1].flags, STORE_F_FLAGGED);
	assert_string_equal(e[1].keywords, "");
	assert_int_equal(e[1].size, strlen("Message-ID: <g@x>\r\n\r\nbody\r\n"));
	assert_int_equal(e[1].received_at, 1700000500);
	assert_string_equal(e[1].thread_id, thread_of(f, st, g));
	/* bounds: LIMIT_JMAP_OBJECTS_GET ids, no NULL id */
	const char *many[LIMIT_JMAP_OBJECTS_GET + 1];
	for (size_t i = 0; i <= LIMIT_JMAP_OBJECTS_GET; i++)
		many[i] = g;
	assert_int_equal(store_email_get(st, many, LIMIT_JMAP_OBJECTS_GET, &f->a, &e, &n), 0);
	assert_int_equal(n, LIMIT_JMAP_OBJECTS_GET);
	assert_int_equal(store_email_get(st, many, LIMIT_JMAP_OBJECTS_GET + 1, &f->a, &e, &n),
			 ERR_INVAL);
	const char *null_id[] = {NULL};
	assert_int_equal(store_email_get(st, null_id, 1, &f->a, &e, &n), ERR_INVAL);
	assert_int_equal(store_email_get(st, NULL, 0, &f->a, &e, &n), 0);
	assert_int_equal(n, 0);
	store_close(&st);
}

/* store_email_scan: every Email once, by EMAILID, read as store_email_get reads it; the
 * other account's not among them. */
static void email_scan(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct store *sb = open_store(f, add_account(f, "b@x.org", 0));
	struct store_email *v = NULL;
	size_t n = 9;
	assert_int_equal(store_email_scan(st, &f->a, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	int64_t inbox = mailbox_id(f, st, "INBOX"), arch = mailbox_id(f, st, "Archive");
	uint32_t u[5];
	for (int i = 0; i < 5; i++)
		u[i] = append(f, st, i % 2 ? "Archive" : "INBOX",
			      arena_printf(&f->a, "Message-ID: <s%d@x>\r\n\r\nbody %d\r\n", i, i));
	(void)append(f, sb, "INBOX", "Subject: b's\r\n\r\nb\r\n");
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, inbox, &u[0], 1, arch, &f->a, &cr), 0);
	set_flags(st, arch, u[1], STORE_FLAGS_SET, STORE_F_SEEN, "$label2");
	assert_int_equal(store_email_scan(st, &f->a, &v, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(strcmp(v[i - 1].id, v[i].id) < 0);
		struct store_email *g = NULL;
		size_t gn = 0;
		assert_int_equal(store_email_get(st, &v[i].id, 1, &f->a, &g, &gn), 0);
		assert_int_equal(gn, 1);
		assert_string_equal(g->thread_id, v[i].thread_id);
		assert_int_equal(g->size, v[i].size);
		assert_int_equal(g->received_at, v[i].received_at);
		assert_int_equal(g->flags, v[i].flags);
		assert_string_equal(g->keywords, v[i].keywords);
		assert_int_equal(g->n, v[i].n);
		for (size_t k = 0; k < g->n; k++) {
			assert_int_equal(g->mailbox_ids[k], v[i].mailbox_ids[k]);
			assert_int_equal(g->uids[k], v[i].uids[k]);
		}
	}
	/* the copied one has two copies; the flagged one its keyword */
	const char *g0 = guid_of(f, st, inbox, u[0]), *g1 = guid_of(f, st, arch, u[1]);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].id, g0))
			assert_int_equal(v[i].n, 2);
		if (!strcmp(v[i].id, g1)) {
			assert_int_equal(v[i].flags, STORE_F_SEEN);
			assert_string_equal(v[i].keywords, "$label2");
		}
	}
	store_close(&sb);
	store_close(&st);
}

/* Two accounts: nothing of one shows through the other, whatever the id. */
static void isolation(void **state)
{
	struct fx *f = *state;
	struct store *sa = open_store(f, add_account(f, "a@x.org", 0));
	struct store *sb = open_store(f, add_account(f, "b@x.org", 0));
	int64_t ia = mailbox_id(f, sa, "INBOX");
	uint32_t ua = append(f, sa, "INBOX", "Message-ID: <iso@x>\r\n\r\nsecret\r\n");
	const char *ga = guid_of(f, sa, ia, ua), *ta = thread_of(f, sa, ga);
	struct names nm = {0};
	name_add(&nm, ga, "A");
	name_add(&nm, ta, "TA");
	name_add(&nm, mailboxid_of(f, sa, "INBOX"), "INBOX-A");
	/* b's changes since its own start: none of a's */
	assert_string_equal(changes_of(f, sb, &nm, K_EMAIL, 0), "c: u: d:");
	assert_string_equal(changes_of(f, sb, &nm, K_THREAD, 0), "c: u: d:");
	struct store_changes c;
	assert_int_equal(changes_do(f, sb, K_MAILBOX, 0, 100, &c, NULL), 0);
	assert_int_equal(c.n_created, 6);
	assert_string_equal(list_str(f, &nm, c.created, c.n_created), "?,?,?,?,?,?");
	/* a's ids asked of b: not found */
	const char *ids[] = {ga};
	struct store_email *e = NULL;
	size_t n = 9;
	assert_int_equal(store_email_get(sb, ids, 1, &f->a, &e, &n), 0);
	assert_int_equal(n, 0);
	const char **tv = NULL;
	assert_int_equal(store_thread_get(sb, ta, &f->a, &tv, &n), ERR_NOTFOUND);
	/* a's changes are a's */
	assert_string_equal(changes_of(f, sa, &nm, K_EMAIL, 0), "c:A u: d:");
	/* b's expunge of its own does not show in a's */
	uint64_t sa1 = state_of(sa);
	uint32_t ub = append(f, sb, "INBOX", "Subject: b\r\n\r\nb\r\n");
	assert_int_equal(store_expunge(sb, mailbox_id(f, sb, "INBOX"), &ub, 1, NULL), 0);
	assert_string_equal(changes_of(f, sa, &nm, K_EMAIL, sa1), "c: u: d:");
	store_close(&sa);
	store_close(&sb);
}

/* Delivery (the group commit) and store_check dropping a row whose file is gone. */
static void delivery_and_check(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@x.org", 0), b = add_account(f, "b@x.org", 0);
	struct store *st = open_store(f, a);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct names nm = {0};
	uint64_t s0 = state_of(st);
	struct store_new_msg m1 = new_msg(f, "Subject: d1\r\n\r\n1\r\n"),
			     m2 = new_msg(f, "Subject: d2\r\n\r\n2\r\n");
	const struct store_new_msg *msgs[] = {&m1, &m2, &m1};
	int64_t ids[] = {a, a, b};
	int res[3];
	assert_int_equal(store_deliver_batch(f->env, ids, msgs, 3, res), 0);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	name_add(&nm, guid_of(f, st, inbox, 1), "1");
	name_add(&nm, guid_of(f, st, inbox, 2), "2");
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s0), "c:1,2 u: d:");
	struct store_changes c;
	assert_int_equal(changes_do(f, st, K_EMAIL, s0, 1, &c, NULL), ERR_GONE); /* one batch */
	/* store_check: a row without its file is dropped, and so destroyed */
	uint64_t s1 = state_of(st);
	assert_int_equal(unlink(file_of(f, a, nm.id[0])), 0);
	assert_int_equal(store_check(f->env), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s1), "c: u: d:1");
	store_close(&st);
}

/* Tombstones are pruned like the expunge log; a state from before the pruned ones
 * answers ERR_GONE (cannotCalculateChanges), a later one still works. */
static void pruning(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct names nm = {0};
	uint64_t s0 = state_of(st);
	uint32_t u1 = append(f, st, "INBOX", "Message-ID: <p1@x>\r\n\r\n1\r\n");
	uint32_t u2 = append(f, st, "INBOX", "Message-ID: <p2@x>\r\n\r\n2\r\n");
	name_add(&nm, guid_of(f, st, inbox, u1), "1");
	name_add(&nm, guid_of(f, st, inbox, u2), "2");
	assert_int_equal(store_mailbox_create(st, "M", 0), 0);
	uint64_t s1 = state_of(st);
	assert_int_equal(store_expunge(st, inbox, &u1, 1, NULL), 0);
	assert_int_equal(store_mailbox_delete(st, "M"), 0);
	uint64_t s2 = state_of(st);
	assert_int_equal(store_expunge(st, inbox, &u2, 1, NULL), 0);
	/* young tombstones stay whatever keep says; the default keeps them all */
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(store_changes_prune(st, now - 3600, 0), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s1), "c: u: d:1,2");
	/* old enough, keep the newest one: 1's goes, 2's stays */
	assert_int_equal(store_changes_prune(st, now + 3600, 1), 0);
	struct store_changes c;
	assert_int_equal(changes_do(f, st, K_EMAIL, s1, 100, &c, NULL), ERR_GONE);
	assert_int_equal(changes_do(f, st, K_EMAIL, s0, 100, &c, NULL), ERR_GONE);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s2), "c: u: d:2");
	/* the mailbox's only tombstone is the newest: kept; of the two threads' only 2's */
	assert_int_equal(changes_do(f, st, K_MAILBOX, s1, 100, &c, NULL), 0);
	assert_int_equal(c.n_destroyed, 1);
	assert_int_equal(changes_do(f, st, K_THREAD, s1, 100, &c, NULL), ERR_GONE);
	assert_int_equal(changes_do(f, st, K_THREAD, s2, 100, &c, NULL), 0);
	assert_int_equal(c.n_destroyed, 1);
	/* keep 0: every old one goes */
	assert_int_equal(store_changes_prune(st, now + 3600, 0), 0);
	assert_int_equal(changes_do(f, st, K_EMAIL, s2, 100, &c, NULL), ERR_GONE);
	assert_int_equal(changes_do(f, st, K_MAILBOX, s1, 100, &c, NULL), ERR_GONE);
	assert_int_equal(changes_do(f, st, K_THREAD, s1, 100, &c, NULL), ERR_GONE);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, state_of(st)), "c: u: d:");
	store_close(&st);
}

/* Schema 3 to 4: what exists counts as created at its modseq; states from before the
 * migration cannot be calculated; changes after it show. */
static void migrate_v3(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint32_t u1 = append(f, st, "INBOX", "Message-ID: <v1@x>\r\n\r\n1\r\n");
	uint32_t u2 = append(f, st, "INBOX", "Message-ID: <v2@x>\r\nReferences: <v1@x>\r\n\r\n2\r\n");
	struct names nm = {0};
	name_add(&nm, guid_of(f, st, inbox, u1), "1");
	name_add(&nm, guid_of(f, st, inbox, u2), "2");
	store_close(&st);
	store_env_close(&f->env);
	sql_on(f, id, SCHEMA_V4_UNDO "PRAGMA user_version=3;");
	env_reopen(f);
	st = open_store(f, id);
	uint64_t s = state_of(st);
	struct store_changes c;
	assert_int_equal(changes_do(f, st, K_EMAIL, s - 1, 100, &c, NULL), ERR_GONE);
	assert_int_equal(changes_do(f, st, K_MAILBOX, 0, 100, &c, NULL), ERR_GONE);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s), "c: u: d:");
	set_flags(st, inbox, u1, STORE_FLAGS_ADD, STORE_F_SEEN, NULL);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s), "c: u:1 d:");
	assert_int_equal(store_expunge(st, inbox, &u2, 1, NULL), 0);
	assert_string_equal(changes_of(f, st, &nm, K_EMAIL, s), "c: u:1 d:2");
	/* the thread existed before: it was left, not made */
	name_add(&nm, thread_of(f, st, nm.id[0]), "T");
	assert_string_equal(changes_of(f, st, &nm, K_THREAD, s), "c: u:T d:");
	const char **tv = NULL;
	size_t n = 0;
	assert_int_equal(store_thread_get(st, nm.id[2], &f->a, &tv, &n), 0);
	assert_int_equal(n, 1);
	store_close(&st);
}

/* The ids of a query as names in their order ("" when none). */
static const char *query_str(struct fx *f, struct store *st, const struct names *nm,
			     const struct store_email_query *q, size_t *total, size_t *pos)
{
	struct store_email_list l;
	assert_int_equal(store_email_query(st, q, &f->a, &l), 0);
	*total = l.total;
	*pos = l.position;
	char *s = arena_strdup(&f->a, "");
	for (size_t i = 0; i < l.n; i++) {
		const char *name = "?";
		for (size_t k = 0; k < nm->n; k++)
			if (!strcmp(nm->id[k], l.ids[i]))
				name = nm->name[k];
		s = arena_printf(&f->a, "%s%s%s", s, i ? "," : "", name);
	}
	return s;
}

/* store_email_query: sort by receivedAt and size, both ways; collapsed threads; the
 * window by position (also from the end) and by anchor (RFC 8620 5.5); an Email with
 * copies in two mailboxes is one result for the account. */
static void query(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX"), arch = mailbox_id(f, st, "Archive");
	struct names nm = {0};
	/* a (oldest, 50 B), b (a reply to a, 87 B), c (newest, 23 B); c copied to Archive */
	static const struct {
		const char *name, *text;
		int64_t date;
	} mails[] = {
		{"a", "Message-ID: <qa@x>\r\n\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1000},
		{"b", "Message-ID: <qb@x>\r\nReferences: <qa@x>\r\n\r\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 2000},
		{"c", "Message-ID: <qc@x>\r\n\r\nc", 3000},
	};
	uint32_t uid[3];
	for (int i = 0; i < 3; i++) {
		struct store_new_msg m = new_msg(f, mails[i].text);
		m.internal_date = mails[i].date;
		assert_int_equal(store_append(st, "INBOX", &m, &uid[i]), 0);
		name_add(&nm, guid_of(f, st, inbox, uid[i]), mails[i].name);
	}
	struct store_copy_result cr;
	assert_int_equal(store_copy(st, inbox, &uid[2], 1, arch, &f->a, &cr), 0);
	size_t total = 0, pos = 0;
	struct store_email_query q = {.mailbox_id = inbox, .sort = STORE_SORT_RECEIVED,
				      .limit = 10};
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,b,a");
	assert_int_equal(total, 3);
	q.ascending = true;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "a,b,c");
	q.sort = STORE_SORT_SIZE;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,a,b");
	q.ascending = false;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "b,a,c");
	/* collapsed: the first of a/b's thread in this order stands for it */
	q.collapse_threads = true;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "b,c");
	assert_int_equal(total, 2);
	q.sort = STORE_SORT_RECEIVED;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,b");
	q.collapse_threads = false;
	/* windows: position, from the end, past the end */
	q.position = 1, q.limit = 1;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "b");
	assert_int_equal(pos, 1);
	q.position = -2, q.limit = 10;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "b,a");
	assert_int_equal(pos, 1);
	q.position = -9;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,b,a");
	assert_int_equal(pos, 0);
	q.position = 7;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "");
	assert_int_equal(pos, 3);
	assert_int_equal(total, 3);
	/* anchor (position ignored), with offsets either way */
	q.position = 0, q.anchor = nm.id[1], q.anchor_offset = 0;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "b,a");
	q.anchor_offset = -1, q.limit = 2;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,b");
	q.anchor_offset = -5;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,b");
	assert_int_equal(pos, 0);
	q.anchor_offset = 5;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "");
	struct store_email_list l;
	q.anchor = "0123456789abcdef0123456789abcdef";
	assert_int_equal(store_email_query(st, &q, &f->a, &l), ERR_NOTFOUND);
	q.anchor = NULL;
	/* the account: c once, though in two mailboxes; Archive alone */
	q.mailbox_id = 0;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c,b");
	assert_int_equal(total, 3);
	q.mailbox_id = arch;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "c");
	/* bounds and errors */
	q.mailbox_id = 99999;
	assert_int_equal(store_email_query(st, &q, &f->a, &l), ERR_NOTFOUND);
	q.mailbox_id = inbox, q.limit = 0;
	assert_int_equal(store_email_query(st, &q, &f->a, &l), ERR_INVAL);
	q.limit = LIMIT_JMAP_QUERY_LIMIT + 1;
	assert_int_equal(store_email_query(st, &q, &f->a, &l), ERR_INVAL);
	q.limit = LIMIT_JMAP_QUERY_LIMIT;
	assert_int_equal(store_email_query(st, &q, &f->a, &l), 0);
	assert_int_equal(l.n, 3);
	/* another account sees none of them */
	struct store *sb = open_store(f, add_account(f, "b@x.org", 0));
	q.mailbox_id = 0;
	assert_string_equal(query_str(f, sb, &nm, &q, &total, &pos), "");
	assert_int_equal(total, 0);
	store_close(&sb);
	store_close(&st);
}

/* The names of ids sorted by their EMAILIDs, joined: the expected order of a tie. */
static const char *by_guid(struct fx *f, const struct names *nm, const char *names)
{
	const char *v[8];
	size_t n = 0;
	for (const char *p = names; *p; p += *p == ',') {
		size_t l = strcspn(p, ",");
		for (size_t k = 0; k < nm->n; k++)
			if (strlen(nm->name[k]) == l && !strncmp(nm->name[k], p, l))
				v[n++] = nm->id[k];
		p += l;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
			const char *t = v[k];
			v[k] = v[k - 1], v[k - 1] = t;
		}
	char *s = arena_strdup(&f->a, "");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nm->n; k++)
			if (nm->id[k] == v[i])
				s = arena_printf(&f->a, "%s%s%s", s, i ? "," : "", nm->name[k]);
	return s;
}

/* store_email_query of a mailbox by receivedAt (the index walk): ties by EMAILID
 * ascending in both directions, a second copy in the same mailbox once, collapsed
 * threads across runs of one date, and a window that ends the walk early without a
 * total (the total then counts at least the window). */
static void query_by_date(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct names nm = {0};
	static const struct {
		const char *name, *text;
		int64_t date;
	} mails[] = {
		{"m0", "Message-ID: <d0@x>\r\n\r\n0", 1000},
		{"m1", "Message-ID: <d1@x>\r\n\r\n1", 1000},
		{"m2", "Message-ID: <d2@x>\r\n\r\n2", 1000},
		{"m3", "Message-ID: <d3@x>\r\nReferences: <d0@x>\r\n\r\n3", 2000},
		{"m4", "Message-ID: <d4@x>\r\n\r\n4", 3000},
		{"m5", "Message-ID: <d5@x>\r\nReferences: <d4@x>\r\n\r\n5", 3000},
	};
	uint32_t uid[6];
	for (int i = 0; i < 6; i++) {
		struct store_new_msg m = new_msg(f, mails[i].text);
		m.internal_date = mails[i].date;
		assert_int_equal(store_append(st, "INBOX", &m, &uid[i]), 0);
		name_add(&nm, guid_of(f, st, inbox, uid[i]), mails[i].name);
	}
	struct store_copy_result cr; /* m1 twice in INBOX */
	assert_int_equal(store_copy(st, inbox, &uid[1], 1, inbox, &f->a, &cr), 0);
	size_t total = 0, pos = 0;
	struct store_email_query q = {.mailbox_id = inbox, .sort = STORE_SORT_RECEIVED,
				      .limit = 10, .total = true};
	const char *newest = by_guid(f, &nm, "m4,m5"), *oldest = by_guid(f, &nm, "m0,m1,m2");
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos),
			    arena_printf(&f->a, "%s,m3,%s", newest, oldest));
	assert_int_equal(total, 6);
	q.ascending = true;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos),
			    arena_printf(&f->a, "%s,m3,%s", oldest, newest));
	/* collapsed: m0's thread is listed by m3 first (descending), m4/m5's by its first */
	q.ascending = false, q.collapse_threads = true;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos),
			    arena_printf(&f->a, "%.2s,m3,%s", newest, by_guid(f, &nm, "m1,m2")));
	assert_int_equal(total, 4);
	q.ascending = true;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos),
			    arena_printf(&f->a, "%s,%.2s", oldest, newest));
	/* a window without total: the same ids, the walk may stop after them */
	q.collapse_threads = false, q.ascending = false, q.total = false;
	q.position = 1, q.limit = 2;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos),
			    arena_printf(&f->a, "%s,m3", newest + 3));
	assert_int_equal(pos, 1);
	assert_true(total >= 3 && total <= 6);
	q.position = 9;
	assert_string_equal(query_str(f, st, &nm, &q, &total, &pos), "");
	assert_int_equal(pos, 6);
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
			T(new_account),    T(email_rules),        T(copies),
			T(max_changes),    T(mailbox_rules),      T(mailbox_writers),
			T(unread_threads), T(threads),            T(email_get),
			T(isolation),      T(delivery_and_check), T(pruning),
			T(migrate_v3),     T(query),              T(email_scan),
			T(query_by_date),
		};
#undef T
		failed += _cmocka_run_group_tests(store_backends[i]->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
