/* test_store_conformance.c: the same cases against every backend in store_backends[],
 * each in a fresh data dir under /tmp (removed afterwards; test_store_fx.h). Cases that
 * look at files on disk (recovery, unlink after expunge) know the sqlite layout and run
 * for it only. What IMAP added to the interface is test_store_imap.c's. */
#include "test_store_fx.h"

#include <ftw.h>
#include <pthread.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "mime/mime.h"

/* ---- directory ---- */

static void accounts(void **state)
{
	struct fx *f = *state;
	struct store_account acc;
	int64_t id = add_account(f, "Alice@Example.COM", 1000);
	assert_int_equal(store_account_add(f->env, "alice@example.com", NULL, 0, NULL), ERR_EXISTS);
	assert_int_equal(store_account_add(f->env, "no-at-sign", NULL, 0, NULL), ERR_INVAL);
	assert_int_equal(store_account_add(f->env, "a b@x.org", NULL, 0, NULL), ERR_INVAL);
	assert_int_equal(store_account_add(f->env, "@x.org", NULL, 0, NULL), ERR_INVAL);
	assert_int_equal(store_account_get(f->env, "ALICE@example.com", &f->a, &acc), 0);
	assert_int_equal(acc.id, id);
	assert_string_equal(acc.address, "alice@example.com");
	assert_string_equal(acc.pwhash, "$y$hash");
	assert_int_equal(acc.quota_bytes, 1000);
	assert_int_equal(acc.quota_messages, 0);
	assert_true(acc.pop3_enabled);
	assert_int_equal(acc.used_bytes, 0);
	assert_int_equal(store_account_get(f->env, "bob@example.com", &f->a, &acc), ERR_NOTFOUND);

	int64_t id2 = add_account(f, "bob@example.com", 0);
	assert_true(id2 != id);
	struct store_account *list;
	size_t n;
	assert_int_equal(store_account_list(f->env, &f->a, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].address, "alice@example.com");
	assert_string_equal(list[1].address, "bob@example.com");

	assert_int_equal(store_account_set(f->env, "alice@example.com", "password", "$y$new"), 0);
	assert_int_equal(store_account_set(f->env, "alice@example.com", "quota", "2M"), 0);
	assert_int_equal(store_account_set(f->env, "alice@example.com", "quota_messages", "7"), 0);
	assert_int_equal(store_account_set(f->env, "alice@example.com", "pop3", "off"), 0);
	assert_int_equal(store_account_set(f->env, "alice@example.com", "pop3", "maybe"), ERR_INVAL);
	assert_int_equal(store_account_set(f->env, "alice@example.com", "color", "red"), ERR_INVAL);
	assert_int_equal(store_account_set(f->env, "alice@example.com", "quota", "x"), ERR_INVAL);
	assert_int_equal(store_account_set(f->env, "nobody@example.com", "quota", "1"),
			 ERR_NOTFOUND);
	assert_int_equal(store_account_get_id(f->env, id, &f->a, &acc), 0);
	assert_string_equal(acc.pwhash, "$y$new");
	assert_int_equal(acc.quota_bytes, 2u << 20);
	assert_int_equal(acc.quota_messages, 7);
	assert_false(acc.pop3_enabled);

	assert_int_equal(store_account_del(f->env, "ALICE@example.com"), 0);
	assert_int_equal(store_account_get_id(f->env, id, &f->a, &acc), ERR_NOTFOUND);
	assert_int_equal(store_account_del(f->env, "alice@example.com"), ERR_NOTFOUND);
	struct store *st;
	assert_int_equal(store_open(f->env, id, &st), ERR_NOTFOUND);
	if (is_sqlite(f)) {
		char *p = arena_printf(&f->a, "%s/accounts/%lld", f->dir, (long long)id);
		assert_int_equal(access(p, F_OK), -1);
	}
	/* ids are never reused */
	int64_t id3 = add_account(f, "alice@example.com", 0);
	assert_true(id3 > id2);
}

static void aliases_resolve(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "user@ex.org", 0), got = 0;
	add_account(f, "other@ex.org", 0);
	assert_int_equal(store_alias_add(f->env, "Sales@Ex.Org", "USER@ex.org"), 0);
	assert_int_equal(store_alias_add(f->env, "sales@ex.org", "user@ex.org"), ERR_EXISTS);
	assert_int_equal(store_alias_add(f->env, "other@ex.org", "user@ex.org"), ERR_EXISTS);
	assert_int_equal(store_alias_add(f->env, "x@ex.org", "ghost@ex.org"), ERR_NOTFOUND);
	assert_int_equal(store_account_add(f->env, "sales@ex.org", NULL, 0, NULL), ERR_EXISTS);

	assert_int_equal(store_resolve(f->env, "USER@EX.ORG", &got), 0);
	assert_int_equal(got, id);
	got = 0;
	assert_int_equal(store_resolve(f->env, "user+lists@ex.org", &got), 0);
	assert_int_equal(got, id);
	got = 0;
	assert_int_equal(store_resolve(f->env, "SALES+x+y@ex.org", &got), 0);
	assert_int_equal(got, id);
	assert_int_equal(store_resolve(f->env, "+user@ex.org", &got), ERR_NOTFOUND);
	assert_int_equal(store_resolve(f->env, "nobody@ex.org", &got), ERR_NOTFOUND);
	assert_int_equal(store_resolve(f->env, "user@other.org", &got), ERR_NOTFOUND);
	assert_int_equal(store_resolve(f->env, "", &got), ERR_NOTFOUND);
	assert_int_equal(store_account_add(f->env, "a@b@ex.org", NULL, 0, NULL), ERR_INVAL);

	/* a domain is local once an account or an alias has an address in it */
	assert_true(store_domain_is_local(f->env, "EX.org"));
	assert_false(store_domain_is_local(f->env, "x.org"));
	assert_false(store_domain_is_local(f->env, "sub.ex.org"));
	assert_false(store_domain_is_local(f->env, ""));
	assert_int_equal(store_alias_add(f->env, "postmaster@alias.test", "user@ex.org"), 0);
	assert_true(store_domain_is_local(f->env, "alias.test"));

	assert_int_equal(store_alias_del(f->env, "sales@ex.org"), 0);
	assert_int_equal(store_alias_del(f->env, "sales@ex.org"), ERR_NOTFOUND);
	assert_int_equal(store_resolve(f->env, "sales@ex.org", &got), ERR_NOTFOUND);
	/* deleting the account removes its aliases */
	assert_int_equal(store_alias_add(f->env, "info@ex.org", "user@ex.org"), 0);
	assert_int_equal(store_account_del(f->env, "user@ex.org"), 0);
	assert_int_equal(store_resolve(f->env, "info@ex.org", &got), ERR_NOTFOUND);
	assert_int_equal(store_alias_add(f->env, "info@ex.org", "other@ex.org"), 0);
}

