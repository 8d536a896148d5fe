/* dns.h: the one resolver for everything (outbound MX delivery, DANE, SPF/DKIM/DMARC
 * checks, `kasten dns`), on libunbound.
 *
 * Where the answers come from (docs/config.md, [dns]):
 *   - [dns] resolver = ADDR:PORT: every query goes to that server (libunbound forwards,
 *     with RD set); without it, libunbound recurses from the root itself.
 *   - Either way libunbound validates DNSSEC itself, from [dns] trust_anchor (default
 *     Debian's /usr/share/dns/root.key; empty: no validation, every answer insecure).
 *     The forwarder's AD bit is not what we trust: libunbound 1.17 rebuilds the answer
 *     and drops it (measured: a forwarder's AD answer arrives without AD in
 *     answer_packet), so it fetches the RRSIG/DNSKEY/DS records through the forwarder
 *     and checks them; a forwarder that validates and returns SERVFAIL for bogus data is
 *     asked again with CD set, so bogus stays visible as bogus.
 *
 * Threads: one struct dns_resolver per event-loop thread, made and used on that thread
 * only. libunbound's ub_process() runs the callback of every finished query of a
 * context in whichever thread calls it, so a context shared between loop threads would
 * run callbacks on the wrong thread; a context per thread keeps the rule that a
 * connection and everything it waits for live on one thread. Each context has its own
 * worker thread (ub_ctx_async(ctx, 1), never a forked process) and its own cache. */
#ifndef KASTEN_DNS_H
#define KASTEN_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

struct event_base;

/* The query types kasten uses (their RFC 1035/3596/2782/6698 numbers). */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5, /* `kasten dns check`: autoconfig./autodiscover. names */
	DNS_TYPE_PTR = 12, /* the SPF ptr mechanism and %{p} macro (RFC 7208 5.5, 7.3) */
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,  /* `kasten dns check`: RFC 6186 client-setup records */
	DNS_TYPE_TLSA = 52,
};

/* What came back. The queue bounces NXDOMAIN (and a null MX), retries TEMPFAIL. */
enum dns_status {
	DNS_STATUS_OK,        /* records of the type asked for (or an MX answer: see below) */
	DNS_STATUS_NODATA,    /* the name exists, no records of that type */
	DNS_STATUS_NXDOMAIN,  /* the name does not exist (RCODE 3) */
	DNS_STATUS_TEMPFAIL,  /* SERVFAIL, REFUSED, timeout, no server reachable, bogus data:
			       * nothing can be said about the name now */
	DNS_STATUS_MALFORMED, /* an answer we cannot use: a record that does not parse, more
			       * than LIMIT_DNS_ANSWER_RECORDS records, a name or text past its
			       * limit (permanent until the zone changes) */
};

/* The DNSSEC status of an answer (a no-data or NXDOMAIN answer too: it is secure when
 * the denial is proven). */
enum dns_sec {
	DNS_SEC_INSECURE, /* unsigned zone (or no trust anchor configured): usable, no DANE */
	DNS_SEC_SECURE,   /* validated from the trust anchor */
	DNS_SEC_BOGUS,    /* signed but failed validation: status is DNS_STATUS_TEMPFAIL and
			   * there are no records (RFC 4035 5.5: never use bogus data) */
};

struct dns_rr {
	union {
		struct {
			uint16_t pref;
			char host[LIMIT_DNS_NAME + 1]; /* lower case, no final dot */
		} mx;
		struct {
			char host[LIMIT_DNS_NAME + 1]; /* lower case, no final dot */
		} ptr;                                 /* PTR, and CNAME's target */
		struct {
			uint16_t priority, weight, port;
			char target[LIMIT_DNS_NAME + 1]; /* lower case, no final dot; "" for
							  * "." (RFC 2782: no service) */
		} srv;
		struct {
			int family; /* AF_INET or AF_INET6 */
			uint8_t addr[16];
		} addr;
		struct {
			size_t len;
			char *text; /* the strings joined, NUL-terminated; may hold NULs itself */
		} txt;
		struct {
			uint8_t usage, selector, mtype;
			size_t len;
			uint8_t *data;
		} tlsa;
	} u;
};

struct dns_answer {
	enum dns_type type;
	char name[LIMIT_DNS_NAME + 1];      /* as asked, lower case, no final dot */
	char canonical[LIMIT_DNS_NAME + 1]; /* after CNAMEs ("" when none was followed) */
	enum dns_status status;
	enum dns_sec sec;
	int rcode;                          /* the DNS RCODE, for messages */
	unsigned ttl;
	/* MX (RFC 5321 5.1): rr[] is the hosts in preference order, equal preferences in
	 * random order. No MX records (NODATA): implicit_mx, status OK and one host, the
	 * domain itself (its canonical name) with preference 0; its A/AAAA are a separate
	 * query. A null MX (RFC 7505: the only MX is "0 ."): null_mx, status OK, n = 0. */
	bool implicit_mx, null_mx;
	size_t n;
	struct dns_rr *rr;
	char why[256];                      /* detail of TEMPFAIL/MALFORMED/BOGUS, or "" */
};

