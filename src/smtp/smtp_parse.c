/* smtp_parse.c: one SMTP/LMTP command line into a struct smtp_cmd (RFC 5321 4.1, 2033,
 * 1870, 6152, 3030, 6531, 3461, 4954); the byte stream is cut into lines by smtp_line.c.
 * Everything a parsed command points to comes from the command arena.
 * Limits: the line (LIMIT_SMTP_LINE or lower), local part / domain / path (RFC 5321
 * 4.5.3.1), SMTP_PARAMS_MAX parameters, ENVID / ORCPT lengths (RFC 3461).
 * All decisions about odd bytes are written down in smtp_parse.h. */
#include "smtp/smtp_parse.h"

#include <arpa/inet.h>
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/str.h"
#include "core/banned.h"

/* ---- bytes ---- */

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(uint8_t c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 5322 3.2.3 atext (ASCII part). */
static bool is_atext(uint8_t c)
{
	return is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* ---- cursor over one complete line ---- */

struct cur {
	const uint8_t *p;
	size_t n;
	size_t i;
};

static bool at_end(const struct cur *c)
{
	return c->i >= c->n;
}

static int peek(const struct cur *c)
{
	return c->i < c->n ? c->p[c->i] : -1;
}

static bool eat(struct cur *c, uint8_t ch)
{
	if (peek(c) != ch)
		return false;
	c->i++;
	return true;
}

/* Step over one valid UTF-8 sequence; false if there is none. */
static bool eat_utf8(struct cur *c)
{
	/* non-ASCII only: ASCII goes through the grammar's own classes */
	size_t k = c->i < c->n && c->p[c->i] >= 0x80 ? str_utf8_seq(c->p + c->i, c->n - c->i, NULL)
						       : 0;
	c->i += k;
	return k != 0;
}

/* ---- RFC 5321 4.1.2 / RFC 6531 3.3 address grammar ---- */

/* Dot-string = Atom *("." Atom); atext plus UTF8-non-ascii (RFC 6531). */
static int scan_dot_string(struct cur *c, bool *utf8)
{
	for (;;) {
		size_t start = c->i;
		while (!at_end(c)) {
			uint8_t ch = c->p[c->i];
			if (ch < 0x80 && is_atext(ch))
				c->i++;
			else if (ch >= 0x80 && eat_utf8(c))
				*utf8 = true;
			else
				break;
		}
		if (c->i == start)
			return ERR_BAD_SYNTAX;
		if (!eat(c, '.'))
			return 0;
	}
}

/* Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE (+ UTF-8 in qtext). */
static int scan_quoted(struct cur *c, bool *utf8)
{
	if (!eat(c, '"'))
		return ERR_BAD_SYNTAX;
	while (!at_end(c)) {
		uint8_t ch = c->p[c->i];
		if (ch == '"') {
			c->i++;
			return 0;
		}
		if (ch == '\\') {
			if (c->i + 1 >= c->n || c->p[c->i + 1] < 32 || c->p[c->i + 1] > 126)
				return ERR_BAD_SYNTAX;
			c->i += 2;
		} else if (ch >= 32 && ch <= 126) {
			c->i++;
		} else if (ch >= 0x80 && eat_utf8(c)) {
			*utf8 = true;
		} else {
			return ERR_BAD_SYNTAX;
		}
	}
	return ERR_BAD_SYNTAX;
}

/* Domain = sub-domain *("." sub-domain): letters, digits, inner hyphens; U-labels when
 * allow_utf8; '_' when lenient (HELO names from Windows hosts). ASCII labels <= 63. */
static int scan_domain(struct cur *c, bool allow_utf8, bool lenient, bool *utf8)
{
	for (;;) {
		size_t start = c->i;
		bool u = false;
		while (!at_end(c)) {
			uint8_t ch = c->p[c->i];
			if (is_alnum(ch) || ch == '-' || (lenient && ch == '_'))
				c->i++;
			else if (ch >= 0x80 && allow_utf8 && eat_utf8(c))
				u = true;
			else
				break;
		}
		size_t l = c->i - start;
		if (l == 0 || c->p[start] == '-' || c->p[c->i - 1] == '-' || (!u && l > 63))
			return ERR_BAD_SYNTAX;
		*utf8 |= u;
		if (!eat(c, '.'))
			return 0;
	}
}

/* Snum 3("." Snum), Snum = 1*3DIGIT in 0..255 (leading zeros allowed by the ABNF). */
static bool ipv4_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, d = 0;
		if (part > 0 && (i >= n || s[i++] != '.'))
			return false;
		while (i < n && is_digit(s[i]) && d < 3)
			v = v * 10 + (unsigned)(s[i++] - '0'), d++;
		if (d == 0 || v > 255)
			return false;
	}
	return i == n;
}

