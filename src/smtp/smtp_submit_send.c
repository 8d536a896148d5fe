/* smtp_submit_send.c: one message sent as authenticated submission without an SMTP
 * session (smtp_submit_message, smtp_submit.h), for JMAP EmailSubmission. The same
 * checks as the session (smtp_submit.c), the same pipeline: a spool file with our trace
 * fields, DKIM for mail leaving for other hosts, one deliver/ job carrying the local
 * copies and the queue's share, a failure notice for a full local mailbox.
 * The copy sent goes through the session's header filter (smtp_hdr.h) with drop_bcc.
 * Memory: the message's header section (at most LIMIT_SUBMIT_HEADER) is held while the
 * From: check and the DKIM domain read it; the message streams through the filter in
 * LIMIT_SMTP_SIGN_CHUNK pieces. */
#include "smtp_submit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/fdio.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/str.h"
#include "mime/mime.h"
#include "smtp_int.h"
#include "core/banned.h"

/* The message being sent: its file (the caller's) and header section. */
struct submit_src {
	int fd;
	uint64_t size;
	uint8_t *hdr; /* [0, hdr_len): the header section with its empty line */
	size_t hdr_len;
	bool eightbit;    /* an octet >= 0x80 anywhere: sent as 8BITMIME */
	bool utf8_header; /* ... in the header section: needs SMTPUTF8 (RFC 6532) */
};

static int read_full(int fd, uint8_t *p, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, p + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ERR_IO;
		got += (size_t)k;
	}
	return 0;
}

/* Open the message and read its header section: ERR_TOO_BIG when it is past the
 * message size limit or its header section past LIMIT_SUBMIT_HEADER. */
static int src_open(struct submit_src *s, int fd)
{
	struct stat sb;
	memset(s, 0, sizeof *s);
	s->fd = fd;
	if (fstat(s->fd, &sb) < 0)
		return ERR_IO;
	s->size = (uint64_t)sb.st_size;
	if (s->size > conf_get()->max_message_size)
		return ERR_TOO_BIG;
	size_t n = s->size < LIMIT_SUBMIT_HEADER ? (size_t)s->size : LIMIT_SUBMIT_HEADER;
	s->hdr = malloc(n + 1);
	if (!s->hdr)
		return ERR_NOMEM;
	int r = read_full(s->fd, s->hdr, n, 0);
	if (r < 0)
		return r;
	/* the header section ends at the first empty line (RFC 5322 2.1); a message that is
	 * all header has none */
	s->hdr_len = n;
	if (n >= 2 && s->hdr[0] == '\r' && s->hdr[1] == '\n') {
		s->hdr_len = 2;
	} else {
		const uint8_t *e = memmem(s->hdr, n, "\r\n\r\n", 4);
		if (e)
			s->hdr_len = (size_t)(e - s->hdr) + 4;
		else if (s->size > n)
			return ERR_TOO_BIG;
	}
	for (size_t i = 0; i < s->hdr_len; i++)
		if (s->hdr[i] >= 0x80)
			s->utf8_header = s->eightbit = true;
	return 0;
}

static void src_close(struct submit_src *s)
{
	free(s->hdr);
}

/* [submission] check_from over the message's From: field(s), as the session checks
 * them (exactly one From: field, RFC 5322 3.6). */
static int check_from(struct smtp_submit *m, const struct submit_src *s, struct arena *a)
{
	if (!conf_get()->submission_check_from)
		return 0;
	struct mime_part *root = NULL;
	int r = mime_parse(s->hdr, s->hdr_len, a, &root);
	if (r < 0)
		return r;
	const struct mime_addr *list = root->envelope ? root->envelope->from : NULL;
	unsigned fields = 0;
	for (size_t i = 0; i + 5 <= s->hdr_len; i++)
		if ((i == 0 || s->hdr[i - 1] == '\n') &&
		    strncasecmp((const char *)s->hdr + i, "From:", 5) == 0)
			fields++;
	r = fields == 1 ? smtp_submit_from_check(m->account_id, list, a, &m->bad_from) : ERR_PERM;
	if (r == ERR_PERM || r == ERR_NOTFOUND) {
		m->refusal = SMTP_SUBMIT_FROM;
		return 0;
	}
	return r;
}