/* ---- mailboxes ---- */

static void default_mailboxes(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct store_mailbox *v;
	size_t n;
	assert_int_equal(store_mailbox_list(st, &f->a, &v, &n), 0);
	assert_int_equal(n, 6);
	static const struct {
		const char *name;
		unsigned su;
	} want[] = {{"Archive", STORE_SU_ARCHIVE}, {"Drafts", STORE_SU_DRAFTS},
		    {"INBOX", STORE_SU_NONE},      {"Junk", STORE_SU_JUNK},
		    {"Sent", STORE_SU_SENT},       {"Trash", STORE_SU_TRASH}};
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, want[i].name);
		assert_int_equal(v[i].special_use, want[i].su);
		assert_true(v[i].subscribed);
		assert_int_equal(v[i].uidnext, 1);
		assert_int_equal(v[i].messages, 0);
		assert_true(v[i].uidvalidity > 0);
		for (size_t j = 0; j < i; j++)
			assert_true(v[i].uidvalidity != v[j].uidvalidity);
	}
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "inbox", &f->a, &mb), 0);
	assert_string_equal(mb.name, "INBOX");
	uint64_t b = 1, m = 1;
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(b, 0);
	assert_int_equal(m, 0);
	store_close(&st);
	assert_null(st);
}

static void mailbox_names(void **state)
{
	assert_true(store_mailbox_name_ok("INBOX"));
	assert_true(store_mailbox_name_ok("Work/Projects 2024"));
	assert_true(store_mailbox_name_ok("Entw\xc3\xbcrfe"));
	assert_true(store_mailbox_name_ok("a.b/..c/x.."));
	assert_false(store_mailbox_name_ok(""));
	assert_false(store_mailbox_name_ok("../x"));
	assert_false(store_mailbox_name_ok("a/../b"));
	assert_false(store_mailbox_name_ok("a/./b"));
	assert_false(store_mailbox_name_ok(".."));
	assert_false(store_mailbox_name_ok("a//b"));
	assert_false(store_mailbox_name_ok("/a"));
	assert_false(store_mailbox_name_ok("a/"));
	assert_false(store_mailbox_name_ok("a\nb"));
	assert_false(store_mailbox_name_ok("a\tb"));
	assert_false(store_mailbox_name_ok("a\x7f"));
	assert_false(store_mailbox_name_ok("a\xc2\x85")); /* C1 NEL */
	assert_false(store_mailbox_name_ok("a\xff"));     /* not UTF-8 */
	assert_false(store_mailbox_name_ok("a\xc0\xaf")); /* overlong '/' */
	assert_false(store_mailbox_name_ok("a\xed\xa0\x80")); /* surrogate */
	assert_false(store_mailbox_name_ok("a*"));
	assert_false(store_mailbox_name_ok("a%"));
	char name[LIMIT_MAILBOX_NAME + 2];
	memset(name, 'x', sizeof(name));
	name[LIMIT_MAILBOX_NAME - 1] = '\0';
	assert_true(store_mailbox_name_ok(name)); /* limit - 1 */
	name[LIMIT_MAILBOX_NAME - 1] = 'x';
	name[LIMIT_MAILBOX_NAME] = '\0';
	assert_true(store_mailbox_name_ok(name)); /* exactly the limit */
	name[LIMIT_MAILBOX_NAME] = 'x';
	name[LIMIT_MAILBOX_NAME + 1] = '\0';
	assert_false(store_mailbox_name_ok(name)); /* limit + 1 */
}

static void mailbox_ops(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	struct store_mailbox mb, mb2;
	assert_int_equal(store_mailbox_create(st, "../x", 0), ERR_INVAL);
	assert_int_equal(store_mailbox_create(st, "", 0), ERR_INVAL);
	assert_int_equal(store_mailbox_create(st, "a//b", 0), ERR_INVAL);
	assert_int_equal(store_mailbox_create(st, "a\x01", 0), ERR_INVAL);
	assert_int_equal(store_mailbox_create(st, "Inbox", 0), ERR_EXISTS);
	assert_int_equal(store_mailbox_create(st, "Sent", 0), ERR_EXISTS);
	assert_int_equal(store_mailbox_create(st, "Work/Projects", 0), 0);
	assert_int_equal(store_mailbox_get(st, "Work", &f->a, &mb), 0); /* parent made too */
	assert_false(mb.subscribed);
	assert_int_equal(store_mailbox_get(st, "Work/Projects", &f->a, &mb), 0);
	assert_int_equal(store_mailbox_get(st, "work/projects", &f->a, &mb2), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_get(st, "../etc", &f->a, &mb2), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_create(st, "inbox/Sub", 0), 0);
	assert_int_equal(store_mailbox_get(st, "INBOX/Sub", &f->a, &mb2), 0);
	assert_string_equal(mb2.name, "INBOX/Sub");

	/* subscriptions (names; test_store_subs.c) show on the mailbox of the name */
	assert_int_equal(store_subscription_set(st, "Work/Projects", true), 0);
	assert_int_equal(store_mailbox_get(st, "Work/Projects", &f->a, &mb2), 0);
	assert_true(mb2.subscribed);
	assert_int_equal(store_subscription_set(st, "Work/Projects", false), 0);
	assert_int_equal(store_mailbox_get(st, "Work/Projects", &f->a, &mb2), 0);
	assert_false(mb2.subscribed);

	/* rename moves the children along and keeps UIDVALIDITY */
	assert_int_equal(store_mailbox_rename(st, "Work", "Jobs"), 0);
	assert_int_equal(store_mailbox_get(st, "Work", &f->a, &mb2), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_get(st, "Jobs/Projects", &f->a, &mb2), 0);
	assert_int_equal(mb2.id, mb.id);
	assert_int_equal(mb2.uidvalidity, mb.uidvalidity);
	assert_int_equal(store_mailbox_rename(st, "Jobs", "Sent"), ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(st, "Nope", "Other"), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_rename(st, "Jobs", "../x"), ERR_INVAL);

	assert_int_equal(store_mailbox_delete(st, "INBOX"), ERR_PERM);
	assert_int_equal(store_mailbox_delete(st, "Nope"), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_delete(st, "Jobs/Projects"), 0);
	assert_int_equal(store_mailbox_get(st, "Jobs/Projects", &f->a, &mb2), ERR_NOTFOUND);
	/* a recreated name gets a new UIDVALIDITY */
	assert_int_equal(store_mailbox_create(st, "Jobs/Projects", STORE_SU_ARCHIVE), 0);
	assert_int_equal(store_mailbox_get(st, "Jobs/Projects", &f->a, &mb2), 0);
	assert_true(mb2.uidvalidity != mb.uidvalidity);
	assert_true(mb2.id != mb.id);
	assert_int_equal(mb2.special_use, STORE_SU_ARCHIVE);
	assert_true(f->hook_calls[STORE_CH_MAILBOX] >= 6);
	store_close(&st);
}