/* address-literal = "[" (IPv4 / "IPv6:" IPv6-addr) "]". General-address-literals are
 * refused: no Standardized-tag has ever been registered, so none can be delivered to. */
static int scan_literal(struct cur *c)
{
	if (!eat(c, '['))
		return ERR_BAD_SYNTAX;
	size_t start = c->i;
	while (!at_end(c) && c->p[c->i] >= 33 && c->p[c->i] <= 126 && c->p[c->i] != '[' &&
	       c->p[c->i] != '\\' && c->p[c->i] != ']')
		c->i++;
	const uint8_t *s = c->p + start;
	size_t n = c->i - start;
	if (!eat(c, ']'))
		return ERR_BAD_SYNTAX;
	if (n > 5 && str_iprefix(s, n, "IPv6:")) {
		char tmp[INET6_ADDRSTRLEN];
		struct in6_addr a6;
		if (n - 5 >= sizeof(tmp))
			return ERR_BAD_SYNTAX;
		memcpy(tmp, s + 5, n - 5);
		tmp[n - 5] = '\0';
		return inet_pton(AF_INET6, tmp, &a6) == 1 ? 0 : ERR_BAD_SYNTAX;
	}
	return ipv4_ok(s, n) ? 0 : ERR_BAD_SYNTAX;
}

/* A mailbox as found in the input, before copying. */
struct mbox {
	size_t ls, ln; /* local part as written */
	size_t ds, dn; /* domain as written, dn == 0 for bare postmaster */
	bool quoted, literal, utf8;
};

/* Mailbox = Local-part "@" (Domain / address-literal); with allow_pm also the bare
 * "Postmaster" of RFC 5321 4.1.1.3. */
static int scan_mailbox(struct cur *c, bool allow_pm, struct mbox *m)
{
	memset(m, 0, sizeof(*m));
	m->ls = c->i;
	m->quoted = peek(c) == '"';
	int rc = m->quoted ? scan_quoted(c, &m->utf8) : scan_dot_string(c, &m->utf8);
	if (rc < 0)
		return rc;
	m->ln = c->i - m->ls;
	if (!eat(c, '@')) {
		if (allow_pm && !m->quoted && str_ieq(c->p + m->ls, m->ln, "postmaster"))
			return 0;
		return ERR_BAD_SYNTAX;
	}
	m->ds = c->i;
	m->literal = peek(c) == '[';
	rc = m->literal ? scan_literal(c) : scan_domain(c, true, false, &m->utf8);
	if (rc < 0)
		return rc;
	m->dn = c->i - m->ds;
	if (m->ln > SMTP_LOCAL_MAX || m->dn > SMTP_DOMAIN_MAX)
		return ERR_TOO_LONG;
	return 0;
}

enum path_kind { PATH_MAIL, PATH_RCPT, PATH_ANY };

/* Path = "<" [A-d-l ":"] Mailbox ">", plus "<>" (MAIL, ANY) and "<Postmaster>" (RCPT,
 * ANY). *null_out tells "<>". The whole path is at most SMTP_PATH_MAX octets. */
