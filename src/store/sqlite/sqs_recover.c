/* sqs_recover.c: startup recovery and the full consistency sweep.
 *
 * Every start: remove account folders whose id has no directory row (a deleted account,
 * or an add that crashed). After an unclean shutdown (no <data>/.clean marker) also sweep
 * every account: rows whose file is missing or shorter/longer than recorded were
 * committed by a batch whose syncfs never completed, so never acknowledged: they are
 * dropped (and logged as expunged so IMAP clients learn about them), and contents no
 * message names any more with them; files no content references, and *.tmp copies,
 * are removed; usage and the mailboxes' counters are recomputed from the rows.
 * Only the primary env (opened by the process holding the data dir lock) recovers.
 * <data>/spool is not the store's: deliver/ owns it and sweeps it by its own rules. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

/* A running server may have linked a file whose row is not committed yet: the online
 * sweep leaves orphans younger than this alone. */
#define ONLINE_ORPHAN_AGE 3600

typedef char guid_t[SQS_GUID_LEN + 1];

static int guid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SQS_GUID_LEN);
}

static int id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* accounts/<id> folders without an account row go. */
static void drop_orphan_accounts(struct sqs_env *e, const int64_t *ids, size_t n)
{
	char dir[4096], path[4200];
	int l = snprintf(dir, sizeof(dir), "%s/accounts", e->data_dir);
	if (l < 0 || (size_t)l >= sizeof(dir))
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		uint64_t id;
		if (str_to_u64(de->d_name, strlen(de->d_name), INT64_MAX, &id) == 0) {
			int64_t key = (int64_t)id;
			if (bsearch(&key, ids, n, sizeof(*ids), id_cmp))
				continue;
		}
		l = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (l < 0 || (size_t)l >= sizeof(path))
			continue;
		log_warn("store: recovery removes folder of no account path=%s", path);
		if (sqs_rmtree(path) < 0)
			log_warn("store: recovery cannot remove path=%s", path);
	}
	closedir(d);
}

struct bad_row {
	int64_t mailbox;
	uint32_t uid;
};

/* Rows whose file is missing or has the wrong size (inside the write transaction). A
 * file shared by copies is looked at once per row naming it. */
static int check_rows(struct sqs_env *e, struct sqs_db *h, struct bad_row **bad_out,
		      size_t *nb_out)
{
	struct bad_row *bad = NULL;
	size_t nb = 0, bcap = 0;
	int r = 0, rc;
	char path[4096];
	sqlite3_stmt *q = sqs_q(h, Q_MSG_ALL);
	if (!q)
		return ERR_IO;
	while (r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		const char *guid = (const char *)sqlite3_column_text(q, 2);
		struct stat sb;
		uint64_t size = (uint64_t)sqlite3_column_int64(q, 3);
		if (sqs_msg_path(e, h->account_id, guid, path, sizeof(path)) == 0 &&
		    stat(path, &sb) == 0 && (uint64_t)sb.st_size == size)
			continue;
		log_warn("store: recovery drops message account=%lld mailbox=%lld uid=%lld: "
			 "file missing or of another size",
			 (long long)h->account_id, (long long)sqlite3_column_int64(q, 0),
			 (long long)sqlite3_column_int64(q, 1));
		if (nb == bcap) {
			bcap = bcap ? bcap * 2 : 16;
			struct bad_row *nbv = realloc(bad, bcap * sizeof(*bad));
			if (!nbv) {
				r = ERR_NOMEM;
				break;
			}
			bad = nbv;
		}
		bad[nb].mailbox = sqlite3_column_int64(q, 0);
		bad[nb].uid = (uint32_t)sqlite3_column_int64(q, 1);
		nb++;
	}
	if (r == 0)
		r = sqs_done(rc);
	sqlite3_reset(q);
	if (r < 0) {
		free(bad);
		return r;
	}
	*bad_out = bad, *nb_out = nb;
	return 0;
}

/* Delete the bad rows and log them as expunged, all at one new modseq. */
static int drop_rows(struct sqs_db *h, const struct bad_row *bad, size_t nb)
{
	uint64_t modseq = 0;
	int64_t now = (int64_t)time(NULL);
	int r = nb ? sqs_modseq_next(h, &modseq) : 0;
	for (size_t i = 0; r == 0 && i < nb; i++) {
		struct sqs_mb mb;
		r = sqs_mb_find_id(h, bad[i].mailbox, &mb);
		sqlite3_stmt *q;
		if (r == ERR_NOTFOUND) { /* a row of no mailbox: just remove it */
			mb.id = bad[i].mailbox;
			r = 0;
		} else if (r == 0) {
			mb.highestmodseq = modseq;
			r = sqs_mb_bump(h, &mb);
			if (r == 0)
				r = sqs_explog_add(h, mb.id, bad[i].uid, modseq, now);
		}
		if (r == 0 && (q = sqs_q(h, Q_MSG_DELETE)) != NULL) {
			sqlite3_bind_int64(q, 1, mb.id);
			sqlite3_bind_int64(q, 2, bad[i].uid);
			r = sqs_exec(h, q);
		}
	}
	return r;
}

/* Contents no message names any more (their messages were dropped) go with their
 * full-text rows; then the guids of all contents left, sorted, for the file sweep. */
