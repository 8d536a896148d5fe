/* pop3_parse.c: the POP3 command line parser (RFC 1939, 2449, 5034, 6856).
 * Owns the line being assembled (an inline LIMIT_POP3_LINE buffer, switched once to a
 * LIMIT_SASL_LINE buffer from the session arena for AUTH and SASL response lines);
 * the parsed command's strings go to the command arena. The line buffer is wiped
 * after every line because it may have held a password. Limits: LIMIT_POP3_LINE per
 * command, LIMIT_SASL_LINE for AUTH and SASL lines, POP3_ARG_MAX per argument.
 * The second half is the multi-line response encoder (dot-stuffing, RFC 1939 3 and
 * the TOP cut, RFC 1939 7): pure and resumable too, writing into a caller's fixed-size
 * buf and holding back at most a few bytes in struct pop3_dot when that buf is full. */
#include "pop3/pop3_parse.h"

#include <string.h>

#include <openssl/crypto.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"
#include "core/banned.h"

#define A POP3_ST_AUTHORIZATION
#define T POP3_ST_TRANSACTION

const struct verb_spec pop3_verbs[POP3_CMD_COUNT] = {
    /* name    states min max cleartext secret */
    [POP3_CMD_NONE] = {"?", 0, 0, 0, false, false},
    [POP3_CMD_UNKNOWN] = {"?", 0, 0, 0, false, false},
    [POP3_CMD_USER] = {"USER", A, 1, 1, true, false},
    [POP3_CMD_PASS] = {"PASS", A, 1, 1, true, true},
    [POP3_CMD_APOP] = {"APOP", A, 2, 2, false, false},
    [POP3_CMD_QUIT] = {"QUIT", A | T, 0, 0, false, false},
    [POP3_CMD_STAT] = {"STAT", T, 0, 0, false, false},
    [POP3_CMD_LIST] = {"LIST", T, 0, 1, false, false},
    [POP3_CMD_RETR] = {"RETR", T, 1, 1, false, false},
    [POP3_CMD_DELE] = {"DELE", T, 1, 1, false, false},
    [POP3_CMD_NOOP] = {"NOOP", T, 0, 0, false, false},
    [POP3_CMD_RSET] = {"RSET", T, 0, 0, false, false},
    [POP3_CMD_TOP] = {"TOP", T, 2, 2, false, false},
    [POP3_CMD_UIDL] = {"UIDL", T, 0, 1, false, false},
    [POP3_CMD_CAPA] = {"CAPA", A | T, 0, 0, false, false},
    [POP3_CMD_STLS] = {"STLS", A, 0, 0, false, false},
    [POP3_CMD_AUTH] = {"AUTH", A, 0, 2, true, true},
    [POP3_CMD_UTF8] = {"UTF8", A, 0, 0, false, false},
    [POP3_CMD_LANG] = {"LANG", A | T, 0, 1, false, false},
    [POP3_CMD_SASL_RESPONSE] = {"?", 0, 1, 1, true, true},
    [POP3_CMD_SASL_CANCEL] = {"?", 0, 0, 0, false, false},
};

#undef A
#undef T

const char *pop3_verb_name(enum pop3_verb v)
{
	if ((unsigned)v >= POP3_CMD_COUNT)
		return "?";
	return pop3_verbs[v].name;
}

void pop3_parse_init(struct pop3_parser *ps, struct arena *session_arena, struct arena *cmd_arena)
{
	memset(ps, 0, sizeof(*ps));
	ps->session_arena = session_arena;
	ps->cmd_arena = cmd_arena;
	ps->line_max = LIMIT_POP3_LINE;
	ps->sasl_max = LIMIT_SASL_LINE;
	buf_init(&ps->line, ps->small, sizeof(ps->small));
}

