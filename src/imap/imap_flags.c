/* imap_flags.c: message flags between IMAP and the store. The store keeps the five
 * system flags and three common keywords ($Forwarded, $Junk, $NotJunk: RFC 5788's
 * registry, set by most clients) as bits, every other keyword as text. This one table
 * says which keyword is which bit, for STORE and APPEND (what to store), FETCH and the
 * updates (what to show), FLAGS/PERMANENTFLAGS and SEARCH KEYWORD. */
#include "imap_int.h"

#include <string.h>

#include "core/str.h"
#include "store/store.h"
#include "core/banned.h"

static const struct {
	const char *name;
	unsigned bit;
} flag_names[] = {
	/* in the order FETCH FLAGS lists them (Dovecot's: system flags first) */
	{"\\Answered", STORE_F_ANSWERED}, {"\\Flagged", STORE_F_FLAGGED},
	{"\\Deleted", STORE_F_DELETED},   {"\\Seen", STORE_F_SEEN},
	{"\\Draft", STORE_F_DRAFT},       {"$Forwarded", STORE_F_FORWARDED},
	{"$Junk", STORE_F_JUNK},          {"$NotJunk", STORE_F_NOTJUNK},
};
#define NFLAGS (sizeof(flag_names) / sizeof(flag_names[0]))
#define FIRST_KEYWORD 5 /* flag_names[5..]: keywords kept as bits */

unsigned imap_keyword_bit(const char *name, size_t len)
{
	for (size_t i = FIRST_KEYWORD; i < NFLAGS; i++)
		if (str_ieq(name, len, flag_names[i].name))
			return flag_names[i].bit;
	return 0;
}

void imap_put_flag_names(struct imap_session *s, const char *keywords)
{
	for (size_t i = 0; i < NFLAGS; i++) {
		imap_puts(&s->out, i ? " " : "");
		imap_puts(&s->out, flag_names[i].name);
	}
	if (keywords && keywords[0]) {
		imap_puts(&s->out, " ");
		imap_puts(&s->out, keywords);
	}
}

void imap_put_msg_flags(struct imap_session *s, const struct store_msg *m)
{
	bool first = true;
	imap_puts(&s->out, "FLAGS (");
	for (size_t i = 0; i < NFLAGS; i++) {
		if (m->flags & flag_names[i].bit) {
			imap_puts(&s->out, first ? "" : " ");
			imap_puts(&s->out, flag_names[i].name);
			first = false;
		}
	}
	if (!s->rev2 && s->sel && imap_recent_has(s->sel, m->uid)) {
		imap_puts(&s->out, first ? "" : " ");
		imap_puts(&s->out, "\\Recent");
		first = false;
	}
	if (m->keywords && m->keywords[0]) {
		imap_puts(&s->out, first ? "" : " ");
		imap_puts(&s->out, m->keywords);
	}
	imap_puts(&s->out, ")");
}
