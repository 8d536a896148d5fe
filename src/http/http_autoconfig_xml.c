/* http_autoconfig_xml.c: Thunderbird's config-v1.1.xml and Outlook's POX autodiscover
 * answer (http_autoconfig.h), and the XML text writing both and the Apple profile use.
 * Pure: no I/O; everything goes into the caller's buf (bounded: ERR_FULL).
 *
 * Formats: Thunderbird's clientConfig 1.1 ("Autoconfiguration file format" of the
 * Mozilla wiki: socketType SSL = implicit TLS, STARTTLS; authentication
 * password-cleartext = PLAIN/LOGIN, fine inside TLS); Microsoft's POX autodiscover
 * ([MS-OXDSCLI] 2.2.4: Protocol Type/Server/Port/LoginName/SPA/SSL/Encryption/
 * AuthRequired; Encryption "SSL" = implicit TLS, "TLS" = STARTTLS, and it overrides SSL
 * when present). */
#include "http/http_autoconfig.h"

#include <string.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/err.h"
#include "http/http_autoconfig_int.h"
#include "core/banned.h"

bool autoconfig_address_ok(const char *address)
{
	size_t len = strlen(address);
	return len > 0 && len <= LIMIT_ADDR_MAILBOX &&
	       addr_mailbox_check(address, len, NULL, NULL) == 0;
}

int autoconfig_xml_text(struct buf *b, const char *s)
{
	int rc = 0;
	for (const char *p = s; *p && rc == 0; p++) {
		switch (*p) {
		case '&':
			rc = buf_append(b, "&amp;", 5);
			break;
		case '<':
			rc = buf_append(b, "&lt;", 4);
			break;
		case '>':
			rc = buf_append(b, "&gt;", 4);
			break;
		case '"':
			rc = buf_append(b, "&quot;", 6);
			break;
		case '\'':
			rc = buf_append(b, "&apos;", 6);
			break;
		default:
			/* XML 1.0 2.2: no control characters but TAB, LF, CR; what we
			 * write comes from the config or passed autoconfig_address_ok */
			if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return ERR_INVAL;
			rc = buf_append(b, p, 1);
		}
	}
	return rc;
}

int autoconfig_xml_elem(struct buf *b, unsigned indent, const char *name, const char *text)
{
	int rc = buf_printf(b, "%*s<%s>", (int)indent, "", name);
	if (rc == 0)
		rc = autoconfig_xml_text(b, text);
	return rc == 0 ? buf_printf(b, "</%s>\n", name) : rc;
}

int autoconfig_xml_elem_u(struct buf *b, unsigned indent, const char *name, unsigned v)
{
	return buf_printf(b, "%*s<%s>%u</%s>\n", (int)indent, "", name, v, name);
}

/* Where a copy left on the server goes: with [pop3] expire_days = N the server removes
 * mail N days after a POP3 client first retrieved it (RFC 2449 6.7 EXPIRE), so leaving
 * copies costs quota for N days only and the webmail and IMAP devices see the mail
 * meanwhile: leave them, for N days. Without it nothing ever removes the copies, and a
 * client that leaves them fills the quota unnoticed (the common way a POP3 account
 * runs full): download and delete, POP3's own model. */
bool autoconfig_pop3_leave(const struct autoconfig_settings *s, unsigned *days_out)
{
	*days_out = s->pop3_expire_days;
	return s->pop3_expire_days > 0;
}

static const char *tb_socket_type(const struct conf_service *svc)
{
	return svc->implicit_tls ? "SSL" : "STARTTLS";
}

static int tb_pop3_hints(struct buf *b, const struct autoconfig_settings *s)
{
	unsigned days;
	bool leave = autoconfig_pop3_leave(s, &days);
	int rc = buf_printf(b, "      <pop3>\n");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "leaveMessagesOnServer", leave ? "true" : "false");
	if (rc == 0 && leave)
		rc = autoconfig_xml_elem_u(b, 8, "daysToLeaveMessagesOnServer", days);
	/* whole messages at each check: POP3 has no later sync to fetch the rest */
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "downloadOnBiff", "true");
	return rc == 0 ? buf_printf(b, "      </pop3>\n") : rc;
}