void pop3_parse_set_limits(struct pop3_parser *ps, size_t line_max, size_t sasl_max)
{
	if (line_max < 16)
		line_max = 16;
	if (line_max > LIMIT_POP3_LINE)
		line_max = LIMIT_POP3_LINE;
	if (sasl_max > LIMIT_SASL_LINE)
		sasl_max = LIMIT_SASL_LINE;
	if (sasl_max < line_max)
		sasl_max = line_max;
	ps->line_max = line_max;
	ps->sasl_max = sasl_max;
}

/* Wipe the held line and go back to the inline buffer (the big one stays allocated
 * for the session's next long line). */
static void line_clear(struct pop3_parser *ps)
{
	if (ps->line.len)
		OPENSSL_cleanse(ps->line.data, ps->line.len);
	buf_init(&ps->line, ps->small, sizeof(ps->small));
}

void pop3_parse_reset(struct pop3_parser *ps)
{
	line_clear(ps);
	ps->discard = false;
	ps->sasl = false;
}

void pop3_parse_expect_sasl(struct pop3_parser *ps)
{
	ps->sasl = true;
}

void pop3_cmd_wipe(struct pop3_cmd *cmd)
{
	for (unsigned i = 0; i < cmd->argc && i < POP3_ARGS_MAX; i++)
		if (cmd->argv[i] && cmd->argl[i])
			OPENSSL_cleanse(cmd->argv[i], cmd->argl[i]);
}

/* Is the line an AUTH command? Looks at the held bytes followed by s[0..n). */
static bool is_auth_line(const struct pop3_parser *ps, const uint8_t *s, size_t n)
{
	uint8_t head[5];
	size_t k = 0;
	for (size_t i = 0; i < ps->line.len && k < sizeof(head); i++)
		head[k++] = ps->line.data[i];
	for (size_t i = 0; i < n && k < sizeof(head); i++)
		head[k++] = s[i];
	return k == sizeof(head) && str_iprefix(head, k, "AUTH ");
}

/* Append to the line, moving it to the big buffer when it outgrows the small one. */
static int line_add(struct pop3_parser *ps, const uint8_t *s, size_t n)
{
	if (n <= buf_room(&ps->line))
		return buf_append(&ps->line, s, n);
	if (ps->line.data == ps->small) {
		if (!ps->big) {
			ps->big = arena_alloc(ps->session_arena, LIMIT_SASL_LINE);
			if (!ps->big)
				return ERR_NOMEM;
		}
		struct buf nb;
		buf_init(&nb, ps->big, LIMIT_SASL_LINE);
		int rc = buf_append(&nb, ps->line.data, ps->line.len);
		if (rc < 0)
			return rc;
		OPENSSL_cleanse(ps->small, ps->line.len);
		ps->line = nb;
	}
	return buf_append(&ps->line, s, n);
}

static char *copy(struct pop3_parser *ps, const uint8_t *p, size_t n)
{
	return arena_strndup(ps->cmd_arena, p, n);
}

static int add_arg(struct pop3_parser *ps, const uint8_t *p, size_t n)
{
	struct pop3_cmd *c = &ps->cmd;
	if (c->argc >= POP3_ARGS_MAX)
		return ERR_BAD_SYNTAX;
	char *s = copy(ps, p, n);
	if (!s)
		return ERR_NOMEM;
	c->argv[c->argc] = s;
	c->argl[c->argc] = n;
	c->argc++;
	return 0;
}

/* Decimal without sign, leading zeros allowed, at most POP3_ARG_MAX characters. */
static int parse_num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	size_t i = 0;
	if (n == 0)
		return ERR_BAD_SYNTAX;
	while (i + 1 < n && s[i] == '0')
		i++;
	if (str_to_u64(s + i, n - i, max, out) < 0)
		return ERR_BAD_SYNTAX;
	return 0;
}

static bool mech_ok(const char *s, size_t n)
{
	if (n == 0 || n > POP3_MECH_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
		if (!ok)
			return false;
	}
	return true;
}

