/* client_pop3_parse.c: the pure, resumable parser of POP3 server responses and of their
 * listing lines (client_pop3_parse.h has every decision). Holds at most one status or
 * listing line (LIMIT_CLIENT_POP3_LINE); RETR data is never held, only pointed at. */
#include "client/client_pop3_parse.h"

#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/banned.h"

enum { PH_STATUS, PH_LINES, PH_DATA, PH_DONE };
enum { AT_START, AT_MID, AT_DOT, AT_DOT_CR };

void client_pop3_parse_expect(struct client_pop3_parser *ps, enum client_pop3_expect e)
{
	ps->expect = e;
	ps->phase = PH_STATUS;
	ps->data_at = AT_START;
	ps->cr = false;
	ps->len = 0;
	ps->data_total = 0;
	ps->line[0] = '\0';
}

bool client_pop3_parse_done(const struct client_pop3_parser *ps)
{
	return ps->phase == PH_DONE;
}

/* Gather one line into ps->line from p[*i..len): 1 complete (line end consumed), 0 all
 * consumed, ERR_TOO_LONG with the octet that would pass the limit not consumed. */
static int pop3_line(struct client_pop3_parser *ps, const uint8_t *p, size_t len, size_t *i)
{
	while (*i < len) {
		uint8_t b = p[*i];
		if (b == '\n') {
			(*i)++;
			ps->line[ps->len] = '\0';
			ps->cr = false;
			return 1;
		}
		/* a CR is content unless LF follows it: hold it back until we know */
		size_t add = (size_t)ps->cr + (b != '\r');
		if (ps->len + add > LIMIT_CLIENT_POP3_LINE)
			return ERR_TOO_LONG;
		if (ps->cr)
			ps->line[ps->len++] = '\r';
		ps->cr = b == '\r';
		if (!ps->cr)
			ps->line[ps->len++] = (char)b;
		(*i)++;
	}
	return 0;
}

static unsigned pop3_code(const char *name, size_t n)
{
	static const struct {
		const char *name;
		unsigned bit;
	} codes[] = {{"IN-USE", CLIENT_POP3_CODE_IN_USE},
		     {"LOGIN-DELAY", CLIENT_POP3_CODE_LOGIN_DELAY},
		     {"SYS/TEMP", CLIENT_POP3_CODE_SYS_TEMP},
		     {"SYS/PERM", CLIENT_POP3_CODE_SYS_PERM},
		     {"AUTH", CLIENT_POP3_CODE_AUTH}};
	for (size_t k = 0; k < sizeof(codes) / sizeof(codes[0]); k++)
		if (strlen(codes[k].name) == n && !strncasecmp(codes[k].name, name, n))
			return codes[k].bit;
	return CLIENT_POP3_CODE_OTHER;
}

/* The status line in ps->line into ev. */
static int pop3_status(struct client_pop3_parser *ps, struct client_pop3_event *ev)
{
	const char *l = ps->line;
	size_t n = ps->len, skip;
	*ev = (struct client_pop3_event){.type = CLIENT_POP3_EV_STATUS};
	if (n >= 3 && !memcmp(l, "+OK", 3) && (n == 3 || l[3] == ' ')) {
		ev->ok = true;
		skip = 3;
	} else if (n >= 4 && !memcmp(l, "-ERR", 4) && (n == 4 || l[4] == ' ')) {
		skip = 4;
	} else if (n >= 1 && l[0] == '+' && (n == 1 || l[1] == ' ')) {
		ev->cont = true;
		skip = 1;
	} else {
		return ERR_BAD_SYNTAX;
	}
	if (skip < n)
		skip++;
	const char *t = l + skip;
	size_t tn = n - skip;
	/* RFC 2449 8: resp-code = "[" resp-level *("/" resp-level) "]" */
	const char *close = tn > 1 && t[0] == '[' ? memchr(t, ']', tn) : NULL;
	if (close && !ev->cont) {
		ev->code = pop3_code(t + 1, (size_t)(close - t - 1));
		tn -= (size_t)(close + 1 - t);
		t = close + 1;
		if (tn && *t == ' ') {
			t++;
			tn--;
		}
	}
	ev->text = t;
	ev->text_len = tn;
	if (ps->expect == CLIENT_POP3_SINGLE || !ev->ok)
		ps->phase = PH_DONE;
	else
		ps->phase = ps->expect == CLIENT_POP3_LINES ? PH_LINES : PH_DATA;
	ps->len = 0;
	return CLIENT_POP3_EV_STATUS;
}

