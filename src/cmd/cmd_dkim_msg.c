/* cmd_dkim_msg.c: `kasten dkim sign` and `kasten dkim verify`, admin checks over one
 * message on stdin (like opendkim-testmsg). sign spools the message to an unlinked
 * temporary file (it is printed after the signature, which needs all of it), bounded by
 * [limits] max_message_size; verify streams it through the verifier. Key records for
 * verify come from a zone file or the resolver (dns.h), through the one callback the
 * server's checks will use too. */
#include "cmd.h"
#include "cmd_dkim_int.h"
#include "cmd_dns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "outbound/dkim.h"
#include "outbound/dkim_int.h"
#include "outbound/dns.h"
#include "core/banned.h"

static int usage(void)
{
	fputs(cmd_dkim_usage, stderr);
	return 2;
}

/* stdin into an unlinked temporary file; NULL (reported) when too big or on I/O error. */
static FILE *msg_spool(uint8_t *buf)
{
	FILE *f = tmpfile();
	uint64_t total = 0, max = conf_get()->max_message_size;
	size_t n;
	if (!f) {
		fprintf(stderr, "kasten dkim: no temporary file\n");
		return NULL;
	}
	while ((n = fread(buf, 1, LIMIT_DKIM_CMD_CHUNK, stdin)) > 0) {
		total += n;
		if (total > max || fwrite(buf, 1, n, f) != n) {
			fprintf(stderr, "kasten dkim: %s\n",
			        total > max ? "message larger than [limits] max_message_size"
			                    : "cannot write the temporary file");
			fclose(f);
			return NULL;
		}
	}
	if (ferror(stdin) || fflush(f) != 0) {
		fprintf(stderr, "kasten dkim: cannot read the message\n");
		fclose(f);
		return NULL;
	}
	rewind(f);
	return f;
}

/* The domain of the first From field's address (after its last '@'), lower case. */
static int msg_from_domain(const struct dkim_msg *m, char *out, size_t cap)
{
	for (size_t i = 0; i < m->nfields; i++) {
		if (!dkim_msg_field_is(m, i, "from"))
			continue;
		const char *f = (const char *)m->hdr + m->field[i].off;
		size_t len = m->field[i].len, at = len;
		for (size_t k = 0; k < len; k++)
			if (f[k] == '@')
				at = k;
		if (at == len)
			return ERR_NOTFOUND;
		size_t e = at + 1;
		while (e < len && (f[e] == '.' || f[e] == '-' || (f[e] >= '0' && f[e] <= '9') ||
		                   ((f[e] | 0x20) >= 'a' && (f[e] | 0x20) <= 'z')))
			e++;
		char tmp[LIMIT_ADDR_DOMAIN + 1];
		if (e - at - 1 >= sizeof(tmp))
			return ERR_INVAL;
		memcpy(tmp, f + at + 1, e - at - 1);
		tmp[e - at - 1] = '\0';
		return dkim_domain_norm(tmp, out, cap);
	}
	return ERR_NOTFOUND;
}

static void msg_no_body(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx; /* only the header is wanted: the From domain */
	(void)p;
	(void)len;
}

/* The From domain from the spooled message's header block. */
static int sign_domain(FILE *f, uint8_t *buf, char *out, size_t cap)
{
	struct dkim_msg *m = malloc(sizeof(*m));
	if (!m)
		return ERR_NOMEM;
	dkim_msg_init(m, msg_no_body, NULL);
	int rc = 0;
	size_t n;
	while (rc == 0 && (n = fread(buf, 1, LIMIT_DKIM_CMD_CHUNK, f)) > 0)
		rc = dkim_msg_feed(m, buf, n);
	if (rc == 0)
		rc = dkim_msg_finish(m);
	if (rc >= 0)
		rc = msg_from_domain(m, out, cap);
	dkim_msg_free(m);
	free(m);
	rewind(f);
	return rc;
}