static bool hex32(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F')))
			return false;
	}
	return true;
}

/* Per-verb argument checks once the arguments are split. */
static int check_args(struct pop3_cmd *c)
{
	const struct verb_spec *vi = &pop3_verbs[c->verb];
	uint64_t v;
	if (c->argc < vi->min_args || c->argc > vi->max_args)
		return ERR_BAD_SYNTAX;
	switch (c->verb) {
	case POP3_CMD_LIST:
	case POP3_CMD_UIDL:
	case POP3_CMD_RETR:
	case POP3_CMD_DELE:
	case POP3_CMD_TOP:
		if (c->argc == 0)
			return 0;
		if (c->argl[0] > POP3_ARG_MAX)
			return ERR_TOO_LONG;
		if (parse_num(c->argv[0], c->argl[0], UINT32_MAX, &v) < 0)
			return ERR_BAD_SYNTAX;
		c->msg = (uint32_t)v;
		c->has_msg = true;
		if (c->verb == POP3_CMD_TOP) {
			if (c->argl[1] > POP3_ARG_MAX)
				return ERR_TOO_LONG;
			if (parse_num(c->argv[1], c->argl[1], UINT64_MAX, &c->lines) < 0)
				return ERR_BAD_SYNTAX;
		}
		return 0;
	case POP3_CMD_APOP:
		/* RFC 1939 7: the digest is 16 octets of MD5 in hexadecimal. */
		return hex32(c->argv[1], c->argl[1]) ? 0 : ERR_BAD_SYNTAX;
	case POP3_CMD_AUTH:
		if (c->argc >= 1 && !mech_ok(c->argv[0], c->argl[0]))
			return c->argl[0] > POP3_MECH_MAX ? ERR_TOO_LONG : ERR_BAD_SYNTAX;
		return 0;
	case POP3_CMD_LANG:
		return c->argc == 1 && c->argl[0] > POP3_ARG_MAX ? ERR_TOO_LONG : 0;
	default:
		return 0;
	}
}

static enum pop3_verb lookup(const uint8_t *w, size_t n)
{
	int v = verb_find(pop3_verbs, POP3_CMD_COUNT, w, n);
	return v < 0 ? POP3_CMD_UNKNOWN : (enum pop3_verb)v;
}

/* Parse one complete command line s[0..n) (terminator removed). */
static int parse_command(struct pop3_parser *ps, const uint8_t *s, size_t n)
{
	struct pop3_cmd *c = &ps->cmd;
	size_t i = 0;
	while (i < n && s[i] != ' ')
		i++;
	if (i == 0)
		return ERR_BAD_SYNTAX; /* empty line or leading space */
	c->verb = lookup(s, i);
	if (c->verb == POP3_CMD_UNKNOWN) {
		c->keyword = copy(ps, s, i < POP3_KEYWORD_LOG ? i : POP3_KEYWORD_LOG);
		return c->keyword ? 1 : ERR_NOMEM;
	}
	if (c->verb == POP3_CMD_PASS) {
		/* RFC 1939 7: the password is the rest of the line after one space, so
		 * it may contain (and begin or end with) spaces. */
		if (n <= 5)
			return ERR_BAD_SYNTAX;
		int rc = add_arg(ps, s + 5, n - 5);
		return rc < 0 ? rc : 1;
	}
	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;
		size_t start = i;
		while (i < n && s[i] != ' ')
			i++;
		int rc = add_arg(ps, s + start, i - start);
		if (rc < 0)
			return rc;
	}
	int rc = check_args(c);
	return rc < 0 ? rc : 1;
}

/* The verb of a line that will be refused anyway, for a better -ERR: the keyword
 * must be clean (no control octets) and known. */
static enum pop3_verb keyword_verb(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] > 0x20 && s[i] != 0x7f)
		i++;
	if (i == 0 || (i < n && s[i] != ' '))
		return POP3_CMD_NONE;
	return lookup(s, i);
}