static int pop3_listing_line(struct client_pop3_parser *ps, struct client_pop3_event *ev)
{
	*ev = (struct client_pop3_event){.type = CLIENT_POP3_EV_LINE};
	size_t off = ps->len > 0 && ps->line[0] == '.';
	if (off && ps->len == 1) {
		ps->phase = PH_DONE;
		ev->type = CLIENT_POP3_EV_END;
		ev->text = "";
	} else {
		ev->text = ps->line + off;
		ev->text_len = ps->len - off;
	}
	ps->len = 0;
	return (int)ev->type;
}

/* RETR data: unstuff, find the ".", hand out chunks pointing into p. */
static int pop3_data(struct client_pop3_parser *ps, const uint8_t *p, size_t len,
		     size_t *used_out, struct client_pop3_event *ev)
{
	size_t i = 0;
	*ev = (struct client_pop3_event){.type = CLIENT_POP3_EV_DATA};
	while (i < len) {
		const uint8_t *d = p + i;
		size_t dn = 0, next = i;
		switch (ps->data_at) {
		case AT_START:
			ps->data_at = p[i] == '.' ? AT_DOT : AT_MID;
			i += p[i] == '.';
			continue;
		case AT_DOT:
			if (p[i] == '\r' || p[i] == '\n') {
				ps->data_at = p[i] == '\r' ? AT_DOT_CR : AT_START;
				i++;
				if (ps->data_at == AT_START)
					goto end;
				continue;
			}
			ps->data_at = AT_MID; /* a stuffed dot, dropped */
			continue;
		case AT_DOT_CR:
			if (p[i] == '\n') {
				i++;
				goto end;
			}
			/* ".\rX": the dot was stuffing, the CR is content */
			d = (const uint8_t *)"\r";
			dn = 1;
			ps->data_at = AT_MID;
			break;
		default: {
			const uint8_t *nl = memchr(p + i, '\n', len - i);
			next = nl ? (size_t)(nl - p) + 1 : len;
			dn = next - i;
			if (nl)
				ps->data_at = AT_START;
			break;
		}
		}
		if (ps->data_total + dn > LIMIT_CLIENT_MESSAGE) {
			*used_out = i;
			return ERR_TOO_BIG;
		}
		ps->data_total += dn;
		ev->data = d;
		ev->data_len = dn;
		*used_out = next;
		return CLIENT_POP3_EV_DATA;
	}
	*used_out = len;
	return 0;
end:
	ps->phase = PH_DONE;
	ev->type = CLIENT_POP3_EV_END;
	*used_out = i;
	return CLIENT_POP3_EV_END;
}

int client_pop3_parse(struct client_pop3_parser *ps, const uint8_t *p, size_t len,
		      size_t *used_out, struct client_pop3_event *ev)
{
	*used_out = 0;
	if (ps->phase == PH_DONE)
		return ERR_INVAL;
	if (ps->phase == PH_DATA)
		return pop3_data(ps, p, len, used_out, ev);
	size_t i = 0;
	int rc = pop3_line(ps, p, len, &i);
	*used_out = i;
	if (rc <= 0)
		return rc;
	if (ps->phase == PH_STATUS)
		return pop3_status(ps, ev);
	return pop3_listing_line(ps, ev);
}

/* ---- listing lines ---- */