/* Route every recipient; duplicates (case-sensitive, as RCPT) are sent once. */
static int route_rcpts(struct smtp_submit *m, int64_t *ids, bool *postmaster)
{
	bool bad = false;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		struct smtp_submit_rcpt *rc = &m->rcpts[i];
		const char *at = strrchr(rc->address, '@');
		bool pm = at && (size_t)(at - rc->address) == 10 &&
		          strncasecmp(rc->address, "postmaster", 10) == 0;
		rc->result = 0;
		rc->remote = false;
		int r = smtp_submit_route(rc->address, pm, &ids[i], &postmaster[i]);
		if (r == SMTP_ROUTE_REMOTE) {
			rc->remote = true;
			/* the queue routes by domain name (MX, RFC 5321 5.1); without a queue
			 * kasten delivers locally only, never relays */
			if (!deliver_outbound_enabled() || !at || at[1] == '[')
				rc->result = ERR_PERM;
		} else if (r == ERR_NOTFOUND) {
			rc->result = ERR_NOTFOUND;
		} else if (r < 0) {
			return r;
		}
		bad |= rc->result < 0;
	}
	if (bad)
		m->refusal = SMTP_SUBMIT_RCPTS;
	return 0;
}

/* The header filter's sink: the spool file. */
static int spool_sink(void *ctx, const uint8_t *p, size_t n)
{
	return fd_write_all(*(int *)ctx, p, n);
}

/* The spool file: Return-Path, Received (RFC 5321 4.4), then the message through the
 * session's header filter (smtp_hdr.h) with Bcc dropped as well as client Return-Path
 * fields; the body passes as it is. */
static int write_spool(struct smtp_submit *m, struct submit_src *s, int fd, const char *id)
{
	char date[64], *trace = NULL;
	str_rfc5322_date(date, time(NULL));
	if (asprintf(&trace,
	             "Return-Path: <%s>\r\nReceived: by %s (kasten) with %s id %s;\r\n\t%s\r\n",
	             m->mail_from, conf_get()->hostname, m->with, id, date) < 0)
		return ERR_NOMEM;
	int r = fd_write_all(fd, trace, strlen(trace));
	free(trace);
	struct smtp_hdr_filter f;
	if (r == 0 && (r = smtp_hdr_init(&f, NULL, spool_sink, &fd)) == 0)
		f.drop_bcc = true;
	uint8_t *chunk = r == 0 ? malloc(LIMIT_SMTP_SIGN_CHUNK) : NULL;
	if (r == 0 && !chunk)
		r = ERR_NOMEM;
	for (uint64_t off = 0; r == 0 && off < s->size;) {
		size_t k = s->size - off < LIMIT_SMTP_SIGN_CHUNK ? (size_t)(s->size - off)
		                                                 : LIMIT_SMTP_SIGN_CHUNK;
		r = read_full(s->fd, chunk, k, (off_t)off);
		for (size_t i = 0; r == 0 && i < k && !s->eightbit; i++)
			s->eightbit = chunk[i] >= 0x80;
		if (r == 0)
			r = smtp_hdr_write(&f, chunk, k);
		off += k;
	}
	if (r == 0)
		r = smtp_hdr_finish(&f);
	free(chunk);
	return r;
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The From: domain to sign for, when it is ours (the session's smtp_policy_from_domain
 * reads the same first mailbox). */
static const char *sign_domain(const struct submit_src *s, struct arena *a)
{
	struct mime_part *root = NULL;
	if (mime_parse(s->hdr, s->hdr_len, a, &root) < 0 || !root->envelope)
		return NULL;
	for (const struct mime_addr *f = root->envelope->from; f; f = f->next)
		if (f->kind == MIME_ADDR_MAILBOX && f->host.s && f->host.len > 0)
			return smtp_policy_local_domain(f->host.s) ? f->host.s : NULL;
	return NULL;
}

/* The deliver/ job: local copies and the queue's share in one commit, then the failure
 * notice for full local mailboxes. */
static int send_spooled(struct smtp_submit *m, const struct submit_src *s, const char *path,
                        const int64_t *ids, struct arena *a)
{
	size_t n_local = 0, n_remote = 0;
	struct deliver_rcpt *dr = arena_alloc(a, m->n_rcpts * sizeof *dr);
	size_t *map = arena_alloc(a, m->n_rcpts * sizeof *map);
	struct queue_rcpt_in *qr = arena_alloc(a, m->n_rcpts * sizeof *qr);
	if (!dr || !map || !qr)
		return ERR_NOMEM;
	bool utf8 = s->utf8_header || !ascii(m->mail_from);
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const struct smtp_submit_rcpt *rc = &m->rcpts[i];
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = strcmp(m->rcpts[k].address, rc->address) == 0;
		if (dup)
			continue; /* the same address twice: sent once, as RCPT does */
		utf8 |= !ascii(rc->address);
		if (rc->remote)
			qr[n_remote++] = (struct queue_rcpt_in){rc->address, NULL, 0};
		else {
			map[n_local] = i;
			dr[n_local++] = (struct deliver_rcpt){ids[i], rc->address, 0};
		}
	}
	char *dkim = NULL;
	const char *domain = n_remote ? sign_domain(s, a) : NULL;
	int r = domain ? smtp_submit_sign(domain, path, &dkim) : 0;
	if (r == ERR_TOO_BIG || r == ERR_INVAL)
		r = 0; /* unsigned, as the session sends it */
	if (r < 0)
		return r;
	struct queue_msg_in qin = {
	    .spool_path = path,
	    .size = m->size,
	    .sender = m->mail_from,
	    .body = s->eightbit ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT,
	    .smtputf8 = utf8,
	    .kind = QUEUE_KIND_NORMAL,
	    .account_id = m->account_id,
	    .dkim_header = dkim,
	    .rcpts = qr,
	    .n_rcpts = n_remote,
	};
	struct deliver_job job = {
	    .spool_path = path,
	    .rcpts = dr,
	    .n_rcpts = n_local,
	    .keep_spool = true, /* the failure notice quotes it */
	    .outbound = n_remote ? &qin : NULL,
	};
	/* results the pipeline never wrote stay 1: then nothing was handed over */
	for (size_t k = 0; k < n_local; k++)
		dr[k].result = 1;
	job.outbound_result = 1;
	r = deliver_submit_wait(&job);
	free(dkim);
	bool ran = n_remote ? job.outbound_result != 1 : dr[0].result != 1;
	if (!ran)
		return r < 0 ? r : ERR_TEMP;
	size_t n_failed = 0;
	for (size_t k = 0; k < n_local; k++) {
		m->rcpts[map[k]].result = dr[k].result;
		if (dr[k].result < 0)
			dr[n_failed++] = dr[k];
	}
	for (size_t i = 0; i < m->n_rcpts; i++)
		if (m->rcpts[i].remote)
			m->rcpts[i].result = job.outbound_result;
	if (n_remote && job.outbound_result == 0)
		memcpy(m->queue_id, job.outbound_qid, sizeof m->queue_id);
	if (n_failed) {
		int d = deliver_dsn(smtp_env, m->account_id, m->mail_from, path, dr, n_failed);
		if (d < 0)
			log_err("submission: failure notice to the sender: %s", err_str(d));
	}
	return 0;
}