/* A line is complete: turn it into ps->cmd. */
static int finish_line(struct pop3_parser *ps)
{
	const uint8_t *s = ps->line.data;
	size_t n = ps->line.len;
	bool sasl = ps->sasl;
	int rc;

	ps->sasl = false;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f) {
			ps->cmd.verb = sasl ? POP3_CMD_SASL_RESPONSE : keyword_verb(s, n);
			return ERR_BAD_SYNTAX;
		}
	if (sasl) {
		if (n == 1 && s[0] == '*') {
			ps->cmd.verb = POP3_CMD_SASL_CANCEL;
			return 1;
		}
		ps->cmd.verb = POP3_CMD_SASL_RESPONSE;
		rc = add_arg(ps, s, n);
		return rc < 0 ? rc : 1;
	}
	rc = parse_command(ps, s, n);
	if (rc < 0) {
		/* Nothing half-parsed reaches the session; secrets are wiped. */
		pop3_cmd_wipe(&ps->cmd);
		enum pop3_verb v = ps->cmd.verb;
		memset(&ps->cmd, 0, sizeof(ps->cmd));
		ps->cmd.verb = v;
		ps->cmd.octets = ps->line.len + 1;
	}
	return rc;
}

static void cmd_clear(struct pop3_cmd *c)
{
	memset(c, 0, sizeof(*c));
}

int pop3_parse(struct pop3_parser *ps, const uint8_t *p, size_t len, size_t *used_out)
{
	size_t i = 0;
	*used_out = 0;
	if (len == 0)
		return 0; /* nothing to look at (and p may be NULL) */
	if (ps->discard) {
		const uint8_t *lf = memchr(p, '\n', len);
		if (!lf) {
			*used_out = len;
			return 0;
		}
		ps->discard = false;
		i = (size_t)(lf - p) + 1;
	}
	const uint8_t *s = p + i;
	size_t avail = len - i;
	const uint8_t *lf = memchr(s, '\n', avail);
	size_t take = lf ? (size_t)(lf - s) : avail;
	size_t lim = ps->line_max;
	if (ps->sasl || is_auth_line(ps, s, take))
		lim = ps->sasl_max;
	/* Room for the rest of the line's content: the terminator (at least the LF)
	 * must still fit, so content is at most lim - 1 octets (CR included). */
	size_t allowed = ps->line.len < lim ? lim - 1 - ps->line.len : 0;
	if (take > allowed) {
		cmd_clear(&ps->cmd);
		ps->cmd.verb = POP3_CMD_NONE;
		ps->cmd.octets = ps->line.len + allowed;
		line_clear(ps);
		ps->discard = true;
		ps->sasl = false;
		*used_out = i + allowed;
		return ERR_TOO_LONG;
	}
	int rc = line_add(ps, s, take);
	if (rc < 0) {
		line_clear(ps);
		ps->discard = true;
		*used_out = i + take;
		return rc;
	}
	if (!lf) {
		*used_out = len;
		return 0;
	}
	*used_out = i + take + 1;
	cmd_clear(&ps->cmd);
	ps->cmd.octets = ps->line.len + 1;
	rc = finish_line(ps);
	line_clear(ps);
	return rc;
}

/* ---- multi-line responses ---- */

void pop3_dot_init(struct pop3_dot *d)
{
	memset(d, 0, sizeof(*d));
	d->bol = true;
}

void pop3_dot_init_top(struct pop3_dot *d, uint64_t lines)
{
	pop3_dot_init(d);
	d->top = true;
	d->lines_left = lines;
}

