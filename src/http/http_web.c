/* http_web.c: the handlers serving the embedded webmail (http_web.h). Static bytes from
 * the generated table: no store, no login (the page logs in itself over /jmap/login),
 * nothing about any account. Every answer carries the page's CSP. */
#include "http/http_web.h"

#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/http_etag.h"
#include "core/banned.h"

/* Scripts only from our own files (never inline: no 'unsafe-inline' for scripts, so an
 * injected <script> or handler cannot run), connections only to our own API, no forms
 * or <base> that could leave the page, and no framing of the app.
 * Two sources are wider than the app itself needs, for the message iframe: its srcdoc
 * document inherits this policy (HTML's policy container) on top of its own <meta> CSP,
 * so what a mail needs must pass both. Mail is styled with <style> and style="" (CSS
 * runs no script), hence style-src 'unsafe-inline'; and http:/https: images are
 * allowed here so that "show remote images" can work at all: until the user asks, the
 * frame's own policy (img-src data: blob:) blocks them, and the sanitizer has already
 * moved remote URLs into inert attributes. The app builds its DOM from text only, so
 * neither source is reachable from mail content in the app's own document. */
const char http_web_csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
	"img-src 'self' data: blob: http: https:; connect-src 'self'; frame-src 'self' blob:; "
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static int asset_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct http_web_asset *)elem)->path);
}

const struct http_web_asset *http_web_find(const char *path)
{
	return bsearch(path, http_web_assets, http_web_assets_n, sizeof http_web_assets[0],
		       asset_cmp);
}

static void serve(struct http_req *r, const struct http_web_asset *f)
{
	http_add_header(r, "Content-Security-Policy", http_web_csp);
	if (!f) {
		http_problem(r, 404, NULL, NULL);
		return;
	}
	/* no-cache: the browser asks again each time (a new build is seen at once) and
	 * gets a 304 while the bytes are the same */
	http_add_header(r, "Cache-Control", "no-cache");
	http_add_header(r, "ETag", f->etag);
	const char *inm = http_header(r, "If-None-Match");
	if (inm && http_etag_none_match(inm, strlen(inm), f->etag)) {
		http_reply(r, 304, NULL, NULL, 0);
		return;
	}
	http_reply(r, 200, f->content_type, f->data, f->len);
}

void http_web_index(struct http_req *r)
{
	serve(r, http_web_find("index.html"));
}

void http_web_file(struct http_req *r)
{
	serve(r, http_web_find(r->path + strlen("/web/")));
}
