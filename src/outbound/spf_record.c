/* spf_record.c: the SPF record parser (RFC 7208 4.5, 4.6, 12). Pure: reads only
 * [p, p+len), allocates nothing; terms point into the caller's text. Decisions:
 *   - terms are separated by SP only (12: 1*SP); a tab, CR, LF or any byte outside
 *     %x21-7E inside the record is a syntax error, so is an empty record after v=spf1;
 *   - mechanism and modifier names are case-insensitive (4.6.1);
 *   - a CIDR length has no leading zero and is at most 32 / 128 (5.6, 12);
 *   - unknown modifiers are skipped but their macro string must parse (6);
 *   - redirect= or exp= twice is an error (6).
 * Bound: LIMIT_SPF_TERMS directives. */
#include "outbound/spf.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

bool spf_record_is_spf(const char *p, size_t len)
{
	return len >= 6 && str_iprefix(p, len, "v=spf1") && (len == 6 || p[6] == ' ');
}

static bool spf_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool spf_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One CIDR length "/N" at p[*i]: no leading zero, at most max. */
static bool spf_cidr_one(const char *p, size_t len, size_t *i, unsigned max, unsigned *out)
{
	size_t j = *i;
	if (j >= len || p[j] != '/' || j + 1 >= len || !spf_digit(p[j + 1]))
		return false;
	j++;
	if (p[j] == '0' && j + 1 < len && spf_digit(p[j + 1]))
		return false;
	unsigned v = 0;
	while (j < len && spf_digit(p[j]) && v <= max) {
		v = v * 10 + (unsigned)(p[j] - '0');
		j++;
	}
	if (v > max)
		return false;
	*out = v;
	*i = j;
	return true;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], the whole of p. */
static bool spf_dual_cidr(const char *p, size_t len, unsigned *c4, unsigned *c6)
{
	size_t i = 0;
	if (len == 0)
		return false;
	if (len >= 2 && p[0] == '/' && p[1] == '/') {
		i = 1;
		return spf_cidr_one(p, len, &i, 128, c6) && i == len;
	}
	if (!spf_cidr_one(p, len, &i, 32, c4))
		return false;
	if (i == len)
		return true;
	if (len - i < 2 || p[i] != '/' || p[i + 1] != '/')
		return false;
	i++;
	return spf_cidr_one(p, len, &i, 128, c6) && i == len;
}

/* RFC 7208 7.1 toplabel: alphanumerics with at least one letter, or alphanumerics and
 * hyphens that start and end with an alphanumeric and hold a hyphen. */
static bool spf_toplabel(const char *p, size_t n)
{
	bool alpha = false, hyphen = false;
	if (n == 0 || p[0] == '-' || p[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '-')
			hyphen = true;
		else if (spf_alpha(p[i]))
			alpha = true;
		else if (!spf_digit(p[i]))
			return false;
	}
	return alpha || hyphen;
}

/* domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) /
 * macro-expand. */
static bool spf_domain_spec(const char *p, size_t n)
{
	if (n == 0 || spf_macro_check(p, n, false) < 0)
		return false;
	if (p[n - 1] == '}')
		return true; /* ends in a macro-expand: spf_macro_check saw it whole */
	if (p[n - 1] == '.')
		n--;
	size_t dot = n;
	while (dot > 0 && p[dot - 1] != '.')
		dot--;
	return dot > 1 && spf_toplabel(p + dot, n - dot);
}

/* The domain-spec and CIDR after a/mx: "", ":spec", ":spec/cidr" or "/cidr". */
static bool spf_spec_cidr(const char *p, size_t n, struct spf_term *t, bool cidr)
{
	if (n == 0)
		return true;
	if (p[0] == '/')
		return cidr && spf_dual_cidr(p, n, &t->cidr4, &t->cidr6);
	if (p[0] != ':')
		return false;
	size_t end = n;
	for (size_t k = 1; cidr && k < n; k++) {
		unsigned c4 = t->cidr4, c6 = t->cidr6;
		if (p[k] == '/' && spf_dual_cidr(p + k, n - k, &c4, &c6)) {
			t->cidr4 = c4;
			t->cidr6 = c6;
			end = k;
			break;
		}
	}
	t->spec = p + 1;
	t->spec_len = end - 1;
	return spf_domain_spec(t->spec, t->spec_len);
}

/* ip4:ADDR[/N] or ip6:ADDR[/M]. */
static bool spf_ip_net(const char *p, size_t n, struct spf_term *t, bool v6)
{
	char text[INET6_ADDRSTRLEN];
	if (n < 2 || p[0] != ':')
		return false;
	size_t slash = 1;
	while (slash < n && p[slash] != '/')
		slash++;
	if (slash - 1 >= sizeof(text) || slash == 1)
		return false;
	memcpy(text, p + 1, slash - 1);
	text[slash - 1] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, t->net) != 1)
		return false;
	if (slash == n)
		return true;
	size_t i = slash;
	return spf_cidr_one(p, n, &i, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4) && i == n;
}