/* Move held-back bytes into out; true when none are left. */
static bool drain(struct pop3_dot *d, struct buf *out)
{
	size_t n = (size_t)(d->pend_len - d->pend_off);
	size_t room = buf_room(out);
	if (n > room)
		n = room;
	if (n) {
		(void)buf_append(out, d->pend + d->pend_off, n); /* fits: n <= room */
		d->pend_off = (uint8_t)(d->pend_off + n);
	}
	if (d->pend_off == d->pend_len) {
		d->pend_off = d->pend_len = 0;
		return true;
	}
	return false;
}

/* Produce n (<= 5) bytes: into out as far as it has room, the rest held back. Only
 * called with nothing held back. */
static void emit(struct pop3_dot *d, struct buf *out, const char *s, size_t n)
{
	size_t room = buf_room(out);
	size_t k = n < room ? n : room;
	if (k)
		(void)buf_append(out, s, k); /* fits: k <= room */
	for (size_t i = k; i < n; i++)
		d->pend[d->pend_len++] = (uint8_t)s[i];
}

/* A line has just ended (its LF went out): TOP bookkeeping. */
static void line_end(struct pop3_dot *d)
{
	bool blank = d->line_n == 0 || (d->line_n == 1 && d->last_cr);
	d->bol = true;
	d->last_cr = false;
	d->line_n = 0;
	if (!d->top)
		return;
	if (!d->in_body) {
		/* RFC 1939 7: the header, then the blank line, then n body lines. */
		if (blank) {
			d->in_body = true;
			if (d->lines_left == 0)
				d->done = true;
		}
		return;
	}
	if (--d->lines_left == 0)
		d->done = true;
}

int pop3_dot_encode(struct pop3_dot *d, const uint8_t *in, size_t len, size_t *used_out,
                    struct buf *out)
{
	size_t i = 0;
	*used_out = 0;
	if (d->finished)
		return 1; /* nothing more may follow the terminator */
	while (i < len) {
		if (d->done) {
			*used_out = len; /* TOP is complete: skip the rest */
			return 1;
		}
		if (!drain(d, out) || buf_room(out) == 0)
			break;
		uint8_t c = in[i];
		if (c == '\n') {
			/* A bare LF becomes CRLF; a CRLF stays as it is. */
			if (d->last_cr)
				emit(d, out, "\n", 1);
			else
				emit(d, out, "\r\n", 2);
			i++;
			line_end(d);
			continue;
		}
		if (d->bol) {
			/* RFC 1939 3: a line starting with the termination octet is
			 * stuffed with one more. */
			if (c == '.')
				emit(d, out, "..", 2);
			else
				emit(d, out, (const char *)&c, 1);
			d->bol = false;
			d->last_cr = c == '\r';
			d->line_n = 1;
			i++;
			continue;
		}
		/* Inside a line: copy up to the next LF in one go. */
		const uint8_t *lf = memchr(in + i, '\n', len - i);
		size_t run = lf ? (size_t)(lf - (in + i)) : len - i;
		size_t room = buf_room(out);
		if (run > room)
			run = room;
		if (run == 0)
			break;                      /* unreachable: c is not LF and out has room */
		(void)buf_append(out, in + i, run); /* fits: run <= room */
		d->last_cr = in[i + run - 1] == '\r';
		d->line_n = 2;
		i += run;
	}
	*used_out = i;
	if (d->done && i == len)
		return 1;
	return 0;
}

int pop3_dot_finish(struct pop3_dot *d, struct buf *out)
{
	if (!d->finished) {
		if (!drain(d, out))
			return 0;
		d->finished = true;
		/* An unterminated last line gets its line end first, so the terminator
		 * is a line of its own. A trailing CR just needs its LF. */
		if (!d->bol)
			emit(d, out, d->last_cr ? "\n" : "\r\n", d->last_cr ? 1 : 2);
		if (d->pend_len == 0)
			emit(d, out, ".\r\n", 3);
		else {
			for (size_t k = 0; k < 3; k++)
				d->pend[d->pend_len++] = (uint8_t) ".\r\n"[k];
		}
	}
	return drain(d, out) ? 1 : 0;
}
