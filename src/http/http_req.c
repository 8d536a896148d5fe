/* http_req.c: what handlers read from a request: header fields, query parameters
 * (application/x-www-form-urlencoded, decoded into the request arena), cookies
 * (RFC 6265 5.4), the client's address. */
#include "http_int.h"

#include <string.h>
#include <strings.h>

#include "net/net.h"
#include "core/banned.h"

const char *http_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->header_names[i], name) == 0)
			return r->header_values[i];
	return NULL;
}

const char *http_query_param(const struct http_req *r, const char *name)
{
	const char *q = r->query;
	size_t nl = strlen(name);
	while (q && *q) {
		size_t pl = strcspn(q, "&;");
		size_t kl = strcspn(q, "=&;");
		char *key = http_pct_decode(r->a, q, kl, true);
		if (key && strlen(key) == nl && memcmp(key, name, nl) == 0) {
			if (kl >= pl)
				return "";
			return http_pct_decode(r->a, q + kl + 1, pl - kl - 1, true);
		}
		q += pl;
		if (*q)
			q++;
	}
	return NULL;
}

const char *http_cookie(const struct http_req *r, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < r->n_headers; i++) {
		if (strcasecmp(r->header_names[i], "cookie") != 0)
			continue;
		/* cookie-string = cookie-pair *( ";" SP cookie-pair ); be lenient on spaces */
		const char *p = r->header_values[i];
		while (*p) {
			while (*p == ' ' || *p == '\t' || *p == ';')
				p++;
			size_t pl = strcspn(p, ";");
			const char *eq = memchr(p, '=', pl);
			if (eq && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
				const char *v = eq + 1;
				size_t vl = pl - (size_t)(v - p);
				while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
					vl--;
				if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
					v++;
					vl -= 2;
				}
				return arena_strndup(r->a, v, vl);
			}
			p += pl;
		}
	}
	return NULL;
}

const char *http_peer_ip(const struct http_req *r)
{
	return net_conn_peer_ip(r->conn);
}
