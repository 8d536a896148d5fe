/* authres_check.c: the inbound checks of one spooled message, on an io worker: the
 * header block is read (at most LIMIT_DKIM_HEADER bytes, LIMIT_HEADER_FIELDS fields)
 * to find the From: fields and our forged Authentication-Results; the whole message
 * streams through the DKIM verifier; SPF needs only the envelope; DMARC runs per From:
 * domain (RFC 7489 6.6.1: every domain of every From: field, so a second From: cannot
 * hide a failing one; more than LIMIT_DMARC_FROM_DOMAINS is a permerror that refuses
 * the message when dmarc_reject is on). Then the verdict and the new spool file.
 * Memory: the header block (malloc, freed here) and one read buffer. */
#include "outbound/authres_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/str.h"
#include "mime/mime.h"
#include "core/banned.h"

#define AUTHRES_READ (64u << 10)

struct authres_from {
	size_t n; /* From: fields seen */
	size_t off[LIMIT_DMARC_FROM_DOMAINS + 1], len[LIMIT_DMARC_FROM_DOMAINS + 1];
};

/* Note one field: a From: (kept by offset) or one of our A-R fields (cut). */
static void authres_note(struct authres_header *h, struct authres_from *f,
                         const struct mime_field *fl, const char *host)
{
	if (str_ieq(fl->name, fl->name_len, "From")) {
		if (f->n < LIMIT_DMARC_FROM_DOMAINS + 1) {
			f->off[f->n] = (size_t)(fl->value - h->buf);
			f->len[f->n] = fl->value_len;
		}
		f->n++;
	} else if (str_ieq(fl->name, fl->name_len, "Authentication-Results") &&
	           authres_is_ours(fl->value, fl->value_len, host)) {
		h->cut[h->n_cut][0] = fl->start;
		h->cut[h->n_cut][1] = fl->end;
		h->n_cut++;
	}
}

/* Read the header block from fd (at trace) into h, feeding every byte to the verifier.
 * Then the rest of the message goes to the verifier too. ERR_TOO_BIG when the header
 * does not fit the limits. */
