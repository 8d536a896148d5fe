/* queue_sql.c: the schema of queue.db (numbered migrations, PRAGMA user_version) and
 * the text of every prepared statement, by enum queue_stmt. Nothing is built from
 * strings: what varies is bound.
 *
 * Version 1. msg: one row per queued message (the envelope; its file is msg/<qid>).
 * rcpt: one row per remote recipient. state is enum queue_rcpt_state. held copies the
 * message's flag so that the partial indexes on what is due (state = 0 AND held = 0)
 * serve both the lease query by domain and the scheduler's earliest next_at without
 * a join. A leased recipient has lease_until = next_at = the end of the lease: it is due
 * again exactly when the lease runs out, so "due" needs no second condition.
 * Version 2. meta: the 'durable' counter, which a durable commit bumps when it has nothing
 * else to write (queue_close making the removal of finished messages durable). */
#include "outbound/queue_int.h"
#include "core/banned.h"

const char *const queue_schema[QUEUE_SCHEMA_VERSION] = {
	/* 1 */
	"CREATE TABLE msg(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  qid TEXT NOT NULL UNIQUE,\n"     /* the file msg/<qid> */
	"  sender TEXT NOT NULL,\n"         /* '' = the null sender */
	"  envid TEXT,\n"
	"  ret INTEGER NOT NULL,\n"
	"  body INTEGER NOT NULL,\n"
	"  smtputf8 INTEGER NOT NULL,\n"
	"  requiretls INTEGER NOT NULL,\n"
	"  kind INTEGER NOT NULL,\n"
	"  account_id INTEGER NOT NULL,\n"
	"  dkim_header TEXT,\n"
	"  size INTEGER NOT NULL,\n"
	"  created INTEGER NOT NULL,\n"
	"  held INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE INDEX msg_created ON msg(created);\n"
	"CREATE TABLE rcpt(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  msg_id INTEGER NOT NULL,\n"      /* msg.id */
	"  address TEXT NOT NULL,\n"
	"  orcpt TEXT,\n"
	"  notify INTEGER NOT NULL,\n"
	"  domain TEXT NOT NULL,\n"         /* lower-case */
	"  state INTEGER NOT NULL DEFAULT 0,\n"
	"  held INTEGER NOT NULL DEFAULT 0,\n"
	"  attempts INTEGER NOT NULL DEFAULT 0,\n"
	"  next_at INTEGER NOT NULL,\n"
	"  lease_until INTEGER NOT NULL DEFAULT 0,\n"
	"  last_error TEXT,\n"
	"  last_attempt INTEGER NOT NULL DEFAULT 0,\n"
	"  delay_notified INTEGER NOT NULL DEFAULT 0);\n"
	"CREATE INDEX rcpt_msg ON rcpt(msg_id);\n"
	"CREATE INDEX rcpt_due ON rcpt(domain, next_at) WHERE state = 0 AND held = 0;\n"
	"CREATE INDEX rcpt_next ON rcpt(next_at) WHERE state = 0 AND held = 0;\n"
	"PRAGMA user_version=1;",
	/* 2: a row a durable commit can change when it has nothing else to write */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;\n"
	"INSERT INTO meta VALUES('durable', 0);\n"
	"PRAGMA user_version=2;",
};

#define MSG_COLS                                                                           \
	"id, qid, sender, envid, dkim_header, size, ret, body, smtputf8, requiretls, kind, " \
	"account_id, created, held"
#define PENDING(cond) "(SELECT " cond " FROM rcpt r WHERE r.msg_id = m.id AND r.state = 0)"

