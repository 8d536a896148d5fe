/* test_jmap_request.c: the JMAP request engine (RFC 8620 3.3-3.7), its depth pre-scan,
 * JSON Pointer with '*' (RFC 6901, RFC 8620 3.7) and the standard-method helpers (5.1-
 * 5.6). Limits are tested at -1/0/+1; no store is needed (the engine never opens one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/jmap.h"

static struct arena arena;

static void ctx_init(struct jmap_ctx *x)
{
	memset(x, 0, sizeof *x);
	arena_reset(&arena);
	x->a = &arena;
	x->account_id = 7;
	x->address = "a@example.org";
}

/* Run a request; returns the rc, the response or the error. */
static int run(const char *body, json_t **resp, struct jmap_request_error *e)
{
	struct jmap_ctx x;
	ctx_init(&x);
	memset(e, 0, sizeof *e);
	return jmap_request(&x, (const uint8_t *)body, strlen(body), "42", resp, e);
}

static json_t *run_ok(const char *body)
{
	json_t *resp;
	struct jmap_request_error e;
	assert_int_equal(run(body, &resp, &e), 0);
	assert_non_null(resp);
	assert_string_equal(json_string_value(json_object_get(resp, "sessionState")), "42");
	return resp;
}

static void expect_request_error(const char *body, const char *type, const char *limit)
{
	json_t *resp = NULL;
	struct jmap_request_error e;
	assert_true(run(body, &resp, &e) < 0);
	assert_null(resp);
	assert_int_equal(e.status, 400);
	assert_string_equal(e.type, type);
	if (limit)
		assert_string_equal(e.limit, limit);
	else
		assert_null(e.limit);
}

/* Nested arrays: depth levels of '[' around 0. */
static char *nested(unsigned depth, const char *prefix, const char *suffix)
{
	size_t n = strlen(prefix) + 2 * depth + 2 + strlen(suffix);
	char *s = malloc(n);
	assert_non_null(s);
	size_t k = 0;
	memcpy(s, prefix, strlen(prefix));
	k += strlen(prefix);
	for (unsigned i = 0; i < depth; i++)
		s[k++] = '[';
	s[k++] = '0';
	for (unsigned i = 0; i < depth; i++)
		s[k++] = ']';
	memcpy(s + k, suffix, strlen(suffix) + 1);
	return s;
}

static void test_scan_depth(void **state)
{
	(void)state;
	for (unsigned d = 15; d <= 17; d++) {
		char *s = nested(d, "", "");
		assert_int_equal(jmap_scan_depth((const uint8_t *)s, strlen(s), 16),
				 d <= 16 ? 0 : ERR_TOO_DEEP);
		free(s);
	}
	/* brackets inside strings, also after escaped quotes and backslashes, do not count */
	const char *str = "[\"[[[[\\\"[[[[\\\\\",\"{{{{\"]";
	assert_int_equal(jmap_scan_depth((const uint8_t *)str, strlen(str), 1), 0);
	const char *obj = "{\"a\":{\"b\":[1]}}";
	assert_int_equal(jmap_scan_depth((const uint8_t *)obj, strlen(obj), 3), 0);
	assert_int_equal(jmap_scan_depth((const uint8_t *)obj, strlen(obj), 2), ERR_TOO_DEEP);
	/* stray closers do not lower the count below zero */
	const char *closers = "]]]]][[";
	assert_int_equal(jmap_scan_depth((const uint8_t *)closers, strlen(closers), 1),
			 ERR_TOO_DEEP);
	/* only [p, p+len) is read */
	assert_int_equal(jmap_scan_depth((const uint8_t *)"[[[", 1, 1), 0);
	assert_int_equal(jmap_scan_depth((const uint8_t *)"", 0, 0), 0);
}

static void expect_pointer(json_t *doc, const char *path, const char *want)
{
	json_t *r = jmap_pointer(doc, path);
	if (!want) {
		assert_null(r);
		return;
	}
	assert_non_null(r);
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	assert_non_null(w);
	if (!json_equal(r, w)) {
		char *got = json_dumps(r, JSON_ENCODE_ANY);
		fail_msg("pointer %s: got %s, want %s", path, got, want);
	}
	json_decref(r);
	json_decref(w);
}

