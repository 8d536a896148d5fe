/* http_autoconfig.c: the autoconfiguration handlers (http_autoconfig.h): each takes
 * the settings from the running configuration at the time of the request, writes its
 * document with the pure writers into the request's arena (at most
 * LIMIT_AUTOCONFIG_XML) and answers. Nothing here touches account data: the documents
 * say how to reach the server, which anyone may know, so they need no login and they
 * say the same whether or not an address has an account (no way to probe for one). */
#include "http/http_autoconfig.h"

#include <string.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "http/http.h"
#include "core/banned.h"

static void autoconfig_settings_now(struct autoconfig_settings *s)
{
	const struct conf *c = conf_get();
	s->hostname = c->hostname;
	conf_services(c, s->svc);
	s->pop3_expire_days = c->pop3_expire_days;
}

/* Answer a written document, or a 500 for what cannot happen with a valid address
 * (a full buffer: LIMIT_AUTOCONFIG_XML is four times the largest document). */
static void autoconfig_send(struct http_req *r, int rc, const struct buf *b,
                            const char *content_type)
{
	if (rc < 0)
		http_problem(r, rc == ERR_NOTFOUND ? 404 : 500, NULL,
		             rc == ERR_NOTFOUND ? "no incoming or no outgoing mail service is "
		                                  "configured"
		                                : "the document could not be written");
	else
		http_reply(r, 200, content_type, b->data, b->len);
}

void http_autoconfig_thunderbird(struct http_req *r)
{
	const char *address = http_query_param(r, "emailaddress");
	if (address && !address[0])
		address = NULL;
	if (address && !autoconfig_address_ok(address)) {
		http_problem(r, 400, NULL, "emailaddress is not a mail address");
		return;
	}
	struct autoconfig_settings s;
	autoconfig_settings_now(&s);
	struct buf b;
	int rc = buf_alloc(&b, r->a, LIMIT_AUTOCONFIG_XML);
	if (rc == 0)
		rc = autoconfig_write_thunderbird(&b, &s, address);
	autoconfig_send(r, rc, &b, "application/xml; charset=utf-8");
}

void http_autodiscover_pox(struct http_req *r)
{
	if (!r->body || r->body_size > LIMIT_AUTODISCOVER_REQUEST) {
		http_problem(r, 413, NULL, "the autodiscover request is too large");
		return;
	}
	struct autodiscover_request req;
	int rc = autodiscover_parse(r->body, r->body_len, &req);
	if (rc == ERR_TOO_BIG) {
		http_problem(r, 413, NULL, "the autodiscover request is too large");
		return;
	}
	if (rc < 0) {
		http_problem(r, 400, NULL,
		             rc == ERR_TOO_DEEP   ? "the request nests too deeply"
		             : rc == ERR_TOO_LONG ? "an element of the request is too long"
		                                  : "the request is not well-formed XML");
		return;
	}
	struct buf b;
	if ((rc = buf_alloc(&b, r->a, LIMIT_AUTOCONFIG_XML)) == 0) {
		struct autoconfig_settings s;
		autoconfig_settings_now(&s);
		/* [MS-OXDSCLI] 2.2.4.2: a request Exchange cannot answer still gets 200 and
		 * an Error element, which Outlook reads; the schema is checked first since
		 * another schema's client would not understand our settings either */
		if (strcmp(req.schema, AUTODISCOVER_SCHEMA_2006A) != 0)
			rc = autoconfig_write_pox_error(&b, "601",
			                                "Provider is not available "
			                                "for the requested schema");
		else if (!autoconfig_address_ok(req.email))
			rc = autoconfig_write_pox_error(&b, "600", "Invalid Request");
		else
			rc = autoconfig_write_pox(&b, &s, req.email);
	}
	autoconfig_send(r, rc, &b, "text/xml; charset=utf-8");
}

void http_autoconfig_mobileconfig(struct http_req *r)
{
	const char *address = http_query_param(r, "email");
	if (!address || !autoconfig_address_ok(address)) {
		http_problem(r, 400, NULL, "email must be a mail address");
		return;
	}
	struct autoconfig_settings s;
	autoconfig_settings_now(&s);
	struct buf b;
	int rc = buf_alloc(&b, r->a, LIMIT_AUTOCONFIG_XML);
	if (rc == 0)
		rc = autoconfig_write_mobileconfig(&b, &s, address);
	if (rc == 0)
		http_add_header(r, "Content-Disposition",
		                "attachment; filename=\"mail.mobileconfig\"");
	autoconfig_send(r, rc, &b, "application/x-apple-aspen-config");
}