static void rename_inbox(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	assert_int_equal(append(f, st, "INBOX", "Subject: 1\r\n\r\none\r\n"), 1);
	assert_int_equal(append(f, st, "INBOX", "Subject: 2\r\n\r\ntwo\r\n"), 2);
	assert_int_equal(store_mailbox_rename(st, "INBOX", "Old"), 0);
	struct store_mailbox in, old;
	assert_int_equal(store_mailbox_get(st, "INBOX", &f->a, &in), 0);
	assert_int_equal(store_mailbox_get(st, "Old", &f->a, &old), 0);
	assert_int_equal(in.messages, 0);
	assert_int_equal(old.messages, 2);
	uint32_t *uids;
	size_t n;
	assert_int_equal(expunged_do(st, in.id, 0, &f->a, &uids, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 2);
	assert_int_equal(append(f, st, "inbox", "Subject: 3\r\n\r\nthree\r\n"), 3);
	uint64_t b, m;
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(m, 3);
	store_close(&st);
}

/* ---- messages ---- */

static void append_read(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	const char *body = "From: a@x.org\r\nSubject: hi\r\n\r\nbody \x01\xff line\r\n";
	struct store_new_msg m = new_msg(f, body);
	static const unsigned char blob[] = {0, 1, 2, 3, 0xff, 0, 7};
	m.flags = STORE_F_SEEN | STORE_F_FLAGGED;
	m.keywords = "$Label1 work $label1";
	m.mime = blob;
	m.mime_len = sizeof(blob);
	uint32_t uid = 0;
	assert_int_equal(store_append(st, "Nope", &m, &uid), ERR_NOTFOUND);
	assert_int_equal(store_append(st, "INBOX", &m, &uid), 0);
	assert_int_equal(uid, 1);
	assert_int_equal(append(f, st, "INBOX", "x"), 2);
	assert_int_equal(append(f, st, "Sent", "yy"), 1);
	struct store_new_msg bad = new_msg(f, "abc");
	bad.size = 4; /* caller's size must match the file */
	assert_int_equal(store_append(st, "INBOX", &bad, &uid), ERR_INVAL);

	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].uid, 1);
	assert_int_equal(v[0].flags, STORE_F_SEEN | STORE_F_FLAGGED);
	assert_string_equal(v[0].keywords, "$Label1 work");
	assert_int_equal(v[0].size, strlen(body));
	assert_int_equal(v[0].internal_date, 1700000000);
	assert_true(v[0].saved_date > 1700000000);
	assert_int_equal(strlen(v[0].guid), 32);
	assert_int_equal(strspn(v[0].guid, "0123456789abcdef"), 32);
	assert_string_not_equal(v[0].guid, v[1].guid);
	assert_int_equal(v[0].pop3_retrieved, 0);
	assert_true(v[1].modseq > v[0].modseq);
	assert_string_equal(v[1].keywords, "");
	assert_int_equal(store_msg_list(st, inbox, 2, 2, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_msg_list(st, inbox, 3, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_msg_list(st, 9999, 1, UINT32_MAX, &f->a, &v, &n), ERR_NOTFOUND);

	int fd = -1;
	uint64_t size = 0;
	assert_int_equal(store_msg_open(st, inbox, 1, &fd, &size), 0);
	assert_int_equal(size, strlen(body));
	char buf[256];
	ssize_t got = read(fd, buf, sizeof(buf));
	assert_int_equal(got, (ssize_t)strlen(body));
	assert_memory_equal(buf, body, strlen(body));
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
	assert_int_equal(store_msg_open(st, inbox, 7, &fd, &size), ERR_NOTFOUND);
	/* the caller's file may go away: the store holds its own link */
	assert_int_equal(unlink(m.path), 0);
	assert_int_equal(store_msg_open(st, inbox, 1, &fd, &size), 0);
	close(fd);

	const void *b;
	size_t bl;
	assert_int_equal(store_msg_mime(st, inbox, 1, &f->a, &b, &bl), 0);
	assert_int_equal(bl, sizeof(blob));
	assert_memory_equal(b, blob, sizeof(blob));
	void *want; /* stored without a blob: indexed from the file (mime_on_demand) */
	size_t want_len;
	assert_int_equal(mime_index((const uint8_t *)"x", 1, &f->a, &want, &want_len), 0);
	assert_int_equal(store_msg_mime(st, inbox, 2, &f->a, &b, &bl), 0);
	assert_int_equal(bl, want_len);
	assert_memory_equal(b, want, want_len);
	assert_int_equal(store_msg_mime(st, inbox, 9, &f->a, &b, &bl), ERR_NOTFOUND);

	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "INBOX", &f->a, &mb), 0);
	assert_int_equal(mb.messages, 2);
	assert_int_equal(mb.unseen, 1);
	assert_int_equal(mb.bytes, strlen(body) + 1);
	assert_int_equal(mb.uidnext, 3);
	uint64_t ub, um;
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(ub, strlen(body) + 3);
	assert_int_equal(um, 3);
	struct store_account acc;
	assert_int_equal(store_account_get_id(f->env, id, &f->a, &acc), 0);
	assert_int_equal(acc.used_bytes, ub);
	assert_int_equal(acc.messages, 3);
	assert_int_equal(f->hook_calls[STORE_CH_APPEND], 3);
	assert_int_equal(f->hook_last_account, id);
	store_close(&st);
}

