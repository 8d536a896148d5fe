/* jmap_push.c: JMAP push over EventSource (RFC 8620 7.3):
 * GET /jmap/eventsource?types=&closeafter=&ping=.
 *
 * The stream watches the whole account (notify_watch, mailbox 0) from the connection's
 * loop thread. A wake-up only says "look again": the account's modseq, which is every
 * type's state (jmap.h), is read and a "state" event goes out when it moved past the
 * last one sent, so a burst of changes costs one event and nothing is ever reported
 * twice. The event id is the modseq: a reconnecting browser sends it back as
 * Last-Event-ID and hears at once about what it missed meanwhile.
 *
 * "ping" events keep idle connections open through proxies at the interval asked,
 * clamped to LIMIT_JMAP_EVENT_PING_MIN..MAX (RFC 8620 7.3 lets the server choose within
 * 30..300 at least). A client that does not read fills the stream's bounded output
 * (LIMIT_HTTP_STREAM_PENDING): the stream ends then. */
#include "http/jmap_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/arena.h"
#include "core/banned.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/http.h"
#include "net/net.h"
#include "notify/notify.h"
#include "store/store.h"

/* The types whose state a change of the account may move, in the order reported. */
static const char *const push_types[] = {"Email", "EmailDelivery", "Mailbox", "Thread",
					 "Quota"};
#define PUSH_N_TYPES (sizeof push_types / sizeof push_types[0])
/* "*": the mail types; Quota only when named (its usage moves with nearly every
 * change, and few clients watch it) */
#define PUSH_ALL_TYPES 0x0fu

struct push {
	struct http_req *r;
	int64_t account_id;
	char account_str[24];
	uint64_t last;          /* the modseq last reported (or seen at connect) */
	unsigned types;         /* bits of push_types[] */
	bool close_after;       /* closeafter=state */
	unsigned ping;          /* seconds, 0 = none */
	struct notify_watch *w;
	struct event *timer;
};

static void push_free(struct push *p)
{
	notify_unwatch(&p->w);
	if (p->timer)
		event_free(p->timer);
	free(p);
}

static void push_end(struct push *p)
{
	struct http_req *r = p->r;
	push_free(p);
	http_stream_end(r);
}

static void push_gone(void *arg)
{
	push_free(arg);
}

static void timer_arm(struct push *p)
{
	if (p->timer) {
		struct timeval tv = {.tv_sec = (time_t)p->ping};
		evtimer_add(p->timer, &tv);
	}
}

/* Send one event; false when the stream is over (it was ended here). */
static bool push_send(struct push *p, const char *text, size_t len)
{
	if (http_stream_write(p->r, text, len) < 0) {
		push_end(p);
		return false;
	}
	timer_arm(p); /* the next ping is due an interval after the last event */
	return true;
}

static int account_modseq(int64_t account_id, uint64_t *out)
{
	struct store *st;
	int rc = store_open(http_store_env(), account_id, &st);
	if (rc == 0) {
		rc = store_modseq(st, out);
		store_close(&st);
	}
	return rc;
}

static void push_check(void *arg)
{
	struct push *p = arg;
	uint64_t modseq;
	char state[24], buf[512];
	if (account_modseq(p->account_id, &modseq) < 0 || modseq <= p->last)
		return;
	p->last = modseq;
	int n = snprintf(state, sizeof state, "%llu", (unsigned long long)modseq);
	json_t *types = json_object();
	for (size_t i = 0; types && i < PUSH_N_TYPES; i++)
		if (p->types & (1u << i))
			json_object_set_new(types, push_types[i], json_string(state));
	json_t *ev = types ? json_pack("{s:s,s:{s:o}}", "@type", "StateChange", "changed",
				       p->account_str, types)
			   : NULL;
	char *data = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	int len = data && n > 0 ? snprintf(buf, sizeof buf, "event: state\nid: %s\ndata: %s\n\n",
					   state, data)
				: -1;
	free(data);
	if (len < 0 || (size_t)len >= sizeof buf)
		return;
	if (push_send(p, buf, (size_t)len) && p->close_after)
		push_end(p);
}

