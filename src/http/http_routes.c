/* http_routes.c: the route table (see http.h for matching). Each part adds its rows
 * here; the admin listener serves /healthz and /metrics and nothing else, and the
 * public listeners never serve those two. */
#include "http.h"

#include "http_admin.h"
#include "http/http_autoconfig.h"
#include "http/jmap.h"
#include "http/http_web.h"
#include "core/limits.h"
#include "core/banned.h"

const struct http_route http_routes[] = {
	/* the admin listener (operations.md: never exposed publicly) */
	{"GET", "/healthz", HTTP_ADMIN, http_admin_healthz, 0},
	{"GET", "/metrics", HTTP_ADMIN, http_admin_metrics, 0},
	/* JMAP (RFC 8620) and the webmail's login: src/http/jmap_*.c */
	{"GET", "/.well-known/jmap", HTTP_PUBLIC, jmap_http_session, 0},
	{"GET", "/jmap/session", HTTP_PUBLIC, jmap_http_session, 0},
	{"POST", "/jmap/api", HTTP_PUBLIC, jmap_http_api, LIMIT_HTTP_BODY_API},
	{"POST", "/jmap/login", HTTP_PUBLIC, jmap_http_login, 0},
	{"POST", "/jmap/logout", HTTP_PUBLIC, jmap_http_logout, 0},
	{"POST", "/jmap/upload/", HTTP_PUBLIC, jmap_http_upload, HTTP_BODY_UPLOAD},
	{"GET", "/jmap/download/", HTTP_PUBLIC, jmap_http_download, 0},
	{"GET", "/jmap/eventsource", HTTP_PUBLIC, jmap_http_eventsource, 0},
	/* client autoconfiguration (src/http/http_autoconfig.c): Thunderbird asks both
	 * paths, Outlook spells its path either way */
	{"GET", "/.well-known/autoconfig/mail/config-v1.1.xml", HTTP_PUBLIC,
	 http_autoconfig_thunderbird, 0},
	{"GET", "/mail/config-v1.1.xml", HTTP_PUBLIC, http_autoconfig_thunderbird, 0},
	{"POST", "/autodiscover/autodiscover.xml", HTTP_PUBLIC, http_autodiscover_pox,
	 LIMIT_AUTODISCOVER_REQUEST},
	{"POST", "/Autodiscover/Autodiscover.xml", HTTP_PUBLIC, http_autodiscover_pox,
	 LIMIT_AUTODISCOVER_REQUEST},
	{"GET", "/mobileconfig", HTTP_PUBLIC, http_autoconfig_mobileconfig, 0},
	/* the webmail, embedded (src/http/http_web.c) */
	{"GET", "/", HTTP_PUBLIC, http_web_index, 0},
	{"GET", "/web/", HTTP_PUBLIC, http_web_file, 0},
};

const size_t http_routes_n = sizeof(http_routes) / sizeof(http_routes[0]);
