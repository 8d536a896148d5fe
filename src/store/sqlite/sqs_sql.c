/* sqs_sql.c: the text of every prepared statement on an index.db, by enum sqs_stmt.
 * Each handle prepares a statement on first use (sqs_q). No SQL is ever built from
 * strings: what varies is bound. The schema they run on is sqs_schema.c's. */
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define MB_COLS "id, name, uidvalidity, uidnext, highestmodseq, special_use, "            \
		"EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = mailboxes.name), "      \
		"mailboxid, n_messages, n_unseen, n_deleted, n_bytes, recent_uid, "          \
		"expunge_horizon"
#define MSG_COLS "uid, modseq, flags, keywords, size, internal_date, saved_date, guid, " \
		 "pop3_retrieved"
#define MB_COUNT(col, expr) col " = (SELECT " expr " FROM messages WHERE mailbox_id = mailboxes.id)"
/* Does the fts row's column ?4 (enum store_search_field; TEXT: any) contain ?2? */
#define FTS_HAS                                                                         \
	"CASE ?4 WHEN 0 THEN instr(fts.subject, ?2) WHEN 1 THEN instr(fts.from_addr, ?2) " \
	"WHEN 2 THEN instr(fts.to_addr, ?2) WHEN 3 THEN instr(fts.cc_addr, ?2) "            \
	"WHEN 4 THEN instr(fts.bcc_addr, ?2) WHEN 5 THEN instr(fts.body, ?2) "              \
	"ELSE instr(fts.subject, ?2) OR instr(fts.from_addr, ?2) OR "                       \
	"instr(fts.to_addr, ?2) OR instr(fts.cc_addr, ?2) OR instr(fts.bcc_addr, ?2) OR "   \
	"instr(fts.body, ?2) END"
/* An Email's thread from jmap_emails (its rows are small; content's hold the cached
 * header, so reading its thread_id there reads every header's pages). */
#define JM_THREAD_OF "jmap_emails e ON e.guid = m.guid "
/* An Email's sort key (?2: 0 its earliest INTERNALDATE, 1 its size) and thread (its own
 * guid while the thread is not cached) from its message rows. */
#define JM_QUERY_ROWS                                                                    \
	"SELECT m.guid AS guid, CASE ?2 WHEN 0 THEN min(m.internal_date) ELSE max(m.size) " \
	"END AS k, coalesce(e.thread_id, m.guid) AS t FROM messages m LEFT JOIN "           \
	JM_THREAD_OF
/* The messages of a mailbox joined with their content (and so their fts row). */
#define MSG_CT "messages m JOIN content c ON c.guid = m.guid "