/* Sign the spooled message with the domain's keys; the signature fields in *sig_out. */
static int sign_run(FILE *f, uint8_t *buf, const char *dom, char **sig_out, size_t *len_out)
{
	struct dkim_key *keys = NULL;
	size_t nkeys = 0;
	char bad[4096] = "";
	int rc = dkim_keys_load(conf_get()->data, dom, &keys, &nkeys, bad, sizeof(bad));
	if (rc < 0) {
		fprintf(stderr, "kasten dkim: keys of %s not read: %s %s\n", dom, err_str(rc), bad);
		return 1;
	}
	if (nkeys == 0) {
		fprintf(stderr, "kasten dkim: %s has no keys (kasten dkim keygen %s)\n", dom, dom);
		return 1;
	}
	struct dkim_signer *s = NULL;
	rc = dkim_signer_new(dom, keys, nkeys < LIMIT_DKIM_KEYS ? nkeys : LIMIT_DKIM_KEYS,
	                     time(NULL), &s);
	dkim_keys_free(&keys, nkeys);
	size_t n;
	while (rc == 0 && (n = fread(buf, 1, LIMIT_DKIM_CMD_CHUNK, f)) > 0)
		rc = dkim_signer_feed(s, buf, n);
	if (rc == 0)
		rc = dkim_signer_finish(s, sig_out, len_out);
	dkim_signer_free(&s);
	if (rc == ERR_INVAL) {
		fprintf(stderr, "kasten dkim: the message has no From field (RFC 6376 5.4)\n");
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "kasten dkim: not signed: %s\n", err_str(rc));
		return 1;
	}
	rewind(f);
	return 0;
}

/* The signature fields in the message's own line ends: LF when its first line ends in
 * a bare LF (a Unix file), else CRLF as on the wire. */
static void sign_print(const char *sig, size_t len, bool lf)
{
	for (size_t i = 0; i < len; i++)
		if (!(lf && sig[i] == '\r'))
			putchar_unlocked(sig[i]);
}

int cmd_dkim_sign(int argc, char **argv)
{
	const char *domain = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--domain") && i + 1 < argc)
			domain = argv[++i];
		else
			return usage();
	}
	char dom[LIMIT_ADDR_DOMAIN + 1];
	if (domain && dkim_domain_norm(domain, dom, sizeof(dom)) < 0) {
		fprintf(stderr, "kasten dkim: '%s' is not a domain name\n", domain);
		return 2;
	}
	if (cmd_drop_privileges(false) < 0)
		return 1;
	uint8_t *buf = malloc(LIMIT_DKIM_CMD_CHUNK);
	FILE *f = buf ? msg_spool(buf) : NULL;
	int ret = 1;
	char *sig = NULL;
	size_t siglen = 0;
	if (!f)
		goto out;
	if (!domain && sign_domain(f, buf, dom, sizeof(dom)) < 0) {
		fprintf(stderr, "kasten dkim: no domain in the From field: give --domain\n");
		goto out;
	}
	if (sign_run(f, buf, dom, &sig, &siglen) != 0)
		goto out;
	size_t n = fread(buf, 1, LIMIT_DKIM_CMD_CHUNK, f);
	const uint8_t *nl = memchr(buf, '\n', n);
	sign_print(sig, siglen, nl && (nl == buf || nl[-1] != '\r'));
	do {
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	} while ((n = fread(buf, 1, LIMIT_DKIM_CMD_CHUNK, f)) > 0);
	ret = ferror(f) || fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
	if (ret)
		fprintf(stderr, "kasten dkim: output failed\n");
out:
	free(sig);
	if (f)
		fclose(f);
	free(buf);
	return ret;
}

/* ---- verify ---- */

struct verify_keys {
	uint8_t *zone; /* --key-record FILE's text, or NULL: DNS */
	size_t zone_len;
	struct event_base *base; /* the resolver's, made on first use */
	struct dns_resolver *resolver;
};

/* RFC 6376 3.6.2.2: the TXT strings joined; NXDOMAIN and no TXT are "no key" (permerror),
 * a temporary failure (bogus included) temperror. More than one record: the first. */
