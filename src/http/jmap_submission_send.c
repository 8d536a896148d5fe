/* jmap_submission_send.c: one EmailSubmission/set create (RFC 8621 7.5): the object's
 * properties checked, the Email's message opened through jmap_blob_open_any, the
 * envelope taken from the object or made from the header fields (7: Sender, else From,
 * gives mailFrom; To, Cc and Bcc give rcptTo), the message sent by the hook
 * (smtp_submit_message: the same checks and pipeline as SMTP submission), and the
 * submission kept by the store. Memory: the message's header section, at most
 * LIMIT_SUBMIT_HEADER, is read to find the envelope; the body is never held. */
#include "http/jmap_submission_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "deliver/deliver.h"
#include "http/jmap_mailbox.h"
#include "mime/mime.h"
#include "smtp/smtp_submit.h"
#include "store/store.h"
#include "core/banned.h"

static json_t *invalid(const char *prop, const char *why)
{
	return jmap_set_error("invalidProperties", why, json_pack("[s]", prop));
}

/* A mailbox address we can put in an envelope (RFC 5321 4.1.2, bounded): local@domain,
 * printable, no spaces or angle brackets. */
static bool address_ok(const char *s)
{
	size_t n = strlen(s);
	const char *at = strrchr(s, '@');
	if (n == 0 || n > LIMIT_ADDRESS || !at || at == s || !at[1])
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return true;
}

/* One Envelope Address {"email", "parameters": null}: no SMTP extension parameters are
 * offered (session submissionExtensions {}), so parameters must be null or empty. */
static const char *envelope_address(json_t *a)
{
	json_t *email = json_object_get(a, "email"), *params = json_object_get(a, "parameters");
	if (!json_is_object(a) || !json_is_string(email) || !address_ok(json_string_value(email)))
		return NULL;
	if (params && !json_is_null(params) &&
	    !(json_is_object(params) && !json_object_size(params)))
		return NULL;
	return json_string_value(email);
}

struct submit_envelope {
	const char *mail_from;
	const char **rcpts;
	size_t n;
};

static int envelope_given(struct jmap_ctx *x, json_t *env, struct submit_envelope *e)
{
	json_t *rcpt = json_object_get(env, "rcptTo");
	e->mail_from = envelope_address(json_object_get(env, "mailFrom"));
	if (!e->mail_from || !json_is_array(rcpt))
		return ERR_INVAL;
	e->n = json_array_size(rcpt);
	e->rcpts = arena_alloc(x->a, (e->n ? e->n : 1) * sizeof *e->rcpts);
	if (!e->rcpts)
		return ERR_NOMEM;
	for (size_t i = 0; i < e->n; i++)
		if (!(e->rcpts[i] = envelope_address(json_array_get(rcpt, i))))
			return ERR_INVAL;
	return 0;
}

/* "local@domain" of a parsed mailbox, or NULL (a group marker, no domain). */
static const char *mailbox_address(struct arena *a, const struct mime_addr *m)
{
	if (m->kind != MIME_ADDR_MAILBOX || !m->mailbox.s || !m->host.s || !m->host.len)
		return NULL;
	const char *s = arena_printf(a, "%s@%s", m->mailbox.s, m->host.s);
	return s && address_ok(s) ? s : NULL;
}

static int add_rcpts(struct jmap_ctx *x, struct submit_envelope *e, size_t cap,
                     const struct mime_addr *list)
{
	for (const struct mime_addr *m = list; m; m = m->next) {
		const char *addr = mailbox_address(x->a, m);
		bool dup = !addr;
		for (size_t i = 0; i < e->n && !dup; i++)
			dup = strcasecmp(e->rcpts[i], addr) == 0;
		if (dup)
			continue;
		if (e->n == cap)
			return ERR_TOO_BIG; /* more than any limit lets through */
		e->rcpts[e->n++] = addr;
	}
	return 0;
}

/* RFC 8621 7: no envelope given: mailFrom from Sender (else From), rcptTo from To, Cc
 * and Bcc, duplicates dropped. ERR_INVAL when there is no sender address. */