/* Decimal digits at *s (leading zeros allowed), checked against max. */
static int pop3_number(const char **s, const char *end, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *q = *s;
	if (q == end || *q < '0' || *q > '9')
		return ERR_BAD_SYNTAX;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		unsigned dig = (unsigned)(*q - '0');
		if (v > (max - dig) / 10)
			return ERR_BAD_SYNTAX;
		v = v * 10 + dig;
	}
	*s = q;
	*out = v;
	return 0;
}

static int pop3_msgno_sp(const char **s, const char *end, uint32_t *msgno_out)
{
	uint64_t v;
	if (pop3_number(s, end, UINT32_MAX, &v) < 0 || v == 0)
		return ERR_BAD_SYNTAX;
	if (*s == end || **s != ' ')
		return ERR_BAD_SYNTAX;
	while (*s < end && **s == ' ')
		(*s)++;
	*msgno_out = (uint32_t)v;
	return 0;
}

int client_pop3_parse_uidl(const char *line, size_t len, uint32_t *msgno_out, char *uid_out)
{
	const char *s = line, *end = line + len;
	if (pop3_msgno_sp(&s, end, msgno_out) < 0)
		return ERR_BAD_SYNTAX;
	size_t n = (size_t)(end - s);
	if (n < 1 || n > LIMIT_CLIENT_POP3_UID)
		return ERR_BAD_SYNTAX;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c < 0x21 || c > 0x7e)
			return ERR_BAD_SYNTAX;
		uid_out[k] = (char)c;
	}
	uid_out[n] = '\0';
	return 0;
}

int client_pop3_parse_list(const char *line, size_t len, uint32_t *msgno_out,
			   uint64_t *size_out)
{
	const char *s = line, *end = line + len;
	if (pop3_msgno_sp(&s, end, msgno_out) < 0 || pop3_number(&s, end, INT64_MAX, size_out) < 0)
		return ERR_BAD_SYNTAX;
	/* RFC 1939 5: further information may follow the size after a space */
	return s == end || *s == ' ' ? 0 : ERR_BAD_SYNTAX;
}

int client_pop3_parse_stat(const char *text, size_t len, uint32_t *count_out,
			   uint64_t *size_out)
{
	const char *s = text, *end = text + len;
	uint64_t count;
	if (pop3_number(&s, end, UINT32_MAX, &count) < 0 || s == end || *s != ' ')
		return ERR_BAD_SYNTAX;
	s++;
	if (pop3_number(&s, end, INT64_MAX, size_out) < 0 || (s != end && *s != ' '))
		return ERR_BAD_SYNTAX;
	*count_out = (uint32_t)count;
	return 0;
}

static bool pop3_word_is(const char *w, size_t n, const char *name)
{
	return strlen(name) == n && !strncasecmp(w, name, n);
}

unsigned client_pop3_parse_capa(const char *line, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} caps[] = {{"STLS", CLIENT_POP3_CAP_STLS},
		    {"UIDL", CLIENT_POP3_CAP_UIDL},
		    {"USER", CLIENT_POP3_CAP_USER},
		    {"PIPELINING", CLIENT_POP3_CAP_PIPELINING},
		    {"RESP-CODES", CLIENT_POP3_CAP_RESP_CODES},
		    {"TOP", CLIENT_POP3_CAP_TOP}};
	const char *end = line + len, *w = line;
	const char *sp = memchr(line, ' ', len);
	size_t wn = sp ? (size_t)(sp - line) : len;
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++)
		if (pop3_word_is(w, wn, caps[k].name))
			return caps[k].bit;
	if (!pop3_word_is(w, wn, "SASL"))
		return 0;
	/* RFC 2449 6.3: SASL followed by the mechanisms, separated by spaces */
	for (const char *s = w + wn; s < end;) {
		while (s < end && *s == ' ')
			s++;
		const char *e = memchr(s, ' ', (size_t)(end - s));
		size_t n = e ? (size_t)(e - s) : (size_t)(end - s);
		if (pop3_word_is(s, n, "PLAIN"))
			return CLIENT_POP3_CAP_SASL_PLAIN;
		s += n;
	}
	return 0;
}
