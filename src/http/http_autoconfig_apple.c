/* http_autoconfig_apple.c: an Apple configuration profile for one mail account
 * (http_autoconfig.h): a plist (XML, Apple's PropertyList-1.0 DTD) of payload type
 * "Configuration" holding one com.apple.mail.managed payload (Apple's "Mail" payload:
 * EmailAccountType, IncomingMailServer*, OutgoingMailServer*, Payload*). Unsigned: the
 * device says so when installing; signing needs a certificate a client trusts, which
 * the self-signed default is not.
 *
 * UseSSL is true for STARTTLS ports too: Apple Mail then upgrades with STARTTLS, and a
 * false would let it log in without TLS. Pure: no I/O. */
#include "http/http_autoconfig.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/http_autoconfig_int.h"
#include "core/banned.h"

#define APPLE_DIGEST 32

/* A stable id for (what, hostname, address): SHA-256 over the three, NUL-separated. */
static int apple_digest(const char *what, const char *hostname, const char *address,
                        unsigned char md[APPLE_DIGEST])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	         EVP_DigestUpdate(ctx, what, strlen(what) + 1) &&
	         EVP_DigestUpdate(ctx, hostname, strlen(hostname) + 1) &&
	         EVP_DigestUpdate(ctx, address, strlen(address)) &&
	         EVP_DigestFinal_ex(ctx, md, &len) && len == APPLE_DIGEST;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : ERR_NOMEM;
}

/* RFC 9562 5.8: a version 8 (custom) UUID from the digest's first 16 bytes. */
static void apple_uuid(const unsigned char md[APPLE_DIGEST], char out[37])
{
	unsigned char u[16];
	for (int i = 0; i < 16; i++)
		u[i] = md[i];
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x80);
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = "0123456789ABCDEF"[u[i] >> 4];
		out[o++] = "0123456789ABCDEF"[u[i] & 15];
	}
	out[o] = '\0';
}

static int apple_key(struct buf *b, unsigned indent, const char *key, const char *str)
{
	int rc = buf_printf(b, "%*s<key>%s</key>\n", (int)indent, "", key);
	return rc == 0 ? autoconfig_xml_elem(b, indent, "string", str) : rc;
}

static int apple_key_int(struct buf *b, unsigned indent, const char *key, unsigned v)
{
	return buf_printf(b, "%*s<key>%s</key>\n%*s<integer>%u</integer>\n", (int)indent, "", key,
	                  (int)indent, "", v);
}

static int apple_key_bool(struct buf *b, unsigned indent, const char *key, bool v)
{
	return buf_printf(b, "%*s<key>%s</key>\n%*s<%s/>\n", (int)indent, "", key, (int)indent, "",
	                  v ? "true" : "false");
}

/* One side of the account: "Incoming" or "Outgoing". */
static int apple_server(struct buf *b, const char *side, const struct autoconfig_settings *s,
                        const struct conf_service *svc, const char *address)
{
	char key[64];
	int rc = 0;
	const char *const fields[] = {"Authentication", "HostName", "PortNumber", "UseSSL",
	                              "Username"};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && rc == 0; i++) {
		int n = snprintf(key, sizeof(key), "%sMailServer%s", side, fields[i]);
		if (n < 0 || (size_t)n >= sizeof(key))
			return ERR_FULL;
		switch (i) {
		case 0:
			rc = apple_key(b, 6, key, "EmailAuthPassword");
			break;
		case 1:
			rc = apple_key(b, 6, key, s->hostname);
			break;
		case 2:
			rc = apple_key_int(b, 6, key, svc->port);
			break;
		case 3:
			rc = apple_key_bool(b, 6, key, true);
			break;
		default:
			rc = apple_key(b, 6, key, address);
			break;
		}
	}
	return rc;
}

static const struct conf_service *apple_pick(const struct autoconfig_settings *s, bool out)
{
	for (size_t i = 0; i < CONF_SERVICES; i++)
		if (s->svc[i].port && (s->svc[i].proto == CONF_SERVICE_SUBMISSION) == out)
			return &s->svc[i];
	return NULL;
}

