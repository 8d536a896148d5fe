/* deliver_dsn_write.c: the tree's one delivery status notification format (RFC 3464),
 * written into a spool file as a multipart/report; report-type=delivery-status (RFC 6522):
 *   1. text/plain: what happened to which recipient and why, for people, with the qid;
 *   2. message/delivery-status: the per-message fields (RFC 3464 2.2) and one group of
 *      per-recipient fields (2.3) per recipient;
 *   3. the original: its header section as text/rfc822-headers, or (RET=FULL, RFC 3461
 *      4.3) the whole message as message/rfc822.
 * UTF-8 addresses or an SMTPUTF8 original switch parts 2 and 3 to their RFC 6533 global
 * forms. Everything taken from elsewhere (a remote server's reply, ORCPT, ENVID, host
 * names, the original's Message-ID) is checked or cleaned before it becomes a header
 * field, so no input can add a field or a MIME part.
 * Owns: a LIMIT_BOUNCE_HEADERS header copy and a spool writer, freed before returning.
 * Limits: LIMIT_BOUNCE_HEADERS of original header (cut at a line end), LIMIT_BOUNCE_FULL
 * for a whole original, LIMIT_BOUNCE_DIAG per diagnostic, fields folded at
 * LIMIT_BOUNCE_LINE. */
#include "deliver/deliver_int.h"

#include <assert.h>
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

/* RFC 5322 2.1.1: a line of the returned original longer than this cannot be sent on
 * unchanged, so such an original is returned as headers only. */
#define DSN_MAX_LINE 998

struct dsn {
	const struct deliver_dsn_report *r;
	uint8_t *hdr; /* LIMIT_BOUNCE_HEADERS */
	size_t hdr_len;
	time_t arrival;
	uint64_t orig_size;
	char msgid[LIMIT_MSGID + 1]; /* the original's "<id>", or "" */
	bool global;                 /* RFC 6533 types for parts 2 and 3 */
	bool hdr_8bit;
	bool full; /* returning the whole original */
	bool full_8bit;
	const char *full_refused; /* why RET=FULL got headers only, or NULL */
	char boundary[48];
};

static const char *action_word(enum deliver_dsn_action a)
{
	static const char *const words[] = {"failed", "delayed", "delivered", "relayed"};
	return words[a];
}

/* ---- checking what goes into header fields ---- */

static bool has_8bit(const void *p, size_t n)
{
	const uint8_t *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] >= 0x80)
			return true;
	return false;
}

static bool utf8_valid(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = str_utf8_seq(s + i, n - i, NULL);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* A printable address: no spaces or control characters, bounded, valid UTF-8. */
static bool addr_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > LIMIT_ADDRESS || !utf8_valid(s))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c == 0x7f || c == '<' || c == '>')
			return false;
	}
	return true;
}

