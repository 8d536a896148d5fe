/* test_dns_resolver.c: the asynchronous machinery of outbound/dns_resolver.c on a real
 * libevent base and libunbound context, against a "resolver" that is a UDP socket of
 * this test which takes queries and never answers: the per-query timer (a temporary
 * failure that says so), cancelling (no callback), freeing the resolver with queries
 * pending (no callback, nothing leaked: ASan), callbacks only from the loop, never
 * from inside dns_query(), and the refusal of bad names and settings. The answers
 * themselves are tested against a real unbound in tests/proto/test_dns.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/err.h"
#include "outbound/dns.h"

struct fixture {
	int silent;   /* the UDP socket that never answers */
	char addr[64];
	struct event_base *base;
	struct dns_resolver *r;
};

struct result {
	int calls;
	struct dns_answer *answer;
};

static void on_answer(void *arg, struct dns_answer *a)
{
	struct result *res = arg;
	res->calls++;
	dns_answer_free(&res->answer);
	res->answer = a;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->silent = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->silent >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f->silent, (struct sockaddr *)&sin, sizeof(sin)), 0);
	socklen_t len = sizeof(sin);
	assert_int_equal(getsockname(f->silent, (struct sockaddr *)&sin, &len), 0);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%u", ntohs(sin.sin_port));
	f->base = event_base_new();
	assert_non_null(f->base);
	struct dns_options o = {.resolver = f->addr, .trust_anchor = "", .timeout = 1};
	assert_int_equal(dns_resolver_new(f->base, &o, &f->r), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	dns_resolver_free(&f->r);
	assert_null(f->r);
	event_base_free(f->base);
	close(f->silent);
	free(f);
	return 0;
}

static void run_until(struct fixture *f, const struct result *res, int calls)
{
	while (res->calls < calls)
		assert_true(event_base_loop(f->base, EVLOOP_ONCE) >= 0);
}

/* The timer bounds the query: TEMPFAIL with the reason, once, on the loop. */
static void test_timeout(void **state)
{
	struct fixture *f = *state;
	struct result res = {0};
	assert_int_equal(dns_query(f->r, DNS_TYPE_MX, "Example.TEST.", on_answer, &res, NULL), 0);
	assert_int_equal(res.calls, 0); /* never from inside dns_query() */
	run_until(f, &res, 1);
	assert_non_null(res.answer);
	assert_int_equal(res.answer->status, DNS_STATUS_TEMPFAIL);
	assert_int_equal(res.answer->type, DNS_TYPE_MX);
	assert_string_equal(res.answer->name, "example.test");
	assert_string_equal(res.answer->why, "no answer within 1 s");
	assert_int_equal(res.answer->n, 0);
	dns_answer_free(&res.answer);
	assert_null(res.answer);
}

/* A cancelled query never calls back; the other one still does. */
static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct result gone = {0}, kept = {0};
	struct dns_query *q = NULL;
	assert_int_equal(dns_query(f->r, DNS_TYPE_A, "a.test", on_answer, &gone, &q), 0);
	assert_int_equal(dns_query(f->r, DNS_TYPE_TXT, "b.test", on_answer, &kept, NULL), 0);
	assert_non_null(q);
	dns_query_cancel(&q);
	assert_null(q);
	run_until(f, &kept, 1);
	assert_int_equal(gone.calls, 0);
	assert_int_equal(kept.answer->status, DNS_STATUS_TEMPFAIL);
	dns_answer_free(&kept.answer);
}

/* Freeing the resolver with queries pending: no callbacks (teardown frees it; this
 * test only leaves three queries behind, and ASan reports anything not released). */
static void test_free_pending(void **state)
{
	struct fixture *f = *state;
	static struct result never;
	for (int i = 0; i < 3; i++)
		assert_int_equal(dns_query(f->r, DNS_TYPE_AAAA, "c.test", on_answer, &never, NULL),
				 0);
	dns_resolver_free(&f->r);
	assert_int_equal(never.calls, 0);
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	struct result res = {0};
	assert_int_equal(dns_query(f->r, DNS_TYPE_A, "a..b", on_answer, &res, NULL), ERR_INVAL);
	assert_int_equal(dns_query(f->r, DNS_TYPE_A, "", on_answer, &res, NULL), ERR_INVAL);
	assert_int_equal(dns_query(f->r, (enum dns_type)6 /* SOA */, "a.test", on_answer, &res,
				   NULL),
			 ERR_INVAL);
	assert_int_equal(res.calls, 0);
	struct dns_resolver *r = NULL;
	struct dns_options bad = {.resolver = "localhost:53"};
	assert_int_equal(dns_resolver_new(f->base, &bad, &r), ERR_INVAL);
	struct dns_options no_ta = {.trust_anchor = "/nonexistent/root.key"};
	assert_int_equal(dns_resolver_new(f->base, &no_ta, &r), ERR_INVAL);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