static void flags(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	append(f, st, "INBOX", "1");
	append(f, st, "INBOX", "2");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "INBOX", &f->a, &mb), 0);
	uint64_t m0 = mb.highestmodseq, m1, m2, m3, m4;
	uint32_t both[] = {1, 2}, one[] = {2};

	assert_int_equal(flags_do(st, inbox, both, 2, STORE_FLAGS_ADD, STORE_F_SEEN, "Work",
				     &m1), 0);
	assert_true(m1 > m0);
	assert_int_equal(f->hook_calls[STORE_CH_FLAGS], 1);
	assert_int_equal(f->hook_last_modseq, m1);
	assert_int_equal(flags_do(st, inbox, one, 1, STORE_FLAGS_ADD,
				     STORE_F_ANSWERED | STORE_F_SEEN, "work $Forwarded", &m2), 0);
	assert_true(m2 > m1);
	assert_int_equal(flags_do(st, inbox, one, 1, STORE_FLAGS_REMOVE, STORE_F_SEEN, "WORK",
				     &m3), 0);
	assert_true(m3 > m2);
	/* no change: no new modseq, no notification */
	assert_int_equal(flags_do(st, inbox, one, 1, STORE_FLAGS_REMOVE, STORE_F_SEEN, "work",
				     &m4), 0);
	assert_int_equal(m4, m3);
	assert_int_equal(f->hook_calls[STORE_CH_FLAGS], 3);

	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(v[0].flags, STORE_F_SEEN);
	assert_string_equal(v[0].keywords, "Work");
	assert_int_equal(v[0].modseq, m1);
	assert_int_equal(v[1].flags, STORE_F_ANSWERED);
	assert_string_equal(v[1].keywords, "$Forwarded");
	assert_int_equal(v[1].modseq, m3);
	assert_int_equal(store_mailbox_get(st, "INBOX", &f->a, &mb), 0);
	assert_int_equal(mb.unseen, 1);
	assert_int_equal(mb.highestmodseq, m3);

	assert_int_equal(flags_do(st, inbox, both, 2, STORE_FLAGS_SET, STORE_F_DELETED, NULL,
				     &m4), 0);
	assert_true(m4 > m3);
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(v[0].flags, STORE_F_DELETED);
	assert_string_equal(v[0].keywords, "");
	assert_int_equal(v[1].flags, STORE_F_DELETED);
	/* unknown uids are skipped; bad keywords refused */
	uint32_t ghost[] = {42};
	assert_int_equal(flags_do(st, inbox, ghost, 1, STORE_FLAGS_ADD, STORE_F_SEEN, NULL,
				     &m1), 0);
	assert_int_equal(m1, m4);
	assert_int_equal(flags_do(st, inbox, both, 2, STORE_FLAGS_ADD, 0, "a\x01", &m1),
			 ERR_INVAL);
	assert_int_equal(flags_do(st, 9999, both, 2, STORE_FLAGS_ADD, STORE_F_SEEN, NULL, &m1),
			 ERR_NOTFOUND);
	store_close(&st);
}

static void expunge(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	append(f, st, "INBOX", "first");
	append(f, st, "INBOX", "second!");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, 1, &f->a, &v, &n), 0);
	const char *path = file_of(f, id, v[0].guid);
	if (is_sqlite(f))
		assert_int_equal(access(path, F_OK), 0);
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "INBOX", &f->a, &mb), 0);
	uint32_t uids[] = {1, 77};
	uint64_t ms = 0;
	assert_int_equal(store_expunge(st, inbox, uids, 2, &ms), 0);
	assert_true(ms > mb.highestmodseq);
	assert_int_equal(f->hook_calls[STORE_CH_EXPUNGE], 1);
	if (is_sqlite(f))
		assert_true(gone_soon(path)); /* unlinked by the reaper after the commit */
	uint64_t b, m;
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(b, 7);
	assert_int_equal(m, 1);
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].uid, 2);
	uint32_t *ex;
	assert_int_equal(expunged_do(st, inbox, mb.highestmodseq, &f->a, &ex, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ex[0], 1);
	assert_int_equal(expunged_do(st, inbox, ms, &f->a, &ex, &n), 0);
	assert_int_equal(n, 0);

	/* UIDs are never reused, also after the highest one is expunged */
	uint32_t two[] = {2};
	assert_int_equal(store_expunge(st, inbox, two, 1, &ms), 0);
	assert_int_equal(append(f, st, "INBOX", "third"), 3);
	/* deleting a mailbox removes its messages and their usage */
	append(f, st, "Trash", "trash1");
	assert_int_equal(store_mailbox_delete(st, "Trash"), 0);
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(b, 5);
	assert_int_equal(m, 1);
	if (is_sqlite(f)) {
		char *msgdir = arena_printf(&f->a, "%s/accounts/%lld/msg", f->dir, (long long)id);
		for (int i = 0; i < 500 && count_files(msgdir) != 1; i++) {
			struct timespec ts = {0, 10 * 1000 * 1000}; /* the reaper's pace */
			nanosleep(&ts, NULL);
		}
		assert_int_equal(count_files(msgdir), 1);
	}
	store_close(&st);
}

/* A session that listed a mailbox (POP3's login snapshot) must still see what another
 * session did afterwards: an expunged message no longer opens (RFC 1939 + issue 3:
 * "-ERR on RETR, never a wrong message"), a new one does, a renamed INBOX empties. */
