/* sqs_schema.c: the schema of an account's index.db: its numbered migrations and the
 * mailboxes a new account starts with. Owns nothing at run time; sqs_db.c runs
 * sqs_index_migrate when it opens a handle. docs/storage.md describes every table.
 *
 * Version 2 (IMAP): message contents (file, EMAILID, cached header, preview, MIME
 * structure, thread) move from `messages` into `content`, one row per file, so copies
 * share it; the account-wide modseq counter (meta "modseq"); MAILBOXID, the \Recent
 * marker, the expunge-log horizon and STATUS counters per mailbox, kept by triggers;
 * the keywords defined per mailbox; Message-ID -> thread; the FTS5 trigram index.
 * Rows from version 1 are migrated in the same transaction; what needs the message
 * files (header, preview, thread, FTS row) is filled when first asked for
 * (sqs_content_fill), so no account waits for a read of all its files when it opens.
 *
 * Version 3 (subscriptions as names): a subscription is a row of `subscriptions`, no
 * longer a column of its mailbox, so it outlives a deleted mailbox and may name none
 * (RFC 3501 6.3.6, RFC 9051 6.3.7); the subscribed mailboxes become subscribed names.
 *
 * Version 4 (the JMAP view, sqs_jmap.c): what changed at which modseq for Email/,
 * Mailbox/ and Thread/changes, kept by triggers so that no writer can forget it:
 * `jmap_emails` (one row per EMAILID: thread, created, last change, gone = a
 * tombstone; Thread changes are read from it too: an Email created joins its thread, a
 * tombstone left it), `jmap_mailboxes_gone` (tombstones of deleted mailboxes) and three
 * columns of `mailboxes` (created, last change of name or role, last change of its
 * counts). A trigger learns the change's modseq from the row it sees (new.modseq of
 * an insert or update) or, for a removal, from the counter (meta "modseq"): every
 * writer takes the modseq before it removes a row (sqs_int.h). Existing rows count as
 * created at their current modseq, and every changes call from before the migration
 * answers "cannot calculate" (the horizons), as the tombstones of the past are unknown.
 *
 * Version 5 (Email/query's mail list, sqs_jmap_query.c): the index messages_date
 * (mailbox, INTERNALDATE, EMAILID) gives a mailbox's Emails newest or oldest first
 * without sorting them all, so a window of 50 reads 50 rows, and covers the count. */
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

/* The STATUS counters of a mailbox, as an expression over one row `r` (old or new)
 * with the sign `s`: they stay right whatever statement adds, removes or moves rows,
 * also the ones recovery runs. Usage (the account's quota use) the same way. */
#define MB_ADD(r, s)                                                                   \
	"UPDATE mailboxes SET n_messages = n_messages " s " 1, "                          \
	"n_unseen = n_unseen " s " ((" r ".flags & 1) = 0), "                             \
	"n_deleted = n_deleted " s " ((" r ".flags & 8) != 0), "                          \
	"n_bytes = n_bytes " s " " r ".size WHERE id = " r ".mailbox_id;\n"
#define USAGE_ADD(r, s)                                                                \
	"UPDATE usage SET bytes = bytes " s " " r ".size, messages = messages " s " 1 "    \
	"WHERE id = 1;\n"

/* The modseq of the change a trigger runs in, and the time, for rows a removal leaves. */
#define CHANGE_MODSEQ "(SELECT value FROM meta WHERE key = 'modseq')"
#define NOW "CAST(strftime('%s', 'now') AS INTEGER)"
/* The modseq an insert or update of a message row runs at: the row's own (flags, copy,
 * move, append) or, where the statement keeps the old one (INBOX's rows moved by a
 * rename), the counter's. */
#define ROW_MODSEQ(r) "max(" r ".modseq, " CHANGE_MODSEQ ")"
/* The counts of the other mailboxes that hold an Email of the thread of the row r
 * changed: its unreadThreads (RFC 8621 2) follows every Email of the thread, in any
 * mailbox (r's own mailbox is updated by the trigger itself; a thread of one message,
 * the common case at delivery, finds nothing to write). */
#define THREAD_COUNTS(r, m)                                                             \
	"UPDATE mailboxes SET jmap_counts = " m " WHERE id IN (SELECT x.mailbox_id "        \
	"FROM jmap_emails e JOIN messages x ON x.guid = e.guid WHERE e.thread_id = (SELECT " \
	"thread_id FROM content WHERE guid = " r ".guid) AND x.mailbox_id != " r           \
	".mailbox_id);\n"