static int envelope_derived(struct jmap_ctx *x, int fd, uint64_t size, struct submit_envelope *e)
{
	size_t n = size < LIMIT_SUBMIT_HEADER ? (size_t)size : LIMIT_SUBMIT_HEADER, got = 0;
	uint8_t *h = arena_alloc(x->a, n + 1);
	if (!h)
		return ERR_NOMEM;
	while (got < n) {
		ssize_t k = pread(fd, h + got, n - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ERR_IO;
		got += (size_t)k;
	}
	const uint8_t *end = memmem(h, n, "\r\n\r\n", 4);
	struct mime_part *root = NULL;
	int r = mime_parse(h, end ? (size_t)(end - h) + 4 : n, x->a, &root);
	if (r < 0)
		return r;
	const struct mime_envelope *env = root->envelope;
	const struct mime_addr *from = env ? (env->sender ? env->sender : env->from) : NULL;
	e->mail_from = from ? mailbox_address(x->a, from) : NULL;
	if (!e->mail_from)
		return ERR_INVAL;
	/* one past the limit is enough to refuse with tooManyRecipients */
	size_t cap = smtp_submit_max_rcpts() + 1;
	e->n = 0;
	e->rcpts = arena_alloc(x->a, cap * sizeof *e->rcpts);
	if (!e->rcpts)
		return ERR_NOMEM;
	r = add_rcpts(x, e, cap, env->to);
	if (r == 0)
		r = add_rcpts(x, e, cap, env->cc);
	if (r == 0)
		r = add_rcpts(x, e, cap, env->bcc);
	return r == ERR_TOO_BIG ? 0 : r;
}

static json_t *envelope_json(const struct submit_envelope *e)
{
	json_t *rcpt = json_array();
	for (size_t i = 0; rcpt && i < e->n; i++)
		if (json_array_append_new(
		        rcpt, json_pack("{s:s,s:n}", "email", e->rcpts[i], "parameters")) < 0) {
			json_decref(rcpt);
			rcpt = NULL;
		}
	return rcpt ? json_pack("{s:{s:s,s:n},s:o}", "mailFrom", "email", e->mail_from,
	                        "parameters", "rcptTo", rcpt)
	            : NULL;
}

/* The refusals of smtp_submit_message as RFC 8621 7.5 SetErrors. */
static json_t *refusal_error(const struct smtp_submit *m)
{
	switch (m->refusal) {
	case SMTP_SUBMIT_NO_RCPTS:
		return jmap_set_error("noRecipients", NULL, NULL);
	case SMTP_SUBMIT_TOO_MANY_RCPTS: {
		json_t *e = jmap_set_error("tooManyRecipients", NULL, NULL);
		json_object_set_new(e, "maxRecipients", json_integer(smtp_submit_max_rcpts()));
		return e;
	}
	case SMTP_SUBMIT_RATE:
		return jmap_set_error("forbiddenToSend",
		                      "the account's messages per hour are used up "
		                      "([submission] max_messages_per_hour)",
		                      NULL);
	case SMTP_SUBMIT_MAIL_FROM:
		return jmap_set_error("forbiddenMailFrom",
		                      "the envelope sender is not the account's address or alias",
		                      NULL);
	case SMTP_SUBMIT_FROM:
		return jmap_set_error("forbiddenFrom",
		                      "the From header field names an address that is not the "
		                      "account's",
		                      NULL);
	case SMTP_SUBMIT_RCPTS: {
		json_t *e = jmap_set_error("invalidRecipients", NULL, NULL), *bad = json_array();
		for (size_t i = 0; bad && i < m->n_rcpts; i++)
			if (m->rcpts[i].result < 0)
				json_array_append_new(bad, json_string(m->rcpts[i].address));
		json_object_set_new(e, "invalidRecipients", bad ? bad : json_array());
		return e;
	}
	case SMTP_SUBMIT_TOO_BIG:
		return jmap_set_error("tooLarge", "the message is larger than the server sends",
		                      NULL);
	case SMTP_SUBMIT_SENT:
		break;
	}
	return jmap_set_error("serverFail", NULL, NULL);
}

/* deliveryStatus as sent (RFC 8621 7: smtpReply, delivered, displayed): the queue's
 * later states are read at /get. */
static json_t *status_json(const struct smtp_submit *m)
{
	json_t *st = json_object();
	for (size_t i = 0; st && i < m->n_rcpts; i++) {
		const struct smtp_submit_rcpt *r = &m->rcpts[i];
		const char *reply = r->remote ? "250 2.1.5 Queued for delivery"
		                              : "250 2.1.5 Delivered to the mailbox";
		const char *delivered = r->remote ? "queued" : "yes";
		if (r->result < 0) {
			const char *status, *human;
			deliver_dsn_status(r->result, &status, &reply, &human);
			delivered = "no";
		}
		json_object_set_new(st, r->address,
		                    json_pack("{s:s,s:s,s:s}", "smtpReply", reply, "delivered",
		                              delivered, "displayed", "unknown"));
	}
	return st;
}

/* Send the Email's message with envelope e: 0 (sent, m filled) or < 0 with *seterr_out. */
static int send_message(struct jmap_ctx *x, int fd, const struct submit_envelope *e,
                        struct smtp_submit *m, json_t **seterr_out)
{
	if (!jmap_submission_send_fn) {
		*seterr_out = jmap_set_error("forbiddenToSend", "sending is not set up", NULL);
		return ERR_PERM;
	}
	struct smtp_submit_rcpt *rc = arena_zalloc(x->a, (e->n ? e->n : 1) * sizeof *rc);
	if (!rc)
		return ERR_NOMEM;
	for (size_t i = 0; i < e->n; i++)
		rc[i].address = e->rcpts[i];
	*m = (struct smtp_submit){.account_id = x->account_id,
	                          .mail_from = e->mail_from,
	                          .rcpts = rc,
	                          .n_rcpts = e->n,
	                          .msg_fd = fd,
	                          .with = "JMAP"};
	int r = jmap_submission_send_fn(m, x->a);
	if (r < 0) {
		log_err("jmap: EmailSubmission account=%lld: %s", (long long)x->account_id,
		        err_str(r));
		*seterr_out = jmap_set_error("forbiddenToSend",
		                             "the server cannot send now, try again later", NULL);
		return r;
	}
	if (m->refusal != SMTP_SUBMIT_SENT) {
		*seterr_out = refusal_error(m);
		return ERR_PERM;
	}
	return 0;
}

/* Properties a client may set on create (RFC 8621 7): the rest are the server's. */
static json_t *check_properties(json_t *obj)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		if (strcmp(k, "identityId") && strcmp(k, "emailId") && strcmp(k, "envelope"))
			return invalid(k, "not a property a client sets");
	}
	if (!json_is_string(json_object_get(obj, "identityId")))
		return invalid("identityId", "required");
	if (!json_is_string(json_object_get(obj, "emailId")))
		return invalid("emailId", "required");
	json_t *env = json_object_get(obj, "envelope");
	if (env && !json_is_null(env) && !json_is_object(env))
		return invalid("envelope", "an Envelope or null");
	return NULL;
}

