/* addr.h: the syntax of a mailbox address (RFC 5321 4.1.2 with RFC 6531 3.3), pure: no
 * I/O, no allocation, reads only s[0..len) (no NUL needed; a NUL byte is refused).
 *
 * Mailbox    = Local-part "@" Domain
 * Local-part = Dot-string / Quoted-string   (atext, qtextSMTP, quoted-pairSMTP, plus
 *              UTF8-non-ascii from RFC 6531: valid UTF-8, no overlongs or surrogates)
 * Domain     = sub-domain *("." sub-domain), each an LDH label (letters, digits, inner
 *              hyphens) or a U-label (RFC 5890: UTF-8 with at least one non-ASCII
 *              character, no "--" in positions 3-4, no leading or trailing hyphen).
 *
 * Decisions beyond the ABNF, each so that SMTP can deliver to what passes here:
 *   - Address literals ("a@[192.0.2.1]") are refused: they name one host by its IP
 *     address, not a domain a mail provider hosts, and domain_is_local would have to
 *     claim an address the server does not control.
 *   - Labels are at most LIMIT_ADDR_LABEL octets in their DNS form: a U-label is
 *     measured as its A-label ("xn--" + RFC 3492 Punycode), which is what DNS carries.
 *     The domain is at most LIMIT_ADDR_DOMAIN octets both as written and in DNS form.
 *   - The last label may not be all digits (RFC 3696 2; RFC 1123 2.1), so "a@1.2.3.4"
 *     is not taken for a domain. One-label domains ("localhost") are allowed.
 *   - The Local-part is at most LIMIT_ADDR_LOCAL octets as written; the whole mailbox at
 *     most LIMIT_ADDR_MAILBOX octets, the most that fits a 256-octet path.
 *   - Not checked: IDNA2008 code point tables, NFC and bidi rules (they need the
 *     Unicode tables of libidn2); case is not folded here.
 *
 * Every function returns 0, ERR_BAD_SYNTAX or ERR_TOO_LONG, and on failure points
 * *why_out (when why_out is not NULL) at a static English reason for a person. */
#ifndef KASTEN_ADDR_H
#define KASTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* What addr_mailbox_check() learnt about an address that passed. */
struct addr_info {
	size_t local_len; /* octets of the Local-part as written; the '@' follows */
	bool quoted;      /* the Local-part is a Quoted-string */
	bool utf8;        /* non-ASCII somewhere: delivery needs SMTPUTF8 (RFC 6531) */
};

/* A Domain as above. *utf8_out (may be NULL) is set when a label is a U-label. */
int addr_domain_check(const char *s, size_t len, bool *utf8_out, const char **why_out);

/* A Mailbox as above. info_out may be NULL. */
int addr_mailbox_check(const char *s, size_t len, struct addr_info *info_out, const char **why_out);

/* An address the server may host (an account or an alias): a Mailbox whose Local-part
 * is a Dot-string. RFC 5321 4.1.2: a host that expects to receive mail SHOULD avoid
 * defining mailboxes where the Local-part requires or uses the Quoted-string form. */
int addr_account_check(const char *s, size_t len, const char **why_out);

/* addr_account_check() == 0, for callers that need no reason. */
bool addr_account_ok(const char *s, size_t len);

#endif
