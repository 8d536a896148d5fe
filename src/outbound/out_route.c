/* out_route.c: from a destination to one ready SMTP session: the relay, or the MX hosts
 * of a domain (RFC 5321 5.1: preference order, equal preferences shuffled by the
 * resolver, the domain's own address without MX, a null MX refused at once, RFC 7505),
 * each host's addresses (A, then AAAA), the TLS each host requires (tlspol.h: MTA-STS,
 * DANE) and the loop check against our own listeners. Bounds: LIMIT_OUTBOUND_MX_HOSTS
 * hosts and LIMIT_OUTBOUND_HOST_ADDRS addresses per host tried per attempt. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "outbound/dns.h"
#include "outbound/out_int.h"
#include "outbound/tlspol.h"
#include "core/banned.h"

static void fail_set(struct out_fail *f, int code, const char *status, const char *host,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* f: a failure with reply code (4xx temporary, 5xx permanent), status and text. */
static void fail_set(struct out_fail *f, int code, const char *status, const char *host,
                     const char *fmt, ...)
{
	char text[LIMIT_SMTPC_REPLY_TEXT];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		text[0] = 0;
	f->code = code;
	f->permanent = code >= 500;
	snprintf(f->status, sizeof(f->status), "%s", status);
	snprintf(f->text, sizeof(f->text), "%d %s %s", code, status, text);
	snprintf(f->host, sizeof(f->host), "%s", host ? host : "");
}

/* A server's reply as the failure (5xx permanent, else temporary). */
static void fail_reply(struct out_fail *f, const struct smtpc_reply *r, const char *host)
{
	int code = r->code >= 500 ? r->code : r->code >= 400 ? r->code : 451;
	f->code = code;
	f->permanent = code >= 500;
	snprintf(f->status, sizeof(f->status), "%s",
	         r->status[0]  ? r->status
	         : code >= 500 ? "5.0.0"
	                       : "4.0.0");
	snprintf(f->text, sizeof(f->text), "%s", r->line);
	snprintf(f->host, sizeof(f->host), "%s", host);
}

/* seconds of config as smtpc's milliseconds; a day is more than any wait needs */
static unsigned timeout_ms(unsigned seconds)
{
	return (seconds < 86400 ? seconds : 86400) * 1000u;
}

static struct smtpc_config session_config(struct out_engine *e)
{
	const struct conf *cf = conf_get();
	struct smtpc_config cfg = {
	    .timeouts = {timeout_ms(cf->outbound_connect_timeout),
	                 timeout_ms(cf->outbound_command_timeout),
	                 timeout_ms(cf->outbound_data_timeout)},
	    .helo = cf->outbound_helo_name ? cf->outbound_helo_name : cf->hostname,
	    .ssl_ctx = e->ssl,
	};
	return cfg;
}

/* What one host demands of TLS, in smtpc's terms. th NULL: the relay. */
struct host_tls {
	bool required;
	struct smtpc_tls_opts opts;
	const char *names[3];
	struct smtpc_tlsa tlsa[LIMIT_DNS_ANSWER_RECORDS];
};

static void tls_from_policy(struct host_tls *t, const struct tlspol_host *th)
{
	memset(t, 0, sizeof(*t));
	t->required = th->req != TLSPOL_OPPORTUNISTIC;
	t->opts.verify = th->req == TLSPOL_PKIX   ? SMTPC_VERIFY_PKIX
	                 : th->req == TLSPOL_DANE ? SMTPC_VERIFY_DANE
	                                          : SMTPC_VERIFY_NONE;
	t->opts.sni = th->sni[0] ? th->sni : NULL;
	for (size_t i = 0; i < th->n_names && i < 3; i++)
		t->names[i] = th->names[i];
	t->opts.names = t->names;
	t->opts.n_names = th->n_names < 3 ? th->n_names : 3;
	size_t n = th->n_tlsa < LIMIT_DNS_ANSWER_RECORDS ? th->n_tlsa : LIMIT_DNS_ANSWER_RECORDS;
	for (size_t i = 0; i < n; i++)
		t->tlsa[i] =
		    (struct smtpc_tlsa){th->tlsa[i].usage, th->tlsa[i].selector, th->tlsa[i].mtype,
		                        th->tlsa[i].data, th->tlsa[i].len};
	t->opts.tlsa = t->tlsa;
	t->opts.n_tlsa = n;
}

