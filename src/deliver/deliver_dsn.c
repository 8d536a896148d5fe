/* deliver_dsn.c: delivery status notifications (RFC 3464) for mail we accepted and then
 * could not store, as a multipart/report (RFC 6522) into the sender's INBOX:
 *   1. text/plain: which recipients failed and why, for people;
 *   2. message/delivery-status: Reporting-MTA, Arrival-Date, then per recipient
 *      Final-Recipient, Action: failed, Status, Diagnostic-Code;
 *   3. text/rfc822-headers: the original header section.
 * Addresses with UTF-8 switch parts 2 and 3 to their RFC 6533 global forms.
 * Loops are cut twice: no notice for the null reverse path or for a message that is itself
 * a delivery report, and a notice the sender's full mailbox refuses is dropped (logged).
 * Owns: a 64 KiB header copy and a spool writer, both freed before returning.
 * Limits: DELIVER_HEADER_COPY bytes of original header, cut at a line end. */
#include "deliver/deliver_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "mime/mime.h"

void deliver_dsn_status(int err, const char **status, const char **diag, const char **human)
{
	switch (err) {
	case ERR_QUOTA:
		*status = "5.2.2";
		*diag = "552 5.2.2 Mailbox full";
		*human = "the mailbox is full (over quota)";
		return;
	case ERR_NOTFOUND:
		*status = "5.1.1";
		*diag = "550 5.1.1 Mailbox unavailable: no such user";
		*human = "there is no such user";
		return;
	case ERR_TOO_BIG:
		*status = "5.3.4";
		*diag = "552 5.3.4 Message too big for system";
		*human = "the message is too big";
		return;
	case ERR_PERM:
		*status = "5.7.1";
		*diag = "550 5.7.1 Delivery not authorized";
		*human = "delivery to this mailbox is not permitted";
		return;
	default:
		break;
	}
	if (err_is_temp(err)) {
		*status = "4.3.0";
		*diag = "451 4.3.0 Temporary local problem";
		*human = "a temporary problem in the mail system (the message was not retried)";
		return;
	}
	*status = "5.3.0";
	*diag = "554 5.3.0 Other mail system problem";
	*human = "an error in the mail system";
}

/* A printable address: no control characters, bounded; UTF-8 bytes allowed (SMTPUTF8). */
static bool addr_ok(const char *s, bool *utf8)
{
	size_t n = strlen(s);
	if (n == 0 || n > LIMIT_ADDRESS)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c == 0x7f || c == '<' || c == '>')
			return false;
		if (c >= 0x80)
			*utf8 = true;
	}
	return true;
}

static bool ci_find(const uint8_t *p, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (str_iprefix(p + i, n - i, needle))
			return true;
	return false;
}

static size_t line_end(const uint8_t *p, size_t n, size_t i)
{
	const uint8_t *nl = memchr(p + i, '\n', n - i);
	return nl ? (size_t)(nl - p) + 1 : n;
}

/* The original is a delivery report itself: its Content-Type says multipart/report with
 * report-type=delivery-status (loosely matched: a false positive only saves a notice). */
static bool is_report(const uint8_t *h, size_t n)
{
	struct mime_field f;
	if (mime_header_find(h, n, "content-type", &f) != 1)
		return false;
	return ci_find(f.value, f.value_len, "multipart/report") &&
	       ci_find(f.value, f.value_len, "delivery-status");
}

/* Read the header section of the original: up to the blank line, at most the cap, cut
 * at the last complete line. *arrival gets the file's mtime (when it was received). */
static int read_headers(const char *path, uint8_t *h, size_t *len_out, time_t *arrival)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("deliver: cannot open %s for a DSN: %s", path, strerror(errno));
		return ERR_IO;
	}
	struct stat st;
	*arrival = fstat(fd, &st) == 0 ? st.st_mtime : time(NULL);
	size_t got = 0;
	while (got < DELIVER_HEADER_COPY) {
		ssize_t k = read(fd, h + got, DELIVER_HEADER_COPY - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			(void)close(fd); /* read-only */
			return ERR_IO;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	(void)close(fd); /* read-only */
	size_t i = 0, keep = 0;
	while (i < got) {
		size_t end = line_end(h, got, i);
		bool complete = end > i && h[end - 1] == '\n';
		if (!complete && got == DELIVER_HEADER_COPY)
			break; /* a line cut by the cap: leave it out */
		if (h[i] == '\n' || (h[i] == '\r' && i + 1 < got && h[i + 1] == '\n'))
			break; /* the blank line ending the header section */
		keep = end;
		i = end;
	}
	*len_out = keep;
	return 0;
}

static bool has_8bit(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return true;
	return false;
}

/* The header copy with every line ending as CRLF. */
static void write_headers(struct deliver_spool_w *w, const uint8_t *h, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t end = line_end(h, n, i), body = end;
		if (body > i && h[body - 1] == '\n')
			body--;
		if (body > i && h[body - 1] == '\r')
			body--;
		(void)deliver_spool_write(w, h + i, body - i);
		(void)deliver_spool_write(w, "\r\n", 2);
		i = end;
	}
}