static void open_after_other_session(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *a = open_store(f, id), *b = open_store(f, id);
	append(f, a, "INBOX", "one");
	append(f, a, "INBOX", "two");
	int64_t inbox = mailbox_id(f, a, "INBOX");
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(a, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 2);
	int fd;
	uint64_t size;
	assert_int_equal(store_msg_open(a, inbox, 1, &fd, &size), 0);
	assert_int_equal(size, 3);
	close(fd);

	uint32_t one[] = {1};
	assert_int_equal(store_expunge(b, inbox, one, 1, NULL), 0);
	assert_int_equal(store_msg_open(a, inbox, 1, &fd, &size), ERR_NOTFOUND);
	assert_int_equal(store_msg_open(a, inbox, 2, &fd, &size), 0);
	close(fd);

	assert_int_equal(append(f, b, "INBOX", "three"), 3);
	assert_int_equal(store_msg_open(a, inbox, 3, &fd, &size), 0);
	assert_int_equal(size, 5);
	close(fd);

	assert_int_equal(store_msg_list(a, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(store_mailbox_rename(b, "INBOX", "Old"), 0);
	assert_int_equal(store_msg_open(a, inbox, 2, &fd, &size), ERR_NOTFOUND);
	store_close(&b);
	store_close(&a);
}

static void quota_bytes(void **state)
{
	struct fx *f = *state;
	int64_t id = add_account(f, "a@x.org", 10);
	struct store *st = open_store(f, id);
	append(f, st, "INBOX", "123456");
	append(f, st, "Sent", "7890"); /* exactly at quota */
	struct store_new_msg m = new_msg(f, "x");
	uint32_t uid;
	assert_int_equal(store_append(st, "INBOX", &m, &uid), ERR_QUOTA); /* quota + 1 */
	uint64_t b, n;
	assert_int_equal(store_usage(st, &b, &n), 0);
	assert_int_equal(b, 10);
	assert_int_equal(n, 2);
	if (is_sqlite(f)) {
		char *msgdir = arena_printf(&f->a, "%s/accounts/%lld/msg", f->dir, (long long)id);
		assert_int_equal(count_files(msgdir), 2);
	}
	/* raising the quota lets it in; 0 means unlimited */
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota", "11"), 0);
	assert_int_equal(store_append(st, "INBOX", &m, &uid), 0);
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota", "0"), 0);
	append(f, st, "INBOX", "more than ten bytes");
	store_close(&st);
}

static void quota_messages(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	assert_int_equal(store_account_set(f->env, "a@x.org", "quota_messages", "2"), 0);
	append(f, st, "INBOX", "a");
	append(f, st, "INBOX", "b");
	struct store_new_msg m = new_msg(f, "c");
	uint32_t uid;
	assert_int_equal(store_append(st, "INBOX", &m, &uid), ERR_QUOTA);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint32_t one[] = {1};
	assert_int_equal(store_expunge(st, inbox, one, 1, NULL), 0);
	assert_int_equal(store_append(st, "INBOX", &m, &uid), 0);
	assert_int_equal(uid, 3);
	store_close(&st);
}

static void deliver_batch(void **state)
{
	struct fx *f = *state;
	int64_t a = add_account(f, "a@x.org", 0), b = add_account(f, "b@x.org", 0),
		c = add_account(f, "c@x.org", 8);
	struct store_new_msg m1 = new_msg(f, "message one\r\n"), m2 = new_msg(f, "short"),
			     m3 = new_msg(f, "message three\r\n");
	/* one spool file to several accounts, as a multi-recipient delivery does */
	const struct store_new_msg *msgs[] = {&m1, &m1, &m1, &m2, &m3, &m2, &m1};
	int64_t ids[] = {a, b, c, a, b, c, 999999};
	int res[7];
	uint64_t before = store_flush_count();
	assert_int_equal(store_deliver_batch(f->env, ids, msgs, 7, res), 0);
	assert_int_equal(store_flush_count(), before + 1);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	assert_int_equal(res[2], ERR_QUOTA); /* 13 bytes > 8 */
	assert_int_equal(res[3], 0);
	assert_int_equal(res[4], 0);
	assert_int_equal(res[5], 0); /* 5 bytes fit c's quota */
	assert_int_equal(res[6], ERR_NOTFOUND);
	assert_int_equal(f->hook_calls[STORE_CH_APPEND], 3);

	struct store *st = open_store(f, a);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].uid, 1);
	assert_int_equal(v[0].size, 13); /* batch order kept inside an account */
	assert_int_equal(v[1].size, 5);
	int fd;
	uint64_t size;
	assert_int_equal(store_msg_open(st, inbox, 2, &fd, &size), 0);
	char buf[16];
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "short", 5);
	close(fd);
	store_close(&st);
	st = open_store(f, c);
	uint64_t ub, um;
	assert_int_equal(store_usage(st, &ub, &um), 0);
	assert_int_equal(ub, 5);
	assert_int_equal(um, 1);
	store_close(&st);

	/* a second batch: one more flush, UIDs continue */
	const struct store_new_msg *msgs2[] = {&m3, &m2};
	int64_t ids2[] = {a, c};
	before = store_flush_count();
	assert_int_equal(store_deliver_batch(f->env, ids2, msgs2, 2, res), 0);
	assert_int_equal(store_flush_count(), before + 1);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], ERR_QUOTA); /* 5 + 5 > 8 */
	st = open_store(f, a);
	assert_int_equal(store_msg_list(st, inbox, 3, 3, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	store_close(&st);
	if (is_sqlite(f)) {
		char *msgdir = arena_printf(&f->a, "%s/accounts/%lld/msg", f->dir, (long long)c);
		assert_int_equal(count_files(msgdir), 1); /* refused ones left nothing */
	}
}

static void pop3_mark(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	append(f, st, "INBOX", "a");
	append(f, st, "INBOX", "b");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	uint32_t one[] = {1}, both[] = {1, 2};
	assert_int_equal(store_pop3_mark(st, inbox, one, 1, 1000), 0);
	assert_int_equal(store_pop3_mark(st, inbox, both, 2, 2000), 0); /* first time stays */
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(v[0].pop3_retrieved, 1000);
	assert_int_equal(v[1].pop3_retrieved, 2000);
	int warned = -1;
	assert_int_equal(store_quota_warned(st, &warned, -1), 0);
	assert_int_equal(warned, 0);
	assert_int_equal(store_quota_warned(st, NULL, 1), 0);
	assert_int_equal(store_quota_warned(st, &warned, 0), 0);
	assert_int_equal(warned, 1);
	assert_int_equal(store_quota_warned(st, &warned, -1), 0);
	assert_int_equal(warned, 0);
	assert_int_equal(store_quota_warned(st, &warned, 2), ERR_INVAL);
	store_close(&st);
}

static void write_file(const char *path, const char *content)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(content, fp);
	assert_int_equal(fclose(fp), 0);
}