/* The relay: STARTTLS required unless relay_tls = no; its certificate verified for its
 * name (an address given as the relay cannot be checked by name: encryption only). */
static void tls_for_relay(struct host_tls *t, struct out_engine *e, bool literal)
{
	memset(t, 0, sizeof(*t));
	t->required = conf_get()->outbound_relay_tls;
	t->names[0] = e->relay_host;
	t->opts.names = t->names;
	t->opts.n_names = literal ? 0 : 1;
	t->opts.sni = literal ? NULL : e->relay_host;
	t->opts.verify = t->required && !literal ? SMTPC_VERIFY_PKIX : SMTPC_VERIFY_NONE;
}

static bool verified(const struct smtpc *s)
{
	enum smtpc_tls_state st = smtpc_tls_state(s);
	return st == SMTPC_TLS_PKIX || st == SMTPC_TLS_DANE_TA || st == SMTPC_TLS_DANE_EE;
}

static void session_drop(struct smtpc **s, bool quit)
{
	if (quit)
		(void)smtpc_quit(*s); /* its answer changes nothing */
	smtpc_free(s);
}

/* A new session to sa through the greeting and EHLO: 0, or the failure in f. */
static int session_open(struct out_worker *w, const char *host, const struct sockaddr_storage *sa,
                        socklen_t len, struct out_conn *c, struct smtpc **s_out, struct out_fail *f)
{
	struct smtpc_config cfg = session_config(w->e);
	struct smtpc_reply rep;
	if (smtpc_new(&cfg, s_out) < 0) {
		fail_set(f, 451, "4.3.0", host, "out of memory");
		return ERR_TEMP;
	}
	int r = smtpc_connect(*s_out, (const struct sockaddr *)sa, len, NULL, &rep);
	if (r == 0)
		r = smtpc_ehlo(*s_out, &rep);
	if (r == ERR_IO) {
		fail_set(f, 451, "4.4.1", host, "connect to %s[%s]:%u: %s", host, c->ip, c->port,
		         smtpc_error(*s_out));
		session_drop(s_out, false);
		return ERR_TEMP;
	}
	if (r < 0) {
		fail_reply(f, &rep, host);
		session_drop(s_out, true);
		return f->permanent ? ERR_PERM : ERR_TEMP;
	}
	return 0;
}

/* STARTTLS as t says. 0: go on (with TLS, or in plain text where allowed); 1: the
 * handshake failed where plain text is allowed: the session is gone, connect again
 * without TLS (RFC 7435, Postfix's "may"); <0: the failure in f, the session gone. */
static int session_tls(struct smtpc **s, const struct host_tls *t, bool relay,
                       const struct out_conn *c, struct out_fail *f)
{
	struct smtpc_reply rep;
	if (!(smtpc_extensions(*s)->flags & SMTPC_EXT_STARTTLS)) {
		if (!t->required)
			return 0;
		fail_set(f, 451, "4.7.4", c->host,
		         "%s[%s]:%u does not offer STARTTLS, which %s requires", c->host, c->ip,
		         c->port, relay ? "[outbound] relay_tls" : "its TLS policy");
		session_drop(s, true);
		return ERR_TEMP;
	}
	int r = smtpc_starttls(*s, &t->opts, &rep);
	if (r == ERR_IO || r == ERR_AUTH) {
		fail_set(f, 451, r == ERR_AUTH ? "4.7.5" : "4.7.0", c->host,
		         "TLS with %s[%s]:%u failed: %s", c->host, c->ip, c->port, smtpc_error(*s));
		session_drop(s, false);
		/* RFC 7672 2.2, RFC 8461 4.2: a required TLS is never given up for plain */
		return t->required ? ERR_TEMP : 1;
	}
	if (r < 0 && t->required) {
		fail_reply(f, &rep, c->host);
		session_drop(s, true);
		return ERR_TEMP;
	}
	return 0; /* a refused STARTTLS where TLS is optional: plain text */
}

