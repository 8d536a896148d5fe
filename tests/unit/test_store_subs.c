/* test_store_subs.c: subscriptions, a set of names per account (store_subscription_set,
 * store_subscription_list), against every backend in store_backends[]: the starting set,
 * names without a mailbox (RFC 9051 6.3.7), DELETE leaving the name subscribed (RFC 3501
 * 6.3.6), RENAME taking the subscriptions of the renamed tree along, the name checks and
 * the LIMIT_SUBSCRIPTIONS bound at -1/0/+1; for sqlite, the migration from schema 2. */
#include "test_store_fx.h"

#include "core/limits.h"
#include "core/log.h"

/* The account's subscriptions, space-separated in list order ("" when none). */
static const char *subs_of(struct fx *f, struct store *st)
{
	const char **v = NULL;
	size_t n = 99;
	assert_int_equal(store_subscription_list(st, &f->a, &v, &n), 0);
	char *out = arena_strdup(&f->a, "");
	for (size_t i = 0; i < n; i++)
		out = arena_printf(&f->a, "%s%s%s", out, i ? " " : "", v[i]);
	assert_non_null(out);
	return out;
}

/* One integer from the account's index.db (sqlite only). */
static int64_t sql_int(struct fx *f, int64_t id, const char *sql)
{
	char *path = arena_printf(&f->a, "%s/accounts/%lld/index.db", f->dir, (long long)id);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static bool subscribed(struct fx *f, struct store *st, const char *mailbox)
{
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, mailbox, &f->a, &mb), 0);
	return mb.subscribed;
}

static void starting_set(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	/* INBOX and the special-use mailboxes, in octet order */
	assert_string_equal(subs_of(f, st), "Archive Drafts INBOX Junk Sent Trash");
	store_close(&st);
}

static void names_without_mailboxes(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	uint64_t modseq = 0, after = 0;
	assert_int_equal(store_modseq(st, &modseq), 0);
	unsigned calls = f->hook_calls[STORE_CH_MAILBOX];
	/* RFC 9051 6.3.7: any name, mailbox or not */
	assert_int_equal(store_subscription_set(st, "Lists/ghost", true), 0);
	assert_int_equal(f->hook_calls[STORE_CH_MAILBOX], calls + 1);
	assert_int_equal(f->hook_last_modseq, 0);
	assert_int_equal(store_modseq(st, &after), 0);
	assert_int_equal(after, modseq); /* not mailbox content: no modseq */
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "Lists/ghost", &f->a, &mb), ERR_NOTFOUND);
	assert_int_equal(store_mailbox_get(st, "Lists", &f->a, &mb), ERR_NOTFOUND);
	/* twice is once, and publishes nothing */
	assert_int_equal(store_subscription_set(st, "Lists/ghost", true), 0);
	assert_int_equal(f->hook_calls[STORE_CH_MAILBOX], calls + 1);
	/* "inbox" in any case is INBOX, also as the first level */
	assert_int_equal(store_subscription_set(st, "inbox/Sub", true), 0);
	assert_int_equal(store_subscription_set(st, "Inbox", true), 0);
	assert_string_equal(subs_of(f, st),
			    "Archive Drafts INBOX INBOX/Sub Junk Lists/ghost Sent Trash");
	/* names are checked as mailbox names */
	static const char *const bad[] = {"", "../x", "a//b", "/a", "a/", "a*", "a%", "a\tb",
					  "a\xff", "a/./b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store_subscription_set(st, bad[i], true), ERR_INVAL);
		assert_int_equal(store_subscription_set(st, bad[i], false), ERR_INVAL);
	}
	assert_int_equal(store_subscription_set(st, NULL, true), ERR_INVAL);
	char name[LIMIT_MAILBOX_NAME + 2];
	memset(name, 'n', sizeof(name));
	name[LIMIT_MAILBOX_NAME] = '\0'; /* exactly the limit */
	assert_int_equal(store_subscription_set(st, name, true), 0);
	name[LIMIT_MAILBOX_NAME] = 'n';
	name[LIMIT_MAILBOX_NAME + 1] = '\0'; /* one more */
	assert_int_equal(store_subscription_set(st, name, true), ERR_INVAL);
	name[LIMIT_MAILBOX_NAME] = '\0';
	assert_int_equal(store_subscription_set(st, name, false), 0);
	/* removing: by any spelling of INBOX; a name that is not there is no error */
	calls = f->hook_calls[STORE_CH_MAILBOX];
	assert_int_equal(store_subscription_set(st, "INBOX/Sub", false), 0);
	assert_int_equal(store_subscription_set(st, "iNbOx", false), 0);
	assert_int_equal(f->hook_calls[STORE_CH_MAILBOX], calls + 2);
	assert_int_equal(store_subscription_set(st, "Lists/never", false), 0);
	assert_int_equal(store_subscription_set(st, "INBOX", false), 0);
	assert_int_equal(f->hook_calls[STORE_CH_MAILBOX], calls + 2);
	assert_string_equal(subs_of(f, st), "Archive Drafts Junk Lists/ghost Sent Trash");
	assert_false(subscribed(f, st, "INBOX"));
	/* a mailbox created under a subscribed name is subscribed */
	assert_int_equal(store_mailbox_create(st, "Lists/ghost", 0), 0);
	assert_true(subscribed(f, st, "Lists/ghost"));
	assert_false(subscribed(f, st, "Lists"));
	store_close(&st);
}

