/* pop3_lock.c: the maildrop lock (RFC 1939 8): at most one POP3 session per account in
 * this process. IMAP sessions do not take it; POP3 works on its login snapshot. */
#include "pop3_int.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/banned.h"

struct held {
	int64_t account;
	struct held *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct held *locks; /* short: one entry per active POP3 session */

bool pop3_lock(int64_t account)
{
	bool ok = false;
	pthread_mutex_lock(&mu);
	struct held *h;
	for (h = locks; h && h->account != account; h = h->next)
		;
	if (!h && (h = malloc(sizeof(*h)))) {
		h->account = account;
		h->next = locks;
		locks = h;
		ok = true;
	}
	pthread_mutex_unlock(&mu);
	return ok;
}

void pop3_unlock(int64_t account)
{
	pthread_mutex_lock(&mu);
	for (struct held **p = &locks; *p; p = &(*p)->next) {
		if ((*p)->account == account) {
			struct held *h = *p;
			*p = h->next;
			free(h);
			break;
		}
	}
	pthread_mutex_unlock(&mu);
}