const char *const queue_sql[QUEUE_Q_COUNT] = {
	[QUEUE_Q_BEGIN] = "BEGIN IMMEDIATE",
	[QUEUE_Q_BEGIN_READ] = "BEGIN",
	[QUEUE_Q_COMMIT] = "COMMIT",
	[QUEUE_Q_ROLLBACK] = "ROLLBACK",
	[QUEUE_Q_MSG_INSERT] = "INSERT INTO msg(qid, sender, envid, ret, body, smtputf8, "
			       "requiretls, kind, account_id, dkim_header, size, created) "
			       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[QUEUE_Q_RCPT_INSERT] = "INSERT INTO rcpt(msg_id, address, orcpt, notify, domain, "
				"next_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[QUEUE_Q_MSG_BY_ID] = "SELECT " MSG_COLS " FROM msg WHERE id = ?1",
	[QUEUE_Q_MSG_BY_QID] = "SELECT " MSG_COLS " FROM msg WHERE qid = ?1",
	[QUEUE_Q_QID_EXISTS] = "SELECT 1 FROM msg WHERE qid = ?1",
	[QUEUE_Q_MSG_DELETE] = "DELETE FROM msg WHERE id = ?1",
	[QUEUE_Q_RCPT_DELETE_MSG] = "DELETE FROM rcpt WHERE msg_id = ?1",
	/* the domain of the recipient due first (index rcpt_next) */
	[QUEUE_Q_DUE_DOMAIN] = "SELECT domain FROM rcpt WHERE state = 0 AND held = 0 AND "
			       "next_at <= ?1 ORDER BY next_at LIMIT 1",
	/* the due recipients at ?1, the longest waiting first, straight from the index
	 * rcpt_due (no sort: the caller reads only until it has enough messages) */
	[QUEUE_Q_DUE_MSGS] = "SELECT msg_id FROM rcpt WHERE state = 0 AND held = 0 AND "
			     "domain = ?1 AND next_at <= ?2 ORDER BY next_at",
	/* one message's rows by rcpt_msg: SQLite would pick rcpt_due for the domain and
	 * next_at terms and walk every due recipient of the domain for each message */
	[QUEUE_Q_DUE_RCPTS] = "SELECT id, address, orcpt, notify, attempts, delay_notified "
			      "FROM rcpt INDEXED BY rcpt_msg WHERE msg_id = ?1 AND domain = ?2 "
			      "AND state = 0 AND held = 0 AND next_at <= ?3 ORDER BY id",
	[QUEUE_Q_LEASE_RCPTS] = "UPDATE rcpt INDEXED BY rcpt_msg SET lease_until = ?4, "
				"next_at = ?4 WHERE msg_id = ?1 AND domain = ?2 AND state = 0 "
				"AND held = 0 AND next_at <= ?3",
	[QUEUE_Q_NEXT_DUE] = "SELECT min(next_at) FROM rcpt WHERE state = 0 AND held = 0",
	/* state = 0: a recipient the admin deleted meanwhile stays deleted */
	[QUEUE_Q_RECORD] = "UPDATE rcpt SET state = ?3, attempts = attempts + 1, "
			   "next_at = ?4, lease_until = 0, last_error = ?5, last_attempt = ?6, "
			   "delay_notified = (delay_notified OR ?7) "
			   "WHERE id = ?1 AND msg_id = ?2 AND state = 0",
	[QUEUE_Q_PENDING_COUNT] = "SELECT count(*) FROM rcpt WHERE msg_id = ?1 AND state = 0",
	[QUEUE_Q_LEASED_COUNT] = "SELECT count(*) FROM rcpt WHERE msg_id = ?1 AND state = 0 "
				 "AND lease_until > ?2",
	[QUEUE_Q_WANTED_COUNT] = "SELECT count(*) FROM rcpt WHERE msg_id = ?1 AND state = 0 "
				 "AND held = 0",
	/* a held message's lease ends: due at once when it is released */
	[QUEUE_Q_UNLEASE] = "UPDATE rcpt SET lease_until = 0, next_at = min(next_at, ?2) "
			    "WHERE msg_id = ?1 AND state = 0",
	[QUEUE_Q_LIST] = "SELECT m.qid, m.sender, m.size, m.created, m.held, "
			 PENDING("group_concat(r.address, ',')") ", " PENDING("count(*)") ", "
			 PENDING("min(r.next_at)") ", " PENDING("max(r.lease_until > ?1)") ", "
			 "(SELECT r.last_error FROM rcpt r WHERE r.msg_id = m.id AND "
			 "r.last_error IS NOT NULL AND r.state IN (0, 2) "
			 "ORDER BY r.last_attempt DESC LIMIT 1) "
			 "FROM msg m ORDER BY m.created, m.id",
	[QUEUE_Q_RCPTS_OF] = "SELECT address, orcpt, domain, state, notify, attempts, next_at, "
			     "lease_until, last_attempt, last_error, delay_notified "
			     "FROM rcpt WHERE msg_id = ?1 ORDER BY id",
	/* leased recipients keep their lease; ones due already stay as they are */
	[QUEUE_Q_RETRY_ONE] = "UPDATE rcpt SET next_at = ?2 WHERE msg_id = ?1 AND state = 0 "
			      "AND lease_until <= ?2 AND next_at > ?2",
	[QUEUE_Q_RETRY_ALL] = "UPDATE rcpt SET next_at = ?1 WHERE state = 0 AND "
			      "lease_until <= ?1 AND next_at > ?1",
	[QUEUE_Q_HOLD_MSG] = "UPDATE msg SET held = ?2 WHERE id = ?1",
	[QUEUE_Q_HOLD_RCPTS] = "UPDATE rcpt SET held = ?2 WHERE msg_id = ?1",
	[QUEUE_Q_MARK_DELETED] = "UPDATE rcpt SET state = 4 WHERE msg_id = ?1 AND state = 0",
	[QUEUE_Q_STATS_MSGS] = "SELECT count(*), coalesce(sum(size), 0), "
			       "coalesce(min(created), -1) FROM msg",
	[QUEUE_Q_STATS_RCPTS] = "SELECT count(*) FROM rcpt WHERE state = 0",
	/* a lease the last server held ended with it: due again now */
	[QUEUE_Q_CLEAR_LEASES] = "UPDATE rcpt SET next_at = min(next_at, ?1), lease_until = 0 "
				 "WHERE state = 0 AND lease_until != 0",
	[QUEUE_Q_ALL_MSGS] = "SELECT id, qid FROM msg ORDER BY id",
	[QUEUE_Q_FAIL_PENDING] = "UPDATE rcpt SET state = 2, last_error = ?2, lease_until = 0 "
				 "WHERE msg_id = ?1 AND state = 0",
	[QUEUE_Q_SYNC_FULL] = "PRAGMA synchronous=FULL",
	[QUEUE_Q_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
	[QUEUE_Q_DURABLE_MARK] = "UPDATE meta SET value = value + 1 WHERE key = 'durable'",
};