static int tb_server(struct buf *b, const struct autoconfig_settings *s,
                     const struct conf_service *svc)
{
	static const char *const types[] = {"imap", "pop3", "smtp"};
	bool out = svc->proto == CONF_SERVICE_SUBMISSION;
	const char *elem = out ? "outgoingServer" : "incomingServer";
	int rc = buf_printf(b, "    <%s type=\"%s\">\n", elem, types[svc->proto]);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 6, "hostname", s->hostname);
	if (rc == 0)
		rc = autoconfig_xml_elem_u(b, 6, "port", svc->port);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 6, "socketType", tb_socket_type(svc));
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 6, "authentication", "password-cleartext");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 6, "username", "%EMAILADDRESS%");
	if (rc == 0 && svc->proto == CONF_SERVICE_POP3)
		rc = tb_pop3_hints(b, s);
	return rc == 0 ? buf_printf(b, "    </%s>\n", elem) : rc;
}

int autoconfig_write_thunderbird(struct buf *b, const struct autoconfig_settings *s,
                                 const char *address)
{
	if (address && !autoconfig_address_ok(address))
		return ERR_INVAL;
	/* a mailbox's domain follows its last '@' (a quoted local part may hold one) */
	const char *domain = address ? strrchr(address, '@') + 1 : s->hostname;
	int rc = buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                       "<clientConfig version=\"1.1\">\n  <emailProvider id=\"");
	if (rc == 0)
		rc = autoconfig_xml_text(b, domain);
	if (rc == 0)
		rc = buf_printf(b, "\">\n");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 4, "domain", domain);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 4, "displayName", s->hostname);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 4, "displayShortName", domain);
	/* incoming servers first: Thunderbird takes the first one as the preferred */
	for (size_t i = 0; i < CONF_SERVICES && rc == 0; i++)
		if (s->svc[i].port && s->svc[i].proto != CONF_SERVICE_SUBMISSION)
			rc = tb_server(b, s, &s->svc[i]);
	for (size_t i = 0; i < CONF_SERVICES && rc == 0; i++)
		if (s->svc[i].port && s->svc[i].proto == CONF_SERVICE_SUBMISSION)
			rc = tb_server(b, s, &s->svc[i]);
	return rc == 0 ? buf_printf(b, "  </emailProvider>\n</clientConfig>\n") : rc;
}

#define POX_RESPONSE_2006 "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"

static int pox_protocol(struct buf *b, const struct autoconfig_settings *s,
                        const struct conf_service *svc, const char *address)
{
	static const char *const types[] = {"IMAP", "POP3", "SMTP"};
	int rc = buf_printf(b, "      <Protocol>\n");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "Type", types[svc->proto]);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "Server", s->hostname);
	if (rc == 0)
		rc = autoconfig_xml_elem_u(b, 8, "Port", svc->port);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "DomainRequired", "off");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "LoginName", address);
	/* SPA is NTLM, which kasten does not offer */
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "SPA", "off");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "SSL", "on");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "Encryption", svc->implicit_tls ? "SSL" : "TLS");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 8, "AuthRequired", "on");
	return rc == 0 ? buf_printf(b, "      </Protocol>\n") : rc;
}

int autoconfig_write_pox(struct buf *b, const struct autoconfig_settings *s, const char *address)
{
	if (!autoconfig_address_ok(address))
		return ERR_INVAL;
	int rc = buf_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                       "<Autodiscover xmlns=\"" POX_RESPONSE_2006 "\">\n"
	                       "  <Response xmlns=\"" AUTODISCOVER_SCHEMA_2006A "\">\n"
	                       "    <Account>\n"
	                       "      <AccountType>email</AccountType>\n"
	                       "      <Action>settings</Action>\n");
	for (size_t i = 0; i < CONF_SERVICES && rc == 0; i++)
		if (s->svc[i].port)
			rc = pox_protocol(b, s, &s->svc[i], address);
	return rc == 0 ? buf_printf(b, "    </Account>\n  </Response>\n</Autodiscover>\n") : rc;
}

int autoconfig_write_pox_error(struct buf *b, const char *code, const char *message)
{
	int rc = buf_printf(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	                       "<Autodiscover xmlns=\"" POX_RESPONSE_2006 "\">\n"
	                       "  <Response>\n    <Error>\n");
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 6, "ErrorCode", code);
	if (rc == 0)
		rc = autoconfig_xml_elem(b, 6, "Message", message);
	return rc == 0 ? buf_printf(b, "      <DebugData />\n    </Error>\n  </Response>\n"
	                               "</Autodiscover>\n")
	               : rc;
}