static void push_ping(evutil_socket_t fd, short what, void *arg)
{
	struct push *p = arg;
	char buf[64];
	(void)fd;
	(void)what;
	int len = snprintf(buf, sizeof buf, "event: ping\ndata: {\"interval\":%u}\n\n", p->ping);
	if (len > 0 && (size_t)len < sizeof buf)
		(void)push_send(p, buf, (size_t)len); /* ended there when it failed */
}

/* types=: "*" or names separated by commas; unknown names are ignored (they may be
 * types of capabilities we do not have). */
static unsigned parse_types(const char *s)
{
	if (!s || strcmp(s, "*") == 0)
		return PUSH_ALL_TYPES;
	unsigned bits = 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		for (size_t i = 0; i < PUSH_N_TYPES; i++)
			if (strlen(push_types[i]) == n && strncmp(push_types[i], s, n) == 0)
				bits |= 1u << i;
		s += n + (s[n] == ',');
	}
	return bits;
}

/* A decimal number of at most 9 digits, or -1. */
static long small_number(const char *s)
{
	long v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static void push_authed(struct http_req *r, const struct jmap_auth *au)
{
	const char *close_after = http_query_param(r, "closeafter");
	const char *ping = http_query_param(r, "ping");
	long ping_s = ping ? small_number(ping) : 0;
	if ((close_after && strcmp(close_after, "state") && strcmp(close_after, "no")) ||
	    ping_s < 0) {
		http_problem(r, 400, NULL, "closeafter is state or no; ping a number of seconds");
		return;
	}
	struct push *p = calloc(1, sizeof *p);
	if (!p) {
		http_problem(r, 500, NULL, NULL);
		return;
	}
	p->r = r;
	p->account_id = au->account_id;
	(void)snprintf(p->account_str, sizeof p->account_str, "%s", au->account_str);
	p->types = parse_types(http_query_param(r, "types"));
	p->close_after = close_after && strcmp(close_after, "state") == 0;
	if (ping_s > 0)
		p->ping = ping_s < LIMIT_JMAP_EVENT_PING_MIN   ? LIMIT_JMAP_EVENT_PING_MIN
			  : ping_s > LIMIT_JMAP_EVENT_PING_MAX ? LIMIT_JMAP_EVENT_PING_MAX
							       : (unsigned)ping_s;
	/* what the client saw last: its Last-Event-ID on a reconnect, else now */
	const char *last_id = http_header(r, "Last-Event-ID");
	int rc = account_modseq(p->account_id, &p->last);
	if (rc == 0 && last_id) {
		char *end;
		unsigned long long v = strtoull(last_id, &end, 10);
		if (*last_id >= '0' && *last_id <= '9' && *end == '\0' && v < p->last)
			p->last = v;
	}
	struct event_base *base = net_conn_base(r->conn);
	if (rc == 0 && p->ping) {
		p->timer = evtimer_new(base, push_ping, p);
		if (!p->timer)
			rc = ERR_NOMEM;
	}
	if (rc == 0)
		rc = notify_watch(base, p->account_id, 0, push_check, p, &p->w);
	if (rc < 0) {
		push_free(p);
		http_problem(r, err_is_temp(rc) ? 503 : 500, NULL, NULL);
		return;
	}
	http_add_header(r, "Cache-Control", "no-cache, no-store");
	if (http_stream_start(r, 200, "text/event-stream", push_gone, p) < 0) {
		/* the client is gone: this answer only releases the request */
		push_free(p);
		http_problem(r, 503, NULL, NULL);
		return;
	}
	timer_arm(p);
	/* something changed between Last-Event-ID and now: tell at once */
	push_check(p);
}

void jmap_http_eventsource(struct http_req *r)
{
	jmap_authenticate(r, push_authed);
}