static int scan_path(struct cur *c, enum path_kind kind, struct mbox *m, bool *null_out)
{
	size_t start = c->i;
	*null_out = false;
	if (!eat(c, '<'))
		return ERR_BAD_SYNTAX;
	if (eat(c, '>')) {
		if (kind == PATH_RCPT)
			return ERR_BAD_SYNTAX;
		memset(m, 0, sizeof(*m));
		*null_out = true;
		return 0;
	}
	bool routed = false;
	if (peek(c) == '@') {
		bool u = false;
		do {
			if (!eat(c, '@') || scan_domain(c, true, false, &u) < 0)
				return ERR_BAD_SYNTAX;
		} while (eat(c, ','));
		if (!eat(c, ':'))
			return ERR_BAD_SYNTAX;
		routed = true;
	}
	int rc = scan_mailbox(c, kind != PATH_MAIL && !routed, m);
	if (rc < 0)
		return rc;
	if (!eat(c, '>'))
		return ERR_BAD_SYNTAX;
	return c->i - start > SMTP_PATH_MAX ? ERR_TOO_LONG : 0;
}

/* The local part for lookups: unquoted when the quotes were not needed (RFC 5321 4.1.2
 * "a.b" == a.b), "postmaster" lower-cased (RFC 5321 4.5.1), otherwise as written. */
static const char *canon_local(struct arena *a, const uint8_t *s, size_t n, bool quoted)
{
	char *out = NULL;
	if (quoted) {
		char *u = arena_alloc(a, n);
		if (!u)
			return NULL;
		size_t j = 0;
		for (size_t i = 1; i + 1 < n; i++) {
			if (s[i] == '\\')
				i++;
			u[j++] = (char)s[i];
		}
		u[j] = '\0';
		struct cur c = {(const uint8_t *)u, j, 0};
		bool dummy = false;
		if (j > 0 && scan_dot_string(&c, &dummy) == 0 && at_end(&c))
			out = u;
	}
	if (!out)
		out = arena_strndup(a, s, n);
	if (out && str_ieq(out, strlen(out), "postmaster"))
		str_lower(out);
	return out;
}

/* Copy a scanned mailbox into *p (strings from the arena). */
static int mbox_fill(struct arena *a, const uint8_t *base, const struct mbox *m, bool null,
                     struct smtp_path *p)
{
	memset(p, 0, sizeof(*p));
	if (null) {
		p->null = true;
		p->local = p->domain = p->addr = "";
		return 0;
	}
	p->literal = m->literal;
	p->utf8 = m->utf8;
	p->local = arena_strndup(a, base + m->ls, m->ln);
	p->domain = arena_strndup(a, base + m->ds, m->dn);
	const char *cl = canon_local(a, base + m->ls, m->ln, m->quoted);
	if (!p->local || !p->domain || !cl)
		return ERR_NOMEM;
	p->postmaster = strcmp(cl, "postmaster") == 0;
	if (m->dn == 0) {
		p->addr = cl;
		return 0;
	}
	char *d = arena_strndup(a, base + m->ds, m->dn);
	if (!d)
		return ERR_NOMEM;
	str_lower(d);
	p->addr = arena_printf(a, "%s@%s", cl, d);
	return p->addr ? 0 : ERR_NOMEM;
}

int smtp_addr_canon(struct arena *a, const char *addr, size_t len, bool utf8_ok,
                    const char **out_out)
{
	struct cur c = {(const uint8_t *)addr, len, 0};
	struct mbox m;
	bool null = false;
	int rc;
	*out_out = NULL;
	if (peek(&c) == '<') {
		rc = scan_path(&c, PATH_ANY, &m, &null);
	} else {
		rc = scan_mailbox(&c, true, &m);
		if (rc == 0 && len + 2 > SMTP_PATH_MAX)
			rc = ERR_TOO_LONG;
	}
	if (rc == 0 && (!at_end(&c) || (m.utf8 && !utf8_ok)))
		rc = ERR_BAD_SYNTAX;
	if (rc < 0)
		return rc;
	struct smtp_path p;
	rc = mbox_fill(a, c.p, &m, null, &p);
	if (rc < 0)
		return rc;
	*out_out = p.addr;
	return 0;
}

/* ---- commands ---- */

#define ANY (SMTP_ST_START | SMTP_ST_READY | SMTP_ST_MAIL)
#define GREETED (SMTP_ST_READY | SMTP_ST_MAIL)