int smtp_submit_message(struct smtp_submit *m, struct arena *a)
{
	struct submit_src s;
	m->refusal = SMTP_SUBMIT_SENT;
	m->bad_from = NULL;
	m->queue_id[0] = '\0';
	if (m->n_rcpts == 0) {
		m->refusal = SMTP_SUBMIT_NO_RCPTS;
		return 0;
	}
	if (m->n_rcpts > smtp_submit_max_rcpts()) {
		m->refusal = SMTP_SUBMIT_TOO_MANY_RCPTS;
		return 0;
	}
	int r = smtp_submit_owns(m->account_id, m->mail_from);
	if (r == ERR_PERM) {
		m->refusal = SMTP_SUBMIT_MAIL_FROM;
		return 0;
	}
	if (r < 0)
		return r;
	r = src_open(&s, m->msg_fd);
	int64_t *ids = arena_alloc(a, m->n_rcpts * sizeof *ids);
	bool *pm = arena_alloc(a, m->n_rcpts * sizeof *pm);
	if (r == ERR_TOO_BIG) {
		m->refusal = SMTP_SUBMIT_TOO_BIG;
		r = 0;
	} else if (r == 0 && (!ids || !pm)) {
		r = ERR_NOMEM;
	}
	if (r == 0 && m->refusal == SMTP_SUBMIT_SENT)
		r = check_from(m, &s, a);
	if (r == 0 && m->refusal == SMTP_SUBMIT_SENT)
		r = route_rcpts(m, ids, pm);
	/* counted once the message is acceptable, as the session counts an accepted MAIL */
	if (r == 0 && m->refusal == SMTP_SUBMIT_SENT) {
		r = smtp_submit_rate_take(m->account_id);
		if (r == ERR_FULL) {
			m->refusal = SMTP_SUBMIT_RATE;
			r = 0;
		}
	}
	if (r < 0 || m->refusal != SMTP_SUBMIT_SENT) {
		src_close(&s);
		return r;
	}
	char path[DELIVER_PATH_MAX], id[13];
	int fd = -1;
	r = str_random_hex(id, 6);
	if (r == 0)
		r = deliver_spool_create(path, sizeof path, &fd);
	if (r == 0) {
		r = write_spool(m, &s, fd, id);
		if (close(fd) < 0 && r == 0)
			r = ERR_IO; /* a delayed write error shows here */
		struct stat sb;
		if (r == 0 && stat(path, &sb) == 0)
			m->size = (uint64_t)sb.st_size;
		if (r == 0)
			r = send_spooled(m, &s, path, ids, a);
		(void)unlink(path); /* linked into the accounts and the queue, or not sent */
	}
	if (r == 0)
		log_info("submission id=%s account=%lld with=%s size=%llu nrcpt=%zu qid=%s", id,
		         (long long)m->account_id, m->with, (unsigned long long)m->size, m->n_rcpts,
		         m->queue_id[0] ? m->queue_id : "-");
	src_close(&s);
	return r;
}
