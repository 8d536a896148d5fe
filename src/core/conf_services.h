/* conf_services.h: the mail services the running configuration offers to mail clients,
 * as one list for everything that tells a client how to connect: the autoconfig,
 * autodiscover and mobileconfig documents (src/http/http_autoconfig*.c) and the RFC
 * 6186 SRV records of `kasten dns DOMAIN` (src/outbound/dns_records.c). One list keeps
 * what a client is told and what DNS says the same.
 *
 * Order of preference (index order): IMAP before POP3 (the mailbox stays on the server
 * where the webmail and other devices see it), and within a protocol implicit TLS
 * before STARTTLS (RFC 8314 3.3 and 4.x: implicit TLS is preferred, it leaves nothing
 * before the handshake to attack). */
#ifndef KASTEN_CONF_SERVICES_H
#define KASTEN_CONF_SERVICES_H

#include <stdbool.h>

struct conf;

enum conf_service_proto { CONF_SERVICE_IMAP, CONF_SERVICE_POP3, CONF_SERVICE_SUBMISSION };

struct conf_service {
	enum conf_service_proto proto;
	bool implicit_tls; /* imaps, pop3s, submissions; else STARTTLS (imap, pop3,
	                    * submission: kasten offers STARTTLS on each, with the [tls]
	                    * certificate or the self-signed one) */
	const char *name;  /* the [listen] key, also the RFC 6186 service label: "imaps" */
	unsigned port;     /* the listener's port; 0 when the service is off: its listener
	                    * is off, or it is POP3 and [pop3] enabled = no */
};

#define CONF_SERVICES 6 /* imaps, imap, pop3s, pop3, submissions, submission */

/* Fill out[0..CONF_SERVICES) from c, in the order of preference above. */
void conf_services(const struct conf *c, struct conf_service out[CONF_SERVICES]);

/* The PORT of a [listen] value "ADDR:PORT" (conf_load has checked it), 0 for NULL or ""
 * (off). */
unsigned conf_listen_port(const char *listen);

#endif