static int authres_read(int fd, uint64_t trace, struct authres_header *h, struct authres_from *f,
                        struct dkim_verifier *v, bool *dkim_ok)
{
	struct mime_header_iter it;
	struct mime_field fl;
	mime_header_init(&it, 0);
	const char *host = conf_get()->hostname;
	h->buf = malloc(LIMIT_DKIM_HEADER);
	if (!h->buf)
		return ERR_NOMEM;
	bool eof = false, end = false;
	uint64_t off = trace;
	while (!end) {
		if (!eof && h->got == LIMIT_DKIM_HEADER)
			return ERR_TOO_BIG;
		if (!eof) {
			ssize_t k =
			    pread(fd, h->buf + h->got, LIMIT_DKIM_HEADER - h->got, (off_t)off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return ERR_IO;
			eof = k == 0;
			h->got += (size_t)k;
			off += (uint64_t)k;
		}
		int r;
		while ((r = mime_header_next(&it, h->buf, h->got, eof, &fl)) == MIME_HDR_FIELD)
			authres_note(h, f, &fl, host);
		if (it.limited)
			return ERR_TOO_BIG;
		end = r == MIME_HDR_END;
	}
	h->end_line = it.end_line;
	if (v && dkim_verifier_feed(v, h->buf, h->got) < 0)
		*dkim_ok = false;
	uint8_t *chunk = malloc(AUTHRES_READ);
	if (!chunk)
		return ERR_NOMEM;
	int rc = 0;
	while (v && *dkim_ok && !eof) {
		ssize_t k = pread(fd, chunk, AUTHRES_READ, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = ERR_IO;
			break;
		}
		eof = k == 0;
		off += (uint64_t)k;
		if (k > 0 && dkim_verifier_feed(v, chunk, (size_t)k) < 0)
			*dkim_ok = false;
	}
	free(chunk);
	return rc;
}

/* The distinct domains of the From: fields (lower case) into d; their count, or
 * LIMIT_DMARC_FROM_DOMAINS + 1 when there are more or a field cannot be read whole
 * (past LIMIT_AUTHRES_FROM_ARENA): both are refused, never taken as no From: domain.
 * *bad: a domain that is no DNS name (an address literal, UTF-8). */
static size_t authres_from_domains(const struct authres_header *h, const struct authres_from *f,
                                   char (*d)[LIMIT_DNS_NAME + 1], bool *bad)
{
	size_t n = 0;
	if (f->n > LIMIT_DMARC_FROM_DOMAINS)
		return LIMIT_DMARC_FROM_DOMAINS + 1;
	for (size_t i = 0; i < f->n; i++) {
		/* the parser IMAP shows the sender with (ENVELOPE): what is checked here is
		 * what readers see */
		struct arena a;
		arena_init(&a, LIMIT_AUTHRES_FROM_ARENA);
		size_t len = 5 + f->len[i] + 4;
		uint8_t *field = arena_alloc(&a, len);
		struct mime_part *root = NULL;
		if (field) {
			memcpy(field, "From:", 5);
			memcpy(field + 5, h->buf + f->off[i], f->len[i]);
			memcpy(field + 5 + f->len[i], "\r\n\r\n", 4);
			if (mime_parse(field, len, &a, &root) < 0)
				root = NULL;
		}
		if (!root) {
			arena_free(&a);
			return LIMIT_DMARC_FROM_DOMAINS + 1;
		}
		for (const struct mime_addr *m = root && root->envelope ? root->envelope->from
		                                                        : NULL;
		     m && n <= LIMIT_DMARC_FROM_DOMAINS; m = m->next) {
			char name[LIMIT_DNS_NAME + 1];
			if (m->kind != MIME_ADDR_MAILBOX || !m->host.s)
				continue;
			if (dns_name_norm(m->host.s, m->host.len, name) < 0) {
				*bad = true;
				continue;
			}
			size_t k = 0;
			while (k < n && strcmp(d[k], name) != 0)
				k++;
			if (k == n && n < LIMIT_DMARC_FROM_DOMAINS)
				memcpy(d[n], name, strlen(name) + 1);
			if (k == n)
				n++;
		}
		arena_free(&a);
	}
	return n;
}

static void authres_spf(const struct authres_check_in *in, struct authres_lookups *l,
                        struct spf_outcome *out)
{
	struct spf_request q = {
	    .sender = in->mail_from, .helo = in->helo, .lookup = authres_dns_lookup, .ctx = l};
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (inet_pton(AF_INET, in->client_ip, q.ip) == 1) {
		q.family = AF_INET;
	} else if (inet_pton(AF_INET6, in->client_ip, q.ip) == 1) {
		q.family = AF_INET6;
		if (memcmp(q.ip, v4mapped, 12) == 0) { /* RFC 7208 5: checked as IPv4 */
			memmove(q.ip, q.ip + 12, 4);
			q.family = AF_INET;
		}
	} else {
		*out = (struct spf_outcome){.result = SPF_RESULT_PERMERROR};
		(void)snprintf(out->reason, sizeof(out->reason), "no client address");
		return;
	}
	spf_check(&q, out);
}

static void authres_dmarc(struct authres_lookups *l, const struct authres_header *h,
                          const struct authres_from *f, struct authres_results *res)
{
	char domains[LIMIT_DMARC_FROM_DOMAINS][LIMIT_DNS_NAME + 1];
	bool bad = false;
	size_t n = authres_from_domains(h, f, domains, &bad);
	if (n > LIMIT_DMARC_FROM_DOMAINS) {
		res->dmarc_permerror = res->dmarc_from_refused = true;
		res->dmarc_problem = "too many From: domains, or a From: field too large";
		return;
	}
	if (n == 0) {
		res->dmarc_permerror = bad;
		res->dmarc_problem = bad ? "From: domain is not a DNS name" : "no From: domain";
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct dmarc_input q = {
		    .from_domain = domains[i],
		    .spf = res->spf_on ? res->spf.result : SPF_RESULT_NONE,
		    .spf_domain = res->spf_on ? res->spf.domain : "",
		    .dkim = res->dkim,
		    .n_dkim = res->n_dkim,
		    .psl = psl_default(),
		    .lookup = authres_dns_lookup,
		    .ctx = l,
		    .sample = arc4random_uniform(100),
		};
		dmarc_check(&q, &res->dmarc[i]);
	}
	res->n_dmarc = n;
}

/* The reply when the message is to be refused, else false. */
static bool authres_verdict(const struct authres_check_in *in, const struct authres_results *r,
                            struct authres_check_out *out)
{
	if (!in->dmarc_reject || !r->dmarc_on)
		return false;
	if (r->dmarc_from_refused) {
		(void)snprintf(out->reply, sizeof(out->reply),
		               "550 5.7.1 Cannot check DMARC: %s (RFC 7489 6.6.1)",
		               r->dmarc_problem);
		return true; /* the reply fits: fixed texts */
	}
	for (size_t i = 0; i < r->n_dmarc; i++) {
		const struct dmarc_outcome *d = &r->dmarc[i];
		if (d->result == DMARC_RESULT_FAIL && d->policy == DMARC_POLICY_REJECT) {
			int k = snprintf(out->reply, sizeof(out->reply),
			                 "550 5.7.1 Rejected by the DMARC policy of %s: %s",
			                 d->policy_domain, d->reason);
			(void)k; /* a cut reply is still a reply */
			return true;
		}
	}
	return false;
}

static void authres_summary(const struct authres_results *r, struct authres_check_out *out)
{
	int k = snprintf(out->summary, sizeof(out->summary), "spf=%s dkim=%s dmarc=%s",
	                 r->spf_on ? spf_result_name(r->spf.result) : "off",
	                 !r->dkim_on ? "off"
	                 : r->n_dkim ? dkim_result_name(r->dkim[0].result)
	                             : "none",
	                 !r->dmarc_on         ? "off"
	                 : r->n_dmarc         ? dmarc_result_name(r->dmarc[0].result)
	                 : r->dmarc_permerror ? "permerror"
	                                      : "none");
	(void)k; /* fixed words fit */
}

int authres_check_run(const struct authres_check_in *in, struct authres_check_out *out)
{
	*out = (struct authres_check_out){0};
	struct authres_header *h = calloc(1, sizeof(*h));
	struct authres_results *res = calloc(1, sizeof(*res));
	struct authres_from from = {0};
	struct dkim_verifier *v = NULL;
	struct authres_lookups l = {authres_dns_resolver(), time(NULL) + LIMIT_CHECKS_TIME, 0};
	bool dkim_ok = true;
	int fd = open(in->spool_path, O_RDONLY | O_CLOEXEC);
	int r = !h || !res ? ERR_NOMEM : fd < 0 ? ERR_IO : 0;
	if (r == 0 && in->dkim)
		r = dkim_verifier_new(time(NULL), &v);
	if (r == 0)
		r = authres_read(fd, in->trace_bytes, h, &from, v, &dkim_ok);
	if (r == 0) {
		res->authserv_id = conf_get()->hostname;
		res->spf_on = in->spf;
		res->dkim_on = in->dkim;
		res->dmarc_on = in->dmarc;
		if (in->spf)
			authres_spf(in, &l, &res->spf);
		if (in->dkim && dkim_ok &&
		    dkim_verifier_finish(v, authres_dns_dkim_key, &l, res->dkim, LIMIT_DKIM_SIGS,
		                         &res->n_dkim) < 0)
			dkim_ok = false;
		res->dkim_unchecked = in->dkim && !dkim_ok;
		if (in->dmarc)
			authres_dmarc(&l, h, &from, res);
		authres_summary(res, out);
		out->reject = authres_verdict(in, res, out);
	}
	if (r == 0 && !out->reject) {
		char ar[LIMIT_AUTHRES_HEADER];
		size_t ar_len = 0;
		r = authres_format(res, ar, sizeof(ar), &ar_len);
		if (r == 0)
			r = authres_spool_write(fd, in->trace_bytes, h, ar, ar_len, out->path,
			                        &out->size);
		if (r == 0 && unlink(in->spool_path) < 0)
			log_warn("checks: unlink %s: %s", in->spool_path, strerror(errno));
	}
	if (l.queries)
		log_debug(LOGC_PROTO, "checks: %u lookups", l.queries);
	if (fd >= 0)
		close(fd);
	dkim_verifier_free(&v);
	if (h)
		free(h->buf);
	free(h);
	free(res);
	return r;
}
