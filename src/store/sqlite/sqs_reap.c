/* sqs_reap.c: message files of expunged messages are unlinked by a background thread.
 * Once the expunge is committed nothing references them, so the client's reply need not
 * wait for the filesystem: on a volume mounted with online discard, unlinking 5,000
 * small files takes seconds. A crash before the reaper ran leaves unreferenced files,
 * which recovery removes (sqs_recover.c). env_close drains the queue. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "store/sqlite/sqs_int.h"
#include "core/banned.h"

struct sqs_reap {
	struct sqs_reap *next;
	int64_t account;
	size_t n;
	char guids[][SQS_GUID_LEN + 1];
};

static void *reap_main(void *arg)
{
	struct sqs_env *e = arg;
	pthread_mutex_lock(&e->reap_mu);
	for (;;) {
		while (!e->reap_head && !e->reap_stop)
			pthread_cond_wait(&e->reap_cv, &e->reap_mu);
		struct sqs_reap *b = e->reap_head;
		if (!b)
			break; /* stopping, and nothing is left */
		e->reap_head = b->next;
		if (!e->reap_head)
			e->reap_tail = NULL;
		pthread_mutex_unlock(&e->reap_mu);
		sqs_unlink_guids(e, b->account, b->guids, b->n);
		free(b);
		pthread_mutex_lock(&e->reap_mu);
	}
	pthread_mutex_unlock(&e->reap_mu);
	return NULL;
}

int sqs_reap_start(struct sqs_env *e)
{
	pthread_mutex_init(&e->reap_mu, NULL);
	pthread_cond_init(&e->reap_cv, NULL);
	if (pthread_create(&e->reaper, NULL, reap_main, e) != 0)
		return ERR_TEMP;
	e->reaping = true;
	return 0;
}

void sqs_reap_stop(struct sqs_env *e)
{
	if (!e->reaping)
		return;
	pthread_mutex_lock(&e->reap_mu);
	e->reap_stop = true;
	pthread_cond_signal(&e->reap_cv);
	pthread_mutex_unlock(&e->reap_mu);
	pthread_join(e->reaper, NULL);
	e->reaping = false;
}

void sqs_reap_guids(struct sqs_env *e, int64_t id, char (*guids)[SQS_GUID_LEN + 1], size_t n)
{
	if (n == 0)
		return;
	struct sqs_reap *b = e->reaping ? malloc(sizeof(*b) + n * sizeof(b->guids[0])) : NULL;
	if (!b) { /* no thread, or no memory: do it now rather than not at all */
		sqs_unlink_guids(e, id, guids, n);
		return;
	}
	b->next = NULL;
	b->account = id;
	b->n = n;
	memcpy(b->guids, guids, n * sizeof(b->guids[0]));
	pthread_mutex_lock(&e->reap_mu);
	if (e->reap_tail)
		e->reap_tail->next = b;
	else
		e->reap_head = b;
	e->reap_tail = b;
	pthread_cond_signal(&e->reap_cv);
	pthread_mutex_unlock(&e->reap_mu);
}