/* Is there another message of r's Email: cmp "!=" any other (so r's insert made the
 * Email, or its delete ended it), "<" one before r (so r is not the first copy, whose
 * flags are the Email's)? A probe of the index messages_guid (guid, mailbox_id, uid).
 * Only those rows change the thread's unread state for other mailboxes, which keeps
 * the work of a copy or expunge of many copies of one Email from growing with their
 * number squared. */
#define OTHER_COPY(r, cmp)                                                              \
	"EXISTS (SELECT 1 FROM messages o WHERE o.guid = " r ".guid AND (o.mailbox_id "     \
	cmp " " r ".mailbox_id OR (o.mailbox_id = " r ".mailbox_id AND o.uid " cmp " " r   \
	".uid)))"
/* A message is unread for JMAP without $seen and without $draft (RFC 8621 2). */
#define UNREAD(r) "((" r ".flags & 17) = 0)"

static const char *const index_schema[] = {
	/* 1 */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE TABLE mailboxes(\n"
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,\n" /* never reused, like UIDVALIDITY */
	"  name TEXT NOT NULL UNIQUE,\n"
	"  uidvalidity INTEGER NOT NULL,\n"
	"  uidnext INTEGER NOT NULL DEFAULT 1,\n"
	"  highestmodseq INTEGER NOT NULL DEFAULT 1,\n"
	"  special_use INTEGER NOT NULL DEFAULT 0,\n"
	"  subscribed INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE TABLE messages(\n"
	"  mailbox_id INTEGER NOT NULL,\n"
	"  uid INTEGER NOT NULL,\n"
	"  modseq INTEGER NOT NULL,\n"
	"  flags INTEGER NOT NULL DEFAULT 0,\n"
	"  keywords TEXT NOT NULL DEFAULT '',\n"
	"  size INTEGER NOT NULL,\n"
	"  internal_date INTEGER NOT NULL,\n"
	"  saved_date INTEGER NOT NULL,\n"
	"  guid TEXT NOT NULL UNIQUE,\n"
	"  pop3_retrieved INTEGER NOT NULL DEFAULT 0,\n"
	"  mime BLOB,\n"
	"  PRIMARY KEY(mailbox_id, uid));\n"
	"CREATE TABLE expunged(\n"
	"  mailbox_id INTEGER NOT NULL,\n"
	"  uid INTEGER NOT NULL,\n"
	"  modseq INTEGER NOT NULL,\n"
	"  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;\n"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);\n"
	"CREATE TABLE usage(id INTEGER PRIMARY KEY CHECK(id = 1),\n"
	"  bytes INTEGER NOT NULL, messages INTEGER NOT NULL);\n"
	"INSERT INTO usage VALUES(1, 0, 0);\n"
	"PRAGMA user_version=1;",
	/* 2 */
	"CREATE TABLE content(\n"
	"  id INTEGER PRIMARY KEY,\n"        /* the row's rowid in fts */
	"  guid TEXT NOT NULL UNIQUE,\n"     /* file msg/<guid>, EMAILID */
	"  thread_id TEXT,\n"                /* NULL until cached */
	"  cached INTEGER NOT NULL DEFAULT 0,\n"  /* header, preview, thread made */
	"  indexed INTEGER NOT NULL DEFAULT 0,\n" /* its fts row made */
	"  preview TEXT,\n"
	"  header BLOB,\n"
	"  ftext TEXT,\n"                    /* body text waiting for the indexer */
	"  mime BLOB);\n"                    /* last: reads of the others skip its pages */
	"INSERT INTO content(guid, mime) SELECT guid, mime FROM messages "
	"ORDER BY mailbox_id, uid;\n"
	"CREATE INDEX content_uncached ON content(id) WHERE cached = 0;\n"
	"CREATE INDEX content_unindexed ON content(id) WHERE indexed = 0;\n"
	"CREATE TABLE messages_v2(\n"
	"  mailbox_id INTEGER NOT NULL,\n"
	"  uid INTEGER NOT NULL,\n"
	"  modseq INTEGER NOT NULL,\n"
	"  flags INTEGER NOT NULL DEFAULT 0,\n"
	"  keywords TEXT NOT NULL DEFAULT '',\n"
	"  size INTEGER NOT NULL,\n"
	"  internal_date INTEGER NOT NULL,\n"
	"  saved_date INTEGER NOT NULL,\n"
	"  guid TEXT NOT NULL,\n"            /* content.guid, shared by copies */
	"  pop3_retrieved INTEGER NOT NULL DEFAULT 0,\n"
	"  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;\n"
	"INSERT INTO messages_v2 SELECT mailbox_id, uid, modseq, flags, keywords, size, "
	"internal_date, saved_date, guid, pop3_retrieved FROM messages;\n"
	"DROP TABLE messages;\n"
	"ALTER TABLE messages_v2 RENAME TO messages;\n"
	"CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);\n"
	"CREATE INDEX messages_guid ON messages(guid);\n"
	"ALTER TABLE mailboxes ADD COLUMN mailboxid TEXT;\n"
	"UPDATE mailboxes SET mailboxid = lower(hex(randomblob(16)));\n"
	"CREATE UNIQUE INDEX mailboxes_mailboxid ON mailboxes(mailboxid);\n"
	"ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;\n"
	"UPDATE mailboxes SET recent_uid = uidnext;\n"
	"ALTER TABLE mailboxes ADD COLUMN expunge_horizon INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE mailboxes ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE mailboxes ADD COLUMN n_unseen INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE mailboxes ADD COLUMN n_deleted INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE mailboxes ADD COLUMN n_bytes INTEGER NOT NULL DEFAULT 0;\n"
	"UPDATE mailboxes SET (n_messages, n_unseen, n_deleted, n_bytes) = (SELECT count(*), "
	"coalesce(sum((flags & 1) = 0), 0), coalesce(sum((flags & 8) != 0), 0), "
	"coalesce(sum(size), 0) FROM messages WHERE mailbox_id = mailboxes.id);\n"
	"ALTER TABLE expunged ADD COLUMN at INTEGER NOT NULL DEFAULT 0;\n"
	"UPDATE expunged SET at = CAST(strftime('%s', 'now') AS INTEGER);\n"
	"CREATE TABLE keywords(\n"
	"  mailbox_id INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL COLLATE NOCASE,\n" /* keywords compare ASCII case-insensitively */
	"  PRIMARY KEY(mailbox_id, name)) WITHOUT ROWID;\n"
	/* the words of every message's keywords, oldest message first (the queue is
	 * ordered by it), so the spelling first used is the one kept */
	"WITH RECURSIVE kw(mailbox_id, uid, word, rest) AS (\n"
	"  SELECT mailbox_id, uid, '', keywords || ' ' FROM messages WHERE keywords != ''\n"
	"  UNION ALL SELECT mailbox_id, uid, substr(rest, 1, instr(rest, ' ') - 1), "
	"  substr(rest, instr(rest, ' ') + 1) FROM kw WHERE rest != '' "
	"  ORDER BY 1, 2)\n"
	"INSERT OR IGNORE INTO keywords(mailbox_id, name) "
	"SELECT mailbox_id, word FROM kw WHERE word != '';\n"
	"CREATE TABLE threads(msgid TEXT PRIMARY KEY, thread_id TEXT NOT NULL) WITHOUT ROWID;\n"
	/* Text folded by store_search_fold before it goes in, so the index compares bytes
	 * and every needle length matches the same way. detail=column: no positions (the
	 * index is about half the size); sqs_search.c rechecks candidates itself. */
	"CREATE VIRTUAL TABLE fts USING fts5(subject, from_addr, to_addr, cc_addr, bcc_addr, "
	"body, tokenize = 'trigram case_sensitive 1', detail = column);\n"
	"INSERT OR REPLACE INTO meta(key, value) SELECT 'modseq', "
	"max(coalesce((SELECT max(highestmodseq) FROM mailboxes), 1), "
	"coalesce((SELECT max(modseq) FROM messages), 0), "
	"coalesce((SELECT max(modseq) FROM expunged), 0));\n"
	"CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN\n" MB_ADD("new", "+")
	USAGE_ADD("new", "+") "END;\n"
	"CREATE TRIGGER messages_removed AFTER DELETE ON messages BEGIN\n" MB_ADD("old", "-")
	USAGE_ADD("old", "-") "END;\n"
	"CREATE TRIGGER messages_changed AFTER UPDATE OF flags, mailbox_id ON messages "
	"WHEN old.flags != new.flags OR old.mailbox_id != new.mailbox_id BEGIN\n"
	MB_ADD("old", "-") MB_ADD("new", "+") "END;\n"
	"UPDATE usage SET bytes = (SELECT coalesce(sum(size), 0) FROM messages), "
	"messages = (SELECT count(*) FROM messages) WHERE id = 1;\n"
	"PRAGMA user_version=2;",
	/* 3 */
	"CREATE TABLE subscriptions(name TEXT PRIMARY KEY) WITHOUT ROWID;\n"
	"INSERT INTO subscriptions(name) SELECT name FROM mailboxes WHERE subscribed != 0;\n"
	"ALTER TABLE mailboxes DROP COLUMN subscribed;\n"
	"PRAGMA user_version=3;",
	/* 4 */
	"CREATE TABLE jmap_emails(\n"
	"  guid TEXT PRIMARY KEY,\n"        /* EMAILID */
	"  thread_id TEXT,\n"               /* content.thread_id; NULL until cached */
	"  created INTEGER NOT NULL,\n"     /* modseq of its first message */
	"  modseq INTEGER NOT NULL,\n"      /* of its last change */
	"  gone INTEGER NOT NULL DEFAULT 0,\n" /* its last message went at modseq */
	"  at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;\n" /* ... at this time */
	"CREATE INDEX jmap_emails_modseq ON jmap_emails(modseq);\n"
	"CREATE INDEX jmap_emails_thread ON jmap_emails(thread_id);\n"
	"CREATE INDEX jmap_emails_gone ON jmap_emails(modseq) WHERE gone = 1;\n"
	"CREATE TABLE jmap_mailboxes_gone(\n"
	"  mailboxid TEXT PRIMARY KEY,\n"
	"  created INTEGER NOT NULL,\n"
	"  modseq INTEGER NOT NULL,\n"
	"  at INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE INDEX jmap_mailboxes_gone_modseq ON jmap_mailboxes_gone(modseq);\n"
	"ALTER TABLE mailboxes ADD COLUMN jmap_created INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE mailboxes ADD COLUMN jmap_modseq INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE mailboxes ADD COLUMN jmap_counts INTEGER NOT NULL DEFAULT 0;\n"
	/* what exists counts as created at its current modseq */
	"UPDATE mailboxes SET jmap_created = highestmodseq, jmap_modseq = highestmodseq, "
	"jmap_counts = highestmodseq;\n"
	"INSERT INTO jmap_emails(guid, thread_id, created, modseq) SELECT m.guid, "
	"(SELECT thread_id FROM content c WHERE c.guid = m.guid), max(m.modseq), "
	"max(m.modseq) FROM messages m GROUP BY m.guid;\n"
	/* an account with a past (mailboxes exist; a new one gets them after the steps)
	 * has no tombstones of it: changes from before now cannot be calculated */
	"INSERT OR REPLACE INTO meta(key, value) SELECT k.column1, CASE WHEN EXISTS (SELECT 1 "
	"FROM mailboxes) THEN " CHANGE_MODSEQ " ELSE 0 END FROM (VALUES('horizon_email'), "
	"('horizon_mailbox')) k;\n"
	/* Emails: a message added, changed (flags, keywords, moved) or removed */
	/* an inserted row carries its change's modseq: every inserter (append, delivery,
	 * copy) stamps its rows with it */
	"CREATE TRIGGER jmap_msg_added AFTER INSERT ON messages BEGIN\n"
	"INSERT INTO jmap_emails(guid, thread_id, created, modseq) VALUES(new.guid, "
	"(SELECT thread_id FROM content WHERE guid = new.guid), new.modseq, new.modseq) "
	"ON CONFLICT(guid) DO UPDATE SET modseq = excluded.modseq, gone = 0;\n"
	"UPDATE mailboxes SET jmap_counts = new.modseq WHERE id = new.mailbox_id;\n"
	"END;\n"
	/* conditions in WHEN, not in the statement's WHERE: SQLite may build the IN list
	 * of THREAD_COUNTS before it tests a WHERE term that names no table */
	"CREATE TRIGGER jmap_msg_added_unread AFTER INSERT ON messages WHEN " UNREAD("new")
	" AND NOT " OTHER_COPY("new", "!=") " BEGIN\n" THREAD_COUNTS("new", "new.modseq")
	"END;\n"
	"CREATE TRIGGER jmap_msg_changed AFTER UPDATE ON messages WHEN "
	"new.modseq != old.modseq OR new.mailbox_id != old.mailbox_id BEGIN\n"
	"UPDATE jmap_emails SET modseq = " ROW_MODSEQ("new") " WHERE guid = new.guid;\n"
	"UPDATE mailboxes SET jmap_counts = " ROW_MODSEQ("new") " WHERE id IN "
	"(old.mailbox_id, new.mailbox_id) AND (old.mailbox_id != new.mailbox_id OR "
	UNREAD("old") " != " UNREAD("new") ");\n"
	"END;\n"
	"CREATE TRIGGER jmap_msg_unread AFTER UPDATE OF flags ON messages WHEN "
	UNREAD("old") " != " UNREAD("new") " AND NOT " OTHER_COPY("new", "<") " BEGIN\n"
	THREAD_COUNTS("new", ROW_MODSEQ("new")) "END;\n"
	"CREATE TRIGGER jmap_msg_removed AFTER DELETE ON messages BEGIN\n"
	"UPDATE jmap_emails SET modseq = " CHANGE_MODSEQ ", gone = NOT EXISTS (SELECT 1 FROM "
	"messages WHERE guid = old.guid), at = " NOW " WHERE guid = old.guid;\n"
	"UPDATE mailboxes SET jmap_counts = " CHANGE_MODSEQ " WHERE id = old.mailbox_id;\n"
	"END;\n"
	"CREATE TRIGGER jmap_msg_removed_unread AFTER DELETE ON messages WHEN " UNREAD("old")
	" AND NOT " OTHER_COPY("old", "!=") " BEGIN\n" THREAD_COUNTS("old", CHANGE_MODSEQ)
	"END;\n"
	/* an Email of schema 1 whose thread is cached late: no change */
	"CREATE TRIGGER jmap_content_threaded AFTER UPDATE OF thread_id ON content WHEN "
	"new.thread_id IS NOT NULL BEGIN\n"
	"UPDATE jmap_emails SET thread_id = new.thread_id WHERE guid = new.guid AND "
	"thread_id IS NULL;\n"
	"END;\n"
	/* Mailboxes: created, renamed or its role changed, deleted */
	"CREATE TRIGGER jmap_mb_new AFTER INSERT ON mailboxes BEGIN\n"
	"UPDATE mailboxes SET jmap_created = new.highestmodseq, jmap_modseq = "
	"new.highestmodseq, jmap_counts = new.highestmodseq WHERE id = new.id;\n"
	"END;\n"
	"CREATE TRIGGER jmap_mb_changed AFTER UPDATE OF name, special_use ON mailboxes WHEN "
	"new.name != old.name OR new.special_use != old.special_use BEGIN\n"
	"UPDATE mailboxes SET jmap_modseq = " CHANGE_MODSEQ " WHERE id = new.id;\n"
	"END;\n"
	"CREATE TRIGGER jmap_mb_gone AFTER DELETE ON mailboxes BEGIN\n"
	"INSERT OR REPLACE INTO jmap_mailboxes_gone(mailboxid, created, modseq, at) "
	"VALUES(old.mailboxid, old.jmap_created, " CHANGE_MODSEQ ", " NOW ");\n"
	"END;\n"
	"PRAGMA user_version=4;",
	/* 5 (in parentheses: clang takes two literals alone in an initializer for a
	 * missing comma) */
	("CREATE INDEX messages_date ON messages(mailbox_id, internal_date, guid);\n"
	 "PRAGMA user_version=5;"),
};

/* The mailboxes every new account starts with (RFC 6154 special use), all subscribed. */
static const struct {
	const char *name;
	unsigned special_use;
} default_mailboxes[] = {
	{"INBOX", STORE_SU_NONE},     {"Drafts", STORE_SU_DRAFTS}, {"Sent", STORE_SU_SENT},
	{"Trash", STORE_SU_TRASH},    {"Junk", STORE_SU_JUNK},     {"Archive", STORE_SU_ARCHIVE},
};

static int fill_index(void *arg, sqlite3 *db, int old_version)
{
	struct sqs_db *h = arg;
	if (old_version != 0)
		return 0;
	for (size_t i = 0; i < sizeof(default_mailboxes) / sizeof(default_mailboxes[0]); i++) {
		int r = sqs_mb_insert(h, default_mailboxes[i].name,
				      default_mailboxes[i].special_use, 1, NULL);
		if (r == 0)
			r = sqs_sub_add(h, default_mailboxes[i].name);
		if (r < 0)
			return r;
	}
	return 0;
}

int sqs_index_migrate(struct sqs_db *h)
{
	int n = (int)(sizeof(index_schema) / sizeof(index_schema[0]));
	return sqs_migrate(h->db, index_schema, n, fill_index, h);
}
