/* out_idna.c: the ASCII form of a recipient domain for the DNS. A domain written in
 * UTF-8 (RFC 6531 lets SMTPUTF8 mail name one) is looked up by its A-labels (IDNA2008,
 * RFC 5890/5891, through libidn2 with UTS #46 mapping off: the name is taken as
 * written, only NFC-normalized); the envelope keeps the form the sender gave. */
#include "outbound/out_int.h"

#include <idn2.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/banned.h"

int out_domain_ascii(const char *domain, char *out, size_t cap)
{
	bool ascii = true;
	for (const unsigned char *p = (const unsigned char *)domain; *p; p++)
		if (*p >= 0x80)
			ascii = false;
	if (ascii) {
		int n = snprintf(out, cap, "%s", domain);
		return n >= 0 && (size_t)n < cap ? 0 : ERR_TOO_LONG;
	}
	char *a = NULL;
	if (idn2_to_ascii_8z(domain, &a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
		return ERR_BAD_SYNTAX;
	int n = snprintf(out, cap, "%s", a);
	idn2_free(a);
	return n >= 0 && (size_t)n < cap ? 0 : ERR_TOO_LONG;
}
