/* imap_names.c: mailbox names on the wire and in the store. The store keeps UTF-8 with
 * "/" between levels and checks every name (store_mailbox_name_ok: no empty levels, no
 * "." or "..", no control characters: a name is never a path). On the wire a rev1
 * client sends and gets modified UTF-7 (RFC 3501 5.1.3); with IMAP4rev2 or UTF8=ACCEPT
 * names are UTF-8 (RFC 9051 5.1, RFC 6855 3). "INBOX" is case-insensitive (RFC 9051
 * 5.1), and so is the first level "INBOX/" of its children. */
#include "imap_int.h"

#include <string.h>

#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

/* Is [p, p+n) valid UTF-8 (str_utf8_seq over every byte)? */
static bool utf8_valid(const char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = str_utf8_seq(p + i, n - i, NULL);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

const char *imap_name_in(struct imap_session *s, const struct imap_arg *arg)
{
	size_t len;
	const char *raw = arg ? imap_arg_astring(arg, &len) : NULL;
	if (!raw) {
		imap_bad(s, "Mailbox name expected");
		return NULL;
	}
	char *name = NULL;
	if (s->utf8) {
		if (!utf8_valid(raw, len) || memchr(raw, 0, len)) {
			imap_bad(s, "Mailbox name is not valid UTF-8");
			return NULL;
		}
		name = arena_strndup(&s->ca, raw, len);
	} else if (imap_mutf7_decode(raw, len, &s->ca, &name) < 0) {
		imap_bad(s, "Mailbox name is not valid modified UTF-7");
		return NULL;
	}
	if (!name) {
		imap_tagged(s, "NO [LIMIT] Out of memory");
		return NULL;
	}
	/* INBOX in any case, also as the first level of a hierarchy */
	if (str_iprefix(name, strlen(name), "INBOX") && (name[5] == '\0' || name[5] == '/'))
		memcpy(name, "INBOX", 5);
	if (!store_mailbox_name_ok(name)) {
		imap_tagged(s, "NO [CANNOT] Invalid mailbox name");
		return NULL;
	}
	return name;
}

void imap_name_out(struct imap_session *s, const char *name)
{
	char *wire = NULL;
	if (!s->utf8 && imap_mutf7_encode(name, strlen(name), &s->ca, &wire) == 0)
		name = wire;
	imap_put_astring(&s->out, name, strlen(name), s->utf8);
}