/* RFC 3501 6.3.6: the server MUST NOT remove a name from the subscriptions on its own,
 * even when its mailbox is gone. */
static void delete_keeps_the_name(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	assert_int_equal(store_mailbox_create(st, "Work/Old", 0), 0);
	assert_int_equal(store_subscription_set(st, "Work", true), 0);
	assert_int_equal(store_subscription_set(st, "Work/Old", true), 0);
	assert_int_equal(store_mailbox_delete(st, "Work/Old"), 0);
	assert_int_equal(store_mailbox_delete(st, "Work"), 0);
	assert_int_equal(store_mailbox_delete(st, "Trash"), 0);
	assert_string_equal(subs_of(f, st), "Archive Drafts INBOX Junk Sent Trash Work Work/Old");
	/* the same name made again is subscribed again */
	assert_int_equal(store_mailbox_create(st, "Work/Old", 0), 0);
	assert_true(subscribed(f, st, "Work/Old"));
	assert_true(subscribed(f, st, "Work"));
	store_close(&st);
}

/* RENAME takes the subscriptions of the renamed mailbox and of every name below it
 * along (mailbox or not), in the same transaction; INBOX's rename takes none. */
static void rename_takes_them_along(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	assert_int_equal(store_mailbox_create(st, "Old/Sub/Deep", 0), 0);
	assert_int_equal(store_mailbox_create(st, "Older", 0), 0);
	static const char *const on[] = {"Old", "Old/Sub/Deep", "Old/ghost", "Older",
					 "Old\xc3\xa9"};
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		assert_int_equal(store_subscription_set(st, on[i], true), 0);
	assert_int_equal(store_mailbox_rename(st, "Old", "New"), 0);
	/* "Older" and "Oldé" only start alike: they stay */
	assert_string_equal(subs_of(f, st), "Archive Drafts INBOX Junk New New/Sub/Deep "
					    "New/ghost Older Old\xc3\xa9 Sent Trash");
	assert_true(subscribed(f, st, "New"));
	assert_false(subscribed(f, st, "New/Sub"));
	assert_true(subscribed(f, st, "New/Sub/Deep"));
	/* a mailbox below another is renamed with its subscription */
	assert_int_equal(store_mailbox_rename(st, "New/Sub/Deep", "Flat"), 0);
	assert_true(subscribed(f, st, "Flat"));
	assert_string_equal(subs_of(f, st), "Archive Drafts Flat INBOX Junk New New/ghost "
					    "Older Old\xc3\xa9 Sent Trash");
	/* a name subscribed already (its mailbox deleted) is kept once */
	assert_int_equal(store_subscription_set(st, "Target", true), 0);
	assert_int_equal(store_mailbox_rename(st, "Flat", "Target"), 0);
	assert_string_equal(subs_of(f, st), "Archive Drafts INBOX Junk New New/ghost "
					    "Older Old\xc3\xa9 Sent Target Trash");
	/* an unsubscribed mailbox renamed onto a subscribed name gets that subscription */
	assert_int_equal(store_mailbox_create(st, "Plain", 0), 0);
	assert_int_equal(store_subscription_set(st, "Fresh", true), 0);
	assert_int_equal(store_mailbox_rename(st, "Plain", "Fresh"), 0);
	assert_true(subscribed(f, st, "Fresh"));
	assert_int_equal(store_subscription_set(st, "Fresh", false), 0);
	/* INBOX stays INBOX: its messages move, its subscriptions (and children) stay */
	assert_int_equal(store_mailbox_create(st, "INBOX/Child", 0), 0);
	assert_int_equal(store_subscription_set(st, "INBOX/Child", true), 0);
	assert_int_equal(store_mailbox_rename(st, "inbox", "Saved"), 0);
	assert_true(subscribed(f, st, "INBOX"));
	assert_false(subscribed(f, st, "Saved"));
	assert_true(subscribed(f, st, "INBOX/Child"));
	/* a subscribed name that would grow past LIMIT_MAILBOX_NAME: nothing renamed */
	char longname[LIMIT_MAILBOX_NAME + 1];
	memset(longname, 'x', sizeof(longname));
	memcpy(longname, "S/", 2);
	longname[LIMIT_MAILBOX_NAME - 1] = '\0'; /* one under the limit */
	assert_int_equal(store_mailbox_create(st, "S", 0), 0);
	assert_int_equal(store_subscription_set(st, longname, true), 0);
	assert_int_equal(store_mailbox_rename(st, "S", "SS"), 0); /* exactly the limit */
	assert_int_equal(store_mailbox_rename(st, "SS", "SSS"), ERR_TOO_LONG); /* one more */
	struct store_mailbox mb;
	assert_int_equal(store_mailbox_get(st, "SS", &f->a, &mb), 0);
	assert_int_equal(store_mailbox_get(st, "SSS", &f->a, &mb), ERR_NOTFOUND);
	longname[0] = longname[1] = 'S';
	longname[2] = '/';
	longname[LIMIT_MAILBOX_NAME - 1] = 'x';
	longname[LIMIT_MAILBOX_NAME] = '\0';
	assert_int_equal(store_subscription_set(st, longname, false), 0);
	assert_string_equal(subs_of(f, st), "Archive Drafts INBOX INBOX/Child Junk New "
					    "New/ghost Older Old\xc3\xa9 Sent Target Trash");
	store_close(&st);
}