/* AUTH on the relay when [outbound] relay_user is set: 0, or the failure in f. */
static int session_auth(struct out_engine *e, struct smtpc **s, const struct out_conn *c,
                        struct out_fail *f)
{
	const struct conf *cf = conf_get();
	struct smtpc_reply rep = {0};
	if (!cf->outbound_relay_user)
		return 0;
	if (smtpc_auth(*s, cf->outbound_relay_user, e->relay_password, !cf->outbound_relay_tls,
	               &rep) == 0)
		return 0;
	/* a configuration problem, not the messages': keep them */
	fail_set(f, 451, "4.7.0", c->host, "AUTH on the relay failed: %s",
	         rep.line[0] ? rep.line : smtpc_error(*s));
	session_drop(s, true);
	return ERR_TEMP;
}

/* One address: connect, greeting, EHLO, STARTTLS as t says, AUTH on the relay. 0 with
 * c ready, else the failure in f. */
static int try_addr(struct out_worker *w, const char *host, const struct sockaddr_storage *sa,
                    socklen_t len, const struct host_tls *t, bool relay, struct out_conn *c,
                    struct out_fail *f)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	snprintf(c->host, sizeof(c->host), "%s", host);
	inet_ntop(sa->ss_family,
	          sa->ss_family == AF_INET6 ? (const void *)&s6->sin6_addr
	                                    : (const void *)&s4->sin_addr,
	          c->ip, sizeof(c->ip));
	c->port = ntohs(sa->ss_family == AF_INET6 ? s6->sin6_port : s4->sin_port);
	struct smtpc *s;
	int r = session_open(w, host, sa, len, c, &s, f);
	if (r == 0)
		r = session_tls(&s, t, relay, c, f);
	if (r == 1) /* once more, in plain text this time */
		r = session_open(w, host, sa, len, c, &s, f);
	if (r == 0 && relay)
		r = session_auth(w->e, &s, c, f);
	if (r < 0)
		return r;
	c->s = s;
	c->verified = verified(s);
	log_info("connected relay=%s[%s]:%u tls=%s%s", host, c->ip, c->port,
	         smtpc_tls_desc(s)[0] ? smtpc_tls_desc(s) : "none", c->verified ? " verified" : "");
	return 0;
}

static socklen_t make_sa(struct sockaddr_storage *sa, int family, const uint8_t *addr,
                         unsigned port)
{
	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, addr, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	memcpy(&s6->sin6_addr, addr, 16);
	return sizeof(*s6);
}

struct host_addrs {
	size_t n;
	struct sockaddr_storage sa[LIMIT_OUTBOUND_HOST_ADDRS];
	socklen_t len[LIMIT_OUTBOUND_HOST_ADDRS];
	bool secure;   /* every address answer was DNSSEC-secure */
	bool nxdomain; /* the name does not exist */
	bool temp;     /* a lookup failed for now */
};

/* A and AAAA of host (an address literal is taken as it is). */
static void host_addrs(struct out_worker *w, const char *host, unsigned port, struct host_addrs *h)
{
	memset(h, 0, sizeof(*h));
	uint8_t lit[16];
	if (inet_pton(AF_INET, host, lit) == 1 || inet_pton(AF_INET6, host, lit) == 1) {
		int fam = inet_pton(AF_INET, host, lit) == 1 ? AF_INET : AF_INET6;
		h->len[0] = make_sa(&h->sa[0], fam, lit, port);
		h->n = 1;
		return;
	}
	static const enum dns_type types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
	h->secure = true;
	unsigned nx = 0;
	for (size_t t = 0; t < 2; t++) {
		struct dns_answer *a = NULL;
		if (dns_query_wait(w->dns, types[t], host, &a) < 0 || !a) {
			h->temp = true;
			h->secure = false;
			continue;
		}
		if (a->sec != DNS_SEC_SECURE)
			h->secure = false;
		if (a->status == DNS_STATUS_NXDOMAIN)
			nx++;
		else if (a->status == DNS_STATUS_TEMPFAIL)
			h->temp = true;
		for (size_t i = 0; a->status == DNS_STATUS_OK && i < a->n; i++) {
			if (h->n == LIMIT_OUTBOUND_HOST_ADDRS)
				break;
			h->len[h->n] = make_sa(&h->sa[h->n], a->rr[i].u.addr.family,
			                       a->rr[i].u.addr.addr, port);
			h->n++;
		}
		dns_answer_free(&a);
	}
	h->nxdomain = nx == 2;
}

