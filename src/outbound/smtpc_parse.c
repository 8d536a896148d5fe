/* smtpc_parse.c: the SMTP client's pure reply parser (RFC 5321 4.2, RFC 3463 enhanced
 * status codes) and EHLO keyword parser (RFC 5321 4.1.1.1). No I/O, no allocation: all
 * progress lives in struct smtpc_reply_parser. Bounds: LIMIT_SMTPC_REPLY_LINE per line,
 * LIMIT_SMTPC_REPLY_LINES per reply, LIMIT_SMTPC_REPLY_TEXT kept of the text. The line
 * decisions are listed in smtpc.h. */
#include "outbound/smtpc.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"

static const char smtpc_cut_mark[] = "...";

void smtpc_reply_parser_init(struct smtpc_reply_parser *rp, struct smtpc_reply *reply,
                             struct smtpc_ext *ext)
{
	rp->reply = reply;
	rp->ext = ext;
	rp->len = 0;
	rp->lines = 0;
	rp->text_len = 0;
	rp->status[0] = '\0';
	memset(reply, 0, sizeof(*reply));
	if (ext)
		memset(ext, 0, sizeof(*ext));
}

/* Append one byte of text to the kept one-line form; past its room the text is cut
 * (at a UTF-8 character boundary) and marked, once. */
static void smtpc_text_put(struct smtpc_reply_parser *rp, uint8_t c)
{
	struct smtpc_reply *r = rp->reply;
	size_t room = sizeof(r->line) - sizeof(smtpc_cut_mark); /* keeps the mark's room */

	if (r->cut)
		return;
	if (rp->text_len >= room) {
		size_t at = rp->text_len, lead = at;
		/* never half a UTF-8 sequence: a lead byte whose sequence does not end
		 * before the cut goes with it */
		while (lead > 0 && ((uint8_t)r->line[lead - 1] & 0xC0) == 0x80)
			lead--;
		if (lead > 0 && (uint8_t)r->line[lead - 1] >= 0xC0) {
			uint8_t b = (uint8_t)r->line[lead - 1];
			size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
			if (lead - 1 + need > at)
				at = lead - 1;
		}
		for (size_t i = 0; i < sizeof(smtpc_cut_mark); i++)
			r->line[at + i] = smtpc_cut_mark[i];
		rp->text_len = at + sizeof(smtpc_cut_mark) - 1;
		r->cut = true;
		return;
	}
	/* controls (NUL, bare CR, ESC...) would reach logs and DSNs: shown as '?' */
	if ((c < 0x20 && c != '\t') || c == 0x7F)
		c = '?';
	r->line[rp->text_len++] = (char)c;
	r->line[rp->text_len] = '\0';
}

static void smtpc_text_puts(struct smtpc_reply_parser *rp, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		smtpc_text_put(rp, b[i]);
}

static bool smtpc_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3463 2: status-code = class "." subject "." detail, class 2/4/5 (the reply code's
 * first digit), subject and detail 1*3digit; followed by SP or the end of the text.
 * Returns its length, 0 when the text does not start with one. */
static size_t smtpc_status_len(const uint8_t *t, size_t n, uint8_t class_digit)
{
	size_t i = 0;

	if (n < 5 || t[0] != class_digit || t[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < n && smtpc_is_digit(t[i]) && d < 4) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (part == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && t[i] != ' ')
		return 0;
	return i;
}

/* One whole line buf[0..n) (line end removed). */
static int smtpc_reply_line(struct smtpc_reply_parser *rp, const uint8_t *l, size_t n,
                            bool *last_out)
{
	struct smtpc_reply *r = rp->reply;
	int code;

	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' || !smtpc_is_digit(l[2]))
		return ERR_BAD_SYNTAX;
	if (n > 3 && l[3] != ' ' && l[3] != '-')
		return ERR_BAD_SYNTAX;
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (rp->lines > 0 && code != r->code)
		return ERR_BAD_SYNTAX;
	if (rp->lines >= LIMIT_SMTPC_REPLY_LINES)
		return ERR_TOO_LONG;
	rp->lines++;
	*last_out = n == 3 || l[3] == ' ';

	const uint8_t *t = n > 4 ? l + 4 : l + n;
	size_t tn = n > 4 ? n - 4 : 0;
	size_t sl = smtpc_status_len(t, tn, l[0]);

	if (rp->lines == 1) {
		r->code = code;
		smtpc_text_puts(rp, l, 3);
		if (sl > 0) {
			for (size_t i = 0; i < sl; i++)
				rp->status[i] = (char)t[i];
			rp->status[sl] = '\0';
			for (size_t i = 0; i <= sl; i++)
				r->status[i] = rp->status[i];
			smtpc_text_put(rp, ' ');
			smtpc_text_puts(rp, t, sl);
		}
	} else if (rp->ext) {
		smtpc_ehlo_keyword(rp->ext, (const char *)t, tn);
	}
	/* a continuation line repeating the first line's status: left out once joined */
	if (sl > 0 && rp->lines > 1 && strlen(rp->status) == sl && memcmp(rp->status, t, sl) == 0) {
		t += sl;
		tn -= sl;
	} else if (rp->lines == 1) {
		t += sl;
		tn -= sl;
	}
	while (tn > 0 && t[0] == ' ') {
		t++;
		tn--;
	}
	if (tn > 0) {
		smtpc_text_put(rp, ' ');
		smtpc_text_puts(rp, t, tn);
	}
	return 0;
}

int smtpc_reply_parse(struct smtpc_reply_parser *rp, const uint8_t *p, size_t len, size_t *used_out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c != '\n') {
			/* content is at most LIMIT - 2 bytes; one more may be the CR of CRLF */
			if (rp->len >= LIMIT_SMTPC_REPLY_LINE - 1 ||
			    (rp->len >= LIMIT_SMTPC_REPLY_LINE - 2 && c != '\r')) {
				*used_out = i;
				return ERR_TOO_LONG;
			}
			rp->buf[rp->len++] = c;
			continue;
		}
		size_t n = rp->len;
		bool last = false;
		if (n > 0 && rp->buf[n - 1] == '\r')
			n--;
		rp->len = 0;
		if (rp->on_line)
			rp->on_line(rp->on_line_ctx, rp->buf, n);
		int rc = smtpc_reply_line(rp, rp->buf, n, &last);
		if (rc < 0) {
			*used_out = i + 1;
			return rc;
		}
		if (last) {
			*used_out = i + 1;
			return 1;
		}
	}
	*used_out = len;
	return 0;
}