/* RFC 3464 2.3.1: address-type ";" generic-address, the type an atom. */
static bool orcpt_ok(const char *s)
{
	const char *semi = s ? strchr(s, ';') : NULL;
	if (!semi || semi == s || semi - s > 32 || !utf8_valid(s))
		return false;
	for (const char *p = s; p < semi; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	size_t n = strlen(semi + 1);
	if (n == 0 || n > LIMIT_ADDRESS)
		return false;
	for (const char *p = semi + 1; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return false;
	return true;
}

/* Printable ASCII without spaces, 1..max bytes: ENVID, host names. */
static bool token_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* RFC 3463 2: class "." subject "." detail, class 2, 4 or 5, 1-3 digits each. */
static bool status_ok(const char *s)
{
	if (!s || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	const char *p = s + 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (p[d] >= '0' && p[d] <= '9')
			d++;
		if (d == 0 || d > 3)
			return false;
		p += d;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

static const char *status_of(const struct deliver_dsn_report *r, const struct deliver_dsn_rcpt *c)
{
	if (status_ok(c->status))
		return c->status;
	static const char *const fallback[] = {"5.0.0", "4.0.0", "2.0.0", "2.0.0"};
	return fallback[r->action];
}

/* One line of text for a field or the human part: control characters become spaces,
 * runs of spaces one, 8-bit octets stay only in a global report when they are UTF-8
 * (else '?'), at most LIMIT_BOUNCE_DIAG bytes, never cutting a UTF-8 sequence. */
static void clean_line(const char *in, bool global, char out[LIMIT_BOUNCE_DIAG + 1])
{
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n && o < LIMIT_BOUNCE_DIAG;) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x80) {
			char ch = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			if (!(ch == ' ' && (o == 0 || out[o - 1] == ' ')))
				out[o++] = ch;
			i++;
			continue;
		}
		size_t k = str_utf8_seq(in + i, n - i, NULL);
		if (global && k > 0) {
			if (o + k > LIMIT_BOUNCE_DIAG)
				break;
			memcpy(out + o, in + i, k);
			o += k;
			i += k;
		} else {
			out[o++] = '?';
			i += k ? k : 1;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* ---- reading the original ---- */

static size_t line_end(const uint8_t *p, size_t n, size_t i)
{
	const uint8_t *nl = memchr(p + i, '\n', n - i);
	return nl ? (size_t)(nl - p) + 1 : n;
}

static bool ci_find(const uint8_t *p, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++)
		if (str_iprefix(p + i, n - i, needle))
			return true;
	return false;
}

/* The original is a delivery report itself: its Content-Type says multipart/report with
 * report-type=delivery-status (loosely matched: a false positive only saves a report). */
static bool is_report(const struct dsn *d)
{
	struct mime_field f;
	if (mime_header_find(d->hdr, d->hdr_len, "content-type", &f) != 1)
		return false;
	return ci_find(f.value, f.value_len, "multipart/report") &&
	       ci_find(f.value, f.value_len, "delivery-status");
}

/* The original's Message-ID as "<...>" when it is one printable token, else "". */
static void find_msgid(struct dsn *d)
{
	struct mime_field f;
	d->msgid[0] = '\0';
	if (mime_header_find(d->hdr, d->hdr_len, "message-id", &f) != 1)
		return;
	const uint8_t *lt = memchr(f.value, '<', f.value_len);
	if (!lt)
		return;
	size_t rest = f.value_len - (size_t)(lt - f.value);
	const uint8_t *gt = memchr(lt, '>', rest);
	if (!gt || (size_t)(gt - lt) + 1 > LIMIT_MSGID)
		return;
	for (const uint8_t *p = lt + 1; p < gt; p++)
		if (*p < 0x21 || *p > 0x7e || *p == '<')
			return;
	size_t n = (size_t)(gt - lt) + 1;
	if (n < 3)
		return;
	memcpy(d->msgid, lt, n);
	d->msgid[n] = '\0';
}

/* Read the header section of the original: up to the blank line, at most the cap, cut
 * at the last complete line; also its size and mtime (when it was received). */
static int read_headers(struct dsn *d)
{
	const char *path = d->r->orig_path;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_err("deliver: cannot open %s for a DSN: %s", path, strerror(errno));
		return ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		(void)close(fd); /* read-only */
		return ERR_IO;
	}
	d->arrival = st.st_mtime;
	d->orig_size = (uint64_t)st.st_size;
	size_t got = 0;
	while (got < LIMIT_BOUNCE_HEADERS) {
		ssize_t k = read(fd, d->hdr + got, LIMIT_BOUNCE_HEADERS - got);
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
		size_t end = line_end(d->hdr, got, i);
		bool complete = end > i && d->hdr[end - 1] == '\n';
		if (!complete && got == LIMIT_BOUNCE_HEADERS)
			break; /* a line cut by the cap: leave it out */
		if (d->hdr[i] == '\n' ||
		    (d->hdr[i] == '\r' && i + 1 < got && d->hdr[i + 1] == '\n'))
			break; /* the blank line ending the header section */
		keep = end;
		i = end;
	}
	d->hdr_len = keep;
	d->hdr_8bit = has_8bit(d->hdr, keep);
	return 0;
}

/* RET=FULL: may the whole original go into the report unchanged? Only when it is within
 * LIMIT_BOUNCE_FULL and is plain CRLF text with lines of at most 998 octets and no NUL
 * (what 8BITMIME can carry on). Sets d->full, d->full_8bit, or d->full_refused. */
static int check_full(struct dsn *d)
{
	if (d->orig_size > LIMIT_BOUNCE_FULL) {
		d->full_refused = "it is too big to return whole";
		return 0;
	}
	int fd = open(d->r->orig_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	uint8_t *b = malloc(LIMIT_BOUNCE_CHUNK);
	if (!b) {
		(void)close(fd); /* read-only */
		return ERR_NOMEM;
	}
	size_t line = 0;
	uint8_t prev = '\n';
	int r = 0;
	bool ok = true;
	for (;;) {
		ssize_t k = read(fd, b, LIMIT_BOUNCE_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? ERR_IO : 0;
			break;
		}
		for (ssize_t i = 0; i < k && ok; i++) {
			uint8_t c = b[i];
			if (c == 0 || (prev == '\r' && c != '\n') || (c == '\n' && prev != '\r'))
				ok = false; /* NUL, bare CR, bare LF */
			else if (c == '\n')
				line = 0;
			else if (c != '\r' && ++line > DSN_MAX_LINE)
				ok = false;
			if (c >= 0x80)
				d->full_8bit = true;
			prev = c;
		}
	}
	free(b);
	(void)close(fd); /* read-only */
	if (r == 0 && (!ok || prev == '\r'))
		d->full_refused = "it is not plain text that can be returned unchanged";
	d->full = r == 0 && !d->full_refused;
	return r;
}

/* ---- writing ---- */

/* name + text as one field, folded before a word that would pass LIMIT_BOUNCE_LINE. */
static void put_folded(struct deliver_spool_w *w, const char *name, const char *text)
{
	size_t col = strlen(name);
	(void)deliver_spool_puts(w, name);
	bool first = true;
	for (const char *p = text; *p;) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		if (len == 0)
			break;
		if (!first && col + 1 + len > LIMIT_BOUNCE_LINE) {
			(void)deliver_spool_puts(w, "\r\n ");
			col = 1;
		} else if (!first) {
			(void)deliver_spool_puts(w, " ");
			col++;
		}
		(void)deliver_spool_write(w, p, len);
		col += len;
		first = false;
		p += len;
	}
	(void)deliver_spool_puts(w, "\r\n");
}

static const char *subject_of(enum deliver_dsn_action a)
{
	static const char *const subjects[] = {
	    "Undelivered Mail Returned to Sender", "Delayed Mail (still being retried)",
	    "Successful Mail Delivery Report", "Relayed Mail Delivery Report"};
	return subjects[a];
}

static void write_top(struct deliver_spool_w *w, const struct dsn *d)
{
	const char *host = deliver_hostname();
	char date[64], id[33];
	time_t now = time(NULL);
	str_rfc5322_date(date, now);
	if (str_random_hex(id, 16) < 0)
		w->err = ERR_IO;
	if (d->r->return_path)
		(void)deliver_spool_puts(w, "Return-Path: <>\r\n");
	(void)deliver_spool_printf(w, "Date: %s\r\n", date);
	/* RFC 3464 2: the envelope sender is <>; the From: is the postmaster, an address
	 * that reaches a person if the sender writes back */
	(void)deliver_spool_printf(w, "From: MAILER-DAEMON <%s>\r\n", deliver_postmaster());
	(void)deliver_spool_printf(w, "To: <%s>\r\n", d->r->sender);
	(void)deliver_spool_printf(w, "Subject: %s\r\n", subject_of(d->r->action));
	(void)deliver_spool_printf(w, "Message-ID: <%lld.%s.dsn@%s>\r\n", (long long)now, id, host);
	if (d->msgid[0]) /* RFC 5322 3.6.4: a report answers the original */
		(void)deliver_spool_printf(w, "In-Reply-To: %s\r\nReferences: %s\r\n", d->msgid,
		                           d->msgid);
	(void)deliver_spool_puts(w, "Auto-Submitted: auto-replied\r\n"
	                            "MIME-Version: 1.0\r\n");
	(void)deliver_spool_puts(w, "Content-Type: multipart/report;"
	                            " report-type=delivery-status;\r\n");
	(void)deliver_spool_printf(w, "\tboundary=\"%s\"\r\n\r\n", d->boundary);
	(void)deliver_spool_puts(w, "This is a MIME-encapsulated message.\r\n\r\n");
}

static void write_intro(struct deliver_spool_w *w, const struct dsn *d)
{
	const char *what = d->full ? "the whole message" : "headers only";
	switch (d->r->action) {
	case DELIVER_DSN_FAILED:
		(void)deliver_spool_printf(w,
		                           "Your message could not be delivered to one or more\r\n"
		                           "recipients. It is attached below (%s).\r\n\r\n",
		                           what);
		break;
	case DELIVER_DSN_DELAYED: {
		(void)deliver_spool_puts(w, "Your message could not be delivered yet to one or "
		                            "more\r\nrecipients. The mail system keeps trying");
		char until[64];
		if (d->r->retry_until > 0) {
			str_rfc5322_date(until, (time_t)d->r->retry_until);
			(void)deliver_spool_printf(w, " until\r\n%s", until);
		}
		(void)deliver_spool_puts(w, "; you need not send it again.\r\n\r\n");
		break;
	}
	case DELIVER_DSN_DELIVERED:
		(void)deliver_spool_puts(w, "Your message was delivered to the following "
		                            "recipients.\r\n\r\n");
		break;
	case DELIVER_DSN_RELAYED:
		(void)deliver_spool_puts(w, "Your message was passed on to the mail servers of "
		                            "the following\r\nrecipients. Those servers send no "
		                            "delivery reports,\r\nso you may hear no more about "
		                            "it.\r\n\r\n");
		break;
	}
	if (d->full_refused)
		(void)deliver_spool_printf(w,
		                           "You asked for the whole message back, but %s;\r\n"
		                           "only its headers are attached.\r\n\r\n",
		                           d->full_refused);
	if (d->r->qid && token_ok(d->r->qid, 64))
		(void)deliver_spool_printf(w, "Queue id of your message: %s\r\n\r\n", d->r->qid);
}

static void write_text(struct deliver_spool_w *w, const struct dsn *d)
{
	(void)deliver_spool_printf(w, "--%s\r\n", d->boundary);
	(void)deliver_spool_printf(w,
	                           "Content-Description: Notification\r\n"
	                           "Content-Type: text/plain; charset=%s\r\n%s\r\n",
	                           d->global ? "utf-8" : "us-ascii",
	                           d->global ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	(void)deliver_spool_printf(w, "This is the mail system at host %s.\r\n\r\n",
	                           deliver_hostname());
	write_intro(w, d);
	char line[LIMIT_BOUNCE_DIAG + 1];
	for (size_t i = 0; i < d->r->n_rcpts; i++) {
		const struct deliver_dsn_rcpt *c = &d->r->rcpts[i];
		(void)deliver_spool_printf(w, "<%s>: ", c->address);
		if (c->human) {
			clean_line(c->human, d->global, line);
			(void)deliver_spool_puts(w, line);
		} else if (c->remote_mta && token_ok(c->remote_mta, LIMIT_DNS_NAME + 2)) {
			(void)deliver_spool_printf(w, "host %s said", c->remote_mta);
		} else {
			(void)deliver_spool_puts(w, action_word(d->r->action));
		}
		if (c->diagnostic) {
			clean_line(c->diagnostic, d->global, line);
			(void)deliver_spool_printf(w, "\r\n    (%s)", line);
		}
		(void)deliver_spool_puts(w, "\r\n\r\n");
	}
	(void)deliver_spool_puts(w, "Please do not reply to this message.\r\n\r\n");
}

/* RFC 3464 2.3.6: "smtp" when the text is an SMTP reply (three digits), else ours. */
static const char *diag_type(const char *s)
{
	if (s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
	    s[2] <= '9' && (s[3] == ' ' || s[3] == '-' || s[3] == '\0'))
		return "smtp";
	return "x-kasten";
}

static void write_rcpt(struct deliver_spool_w *w, const struct dsn *d,
                       const struct deliver_dsn_rcpt *c)
{
	char date[64], line[LIMIT_BOUNCE_DIAG + 1], name[64];
	(void)deliver_spool_puts(w, "\r\n");
	if (c->orcpt && orcpt_ok(c->orcpt) && (d->global || !has_8bit(c->orcpt, strlen(c->orcpt))))
		(void)deliver_spool_printf(w, "Original-Recipient: %s\r\n", c->orcpt);
	(void)deliver_spool_printf(w, "Final-Recipient: %s; %s\r\n",
	                           has_8bit(c->address, strlen(c->address)) ? "utf-8" : "rfc822",
	                           c->address);
	(void)deliver_spool_printf(w, "Action: %s\r\nStatus: %s\r\n", action_word(d->r->action),
	                           status_of(d->r, c));
	if (c->remote_mta && token_ok(c->remote_mta, LIMIT_DNS_NAME + 2))
		(void)deliver_spool_printf(w, "Remote-MTA: dns; %s\r\n", c->remote_mta);
	if (c->diagnostic) {
		clean_line(c->diagnostic, d->global, line);
		if (line[0]) {
			int n =
			    snprintf(name, sizeof(name), "Diagnostic-Code: %s; ", diag_type(line));
			if (n > 0 && (size_t)n < sizeof(name))
				put_folded(w, name, line);
		}
	}
	if (c->last_attempt > 0) {
		str_rfc5322_date(date, (time_t)c->last_attempt);
		(void)deliver_spool_printf(w, "Last-Attempt-Date: %s\r\n", date);
	}
	if (d->r->action == DELIVER_DSN_DELAYED && d->r->retry_until > 0) {
		str_rfc5322_date(date, (time_t)d->r->retry_until);
		(void)deliver_spool_printf(w, "Will-Retry-Until: %s\r\n", date);
	}
}

static void write_status(struct deliver_spool_w *w, const struct dsn *d)
{
	char arrival[64];
	str_rfc5322_date(arrival, d->r->arrival > 0 ? (time_t)d->r->arrival : d->arrival);
	(void)deliver_spool_printf(w, "--%s\r\n", d->boundary);
	(void)deliver_spool_printf(w,
	                           "Content-Description: Delivery report\r\n"
	                           "Content-Type: message/%sdelivery-status\r\n%s\r\n",
	                           d->global ? "global-" : "",
	                           d->global ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	if (d->r->envid && token_ok(d->r->envid, LIMIT_BOUNCE_ENVID))
		(void)deliver_spool_printf(w, "Original-Envelope-Id: %s\r\n", d->r->envid);
	(void)deliver_spool_printf(w, "Reporting-MTA: dns; %s\r\n", deliver_hostname());
	(void)deliver_spool_printf(w, "Arrival-Date: %s\r\n", arrival);
	for (size_t i = 0; i < d->r->n_rcpts; i++)
		write_rcpt(w, d, &d->r->rcpts[i]);
	(void)deliver_spool_puts(w, "\r\n");
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
		(void)deliver_spool_puts(w, "\r\n");
		i = end;
	}
}

/* The whole original, as check_full found it: CRLF lines, ending in CRLF or not. */
static int write_full(struct deliver_spool_w *w, const struct dsn *d)
{
	int fd = open(d->r->orig_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	uint8_t *b = malloc(LIMIT_BOUNCE_CHUNK);
	int r = b ? 0 : ERR_NOMEM;
	uint8_t last = '\n';
	uint64_t copied = 0;
	while (r == 0) {
		ssize_t k = read(fd, b, LIMIT_BOUNCE_CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? ERR_IO : 0;
			break;
		}
		copied += (uint64_t)k;
		if (copied > LIMIT_BOUNCE_FULL) { /* grew since check_full: it never should */
			r = ERR_TOO_BIG;
			break;
		}
		last = b[k - 1];
		r = deliver_spool_write(w, b, (size_t)k);
	}
	free(b);
	(void)close(fd); /* read-only */
	if (r == 0 && last != '\n')
		r = deliver_spool_puts(w, "\r\n");
	return r;
}

static int write_orig(struct deliver_spool_w *w, const struct dsn *d)
{
	bool eight = d->full ? d->full_8bit || d->hdr_8bit : d->hdr_8bit;
	bool global = d->global || d->hdr_8bit;
	const char *type = d->full ? (global ? "message/global" : "message/rfc822")
	                           : (global ? "message/global-headers" : "text/rfc822-headers");
	(void)deliver_spool_printf(w, "--%s\r\n", d->boundary);
	(void)deliver_spool_printf(w,
	                           "Content-Description: %s\r\n"
	                           "Content-Type: %s\r\n%s\r\n",
	                           d->full ? "Undelivered Message" : "Undelivered Message Headers",
	                           type, eight ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	int r = 0;
	if (d->full)
		r = write_full(w, d);
	else
		write_headers(w, d->hdr, d->hdr_len);
	(void)deliver_spool_printf(w, "\r\n--%s--\r\n", d->boundary);
	return r;
}

/* The checks that decide whether the report can be made; sets d->global. */
static int check_report(struct dsn *d)
{
	const struct deliver_dsn_report *r = d->r;
	if (!r->orig_path || !r->rcpts || r->n_rcpts == 0 || !addr_ok(r->sender) ||
	    (unsigned)r->action > DELIVER_DSN_RELAYED)
		return ERR_INVAL;
	d->global = r->smtputf8 || has_8bit(r->sender, strlen(r->sender));
	for (size_t i = 0; i < r->n_rcpts; i++) {
		const struct deliver_dsn_rcpt *c = &r->rcpts[i];
		if (!addr_ok(c->address))
			return ERR_INVAL;
		if (has_8bit(c->address, strlen(c->address)) ||
		    (c->orcpt && has_8bit(c->orcpt, strlen(c->orcpt))))
			d->global = true;
	}
	return 0;
}

int deliver_dsn_write(const struct deliver_dsn_report *rep, struct deliver_dsn_file *out)
{
	if (!rep || !out)
		return ERR_INVAL;
	struct dsn d = {.r = rep};
	int r = check_report(&d);
	if (r < 0)
		return r;
	char rnd[33];
	r = str_random_hex(rnd, 16);
	if (r < 0)
		return r;
	int n = snprintf(d.boundary, sizeof(d.boundary), "=_kasten_dsn_%s", rnd);
	if (n < 0 || (size_t)n >= sizeof(d.boundary))
		return ERR_TOO_LONG;
	d.hdr = malloc(LIMIT_BOUNCE_HEADERS);
	struct deliver_spool_w *w = malloc(sizeof(*w)); /* 12 KiB: not on the stack */
	if (!d.hdr || !w) {
		free(d.hdr);
		free(w);
		return ERR_NOMEM;
	}
	r = read_headers(&d);
	if (r == 0 && is_report(&d)) {
		log_info("deliver: no DSN about a delivery report");
		r = 1;
	}
	if (r == 0 && rep->full)
		r = check_full(&d);
	if (r == 0) {
		find_msgid(&d);
		r = deliver_spool_open(w);
	}
	if (r == 0) {
		write_top(w, &d);
		write_text(w, &d);
		write_status(w, &d);
		int wr = write_orig(w, &d);
		if (wr < 0) {
			deliver_spool_discard(w);
			r = wr;
		} else {
			r = deliver_spool_close(w, &out->size); /* the writer's first error */
		}
	}
	if (r == 0) {
		n = snprintf(out->path, sizeof(out->path), "%s", w->path);
		assert(n > 0 && (size_t)n < sizeof(out->path)); /* same size as w->path */
		out->utf8 = d.global;
		const char *at = strrchr(deliver_postmaster(), '@');
		n = snprintf(out->from_domain, sizeof(out->from_domain), "%s", at ? at + 1 : "");
		if (n < 0 || (size_t)n >= sizeof(out->from_domain))
			out->from_domain[0] = '\0'; /* not a domain we could sign for */
		out->eightbit = d.global || d.hdr_8bit || (d.full && d.full_8bit);
	}
	free(w);
	free(d.hdr);
	return r == 1 ? 0 : r == 0 ? 1 : r;
}