const struct verb_spec smtp_verbs[SMTP_VERB_COUNT] = {
    /* name            states          min max cleartext secret */
    [SMTP_VERB_UNKNOWN] = {"?", 0, 0, 0, false, false},
    [SMTP_VERB_HELO] = {"HELO", ANY, 0, 255, false, false},
    [SMTP_VERB_EHLO] = {"EHLO", ANY, 0, 255, false, false},
    [SMTP_VERB_LHLO] = {"LHLO", ANY, 0, 255, false, false},
    [SMTP_VERB_MAIL] = {"MAIL", GREETED, 0, 255, false, false},
    [SMTP_VERB_RCPT] = {"RCPT", GREETED, 0, 255, false, false},
    [SMTP_VERB_DATA] = {"DATA", GREETED, 0, 255, false, false},
    [SMTP_VERB_BDAT] = {"BDAT", ANY, 0, 255, false, false},
    [SMTP_VERB_RSET] = {"RSET", ANY, 0, 255, false, false},
    [SMTP_VERB_NOOP] = {"NOOP", ANY, 0, 255, false, false},
    [SMTP_VERB_QUIT] = {"QUIT", ANY, 0, 255, false, false},
    [SMTP_VERB_VRFY] = {"VRFY", ANY, 0, 255, false, false},
    [SMTP_VERB_EXPN] = {"EXPN", ANY, 0, 255, false, false},
    [SMTP_VERB_HELP] = {"HELP", ANY, 0, 255, false, false},
    [SMTP_VERB_STARTTLS] = {"STARTTLS", SMTP_ST_READY, 0, 255, false, false},
    [SMTP_VERB_AUTH] = {"AUTH", SMTP_ST_READY, 0, 255, true, true},
};

#undef ANY
#undef GREETED

const char *smtp_verb_name(enum smtp_verb v)
{
	return (unsigned)v < SMTP_VERB_COUNT ? smtp_verbs[v].name : "?";
}

static enum smtp_verb verb_lookup(const uint8_t *p, size_t n)
{
	int v = verb_find(smtp_verbs, SMTP_VERB_COUNT, p, n);
	return v < 0 ? SMTP_VERB_UNKNOWN : (enum smtp_verb)v;
}

static int fail(struct smtp_cmd *cmd, int rc, unsigned code, const char *reason)
{
	cmd->reply_code = code;
	cmd->reason = reason;
	if (rc == ERR_NOMEM) {
		cmd->reply_code = 421;
		cmd->reason = "4.3.0 Out of memory, closing connection";
		cmd->must_close = true;
	}
	return rc;
}

#define BAD_PARAM(cmd, what) fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Invalid " what " value")

/* xtext (RFC 3461 4): xchar = %d33-42 / %d44-60 / %d62-126, hexchar = "+" 2HEXDIG
 * (upper case). UTF-8 passes through (RFC 6531/6533). Decoded octets must be printable:
 * the result goes into logs and DSNs. */
static int xtext_decode(struct arena *a, const char *s, const char **out)
{
	size_t n = strlen(s), j = 0;
	char *o = arena_alloc(a, n + 1);
	if (!o)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = (uint8_t)s[i];
		if (ch == '+') {
			unsigned v = 0;
			for (int k = 1; k <= 2; k++) {
				uint8_t h = i + (size_t)k < n ? (uint8_t)s[i + (size_t)k] : 0;
				if (!is_digit(h) && !(h >= 'A' && h <= 'F'))
					return ERR_BAD_SYNTAX;
				v = v * 16 +
				    (is_digit(h) ? (unsigned)(h - '0') : (unsigned)(h - 'A' + 10));
			}
			if (v < 32 || v > 126)
				return ERR_BAD_SYNTAX;
			o[j++] = (char)v;
			i += 2;
		} else if ((ch >= 33 && ch <= 126 && ch != '=') || ch >= 0x80) {
			o[j++] = (char)ch;
		} else {
			return ERR_BAD_SYNTAX;
		}
	}
	o[j] = '\0';
	*out = o;
	return 0;
}