/* Try every address of host; ERR_PERM stops the whole attempt (a loop). */
static int try_host(struct out_worker *w, const char *host, const struct host_addrs *h,
                    const struct host_tls *t, bool relay, struct out_conn *c, struct out_fail *f)
{
	struct out_engine *e = w->e;
	for (size_t i = 0; i < h->n; i++) {
		if (out_addr_is_own(e->own, e->n_own, (const struct sockaddr *)&h->sa[i], e->local,
		                    e->n_local)) {
			char ip[INET6_ADDRSTRLEN] = "";
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&h->sa[i];
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&h->sa[i];
			inet_ntop(h->sa[i].ss_family,
			          h->sa[i].ss_family == AF_INET ? (const void *)&s4->sin_addr
			                                        : (const void *)&s6->sin6_addr,
			          ip, sizeof(ip));
			fail_set(f, 554, "5.4.6", host,
			         "mail for this destination loops back to "
			         "myself (%s[%s] is one of my listeners)",
			         host, ip);
			return ERR_PERM;
		}
		int r = try_addr(w, host, &h->sa[i], h->len[i], t, relay, c, f);
		if (r == 0)
			return 0;
		char esc[512];
		log_info("attempt failed relay=%s[%s]:%u reply=%s", host, c->ip, c->port,
		         log_esc(esc, f->text, strlen(f->text)));
	}
	return ERR_TEMP;
}

static int relay_connect(struct out_worker *w, struct out_conn *c, struct out_fail *f)
{
	struct out_engine *e = w->e;
	struct host_addrs h;
	host_addrs(w, e->relay_host, e->relay_port, &h);
	uint8_t lit[16];
	bool literal = inet_pton(AF_INET, e->relay_host, lit) == 1 ||
	               inet_pton(AF_INET6, e->relay_host, lit) == 1;
	if (!h.n) {
		fail_set(f, 451, "4.4.3", e->relay_host, "the relay %s has no address%s",
		         e->relay_host, h.temp ? " (DNS lookup failed)" : "");
		return ERR_TEMP;
	}
	struct host_tls t;
	tls_for_relay(&t, e, literal);
	int r = try_host(w, e->relay_host, &h, &t, true, c, f);
	/* the relay is our one way out: its refusals are not the recipients' fault; only
	 * a loop to ourselves is final */
	if (r < 0 && strcmp(f->status, "5.4.6") != 0)
		f->permanent = false;
	return r == 0 ? 0 : f->permanent ? ERR_PERM : ERR_TEMP;
}

/* The MX answer of domain: 0 with *mx_out (hosts to try), or the failure in f (NXDOMAIN
 * and a null MX permanent, DNS trouble temporary). */
static int mx_lookup(struct out_worker *w, const char *domain, struct dns_answer **mx_out,
                     struct out_fail *f)
{
	struct dns_answer *mx = NULL;
	int r = dns_query_wait(w->dns, DNS_TYPE_MX, domain, &mx);
	if (r == ERR_INVAL) {
		fail_set(f, 550, "5.1.2", domain, "%s is not a domain name", domain);
		return ERR_PERM;
	}
	if (r < 0 || !mx || mx->status == DNS_STATUS_TEMPFAIL ||
	    mx->status == DNS_STATUS_MALFORMED) {
		fail_set(f, 451, "4.4.3", "", "MX lookup of %s failed: %s", domain,
		         mx && mx->why[0] ? mx->why : "temporary DNS failure");
		r = ERR_TEMP;
	} else if (mx->status == DNS_STATUS_NXDOMAIN) {
		fail_set(f, 550, "5.1.2", "", "domain %s does not exist (NXDOMAIN)", domain);
		r = ERR_PERM;
	} else if (mx->null_mx) {
		fail_set(f, 556, "5.1.10", "", "%s accepts no mail (null MX, RFC 7505)", domain);
		r = ERR_PERM;
	}
	if (r < 0)
		dns_answer_free(&mx);
	*mx_out = mx;
	return r;
}

/* MX host i of mx: its addresses, its TLS requirement, then each address. *no_name
 * stays true only while every host tried so far does not exist (NXDOMAIN). */
