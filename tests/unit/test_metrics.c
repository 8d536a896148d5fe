/* test_metrics.c: the metrics registry (src/core/metrics.c): counting from many threads
 * at once, histogram buckets at their bounds, the rendering checked line by line
 * against the Prometheus text format 0.0.4 grammar, the render bound at -1/0/+1, the
 * collector table's bound and the queue families `kasten queue stats` prints. The
 * registry is process-global: each test works with differences, not absolute values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/metrics.h"

static char render_storage[LIMIT_METRICS_RENDER];

static const char *render(void)
{
	struct buf b;
	buf_init(&b, render_storage, sizeof(render_storage) - 1);
	assert_int_equal(metrics_render(&b), 0);
	render_storage[b.len] = '\0';
	return render_storage;
}

/* The value of the sample line that starts with exactly `series ` ("name{labels}"). */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, series, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		if (!strchr(p, '\n'))
			break;
	}
	fail_msg("no sample %s", series);
	return -1;
}

static void counters_count(void **state)
{
	(void)state;
	uint64_t ok = metrics_value(METRIC_LOGINS_OK, METRIC_PROTO_IMAP);
	uint64_t failed = metrics_value(METRIC_LOGINS_FAILED, METRIC_PROTO_IMAP);
	metrics_count(METRIC_LOGINS_OK, METRIC_PROTO_IMAP, 1);
	metrics_count(METRIC_LOGINS_FAILED, METRIC_PROTO_IMAP, 2);
	assert_int_equal(metrics_value(METRIC_LOGINS_OK, METRIC_PROTO_IMAP), ok + 1);
	assert_int_equal(metrics_value(METRIC_LOGINS_FAILED, METRIC_PROTO_IMAP), failed + 2);
	const char *t = render();
	assert_true(sample(t, "kasten_logins_total{protocol=\"imap\",result=\"ok\"}") ==
		    (double)(ok + 1));
	assert_true(sample(t, "kasten_logins_total{protocol=\"imap\",result=\"failed\"}") ==
		    (double)(failed + 2));
	metrics_count(METRIC_SMTP_REJECTIONS, METRIC_REJECT_UNKNOWN_USER, 1);
	metrics_count(METRIC_DELIVERIES, METRIC_DELIVERY_QUEUED, 3);
	t = render();
	assert_true(sample(t, "kasten_smtp_rejections_total{reason=\"unknown_user\"}") >= 1);
	assert_true(sample(t, "kasten_deliveries_total{result=\"queued\"}") >= 3);
	/* a label out of range is not counted anywhere (a value read of it says 0) */
	assert_int_equal(metrics_value(METRIC_DELIVERIES, METRIC_DELIVERY_COUNT), 0);
	assert_int_equal(metrics_value(METRIC_COUNT, 0), 0);
}

static void open_connections(void **state)
{
	(void)state;
	const char *series = "kasten_connections_open{protocol=\"pop3\"}";
	double before = sample(render(), series);
	metrics_count(METRIC_CONNECTIONS, METRIC_PROTO_POP3, 3);
	assert_true(sample(render(), series) == before + 3);
	metrics_count(METRIC_CONNECTIONS_CLOSED, METRIC_PROTO_POP3, 2);
	assert_true(sample(render(), series) == before + 1);
	metrics_count(METRIC_CONNECTIONS_CLOSED, METRIC_PROTO_POP3, 1);
	assert_true(sample(render(), series) == before);
}

#define THREADS 4
#define PER_THREAD 200000

static void *count_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		metrics_count(METRIC_BYTES_SENT, METRIC_PROTO_LMTP, 3);
		metrics_observe(METRIC_HIST_COMMAND, METRIC_PROTO_LMTP, 0.002);
	}
	return NULL;
}

/* Relaxed atomics lose nothing: concurrent adds sum exactly. */
static void concurrent_counting(void **state)
{
	(void)state;
	uint64_t bytes = metrics_value(METRIC_BYTES_SENT, METRIC_PROTO_LMTP);
	uint64_t obs = metrics_hist_count(METRIC_HIST_COMMAND, METRIC_PROTO_LMTP);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, count_many, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(metrics_value(METRIC_BYTES_SENT, METRIC_PROTO_LMTP),
			 bytes + 3ull * THREADS * PER_THREAD);
	assert_int_equal(metrics_hist_count(METRIC_HIST_COMMAND, METRIC_PROTO_LMTP),
			 obs + (uint64_t)THREADS * PER_THREAD);
}

/* Buckets are "less than or equal" (Prometheus le): a bound itself falls in its bucket,
 * the next representable value above it in the next; the buckets are cumulative and
 * +Inf equals _count. */
