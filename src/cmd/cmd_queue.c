/* cmd_queue.c: `kasten queue list|show|retry|delete|hold|release|stats`: the outbound
 * queue under <data>/queue (outbound/queue.h) for the admin. Works while the server
 * runs: it takes no data-dir lock; each action is one SQLite transaction, and the
 * server's engine reads the rows again at its next pass. Text from remote servers
 * (last errors) is printed with control characters escaped, so a tab (the column
 * separator of `list`) or a line end in it cannot forge a column or a line. */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "outbound/queue.h"
#include "core/banned.h"

const char cmd_queue_usage[] =
    "usage: kasten queue COMMAND [--config FILE | --data DIR]\n"
    "  list                one line per queued message: id, sender, recipients still\n"
    "                      pending, size, age, next attempt, last error\n"
    "  show ID             the message's envelope and every recipient's state\n"
    "  retry ID | --all    try the message (or every message) now; a recipient being\n"
    "                      sent right now finishes its attempt first\n"
    "  delete ID           remove the message without a DSN; one being sent right now\n"
    "                      leaves the queue when that attempt ends\n"
    "  hold ID             keep the message from being sent until `release`\n"
    "  release ID\n"
    "  stats               the queue's size as Prometheus text lines\n"
    "Works while the server runs; changes take effect at the engine's next pass.\n";

static int usage(void)
{
	fputs(cmd_queue_usage, stderr);
	return 2;
}

/* The data dir must exist (a mistyped --data must not grow an empty queue). */
static int queue_cmd_open(struct queue **q)
{
	struct stat st;
	const char *data = conf_get()->data;
	errno = 0;
	if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kasten queue: data dir %s: %s\n", data,
		        errno ? strerror(errno) : "not a directory");
		return -1;
	}
	if (cmd_drop_privileges(false) < 0)
		return -1;
	int r = queue_open(data, false, q);
	if (r < 0) {
		fprintf(stderr, "kasten queue: cannot open %s/queue: %s\n", data, err_str(r));
		return -1;
	}
	return 0;
}

/* A duration in the largest whole unit: "45s", "12m", "3h", "2d". */
static void fmt_span(int64_t s, char out[32])
{
	if (s < 0)
		s = 0;
	int n = s < 60      ? snprintf(out, 32, "%llds", (long long)s)
	        : s < 3600  ? snprintf(out, 32, "%lldm", (long long)(s / 60))
	        : s < 86400 ? snprintf(out, 32, "%lldh", (long long)(s / 3600))
	                    : snprintf(out, 32, "%lldd", (long long)(s / 86400));
	if (n < 0)
		out[0] = '\0';
}

static void fmt_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(out, 32, "-"); /* "-" always fits */
}

/* s with control characters and DEL as \xHH (a remote reply is not ours to trust on a
 * terminal), at most LIMIT_QUEUE_ERROR bytes of it. */
