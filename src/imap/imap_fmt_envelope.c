/* imap_fmt_envelope.c: the ENVELOPE of a message (RFC 9051 7.5.2, formal syntax
 * "envelope" and "address" in 9) from the envelope src/mime cached at delivery. Owns
 * nothing, allocates nothing; the address lists are as long as mime kept them
 * (MIME_ADDRS_MAX). */
#include "imap/imap_fmt_int.h"

#include "mime/mime.h"
#include "core/banned.h"

/* (name adl mailbox host): a group start is (NIL NIL "group name" NIL), its end all NIL
 * (RFC 9051 7.5.2), which is how mime keeps them. */
static void put_address(struct imap_fmt_out *w, const struct mime_addr *a, bool utf8)
{
	imap_fmt_byte(w, '(');
	if (a->name.s)
		imap_fmt_text(w, a->name.s, a->name.len, utf8);
	else
		imap_fmt_puts(w, "NIL");
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &a->adl, utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &a->mailbox, utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &a->host, utf8);
	imap_fmt_byte(w, ')');
}

/* NIL for a field that is absent or holds no address (RFC 9051 7.5.2). */
static void put_address_list(struct imap_fmt_out *w, const struct mime_addr *list, bool utf8)
{
	if (!list) {
		imap_fmt_puts(w, "NIL");
		return;
	}
	imap_fmt_byte(w, '(');
	for (const struct mime_addr *a = list; a; a = a->next)
		put_address(w, a, utf8);
	imap_fmt_byte(w, ')');
}

void imap_fmt_envelope(struct imap_fmt_out *w, const struct mime_envelope *env, bool utf8)
{
	if (!env) {
		/* a message/rfc822 part that was not descended into (an encoded body) */
		imap_fmt_puts(w, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	imap_fmt_byte(w, '(');
	imap_fmt_nstring(w, &env->date, utf8);
	imap_fmt_byte(w, ' ');
	if (env->subject.s)
		imap_fmt_text(w, env->subject.s, env->subject.len, utf8);
	else
		imap_fmt_puts(w, "NIL");
	imap_fmt_byte(w, ' ');
	put_address_list(w, env->from, utf8);
	imap_fmt_byte(w, ' ');
	/* RFC 9051 7.5.2: the server fills sender and reply-to in from from */
	put_address_list(w, env->sender ? env->sender : env->from, utf8);
	imap_fmt_byte(w, ' ');
	put_address_list(w, env->reply_to ? env->reply_to : env->from, utf8);
	imap_fmt_byte(w, ' ');
	put_address_list(w, env->to, utf8);
	imap_fmt_byte(w, ' ');
	put_address_list(w, env->cc, utf8);
	imap_fmt_byte(w, ' ');
	put_address_list(w, env->bcc, utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &env->in_reply_to, utf8);
	imap_fmt_byte(w, ' ');
	imap_fmt_nstring(w, &env->message_id, utf8);
	imap_fmt_byte(w, ')');
}

void imap_put_envelope(const struct imap_sink *o, const struct mime_envelope *env, bool utf8)
{
	struct imap_fmt_out w;
	imap_fmt_out_init(&w, o);
	imap_fmt_envelope(&w, env, utf8);
	imap_fmt_out_flush(&w);
}
