/* http_web.h: the webmail, served from the binary. Its files (web/ and the two npm dist
 * files) are turned into a table at build time by scripts/embed-web.py (the generated
 * http_web_assets.c); nothing is read from disk at run time, so no request can name a
 * file outside the table (no directory traversal by construction).
 *
 * GET / answers index.html, GET /web/<path> the file of that path; both with the page's
 * Content-Security-Policy (docs/webmail.md, "Security model"), Cache-Control: no-cache
 * and a strong ETag, and 304 when If-None-Match matches it. Unknown paths: 404. */
#ifndef KASTEN_HTTP_WEB_H
#define KASTEN_HTTP_WEB_H

#include <stddef.h>

struct http_req;

struct http_web_asset {
	const char *path;         /* "index.html", "js/main.mjs", "vendor/purify.es.mjs" */
	const char *content_type; /* with charset for text */
	const unsigned char *data;
	size_t len;
	const char *etag;         /* strong, quoted: a hash of the bytes */
};
/* Sorted by path (strcmp order). */
extern const struct http_web_asset http_web_assets[];
extern const size_t http_web_assets_n;

/* The asset of path (relative, no leading '/'), or NULL. */
const struct http_web_asset *http_web_find(const char *path);

/* The page's Content-Security-Policy, sent with every webmail file. */
extern const char http_web_csp[];

void http_web_index(struct http_req *r); /* GET / */
void http_web_file(struct http_req *r);  /* GET /web/<path> */

#endif
