/* deliver_quota.c: the advisory quota check at RCPT time and the "mailbox nearly full"
 * warning after a committed batch.
 *
 * The warning is sent when an account's usage is at or above warn_percent of its byte
 * quota or of its message-count quota (a full count refuses mail just as a full size
 * does) and the account's persisted flag (store_quota_warned) is not yet set; setting the
 * flag and queueing the warning happen together on the committer thread, so it is sent
 * once. The flag is cleared (re-armed) when a later delivery to the account sees usage
 * below the threshold again, or when the warning itself could not be stored.
 * Owns: nothing past one call; every store handle is opened and closed here.
 * Limits: 16 KiB of arena per account looked at. */
#include "deliver/deliver_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

#define QUOTA_ARENA (16u << 10)

int deliver_quota_check(struct store_env *env, int64_t account_id, uint64_t size)
{
	if (!env || account_id <= 0)
		return ERR_INVAL;
	struct arena a;
	arena_init(&a, QUOTA_ARENA);
	struct store_account acct;
	int r = store_account_get_id(env, account_id, &a, &acct);
	uint64_t qb = r == 0 ? acct.quota_bytes : 0, qm = r == 0 ? acct.quota_messages : 0;
	arena_free(&a);
	if (r < 0 || (qb == 0 && qm == 0))
		return r;
	struct store *st = NULL;
	r = store_open(env, account_id, &st);
	if (r < 0)
		return r;
	uint64_t used = 0, msgs = 0;
	r = store_usage(st, &used, &msgs);
	store_close(&st);
	if (r < 0)
		return r;
	if (qb && (used >= qb || size > qb - used))
		return ERR_QUOTA;
	if (qm && msgs >= qm)
		return ERR_QUOTA;
	return 0;
}

/* floor(quota * pct / 100) without overflow */
static uint64_t threshold(uint64_t quota, unsigned pct)
{
	return quota / 100 * pct + quota % 100 * pct / 100;
}

/* An account's usage against its quotas (0 = none of that kind). */
struct quota_use {
	uint64_t bytes, quota_bytes;
	uint64_t msgs, quota_msgs;
};

static bool quota_high(const struct quota_use *u, unsigned pct)
{
	return (u->quota_bytes && u->bytes >= threshold(u->quota_bytes, pct)) ||
	       (u->quota_msgs && u->msgs >= threshold(u->quota_msgs, pct));
}

static unsigned percent(uint64_t used, uint64_t quota)
{
	return (unsigned)((double)used * 100.0 / (double)quota);
}

static int warning_write(struct deliver_spool_w *w, const char *address,
			 const struct quota_use *u, unsigned pct)
{
	const char *host = deliver_hostname();
	char date[64], id[33], used_s[32], quota_s[32];
	time_t now = time(NULL);
	str_rfc5322_date(date, now);
	int r = str_random_hex(id, 16);
	if (r < 0)
		return r;
	(void)deliver_spool_puts(w, "Return-Path: <>\r\n");
	(void)deliver_spool_printf(w, "From: Mail System <%s>\r\n", deliver_postmaster());
	(void)deliver_spool_printf(w, "To: <%s>\r\n", address);
	(void)deliver_spool_printf(w, "Subject: Your mailbox is %u%% full\r\n", pct);
	(void)deliver_spool_printf(w, "Date: %s\r\n", date);
	(void)deliver_spool_printf(w, "Message-ID: <%lld.%s.quota@%s>\r\n", (long long)now, id,
				   host);
	(void)deliver_spool_puts(w, "MIME-Version: 1.0\r\n"
				    "Content-Type: text/plain; charset=us-ascii\r\n"
				    "Content-Transfer-Encoding: 7bit\r\n"
				    "Auto-Submitted: auto-generated\r\n"
				    "\r\n");
	if (u->quota_bytes) {
		str_fmt_size(used_s, u->bytes);
		str_fmt_size(quota_s, u->quota_bytes);
		(void)deliver_spool_printf(
			w,
			"Your mailbox <%s> is %u%% full: %s of its %s limit are used\r\n"
			"(%llu of %llu bytes).\r\n",
			address, percent(u->bytes, u->quota_bytes), used_s, quota_s,
			(unsigned long long)u->bytes, (unsigned long long)u->quota_bytes);
	}
	if (u->quota_msgs)
		(void)deliver_spool_printf(
			w, "Your mailbox <%s> holds %llu of the %llu messages it may hold (%u%%).\r\n",
			address, (unsigned long long)u->msgs, (unsigned long long)u->quota_msgs,
			percent(u->msgs, u->quota_msgs));
	(void)deliver_spool_puts(w, "\r\n");
	/* every write above is checked at once: the writer keeps its first error */
	return deliver_spool_puts(
		w, "Once it is full, new mail to you is refused and returned to its senders.\r\n"
		   "To make room, delete messages you no longer need and empty your Trash\r\n"
		   "folder, or ask your mail administrator for a larger quota.\r\n"
		   "\r\n"
		   "You get this warning once; it is sent again only after your mailbox\r\n"
		   "has dropped below the limit and filled up again.\r\n");
}