static void recovery(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0), got_id = 0;
	struct store *st = open_store(f, id);
	append(f, st, "INBOX", "keep me");
	append(f, st, "INBOX", "lose me");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	store_close(&st);
	store_env_close(&f->env);

	/* what a crash between link, commit and syncfs can leave behind */
	const char *stray = file_of(f, id, "ab0123456789abcdef0123456789abcd");
	write_file(stray, "never acknowledged");
	assert_int_equal(unlink(file_of(f, id, v[1].guid)), 0);
	char *orphan = arena_printf(&f->a, "%s/accounts/424242", f->dir);
	assert_int_equal(mkdir(orphan, 0700), 0);
	/* <data>/spool is deliver/'s (deliver_spool_prepare makes it and removes only files
	 * whose creator is gone): the store neither creates nor empties it, so a message
	 * another process is receiving survives every kind of start */
	char *spool_dir = arena_printf(&f->a, "%s/spool", f->dir);
	assert_int_equal(access(spool_dir, F_OK), -1);
	assert_int_equal(mkdir(spool_dir, 0700), 0);
	char *spool = arena_printf(&f->a, "%s/leftover", spool_dir);
	write_file(spool, "being received");

	/* a clean shutdown skips the sweep (orphan folders are always removed) */
	env_reopen(f);
	assert_int_equal(access(stray, F_OK), 0);
	assert_int_equal(access(spool, F_OK), 0);
	assert_int_equal(access(orphan, F_OK), -1);
	store_env_close(&f->env);

	/* no marker: the process died */
	char *marker = arena_printf(&f->a, "%s/.clean", f->dir);
	assert_int_equal(unlink(marker), 0);
	env_reopen(f);
	assert_int_equal(access(marker, F_OK), -1); /* consumed while running */
	assert_int_equal(access(stray, F_OK), -1);
	assert_int_equal(access(spool, F_OK), 0);
	st = open_store(f, id);
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].uid, 1);
	uint64_t b, m;
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(b, 7);
	assert_int_equal(m, 1);
	uint32_t *ex;
	assert_int_equal(expunged_do(st, inbox, 0, &f->a, &ex, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ex[0], 2);
	assert_int_equal(append(f, st, "INBOX", "new"), 3);

	/* the online check drops rows without files but spares young orphans */
	assert_int_equal(store_msg_list(st, inbox, 3, 3, &f->a, &v, &n), 0);
	assert_int_equal(unlink(file_of(f, id, v[0].guid)), 0);
	write_file(stray, "in flight");
	assert_int_equal(store_check(f->env), 0);
	assert_int_equal(access(stray, F_OK), 0);
	assert_int_equal(store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	store_close(&st);

	/* a second env on a data dir in use (`kasten user` beside `kasten serve`) works on
	 * the rows but leaves the files and the marker to the first */
	struct store_env *second;
	assert_int_equal(store_env_open(f->ops->name, f->dir, false, &second), 0);
	int64_t id2 = 0;
	assert_int_equal(store_account_add(second, "b@x.org", NULL, 0, &id2), 0);
	assert_int_equal(store_resolve(f->env, "b@x.org", &got_id), 0);
	assert_int_equal(got_id, id2);
	store_env_close(&second);
	assert_int_equal(access(marker, F_OK), -1);
	assert_int_equal(access(stray, F_OK), 0);
}

/* An SQLite error the store has no meaning for is damage or a bug, not contention:
 * ERR_IO (the protocols answer with a temporary failure but nobody is told to retry the
 * same statement forever, as ERR_TEMP does), and SQLite's own message is logged exactly
 * once, where it happened. Provoked here with SQLITE_ERROR: on a read (a table another
 * program renamed), and "integer overflow" on writes (triggers left in index.db by
 * another program) and in directory.db. */
static void unknown_sqlite_error(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	append(f, st, "INBOX", "one");
	append(f, st, "INBOX", "two");
	append(f, st, "Sent", "three");
	int64_t sent = mailbox_id(f, st, "Sent");
	sql_on(f, id, "CREATE TRIGGER boom BEFORE UPDATE ON messages "
		      "BEGIN SELECT abs(-9223372036854775807 - 1); END");
	sql_on(f, 0, "CREATE TRIGGER boom BEFORE UPDATE ON accounts "
		     "BEGIN SELECT abs(-9223372036854775807 - 1); END");

	int64_t inbox = mailbox_id(f, st, "INBOX");
	sql_on(f, id, "ALTER TABLE keywords RENAME TO keywords_of_another_program");
	struct log_capture c;
	const char *kw;
	log_capture_start(f, &c);
	int r = store_mailbox_keywords(st, inbox, &f->a, &kw, NULL);
	size_t logged = log_capture_count(&c, "no such table");
	assert_int_equal(r, ERR_IO);
	assert_int_equal(logged, 1);

	/* a copy that fails at its second message leaves nothing copied */
	sql_on(f, id, "CREATE TRIGGER boom_insert BEFORE INSERT ON messages WHEN new.uid = 3 "
		      "BEGIN SELECT abs(-9223372036854775807 - 1); END");
	uint32_t both[] = {1, 2};
	struct store_copy_result cr;
	log_capture_start(f, &c);
	r = store_copy(st, inbox, both, 2, sent, &f->a, &cr);
	logged = log_capture_count(&c, "integer overflow");
	assert_int_equal(r, ERR_IO);
	assert_int_equal(logged, 1);
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "Sent", &f->a, &mb), 0);
	assert_int_equal(mb.messages, 1);

	uint32_t one[] = {1};
	log_capture_start(f, &c);
	r = flags_do(st, sent, one, 1, STORE_FLAGS_ADD, STORE_F_SEEN, NULL, NULL);
	logged = log_capture_count(&c, "integer overflow");
	assert_int_equal(r, ERR_IO);
	assert_int_equal(logged, 1);
	struct store_msg *v;
	size_t n;
	assert_int_equal(store_msg_list(st, sent, 1, UINT32_MAX, &f->a, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].flags, 0); /* rolled back */

	log_capture_start(f, &c);
	r = store_account_set(f->env, "a@x.org", "pop3", "off");
	logged = log_capture_count(&c, "integer overflow");
	assert_int_equal(r, ERR_IO);
	assert_int_equal(logged, 1);
	store_close(&st);
}

