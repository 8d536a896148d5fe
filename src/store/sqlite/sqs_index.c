/* sqs_index.c: the indexer, a background thread that makes the full-text rows of new
 * messages, so that neither a delivery batch nor an APPEND waits for the tokenizer
 * (DESIGN.md: full-text indexing runs beside the loops). A commit that added contents
 * kicks it with the account; it fills that account's waiting contents in short
 * transactions (sqs_content_fill), so other writers of the account wait for one small
 * batch at most. Nothing here is needed for correctness: store_search makes what is missing
 * in its mailbox before it searches, and what waits when the env closes is done by the
 * next search or kick. Owns the queue of accounts (one entry per account at most, so
 * it is bounded by the number of accounts). */
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

struct sqs_index_job {
	struct sqs_index_job *next;
	int64_t account;
};

static void index_account(struct sqs_env *e, int64_t account)
{
	struct sqs_db *h;
	uint64_t qb, qm;
	/* opening a handle makes the account's folder: not for one deleted since the kick */
	if (sqs_dir_quota(e, account, &qb, &qm) < 0 || sqs_db_take(e, account, &h) < 0)
		return; /* gone, or busy: a search or the next kick does it */
	/* Full-text rows are made again from the row's text or file if a crash loses them
	 * (`indexed` is committed with them), so their commits need no flush of their own:
	 * one per small batch would compete with the deliveries' flushes for the disk. */
	if (sqs_sync_mode(h, false) == 0) {
		/* failures are logged there; what is left is made by the next search */
		(void)sqs_content_fill(e, h, SQS_FILL_INDEX, 0, 1, UINT32_MAX);
		if (sqs_sync_mode(h, true) < 0) {
			sqs_db_free(h); /* never pool a handle left in NORMAL mode */
			return;
		}
	}
	sqs_db_give(e, h);
}

static void *index_main(void *arg)
{
	struct sqs_env *e = arg;
	pthread_mutex_lock(&e->index_mu);
	for (;;) {
		while (!e->index_head && !e->index_stop)
			pthread_cond_wait(&e->index_cv, &e->index_mu);
		if (e->index_stop)
			break;
		struct sqs_index_job *j = e->index_head;
		e->index_head = j->next;
		pthread_mutex_unlock(&e->index_mu);
		index_account(e, j->account);
		free(j);
		pthread_mutex_lock(&e->index_mu);
	}
	while (e->index_head) { /* left for the next search or kick */
		struct sqs_index_job *j = e->index_head;
		e->index_head = j->next;
		free(j);
	}
	pthread_mutex_unlock(&e->index_mu);
	return NULL;
}

int sqs_index_start(struct sqs_env *e)
{
	pthread_mutex_init(&e->index_mu, NULL);
	pthread_cond_init(&e->index_cv, NULL);
	if (pthread_create(&e->indexer, NULL, index_main, e) != 0)
		return ERR_TEMP;
	e->indexing = true;
	return 0;
}

void sqs_index_stop(struct sqs_env *e)
{
	if (!e->indexing)
		return;
	pthread_mutex_lock(&e->index_mu);
	e->index_stop = true;
	pthread_cond_signal(&e->index_cv);
	pthread_mutex_unlock(&e->index_mu);
	pthread_join(e->indexer, NULL);
	e->indexing = false;
}

void sqs_index_kick(struct sqs_env *e, int64_t account_id)
{
	if (!e->indexing)
		return;
	pthread_mutex_lock(&e->index_mu);
	struct sqs_index_job **p = &e->index_head;
	while (*p && (*p)->account != account_id)
		p = &(*p)->next;
	if (!*p && (*p = malloc(sizeof(**p))) != NULL) { /* no memory: the search does it */
		(*p)->next = NULL;
		(*p)->account = account_id;
		pthread_cond_signal(&e->index_cv);
	}
	pthread_mutex_unlock(&e->index_mu);
}