static void test_pointer(void **state)
{
	(void)state;
	/* RFC 6901 5 */
	json_t *doc = json_loads("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
				 "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}",
				 0, NULL);
	assert_non_null(doc);
	expect_pointer(doc, "/foo", "[\"bar\",\"baz\"]");
	expect_pointer(doc, "/foo/0", "\"bar\"");
	expect_pointer(doc, "/", "0");
	expect_pointer(doc, "/a~1b", "1");
	expect_pointer(doc, "/c%d", "2");
	expect_pointer(doc, "/i\\j", "5");
	expect_pointer(doc, "/ ", "7");
	expect_pointer(doc, "/m~0n", "8");
	expect_pointer(doc, "/foo/2", NULL);
	expect_pointer(doc, "/foo/01", NULL);
	expect_pointer(doc, "/foo/-", NULL);
	expect_pointer(doc, "/m~2n", NULL);
	expect_pointer(doc, "/m~", NULL);
	expect_pointer(doc, "foo", NULL);
	expect_pointer(doc, "/nope", NULL);
	json_decref(doc);
	/* RFC 8620 3.7: '*' maps over an array and flattens arrays */
	doc = json_loads("{\"list\":[{\"id\":\"a\",\"t\":[\"x\",\"y\"]},{\"id\":\"b\",\"t\":[\"z\"]}]}",
			 0, NULL);
	expect_pointer(doc, "/list/*/id", "[\"a\",\"b\"]");
	expect_pointer(doc, "/list/*/t", "[\"x\",\"y\",\"z\"]");
	expect_pointer(doc, "/list/*/t/0", "[\"x\",\"z\"]");
	expect_pointer(doc, "/list/*/nope", NULL);
	expect_pointer(doc, "/list/*", "[{\"id\":\"a\",\"t\":[\"x\",\"y\"]},{\"id\":\"b\",\"t\":[\"z\"]}]");
	json_decref(doc);
	assert_null(jmap_pointer(NULL, "/x"));
}

static void test_echo(void **state)
{
	(void)state;
	json_t *resp = run_ok("{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":"
			      "[[\"Core/echo\",{\"hello\":true,\"high\":5},\"b3ff\"]]}");
	json_t *want = json_loads("[[\"Core/echo\",{\"hello\":true,\"high\":5},\"b3ff\"]]", 0, NULL);
	assert_true(json_equal(json_object_get(resp, "methodResponses"), want));
	assert_null(json_object_get(resp, "createdIds"));
	json_decref(want);
	json_decref(resp);
}

