/* jmap_scan.c: the depth pre-scan of a JMAP request body (RFC 8620 requests are JSON).
 *
 * jansson bounds nesting at 2048 levels, far more than any JMAP request needs, and a
 * deep document costs stack and memory before a method sees it. This scan counts the
 * nesting of arrays and objects over the raw bytes first, so the parser only ever
 * meets LIMIT_JMAP_DEPTH levels. It reads only [p, p+len), keeps three variables of
 * state, allocates nothing, and never judges whether the bytes are JSON: brackets
 * inside strings (with their backslash escapes) are skipped, everything else is left to
 * the parser, which reports notJSON for what is not. A closing bracket with nothing
 * open is not an error here either (the parser refuses it). */
#include "http/jmap.h"

#include "core/err.h"

int jmap_scan_depth(const uint8_t *p, size_t len, unsigned max_depth)
{
	unsigned depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (ch == '\\')
				escaped = true;
			else if (ch == '"')
				in_string = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (++depth > max_depth)
				return ERR_TOO_DEEP;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return 0;
}
