/* tlspol_parse.c: the pure MTA-STS parsers (RFC 8461): the policy body (3.2), the
 * _mta-sts TXT record (3.1) and the mx pattern match (4.1). No I/O, no allocation: the
 * policy is parsed into the caller's fixed struct. A policy body is held whole (it is
 * at most LIMIT_TLSPOL_POLICY bytes, fetched before it is parsed), so the parser takes
 * it in one piece rather than resumably. Bounds: LIMIT_TLSPOL_POLICY, LIMIT_TLSPOL_MX,
 * LIMIT_TLSPOL_ID, LIMIT_TLSPOL_MAX_AGE, LIMIT_DNS_NAME. */
#include "outbound/tlspol.h"

#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "outbound/dns.h"
#include "core/banned.h"

static bool pol_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static bool pol_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static bool pol_key_ok(const uint8_t *k, size_t n)
{
	if (n == 0 || n > 32 || !pol_alnum(k[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!pol_alnum(k[i]) && k[i] != '_' && k[i] != '-' && k[i] != '.')
			return false;
	return true;
}

/* A value: VCHAR and 8-bit bytes (the ext-value's UTF-8), WSP only between them. A
 * control byte (NUL, a bare CR, DEL) makes the whole policy invalid. */
static bool pol_value_ok(const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((v[i] < 0x21 && !pol_wsp(v[i])) || v[i] == 0x7f)
			return false;
	return true;
}

static bool pol_is(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(p, lit, l) == 0;
}

/* sts-policy-mx-value: ["*."] Domain, stored lower case. The domain part must be a
 * host name by dns_name_norm's rules, without a final dot. */
static int pol_mx(const uint8_t *v, size_t n, struct tlspol_sts *out)
{
	if (out->n_mx >= LIMIT_TLSPOL_MX)
		return ERR_TOO_BIG;
	size_t skip = n >= 2 && v[0] == '*' && v[1] == '.' ? 2 : 0;
	if (n == skip || v[n - 1] == '.' || n > LIMIT_DNS_NAME)
		return ERR_BAD_SYNTAX;
	char *dst = out->mx[out->n_mx];
	if (dns_name_norm((const char *)v + skip, n - skip, dst + skip) != 0)
		return ERR_BAD_SYNTAX;
	if (skip)
		memcpy(dst, "*.", 2);
	out->n_mx++;
	return 0;
}

/* The fields seen so far: RFC 8461 3.2 keeps the first of a repeated non-mx field. */
struct pol_seen {
	bool version, mode, max_age;
};

static int pol_field(const uint8_t *k, size_t kn, const uint8_t *v, size_t vn,
                     struct pol_seen *seen, struct tlspol_sts *out)
{
	if (pol_is(k, kn, "mx"))
		return pol_mx(v, vn, out);
	if (pol_is(k, kn, "version")) {
		if (seen->version)
			return 0;
		seen->version = true;
		return pol_is(v, vn, "STSv1") ? 0 : ERR_BAD_SYNTAX;
	}
	if (pol_is(k, kn, "mode")) {
		if (seen->mode)
			return 0;
		seen->mode = true;
		if (pol_is(v, vn, "enforce"))
			out->mode = TLSPOL_STS_ENFORCE;
		else if (pol_is(v, vn, "testing"))
			out->mode = TLSPOL_STS_TESTING;
		else if (pol_is(v, vn, "none"))
			out->mode = TLSPOL_STS_NONE;
		else
			return ERR_BAD_SYNTAX;
		return 0;
	}
	if (pol_is(k, kn, "max_age")) {
		if (seen->max_age)
			return 0;
		seen->max_age = true;
		uint64_t age;
		/* 1*10DIGIT; a longer number is not a max_age, a larger one is clamped */
		if (vn > 10 || str_to_u64(v, vn, 9999999999ull, &age) != 0)
			return ERR_BAD_SYNTAX;
		out->max_age = age > LIMIT_TLSPOL_MAX_AGE ? LIMIT_TLSPOL_MAX_AGE : (unsigned)age;
		return 0;
	}
	return 0; /* an extension: ignored (RFC 8461 3.2) */
}

/* One line p[0..n) without its line end: key ":" *WSP value *WSP. An empty line (the
 * blank line some servers end with) is skipped. */
static int pol_line(const uint8_t *p, size_t n, struct pol_seen *seen, struct tlspol_sts *out)
{
	if (n == 0)
		return 0;
	const uint8_t *colon = memchr(p, ':', n);
	if (!colon)
		return ERR_BAD_SYNTAX;
	size_t kn = (size_t)(colon - p);
	if (!pol_key_ok(p, kn))
		return ERR_BAD_SYNTAX;
	const uint8_t *v = colon + 1, *end = p + n;
	while (v < end && pol_wsp(*v))
		v++;
	while (end > v && pol_wsp(end[-1]))
		end--;
	size_t vn = (size_t)(end - v);
	if (vn == 0 || !pol_value_ok(v, vn))
		return ERR_BAD_SYNTAX;
	return pol_field(p, kn, v, vn, seen, out);
}

int tlspol_parse_policy(const uint8_t *p, size_t len, struct tlspol_sts *out)
{
	memset(out, 0, sizeof(*out));
	if (len > LIMIT_TLSPOL_POLICY)
		return ERR_TOO_BIG;
	struct pol_seen seen = {0};
	size_t i = 0;
	while (i < len) {
		const uint8_t *nl = memchr(p + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - p) : len;
		size_t n = end - i;
		if (n > 0 && p[end - 1] == '\r')
			n--; /* CRLF; a CR elsewhere is a control byte in the value */
		int rc = pol_line(p + i, n, &seen, out);
		if (rc < 0) {
			memset(out, 0, sizeof(*out));
			return rc;
		}
		i = nl ? end + 1 : len;
	}
	/* version, mode and max_age are required; mx too unless the mode is none */
	if (!seen.version || !seen.mode || !seen.max_age ||
	    (out->n_mx == 0 && out->mode != TLSPOL_STS_NONE)) {
		memset(out, 0, sizeof(*out));
		return ERR_BAD_SYNTAX;
	}
	return 0;
}

/* sts-ext-value (RFC 8461 3.1): %x21-3A / %x3C / %x3E-7E */
static bool txt_value_char(uint8_t c)
{
	return c >= 0x21 && c <= 0x7e && c != ';' && c != '=';
}

/* One field "name=value" at p[*i], then *WSP ";" *WSP or the end. */
static int txt_field(const char *p, size_t len, size_t *i, char *id_out, bool *have_id)
{
	size_t k = *i;
	while (*i < len && *i - k <= 32 &&
	       (pol_alnum((uint8_t)p[*i]) || p[*i] == '_' || p[*i] == '-' || p[*i] == '.'))
		(*i)++;
	size_t kn = *i - k;
	if (kn == 0 || kn > 32 || !pol_alnum((uint8_t)p[k]) || *i >= len || p[*i] != '=')
		return ERR_BAD_SYNTAX;
	size_t v = ++(*i);
	while (*i < len && txt_value_char((uint8_t)p[*i]))
		(*i)++;
	size_t vn = *i - v;
	if (vn == 0)
		return ERR_BAD_SYNTAX;
	if (kn == 2 && memcmp(p + k, "id", 2) == 0 && !*have_id) {
		if (vn > LIMIT_TLSPOL_ID)
			return ERR_BAD_SYNTAX;
		for (size_t j = v; j < *i; j++)
			if (!pol_alnum((uint8_t)p[j]))
				return ERR_BAD_SYNTAX;
		memcpy(id_out, p + v, vn);
		id_out[vn] = '\0';
		*have_id = true;
	}
	while (*i < len && pol_wsp((uint8_t)p[*i]))
		(*i)++;
	if (*i < len) {
		if (p[*i] != ';')
			return ERR_BAD_SYNTAX;
		(*i)++;
		while (*i < len && pol_wsp((uint8_t)p[*i]))
			(*i)++;
	}
	return 0;
}

int tlspol_parse_txt(const char *p, size_t len, char *id_out)
{
	/* RFC 8461 3.1: records that do not begin with "v=STSv1;" are not ours */
	static const char ver[] = "v=STSv1";
	size_t vl = sizeof(ver) - 1;
	size_t i = vl;
	if (len < vl || memcmp(p, ver, vl) != 0)
		return 0;
	if (i < len && p[i] != ';' && !pol_wsp((uint8_t)p[i]))
		return 0; /* "v=STSv10": another version */
	while (i < len && pol_wsp((uint8_t)p[i]))
		i++;
	if (i >= len || p[i] != ';')
		return ERR_BAD_SYNTAX; /* no id */
	i++;
	while (i < len && pol_wsp((uint8_t)p[i]))
		i++;
	bool have_id = false;
	id_out[0] = '\0';
	while (i < len) {
		int rc = txt_field(p, len, &i, id_out, &have_id);
		if (rc < 0) {
			id_out[0] = '\0';
			return rc;
		}
	}
	if (!have_id)
		return ERR_BAD_SYNTAX;
	return 1;
}

bool tlspol_mx_match(const char *pattern, const char *host)
{
	if (strchr(host, '*'))
		return false; /* a host name, never a pattern, is what gets matched */
	if (pattern[0] == '*' && pattern[1] == '.') {
		/* the wildcard is exactly one leftmost label: "*.example.com" matches
		 * "mx.example.com", not "example.com" nor "a.b.example.com" */
		const char *dot = strchr(host, '.');
		if (!dot || dot == host)
			return false;
		return strcmp(dot + 1, pattern + 2) == 0;
	}
	return strcmp(pattern, host) == 0;
}