static const struct {
	const char *name;
	enum spf_mech mech;
} spf_mechs[] = {
    {"all", SPF_MECH_ALL}, {"include", SPF_MECH_INCLUDE}, {"a", SPF_MECH_A},
    {"mx", SPF_MECH_MX},   {"ptr", SPF_MECH_PTR},         {"ip4", SPF_MECH_IP4},
    {"ip6", SPF_MECH_IP6}, {"exists", SPF_MECH_EXISTS},
};

/* One directive: [qualifier] mechanism. */
static int spf_directive(const char *p, size_t n, struct spf_term *t, const char **why)
{
	*t = (struct spf_term){.qual = SPF_RESULT_PASS, .cidr4 = 32, .cidr6 = 128};
	if (p[0] == '+' || p[0] == '-' || p[0] == '~' || p[0] == '?') {
		t->qual = p[0] == '+'   ? SPF_RESULT_PASS
		          : p[0] == '-' ? SPF_RESULT_FAIL
		          : p[0] == '~' ? SPF_RESULT_SOFTFAIL
		                        : SPF_RESULT_NEUTRAL;
		p++;
		n--;
	}
	size_t k = 0;
	while (k < n && p[k] != ':' && p[k] != '/')
		k++;
	size_t m = 0, nm = sizeof(spf_mechs) / sizeof(spf_mechs[0]);
	while (m < nm && !str_ieq(p, k, spf_mechs[m].name))
		m++;
	if (m == nm) {
		*why = "unknown mechanism";
		return ERR_BAD_SYNTAX;
	}
	t->mech = spf_mechs[m].mech;
	const char *rest = p + k;
	size_t rn = n - k;
	bool ok;
	switch (t->mech) {
	case SPF_MECH_ALL:
		ok = rn == 0;
		break;
	case SPF_MECH_A:
	case SPF_MECH_MX:
		ok = spf_spec_cidr(rest, rn, t, true);
		break;
	case SPF_MECH_PTR:
		ok = spf_spec_cidr(rest, rn, t, false);
		break;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		ok = spf_ip_net(rest, rn, t, t->mech == SPF_MECH_IP6);
		break;
	default: /* include, exists: the domain-spec is required */
		ok = rn > 1 && spf_spec_cidr(rest, rn, t, false);
		break;
	}
	if (!ok)
		*why = "bad mechanism argument";
	return ok ? 0 : ERR_BAD_SYNTAX;
}

/* name "=" macro-string; returns 1 when p is a modifier, 0 when it is not one (a
 * directive), <0 on a bad modifier. */
static int spf_modifier(const char *p, size_t n, struct spf_record *rec, const char **why)
{
	size_t k = 0;
	if (n == 0 || !spf_alpha(p[0]))
		return 0;
	while (k < n &&
	       (spf_alpha(p[k]) || spf_digit(p[k]) || p[k] == '-' || p[k] == '_' || p[k] == '.'))
		k++;
	if (k == n || p[k] != '=')
		return 0;
	const char *v = p + k + 1;
	size_t vn = n - k - 1;
	if (str_ieq(p, k, "redirect") || str_ieq(p, k, "exp")) {
		bool redirect = k == 8;
		if (redirect ? rec->redirect != NULL : rec->has_exp) {
			*why = "redirect= or exp= twice";
			return ERR_BAD_SYNTAX;
		}
		if (!spf_domain_spec(v, vn)) {
			*why = "bad redirect= or exp= domain";
			return ERR_BAD_SYNTAX;
		}
		if (redirect) {
			rec->redirect = v;
			rec->redirect_len = vn;
		} else {
			rec->has_exp = true;
		}
		return 1;
	}
	if (spf_macro_check(v, vn, true) < 0) {
		*why = "bad modifier value";
		return ERR_BAD_SYNTAX;
	}
	return 1;
}

int spf_record_parse(const char *p, size_t len, struct spf_record *rec, const char **why_out)
{
	const char *why = "not an SPF record";
	rec->n = 0;
	rec->redirect = NULL;
	rec->redirect_len = 0;
	rec->has_exp = rec->has_all = false;
	if (!spf_record_is_spf(p, len)) {
		*why_out = why;
		return ERR_BAD_SYNTAX;
	}
	size_t i = 6;
	while (i < len) {
		if (p[i] != ' ') {
			*why_out = "bad byte in record";
			return ERR_BAD_SYNTAX;
		}
		while (i < len && p[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && p[i] != ' ') {
			if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e) {
				*why_out = "bad byte in record";
				return ERR_BAD_SYNTAX;
			}
			i++;
		}
		if (i == start)
			break; /* trailing spaces */
		int r = spf_modifier(p + start, i - start, rec, &why);
		if (r < 0) {
			*why_out = why;
			return r;
		}
		if (r > 0)
			continue;
		if (rec->n == LIMIT_SPF_TERMS) {
			*why_out = "too many terms";
			return ERR_TOO_BIG;
		}
		r = spf_directive(p + start, i - start, &rec->terms[rec->n], &why);
		if (r < 0) {
			*why_out = why;
			return r;
		}
		if (rec->terms[rec->n].mech == SPF_MECH_ALL)
			rec->has_all = true;
		rec->n++;
	}
	return 0;
}