/* The Email to send: its thread and an open message. */
static json_t *open_email(struct jmap_ctx *x, json_t *obj, const char **id_out,
                          const char **thread_out, int *fd_out, uint64_t *size_out)
{
	const char *id = jmap_resolve_id(x, json_string_value(json_object_get(obj, "emailId")));
	struct store_email *em = NULL;
	size_t n = 0;
	const char *type;
	/* another account's id is unknown here: the store answers this account only */
	if (!id || store_email_get(x->st, &id, 1, x->a, &em, &n) < 0 || n != 1)
		return invalid("emailId", "no such Email");
	const char *blob = arena_printf(x->a, "G%s", id);
	if (!blob || jmap_blob_open_any(x, blob, fd_out, size_out, &type) < 0)
		return invalid("emailId", "the Email's message cannot be read");
	*id_out = id;
	*thread_out = em->thread_id;
	return NULL;
}

int jmap_submission_create(struct jmap_ctx *x, json_t *obj, json_t **created_out,
                           const char **email_id_out, json_t **seterr_out)
{
	const char *identity, *email_id = NULL, *thread_id = NULL;
	struct submit_envelope e = {0};
	struct smtp_submit m;
	int fd = -1;
	uint64_t size;
	*seterr_out = check_properties(obj);
	if (*seterr_out)
		return ERR_INVAL;
	int r =
	    jmap_identity_find(x, json_string_value(json_object_get(obj, "identityId")), &identity);
	if (r < 0) {
		*seterr_out = r == ERR_NOTFOUND ? invalid("identityId", "no such Identity")
		                                : jmap_set_error("serverFail", NULL, NULL);
		return r;
	}
	if ((*seterr_out = open_email(x, obj, &email_id, &thread_id, &fd, &size)))
		return ERR_INVAL;
	json_t *env = json_object_get(obj, "envelope");
	if (json_is_object(env)) {
		if ((r = envelope_given(x, env, &e)) == ERR_INVAL)
			*seterr_out = invalid("envelope", "not a valid Envelope");
	} else if ((r = envelope_derived(x, fd, size, &e)) == ERR_INVAL) {
		*seterr_out =
		    jmap_set_error("invalidEmail", "no Sender or From address for the envelope",
		                   json_pack("[s]", "from"));
	}
	if (r == 0)
		r = send_message(x, fd, &e, &m, seterr_out);
	(void)close(fd); /* read only */
	if (r < 0) {
		if (!*seterr_out)
			*seterr_out = jmap_set_error("serverFail", err_str(r), NULL);
		return r;
	}
	/* sent: keep it (what /get shows; sendAt is now: nothing is delayed) */
	int64_t now = (int64_t)time(NULL), id;
	json_t *kept = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "identityId",
	                         json_string_value(json_object_get(obj, "identityId")), "emailId",
	                         email_id, "threadId", thread_id, "envelope", envelope_json(&e),
	                         "sendAt", jmap_utc_date(now), "queueId",
	                         m.queue_id[0] ? json_string(m.queue_id) : json_null(),
	                         "deliveryStatus", status_json(&m));
	char *text = kept ? json_dumps(kept, JSON_COMPACT) : NULL;
	r = text ? store_submission_add(x->env, x->account_id, text, now, &id) : ERR_NOMEM;
	free(text);
	json_decref(kept);
	if (r < 0) {
		log_err("jmap: EmailSubmission account=%lld sent but not kept: %s",
		        (long long)x->account_id, err_str(r));
		*seterr_out = jmap_set_error("serverFail", "sent, but not recorded", NULL);
		return r;
	}
	*email_id_out = email_id;
	*created_out = json_pack("{s:s,s:s,s:o,s:s}", "id", jmap_submission_id(x, id), "threadId",
	                         thread_id, "sendAt", jmap_utc_date(now), "undoStatus", "final");
	return *created_out ? 0 : ERR_NOMEM;
}