const char *const sqs_index_sql[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_BEGIN_READ] = "BEGIN",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	/* mailboxes */
	[Q_MB_BY_NAME] = "SELECT " MB_COLS " FROM mailboxes WHERE name = ?1",
	[Q_MB_BY_ID] = "SELECT " MB_COLS " FROM mailboxes WHERE id = ?1",
	[Q_MB_LIST] = "SELECT " MB_COLS " FROM mailboxes ORDER BY name",
	[Q_MB_RECENT] = "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid >= ?2",
	[Q_MB_INSERT] = "INSERT INTO mailboxes(name, uidvalidity, special_use, mailboxid, "
			"highestmodseq) VALUES(?1, ?2, ?3, ?4, ?5)",
	[Q_MB_RENAME] = "UPDATE mailboxes SET name = ?2 WHERE id = ?1",
	[Q_MB_DELETE] = "DELETE FROM mailboxes WHERE id = ?1",
	[Q_MB_BUMP] = "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1",
	[Q_MB_SET_RECENT] = "UPDATE mailboxes SET recent_uid = ?2 WHERE id = ?1",
	[Q_MB_SET_HORIZON] = "UPDATE mailboxes SET expunge_horizon = max(expunge_horizon, ?2) "
			     "WHERE id = ?1",
	[Q_MB_RECOUNT] = "UPDATE mailboxes SET " MB_COUNT("n_messages", "count(*)") ", "
			 MB_COUNT("n_unseen", "coalesce(sum((flags & 1) = 0), 0)") ", "
			 MB_COUNT("n_deleted", "coalesce(sum((flags & 8) != 0), 0)") ", "
			 MB_COUNT("n_bytes", "coalesce(sum(size), 0)"),
	/* subscriptions: names, apart from the mailboxes */
	[Q_SUB_COUNT] = "SELECT count(*) FROM subscriptions",
	[Q_SUB_INSERT] = "INSERT OR IGNORE INTO subscriptions(name) VALUES(?1)",
	[Q_SUB_DELETE] = "DELETE FROM subscriptions WHERE name = ?1",
	/* a mailbox whose isSubscribed changed: updated for Mailbox/changes */
	[Q_SUB_MB_TOUCH] = "UPDATE mailboxes SET jmap_modseq = ?2 WHERE id = ?1",
	[Q_SUB_LIST] = "SELECT name FROM subscriptions ORDER BY name",
	/* ?1 and the names below it: "?1/" <= name < "?1" || '0' ('0' follows '/'), a
	 * range of the primary key in octet order (BINARY collation) */
	[Q_SUB_TREE] = "SELECT name FROM subscriptions WHERE name = ?1 OR "
		       "(name >= ?1 || '/' AND name < ?1 || '0')",
	[Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[Q_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2) "
		       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[Q_USAGE_GET] = "SELECT bytes, messages FROM usage WHERE id = 1",
	[Q_USAGE_RECALC] = "UPDATE usage SET bytes = (SELECT coalesce(sum(size), 0) FROM "
			   "messages), messages = (SELECT count(*) FROM messages) WHERE id = 1",
	/* messages */
	[Q_MSG_INSERT] = "INSERT INTO messages(mailbox_id, uid, modseq, flags, keywords, size, "
			 "internal_date, saved_date, guid) "
			 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_MSG_COUNT_RANGE] = "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND "
			      "uid BETWEEN ?2 AND ?3",
	[Q_MSG_LIST] = "SELECT " MSG_COLS " FROM messages WHERE mailbox_id = ?1 AND "
		       "uid BETWEEN ?2 AND ?3 ORDER BY uid",
	[Q_MSG_UIDS] = "SELECT uid FROM messages WHERE mailbox_id = ?1 AND "
		       "uid BETWEEN ?2 AND ?3 ORDER BY uid",
	[Q_MSG_CHANGED] = "SELECT " MSG_COLS " FROM messages WHERE mailbox_id = ?1 AND "
			  "modseq > ?2 AND uid BETWEEN ?3 AND ?4 ORDER BY uid",
	[Q_MSG_CHANGED_COUNT] = "SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND "
				"modseq > ?2 AND uid BETWEEN ?3 AND ?4",
	[Q_MSG_GET] = "SELECT guid, size, flags, keywords, modseq, internal_date "
		      "FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_SETFLAGS] = "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5 "
			   "WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_DELETE] = "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_MOVE_ONE] = "UPDATE messages SET mailbox_id = ?3, uid = ?4, modseq = ?5, "
			   "saved_date = ?6 WHERE mailbox_id = ?1 AND uid = ?2",
	[Q_MSG_OF_MB] = "SELECT DISTINCT guid FROM messages WHERE mailbox_id = ?1",
	[Q_MSG_MOVE_ALL] = "UPDATE messages SET mailbox_id = ?2 WHERE mailbox_id = ?1",
	[Q_MSG_DELETE_MB] = "DELETE FROM messages WHERE mailbox_id = ?1",
	[Q_MSG_ALL] = "SELECT mailbox_id, uid, guid, size FROM messages",
	[Q_MSG_DELETED] = "SELECT uid FROM messages WHERE mailbox_id = ?1 AND (flags & 8) != 0 "
			  "ORDER BY uid",
	[Q_MSG_GUID_USED] = "SELECT 1 FROM messages WHERE guid = ?1 LIMIT 1",
	[Q_POP3_MARK] = "UPDATE messages SET pop3_retrieved = ?3 "
			"WHERE mailbox_id = ?1 AND uid = ?2 AND pop3_retrieved = 0",
	/* contents */
	[Q_CT_INSERT] = "INSERT INTO content(guid, thread_id, cached, preview, header, ftext, "
			"mime) VALUES(?1, ?2, 1, ?3, ?4, ?6, ?5)",
	[Q_CT_MIME] = "SELECT c.guid, c.mime FROM " MSG_CT
		      "WHERE m.mailbox_id = ?1 AND m.uid = ?2",
	[Q_CT_SET_MIME] = "UPDATE content SET mime = ?2 WHERE guid = ?1 AND mime IS NULL",
	[Q_CT_ID] = "SELECT id FROM content WHERE guid = ?1",
	[Q_CT_DELETE] = "DELETE FROM content WHERE id = ?1",
	/* what sqs_content_fill has to do, through the partial indexes content_uncached and
	 * content_unindexed: nothing to read once everything is done */
	[Q_CT_UNCACHED] = "SELECT c.id, c.guid, c.cached FROM content c WHERE c.cached = 0 AND "
			  "EXISTS (SELECT 1 FROM messages m WHERE m.guid = c.guid AND "
			  "m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3)",
	[Q_CT_UNINDEXED] = "SELECT c.id, c.guid, c.cached FROM content c WHERE c.indexed = 0 "
			   "AND EXISTS (SELECT 1 FROM messages m WHERE m.guid = c.guid AND "
			   "m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3)",
	[Q_CT_UNINDEXED_ALL] = "SELECT id, guid, cached FROM content WHERE indexed = 0",
	[Q_CT_SOURCE] = "SELECT header, ftext FROM content WHERE id = ?1",
	[Q_CT_FILL] = "UPDATE content SET thread_id = ?2, preview = ?3, header = ?4, cached = 1, "
		      "mime = coalesce(mime, ?5) WHERE id = ?1 AND cached = 0",
	[Q_CT_INDEXED] = "UPDATE content SET indexed = 1, ftext = NULL WHERE id = ?1 AND "
			 "indexed = 0",
	[Q_CT_EXTRA] = "SELECT m.uid, c.thread_id, c.preview, c.header FROM " MSG_CT
		       "WHERE m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid",
	[Q_CT_ORPHANS] = "SELECT id, guid FROM content WHERE NOT EXISTS "
			 "(SELECT 1 FROM messages m WHERE m.guid = content.guid)",
	[Q_CT_GUIDS] = "SELECT guid FROM content",
	/* threads */
	[Q_TH_GET] = "SELECT thread_id FROM threads WHERE msgid = ?1",
	[Q_TH_PUT] = "INSERT OR IGNORE INTO threads(msgid, thread_id) VALUES(?1, ?2)",
	/* full-text index */
	[Q_FTS_INSERT] = "INSERT INTO fts(rowid, subject, from_addr, to_addr, cc_addr, bcc_addr, "
			 "body) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[Q_FTS_DELETE] = "DELETE FROM fts WHERE rowid = ?1",
	/* CROSS JOIN keeps fts the outer loop: the planner would otherwise walk the
	 * mailbox and run the MATCH once per message (seconds instead of milliseconds).
	 * The MATCH finds candidates by trigrams (the index keeps no positions), the
	 * instr() on the folded column makes the answer exact. */
	[Q_FTS_MATCH] = "SELECT m.uid FROM fts CROSS JOIN content c ON c.id = fts.rowid "
			"CROSS JOIN messages m ON m.guid = c.guid "
			"WHERE fts MATCH ?3 AND m.mailbox_id = ?1 AND " FTS_HAS
			" ORDER BY m.uid",
	/* no trigram in the needle: the mailbox's full-text rows, one by one */
	[Q_FTS_SCAN] = "SELECT m.uid FROM " MSG_CT "JOIN fts ON fts.rowid = c.id "
		       "WHERE m.mailbox_id = ?1 AND " FTS_HAS " ORDER BY m.uid",
	/* keywords defined per mailbox */
	[Q_KW_HAS] = "SELECT 1 FROM keywords WHERE mailbox_id = ?1 AND name = ?2",
	[Q_KW_COUNT] = "SELECT count(*) FROM keywords WHERE mailbox_id = ?1",
	[Q_KW_INSERT] = "INSERT OR IGNORE INTO keywords(mailbox_id, name) VALUES(?1, ?2)",
	[Q_KW_LIST] = "SELECT name FROM keywords WHERE mailbox_id = ?1 ORDER BY name",
	[Q_KW_DELETE_MB] = "DELETE FROM keywords WHERE mailbox_id = ?1",
	[Q_KW_COPY_ALL] = "INSERT OR IGNORE INTO keywords(mailbox_id, name) "
			  "SELECT ?2, name FROM keywords WHERE mailbox_id = ?1",
	/* the expunge log */
	[Q_EXP_INSERT] = "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, at) "
			 "VALUES(?1, ?2, ?3, ?4)",
	[Q_EXP_COPY_ALL] = "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, at) "
			   "SELECT mailbox_id, uid, ?2, ?3 FROM messages WHERE mailbox_id = ?1",
	[Q_EXP_DELETE_MB] = "DELETE FROM expunged WHERE mailbox_id = ?1",
	[Q_EXP_SINCE] = "SELECT uid FROM expunged WHERE mailbox_id = ?1 AND modseq > ?2 "
			"AND uid BETWEEN ?3 AND ?4 ORDER BY uid",
	[Q_EXP_NTH] = "SELECT modseq FROM expunged WHERE mailbox_id = ?1 "
		      "ORDER BY modseq DESC LIMIT 1 OFFSET ?2",
	[Q_EXP_PRUNE_MAX] = "SELECT max(modseq) FROM expunged WHERE mailbox_id = ?1 AND "
			    "modseq < ?2 AND at < ?3",
	[Q_EXP_PRUNE] = "DELETE FROM expunged WHERE mailbox_id = ?1 AND modseq < ?2 AND at < ?3",
	/* the JMAP view: rows (id, sort key, created since ?1, gone) by key; the key is
	 * the modseq an id was created at when it was created since ?1, else its last
	 * change's; made and gone since ?1 is left out */
	[Q_JM_EMAIL_CHANGES] = "SELECT guid, CASE WHEN created > ?1 THEN created ELSE modseq "
			       "END AS k, created > ?1, gone FROM jmap_emails WHERE modseq > ?1 "
			       "AND NOT (gone AND created > ?1) ORDER BY k, guid",
	/* a mailbox: (id, key, created, gone, its name or role changed) */
	[Q_JM_MAILBOX_CHANGES] = "SELECT mailboxid, CASE WHEN jmap_created > ?1 THEN "
				 "jmap_created ELSE max(jmap_modseq, jmap_counts) END AS k, "
				 "jmap_created > ?1, 0, jmap_modseq > ?1 FROM mailboxes WHERE "
				 "max(jmap_modseq, jmap_counts) > ?1 UNION ALL SELECT mailboxid, "
				 "modseq, 0, 1, 1 FROM jmap_mailboxes_gone WHERE modseq > ?1 AND "
				 "created <= ?1 ORDER BY 2, 1",
	/* threads: an Email created after ?1 joined its thread, a tombstone after ?1 left
	 * it; a thread existed at ?1 when one of its Emails did, exists now when one is
	 * not gone; it sorts by its first join when it is new, else by its last event */
	[Q_JM_THREAD_CHANGES] = "WITH ev(t, j, l) AS (SELECT thread_id, CASE WHEN created > ?1 "
				"THEN created END, CASE WHEN gone THEN modseq END FROM "
				"jmap_emails WHERE modseq > ?1 AND thread_id IS NOT NULL AND "
				"(created > ?1 OR gone)), th(t, fj, last, live, had) AS (SELECT "
				"t, min(j), max(coalesce(l, j)), EXISTS (SELECT 1 FROM "
				"jmap_emails e WHERE e.thread_id = ev.t AND e.gone = 0), EXISTS "
				"(SELECT 1 FROM jmap_emails e WHERE e.thread_id = ev.t AND "
				"e.created <= ?1 AND (e.gone = 0 OR e.modseq > ?1)) FROM ev "
				"GROUP BY t) SELECT t, CASE WHEN had THEN last ELSE fj END AS k, "
				"NOT had, had AND NOT live FROM th WHERE live OR had ORDER BY k, t",
	/* tombstones, pruned as the expunge log: the ?1-th newest modseq, the highest
	 * modseq below it older than ?2, and those */
	[Q_JM_EMAIL_NTH] = "SELECT modseq FROM jmap_emails WHERE gone = 1 ORDER BY modseq DESC "
			   "LIMIT 1 OFFSET ?1",
	[Q_JM_EMAIL_PRUNE_MAX] = "SELECT max(modseq) FROM jmap_emails WHERE gone = 1 AND "
				 "modseq < ?1 AND at < ?2",
	[Q_JM_EMAIL_PRUNE] = "DELETE FROM jmap_emails WHERE gone = 1 AND modseq < ?1 AND at < ?2",
	[Q_JM_MAILBOX_NTH] = "SELECT modseq FROM jmap_mailboxes_gone ORDER BY modseq DESC "
			     "LIMIT 1 OFFSET ?1",
	[Q_JM_MAILBOX_PRUNE_MAX] = "SELECT max(modseq) FROM jmap_mailboxes_gone WHERE "
				   "modseq < ?1 AND at < ?2",
	[Q_JM_MAILBOX_PRUNE] = "DELETE FROM jmap_mailboxes_gone WHERE modseq < ?1 AND at < ?2",
	/* an Email's copies, the first first; its thread */
	[Q_JM_EMAIL_COPIES] = "SELECT mailbox_id, uid, flags, keywords, size, internal_date "
			      "FROM messages WHERE guid = ?1 ORDER BY mailbox_id, uid",
	[Q_JM_EMAIL_THREAD] = "SELECT thread_id FROM content WHERE guid = ?1",
	/* a thread's Emails by receivedAt (their earliest INTERNALDATE) */
	[Q_JM_THREAD_EMAILS] = "SELECT e.guid, min(m.internal_date) AS d FROM jmap_emails e "
			       "JOIN messages m ON m.guid = e.guid WHERE e.thread_id = ?1 "
			       "GROUP BY e.guid ORDER BY d, e.guid",
	/* Email/query: the Emails of a mailbox (of the account) by key ?2 (0 receivedAt,
	 * 1 size) in direction ?3 (1, -1), ties by guid; ?4 = 1: the first of each thread */
	[Q_JM_QUERY_MAILBOX] = "SELECT guid FROM (SELECT guid, k, row_number() OVER (PARTITION "
			       "BY t ORDER BY k * ?3, guid) AS rn FROM (" JM_QUERY_ROWS
			       "WHERE m.mailbox_id = ?1 GROUP BY m.guid)) WHERE ?4 = 0 OR rn = 1 "
			       "ORDER BY k * ?3, guid",
	[Q_JM_QUERY_ALL] = "SELECT guid FROM (SELECT guid, k, row_number() OVER (PARTITION BY t "
			   "ORDER BY k * ?3, guid) AS rn FROM (" JM_QUERY_ROWS "WHERE ?1 = ?1 "
			   "GROUP BY m.guid)) WHERE ?4 = 0 OR rn = 1 ORDER BY k * ?3, guid",
	/* a mailbox's messages by INTERNALDATE (index messages_date), with the thread
	 * when ?2 (collapse) is 1: the mail list walks them and stops at its window */
	[Q_JM_QUERY_DATE_ASC] = "SELECT m.guid, m.internal_date, CASE WHEN ?2 THEN (SELECT "
				"e.thread_id FROM jmap_emails e WHERE e.guid = m.guid) END FROM "
				"messages m INDEXED BY messages_date WHERE m.mailbox_id = ?1 "
				"ORDER BY m.internal_date",
	[Q_JM_QUERY_DATE_DESC] = "SELECT m.guid, m.internal_date, CASE WHEN ?2 THEN (SELECT "
				 "e.thread_id FROM jmap_emails e WHERE e.guid = m.guid) END FROM "
				 "messages m INDEXED BY messages_date WHERE m.mailbox_id = ?1 "
				 "ORDER BY m.internal_date DESC",
	/* every message row of the account with its thread, by Email then copy */
	[Q_JM_SCAN] = "SELECT m.guid, e.thread_id, m.mailbox_id, m.uid, m.flags, m.keywords, "
		      "m.size, m.internal_date FROM messages m LEFT JOIN " JM_THREAD_OF
		      "ORDER BY m.guid, m.mailbox_id, m.uid",
};