/* LIMIT_SUBSCRIPTIONS names per account: the last one fits, a new one more is ERR_FULL
 * and changes nothing; names already there and removals always work. */
static void subscription_limit(void **state)
{
	struct fx *f = *state;
	struct store *st = open_store(f, add_account(f, "a@x.org", 0));
	const size_t start = 6; /* the starting set */
	char name[32];
	for (size_t i = start; i < LIMIT_SUBSCRIPTIONS - 1; i++) {
		snprintf(name, sizeof(name), "n%05zu", i);
		assert_int_equal(store_subscription_set(st, name, true), 0);
	}
	assert_int_equal(store_subscription_set(st, "last", true), 0); /* limit - 1 -> limit */
	unsigned calls = f->hook_calls[STORE_CH_MAILBOX];
	assert_int_equal(store_subscription_set(st, "one-more", true), ERR_FULL);
	assert_int_equal(f->hook_calls[STORE_CH_MAILBOX], calls);
	assert_int_equal(store_subscription_set(st, "last", true), 0); /* there already */
	const char **v;
	size_t n;
	assert_int_equal(store_subscription_list(st, &f->a, &v, &n), 0);
	assert_int_equal(n, LIMIT_SUBSCRIPTIONS);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(v[i - 1], v[i]) < 0);
	assert_int_equal(store_subscription_set(st, "one-more", false), 0);
	assert_int_equal(store_subscription_set(st, "last", false), 0);
	assert_int_equal(store_subscription_set(st, "one-more", true), 0);
	assert_int_equal(store_subscription_set(st, "last", true), ERR_FULL);
	/* a rename never adds a subscription: it works at the limit */
	assert_int_equal(store_mailbox_create(st, "n00010", 0), 0);
	assert_int_equal(store_mailbox_rename(st, "n00010", "renamed"), 0);
	assert_int_equal(store_subscription_list(st, &f->a, &v, &n), 0);
	assert_int_equal(n, LIMIT_SUBSCRIPTIONS);
	store_close(&st);
}

/* Schema 2 kept a subscription as a column of its mailbox; migration 3 makes every
 * subscribed mailbox a subscribed name and drops the column. */
static void migrate_v2(void **state)
{
	struct fx *f = *state;
	if (!is_sqlite(f))
		skip();
	int64_t id = add_account(f, "a@x.org", 0);
	struct store *st = open_store(f, id);
	assert_int_equal(store_mailbox_create(st, "Work/Kept", 0), 0);
	store_close(&st);
	store_env_close(&f->env);
	/* back to what schema 2 wrote */
	sql_on(f, id, SCHEMA_V4_UNDO "DROP TABLE subscriptions;"
		      "ALTER TABLE mailboxes ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 0;"
		      "UPDATE mailboxes SET subscribed = name IN ('INBOX', 'Sent', 'Work/Kept');"
		      "PRAGMA user_version=2;");
	env_reopen(f);
	st = open_store(f, id);
	assert_string_equal(subs_of(f, st), "INBOX Sent Work/Kept");
	assert_true(subscribed(f, st, "Work/Kept"));
	assert_false(subscribed(f, st, "Work"));
	assert_false(subscribed(f, st, "Drafts"));
	/* and they are names from now on */
	assert_int_equal(store_mailbox_delete(st, "Work/Kept"), 0);
	assert_string_equal(subs_of(f, st), "INBOX Sent Work/Kept");
	store_close(&st);
	assert_int_equal(sql_int(f, id, "PRAGMA user_version"), 5);
	assert_int_equal(sql_int(f, id, "SELECT count(*) FROM pragma_table_info('mailboxes') "
					"WHERE name = 'subscribed'"), 0);
}

int main(void)
{
	log_set_level(LOG_ERR);
	int failed = 0;
	for (size_t i = 0; store_backends[i]; i++) {
		void *b = (void *)store_backends[i];
#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, b)
		const struct CMUnitTest tests[] = {
			T(starting_set),          T(names_without_mailboxes),
			T(delete_keeps_the_name), T(rename_takes_them_along),
			T(subscription_limit),    T(migrate_v2),
		};
#undef T
		failed += _cmocka_run_group_tests(store_backends[i]->name, tests,
						  sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	return failed ? 1 : 0;
}