struct dsn {
	const char *sender;
	const struct deliver_rcpt *failed;
	size_t n_failed;
	const uint8_t *hdr;
	size_t hdr_len;
	time_t arrival;
	bool utf8; /* an address needs RFC 6533 */
};

static void write_top(struct deliver_spool_w *w, const struct dsn *d, const char *boundary)
{
	const char *host = deliver_hostname();
	char date[64], id[33];
	time_t now = time(NULL);
	str_rfc5322_date(date, now);
	if (str_random_hex(id, 16) < 0)
		w->err = ERR_IO;
	(void)deliver_spool_puts(w, "Return-Path: <>\r\n");
	(void)deliver_spool_printf(w, "Date: %s\r\n", date);
	/* RFC 3464 2: the envelope sender is <> (our Return-Path); the From: is the
	 * postmaster, an address that reaches a person if the sender writes back */
	(void)deliver_spool_printf(w, "From: Mail Delivery System <%s>\r\n", deliver_postmaster());
	(void)deliver_spool_printf(w, "To: <%s>\r\n", d->sender);
	(void)deliver_spool_puts(w, "Subject: Undelivered Mail Returned to Sender\r\n");
	(void)deliver_spool_printf(w, "Message-ID: <%lld.%s.dsn@%s>\r\n", (long long)now, id, host);
	(void)deliver_spool_puts(w, "Auto-Submitted: auto-replied\r\n"
				    "MIME-Version: 1.0\r\n");
	(void)deliver_spool_puts(w, "Content-Type: multipart/report;"
				    " report-type=delivery-status;\r\n");
	(void)deliver_spool_printf(w, "\tboundary=\"%s\"\r\n\r\n", boundary);
	(void)deliver_spool_puts(w, "This is a MIME-encapsulated message.\r\n\r\n");
}

