/* authres_parse.c: the authserv-id of an Authentication-Results field found in an
 * incoming message (RFC 8601 2.2: authserv-id = value, after optional CFWS), for the
 * removal of fields that claim to be ours (RFC 8601 5). Pure: reads only [v, v+len).
 * Decisions: a field whose id does not parse (a control character in it, too) is kept (it claims
 * nobody, and readers that parse it find no id either); the comparison ignores case and a final
 * dot, as for DNS names. Bound: LIMIT_AUTHRES_COMMENT_DEPTH nested comments. */
#include "outbound/authres.h"

#include <string.h>

#include "core/err.h"
#include "core/banned.h"

/* Skip CFWS (RFC 5322 3.2.2: blanks, line ends of folds, nested comments with
 * quoted-pairs). 0, or ERR_BAD_SYNTAX for an unclosed or too deeply nested comment. */
static int ar_skip_cfws(const uint8_t *v, size_t len, size_t *i)
{
	unsigned depth = 0;
	while (*i < len) {
		uint8_t c = v[*i];
		if (depth > 0 && c == '\\') {
			*i += 2; /* a quoted-pair inside a comment */
			continue;
		}
		if (c == '(') {
			if (++depth > LIMIT_AUTHRES_COMMENT_DEPTH)
				return ERR_BAD_SYNTAX;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return 0;
		}
		(*i)++;
	}
	return depth == 0 ? 0 : ERR_BAD_SYNTAX;
}

static bool ar_id_token_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

static char ar_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
}

int authres_parse_id(const uint8_t *v, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	if (cap == 0 || ar_skip_cfws(v, len, &i) < 0 || i >= len)
		return ERR_BAD_SYNTAX;
	if (v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			else if (v[i] == '\r' || v[i] == '\n')
				continue; /* a fold inside the quotes */
			if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
				return ERR_BAD_SYNTAX; /* RFC 5322 3.2.4: no controls in qtext */
			if (o + 1 >= cap)
				return ERR_TOO_LONG;
			out[o++] = ar_lower(v[i]);
		}
		if (i >= len)
			return ERR_BAD_SYNTAX;
	} else {
		for (; i < len && ar_id_token_char(v[i]); i++) {
			if (o + 1 >= cap)
				return ERR_TOO_LONG;
			out[o++] = ar_lower(v[i]);
		}
	}
	while (o > 0 && out[o - 1] == '.')
		o--; /* "host." is host; dots alone name nobody */
	if (o == 0)
		return ERR_BAD_SYNTAX;
	out[o] = '\0';
	return 0;
}

bool authres_is_ours(const uint8_t *v, size_t len, const char *host)
{
	char id[LIMIT_DNS_NAME + 2], mine[LIMIT_DNS_NAME + 2];
	size_t hn = strlen(host);
	if (authres_parse_id(v, len, id, sizeof(id)) < 0 ||
	    authres_parse_id((const uint8_t *)host, hn, mine, sizeof(mine)) < 0)
		return false;
	return strcmp(id, mine) == 0;
}