static bool smtpc_kw(const char *t, size_t n, const char *kw, size_t *arg_out)
{
	size_t k = strlen(kw);

	if (n < k || !str_iprefix(t, n, kw))
		return false;
	if (n > k && t[k] != ' ' && t[k] != '=')
		return false;
	*arg_out = n > k ? k + 1 : n;
	return true;
}

/* AUTH's mechanism list: "PLAIN LOGIN CRAM-MD5" */
static unsigned smtpc_auth_mechs(const char *t, size_t n)
{
	unsigned mechs = 0;
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && t[j] != ' ')
			j++;
		if (str_ieq(t + i, j - i, "PLAIN"))
			mechs |= SMTPC_AUTH_PLAIN;
		else if (str_ieq(t + i, j - i, "LOGIN"))
			mechs |= SMTPC_AUTH_LOGIN;
		i = j + 1;
	}
	return mechs;
}

void smtpc_ehlo_keyword(struct smtpc_ext *ext, const char *text, size_t len)
{
	static const struct {
		const char *kw;
		unsigned flag;
	} plain[] = {
	    {"PIPELINING", SMTPC_EXT_PIPELINING},
	    {"8BITMIME", SMTPC_EXT_8BITMIME},
	    {"SMTPUTF8", SMTPC_EXT_SMTPUTF8},
	    {"CHUNKING", SMTPC_EXT_CHUNKING},
	    {"BINARYMIME", SMTPC_EXT_BINARYMIME},
	    {"DSN", SMTPC_EXT_DSN},
	    {"STARTTLS", SMTPC_EXT_STARTTLS},
	    {"REQUIRETLS", SMTPC_EXT_REQUIRETLS},
	    {"ENHANCEDSTATUSCODES", SMTPC_EXT_ENHANCEDSTATUSCODES},
	};
	size_t arg;

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (str_ieq(text, len, plain[i].kw)) {
			ext->flags |= plain[i].flag;
			return;
		}
	}
	if (smtpc_kw(text, len, "SIZE", &arg)) {
		uint64_t v = 0;
		ext->flags |= SMTPC_EXT_SIZE;
		/* RFC 1870 4: 0 or no value means no fixed limit; a value we cannot read
		 * is taken the same way (the server still refuses what it must) */
		if (arg < len && str_to_u64(text + arg, len - arg, UINT64_MAX, &v) == 0)
			ext->size = v;
		else
			ext->size = 0;
		return;
	}
	/* "AUTH=" is the form of servers older than RFC 4954 (still met) */
	if (smtpc_kw(text, len, "AUTH", &arg)) {
		ext->flags |= SMTPC_EXT_AUTH;
		ext->auth |= smtpc_auth_mechs(text + arg, len - arg);
	}
}

void smtpc_reply_set(struct smtpc_reply *r, int code, const char *status, const char *text)
{
	int n;

	memset(r, 0, sizeof(*r));
	r->code = code;
	r->synthesized = true;
	if (status && strlen(status) < sizeof(r->status))
		snprintf(r->status, sizeof(r->status), "%s", status);
	n = snprintf(r->line, sizeof(r->line), "%03d%s%s %s", code, r->status[0] ? " " : "",
	             r->status, text ? text : "");
	if (n < 0 || (size_t)n >= sizeof(r->line))
		r->cut = true;
}
