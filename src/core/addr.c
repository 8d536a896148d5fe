/* addr.c: mailbox address syntax (addr.h). Owns nothing; reads only [s, s+len).
 * Limits: LIMIT_ADDR_LOCAL, LIMIT_ADDR_LABEL, LIMIT_ADDR_DOMAIN, LIMIT_ADDR_MAILBOX. */
#include "core/addr.h"

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool is_atext(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int fail(int r, const char **why_out, const char *why)
{
	if (why_out)
		*why_out = why;
	return r;
}

/* ---- Punycode length (RFC 3492 6.3, counting instead of writing) ---- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700 };

static uint64_t pc_adapt(uint64_t delta, uint64_t points, bool first)
{
	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / points;
	uint64_t k = 0;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

/* Octets of "xn--" + Punycode of the n code points cp[]. Labels are bounded by the
 * domain, so n <= LIMIT_ADDR_DOMAIN and every sum fits in 64 bits. */
static size_t alabel_len(const uint32_t *cp, size_t n)
{
	size_t basic = 0;
	for (size_t i = 0; i < n; i++)
		basic += cp[i] < 0x80;
	size_t out = basic + (basic > 0); /* the basic code points and their '-' */
	uint64_t next = 0x80, delta = 0, bias = 72;
	for (size_t h = basic; h < n;) {
		uint64_t m = UINT64_MAX;
		for (size_t i = 0; i < n; i++)
			if (cp[i] >= next && cp[i] < m)
				m = cp[i];
		delta += (m - next) * (h + 1);
		next = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < next) {
				delta++;
			} else if (cp[i] == next) {
				uint64_t q = delta;
				for (uint64_t k = PC_BASE;; k += PC_BASE) {
					uint64_t t = k <= bias             ? PC_TMIN
					             : k >= bias + PC_TMAX ? PC_TMAX
					                                   : k - bias;
					if (q < t)
						break;
					out++;
					q = (q - t) / (PC_BASE - t);
				}
				out++;
				bias = pc_adapt(delta, h + 1, h == basic);
				delta = 0;
				h++;
			}
		}
		delta++;
		next++;
	}
	return 4 + out;
}

/* ---- Domain ---- */

/* One label s[0..n) (no dots); adds its DNS length to *dns. */
static int check_label(const unsigned char *s, size_t n, bool last, bool *utf8, size_t *dns,
                       const char **why_out)
{
	if (n == 0)
		return fail(ERR_BAD_SYNTAX, why_out,
		            "empty label in the domain (a leading, trailing or double dot)");
	if (s[0] == '-' || s[n - 1] == '-')
		return fail(ERR_BAD_SYNTAX, why_out, "a domain label starts or ends with '-'");
	uint32_t cp[LIMIT_ADDR_DOMAIN];
	size_t ncp = 0;
	bool digits = true, u = false;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (!is_alpha(c) && !is_digit(c) && c != '-')
				return fail(ERR_BAD_SYNTAX, why_out,
				            "a domain may hold only letters, digits, '-' and '.'");
			digits &= is_digit(c);
			cp[ncp++] = c;
			i++;
			continue;
		}
		size_t k = str_utf8_seq(s + i, n - i, &cp[ncp]);
		if (k == 0)
			return fail(ERR_BAD_SYNTAX, why_out, "the domain is not valid UTF-8");
		ncp++;
		i += k;
		u = true;
		digits = false;
		*utf8 = true;
	}
	/* RFC 5891 4.2.3.1: "--" in positions 3 and 4 is for A-labels ("xn--") only. */
	if (u && ncp >= 4 && cp[2] == '-' && cp[3] == '-')
		return fail(ERR_BAD_SYNTAX, why_out,
		            "an internationalized label has '--' in positions 3 and 4");
	if (last && digits)
		return fail(ERR_BAD_SYNTAX, why_out,
		            "the top-level label is all digits (an IP address is not a domain)");
	size_t len = u ? alabel_len(cp, ncp) : n;
	if (len > LIMIT_ADDR_LABEL)
		return fail(ERR_TOO_LONG, why_out,
		            u ? "a domain label is longer than 63 octets as an A-label (xn--)"
		              : "a domain label is longer than 63 octets");
	*dns += len;
	return 0;
}