/* PayloadIdentifier: reverse-DNS under the hostname, made unique by the digest. */
static int apple_identifier(char *out, size_t cap, const char *hostname,
                            const unsigned char md[APPLE_DIGEST], const char *suffix)
{
	size_t o = 0, end = strlen(hostname);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && hostname[start - 1] != '.')
			start--;
		if (o + (end - start) + 2 >= cap)
			return ERR_FULL;
		for (size_t i = start; i < end; i++)
			out[o++] = hostname[i];
		out[o++] = '.';
		end = start > 0 ? start - 1 : 0;
	}
	int n = snprintf(out + o, cap - o, "kasten-mail.%02x%02x%02x%02x%02x%02x%02x%02x%s", md[0],
	                 md[1], md[2], md[3], md[4], md[5], md[6], md[7], suffix);
	return n < 0 || (size_t)n >= cap - o ? ERR_FULL : 0;
}

static int apple_account(struct buf *b, const struct autoconfig_settings *s,
                         const struct conf_service *in, const struct conf_service *out,
                         const char *address, const unsigned char md[APPLE_DIGEST])
{
	char uuid[37], ident[LIMIT_DNS_NAME + 64];
	apple_uuid(md, uuid);
	int rc = apple_identifier(ident, sizeof(ident), s->hostname, md, ".account");
	if (rc == 0)
		rc = buf_printf(b, "    <dict>\n");
	if (rc == 0)
		rc = apple_key(b, 6, "EmailAccountDescription", address);
	if (rc == 0)
		rc = apple_key(b, 6, "EmailAccountType",
		               in->proto == CONF_SERVICE_IMAP ? "EmailTypeIMAP" : "EmailTypePOP");
	if (rc == 0)
		rc = apple_key(b, 6, "EmailAddress", address);
	if (rc == 0)
		rc = apple_server(b, "Incoming", s, in, address);
	if (rc == 0)
		rc = apple_server(b, "Outgoing", s, out, address);
	if (rc == 0)
		rc = apple_key_bool(b, 6, "OutgoingPasswordSameAsIncomingPassword", true);
	if (rc == 0)
		rc = apple_key(b, 6, "PayloadDisplayName", address);
	if (rc == 0)
		rc = apple_key(b, 6, "PayloadIdentifier", ident);
	if (rc == 0)
		rc = apple_key(b, 6, "PayloadType", "com.apple.mail.managed");
	if (rc == 0)
		rc = apple_key(b, 6, "PayloadUUID", uuid);
	if (rc == 0)
		rc = apple_key_int(b, 6, "PayloadVersion", 1);
	return rc == 0 ? buf_printf(b, "    </dict>\n") : rc;
}

int autoconfig_write_mobileconfig(struct buf *b, const struct autoconfig_settings *s,
                                  const char *address)
{
	if (!autoconfig_address_ok(address))
		return ERR_INVAL;
	const struct conf_service *in = apple_pick(s, false), *out = apple_pick(s, true);
	if (!in || !out)
		return ERR_NOTFOUND;
	unsigned char md_profile[APPLE_DIGEST], md_account[APPLE_DIGEST];
	char uuid[37], ident[LIMIT_DNS_NAME + 64];
	int rc = apple_digest("kasten mobileconfig profile", s->hostname, address, md_profile);
	if (rc == 0)
		rc = apple_digest("kasten mobileconfig account", s->hostname, address, md_account);
	if (rc == 0)
		rc = apple_identifier(ident, sizeof(ident), s->hostname, md_profile, "");
	if (rc < 0)
		return rc;
	apple_uuid(md_profile, uuid);
	rc = buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                   "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	                   "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	                   "<plist version=\"1.0\">\n<dict>\n  <key>PayloadContent</key>\n"
	                   "  <array>\n");
	if (rc == 0)
		rc = apple_account(b, s, in, out, address, md_account);
	if (rc == 0)
		rc = buf_printf(b, "  </array>\n");
	if (rc == 0)
		rc = apple_key(b, 2, "PayloadDescription", s->hostname);
	if (rc == 0)
		rc = apple_key(b, 2, "PayloadDisplayName", address);
	if (rc == 0)
		rc = apple_key(b, 2, "PayloadIdentifier", ident);
	if (rc == 0)
		rc = apple_key_bool(b, 2, "PayloadRemovalDisallowed", false);
	if (rc == 0)
		rc = apple_key(b, 2, "PayloadType", "Configuration");
	if (rc == 0)
		rc = apple_key(b, 2, "PayloadUUID", uuid);
	if (rc == 0)
		rc = apple_key_int(b, 2, "PayloadVersion", 1);
	return rc == 0 ? buf_printf(b, "</dict>\n</plist>\n") : rc;
}