/* The resolver's settings; NULL strings mean the defaults above. */
struct dns_options {
	const char *resolver;     /* "ADDR:PORT" (IPv4 or [IPv6]:PORT) or NULL: recursion */
	const char *trust_anchor; /* a file of DS/DNSKEY records; NULL: DNS_ROOT_KEY;
				   * "": no validation */
	unsigned timeout;         /* seconds per query, 1..LIMIT_DNS_QUERY_TIME; 0: the limit */
};

#define DNS_ROOT_KEY "/usr/share/dns/root.key" /* Debian's dns-root-data */

/* The options from the configuration ([dns] of conf_get()). */
void dns_options_from_conf(struct dns_options *out);

struct dns_resolver;
struct dns_query;

/* Called once per query on the resolver's loop thread, unless the query was cancelled.
 * The callback owns the answer (dns_answer_free); it is NULL only when memory ran out
 * (a temporary failure). */
typedef void (*dns_callback)(void *arg, struct dns_answer *answer);

/* A resolver on base (the calling thread's loop). Returns 0, ERR_INVAL (a bad resolver
 * address or trust anchor file, with the reason logged), ERR_NOMEM or ERR_IO. */
int dns_resolver_new(struct event_base *base, const struct dns_options *opts,
		     struct dns_resolver **out);
/* Cancels every pending query (no callbacks), stops the worker thread, sets *r NULL.
 * Not from inside a callback of r (libunbound is then inside ub_process on it). */
void dns_resolver_free(struct dns_resolver **r);

/* Ask for type records of name (a host name in text, final dot optional; always taken
 * as fully qualified: no search list). The callback runs later on r's loop, never from
 * inside this call; a callback may start new queries. *q_out (may be NULL) identifies the query for
 * dns_query_cancel until the callback starts. Returns 0, ERR_INVAL (not a host name),
 * ERR_NOMEM or ERR_TEMP (libunbound refused the query). */
int dns_query(struct dns_resolver *r, enum dns_type type, const char *name,
	      dns_callback cb, void *arg, struct dns_query **q_out);
/* Cancel a pending query: its callback is never called; sets *q NULL. */
void dns_query_cancel(struct dns_query **q);

/* The synchronous form for commands: runs r's event base until the answer is in (the
 * caller must own that base and run nothing else on it). Returns 0 with *answer_out set
 * (free it), or the error of dns_query. */
int dns_query_wait(struct dns_resolver *r, enum dns_type type, const char *name,
		   struct dns_answer **answer_out);

void dns_answer_free(struct dns_answer **a);

/* "MX", "TXT", ...: the type's name, or NULL; and back (case-insensitive): 0 / ERR_INVAL. */
const char *dns_type_name(enum dns_type type);
int dns_type_parse(const char *s, enum dns_type *out);
const char *dns_status_name(enum dns_status s); /* "ok", "no data", "NXDOMAIN", ... */
const char *dns_sec_name(enum dns_sec s);       /* "secure", "insecure", "bogus" */

/* ---- the pure parts (dns_parse.c: no I/O, fuzzed) ---- */

/* [dns] resolver: "ADDR:PORT" with an IPv4 address or "[IPv6]:PORT", port 1..65535,
 * into libunbound's "ADDR@PORT" form (out: cap bytes). 0 or ERR_BAD_SYNTAX. */
int dns_parse_server(const char *s, size_t len, char *out, size_t cap);

/* A host name in text (final dot optional) into a checked, lower-case form without the
 * final dot: labels of 1-63 bytes of letters, digits, '-' and '_' (SRV/DKIM/DMARC
 * owners), at most LIMIT_DNS_NAME bytes. 0 or ERR_INVAL. out needs LIMIT_DNS_NAME+1. */
int dns_name_norm(const char *s, size_t len, char *out);

/* Fill a (type and name already set) from the rdata of the answer records: data[i],
 * len[i] for i < n, as libunbound hands them (uncompressed). Sets n/rr (allocated in
 * a->rr, freed by dns_answer_free) or status MALFORMED with why. For MX, sorts by
 * preference with random order among equals, and recognises a null MX. 0 or ERR_NOMEM. */
int dns_parse_rdata(struct dns_answer *a, char *const *data, const int *len, size_t n);

/* A name in DNS wire form (uncompressed labels) at p[0..len) into text, lower case,
 * no final dot ("" for the root); *used_out: its wire length. 0 or ERR_BAD_SYNTAX
 * (truncated, a compression pointer, a label with a byte outside [A-Za-z0-9_-], longer
 * than LIMIT_DNS_NAME). */
int dns_parse_wire_name(const uint8_t *p, size_t len, char *out, size_t *used_out);

#endif
