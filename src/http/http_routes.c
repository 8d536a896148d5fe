/* http_routes.c: the route table (see http.h for matching). Each part adds its rows
 * here; the admin listener serves /healthz and /metrics and nothing else, and the
 * public listeners never serve those two. */
#include "http.h"

#include "http_admin.h"
#include "core/limits.h"
#include "core/banned.h"

const struct http_route http_routes[] = {
	/* the admin listener (operations.md: never exposed publicly) */
	{"GET", "/healthz", HTTP_ADMIN, http_admin_healthz, 0},
};

const size_t http_routes_n = sizeof(http_routes) / sizeof(http_routes[0]);