static int mx_try_host(struct out_worker *w, const char *domain, const struct tlspol_domain *pol,
                       const struct dns_answer *mx, size_t i, struct out_conn *c,
                       struct out_fail *f, bool *no_name)
{
	unsigned port = conf_get()->outbound_remote_port;
	const char *host = mx->rr[i].u.mx.host;
	if (!tlspol_mx_allowed(pol, host)) {
		*no_name = false;
		fail_set(f, 451, "4.7.5", host, "MX %s is not in the MTA-STS policy of %s", host,
		         domain);
		return ERR_TEMP;
	}
	struct host_addrs h;
	host_addrs(w, host, port, &h);
	if (!h.nxdomain)
		*no_name = false;
	if (!h.n) {
		fail_set(f, 451, "4.4.4", host, "MX host %s has no address%s", host,
		         h.temp ? " (DNS lookup failed)" : "");
		return ERR_TEMP;
	}
	/* without MX the host is the domain, and its address answer stands for the MX
	 * answer (tlspol_host) */
	bool secure = mx->implicit_mx ? h.secure : mx->sec == DNS_SEC_SECURE;
	struct tlspol_host th;
	if (tlspol_host(w->tlspol, pol, host, secure, port, &th) < 0) {
		fail_set(f, 451, "4.3.0", host, "no TLS decision for %s", host);
		return ERR_TEMP;
	}
	int r = ERR_TEMP;
	struct host_tls *t = th.req == TLSPOL_DEFER ? NULL : malloc(sizeof(*t));
	if (th.req == TLSPOL_DEFER) {
		fail_set(f, 451, "4.7.5", host, "%s: %s", host, th.why);
	} else if (!t) {
		fail_set(f, 451, "4.3.0", host, "out of memory");
	} else {
		tls_from_policy(t, &th);
		r = try_host(w, host, &h, t, false, c, f);
	}
	free(t);
	tlspol_host_clear(&th);
	return r;
}

/* The MX hosts of domain, tried in order; the last failure is reported. */
static int mx_connect(struct out_worker *w, const char *domain_as_given, struct out_conn *c,
                      struct out_fail *f)
{
	char domain[LIMIT_DNS_NAME + 1];
	if (out_domain_ascii(domain_as_given, domain, sizeof(domain)) < 0) {
		fail_set(f, 550, "5.1.2", "", "%s is not a valid domain name (IDNA2008)",
		         domain_as_given);
		return ERR_PERM;
	}
	struct dns_answer *mx;
	int r = mx_lookup(w, domain, &mx, f);
	if (r < 0)
		return r;
	struct tlspol_domain *pol = calloc(1, sizeof(*pol));
	if (!pol || tlspol_domain(w->tlspol, domain, pol) < 0) {
		fail_set(f, 451, "4.3.0", "", "no MTA-STS decision for %s", domain);
		free(pol);
		dns_answer_free(&mx);
		return ERR_TEMP;
	}
	fail_set(f, 451, "4.4.4", "", "no usable MX host for %s", domain);
	bool no_name = true;
	size_t n = mx->n < LIMIT_OUTBOUND_MX_HOSTS ? mx->n : LIMIT_OUTBOUND_MX_HOSTS;
	r = ERR_TEMP;
	for (size_t i = 0; i < n && r != 0 && r != ERR_PERM; i++)
		r = mx_try_host(w, domain, pol, mx, i, c, f, &no_name);
	/* an implicit MX whose name has no address at all: the domain has no mail host */
	if (r != 0 && mx->implicit_mx && no_name) {
		fail_set(f, 550, "5.1.2", "", "domain %s has no MX and no address", domain);
		r = ERR_PERM;
	}
	free(pol);
	dns_answer_free(&mx);
	return r == 0 ? 0 : f->permanent ? ERR_PERM : ERR_TEMP;
}

int out_route_connect(struct out_worker *w, const char *domain, struct out_conn *c,
                      struct out_fail *f)
{
	memset(c, 0, sizeof(*c));
	memset(f, 0, sizeof(*f));
	if (!w->dns || (!w->e->relay && !w->tlspol)) {
		fail_set(f, 451, "4.3.0", "", "the worker has no resolver");
		return ERR_TEMP;
	}
	return w->e->relay ? relay_connect(w, c, f) : mx_connect(w, domain, c, f);
}