static void print_text(FILE *f, const char *s)
{
	for (size_t i = 0; s && s[i] && i < LIMIT_QUEUE_ERROR; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

struct list_ctx {
	int64_t now;
	size_t n;
};

static int list_one(void *arg, const struct queue_entry *e)
{
	struct list_ctx *c = arg;
	char age[32], next[40];
	fmt_span(c->now - e->created, age);
	if (e->held)
		(void)snprintf(next, sizeof(next), "held"); /* fits */
	else if (e->leased)
		(void)snprintf(next, sizeof(next), "sending");
	else if (e->n_pending == 0)
		(void)snprintf(next, sizeof(next), "-");
	else if (e->next_at <= c->now)
		(void)snprintf(next, sizeof(next), "now");
	else {
		char in[32];
		fmt_span(e->next_at - c->now, in);
		(void)snprintf(next, sizeof(next), "in %s", in);
	}
	printf("%s\t<", e->qid);
	print_text(stdout, e->sender);
	printf(">\t");
	print_text(stdout, e->n_pending ? e->rcpts : "-");
	printf("\t%llu\t%s\t%s\t", (unsigned long long)e->size, age, next);
	print_text(stdout, e->last_error ? e->last_error : "-");
	putchar('\n');
	c->n++;
	return 0;
}

static int queue_cmd_list(struct queue *q)
{
	struct list_ctx c = {.now = (int64_t)time(NULL)};
	printf("ID\tSENDER\tRECIPIENTS\tSIZE\tAGE\tNEXT\tLAST-ERROR\n");
	int r = queue_list(q, c.now, list_one, &c);
	if (r < 0) {
		fprintf(stderr, "kasten queue: list: %s\n", err_str(r));
		return 1;
	}
	printf("%zu message(s)\n", c.n);
	return 0;
}

static const char *state_name(enum queue_rcpt_state s)
{
	static const char *const names[] = {"pending", "delivered", "failed", "relayed", "deleted"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void show_rcpt(const struct queue_show_rcpt *r, int64_t now)
{
	char next[32], last[32];
	fmt_time(r->next_at, next);
	fmt_time(r->last_attempt, last);
	printf("recipient: <");
	print_text(stdout, r->address);
	printf("> %s attempts=%u", state_name(r->state), r->attempts);
	if (r->state == QUEUE_RCPT_PENDING)
		printf(" %s=%s", r->lease_until > now ? "sending-until" : "next", next);
	printf(" last-attempt=%s", last);
	if (r->orcpt) {
		printf(" orcpt=");
		print_text(stdout, r->orcpt);
	}
	if (r->notify)
		printf(" notify=%s%s%s%s", r->notify & QUEUE_NOTIFY_NEVER ? "never," : "",
		       r->notify & QUEUE_NOTIFY_SUCCESS ? "success," : "",
		       r->notify & QUEUE_NOTIFY_FAILURE ? "failure," : "",
		       r->notify & QUEUE_NOTIFY_DELAY ? "delay," : "");
	if (r->delay_notified)
		printf(" delay-notified");
	if (r->last_error) {
		printf(" error=");
		print_text(stdout, r->last_error);
	}
	putchar('\n');
}

static int queue_cmd_show(struct queue *q, const char *qid)
{
	struct arena a;
	arena_init(&a, LIMIT_QUEUE_SHOW_ARENA);
	struct queue_show *sh = NULL;
	int r = queue_show(q, qid, &a, &sh);
	if (r < 0) {
		fprintf(stderr, "kasten queue: %s: %s\n", qid,
		        r == ERR_NOTFOUND ? "no such message in the queue" : err_str(r));
		arena_free(&a);
		return 1;
	}
	static const char *const rets[] = {"default", "hdrs", "full"};
	static const char *const bodies[] = {"7bit", "8bitmime", "binarymime"};
	const struct queue_item *m = &sh->msg;
	int64_t now = (int64_t)time(NULL);
	char queued[32], age[32];
	fmt_time(m->queued_at, queued);
	fmt_span(now - m->queued_at, age);
	printf("id: %s\nsender: <", m->qid);
	print_text(stdout, m->sender);
	printf(">\nsize: %llu\nqueued: %s (%s ago)\nheld: %s\nkind: %s\n",
	       (unsigned long long)m->size, queued, age, sh->held ? "yes" : "no",
	       m->kind == QUEUE_KIND_DSN ? "dsn" : "normal");
	printf("ret: %s\nbody: %s\nsmtputf8: %s\nrequiretls: %s\ndkim-signed: %s\n",
	       (unsigned)m->ret < 3 ? rets[m->ret] : "?",
	       (unsigned)m->body < 3 ? bodies[m->body] : "?", m->smtputf8 ? "yes" : "no",
	       m->requiretls ? "yes" : "no", m->dkim_header ? "yes" : "no");
	if (m->envid) {
		printf("envid: ");
		print_text(stdout, m->envid);
		putchar('\n');
	}
	if (m->account_id)
		printf("account: %lld\n", (long long)m->account_id);
	printf("file: %s\n", m->path);
	for (size_t i = 0; i < sh->n_rcpts; i++)
		show_rcpt(&sh->rcpts[i], now);
	arena_free(&a);
	return 0;
}

static int queue_cmd_stats(struct queue *q)
{
	struct queue_stats st;
	int r = queue_stats(q, &st);
	if (r < 0) {
		fprintf(stderr, "kasten queue: stats: %s\n", err_str(r));
		return 1;
	}
	/* the same formatter as the server's /metrics: one text for both */
	char text[1024];
	struct buf b;
	buf_init(&b, text, sizeof(text));
	struct metrics_queue mq = {.messages = st.messages, .recipients = st.rcpts,
				   .bytes = st.bytes,
				   .oldest_age = st.oldest < 0 ? 0 : (int64_t)time(NULL) - st.oldest};
	if (metrics_format_queue(&b, &mq) < 0) {
		fprintf(stderr, "kasten queue: stats: %s\n", err_str(ERR_FULL));
		return 1;
	}
	if (fwrite(text, 1, b.len, stdout) != b.len)
		return 1;
	return 0;
}

/* retry, delete, hold, release: one message by id (retry also --all). */
static int queue_cmd_act(struct queue *q, const char *verb, const char *qid)
{
	int64_t now = (int64_t)time(NULL);
	size_t n = 0;
	int r;
	if (!strcmp(verb, "retry"))
		r = queue_retry(q, strcmp(qid, "--all") ? qid : NULL, now, &n);
	else if (!strcmp(verb, "delete"))
		r = queue_delete(q, qid, now);
	else if (!strcmp(verb, "hold"))
		r = queue_hold(q, qid);
	else
		r = queue_release(q, qid);
	if (r < 0) {
		fprintf(stderr, "kasten queue: %s %s: %s\n", verb, qid,
		        r == ERR_NOTFOUND ? "no such message in the queue" : err_str(r));
		return 1;
	}
	if (!strcmp(verb, "retry"))
		printf("%s: %zu recipient(s) due now\n", strcmp(qid, "--all") ? qid : "all", n);
	else if (!strcmp(verb, "delete") && r == 1)
		printf("%s: being sent right now; marked deleted, it leaves the queue when "
		       "this attempt ends (no DSN)\n",
		       qid);
	else
		printf("%s: %s\n", qid,
		       !strcmp(verb, "delete") ? "deleted"
		       : !strcmp(verb, "hold") ? "held"
		                               : "released");
	return 0;
}

int cmd_queue(int argc, char **argv)
{
	if (cmd_load_config(&argc, argv) < 0)
		return 1;
	if (argc < 2)
		return usage();
	const char *verb = argv[1];
	bool one_arg = !strcmp(verb, "show") || !strcmp(verb, "retry") || !strcmp(verb, "delete") ||
	               !strcmp(verb, "hold") || !strcmp(verb, "release");
	bool no_arg = !strcmp(verb, "list") || !strcmp(verb, "stats");
	if (!(one_arg && argc == 3) && !(no_arg && argc == 2))
		return usage();
	if (one_arg && argv[2][0] == '-' &&
	    !(strcmp(verb, "retry") == 0 && strcmp(argv[2], "--all") == 0))
		return usage();
	struct queue *q = NULL;
	if (queue_cmd_open(&q) < 0)
		return 1;
	int rc;
	if (!strcmp(verb, "list"))
		rc = queue_cmd_list(q);
	else if (!strcmp(verb, "stats"))
		rc = queue_cmd_stats(q);
	else if (!strcmp(verb, "show"))
		rc = queue_cmd_show(q, argv[2]);
	else
		rc = queue_cmd_act(q, verb, argv[2]);
	queue_close(&q);
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}
