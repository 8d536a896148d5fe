/* sqs_token.c: JMAP/webmail session tokens in directory.db (table tokens, schema in
 * sqs_dir.c). Only SHA-256(token) is kept: a copy of directory.db does not log anyone
 * in. A token's idle lifetime is fixed at add (expires - now); each use moves its
 * expiry to now + lifetime, written at most once per SQS_TOKEN_SLIDE_SECS so that a
 * busy session does not write on every request. Slides are not flushed
 * (synchronous=NORMAL: a crash may only shorten a session); adds and deletes are
 * (logout must survive a crash). */
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

#define SQS_TOKEN_SLIDE_SECS 60

int sqs_token_add(struct store_env *env, int64_t account_id, const uint8_t hash[32],
		  int64_t expires)
{
	struct sqs_env *e = (struct sqs_env *)env;
	int64_t now = (int64_t)time(NULL);
	if (expires <= now)
		return ERR_INVAL;
	pthread_mutex_lock(&e->dir_mu);
	/* expired tokens go with every login: the table stays as big as the live sessions */
	sqlite3_stmt *q = e->dq[D_TOK_PRUNE];
	sqlite3_bind_int64(q, 1, now);
	int rc = sqs_dstep(e, q);
	sqs_dreset(q);
	if (rc != SQLITE_DONE)
		log_warn("store: pruning expired tokens failed"); /* the add still may work */
	q = e->dq[D_TOK_INSERT];
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, account_id);
	sqlite3_bind_int64(q, 3, now);
	sqlite3_bind_int64(q, 4, expires - now);
	sqlite3_bind_int64(q, 5, expires);
	rc = sqs_dstep(e, q);
	int ext = sqlite3_extended_errcode(e->dir_db);
	sqs_dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (rc == SQLITE_DONE)
		return 0;
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
		return ERR_NOTFOUND;
	return sqs_err(rc);
}

int sqs_token_get(struct store_env *env, const uint8_t hash[32], int64_t now,
		  int64_t *account_id_out)
{
	struct sqs_env *e = (struct sqs_env *)env;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_TOK_GET];
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	int rc = sqs_dstep(e, q), r = 0;
	int64_t id = 0, lifetime = 0, expires = 0;
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(q, 0);
		lifetime = sqlite3_column_int64(q, 1);
		expires = sqlite3_column_int64(q, 2);
		if (expires <= now)
			r = ERR_NOTFOUND;
	} else {
		r = rc == SQLITE_DONE ? ERR_NOTFOUND : sqs_err(rc);
	}
	sqs_dreset(q);
	if (r == 0 && now + lifetime - expires >= SQS_TOKEN_SLIDE_SECS) {
		sqlite3_stmt *sn = e->dq[D_SYNC_NORMAL], *sf = e->dq[D_SYNC_FULL];
		rc = sqs_dstep(e, sn);
		sqs_dreset(sn);
		q = e->dq[D_TOK_SLIDE];
		sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, now + lifetime);
		if (rc == SQLITE_DONE)
			rc = sqs_dstep(e, q);
		sqs_dreset(q);
		if (rc != SQLITE_DONE) /* the token is valid: only its expiry did not move */
			log_warn("store: token expiry not extended account=%lld", (long long)id);
		rc = sqs_dstep(e, sf);
		sqs_dreset(sf);
		if (rc != SQLITE_DONE)
			log_err("store: directory.db stays at synchronous=NORMAL");
	}
	pthread_mutex_unlock(&e->dir_mu);
	if (r == 0)
		*account_id_out = id;
	return r;
}

int sqs_token_del(struct store_env *env, const uint8_t hash[32])
{
	struct sqs_env *e = (struct sqs_env *)env;
	pthread_mutex_lock(&e->dir_mu);
	sqlite3_stmt *q = e->dq[D_TOK_DELETE];
	sqlite3_bind_blob(q, 1, hash, 32, SQLITE_STATIC);
	int rc = sqs_dstep(e, q);
	int changed = sqlite3_changes(e->dir_db);
	sqs_dreset(q);
	pthread_mutex_unlock(&e->dir_mu);
	if (rc != SQLITE_DONE)
		return sqs_err(rc);
	return changed ? 0 : ERR_NOTFOUND;
}
