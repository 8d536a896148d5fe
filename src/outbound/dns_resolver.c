/* dns_resolver.c: queries on libunbound, driven by a libevent base (dns.h has the
 * contract and the reasons for one context per loop thread and for validating here).
 * Owns the ub_ctx, the event on ub_fd() and one timer per pending query, which bounds
 * it to the configured time (at most LIMIT_DNS_QUERY_TIME seconds). */
#include "dns.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

struct dns_resolver {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct event *readable; /* ub_fd(): finished queries wait there for ub_process() */
	unsigned timeout;       /* seconds per query */
	struct dns_query *pending;
};

struct dns_query {
	struct dns_resolver *r;
	struct dns_query *prev, *next; /* r->pending, so freeing the resolver cancels all */
	enum dns_type type;
	char name[LIMIT_DNS_NAME + 1];
	int async_id;
	struct event *timer;
	dns_callback cb;
	void *arg;
};

void dns_options_from_conf(struct dns_options *out)
{
	const struct conf *c = conf_get();
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	out->resolver = c->dns_resolver;
	out->trust_anchor = c->dns_dnssec ? c->dns_trust_anchor : "";
	out->timeout = c->dns_timeout;
}

static void dns_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;
	int e = ub_process(r->ctx);
	if (e != 0)
		log_warn("dns: ub_process: %s", ub_strerror(e));
}

static int dns_ctx_setup(struct dns_resolver *r, const struct dns_options *o)
{
	int e = ub_ctx_async(r->ctx, 1);
	if (e == 0 && o->resolver) {
		char fwd[80];
		if (dns_parse_server(o->resolver, strlen(o->resolver), fwd, sizeof(fwd)) < 0) {
			log_err("dns: [dns] resolver = %s: want ADDR:PORT or [IPv6]:PORT",
				o->resolver);
			return ERR_INVAL;
		}
		e = ub_ctx_set_fwd(r->ctx, fwd);
	}
	const char *ta = o->trust_anchor ? o->trust_anchor : DNS_ROOT_KEY;
	if (e == 0 && *ta) {
		/* libunbound reads the file only at the first query; say now what is wrong */
		if (access(ta, R_OK) != 0) {
			log_err("dns: trust anchor %s: cannot read it (Debian: dns-root-data)", ta);
			return ERR_INVAL;
		}
		e = ub_ctx_add_ta_file(r->ctx, ta);
	}
	/* RFC 6761 6.2: "test." is for testing, and libunbound answers it NXDOMAIN by
	 * itself. A resolver the admin names serves it (a lab, our tests); from the root it
	 * is NXDOMAIN anyway. This call finalizes the context: it comes last. */
	if (e == 0 && o->resolver)
		e = ub_ctx_zone_add(r->ctx, "test.", "transparent");
	if (e != 0) {
		log_err("dns: libunbound setup: %s", ub_strerror(e));
		return ERR_INVAL;
	}
	return 0;
}

int dns_resolver_new(struct event_base *base, const struct dns_options *opts,
		     struct dns_resolver **out)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->base = base;
	r->timeout = LIMIT_DNS_QUERY_TIME;
	if (opts->timeout && opts->timeout < LIMIT_DNS_QUERY_TIME)
		r->timeout = opts->timeout;
	r->ctx = ub_ctx_create();
	if (!r->ctx) {
		free(r);
		return ERR_NOMEM;
	}
	int e = dns_ctx_setup(r, opts);
	if (e == 0) {
		int fd = ub_fd(r->ctx);
		r->readable = fd < 0 ? NULL
				     : event_new(base, fd, EV_READ | EV_PERSIST, dns_on_readable, r);
		if (!r->readable || event_add(r->readable, NULL) != 0)
			e = ERR_IO;
	}
	if (e != 0) {
		if (r->readable)
			event_free(r->readable);
		ub_ctx_delete(r->ctx);
		free(r);
		return e;
	}
	*out = r;
	return 0;
}

static void dns_query_unlink(struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		q->r->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
	event_free(q->timer);
	free(q);
}

void dns_query_cancel(struct dns_query **q)
{
	if (!*q)
		return;
	/* With a worker thread, ub_cancel only marks the query: ub_process() then drops its
	 * result without a callback. */
	int e = ub_cancel((*q)->r->ctx, (*q)->async_id);
	if (e != 0)
		log_warn("dns: cancel %s: %s", (*q)->name, ub_strerror(e));
	dns_query_unlink(*q);
	*q = NULL;
}

void dns_resolver_free(struct dns_resolver **r)
{
	if (!*r)
		return;
	while ((*r)->pending) {
		struct dns_query *q = (*r)->pending;
		dns_query_cancel(&q);
	}
	event_free((*r)->readable);
	ub_ctx_delete((*r)->ctx);
	free(*r);
	*r = NULL;
}

static struct dns_answer *dns_answer_new(const struct dns_query *q)
{
	struct dns_answer *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->type = q->type;
	memcpy(a->name, q->name, sizeof(a->name));
	return a;
}

static void dns_deliver(struct dns_query *q, struct dns_answer *a)
{
	dns_callback cb = q->cb;
	void *arg = q->arg;
	dns_query_unlink(q);
	cb(arg, a);
}

