/* smtpc_fmt.c: the SMTP client's pure command formatter: MAIL FROM and RCPT TO with
 * their ESMTP parameters (RFC 1870 SIZE, RFC 6152/3030 BODY, RFC 6531 SMTPUTF8,
 * RFC 3461 RET/ENVID/NOTIFY/ORCPT, RFC 8689 REQUIRETLS) and the xtext encoder (RFC 3461
 * 4). A parameter goes out only when the server announced its extension. Bounded by the
 * caller's buffer (LIMIT_SMTPC_COMMAND in the session); nothing is ever cut. */
#include "outbound/smtpc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

struct smtpc_out {
	char *p;
	size_t cap, len;
	int rc;
};

static void smtpc_outf(struct smtpc_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void smtpc_outf(struct smtpc_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->rc < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->rc = ERR_TOO_LONG;
		o->p[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

int smtpc_xtext(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (cap == 0)
		return ERR_TOO_LONG;
	for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
		bool plain = *c >= '!' && *c <= '~' && *c != '+' && *c != '=';
		size_t need = plain ? 1 : 3;
		if (o + need >= cap) {
			out[0] = '\0';
			return ERR_TOO_LONG;
		}
		if (plain) {
			out[o++] = (char)*c;
		} else {
			out[o++] = '+';
			out[o++] = hex[*c >> 4];
			out[o++] = hex[*c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* An address that would end the command line early or smuggle a second one (ENVID and
 * ORCPT values are xtext: any byte is safe there). */
static bool smtpc_field_ok(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7F || *c == '<' || *c == '>')
			return false;
	return true;
}

static int smtpc_out_end(struct smtpc_out *o, size_t *len_out)
{
	smtpc_outf(o, "\r\n");
	if (o->rc < 0)
		return o->rc;
	*len_out = o->len;
	return 0;
}

int smtpc_format_mail(const struct smtpc_ext *ext, const struct smtpc_msg *m, char *out, size_t cap,
                      size_t *len_out)
{
	struct smtpc_out o = {out, cap, 0, 0};
	bool dsn = ext->flags & SMTPC_EXT_DSN;

	if (cap == 0)
		return ERR_TOO_LONG;
	out[0] = '\0';
	if (!smtpc_field_ok(m->sender))
		return ERR_INVAL;
	smtpc_outf(&o, "MAIL FROM:<%s>", m->sender);
	if (ext->flags & SMTPC_EXT_SIZE)
		smtpc_outf(&o, " SIZE=%" PRIu64, (uint64_t)m->prefix_len + m->size);
	if (m->body == SMTPC_BODY_8BITMIME && (ext->flags & SMTPC_EXT_8BITMIME))
		smtpc_outf(&o, " BODY=8BITMIME");
	else if (m->body == SMTPC_BODY_BINARYMIME && (ext->flags & SMTPC_EXT_BINARYMIME))
		smtpc_outf(&o, " BODY=BINARYMIME");
	if (m->smtputf8 && (ext->flags & SMTPC_EXT_SMTPUTF8))
		smtpc_outf(&o, " SMTPUTF8");
	if (dsn && m->ret != SMTPC_RET_DEFAULT)
		smtpc_outf(&o, " RET=%s", m->ret == SMTPC_RET_FULL ? "FULL" : "HDRS");
	if (dsn && m->envid && m->envid[0]) {
		char x[LIMIT_SMTPC_COMMAND];
		if (smtpc_xtext(m->envid, x, sizeof(x)) < 0)
			return ERR_TOO_LONG;
		smtpc_outf(&o, " ENVID=%s", x);
	}
	if (m->requiretls && (ext->flags & SMTPC_EXT_REQUIRETLS))
		smtpc_outf(&o, " REQUIRETLS");
	return smtpc_out_end(&o, len_out);
}

/* RFC 3461 4.2: ORCPT=addr-type ";" xtext; the type is an atom ("rfc822", "utf-8"). */
static int smtpc_orcpt(struct smtpc_out *o, const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');
	char x[LIMIT_SMTPC_COMMAND];

	if (!semi || semi == orcpt)
		return ERR_INVAL;
	for (const char *c = orcpt; c < semi; c++) {
		bool atext = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		             (*c >= '0' && *c <= '9') || *c == '-';
		if (!atext)
			return ERR_INVAL;
	}
	if (smtpc_xtext(semi + 1, x, sizeof(x)) < 0)
		return ERR_TOO_LONG;
	smtpc_outf(o, " ORCPT=%.*s;%s", (int)(semi - orcpt), orcpt, x);
	return 0;
}

int smtpc_format_rcpt(const struct smtpc_ext *ext, const struct smtpc_rcpt *r, char *out,
                      size_t cap, size_t *len_out)
{
	struct smtpc_out o = {out, cap, 0, 0};
	bool dsn = ext->flags & SMTPC_EXT_DSN;

	if (cap == 0)
		return ERR_TOO_LONG;
	out[0] = '\0';
	if (!smtpc_field_ok(r->address))
		return ERR_INVAL;
	smtpc_outf(&o, "RCPT TO:<%s>", r->address);
	if (dsn && (r->notify & SMTPC_NOTIFY_NEVER)) {
		smtpc_outf(&o, " NOTIFY=NEVER");
	} else if (dsn && r->notify) {
		static const struct {
			unsigned bit;
			const char *name;
		} kinds[] = {{SMTPC_NOTIFY_SUCCESS, "SUCCESS"},
		             {SMTPC_NOTIFY_FAILURE, "FAILURE"},
		             {SMTPC_NOTIFY_DELAY, "DELAY"}};
		const char *sep = " NOTIFY=";
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (r->notify & kinds[i].bit) {
				smtpc_outf(&o, "%s%s", sep, kinds[i].name);
				sep = ",";
			}
		}
	}
	if (dsn && r->orcpt && r->orcpt[0]) {
		int rc = smtpc_orcpt(&o, r->orcpt);
		if (rc < 0)
			return rc;
	}
	return smtpc_out_end(&o, len_out);
}