static void write_text(struct deliver_spool_w *w, const struct dsn *d, const char *boundary)
{
	(void)deliver_spool_printf(w, "--%s\r\n", boundary);
	(void)deliver_spool_printf(w,
				   "Content-Description: Notification\r\n"
				   "Content-Type: text/plain; charset=%s\r\n%s\r\n",
				   d->utf8 ? "utf-8" : "us-ascii",
				   d->utf8 ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	(void)deliver_spool_printf(w, "This is the mail system at host %s.\r\n\r\n",
				   deliver_hostname());
	(void)deliver_spool_puts(w, "Your message could not be delivered to one or more\r\n"
				    "recipients. It is attached below (headers only).\r\n\r\n");
	for (size_t i = 0; i < d->n_failed; i++) {
		const char *status, *diag, *human;
		if (d->failed[i].result == 0)
			continue;
		deliver_dsn_status(d->failed[i].result, &status, &diag, &human);
		(void)deliver_spool_printf(w, "<%s>: %s\r\n    (%s)\r\n\r\n",
					   d->failed[i].address, human, diag);
	}
	(void)deliver_spool_puts(w, "Please do not reply to this message.\r\n\r\n");
}

static void write_status(struct deliver_spool_w *w, const struct dsn *d, const char *boundary)
{
	char arrival[64];
	str_rfc5322_date(arrival, d->arrival);
	(void)deliver_spool_printf(w, "--%s\r\n", boundary);
	(void)deliver_spool_printf(w,
				   "Content-Description: Delivery report\r\n"
				   "Content-Type: message/%sdelivery-status\r\n\r\n",
				   d->utf8 ? "global-" : "");
	(void)deliver_spool_printf(w, "Reporting-MTA: dns; %s\r\n", deliver_hostname());
	(void)deliver_spool_printf(w, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < d->n_failed; i++) {
		const char *status, *diag, *human;
		if (d->failed[i].result == 0)
			continue;
		deliver_dsn_status(d->failed[i].result, &status, &diag, &human);
		(void)deliver_spool_printf(w,
					   "\r\n"
					   "Final-Recipient: %s; %s\r\n"
					   "Action: failed\r\n"
					   "Status: %s\r\n"
					   "Diagnostic-Code: smtp; %s\r\n",
					   d->utf8 ? "utf-8" : "rfc822", d->failed[i].address,
					   status, diag);
	}
	(void)deliver_spool_puts(w, "\r\n");
}

static void write_orig(struct deliver_spool_w *w, const struct dsn *d, const char *boundary)
{
	bool eight = has_8bit(d->hdr, d->hdr_len);
	const char *type = d->utf8 || eight ? "message/global-headers" : "text/rfc822-headers";
	(void)deliver_spool_printf(w, "--%s\r\n", boundary);
	(void)deliver_spool_printf(w,
				   "Content-Description: Undelivered Message Headers\r\n"
				   "Content-Type: %s\r\n%s\r\n",
				   type, eight ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	write_headers(w, d->hdr, d->hdr_len);
	(void)deliver_spool_printf(w, "\r\n--%s--\r\n", boundary);
}

static int dsn_write(struct deliver_spool_w *w, const struct dsn *d, uint64_t *size_out)
{
	char boundary[48];
	char rnd[33];
	int r = str_random_hex(rnd, 16);
	if (r < 0)
		return r;
	int n = snprintf(boundary, sizeof(boundary), "=_kasten_dsn_%s", rnd);
	if (n < 0 || (size_t)n >= sizeof(boundary))
		return ERR_TOO_LONG;
	r = deliver_spool_open(w);
	if (r < 0)
		return r;
	write_top(w, d, boundary);
	write_text(w, d, boundary);
	write_status(w, d, boundary);
	write_orig(w, d, boundary);
	return deliver_spool_close(w, size_out); /* the writer's first error, if any */
}

static void dsn_queued_done(struct deliver_job *job, void *arg)
{
	(void)arg;
	if (job->rcpts[0].result == ERR_QUOTA)
		log_warn("deliver: DSN dropped, sender mailbox full account=%lld",
			 (long long)job->rcpts[0].account_id);
	else if (job->rcpts[0].result < 0)
		log_err("deliver: DSN not stored account=%lld: %s",
			(long long)job->rcpts[0].account_id, err_str(job->rcpts[0].result));
}

static int dsn_store(const char *path, uint64_t size, int64_t account, const char *sender)
{
	if (deliver_on_committer())
		return deliver_gen_submit(path, size, account, sender, dsn_queued_done);
	struct deliver_rcpt rcpt = {.account_id = account, .address = sender};
	struct deliver_job job = {.spool_path = path, .size = size, .rcpts = &rcpt, .n_rcpts = 1};
	int r = deliver_submit_wait(&job);
	/* a job that was never queued leaves its file to us */
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("deliver: cannot remove spool file %s: %s", path, strerror(errno));
	dsn_queued_done(&job, NULL);
	return r;
}

/* Checks that decide whether a notice is made at all: 1 = make it, 0 = not, <0 error. */
static int dsn_wanted(struct dsn *d)
{
	if (!d->sender || d->sender[0] == '\0' || strcmp(d->sender, "<>") == 0) {
		log_info("deliver: no DSN for the null reverse path");
		return 0;
	}
	if (!addr_ok(d->sender, &d->utf8))
		return ERR_INVAL;
	size_t failed = 0;
	for (size_t i = 0; i < d->n_failed; i++) {
		if (d->failed[i].result == 0)
			continue;
		if (!d->failed[i].address || !addr_ok(d->failed[i].address, &d->utf8))
			return ERR_INVAL;
		failed++;
	}
	return failed > 0;
}

int deliver_dsn(struct store_env *env, int64_t sender_account, const char *sender_address,
		const char *orig_path, const struct deliver_rcpt *failed, size_t n_failed)
{
	if (!env || sender_account <= 0 || !orig_path || (!failed && n_failed))
		return ERR_INVAL;
	char sender[LIMIT_ADDRESS + 1];
	const char *s = sender_address;
	size_t sl = s ? strlen(s) : 0;
	if (sl >= 2 && s[0] == '<' && s[sl - 1] == '>' && sl - 2 <= LIMIT_ADDRESS) {
		int n = snprintf(sender, sizeof(sender), "%.*s", (int)(sl - 2), s + 1);
		if (n < 0)
			return ERR_INVAL;
		s = sender;
	}
	struct dsn d = {.sender = s, .failed = failed, .n_failed = n_failed};
	int r = dsn_wanted(&d);
	if (r <= 0)
		return r;
	uint8_t *hdr = malloc(DELIVER_HEADER_COPY);
	struct deliver_spool_w *w = malloc(sizeof(*w));
	if (!hdr || !w) {
		free(hdr);
		free(w);
		return ERR_NOMEM;
	}
	r = read_headers(orig_path, hdr, &d.hdr_len, &d.arrival);
	d.hdr = hdr;
	if (r == 0 && is_report(hdr, d.hdr_len)) {
		log_info("deliver: no DSN about a delivery report");
		r = 1;
	} else if (r == 0 && deliver_quota_check(env, sender_account, 0) == ERR_QUOTA) {
		log_warn("deliver: DSN dropped, sender mailbox full account=%lld",
			 (long long)sender_account);
		r = ERR_QUOTA;
	}
	uint64_t size = 0;
	if (r == 0)
		r = dsn_write(w, &d, &size);
	if (r == 0)
		r = dsn_store(w->path, size, sender_account, d.sender);
	free(w);
	free(hdr);
	return r == 1 ? 0 : r;
}
