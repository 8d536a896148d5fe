/* http_autoconfig.h: the client autoconfiguration documents and the one request we
 * read, pure (no I/O, no config access: the handlers in http_autoconfig.c pass what
 * conf_get() says), so unit tests and the fuzzer drive them alone.
 *
 *   Thunderbird autoconfig (clientConfig version 1.1): GET
 *     /.well-known/autoconfig/mail/config-v1.1.xml and /mail/config-v1.1.xml
 *   Outlook POX autodiscover (responseschema 2006a): POST /autodiscover/autodiscover.xml
 *   Apple configuration profile (com.apple.mail.managed): GET /mobileconfig?email=ADDR
 *
 * Every document lists the services of conf_services() that are on, in its order
 * (IMAP first, implicit TLS first: conf_services.h), under [server] hostname. Every
 * text that came from the client (the address) is XML-escaped; the address must first
 * pass autoconfig_address_ok (an RFC 5321 mailbox: valid UTF-8, no control
 * characters), so escaping is all XML needs. Documents are written into a struct buf
 * of the caller's; they stay under LIMIT_AUTOCONFIG_XML. */
#ifndef KASTEN_HTTP_AUTOCONFIG_H
#define KASTEN_HTTP_AUTOCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf_services.h"
#include "core/limits.h"

struct buf;

/* What the documents are made of (the handlers fill it from conf_get()). */
struct autoconfig_settings {
	const char *hostname;                   /* [server] hostname */
	struct conf_service svc[CONF_SERVICES]; /* conf_services(); port 0 = off */
	unsigned pop3_expire_days;              /* [pop3] expire_days (0 = never) */
};

/* An address a document may be made for: an RFC 5321 mailbox (core/addr.h), at most
 * LIMIT_ADDR_MAILBOX octets. */
bool autoconfig_address_ok(const char *address);

/* Thunderbird's config-v1.1.xml for the domain of address (NULL: no address was given;
 * the domain is then the hostname). User names are "%EMAILADDRESS%", which Thunderbird
 * replaces with the address the user typed. POP3 entries carry the hints of
 * autoconfig_pop3_leave(). 0, ERR_FULL (out too small) or ERR_INVAL (a bad address). */
int autoconfig_write_thunderbird(struct buf *out, const struct autoconfig_settings *s,
                                 const char *address);

/* The POP3 hints: leave copies on the server (and for how many days; 0 = no limit
 * given) when [pop3] expire_days is set, delete after download when it is not. The
 * reason is in http_autoconfig_xml.c. */
bool autoconfig_pop3_leave(const struct autoconfig_settings *s, unsigned *days_out);

/* Outlook's POX answer (responseschema 2006a) for address: one Protocol element per
 * service that is on, LoginName the address. 0, ERR_FULL or ERR_INVAL. */
int autoconfig_write_pox(struct buf *out, const struct autoconfig_settings *s, const char *address);
/* A POX error answer (responseschema 2006): code "600" (invalid request) or "601"
 * (the requested schema is not provided), message a fixed text of ours. */
int autoconfig_write_pox_error(struct buf *out, const char *code, const char *message);

/* An Apple configuration profile (plist XML, unsigned) with one com.apple.mail.managed
 * payload for address: IMAP if any IMAP listener is on, else POP3; submission with
 * implicit TLS if on, else STARTTLS. Its PayloadUUIDs and identifiers are derived from
 * the hostname and the address (SHA-256), so downloading it again replaces the
 * installed profile instead of adding a second account. ERR_NOTFOUND when no incoming
 * or no outgoing service is on; else like the others. */
int autoconfig_write_mobileconfig(struct buf *out, const struct autoconfig_settings *s,
                                  const char *address);

/* ---- the POX request reader (http_autodiscover_parse.c) ----
 *
 *   <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/
 *                        requestschema/2006">
 *     <Request>
 *       <EMailAddress>user@example.org</EMailAddress>
 *       <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/
 *                                 outlook/responseschema/2006a</AcceptableResponseSchema>
 *     </Request>
 *   </Autodiscover>
 *
 * A strict reader of well-formed XML 1.0 as far as this request needs it: an optional
 * BOM and XML declaration, comments, processing instructions, elements (prefixes
 * ignored: local names compared), attributes, text with the five predefined entities
 * and character references, CDATA sections. Refused (ERR_BAD_SYNTAX): a DOCTYPE (no
 * entity can be defined, so none can expand), mismatched or unclosed tags, a second
 * root, text outside the root, a character not allowed in XML, invalid UTF-8, NUL.
 * Bounds: len at most LIMIT_AUTODISCOVER_REQUEST (ERR_TOO_BIG), element nesting at most
 * LIMIT_AUTODISCOVER_DEPTH (ERR_TOO_DEEP); the two texts we keep at most their fields'
 * size (ERR_TOO_LONG). Reads only p[0..len); no allocation. */
#define AUTODISCOVER_SCHEMA_LEN 255
struct autodiscover_request {
	char email[LIMIT_ADDR_MAILBOX + 1];       /* Autodiscover/Request/EMailAddress,
	                                           * surrounding white space removed; "" if
	                                           * absent */
	char schema[AUTODISCOVER_SCHEMA_LEN + 1]; /* .../AcceptableResponseSchema, likewise */
};
int autodiscover_parse(const uint8_t *p, size_t len, struct autodiscover_request *out);

/* The response schema we answer (the request's AcceptableResponseSchema must be it). */
#define AUTODISCOVER_SCHEMA_2006A                                                                  \
	"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

/* ---- the handlers (http_autoconfig.c), rows of http_routes.c on the public
 * listeners; each answers from conf_get() at the time of the request ---- */
struct http_req;
/* GET config-v1.1.xml[?emailaddress=ADDR]: 200 application/xml; 400 (problem) for an
 * emailaddress that is not a mailbox. */
void http_autoconfig_thunderbird(struct http_req *r);
/* POST autodiscover.xml: 200 text/xml with the settings, or with a POX Error (600: no
 * usable EMailAddress; 601: another response schema asked for); 400 (problem) for a
 * body that is not well-formed XML or past LIMIT_AUTODISCOVER_DEPTH; 413 past
 * LIMIT_AUTODISCOVER_REQUEST (the route's max_body). */
void http_autodiscover_pox(struct http_req *r);
/* GET /mobileconfig?email=ADDR: 200 application/x-apple-aspen-config (an attachment);
 * 400 without a mailbox in email; 404 when no incoming or outgoing service is on. */
void http_autoconfig_mobileconfig(struct http_req *r);

#endif