static int drop_contents(struct sqs_db *h, guid_t **guids_out, size_t *n_out)
{
	int64_t ids[64];
	size_t n;
	int r = 0, rc;
	do { /* collected first: rows are not deleted under a running SELECT */
		sqlite3_stmt *q = sqs_q(h, Q_CT_ORPHANS);
		if (!q)
			return ERR_IO;
		n = 0;
		while (n < 64 && (rc = sqs_step(h, q)) == SQLITE_ROW)
			ids[n++] = sqlite3_column_int64(q, 0);
		r = n == 64 ? 0 : sqs_done(rc);
		sqlite3_reset(q);
		static const enum sqs_stmt dels[] = {Q_FTS_DELETE, Q_CT_DELETE};
		for (size_t i = 0; r == 0 && i < n; i++)
			for (size_t k = 0; r == 0 && k < 2; k++) {
				if ((q = sqs_q(h, dels[k])) == NULL)
					return ERR_IO;
				sqlite3_bind_int64(q, 1, ids[i]);
				r = sqs_exec(h, q);
			}
	} while (r == 0 && n == 64);
	guid_t *g = NULL;
	size_t ng = 0, cap = 0;
	sqlite3_stmt *q = r == 0 ? sqs_q(h, Q_CT_GUIDS) : NULL;
	if (r == 0 && !q)
		r = ERR_IO;
	while (q && r == 0 && (rc = sqs_step(h, q)) == SQLITE_ROW) {
		if (ng == cap) {
			cap = cap ? cap * 2 : 256;
			guid_t *ngv = realloc(g, cap * sizeof(*g));
			if (!ngv) {
				r = ERR_NOMEM;
				break;
			}
			g = ngv;
		}
		(void)snprintf(g[ng++], sizeof(g[0]), "%s", sqlite3_column_text(q, 0)); /* 32 */
	}
	if (q && r == 0)
		r = sqs_done(rc);
	if (q)
		sqlite3_reset(q);
	if (r < 0) {
		free(g);
		return r;
	}
	if (ng) /* g is NULL for an account without messages */
		qsort(g, ng, sizeof(*g), guid_cmp);
	*guids_out = g;
	*n_out = ng;
	return 0;
}

/* Remove files in msg/ that no row names, and *.tmp leftovers of copies. */
static void drop_orphan_files(struct sqs_env *e, int64_t id, const guid_t *g, size_t ng,
			      bool online)
{
	char msg[4096], path[4400];
	if (sqs_path(e, msg, sizeof(msg), id, "msg") < 0)
		return;
	DIR *d = opendir(msg);
	if (!d)
		return;
	time_t cutoff = time(NULL) - ONLINE_ORPHAN_AGE;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		size_t nl = strlen(de->d_name);
		if (nl == SQS_GUID_LEN && bsearch(de->d_name, g, ng, sizeof(*g), guid_cmp))
			continue;
		int l = snprintf(path, sizeof(path), "%s/%s", msg, de->d_name);
		if (l < 0 || (size_t)l >= sizeof(path))
			continue;
		struct stat sb;
		if (online && (lstat(path, &sb) < 0 || sb.st_ctime > cutoff))
			continue;
		log_warn("store: recovery removes unreferenced file path=%s", path);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("store: unlink path=%s: %s", path, strerror(errno));
	}
	closedir(d);
}

static int sweep_account(struct sqs_env *e, int64_t id, bool online)
{
	struct sqs_db *h;
	int r = sqs_db_take(e, id, &h);
	if (r < 0)
		return r;
	guid_t *g = NULL;
	struct bad_row *bad = NULL;
	size_t ng = 0, nb = 0;
	sqs_rows_removing(e, id); /* the online check may drop rows */
	r = sqs_begin(h, true);
	if (r == 0)
		r = check_rows(e, h, &bad, &nb);
	if (r == 0)
		r = drop_rows(h, bad, nb);
	if (r == 0)
		r = drop_contents(h, &g, &ng);
	/* the triggers keep these; recomputed in case a program outside the store wrote */
	if (r == 0)
		r = sqs_exec(h, sqs_q(h, Q_USAGE_RECALC));
	if (r == 0)
		r = sqs_exec(h, sqs_q(h, Q_MB_RECOUNT));
	if (r == 0)
		r = sqs_commit(h);
	else
		sqs_rollback(h);
	sqs_db_give(e, h);
	if (r == 0) {
		drop_orphan_files(e, id, g, ng, online);
		for (size_t i = 0; i < nb; i++)
			store_notify(&e->base, id, bad[i].mailbox, STORE_CH_EXPUNGE, 0);
	}
	free(g), free(bad);
	return r;
}

static int sweep_all(struct sqs_env *e, const int64_t *ids, size_t n, bool online)
{
	for (size_t i = 0; i < n; i++) {
		int r = sweep_account(e, ids[i], online);
		if (r < 0) {
			log_err("store: recovery of account=%lld failed: %s", (long long)ids[i],
				err_str(r));
			return r;
		}
	}
	return 0;
}

int sqs_recover(struct store_env *env)
{
	struct sqs_env *e = (struct sqs_env *)env;
	if (!e->primary)
		return 0; /* another process owns the data dir and its recovery */
	int64_t *ids;
	size_t n;
	int r = sqs_dir_ids(e, &ids, &n);
	if (r < 0)
		return r;
	drop_orphan_accounts(e, ids, n);
	if (!e->clean_start && n > 0) { /* a new data dir has no marker and nothing to check */
		log_info("store: unclean shutdown, checking accounts=%zu", n);
		r = sweep_all(e, ids, n, false);
	}
	free(ids);
	return r;
}

int sqs_check(struct store_env *env)
{
	struct sqs_env *e = (struct sqs_env *)env;
	int64_t *ids;
	size_t n;
	int r = sqs_dir_ids(e, &ids, &n);
	if (r < 0)
		return r;
	r = sweep_all(e, ids, n, true);
	free(ids);
	return r;
}