/* Overwrite one leaf page of table `name` in the account's index.db (the env closed, so
 * the WAL is checkpointed) with bytes no page can start with: SQLITE_CORRUPT when read. */
static void damage_leaf(struct fx *f, int64_t id, const char *name)
{
	char *path = arena_printf(&f->a, "%s/accounts/%lld/index.db", f->dir, (long long)id);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT pageno, pgsize FROM dbstat WHERE name = ?1 "
						"AND pagetype = 'leaf' ORDER BY pageno DESC LIMIT 1",
					    -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int64_t page = sqlite3_column_int64(q, 0), size = sqlite3_column_int64(q, 1);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	char junk[65536];
	assert_true(size > 0 && (size_t)size <= sizeof(junk));
	memset(junk, 0xff, (size_t)size);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, (size_t)size, (page - 1) * size), size);
	assert_int_equal(close(fd), 0);
}

/* A listing that stops at a damaged page fails; it never comes back short as if the
 * rest did not exist: a POP3 client would be shown fewer messages, and a QRESYNC client
 * would miss VANISHED UIDs (RFC 7162 3.2.10) and keep messages that are gone. */
static void damaged_listing(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	enum { N = 600 };
	struct store_new_msg m = new_msg(f, "a message of some length\r\n");
	const struct store_new_msg *msgs[N];
	int64_t ids[N];
	int res[N];
	uint32_t uids[N / 2];
	for (size_t i = 0; i < N; i++)
		msgs[i] = &m, ids[i] = id;
	for (size_t i = 0; i < N / 2; i++)
		uids[i] = (uint32_t)i + 1;
	assert_int_equal(store_deliver_batch(f->env, ids, msgs, N, res), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(res[i], 0);
	struct store *st = open_store(f, id);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	assert_int_equal(store_expunge(st, inbox, uids, N / 2, NULL), 0);
	store_close(&st);
	store_env_close(&f->env);
	damage_leaf(f, id, "messages");
	damage_leaf(f, id, "expunged");
	env_reopen(f);
	st = open_store(f, id);
	struct store_msg *v;
	uint32_t *ex;
	size_t n = 0;
	struct log_capture c;
	log_capture_start(f, &c);
	int r1 = store_msg_list(st, inbox, 1, UINT32_MAX, &f->a, &v, &n);
	int r2 = expunged_do(st, inbox, 0, &f->a, &ex, &n);
	size_t logged = log_capture_count(&c, "malformed");
	assert_int_equal(r1, ERR_IO);
	assert_int_equal(r2, ERR_IO);
	assert_int_equal(logged, 2);
	store_close(&st);
}

/* Files written by a newer kasten (a higher schema version) are refused with ERR_PERM,
 * never used with a schema this program does not know (docs/storage.md "Schema"). */
static void newer_schema(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	store_env_close(&f->env);
	sql_on(f, id, "PRAGMA user_version = 99");
	env_reopen(f);
	struct store *st = NULL;
	assert_int_equal(store_open(f->env, id, &st), ERR_PERM);
	assert_null(st);
	store_env_close(&f->env);
	sql_on(f, 0, "PRAGMA user_version = 99");
	assert_int_equal(store_env_open(f->ops->name, f->dir, true, &f->env), ERR_PERM);
	assert_null(f->env);
}

/* A message stored without its MIME structure (too complex for the arena that
 * extracted it at insert, or a row from before indexing: made so here with SQL, hence
 * sqlite only) is indexed from its file when first asked for:
 * FETCH BODYSTRUCTURE and ENVELOPE (RFC 9051 7.5.2) are answered from exactly what
 * mime_index gives for the same bytes. The blob is kept, so the next request copies it.
 * The caller's arena bounds the parse: at limit - 1 the answer is ERR_TOO_BIG (the IMAP
 * layer says NO), at the limit and past it the blob. */
static void mime_on_demand(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	const char *body = "From: A <a@x.org>\r\nTo: b@x.org\r\nSubject: parts\r\n"
			   "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
			   "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
			   "--b\r\nContent-Type: application/octet-stream\r\n"
			   "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n";
	for (uint32_t uid = 1; uid <= 4; uid++)
		assert_int_equal(append(f, st, "INBOX", body), uid);
	sql_on(f, id, "UPDATE content SET mime = NULL");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	void *want;
	size_t want_len;
	assert_int_equal(mime_index((const uint8_t *)body, strlen(body), &f->a, &want, &want_len),
			 0);

	/* uid 1 in an arena of its own: what the parse needs */
	struct arena a;
	const void *b;
	size_t bl;
	arena_init(&a, 1u << 20);
	assert_int_equal(store_msg_mime(st, inbox, 1, &a, &b, &bl), 0);
	assert_int_equal(bl, want_len);
	assert_memory_equal(b, want, want_len);
	size_t need = a.used;
	arena_free(&a);

	/* the limit - 1, 0, + 1 on uids 2, 3, 4, each still without its blob */
	for (uint32_t uid = 2; uid <= 4; uid++) {
		arena_init(&a, need - 3 + uid);
		int r = store_msg_mime(st, inbox, uid, &a, &b, &bl);
		if (uid == 2) {
			assert_int_equal(r, ERR_TOO_BIG);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(bl, want_len);
			assert_memory_equal(b, want, want_len);
		}
		arena_free(&a);
	}

	/* kept: room for the blob alone is enough now for uid 1, not for uid 2 (refused
	 * above, so not kept). Keeping is skipped while the indexer thread writes the new
	 * messages' full-text rows, and the next call tries again: ask until it is kept. */
	size_t blob_room = want_len + sizeof(max_align_t);
	assert_true(blob_room < need);
	int kept = ERR_TOO_BIG;
	for (int tries = 0; kept == ERR_TOO_BIG && tries < 500; tries++) {
		arena_init(&a, blob_room);
		kept = store_msg_mime(st, inbox, 1, &a, &b, &bl);
		if (kept == ERR_TOO_BIG) {
			arena_free(&a);
			arena_init(&a, need);
			assert_int_equal(store_msg_mime(st, inbox, 1, &a, &b, &bl), 0);
			arena_free(&a);
			usleep(10000);
		}
	}
	assert_int_equal(kept, 0);
	assert_int_equal(bl, want_len);
	assert_memory_equal(b, want, want_len);
	arena_free(&a);
	arena_init(&a, blob_room);
	assert_int_equal(store_msg_mime(st, inbox, 2, &a, &b, &bl), ERR_TOO_BIG);
	arena_free(&a);

	/* keeping the blob never waits for another writer (here one holding index.db's
	 * write lock for as long as SQLite's busy timeout and more): uid 2 is answered at
	 * once and simply not kept */
	if (is_sqlite(f)) {
		sqlite3 *db = NULL;
		char *path = arena_printf(&f->a, "%s/accounts/%lld/index.db", f->dir, (long long)id);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		/* the store may still be writing a blob it kept above: wait for it to take
		 * the lock (SQLITE_BUSY at once failed this on a busy machine) */
		assert_int_equal(sqlite3_busy_timeout(db, 30000), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(store_msg_mime(st, inbox, 2, &f->a, &b, &bl), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_close(db), SQLITE_OK);
		assert_memory_equal(b, want, want_len);
		assert_true(t1.tv_sec - t0.tv_sec < 10); /* the busy timeout is 30 s */
		arena_init(&a, blob_room);
		assert_int_equal(store_msg_mime(st, inbox, 2, &a, &b, &bl), ERR_TOO_BIG);
		arena_free(&a);
	}

	/* the file gone from under its row is damage: reported and logged, never a crash */
	if (is_sqlite(f)) {
		struct store_msg *v;
		size_t n;
		assert_int_equal(store_msg_list(st, inbox, 2, 2, &f->a, &v, &n), 0);
		assert_int_equal(unlink(file_of(f, id, v[0].guid)), 0);
		struct log_capture c;
		log_capture_start(f, &c);
		int r = store_msg_mime(st, inbox, 2, &f->a, &b, &bl);
		size_t logged = log_capture_count(&c, "missing");
		assert_int_equal(r, ERR_IO);
		assert_int_equal(logged, 1);
	}
	store_close(&st);
}

struct conc {
	struct fx *f;
	int64_t ids[4];
	int fails;
};

static void *conc_deliver(void *arg)
{
	struct conc *c = arg;
	struct store_new_msg m = {0};
	m.path = arena_printf(&c->f->a, "%s/in/m0", c->f->dir);
	m.size = 5;
	const struct store_new_msg *msgs[8];
	int64_t ids[8];
	int res[8];
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 8; i++)
			msgs[i] = &m, ids[i] = c->ids[i % 4];
		if (store_deliver_batch(c->f->env, ids, msgs, 8, res) < 0)
			c->fails++;
		for (int i = 0; i < 8; i++)
			c->fails += res[i] != 0;
	}
	return NULL;
}