static int verify_lookup_dns(struct verify_keys *k, const char *name, char *out, size_t cap,
                             size_t *len_out)
{
	if (!k->resolver && cmd_dns_resolver(&k->base, &k->resolver) < 0)
		return ERR_TEMP;
	struct dns_answer *a = NULL;
	int rc = dns_query_wait(k->resolver, DNS_TYPE_TXT, name, &a);
	return dkim_key_from_dns(rc, &a, out, cap, len_out);
}

static int verify_lookup(void *ctx, const char *name, char *out, size_t cap, size_t *len_out)
{
	struct verify_keys *k = ctx;
	if (k->zone)
		return dkim_zone_txt(k->zone, k->zone_len, name, out, cap, len_out);
	return verify_lookup_dns(k, name, out, cap, len_out);
}

/* The zone file, at most LIMIT_DKIM_ZONE_FILE bytes. */
static int verify_read_zone(const char *path, struct verify_keys *k)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "kasten dkim: %s: cannot open\n", path);
		return -1;
	}
	k->zone = malloc(LIMIT_DKIM_ZONE_FILE + 1);
	k->zone_len = k->zone ? fread(k->zone, 1, LIMIT_DKIM_ZONE_FILE + 1, f) : 0;
	int bad = !k->zone || ferror(f) || k->zone_len > LIMIT_DKIM_ZONE_FILE;
	fclose(f);
	if (bad)
		fprintf(stderr, "kasten dkim: %s: unreadable or larger than %u bytes\n", path,
		        (unsigned)LIMIT_DKIM_ZONE_FILE);
	return bad ? -1 : 0;
}

/* One result as an RFC 8601 resinfo: dkim=RESULT [reason] header.d header.s header.a
 * header.b (RFC 6008). */
static void verify_print(const struct dkim_verify_result *r)
{
	printf("dkim=%s", dkim_result_name(r->result));
	if (r->reason[0])
		printf(" reason=\"%s\"", r->reason);
	if (r->domain[0])
		printf(" header.d=%s", r->domain);
	if (r->selector[0])
		printf(" header.s=%s", r->selector);
	if (r->alg[0])
		printf(" header.a=%s", r->alg);
	if (r->header_b[0])
		printf(" header.b=%s", r->header_b);
	if (r->testing)
		printf(" (testing key)");
	putchar('\n');
}

int cmd_dkim_verify(int argc, char **argv)
{
	struct verify_keys k = {0};
	const char *zone = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key-record") && i + 1 < argc)
			zone = argv[++i];
		else
			return usage();
	}
	if (zone && verify_read_zone(zone, &k) < 0) {
		free(k.zone);
		return 1;
	}
	struct dkim_verifier *v = NULL;
	uint8_t *buf = malloc(LIMIT_DKIM_CMD_CHUNK);
	int rc = buf ? dkim_verifier_new(time(NULL), &v) : ERR_NOMEM;
	size_t n;
	while (rc == 0 && (n = fread(buf, 1, LIMIT_DKIM_CMD_CHUNK, stdin)) > 0)
		rc = dkim_verifier_feed(v, buf, n);
	struct dkim_verify_result res[LIMIT_DKIM_SIGS];
	size_t nres = 0;
	if (rc == 0)
		rc = dkim_verifier_finish(v, verify_lookup, &k, res, LIMIT_DKIM_SIGS, &nres);
	dkim_verifier_free(&v);
	free(buf);
	free(k.zone);
	if (k.resolver)
		dns_resolver_free(&k.resolver);
	if (k.base)
		event_base_free(k.base);
	if (rc < 0) {
		fprintf(stderr, "kasten dkim: not verified: %s\n", err_str(rc));
		return 1;
	}
	if (nres == 0)
		printf("dkim=none\n");
	bool all = nres > 0;
	for (size_t i = 0; i < nres; i++) {
		verify_print(&res[i]);
		all = all && res[i].result == DKIM_RESULT_PASS;
	}
	return fflush(stdout) == 0 && all ? 0 : 1;
}