static void test_request_errors(void **state)
{
	(void)state;
	expect_request_error("", JMAP_ERR_NOT_JSON, NULL);
	expect_request_error("{\"using\":[]", JMAP_ERR_NOT_JSON, NULL);
	expect_request_error("{\"using\":[],\"using\":[],\"methodCalls\":[]}", JMAP_ERR_NOT_JSON,
			     NULL);
	expect_request_error("{\"using\":[\"\xff\"],\"methodCalls\":[]}", JMAP_ERR_NOT_JSON, NULL);
	expect_request_error("[]", JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{}", JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{\"using\":[1],\"methodCalls\":[]}", JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{\"using\":[],\"methodCalls\":{}}", JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{\"using\":[],\"methodCalls\":[[\"Core/echo\",{}]]}",
			     JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{\"using\":[],\"methodCalls\":[[\"Core/echo\",[],\"c\"]]}",
			     JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{\"using\":[],\"methodCalls\":[],\"createdIds\":{\"k\":1}}",
			     JMAP_ERR_NOT_REQUEST, NULL);
	expect_request_error("{\"using\":[\"urn:example:nope\"],\"methodCalls\":[]}",
			     JMAP_ERR_UNKNOWN_CAPABILITY, NULL);
}

/* A request with n Core/echo calls. */
static char *calls(size_t n)
{
	size_t cap = 64 + n * 32;
	char *s = malloc(cap);
	assert_non_null(s);
	int k = snprintf(s, cap, "{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":[");
	for (size_t i = 0; i < n; i++)
		k += snprintf(s + k, cap - (size_t)k, "%s[\"Core/echo\",{},\"c%zu\"]", i ? "," : "", i);
	snprintf(s + k, cap - (size_t)k, "]}");
	return s;
}

static void test_limits(void **state)
{
	(void)state;
	for (size_t n = LIMIT_JMAP_CALLS - 1; n <= LIMIT_JMAP_CALLS + 1; n++) {
		char *s = calls(n);
		if (n <= LIMIT_JMAP_CALLS) {
			json_t *resp = run_ok(s);
			assert_int_equal(json_array_size(json_object_get(resp, "methodResponses")), n);
			json_decref(resp);
		} else {
			expect_request_error(s, JMAP_ERR_LIMIT, "maxCallsInRequest");
		}
		free(s);
	}
	/* depth: the request object is level 1, methodCalls 2, the invocation 3, its
	 * arguments 4, a member of them 5 ... */
	for (unsigned d = LIMIT_JMAP_DEPTH - 5; d <= LIMIT_JMAP_DEPTH - 3; d++) {
		char *s = nested(d, "{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":"
				    "[[\"Core/echo\",{\"x\":", "},\"c\"]]}");
		if (d + 4 <= LIMIT_JMAP_DEPTH)
			json_decref(run_ok(s));
		else
			expect_request_error(s, JMAP_ERR_LIMIT, "maxDepth");
		free(s);
	}
	/* size: whitespace pads a valid request to the limit, then one more octet */
	const char *req = "{\"using\":[],\"methodCalls\":[]}";
	for (size_t total = LIMIT_JMAP_REQUEST_SIZE - 1; total <= LIMIT_JMAP_REQUEST_SIZE + 1;
	     total++) {
		char *s = malloc(total + 1);
		assert_non_null(s);
		memset(s, ' ', total);
		memcpy(s, req, strlen(req));
		s[total] = '\0';
		if (total <= LIMIT_JMAP_REQUEST_SIZE)
			json_decref(run_ok(s));
		else
			expect_request_error(s, JMAP_ERR_LIMIT, "maxSizeRequest");
		free(s);
	}
}

/* The response of call i: its name and arguments. */
static json_t *response(json_t *resp, size_t i, const char *name)
{
	json_t *r = json_array_get(json_object_get(resp, "methodResponses"), i);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_array_get(r, 0)), name);
	return json_array_get(r, 1);
}

static void expect_method_error(const char *body, size_t i, const char *type)
{
	json_t *resp = run_ok(body);
	json_t *err = response(resp, i, "error");
	assert_string_equal(json_string_value(json_object_get(err, "type")), type);
	json_decref(resp);
}

static void test_method_errors(void **state)
{
	(void)state;
	/* unknown method; the next call still runs (3.6.2) */
	json_t *resp = run_ok("{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":"
			      "[[\"Foo/bar\",{},\"a\"],[\"Core/echo\",{\"k\":1},\"b\"]]}");
	assert_string_equal(json_string_value(json_object_get(response(resp, 0, "error"), "type")),
			    "unknownMethod");
	assert_int_equal(json_integer_value(json_object_get(response(resp, 1, "Core/echo"), "k")), 1);
	json_decref(resp);
	/* a known method whose capability is not in `using` */
	expect_method_error("{\"using\":[\"urn:ietf:params:jmap:mail\"],\"methodCalls\":"
			    "[[\"Core/echo\",{},\"a\"]]}",
			    0, "unknownMethod");
}

static void test_result_references(void **state)
{
	(void)state;
	json_t *resp = run_ok(
		"{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":["
		"[\"Core/echo\",{\"list\":[{\"id\":\"a\",\"t\":[1,2]},{\"id\":\"b\",\"t\":[3]}]},\"c0\"],"
		"[\"Core/echo\",{\"#ids\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\",\"path\":\"/list/*/id\"},"
		"\"#ts\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\",\"path\":\"/list/*/t\"},\"keep\":1},\"c1\"]]}");
	json_t *args = response(resp, 1, "Core/echo");
	json_t *want = json_loads("{\"ids\":[\"a\",\"b\"],\"ts\":[1,2,3],\"keep\":1}", 0, NULL);
	assert_true(json_equal(args, want));
	json_decref(want);
	json_decref(resp);

	const char *pre = "{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":["
			  "[\"Core/echo\",{\"x\":[1]},\"c0\"],[\"Core/echo\",";
	char buf[512];
	const char *bad[] = {
		/* wrong name */
		"{\"#y\":{\"resultOf\":\"c0\",\"name\":\"Foo/get\",\"path\":\"/x\"}}",
		/* unknown call id, and a later call's id */
		"{\"#y\":{\"resultOf\":\"zz\",\"name\":\"Core/echo\",\"path\":\"/x\"}}",
		"{\"#y\":{\"resultOf\":\"c1\",\"name\":\"Core/echo\",\"path\":\"/x\"}}",
		/* a path naming nothing */
		"{\"#y\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\",\"path\":\"/x/5\"}}",
		/* not a ResultReference */
		"{\"#y\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\"}}",
		"{\"#y\":\"c0\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(buf, sizeof buf, "%s%s,\"c1\"]]}", pre, bad[i]);
		expect_method_error(buf, 1, "invalidResultReference");
	}
	/* plain and referenced at once */
	snprintf(buf, sizeof buf, "%s%s,\"c1\"]]}", pre,
		 "{\"y\":1,\"#y\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\",\"path\":\"/x\"}}");
	expect_method_error(buf, 1, "invalidArguments");
	/* the first response with that id counts, even an error */
	expect_method_error("{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":["
			    "[\"Nope/x\",{},\"c0\"],[\"Core/echo\",{\"x\":1},\"c0\"],"
			    "[\"Core/echo\",{\"#y\":{\"resultOf\":\"c0\",\"name\":\"Core/echo\","
			    "\"path\":\"/x\"}},\"c1\"]]}",
			    2, "invalidResultReference");
}

static void test_created_ids(void **state)
{
	(void)state;
	json_t *resp = run_ok("{\"using\":[],\"methodCalls\":[],\"createdIds\":{\"k1\":\"M1\"}}");
	json_t *want = json_loads("{\"k1\":\"M1\"}", 0, NULL);
	assert_true(json_equal(json_object_get(resp, "createdIds"), want));
	json_decref(want);
	json_decref(resp);
}

/* ---- the standard-method helpers ---- */

static json_t *args(const char *s)
{
	json_t *v = json_loads(s, 0, NULL);
	assert_non_null(v);
	return v;
}

static void std_ctx(struct jmap_ctx *x)
{
	ctx_init(x);
	x->account_str = "A7";
	x->created_ids = json_pack("{s:s}", "new1", "Mabc");
}

static void std_done(struct jmap_ctx *x)
{
	json_decref(x->created_ids);
	json_decref(x->err_extra);
}

static const char *const mbox_props[] = {"id", "name", "role", "totalEmails", NULL};

static void test_get_parse(void **state)
{
	(void)state;
	struct jmap_ctx x;
	struct jmap_get_args g;
	std_ctx(&x);
	json_t *a = args("{\"accountId\":\"A7\",\"ids\":[\"x1\",\"#new1\",\"#unknown\"],"
			 "\"properties\":[\"name\"]}");
	assert_int_equal(jmap_get_parse(&x, a, mbox_props, NULL, &g), 0);
	assert_int_equal(g.n_ids, 3);
	assert_string_equal(g.ids[0], "x1");
	assert_string_equal(g.ids[1], "Mabc");
	assert_string_equal(g.ids[2], "#unknown");
	assert_true(jmap_get_wants(&g, "id") && jmap_get_wants(&g, "name"));
	assert_false(jmap_get_wants(&g, "role"));
	json_decref(a);

	a = args("{\"accountId\":\"A7\",\"ids\":null}");
	assert_int_equal(jmap_get_parse(&x, a, mbox_props, NULL, &g), 0);
	assert_true(g.all_ids);
	assert_int_equal(g.n_props, 4);
	json_decref(a);

	const struct {
		const char *args, *type;
	} bad[] = {
		{"{\"accountId\":\"A8\"}", "accountNotFound"},
		{"{}", "invalidArguments"},
		{"{\"accountId\":\"A7\",\"ids\":\"x\"}", "invalidArguments"},
		{"{\"accountId\":\"A7\",\"ids\":[1]}", "invalidArguments"},
		{"{\"accountId\":\"A7\",\"properties\":[\"nope\"]}", "invalidArguments"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a = args(bad[i].args);
		x.err_type = NULL;
		assert_true(jmap_get_parse(&x, a, mbox_props, NULL, &g) < 0);
		assert_string_equal(x.err_type, bad[i].type);
		json_decref(a);
	}
	/* maxObjectsInGet: -1, 0, +1 */
	for (size_t n = LIMIT_JMAP_OBJECTS_GET - 1; n <= LIMIT_JMAP_OBJECTS_GET + 1; n++) {
		a = args("{\"accountId\":\"A7\"}");
		json_t *ids = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(ids, json_string("x"));
		json_object_set_new(a, "ids", ids);
		x.err_type = NULL;
		int rc = jmap_get_parse(&x, a, mbox_props, NULL, &g);
		if (n <= LIMIT_JMAP_OBJECTS_GET) {
			assert_int_equal(rc, 0);
		} else {
			assert_true(rc < 0);
			assert_string_equal(x.err_type, "requestTooLarge");
		}
		json_decref(a);
	}
	std_done(&x);
}

static void test_changes_parse(void **state)
{
	(void)state;
	struct jmap_ctx x;
	struct jmap_changes_args c;
	std_ctx(&x);
	json_t *a = args("{\"accountId\":\"A7\",\"sinceState\":\"17\",\"maxChanges\":5}");
	assert_int_equal(jmap_changes_parse(&x, a, &c), 0);
	assert_int_equal(c.since, 17);
	assert_int_equal(c.max_changes, 5);
	json_decref(a);
	a = args("{\"accountId\":\"A7\",\"sinceState\":\"18446744073709551615\"}");
	assert_int_equal(jmap_changes_parse(&x, a, &c), 0);
	assert_true(c.since == UINT64_MAX);
	json_decref(a);
	const struct {
		const char *args, *type;
	} bad[] = {
		{"{\"accountId\":\"A7\",\"sinceState\":\"x\"}", "cannotCalculateChanges"},
		{"{\"accountId\":\"A7\",\"sinceState\":\"017\"}", "cannotCalculateChanges"},
		{"{\"accountId\":\"A7\",\"sinceState\":\"99999999999999999999999\"}",
		 "cannotCalculateChanges"},
		{"{\"accountId\":\"A7\",\"sinceState\":\"18446744073709551616\"}",
		 "cannotCalculateChanges"},
		{"{\"accountId\":\"A7\"}", "invalidArguments"},
		{"{\"accountId\":\"A7\",\"sinceState\":\"1\",\"maxChanges\":0}", "invalidArguments"},
		{"{\"accountId\":\"A7\",\"sinceState\":\"1\",\"maxChanges\":-1}", "invalidArguments"},
		{"{\"accountId\":\"B7\",\"sinceState\":\"1\"}", "accountNotFound"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a = args(bad[i].args);
		assert_true(jmap_changes_parse(&x, a, &c) < 0);
		assert_string_equal(x.err_type, bad[i].type);
		json_decref(a);
	}
	json_t *r = jmap_changes_result(&x, 3, 9, true, NULL, json_pack("[s]", "e1"), NULL);
	json_t *want = args("{\"accountId\":\"A7\",\"oldState\":\"3\",\"newState\":\"9\","
			    "\"hasMoreChanges\":true,\"created\":[],\"updated\":[\"e1\"],"
			    "\"destroyed\":[]}");
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);
	std_done(&x);
}

static void test_set(void **state)
{
	(void)state;
	struct jmap_ctx x;
	struct jmap_set_args s;
	std_ctx(&x);
	json_t *a = args("{\"accountId\":\"A7\",\"ifInState\":\"5\",\"create\":{\"c1\":{}},"
			 "\"update\":{\"m1\":{\"name\":\"x\"}},\"destroy\":[\"#new1\",\"m2\"]}");
	assert_int_equal(jmap_set_parse(&x, a, "5", &s), 0);
	assert_int_equal(s.n_destroy, 2);
	assert_string_equal(s.destroy[0], "Mabc");
	x.err_type = NULL;
	assert_true(jmap_set_parse(&x, a, "6", &s) < 0);
	assert_string_equal(x.err_type, "stateMismatch");

	struct jmap_set_result r = {0};
	jmap_set_created(&x, &r, "c1", json_pack("{s:s}", "id", "Mnew"));
	jmap_set_updated(&r, "m1", NULL);
	jmap_set_not_destroyed(&r, "m2", jmap_set_error("notFound", NULL, NULL));
	assert_string_equal(jmap_resolve_id(&x, "#c1"), "Mnew");
	assert_null(jmap_resolve_id(&x, "#c2"));
	assert_null(jmap_resolve_id(&x, "bad id"));
	json_t *resp = jmap_set_response(&x, &r, "5", "6");
	json_t *want = args("{\"accountId\":\"A7\",\"oldState\":\"5\",\"newState\":\"6\","
			    "\"created\":{\"c1\":{\"id\":\"Mnew\"}},\"updated\":{\"m1\":null},"
			    "\"destroyed\":null,\"notCreated\":null,\"notUpdated\":null,"
			    "\"notDestroyed\":{\"m2\":{\"type\":\"notFound\"}}}");
	assert_true(json_equal(resp, want));
	json_decref(resp);
	json_decref(want);
	json_decref(a);

	/* maxObjectsInSet over create + update + destroy: 0 and +1 */
	for (size_t n = LIMIT_JMAP_OBJECTS_SET; n <= LIMIT_JMAP_OBJECTS_SET + 1; n++) {
		a = args("{\"accountId\":\"A7\",\"update\":{\"u\":{}},\"create\":{\"c\":{}}}");
		json_t *d = json_array();
		for (size_t i = 0; i < n - 2; i++)
			json_array_append_new(d, json_string("x"));
		json_object_set_new(a, "destroy", d);
		x.err_type = NULL;
		int rc = jmap_set_parse(&x, a, "1", &s);
		if (n <= LIMIT_JMAP_OBJECTS_SET)
			assert_int_equal(rc, 0);
		else
			assert_string_equal(x.err_type, "requestTooLarge");
		json_decref(a);
	}
	a = args("{\"accountId\":\"A7\",\"update\":{\"u\":1}}");
	assert_true(jmap_set_parse(&x, a, "1", &s) < 0);
	assert_string_equal(x.err_type, "invalidArguments");
	json_decref(a);
	std_done(&x);
}

static void test_query(void **state)
{
	(void)state;
	struct jmap_ctx x;
	struct jmap_query_args q;
	const char *ids[] = {"a", "b", "c", "d", "e"};
	size_t first, count;
	std_ctx(&x);
	const struct {
		const char *args;
		size_t first, count;
	} cases[] = {
		{"{\"accountId\":\"A7\"}", 0, 5},
		{"{\"accountId\":\"A7\",\"position\":2,\"limit\":2}", 2, 2},
		{"{\"accountId\":\"A7\",\"position\":-2}", 3, 2},
		{"{\"accountId\":\"A7\",\"position\":-9}", 0, 5},
		{"{\"accountId\":\"A7\",\"position\":9}", 9, 0},
		{"{\"accountId\":\"A7\",\"anchor\":\"c\",\"anchorOffset\":-1,\"limit\":2}", 1, 2},
		{"{\"accountId\":\"A7\",\"anchor\":\"b\",\"anchorOffset\":-5}", 0, 5},
		{"{\"accountId\":\"A7\",\"anchor\":\"e\",\"anchorOffset\":3}", 7, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *a = args(cases[i].args);
		assert_int_equal(jmap_query_parse(&x, a, &q), 0);
		assert_int_equal(jmap_query_window(&x, &q, ids, 5, &first, &count), 0);
		assert_int_equal(first, cases[i].first);
		assert_int_equal(count, cases[i].count);
		json_decref(a);
	}
	json_t *a = args("{\"accountId\":\"A7\",\"anchor\":\"zz\"}");
	assert_int_equal(jmap_query_parse(&x, a, &q), 0);
	assert_true(jmap_query_window(&x, &q, ids, 5, &first, &count) < 0);
	assert_string_equal(x.err_type, "anchorNotFound");
	json_decref(a);
	const char *bad[] = {
		"{\"accountId\":\"A7\",\"limit\":-1}",
		"{\"accountId\":\"A7\",\"position\":\"1\"}",
		"{\"accountId\":\"A7\",\"filter\":[]}",
		"{\"accountId\":\"A7\",\"sort\":[{\"isAscending\":true}]}",
		"{\"accountId\":\"A7\",\"sort\":[{\"property\":\"x\",\"isAscending\":1}]}",
		"{\"accountId\":\"A7\",\"calculateTotal\":1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a = args(bad[i]);
		assert_true(jmap_query_parse(&x, a, &q) < 0);
		assert_string_equal(x.err_type, "invalidArguments");
		json_decref(a);
	}
	/* the result: total when asked, the server's limit when it set one */
	a = args("{\"accountId\":\"A7\",\"calculateTotal\":true,\"position\":1,\"limit\":2}");
	assert_int_equal(jmap_query_parse(&x, a, &q), 0);
	json_t *r = jmap_query_result(&x, &q, "s1", true, ids, 5, 1, 2);
	json_t *want = args("{\"accountId\":\"A7\",\"queryState\":\"s1\",\"canCalculateChanges\":"
			    "true,\"position\":1,\"ids\":[\"b\",\"c\"],\"total\":5}");
	assert_true(json_equal(r, want));
	json_decref(r);
	json_decref(want);
	json_decref(a);
	a = args("{\"accountId\":\"A7\",\"limit\":100000}");
	assert_int_equal(jmap_query_parse(&x, a, &q), 0);
	assert_int_equal(q.limit, LIMIT_JMAP_QUERY_LIMIT);
	r = jmap_query_result(&x, &q, "s1", false, ids, 5, 0, 5);
	assert_int_equal(json_integer_value(json_object_get(r, "limit")), LIMIT_JMAP_QUERY_LIMIT);
	json_decref(r);
	json_decref(a);

	struct jmap_querychanges_args qc;
	a = args("{\"accountId\":\"A7\",\"sinceQueryState\":\"s1\",\"upToId\":\"#new1\"}");
	assert_int_equal(jmap_querychanges_parse(&x, a, &qc), 0);
	assert_string_equal(qc.up_to_id, "Mabc");
	json_decref(a);
	a = args("{\"accountId\":\"A7\"}");
	assert_true(jmap_querychanges_parse(&x, a, &qc) < 0);
	json_decref(a);
	std_done(&x);
}

static void test_id_ok(void **state)
{
	(void)state;
	char id[300];
	assert_true(jmap_id_ok("Aa0-_"));
	assert_false(jmap_id_ok(""));
	assert_false(jmap_id_ok("a b"));
	assert_false(jmap_id_ok("a/b"));
	memset(id, 'x', sizeof id);
	id[255] = '\0';
	assert_true(jmap_id_ok(id));
	id[255] = 'x';
	id[256] = '\0';
	assert_false(jmap_id_ok(id));
}

int main(void)
{
	arena_init(&arena, LIMIT_JMAP_ARENA);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_depth),   cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_echo),         cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_limits),       cmocka_unit_test(test_method_errors),
		cmocka_unit_test(test_result_references), cmocka_unit_test(test_created_ids),
		cmocka_unit_test(test_get_parse),    cmocka_unit_test(test_changes_parse),
		cmocka_unit_test(test_set),          cmocka_unit_test(test_query),
		cmocka_unit_test(test_id_ok),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	arena_free(&arena);
	return rc;
}
