/* mtasts_http.c: the HTTP/1.x response head of an MTA-STS policy fetch (RFC 9112 4-6,
 * RFC 8461 3.3), parsed without I/O or allocation: the status, Content-Length,
 * whether the media type is text/plain, whether a transfer coding was sent. Only what
 * the fetch needs; every other field is checked for shape and skipped. Bound:
 * LIMIT_TLSPOL_HTTP_HEAD for the whole head, LIMIT_TLSPOL_POLICY for Content-Length. */
#include "outbound/tlspol_int.h"

#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

static bool http_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool http_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* "HTTP/1.x SP DDD SP reason" (the reason may be empty and is not looked at). */
static int http_status_line(const uint8_t *p, size_t n, struct mtasts_http_head *out)
{
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return ERR_BAD_SYNTAX;
	unsigned s = 0;
	for (size_t i = 9; i < 12; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ERR_BAD_SYNTAX;
		s = s * 10 + (unsigned)(p[i] - '0');
	}
	if (s < 100 || s > 599 || (n > 12 && p[12] != ' '))
		return ERR_BAD_SYNTAX;
	out->status = s;
	return 0;
}

/* Content-Type: the media type before any ';' parameter, case-insensitive. */
static bool http_text_plain(const uint8_t *v, size_t n)
{
	const uint8_t *semi = memchr(v, ';', n);
	size_t tn = semi ? (size_t)(semi - v) : n;
	while (tn > 0 && http_ows(v[tn - 1]))
		tn--;
	return str_ieq(v, tn, "text/plain");
}

/* Content-Length (RFC 9112 6.3): digits; a repeat must say the same. */
static int http_content_length(const uint8_t *v, size_t n, struct mtasts_http_head *out)
{
	uint64_t cl;
	if (n == 0 || n > 19 || str_to_u64(v, n, UINT64_MAX / 2, &cl) != 0)
		return ERR_BAD_SYNTAX;
	if (out->content_length >= 0 && (uint64_t)out->content_length != cl)
		return ERR_BAD_SYNTAX;
	if (cl > LIMIT_TLSPOL_POLICY)
		return ERR_TOO_BIG;
	out->content_length = (int64_t)cl;
	return 0;
}

/* One field line: name ":" OWS value OWS. */
static int http_field(const uint8_t *p, size_t n, struct mtasts_http_head *out)
{
	if (http_ows(p[0]))
		return ERR_BAD_SYNTAX; /* obs-fold (RFC 9112 5.2): refused */
	const uint8_t *colon = memchr(p, ':', n);
	if (!colon || colon == p)
		return ERR_BAD_SYNTAX;
	size_t nn = (size_t)(colon - p);
	for (size_t i = 0; i < nn; i++)
		if (!http_tchar(p[i]))
			return ERR_BAD_SYNTAX;
	const uint8_t *v = colon + 1, *end = p + n;
	while (v < end && http_ows(*v))
		v++;
	while (end > v && http_ows(end[-1]))
		end--;
	size_t vn = (size_t)(end - v);
	if (str_ieq(p, nn, "content-length"))
		return http_content_length(v, vn, out);
	if (str_ieq(p, nn, "content-type"))
		out->text_plain = http_text_plain(v, vn);
	else if (str_ieq(p, nn, "transfer-encoding"))
		out->transfer_coding = true;
	return 0;
}

int mtasts_http_head(const uint8_t *p, size_t len, struct mtasts_http_head *out)
{
	memset(out, 0, sizeof(*out));
	out->content_length = -1;
	size_t i = 0, lines = 0;
	for (;;) {
		size_t room = len - i;
		const uint8_t *nl = memchr(p + i, '\n', room);
		if (!nl)
			return len >= LIMIT_TLSPOL_HTTP_HEAD ? ERR_TOO_LONG : 0;
		size_t end = (size_t)(nl - p);
		if (end + 1 > LIMIT_TLSPOL_HTTP_HEAD)
			return ERR_TOO_LONG;
		size_t n = end - i;
		if (n > 0 && p[end - 1] == '\r')
			n--;
		for (size_t k = i; k < i + n; k++)
			if (p[k] == '\0' || p[k] == '\r')
				return ERR_BAD_SYNTAX;
		int rc;
		if (lines == 0)
			rc = http_status_line(p + i, n, out);
		else if (n == 0)
			return (int)(end + 1);
		else
			rc = http_field(p + i, n, out);
		if (rc < 0)
			return rc;
		lines++;
		i = end + 1;
	}
}