/* RFC 5321 5.1: no MX records at an existing name: the name itself, preference 0. */
static void dns_implicit_mx(struct dns_answer *a)
{
	a->rr = calloc(1, sizeof(*a->rr));
	if (!a->rr) {
		a->status = DNS_STATUS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "out of memory");
		return;
	}
	const char *host = a->canonical[0] ? a->canonical : a->name;
	memcpy(a->rr[0].u.mx.host, host, strlen(host) + 1);
	a->n = 1;
	a->implicit_mx = true;
	a->status = DNS_STATUS_OK;
}

static void dns_fill(struct dns_answer *a, int err, struct ub_result *res)
{
	if (err != 0 || !res) {
		a->status = DNS_STATUS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "resolver: %s", ub_strerror(err));
		return;
	}
	a->rcode = res->rcode;
	a->ttl = res->ttl > 0 ? (unsigned)res->ttl : 0;
	if (res->canonname && dns_name_norm(res->canonname, strlen(res->canonname),
					    a->canonical) == 0 &&
	    !strcmp(a->canonical, a->name))
		a->canonical[0] = '\0';
	if (res->bogus) {
		/* RFC 4035 5.5: bogus data is never used; the queue retries later */
		a->sec = DNS_SEC_BOGUS;
		a->status = DNS_STATUS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "DNSSEC bogus: %s",
			 res->why_bogus ? res->why_bogus : "validation failed");
		return;
	}
	a->sec = res->secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	if (res->rcode == 3) {
		a->status = DNS_STATUS_NXDOMAIN;
	} else if (res->rcode != 0) {
		a->status = DNS_STATUS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "%s", res->rcode == 2 ? "SERVFAIL"
						       : res->rcode == 5 ? "REFUSED"
									 : "error RCODE");
	} else if (!res->havedata) {
		a->status = DNS_STATUS_NODATA;
		if (a->type == DNS_TYPE_MX)
			dns_implicit_mx(a);
	} else {
		size_t n = 0;
		while (res->data[n])
			n++;
		a->status = DNS_STATUS_OK;
		if (dns_parse_rdata(a, res->data, res->len, n) < 0) {
			a->status = DNS_STATUS_TEMPFAIL;
			snprintf(a->why, sizeof(a->why), "out of memory");
		}
	}
}

static void dns_on_result(void *arg, int err, struct ub_result *res)
{
	struct dns_query *q = arg;
	struct dns_answer *a = dns_answer_new(q);
	if (a)
		dns_fill(a, err, res);
	if (res)
		ub_resolve_free(res);
	if (!a)
		log_err("dns: %s %s: out of memory for the answer", dns_type_name(q->type),
			q->name);
	dns_deliver(q, a);
}

static void dns_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	int e = ub_cancel(q->r->ctx, q->async_id);
	if (e != 0)
		log_warn("dns: cancel %s: %s", q->name, ub_strerror(e));
	struct dns_answer *a = dns_answer_new(q);
	if (a) {
		a->status = DNS_STATUS_TEMPFAIL;
		snprintf(a->why, sizeof(a->why), "no answer within %u s", q->r->timeout);
	}
	dns_deliver(q, a);
}

int dns_query(struct dns_resolver *r, enum dns_type type, const char *name,
	      dns_callback cb, void *arg, struct dns_query **q_out)
{
	if (!dns_type_name(type))
		return ERR_INVAL;
	struct dns_query *q = calloc(1, sizeof(*q));
	if (!q)
		return ERR_NOMEM;
	if (dns_name_norm(name, strlen(name), q->name) < 0) {
		free(q);
		return ERR_INVAL;
	}
	q->r = r;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->timer = evtimer_new(r->base, dns_on_timeout, q);
	struct timeval tv = {.tv_sec = r->timeout};
	if (!q->timer || evtimer_add(q->timer, &tv) != 0) {
		if (q->timer)
			event_free(q->timer);
		free(q);
		return ERR_NOMEM;
	}
	int e = ub_resolve_async(r->ctx, q->name, (int)type, 1 /* IN */, q, dns_on_result,
				 &q->async_id);
	if (e != 0) {
		log_warn("dns: %s %s: %s", dns_type_name(type), q->name, ub_strerror(e));
		event_free(q->timer);
		free(q);
		return e == UB_NOMEM ? ERR_NOMEM : ERR_TEMP;
	}
	q->next = r->pending;
	if (q->next)
		q->next->prev = q;
	r->pending = q;
	if (q_out)
		*q_out = q;
	return 0;
}

struct dns_wait {
	bool done;
	struct dns_answer *answer;
};

static void dns_wait_done(void *arg, struct dns_answer *a)
{
	struct dns_wait *w = arg;
	w->done = true;
	w->answer = a;
}

int dns_query_wait(struct dns_resolver *r, enum dns_type type, const char *name,
		   struct dns_answer **answer_out)
{
	struct dns_wait w = {0};
	struct dns_query *q;
	int e = dns_query(r, type, name, dns_wait_done, &w, &q);
	if (e < 0)
		return e;
	while (!w.done) {
		if (event_base_loop(r->base, EVLOOP_ONCE) < 0) {
			dns_query_cancel(&q); /* w is about to go away */
			return ERR_IO;
		}
	}
	if (!w.answer)
		return ERR_NOMEM;
	*answer_out = w.answer;
	return 0;
}