int addr_domain_check(const char *s, size_t len, bool *utf8_out, const char **why_out)
{
	const unsigned char *p = (const unsigned char *)s;
	if (len == 0)
		return fail(ERR_BAD_SYNTAX, why_out, "empty domain");
	if (p[0] == '[')
		return fail(ERR_BAD_SYNTAX, why_out,
		            "address literals ([...]) name a host, not a domain to host mail for");
	if (len > LIMIT_ADDR_DOMAIN)
		return fail(ERR_TOO_LONG, why_out, "the domain is longer than 255 octets");
	bool utf8 = false;
	size_t dns = 0;
	for (size_t start = 0;;) {
		const unsigned char *dot = memchr(p + start, '.', len - start);
		size_t end = dot ? (size_t)(dot - p) : len;
		int r = check_label(p + start, end - start, !dot, &utf8, &dns, why_out);
		if (r < 0)
			return r;
		if (!dot)
			break;
		dns++;
		start = end + 1;
	}
	if (dns > LIMIT_ADDR_DOMAIN)
		return fail(ERR_TOO_LONG, why_out,
		            "the domain is longer than 255 octets as A-labels (xn--)");
	if (utf8_out)
		*utf8_out = utf8;
	return 0;
}

/* ---- Local-part ---- */

/* Dot-string = Atom *("." Atom); returns the octets used (stops before '@'). */
static int scan_dot_string(const unsigned char *p, size_t len, size_t *used, bool *utf8,
                           const char **why_out)
{
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < len && p[i] != '.' && p[i] != '@') {
			uint32_t cp;
			size_t k;
			if (p[i] < 0x80 && is_atext(p[i])) {
				i++;
			} else if (p[i] >= 0x80 && (k = str_utf8_seq(p + i, len - i, &cp)) > 0) {
				i += k;
				*utf8 = true;
			} else {
				return fail(ERR_BAD_SYNTAX, why_out,
				            p[i] >= 0x80 ? "the local part is not valid UTF-8"
				                         : "a character not allowed in an unquoted "
				                           "local part (RFC 5322 atext)");
			}
		}
		if (i == start)
			return fail(ERR_BAD_SYNTAX, why_out,
			            i == 0 ? "empty local part"
			                   : "empty atom in the local part (a leading, trailing "
			                     "or double dot)");
		if (i == len || p[i] == '@') {
			*used = i;
			return 0;
		}
		i++; /* the '.' */
	}
}

/* Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE, UTF-8 in qtext. */
static int scan_quoted(const unsigned char *p, size_t len, size_t *used, bool *utf8,
                       const char **why_out)
{
	for (size_t i = 1; i < len;) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t k;
		if (c == '"') {
			*used = i + 1;
			return 0;
		}
		if (c == '\\') {
			if (i + 1 >= len || p[i + 1] < 32 || p[i + 1] > 126)
				return fail(ERR_BAD_SYNTAX, why_out,
				            "a backslash in a quoted local part must quote a "
				            "printable ASCII character");
			i += 2;
		} else if (c >= 32 && c <= 126) {
			i++;
		} else if (c >= 0x80 && (k = str_utf8_seq(p + i, len - i, &cp)) > 0) {
			i += k;
			*utf8 = true;
		} else {
			return fail(ERR_BAD_SYNTAX, why_out,
			            c >= 0x80 ? "the local part is not valid UTF-8"
			                      : "a control character in the local part");
		}
	}
	return fail(ERR_BAD_SYNTAX, why_out, "the quoted local part has no closing '\"'");
}

int addr_mailbox_check(const char *s, size_t len, struct addr_info *info_out, const char **why_out)
{
	const unsigned char *p = (const unsigned char *)s;
	if (len == 0)
		return fail(ERR_BAD_SYNTAX, why_out, "empty address");
	struct addr_info info = {.quoted = p[0] == '"'};
	size_t n = 0;
	int r = info.quoted ? scan_quoted(p, len, &n, &info.utf8, why_out)
	                    : scan_dot_string(p, len, &n, &info.utf8, why_out);
	if (r < 0)
		return r;
	if (n == len || p[n] != '@')
		return fail(ERR_BAD_SYNTAX, why_out,
		            n == len ? "no '@' between the local part and the domain"
		                     : "the quoted local part must be followed by '@'");
	if (n > LIMIT_ADDR_LOCAL)
		return fail(ERR_TOO_LONG, why_out, "the local part is longer than 64 octets");
	bool du = false;
	r = addr_domain_check(s + n + 1, len - n - 1, &du, why_out);
	if (r < 0)
		return r;
	if (len > LIMIT_ADDR_MAILBOX)
		return fail(ERR_TOO_LONG, why_out,
		            "the address is longer than 254 octets (an SMTP path holds 256 "
		            "with its '<' and '>')");
	info.local_len = n;
	info.utf8 |= du;
	if (info_out)
		*info_out = info;
	return 0;
}

int addr_account_check(const char *s, size_t len, const char **why_out)
{
	struct addr_info info;
	int r = addr_mailbox_check(s, len, &info, why_out);
	if (r == 0 && info.quoted)
		return fail(ERR_BAD_SYNTAX, why_out,
		            "quoted local parts are not used for accounts (RFC 5321 4.1.2)");
	return r;
}

bool addr_account_ok(const char *s, size_t len)
{
	return addr_account_check(s, len, NULL) == 0;
}