static void histogram_buckets(void **state)
{
	(void)state;
	const char *b5 = "kasten_command_duration_seconds_bucket{protocol=\"pop3\",le=\"0.0005\"}";
	const char *b1 = "kasten_command_duration_seconds_bucket{protocol=\"pop3\",le=\"0.001\"}";
	const char *b10 = "kasten_command_duration_seconds_bucket{protocol=\"pop3\",le=\"10\"}";
	const char *inf = "kasten_command_duration_seconds_bucket{protocol=\"pop3\",le=\"+Inf\"}";
	const char *cnt = "kasten_command_duration_seconds_count{protocol=\"pop3\"}";
	const char *sum = "kasten_command_duration_seconds_sum{protocol=\"pop3\"}";
	const char *t = render();
	assert_true(sample(t, b5) == 0 && sample(t, inf) == 0 && sample(t, cnt) == 0);
	metrics_observe(METRIC_HIST_COMMAND, METRIC_PROTO_POP3, 0.0005);    /* at the bound */
	metrics_observe(METRIC_HIST_COMMAND, METRIC_PROTO_POP3, 0.00050001); /* just above */
	metrics_observe(METRIC_HIST_COMMAND, METRIC_PROTO_POP3, -1);         /* counts as 0 */
	metrics_observe(METRIC_HIST_COMMAND, METRIC_PROTO_POP3, 10);
	metrics_observe(METRIC_HIST_COMMAND, METRIC_PROTO_POP3, 10.5); /* only +Inf */
	t = render();
	assert_true(sample(t, b5) == 2);
	assert_true(sample(t, b1) == 3);
	assert_true(sample(t, b10) == 4);
	assert_true(sample(t, inf) == 5);
	assert_true(sample(t, cnt) == 5);
	double s = sample(t, sum);
	assert_true(s > 20.5009 && s < 20.5011);
	assert_int_equal(metrics_hist_count(METRIC_HIST_COMMAND, METRIC_PROTO_POP3), 5);
	/* a histogram without a label has no braces on _sum/_count, only le on buckets */
	metrics_observe(METRIC_HIST_JMAP_METHOD, 0, 0.02);
	t = render();
	assert_true(sample(t, "kasten_jmap_method_duration_seconds_bucket{le=\"0.025\"}") == 1);
	assert_true(sample(t, "kasten_jmap_method_duration_seconds_count") == 1);
	uint64_t start = metrics_now();
	metrics_observe_since(METRIC_HIST_JMAP_METHOD, 0, start);
	assert_int_equal(metrics_hist_count(METRIC_HIST_JMAP_METHOD, 0), 2);
}

/* ---- a strict reader of the text format 0.0.4 ---- */

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* Every line is "# HELP name text", "# TYPE name counter|gauge|histogram", or a sample
 * "name[{k="v",...}] value" of the family the last TYPE named (a histogram's samples
 * are name_bucket with an le label, name_sum and name_count); each family's HELP and
 * TYPE come once, before its samples; values are numbers; the text ends in "\n". */
static void check_exposition(const char *t)
{
	char family[512] = "", type[16] = "";
	char seen[64][512];
	size_t n_seen = 0;
	assert_true(*t && t[strlen(t) - 1] == '\n');
	for (const char *line = t; *line; line = strchr(line, '\n') + 1) {
		size_t len = (size_t)(strchr(line, '\n') - line);
		char l[512];
		assert_true(len > 0 && len < sizeof(l));
		memcpy(l, line, len);
		l[len] = '\0';
		if (!strncmp(l, "# HELP ", 7)) {
			char *sp = strchr(l + 7, ' ');
			assert_non_null(sp);
			*sp = '\0';
			for (size_t i = 0; i < n_seen; i++)
				assert_string_not_equal(seen[i], l + 7); /* one family, once */
			assert_true(n_seen < 64);
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", l + 7);
			snprintf(family, sizeof(family), "%s", l + 7);
			type[0] = '\0';
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			char *sp = strchr(l + 7, ' ');
			assert_non_null(sp);
			*sp = '\0';
			assert_string_equal(l + 7, family); /* right after its HELP */
			assert_true(!strcmp(sp + 1, "counter") || !strcmp(sp + 1, "gauge") ||
				    !strcmp(sp + 1, "histogram"));
			assert_string_equal(type, "");
			snprintf(type, sizeof(type), "%s", sp + 1);
			continue;
		}
		assert_true(l[0] != '#');
		assert_string_not_equal(type, ""); /* a sample needs its TYPE first */
		size_t i = 0;
		while (name_char(l[i], i == 0))
			i++;
		assert_true(i > 0);
		char name[512];
		snprintf(name, sizeof(name), "%.*s", (int)i, l);
		bool le = false;
		if (l[i] == '{') {
			i++;
			for (;;) {
				size_t k = i;
				while (name_char(l[i], i == k))
					i++;
				assert_true(i > k && l[i] == '=' && l[i + 1] == '"');
				if (i - k == 2 && !strncmp(l + k, "le", 2))
					le = true;
				i += 2;
				while (l[i] && l[i] != '"' && l[i] != '\\' && l[i] != '\n')
					i++;
				assert_int_equal(l[i], '"');
				i++;
				if (l[i] == ',') {
					i++;
					continue;
				}
				assert_int_equal(l[i], '}');
				i++;
				break;
			}
		}
		assert_int_equal(l[i], ' ');
		char *end;
		const char *v = l + i + 1;
		if (strcmp(v, "+Inf") && strcmp(v, "-Inf") && strcmp(v, "NaN")) {
			(void)strtod(v, &end);
			assert_true(end != v && *end == '\0');
		}
		if (!strcmp(type, "histogram")) {
			char want[600];
			snprintf(want, sizeof(want), "%s_bucket", family);
			if (!strcmp(name, want)) {
				assert_true(le);
				continue;
			}
			assert_false(le);
			snprintf(want, sizeof(want), "%s_sum", family);
			char want2[600];
			snprintf(want2, sizeof(want2), "%s_count", family);
			assert_true(!strcmp(name, want) || !strcmp(name, want2));
		} else {
			assert_string_equal(name, family);
		}
		if (!strchr(line, '\n'))
			break;
	}
}

