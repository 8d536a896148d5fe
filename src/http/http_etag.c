/* http_etag.c: If-None-Match matching (http_etag.h; RFC 9110 13.1.2, 8.8.3). Reads only
 * inm[0..len); a field of any length is walked once. */
#include "http/http_etag.h"

#include <string.h>

#include "core/banned.h"

/* etagc = "!" / %x23-7E / obs-text (RFC 9110 8.8.3) */
static bool etagc(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c != 0x7F);
}

static bool ows(char c)
{
	return c == ' ' || c == '\t';
}

bool http_etag_none_match(const char *inm, size_t len, const char *etag)
{
	size_t i = 0, want = strlen(etag);
	bool matched = false, any = false;
	while (i < len && ows(inm[i]))
		i++;
	if (i < len && inm[i] == '*') {
		for (i++; i < len && ows(inm[i]); i++)
			;
		return i == len;
	}
	while (i < len) {
		if (inm[i] == ',') { /* an empty list member (5.6.1) */
			for (i++; i < len && ows(inm[i]); i++)
				;
			continue;
		}
		if (len - i >= 2 && inm[i] == 'W' && inm[i + 1] == '/')
			i += 2;
		if (i >= len || inm[i] != '"')
			return false;
		size_t start = i++;
		while (i < len && etagc((unsigned char)inm[i]))
			i++;
		if (i >= len || inm[i] != '"')
			return false;
		i++;
		any = true;
		if (i - start == want && memcmp(inm + start, etag, want) == 0)
			matched = true;
		while (i < len && ows(inm[i]))
			i++;
		if (i < len && inm[i] != ',')
			return false;
	}
	return any && matched;
}