static void concurrent(void **state)
{
	struct fx *f = *state;
	struct conc c = {.f = f};
	for (int i = 0; i < 4; i++) {
		char addr[32];
		snprintf(addr, sizeof(addr), "u%d@x.org", i);
		c.ids[i] = add_account(f, addr, 0);
	}
	(void)msg_file(f, "12345"); /* in/m0 */
	struct store *st = open_store(f, c.ids[0]);
	append(f, st, "INBOX", "seed");
	int64_t inbox = mailbox_id(f, st, "INBOX");
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, conc_deliver, &c), 0);
	uint32_t one[] = {1};
	for (int i = 0; i < 50; i++)
		assert_int_equal(flags_do(st, inbox, one, 1,
					     i % 2 ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE,
					     STORE_F_SEEN, NULL, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.fails, 0);
	uint64_t b, m;
	assert_int_equal(store_usage(st, &b, &m), 0);
	assert_int_equal(m, 1 + 20 * 2);
	store_close(&st);
}
/* An account folder on a file system of its own (a mount below accounts/): link()
 * gives EXDEV, the file is copied, and the batch's one syncfs of the data dir's file
 * system would not cover the copy, its directory entry or the account's WAL. The store
 * must flush that file system too before the batch returns. Needs root (mount). */
static void account_on_other_fs(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		return;
	int64_t a = add_account(f, "a@x.org", 0), b = add_account(f, "b@x.org", 0);
	char *dir = arena_printf(&f->a, "%s/accounts/%lld", f->dir, (long long)a);
	store_env_close(&f->env); /* no handle open on what the mount hides */
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=4m"), 0);
	env_reopen(f);
	struct store_new_msg m = new_msg(f, "on another file system\r\n");
	const struct store_new_msg *msgs[] = {&m, &m};
	int64_t ids[] = {a, b};
	int res[2];
	uint64_t before = store_flush_count();
	assert_int_equal(store_deliver_batch(f->env, ids, msgs, 2, res), 0);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	/* the data dir's syncfs, and one more for the account's own file system */
	assert_int_equal(store_flush_count(), before + 2);
	struct store *st = open_store(f, a);
	int64_t inbox = mailbox_id(f, st, "INBOX");
	int fd;
	uint64_t size;
	assert_int_equal(store_msg_open(st, inbox, 1, &fd, &size), 0);
	assert_int_equal(size, m.size);
	close(fd);
	store_close(&st);
	store_env_close(&f->env); /* closes the account's files before the unmount */
	assert_int_equal(umount(dir), 0);
	env_reopen(f);
}

int main(void)
{
	log_set_level(LOG_ERR); /* recovery warnings are expected here */
	int failed = 0;
	for (size_t i = 0; store_backends[i]; i++) {
		void *b = (void *)store_backends[i];
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, b)
		const struct CMUnitTest tests[] = {
			T(accounts),     T(aliases_resolve), T(default_mailboxes), T(mailbox_names),
			T(mailbox_ops),  T(rename_inbox),    T(append_read),       T(flags),
			T(expunge),      T(quota_bytes),     T(quota_messages),    T(deliver_batch),
			T(pop3_mark),    T(recovery),        T(concurrent),
			T(open_after_other_session), T(unknown_sqlite_error),
			T(damaged_listing), T(newer_schema),
			T(mime_on_demand), T(account_on_other_fs),
		};
#undef T
		failed += _cmocka_run_group_tests(store_backends[i]->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
