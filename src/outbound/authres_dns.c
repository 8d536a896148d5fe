/* authres_dns.c: the lookups of the inbound checks. Each io worker thread gets its own
 * synchronous resolver (an event_base of its own and dns_query_wait, dns.h: a resolver
 * belongs to one thread), made on its first check and freed when the thread ends
 * (a pthread key destructor). Every lookup of one message also checks the message's
 * deadline (LIMIT_CHECKS_TIME): past it the lookup is a temporary failure without a
 * query, so one message's checks take at most that plus one [dns] timeout. */
#include "outbound/authres_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/err.h"
#include "outbound/dkim.h"
#include "core/log.h"
#include "core/banned.h"

struct authres_thread_dns {
	struct event_base *base;
	struct dns_resolver *resolver;
};

static pthread_key_t authres_dns_key;
static pthread_once_t authres_dns_once = PTHREAD_ONCE_INIT;
static bool authres_dns_key_ok;

static void authres_dns_release(void *p)
{
	struct authres_thread_dns *t = p;
	dns_resolver_free(&t->resolver);
	if (t->base)
		event_base_free(t->base);
	free(t);
}

static void authres_dns_key_init(void)
{
	authres_dns_key_ok = pthread_key_create(&authres_dns_key, authres_dns_release) == 0;
}

struct dns_resolver *authres_dns_resolver(void)
{
	pthread_once(&authres_dns_once, authres_dns_key_init);
	if (!authres_dns_key_ok)
		return NULL;
	struct authres_thread_dns *t = pthread_getspecific(authres_dns_key);
	if (t)
		return t->resolver;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	struct dns_options opts;
	dns_options_from_conf(&opts);
	t->base = event_base_new();
	if (!t->base || dns_resolver_new(t->base, &opts, &t->resolver) < 0 ||
	    pthread_setspecific(authres_dns_key, t) != 0) {
		log_err("checks: no resolver for this worker; lookups fail as temperror");
		authres_dns_release(t);
		return NULL;
	}
	return t->resolver;
}

int authres_dns_lookup(void *ctx, enum dns_type type, const char *name,
                       struct dns_answer **answer_out)
{
	struct authres_lookups *l = ctx;
	*answer_out = NULL;
	if (!l->resolver || time(NULL) >= l->deadline)
		return ERR_TEMP;
	l->queries++;
	return dns_query_wait(l->resolver, type, name, answer_out);
}

/* The key record through this message's bounded lookups; dkim_key_from_dns reads the
 * answer (RFC 6376 3.6.2.2). */
int authres_dns_dkim_key(void *ctx, const char *name, char *out, size_t cap, size_t *len_out)
{
	struct dns_answer *a = NULL;
	int rc = authres_dns_lookup(ctx, DNS_TYPE_TXT, name, &a);
	return dkim_key_from_dns(rc, &a, out, cap, len_out);
}