/* The warning could not be stored: re-arm so a later delivery tries again. */
static void warning_done(struct deliver_job *job, void *arg)
{
	(void)arg;
	int res = job->rcpts[0].result;
	if (res == 0) {
		log_info("deliver: quota warning stored account=%lld",
			 (long long)job->rcpts[0].account_id);
		return;
	}
	log_warn("deliver: quota warning not stored account=%lld: %s",
		 (long long)job->rcpts[0].account_id, err_str(res));
	struct store *st = NULL;
	if (store_open(deliver_env(), job->rcpts[0].account_id, &st) == 0) {
		if (store_quota_warned(st, NULL, 0) < 0)
			log_warn("deliver: cannot re-arm the quota warning account=%lld",
				 (long long)job->rcpts[0].account_id);
		store_close(&st);
	}
}

static void warning_send(const struct store_account *acct, const struct quota_use *u)
{
	struct deliver_spool_w *w = malloc(sizeof(*w)); /* 12 KiB: not on the stack */
	int r = w ? deliver_spool_open(w) : ERR_NOMEM;
	uint64_t size = 0;
	if (r == 0) {
		(void)warning_write(w, acct->address, u, deliver_warn_percent());
		r = deliver_spool_close(w, &size); /* reports the writer's first error */
	}
	if (r == 0)
		r = deliver_gen_submit(w->path, size, acct->id, acct->address, warning_done);
	free(w);
	if (r < 0) {
		log_err("deliver: cannot make the quota warning account=%lld: %s",
			(long long)acct->id, err_str(r));
		struct deliver_rcpt rcpt = {.account_id = acct->id, .result = r};
		struct deliver_job job = {.rcpts = &rcpt, .n_rcpts = 1};
		warning_done(&job, NULL); /* re-arm */
	}
}

/* One account after mail was stored for it. */
static void quota_look(struct store_env *env, int64_t id, struct arena *a)
{
	struct store_account acct;
	if (store_account_get_id(env, id, a, &acct) < 0 ||
	    (acct.quota_bytes == 0 && acct.quota_messages == 0))
		return;
	struct store *st = NULL;
	if (store_open(env, id, &st) < 0)
		return;
	struct quota_use u = {.quota_bytes = acct.quota_bytes, .quota_msgs = acct.quota_messages};
	int prev = 0;
	bool send = false;
	int r = store_usage(st, &u.bytes, &u.msgs);
	if (r == 0 && quota_high(&u, deliver_warn_percent())) {
		r = store_quota_warned(st, &prev, 1);
		send = r == 0 && prev == 0;
	} else if (r == 0) {
		r = store_quota_warned(st, &prev, -1);
		if (r == 0 && prev)
			r = store_quota_warned(st, NULL, 0);
	}
	store_close(&st);
	if (r < 0)
		log_warn("deliver: quota warning state of account=%lld: %s", (long long)id,
			 err_str(r));
	if (send)
		warning_send(&acct, &u);
}

static int cmp_id(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

void deliver_quota_after_batch(const int64_t *account_ids, size_t n)
{
	struct store_env *env = deliver_env();
	int64_t *ids = malloc(n * sizeof(*ids));
	if (!ids) {
		log_err("deliver: out of memory checking quota warnings");
		return;
	}
	for (size_t i = 0; i < n; i++)
		ids[i] = account_ids[i];
	qsort(ids, n, sizeof(*ids), cmp_id);
	struct arena a;
	arena_init(&a, QUOTA_ARENA);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			continue;
		quota_look(env, ids[i], &a);
		arena_reset(&a);
	}
	arena_free(&a);
	free(ids);
}