static int param_notify(struct smtp_cmd *cmd, const char *v)
{
	size_t n = strlen(v), i = 0;
	unsigned bits = 0;
	while (i <= n) {
		size_t e = i;
		while (e < n && v[e] != ',')
			e++;
		if (str_ieq(v + i, e - i, "NEVER"))
			bits |= SMTP_NOTIFY_NEVER;
		else if (str_ieq(v + i, e - i, "SUCCESS"))
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (str_ieq(v + i, e - i, "FAILURE"))
			bits |= SMTP_NOTIFY_FAILURE;
		else if (str_ieq(v + i, e - i, "DELAY"))
			bits |= SMTP_NOTIFY_DELAY;
		else
			return BAD_PARAM(cmd, "NOTIFY");
		i = e + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return BAD_PARAM(cmd, "NOTIFY"); /* RFC 3461 4.1: NEVER stands alone */
	cmd->rcpt.notify = bits;
	return 0;
}

static int param_orcpt(struct smtp_cmd *cmd, const char *v, struct arena *a)
{
	size_t n = strlen(v), t = 0;
	while (t < n && v[t] != ';' && (uint8_t)v[t] < 0x80 && is_atext((uint8_t)v[t]))
		t++;
	if (n > SMTP_ORCPT_MAX || t == 0 || t + 1 >= n || v[t] != ';')
		return BAD_PARAM(cmd, "ORCPT");
	cmd->rcpt.orcpt_type = arena_strndup(a, v, t);
	if (!cmd->rcpt.orcpt_type)
		return fail(cmd, ERR_NOMEM, 0, NULL);
	int rc = xtext_decode(a, v + t + 1, &cmd->rcpt.orcpt_addr);
	return rc == 0 ? 0 : rc == ERR_NOMEM ? fail(cmd, rc, 0, NULL) : BAD_PARAM(cmd, "ORCPT");
}

/* Parse the value of one known parameter; unknown kinds are left to the session. */
static int param_apply(struct smtp_cmd *cmd, struct smtp_param *pm, struct arena *a)
{
	const char *v = pm->value;
	bool mail = cmd->verb == SMTP_VERB_MAIL;
	int rc;
	if (mail && strcasecmp(pm->key, "SIZE") == 0) {
		pm->kind = SMTP_PARAM_SIZE; /* RFC 1870: size-value = 1*20DIGIT */
		if (!v || str_to_u64(v, strlen(v), UINT64_MAX, &cmd->mail.size) < 0)
			return BAD_PARAM(cmd, "SIZE");
		cmd->mail.has_size = true;
	} else if (mail && strcasecmp(pm->key, "BODY") == 0) {
		pm->kind = SMTP_PARAM_BODY;
		if (v && strcasecmp(v, "7BIT") == 0)
			cmd->mail.body = SMTP_BODY_7BIT;
		else if (v && strcasecmp(v, "8BITMIME") == 0)
			cmd->mail.body = SMTP_BODY_8BITMIME;
		else if (v && strcasecmp(v, "BINARYMIME") == 0)
			cmd->mail.body = SMTP_BODY_BINARYMIME;
		else
			return BAD_PARAM(cmd, "BODY");
	} else if (mail && strcasecmp(pm->key, "SMTPUTF8") == 0) {
		pm->kind = SMTP_PARAM_SMTPUTF8;
		if (v)
			return BAD_PARAM(cmd, "SMTPUTF8");
		cmd->mail.smtputf8 = true;
	} else if (mail && strcasecmp(pm->key, "AUTH") == 0) {
		pm->kind = SMTP_PARAM_AUTH; /* RFC 4954 5: AUTH=<> or xtext mailbox */
		if (!v)
			return BAD_PARAM(cmd, "AUTH");
		if (strcmp(v, "<>") == 0) {
			cmd->mail.auth = v;
		} else if ((rc = xtext_decode(a, v, &cmd->mail.auth)) < 0) {
			return rc == ERR_NOMEM ? fail(cmd, rc, 0, NULL) : BAD_PARAM(cmd, "AUTH");
		}
	} else if (mail && strcasecmp(pm->key, "RET") == 0) {
		pm->kind = SMTP_PARAM_RET;
		if (v && strcasecmp(v, "FULL") == 0)
			cmd->mail.ret = SMTP_RET_FULL;
		else if (v && strcasecmp(v, "HDRS") == 0)
			cmd->mail.ret = SMTP_RET_HDRS;
		else
			return BAD_PARAM(cmd, "RET");
	} else if (mail && strcasecmp(pm->key, "ENVID") == 0) {
		pm->kind = SMTP_PARAM_ENVID;
		if (!v || strlen(v) > SMTP_ENVID_MAX)
			return BAD_PARAM(cmd, "ENVID");
		if ((rc = xtext_decode(a, v, &cmd->mail.envid)) < 0)
			return rc == ERR_NOMEM ? fail(cmd, rc, 0, NULL) : BAD_PARAM(cmd, "ENVID");
	} else if (mail && strcasecmp(pm->key, "REQUIRETLS") == 0) {
		pm->kind = SMTP_PARAM_REQUIRETLS;
		if (v)
			return BAD_PARAM(cmd, "REQUIRETLS");
		cmd->mail.requiretls = true;
	} else if (!mail && strcasecmp(pm->key, "NOTIFY") == 0) {
		pm->kind = SMTP_PARAM_NOTIFY;
		return v ? param_notify(cmd, v) : BAD_PARAM(cmd, "NOTIFY");
	} else if (!mail && strcasecmp(pm->key, "ORCPT") == 0) {
		pm->kind = SMTP_PARAM_ORCPT;
		return v ? param_orcpt(cmd, v, a) : BAD_PARAM(cmd, "ORCPT");
	}
	return 0;
}

/* Mail-parameters = esmtp-param *(SP esmtp-param) (RFC 5321 4.1.2), each preceded by
 * exactly one SP here; esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii). */
static int scan_params(struct cur *c, struct smtp_cmd *cmd, struct arena *a)
{
	unsigned seen = 0;
	while (!at_end(c)) {
		if (cmd->n_params == SMTP_PARAMS_MAX)
			return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Too many parameters");
		if (!eat(c, ' ') || at_end(c) || !is_alnum(c->p[c->i]))
			return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Invalid parameter syntax");
		size_t ks = c->i;
		while (!at_end(c) && (is_alnum(c->p[c->i]) || c->p[c->i] == '-'))
			c->i++;
		size_t ke = c->i, vs = 0;
		bool has_v = eat(c, '=');
		if (has_v) {
			vs = c->i;
			while (!at_end(c)) {
				uint8_t ch = c->p[c->i];
				if (ch >= 33 && ch <= 126 && ch != '=')
					c->i++;
				else if (ch < 0x80 || !eat_utf8(c))
					break;
			}
			if (c->i == vs)
				return fail(cmd, ERR_BAD_SYNTAX, 501,
				            "5.5.4 Invalid parameter syntax");
		}
		if (!at_end(c) && peek(c) != ' ')
			return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Invalid parameter syntax");
		struct smtp_param *pm = &cmd->params[cmd->n_params++];
		pm->key = arena_strndup(a, c->p + ks, ke - ks);
		pm->value = has_v ? arena_strndup(a, c->p + vs, c->i - vs) : NULL;
		if (!pm->key || (has_v && !pm->value))
			return fail(cmd, ERR_NOMEM, 0, NULL);
		int rc = param_apply(cmd, pm, a);
		if (rc < 0)
			return rc;
		if (pm->kind != SMTP_PARAM_OTHER) {
			if (seen & (1u << pm->kind))
				return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Duplicate parameter");
			seen |= 1u << pm->kind;
		}
	}
	return 0;
}

static int parse_mail_rcpt(struct cur *c, struct smtp_cmd *cmd, bool utf8_ok, struct arena *a)
{
	bool rcpt = cmd->verb == SMTP_VERB_RCPT;
	const char *kw = rcpt ? " TO:" : " FROM:";
	const char *bad =
	    rcpt ? "5.1.3 Bad recipient address syntax" : "5.1.7 Bad sender address syntax";
	if (!str_iprefix(c->p + c->i, c->n - c->i, kw))
		return fail(cmd, ERR_BAD_SYNTAX, 501,
		            rcpt ? "5.5.4 Syntax: RCPT TO:<address>"
		                 : "5.5.4 Syntax: MAIL FROM:<address>");
	c->i += strlen(kw);
	(void)eat(c, ' '); /* the one leniency: "MAIL FROM: <a@b>" */
	struct mbox m;
	bool null;
	int rc = scan_path(c, rcpt ? PATH_RCPT : PATH_MAIL, &m, &null);
	if (rc == ERR_TOO_LONG)
		return fail(cmd, rc, 501, rcpt ? "5.1.3 Path too long" : "5.1.7 Path too long");
	if (rc < 0 || (!at_end(c) && peek(c) != ' '))
		return fail(cmd, ERR_BAD_SYNTAX, 501, bad);
	if ((rc = mbox_fill(a, c->p, &m, null, &cmd->path)) < 0)
		return fail(cmd, rc, 0, NULL);
	if ((rc = scan_params(c, cmd, a)) < 0)
		return rc;
	if (cmd->path.utf8 && !(utf8_ok || (!rcpt && cmd->mail.smtputf8)))
		return fail(cmd, ERR_BAD_SYNTAX, 553, "5.6.7 Non-ASCII address requires SMTPUTF8");
	return 1;
}

/* ehlo = "EHLO" SP (Domain / address-literal); HELO and LHLO the same. ASCII only;
 * '_' tolerated in names. */
static int parse_helo(struct cur *c, struct smtp_cmd *cmd, struct arena *a)
{
	size_t start = c->i + 1;
	bool u = false;
	int rc = ERR_BAD_SYNTAX;
	if (eat(c, ' ')) {
		cmd->domain_literal = peek(c) == '[';
		rc = cmd->domain_literal ? scan_literal(c) : scan_domain(c, false, true, &u);
	}
	if (rc < 0 || !at_end(c))
		return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Syntax: EHLO hostname");
	if (c->i - start > SMTP_DOMAIN_MAX)
		return fail(cmd, ERR_TOO_LONG, 501, "5.5.4 Domain name too long");
	cmd->domain = arena_strndup(a, c->p + start, c->i - start);
	return cmd->domain ? 1 : fail(cmd, ERR_NOMEM, 0, NULL);
}

/* bdat-cmd = "BDAT" SP chunk-size [SP end-marker] (RFC 3030 2); leading zeros are fine,
 * overflow of 64 bits is an error. Every BDAT error sets must_close (smtp_cmd_parse). */
static int parse_bdat(struct cur *c, struct smtp_cmd *cmd)
{
	uint64_t v = 0;
	size_t start;
	if (!eat(c, ' '))
		return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Syntax: BDAT size [LAST]");
	for (start = c->i; !at_end(c) && is_digit(c->p[c->i]); c->i++) {
		unsigned d = (unsigned)(c->p[c->i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Invalid BDAT size");
		v = v * 10 + d;
	}
	if (c->i == start)
		return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Syntax: BDAT size [LAST]");
	if (!at_end(c)) {
		if (!eat(c, ' ') || !str_ieq(c->p + c->i, c->n - c->i, "LAST"))
			return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Syntax: BDAT size [LAST]");
		cmd->bdat_last = true;
	}
	cmd->bdat_size = v;
	return 1;
}

/* auth-command = "AUTH" SP sasl-mech [SP initial-response] (RFC 4954 4);
 * initial-response = base64 / "=". */
static int parse_auth(struct cur *c, struct smtp_cmd *cmd, struct arena *a)
{
	const char *syn = "5.5.4 Syntax: AUTH mechanism [initial-response]";
	if (!eat(c, ' '))
		return fail(cmd, ERR_BAD_SYNTAX, 501, syn);
	size_t ms = c->i;
	while (!at_end(c) && (is_alnum(c->p[c->i]) || c->p[c->i] == '-' || c->p[c->i] == '_'))
		c->i++;
	size_t mn = c->i - ms;
	if (mn == 0 || mn > SMTP_MECH_MAX || (!at_end(c) && peek(c) != ' '))
		return fail(cmd, ERR_BAD_SYNTAX, 501, syn);
	char *mech = arena_strndup(a, c->p + ms, mn);
	if (!mech)
		return fail(cmd, ERR_NOMEM, 0, NULL);
	for (char *q = mech; *q; q++)
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 32);
	cmd->auth_mech = mech;
	if (at_end(c))
		return 1;
	c->i++;
	size_t rs = c->i, rn = c->n - rs, pad = 0;
	bool ok = rn > 0;
	if (!(rn == 1 && c->p[rs] == '=')) {
		for (size_t i = 0; ok && i < rn; i++) {
			uint8_t ch = c->p[rs + i];
			if (ch == '=')
				pad++;
			else if (pad > 0 || !(is_alnum(ch) || ch == '+' || ch == '/'))
				ok = false;
		}
		ok = ok && pad <= 2 && rn % 4 == 0;
	}
	if (!ok)
		return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.2 Invalid base64 initial response");
	cmd->auth_initial = arena_strndup(a, c->p + rs, rn);
	return cmd->auth_initial ? 1 : fail(cmd, ERR_NOMEM, 0, NULL);
}

/* VRFY/EXPN String, HELP/NOOP [String]: taken as free text after one SP: printable
 * ASCII, HTAB and valid UTF-8, at least one byte. */
static int parse_text(struct cur *c, struct smtp_cmd *cmd, bool required, struct arena *a)
{
	if (at_end(c) && !required)
		return 1;
	if (!eat(c, ' ') || at_end(c))
		return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 Syntax: argument required");
	size_t s = c->i;
	while (!at_end(c)) {
		uint8_t ch = c->p[c->i];
		if ((ch >= 32 && ch <= 126) || ch == '\t')
			c->i++;
		else if (ch < 0x80 || !eat_utf8(c))
			return fail(cmd, ERR_BAD_SYNTAX, 501,
			            "5.5.4 Invalid characters in argument");
	}
	cmd->arg = arena_strndup(a, c->p + s, c->n - s);
	return cmd->arg ? 1 : fail(cmd, ERR_NOMEM, 0, NULL);
}

static int parse_args(struct cur *c, struct smtp_cmd *cmd, bool utf8_ok, struct arena *a)
{
	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
	case SMTP_VERB_LHLO:
		return parse_helo(c, cmd, a);
	case SMTP_VERB_MAIL:
	case SMTP_VERB_RCPT:
		return parse_mail_rcpt(c, cmd, utf8_ok, a);
	case SMTP_VERB_BDAT:
		return parse_bdat(c, cmd);
	case SMTP_VERB_AUTH:
		return parse_auth(c, cmd, a);
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
		return parse_text(c, cmd, true, a);
	case SMTP_VERB_HELP:
	case SMTP_VERB_NOOP:
		return parse_text(c, cmd, false, a);
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		if (!at_end(c))
			return fail(cmd, ERR_BAD_SYNTAX, 501, "5.5.4 No parameters allowed");
		return 1;
	case SMTP_VERB_UNKNOWN:
	case SMTP_VERB_COUNT:
		break;
	}
	return fail(cmd, ERR_BAD_SYNTAX, 500, "5.5.2 Command not recognized");
}

int smtp_cmd_parse(const uint8_t *line, size_t len, bool utf8_ok, struct arena *a,
                   struct smtp_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->raw = line;
	cmd->raw_len = len;
	size_t w = 0;
	while (w < len && line[w] != ' ')
		w++;
	cmd->verb = verb_lookup(line, w);
	int rc;
	if (len == 0)
		rc = fail(cmd, ERR_BAD_SYNTAX, 500, "5.5.2 Empty command");
	else if (memchr(line, '\r', len))
		rc = fail(cmd, ERR_BAD_SYNTAX, 500, "5.5.2 Bare CR not allowed");
	else if (memchr(line, '\0', len))
		rc = fail(cmd, ERR_BAD_SYNTAX, 500, "5.5.2 NUL not allowed");
	else {
		struct cur c = {line, len, w};
		rc = parse_args(&c, cmd, utf8_ok, a);
	}
	if (rc < 0 && cmd->verb == SMTP_VERB_BDAT)
		cmd->must_close = true;
	return rc;
}