static int collect_extra(struct buf *out, void *arg)
{
	return buf_printf(out, "# HELP kasten_test_extra %s\n# TYPE kasten_test_extra gauge\n"
			       "kasten_test_extra 7\n",
			  (const char *)arg);
}

static void exposition_format(void **state)
{
	(void)state;
	metrics_clear_collectors();
	assert_int_equal(metrics_add_collector(collect_extra, "A test family."), 0);
	const char *t = render();
	check_exposition(t);
	assert_non_null(strstr(t, "# TYPE kasten_up gauge\nkasten_up 1\n"));
	assert_true(sample(t, "kasten_process_start_time_seconds") > 1.7e9);
	assert_true(sample(t, "kasten_test_extra") == 7);
	for (int p = 0; p < METRIC_PROTO_COUNT; p++) {
		char s[128];
		snprintf(s, sizeof(s), "kasten_connections_total{protocol=\"%s\"}",
			 metrics_proto_name((enum metric_proto)p));
		(void)sample(t, s); /* every label value is present, also at 0 */
		assert_int_equal(metrics_proto_by_name(metrics_proto_name((enum metric_proto)p)), p);
	}
	assert_int_equal(metrics_proto_by_name("imaps"), -1);
	assert_int_equal(metrics_proto_by_name(NULL), -1);
	metrics_clear_collectors();
	assert_null(strstr(render(), "kasten_test_extra"));
}

/* The render fits LIMIT_METRICS_RENDER with room, and a buffer one byte short of the
 * text (buf_printf keeps room for vsnprintf's NUL: len + 1 is the least) fails whole. */
static void render_bound(void **state)
{
	(void)state;
	metrics_clear_collectors();
	const char *t = render();
	size_t len = strlen(t);
	assert_true(len < LIMIT_METRICS_RENDER / 2);
	char *copy = malloc(len + 2);
	assert_non_null(copy);
	struct buf b;
	buf_init(&b, copy, len + 2); /* +1 */
	assert_int_equal(metrics_render(&b), 0);
	assert_int_equal(b.len, len);
	buf_init(&b, copy, len + 1); /* exactly enough */
	assert_int_equal(metrics_render(&b), 0);
	buf_init(&b, copy, len); /* -1 */
	assert_int_equal(metrics_render(&b), ERR_FULL);
	free(copy);
	for (int i = 0; i < LIMIT_METRICS_COLLECTORS; i++)
		assert_int_equal(metrics_add_collector(collect_extra, "x"), 0);
	assert_int_equal(metrics_add_collector(collect_extra, "x"), ERR_FULL);
	metrics_clear_collectors();
}

/* `kasten queue stats` printed these bytes before /metrics existed; the shared
 * formatter keeps them. */
static void queue_families(void **state)
{
	(void)state;
	char s[1024];
	struct buf b;
	buf_init(&b, s, sizeof(s));
	struct metrics_queue q = {.messages = 2, .recipients = 5, .bytes = 4096, .oldest_age = 61};
	assert_int_equal(metrics_format_queue(&b, &q), 0);
	s[b.len] = '\0';
	assert_string_equal(s,
			    "# HELP kasten_queue_messages Messages in the outbound queue.\n"
			    "# TYPE kasten_queue_messages gauge\n"
			    "kasten_queue_messages 2\n"
			    "# HELP kasten_queue_recipients Recipients in the outbound queue not "
			    "yet final.\n"
			    "# TYPE kasten_queue_recipients gauge\n"
			    "kasten_queue_recipients 5\n"
			    "# HELP kasten_queue_bytes Bytes of the messages in the outbound queue.\n"
			    "# TYPE kasten_queue_bytes gauge\n"
			    "kasten_queue_bytes 4096\n"
			    "# HELP kasten_queue_oldest_seconds Age of the oldest queued message.\n"
			    "# TYPE kasten_queue_oldest_seconds gauge\n"
			    "kasten_queue_oldest_seconds 61\n");
	check_exposition(s);
	q.oldest_age = -5; /* a clock step back never shows a negative age */
	buf_clear(&b);
	assert_int_equal(metrics_format_queue(&b, &q), 0);
	s[b.len] = '\0';
	assert_non_null(strstr(s, "kasten_queue_oldest_seconds 0\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counters_count),      cmocka_unit_test(open_connections),
	    cmocka_unit_test(concurrent_counting), cmocka_unit_test(histogram_buckets),
	    cmocka_unit_test(exposition_format),   cmocka_unit_test(render_bound),
	    cmocka_unit_test(queue_families),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
